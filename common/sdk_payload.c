/* The SDK's payload encoding (sdk_payload.h). The JSON side is a parser for exactly this one
 * shape that follows serde_json 1.0.141 (the version Nym's b4046a89 locks) driven by serde's
 * derived Deserialize for EncodedPayloadMetadata: cJSON cannot refuse duplicate keys, takes
 * lone surrogates and non-JSON numbers, and has a depth limit where serde_json has none when
 * it skips a value, so it would accept and refuse other messages than the SDK. */
#include "sdk_payload.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 */

/* Length of the valid sequence starting at in[0] (1-4), or 0 and *bad = the length of the
 * maximal invalid subpart (what Rust's Utf8Chunks and WHATWG's decoder replace by one
 * U+FFFD). */
static size_t utf8_seq(const uint8_t *in, size_t len, size_t *bad)
{
	uint8_t b = in[0];
	size_t need;
	uint8_t lo = 0x80, hi = 0xBF;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		need = 2;
	else if (b >= 0xE0 && b <= 0xEF) {
		need = 3;
		if (b == 0xE0)
			lo = 0xA0;
		else if (b == 0xED)
			hi = 0x9F;
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 4;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < need; i++) {
		uint8_t c = i < len ? in[i] : 0;
		uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
		if (c < l || c > h) {
			*bad = i;
			return 0;
		}
	}
	return need;
}

int ns_utf8_valid(const uint8_t *in, size_t len)
{
	size_t i = 0, bad = 0;
	while (i < len) {
		size_t n = utf8_seq(in + i, len - i, &bad);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

size_t ns_utf8_lossy(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0, bad = 0;
	while (i < len) {
		size_t n = utf8_seq(in + i, len - i, &bad);
		if (n) {
			memcpy(out + o, in + i, n);
			o += n, i += n;
			continue;
		}
		out[o++] = 0xEF, out[o++] = 0xBF, out[o++] = 0xBD;
		i += bad;
	}
	return o;
}

/* ---- encode: serde_json's string escaping */

static size_t escaped_len(const uint8_t *s, size_t len)
{
	size_t n = 2;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
		    c == '\t')
			n += 2;
		else if (c < 0x20)
			n += 6;
		else
			n += 1;
	}
	return n;
}

static uint8_t *put_escaped(uint8_t *o, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		char e = c == '"' ? '"' : c == '\\' ? '\\' : c == '\b' ? 'b' : c == '\f' ? 'f' :
		         c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
		if (e) {
			*o++ = '\\', *o++ = (uint8_t)e;
		} else if (c < 0x20) {
			memcpy(o, "\\u00", 4), o += 4;
			*o++ = (uint8_t)hex[c >> 4], *o++ = (uint8_t)hex[c & 15];
		} else {
			*o++ = c;
		}
	}
	*o++ = '"';
	return o;
}

static const char KEY_MIME[] = "{\"mimeType\":";
static const char KEY_HEADERS[] = ",\"headers\":";

static long json_len(struct ns_sdkp_str mime, struct ns_sdkp_str headers)
{
	if (!ns_utf8_valid(mime.ptr, mime.len) || (headers.has && !ns_utf8_valid(headers.ptr, headers.len)))
		return NS_SDKP_EUTF8;
	size_t n = sizeof KEY_MIME - 1 + escaped_len(mime.ptr, mime.len) + sizeof KEY_HEADERS - 1 +
	           (headers.has ? escaped_len(headers.ptr, headers.len) : 4) + 1;
	return (long)n;
}

long ns_sdkp_encoded_len(struct ns_sdkp_str mime, struct ns_sdkp_str headers, size_t payload_len)
{
	long j = json_len(mime, headers);
	return j < 0 ? j : (long)(NS_SDKP_PREFIX_LEN + (size_t)j + payload_len);
}

