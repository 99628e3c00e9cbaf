#!/usr/bin/env bash
# Hostile files and folders around a client, checked by `run` before any child starts (as
# OpenSSH checks its keys): a FIFO as keys.ack_key_file makes run exit at once, non-zero,
# naming the file (it used to hang keyd for ever); a key file 0644, a key file owned by another
# uid, a symlinked key file and a 0777 data folder are refused with the reason; host 0.0.0.0
# gives a warning line; listening_port 0 logs the port the kernel chose. Exit 0 = safe.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/../integration/lib/nymclient.bash"
nc_setup keyfile-checks
nc_init k
D=$NC_HOME/.nym/clients/k/data
CONF=$(nc_config k)

# run_refused NAME PATTERN: run must exit non-zero within 20 s, its output matching PATTERN
run_refused() {
	local rc=0
	timeout 20 "$BIN/nym-client" run --id k --home "$NC_HOME" >"$T/$1.out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || { cat "$T/$1.out"; fail "$1: run hung (killed by timeout)"; }
	[ "$rc" != 0 ] || { cat "$T/$1.out"; fail "$1: run accepted it"; }
	grep -q -- "$2" "$T/$1.out" || { cat "$T/$1.out"; fail "$1: no reason matching '$2'"; }
	echo "ok $1: refused ($(grep -m1 -- "$2" "$T/$1.out"))"
}

cp -p "$D/ack_key.pem" "$T/ack.saved"
rm "$D/ack_key.pem"; mkfifo -m 600 "$D/ack_key.pem"
run_refused fifo "ack_key.pem: a FIFO, not a regular file"
rm "$D/ack_key.pem"; cp -p "$T/ack.saved" "$D/ack_key.pem"

chmod 644 "$D/private_identity.pem"
run_refused mode644 "private_identity.pem: mode 0644 is readable by others; chmod 600"
chmod 600 "$D/private_identity.pem"

if [ "$(id -u)" = 0 ]; then
	chown 4242:4242 "$D/private_encryption.pem"
	run_refused owner "private_encryption.pem: owned by uid 4242"
	chown 0:0 "$D/private_encryption.pem"
else
	echo "skip owner: needs root for chown"
fi

mv "$D/ack_key.pem" "$T/ack_key.pem"; ln -s "$T/ack_key.pem" "$D/ack_key.pem"
run_refused symlink "ack_key.pem: a symbolic link (refused)"
rm "$D/ack_key.pem"; mv "$T/ack_key.pem" "$D/ack_key.pem"

chmod 777 "$D"
run_refused datadir777 "data: mode 0777 is writable by others; chmod 700"
chmod 700 "$D"

# host 0.0.0.0 and port 0: starts, warns, logs the real port
sed -i -e "s/^host = .*/host = '0.0.0.0'/" -e "s/^listening_port = .*/listening_port = 0/" "$CONF"
nc_run k
end=$((SECONDS + 30))
until grep -q "websocket API on ws://" "$NC_DIR/k.log" 2>/dev/null; do
	[ $SECONDS -lt $end ] && kill -0 "${NC_PID[k]}" 2>/dev/null || fail "run did not start with host 0.0.0.0"
	sleep 0.2
done
grep -q "warning: the websocket API (host = \"0.0.0.0\") is listening on every interface" "$NC_DIR/k.log" ||
	fail "no warning for host 0.0.0.0"
line=$(grep -m1 "websocket API on ws://" "$NC_DIR/k.log")
port=${line##*:}
[ "$port" != 0 ] && [ "$port" -gt 0 ] || fail "port 0 logged as: $line"
"$NC_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)' "$port" ||
	fail "nothing listens on the logged port $port"
nc_stop k
echo "ok host 0.0.0.0 warned, port 0 logged as the bound port ($port)"
echo PASS
