/* NymCodec mix-to-mix frames (streaming) and the client->gateway MixPacket form. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/framing.h"
#include "unit/util.h"

#define VECTORS_PATH "tests/vectors/real-client-packets.json"

/* ------------------------------------------------------------------ frames ---- */

static uint8_t *random_packet(int tag, size_t *len)
{
	uint8_t *p;

	*len = nym_packet_size_bytes(tag);
	p = malloc(*len);
	assert_non_null(p);
	ns_random(p, *len);
	return p;
}

static void test_header_for_and_encode(void **state)
{
	struct nym_frame_header h;
	size_t plen;
	uint8_t *pkt = random_packet(NYM_PACKET_REGULAR, &plen);
	uint8_t *out = malloc(plen + 4);

	(void)state;
	assert_int_equal(nym_frame_header_for(plen, NYM_PACKET_TYPE_MIX, NYM_KEY_ROTATION_ODD, 0, &h),
	                 0);
	assert_int_equal(h.version, 8);
	assert_int_equal(h.size_tag, 1);
	assert_int_equal(nym_frame_header_len(&h), 4);
	assert_int_equal(nym_frame_encode(&h, pkt, plen, out, plen + 4), (long)plen + 4);
	assert_memory_equal(out, "\x08\x01\x00\x01", 4);
	assert_memory_equal(out + 4, pkt, plen);
	/* legacy: 3-byte header, no rotation byte (the rotation is dropped) */
	assert_int_equal(nym_frame_header_for(plen, NYM_PACKET_TYPE_MIX, NYM_KEY_ROTATION_EVEN, 1, &h),
	                 0);
	assert_int_equal(h.version, 7);
	assert_int_equal(h.key_rotation, 0);
	assert_int_equal(nym_frame_encode(&h, pkt, plen, out, plen + 4), (long)plen + 3);
	assert_memory_equal(out, "\x07\x01\x00", 3);
	assert_memory_equal(out + 3, pkt, plen);
	/* ack size and extended sizes get their tags */
	assert_int_equal(nym_frame_header_for(386, 0, 2, 0, &h), 0);
	assert_int_equal(h.size_tag, 2);
	assert_int_equal(nym_frame_header_for(33133, 0, 2, 0, &h), 0);
	assert_int_equal(h.size_tag, 3);
	assert_int_equal(nym_frame_header_for(8557, 2, 0, 0, &h), 0);
	assert_int_equal(h.size_tag, 4);
	assert_int_equal(h.packet_type, 2);
	free(pkt);
	free(out);
}

static void test_encode_errors(void **state)
{
	struct nym_frame_header h = { 8, 1, 0, 0 };
	uint8_t pkt[2413] = { 0 }, out[2420];

	(void)state;
	assert_int_equal(nym_frame_header_for(2412, 0, 0, 0, &h), NYM_FRAME_ERR_PACKET_LEN);
	assert_int_equal(nym_frame_header_for(2413, 1, 0, 0, &h), NYM_FRAME_ERR_TYPE);
	assert_int_equal(nym_frame_header_for(2413, 0, 3, 0, &h), NYM_FRAME_ERR_ROTATION);
	h = (struct nym_frame_header){ 8, 1, 0, 0 };
	assert_int_equal(nym_frame_encode(&h, pkt, 2412, out, sizeof(out)), NYM_FRAME_ERR_PACKET_LEN);
	assert_int_equal(nym_frame_encode(&h, pkt, 2413, out, 2416), NYM_FRAME_ERR_ARG);
	h.version = 6;
	assert_int_equal(nym_frame_encode(&h, pkt, 2413, out, sizeof(out)), NYM_FRAME_ERR_VERSION);
	h.version = 9;
	assert_int_equal(nym_frame_encode(&h, pkt, 2413, out, sizeof(out)), NYM_FRAME_ERR_UNSUPPORTED);
	h = (struct nym_frame_header){ 7, 1, 0, 2 };
	assert_int_equal(nym_frame_encode(&h, pkt, 2413, out, sizeof(out)), NYM_FRAME_ERR_ROTATION);
	h = (struct nym_frame_header){ 8, 6, 0, 0 };
	assert_int_equal(nym_frame_encode(&h, pkt, 2413, out, sizeof(out)), NYM_FRAME_ERR_SIZE_TAG);
}

struct stream {
	uint8_t *bytes;
	size_t len;
	struct nym_frame_header headers[16];
	size_t offsets[16]; /* packet offset of each frame */
	size_t n;
};

