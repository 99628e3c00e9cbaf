#include "gwregdb.h"
#include "safefile.h"
#include "sqlwipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base58.h"
#include "crypto.h"

/* SHA-384 of the migration files of nym@b4046a89 (common/client-core/gateways-storage/
 * fs_gateways_migrations/<version>_<description with '_'>.sql), computed once from the real
 * files: sqlx compares them with the ones compiled into the Rust client. */
const struct ns_sqlx_migration ns_gwreg_migrations[NS_GWREG_MIGRATIONS] = {
	{ 20240304120000LL, "create initial tables",
	  { 0xc9, 0x75, 0x5a, 0x49, 0xde, 0x5d, 0xc5, 0x9f, 0xc2, 0x84, 0x32, 0xe1,
	    0x06, 0x76, 0xba, 0x9f, 0x70, 0xbc, 0xfe, 0x6c, 0xc9, 0xc3, 0x8d, 0x00,
	    0x36, 0x16, 0x7f, 0x3d, 0xcd, 0x1a, 0xda, 0x46, 0x8c, 0xd3, 0xac, 0xfd,
	    0x36, 0x4a, 0xe5, 0xbb, 0x31, 0xe1, 0x26, 0x7c, 0x51, 0xeb, 0x0a, 0xdc } },
	{ 20240610120000LL, "nullable gateway owner",
	  { 0x7c, 0x72, 0x2b, 0x7c, 0x0f, 0xf0, 0x62, 0x4a, 0x49, 0xb8, 0x6f, 0x81,
	    0x05, 0xdd, 0xe7, 0x8c, 0x02, 0x2a, 0xed, 0x8a, 0x9b, 0xbe, 0x67, 0x09,
	    0xa9, 0x13, 0xe7, 0x78, 0xaa, 0xdd, 0x4f, 0x45, 0xca, 0xec, 0xeb, 0x45,
	    0xba, 0xac, 0x25, 0xa0, 0xa3, 0x2c, 0x3a, 0xbc, 0x2e, 0x33, 0x47, 0x18 } },
	{ 20240828120000LL, "remove wg address",
	  { 0x28, 0x8e, 0xe2, 0xfc, 0x18, 0x34, 0x3b, 0x50, 0xdf, 0x1d, 0x8b, 0x7c,
	    0x44, 0x50, 0xf4, 0x8f, 0x03, 0xe3, 0x19, 0xfb, 0x3a, 0x5a, 0x3a, 0xdd,
	    0xcf, 0xc5, 0x69, 0x9d, 0x62, 0x1b, 0xff, 0x3d, 0xee, 0x4b, 0x2a, 0xa4,
	    0xd1, 0x62, 0xeb, 0x79, 0xdf, 0xb4, 0xe7, 0xce, 0x75, 0xb2, 0xfc, 0x83 } },
	{ 20240916120000LL, "add aes256 gcm siv key",
	  { 0x61, 0x57, 0xc1, 0x9e, 0x61, 0xed, 0xf5, 0x34, 0xba, 0x38, 0x6c, 0x62,
	    0x61, 0x76, 0x97, 0x24, 0xbc, 0x6d, 0x4c, 0x9e, 0xea, 0x7c, 0x73, 0x8a,
	    0x29, 0xfb, 0x29, 0x64, 0x43, 0x77, 0x64, 0x05, 0x00, 0x05, 0xe3, 0x6e,
	    0x36, 0x82, 0xfe, 0xce, 0x21, 0x3e, 0x87, 0x0b, 0x8b, 0x8c, 0x5d, 0xc4 } },
};

/* The tables as they stand after the four migrations (column order included), and sqlx's
 * own bookkeeping table. */
static const char schema_sql[] =
	"PRAGMA auto_vacuum = INCREMENTAL;"
	"BEGIN;"
	NS_SQLX_MIGRATIONS_TABLE
	"CREATE TABLE active_gateway (id INTEGER PRIMARY KEY CHECK (id = 0),"
	" active_gateway_id_bs58 TEXT REFERENCES registered_gateway (gateway_id_bs58));"
	"CREATE TABLE registered_gateway (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY,"
	" registration_timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,"
	" gateway_type TEXT CHECK (gateway_type IN ('remote', 'custom')) NOT NULL DEFAULT 'remote');"
	"CREATE TABLE custom_gateway_details (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY"
	" REFERENCES registered_gateway (gateway_id_bs58), data BLOB);"
	"CREATE TABLE remote_gateway_details (gateway_id_bs58 TEXT NOT NULL UNIQUE PRIMARY KEY"
	" REFERENCES registered_gateway (gateway_id_bs58), gateway_owner_address TEXT,"
	" gateway_listener TEXT NOT NULL, derived_aes128_ctr_blake3_hmac_keys_bs58 TEXT,"
	" derived_aes256_gcm_siv_key BLOB);"
	"INSERT INTO active_gateway (id, active_gateway_id_bs58) VALUES (0, NULL);";

