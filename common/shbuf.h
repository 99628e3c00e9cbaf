/* Shared output: one immutable byte buffer sent to many connections without a copy each.
 *
 * ns_shbuf: a refcounted buffer (one received message, encoded once). While any reference
 * lives it is charged once to its memory budget (membudget.h), if it has one; the last
 * ns_shbuf_unref zeroes it, frees it and takes the charge back.
 *
 * ns_outq: one connection's output queue, a FIFO of (reference, offset) entries, each sent
 * as an optional small header (e.g. a length prefix) followed by the buffer's bytes. Small
 * answers of one connection go in as buffers of their own (no budget); what the queue holds
 * of those, and its bookkeeping, is `owned`: the connection's to charge. Not thread-safe. */
#ifndef NS_SHBUF_H
#define NS_SHBUF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ns_membudget;

struct ns_shbuf {
	uint8_t *data;
	size_t len;
	size_t refs;
	size_t charged; /* in budget while refs > 0 */
	struct ns_membudget *budget;
	uint64_t seq; /* the creator's label (apid: the delivery number) */
};

/* Takes ownership of data (malloc'd, len bytes; freed on failure too): a buffer with one
 * reference, charged to budget (may be NULL). NULL when out of memory. */
struct ns_shbuf *ns_shbuf_adopt(uint8_t *data, size_t len, struct ns_membudget *budget);
/* The same with a copy of data. */
struct ns_shbuf *ns_shbuf_copy(const uint8_t *data, size_t len, struct ns_membudget *budget);
struct ns_shbuf *ns_shbuf_ref(struct ns_shbuf *b);
void ns_shbuf_unref(struct ns_shbuf *b); /* NULL is fine */

#define NS_OUTQ_HDR_MAX 8

struct ns_outq_ent {
	struct ns_outq_ent *next;
	struct ns_shbuf *buf;
	size_t off; /* bytes of hdr + buf already consumed */
	uint8_t hdr_len, hdr[NS_OUTQ_HDR_MAX];
};

struct ns_outq {
	struct ns_outq_ent *head, **tail;
	size_t bytes;   /* not yet consumed, headers included */
	size_t shared;  /* of which in budgeted (shared) buffers, their headers included */
	size_t owned;   /* own buffers not yet freed + every entry's bookkeeping */
	size_t entries;
};

void ns_outq_init(struct ns_outq *q);
/* Appends hdr (hdr_len <= NS_OUTQ_HDR_MAX bytes, copied) then b's bytes; takes a reference
 * of its own. 0, or -1 (out of memory, or bad hdr_len). */
int ns_outq_push(struct ns_outq *q, const uint8_t *hdr, size_t hdr_len, struct ns_shbuf *b);
/* Like ns_outq_push with a private copy of data (no budget): a connection's own answer. */
int ns_outq_push_copy(struct ns_outq *q, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
                      size_t len);
/* The unconsumed bytes as up to max iovecs, in order; how many were filled. */
size_t ns_outq_iov(const struct ns_outq *q, struct iovec *iov, size_t max);
/* n bytes were written: entries done are released. n <= bytes. */
void ns_outq_consume(struct ns_outq *q, size_t n);
/* Copies up to len bytes of the head entry only into buf and consumes them. Returns the
 * count; *entry_done = 1 when that finished the entry. 0 if the queue is empty. */
size_t ns_outq_read(struct ns_outq *q, uint8_t *buf, size_t len, int *entry_done);
/* 1 if the head entry is partly consumed (a frame half written). */
int ns_outq_mid_entry(const struct ns_outq *q);
/* seq of the first entry with a budgeted buffer, UINT64_MAX if none. */
uint64_t ns_outq_oldest_shared(const struct ns_outq *q);
/* Releases every entry. */
void ns_outq_clear(struct ns_outq *q);

#endif
