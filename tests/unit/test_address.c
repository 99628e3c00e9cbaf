/* nym-sphinx addressing: node routing addresses, recipients, sender tags. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "nymsphinx/address.h"
#include "unit/util.h"

#define VECTORS_PATH "tests/vectors/real-client-packets.json"

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(util_unhex(hex, out, len), (long)len);
}

/* ---------------------------------------------------------- node addresses ---- */

static void test_ipv4_vector(void **state)
{
	struct nym_node_address a, b;
	uint8_t enc[32], want[32] = { 0x04, 0x06, 0xfd, 0x0a, 0x00, 0x00, 0x01 };
	char text[NYM_NODE_ADDR_STR_MAX];

	(void)state;
	assert_int_equal(nym_node_address_parse("10.0.0.1:1789", &a), 0);
	assert_int_equal(a.ip_version, 4);
	assert_int_equal(a.port, 1789);
	assert_int_equal(nym_node_address_len(&a), 7);
	assert_int_equal(nym_node_address_encode(&a, enc, sizeof(enc)), 7);
	assert_memory_equal(enc, want, 7);
	memset(enc, 0xee, sizeof(enc));
	assert_int_equal(nym_node_address_encode_padded(&a, enc), 0);
	assert_memory_equal(enc, want, 32); /* 7 bytes then 25 zeros */
	assert_int_equal(nym_node_address_decode(enc, 32, &b), 7);
	assert_true(nym_node_address_equal(&a, &b));
	assert_int_equal(nym_node_address_format(&b, text, sizeof(text)), 13);
	assert_string_equal(text, "10.0.0.1:1789");
}

