/* The engine's reply bytes (common/engine/replies.c) on outside bytes. The first byte
 * picks: even = a SURB list from keyd (what parses encodes back to the same bytes),
 * odd = a reassembled message (what classifies is consistent, and a RepliableMessage Data
 * or AdditionalSurbs rebuilds to the bytes it came from). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/message.h"
#include "nymsphinx/replies.h"

#include "engine/replies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void surb_list(const uint8_t *in, size_t len)
{
	struct ns_surb_list l;
	if (ns_surb_list_parse(in, len, 32, &l) != 0)
		return;
	CHECK(l.count <= 32);
	CHECK(l.count == 0 || ns_surb_version(l.surb_len));
	uint8_t *out = malloc(len);
	CHECK(out);
	CHECK(ns_surb_list_encode(l.surbs, l.count, l.surb_len, out, len) == len);
	CHECK(memcmp(out, in, len) == 0);
	free(out);
}

static void rebuild_repliable(const uint8_t *in, size_t len, const struct ns_rx *rx)
{
	int data = rx->content_tag == NYM_REPLIABLE_DATA_V1 || rx->content_tag == NYM_REPLIABLE_DATA_V2;
	int additional = rx->content_tag == NYM_REPLIABLE_ADDITIONAL_SURBS_V1 ||
	                 rx->content_tag == NYM_REPLIABLE_ADDITIONAL_SURBS_V2;
	/* V2 with no SURB: the builder writes hops 0 / rotation 0 whatever the input said */
	if ((!data && !additional) || rx->surbs.count == 0)
		return;
	const uint8_t *inner = in + 1; /* after the NymMessage type byte */
	size_t want = ns_repliable_len(data, rx->surbs.count, rx->surbs.surb_len, rx->msg_len);
	uint8_t *out = malloc(want);
	CHECK(out);
	long n = ns_repliable_build(rx->tag, data, rx->surbs.surbs, rx->surbs.count,
	                              rx->surbs.surb_len, rx->key_rotation, rx->msg, rx->msg_len,
	                              out, want);
	CHECK(n == (long)want);
	CHECK(out[16] == rx->content_tag);
	CHECK(memcmp(out, inner, want) == 0);
	free(out);
	(void)len;
}

static void message(const uint8_t *in, size_t len)
{
	struct ns_rx rx;
	if (ns_rx_classify(in, len, &rx) != 0)
		return;
	CHECK(rx.type == in[0]);
	switch (rx.action) {
	case NS_RX_DELIVER:
		CHECK(rx.msg_len == 0 || (rx.msg > in && rx.msg + rx.msg_len <= in + len));
		CHECK(rx.has_tag == (rx.type == NYM_MSG_REPLIABLE));
		break;
	case NS_RX_SURBS:
		CHECK(rx.has_tag && rx.type == NYM_MSG_REPLIABLE);
		break;
	case NS_RX_SURB_REQUEST:
		CHECK(rx.type == NYM_MSG_REPLY && !rx.has_tag);
		break;
	default:
		abort();
	}
	if (rx.surbs.count)
		CHECK(rx.surbs.surbs > in && rx.surbs.surbs + rx.surbs.count * rx.surbs.surb_len <= in + len);
	if (rx.type == NYM_MSG_REPLIABLE)
		rebuild_repliable(in, len, &rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		CHECK(ns_crypto_init() == 0);
		init = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		message(data + 1, size - 1);
	else
		surb_list(data + 1, size - 1);
	return 0;
}
