/* Strict TOML-subset reader/writer; see toml.h for what is supported. */
#include "toml.h"

#include "crypto.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_SEP '\x1f' /* joins table path segments internally; never valid inside a key */
#define MAX_KEY_SEGMENTS 16
#define MAX_ARRAY_ITEMS 4096

/* How a table came to exist decides what may extend it later (TOML 1.0 rules). */
enum table_origin { ORIGIN_IMPLICIT, ORIGIN_HEADER, ORIGIN_DOTTED, ORIGIN_INLINE };

struct entry {
	char *key;
	struct toml_value v;
};

struct table {
	char *path; /* segments joined by PATH_SEP; "" is the root */
	enum table_origin origin;
	struct entry *e;
	size_t n, cap;
};

struct toml_doc {
	struct table *t;
	size_t n, cap;
};

/* ---------------------------------------------------------------- growable string */

struct sbuf {
	char *d;
	size_t n, cap;
	int oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *d = realloc(b->d, cap);
		if (!d) {
			b->oom = 1;
			return;
		}
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->n, s, n);
	b->n += n;
	b->d[b->n] = 0;
}

static void sb_putc(struct sbuf *b, char c) { sb_putn(b, &c, 1); }
static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		b->oom = 1;
	else
		sb_putn(b, tmp, (size_t)n);
}

/* Takes ownership of the buffer (an empty string if nothing was written); NULL on OOM. */
static char *sb_take(struct sbuf *b)
{
	if (!b->oom && !b->d)
		sb_putn(b, "", 0);
	if (b->oom) {
		free(b->d);
		b->d = NULL;
		return NULL;
	}
	char *d = b->d;
	b->d = NULL;
	return d;
}

/* ---------------------------------------------------------------- values and tables */

static void value_free(struct toml_value *v)
{
	if (v->type == TOML_STRING) {
		if (v->u.s)
			ns_memzero(v->u.s, strlen(v->u.s)); /* configs may hold secrets */
		free(v->u.s);
	}
	else if (v->type == TOML_ARRAY) {
		for (size_t i = 0; i < v->u.arr.n; i++)
			value_free(&v->u.arr.items[i]);
		free(v->u.arr.items);
	}
	memset(v, 0, sizeof *v);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
		value_free(&t->e[i].v);
	}
	free(t->e);
	free(t->path);
}

void toml_free(struct toml_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n; i++)
		table_free(&doc->t[i]);
	free(doc->t);
	free(doc);
}

static long find_table(const struct toml_doc *doc, const char *path)
{
	for (size_t i = 0; i < doc->n; i++)
		if (strcmp(doc->t[i].path, path) == 0)
			return (long)i;
	return -1;
}

static long find_entry(const struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0)
			return (long)i;
	return -1;
}

/* Appends a table; returns its index or -1 on OOM. Takes ownership of path. */
static long push_table(struct toml_doc *doc, char *path, enum table_origin origin)
{
	if (doc->n == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 8;
		struct table *t = realloc(doc->t, cap * sizeof *t);
		if (!t) {
			free(path);
			return -1;
		}
		doc->t = t;
		doc->cap = cap;
	}
	doc->t[doc->n] = (struct table){ .path = path, .origin = origin };
	return (long)doc->n++;
}

static int push_entry(struct table *t, char *key, struct toml_value *v)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct entry *e = realloc(t->e, cap * sizeof *e);
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].key = key;
	t->e[t->n].v = *v;
	t->n++;
	return 0;
}

struct toml_doc *toml_new(void)
{
	struct toml_doc *doc = calloc(1, sizeof *doc);
	if (!doc)
		return NULL;
	char *root = strdup("");
	if (!root || push_table(doc, root, ORIGIN_HEADER) < 0) {
		free(doc);
		return NULL;
	}
	return doc;
}

/* path + SEP + seg, or seg alone under the root. */
static char *join_path(const char *path, const char *seg)
{
	size_t a = strlen(path), b = strlen(seg);
	char *out = malloc(a + b + 2);
	if (!out)
		return NULL;
	if (a) {
		memcpy(out, path, a);
		out[a++] = PATH_SEP;
	}
	memcpy(out + a, seg, b + 1);
	return out;
}

