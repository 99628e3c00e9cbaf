/* The engine's lane depths (common/engine/engine.c): a fragment counts as queued from its
 * BUILD_PACKET until netd's FRAMES_SENT names it, and as unacknowledged until its ACK; a
 * retransmission does not queue it again, a frame netd dropped before sending is built
 * again, a malformed FRAMES_SENT changes nothing; a fragment given up without its ack (a
 * failed rebuild, a timeout after the ack) is named to netd in FORGET_FRAGMENT; a fragment netd
 * gave up at its retransmission limit (GAVE_UP_FRAGMENT) is dropped, counted, logged once per
 * window and not handed over at the stop. The engine runs on real socketpairs; the test plays
 * keyd, netd and the supervisor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "engine/engine.h"
#include "ipc.h"
#include "log.h"
#include "nymclient.h"

/* What the engine needs from client/suite, which the unit tests do not link. */
const struct nc_kind *nc_kind;

void nc_log(const char *role, const char *fmt, ...)
{
	(void)role, (void)fmt;
}

void nc_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	assert_int_equal(ns_ipc_conn_send(c, m), 0);
}

void nc_ipc_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)c, (void)ctx;
	fail_msg("IPC error %d", err);
	abort();
}

#define LANE 7
#define MAX_IDS 16

struct fixture {
	struct ev_loop *loop;
	struct ns_engine *e;
	int keyd, netd, sup; /* the test's ends */
	uint8_t ids[MAX_IDS][5];
	size_t n_ids, builds;
	uint64_t lane_sent[MAX_IDS];
	size_t n_lane_sent;
};

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *tag)
{
	(void)ctx, (void)msg, (void)len, (void)tag;
}

static void on_shutdown(void *ctx)
{
	(void)ctx;
}

static void on_lane_sent(void *ctx, uint64_t lane)
{
	struct fixture *f = ctx;
	if (f->n_lane_sent < MAX_IDS)
		f->lane_sent[f->n_lane_sent++] = lane;
}

static const struct ns_engine_cb cb = { .on_message = on_message, .on_shutdown = on_shutdown,
	                                .on_lane_sent = on_lane_sent };

static void pair(int *ours, int *theirs)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	*ours = sv[0];
	*theirs = sv[1];
}

static void read_build(struct fixture *f, const struct ns_ipc_msg *m)
{
	assert_int_equal(m->type, NS_IPC_T_BUILD_PACKET);
	if (f->n_ids < MAX_IDS)
		memcpy(f->ids[f->n_ids++], m->u.BUILD_PACKET.frag_id.ptr, 5);
	f->builds++;
}

/* BUILD_PACKETs keyd has received so far (the engine's conns are corked: what a turn of its
 * loop queued comes as one BATCH); the first ones name the fragments. */
static void read_builds(struct fixture *f)
{
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	struct ns_ipc_msg m, in;
	ev_run(f->loop, EVRUN_NOWAIT);
	while (ns_ipc_recv(f->keyd, NS_IPC_KEYD, NS_IPC_APID, buf, sizeof buf, &m, MSG_DONTWAIT) == 0) {
		size_t off = 0;
		if (m.type != NS_IPC_T_BATCH)
			read_build(f, &m);
		while (m.type == NS_IPC_T_BATCH && ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_APID, &m, &off, &in) == 1)
			read_build(f, &in);
	}
}

static void spin(struct fixture *f)
{
	for (int i = 0; i < 4; i++)
		ev_run(f->loop, EVRUN_NOWAIT);
}

static int setup(void **state)
{
	static struct fixture f;
	int keyd, netd, sup;
	memset(&f, 0, sizeof f);
	f.loop = ev_loop_new(EVFLAG_AUTO);
	pair(&f.keyd, &keyd);
	pair(&f.netd, &netd);
	pair(&f.sup, &sup);
	f.e = ns_engine_start(f.loop, keyd, netd, sup, &cb, &f);
	assert_non_null(f.e);
	uint8_t to[NS_ENGINE_ADDRESS_LEN], msg[6000];
	memset(to, 0x42, sizeof to);
	memset(msg, 0x17, sizeof msg);
	assert_int_equal(ns_engine_send(f.e, to, msg, sizeof msg, LANE, NULL, NULL), 0);
	read_builds(&f);
	assert_true(f.n_ids >= 4);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ns_engine_free(f->e);
	close(f->keyd);
	close(f->netd);
	close(f->sup);
	ev_loop_destroy(f->loop);
	return 0;
}

