/* One local connection of socksd: the SOCKS / HTTP CONNECT request, then both halves as
 * Nym's proxy runner has them (clients.md §4.3): reads of up to SD_READ_MAX bytes become
 * Sends, paused while the lane is over SD_LANE_HIGH packets; downstream NetworkData goes
 * through the ordered buffer to the app; keep-alive, MIX_TTL, and the close sequence (our
 * close Send, 2 s and an empty lane, then the other half gets 3 s). Beyond Nym: a
 * ConnectionError, or the requester's empty closing piece 0 (its connect failed), closes
 * the local connection at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "engine/engine.h"
#include "nymclient.h"
#include "proxy/ordered_buf.h"
#include "socksd.h"

static struct {
	struct sd_conn *head;
	size_t n;
	struct sd_ratelog refused_limit, handshake, obuf_full, requester_error, send_failed;
} g_conns;

struct sd_conn *sd_conn_list(void)
{
	return g_conns.head;
}

size_t sd_conn_count(void)
{
	return g_conns.n;
}

struct sd_conn *sd_conn_find(uint64_t id)
{
	for (struct sd_conn *c = g_conns.head; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* A random id not in use; never UINT64_MAX (its lane would be 0, General). */
static uint64_t fresh_id(void)
{
	uint64_t id;
	do
		ns_random(&id, sizeof id);
	while (id == UINT64_MAX || sd_conn_find(id));
	return id;
}

