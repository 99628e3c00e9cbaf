#!/usr/bin/env bash
# demo: a whole Nym mixnet on 127.0.0.1 made of our C programs (directory, 3 mix nodes, a
# gateway), our privilege-separated nym-client on it, and a local app talking Nym's websocket
# API to it:
#   1. the app sends a message to its own address: app -> apid -> keyd (Sphinx) -> netd ->
#      gateway -> mix 1 -> 2 -> 3 -> gateway -> netd -> keyd -> apid -> app, SURB-ack back;
#   2. the REAL Nym client (Rust compiled to wasm, npm @nymproject/nym-client-wasm-node 1.4.1,
#      nym b4046a89) sends our client a message through the same mixnet (skipped without node);
#   3. curl fetches a page from a local HTTP server through our nym-socks5-client and the
#      localnet's network requester (curl -> socksd -> mixnet -> NR -> HTTP server and back);
#   4. nymctl shows our clients' counters, nym-localnet the nodes' and the requester's.
# Run after `make` (uses $BUILD/bin, default build/).
#   scripts/demo.sh ["message text"]
# Env: BUILD (build folder), DEMO_KEEP=1 keeps the demo folder afterwards.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
LOCALNET=$BIN/nym-localnet
DRIVER=$ROOT/tests/interop/nym-client.mjs
PY=/usr/bin/python3
MESSAGE=${1:-"Hello from nymsuite, through a mixnet written in C!"}

if [ -t 1 ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-client; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done
"$PY" -c 'import websockets' 2>/dev/null || die "python3-websockets is missing (make deps)"

NET=$(mktemp -d "${TMPDIR:-/tmp}/nymsuite-demo.XXXXXX") || die mktemp
UP=0 CPID= APID_= SPID= HPID=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$APID_" ] && kill "$APID_" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	for p in $CPID $SPID; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "$UP" = 1 ]; then
		say "7. tear down"
		"$LOCALNET" down --dir "$NET/net"
	fi
	if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "demo folder kept: $NET"; else rm -rf "$NET"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A page on a local HTTP server (kernel-chosen port), our SOCKS client on a free port with the
# localnet's network requester as provider, and curl through it. 0 when the page came back.
socks_step() {
	mkdir -p "$NET/www"
	printf '<html><body><h1>Hello through the mixnet</h1><p>served on 127.0.0.1, fetched by curl via nym-socks5-client and our network requester.</p></body></html>\n' >"$NET/www/index.html"
	"$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$NET/www" >"$NET/http.log" 2>&1 &
	HPID=$!
	local hport= sport
	for _ in $(seq 50); do
		hport=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\).*/\1/p' "$NET/http.log")
		[ -n "$hport" ] && break
		sleep 0.1
	done
	[ -n "$hport" ] || { echo "  the HTTP server did not start"; return 1; }
	sport=$(free_port)
	echo "local HTTP server: http://127.0.0.1:$hport/ ; network requester: ${NETWORK_REQUESTER:0:24}..."
	"$BIN/nym-socks5-client" init --id demo-socks --nym-apis "$NYM_API" --provider "$NETWORK_REQUESTER" \
		--port "$sport" | grep -v '^$' | sed 's/^/  /' || { echo "  nym-socks5-client init failed"; return 1; }
	"$BIN/nym-socks5-client" run --id demo-socks >"$NET/socks.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do
		grep -q "Client startup finished" "$NET/socks.log" 2>/dev/null && break
		kill -0 "$SPID" 2>/dev/null || { cat "$NET/socks.log"; return 1; }
		sleep 0.1
	done
	echo "\$ curl --socks5-hostname 127.0.0.1:$sport http://127.0.0.1:$hport/"
	local t0
	t0=$(date +%s%N)
	curl -sS -m 120 --socks5-hostname "127.0.0.1:$sport" "http://127.0.0.1:$hport/" >"$NET/page.html" ||
		{ tail -20 "$NET/socks.log"; return 1; }
	sed 's/^/  /' "$NET/page.html"
	cmp -s "$NET/page.html" "$NET/www/index.html" || { echo "  the page differs"; return 1; }
	echo "(the same bytes as served; $(( ($(date +%s%N) - t0) / 1000000 )) ms through the mixnet, with its delays)"
	echo "nymctl --id demo-socks --kind socks5 stats (socksd's part):"
	"$BIN/nymctl" --id demo-socks --kind socks5 stats | grep '^socksd\.' | sed 's/^/  /'
}

