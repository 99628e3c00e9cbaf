/* Nym's gateway-registration DB (common/gwregdb.h): what create writes (schema, sqlx
 * migration rows, rows, mode 0600), a DB made by "another program" through Nym's own
 * migration steps (the Rust client's path) is read, and every missing, damaged or strange
 * file or row is refused with a clear error and without a word on stdout/stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base58.h"
#include "gwregdb.h"

struct fx {
	char dir[64], path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_gwregdb.XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/%s", f->dir, NS_GWREG_DB_NAME);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static struct ns_gwreg sample(int legacy)
{
	struct ns_gwreg r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 32; i++) {
		r.gateway_id[i] = (uint8_t)(i * 7 + 1);
		r.key.bytes[i] = (uint8_t)(0xc0 ^ i);
	}
	r.key.legacy = legacy;
	r.has_key = 1;
	snprintf(r.listener, sizeof r.listener, "ws://127.0.0.1:9000/");
	r.registered_at = 1700000000;
	return r;
}

static sqlite3 *open_raw(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* One text result of sql ("" for NULL) into out. */
static void query_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
}

/* "name type notnull pk;" for every column of table, in order. */
static void columns(sqlite3 *db, const char *table, char *out, size_t cap)
{
	char sql[128];
	sqlite3_stmt *st;
	snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	out[0] = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s %s %d %d;", sqlite3_column_text(st, 1),
		         sqlite3_column_text(st, 2), sqlite3_column_int(st, 3), sqlite3_column_int(st, 5));
	}
	sqlite3_finalize(st);
}

/* ---- create + read back */

static void test_create_read(void **state)
{
	struct fx *f = *state;
	struct ns_gwreg r = sample(0), back;
	char err[256] = "";
	assert_int_equal(ns_gwreg_create(f->path, &r, err, sizeof err), 0);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_memory_equal(back.gateway_id, r.gateway_id, 32);
	assert_string_equal(back.listener, r.listener);
	assert_int_equal(back.has_key, 1);
	assert_int_equal(back.key.legacy, 0);
	assert_memory_equal(back.key.bytes, r.key.bytes, 32);
	/* without the key: the key bytes stay zero, has_key says one is stored */
	assert_int_equal(ns_gwreg_load_active(f->path, 0, &back, err, sizeof err), 0);
	assert_int_equal(back.has_key, 1);
	uint8_t zero[32] = { 0 };
	assert_memory_equal(back.key.bytes, zero, 32);
	/* the rows, as Nym writes them */
	sqlite3 *db = open_raw(f->path);
	char t[256], id[64];
	base58_encode(r.gateway_id, 32, id, sizeof id);
	query_text(db, "SELECT active_gateway_id_bs58 FROM active_gateway WHERE id = 0", t, sizeof t);
	assert_string_equal(t, id);
	query_text(db, "SELECT registration_timestamp || '|' || gateway_type FROM registered_gateway",
	           t, sizeof t);
	assert_string_equal(t, "2023-11-14T22:13:20Z|remote");
	query_text(db, "SELECT typeof(derived_aes256_gcm_siv_key) || length(derived_aes256_gcm_siv_key)"
	               " || typeof(derived_aes128_ctr_blake3_hmac_keys_bs58) ||"
	               " typeof(gateway_owner_address) FROM remote_gateway_details", t, sizeof t);
	assert_string_equal(t, "blob32nullnull");
	query_text(db, "SELECT group_concat(version || ':' || description || ':' || success || ':' ||"
	               " length(checksum), ',') FROM (SELECT * FROM _sqlx_migrations ORDER BY version)",
	           t, sizeof t);
	assert_string_equal(t, "20240304120000:create initial tables:1:48,"
	                       "20240610120000:nullable gateway owner:1:48,"
	                       "20240828120000:remove wg address:1:48,"
	                       "20240916120000:add aes256 gcm siv key:1:48");
	query_text(db, "SELECT hex(checksum) FROM _sqlx_migrations WHERE version = 20240916120000", t,
	           sizeof t);
	assert_string_equal(t, "6157C19E61EDF534BA386C6261769724BC6D4C9EEA7C738A29FB2964437764050005"
	                       "E36E3682FECE213E870B8B8C5DC4");
	query_text(db, "SELECT count(*) FROM _sqlx_migrations WHERE success = 1", t, sizeof t);
	assert_string_equal(t, "4");
	query_text(db, "PRAGMA auto_vacuum", t, sizeof t);
	assert_string_equal(t, "2"); /* incremental, as Nym's connection options ask */
	query_text(db, "PRAGMA integrity_check", t, sizeof t);
	assert_string_equal(t, "ok");
	sqlite3_close(db);
	/* nothing else left in the folder (no temporary file, no journal) */
	char cmd[200];
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) = 1", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_migration_rows(void **state)
{
	(void)state;
	static const char *const want[NS_GWREG_MIGRATIONS] = {
		"create initial tables", "nullable gateway owner", "remove wg address",
		"add aes256 gcm siv key"
	};
	for (int i = 0; i < NS_GWREG_MIGRATIONS; i++) {
		assert_string_equal(ns_gwreg_migrations[i].description, want[i]);
		if (i)
			assert_true(ns_gwreg_migrations[i].version > ns_gwreg_migrations[i - 1].version);
	}
	assert_int_equal(ns_gwreg_migrations[0].version, 20240304120000LL);
	assert_int_equal(ns_gwreg_migrations[0].checksum[0], 0xc9);
}

