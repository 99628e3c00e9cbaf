# nymsuite build. Sources are discovered by folder, so adding a module never
# means editing this file:
#   common/**/*.c        -> $(BUILD)/libnymcommon.a
#   tests/unit/test_*.c  -> one cmocka binary each (tests/unit/util_*.c is shared test code)
#   tests/kat/*.c        -> $(BUILD)/kat (known-answer checks on real-client vectors)
#   tests/fuzz/fuzz_*.c  -> one libFuzzer target each (clang)
#   bench/bench_*.c      -> one benchmark each
#   WASM_SRC (below)     -> $(BUILD)/wasm/nymsuite.{mjs,wasm} (`make wasm`, the browser client)
SHELL    := /bin/bash
BUILD    ?= build
VERSION  := 0.1.0
CC       ?= gcc
CSTD     := -std=c17
WARN     := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Icommon -Iclient/suite -Itests -I$(BUILD)/include
CFLAGS   += $(CSTD) $(WARN) $(OPT) -fstack-protector-strong -D_FORTIFY_SOURCE=2 $(EXTRA_CFLAGS)
LDFLAGS  += $(EXTRA_LDFLAGS)
LIBS     := -lev -lwslay -lmsgpackc -lseccomp -lcjson -lsqlite3 -lsodium -lgcrypt -lgpg-error -lm
TEST_LIBS := -lcmocka

VECTORS  ?= tests/vectors/real-client-packets.json
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3
JOBS ?= -j$(shell nproc 2>/dev/null || echo 2)

# BLAKE3: the official C implementation as shipped by Debian's librust-blake3-dev,
# compiled here (never copied into the tree).
BLAKE3_DIR ?= $(firstword $(wildcard /usr/share/cargo/registry/blake3-*/c))
BLAKE3_SRC := blake3.c blake3_dispatch.c blake3_portable.c \
              blake3_sse2_x86-64_unix.S blake3_sse41_x86-64_unix.S \
              blake3_avx2_x86-64_unix.S blake3_avx512_x86-64_unix.S
BLAKE3_OBJ := $(patsubst %,$(BUILD)/blake3/%.o,$(BLAKE3_SRC))

COMMON_SRC := $(shell find common -name '*.c' | sort)
COMMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(COMMON_SRC))
LIBCOMMON  := $(BUILD)/libnymcommon.a

TEST_UTIL_SRC := $(sort $(wildcard tests/unit/util_*.c))
TEST_UTIL_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_UTIL_SRC))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
KAT_SRC    := $(sort $(wildcard tests/kat/*.c))
KAT_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(KAT_SRC))
KAT_BIN    := $(BUILD)/kat
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
# Programs: every folder PROGDIR/NAME/ with .c files becomes $(BUILD)/bin/NAME; nymctl/ too.
# A client program is its CLI (client/NAME/main.c) plus what the three clients share
# (client/suite/: supervisor, process start, confinement) and one folder per child process.
PROG_DIRS  := $(sort $(filter-out client/suite,$(patsubst %/,%,$(dir $(wildcard localnet/*/*.c client/*/*.c tools/*/*.c nymctl/*.c)))))
CLIENT_SUITE := client/suite keyd netd
PROG_EXTRA_nym-client := $(sort $(wildcard $(addsuffix /*.c,$(CLIENT_SUITE) apid)))
PROG_EXTRA_nym-socks5-client := $(sort $(wildcard $(addsuffix /*.c,$(CLIENT_SUITE) socksd)))
PROG_EXTRA_nym-network-requester := $(sort $(wildcard $(addsuffix /*.c,$(CLIENT_SUITE) exitd)))
PROG_BIN   := $(foreach d,$(PROG_DIRS),$(BUILD)/bin/$(notdir $(d)))
# One man page per client program, printed by the program from its CLI table.
MAN_PAGES  := $(patsubst client/%/main.c,$(BUILD)/man/%.1,$(wildcard client/*/main.c))
BUILDINFO  := $(BUILD)/include/nc_buildinfo.h

DEB_PKGS := build-essential clang libsodium-dev libgcrypt20-dev libev-dev libmsgpack-dev \
            libseccomp-dev libcmocka-dev libcjson-dev libwslay-dev librust-blake3-dev \
            libcurl4-openssl-dev libssl-dev openssl libsqlite3-dev \
            pkg-config python3-websockets curl jq strace proxychains4 python3-socks chromium
