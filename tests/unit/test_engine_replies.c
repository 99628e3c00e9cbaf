/* The engine's reply bytes (common/engine/replies.c): SURB lists of SURBS /
 * SURBS_RECEIVED and their malformed forms, RepliableMessages from serialized SURBs (the
 * same bytes as nym_repliable_encode), and the classification of reassembled messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "nymsphinx/preparer.h"
#include "nymsphinx/replies.h"
#include "unit/util_nymnet.h"

#include "engine/replies.h"

static struct testnet net;
static struct testclient alice;

static int setup(void **state)
{
	(void)state;
	testnet_init(&net);
	testclient_init(&net, &alice);
	return 0;
}

static void make_surbs(int legacy, size_t n, struct nym_reply_surb *out)
{
	struct nym_preparer p;
	memset(&p, 0, sizeof p);
	p.topology = &net.topo;
	p.self = alice.addr;
	memcpy(p.ack_key, alice.ack_key, sizeof p.ack_key);
	p.average_packet_delay_ns = 1000;
	p.average_ack_delay_ns = 1000;
	p.packet_size_tag = NYM_PACKET_REGULAR;
	assert_int_equal(nym_preparer_reply_surbs(&p, legacy, n, out), 0);
}

/* n serialized SURBs, concatenated; returns the length of one */
static size_t serialize(const struct nym_reply_surb *s, size_t n, uint8_t *out)
{
	size_t one = nym_reply_surb_len(&s[0]);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nym_reply_surb_to_bytes(&s[i], out + i * one, one), (long)one);
	return one;
}

static void test_surb_version(void **state)
{
	(void)state;
	assert_int_equal(ns_surb_version(1164), 1);
	assert_int_equal(ns_surb_version(460), 2);
	assert_int_equal(ns_surb_version(396 + 16), 2);
	assert_int_equal(ns_surb_version(396 + 5 * 16), 2);
	assert_int_equal(ns_surb_version(396 + 6 * 16), 0);
	assert_int_equal(ns_surb_version(396), 0);
	assert_int_equal(ns_surb_version(461), 0);
	assert_int_equal(ns_surb_version(0), 0);
}

static void test_surb_list_round_trip(void **state)
{
	static uint8_t surbs[32 * NYM_REPLY_SURB_V1_LEN], body[4 + sizeof surbs];
	struct nym_reply_surb s[32];
	struct ns_surb_list l;

	(void)state;
	for (int legacy = 0; legacy < 2; legacy++) {
		size_t n = legacy ? 3 : 32;
		make_surbs(legacy, n, s);
		size_t one = serialize(s, n, surbs);
		size_t len = ns_surb_list_encode(surbs, n, one, body, sizeof body);
		assert_int_equal(len, 4 + n * one);
		assert_int_equal(body[3], n);
		assert_int_equal(ns_surb_list_parse(body, len, 32, &l), 0);
		assert_int_equal(l.count, n);
		assert_int_equal(l.surb_len, legacy ? 1164 : 460);
		assert_ptr_equal(l.surbs, body + 4);
		assert_memory_equal(l.surbs, surbs, n * one);
		/* a smaller cap refuses it; a too small output buffer too */
		assert_int_equal(ns_surb_list_parse(body, len, n - 1, &l), NS_REPLIES_ERR_COUNT);
		assert_int_equal(ns_surb_list_encode(surbs, n, one, body, len - 1), 0);
	}
	/* the empty list: keyd's "could not make any" */
	assert_int_equal(ns_surb_list_encode(NULL, 0, 0, body, sizeof body), 4);
	assert_int_equal(ns_surb_list_parse(body, 4, 32, &l), 0);
	assert_int_equal(l.count, 0);
}

static void test_surb_list_malformed(void **state)
{
	static uint8_t body[4 + 4 * NYM_REPLY_SURB_V1_LEN];
	struct nym_reply_surb s[2];
	struct ns_surb_list l;

	(void)state;
	make_surbs(0, 2, s);
	size_t one = serialize(s, 2, body + 4);
	size_t len = ns_surb_list_encode(body + 4, 2, one, body, sizeof body);
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), 0);
	/* every truncation fails, except one that happens to be two SURBs of a shorter valid
	 * length (fewer hops) whose bytes parse: the list format cannot tell those apart */
	for (size_t t = 0; t < len; t++) {
		if (t > 4 && (t - 4) % 2 == 0 && ns_surb_version((t - 4) / 2))
			continue;
		assert_true(ns_surb_list_parse(body, t, 32, &l) < 0);
	}
	assert_int_equal(ns_surb_list_parse(body, 3, 32, &l), NS_REPLIES_ERR_SHORT);
	/* trailing bytes */
	assert_true(ns_surb_list_parse(body, len + 1, 32, &l) < 0);
	/* a count that does not match the body */
	body[3] = 3;
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), NS_REPLIES_ERR_LENGTH);
	body[3] = 0;
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), NS_REPLIES_ERR_LENGTH);
	body[0] = 0xff, body[3] = 2;
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), NS_REPLIES_ERR_COUNT);
	body[0] = 0;
	/* a SURB whose first hop is no node address */
	body[4 + one + 16 + 348] = 9;
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), NS_REPLIES_ERR_SURB);
	body[4 + one + 16 + 348] = s[1].surb.first_hop[0];
	assert_int_equal(ns_surb_list_parse(body, len, 32, &l), 0);
	/* one SURB of a length neither V1 nor V2 */
	body[3] = 1;
	assert_int_equal(ns_surb_list_parse(body, 4 + 500, 32, &l), NS_REPLIES_ERR_LENGTH);
	assert_int_equal(ns_surb_list_parse(NULL, 4, 32, &l), NS_REPLIES_ERR_ARG);
}