/* Splits a full path into its parent path (malloc'd) and last segment (pointer into path). */
static char *parent_path(const char *path, const char **last)
{
	const char *sep = strrchr(path, PATH_SEP);
	*last = sep ? sep + 1 : path;
	size_t n = sep ? (size_t)(sep - path) : 0;
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, path, n);
	p[n] = 0;
	return p;
}

/* 1 if table `path` has a plain key with the same name as a table would get. */
static int key_clashes(const struct toml_doc *doc, const char *path)
{
	const char *last;
	char *parent = parent_path(path, &last);
	if (!parent)
		return 1;
	long ti = find_table(doc, parent);
	int clash = ti >= 0 && find_entry(&doc->t[ti], last) >= 0;
	free(parent);
	return clash;
}

/* ---------------------------------------------------------------- parser */

struct parser {
	const char *p, *end;
	int line;
	struct toml_doc *doc;
	long cur; /* table receiving key = value lines */
	struct toml_error *err;
};

static int fail(struct parser *ps, const char *msg)
{
	if (ps->err && ps->err->msg[0] == 0) {
		ps->err->line = ps->line;
		snprintf(ps->err->msg, sizeof ps->err->msg, "%s", msg);
	}
	return -1;
}

static int is_bare(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_oct(char c) { return c >= '0' && c <= '7'; }
static int is_bin(char c) { return c == '0' || c == '1'; }

/* A control character TOML forbids in strings and comments (tab is allowed). */
static int is_forbidden_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else
			return 0;
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

static int skip_comment(struct parser *ps)
{
	if (ps->p >= ps->end || *ps->p != '#')
		return 0;
	while (ps->p < ps->end && *ps->p != '\n') {
		if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			break;
		if (is_forbidden_ctl((unsigned char)*ps->p) && *ps->p != '#')
			return fail(ps, "control character in comment");
		ps->p++;
	}
	return 0;
}

/* Consumes a newline if there is one: 1 if consumed, 0 if none, -1 on a bare CR. */
static int take_newline(struct parser *ps)
{
	if (ps->p < ps->end && *ps->p == '\n') {
		ps->p++;
		ps->line++;
		return 1;
	}
	if (ps->p < ps->end && *ps->p == '\r') {
		if (ps->p + 1 < ps->end && ps->p[1] == '\n') {
			ps->p += 2;
			ps->line++;
			return 1;
		}
		return fail(ps, "bare carriage return");
	}
	return 0;
}

/* After a header or key/value: optional whitespace and comment, then newline or end. */
static int expect_eol(struct parser *ps)
{
	skip_ws(ps);
	if (skip_comment(ps) < 0)
		return -1;
	if (ps->p >= ps->end)
		return 0;
	int r = take_newline(ps);
	if (r < 0)
		return -1;
	return r ? 0 : fail(ps, "expected end of line");
}

/* Whitespace, comments and newlines, as allowed between array items. */
static int skip_ws_nl(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (skip_comment(ps) < 0)
			return -1;
		int r = take_newline(ps);
		if (r < 0)
			return -1;
		if (!r)
			return 0;
	}
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
	char o[4];
	if (cp < 0x80) {
		sb_putc(b, (char)cp);
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		sb_putn(b, o, 4);
	}
}

static int parse_unicode_escape(struct parser *ps, struct sbuf *b, int digits)
{
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++) {
		if (ps->p >= ps->end || !is_hex(*ps->p))
			return fail(ps, "bad unicode escape");
		char c = *ps->p++;
		cp = cp * 16 + (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(ps, "unicode escape is not an allowed scalar value");
	put_utf8(b, cp);
	return 0;
}

static int parse_escape(struct parser *ps, struct sbuf *b)
{
	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	char c = *ps->p++;
	switch (c) {
	case 'b': sb_putc(b, '\b'); return 0;
	case 't': sb_putc(b, '\t'); return 0;
	case 'n': sb_putc(b, '\n'); return 0;
	case 'f': sb_putc(b, '\f'); return 0;
	case 'r': sb_putc(b, '\r'); return 0;
	case '"': sb_putc(b, '"'); return 0;
	case '\\': sb_putc(b, '\\'); return 0;
	case 'u': return parse_unicode_escape(ps, b, 4);
	case 'U': return parse_unicode_escape(ps, b, 8);
	default: return fail(ps, "invalid escape in string");
	}
}

/* A basic "..." or literal '...' string at ps->p; returns a malloc'd string or NULL. */
static char *parse_string(struct parser *ps)
{
	char quote = *ps->p;
	if (ps->end - ps->p >= 3 && ps->p[1] == quote && ps->p[2] == quote) {
		fail(ps, "multi-line strings are not supported");
		return NULL;
	}
	ps->p++;
	struct sbuf b = { 0 };
	for (;;) {
		if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r') {
			fail(ps, "unterminated string");
			goto err;
		}
		char c = *ps->p;
		if (c == quote) {
			ps->p++;
			break;
		}
		if (is_forbidden_ctl((unsigned char)c)) {
			fail(ps, "control character in string");
			goto err;
		}
		if (c == '\\' && quote == '"') {
			ps->p++;
			if (parse_escape(ps, &b) < 0)
				goto err;
			continue;
		}
		sb_putc(&b, c);
		ps->p++;
	}
	char *s = sb_take(&b);
	if (!s)
		fail(ps, "out of memory");
	return s;
err:
	free(b.d);
	return NULL;
}

