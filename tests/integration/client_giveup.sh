#!/usr/bin/env bash
# A fragment netd gives up at [debug.traffic] maximum_number_of_retransmissions is dropped by
# the front too (GAVE_UP_FRAGMENT, catalogue version 8), so the stop does not persist it: Nym
# forgets such a fragment, and the unsent-fragments file must not bring it back on the next
# run. On a localnet whose mix2 (the only layer-2 node) drops everything (drop_rate = 1.0),
# nothing sent is ever acknowledged. Ack timeouts are shortened (ack_wait_addition 400 ms).
#   1. client g, maximum_number_of_retransmissions = 1: an app sends a 5 KB message (several
#      fragments) to the client itself; each fragment times out, is retransmitted once, times
#      out again and is given up. Then apid keeps nothing (nymctl stats: apid
#      unacked_fragments 0, fragments_given_up = netd's gave_up = the fragment count, one
#      retransmission each); SIGTERM: "0 fragments persisted", no unsent file, exit status 0.
#      Before the fix apid kept every fragment and the stop persisted them all.
#   2. client u, the default (unlimited): the same message; after several retransmissions each
#      its fragments are still kept, nothing given up, and SIGTERM persists every one of them
#      to data/nymsuite-unsent.bin, as before.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
[ -x "$BIN/nymctl" ] || { echo "missing $BIN/nymctl (run make first)"; exit 1; }
nc_setup client-giveup
grep -q '^drop_rate = ' "$T/net/nodes/mix2.toml" || fail "mix2's descriptor has no drop_rate line"
nc_localnet_edit mix2 's/^drop_rate = .*/drop_rate = 1.0/'
node_stat() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$T/net/run/$1.stats"; }

# ctl ID ROLE FIELD: a number of nymctl stats (ROLE apid or netd)
ctl() {
	"$BIN/nymctl" --id "$1" --home "$NC_HOME" stats --json |
		"$NC_PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$2" "$3"
}
unsent_file() { echo "$NC_HOME/.nym/clients/$1/data/nymsuite-unsent.bin"; }
# records FILE: the fragment records of an unsent file (client/nym-client/README.md)
records() {
	"$NC_PY" - "$1" <<'EOF'
import struct, sys
b, off, n = open(sys.argv[1], "rb").read(), 0, 0
while off < len(b):
    assert b[off:off+3] == b"NSU", b[off:off+4]
    (body,) = struct.unpack(">I", b[off+4:off+8])
    off, n = off + 8 + body + 8, n + 1
print(n)
EOF
}
# start ID: runs ID, connects app A_ID, sends the 5 KB message to ID itself
start_and_send() {
	nc_run "$1"
	nc_app "a_$1" "$1"
	nc_ready "a_$1" >/dev/null || fail "$1: the app did not start"
	nc_cmd "a_$1" "send self 5000 m_$1"
}

# ---- 1. at most one retransmission: given up, dropped, not persisted
nc_init g
nc_debug g acknowledgements ack_wait_addition "'400ms'"
nc_debug g traffic maximum_number_of_retransmissions 1
start_and_send g
end=$((SECONDS + 90))
while :; do
	given=$(ctl g apid fragments_given_up 2>/dev/null) || given=
	unacked=$(ctl g apid unacked_fragments 2>/dev/null) || unacked=
	pending=$(ctl g netd pending_acks 2>/dev/null) || pending=
	# every fragment of the message (>= 3) given up: under load the later ones are still
	# being built or sent when the first is given up, and apid's count is 0 for a moment
	[ -n "$given" ] && [ "$given" -ge 3 ] && [ "$unacked" = 0 ] && [ "$pending" = 0 ] && break
	[ $SECONDS -lt $end ] || fail "g: after 90 s apid still keeps ${unacked:-?} fragments (given up: ${given:-?}, netd gave up $(ctl g netd gave_up 2>/dev/null || echo ?), pending acks ${pending:-?})"
	sleep 1