/* ns_repliable_build writes what nym_repliable_encode writes for the same SURBs */
static void test_repliable_build_matches(void **state)
{
	static uint8_t surbs[5 * NYM_REPLY_SURB_V1_LEN], a[8192], b[8192];
	struct nym_reply_surb s[5];
	uint8_t tag[16], msg[] = "anonymous hello";

	(void)state;
	ns_random(tag, sizeof tag);
	for (int legacy = 0; legacy < 2; legacy++) {
		make_surbs(legacy, 5, s);
		size_t one = serialize(s, 5, surbs);
		for (int data = 0; data < 2; data++) {
			uint8_t ctag = legacy ? (data ? 0 : 1) : (data ? 3 : 4);
			long na = ns_repliable_build(tag, data, surbs, 5, one, s[0].key_rotation, msg,
			                               sizeof msg, a, sizeof a);
			long nb = nym_repliable_encode(tag, ctag, s, 5, msg, sizeof msg, b, sizeof b);
			assert_true(na > 0);
			assert_int_equal(na, nb);
			assert_memory_equal(a, b, (size_t)na);
			assert_int_equal((size_t)na, ns_repliable_len(data, 5, one, sizeof msg));
			assert_true(ns_repliable_build(tag, data, surbs, 5, one, 0, msg, sizeof msg, a,
			                                 (size_t)na - 1) < 0);
		}
	}
	/* no SURB at all: DataV2 with hops 0 and rotation 0 (Nym's default format) */
	long na = ns_repliable_build(tag, 1, NULL, 0, 0, 1, msg, sizeof msg, a, sizeof a);
	long nb = nym_repliable_encode(tag, 3, NULL, 0, msg, sizeof msg, b, sizeof b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
	assert_memory_equal(a + 16, "\x03\x00\x00\x00\x00", 5);
	/* bad arguments */
	assert_true(ns_repliable_build(tag, 1, surbs, 1, 500, 0, msg, 1, a, sizeof a) < 0);
	assert_true(ns_repliable_build(NULL, 1, NULL, 0, 0, 0, msg, 1, a, sizeof a) < 0);
	assert_true(ns_repliable_build(tag, 1, NULL, 0, 0, 0, NULL, 1, a, sizeof a) < 0);
}

static uint8_t *pad(enum nym_message_type type, const uint8_t *inner, size_t len, size_t *out_len)
{
	uint8_t *p = nym_msg_pad_alloc(type, inner, len, nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR),
	                               out_len);
	assert_non_null(p);
	return p;
}