/* ---- numbers */

typedef int (*digit_pred)(char);

/* One or more digits; '_' only between two digits. Returns the index after them or -1. */
static long scan_digits(const char *s, size_t n, size_t i, digit_pred ok)
{
	if (i >= n || !ok(s[i]))
		return -1;
	i++;
	while (i < n) {
		if (ok(s[i]))
			i++;
		else if (s[i] == '_' && i + 1 < n && ok(s[i + 1]))
			i += 2;
		else
			break;
	}
	return (long)i;
}

static void strip_underscores(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			out[k++] = s[i];
	out[k] = 0;
}

static int parse_based_int(struct parser *ps, const char *tok, size_t n, struct toml_value *v)
{
	digit_pred ok = tok[1] == 'x' ? is_hex : tok[1] == 'o' ? is_oct : is_bin;
	int base = tok[1] == 'x' ? 16 : tok[1] == 'o' ? 8 : 2;
	if (scan_digits(tok, n, 2, ok) != (long)n)
		return fail(ps, "malformed integer");
	char clean[80];
	strip_underscores(tok + 2, n - 2, clean);
	errno = 0;
	char *endp;
	unsigned long long u = strtoull(clean, &endp, base);
	if (errno || *endp || u > INT64_MAX)
		return fail(ps, "integer out of range");
	v->type = TOML_INT;
	v->u.i = (int64_t)u;
	return 0;
}

/* Decimal integer or float per the TOML grammar (no leading zeros). */
static int parse_decimal(struct parser *ps, const char *tok, size_t n, struct toml_value *v)
{
	size_t i = (tok[0] == '+' || tok[0] == '-') ? 1 : 0;
	size_t int_start = i;
	long j = scan_digits(tok, n, i, is_digit);
	if (j < 0)
		return fail(ps, "malformed number");
	if (tok[int_start] == '0' && j - (long)int_start > 1)
		return fail(ps, "leading zero in number");
	int is_float = 0;
	if ((size_t)j < n && tok[j] == '.') {
		j = scan_digits(tok, n, (size_t)j + 1, is_digit);
		if (j < 0)
			return fail(ps, "malformed float");
		is_float = 1;
	}
	if ((size_t)j < n && (tok[j] == 'e' || tok[j] == 'E')) {
		size_t k = (size_t)j + 1;
		if (k < n && (tok[k] == '+' || tok[k] == '-'))
			k++;
		j = scan_digits(tok, n, k, is_digit);
		if (j < 0)
			return fail(ps, "malformed exponent");
		is_float = 1;
	}
	if ((size_t)j != n)
		return fail(ps, "malformed number");
	char clean[80];
	strip_underscores(tok, n, clean);
	char *endp;
	errno = 0;
	if (is_float) {
		double d = strtod(clean, &endp);
		if (*endp || (errno == ERANGE && isinf(d)))
			return fail(ps, "float out of range");
		v->type = TOML_FLOAT;
		v->u.f = d;
	} else {
		long long x = strtoll(clean, &endp, 10);
		if (*endp || errno)
			return fail(ps, "integer out of range");
		v->type = TOML_INT;
		v->u.i = x;
	}
	return 0;
}

