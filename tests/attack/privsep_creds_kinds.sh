#!/usr/bin/env bash
# Credentials per program. Started as root side by side on one localnet, nym-client,
# nym-socks5-client and nym-network-requester each run keyd, netd and their front (apid,
# socksd, exitd) under privsep_uid_base + 3 x program + role: nym-client base+0..2,
# nym-socks5-client base+3..5, nym-network-requester base+6..8 (real, effective, saved and
# filesystem uid and gid, from /proc/PID/status), no supplementary group, every capability set
# empty, NoNewPrivs 1, Seccomp 2; the nine uids are distinct, so the NR's exit process (the
# one that opens connections for strangers) shares its uid with no client front, nor with the
# localnet's own requester's keyd or netd. privsep_creds.sh attacks nym-client's processes
# through these uids. Exit 0 = safe. Needs root.
set -euo pipefail
# shellcheck source=tests/integration/lib/netreq.bash
. "$(dirname "$0")/../integration/lib/netreq.bash"
# shellcheck source=tests/attack/lib/creds.bash
. "$(dirname "$0")/lib/creds.bash"
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 0; }
nr_setup privsep-creds-kinds
[ -x "$BIN/nym-socks5-client" ] || fail "missing $BIN/nym-socks5-client"
BASE=1853423616 # CLIENTCONF_PRIVSEP_UID_BASE

# children LOG: waits until the supervisor logging to LOG has three sandboxed children, prints
# "KEYD NETD FRONT" (the pids of its "started keyd K, netd N, FRONT F" line)
children() {
	local end=$((SECONDS + 60)) ready
	while ready=$(grep -c ' ready (sandboxed: yes)' "$1" 2>/dev/null || true); [ "${ready:-0}" -lt 3 ]; do
		[ $SECONDS -lt $end ] || fail "$1: the children did not become ready"
		sleep 0.2
	done
	sed -n 's/.*started keyd \([0-9]*\), netd \([0-9]*\), [a-z]* \([0-9]*\).*/\1 \2 \3/p' "$1" | tail -1
}
# check_program NAME LOG KIND FRONT: the three children of the program logging to LOG run as
# BASE + 3 x KIND + 0/1/2; records their uids in UIDS[NAME-ROLE]
declare -A UIDS
check_program() {
	local name=$1 log=$2 kind=$3 front=$4 pids role i=0 roles=(keyd netd "$4")
	pids=$(children "$log")
	[ -n "$pids" ] || fail "$name: no 'started keyd' line in $log"
	grep -q "started keyd [0-9]*, netd [0-9]*, $front [0-9]*" "$log" || fail "$name: no $front started"
	for pid in $pids; do
		role=${roles[$i]}
		check_creds "$name $role" "$pid" $((BASE + 3 * kind + i))
		UIDS[$name-$role]=$((BASE + 3 * kind + i))
		i=$((i + 1))
	done
	echo "ok $name: keyd, netd, $front run as $((BASE + 3 * kind))..$((BASE + 3 * kind + 2)) (uid and gid: real, effective, saved, fs), no group, no capability, NoNewPrivs 1, Seccomp 2"
}

# the network requester (kind 2)
nr_init x
printf 'ExitPolicy accept 127.0.0.1:*\nExitPolicy reject *:*\n' >"$T/policy.txt"
nr_set x nymsuite exit_policy_file "\"$T/policy.txt\""
nr_run x
check_program nym-network-requester "$T/nr-x.log" 2 exitd
[ "$(nr_exitd x)" = "$(children "$T/nr-x.log" | cut -d' ' -f3)" ] || fail "exitd is not the logged front"

# the SOCKS client (kind 1) with that requester as its provider
SPORT=$(nc_free_port)
"$BIN/nym-socks5-client" init --id s --home "$NC_HOME" --nym-apis "$NYM_API" --provider "${NR_ADDR[x]}" \
	--port "$SPORT" >"$T/s.init" 2>&1 || { cat "$T/s.init"; fail "nym-socks5-client init"; }
"$BIN/nym-socks5-client" run --id s --home "$NC_HOME" >>"$T/s.log" 2>&1 &
NC_PID[s]=$!
check_program nym-socks5-client "$T/s.log" 1 socksd

# nym-client (kind 0)
nc_init c
nc_run c
check_program nym-client "$T/c.log" 0 apid

# nine distinct uids; the exit process shares none, not even with the localnet's requester
n=$(printf '%s\n' "${UIDS[@]}" | sort -u | wc -l)
[ "$n" = 9 ] || fail "the three programs' children use $n distinct uids, want 9"
EXIT_UID=${UIDS[nym-network-requester-exitd]}
for front in nym-client-apid nym-socks5-client-socksd; do
	[ "${UIDS[$front]}" != "$EXIT_UID" ] || fail "exitd shares uid $EXIT_UID with $front"
done
LNR=$(cat "$T/net/run/network-requester.pid" 2>/dev/null || true)
if [ -n "$LNR" ] && [ -d "/proc/$LNR" ]; then
	for pid in $(pgrep -P "$LNR"); do
		u=$(field "$pid" Uid | awk '{print $1}')
		case $(tr '\0' ' ' <"/proc/$pid/cmdline") in
		*exitd*) [ "$u" = "$EXIT_UID" ] || fail "the localnet's exitd runs as $u, want $EXIT_UID" ;;
		*) [ "$u" != "$EXIT_UID" ] || fail "a child of the localnet's requester other than exitd runs as exitd's uid" ;;
		esac
	done
	echo "ok the localnet's requester: its exitd runs as $EXIT_UID too, its keyd and netd not"
fi
echo "ok nine distinct uids; exitd ($EXIT_UID) shares none with apid (${UIDS[nym-client-apid]}) or socksd (${UIDS[nym-socks5-client-socksd]})"

# a working path through those processes: curl through the SOCKS client and the requester
WWW=$T/www
mkdir -p "$WWW"
head -c 100000 /dev/urandom >"$WWW/f.bin"
www_start "$WWW" "$T/www.log"
NC_APP_PID[www]=$WWW_PID
for _ in $(seq 100); do grep -qs "Client startup finished" "$T/s.log" && break; sleep 0.1; done
got=$(curl -sS -m 120 --socks5-hostname "127.0.0.1:$SPORT" "http://127.0.0.1:$WWW_PORT/f.bin" |
	sha256sum | cut -d' ' -f1) || fail "curl through the SOCKS client"
[ "$got" = "$(sha256sum <"$WWW/f.bin" | cut -d' ' -f1)" ] || fail "the download differs"
echo "ok 100 KB through socksd ($((BASE + 5))) and exitd ($EXIT_UID), byte-identical"
for id in s c nr-x; do
	nc_stop "$id"
	[ "$NC_STATUS" = 0 ] || fail "$id: stop status $NC_STATUS"
done
echo PASS
