#include "gateway/requests.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"

/* ======================= strict JSON document ======================= */

/* cJSON keeps numbers only as doubles, so each number node is mapped back to
 * its literal text to check integer syntax and read 64-bit values exactly. */
struct jnum {
	const cJSON *node;
	const char *text;
	size_t len;
};
struct jdoc {
	cJSON *root;
	struct jnum *nums;
	size_t n;
};

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], need, min, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
		else return 0;
		if (n - i <= need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* RFC 8259 number grammar. */
static int number_ok(const char *t, size_t n)
{
	size_t i = 0;
	if (i < n && t[i] == '-')
		i++;
	if (i >= n || !is_digit(t[i]))
		return 0;
	if (t[i] == '0')
		i++;
	else
		while (i < n && is_digit(t[i]))
			i++;
	if (i < n && t[i] == '.') {
		if (++i >= n || !is_digit(t[i]))
			return 0;
		while (i < n && is_digit(t[i]))
			i++;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		if (i >= n || !is_digit(t[i]))
			return 0;
		while (i < n && is_digit(t[i]))
			i++;
	}
	return i == n;
}

static int is_num_char(char c)
{
	return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Lists number literals in text order; refuses raw control characters in strings. */
static int scan_numbers(const char *t, size_t n, struct jdoc *d)
{
	size_t i = 0, cap = 0;
	while (i < n) {
		char c = t[i];
		if (c == '"') {
			for (i++; i < n && t[i] != '"'; i++) {
				if ((unsigned char)t[i] < 0x20)
					return NS_GW_EJSON;
				if (t[i] == '\\')
					i++;
			}
			i++;
		} else if (c == '-' || is_digit(c)) {
			size_t s = i;
			while (i < n && is_num_char(t[i]))
				i++;
			if (!number_ok(t + s, i - s))
				return NS_GW_EJSON;
			if (d->n == cap) {
				size_t ncap = cap ? 2 * cap : 16;
				struct jnum *p = realloc(d->nums, ncap * sizeof *p);
				if (p == NULL)
					return NS_GW_ENOMEM;
				d->nums = p;
				cap = ncap;
			}
			d->nums[d->n].node = NULL;
			d->nums[d->n].text = t + s;
			d->nums[d->n++].len = i - s;
		} else {
			/* cJSON skips every byte <= 0x20 between tokens; JSON allows only these */
			if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return NS_GW_EJSON;
			i++;
		}
	}
	return 0;
}

static int collect_numbers(const cJSON *it, struct jdoc *d, size_t *idx)
{
	for (; it != NULL; it = it->next) {
		if (cJSON_IsNumber(it)) {
			if (*idx >= d->n)
				return NS_GW_EJSON;
			d->nums[(*idx)++].node = it;
		}
		if ((cJSON_IsArray(it) || cJSON_IsObject(it)) &&
		    collect_numbers(it->child, d, idx) != 0)
			return NS_GW_EJSON;
	}
	return 0;
}

static int jnum_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct jnum *)a)->node;
	uintptr_t y = (uintptr_t)((const struct jnum *)b)->node;
	return x < y ? -1 : x > y;
}

static void jdoc_free(struct jdoc *d)
{
	cJSON_Delete(d->root);
	free(d->nums);
	memset(d, 0, sizeof *d);
}

static int jdoc_parse(struct jdoc *d, const char *text, size_t len)
{
	const char *end = NULL;
	size_t idx = 0;
	int rc;
	memset(d, 0, sizeof *d);
	if (text == NULL)
		return NS_GW_EARG;
	if (len > NS_GW_TEXT_MAX)
		return NS_GW_EOVERSIZE;
	if (memchr(text, 0, len) != NULL || (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0))
		return NS_GW_EJSON; /* cJSON would skip a byte-order mark; serde_json refuses it */
	if (!utf8_valid((const unsigned char *)text, len))
		return NS_GW_EUTF8;
	/* cJSON's own "require_null_terminated" wants the NUL inside the length: check the end here */
	d->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (d->root == NULL)
		return NS_GW_EJSON;
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len) {
		jdoc_free(d);
		return NS_GW_EJSON;
	}
	if ((rc = scan_numbers(text, len, d)) != 0 ||
	    (rc = collect_numbers(d->root, d, &idx)) != 0 || (rc = idx == d->n ? 0 : NS_GW_EJSON)) {
		jdoc_free(d);
		return rc;
	}
	if (d->n > 1)
		qsort(d->nums, d->n, sizeof *d->nums, jnum_cmp);
	return 0;
}

static const struct jnum *jdoc_num(const struct jdoc *d, const cJSON *node)
{
	struct jnum key = {node, NULL, 0};
	if (d->n == 0)
		return NULL;
	return bsearch(&key, d->nums, d->n, sizeof *d->nums, jnum_cmp);
}

