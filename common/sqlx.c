/* sqlx's bookkeeping and database images: see sqlx.h. */
#include "sqlx.h"

#include <sqlite3.h>

#include <stdio.h>

int ns_sqlx_record(sqlite3 *db, const struct ns_sqlx_migration *m, size_t n, char *err,
                   size_t errcap)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO _sqlx_migrations (version, description, success,"
	                           " checksum, execution_time) VALUES (?, ?, TRUE, ?, 0)", -1, &st,
	                       NULL) != SQLITE_OK) {
		snprintf(err, errcap, "_sqlx_migrations: %s", sqlite3_errmsg(db));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, m[i].version);
		sqlite3_bind_text(st, 2, m[i].description, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, m[i].checksum, sizeof m[i].checksum, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errcap, "_sqlx_migrations: %s", sqlite3_errmsg(db));
			rc = -1;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int ns_sqlx_image(sqlite3 *db, uint8_t **out, size_t *out_len)
{
	sqlite3_int64 n = 0;
	uint8_t *img = sqlite3_serialize(db, "main", &n, 0);
	if (!img || n <= 0) {
		sqlite3_free(img);
		return -1;
	}
	*out = img;
	*out_len = (size_t)n;
	return 0;
}