DEP_HEADERS := /usr/include/sodium.h /usr/include/gcrypt.h /usr/include/ev.h \
               /usr/include/msgpack.h /usr/include/seccomp.h /usr/include/cmocka.h \
               /usr/include/cjson/cJSON.h /usr/include/wslay/wslay.h /usr/include/sqlite3.h \
               /usr/include/openssl/ssl.h /usr/bin/openssl \
               /usr/include/$(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/curl/curl.h /usr/bin/jq /usr/bin/curl /usr/bin/strace \
               /usr/lib/python3/dist-packages/websockets /usr/bin/proxychains4 \
               /usr/lib/python3/dist-packages/socks.py /usr/bin/chromium

.PHONY: all deps wasm wasm-deps wasm-package check unit kat asan fuzz fuzz-build fuzz-long bench clean demo deb
all: $(LIBCOMMON) $(TEST_BIN) $(KAT_BIN) $(BENCH_BIN) $(PROG_BIN) $(MAN_PAGES)

# Installs the Debian 12 packages when a header or tool is missing (needs root).
deps:
	@missing=0; for h in $(DEP_HEADERS); do [ -e $$h ] || missing=1; done; \
	[ -n "$(BLAKE3_DIR)" ] || missing=1; command -v clang >/dev/null || missing=1; \
	node=; command -v node >/dev/null && command -v npm >/dev/null || node="nodejs npm"; \
	if [ $$missing = 1 ] || [ -n "$$node" ]; then \
	  echo "deps: installing Debian packages"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PKGS) $$node; \
	fi

$(BUILD)/blake3/%.c.o: $(BLAKE3_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) $(EXTRA_CFLAGS) -fPIC -c $< -o $@
$(BUILD)/blake3/%.S.o: $(BLAKE3_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@
$(BUILD)/include/blake3.h: $(BLAKE3_DIR)/blake3.h
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/obj/%.o: %.c $(BUILD)/include/blake3.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ) $(BLAKE3_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_UTIL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LIBS)

# keyd's operations and the engine wired through their host interface, without processes
$(BUILD)/tests/test_keyd_ops: $(BUILD)/obj/tests/unit/test_keyd_ops.o \
  $(patsubst %.c,$(BUILD)/obj/%.o,keyd/keyd_ops.c keyd/keyd_prep.c keyd/keyd_surbs.c) \
  $(TEST_UTIL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LIBS)
$(BUILD)/obj/tests/unit/test_keyd_ops.o: CPPFLAGS += -Ikeyd
# the key Worker's sealed store and keyd glue (wasm/c/), built natively
$(BUILD)/tests/test_nsw_keystore: $(BUILD)/obj/tests/unit/test_nsw_keystore.o \
  $(patsubst %.c,$(BUILD)/obj/%.o,keyd/keyd_ops.c keyd/keyd_prep.c keyd/keyd_surbs.c \
  wasm/c/nsw_keystore.c wasm/c/nsw_keyd.c \
  wasm/c/nsw_outbox.c wasm/c/nsw_api.c) $(TEST_UTIL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LIBS)
$(BUILD)/obj/tests/unit/test_nsw_keystore.o: CPPFLAGS += -Ikeyd -Iwasm/c
# netd's operations with a scripted host (no socket, no libev)
$(BUILD)/tests/test_netd_ops: $(BUILD)/obj/tests/unit/test_netd_ops.o $(BUILD)/obj/netd/netd_ops.o \
  $(TEST_UTIL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LIBS)
$(BUILD)/obj/tests/unit/test_netd_ops.o: CPPFLAGS += -Inetd

$(KAT_BIN): $(KAT_OBJ) $(TEST_UTIL_OBJ) $(LIBCOMMON)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(TEST_LIBS) $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS)

define prog_rule
$(BUILD)/bin/$(notdir $(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c) $(PROG_EXTRA_$(notdir $(1)))) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ -o $$@ $$(LIBS)
endef
$(foreach d,$(PROG_DIRS),$(eval $(call prog_rule,$(d))))

# build-info's values: scripts/buildinfo.sh, run as make starts, rewrites the header only when
# they change (a new commit), so cli.o is rebuilt only then
$(shell mkdir -p $(BUILD)/include && CC="$(CC)" scripts/buildinfo.sh $(BUILDINFO) \
  $(if $(findstring -O0,$(OPT)),debug,release))
$(BUILD)/obj/client/suite/cli.o: $(BUILDINFO)