static void test_classify(void **state)
{
	static uint8_t surbs[3 * 460], inner[4096];
	struct nym_reply_surb s[3];
	struct ns_rx rx;
	uint8_t tag[16], msg[] = "the message", me[96];
	size_t plen;
	uint8_t *p;

	(void)state;
	ns_random(tag, sizeof tag);
	make_surbs(0, 3, s);
	size_t one = serialize(s, 3, surbs);

	/* plain */
	p = pad(NYM_MSG_PLAIN, msg, sizeof msg, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_DELIVER);
	assert_int_equal(rx.has_tag, 0);
	assert_int_equal(rx.msg_len, sizeof msg);
	assert_memory_equal(rx.msg, msg, sizeof msg);
	free(p);

	/* repliable data with SURBs */
	long n = ns_repliable_build(tag, 1, surbs, 3, one, 1, msg, sizeof msg, inner, sizeof inner);
	p = pad(NYM_MSG_REPLIABLE, inner, (size_t)n, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_DELIVER);
	assert_int_equal(rx.has_tag, 1);
	assert_memory_equal(rx.tag, tag, 16);
	assert_int_equal(rx.surbs.count, 3);
	assert_int_equal(rx.surbs.surb_len, 460);
	assert_memory_equal(rx.surbs.surbs, surbs, 3 * 460);
	assert_int_equal(rx.msg_len, sizeof msg);
	assert_memory_equal(rx.msg, msg, sizeof msg);
	/* its truncations never pass as a longer message */
	for (size_t t = 0; t < 1 + 17 + 4 + 3 * 460; t++)
		assert_true(ns_rx_classify(p, t, &rx) < 0 || rx.msg_len < sizeof msg);
	free(p);

	/* additional SURBs: nothing to deliver */
	n = ns_repliable_build(tag, 0, surbs, 2, one, 1, NULL, 0, inner, sizeof inner);
	p = pad(NYM_MSG_REPLIABLE, inner, (size_t)n, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_SURBS);
	assert_int_equal(rx.surbs.count, 2);
	assert_memory_equal(rx.tag, tag, 16);
	free(p);

	/* heartbeat V2 (tag 5): its SURBs only */
	memcpy(inner, tag, 16);
	memcpy(inner + 16, "\x05\x00\x00\x00\x00", 5);
	p = pad(NYM_MSG_REPLIABLE, inner, 21, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_SURBS);
	assert_int_equal(rx.surbs.count, 0);
	free(p);

	/* reply data */
	inner[0] = NYM_REPLY_DATA;
	memcpy(inner + 1, msg, sizeof msg);
	p = pad(NYM_MSG_REPLY, inner, 1 + sizeof msg, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_DELIVER);
	assert_int_equal(rx.has_tag, 0);
	assert_int_equal(rx.msg_len, sizeof msg);
	assert_memory_equal(rx.msg, msg, sizeof msg);
	free(p);
	/* an empty reply is refused, as Nym's ReplyMessageContent::try_from_bytes does */
	p = pad(NYM_MSG_REPLY, inner, 1, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), NYM_REPLY_ERR_SHORT);
	free(p);

	/* SURB request */
	struct nym_reply_msg rm = { .content_tag = NYM_REPLY_SURB_REQUEST, .amount = 77 };
	nym_recipient_to_bytes(&alice.addr, me);
	memcpy(rm.recipient, me, 96);
	n = nym_reply_msg_encode(&rm, inner, sizeof inner);
	assert_int_equal(n, 101);
	p = pad(NYM_MSG_REPLY, inner, (size_t)n, &plen);
	assert_int_equal(ns_rx_classify(p, plen, &rx), 0);
	assert_int_equal(rx.action, NS_RX_SURB_REQUEST);
	assert_int_equal(rx.amount, 77);
	assert_memory_equal(rx.recipient, me, 96);
	free(p);
}

static void test_classify_malformed(void **state)
{
	uint8_t buf[64], tag[16] = {0};
	struct ns_rx rx;
	size_t plen;
	uint8_t *p;

	(void)state;
	/* no padding marker, an unknown type, nothing before the marker */
	memset(buf, 0, sizeof buf);
	assert_true(ns_rx_classify(buf, sizeof buf, &rx) < 0);
	buf[0] = 3, buf[1] = 'x', buf[2] = 1;
	assert_true(ns_rx_classify(buf, sizeof buf, &rx) < 0);
	buf[0] = 1;
	assert_true(ns_rx_classify(buf, 1, &rx) < 0);
	assert_true(ns_rx_classify(buf, 0, &rx) < 0);
	assert_true(ns_rx_classify(NULL, 3, &rx) < 0);
	/* a repliable message shorter than its tags */
	p = pad(NYM_MSG_REPLIABLE, tag, 10, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	/* a repliable content tag beyond heartbeat V2 */
	memset(buf, 0, sizeof buf);
	buf[16] = 6;
	p = pad(NYM_MSG_REPLIABLE, buf, 21, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	/* a DataV2 claiming SURBs it does not carry */
	buf[16] = 3, buf[17] = 0, buf[18] = 2, buf[19] = 4, buf[20] = 0;
	p = pad(NYM_MSG_REPLIABLE, buf, 30, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	/* a V2 rotation byte out of range */
	buf[18] = 0, buf[20] = 7;
	p = pad(NYM_MSG_REPLIABLE, buf, 21, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	/* a reply: unknown content tag, short SurbRequest, empty */
	buf[0] = 2;
	p = pad(NYM_MSG_REPLY, buf, 5, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	buf[0] = NYM_REPLY_SURB_REQUEST;
	p = pad(NYM_MSG_REPLY, buf, 50, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
	p = pad(NYM_MSG_REPLY, buf, 0, &plen);
	assert_true(ns_rx_classify(p, plen, &rx) < 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_surb_version),
		cmocka_unit_test(test_surb_list_round_trip),
		cmocka_unit_test(test_surb_list_malformed),
		cmocka_unit_test(test_repliable_build_matches),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_malformed),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