static int parse_number(struct parser *ps, struct toml_value *v)
{
	const char *s = ps->p;
	while (ps->p < ps->end && (is_bare(*ps->p) || *ps->p == '+' || *ps->p == '.'))
		ps->p++;
	size_t n = (size_t)(ps->p - s);
	if (n == 0)
		return fail(ps, "expected a value");
	if (n >= 64)
		return fail(ps, "number too long");
	if (ps->p < ps->end && *ps->p == ':')
		return fail(ps, "date-times are not supported");
	/* YYYY-MM-DD...; a float such as 2.6e-43 has its '-' at the same place */
	if (n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-')
		return fail(ps, "date-times are not supported");
	char tok[64];
	memcpy(tok, s, n);
	tok[n] = 0;
	const char *body = (tok[0] == '+' || tok[0] == '-') ? tok + 1 : tok;
	if (strcmp(body, "inf") == 0 || strcmp(body, "nan") == 0) {
		v->type = TOML_FLOAT;
		v->u.f = body[0] == 'i' ? INFINITY : NAN;
		if (tok[0] == '-')
			v->u.f = -v->u.f;
		return 0;
	}
	if (n > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b'))
		return parse_based_int(ps, tok, n, v);
	return parse_decimal(ps, tok, n, v);
}

/* ---- keys */

struct key_path {
	char *seg[MAX_KEY_SEGMENTS];
	size_t n;
};

static void key_path_free(struct key_path *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->seg[i]);
	k->n = 0;
}

static char *parse_key_segment(struct parser *ps)
{
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
		char *s = parse_string(ps);
		if (s && strchr(s, PATH_SEP)) {
			free(s);
			fail(ps, "control character in key");
			return NULL;
		}
		return s;
	}
	const char *s = ps->p;
	while (ps->p < ps->end && is_bare(*ps->p))
		ps->p++;
	if (ps->p == s) {
		fail(ps, "expected a key");
		return NULL;
	}
	char *out = strndup(s, (size_t)(ps->p - s));
	if (!out)
		fail(ps, "out of memory");
	return out;
}

static int parse_key_path(struct parser *ps, struct key_path *k)
{
	k->n = 0;
	for (;;) {
		skip_ws(ps);
		if (k->n == MAX_KEY_SEGMENTS)
			return fail(ps, "key has too many parts");
		char *seg = parse_key_segment(ps);
		if (!seg)
			return -1;
		k->seg[k->n++] = seg;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '.') {
			ps->p++;
			continue;
		}
		return 0;
	}
}

/* ---- tables */

/* Finds or creates table base+segs[0..n); intermediate and final tables that must be created
 * get `origin`. An existing table may only be entered when `may_enter` allows its origin. */
static long walk_tables(struct parser *ps, long base, char *const *segs, size_t n,
                        enum table_origin origin, int (*may_enter)(enum table_origin))
{
	long ti = base;
	for (size_t i = 0; i < n; i++) {
		char *path = join_path(ps->doc->t[ti].path, segs[i]);
		if (!path)
			return fail(ps, "out of memory");
		long next = find_table(ps->doc, path);
		if (next >= 0) {
			free(path);
			if (!may_enter(ps->doc->t[next].origin))
				return fail(ps, "cannot extend a table defined elsewhere");
			ti = next;
			continue;
		}
		if (find_entry(&ps->doc->t[ti], segs[i]) >= 0) {
			free(path);
			return fail(ps, "key already holds a value, not a table");
		}
		ti = push_table(ps->doc, path, origin);
		if (ti < 0)
			return fail(ps, "out of memory");
	}
	return ti;
}

static int enter_for_header(enum table_origin o) { return o != ORIGIN_INLINE; }
static int enter_for_dotted(enum table_origin o) { return o == ORIGIN_DOTTED; }
static int enter_for_inline(enum table_origin o) { return o == ORIGIN_INLINE; }