$(BUILD)/man/%.1: $(BUILD)/bin/%
	@mkdir -p $(dir $@)
	$< --nymsuite-man-page >$@

# ---- wasm: the browser client's engine, built with Debian's emscripten (wasm/README.md)
# libsodium, libgpg-error, libgcrypt, msgpack-c and cJSON are built from Debian 12's source
# packages by wasm/deps.sh into $(WASM_DEPS)/prefix, once: a stamp per library (cold: ~10-20
# minutes on 2 loaded cores, configure scripts mostly; then cached).
WASM       := $(BUILD)/wasm
WASM_DEPS  := $(WASM)/deps
# the longest builds first: `make wasm-deps` runs three at a time
WASM_LIBS  := libgpg-error libsodium msgpack-c cjson libgcrypt
WASM_STAMP := $(addprefix $(WASM_DEPS)/stamp/,$(WASM_LIBS))
WASM_DEB_PKGS := emscripten autoconf automake libtool dpkg-dev librust-blake3-dev
EMCC       := NODE_PATH=/usr/share/nodejs emcc
# The portable part of common/: packet formats, crypto wrappers, the IPC codec, topology JSON.
# Whole folders, plus the named top-level modules; the rest of common/ is process glue (libev,
# sockets, files, seccomp, SQLite, libcurl) and stays native. A new module is native-only
# until it is named here.
WASM_DIRS  := common/sphinx common/nymsphinx common/gateway
WASM_MODS  := crypto lioness base58 ipc_codec jsonget topology_json nymapi nymapi_fetch traffic \
              engine/replies engine/engine engine/frags log clientconf_debug sdk_payload gwclient gateway_pick \
              rstime ephemeral
