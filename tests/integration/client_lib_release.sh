#!/usr/bin/env bash
# netd releases the pages of libcurl and the libraries it loaded (OpenSSL, GnuTLS, Kerberos
# ...) between topology fetches (netd/curl_dl.h: MADV_DONTNEED over text and read-only data
# that was never written), and every refresh after that still works:
#  - nym-client over a nym-api served with HTTPS (a throwaway CA, a small python3 TLS proxy),
#    topology refreshed every 4 s, netd sandboxed;
#  - netd's libcrypto text is sampled (/proc/PID/smaps): it must be seen released (0 kB
#    resident) after refreshes over TLS, and resident again later (the next fetch faulted it
#    back in), while the topology generation keeps growing with no failed refresh;
#  - a websocket self-send works after those refreshes;
#  - with NYMSUITE_NETD_KEEP_LIBRARY_PAGES set (the benchmark's baseline) nothing is released.
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
# shellcheck source=tests/integration/lib/pki.bash
. "$(dirname "$0")/lib/pki.bash"
PY=/usr/bin/python3
[ -x "$BIN/nym-client" ] || { echo "missing $BIN/nym-client (run make first)"; exit 1; }
command -v openssl >/dev/null || { echo "missing openssl"; exit 1; }
"$PY" -c 'import websockets' 2>/dev/null || { echo "missing python3-websockets"; exit 1; }

CPID='' PROXY=''
stop_client() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null || true
	CPID=
}
cleanup() {
	stop_client
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null || true
	localnet_cleanup
}
fail() {
	echo "FAIL: $*"
	tail -25 "$T/client.log" 2>/dev/null || true
	exit 1
}
localnet_up client-release
trap cleanup EXIT
H=$T/home

P=$T/pki
pki_make "$P" || fail "cannot make the test certificates"

"$PY" "$(dirname "$0")/lib/https_front.py" "$NYM_API" "$P/srv.pem" "$P/srv.key" "$T/proxy.port" "$T/proxy.log" 2>"$T/proxy.err" &
PROXY=$!
for _ in $(seq 100); do [ -f "$T/proxy.port" ] && break; sleep 0.05; done
[ -f "$T/proxy.port" ] || { cat "$T/proxy.err"; fail "the HTTPS proxy did not start"; }
API=https://127.0.0.1:$(cat "$T/proxy.port")/
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export NYMSUITE_CA_FILE=$P/ca.pem
"$BIN/nym-client" init --id t --home "$H" --nym-apis "$API" --port "$PORT" >"$T/init.out" 2>&1 ||
	{ cat "$T/init.out"; fail "init over https"; }
printf "\n[debug.topology]\ntopology_refresh_rate = '4s'\n" >>"$H/.nym/clients/t/config/config.toml"

netd_status() { PYTHONPATH="$(dirname "$0")/lib" "$PY" "$(dirname "$0")/lib/netd_status.py" "$H/.nym/clients/t/data/nymctl.sock"; }
generation() { netd_status 2>/dev/null | jq -r '.topology_generation // 0' 2>/dev/null || echo 0; }
netd_pid() {
	local p
	for p in $(cat "/proc/$CPID/task/$CPID/children" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- '--child netd' && { echo "$p"; return; }
	done
}
# kB resident of libcrypto's executable mapping in netd
crypto_text_kb() {
	awk '/ r-xp .*libcrypto\.so/ { on = 1; next } /^[0-9a-f]+-[0-9a-f]+ / { on = 0 }
		on && /^Rss:/ { kb += $2 } END { print kb + 0 }' "/proc/$1/smaps"
}
start_client() {
	"$BIN/nym-client" run --id t --home "$H" >"$T/client.log" 2>&1 &
	CPID=$!
	for _ in $(seq 300); do
		grep -q "netd ready" "$T/client.log" && N=$(netd_pid) && [ -n "$N" ] && return
		kill -0 "$CPID" 2>/dev/null || fail "the client stopped"
		sleep 0.1
	done
	fail "netd did not become ready"
}

# ---- released between fetches, back for each fetch
start_client
grep -q "released until the next fetch" "$T/client.log" || fail "netd released nothing at start"
released_after=0 resident_after=0 g=0
for _ in $(seq 600); do # 0.1 s apart, at most about 60 s on a loaded machine
	kb=$(crypto_text_kb "$N")
	g=$(generation)
	if [ "$g" -ge 3 ] && [ "$kb" = 0 ]; then released_after=$g; fi
	if [ "$released_after" -ge 3 ] && [ "$g" -gt "$released_after" ] && [ "$kb" -gt 0 ]; then resident_after=$g; fi
	[ "$resident_after" -gt 0 ] && [ "$g" -ge 5 ] && break
	sleep 0.1
done
[ "$released_after" -ge 3 ] || fail "libcrypto's text never released after refreshes (generation $g, $kb kB)"
[ "$resident_after" -gt 0 ] || fail "libcrypto's text never faulted back in by a later refresh (generation $g)"
ST=$(netd_status) || fail "no status"
jq -e '.topology_generation >= 5 and .topology_refresh_failures == 0 and .connected == true' \
	<<<"$ST" >/dev/null || fail "netd status after the refreshes: $ST"
timeout 45 "$PY" "$(dirname "$0")/lib/selfsend.py" "ws://127.0.0.1:$PORT" "after the refreshes" >"$T/app.out" 2>&1 ||
	{ cat "$T/app.out"; fail "self-send"; }
grep -qx "RECEIVED received after the refreshes" "$T/app.out" || { cat "$T/app.out"; fail "no received frame"; }
echo "ok released between fetches (seen at generation $released_after), back for the next one ($resident_after); $(jq -c '{topology_generation, topology_refresh_failures}' <<<"$ST"), self-send works"

# ---- the baseline switch keeps them
stop_client
NYMSUITE_NETD_KEEP_LIBRARY_PAGES=1 start_client
grep -q "released until the next fetch" "$T/client.log" && fail "released with NYMSUITE_NETD_KEEP_LIBRARY_PAGES"
sleep 3
kb=$(crypto_text_kb "$N")
[ "$kb" -gt 0 ] || fail "libcrypto's text not resident with NYMSUITE_NETD_KEEP_LIBRARY_PAGES"
echo "ok NYMSUITE_NETD_KEEP_LIBRARY_PAGES keeps them ($kb kB of libcrypto's text resident)"
