#!/usr/bin/env bash
# packaging: `packaging/build-deb` makes a Debian package from this build; its files, modes and
# Depends: are checked, `systemd-analyze verify` accepts the unit, and every unit sets
# LimitNOFILE and scores an exposure of at most 2.0 in `systemd-analyze security`. Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/packaging.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

DEB=$("$ROOT/packaging/build-deb" "$BUILD" "$T") || fail "build-deb"
[ -f "$DEB" ] || fail "no package at '$DEB'"
dpkg-deb -c "$DEB" >"$T/contents"
for f in ./usr/bin/nym-client ./usr/bin/nymctl ./usr/bin/nym-gateway \
	./lib/systemd/system/nym-client@.service ./usr/share/doc/nymsuite/SECURITY.md; do
	grep -q " $f\$" "$T/contents" || { cat "$T/contents"; fail "package lacks $f"; }
done
grep " ./usr/bin/nym-client\$" "$T/contents" | grep -q '^-rwxr-xr-x root/root' || fail "nym-client mode/owner"
dpkg-deb -f "$DEB" Package | grep -qx nymsuite || fail "Package field"
DEPS=$(dpkg-deb -f "$DEB" Depends)
for p in libsodium23 libgcrypt20 libev4 libseccomp2 libwslay1 libcurl4 libsqlite3-0; do
	echo "$DEPS" | grep -q "\b$p\b" || fail "Depends lacks $p: $DEPS"
done
echo "ok package $(basename "$DEB"): $(wc -l <"$T/contents") entries; Depends: $DEPS"

# the unit: extract and verify (systemd-analyze resolves ExecStart, so point it at the package)
mkdir "$T/root"
dpkg-deb -x "$DEB" "$T/root"
U=$T/root/lib/systemd/system/nym-client@.service
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/bin/nym-client|$T/root/usr/bin/nym-client|g" "$U" >"$T/nym-client@t.service"
	systemd-analyze verify "$T/nym-client@t.service" >"$T/verify" 2>&1 ||
		{ grep -v "^$" "$T/verify"; fail "systemd-analyze verify"; }
	if grep -v -e 'Failed to connect' -e 'Cannot.*in.*container' "$T/verify" | grep -qi "unknown\|invalid\|error"; then
		cat "$T/verify"; fail "the unit has warnings"
	fi
	echo "ok systemd-analyze verify accepts the unit"
fi
grep -q '^DynamicUser=yes' "$U" && grep -q '^NoNewPrivileges=yes' "$U" && grep -q '^ProtectSystem=strict' "$U" ||
	fail "the unit lost its hardening"

# every unit the package installs: a descriptor limit for thousands of apps, and systemd's own
# exposure score at most 2.0 (0 = fully locked down, 10 = unprotected)
units=("$T"/root/lib/systemd/system/*.service)
[ -e "${units[0]}" ] || fail "the package installs no unit"
for U in "${units[@]}"; do
	u=$(basename "$U")
	grep -Eq '^LimitNOFILE=[0-9]{4,}' "$U" || fail "$u sets no LimitNOFILE"
	command -v systemd-analyze >/dev/null || continue
	cp "$U" "$T/$u"
	systemd-analyze security --offline=yes --no-pager "$T/$u" >"$T/$u.security" 2>&1 || true
	score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$T/$u.security")
	[ -n "$score" ] || { cat "$T/$u.security"; fail "systemd-analyze security printed no score for $u"; }
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { grep '✗' "$T/$u.security"; fail "$u: exposure $score > 2.0"; }
	echo "ok $u: systemd-analyze security exposure $score (<= 2.0), $(grep '^LimitNOFILE' "$U")"
done
echo PASS
