# Credentials of a running process, for the privsep attack scripts (source it after a lib that
# defines fail):
#   field PID NAME            a line of /proc/PID/status, without its name
#   check_creds WHAT PID UID  PID's real, effective, saved and fs uid and gid are all UID, no
#                             supplementary group, every capability set empty, NoNewPrivs 1,
#                             Seccomp 2; else fail naming WHAT. Every thread of PID
#                             (/proc/PID/task/*: keyd's builder threads) is checked the same way
#   tasks PID                 the number of threads of PID
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
tasks() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 | wc -l; }

check_creds() {
	local what=$1 pid=$2 want=$3 task
	[ -d "/proc/$pid" ] || fail "$what (pid $pid) is not running"
	for task in "/proc/$pid"/task/*; do
		check_task_creds "$what" "$pid/task/${task##*/}" "$want"
	done
}

# check_task_creds WHAT PID[/task/TID] UID: check_creds for one task
check_task_creds() {
	local what=$1 pid=$2 want=$3 c
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
