#!/usr/bin/env bash
# packaging: `packaging/build-deb` makes a Debian package from this build; its files, modes and
# Depends: are checked; for every client program of the tree (client/NAME/) the package holds
# the binary, packaging/NAME@.service, the README and the man page (which man renders); `systemd-analyze verify` accepts each unit;
# each unit's first-start init (ExecStartPre) does what its comment says; every unit sets
# LimitNOFILE and scores an exposure of at most 2.0 in `systemd-analyze security`, and the score
# of each is printed. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d -t packaging.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

CLIENTS=$(for d in "$ROOT"/client/*/main.c; do basename "$(dirname "$d")"; done)
DEB=$("$ROOT/packaging/build-deb" "$BUILD" "$T") || fail "build-deb"
[ -f "$DEB" ] || fail "no package at '$DEB'"
dpkg-deb -c "$DEB" >"$T/contents"
want="./usr/bin/nymctl ./usr/bin/nym-gateway ./usr/share/doc/nymsuite/SECURITY.md"
for c in $CLIENTS; do
	want="$want ./usr/bin/$c ./lib/systemd/system/$c@.service ./usr/share/doc/nymsuite/$c.md"
	want="$want ./usr/share/man/man1/$c.1.gz"
done
for f in $want; do
	grep -q " $f\$" "$T/contents" || { cat "$T/contents"; fail "package lacks $f"; }
done
for c in $CLIENTS; do
	grep " ./usr/bin/$c\$" "$T/contents" | grep -q '^-rwxr-xr-x root/root' || fail "$c mode/owner"
done
dpkg-deb -f "$DEB" Package | grep -qx nymsuite || fail "Package field"
DEPS=$(dpkg-deb -f "$DEB" Depends)
for p in libsodium23 libgcrypt20 libev4 libseccomp2 libwslay1 libcurl4 libsqlite3-0; do
	echo "$DEPS" | grep -q "\b$p\b" || fail "Depends lacks $p: $DEPS"
done
echo "ok package $(basename "$DEB"): $(wc -l <"$T/contents") entries; clients: $(echo $CLIENTS); Depends: $DEPS"

mkdir "$T/root"
dpkg-deb -x "$DEB" "$T/root"
if command -v man >/dev/null; then
	for c in $CLIENTS; do
		MANWIDTH=100 man -l "$T/root/usr/share/man/man1/$c.1.gz" 2>/dev/null | grep -q "list-gateways" ||
			fail "man does not render $c's page"
	done
fi
units=("$T"/root/lib/systemd/system/*.service)
[ -e "${units[0]}" ] || fail "the package installs no unit"
# a unit in packaging/ whose program is not in this tree (yet) cannot be packaged: its own text
# still gets the LimitNOFILE and exposure checks below, and the test says so
unpackaged=()
for U in "$ROOT"/packaging/*.service; do
	u=$(basename "$U")
	[ -e "$T/root/lib/systemd/system/$u" ] && continue
	[ ! -e "$ROOT/client/${u%@.service}/main.c" ] || fail "packaging/$u is not in the package"
	echo "note: $u not packaged: no client/${u%@.service}/ in this tree"
	unpackaged+=("$U")
done

# a unit's text with every client path pointed at the extracted package (systemd-analyze
# verify resolves the executables)
retarget() {
	local s=$1 c
	for c in $CLIENTS; do s=${s//\/usr\/bin\/$c/$T\/root\/usr\/bin\/$c}; done
	printf '%s\n' "$s"
}
for U in "${units[@]}"; do
	u=$(basename "$U")
	grep -q '^DynamicUser=yes' "$U" && grep -q '^NoNewPrivileges=yes' "$U" && grep -q '^ProtectSystem=strict' "$U" &&
		grep -q '^CapabilityBoundingSet=$' "$U" && grep -q '^KillMode=mixed' "$U" ||
		fail "$u lost its hardening"
	grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' "$U" || fail "$u: address families other than Unix/IPv4/IPv6"
	command -v systemd-analyze >/dev/null || continue
	retarget "$(cat "$U")" >"$T/${u%@.service}@t.service"
	systemd-analyze verify "$T/${u%@.service}@t.service" >"$T/$u.verify" 2>&1 ||
		{ grep -v "^$" "$T/$u.verify"; fail "systemd-analyze verify $u"; }
	if grep -v -e 'Failed to connect' -e 'Cannot.*in.*container' "$T/$u.verify" | grep -qi "unknown\|invalid\|error"; then
		cat "$T/$u.verify"; fail "$u has warnings"
	fi
	echo "ok systemd-analyze verify accepts $u"
done

# First start: run a unit's ExecStartPre as systemd would (instance "demo", %S = a scratch
# state dir), with the client binary replaced by one that records its arguments.
first_start() { # unit-file env-assignments... -> status; $T/args = what the binary got
	local U=$1 cmd c; shift
	cmd=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'\$/\1/p" "$U")
	[ -n "$cmd" ] || fail "$(basename "$U"): no ExecStartPre=/bin/sh -c '...'"
	home=$(sed -n 's/^Environment=NYM_HOME_DIR=%S\///p' "$U")
	home=$T/state/${home//%i/demo}
	cmd=${cmd//%i/demo}
	for c in $CLIENTS; do cmd=${cmd//\/usr\/bin\/$c/$T/bin/$c}; done
	rm -f "$T/args"
	env -i PATH=/usr/bin:/bin NYM_HOME_DIR="$home" "$@" /bin/sh -c "$cmd" 2>"$T/first.err"
}
mkdir -p "$T/bin"
for c in $CLIENTS; do
	printf '#!/bin/sh\necho "$*" >"%s"\n' "$T/args" >"$T/bin/$c"
	chmod 0755 "$T/bin/$c"
done
config_of() { # program -> the config.toml path under the demo instance's home
	case $1 in
	nym-client) echo "$T/state/nym-client/demo/.nym/clients/demo/config/config.toml" ;;
	nym-socks5-client) echo "$T/state/nym-socks5-client/demo/.nym/socks5-clients/demo/config/config.toml" ;;
	nym-network-requester) echo "$T/state/nym-network-requester/demo/.nym/service-providers/network-requester/demo/config/config.toml" ;;
	esac
}
for c in $CLIENTS; do
	U=$T/root/lib/systemd/system/$c@.service
	rm -rf "$T/state"
	case $c in
	nym-socks5-client)
		! first_start "$U" || fail "$c@: initialised without NYM_PROVIDER"
		[ ! -e "$T/args" ] || fail "$c@: ran the client without NYM_PROVIDER"
		grep -q NYM_PROVIDER "$T/first.err" || { cat "$T/first.err"; fail "$c@: no word of NYM_PROVIDER"; }
		first_start "$U" NYM_PROVIDER=PROVIDERADDR "NYM_INIT_ARGS=--use-reply-surbs true" || fail "$c@: init"
		[ "$(cat "$T/args")" = "init --id demo --provider PROVIDERADDR --use-reply-surbs true" ] ||
			fail "$c@: init got '$(cat "$T/args")'" ;;
	*)
		first_start "$U" || fail "$c@: init"
		[ "$(cat "$T/args")" = "init --id demo" ] || fail "$c@: init got '$(cat "$T/args")'" ;;
	esac
	cfg=$(config_of "$c")
	[ -n "$cfg" ] || fail "$c: the test does not know its folder"
	mkdir -p "$(dirname "$cfg")" && : >"$cfg"
	first_start "$U" || fail "$c@: a start with a config failed"
	[ ! -e "$T/args" ] || fail "$c@: ran '$(cat "$T/args")' although the config exists"
	echo "ok $c@.service: first start runs '$( [ $c = nym-socks5-client ] && echo "init with NYM_PROVIDER only" || echo init)', later starts none"
done

# every unit the package installs: a descriptor limit for thousands of connections, and
# systemd's own exposure score at most 2.0 (0 = fully locked down, 10 = unprotected), printed
for U in "${units[@]}" "${unpackaged[@]}"; do
	u=$(basename "$U")
	grep -Eq '^LimitNOFILE=[0-9]{4,}' "$U" || fail "$u sets no LimitNOFILE"
	command -v systemd-analyze >/dev/null || { echo "skip $u: no systemd-analyze"; continue; }
	cp "$U" "$T/$u"
	systemd-analyze security --offline=yes --no-pager "$T/$u" >"$T/$u.security" 2>&1 || true
	score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$T/$u.security")
	[ -n "$score" ] || { cat "$T/$u.security"; fail "systemd-analyze security printed no score for $u"; }
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { grep '✗' "$T/$u.security"; fail "$u: exposure $score > 2.0"; }
	echo "ok $u: systemd-analyze security exposure $score (<= 2.0), $(grep '^LimitNOFILE' "$U")"
done
echo PASS