static void frames_sent(struct fixture *f, size_t first, size_t n, bool dropped)
{
	uint8_t ids[MAX_IDS * 5];
	for (size_t i = 0; i < n; i++)
		memcpy(ids + i * 5, f->ids[first + i], 5);
	struct ns_ipc_msg m = { .type = NS_IPC_T_FRAMES_SENT };
	m.u.FRAMES_SENT.frag_ids = NS_IPC_BYTES(ids, n * 5);
	m.u.FRAMES_SENT.dropped = dropped;
	assert_int_equal(ns_ipc_send(f->netd, NS_IPC_NETD, NS_IPC_APID, &m), 0);
	spin(f);
}

static void from_peer(int fd, enum ns_ipc_role peer, enum ns_ipc_type type, const uint8_t id[5])
{
	struct ns_ipc_msg m = { .type = type };
	if (type == NS_IPC_T_ACK)
		m.u.ACK.frag_id = NS_IPC_BYTES(id, 5);
	else
		m.u.ACK_TIMEOUT.frag_id = NS_IPC_BYTES(id, 5);
	assert_int_equal(ns_ipc_send(fd, peer, NS_IPC_APID, &m), 0);
}

static void test_queued_until_sent(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n);
	assert_int_equal(ns_engine_lane_depth(f->e, 0), 0);
	frames_sent(f, 0, 2, false);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 2);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n);
	assert_int_equal(f->n_lane_sent, 1);
	assert_int_equal(f->lane_sent[0], LANE);
	/* the same ids again (a retransmission went out): nothing changes */
	frames_sent(f, 0, 2, false);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 2);
	assert_int_equal(f->n_lane_sent, 1);
	from_peer(f->keyd, NS_IPC_KEYD, NS_IPC_T_ACK, f->ids[0]);
	spin(f);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n - 1);
	assert_int_equal(ns_engine_unacked(f->e), n - 1);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 2);
	struct ns_engine_stats st;
	ns_engine_stats(f->e, &st);
	assert_int_equal(st.queued, n - 2);
	assert_int_equal(st.n_lanes, 1);
	assert_int_equal(st.lane_depth[0], n - 2);
	assert_int_equal(st.lane_unacked[0], n - 1);
}

static void test_retransmission_not_queued(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	frames_sent(f, 0, 1, false);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[0]);
	spin(f);
	read_builds(f);
	assert_int_equal(f->builds, n + 1); /* built again, new route */
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 1);
}

static void test_dropped_built_again(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	frames_sent(f, 0, 1, false);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 1);
	frames_sent(f, 0, 1, true);
	read_builds(f);
	assert_int_equal(f->builds, n + 1);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n);
}

static void test_malformed_ignored(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	uint8_t ids[12];
	memcpy(ids, f->ids[0], 5);
	memcpy(ids + 5, f->ids[1], 5);
	struct ns_ipc_msg m = { .type = NS_IPC_T_FRAMES_SENT };
	m.u.FRAMES_SENT.frag_ids = NS_IPC_BYTES(ids, 12); /* not a multiple of 5 */
	assert_int_equal(ns_ipc_send(f->netd, NS_IPC_NETD, NS_IPC_APID, &m), 0);
	spin(f);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n);
	assert_int_equal(f->n_lane_sent, 0);
}

/* The FORGET_FRAGMENTs netd has received so far; the ids in ids[] */
static size_t read_forgets(struct fixture *f, uint8_t ids[][5], size_t max)
{
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	struct ns_ipc_msg m;
	size_t n = 0;
	while (ns_ipc_recv(f->netd, NS_IPC_NETD, NS_IPC_APID, buf, sizeof buf, &m, MSG_DONTWAIT) == 0) {
		assert_int_equal(m.type, NS_IPC_T_FORGET_FRAGMENT);
		if (n < max)
			memcpy(ids[n], m.u.FORGET_FRAGMENT.frag_id.ptr, 5);
		n++;
	}
	return n;
}

static void build_failed(struct fixture *f, const uint8_t id[5], uint64_t reason)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_FAILED };
	m.u.BUILD_FAILED.frag_id = NS_IPC_BYTES(id, 5);
	m.u.BUILD_FAILED.reason = reason;
	assert_int_equal(ns_ipc_send(f->keyd, NS_IPC_KEYD, NS_IPC_APID, &m), 0);
	spin(f);
}

