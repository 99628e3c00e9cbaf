#!/usr/bin/env bash
# The three client programs' command line against Nym b4046a89's (no network needed):
#  - `--help` / `-h` of every program and subcommand equal the golden files (tests/golden/PROGRAM,
#    ours) and, where Nym's documentation has the output, Nym's own text (tests/golden/nym-docs);
#  - clap's refusals: texts on stderr and status 2 (unknown subcommand or flag with its
#    did-you-mean tip, a missing --id, a repeated option, a bad value, a missing value, a value
#    given to a flag, conflicting options, no subcommand);
#  - Nym's own errors: status 1 with "An error occurred: ..." on stdout (nym-client, SOCKS
#    client) or "Error: ..." on stderr (network requester): --enabled-credentials-mode true,
#    ecash, a client that was never initialised;
#  - -V / --version, build-info (text and -o json with Nym's field names), the banner only on a
#    terminal and never with --no-banner;
#  - completions for every shell (bash -n accepts the bash script and it completes; zsh and
#    fish check theirs when installed), the Fig spec, the man pages (groff -ww, when installed).
# Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD/bin
G=$ROOT/tests/golden
PY=/usr/bin/python3
PROGS="nym-client nym-socks5-client nym-network-requester"
for p in $PROGS; do [ -x "$BIN/$p" ] || { echo "missing $BIN/$p (run make first)"; exit 1; }; done
T=$(mktemp -d /tmp/cli_parity.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# ---- help: ours (every file of tests/golden/PROGRAM) and Nym's documented outputs
n=0
for p in $PROGS; do
	for f in "$G/$p"/*.txt; do
		b=$(basename "$f" .txt)
		cmd=${b%.*}
		flag=--help
		[ "${b##*.}" = h ] && flag=-h
		if [ "$cmd" = top ]; then "$BIN/$p" $flag >"$T/out"; else "$BIN/$p" "$cmd" $flag >"$T/out"; fi ||
			fail "$p $cmd $flag: status $?"
		diff -u "$f" "$T/out" || fail "$p $cmd $flag differs from $f"
		n=$((n + 1))
	done
	# every subcommand the program lists has its golden file
	for c in $("$BIN/$p" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF && $1 != "help" {print $1}'); do
		[ -f "$G/$p/$c.help.txt" ] || fail "no golden --help for $p $c"
	done
done
m=0
for f in "$G"/nym-docs/*-help.txt; do
	b=$(basename "$f" -help.txt)
	p=$(sed -E 's/^(nym-client|nym-socks5-client|nym-network-requester)-.*/\1/' <<<"$b")
	cmd=${b#"$p"-}
	"$BIN/$p" "$cmd" --help >"$T/out"
	diff -u "$f" "$T/out" || fail "$p $cmd --help differs from Nym's documented output $f"
	m=$((m + 1))
done
[ "$m" -ge 14 ] || fail "only $m of Nym's documented outputs found"
"$BIN/nym-client" help init >"$T/out" && diff -q "$G/nym-client/init.help.txt" "$T/out" >/dev/null ||
	fail "help init differs from init --help"
echo "ok --help / -h: $n outputs equal the golden files, $m equal Nym's documented outputs"

# ---- clap's refusals: status 2, the text on stderr, nothing on stdout
# expect STATUS PROGRAM ARGS... <<< expected stderr
expect() {
	local want=$1 p=$2 rc=0
	shift 2
	"$BIN/$p" "$@" >"$T/o" 2>"$T/e" </dev/null || rc=$?
	cat >"$T/want"
	[ "$rc" = "$want" ] || { cat "$T/o" "$T/e"; fail "$p $*: status $rc, want $want"; }
	diff -u "$T/want" "$T/e" || fail "$p $*: stderr differs"
}
expect 2 nym-client foo <<'E'
error: unrecognized subcommand 'foo'

Usage: nym-client [OPTIONS] <COMMAND>

For more information, try '--help'.
E
expect 2 nym-client init <<'E'
error: the following required arguments were not provided:
  --id <ID>

Usage: nym-client init [OPTIONS] --id <ID>

For more information, try '--help'.
E
expect 2 nym-socks5-client init --id a <<'E'
error: the following required arguments were not provided:
  --provider <PROVIDER>

Usage: nym-socks5-client init --id <ID> --provider <PROVIDER>

For more information, try '--help'.
E
expect 2 nym-client init --id a --gatewy x <<'E'
error: unexpected argument '--gatewy' found

  tip: a similar argument exists: '--gateway'

Usage: nym-client init --id <ID>

For more information, try '--help'.
E
expect 2 nym-client run --id a --id b <<'E'
error: the argument '--id <ID>' cannot be used multiple times

Usage: nym-client run [OPTIONS] --id <ID>

For more information, try '--help'.
E
expect 2 nym-client init --id a --disable-socket maybe <<'E'
error: invalid value 'maybe' for '--disable-socket <DISABLE_SOCKET>'
  [possible values: true, false]

For more information, try '--help'.
E
expect 2 nym-client run --id a -p 70000 <<'E'
error: invalid value '70000' for '--port <PORT>': 70000 is not in 0..=65535

For more information, try '--help'.
E
expect 2 nym-client list-gateways --id <<'E'
error: a value is required for '--id <ID>' but none was supplied

For more information, try '--help'.
E
expect 2 nym-client build-info -o yaml <<'E'
error: invalid value 'yaml' for '--output <OUTPUT>'
  [possible values: text, json]

For more information, try '--help'.
E
expect 2 nym-client init --id a --fastmode=yes <<'E'
error: unexpected value 'yes' for '--fastmode' found; no more were expected

Usage: nym-client init --id <ID>

For more information, try '--help'.
E
GW=8yGFbT3feDP5uzdoR4Y3Eb3mMBFMWbMJBZzMbBDDAGUG
expect 2 nym-client add-gateway --id a --latency-based-selection --gateway-id "$GW" <<'E'
error: the argument '--latency-based-selection' cannot be used with '--gateway-id <GATEWAY_ID>'

Usage: nym-client add-gateway --id <ID> --gateway-id <GATEWAY_ID> --latency-based-selection

For more information, try '--help'.
E
expect 2 nym-client init --id a --nym-apis http://127.0.0.1:1/ --custom-mixnet /x.json <<'E'
error: the argument '--nym-apis <NYM_APIS>' cannot be used with '--custom-mixnet <CUSTOM_MIXNET>'

Usage: nym-client init --id <ID> --nym-apis <NYM_APIS>

For more information, try '--help'.
E
expect 2 nym-client init --id a --no-banner <<'E'
error: unexpected argument '--no-banner' found

  tip: a similar argument exists: '--no-cover'

Usage: nym-client init --id <ID>

For more information, try '--help'.
E
expect 2 nym-network-requester completions zsx <<'E'
error: invalid value 'zsx' for '<SHELL>'
  [possible values: bash, elvish, fish, power-shell, zsh]

For more information, try '--help'.
E
expect 2 nym-network-requester --no-banner <<'E'
error: 'nym-network-requester' requires a subcommand but one was not provided
  [subcommands: init, run, ecash, sign, list-gateways, add-gateway, switch-gateway, build-info, completions, generate-fig-spec, help]

Usage: nym-network-requester [OPTIONS] <COMMAND>

For more information, try '--help'.
E
rc=0
"$BIN/nym-client" >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" = 2 ] && [ ! -s "$T/o" ] && diff -q "$T/e" "$G/nym-client/top.h.txt" >/dev/null ||
	fail "no arguments: status $rc, want 2 and the help on stderr"
echo "ok clap's refusals: texts and status 2"

# ---- Nym's own errors: status 1, "An error occurred: ..." on stdout (NR: "Error: ..." on stderr)
H=$T/home
rc=0
"$BIN/nym-client" init --id c --home "$H" --enabled-credentials-mode true >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" = 1 ] && grep -qx "An error occurred: --enabled-credentials-mode true is not supported: .*disabled credentials mode only" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "credentials mode: status $rc"; }
[ ! -e "$H/.nym" ] || fail "a refused init left files"
rc=0
"$BIN/nym-network-requester" run --id c --home "$H" --enabled-credentials-mode true >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" = 1 ] && grep -q "^Error: " "$T/e" && ! grep -q "An error occurred" "$T/o" ||
	{ cat "$T/o" "$T/e"; fail "NR credentials mode: status $rc"; }
rc=0
"$BIN/nym-socks5-client" ecash show-ticket-books >"$T/o" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "^An error occurred: ecash is not supported" "$T/o" || { cat "$T/o"; fail "ecash: status $rc"; }
for cmd in run list-gateways add-gateway; do
	rc=0
	"$BIN/nym-client" $cmd --id nobody --home "$H" >"$T/o" 2>"$T/e" || rc=$?
	[ "$rc" = 1 ] && grep -qx "An error occurred: Failed to load config for: nobody" "$T/o" &&
		grep -q "^Failed to load config for nobody. Are you sure you have run \`init\` before?" "$T/e" ||
		{ cat "$T/o" "$T/e"; fail "$cmd for an unknown id: status $rc"; }
done
rc=0
"$BIN/nym-client" switch-gateway --id nobody --gateway-id "$GW" --home "$H" >"$T/o" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "switch-gateway for an unknown id: status $rc"
echo "ok Nym's errors: status 1, 'An error occurred: ...' (the NR: 'Error: ...' on stderr)"

# ---- version, build-info, banner
[ "$("$BIN/nym-client" -V)" = "nym-client 1.1.64" ] || fail "-V: $("$BIN/nym-client" -V)"
[ "$("$BIN/nym-network-requester" -V)" = "nym-network-requester 1.1.65" ] || fail "NR -V"
"$BIN/nym-client" --version | grep -q "^Binary Name: *nym-client$" || fail "--version"
"$BIN/nym-socks5-client" build-info >"$T/bi"
[ "$(head -n 1 "$T/bi")" = "" ] || fail "build-info starts with an empty line as Nym's"
for k in "Binary Name:        nym-socks5-client" "Build Version:      1.1.64" "Commit SHA:         " \
	"rustc Version:      none (C17, " "cargo Profile:      "; do
	grep -q "^$k" "$T/bi" || { cat "$T/bi"; fail "build-info lacks '$k'"; }
done
"$BIN/nym-network-requester" build-info -o json >"$T/bi.json"
"$PY" - "$T/bi.json" <<'P' || fail "build-info -o json"
import json, sys
d = json.load(open(sys.argv[1]))
keys = ["binary_name", "build_timestamp", "build_version", "commit_sha", "commit_timestamp",
        "commit_branch", "rustc_version", "rustc_channel", "cargo_profile", "cargo_triple"]
assert list(d) == keys, list(d)
assert all(isinstance(v, str) and v for v in d.values()), d
assert d["binary_name"] == "nym-network-requester" and d["build_version"] == "1.1.65", d
P
if command -v script >/dev/null; then
	script -qec "$BIN/nym-client build-info" /dev/null >"$T/tty" </dev/null
	grep -q "(nym-client - version 1.1.64)" "$T/tty" || { cat "$T/tty"; fail "no banner on a terminal"; }
	script -qec "$BIN/nym-client --no-banner build-info" /dev/null >"$T/tty" </dev/null
	grep -q "version 1.1.64)" "$T/tty" && fail "banner despite --no-banner"
	grep -q "Binary Name:" "$T/tty" || fail "build-info on a terminal"
fi
grep -q "version 1.1.64)" "$T/bi" && fail "banner on a pipe"
echo "ok -V, --version, build-info (text and json), the banner only on a terminal"

# ---- completions, Fig spec, man pages
for p in $PROGS; do
	for s in bash zsh fish elvish power-shell; do
		"$BIN/$p" completions "$s" >"$T/comp.$s" || fail "$p completions $s"
		[ -s "$T/comp.$s" ] || fail "$p completions $s: empty"
	done
	bash -n "$T/comp.bash" || fail "$p: bash rejects its completions"
	name=$p
	[ "$p" = nym-client ] && name=nym-native-client # Nym's name for it
	grep -q "complete -F _$name .* $name$" "$T/comp.bash" || fail "$p: bash completion name"
	words=$(bash -c 'source "$1"; COMP_WORDS=("$2" init --fo); COMP_CWORD=2
		"_$2" "$2" --fo init; echo "${COMPREPLY[*]}"' _ "$T/comp.bash" "$name")
	[ "$words" = "--force-tls-gateway" ] || fail "$p: bash completes '--fo' as '$words'"
	if command -v zsh >/dev/null; then zsh -n "$T/comp.zsh" || fail "$p: zsh rejects its completions"; fi
	if command -v fish >/dev/null; then fish -n "$T/comp.fish" || fail "$p: fish rejects its completions"; fi
	grep -q "^#compdef $name$" "$T/comp.zsh" || fail "$p: zsh header"
	grep -q "Register-ArgumentCompleter -Native -CommandName '$name'" "$T/comp.power-shell" ||
		fail "$p: PowerShell completer"
	grep -q "^set edit:completion:arg-completer\[$name\]" "$T/comp.elvish" || fail "$p: elvish completer"
	"$BIN/$p" generate-fig-spec >"$T/fig.ts"
	head -n 2 "$T/fig.ts" | grep -q "name: \"$name\"" && tail -n 1 "$T/fig.ts" | grep -qx "export default completion;" ||
		fail "$p: Fig spec"
	man=$ROOT/$BUILD/man/$p.1
	[ -s "$man" ] || fail "no man page $man"
	head -n 1 "$man" | grep -q '^\.TH ' || fail "$man: no .TH"
	if command -v groff >/dev/null; then
		groff -man -Tutf8 -z -ww "$man" 2>"$T/groff" && [ ! -s "$T/groff" ] || { cat "$T/groff"; fail "groff warns on $man"; }
	fi
	grep -q 'list\\-gateways' "$man" && grep -q 'CONFIGURED' "$man" || fail "$man lacks a subcommand or the environment"
done
echo "ok completions (bash -n$(command -v zsh >/dev/null && echo ', zsh -n')$(command -v fish >/dev/null && echo ', fish -n')), Fig specs, man pages"
echo PASS
