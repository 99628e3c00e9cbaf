#!/usr/bin/env bash
# The real @nymproject/sdk@1.4.1 in headless Debian Chromium (playwright-core) <-> our native
# nym-client's websocket API, on a fresh localnet with mix delays and cover traffic off. The
# checks are in tests/browser/sdk_native.mjs: the SDK's self-send; SDK -> nym-client text with
# headers, bytes without a mime type, 100 KB, rawSend, each byte for byte in the SDK's encoding
# (u64 BE length || JSON header || bytes) and with a sender tag; nym-client replies through the
# SURBs (text, 5000 B binary); nym-client -> SDK application/json, image/png with headers, 100 KB
# text, bytes without a header (raw event only); no CSP violation under the tight policy.
# Needs: make all, node >= 20 + npm (tests/browser/setup installs playwright-core and the SDK
# into a cache once), /usr/bin/chromium (make deps). A missing one is a FAIL.
set -u
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
B=$ROOT/tests/browser
[ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium missing (make deps installs Debian's chromium)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node missing (make deps)"; exit 1; }
sh "$B/setup" >/dev/null || { echo "FAIL: tests/browser/setup (npm install of playwright-core and the SDK) failed"; exit 1; }

LOCALNET_ARGS="--no-delay --no-network-requester"
nc_setup browser_sdk_native
nc_init nc --gateway "$GATEWAY_ID_1"
nc_debug nc traffic disable_main_poisson_packet_distribution true
nc_debug nc cover_traffic disable_loop_cover_traffic_stream true
nc_run nc

rc=0
node --experimental-websocket "$B/sdk_native.mjs" --nym-api "$NYM_API" --gateway "$GATEWAY_ID_1" \
	--gateway-ws "$GATEWAY_WS_1" --nc-ws "ws://127.0.0.1:${NC_PORT[nc]}" --log "$T/browser.log" || rc=$?
if [ "$rc" != 0 ]; then
	echo "--- browser log (last lines; all of it in $T/browser.log)"
	grep -v '^\s*at ' "$T/browser.log" | tail -25
	fail "browser checks failed (exit $rc)"
fi
echo "browser_sdk_native: all checks passed"
