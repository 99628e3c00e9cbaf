/* RepliableMessage, ReplyMessage and ReplySurb parsers on outside bytes. The first byte
 * picks the parser; whatever parses must encode back to the same bytes (for the SURB
 * list messages without content, to the bytes up to the end of the last SURB). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/replies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void repliable(const uint8_t *in, size_t len)
{
	struct nym_repliable_msg m;
	struct nym_reply_surb *surbs;
	uint8_t *out;
	size_t want;
	long n;

	if (nym_repliable_parse(in, len, &m) != NYM_REPLY_OK)
		return;
	CHECK(m.content_tag <= NYM_REPLIABLE_HEARTBEAT_V2);
	CHECK(m.data >= in && m.data + m.data_len == in + len);
	surbs = calloc(m.num_surbs ? m.num_surbs : 1, sizeof *surbs);
	out = malloc(len);
	CHECK(surbs && out);
	for (size_t i = 0; i < m.num_surbs; i++) {
		CHECK(nym_repliable_surb(&m, i, &surbs[i]) == NYM_REPLY_OK);
		CHECK(surbs[i].key_rotation == m.key_rotation);
		CHECK(nym_reply_surb_len(&surbs[i]) == m.surb_len);
	}
	n = nym_repliable_encode(m.sender_tag, m.content_tag, surbs, m.num_surbs, m.data, m.data_len,
	                         out, len);
	want = (m.content_tag == NYM_REPLIABLE_DATA_V1 || m.content_tag == NYM_REPLIABLE_DATA_V2)
	           ? len : len - m.data_len;
	/* V2 with no SURBs encodes hops 0 / rotation 0; compare only when the header agrees */
	if (!(m.num_surbs == 0 && m.content_tag > NYM_REPLIABLE_HEARTBEAT_V1 &&
	      (in[19] != 0 || in[20] != 0))) {
		CHECK(n == (long)want);
		CHECK(memcmp(out, in, want) == 0);
	}
	free(surbs);
	free(out);
}

static void reply_message(const uint8_t *in, size_t len)
{
	struct nym_reply_msg m;
	uint8_t *out;

	if (nym_reply_msg_parse(in, len, &m) != NYM_REPLY_OK)
		return;
	out = malloc(len);
	CHECK(out);
	CHECK(nym_reply_msg_encode(&m, out, len) == (long)len);
	CHECK(memcmp(out, in, len) == 0);
	CHECK(m.content_tag == NYM_REPLY_DATA || len == 1 + NYM_SURB_REQUEST_LEN);
	free(out);
}

static void reply_surb(const uint8_t *in, size_t len)
{
	static struct nym_reply_surb s;
	static uint8_t out[NYM_REPLY_SURB_MAX_LEN];

	if (nym_reply_surb_from_bytes(in, len, &s) != NYM_REPLY_OK)
		return;
	CHECK(nym_reply_surb_len(&s) == len);
	CHECK(nym_reply_surb_to_bytes(&s, out, sizeof out) == (long)len);
	CHECK(memcmp(out, in, len) == 0);
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
	switch (data[0] % 3) {
	case 0: repliable(data + 1, size - 1); break;
	case 1: reply_message(data + 1, size - 1); break;
	default: reply_surb(data + 1, size - 1); break;
	}
	return 0;
}
