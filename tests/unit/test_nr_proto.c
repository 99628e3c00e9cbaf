/* SOCKS client <-> network requester codec: known bytes (from nym@b4046a89's own tests and
 * worked by hand from its serializers), round trips in every version mode, every malformed
 * class with its error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/address.h"
#include "proxy/nr_proto.h"
#include "unit/util.h"

/* Nym's interface_backwards_compatibility test: a Legacy Connect to 80.249.99.148:80 with a
 * return address, and a Legacy Send of an HTTP request */
#define OLD_CONNECT_HEX                                                                   \
	"000002fe2264c0140dab001038302e3234392e39392e3134383a3830227011b6e106aed8a02948eca05a" \
	"9c03fa29f335bfb2da35aa0eb9215e9919290652a9bb58f6d33944e1e4e7741d77eba00e9ccd42014bcc" \
	"ccdc0e96bfcbae5879ad53dbbca4c2d4eee404803069e05311f6e910ebdf44570d2822badacc7e91"
#define OLD_CONNECT_RETURN                                                                \
	"3KRydEpanwjFhq5GAraVjRUF1Tno7w7oc4EwJYTGNo5J.RgZ7uMJHruBQqD5hC9Ghi3sqiTn6NycfM5qCfJz" \
	"6yoM@9Byd9VAtyYMnbVAcqdoQxJnq76XEg2dbxbiF5Aa5Jj9J"
#define OLD_SEND_HEX                                                                      \
	"00016c661c1332b225f1000000000000000000474554202f314d422e7a697020485454502f312e310d0a" \
	"486f73743a20697076342e646f776e6c6f61642e7468696e6b62726f616462616e642e636f6d0d0a5573" \
	"65722d4167656e743a206375726c2f372e36382e300d0a4163636570743a202a2f2a0d0a0d0a"

static uint8_t *hex(const char *h, size_t *len)
{
	uint8_t *p = util_unhex_alloc(h, len);

	assert_non_null(p);
	return p;
}

/* decoded structs point into the input: it stays here until the next call */
static uint8_t hex_input[4096];

static int req_hex(const char *h, struct nr_request *req)
{
	long len = util_unhex(h, hex_input, sizeof(hex_input));

	assert_true(len >= 0);
	return nr_request_decode(hex_input, (size_t)len, req);
}

static int resp_hex(const char *h, struct nr_response *resp)
{
	long len = util_unhex(h, hex_input, sizeof(hex_input));

	assert_true(len >= 0);
	return nr_response_decode(hex_input, (size_t)len, resp);
}

typedef long (*encode_fn)(const void *msg, uint8_t *out, size_t cap);

static long encode_request_fn(const void *msg, uint8_t *out, size_t cap)
{
	return nr_request_encode(msg, out, cap);
}

static long encode_response_fn(const void *msg, uint8_t *out, size_t cap)
{
	return nr_response_encode(msg, out, cap);
}

/* msg encodes to exactly these bytes, sizing pass included, and not into one byte less */
static void assert_encodes_to(encode_fn enc, const void *msg, const char *want_hex)
{
	size_t len;
	uint8_t *want = hex(want_hex, &len), out[1024];

	assert_int_equal(enc(msg, NULL, 0), (long)len);
	assert_int_equal(enc(msg, out, sizeof(out)), (long)len);
	assert_memory_equal(out, want, len);
	if (len)
		assert_int_equal(enc(msg, out, len - 1), NR_E_SPACE);
	free(want);
}

#define assert_req_bytes(req, want) assert_encodes_to(encode_request_fn, req, want)
#define assert_resp_bytes(resp, want) assert_encodes_to(encode_response_fn, resp, want)

/* -------------------------------------------------------------- known bytes ---- */

static void test_old_client_connect(void **state)
{
	struct nr_request req;
	struct nym_recipient r;
	char text[NYM_RECIPIENT_STR_MAX];

	(void)state;
	assert_int_equal(req_hex(OLD_CONNECT_HEX, &req), 0);
	assert_int_equal(req.v.iface, NR_VERSION_LEGACY);
	assert_int_equal(req.v.proto, NR_VERSION_LEGACY);
	assert_int_equal(req.kind, NR_REQ_CONNECT);
	assert_true(req.conn_id == 215647648274976171ull);
	assert_int_equal(req.addr_len, 16);
	assert_true(req.has_return_address);
	assert_int_equal(nym_recipient_from_bytes(req.return_address, &r), 0);
	assert_true(nym_recipient_to_string(&r, text, sizeof(text)) > 0);
	assert_string_equal(text, OLD_CONNECT_RETURN);

	/* and the new encoder in Legacy mode writes exactly those bytes */
	req.addr = (const uint8_t *)"80.249.99.148:80";
	assert_req_bytes(&req, OLD_CONNECT_HEX);
}

static void test_old_client_send(void **state)
{
	static const char http[] = "GET /1MB.zip HTTP/1.1\r\nHost: ipv4.download.thinkbroadband.com"
	                           "\r\nUser-Agent: curl/7.68.0\r\nAccept: */*\r\n\r\n";
	struct nr_request req;

	(void)state;
	assert_int_equal(req_hex(OLD_SEND_HEX, &req), 0);
	assert_int_equal(req.kind, NR_REQ_SEND);
	assert_int_equal(req.v.iface, NR_VERSION_LEGACY);
	assert_int_equal(req.v.proto, NR_VERSION_LEGACY);
	assert_true(req.conn_id == 7810961472501196273ull);
	assert_true(req.seq == 0);
	assert_false(req.local_closed);
	assert_int_equal(req.data_len, 103);
	req.data = (const uint8_t *)http;
	assert_req_bytes(&req, OLD_SEND_HEX);
}

