/* exitd's connections (nym@b4046a89 network-requester core.rs, socks5/tcp.rs and the proxy
 * runner of common/socks5/proxy-helpers, as clients.md §4.6 states them): a Connect is
 * bounded, resolved once on the resolver thread, checked address by address against the
 * exit policy and the special-address guard, and connected to one of those same addresses.
 * Sends that arrive first wait in the connection's ordered buffer; once connected they are
 * written in order. Reads from the remote become NetworkData (seq from 0, chunks of 16 KiB)
 * unless the lane holds more than 30 packets; remote EOF sends closed=true; keep-alive every
 * 60 s; 3 s after one half ends the connection goes; nothing from the client for MIX_TTL
 * (5 min) ends it too. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "clientapi.h"
#include "exitd.h"
#include "proxy/nr_target.h"
#include "proxy/ordered_buf.h"

#define CHUNK 16384          /* max(4 x plaintext size, 16 KiB) with Nym's defaults */
#define LANE_HIGH_WATER 30   /* packets on the lane before reading from the remote pauses */
#define PAUSE_RECHECK 0.1
#define KEEPALIVE 60.0
#define HALF_CLOSE_WAIT 3.0
#define MIX_TTL 300.0

enum state { ST_PENDING, ST_RESOLVING, ST_CONNECTING, ST_OPEN };

struct conn {
	struct conn *next;
	uint64_t id, token;
	enum state state;
	struct nr_versions v;
	struct xd_route route;
	char target[NR_TARGET_HOST_MAX + 8]; /* "host:port" as asked, for messages */
	uint16_t port;                       /* the target's port: the policy's rules name ports */
	struct sockaddr_storage addr[XD_RESOLVE_MAX_ADDRS];
	size_t n_addr, next_addr;
	int fd;
	ev_io rio, wio;
	ev_timer keepalive, ttl, linger, pause;
	struct nr_obuf *obuf;
	size_t obuf_bytes; /* what it counts in g_c.bytes */
	uint64_t out_seq;
	bool remote_eof, close_sent, writer_done;
};

static struct {
	struct ev_loop *loop;
	struct conn *list;
	size_t n_open, n_pending, bytes;
	uint64_t next_token;
} g_c;

static uint64_t lane_of(const struct conn *c)
{
	return c->id + 1;
}

