/* Unix-socket API framing, admin request lines and unsent-fragment records (clientlocal.h). */
#include "clientlocal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bytes.h"
#include "crypto.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- framing */

void ns_lframe_dec_init(struct ns_lframe_dec *d, size_t max)
{
	memset(d, 0, sizeof *d);
	d->max = max ? max : NS_LFRAME_MAX;
}

void ns_lframe_dec_free(struct ns_lframe_dec *d)
{
	free(d->buf);
	ns_lframe_dec_init(d, d->max);
}

void ns_lframe_header(uint64_t len, uint8_t out[NS_LFRAME_HDR])
{
	ns_put_be64(out, len);
}

static int reserve(struct ns_lframe_dec *d, size_t need)
{
	if (need <= d->cap)
		return 0;
	size_t cap = d->cap ? d->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > d->want)
		cap = (size_t)d->want;
	uint8_t *p = realloc(d->buf, cap ? cap : 1);
	if (!p)
		return -1;
	d->buf = p;
	d->cap = cap;
	return 0;
}

int ns_lframe_feed(struct ns_lframe_dec *d, const uint8_t *in, size_t len, size_t *used,
                   uint8_t **frame, size_t *frame_len)
{
	size_t pos = 0;
	*used = 0;
	if (d->hdr_have == NS_LFRAME_HDR && d->want > d->max)
		return NS_LFRAME_EBIG;
	if (d->hdr_have < NS_LFRAME_HDR) {
		size_t n = NS_LFRAME_HDR - d->hdr_have;
		if (n > len)
			n = len;
		memcpy(d->hdr + d->hdr_have, in, n);
		d->hdr_have += n;
		pos = n;
		*used = pos;
		if (d->hdr_have < NS_LFRAME_HDR)
			return NS_LFRAME_MORE;
		d->want = ns_get_be64(d->hdr);
		if (d->want > d->max)
			return NS_LFRAME_EBIG;
	}
	size_t n = (size_t)d->want - d->have;
	if (n > len - pos)
		n = len - pos;
	if (reserve(d, d->have + n) < 0)
		return NS_LFRAME_ENOMEM;
	if (n)
		memcpy(d->buf + d->have, in + pos, n);
	d->have += n;
	*used = pos + n;
	if (d->have < d->want)
		return NS_LFRAME_MORE;
	if (!d->buf && !(d->buf = malloc(1)))
		return NS_LFRAME_ENOMEM;
	*frame = d->buf;
	*frame_len = d->have;
	d->buf = NULL;
	d->cap = d->have = 0;
	d->hdr_have = 0;
	d->want = 0;
	return NS_LFRAME_DONE;
}

/* ---- admin requests */

static const char *const CMD_NAMES[NS_ADMIN_CMD_COUNT] = {
	[NS_ADMIN_STATUS] = "status",     [NS_ADMIN_ADDRESS] = "address",
	[NS_ADMIN_GATEWAY] = "gateway",   [NS_ADMIN_TOPOLOGY] = "topology",
	[NS_ADMIN_STATS] = "stats",
};

const char *ns_admin_cmd_name(enum ns_admin_cmd cmd)
{
	return (unsigned)cmd < NS_ADMIN_CMD_COUNT ? CMD_NAMES[cmd] : "?";
}

int ns_admin_cmd_from_name(const char *name)
{
	for (int i = 0; i < NS_ADMIN_CMD_COUNT; i++)
		if (!strcmp(name, CMD_NAMES[i]))
			return i;
	return -1;
}

/* cJSON over exactly len bytes, nothing but whitespace after the value. */
static cJSON *parse_exact(const char *text, size_t len)
{
	const char *end = NULL;
	if (!len || memchr(text, 0, len))
		return NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j)
		return NULL;
	for (; end && end < text + len; end++)
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(j);
			return NULL;
		}
	return j;
}