static void test_versioned_connect_bytes(void **state)
{
	struct nr_request req = {
		.v = {3, 3}, .kind = NR_REQ_CONNECT, .conn_id = 0x0102030405060708ull,
		.addr = (const uint8_t *)"foo.com:80", .addr_len = 10,
	};
	struct nr_request back;
	uint8_t out[64];
	long n;

	(void)state;
	assert_req_bytes(&req, "03" "01" "03" "00" "0102030405060708" "000a" "666f6f2e636f6d3a3830");
	n = nr_request_encode(&req, out, sizeof(out));
	assert_int_equal(nr_request_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.v.iface, 3);
	assert_int_equal(back.v.proto, 3);
	assert_false(back.has_return_address);
	assert_memory_equal(back.addr, "foo.com:80", 10);
}

/* Nym's SocketData tests: the same header in request order and in response order */
static void test_socket_data_field_orders(void **state)
{
	struct nr_request req;
	struct nr_response resp;

	(void)state;
	assert_int_equal(req_hex("0001" "0606060606060606" "00" "0001020304050607" "ffffff", &req),
	                 0);
	assert_true(req.conn_id == 0x0606060606060606ull);
	assert_true(req.seq == 0x0001020304050607ull);
	assert_false(req.local_closed);
	assert_int_equal(req.data_len, 3);
	assert_int_equal(resp_hex("01" "00" "0606060606060606" "0001020304050607" "ffffff", &resp),
	                 0);
	assert_int_equal(resp.kind, NR_RESP_NETWORK_DATA);
	assert_int_equal(resp.v.iface, NR_VERSION_LEGACY);
	assert_true(resp.conn_id == 0x0606060606060606ull);
	assert_true(resp.seq == 0x0001020304050607ull);
	assert_false(resp.closed);
	assert_memory_equal(resp.data, "\xff\xff\xff", 3);
	/* any non-zero byte is true */
	assert_int_equal(req_hex("0301030101020304050607087f0000000000000001", &req), 0);
	assert_true(req.local_closed);
	assert_true(req.seq == 1);
}

static void test_query_bytes(void **state)
{
	struct nr_request q = {.v = {3, 3}, .kind = NR_REQ_QUERY, .query = NR_QUERY_OPEN_PROXY};
	struct nr_response r = {.v = {3, 3}, .kind = NR_RESP_QUERY, .query = NR_QRESP_OPEN_PROXY,
	                        .open_proxy = true};

	(void)state;
	assert_req_bytes(&q, "0301030200");
	q.query = NR_QUERY_DESCRIPTION;
	assert_req_bytes(&q, "0301030201");
	q.query = NR_QUERY_EXIT_POLICY;
	assert_req_bytes(&q, "0301030202");
	/* OpenProxy(true): content 03 00 01 */
	assert_resp_bytes(&r, "0301" "03" "030001");
	r.query = NR_QRESP_DESCRIPTION;
	r.text = "Description (placeholder)";
	r.text_len = strlen(r.text);
	assert_resp_bytes(&r, "030103" "0301" "19" "4465736372697074696f6e2028706c616365686f6c64657229");
	r.query = NR_QRESP_ERROR;
	r.text = "received unknown query variant";
	r.text_len = strlen(r.text);
	assert_resp_bytes(&r, "030103" "0303" "1e"
	                      "726563656976656420756e6b6e6f776e2071756572792076617269616e74");
}

static const struct nr_policy_rule example_rules[] = {
	{NR_POLICY_ACCEPT, NR_IP_V4, {127, 0, 0, 1}, 32, 1, 65535},
	{NR_POLICY_REJECT6, NR_IP_V6, {0xfc}, 7, 443, 443},
	{NR_POLICY_ACCEPT, NR_IP_ANY, {0}, 0, 80, 81},
	{NR_POLICY_REJECT, NR_IP_ANY4, {0}, 0, 0, 0},
};

static void assert_rule_equal(const struct nr_policy_rule *a, const struct nr_policy_rule *b)
{
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->pattern, b->pattern);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
	assert_int_equal(a->mask, b->mask);
	assert_int_equal(a->port_lo, b->port_lo);
	assert_int_equal(a->port_hi, b->port_hi);
}

#define EXAMPLE_POLICY_HEX                                                          \
	"0301" "03" "03" "02" "01" "0175" "01" "04"                                       \
	"00" "0c" "3132372e302e302e312f3332" "01" "fbffff"                                \
	"03" "08" "666330303a3a2f37" "fb01bb" "fb01bb"                                     \
	"00" "01" "2a" "50" "51"                                                          \
	"01" "02" "2a34" "00" "00"