/* Integer literal -> magnitude and sign; no fraction or exponent. */
static int int_literal(const struct jnum *j, int *neg, uint64_t *mag)
{
	size_t i = 0;
	uint64_t v = 0;
	if (j == NULL)
		return NS_GW_EFIELD_TYPE;
	*neg = j->text[0] == '-';
	i = (size_t)*neg;
	for (; i < j->len; i++) {
		uint64_t digit = (uint64_t)(j->text[i] - '0');
		if (!is_digit(j->text[i]))
			return NS_GW_EFIELD_TYPE;
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && digit > UINT64_MAX % 10))
			return NS_GW_EFIELD_TYPE;
		v = v * 10 + digit;
	}
	*mag = v;
	return 0;
}

static int node_u64(const struct jdoc *d, const cJSON *n, uint64_t max, uint64_t *out)
{
	int neg;
	uint64_t v;
	if (!cJSON_IsNumber(n) || int_literal(jdoc_num(d, n), &neg, &v) != 0 || neg || v > max)
		return NS_GW_EFIELD_TYPE;
	*out = v;
	return 0;
}

static int node_i64(const struct jdoc *d, const cJSON *n, int64_t *out)
{
	int neg;
	uint64_t v;
	if (!cJSON_IsNumber(n) || int_literal(jdoc_num(d, n), &neg, &v) != 0)
		return NS_GW_EFIELD_TYPE;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return NS_GW_EFIELD_TYPE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* ---- member access with error reporting ---- */
struct jctx {
	const struct jdoc *d;
	const cJSON *obj;
	const char **err_field;
};

static int jerr(const struct jctx *c, int rc, const char *field)
{
	if (c->err_field != NULL)
		*c->err_field = field;
	return rc;
}

/* Refuses a second occurrence of a member we read. */
static int member(const struct jctx *c, const char *name, const cJSON **out)
{
	const cJSON *it, *found = NULL;
	cJSON_ArrayForEach(it, c->obj) {
		if (it->string != NULL && strcmp(it->string, name) == 0) {
			if (found != NULL)
				return jerr(c, NS_GW_EDUP_FIELD, name);
			found = it;
		}
	}
	*out = found;
	return 0;
}

static int req_member(const struct jctx *c, const char *name, const cJSON **out)
{
	int rc = member(c, name, out);
	if (rc == 0 && *out == NULL)
		rc = jerr(c, NS_GW_EMISSING_FIELD, name);
	return rc;
}

static int get_opt_u8(const struct jctx *c, const char *name, int *has, uint8_t *v)
{
	const cJSON *n;
	uint64_t x;
	int rc = member(c, name, &n);
	*has = 0;
	*v = 0;
	if (rc != 0 || n == NULL || cJSON_IsNull(n))
		return rc;
	if (node_u64(c->d, n, 255, &x) != 0)
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	*has = 1;
	*v = (uint8_t)x;
	return 0;
}

static int get_u64(const struct jctx *c, const char *name, uint64_t max, uint64_t *v)
{
	const cJSON *n;
	int rc = req_member(c, name, &n);
	if (rc == 0 && node_u64(c->d, n, max, v) != 0)
		rc = jerr(c, NS_GW_EFIELD_TYPE, name);
	return rc;
}

static int get_i64(const struct jctx *c, const char *name, int64_t *v)
{
	const cJSON *n;
	int rc = req_member(c, name, &n);
	if (rc == 0 && node_i64(c->d, n, v) != 0)
		rc = jerr(c, NS_GW_EFIELD_TYPE, name);
	return rc;
}

static int get_bool(const struct jctx *c, const char *name, int *v)
{
	const cJSON *n;
	int rc = req_member(c, name, &n);
	if (rc != 0)
		return rc;
	if (!cJSON_IsBool(n))
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	*v = cJSON_IsTrue(n) ? 1 : 0;
	return 0;
}

static int get_string(const struct jctx *c, const char *name, char **v)
{
	const cJSON *n;
	int rc = req_member(c, name, &n);
	if (rc != 0)
		return rc;
	if (!cJSON_IsString(n) || n->valuestring == NULL)
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	if ((*v = strdup(n->valuestring)) == NULL)
		return NS_GW_ENOMEM;
	return 0;
}

/* serde Vec<u8>: a JSON array of integers 0..255. */
static int node_bytes(const struct jdoc *d, const cJSON *n, uint8_t *out, size_t cap, size_t *len)
{
	const cJSON *e;
	size_t i = 0;
	uint64_t v;
	if (!cJSON_IsArray(n))
		return NS_GW_EFIELD_TYPE;
	cJSON_ArrayForEach(e, n) {
		if (i >= cap || node_u64(d, e, 255, &v) != 0)
			return NS_GW_EFIELD_TYPE;
		out[i++] = (uint8_t)v;
	}
	*len = i;
	return 0;
}

static int get_buf(const struct jctx *c, const char *name, struct ns_gw_buf *b)
{
	const cJSON *n;
	int rc = req_member(c, name, &n);
	int count;
	if (rc != 0)
		return rc;
	if (!cJSON_IsArray(n))
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	count = cJSON_GetArraySize(n);
	b->len = 0;
	if (count > 0 && (b->data = malloc((size_t)count)) == NULL)
		return NS_GW_ENOMEM;
	if (node_bytes(c->d, n, b->data, (size_t)count, &b->len) != 0)
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	return 0;
}

static int get_fixed(const struct jctx *c, const char *name, uint8_t *out, size_t want)
{
	const cJSON *n;
	size_t got = 0;
	uint8_t tmp[64];
	int rc = req_member(c, name, &n);
	if (rc != 0)
		return rc;
	if (want > sizeof tmp || node_bytes(c->d, n, tmp, sizeof tmp, &got) != 0 || got != want)
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	memcpy(out, tmp, want);
	return 0;
}

static int get_base64(const struct jctx *c, const char *name, uint8_t *out, size_t cap,
                      size_t *len)
{
	const cJSON *n;
	long got;
	int rc = req_member(c, name, &n);
	if (rc != 0)
		return rc;
	if (!cJSON_IsString(n) || n->valuestring == NULL)
		return jerr(c, NS_GW_EFIELD_TYPE, name);
	got = ns_gw_base64_decode(n->valuestring, strlen(n->valuestring), out, cap);
	if (got == NS_GW_EARG)
		return jerr(c, NS_GW_EOVERSIZE, name);
	if (got < 0)
		return jerr(c, NS_GW_EBASE64, name);
	*len = (size_t)got;
	return 0;
}

/* Parses an internally tagged object; returns the index of its "type" in names[]. */
static int tagged_open(struct jdoc *d, struct jctx *c, const char *text, size_t len,
                       const char *const *names, size_t count, const char **err_field, size_t *which)
{
	const cJSON *t;
	int rc;
	c->d = d;
	c->err_field = err_field;
	if (err_field != NULL)
		*err_field = NULL;
	if ((rc = jdoc_parse(d, text, len)) != 0)
		return rc;
	c->obj = d->root;
	if (!cJSON_IsObject(d->root))
		return NS_GW_EJSON;
	if ((rc = req_member(c, "type", &t)) != 0)
		return rc;
	if (!cJSON_IsString(t))
		return jerr(c, NS_GW_EFIELD_TYPE, "type");
	for (size_t i = 0; i < count; i++) {
		if (names[i] != NULL && strcmp(t->valuestring, names[i]) == 0) {
			*which = i;
			return 0;
		}
	}
	return jerr(c, NS_GW_EUNKNOWN_TYPE, "type");
}

/* ======================= writer ======================= */
struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_raw(struct sb *s, const char *x, size_t n)
{
	if (s->oom)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 256;
		char *q;
		while (ncap < s->len + n + 1)
			ncap *= 2;
		if ((q = realloc(s->p, ncap)) == NULL) {
			s->oom = 1;
			return;
		}
		s->p = q;
		s->cap = ncap;
	}
	memcpy(s->p + s->len, x, n);
	s->len += n;
	s->p[s->len] = 0;
}

