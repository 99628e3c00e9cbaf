/* NymMessage serialization, per-packet budget, padding and unpadding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "unit/util.h"

#define VECTORS_PATH "tests/vectors/real-client-packets.json"

static void test_budget(void **state)
{
	(void)state;
	assert_int_equal(nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR), 1611);
	assert_int_equal(nym_msg_plaintext_per_packet(NYM_PACKET_EXTENDED8), 7755);
	assert_int_equal(nym_msg_plaintext_per_packet(NYM_PACKET_EXTENDED16), 15947);
	assert_int_equal(nym_msg_plaintext_per_packet(NYM_PACKET_EXTENDED32), 32331);
	assert_int_equal(nym_msg_plaintext_per_packet(NYM_PACKET_ACK), 0);
	assert_int_equal(nym_msg_plaintext_per_packet(0), 0);
	assert_int_equal(nym_msg_plaintext_per_packet(6), 0);
	assert_int_equal(NYM_ACK_OVERHEAD, 19 + 386);
}

static void test_pad_hello(void **state)
{
	static const uint8_t hello[] = "hello sphinx";
	uint8_t out[1604 + 16];
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;

	(void)state;
	assert_int_equal(nym_msg_padded_len(12, 1611), 1604);
	assert_int_equal(nym_msg_required_packets(12, 1611), 1);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(nym_msg_pad(NYM_MSG_PLAIN, hello, 12, 1611, out, sizeof(out)), 1604);
	assert_int_equal(out[0], 0x00);
	assert_memory_equal(out + 1, hello, 12);
	assert_int_equal(out[13], 0x01);
	for (size_t i = 14; i < 1604; i++) /* 1590 zero bytes */
		assert_int_equal(out[i], 0);
	assert_int_equal(out[1604], 0xee);
	assert_int_equal(nym_msg_unpad(out, 1604, &type, &inner, &inner_len), 0);
	assert_int_equal(type, NYM_MSG_PLAIN);
	assert_int_equal(inner_len, 12);
	assert_memory_equal(inner, hello, 12);
}

static void test_pad_5000(void **state)
{
	uint8_t msg[5000], *padded;
	size_t len;
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(nym_msg_required_packets(5000, 1611), 4);
	padded = nym_msg_pad_alloc(NYM_MSG_PLAIN, msg, sizeof(msg), 1611, &len);
	assert_non_null(padded);
	assert_int_equal(len, 6416); /* 4 x 1604 */
	assert_int_equal(padded[0], 0);
	assert_memory_equal(padded + 1, msg, 5000);
	assert_int_equal(padded[5001], 0x01);
	for (size_t i = 5002; i < len; i++)
		assert_int_equal(padded[i], 0);
	assert_int_equal(nym_msg_unpad(padded, len, &type, &inner, &inner_len), 0);
	assert_int_equal(inner_len, 5000);
	assert_memory_equal(inner, msg, 5000);
	free(padded);
}

static void test_pad_exact_boundaries(void **state)
{
	(void)state;
	/* 1 + 1602 + 1 = 1604 fills one fragment exactly; one more byte needs a second */
	assert_int_equal(nym_msg_padded_len(1602, 1611), 1604);
	assert_int_equal(nym_msg_required_packets(1602, 1611), 1);
	assert_int_equal(nym_msg_padded_len(1603, 1611), 3208);
	assert_int_equal(nym_msg_required_packets(1603, 1611), 2);
	assert_int_equal(nym_msg_padded_len(0, 1611), 1604);
	/* 255 full unlinked fragments is the largest single set */
	assert_int_equal(nym_msg_padded_len(255 * 1604 - 2, 1611), 255 * 1604);
	assert_int_equal(nym_msg_required_packets(255 * 1604 - 2, 1611), 255);
	/* one byte more: two linked sets, 256 fragments */
	assert_int_equal(nym_msg_required_packets(255 * 1604 - 1, 1611), 256);
	assert_int_equal(nym_msg_padded_len(255 * 1604 - 1, 1611), 255 * 1604 - 3 + 1601);
	assert_int_equal(nym_msg_padded_len(10, 5), 0); /* budget too small */
	assert_int_equal(nym_msg_padded_len(SIZE_MAX - 1, 1611), 0);
}

static void test_all_types(void **state)
{
	static const uint8_t inner[] = { 0xaa, 0x01, 0xbb, 0x01 }; /* 0x01 inside content */
	uint8_t out[1604];

	(void)state;
	for (int t = 0; t <= 2; t++) {
		enum nym_message_type type;
		const uint8_t *got;
		size_t got_len;

		assert_int_equal(nym_msg_pad((enum nym_message_type)t, inner, sizeof(inner), 1611, out,
		                             sizeof(out)),
		                 1604);
		assert_int_equal(out[0], t);
		assert_int_equal(nym_msg_unpad(out, sizeof(out), &type, &got, &got_len), 0);
		assert_int_equal((int)type, t);
		assert_int_equal(got_len, sizeof(inner));
		assert_memory_equal(got, inner, sizeof(inner));
	}
	assert_int_equal(nym_msg_pad((enum nym_message_type)3, inner, 4, 1611, out, sizeof(out)),
	                 NYM_MSG_ERR_TYPE);
}

