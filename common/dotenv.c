#include <stdio.h>
#include <string.h>

#include "dotenv.h"

struct cursor {
	const char *p, *end;
	unsigned line;
};

static int is_key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int fail(char *err, size_t cap, unsigned line, const char *why)
{
	if (err && cap)
		snprintf(err, cap, "line %u: %s", line, why);
	return -1;
}

static int read_key(struct cursor *c, char key[NS_DOTENV_MAX_KEY + 1], char *err, size_t cap)
{
	size_t n = 0;
	if (c->end - c->p > 7 && !memcmp(c->p, "export", 6) && (c->p[6] == ' ' || c->p[6] == '\t')) {
		c->p += 7;
		skip_blanks(c);
	}
	if (c->p >= c->end || !is_key_start(*c->p))
		return fail(err, cap, c->line, "a key must start with a letter or '_'");
	while (c->p < c->end && is_key_char(*c->p)) {
		if (n == NS_DOTENV_MAX_KEY)
			return fail(err, cap, c->line, "key too long");
		key[n++] = *c->p++;
	}
	key[n] = 0;
	skip_blanks(c);
	if (c->p >= c->end || *c->p != '=')
		return fail(err, cap, c->line, "expected '=' after the key");
	c->p++;
	skip_blanks(c);
	return 0;
}

static int put(char *v, size_t *n, char ch)
{
	if (*n == NS_DOTENV_MAX_VALUE)
		return -1;
	v[(*n)++] = ch;
	return 0;
}

static char unescape(char ch)
{
	return ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch;
}

/* A quoted value (the opening quote at c->p); may span lines. */
static int read_quoted(struct cursor *c, char *v, size_t *n, char *err, size_t cap)
{
	char q = *c->p++;
	unsigned start = c->line;
	for (;;) {
		if (c->p >= c->end)
			return fail(err, cap, start, "unterminated quoted value");
		char ch = *c->p++;
		if (ch == q)
			break;
		if (ch == '\0')
			return fail(err, cap, c->line, "NUL byte in a value");
		if (ch == '\n')
			c->line++;
		if (q == '"' && ch == '\\') {
			if (c->p >= c->end)
				return fail(err, cap, start, "unterminated quoted value");
			ch = unescape(*c->p++);
		}
		if (put(v, n, ch) < 0)
			return fail(err, cap, c->line, "value too long");
	}
	skip_blanks(c);
	if (c->p < c->end && *c->p == '#')
		while (c->p < c->end && *c->p != '\n')
			c->p++;
	if (c->p < c->end && *c->p != '\n' && *c->p != '\r')
		return fail(err, cap, c->line, "text after the closing quote");
	return 0;
}

static int read_bare(struct cursor *c, char *v, size_t *n, char *err, size_t cap)
{
	while (c->p < c->end && *c->p != '\n') {
		char ch = *c->p;
		if (ch == '#' && (*n == 0 || v[*n - 1] == ' ' || v[*n - 1] == '\t'))
			break;
		if (ch == '\0')
			return fail(err, cap, c->line, "NUL byte in a value");
		if (put(v, n, ch) < 0)
			return fail(err, cap, c->line, "value too long");
		c->p++;
	}
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	while (*n && (v[*n - 1] == ' ' || v[*n - 1] == '\t' || v[*n - 1] == '\r'))
		(*n)--;
	return 0;
}

int ns_dotenv_parse(const char *text, size_t len,
                    int (*cb)(void *ctx, const char *key, const char *value), void *ctx,
                    char *err, size_t errcap)
{
	static char key[NS_DOTENV_MAX_KEY + 1], value[NS_DOTENV_MAX_VALUE + 1];
	struct cursor c = { text, text + len, 1 };
	if (len > NS_DOTENV_MAX_INPUT)
		return fail(err, errcap, 0, "file too large");
	while (c.p < c.end) {
		skip_blanks(&c);
		if (c.p < c.end && (*c.p == '\n' || *c.p == '\r' || *c.p == '#')) {
			while (c.p < c.end && *c.p != '\n')
				c.p++;
		} else if (c.p < c.end) {
			size_t n = 0;
			if (read_key(&c, key, err, errcap) < 0)
				return -1;
			int rc = c.p < c.end && (*c.p == '"' || *c.p == '\'')
			                 ? read_quoted(&c, value, &n, err, errcap)
			                 : read_bare(&c, value, &n, err, errcap);
			if (rc < 0)
				return -1;
			value[n] = 0;
			if ((rc = cb(ctx, key, value)) != 0)
				return rc;
			while (c.p < c.end && *c.p != '\n')
				c.p++;
		}
		if (c.p < c.end) {
			c.p++;
			c.line++;
		}
	}
	return 0;
}
