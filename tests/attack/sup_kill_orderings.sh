#!/usr/bin/env bash
# The supervisor under every ordering of child deaths and signals (issue 8, item 5). 100
# iterations on one localnet: start the suite, at a random point (during start-up, steady
# state, during the hand-over) kill a random child (SIGKILL, or SIGTERM, which the children
# ignore) and signal the supervisor (SIGTERM/SIGINT, sometimes twice, sometimes within a few
# ms of the child's death, before or after it, or not at all). Every time: no abort (the old
# code: "(libev) cannot allocate -32 bytes", rc 134) nor any death by a signal, an exit within
# 20 s, a non-zero status with a FAILED line when a child was SIGKILLed before the supervisor
# was signalled, 0 for a clean stop, no child left behind, an unsent file (if any) that
# parses. SEED=N reproduces a run; ITER=N changes the count. Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/attack/lib/sup.bash
. "$(dirname "$0")/lib/sup.bash"
SEED=${SEED:-$(( $(date +%s) % 32768 ))}
ITER=${ITER:-100}
echo "seed $SEED (SEED=$SEED reproduces)"
RANDOM=$SEED
sup_setup sup-kill-orderings

msleep() { sleep "$(printf '0.%03d' "$1")"; }
pick_kid() { sup_kids | awk -v n="$1" 'NR == n + 1 { print $1 }'; }

declare -A OUTCOMES
for it in $(seq "$ITER"); do
	when=$((RANDOM % 3))      # 0 start-up, 1 steady, 2 hand-over
	order=$((RANDOM % 4))     # 0 kid then sup, 1 sup then kid, 2 kid only, 3 sup only
	kidsig=$([ $((RANDOM % 3)) = 0 ] && echo TERM || echo KILL)
	supsig=$([ $((RANDOM % 2)) = 0 ] && echo TERM || echo INT)
	twice=$((RANDOM % 3 == 0))
	gap=$((RANDOM % 4 == 0 ? RANDOM % 5 : RANDOM % 400))   # ms between the two events
	which=$((RANDOM % 3))
	[ "$when" = 2 ] && order=1
	desc="it=$it when=$when order=$order kid#$which/SIG$kidsig sup/SIG$supsig twice=$twice gap=${gap}ms"
	sup_start
	case $when in
	0) msleep $((RANDOM % 300)) ;;
	1) sup_wait_ready 30 || true; msleep $((RANDOM % 500)) ;;
	2) sup_wait_ready 30 || true ;;
	esac
	mapfile -t KIDS < <(sup_kids | awk '{print $1}')
	kid=$(pick_kid "$which")
	killed_first=0
	sigsup() {
		kill "-$supsig" "$CPID" 2>/dev/null || true
		if [ "$twice" = 1 ]; then msleep $((RANDOM % 50)); kill "-$supsig" "$CPID" 2>/dev/null || true; fi
	}
	sigkid() {
		[ -n "$kid" ] || return 0
		# a zombie (already exited) cannot be killed: only a live child counts
		local st
		st=$(awk '{print $3}' "/proc/$kid/stat" 2>/dev/null || echo X)
		kill "-$kidsig" "$kid" 2>/dev/null || return 0
		[ "$kidsig" = KILL ] && [ "$st" != Z ] && [ "$st" != X ] && [ "$1" = first ] && killed_first=1
		return 0
	}
	case $order in
	0) sigkid first; msleep "$gap"; sigsup ;;
	1) sigsup; msleep "$gap"; sigkid second ;;
	2) sigkid first ;;
	3) sigsup ;;
	esac
	# a SIGTERM to a child alone changes nothing: stop the suite then
	if [ "$order" = 2 ] && [ "$kidsig" = TERM ]; then msleep 200; kill -TERM "$CPID" 2>/dev/null || true; fi
	sup_wait_exit 20
	run_log=$(sed -n '/^=== run/h; /^=== run/!H; ${x;p}' "$T/client.log")
	[ "$RC" != 999 ] || { kill -9 "$CPID"; fail "$desc: the supervisor did not exit within 20 s"; }
	[ "$RC" -lt 128 ] || fail "$desc: the supervisor died of a signal (status $RC)"
	grep -q "cannot allocate\|aborting" <<<"$run_log" && fail "$desc: libev abort"
	for k in "${KIDS[@]}"; do
		kill -0 "$k" 2>/dev/null && fail "$desc: child $k left behind"
	done
	case $RC in
	0) [ "$killed_first" = 0 ] || fail "$desc: a child was SIGKILLed, yet status 0"
	   grep -q "FAILED\|were lost" <<<"$run_log" && fail "$desc: status 0 with a failure line" ;;
	1) grep -q "supervisor\]: FAILED: " <<<"$run_log" || fail "$desc: status 1 without a FAILED line" ;;
	3) grep -q "but fragments were lost: " <<<"$run_log" || fail "$desc: status 3 without its reason" ;;
	*) fail "$desc: unexpected status $RC" ;;
	esac
	if [ "$kidsig" = TERM ] && [ "$order" != 3 ]; then
		grep -q "killed by signal 15" <<<"$run_log" && fail "$desc: a child died of SIGTERM"
	fi
	if [ -e "$UNSENT" ]; then sup_parse_unsent >/dev/null || fail "$desc: the unsent file does not parse"; fi
	[ -e "$UNSENT.new" ] && fail "$desc: $UNSENT.new left behind"
	[ -z "${VERBOSE:-}" ] || echo "$desc kid=$kid killed_first=$killed_first: status $RC"
	OUTCOMES[$RC]=$(( ${OUTCOMES[$RC]:-0} + 1 ))
done
echo "ok $ITER orderings: $(for k in "${!OUTCOMES[@]}"; do printf 'status %s x%s; ' "$k" "${OUTCOMES[$k]}"; done)no abort, no child left, every failure with its reason"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a localnet process died"
echo "PASS"