static void test_create_legacy(void **state)
{
	struct fx *f = *state;
	struct ns_gwreg r = sample(1), back;
	char err[256] = "", t[128], b58[64];
	assert_int_equal(ns_gwreg_create(f->path, &r, err, sizeof err), 0);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_int_equal(back.key.legacy, 1);
	assert_memory_equal(back.key.bytes, r.key.bytes, 32);
	sqlite3 *db = open_raw(f->path);
	query_text(db, "SELECT derived_aes128_ctr_blake3_hmac_keys_bs58 ||"
	               " typeof(derived_aes256_gcm_siv_key) FROM remote_gateway_details", t, sizeof t);
	sqlite3_close(db);
	base58_encode(r.key.bytes, 32, b58, sizeof b58);
	strcat(b58, "null");
	assert_string_equal(t, b58);
}

static void test_create_refuses_existing(void **state)
{
	struct fx *f = *state;
	struct ns_gwreg r = sample(0);
	char err[256] = "";
	int fd = open(f->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(ns_gwreg_create(f->path, &r, err, sizeof err), NS_GWREG_EEXIST);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_size, 4);
	/* a bad listener is refused before anything is written */
	snprintf(r.listener, sizeof r.listener, "http://x/");
	char other[160];
	snprintf(other, sizeof other, "%s/other.sqlite", f->dir);
	assert_int_equal(ns_gwreg_create(other, &r, err, sizeof err), NS_GWREG_EARG);
	assert_int_equal(access(other, F_OK), -1);
}

/* ---- a DB made by another program: Nym's four migrations, step by step (the Rust client's
 * path, renames and all), then rows as the Rust client writes them, in WAL mode */

