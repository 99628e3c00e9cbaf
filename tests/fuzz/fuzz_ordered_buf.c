/* Per-connection ordered buffer against a plain reference model.
 * Input: byte 0 picks the byte cap; then operations of 4 bytes each:
 *   op & 3 == 0, 1: insert seq = next_seq + (int16 from bytes 1-2) (or a huge seq when
 *                   op & 0x40), data length byte 3, closed = op & 0x80;
 *   op & 3 == 2:    read up to byte 3 bytes;
 *   op & 3 == 3:    peek and consume byte 3 bytes of the head.
 * Every insert's result must match the model's; the bytes read must be the model's
 * contiguous data in order; bytes held, readable bytes, next_seq and the close state must
 * match after every step, and bytes held never pass the cap. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/ordered_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEQ_SPACE 65536

struct held {
	bool present, closed;
	size_t len, off;
};

struct model {
	struct held h[SEQ_SPACE];
	uint64_t next, close_seq;
	bool close_seen, finished;
	size_t bytes, cap;
};

static uint8_t byte_of(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i * 7);
}

/* whether any piece is held above seq */
static bool held_above(const struct model *m, uint64_t seq)
{
	for (uint64_t s = seq + 1; s <= m->next + NR_OBUF_WINDOW && s < SEQ_SPACE; s++)
		if (m->h[s].present)
			return true;
	return false;
}

static void model_skip(struct model *m)
{
	while (m->next < SEQ_SPACE && m->h[m->next].present &&
	       m->h[m->next].off == m->h[m->next].len) {
		m->h[m->next].present = false;
		m->bytes -= NR_OBUF_PIECE_COST;
		m->finished |= m->h[m->next].closed;
		m->next++;
	}
}

static int model_insert(struct model *m, uint64_t seq, size_t len, bool closed)
{
	if (seq > m->next && seq - m->next > NR_OBUF_WINDOW)
		return NR_OBUF_E_TOO_FAR;
	if (m->h[seq].present)
		return NR_OBUF_E_DUPLICATE;
	if (seq < m->next)
		return NR_OBUF_E_CONSUMED;
	if (m->close_seen && (closed || seq > m->close_seq))
		return NR_OBUF_E_PAST_CLOSE;
	if (closed && held_above(m, seq))
		return NR_OBUF_E_PAST_CLOSE;
	if (m->bytes + NR_OBUF_PIECE_COST + len > m->cap)
		return NR_OBUF_E_FULL;
	m->close_seq = closed ? seq : m->close_seq;
	m->close_seen |= closed;
	m->bytes += NR_OBUF_PIECE_COST + len;
	m->h[seq] = (struct held){.present = true, .closed = closed, .len = len};
	model_skip(m);
	return 0;
}

static size_t model_readable(const struct model *m)
{
	size_t total = 0;

	for (uint64_t s = m->next; s < SEQ_SPACE && m->h[s].present; s++)
		total += m->h[s].len - m->h[s].off;
	return total;
}

/* the next model byte; consumes it */
static uint8_t model_take(struct model *m)
{
	struct held *h = &m->h[m->next];
	uint8_t b = byte_of(m->next, h->off);

	h->off++;
	m->bytes--;
	model_skip(m);
	return b;
}

static void check_state(struct nr_obuf *b, const struct model *m)
{
	uint64_t seq = 0;

	if (nr_obuf_bytes(b) != m->bytes || m->bytes > m->cap ||
	    nr_obuf_next_seq(b) != m->next || nr_obuf_finished(b) != m->finished ||
	    nr_obuf_close_seen(b, &seq) != m->close_seen || (m->close_seen && seq != m->close_seq) ||
	    nr_obuf_readable(b) != model_readable(m))
		abort();
}

static void do_insert(struct nr_obuf *b, struct model *m, const uint8_t op[4])
{
	static uint8_t buf[256];
	int16_t delta = (int16_t)(op[1] << 8 | op[2]);
	uint64_t seq = (op[0] & 0x40) ? UINT64_MAX - op[1] : m->next + (uint64_t)(int64_t)delta;
	bool closed = op[0] & 0x80;
	size_t len = op[3];
	int want;

	if ((op[0] & 0x40) == 0 && (delta < 0 ? (uint64_t)-delta > m->next
	                                      : m->next + (uint64_t)delta >= SEQ_SPACE))
		return;
	for (size_t i = 0; i < len; i++)
		buf[i] = byte_of(seq, i);
	want = seq >= SEQ_SPACE ? NR_OBUF_E_TOO_FAR : model_insert(m, seq, len, closed);
	if (nr_obuf_insert(b, seq, buf, len, closed) != want)
		abort();
}

static void do_read(struct nr_obuf *b, struct model *m, size_t cap)
{
	uint8_t out[256];
	size_t n = nr_obuf_read(b, out, cap);
	size_t avail = model_readable(m);

	if (n != (avail < cap ? avail : cap))
		abort();
	for (size_t i = 0; i < n; i++)
		if (out[i] != model_take(m))
			abort();
}

static void do_consume(struct nr_obuf *b, struct model *m, size_t n)
{
	const uint8_t *p;
	size_t len;
	int has = nr_obuf_peek(b, &p, &len);

	if (has != (model_readable(m) > 0))
		abort();
	if (!has)
		return;
	if (len == 0 || len != m->h[m->next].len - m->h[m->next].off)
		abort();
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		if (p[i] != model_take(m))
			abort();
	nr_obuf_consume(b, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct nr_obuf *b;

	if (size < 1)
		return 0;
	memset(&m, 0, sizeof(m));
	m.cap = (size_t)data[0] * 16;
	b = nr_obuf_new(m.cap);
	if (!b)
		abort();
	for (size_t i = 1; i + 4 <= size; i += 4) {
		const uint8_t *op = data + i;
		if ((op[0] & 3) < 2)
			do_insert(b, &m, op);
		else if ((op[0] & 3) == 2)
			do_read(b, &m, op[3]);
		else
			do_consume(b, &m, op[3]);
		check_state(b, &m);
	}
	nr_obuf_free(b);
	return 0;
}
