# Network requesters of a test's own, beside the one `nym-localnet up` starts (nr_*.sh).
# Source it (it sources lib/nymclient.bash and lib/www.bash), then:
#   nr_setup NAME               nc_setup NAME, and nym-network-requester must be built
#   nr_init ID [init options]   nym-network-requester init against the localnet's nym-api and
#                               gateway 1 (as nym-localnet does), home $T/nrhome
#   nr_set ID TABLE KEY VALUE   sets TABLE.KEY (VALUE as TOML text) in ID's config.toml
#   nr_run ID [run options]     runs it in the background (log $T/nr-ID.log, stopped on exit);
#                               waits until it is ready: its address in NR_ADDR[ID]
#   nr_admin ID                 the path of ID's admin socket (exitd's counters)
#   nr_exitd ID                 the pid of ID's exitd process
#   nr_hold NAME [ADDR]         hold_start (lib/www.bash) logging to $T/NAME.log, stopped on exit;
#                               its port in HOLD_PORT
NR_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib/nymclient.bash
. "$NR_LIB/nymclient.bash"
# shellcheck source=tests/integration/lib/www.bash
. "$NR_LIB/www.bash"
declare -A NR_ADDR

nr_setup() {
	nc_setup "$1"
	[ -x "$BIN/nym-network-requester" ] || fail "missing $BIN/nym-network-requester"
}

nr_dir() { echo "$T/nrhome/.nym/service-providers/network-requester/$1"; }
nr_admin() { echo "$(nr_dir "$1")/data/nymctl.sock"; }

nr_init() {
	local id=$1
	shift
	"$BIN/nym-network-requester" init --id "$id" --home "$T/nrhome" --nym-apis "$NYM_API" \
		--gateway "$GATEWAY_ID_1" "$@" >"$T/nr-$id.init" 2>&1 ||
		{ cat "$T/nr-$id.init"; fail "nym-network-requester init --id $id"; }
}

nr_set() {
	nc_toml_set "$(nr_dir "$1")/config/config.toml" "$2" "$3" "$4" || fail "cannot set $2.$3 of $1"
}

nr_run() {
	local id=$1 log=$T/nr-$1.log before
	shift
	# the log is appended to across runs: wait for this run's line, not an earlier run's
	before=$(grep -cs 'All systems go' "$log" || true)
	"$BIN/nym-network-requester" run --id "$id" --home "$T/nrhome" "$@" >>"$log" 2>&1 &
	NC_PID["nr-$id"]=$!
	for _ in $(seq 300); do
		[ "$(grep -cs 'All systems go' "$log" || true)" -gt "${before:-0}" ] && break
		kill -0 "${NC_PID["nr-$id"]}" 2>/dev/null || { tail -20 "$log"; fail "network requester $id exited"; }
		sleep 0.1
	done
	NR_ADDR[$id]=$(sed -n 's/.*The address of this client is: //p' "$log" | tail -1)
	[ -n "${NR_ADDR[$id]}" ] || { tail -20 "$log"; fail "network requester $id did not start"; }
}

nr_exitd() {
	pgrep -P "${NC_PID["nr-$1"]}" -f exitd | head -1
}

nr_hold() {
	hold_start "$T/$1.log" "${2:-127.0.0.1}"
	NC_APP_PID[$1]=$HOLD_PID
	[ -n "$HOLD_PORT" ] || fail "the local server $1 on ${2:-127.0.0.1} did not start"
}
