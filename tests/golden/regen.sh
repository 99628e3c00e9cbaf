#!/usr/bin/env bash
# Rewrites tests/golden/PROGRAM/*.txt from the built binaries (BUILD, default build): every
# program's --help and -h, and --help and -h of each of its subcommands. Run it only after an
# intended change of the CLI table, then review the diff (tests/integration/cli_parity.sh
# compares the binaries with these files and with Nym's own outputs in nym-docs/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/${BUILD:-build}/bin
for p in nym-client nym-socks5-client nym-network-requester; do
	out=$ROOT/tests/golden/$p
	rm -rf "$out"
	mkdir -p "$out"
	"$BIN/$p" --help >"$out/top.help.txt"
	"$BIN/$p" -h >"$out/top.h.txt"
	# the subcommands as the program lists them
	for c in $("$BIN/$p" --help | sed -n "/^Commands:/,/^$/p" | awk 'NR > 1 && NF && $1 != "help" {print $1}'); do
		"$BIN/$p" "$c" --help >"$out/$c.help.txt"
		"$BIN/$p" "$c" -h >"$out/$c.h.txt"
	done
done
