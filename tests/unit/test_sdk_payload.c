/* The SDK's payload encoding (common/sdk_payload.c): the bytes @nymproject/sdk 1.4.1 puts on
 * the wire (seen in a browser, and Nym's own test lengths), serde_json's escaping, and what
 * serde_json + serde's derived struct accept and refuse on decode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_payload.h"
#include "unit/util.h"

static struct ns_sdkp_str S(const char *s) { return (struct ns_sdkp_str){ (const uint8_t *)s, strlen(s), 1 }; }
static const struct ns_sdkp_str NONE = { NULL, 0, 0 };

static uint8_t *enc(struct ns_sdkp_str mime, struct ns_sdkp_str headers, const char *payload,
                    size_t plen, long *len)
{
	long n = ns_sdkp_encoded_len(mime, headers, plen);
	assert_true(n > 0);
	uint8_t *out = malloc((size_t)n);
	*len = ns_sdkp_encode(mime, headers, (const uint8_t *)payload, plen, out, (size_t)n);
	assert_int_equal(*len, n);
	return out;
}

/* "hi" as text/plain, byte for byte as the real SDK sent it (sdk.md) */
static void test_sdk_example(void **state)
{
	(void)state;
	uint8_t want[64];
	long wlen = util_unhex("0000000000000028"
	                       "7b226d696d6554797065223a22746578742f706c61696e222c2268656164657273223a6e756c6c7d"
	                       "6869", want, sizeof want);
	long n;
	uint8_t *got = enc(S("text/plain"), NONE, "hi", 2, &n);
	assert_int_equal(n, wlen);
	assert_memory_equal(got, want, (size_t)n);
	struct ns_sdkp_decoded d;
	assert_int_equal(ns_sdkp_decode(got, (size_t)n, &d), 0);
	assert_string_equal((char *)d.mime, "text/plain");
	assert_null(d.headers);
	assert_int_equal(d.payload_off, 48);
	assert_int_equal(d.payload_len, 2);
	ns_sdkp_decoded_free(&d);
	free(got);
}

/* the lengths of Nym's own tests of encode_payload_with_headers */
static void test_nym_lengths(void **state)
{
	(void)state;
	long n;
	uint8_t *m = enc(S("text/plain"), S("test headers"), "\0\1\2", 3, &n);
	assert_int_equal(n, 61);
	assert_int_equal(m[7], 50);
	struct ns_sdkp_decoded d;
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), 0);
	assert_string_equal((char *)d.headers, "test headers");
	assert_memory_equal(m + d.payload_off, "\0\1\2", 3);
	ns_sdkp_decoded_free(&d);
	free(m);
	m = enc(S(""), NONE, "", 0, &n);
	assert_int_equal(n, 38);
	assert_int_equal(m[7], 30);
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), 0);
	assert_int_equal(d.mime_len, 0);
	assert_int_equal(d.payload_len, 0);
	ns_sdkp_decoded_free(&d);
	free(m);
}

/* serde_json's escaping: the short forms, other controls as \u00xx lowercase, '/', DEL and
 * non-ASCII as they are */
static void test_escaping(void **state)
{
	(void)state;
	const char *mime = "a\"\\\b\f\n\r\t\x01\x1b\x1f\x7f/\xc3\xa9\xf0\x9f\x98\x80";
	const char *json = "{\"mimeType\":\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001b\\u001f\x7f/\xc3\xa9\xf0\x9f\x98\x80\","
	                   "\"headers\":\"\\u0000x\"}";
	struct ns_sdkp_str h = { (const uint8_t *)"\0x", 2, 1 };
	long n;
	uint8_t *m = enc(S(mime), h, "", 0, &n);
	assert_int_equal(n, 8 + strlen(json));
	assert_memory_equal(m + 8, json, strlen(json));
	struct ns_sdkp_decoded d;
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), 0);
	assert_string_equal((char *)d.mime, mime);
	assert_int_equal(d.headers_len, 2);
	assert_memory_equal(d.headers, "\0x", 2);
	ns_sdkp_decoded_free(&d);
	free(m);
}