static void nym_migrations(sqlite3 *db)
{
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT"
	         " NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN"
	         " NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)");
	/* 1: initial tables */
	exec(db, "CREATE TABLE active_gateway (id INTEGER PRIMARY KEY CHECK (id = 0),"
	         " active_gateway_id_bs58 TEXT REFERENCES registered_gateway (gateway_id_bs58));"
	         "CREATE TABLE registered_gateway (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY,"
	         " registration_timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL, gateway_type TEXT"
	         " CHECK (gateway_type IN ('remote', 'custom')) NOT NULL DEFAULT 'remote');"
	         "CREATE TABLE remote_gateway_details (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY"
	         " REFERENCES registered_gateway (gateway_id_bs58),"
	         " derived_aes128_ctr_blake3_hmac_keys_bs58 TEXT NOT NULL, gateway_owner_address TEXT"
	         " NOT NULL, gateway_listener TEXT NOT NULL, wg_tun_address TEXT);"
	         "CREATE TABLE custom_gateway_details (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY"
	         " REFERENCES registered_gateway (gateway_id_bs58), data BLOB);"
	         "INSERT INTO active_gateway VALUES (0, NULL);");
	/* 2: owner nullable; 3: no wg address (both by copying into a new table) */
	exec(db, "CREATE TABLE t2 (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY REFERENCES"
	         " registered_gateway (gateway_id_bs58), derived_aes128_ctr_blake3_hmac_keys_bs58 TEXT"
	         " NOT NULL, gateway_owner_address TEXT, gateway_listener TEXT NOT NULL, wg_tun_address"
	         " TEXT); INSERT INTO t2 SELECT * FROM remote_gateway_details;"
	         " DROP TABLE remote_gateway_details; ALTER TABLE t2 RENAME TO remote_gateway_details;");
	exec(db, "CREATE TABLE t3 (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY REFERENCES"
	         " registered_gateway (gateway_id_bs58), derived_aes128_ctr_blake3_hmac_keys_bs58 TEXT"
	         " NOT NULL, gateway_owner_address TEXT, gateway_listener TEXT NOT NULL);"
	         " INSERT INTO t3 SELECT gateway_id_bs58, derived_aes128_ctr_blake3_hmac_keys_bs58,"
	         " gateway_owner_address, gateway_listener FROM remote_gateway_details;"
	         " DROP TABLE remote_gateway_details; ALTER TABLE t3 RENAME TO remote_gateway_details;");
	/* 4: legacy key column nullable (re-added at the end), AES-256 key column */
	exec(db, "ALTER TABLE remote_gateway_details RENAME COLUMN"
	         " derived_aes128_ctr_blake3_hmac_keys_bs58 TO old_key;"
	         "ALTER TABLE remote_gateway_details ADD COLUMN derived_aes128_ctr_blake3_hmac_keys_bs58"
	         " TEXT; ALTER TABLE remote_gateway_details ADD COLUMN derived_aes256_gcm_siv_key BLOB;"
	         "UPDATE remote_gateway_details SET derived_aes128_ctr_blake3_hmac_keys_bs58 = old_key;"
	         "ALTER TABLE remote_gateway_details DROP COLUMN old_key;");
	for (int i = 0; i < NS_GWREG_MIGRATIONS; i++) {
		char sql[200];
		snprintf(sql, sizeof sql, "INSERT INTO _sqlx_migrations (version, description, success,"
		         " checksum, execution_time) VALUES (%lld, '%s', TRUE, randomblob(48), 1234)",
		         (long long)ns_gwreg_migrations[i].version, ns_gwreg_migrations[i].description);
		exec(db, sql);
	}
}

static void test_nym_made(void **state)
{
	struct fx *f = *state;
	char err[256] = "", sql[1200], id[64], t[1024], u[1024];
	struct ns_gwreg r = sample(0), back;
	sqlite3 *db = open_raw(f->path);
	nym_migrations(db);
	base58_encode(r.gateway_id, 32, id, sizeof id);
	snprintf(sql, sizeof sql,
	         "INSERT INTO registered_gateway VALUES ('%s', '2025-01-02T03:04:05.123456789Z', 'remote');"
	         "INSERT INTO remote_gateway_details (gateway_id_bs58, derived_aes128_ctr_blake3_hmac_keys_bs58,"
	         " derived_aes256_gcm_siv_key, gateway_owner_address, gateway_listener) VALUES ('%s', NULL,"
	         " x'c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf',"
	         " 'n1owneraddress', 'ws://10.1.2.3:9000/');"
	         "UPDATE active_gateway SET active_gateway_id_bs58 = '%s';", id, id, id);
	exec(db, sql);
	/* readable while the other program still holds it open (WAL) */
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_memory_equal(back.gateway_id, r.gateway_id, 32);
	assert_string_equal(back.listener, "ws://10.1.2.3:9000/");
	assert_int_equal(back.key.legacy, 0);
	assert_memory_equal(back.key.bytes, r.key.bytes, 32);
	/* the same tables, column for column, as what create writes */
	char ours[160];
	snprintf(ours, sizeof ours, "%s/ours.sqlite", f->dir);
	assert_int_equal(ns_gwreg_create(ours, &r, err, sizeof err), 0);
	sqlite3 *db2 = open_raw(ours);
	static const char *const tables[] = { "_sqlx_migrations", "active_gateway",
		                              "registered_gateway", "remote_gateway_details",
		                              "custom_gateway_details" };
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
		columns(db, tables[i], t, sizeof t);
		columns(db2, tables[i], u, sizeof u);
		assert_string_equal(t, u);
	}
	query_text(db, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE"
	               " type = 'table' ORDER BY name)", t, sizeof t);
	query_text(db2, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE"
	                " type = 'table' ORDER BY name)", u, sizeof u);
	assert_string_equal(t, u);
	sqlite3_close(db2);
	sqlite3_close(db);
	/* after the other program closed it too */
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_memory_equal(back.key.bytes, r.key.bytes, 32);
}

