# shellcheck disable=SC2034 # (WWW_* and HOLD_* are read by the callers)
# Local servers for the tests that send connections through a network requester (nr_*.sh,
# tests/interop/mixfetch_nr.sh). They only ever listen on loopback. Source it, then:
#   www_start DIR LOG [ADDR]   python3's http.server serving DIR on ADDR (127.0.0.1) at a
#                              kernel-chosen port; WWW_PID set at once (the caller stops it),
#                              WWW_PORT once it listens (empty if it does not within 5 s)
#   hold_start LOG [ADDR]      a server that accepts every connection, never reads and never
#                              answers (tiny receive buffer), and writes "accepted N" to LOG for
#                              the N-th connection; HOLD_PID and HOLD_PORT as above
#   hold_accepted LOG          how many connections it has accepted so far
WWW_PY=/usr/bin/python3

# www_wait_port LOG: the port a server wrote to LOG (5 s at most)
www_wait_port() {
	local port
	for _ in $(seq 50); do
		port=$(sed -n -e 's/.*Serving HTTP on .* port \([0-9]*\).*/\1/p' \
			-e 's/^listening \([0-9]*\)$/\1/p' "$1" 2>/dev/null | head -1)
		[ -n "$port" ] && { echo "$port"; return 0; }
		sleep 0.1
	done
	return 1
}

www_start() {
	"$WWW_PY" -u -m http.server --bind "${3:-127.0.0.1}" --directory "$1" 0 >"$2" 2>&1 &
	WWW_PID=$!
	WWW_PORT=$(www_wait_port "$2") || WWW_PORT=
}

hold_start() {
	"$WWW_PY" -u - "${2:-127.0.0.1}" >"$1" 2>&1 <<'PY' &
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind((addr, 0))
s.listen(64)
print("listening", s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    print("accepted", len(held), flush=True)
PY
	HOLD_PID=$!
	HOLD_PORT=$(www_wait_port "$1") || HOLD_PORT=
}

hold_accepted() {
	grep -c '^accepted ' "$1" 2>/dev/null || true
}
