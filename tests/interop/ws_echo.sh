#!/usr/bin/env bash
# Our C websocket server (common/websocket via tools/wsecho) against node's `ws` client; see
# ws-echo-check.mjs. Needs $BUILD/bin/wsecho and the setup cache (installed on first use).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
WSECHO=$BUILD/bin/wsecho
[ -x "$WSECHO" ] || { echo "ws_echo: $WSECHO not built"; exit 1; }
sh "$HERE/setup" >/dev/null
OUT=$(mktemp)
trap 'kill $PID 2>/dev/null || true; rm -f "$OUT"' EXIT
"$WSECHO" --max-message 1048576 >"$OUT" &
PID=$!
for _ in $(seq 50); do grep -q '^listening ' "$OUT" && break; sleep 0.1; done
PORT=$(awk '/^listening /{print $2}' "$OUT")
[ -n "$PORT" ] || { echo "ws_echo: wsecho did not start"; exit 1; }
node "$HERE/ws-echo-check.mjs" "$PORT"
sleep 0.2
echo "wsecho saw:"; grep '^closed ' "$OUT"
grep -q '^closed 1009 message from the peer too big' "$OUT"
grep -q '^closed 1000 closed by the peer' "$OUT"