/* ---- refusals */

static void make_nym_db(const char *path, const char *rows)
{
	sqlite3 *db = open_raw(path);
	nym_migrations(db);
	exec(db, rows);
	sqlite3_close(db);
}

#define GW "'4otwftkXoxX9E4bCvZZrft2nQBDLdNctsSoxBaMfqnqk'"
#define ROWS(type, listener, legacy, aes)                                                  \
	"INSERT INTO registered_gateway VALUES (" GW ", '2025-01-01T00:00:00Z', " type ");"      \
	"INSERT INTO remote_gateway_details (gateway_id_bs58, gateway_listener,"                \
	" derived_aes128_ctr_blake3_hmac_keys_bs58, derived_aes256_gcm_siv_key) VALUES (" GW ", " \
	listener ", " legacy ", " aes ");"                                                      \
	"UPDATE active_gateway SET active_gateway_id_bs58 = " GW ";"

static void expect_refused(struct fx *f, const char *rows, int want, const char *words)
{
	char err[256] = "";
	struct ns_gwreg back;
	unlink(f->path);
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	unlink(wal);
	make_nym_db(f->path, rows);
	int rc = ns_gwreg_load_active(f->path, 1, &back, err, sizeof err);
	if (rc != want || !strstr(err, words))
		fail_msg("rows %s: rc %d (%s), wanted %d with '%s'", rows, rc, err, want, words);
	assert_int_equal(back.has_key, 0);
}

static void test_bad_rows(void **state)
{
	struct fx *f = *state;
	static const char key32[] = "x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'";
	expect_refused(f, "SELECT 1", NS_GWREG_ENOACTIVE, "no gateway is set as active");
	expect_refused(f, ROWS("'custom'", "'ws://1.2.3.4:1/'", "NULL", "NULL"),
	               NS_GWREG_EUNSUPPORTED, "custom");
	expect_refused(f, ROWS("'remote'", "'ws://1.2.3.4:1/'", "NULL", "NULL"), NS_GWREG_ECORRUPT,
	               "no shared key");
	expect_refused(f, ROWS("'remote'", "'ws://1.2.3.4:1/'", "NULL", "x'0001'"), NS_GWREG_ECORRUPT,
	               "holds 2 bytes");
	expect_refused(f, ROWS("'remote'", "'ws://1.2.3.4:1/'", "NULL", "'a text'"), NS_GWREG_ECORRUPT,
	               "not a BLOB");
	expect_refused(f, ROWS("'remote'", "'ws://1.2.3.4:1/'", "'0OIl'", "NULL"), NS_GWREG_ECORRUPT,
	               "not base58");
	expect_refused(f, ROWS("'remote'", "'http://1.2.3.4:1/'", "NULL", "x'00'"), NS_GWREG_ECORRUPT,
	               "gateway_listener");
	expect_refused(f, ROWS("'remote'", "x'7773'", "NULL", "x'00'"), NS_GWREG_ECORRUPT, "text column");
	expect_refused(f, ROWS("'remote'", "'ws://a' || char(0) || 'b'", "NULL", "x'00'"),
	               NS_GWREG_ECORRUPT, "text column");
	/* active gateway without a details row */
	expect_refused(f,
	               "INSERT INTO registered_gateway VALUES (" GW ", '2025-01-01T00:00:00Z', 'remote');"
	               "UPDATE active_gateway SET active_gateway_id_bs58 = " GW ";",
	               NS_GWREG_ECORRUPT, "no remote_gateway_details");
	expect_refused(f, "UPDATE active_gateway SET active_gateway_id_bs58 = 'abc';",
	               NS_GWREG_ECORRUPT, "not registered");
	expect_refused(f, "DELETE FROM active_gateway;", NS_GWREG_ECORRUPT, "no row");
	/* AES-256 wins over a (broken) legacy column, as in Nym */
	char err[256] = "";
	struct ns_gwreg back;
	unlink(f->path);
	char rows[700];
	snprintf(rows, sizeof rows, ROWS("'remote'", "'ws://1.2.3.4:1/'", "'broken'", "%s"), key32);
	make_nym_db(f->path, rows);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_int_equal(back.key.bytes[31], 0x1f);
}