long ns_sdkp_encode(struct ns_sdkp_str mime, struct ns_sdkp_str headers, const uint8_t *payload,
                    size_t payload_len, uint8_t *out, size_t cap)
{
	long j = json_len(mime, headers);
	if (j < 0)
		return j;
	size_t total = NS_SDKP_PREFIX_LEN + (size_t)j + payload_len;
	if (total > cap)
		return NS_SDKP_ESPACE;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)((uint64_t)j >> (56 - 8 * i));
	uint8_t *o = out + NS_SDKP_PREFIX_LEN;
	memcpy(o, KEY_MIME, sizeof KEY_MIME - 1), o += sizeof KEY_MIME - 1;
	o = put_escaped(o, mime.ptr, mime.len);
	memcpy(o, KEY_HEADERS, sizeof KEY_HEADERS - 1), o += sizeof KEY_HEADERS - 1;
	if (headers.has)
		o = put_escaped(o, headers.ptr, headers.len);
	else
		memcpy(o, "null", 4), o += 4;
	*o++ = '}';
	if (payload_len)
		memcpy(o, payload, payload_len);
	return (long)total;
}

/* ---- decode: serde_json's grammar for this struct */

struct jp {
	const uint8_t *p, *end;
};

/* JSON whitespace (serde_json: space, \n, \t, \r); the next byte, or -1 at the end. */
static int peek_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
	return j->p < j->end ? *j->p : -1;
}

