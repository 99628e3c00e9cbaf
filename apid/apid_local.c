/* apid's Unix-socket API transport: Nym's binary API requests and responses, each preceded by
 * its length as a u64 big-endian (common/clientlocal.h). Every connection is an app like a
 * websocket app; a frame longer than the message limit closes that connection only. A frame
 * left unfinished without progress for [nymsuite] partial_timeout closes it too; its buffers
 * count in apid's memory budget (apid_limits.c). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "apid.h"
#include "clientapi.h"
#include "clientlocal.h"
#include "nymclient.h"
#include "shbuf.h"

#define OUT_MAX (256u << 20) /* queued toward one app, as the websocket's max_queued_bytes */
#define READ_CHUNK 65536
#define READ_PAUSE (1u << 20) /* an app leaving this much unread is not read from */
#define WRITE_IOV 64
#define BUDGET_RETRY 0.1
#define ACCEPT_RETRY 0.5

/* ---- the API transport */

struct lconn {
	struct lconn *next;
	int fd, dead;
	ev_io rio, wio;
	ev_timer ptimer, btimer; /* partial frame without progress; retry while over budget */
	struct nc_app *app;
	struct ns_lframe_dec dec;
	/* toward the app: frames, each a length prefix and a buffer (our answers, or a
	 * received message shared with every other app) */
	struct ns_outq q;
	size_t charged; /* in nc_lim.budget: dec and our own part of q */
};

static struct {
	struct ev_loop *loop;
	int fd;
	char path[CLIENTCONF_PATH_MAX];
	ev_io accept_io;
	ev_timer accept_retry;
	ev_prepare reaper;
	struct lconn *conns;
	size_t n_conns;
} g_l = { .fd = -1 };

static size_t held(const struct lconn *c)
{
	return c->dec.cap + c->q.owned;
}

static void account(struct lconn *c)
{
	ns_membudget_set(&nc_lim.budget, &c->charged, c->dead ? 0 : held(c));
}

static void conn_kill(struct lconn *c, const char *why)
{
	if (c->dead)
		return;
	if (why)
		nc_warn_limited("apid", "unix api: %s: connection closed", why);
	c->dead = 1;
	ev_io_stop(g_l.loop, &c->rio);
	ev_io_stop(g_l.loop, &c->wio);
	ev_timer_stop(g_l.loop, &c->ptimer);
	ev_timer_stop(g_l.loop, &c->btimer);
}

static int conn_done(const void *node)
{
	return ((const struct lconn *)node)->dead;
}

static void conn_free(void *node)
{
	struct lconn *c = node;
	if (c->app)
		nc_app_close(c->app); /* here: a request being answered may still use it */
	close(c->fd);
	ns_lframe_dec_free(&c->dec);
	ns_outq_clear(&c->q);
	c->dec.cap = 0;
	account(c);
	free(c);
	g_l.n_conns--;
	nc_conns_changed();
}

/* Dead connections are freed here, never inside one of their own callbacks (a dead one is
 * no longer open for the API: is_open says so and sends fail). */
static void on_reap(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	nc_reap_list(&g_l.conns, offsetof(struct lconn, next), conn_done, conn_free);
}

/* Reading goes on while the app reads its answers and the budget allows. Stopped by the
 * budget, the connection looks again every BUDGET_RETRY. */
static void update_reading(struct lconn *c)
{
	if (c->dead)
		return;
	account(c);
	int ok = c->q.bytes <= READ_PAUSE &&
	         ns_membudget_may_read(&nc_lim.budget, c->charged, held(c));
	if (ok) {
		ev_io_start(g_l.loop, &c->rio);
		ev_timer_stop(g_l.loop, &c->btimer);
		return;
	}
	ev_io_stop(g_l.loop, &c->rio);
	if (c->q.bytes <= READ_PAUSE && !ev_is_active(&c->btimer)) {
		ns_membudget_paused(&nc_lim.budget, c->charged, held(c));
		ev_timer_set(&c->btimer, BUDGET_RETRY, 0.);
		ev_timer_start(g_l.loop, &c->btimer);
	}
}

