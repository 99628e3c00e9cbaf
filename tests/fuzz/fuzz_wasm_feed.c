/* What the browser's key Worker and page take from the other contexts: datagrams from any
 * role, fed to keyd's operations (wasm/c/nsw_keyd.c) and to the engine (nsw_engine.c) as the
 * wasm build does, natively here. Input: records of target (1 byte: bit 0 keyd or engine,
 * bits 1-2 the sending role, bit 3 which keyd timer fires after it) || length (2 bytes BE) ||
 * datagram. Properties: nothing crashes
 * or leaks; every datagram either state emits decodes as its receiver decodes it; no event
 * keyd emits carries one of its keys (the seed, the x25519 secret, the ack key, the gateway
 * shared key) unless the input itself did (keyd passes node addresses and payloads through,
 * and the fuzzer learns the keys from comparisons); a keyd state that refused a datagram
 * takes nothing more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_codec.h"
#include "nsw_api.h"
#include "nsw_outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static uint8_t keys[NSW_KEYD_KEYS_LEN];

/* where keyd's keys lie in the blob it starts from */
static const struct {
	size_t off, len;
} secret_at[] = {
	{0, 32},   /* identity seed */
	{32, 32},  /* x25519 secret */
	{64, 16},  /* ack key */
	{113, 32}, /* gateway shared key */
};
#define N_SECRETS (sizeof secret_at / sizeof secret_at[0])
static unsigned secrets_in_input; /* bit i: the input carries secret i, so events may too */

static void make_keys(void)
{
	for (size_t i = 0; i < sizeof keys; i++)
		keys[i] = (uint8_t)(0x5a ^ (i * 37));
	keys[112] = 1;
	memset(keys + 145, 0, 8);
}

/* memchr finds the candidates: a memcmp at every offset went through libFuzzer's memcmp hook
 * each time, 16 % of the target's time. */
static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (const uint8_t *p = hay, *end = hay + n; m <= (size_t)(end - p);) {
		p = memchr(p, needle[0], (size_t)(end - p) - m + 1);
		if (!p)
			return 0;
		if (!memcmp(p, needle, m))
			return 1;
		p++;
	}
	return 0;
}

/* Drains a state's events: datagrams must decode at their receiver; keyd's carry no key. */
static void drain(struct nsw_event *(*next)(void *), void *st, enum ns_ipc_role self, int is_keyd)
{
	struct nsw_event *ev;
	while ((ev = next(st))) {
		if (ev->kind == NSW_EV_DATAGRAM) {
			struct ns_ipc_msg m;
			CHECK(ev->arg[0] < NS_IPC_ROLE_COUNT);
			CHECK(ns_ipc_decode((enum ns_ipc_role)ev->arg[0], self, ev->data, ev->len, &m) == 0);
		}
		for (size_t i = 0; is_keyd && i < N_SECRETS; i++)
			CHECK((secrets_in_input >> i & 1) ||
			      !contains(ev->data, ev->len, keys + secret_at[i].off, secret_at[i].len));
		nsw_event_free(ev);
	}
}

static struct nsw_event *keyd_next(void *st) { return nsw_keyd_next(st); }
static struct nsw_event *engine_next(void *st) { return nsw_engine_next(st); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		CHECK(nsw_init() == 0);
		make_keys();
		init = 1;
	}
	secrets_in_input = 0;
	for (size_t i = 0; i < N_SECRETS; i++)
		if (contains(data, size, keys + secret_at[i].off, secret_at[i].len))
			secrets_in_input |= 1u << i;
	uint8_t blob[NSW_KEYD_KEYS_LEN];
	memcpy(blob, keys, sizeof blob);
	struct nsw_keyd *k = nsw_keyd_new(blob);
	struct nsw_engine *e = nsw_engine_new();
	CHECK(k && e);
	nsw_keyd_start(k);
	drain(keyd_next, k, NS_IPC_KEYD, 1);
	int keyd_stopped = 0;
	while (size >= 3) {
		unsigned target = data[0] & 1, role = (data[0] >> 1) & 3, timer = 1 + ((data[0] >> 3) & 1);
		size_t len = (size_t)data[1] << 8 | data[2];
		data += 3, size -= 3;
		if (len > size)
			len = size;
		if (target == 0) {
			int rc = nsw_keyd_feed(k, role, data, len);
			CHECK(!keyd_stopped || rc == NSW_KEYD_EPROTOCOL);
			keyd_stopped |= rc < 0;
			drain(keyd_next, k, NS_IPC_KEYD, 1);
			nsw_keyd_timer(k, timer);
			drain(keyd_next, k, NS_IPC_KEYD, 1);
		} else {
			nsw_engine_feed(e, role, data, len);
			drain(engine_next, e, NS_IPC_APID, 0);
		}
		data += len, size -= len;
	}
	nsw_keyd_free(k);
	nsw_engine_free(e);
	return 0;
}