static void test_ipv4_real_first_hop(void **state)
{
	/* real packets: first hop 0406fd7f000001 and routing block next hop 0406fe7f000001 */
	uint8_t b1[7], b2[7];
	struct nym_node_address a;
	char text[NYM_NODE_ADDR_STR_MAX];

	(void)state;
	hex_to("0406fd7f000001", b1, 7);
	hex_to("0406fe7f000001", b2, 7);
	assert_int_equal(nym_node_address_decode(b1, 7, &a), 7);
	nym_node_address_format(&a, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:1789");
	assert_int_equal(nym_node_address_decode(b2, 7, &a), 7);
	nym_node_address_format(&a, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:1790");
}

static void test_ipv6_roundtrip(void **state)
{
	static const struct {
		const char *text;
		const char *hex;
	} cases[] = {
		{ "[2001:db8::1]:1789", "0606fd20010db8000000000000000000000001" },
		{ "[::]:80", "060050" "00000000000000000000000000000000" },
		{ "[::1]:1", "060001" "00000000000000000000000000000001" },
		{ "[::ffff:1.2.3.4]:5", "060005" "00000000000000000000ffff01020304" },
		{ "[1:0:1:0:1:0:1:0]:2", "060002" "00010000000100000001000000010000" },
		{ "[1::1:0:0:1:1]:3", "060003" "00010000000000010000000000010001" },
		{ "[fe80::abcd:ef01]:65535", "06ffff" "fe8000000000000000000000abcdef01" },
		{ "[102:304:506:708:90a:b0c:d0e:f10]:42", "06002a" "0102030405060708090a0b0c0d0e0f10" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nym_node_address a, b;
		uint8_t want[19], enc[32];
		char text[NYM_NODE_ADDR_STR_MAX];

		hex_to(cases[i].hex, want, 19);
		assert_int_equal(nym_node_address_parse(cases[i].text, &a), 0);
		assert_int_equal(a.ip_version, 6);
		assert_int_equal(nym_node_address_encode(&a, enc, sizeof(enc)), 19);
		assert_memory_equal(enc, want, 19);
		assert_int_equal(nym_node_address_decode(want, 19, &b), 19);
		assert_true(nym_node_address_equal(&a, &b));
		assert_int_equal(nym_node_address_format(&b, text, sizeof(text)),
		                 (long)strlen(cases[i].text));
		assert_string_equal(text, cases[i].text);
		assert_int_equal(nym_node_address_encode_padded(&b, enc), 0);
		assert_memory_equal(enc, want, 19);
		for (int j = 19; j < 32; j++)
			assert_int_equal(enc[j], 0);
	}
}

static void test_node_address_decode_errors(void **state)
{
	struct nym_node_address a;
	uint8_t v4[7] = { 4, 0x06, 0xfd, 10, 0, 0, 1 };
	uint8_t v6[19] = { 6, 0, 80 };
	uint8_t bad[19] = { 5, 0, 80 };

	(void)state;
	assert_int_equal(nym_node_address_decode(v4, 0, &a), NYM_ADDR_ERR_SHORT);
	for (size_t n = 1; n < 7; n++)
		assert_int_equal(nym_node_address_decode(v4, n, &a), NYM_ADDR_ERR_SHORT);
	for (size_t n = 1; n < 19; n++)
		assert_int_equal(nym_node_address_decode(v6, n, &a), NYM_ADDR_ERR_SHORT);
	for (int t = 0; t < 256; t++) {
		bad[0] = (uint8_t)t;
		if (t == 4 || t == 6)
			continue;
		assert_int_equal(nym_node_address_decode(bad, 19, &a), NYM_ADDR_ERR_IP_VERSION);
	}
	assert_int_equal(nym_node_address_decode(NULL, 7, &a), NYM_ADDR_ERR_ARG);
}

static void test_node_address_encode_errors(void **state)
{
	struct nym_node_address a = { .ip_version = 5 };
	uint8_t out[32];
	char text[8];

	(void)state;
	assert_int_equal(nym_node_address_encode(&a, out, sizeof(out)), NYM_ADDR_ERR_ARG);
	assert_int_equal(nym_node_address_encode_padded(&a, out), NYM_ADDR_ERR_ARG);
	a.ip_version = 6;
	assert_int_equal(nym_node_address_encode(&a, out, 18), NYM_ADDR_ERR_ARG);
	a.ip_version = 4;
	assert_int_equal(nym_node_address_encode(&a, out, 6), NYM_ADDR_ERR_ARG);
	assert_int_equal(nym_node_address_format(&a, text, sizeof(text)), NYM_ADDR_ERR_ARG);
}

static void test_node_address_parse_errors(void **state)
{
	static const char *const BAD[] = {
		"", "10.0.0.1", "10.0.0.1:", ":1789", "10.0.0.1:65536", "10.0.0.1:-1",
		"10.0.0.1:17a9", "10.0.0.256:1", "10.0.0:1", "010.0.0.1:1", "host:1789",
		"[::1]", "[::1]1789", "::1:1789", "[::1:1789", "[]:1", "[10.0.0.1]:1",
		"[2001:db8::1::2]:1", "10.0.0.1:123456", "10.0.0.1:1 ",
	};
	struct nym_node_address a;

	(void)state;
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++)
		assert_int_equal(nym_node_address_parse(BAD[i], &a), NYM_ADDR_ERR_SYNTAX);
}

/* -------------------------------------------------------------- recipients ---- */

static const char SPEC_RECIPIENT[] =
	"AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9."
	"EuHtd9yCn95edmJqLKFeyXeoPw9nPzp1HTwdJEWEw9YL@"
	"GyGKxMyg1p9SsHfm15MkNUu1u9TN2JtTspcdmrtGUdse";

static void spec_recipient(struct nym_recipient *r)
{
	hex_to("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c", r->identity, 32);
	hex_to("ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59",
	       r->encryption_key, 32);
	hex_to("ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1", r->gateway, 32);
}

static void test_recipient_spec_vector(void **state)
{
	struct nym_recipient r, back;
	char text[NYM_RECIPIENT_STR_MAX];
	uint8_t bytes[96], dest[32];

	(void)state;
	spec_recipient(&r);
	assert_int_equal(nym_recipient_to_string(&r, text, sizeof(text)),
	                 (long)strlen(SPEC_RECIPIENT));
	assert_string_equal(text, SPEC_RECIPIENT);
	assert_int_equal(nym_recipient_from_string(SPEC_RECIPIENT, &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	nym_recipient_to_bytes(&back, bytes);
	assert_memory_equal(bytes, r.identity, 32);
	assert_memory_equal(bytes + 32, r.encryption_key, 32);
	assert_memory_equal(bytes + 64, r.gateway, 32);
	memset(&back, 0, sizeof(back));
	assert_int_equal(nym_recipient_from_bytes(bytes, &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	nym_recipient_destination(&r, dest);
	assert_memory_equal(dest, r.identity, 32);
	/* a too-small buffer is an error, not a truncation */
	assert_int_equal(nym_recipient_to_string(&r, text, strlen(SPEC_RECIPIENT)), NYM_ADDR_ERR_ARG);
}

static void test_recipient_real_client(void **state)
{
	size_t len;
	char *json = util_read_file(VECTORS_PATH, &len);
	cJSON *root, *client;
	const char *address, *bytes_hex, *id_hex, *enc_hex, *gw_b58, *id_b58, *enc_b58;
	struct nym_recipient r;
	uint8_t want[96], got[96];
	char text[NYM_RECIPIENT_STR_MAX], key_b58[NYM_KEY_B58_MAX];

	(void)state;
	assert_non_null(json);
	root = cJSON_Parse(json);
	assert_non_null(root);
	client = cJSON_GetObjectItem(root, "client");
	address = cJSON_GetStringValue(cJSON_GetObjectItem(client, "address"));
	bytes_hex = cJSON_GetStringValue(cJSON_GetObjectItem(client, "address_bytes_96"));
	id_hex = cJSON_GetStringValue(cJSON_GetObjectItem(client, "ed25519_identity_public_hex"));
	id_b58 = cJSON_GetStringValue(cJSON_GetObjectItem(client, "ed25519_identity_public_bs58"));
	enc_hex = cJSON_GetStringValue(cJSON_GetObjectItem(client, "x25519_encryption_public_hex"));
	enc_b58 = cJSON_GetStringValue(cJSON_GetObjectItem(client, "x25519_encryption_public_bs58"));
	gw_b58 = cJSON_GetStringValue(cJSON_GetObjectItem(client, "gateway_identity_bs58"));
	assert_non_null(address);
	assert_non_null(bytes_hex);
	assert_non_null(gw_b58);

	hex_to(bytes_hex, want, 96);
	assert_int_equal(nym_recipient_from_string(address, &r), 0);
	nym_recipient_to_bytes(&r, got);
	assert_memory_equal(got, want, 96);
	assert_int_equal(util_unhex(id_hex, want, 32), 32);
	assert_memory_equal(r.identity, want, 32);
	assert_int_equal(util_unhex(enc_hex, want, 32), 32);
	assert_memory_equal(r.encryption_key, want, 32);
	nym_recipient_to_string(&r, text, sizeof(text));
	assert_string_equal(text, address);
	base58_encode(r.identity, 32, key_b58, sizeof(key_b58));
	assert_string_equal(key_b58, id_b58);
	base58_encode(r.encryption_key, 32, key_b58, sizeof(key_b58));
	assert_string_equal(key_b58, enc_b58);
	base58_encode(r.gateway, 32, key_b58, sizeof(key_b58));
	assert_string_equal(key_b58, gw_b58);
	/* the gateway key in the address is the registration's gateway identity */
	assert_memory_equal(r.gateway, got + 64, 32);
	cJSON_Delete(root);
	free(json);
}

static void test_recipient_string_errors(void **state)
{
	struct nym_recipient r, untouched;
	char buf[400];
	const char *id = "AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9";
	const char *enc = "EuHtd9yCn95edmJqLKFeyXeoPw9nPzp1HTwdJEWEw9YL";
	const char *gw = "GyGKxMyg1p9SsHfm15MkNUu1u9TN2JtTspcdmrtGUdse";

	(void)state;
	memset(&r, 0x5a, sizeof(r));
	untouched = r;
	/* shape */
	assert_int_equal(nym_recipient_from_string("", &r), NYM_ADDR_ERR_SYNTAX);
	snprintf(buf, sizeof(buf), "%s.%s%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_SYNTAX);
	snprintf(buf, sizeof(buf), "%s.%s@%s@%s", id, enc, gw, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_SYNTAX);
	snprintf(buf, sizeof(buf), "%s%s@%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_SYNTAX);
	snprintf(buf, sizeof(buf), "%s.%s.%s@%s", id, enc, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_SYNTAX);
	/* a '.' in the gateway half is a bad base58 character */
	snprintf(buf, sizeof(buf), "%s.%s@%s.", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_BASE58);
	/* bad characters */
	snprintf(buf, sizeof(buf), "%s0.%s@%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_BASE58);
	snprintf(buf, sizeof(buf), "%s.%sl@%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_BASE58);
	snprintf(buf, sizeof(buf), "%s.%s@ %s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_BASE58);
	/* wrong lengths: empty parts, one char short/long, leading '1' adds a zero byte */
	snprintf(buf, sizeof(buf), ".%s@%s", enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	snprintf(buf, sizeof(buf), "%s.@%s", id, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	snprintf(buf, sizeof(buf), "%s.%s@", id, enc);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	snprintf(buf, sizeof(buf), "%.38s.%s@%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	snprintf(buf, sizeof(buf), "%s.%sA@%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	snprintf(buf, sizeof(buf), "%s.%s@1%s", id, enc, gw);
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	memset(buf, 'z', 300);
	buf[300] = '\0';
	buf[100] = '.';
	buf[200] = '@';
	assert_int_equal(nym_recipient_from_string(buf, &r), NYM_ADDR_ERR_LENGTH);
	assert_int_equal(nym_recipient_from_string(NULL, &r), NYM_ADDR_ERR_ARG);
	assert_memory_equal(&r, &untouched, sizeof(r));
}

static void test_ed25519_decompression(void **state)
{
	/* expected values from the curve equation (Euler's criterion), as dalek decompresses */
	static const struct {
		const char *hex;
		int ok;
	} cases[] = {
		{ "0100000000000000000000000000000000000000000000000000000000000000", 1 }, /* identity */
		{ "0100000000000000000000000000000000000000000000000000000000000080", 1 }, /* x=0, sign 1 */
		{ "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 1 }, /* y = p+1 */
		{ "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 1 }, /* y = -1 */
		{ "0000000000000000000000000000000000000000000000000000000000000000", 1 }, /* order 4 */
		{ "0200000000000000000000000000000000000000000000000000000000000000", 0 },
		{ "0700000000000000000000000000000000000000000000000000000000000000", 0 },
		{ "0800000000000000000000000000000000000000000000000000000000000080", 0 },
		{ "0300000000000000000000000000000000000000000000000000000000000000", 1 },
		{ "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59", 0 },
		{ "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t pk[32];

		hex_to(cases[i].hex, pk, 32);
		assert_int_equal(nym_ed25519_pk_decompresses(pk), cases[i].ok);
	}
	/* every libsodium-generated key decompresses */
	for (int i = 0; i < 64; i++) {
		uint8_t seed[32], pk[32], sk[64];

		ns_random(seed, sizeof(seed));
		ns_ed25519_from_seed(pk, sk, seed);
		assert_true(nym_ed25519_pk_decompresses(pk));
		ns_memzero(sk, sizeof(sk));
	}
}

static void test_recipient_invalid_points(void **state)
{
	struct nym_recipient r, parsed;
	uint8_t bytes[96];
	char text[NYM_RECIPIENT_STR_MAX];

	(void)state;
	spec_recipient(&r);
	/* the x25519 key is not checked: a value that is no ed25519 point is fine there */
	nym_recipient_to_bytes(&r, bytes);
	assert_int_equal(nym_recipient_from_bytes(bytes, &parsed), 0);
	/* y = 2 is not on the curve */
	memset(r.identity, 0, 32);
	r.identity[0] = 2;
	nym_recipient_to_string(&r, text, sizeof(text));
	assert_int_equal(nym_recipient_from_string(text, &parsed), NYM_ADDR_ERR_IDENTITY);
	nym_recipient_to_bytes(&r, bytes);
	assert_int_equal(nym_recipient_from_bytes(bytes, &parsed), NYM_ADDR_ERR_IDENTITY);
	spec_recipient(&r);
	memset(r.gateway, 0, 32);
	r.gateway[0] = 7;
	nym_recipient_to_string(&r, text, sizeof(text));
	assert_int_equal(nym_recipient_from_string(text, &parsed), NYM_ADDR_ERR_GATEWAY);
	nym_recipient_to_bytes(&r, bytes);
	assert_int_equal(nym_recipient_from_bytes(bytes, &parsed), NYM_ADDR_ERR_GATEWAY);
	/* small-order identity (all zero: leading '1's) is accepted, as dalek does */
	spec_recipient(&r);
	memset(r.identity, 0, 32);
	nym_recipient_to_string(&r, text, sizeof(text));
	assert_memory_equal(text, "11111111111111111111111111111111.", 33);
	assert_int_equal(nym_recipient_from_string(text, &parsed), 0);
	assert_memory_equal(&parsed, &r, sizeof(r));
}

/* ------------------------------------------------------------- sender tags ---- */

static void test_sender_tag(void **state)
{
	uint8_t tag[16], back[16];
	char text[NYM_SENDER_TAG_STR_MAX];

	(void)state;
	memset(tag, 0, sizeof(tag));
	assert_int_equal(nym_sender_tag_to_string(tag, text, sizeof(text)), 16);
	assert_string_equal(text, "1111111111111111");
	for (int i = 0; i < 16; i++)
		tag[i] = (uint8_t)(0xf0 + i);
	assert_true(nym_sender_tag_to_string(tag, text, sizeof(text)) > 0);
	assert_int_equal(nym_sender_tag_from_string(text, back), 0);
	assert_memory_equal(tag, back, 16);
	memset(tag, 0xff, sizeof(tag));
	assert_int_equal(nym_sender_tag_to_string(tag, text, sizeof(text)), 22);
	assert_string_equal(text, "YcVfxkQb6JRzqk5kF2tNLv");
	assert_int_equal(nym_sender_tag_from_string("YcVfxkQb6JRzqk5kF2tNLv", back), 0);
	assert_memory_equal(tag, back, 16);
	assert_int_equal(nym_sender_tag_from_string("", back), NYM_ADDR_ERR_LENGTH);
	assert_int_equal(nym_sender_tag_from_string("111111111111111", back), NYM_ADDR_ERR_LENGTH);
	assert_int_equal(nym_sender_tag_from_string("YcVfxkQb6JRzqk5kF2tNLw", back),
	                 NYM_ADDR_ERR_LENGTH); /* 2^128 needs 17 bytes */
	assert_int_equal(nym_sender_tag_from_string("YcVfxkQb6JRzqk5kF2tNL0", back),
	                 NYM_ADDR_ERR_BASE58);
	assert_int_equal(nym_sender_tag_to_string(tag, text, 22), NYM_ADDR_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_vector),
		cmocka_unit_test(test_ipv4_real_first_hop),
		cmocka_unit_test(test_ipv6_roundtrip),
		cmocka_unit_test(test_node_address_decode_errors),
		cmocka_unit_test(test_node_address_encode_errors),
		cmocka_unit_test(test_node_address_parse_errors),
		cmocka_unit_test(test_recipient_spec_vector),
		cmocka_unit_test(test_recipient_real_client),
		cmocka_unit_test(test_recipient_string_errors),
		cmocka_unit_test(test_ed25519_decompression),
		cmocka_unit_test(test_recipient_invalid_points),
		cmocka_unit_test(test_sender_tag),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