/* ---------------------------------------------------------------- errors */

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

const char *ns_gwreg_strerror(int rc)
{
	switch (rc) {
	case NS_GWREG_OK: return "ok";
	case NS_GWREG_ENOENT: return "no such file";
	case NS_GWREG_ENOACTIVE: return "no active gateway";
	case NS_GWREG_ECORRUPT: return "not a gateway registrations database";
	case NS_GWREG_EIO: return "I/O error";
	case NS_GWREG_EEXIST: return "the file exists already";
	case NS_GWREG_EARG: return "bad argument";
	case NS_GWREG_EUNSUPPORTED: return "custom gateway (not supported)";
	}
	return "unknown error";
}

/* ---------------------------------------------------------------- codecs */

int ns_gwreg_listener_check(const char *url)
{
	if (!url || (strncmp(url, "ws://", 5) && strncmp(url, "wss://", 6)))
		return -1;
	size_t n = strlen(url);
	if (n >= NS_GWREG_LISTENER_MAX || n <= (url[2] == 's' ? 6u : 5u))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] > '~')
			return -1;
	return 0;
}

int ns_gwreg_timestamp(int64_t unix_s, char *out, size_t cap)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (unix_s < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return -1;
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return n ? 0 : -1;
}

static int decode_key(const struct ns_gwreg_row *row, struct ns_gw_key *key, char *err,
                      size_t cap)
{
	if (row->aes256_key) {
		if (row->aes256_key_len != NS_GW_KEY_LEN) {
			set_err(err, cap, "derived_aes256_gcm_siv_key holds %zu bytes, not %d",
			        row->aes256_key_len, NS_GW_KEY_LEN);
			return NS_GWREG_ECORRUPT;
		}
		key->legacy = 0;
		memcpy(key->bytes, row->aes256_key, NS_GW_KEY_LEN);
		return 0;
	}
	if (!row->legacy_key_bs58) {
		set_err(err, cap, "the gateway has no shared key stored");
		return NS_GWREG_ECORRUPT;
	}
	uint8_t buf[NS_GW_KEY_LEN + 1];
	long n = base58_decode(row->legacy_key_bs58, buf, sizeof buf);
	if (n == NS_GW_KEY_LEN) {
		key->legacy = 1;
		memcpy(key->bytes, buf, NS_GW_KEY_LEN);
	}
	ns_memzero(buf, sizeof buf);
	if (n != NS_GW_KEY_LEN) {
		set_err(err, cap, "derived_aes128_ctr_blake3_hmac_keys_bs58 is not base58 of %d bytes",
		        NS_GW_KEY_LEN);
		return NS_GWREG_ECORRUPT;
	}
	return 0;
}

int ns_gwreg_row_decode(const struct ns_gwreg_row *row, int with_key, struct ns_gwreg *out,
                        char *err, size_t errcap)
{
	if (!row || !out)
		return NS_GWREG_EARG;
	memset(out, 0, sizeof *out);
	uint8_t id[33];
	if (!row->gateway_id_bs58 || base58_decode(row->gateway_id_bs58, id, sizeof id) != 32) {
		set_err(err, errcap, "the gateway identity is not base58 of 32 bytes");
		return NS_GWREG_ECORRUPT;
	}
	memcpy(out->gateway_id, id, 32);
	if (row->gateway_type && strcmp(row->gateway_type, "remote")) {
		int custom = !strcmp(row->gateway_type, "custom");
		set_err(err, errcap, custom ? "the active gateway is a custom (embedded) one"
		                            : "unknown gateway_type");
		return custom ? NS_GWREG_EUNSUPPORTED : NS_GWREG_ECORRUPT;
	}
	if (ns_gwreg_listener_check(row->listener) < 0) {
		set_err(err, errcap, "gateway_listener is not a ws:// or wss:// URL");
		return NS_GWREG_ECORRUPT;
	}
	snprintf(out->listener, sizeof out->listener, "%s", row->listener);
	if (!with_key)
		return 0;
	int rc = decode_key(row, &out->key, err, errcap);
	if (rc < 0) {
		ns_gw_key_clear(&out->key);
		return rc;
	}
	out->has_key = 1;
	return 0;
}

