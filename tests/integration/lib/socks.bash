# Shared part of the SOCKS client tests: a localnet (arguments of `nym-localnet up` in
# LOCALNET_ARGS), a network requester (the localnet's, $NETWORK_REQUESTER, else one this
# script starts with an exit policy accepting 127.0.0.1 only), a nym-socks5-client on a
# random 127.0.0.1 port (and a 0600 Unix socket), a local HTTP server with a 10 MB file.
# Source it, then `socks_up NAME [init flags...]`. Everything is stopped on exit.
# LOSSY_NODE=mix2: only that node keeps the drop rate of LOCALNET_ARGS (the others get 0);
# ACK_WAIT='400ms': debug.acknowledgements.ack_wait_addition of the SOCKS client and of the
# test's own requester. A test may also define socks_configure / nr_configure (called with the
# config.toml path after init, before run); socks_client_init [init flags...] makes the SOCKS
# client "s" anew (stop it first).
. "$(dirname "${BASH_SOURCE[0]}")/localnet.bash"
PY=/usr/bin/python3

socks_cleanup() {
	local p
	for p in ${SPIDS:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	localnet_cleanup
}

fail() {
	echo "FAIL: $*"
	tail -15 "$T/socks.log" 2>/dev/null || true
	tail -15 "$T/nr.log" 2>/dev/null || true
	exit 1
}

# The test's own network requester (pid NRPID, address NR_ADDR); the policy accepts 127.0.0.1.
nr_start() {
	local H=$T/home
	if [ ! -d "$H/.nym/service-providers/network-requester/nr" ]; then
		"$BIN/nym-network-requester" init --id nr --home "$H" --nym-apis "$NYM_API" >"$T/nr.init" 2>&1 ||
			{ cat "$T/nr.init"; fail "NR init"; }
		printf 'ExitPolicy accept 127.0.0.1:*\nExitPolicy reject *:*\n' >"$T/policy.txt"
		printf '\n[nymsuite]\nexit_policy_file = "%s"\n' "$T/policy.txt" \
			>>"$H/.nym/service-providers/network-requester/nr/config/config.toml"
		set_ack_wait "$H/.nym/service-providers/network-requester/nr/config/config.toml"
		if declare -F nr_configure >/dev/null; then
			nr_configure "$H/.nym/service-providers/network-requester/nr/config/config.toml"
		fi
	fi
	NR_ADDR=$(sed -n 's/^Address of this network-requester: //p' "$T/nr.init")
	"$BIN/nym-network-requester" run --id nr --home "$H" ${NR_RUN_FLAGS:-} >>"$T/nr.log" 2>&1 &
	NRPID=$!
	SPIDS="${SPIDS:-} $NRPID"
	for _ in $(seq 100); do grep -qs "gateway session ready" "$T/nr.log" && return 0; sleep 0.1; done
	fail "the network requester did not start"
}

set_ack_wait() {
	[ -z "${ACK_WAIT:-}" ] || sed -i "/^average_ack_delay = /a ack_wait_addition = '$ACK_WAIT'" "$1"
}

# gen, the drop rate left on LOSSY_NODE only, then up
localnet_start() {
	local f
	if [ -n "${LOSSY_NODE:-}" ]; then
		# shellcheck disable=SC2086
		"$BIN/nym-localnet" gen --dir "$T/net" ${LOCALNET_ARGS:-} >/dev/null || fail "localnet gen"
		for f in "$T"/net/nodes/*.toml; do
			[ "$(basename "$f" .toml)" = "$LOSSY_NODE" ] || sed -i 's/^drop_rate = .*/drop_rate = 0/' "$f"
		done
	fi
	# shellcheck disable=SC2086
	"$BIN/nym-localnet" up --dir "$T/net" ${LOCALNET_ARGS:-} >/dev/null 2>"$T/localnet.err" ||
		{ cat "$T/localnet.err"; fail "localnet did not start"; }
}

socks_up() {
	local name=$1 b
	shift
	for b in nym-socks5-client nym-network-requester nymctl; do
		[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (run make first)"; exit 1; }
	done
	T=$(mktemp -d "/tmp/$name.XXXXXX")
	trap socks_cleanup EXIT
	localnet_start
	# shellcheck disable=SC1091
	. "$T/net/env"
	# a --tls localnet: its clients trust the throwaway CA
	[ -z "${NYMSUITE_CA_FILE:-}" ] || export NYMSUITE_CA_FILE
	if [ -n "${NETWORK_REQUESTER:-}" ] && [ -z "${OWN_NR:-}" ]; then
		NR_ADDR=$NETWORK_REQUESTER
	else
		nr_start
	fi
	socks_client_init "$@"
	socks_run
	mkdir -p "$T/www"
	head -c 10000000 /dev/urandom >"$T/www/big.bin"
	WANT=$(sha256sum <"$T/www/big.bin" | cut -d' ' -f1)
	HPORT=$(( 20000 + RANDOM % 20000 ))
	"$PY" -m http.server "$HPORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
	SPIDS="$SPIDS $!"
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HPORT/" && break; sleep 0.1; done
}

socks_client_init() {
	local conf=$T/home/.nym/socks5-clients/s/config/config.toml
	rm -rf "$T/home/.nym/socks5-clients/s"
	SPORT=$(( 20000 + RANDOM % 20000 ))
	SOCK=$T/socks.sock
	"$BIN/nym-socks5-client" init --id s --home "$T/home" --nym-apis "$NYM_API" --provider "$NR_ADDR" \
		--port "$SPORT" "$@" >"$T/socks.init" 2>&1 || { cat "$T/socks.init"; fail "socks init"; }
	printf '\n[nymsuite]\nunix_socket = "%s"\n' "$SOCK" >>"$conf"
	set_ack_wait "$conf"
	if declare -F socks_configure >/dev/null; then socks_configure "$conf"; fi
}

socks_run() {
	"$BIN/nym-socks5-client" run --id s --home "$T/home" >>"$T/socks.log" 2>&1 &
	SPID=$!
	SPIDS="${SPIDS:-} $SPID"
	for _ in $(seq 100); do grep -qs "Client startup finished" "$T/socks.log" && return 0; sleep 0.1; done
	fail "the SOCKS client did not start"
}

# sha256 of what a command writes to stdout (the command gets the URL path appended)
sha_of() { "$@" | sha256sum | cut -d' ' -f1; }
ctl() { "$BIN/nymctl" --id s --kind socks5 --home "$T/home" "$@"; }
