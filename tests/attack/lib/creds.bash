# Credentials of a running process, for the privsep attack scripts (source it after a lib that
# defines fail):
#   field PID NAME            a line of /proc/PID/status, without its name
#   check_creds WHAT PID UID  PID's real, effective, saved and fs uid and gid are all UID, no
#                             supplementary group, every capability set empty, NoNewPrivs 1,
#                             Seccomp 2; else fail naming WHAT
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }

check_creds() {
	local what=$1 pid=$2 want=$3 c
	[ -d "/proc/$pid" ] || fail "$what (pid $pid) is not running"
	[ "$(field "$pid" Uid | tr -s '\t ' ' ')" = "$want $want $want $want" ] ||
		fail "$what (pid $pid): Uid $(field "$pid" Uid), want $want"
	[ "$(field "$pid" Gid | tr -s '\t ' ' ')" = "$want $want $want $want" ] ||
		fail "$what (pid $pid): Gid $(field "$pid" Gid), want $want"
	[ -z "$(field "$pid" Groups)" ] || fail "$what: supplementary groups $(field "$pid" Groups)"
	for c in CapEff CapPrm CapBnd CapInh CapAmb; do
		[ "$(field "$pid" $c)" = 0000000000000000 ] || fail "$what: $c $(field "$pid" $c)"
	done
	[ "$(field "$pid" NoNewPrivs)" = 1 ] || fail "$what: NoNewPrivs $(field "$pid" NoNewPrivs)"
	[ "$(field "$pid" Seccomp)" = 2 ] || fail "$what: Seccomp $(field "$pid" Seccomp)"
}
