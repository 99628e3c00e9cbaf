#!/usr/bin/env bash
# The browser package's parts that run without a browser, under node against `make wasm`'s
# module: the SDK payload codec (tests/wasm/sdk_payload_test.mjs), the key Worker's sealed
# key store and keyd started from it (tests/wasm/keystore_test.mjs), and the npm package
# `make wasm` packs (tests/wasm/package_check.mjs), and the package's page and key Worker run
# unchanged in node worker threads against a stand-in of the net Worker and the network
# (tests/wasm/package_node_test.mjs). The whole package in a browser, with the real net Worker,
# is the browser suite's (tests/browser/).
# A missing wasm build is a failure, not a skip. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/wasm.bash
. "$(dirname "$0")/lib/wasm.bash"

# count: at least this many checks, all passed
run() {
	local script=$1 min=$2 out n
	out=$(node "$ROOT/tests/wasm/$script" "$W") || { echo "$out"; fail "$script"; }
	echo "$script: $(tail -1 <<<"$out")"
	n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' <<<"$out")
	[ "${n:-0}" -ge "$min" ] || fail "$script ran only ${n:-0} checks"
}

echo "== the SDK payload codec"
run sdk_payload_test.mjs 5000
echo "== the sealed key store"
run keystore_test.mjs 25
echo "== the npm package"
run package_check.mjs 50
echo "== the package's page and key Worker in node"
run package_node_test.mjs 40
echo "PASS"