static void test_missing_corrupt(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	struct ns_gwreg back;
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), NS_GWREG_ENOENT);
	assert_non_null(strstr(err, "No such file"));
	/* not a SQLite file */
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 131 + 7);
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	err[0] = 0;
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), NS_GWREG_ECORRUPT);
	assert_non_null(strstr(err, "not a database"));
	/* a SQLite file without the tables */
	unlink(f->path);
	sqlite3 *db = open_raw(f->path);
	exec(db, "CREATE TABLE other (x)");
	sqlite3_close(db);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), NS_GWREG_ECORRUPT);
	assert_non_null(strstr(err, "no such table: active_gateway"));
	/* an empty file is an empty database: no tables either */
	unlink(f->path);
	fd = open(f->path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(ns_gwreg_load_active(f->path, 0, &back, err, sizeof err), NS_GWREG_ECORRUPT);
	/* the reader never writes: a DB made read-only still reads, and stays as it was */
	unlink(f->path);
	struct ns_gwreg r = sample(0);
	assert_int_equal(ns_gwreg_create(f->path, &r, err, sizeof err), 0);
	struct stat before, after;
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_int_equal(before.st_size, after.st_size);
}

/* No function prints anything (a key least of all), and errors never quote key bytes. */
static void test_silent(void **state)
{
	struct fx *f = *state;
	char out[160], err[256] = "", hex[80], b58[64];
	snprintf(out, sizeof out, "%s/out.txt", f->dir);
	fflush(stdout);
	fflush(stderr);
	int saved1 = dup(1), saved2 = dup(2), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	dup2(fd, 2);
	struct ns_gwreg r = sample(0), back;
	int rc1 = ns_gwreg_create(f->path, &r, err, sizeof err);
	int rc2 = ns_gwreg_load_active(f->path, 1, &back, err, sizeof err);
	int rc3 = ns_gwreg_create(f->path, &r, err, sizeof err);
	struct ns_gwreg_row row = { .gateway_id_bs58 = "4otwftkXoxX9E4bCvZZrft2nQBDLdNctsSoxBaMfqnqk",
		                    .listener = "ws://1.2.3.4:5/", .aes256_key = r.key.bytes,
		                    .aes256_key_len = 31 };
	int rc4 = ns_gwreg_row_decode(&row, 1, &back, err, sizeof err);
	fflush(stdout);
	fflush(stderr);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(fd);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);
	assert_int_equal(rc3, NS_GWREG_EEXIST);
	assert_int_equal(rc4, NS_GWREG_ECORRUPT);
	struct stat sb;
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", r.key.bytes[i]);
	base58_encode(r.key.bytes, 32, b58, sizeof b58);
	assert_null(strstr(err, hex));
	assert_null(strstr(err, b58));
	assert_non_null(strstr(err, "31 bytes"));
}

