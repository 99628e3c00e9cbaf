/* SOCKS client <-> network requester codec.
 * The input is decoded as a request and as a response (both interface modes: the first
 * byte decides) and as an exit-policy address pattern. Whatever decodes must re-encode;
 * the re-encoding must decode to the same fields and re-encode to itself; and where the
 * input was in canonical form (version byte 0 for Legacy, booleans 0/1, shortest varints,
 * no bytes after a control tag) the re-encoding must equal the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "proxy/nr_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RULES 256

typedef long (*encode_fn)(const void *msg, uint8_t *out, size_t cap);

static long encode_request_fn(const void *msg, uint8_t *out, size_t cap)
{
	return nr_request_encode(msg, out, cap);
}

static long encode_response_fn(const void *msg, uint8_t *out, size_t cap)
{
	return nr_response_encode(msg, out, cap);
}

/* encodes into a fresh buffer: the sizing pass and the real one must agree */
static uint8_t *encode(encode_fn enc, const void *msg, long *n)
{
	long want = enc(msg, NULL, 0);
	uint8_t *out;

	if (want <= 0)
		abort();
	out = malloc((size_t)want);
	if (!out || enc(msg, out, (size_t)want) != want)
		abort();
	*n = want;
	return out;
}

static int same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* x encodes the decoded input, y the decoded x: they must be equal, and equal to the input
 * when that was canonical. Frees both. */
static void check_stable(const uint8_t *in, size_t len, int canonical, uint8_t *x, long xn,
                         uint8_t *y, long yn)
{
	if (!same_bytes(x, (size_t)xn, y, (size_t)yn))
		abort();
	if (canonical && !same_bytes(in, len, x, (size_t)xn))
		abort();
	free(x);
	free(y);
}

static void same_request(const struct nr_request *a, const struct nr_request *b)
{
	if (a->kind != b->kind || a->v.iface != b->v.iface || a->v.proto != b->v.proto ||
	    a->conn_id != b->conn_id || a->local_closed != b->local_closed || a->seq != b->seq ||
	    a->query != b->query || a->control != b->control ||
	    a->has_return_address != b->has_return_address ||
	    !same_bytes(a->addr, a->addr_len, b->addr, b->addr_len) ||
	    !same_bytes(a->data, a->data_len, b->data, b->data_len) ||
	    memcmp(a->return_address, b->return_address, sizeof(a->return_address)) != 0)
		abort();
}

/* the input as the encoder would have written it, for the fields it normalises */
static int request_canonical(const uint8_t *in, size_t len, const struct nr_request *r)
{
	size_t socks = r->v.iface ? 2 : 0;

	if (r->kind == NR_REQ_CONTROL)
		return len == 3;
	if (in[socks] != (r->v.proto ? r->v.proto : 0))
		return 0;
	if (r->kind == NR_REQ_SEND)
		return in[socks + 10] <= 1;
	if (r->kind == NR_REQ_QUERY)
		return in[socks + 2] <= 250;
	return 1;
}

static void check_request(const uint8_t *in, size_t len)
{
	struct nr_request a, b;
	uint8_t *x, *y;
	long xn, yn;

	if (nr_request_decode(in, len, &a))
		return;
	if (a.kind == NR_REQ_CONNECT && nr_request_encode(&a, NULL, 0) == NR_E_UTF8)
		return; /* Nym decodes a non-UTF-8 address lossily; we never encode one */
	x = encode(encode_request_fn, &a, &xn);
	if (nr_request_decode(x, (size_t)xn, &b))
		abort();
	same_request(&a, &b);
	y = encode(encode_request_fn, &b, &yn);
	check_stable(in, len, request_canonical(in, len, &a), x, xn, y, yn);
}

