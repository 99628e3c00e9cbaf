/* IPC sockets and their libev glue: see ipc.h. */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "crypto.h"

/* ---- sockets */

int ns_ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static uint8_t send_buf[NS_IPC_MAX_DATAGRAM]; /* single-threaded processes */

static int encode_for(enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *m,
                      size_t *len)
{
	if (!m)
		return NS_IPC_EARG;
	int rc = ns_ipc_accepts(peer, self, (uint64_t)m->type);
	if (rc != 0)
		return rc;
	return ns_ipc_encode(m, send_buf, sizeof send_buf, len);
}

static int send_datagram(int fd, const uint8_t *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? NS_IPC_EAGAIN : NS_IPC_EIO;
	return (size_t)n == len ? NS_IPC_OK : NS_IPC_ESHORT;
}

int ns_ipc_send(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	size_t len;
	int rc = encode_for(self, peer, m, &len);
	return rc ? rc : send_datagram(fd, send_buf, len, 0);
}

int ns_ipc_recv(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, uint8_t *buf, size_t cap,
                struct ns_ipc_msg *out, int flags)
{
	if (!buf || !out || cap == 0)
		return NS_IPC_EARG;
	if (cap > NS_IPC_MAX_DATAGRAM)
		cap = NS_IPC_MAX_DATAGRAM;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = recvmsg(fd, &mh, (flags & MSG_DONTWAIT) | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? NS_IPC_EAGAIN : NS_IPC_EIO;
	if (n == 0)
		return NS_IPC_EEOF;
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > cap)
		return NS_IPC_EOVERSIZE;
	if (mh.msg_flags & MSG_CTRUNC)
		return NS_IPC_ECONTROL;
	return ns_ipc_decode(self, peer, buf, (size_t)n, out);
}

/* ---- libev glue */

static void conn_fail(struct ns_ipc_conn *c, int err)
{
	ns_ipc_conn_stop(c);
	c->last_error = err;
	if (c->on_fatal)
		c->on_fatal(c, err, c->ctx);
}

/* One datagram: 1 handled, 0 nothing to read, -1 failed (the conn is stopped). */
static int conn_read_one(struct ns_ipc_conn *c)
{
	struct ns_ipc_msg m;
	int rc = ns_ipc_recv(c->fd, c->self, c->peer, c->buf, sizeof c->buf, &m, MSG_DONTWAIT);
	if (rc == NS_IPC_EAGAIN)
		return 0;
	if (rc == 0 && !c->handlers[m.type])
		rc = NS_IPC_ENOHANDLER;
	if (rc != 0) {
		conn_fail(c, rc);
		return -1;
	}
	c->received++;
	c->handlers[m.type](c, &m, c->ctx);
	return 1;
}

static void conn_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	/* a handler may stop the conn (fatal, shutdown): re-check that it still runs */
	for (unsigned i = 0; i < c->batch && ev_is_active(&c->io); i++)
		if (conn_read_one(c) <= 0)
			return;
}

/* ---- the send queue */

struct ns_ipc_outq {
	struct ns_ipc_outq *next;
	size_t len;
	uint8_t data[];
};

static void outq_pop(struct ns_ipc_conn *c)
{
	struct ns_ipc_outq *q = c->outq;
	c->outq = q->next;
	if (!c->outq)
		c->outq_tail = &c->outq;
	c->outq_bytes -= q->len;
	c->outq_count--;
	ns_memzero(q->data, q->len); /* fragments and SURBs pass through here */
	free(q);
}

static void conn_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	while (c->outq) {
		int rc = send_datagram(c->fd, c->outq->data, c->outq->len, MSG_DONTWAIT);
		if (rc == NS_IPC_EAGAIN)
			return;
		if (rc != 0) {
			ev_io_stop(loop, &c->wio);
			conn_fail(c, rc);
			return;
		}
		c->sent++;
		outq_pop(c);
	}
	ev_io_stop(loop, &c->wio);
}

static int outq_push(struct ns_ipc_conn *c, const uint8_t *buf, size_t len)
{
	if (c->outq_bytes + len > NS_IPC_OUTQ_MAX)
		return NS_IPC_EQUEUE;
	struct ns_ipc_outq *q = malloc(sizeof *q + len);
	if (!q)
		return NS_IPC_EQUEUE;
	q->next = NULL;
	q->len = len;
	memcpy(q->data, buf, len);
	*c->outq_tail = q;
	c->outq_tail = &q->next;
	c->outq_bytes += len;
	c->outq_count++;
	if (c->outq_bytes > c->outq_peak)
		c->outq_peak = c->outq_bytes;
	if (c->loop && !ev_is_active(&c->wio))
		ev_io_start(c->loop, &c->wio);
	return NS_IPC_OK;
}

int ns_ipc_conn_flush(struct ns_ipc_conn *c)
{
	if (!c)
		return NS_IPC_EARG;
	if (c->loop)
		ev_io_stop(c->loop, &c->wio);
	while (c->outq) {
		int rc = send_datagram(c->fd, c->outq->data, c->outq->len, 0);
		if (rc != 0)
			return rc;
		c->sent++;
		outq_pop(c);
	}
	return NS_IPC_OK;
}

void ns_ipc_conn_discard_queue(struct ns_ipc_conn *c)
{
	while (c && c->outq)
		outq_pop(c);
}

int ns_ipc_conn_start(struct ns_ipc_conn *c, struct ev_loop *loop, int fd, enum ns_ipc_role self,
                      enum ns_ipc_role peer, const ns_ipc_handler *handlers,
                      ns_ipc_fatal_fn on_fatal, void *ctx)
{
	if (!c || !loop || fd < 0 || !handlers || !on_fatal || !ns_ipc_role_valid(self) ||
	    !ns_ipc_role_valid(peer) || self == peer)
		return NS_IPC_EARG;
	c->loop = loop;
	c->fd = fd;
	c->self = self;
	c->peer = peer;
	c->handlers = handlers;
	c->on_fatal = on_fatal;
	c->ctx = ctx;
	c->received = c->sent = 0;
	c->last_error = 0;
	c->batch = 1;
	c->outq = NULL;
	c->outq_tail = &c->outq;
	c->outq_bytes = c->outq_count = c->outq_peak = 0;
	ev_io_init(&c->io, conn_readable, fd, EV_READ);
	c->io.data = c;
	ev_io_init(&c->wio, conn_writable, fd, EV_WRITE);
	c->wio.data = c;
	ev_io_start(loop, &c->io);
	return NS_IPC_OK;
}

void ns_ipc_conn_set_priority(struct ns_ipc_conn *c, int pri, unsigned batch)
{
	int active = ev_is_active(&c->io);
	if (active)
		ev_io_stop(c->loop, &c->io);
	ev_set_priority(&c->io, pri);
	c->batch = batch ? batch : 1;
	if (active)
		ev_io_start(c->loop, &c->io);
}

void ns_ipc_conn_stop(struct ns_ipc_conn *c)
{
	if (c && c->loop) {
		ev_io_stop(c->loop, &c->io);
		ev_io_stop(c->loop, &c->wio);
	}
}

int ns_ipc_conn_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	if (!c)
		return NS_IPC_EARG;
	size_t len;
	int rc = encode_for(c->self, c->peer, m, &len);
	if (rc != 0)
		return rc;
	if (!c->outq) {
		rc = send_datagram(c->fd, send_buf, len, MSG_DONTWAIT);
		if (rc == 0)
			c->sent++;
		if (rc != NS_IPC_EAGAIN)
			return rc;
	}
	return outq_push(c, send_buf, len);
}
