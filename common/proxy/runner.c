/* The proxy runner (runner.h). Internal steps that can end the connection return -1 once
 * they did (the owner may have freed the runner in `ended`: nothing may touch it then). */
#include "proxy/runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "proxy/ordered_buf.h"

struct ns_runner {
	struct ev_loop *loop;
	struct ns_runner_conf conf;
	struct ns_runner_owner owner;
	int fd; /* -1 until attached */
	ev_io rio, wio;
	ev_timer keepalive, ttl, lane, other_half;
	struct nr_obuf *in;
	size_t held;     /* what this runner counts in conf.held_total */
	uint8_t *first;  /* written before the incoming data */
	size_t first_len;
	uint64_t out_seq, written;
	bool closed_sent, paused, draining, read_done, write_done, write_broken;
	ev_tstamp eof_at;
};

struct ns_runner_conf ns_runner_conf_nym(void)
{
	return (struct ns_runner_conf){
		.chunk = NS_RUNNER_CHUNK_MAX,
		.lane_high = 30,
		.lane_poll = 0.1,
		.keepalive = 60.0,
		.mix_ttl = 300.0,
		.other_half = 3.0,
		.drain_wait = 2.0,
		.drain_max = 240.0,
		.buffer_cap = 8u << 20,
	};
}

/* ---- the end */

static void stop_all(struct ns_runner *r)
{
	ev_io_stop(r->loop, &r->rio);
	ev_io_stop(r->loop, &r->wio);
	ev_timer_stop(r->loop, &r->keepalive);
	ev_timer_stop(r->loop, &r->ttl);
	ev_timer_stop(r->loop, &r->lane);
	ev_timer_stop(r->loop, &r->other_half);
}

static int end(struct ns_runner *r, enum ns_runner_end why)
{
	stop_all(r);
	r->owner.ended(r->owner.ctx, why);
	return -1;
}

static void count_held(struct ns_runner *r)
{
	size_t now = r->in ? nr_obuf_bytes(r->in) : 0;
	if (r->conf.held_total)
		*r->conf.held_total = *r->conf.held_total - r->held + now;
	r->held = now;
}

void ns_runner_free(struct ns_runner *r)
{
	if (!r)
		return;
	stop_all(r);
	if (r->fd >= 0)
		close(r->fd);
	nr_obuf_free(r->in);
	r->in = NULL;
	count_held(r);
	free(r->first);
	free(r);
}

/* ---- messages toward the mixnet */

static int send_message(struct ns_runner *r, const uint8_t *data, size_t len, bool closed)
{
	if (closed)
		r->closed_sent = true;
	return r->owner.send(r->owner.ctx, r->out_seq++, data, len, closed);
}

void ns_runner_send_closed(struct ns_runner *r)
{
	if (!r->closed_sent)
		send_message(r, NULL, 0, true);
}

int ns_runner_send(struct ns_runner *r, const uint8_t *data, size_t len)
{
	size_t chunk = r->conf.chunk;
	for (size_t off = 0; off < len; off += chunk)
		if (send_message(r, data + off, len - off < chunk ? len - off : chunk, false) < 0)
			return -1;
	if (r->fd >= 0)
		ev_timer_again(r->loop, &r->keepalive);
	return 0;
}

/* ---- one half ends, the other gets other_half */

static int half_ended(struct ns_runner *r)
{
	if (r->read_done && r->write_done)
		return end(r, NS_RUNNER_END_HALVES);
	if (!ev_is_active(&r->other_half)) {
		ev_timer_set(&r->other_half, r->conf.other_half, 0.);
		ev_timer_start(r->loop, &r->other_half);
	}
	return 0;
}

static void on_other_half(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct ns_runner *r = w->data;
	ns_runner_send_closed(r);
	end(r, NS_RUNNER_END_HALVES);
}

static void lane_timer_in(struct ns_runner *r, double after)
{
	ev_timer_stop(r->loop, &r->lane);
	ev_timer_set(&r->lane, after, 0.);
	ev_timer_start(r->loop, &r->lane);
}

/* The socket's EOF (or read error): the closing message, then the read half ends. */
static int read_eof(struct ns_runner *r)
{
	ev_io_stop(r->loop, &r->rio);
	ev_timer_stop(r->loop, &r->keepalive);
	r->paused = false;
	ns_runner_send_closed(r);
	if (r->read_done || r->draining)
		return 0;
	if (r->conf.drain_wait <= 0) {
		r->read_done = true;
		return half_ended(r);
	}
	r->draining = true;
	r->eof_at = ev_now(r->loop);
	lane_timer_in(r, r->conf.drain_wait);
	return 0;
}

/* ---- the write half: incoming pieces in order */

static bool next_to_write(struct ns_runner *r, const uint8_t **data, size_t *len)
{
	if (r->first_len) {
		*data = r->first;
		*len = r->first_len;
		return true;
	}
	return nr_obuf_peek(r->in, data, len) == 1;
}

static void wrote(struct ns_runner *r, size_t n)
{
	if (r->first_len) {
		memmove(r->first, r->first + n, r->first_len - n);
		r->first_len -= n;
		return;
	}
	nr_obuf_consume(r->in, n);
	r->written += n;
	if (r->conf.written_total)
		*r->conf.written_total += n;
}

static int write_failed(struct ns_runner *r)
{
	ev_io_stop(r->loop, &r->wio);
	r->write_broken = true;
	count_held(r);
	if (r->conf.write_error_ends)
		return end(r, NS_RUNNER_END_WRITE_FAILED);
	return read_eof(r);
}