static void same_rules(const struct nr_response *a, const struct nr_response *b)
{
	static struct nr_policy_rule ra[MAX_RULES], rb[MAX_RULES];
	size_t n = a->n_rules < MAX_RULES ? a->n_rules : MAX_RULES;

	if (nr_response_policy_rules(a, ra, n) != a->n_rules ||
	    nr_response_policy_rules(b, rb, n) != b->n_rules)
		abort();
	for (size_t i = 0; i < n; i++)
		if (ra[i].action != rb[i].action || ra[i].pattern != rb[i].pattern ||
		    ra[i].mask != rb[i].mask || ra[i].port_lo != rb[i].port_lo ||
		    ra[i].port_hi != rb[i].port_hi || memcmp(ra[i].addr, rb[i].addr, 16) != 0)
			abort();
}

static void same_response(const struct nr_response *a, const struct nr_response *b)
{
	if (a->kind != b->kind || a->v.iface != b->v.iface || a->v.proto != b->v.proto ||
	    a->conn_id != b->conn_id || a->closed != b->closed || a->seq != b->seq ||
	    a->query != b->query || a->open_proxy != b->open_proxy ||
	    a->policy_enabled != b->policy_enabled || a->has_policy != b->has_policy ||
	    a->n_rules != b->n_rules || a->control != b->control ||
	    !same_bytes(a->data, a->data_len, b->data, b->data_len) ||
	    !same_bytes((const uint8_t *)a->text, a->text_len, (const uint8_t *)b->text,
	                b->text_len))
		abort();
	if (a->has_policy)
		same_rules(a, b);
}

static int response_canonical(const uint8_t *in, size_t len, const struct nr_response *r)
{
	size_t flag = r->v.iface ? 2 : 0;

	if (r->kind == NR_RESP_CONTROL)
		return len == 3;
	if (r->v.proto)
		flag++;
	if (r->kind == NR_RESP_NETWORK_DATA)
		return in[flag + 1] <= 1;
	return r->kind == NR_RESP_CONNECTION_ERROR;
}

/* the decoded rules as the encoder takes them */
static void attach_rules(struct nr_response *r, struct nr_policy_rule *rules)
{
	if (!r->has_policy)
		return;
	if (r->n_rules > MAX_RULES) {
		r->has_policy = false; /* too many to hold here; re-encoded without them */
		r->n_rules = 0;
		return;
	}
	nr_response_policy_rules(r, rules, r->n_rules);
	r->rules = rules;
}

static void check_response(const uint8_t *in, size_t len)
{
	static struct nr_policy_rule rules[MAX_RULES];
	struct nr_response a, b;
	uint8_t *x, *y;
	long xn, yn;

	if (nr_response_decode(in, len, &a))
		return;
	if (a.kind == NR_RESP_CONTROL && a.control != NR_CONTROL_HEALTH)
		return; /* JSON bodies are checked on decode; they are written from fields */
	attach_rules(&a, rules);
	x = encode(encode_response_fn, &a, &xn);
	if (nr_response_decode(x, (size_t)xn, &b))
		abort();
	same_response(&a, &b);
	if (b.has_policy)
		b.rules = rules;
	y = encode(encode_response_fn, &b, &yn);
	check_stable(in, len, response_canonical(in, len, &a), x, xn, y, yn);
}

static void check_pattern(const uint8_t *in, size_t len)
{
	struct nr_policy_rule a, b;
	char text[NR_IP_PATTERN_MAX], again[NR_IP_PATTERN_MAX];
	long n;

	if (len > 256 || nr_ip_pattern_parse((const char *)in, len, &a))
		return;
	n = nr_ip_pattern_format(&a, text, sizeof(text));
	if (n <= 0 || nr_ip_pattern_parse(text, (size_t)n, &b) || a.pattern != b.pattern ||
	    a.mask != b.mask || memcmp(a.addr, b.addr, 16) != 0)
		abort();
	if (nr_ip_pattern_format(&b, again, sizeof(again)) != n || strcmp(text, again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ns_crypto_init()) /* return addresses are checked as ed25519 points */
		abort();
	check_request(data, size);
	check_response(data, size);
	check_pattern(data, size);
	return 0;
}
