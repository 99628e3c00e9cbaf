#!/usr/bin/env bash
# Builds one C library for wasm32-unknown-emscripten from Debian 12's own source package
# (apt-get source; needs the deb-src entry `make wasm-deps` adds) into DEPS/prefix, and
# writes DEPS/stamp/LIB last. Nothing is copied into the repository.
#   wasm/deps.sh LIB DEPS      LIB: libsodium libgpg-error libgcrypt msgpack-c cjson
# The log of each step goes to DEPS/log/LIB.log; on failure its tail is printed.
set -euo pipefail
lib=$1
DEPS=$(realpath -m "$2")
SRC=$DEPS/src
PREFIX=$DEPS/prefix
LOG=$DEPS/log/$lib.log
JOBS=${WASM_JOBS:--j2}
HOST=wasm32-unknown-emscripten
export NODE_PATH=/usr/share/nodejs # emcc needs Debian's acorn
mkdir -p "$SRC" "$PREFIX/include" "$PREFIX/lib" "$DEPS/stamp" "$DEPS/log"
: >"$LOG"

fail() {
	echo "wasm/deps.sh: building $lib failed; the end of $LOG:" >&2
	tail -25 "$LOG" >&2
	exit 1
}
trap fail ERR

command -v emcc >/dev/null || { echo "wasm/deps.sh: emcc missing (make wasm-deps)" >&2; exit 1; }

# The unpacked Debian source (patches applied) of package $1, fresh each time.
unpack() {
	local pkg=$1 dir
	rm -rf "${SRC:?}/$pkg"
	mkdir -p "$SRC/$pkg"
	# a deb-src entry added without an apt-get update since: update once and retry
	(cd "$SRC/$pkg" && apt-get source -qq "$pkg") >>"$LOG" 2>&1 ||
		{ apt-get update -qq && cd "$SRC/$pkg" && apt-get source -qq "$pkg"; } >>"$LOG" 2>&1
	dir=$(find "$SRC/$pkg" -mindepth 1 -maxdepth 1 -type d | head -1)
	[ -n "$dir" ] || { echo "apt-get source $pkg: no source tree" >>"$LOG"; false; }
	echo "$dir"
}

step() { echo "== $*" >>"$LOG"; "$@" >>"$LOG" 2>&1; }

case $lib in
libsodium)
	d=$(unpack libsodium)
	cd "$d"
	step ./autogen.sh -s # the Debian source ships no configure
	step emconfigure ./configure --prefix="$PREFIX" --host=$HOST --disable-shared \
		--without-pthreads --disable-ssp --disable-asm --disable-pie CFLAGS="-O3 -msimd128"
	step emmake make "$JOBS"
	step emmake make install
	;;
libgpg-error)
	d=$(unpack libgpg-error)
	cd "$d"
	step emconfigure ./configure --prefix="$PREFIX" --host=$HOST --disable-shared \
		--disable-threads --disable-nls --disable-doc --disable-tests --disable-languages \
		CFLAGS=-O2
	step emmake make "$JOBS"
	step emmake make install
	;;
libgcrypt)
	[ -e "$DEPS/stamp/libgpg-error" ] || { echo "libgcrypt needs libgpg-error first" >&2; exit 1; }
	d=$(unpack libgcrypt20)
	cd "$d"
	# its 2016 config.sub/config.guess do not know "emscripten"
	cp /usr/share/misc/config.sub /usr/share/misc/config.guess build-aux/
	# else configure takes the native gpgrt-config and links the host's libgpg-error
	export PATH=$PREFIX/bin:$PATH
	no_cpu=""
	for x in padlock aesni shaext pclmul sse41 drng avx avx2 neon arm-crypto ppc-crypto; do
		no_cpu+=" --disable-$x-support"
	done
	# a small library: AES (CTR, GCM-SIV), ChaCha20 (cipher-poly1305.c needs it), SHA-256
	# (HMAC and the DRBG), ECC (the build wants one public-key algorithm)
	# shellcheck disable=SC2086
	step emconfigure ./configure --prefix="$PREFIX" --host=$HOST --disable-shared \
		--disable-asm --disable-jent-support $no_cpu --disable-doc \
		--with-libgpg-error-prefix="$PREFIX" \
		--enable-ciphers=aes,chacha20 --enable-digests=sha256 --enable-pubkey-ciphers=ecc \
		CFLAGS=-O2
	# the library only: its tests/ do not link without a larger wasm memory
	for sub in compat mpi cipher random src; do
		step emmake make "$JOBS" -C $sub
	done
	step emmake make -C src install
	;;
msgpack-c)
	# msgpack-c's C part is five files and two generated headers (CMake would only
	# substitute the byte order into them: wasm is little-endian)
	d=$(unpack msgpack-c)
	cd "$d"
	for h in sysdep pack_template; do
		sed -e 's/@MSGPACK_ENDIAN_BIG_BYTE@/0/' -e 's/@MSGPACK_ENDIAN_LITTLE_BYTE@/1/' \
			cmake/$h.h.in >include/msgpack/$h.h
	done
	mkdir -p obj
	for c in objectc unpack version vrefbuffer zone; do
		step emcc -O2 -Iinclude -c src/$c.c -o obj/$c.o
	done
	rm -f "$PREFIX/lib/libmsgpackc.a"
	step emar rcs "$PREFIX/lib/libmsgpackc.a" obj/*.o
	rm -rf "$PREFIX/include/msgpack"
	cp -r include/msgpack include/msgpack.h "$PREFIX/include/"
	;;
cjson)
	d=$(unpack cjson)
	cd "$d"
	step emcc -O2 -c cJSON.c -o cJSON.o
	rm -f "$PREFIX/lib/libcjson.a"
	step emar rcs "$PREFIX/lib/libcjson.a" cJSON.o
	mkdir -p "$PREFIX/include/cjson"
	cp cJSON.h "$PREFIX/include/cjson/"
	;;
*)
	echo "wasm/deps.sh: unknown library $lib" >&2
	exit 2
	;;
esac

trap - ERR
rm -rf "$(dirname "$d")" # the unpacked source is not kept
basename "$d" >"$DEPS/stamp/$lib"
echo "wasm/deps.sh: $lib built ($(cat "$DEPS/stamp/$lib"))"
