#!/usr/bin/env bash
# common/gwclient against a real nym-gateway (`nym-localnet up`) that refuses
# authentication: a client with a shared key the gateway never issued, and a registered
# client whose stored key was altered, both end in state `failed` with error
# "authentication refused" and the gateway's reason, without retrying. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
localnet_up gwclient-authfail
hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# 1. unknown client: a made-up key
printf 'seed=%s\nenc=%s\nack=%s\nkey=%s\nlegacy=0\n' "$(hex32)" "$(hex32)" "$(hex32 | cut -c1-32)" \
	"$(hex32)" >"$T/u.state"
tc u gw-start >"$T/u.out" 2>&1 && fail "unknown client was accepted"
grep -q '^GW STATE failed error=authentication refused (.*not registered' "$T/u.out" ||
	{ cat "$T/u.out"; fail "no clear error for an unknown client"; }
[ "$(grep -c '^GW STATE connecting' "$T/u.out")" = 1 ] || { cat "$T/u.out"; fail "retried a refusal"; }
echo "ok unknown client: failed, authentication refused ($(sed -n 's/.*refused (\(.*\))$/\1/p' "$T/u.out"))"

# 2. registered client, stored key altered
tc r gw-start gw-stop >"$T/r.out" 2>&1 || { cat "$T/r.out"; fail "registration"; }
sed -i "s/^key=.*/key=$(hex32)/" "$T/r.state"
sleep 1.1
tc r gw-start >"$T/r2.out" 2>&1 && fail "altered key was accepted"
grep -q '^GW STATE failed error=authentication refused (' "$T/r2.out" ||
	{ cat "$T/r2.out"; fail "no clear error for a wrong key"; }
echo "ok wrong key: failed, authentication refused ($(sed -n 's/.*refused (\(.*\))$/\1/p' "$T/r2.out"))"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