static int parse_header(struct parser *ps)
{
	ps->p++; /* '[' */
	if (ps->p < ps->end && *ps->p == '[')
		return fail(ps, "arrays of tables are not supported");
	struct key_path k;
	if (parse_key_path(ps, &k) < 0) {
		key_path_free(&k);
		return -1;
	}
	int rc = -1;
	if (ps->p >= ps->end || *ps->p != ']') {
		fail(ps, "expected ']'");
		goto out;
	}
	ps->p++;
	long parent = walk_tables(ps, 0, k.seg, k.n - 1, ORIGIN_IMPLICIT, enter_for_header);
	if (parent < 0)
		goto out;
	char *path = join_path(ps->doc->t[parent].path, k.seg[k.n - 1]);
	if (!path) {
		fail(ps, "out of memory");
		goto out;
	}
	long ti = find_table(ps->doc, path);
	if (ti >= 0) {
		free(path);
		if (ps->doc->t[ti].origin != ORIGIN_IMPLICIT) {
			fail(ps, "table defined twice");
			goto out;
		}
		ps->doc->t[ti].origin = ORIGIN_HEADER;
	} else {
		if (find_entry(&ps->doc->t[parent], k.seg[k.n - 1]) >= 0) {
			free(path);
			fail(ps, "key already holds a value, not a table");
			goto out;
		}
		ti = push_table(ps->doc, path, ORIGIN_HEADER);
		if (ti < 0) {
			fail(ps, "out of memory");
			goto out;
		}
	}
	ps->cur = ti;
	rc = expect_eol(ps);
out:
	key_path_free(&k);
	return rc;
}

/* ---- values */

static int parse_value(struct parser *ps, long table, const char *key, struct toml_value *v,
                       int scalar_only);

static int parse_array(struct parser *ps, struct toml_value *v)
{
	ps->p++; /* '[' */
	v->type = TOML_ARRAY;
	size_t cap = 0;
	for (;;) {
		if (skip_ws_nl(ps) < 0)
			return -1;
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (v->u.arr.n == MAX_ARRAY_ITEMS)
			return fail(ps, "array too long");
		if (v->u.arr.n == cap) {
			cap = cap ? cap * 2 : 4;
			struct toml_value *items = realloc(v->u.arr.items, cap * sizeof *items);
			if (!items)
				return fail(ps, "out of memory");
			v->u.arr.items = items;
		}
		struct toml_value *item = &v->u.arr.items[v->u.arr.n];
		memset(item, 0, sizeof *item);
		if (parse_value(ps, -1, NULL, item, 1) < 0) {
			value_free(item);
			return -1;
		}
		v->u.arr.n++;
		if (skip_ws_nl(ps) < 0)
			return -1;
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or ']' in array");
	}
}

static int parse_keyval(struct parser *ps, long table, enum table_origin origin,
                        int (*may_enter)(enum table_origin));

/* `{ a = 1, b.c = "x" }` stored as table `table`.`key`. */
static int parse_inline_table(struct parser *ps, long table, const char *key)
{
	ps->p++; /* '{' */
	char *path = join_path(ps->doc->t[table].path, key);
	if (!path)
		return fail(ps, "out of memory");
	if (find_table(ps->doc, path) >= 0) {
		free(path);
		return fail(ps, "table defined twice");
	}
	long ti = push_table(ps->doc, path, ORIGIN_INLINE);
	if (ti < 0)
		return fail(ps, "out of memory");
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (parse_keyval(ps, ti, ORIGIN_INLINE, enter_for_inline) < 0)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or '}' in inline table");
	}
}

static int match_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return 0;
	if ((size_t)(ps->end - ps->p) > n && (is_bare(ps->p[n]) || ps->p[n] == '.'))
		return 0;
	ps->p += n;
	return 1;
}

/* Parses one value. An inline table is created as table.key (not allowed when scalar_only). */
static int parse_value(struct parser *ps, long table, const char *key, struct toml_value *v,
                       int scalar_only)
{
	if (ps->p >= ps->end)
		return fail(ps, "expected a value");
	char c = *ps->p;
	if (c == '"' || c == '\'') {
		v->u.s = parse_string(ps);
		if (!v->u.s)
			return -1;
		v->type = TOML_STRING;
		return 0;
	}
	if (c == '[')
		return scalar_only ? fail(ps, "nested arrays are not supported") : parse_array(ps, v);
	if (c == '{')
		return scalar_only ? fail(ps, "inline tables are not supported here")
		                   : parse_inline_table(ps, table, key);
	if (match_word(ps, "true") || match_word(ps, "false")) {
		v->type = TOML_BOOL;
		v->u.b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return 0;
	}
	return parse_number(ps, v);
}

