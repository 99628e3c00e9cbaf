/* Nym's reply store (common/replystore.h): what ours writes loads back; its schema is the one
 * Nym's four migrations leave (sqlite_schema compared with a database migrated step by step,
 * as sqlx does) with sqlx's migration rows; a store made the Rust client's way (WAL file,
 * timestamps with nanoseconds or from the migration's datetime()) loads; Nym's rules on
 * unclean and old stores; damaged and hostile files are refused with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "nymsphinx/preparer.h"
#include "nymsphinx/replies.h"
#include "replystore.h"
#include "unit/util_nymnet.h"

static struct testnet net;
static struct testclient alice;
static uint8_t surb_bytes[6][NYM_REPLY_SURB_MAX_LEN];
static size_t surb_len;
static const struct ns_rs_limits lim = { 1000, 100, 1000 };
static int64_t now;

static int setup(void **state)
{
	(void)state;
	struct nym_reply_surb s[6];
	struct nym_preparer p;
	testnet_init(&net);
	testclient_init(&net, &alice);
	memset(&p, 0, sizeof p);
	p.topology = &net.topo;
	p.self = alice.addr;
	memcpy(p.ack_key, alice.ack_key, sizeof p.ack_key);
	p.average_packet_delay_ns = 1000;
	p.average_ack_delay_ns = 1000;
	p.packet_size_tag = NYM_PACKET_REGULAR;
	if (nym_preparer_reply_surbs(&p, 0, 6, s) != 0)
		return -1;
	surb_len = nym_reply_surb_len(&s[0]);
	for (int i = 0; i < 6; i++)
		if (nym_reply_surb_to_bytes(&s[i], surb_bytes[i], sizeof surb_bytes[i]) != (long)surb_len)
			return -1;
	now = (int64_t)time(NULL);
	return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13);
}

/* Ours: 3 keys, sender 0xA1.. with SURBs 0..1 (rotation 1), sender 0xB2.. with 2..4 (2). */
static uint8_t *our_image(int64_t previous_flush, int in_use, size_t *len)
{
	char err[256] = "";
	uint8_t d[32], k[16], tag[16], *img = NULL;
	struct ns_rs_writer *w = ns_rs_writer_new(err, sizeof err);
	assert_non_null(w);
	for (int i = 0; i < 3; i++) {
		fill(d, sizeof d, (uint8_t)(0x10 * i + 1));
		fill(k, sizeof k, (uint8_t)(0x10 * i + 2));
		assert_int_equal(ns_rs_writer_key(w, d, k, previous_flush - 100 * i), 0);
	}
	fill(tag, sizeof tag, 0xa1);
	assert_int_equal(ns_rs_writer_sender(w, tag, previous_flush - 5), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(ns_rs_writer_surb(w, 1, surb_bytes[i], surb_len), 0);
	fill(tag, sizeof tag, 0xb2);
	assert_int_equal(ns_rs_writer_sender(w, tag, previous_flush - 7), 0);
	for (int i = 2; i < 5; i++)
		assert_int_equal(ns_rs_writer_surb(w, 2, surb_bytes[i], surb_len), 0);
	assert_int_equal(ns_rs_writer_finish(w, 10, 200, previous_flush, in_use, &img, len, err,
	                                     sizeof err), 0);
	ns_rs_writer_free(w);
	return img;
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t len = 0;
	char err[256] = "";
	struct ns_rs_data d;
	uint8_t *img = our_image(now - 60, 0, &len);
	assert_int_equal(ns_rs_load(img, len, now, &lim, &d, err, sizeof err), 0);
	assert_int_equal(d.previous_flush, now - 60);
	assert_int_equal(d.min_threshold, 10);
	assert_int_equal(d.max_threshold, 200);
	assert_false(d.unclean || d.surbs_outdated || d.keys_outdated);
	assert_int_equal(d.n_keys, 3);
	for (size_t i = 0; i < 3; i++) {
		uint8_t want_d[32], want_k[16];
		size_t j = 0;
		while (j < 3 && d.keys[j].sent_at != now - 60 - 100 * (int64_t)i)
			j++;
		assert_true(j < 3);
		fill(want_d, 32, (uint8_t)(0x10 * i + 1));
		fill(want_k, 16, (uint8_t)(0x10 * i + 2));
		assert_memory_equal(d.keys[j].digest, want_d, 32);
		assert_memory_equal(d.keys[j].key, want_k, 16);
	}
	assert_int_equal(d.n_senders, 2);
	assert_int_equal(d.n_surbs, 5);
	uint8_t tag[16];
	fill(tag, 16, 0xa1);
	assert_memory_equal(d.senders[0].tag, tag, 16);
	assert_int_equal(d.senders[0].last_sent, now - 65);
	assert_int_equal(d.senders[0].n, 2);
	assert_int_equal(d.senders[1].n, 3);
	assert_int_equal(d.senders[1].last_sent, now - 67);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(d.surbs[i].len, surb_len);
		assert_int_equal(d.surbs[i].rotation, i < 2 ? 1 : 2);
		assert_memory_equal(d.bytes + d.surbs[i].off, surb_bytes[i], surb_len);
	}
	ns_rs_data_free(&d);
	ns_rs_image_free(img, len);
}