static int hex4(struct jp *j, unsigned *v)
{
	if (j->end - j->p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t c = *j->p++;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
		             c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
		             c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static uint8_t *put_utf8(uint8_t *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (uint8_t)cp;
	} else if (cp < 0x800) {
		*o++ = (uint8_t)(0xC0 | cp >> 6);
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (uint8_t)(0xE0 | cp >> 12);
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (uint8_t)(0xF0 | cp >> 18);
		*o++ = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* A \u escape of a string serde turns into a Rust String: surrogates must pair. */
static int unicode_escape(struct jp *j, uint8_t **o)
{
	unsigned n, n2;
	if (hex4(j, &n) < 0 || (n >= 0xDC00 && n <= 0xDFFF))
		return -1;
	if (n < 0xD800 || n > 0xDBFF) {
		*o = put_utf8(*o, n);
		return 0;
	}
	if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
		return -1;
	j->p += 2;
	if (hex4(j, &n2) < 0 || n2 < 0xDC00 || n2 > 0xDFFF)
		return -1;
	*o = put_utf8(*o, 0x10000 + ((n - 0xD800) << 10 | (n2 - 0xDC00)));
	return 0;
}

/* After the opening quote. out NULL: a skipped string (serde_json's ignore_str: escapes must
 * be well formed, control characters are refused, but neither UTF-8 nor surrogate pairing is
 * checked). Else the unescaped bytes go to out (room for the raw length suffices: no escape
 * is shorter than what it stands for) and must be UTF-8. */
static int string(struct jp *j, uint8_t *out, size_t *out_len)
{
	uint8_t *o = out;
	for (;;) {
		if (j->p >= j->end)
			return -1;
		uint8_t c = *j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (o)
				*o++ = c;
			continue;
		}
		if (j->p >= j->end)
			return -1;
		c = *j->p++;
		const char *simple = "\"\\/bfnrt", *val = "\"\\/\b\f\n\r\t", *s = strchr(simple, c);
		if (c && s) {
			if (o)
				*o++ = (uint8_t)val[s - simple];
		} else if (c == 'u') {
			unsigned ignored;
			if (o ? unicode_escape(j, &o) < 0 : hex4(j, &ignored) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	if (o) {
		*out_len = (size_t)(o - out);
		if (!ns_utf8_valid(out, *out_len))
			return -1;
	}
	return 0;
}

/* A string value into a fresh NUL-terminated buffer; j at the opening quote. */
static int string_value(struct jp *j, uint8_t **out, size_t *len)
{
	if (peek_ws(j) != '"')
		return NS_SDKP_EJSON;
	j->p++;
	uint8_t *buf = malloc((size_t)(j->end - j->p) + 1);
	if (!buf)
		return NS_SDKP_ENOMEM;
	if (string(j, buf, len) < 0) {
		free(buf);
		return NS_SDKP_EJSON;
	}
	buf[*len] = 0;
	*out = buf;
	return 0;
}

static int literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return -1;
	j->p += n;
	return 0;
}

static int digits(struct jp *j)
{
	const uint8_t *start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start ? 0 : -1;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, after the optional '-' */
static int number(struct jp *j)
{
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return -1;
	if (*j->p == '0') {
		j->p++;
		if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			return -1;
	} else {
		digits(j);
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (digits(j) < 0)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (digits(j) < 0)
			return -1;
	}
	return 0;
}

/* One scalar, or the opening of a container (its byte returned so the caller stacks it). */
static int scalar_or_open(struct jp *j)
{
	int c = peek_ws(j);
	if (c == '[' || c == '{') {
		j->p++;
		return c;
	}
	if (c == '"') {
		j->p++;
		return string(j, NULL, NULL) < 0 ? -1 : 0;
	}
	if (c == 'n' || c == 't' || c == 'f')
		return literal(j, c == 'n' ? "null" : c == 't' ? "true" : "false");
	if (c == '-')
		j->p++;
	return c == '-' || (c >= '0' && c <= '9') ? number(j) : -1;
}

/* A skipped value, as serde_json's ignore_value: any JSON with no depth limit (an explicit
 * stack of open containers, at most one per input byte), no trailing commas. */
static int skip_value(struct jp *j)
{
	uint8_t *stack = malloc((size_t)(j->end - j->p) + 1);
	size_t depth = 0;
	int rc = -1;
	if (!stack)
		return NS_SDKP_ENOMEM;
	for (;;) {
		int v = scalar_or_open(j);
		if (v < 0)
			goto out;
		int c;
		if (v) {
			stack[depth++] = (uint8_t)v;
			c = peek_ws(j);
			if (c == (v == '[' ? ']' : '}')) {
				j->p++;
				depth--;
			} else if (v == '{') {
				goto key;
			} else {
				continue;
			}
		}
		/* after a value: close containers or move to the next element */
		for (;;) {
			if (!depth) {
				rc = 0;
				goto out;
			}
			c = peek_ws(j);
			if (c == ',') {
				j->p++;
				break;
			}
			if (c != (stack[depth - 1] == '[' ? ']' : '}'))
				goto out;
			j->p++;
			depth--;
		}
		if (stack[depth - 1] == '[')
			continue;
	key:
		if (peek_ws(j) != '"')
			goto out;
		j->p++;
		if (string(j, NULL, NULL) < 0 || peek_ws(j) != ':')
			goto out;
		j->p++;
	}
out:
	free(stack);
	return rc < 0 ? NS_SDKP_EJSON : 0;
}

/* headers: Option<String> (null, or a string) */
static int option_string(struct jp *j, struct ns_sdkp_decoded *d)
{
	if (peek_ws(j) == 'n')
		return literal(j, "null") < 0 ? NS_SDKP_EJSON : 0;
	return string_value(j, &d->headers, &d->headers_len);
}

enum field { F_MIME, F_HEADERS, F_OTHER };

/* A key (a String for serde's field visitor: unescaped and checked) */
static int key(struct jp *j, enum field *f)
{
	uint8_t *k = NULL;
	size_t n = 0;
	int rc = string_value(j, &k, &n);
	if (rc < 0)
		return rc;
	*f = n == 8 && !memcmp(k, "mimeType", 8) ? F_MIME :
	     n == 7 && !memcmp(k, "headers", 7) ? F_HEADERS : F_OTHER;
	free(k);
	return 0;
}

/* A key-value pair of the object form */
static int member(struct jp *j, struct ns_sdkp_decoded *d, int *have_mime, int *have_headers)
{
	enum field f;
	int rc = key(j, &f);
	if (rc < 0)
		return rc;
	if ((f == F_MIME && *have_mime) || (f == F_HEADERS && *have_headers))
		return NS_SDKP_EDUP;
	if (peek_ws(j) != ':')
		return NS_SDKP_EJSON;
	j->p++;
	if (f == F_MIME) {
		*have_mime = 1;
		return string_value(j, &d->mime, &d->mime_len);
	}
	if (f == F_HEADERS) {
		*have_headers = 1;
		return option_string(j, d);
	}
	return skip_value(j);
}

static int object(struct jp *j, struct ns_sdkp_decoded *d)
{
	int have_mime = 0, have_headers = 0, first = 1, rc;
	for (;; first = 0) {
		int c = peek_ws(j);
		if (c == '}') {
			j->p++;
			break;
		}
		if (!first) {
			if (c != ',')
				return NS_SDKP_EJSON;
			j->p++;
			if (peek_ws(j) != '"') /* '}' here: a trailing comma */
				return NS_SDKP_EJSON;
		}
		if ((rc = member(j, d, &have_mime, &have_headers)) < 0)
			return rc;
	}
	return have_mime ? 0 : NS_SDKP_EMIME;
}

/* The sequence form serde derives for every struct: exactly [mimeType, headers]. */
static int array(struct jp *j, struct ns_sdkp_decoded *d)
{
	int rc;
	if (peek_ws(j) == ']')
		return NS_SDKP_EMIME;
	if ((rc = string_value(j, &d->mime, &d->mime_len)) < 0)
		return rc;
	if (peek_ws(j) != ',')
		return NS_SDKP_EJSON; /* ']' after one element: too short, also refused */
	j->p++;
	if (peek_ws(j) == ']')
		return NS_SDKP_EJSON;
	if ((rc = option_string(j, d)) < 0)
		return rc;
	if (peek_ws(j) != ']')
		return NS_SDKP_EJSON;
	j->p++;
	return 0;
}

static int metadata(const uint8_t *json, size_t len, struct ns_sdkp_decoded *d)
{
	struct jp j = { json, json + len };
	int c = peek_ws(&j), rc;
	if (c != '{' && c != '[')
		return NS_SDKP_EJSON;
	j.p++;
	if ((rc = c == '{' ? object(&j, d) : array(&j, d)) < 0)
		return rc;
	return peek_ws(&j) == -1 ? 0 : NS_SDKP_EJSON;
}

int ns_sdkp_decode(const uint8_t *msg, size_t len, struct ns_sdkp_decoded *d)
{
	memset(d, 0, sizeof *d);
	if (len < NS_SDKP_PREFIX_LEN)
		return NS_SDKP_ESHORT;
	/* `u64 as usize` on wasm32: the high half is dropped; `size + 8` past usize::MAX panics
	 * in the SDK (overflow checks are on in Nym's release profile): refused here. */
	uint64_t size = 0;
	for (int i = 4; i < 8; i++)
		size = size << 8 | msg[i];
	if (size > UINT32_MAX - NS_SDKP_PREFIX_LEN || size > len - NS_SDKP_PREFIX_LEN)
		return NS_SDKP_ELENGTH;
	int rc = metadata(msg + NS_SDKP_PREFIX_LEN, (size_t)size, d);
	if (rc < 0) {
		ns_sdkp_decoded_free(d);
		return rc;
	}
	d->payload_off = NS_SDKP_PREFIX_LEN + (size_t)size;
	d->payload_len = len - d->payload_off;
	return 0;
}

void ns_sdkp_decoded_free(struct ns_sdkp_decoded *d)
{
	free(d->mime);
	free(d->headers);
	memset(d, 0, sizeof *d);
}

const char *ns_sdkp_strerror(int err)
{
	switch (err) {
	case NS_SDKP_ESHORT: return "shorter than the 8-byte length";
	case NS_SDKP_ELENGTH: return "the header length runs past the message";
	case NS_SDKP_EJSON: return "the header is not the JSON the SDK accepts";
	case NS_SDKP_EMIME: return "the header has no mimeType";
	case NS_SDKP_EDUP: return "a header field is given twice";
	case NS_SDKP_EUTF8: return "a mime type or headers that is not UTF-8";
	case NS_SDKP_ESPACE: return "output buffer too small";
	case NS_SDKP_ENOMEM: return "out of memory";
	default: return "unknown error";
	}
}
