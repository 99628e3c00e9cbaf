#!/usr/bin/env bash
# The privilege-separated suite under glibc's malloc variants, as OpenSSH's regress suite runs
# its privsep tests: each variant is exported to `nym-client run` (so the supervisor, keyd, netd
# and apid all run under it, inside their sandboxes), and one app does a full round on the
# localnet: a 30 KB message to itself (many fragments, acks), an anonymous message with reply
# SURBs and a 20 KB reply through them; then SIGTERM. Each variant must give the same bytes, a
# clean exit 0 and no sandbox violation or malloc complaint in the log:
#   perturb      MALLOC_PERTURB_: freshly allocated and freed memory filled with a pattern
#   notcache     GLIBC_TUNABLES: no tcache, perturbation through the tunable
#   mmap-trim    every block over 4 KiB mmap'd, the heap trimmed at once, one arena (the
#                sandboxes' mmap/munmap/brk/madvise rows under churn)
#   check        libc_malloc_debug with glibc.malloc.check=3 (heap consistency checks, abort on
#                corruption), as MALLOC_CHECK_=3 did before glibc 2.34
# Exit 0 = pass.
set -euo pipefail
# shellcheck source=tests/integration/lib/nymclient.bash
. "$(dirname "$0")/../integration/lib/nymclient.bash"
nc_setup privsep-malloc
nc_init m
DEBUG_LIB=$(ls /usr/lib/*/libc_malloc_debug.so.0 2>/dev/null | head -1)
[ -n "$DEBUG_LIB" ] || fail "glibc's libc_malloc_debug.so.0 is missing"

variants=(
	"perturb|MALLOC_PERTURB_=165"
	"notcache|GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.perturb=90"
	"mmap-trim|GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096:glibc.malloc.trim_threshold=0:glibc.malloc.arena_max=1"
	"check|LD_PRELOAD=$DEBUG_LIB GLIBC_TUNABLES=glibc.malloc.check=3"
)

round() { # NAME "VAR=VALUE ...": one run of the suite under the variant
	local name=$1 vars=$2 log=$NC_DIR/m.log a=app-$1 ev tag before
	touch "$log"
	before=$(wc -l <"$log")
	# shellcheck disable=SC2086 # (the variant's assignments are words)
	(export $vars; exec "$BIN/nym-client" run --id m --home "$NC_HOME" >>"$log" 2>&1) &
	NC_PID[m]=$!
	nc_app "$a" m
	nc_ready "$a" 60 >/dev/null || fail "$name: the app never got the client's address"
	# the variant reached the three sandboxed children (and libc_malloc_debug is mapped in them)
	local kids k var
	kids=$(pgrep -P "${NC_PID[m]}" | xargs)
	[ "$(wc -w <<<"$kids")" = 3 ] || fail "$name: expected 3 children of the supervisor, got '$kids'"
	for k in $kids; do
		for var in $vars; do
			# (glibc cuts GLIBC_TUNABLES at its first ':' in the process's own copy once parsed)
			tr '\0' '\n' <"/proc/$k/environ" | grep -qF "${var%%:*}" || fail "$name: child $k runs without $var"
		done
		case $vars in LD_PRELOAD=*) grep -q libc_malloc_debug "/proc/$k/maps" ||
			fail "$name: libc_malloc_debug is not mapped in child $k";; esac
	done
	nc_cmd "$a" "send self 30000 $name"
	nc_cmd "$a" "wait 1 60000"
	ev=$(nc_event "$a" '.event=="wait"' 70) || fail "$name: no wait result"
	[ "$(jq -r .ok <<<"$ev")" = true ] || fail "$name: the 30 KB message did not arrive: $ev"
	nc_event "$a" ".event==\"received\" and .len==30000 and .sha256==\"$(nc_payload_sha256 30000 "$name")\"" 5 \
		>/dev/null || fail "$name: the 30 KB message arrived altered"
	nc_cmd "$a" "sendanon self 100 5 anon-$name"
	ev=$(nc_event "$a" '.event=="received" and .len==100 and .sender_tag != null' 60) ||
		fail "$name: the anonymous message did not arrive"
	tag=$(jq -r .sender_tag <<<"$ev")
	nc_cmd "$a" "reply $tag 20000 reply-$name"
	nc_event "$a" ".event==\"received\" and .len==20000 and .sha256==\"$(nc_payload_sha256 20000 "reply-$name")\"" 90 \
		>/dev/null || fail "$name: the reply did not arrive"
	nc_app_stop "$a"
	nc_stop m
	[ "$NC_STATUS" = 0 ] || fail "$name: the suite exited with status $NC_STATUS"
	if tail -n +"$((before + 1))" "$log" | grep -E 'blocked syscall|killed by signal|malloc\(\)|free\(\)|double free|corrupted|FAILED:'; then
		fail "$name: the log shows a fault"
	fi
	echo "ok $name ($vars): 30 KB self-send, anonymous message and 20 KB reply, clean stop"
}

if [[ $(ldd "$BIN/nym-client" 2>/dev/null) == *libasan* ]]; then
	# ASan replaces glibc's malloc (and must come first, before any LD_PRELOAD): the variants
	# mean nothing there; one plain round still runs the privsep suite under ASan
	variants=("asan|NYMSUITE_MALLOC_VARIANT=none")
fi
for v in "${variants[@]}"; do round "${v%%|*}" "${v#*|}"; done
echo PASS