/* ---- Nym's side: its migrations as sqlx runs them (the bookkeeping table first), written
 * out as in Nym's files (line breaks and all), so ours is compared with an independent copy */
static const char *const nym_steps[] = {
	"CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n"
	"    description TEXT NOT NULL,\n    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	"    success BOOLEAN NOT NULL,\n    checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n);",
	"CREATE TABLE status\n(\n    flush_in_progress        INTEGER NOT NULL,\n"
	"    previous_flush_timestamp INTEGER NOT NULL,\n    client_in_use            INTEGER NOT NULL\n);\n"
	"CREATE TABLE reply_surb_storage_metadata\n(\n    min_reply_surb_threshold INTEGER NOT NULL,\n"
	"    max_reply_surb_threshold INTEGER NOT NULL\n);\n"
	"CREATE TABLE sender_tag\n(\n    recipient BLOB NOT NULL UNIQUE,\n    tag       BLOB NOT NULL UNIQUE\n);\n"
	"CREATE TABLE reply_key\n(\n    key_digest        BLOB    NOT NULL UNIQUE,\n"
	"    reply_key         BLOB    NOT NULL UNIQUE,\n    sent_at_timestamp INTEGER NOT NULL\n);\n"
	"CREATE TABLE reply_surb_sender\n(\n    id                  INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n"
	"    last_sent_timestamp INTEGER NOT NULL,\n    tag                 BLOB    NOT NULL UNIQUE\n);\n"
	"CREATE TABLE reply_surb\n(\n    reply_surb_sender_id INTEGER NOT NULL,\n"
	"    reply_surb           BLOB    NOT NULL,\n\n"
	"    FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender (id)\n);",
	"ALTER TABLE reply_surb\n    ADD COLUMN encoded_key_rotation TINYINT NOT NULL DEFAULT 0;",
	"CREATE TABLE status_new\n(\n    flush_in_progress INTEGER                     NOT NULL,\n"
	"    previous_flush    TIMESTAMP WITHOUT TIME ZONE NOT NULL,\n"
	"    client_in_use     INTEGER                     NOT NULL\n);\n"
	"INSERT INTO status_new (flush_in_progress, previous_flush, client_in_use)\n"
	"SELECT flush_in_progress, datetime(previous_flush_timestamp, 'unixepoch') AS previous_flush,"
	" client_in_use FROM status;\nDROP TABLE status;\nALTER TABLE status_new\n    RENAME TO status;\n"
	"CREATE TABLE reply_key_new\n(\n    key_digest BLOB                        NOT NULL UNIQUE,\n"
	"    reply_key  BLOB                        NOT NULL UNIQUE,\n"
	"    sent_at    TIMESTAMP WITHOUT TIME ZONE NOT NULL\n);\n"
	"INSERT INTO reply_key_new (key_digest, reply_key, sent_at)\nSELECT key_digest, reply_key,"
	" datetime(sent_at_timestamp, 'unixepoch') AS sent_at FROM reply_key;\nDROP TABLE reply_key;\n"
	"ALTER TABLE reply_key_new\n    RENAME TO reply_key;\n"
	"CREATE TABLE reply_surb_sender_new\n(\n"
	"    id        INTEGER                     NOT NULL PRIMARY KEY AUTOINCREMENT,\n"
	"    last_sent TIMESTAMP WITHOUT TIME ZONE NOT NULL,\n"
	"    tag       BLOB                        NOT NULL UNIQUE\n);\n"
	"INSERT INTO reply_surb_sender_new (id, last_sent, tag)\nSELECT id, datetime(last_sent_timestamp,"
	" 'unixepoch') AS last_sent, tag FROM reply_surb_sender;\n"
	"CREATE TABLE reply_surb_new\n(\n    reply_surb_sender_id INTEGER NOT NULL,\n"
	"    reply_surb           BLOB    NOT NULL,\n    encoded_key_rotation TINYINT NOT NULL,\n\n"
	"    FOREIGN KEY (reply_surb_sender_id) REFERENCES reply_surb_sender_new (id)\n);\n"
	"INSERT INTO reply_surb_new\nSELECT *\nFROM reply_surb;\nDROP TABLE reply_surb;\n"
	"ALTER TABLE reply_surb_new\n    RENAME TO reply_surb;\nDROP TABLE reply_surb_sender;\n"
	"ALTER TABLE reply_surb_sender_new\n    RENAME TO reply_surb_sender;",
	"DROP TABLE sender_tag;",
};

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A database as Nym's client leaves it: WAL mode, migrated, sqlx's rows. */
static sqlite3 *nym_db(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;");
	exec(db, nym_steps[0]);
	for (size_t i = 1; i < sizeof nym_steps / sizeof nym_steps[0]; i++) {
		char sql[300];
		exec(db, nym_steps[i]);
		snprintf(sql, sizeof sql, "INSERT INTO _sqlx_migrations (version, description, success,"
		         " checksum, execution_time) VALUES (%lld, '%s', TRUE, X'00', 1)",
		         (long long)ns_rs_migrations[i - 1].version, ns_rs_migrations[i - 1].description);
		exec(db, sql);
	}
	return db;
}