static void test_exit_policy_bytes(void **state)
{
	struct nr_response r = {
		.v = {3, 3}, .kind = NR_RESP_QUERY, .query = NR_QRESP_EXIT_POLICY,
		.policy_enabled = true, .text = "u", .text_len = 1, .has_policy = true,
		.rules = example_rules, .n_rules = 4,
	};
	struct nr_response back;
	struct nr_policy_rule got[8];

	(void)state;
	assert_resp_bytes(&r, EXAMPLE_POLICY_HEX);
	assert_int_equal(resp_hex(EXAMPLE_POLICY_HEX, &back), 0);
	assert_int_equal(back.query, NR_QRESP_EXIT_POLICY);
	assert_true(back.policy_enabled);
	assert_true(back.has_policy);
	assert_int_equal(back.n_rules, 4);
	assert_null(back.rules);
	assert_int_equal(nr_response_policy_rules(&back, got, 8), 4);
	for (size_t i = 0; i < 4; i++)
		assert_rule_equal(&got[i], &example_rules[i]);
	assert_int_equal(nr_response_policy_rules(&back, got, 1), 4);

	/* enabled, no upstream, None */
	r.text = NULL;
	r.text_len = 0;
	r.has_policy = false;
	assert_resp_bytes(&r, "03010303" "02" "01" "00" "00");
	r.has_policy = true;
	r.n_rules = 0;
	assert_resp_bytes(&r, "03010303" "02" "01" "00" "01" "00");
}

static void test_control_bytes(void **state)
{
	struct nr_request q = {.v = {3, 0}, .kind = NR_REQ_CONTROL,
	                       .control = NR_CONTROL_SUPPORTED_VERSIONS};
	struct nr_response r = {.v = {3, 0}, .kind = NR_RESP_CONTROL,
	                        .control = NR_CONTROL_SUPPORTED_VERSIONS, .supported = {3, 3}};
	static const char sv[] =
		"{\"interface_version\":\"{\\\"type\\\":\\\"Versioned\\\",\\\"version\\\":3}\","
		"\"provider_version\":\"{\\\"type\\\":\\\"Versioned\\\",\\\"version\\\":3}\"}";
	uint8_t out[512];
	struct nr_response back;
	long n;

	(void)state;
	assert_req_bytes(&q, "030002");
	q.control = NR_CONTROL_HEALTH;
	assert_req_bytes(&q, "030000");
	q.control = NR_CONTROL_BINARY_INFO;
	assert_req_bytes(&q, "030001");

	n = nr_response_encode(&r, out, sizeof(out));
	assert_int_equal(n, 3 + (long)strlen(sv));
	assert_memory_equal(out, "\x03\x00\x02", 3);
	assert_memory_equal(out + 3, sv, strlen(sv));
	assert_int_equal(nr_response_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.control, NR_CONTROL_SUPPORTED_VERSIONS);
	assert_int_equal(back.json_len, strlen(sv));

	r.supported = (struct nr_versions){0, 0};
	n = nr_response_encode(&r, out, sizeof(out));
	out[n] = 0;
	assert_string_equal((char *)out + 3,
	                    "{\"interface_version\":\"{\\\"type\\\":\\\"Legacy\\\"}\","
	                    "\"provider_version\":\"{\\\"type\\\":\\\"Legacy\\\"}\"}");

	r.control = NR_CONTROL_HEALTH;
	assert_resp_bytes(&r, "030000");
	r.control = NR_CONTROL_ERROR;
	r.text = "a\"b\\\n\x01\x7f\xc3\xa9";
	r.text_len = strlen(r.text);
	n = nr_response_encode(&r, out, sizeof(out));
	out[n] = 0;
	assert_string_equal((char *)out + 3, "{\"message\":\"a\\\"b\\\\\\n\\u0001\x7f\xc3\xa9\"}");
	assert_int_equal(out[2], 0xff);
	assert_int_equal(nr_response_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.control, NR_CONTROL_ERROR);
}

static void test_binary_info(void **state)
{
	const struct nr_binary_info bi = {
		"nym-network-requester", "2025-01-01T00:00:00Z", "1.1.0", "abc", "2025-01-01T00:00:00Z",
		"master", "1.80.0", "stable", "release", "x86_64-unknown-linux-gnu",
	};
	struct nr_response r = {.v = {3, 0}, .kind = NR_RESP_CONTROL,
	                        .control = NR_CONTROL_BINARY_INFO, .binary_info = &bi};
	static const char want[] =
		"{\"binary_name\":\"nym-network-requester\",\"build_information\":{"
		"\"binary_name\":\"nym-network-requester\",\"build_timestamp\":\"2025-01-01T00:00:00Z\","
		"\"build_version\":\"1.1.0\",\"commit_sha\":\"abc\","
		"\"commit_timestamp\":\"2025-01-01T00:00:00Z\",\"commit_branch\":\"master\","
		"\"rustc_version\":\"1.80.0\",\"rustc_channel\":\"stable\",\"cargo_profile\":\"release\","
		"\"cargo_triple\":\"x86_64-unknown-linux-gnu\"}}";
	uint8_t out[1024];
	struct nr_response back;
	long n;

	(void)state;
	n = nr_response_encode(&r, out, sizeof(out));
	assert_int_equal(n, 3 + (long)strlen(want));
	assert_memory_equal(out, "\x03\x00\x01", 3);
	assert_memory_equal(out + 3, want, strlen(want));
	assert_int_equal(nr_response_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.control, NR_CONTROL_BINARY_INFO);
	assert_ptr_equal(back.json, out + 3);
}

/* ------------------------------------------------------------- round trips ---- */

static const struct nr_versions modes[] = {{0, 0}, {3, 3}, {3, 0}, {7, 3}};

static void roundtrip_request(const struct nr_request *req)
{
	uint8_t out[512], again[512];
	struct nr_request back;
	long n = nr_request_encode(req, out, sizeof(out));

	assert_true(n > 0);
	assert_int_equal(nr_request_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.kind, req->kind);
	assert_int_equal(back.v.iface, req->v.iface);
	assert_int_equal(back.v.proto, req->kind == NR_REQ_CONTROL ? 0 : req->v.proto);
	assert_int_equal(nr_request_encode(&back, again, sizeof(again)), n);
	assert_memory_equal(out, again, (size_t)n);
}

