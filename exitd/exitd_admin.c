/* exitd's admin socket (mode 0600): nymctl's line protocol (common/clientlocal.h), one
 * request line and one answer line per connection. exitd answers `stats` (its counters and
 * the engine's) and `address` from its own state; the other commands get an error. Small
 * on purpose: a shared admin-socket module for the fronts can replace it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "clientlocal.h"
#include "exitd.h"
#include "nymclient.h"

#define MAX_ADMIN_CONNS 8
#define ADMIN_IDLE 5.0 /* a connection that sends no complete line in time is closed */

struct aconn {
	int fd;
	ev_io rio;
	ev_timer idle;
	char in[NS_ADMIN_LINE_MAX];
	size_t in_len;
};

static struct {
	struct ev_loop *loop;
	int fd;
	ev_io accept_io;
	struct aconn conns[MAX_ADMIN_CONNS];
} g_ad = { .fd = -1 };

static void conn_close(struct aconn *c)
{
	ev_io_stop(g_ad.loop, &c->rio);
	ev_timer_stop(g_ad.loop, &c->idle);
	close(c->fd);
	c->fd = -1;
}

/* The answer is one short line: a blocking-free write of it fits the socket buffer. */
static void answer(struct aconn *c, const char *line, size_t len)
{
	char buf[NS_ADMIN_LINE_MAX];
	char err[128];
	enum ns_admin_cmd cmd;
	size_t n;
	if (ns_admin_parse_request(line, len, &cmd, err, sizeof err) < 0)
		n = (size_t)snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", err);
	else if (cmd == NS_ADMIN_STATS)
		n = xd_admin_stats_json(buf, sizeof buf);
	else if (cmd == NS_ADMIN_ADDRESS)
		n = xd_admin_address_json(buf, sizeof buf);
	else
		n = (size_t)snprintf(buf, sizeof buf, "{\"error\":\"the network requester answers "
		                     "stats and address only\"}");
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	conn_close(c);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct aconn *c = w->data;
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	char *nl = memchr(c->in, '\n', c->in_len);
	if (nl)
		answer(c, c->in, (size_t)(nl - c->in));
	else if (c->in_len == sizeof c->in)
		conn_close(c);
}

static void on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	conn_close(w->data);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)w, (void)revents;
	int fd = accept4(g_ad.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < MAX_ADMIN_CONNS; i++) {
		struct aconn *c = &g_ad.conns[i];
		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->in_len = 0;
		ev_io_init(&c->rio, on_read, fd, EV_READ);
		ev_timer_init(&c->idle, on_idle, ADMIN_IDLE, 0.);
		c->rio.data = c->idle.data = c;
		ev_io_start(loop, &c->rio);
		ev_timer_start(loop, &c->idle);
		return;
	}
	close(fd); /* as many as it serves at once */
}

int xd_admin_start(struct ev_loop *loop, const char *path)
{
	char err[256];
	g_ad.loop = loop;
	for (size_t i = 0; i < MAX_ADMIN_CONNS; i++)
		g_ad.conns[i].fd = -1;
	g_ad.fd = nc_unix_listen(path, err, sizeof err);
	if (g_ad.fd < 0) {
		nc_log("exitd", "admin socket: %s", err);
		return -1;
	}
	ev_io_init(&g_ad.accept_io, on_accept, g_ad.fd, EV_READ);
	ev_io_start(loop, &g_ad.accept_io);
	nc_log("exitd", "admin socket on %s", path);
	return 0;
}

void xd_admin_stop(void)
{
	if (g_ad.fd < 0)
		return;
	for (size_t i = 0; i < MAX_ADMIN_CONNS; i++)
		if (g_ad.conns[i].fd >= 0)
			conn_close(&g_ad.conns[i]);
	ev_io_stop(g_ad.loop, &g_ad.accept_io);
	close(g_ad.fd);
	g_ad.fd = -1;
}