/* sqlite_schema (type, name, SQL with its whitespace folded) in rowid order, one line each. */
static void schema_of(sqlite3 *db, char *out, size_t cap)
{
	sqlite3_stmt *st;
	size_t n = 0;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_schema ORDER BY"
	                                        " rowid", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 2);
		n += (size_t)snprintf(out + n, cap - n, "%s %s: ", sqlite3_column_text(st, 0),
		                      sqlite3_column_text(st, 1));
		int space = 0;
		for (const char *p = sql ? sql : ""; *p && n + 2 < cap; p++) {
			if (isspace((unsigned char)*p)) {
				space = 1;
				continue;
			}
			int tight = strchr("(),", *p) || (n && strchr("(", out[n - 1]));
			if (space && !tight)
				out[n++] = ' ';
			space = 0;
			out[n++] = *p;
		}
		n += (size_t)snprintf(out + n, cap - n, "\n");
	}
	sqlite3_finalize(st);
}

static sqlite3 *open_image(uint8_t *img, size_t len)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	uint8_t *copy = sqlite3_malloc64(len);
	memcpy(copy, img, len);
	assert_int_equal(sqlite3_deserialize(db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
	                                     SQLITE_DESERIALIZE_FREEONCLOSE |
	                                             SQLITE_DESERIALIZE_RESIZEABLE), SQLITE_OK);
	return db;
}