static struct conn *find(uint64_t id)
{
	for (struct conn *c = g_c.list; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

size_t xd_conns_open(void)
{
	return g_c.n_open;
}

size_t xd_bytes_buffered(void)
{
	return g_c.bytes;
}

static void account(struct conn *c)
{
	size_t now = c->obuf ? nr_obuf_bytes(c->obuf) : 0;
	g_c.bytes = g_c.bytes - c->obuf_bytes + now;
	c->obuf_bytes = now;
}

static void conn_free(struct conn *c)
{
	for (struct conn **p = &g_c.list; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	ev_io_stop(g_c.loop, &c->rio);
	ev_io_stop(g_c.loop, &c->wio);
	ev_timer_stop(g_c.loop, &c->keepalive);
	ev_timer_stop(g_c.loop, &c->ttl);
	ev_timer_stop(g_c.loop, &c->linger);
	ev_timer_stop(g_c.loop, &c->pause);
	if (c->fd >= 0)
		close(c->fd);
	if (c->state == ST_PENDING)
		g_c.n_pending--;
	else
		g_c.n_open--;
	if (c->state != ST_PENDING)
		xd_close_lane(lane_of(c));
	nr_obuf_free(c->obuf);
	c->obuf = NULL;
	account(c);
	free(c);
}

/* ---- responses */

static void send_data(struct conn *c, const uint8_t *data, size_t len, bool closed)
{
	struct nr_response r = { .v = c->v, .kind = NR_RESP_NETWORK_DATA, .conn_id = c->id,
		                 .closed = closed, .seq = c->out_seq++, .data = data, .data_len = len };
	if (closed)
		c->close_sent = true;
	if (xd_respond(&c->route, &r, lane_of(c)) < 0)
		xd_log_limited(XD_LOG_SEND, "connection %llu: a response could not be sent",
		               (unsigned long long)c->id);
	if (c->state == ST_OPEN && !closed)
		ev_timer_again(g_c.loop, &c->keepalive);
}

/* ConnectionError and the end of the connection. */
static void refuse(struct conn *c, const char *why)
{
	struct nr_response r = { .v = c->v, .kind = NR_RESP_CONNECTION_ERROR, .conn_id = c->id,
		                 .text = why, .text_len = strlen(why) };
	xd_respond(&c->route, &r, lane_of(c));
	conn_free(c);
}

static void refuse_filter(struct conn *c)
{
	char why[sizeof c->target + 40];
	snprintf(why, sizeof why, "Domain \"%s\" failed filter check", c->target);
	refuse(c, why);
}

/* ---- the end of a connection: one half over, the other gets 3 s */

static void start_linger(struct conn *c)
{
	if (!ev_is_active(&c->linger)) {
		ev_timer_set(&c->linger, HALF_CLOSE_WAIT, 0.);
		ev_timer_start(g_c.loop, &c->linger);
	}
}

static void on_linger(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	if (!c->close_sent)
		send_data(c, NULL, 0, true);
	conn_free(c);
}

static void on_ttl(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	if (c->state == ST_OPEN && !c->close_sent)
		send_data(c, NULL, 0, true);
	conn_free(c);
}

static void on_keepalive(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	if (!c->close_sent)
		send_data(c, NULL, 0, false);
}

static void remote_gone(struct conn *c)
{
	c->remote_eof = true;
	ev_io_stop(g_c.loop, &c->rio);
	ev_timer_stop(g_c.loop, &c->pause);
	if (!c->close_sent)
		send_data(c, NULL, 0, true);
	start_linger(c);
}

/* ---- writing what the client sent, in order */

static void flush_writes(struct conn *c)
{
	const uint8_t *p;
	size_t len;
	while (c->state == ST_OPEN && !c->writer_done && nr_obuf_peek(c->obuf, &p, &len) == 1) {
		ssize_t n = write(c->fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			ev_io_start(g_c.loop, &c->wio);
			account(c);
			return;
		}
		if (n < 0) {
			account(c);
			remote_gone(c);
			return;
		}
		nr_obuf_consume(c->obuf, (size_t)n);
		xd_count.bytes_to_remote += (uint64_t)n;
	}
	ev_io_stop(g_c.loop, &c->wio);
	account(c);
	if (c->state == ST_OPEN && !c->writer_done && nr_obuf_finished(c->obuf)) {
		c->writer_done = true;
		shutdown(c->fd, SHUT_WR);
		start_linger(c);
	}
}

/* ---- reading from the remote, paused while the lane is deep */

static int lane_full(struct conn *c)
{
	if (xd_lane_depth(lane_of(c)) <= LANE_HIGH_WATER)
		return 0;
	ev_io_stop(g_c.loop, &c->rio);
	if (!ev_is_active(&c->pause))
		ev_timer_start(g_c.loop, &c->pause);
	return 1;
}

static void on_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	if (xd_lane_depth(lane_of(c)) > LANE_HIGH_WATER)
		return; /* the repeating timer checks again */
	ev_timer_stop(g_c.loop, &c->pause);
	if (!c->remote_eof)
		ev_io_start(g_c.loop, &c->rio);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	uint8_t buf[CHUNK];
	if (lane_full(c))
		return;
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		remote_gone(c);
		return;
	}
	xd_count.bytes_from_remote += (uint64_t)n;
	send_data(c, buf, (size_t)n, false);
}

/* ---- connecting to the checked addresses, in order */

static void on_writable(struct ev_loop *loop, ev_io *w, int revents);

static void opened(struct conn *c)
{
	xd_count.connections_opened++;
	c->state = ST_OPEN;
	ev_io_stop(g_c.loop, &c->wio);
	ev_io_init(&c->wio, on_writable, c->fd, EV_WRITE);
	ev_io_init(&c->rio, on_readable, c->fd, EV_READ);
	ev_io_start(g_c.loop, &c->rio);
	ev_timer_again(g_c.loop, &c->keepalive);
	flush_writes(c);
}

static void try_next_address(struct conn *c);

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
	if (c->state == ST_OPEN) {
		flush_writes(c);
		return;
	}
	int err = 0;
	socklen_t len = sizeof err;
	ev_io_stop(g_c.loop, &c->wio);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
		opened(c);
		return;
	}
	close(c->fd);
	c->fd = -1;
	try_next_address(c);
}