/* ---------------------------------------------------------------- reading */

static int db_err(sqlite3 *db, const char *what, char *err, size_t cap)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;
	set_err(err, cap, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT || code == SQLITE_ERROR)
		return NS_GWREG_ECORRUPT;
	return NS_GWREG_EIO;
}

/* Column text or NULL; -1 for text with an embedded NUL or a non-text value. */
static int column_text(sqlite3_stmt *st, int i, const char **out)
{
	*out = NULL;
	int type = sqlite3_column_type(st, i);
	if (type == SQLITE_NULL)
		return 0;
	if (type != SQLITE_TEXT)
		return -1;
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (!s || strlen(s) != (size_t)sqlite3_column_bytes(st, i))
		return -1;
	*out = s;
	return 0;
}

static int active_id(sqlite3 *db, char *id, size_t cap, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT active_gateway_id_bs58 FROM active_gateway WHERE id = 0",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_err(db, "active_gateway", err, errcap);
	int rc = sqlite3_step(st), out = NS_GWREG_OK;
	const char *s = NULL;
	if (rc == SQLITE_DONE) {
		set_err(err, errcap, "active_gateway has no row");
		out = NS_GWREG_ECORRUPT;
	} else if (rc != SQLITE_ROW) {
		out = db_err(db, "active_gateway", err, errcap);
	} else if (column_text(st, 0, &s) < 0 || (s && strlen(s) >= cap)) {
		set_err(err, errcap, "active_gateway_id_bs58 is not a short text");
		out = NS_GWREG_ECORRUPT;
	} else if (!s) {
		set_err(err, errcap, "no gateway is set as active");
		out = NS_GWREG_ENOACTIVE;
	} else {
		snprintf(id, cap, "%s", s);
	}
	sqlite3_finalize(st);
	return out;
}

static const char row_sql[] =
	"SELECT r.gateway_type, d.gateway_listener, d.derived_aes128_ctr_blake3_hmac_keys_bs58,"
	" d.derived_aes256_gcm_siv_key FROM registered_gateway r LEFT JOIN remote_gateway_details d"
	" ON d.gateway_id_bs58 = r.gateway_id_bs58 WHERE r.gateway_id_bs58 = ?";
/* without the key bytes: only whether one is stored */
static const char row_sql_nokey[] =
	"SELECT r.gateway_type, d.gateway_listener, NULL, NULL,"
	" d.derived_aes128_ctr_blake3_hmac_keys_bs58 IS NOT NULL OR d.derived_aes256_gcm_siv_key IS NOT NULL"
	" FROM registered_gateway r"
	" LEFT JOIN remote_gateway_details d ON d.gateway_id_bs58 = r.gateway_id_bs58"
	" WHERE r.gateway_id_bs58 = ?";

static int read_row(sqlite3_stmt *st, const char *id, int with_key, struct ns_gwreg *out,
                    char *err, size_t errcap)
{
	struct ns_gwreg_row row = { .gateway_id_bs58 = id };
	if (column_text(st, 0, &row.gateway_type) < 0 || column_text(st, 1, &row.listener) < 0 ||
	    column_text(st, 2, &row.legacy_key_bs58) < 0) {
		set_err(err, errcap, "a text column of the active gateway holds something else");
		return NS_GWREG_ECORRUPT;
	}
	int t = sqlite3_column_type(st, 3);
	if (t != SQLITE_NULL && t != SQLITE_BLOB) {
		set_err(err, errcap, "derived_aes256_gcm_siv_key is not a BLOB");
		return NS_GWREG_ECORRUPT;
	}
	if (t == SQLITE_BLOB) {
		row.aes256_key_len = (size_t)sqlite3_column_bytes(st, 3);
		row.aes256_key = sqlite3_column_blob(st, 3);
		if (!row.aes256_key)
			row.aes256_key = (const uint8_t *)"";
	}
	if (row.gateway_type && !strcmp(row.gateway_type, "remote") && !row.listener) {
		set_err(err, errcap, "the active gateway has no remote_gateway_details row");
		return NS_GWREG_ECORRUPT;
	}
	int rc = ns_gwreg_row_decode(&row, with_key, out, err, errcap);
	if (rc == 0 && !with_key)
		out->has_key = sqlite3_column_int(st, 4) != 0;
	return rc;
}