static void test_schema_is_nyms(void **state)
{
	(void)state;
	static char ours[8192], theirs[8192];
	size_t len = 0;
	uint8_t *img = our_image(now, 0, &len);
	sqlite3 *a = open_image(img, len), *b = nym_db(":memory:");
	schema_of(a, ours, sizeof ours);
	schema_of(b, theirs, sizeof theirs);
	assert_string_equal(ours, theirs);
	if (getenv("RS_DUMP"))
		fputs(ours, stderr);
	assert_non_null(strstr(ours, "table reply_surb: CREATE TABLE \"reply_surb\"(reply_surb_sender_id"
	                             " INTEGER NOT NULL, reply_surb BLOB NOT NULL, encoded_key_rotation"
	                             " TINYINT NOT NULL, FOREIGN KEY(reply_surb_sender_id) REFERENCES"
	                             " \"reply_surb_sender\"(id))"));
	/* sqlx's rows: every migration applied, with the checksums of Nym's files */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(a, "SELECT version, description, success, hex(checksum)"
	                                       " FROM _sqlx_migrations ORDER BY version", -1, &st,
	                                    NULL), SQLITE_OK);
	static const char *const sums[4] = { "96F2FB6A", "732C5DF0", "DF1B59FC", "710F1258" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), ns_rs_migrations[i].version);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), ns_rs_migrations[i].description);
		assert_int_equal(sqlite3_column_int(st, 2), 1);
		assert_int_equal(strlen((const char *)sqlite3_column_text(st, 3)), 96);
		assert_memory_equal(sqlite3_column_text(st, 3), sums[i], 8);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* the values as Nym writes them */
	assert_int_equal(sqlite3_prepare_v2(a, "SELECT typeof(previous_flush), flush_in_progress,"
	                                       " client_in_use FROM status", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "text");
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_int_equal(sqlite3_column_int(st, 2), 0);
	sqlite3_finalize(st);
	sqlite3_close(a);
	sqlite3_close(b);
	ns_rs_image_free(img, len);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 20];
	*len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return buf;
}

static void rfc3339_nanos(int64_t t, char *out, size_t cap)
{
	char base[40];
	assert_int_equal(ns_rs_time_format(t, base, sizeof base), 0);
	base[strlen(base) - 1] = 0; /* without the Z */
	snprintf(out, cap, "%s.123456789Z", base);
}

/* A store made by Nym's client: its rows, RFC 3339 with nanoseconds, WAL mode. */
static void test_nym_made_store_loads(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_replystore.XXXXXX", path[96], sql[4096], ts[64], err[256] = "";
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/%s", dir, NS_RS_DB_NAME);
	sqlite3 *db = nym_db(path);
	rfc3339_nanos(now - 30, ts, sizeof ts);
	snprintf(sql, sizeof sql, "INSERT INTO status VALUES (0, '%s', 0);"
	         "INSERT INTO reply_surb_storage_metadata VALUES (5, 50);"
	         "INSERT INTO reply_key VALUES (zeroblob(32), X'0102030405060708090a0b0c0d0e0f10', '%s');"
	         "INSERT INTO reply_surb_sender (id, last_sent, tag) VALUES (7, '%s',"
	         " X'c0c1c2c3c4c5c6c7c8c9cacbcccdcecf');", ts, ts, ts);
	exec(db, sql);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO reply_surb VALUES (7, ?, 2)", -1, &st,
	                                    NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, surb_bytes[5], (int)surb_len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* an orphan SURB (no such sender): Nym never reads it */
	exec(db, "INSERT INTO reply_surb VALUES (99, X'00', 0)");
	exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
	size_t len = 0;
	uint8_t *img = read_all(path, &len);
	assert_int_equal(img[18], 2); /* a WAL-mode file */
	struct ns_rs_data d;
	assert_int_equal(ns_rs_load(img, len, now, &lim, &d, err, sizeof err), 0);
	assert_int_equal(d.previous_flush, now - 30);
	assert_int_equal(d.min_threshold, 5);
	assert_int_equal(d.n_keys, 1);
	assert_int_equal(d.keys[0].key[15], 0x10);
	assert_int_equal(d.n_senders, 1);
	assert_int_equal(d.senders[0].tag[0], 0xc0);
	assert_int_equal(d.n_surbs, 1);
	assert_int_equal(d.surbs[0].rotation, 2);
	assert_memory_equal(d.bytes, surb_bytes[5], surb_len);
	ns_rs_data_free(&d);
	snprintf(sql, sizeof sql, "rm -rf '%s'", dir);
	assert_int_equal(system(sql), 0);
}

/* Our image changed by sql (run on a writable copy); the changed image. */
static uint8_t *mutate(const char *sql, size_t *len)
{
	size_t n = 0;
	uint8_t *img = our_image(now - 60, 0, &n);
	sqlite3 *db = open_image(img, n);
	ns_rs_image_free(img, n);
	exec(db, sql);
	sqlite3_int64 out = 0;
	uint8_t *res = sqlite3_serialize(db, "main", &out, 0);
	sqlite3_close(db);
	*len = (size_t)out;
	return res;
}

