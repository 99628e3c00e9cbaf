/* SOCKS client <-> network requester codec (nym@b4046a89). Query bodies are bincode 1.3 with
 * big-endian varint options and trailing bytes rejected; control bodies are serde_json. */
#include "proxy/nr_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bytes.h"
#include "clientapi.h"
#include "jsonget.h"
#include "nymsphinx/address.h"

#define TAG_CONTROL        0x00
#define TAG_PROVIDER_DATA  0x01
#define LEGACY_REQUEST_TAG 0x00

#define REQ_CONNECT 0
#define REQ_SEND    1
#define REQ_QUERY   2
#define RESP_NETWORK_DATA     1
#define RESP_CONNECTION_ERROR 2
#define RESP_QUERY            3

/* bincode VarintEncoding markers */
#define VARINT_MAX_SINGLE 250
#define VARINT_U16 251
#define VARINT_U32 252
#define VARINT_U64 253

const char *nr_err_text(int err)
{
	static const char *const text[] = {
		"ok", "bad argument", "output too small", "empty message",
		"no interface tag", "bad interface tag", "no control tag", "unknown control tag",
		"unsupported socks5 protocol version", "no request/response flag",
		"unknown request/response flag", "connection id too short",
		"address length too short", "address too short", "trailing bytes neither 0 nor 96",
		"malformed return address", "socket data too short", "invalid UTF-8",
		"bincode: input too short", "bincode: bad varint", "bincode: unknown variant",
		"bincode: bad bool or option tag", "bincode: trailing bytes",
		"malformed exit policy address pattern", "malformed control JSON",
	};
	size_t i = err <= 0 ? (size_t)-err : 0;

	return i < sizeof(text) / sizeof(text[0]) ? text[i] : "unknown error";
}

/* ------------------------------------------------------------------ reader ---- */

struct reader {
	const uint8_t *p;
	size_t len, off;
};

static size_t left(const struct reader *r)
{
	return r->len - r->off;
}

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *p;

	if (left(r) < n)
		return NULL;
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t be_uint(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------------------ writer ---- */

struct writer {
	uint8_t *out; /* NULL: only count */
	size_t cap, len;
	int err;
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->out && !w->err) {
		if (w->cap - w->len < n) {
			w->err = NR_E_SPACE;
			return;
		}
		if (n)
			memcpy(w->out + w->len, p, n);
	}
	w->len += n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_be(struct writer *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(w, b, n);
}

static void fail(struct writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

static long finish(const struct writer *w)
{
	return w->err ? w->err : (long)w->len;
}

/* ----------------------------------------------------------------- bincode ---- */

static int bc_varint(struct reader *r, uint64_t max, uint64_t *out)
{
	static const size_t width[] = {2, 4, 8};
	const uint8_t *m = take(r, 1), *p;

	if (!m)
		return NR_E_BINCODE_SHORT;
	if (*m <= VARINT_MAX_SINGLE) {
		*out = *m;
	} else if (*m <= VARINT_U64) {
		if (!(p = take(r, width[*m - VARINT_U16])))
			return NR_E_BINCODE_SHORT;
		*out = be_uint(p, width[*m - VARINT_U16]);
	} else {
		return NR_E_BINCODE_VARINT;
	}
	return *out > max ? NR_E_BINCODE_VARINT : 0;
}

static void bc_put_varint(struct writer *w, uint64_t v)
{
	if (v <= VARINT_MAX_SINGLE) {
		put_u8(w, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		put_u8(w, VARINT_U16);
		put_be(w, v, 2);
	} else if (v <= UINT32_MAX) {
		put_u8(w, VARINT_U32);
		put_be(w, v, 4);
	} else {
		put_u8(w, VARINT_U64);
		put_be(w, v, 8);
	}
}

static int bc_variant(struct reader *r, uint32_t n_variants, uint32_t *idx)
{
	uint64_t v;
	int rc = bc_varint(r, UINT32_MAX, &v);

	if (rc)
		return rc;
	if (v >= n_variants)
		return NR_E_BINCODE_VARIANT;
	*idx = (uint32_t)v;
	return 0;
}

static int bc_bool(struct reader *r, bool *out)
{
	const uint8_t *b = take(r, 1);

	if (!b)
		return NR_E_BINCODE_SHORT;
	if (*b > 1)
		return NR_E_BINCODE_BOOL;
	*out = *b == 1;
	return 0;
}

static int bc_string(struct reader *r, const char **s, size_t *n)
{
	uint64_t len;
	const uint8_t *p;
	int rc = bc_varint(r, UINT64_MAX, &len);

	if (rc)
		return rc;
	if (len > left(r) || !(p = take(r, (size_t)len)))
		return NR_E_BINCODE_SHORT;
	if (!capi_utf8_valid(p, (size_t)len))
		return NR_E_UTF8;
	*s = (const char *)p;
	*n = (size_t)len;
	return 0;
}

static void bc_put_string(struct writer *w, const char *s, size_t n)
{
	if (n && !s)
		return fail(w, NR_E_ARG);
	if (!capi_utf8_valid((const uint8_t *)s, n))
		return fail(w, NR_E_UTF8);
	bc_put_varint(w, n);
	put(w, s, n);
}

/* ------------------------------------------------------ exit-policy pattern ---- */

/* Rust's u8::from_str: optional '+', then at least one digit */
static int parse_mask(const char *s, size_t n, unsigned *mask)
{
	unsigned v = 0;
	size_t i = n && s[0] == '+' ? 1 : 0;

	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 255)
			return -1;
	}
	*mask = v;
	return 0;
}

/* Nym's parse_addr: "[v6]" or a bare v4 / v6 address. Returns 4, 6 or -1. */
static int parse_ip(const char *s, size_t n, uint8_t addr[16])
{
	char buf[NR_IP_PATTERN_MAX];

	if (memchr(s, 0, n)) /* inet_pton would stop at it; Nym's parser refuses it */
		return -1;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1 ? 6 : -1;
	}
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return 4;
	return inet_pton(AF_INET6, buf, addr) == 1 ? 6 : -1;
}

