#!/usr/bin/env bash
# nym-gateway end to end with real processes (`nym-localnet up`: directory, 3 mix nodes, gateway):
# a C client (tools/nym-testclient) registers, authenticates (v2), sends messages to itself
# through the 3 mix nodes, receives them and their SURB-acks; a duplicate session is refused
# while the first answers pings; re-authentication (v2 and v1) with the stored key works;
# two clients exchange messages at the same time; protocol 5 (ForwardSphinxV2); a legacy key
# and its upgrade; 12 clients at once. Exit 0 = pass.
set -euo pipefail
# shellcheck source=lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
LOCALNET_ARGS=--no-network-requester # counts gateway1's clients
localnet_up gateway-selfsend

# 1. self-send round trip, duplicate session, re-authentication on new connections
tc a register auth send-self 5 expect-msgs 5 expect-acks 5 auth-dup \
	close auth send-self 1 expect-msgs 6 expect-acks 6 close auth-v1 send-self 1 expect-msgs 7 \
	expect-acks 7 >"$T/a.out" 2>&1 || { cat "$T/a.out"; fail "self-send"; }
grep -q '^DUPLICATE REFUSED.*already an open connection' "$T/a.out" || { cat "$T/a.out"; fail "duplicate not refused"; }
[ "$(grep -c '^RECEIVED nymsuite-test:' "$T/a.out")" = 7 ] || fail "wrong messages"
echo "ok self-send: 7 messages, 7 acks through 3 mix nodes; duplicate refused; v2 and v1 re-auth"

# 2. two clients at once, each sending to the other (authenticateV2 timestamps are whole
#    seconds and must grow: wait for the next second)
sleep 1.1
A=$(tc a address | sed -n 's/^ADDRESS //p')
B=$(tc b register address | sed -n 's/^ADDRESS //p')
[ -n "$A" ] && [ -n "$B" ] || fail "no addresses"
tc a auth hold 1 send-to "$B" 3 expect-acks 3 expect-msgs 3 >"$T/a2.out" 2>&1 &
APID=$!
tc b auth hold 1 send-to "$A" 3 expect-acks 3 expect-msgs 3 >"$T/b2.out" 2>&1 || { cat "$T/b2.out"; fail "client b"; }
wait "$APID" || { cat "$T/a2.out"; fail "client a"; }
echo "ok two clients: 3 messages each way, all acked"

# 3. protocol 5: ForwardSphinxV2 with the key-rotation byte (rotation id 3: odd), carried
#    on as version-8 frames through the mix nodes and back for the SURB-acks
tc c --protocol 5 register auth send-self 2 expect-msgs 2 expect-acks 2 >"$T/c.out" 2>&1 ||
	{ cat "$T/c.out"; fail "protocol 5 client"; }
grep -q '^AUTHENTICATED protocol=5' "$T/c.out" || fail "protocol 5 not negotiated"
echo "ok protocol 5 (ForwardSphinxV2, rotation byte): 2 messages, 2 acks"

# 4. a legacy key (protocol 1: AES-128-CTR + HMAC-BLAKE3 frames), then its upgrade to
#    AES-256-GCM-SIV (encryptedRequest UpgradeKey) and authenticateV2 with the new key
tc l --legacy 1 register auth-v1 send-self 2 expect-msgs 2 expect-acks 2 upgrade-key \
	hold 1.1 auth send-self 1 expect-msgs 3 expect-acks 3 >"$T/l.out" 2>&1 || { cat "$T/l.out"; fail "legacy client"; }
grep -q '^REGISTERED protocol=1' "$T/l.out" && grep -q '^KEY UPGRADED' "$T/l.out" || { cat "$T/l.out"; fail "legacy path"; }
echo "ok legacy key: registration, v1 auth, 2 messages; key upgrade; v2 auth, 1 message"

# 5. many clients at once
for k in $(seq 12); do
	tc "m$k" register auth send-self 3 expect-msgs 3 expect-acks 3 >"$T/m$k.out" 2>&1 &
done
wait
for k in $(seq 12); do
	grep -q 'SUMMARY msgs=3 acks=3' "$T/m$k.out" || { cat "$T/m$k.out"; fail "client m$k"; }
done
echo "ok 12 clients at once: 3 messages and 3 acks each"

sleep 1.2
[ "$(stat_of decode_errors)" = 0 ] || fail "decode errors: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of acks_forwarded)" -ge 13 ] || fail "acks_forwarded too low: $(cat "$T/net/run/gateway1.stats")"
[ "$(stat_of registrations)" = 16 ] || fail "registrations: $(cat "$T/net/run/gateway1.stats")"
"$BIN/nym-localnet" status --dir "$T/net" >/dev/null || fail "a process died"
echo "PASS"
