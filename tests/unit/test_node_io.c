/* common/node: the inbound listener (frames split anywhere, malformed input closing only its
 * own connection, connection limit) and outbound peers (delivery, reconnect after the peer
 * closed, backoff, bounded queue), over real loopback sockets on one libev loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "loopback.h"
#include "node/node.h"

#define MAX_SEEN 256

static struct rec {
	int frames;
	uint8_t first_byte[MAX_SEEN];
	uint8_t version[MAX_SEEN], rotation[MAX_SEEN];
	int closes, last_close_err, accepts;
	int close_after;          /* on_frame returns an error at this frame count (0 = never) */
	int events[8];
	int last_errno;
} r;

static int rec_frame(void *ctx, const char *peer, const struct nym_frame *f, uint64_t recv_ns)
{
	(void)ctx;
	(void)recv_ns;
	assert_non_null(strstr(peer, "127.0.0.1:"));
	assert_int_equal(f->packet_len, nym_packet_size_bytes(f->header.size_tag));
	if (r.frames < MAX_SEEN) {
		r.first_byte[r.frames] = f->packet[0];
		r.version[r.frames] = f->header.version;
		r.rotation[r.frames] = f->header.key_rotation;
	}
	r.frames++;
	if (r.close_after && r.frames == r.close_after)
		return NS_NODE_ERR_ARG;
	return 0;
}

static void rec_accept(void *ctx, const char *peer)
{
	(void)ctx;
	(void)peer;
	r.accepts++;
}

static void rec_close(void *ctx, const char *peer, int err, const char *why)
{
	(void)ctx;
	(void)peer;
	assert_non_null(why);
	r.closes++;
	r.last_close_err = err;
}

static void rec_event(void *ctx, const char *peer, enum ns_peer_event ev, int sys_errno)
{
	(void)ctx;
	(void)peer;
	r.events[ev]++;
	r.last_errno = sys_errno;
}