static void test_row_decode(void **state)
{
	(void)state;
	char err[200];
	struct ns_gwreg g;
	uint8_t key[32] = { 1 };
	struct ns_gwreg_row ok = { .gateway_id_bs58 = "4otwftkXoxX9E4bCvZZrft2nQBDLdNctsSoxBaMfqnqk",
		                   .listener = "ws://1.2.3.4:5", .aes256_key = key,
		                   .aes256_key_len = 32 };
	assert_int_equal(ns_gwreg_row_decode(&ok, 1, &g, err, sizeof err), 0);
	assert_int_equal(g.has_key, 1);
	struct ns_gwreg_row b = ok;
	b.gateway_id_bs58 = NULL;
	assert_int_equal(ns_gwreg_row_decode(&b, 1, &g, err, sizeof err), NS_GWREG_ECORRUPT);
	b.gateway_id_bs58 = "4otwftkXoxX9E4bCvZZrft2nQBDLdNctsSoxBaMfqnq"; /* 31 bytes */
	assert_int_equal(ns_gwreg_row_decode(&b, 1, &g, err, sizeof err), NS_GWREG_ECORRUPT);
	b.gateway_id_bs58 = "4otwftkXoxX9E4bCvZZrft2nQBDLdNctsSoxBaMfqnqk1"; /* 33 */
	assert_int_equal(ns_gwreg_row_decode(&b, 1, &g, err, sizeof err), NS_GWREG_ECORRUPT);
	b = ok;
	b.gateway_type = "remotely";
	assert_int_equal(ns_gwreg_row_decode(&b, 1, &g, err, sizeof err), NS_GWREG_ECORRUPT);
	b = ok;
	b.aes256_key = NULL;
	b.legacy_key_bs58 = "";
	assert_int_equal(ns_gwreg_row_decode(&b, 1, &g, err, sizeof err), NS_GWREG_ECORRUPT);
	assert_int_equal(ns_gwreg_row_decode(&b, 0, &g, err, sizeof err), 0); /* key not asked */
	assert_int_equal(ns_gwreg_row_decode(NULL, 1, &g, err, sizeof err), NS_GWREG_EARG);
	static const char *const bad_urls[] = { "ws://", "wss://", "http://a", "ws://a b", "ws://a\n",
		                                "WS://a", "ws://\x7f", "" };
	for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++)
		assert_int_equal(ns_gwreg_listener_check(bad_urls[i]), -1);
	char longurl[NS_GWREG_LISTENER_MAX + 1];
	memset(longurl, 'a', sizeof longurl - 1);
	memcpy(longurl, "ws://", 5);
	longurl[sizeof longurl - 1] = 0;
	assert_int_equal(ns_gwreg_listener_check(longurl), -1);
	longurl[sizeof longurl - 2] = 0;
	assert_int_equal(ns_gwreg_listener_check(longurl), 0);
	assert_int_equal(ns_gwreg_listener_check("wss://gw.example:443/path"), 0);
	char ts[40];
	assert_int_equal(ns_gwreg_timestamp(0, ts, sizeof ts), 0);
	assert_string_equal(ts, "1970-01-01T00:00:00Z");
	assert_int_equal(ns_gwreg_timestamp(-1, ts, sizeof ts), -1);
	assert_int_equal(ns_gwreg_timestamp(0, ts, 5), -1);
}


/* ---- list-gateways / add-gateway / switch-gateway */

static void test_list_add_switch(void **state)
{
	struct fx *f = *state;
	struct ns_gwreg a = sample(0), b = sample(0), back;
	struct ns_gwreg_entry e[4];
	size_t n = 0;
	char err[256] = "";
	b.gateway_id[0] ^= 0xff;
	snprintf(b.listener, sizeof b.listener, "wss://gw.example:9001/");
	b.registered_at = 1700000100;
	assert_int_equal(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err), NS_GWREG_ENOENT);
	assert_int_equal(ns_gwreg_create(f->path, &a, err, sizeof err), 0);
	/* added without becoming active */
	assert_int_equal(ns_gwreg_add(f->path, &b, 0, err, sizeof err), 0);
	assert_int_equal(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(e[0].gateway_id, a.gateway_id, 32);
	assert_int_equal(e[0].active, 1);
	assert_string_equal(e[0].type, "remote");
	assert_string_equal(e[0].registered_at, "2023-11-14T22:13:20Z");
	assert_memory_equal(e[1].gateway_id, b.gateway_id, 32);
	assert_int_equal(e[1].active, 0);
	assert_string_equal(e[1].listener, "wss://gw.example:9001/");
	/* a second add of the same gateway is refused, with Nym's text */
	assert_int_equal(ns_gwreg_add(f->path, &b, 1, err, sizeof err), NS_GWREG_EEXIST);
	assert_non_null(strstr(err, "this client has already registered with gateway"));
	/* switch: the key of the new active gateway is the one stored for it */
	assert_int_equal(ns_gwreg_set_active(f->path, b.gateway_id, err, sizeof err), 0);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_memory_equal(back.gateway_id, b.gateway_id, 32);
	assert_memory_equal(back.key.bytes, b.key.bytes, 32);
	assert_string_equal(back.listener, b.listener);
	/* an unknown gateway cannot be made active; the active one stays */
	uint8_t unknown[32] = { 9 };
	assert_int_equal(ns_gwreg_set_active(f->path, unknown, err, sizeof err), NS_GWREG_ENOTREG);
	assert_non_null(strstr(err, "does not exist in the storage"));
	assert_int_equal(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err), 0);
	assert_int_equal(e[0].active + 2 * e[1].active, 2);
	/* added and made active at once */
	struct ns_gwreg c = sample(1);
	c.gateway_id[1] ^= 0x55;
	assert_int_equal(ns_gwreg_add(f->path, &c, 1, err, sizeof err), 0);
	assert_int_equal(ns_gwreg_load_active(f->path, 1, &back, err, sizeof err), 0);
	assert_memory_equal(back.gateway_id, c.gateway_id, 32);
	assert_int_equal(back.key.legacy, 1);
	/* the list's bound */
	assert_int_equal(ns_gwreg_list(f->path, e, 2, &n, err, sizeof err), NS_GWREG_ECORRUPT);
}