int ns_admin_parse_request(const char *line, size_t len, enum ns_admin_cmd *cmd, char *err,
                           size_t errcap)
{
	if (len >= NS_ADMIN_LINE_MAX)
		return fail(err, errcap, "request line longer than %d bytes", NS_ADMIN_LINE_MAX - 1);
	cJSON *j = parse_exact(line, len);
	if (!j)
		return fail(err, errcap, "request is not valid JSON");
	int rc = -1;
	const cJSON *c = cJSON_IsObject(j) ? j->child : NULL;
	if (!cJSON_IsObject(j))
		fail(err, errcap, "request is not a JSON object");
	else if (!c || strcmp(c->string, "cmd") || c->next)
		fail(err, errcap, "request must be exactly {\"cmd\": NAME}");
	else if (!cJSON_IsString(c) || ns_admin_cmd_from_name(c->valuestring) < 0)
		fail(err, errcap, "unknown cmd (status, address, gateway, topology, stats)");
	else {
		*cmd = (enum ns_admin_cmd)ns_admin_cmd_from_name(c->valuestring);
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

int ns_admin_is_flat_object(const char *json, size_t len)
{
	cJSON *j = parse_exact(json, len);
	int ok = cJSON_IsObject(j);
	for (const cJSON *c = ok ? j->child : NULL; c; c = c->next)
		if (!cJSON_IsString(c) && !cJSON_IsNumber(c) && !cJSON_IsBool(c))
			ok = 0;
	cJSON_Delete(j);
	return ok;
}

/* ---- human output */

struct lines {
	char **key, **val;
	size_t n, cap;
	int oom;
};

static char *dup_clean(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

static void add_line(struct lines *l, const char *key, char *val)
{
	if (!val || l->oom) {
		l->oom = 1;
		free(val);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **k = realloc(l->key, cap * sizeof *k);
		if (k)
			l->key = k;
		char **v = k ? realloc(l->val, cap * sizeof *v) : NULL;
		if (v)
			l->val = v;
		if (!k || !v) {
			l->oom = 1;
			free(val);
			return;
		}
		l->cap = cap;
	}
	l->key[l->n] = dup_clean(key);
	l->val[l->n] = val;
	if (!l->key[l->n]) {
		l->oom = 1;
		free(val);
		return;
	}
	l->n++;
}

static char *scalar_text(const cJSON *v)
{
	char num[64];
	if (cJSON_IsString(v))
		return dup_clean(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "yes" : "no");
	if (cJSON_IsNull(v))
		return strdup("-");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			snprintf(num, sizeof num, "%.0f", d);
		else
			snprintf(num, sizeof num, "%g", d);
		return strdup(num);
	}
	return NULL;
}

static char *array_text(const cJSON *a)
{
	size_t cap = 1, n = 0;
	char *out = calloc(1, 1);
	for (const cJSON *c = a->child; c && out; c = c->next) {
		char *t = cJSON_IsArray(c) || cJSON_IsObject(c) ? strdup("...") : scalar_text(c);
		if (!t) {
			free(out);
			return NULL;
		}
		size_t tl = strlen(t);
		char *o = realloc(out, cap + tl + 2);
		if (o) {
			out = o;
			memcpy(out + n, n ? ", " : "", n ? 2 : 0);
			n += n ? 2 : 0;
			memcpy(out + n, t, tl + 1);
			n += tl;
			cap = n + 1;
		} else {
			free(out);
			out = NULL;
		}
		free(t);
	}
	return out;
}

static void walk(struct lines *l, const cJSON *obj, const char *prefix, int depth)
{
	for (const cJSON *c = obj->child; c && !l->oom; c = c->next) {
		char key[256];
		snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", c->string ? c->string : "");
		if (cJSON_IsObject(c) && c->child && depth < 8)
			walk(l, c, key, depth + 1);
		else if (cJSON_IsObject(c) && !c->child)
			add_line(l, key, strdup("-"));
		else if (cJSON_IsArray(c))
			add_line(l, key, array_text(c));
		else if (cJSON_IsObject(c))
			add_line(l, key, strdup("..."));
		else
			add_line(l, key, scalar_text(c));
	}
}

static char *join_lines(const struct lines *l)
{
	size_t width = 0, total = 1;
	for (size_t i = 0; i < l->n; i++) {
		size_t k = strlen(l->key[i]);
		width = k > width ? k : width;
	}
	if (width > 40)
		width = 40;
	for (size_t i = 0; i < l->n; i++)
		total += strlen(l->key[i]) + width + strlen(l->val[i]) + 4;
	char *out = malloc(total), *p = out;
	for (size_t i = 0; out && i < l->n; i++) {
		size_t k = strlen(l->key[i]), pad = k < width ? width - k : 0;
		p += sprintf(p, "%s:%*s %s\n", l->key[i], (int)pad, "", l->val[i]);
	}
	if (out)
		*p = 0;
	return out;
}

char *ns_admin_format_human(const char *json, size_t len, char *err, size_t errcap)
{
	cJSON *j = parse_exact(json, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		fail(err, errcap, "the client's answer is not a JSON object");
		return NULL;
	}
	struct lines l = { 0 };
	cJSON_DeleteItemFromObjectCaseSensitive(j, "cmd"); /* the caller knows what it asked */
	walk(&l, j, "", 0);
	cJSON_Delete(j);
	char *out = l.oom ? NULL : join_lines(&l);
	for (size_t i = 0; i < l.n; i++) {
		free(l.key[i]);
		free(l.val[i]);
	}
	free(l.key);
	free(l.val);
	if (!out)
		fail(err, errcap, "out of memory");
	return out;
}

/* ---- unsent records */

static void record_check(const uint8_t *rec, size_t len, uint8_t out[8])
{
	uint8_t h[32];
	ns_sha256(h, rec, len);
	memcpy(out, h, 8);
}

size_t ns_unsent_encode(const struct ns_unsent_rec *r, uint8_t *out, size_t cap)
{
	size_t body = 5 + 96 + 8 + 4 + r->len, total = NS_UNSENT_OVERHEAD + r->len;
	if (!r->len || r->len > NS_UNSENT_FRAG_MAX || cap < total)
		return 0;
	uint8_t *p = out;
	memcpy(p, "NSU", 3);
	p[3] = NS_UNSENT_VERSION;
	ns_put_be32(p + 4, (uint32_t)body);
	p += 8;
	memcpy(p, r->frag_id, 5);
	memcpy(p + 5, r->recipient, 96);
	ns_put_be64(p + 101, r->lane);
	ns_put_be32(p + 109, (uint32_t)r->len);
	memcpy(p + 113, r->fragment, r->len);
	record_check(out, total - 8, out + total - 8);
	return total;
}

size_t ns_unsent_decode(const uint8_t *buf, size_t len, struct ns_unsent_rec *r, char *err,
                        size_t errcap)
{
	uint8_t check[8];
	if (len < 8) {
		fail(err, errcap, "truncated record header");
		return 0;
	}
	if (memcmp(buf, "NSU", 3)) {
		fail(err, errcap, "bad record magic");
		return 0;
	}
	if (buf[3] != NS_UNSENT_VERSION) {
		fail(err, errcap, "unknown record version %u", buf[3]);
		return 0;
	}
	uint64_t body = ns_get_be32(buf + 4);
	if (body < 5 + 96 + 8 + 4 + 1 || body > 5 + 96 + 8 + 4 + NS_UNSENT_FRAG_MAX) {
		fail(err, errcap, "bad record length %llu", (unsigned long long)body);
		return 0;
	}
	size_t total = 8 + (size_t)body + 8;
	if (len < total) {
		fail(err, errcap, "truncated record");
		return 0;
	}
	const uint8_t *p = buf + 8;
	uint64_t flen = ns_get_be32(p + 109);
	if (flen != body - (5 + 96 + 8 + 4)) {
		fail(err, errcap, "fragment length %llu does not match the record",
		     (unsigned long long)flen);
		return 0;
	}
	record_check(buf, total - 8, check);
	if (memcmp(check, buf + total - 8, 8)) {
		fail(err, errcap, "record checksum mismatch");
		return 0;
	}
	memcpy(r->frag_id, p, 5);
	memcpy(r->recipient, p + 5, 96);
	r->lane = ns_get_be64(p + 101);
	r->len = (size_t)flen;
	r->fragment = p + 113;
	return total;
}
