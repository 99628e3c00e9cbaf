# Shared prologue of the mix node tests. Source it, then call `mixnode_setup NAME`: it checks
# the binaries, makes a scratch folder $T, and on exit kills every pid the test appended to
# PIDS and removes $T. fail prints the tail of each $T/*.log.
BUILD=${BUILD:-build}
BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/$BUILD/bin

mixnode_setup() {
	local b
	for b in nym-localnet nym-mixnode nym-inject; do
		[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
	done
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	PIDS=()
	trap mixnode_cleanup EXIT
}

mixnode_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}

fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
