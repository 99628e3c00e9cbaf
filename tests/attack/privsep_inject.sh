#!/usr/bin/env bash
# Code injected into netd, apid or keyd, debugger-free: `nym-client --test-probe` (probe.c)
# loads the client's configuration and confines itself through nc_confine(), the very
# function each role calls (same uid drop, Landlock, seccomp), then attacks the running keyd:
# open the private key file, open /proc/KEYD/mem, PTRACE_ATTACH, PTRACE_SEIZE,
# process_vm_readv, kill(keyd, 0), open a file for writing, a TCP connect to a port netd never
# uses, and reads /etc/passwd and /etc/hosts. Each attack must fail with the errno (or the
# SIGSYS kill) asserted below, with the full confinement ("all") and with the credentials and
# Landlock alone ("noseccomp": a seccomp hole must not be enough). Run as root (the
# unprivileged case is tests/attack/privsep_creds.sh's). Exit 0 = safe.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/../integration/lib/nymclient.bash"
nc_setup privsep-inject
nc_init v
nc_run v
end=$((SECONDS + 40))
# the log may not exist yet (the shell that starts the client opens it): that counts as 0
ready_count() { local n; n=$(grep -c ' ready (sandboxed: yes)' "$NC_DIR/v.log" 2>/dev/null) || :; echo "${n:-0}"; }
while [ "$(ready_count)" -lt 3 ]; do
	[ $SECONDS -lt $end ] || fail "the suite did not become ready"
	sleep 0.2
done
KEYD=$(sed -n 's/.*started keyd \([0-9]*\),.*/\1/p' "$NC_DIR/v.log" | head -1)
ABI=$(sed -n 's/.*netd.*confined: .*Landlock ABI \([0-9]*\).*/\1/p' "$NC_DIR/v.log" | head -1)
[ -n "$ABI" ] || fail "netd runs without Landlock: this test needs it"

# probe ROLE LAYERS OP EXPECT [AS]: EXPECT = "ok", an errno name, or SIGSYS
probe() {
	local out rc=0 got
	out=$("${@:5}" "$BIN/nym-client" --test-probe v "$NC_HOME" "$1" "$2" "$3" "$KEYD" 2>&1) || rc=$?
	if [ "$rc" = $((128 + 31)) ]; then got=SIGSYS
	else got=$(sed -n "s/^probe $1 $3: //p" <<<"$out"); fi
	[ "$got" = "$4" ] || fail "$1 ($2) $3: got '${got:-exit $rc: $out}', want $4"
	kill -0 "$KEYD" || fail "keyd died after $1 $3"
	printf '%s ' "$3=$got"
}

# With every layer: the filter kills what it has no row for, Landlock refuses the rest.
for role in netd apid keyd; do
	printf 'ok %s (all layers): ' "$role"
	if [ $role = netd ]; then
		probe netd all open-key EACCES
		probe netd all open-mem EACCES
		probe netd all open-passwd EACCES
		probe netd all open-hosts ok
		probe netd all connect EACCES
		probe netd all open-write SIGSYS
	else
		for op in open-key open-mem open-write connect; do probe $role all $op SIGSYS; done
	fi
	for op in ptrace seize vm-read kill; do probe $role all $op SIGSYS; done
	echo
done

# Credentials and Landlock alone (as if a seccomp row were wrong): still nothing of keyd's.
for role in netd apid; do
	printf 'ok %s (uid + Landlock, no seccomp): ' "$role"
	probe $role noseccomp open-key EACCES
	probe $role noseccomp open-mem EACCES
	probe $role noseccomp open-write EACCES
	probe $role noseccomp ptrace EPERM
	probe $role noseccomp seize EPERM
	probe $role noseccomp vm-read EPERM
	probe $role noseccomp kill EPERM
	[ $role = netd ] && probe netd noseccomp open-hosts ok
	[ $role = apid ] && probe apid noseccomp connect EACCES
	echo
done
[ ! -e "$NC_HOME/.nym/clients/v/data/probe-written" ] || fail "a probe created a file"
nc_stop v
[ "$NC_STATUS" = 0 ] || fail "the suite was disturbed (status $NC_STATUS)"
echo PASS
