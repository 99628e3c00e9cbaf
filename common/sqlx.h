/* What Nym's Rust clients' database layer (sqlx) keeps beside the tables, shared by the two
 * Nym databases we write (gwregdb.c: gateways_registrations.sqlite, replystore.c:
 * persistent_reply_store.sqlite): its _sqlx_migrations table and rows, and a database's image
 * as one buffer (what keyd writes at its stop). */
#ifndef NS_SQLX_H
#define NS_SQLX_H
#include <stddef.h>
#include <stdint.h>

/* SQLite's handle (sqlite3.h); not included here, so that the headers naming the migration
 * tables stay free of SQLite for the portable (wasm) build */
struct sqlite3;

/* sqlx's bookkeeping table, as sqlx creates it (one SQL statement, with its ';'). */
#define NS_SQLX_MIGRATIONS_TABLE                                                              \
	"CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,"   \
	" installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,"   \
	" checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);"

/* One migration as sqlx records it: checksum = SHA-384 of the migration's .sql file. */
struct ns_sqlx_migration {
	int64_t version;
	const char *description;
	uint8_t checksum[48];
};

/* Inserts the n migrations' rows (success, execution time 0). 0, or -1 with SQLite's reason
 * in err. */
int ns_sqlx_record(struct sqlite3 *db, const struct ns_sqlx_migration *m, size_t n, char *err,
                   size_t errcap);

/* The whole "main" database as one sqlite3_malloc'ed buffer (free it with sqlite3_free after
 * wiping). 0, or -1: out of memory. */
int ns_sqlx_image(struct sqlite3 *db, uint8_t **out, size_t *out_len);

#endif
