/* Nym's reply store on in-memory SQLite databases (see replystore.h). */
#include "replystore.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "crypto.h"
#include "nymsphinx/replies.h"
#include "sqlwipe.h"

/* SHA-384 of nym@b4046a89's common/client-core/surb-storage/fs_surbs_migrations (each .sql file),
 * computed once from the real files (sqlx compares them with the ones built into Nym). */
const struct ns_sqlx_migration ns_rs_migrations[NS_RS_MIGRATIONS] = {
	{ 20221130120000LL, "create initial tables",
	  { 0x96, 0xf2, 0xfb, 0x6a, 0x7d, 0x89, 0xd7, 0x5b, 0x81, 0x4b, 0xc6, 0xbe,
	    0x81, 0x3a, 0x9d, 0x2e, 0x66, 0x1c, 0x3b, 0x78, 0xe3, 0x34, 0xc6, 0xf4,
	    0xd2, 0xaf, 0x33, 0x8d, 0x02, 0x3d, 0x66, 0x1a, 0x45, 0xbc, 0x26, 0x4e,
	    0xe8, 0x7b, 0xb9, 0x4a, 0xb8, 0x59, 0x15, 0x53, 0xac, 0x61, 0xfe, 0xfd } },
	{ 20250425120000LL, "add surb key rotation",
	  { 0x73, 0x2c, 0x5d, 0xf0, 0x6f, 0x11, 0x8a, 0x96, 0xf0, 0xf3, 0x53, 0xa7,
	    0x53, 0x3f, 0xd1, 0x84, 0x76, 0x1c, 0x2a, 0x6a, 0x7e, 0xaf, 0xa7, 0xdc,
	    0x6f, 0x3a, 0x0a, 0x73, 0xbb, 0xe7, 0x27, 0x07, 0x0e, 0xe1, 0x77, 0x9c,
	    0x76, 0x00, 0xec, 0x16, 0x53, 0xc4, 0xc9, 0x69, 0xf0, 0x9d, 0x3a, 0x35 } },
	{ 20250627120000LL, "types cleanup",
	  { 0xdf, 0x1b, 0x59, 0xfc, 0x3b, 0xc8, 0x06, 0xff, 0x6c, 0x56, 0x6b, 0x66,
	    0xf1, 0xf7, 0x2c, 0xed, 0xea, 0x85, 0x03, 0x71, 0xfc, 0xea, 0x27, 0xa7,
	    0x5b, 0x5c, 0x07, 0x67, 0x59, 0xb8, 0x77, 0x53, 0x23, 0x0d, 0x3b, 0xc3,
	    0x28, 0x19, 0x1c, 0x51, 0x57, 0xea, 0x4a, 0x5d, 0x32, 0x68, 0x97, 0xf7 } },
	{ 20250702120000LL, "remove sender tag",
	  { 0x71, 0x0f, 0x12, 0x58, 0x4f, 0xd0, 0xe4, 0x8d, 0x05, 0xa6, 0xc5, 0x14,
	    0x00, 0x14, 0x76, 0xb0, 0x16, 0xb0, 0x08, 0x49, 0x8c, 0x94, 0xf6, 0xb9,
	    0x13, 0xf9, 0x08, 0x18, 0xf3, 0x61, 0x51, 0x21, 0xcd, 0xc6, 0x62, 0xe3,
	    0x69, 0xb4, 0xea, 0x5e, 0x4b, 0x69, 0x30, 0x25, 0x55, 0x3e, 0x14, 0x8d } },
};

/* sqlx's bookkeeping table, then the steps of Nym's four migrations on empty tables (the
 * data-copying statements have nothing to copy), so the schema SQLite records is the one a
 * database migrated by Nym's client holds. */