static void stream_add(struct stream *s, int version, int tag, int type, int rot)
{
	struct nym_frame_header h = { (uint8_t)version, (uint8_t)tag, (uint8_t)type, (uint8_t)rot };
	size_t plen;
	uint8_t *pkt = random_packet(tag, &plen);
	long n;

	s->bytes = realloc(s->bytes, s->len + plen + 4);
	assert_non_null(s->bytes);
	n = nym_frame_encode(&h, pkt, plen, s->bytes + s->len, plen + 4);
	assert_true(n > 0);
	s->headers[s->n] = h;
	s->offsets[s->n] = s->len + nym_frame_header_len(&h);
	s->n++;
	s->len += (size_t)n;
	free(pkt);
}

static void build_stream(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	stream_add(s, 8, NYM_PACKET_REGULAR, 0, 1);
	stream_add(s, 7, NYM_PACKET_ACK, 0, 0);
	stream_add(s, 8, NYM_PACKET_ACK, 0, 2);
	stream_add(s, 7, NYM_PACKET_REGULAR, 0, 0);
	stream_add(s, 8, NYM_PACKET_EXTENDED8, 2, 0);
	stream_add(s, 7, NYM_PACKET_EXTENDED32, 0, 0);
	stream_add(s, 8, NYM_PACKET_EXTENDED16, 0, 1);
	stream_add(s, 8, NYM_PACKET_REGULAR, 0, 0);
}

/* Feeds the stream in chunks of sizes from next_chunk(); checks every frame. */
static void feed_stream(const struct stream *s, size_t (*next_chunk)(size_t left))
{
	struct nym_frame_decoder d;
	size_t pos = 0, got = 0;

	assert_int_equal(nym_frame_decoder_init(&d), 0);
	while (pos < s->len) {
		size_t chunk = next_chunk(s->len - pos), off = 0;

		while (off < chunk) {
			struct nym_frame f;
			size_t used;
			int rc = nym_frame_decoder_push(&d, s->bytes + pos + off, chunk - off, &used, &f);

			assert_true(rc >= 0);
			assert_true(used > 0);
			off += used;
			if (rc == 1) {
				assert_true(got < s->n);
				assert_memory_equal(&f.header, &s->headers[got], sizeof(f.header));
				assert_int_equal(f.packet_len, nym_packet_size_bytes(f.header.size_tag));
				assert_memory_equal(f.packet, s->bytes + s->offsets[got], f.packet_len);
				got++;
			}
		}
		pos += chunk;
	}
	assert_int_equal(got, s->n);
	assert_int_equal(d.have, 0);
	nym_frame_decoder_free(&d);
}

static size_t chunk_all(size_t left)
{
	return left;
}

static size_t chunk_one(size_t left)
{
	(void)left;
	return 1;
}

static size_t chunk_random(size_t left)
{
	size_t n = 1 + ns_random_uniform(5000);

	return n < left ? n : left;
}

static size_t chunk_small_random(size_t left)
{
	size_t n = 1 + ns_random_uniform(7);

	return n < left ? n : left;
}

static void test_stream_decoder_splits(void **state)
{
	struct stream s;

	(void)state;
	build_stream(&s);
	feed_stream(&s, chunk_all);
	feed_stream(&s, chunk_one);
	for (int i = 0; i < 20; i++)
		feed_stream(&s, chunk_random);
	feed_stream(&s, chunk_small_random);
	free(s.bytes);
}

static void test_stream_reencode(void **state)
{
	struct stream s;
	struct nym_frame_decoder d;
	size_t pos = 0;
	uint8_t *re;

	(void)state;
	build_stream(&s);
	re = malloc(NYM_FRAME_MAX_LEN);
	assert_int_equal(nym_frame_decoder_init(&d), 0);
	while (pos < s.len) {
		struct nym_frame f;
		size_t used;
		int rc = nym_frame_decoder_push(&d, s.bytes + pos, s.len - pos, &used, &f);

		assert_int_equal(rc, 1);
		assert_int_equal(nym_frame_encode(&f.header, f.packet, f.packet_len, re,
		                                  NYM_FRAME_MAX_LEN),
		                 (long)used);
		assert_memory_equal(re, s.bytes + pos, used);
		pos += used;
	}
	nym_frame_decoder_free(&d);
	free(re);
	free(s.bytes);
}