static int load_after(const char *sql, struct ns_rs_data *d, char *err, size_t cap)
{
	size_t len = 0;
	uint8_t *img = mutate(sql, &len);
	int rc = ns_rs_load(img, len, now, &lim, d, err, cap);
	sqlite3_free(img);
	return rc;
}

static void test_nym_rules(void **state)
{
	(void)state;
	char err[256] = "", sql[200];
	struct ns_rs_data d;
	assert_int_equal(load_after("UPDATE status SET flush_in_progress = 1", &d, err, sizeof err),
	                 NS_RS_EINCOMPLETE);
	assert_non_null(strstr(err, "flush"));
	/* Nym's fresh store: previous_flush 0 until its first flush */
	assert_int_equal(load_after("UPDATE status SET previous_flush = 0", &d, err, sizeof err),
	                 NS_RS_EINCOMPLETE);
	assert_int_equal(load_after("UPDATE status SET client_in_use = 1", &d, err, sizeof err), 0);
	assert_true(d.unclean);
	assert_int_equal(d.n_keys + d.n_surbs + d.n_senders, 0);
	ns_rs_data_free(&d);
	assert_int_equal(load_after("DELETE FROM reply_surb_storage_metadata", &d, err, sizeof err),
	                 NS_RS_ECORRUPT);
	assert_int_equal(load_after("DELETE FROM status", &d, err, sizeof err), NS_RS_ECORRUPT);
	/* a day old: SURBs go, keys stay; two days: both go */
	snprintf(sql, sizeof sql, "UPDATE status SET previous_flush = %lld", (long long)(now - 86400));
	assert_int_equal(load_after(sql, &d, err, sizeof err), 0);
	assert_true(d.surbs_outdated && !d.keys_outdated);
	assert_int_equal(d.n_surbs, 0);
	assert_int_equal(d.n_keys, 3);
	ns_rs_data_free(&d);
	snprintf(sql, sizeof sql, "UPDATE status SET previous_flush = datetime(%lld, 'unixepoch')",
	         (long long)(now - 2 * 86400 - 1));
	assert_int_equal(load_after(sql, &d, err, sizeof err), 0);
	assert_true(d.surbs_outdated && d.keys_outdated);
	assert_int_equal(d.n_keys + d.n_surbs, 0);
	ns_rs_data_free(&d);
}

static void test_hostile_refused(void **state)
{
	(void)state;
	static const struct {
		const char *sql;
		int rc;
	} cases[] = {
		{ "UPDATE reply_key SET reply_key = X'00' WHERE rowid = 1", NS_RS_ECORRUPT },
		{ "UPDATE reply_key SET sent_at = 'yesterday' WHERE rowid = 2", NS_RS_ECORRUPT },
		{ "UPDATE reply_surb SET encoded_key_rotation = 3 WHERE rowid = 1", NS_RS_ECORRUPT },
		{ "UPDATE reply_surb SET reply_surb = zeroblob(1164) WHERE rowid = 2", NS_RS_ECORRUPT },
		{ "UPDATE reply_surb SET reply_surb = 'text' WHERE rowid = 2", NS_RS_ECORRUPT },
		{ "UPDATE reply_surb_sender SET tag = X'01' WHERE id = 1", NS_RS_ECORRUPT },
		{ "UPDATE status SET client_in_use = 'x'", NS_RS_ECORRUPT },
		{ "UPDATE reply_surb_storage_metadata SET max_reply_surb_threshold = -1", NS_RS_ECORRUPT },
		{ "DROP TABLE reply_key; CREATE VIEW reply_key AS WITH RECURSIVE c(x) AS (SELECT 1"
		  " UNION ALL SELECT x + 1 FROM c) SELECT x AS key_digest, x AS reply_key, x AS sent_at"
		  " FROM c", NS_RS_ECORRUPT },
		{ "DROP TABLE reply_key; CREATE TABLE reply_key (key_digest BLOB, reply_key BLOB,"
		  " sent_at AS (hex(key_digest)))", NS_RS_ECORRUPT },
		{ "DROP TABLE reply_surb", NS_RS_ECORRUPT },
		{ "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1200)"
		  " INSERT INTO reply_key SELECT randomblob(32), randomblob(16), '2024-01-01 00:00:00'"
		  " FROM c", NS_RS_ELIMIT },
		{ "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 150)"
		  " INSERT INTO reply_surb_sender (tag, last_sent) SELECT randomblob(16),"
		  " '2024-01-01T00:00:00Z' FROM c", NS_RS_ELIMIT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256] = "";
		struct ns_rs_data d;
		int rc = load_after(cases[i].sql, &d, err, sizeof err);
		if (rc != cases[i].rc)
			fail_msg("%s: %d (%s), not %d", cases[i].sql, rc, err, cases[i].rc);
		assert_true(err[0] != 0);
		assert_null(d.keys);
		assert_int_equal(d.n_surbs, 0);
	}
}