static void wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Runs the loop until *counter reaches want (1) or ms pass (0). */
static int run_until(struct ev_loop *loop, const int *counter, int want, int ms)
{
	uint64_t end = ns_node_now_ns() + (uint64_t)ms * 1000000u;
	ev_timer t;
	ev_timer_init(&t, wake, 0.01, 0.01);
	ev_timer_start(loop, &t);
	while (*counter < want && ns_node_now_ns() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return *counter >= want;
}

static void tick(struct ev_loop *loop, int ms)
{
	uint64_t end = ns_node_now_ns() + (uint64_t)ms * 1000000u;
	while (ns_node_now_ns() < end)
		ev_run(loop, EVRUN_NOWAIT);
}

static struct ns_listener *listen_any(struct ev_loop *loop, uint16_t *port, size_t max)
{
	int fd = ns_loopback_listen("127.0.0.1:0");
	assert_true(fd >= 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	struct ns_listener_cbs cbs = { rec_frame, rec_accept, rec_close, NULL };
	struct ns_listener *l = ns_listener_new(loop, fd, &cbs, max);
	assert_non_null(l);
	return l;
}

static int client(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* A version-7 ack-size frame whose packet starts with mark. */
static size_t ack_frame(uint8_t *out, uint8_t mark)
{
	out[0] = 7;
	out[1] = NYM_PACKET_ACK;
	out[2] = 0;
	memset(out + 3, 0xab, NYM_PACKET_ACK_SIZE);
	out[3] = mark;
	return 3 + NYM_PACKET_ACK_SIZE;
}

static void send_bytes(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void test_listener_split_and_garbage(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	uint16_t port;
	memset(&r, 0, sizeof r);
	struct ns_listener *l = listen_any(loop, &port, 0);
	int a = client(port), b = client(port);
	assert_true(run_until(loop, &r.accepts, 2, 2000));
	uint8_t f[512];
	size_t n = ack_frame(f, 1);
	/* byte by byte on b */
	for (size_t i = 0; i < n; i++) {
		send_bytes(b, f + i, 1);
		if (i % 97 == 0)
			tick(loop, 1);
	}
	assert_true(run_until(loop, &r.frames, 1, 2000));
	assert_int_equal(r.first_byte[0], 1);
	/* two frames and a half in one write on b */
	uint8_t big[1536];
	size_t k = ack_frame(big, 2);
	k += ack_frame(big + k, 3);
	ack_frame(big + k, 4);
	send_bytes(b, big, k + 100);
	assert_true(run_until(loop, &r.frames, 3, 2000));
	assert_int_equal(r.first_byte[2], 3);
	/* garbage on a: closed, with the decoder's reason */
	send_bytes(a, "GET / HTTP/1.1\r\n", 16);
	assert_true(run_until(loop, &r.closes, 1, 2000));
	assert_int_equal(r.last_close_err, NYM_FRAME_ERR_UNSUPPORTED); /* 'G' = 0x47 > 8 */
	assert_int_equal(ns_listener_conn_count(l), 1);
	/* b still flows: the rest of frame 4 */
	send_bytes(b, big + k + 100, n - 100);
	assert_true(run_until(loop, &r.frames, 4, 2000));
	assert_int_equal(r.first_byte[3], 4);
	close(a);
	close(b);
	assert_true(run_until(loop, &r.closes, 2, 2000));
	assert_int_equal(r.last_close_err, 0);
	ns_listener_free(l);
	ev_loop_destroy(loop);
}

static void test_listener_bad_headers(void **state)
{
	(void)state;
	static const struct {
		uint8_t hdr[4];
		size_t len;
		int err;
	} cases[] = {
		{ { 6, 1, 0 }, 3, NYM_FRAME_ERR_VERSION },
		{ { 0, 1, 0 }, 3, NYM_FRAME_ERR_VERSION },
		{ { 9, 1, 0, 0 }, 4, NYM_FRAME_ERR_UNSUPPORTED },
		{ { 7, 9, 0 }, 3, NYM_FRAME_ERR_SIZE_TAG },
		{ { 7, 0, 0 }, 3, NYM_FRAME_ERR_SIZE_TAG },
		{ { 7, 6, 2 }, 3, NYM_FRAME_ERR_SIZE_TAG },   /* outfox sizes are not supported */
		{ { 7, 1, 1 }, 3, NYM_FRAME_ERR_TYPE },
		{ { 8, 1, 0, 3 }, 4, NYM_FRAME_ERR_ROTATION },
	};
	struct ev_loop *loop = ev_loop_new(0);
	uint16_t port;
	memset(&r, 0, sizeof r);
	struct ns_listener *l = listen_any(loop, &port, 0);
	int good = client(port);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = client(port);
		send_bytes(fd, cases[i].hdr, cases[i].len);
		assert_true(run_until(loop, &r.closes, (int)i + 1, 2000));
		assert_int_equal(r.last_close_err, cases[i].err);
		close(fd);
	}
	/* EOF in the middle of a frame */
	int fd = client(port);
	uint8_t f[512];
	size_t n = ack_frame(f, 9);
	send_bytes(fd, f, n - 1);
	tick(loop, 20);
	close(fd);
	assert_true(run_until(loop, &r.closes, 9, 2000));
	assert_int_equal(r.last_close_err, NYM_FRAME_ERR_PACKET_LEN);
	assert_int_equal(r.frames, 0);
	/* the first connection was never disturbed */
	send_bytes(good, f, n);
	assert_true(run_until(loop, &r.frames, 1, 2000));
	/* the callback may refuse: that connection closes with its code */
	r.close_after = 2;
	send_bytes(good, f, n);
	assert_true(run_until(loop, &r.closes, 10, 2000));
	assert_int_equal(r.last_close_err, NS_NODE_ERR_ARG);
	close(good);
	ns_listener_free(l);
	ev_loop_destroy(loop);
}

static void test_listener_limit(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	uint16_t port;
	memset(&r, 0, sizeof r);
	struct ns_listener *l = listen_any(loop, &port, 1);
	int a = client(port);
	assert_true(run_until(loop, &r.accepts, 1, 2000));
	int b = client(port);
	assert_true(run_until(loop, &r.closes, 1, 2000));
	assert_int_equal(r.last_close_err, NS_NODE_ERR_LIMIT);
	assert_int_equal(ns_listener_conn_count(l), 1);
	close(a);
	close(b);
	ns_listener_free(l);
	ev_loop_destroy(loop);
}

/* ---------------------------------------------------------------- peers */

static void test_backoff(void **state)
{
	(void)state;
	struct ns_peer_policy p = NS_PEER_POLICY_DEFAULT;
	assert_int_equal(p.connect_timeout_ms, 1500);
	assert_int_equal(p.queue_cap, 2000);
	assert_int_equal(ns_peer_backoff_ms(&p, 0), 0);
	assert_int_equal(ns_peer_backoff_ms(&p, 1), 20000);
	assert_int_equal(ns_peer_backoff_ms(&p, 2), 40000);
	assert_int_equal(ns_peer_backoff_ms(&p, 4), 160000);
	assert_int_equal(ns_peer_backoff_ms(&p, 5), 300000);
	assert_int_equal(ns_peer_backoff_ms(&p, 31), 300000);
	assert_int_equal(ns_peer_backoff_ms(&p, 4000000000u), 300000);
	assert_int_equal(ns_peer_backoff_ms(NULL, 3), 0);
}

static struct nym_node_address local(uint16_t port)
{
	struct nym_node_address a = { .ip_version = 4, .port = port, .ip = { 127, 0, 0, 1 } };
	return a;
}

static void test_peers_deliver_and_reconnect(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	uint16_t port;
	memset(&r, 0, sizeof r);
	struct ns_listener *l = listen_any(loop, &port, 0);
	struct ns_peers_cbs cbs = { rec_event, NULL };
	struct ns_peers *ps = ns_peers_new(loop, NULL, &cbs);
	struct nym_node_address to = local(port);
	struct nym_frame_header h7, h8;
	static uint8_t pkt[NYM_PACKET_REGULAR_SIZE];
	assert_int_equal(nym_frame_header_for(sizeof pkt, 0, 0, 1, &h7), 0);
	assert_int_equal(nym_frame_header_for(sizeof pkt, 0, NYM_KEY_ROTATION_EVEN, 0, &h8), 0);
	for (int i = 0; i < 100; i++) {
		pkt[0] = (uint8_t)i;
		assert_int_equal(ns_peers_send(ps, &to, i % 2 ? &h8 : &h7, pkt, sizeof pkt), 0);
	}
	assert_true(run_until(loop, &r.frames, 100, 3000));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(r.first_byte[i], i); /* in order */
		assert_int_equal(r.version[i], i % 2 ? 8 : 7);
		assert_int_equal(r.rotation[i], i % 2 ? NYM_KEY_ROTATION_EVEN : 0);
	}
	struct ns_peers_stats st;
	ns_peers_get_stats(ps, &st);
	assert_int_equal(st.frames_sent, 100);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.queue_depth, 0);
	assert_int_equal(st.peers, 1);
	assert_int_equal(r.accepts, 1);
	/* the receiver drops the connection: the peer notices, the next frame reconnects */
	r.close_after = 101;
	assert_int_equal(ns_peers_send(ps, &to, &h7, pkt, sizeof pkt), 0);
	assert_true(run_until(loop, &r.events[NS_PEER_DISCONNECTED], 1, 3000));
	pkt[0] = 0xee;
	assert_int_equal(ns_peers_send(ps, &to, &h7, pkt, sizeof pkt), 0);
	assert_true(run_until(loop, &r.frames, 102, 3000));
	assert_int_equal(r.first_byte[101], 0xee);
	ns_peers_get_stats(ps, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(r.accepts, 2);
	/* bad input */
	struct nym_node_address far = { .ip_version = 4, .port = 1789, .ip = { 10, 0, 0, 1 } };
	assert_int_equal(ns_peers_send(ps, &far, &h7, pkt, sizeof pkt), NS_NODE_ERR_ADDR);
	assert_true(ns_peers_send(ps, &to, &h7, pkt, 100) < 0);
	assert_int_equal(ns_peers_send(ps, &to, NULL, pkt, sizeof pkt), NS_NODE_ERR_ARG);
	ns_peers_free(ps);
	ns_listener_free(l);
	ev_loop_destroy(loop);
}

static uint16_t dead_port(void)
{
	int fd;
	uint16_t port = ns_loopback_free_port(&fd);
	assert_true(port != 0);
	close(fd);
	return port;
}

static void test_peers_backoff_and_bounded_queue(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	memset(&r, 0, sizeof r);
	struct ns_peer_policy pol = { 1500, 10000, 300000, 4, 1 }; /* refused counts here */
	struct ns_peers_cbs cbs = { rec_event, NULL };
	struct ns_peers *ps = ns_peers_new(loop, &pol, &cbs);
	struct nym_node_address to = local(dead_port());
	struct nym_frame_header h;
	static uint8_t pkt[NYM_PACKET_ACK_SIZE];
	assert_int_equal(nym_frame_header_for(sizeof pkt, 0, 0, 1, &h), 0);
	assert_int_equal(ns_peers_send(ps, &to, &h, pkt, sizeof pkt), 0);
	assert_true(run_until(loop, &r.events[NS_PEER_CONNECT_FAILED], 1, 3000));
	struct ns_peers_stats st;
	ns_peers_get_stats(ps, &st);
	assert_int_equal(st.frames_lost, 1); /* what was queued dies with the attempt */
	assert_int_equal(st.queue_depth, 0);
	/* one counted failure: the next attempt waits 20 s; frames queue up to 4 meanwhile */
	for (int i = 0; i < 4; i++)
		assert_int_equal(ns_peers_send(ps, &to, &h, pkt, sizeof pkt), 0);
	assert_int_equal(ns_peers_send(ps, &to, &h, pkt, sizeof pkt), NS_NODE_ERR_FULL);
	tick(loop, 50);
	ns_peers_get_stats(ps, &st);
	assert_int_equal(st.queue_depth, 4);
	assert_int_equal(st.frames_dropped, 1);
	assert_int_equal(st.connect_failures, 1);   /* no new attempt during the backoff */
	assert_int_equal(r.events[NS_PEER_DROPPED], 1);
	ns_peers_free(ps);
	ev_loop_destroy(loop);
}

static void test_peers_refused_not_counted(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(0);
	memset(&r, 0, sizeof r);
	struct ns_peers_cbs cbs = { rec_event, NULL };
	struct ns_peers *ps = ns_peers_new(loop, NULL, &cbs); /* Nym default: refused not counted */
	uint16_t port = dead_port();
	struct nym_node_address to = local(port);
	struct nym_frame_header h;
	static uint8_t pkt[NYM_PACKET_ACK_SIZE];
	assert_int_equal(nym_frame_header_for(sizeof pkt, 0, 0, 1, &h), 0);
	assert_int_equal(ns_peers_send(ps, &to, &h, pkt, sizeof pkt), 0);
	assert_true(run_until(loop, &r.events[NS_PEER_CONNECT_FAILED], 1, 3000));
	/* the node comes up: the next frame connects at once, no backoff */
	char hp[32];
	snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
	int fd = ns_loopback_listen(hp);
	assert_true(fd >= 0);
	struct ns_listener_cbs lc = { rec_frame, rec_accept, rec_close, NULL };
	struct ns_listener *l = ns_listener_new(loop, fd, &lc, 0);
	assert_int_equal(ns_peers_send(ps, &to, &h, pkt, sizeof pkt), 0);
	assert_true(run_until(loop, &r.frames, 1, 1000));
	ns_peers_free(ps);
	ns_listener_free(l);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listener_split_and_garbage),
		cmocka_unit_test(test_listener_bad_headers),
		cmocka_unit_test(test_listener_limit),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_peers_deliver_and_reconnect),
		cmocka_unit_test(test_peers_backoff_and_bounded_queue),
		cmocka_unit_test(test_peers_refused_not_counted),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