static int flush(struct ns_runner *r)
{
	const uint8_t *data;
	size_t len;
	if (r->fd < 0 || r->write_done || r->write_broken)
		return 0;
	while (next_to_write(r, &data, &len)) {
		ssize_t n = write(r->fd, data, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			ev_io_start(r->loop, &r->wio);
			count_held(r);
			return 0;
		}
		if (n <= 0)
			return write_failed(r);
		wrote(r, (size_t)n);
	}
	ev_io_stop(r->loop, &r->wio);
	count_held(r);
	if (!nr_obuf_finished(r->in))
		return 0;
	shutdown(r->fd, SHUT_WR);
	r->write_done = true;
	return half_ended(r);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	flush(w->data);
}

int ns_runner_incoming(struct ns_runner *r, uint64_t seq, const uint8_t *data, size_t len,
                       bool closed)
{
	int rc = nr_obuf_insert(r->in, seq, data, len, closed);
	count_held(r);
	if (rc < 0)
		return rc;
	if (len > 0 || r->conf.ttl_keepalive)
		ev_timer_again(r->loop, &r->ttl);
	flush(r);
	return 0;
}

uint64_t ns_runner_in_next_seq(const struct ns_runner *r)
{
	return nr_obuf_next_seq(r->in);
}

uint64_t ns_runner_bytes_written(const struct ns_runner *r)
{
	return r->written;
}

/* ---- the read half: the socket's bytes as data messages, paused on a deep lane */

static bool lane_deep(struct ns_runner *r)
{
	return r->owner.lane_depth(r->owner.ctx) > r->conf.lane_high ||
	       (r->owner.must_wait && r->owner.must_wait(r->owner.ctx));
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct ns_runner *r = w->data;
	uint8_t buf[NS_RUNNER_CHUNK_MAX];
	if (lane_deep(r)) {
		ev_io_stop(r->loop, &r->rio);
		r->paused = true;
		lane_timer_in(r, r->conf.lane_poll);
		return;
	}
	ssize_t n = read(r->fd, buf, r->conf.chunk);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		read_eof(r);
		return;
	}
	if (send_message(r, buf, (size_t)n, false) < 0) {
		end(r, NS_RUNNER_END_SEND_FAILED);
		return;
	}
	ev_timer_again(r->loop, &r->keepalive);
}

/* The read half ends once the lane is empty, or drain_max after drain_wait. */
static void drain_step(struct ns_runner *r)
{
	double waited = ev_now(r->loop) - r->eof_at;
	if (r->owner.lane_depth(r->owner.ctx) == 0 ||
	    waited > r->conf.drain_wait + r->conf.drain_max) {
		r->draining = false;
		r->read_done = true;
		half_ended(r);
		return;
	}
	lane_timer_in(r, r->conf.lane_poll);
}

static void on_lane(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct ns_runner *r = w->data;
	if (r->draining) {
		drain_step(r);
	} else if (r->paused) {
		if (lane_deep(r)) {
			lane_timer_in(r, r->conf.lane_poll);
			return;
		}
		r->paused = false;
		ev_io_start(r->loop, &r->rio);
	}
}

void ns_runner_lane_sent(struct ns_runner *r)
{
	if (!r || !r->paused || r->draining || lane_deep(r))
		return;
	ev_timer_stop(r->loop, &r->lane);
	r->paused = false;
	ev_io_start(r->loop, &r->rio);
}

static void on_keepalive(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct ns_runner *r = w->data;
	if (!r->closed_sent && send_message(r, NULL, 0, false) < 0)
		end(r, NS_RUNNER_END_SEND_FAILED);
}

static void on_ttl(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct ns_runner *r = w->data;
	if (r->conf.ttl_sends_close && r->fd >= 0)
		ns_runner_send_closed(r);
	end(r, NS_RUNNER_END_TTL);
}

/* ---- life */

struct ns_runner *ns_runner_new(struct ev_loop *loop, const struct ns_runner_conf *conf,
                                const struct ns_runner_owner *owner)
{
	struct ns_runner *r = calloc(1, sizeof *r);
	if (!r || !(r->in = nr_obuf_new(conf->buffer_cap))) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->conf = *conf;
	if (r->conf.chunk == 0 || r->conf.chunk > NS_RUNNER_CHUNK_MAX)
		r->conf.chunk = NS_RUNNER_CHUNK_MAX;
	r->owner = *owner;
	r->fd = -1;
	ev_init(&r->keepalive, on_keepalive);
	r->keepalive.repeat = r->conf.keepalive;
	ev_init(&r->ttl, on_ttl);
	r->ttl.repeat = r->conf.mix_ttl;
	ev_init(&r->lane, on_lane);
	ev_init(&r->other_half, on_other_half);
	r->keepalive.data = r->ttl.data = r->lane.data = r->other_half.data = r;
	ev_timer_again(loop, &r->ttl);
	return r;
}

int ns_runner_attach(struct ns_runner *r, int fd, const uint8_t *first, size_t first_len)
{
	if (first_len) {
		if (!(r->first = malloc(first_len)))
			return -1;
		memcpy(r->first, first, first_len);
		r->first_len = first_len;
	}
	r->fd = fd;
	ev_io_init(&r->rio, on_readable, fd, EV_READ);
	ev_io_init(&r->wio, on_writable, fd, EV_WRITE);
	r->rio.data = r->wio.data = r;
	if (!r->closed_sent) {
		ev_io_start(r->loop, &r->rio);
		ev_timer_again(r->loop, &r->keepalive);
	}
	ev_io_start(r->loop, &r->wio);
	return 0;
}
