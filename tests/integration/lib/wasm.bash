# Shared prologue of the wasm tests run under node. Source it: ROOT, BUILD, W (the wasm build:
# $WASM_DIR, which make asan passes as the normal build's folder, else $BUILD/wasm) and fail;
# node and the module must be there (a missing build is a failure, not a skip).
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
W=${WASM_DIR:-$ROOT/$BUILD/wasm}
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || fail "node is missing"
for f in nymsuite.mjs nymsuite.wasm; do
	[ -e "$W/$f" ] || fail "missing $W/$f (run make wasm)"
done
