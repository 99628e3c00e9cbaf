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

/* The messages of a BATCH, in order, while the conn runs (a handler may stop it). */
static int conn_read_batch(struct ns_ipc_conn *c, const struct ns_ipc_msg *batch)
{
	struct ns_ipc_msg m;
	size_t off = 0;
	int rc;
	while (ev_is_active(&c->io) && (rc = ns_ipc_batch_next(c->self, c->peer, batch, &off, &m)) != 0) {
		if (rc > 0 && !c->handlers[m.type])
			rc = NS_IPC_ENOHANDLER;
		if (rc < 0) {
			conn_fail(c, rc);
			return -1;
		}
		c->received++;
		c->handlers[m.type](c, &m, c->ctx);
	}
	return 1;
}

/* One datagram: 1 handled, 0 nothing to read, -1 failed (the conn is stopped). */
static int conn_read_one(struct ns_ipc_conn *c)
{
	struct ns_ipc_msg m;
	int rc = ns_ipc_recv(c->fd, c->self, c->peer, c->buf, sizeof c->buf, &m, MSG_DONTWAIT);
	if (rc == NS_IPC_EAGAIN)
		return 0;
	if (rc == 0 && m.type == NS_IPC_T_BATCH)
		return conn_read_batch(c, &m);
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
	size_t len, messages; /* a BATCH datagram holds several */
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

/* The head of the queue went out. */
static void outq_sent(struct ns_ipc_conn *c)
{
	c->sent += c->outq->messages;
	c->datagrams++;
	outq_pop(c);
}

static void wait_writable(struct ns_ipc_conn *c)
{
	if (c->loop && !ev_is_active(&c->wio))
		ev_io_start(c->loop, &c->wio);
}

/* Sends queued datagrams without blocking, in order, until the queue is empty or the socket
 * is full (then the writable watcher goes on). 0 or an error. */
static int outq_send(struct ns_ipc_conn *c)
{
	while (c->outq) {
		int rc = send_datagram(c->fd, c->outq->data, c->outq->len, MSG_DONTWAIT);
		if (rc == NS_IPC_EAGAIN) {
			wait_writable(c);
			return NS_IPC_OK;
		}
		if (rc != 0)
			return rc;
		outq_sent(c);
	}
	return NS_IPC_OK;
}

static int outq_push(struct ns_ipc_conn *c, const uint8_t *buf, size_t len, size_t messages)
{
	if (c->outq_bytes + len > NS_IPC_OUTQ_MAX)
		return NS_IPC_EQUEUE;
	struct ns_ipc_outq *q = malloc(sizeof *q + len);
	if (!q)
		return NS_IPC_EQUEUE;
	q->next = NULL;
	q->len = len;
	q->messages = messages;
	memcpy(q->data, buf, len);
	*c->outq_tail = q;
	c->outq_tail = &q->next;
	c->outq_bytes += len;
	c->outq_count++;
	if (c->outq_bytes > c->outq_peak)
		c->outq_peak = c->outq_bytes;
	wait_writable(c);
	return NS_IPC_OK;
}

/* A datagram the caller owns: sent now when nothing waits before it, else queued. */
static int send_or_queue(struct ns_ipc_conn *c, const uint8_t *buf, size_t len, size_t messages)
{
	if (!c->outq) {
		int rc = send_datagram(c->fd, buf, len, MSG_DONTWAIT);
		if (rc == 0) {
			c->sent += messages;
			c->datagrams++;
		}
		if (rc != NS_IPC_EAGAIN)
			return rc;
	}
	return outq_push(c, buf, len, messages);
}

/* ---- the cork: a corked conn encodes each message straight into c->cork, after room for a
 * BATCH header: CORK_HDR bytes, then (u32 BE length, message) for each. */
#define CORK_HDR 5 /* fixarray(2), type BATCH, bin16 header */
_Static_assert(NS_IPC_T_BATCH < 128 && NS_IPC_BATCH_MAX < 65536, "the BATCH header below");

/* The cork as one datagram: its message when it holds one, else a BATCH whose header (the
 * shortest bin header for the payload's length) is written just before the payload. */
static const uint8_t *cork_datagram(struct ns_ipc_conn *c, size_t *len)
{
	uint8_t *payload = c->cork + CORK_HDR;
	if (c->cork_count == 1) {
		*len = c->cork_len - 4;
		return payload + 4;
	}
	size_t n = c->cork_len, h = n < 256 ? 4 : 5;
	uint8_t *d = payload - h;
	d[0] = 0x92;
	d[1] = NS_IPC_T_BATCH;
	if (h == 4) {
		d[2] = 0xc4;
		d[3] = (uint8_t)n;
	} else {
		d[2] = 0xc5;
		d[3] = (uint8_t)(n >> 8);
		d[4] = (uint8_t)n;
	}
	*len = n + h;
	return d;
}

static void cork_clear(struct ns_ipc_conn *c)
{
	ns_memzero(c->cork, CORK_HDR + c->cork_len); /* fragments and SURBs pass through here */
	c->cork_len = c->cork_count = 0;
}

/* What the cork holds goes out (after what is queued: that is older) or into the queue. */
static int cork_flush(struct ns_ipc_conn *c)
{
	if (!c->cork_count)
		return NS_IPC_OK;
	size_t len;
	const uint8_t *d = cork_datagram(c, &len);
	int rc = send_or_queue(c, d, len, c->cork_count);
	cork_clear(c);
	return rc;
}

/* Encodes m into the cork; a full cork goes out first. A message too large for any BATCH
 * goes alone (after the cork, to keep the order). */
static int cork_add(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	int rc = ns_ipc_accepts(c->peer, c->self, (uint64_t)m->type);
	for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
		size_t room = NS_IPC_BATCH_MAX - c->cork_len, len;
		uint8_t *at = c->cork + CORK_HDR + c->cork_len;
		rc = room > 4 ? ns_ipc_encode(m, at + 4, room - 4, &len) : NS_IPC_ESPACE;
		if (rc == 0) {
			at[0] = (uint8_t)(len >> 24), at[1] = (uint8_t)(len >> 16);
			at[2] = (uint8_t)(len >> 8), at[3] = (uint8_t)len;
			c->cork_len += 4 + len;
			c->cork_count++;
			return NS_IPC_OK;
		}
		ns_memzero(at, room); /* what a failed encode left there */
		if (rc != NS_IPC_ESPACE || !c->cork_count)
			break;
		rc = cork_flush(c);
	}
	if (rc != NS_IPC_ESPACE)
		return rc;
	size_t len;
	rc = encode_for(c->self, c->peer, m, &len);
	return rc ? rc : send_or_queue(c, send_buf, len, 1);
}