static int star_pattern(const char *s, size_t n, enum nr_ip_pattern *p)
{
	if (n == 1 && s[0] == '*')
		*p = NR_IP_ANY;
	else if (n == 2 && s[0] == '*' && s[1] == '4')
		*p = NR_IP_ANY4;
	else if (n == 2 && s[0] == '*' && s[1] == '6')
		*p = NR_IP_ANY6;
	else
		return 0;
	return 1;
}

int nr_ip_pattern_parse(const char *text, size_t len, struct nr_policy_rule *rule)
{
	const char *slash = len ? memchr(text, '/', len) : NULL;
	size_t ip_len = slash ? (size_t)(slash - text) : len;
	unsigned mask;
	int family;

	memset(rule->addr, 0, sizeof(rule->addr));
	rule->mask = 0;
	if (star_pattern(text, ip_len, &rule->pattern))
		return slash ? NR_E_POLICY_PATTERN : 0;
	family = parse_ip(text, ip_len, rule->addr);
	if (family < 0)
		return NR_E_POLICY_PATTERN;
	if (!slash)
		mask = family == 4 ? 32 : 128;
	else if (parse_mask(slash + 1, len - ip_len - 1, &mask))
		return NR_E_POLICY_PATTERN;
	if (mask > (family == 4 ? 32u : 128u))
		return NR_E_POLICY_PATTERN;
	rule->pattern = mask == 0 ? (family == 4 ? NR_IP_ANY4 : NR_IP_ANY6)
	                          : (family == 4 ? NR_IP_V4 : NR_IP_V6);
	if (mask == 0)
		memset(rule->addr, 0, sizeof(rule->addr));
	rule->mask = (uint8_t)mask;
	return 0;
}

/* the longest run (first on a tie) of at least two zero groups, as Rust's Ipv6Addr Display */
static void zero_run(const uint16_t g[8], int *start, int *len)
{
	int cur_start = 0, cur_len = 0;

	*start = 0;
	*len = 0;
	for (int i = 0; i < 8; i++) {
		if (g[i]) {
			cur_len = 0;
			continue;
		}
		if (cur_len++ == 0)
			cur_start = i;
		if (cur_len > *len) {
			*start = cur_start;
			*len = cur_len;
		}
	}
}

