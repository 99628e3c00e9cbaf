/* One local connection of socksd: the SOCKS / HTTP CONNECT request, then both halves in
 * the proxy runner (common/proxy/runner.h, Nym's as clients.md §4.3 has it: our close Send,
 * 2 s and an empty lane, then the other half gets 3 s; no closing Send at MIX_TTL). Beyond
 * Nym: a ConnectionError, or the requester's empty closing piece 0 (its connect failed),
 * closes the local connection at once, and so does a failed write to the app. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "engine/engine.h"
#include "nymclient.h"
#include "proxy/ordered_buf.h"
#include "proxy/runner.h"
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
	nc_debug("socksd", "connection %llu closed", (unsigned long long)c->id);
	ev_io_stop(sd_loop, &c->rio);
	ev_io_stop(sd_loop, &c->wio);
	ev_timer_stop(sd_loop, &c->handshake);
	if (c->fd >= 0)
		close(c->fd);
	ns_runner_free(c->runner);
	if (c->phase == SD_PROXYING) {
		ns_engine_close_lane(sd_engine, c->id + 1);
		ns_engine_forget_owner(sd_engine, c);
	}
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

/* ---- the handshake's replies to the app */

/* Writes what is due; 0, or -1 when c was closed. */
static int flush(struct sd_conn *c)
{
	while (c->hs_len) {
		ssize_t n = write(c->fd, c->hs_out, c->hs_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			ev_io_start(sd_loop, &c->wio);
			return 0;
		}
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		memmove(c->hs_out, c->hs_out + n, c->hs_len - (size_t)n);
		c->hs_len -= (size_t)n;
	}
	ev_io_stop(sd_loop, &c->wio);
	if (c->hs_close) {
		conn_close(c);
		return -1;
	}
	return 0;
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
	if (seq == 0 && closed && len == 0 && ns_runner_in_next_seq(c->runner) == 0) {
		nc_debug("socksd", "connection %llu to %s: the network requester could not connect",
		       (unsigned long long)c->id, c->remote);
		conn_close(c);
		return;
	}
	int rc = ns_runner_incoming(c->runner, seq, data, len, closed);
	if (rc == NR_OBUF_E_FULL || rc == NR_OBUF_E_NOMEM) {
		sd_log_limited(&g_conns.obuf_full, "connection %llu: the app does not read what "
		               "arrives (piece %llu refused): closed", (unsigned long long)c->id,
		               (unsigned long long)seq);
		conn_close(c);
		return;
	}
	if (rc < 0 && !c->obuf_logged) {
		c->obuf_logged = true;
		nc_debug("socksd", "connection %llu: piece %llu refused: %s", (unsigned long long)c->id,
		       (unsigned long long)seq, nr_obuf_err_text(rc));
	}
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

/* ---- the runner's owner */

static int runner_send(void *ctx, uint64_t seq, const uint8_t *data, size_t len, bool closed)
{
	return sd_mix_send(ctx, seq, data, len, closed);
}

static size_t runner_lane_depth(void *ctx)
{
	const struct sd_conn *c = ctx;
	return ns_engine_lane_depth(sd_engine, c->id + 1);
}

static bool runner_must_wait(void *ctx)
{
	const struct sd_conn *c = ctx;
	return ns_engine_lane_unacked(sd_engine, c->id + 1) > SD_LANE_UNACKED_MAX;
}

void sd_conn_lane_sent(uint64_t lane)
{
	struct sd_conn *c = lane ? sd_conn_find(lane - 1) : NULL;
	if (c && c->runner)
		ns_runner_lane_sent(c->runner);
}

static void runner_ended(void *ctx, enum ns_runner_end why)
{
	struct sd_conn *c = ctx;
	if (why == NS_RUNNER_END_TTL)
		nc_debug("socksd", "connection %llu: nothing from the network requester for %.0f s: "
		       "closed", (unsigned long long)c->id, ns_runner_conf_nym().mix_ttl);
	conn_close(c);
}

static struct ns_runner *new_runner(struct sd_conn *c)
{
	struct ns_runner_conf conf = ns_runner_conf_nym();
	conf.drain_wait = SD_CLOSE_WAIT;
	conf.drain_max = SD_LANE_EMPTY_MAX;
	conf.buffer_cap = SD_OBUF_CAP;
	conf.write_error_ends = true;
	struct ns_runner_owner owner = { .send = runner_send, .lane_depth = runner_lane_depth,
		                         .must_wait = runner_must_wait, .ended = runner_ended,
		                         .ctx = c };
	return ns_runner_new(sd_loop, &conf, &owner);
}

/* ---- from the app: the request */

static int start_proxying(struct sd_conn *c, const struct ns_socks_request *req,
                          const uint8_t *rest, size_t rest_len)
{
	snprintf(c->remote, sizeof c->remote, "%s", req->remote);
	if (!(c->runner = new_runner(c)))
		return -1;
	c->phase = SD_PROXYING;
	if (sd_mix_connect(c) < 0)
		return -1;
	ev_timer_stop(sd_loop, &c->handshake);
	return ns_runner_send(c->runner, rest, rest_len);
}

/* The socket and the replies not yet written go to the runner. */
static int hand_over(struct sd_conn *c)
{
	ev_io_stop(sd_loop, &c->rio);
	ev_io_stop(sd_loop, &c->wio);
	if (ns_runner_attach(c->runner, c->fd, c->hs_out, c->hs_len) < 0)
		return -1;
	c->fd = -1;
	c->hs_len = 0;
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
	if (start_proxying(c, req, in + st->consumed, len - st->consumed) < 0) {
		queue_reply(c, fail, ns_socks_reply_failure(req->proto, 1, true, fail));
		c->hs_close = true;
		flush(c);
		return;
	}
	queue_reply(c, st->reply, st->reply_len);
	if (hand_over(c) < 0) {
		conn_close(c);
		return;
	}
	sd_mix_replay_held(c);
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
	read_request(w->data);
}

static void on_handshake_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	sd_log_limited(&g_conns.handshake, "local request not complete within %.0f s: closed",
	               SD_HANDSHAKE_TIMEOUT);
	conn_close(w->data);
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
	nc_debug("socksd", "connection %llu accepted", (unsigned long long)c->id);
	c->opened = ev_now(sd_loop);
	ns_socks_parser_init(&c->parser, 0);
	ev_io_init(&c->rio, on_readable, c->fd, EV_READ);
	ev_io_init(&c->wio, on_writable, c->fd, EV_WRITE);
	ev_timer_init(&c->handshake, on_handshake_timeout, SD_HANDSHAKE_TIMEOUT, 0.);
	c->rio.data = c->wio.data = c->handshake.data = c;
	c->next = g_conns.head;
	g_conns.head = c;
	g_conns.n++;
	ev_io_start(sd_loop, &c->rio);
	ev_timer_start(sd_loop, &c->handshake);
}
