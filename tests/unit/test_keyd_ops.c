/* The engine (common/engine/engine.c) and keyd's operations (keyd/keyd_ops.c) through their
 * host interface (common/ipc_host.h) alone: no socket, no libev. The test is the host of both
 * and plays netd and the network: a topology of three mix nodes and our gateway, each
 * SEALED_FRAME opened with the gateway's shared key, its Sphinx packet processed hop by hop,
 * the SURB-ack split off at the gateway and routed back, the client's part pushed back as
 * OPEN_FRAME. A 100 KB message to our own address arrives byte for byte and every fragment is
 * acknowledged; an anonymous message brings reply SURBs and a reply goes through them; keyd
 * reports a peer that breaks the protocol instead of exiting, and asks its host for timers.
 * Run again with a build runner (keyd_ops.h) that holds at most 3 jobs, builds the held ones
 * last-first and hands them back first-first, and with the chain construction: the same
 * messages arrive, never more than 3 jobs are out, each is handed back once.
 * The browser runs the same code the same way (tests/wasm/engine_test.mjs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "engine/engine.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "ipc_codec.h"
#include "keyd_ops.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "sphinx/sphinx.h"

#define N_NODES 4
#define QUEUE_MAX 200000
#define RUNNER_CAP 3

struct node {
	unsigned role;
	uint8_t secret[32], pub[32], identity[32], address[32];
};

/* A datagram in flight: encoded by the sender's host, decoded by the receiver's. */
struct item {
	enum ns_ipc_role to, from;
	size_t len;
	uint8_t *data;
};

static struct world {
	struct ns_engine *engine;
	struct nc_keyd *keyd;
	struct node nodes[N_NODES];
	struct ns_gw_key gw_key;
	struct item *q;
	size_t head, tail;
	uint8_t self[96];
	int have_self;
	uint8_t *got;
	size_t got_len, n_got;
	uint8_t got_tag[16];
	int got_has_tag;
	size_t frames, delivered, acks, lost, to_netd[NS_IPC_TYPE_LIMIT];
	unsigned timers_started;
	/* the deferred runner: jobs held in submit order, whether each was built yet */
	struct nc_keyd_job *held[RUNNER_CAP];
	int built[RUNNER_CAP];
	size_t n_held, max_held, jobs_submitted, jobs_done;
} W;

/* setup's variants: a deferred build runner and the chain construction; no topology yet */
static int g_deferred, g_no_topology;

static void enqueue(enum ns_ipc_role to, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	size_t len = 0;
	assert_int_equal(ns_ipc_accepts(to, from, m->type), 0);
	assert_int_equal(ns_ipc_encode(m, buf, sizeof buf, &len), 0);
	assert_true(W.tail < QUEUE_MAX);
	struct item *it = &W.q[W.tail++];
	it->to = to, it->from = from, it->len = len;
	it->data = malloc(len);
	assert_non_null(it->data);
	memcpy(it->data, buf, len);
}

static int engine_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	if (peer != NS_IPC_SUPERVISOR)
		enqueue(peer, NS_IPC_APID, m);
	return 0;
}

static int keyd_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	enqueue(peer, NS_IPC_KEYD, m);
	return 0;
}

static void keyd_timer_start(void *ctx, unsigned id, uint64_t after_ns, uint64_t repeat_ns)
{
	(void)ctx, (void)after_ns, (void)repeat_ns;
	if (id == NC_KEYD_TIMER_TICK)
		W.timers_started++;
}

static void keyd_timer_stop(void *ctx, unsigned id)
{
	(void)ctx, (void)id;
}

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *tag)
{
	(void)ctx;
	free(W.got);
	W.got = malloc(len ? len : 1);
	assert_non_null(W.got);
	memcpy(W.got, msg, len);
	W.got_len = len;
	W.n_got++;
	W.got_has_tag = tag != NULL;
	if (tag)
		memcpy(W.got_tag, tag, 16);
}

static void on_self_address(void *ctx, const uint8_t a[96])
{
	(void)ctx;
	memcpy(W.self, a, 96);
	W.have_self = 1;
}

