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
# init_gateway FILE: "ID URL" of the gateway an init registered with, from its output (Nym's
# "Gateway ID:" and "Gateway:" lines, or our older "Registered with the gateway ID (URL)");
# the URL without Url's trailing "/"
init_gateway() {
	local id url
	id=$(sed -n 's/^Gateway ID: //p; s/^Registered with the gateway \([^ ]*\) .*/\1/p' "$1" | head -1)
	url=$(sed -n 's/^Gateway: //p; s/^Registered with the gateway [^ ]* (\(.*\))$/\1/p' "$1" | head -1)
	echo "$id ${url%/}"
}
socks_up socks-tls --force-tls-gateway
[ -n "${GATEWAY_WSS_1:-}" ] || fail "the localnet announces no wss listener"
[ "$(init_gateway "$T/net/logs/network-requester-init.log")" = "$GATEWAY_ID_1 $GATEWAY_WSS_1" ] ||
	fail "the network requester did not register over wss"
[ "$(init_gateway "$T/socks.init")" = "$GATEWAY_ID_1 $GATEWAY_WSS_1" ] || { cat "$T/socks.init"; fail "socks init over wss"; }
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