/* key = value into `table` (dotted keys create sub-tables with `origin`). */
static int parse_keyval(struct parser *ps, long table, enum table_origin origin,
                        int (*may_enter)(enum table_origin))
{
	struct key_path k;
	if (parse_key_path(ps, &k) < 0) {
		key_path_free(&k);
		return -1;
	}
	int rc = -1;
	struct toml_value v = { 0 };
	if (ps->p >= ps->end || *ps->p != '=') {
		fail(ps, "expected '=' after key");
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	long ti = walk_tables(ps, table, k.seg, k.n - 1, origin, may_enter);
	if (ti < 0)
		goto out;
	const char *key = k.seg[k.n - 1];
	char *path = join_path(ps->doc->t[ti].path, key);
	if (!path) {
		fail(ps, "out of memory");
		goto out;
	}
	int exists = find_entry(&ps->doc->t[ti], key) >= 0 || find_table(ps->doc, path) >= 0;
	free(path);
	if (exists) {
		fail(ps, "duplicate key");
		goto out;
	}
	if (parse_value(ps, ti, key, &v, 0) < 0)
		goto out;
	if (v.type == 0) { /* an inline table: already stored as a table */
		rc = 0;
		goto out;
	}
	if (push_entry(&ps->doc->t[ti], k.seg[k.n - 1], &v) < 0) {
		fail(ps, "out of memory");
		goto out;
	}
	k.n--; /* the entry owns the last segment now */
	memset(&v, 0, sizeof v);
	rc = 0;
out:
	value_free(&v);
	key_path_free(&k);
	return rc;
}

static int parse_document(struct parser *ps)
{
	while (ps->p < ps->end) {
		skip_ws(ps);
		if (skip_comment(ps) < 0)
			return -1;
		int r = take_newline(ps);
		if (r < 0)
			return -1;
		if (r || ps->p >= ps->end)
			continue;
		if (*ps->p == '[') {
			if (parse_header(ps) < 0)
				return -1;
			continue;
		}
		if (parse_keyval(ps, ps->cur, ORIGIN_DOTTED, enter_for_dotted) < 0 || expect_eol(ps) < 0)
			return -1;
	}
	return 0;
}

struct toml_doc *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	if (err)
		memset(err, 0, sizeof *err);
	struct parser ps = { .p = text, .end = text + len, .line = 1, .err = err };
	if (len > TOML_MAX_INPUT) {
		fail(&ps, "document too large");
		return NULL;
	}
	if (memchr(text, 0, len) || !utf8_valid((const unsigned char *)text, len)) {
		fail(&ps, "not valid UTF-8 text");
		return NULL;
	}
	ps.doc = toml_new();
	if (!ps.doc) {
		fail(&ps, "out of memory");
		return NULL;
	}
	if (parse_document(&ps) < 0) {
		toml_free(ps.doc);
		return NULL;
	}
	return ps.doc;
}

/* ---------------------------------------------------------------- lookups */

/* "a.b" -> "a<SEP>b" in a caller buffer; NULL if too long. */
static const char *internal_path(const char *dotted, char *buf, size_t cap)
{
	size_t n = strlen(dotted);
	if (n >= cap)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		buf[i] = dotted[i] == '.' ? PATH_SEP : dotted[i];
	return buf;
}

static long lookup_table(const struct toml_doc *doc, const char *table)
{
	char buf[256];
	const char *path = internal_path(table ? table : "", buf, sizeof buf);
	return path ? find_table(doc, path) : -1;
}

int toml_has_table(const struct toml_doc *doc, const char *table)
{
	return lookup_table(doc, table) >= 0;
}

const struct toml_value *toml_get(const struct toml_doc *doc, const char *table, const char *key)
{
	long ti = lookup_table(doc, table);
	if (ti < 0)
		return NULL;
	long ei = find_entry(&doc->t[ti], key);
	return ei < 0 ? NULL : &doc->t[ti].e[ei].v;
}

static const struct toml_value *get_typed(const struct toml_doc *doc, const char *table,
                                          const char *key, enum toml_type type)
{
	const struct toml_value *v = toml_get(doc, table, key);
	return v && v->type == type ? v : NULL;
}

int toml_get_string(const struct toml_doc *doc, const char *table, const char *key, const char **out)
{
	const struct toml_value *v = get_typed(doc, table, key, TOML_STRING);
	if (!v)
		return -1;
	*out = v->u.s;
	return 0;
}

