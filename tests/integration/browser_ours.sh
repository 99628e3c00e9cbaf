#!/usr/bin/env bash
# Our package (@nymsuite/sdk, build/wasm/package) in headless Debian Chromium on a fresh localnet
# with mix delays and cover traffic off; checks in tests/browser/ours.mjs: all of
# browser_sdk_native's checks with ours in the page (self-send, <-> our native nym-client both
# ways, 100 KB, the SDK's encoding byte for byte), native anonymous -> ours -> client.reply;
# ours <-> the real @nymproject/sdk@1.4.1 in the same browser both ways (text, binary, 100 KB,
# the SDK's anonymous message answered with client.reply); no secret of the client (read from
# its no-passphrase record) in anything that crossed the MessagePorts (tests/browser/porttap.mjs:
# recorded in the page and, through the DevTools protocol, in each Worker); the same address after a page reload and after a
# browser restart on the same profile; no CSP violation.
# FAILS with "package not built" when build/wasm/package/index.js is missing (make wasm).
set -u
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
B=$ROOT/tests/browser
# (make asan passes the normal build's wasm folder in WASM_DIR)
PKG=${NYMSUITE_PACKAGE:-${WASM_DIR:-$ROOT/$BUILD/wasm}/package}
[ -f "$PKG/index.js" ] || { echo "FAIL: package not built: $PKG/index.js missing (make wasm)"; exit 1; }
[ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium missing (make deps installs Debian's chromium)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node missing (make deps)"; exit 1; }
sh "$B/setup" >/dev/null || { echo "FAIL: tests/browser/setup (npm install of playwright-core and the SDK) failed"; exit 1; }

LOCALNET_ARGS="--no-delay --no-network-requester"
nc_setup browser_ours
nc_init nc --gateway "$GATEWAY_ID_1"
nc_debug nc traffic disable_main_poisson_packet_distribution true
nc_debug nc cover_traffic disable_loop_cover_traffic_stream true
nc_run nc

rc=0
NYMSUITE_PACKAGE=$PKG node --experimental-websocket "$B/ours.mjs" --nym-api "$NYM_API" \
	--gateway "$GATEWAY_ID_1" --gateway-ws "$GATEWAY_WS_1" --nc-ws "ws://127.0.0.1:${NC_PORT[nc]}" \
	--profile "$T/profile" --log "$T/browser.log" || rc=$?
if [ "$rc" != 0 ]; then
	echo "--- browser log (last lines; all of it in $T/browser.log)"
	grep -v '^\s*at ' "$T/browser.log" | tail -25
	fail "browser checks failed (exit $rc)"
fi
echo "browser_ours: all checks passed"
