# Shared prologue of the nym-client tests (tests/integration/client_*.sh, tests/interop/nymclient_*.sh).
# Source it; it sources lib/localnet.bash (BIN, localnet_up, fail, stat_of). Then:
#   nc_setup NAME                 localnet_up NAME (scratch folder $T, localnet in $T/net), checks
#                                 nym-client, python3-websockets and jq; on exit every client and app
#                                 is stopped, then the localnet ($T is kept on failure or with KEEP=1)
#   nc_localnet_edit NODES SED... stops the localnet, applies sed expressions to the descriptors
#                                 of NODES ("mix2 gateway1", or "all"), starts it again
#   nc_init ID [init options]     nym-client init on a free port; NC_ADDR[ID], NC_PORT[ID]
#   nc_debug ID TABLE KEY VALUE   sets debug.TABLE.KEY (VALUE as TOML text) in ID's config.toml
#   nc_toml_set FILE TABLE KEY V  sets TABLE.KEY (V as TOML text) in any config file
#   nc_run ID                     nym-client run in the background, log appended to $T/ID.log
#   nc_stop ID [SIGNAL]           signals it (TERM) and waits; its exit status in NC_STATUS
#   nc_stat ID ROLE FIELD         a counter of the last "stats ROLE:" line of ID's log (at SIGTERM)
#   nc_app A ID                   starts an app (lib/nymapp.py) on ID's websocket; commands with
#                                 nc_cmd A "...", events (JSON lines) in $T/A.out
#   nc_event A 'jq cond' [s]      waits for the first event of A matching, prints it
#   nc_events A 'jq cond'         every event of A matching so far
#   nc_ready A [s]                waits for A's "ready"; prints its address
#   nc_app_stop A                 "quit", then waits for A to exit
#   nc_gateway_stop [SIGNAL]      stops gateway1 (TERM) and waits until it is gone
#   nc_gateway_start              starts gateway1 again (same descriptor, keys, store), waits ready
#   nc_payload_sha256 N SEED      SHA-256 of the apps' payload(N, SEED), computed here on its own
NC_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib/localnet.bash
. "$NC_LIB/localnet.bash"
NC_PY=/usr/bin/python3
NC_APP=$NC_LIB/nymapp.py
declare -A NC_PID NC_PORT NC_ADDR NC_APP_PID NC_APP_FD
# shellcheck disable=SC2034 # (nc_stop's result, read by the tests)
NC_STATUS=

nc_check_tools() {
	[ -x "$BIN/nym-client" ] || { echo "missing $BIN/nym-client (run make first)"; exit 1; }
	"$NC_PY" -c 'import websockets' 2>/dev/null ||
		{ echo "missing python3-websockets (apt-get install python3-websockets)"; exit 1; }
	command -v jq >/dev/null || { echo "missing jq"; exit 1; }
}

# fail (replaces localnet.bash's): the reason, then the tails of the client logs and gateway1's.
fail() {
	local f
	echo "FAIL: $*"
	for f in "${NC_DIR:-/nonexistent}"/*.log "${T:-/nonexistent}/net/logs/gateway1.log"; do
		[ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }
	done
	exit 1
}

nc_setup() {
	nc_check_tools
	localnet_up "$1"
	NC_DIR=$T
	NC_HOME=$T/home
	trap nc_cleanup EXIT
}

# Stops apps and clients only (the interop tests' own cleanup stops their localnet).
nc_stop_all() {
	local k
	for k in "${!NC_APP_PID[@]}"; do kill "${NC_APP_PID[$k]}" 2>/dev/null || true; done
	for k in "${!NC_PID[@]}"; do kill "${NC_PID[$k]}" 2>/dev/null || true; done
	for k in "${!NC_APP_PID[@]}"; do wait "${NC_APP_PID[$k]}" 2>/dev/null || true; done
	for k in "${!NC_PID[@]}"; do wait "${NC_PID[$k]}" 2>/dev/null || true; done
}

nc_cleanup() {
	local rc=$?
	nc_stop_all
	# a failed test keeps its scratch folder (localnet_cleanup keeps it when KEEP is set)
	[ "$rc" = 0 ] || [ -z "${T:-}" ] || { KEEP=1; echo "scratch folder kept: $T"; }
	localnet_cleanup
}

nc_localnet_edit() {
	local nodes=$1 e n files=()
	shift
	if [ "$nodes" = all ]; then files=("$T"/net/nodes/*.toml); else
		for n in $nodes; do files+=("$T/net/nodes/$n.toml"); done
	fi
	"$BIN/nym-localnet" down --dir "$T/net" >/dev/null || fail "localnet down"
	for e in "$@"; do sed -i -e "$e" "${files[@]}" || fail "cannot edit ${files[*]}"; done
	"$BIN/nym-localnet" up --dir "$T/net" >/dev/null || fail "localnet did not restart"
}

# A free loopback port (the kernel's choice, released at once: good enough for a test).
nc_free_port() {
	"$NC_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

nc_init() {
	local id=$1 port
	shift
	port=$(nc_free_port)
	"$BIN/nym-client" init --id "$id" --home "$NC_HOME" --nym-apis "$NYM_API" --port "$port" "$@" \
		>"$NC_DIR/$id.init" 2>&1 || { cat "$NC_DIR/$id.init"; fail "nym-client init --id $id"; }
	NC_PORT[$id]=$port
	NC_ADDR[$id]=$(sed -n 's/^Address of this client: //p' "$NC_DIR/$id.init")
	[ -n "${NC_ADDR[$id]}" ] || { cat "$NC_DIR/$id.init"; fail "init of $id printed no address"; }
}

nc_config() { echo "$NC_HOME/.nym/clients/$1/config/config.toml"; }

nc_debug() {
	nc_toml_set "$(nc_config "$1")" "debug.$2" "$3" "$4" || fail "cannot set debug.$2.$3 of $1"
}

# nc_toml_set FILE TABLE KEY VALUE: sets TABLE.KEY (VALUE as TOML text) in a config file.
nc_toml_set() {
	"$NC_PY" - "$@" <<'EOF'
import re, sys
path, table, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
head = f"[{table}]"
if head not in lines:
    lines += ["", head]
start = lines.index(head) + 1
end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
for i in range(start, end):
    if re.match(rf"{re.escape(key)}\s*=", lines[i]):
        lines[i] = f"{key} = {value}"
        break
else:
    lines.insert(start, f"{key} = {value}")
open(path, "w").write("\n".join(lines))
EOF
}

nc_run() {
	"$BIN/nym-client" run --id "$1" --home "$NC_HOME" "${@:2}" >>"$NC_DIR/$1.log" 2>&1 &
	NC_PID[$1]=$!
}

nc_stop() {
	local pid=${NC_PID[$1]}
	kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	timeout 15 tail --pid="$pid" -f /dev/null || { kill -9 "$pid" 2>/dev/null; echo "nc_stop: $1 ignored SIG${2:-TERM}" >&2; }
	NC_STATUS=0
	# shellcheck disable=SC2034
	wait "$pid" 2>/dev/null || NC_STATUS=$?
	unset "NC_PID[$1]"
}

nc_stat() {
	grep "stats $2: " "$NC_DIR/$1.log" | tail -1 | sed -n "s/.* $3=\([0-9]*\).*/\1/p"
}

