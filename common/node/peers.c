/* Outbound node-to-node connections (nym@b4046a89 common/client-libs/mixnet-client/src/client.rs):
 * one TCP connection per destination, reused; frames queue (bounded) while connecting or
 * waiting for a backoff. A failed connect or a lost connection discards what was queued (the
 * channel of the Nym task dies with it); the next frame starts a new attempt, after
 * min(base * 2^n, max) when n > 0 counted failures (connect timeouts; refused connects are
 * not counted unless policy.count_refused). A successful connect resets n. The responder
 * never writes: readable means EOF (or bytes we discard). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "node/node.h"

#define WRITE_BATCH 64

enum peer_state { PEER_IDLE, PEER_WAITING, PEER_CONNECTING, PEER_CONNECTED };

struct out_frame {
	size_t len;
	uint8_t bytes[];
};

struct peer {
	struct ns_peers *ps;
	struct nym_node_address addr;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char name[NYM_NODE_ADDR_STR_MAX];
	enum peer_state state;
	unsigned failures;
	int fd;
	ev_io io;
	ev_timer timer;
	struct out_frame **queue;   /* ring of queue_cap */
	size_t head, count;
	size_t written;             /* bytes of queue[head] already sent */
};

struct ns_peers {
	struct ev_loop *loop;
	struct ns_peer_policy policy;
	struct ns_peers_cbs cbs;
	struct peer **peers;
	size_t n, alloc;
	struct ns_peers_stats st;
};

uint64_t ns_peer_backoff_ms(const struct ns_peer_policy *p, unsigned failures)
{
	if (!p || failures == 0)
		return 0;
	uint64_t max = p->backoff_max_ms;
	if (failures >= 32)
		return max;
	uint64_t b = (uint64_t)p->backoff_base_ms << failures;
	return b < max ? b : max;
}

static void emit(struct peer *p, enum ns_peer_event ev, int err)
{
	if (p->ps->cbs.on_event)
		p->ps->cbs.on_event(p->ps->cbs.ctx, p->name, ev, err);
}

static void discard_queue(struct peer *p, int lost)
{
	size_t cap = p->ps->policy.queue_cap;
	while (p->count) {
		free(p->queue[p->head]);
		p->queue[p->head] = NULL;
		p->head = (p->head + 1) % cap;
		p->count--;
		p->ps->st.queue_depth--;
		if (lost)
			p->ps->st.frames_lost++;
	}
	p->head = 0;
	p->written = 0;
}