say "1. localnet: directory + 3 mix nodes + 1 gateway + a network requester on 127.0.0.1"
UP=1
"$LOCALNET" up --dir "$NET/net" || { tail -n 20 "$NET"/net/logs/*.log; die "nym-localnet up failed"; }
# shellcheck disable=SC1091
. "$NET/net/env"
echo "nym-api (our directory): $NYM_API"
"$LOCALNET" status --dir "$NET/net" | cut -d' ' -f1-4

say "2. nym-client init + run (supervisor, keyd, netd, apid)"
PORT=$(( 21000 + RANDOM % 20000 ))
export NYM_HOME_DIR=$NET/home
"$BIN/nym-client" init --id demo --nym-apis "$NYM_API" --port "$PORT" | grep -v '^$' ||
	die "nym-client init failed"
"$BIN/nym-client" run --id demo >"$NET/client.log" 2>&1 &
CPID=$!
for _ in $(seq 100); do
	grep -q "websocket API on" "$NET/client.log" 2>/dev/null && break
	kill -0 "$CPID" 2>/dev/null || { cat "$NET/client.log"; die "nym-client exited"; }
	sleep 0.1
done
sed 's/^/  /' "$NET/client.log"

say "3. a local app (Python, websockets) sends a message to its own address"
WAIT=0
if command -v node >/dev/null && CACHE=$(sh "$ROOT/tests/interop/setup" 2>/dev/null); then
	WAIT=90
fi
"$PY" "$ROOT/scripts/demo-app.py" "ws://127.0.0.1:$PORT" "$MESSAGE" "$WAIT" >"$NET/app.out" 2>&1 &
APID_=$!
for _ in $(seq 600); do
	grep -q "RECEIVED\|Error\|error" "$NET/app.out" 2>/dev/null && break
	kill -0 "$APID_" 2>/dev/null || break
	sleep 0.1
done
sed 's/^/  /' "$NET/app.out"
grep -q "^RECEIVED after" "$NET/app.out" || { tail -20 "$NET/client.log"; die "the message did not come back"; }
ADDR=$(sed -n 's/^our Nym address: //p' "$NET/app.out")

RC=0
if [ "$WAIT" -gt 0 ]; then
	say "4. the real Nym client (wasm, from npm: installed in $CACHE) sends our client a message"
	printf 'sendtext %s Hello from the real Nym client!\nsleep 2000\nquit\n' "$ADDR" |
		node "$DRIVER" --nym-api "$NYM_API" --gateway "$GATEWAY_ID_1" --timeout-ms 60000 \
			>"$NET/wasm.out" 2>"$NET/wasm.log" || echo "  (the wasm client reported an error: $NET/wasm.log)"
	wait "$APID_"
	RC=$?
	APID_=
	sed -n '/ready for other/,$p' "$NET/app.out" | tail -n +2 | sed 's/^/  /'
else
	say "4. skipped: the real Nym client needs node >= 20 and the npm registry"
fi

say "5. curl through our nym-socks5-client (supervisor, keyd, netd, socksd) and the localnet's network requester"
socks_step || RC=1

say "6. counters"
if [ -x "$BIN/nymctl" ]; then
	echo "nymctl --id demo stats (a selection; without the filter it lists every counter):"
	"$BIN/nymctl" --id demo stats |
		grep -E 'messages_(sent|delivered)|real_packets_sent|cover_packets_sent|acks_received|retransmissions|packets_built|cover_built|frames_opened|reconnects' |
		sed 's/^/  /'
fi
sleep 1 # the node stats files are rewritten every second
"$LOCALNET" status --dir "$NET/net" >"$NET/status.txt"
grep -v '^network-requester ' "$NET/status.txt"
echo "the network requester (nym-localnet status, its counters from its admin socket):"
grep '^network-requester ' "$NET/status.txt" | tr ' ' '\n' | grep -E '^(connects|connections_opened|bytes_to_remote|bytes_from_remote|refused_policy|messages_sent|pid)=|^up$' | sed 's/^/  /'

if [ $RC = 0 ]; then
	printf '\ndemo: messages went around the mixnet through our nym-client and came back;\n'
	printf 'curl fetched a page through our nym-socks5-client and network requester.\n'
else
	printf '\ndemo: FAILED (logs in %s)\n' "$NET"
	DEMO_KEEP=1
fi
exit $RC
