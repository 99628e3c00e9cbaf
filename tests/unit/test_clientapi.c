/* nym-client websocket API codec: binary and JSON requests/responses, exact bytes and the
 * exact error texts Nym (serde_json 1.0.141 / serde 1.0.219) produces for bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientapi.h"
#include "crypto.h"
#include "unit/util.h"

/* the recipient of Nym's own websocket-requests tests */
#define R "CytBseW6yFXUMzz4SGAKdNLGR7q3sJLLYxyBGvutNEQV.4QXYyEVc5fUDjmmi8PrHN9tdUFV4PCvSJE1278cHyvoe@4sBbL1ngf1vtNqykydQKTFh26sQCw888GpUqvPvyNB4f"
#define R_HEX                                                                                   \
	"b202f5983ab6ad7e78b5237d005ff4887689be9a2341179b05d382cf80f1dade3299f6b78e8a0bce4daa9fcca3f9" \
	"3204da56a5d5132ee4d484cec3c9927cb965396e13d61e2bc32b6353a31da0c34dcc1545f93bab112ce63d9a2c1d" \
	"0327a724"

static struct nym_recipient recipient(void)
{
	struct nym_recipient r;

	assert_int_equal(nym_recipient_from_string(R, &r), 0);
	return r;
}

/* Parses text, expects failure, and checks the full JSON error response Nym sends. */
static void expect_text_error(const char *in, const char *detail)
{
	struct capi_request req;
	struct capi_error err = {0};
	struct capi_response resp;
	char *json, want[2048];
	size_t n;

	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), CAPI_ERR);
	assert_int_equal(err.kind, CAPI_MALFORMED_REQUEST);
	if (strcmp(err.message, detail) != 0)
		fail_msg("input %s\n got: %s\nwant: %s", in, err.message, detail);
	assert_int_equal(capi_response_from_error(&resp, &err), 0);
	json = capi_response_to_text(&resp, &n);
	assert_non_null(json);
	snprintf(want, sizeof want, "{\"type\":\"error\",\"message\":\"malformed request:%s\"}", detail);
	/* details with quotes or backslashes are JSON-escaped in the response: compared above */
	if (!strchr(detail, '"') && !strchr(detail, '\\'))
		assert_string_equal(json, want);
	free(json);
	capi_response_free(&resp);
	capi_error_free(&err);
}

