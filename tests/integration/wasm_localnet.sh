#!/usr/bin/env bash
# The browser client's three contexts against the real localnet, in one node process with a
# global WebSocket (node --experimental-websocket; tests/wasm/localnet_test.mjs): keyd's
# operations with fresh keys and no gateway key, the engine, and netd's operations
# (NetHost: WebSocket, fetch, setTimeout). NetHost.chooseGateway picks a gateway from the
# localnet's nym-api, netd's core registers with it through keyd, a 100 KB message to our own
# address arrives byte for byte with every fragment acked, and messages to and from a native
# nym-client on the same localnet arrive. A missing wasm build is a failure. Exit 0 = pass.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integration/lib/nymclient.bash
. "$ROOT/tests/integration/lib/nymclient.bash"
W=${WASM_DIR:-$ROOT/$BUILD/wasm}
command -v node >/dev/null || { echo "FAIL: node is missing"; exit 1; }
for f in nymsuite.mjs nymsuite.wasm; do
	[ -e "$W/$f" ] || { echo "FAIL: missing $W/$f (run make wasm)"; exit 1; }
done
node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
	{ echo "FAIL: this node has no --experimental-websocket"; exit 1; }

nc_setup wasm-localnet
nc_init native
nc_run native
out=$T/node.out
NYM_API=$NYM_API NATIVE_WS="ws://127.0.0.1:${NC_PORT[native]}" NATIVE_ADDR=${NC_ADDR[native]} \
	timeout 900 node --experimental-websocket "$ROOT/tests/wasm/localnet_test.mjs" "$W" \
	>"$out" 2>&1 || { cat "$out"; fail "localnet_test.mjs"; }
cat "$out"
n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$out")
[ "${n:-0}" -ge 20 ] || fail "localnet_test.mjs ran only ${n:-0} checks"
echo "PASS"
