/* Inbound node-to-node connections: accept, read, decode NymCodec frames, one callback per
 * frame. The responder never writes (gateway.md §3.1). A decode error closes only the
 * connection it happened on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/node.h"

#define READ_CHUNK   65536
#define DEFAULT_CONNS 1024

struct in_conn {
	struct ns_listener *l;
	int fd;
	ev_io io;
	struct nym_frame_decoder dec;
	char peer[NYM_NODE_ADDR_STR_MAX];
	struct in_conn *prev, *next;
};

struct ns_listener {
	struct ev_loop *loop;
	int fd;
	ev_io accept_io;
	ev_timer pause;             /* accept paused after EMFILE */
	struct ns_listener_cbs cbs;
	void (*handoff)(void *ctx, int fd);   /* set: accepted fds go there, not to add_conn */
	void *handoff_ctx;
	size_t max_conns, n_conns;
	struct in_conn *conns;
	uint8_t buf[READ_CHUNK];
};

static void unlink_conn(struct ns_listener *l, struct in_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->n_conns--;
}

static void destroy_conn(struct in_conn *c)
{
	ev_io_stop(c->l->loop, &c->io);
	close(c->fd);
	nym_frame_decoder_free(&c->dec);
	free(c);
}

static void close_conn(struct in_conn *c, int err, const char *why)
{
	struct ns_listener *l = c->l;
	unlink_conn(l, c);
	if (l->cbs.on_close)
		l->cbs.on_close(l->cbs.ctx, c->peer, err, why);
	destroy_conn(c);
}

/* Feeds bytes to the decoder: 0, or the code that must close the connection. */
static int feed(struct in_conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	while (len) {
		size_t used = 0;
		struct nym_frame f;
		int rc = nym_frame_decoder_push(&c->dec, p, len, &used, &f);
		if (rc < 0)
			return rc;
		p += used;
		len -= used;
		if (rc == 1) {
			int cb = c->l->cbs.on_frame(c->l->cbs.ctx, c->peer, &f, now);
			if (cb < 0)
				return cb;
		}
	}
	return 0;
}

static void on_conn_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct in_conn *c = w->data;
	struct ns_listener *l = c->l;
	ssize_t n = recv(c->fd, l->buf, sizeof l->buf, 0);
	if (n == 0) {
		/* a clean EOF in the middle of a frame is still a truncated frame */
		if (c->dec.have)
			close_conn(c, NYM_FRAME_ERR_PACKET_LEN, "connection closed mid-frame");
		else
			close_conn(c, 0, "closed by peer");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		close_conn(c, NS_NODE_ERR_IO, strerror(errno));
		return;
	}
	int rc = feed(c, l->buf, (size_t)n, ns_node_now_ns());
	if (rc < 0)
		close_conn(c, rc, ns_frame_strerror(rc));
}

static void add_conn(struct ns_listener *l, int fd, const struct sockaddr *sa)
{
	struct in_conn *c = calloc(1, sizeof *c);
	char peer[NYM_NODE_ADDR_STR_MAX];
	ns_sockaddr_format(sa, peer, sizeof peer);
	if (l->n_conns >= l->max_conns || !c || nym_frame_decoder_init(&c->dec) != 0) {
		if (c && c->dec.buf)
			nym_frame_decoder_free(&c->dec);
		free(c);
		close(fd);
		if (l->cbs.on_close)
			l->cbs.on_close(l->cbs.ctx, peer, NS_NODE_ERR_LIMIT,
			                ns_node_strerror(NS_NODE_ERR_LIMIT));
		return;
	}
	c->l = l;
	c->fd = fd;
	memcpy(c->peer, peer, sizeof peer);
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->n_conns++;
	ev_io_init(&c->io, on_conn_readable, fd, EV_READ);
	c->io.data = c;
	ev_io_start(l->loop, &c->io);
	if (l->cbs.on_accept)
		l->cbs.on_accept(l->cbs.ctx, c->peer);
}

static void on_pause_over(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct ns_listener *l = w->data;
	ev_io_start(loop, &l->accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct ns_listener *l = w->data;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered accept would spin: wait a little */
				ev_io_stop(loop, &l->accept_io);
				ev_timer_set(&l->pause, 0.1, 0.0);
				ev_timer_start(loop, &l->pause);
			}
			return;
		}
		if (l->handoff)
			l->handoff(l->handoff_ctx, fd);
		else
			add_conn(l, fd, (struct sockaddr *)&ss);
	}
}

void ns_listener_adopt(struct ns_listener *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		ss.ss_family = AF_UNSPEC;
	add_conn(l, fd, (struct sockaddr *)&ss);
}

struct ns_listener *ns_listener_new(struct ev_loop *loop, int listen_fd,
                                    const struct ns_listener_cbs *cbs, size_t max_conns)
{
	if (!loop || listen_fd < -1 || !cbs || !cbs->on_frame)
		return NULL;
	struct ns_listener *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->loop = loop;
	l->fd = listen_fd;
	l->cbs = *cbs;
	l->max_conns = max_conns ? max_conns : DEFAULT_CONNS;
	ev_io_init(&l->accept_io, on_accept, listen_fd < 0 ? 0 : listen_fd, EV_READ);
	l->accept_io.data = l;
	ev_timer_init(&l->pause, on_pause_over, 0.1, 0.0);
	l->pause.data = l;
	if (listen_fd >= 0)
		ev_io_start(loop, &l->accept_io);
	return l;
}

static int refuse_frame(void *ctx, const char *peer, const struct nym_frame *f, uint64_t now)
{
	(void)ctx, (void)peer, (void)f, (void)now;
	return NS_NODE_ERR_ARG;
}

struct ns_listener *ns_listener_new_handoff(struct ev_loop *loop, int listen_fd,
                                            void (*handoff)(void *ctx, int fd), void *ctx)
{
	struct ns_listener_cbs cbs = { .on_frame = refuse_frame };
	if (listen_fd < 0 || !handoff)
		return NULL;
	struct ns_listener *l = ns_listener_new(loop, listen_fd, &cbs, 0);
	if (l) {
		l->handoff = handoff;
		l->handoff_ctx = ctx;
	}
	return l;
}

size_t ns_listener_conn_count(const struct ns_listener *l)
{
	return l ? l->n_conns : 0;
}

void ns_listener_free(struct ns_listener *l)
{
	if (!l)
		return;
	ev_io_stop(l->loop, &l->accept_io);
	ev_timer_stop(l->loop, &l->pause);
	while (l->conns) {
		struct in_conn *c = l->conns;
		unlink_conn(l, c);
		destroy_conn(c);
	}
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