static void test_text_errors(void **state)
{
	(void)state;
	expect_text_error("not json", "expected ident at line 1 column 2");
	expect_text_error("", "EOF while parsing a value at line 1 column 0");
	expect_text_error("hello", "expected value at line 1 column 1");
	expect_text_error("{\"type\":\"foo\"}",
	                  "unknown variant `foo`, expected one of `send`, `sendAnonymous`, `reply`, "
	                  "`selfAddress` at line 1 column 13");
	expect_text_error("{\"type\":\"Send\"}",
	                  "unknown variant `Send`, expected one of `send`, `sendAnonymous`, `reply`, "
	                  "`selfAddress` at line 1 column 14");
	expect_text_error("{\"type\":\"getClients\"}",
	                  "unknown variant `getClients`, expected one of `send`, `sendAnonymous`, "
	                  "`reply`, `selfAddress` at line 1 column 20");
	expect_text_error("{\"type\":\"send\"}", "missing field `message`");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\"}", "missing field `recipient`");
	expect_text_error("{\"message\":\"hi\",\"recipient_address\":\"" R "\",\"type\":\"send\"}",
	                  "missing field `recipient`");
	expect_text_error("{\"type\":\"send\",\"message\":{\"a\":1},\"recipient\":\"x\"}",
	                  "invalid type: map, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":[1],\"recipient\":\"x\"}",
	                  "invalid type: sequence, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":5,\"recipient\":\"x\"}",
	                  "invalid type: integer `5`, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":null,\"recipient\":\"x\"}",
	                  "invalid type: null, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":true,\"recipient\":\"x\"}",
	                  "invalid type: boolean `true`, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":1e2,\"recipient\":\"x\"}",
	                  "invalid type: floating point `100.0`, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":-0,\"recipient\":\"x\"}",
	                  "invalid type: floating point `-0.0`, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":1e300,\"recipient\":\"x\"}",
	                  "invalid type: floating point `1e300`, expected a string");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":\"abc\"}",
	                  "recipient is malformed - the string address does not contain exactly a "
	                  "single '@' character ");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":\"abc@def\"}",
	                  "recipient is malformed - the string address does not contain exactly a "
	                  "single '.' character ");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":\"a0c.d@e\"}",
	                  "recipient's identity key is malformed: the base58 representation of the "
	                  "public key was malformed - provided string contained invalid character "
	                  "'0' at byte 1");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":\"abc.d@e\"}",
	                  "recipient's identity key is malformed: could not convert slice to array");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":"
	                  "\"CytBseW6yFXUMzz4SGAKdNLGR7q3sJLLYxyBGvutNEQV.abc@e\"}",
	                  "recipient's encryption key is malformed: received public key of invalid "
	                  "size. Got: 3, expected: 32");
	expect_text_error("{\"type\":\"send\",\"message\":\"hi\",\"recipient\":"
	                  "\"CytBseW6yFXUMzz4SGAKdNLGR7q3sJLLYxyBGvutNEQV."
	                  "4QXYyEVc5fUDjmmi8PrHN9tdUFV4PCvSJE1278cHyvoe@\xc3\xa9\"}",
	                  "recipient gateway's identity key is malformed: the base58 representation "
	                  "of the public key was malformed - provided string contained non-ascii "
	                  "character starting at byte 0");
	expect_text_error("{}", "missing field `type` at line 1 column 2");
	expect_text_error("[]", "missing field `type` at line 1 column 2");
	expect_text_error("{\"type\":\"sendAnonymous\",\"recipient\":\"" R "\",\"message\":\"m\"}",
	                  "missing field `replySurbs`");
	expect_text_error("{\"type\":\"sendAnonymous\",\"recipient\":\"" R
	                  "\",\"message\":\"m\",\"replySurbs\":-1}",
	                  "invalid value: integer `-1`, expected u32");
	expect_text_error("{\"type\":\"sendAnonymous\",\"recipient\":\"" R
	                  "\",\"message\":\"m\",\"replySurbs\":4294967296}",
	                  "invalid value: integer `4294967296`, expected u32");
	expect_text_error("{\"type\":\"sendAnonymous\",\"recipient\":\"" R
	                  "\",\"message\":\"m\",\"replySurbs\":1.5}",
	                  "invalid type: floating point `1.5`, expected u32");
	expect_text_error("{\"type\":\"send\",\"message\":\"m\",\"recipient\":\"" R
	                  "\",\"connectionId\":-7}",
	                  "invalid value: integer `-7`, expected u64");
	expect_text_error("{\"type\":\"reply\",\"senderTag\":\"0\",\"message\":\"m\"}",
	                  "Failed to decode the base58-encoded string - provided string contained "
	                  "invalid character '0' at byte 0");
	expect_text_error("{\"type\":\"reply\",\"senderTag\":\"abc\",\"message\":\"m\"}",
	                  "Decoded AnonymousSenderTag has invalid length. Expected 16, but got 3");
	expect_text_error("{\"type\":\"reply\",\"senderTag\":5,\"message\":\"m\"}",
	                  "invalid type: integer `5`, expected a string");
	expect_text_error("{\"type\":\"sendAnonymous\",\"recipient\":\"" R
	                  "\",\"message\":\"m\",\"replySurbs\":\"5\"}",
	                  "invalid type: string \"5\", expected u32");
	expect_text_error("{\"type\":\"send\",\"recipient\":[],\"message\":\"m\"}",
	                  "invalid type: sequence, expected a string");
	expect_text_error("{\"type\":\"reply\",\"replySurb\":\"abc\",\"message\":\"m\"}",
	                  "missing field `senderTag`");
	expect_text_error("{\"type\":\"selfAddress\"} x", "trailing characters at line 1 column 24");
	expect_text_error("{\"type\":\"send\",\"type\":\"send\"}",
	                  "duplicate field `type` at line 1 column 21");
	expect_text_error("{\"type\":\"send\",\"message\":\"a\",\"message\":\"b\"}",
	                  "duplicate field `message`");
	expect_text_error("[\"send\",\"hi\"]",
	                  "invalid length 1, expected struct variant ClientRequestText::Send with 3 "
	                  "elements");
	expect_text_error("[\"selfAddress\",1]", "invalid length 1, expected 0 elements in sequence");
	expect_text_error("{\"type\":5}",
	                  "invalid type: integer `5`, expected variant identifier at line 1 column 9");
	expect_text_error("{\"type\":[]}",
	                  "invalid type: sequence, expected variant identifier at line 1 column 8");
	expect_text_error("{\"type\":\"send\"", "EOF while parsing an object at line 1 column 14");
	expect_text_error("{\"type\":\"selfAddress\",}", "trailing comma at line 1 column 23");
	expect_text_error("{\"type\" 1}", "expected `:` at line 1 column 9");
	expect_text_error("{1:2}", "key must be a string at line 1 column 2");
	expect_text_error("{\"type\":\"se\nnd\"}",
	                  "control character (\\u0000-\\u001F) found while parsing a string at line 2 "
	                  "column 0");
	expect_text_error("{\"type\":\"x\\q\"}", "invalid escape at line 1 column 12");
	expect_text_error("{\"type\":\"\\ud800x\"}",
	                  "unexpected end of hex escape at line 1 column 16");
	expect_text_error("{\"type\":\"\\udc00\"}",
	                  "lone leading surrogate in hex escape at line 1 column 15");
	expect_text_error("{\"a\":01}", "invalid number at line 1 column 7");
	expect_text_error("{\"a\":1.}", "invalid number at line 1 column 8");
	expect_text_error("{\"a\":1e999}", "number out of range at line 1 column 10");
	expect_text_error("{\"a\":tru}", "expected ident at line 1 column 9");
	expect_text_error("\"x\"",
	                  "invalid type: string \"x\", expected internally tagged enum "
	                  "ClientRequestText at line 1 column 3");
	expect_text_error("null",
	                  "invalid type: null, expected internally tagged enum ClientRequestText at "
	                  "line 1 column 4");
	expect_text_error("{\"type\":\"send\",\"message\":\"m\",\"recipient\":\"" R
	                  "\",\"connectionId\":\"7\\n\"}",
	                  "invalid type: string \"7\\n\", expected u64");
}

