#!/usr/bin/env bash
# The client engine and keyd's operations compiled to wasm (`make wasm`), wired in one node
# process as the browser's page and key Worker will be (tests/wasm/engine_test.mjs): the
# engine sends a 100 KB message to its own address through keyd-in-wasm, a network stand-in
# made of the module's own gateway and Sphinx processing calls (three mix hops and the
# gateway, the SURB-ack routed back), and it must arrive byte for byte with every fragment
# acknowledged; then an anonymous message with reply SURBs and a reply through them.
# A missing wasm build is a failure, not a skip. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/wasm.bash
. "$(dirname "$0")/lib/wasm.bash"
out=$(node "$ROOT/tests/wasm/engine_test.mjs" "$W") || { echo "$out"; fail "engine_test.mjs"; }
echo "$out"
n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' <<<"$out")
[ "${n:-0}" -ge 25 ] || fail "engine_test.mjs ran only ${n:-0} checks"
echo "PASS"
