#!/usr/bin/env bash
# common/gwclient against real processes (`nym-localnet up`), through nym-testclient's gw-*
# commands: a new client registers (supportedProtocol, H1..H4, register, free bandwidth
# claim) and sends messages to itself through the 3 mix nodes; a second run of the same
# client authenticates with the stored key (authenticateV2); a client claiming protocol 5
# sends ForwardSphinxV2 frames. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
localnet_up gwclient-selfsend

# 1. registration and a round trip
tc a gw-start gw-send-self 4 gw-wait-sent 4 expect-msgs 4 expect-acks 4 gw-stop >"$T/a.out" 2>&1 ||
	{ cat "$T/a.out"; fail "register + self-send"; }
grep -q '^REGISTERED' "$T/a.out" || fail "no registration"
grep -q '^GW READY protocol=3 bandwidth=68719476736' "$T/a.out" || { cat "$T/a.out"; fail "register/claim"; }
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a.out")" = 4 ] || { cat "$T/a.out"; fail "messages"; }
grep -q 'state=ready reconnects=0 attempts=0 last_error=ok sent=4' "$T/a.out" || { cat "$T/a.out"; fail "status"; }
echo "ok registered (protocol 3), claimed free bandwidth, 4 messages and 4 acks round trip"

# 2. the same client again: authenticateV2 with the stored key (new whole second first)
sleep 1.1
tc a gw-start gw-send-self 2 gw-wait-sent 2 expect-msgs 2 expect-acks 2 gw-stop >"$T/a2.out" 2>&1 ||
	{ cat "$T/a2.out"; fail "authenticate + self-send"; }
grep -q '^REGISTERED' "$T/a2.out" && fail "registered again"
grep -q '^GW STATE authenticating' "$T/a2.out" || fail "did not authenticate"
grep -q '^GW READY protocol=4' "$T/a2.out" || { cat "$T/a2.out"; fail "v2 authentication"; }
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a2.out")" = 2 ] || { cat "$T/a2.out"; fail "messages"; }
echo "ok re-authenticated with the stored key (v2, protocol 4), 2 messages round trip"

# 3. protocol 5: ForwardSphinxV2 frames
tc c gw-start gw-stop >"$T/c.out" 2>&1 || { cat "$T/c.out"; fail "client c registration"; }
sleep 1.1
tc c --protocol 5 gw-start gw-send-self 2 gw-wait-sent 2 expect-msgs 2 gw-stop >"$T/c2.out" 2>&1 ||
	{ cat "$T/c2.out"; fail "protocol 5 client"; }
grep -q '^GW READY protocol=5' "$T/c2.out" || { cat "$T/c2.out"; fail "protocol 5 not negotiated"; }
echo "ok protocol 5 negotiated: ForwardSphinxV2, 2 messages round trip"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