static void test_text_recursion_limit(void **state)
{
	char buf[300];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(buf, sizeof buf, "{\"x\":");
	for (int k = 0; k < 127; k++)
		buf[n++] = '[';
	buf[n] = '\0';
	expect_text_error(buf, "recursion limit exceeded at line 1 column 132");
	/* 126 levels inside the map are fine (then EOF) */
	buf[n - 1] = '\0';
	expect_text_error(buf, "EOF while parsing a list at line 1 column 131");
}

static void test_text_requests_ok(void **state)
{
	struct capi_request req;
	struct capi_error err = {0};
	struct nym_recipient r = recipient();
	const char *in;

	(void)state;
	in = "{\"type\":\"send\",\"message\":\"hello\",\"recipient\":\"" R "\",\"withReplySurb\":true}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SEND);
	assert_int_equal(req.message_len, 5);
	assert_memory_equal(req.message, "hello", 5);
	assert_memory_equal(&req.recipient, &r, sizeof r);
	assert_int_equal(req.has_connection_id, 0);
	capi_request_free(&req);

	/* text connectionId 0 is Some(0), unlike binary */
	in = " {\"recipient\":\"" R "\",\"connectionId\":0,\"message\":\"\\u00e9\\ud83d\\ude00\","
	     "\"connection_id\":9,\"type\":\"send\"}\n";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.has_connection_id, 1);
	assert_int_equal(req.connection_id, 0);
	assert_int_equal(req.message_len, 6);
	assert_memory_equal(req.message, "\xc3\xa9\xf0\x9f\x98\x80", 6);
	capi_request_free(&req);

	in = "{\"type\":\"sendAnonymous\",\"recipient\":\"" R "\",\"message\":\"x\",\"replySurbs\":"
	     "4294967295,\"connectionId\":null}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SEND_ANONYMOUS);
	assert_int_equal(req.reply_surbs, 4294967295u);
	assert_int_equal(req.has_connection_id, 0);
	capi_request_free(&req);

	in = "{\"type\":\"reply\",\"senderTag\":\"6CzGHguLGCk1f416kwDZB7\",\"message\":\"r\","
	     "\"connectionId\":18446744073709551615}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_REPLY);
	for (int k = 0; k < 16; k++)
		assert_int_equal(req.sender_tag[k], 42);
	assert_true(req.connection_id == UINT64_MAX);
	capi_request_free(&req);

	in = "{\"type\":\"selfAddress\",\"junk\":[1,{\"a\":null}]}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SELF_ADDRESS);
	in = "[\"send\",\"m\",\"" R "\",null]";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SEND);
	capi_request_free(&req);
	/* invalid UTF-8 text frame: connection-level error, no response */
	assert_int_equal(capi_request_from_text("\"\xff\"", 3, &req, &err), CAPI_ERR_UTF8);
	/* over tungstenite's 64 MiB message limit: connection-level too */
	{
		char *big = calloc(1, CAPI_MAX_TEXT + 1);
		assert_non_null(big);
		assert_int_equal(capi_request_from_text(big, CAPI_MAX_TEXT + 1, &req, &err),
		                 CAPI_ERR_TOO_BIG);
		free(big);
	}
}

