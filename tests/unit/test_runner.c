/* The proxy runner over a socketpair with a fake owner: reads become data messages (seq from
 * 0, chunked), paused while the lane is deep; incoming pieces written in order; keep-alive;
 * the socket's EOF as a closing message and the lane drain; the closing piece ends the write
 * half and the other half follows; MIX_TTL; the byte bound; a failed write. Times are short
 * (tens of ms) through the runner's configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "proxy/ordered_buf.h"
#include "proxy/runner.h"

#define MSG_MAX 64

struct message {
	uint64_t seq;
	size_t len;
	bool closed;
	uint8_t head[8];
};

struct fake {
	struct ev_loop *loop;
	struct ns_runner *r;
	int peer; /* the app's / remote's end */
	size_t depth;
	bool wait; /* the owner's own reason to pause (must_wait) */
	int send_result;
	struct message msg[MSG_MAX];
	size_t n_msg;
	bool ended;
	enum ns_runner_end why;
	ev_tstamp ended_at;
};

static int fake_send(void *ctx, uint64_t seq, const uint8_t *data, size_t len, bool closed)
{
	struct fake *f = ctx;
	if (f->n_msg < MSG_MAX) {
		struct message *m = &f->msg[f->n_msg++];
		m->seq = seq;
		m->len = len;
		m->closed = closed;
		if (len)
			memcpy(m->head, data, len < sizeof m->head ? len : sizeof m->head);
	}
	return f->send_result;
}

static size_t fake_depth(void *ctx)
{
	return ((struct fake *)ctx)->depth;
}

static bool fake_must_wait(void *ctx)
{
	return ((struct fake *)ctx)->wait;
}

static void fake_ended(void *ctx, enum ns_runner_end why)
{
	struct fake *f = ctx;
	f->ended = true;
	f->why = why;
	f->ended_at = ev_time();
	ns_runner_free(f->r);
	f->r = NULL;
}

static struct ns_runner_conf short_conf(void)
{
	struct ns_runner_conf c = ns_runner_conf_nym();
	c.chunk = 1000;
	c.lane_high = 30;
	c.lane_poll = 0.01;
	c.keepalive = 10.0;
	c.mix_ttl = 5.0;
	c.other_half = 0.1;
	c.drain_wait = 0;
	c.buffer_cap = 1u << 20;
	return c;
}

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A runner attached to one end of a socketpair. */
static void start(struct fake *f, const struct ns_runner_conf *conf, bool attach)
{
	int sv[2];
	memset(f, 0, sizeof *f);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblocking(sv[0]);
	nonblocking(sv[1]);
	f->peer = sv[1];
	struct ns_runner_owner owner = { .send = fake_send, .lane_depth = fake_depth,
		                         .must_wait = fake_must_wait, .ended = fake_ended, .ctx = f };
	f->r = ns_runner_new(f->loop, conf, &owner);
	assert_non_null(f->r);
	if (attach)
		assert_int_equal(ns_runner_attach(f->r, sv[0], NULL, 0), 0);
	else
		close(sv[0]);
}

static void start_short(struct fake *f)
{
	struct ns_runner_conf conf = short_conf();
	start(f, &conf, true);
}

static void stop(struct fake *f)
{
	ns_runner_free(f->r);
	f->r = NULL;
	if (f->peer >= 0)
		close(f->peer);
	f->peer = -1;
	if (f->loop)
		ev_loop_destroy(f->loop);
	f->loop = NULL;
}

static int new_fake(void **state)
{
	struct fake *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->peer = -1;
	*state = f;
	return 0;
}

static int free_fake(void **state)
{
	stop(*state);
	free(*state);
	return 0;
}