static int load_gateway(sqlite3 *db, const char *id, int with_key, struct ns_gwreg *out,
                        char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, with_key ? row_sql : row_sql_nokey, -1, &st, NULL) != SQLITE_OK)
		return db_err(db, "gateway tables", err, errcap);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), out_rc;
	if (rc == SQLITE_ROW) {
		out_rc = read_row(st, id, with_key, out, err, errcap);
	} else if (rc == SQLITE_DONE) {
		set_err(err, errcap, "the active gateway %s is not registered", id);
		out_rc = NS_GWREG_ECORRUPT;
	} else {
		out_rc = db_err(db, "gateway tables", err, errcap);
	}
	sqlite3_finalize(st);
	return out_rc;
}

int ns_gwreg_load_active(const char *path, int with_key, struct ns_gwreg *out, char *err,
                         size_t errcap)
{
	struct stat sb;
	if (!path || !out)
		return NS_GWREG_EARG;
	memset(out, 0, sizeof *out);
	/* SQLite opens its own files: a regular file, not a symlink, FIFO or device, checked
	 * first (a FIFO would block the open), and SQLITE_OPEN_NOFOLLOW for the open itself */
	if (lstat(path, &sb) < 0) {
		set_err(err, errcap, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? NS_GWREG_ENOENT : NS_GWREG_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, errcap, "%s: not a regular file%s", path,
		        S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
		return NS_GWREG_EIO;
	}
	ns_sqlwipe_setup();
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
		sqlite3_busy_timeout(db, 2000);
		char id[128];
		rc = active_id(db, id, sizeof id, err, errcap);
		if (rc == 0)
			rc = load_gateway(db, id, with_key, out, err, errcap);
	} else {
		rc = db_err(db, path, err, errcap);
	}
	sqlite3_close(db);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int ns_gwreg_mtime(const char *path, struct timespec *out)
{
	struct stat sb;
	char wal[4096];
	if (stat(path, &sb) < 0)
		return NS_GWREG_ENOENT;
	*out = sb.st_mtim;
	snprintf(wal, sizeof wal, "%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0 &&
	    (sb.st_mtim.tv_sec > out->tv_sec ||
	     (sb.st_mtim.tv_sec == out->tv_sec && sb.st_mtim.tv_nsec > out->tv_nsec)))
		*out = sb.st_mtim;
	return 0;
}

/* ---------------------------------------------------------------- writing */

static int bind_exec(sqlite3 *db, sqlite3_stmt *st, const char *what, char *err, size_t errcap)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(db, what, err, errcap);
	sqlite3_finalize(st);
	return rc < 0 ? NS_GWREG_EIO : 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errcap)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
		return 0;
	db_err(db, "prepare", err, errcap);
	return NS_GWREG_EIO;
}

static int write_migrations(sqlite3 *db, char *err, size_t errcap)
{
	return ns_sqlx_record(db, ns_gwreg_migrations, NS_GWREG_MIGRATIONS, err, errcap) < 0
	               ? NS_GWREG_EIO
	               : 0;
}

static int write_gateway(sqlite3 *db, const struct ns_gwreg *r, const char *id, char *err,
                         size_t errcap)
{
	char ts[40], legacy[64];
	sqlite3_stmt *st;
	if (ns_gwreg_timestamp(r->registered_at, ts, sizeof ts) < 0)
		return NS_GWREG_EARG;
	if (prepare(db, "INSERT INTO registered_gateway (gateway_id_bs58, registration_timestamp,"
	                " gateway_type) VALUES (?, ?, 'remote')", &st, err, errcap) < 0)
		return NS_GWREG_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
	if (bind_exec(db, st, "registered_gateway", err, errcap) < 0)
		return NS_GWREG_EIO;
	if (prepare(db, "INSERT INTO remote_gateway_details (gateway_id_bs58, gateway_owner_address,"
	                " gateway_listener, derived_aes128_ctr_blake3_hmac_keys_bs58,"
	                " derived_aes256_gcm_siv_key) VALUES (?, NULL, ?, ?, ?)", &st, err, errcap) < 0)
		return NS_GWREG_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->listener, -1, SQLITE_STATIC);
	if (r->key.legacy) {
		base58_encode(r->key.bytes, NS_GW_KEY_LEN, legacy, sizeof legacy);
		sqlite3_bind_text(st, 3, legacy, -1, SQLITE_TRANSIENT);
		sqlite3_bind_null(st, 4);
	} else {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_blob(st, 4, r->key.bytes, NS_GW_KEY_LEN, SQLITE_TRANSIENT);
	}
	ns_memzero(legacy, sizeof legacy);
	int rc = bind_exec(db, st, "remote_gateway_details", err, errcap);
	if (rc == 0 && prepare(db, "UPDATE active_gateway SET active_gateway_id_bs58 = ?", &st, err,
	                       errcap) == 0) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = bind_exec(db, st, "active_gateway", err, errcap);
	} else if (rc == 0) {
		rc = NS_GWREG_EIO;
	}
	return rc;
}