static void flush_out(struct lconn *c)
{
	struct iovec iov[WRITE_IOV];
	while (c->q.bytes) {
		ssize_t n = writev(c->fd, iov, (int)ns_outq_iov(&c->q, iov, WRITE_IOV));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_kill(c, errno == EPIPE || errno == ECONNRESET ? NULL : strerror(errno));
			return;
		}
		ns_outq_consume(&c->q, (size_t)n);
	}
	if (c->q.bytes == 0)
		ev_io_stop(g_l.loop, &c->wio);
	else
		ev_io_start(g_l.loop, &c->wio);
	update_reading(c);
}

static int room_for(struct lconn *c, size_t len)
{
	if (c->q.bytes + NS_LFRAME_HDR + len <= OUT_MAX)
		return 1;
	conn_kill(c, "the app does not read its responses (256 MiB queued)");
	return 0;
}

static int local_send(struct nc_app *a, int binary, const uint8_t *data, size_t len)
{
	struct lconn *c = a->conn;
	uint8_t hdr[NS_LFRAME_HDR];
	if (c->dead || !binary || !room_for(c, len))
		return -1; /* the Unix-socket API is binary only */
	ns_lframe_header(len, hdr);
	if (ns_outq_push_copy(&c->q, hdr, sizeof hdr, data, len) < 0) {
		conn_kill(c, "out of memory");
		return -1;
	}
	flush_out(c);
	return 0;
}

static int local_send_shared(struct nc_app *a, int binary, struct ns_shbuf *b)
{
	struct lconn *c = a->conn;
	uint8_t hdr[NS_LFRAME_HDR];
	if (c->dead || !binary || !room_for(c, b->len))
		return -1;
	ns_lframe_header(b->len, hdr);
	if (ns_outq_push(&c->q, hdr, sizeof hdr, b) < 0) {
		conn_kill(c, "out of memory");
		return -1;
	}
	flush_out(c);
	return 0;
}

static size_t local_backlog(const struct nc_app *a, uint64_t *oldest)
{
	const struct lconn *c = a->conn;
	*oldest = ns_outq_oldest_shared(&c->q);
	return c->q.bytes;
}

static void write_error(int fd, const char *why);

/* Nym's error response goes out only between two frames: after half a frame the app would
 * read it as the rest of that frame, so then the connection is just closed. */
static void local_close_slow(struct nc_app *a)
{
	struct lconn *c = a->conn;
	if (c->dead)
		return;
	int cut = ns_outq_mid_entry(&c->q);
	ns_outq_clear(&c->q);
	if (!cut)
		write_error(c->fd, NC_SLOW_REASON);
	conn_kill(c, NULL);
	account(c);
}

static int local_is_open(const struct nc_app *a)
{
	return !((const struct lconn *)a->conn)->dead;
}

static const struct nc_app_transport local_transport = { .send = local_send,
	                                                 .send_shared = local_send_shared,
	                                                 .is_open = local_is_open,
	                                                 .backlog = local_backlog,
	                                                 .close_slow = local_close_slow };

static void feed(struct lconn *c, const uint8_t *in, size_t len)
{
	while (len && !c->dead) {
		uint8_t *frame = NULL;
		size_t used = 0, flen = 0;
		int rc = ns_lframe_feed(&c->dec, in, len, &used, &frame, &flen);
		in += used;
		len -= used;
		if (rc == NS_LFRAME_EBIG) {
			char why[128];
			snprintf(why, sizeof why, "frame length %llu over the %zu-byte limit",
			         (unsigned long long)c->dec.want, c->dec.max);
			conn_kill(c, why);
		} else if (rc == NS_LFRAME_ENOMEM) {
			conn_kill(c, "out of memory");
		} else if (rc == NS_LFRAME_DONE) {
			if (nc_app_request(c->app, 1, frame, flen) < 0)
				conn_kill(c, "request cannot be answered");
			free(frame);
		}
	}
}

/* The partial-frame timer runs while a frame is unfinished and restarts with every byte. */
static void update_partial_timer(struct lconn *c)
{
	if (c->dead)
		return;
	if (c->dec.hdr_have == 0)
		ev_timer_stop(g_l.loop, &c->ptimer);
	else
		ev_timer_again(g_l.loop, &c->ptimer);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct lconn *c = w->data;
	static uint8_t buf[READ_CHUNK];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_kill(c, n < 0 && errno != ECONNRESET ? strerror(errno) : NULL);
		return;
	}
	feed(c, buf, (size_t)n);
	update_partial_timer(c);
	update_reading(c);
}

static void on_partial_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	nc_event(NC_EV_PARTIAL_TIMEOUT);
	conn_kill(w->data, NULL);
}

