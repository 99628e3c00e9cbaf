#!/usr/bin/env bash
# The SOCKS client and the network requester over TLS gateways: on a `nym-localnet up --tls`
# network (no delays) the localnet's network requester registered over wss (its init output),
# nym-socks5-client init --force-tls-gateway registers over wss://localhost:PORT, both netd's
# connect over TLS, and curl fetches a 1 MB file and the 10 MB one through it, sha256-identical.
# Exit 0 = pass.
set -euo pipefail
LOCALNET_ARGS="--no-delay --tls ${LOCALNET_ARGS:-}"
# shellcheck source=tests/integration/lib/socks.bash
. "$(dirname "$0")/lib/socks.bash"
socks_up socks-tls --force-tls-gateway
[ -n "${GATEWAY_WSS_1:-}" ] || fail "the localnet announces no wss listener"
grep -q "^Registered with the gateway .* (wss://localhost:[0-9]*)$" "$T/net/logs/network-requester-init.log" ||
	fail "the network requester did not register over wss"
grep -q "^Registered with the gateway .* ($GATEWAY_WSS_1)$" "$T/socks.init" || { cat "$T/socks.init"; fail "socks init over wss"; }
grep -q "gateway over TLS: $GATEWAY_WSS_1" "$T/socks.log" || fail "the SOCKS client's netd did not use TLS"
grep -q "gateway over TLS: $GATEWAY_WSS_1" "$T/net/logs/network-requester.log" || fail "the requester's netd did not use TLS"
head -c 1000000 /dev/urandom >"$T/www/small.bin"
SMALL=$(sha256sum <"$T/www/small.bin" | cut -d' ' -f1)
P=127.0.0.1:$SPORT
got=$(sha_of curl -sS -m 120 --socks5-hostname "$P" "http://127.0.0.1:$HPORT/small.bin") || fail "curl 1 MB"
[ "$got" = "$SMALL" ] || fail "1 MB: sha256 differs"
got=$(sha_of curl -sS -m 180 --socks5-hostname "$P" "http://127.0.0.1:$HPORT/big.bin") || fail "curl 10 MB"
[ "$got" = "$WANT" ] || fail "10 MB: sha256 differs"
echo "ok SOCKS client and network requester over wss: 1 MB and 10 MB downloads intact"
echo PASS