static void test_encode_refusals(void **state)
{
	(void)state;
	uint8_t out[64];
	assert_int_equal(ns_sdkp_encoded_len(S("a\xff"), NONE, 0), NS_SDKP_EUTF8);
	assert_int_equal(ns_sdkp_encode(S("ok"), S("\xed\xa0\x80"), NULL, 0, out, sizeof out), NS_SDKP_EUTF8);
	assert_int_equal(ns_sdkp_encode(S("text/plain"), NONE, (const uint8_t *)"hi", 2, out, 49), NS_SDKP_ESPACE);
	assert_int_equal(ns_sdkp_encode(S("text/plain"), NONE, (const uint8_t *)"hi", 2, out, 50), 50);
}

/* A message of the given JSON header and payload "P" */
static int dec_json(const char *json, struct ns_sdkp_decoded *d)
{
	size_t jl = strlen(json);
	uint8_t *m = malloc(jl + 9);
	memset(m, 0, 8);
	for (int i = 0; i < 4; i++)
		m[4 + i] = (uint8_t)(jl >> (24 - 8 * i));
	memcpy(m + 8, json, jl);
	m[8 + jl] = 'P';
	int rc = ns_sdkp_decode(m, jl + 9, d);
	if (rc == 0)
		assert_int_equal(d->payload_len, 1);
	free(m);
	return rc;
}

static void accepted(const char *json, const char *mime, const char *headers)
{
	struct ns_sdkp_decoded d;
	int rc = dec_json(json, &d);
	if (rc != 0)
		fail_msg("refused (%d) but serde accepts: %s", rc, json);
	assert_string_equal((char *)d.mime, mime);
	if (headers)
		assert_string_equal((char *)d.headers, headers);
	else
		assert_null(d.headers);
	ns_sdkp_decoded_free(&d);
}

static void refused(const char *json, int want)
{
	struct ns_sdkp_decoded d;
	int rc = dec_json(json, &d);
	if (rc != want)
		fail_msg("got %d, want %d: %s", rc, want, json);
	assert_null(d.mime);
}

static void test_decode_accepts(void **state)
{
	(void)state;
	accepted(" \t\r\n{ \"headers\" : \"h\" , \"mimeType\" : \"m\" } \n", "m", "h");
	accepted("{\"mimeType\":\"m\"}", "m", NULL);                 /* headers missing */
	accepted("{\"mimeType\":\"m\",\"headers\":null}", "m", NULL);
	accepted("{\"mime\\u0054ype\":\"m\"}", "m", NULL);           /* keys are unescaped */
	accepted("{\"mimeType\":\"\\ud83d\\ude00\\/\"}", "\xf0\x9f\x98\x80/", NULL);
	accepted("[\"m\",null]", "m", NULL);                         /* serde's sequence form */
	accepted(" [ \"m\" , \"h\" ] ", "m", "h");
	/* unknown keys: any JSON value, skipped as serde_json's ignore_value skips it */
	accepted("{\"x\":[1,-0.5e+3,{\"a\":[true,false,null,{}]},[],\"s\"],\"mimeType\":\"m\",\"x\":0}", "m", NULL);
	accepted("{\"x\":\"\\udead\",\"mimeType\":\"m\"}", "m", NULL); /* lone surrogate, skipped */
	accepted("{\"x\":\"\xff\xfe\",\"mimeType\":\"m\"}", "m", NULL); /* not UTF-8, skipped */
	accepted("{\"x\":{\"\xff\":1},\"mimeType\":\"m\"}", "m", NULL);
	accepted("{\"x\":12345678901234567890123456789e99999,\"mimeType\":\"m\"}", "m", NULL);
	accepted("{\"MimeType\":1,\"mimeType\":\"m\",\"mime_type\":2}", "m", NULL);
}