done
# read again now that nothing is left: the three reads above are not one snapshot (under load
# the last fragment was given up between the first read and the second)
given=$(ctl g apid fragments_given_up)
netd_gave_up=$(ctl g netd gave_up)
netd_retx=$(ctl g netd retransmissions)
netd_acks=$(ctl g netd acks_received)
dropped=$(node_stat mix2 packets_dropped)
nc_app_stop a_g
nc_stop g
[ "$NC_STATUS" = 0 ] || fail "g: exit status $NC_STATUS after SIGTERM"
grep "stats " "$T/g.log"
[ "${dropped:-0}" -gt 0 ] || fail "mix2 dropped nothing (packets_dropped=${dropped:-none}): the test cannot fail"
[ "$netd_acks" = 0 ] || fail "g: $netd_acks acks arrived although mix2 drops everything"
[ "$given" -ge 3 ] || fail "g: $given fragments given up, want the 5 KB message's (>= 3)"
[ "$netd_gave_up" = "$given" ] || fail "g: netd gave up $netd_gave_up fragments, apid dropped $given"
[ "$netd_retx" = "$given" ] || fail "g: netd retransmitted $netd_retx times, want one per fragment ($given)"
[ "$(nc_stat g apid fragments_given_up)" = "$given" ] ||
	fail "g: the stop's stats line says fragments_given_up=$(nc_stat g apid fragments_given_up), want $given"
[ "$(nc_stat g apid unacked)" = 0 ] || fail "g: apid still kept $(nc_stat g apid unacked) fragments at the stop"
grep -q "supervisor\]: 0 fragments persisted, 0 dropped" "$T/g.log" ||
	fail "g: the stop did not report '0 fragments persisted': $(grep 'fragments persisted' "$T/g.log" || echo none)"
[ -e "$(unsent_file g)" ] && fail "g: $(unsent_file g) holds $(records "$(unsent_file g)") given-up fragments"
# one line per 10 s window (the rate limit itself: tests/unit/test_engine_lanes.c)
lines=$(grep -c "reached maximum_number_of_retransmissions without an ack: given up" "$T/g.log" || true)
[ "$lines" -ge 1 ] || fail "g: the give-up was not logged"
echo "ok limit 1: $given fragments retransmitted once, given up by netd and dropped by apid; nothing persisted ($lines log line(s))"

# ---- 2. the default (unlimited): kept and persisted as before
nc_init u
nc_debug u acknowledgements ack_wait_addition "'400ms'"
start_and_send u
end=$((SECONDS + 90))
while :; do
	unacked=$(ctl u apid unacked_fragments 2>/dev/null) || unacked=0
	retx=$(ctl u netd retransmissions 2>/dev/null) || retx=0
	# every fragment sent and timed out at least twice
	[ "$unacked" -ge 3 ] && [ "$retx" -ge $((2 * unacked)) ] && break
	[ $SECONDS -lt $end ] || fail "u: after 90 s $unacked fragments kept, $retx retransmissions (want >= 3 and >= 2 each)"
	sleep 1
done
n=$unacked
[ "$(ctl u apid fragments_given_up)" = 0 ] || fail "u: apid gave up fragments without a limit"
[ "$(ctl u netd gave_up)" = 0 ] || fail "u: netd gave up fragments without a limit"
nc_app_stop a_u
nc_stop u
[ "$NC_STATUS" = 0 ] || fail "u: exit status $NC_STATUS after SIGTERM"
grep "stats " "$T/u.log"
grep -q "supervisor\]: $n fragments persisted, 0 dropped" "$T/u.log" ||
	fail "u: no '$n fragments persisted': $(grep 'fragments persisted' "$T/u.log" || echo none)"
[ -f "$(unsent_file u)" ] || fail "u: no $(unsent_file u)"
[ "$(records "$(unsent_file u)")" = "$n" ] || fail "u: $(records "$(unsent_file u)") records in the unsent file, want $n"
echo "ok unlimited: $n fragments retransmitted $retx times in all, kept, and persisted at the stop ($n records)"
echo "PASS"