static void test_pad_errors(void **state)
{
	uint8_t out[1604];

	(void)state;
	assert_int_equal(nym_msg_pad(NYM_MSG_PLAIN, (const uint8_t *)"x", 1, 1611, out, 1603),
	                 NYM_MSG_ERR_ARG);
	assert_int_equal(nym_msg_pad(NYM_MSG_PLAIN, NULL, 1, 1611, out, sizeof(out)),
	                 NYM_MSG_ERR_ARG);
	assert_int_equal(nym_msg_pad(NYM_MSG_PLAIN, (const uint8_t *)"x", 1, 0, out, sizeof(out)),
	                 NYM_MSG_ERR_ARG);
	assert_null(nym_msg_pad_alloc(NYM_MSG_PLAIN, (const uint8_t *)"x", 1, 3, &(size_t){ 0 }));
}

static void test_unpad_errors(void **state)
{
	static const uint8_t none[] = { 0, 2, 3, 0, 0 };
	static const uint8_t only_marker[] = { 0x01, 0, 0 };
	static const uint8_t bad_type[] = { 0x03, 'a', 0x01, 0 };
	static const uint8_t type_ff[] = { 0xff, 0x01 };
	static const uint8_t trailing[] = { 0x00, 'a', 0x01, 0x00, 0x07, 0x00 };
	static const uint8_t marker_in_tail[] = { 0x02, 'a', 0x01, 0x00, 0x01 };
	enum nym_message_type type;
	const uint8_t *inner;
	size_t len;

	(void)state;
	assert_int_equal(nym_msg_unpad(none, sizeof(none), &type, &inner, &len), NYM_MSG_ERR_PADDING);
	assert_int_equal(nym_msg_unpad(none, 0, &type, &inner, &len), NYM_MSG_ERR_PADDING);
	assert_int_equal(nym_msg_unpad(only_marker, sizeof(only_marker), &type, &inner, &len),
	                 NYM_MSG_ERR_EMPTY);
	assert_int_equal(nym_msg_unpad(bad_type, sizeof(bad_type), &type, &inner, &len),
	                 NYM_MSG_ERR_TYPE);
	assert_int_equal(nym_msg_unpad(type_ff, sizeof(type_ff), &type, &inner, &len),
	                 NYM_MSG_ERR_TYPE);
	/* bytes after the last 0x01 are not checked (Nym: rposition of 1) */
	assert_int_equal(nym_msg_unpad(trailing, sizeof(trailing), &type, &inner, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(inner[0], 'a');
	/* the LAST 0x01 is the marker even if an earlier one is the real one */
	assert_int_equal(nym_msg_unpad(marker_in_tail, sizeof(marker_in_tail), &type, &inner, &len),
	                 0);
	assert_int_equal(type, NYM_MSG_REPLY);
	assert_int_equal(len, 3);
	assert_int_equal(nym_msg_unpad(NULL, 3, &type, &inner, &len), NYM_MSG_ERR_ARG);
}

/* Every message of the real client: pad(type, inner) == reassembled_padded and
 * unpad(reassembled_padded) == nym_message_unpadded. */
static void test_real_client_messages(void **state)
{
	size_t flen;
	char *json = util_read_file(VECTORS_PATH, &flen);
	cJSON *root, *msgs, *m;
	int checked = 0;

	(void)state;
	assert_non_null(json);
	root = cJSON_Parse(json);
	assert_non_null(root);
	msgs = cJSON_GetObjectItem(root, "messages");
	cJSON_ArrayForEach(m, msgs) {
		const char *padded_hex = cJSON_GetStringValue(cJSON_GetObjectItem(m, "reassembled_padded"));
		const char *unpadded_hex =
			cJSON_GetStringValue(cJSON_GetObjectItem(m, "nym_message_unpadded"));
		size_t plen, ulen, inner_len;
		uint8_t *padded = util_unhex_alloc(padded_hex, &plen);
		uint8_t *unpadded = util_unhex_alloc(unpadded_hex, &ulen);
		uint8_t *mine;
		size_t mine_len;
		enum nym_message_type type;
		const uint8_t *inner;

		assert_non_null(padded);
		assert_non_null(unpadded);
		assert_int_equal(nym_msg_unpad(padded, plen, &type, &inner, &inner_len), 0);
		assert_int_equal(1 + inner_len, ulen);
		assert_int_equal(type, unpadded[0]);
		assert_memory_equal(inner, unpadded + 1, inner_len);
		mine = nym_msg_pad_alloc(type, unpadded + 1, ulen - 1, 1611, &mine_len);
		assert_non_null(mine);
		assert_int_equal(mine_len, plen);
		assert_memory_equal(mine, padded, plen);
		free(mine);
		free(padded);
		free(unpadded);
		checked++;
	}
	assert_int_equal(checked, 7);
	cJSON_Delete(root);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_pad_hello),
		cmocka_unit_test(test_pad_5000),
		cmocka_unit_test(test_pad_exact_boundaries),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_pad_errors),
		cmocka_unit_test(test_unpad_errors),
		cmocka_unit_test(test_real_client_messages),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