static void sb_lit(struct sb *s, const char *z) { sb_raw(s, z, strlen(z)); }

static void sb_fmt(struct sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sb *s, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof buf)
		sb_raw(s, buf, (size_t)n);
	else
		s->oom = 1;
}

/* A byte array as serde_json writes a Vec<u8>: [1,22,255]. Digits by hand: a handshake
 * message is hundreds of bytes, and an snprintf per byte was most of its encoding. */
static void sb_bytes(struct sb *s, const uint8_t *b, size_t n)
{
	char buf[256];
	size_t k = 0;
	sb_lit(s, "[");
	for (size_t i = 0; i < n; i++) {
		unsigned v = b[i];
		if (k > sizeof buf - 4) { /* room for ",255" */
			sb_raw(s, buf, k);
			k = 0;
		}
		if (i)
			buf[k++] = ',';
		if (v >= 100)
			buf[k++] = (char)('0' + v / 100);
		if (v >= 10)
			buf[k++] = (char)('0' + v / 10 % 10);
		buf[k++] = (char)('0' + v % 10);
	}
	sb_raw(s, buf, k);
	sb_lit(s, "]");
}

/* serde_json string escaping. */
static void sb_jstr(struct sb *s, const char *z)
{
	static const char hex[] = "0123456789abcdef";
	sb_lit(s, "\"");
	for (; z != NULL && *z; z++) {
		unsigned char c = (unsigned char)*z;
		char e[7] = "\\u00";
		switch (c) {
		case '"': sb_lit(s, "\\\""); break;
		case '\\': sb_lit(s, "\\\\"); break;
		case '\b': sb_lit(s, "\\b"); break;
		case '\f': sb_lit(s, "\\f"); break;
		case '\n': sb_lit(s, "\\n"); break;
		case '\r': sb_lit(s, "\\r"); break;
		case '\t': sb_lit(s, "\\t"); break;
		default:
			if (c < 0x20) {
				e[4] = hex[c >> 4];
				e[5] = hex[c & 15];
				sb_raw(s, e, 6);
			} else {
				sb_raw(s, (const char *)&c, 1);
			}
		}
	}
	sb_lit(s, "\"");
}

