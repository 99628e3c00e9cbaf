#!/usr/bin/env bash
# TLS gateways (wss://) on a `nym-localnet up --tls` network: the directory announces gateway1
# with hostname "localhost" and a clients_wss_port served by a TLS terminator in front of its
# websocket listener, with a certificate of the localnet's throwaway CA ($NYMSUITE_CA_FILE).
#  - nym-client init --force-tls-gateway registers over wss://localhost:PORT and stores that
#    listener in gateways_registrations.sqlite as Nym does (with "/"); run connects over TLS
#    (netd: "gateway over TLS") and a message goes to itself through the mixnet; no file
#    OpenSSL reads (time zone, certificates, configuration) is refused by the sandbox (strace);
#  - with a CA file of another CA, init (forced or not: the gateway announces wss) fails with the
#    certificate error and leaves nothing behind, and no connect() to the gateway's plain ws
#    port is made (strace), nor does the gateway's ws listener accept anything;
#  - a gateway whose certificate another CA issued: init refused, its ws listener saw nothing;
#  - run of the registered client with the other CA: netd logs the refused certificate once
#    (repeats counted, not logged), keeps retrying over wss only, never connects to ws://;
#  - a certificate of the trusted CA for another name (gateway.invalid) is refused, and so is a
#    gateway announced under a name its certificate does not carry (127.0.0.1);
#  - a gateway host name that does not resolve fails init with the resolver's reason;
#  - a wss port on a gateway without a host name is not a TLS gateway: --force-tls-gateway
#    refuses with Nym's message.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/lib/nymclient.bash"
LOCALNET_ARGS="--tls --no-network-requester"
nc_setup client-tls
# A client run under strace (pid of strace in SP): SIGTERM to strace would leave the client
# running, so the client itself is stopped; also on the way out.
SP=
stop_traced() {
	[ -n "$SP" ] || return 0
	local c
	c=$(pgrep -P "$SP" | head -1) || true
	[ -z "$c" ] || kill -TERM "$c" 2>/dev/null || true
	TRACED_STATUS=0
	wait "$SP" || TRACED_STATUS=$?
	SP=
	unset "NC_PID[a]"
}
on_exit() { local rc=$?; stop_traced; (exit "$rc"); nc_cleanup; }
trap on_exit EXIT
command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null || fail "strace is needed (make deps)"
command -v openssl >/dev/null || fail "openssl is needed (make deps)"
[ -n "${GATEWAY_WSS_1:-}" ] || fail "the localnet announces no wss listener"
[ "$NYMSUITE_CA_FILE" = "$T/net/tls/ca.pem" ] || fail "env has no CA file"
[ "$(stat -c %a "$T/net/tls/ca.key")" = 600 ] && [ "$(stat -c %a "$T/net/tls/gateway.key")" = 600 ] ||
	fail "TLS key files are not 0600"
