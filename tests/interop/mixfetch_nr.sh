#!/usr/bin/env bash
# The real mix-fetch (npm @nymproject/mix-fetch-wasm@1.4.1, nym b4046a89) fetches pages from a
# local HTTP server through a fresh localnet of ours and our network requester (the one
# `nym-localnet up` starts, exit policy accepting 127.0.0.1): several requests one after another
# (a small text, 50 KB and 1 MB of random bytes, a 404 page), each body's length and SHA-256 equal
# to what curl gets straight from the server. Then the NR's counters show it carried them.
set -u
# shellcheck source=tests/interop/lib/localnet.bash
. "$(dirname "$0")/lib/localnet.bash"
it_init mixfetch_nr 300
command -v curl >/dev/null || it_die "curl not found"
NYMSUITE_INTEROP_CACHE=$(sh "$IT_DIR/setup" 2>/dev/null | tail -1)
export NYMSUITE_INTEROP_CACHE

# the web server: files made here, served on a kernel-chosen loopback port
WWW=$IT_NET/www
mkdir -p "$WWW"
printf 'hello through the mixnet\n' >"$WWW/small.txt"
head -c 51200 /dev/urandom >"$WWW/r50k.bin"
head -c 1048576 /dev/urandom >"$WWW/r1m.bin"
/usr/bin/python3 -u -m http.server --bind 127.0.0.1 --directory "$WWW" 0 \
	>"$IT_NET/www.log" 2>&1 &
IT_PID[www]=$!
for _ in $(seq 50); do
	PORT=$(sed -n 's/.*Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$IT_NET/www.log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "${PORT:-}" ] || it_die "the local web server did not start"
BASE=http://127.0.0.1:$PORT

it_up --no-delay
[ -n "${NETWORK_REQUESTER:-}" ] || it_die "the localnet's env has no NETWORK_REQUESTER"
it_log "network requester: $NETWORK_REQUESTER"

PATHS=(small.txt r50k.bin r1m.bin missing.html)
URLS=()
for p in "${PATHS[@]}"; do URLS+=(--url "$BASE/$p"); done
node "$IT_DIR/mix-fetch.mjs" --nym-api "$NYM_API" --gateway "$GATEWAY_ID_1" \
	--nr "$NETWORK_REQUESTER" --timeout-ms 60000 --overall-ms 240000 -v "${URLS[@]}" \
	>"$IT_NET/mixfetch.out" 2>"$IT_NET/mixfetch.err"
rc=$?
it_eq "mix-fetch ran to the end" "$rc" 0
[ $rc = 0 ] || { tail -30 "$IT_NET/mixfetch.err"; cat "$IT_NET/mixfetch.out"; }

for p in "${PATHS[@]}"; do
	line=$(jq -c --arg u "$BASE/$p" 'select(.url==$u)' "$IT_NET/mixfetch.out" 2>/dev/null | head -1)
	status=$(curl -s -o "$IT_NET/direct.body" -w '%{http_code}' "$BASE/$p")
	want="$status $(stat -c %s "$IT_NET/direct.body") $(sha256sum <"$IT_NET/direct.body" | cut -d' ' -f1)"
	got=$(jq -r '"\(.status) \(.len) \(.sha256)"' <<<"${line:-{\}}" 2>/dev/null)
	it_eq "$p: status, length and sha256 through the mixnet = straight from the server" "$got" "$want"
done

# the bytes went through our NR: its front counted the connections it opened
NRSTATS=$(it_nr_stats)
it_log "network requester: $NRSTATS"
it_check "the network requester opened a connection per request" \
	test "$(sed -n 's/.*connections_opened=\([0-9]*\).*/\1/p' <<<"$NRSTATS")" -ge ${#PATHS[@]}
it_finish
