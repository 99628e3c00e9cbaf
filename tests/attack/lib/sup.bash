# Shared by the supervisor attack tests (tests/attack/sup_*.sh). Source it after setting
# nothing; it sources tests/integration/lib/localnet.bash and starts one localnet:
#   sup_setup NAME           localnet_up NAME, `init --id p` on a free port; D = its data folder,
#                            SOCK its Unix API socket, UNSENT its unsent file
#   sup_start [wrapper...]   nym-client run (through the wrapper, e.g. setsid or timeout) in
#                            the background: CPID, log $T/client.log (appended, one run each)
#   sup_wait_ready [s]       until the three children are READY (0) or the time is up (1)
#   sup_kids                 the supervisor's children (pid name per line)
#   sup_wait_exit [s]        waits for CPID; its status in RC (999 if it did not exit in time)
#   sup_parse_unsent [N]     the unsent file parses (records printed); N: exactly N records
#   sup_send_unacked BYTES   stops mix2 (SIGSTOP, PAUSED) and has an app send BYTES to the
#                            client itself; returns when apid holds them all unacknowledged
#                            (UNACKED)
# fail shows the tail of the client's log.
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "${BASH_SOURCE[0]}")/../../integration/lib/localnet.bash"
PY=/usr/bin/python3
SUP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

sup_setup() {
	client_localnet_up "$1" nymctl
	H=$T/home
	D=$H/.nym/clients/p/data
	SOCK=$D/nym-client.sock
	UNSENT=$D/nymsuite-unsent.bin
	local port
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$BIN/nym-client" init --id p --home "$H" --nym-apis "$NYM_API" --port "$port" \
		>"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init"; }
}

sup_start() {
	echo "=== run $*" >>"$T/client.log"
	"$@" "$BIN/nym-client" run --id p --home "$H" ${SUP_RUN_ARGS:-} >>"$T/client.log" 2>&1 &
	CPID=$!
}

sup_kids() {
	local k
	for k in $(pgrep -P "$CPID" 2>/dev/null); do
		echo "$k $(tr '\0' ' ' </proc/"$k"/cmdline 2>/dev/null | sed -n 's/^nym-client\[\([a-z]*\)\].*/\1/p')"
	done
}

# READY lines of the current run (after the last "=== run" marker)
sup_ready_count() { sed -n '/^=== run/h; /^=== run/!H; ${x;p}' "$T/client.log" | grep -c ' ready (sandboxed' || true; }

sup_wait_ready() {
	local end=$((SECONDS + ${1:-30}))
	while [ "$(sup_ready_count)" -lt 3 ]; do
		[ $SECONDS -ge $end ] && return 1
		kill -0 "$CPID" 2>/dev/null || return 1
		sleep 0.05
	done
}

sup_wait_exit() {
	local end=$((SECONDS + ${1:-30}))
	while kill -0 "$CPID" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then RC=999; return; fi
		sleep 0.02
	done
	RC=0
	wait "$CPID" || RC=$?
	CPID=
}

sup_parse_unsent() {
	"$PY" - "$UNSENT" "${1:--1}" <<'PYEOF'
import hashlib, struct, sys
b, n, off, ids = open(sys.argv[1], "rb").read(), int(sys.argv[2]), 0, set()
while off < len(b):
    assert b[off:off+3] == b"NSU" and b[off+3] == 1, ("magic", off)
    (body,) = struct.unpack(">I", b[off+4:off+8])
    end = off + 8 + body
    assert hashlib.sha256(b[off:end]).digest()[:8] == b[end:end+8], ("checksum", off)
    ids.add(b[off+8:off+13])
    off = end + 8
assert n < 0 or len(ids) == n, ("records", len(ids), n)
print(len(ids))
PYEOF
}

json_of() { "$BIN/nymctl" --id p --home "$H" "$1" --json; }
field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]][sys.argv[2]])' "$1" "$2"; }

sup_wait_gateway() {
	local _
	for _ in $(seq 200); do
		[ "$(json_of status 2>/dev/null | field netd connected 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	fail "no gateway session"
}

sup_send_unacked() {
	local bytes=$1 n=0 _
	[ -n "$PAUSED" ] || { PAUSED=$(cat "$T/net/run/mix2.pid"); kill -STOP "$PAUSED"; }
	timeout 120 "$PY" "$SUP_LIB/send.py" "$SOCK" "$bytes" >"$T/send.out" 2>&1 ||
		{ cat "$T/send.out"; fail "send"; }
	UNACKED=$(json_of stats | field apid unacked_fragments)
	for _ in $(seq 600); do
		n=$(json_of stats | field apid unacked_fragments)
		[ "$n" -gt 0 ] && [ "$n" = "$UNACKED" ] && break
		UNACKED=$n
		sleep 0.1
	done
	UNACKED=$n
	[ "$(json_of stats | field netd acks_received)" = 0 ] || fail "acks arrived although mix2 is stopped"
}
