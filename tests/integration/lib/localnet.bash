# Shared prologue of the integration tests that run a fresh localnet with the C test client.
# Source it, then call `localnet_up NAME`: it checks the binaries, makes a scratch folder $T,
# starts `nym-localnet up ${LOCALNET_ARGS}` in $T/net (always torn down on exit; KEEP=1 keeps $T;
# tests that count the gateway's clients set LOCALNET_ARGS=--no-network-requester), sources its env
# and defines fail, tc (nym-testclient against gateway 1 with a per-name state file) and stat_of
# (a counter of gateway1's stats file).
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BIN=$ROOT/$BUILD/bin

localnet_up() {
	local b
	for b in nym-localnet nym-directory nym-mixnode nym-gateway nym-testclient; do
		[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
	done
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	trap localnet_cleanup EXIT
	"$BIN/nym-localnet" up --dir "$T/net" ${LOCALNET_ARGS:-} >/dev/null || fail "localnet did not start"
	# shellcheck disable=SC1091
	. "$T/net/env"
	# a --tls localnet: its clients trust the throwaway CA
	[ -z "${NYMSUITE_CA_FILE:-}" ] || export NYMSUITE_CA_FILE
}

localnet_cleanup() {
	"$BIN/nym-localnet" down --dir "$T/net" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}

fail() { echo "FAIL: $*"; tail -20 "$T/net/logs/gateway1.log" 2>/dev/null || true; exit 1; }

tc() {
	local st=$1
	shift
	"$BIN/nym-testclient" --ws "$GATEWAY_WS_1" --gateway-id "$GATEWAY_ID_1" \
		--topology "$NYM_TOPOLOGY" --state "$T/$st.state" "$@"
}

# For tests that run one nym-client (pid in $CPID, log in $T/client.log) on the localnet:
# checks nym-client and the extra binaries named, then localnet_up NAME. On exit a process
# left stopped (pid in $PAUSED) is continued, the client stopped, the localnet torn down;
# fail shows the client's log.
client_localnet_up() {
	local name=$1 b
	shift
	for b in nym-client "$@"; do
		[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
	done
	CPID=
	PAUSED=
	fail() { echo "FAIL: $*"; tail -30 "$T/client.log" 2>/dev/null || true; exit 1; }
	localnet_up "$name"
	trap client_localnet_cleanup EXIT
}

client_localnet_cleanup() {
	if [ -n "$PAUSED" ]; then kill -CONT "$PAUSED" 2>/dev/null || true; fi
	if [ -n "$CPID" ]; then kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; fi
	localnet_cleanup
}

stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/net/run/gateway1.stats"; }
