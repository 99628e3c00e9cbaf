/* nym-client's own local interfaces (not in Nym): the framing of the Unix-socket API, the
 * admin protocol spoken by nymctl, and the records of data/nymsuite-unsent.bin (fragments
 * still unacknowledged when the client stopped). No I/O here: every parser works on bytes in
 * memory, so the unit tests and fuzzers drive exactly what the daemons run.
 * docs/client-api.md §8-§10 describe the three formats. */
#ifndef NS_CLIENTLOCAL_H
#define NS_CLIENTLOCAL_H
#include <stddef.h>
#include <stdint.h>

/* ---- Unix-socket API framing: u64 big-endian length ‖ one binary API request/response. */
#define NS_LFRAME_HDR 8
#define NS_LFRAME_MAX (64u << 20) /* the websocket's message limit */

enum ns_lframe_rc {
	NS_LFRAME_MORE = 0,    /* every input byte consumed, the frame is not complete yet */
	NS_LFRAME_DONE = 1,    /* *frame holds one complete frame (malloc'd, caller frees) */
	NS_LFRAME_EBIG = -1,   /* the length prefix is over the limit: drop the connection */
	NS_LFRAME_ENOMEM = -2,
};

struct ns_lframe_dec {
	uint8_t hdr[NS_LFRAME_HDR];
	size_t hdr_have;
	uint64_t want; /* the frame length, once the header is complete */
	uint8_t *buf;  /* grows with the bytes that arrived, never to the announced size at once */
	size_t have, cap;
	size_t max;
};

/* max 0 means NS_LFRAME_MAX. */
void ns_lframe_dec_init(struct ns_lframe_dec *d, size_t max);
void ns_lframe_dec_free(struct ns_lframe_dec *d);
/* Consumes input up to the end of the current frame (*used bytes). On DONE *frame (never
 * NULL, even for an empty frame) and *frame_len are the frame; call again for the rest. On
 * EBIG, d->want holds the refused length. */
int ns_lframe_feed(struct ns_lframe_dec *d, const uint8_t *in, size_t len, size_t *used,
                   uint8_t **frame, size_t *frame_len);
void ns_lframe_header(uint64_t len, uint8_t out[NS_LFRAME_HDR]);

/* ---- admin protocol: one JSON object per line each way. */
#define NS_ADMIN_LINE_MAX 4096     /* a request line, newline included */
#define NS_ADMIN_REPLY_MAX 65536   /* a response line */

enum ns_admin_cmd {
	NS_ADMIN_STATUS = 0,
	NS_ADMIN_ADDRESS,
	NS_ADMIN_GATEWAY,
	NS_ADMIN_TOPOLOGY,
	NS_ADMIN_STATS,
	NS_ADMIN_CMD_COUNT,
};

const char *ns_admin_cmd_name(enum ns_admin_cmd cmd);
/* -1 for an unknown name. */
int ns_admin_cmd_from_name(const char *name);
/* A request line (without its newline): exactly {"cmd":"<name>"}, whitespace allowed. 0, or
 * -1 with a short reason in err. */
int ns_admin_parse_request(const char *line, size_t len, enum ns_admin_cmd *cmd, char *err,
                           size_t errcap);
/* 1 if json (len bytes) is one JSON object whose values are all strings, numbers or
 * booleans (what keyd and netd send in STATUS_REPLY), else 0. */
int ns_admin_is_flat_object(const char *json, size_t len);
/* A response line as nymctl prints it without --json: one "key: value" line per value, keys
 * of nested objects as "section.key", values aligned. malloc'd text, or NULL with a reason
 * in err when the line is not a JSON object. A top-level "cmd" is left out (the caller
 * knows what it asked); an {"error":...} response is rendered like any other. */
char *ns_admin_format_human(const char *json, size_t len, char *err, size_t errcap);

/* ---- data/nymsuite-unsent.bin: a sequence of records, each
 *   "NSU" ‖ version (1) ‖ body length u32 BE ‖ body ‖ SHA-256(everything before)[0..8]
 * with body = frag_id (5) ‖ recipient (96) ‖ lane u64 BE ‖ fragment length u32 BE ‖ fragment. */
#define NS_UNSENT_FILE "nymsuite-unsent.bin"
#define NS_UNSENT_VERSION 1
#define NS_UNSENT_FRAG_MAX 32768
#define NS_UNSENT_OVERHEAD (4 + 4 + 5 + 96 + 8 + 4 + 8)

struct ns_unsent_rec {
	uint8_t frag_id[5];
	uint8_t recipient[96];
	uint64_t lane;
	const uint8_t *fragment; /* 1..NS_UNSENT_FRAG_MAX bytes */
	size_t len;
};

/* Writes one record into out (cap >= NS_UNSENT_OVERHEAD + r->len). Returns its length, or 0
 * when the fragment length is out of range or out is too small. */
size_t ns_unsent_encode(const struct ns_unsent_rec *r, uint8_t *out, size_t cap);
/* Reads the record at the start of buf; r->fragment points into buf. Returns the record's
 * length, or 0 with a reason in err (truncated, bad magic, unknown version, bad length,
 * checksum mismatch). */
size_t ns_unsent_decode(const uint8_t *buf, size_t len, struct ns_unsent_rec *r, char *err,
                        size_t errcap);

#endif
