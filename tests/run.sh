#!/usr/bin/env bash
# Runs the whole suite and ends with one line "N passed, N failed".
#   unit tests (cmocka, counted per test case), the known-answer checks (per item),
#   a short libFuzzer smoke run of each target, and tests/{integration,interop}/*.sh
#   (one test each; exit 0 = pass).
set -u
BUILD=${BUILD:-build}
VECTORS=${VECTORS:-tests/vectors/real-client-packets.json}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-3}
LOG=$BUILD/test-logs
mkdir -p "$LOG"
pass=0 fail=0

count_cmocka() { # file -> adds to pass/fail; returns 1 if no summary was found
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]\+\) test.*/\1/p' "$1" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]\+\) test.*/\1/p' "$1" | tail -1)
	[ -n "$p" ] || return 1
	pass=$((pass + p)); fail=$((fail + ${f:-0}))
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$LOG/$n.log" 2>&1
	rc=$?
	if ! count_cmocka "$LOG/$n.log"; then
		echo "FAIL $n: no summary (exit $rc)"; tail -5 "$LOG/$n.log"; fail=$((fail + 1)); continue
	fi
	if [ $rc != 0 ]; then
		grep -E '^\[  (FAILED|  ERROR) \]|^\[  ERROR|Assertion|error:' "$LOG/$n.log" | head -10
		grep -q '^\[  FAILED  \]' "$LOG/$n.log" || fail=$((fail + 1))
		echo "FAIL $n (exit $rc)"
	else
		echo "ok   $n"
	fi
done

echo "== known-answer vectors ($VECTORS)"
"$BUILD"/kat "$VECTORS" >"$LOG/kat.log" 2>&1
cat "$LOG/kat.log" | grep -v '^[0-9]* passed, [0-9]* failed$'
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG/kat.log" | tail -1)
if [ -n "$line" ]; then
	pass=$((pass + ${line%% passed*})); f=${line#*, }; fail=$((fail + ${f%% failed}))
else
	echo "FAIL kat: no summary"; fail=$((fail + 1))
fi

if [ -z "${NO_FUZZ:-}" ]; then
	echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS}s each)"
	for f in "${FUZZ_BUILD:-build/fuzz}"/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f"); seeds=tests/fuzz/seeds/$n; corpus=${FUZZ_BUILD:-build/fuzz}/corpus/$n
		kept=tests/fuzz/corpus/$n
		mkdir -p "$corpus"; [ -d "$seeds" ] || seeds=; [ -d "$kept" ] || kept=
		if "$f" -max_total_time="$FUZZ_SMOKE_SECONDS" -print_final_stats=1 "$corpus" $kept $seeds \
			>"$LOG/$n.log" 2>&1; then
			echo "ok   $n ($(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG/$n.log") runs)"
			pass=$((pass + 1))
		else
			echo "FAIL $n"; grep -E 'ERROR|SUMMARY' "$LOG/$n.log" | head -5; fail=$((fail + 1))
		fi
	done
fi

for dir in tests/integration tests/attack tests/interop; do
	ls "$dir"/*.sh >/dev/null 2>&1 || continue
	echo "== $dir"
	for s in "$dir"/*.sh; do
		n=$(basename "$s" .sh)
		# a hung test must not hang the suite: each gets TEST_TIMEOUT seconds, then timeout
		# signals its whole process group
		rc=0
		BUILD=$BUILD timeout -k 10 "${TEST_TIMEOUT:-600}" bash "$s" >"$LOG/$n.log" 2>&1 || rc=$?
		if [ "$rc" = 0 ]; then
			echo "ok   $n"; pass=$((pass + 1))
		else
			[ "$rc" = 124 ] && echo "(timed out after ${TEST_TIMEOUT:-600} s)" >>"$LOG/$n.log"
			# the test's own verdict first: its log tails can push it out of the last lines
			echo "FAIL $n"; grep -m 3 '^FAIL' "$LOG/$n.log"; tail -15 "$LOG/$n.log"; fail=$((fail + 1))
		fi
	done
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