static void conn_close(struct sd_conn *c)
{
	ev_io_stop(sd_loop, &c->rio);
	ev_io_stop(sd_loop, &c->wio);
	ev_timer_stop(sd_loop, &c->keepalive);
	ev_timer_stop(sd_loop, &c->ttl);
	ev_timer_stop(sd_loop, &c->wait);
	ev_timer_stop(sd_loop, &c->other_half);
	close(c->fd);
	if (c->phase == SD_PROXYING) {
		ns_engine_close_lane(sd_engine, c->id + 1);
		ns_engine_forget_owner(sd_engine, c);
	}
	nr_obuf_free(c->down);
	for (struct sd_conn **p = &g_conns.head; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	g_conns.n--;
	free(c);
}

void sd_conn_close_all(void)
{
	while (g_conns.head)
		conn_close(g_conns.head);
}

/* ---- the two halves ending */

static void half_ended(struct sd_conn *c)
{
	if (c->read_done && c->write_done) {
		conn_close(c);
		return;
	}
	if (!ev_is_active(&c->other_half)) {
		ev_timer_set(&c->other_half, SD_OTHER_HALF, 0.);
		ev_timer_start(sd_loop, &c->other_half);
	}
}

static void on_other_half(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct sd_conn *c = w->data;
	if (!c->read_ended)
		sd_mix_send(c, NULL, 0, true);
	conn_close(c);
}

/* Our closing Send; the read half ends SD_CLOSE_WAIT later once the lane is empty. */
static void local_eof(struct sd_conn *c)
{
	ev_io_stop(sd_loop, &c->rio);
	ev_timer_stop(sd_loop, &c->keepalive);
	c->read_ended = true;
	c->read_ended_at = ev_now(sd_loop);
	c->paused = false;
	sd_mix_send(c, NULL, 0, true);
	ev_timer_stop(sd_loop, &c->wait);
	ev_timer_set(&c->wait, SD_CLOSE_WAIT, 0.);
	ev_timer_start(sd_loop, &c->wait);
}

/* ---- toward the app */

/* Writes what is due; 0, or -1 when c was closed. */
static int flush(struct sd_conn *c)
{
	while (c->hs_len) {
		ssize_t n = write(c->fd, c->hs_out, c->hs_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			goto later;
		if (n <= 0)
			goto broken;
		memmove(c->hs_out, c->hs_out + n, c->hs_len - (size_t)n);
		c->hs_len -= (size_t)n;
	}
	if (c->hs_close)
		goto broken;
	const uint8_t *data;
	size_t len;
	while (c->down && nr_obuf_peek(c->down, &data, &len)) {
		ssize_t n = write(c->fd, data, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			goto later;
		if (n <= 0)
			goto broken;
		nr_obuf_consume(c->down, (size_t)n);
		c->bytes_down += (size_t)n;
	}
	ev_io_stop(sd_loop, &c->wio);
	if (c->down && nr_obuf_finished(c->down) && !c->write_done) {
		uint64_t id = c->id;
		shutdown(c->fd, SHUT_WR);
		c->write_done = true;
		half_ended(c);
		return sd_conn_find(id) ? 0 : -1;
	}
	return 0;
later:
	ev_io_start(sd_loop, &c->wio);
	return 0;
broken:
	conn_close(c);
	return -1;
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	flush(w->data);
}

static void queue_reply(struct sd_conn *c, const uint8_t *reply, size_t len)
{
	if (len > sizeof c->hs_out - c->hs_len)
		len = sizeof c->hs_out - c->hs_len; /* never: one reply at a time, each fits */
	memcpy(c->hs_out + c->hs_len, reply, len);
	c->hs_len += len;
}

/* ---- from the requester */

void sd_conn_network_data(struct sd_conn *c, uint64_t seq, const uint8_t *data, size_t len,
                          bool closed)
{
	if (seq == 0 && closed && len == 0 && nr_obuf_next_seq(c->down) == 0) {
		nc_log("socksd", "connection %llu to %s: the network requester could not connect",
		       (unsigned long long)c->id, c->remote);
		conn_close(c);
		return;
	}
	int rc = nr_obuf_insert(c->down, seq, data, len, closed);
	if (rc == NR_OBUF_E_FULL || rc == NR_OBUF_E_NOMEM) {
		sd_log_limited(&g_conns.obuf_full, "connection %llu: the app does not read what "
		               "arrives (%zu bytes held): closed", (unsigned long long)c->id,
		               nr_obuf_bytes(c->down));
		conn_close(c);
		return;
	}
	if (rc < 0 && !c->obuf_logged) {
		c->obuf_logged = true;
		nc_log("socksd", "connection %llu: piece %llu refused: %s", (unsigned long long)c->id,
		       (unsigned long long)seq, nr_obuf_err_text(rc));
	}
	if (rc == 0 && len > 0)
		ev_timer_again(sd_loop, &c->ttl);
	flush(c);
}

void sd_conn_error(struct sd_conn *c, const char *text, size_t len)
{
	sd_log_limited(&g_conns.requester_error, "Network requester failed on connection id %llu "
	               "with error: %.*s", (unsigned long long)c->id, (int)(len > 300 ? 300 : len),
	               text);
	conn_close(c);
}

void sd_conn_send_failed(struct sd_conn *c, const char *why)
{
	sd_log_limited(&g_conns.send_failed, "connection %llu: %s: closed",
	               (unsigned long long)c->id, why);
	conn_close(c);
}

/* ---- from the app */

static void read_data(struct sd_conn *c)
{
	uint8_t buf[SD_READ_MAX];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		local_eof(c);
		return;
	}
	if (sd_mix_send(c, buf, (size_t)n, false) < 0) {
		conn_close(c);
		return;
	}
	ev_timer_again(sd_loop, &c->keepalive);
}

/* Nym's mark on the packets queued, and beyond Nym one on those sent and not yet acked (they
 * stay in memory until acked, and would grow without bound if the NR stopped acking). */
static bool lane_deep(const struct sd_conn *c)
{
	return ns_engine_lane_depth(sd_engine, c->id + 1) > SD_LANE_HIGH ||
	       ns_engine_lane_unacked(sd_engine, c->id + 1) > SD_LANE_UNACKED_MAX;
}

/* Reads on unless the lane is over its mark (then polls it every SD_POLL, and
 * sd_conn_lane_sent reads on as soon as the lane's packets go out). */
static void read_or_pause(struct sd_conn *c)
{
	if (lane_deep(c)) {
		ev_io_stop(sd_loop, &c->rio);
		c->paused = true;
		ev_timer_set(&c->wait, SD_POLL, 0.);
		ev_timer_start(sd_loop, &c->wait);
		return;
	}
	c->paused = false;
	ev_io_start(sd_loop, &c->rio);
	read_data(c);
}

static int start_proxying(struct sd_conn *c, const struct ns_socks_request *req,
                          const uint8_t *rest, size_t rest_len)
{
	snprintf(c->remote, sizeof c->remote, "%s", req->remote);
	c->down = nr_obuf_new(SD_OBUF_CAP);
	if (!c->down)
		return -1;
	c->phase = SD_PROXYING;
	if (sd_mix_connect(c) < 0)
		return -1;
	ev_timer_stop(sd_loop, &c->wait);
	ev_timer_again(sd_loop, &c->keepalive);
	ev_timer_again(sd_loop, &c->ttl);
	if (rest_len && sd_mix_send(c, rest, rest_len, false) < 0)
		return -1;
	return 0;
}

/* The request is complete: the success reply at once (Nym), or a full refusal when the
 * connection cannot be proxied. */
static void request_done(struct sd_conn *c, const struct ns_socks_step *st, const uint8_t *in,
                         size_t len)
{
	const struct ns_socks_request *req = ns_socks_parser_request(&c->parser);
	uint8_t fail[NS_SOCKS_REPLY_MAX];
	if (req->proto == NS_SOCKS_PROTO_HTTP_CONNECT && !sd_conf.http_connect) {
		conn_close(c); /* not a protocol we serve: closed without a reply, as Nym */
		return;
	}
	uint64_t id = c->id;
	if (start_proxying(c, req, in + st->consumed, len - st->consumed) < 0) {
		if (!sd_conn_find(id))
			return;
		queue_reply(c, fail, ns_socks_reply_failure(req->proto, 1, true, fail));
		c->hs_close = true;
		flush(c);
		return;
	}
	queue_reply(c, st->reply, st->reply_len);
	if (flush(c) == 0) {
		sd_mix_replay_held(c);
		if (sd_conn_find(id) && !c->read_ended)
			read_or_pause(c);
	}
}

static void read_request(struct sd_conn *c)
{
	uint8_t buf[4096];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	struct ns_socks_step st = ns_socks_parser_feed(&c->parser, buf, (size_t)n);
	if (st.status == NS_SOCKS_DONE) {
		request_done(c, &st, buf, (size_t)n);
		return;
	}
	queue_reply(c, st.reply, st.reply_len);
	if (st.status == NS_SOCKS_REFUSED) {
		sd_log_limited(&g_conns.handshake, "local request refused: %s",
		               ns_socks_refusal_text(st.refusal));
		c->hs_close = true;
	}
	flush(c);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct sd_conn *c = w->data;
	if (c->phase == SD_HANDSHAKE)
		read_request(c);
	else
		read_or_pause(c);
}

void sd_conn_lane_sent(uint64_t lane)
{
	struct sd_conn *c = lane ? sd_conn_find(lane - 1) : NULL;
	if (!c || !c->paused || lane_deep(c))
		return;
	ev_timer_stop(sd_loop, &c->wait);
	read_or_pause(c);
}

/* The wait timer: the handshake deadline, the backpressure poll, or the close wait. */
static void on_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct sd_conn *c = w->data;
	if (c->phase == SD_HANDSHAKE) {
		sd_log_limited(&g_conns.handshake, "local request not complete within %.0f s: closed",
		               SD_HANDSHAKE_TIMEOUT);
		conn_close(c);
	} else if (c->paused) {
		read_or_pause(c);
	} else if (c->read_ended && !c->read_done) {
		if (ns_engine_lane_depth(sd_engine, c->id + 1) == 0 ||
		    ev_now(sd_loop) - c->read_ended_at > SD_CLOSE_WAIT + SD_LANE_EMPTY_MAX) {
			c->read_done = true;
			half_ended(c);
			return;
		}
		ev_timer_set(&c->wait, SD_POLL, 0.);
		ev_timer_start(sd_loop, &c->wait);
	}
}

static void on_keepalive(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct sd_conn *c = w->data;
	if (!c->read_ended && sd_mix_send(c, NULL, 0, false) < 0)
		conn_close(c);
}

static void on_ttl(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct sd_conn *c = w->data;
	nc_log("socksd", "connection %llu: nothing from the network requester for %.0f s: closed",
	       (unsigned long long)c->id, SD_MIX_TTL);
	conn_close(c);
}

static void init_watchers(struct sd_conn *c)
{
	ev_io_init(&c->rio, on_readable, c->fd, EV_READ);
	ev_io_init(&c->wio, on_writable, c->fd, EV_WRITE);
	ev_init(&c->keepalive, on_keepalive);
	c->keepalive.repeat = SD_KEEPALIVE;
	ev_init(&c->ttl, on_ttl);
	c->ttl.repeat = SD_MIX_TTL;
	ev_timer_init(&c->wait, on_wait, SD_HANDSHAKE_TIMEOUT, 0.);
	ev_init(&c->other_half, on_other_half);
	c->rio.data = c->wio.data = c->keepalive.data = c->ttl.data = c->wait.data = c;
	c->other_half.data = c;
}

void sd_conn_accept(int fd)
{
	if (g_conns.n >= sd_conf.max_connections) {
		sd_log_limited(&g_conns.refused_limit, "connection refused: %zu connections open "
		               "(max_connections)", g_conns.n);
		close(fd);
		return;
	}
	struct sd_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = fresh_id();
	c->opened = ev_now(sd_loop);
	ns_socks_parser_init(&c->parser, 0);
	init_watchers(c);
	c->next = g_conns.head;
	g_conns.head = c;
	g_conns.n++;
	ev_io_start(sd_loop, &c->rio);
	ev_timer_start(sd_loop, &c->wait);
}
