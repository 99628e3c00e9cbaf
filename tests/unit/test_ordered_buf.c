/* Per-connection ordered buffer: Nym's window / duplicate / already-read rules, empty pieces,
 * the close position and the byte cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/ordered_buf.h"

#define BIG_CAP (1u << 20)

static int put(struct nr_obuf *b, uint64_t seq, const char *s, bool closed)
{
	return nr_obuf_insert(b, seq, (const uint8_t *)s, strlen(s), closed);
}

/* reads everything readable into a NUL-terminated string */
static const char *drain(struct nr_obuf *b)
{
	static char out[4096];
	size_t n = nr_obuf_read(b, (uint8_t *)out, sizeof(out) - 1);

	out[n] = '\0';
	return out;
}

static int new_buffer(void **state)
{
	*state = nr_obuf_new(BIG_CAP);
	return *state ? 0 : -1;
}

static int free_buffer(void **state)
{
	nr_obuf_free(*state);
	return 0;
}

static void test_in_order_and_gaps(void **state)
{
	struct nr_obuf *b = *state;

	assert_int_equal(put(b, 0, "ab", false), 0);
	assert_int_equal(put(b, 1, "cd", false), 0);
	assert_int_equal(put(b, 3, "gh", false), 0);
	assert_int_equal(nr_obuf_readable(b), 4);
	assert_string_equal(drain(b), "abcd");
	assert_true(nr_obuf_next_seq(b) == 2);
	assert_string_equal(drain(b), "");
	assert_int_equal(put(b, 2, "ef", false), 0);
	assert_int_equal(nr_obuf_readable(b), 4);
	assert_string_equal(drain(b), "efgh");
	assert_true(nr_obuf_next_seq(b) == 4);
	assert_int_equal(nr_obuf_pieces(b), 0);
	assert_int_equal(nr_obuf_bytes(b), 0);
	assert_false(nr_obuf_finished(b));
}

static void test_window(void **state)
{
	struct nr_obuf *b = *state;

	assert_int_equal(put(b, NR_OBUF_WINDOW + 1, "x", false), NR_OBUF_E_TOO_FAR);
	assert_int_equal(put(b, 12345678, "x", false), NR_OBUF_E_TOO_FAR);
	assert_int_equal(put(b, UINT64_MAX, "x", false), NR_OBUF_E_TOO_FAR);
	assert_int_equal(put(b, NR_OBUF_WINDOW, "z", false), 0);
	/* the window moves with next_seq */
	assert_int_equal(put(b, 0, "a", false), 0);
	assert_string_equal(drain(b), "a");
	assert_int_equal(put(b, NR_OBUF_WINDOW + 1, "y", false), 0);
	assert_int_equal(put(b, NR_OBUF_WINDOW + 2, "y", false), NR_OBUF_E_TOO_FAR);
}

static void test_duplicate_and_consumed(void **state)
{
	struct nr_obuf *b = *state;
	const uint8_t *p;
	size_t n;

	for (uint64_t s = 0; s < 4; s++)
		assert_int_equal(put(b, s, "1234", false), 0);
	for (uint64_t s = 0; s < 4; s++)
		assert_int_equal(put(b, s, "1234", false), NR_OBUF_E_DUPLICATE);
	/* a partly read head is still held */
	assert_int_equal(nr_obuf_peek(b, &p, &n), 1);
	assert_int_equal(n, 4);
	nr_obuf_consume(b, 2);
	assert_int_equal(put(b, 0, "x", false), NR_OBUF_E_DUPLICATE);
	assert_string_equal(drain(b), "34123412341234");
	for (uint64_t s = 0; s < 4; s++)
		assert_int_equal(put(b, s, "1234", false), NR_OBUF_E_CONSUMED);
	/* a too-far seq is reported as such before anything else */
	assert_int_equal(put(b, 4 + NR_OBUF_WINDOW + 1, "x", false), NR_OBUF_E_TOO_FAR);
}

