/* A strict reader/writer for the TOML subset used by Nym client configs and localnet node
 * descriptors: [a.b] tables, key = value with bare, quoted and dotted keys, basic and literal
 * strings (single line, with escapes), integers (decimal/hex/octal/binary), floats (incl.
 * inf/nan), booleans, arrays of scalars (may span lines), inline tables of scalars, comments.
 * Not supported (a parse error, never silently ignored): multi-line strings, date-times,
 * arrays of tables [[x]], nested arrays.
 *
 * A document is a flat list of tables; an inline table `k = {a = 1}` inside table T is stored
 * as the table T.k. Table paths in the lookup API are dotted bare keys ("debug.traffic"),
 * "" is the root table. */
#ifndef NS_TOML_H
#define NS_TOML_H
#include <stddef.h>
#include <stdint.h>

enum toml_type { TOML_STRING = 1, TOML_INT, TOML_FLOAT, TOML_BOOL, TOML_ARRAY };

struct toml_value {
	enum toml_type type;
	union {
		char *s; /* NUL-terminated UTF-8 (the reader refuses \u0000) */
		int64_t i;
		double f;
		int b;
		struct {
			struct toml_value *items;
			size_t n;
		} arr;
	} u;
};

struct toml_doc;

struct toml_error {
	int line; /* 1-based; 0 when the error is not about a position (e.g. out of memory) */
	char msg[96];
};

#define TOML_MAX_INPUT (1u << 20) /* larger documents are refused */

/* Parses text (need not be NUL-terminated). NULL on error, with err filled when non-NULL. */
struct toml_doc *toml_parse(const char *text, size_t len, struct toml_error *err);
void toml_free(struct toml_doc *doc);
/* An empty document for building a file with the setters below. */
struct toml_doc *toml_new(void);

/* Lookups: NULL / -1 when the table or key is missing or has another type. */
const struct toml_value *toml_get(const struct toml_doc *doc, const char *table, const char *key);
int toml_has_table(const struct toml_doc *doc, const char *table);
int toml_get_string(const struct toml_doc *doc, const char *table, const char *key, const char **out);
int toml_get_int(const struct toml_doc *doc, const char *table, const char *key, int64_t *out);
int toml_get_float(const struct toml_doc *doc, const char *table, const char *key, double *out);
int toml_get_bool(const struct toml_doc *doc, const char *table, const char *key, int *out);

/* Setters create the table when needed and replace an existing key; 0 or -1. Table names and
 * keys must be bare keys ([A-Za-z0-9_-]+), dotted for tables. */
int toml_add_table(struct toml_doc *doc, const char *table);
int toml_set_string(struct toml_doc *doc, const char *table, const char *key, const char *v);
int toml_set_int(struct toml_doc *doc, const char *table, const char *key, int64_t v);
int toml_set_float(struct toml_doc *doc, const char *table, const char *key, double v);
int toml_set_bool(struct toml_doc *doc, const char *table, const char *key, int v);
int toml_set_string_array(struct toml_doc *doc, const char *table, const char *key,
                          const char *const *v, size_t n);

/* Serialises the document (root keys first, then one [header] per table, in creation order).
 * Returns a malloc'd NUL-terminated string, *len (if non-NULL) its length; NULL on OOM.
 * toml_parse(toml_dump(d)) is equal to d. */
char *toml_dump(const struct toml_doc *doc, size_t *len);

/* 1 if both documents hold the same tables, keys and values (order ignored). */
int toml_equal(const struct toml_doc *a, const struct toml_doc *b);

#endif
