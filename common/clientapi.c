/* nym-client websocket API codec. The JSON side emulates serde_json 1.0.141 (default
 * features: no float_roundtrip, no arbitrary_precision) deserialising serde 1.0.219's
 * internally tagged enums, step by step, so that error texts and positions match. */
#include "clientapi.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

/* ------------------------------------------------------------------ */
/* growable string */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_reserve(struct sbuf *b, size_t extra)
{
	size_t want;
	char *np;

	if (b->oom)
		return;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return;
	}
	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	if (want < 64)
		want = 64;
	if (want < b->cap * 2)
		want = b->cap * 2;
	np = realloc(b->p, want);
	if (!np) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = want;
}

static void sb_add(struct sbuf *b, const void *s, size_t n)
{
	sb_reserve(b, n);
	if (b->oom)
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_ch(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = 1;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ */
/* errors */

const char *capi_error_kind_text(uint8_t kind)
{
	switch (kind) {
	case CAPI_EMPTY_REQUEST: return "received request contained no data";
	case CAPI_TOO_SHORT_REQUEST: return "received request did not contain enough data";
	case CAPI_UNKNOWN_REQUEST: return "unknown request type";
	case CAPI_MALFORMED_REQUEST: return "malformed request";
	case CAPI_EMPTY_RESPONSE: return "received response contained no data";
	case CAPI_TOO_SHORT_RESPONSE: return "received response did not contain enough data";
	case CAPI_UNKNOWN_RESPONSE: return "unknown response type";
	case CAPI_MALFORMED_RESPONSE: return "malformed response";
	default: return "other";
	}
}

static int kind_is_known(uint8_t k)
{
	return (k >= 1 && k <= 4) || (k >= 0x80 && k <= 0x83) || k == 0xFF;
}

int capi_error_set(struct capi_error *err, uint8_t kind, const char *msg, size_t len)
{
	char *m = malloc(len + 1);

	if (!m)
		return CAPI_ERR_NOMEM;
	if (len)
		memcpy(m, msg, len);
	m[len] = '\0';
	free(err->message);
	err->kind = kind;
	err->message = m;
	err->message_len = len;
	return 0;
}

void capi_error_free(struct capi_error *err)
{
	if (!err)
		return;
	free(err->message);
	memset(err, 0, sizeof *err);
}

static int fail(struct capi_error *err, uint8_t kind, const char *msg)
{
	if (capi_error_set(err, kind, msg, strlen(msg)))
		return CAPI_ERR_NOMEM;
	return CAPI_ERR;
}

/* takes ownership of b */
static int fail_sb(struct capi_error *err, uint8_t kind, struct sbuf *b)
{
	int rc;

	if (b->oom) {
		sb_free(b);
		return CAPI_ERR_NOMEM;
	}
	rc = capi_error_set(err, kind, b->p ? b->p : "", b->len);
	sb_free(b);
	return rc ? CAPI_ERR_NOMEM : CAPI_ERR;
}

void capi_request_free(struct capi_request *req)
{
	if (!req)
		return;
	free(req->message);
	req->message = NULL;
	req->message_len = 0;
}

void capi_response_free(struct capi_response *resp)
{
	if (!resp)
		return;
	free(resp->message);
	resp->message = NULL;
	resp->message_len = 0;
	capi_error_free(&resp->error);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* ------------------------------------------------------------------ */
/* UTF-8 */

/* Length of the valid UTF-8 sequence at s (Rust's rules), or 0 if invalid. On invalid,
 * *bad_len receives the length of the maximal invalid prefix as Utf8Chunks computes it. */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad_len)
{
	uint8_t b = s[0], c1 = n > 1 ? s[1] : 0;
	size_t w;

	*bad_len = 1;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		w = 2;
	else if (b >= 0xE0 && b <= 0xEF)
		w = 3;
	else if (b >= 0xF0 && b <= 0xF4)
		w = 4;
	else
		return 0;
	if (n < 2)
		return 0;
	if (w == 2)
		return (c1 & 0xC0) == 0x80 ? 2 : 0;
	if (w == 3) {
		int ok = (b == 0xE0 && c1 >= 0xA0 && c1 <= 0xBF) ||
		         (b >= 0xE1 && b <= 0xEC && c1 >= 0x80 && c1 <= 0xBF) ||
		         (b == 0xED && c1 >= 0x80 && c1 <= 0x9F) ||
		         (b >= 0xEE && c1 >= 0x80 && c1 <= 0xBF);
		if (!ok)
			return 0;
		*bad_len = 2;
		if (n < 3 || (s[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	{
		int ok = (b == 0xF0 && c1 >= 0x90 && c1 <= 0xBF) ||
		         (b >= 0xF1 && b <= 0xF3 && c1 >= 0x80 && c1 <= 0xBF) ||
		         (b == 0xF4 && c1 >= 0x80 && c1 <= 0x8F);
		if (!ok)
			return 0;
		*bad_len = 2;
		if (n < 3 || (s[2] & 0xC0) != 0x80)
			return 0;
		*bad_len = 3;
		if (n < 4 || (s[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
}

int capi_utf8_valid(const uint8_t *in, size_t len)
{
	size_t i = 0, bad;

	while (i < len) {
		size_t w = utf8_seq(in + i, len - i, &bad);
		if (!w)
			return 0;
		i += w;
	}
	return 1;
}

char *capi_utf8_lossy(const uint8_t *in, size_t len, size_t *out_len)
{
	struct sbuf b = {0};
	size_t i = 0, bad;

	sb_reserve(&b, len);
	while (i < len) {
		size_t w = utf8_seq(in + i, len - i, &bad);
		if (w) {
			sb_add(&b, in + i, w);
			i += w;
		} else {
			sb_add(&b, "\xEF\xBF\xBD", 3);
			i += bad;
		}
	}
	if (!b.p)
		sb_add(&b, "", 0);
	if (b.oom) {
		sb_free(&b);
		return NULL;
	}
	if (out_len)
		*out_len = b.len;
	return b.p;
}

static uint32_t utf8_decode_one(const uint8_t *s, size_t w)
{
	switch (w) {
	case 1: return s[0];
	case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
	case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
	default:
		return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
		       ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
	}
}

/* Rust char::escape_debug needs: non-printable / grapheme-extend code points. This covers
 * controls and the common format and combining ranges; exotic unassigned code points are
 * printed raw (documented approximation). */
static int rust_debug_escapes(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0xAD ||
	       (c >= 0x300 && c <= 0x36F) || (c >= 0x200B && c <= 0x200F) ||
	       (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF ||
	       (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFFF9 && c <= 0xFFFB) ||
	       (c >= 0xE0000 && c <= 0xE0FFF);
}

/* Rust's <str as Debug>: quoted, escaped. Input is valid UTF-8. */
static void sb_rust_debug_str(struct sbuf *b, const uint8_t *s, size_t n)
{
	size_t i = 0, bad;

	sb_ch(b, '"');
	while (i < n) {
		size_t w = utf8_seq(s + i, n - i, &bad);
		uint32_t c;

		if (!w)
			w = 1;
		c = utf8_decode_one(s + i, w);
		switch (c) {
		case '\t': sb_str(b, "\\t"); break;
		case '\r': sb_str(b, "\\r"); break;
		case '\n': sb_str(b, "\\n"); break;
		case '\\': sb_str(b, "\\\\"); break;
		case '"': sb_str(b, "\\\""); break;
		case 0: sb_str(b, "\\0"); break;
		default:
			if (rust_debug_escapes(c))
				sb_fmt(b, "\\u{%" PRIx32 "}", c);
			else
				sb_add(b, s + i, w);
		}
		i += w;
	}
	sb_ch(b, '"');
}

/* Rust's <char as Debug> for an ASCII byte (bs58 only reports ASCII characters). */
static void sb_rust_debug_ascii_char(struct sbuf *b, uint8_t c)
{
	sb_ch(b, '\'');
	switch (c) {
	case '\t': sb_str(b, "\\t"); break;
	case '\r': sb_str(b, "\\r"); break;
	case '\n': sb_str(b, "\\n"); break;
	case '\\': sb_str(b, "\\\\"); break;
	case '\'': sb_str(b, "\\'"); break;
	case 0: sb_str(b, "\\0"); break;
	default:
		if (c < 0x20 || c == 0x7F)
			sb_fmt(b, "\\u{%x}", c);
		else
			sb_ch(b, (char)c);
	}
	sb_ch(b, '\'');
}

/* ------------------------------------------------------------------ */
/* ryu-style shortest float formatting (serde_json's JsonUnexpected::Float) */

static void sb_ryu_f64(struct sbuf *b, double v)
{
	char tmp[48], digits[20];
	int p, e10, L = 0, kk, k;
	const char *q;

	if (v == 0) {
		sb_str(b, signbit(v) ? "-0.0" : "0.0");
		return;
	}
	if (!isfinite(v)) {
		sb_str(b, isnan(v) ? "NaN" : (v < 0 ? "-inf" : "inf"));
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	q = tmp;
	if (*q == '-') {
		sb_ch(b, '-');
		q++;
	}
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			digits[L++] = *q;
	e10 = atoi(q + 1);
	while (L > 1 && digits[L - 1] == '0')
		L--;
	digits[L] = '\0';
	k = e10 - (L - 1);
	kk = L + k;
	if (k >= 0 && kk <= 16) {
		sb_add(b, digits, (size_t)L);
		for (int i = L; i < kk; i++)
			sb_ch(b, '0');
		sb_str(b, ".0");
	} else if (kk > 0 && kk <= 16) {
		sb_add(b, digits, (size_t)kk);
		sb_ch(b, '.');
		sb_add(b, digits + kk, (size_t)(L - kk));
	} else if (kk > -5 && kk <= 0) {
		sb_str(b, "0.");
		for (int i = 0; i < -kk; i++)
			sb_ch(b, '0');
		sb_add(b, digits, (size_t)L);
	} else if (L == 1) {
		sb_fmt(b, "%ce%d", digits[0], kk - 1);
	} else {
		sb_fmt(b, "%c.%se%d", digits[0], digits + 1, kk - 1);
	}
}

/* ------------------------------------------------------------------ */
/* base58 with bs58 0.5.1 error reporting */

static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int b58_val(uint8_t c)
{
	const char *p = c ? strchr(B58, c) : NULL;

	return p ? (int)(p - B58) : -1;
}

/* Part longer than this: the decoded length is estimated instead of decoded (quadratic). */
#define B58_EXACT_MAX 4096

/* Decodes s[0..n) into out (cap >= n). Returns the decoded length, or -1 with the bs58
 * error text appended to e. */
static long b58_decode_nym(const uint8_t *s, size_t n, uint8_t *out, size_t cap, struct sbuf *e)
{
	size_t len = 0, ones = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] > 127) {
			sb_fmt(e, "provided string contained non-ascii character starting at byte %zu", i);
			return -1;
		}
		if (b58_val(s[i]) < 0) {
			sb_str(e, "provided string contained invalid character ");
			sb_rust_debug_ascii_char(e, s[i]);
			sb_fmt(e, " at byte %zu", i);
			return -1;
		}
	}
	while (ones < n && s[ones] == '1')
		ones++;
	if (n > B58_EXACT_MAX || !out) {
		/* length = leading ones + bytes of the value of the rest */
		double lg = 0;
		size_t rest = n - ones, k;
		if (rest == 0)
			return (long)ones;
		for (k = ones; k < n && k < ones + 15; k++)
			lg = lg * 58 + b58_val(s[k]);
		lg = log(lg) + (double)(n - k) * log(58.0);
		return (long)(ones + (size_t)floor(lg / log(256.0) + 1e-12) + 1);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned val = (unsigned)b58_val(s[i]);
		for (size_t j = 0; j < len; j++) {
			val += (unsigned)out[j] * 58;
			out[j] = (uint8_t)val;
			val >>= 8;
		}
		while (val > 0) {
			if (len >= cap)
				return -1;
			out[len++] = (uint8_t)val;
			val >>= 8;
		}
	}
	for (size_t i = 0; i < ones; i++) {
		if (len >= cap)
			return -1;
		out[len++] = 0;
	}
	for (size_t i = 0; i < len / 2; i++) {
		uint8_t t = out[i];
		out[i] = out[len - 1 - i];
		out[len - 1 - i] = t;
	}
	return (long)len;
}

enum key_kind { KEY_ED25519, KEY_X25519 };

/* ed25519 / x25519 PublicKey::from_base58_string with Nym's error texts. */
static int key_from_b58(const uint8_t *s, size_t n, enum key_kind kind, uint8_t key[32],
                        struct sbuf *e)
{
	uint8_t *buf = malloc(n ? (n > B58_EXACT_MAX ? 1 : n) : 1);
	long got;
	int rc = -1;

	if (!buf) {
		e->oom = 1;
		return -1;
	}
	{
		struct sbuf be = {0};
		got = b58_decode_nym(s, n, n > B58_EXACT_MAX ? NULL : buf, n, &be);
		if (got < 0) {
			sb_str(e, "the base58 representation of the public key was malformed - ");
			sb_add(e, be.p ? be.p : "", be.len);
			if (be.oom)
				e->oom = 1;
			sb_free(&be);
			goto out;
		}
		sb_free(&be);
	}
	if (got != 32) {
		if (kind == KEY_ED25519)
			sb_str(e, "could not convert slice to array");
		else
			sb_fmt(e, "received public key of invalid size. Got: %ld, expected: 32", got);
		goto out;
	}
	memcpy(key, buf, 32);
	if (kind == KEY_ED25519 && !nym_ed25519_pk_decompresses(key)) {
		sb_str(e, "signature error: Cannot decompress Edwards point");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static size_t count_byte(const uint8_t *s, size_t n, uint8_t c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

/* Recipient::try_from_base58_string; on error appends the RecipientFormattingError text. */
static int recipient_from_text(const uint8_t *s, size_t n, struct nym_recipient *r,
                               struct sbuf *e)
{
	const uint8_t *at, *dot;

	if (count_byte(s, n, '@') != 1) {
		sb_str(e, "recipient is malformed - the string address does not contain exactly a "
		          "single '@' character ");
		return -1;
	}
	at = memchr(s, '@', n);
	if (count_byte(s, (size_t)(at - s), '.') != 1) {
		sb_str(e, "recipient is malformed - the string address does not contain exactly a "
		          "single '.' character ");
		return -1;
	}
	dot = memchr(s, '.', (size_t)(at - s));
	sb_str(e, "recipient's identity key is malformed: ");
	if (key_from_b58(s, (size_t)(dot - s), KEY_ED25519, r->identity, e))
		return -1;
	e->len = 0;
	sb_str(e, "recipient's encryption key is malformed: ");
	if (key_from_b58(dot + 1, (size_t)(at - dot - 1), KEY_X25519, r->encryption_key, e))
		return -1;
	e->len = 0;
	sb_str(e, "recipient gateway's identity key is malformed: ");
	if (key_from_b58(at + 1, n - (size_t)(at - s) - 1, KEY_ED25519, r->gateway, e))
		return -1;
	e->len = 0;
	if (e->p)
		e->p[0] = '\0';
	return 0;
}

/* AnonymousSenderTag::try_from_base58_string */
static int sender_tag_from_text(const uint8_t *s, size_t n, uint8_t tag[16], struct sbuf *e)
{
	uint8_t *buf = malloc(n ? (n > B58_EXACT_MAX ? 1 : n) : 1);
	struct sbuf be = {0};
	long got;
	int rc = -1;

	if (!buf) {
		e->oom = 1;
		return -1;
	}
	got = b58_decode_nym(s, n, n > B58_EXACT_MAX ? NULL : buf, n, &be);
	if (got < 0) {
		sb_str(e, "Failed to decode the base58-encoded string - ");
		sb_add(e, be.p ? be.p : "", be.len);
	} else if (got != NYM_SENDER_TAG_LEN) {
		sb_fmt(e, "Decoded AnonymousSenderTag has invalid length. Expected 16, but got %ld",
		       got);
	} else {
		memcpy(tag, buf, 16);
		rc = 0;
	}
	if (be.oom)
		e->oom = 1;
	sb_free(&be);
	free(buf);
	return rc;
}

/* Recipient::try_from_bytes error text (binary requests). */
static int recipient_from_bytes_text(const uint8_t in[96], struct nym_recipient *r,
                                     struct sbuf *e)
{
	if (!nym_ed25519_pk_decompresses(in)) {
		sb_str(e, "recipient's identity key is malformed: signature error: Cannot decompress "
		          "Edwards point");
		return -1;
	}
	if (!nym_ed25519_pk_decompresses(in + 64)) {
		sb_str(e, "recipient gateway's identity key is malformed: signature error: Cannot "
		          "decompress Edwards point");
		return -1;
	}
	memcpy(r->identity, in, 32);
	memcpy(r->encryption_key, in + 32, 32);
	memcpy(r->gateway, in + 64, 32);
	return 0;
}

/* ------------------------------------------------------------------ */
/* binary requests (requests.rs) */

static int bin_send(const uint8_t *b, size_t n, struct capi_request *req, struct capi_error *err,
                    int anonymous)
{
	size_t off = anonymous ? 5 : 1;
	struct nym_recipient r;
	struct sbuf e = {0};
	uint64_t conn, dlen;

	if (n < off + 96 + 16)
		return fail(err, CAPI_TOO_SHORT_REQUEST,
		            anonymous ? "not enough data provided to recover 'send_anonymous'"
		                      : "not enough data provided to recover 'send'");
	if (recipient_from_bytes_text(b + off, &r, &e)) {
		struct sbuf m = {0};
		sb_str(&m, "malformed recipient: ");
		sb_add(&m, e.p, e.len);
		sb_free(&e);
		return fail_sb(err, CAPI_MALFORMED_REQUEST, &m);
	}
	conn = ns_get_be64(b + off + 96);
	dlen = ns_get_be64(b + off + 104);
	if (dlen != n - off - 112) {
		sb_fmt(&e, "data len has inconsistent length. specified: %" PRIu64 " got: %zu", dlen,
		       n - off - 112);
		return fail_sb(err, CAPI_MALFORMED_REQUEST, &e);
	}
	memset(req, 0, sizeof *req);
	req->message = dup_bytes(b + off + 112, n - off - 112);
	if (!req->message)
		return CAPI_ERR_NOMEM;
	req->type = anonymous ? CAPI_REQ_SEND_ANONYMOUS : CAPI_REQ_SEND;
	req->message_len = n - off - 112;
	req->recipient = r;
	req->reply_surbs = anonymous ? ns_get_be32(b + 1) : 0;
	req->has_connection_id = conn != 0;
	req->connection_id = conn;
	return CAPI_OK;
}

static int bin_reply(const uint8_t *b, size_t n, struct capi_request *req, struct capi_error *err)
{
	struct sbuf e = {0};
	uint64_t conn, mlen;

	if (n < 1 + 16 + 16)
		return fail(err, CAPI_TOO_SHORT_REQUEST, "not enough data provided to recover 'reply'");
	conn = ns_get_be64(b + 17);
	mlen = ns_get_be64(b + 25);
	if (mlen != n - 33) {
		sb_fmt(&e, "message len has inconsistent length. specified: %" PRIu64 " got: %zu",
		       mlen, n - 33);
		return fail_sb(err, CAPI_MALFORMED_REQUEST, &e);
	}
	memset(req, 0, sizeof *req);
	req->message = dup_bytes(b + 33, n - 33);
	if (!req->message)
		return CAPI_ERR_NOMEM;
	req->type = CAPI_REQ_REPLY;
	req->message_len = n - 33;
	memcpy(req->sender_tag, b + 1, 16);
	req->has_connection_id = conn != 0;
	req->connection_id = conn;
	return CAPI_OK;
}

int capi_request_from_binary(const uint8_t *in, size_t len, struct capi_request *req,
                             struct capi_error *err)
{
	if (!req || !err || (!in && len))
		return CAPI_ERR_ARG;
	if (len == 0)
		return fail(err, CAPI_EMPTY_REQUEST, "no data provided");
	switch (in[0]) {
	case 0x00: return bin_send(in, len, req, err, 0);
	case 0x01: return bin_send(in, len, req, err, 1);
	case 0x02: return bin_reply(in, len, req, err);
	case 0x03:
		memset(req, 0, sizeof *req);
		req->type = CAPI_REQ_SELF_ADDRESS;
		return CAPI_OK;
	case 0x04:
	case 0x05:
		if (len != 9)
			return fail(err, CAPI_MALFORMED_REQUEST,
			            in[0] == 4 ? "The received closed connection has invalid length"
			                       : "The received get lane queue lengths has invalid length");
		memset(req, 0, sizeof *req);
		req->type = in[0] == 4 ? CAPI_REQ_CLOSED_CONNECTION : CAPI_REQ_GET_LANE_QUEUE_LENGTH;
		req->connection_id = ns_get_be64(in + 1);
		return CAPI_OK;
	default: {
		struct sbuf e = {0};
		sb_fmt(&e, "%u does not correspond to any valid request tag", in[0]);
		return fail_sb(err, CAPI_UNKNOWN_REQUEST, &e);
	}
	}
}

uint8_t *capi_request_to_binary(const struct capi_request *req, size_t *len)
{
	size_t n, off;
	uint8_t *o;

	if (!req || !len || (req->message_len && !req->message))
		return NULL;
	switch (req->type) {
	case CAPI_REQ_SEND:
	case CAPI_REQ_SEND_ANONYMOUS:
		off = req->type == CAPI_REQ_SEND ? 1 : 5;
		if (req->message_len > SIZE_MAX - 200)
			return NULL;
		n = off + 112 + req->message_len;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = (uint8_t)req->type;
		if (off == 5)
			ns_put_be32(o + 1, req->reply_surbs);
		nym_recipient_to_bytes(&req->recipient, o + off);
		ns_put_be64(o + off + 96, req->has_connection_id ? req->connection_id : 0);
		ns_put_be64(o + off + 104, req->message_len);
		if (req->message_len)
			memcpy(o + off + 112, req->message, req->message_len);
		break;
	case CAPI_REQ_REPLY:
		if (req->message_len > SIZE_MAX - 64)
			return NULL;
		n = 33 + req->message_len;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = 2;
		memcpy(o + 1, req->sender_tag, 16);
		ns_put_be64(o + 17, req->has_connection_id ? req->connection_id : 0);
		ns_put_be64(o + 25, req->message_len);
		if (req->message_len)
			memcpy(o + 33, req->message, req->message_len);
		break;
	case CAPI_REQ_SELF_ADDRESS:
		n = 1;
		if (!(o = malloc(1)))
			return NULL;
		o[0] = 3;
		break;
	case CAPI_REQ_CLOSED_CONNECTION:
	case CAPI_REQ_GET_LANE_QUEUE_LENGTH:
		n = 9;
		if (!(o = malloc(9)))
			return NULL;
		o[0] = (uint8_t)req->type;
		ns_put_be64(o + 1, req->connection_id);
		break;
	default:
		return NULL;
	}
	*len = n;
	return o;
}

/* ------------------------------------------------------------------ */
/* serde_json emulation */

enum vkind { V_NULL, V_BOOL, V_U64, V_I64, V_F64, V_STR, V_SEQ, V_MAP };

struct jval {
	enum vkind k;
	int b;
	uint64_t u;
	int64_t i;
	double f;
	size_t s_off, s_end; /* raw string body (between the quotes) */
};

enum fkind { F_STRING, F_U32, F_U64, F_USIZE, F_OPT_U64, F_OPT_STRING };

struct field_spec {
	const char *name;
	enum fkind kind;
};

struct variant_spec {
	const char *tag;
	const char *rust_name;
	const struct field_spec *fields;
	size_t nfields; /* 0 = unit variant */
};

struct enum_spec {
	const char *rust_name;
	const struct variant_spec *variants;
	size_t nvariants;
};

#define MAX_NAMES 8
#define MAX_FIELDS 4
#define MAX_ENTRIES (2 * MAX_NAMES)

struct entry {
	int name;
	struct jval v;
};

struct jp {
	const uint8_t *s;
	size_t len, i;
	int depth; /* serde_json remaining_depth */
	const struct enum_spec *spec;
	const char *names[MAX_NAMES];
	int nnames;
	/* error */
	int failed, has_pos, oom;
	size_t line, col;
	struct sbuf msg;
	/* result of the tag scan */
	int variant;      /* -1 unknown */
	int seq_form;
	struct entry ent[MAX_ENTRIES];
	int nent;
	int name_count[MAX_NAMES];
	struct jval elem[MAX_FIELDS];
	size_t nelem; /* elements after the tag (seq form) */
};

static void pos_of(const struct jp *p, size_t idx, size_t *line, size_t *col)
{
	size_t start = 0, l = 1;

	for (size_t k = 0; k < idx; k++)
		if (p->s[k] == '\n')
			start = k + 1;
	for (size_t k = 0; k < start; k++)
		l += p->s[k] == '\n';
	*line = l;
	*col = idx - start;
}

/* syntax error at position(index) */
static int syn_at(struct jp *p, size_t idx, const char *code)
{
	p->failed = 1;
	p->has_pos = 1;
	pos_of(p, idx, &p->line, &p->col);
	p->msg.len = 0;
	sb_str(&p->msg, code);
	return -1;
}

static int syn(struct jp *p, const char *code)
{
	return syn_at(p, p->i, code);
}

static int syn_peek(struct jp *p, const char *code)
{
	return syn_at(p, p->i + 1 < p->len ? p->i + 1 : p->len, code);
}

/* custom (positionless) error; the message is built by the caller into p->msg */
static int custom(struct jp *p)
{
	p->failed = 1;
	p->has_pos = 0;
	return -1;
}

static void fix_position(struct jp *p)
{
	if (p->failed && !p->has_pos) {
		p->has_pos = 1;
		pos_of(p, p->i, &p->line, &p->col);
	}
}

static int peek(const struct jp *p)
{
	return p->i < p->len ? p->s[p->i] : -1;
}

static int ws(struct jp *p)
{
	while (p->i < p->len) {
		uint8_t c = p->s[p->i];
		if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
			return c;
		p->i++;
	}
	return -1;
}

static int parse_ident(struct jp *p, const char *rest)
{
	for (; *rest; rest++) {
		if (p->i >= p->len)
			return syn(p, "EOF while parsing a value");
		if (p->s[p->i++] != (uint8_t)*rest)
			return syn(p, "expected ident");
	}
	return 0;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(struct jp *p, unsigned *out)
{
	int v = 0;

	if (p->len - p->i < 4) {
		p->i = p->len;
		return syn(p, "EOF while parsing a string");
	}
	for (int k = 0; k < 4; k++) {
		int h = hexval(p->s[p->i + (size_t)k]);
		if (h < 0)
			v = -1;
		else if (v >= 0)
			v = v * 16 + h;
	}
	p->i += 4;
	if (v < 0)
		return syn(p, "invalid escape");
	*out = (unsigned)v;
	return 0;
}

static int parse_unicode_escape(struct jp *p)
{
	unsigned n, n2;

	if (hex4(p, &n))
		return -1;
	if (n >= 0xDC00 && n <= 0xDFFF)
		return syn(p, "lone leading surrogate in hex escape");
	if (n < 0xD800 || n > 0xDBFF)
		return 0;
	if (p->i >= p->len)
		return syn(p, "EOF while parsing a string");
	if (p->s[p->i] != '\\') {
		p->i++;
		return syn(p, "unexpected end of hex escape");
	}
	p->i++;
	if (p->i >= p->len)
		return syn(p, "EOF while parsing a string");
	if (p->s[p->i] != 'u') {
		p->i++;
		return syn(p, "unexpected end of hex escape");
	}
	p->i++;
	if (hex4(p, &n2))
		return -1;
	if (n2 < 0xDC00 || n2 > 0xDFFF)
		return syn(p, "lone leading surrogate in hex escape");
	return 0;
}

/* After the opening quote. Validates; records the raw body span. */
static int parse_str(struct jp *p, size_t *off, size_t *end)
{
	*off = p->i;
	for (;;) {
		uint8_t c;
		while (p->i < p->len && p->s[p->i] != '"' && p->s[p->i] != '\\' && p->s[p->i] >= 0x20)
			p->i++;
		if (p->i >= p->len)
			return syn(p, "EOF while parsing a string");
		c = p->s[p->i];
		if (c == '"') {
			*end = p->i++;
			return 0;
		}
		p->i++;
		if (c != '\\')
			return syn(p, "control character (\\u0000-\\u001F) found while parsing a string");
		if (p->i >= p->len)
			return syn(p, "EOF while parsing a string");
		c = p->s[p->i++];
		if (c == 'u') {
			if (parse_unicode_escape(p))
				return -1;
		} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
			return syn(p, "invalid escape");
		}
	}
}

static void put_utf8(struct sbuf *b, uint32_t c)
{
	char t[4];

	if (c < 0x80) {
		t[0] = (char)c;
		sb_add(b, t, 1);
	} else if (c < 0x800) {
		t[0] = (char)(0xC0 | (c >> 6));
		t[1] = (char)(0x80 | (c & 0x3F));
		sb_add(b, t, 2);
	} else if (c < 0x10000) {
		t[0] = (char)(0xE0 | (c >> 12));
		t[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		t[2] = (char)(0x80 | (c & 0x3F));
		sb_add(b, t, 3);
	} else {
		t[0] = (char)(0xF0 | (c >> 18));
		t[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		t[3] = (char)(0x80 | (c & 0x3F));
		sb_add(b, t, 4);
	}
}

static unsigned hex4_raw(const uint8_t *s)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++)
		v = v * 16 + (unsigned)hexval(s[k]);
	return v;
}

/* Decodes an already-validated string body. */
static void decode_str(const uint8_t *s, size_t n, struct sbuf *b)
{
	size_t i = 0;

	sb_reserve(b, n);
	while (i < n) {
		size_t st = i;
		while (i < n && s[i] != '\\')
			i++;
		sb_add(b, s + st, i - st);
		if (i >= n)
			break;
		i++;
		switch (s[i++]) {
		case 'b': sb_ch(b, '\b'); break;
		case 'f': sb_ch(b, '\f'); break;
		case 'n': sb_ch(b, '\n'); break;
		case 'r': sb_ch(b, '\r'); break;
		case 't': sb_ch(b, '\t'); break;
		case 'u': {
			uint32_t c = hex4_raw(s + i);
			i += 4;
			if (c >= 0xD800 && c <= 0xDBFF) {
				uint32_t c2 = hex4_raw(s + i + 2);
				i += 6;
				c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
			}
			put_utf8(b, c);
			break;
		}
		default: sb_ch(b, (char)s[i - 1]);
		}
	}
	if (!b->p)
		sb_add(b, "", 0);
}

static const double *pow10_table(void)
{
	static double t[309];
	static int ready;

	if (!ready) {
		char buf[16];
		for (int k = 0; k < 309; k++) {
			snprintf(buf, sizeof buf, "1e%d", k);
			t[k] = strtod(buf, NULL);
		}
		ready = 1;
	}
	return t;
}

static int f64_from_parts(struct jp *p, int positive, uint64_t sig, int32_t exp, double *out)
{
	const double *pw = pow10_table();
	double f = (double)sig;

	for (;;) {
		uint32_t a = exp < 0 ? (uint32_t)0 - (uint32_t)exp : (uint32_t)exp;
		if (a < 309) {
			if (exp >= 0) {
				f *= pw[a];
				if (isinf(f))
					return syn(p, "number out of range");
			} else {
				f /= pw[a];
			}
			break;
		}
		if (f == 0)
			break;
		if (exp >= 0)
			return syn(p, "number out of range");
		f /= 1e308;
		exp += 308;
	}
	*out = positive ? f : -f;
	return 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int parse_exponent(struct jp *p, int positive, uint64_t sig, int32_t start, double *out)
{
	int pos_exp = 1;
	int32_t e;
	int c;

	p->i++;
	c = peek(p);
	if (c == '+') {
		p->i++;
	} else if (c == '-') {
		p->i++;
		pos_exp = 0;
	}
	if (p->i >= p->len)
		return syn(p, "EOF while parsing a value");
	c = p->s[p->i++];
	if (!is_digit(c))
		return syn(p, "invalid number");
	e = c - '0';
	while (is_digit(peek(p))) {
		int d = p->s[p->i++] - '0';
		if (e >= INT32_MAX / 10 && (e > INT32_MAX / 10 || d > INT32_MAX % 10)) {
			if (sig != 0 && pos_exp)
				return syn(p, "number out of range");
			while (is_digit(peek(p)))
				p->i++;
			*out = positive ? 0.0 : -0.0;
			return 0;
		}
		e = e * 10 + d;
	}
	{
		int64_t fe = pos_exp ? (int64_t)start + e : (int64_t)start - e;
		if (fe > INT32_MAX)
			fe = INT32_MAX;
		if (fe < INT32_MIN)
			fe = INT32_MIN;
		return f64_from_parts(p, positive, sig, (int32_t)fe, out);
	}
}

static int parse_decimal(struct jp *p, int positive, uint64_t sig, int32_t before, double *out)
{
	int32_t after = 0;

	p->i++;
	while (is_digit(peek(p))) {
		uint64_t d = (uint64_t)(p->s[p->i] - '0');
		if (sig >= UINT64_MAX / 10 && (sig > UINT64_MAX / 10 || d > UINT64_MAX % 10)) {
			/* parse_decimal_overflow: ignore further digits */
			while (is_digit(peek(p)))
				p->i++;
			if (peek(p) == 'e' || peek(p) == 'E')
				return parse_exponent(p, positive, sig, before + after, out);
			return f64_from_parts(p, positive, sig, before + after, out);
		}
		p->i++;
		sig = sig * 10 + d;
		after--;
	}
	if (after == 0) {
		if (p->i < p->len)
			return syn_peek(p, "invalid number");
		return syn_peek(p, "EOF while parsing a value");
	}
	if (peek(p) == 'e' || peek(p) == 'E')
		return parse_exponent(p, positive, sig, before + after, out);
	return f64_from_parts(p, positive, sig, before + after, out);
}

static int parse_number_tail(struct jp *p, int positive, uint64_t sig, struct jval *v)
{
	int c = peek(p);

	if (c == '.') {
		v->k = V_F64;
		return parse_decimal(p, positive, sig, 0, &v->f);
	}
	if (c == 'e' || c == 'E') {
		v->k = V_F64;
		return parse_exponent(p, positive, sig, 0, &v->f);
	}
	if (positive) {
		v->k = V_U64;
		v->u = sig;
	} else if (sig == 0 || sig > (uint64_t)INT64_MAX + 1) {
		v->k = V_F64;
		v->f = -(double)sig;
	} else {
		v->k = V_I64;
		v->i = sig == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)sig;
	}
	return 0;
}

/* parse_integer: after an optional '-' was eaten */
static int parse_integer(struct jp *p, int positive, struct jval *v)
{
	uint64_t sig;
	int c;

	if (p->i >= p->len)
		return syn(p, "EOF while parsing a value");
	c = p->s[p->i++];
	if (c == '0') {
		if (is_digit(peek(p)))
			return syn_peek(p, "invalid number");
		return parse_number_tail(p, positive, 0, v);
	}
	if (!is_digit(c))
		return syn(p, "invalid number");
	sig = (uint64_t)(c - '0');
	while (is_digit(peek(p))) {
		uint64_t d = (uint64_t)(p->s[p->i] - '0');
		if (sig >= UINT64_MAX / 10 && (sig > UINT64_MAX / 10 || d > UINT64_MAX % 10)) {
			/* parse_long_integer */
			int32_t exp = 0;
			v->k = V_F64;
			for (;;) {
				c = peek(p);
				if (is_digit(c)) {
					p->i++;
					exp++;
				} else if (c == '.') {
					return parse_decimal(p, positive, sig, exp, &v->f);
				} else if (c == 'e' || c == 'E') {
					return parse_exponent(p, positive, sig, exp, &v->f);
				} else {
					return f64_from_parts(p, positive, sig, exp, &v->f);
				}
			}
		}
		p->i++;
		sig = sig * 10 + d;
	}
	return parse_number_tail(p, positive, sig, v);
}

static int parse_value(struct jp *p, struct jval *v);

static int enter(struct jp *p)
{
	if (--p->depth == 0)
		return syn_peek(p, "recursion limit exceeded");
	p->i++;
	return 0;
}

static int end_seq(struct jp *p)
{
	int c = ws(p);

	if (c == ']') {
		p->i++;
		return 0;
	}
	if (c == ',') {
		p->i++;
		if (ws(p) == ']')
			return syn_peek(p, "trailing comma");
		return syn_peek(p, "trailing characters");
	}
	if (c < 0)
		return syn_peek(p, "EOF while parsing a list");
	return syn_peek(p, "trailing characters");
}

static int end_map(struct jp *p)
{
	int c = ws(p);

	if (c == '}') {
		p->i++;
		return 0;
	}
	if (c == ',')
		return syn_peek(p, "trailing comma");
	if (c < 0)
		return syn_peek(p, "EOF while parsing an object");
	return syn_peek(p, "trailing characters");
}

/* returns 1 if there is a next element, 0 at ']', -1 on error */
static int has_next_element(struct jp *p, int *first)
{
	int c = ws(p);

	if (c < 0)
		return syn_peek(p, "EOF while parsing a list");
	if (c == ']')
		return 0;
	if (*first) {
		*first = 0;
		return 1;
	}
	if (c != ',')
		return syn_peek(p, "expected `,` or `]`");
	p->i++;
	c = ws(p);
	if (c == ']')
		return syn_peek(p, "trailing comma");
	if (c < 0)
		return syn_peek(p, "EOF while parsing a value");
	return 1;
}

static int has_next_key(struct jp *p, int *first)
{
	int c = ws(p);

	if (c < 0)
		return syn_peek(p, "EOF while parsing an object");
	if (c == '}')
		return 0;
	if (*first) {
		*first = 0;
		if (c == '"')
			return 1;
		return syn_peek(p, "key must be a string");
	}
	if (c != ',')
		return syn_peek(p, "expected `,` or `}`");
	p->i++;
	c = ws(p);
	if (c == '"')
		return 1;
	if (c == '}')
		return syn_peek(p, "trailing comma");
	if (c < 0)
		return syn_peek(p, "EOF while parsing a value");
	return syn_peek(p, "key must be a string");
}

static int parse_colon(struct jp *p)
{
	int c = ws(p);

	if (c == ':') {
		p->i++;
		return 0;
	}
	if (c < 0)
		return syn_peek(p, "EOF while parsing an object");
	return syn_peek(p, "expected `:`");
}

static int parse_seq_body(struct jp *p)
{
	int first = 1, r;
	struct jval v;

	while ((r = has_next_element(p, &first)) == 1)
		if (parse_value(p, &v))
			return -1;
	if (r < 0)
		return -1;
	if (end_seq(p))
		return -1;
	p->depth++;
	return 0;
}

static int parse_map_body(struct jp *p)
{
	int first = 1, r;
	struct jval v;
	size_t a, b;

	while ((r = has_next_key(p, &first)) == 1) {
		p->i++;
		if (parse_str(p, &a, &b) || parse_colon(p) || parse_value(p, &v))
			return -1;
	}
	if (r < 0)
		return -1;
	if (end_map(p))
		return -1;
	p->depth++;
	return 0;
}

/* serde_json deserialize_any into Content (the summary of it that we need) */
static int parse_value(struct jp *p, struct jval *v)
{
	int c = ws(p);

	memset(v, 0, sizeof *v);
	switch (c) {
	case -1: return syn_peek(p, "EOF while parsing a value");
	case 'n':
		p->i++;
		v->k = V_NULL;
		return parse_ident(p, "ull");
	case 't':
		p->i++;
		v->k = V_BOOL;
		v->b = 1;
		return parse_ident(p, "rue");
	case 'f':
		p->i++;
		v->k = V_BOOL;
		return parse_ident(p, "alse");
	case '-':
		p->i++;
		return parse_integer(p, 0, v);
	case '"':
		p->i++;
		v->k = V_STR;
		return parse_str(p, &v->s_off, &v->s_end);
	case '[':
		v->k = V_SEQ;
		if (enter(p))
			return -1;
		return parse_seq_body(p);
	case '{':
		v->k = V_MAP;
		if (enter(p))
			return -1;
		return parse_map_body(p);
	default:
		if (is_digit(c))
			return parse_integer(p, 1, v);
		return syn_peek(p, "expected value");
	}
}

/* serde's Unexpected, through serde_json's JsonUnexpected */
static void sb_unexpected(struct sbuf *b, const struct jp *p, const struct jval *v)
{
	switch (v->k) {
	case V_NULL: sb_str(b, "null"); break;
	case V_BOOL: sb_str(b, v->b ? "boolean `true`" : "boolean `false`"); break;
	case V_U64: sb_fmt(b, "integer `%" PRIu64 "`", v->u); break;
	case V_I64: sb_fmt(b, "integer `%" PRId64 "`", v->i); break;
	case V_F64:
		sb_str(b, "floating point `");
		sb_ryu_f64(b, v->f);
		sb_ch(b, '`');
		break;
	case V_STR: {
		struct sbuf d = {0};
		decode_str(p->s + v->s_off, v->s_end - v->s_off, &d);
		sb_str(b, "string ");
		sb_rust_debug_str(b, (const uint8_t *)d.p, d.len);
		if (d.oom)
			b->oom = 1;
		sb_free(&d);
		break;
	}
	case V_SEQ: sb_str(b, "sequence"); break;
	case V_MAP: sb_str(b, "map"); break;
	}
}

static int invalid_type(struct jp *p, const struct jval *v, const char *expected)
{
	p->msg.len = 0;
	sb_str(&p->msg, "invalid type: ");
	sb_unexpected(&p->msg, p, v);
	sb_str(&p->msg, ", expected ");
	sb_str(&p->msg, expected);
	return custom(p);
}

static int str_eq(const struct jp *p, size_t off, size_t end, const char *lit, int *eq)
{
	struct sbuf d = {0};

	decode_str(p->s + off, end - off, &d);
	if (d.oom) {
		sb_free(&d);
		return -1;
	}
	*eq = d.len == strlen(lit) && memcmp(d.p, lit, d.len) == 0;
	sb_free(&d);
	return 0;
}

/* __Field::deserialize for the variant identifier (serde_json deserialize_str) */
static int parse_variant_tag(struct jp *p)
{
	int c = ws(p);
	struct jval v;

	if (c < 0)
		return syn_peek(p, "EOF while parsing a value");
	if (c == '"') {
		size_t a, b;
		struct sbuf d = {0};
		p->i++;
		if (parse_str(p, &a, &b))
			return -1;
		decode_str(p->s + a, b - a, &d);
		for (size_t k = 0; k < p->spec->nvariants; k++) {
			const char *t = p->spec->variants[k].tag;
			if (d.len == strlen(t) && memcmp(d.p, t, d.len) == 0) {
				p->variant = (int)k;
				sb_free(&d);
				return 0;
			}
		}
		p->msg.len = 0;
		sb_str(&p->msg, "unknown variant `");
		sb_add(&p->msg, d.p, d.len);
		sb_str(&p->msg, "`, expected ");
		if (p->spec->nvariants > 2)
			sb_str(&p->msg, "one of ");
		for (size_t k = 0; k < p->spec->nvariants; k++) {
			if (k)
				sb_str(&p->msg, p->spec->nvariants == 2 ? " or " : ", ");
			sb_fmt(&p->msg, "`%s`", p->spec->variants[k].tag);
		}
		if (d.oom)
			p->oom = 1;
		sb_free(&d);
		custom(p);
		fix_position(p);
		return -1;
	}
	/* peek_invalid_type: '[' and '{' are reported without being consumed */
	memset(&v, 0, sizeof v);
	if (c == '[' || c == '{') {
		v.k = c == '[' ? V_SEQ : V_MAP;
	} else if (c == 'n' || c == 't' || c == 'f' || c == '-' || is_digit(c)) {
		if (parse_value(p, &v))
			return -1;
	} else {
		return syn_peek(p, "expected value");
	}
	invalid_type(p, &v, "variant identifier");
	fix_position(p);
	return -1;
}

static int name_index(const struct jp *p, size_t off, size_t end, int *idx)
{
	*idx = -1;
	for (int k = 0; k < p->nnames; k++) {
		int eq;
		if (str_eq(p, off, end, p->names[k], &eq))
			return -1;
		if (eq) {
			*idx = k;
			break;
		}
	}
	return 0;
}

static void missing_field(struct jp *p, const char *name)
{
	p->msg.len = 0;
	sb_fmt(&p->msg, "missing field `%s`", name);
	custom(p);
}

/* TaggedContentVisitor::visit_map */
static int visit_tagged_map(struct jp *p)
{
	int first = 1, r, have_tag = 0;

	while ((r = has_next_key(p, &first)) == 1) {
		size_t a, b;
		int is_tag, idx;
		struct jval v;

		p->i++;
		if (parse_str(p, &a, &b))
			return -1;
		if (str_eq(p, a, b, "type", &is_tag)) {
			p->oom = 1;
			return -1;
		}
		if (is_tag) {
			if (have_tag) {
				p->msg.len = 0;
				sb_str(&p->msg, "duplicate field `type`");
				return custom(p);
			}
			if (parse_colon(p) || parse_variant_tag(p))
				return -1;
			have_tag = 1;
			continue;
		}
		if (name_index(p, a, b, &idx)) {
			p->oom = 1;
			return -1;
		}
		if (parse_colon(p) || parse_value(p, &v))
			return -1;
		if (idx >= 0 && p->name_count[idx] < 2 && p->nent < MAX_ENTRIES) {
			p->name_count[idx]++;
			p->ent[p->nent].name = idx;
			p->ent[p->nent].v = v;
			p->nent++;
		}
	}
	if (r < 0)
		return -1;
	if (!have_tag) {
		missing_field(p, "type");
		return -1;
	}
	return 0;
}

/* TaggedContentVisitor::visit_seq */
static int visit_tagged_seq(struct jp *p)
{
	int first = 1, r;

	p->seq_form = 1;
	r = has_next_element(p, &first);
	if (r < 0)
		return -1;
	if (r == 0) {
		missing_field(p, "type");
		return -1;
	}
	if (parse_variant_tag(p))
		return -1;
	while ((r = has_next_element(p, &first)) == 1) {
		struct jval v;
		if (parse_value(p, &v))
			return -1;
		if (p->nelem < MAX_FIELDS)
			p->elem[p->nelem] = v;
		p->nelem++;
	}
	return r < 0 ? -1 : 0;
}

/* deserialize_any of the whole document with TaggedContentVisitor */
static int parse_tagged(struct jp *p)
{
	int c = ws(p);
	char expecting[96];
	struct jval v;
	int rc;

	snprintf(expecting, sizeof expecting, "internally tagged enum %s", p->spec->rust_name);
	if (c < 0)
		return syn_peek(p, "EOF while parsing a value");
	if (c == '[' || c == '{') {
		if (enter(p))
			return -1;
		rc = c == '[' ? visit_tagged_seq(p) : visit_tagged_map(p);
		if (rc == 0) {
			if (c == '[' ? end_seq(p) : end_map(p))
				return -1;
			p->depth++;
			return 0;
		}
		if (p->oom)
			return -1;
		if (!p->has_pos) {
			/* the end_seq/end_map side effects happen before fix_position */
			struct sbuf keep = p->msg;
			memset(&p->msg, 0, sizeof p->msg);
			p->failed = 0;
			(void)(c == '[' ? end_seq(p) : end_map(p));
			sb_free(&p->msg);
			p->msg = keep;
			p->failed = 1;
			p->has_pos = 0;
			fix_position(p);
		}
		return -1;
	}
	if (parse_value(p, &v))
		return -1;
	invalid_type(p, &v, expecting);
	fix_position(p);
	return -1;
}

/* A field value from Content, with ContentDeserializer semantics. */
struct fval {
	int present;
	int is_some;
	uint64_t u;
	struct sbuf s;
};

static int convert_value(struct jp *p, const struct jval *v, enum fkind kind, struct fval *out)
{
	const char *exp;
	uint64_t max;

	if ((kind == F_OPT_U64 || kind == F_OPT_STRING) && v->k == V_NULL) {
		out->present = 1;
		out->is_some = 0;
		return 0;
	}
	out->present = 1;
	out->is_some = 1;
	if (kind == F_STRING || kind == F_OPT_STRING) {
		if (v->k != V_STR)
			return invalid_type(p, v, "a string");
		out->s.len = 0;
		decode_str(p->s + v->s_off, v->s_end - v->s_off, &out->s);
		return 0;
	}
	exp = kind == F_U32 ? "u32" : kind == F_USIZE ? "usize" : "u64";
	max = kind == F_U32 ? UINT32_MAX : UINT64_MAX;
	if (v->k == V_U64 && v->u <= max) {
		out->u = v->u;
		return 0;
	}
	if (v->k == V_U64 || v->k == V_I64) {
		p->msg.len = 0;
		sb_str(&p->msg, "invalid value: ");
		sb_unexpected(&p->msg, p, v);
		sb_fmt(&p->msg, ", expected %s", exp);
		return custom(p);
	}
	return invalid_type(p, v, exp);
}

static int field_of(const struct variant_spec *vs, const struct jp *p, int name)
{
	for (size_t k = 0; k < vs->nfields; k++)
		if (strcmp(vs->fields[k].name, p->names[name]) == 0)
			return (int)k;
	return -1;
}

/* deserialize the selected variant from the buffered content */
static int deserialize_variant(struct jp *p, struct fval f[MAX_FIELDS])
{
	const struct variant_spec *vs = &p->spec->variants[p->variant];
	size_t n = vs->nfields;

	if (p->seq_form) {
		for (size_t k = 0; k < n; k++) {
			if (k >= p->nelem) {
				p->msg.len = 0;
				sb_fmt(&p->msg,
				       "invalid length %zu, expected struct variant %s::%s with %zu element%s",
				       k, p->spec->rust_name, vs->rust_name, n, n == 1 ? "" : "s");
				return custom(p);
			}
			if (convert_value(p, &p->elem[k], vs->fields[k].kind, &f[k]))
				return -1;
		}
		if (p->nelem > n) {
			p->msg.len = 0;
			sb_fmt(&p->msg, "invalid length %zu, expected %zu element%s in sequence", p->nelem,
			       n, n == 1 ? "" : "s");
			return custom(p);
		}
		return 0;
	}
	for (int e = 0; e < p->nent; e++) {
		int k = field_of(vs, p, p->ent[e].name);
		if (k < 0)
			continue;
		if (f[k].present) {
			p->msg.len = 0;
			sb_fmt(&p->msg, "duplicate field `%s`", vs->fields[k].name);
			return custom(p);
		}
		if (convert_value(p, &p->ent[e].v, vs->fields[k].kind, &f[k]))
			return -1;
	}
	for (size_t k = 0; k < n; k++) {
		if (f[k].present)
			continue;
		if (vs->fields[k].kind == F_OPT_U64 || vs->fields[k].kind == F_OPT_STRING) {
			f[k].present = 1;
			continue;
		}
		missing_field(p, vs->fields[k].name);
		return -1;
	}
	return 0;
}

static void jp_init(struct jp *p, const char *text, size_t len, const struct enum_spec *spec)
{
	memset(p, 0, sizeof *p);
	p->s = (const uint8_t *)text;
	p->len = len;
	p->depth = 128;
	p->spec = spec;
	p->variant = -1;
	for (size_t v = 0; v < spec->nvariants; v++) {
		for (size_t k = 0; k < spec->variants[v].nfields; k++) {
			const char *nm = spec->variants[v].fields[k].name;
			int seen = 0;
			for (int j = 0; j < p->nnames; j++)
				seen |= strcmp(p->names[j], nm) == 0;
			if (!seen && p->nnames < MAX_NAMES)
				p->names[p->nnames++] = nm;
		}
	}
}

/* serde_json::from_str: returns 0 with fields filled, or -1 with p->msg / position. */
static int json_from_str(struct jp *p, struct fval f[MAX_FIELDS])
{
	if (parse_tagged(p))
		return -1;
	if (deserialize_variant(p, f))
		return -1;
	if (ws(p) >= 0)
		return syn_peek(p, "trailing characters");
	return 0;
}

/* Builds "msg[ at line L column C]" into err with the given kind. */
static int jp_fail(struct jp *p, struct capi_error *err, uint8_t kind, const char *prefix)
{
	struct sbuf m = {0};

	if (p->oom || p->msg.oom)
		return CAPI_ERR_NOMEM;
	if (prefix)
		sb_str(&m, prefix);
	sb_add(&m, p->msg.p ? p->msg.p : "", p->msg.len);
	if (p->has_pos)
		sb_fmt(&m, " at line %zu column %zu", p->line, p->col);
	return fail_sb(err, kind, &m);
}

static void fvals_free(struct fval f[MAX_FIELDS])
{
	for (int k = 0; k < MAX_FIELDS; k++)
		sb_free(&f[k].s);
}

/* ------------------------------------------------------------------ */
/* text requests (text.rs) */

static const struct field_spec SEND_FIELDS[] = {
	{"message", F_STRING}, {"recipient", F_STRING}, {"connectionId", F_OPT_U64}};
static const struct field_spec SEND_ANON_FIELDS[] = {
	{"recipient", F_STRING}, {"message", F_STRING}, {"replySurbs", F_U32},
	{"connectionId", F_OPT_U64}};
static const struct field_spec REPLY_FIELDS[] = {
	{"senderTag", F_STRING}, {"message", F_STRING}, {"connectionId", F_OPT_U64}};
static const struct variant_spec REQ_VARIANTS[] = {
	{"send", "Send", SEND_FIELDS, 3},
	{"sendAnonymous", "SendAnonymous", SEND_ANON_FIELDS, 4},
	{"reply", "Reply", REPLY_FIELDS, 3},
	{"selfAddress", "SelfAddress", NULL, 0},
};
static const struct enum_spec REQ_SPEC = {"ClientRequestText", REQ_VARIANTS, 4};

static const struct field_spec RECEIVED_FIELDS[] = {
	{"message", F_STRING}, {"senderTag", F_OPT_STRING}};
static const struct field_spec SELF_ADDRESS_FIELDS[] = {{"address", F_STRING}};
static const struct field_spec LANE_FIELDS[] = {{"lane", F_U64}, {"queue_length", F_USIZE}};
static const struct field_spec ERROR_FIELDS[] = {{"message", F_STRING}};
static const struct variant_spec RESP_VARIANTS[] = {
	{"received", "Received", RECEIVED_FIELDS, 2},
	{"selfAddress", "SelfAddress", SELF_ADDRESS_FIELDS, 1},
	{"laneQueueLength", "LaneQueueLength", LANE_FIELDS, 2},
	{"error", "Error", ERROR_FIELDS, 1},
};
static const struct enum_spec RESP_SPEC = {"ServerResponseText", RESP_VARIANTS, 4};

static int take_message(struct fval *f, uint8_t **msg, size_t *len)
{
	*len = f->s.len;
	*msg = dup_bytes((const uint8_t *)f->s.p, f->s.len);
	return *msg ? 0 : -1;
}

static int text_to_request(struct jp *p, struct fval f[MAX_FIELDS], struct capi_request *req,
                           struct capi_error *err)
{
	struct capi_request r;
	struct sbuf e = {0};
	struct fval *msg, *conn;

	memset(&r, 0, sizeof r);
	r.type = (enum capi_request_type)p->variant;
	switch (p->variant) {
	case CAPI_REQ_SEND:
		msg = &f[0];
		conn = &f[2];
		if (recipient_from_text((const uint8_t *)f[1].s.p, f[1].s.len, &r.recipient, &e))
			return fail_sb(err, CAPI_MALFORMED_REQUEST, &e);
		break;
	case CAPI_REQ_SEND_ANONYMOUS:
		msg = &f[1];
		conn = &f[3];
		r.reply_surbs = (uint32_t)f[2].u;
		if (recipient_from_text((const uint8_t *)f[0].s.p, f[0].s.len, &r.recipient, &e))
			return fail_sb(err, CAPI_MALFORMED_REQUEST, &e);
		break;
	case CAPI_REQ_REPLY:
		msg = &f[1];
		conn = &f[2];
		if (sender_tag_from_text((const uint8_t *)f[0].s.p, f[0].s.len, r.sender_tag, &e))
			return fail_sb(err, CAPI_MALFORMED_REQUEST, &e);
		break;
	default:
		*req = r;
		return CAPI_OK;
	}
	sb_free(&e);
	r.has_connection_id = conn->is_some;
	r.connection_id = conn->is_some ? conn->u : 0;
	if (take_message(msg, &r.message, &r.message_len))
		return CAPI_ERR_NOMEM;
	*req = r;
	return CAPI_OK;
}

int capi_request_from_text(const char *text, size_t len, struct capi_request *req,
                           struct capi_error *err)
{
	struct jp p;
	struct fval f[MAX_FIELDS];
	int rc;

	if (!req || !err || (!text && len))
		return CAPI_ERR_ARG;
	if (len > CAPI_MAX_TEXT)
		return CAPI_ERR_TOO_BIG;
	if (!capi_utf8_valid((const uint8_t *)text, len))
		return CAPI_ERR_UTF8;
	memset(f, 0, sizeof f);
	jp_init(&p, text ? text : "", len, &REQ_SPEC);
	if (json_from_str(&p, f))
		rc = jp_fail(&p, err, CAPI_MALFORMED_REQUEST, NULL);
	else
		rc = text_to_request(&p, f, req, err);
	fvals_free(f);
	sb_free(&p.msg);
	return rc;
}

/* serde_json string escaping */
static void sb_json_str(struct sbuf *b, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	sb_ch(b, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		switch (c) {
		case '"': sb_str(b, "\\\""); break;
		case '\\': sb_str(b, "\\\\"); break;
		case '\b': sb_str(b, "\\b"); break;
		case '\f': sb_str(b, "\\f"); break;
		case '\n': sb_str(b, "\\n"); break;
		case '\r': sb_str(b, "\\r"); break;
		case '\t': sb_str(b, "\\t"); break;
		default:
			if (c < 0x20) {
				char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				sb_add(b, u, 6);
			} else {
				sb_ch(b, (char)c);
			}
		}
	}
	sb_ch(b, '"');
}

static char *sb_finish(struct sbuf *b, size_t *len)
{
	if (b->oom || !b->p) {
		sb_free(b);
		return NULL;
	}
	if (len)
		*len = b->len;
	return b->p;
}

static void sb_opt_u64(struct sbuf *b, int has, uint64_t v)
{
	if (has)
		sb_fmt(b, "%" PRIu64, v);
	else
		sb_str(b, "null");
}

/* message bytes as a Rust String: requests hold text-frame messages, which are UTF-8;
 * anything else goes through from_utf8_lossy so the output stays valid JSON. */
static void sb_json_bytes(struct sbuf *b, const uint8_t *m, size_t n)
{
	if (capi_utf8_valid(m, n)) {
		sb_json_str(b, m, n);
	} else {
		size_t ln;
		char *l = capi_utf8_lossy(m, n, &ln);
		if (!l) {
			b->oom = 1;
			return;
		}
		sb_json_str(b, (const uint8_t *)l, ln);
		free(l);
	}
}

char *capi_request_to_text(const struct capi_request *req, size_t *len)
{
	struct sbuf b = {0};
	char addr[NYM_RECIPIENT_STR_MAX], tag[NYM_SENDER_TAG_STR_MAX];

	if (!req || (req->message_len && !req->message))
		return NULL;
	switch (req->type) {
	case CAPI_REQ_SEND:
	case CAPI_REQ_SEND_ANONYMOUS:
		if (nym_recipient_to_string(&req->recipient, addr, sizeof addr) < 0)
			return NULL;
		if (req->type == CAPI_REQ_SEND) {
			sb_str(&b, "{\"type\":\"send\",\"message\":");
			sb_json_bytes(&b, req->message, req->message_len);
			sb_str(&b, ",\"recipient\":");
			sb_json_str(&b, (const uint8_t *)addr, strlen(addr));
		} else {
			sb_str(&b, "{\"type\":\"sendAnonymous\",\"recipient\":");
			sb_json_str(&b, (const uint8_t *)addr, strlen(addr));
			sb_str(&b, ",\"message\":");
			sb_json_bytes(&b, req->message, req->message_len);
			sb_fmt(&b, ",\"replySurbs\":%" PRIu32, req->reply_surbs);
		}
		break;
	case CAPI_REQ_REPLY:
		if (nym_sender_tag_to_string(req->sender_tag, tag, sizeof tag) < 0)
			return NULL;
		sb_str(&b, "{\"type\":\"reply\",\"senderTag\":");
		sb_json_str(&b, (const uint8_t *)tag, strlen(tag));
		sb_str(&b, ",\"message\":");
		sb_json_bytes(&b, req->message, req->message_len);
		break;
	case CAPI_REQ_SELF_ADDRESS:
		sb_str(&b, "{\"type\":\"selfAddress\"}");
		return sb_finish(&b, len);
	default:
		return NULL;
	}
	sb_str(&b, ",\"connectionId\":");
	sb_opt_u64(&b, req->has_connection_id, req->connection_id);
	sb_ch(&b, '}');
	return sb_finish(&b, len);
}

/* ------------------------------------------------------------------ */
/* responses (responses.rs, text.rs) */

int capi_response_from_error(struct capi_response *resp, const struct capi_error *err)
{
	memset(resp, 0, sizeof *resp);
	resp->type = CAPI_RESP_ERROR;
	if (capi_error_set(&resp->error, err->kind, err->message ? err->message : "",
	                   err->message ? err->message_len : 0))
		return CAPI_ERR_NOMEM;
	return CAPI_OK;
}

uint8_t *capi_response_to_binary(const struct capi_response *resp, size_t *len)
{
	uint8_t *o;
	size_t n, off;

	if (!resp || !len)
		return NULL;
	switch (resp->type) {
	case CAPI_RESP_RECEIVED:
		if (resp->message_len && !resp->message)
			return NULL;
		off = resp->has_sender_tag ? 18 : 2;
		if (resp->message_len > SIZE_MAX - 64)
			return NULL;
		n = off + 8 + resp->message_len;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = 1;
		o[1] = resp->has_sender_tag ? 1 : 0;
		if (resp->has_sender_tag)
			memcpy(o + 2, resp->sender_tag, 16);
		ns_put_be64(o + off, resp->message_len);
		if (resp->message_len)
			memcpy(o + off + 8, resp->message, resp->message_len);
		break;
	case CAPI_RESP_SELF_ADDRESS:
		n = 97;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = 2;
		nym_recipient_to_bytes(&resp->address, o + 1);
		break;
	case CAPI_RESP_LANE_QUEUE_LENGTH:
		n = 17;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = 3;
		ns_put_be64(o + 1, resp->lane);
		ns_put_be64(o + 9, resp->queue_length);
		break;
	case CAPI_RESP_ERROR: {
		size_t ml = resp->error.message ? resp->error.message_len : 0;
		if (ml > SIZE_MAX - 64)
			return NULL;
		n = 10 + ml;
		if (!(o = malloc(n)))
			return NULL;
		o[0] = 0;
		o[1] = resp->error.kind;
		ns_put_be64(o + 2, ml);
		if (ml)
			memcpy(o + 10, resp->error.message, ml);
		break;
	}
	default:
		return NULL;
	}
	*len = n;
	return o;
}

char *capi_response_to_text(const struct capi_response *resp, size_t *len)
{
	struct sbuf b = {0};
	char addr[NYM_RECIPIENT_STR_MAX], tag[NYM_SENDER_TAG_STR_MAX];

	if (!resp)
		return NULL;
	switch (resp->type) {
	case CAPI_RESP_RECEIVED:
		if (resp->message_len && !resp->message)
			return NULL;
		sb_str(&b, "{\"type\":\"received\",\"message\":");
		sb_json_bytes(&b, resp->message, resp->message_len);
		sb_str(&b, ",\"senderTag\":");
		if (resp->has_sender_tag) {
			if (nym_sender_tag_to_string(resp->sender_tag, tag, sizeof tag) < 0)
				return NULL;
			sb_json_str(&b, (const uint8_t *)tag, strlen(tag));
		} else {
			sb_str(&b, "null");
		}
		break;
	case CAPI_RESP_SELF_ADDRESS:
		if (nym_recipient_to_string(&resp->address, addr, sizeof addr) < 0)
			return NULL;
		sb_str(&b, "{\"type\":\"selfAddress\",\"address\":");
		sb_json_str(&b, (const uint8_t *)addr, strlen(addr));
		break;
	case CAPI_RESP_LANE_QUEUE_LENGTH:
		sb_fmt(&b, "{\"type\":\"laneQueueLength\",\"lane\":%" PRIu64 ",\"queue_length\":%" PRIu64,
		       resp->lane, resp->queue_length);
		break;
	case CAPI_RESP_ERROR: {
		struct sbuf m = {0};
		sb_str(&m, capi_error_kind_text(resp->error.kind));
		sb_ch(&m, ':');
		if (resp->error.message)
			sb_add(&m, resp->error.message, resp->error.message_len);
		sb_str(&b, "{\"type\":\"error\",\"message\":");
		if (m.oom)
			b.oom = 1;
		else
			sb_json_bytes(&b, (const uint8_t *)m.p, m.len);
		sb_free(&m);
		break;
	}
	default:
		return NULL;
	}
	sb_ch(&b, '}');
	return sb_finish(&b, len);
}

static int resp_bin_received(const uint8_t *b, size_t n, struct capi_response *resp,
                             struct capi_error *err)
{
	size_t i = 2;
	uint64_t ml;
	struct sbuf e = {0};

	if (n < 10)
		return fail(err, CAPI_TOO_SHORT_RESPONSE, "not enough data provided to recover 'received'");
	if (b[1] > 1) {
		sb_fmt(&e, "invalid sender tag flag %u", b[1]);
		return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
	}
	if (b[1] == 1) {
		if (n - 2 < 16)
			return fail(err, CAPI_TOO_SHORT_RESPONSE,
			            "not enough data provided to recover 'received'");
		i += 16;
	}
	if (n - i < 8)
		return fail(err, CAPI_TOO_SHORT_RESPONSE, "not enough data provided to recover 'received'");
	ml = ns_get_be64(b + i);
	if (ml != n - i - 8) {
		sb_fmt(&e, "message len has inconsistent length. specified: %" PRIu64 " got: %zu", ml,
		       n - i - 8);
		return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
	}
	memset(resp, 0, sizeof *resp);
	resp->type = CAPI_RESP_RECEIVED;
	resp->has_sender_tag = b[1];
	if (b[1])
		memcpy(resp->sender_tag, b + 2, 16);
	resp->message = dup_bytes(b + i + 8, n - i - 8);
	if (!resp->message)
		return CAPI_ERR_NOMEM;
	resp->message_len = n - i - 8;
	return CAPI_OK;
}

static int resp_bin_error(const uint8_t *b, size_t n, struct capi_response *resp,
                          struct capi_error *err)
{
	struct sbuf e = {0};
	uint64_t ml;

	if (n < 10)
		return fail(err, CAPI_TOO_SHORT_RESPONSE, "not enough data provided to recover 'error'");
	if (!kind_is_known(b[1])) {
		sb_fmt(&e, "invalid error code %u", b[1]);
		return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
	}
	ml = ns_get_be64(b + 2);
	if (ml != n - 10) {
		sb_fmt(&e, "message len has inconsistent length. specified: %" PRIu64 " got: %zu", ml,
		       n - 10);
		return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
	}
	if (!capi_utf8_valid(b + 10, n - 10))
		return fail(err, CAPI_MALFORMED_RESPONSE, "malformed error message: invalid utf-8");
	memset(resp, 0, sizeof *resp);
	resp->type = CAPI_RESP_ERROR;
	if (capi_error_set(&resp->error, b[1], (const char *)b + 10, n - 10))
		return CAPI_ERR_NOMEM;
	return CAPI_OK;
}

int capi_response_from_binary(const uint8_t *in, size_t len, struct capi_response *resp,
                              struct capi_error *err)
{
	struct sbuf e = {0};

	if (!resp || !err || (!in && len))
		return CAPI_ERR_ARG;
	if (len == 0)
		return fail(err, CAPI_EMPTY_RESPONSE, "no data provided");
	switch (in[0]) {
	case 0: return resp_bin_error(in, len, resp, err);
	case 1: return resp_bin_received(in, len, resp, err);
	case 2: {
		struct nym_recipient r;
		if (len != 97)
			return fail(err, CAPI_TOO_SHORT_RESPONSE,
			            "not enough data provided to recover 'self_address'");
		if (recipient_from_bytes_text(in + 1, &r, &e)) {
			struct sbuf m = {0};
			sb_str(&m, "malformed Recipient: ");
			sb_add(&m, e.p, e.len);
			sb_free(&e);
			return fail_sb(err, CAPI_MALFORMED_RESPONSE, &m);
		}
		memset(resp, 0, sizeof *resp);
		resp->type = CAPI_RESP_SELF_ADDRESS;
		resp->address = r;
		return CAPI_OK;
	}
	case 3:
		if (len < 17)
			return fail(err, CAPI_TOO_SHORT_RESPONSE,
			            "not enough data provided to recover 'lane_queue_length'");
		memset(resp, 0, sizeof *resp);
		resp->type = CAPI_RESP_LANE_QUEUE_LENGTH;
		resp->lane = ns_get_be64(in + 1);
		resp->queue_length = ns_get_be64(in + 9);
		return CAPI_OK;
	default:
		sb_fmt(&e, "%u does not correspond to any valid response tag", in[0]);
		return fail_sb(err, CAPI_UNKNOWN_RESPONSE, &e);
	}
}

static void split_error_message(const struct sbuf *m, uint8_t *kind, size_t *detail_off)
{
	static const uint8_t kinds[] = {1, 2, 3, 4, 0x80, 0x81, 0x82, 0x83, 0xFF};

	*kind = CAPI_OTHER;
	*detail_off = 0;
	for (size_t k = 0; k < sizeof kinds; k++) {
		const char *t = capi_error_kind_text(kinds[k]);
		size_t tl = strlen(t);
		if (m->len > tl && memcmp(m->p, t, tl) == 0 && m->p[tl] == ':') {
			*kind = kinds[k];
			*detail_off = tl + 1;
			return;
		}
	}
}

static int text_to_response(struct jp *p, struct fval f[MAX_FIELDS], struct capi_response *resp,
                            struct capi_error *err)
{
	struct capi_response r;
	struct sbuf e = {0};

	memset(&r, 0, sizeof r);
	switch (p->variant) {
	case 0:
		r.type = CAPI_RESP_RECEIVED;
		if (f[1].is_some) {
			if (sender_tag_from_text((const uint8_t *)f[1].s.p, f[1].s.len, r.sender_tag, &e))
				return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
			r.has_sender_tag = 1;
		}
		if (take_message(&f[0], &r.message, &r.message_len))
			return CAPI_ERR_NOMEM;
		break;
	case 1:
		r.type = CAPI_RESP_SELF_ADDRESS;
		if (recipient_from_text((const uint8_t *)f[0].s.p, f[0].s.len, &r.address, &e))
			return fail_sb(err, CAPI_MALFORMED_RESPONSE, &e);
		break;
	case 2:
		r.type = CAPI_RESP_LANE_QUEUE_LENGTH;
		r.lane = f[0].u;
		r.queue_length = f[1].u;
		break;
	default: {
		uint8_t kind;
		size_t off;
		r.type = CAPI_RESP_ERROR;
		split_error_message(&f[0].s, &kind, &off);
		if (capi_error_set(&r.error, kind, f[0].s.p + off, f[0].s.len - off))
			return CAPI_ERR_NOMEM;
	}
	}
	sb_free(&e);
	*resp = r;
	return CAPI_OK;
}

int capi_response_from_text(const char *text, size_t len, struct capi_response *resp,
                            struct capi_error *err)
{
	struct jp p;
	struct fval f[MAX_FIELDS];
	int rc;

	if (!resp || !err || (!text && len))
		return CAPI_ERR_ARG;
	if (len > CAPI_MAX_TEXT)
		return CAPI_ERR_TOO_BIG;
	if (!capi_utf8_valid((const uint8_t *)text, len))
		return CAPI_ERR_UTF8;
	memset(f, 0, sizeof f);
	jp_init(&p, text ? text : "", len, &RESP_SPEC);
	if (json_from_str(&p, f))
		rc = jp_fail(&p, err, CAPI_MALFORMED_RESPONSE, NULL);
	else
		rc = text_to_response(&p, f, resp, err);
	fvals_free(f);
	sb_free(&p.msg);
	return rc;
}
