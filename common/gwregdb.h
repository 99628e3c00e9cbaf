/* Nym's gateway-registration store (data/gateways_registrations.sqlite), so Nym's Rust
 * nym-client and ours can take turns on one data directory.
 *
 * The file is Nym's schema after all four of its migrations (nym client-core
 * gateways-storage, fs_gateways_migrations), with sqlx's _sqlx_migrations rows (version,
 * description, success, SHA-384 of each migration file) so that sqlx finds every migration
 * applied and leaves the file as it is. Rows as Nym encodes them:
 *   registered_gateway.registration_timestamp  RFC 3339 text (sqlx's OffsetDateTime)
 *   remote_gateway_details.derived_aes256_gcm_siv_key  BLOB, 32 bytes (current key) or NULL
 *   remote_gateway_details.derived_aes128_ctr_blake3_hmac_keys_bs58  base58 of the 32 legacy
 *       key bytes (AES-128-CTR key || HMAC key) or NULL; the AES-256 column wins when both
 *   remote_gateway_details.gateway_listener  URL text (Nym: Url::to_string, "ws://IP:PORT/")
 *
 * Every byte of memory SQLite allocates in this process is wiped when freed (an allocator
 * installed before SQLite's first use), so the page holding a shared key leaves no copy in a
 * process that read only the gateway's listener. Not thread-safe. */
#ifndef NS_GWREGDB_H
#define NS_GWREGDB_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gateway/shared_key.h"
#include "sqlx.h"

#define NS_GWREG_DB_NAME "gateways_registrations.sqlite"
#define NS_GWREG_LISTENER_MAX 256
#define NS_GWREG_MIGRATIONS 4

enum ns_gwreg_err {
	NS_GWREG_OK = 0,
	NS_GWREG_ENOENT = -1,      /* no such file */
	NS_GWREG_ENOACTIVE = -2,   /* the DB names no active gateway */
	NS_GWREG_ECORRUPT = -3,    /* not a SQLite file, schema missing, or a malformed row */
	NS_GWREG_EIO = -4,         /* a system or SQLite call failed */
	NS_GWREG_EEXIST = -5,      /* create: the file exists already */
	NS_GWREG_EARG = -6,
	NS_GWREG_EUNSUPPORTED = -7, /* active gateway of type 'custom' (embedded clients) */
	NS_GWREG_ENOTREG = -8       /* set_active: no such registered gateway */
};

struct ns_gwreg {
	uint8_t gateway_id[32];
	char listener[NS_GWREG_LISTENER_MAX];
	int has_key;
	struct ns_gw_key key;
	int64_t registered_at;     /* unix seconds (written by create; 0 when read) */
};

/* The migrations as sqlx records them (what create writes into _sqlx_migrations). */
extern const struct ns_sqlx_migration ns_gwreg_migrations[NS_GWREG_MIGRATIONS];

/* Creates path, which must not exist, mode 0600: the schema, the migration rows, r as the
 * one registered (remote) gateway and as the active one. The file is built under a temporary
 * name and renamed into place, so path is either complete or absent. */
int ns_gwreg_create(const char *path, const struct ns_gwreg *r, char *err, size_t errcap);

/* A new image of the DB in memory (no file I/O, so keyd can finish it in its sandbox): from
 * old (the file's bytes, a WAL-mode file read as its main file) or, with old NULL, a new DB
 * of Nym's schema and sqlx's rows. SQLite is opened here: call it before a sandbox. NULL with
 * the reason in err (not a SQLite file, not Nym's schema, out of memory). */
struct ns_gwreg_img;
struct ns_gwreg_img *ns_gwreg_img_new(const uint8_t *old, size_t len, char *err, size_t errcap);
/* r becomes the registered gateway (its rows replaced: a re-registration) and the active one;
 * then the whole DB as *out (free with ns_gwreg_image_free, which wipes it). 0 or an
 * ns_gwreg_err. */
int ns_gwreg_img_finish(struct ns_gwreg_img *img, const struct ns_gwreg *r, uint8_t **out,
                        size_t *out_len, char *err, size_t errcap);
void ns_gwreg_img_free(struct ns_gwreg_img *img);
void ns_gwreg_image_free(uint8_t *image, size_t len);

/* Reads the active gateway (read-only; a Nym-made file is fine). with_key: also the shared
 * key (has_key = 1); else the key bytes are never read, key stays zero and has_key says
 * whether one is stored. */
int ns_gwreg_load_active(const char *path, int with_key, struct ns_gwreg *out, char *err,
                         size_t errcap);

/* One registration as list-gateways shows it. */
struct ns_gwreg_entry {
	uint8_t gateway_id[32];
	char type[16];                        /* "remote" or "custom" */
	char listener[NS_GWREG_LISTENER_MAX]; /* "" for a custom gateway */
	char registered_at[48];               /* the stored timestamp text */
	int active;
};
#define NS_GWREG_LIST_MAX 256

/* Every registered gateway, in the DB's order, at most cap (read-only; the key columns are
 * never read). 0 with *n, or an error code (a malformed row is NS_GWREG_ECORRUPT). */
int ns_gwreg_list(const char *path, struct ns_gwreg_entry *out, size_t cap, size_t *n,
                  char *err, size_t errcap);
/* Adds r (a remote gateway not yet registered: NS_GWREG_EEXIST otherwise) to an existing DB,
 * Nym's or ours, in one transaction; set_active also makes it the active gateway. */
int ns_gwreg_add(const char *path, const struct ns_gwreg *r, int set_active, char *err,
                 size_t errcap);
/* Nym's set_active_gateway: NS_GWREG_ENOTREG when the gateway is not registered. */
int ns_gwreg_set_active(const char *path, const uint8_t gateway_id[32], char *err,
                        size_t errcap);
/* A stored registration_timestamp (RFC 3339 as we write it, or sqlx's text of Nym's
 * OffsetDateTime: "T" or " " between date and time, optional fraction, "Z" or an offset) as
 * Rust's time crate prints it: display = 0 the serde human-readable form
 * "2024-03-04 09:05:06.5 +00:00:00", display = 1 its Display "2024-03-04 9:05:06.5 +00:00:00".
 * 0 or -1 (not a timestamp). */
int ns_gwreg_time_text(const char *stored, int display, char *out, size_t cap);

/* The newest modification time of path and its -wal file (where Nym's WAL mode may keep the
 * latest write). 0 or NS_GWREG_ENOENT. */
int ns_gwreg_mtime(const char *path, struct timespec *out);

/* ---- row codecs (outside bytes; exposed for tests and fuzzing) */

/* One remote_gateway_details row as read: a NULL pointer is SQL NULL. Strings are
 * NUL-terminated (the reader rejects text with an embedded NUL). */
struct ns_gwreg_row {
	const char *gateway_id_bs58, *gateway_type, *listener, *legacy_key_bs58;
	const uint8_t *aes256_key;
	size_t aes256_key_len;
};
/* Checks and decodes a row (gateway_type NULL counts as 'remote', its column default). */
int ns_gwreg_row_decode(const struct ns_gwreg_row *row, int with_key, struct ns_gwreg *out,
                        char *err, size_t errcap);
/* ws:// or wss:// URL of printable ASCII, shorter than NS_GWREG_LISTENER_MAX: 0 or -1. */
int ns_gwreg_listener_check(const char *url);
/* RFC 3339 UTC ("2024-03-04T12:00:00Z") as sqlx writes OffsetDateTime: 0 or -1. */
int ns_gwreg_timestamp(int64_t unix_s, char *out, size_t cap);

const char *ns_gwreg_strerror(int rc);

#endif