static void test_request_roundtrips(void **state)
{
	struct nym_recipient r;
	struct nr_request req;

	(void)state;
	assert_int_equal(nym_recipient_from_string(OLD_CONNECT_RETURN, &r), 0);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		req = (struct nr_request){.v = modes[m], .kind = NR_REQ_CONNECT, .conn_id = ~0ull - m,
		                          .addr = (const uint8_t *)"[::1]:443", .addr_len = 9};
		roundtrip_request(&req);
		req.has_return_address = true;
		nym_recipient_to_bytes(&r, req.return_address);
		roundtrip_request(&req);
		req = (struct nr_request){.v = modes[m], .kind = NR_REQ_SEND, .conn_id = m,
		                          .local_closed = true, .seq = 1000 + m,
		                          .data = (const uint8_t *)"xyz", .data_len = 3};
		roundtrip_request(&req);
		req.data_len = 0;
		req.local_closed = false;
		roundtrip_request(&req);
		for (int q = 0; q < 3; q++) {
			req = (struct nr_request){.v = modes[m], .kind = NR_REQ_QUERY,
			                          .query = (enum nr_query)q};
			roundtrip_request(&req);
		}
		for (int c = 0; c < 3 && modes[m].iface; c++) {
			req = (struct nr_request){.v = modes[m], .kind = NR_REQ_CONTROL,
			                          .control = (enum nr_control)c};
			roundtrip_request(&req);
		}
	}
}

static void roundtrip_response(const struct nr_response *resp)
{
	uint8_t out[1024], again[1024];
	struct nr_response back;
	struct nr_policy_rule rules[8];
	long n = nr_response_encode(resp, out, sizeof(out));

	assert_true(n > 0);
	assert_int_equal(nr_response_decode(out, (size_t)n, &back), 0);
	assert_int_equal(back.kind, resp->kind);
	assert_int_equal(back.v.iface, resp->v.iface);
	assert_int_equal(back.v.proto, resp->kind == NR_RESP_CONTROL ? 0 : resp->v.proto);
	if (back.kind == NR_RESP_QUERY && back.has_policy) {
		assert_int_equal(nr_response_policy_rules(&back, rules, 8), back.n_rules);
		back.rules = rules;
	}
	if (back.kind == NR_RESP_CONTROL) /* JSON bodies are re-encoded from the source */
		return;
	assert_int_equal(nr_response_encode(&back, again, sizeof(again)), n);
	assert_memory_equal(out, again, (size_t)n);
}

static void test_response_roundtrips(void **state)
{
	struct nr_response r;

	(void)state;
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		r = (struct nr_response){.v = modes[m], .kind = NR_RESP_NETWORK_DATA, .conn_id = 5,
		                         .closed = true, .seq = 77, .data = (const uint8_t *)"ab",
		                         .data_len = 2};
		roundtrip_response(&r);
		r = (struct nr_response){.v = modes[m], .kind = NR_RESP_CONNECTION_ERROR, .conn_id = 9,
		                         .text = "Domain \"x:1\" failed filter check", .text_len = 33};
		roundtrip_response(&r);
		r.text_len = 0;
		roundtrip_response(&r);
		/* without both version bytes a Query response's flag 03 reads back as a version
		 * (see test_legacy_query_pitfall) */
		for (int q = 0; q < 4 && modes[m].iface && modes[m].proto; q++) {
			r = (struct nr_response){.v = modes[m], .kind = NR_RESP_QUERY,
			                         .query = (enum nr_query_response)q, .open_proxy = true,
			                         .text = "t\xc3\xa9xt", .text_len = 5,
			                         .policy_enabled = true, .has_policy = true,
			                         .rules = example_rules, .n_rules = 4};
			roundtrip_response(&r);
		}
		if (modes[m].iface) {
			r = (struct nr_response){.v = modes[m], .kind = NR_RESP_CONTROL,
			                         .control = NR_CONTROL_HEALTH};
			roundtrip_response(&r);
		}
	}
}

/* The NR answers a Query with socks5 Versioned(3) even in Legacy interface mode: the reply
 * starts 03 03 and reads back as interface 3 with an invalid tag (spec §4.4). */
static void test_legacy_query_pitfall(void **state)
{
	struct nr_response r = {.v = {0, 3}, .kind = NR_RESP_QUERY, .query = NR_QRESP_OPEN_PROXY};
	struct nr_response back;
	uint8_t out[16];
	long n;

	(void)state;
	assert_resp_bytes(&r, "03" "03" "0000");
	n = nr_response_encode(&r, out, sizeof(out));
	assert_int_equal(nr_response_decode(out, (size_t)n, &back), NR_E_TAG);
}

/* -------------------------------------------------------------- malformed ---- */

struct decode_case {
	const char *hex;
	int want;
};

static void check_request_cases(const struct decode_case *c, size_t n)
{
	struct nr_request req;

	for (size_t i = 0; i < n; i++)
		if (req_hex(c[i].hex, &req) != c[i].want)
			fail_msg("request %s: %d, want %d", c[i].hex, req_hex(c[i].hex, &req), c[i].want);
}