/* A kept fragment's timeout is answered with a rebuild, and netd is told nothing. */
static void test_timeout_rebuilds_no_forget(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	uint8_t got[4][5];
	frames_sent(f, 0, 1, false);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[0]);
	spin(f);
	read_builds(f);
	assert_int_equal(f->builds, n + 1);
	assert_int_equal(read_forgets(f, got, 4), 0);
}

/* The ack reached the engine before netd's ACK_TIMEOUT: nothing to rebuild, and netd must
 * free the retransmission slot it took for the timeout. */
static void test_late_timeout_forgotten(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	uint8_t got[4][5];
	frames_sent(f, 0, 1, false);
	from_peer(f->keyd, NS_IPC_KEYD, NS_IPC_T_ACK, f->ids[0]);
	spin(f);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[0]);
	spin(f);
	read_builds(f);
	assert_int_equal(f->builds, n); /* not built again */
	assert_int_equal(read_forgets(f, got, 4), 1);
	assert_memory_equal(got[0], f->ids[0], 5);
}

/* keyd could not rebuild a timed-out fragment: the engine drops it, and netd must drop its
 * pending ack and slot too (else they are held for the rest of the run). The same when the
 * fragment was acked while its rebuild was under way. */
static void test_failed_rebuild_forgotten(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	uint8_t got[4][5];
	frames_sent(f, 0, 2, false);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[0]);
	spin(f);
	build_failed(f, f->ids[0], NS_IPC_BUILD_UNKNOWN_GATEWAY);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n - 1);
	assert_int_equal(read_forgets(f, got, 4), 1);
	assert_memory_equal(got[0], f->ids[0], 5);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[1]);
	spin(f);
	from_peer(f->keyd, NS_IPC_KEYD, NS_IPC_T_ACK, f->ids[1]);
	spin(f);
	build_failed(f, f->ids[1], NS_IPC_BUILD_NO_TOPOLOGY);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n - 2);
	assert_int_equal(read_forgets(f, got, 4), 1);
	assert_memory_equal(got[0], f->ids[1], 5);
}

static void gave_up(struct fixture *f, const uint8_t id[5])
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_GAVE_UP_FRAGMENT };
	m.u.GAVE_UP_FRAGMENT.frag_id = NS_IPC_BYTES(id, 5);
	assert_int_equal(ns_ipc_send(f->netd, NS_IPC_NETD, NS_IPC_APID, &m), 0);
	spin(f);
}

/* What the engine hands the supervisor at SHUTDOWN: the QUEUED_FRAGMENT ids in ids[], the
 * count; *end_persisted from QUEUED_END. */
static size_t handover(struct fixture *f, uint8_t ids[][5], size_t max, uint64_t *end_persisted)
{
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	struct ns_ipc_msg m = { .type = NS_IPC_T_SHUTDOWN };
	size_t n = 0;
	assert_int_equal(ns_ipc_send(f->sup, NS_IPC_SUPERVISOR, NS_IPC_APID, &m), 0);
	spin(f);
	*end_persisted = UINT64_MAX;
	while (ns_ipc_recv(f->sup, NS_IPC_SUPERVISOR, NS_IPC_APID, buf, sizeof buf, &m, MSG_DONTWAIT) == 0) {
		if (m.type == NS_IPC_T_QUEUED_END) {
			*end_persisted = m.u.QUEUED_END.persisted;
			break;
		}
		assert_int_equal(m.type, NS_IPC_T_QUEUED_FRAGMENT);
		if (n < max)
			memcpy(ids[n], m.u.QUEUED_FRAGMENT.frag_id.ptr, 5);
		n++;
	}
	return n;
}

static int id_in(const uint8_t id[5], uint8_t ids[][5], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(ids[i], id, 5))
			return 1;
	return 0;
}

static unsigned g_gave_up_lines;
static char g_last_line[256];
static double g_clock = 1000.0;

static void count_gave_up_line(const char *line, void *ctx)
{
	(void)ctx;
	if (!strstr(line, "maximum_number_of_retransmissions"))
		return;
	g_gave_up_lines++;
	snprintf(g_last_line, sizeof g_last_line, "%s", line);
}

static double fixed_clock(void)
{
	return g_clock;
}