static void test_binary_requests_exact(void **state)
{
	struct capi_request req = {0}, got;
	struct capi_error err = {0};
	uint8_t *b;
	size_t n;
	char hex[600];

	(void)state;
	req.type = CAPI_REQ_SEND;
	req.recipient = recipient();
	req.message = (uint8_t *)"foomp";
	req.message_len = 5;
	req.has_connection_id = 1;
	req.connection_id = 42;
	b = capi_request_to_binary(&req, &n);
	assert_int_equal(n, 1 + 96 + 8 + 8 + 5);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "00" R_HEX "000000000000002a" "0000000000000005" "666f6f6d70");
	assert_int_equal(capi_request_from_binary(b, n, &got, &err), 0);
	assert_int_equal(got.type, CAPI_REQ_SEND);
	assert_int_equal(got.connection_id, 42);
	assert_int_equal(got.has_connection_id, 1);
	assert_memory_equal(got.message, "foomp", 5);
	capi_request_free(&got);
	free(b);

	req.type = CAPI_REQ_SEND_ANONYMOUS;
	req.reply_surbs = 666;
	req.has_connection_id = 0;
	b = capi_request_to_binary(&req, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "01" "0000029a" R_HEX "0000000000000000" "0000000000000005"
	                         "666f6f6d70");
	assert_int_equal(capi_request_from_binary(b, n, &got, &err), 0);
	assert_int_equal(got.reply_surbs, 666);
	assert_int_equal(got.has_connection_id, 0); /* binary 0 = None */
	capi_request_free(&got);
	free(b);

	req.type = CAPI_REQ_REPLY;
	memset(req.sender_tag, 8, 16);
	req.has_connection_id = 1;
	req.connection_id = 42;
	b = capi_request_to_binary(&req, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "02" "08080808080808080808080808080808" "000000000000002a"
	                         "0000000000000005" "666f6f6d70");
	free(b);

	req.type = CAPI_REQ_CLOSED_CONNECTION;
	b = capi_request_to_binary(&req, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "04000000000000002a");
	free(b);
	req.type = CAPI_REQ_GET_LANE_QUEUE_LENGTH;
	b = capi_request_to_binary(&req, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "05000000000000002a");
	assert_int_equal(capi_request_from_binary(b, n, &got, &err), 0);
	assert_int_equal(got.type, CAPI_REQ_GET_LANE_QUEUE_LENGTH);
	assert_int_equal(got.connection_id, 42);
	free(b);
	/* SelfAddress ignores trailing bytes */
	assert_int_equal(capi_request_from_binary((const uint8_t *)"\x03\x01\x02", 3, &got, &err), 0);
	assert_int_equal(got.type, CAPI_REQ_SELF_ADDRESS);
}

static void expect_bin_error(const uint8_t *in, size_t n, uint8_t kind, const char *msg)
{
	struct capi_request req;
	struct capi_error err = {0};

	assert_int_equal(capi_request_from_binary(in, n, &req, &err), CAPI_ERR);
	assert_int_equal(err.kind, kind);
	assert_string_equal(err.message, msg);
	capi_error_free(&err);
}