static const char schema_sql[] =
	"PRAGMA auto_vacuum = INCREMENTAL;"
	"PRAGMA temp_store = MEMORY;"
	"BEGIN;"
	NS_SQLX_MIGRATIONS_TABLE
	/* 20221130120000 */
	"CREATE TABLE status (flush_in_progress INTEGER NOT NULL,"
	" previous_flush_timestamp INTEGER NOT NULL, client_in_use INTEGER NOT NULL);"
	"CREATE TABLE reply_surb_storage_metadata (min_reply_surb_threshold INTEGER NOT NULL,"
	" max_reply_surb_threshold INTEGER NOT NULL);"
	"CREATE TABLE sender_tag (recipient BLOB NOT NULL UNIQUE, tag BLOB NOT NULL UNIQUE);"
	"CREATE TABLE reply_key (key_digest BLOB NOT NULL UNIQUE, reply_key BLOB NOT NULL UNIQUE,"
	" sent_at_timestamp INTEGER NOT NULL);"
	"CREATE TABLE reply_surb_sender (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,"
	" last_sent_timestamp INTEGER NOT NULL, tag BLOB NOT NULL UNIQUE);"
	"CREATE TABLE reply_surb (reply_surb_sender_id INTEGER NOT NULL, reply_surb BLOB NOT NULL,"
	" FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender (id));"
	/* 20250425120000 */
	"ALTER TABLE reply_surb ADD COLUMN encoded_key_rotation TINYINT NOT NULL DEFAULT 0;"
	/* 20250627120000 */
	"CREATE TABLE status_new (flush_in_progress INTEGER NOT NULL,"
	" previous_flush TIMESTAMP WITHOUT TIME ZONE NOT NULL, client_in_use INTEGER NOT NULL);"
	"DROP TABLE status;"
	"ALTER TABLE status_new RENAME TO status;"
	"CREATE TABLE reply_key_new (key_digest BLOB NOT NULL UNIQUE,"
	" reply_key BLOB NOT NULL UNIQUE, sent_at TIMESTAMP WITHOUT TIME ZONE NOT NULL);"
	"DROP TABLE reply_key;"
	"ALTER TABLE reply_key_new RENAME TO reply_key;"
	"CREATE TABLE reply_surb_sender_new (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,"
	" last_sent TIMESTAMP WITHOUT TIME ZONE NOT NULL, tag BLOB NOT NULL UNIQUE);"
	"CREATE TABLE reply_surb_new (reply_surb_sender_id INTEGER NOT NULL,"
	" reply_surb BLOB NOT NULL, encoded_key_rotation TINYINT NOT NULL,"
	" FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender_new (id));"
	"DROP TABLE reply_surb;"
	"ALTER TABLE reply_surb_new RENAME TO reply_surb;"
	"DROP TABLE reply_surb_sender;"
	"ALTER TABLE reply_surb_sender_new RENAME TO reply_surb_sender;"
	/* 20250702120000 */
	"DROP TABLE sender_tag;"
	"COMMIT;";

/* A file's SQLite program may not run longer than this many VM steps (x 1000): far more than
 * the largest store we load needs, far less than a hostile query could take. */
#define STEP_BUDGET_K 200000u
#define BLOB_MAX (1u << 16)

static void set_err(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
	if (!err || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

const char *ns_rs_strerror(int rc)
{
	switch (rc) {
	case NS_RS_OK: return "ok";
	case NS_RS_ECORRUPT: return "not a reply store of Nym's schema, or a malformed row";
	case NS_RS_EINCOMPLETE: return "the last flush of the store did not finish";
	case NS_RS_ELIMIT: return "more than we load";
	case NS_RS_ENOMEM: return "out of memory";
	case NS_RS_EARG: return "bad argument";
	case NS_RS_EDB: return "SQLite failed";
	}
	return "unknown error";
}

/* ---------------------------------------------------------------- timestamps (rstime.c) */

static int column_time(sqlite3_stmt *st, int i, int64_t *out)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return ns_rs_time_int(sqlite3_column_int64(st, i), out);
	case SQLITE_FLOAT:
		return ns_rs_time_real(sqlite3_column_double(st, i), out);
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(st, i);
		return s ? ns_rs_time_text(s, (size_t)sqlite3_column_bytes(st, i), out) : -1;
	}
	}
	return -1;
}

/* ---------------------------------------------------------------- loading */

struct loader {
	sqlite3 *db;
	unsigned budget;
	const struct ns_rs_limits *lim;
	struct ns_rs_data *d;
	size_t bytes_cap, image_len;
	char *err;
	size_t errcap;
};

static int on_progress(void *ctx)
{
	struct loader *l = ctx;
	return l->budget-- == 0;
}

static int db_fail(struct loader *l, const char *what)
{
	int code = sqlite3_errcode(l->db);
	if (code == SQLITE_INTERRUPT) {
		set_err(l->err, l->errcap, "%s: the file takes more work to read than any store we "
		        "write", what);
		return NS_RS_ELIMIT;
	}
	if (code == SQLITE_NOMEM)
		return NS_RS_ENOMEM;
	set_err(l->err, l->errcap, "%s: %s", what, sqlite3_errmsg(l->db));
	return NS_RS_ECORRUPT;
}