static void on_budget_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	update_reading(w->data);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	flush_out(w->data);
}

/* Nym's binary error response (kind `other`), framed, written without waiting (best effort:
 * what the socket buffer takes). */
static void write_error(int fd, const char *why)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_ERROR;
	size_t len = 0;
	uint8_t *b = capi_error_set(&r.error, CAPI_OTHER, why, strlen(why)) == 0
	                     ? capi_response_to_binary(&r, &len)
	                     : NULL;
	if (b) {
		uint8_t hdr[NS_LFRAME_HDR];
		ns_lframe_header(len, hdr);
		struct iovec iov[2] = { { hdr, sizeof hdr }, { b, len } };
		(void)!writev(fd, iov, 2);
	}
	free(b);
	capi_response_free(&r);
}

/* A connection refused at once: the error to a fresh socket (whose buffer takes it), then
 * the close. */
static void refuse(int fd, const char *why)
{
	write_error(fd, why);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* The connection is whole before it becomes an app: nc_app_open may hand it held messages. */
static void serve(int fd)
{
	struct lconn *c = calloc(1, sizeof *c);
	if (!c) {
		refuse(fd, "out of memory: try again later");
		return;
	}
	c->fd = fd;
	ns_outq_init(&c->q);
	ns_lframe_dec_init(&c->dec, nc_lim.max_message);
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_init(&c->ptimer, on_partial_timeout);
	c->ptimer.repeat = nc_lim.partial_timeout;
	ev_init(&c->btimer, on_budget_retry);
	c->rio.data = c->wio.data = c->ptimer.data = c->btimer.data = c;
	c->next = g_l.conns;
	g_l.conns = c;
	g_l.n_conns++;
	if (!(c->app = nc_app_open(&local_transport, c, 1))) {
		g_l.conns = c->next;
		g_l.n_conns--;
		free(c);
		refuse(fd, "too many apps connected: try again later");
		return;
	}
	nc_conns_changed();
	if (!c->dead)
		ev_io_start(g_l.loop, &c->rio);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(g_l.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* the listener stays readable: watching it now would spin */
			ev_io_stop(g_l.loop, &g_l.accept_io);
			ev_timer_start(g_l.loop, &g_l.accept_retry);
			nc_event(NC_EV_REFUSED_FDS);
			return;
		}
		if (fd < 0)
			return;
		if (g_l.n_conns + nc_ws_conns() >= nc_lim.max_conns) {
			nc_event(NC_EV_REFUSED_FDS);
			refuse(fd, "too many connections: try again later");
			continue;
		}
		serve(fd);
	}
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w, (void)revents;
	ev_io_start(loop, &g_l.accept_io);
}

int nc_local_api_start(struct ev_loop *loop, const char *path)
{
	char err[256];
	g_l.loop = loop;
	g_l.fd = nc_unix_listen(path, err, sizeof err);
	if (g_l.fd < 0) {
		nc_error("apid", "unix api: %s", err);
		return -1;
	}
	snprintf(g_l.path, sizeof g_l.path, "%s", path);
	ev_io_init(&g_l.accept_io, on_accept, g_l.fd, EV_READ);
	ev_io_start(loop, &g_l.accept_io);
	ev_timer_init(&g_l.accept_retry, on_accept_retry, ACCEPT_RETRY, 0.);
	ev_prepare_init(&g_l.reaper, on_reap);
	ev_prepare_start(loop, &g_l.reaper);
	nc_log("apid", "unix socket API on %s", path);
	return 0;
}

size_t nc_local_api_conns(void)
{
	return g_l.n_conns;
}

size_t nc_local_api_apps(void)
{
	size_t n = 0;
	for (const struct lconn *c = g_l.conns; c; c = c->next)
		n += !c->dead;
	return n;
}

void nc_local_api_stop(void)
{
	if (g_l.fd < 0)
		return;
	for (struct lconn *c = g_l.conns; c; c = c->next)
		conn_kill(c, NULL);
	on_reap(g_l.loop, &g_l.reaper, 0);
	ev_io_stop(g_l.loop, &g_l.accept_io);
	ev_timer_stop(g_l.loop, &g_l.accept_retry);
	ev_prepare_stop(g_l.loop, &g_l.reaper);
	close(g_l.fd);
	g_l.fd = -1; /* the socket file: removed by the supervisor (apid may not own it) */
}
