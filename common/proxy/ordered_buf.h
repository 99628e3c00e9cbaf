/* Per-connection ordered buffer for Send / NetworkData payloads (nym@b4046a89
 * common/socks5/ordered-buffer and the controller around it in
 * common/socks5/proxy-helpers/src/connection_controller.rs).
 *
 * Pieces are keyed by seq. The readable data is the contiguous run from next_seq. An insert
 * is refused when seq is more than NR_OBUF_WINDOW past next_seq, when seq is already held,
 * when seq was already read, when seq lies past the piece that carried closed=true, or when
 * the bytes held (data + a fixed cost per piece) would pass the cap given at creation.
 * Empty pieces that do not close are skipped as soon as they are reached, as Nym forwards
 * nothing for them. Reading stops at the closing piece; once it is consumed the stream from
 * the peer is over. */
#ifndef NS_ORDERED_BUF_H
#define NS_ORDERED_BUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NR_OBUF_WINDOW 1000
/* bytes counted for every piece held, on top of its data */
#define NR_OBUF_PIECE_COST 32

enum nr_obuf_err {
	NR_OBUF_E_TOO_FAR = -1,    /* seq > next_seq + NR_OBUF_WINDOW */
	NR_OBUF_E_DUPLICATE = -2,  /* a piece with this seq is held */
	NR_OBUF_E_CONSUMED = -3,   /* seq < next_seq: already read */
	NR_OBUF_E_PAST_CLOSE = -4, /* seq after the closing piece, or a second close */
	NR_OBUF_E_FULL = -5,       /* the byte cap would be passed */
	NR_OBUF_E_NOMEM = -6,
};

struct nr_obuf;

struct nr_obuf *nr_obuf_new(size_t byte_cap);
void nr_obuf_free(struct nr_obuf *b);
const char *nr_obuf_err_text(int err);

/* copies data; 0 or a negative nr_obuf_err (the buffer is unchanged then) */
int nr_obuf_insert(struct nr_obuf *b, uint64_t seq, const uint8_t *data, size_t len,
                   bool closed);
/* the head of the readable data: 1 with *data / *len (valid until the next call that changes
 * the buffer), 0 when nothing is readable */
int nr_obuf_peek(struct nr_obuf *b, const uint8_t **data, size_t *len);
/* drops n bytes (at most what peek returned) from the head */
void nr_obuf_consume(struct nr_obuf *b, size_t n);
/* copies up to cap readable bytes out and consumes them; returns how many */
size_t nr_obuf_read(struct nr_obuf *b, uint8_t *out, size_t cap);

/* the piece that carried closed=true has been read: no more data will come */
bool nr_obuf_finished(const struct nr_obuf *b);
/* a piece with closed=true has been accepted (*seq receives it when not NULL) */
bool nr_obuf_close_seen(const struct nr_obuf *b, uint64_t *seq);
uint64_t nr_obuf_next_seq(const struct nr_obuf *b);
size_t nr_obuf_bytes(const struct nr_obuf *b);    /* data + per-piece cost held */
size_t nr_obuf_readable(const struct nr_obuf *b); /* contiguous data bytes readable now */
size_t nr_obuf_pieces(const struct nr_obuf *b);

#endif
