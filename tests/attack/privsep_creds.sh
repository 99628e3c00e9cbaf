#!/usr/bin/env bash
# Credentials of the running suite. As root: keyd, netd and apid each run under their own
# non-zero uid and gid (privsep_uid_base + 0/1/2) with empty CapEff/CapPrm/CapBnd,
# NoNewPrivs 1 and Seccomp 2, each of keyd's threads too (keyd_workers 0: one builder thread
# per online core but one); keyd's /proc/PID/mem cannot be read by a process of netd's uid
# nor of keyd's own uid, and ptrace (a python attach and gdb -p) from keyd's uid fails; apid's
# socket files are removed after the stop. As an unprivileged user (65534, scratch home it
# owns): the children are non-dumpable, so a process of the same uid can neither read keyd's
# memory nor attach to it. Exit 0 = safe. Needs root (setpriv).
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/../integration/lib/nymclient.bash"
# shellcheck source=tests/attack/lib/creds.bash
. "$(dirname "$0")/lib/creds.bash"
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 0; }
command -v setpriv >/dev/null || { echo "missing setpriv (util-linux)"; exit 1; }
nc_setup privsep-creds
BASE=1853423616 # CLIENTCONF_PRIVSEP_UID_BASE

# pids ID: waits until the three children are ready, sets KEYD NETD APID
pids() {
	local log=$NC_DIR/$1.log end=$((SECONDS + 40)) line ready
	# the log may not exist yet: the background job opens it
	while ready=$(grep -c ' ready (sandboxed: yes)' "$log" 2>/dev/null || true); [ "${ready:-0}" -lt 3 ]; do
		[ $SECONDS -lt $end ] || fail "$1: the children did not become ready"
		sleep 0.2
	done
	line=$(grep -m1 'started keyd' "$log")
	read -r KEYD NETD APID < <(sed -n 's/.*started keyd \([0-9]*\), netd \([0-9]*\), apid \([0-9]*\).*/\1 \2 \3/p' <<<"$line")
}
# as UID, try to read one byte of keyd's memory at its heap; 0 if it could
read_mem() {
	local addr
	addr=$(sed -n 's/^\([0-9a-f]*\)-.*\[heap\].*/\1/p' "/proc/$KEYD/maps" | head -1)
	setpriv --reuid="$1" --regid="$1" --clear-groups \
		dd if="/proc/$KEYD/mem" of=/dev/null bs=1 count=1 skip=$((16#${addr:-10000})) status=none 2>"$T/dd.err"
}
attach() { # as UID, PTRACE_ATTACH to keyd: prints the errno (0 = attached)
	setpriv --reuid="$1" --regid="$1" --clear-groups "$NC_PY" -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, int(sys.argv[1]), 0, 0)
print(0 if r == 0 else ctypes.get_errno())' "$KEYD"
}

nc_init r
nc_run r
pids r
i=0
for pid in "$KEYD" "$NETD" "$APID"; do
	check_creds "child $i" "$pid" $((BASE + i))
	i=$((i + 1))
done
CORES=$(nproc); [ "$CORES" -le 64 ] || CORES=64 # the CPUs keyd may run on
[ "$(tasks "$KEYD")" = "$CORES" ] || fail "keyd has $(tasks "$KEYD") threads, want $CORES (one per core)"
echo "ok as root: keyd, netd, apid run as uid/gid $BASE, $((BASE + 1)), $((BASE + 2)), no capability (effective, permitted, bounding, inheritable, ambient), NoNewPrivs 1, Seccomp 2 (keyd: each of its $CORES threads)"
read_mem $((BASE + 1)) && fail "netd's uid read keyd's memory"
read_mem "$BASE" && fail "keyd's own uid read keyd's memory"
grep -q "Permission denied\|Operation not permitted" "$T/dd.err" || { cat "$T/dd.err"; fail "unexpected dd error"; }
[ "$(attach "$BASE")" = 1 ] || fail "PTRACE_ATTACH to keyd from keyd's uid did not fail with EPERM"
setpriv --reuid="$BASE" --regid="$BASE" --clear-groups timeout 30 gdb -nx -batch -p "$KEYD" \
	-ex 'info registers rip' >"$T/gdb.out" 2>&1 || true
grep -q "ptrace: Operation not permitted" "$T/gdb.out" || { cat "$T/gdb.out"; fail "gdb -p keyd from keyd's uid"; }
kill -0 "$KEYD" || fail "keyd died"
echo "ok as root: keyd's memory unreadable from netd's uid and its own (dd: $(head -c 60 "$T/dd.err")), ptrace and gdb -p refused"
D=$NC_HOME/.nym/clients/r/data
nc_stop r
[ "$NC_STATUS" = 0 ] || fail "stop status $NC_STATUS"
[ ! -e "$D/nym-client.sock" ] && [ ! -e "$D/nymctl.sock" ] || fail "apid's sockets left behind"
echo "ok apid's socket files removed by the supervisor after the stop"

# as nobody (65534) with a home it owns: same uid, but non-dumpable children
U=65534
chmod 711 "$T"
H2=$T/nobody
mkdir -m 700 "$H2"; chown "$U:$U" "$H2"
asu() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
port=$(nc_free_port)
asu env HOME="$H2" "$BIN/nym-client" init --id n --home "$H2" --nym-apis "$NYM_API" --port "$port" \
	>"$NC_DIR/n.init" 2>&1 || { cat "$NC_DIR/n.init"; fail "init as $U"; }
setpriv --reuid=$U --regid=$U --clear-groups env HOME="$H2" "$BIN/nym-client" run --id n \
	--home "$H2" >>"$NC_DIR/n.log" 2>&1 & # not through asu: nc_stop signals this pid
NC_PID[n]=$!
pids n
[ "$(field "$KEYD" Uid | awk '{print $1}')" = $U ] || fail "keyd does not run as $U"
grep -q "keyd.*confined: uid $U (not root: non-dumpable only), Landlock" "$NC_DIR/n.log" ||
	fail "keyd not confined as expected"
read_mem $U && fail "a process of the same uid read keyd's memory"
[ "$(attach $U)" = 1 ] || fail "PTRACE_ATTACH to keyd from the same uid did not fail with EPERM"
asu "$NC_PY" -c 'import sys; open(f"/proc/{sys.argv[1]}/mem","rb")' "$NETD" 2>/dev/null &&
	fail "netd's memory opened by the same uid"
nc_stop n
[ "$NC_STATUS" = 0 ] || fail "stop status $NC_STATUS as $U"
[ ! -e "$H2/.nym/clients/n/data/nym-client.sock" ] || fail "socket left behind as $U"
echo "ok as uid $U: children non-dumpable, keyd's memory unreadable and ptrace refused from the same uid"
echo PASS