static void conn_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	int rc = outq_send(c);
	if (rc != 0) {
		ev_io_stop(loop, &c->wio);
		conn_fail(c, rc);
		return;
	}
	if (!c->outq)
		ev_io_stop(loop, &c->wio);
}

/* A corked conn, before the loop waits: what this turn of the loop corked goes out (or waits
 * in the queue behind older datagrams). */
static void conn_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	if (c->cork_kept)
		return;
	int rc = cork_flush(c);
	if (rc != 0)
		conn_fail(c, rc);
}

void ns_ipc_conn_keep_cork(struct ns_ipc_conn *c, int on)
{
	if (c)
		c->cork_kept = on != 0;
}

int ns_ipc_conn_flush(struct ns_ipc_conn *c)
{
	if (!c)
		return NS_IPC_EARG;
	int rc = c->cork ? cork_flush(c) : NS_IPC_OK;
	if (rc != 0)
		return rc;
	if (c->loop)
		ev_io_stop(c->loop, &c->wio);
	while (c->outq) {
		rc = send_datagram(c->fd, c->outq->data, c->outq->len, 0);
		if (rc != 0)
			return rc;
		outq_sent(c);
	}
	return NS_IPC_OK;
}

void ns_ipc_conn_discard_queue(struct ns_ipc_conn *c)
{
	while (c && c->outq)
		outq_pop(c);
	if (c && c->cork)
		cork_clear(c);
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
	c->corked = c->cork_kept = 0;
	c->paused = c->stopped = 0;
	c->cork = NULL;
	c->cork_len = c->cork_count = 0;
	c->datagrams = 0;
	c->outq = NULL;
	c->outq_tail = &c->outq;
	c->outq_bytes = c->outq_count = c->outq_peak = 0;
	ev_io_init(&c->io, conn_readable, fd, EV_READ);
	c->io.data = c;
	ev_io_init(&c->wio, conn_writable, fd, EV_WRITE);
	c->wio.data = c;
	ev_prepare_init(&c->flush_w, conn_prepare);
	/* last among the prepare watchers: what another one sends this turn goes out too */
	ev_set_priority(&c->flush_w, EV_MINPRI);
	c->flush_w.data = c;
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

/* The prepare watcher is active for as long as the conn is corked (one started during the
 * prepare phase would only run after the loop's next wait), and does not keep the loop alive. */
static void flush_watch(struct ns_ipc_conn *c, int on)
{
	if (on && !ev_is_active(&c->flush_w)) {
		ev_prepare_start(c->loop, &c->flush_w);
		ev_unref(c->loop);
	} else if (!on && ev_is_active(&c->flush_w)) {
		ev_ref(c->loop);
		ev_prepare_stop(c->loop, &c->flush_w);
	}
}

int ns_ipc_conn_set_cork(struct ns_ipc_conn *c, int on)
{
	if (!c || !c->loop)
		return NS_IPC_EARG;
	if (on && !c->cork && !(c->cork = malloc(CORK_HDR + NS_IPC_BATCH_MAX)))
		return NS_IPC_EQUEUE;
	c->corked = on != 0;
	flush_watch(c, c->corked);
	if (on || !c->cork)
		return NS_IPC_OK;
	int rc = cork_flush(c);
	free(c->cork);
	c->cork = NULL;
	return rc;
}

void ns_ipc_conn_pause(struct ns_ipc_conn *c, int on)
{
	if (!c || !c->loop || c->stopped || c->paused == (on != 0))
		return;
	c->paused = on != 0;
	if (c->paused)
		ev_io_stop(c->loop, &c->io);
	else
		ev_io_start(c->loop, &c->io);
}

void ns_ipc_conn_stop(struct ns_ipc_conn *c)
{
	if (c && c->loop) {
		c->stopped = 1;
		ev_io_stop(c->loop, &c->io);
		ev_io_stop(c->loop, &c->wio);
		flush_watch(c, 0);
	}
}

int ns_ipc_conn_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	if (!c)
		return NS_IPC_EARG;
	if (!m)
		return NS_IPC_EARG;
	if (c->corked)
		return cork_add(c, m);
	size_t len;
	int rc = encode_for(c->self, c->peer, m, &len);
	return rc ? rc : send_or_queue(c, send_buf, len, 1);
}