static void sb_opt_u8(struct sb *s, int has, uint8_t v)
{
	if (has)
		sb_fmt(s, "%u", v);
	else
		sb_lit(s, "null");
}

static void sb_b64(struct sb *s, const uint8_t *b, size_t n)
{
	char *t = malloc(ns_gw_base64_encoded_len(n) + 1);
	if (t == NULL) {
		s->oom = 1;
		return;
	}
	ns_gw_base64_encode(b, n, t);
	sb_lit(s, "\"");
	sb_lit(s, t);
	sb_lit(s, "\"");
	free(t);
}

static int sb_finish(struct sb *s, char **out, size_t *out_len)
{
	if (s->oom) {
		free(s->p);
		return NS_GW_ENOMEM;
	}
	*out = s->p;
	if (out_len != NULL)
		*out_len = s->len;
	return 0;
}

static void sb_type(struct sb *s, const char *type)
{
	sb_lit(s, "{\"type\":\"");
	sb_lit(s, type);
	sb_lit(s, "\"");
}

/* ======================= base64 ======================= */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ns_gw_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

void ns_gw_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i, o = 0;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64[in[i] >> 2];
		out[o++] = b64[(in[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = b64[v >> 10];
		out[o++] = b64[(v >> 4) & 63];
		out[o++] = b64[(v << 2) & 63];
		out[o++] = '=';
	}
	out[o] = 0;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

long ns_gw_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, pad = 0, want;
	if (n % 4 != 0)
		return NS_GW_EBASE64;
	if (n >= 1 && in[n - 1] == '=')
		pad = n >= 2 && in[n - 2] == '=' ? 2 : 1;
	want = n / 4 * 3 - pad;
	if (want > cap)
		return NS_GW_EARG;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t k, real = (i + 4 == n) ? 4 - pad : 4;
		for (k = 0; k < 4; k++) {
			v[k] = k < real ? b64_val(in[i + k]) : 0;
			if (v[k] < 0)
				return NS_GW_EBASE64;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		/* non-canonical trailing bits are refused, as the base64 crate does */
		if ((real == 2 && (w & 0xffff)) || (real == 3 && (w & 0xff)))
			return NS_GW_EBASE64;
		out[o++] = (uint8_t)(w >> 16);
		if (real > 2)
			out[o++] = (uint8_t)(w >> 8);
		if (real > 3)
			out[o++] = (uint8_t)w;
	}
	return (long)o;
}

/* ======================= ClientControlRequest ======================= */
static const char *const req_names[] = {
	NULL, "authenticate", "authenticateV2", "handshakePayload", "bandwidthCredential",
	"bandwidthCredentialV2", "ecashCredential", "claimFreeTestnetBandwidth", "encryptedRequest",
	"supportedProtocol", "registerHandshakeInitRequest",
};
#define REQ_ALIAS_INDEX 10

static int parse_auth_v2(const struct jctx *c, struct ns_gw_auth_v2 *a)
{
	uint64_t v;
	int rc;
	if ((rc = get_u64(c, "protocolVersion", 255, &v)) != 0)
		return rc;
	a->protocol_version = (uint8_t)v;
	if ((rc = get_fixed(c, "clientIdentity", a->client_identity, 32)) != 0 ||
	    (rc = get_base64(c, "addressCiphertext", a->address_ciphertext,
	                     sizeof a->address_ciphertext, &a->address_ciphertext_len)) != 0 ||
	    (rc = get_base64(c, "nonce", a->nonce, sizeof a->nonce, &a->nonce_len)) != 0 ||
	    (rc = get_u64(c, "requestUnixTimestamp", UINT64_MAX, &a->timestamp)) != 0)
		return rc;
	return get_fixed(c, "requestSignature", a->signature, 64);
}

static int parse_request_body(const struct jctx *c, struct ns_gw_request *r)
{
	int rc;
	switch (r->type) {
	case NS_GW_REQ_AUTHENTICATE:
		if ((rc = get_opt_u8(c, "protocol_version", &r->has_protocol, &r->protocol_version)) ||
		    (rc = get_string(c, "address", &r->address)) ||
		    (rc = get_string(c, "enc_address", &r->enc_address)))
			return rc;
		return get_string(c, "iv", &r->iv_b58);
	case NS_GW_REQ_AUTHENTICATE_V2:
		return parse_auth_v2(c, &r->auth);
	case NS_GW_REQ_HANDSHAKE_PAYLOAD:
		if ((rc = get_opt_u8(c, "protocol_version", &r->has_protocol, &r->protocol_version)))
			return rc;
		return get_buf(c, "data", &r->data);
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL:
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL_V2:
	case NS_GW_REQ_ECASH_CREDENTIAL:
		if ((rc = get_buf(c, "enc_credential", &r->enc_credential)))
			return rc;
		return get_buf(c, "iv", &r->iv);
	case NS_GW_REQ_ENCRYPTED:
		if ((rc = get_buf(c, "ciphertext", &r->ciphertext)))
			return rc;
		return get_buf(c, "nonce", &r->nonce);
	case NS_GW_REQ_CLAIM_FREE_BANDWIDTH:
	case NS_GW_REQ_SUPPORTED_PROTOCOL:
		return 0;
	}
	return NS_GW_EUNKNOWN_TYPE;
}

int ns_gw_request_parse(const char *text, size_t len, struct ns_gw_request *out,
                        const char **err_field)
{
	struct jdoc d;
	struct jctx c;
	size_t which = 0;
	int rc;
	memset(out, 0, sizeof *out);
	rc = tagged_open(&d, &c, text, len, req_names, sizeof req_names / sizeof *req_names,
	                 err_field, &which);
	if (rc == 0) {
		out->type = (enum ns_gw_req_type)(which == REQ_ALIAS_INDEX ? NS_GW_REQ_HANDSHAKE_PAYLOAD
		                                                           : which);
		rc = parse_request_body(&c, out);
	}
	jdoc_free(&d);
	if (rc != 0)
		ns_gw_request_free(out);
	return rc;
}

void ns_gw_request_free(struct ns_gw_request *r)
{
	free(r->address);
	free(r->enc_address);
	free(r->iv_b58);
	free(r->data.data);
	if (r->enc_credential.data != NULL)
		ns_memzero(r->enc_credential.data, r->enc_credential.len);
	free(r->enc_credential.data);
	free(r->iv.data);
	free(r->ciphertext.data);
	free(r->nonce.data);
	memset(r, 0, sizeof *r);
}

static void encode_auth_v2(struct sb *s, const struct ns_gw_auth_v2 *a)
{
	sb_fmt(s, ",\"protocolVersion\":%u,\"clientIdentity\":", a->protocol_version);
	sb_bytes(s, a->client_identity, 32);
	sb_lit(s, ",\"addressCiphertext\":");
	sb_b64(s, a->address_ciphertext, a->address_ciphertext_len);
	sb_lit(s, ",\"nonce\":");
	sb_b64(s, a->nonce, a->nonce_len);
	sb_fmt(s, ",\"requestUnixTimestamp\":%llu,\"requestSignature\":",
	       (unsigned long long)a->timestamp);
	sb_bytes(s, a->signature, 64);
}

static void sb_member_bytes(struct sb *s, const char *name, const struct ns_gw_buf *b)
{
	sb_lit(s, ",\"");
	sb_lit(s, name);
	sb_lit(s, "\":");
	sb_bytes(s, b->data, b->len);
}

int ns_gw_request_encode(const struct ns_gw_request *r, char **out, size_t *out_len)
{
	struct sb s = {0};
	if (r->type < NS_GW_REQ_AUTHENTICATE || r->type > NS_GW_REQ_SUPPORTED_PROTOCOL ||
	    (r->type == NS_GW_REQ_AUTHENTICATE_V2 &&
	     (r->auth.address_ciphertext_len > NS_GW_AUTH_CT_MAX ||
	      r->auth.nonce_len > NS_GW_AUTH_NONCE_MAX)))
		return NS_GW_EARG;
	sb_type(&s, req_names[r->type]);
	switch (r->type) {
	case NS_GW_REQ_AUTHENTICATE:
		sb_lit(&s, ",\"protocol_version\":");
		sb_opt_u8(&s, r->has_protocol, r->protocol_version);
		sb_lit(&s, ",\"address\":");
		sb_jstr(&s, r->address);
		sb_lit(&s, ",\"enc_address\":");
		sb_jstr(&s, r->enc_address);
		sb_lit(&s, ",\"iv\":");
		sb_jstr(&s, r->iv_b58);
		break;
	case NS_GW_REQ_AUTHENTICATE_V2:
		encode_auth_v2(&s, &r->auth);
		break;
	case NS_GW_REQ_HANDSHAKE_PAYLOAD:
		sb_lit(&s, ",\"protocol_version\":");
		sb_opt_u8(&s, r->has_protocol, r->protocol_version);
		sb_member_bytes(&s, "data", &r->data);
		break;
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL:
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL_V2:
	case NS_GW_REQ_ECASH_CREDENTIAL:
		sb_member_bytes(&s, "enc_credential", &r->enc_credential);
		sb_member_bytes(&s, "iv", &r->iv);
		break;
	case NS_GW_REQ_ENCRYPTED:
		sb_member_bytes(&s, "ciphertext", &r->ciphertext);
		sb_member_bytes(&s, "nonce", &r->nonce);
		break;
	case NS_GW_REQ_CLAIM_FREE_BANDWIDTH:
	case NS_GW_REQ_SUPPORTED_PROTOCOL:
		break;
	}
	sb_lit(&s, "}");
	return sb_finish(&s, out, out_len);
}

/* ======================= ServerResponse ======================= */
static const char *const resp_names[] = {
	NULL, "authenticate", "register", "encryptedResponse", "bandwidth", "send",
	"supportedProtocol", "error", "typedError",
};

static int parse_typed_error(const struct jctx *c, struct ns_gw_response *r)
{
	const cJSON *e, *inner;
	struct jctx ic = *c;
	int rc = req_member(c, "error", &e);
	if (rc != 0)
		return rc;
	if (cJSON_IsString(e) && strcmp(e->valuestring, "ticket_replay") == 0) {
		r->typed_error = NS_GW_TYPED_TICKET_REPLAY;
		return 0;
	}
	/* externally tagged: an object with exactly one member */
	if (!cJSON_IsObject(e) || e->child == NULL || e->child->next != NULL)
		return jerr(c, NS_GW_EFIELD_TYPE, "error");
	inner = e->child;
	if (strcmp(inner->string, "ticket_replay") == 0 && cJSON_IsNull(inner)) {
		r->typed_error = NS_GW_TYPED_TICKET_REPLAY;
		return 0;
	}
	if (strcmp(inner->string, "out_of_bandwidth") != 0 || !cJSON_IsObject(inner))
		return jerr(c, NS_GW_EFIELD_TYPE, "error");
	r->typed_error = NS_GW_TYPED_OUT_OF_BANDWIDTH;
	ic.obj = inner;
	if ((rc = get_i64(&ic, "required", &r->required)) != 0)
		return rc;
	return get_i64(&ic, "available", &r->available);
}

static int parse_response_body(const struct jctx *c, struct ns_gw_response *r)
{
	uint64_t v;
	int rc;
	switch (r->type) {
	case NS_GW_RESP_AUTHENTICATE:
	case NS_GW_RESP_REGISTER:
		if ((rc = get_opt_u8(c, "protocol_version", &r->has_protocol, &r->protocol_version)) ||
		    (rc = get_bool(c, "status", &r->status)))
			return rc;
		if (r->type == NS_GW_RESP_REGISTER)
			return 0;
		return get_i64(c, "bandwidth_remaining", &r->bandwidth);
	case NS_GW_RESP_ENCRYPTED:
		if ((rc = get_buf(c, "ciphertext", &r->ciphertext)))
			return rc;
		return get_buf(c, "nonce", &r->nonce);
	case NS_GW_RESP_BANDWIDTH:
		return get_i64(c, "available_total", &r->bandwidth);
	case NS_GW_RESP_SEND:
		return get_i64(c, "remaining_bandwidth", &r->bandwidth);
	case NS_GW_RESP_SUPPORTED_PROTOCOL:
		if ((rc = get_u64(c, "version", 255, &v)) == 0)
			r->version = (uint8_t)v;
		return rc;
	case NS_GW_RESP_ERROR:
		return get_string(c, "message", &r->message);
	case NS_GW_RESP_TYPED_ERROR:
		return parse_typed_error(c, r);
	}
	return NS_GW_EUNKNOWN_TYPE;
}

int ns_gw_response_parse(const char *text, size_t len, struct ns_gw_response *out,
                         const char **err_field)
{
	struct jdoc d;
	struct jctx c;
	size_t which = 0;
	int rc;
	memset(out, 0, sizeof *out);
	rc = tagged_open(&d, &c, text, len, resp_names, sizeof resp_names / sizeof *resp_names,
	                 err_field, &which);
	if (rc == 0) {
		out->type = (enum ns_gw_resp_type)which;
		rc = parse_response_body(&c, out);
	}
	jdoc_free(&d);
	if (rc != 0)
		ns_gw_response_free(out);
	return rc;
}

void ns_gw_response_free(struct ns_gw_response *r)
{
	free(r->ciphertext.data);
	free(r->nonce.data);
	free(r->message);
	memset(r, 0, sizeof *r);
}

int ns_gw_response_encode(const struct ns_gw_response *r, char **out, size_t *out_len)
{
	struct sb s = {0};
	if (r->type < NS_GW_RESP_AUTHENTICATE || r->type > NS_GW_RESP_TYPED_ERROR)
		return NS_GW_EARG;
	sb_type(&s, resp_names[r->type]);
	switch (r->type) {
	case NS_GW_RESP_AUTHENTICATE:
	case NS_GW_RESP_REGISTER:
		sb_lit(&s, ",\"protocol_version\":");
		sb_opt_u8(&s, r->has_protocol, r->protocol_version);
		sb_lit(&s, r->status ? ",\"status\":true" : ",\"status\":false");
		if (r->type == NS_GW_RESP_AUTHENTICATE)
			sb_fmt(&s, ",\"bandwidth_remaining\":%lld", (long long)r->bandwidth);
		break;
	case NS_GW_RESP_ENCRYPTED:
		sb_member_bytes(&s, "ciphertext", &r->ciphertext);
		sb_member_bytes(&s, "nonce", &r->nonce);
		break;
	case NS_GW_RESP_BANDWIDTH:
		sb_fmt(&s, ",\"available_total\":%lld", (long long)r->bandwidth);
		break;
	case NS_GW_RESP_SEND:
		sb_fmt(&s, ",\"remaining_bandwidth\":%lld", (long long)r->bandwidth);
		break;
	case NS_GW_RESP_SUPPORTED_PROTOCOL:
		sb_fmt(&s, ",\"version\":%u", r->version);
		break;
	case NS_GW_RESP_ERROR:
		sb_lit(&s, ",\"message\":");
		sb_jstr(&s, r->message);
		break;
	case NS_GW_RESP_TYPED_ERROR:
		if (r->typed_error == NS_GW_TYPED_TICKET_REPLAY)
			sb_lit(&s, ",\"error\":\"ticket_replay\"");
		else if (r->typed_error == NS_GW_TYPED_OUT_OF_BANDWIDTH) {
			sb_fmt(&s, ",\"error\":{\"out_of_bandwidth\":{\"required\":%lld,",
			       (long long)r->required);
			sb_fmt(&s, "\"available\":%lld}}", (long long)r->available);
		} else
			s.oom = 1;
		break;
	}
	sb_lit(&s, "}");
	if (s.oom && r->type == NS_GW_RESP_TYPED_ERROR) {
		free(s.p);
		return NS_GW_EARG;
	}
	return sb_finish(&s, out, out_len);
}

/* ======================= RegistrationHandshake ======================= */
static const char *const hs_names[] = {NULL, "handshakePayload", "handshakeError"};

int ns_gw_hs_msg_parse(const char *text, size_t len, struct ns_gw_hs_msg *out,
                       const char **err_field)
{
	struct jdoc d;
	struct jctx c;
	size_t which = 0;
	int rc;
	memset(out, 0, sizeof *out);
	rc = tagged_open(&d, &c, text, len, hs_names, 3, err_field, &which);
	if (rc == 0) {
		out->type = (enum ns_gw_hs_msg_type)which;
		if (out->type == NS_GW_HSMSG_PAYLOAD) {
			rc = get_opt_u8(&c, "protocol_version", &out->has_protocol,
			                &out->protocol_version);
			if (rc == 0)
				rc = get_buf(&c, "data", &out->data);
		} else {
			rc = get_string(&c, "message", &out->message);
		}
	}
	jdoc_free(&d);
	if (rc != 0)
		ns_gw_hs_msg_free(out);
	return rc;
}

void ns_gw_hs_msg_free(struct ns_gw_hs_msg *m)
{
	free(m->data.data);
	free(m->message);
	memset(m, 0, sizeof *m);
}

int ns_gw_hs_msg_encode(const struct ns_gw_hs_msg *m, char **out, size_t *out_len)
{
	struct sb s = {0};
	if (m->type != NS_GW_HSMSG_PAYLOAD && m->type != NS_GW_HSMSG_ERROR)
		return NS_GW_EARG;
	sb_type(&s, hs_names[m->type]);
	if (m->type == NS_GW_HSMSG_PAYLOAD) {
		sb_lit(&s, ",\"protocol_version\":");
		sb_opt_u8(&s, m->has_protocol, m->protocol_version);
		sb_member_bytes(&s, "data", &m->data);
	} else {
		sb_lit(&s, ",\"message\":");
		sb_jstr(&s, m->message);
	}
	sb_lit(&s, "}");
	return sb_finish(&s, out, out_len);
}

int ns_gw_hs_payload_encode(uint8_t protocol_version, const uint8_t *data, size_t len, char **out,
                            size_t *out_len)
{
	struct ns_gw_hs_msg m = {NS_GW_HSMSG_PAYLOAD, 1, protocol_version, {(uint8_t *)data, len},
	                         NULL};
	return ns_gw_hs_msg_encode(&m, out, out_len);
}

int ns_gw_hs_error_encode(const char *message, char **out, size_t *out_len)
{
	struct ns_gw_hs_msg m = {NS_GW_HSMSG_ERROR, 0, 0, {NULL, 0}, (char *)message};
	return ns_gw_hs_msg_encode(&m, out, out_len);
}

/* ======================= inner (encrypted) messages ======================= */
static const char *const inner_req_names[] = {NULL, "UpgradeKey", "ForgetMe", "RememberMe"};
static const char *const inner_resp_names[] = {NULL, "KeyUpgradeAck", "ForgetMeAck",
                                               "RememberMeAck"};
static const char *const session_names[] = {"Vpn", "Mixnet", "Wasm", "Native", "Socks5",
                                            "Unknown"};

/* Externally tagged: an object with exactly one member whose name is the variant. */
static int external_open(struct jdoc *d, struct jctx *c, const char *text, size_t len,
                         const char *const *names, size_t count, const char **err_field,
                         size_t *which)
{
	const cJSON *v;
	int rc;
	c->d = d;
	c->err_field = err_field;
	if (err_field != NULL)
		*err_field = NULL;
	if ((rc = jdoc_parse(d, text, len)) != 0)
		return rc;
	if (!cJSON_IsObject(d->root) || (v = d->root->child) == NULL || v->next != NULL)
		return NS_GW_EJSON;
	c->obj = v;
	for (size_t i = 1; i < count; i++) {
		if (strcmp(v->string, names[i]) == 0) {
			*which = i;
			return cJSON_IsObject(v) ? 0 : jerr(c, NS_GW_EFIELD_TYPE, names[i]);
		}
	}
	return jerr(c, NS_GW_EUNKNOWN_TYPE, "type");
}

static int parse_session(const struct jctx *c, enum ns_gw_session_type *t)
{
	const cJSON *n;
	int rc = req_member(c, "session_type", &n);
	if (rc != 0)
		return rc;
	for (size_t i = 0; cJSON_IsString(n) && i < 6; i++) {
		if (strcmp(n->valuestring, session_names[i]) == 0) {
			*t = (enum ns_gw_session_type)i;
			return 0;
		}
	}
	return jerr(c, NS_GW_EFIELD_TYPE, "session_type");
}

int ns_gw_inner_request_parse(const char *text, size_t len, struct ns_gw_inner_request *out,
                              const char **err_field)
{
	struct jdoc d;
	struct jctx c;
	size_t which = 0;
	int rc;
	memset(out, 0, sizeof *out);
	rc = external_open(&d, &c, text, len, inner_req_names, 4, err_field, &which);
	if (rc == 0) {
		out->type = (enum ns_gw_inner_req_type)which;
		if (out->type == NS_GW_INNER_UPGRADE_KEY) {
			rc = get_buf(&c, "hkdf_salt", &out->hkdf_salt);
			if (rc == 0)
				rc = get_buf(&c, "derived_key_digest", &out->derived_key_digest);
		} else if (out->type == NS_GW_INNER_FORGET_ME) {
			rc = get_bool(&c, "client", &out->client);
			if (rc == 0)
				rc = get_bool(&c, "stats", &out->stats);
		} else {
			rc = parse_session(&c, &out->session_type);
		}
	}
	jdoc_free(&d);
	if (rc != 0)
		ns_gw_inner_request_free(out);
	return rc;
}

void ns_gw_inner_request_free(struct ns_gw_inner_request *r)
{
	free(r->hkdf_salt.data);
	free(r->derived_key_digest.data);
	memset(r, 0, sizeof *r);
}

int ns_gw_inner_request_encode(const struct ns_gw_inner_request *r, char **out, size_t *out_len)
{
	struct sb s = {0};
	switch (r->type) {
	case NS_GW_INNER_UPGRADE_KEY:
		sb_lit(&s, "{\"UpgradeKey\":{\"hkdf_salt\":");
		sb_bytes(&s, r->hkdf_salt.data, r->hkdf_salt.len);
		sb_lit(&s, ",\"derived_key_digest\":");
		sb_bytes(&s, r->derived_key_digest.data, r->derived_key_digest.len);
		break;
	case NS_GW_INNER_FORGET_ME:
		sb_fmt(&s, "{\"ForgetMe\":{\"client\":%s,\"stats\":%s", r->client ? "true" : "false",
		       r->stats ? "true" : "false");
		break;
	case NS_GW_INNER_REMEMBER_ME:
		if ((unsigned)r->session_type > NS_GW_SESSION_UNKNOWN)
			return NS_GW_EARG;
		sb_lit(&s, "{\"RememberMe\":{\"session_type\":\"");
		sb_lit(&s, session_names[r->session_type]);
		sb_lit(&s, "\"");
		break;
	default:
		return NS_GW_EARG;
	}
	sb_lit(&s, "}}");
	return sb_finish(&s, out, out_len);
}

int ns_gw_inner_response_parse(const char *text, size_t len, enum ns_gw_inner_resp_type *out,
                               const char **err_field)
{
	struct jdoc d;
	struct jctx c;
	size_t which = 0;
	int rc = external_open(&d, &c, text, len, inner_resp_names, 4, err_field, &which);
	if (rc == 0)
		*out = (enum ns_gw_inner_resp_type)which;
	jdoc_free(&d);
	return rc;
}

int ns_gw_inner_response_encode(enum ns_gw_inner_resp_type t, char **out, size_t *out_len)
{
	struct sb s = {0};
	if (t < NS_GW_INNER_KEY_UPGRADE_ACK || t > NS_GW_INNER_REMEMBER_ME_ACK)
		return NS_GW_EARG;
	sb_lit(&s, "{\"");
	sb_lit(&s, inner_resp_names[t]);
	sb_lit(&s, "\":{}}");
	return sb_finish(&s, out, out_len);
}