static void check_response_cases(const struct decode_case *c, size_t n)
{
	struct nr_response r;

	for (size_t i = 0; i < n; i++)
		if (resp_hex(c[i].hex, &r) != c[i].want)
			fail_msg("response %s: %d, want %d", c[i].hex, resp_hex(c[i].hex, &r), c[i].want);
}

#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

static void test_request_framing_errors(void **state)
{
	static const struct decode_case cases[] = {
		{"03", NR_E_NO_TAG}, {"0302", NR_E_TAG}, {"03ff", NR_E_TAG},
		{"0300", NR_E_NO_CONTROL}, {"030003", NR_E_CONTROL_TAG}, {"0300ff", NR_E_CONTROL_TAG},
		{"0301", NR_E_NO_FLAG}, {"030103", NR_E_NO_FLAG}, {"00", NR_E_NO_FLAG},
		{"0301040200", NR_E_PROTO_VERSION}, {"03010302", NR_E_BINCODE_SHORT},
		{"03010307", NR_E_FLAG}, {"0003", NR_E_FLAG},
	};
	struct nr_request req;

	(void)state;
	assert_int_equal(nr_request_decode(NULL, 0, &req), NR_E_EMPTY);
	check_request_cases(cases, N_CASES(cases));
	/* Nym reads the control tag only */
	assert_int_equal(req_hex("030001ffff", &req), 0);
	assert_int_equal(req.control, NR_CONTROL_BINARY_INFO);
	/* a first byte of 1 or 2 is Legacy as well (Nym reads it as the socks5 version) */
	assert_int_equal(req_hex("020201", &req), 0);
	assert_int_equal(req.v.iface, 0);
	assert_int_equal(req.query, NR_QUERY_DESCRIPTION);
	/* Versioned interface with a Legacy socks5 version */
	assert_int_equal(req_hex("0301010201", &req), 0);
	assert_int_equal(req.v.iface, 3);
	assert_int_equal(req.v.proto, 0);
}

static void test_connect_truncations(void **state)
{
	struct nym_recipient r;
	uint8_t msg[4 + 8 + 2 + 7 + NR_RETURN_ADDRESS_LEN + 1] = {0};
	size_t full = sizeof(msg) - 1;
	struct nr_request req;

	(void)state;
	memcpy(msg, "\x03\x01\x03\x00" "\x01\x02\x03\x04\x05\x06\x07\x08" "\x00\x07" "foo.com", 21);
	assert_int_equal(nym_recipient_from_string(OLD_CONNECT_RETURN, &r), 0);
	nym_recipient_to_bytes(&r, msg + 21);
	for (size_t len = 4; len <= full + 1; len++) {
		int want = len < 12 ? NR_E_CONN_ID : len < 14 ? NR_E_ADDR_LEN : len < 21 ? NR_E_ADDR
		         : len == 21 || len == full ? 0 : NR_E_RETURN_LEN;
		assert_int_equal(nr_request_decode(msg, len, &req), want);
	}
	assert_int_equal(nr_request_decode(msg, full, &req), 0);
	assert_true(req.has_return_address);
	assert_int_equal(nr_request_decode(msg, 21, &req), 0);
	assert_false(req.has_return_address);
	/* an address length past the end ("overlong") */
	msg[12] = 0xff;
	assert_int_equal(nr_request_decode(msg, full, &req), NR_E_ADDR);
}

/* 32 bytes that are not an ed25519 point */
static void not_a_point(uint8_t out[32])
{
	memset(out, 0, 32);
	for (int y = 2; y < 256; y++) {
		out[0] = (uint8_t)y;
		if (!nym_ed25519_pk_decompresses(out))
			return;
	}
	fail_msg("no invalid point found");
}

static void test_connect_bad_return_address(void **state)
{
	struct nym_recipient r;
	uint8_t msg[21 + NR_RETURN_ADDRESS_LEN];
	struct nr_request req;

	(void)state;
	memcpy(msg, "\x03\x01\x03\x00" "\x01\x02\x03\x04\x05\x06\x07\x08" "\x00\x07" "foo.com", 21);
	assert_int_equal(nym_recipient_from_string(OLD_CONNECT_RETURN, &r), 0);
	nym_recipient_to_bytes(&r, msg + 21);
	not_a_point(msg + 21);
	assert_int_equal(nr_request_decode(msg, sizeof(msg), &req), NR_E_RETURN_ADDR);
	nym_recipient_to_bytes(&r, msg + 21);
	not_a_point(msg + 21 + 64);
	assert_int_equal(nr_request_decode(msg, sizeof(msg), &req), NR_E_RETURN_ADDR);
	/* the encryption key is not checked (any x25519 bytes are accepted) */
	nym_recipient_to_bytes(&r, msg + 21);
	memset(msg + 21 + 32, 0xee, 32);
	assert_int_equal(nr_request_decode(msg, sizeof(msg), &req), 0);
}

static void test_connect_lossy_address(void **state)
{
	struct nr_request req;

	(void)state;
	/* invalid UTF-8 in the address is accepted (Nym decodes it lossily) */
	assert_int_equal(req_hex("03010300" "0000000000000001" "0003" "ff3a31", &req), 0);
	assert_int_equal(req.addr_len, 3);
	assert_int_equal(req.addr[0], 0xff);
	/* but never encoded */
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_UTF8);
}

typedef int (*decode_fn)(const uint8_t *in, size_t len, void *msg);

static int decode_request_fn(const uint8_t *in, size_t len, void *msg)
{
	return nr_request_decode(in, len, msg);
}

