# tests/interop/lib/localnet.bash: shared by tests/interop/real_client_*.sh and scripts/demo.sh.
# Source it, then:
#   it_init NAME SECONDS        fresh scratch folder, watchdog, cleanup trap (always runs)
#   it_up [localnet options]    nym-localnet up --dir $NET ...; sources $NET/env
#   it_client C [driver opts]   starts the real client (nym-client.mjs) as C, commands via it_cmd
#   it_cmd C "command"          one driver command (send/sendanon/reply/wait/sleep/stats/quit)
#   it_event C 'jq-cond' [s]    waits for the first output line of C matching the condition, prints it
#   it_check "what" CMD...      runs CMD; prints "ok   what" or "FAIL what" and counts
#   it_stat NODE FIELD          a counter from $NET/run/NODE.stats
#   it_nr_stats                 the network requester's status line (its counters)
#   it_finish                   prints the verdict and exits 0 (all checks passed) or 1
# Everything the test started (clients, the localnet) is stopped on exit, timeout or signal.
# On failure the scratch folder ($NET: logs/, clients/, run/) is kept for diagnosis.
# (Not named *.bash.sh: tests/run.sh runs every tests/interop/*.sh as a test.)

IT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_DIR=$(cd "$IT_LIB/.." && pwd)
IT_ROOT=$(cd "$IT_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) IT_BIN=$BUILD/bin ;; *) IT_BIN=$IT_ROOT/$BUILD/bin ;; esac
IT_LOCALNET=$IT_BIN/nym-localnet
IT_DRIVER=$IT_DIR/nym-client.mjs

# Plaintext bytes per regular (2048-byte) packet left for a fragment: 2048 - SURB-ack (405) -
# ephemeral key (32) = 1611 (nym b4046a89 common/nymsphinx/src/message.rs
# available_sphinx_plaintext_per_packet); an unlinked fragment header takes 7 of them.
IT_FRAG_PAYLOAD=1604

IT_NAME="interop"
IT_NET=
IT_UP=0
IT_PASS=0
IT_FAIL=0
IT_DONE=0
IT_WATCHDOG=
IT_KEEP=${IT_KEEP:-0}
declare -A IT_PID IT_FD

it_log() { printf '%s: %s\n' "$IT_NAME" "$*"; }

it_die() {
	it_log "FAIL $*"
	IT_FAIL=$((IT_FAIL + 1))
	exit 1
}

it_cleanup() {
	local rc=$? c
	trap - EXIT TERM INT HUP
	[ -n "$IT_WATCHDOG" ] && kill "$IT_WATCHDOG" 2>/dev/null
	for c in "${!IT_PID[@]}"; do
		kill "${IT_PID[$c]}" 2>/dev/null
	done
	for c in "${!IT_PID[@]}"; do
		wait "${IT_PID[$c]}" 2>/dev/null
	done
	if [ "$IT_UP" = 1 ]; then
		"$IT_LOCALNET" down --dir "$IT_NET" >/dev/null 2>&1 || it_log "nym-localnet down failed"
	fi
	[ "$IT_DONE" = 1 ] || rc=1
	[ $IT_FAIL -gt 0 ] && rc=1
	if [ -n "$IT_NET" ]; then
		if [ "$rc" = 0 ] && [ "$IT_KEEP" = 0 ]; then
			rm -rf "$IT_NET"
		else
			it_log "scratch folder kept: $IT_NET (logs/, clients/, run/)"
		fi
	fi
	exit "$rc"
}

it_on_timeout() {
	it_log "FAIL timeout: the test took more than ${IT_TIMEOUT}s"
	IT_FAIL=$((IT_FAIL + 1))
	exit 1
}

# it_init NAME SECONDS: the whole test must end within SECONDS (else everything is stopped).
it_init() {
	IT_NAME=$1
	IT_TIMEOUT=$2
	trap it_cleanup EXIT
	trap it_on_timeout TERM
	trap 'exit 1' INT HUP
	IT_NET=$(mktemp -d "${TMPDIR:-/tmp}/nymsuite-$IT_NAME.XXXXXX") || it_die "mktemp"
	mkdir -p "$IT_NET/clients"
	local self=$$
	# bash runs a trap only between foreground commands: the watchdog first stops the clients
	# (a poll waiting on one then returns at once), then signals the test.
	(
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		sleep "$IT_TIMEOUT" &
		sp=$!
		wait $sp || exit 0
		cat "$IT_NET"/clients/*.pid 2>/dev/null | xargs -r kill 2>/dev/null
		kill -TERM "$self" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	IT_WATCHDOG=$!
	for b in nym-localnet nym-directory nym-mixnode nym-gateway; do
		[ -x "$IT_BIN/$b" ] || it_die "$IT_BIN/$b not built (make BUILD=$BUILD all)"
	done
	command -v node >/dev/null || it_die "node (>= 20) not found"
	command -v jq >/dev/null || it_die "jq not found"
	sh "$IT_DIR/setup" >/dev/null || it_die "tests/interop/setup failed (npm install of the real client)"
}

# it_up [nym-localnet up options]: a fresh localnet in $IT_NET; its env is sourced.
it_up() {
	it_log "localnet up $*"
	IT_UP=1
	"$IT_LOCALNET" up --dir "$IT_NET" --timeout 20 "$@" >"$IT_NET/up.out" 2>&1 ||
		{ cat "$IT_NET/up.out"; it_die "nym-localnet up $* failed"; }
	# shellcheck disable=SC1091
	. "$IT_NET/env"
	it_log "localnet ready: nym-api $NYM_API, $GATEWAY_COUNT gateway(s)"
}

# it_client C [driver options]: the real client named C, registered with gateway 1 unless
# options say otherwise. Output: $IT_NET/clients/C.{out,err,frames}.
it_client() {
	local c=$1
	shift
	local fifo=$IT_NET/clients/$c.in
	mkfifo "$fifo"
	local fd
	exec {fd}<>"$fifo"
	IT_FD[$c]=$fd
	node "$IT_DRIVER" --nym-api "$NYM_API" --frames "$IT_NET/clients/$c.frames" -v "$@" \
		<"$fifo" >"$IT_NET/clients/$c.out" 2>"$IT_NET/clients/$c.err" &
	IT_PID[$c]=$!
	echo "$!" >"$IT_NET/clients/$c.pid"
}

it_cmd() {
	printf '%s\n' "$2" >&"${IT_FD[$1]}"
}

# it_event C 'jq condition' [timeout s]: prints the first matching output line of C (waits).
it_event() {
	local c=$1 cond=$2 limit=${3:-60} out=$IT_NET/clients/$1.out line
	local end=$((SECONDS + limit))
	while :; do
		line=$(jq -c "select($cond)" "$out" 2>/dev/null | head -1)
		[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
		if ! kill -0 "${IT_PID[$c]}" 2>/dev/null; then
			line=$(jq -c "select($cond)" "$out" 2>/dev/null | head -1)
			[ -n "$line" ] && { printf '%s\n' "$line"; return 0; }
			it_log "client $c exited before an event matching: $cond" >&2
			return 1
		fi
		[ $SECONDS -ge $end ] && { it_log "client $c: no event matching '$cond' within ${limit}s" >&2; return 1; }
		sleep 0.2
	done
}

# it_ready C [timeout]: waits for C's "ready"; prints its address (use: A=$(it_ready a) || exit 1).
it_ready() {
	local line
	line=$(it_event "$1" '.event=="ready" or .event=="error" or .event=="exit"' "${2:-45}") ||
		{ it_client_tail "$1" >&2; it_log "FAIL client $1 did not start" >&2; return 1; }
	[ "$(jq -r .event <<<"$line")" = ready ] ||
		{ it_client_tail "$1" >&2; it_log "FAIL client $1: $line" >&2; return 1; }
	jq -r .address <<<"$line"
}

# it_events C 'jq condition': every matching output line of C so far (compact JSON, one a line).
it_events() {
	jq -c "select($2)" "$IT_NET/clients/$1.out" 2>/dev/null
}

# it_last_stats C: sends "stats" and prints the answer.
it_last_stats() {
	local before
	before=$(it_events "$1" '.event=="stats"' | wc -l)
	it_cmd "$1" stats
	local end=$((SECONDS + 10))
	while [ $SECONDS -lt $end ]; do
		if [ "$(it_events "$1" '.event=="stats"' | wc -l)" -gt "$before" ]; then
			it_events "$1" '.event=="stats"' | tail -1
			return 0
		fi
		sleep 0.2
	done
	it_log "client $1 did not answer stats" >&2
	return 1
}

it_client_tail() {
	it_log "--- last output of client $1"
	tail -5 "$IT_NET/clients/$1.out" 2>/dev/null
	grep -v '^\[wasm:log\]' "$IT_NET/clients/$1.err" 2>/dev/null | tail -10
}

# Frames the client exchanged with its gateway, from its --frames log. Gateway -> client binary
# frames are classified by size: an ack delivery is ~51 bytes, a fragment of a regular packet
# ~1.7 kB (threshold 200).
it_frames_out() { grep -c ' -> binary ' "$IT_NET/clients/$1.frames"; }
it_frames_in_acks() {
	awk '$3 == "<-" && $4 == "binary" && length($5) / 2 < 200 { n++ } END { print n + 0 }' "$IT_NET/clients/$1.frames"
}
it_frames_in_data() {
	awk '$3 == "<-" && $4 == "binary" && length($5) / 2 >= 200 { n++ } END { print n + 0 }' "$IT_NET/clients/$1.frames"
}

# it_fragments LEN...: regular packets a Plain message of each LEN needs: its bytes are the type
# byte 0, the data, then the padding marker 1 (nym b4046a89 NymMessage::into_bytes +
# pad_to_full_packet_lengths), cut into unlinked fragments (single set: LEN + 2 <= 255 * 1604).
it_fragments() {
	local total=0 len
	for len in "$@"; do
		total=$((total + (len + 2 + IT_FRAG_PAYLOAD - 1) / IT_FRAG_PAYLOAD))
	done
	echo "$total"
}

# it_payload_sha256 N SEED: SHA-256 of the driver's payload(N, SEED), computed here on its own:
# the first N bytes of SHA-256("nymsuite-interop:SEED:0") || SHA-256("nymsuite-interop:SEED:1") ...
it_payload_sha256() {
	node -e '
		const { createHash } = require("node:crypto");
		const [n, seed] = [Number(process.argv[1]), process.argv[2]];
		const parts = [];
		for (let k = 0; 32 * k < n; k++) parts.push(createHash("sha256").update(`nymsuite-interop:${seed}:${k}`).digest());
		console.log(createHash("sha256").update(Buffer.concat(parts).subarray(0, n)).digest("hex"));
	' "$1" "$2"
}

# it_stat NODE FIELD: one counter from run/NODE.stats (rewritten every second by the node).
it_stat() {
	jq -r ".$2 // \"missing\"" "$IT_NET/run/$1.stats" 2>/dev/null || echo missing
}

# it_stat_sum FIELD NODE...: the sum of a counter over nodes.
it_stat_sum() {
	local f=$1 n v total=0
	shift
	for n in "$@"; do
		v=$(it_stat "$n" "$f")
		[[ $v =~ ^[0-9]+$ ]] || { echo missing; return; }
		total=$((total + v))
	done
	echo "$total"
}

# it_mixnodes: names of the mix nodes of $IT_NET (from the descriptors).
it_mixnodes() {
	grep -l '^role = "mixnode"' "$IT_NET"/nodes/*.toml | xargs -n1 basename | sed 's/\.toml$//' | sort -V
}

# it_wait_stat NODE FIELD VALUE [timeout s]: waits until the counter reaches VALUE (>=).
it_wait_stat() {
	local end=$((SECONDS + ${4:-10})) v
	while :; do
		v=$(it_stat "$1" "$2")
		[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$3" ] && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# it_check "what" CMD...: one check; the test fails (at it_finish) if any check failed.
it_check() {
	local what=$1
	shift
	if "$@"; then
		it_log "ok   $what"
		IT_PASS=$((IT_PASS + 1))
	else
		it_log "FAIL $what"
		IT_FAIL=$((IT_FAIL + 1))
	fi
}

# it_eq "what" GOT WANT
it_eq() {
	if [ "$2" = "$3" ]; then
		it_log "ok   $1: $2"
		IT_PASS=$((IT_PASS + 1))
	else
		it_log "FAIL $1: got $2, want $3"
		IT_FAIL=$((IT_FAIL + 1))
	fi
}

# it_gt "what" GOT MIN: GOT > MIN
it_gt() {
	if [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt "$3" ]; then
		it_log "ok   $1: $2 > $3"
		IT_PASS=$((IT_PASS + 1))
	else
		it_log "FAIL $1: got $2, want > $3"
		IT_FAIL=$((IT_FAIL + 1))
	fi
}

it_show_status() {
	"$IT_LOCALNET" status --dir "$IT_NET" | sed 's/^/  /'
}

it_finish() {
	IT_DONE=1
	if [ $IT_FAIL -gt 0 ]; then
		it_log "--- node status"
		it_show_status
		it_log "$IT_PASS checks passed, $IT_FAIL FAILED"
		exit 1
	fi
	it_log "$IT_PASS checks passed"
	exit 0
}

# it_nr_stats: the localnet's network requester line of `nym-localnet status` (its counters as
# name=value, from nymctl stats of the NR's suite).
it_nr_stats() {
	"$IT_LOCALNET" status --dir "$IT_NET" 2>/dev/null | grep '^network-requester '
}