static size_t format_groups(const uint16_t *g, int n, char *out, size_t cap, size_t at)
{
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, at < cap ? cap - at : 0, i ? ":%x" : "%x", g[i]);
	return at;
}

static size_t format_v6(const uint8_t a[16], char *out, size_t cap)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint16_t g[8];
	int zs, zl;
	size_t at;

	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return (size_t)snprintf(out, cap, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
	zero_run(g, &zs, &zl);
	if (zl < 2)
		return format_groups(g, 8, out, cap, 0);
	at = format_groups(g, zs, out, cap, 0);
	at += (size_t)snprintf(out + at, at < cap ? cap - at : 0, "::");
	return format_groups(g + zs + zl, 8 - zs - zl, out, cap, at);
}

long nr_ip_pattern_format(const struct nr_policy_rule *rule, char *out, size_t cap)
{
	static const char *const star[] = {"*", "*4", "*6"};
	char buf[NR_IP_PATTERN_MAX];
	const uint8_t *a = rule->addr;
	size_t n;

	if (rule->pattern <= NR_IP_ANY6) {
		n = (size_t)snprintf(buf, sizeof(buf), "%s", star[rule->pattern]);
	} else if (rule->pattern == NR_IP_V4 && rule->mask >= 1 && rule->mask <= 32) {
		n = (size_t)snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3],
		                     rule->mask);
	} else if (rule->pattern == NR_IP_V6 && rule->mask >= 1 && rule->mask <= 128) {
		n = format_v6(a, buf, sizeof(buf));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "/%u", rule->mask);
	} else {
		return NR_E_ARG;
	}
	if (n >= cap)
		return NR_E_SPACE;
	memcpy(out, buf, n + 1);
	return (long)n;
}

/* ---------------------------------------------------- exit policy in bincode ---- */

static int bc_policy_rule(struct reader *r, struct nr_policy_rule *rule)
{
	const char *pattern;
	size_t pattern_len;
	uint32_t action;
	uint64_t lo, hi;
	int rc;

	if ((rc = bc_variant(r, 4, &action)) || (rc = bc_string(r, &pattern, &pattern_len)))
		return rc;
	if ((rc = nr_ip_pattern_parse(pattern, pattern_len, rule)))
		return rc;
	if ((rc = bc_varint(r, UINT16_MAX, &lo)) || (rc = bc_varint(r, UINT16_MAX, &hi)))
		return rc;
	rule->action = (enum nr_policy_action)action;
	rule->port_lo = (uint16_t)lo;
	rule->port_hi = (uint16_t)hi;
	return 0;
}

/* Option<AddressPolicy>: validates every rule; the rules stay as bytes in resp */
static int bc_policy(struct reader *r, struct nr_response *resp)
{
	struct nr_policy_rule rule;
	uint64_t n;
	size_t start;
	int rc;

	if ((rc = bc_bool(r, &resp->has_policy)) || !resp->has_policy)
		return rc;
	if ((rc = bc_varint(r, UINT64_MAX, &n)))
		return rc;
	start = r->off;
	for (uint64_t i = 0; i < n; i++)
		if ((rc = bc_policy_rule(r, &rule)))
			return rc;
	resp->n_rules = (size_t)n;
	resp->policy_wire = r->p + start;
	resp->policy_wire_len = r->off - start;
	return 0;
}

size_t nr_response_policy_rules(const struct nr_response *resp, struct nr_policy_rule *out,
                                size_t cap)
{
	struct reader r = {resp->policy_wire, resp->policy_wire_len, 0};
	struct nr_policy_rule rule;

	if (resp->rules) {
		for (size_t i = 0; i < resp->n_rules && i < cap; i++)
			out[i] = resp->rules[i];
		return resp->n_rules;
	}
	for (size_t i = 0; i < resp->n_rules; i++)
		if (bc_policy_rule(&r, i < cap ? &out[i] : &rule))
			return i;
	return resp->n_rules;
}

static void bc_put_rule(struct writer *w, const struct nr_policy_rule *rule)
{
	char pattern[NR_IP_PATTERN_MAX];
	long n = nr_ip_pattern_format(rule, pattern, sizeof(pattern));

	if (n < 0 || (unsigned)rule->action > NR_POLICY_REJECT6)
		return fail(w, NR_E_ARG);
	bc_put_varint(w, rule->action);
	bc_put_string(w, pattern, (size_t)n);
	bc_put_varint(w, rule->port_lo);
	bc_put_varint(w, rule->port_hi);
}