static void test_binary_request_errors(void **state)
{
	uint8_t b[200];
	struct nym_recipient r = recipient();
	struct capi_response resp;
	struct capi_error err = {0};
	uint8_t *out;
	size_t n;
	char hex[400];

	(void)state;
	memset(b, 0, sizeof b);
	expect_bin_error(b, 0, CAPI_EMPTY_REQUEST, "no data provided");
	b[0] = 9;
	expect_bin_error(b, 1, CAPI_UNKNOWN_REQUEST, "9 does not correspond to any valid request tag");
	b[0] = 0xff;
	expect_bin_error(b, 5, CAPI_UNKNOWN_REQUEST,
	                 "255 does not correspond to any valid request tag");
	b[0] = 0;
	expect_bin_error(b, 112, CAPI_TOO_SHORT_REQUEST, "not enough data provided to recover 'send'");
	b[0] = 1;
	expect_bin_error(b, 116, CAPI_TOO_SHORT_REQUEST,
	                 "not enough data provided to recover 'send_anonymous'");
	b[0] = 2;
	expect_bin_error(b, 32, CAPI_TOO_SHORT_REQUEST, "not enough data provided to recover 'reply'");
	/* the old (pre-2022-12) binarysend.py first sends [0x02] */
	expect_bin_error(b, 1, CAPI_TOO_SHORT_REQUEST, "not enough data provided to recover 'reply'");
	b[0] = 2;
	b[32] = 3; /* message len 3, 0 given */
	expect_bin_error(b, 33, CAPI_MALFORMED_REQUEST,
	                 "message len has inconsistent length. specified: 3 got: 0");
	b[0] = 4;
	expect_bin_error(b, 10, CAPI_MALFORMED_REQUEST,
	                 "The received closed connection has invalid length");
	expect_bin_error(b, 8, CAPI_MALFORMED_REQUEST,
	                 "The received closed connection has invalid length");
	b[0] = 5;
	expect_bin_error(b, 1, CAPI_MALFORMED_REQUEST,
	                 "The received get lane queue lengths has invalid length");
	/* send with good recipient, data_len mismatch */
	memset(b, 0, sizeof b);
	b[0] = 0;
	nym_recipient_to_bytes(&r, b + 1);
	b[112] = 7;
	expect_bin_error(b, 115, CAPI_MALFORMED_REQUEST,
	                 "data len has inconsistent length. specified: 7 got: 2");
	b[112] = 0;
	b[105] = 0x80; /* length 2^63 + 0 */
	expect_bin_error(b, 113, CAPI_MALFORMED_REQUEST,
	                 "data len has inconsistent length. specified: 9223372036854775808 got: 0");
	/* an identity key that is not a curve point */
	for (int k = 2; k < 256; k++) {
		uint8_t key[32] = {(uint8_t)k};
		if (!nym_ed25519_pk_decompresses(key)) {
			memcpy(b + 1, key, 32);
			break;
		}
		assert_true(k < 255);
	}
	b[105] = 0;
	expect_bin_error(b, 113, CAPI_MALFORMED_REQUEST,
	                 "malformed recipient: recipient's identity key is malformed: signature error: "
	                 "Cannot decompress Edwards point");
	nym_recipient_to_bytes(&r, b + 1);
	/* the binary error response bytes */
	assert_int_equal(capi_request_from_binary((const uint8_t *)"\x09", 1, (void *)b, &err), CAPI_ERR);
	assert_int_equal(capi_response_from_error(&resp, &err), 0);
	out = capi_response_to_binary(&resp, &n);
	util_tohex(out, n, hex);
	assert_string_equal(hex, "0003000000000000002e"
	                         "3920646f6573206e6f7420636f72726573706f6e6420746f20616e792076616c696420"
	                         "7265717565737420746167");
	free(out);
	out = (uint8_t *)capi_response_to_text(&resp, &n);
	assert_string_equal((char *)out, "{\"type\":\"error\",\"message\":\"unknown request type:9 does "
	                                 "not correspond to any valid request tag\"}");
	free(out);
	capi_response_free(&resp);
	capi_error_free(&err);
}

