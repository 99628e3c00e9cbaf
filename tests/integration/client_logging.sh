#!/usr/bin/env bash
# Logging without spam (common/log.h), through the real nym-client on the localnet:
#  (a) default level (no RUST_LOG): a burst of traffic (30 messages to itself) plus a repeated
#      fault (1000 replies to a sender tag nobody gave us, 300 malformed requests) leaves the
#      log within a few lines: no per-message line, the fault's line once (plus at most a count
#      line), every line "LEVEL nym-client[role]: text" without colour or timestamp;
#  (b) RUST_LOG=debug: the per-message lines are there;
#  (c) a RUST_LOG with a malformed part: one warning naming it, the rest of the filter applies
#      (nym_client::apid=debug: apid's per-message lines, none from keyd/netd at debug);
#  (d) [nymsuite] log_level = "warn": no INFO line; RUST_LOG=info wins over it;
#  (e) stderr as the journal's stream ($JOURNAL_STREAM names it, as systemd sets it): every
#      line of every process carries its syslog priority ("<6>", "<4>") instead of a level word.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
unset RUST_LOG
nc_setup client-logging
nc_init q

# A sender tag no one gave us (base58 of 16 bytes).
TAG=$("$NC_PY" -c '
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n, s = int.from_bytes(bytes(range(1, 17)), "big"), ""
while n:
    n, r = divmod(n, 58)
    s = B58[r] + s
print(s)')

# run_traffic LOG: the client in the background (env as given), a burst and the faults, a stop.
run_traffic() {
	local log=$1 i
	: >"$NC_DIR/q.log"
	nc_run q
	nc_app a q
	nc_ready a 60 >/dev/null || fail "$log: the app never got ready"
	for i in $(seq 1 30); do nc_cmd a "send self 200 $i"; done
	nc_cmd a "wait 30 90000"
	nc_event a '.event=="wait"' 120 | jq -e .ok >/dev/null || fail "$log: the burst did not come back"
	for i in $(seq 1 1000); do nc_cmd a "reply $TAG 10"; done
	nc_cmd a "sleep 500"
	nc_app_stop a
	# (a) waits for the end of the fault's window: its count line
	[ -z "${LINGER:-}" ] || sleep "$LINGER"
	"$NC_PY" - "${NC_PORT[q]}" <<'EOF' || fail "$log: malformed requests"
import asyncio, sys, websockets
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}") as ws:
        for i in range(300):
            await ws.send('{"type": "send", "recipient": "not an address", "message": "x"}')
            await asyncio.wait_for(ws.recv(), 30)
asyncio.run(main())
EOF
	sleep 2
	nc_stop q
	[ "$NC_STATUS" = 0 ] || fail "$log: the client exited with $NC_STATUS"
	cp "$NC_DIR/q.log" "$T/$log"
}

# ---- (a) default level
LINGER=12 run_traffic default.log
L=$T/default.log
n=$(wc -l <"$L")
# start-up (about a dozen lines), the stop (stats of the four processes) and the fault's two
[ "$n" -le 40 ] || { cat "$L"; fail "the default log has $n lines"; }
if grep -q "message .* bytes" "$L"; then fail "per-message lines at the default level"; fi
n=$(grep -c "no reply SURBs for" "$L" || true)
{ [ "$n" -ge 1 ] && [ "$n" -le 3 ]; } || { cat "$L"; fail "the repeated fault was logged in $n lines"; }
grep -Eq "apid\]: [0-9]+ more like this in the last [0-9]+ s: replies to a sender tag" "$L" ||
	{ cat "$L"; fail "no count line for the repeated fault"; }
# Nym's run prints "Starting client ID..." first, a plain line of the CLI (eprintln!), not a log line
bad=$(grep -Ev '^(ERROR|WARN|INFO) nym-client\[(supervisor|keyd|netd|apid)\]: |^Starting client q\.\.\.$' "$L" || true)
[ -z "$bad" ] || fail "lines not in the plain format: $bad"
if grep -q $'\033' "$L"; then fail "colour codes off a terminal"; fi
echo "ok default level: $(wc -l <"$L") lines for 30 messages, 1000 replies to an unknown tag and 300 bad requests"

# ---- (b) RUST_LOG=debug
export RUST_LOG=debug
run_traffic debug.log
unset RUST_LOG
n=$(grep -c "apid\]: message [0-9]*: 200 bytes in 1 fragments" "$T/debug.log" || true)
[ "$n" -ge 30 ] || fail "RUST_LOG=debug: $n per-message send lines, want 30"
n=$(grep -c "apid\]: message of 200 bytes received" "$T/debug.log" || true)
[ "$n" -ge 30 ] || fail "RUST_LOG=debug: $n per-message receive lines, want 30"
echo "ok RUST_LOG=debug: the per-message lines"

# ---- (c) a malformed part, then a target of ours
export RUST_LOG="netd=loud,nym_client::apid=debug"
run_traffic filter.log
unset RUST_LOG
n=$(grep -c "ignoring what is not a filter directive: netd=loud" "$T/filter.log" || true)
[ "$n" = 1 ] || fail "the malformed RUST_LOG was reported $n times"
grep -q "apid\]: message of 200 bytes received" "$T/filter.log" || fail "apid=debug not applied"
if grep -Eq "^DEBUG nym-client\[(keyd|netd|supervisor)\]" "$T/filter.log"; then
	fail "debug lines of roles the filter did not name"
fi
echo "ok a malformed RUST_LOG part is reported once; the rest applies per role"

# ---- (d) the config key, and the environment over it
nc_toml_set "$(nc_config q)" nymsuite log_level '"warn"' || fail "cannot set log_level"
run_traffic warn.log
if grep -q "^INFO " "$T/warn.log"; then fail "INFO lines with log_level = warn"; fi
grep -q "no reply SURBs for" "$T/warn.log" || fail "the warning is missing at log_level = warn"
export RUST_LOG=info
run_traffic envwins.log
unset RUST_LOG
grep -q "^INFO .*gateway session ready" "$T/envwins.log" || fail "RUST_LOG=info did not win over log_level"
echo "ok [nymsuite] log_level = warn; RUST_LOG wins over it"

# ---- (e) the journal's stream
nc_toml_set "$(nc_config q)" nymsuite log_level '"info"' || fail "cannot set log_level"
: >"$NC_DIR/q.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$NC_DIR/q.log")
export JOURNAL_STREAM
run_traffic journal.log
unset JOURNAL_STREAM
bad=$(grep -Ev '^<[3467]>nym-client\[(supervisor|keyd|netd|apid)\]: |^Starting client q\.\.\.$' "$T/journal.log" || true)
[ -z "$bad" ] || fail "lines without a syslog priority on the journal's stream: $bad"
grep -q '^<6>nym-client\[netd\]: gateway session ready' "$T/journal.log" || fail "no <6> INFO line"
grep -q '^<4>nym-client\[apid\]: replies to a sender tag' "$T/journal.log" || fail "no <4> WARN line"
echo "ok on the journal's stream: syslog priorities from every process"
