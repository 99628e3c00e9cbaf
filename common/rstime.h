/* Timestamps as Nym's stores and nym-api write them (sqlx's OffsetDateTime, RFC 3339): the
 * codecs the reply store (replystore.c) and the nym-api's key-rotation info (nymapi.c) use.
 * Portable (no SQLite). */
#ifndef NS_RSTIME_H
#define NS_RSTIME_H
#include <stddef.h>
#include <stdint.h>

/* A timestamp column as sqlx decodes OffsetDateTime. type: SQLITE_INTEGER / FLOAT / TEXT.
 * 0 and *out (unix seconds), or -1. */
int ns_rs_time_int(int64_t v, int64_t *out);
int ns_rs_time_real(double jd, int64_t *out);
int ns_rs_time_text(const char *s, size_t len, int64_t *out);
/* RFC 3339 UTC with whole seconds ("2024-03-04T12:00:00Z"): 0 or -1. */
int ns_rs_time_format(int64_t unix_s, char *out, size_t cap);

#endif