static void close_socket(struct peer *p)
{
	ev_io_stop(p->ps->loop, &p->io);
	ev_timer_stop(p->ps->loop, &p->timer);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Connection lost or never made: back to idle, dropping what was queued. */
static void to_idle(struct peer *p, int counted)
{
	close_socket(p);
	if (counted)
		p->failures++;
	p->state = PEER_IDLE;
	discard_queue(p, 1);
}

static void update_io(struct peer *p)
{
	int events = EV_READ | (p->count ? EV_WRITE : 0);
	if (ev_is_active(&p->io) && (p->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(p->ps->loop, &p->io);
	ev_io_set(&p->io, p->fd, events);
	ev_io_start(p->ps->loop, &p->io);
}

static void pop_sent(struct peer *p)
{
	free(p->queue[p->head]);
	p->queue[p->head] = NULL;
	p->head = (p->head + 1) % p->ps->policy.queue_cap;
	p->count--;
	p->written = 0;
	p->ps->st.queue_depth--;
	p->ps->st.frames_sent++;
}

/* Writes as much of the queue as the socket takes. 0, or -1 on a write error (errno set). */
static int flush(struct peer *p)
{
	size_t cap = p->ps->policy.queue_cap;
	while (p->count) {
		struct iovec iov[WRITE_BATCH];
		int n = 0;
		for (size_t i = 0; i < p->count && n < WRITE_BATCH; i++, n++) {
			struct out_frame *f = p->queue[(p->head + i) % cap];
			size_t off = i == 0 ? p->written : 0;
			iov[n].iov_base = f->bytes + off;
			iov[n].iov_len = f->len - off;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(p->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			return -1;
		}
		size_t left = (size_t)w;
		while (left && p->count) {
			struct out_frame *f = p->queue[p->head];
			size_t rest = f->len - p->written;
			if (left < rest) {
				p->written += left;
				left = 0;
				break;
			}
			left -= rest;
			pop_sent(p);
		}
		if (p->count && p->written == 0 && (size_t)w == 0)
			return 0;
	}
	return 0;
}

static void lost(struct peer *p, int err)
{
	p->ps->st.disconnects++;
	to_idle(p, 0);
	emit(p, NS_PEER_DISCONNECTED, err);
}

static void on_connected_io(struct peer *p, int revents)
{
	if (revents & EV_READ) {
		uint8_t sink[4096];
		ssize_t r = recv(p->fd, sink, sizeof sink, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			lost(p, r == 0 ? 0 : errno);
			return;
		}
	}
	if (revents & EV_WRITE) {
		if (flush(p) != 0) {
			lost(p, errno);
			return;
		}
	}
	update_io(p);
}

static void connect_failed(struct peer *p, int err, int counted)
{
	p->ps->st.connect_failures++;
	to_idle(p, counted);
	emit(p, NS_PEER_CONNECT_FAILED, err);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct peer *p = w->data;
	if (p->state == PEER_CONNECTED) {
		on_connected_io(p, revents);
		return;
	}
	/* PEER_CONNECTING: the non-blocking connect finished */
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		int counted = err != ECONNREFUSED || p->ps->policy.count_refused;
		connect_failed(p, err, counted);
		return;
	}
	ev_timer_stop(p->ps->loop, &p->timer);
	p->state = PEER_CONNECTED;
	p->failures = 0;
	p->ps->st.connects++;
	emit(p, NS_PEER_CONNECTED, 0);
	on_connected_io(p, EV_WRITE);
}

static void start_connect(struct peer *p)
{
	int fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		connect_failed(p, errno, 1);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	p->fd = fd;
	p->state = PEER_CONNECTING;
	if (connect(fd, (struct sockaddr *)&p->sa, p->sa_len) != 0 && errno != EINPROGRESS) {
		int err = errno;
		connect_failed(p, err, err != ECONNREFUSED || p->ps->policy.count_refused);
		return;
	}
	ev_io_set(&p->io, fd, EV_WRITE);
	ev_io_start(p->ps->loop, &p->io);
	ev_timer_set(&p->timer, p->ps->policy.connect_timeout_ms / 1000.0, 0.0);
	ev_timer_start(p->ps->loop, &p->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct peer *p = w->data;
	if (p->state == PEER_WAITING)
		start_connect(p);
	else if (p->state == PEER_CONNECTING)
		connect_failed(p, ETIMEDOUT, 1);
}

/* The first frame after idle: connect now, or after the backoff. */
static void wake(struct peer *p)
{
	uint64_t wait = ns_peer_backoff_ms(&p->ps->policy, p->failures);
	if (wait == 0) {
		start_connect(p);
		return;
	}
	p->state = PEER_WAITING;
	ev_timer_set(&p->timer, (double)wait / 1000.0, 0.0);
	ev_timer_start(p->ps->loop, &p->timer);
}

static struct peer *find_peer(struct ns_peers *ps, const struct nym_node_address *to)
{
	for (size_t i = 0; i < ps->n; i++)
		if (nym_node_address_equal(&ps->peers[i]->addr, to))
			return ps->peers[i];
	return NULL;
}

static struct peer *add_peer(struct ns_peers *ps, const struct nym_node_address *to)
{
	if (ps->n == ps->alloc) {
		size_t n = ps->alloc ? ps->alloc * 2 : 8;
		struct peer **a = realloc(ps->peers, n * sizeof *a);
		if (!a)
			return NULL;
		ps->peers = a;
		ps->alloc = n;
	}
	struct peer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->queue = calloc(ps->policy.queue_cap, sizeof *p->queue);
	if (!p->queue || ns_node_address_sockaddr(to, &p->sa, &p->sa_len) != 0) {
		free(p->queue);
		free(p);
		return NULL;
	}
	p->ps = ps;
	p->addr = *to;
	p->fd = -1;
	nym_node_address_format(to, p->name, sizeof p->name);
	ev_init(&p->io, on_io);
	p->io.data = p;
	ev_init(&p->timer, on_timer);
	p->timer.data = p;
	ps->peers[ps->n++] = p;
	ps->st.peers = ps->n;
	return p;
}

struct ns_peers *ns_peers_new(struct ev_loop *loop, const struct ns_peer_policy *policy,
                              const struct ns_peers_cbs *cbs)
{
	static const struct ns_peer_policy def = NS_PEER_POLICY_DEFAULT;
	if (!loop || (policy && policy->queue_cap == 0))
		return NULL;
	struct ns_peers *ps = calloc(1, sizeof *ps);
	if (!ps)
		return NULL;
	ps->loop = loop;
	ps->policy = policy ? *policy : def;
	if (cbs)
		ps->cbs = *cbs;
	return ps;
}

int ns_peers_send(struct ns_peers *ps, const struct nym_node_address *to,
                  const struct nym_frame_header *h, const uint8_t *packet, size_t len)
{
	if (!ps || !to || !h || !packet)
		return NS_NODE_ERR_ARG;
	if (!ns_node_address_is_loopback(to)) {
		ps->st.frames_dropped++;
		return NS_NODE_ERR_ADDR;
	}
	size_t hl = nym_frame_header_len(h);
	struct out_frame *f = malloc(sizeof *f + hl + len);
	if (!f)
		return NS_NODE_ERR_NOMEM;
	long n = nym_frame_encode(h, packet, len, f->bytes, hl + len);
	if (n < 0) {
		free(f);
		ps->st.frames_dropped++;
		return (int)n;
	}
	f->len = (size_t)n;
	struct peer *p = find_peer(ps, to);
	if (!p && !(p = add_peer(ps, to))) {
		free(f);
		return NS_NODE_ERR_NOMEM;
	}
	if (p->count >= ps->policy.queue_cap) {
		free(f);
		ps->st.frames_dropped++;
		emit(p, NS_PEER_DROPPED, 0);
		return NS_NODE_ERR_FULL;
	}
	p->queue[(p->head + p->count) % ps->policy.queue_cap] = f;
	p->count++;
	ps->st.queue_depth++;
	ps->st.frames_queued++;
	if (p->state == PEER_IDLE)
		wake(p);
	else if (p->state == PEER_CONNECTED)
		update_io(p);
	return 0;
}

void ns_peers_get_stats(const struct ns_peers *ps, struct ns_peers_stats *out)
{
	if (ps && out)
		*out = ps->st;
}

void ns_peers_free(struct ns_peers *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++) {
		struct peer *p = ps->peers[i];
		close_socket(p);
		discard_queue(p, 0);
		free(p->queue);
		free(p);
	}
	free(ps->peers);
	free(ps);
}