static int decode_response_fn(const uint8_t *in, size_t len, void *msg)
{
	return nr_response_decode(in, len, msg);
}

/* every cut of msg from `from` up to `min` bytes fails with err; min bytes decode */
static void assert_cuts_fail(decode_fn dec, const uint8_t *msg, size_t from, size_t min, int err,
                             void *out)
{
	for (size_t len = from; len < min; len++)
		assert_int_equal(dec(msg, len, out), err);
	assert_int_equal(dec(msg, min, out), 0);
}

static void test_send_truncations(void **state)
{
	uint8_t msg[4 + 17 + 2] = {3, 1, 3, 1};
	struct nr_request req;

	(void)state;
	assert_cuts_fail(decode_request_fn, msg, 4, 21, NR_E_SOCKET_DATA, &req);
	assert_int_equal(req.data_len, 0);
	assert_int_equal(nr_request_decode(msg, 23, &req), 0);
	assert_int_equal(req.data_len, 2);
}

static void test_query_request_bincode(void **state)
{
	static const struct decode_case cases[] = {
		{"0301030203", NR_E_BINCODE_VARIANT}, {"030103020000", NR_E_BINCODE_TRAILING},
		{"03010302fe", NR_E_BINCODE_VARINT}, {"03010302ff", NR_E_BINCODE_VARINT},
		{"03010302fb00", NR_E_BINCODE_SHORT},
		{"03010302fd0000000100000000", NR_E_BINCODE_VARINT},
	};
	struct nr_request req;

	(void)state;
	check_request_cases(cases, N_CASES(cases));
	/* bincode takes varints that are not the shortest form */
	assert_int_equal(req_hex("03010302fb0001", &req), 0);
	assert_int_equal(req.query, NR_QUERY_DESCRIPTION);
	assert_int_equal(req_hex("03010302fc00000002", &req), 0);
	assert_int_equal(req.query, NR_QUERY_EXIT_POLICY);
	assert_int_equal(req_hex("03010302fd0000000000000000", &req), 0);
	assert_int_equal(req.query, NR_QUERY_OPEN_PROXY);
}

static void test_response_framing_errors(void **state)
{
	static const struct decode_case cases[] = {
		{"03", NR_E_NO_TAG}, {"0302", NR_E_TAG}, {"0300", NR_E_NO_CONTROL},
		{"030003", NR_E_CONTROL_TAG}, {"0300fe", NR_E_CONTROL_TAG}, {"0301", NR_E_NO_FLAG},
		{"030103", NR_E_NO_FLAG}, {"030100", NR_E_FLAG}, {"00", NR_E_FLAG},
		{"03010309", NR_E_FLAG},
	};
	struct nr_response r;

	(void)state;
	assert_int_equal(nr_response_decode(NULL, 0, &r), NR_E_EMPTY);
	check_response_cases(cases, N_CASES(cases));
	/* unlike in requests, a socks5 version above 3 is accepted */
	assert_int_equal(resp_hex("0301050200000000000000017821", &r), 0);
	assert_true(r.v.proto == 5 && r.kind == NR_RESP_CONNECTION_ERROR && r.text_len == 2);
}

static void test_network_data_and_error_truncations(void **state)
{
	uint8_t msg[4 + 17 + 1] = {3, 1, 3, 1};
	struct nr_response r;

	(void)state;
	assert_cuts_fail(decode_response_fn, msg, 4, 21, NR_E_SOCKET_DATA, &r);
	msg[3] = 2;
	assert_cuts_fail(decode_response_fn, msg, 4, 12, NR_E_CONN_ID, &r);
	assert_int_equal(r.text_len, 0);
	/* the ConnectionError text must be UTF-8 */
	assert_int_equal(resp_hex("0200000000000000016162ff", &r), NR_E_UTF8);
	assert_int_equal(resp_hex("020000000000000001c3", &r), NR_E_UTF8);
	assert_int_equal(resp_hex("020000000000000001eda080", &r), NR_E_UTF8); /* surrogate */
	assert_int_equal(resp_hex("020000000000000001c3a9", &r), 0);
}

#define QRESP "03010303"
#define POLICY_OF_ONE QRESP "02" "01" "00" "01" "01"

static void test_query_response_bincode(void **state)
{
	static const struct decode_case cases[] = {
		{QRESP, NR_E_BINCODE_SHORT},
		{QRESP "04", NR_E_BINCODE_VARIANT},
		{QRESP "00", NR_E_BINCODE_SHORT},
		{QRESP "0002", NR_E_BINCODE_BOOL},
		{QRESP "000100", NR_E_BINCODE_TRAILING},
		/* strings: overlong, cut, not UTF-8 */
		{QRESP "01" "fdffffffffffffffff" "41", NR_E_BINCODE_SHORT},
		{QRESP "01" "03" "4142", NR_E_BINCODE_SHORT},
		{QRESP "01" "02" "41ff", NR_E_UTF8},
		{QRESP "03" "01" "80", NR_E_UTF8},
		/* ExitPolicy: bad Option tag, bad action, bad pattern, port above u16, rules cut */
		{QRESP "02" "01" "00" "02", NR_E_BINCODE_BOOL},
		{POLICY_OF_ONE "04" "012a" "01" "02", NR_E_BINCODE_VARIANT},
		{POLICY_OF_ONE "00" "022a2a" "01" "02", NR_E_POLICY_PATTERN},
		{POLICY_OF_ONE "00" "012a" "fc00010000" "02", NR_E_BINCODE_VARINT},
		{QRESP "02" "01" "00" "01" "02" "00" "012a" "01" "02", NR_E_BINCODE_SHORT},
		{QRESP "02" "01" "00" "01" "fd7fffffffffffffff", NR_E_BINCODE_SHORT},
		/* Nym keeps any port pair (0-0, start > end) */
		{POLICY_OF_ONE "01" "012a" "09" "02", 0},
		{POLICY_OF_ONE "01" "012a" "00" "00", 0},
	};
	struct nr_response r;

	(void)state;
	check_response_cases(cases, N_CASES(cases));
	assert_int_equal(resp_hex(QRESP "01" "02" "4142", &r), 0);
	assert_int_equal(r.text_len, 2);
	assert_memory_equal(r.text, "AB", 2);
}