static int prepare(struct loader *l, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	return db_fail(l, "schema");
}

static const char *const our_tables[] = { "status", "reply_surb_storage_metadata", "reply_key",
	                                  "reply_surb_sender", "reply_surb" };

/* Each table we read is a plain table (not a view or a virtual table), none of its columns
 * computed: reading it runs no code the file brings. */
static int check_tables(struct loader *l)
{
	sqlite3_stmt *st;
	int rc = prepare(l, "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
	                    " AND name = ?1 AND rootpage > 0 AND sql NOT LIKE 'CREATE VIRTUAL%'),"
	                    " (SELECT count(*) FROM pragma_table_xinfo(?1) WHERE hidden <> 0)", &st);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof our_tables / sizeof our_tables[0] && rc == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, our_tables[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			rc = db_fail(l, our_tables[i]);
		} else if (sqlite3_column_int(st, 0) != 1 || sqlite3_column_int(st, 1) != 0) {
			set_err(l->err, l->errcap, "%s is not a plain table of Nym's schema", our_tables[i]);
			rc = NS_RS_ECORRUPT;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int read_status(struct loader *l, int *flush, int *in_use)
{
	sqlite3_stmt *st;
	int rc = prepare(l, "SELECT flush_in_progress, previous_flush, client_in_use FROM status"
	                    " LIMIT 1", &st);
	if (rc < 0)
		return rc;
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		set_err(l->err, l->errcap, "status has no row");
		rc = NS_RS_ECORRUPT;
	} else if (step != SQLITE_ROW) {
		rc = db_fail(l, "status");
	} else if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
	           sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
	           column_time(st, 1, &l->d->previous_flush) < 0) {
		set_err(l->err, l->errcap, "status holds a value of the wrong type");
		rc = NS_RS_ECORRUPT;
	} else {
		*flush = sqlite3_column_int64(st, 0) != 0;
		*in_use = sqlite3_column_int64(st, 2) != 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int read_metadata(struct loader *l)
{
	sqlite3_stmt *st;
	int rc = prepare(l, "SELECT min_reply_surb_threshold, max_reply_surb_threshold FROM"
	                    " reply_surb_storage_metadata LIMIT 1", &st);
	if (rc < 0)
		return rc;
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		set_err(l->err, l->errcap, "reply_surb_storage_metadata has no row (the store was not "
		        "saved completely)");
		rc = NS_RS_ECORRUPT;
	} else if (step != SQLITE_ROW) {
		rc = db_fail(l, "reply_surb_storage_metadata");
	} else {
		for (int i = 0; i < 2 && rc == 0; i++) {
			sqlite3_int64 v = sqlite3_column_int64(st, i);
			if (sqlite3_column_type(st, i) != SQLITE_INTEGER || v < 0 || v > UINT32_MAX) {
				set_err(l->err, l->errcap, "a SURB threshold is not a u32");
				rc = NS_RS_ECORRUPT;
			}
		}
		if (rc == 0) {
			l->d->min_threshold = (uint32_t)sqlite3_column_int64(st, 0);
			l->d->max_threshold = (uint32_t)sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int count_rows(struct loader *l, const char *sql, size_t max, const char *what,
                      size_t *n)
{
	sqlite3_stmt *st;
	int rc = prepare(l, sql, &st);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(l, what);
	} else {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		if (v < 0 || (uint64_t)v > max) {
			set_err(l->err, l->errcap, "%lld %s: we load at most %zu", (long long)v, what, max);
			rc = NS_RS_ELIMIT;
		} else {
			*n = (size_t)v;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int blob_of(sqlite3_stmt *st, int i, size_t want, const uint8_t **out)
{
	if (sqlite3_column_type(st, i) != SQLITE_BLOB ||
	    (size_t)sqlite3_column_bytes(st, i) != want)
		return -1;
	*out = sqlite3_column_blob(st, i);
	return *out ? 0 : -1;
}

static int read_keys(struct loader *l)
{
	struct ns_rs_data *d = l->d;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc = count_rows(l, "SELECT count(*) FROM reply_key", l->lim->max_keys, "reply keys", &n);
	if (rc < 0 || n == 0)
		return rc;
	if (!(d->keys = calloc(n, sizeof *d->keys)))
		return NS_RS_ENOMEM;
	if ((rc = prepare(l, "SELECT key_digest, reply_key, sent_at FROM reply_key", &st)) < 0)
		return rc;
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *digest, *key;
		struct ns_rs_key *k = &d->keys[d->n_keys];
		if (d->n_keys == n) {
			set_err(l->err, l->errcap, "reply_key grew while read");
			rc = NS_RS_ECORRUPT;
		} else if (blob_of(st, 0, NS_RS_DIGEST_LEN, &digest) < 0 ||
		           blob_of(st, 1, NS_RS_KEY_LEN, &key) < 0 || column_time(st, 2, &k->sent_at) < 0) {
			set_err(l->err, l->errcap, "reply key %zu: a digest of %d bytes, a key of %d "
			        "bytes and a timestamp expected", d->n_keys + 1, NS_RS_DIGEST_LEN,
			        NS_RS_KEY_LEN);
			rc = NS_RS_ECORRUPT;
		} else {
			memcpy(k->digest, digest, NS_RS_DIGEST_LEN);
			memcpy(k->key, key, NS_RS_KEY_LEN);
			d->n_keys++;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(l, "reply_key");
	sqlite3_finalize(st);
	return rc;
}

struct sender_id {
	int64_t id;
	size_t index;
};

static int read_senders(struct loader *l, struct sender_id *ids, size_t n)
{
	struct ns_rs_data *d = l->d;
	sqlite3_stmt *st;
	int rc = prepare(l, "SELECT id, tag, last_sent FROM reply_surb_sender ORDER BY id", &st);
	if (rc < 0)
		return rc;
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *tag;
		struct ns_rs_sender *s = &d->senders[d->n_senders];
		if (d->n_senders == n) {
			set_err(l->err, l->errcap, "reply_surb_sender grew while read");
			rc = NS_RS_ECORRUPT;
		} else if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
		           blob_of(st, 1, NS_RS_TAG_LEN, &tag) < 0 ||
		           column_time(st, 2, &s->last_sent) < 0 ||
		           (d->n_senders && sqlite3_column_int64(st, 0) <= ids[d->n_senders - 1].id)) {
			set_err(l->err, l->errcap, "SURB sender %zu: an id, a tag of %d bytes and a "
			        "timestamp expected", d->n_senders + 1, NS_RS_TAG_LEN);
			rc = NS_RS_ECORRUPT;
		} else {
			memcpy(s->tag, tag, NS_RS_TAG_LEN);
			ids[d->n_senders].id = sqlite3_column_int64(st, 0);
			ids[d->n_senders].index = d->n_senders;
			d->n_senders++;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(l, "reply_surb_sender");
	sqlite3_finalize(st);
	return rc;
}

static long find_sender(const struct sender_id *ids, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid].id == id)
			return (long)ids[mid].index;
		if (ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int surb_ok(const uint8_t *b, size_t len)
{
	struct nym_reply_surb s;
	int ok = len <= NYM_REPLY_SURB_MAX_LEN && nym_reply_surb_from_bytes(b, len, &s) == NYM_REPLY_OK;
	ns_memzero(&s, sizeof s);
	return ok;
}

/* One reply_surb row; rows of a sender id that has no sender are ignored, as Nym reads the
 * SURBs sender by sender. */
static int add_surb(struct loader *l, sqlite3_stmt *st, const struct sender_id *ids,
                    size_t n_surbs)
{
	struct ns_rs_data *d = l->d;
	long s = sqlite3_column_type(st, 0) == SQLITE_INTEGER
	                 ? find_sender(ids, d->n_senders, sqlite3_column_int64(st, 0))
	                 : -2;
	const uint8_t *b = sqlite3_column_blob(st, 1);
	size_t len = (size_t)sqlite3_column_bytes(st, 1);
	sqlite3_int64 rot = sqlite3_column_int64(st, 2);
	if (s == -1)
		return 0;
	if (s < 0 || sqlite3_column_type(st, 1) != SQLITE_BLOB || !b ||
	    sqlite3_column_type(st, 2) != SQLITE_INTEGER || rot < 0 || rot > 2 || !surb_ok(b, len)) {
		set_err(l->err, l->errcap, "reply SURB %zu: a sender id, a ReplySurb and a key "
		        "rotation of 0..2 expected", d->n_surbs + 1);
		return NS_RS_ECORRUPT;
	}
	if (d->n_surbs == n_surbs || len > l->bytes_cap - d->bytes_len) {
		set_err(l->err, l->errcap, "reply_surb grew while read");
		return NS_RS_ECORRUPT;
	}
	struct ns_rs_sender *snd = &d->senders[s];
	if (snd->n && snd->first + snd->n != d->n_surbs) {
		set_err(l->err, l->errcap, "reply_surb is not in sender order");
		return NS_RS_ECORRUPT;
	}
	if (!snd->n)
		snd->first = d->n_surbs;
	snd->n++;
	struct ns_rs_surb *x = &d->surbs[d->n_surbs++];
	x->rotation = (uint8_t)rot;
	x->off = d->bytes_len;
	x->len = len;
	memcpy(d->bytes + d->bytes_len, b, len);
	d->bytes_len += len;
	return 0;
}

static int read_surbs(struct loader *l, const struct sender_id *ids)
{
	struct ns_rs_data *d = l->d;
	size_t n = 0;
	sqlite3_stmt *st;
	int rc = count_rows(l, "SELECT count(*) FROM reply_surb", l->lim->max_surbs, "reply SURBs", &n);
	if (rc < 0 || n == 0)
		return rc;
	/* the SURBs' bytes are in the file: never more than its length */
	l->bytes_cap = n * NYM_REPLY_SURB_MAX_LEN;
	if (l->bytes_cap > l->image_len)
		l->bytes_cap = l->image_len;
	if (!(d->surbs = calloc(n, sizeof *d->surbs)) || !(d->bytes = malloc(l->bytes_cap)))
		return NS_RS_ENOMEM;
	if ((rc = prepare(l, "SELECT reply_surb_sender_id, reply_surb, encoded_key_rotation FROM"
	                     " reply_surb ORDER BY reply_surb_sender_id, rowid", &st)) < 0)
		return rc;
	int step;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = add_surb(l, st, ids, n);
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_fail(l, "reply_surb");
	sqlite3_finalize(st);
	return rc;
}

static int read_reply_surbs(struct loader *l)
{
	size_t n = 0;
	int rc = count_rows(l, "SELECT count(*) FROM reply_surb_sender", l->lim->max_senders,
	                    "SURB senders", &n);
	if (rc < 0 || n == 0)
		return rc;
	struct sender_id *ids = calloc(n, sizeof *ids);
	if (!ids || !(l->d->senders = calloc(n, sizeof *l->d->senders))) {
		free(ids);
		return NS_RS_ENOMEM;
	}
	rc = read_senders(l, ids, n);
	if (rc == 0)
		rc = read_surbs(l, ids);
	free(ids);
	/* senders whose SURBs are all gone (Nym drops an empty entry) */
	size_t kept = 0;
	for (size_t i = 0; rc == 0 && i < l->d->n_senders; i++)
		if (l->d->senders[i].n)
			l->d->senders[kept++] = l->d->senders[i];
	if (rc == 0)
		l->d->n_senders = kept;
	return rc;
}

static int load_rows(struct loader *l, int64_t now)
{
	int flush = 0, in_use = 0;
	int rc = check_tables(l);
	if (rc == 0)
		rc = read_status(l, &flush, &in_use);
	if (rc == 0 && (flush || l->d->previous_flush == 0)) {
		set_err(l->err, l->errcap, "%s", flush ? "a flush was in progress when it stopped"
		                                        : "it was never flushed");
		return NS_RS_EINCOMPLETE;
	}
	if (rc == 0)
		rc = read_metadata(l);
	if (rc < 0)
		return rc;
	int64_t days = (now - l->d->previous_flush) / NS_RS_DAY;
	l->d->unclean = in_use;
	l->d->surbs_outdated = days > 0;
	l->d->keys_outdated = days > 1;
	if (!in_use && !l->d->keys_outdated && (rc = read_keys(l)) < 0)
		return rc;
	if (!in_use && !l->d->surbs_outdated)
		rc = read_reply_surbs(l);
	return rc;
}

static const char sqlite_magic[16] = "SQLite format 3";

static int open_image(struct loader *l, const uint8_t *image, size_t len)
{
	if (len < 100 || memcmp(image, sqlite_magic, sizeof sqlite_magic)) {
		set_err(l->err, l->errcap, "not a SQLite database");
		return NS_RS_ECORRUPT;
	}
	ns_sqlwipe_setup();
	if (sqlite3_open_v2(":memory:", &l->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return NS_RS_ENOMEM;
	uint8_t *copy = sqlite3_malloc64(len);
	if (!copy)
		return NS_RS_ENOMEM;
	memcpy(copy, image, len);
	/* a WAL-mode file (Nym's) read as a rollback-journal one: same pages, no -wal */
	if (copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(l->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_limit(l->db, SQLITE_LIMIT_LENGTH, BLOB_MAX);
	sqlite3_limit(l->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_progress_handler(l->db, 1000, on_progress, l);
	if (sqlite3_deserialize(l->db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
	                        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) !=
	    SQLITE_OK)
		return db_fail(l, "image");
	sqlite3_exec(l->db, "PRAGMA temp_store = MEMORY; PRAGMA cell_size_check = ON;", NULL, NULL,
	             NULL);
	return 0;
}

int ns_rs_load(const uint8_t *image, size_t len, int64_t now, const struct ns_rs_limits *lim,
               struct ns_rs_data *out, char *err, size_t errcap)
{
	if (!image || !lim || !out)
		return NS_RS_EARG;
	memset(out, 0, sizeof *out);
	if (len > NS_RS_FILE_MAX) {
		set_err(err, errcap, "%zu bytes: we load at most %u", len, NS_RS_FILE_MAX);
		return NS_RS_ELIMIT;
	}
	struct loader l = { .budget = STEP_BUDGET_K, .lim = lim, .d = out, .image_len = len,
		            .err = err, .errcap = errcap };
	int rc = open_image(&l, image, len);
	if (rc == 0)
		rc = load_rows(&l, now);
	sqlite3_close(l.db);
	if (rc < 0)
		ns_rs_data_free(out);
	return rc;
}

void ns_rs_data_free(struct ns_rs_data *d)
{
	if (!d)
		return;
	if (d->keys)
		ns_memzero(d->keys, d->n_keys * sizeof *d->keys);
	free(d->keys);
	free(d->senders);
	free(d->surbs);
	if (d->bytes)
		ns_memzero(d->bytes, d->bytes_len);
	free(d->bytes);
	memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- writing */

struct ns_rs_writer {
	sqlite3 *db;
	sqlite3_stmt *key, *sender, *surb;
	int64_t sender_id;
	int failed;
};

static int exec(sqlite3 *db, const char *sql, char *err, size_t errcap)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	set_err(err, errcap, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return NS_RS_EDB;
}

static int write_migrations(sqlite3 *db, char *err, size_t errcap)
{
	return ns_sqlx_record(db, ns_rs_migrations, NS_RS_MIGRATIONS, err, errcap) < 0 ? NS_RS_EDB
	                                                                               : 0;
}

struct ns_rs_writer *ns_rs_writer_new(char *err, size_t errcap)
{
	ns_sqlwipe_setup();
	struct ns_rs_writer *w = calloc(1, sizeof *w);
	if (!w || sqlite3_open_v2(":memory:", &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                          NULL) != SQLITE_OK) {
		set_err(err, errcap, "out of memory");
		ns_rs_writer_free(w);
		return NULL;
	}
	if (exec(w->db, schema_sql, err, errcap) < 0 || write_migrations(w->db, err, errcap) < 0 ||
	    sqlite3_prepare_v2(w->db, "INSERT INTO reply_key (key_digest, reply_key, sent_at)"
	                              " VALUES (?, ?, ?)", -1, &w->key, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "INSERT INTO reply_surb_sender (tag, last_sent) VALUES (?, ?)",
	                       -1, &w->sender, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, "INSERT INTO reply_surb (reply_surb_sender_id, reply_surb,"
	                              " encoded_key_rotation) VALUES (?, ?, ?)", -1, &w->surb,
	                       NULL) != SQLITE_OK ||
	    exec(w->db, "BEGIN", err, errcap) < 0) {
		if (err && !err[0])
			set_err(err, errcap, "%s", sqlite3_errmsg(w->db));
		ns_rs_writer_free(w);
		return NULL;
	}
	return w;
}

static int step_done(struct ns_rs_writer *w, sqlite3_stmt *st)
{
	int ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (!ok)
		w->failed = 1;
	return ok ? 0 : NS_RS_EDB;
}

static int bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	char ts[40];
	if (ns_rs_time_format(t, ts, sizeof ts) < 0)
		return NS_RS_EARG;
	sqlite3_bind_text(st, i, ts, -1, SQLITE_TRANSIENT);
	return 0;
}

int ns_rs_writer_key(struct ns_rs_writer *w, const uint8_t digest[NS_RS_DIGEST_LEN],
                     const uint8_t key[NS_RS_KEY_LEN], int64_t sent_at)
{
	if (!w || w->failed)
		return NS_RS_EARG;
	if (bind_time(w->key, 3, sent_at) < 0)
		return NS_RS_EARG;
	sqlite3_bind_blob(w->key, 1, digest, NS_RS_DIGEST_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(w->key, 2, key, NS_RS_KEY_LEN, SQLITE_STATIC);
	return step_done(w, w->key);
}

int ns_rs_writer_sender(struct ns_rs_writer *w, const uint8_t tag[NS_RS_TAG_LEN],
                        int64_t last_sent)
{
	if (!w || w->failed || bind_time(w->sender, 2, last_sent) < 0)
		return NS_RS_EARG;
	sqlite3_bind_blob(w->sender, 1, tag, NS_RS_TAG_LEN, SQLITE_STATIC);
	int rc = step_done(w, w->sender);
	w->sender_id = rc == 0 ? sqlite3_last_insert_rowid(w->db) : 0;
	return rc;
}

int ns_rs_writer_surb(struct ns_rs_writer *w, uint8_t rotation, const uint8_t *surb, size_t len)
{
	if (!w || w->failed || !w->sender_id || !surb || !len || len > BLOB_MAX || rotation > 2)
		return NS_RS_EARG;
	sqlite3_bind_int64(w->surb, 1, w->sender_id);
	sqlite3_bind_blob(w->surb, 2, surb, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(w->surb, 3, rotation);
	return step_done(w, w->surb);
}

static int write_status(struct ns_rs_writer *w, uint32_t min_t, uint32_t max_t,
                        int64_t previous_flush, int in_use, char *err, size_t errcap)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(w->db, "INSERT INTO status (flush_in_progress, previous_flush,"
	                              " client_in_use) VALUES (0, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return NS_RS_EDB;
	int rc = bind_time(st, 1, previous_flush);
	sqlite3_bind_int(st, 2, in_use ? 1 : 0);
	if (rc == 0)
		rc = step_done(w, st);
	sqlite3_finalize(st);
	if (rc < 0 || sqlite3_prepare_v2(w->db, "INSERT INTO reply_surb_storage_metadata"
	                                        " (min_reply_surb_threshold, max_reply_surb_threshold)"
	                                        " VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK) {
		set_err(err, errcap, "status: %s", sqlite3_errmsg(w->db));
		return rc < 0 ? rc : NS_RS_EDB;
	}
	sqlite3_bind_int64(st, 1, min_t);
	sqlite3_bind_int64(st, 2, max_t);
	rc = step_done(w, st);
	sqlite3_finalize(st);
	return rc;
}

int ns_rs_writer_finish(struct ns_rs_writer *w, uint32_t min_threshold, uint32_t max_threshold,
                        int64_t previous_flush, int client_in_use, uint8_t **image,
                        size_t *len, char *err, size_t errcap)
{
	if (!w || !image || !len)
		return NS_RS_EARG;
	*image = NULL;
	*len = 0;
	if (w->failed) {
		set_err(err, errcap, "a row could not be written: %s", sqlite3_errmsg(w->db));
		return NS_RS_EDB;
	}
	int rc = write_status(w, min_threshold, max_threshold, previous_flush, client_in_use, err,
	                      errcap);
	if (rc == 0)
		rc = exec(w->db, "COMMIT", err, errcap);
	if (rc < 0)
		return rc;
	if (ns_sqlx_image(w->db, image, len) < 0) {
		set_err(err, errcap, "sqlite3_serialize: out of memory");
		return NS_RS_ENOMEM;
	}
	return 0;
}

void ns_rs_writer_free(struct ns_rs_writer *w)
{
	if (!w)
		return;
	sqlite3_finalize(w->key);
	sqlite3_finalize(w->sender);
	sqlite3_finalize(w->surb);
	sqlite3_close(w->db);
	free(w);
}

void ns_rs_image_free(uint8_t *image, size_t len)
{
	if (!image)
		return;
	ns_memzero(image, len);
	sqlite3_free(image);
}