static void test_list_bad_rows(void **state)
{
	struct fx *f = *state;
	struct ns_gwreg a = sample(0);
	struct ns_gwreg_entry e[4];
	size_t n;
	char err[256] = "";
	assert_int_equal(ns_gwreg_create(f->path, &a, err, sizeof err), 0);
	sqlite3 *db = open_raw(f->path);
	exec(db, "UPDATE remote_gateway_details SET gateway_listener = 'http://x/'");
	sqlite3_close(db);
	assert_int_equal(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err), NS_GWREG_ECORRUPT);
	assert_non_null(strstr(err, "is malformed"));
	db = open_raw(f->path);
	exec(db, "UPDATE remote_gateway_details SET gateway_listener = 'ws://1.2.3.4:5/';"
	         "UPDATE registered_gateway SET gateway_id_bs58 = 'not-base58!'");
	sqlite3_close(db);
	assert_int_equal(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err), NS_GWREG_ECORRUPT);
	unlink(f->path);
	FILE *junk = fopen(f->path, "w");
	assert_non_null(junk);
	fputs("not a database, not at all, but long enough to look like one maybe", junk);
	fclose(junk);
	assert_true(ns_gwreg_list(f->path, e, 4, &n, err, sizeof err) < 0);
	assert_true(ns_gwreg_set_active(f->path, a.gateway_id, err, sizeof err) < 0);
}

static void test_time_text(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(ns_gwreg_time_text("2023-11-14T22:13:20Z", 0, out, sizeof out), 0);
	assert_string_equal(out, "2023-11-14 22:13:20.0 +00:00:00");
	assert_int_equal(ns_gwreg_time_text("2024-03-04T09:05:06.500Z", 1, out, sizeof out), 0);
	assert_string_equal(out, "2024-03-04 9:05:06.5 +00:00:00");
	assert_int_equal(ns_gwreg_time_text("2024-03-04 09:05:06.123456789 -05:30", 0, out,
	                                    sizeof out), 0);
	assert_string_equal(out, "2024-03-04 09:05:06.123456789 -05:30:00");
	assert_int_equal(ns_gwreg_time_text("2024-03-04 09:05:06.1+01:00:00", 0, out, sizeof out),
	                 0);
	assert_string_equal(out, "2024-03-04 09:05:06.1 +01:00:00");
	const char *bad[] = { "", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
		              "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z",
		              "2024-01-01T00:00:00.1234567890Z", "2024-01-01T00:00:00Zjunk",
		              "2024-01-01X00:00:00Z", "2024-01-01T00:00:00+01:00:30", "x" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (ns_gwreg_time_text(bad[i], 0, out, sizeof out) == 0)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(ns_gwreg_time_text("2023-11-14T22:13:20Z", 0, out, 8), -1);
	/* every proper prefix is refused, read from a copy of exactly its size */
	const char *full = "2024-03-04T09:05:06.5+01:00";
	for (size_t len = 0; len < strlen(full); len++) {
		char *cut = malloc(len + 1);
		assert_non_null(cut);
		memcpy(cut, full, len);
		cut[len] = 0;
		int rc = ns_gwreg_time_text(cut, 0, out, sizeof out);
		/* "...:06" (no fraction or offset) and "...06.5" lack the offset: refused too */
		if (rc == 0)
			fail_msg("accepted the prefix '%s'", cut);
		free(cut);
	}
	assert_int_equal(ns_gwreg_time_text(full, 0, out, sizeof out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_read, setup, teardown),
		cmocka_unit_test(test_migration_rows),
		cmocka_unit_test_setup_teardown(test_create_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nym_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
		cmocka_unit_test(test_row_decode),
		cmocka_unit_test_setup_teardown(test_list_add_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_bad_rows, setup, teardown),
		cmocka_unit_test(test_time_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