static void test_responses_exact(void **state)
{
	struct capi_response resp = {0}, back;
	struct capi_error err = {0};
	char *t, hex[400];
	uint8_t *b;
	size_t n;

	(void)state;
	resp.type = CAPI_RESP_RECEIVED;
	resp.message = (uint8_t *)"foomp";
	resp.message_len = 5;
	resp.has_sender_tag = 1;
	memset(resp.sender_tag, 42, 16);
	t = capi_response_to_text(&resp, &n);
	assert_string_equal(t, "{\"type\":\"received\",\"message\":\"foomp\",\"senderTag\":"
	                       "\"6CzGHguLGCk1f416kwDZB7\"}");
	assert_int_equal(capi_response_from_text(t, n, &back, &err), 0);
	assert_int_equal(back.has_sender_tag, 1);
	assert_memory_equal(back.sender_tag, resp.sender_tag, 16);
	capi_response_free(&back);
	free(t);
	b = capi_response_to_binary(&resp, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "0101" "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a" "0000000000000005"
	                         "666f6f6d70");
	free(b);

	resp.has_sender_tag = 0;
	resp.message = (uint8_t *)"a\xff" "b\"\\\n\x01/\x7f";
	resp.message_len = 9;
	t = capi_response_to_text(&resp, &n);
	assert_string_equal(t, "{\"type\":\"received\",\"message\":\"a\xef\xbf\xbd" "b\\\"\\\\\\n"
	                       "\\u0001/\x7f\",\"senderTag\":null}");
	free(t);
	b = capi_response_to_binary(&resp, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "0100" "0000000000000009" "61ff62225c0a012f7f");
	assert_int_equal(capi_response_from_binary(b, n, &back, &err), 0);
	assert_int_equal(back.message_len, 9);
	assert_memory_equal(back.message, resp.message, 9);
	capi_response_free(&back);
	free(b);

	memset(&resp, 0, sizeof resp);
	resp.type = CAPI_RESP_SELF_ADDRESS;
	resp.address = recipient();
	t = capi_response_to_text(&resp, &n);
	assert_string_equal(t, "{\"type\":\"selfAddress\",\"address\":\"" R "\"}");
	free(t);
	b = capi_response_to_binary(&resp, &n);
	assert_int_equal(n, 97);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "02" R_HEX);
	free(b);

	resp.type = CAPI_RESP_LANE_QUEUE_LENGTH;
	resp.lane = 13;
	resp.queue_length = 42;
	t = capi_response_to_text(&resp, &n);
	assert_string_equal(t, "{\"type\":\"laneQueueLength\",\"lane\":13,\"queue_length\":42}");
	free(t);
	b = capi_response_to_binary(&resp, &n);
	util_tohex(b, n, hex);
	assert_string_equal(hex, "03000000000000000d000000000000002a");
	free(b);
}

static void test_lossy_utf8(void **state)
{
	/* Rust from_utf8_lossy: one U+FFFD per maximal invalid subpart */
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
		{"\xe2\x82", 2, "\xef\xbf\xbd"},
		{"\xe2\x82" "a", 3, "\xef\xbf\xbd" "a"},
		{"\xf0\x90\x80", 3, "\xef\xbf\xbd"},
		{"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"ok\xc3\xa9", 4, "ok\xc3\xa9"},
	};

	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t n;
		char *o = capi_utf8_lossy((const uint8_t *)cases[k].in, cases[k].n, &n);
		assert_string_equal(o, cases[k].want);
		free(o);
	}
}

static void test_response_binary_errors(void **state)
{
	struct capi_response resp;
	struct capi_error err = {0};

	(void)state;
	assert_int_equal(capi_response_from_binary((const uint8_t *)"", 0, &resp, &err), CAPI_ERR);
	assert_int_equal(err.kind, CAPI_EMPTY_RESPONSE);
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x07", 1, &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "7 does not correspond to any valid response tag");
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x03\x00", 2, &resp, &err),
	                 CAPI_ERR);
	assert_int_equal(err.kind, CAPI_TOO_SHORT_RESPONSE);
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x00\x01\0\0\0\0\0\0\0", 9,
	                                           &resp, &err), CAPI_ERR);
	assert_int_equal(err.kind, CAPI_TOO_SHORT_RESPONSE);
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x00\x05\0\0\0\0\0\0\0\0", 10,
	                                           &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "invalid error code 5");
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x01\x02\0\0\0\0\0\0\0\0", 10,
	                                           &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "invalid sender tag flag 2");
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x01\x01\0\0\0\0\0\0\0\0", 10,
	                                           &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "not enough data provided to recover 'received'");
	assert_int_equal(capi_response_from_binary((const uint8_t *)"\x02\x01", 2, &resp, &err),
	                 CAPI_ERR);
	assert_string_equal(err.message, "not enough data provided to recover 'self_address'");
	capi_error_free(&err);
}