# keyd's operations without its process (keyd.c, keyd_store.c: files, libev, the sandbox)
WASM_KEYD  := keyd/keyd_ops.c keyd/keyd_prep.c keyd/keyd_surbs.c
# netd's operations without its process (netd.c: libev, websocket/TLS, curl, the sandbox)
WASM_NETD  := netd/netd_ops.c
WASM_SRC   := $(sort $(wildcard $(addsuffix /*.c,$(WASM_DIRS))) $(patsubst %,common/%.c,$(WASM_MODS)) \
              $(WASM_KEYD) $(WASM_NETD))
WASM_GLUE  := $(sort $(wildcard wasm/c/*.c))
WASM_OBJ   := $(patsubst %.c,$(WASM)/obj/%.o,$(WASM_SRC) $(WASM_GLUE))
WASM_BLAKE3 := $(patsubst %,$(WASM)/blake3/%.o,blake3 blake3_dispatch blake3_portable)
WASM_CFLAGS := $(CSTD) $(WARN) -O2 -D_GNU_SOURCE -Icommon -Iclient/suite -Ikeyd -Inetd -Iwasm/c -I$(WASM)/include \
               -I$(WASM_DEPS)/prefix/include
WASM_LDLIBS := -L$(WASM_DEPS)/prefix/lib -lsodium -lgcrypt -lgpg-error -lmsgpackc -lcjson
# single-threaded, no ports, memory grows; node only for the tests
WASM_LDFLAGS := -O2 -sENVIRONMENT=web,worker,node -sALLOW_MEMORY_GROWTH=1 -sMODULARIZE=1 \
                -sEXPORT_ES6=1 -sEXPORT_NAME=createNymsuite \
                -sEXPORTED_RUNTIME_METHODS=UTF8ToString
# the known-answer runner and a probe of the crypto, compiled to wasm for node (tests/wasm/)
WASM_KAT_SRC := $(KAT_SRC) tests/unit/util_hex.c
WASM_KAT_OBJ := $(patsubst %.c,$(WASM)/obj/%.o,$(WASM_KAT_SRC))

wasm: deps wasm-deps
	$(MAKE) $(JOBS) $(WASM)/nymsuite.mjs $(WASM)/kat.js $(WASM)/probe.js $(WASM)/probe-native
	$(MAKE) wasm-package

# The npm package (wasm/package/ + wasm/js/hosts.mjs + the module) assembled in
# $(WASM)/package and packed offline into $(WASM)/nymsuite-sdk-VERSION.tgz (npm's own cache
# kept in the build folder; the package has no dependency, so nothing is fetched).
WASM_PKG := $(WASM)/package
wasm-package: $(WASM)/nymsuite.mjs
	rm -rf $(WASM_PKG) && mkdir -p $(WASM_PKG)
	cp wasm/package/* wasm/js/hosts.mjs $(WASM)/nymsuite.mjs $(WASM)/nymsuite.wasm $(WASM_PKG)/
	rm -f $(WASM)/nymsuite-sdk-*.tgz
	cd $(WASM) && npm pack --offline --ignore-scripts --cache "$(CURDIR)/$(WASM)/npm-cache" ./package

# Installs emscripten and the tools the libraries' builds use, and adds the deb-src entry
# derived from the system's own (apt-get source needs it). Needs root when something is missing.
wasm-deps: deps
	@missing=; for t in emcc autoreconf libtoolize dpkg-source; do \
	  command -v $$t >/dev/null || missing=1; done; [ -n "$(BLAKE3_DIR)" ] || missing=1; \
	if [ -n "$$missing" ]; then echo "wasm-deps: installing Debian packages"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $(WASM_DEB_PKGS); fi
	@if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
	    ! grep -qs '^deb-src' /etc/apt/sources.list; then \
	  echo "wasm-deps: adding the deb-src entry"; \
	  if [ -e /etc/apt/sources.list.d/debian.sources ]; then \
	    sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
	      >/etc/apt/sources.list.d/debian-src.sources; \
	  else sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/debian-src.list; fi; \
	  apt-get update; fi
	@$(MAKE) --no-print-directory -j3 $(WASM_STAMP)

$(WASM_DEPS)/stamp/libgcrypt: $(WASM_DEPS)/stamp/libgpg-error
# No dependency on wasm/deps.sh itself: after changing it, delete the stamps it concerns.
$(WASM_DEPS)/stamp/%:
	WASM_JOBS=$(JOBS) wasm/deps.sh $* $(WASM_DEPS)

$(WASM)/include/blake3.h: $(BLAKE3_DIR)/blake3.h
	@mkdir -p $(dir $@)
	cp $< $@
$(WASM)/blake3/%.o: $(BLAKE3_DIR)/%.c $(WASM)/include/blake3.h
	@mkdir -p $(dir $@)
	$(EMCC) -std=c11 -O2 -DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512 \
	  -c $< -o $@
$(WASM)/obj/%.o: %.c $(WASM)/include/blake3.h $(WASM_STAMP)
	@mkdir -p $(dir $@)
	$(EMCC) $(WASM_CFLAGS) -Itests -MMD -MP -c $< -o $@
$(WASM)/nymsuite.mjs: $(WASM_OBJ) $(WASM_BLAKE3)
	$(EMCC) $(WASM_LDFLAGS) $^ $(WASM_LDLIBS) -o $@
$(WASM)/kat.js: $(WASM_KAT_OBJ) $(filter-out $(WASM)/obj/wasm/%,$(WASM_OBJ)) $(WASM_BLAKE3)
	$(EMCC) -O2 -sENVIRONMENT=node -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 $^ $(WASM_LDLIBS) -o $@
$(WASM)/probe.js: $(WASM)/obj/tests/wasm/probe.o $(WASM_OBJ) $(WASM_BLAKE3)
	$(EMCC) -O2 -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=1 $^ $(WASM_LDLIBS) -o $@
$(WASM)/probe-native: tests/wasm/probe.c $(WASM_GLUE) $(WASM_KEYD) $(WASM_NETD) $(LIBCOMMON)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ikeyd -Inetd -Iwasm/c $(LDFLAGS) $^ -o $@ $(LIBS)

unit: $(TEST_BIN)
kat: deps $(KAT_BIN)
	$(KAT_BIN) $(VECTORS)

# The whole test suite with one closing "N passed, N failed" line.
check: deps
	$(MAKE) $(JOBS) all
	$(MAKE) wasm
	$(MAKE) $(JOBS) fuzz-build
	BUILD=$(BUILD) VECTORS=$(VECTORS) FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) tests/run.sh

# The whole suite with the native code under AddressSanitizer + UndefinedBehaviorSanitizer.
# The wasm module is not instrumented: the wasm tests use the one of the normal build.
asan: deps
	$(MAKE) $(JOBS) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" all
	$(MAKE) wasm
	BUILD=build/asan WASM_DIR=$(CURDIR)/$(WASM) VECTORS=$(VECTORS) NO_FUZZ=1 tests/run.sh

# libFuzzer targets: common/ rebuilt with clang + sanitizers + coverage.
FUZZ_BUILD ?= build/fuzz
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
fuzz-build: deps
	@if [ -n "$(FUZZ_SRC)" ]; then $(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	  $(FUZZ_BUILD)/libnymcommon.a $(FUZZ_BIN); fi
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libnymcommon.a
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(LIBS)
# the wasm glue's feed of keyd's operations and the engine, built natively with the fuzzer
WASM_FEED_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(WASM_KEYD) wasm/c/nsw_api.c \
                 wasm/c/nsw_outbox.c wasm/c/nsw_engine.c wasm/c/nsw_keyd.c wasm/c/nsw_keystore.c)
$(FUZZ_BUILD)/fuzz_wasm_feed: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_wasm_feed.o $(WASM_FEED_OBJ) \
  $(FUZZ_BUILD)/libnymcommon.a
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(LIBS)
$(FUZZ_BUILD)/fuzz_nsw_keystore: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_nsw_keystore.o $(WASM_FEED_OBJ) \
  $(FUZZ_BUILD)/libnymcommon.a
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(LIBS)
$(BUILD)/obj/wasm/c/%.o $(BUILD)/obj/tests/fuzz/fuzz_wasm_feed.o $(BUILD)/obj/tests/fuzz/fuzz_nsw_keystore.o: \
  CPPFLAGS += -Ikeyd -Inetd -Iwasm/c
# netd's operations fed the gateway's frames, nym-api answers and IPC datagrams
$(FUZZ_BUILD)/fuzz_netd_ops: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_netd_ops.o \
  $(FUZZ_BUILD)/obj/netd/netd_ops.o $(FUZZ_BUILD)/libnymcommon.a
	clang -fsanitize=fuzzer,address,undefined $^ -o $@ $(LIBS)
$(BUILD)/obj/tests/fuzz/fuzz_netd_ops.o: CPPFLAGS += -Inetd
$(BUILD)/obj/keyd/keyd_ops.o: CPPFLAGS += -Ikeyd

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do \
	  n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
	  kept=tests/fuzz/corpus/$$n; [ -d $$kept ] || kept=; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_BUILD)/corpus/$$n $$kept $$seeds 2>&1 \
	    | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true; \
	  [ $${PIPESTATUS[0]} = 0 ] || { echo "$$n: CRASH"; exit 1; }; \
	done

# Every target to FUZZ_RUNS executions (default 10^7), one per core; the inputs that found new
# coverage are merged into the corpus kept in the repo (tests/fuzz/corpus/). Hours, not minutes.
FUZZ_RUNS ?= 10000000
fuzz-long: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/long.sh $(FUZZ_TARGETS)

# The C benchmarks, then our nym-client against the real wasm client (bench/client_vs_wasm) and
# a download through our SOCKS client and NR against curl and the real mix-fetch
# (bench/socks_download); both reuse bench_sphinx's output of this run for their CPU bounds.
# Then the browser clients in Chromium: our package against the real @nymproject/sdk (bench/browser.sh).
# Each output goes to $(BUILD)/bench/out/; bench/summary ends the run with issue 12's ratios.
bench: deps
	$(MAKE) $(JOBS) all
	@mkdir -p $(BUILD)/bench/out
	@for b in $(BENCH_BIN); do $$b | tee $(BUILD)/bench/out/$$(basename $$b).txt; \
	  [ $${PIPESTATUS[0]} = 0 ] || exit 1; done
	set -o pipefail; BUILD=$(BUILD) bench/client_vs_wasm --sphinx-out $(BUILD)/bench/out/bench_sphinx.txt \
	  | tee $(BUILD)/bench/out/client_vs_wasm.txt
	set -o pipefail; BUILD=$(BUILD) bench/socks_download --sphinx-out $(BUILD)/bench/out/bench_sphinx.txt \
	  | tee $(BUILD)/bench/out/socks_download.txt
	BUILD=$(BUILD) bench/idle_memory
	$(MAKE) wasm
	BUILD=$(BUILD) bench/browser.sh
	bench/summary $(BUILD)/bench/out

# The Debian package (packaging/build-deb): build/nymsuite_VERSION_ARCH.deb
deb: all
	packaging/build-deb $(BUILD)

# Brings up a localnet, runs our nym-client on it and sends messages through it (scripts/demo.sh).
demo: deps
	$(MAKE) $(JOBS) all
	BUILD=$(BUILD) scripts/demo.sh

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj $(BUILD)/wasm/obj -name '*.d' 2>/dev/null)