static void bc_put_policy(struct writer *w, const struct nr_response *resp)
{
	put_u8(w, resp->has_policy);
	if (!resp->has_policy)
		return;
	if (resp->n_rules && !resp->rules)
		return fail(w, NR_E_ARG);
	bc_put_varint(w, resp->n_rules);
	for (size_t i = 0; i < resp->n_rules; i++)
		bc_put_rule(w, &resp->rules[i]);
}

/* ------------------------------------------------------------ query bodies ---- */

static int decode_query_request(struct reader *r, struct nr_request *req)
{
	uint32_t idx;
	int rc = bc_variant(r, 3, &idx);

	if (rc)
		return rc;
	if (left(r))
		return NR_E_BINCODE_TRAILING;
	req->kind = NR_REQ_QUERY;
	req->query = (enum nr_query)idx;
	return 0;
}

static int decode_query_fields(struct reader *r, struct nr_response *resp)
{
	switch (resp->query) {
	case NR_QRESP_OPEN_PROXY:
		return bc_bool(r, &resp->open_proxy);
	case NR_QRESP_EXIT_POLICY: {
		int rc = bc_bool(r, &resp->policy_enabled);
		if (rc || (rc = bc_string(r, &resp->text, &resp->text_len)))
			return rc;
		return bc_policy(r, resp);
	}
	default: /* Description, Error */
		return bc_string(r, &resp->text, &resp->text_len);
	}
}

static int decode_query_response(struct reader *r, struct nr_response *resp)
{
	uint32_t idx;
	int rc = bc_variant(r, 4, &idx);

	if (rc)
		return rc;
	resp->kind = NR_RESP_QUERY;
	resp->query = (enum nr_query_response)idx;
	if ((rc = decode_query_fields(r, resp)))
		return rc;
	return left(r) ? NR_E_BINCODE_TRAILING : 0;
}

static void encode_query_response(struct writer *w, const struct nr_response *resp)
{
	if ((unsigned)resp->query > NR_QRESP_ERROR)
		return fail(w, NR_E_ARG);
	bc_put_varint(w, resp->query);
	switch (resp->query) {
	case NR_QRESP_OPEN_PROXY:
		put_u8(w, resp->open_proxy);
		break;
	case NR_QRESP_EXIT_POLICY:
		put_u8(w, resp->policy_enabled);
		bc_put_string(w, resp->text, resp->text_len);
		bc_put_policy(w, resp);
		break;
	default:
		bc_put_string(w, resp->text, resp->text_len);
	}
}

/* ------------------------------------------------------------------- JSON ---- */

static bool json_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool json_is_string(const cJSON *obj, const char *name)
{
	return cJSON_IsString(ns_json_member(obj, name));
}

static bool build_info_ok(const cJSON *b)
{
	static const char *const required[] = {
		"binary_name", "build_timestamp", "build_version", "commit_sha", "commit_timestamp",
		"commit_branch", "rustc_version", "rustc_channel", "cargo_profile",
	};

	if (!cJSON_IsObject(b) || ns_json_has_duplicates(b))
		return false;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!json_is_string(b, required[i]))
			return false;
	return !ns_json_member(b, "cargo_triple") || json_is_string(b, "cargo_triple");
}

static bool control_json_shape(const cJSON *root, enum nr_control tag)
{
	if (!cJSON_IsObject(root) || ns_json_has_duplicates(root))
		return false;
	switch (tag) {
	case NR_CONTROL_BINARY_INFO:
		return json_is_string(root, "binary_name") &&
		       build_info_ok(ns_json_member(root, "build_information"));
	case NR_CONTROL_SUPPORTED_VERSIONS:
		return json_is_string(root, "interface_version") &&
		       json_is_string(root, "provider_version");
	default:
		return json_is_string(root, "message");
	}
}

