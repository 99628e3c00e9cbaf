/* The gateway's client-side fronts (localnet only; nodeconf.h): what an operator puts in
 * front of a Nym gateway, which never speaks TLS itself. A TLS front on clients_wss_port
 * terminates TLS with the [tls] certificate and relays the bytes to the websocket listener; a
 * plain front on announce_ws_port relays them too. Either adds client_delay_ms before every
 * chunk it passes on from the client (latency tests). Each front is a child process (one more
 * per connection), killed with the gateway (PR_SET_PDEATHSIG). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "gateway.h"
#include "loopback.h"
#include "tls.h"

#define FRONT_CHUNK 16384
#define FRONT_HANDSHAKE_TIMEOUT_S 10
#define FRONT_MAX_CONNECTIONS 256 /* more at once are closed at accept */

struct front {
	const char *name;       /* "tls" or "ws" */
	int listen_fd;
	char upstream[96];      /* host:port of the gateway's own ws listener */
	struct ns_tls_ctx *tls; /* NULL: plain */
	unsigned delay_ms;
};

static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
}

static int connect_upstream(const char *host_port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (ns_loopback_parse(host_port, &sa, &len) < 0)
		return -1;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int write_all(int fd, struct ns_tls *t, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = t ? ns_tls_write(t, p, n) : send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One read from `from` written to `to` (after delay_ms when it came from the client); 0 on
 * progress, -1 when either side is done. */
static int pass(int from, struct ns_tls *from_tls, int to, struct ns_tls *to_tls, unsigned delay_ms)
{
	uint8_t buf[FRONT_CHUNK];
	do {
		ssize_t r = from_tls ? ns_tls_read(from_tls, buf, sizeof buf) : recv(from, buf, sizeof buf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (delay_ms)
			usleep(delay_ms * 1000u);
		if (write_all(to, to_tls, buf, (size_t)r) < 0)
			return -1;
	} while (from_tls && ns_tls_pending(from_tls) > 0);
	return 0;
}

static void relay(const struct front *f, int client, struct ns_tls *t)
{
	int up = connect_upstream(f->upstream);
	if (up < 0)
		return;
	struct pollfd p[2] = { { .fd = client, .events = POLLIN }, { .fd = up, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && pass(client, t, up, NULL, f->delay_ms) < 0)
			break;
		if (p[1].revents && pass(up, NULL, client, t, 0) < 0)
			break;
	}
	close(up);
}

static void serve_one(const struct front *f, int client)
{
	die_with_parent();
	struct ns_tls *t = NULL;
	if (f->tls) {
		char err[256] = "";
		struct timeval tv = { .tv_sec = FRONT_HANDSHAKE_TIMEOUT_S };
		setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		t = ns_tls_new(f->tls, client, NULL, err, sizeof err);
		if (!t || ns_tls_handshake(t, err, sizeof err) != 1) {
			gw_log("tls front: handshake failed: %s", err[0] ? err : "timed out");
			ns_tls_free(t);
			_exit(0);
		}
		tv.tv_sec = 0;
		setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	relay(f, client, t);
	ns_tls_free(t);
	_exit(0);
}

static void front_loop(const struct front *f)
{
	die_with_parent();
	unsigned live = 0, refused = 0;
	for (;;) {
		while (live > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			live--;
		struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			_exit(1);
		int c = p.revents ? accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
		if (c < 0)
			continue;
		if (live >= FRONT_MAX_CONNECTIONS) {
			if (refused++ == 0)
				gw_log("%s front: %d connections at once, refusing more", f->name,
				       FRONT_MAX_CONNECTIONS);
			close(c);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(f->listen_fd);
			serve_one(f, c);
		}
		live += pid > 0;
		close(c);
	}
}

/* Starts one front on host:port relaying to the gateway's ws port. 0 or -1 (logged). */
static int start_front(const struct gw *gw, const char *name, uint16_t port, struct ns_tls_ctx *tls)
{
	char hp[96];
	snprintf(hp, sizeof hp, strchr(gw->conf.host, ':') ? "[%s]:%u" : "%s:%u", gw->conf.host, port);
	int fd = ns_loopback_listen(hp);
	if (fd < 0) {
		gw_log("%s front: cannot listen on %s: %s", name, hp, strerror(errno));
		return -1;
	}
	struct front f = { .name = name, .listen_fd = fd, .tls = tls,
		           .delay_ms = gw->conf.client_delay_ms };
	snprintf(f.upstream, sizeof f.upstream, strchr(gw->conf.host, ':') ? "[%s]:%u" : "%s:%u",
	         gw->conf.host, gw->conf.clients_ws_port);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		gw_log("%s front: fork: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0)
		front_loop(&f);
	close(fd);
	gw_log("%s front on %s -> %s (added delay %u ms)", name, hp, f.upstream, f.delay_ms);
	return 0;
}

int gw_fronts_start(struct gw *gw)
{
	const struct ns_nodeconf *c = &gw->conf;
	if (c->announce_ws_port && c->announce_ws_port != c->clients_ws_port &&
	    start_front(gw, "ws", c->announce_ws_port, NULL) < 0)
		return -1;
	if (!c->clients_wss_port)
		return 0;
	char err[400] = "";
	struct ns_tls_ctx *tls = ns_tls_server_ctx_new(c->tls_cert_file, c->tls_key_file, err, sizeof err);
	if (!tls) {
		gw_log("tls front: %s", err);
		return -1;
	}
	int rc = start_front(gw, "tls", c->clients_wss_port, tls);
	ns_tls_ctx_free(tls); /* the child has its copy */
	return rc;
}