static void test_decode_refuses(void **state)
{
	(void)state;
	refused("{}", NS_SDKP_EMIME);
	refused("{\"headers\":\"h\"}", NS_SDKP_EMIME);
	refused("[]", NS_SDKP_EMIME);
	refused("{\"mimeType\":\"a\",\"mimeType\":\"a\"}", NS_SDKP_EDUP);
	refused("{\"mimeType\":\"a\",\"headers\":null,\"headers\":null}", NS_SDKP_EDUP);
	refused("{\"mimeType\":\"a\",\"mime\\u0054ype\":\"b\"}", NS_SDKP_EDUP);
	static const char *const bad[] = {
		"", " ", "null", "\"m\"", "1",
		"\xef\xbb\xbf{\"mimeType\":\"m\"}",       /* a BOM is not whitespace */
		"{\"mimeType\":null}", "{\"mimeType\":1}", "{\"mimeType\":[\"m\"]}",
		"{\"mimeType\":\"m\",\"headers\":1}", "{\"mimeType\":\"m\",\"headers\":nul}",
		"{\"mimeType\":\"m\",\"headers\":{}}",
		"{\"mimeType\":\"m\"} x", "{\"mimeType\":\"m\"}}", "{\"mimeType\":\"m\"},",
		"{\"mimeType\":\"m\",}", "{,\"mimeType\":\"m\"}", "{\"mimeType\":\"m\"",
		"{\"mimeType\" \"m\"}", "{'mimeType':'m'}", "{mimeType:\"m\"}",
		"{\"mimeType\":\"m\" \"headers\":null}",
		"[\"m\"]", "[\"m\",]", "[\"m\",null,]", "[\"m\",null,1]", "[null,null]", "[\"m\" null]",
		"{\"mimeType\":\"\\ud83d\"}", "{\"mimeType\":\"\\ude00\"}",    /* lone surrogates */
		"{\"mimeType\":\"\\ud83d\\u0041\"}", "{\"mimeType\":\"\\ud83d\\n\"}",
		"{\"mimeType\":\"\xff\"}", "{\"mimeType\":\"\xc0\x80\"}",      /* not UTF-8 */
		"{\"\xff\":1,\"mimeType\":\"m\"}",                            /* a key must be UTF-8 */
		"{\"mimeType\":\"a\nb\"}", "{\"x\":\"\x1f\",\"mimeType\":\"m\"}", /* control bytes */
		"{\"mimeType\":\"\\x\"}", "{\"mimeType\":\"\\u12\"}", "{\"x\":\"\\u12g4\",\"mimeType\":\"m\"}",
		"{\"x\":01,\"mimeType\":\"m\"}", "{\"x\":1.,\"mimeType\":\"m\"}", "{\"x\":.5,\"mimeType\":\"m\"}",
		"{\"x\":1e,\"mimeType\":\"m\"}", "{\"x\":-,\"mimeType\":\"m\"}", "{\"x\":+1,\"mimeType\":\"m\"}",
		"{\"x\":[1,],\"mimeType\":\"m\"}", "{\"x\":{\"a\":1,},\"mimeType\":\"m\"}",
		"{\"x\":[1 2],\"mimeType\":\"m\"}", "{\"x\":{\"a\" 1},\"mimeType\":\"m\"}",
		"{\"x\":{1:1},\"mimeType\":\"m\"}", "{\"x\":[},\"mimeType\":\"m\"}", "{\"x\":tru,\"mimeType\":\"m\"}",
		"{\"x\":NaN,\"mimeType\":\"m\"}", "{\"x\":[,1],\"mimeType\":\"m\"}", "{\"x\":\"a,\"mimeType\":\"m\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ns_sdkp_decoded d;
		int rc = dec_json(bad[i], &d);
		if (rc >= 0)
			fail_msg("accepted but serde refuses: %s", bad[i]);
		assert_null(d.mime);
	}
}