static void test_damaged_files_refused(void **state)
{
	(void)state;
	char err[256] = "";
	struct ns_rs_data d;
	size_t len = 0;
	uint8_t *img = our_image(now - 60, 0, &len);
	assert_int_equal(ns_rs_load((const uint8_t *)"not a database at all", 21, now, &lim, &d, err,
	                            sizeof err), NS_RS_ECORRUPT);
	assert_int_equal(ns_rs_load(img, len / 2, now, &lim, &d, err, sizeof err), NS_RS_ECORRUPT);
	assert_int_equal(ns_rs_load(img, (size_t)NS_RS_FILE_MAX + 1, now, &lim, &d, err, sizeof err),
	                 NS_RS_ELIMIT);
	/* pages flipped here and there: refused or loaded, never a crash */
	for (size_t i = 100; i < len; i += 257) {
		uint8_t keep = img[i];
		img[i] ^= 0x5a;
		int rc = ns_rs_load(img, len, now, &lim, &d, err, sizeof err);
		assert_true(rc == 0 || rc == NS_RS_ECORRUPT || rc == NS_RS_ELIMIT ||
		            rc == NS_RS_EINCOMPLETE);
		ns_rs_data_free(&d);
		img[i] = keep;
	}
	ns_rs_image_free(img, len);
}

static void test_timestamps(void **state)
{
	(void)state;
	int64_t t = 0;
	char out[40];
	assert_int_equal(ns_rs_time_text("2024-03-04T12:00:00Z", 20, &t), 0);
	assert_int_equal(t, 1709553600);
	assert_int_equal(ns_rs_time_text("2024-03-04 12:00:00", 19, &t), 0);
	assert_int_equal(t, 1709553600);
	assert_int_equal(ns_rs_time_text("2024-03-04T12:00:00.123456789Z", 30, &t), 0);
	assert_int_equal(t, 1709553600);
	assert_int_equal(ns_rs_time_text("2024-03-04T14:00:00+02:00", 25, &t), 0);
	assert_int_equal(t, 1709553600);
	assert_int_equal(ns_rs_time_text("1970-01-01 00:00:00", 19, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(ns_rs_time_text("2024-02-30 00:00:00", 19, &t), -1);
	assert_int_equal(ns_rs_time_text("2024-03-04T12:00:00ZZ", 21, &t), -1);
	assert_int_equal(ns_rs_time_text("2024-03-04T12:00:00.Z", 21, &t), -1);
	assert_int_equal(ns_rs_time_text("2024-03-04", 10, &t), -1);
	assert_int_equal(ns_rs_time_int(1709553600, &t), 0);
	assert_int_equal(ns_rs_time_int(INT64_MAX, &t), -1);
	assert_int_equal(ns_rs_time_real(2440587.5, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(ns_rs_time_format(1709553600, out, sizeof out), 0);
	assert_string_equal(out, "2024-03-04T12:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_schema_is_nyms),
		cmocka_unit_test(test_nym_made_store_loads),
		cmocka_unit_test(test_nym_rules),
		cmocka_unit_test(test_hostile_refused),
		cmocka_unit_test(test_damaged_files_refused),
		cmocka_unit_test(test_timestamps),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