static int control_json(const char *tag_hex, const char *json)
{
	struct nr_response r;
	size_t n = strlen(json);
	uint8_t *msg = malloc(3 + n);
	size_t len;
	uint8_t *t = hex(tag_hex, &len);
	int rc;

	memcpy(msg, "\x03\x00", 2);
	msg[2] = t[0];
	memcpy(msg + 3, json, n);
	rc = nr_response_decode(msg, 3 + n, &r);
	free(msg);
	free(t);
	return rc;
}

#define BUILD_INFO                                                                        \
	"\"build_timestamp\":\"t\",\"build_version\":\"v\",\"commit_sha\":\"s\","             \
	"\"commit_timestamp\":\"t\",\"commit_branch\":\"b\",\"rustc_version\":\"r\","          \
	"\"rustc_channel\":\"c\",\"cargo_profile\":\"p\""

static void test_control_json_errors(void **state)
{
	struct nr_response r;

	(void)state;
	/* Health ignores what follows its tag */
	assert_int_equal(resp_hex("030000abcd", &r), 0);
	assert_int_equal(r.control, NR_CONTROL_HEALTH);
	assert_int_equal(control_json("ff", "{\"message\":\"x\"}"), 0);
	assert_int_equal(control_json("ff", " {\"message\":\"x\",\"other\":1}\n "), 0);
	assert_int_equal(control_json("ff", ""), NR_E_JSON);
	assert_int_equal(control_json("ff", "{\"message\":1}"), NR_E_JSON);
	assert_int_equal(control_json("ff", "{\"message\":\"x\"} x"), NR_E_JSON);
	assert_int_equal(control_json("ff", "{\"message\":\"x\",\"message\":\"y\"}"), NR_E_JSON);
	assert_int_equal(control_json("ff", "{\"message\":\"\xff\"}"), NR_E_JSON);
	assert_int_equal(control_json("ff", "[\"message\"]"), NR_E_JSON);
	assert_int_equal(control_json("ff", "{\"message\":\"x\""), NR_E_JSON);
	assert_int_equal(control_json("02", "{\"interface_version\":\"a\",\"provider_version\":\"b\"}"),
	                 0);
	assert_int_equal(control_json("02", "{\"interface_version\":\"a\"}"), NR_E_JSON);
	assert_int_equal(control_json("01", "{\"binary_name\":\"n\",\"build_information\":{"
	                                    "\"binary_name\":\"n\"," BUILD_INFO "}}"),
	                 0);
	assert_int_equal(control_json("01", "{\"binary_name\":\"n\",\"build_information\":{"
	                                    "\"binary_name\":\"n\"," BUILD_INFO
	                                    ",\"cargo_triple\":\"x\"}}"),
	                 0);
	assert_int_equal(control_json("01", "{\"binary_name\":\"n\",\"build_information\":{"
	                                    "\"binary_name\":\"n\"," BUILD_INFO
	                                    ",\"cargo_triple\":null}}"),
	                 NR_E_JSON);
	assert_int_equal(control_json("01", "{\"binary_name\":\"n\",\"build_information\":{"
	                                    BUILD_INFO "}}"),
	                 NR_E_JSON);
	assert_int_equal(control_json("01", "{\"binary_name\":\"n\"}"), NR_E_JSON);
}

static void test_encode_errors(void **state)
{
	uint8_t big[70000];
	struct nr_request req = {.v = {3, 3}, .kind = NR_REQ_CONNECT, .addr = big,
	                         .addr_len = 65536};
	struct nr_response r = {.v = {3, 3}, .kind = NR_RESP_CONNECTION_ERROR, .text = "\xc3",
	                        .text_len = 1};
	struct nr_policy_rule bad = {NR_POLICY_ACCEPT, NR_IP_V4, {1, 2, 3, 4}, 0, 1, 2};

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_ARG);
	req.addr_len = 65535;
	assert_int_equal(nr_request_encode(&req, NULL, 0), 4 + 8 + 2 + 65535);
	req.v.iface = 1;
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_ARG);
	req.v = (struct nr_versions){3, 2};
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_ARG);
	req = (struct nr_request){.v = {0, 0}, .kind = NR_REQ_CONTROL};
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_ARG);
	req = (struct nr_request){.v = {3, 3}, .kind = NR_REQ_QUERY, .query = 3};
	assert_int_equal(nr_request_encode(&req, NULL, 0), NR_E_ARG);
	assert_int_equal(nr_response_encode(&r, NULL, 0), NR_E_UTF8);
	r = (struct nr_response){.v = {0, 0}, .kind = NR_RESP_CONTROL};
	assert_int_equal(nr_response_encode(&r, NULL, 0), NR_E_ARG);
	r = (struct nr_response){.v = {3, 3}, .kind = NR_RESP_QUERY, .query = NR_QRESP_EXIT_POLICY,
	                         .has_policy = true, .rules = &bad, .n_rules = 1};
	assert_int_equal(nr_response_encode(&r, NULL, 0), NR_E_ARG);
	bad.mask = 33;
	assert_int_equal(nr_response_encode(&r, NULL, 0), NR_E_ARG);
	bad.mask = 32;
	bad.action = 4;
	assert_int_equal(nr_response_encode(&r, NULL, 0), NR_E_ARG);
}