static void expect_stream_error(const uint8_t *bytes, size_t len, int want)
{
	struct nym_frame_decoder d;
	struct nym_frame f;
	size_t used, off = 0;
	int rc = 0;

	assert_int_equal(nym_frame_decoder_init(&d), 0);
	/* byte by byte: the error must surface as soon as the bad byte arrives */
	while (off < len && rc == 0) {
		rc = nym_frame_decoder_push(&d, bytes + off, 1, &used, &f);
		off += used ? used : 1;
	}
	assert_int_equal(rc, want);
	assert_int_equal(off, len);
	assert_int_equal(nym_frame_decoder_push(&d, bytes, len, &used, &f), NYM_FRAME_ERR_FAILED);
	assert_int_equal(used, 0);
	nym_frame_decoder_free(&d);
	/* all at once: same error */
	assert_int_equal(nym_frame_decoder_init(&d), 0);
	assert_int_equal(nym_frame_decoder_push(&d, bytes, len, &used, &f), want);
	nym_frame_decoder_free(&d);
}

static void test_stream_errors(void **state)
{
	(void)state;
	expect_stream_error((const uint8_t *)"\x06", 1, NYM_FRAME_ERR_VERSION);
	expect_stream_error((const uint8_t *)"\x00", 1, NYM_FRAME_ERR_VERSION);
	expect_stream_error((const uint8_t *)"\x09", 1, NYM_FRAME_ERR_UNSUPPORTED);
	expect_stream_error((const uint8_t *)"\xff", 1, NYM_FRAME_ERR_UNSUPPORTED);
	expect_stream_error((const uint8_t *)"\x08\x00", 2, NYM_FRAME_ERR_SIZE_TAG);
	expect_stream_error((const uint8_t *)"\x07\x06", 2, NYM_FRAME_ERR_SIZE_TAG);
	expect_stream_error((const uint8_t *)"\x08\x07", 2, NYM_FRAME_ERR_SIZE_TAG);
	expect_stream_error((const uint8_t *)"\x08\x08", 2, NYM_FRAME_ERR_SIZE_TAG);
	expect_stream_error((const uint8_t *)"\x08\x01\x01", 3, NYM_FRAME_ERR_TYPE);
	expect_stream_error((const uint8_t *)"\x07\x02\x03", 3, NYM_FRAME_ERR_TYPE);
	expect_stream_error((const uint8_t *)"\x08\x01\x00\x03", 4, NYM_FRAME_ERR_ROTATION);
	expect_stream_error((const uint8_t *)"\x08\x01\x02\xff", 4, NYM_FRAME_ERR_ROTATION);
}

static void test_stream_error_after_good_frame(void **state)
{
	struct stream s;
	struct nym_frame_decoder d;
	struct nym_frame f;
	size_t used;
	uint8_t *buf;

	(void)state;
	memset(&s, 0, sizeof(s));
	stream_add(&s, 8, NYM_PACKET_ACK, 0, 1);
	buf = malloc(s.len + 2);
	memcpy(buf, s.bytes, s.len);
	buf[s.len] = 0x08;
	buf[s.len + 1] = 0x09; /* bad size tag for the next frame */
	assert_int_equal(nym_frame_decoder_init(&d), 0);
	assert_int_equal(nym_frame_decoder_push(&d, buf, s.len + 2, &used, &f), 1);
	assert_int_equal(used, s.len);
	assert_int_equal(nym_frame_decoder_push(&d, buf + used, 2, &used, &f),
	                 NYM_FRAME_ERR_SIZE_TAG);
	nym_frame_decoder_free(&d);
	/* a truncated stream just waits for more */
	assert_int_equal(nym_frame_decoder_init(&d), 0);
	assert_int_equal(nym_frame_decoder_push(&d, s.bytes, s.len - 1, &used, &f), 0);
	assert_int_equal(used, s.len - 1);
	assert_int_equal(nym_frame_decoder_push(&d, s.bytes + s.len - 1, 1, &used, &f), 1);
	assert_int_equal(f.packet_len, 386);
	assert_int_equal(nym_frame_decoder_push(&d, s.bytes, 0, &used, &f), 0);
	nym_frame_decoder_free(&d);
	free(buf);
	free(s.bytes);
}

/* --------------------------------------------------------------- MixPacket ---- */

static uint8_t *frame_plaintext(cJSON *root, int index, size_t *len)
{
	cJSON *frames = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "gateway"), "frames");
	const char *hex = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(frames, index), "plaintext"));

	assert_non_null(hex);
	return util_unhex_alloc(hex, len);
}

