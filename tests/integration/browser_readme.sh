#!/usr/bin/env bash
# The package README's "A minimal page", unchanged, in headless Debian Chromium on a fresh
# localnet: the tarball `make wasm` packs is npm-installed into a site folder, the README's html
# block is that site's index.html (tests/browser/readme_page.mjs), and the page must connect and
# receive the message it sends itself, with the README's defaults (no clientOverride: Nym's
# delays and cover traffic), no request off 127.0.0.1 and no CSP violation.
set -u
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
B=$ROOT/tests/browser
WASMD=${WASM_DIR:-$ROOT/$BUILD/wasm}
TGZ=$(ls "$WASMD"/nymsuite-sdk-*.tgz 2>/dev/null | head -1)
[ -n "$TGZ" ] || { echo "FAIL: package not packed: no $WASMD/nymsuite-sdk-*.tgz (make wasm)"; exit 1; }
[ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium missing (make deps)"; exit 1; }
sh "$B/setup" >/dev/null || { echo "FAIL: tests/browser/setup failed"; exit 1; }

LOCALNET_ARGS=--no-network-requester
localnet_up browser_readme
mkdir -p "$T/site"
(cd "$T/site" && npm install --offline --no-audit --no-fund --ignore-scripts --cache "$T/npm-cache" \
	"$TGZ" >"$T/npm.log" 2>&1) || fail "npm install of $(basename "$TGZ") failed: $(tail -3 "$T/npm.log")"
[ -f "$T/site/node_modules/@nymsuite/sdk/index.js" ] || fail "npm did not install @nymsuite/sdk"
node "$B/readme_page.mjs" --site "$T/site" --nym-api "$NYM_API" --gateway-ws "$GATEWAY_WS_1" \
	--log "$T/browser.log" || { tail -30 "$T/browser.log"; fail "the README's page did not work"; }
echo "browser_readme: PASS"