nc_app() {
	local a=$1 fifo=$NC_DIR/$1.in fd
	rm -f "$fifo"
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	NC_APP_FD[$a]=$fd
	"$NC_PY" "$NC_APP" "ws://127.0.0.1:${NC_PORT[$2]}" <"$fifo" >"$NC_DIR/$a.out" 2>"$NC_DIR/$a.err" &
	NC_APP_PID[$a]=$!
}

nc_cmd() { printf '%s\n' "$2" >&"${NC_APP_FD[$1]}"; }

nc_events() { jq -c "select($2)" "$NC_DIR/$1.out" 2>/dev/null; }

nc_event() {
	local a=$1 end=$((SECONDS + ${3:-60})) line
	while :; do
		line=$(nc_events "$a" "$2" | head -1)
		[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
		if ! kill -0 "${NC_APP_PID[$a]}" 2>/dev/null; then
			line=$(nc_events "$a" "$2" | head -1)
			[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
			echo "app $a exited before an event matching: $2" >&2
			tail -5 "$NC_DIR/$a.out" "$NC_DIR/$a.err" >&2
			return 1
		fi
		[ $SECONDS -ge $end ] && { echo "app $a: no event matching '$2' within ${3:-60}s" >&2; return 1; }
		sleep 0.1
	done
}

nc_ready() {
	local line
	line=$(nc_event "$1" '.event=="ready" or .event=="error" or .event=="exit"' "${2:-30}") || return 1
	[ "$(jq -r .event <<<"$line")" = ready ] || { echo "app $1: $line" >&2; return 1; }
	jq -r .address <<<"$line"
}

nc_app_stop() {
	local pid=${NC_APP_PID[$1]}
	nc_cmd "$1" quit
	timeout 10 tail --pid="$pid" -f /dev/null || kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	local fd=${NC_APP_FD[$1]}
	exec {fd}>&-
	unset "NC_APP_PID[$1]" "NC_APP_FD[$1]"
}

nc_payload_sha256() {
	"$NC_PY" -c '
import hashlib, sys
n, seed = int(sys.argv[1]), sys.argv[2]
b = b"".join(hashlib.sha256(f"nymsuite-interop:{seed}:{k}".encode()).digest() for k in range((n + 31) // 32))
print(hashlib.sha256(b[:n]).hexdigest())' "$1" "$2"
}

nc_gateway_stop() {
	local pid
	pid=$(cat "$T/net/run/gateway1.pid")
	kill "-${1:-TERM}" "$pid" || fail "gateway1 (pid $pid) is not running"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "gateway1 ignored SIG${1:-TERM}"
	rm -f "$T/net/run/gateway1.ready"
}

nc_gateway_start() {
	setsid "$BIN/nym-gateway" --config "$T/net/nodes/gateway1.toml" \
		>>"$T/net/logs/gateway1.log" 2>&1 </dev/null &
	echo $! >"$T/net/run/gateway1.pid"
	for _ in $(seq 100); do [ -f "$T/net/run/gateway1.ready" ] && return 0; sleep 0.05; done
	fail "gateway1 did not restart"
}