static void check_sha(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[32], got[32];

	assert_int_equal(util_unhex(hex, want, 32), 32);
	ns_sha256(got, p, n);
	assert_memory_equal(got, want, 32);
}

static void test_mix_packet_real_v1_v2(void **state)
{
	size_t flen, v2len, v1len;
	char *json = util_read_file(VECTORS_PATH, &flen);
	cJSON *root;
	uint8_t *v2, *v1, *re;
	struct nym_mix_packet p;
	char text[NYM_NODE_ADDR_STR_MAX];

	(void)state;
	assert_non_null(json);
	root = cJSON_Parse(json);
	assert_non_null(root);
	/* frames[0]: ForwardSphinxV2 of send_self_short */
	v2 = frame_plaintext(root, 0, &v2len);
	assert_int_equal(v2len, 2 + 7 + 2413);
	assert_int_equal(nym_mix_packet_decode_v2(v2, v2len, &p), 0);
	assert_int_equal(p.packet_type, NYM_PACKET_TYPE_MIX);
	assert_int_equal(p.key_rotation, NYM_KEY_ROTATION_ODD);
	nym_node_address_format(&p.next_hop, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:1789");
	assert_int_equal(p.packet_len, 2413);
	check_sha(p.packet, p.packet_len,
	          "96b67b4e2498964ec94313102e953cf7daf1104d2b8114e180342ebeb5fa9b94");
	assert_int_equal(nym_mix_packet_len(&p, 2), v2len);
	re = malloc(v2len);
	assert_int_equal(nym_mix_packet_encode_v2(&p, re, v2len), (long)v2len);
	assert_memory_equal(re, v2, v2len);
	free(re);
	/* frames[3]: ForwardSphinx (kind 1) */
	v1 = frame_plaintext(root, 3, &v1len);
	assert_int_equal(v1len, 1 + 7 + 2413);
	assert_int_equal(nym_mix_packet_decode_v1(v1, v1len, &p), 0);
	assert_int_equal(p.packet_type, 0);
	assert_int_equal(p.key_rotation, NYM_KEY_ROTATION_UNKNOWN);
	nym_node_address_format(&p.next_hop, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:1789");
	check_sha(p.packet, p.packet_len,
	          "9582ddf7ba037b69ead8f7d8b4d1364483b938de846e281ea5036e4b8ce96e49");
	re = malloc(v1len);
	assert_int_equal(nym_mix_packet_encode_v1(&p, re, v1len), (long)v1len);
	assert_memory_equal(re, v1, v1len);
	free(re);
	/* the two layouts are not interchangeable */
	assert_int_not_equal(nym_mix_packet_decode_v1(v2, v2len, &p), 0);
	free(v1);
	free(v2);
	cJSON_Delete(root);
	free(json);
}

static void test_mix_packet_ipv6_and_sizes(void **state)
{
	static const int tags[] = { 1, 2, 3, 4, 5 };
	struct nym_mix_packet p = { .packet_type = 0, .key_rotation = 2 }, d;

	(void)state;
	assert_int_equal(nym_node_address_parse("[2001:db8::7]:1789", &p.next_hop), 0);
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t plen, n;
		uint8_t *pkt = random_packet(tags[i], &plen), *buf;

		p.packet = pkt;
		p.packet_len = plen;
		n = nym_mix_packet_len(&p, 2);
		assert_int_equal(n, 2 + 19 + plen);
		buf = malloc(n);
		assert_int_equal(nym_mix_packet_encode_v2(&p, buf, n), (long)n);
		assert_int_equal(buf[0], 0);
		assert_int_equal(buf[1], 2);
		assert_int_equal(buf[2], 6);
		assert_int_equal(nym_mix_packet_decode_v2(buf, n, &d), 0);
		assert_int_equal(d.key_rotation, 2);
		assert_true(nym_node_address_equal(&d.next_hop, &p.next_hop));
		assert_int_equal(d.packet_len, plen);
		assert_memory_equal(d.packet, pkt, plen);
		assert_int_equal(nym_mix_packet_encode_v1(&p, buf, n), (long)n - 1);
		assert_int_equal(nym_mix_packet_decode_v1(buf, n - 1, &d), 0);
		assert_int_equal(d.key_rotation, 0);
		assert_memory_equal(d.packet, pkt, plen);
		free(buf);
		free(pkt);
	}
}

static void test_mix_packet_malformed(void **state)
{
	uint8_t buf[2 + 19 + 2414];
	struct nym_mix_packet p, untouched;

	(void)state;
	memset(&p, 0x77, sizeof(p));
	untouched = p;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(nym_mix_packet_decode_v1(buf, 0, &p), NYM_FRAME_ERR_SHORT);
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1, &p), NYM_FRAME_ERR_SHORT);
	assert_int_equal(nym_mix_packet_decode_v2(buf, 2, &p), NYM_FRAME_ERR_SHORT);
	/* v1: type, then address */
	buf[0] = 1;
	buf[1] = 4;
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 7 + 2413, &p), NYM_FRAME_ERR_TYPE);
	buf[0] = 0;
	buf[1] = 5;
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 7 + 2413, &p), NYM_FRAME_ERR_ADDRESS);
	buf[1] = 4;
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 6, &p), NYM_FRAME_ERR_ADDRESS);
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 7, &p), NYM_FRAME_ERR_PACKET_LEN);
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 7 + 2412, &p), NYM_FRAME_ERR_PACKET_LEN);
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 7 + 2414, &p), NYM_FRAME_ERR_PACKET_LEN);
	buf[1] = 6; /* IPv6 needs 19 bytes */
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 18, &p), NYM_FRAME_ERR_ADDRESS);
	assert_int_equal(nym_mix_packet_decode_v1(buf, 1 + 19 + 386, &p), 0);
	/* v2: rotation byte */
	buf[0] = 0;
	buf[1] = 3;
	buf[2] = 4;
	assert_int_equal(nym_mix_packet_decode_v2(buf, 2 + 7 + 2413, &p), NYM_FRAME_ERR_ROTATION);
	buf[1] = 2;
	buf[0] = 7;
	assert_int_equal(nym_mix_packet_decode_v2(buf, 2 + 7 + 2413, &p), NYM_FRAME_ERR_TYPE);
	memset(&p, 0x77, sizeof(p));
	buf[0] = 2; /* Outfox is a valid packet type */
	assert_int_equal(nym_mix_packet_decode_v2(buf, 2 + 7 + 2413, &p), 0);
	assert_int_equal(p.packet_type, 2);
	memset(&p, 0x77, sizeof(p));
	assert_int_equal(nym_mix_packet_decode_v2(buf, 2 + 7 + 2000, &p), NYM_FRAME_ERR_PACKET_LEN);
	assert_memory_equal(&p, &untouched, sizeof(p));
	assert_int_equal(nym_mix_packet_decode_v2(NULL, 5, &p), NYM_FRAME_ERR_ARG);
}