static int fill_db(sqlite3 *db, const struct ns_gwreg *r, char *err, size_t errcap)
{
	char id[64];
	char *msg = NULL;
	base58_encode(r->gateway_id, 32, id, sizeof id);
	if (sqlite3_exec(db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errcap, "schema: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return NS_GWREG_EIO;
	}
	int rc = write_migrations(db, err, errcap);
	if (rc == 0)
		rc = write_gateway(db, r, id, err, errcap);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(db, "commit", err, errcap);
		rc = NS_GWREG_EIO;
	}
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Builds the DB in tmp (created 0600 beforehand: SQLite gives its journal the same mode). */
static int build_tmp(const char *tmp, const struct ns_gwreg *r, char *err, size_t errcap)
{
	int fd = ns_sf_create(tmp, 0600, NULL, 0);
	if (fd < 0) {
		set_err(err, errcap, "%s: %s", tmp, strerror(errno));
		return NS_GWREG_EIO;
	}
	close(fd);
	ns_sqlwipe_setup();
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
		rc = fill_db(db, r, err, errcap);
	} else {
		db_err(db, tmp, err, errcap);
		rc = NS_GWREG_EIO;
	}
	if (sqlite3_close(db) != SQLITE_OK && rc == 0) {
		set_err(err, errcap, "%s: cannot close", tmp);
		rc = NS_GWREG_EIO;
	}
	return rc;
}

int ns_gwreg_create(const char *path, const struct ns_gwreg *r, char *err, size_t errcap)
{
	char tmp[4096];
	if (!path || !r || ns_gwreg_listener_check(r->listener) < 0 ||
	    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
		set_err(err, errcap, "bad path or listener");
		return NS_GWREG_EARG;
	}
	if (access(path, F_OK) == 0) {
		set_err(err, errcap, "%s exists already", path);
		return NS_GWREG_EEXIST;
	}
	int rc = build_tmp(tmp, r, err, errcap);
	/* link() refuses to replace a file that appeared meanwhile; rename() where the
	 * filesystem has no hard links */
	if (rc == 0 && link(tmp, path) < 0 &&
	    ((errno != EPERM && errno != ENOTSUP) || rename(tmp, path) < 0)) {
		rc = errno == EEXIST ? NS_GWREG_EEXIST : NS_GWREG_EIO;
		set_err(err, errcap, "%s: %s", path, strerror(errno));
	}
	unlink(tmp);
	char journal[4200];
	snprintf(journal, sizeof journal, "%s-journal", tmp);
	unlink(journal);
	if (rc == 0 && fsync_dir_of(path) < 0) {
		set_err(err, errcap, "%s: fsync of the folder: %s", path, strerror(errno));
		unlink(path);
		rc = NS_GWREG_EIO;
	}
	return rc;
}

/* ---------------------------------------------------------------- the CLI's gateway commands */