static void on_shutdown(void *ctx)
{
	(void)ctx;
}

static const struct ns_engine_cb cb = { .on_message = on_message,
	                                .on_self_address = on_self_address,
	                                .on_shutdown = on_shutdown };

/* ---- the network stand-in */

static struct node *node_at(const uint8_t address[32])
{
	for (int i = 0; i < N_NODES; i++)
		if (!memcmp(W.nodes[i].address, address, 32))
			return &W.nodes[i];
	return NULL;
}

static void push(const uint8_t *msg, size_t len)
{
	static uint8_t frame[NS_IPC_FRAME_MAX];
	size_t n = 0;
	assert_int_equal(ns_gw_pushed_message_encode(&W.gw_key, msg, len, frame, sizeof frame, &n), 0);
	struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME };
	m.u.OPEN_FRAME.frame = NS_IPC_BYTES(frame, n);
	enqueue(NS_IPC_KEYD, NS_IPC_NETD, &m);
}

/* From the first hop to the gateway; then the client's part pushed, the SURB-ack routed. */
static void deliver(const uint8_t *packet, size_t len, const uint8_t first_hop[32], int is_ack)
{
	uint8_t *cur = malloc(len), *out = malloc(len);
	struct node *n = node_at(first_hop);
	struct sphinx_processed r;
	assert_true(cur && out);
	memcpy(cur, packet, len);
	for (int hops = 0; n && hops < 8; hops++) {
		if (sphinx_process(n->secret, cur, len, out, &r) != SPHINX_OK)
			break;
		if (r.flag == SPHINX_FLAG_FINAL) {
			size_t off = 0, plen = 0, rest_len = 0;
			const uint8_t *pt = out + SPHINX_HEADER_LEN, *ack = NULL, *rest = NULL;
			uint8_t hop[32];
			assert_int_equal(n->role, 4);
			assert_int_equal(sphinx_recover_plaintext(pt, len - SPHINX_HEADER_LEN, &off, &plen), 0);
			if (is_ack) {
				W.acks++;
				push(pt + off, plen);
			} else {
				assert_int_equal(nym_surb_ack_split(pt + off, plen, hop, &ack, &rest, &rest_len), 0);
				W.delivered++;
				push(rest, rest_len);
				deliver(ack, NYM_ACK_PACKET_LEN, hop, 1);
			}
			free(cur), free(out);
			return;
		}
		memcpy(cur, out, len);
		n = node_at(r.next_address);
	}
	W.lost++;
	free(cur), free(out);
}

static void netd_receives(const struct ns_ipc_msg *m)
{
	static uint8_t pt[NS_IPC_FRAME_MAX];
	W.to_netd[m->type]++;
	if (m->type != NS_IPC_T_SEALED_FRAME)
		return;
	const struct ns_ipc_SEALED_FRAME *s = &m->u.SEALED_FRAME;
	struct ns_gw_binary_request req;
	uint8_t hop[32];
	W.frames++;
	assert_true(ns_gw_binary_request_decode(&W.gw_key, s->frame.ptr, s->frame.len, pt, sizeof pt, &req) >= 0);
	assert_int_equal(req.kind, NS_GW_BIN_FORWARD_SPHINX_V2);
	assert_int_equal(nym_node_address_encode_padded(&req.packet.next_hop, hop), 0);
	static const uint8_t untracked[5];
	if (memcmp(s->frag_id.ptr, untracked, 5)) {
		struct ns_ipc_msg sent = { .type = NS_IPC_T_FRAMES_SENT };
		sent.u.FRAMES_SENT.frag_ids = s->frag_id;
		enqueue(NS_IPC_APID, NS_IPC_NETD, &sent);
	}
	deliver(req.packet.packet, req.packet.packet_len, hop, 0);
}

static void runner_submit(void *ctx, struct nc_keyd_job *job)
{
	(void)ctx;
	assert_true(W.n_held < RUNNER_CAP); /* keyd keeps the rest waiting */
	W.built[W.n_held] = 0;
	W.held[W.n_held++] = job;
	W.jobs_submitted++;
	if (W.n_held > W.max_held)
		W.max_held = W.n_held;
}

