#!/usr/bin/env bash
# nymsuite.wasm in headless Chromium: the checks of tests/wasm/checks.mjs in a dedicated module
# Worker, the module and .wasm loaded by URL from a static server on 127.0.0.1. Needs
# `make wasm`, Debian's chromium and playwright-core from npm (PLAYWRIGHT_DIR: a folder whose
# node_modules has it). Not yet in `make check`: the browser suite of issue 11 brings its
# dependencies there. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
[ -e "$ROOT/$BUILD/wasm/nymsuite.wasm" ] || fail "missing $BUILD/wasm/nymsuite.wasm (run make wasm)"
[ -x /usr/bin/chromium ] || fail "chromium is missing (apt-get install chromium)"
export PLAYWRIGHT_DIR=${PLAYWRIGHT_DIR:-$ROOT}
[ -d "$PLAYWRIGHT_DIR/node_modules/playwright-core" ] ||
	fail "playwright-core is missing under $PLAYWRIGHT_DIR/node_modules"
T=$(mktemp -d /tmp/wasm-browser.XXXXXX)
python3 -u -m http.server --bind 127.0.0.1 0 --directory "$ROOT" >"$T/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/server.log" 2>/dev/null | head -1)
	[ -n "$port" ] && break
	sleep 0.2
done
[ -n "$port" ] || fail "the static server did not start"
node "$ROOT/tests/wasm/browser_smoke.mjs" "http://127.0.0.1:$port" "$BUILD"