int toml_get_int(const struct toml_doc *doc, const char *table, const char *key, int64_t *out)
{
	const struct toml_value *v = get_typed(doc, table, key, TOML_INT);
	if (!v)
		return -1;
	*out = v->u.i;
	return 0;
}

int toml_get_float(const struct toml_doc *doc, const char *table, const char *key, double *out)
{
	const struct toml_value *v = toml_get(doc, table, key);
	if (!v || (v->type != TOML_FLOAT && v->type != TOML_INT))
		return -1;
	*out = v->type == TOML_FLOAT ? v->u.f : (double)v->u.i;
	return 0;
}

int toml_get_bool(const struct toml_doc *doc, const char *table, const char *key, int *out)
{
	const struct toml_value *v = get_typed(doc, table, key, TOML_BOOL);
	if (!v)
		return -1;
	*out = v->u.b;
	return 0;
}

/* ---------------------------------------------------------------- setters */

static int valid_bare(const char *s, int allow_dots)
{
	if (!*s)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && allow_dots && p != s && p[1] && p[1] != '.')
			continue;
		if (!is_bare(*p))
			return 0;
	}
	return 1;
}

static long ensure_table(struct toml_doc *doc, const char *table)
{
	if (!table || !*table)
		return 0;
	if (!valid_bare(table, 1))
		return -1;
	char buf[256];
	const char *path = internal_path(table, buf, sizeof buf);
	if (!path)
		return -1;
	/* create every prefix so the dump lists parents before children */
	for (size_t i = 0;; i++) {
		if (path[i] == PATH_SEP || path[i] == 0) {
			char *prefix = strndup(path, i);
			if (!prefix)
				return -1;
			if (find_table(doc, prefix) < 0) {
				if (key_clashes(doc, prefix) || push_table(doc, prefix, ORIGIN_HEADER) < 0) {
					free(prefix);
					return -1;
				}
			} else
				free(prefix);
		}
		if (path[i] == 0)
			break;
	}
	return find_table(doc, path);
}

int toml_add_table(struct toml_doc *doc, const char *table)
{
	return ensure_table(doc, table) < 0 ? -1 : 0;
}

static int set_value(struct toml_doc *doc, const char *table, const char *key, struct toml_value *v)
{
	long ti = valid_bare(key, 0) ? ensure_table(doc, table) : -1;
	if (ti < 0) {
		value_free(v);
		return -1;
	}
	struct table *t = &doc->t[ti];
	char *child = join_path(t->path, key);
	int clash = !child || find_table(doc, child) >= 0;
	free(child);
	if (clash) {
		value_free(v);
		return -1;
	}
	long ei = find_entry(t, key);
	if (ei >= 0) {
		value_free(&t->e[ei].v);
		t->e[ei].v = *v;
		return 0;
	}
	char *k = strdup(key);
	if (!k || push_entry(t, k, v) < 0) {
		free(k);
		value_free(v);
		return -1;
	}
	return 0;
}

int toml_set_string(struct toml_doc *doc, const char *table, const char *key, const char *s)
{
	struct toml_value v = { .type = TOML_STRING };
	v.u.s = strdup(s);
	if (!v.u.s)
		return -1;
	return set_value(doc, table, key, &v);
}

int toml_set_int(struct toml_doc *doc, const char *table, const char *key, int64_t x)
{
	struct toml_value v = { .type = TOML_INT, .u.i = x };
	return set_value(doc, table, key, &v);
}

int toml_set_float(struct toml_doc *doc, const char *table, const char *key, double x)
{
	struct toml_value v = { .type = TOML_FLOAT, .u.f = x };
	return set_value(doc, table, key, &v);
}

int toml_set_bool(struct toml_doc *doc, const char *table, const char *key, int b)
{
	struct toml_value v = { .type = TOML_BOOL, .u.b = !!b };
	return set_value(doc, table, key, &v);
}

int toml_set_string_array(struct toml_doc *doc, const char *table, const char *key,
                          const char *const *items, size_t n)
{
	struct toml_value v = { .type = TOML_ARRAY };
	v.u.arr.items = calloc(n ? n : 1, sizeof *v.u.arr.items);
	if (!v.u.arr.items)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v.u.arr.items[i].type = TOML_STRING;
		v.u.arr.items[i].u.s = strdup(items[i]);
		v.u.arr.n++;
		if (!v.u.arr.items[i].u.s) {
			value_free(&v);
			return -1;
		}
	}
	return set_value(doc, table, key, &v);
}