/* one JSON object of the shape serde_json needs for tag, between optional whitespace */
static int check_control_json(const uint8_t *p, size_t n, enum nr_control tag)
{
	const char *end = NULL;
	cJSON *root;
	bool ok;

	if (!capi_utf8_valid(p, n))
		return NR_E_JSON;
	while (n && json_space(*p)) {
		p++;
		n--;
	}
	if (!n || *p != '{')
		return NR_E_JSON;
	root = cJSON_ParseWithLengthOpts((const char *)p, n, &end, 0);
	ok = root && control_json_shape(root, tag);
	cJSON_Delete(root);
	if (!ok || !end)
		return NR_E_JSON;
	for (const uint8_t *q = (const uint8_t *)end; q < p + n; q++)
		if (!json_space(*q))
			return NR_E_JSON;
	return 0;
}

/* serde_json string escaping */
static void put_json_string(struct writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (n && !s)
		return fail(w, NR_E_ARG);
	if (!capi_utf8_valid((const uint8_t *)s, n))
		return fail(w, NR_E_UTF8);
	put_u8(w, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
		                : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
		                : c == '\t' ? "\\t" : NULL;
		char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (esc)
			put(w, esc, 2);
		else if (c < 0x20)
			put(w, u, sizeof(u));
		else
			put_u8(w, c);
	}
	put_u8(w, '"');
}

