/* See shbuf.h. */
#include "shbuf.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "membudget.h"

struct ns_shbuf *ns_shbuf_adopt(uint8_t *data, size_t len, struct ns_membudget *budget)
{
	struct ns_shbuf *b = calloc(1, sizeof *b);
	if (!b) {
		free(data);
		return NULL;
	}
	b->data = data;
	b->len = len;
	b->refs = 1;
	b->budget = budget;
	if (budget)
		ns_membudget_set(budget, &b->charged, len + sizeof *b);
	return b;
}

struct ns_shbuf *ns_shbuf_copy(const uint8_t *data, size_t len, struct ns_membudget *budget)
{
	uint8_t *d = malloc(len ? len : 1);
	if (!d)
		return NULL;
	if (len)
		memcpy(d, data, len);
	return ns_shbuf_adopt(d, len, budget);
}

struct ns_shbuf *ns_shbuf_ref(struct ns_shbuf *b)
{
	b->refs++;
	return b;
}

void ns_shbuf_unref(struct ns_shbuf *b)
{
	if (!b || --b->refs)
		return;
	if (b->budget)
		ns_membudget_set(b->budget, &b->charged, 0);
	ns_memzero(b->data, b->len); /* received plaintext */
	free(b->data);
	free(b);
}

/* ---- output queue */

static size_t ent_len(const struct ns_outq_ent *e)
{
	return e->hdr_len + e->buf->len;
}

static size_t ent_owned(const struct ns_outq_ent *e)
{
	return sizeof *e + (e->buf->budget ? 0 : e->buf->len + sizeof *e->buf);
}

void ns_outq_init(struct ns_outq *q)
{
	memset(q, 0, sizeof *q);
	q->tail = &q->head;
}

int ns_outq_push(struct ns_outq *q, const uint8_t *hdr, size_t hdr_len, struct ns_shbuf *b)
{
	if (hdr_len > NS_OUTQ_HDR_MAX)
		return -1;
	struct ns_outq_ent *e = calloc(1, sizeof *e);
	if (!e)
		return -1;
	if (!q->tail)
		q->tail = &q->head;
	e->buf = ns_shbuf_ref(b);
	e->hdr_len = (uint8_t)hdr_len;
	if (hdr_len)
		memcpy(e->hdr, hdr, hdr_len);
	*q->tail = e;
	q->tail = &e->next;
	q->entries++;
	q->bytes += ent_len(e);
	if (b->budget)
		q->shared += ent_len(e);
	q->owned += ent_owned(e);
	return 0;
}

int ns_outq_push_copy(struct ns_outq *q, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
                      size_t len)
{
	struct ns_shbuf *b = ns_shbuf_copy(data, len, NULL);
	if (!b)
		return -1;
	int rc = ns_outq_push(q, hdr, hdr_len, b);
	ns_shbuf_unref(b);
	return rc;
}

size_t ns_outq_iov(const struct ns_outq *q, struct iovec *iov, size_t max)
{
	size_t n = 0;
	for (const struct ns_outq_ent *e = q->head; e && n < max; e = e->next) {
		size_t off = e->off;
		if (off < e->hdr_len) {
			iov[n++] = (struct iovec){ (void *)(e->hdr + off), e->hdr_len - off };
			off = e->hdr_len;
		}
		if (n < max && off - e->hdr_len < e->buf->len)
			iov[n++] = (struct iovec){ e->buf->data + (off - e->hdr_len),
				                   e->buf->len - (off - e->hdr_len) };
	}
	return n;
}

static void pop_head(struct ns_outq *q)
{
	struct ns_outq_ent *e = q->head;
	q->head = e->next;
	if (!q->head)
		q->tail = &q->head;
	q->entries--;
	q->owned -= ent_owned(e);
	ns_shbuf_unref(e->buf);
	free(e);
}

/* Consumes up to n bytes of the head entry; how many. */
static size_t consume_head(struct ns_outq *q, size_t n)
{
	struct ns_outq_ent *e = q->head;
	size_t left = ent_len(e) - e->off, k = n < left ? n : left;
	e->off += k;
	q->bytes -= k;
	if (e->buf->budget)
		q->shared -= k;
	if (e->off == ent_len(e))
		pop_head(q);
	return k;
}

void ns_outq_consume(struct ns_outq *q, size_t n)
{
	while (n && q->head)
		n -= consume_head(q, n);
	/* entries of nothing at all (empty buffer, no header) are done too */
	while (q->head && ent_len(q->head) == 0)
		pop_head(q);
}

size_t ns_outq_read(struct ns_outq *q, uint8_t *buf, size_t len, int *entry_done)
{
	*entry_done = 0;
	struct ns_outq_ent *e = q->head;
	if (!e)
		return 0;
	size_t n = 0;
	while (n < len && e->off < ent_len(e)) {
		size_t off = e->off, k;
		if (off < e->hdr_len) {
			k = e->hdr_len - off;
			k = k < len - n ? k : len - n;
			memcpy(buf + n, e->hdr + off, k);
		} else {
			k = ent_len(e) - off;
			k = k < len - n ? k : len - n;
			memcpy(buf + n, e->buf->data + (off - e->hdr_len), k);
		}
		n += k;
		e->off += k;
	}
	q->bytes -= n;
	if (e->buf->budget)
		q->shared -= n;
	if (e->off == ent_len(e)) {
		*entry_done = 1;
		pop_head(q);
	}
	return n;
}

int ns_outq_mid_entry(const struct ns_outq *q)
{
	return q->head && q->head->off > 0;
}

uint64_t ns_outq_oldest_shared(const struct ns_outq *q)
{
	for (const struct ns_outq_ent *e = q->head; e; e = e->next)
		if (e->buf->budget)
			return e->buf->seq;
	return UINT64_MAX;
}

void ns_outq_clear(struct ns_outq *q)
{
	while (q->head)
		pop_head(q);
	q->bytes = q->shared = 0;
}
