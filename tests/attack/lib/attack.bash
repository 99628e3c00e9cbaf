# Shared prologue of the apid attack scripts: a localnet and one nym-client with chosen
# [nymsuite] keys. Source it, then `attack_client_up NAME [KEY=VALUE...]` (run it in the
# script's shell: it sets the variables below; NC_ULIMIT=N gives nym-client alone a descriptor
# limit of N, soft and hard). Sets H (home), D (data dir), SOCK (Unix API), ADMIN (nymctl socket),
# PORT (websocket), CPID (nym-client), APID (its apid); ATK runs lib/apidattack.py. NC_RUN_ARGS:
# extra options of `nym-client run` (e.g. --no-cover).
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "${BASH_SOURCE[0]}")/../../integration/lib/localnet.bash"
PY=/usr/bin/python3
ATK="$PY $(dirname "${BASH_SOURCE[0]}")/apidattack.py"

# An ASan build (make asan): its quarantine, redzones and shadow memory are ASan's, not apid's,
# so the memory bounds are asserted in the plain build (make check) only; the behaviour is
# checked in both.
asan_build() { [[ $(ldd "$BIN/nym-client" 2>/dev/null) == *libasan* ]]; }

# over_budget GROWTH_KB: 0 when GROWTH_KB reaches BUDGET_KB + OVERHEAD_KB (never under ASan)
over_budget() { ! asan_build && [ "$1" -ge $((BUDGET_KB + OVERHEAD_KB)) ]; }

attack_client_up() {
	local name=$1 kv conf p
	shift
	client_localnet_up "$name" nymctl
	H=$T/home
	PORT=$((20000 + RANDOM % 20000))
	"$BIN/nym-client" init --id c --home "$H" --nym-apis "$NYM_API" --port "$PORT" \
		>"$T/init.out" 2>&1 || { cat "$T/init.out"; fail "init"; }
	conf=$H/.nym/clients/c/config/config.toml
	D=$H/.nym/clients/c/data
	SOCK=$D/nym-client.sock
	ADMIN=$D/nymctl.sock
	for kv in "$@"; do sed -i "/^\[nymsuite\]/a ${kv%%=*} = ${kv#*=}" "$conf"; done
	if [ -n "${NC_ULIMIT:-}" ]; then
		(ulimit -n "$NC_ULIMIT" && exec "$BIN/nym-client" run --id c --home "$H" ${NC_RUN_ARGS:-}) >"$T/client.log" 2>&1 &
	else
		# shellcheck disable=SC2086 # options, split on purpose
		"$BIN/nym-client" run --id c --home "$H" ${NC_RUN_ARGS:-} >"$T/client.log" 2>&1 &
	fi
	CPID=$!
	for _ in $(seq 150); do
		$ATK serve ws "$PORT" 1 2>/dev/null | grep -q '"served"' && break
		sleep 0.2
	done
	$ATK serve ws "$PORT" 5 | grep -q '"served"' || fail "nym-client does not serve selfAddress"
	APID=
	for p in $(pgrep -P "$CPID"); do
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- '--child apid' && APID=$p
	done
	[ -n "$APID" ] || fail "no apid process"
}

# apid's resident memory in kB: current and peak.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$APID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$APID/status"; }
# apid's CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$APID/stat"; }
# a value of apid's part of `nymctl stats --json`
apid_stat() { "$BIN/nymctl" --id c --home "$H" stats --json | jq -r ".apid.$1"; }