/* ---------------------------------------------------------------- dump */

static void dump_string(struct sbuf *b, const char *s)
{
	sb_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\t': sb_puts(b, "\\t"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\b': sb_puts(b, "\\b"); break;
		case '\f': sb_puts(b, "\\f"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_printf(b, "\\u%04X", *p);
			else
				sb_putc(b, (char)*p);
		}
	}
	sb_putc(b, '"');
}

static void dump_key(struct sbuf *b, const char *k)
{
	if (valid_bare(k, 0))
		sb_puts(b, k);
	else
		dump_string(b, k);
}

static void dump_float(struct sbuf *b, double f)
{
	if (isnan(f)) {
		sb_puts(b, "nan");
		return;
	}
	if (isinf(f)) {
		sb_puts(b, f < 0 ? "-inf" : "inf");
		return;
	}
	char tmp[40];
	snprintf(tmp, sizeof tmp, "%.17g", f);
	sb_puts(b, tmp);
	if (!strpbrk(tmp, ".e"))
		sb_puts(b, ".0");
}

static void dump_value(struct sbuf *b, const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING: dump_string(b, v->u.s); break;
	case TOML_INT: sb_printf(b, "%" PRId64, v->u.i); break;
	case TOML_FLOAT: dump_float(b, v->u.f); break;
	case TOML_BOOL: sb_puts(b, v->u.b ? "true" : "false"); break;
	case TOML_ARRAY:
		sb_putc(b, '[');
		for (size_t i = 0; i < v->u.arr.n; i++) {
			if (i)
				sb_puts(b, ", ");
			dump_value(b, &v->u.arr.items[i]);
		}
		sb_putc(b, ']');
		break;
	}
}

static void dump_header(struct sbuf *b, const char *path)
{
	sb_putc(b, '[');
	const char *seg = path;
	for (;;) {
		const char *sep = strchr(seg, PATH_SEP);
		char *one = strndup(seg, sep ? (size_t)(sep - seg) : strlen(seg));
		if (!one) {
			b->oom = 1;
			return;
		}
		dump_key(b, one);
		free(one);
		if (!sep)
			break;
		sb_putc(b, '.');
		seg = sep + 1;
	}
	sb_puts(b, "]\n");
}

char *toml_dump(const struct toml_doc *doc, size_t *len)
{
	struct sbuf b = { 0 };
	for (size_t i = 0; i < doc->n; i++) {
		const struct table *t = &doc->t[i];
		if (t->path[0]) {
			if (b.n)
				sb_putc(&b, '\n');
			dump_header(&b, t->path);
		}
		for (size_t k = 0; k < t->n; k++) {
			dump_key(&b, t->e[k].key);
			sb_puts(&b, " = ");
			dump_value(&b, &t->e[k].v);
			sb_putc(&b, '\n');
		}
	}
	char *out = sb_take(&b);
	if (out && len)
		*len = strlen(out);
	return out;
}

/* ---------------------------------------------------------------- equality */

static int value_equal(const struct toml_value *a, const struct toml_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case TOML_STRING: return strcmp(a->u.s, b->u.s) == 0;
	case TOML_INT: return a->u.i == b->u.i;
	case TOML_BOOL: return a->u.b == b->u.b;
	case TOML_FLOAT:
		if (isnan(a->u.f) || isnan(b->u.f))
			return isnan(a->u.f) && isnan(b->u.f);
		return memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0;
	case TOML_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return 0;
		for (size_t i = 0; i < a->u.arr.n; i++)
			if (!value_equal(&a->u.arr.items[i], &b->u.arr.items[i]))
				return 0;
		return 1;
	}
	return 0;
}

int toml_equal(const struct toml_doc *a, const struct toml_doc *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct table *ta = &a->t[i];
		long j = find_table(b, ta->path);
		if (j < 0 || b->t[j].n != ta->n)
			return 0;
		for (size_t k = 0; k < ta->n; k++) {
			long e = find_entry(&b->t[j], ta->e[k].key);
			if (e < 0 || !value_equal(&ta->e[k].v, &b->t[j].e[e].v))
				return 0;
		}
	}
	return 1;
}