static void put_str(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_json_field(struct writer *w, const char *name, const char *value, bool first)
{
	if (!first)
		put_u8(w, ',');
	put_u8(w, '"');
	put_str(w, name);
	put_str(w, "\":");
	put_json_string(w, value, value ? strlen(value) : 0);
}

static void encode_binary_info(struct writer *w, const struct nr_binary_info *b)
{
	const struct nr_binary_info empty = {0};

	if (!b)
		b = &empty;
	put_u8(w, '{');
	put_json_field(w, "binary_name", b->binary_name, true);
	put_str(w, ",\"build_information\":{");
	put_json_field(w, "binary_name", b->binary_name, true);
	put_json_field(w, "build_timestamp", b->build_timestamp, false);
	put_json_field(w, "build_version", b->build_version, false);
	put_json_field(w, "commit_sha", b->commit_sha, false);
	put_json_field(w, "commit_timestamp", b->commit_timestamp, false);
	put_json_field(w, "commit_branch", b->commit_branch, false);
	put_json_field(w, "rustc_version", b->rustc_version, false);
	put_json_field(w, "rustc_channel", b->rustc_channel, false);
	put_json_field(w, "cargo_profile", b->cargo_profile, false);
	put_json_field(w, "cargo_triple", b->cargo_triple, false);
	put_str(w, "}}");
}

/* the serde_json text of a version enum ({"type":"Versioned","version":3}) */
static void version_json(uint8_t v, char out[48])
{
	if (v == NR_VERSION_LEGACY)
		snprintf(out, 48, "{\"type\":\"Legacy\"}");
	else
		snprintf(out, 48, "{\"type\":\"Versioned\",\"version\":%u}", v);
}

static void encode_supported_versions(struct writer *w, struct nr_versions v)
{
	char iface[48], proto[48];

	version_json(v.iface, iface);
	version_json(v.proto, proto);
	put_u8(w, '{');
	put_json_field(w, "interface_version", iface, true);
	put_json_field(w, "provider_version", proto, false);
	put_u8(w, '}');
}

static void encode_control_error(struct writer *w, const struct nr_response *resp)
{
	put_str(w, "{\"message\":");
	put_json_string(w, resp->text, resp->text_len);
	put_u8(w, '}');
}

/* -------------------------------------------------------------- interface ---- */

enum iface_part { PART_CONTROL, PART_PROVIDER_DATA };

/* The interface layer: a first byte below 3 is Legacy (no interface byte: the whole input
 * is provider data); otherwise it is the version, and a tag follows. */
static int read_interface(struct reader *r, uint8_t *iface, enum iface_part *part)
{
	const uint8_t *tag;

	if (!r->p || !r->len)
		return NR_E_EMPTY;
	*part = PART_PROVIDER_DATA;
	if (r->p[0] < NR_VERSION_CURRENT)
		return 0;
	*iface = r->p[0];
	r->off = 1;
	if (!(tag = take(r, 1)))
		return NR_E_NO_TAG;
	if (*tag > TAG_PROVIDER_DATA)
		return NR_E_TAG;
	*part = *tag == TAG_CONTROL ? PART_CONTROL : PART_PROVIDER_DATA;
	return 0;
}

static bool version_ok(uint8_t v)
{
	return v == NR_VERSION_LEGACY || v >= NR_VERSION_CURRENT;
}

/* checks the versions and writes the interface byte and tag; 0 or NR_E_ARG */
static int put_interface(struct writer *w, struct nr_versions v, bool control)
{
	if (!version_ok(v.iface) || !version_ok(v.proto) || (control && !v.iface))
		return NR_E_ARG;
	if (v.iface) {
		put_u8(w, v.iface);
		put_u8(w, control ? TAG_CONTROL : TAG_PROVIDER_DATA);
	}
	return 0;
}

typedef int (*decode_part_fn)(struct reader *r, void *msg);

/* the interface layer, then the control or the provider-data part into msg */
static int decode_message(const uint8_t *in, size_t len, uint8_t *iface, decode_part_fn control,
                          decode_part_fn provider_data, void *msg)
{
	struct reader r = {in, len, 0};
	enum iface_part part;
	int rc = read_interface(&r, iface, &part);

	if (rc)
		return rc;
	return part == PART_CONTROL ? control(&r, msg) : provider_data(&r, msg);
}

/* the interface layer, then body(msg) */
static long encode_message(struct nr_versions v, bool control,
                           void (*body)(struct writer *, const void *), const void *msg,
                           uint8_t *out, size_t cap)
{
	struct writer w = {out, cap, 0, 0};

	if (put_interface(&w, v, control))
		return NR_E_ARG;
	body(&w, msg);
	return finish(&w);
}

/* ---------------------------------------------------------------- control ---- */

static int decode_control_request(struct reader *r, void *msg)
{
	struct nr_request *req = msg;
	const uint8_t *tag = take(r, 1);

	if (!tag)
		return NR_E_NO_CONTROL;
	if (*tag > NR_CONTROL_SUPPORTED_VERSIONS)
		return NR_E_CONTROL_TAG;
	/* Nym reads the tag only: bytes after it are ignored */
	req->kind = NR_REQ_CONTROL;
	req->control = (enum nr_control)*tag;
	return 0;
}

static int decode_control_response(struct reader *r, void *msg)
{
	struct nr_response *resp = msg;
	const uint8_t *tag = take(r, 1);
	int rc;

	if (!tag)
		return NR_E_NO_CONTROL;
	if (*tag > NR_CONTROL_SUPPORTED_VERSIONS && *tag != NR_CONTROL_ERROR)
		return NR_E_CONTROL_TAG;
	resp->kind = NR_RESP_CONTROL;
	resp->control = (enum nr_control)*tag;
	if (*tag == NR_CONTROL_HEALTH) /* trailing bytes ignored, as Nym does */
		return 0;
	if ((rc = check_control_json(r->p + r->off, left(r), resp->control)))
		return rc;
	resp->json = r->p + r->off;
	resp->json_len = left(r);
	return 0;
}

static void encode_control_response(struct writer *w, const struct nr_response *resp)
{
	put_u8(w, (uint8_t)resp->control);
	switch (resp->control) {
	case NR_CONTROL_HEALTH:
		break;
	case NR_CONTROL_BINARY_INFO:
		encode_binary_info(w, resp->binary_info);
		break;
	case NR_CONTROL_SUPPORTED_VERSIONS:
		encode_supported_versions(w, resp->supported);
		break;
	case NR_CONTROL_ERROR:
		encode_control_error(w, resp);
		break;
	default:
		fail(w, NR_E_ARG);
	}
}

/* --------------------------------------------------------------- requests ---- */

static int decode_return_address(struct reader *r, struct nr_request *req)
{
	struct nym_recipient rcpt;

	if (left(r) == 0)
		return 0;
	if (left(r) != NR_RETURN_ADDRESS_LEN)
		return NR_E_RETURN_LEN;
	if (nym_recipient_from_bytes(r->p + r->off, &rcpt))
		return NR_E_RETURN_ADDR;
	memcpy(req->return_address, r->p + r->off, NR_RETURN_ADDRESS_LEN);
	req->has_return_address = true;
	r->off = r->len;
	return 0;
}

static int decode_connect(struct reader *r, struct nr_request *req)
{
	const uint8_t *id = take(r, 8), *len, *addr;

	if (!id)
		return NR_E_CONN_ID;
	if (!(len = take(r, 2)))
		return NR_E_ADDR_LEN;
	if (!(addr = take(r, (size_t)be_uint(len, 2))))
		return NR_E_ADDR;
	req->kind = NR_REQ_CONNECT;
	req->conn_id = ns_get_be64(id);
	req->addr = addr;
	req->addr_len = (size_t)be_uint(len, 2);
	return decode_return_address(r, req);
}

static int decode_send(struct reader *r, struct nr_request *req)
{
	const uint8_t *h = take(r, NR_SOCKET_DATA_HEADER_LEN);

	if (!h)
		return NR_E_SOCKET_DATA;
	req->kind = NR_REQ_SEND;
	req->conn_id = ns_get_be64(h);
	req->local_closed = h[8] != 0;
	req->seq = ns_get_be64(h + 9);
	req->data = r->p + r->off;
	req->data_len = left(r);
	return 0;
}

/* by request flag: Connect 0, Send 1, Query 2 */
static int (*const request_body[])(struct reader *, struct nr_request *) = {
	decode_connect, decode_send, decode_query_request,
};

/* the socks5 request: version byte (below 3 = Legacy), flag, body */
static int decode_socks_request(struct reader *r, void *msg)
{
	struct nr_request *req = msg;
	const uint8_t *ver = take(r, 1), *flag;

	if (!ver)
		return NR_E_NO_FLAG;
	if (*ver > NR_VERSION_CURRENT)
		return NR_E_PROTO_VERSION;
	req->v.proto = *ver < NR_VERSION_CURRENT ? NR_VERSION_LEGACY : *ver;
	if (!(flag = take(r, 1)))
		return NR_E_NO_FLAG;
	if (*flag >= sizeof(request_body) / sizeof(request_body[0]))
		return NR_E_FLAG;
	return request_body[*flag](r, req);
}

int nr_request_decode(const uint8_t *in, size_t len, struct nr_request *req)
{
	memset(req, 0, sizeof(*req));
	return decode_message(in, len, &req->v.iface, decode_control_request,
	                      decode_socks_request, req);
}

static void encode_connect(struct writer *w, const struct nr_request *req)
{
	if (req->addr_len > UINT16_MAX || (req->addr_len && !req->addr))
		return fail(w, NR_E_ARG);
	if (!capi_utf8_valid(req->addr, req->addr_len))
		return fail(w, NR_E_UTF8);
	put_u8(w, REQ_CONNECT);
	put_be(w, req->conn_id, 8);
	put_be(w, req->addr_len, 2);
	put(w, req->addr, req->addr_len);
	if (req->has_return_address)
		put(w, req->return_address, NR_RETURN_ADDRESS_LEN);
}

static void encode_socks_request(struct writer *w, const struct nr_request *req)
{
	put_u8(w, req->v.proto ? req->v.proto : LEGACY_REQUEST_TAG);
	switch (req->kind) {
	case NR_REQ_CONNECT:
		return encode_connect(w, req);
	case NR_REQ_SEND:
		if (req->data_len && !req->data)
			return fail(w, NR_E_ARG);
		put_u8(w, REQ_SEND);
		put_be(w, req->conn_id, 8);
		put_u8(w, req->local_closed);
		put_be(w, req->seq, 8);
		return put(w, req->data, req->data_len);
	case NR_REQ_QUERY:
		if ((unsigned)req->query > NR_QUERY_EXIT_POLICY)
			return fail(w, NR_E_ARG);
		put_u8(w, REQ_QUERY);
		return bc_put_varint(w, req->query);
	default:
		return fail(w, NR_E_ARG);
	}
}

static void encode_request_body(struct writer *w, const void *msg)
{
	const struct nr_request *req = msg;

	if (req->kind != NR_REQ_CONTROL)
		encode_socks_request(w, req);
	else if ((unsigned)req->control > NR_CONTROL_SUPPORTED_VERSIONS)
		fail(w, NR_E_ARG);
	else
		put_u8(w, (uint8_t)req->control);
}

long nr_request_encode(const struct nr_request *req, uint8_t *out, size_t cap)
{
	return encode_message(req->v, req->kind == NR_REQ_CONTROL, encode_request_body, req, out,
	                      cap);
}

/* -------------------------------------------------------------- responses ---- */

static int decode_network_data(struct reader *r, struct nr_response *resp)
{
	const uint8_t *h = take(r, NR_SOCKET_DATA_HEADER_LEN);

	if (!h)
		return NR_E_SOCKET_DATA;
	resp->kind = NR_RESP_NETWORK_DATA;
	resp->closed = h[0] != 0;
	resp->conn_id = ns_get_be64(h + 1);
	resp->seq = ns_get_be64(h + 9);
	resp->data = r->p + r->off;
	resp->data_len = left(r);
	return 0;
}

static int decode_connection_error(struct reader *r, struct nr_response *resp)
{
	const uint8_t *id = take(r, 8);

	if (!id)
		return NR_E_CONN_ID;
	if (!capi_utf8_valid(r->p + r->off, left(r)))
		return NR_E_UTF8;
	resp->kind = NR_RESP_CONNECTION_ERROR;
	resp->conn_id = ns_get_be64(id);
	resp->text = (const char *)(r->p + r->off);
	resp->text_len = left(r);
	return 0;
}

/* by response flag, from NetworkData (1): NetworkData, ConnectionError, Query */
static int (*const response_body[])(struct reader *, struct nr_response *) = {
	decode_network_data, decode_connection_error, decode_query_response,
};

/* the socks5 response: an optional version byte (>= 3), then the flag. A first byte below 3
 * is Legacy and is itself the flag. */
static int decode_socks_response(struct reader *r, void *msg)
{
	struct nr_response *resp = msg;
	const uint8_t *flag = take(r, 1);

	if (!flag)
		return NR_E_NO_FLAG;
	if (*flag >= NR_VERSION_CURRENT) {
		resp->v.proto = *flag;
		if (!(flag = take(r, 1)))
			return NR_E_NO_FLAG;
	}
	if (*flag < RESP_NETWORK_DATA || *flag > RESP_QUERY)
		return NR_E_FLAG;
	return response_body[*flag - RESP_NETWORK_DATA](r, resp);
}

int nr_response_decode(const uint8_t *in, size_t len, struct nr_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	return decode_message(in, len, &resp->v.iface, decode_control_response,
	                      decode_socks_response, resp);
}

static void encode_text(struct writer *w, const char *s, size_t n)
{
	if (n && !s)
		return fail(w, NR_E_ARG);
	if (!capi_utf8_valid((const uint8_t *)s, n))
		return fail(w, NR_E_UTF8);
	put(w, s, n);
}

static void encode_socks_response(struct writer *w, const struct nr_response *resp)
{
	if (resp->v.proto)
		put_u8(w, resp->v.proto);
	switch (resp->kind) {
	case NR_RESP_NETWORK_DATA:
		if (resp->data_len && !resp->data)
			return fail(w, NR_E_ARG);
		put_u8(w, RESP_NETWORK_DATA);
		put_u8(w, resp->closed);
		put_be(w, resp->conn_id, 8);
		put_be(w, resp->seq, 8);
		return put(w, resp->data, resp->data_len);
	case NR_RESP_CONNECTION_ERROR:
		put_u8(w, RESP_CONNECTION_ERROR);
		put_be(w, resp->conn_id, 8);
		return encode_text(w, resp->text, resp->text_len);
	case NR_RESP_QUERY:
		put_u8(w, RESP_QUERY);
		return encode_query_response(w, resp);
	default:
		return fail(w, NR_E_ARG);
	}
}

static void encode_response_body(struct writer *w, const void *msg)
{
	const struct nr_response *resp = msg;

	if (resp->kind == NR_RESP_CONTROL)
		encode_control_response(w, resp);
	else
		encode_socks_response(w, resp);
}

long nr_response_encode(const struct nr_response *resp, uint8_t *out, size_t cap)
{
	return encode_message(resp->v, resp->kind == NR_RESP_CONTROL, encode_response_body, resp,
	                      out, cap);
}
