/* libFuzzer: every JSON text parser of the gateway protocol. Whatever parses must
 * re-encode, and the re-encoding must parse back to the same encoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_die(const char *a, const char *b)
{
	if (strcmp(a, b) != 0)
		abort();
}

static void check_request(const char *t, size_t n)
{
	struct ns_gw_request r, r2;
	char *e1 = NULL, *e2 = NULL;
	if (ns_gw_request_parse(t, n, &r, NULL) != 0)
		return;
	if (ns_gw_request_encode(&r, &e1, NULL) != 0 ||
	    ns_gw_request_parse(e1, strlen(e1), &r2, NULL) != 0 || r2.type != r.type)
		abort();
	if (ns_gw_request_encode(&r2, &e2, NULL) != 0)
		abort();
	same_or_die(e1, e2);
	if (r.type == NS_GW_REQ_AUTHENTICATE_V2 && memcmp(&r.auth, &r2.auth, sizeof r.auth) != 0)
		abort();
	free(e1);
	free(e2);
	ns_gw_request_free(&r);
	ns_gw_request_free(&r2);
}

static void check_response(const char *t, size_t n)
{
	struct ns_gw_response r, r2;
	char *e1 = NULL, *e2 = NULL;
	if (ns_gw_response_parse(t, n, &r, NULL) != 0)
		return;
	if (ns_gw_response_encode(&r, &e1, NULL) != 0 ||
	    ns_gw_response_parse(e1, strlen(e1), &r2, NULL) != 0 || r2.type != r.type ||
	    r2.bandwidth != r.bandwidth || r2.status != r.status)
		abort();
	if (ns_gw_response_encode(&r2, &e2, NULL) != 0)
		abort();
	same_or_die(e1, e2);
	free(e1);
	free(e2);
	ns_gw_response_free(&r);
	ns_gw_response_free(&r2);
}

static void check_hs_msg(const char *t, size_t n)
{
	struct ns_gw_hs_msg m, m2;
	char *e1 = NULL, *e2 = NULL;
	if (ns_gw_hs_msg_parse(t, n, &m, NULL) != 0)
		return;
	if (ns_gw_hs_msg_encode(&m, &e1, NULL) != 0 || ns_gw_hs_msg_parse(e1, strlen(e1), &m2, NULL) != 0 ||
	    m2.data.len != m.data.len || (m.data.len && memcmp(m.data.data, m2.data.data, m.data.len)))
		abort();
	if (ns_gw_hs_msg_encode(&m2, &e2, NULL) != 0)
		abort();
	same_or_die(e1, e2);
	free(e1);
	free(e2);
	ns_gw_hs_msg_free(&m);
	ns_gw_hs_msg_free(&m2);
}

static void check_inner(const char *t, size_t n)
{
	struct ns_gw_inner_request r, r2;
	enum ns_gw_inner_resp_type k, k2;
	char *e1 = NULL, *e2 = NULL;
	if (ns_gw_inner_request_parse(t, n, &r, NULL) == 0) {
		if (ns_gw_inner_request_encode(&r, &e1, NULL) != 0 ||
		    ns_gw_inner_request_parse(e1, strlen(e1), &r2, NULL) != 0 ||
		    ns_gw_inner_request_encode(&r2, &e2, NULL) != 0)
			abort();
		same_or_die(e1, e2);
		free(e1);
		free(e2);
		ns_gw_inner_request_free(&r);
		ns_gw_inner_request_free(&r2);
	}
	if (ns_gw_inner_response_parse(t, n, &k, NULL) == 0) {
		if (ns_gw_inner_response_encode(k, &e1, NULL) != 0 ||
		    ns_gw_inner_response_parse(e1, strlen(e1), &k2, NULL) != 0 || k2 != k)
			abort();
		free(e1);
	}
}

static void check_base64(const char *t, size_t n)
{
	uint8_t buf[256];
	char back[400];
	long got;
	if (n > 300)
		return;
	got = ns_gw_base64_decode(t, n, buf, sizeof buf);
	if (got < 0)
		return;
	ns_gw_base64_encode(buf, (size_t)got, back);
	if (strlen(back) != n || memcmp(back, t, n) != 0)
		abort(); /* strict decoding means a unique encoding */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	check_request(t, size);
	check_response(t, size);
	check_hs_msg(t, size);
	check_inner(t, size);
	check_base64(t, size);
	return 0;
}