/* The held jobs built last-first, the oldest handed back (which may submit more). */
static int runner_step(void)
{
	if (!W.n_held)
		return 0;
	for (size_t i = W.n_held; i-- > 0;)
		if (!W.built[i]) {
			nc_keyd_job_run(W.held[i]);
			W.built[i] = 1;
		}
	struct nc_keyd_job *j = W.held[0];
	W.n_held--;
	memmove(W.held, W.held + 1, W.n_held * sizeof W.held[0]);
	memmove(W.built, W.built + 1, W.n_held * sizeof W.built[0]);
	W.jobs_done++;
	nc_keyd_job_done(W.keyd, j);
	return 1;
}

/* Delivers every datagram in flight, in order, as the hosts would (and the runner's jobs). */
static void run(void)
{
	while (W.head < W.tail || runner_step()) {
		struct item *it = &W.q[W.head++];
		struct ns_ipc_msg m;
		assert_int_equal(ns_ipc_decode(it->to, it->from, it->data, it->len, &m), 0);
		assert_int_not_equal(m.type, NS_IPC_T_BATCH); /* these hosts never cork */
		if (it->to == NS_IPC_KEYD)
			assert_int_equal(nc_keyd_deliver(W.keyd, it->from, &m), 0);
		else if (it->to == NS_IPC_APID)
			ns_engine_deliver(W.engine, it->from, &m);
		else
			netd_receives(&m);
		free(it->data);
		it->data = NULL;
	}
}

static void topology(void)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_PROTOCOL };
	m.u.GW_PROTOCOL.protocol = NS_GW_PROTOCOL_KEY_ROTATION;
	enqueue(NS_IPC_KEYD, NS_IPC_NETD, &m);
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_TOPOLOGY_BEGIN };
	m.u.TOPOLOGY_BEGIN.generation = 1;
	m.u.TOPOLOGY_BEGIN.nodes = N_NODES;
	enqueue(NS_IPC_KEYD, NS_IPC_NETD, &m);
	for (int i = 0; i < N_NODES; i++) {
		struct node *n = &W.nodes[i];
		m = (struct ns_ipc_msg){ .type = NS_IPC_T_TOPOLOGY_NODE };
		m.u.TOPOLOGY_NODE.generation = 1;
		m.u.TOPOLOGY_NODE.role = n->role;
		m.u.TOPOLOGY_NODE.node_id = 10 * n->role;
		m.u.TOPOLOGY_NODE.identity = NS_IPC_BYTES(n->identity, 32);
		m.u.TOPOLOGY_NODE.sphinx_key = NS_IPC_BYTES(n->pub, 32);
		m.u.TOPOLOGY_NODE.address = NS_IPC_BYTES(n->address, 32);
		enqueue(NS_IPC_KEYD, NS_IPC_NETD, &m);
	}
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_TOPOLOGY_END };
	m.u.TOPOLOGY_END.generation = 1;
	m.u.TOPOLOGY_END.nodes = N_NODES;
	enqueue(NS_IPC_KEYD, NS_IPC_NETD, &m);
}