static void test_mix_packet_encode_errors(void **state)
{
	uint8_t pkt[2413] = { 0 }, out[3000];
	struct nym_mix_packet p = { .packet_type = 0, .packet = pkt, .packet_len = 2413 };

	(void)state;
	assert_int_equal(nym_node_address_parse("1.2.3.4:5", &p.next_hop), 0);
	assert_int_equal(nym_mix_packet_encode_v1(&p, out, 2420), NYM_FRAME_ERR_ARG);
	assert_int_equal(nym_mix_packet_encode_v1(&p, out, 2421), 2421);
	p.packet_len = 2412;
	assert_int_equal(nym_mix_packet_encode_v1(&p, out, sizeof(out)), NYM_FRAME_ERR_PACKET_LEN);
	p.packet_len = 2413;
	p.packet_type = 1;
	assert_int_equal(nym_mix_packet_encode_v1(&p, out, sizeof(out)), NYM_FRAME_ERR_TYPE);
	p.packet_type = 0;
	p.key_rotation = 9;
	assert_int_equal(nym_mix_packet_encode_v2(&p, out, sizeof(out)), NYM_FRAME_ERR_ROTATION);
	p.key_rotation = 0;
	p.next_hop.ip_version = 5;
	assert_int_equal(nym_mix_packet_encode_v2(&p, out, sizeof(out)), NYM_FRAME_ERR_ADDRESS);
	assert_int_equal(nym_mix_packet_len(&p, 2), 0);
	assert_int_equal(nym_mix_packet_len(&p, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_for_and_encode),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_stream_decoder_splits),
		cmocka_unit_test(test_stream_reencode),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_stream_error_after_good_frame),
		cmocka_unit_test(test_mix_packet_real_v1_v2),
		cmocka_unit_test(test_mix_packet_ipv6_and_sizes),
		cmocka_unit_test(test_mix_packet_malformed),
		cmocka_unit_test(test_mix_packet_encode_errors),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