/* Runs the loop for `seconds` of wall time, or until *until turns true. */
static void run_for(struct fake *f, double seconds, const bool *until)
{
	ev_tstamp end = ev_time() + seconds;
	while (ev_time() < end && !(until && *until)) {
		ev_now_update(f->loop);
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

/* Runs the loop until the runner ends (at most `seconds`): it ends for `why`. */
static void expect_end(struct fake *f, double seconds, enum ns_runner_end why)
{
	run_for(f, seconds, &f->ended);
	assert_true(f->ended);
	assert_int_equal(f->why, why);
}

/* Everything the peer can read now (the loop run a little first). */
static size_t peer_read(struct fake *f, char *out, size_t cap, bool *eof)
{
	size_t got = 0;
	*eof = false;
	run_for(f, 0.05, NULL);
	while (got < cap) {
		ssize_t n = read(f->peer, out + got, cap - got);
		if (n == 0)
			*eof = true;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static size_t data_bytes(const struct fake *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_msg; i++)
		n += f->msg[i].len;
	return n;
}

static int put(struct fake *f, uint64_t seq, const char *s, bool closed)
{
	return ns_runner_incoming(f->r, seq, (const uint8_t *)s, strlen(s), closed);
}

static void incoming_written_in_order(void **state)
{
	struct fake *f = *state;
	start_short(f);
	assert_int_equal(put(f, 2, "three", false), 0);
	assert_int_equal(put(f, 1, "two-", false), 0);
	char out[64];
	bool eof;
	assert_int_equal(peer_read(f, out, sizeof out, &eof), 0); /* seq 0 missing: nothing */
	assert_int_equal(put(f, 0, "one-", false), 0);
	size_t n = peer_read(f, out, sizeof out, &eof);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "one-two-three", 13);
	assert_int_equal(ns_runner_in_next_seq(f->r), 3);
	assert_int_equal(ns_runner_bytes_written(f->r), 13);
	assert_int_equal(put(f, 1, "again", false), NR_OBUF_E_CONSUMED);
	assert_false(f->ended);
}

static void reads_become_chunked_messages(void **state)
{
	struct fake *f = *state;
	start_short(f);
	char buf[2500];
	memset(buf, 'x', sizeof buf);
	buf[0] = 'A';
	assert_int_equal(write(f->peer, buf, sizeof buf), (ssize_t)sizeof buf);
	run_for(f, 0.1, NULL);
	assert_int_equal(data_bytes(f), sizeof buf);
	assert_true(f->n_msg >= 3);
	for (size_t i = 0; i < f->n_msg; i++) {
		assert_int_equal(f->msg[i].seq, i);
		assert_true(f->msg[i].len > 0 && f->msg[i].len <= 1000);
		assert_false(f->msg[i].closed);
	}
	assert_int_equal(f->msg[0].head[0], 'A');
}

static void deep_lane_pauses_reading(void **state)
{
	struct fake *f = *state;
	start_short(f);
	f->depth = 31;
	assert_int_equal(write(f->peer, "held back", 9), 9);
	run_for(f, 0.1, NULL);
	assert_int_equal(f->n_msg, 0);
	f->depth = 30; /* not more than lane_high: reading goes on */
	run_for(f, 0.1, NULL);
	assert_int_equal(f->n_msg, 1);
	assert_int_equal(f->msg[0].len, 9);
	assert_memory_equal(f->msg[0].head, "held bac", 8);
}

/* The owner's must_wait pauses like a deep lane; ns_runner_lane_sent resumes at once, not at
 * the next poll (a poll of 10 s here would otherwise hold the read back). */
static void lane_sent_resumes_at_once(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.lane_poll = 10.0;
	start(f, &conf, true);
	f->wait = true;
	assert_int_equal(write(f->peer, "waiting", 7), 7);
	run_for(f, 0.1, NULL);
	assert_int_equal(f->n_msg, 0);
	f->wait = false;
	f->depth = 31;
	ns_runner_lane_sent(f->r); /* still deep: stays paused */
	run_for(f, 0.1, NULL);
	assert_int_equal(f->n_msg, 0);
	f->depth = 0;
	ns_runner_lane_sent(f->r);
	run_for(f, 0.1, NULL);
	assert_int_equal(f->n_msg, 1);
	assert_int_equal(f->msg[0].len, 7);
}

static void keepalive_is_empty_and_reset_by_data(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.keepalive = 0.3;
	start(f, &conf, true);
	run_for(f, 0.2, NULL);
	assert_int_equal(f->n_msg, 0); /* not before keepalive (0.3 s) */
	run_for(f, 0.2, NULL);
	assert_int_equal(f->n_msg, 1);
	assert_int_equal(f->msg[0].len, 0);
	assert_false(f->msg[0].closed);
	assert_int_equal(f->msg[0].seq, 0);
	/* data every 0.1 s: no keep-alive in between */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(write(f->peer, "d", 1), 1);
		run_for(f, 0.1, NULL);
	}
	for (size_t i = 1; i < f->n_msg; i++)
		assert_int_equal(f->msg[i].len, 1);
	assert_int_equal(f->n_msg, 5);
}

static void eof_sends_closed_with_next_seq(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.drain_wait = 0.05;
	conf.drain_max = 5.0;
	start(f, &conf, true);
	assert_int_equal(write(f->peer, "last", 4), 4);
	shutdown(f->peer, SHUT_WR);
	f->depth = 3; /* the lane still holds packets: the read half waits */
	run_for(f, 0.2, NULL);
	assert_int_equal(f->n_msg, 2);
	assert_int_equal(f->msg[1].seq, 1);
	assert_int_equal(f->msg[1].len, 0);
	assert_true(f->msg[1].closed);
	assert_false(f->ended);
	ev_tstamp emptied = ev_time();
	f->depth = 0; /* read half over; the write half gets other_half (0.1 s) */
	expect_end(f, 1.0, NS_RUNNER_END_HALVES);
	assert_true(f->ended_at - emptied >= 0.09);
	assert_int_equal(f->n_msg, 2); /* no second closing message */
}

static void closing_piece_ends_write_half_then_other(void **state)
{
	struct fake *f = *state;
	start_short(f);
	assert_int_equal(put(f, 1, "", true), 0);
	assert_int_equal(put(f, 0, "bye", false), 0);
	char out[16];
	bool eof;
	ev_tstamp closed_at = ev_time();
	assert_int_equal(peer_read(f, out, sizeof out, &eof), 3);
	assert_true(eof); /* SHUT_WR once the closing piece was written */
	assert_false(f->ended);
	expect_end(f, 1.0, NS_RUNNER_END_HALVES);
	assert_true(f->ended_at - closed_at >= 0.09);
	/* the read half was still open: its closing message went at the end */
	assert_int_equal(f->n_msg, 1);
	assert_true(f->msg[0].closed);
}

static void both_halves_over_end_at_once(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.other_half = 5.0;
	start(f, &conf, true);
	shutdown(f->peer, SHUT_WR);
	run_for(f, 0.05, NULL);
	assert_int_equal(put(f, 0, "", true), 0);
	expect_end(f, 0.5, NS_RUNNER_END_HALVES);
}

static void ttl_without_incoming_data(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.mix_ttl = 0.2;
	conf.keepalive = 10.0;
	start(f, &conf, true);
	run_for(f, 0.1, NULL);
	assert_int_equal(put(f, 0, "alive", false), 0); /* resets the TTL */
	assert_int_equal(put(f, 1, "", false), 0);      /* empty: does not */
	ev_tstamp reset_at = ev_time();
	expect_end(f, 1.0, NS_RUNNER_END_TTL);
	assert_true(f->ended_at - reset_at >= 0.15);
	assert_int_equal(f->n_msg, 0); /* ttl_sends_close off */
	stop(f);

	conf.ttl_sends_close = true;
	start(f, &conf, true);
	expect_end(f, 1.0, NS_RUNNER_END_TTL);
	assert_int_equal(f->n_msg, 1);
	assert_true(f->msg[0].closed);
}

static void byte_bound_and_shared_total(void **state)
{
	struct fake *f = *state;
	size_t held = 0;
	struct ns_runner_conf conf = short_conf();
	conf.buffer_cap = 100;
	conf.held_total = &held;
	start(f, &conf, false); /* not attached: pieces are only held */
	char big[80];
	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(put(f, 1, "12345", false), 0);
	assert_int_equal(held, 5 + NR_OBUF_PIECE_COST);
	assert_int_equal(put(f, 2, big, false), NR_OBUF_E_FULL);
	assert_int_equal(held, 5 + NR_OBUF_PIECE_COST);
	ns_runner_free(f->r);
	f->r = NULL;
	assert_int_equal(held, 0);
}

static void held_pieces_written_after_attach_behind_first(void **state)
{
	struct fake *f = *state;
	uint64_t written = 0;
	struct ns_runner_conf conf = short_conf();
	conf.written_total = &written;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblocking(sv[0]);
	start(f, &conf, false);
	close(f->peer);
	f->peer = sv[1];
	nonblocking(f->peer);
	assert_int_equal(put(f, 0, "data", false), 0);
	assert_int_equal(ns_runner_attach(f->r, sv[0], (const uint8_t *)"REPLY:", 6), 0);
	char out[32];
	bool eof;
	size_t n = peer_read(f, out, sizeof out, &eof);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "REPLY:data", 10);
	assert_int_equal(written, 4); /* the first bytes are the owner's, not the stream's */
}