static int setup(void **state)
{
	(void)state;
	struct nc_keyd_keys k;
	struct clientconf_debug d;
	uint8_t seed[32], sk[64];
	assert_int_equal(ns_crypto_init(), 0);
	memset(&W, 0, sizeof W);
	W.q = calloc(QUEUE_MAX, sizeof *W.q);
	assert_non_null(W.q);
	for (int i = 0; i < N_NODES; i++) {
		struct node *n = &W.nodes[i];
		n->role = (unsigned)i + 1;
		ns_random(n->secret, 32);
		ns_x25519_base(n->pub, n->secret);
		ns_random(seed, 32);
		ns_ed25519_from_seed(n->identity, sk, seed);
		n->address[0] = 4, n->address[1] = 0xa0, n->address[2] = (uint8_t)i;
		n->address[3] = 127, n->address[6] = 1;
	}
	memset(&k, 0, sizeof k);
	ns_random(k.identity_seed, 32);
	ns_random(k.encryption_sk, 32);
	ns_random(k.ack_key, 16);
	memcpy(k.gateway, W.nodes[3].identity, 32);
	ns_random(W.gw_key.bytes, 32);
	k.have_gw_key = 1;
	k.gw_key = W.gw_key;
	clientconf_debug_defaults(&d);
	struct ns_ipc_host kh = { .send = keyd_send, .timer_start = keyd_timer_start,
		                  .timer_stop = keyd_timer_stop };
	struct ns_ipc_host eh = { .send = engine_send };
	assert_non_null(W.keyd = nc_keyd_new(&k, &d, &kh, NULL, NULL));
	if (g_deferred) {
		struct nc_keyd_runner r = { .submit = runner_submit, .capacity = RUNNER_CAP };
		nc_keyd_set_runner(W.keyd, &r);
		nc_keyd_set_secrets(W.keyd, SPHINX_SECRETS_CHAIN);
	}
	assert_non_null(W.engine = ns_engine_new(&eh, "test", &cb, NULL));
	nc_keyd_start(W.keyd);
	if (!g_no_topology)
		topology();
	run();
	return 0;
}


static int teardown(void **state)
{
	(void)state;
	nc_keyd_free(W.keyd);
	ns_engine_destroy(W.engine);
	for (size_t i = W.head; i < W.tail; i++)
		free(W.q[i].data);
	free(W.q);
	free(W.got);
	return 0;
}

/* the group's state is replaced by one without a topology, and restored after */
static int setup_no_topology(void **state)
{
	teardown(state);
	g_no_topology = 1;
	int rc = setup(state);
	g_no_topology = 0;
	return rc;
}

static int teardown_no_topology(void **state)
{
	teardown(state);
	return setup(state);
}

static void test_100k_to_self(void **state)
{
	(void)state;
	assert_true(W.have_self);
	assert_memory_equal(W.self + 64, W.nodes[3].identity, 32);
	assert_int_equal(W.timers_started, 1);
	size_t len = 100 * 1024;
	uint8_t *msg = malloc(len);
	assert_non_null(msg);
	ns_random(msg, len);
	assert_int_equal(ns_engine_send(W.engine, W.self, msg, len, 0, NULL, NULL), 0);
	run();
	assert_int_equal(W.n_got, 1);
	assert_int_equal(W.got_len, len);
	assert_memory_equal(W.got, msg, len);
	assert_false(W.got_has_tag);
	assert_true(W.frames >= 40);
	assert_int_equal(W.delivered, W.frames);
	assert_int_equal(W.acks, W.frames);
	assert_int_equal(W.lost, 0);
	assert_int_equal(W.to_netd[NS_IPC_T_ACK], W.frames);
	assert_int_equal(ns_engine_unacked(W.engine), 0);
	free(msg);
}

static void test_anonymous_and_reply(void **state)
{
	(void)state;
	static const uint8_t question[] = "who is there?";
	uint8_t answer[3000], tag[16];
	ns_random(answer, sizeof answer);
	W.n_got = 0;
	assert_int_equal(ns_engine_send_anonymous(W.engine, W.self, question, sizeof question, 20, 0,
	                                          NULL, NULL), 0);
	run();
	assert_int_equal(W.n_got, 1);
	assert_int_equal(W.got_len, sizeof question);
	assert_memory_equal(W.got, question, sizeof question);
	assert_true(W.got_has_tag);
	memcpy(tag, W.got_tag, 16);
	assert_int_equal(ns_engine_reply(W.engine, tag, answer, sizeof answer, 0), 0);
	run();
	assert_int_equal(W.n_got, 2);
	assert_int_equal(W.got_len, sizeof answer);
	assert_memory_equal(W.got, answer, sizeof answer);
	assert_false(W.got_has_tag);
	assert_int_equal(ns_engine_unacked(W.engine), 0);
	struct ns_engine_stats st;
	ns_engine_stats(W.engine, &st);
	assert_int_equal(st.anonymous_sent, 1);
	assert_int_equal(st.replies_sent, 1);
}

