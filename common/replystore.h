/* Nym's reply store (data/persistent_reply_store.sqlite, storage_paths.reply_surb_database):
 * the reply SURBs others gave us, by sender tag, and the reply keys of the SURBs we handed
 * out, so that an anonymous conversation goes on after a restart, and Nym's Rust client and
 * ours can take turns on one data folder.
 *
 * The file holds Nym's schema after its four migrations (nym client-core surb-storage,
 * fs_surbs_migrations) and sqlx's _sqlx_migrations rows (SHA-384 of each migration file), so
 * sqlx finds every migration applied. Rows as Nym writes them:
 *   status (flush_in_progress, previous_flush, client_in_use)   one row
 *   reply_surb_storage_metadata (min/max_reply_surb_threshold)   one row
 *   reply_key (key_digest BLOB 32, reply_key BLOB 16, sent_at)
 *   reply_surb_sender (id, last_sent, tag BLOB 16)
 *   reply_surb (reply_surb_sender_id, reply_surb = key || SURB, encoded_key_rotation 0..2)
 * Timestamps are written as sqlx writes time::OffsetDateTime (RFC 3339 text); read as sqlx
 * reads them (RFC 3339 or "YYYY-MM-DD HH:MM:SS[.f]" text, unix seconds as INTEGER, a Julian
 * day as REAL).
 *
 * Nym's rules on load (fs_backend try_load_inner, get_stored_reply_surbs):
 *   flush_in_progress != 0, or previous_flush = the Unix epoch: incomplete -> NS_RS_EINCOMPLETE
 *   (Nym then archives the file and starts afresh);
 *   client_in_use != 0 (not shut down cleanly): SURBs and keys are dropped;
 *   no metadata row: refused (NS_RS_ECORRUPT);
 *   a whole day or more since previous_flush: SURBs dropped; two days or more: keys dropped.
 *
 * No file I/O here: the caller reads the file (bounded) and hands its bytes over, and gets a
 * complete new image to write; SQLite runs on in-memory databases only (sqlite3_deserialize /
 * sqlite3_serialize), so keyd can save once sandboxed. Memory SQLite frees is wiped
 * (sqlwipe.h). A hostile file is bounded: NS_RS_FILE_MAX bytes, the row limits the caller
 * gives, a budget of SQLite VM steps, no views or generated columns in place of the tables. */
#ifndef NS_REPLYSTORE_H
#define NS_REPLYSTORE_H
#include <stddef.h>
#include <stdint.h>

#include "rstime.h"
#include "sqlx.h"

#define NS_RS_DB_NAME "persistent_reply_store.sqlite"
#define NS_RS_MIGRATIONS 4
#define NS_RS_FILE_MAX (64u << 20)
#define NS_RS_KEY_LEN 16
#define NS_RS_DIGEST_LEN 32
#define NS_RS_TAG_LEN 16
#define NS_RS_DAY 86400

enum ns_rs_err {
	NS_RS_OK = 0,
	NS_RS_ECORRUPT = -1,    /* not a SQLite file, not Nym's schema, a malformed row */
	NS_RS_EINCOMPLETE = -2, /* the last flush did not finish (Nym: IncompleteDataFlush) */
	NS_RS_ELIMIT = -3,      /* more rows or bytes than we load */
	NS_RS_ENOMEM = -4,
	NS_RS_EARG = -5,
	NS_RS_EDB = -6,         /* SQLite failed while writing an image */
};
const char *ns_rs_strerror(int rc);

extern const struct ns_sqlx_migration ns_rs_migrations[NS_RS_MIGRATIONS];

struct ns_rs_limits {
	size_t max_keys, max_senders, max_surbs;
};

struct ns_rs_key {
	uint8_t digest[NS_RS_DIGEST_LEN], key[NS_RS_KEY_LEN];
	int64_t sent_at; /* unix seconds */
};
struct ns_rs_sender {
	uint8_t tag[NS_RS_TAG_LEN];
	int64_t last_sent; /* unix seconds: when its SURBs last arrived */
	size_t first, n;   /* its SURBs: surbs[first .. first + n) */
};
struct ns_rs_surb {
	uint8_t rotation; /* SphinxKeyRotation: 0 unknown, 1 odd, 2 even */
	size_t off, len;  /* bytes[off .. off + len): a serialized ReplySurb (key || SURB) */
};

/* What a store held, after Nym's rules. */
struct ns_rs_data {
	int64_t previous_flush;
	uint32_t min_threshold, max_threshold;
	int unclean;           /* client_in_use was set: nothing was loaded */
	int surbs_outdated;    /* a day or more old: SURBs dropped */
	int keys_outdated;     /* two days or more old: keys dropped */
	struct ns_rs_key *keys;
	size_t n_keys;
	struct ns_rs_sender *senders;
	size_t n_senders;
	struct ns_rs_surb *surbs;
	size_t n_surbs;
	uint8_t *bytes;
	size_t bytes_len;
};

/* Reads a store image (the file's bytes; a WAL-mode file is read as its main file). now:
 * unix seconds. Every row is checked before anything is returned (a single bad one refuses
 * the store, as Nym). 0 and out filled (free with ns_rs_data_free), or an ns_rs_err with the
 * reason in err. */
int ns_rs_load(const uint8_t *image, size_t len, int64_t now, const struct ns_rs_limits *lim,
               struct ns_rs_data *out, char *err, size_t errcap);
void ns_rs_data_free(struct ns_rs_data *d);

/* Building a new image: schema and migration rows at ns_rs_writer_new (call it before a
 * sandbox: SQLite's first use may read /dev/urandom), rows, then ns_rs_writer_finish. */
struct ns_rs_writer;
struct ns_rs_writer *ns_rs_writer_new(char *err, size_t errcap);
int ns_rs_writer_key(struct ns_rs_writer *w, const uint8_t digest[NS_RS_DIGEST_LEN],
                     const uint8_t key[NS_RS_KEY_LEN], int64_t sent_at);
/* A sender; the SURBs written next are its own. */
int ns_rs_writer_sender(struct ns_rs_writer *w, const uint8_t tag[NS_RS_TAG_LEN],
                        int64_t last_sent);
int ns_rs_writer_surb(struct ns_rs_writer *w, uint8_t rotation, const uint8_t *surb,
                      size_t len);
/* The status row (flush_in_progress 0, previous_flush, client_in_use) and the metadata, then
 * the whole database image: *image (free with ns_rs_image_free, which wipes it). */
int ns_rs_writer_finish(struct ns_rs_writer *w, uint32_t min_threshold, uint32_t max_threshold,
                        int64_t previous_flush, int client_in_use, uint8_t **image,
                        size_t *len, char *err, size_t errcap);
void ns_rs_writer_free(struct ns_rs_writer *w);
void ns_rs_image_free(uint8_t *image, size_t len);

/* ---- codecs of outside bytes (exposed for tests and fuzzing) */

/* The timestamp codecs: rstime.h */

#endif
