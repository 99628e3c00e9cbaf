#!/usr/bin/env bash
# The wasm build (`make wasm`, run by `make check` before the tests) under node:
#  1. the known-answer runner (tests/kat/), compiled with emcc against the wasm builds of
#     libsodium, libgcrypt, BLAKE3, msgpack-c and cJSON, passes every check of the real-client
#     vector file, with the same count as the native runner;
#  2. nymsuite.wasm's exported API (wasm/c/nsw_api.h) rebuilds every real-client Sphinx packet
#     and SURB-ack byte for byte, processes every hop, and decodes IPC as strictly as natively
#     (tests/wasm/api_test.mjs);
#  3. tests/wasm/probe.c built natively and with emcc prints identical X25519, BLAKE3 (up to
#     1 MiB), SHA-256, AES-256-GCM-SIV, Sphinx and IPC results.
# A missing wasm build or toolchain is a failure, not a skip. Exit 0 = pass.
set -euo pipefail
# emcc's node glue would fetch() the .wasm by path under node >= 18: read it from disk
NODE_NOFETCH=--no-experimental-fetch
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# the wasm module (make asan points at the normal build's: wasm is not instrumented)
W=${WASM_DIR:-$ROOT/$BUILD/wasm}
VECTORS=$ROOT/tests/vectors/real-client-packets.json
fail() { echo "FAIL: $*"; exit 1; }

command -v node >/dev/null || fail "node is missing"
command -v emcc >/dev/null || fail "emcc is missing (make wasm installs it)"
for f in nymsuite.mjs nymsuite.wasm kat.js kat.wasm probe.js probe.wasm probe-native; do
	[ -e "$W/$f" ] || fail "missing $W/$f (run make wasm)"
done
[ -x "$ROOT/$BUILD/kat" ] || fail "missing $ROOT/$BUILD/kat (run make)"
T=$(mktemp -d /tmp/wasm-build.XXXXXX)
trap 'rm -rf "$T"' EXIT

echo "== 1. known-answer checks in wasm"
node $NODE_NOFETCH "$W/kat.js" "$VECTORS" >"$T/kat-wasm.out" 2>&1 || { tail -20 "$T/kat-wasm.out"; fail "kat.js"; }
"$ROOT/$BUILD/kat" "$VECTORS" >"$T/kat-native.out" 2>&1 || { tail -20 "$T/kat-native.out"; fail "native kat"; }
wasm_line=$(tail -1 "$T/kat-wasm.out")
native_line=$(tail -1 "$T/kat-native.out")
echo "wasm: $wasm_line; native: $native_line"
[[ $wasm_line =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] || fail "wasm kat: $wasm_line"
[ "$wasm_line" = "$native_line" ] || fail "wasm and native kat counts differ"

echo "== 2. the exported API"
node "$ROOT/tests/wasm/api_test.mjs" "$W" "$VECTORS" | tee "$T/api.out"
[ "${PIPESTATUS[0]}" = 0 ] || fail "api_test.mjs"
n=$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$T/api.out")
# 14 packets: rebuilt, 4 hops, plaintext or not, SURB-ack rebuilt and its hops, + IPC checks
[ "${n:-0}" -ge 100 ] || fail "api_test.mjs ran only ${n:-0} checks"

echo "== 3. wasm and native agree"
node $NODE_NOFETCH "$W/probe.js" >"$T/probe-wasm.out" || fail "probe.js"
"$W/probe-native" >"$T/probe-native.out" || fail "probe-native"
diff "$T/probe-native.out" "$T/probe-wasm.out" || fail "wasm and native probes differ"
lines=$(wc -l <"$T/probe-wasm.out")
[ "$lines" -ge 30 ] || fail "probe printed only $lines lines"
grep -qx 'x25519_agree 1' "$T/probe-wasm.out" || fail "x25519 shared secrets differ"
grep -qx 'gcmsiv_open 1000 1' "$T/probe-wasm.out" || fail "gcm-siv round trip"
grep -qx 'gcmsiv_open_tampered -1' "$T/probe-wasm.out" || fail "gcm-siv accepted a tampered ciphertext"
grep -qx 'sphinx259_recovered 0 1' "$T/probe-wasm.out" || fail "sphinx v259 round trip"
grep -qx 'ipc_ack_same 1' "$T/probe-wasm.out" || fail "ipc recode"
echo "probe: $lines identical lines"

sizes=$(for f in nymsuite.wasm nymsuite.mjs; do
	printf '%s %s B (%s B gzipped); ' "$f" "$(stat -c %s "$W/$f")" "$(gzip -9c "$W/$f" | wc -c)"; done)
echo "sizes: $sizes"
echo "PASS"
