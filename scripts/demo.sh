#!/usr/bin/env bash
# demo: a whole Nym mixnet on 127.0.0.1, made of our C programs (directory, 3 mix nodes, a
# gateway), and the REAL Nym client (Rust compiled to wasm, npm @nymproject/nym-client-wasm-node
# 1.4.1, nym b4046a89) sending a message around it to itself:
#   client -> gateway -> mix layer 1 -> 2 -> 3 -> gateway -> client, and the SURB-ack back.
# Run after `make` (uses $BUILD/bin, default build/). Needs node >= 20 and npm: on first use
# tests/interop/setup installs the client from the npm registry into ~/.cache/nymsuite.
#   scripts/demo.sh ["message text"]
# Env: BUILD (build folder), DEMO_KEEP=1 keeps the localnet folder afterwards.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
LOCALNET=$BIN/nym-localnet
DRIVER=$ROOT/tests/interop/nym-client.mjs
MESSAGE=${1:-"Hello from the real Nym client, through a mixnet written in C!"}
TIMEOUT=${DEMO_TIMEOUT:-120}

if [ -t 1 ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for b in nym-localnet nym-directory nym-mixnode nym-gateway; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done
command -v node >/dev/null || die "node >= 20 is needed for the real (wasm) Nym client"

say "1. the real Nym client (npm, pinned in tests/interop/package.json)"
CACHE=$(sh "$ROOT/tests/interop/setup") || die "tests/interop/setup failed"
echo "installed in $CACHE"

NET=$(mktemp -d "${TMPDIR:-/tmp}/nymsuite-demo.XXXXXX") || die mktemp
UP=0
cleanup() {
	trap - EXIT INT TERM
	if [ "$UP" = 1 ]; then
		say "5. tear down"
		"$LOCALNET" down --dir "$NET"
	fi
	if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "localnet folder kept: $NET"; else rm -rf "$NET"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say "2. localnet: directory + 3 mix nodes + 1 gateway on 127.0.0.1 ($NET)"
UP=1
"$LOCALNET" up --dir "$NET" || { tail -n 20 "$NET"/logs/*.log; die "nym-localnet up failed"; }
# shellcheck disable=SC1091
. "$NET/env"
echo "nym-api (our directory): $NYM_API"
echo "gateway $GATEWAY_ID_1 at $GATEWAY_WS_1"
"$LOCALNET" status --dir "$NET" | cut -d' ' -f1-4

say "3. the real client registers with our gateway and sends a message to itself"
echo "sending: \"$MESSAGE\""
# shellcheck disable=SC2016
FORMAT='
	const rl = require("node:readline").createInterface({ input: process.stdin });
	let ok = false, stats = false;
	rl.on("line", (l) => {
		let e;
		try { e = JSON.parse(l); } catch { return console.log(l); }
		const t = (e.ms / 1000).toFixed(2).padStart(6) + "s  ";
		if (e.event === "ready") console.log(t + "ready, our Nym address:\n         " + e.address);
		else if (e.event === "sent") console.log(t + "sent " + e.len + " bytes to ourselves (sha256 " + e.sha256.slice(0, 16) + "...)");
		else if (e.event === "received") {
			ok = true;
			console.log(t + "RECEIVED " + e.len + " bytes (sha256 " + e.sha256.slice(0, 16) + "...):\n         \"" + (e.text ?? "<binary>") + "\"");
		} else if (e.event === "stats" && !stats++) console.log(t + "client websocket frames: " + e.binary_out + " packet(s) to the gateway, " + e.binary_in + " from it (message + SURB-ack)");
		else if (e.event === "wait" && !e.ok) console.log(t + "no message within the time limit");
		else if (e.event === "error" || e.event === "timeout") console.log(t + e.event + ": " + (e.message ?? JSON.stringify(e)));
	});
	rl.on("close", () => process.exit(ok ? 0 : 1));'
printf 'sendtext self %s\nwait 1 60000\nsleep 3000\nstats\nquit\n' "$MESSAGE" |
	node "$DRIVER" --nym-api "$NYM_API" --gateway "$GATEWAY_ID_1" --timeout-ms $((TIMEOUT * 1000)) \
		2>"$NET/client.log" | node -e "$FORMAT"
RC=$?

say "4. node counters (nym-localnet status)"
sleep 1 # the stats files are rewritten every second
"$LOCALNET" status --dir "$NET"

if [ $RC = 0 ]; then
	printf '\ndemo: the message went around the mixnet and came back.\n'
else
	printf '\ndemo: FAILED (client log: %s/client.log, node logs: %s/logs)\n' "$NET" "$NET"
	DEMO_KEEP=1
fi
exit $RC