static void test_text_round_trips(void **state)
{
	struct capi_request req = {0}, got;
	struct capi_error err = {0};
	char *t;
	size_t n;

	(void)state;
	req.type = CAPI_REQ_SEND_ANONYMOUS;
	req.recipient = recipient();
	req.message = (uint8_t *)"line\n\"q\"\t\x01 \xc3\xa9";
	req.message_len = strlen((char *)req.message);
	req.reply_surbs = 7;
	req.has_connection_id = 1;
	req.connection_id = 99;
	t = capi_request_to_text(&req, &n);
	assert_string_equal(t, "{\"type\":\"sendAnonymous\",\"recipient\":\"" R "\",\"message\":"
	                       "\"line\\n\\\"q\\\"\\t\\u0001 \xc3\xa9\",\"replySurbs\":7,"
	                       "\"connectionId\":99}");
	assert_int_equal(capi_request_from_text(t, n, &got, &err), 0);
	assert_int_equal(got.type, req.type);
	assert_int_equal(got.message_len, req.message_len);
	assert_memory_equal(got.message, req.message, req.message_len);
	assert_int_equal(got.reply_surbs, 7);
	assert_int_equal(got.connection_id, 99);
	capi_request_free(&got);
	free(t);
	req.type = CAPI_REQ_CLOSED_CONNECTION;
	assert_null(capi_request_to_text(&req, &n));
}

static void test_response_text_parse(void **state)
{
	struct capi_response resp;
	struct capi_error err = {0};
	const char *in;

	(void)state;
	in = "{\"type\":\"error\",\"message\":\"malformed request:missing field `type`\"}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), 0);
	assert_int_equal(resp.type, CAPI_RESP_ERROR);
	assert_int_equal(resp.error.kind, CAPI_MALFORMED_REQUEST);
	assert_string_equal(resp.error.message, "missing field `type`");
	capi_response_free(&resp);
	in = "{\"type\":\"error\",\"message\":\"no kind here\"}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), 0);
	assert_int_equal(resp.error.kind, CAPI_OTHER);
	assert_string_equal(resp.error.message, "no kind here");
	capi_response_free(&resp);
	in = "{\"type\":\"laneQueueLength\",\"lane\":1,\"queue_length\":-2}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), CAPI_ERR);
	assert_int_equal(err.kind, CAPI_MALFORMED_RESPONSE);
	assert_string_equal(err.message, "invalid value: integer `-2`, expected usize");
	in = "{\"type\":\"laneQueueLength\",\"lane\":1,\"queueLength\":2}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "missing field `queue_length`");
	in = "{\"type\":\"received\",\"message\":\"x\"}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), 0);
	assert_int_equal(resp.has_sender_tag, 0);
	capi_response_free(&resp);
	in = "{\"type\":\"received\",\"message\":\"x\",\"senderTag\":\"111\"}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), CAPI_ERR);
	assert_string_equal(err.message,
	                    "Decoded AnonymousSenderTag has invalid length. Expected 16, but got 3");
	in = "{\"type\":\"bogus\"}";
	assert_int_equal(capi_response_from_text(in, strlen(in), &resp, &err), CAPI_ERR);
	assert_string_equal(err.message, "unknown variant `bogus`, expected one of `received`, "
	                                 "`selfAddress`, `laneQueueLength`, `error` at line 1 column 15");
	capi_error_free(&err);
}

/* clients/native/examples/python-examples/websocket/textsend.py (json.dumps spacing) */
static void test_bundled_textsend_example(void **state)
{
	struct capi_request req;
	struct capi_error err = {0};
	const char *in;

	(void)state;
	in = "{\"type\": \"selfAddress\"}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SELF_ADDRESS);
	in = "{\"type\": \"send\", \"message\": \"Hello Nym!\", \"recipient\": \"" R "\", "
	     "\"withReplySurb\": true}";
	assert_int_equal(capi_request_from_text(in, strlen(in), &req, &err), 0);
	assert_int_equal(req.type, CAPI_REQ_SEND); /* sent plain: withReplySurb is ignored */
	assert_int_equal(req.has_connection_id, 0);
	capi_request_free(&req);
	expect_text_error("{\"type\": \"reply\", \"message\": \"hi\", \"replySurb\": \"abc\"}",
	                  "missing field `senderTag`");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_errors),
		cmocka_unit_test(test_text_recursion_limit),
		cmocka_unit_test(test_text_requests_ok),
		cmocka_unit_test(test_binary_requests_exact),
		cmocka_unit_test(test_binary_request_errors),
		cmocka_unit_test(test_responses_exact),
		cmocka_unit_test(test_lossy_utf8),
		cmocka_unit_test(test_response_binary_errors),
		cmocka_unit_test(test_text_round_trips),
		cmocka_unit_test(test_response_text_parse),
		cmocka_unit_test(test_bundled_textsend_example),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