static void failed_write_ends_or_counts_as_eof(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	conf.write_error_ends = true;
	start(f, &conf, true);
	close(f->peer);
	f->peer = -1;
	assert_int_equal(put(f, 0, "lost", false), 0);
	assert_true(f->ended); /* at the write itself */
	assert_int_equal(f->why, NS_RUNNER_END_WRITE_FAILED);
	stop(f);

	conf.write_error_ends = false;
	start(f, &conf, true);
	close(f->peer);
	f->peer = -1;
	assert_int_equal(put(f, 0, "lost", false), 0);
	/* as at EOF: the closing message, then the other half's time */
	expect_end(f, 1.0, NS_RUNNER_END_HALVES);
	assert_true(f->n_msg >= 1);
	assert_true(f->msg[f->n_msg - 1].closed);
}

static void send_failure_ends(void **state)
{
	struct fake *f = *state;
	start_short(f);
	f->send_result = -1;
	assert_int_equal(write(f->peer, "x", 1), 1);
	expect_end(f, 0.5, NS_RUNNER_END_SEND_FAILED);
}

static void owner_bytes_chunked_in_order(void **state)
{
	struct fake *f = *state;
	struct ns_runner_conf conf = short_conf();
	start(f, &conf, false);
	uint8_t rest[2100] = { 'R' };
	assert_int_equal(ns_runner_send(f->r, rest, sizeof rest), 0);
	assert_int_equal(f->n_msg, 3);
	assert_int_equal(f->msg[0].len, 1000);
	assert_int_equal(f->msg[2].len, 100);
	assert_int_equal(f->msg[2].seq, 2);
	ns_runner_send_closed(f->r);
	ns_runner_send_closed(f->r); /* once */
	assert_int_equal(f->n_msg, 4);
	assert_true(f->msg[3].closed);
	assert_int_equal(f->msg[3].seq, 3);
}

#define WITH_FAKE(test) cmocka_unit_test_setup_teardown(test, new_fake, free_fake)

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		WITH_FAKE(incoming_written_in_order),
		WITH_FAKE(reads_become_chunked_messages),
		WITH_FAKE(deep_lane_pauses_reading),
		WITH_FAKE(lane_sent_resumes_at_once),
		WITH_FAKE(keepalive_is_empty_and_reset_by_data),
		WITH_FAKE(eof_sends_closed_with_next_seq),
		WITH_FAKE(closing_piece_ends_write_half_then_other),
		WITH_FAKE(both_halves_over_end_at_once),
		WITH_FAKE(ttl_without_incoming_data),
		WITH_FAKE(byte_bound_and_shared_total),
		WITH_FAKE(held_pieces_written_after_attach_behind_first),
		WITH_FAKE(failed_write_ends_or_counts_as_eof),
		WITH_FAKE(send_failure_ends),
		WITH_FAKE(owner_bytes_chunked_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
