/* Ordered buffer: a seq-sorted array of pieces; the first one may be partly consumed. */
#include "proxy/ordered_buf.h"

#include <stdlib.h>
#include <string.h>

struct piece {
	uint64_t seq;
	uint8_t *data;
	size_t len, off; /* off: bytes of it already consumed */
	bool closed;
};

struct nr_obuf {
	struct piece *pieces; /* sorted by seq, all >= next_seq */
	size_t n, cap_pieces;
	uint64_t next_seq;
	size_t bytes, byte_cap;
	bool close_seen, finished;
	uint64_t close_seq;
};

struct nr_obuf *nr_obuf_new(size_t byte_cap)
{
	struct nr_obuf *b = calloc(1, sizeof(*b));

	if (b)
		b->byte_cap = byte_cap;
	return b;
}

void nr_obuf_free(struct nr_obuf *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->pieces[i].data);
	free(b->pieces);
	free(b);
}

const char *nr_obuf_err_text(int err)
{
	switch (err) {
	case NR_OBUF_E_TOO_FAR: return "sequence number too far ahead";
	case NR_OBUF_E_DUPLICATE: return "sequence number already buffered";
	case NR_OBUF_E_CONSUMED: return "sequence number already read";
	case NR_OBUF_E_PAST_CLOSE: return "data after the close";
	case NR_OBUF_E_FULL: return "buffer full";
	case NR_OBUF_E_NOMEM: return "out of memory";
	default: return err ? "unknown error" : "ok";
	}
}

/* index of the first piece with seq >= seq */
static size_t lower_bound(const struct nr_obuf *b, uint64_t seq)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->pieces[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int check_close(const struct nr_obuf *b, uint64_t seq, bool closed)
{
	if (b->close_seen && (closed || seq > b->close_seq))
		return NR_OBUF_E_PAST_CLOSE;
	if (closed && b->n && b->pieces[b->n - 1].seq > seq)
		return NR_OBUF_E_PAST_CLOSE;
	return 0;
}

/* the checks in Nym's order (too far, held, already read), then ours */
static int check_insert(const struct nr_obuf *b, uint64_t seq, size_t len, bool closed,
                        size_t at)
{
	if (seq > b->next_seq && seq - b->next_seq > NR_OBUF_WINDOW)
		return NR_OBUF_E_TOO_FAR;
	if (at < b->n && b->pieces[at].seq == seq)
		return NR_OBUF_E_DUPLICATE;
	if (seq < b->next_seq)
		return NR_OBUF_E_CONSUMED;
	if (check_close(b, seq, closed))
		return NR_OBUF_E_PAST_CLOSE;
	if (len > b->byte_cap || b->bytes + NR_OBUF_PIECE_COST > b->byte_cap - len)
		return NR_OBUF_E_FULL;
	return 0;
}

static int reserve_piece(struct nr_obuf *b)
{
	size_t cap = b->cap_pieces ? 2 * b->cap_pieces : 4;
	struct piece *p;

	if (b->n < b->cap_pieces)
		return 0;
	p = realloc(b->pieces, cap * sizeof(*p));
	if (!p)
		return NR_OBUF_E_NOMEM;
	b->pieces = p;
	b->cap_pieces = cap;
	return 0;
}

static void remove_head(struct nr_obuf *b)
{
	struct piece *h = &b->pieces[0];

	b->bytes -= h->len - h->off + NR_OBUF_PIECE_COST;
	if (h->closed)
		b->finished = true;
	free(h->data);
	memmove(b->pieces, b->pieces + 1, (b->n - 1) * sizeof(*h));
	b->n--;
	b->next_seq++;
}

/* drops empty pieces that reach the head: there is nothing in them to read */
static void skip_empty(struct nr_obuf *b)
{
	while (b->n && b->pieces[0].seq == b->next_seq && b->pieces[0].off == b->pieces[0].len)
		remove_head(b);
}

int nr_obuf_insert(struct nr_obuf *b, uint64_t seq, const uint8_t *data, size_t len,
                   bool closed)
{
	size_t at = lower_bound(b, seq);
	uint8_t *copy = NULL;
	int rc = check_insert(b, seq, len, closed, at);

	if (rc || (rc = reserve_piece(b)))
		return rc;
	if (len && !(copy = malloc(len)))
		return NR_OBUF_E_NOMEM;
	if (len)
		memcpy(copy, data, len);
	memmove(b->pieces + at + 1, b->pieces + at, (b->n - at) * sizeof(*b->pieces));
	b->pieces[at] = (struct piece){.seq = seq, .data = copy, .len = len, .closed = closed};
	b->n++;
	b->bytes += len + NR_OBUF_PIECE_COST;
	if (closed) {
		b->close_seen = true;
		b->close_seq = seq;
	}
	skip_empty(b);
	return 0;
}

int nr_obuf_peek(struct nr_obuf *b, const uint8_t **data, size_t *len)
{
	const struct piece *h = b->n ? &b->pieces[0] : NULL;

	if (!h || h->seq != b->next_seq)
		return 0;
	*data = h->data + h->off;
	*len = h->len - h->off;
	return 1;
}

void nr_obuf_consume(struct nr_obuf *b, size_t n)
{
	struct piece *h = b->n ? &b->pieces[0] : NULL;

	if (!h || h->seq != b->next_seq)
		return;
	if (n > h->len - h->off)
		n = h->len - h->off;
	h->off += n;
	b->bytes -= n;
	skip_empty(b);
}

size_t nr_obuf_read(struct nr_obuf *b, uint8_t *out, size_t cap)
{
	const uint8_t *p;
	size_t got = 0, n;

	while (got < cap && nr_obuf_peek(b, &p, &n)) {
		if (n > cap - got)
			n = cap - got;
		memcpy(out + got, p, n);
		got += n;
		nr_obuf_consume(b, n);
	}
	return got;
}

bool nr_obuf_finished(const struct nr_obuf *b)
{
	return b->finished;
}

bool nr_obuf_close_seen(const struct nr_obuf *b, uint64_t *seq)
{
	if (b->close_seen && seq)
		*seq = b->close_seq;
	return b->close_seen;
}

uint64_t nr_obuf_next_seq(const struct nr_obuf *b)
{
	return b->next_seq;
}

size_t nr_obuf_bytes(const struct nr_obuf *b)
{
	return b->bytes;
}

size_t nr_obuf_readable(const struct nr_obuf *b)
{
	size_t total = 0;

	for (size_t i = 0; i < b->n && b->pieces[i].seq == b->next_seq + i; i++)
		total += b->pieces[i].len - b->pieces[i].off;
	return total;
}

size_t nr_obuf_pieces(const struct nr_obuf *b)
{
	return b->n;
}