/* serde_json skips a value with no depth limit */
static void test_deep_skipped_value(void **state)
{
	(void)state;
	size_t depth = 200000;
	char *json = malloc(2 * depth + 64);
	char *p = json;
	p += sprintf(p, "{\"x\":");
	for (size_t i = 0; i < depth; i++)
		*p++ = '[';
	for (size_t i = 0; i < depth; i++)
		*p++ = ']';
	strcpy(p, ",\"mimeType\":\"m\"}");
	accepted(json, "m", NULL);
	json[5 + depth] = '}'; /* a mismatched closer deep inside */
	refused(json, NS_SDKP_EJSON);
	free(json);
}

static void test_length_prefix(void **state)
{
	(void)state;
	long n;
	uint8_t *m = enc(S("m"), NONE, "xyz", 3, &n);
	struct ns_sdkp_decoded d;
	for (long i = 0; i < 8; i++)
		assert_int_equal(ns_sdkp_decode(m, (size_t)i, &d), NS_SDKP_ESHORT);
	/* the high 32 bits are dropped by `as usize` on wasm32 */
	m[0] = 0xff, m[3] = 0x01;
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), 0);
	assert_int_equal(d.payload_len, 3);
	ns_sdkp_decoded_free(&d);
	m[0] = m[3] = 0;
	/* the header runs past the end */
	uint8_t saved = m[7];
	m[7] = (uint8_t)(n - 7);
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), NS_SDKP_ELENGTH);
	/* exactly to the end: the payload is empty, the JSON is the header + "xyz": refused */
	m[7] = (uint8_t)(n - 8);
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), NS_SDKP_EJSON);
	/* size + 8 past u32: the SDK panics (overflow), refused */
	for (uint32_t big = 0xFFFFFFF8u; big != 0; big++) {
		m[4] = (uint8_t)(big >> 24), m[5] = (uint8_t)(big >> 16), m[6] = (uint8_t)(big >> 8), m[7] = (uint8_t)big;
		assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), NS_SDKP_ELENGTH);
	}
	m[4] = m[5] = m[6] = 0, m[7] = saved;
	/* a zero-length header: no JSON value */
	m[7] = 0;
	assert_int_equal(ns_sdkp_decode(m, (size_t)n, &d), NS_SDKP_EJSON);
	free(m);
}

static void lossy_is(const char *in, size_t len, const char *want)
{
	uint8_t out[64];
	size_t n = ns_utf8_lossy((const uint8_t *)in, len, out);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

#define FFFD "\xef\xbf\xbd"
/* from_utf8_lossy: one U+FFFD per maximal invalid subpart */
static void test_lossy(void **state)
{
	(void)state;
	lossy_is("hi \xc3\xa9", 5, "hi \xc3\xa9");
	lossy_is("a\xff" "b", 3, "a" FFFD "b");
	lossy_is("\xf0\x90\x80", 3, FFFD);                /* truncated at the end: one */
	lossy_is("\xf0\x90\x80" "a", 4, FFFD "a");
	lossy_is("\xc0\x80", 2, FFFD FFFD);               /* overlong lead: each byte */
	lossy_is("\xed\xa0\x80", 3, FFFD FFFD FFFD);      /* an encoded surrogate */
	lossy_is("\xe0\x80\x80", 3, FFFD FFFD FFFD);
	lossy_is("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	lossy_is("\xe2\x82", 2, FFFD);
	lossy_is("\xe2\x82\xe2\x82\xac", 5, FFFD "\xe2\x82\xac");
	lossy_is("\x80\xbf", 2, FFFD FFFD);
	lossy_is("", 0, "");
	assert_true(ns_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
	assert_false(ns_utf8_valid((const uint8_t *)"\xf5\x80\x80\x80", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdk_example),     cmocka_unit_test(test_nym_lengths),
		cmocka_unit_test(test_escaping),        cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_accepts),  cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_deep_skipped_value), cmocka_unit_test(test_length_prefix),
		cmocka_unit_test(test_lossy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