/* Nym: a failed connect is NetworkData seq 0, closed, empty (not a ConnectionError). */
static void connect_failed(struct conn *c)
{
	xd_count.connect_failed++;
	send_data(c, NULL, 0, true);
	conn_free(c);
}

static void try_next_address(struct conn *c)
{
	while (c->next_addr < c->n_addr) {
		const struct sockaddr_storage *sa = &c->addr[c->next_addr++];
		socklen_t len = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                          : sizeof(struct sockaddr_in);
		c->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, (const struct sockaddr *)sa, len) == 0) {
			opened(c);
			return;
		}
		if (errno == EINPROGRESS) {
			ev_io_init(&c->wio, on_writable, c->fd, EV_WRITE);
			ev_io_start(g_c.loop, &c->wio);
			return;
		}
		close(c->fd);
		c->fd = -1;
	}
	connect_failed(c);
}

static void on_resolved(const struct xd_resolved *r)
{
	struct conn *c = find(r->conn_id);
	if (!c || c->token != r->token || c->state != ST_RESOLVING)
		return; /* gone meanwhile */
	struct ns_exit_addr addrs[XD_RESOLVE_MAX_ADDRS];
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (ns_exit_addr_from_sockaddr((const struct sockaddr *)&r->addr[i], &addrs[n], NULL) == 0)
			c->addr[n] = r->addr[i], n++;
	if (r->gai_err || n == 0) {
		xd_count.resolve_failed++;
		refuse_filter(c);
		return;
	}
	size_t first = 0;
	enum ns_exit_verdict v = nr_target_decide(xd_policy(), addrs, n, c->port, &first);
	if (v != NS_EXIT_ALLOW) {
		xd_count.refused_policy++;
		xd_log_limited(XD_LOG_POLICY, "connection %llu to %s refused: %s",
		               (unsigned long long)c->id, c->target, ns_exit_verdict_text(v));
		refuse_filter(c);
		return;
	}
	c->n_addr = n;
	c->next_addr = first;
	c->state = ST_CONNECTING;
	try_next_address(c);
}

/* ---- bounds */

static int same_sender(const struct xd_route *a, const struct xd_route *b)
{
	if (a->by_tag != b->by_tag)
		return 0;
	return a->by_tag ? !memcmp(a->tag, b->tag, sizeof a->tag)
	                 : !memcmp(a->addr, b->addr, sizeof a->addr);
}

static const char *over_bound(const struct xd_route *route)
{
	size_t mine = 0;
	if (g_c.n_open >= xd_lim.max_conns)
		return "the network requester holds as many connections as it allows";
	for (struct conn *c = g_c.list; c; c = c->next)
		mine += c->state != ST_PENDING && same_sender(&c->route, route);
	if (mine >= xd_lim.max_per_sender)
		return "too many connections from this sender";
	return NULL;
}

/* ---- connection objects */

static struct conn *conn_new(uint64_t id)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c || !(c->obuf = nr_obuf_new(xd_lim.conn_bytes))) {
		free(c);
		return NULL;
	}
	c->id = id;
	c->fd = -1;
	ev_init(&c->rio, on_readable);
	ev_init(&c->wio, on_writable);
	ev_timer_init(&c->keepalive, on_keepalive, KEEPALIVE, KEEPALIVE);
	ev_timer_init(&c->ttl, on_ttl, MIX_TTL, MIX_TTL);
	ev_timer_init(&c->linger, on_linger, HALF_CLOSE_WAIT, 0.);
	ev_timer_init(&c->pause, on_pause, PAUSE_RECHECK, PAUSE_RECHECK);
	c->rio.data = c->wio.data = c->keepalive.data = c->ttl.data = c->linger.data = c;
	c->pause.data = c;
	ev_timer_start(g_c.loop, &c->ttl);
	c->next = g_c.list;
	g_c.list = c;
	return c;
}

static void set_target(struct conn *c, const uint8_t *addr, size_t len)
{
	size_t n = 0;
	char *text = capi_utf8_lossy(addr, len, &n);
	snprintf(c->target, sizeof c->target, "%.*s", text ? (int)n : 0, text ? text : "");
	free(text);
}

