/* exitd's connections (nym@b4046a89 network-requester core.rs and socks5/tcp.rs, as
 * clients.md §4.6 states them): a Connect is bounded, resolved once on the resolver thread,
 * checked address by address against the exit policy and the special-address guard, and
 * connected to one of those same addresses. Sends that arrive first wait in the runner's
 * ordered buffer; once connected, the proxy runner (common/proxy/runner.h, Nym's with the
 * roles swapped) carries both halves: the remote's EOF sends closed=true and the other half
 * gets 3 s at once (no lane drain), MIX_TTL sends closed=true before the end. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "clientapi.h"
#include "exitd.h"
#include "log.h"
#include "proxy/nr_target.h"
#include "proxy/ordered_buf.h"
#include "proxy/runner.h"

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
	int fd;   /* while connecting; the runner's once open */
	ev_io wio; /* the connect's completion */
	struct ns_runner *runner;
	uint64_t bytes_from_remote;
	ev_tstamp created;
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

static const char *const STATE_NAME[] = { "pending", "resolving", "connecting", "open" };

void xd_conns_describe(cJSON *list)
{
	ev_tstamp now = ev_now(g_c.loop);
	for (const struct conn *c = g_c.list; c; c = c->next) {
		char name[32];
		snprintf(name, sizeof name, "%llu", (unsigned long long)c->id);
		cJSON *o = cJSON_AddObjectToObject(list, name);
		cJSON_AddStringToObject(o, "target", c->state == ST_PENDING ? "(no Connect yet)" : c->target);
		cJSON_AddStringToObject(o, "state", STATE_NAME[c->state]);
		cJSON_AddNumberToObject(o, "bytes_to_remote",
		                        c->runner ? (double)ns_runner_bytes_written(c->runner) : 0);
		cJSON_AddNumberToObject(o, "bytes_from_remote", (double)c->bytes_from_remote);
		cJSON_AddNumberToObject(o, "age_s", (double)(long long)(now - c->created));
		cJSON_AddNumberToObject(o, "lane_depth", (double)xd_lane_depth(lane_of(c)));
	}
}

size_t xd_conns_open(void)
{
	return g_c.n_open;
}

size_t xd_bytes_buffered(void)
{
	return g_c.bytes;
}

static void conn_free(struct conn *c)
{
	ns_log(NS_LOG_DEBUG, "exitd", "connection %llu closed", (unsigned long long)c->id);
	for (struct conn **p = &g_c.list; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	ev_io_stop(g_c.loop, &c->wio);
	if (c->fd >= 0)
		close(c->fd);
	if (c->state == ST_PENDING)
		g_c.n_pending--;
	else
		g_c.n_open--;
	if (c->state != ST_PENDING)
		xd_close_lane(lane_of(c));
	ns_runner_free(c->runner);
	free(c);
}

/* ---- responses */

/* The runner's owner: its messages as NetworkData along the route. A response that cannot
 * be sent is logged; the connection goes on. */
static int runner_send(void *ctx, uint64_t seq, const uint8_t *data, size_t len, bool closed)
{
	struct conn *c = ctx;
	struct nr_response r = { .v = c->v, .kind = NR_RESP_NETWORK_DATA, .conn_id = c->id,
		                 .closed = closed, .seq = seq, .data = data, .data_len = len };
	xd_count.bytes_from_remote += len;
	c->bytes_from_remote += len;
	if (xd_respond(&c->route, &r, lane_of(c)) < 0)
		xd_log_limited(XD_LOG_SEND, "connection %llu: a response could not be sent",
		               (unsigned long long)c->id);
	return 0;
}

static size_t runner_lane_depth(void *ctx)
{
	return xd_lane_depth(lane_of(ctx));
}

/* Beyond Nym: fragments sent and not yet acknowledged stay in memory until their acks come;
 * without acks (a client gone) they would grow with every read. */
static bool runner_must_wait(void *ctx)
{
	return xd_lane_unacked(lane_of(ctx)) > xd_lim.conn_unacked ||
	       xd_unacked() > xd_lim.total_unacked;
}

void xd_conn_lane_sent(uint64_t lane)
{
	struct conn *c = lane ? find(lane - 1) : NULL;
	if (c && c->runner)
		ns_runner_lane_sent(c->runner);
}

static void runner_ended(void *ctx, enum ns_runner_end why)
{
	(void)why;
	conn_free(ctx);
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

/* ---- connecting to the checked addresses, in order */

static void connect_failed(struct conn *c);

static void opened(struct conn *c)
{
	xd_count.connections_opened++;
	ns_log(NS_LOG_DEBUG, "exitd", "connection %llu open", (unsigned long long)c->id);
	c->state = ST_OPEN;
	ev_io_stop(g_c.loop, &c->wio);
	if (ns_runner_attach(c->runner, c->fd, NULL, 0) < 0) {
		connect_failed(c);
		return;
	}
	c->fd = -1;
}

static void try_next_address(struct conn *c);

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct conn *c = w->data;
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
	ns_runner_send_closed(c->runner);
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
			ev_io_set(&c->wio, c->fd, EV_WRITE);
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

static struct ns_runner *new_runner(struct conn *c)
{
	struct ns_runner_conf conf = ns_runner_conf_nym();
	conf.drain_wait = 0;
	conf.buffer_cap = xd_lim.conn_bytes;
	conf.ttl_sends_close = true;
	conf.ttl_keepalive = true; /* a long download under loss outlives MIX_TTL; the client's
	                            * keep-alives say it is still there */
	conf.held_total = &g_c.bytes;
	conf.written_total = &xd_count.bytes_to_remote;
	struct ns_runner_owner owner = { .send = runner_send, .lane_depth = runner_lane_depth,
		                         .must_wait = runner_must_wait, .ended = runner_ended,
		                         .ctx = c };
	return ns_runner_new(g_c.loop, &conf, &owner);
}

static struct conn *conn_new(uint64_t id)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c || !(c->runner = new_runner(c))) {
		free(c);
		return NULL;
	}
	c->id = id;
	c->created = ev_now(g_c.loop);
	c->fd = -1;
	ev_init(&c->wio, on_writable);
	c->wio.data = c;
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
	int rc = ns_runner_incoming(c->runner, seq, data, len, closed);
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
