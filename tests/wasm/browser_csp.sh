#!/usr/bin/env bash
# The package's documented Content-Security-Policy and its key Worker in headless Chromium
# (tests/wasm/browser_csp.mjs): keys made, sealed in IndexedDB and found again after a reload,
# passphrase refusals; the policy without 'wasm-unsafe-eval' or connect-src 'self' fails.
# Needs `make wasm`, Debian's chromium and playwright-core (PLAYWRIGHT_DIR: a folder whose
# node_modules has it). By hand, as browser_smoke.sh, until the browser suite brings these to
# `make check`. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
[ -e "$ROOT/$BUILD/wasm/package/key-worker.js" ] || fail "missing $BUILD/wasm/package (run make wasm)"
[ -x /usr/bin/chromium ] || fail "chromium is missing (apt-get install chromium)"
export PLAYWRIGHT_DIR=${PLAYWRIGHT_DIR:-$ROOT}
[ -d "$PLAYWRIGHT_DIR/node_modules/playwright-core" ] ||
	fail "playwright-core is missing under $PLAYWRIGHT_DIR/node_modules"
out=$(node "$ROOT/tests/wasm/browser_csp.mjs" "$ROOT/$BUILD/wasm") || { echo "$out"; fail "browser_csp.mjs"; }
echo "$out"
n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' <<<"$out")
[ "${n:-0}" -ge 11 ] || fail "browser_csp.mjs ran only ${n:-0} checks"
echo "PASS"
