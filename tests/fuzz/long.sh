#!/usr/bin/env bash
# make fuzz-long: every libFuzzer target (or those named) run to FUZZ_RUNS executions
# (default 10^7), FUZZ_JOBS targets at a time (default: one per core). Each starts from its
# seeds (tests/fuzz/seeds/NAME) and the corpus kept in the repo (tests/fuzz/corpus/NAME);
# afterwards the inputs that found new coverage are merged into the kept corpus (libFuzzer
# -merge=1, so it stays minimal). Prints one line per target with its execution count and
# ends with a table; a crash keeps its reproducer under $FUZZ_BUILD/long/NAME/ and fails (a
# target stopped from outside is STOPPED, with the count it reached). A target's extra libFuzzer
# flags, if any, are in tests/fuzz/NAME.options (one line, e.g. -max_len=512).
set -u
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_RUNS=${FUZZ_RUNS:-10000000}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT=$FUZZ_BUILD/long
mkdir -p "$OUT"

one() { # NAME: run it, merge its finds, write OUT/NAME.result "NAME RUNS SECONDS STATUS"
	local n=$1 f=$FUZZ_BUILD/$1 seeds=tests/fuzz/seeds/$1 kept=tests/fuzz/corpus/$1
	local work=$OUT/$n/work start rc runs opts=
	[ -f "tests/fuzz/$n.options" ] && read -r opts <"tests/fuzz/$n.options"
	mkdir -p "$work" "$kept"
	[ -d "$seeds" ] || seeds=
	start=$(date +%s)
	(cd "$OUT/$n" && "$OLDPWD/$f" -runs="$FUZZ_RUNS" -print_final_stats=1 -artifact_prefix=./ $opts \
		work "$OLDPWD/$kept" ${seeds:+"$OLDPWD/$seeds"}) >"$OUT/$n.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$n.log" | tail -1)
	if [ $rc = 0 ]; then
		"$f" -merge=1 "$kept" "$work" >"$OUT/$n.merge.log" 2>&1 || rc=$?
	fi
	# a finding leaves its reproducer (crash-, leak-, timeout-, oom-); else it was stopped
	local res=ok
	if [ $rc != 0 ]; then
		res=STOPPED
		for kind in crash leak timeout oom; do
			compgen -G "$OUT/$n/$kind-*" >/dev/null && res=CRASH
		done
	fi
	echo "$n ${runs:-0} $(($(date +%s) - start)) $res" |
		tee "$OUT/$n.result"
}
export -f one
export FUZZ_BUILD FUZZ_RUNS OUT

if [ $# -gt 0 ]; then names=("$@"); else
	names=()
	for f in "$FUZZ_BUILD"/fuzz_*; do [ -x "$f" ] && names+=("$(basename "$f")"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "no fuzz targets in $FUZZ_BUILD (make fuzz-build)"; exit 1; }
printf '%s\n' "${names[@]}" | xargs -P "$FUZZ_JOBS" -I{} bash -c 'one {}'

bad=0
printf '\n%-26s %14s %8s %s\n' target executions seconds result
for n in "${names[@]}"; do
	read -r _ runs secs res <"$OUT/$n.result" || { runs=0 secs=0 res=MISSING; }
	printf '%-26s %14s %8s %s\n' "$n" "$runs" "$secs" "$res"
	[ "$res" = ok ] && [ "$runs" -ge "$FUZZ_RUNS" ] || bad=1
done
[ $bad = 0 ] || { echo "fuzz-long: a target crashed, was stopped or ran short"; exit 1; }