/* Opens an existing DB (a regular file, no symlink), read-only or read-write. */
static int open_existing(const char *path, int rw, sqlite3 **db, char *err, size_t errcap)
{
	struct stat sb;
	*db = NULL;
	if (lstat(path, &sb) < 0) {
		set_err(err, errcap, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? NS_GWREG_ENOENT : NS_GWREG_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, errcap, "%s: not a regular file", path);
		return NS_GWREG_EIO;
	}
	ns_sqlwipe_setup();
	int flags = (rw ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		int rc = db_err(*db, path, err, errcap);
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

static int copy_text(sqlite3_stmt *st, int col, char *out, size_t cap, int may_be_null)
{
	const char *s;
	if (column_text(st, col, &s) < 0 || (!s && !may_be_null) || (s && strlen(s) >= cap))
		return -1;
	snprintf(out, cap, "%s", s ? s : "");
	return 0;
}

static int list_row(sqlite3_stmt *st, const char *active, struct ns_gwreg_entry *e, char *err,
                    size_t errcap)
{
	char id[128];
	memset(e, 0, sizeof *e);
	if (copy_text(st, 0, id, sizeof id, 0) < 0 || base58_decode(id, e->gateway_id, 32) != 32 ||
	    copy_text(st, 1, e->registered_at, sizeof e->registered_at, 0) < 0 ||
	    copy_text(st, 2, e->type, sizeof e->type, 1) < 0 ||
	    copy_text(st, 3, e->listener, sizeof e->listener, 1) < 0) {
		set_err(err, errcap, "a registered_gateway row is malformed");
		return NS_GWREG_ECORRUPT;
	}
	if (!e->type[0])
		snprintf(e->type, sizeof e->type, "remote");
	if (strcmp(e->type, "remote") && strcmp(e->type, "custom")) {
		set_err(err, errcap, "%s is not a valid gateway type", e->type);
		return NS_GWREG_ECORRUPT;
	}
	if (!strcmp(e->type, "remote") && ns_gwreg_listener_check(e->listener) < 0) {
		set_err(err, errcap, "the listening address of gateway %s (%s) is malformed", id,
		        e->listener);
		return NS_GWREG_ECORRUPT;
	}
	if (strcmp(e->type, "remote"))
		e->listener[0] = 0;
	e->active = active[0] && !strcmp(active, id);
	return 0;
}

int ns_gwreg_list(const char *path, struct ns_gwreg_entry *out, size_t cap, size_t *n,
                  char *err, size_t errcap)
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	char active[128] = "";
	*n = 0;
	int rc = open_existing(path, 0, &db, err, errcap);
	if (rc < 0)
		return rc;
	rc = active_id(db, active, sizeof active, err, errcap);
	if (rc == NS_GWREG_ENOACTIVE)
		rc = 0;
	if (rc == 0 && sqlite3_prepare_v2(db,
	        "SELECT r.gateway_id_bs58, r.registration_timestamp, r.gateway_type,"
	        " d.gateway_listener FROM registered_gateway r LEFT JOIN remote_gateway_details d"
	        " ON d.gateway_id_bs58 = r.gateway_id_bs58", -1, &st, NULL) != SQLITE_OK)
		rc = db_err(db, "registered_gateway", err, errcap);
	while (rc == 0) {
		int step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = db_err(db, "registered_gateway", err, errcap);
			break;
		}
		if (*n == cap) {
			set_err(err, errcap, "more than %zu registered gateways", cap);
			rc = NS_GWREG_ECORRUPT;
			break;
		}
		rc = list_row(st, active, &out[*n], err, errcap);
		if (rc == 0)
			(*n)++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int registered(sqlite3 *db, const char *id, char *err, size_t errcap)
{
	sqlite3_stmt *st;
	if (prepare(db, "SELECT 1 FROM registered_gateway WHERE gateway_id_bs58 = ?", &st, err,
	            errcap) < 0)
		return NS_GWREG_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_err(db, "registered_gateway", err, errcap);
	return step == SQLITE_ROW;
}

/* Nym's UPDATE active_gateway (id NULL: no active gateway). */
static int set_active_id(sqlite3 *db, const char *id, char *err, size_t errcap)
{
	sqlite3_stmt *st;
	if (prepare(db, "UPDATE active_gateway SET active_gateway_id_bs58 = ?", &st, err, errcap) < 0)
		return NS_GWREG_EIO;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	return bind_exec(db, st, "active_gateway", err, errcap);
}

static int finish(sqlite3 *db, int rc, char *err, size_t errcap)
{
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(db, "commit", err, errcap);
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (sqlite3_close(db) != SQLITE_OK && rc == 0) {
		set_err(err, errcap, "cannot close the DB");
		rc = NS_GWREG_EIO;
	}
	return rc;
}

/* An existing DB opened read-write inside a write transaction (BEGIN IMMEDIATE). */
static int open_for_write(const char *path, sqlite3 **db, char *err, size_t errcap)
{
	int rc = open_existing(path, 1, db, err, errcap);
	if (rc < 0)
		return rc;
	if (sqlite3_exec(*db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(*db, "begin", err, errcap);
		sqlite3_close(*db);
		*db = NULL;
		return rc;
	}
	return 0;
}

int ns_gwreg_add(const char *path, const struct ns_gwreg *r, int set_active, char *err,
                 size_t errcap)
{
	char id[64];
	sqlite3 *db;
	if (!path || !r || ns_gwreg_listener_check(r->listener) < 0) {
		set_err(err, errcap, "bad path or listener");
		return NS_GWREG_EARG;
	}
	base58_encode(r->gateway_id, 32, id, sizeof id);
	int rc = open_for_write(path, &db, err, errcap);
	if (rc < 0)
		return rc;
	char active[128] = "";
	rc = registered(db, id, err, errcap);
	if (rc == 1) {
		set_err(err, errcap, "this client has already registered with gateway %s", id);
		rc = NS_GWREG_EEXIST;
	} else if (rc == 0 && !set_active) {
		rc = active_id(db, active, sizeof active, err, errcap);
		if (rc == NS_GWREG_ENOACTIVE)
			rc = 0;
	}
	if (rc == 0)
		rc = write_gateway(db, r, id, err, errcap); /* makes it the active one */
	if (rc == 0 && !set_active) /* the previous one is the active one again */
		rc = set_active_id(db, active[0] ? active : NULL, err, errcap);
	return finish(db, rc, err, errcap);
}

int ns_gwreg_set_active(const char *path, const uint8_t gateway_id[32], char *err,
                        size_t errcap)
{
	char id[64];
	sqlite3 *db;
	base58_encode(gateway_id, 32, id, sizeof id);
	int rc = open_for_write(path, &db, err, errcap);
	if (rc < 0)
		return rc;
	rc = registered(db, id, err, errcap);
	if (rc == 0) {
		set_err(err, errcap, "gateway %s does not exist in the storage", id);
		rc = NS_GWREG_ENOTREG;
	} else if (rc == 1) {
		rc = set_active_id(db, id, err, errcap);
	}
	return finish(db, rc, err, errcap);
}

/* Reads n digits at *p (advanced past them only when all are digits); -1 if not n digits. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

/* n digits after the separator sep (both consumed), or -1 (nothing read past a mismatch). */
static int field(const char **p, char sep, int n)
{
	if (**p != sep)
		return -1;
	++*p;
	return digits(p, n);
}

/* The offset after the time: "Z", "+HH:MM" or "+HH:MM:00" (optionally after a space). */
static int offset(const char **p, char *sign, int *oh, int *om)
{
	*sign = '+';
	*oh = *om = 0;
	if (**p == ' ')
		++*p;
	if (**p == 'Z') {
		++*p;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	*sign = *(*p)++;
	*oh = digits(p, 2);
	*om = *oh < 0 ? -1 : field(p, ':', 2);
	if (*oh < 0 || *oh > 23 || *om < 0 || *om > 59)
		return -1;
	return **p == ':' && field(p, ':', 2) != 0 ? -1 : 0;
}

int ns_gwreg_time_text(const char *s, int display, char *out, size_t cap)
{
	const char *p = s;
	char frac[16] = "0", sign;
	int y = digits(&p, 4), mo = y < 0 ? -1 : field(&p, '-', 2);
	int d = mo < 0 ? -1 : field(&p, '-', 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || (*p != 'T' && *p != ' '))
		return -1;
	p++;
	int h = digits(&p, 2), mi = h < 0 ? -1 : field(&p, ':', 2);
	int se = mi < 0 ? -1 : field(&p, ':', 2);
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
		return -1;
	if (*p == '.') {
		size_t n = strspn(++p, "0123456789");
		if (n == 0 || n > 9)
			return -1;
		memcpy(frac, p, n);
		frac[n] = 0;
		p += n;
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = 0;
	}
	int oh, om;
	if (offset(&p, &sign, &oh, &om) < 0 || *p)
		return -1;
	int n = snprintf(out, cap, display ? "%04d-%02d-%02d %d:%02d:%02d.%s %c%02d:%02d:00"
	                                   : "%04d-%02d-%02d %02d:%02d:%02d.%s %c%02d:%02d:00",
	                 y, mo, d, h, mi, se, frac, sign, oh, om);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* ---------------------------------------------------------------- images in memory */

struct ns_gwreg_img {
	sqlite3 *db;
};

static const char sqlite_magic[16] = "SQLite format 3";

static int img_load(struct ns_gwreg_img *img, const uint8_t *old, size_t len, char *err,
                    size_t errcap)
{
	sqlite3_stmt *st;
	if (len < 100 || memcmp(old, sqlite_magic, sizeof sqlite_magic)) {
		set_err(err, errcap, "not a SQLite database");
		return NS_GWREG_ECORRUPT;
	}
	uint8_t *copy = sqlite3_malloc64(len);
	if (!copy)
		return NS_GWREG_EIO;
	memcpy(copy, old, len);
	if (copy[18] == 2 && copy[19] == 2) /* WAL mode: the same pages, without the log */
		copy[18] = copy[19] = 1;
	if (sqlite3_deserialize(img->db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
	                        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) !=
	    SQLITE_OK)
		return db_err(img->db, "image", err, errcap);
	if (sqlite3_prepare_v2(img->db, "SELECT count(*) FROM active_gateway, registered_gateway,"
	                                " remote_gateway_details, custom_gateway_details", -1, &st,
	                       NULL) != SQLITE_OK)
		return db_err(img->db, "schema", err, errcap);
	sqlite3_finalize(st);
	return 0;
}

static int img_create(struct ns_gwreg_img *img, char *err, size_t errcap)
{
	char *msg = NULL;
	if (sqlite3_exec(img->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errcap, "schema: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return NS_GWREG_EIO;
	}
	int rc = write_migrations(img->db, err, errcap);
	if (rc == 0 && sqlite3_exec(img->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(img->db, "commit", err, errcap);
	return rc;
}

struct ns_gwreg_img *ns_gwreg_img_new(const uint8_t *old, size_t len, char *err, size_t errcap)
{
	ns_sqlwipe_setup();
	struct ns_gwreg_img *img = calloc(1, sizeof *img);
	if (!img || sqlite3_open_v2(":memory:", &img->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                            NULL) != SQLITE_OK) {
		set_err(err, errcap, "out of memory");
		ns_gwreg_img_free(img);
		return NULL;
	}
	/* the file's own schema runs no code of the file's making */
	sqlite3_db_config(img->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(img->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(img->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_exec(img->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	if ((old ? img_load(img, old, len, err, errcap) : img_create(img, err, errcap)) < 0) {
		ns_gwreg_img_free(img);
		return NULL;
	}
	return img;
}

static int img_exec_id(sqlite3 *db, const char *sql, const char *id, char *err, size_t errcap)
{
	sqlite3_stmt *st;
	if (prepare(db, sql, &st, err, errcap) < 0)
		return NS_GWREG_EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return bind_exec(db, st, "registration", err, errcap);
}

int ns_gwreg_img_finish(struct ns_gwreg_img *img, const struct ns_gwreg *r, uint8_t **out,
                        size_t *out_len, char *err, size_t errcap)
{
	char id[64];
	if (!img || !r || !out || !out_len || ns_gwreg_listener_check(r->listener) < 0)
		return NS_GWREG_EARG;
	*out = NULL;
	*out_len = 0;
	base58_encode(r->gateway_id, 32, id, sizeof id);
	int rc = sqlite3_exec(img->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : NS_GWREG_EIO;
	if (rc == 0)
		rc = img_exec_id(img->db, "DELETE FROM remote_gateway_details WHERE gateway_id_bs58 = ?",
		                 id, err, errcap);
	if (rc == 0)
		rc = img_exec_id(img->db, "DELETE FROM custom_gateway_details WHERE gateway_id_bs58 = ?",
		                 id, err, errcap);
	if (rc == 0)
		rc = img_exec_id(img->db, "DELETE FROM registered_gateway WHERE gateway_id_bs58 = ?",
		                 id, err, errcap);
	if (rc == 0)
		rc = write_gateway(img->db, r, id, err, errcap);
	if (rc == 0 && sqlite3_exec(img->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(img->db, "commit", err, errcap);
	if (rc < 0) {
		sqlite3_exec(img->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (ns_sqlx_image(img->db, out, out_len) < 0) {
		set_err(err, errcap, "sqlite3_serialize: out of memory");
		return NS_GWREG_EIO;
	}
	return 0;
}

void ns_gwreg_img_free(struct ns_gwreg_img *img)
{
	if (!img)
		return;
	sqlite3_close(img->db);
	free(img);
}

void ns_gwreg_image_free(uint8_t *image, size_t len)
{
	if (!image)
		return;
	ns_memzero(image, len);
	sqlite3_free(image);
}