void xd_conn_connect(const struct nr_versions *v, uint64_t conn_id, const struct xd_route *route,
                     const uint8_t *addr, size_t addr_len)
{
	struct conn *c = find(conn_id);
	if (c && c->state != ST_PENDING) {
		xd_log_limited(XD_LOG_MALFORMED, "a second Connect for connection %llu: ignored",
		               (unsigned long long)conn_id);
		return;
	}
	const char *bound = over_bound(route);
	if (c) /* its Sends came first */
		g_c.n_pending--;
	else if (!(c = conn_new(conn_id)))
		return;
	g_c.n_open++;
	c->state = ST_RESOLVING;
	c->v = *v;
	c->route = *route;
	c->token = ++g_c.next_token;
	set_target(c, addr, addr_len);
	char host[NR_TARGET_HOST_MAX];
	uint16_t port;
	if (bound) {
		xd_count.refused_bounds++;
		xd_log_limited(XD_LOG_BOUNDS, "connection %llu refused: %s", (unsigned long long)conn_id,
		               bound);
		refuse(c, bound);
		return;
	}
	if (nr_target_split(addr, addr_len, host, &port) < 0) {
		xd_count.resolve_failed++;
		refuse_filter(c);
		return;
	}
	c->port = port;
	if (xd_resolve(c->id, c->token, host, port) < 0) {
		xd_count.refused_bounds++;
		refuse(c, "the network requester's resolver queue is full");
	}
}

/* A Send for a connection whose Connect has not come (yet): kept, bounded. */
static struct conn *pending_for(uint64_t conn_id)
{
	if (g_c.n_pending >= xd_lim.max_pending) {
		xd_count.sends_dropped++;
		xd_log_limited(XD_LOG_BOUNDS, "a Send for unknown connection %llu dropped: %zu "
		               "connections already wait for their Connect",
		               (unsigned long long)conn_id, g_c.n_pending);
		return NULL;
	}
	struct conn *c = conn_new(conn_id);
	if (c) {
		c->state = ST_PENDING;
		g_c.n_pending++;
		xd_count.sends_early++;
	}
	return c;
}

void xd_conn_send(uint64_t conn_id, bool closed, uint64_t seq, const uint8_t *data, size_t len)
{
	struct conn *c = find(conn_id);
	if (!c && !(c = pending_for(conn_id)))
		return;
	if (g_c.bytes + len + NR_OBUF_PIECE_COST > xd_lim.total_bytes) {
		xd_count.sends_dropped++;
		xd_log_limited(XD_LOG_BOUNDS, "connection %llu: the buffers of all connections are "
		               "full (%zu bytes): connection closed", (unsigned long long)conn_id,
		               g_c.bytes);
		if (c->state == ST_PENDING)
			conn_free(c);
		else
			refuse(c, "the network requester's buffers are full");
		return;
	}
	int rc = nr_obuf_insert(c->obuf, seq, data, len, closed);
	account(c);
	if (rc == NR_OBUF_E_FULL || rc == NR_OBUF_E_NOMEM || rc == NR_OBUF_E_TOO_FAR) {
		xd_count.sends_dropped++;
		xd_log_limited(XD_LOG_BOUNDS, "connection %llu: %s: connection closed",
		               (unsigned long long)conn_id, nr_obuf_err_text(rc));
		if (c->state == ST_PENDING)
			conn_free(c);
		else
			refuse(c, "the connection's buffer is full");
		return;
	}
	if (rc < 0) {
		xd_count.sends_dropped++;
		xd_log_limited(XD_LOG_MALFORMED, "connection %llu: Send seq %llu dropped: %s",
		               (unsigned long long)conn_id, (unsigned long long)seq,
		               nr_obuf_err_text(rc));
		return;
	}
	/* a keep-alive counts: Nym's proxy runner restarts MIX_TTL on every message */
	ev_timer_again(g_c.loop, &c->ttl);
	if (c->state == ST_OPEN)
		flush_writes(c);
}

int xd_conns_init(struct ev_loop *loop)
{
	char err[256];
	g_c.loop = loop;
	if (xd_resolver_prepare(loop, on_resolved, err, sizeof err) < 0) {
		xd_log_limited(XD_LOG_SEND, "%s", err);
		return -1;
	}
	return 0;
}

int xd_conns_start(void)
{
	char err[256];
	if (xd_resolver_start(err, sizeof err) < 0) {
		xd_log_limited(XD_LOG_SEND, "%s", err);
		return -1;
	}
	return 0;
}