/* Nym forwards nothing for an empty piece that does not close, but it takes its seq */
static void test_empty_pieces(void **state)
{
	struct nr_obuf *b = *state;
	const uint8_t *p;
	size_t n;

	assert_int_equal(put(b, 0, "", false), 0); /* a keep-alive */
	assert_true(nr_obuf_next_seq(b) == 1);
	assert_int_equal(nr_obuf_peek(b, &p, &n), 0);
	assert_int_equal(nr_obuf_pieces(b), 0);
	assert_int_equal(put(b, 0, "", false), NR_OBUF_E_CONSUMED);
	assert_int_equal(put(b, 2, "", false), 0);
	assert_int_equal(put(b, 3, "c", false), 0);
	assert_int_equal(nr_obuf_pieces(b), 2);
	assert_int_equal(put(b, 1, "b", false), 0);
	assert_string_equal(drain(b), "bc");
	assert_true(nr_obuf_next_seq(b) == 4);
}

static void test_close(void **state)
{
	struct nr_obuf *b = *state;
	uint64_t at = 0;

	assert_int_equal(put(b, 0, "a", false), 0);
	assert_int_equal(put(b, 2, "c", true), 0);
	assert_true(nr_obuf_close_seen(b, &at));
	assert_true(at == 2);
	assert_false(nr_obuf_finished(b));
	assert_int_equal(put(b, 3, "d", false), NR_OBUF_E_PAST_CLOSE);
	assert_int_equal(put(b, 1, "b", true), NR_OBUF_E_PAST_CLOSE);
	assert_string_equal(drain(b), "a");
	assert_false(nr_obuf_finished(b));
	assert_int_equal(put(b, 1, "b", false), 0);
	assert_string_equal(drain(b), "bc");
	assert_true(nr_obuf_finished(b));
	assert_int_equal(put(b, 2, "c", true), NR_OBUF_E_CONSUMED);
	assert_int_equal(put(b, 3, "", false), NR_OBUF_E_PAST_CLOSE);
}

static void test_close_empty_and_inconsistent(void **state)
{
	struct nr_obuf *b = nr_obuf_new(BIG_CAP);

	(void)state;
	/* the close usually comes as an empty piece: it ends the stream once reached */
	assert_int_equal(put(b, 1, "", true), 0);
	assert_false(nr_obuf_finished(b));
	assert_int_equal(put(b, 0, "x", false), 0);
	assert_false(nr_obuf_finished(b));
	assert_string_equal(drain(b), "x");
	assert_true(nr_obuf_finished(b));
	nr_obuf_free(b);

	/* a close before a piece already held is refused: it would hide that piece */
	b = nr_obuf_new(BIG_CAP);
	assert_int_equal(put(b, 5, "later", false), 0);
	assert_int_equal(put(b, 3, "", true), NR_OBUF_E_PAST_CLOSE);
	assert_false(nr_obuf_close_seen(b, NULL));
	assert_int_equal(put(b, 5, "", true), NR_OBUF_E_DUPLICATE);
	assert_int_equal(put(b, 6, "", true), 0);
	nr_obuf_free(b);

	/* the very first piece closes at once */
	b = nr_obuf_new(BIG_CAP);
	assert_int_equal(put(b, 0, "", true), 0);
	assert_true(nr_obuf_finished(b));
	nr_obuf_free(b);
}

static void test_byte_cap(void **state)
{
	uint8_t chunk[100] = {0};
	struct nr_obuf *b = nr_obuf_new(3 * (100 + NR_OBUF_PIECE_COST));
	const uint8_t *p;
	size_t n;

	(void)state;
	for (uint64_t s = 1; s <= 3; s++)
		assert_int_equal(nr_obuf_insert(b, s, chunk, sizeof(chunk), false), 0);
	assert_int_equal(nr_obuf_bytes(b), 3 * (100 + NR_OBUF_PIECE_COST));
	assert_int_equal(nr_obuf_insert(b, 0, chunk, 0, false), NR_OBUF_E_FULL);
	assert_int_equal(nr_obuf_insert(b, 4, chunk, 1, false), NR_OBUF_E_FULL);
	assert_int_equal(nr_obuf_pieces(b), 3);
	nr_obuf_free(b);

	/* reading frees room, byte by byte */
	b = nr_obuf_new(2 * (100 + NR_OBUF_PIECE_COST));
	assert_int_equal(nr_obuf_insert(b, 0, chunk, sizeof(chunk), false), 0);
	assert_int_equal(nr_obuf_insert(b, 1, chunk, sizeof(chunk), false), 0);
	assert_int_equal(nr_obuf_insert(b, 2, chunk, 1, false), NR_OBUF_E_FULL);
	assert_int_equal(nr_obuf_peek(b, &p, &n), 1);
	nr_obuf_consume(b, 1);
	assert_int_equal(nr_obuf_bytes(b), 2 * (100 + NR_OBUF_PIECE_COST) - 1);
	assert_int_equal(nr_obuf_insert(b, 2, chunk, 1, false), NR_OBUF_E_FULL);
	nr_obuf_consume(b, 99);
	assert_int_equal(nr_obuf_insert(b, 2, chunk, 100, false), 0);
	nr_obuf_free(b);

	/* empty pieces cost too: a stranger cannot park a thousand keep-alives for free */
	b = nr_obuf_new(10 * NR_OBUF_PIECE_COST);
	for (uint64_t s = 1; s <= 10; s++)
		assert_int_equal(nr_obuf_insert(b, s, chunk, 0, false), 0);
	assert_int_equal(nr_obuf_insert(b, 11, chunk, 0, false), NR_OBUF_E_FULL);
	/* a piece larger than the whole cap */
	assert_int_equal(nr_obuf_insert(b, 0, chunk, SIZE_MAX, false), NR_OBUF_E_FULL);
	nr_obuf_free(b);
}