/* netd gave two fragments up at the retransmission limit: the engine drops them (nothing
 * rebuilt, no FORGET_FRAGMENT: netd forgot them itself), counts them, logs one line for both
 * (the second is a repeat inside the window) and hands only the others to the supervisor at
 * the stop; before the fix they stayed unacknowledged and were persisted. */
static void test_gave_up_dropped_not_persisted(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	uint8_t got[MAX_IDS][5];
	uint64_t persisted;
	struct ns_engine_stats st;
	ns_log_set_sink(count_gave_up_line, NULL);
	ns_log_set_clock(fixed_clock);
	frames_sent(f, 0, n, false);
	gave_up(f, f->ids[0]);
	gave_up(f, f->ids[2]);
	assert_int_equal(g_gave_up_lines, 1);
	g_clock += NS_LOG_WINDOW_S + 1;
	ns_log_flush(0); /* the window's end: its count line */
	assert_int_equal(g_gave_up_lines, 2);
	assert_non_null(strstr(g_last_line, "1 more like this"));
	ns_log_set_sink(NULL, NULL);
	ns_log_set_clock(NULL);
	read_builds(f);
	assert_int_equal(f->builds, n); /* not built again */
	assert_int_equal(read_forgets(f, got, MAX_IDS), 0);
	assert_int_equal(ns_engine_unacked(f->e), n - 2);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), n - 2);
	ns_engine_stats(f->e, &st);
	assert_int_equal(st.fragments_given_up, 2);
	char text[1024];
	ns_engine_stats_format(&st, text, sizeof text);
	assert_non_null(strstr(text, "\nfragments_given_up=2\n"));
	/* its ACK after all, or its ACK_TIMEOUT late: nothing left to do, nothing counted */
	from_peer(f->keyd, NS_IPC_KEYD, NS_IPC_T_ACK, f->ids[0]);
	spin(f);
	from_peer(f->netd, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT, f->ids[2]);
	spin(f);
	read_builds(f);
	assert_int_equal(f->builds, n);
	assert_int_equal(read_forgets(f, got, MAX_IDS), 1); /* the late timeout's own release */
	assert_int_equal(handover(f, got, MAX_IDS, &persisted), n - 2);
	assert_int_equal(persisted, n - 2);
	assert_false(id_in(f->ids[0], got, n - 2));
	assert_false(id_in(f->ids[2], got, n - 2));
	assert_true(id_in(f->ids[1], got, n - 2));
}

/* A GAVE_UP_FRAGMENT for a fragment already acked (the ack crossed netd's word) or unknown
 * changes nothing and is not counted; a queued fragment given up leaves its lane's depth. */
static void test_gave_up_unknown_or_queued(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	struct ns_engine_stats st;
	static const uint8_t unknown[5] = { 9, 9, 9, 9, 9 };
	frames_sent(f, 0, 1, false);
	from_peer(f->keyd, NS_IPC_KEYD, NS_IPC_T_ACK, f->ids[0]);
	spin(f);
	gave_up(f, f->ids[0]);
	gave_up(f, unknown);
	ns_engine_stats(f->e, &st);
	assert_int_equal(st.fragments_given_up, 0);
	assert_int_equal(ns_engine_unacked(f->e), n - 1);
	f->n_lane_sent = 0;
	gave_up(f, f->ids[1]); /* still queued: the lane's depth goes down, as when sent */
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), n - 2);
	assert_int_equal(f->n_lane_sent, 1);
	assert_int_equal(f->lane_sent[0], LANE);
	ns_engine_stats(f->e, &st);
	assert_int_equal(st.fragments_given_up, 1);
}

static void test_close_lane_moves_to_general(void **state)
{
	struct fixture *f = *state;
	size_t n = f->n_ids;
	frames_sent(f, 0, 1, false);
	ns_engine_close_lane(f->e, LANE);
	assert_int_equal(ns_engine_lane_depth(f->e, LANE), 0);
	assert_int_equal(ns_engine_lane_unacked(f->e, LANE), 0);
	assert_int_equal(ns_engine_lane_depth(f->e, 0), n - 1);
	assert_int_equal(ns_engine_lane_unacked(f->e, 0), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queued_until_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmission_not_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_built_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_lane_moves_to_general, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_rebuilds_no_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_timeout_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_rebuild_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gave_up_dropped_not_persisted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gave_up_unknown_or_queued, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
