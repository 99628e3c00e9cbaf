#!/usr/bin/env bash
# bench/browser.sh: browser clients in headless Debian Chromium (playwright-core): our package
# (build/wasm/package, when built) against the real @nymproject/sdk@1.4.1, in the same browser
# build and the same run, each in a fresh browser, on one fresh localnet with mix delays and cover
# traffic off. Prints a table with ours/sdk ratios (the SDK's numbers alone, "ours missing", until
# the package is built). Never asserts a number; exits non-zero only when something does not work.
#   BUILD=build bench/browser.sh [--clients sdk,ours] [--small N] [--big N] [--keep]
# Needs: make all, node >= 20 + npm (tests/browser/setup: playwright-core and the SDK into a cache),
# /usr/bin/chromium and strace (make deps). See bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
keep=0
args=()
for a in "$@"; do
	if [ "$a" = --keep ]; then keep=1; else args+=("$a"); fi
done
for f in nym-localnet nym-directory nym-mixnode nym-gateway; do
	[ -x "$B/bin/$f" ] || { echo "browser bench: missing $B/bin/$f (run make BUILD=$BUILD all)" >&2; exit 1; }
done
for t in node strace /usr/bin/chromium; do
	command -v "$t" >/dev/null || { echo "browser bench: $t not found (make deps)" >&2; exit 1; }
done
sh "$ROOT/tests/browser/setup" >/dev/null || { echo "browser bench: tests/browser/setup failed" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/nymsuite-browser-bench.XXXXXX")
ok=0
cleanup() {
	"$B/bin/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true
	if [ "$ok" = 1 ] && [ "$keep" = 0 ]; then rm -rf "$T"; else echo "browser bench: scratch folder kept: $T" >&2; fi
}
trap cleanup EXIT
"$B/bin/nym-localnet" up --dir "$T/net" --no-delay --no-network-requester --timeout 30 >"$T/up.out" 2>&1 ||
	{ cat "$T/up.out" >&2; echo "browser bench: nym-localnet up failed" >&2; exit 1; }
echo "browser bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
BUILD=$BUILD node --experimental-websocket --no-warnings "$ROOT/bench/browser.mjs" --net "$T/net" \
	--log "$T/browser.log" --json "$T/browser.json" "${args[@]}"
ok=1