/* An anonymous message sent before keyd has a topology (an app's first message right after the
 * start) waits for it: its MAKE_SURBS is answered once the topology came, not with an empty
 * list that drops the message. */
static void test_anonymous_before_topology(void **state)
{
	(void)state;
	static const uint8_t early[] = "before the topology";
	assert_true(W.have_self);
	W.n_got = 0;
	assert_int_equal(ns_engine_send_anonymous(W.engine, W.self, early, sizeof early, 5, 0, NULL, NULL), 0);
	run();
	assert_int_equal(W.n_got, 0);
	assert_int_equal(W.frames, 0);
	topology();
	run();
	assert_int_equal(W.n_got, 1);
	assert_int_equal(W.got_len, sizeof early);
	assert_memory_equal(W.got, early, sizeof early);
	assert_true(W.got_has_tag);
	struct ns_engine_stats st;
	ns_engine_stats(W.engine, &st);
	assert_int_equal(st.anonymous_sent, 1);
	assert_true(st.surbs_sent >= 5); /* and any the receiving side asked for after */
	assert_int_equal(ns_engine_unacked(W.engine), 0);
}

/* What keyd exits on natively comes back as an error here, and sticks. */
static void test_protocol_error_reported(void **state)
{
	(void)state;
	uint8_t other[32];
	ns_random(other, sizeof other);
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_START };
	m.u.GW_HANDSHAKE_START.gateway_identity = NS_IPC_BYTES(other, 32);
	m.u.GW_HANDSHAKE_START.protocol = NS_GW_PROTOCOL_CURRENT;
	assert_int_equal(nc_keyd_deliver(W.keyd, NS_IPC_NETD, &m), -1);
	assert_non_null(strstr(nc_keyd_error(W.keyd), "not configured for"));
	struct ns_ipc_msg p = { .type = NS_IPC_T_GW_PROTOCOL };
	p.u.GW_PROTOCOL.protocol = 5;
	assert_int_equal(nc_keyd_deliver(W.keyd, NS_IPC_NETD, &p), -1);
}

/* A world of its own in place of the group's (which is back for the group's teardown). */
static int setup_deferred(void **state)
{
	teardown(state);
	g_deferred = 1;
	return setup(state);
}

static int teardown_deferred(void **state)
{
	while (runner_step())
		;
	teardown(state);
	g_deferred = 0;
	return setup(state);
}

/* 100 KB to self and an anonymous message with a reply, every build through the runner. */
static void test_deferred_runner(void **state)
{
	test_100k_to_self(state);
	size_t after_first = W.jobs_submitted;
	assert_true(after_first >= W.frames); /* every BUILD_PACKET became a job */
	test_anonymous_and_reply(state);
	assert_true(W.jobs_submitted > after_first); /* the reply's fragments too */
	assert_int_equal(W.n_held, 0);
	assert_int_equal(W.jobs_done, W.jobs_submitted);
	assert_int_equal(W.max_held, RUNNER_CAP);
}

static void test_handled_types(void **state)
{
	(void)state;
	assert_true(nc_keyd_handles(NS_IPC_T_BUILD_PACKET));
	assert_true(nc_keyd_handles(NS_IPC_T_OPEN_FRAME));
	assert_false(nc_keyd_handles(NS_IPC_T_SHUTDOWN)); /* the host's */
	assert_false(nc_keyd_handles(NS_IPC_T_FRAGMENT));
	assert_true(ns_engine_handles(NS_IPC_T_FRAGMENT));
	assert_false(ns_engine_handles(NS_IPC_T_STATUS_REPLY)); /* engine_ev.c's */
	assert_false(ns_engine_handles(NS_IPC_TYPE_LIMIT + 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handled_types),
		cmocka_unit_test(test_100k_to_self),
		cmocka_unit_test(test_anonymous_and_reply),
		cmocka_unit_test_setup_teardown(test_anonymous_before_topology, setup_no_topology, teardown_no_topology),
		cmocka_unit_test(test_protocol_error_reported),
		cmocka_unit_test_setup_teardown(test_deferred_runner, setup_deferred, teardown_deferred),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