# init_gateway FILE: "ID URL" of the gateway an init registered with, from its output (Nym's
# "Gateway ID:" and "Gateway:" lines, or our older "Registered with the gateway ID (URL)");
# the URL without Url's trailing "/"
init_gateway() {
	local id url
	id=$(sed -n 's/^Gateway ID: //p; s/^Registered with the gateway \([^ ]*\) .*/\1/p' "$1" | head -1)
	url=$(sed -n 's/^Gateway: //p; s/^Registered with the gateway [^ ]* (\(.*\))$/\1/p' "$1" | head -1)
	echo "$id ${url%/}"
}
WSS_PORT=${GATEWAY_WSS_1##*:}
# (LeakSanitizer cannot run under ptrace: off for the runs under strace of a sanitizer build)
NOLEAK=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
WS_PORT=${GATEWAY_WS_1##*:}
for _ in $(seq 50); do [ -s "$T/net/run/gateway1.stats" ] && break; sleep 0.1; done

# ---- init over wss, run, a message to itself
nc_init a --force-tls-gateway
[ "$(init_gateway "$NC_DIR/a.init")" = "$GATEWAY_ID_1 $GATEWAY_WSS_1" ] ||
	{ cat "$NC_DIR/a.init"; fail "init did not register over $GATEWAY_WSS_1"; }
DB=$NC_HOME/.nym/clients/a/data/gateways_registrations.sqlite
L=$("$NC_PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT gateway_listener FROM remote_gateway_details").fetchone()[0])' "$DB")
[ "$L" = "$GATEWAY_WSS_1/" ] || fail "stored listener $L"
# (under strace: no file OpenSSL wants is refused by the sandbox after start-up)
ASAN_OPTIONS=$NOLEAK strace -f -qq -e trace=openat -o "$T/good.trace" "$BIN/nym-client" run --id a --home "$NC_HOME" >>"$NC_DIR/a.log" 2>&1 &
SP=$!
for _ in $(seq 300); do grep -q "gateway session ready" "$NC_DIR/a.log" && break; sleep 0.1; done
grep -q "gateway over TLS: $GATEWAY_WSS_1 (CA $NYMSUITE_CA_FILE)" "$NC_DIR/a.log" || fail "netd did not use TLS"
grep -q "gateway session ready" "$NC_DIR/a.log" || fail "no gateway session over wss"
nc_app app a
[ "$(nc_ready app)" = "${NC_ADDR[a]}" ] || fail "address differs from init's"
nc_cmd app "send self 3000 x"
nc_event app '.event=="received"' 60 >/dev/null || fail "no message round trip over wss"
nc_app_stop app
stop_traced
[ "$TRACED_STATUS" = 0 ] && grep -q "stopped by signal 15" "$NC_DIR/a.log" ||
	fail "run a: exit status $TRACED_STATUS"
grep "EACCES" "$T/good.trace" | grep -E "localtime|ssl|cert|\.pem|\.cnf" && fail "the sandbox refused a file to TLS"
echo "ok init --force-tls-gateway registered over $GATEWAY_WSS_1 (stored as Nym does), run over TLS, message round trip"

# ---- a CA that did not issue the gateway's certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" \
	-out "$T/other.pem" -days 2 -subj "/CN=another CA" >/dev/null 2>&1 || fail "openssl: other CA"
# connects: the port of every connect() that init/netd made, one per line
connects() { grep -o 'sin_port=htons([0-9]*)' "$1" | grep -o '[0-9]*' || true; }
ACC0=$(stat_of ws_accepted)
for flag in --force-tls-gateway ""; do
	rc=0
	# shellcheck disable=SC2086
	NYMSUITE_CA_FILE=$T/other.pem ASAN_OPTIONS=$NOLEAK strace -f -qq -e trace=connect -o "$T/init.trace" \
		"$BIN/nym-client" init --id bad --home "$NC_HOME" --nym-apis "$NYM_API" $flag >"$T/bad.init" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { cat "$T/bad.init"; fail "init trusting another CA succeeded ($flag)"; }
	grep -q "TLS certificate of localhost refused: unable to get local issuer certificate" "$T/bad.init" ||
		{ cat "$T/bad.init"; fail "no certificate error ($flag)"; }
	[ -e "$NC_HOME/.nym/clients/bad" ] && fail "a refused init left files behind"
	connects "$T/init.trace" | grep -qx "$WSS_PORT" || fail "init did not even try wss ($flag)"
	connects "$T/init.trace" | grep -qx "$WS_PORT" && fail "init fell back to ws:// ($flag)"
done
sleep 1.5 # gateway1 writes its stats every second
[ "$(stat_of ws_accepted)" = "$ACC0" ] || fail "the gateway's ws listener accepted a connection ($ACC0 -> $(stat_of ws_accepted))"
echo "ok another CA: init refused with the certificate error, nothing left, wss tried, no ws:// connection"

NYMSUITE_CA_FILE=$T/other.pem ASAN_OPTIONS=$NOLEAK strace -f -qq -e trace=connect -o "$T/run.trace" \
	"$BIN/nym-client" run --id a --home "$NC_HOME" >"$NC_DIR/a-badca.log" 2>&1 &
SP=$!
for _ in $(seq 300); do
	[ "$(grep -c "sin_port=htons($WSS_PORT)" "$T/run.trace" 2>/dev/null)" -ge 3 ] && break
	sleep 0.1
done
[ "$(grep -c "sin_port=htons($WSS_PORT)" "$T/run.trace")" -ge 3 ] || fail "netd did not retry over wss"
stop_traced
n=$(grep -c "TLS certificate of localhost refused" "$NC_DIR/a-badca.log" || true)
[ "$n" = 1 ] || { cat "$NC_DIR/a-badca.log"; fail "the certificate failure was logged $n times (want once)"; }
grep -q "gateway session ready" "$NC_DIR/a-badca.log" && fail "a session came up with an untrusted certificate"
connects "$T/run.trace" | grep -qx "$WS_PORT" && fail "run fell back to ws://"
echo "ok another CA at run: refused, logged once, retried over wss only"

# ---- the gateway's certificate (for localhost) issued by another CA, the client trusting the localnet's
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/foreign.key" -out "$T/foreign.csr" \
	-subj "/CN=localhost" >/dev/null 2>&1 || fail "openssl: csr"
printf 'subjectAltName=DNS:localhost\n' >"$T/foreign.ext"
openssl x509 -req -in "$T/foreign.csr" -CA "$T/other.pem" -CAkey "$T/other.key" -CAcreateserial \
	-out "$T/foreign.pem" -days 2 -extfile "$T/foreign.ext" >/dev/null 2>&1 || fail "openssl: sign"
cp "$T/foreign.pem" "$T/net/tls/gateway.pem"
cp "$T/foreign.key" "$T/net/tls/gateway.key"
nc_localnet_edit gateway1 's/^hostname = .*/hostname = "localhost"/' # restarts it with that certificate
for _ in $(seq 50); do [ -n "$(stat_of ws_accepted 2>/dev/null)" ] && break; sleep 0.1; done
sleep 1.2 # the start-up probes counted
ACC0=$(stat_of ws_accepted)
[ -n "$ACC0" ] || fail "no ws_accepted in gateway1's stats"
rc=0
"$BIN/nym-client" init --id foreign --home "$NC_HOME" --nym-apis "$NYM_API" >"$T/foreign.init" 2>&1 || rc=$?
[ "$rc" != 0 ] || { cat "$T/foreign.init"; fail "init accepted a certificate of another CA"; }
grep -q "TLS certificate of localhost refused: unable to get local issuer certificate" "$T/foreign.init" ||
	{ cat "$T/foreign.init"; fail "no certificate error"; }
sleep 1.5
[ "$(stat_of ws_accepted)" = "$ACC0" ] || fail "the gateway's ws listener accepted a connection"
echo "ok a gateway certificate from another CA: init refused, the gateway's ws listener saw nothing"

# ---- a certificate of the right CA for another name (gateway.invalid), gateway announced as localhost
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/wrong.key" -out "$T/wrong.csr" \
	-subj "/CN=gateway.invalid" >/dev/null 2>&1 || fail "openssl: csr"
printf 'subjectAltName=DNS:gateway.invalid\n' >"$T/wrong.ext"
openssl x509 -req -in "$T/wrong.csr" -CA "$T/net/tls/ca.pem" -CAkey "$T/net/tls/ca.key" -CAcreateserial \
	-out "$T/wrong.pem" -days 2 -extfile "$T/wrong.ext" >/dev/null 2>&1 || fail "openssl: sign"
cp "$T/wrong.pem" "$T/net/tls/gateway.pem"
cp "$T/wrong.key" "$T/net/tls/gateway.key"
nc_localnet_edit gateway1 's/^hostname = .*/hostname = "localhost"/' # restarts it with that certificate
rc=0
"$BIN/nym-client" init --id othername --home "$NC_HOME" --nym-apis "$NYM_API" >"$T/othername.init" 2>&1 || rc=$?
[ "$rc" != 0 ] || { cat "$T/othername.init"; fail "init accepted a certificate for gateway.invalid"; }
grep -q "TLS certificate of localhost refused: hostname mismatch" "$T/othername.init" ||
	{ cat "$T/othername.init"; fail "no host name error"; }
echo "ok a certificate of the trusted CA for another name: refused (hostname mismatch)"

# ---- a host name the certificate does not carry
nc_localnet_edit gateway1 's/^hostname = .*/hostname = "127.0.0.1"/'
. "$T/net/env"
[ "${GATEWAY_WSS_1%:*}" = "wss://127.0.0.1" ] || fail "the edited gateway is not announced as wss://127.0.0.1"
rc=0
"$BIN/nym-client" init --id wrongname --home "$NC_HOME" --nym-apis "$NYM_API" --force-tls-gateway \
	>"$T/name.init" 2>&1 || rc=$?
[ "$rc" != 0 ] || { cat "$T/name.init"; fail "init accepted a certificate for another name"; }
grep -q "TLS certificate of 127.0.0.1 refused: .*mismatch" "$T/name.init" ||
	{ cat "$T/name.init"; fail "no host name error"; }
echo "ok wrong host name: $(grep -o 'TLS certificate of .*' "$T/name.init" | head -1)"

# ---- a host name that does not resolve: a clear error, no other address tried
nc_localnet_edit gateway1 's/^hostname = .*/hostname = "nonexistent.invalid"/'
rc=0
"$BIN/nym-client" init --id noname --home "$NC_HOME" --nym-apis "$NYM_API" --force-tls-gateway \
	>"$T/noname.init" 2>&1 || rc=$?
[ "$rc" != 0 ] || { cat "$T/noname.init"; fail "init with an unresolvable gateway name succeeded"; }
grep -q "(wss://nonexistent.invalid:$WSS_PORT): .*cannot resolve the host name" "$T/noname.init" ||
	{ cat "$T/noname.init"; fail "no resolution error"; }
echo "ok a gateway host name that does not resolve: $(grep -o 'last: .*' "$T/noname.init" | head -1)"

# ---- a wss port without a host name: Nym builds no wss URL from it
nc_localnet_edit gateway1 '/^hostname = /d'
rc=0
"$BIN/nym-client" init --id nohost --home "$NC_HOME" --nym-apis "$NYM_API" --force-tls-gateway \
	--gateway "$GATEWAY_ID_1" >"$T/nohost.init" 2>&1 || rc=$?
[ "$rc" != 0 ] || { cat "$T/nohost.init"; fail "wss forced without a host name"; }
grep -q "the specified gateway '$GATEWAY_ID_1' does not support the wss protocol" "$T/nohost.init" ||
	{ cat "$T/nohost.init"; fail "message for a gateway without a host name"; }
echo "ok --force-tls-gateway refuses a gateway that announces no host name"
echo PASS