static void test_peek_consume_partial(void **state)
{
	struct nr_obuf *b = *state;
	const uint8_t *p;
	size_t n;
	uint8_t out[3];

	assert_int_equal(put(b, 0, "hello", false), 0);
	assert_int_equal(put(b, 1, "world", true), 0);
	assert_int_equal(nr_obuf_read(b, out, sizeof(out)), 3);
	assert_memory_equal(out, "hel", 3);
	assert_int_equal(nr_obuf_readable(b), 7);
	assert_int_equal(nr_obuf_peek(b, &p, &n), 1);
	assert_int_equal(n, 2);
	assert_memory_equal(p, "lo", 2);
	nr_obuf_consume(b, 100); /* clamped to the head */
	assert_int_equal(nr_obuf_peek(b, &p, &n), 1);
	assert_memory_equal(p, "world", 5);
	assert_false(nr_obuf_finished(b));
	nr_obuf_consume(b, 5);
	assert_true(nr_obuf_finished(b));
	assert_int_equal(nr_obuf_peek(b, &p, &n), 0);
	nr_obuf_consume(b, 1); /* nothing to consume: no effect */
	assert_int_equal(nr_obuf_bytes(b), 0);
}

static void test_out_of_order_many(void **state)
{
	struct nr_obuf *b = *state;
	char want[NR_OBUF_WINDOW + 2], piece[2] = {0};

	/* every seq in the window, in reverse, then read in one go */
	for (uint64_t s = NR_OBUF_WINDOW + 1; s-- > 0;) {
		piece[0] = (char)('a' + s % 26);
		assert_int_equal(put(b, s, piece, s == NR_OBUF_WINDOW), 0);
	}
	for (size_t i = 0; i <= NR_OBUF_WINDOW; i++)
		want[i] = (char)('a' + i % 26);
	want[NR_OBUF_WINDOW + 1] = '\0';
	assert_string_equal(drain(b), want);
	assert_true(nr_obuf_finished(b));
	assert_true(nr_obuf_next_seq(b) == NR_OBUF_WINDOW + 1);
}

static void test_err_text(void **state)
{
	(void)state;
	assert_string_equal(nr_obuf_err_text(NR_OBUF_E_FULL), "buffer full");
	assert_string_equal(nr_obuf_err_text(0), "ok");
	assert_string_equal(nr_obuf_err_text(-99), "unknown error");
	nr_obuf_free(NULL);
}

#define WITH_BUFFER(test) cmocka_unit_test_setup_teardown(test, new_buffer, free_buffer)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_BUFFER(test_in_order_and_gaps),
		WITH_BUFFER(test_window),
		WITH_BUFFER(test_duplicate_and_consumed),
		WITH_BUFFER(test_empty_pieces),
		WITH_BUFFER(test_close),
		cmocka_unit_test(test_close_empty_and_inconsistent),
		cmocka_unit_test(test_byte_cap),
		WITH_BUFFER(test_peek_consume_partial),
		WITH_BUFFER(test_out_of_order_many),
		cmocka_unit_test(test_err_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