/* ------------------------------------------------------- address patterns ---- */

static void assert_pattern(const char *text, enum nr_ip_pattern kind, unsigned mask,
                           const char *printed)
{
	struct nr_policy_rule rule;
	char out[NR_IP_PATTERN_MAX];

	assert_int_equal(nr_ip_pattern_parse(text, strlen(text), &rule), 0);
	assert_int_equal(rule.pattern, kind);
	assert_int_equal(rule.mask, mask);
	assert_true(nr_ip_pattern_format(&rule, out, sizeof(out)) > 0);
	assert_string_equal(out, printed);
}

static void test_ip_patterns(void **state)
{
	static const char *const bad[] = {
		"", "*/8", "*4/0", "*6/1", "1.2.3.4/33", "::1/129", "1.2.3.4/", "1.2.3.4/-1",
		"1.2.3.4/+", "01.2.3.4", "1.2.3", "256.1.1.1", "[1.2.3.4]", "[::1", "::1]", "**",
		"1.2.3.4/8/8", "1.2.3.4 ", "x", "1.2.3.4/256",
	};
	struct nr_policy_rule rule;

	(void)state;
	assert_pattern("*", NR_IP_ANY, 0, "*");
	assert_pattern("*4", NR_IP_ANY4, 0, "*4");
	assert_pattern("*6", NR_IP_ANY6, 0, "*6");
	assert_pattern("10.1.2.3/8", NR_IP_V4, 8, "10.1.2.3/8");
	assert_pattern("127.0.0.1", NR_IP_V4, 32, "127.0.0.1/32");
	assert_pattern("1.2.3.4/+08", NR_IP_V4, 8, "1.2.3.4/8");
	assert_pattern("1.2.3.4/0", NR_IP_ANY4, 0, "*4");
	assert_pattern("[::]/0", NR_IP_ANY6, 0, "*6");
	assert_pattern("::1", NR_IP_V6, 128, "::1/128");
	assert_pattern("[FC00::]/7", NR_IP_V6, 7, "fc00::/7");
	assert_pattern("::ffff:1.2.3.4/96", NR_IP_V6, 96, "::ffff:1.2.3.4/96");
	assert_pattern("::1.2.3.4", NR_IP_V6, 128, "::102:304/128");
	assert_pattern("1:0:0:2:0:0:0:3", NR_IP_V6, 128, "1:0:0:2::3/128");
	assert_pattern("1:0:0:2:0:0:3:4", NR_IP_V6, 128, "1::2:0:0:3:4/128");
	assert_pattern("1:0:2:0:3:0:4:0", NR_IP_V6, 128, "1:0:2:0:3:0:4:0/128");
	assert_pattern("1::", NR_IP_V6, 128, "1::/128");
	assert_pattern("::", NR_IP_V6, 128, "::/128");
	assert_pattern("fe80::1:0:0:0/64", NR_IP_V6, 64, "fe80::1:0:0:0/64");
	assert_pattern("fe80:0:0:1::/64", NR_IP_V6, 64, "fe80:0:0:1::/64");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nr_ip_pattern_parse(bad[i], strlen(bad[i]), &rule),
		                 NR_E_POLICY_PATTERN);
	assert_int_equal(nr_ip_pattern_parse("1.2.3.4\0/8", 10, &rule), NR_E_POLICY_PATTERN);
	assert_int_equal(nr_ip_pattern_parse("[::1\0]", 6, &rule), NR_E_POLICY_PATTERN);
}

static void test_err_text(void **state)
{
	(void)state;
	assert_string_equal(nr_err_text(NR_E_JSON), "malformed control JSON");
	assert_string_equal(nr_err_text(NR_E_ARG), "bad argument");
	assert_string_equal(nr_err_text(-100), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_client_connect),
		cmocka_unit_test(test_old_client_send),
		cmocka_unit_test(test_versioned_connect_bytes),
		cmocka_unit_test(test_socket_data_field_orders),
		cmocka_unit_test(test_query_bytes),
		cmocka_unit_test(test_exit_policy_bytes),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_binary_info),
		cmocka_unit_test(test_request_roundtrips),
		cmocka_unit_test(test_response_roundtrips),
		cmocka_unit_test(test_legacy_query_pitfall),
		cmocka_unit_test(test_request_framing_errors),
		cmocka_unit_test(test_connect_truncations),
		cmocka_unit_test(test_connect_bad_return_address),
		cmocka_unit_test(test_connect_lossy_address),
		cmocka_unit_test(test_send_truncations),
		cmocka_unit_test(test_query_request_bincode),
		cmocka_unit_test(test_response_framing_errors),
		cmocka_unit_test(test_network_data_and_error_truncations),
		cmocka_unit_test(test_query_response_bincode),
		cmocka_unit_test(test_control_json_errors),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_ip_patterns),
		cmocka_unit_test(test_err_text),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
