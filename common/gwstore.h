/* A gateway's persistent state on disk (what Nym keeps in its gateway storage):
 *  - one record per registered client: the shared key, the last accepted authenticateV2
 *    timestamp and the free-bandwidth allowance (clients/<hex address>, mode 0600);
 *  - an inbox per client of messages that arrived while it was offline
 *    (inbox/<hex address>/<id as 16 hex>.msg), delivered and removed on its next session.
 *
 * Every write is durable when the call returns: temp file, fsync, rename, fsync of the
 * folder. Files carry a magic, a version and a BLAKE3 checksum; a torn or altered file
 * decodes as NS_GWSTORE_ECORRUPT and is never trusted. Message ids grow strictly within a
 * process and follow the wall clock across restarts, so listing by id gives arrival order.
 * Not thread-safe. */
#ifndef NS_GWSTORE_H
#define NS_GWSTORE_H
#include <stddef.h>
#include <stdint.h>

#include "gateway/shared_key.h"

#define NS_GWSTORE_MSG_MAX        40000 /* largest message (extended32 delivers 32363 bytes) */
#define NS_GWSTORE_CLIENT_REC_LEN 80
#define NS_GWSTORE_MSG_OVERHEAD   36    /* header 20 + checksum 16 */

enum ns_gwstore_err {
	NS_GWSTORE_ENOENT = -1,   /* no such client / message */
	NS_GWSTORE_ECORRUPT = -2, /* file fails its magic, version, length or checksum */
	NS_GWSTORE_EIO = -3,      /* a system call failed (errno kept) */
	NS_GWSTORE_EFULL = -4,    /* the client's inbox is at its message or byte limit */
	NS_GWSTORE_EARG = -5,
	NS_GWSTORE_ENOMEM = -6,
};

struct ns_gwstore_limits {
	size_t max_messages;      /* per client inbox [10000] */
	uint64_t max_bytes;       /* per client inbox [64 MiB] */
};

struct ns_gwstore_client {
	struct ns_gw_key key;
	int has_last_auth;
	uint64_t last_auth_ts;    /* authenticateV2 requestUnixTimestamp */
	int64_t bandwidth;        /* bytes still available */
	int64_t bandwidth_expiry; /* unix day number (days since 1970-01-01) of the allowance */
};

struct ns_gwstore;

/* Opens (creating, mode 0700) dir with clients/ and inbox/ inside. limits may be NULL. */
int ns_gwstore_open(const char *dir, const struct ns_gwstore_limits *limits,
                    struct ns_gwstore **out);
void ns_gwstore_close(struct ns_gwstore *s);

/* Pure codecs of the two file formats (exposed for tests and fuzzing). */
void ns_gwstore_client_encode(const struct ns_gwstore_client *c,
                              uint8_t out[NS_GWSTORE_CLIENT_REC_LEN]);
int ns_gwstore_client_decode(const uint8_t *in, size_t len, struct ns_gwstore_client *c);
/* Returns bytes written (len + NS_GWSTORE_MSG_OVERHEAD) or NS_GWSTORE_EARG. */
long ns_gwstore_msg_encode(uint64_t stored_at, const uint8_t *msg, size_t len, uint8_t *out,
                           size_t cap);
/* *msg points into in. */
int ns_gwstore_msg_decode(const uint8_t *in, size_t len, uint64_t *stored_at, const uint8_t **msg,
                          size_t *msg_len);

int ns_gwstore_client_put(struct ns_gwstore *s, const uint8_t address[32],
                          const struct ns_gwstore_client *c);
int ns_gwstore_client_get(struct ns_gwstore *s, const uint8_t address[32],
                          struct ns_gwstore_client *c);
/* Removes the record and the whole inbox. */
int ns_gwstore_client_delete(struct ns_gwstore *s, const uint8_t address[32]);

/* Stores one message; durable on return. *id (may be NULL) receives its id. */
int ns_gwstore_inbox_put(struct ns_gwstore *s, const uint8_t address[32], const uint8_t *msg,
                         size_t len, uint64_t *id);
/* Up to max ids greater than `after`, ascending; returns the count (0 for no inbox). */
long ns_gwstore_inbox_list(struct ns_gwstore *s, const uint8_t address[32], uint64_t after,
                           uint64_t *ids, size_t max);
/* Reads one message into buf (cap >= NS_GWSTORE_MSG_MAX is always enough). */
int ns_gwstore_inbox_read(struct ns_gwstore *s, const uint8_t address[32], uint64_t id,
                          uint8_t *buf, size_t cap, size_t *len);
int ns_gwstore_inbox_remove(struct ns_gwstore *s, const uint8_t address[32], uint64_t id);
/* Messages and bytes (file sizes) held for a client. */
int ns_gwstore_inbox_usage(struct ns_gwstore *s, const uint8_t address[32], size_t *count,
                           uint64_t *bytes);
/* Deletes every stored message older than before_unix (and corrupt message files);
 * returns how many were removed. */
long ns_gwstore_purge(struct ns_gwstore *s, uint64_t before_unix);

const char *ns_gwstore_strerror(int err);

#endif
