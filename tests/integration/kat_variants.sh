#!/usr/bin/env bash
# `make kat` on capture shapes other than tests/vectors/real-client-packets.json, derived from it
# by tools/kat-variants (the packets, keys and frames stay the real client's; only the layout
# changes):
#  - key-rotation-null.json: every packet as a ForwardSphinx (kind 1) frame, key_rotation null,
#    and the injected V1 message's surb_key_rotation null;
#  - multi-session.json: `gateway` as three sessions (registration; authenticateV2 with the
#    stored key and its frames; another client's kind-1 session), each checked on its own;
# both pass every check, the field coverage included. Four derived files must fail, each for
# its reason: key_rotation null on a ForwardSphinxV2 frame, surb_key_rotation null on a DataV2
# message, the authenticateV2 session holding another session's key, an authenticateV2 record
# naming another connection.
# Exit 0 = pass.
set -euo pipefail
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KAT=$ROOT/$BUILD/kat
DERIVE=$ROOT/$BUILD/bin/kat-variants
REAL=$ROOT/tests/vectors/real-client-packets.json
for b in "$KAT" "$DERIVE"; do [ -x "$b" ] || { echo "missing $b (run make first)"; exit 1; }; done
T=$(mktemp -d /tmp/kat-variants.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$DERIVE" "$REAL" "$T" || fail "kat-variants"
"$KAT" "$REAL" >"$T/real.out" || { cat "$T/real.out"; fail "the real file itself"; }
want=$(tail -1 "$T/real.out")

for v in key-rotation-null multi-session; do
	"$KAT" "$T/$v.json" >"$T/$v.out" || { cat "$T/$v.out"; fail "$v.json does not pass"; }
	[ "$(tail -1 "$T/$v.out")" = "$want" ] || { cat "$T/$v.out"; fail "$v.json: $(tail -1 "$T/$v.out"), want $want"; }
	echo "ok $v.json: $want"
done
n=$(grep -Ec '"kind_name":[[:space:]]*"ForwardSphinx"' "$T/key-rotation-null.json" || true)
[ "$n" = 14 ] || fail "$n kind-1 packet frames in the variant, want 14"
n=$(grep -Ec '"key_rotation":[[:space:]]*null' "$T/key-rotation-null.json" || true)
[ "$n" = 14 ] || fail "$n packets with key_rotation null, want 14"
grep -Eq '"surb_key_rotation":[[:space:]]*null' "$T/key-rotation-null.json" || fail "no V1 surb_key_rotation null"

bad() {
	local v=$1 why=$2
	if "$KAT" "$T/$v.json" >"$T/$v.out"; then cat "$T/$v.out"; fail "$v.json passed"; fi
	grep -q "^FAIL.*$why" "$T/$v.out" || { cat "$T/$v.out"; fail "$v.json failed, but not for: $why"; }
	echo "ok $v.json refused: $why"
}
bad bad-rotation-null-v2 "key_rotation null, but the ForwardSphinxV2 frame carries rotation 1"
bad bad-surb-rotation-null-v2 "surb_key_rotation null, but the DataV2 message carries rotation 1"
bad bad-auth-other-key "address_ciphertext_48 differs.*(session 1)"
bad bad-auth-other-conn "authenticateV2 on connection 2: no authenticate_v2 record of that connection"
