/* nym-sphinx params: packet size table, types, versions, key rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto.h"
#include "nymsphinx/params.h"

static void test_size_table(void **state)
{
	static const struct {
		int tag;
		size_t size, payload, plaintext;
		const char *name;
	} rows[] = {
		{ 1, 2413, 2065, 2048, "regular" },
		{ 2, 386, 38, 21, "ack" },
		{ 3, 33133, 32785, 32768, "extended32" },
		{ 4, 8557, 8209, 8192, "extended8" },
		{ 5, 16749, 16401, 16384, "extended16" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_true(nym_packet_size_valid(rows[i].tag));
		assert_int_equal(nym_packet_size_bytes(rows[i].tag), rows[i].size);
		assert_int_equal(nym_packet_payload_size(rows[i].tag), rows[i].payload);
		assert_int_equal(nym_packet_plaintext_size(rows[i].tag), rows[i].plaintext);
		assert_int_equal(nym_packet_size_from_len(rows[i].size), rows[i].tag);
		assert_int_equal(nym_packet_size_from_plaintext(rows[i].plaintext), rows[i].tag);
		assert_string_equal(nym_packet_size_name(rows[i].tag), rows[i].name);
		assert_int_equal(nym_packet_size_from_name(rows[i].name), rows[i].tag);
	}
	/* ack = 16-byte IV + 5-byte fragment id + 365 */
	assert_int_equal(NYM_PACKET_ACK_SIZE, NYM_ACK_IV_SIZE + NYM_FRAG_ID_LEN + NYM_SPHINX_OVERHEAD);
	assert_int_equal(NYM_FRAG_ID_LEN, 5);
}

static void test_size_rejects(void **state)
{
	static const int bad_tags[] = { -1, 0, 6, 7, 8, 255, 256 };
	static const size_t bad_lens[] = { 0, 365, 385, 387, 2412, 2414, 2048, 33134, 33139, 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++) {
		assert_false(nym_packet_size_valid(bad_tags[i]));
		assert_int_equal(nym_packet_size_bytes(bad_tags[i]), 0);
		assert_int_equal(nym_packet_plaintext_size(bad_tags[i]), 0);
		assert_null(nym_packet_size_name(bad_tags[i]));
	}
	for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++)
		assert_int_equal(nym_packet_size_from_len(bad_lens[i]), -1);
	assert_int_equal(nym_packet_size_from_plaintext(2047), -1);
	assert_int_equal(nym_packet_size_from_plaintext(SIZE_MAX), -1);
	assert_int_equal(nym_packet_size_from_name("Regular"), -1);
	assert_int_equal(nym_packet_size_from_name("outfox_regular"), -1);
	assert_int_equal(nym_packet_size_from_name(NULL), -1);
}

static void test_packet_type(void **state)
{
	(void)state;
	assert_true(nym_packet_type_valid(0));
	assert_false(nym_packet_type_valid(1));
	assert_true(nym_packet_type_valid(2));
	assert_false(nym_packet_type_valid(3));
	assert_false(nym_packet_type_valid(255));
	assert_int_equal(NYM_PACKET_TYPE_MIX, 0);
	assert_int_equal(NYM_PACKET_TYPE_OUTFOX, 2);
}

static void test_versions(void **state)
{
	(void)state;
	assert_int_equal(NYM_PACKET_VERSION_LEGACY, 7);
	assert_int_equal(NYM_PACKET_VERSION_CURRENT, 8);
}

static void test_key_rotation(void **state)
{
	(void)state;
	assert_int_equal(nym_key_rotation_from_id(0), NYM_KEY_ROTATION_UNKNOWN);
	assert_int_equal(nym_key_rotation_from_id(UINT32_MAX), NYM_KEY_ROTATION_UNKNOWN);
	assert_int_equal(nym_key_rotation_from_id(1), NYM_KEY_ROTATION_ODD);
	assert_int_equal(nym_key_rotation_from_id(3), 1); /* real packets: id 3 -> byte 1 */
	assert_int_equal(nym_key_rotation_from_id(2), NYM_KEY_ROTATION_EVEN);
	assert_int_equal(nym_key_rotation_from_id(UINT32_MAX - 1), NYM_KEY_ROTATION_EVEN);
	assert_int_equal(nym_key_rotation_from_id(UINT32_MAX - 2), NYM_KEY_ROTATION_ODD);
	assert_true(nym_key_rotation_valid(0));
	assert_true(nym_key_rotation_valid(1));
	assert_true(nym_key_rotation_valid(2));
	assert_false(nym_key_rotation_valid(3));
	assert_false(nym_key_rotation_valid(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_table),
		cmocka_unit_test(test_size_rejects),
		cmocka_unit_test(test_packet_type),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_key_rotation),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
