/* netd's operations (netd_ops.h). keyd's sealed frames are queued opaque in gwclient
 * (ns_gwc_send_sealed): gwclient confirms and resends them unchanged after a reconnection
 * (the shared key outlives the session), and no key reaches netd. keyd learns the protocol the
 * gateway answered with (GW_PROTOCOL) and picks the frame kind; netd reads the kind back from
 * the frame's clear first byte. */
#include "netd_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base58.h"
#include "gateway/frames.h"
#include "gwclient.h"
#include "log.h"
#include "topology_json.h"
#include "traffic.h"

#define RETX_MAX 4096
#define POOL_MAX 16  /* sealed cover frames kept per kind */
#define POOL_LOW 8   /* ask keyd for more below this */
#define ROLE "netd"

enum op_kind { OP_NONE = 0, OP_H1, OP_H3, OP_FINISH, OP_AUTH };
enum fetch_phase { FETCH_NONE = 0, FETCH_FIRST_KEYROT, FETCH_FIRST_TOPOLOGY, FETCH_REFRESH };

struct out_frame {
	uint8_t frag_id[5];
	size_t len;
	uint8_t frame[];
};

/* Ids of real frames that left the traffic queue, for the front's lane depths. */
struct sent_batch {
	uint8_t ids[NS_IPC_SENT_MAX_BATCH * 5];
	size_t n;
};

struct netd_ops {
	struct netd_host h;
	const struct clientconf *conf;
	uint8_t gateway_id[32];
	char *gateway_url;
	int registered, fixed_topology, started;
	const char *error;
	struct ns_gwc *gw;
	struct ns_traffic *traffic;
	int traffic_timer_on;
	uint64_t traffic_armed; /* the deadline the traffic timer is set for */
	enum op_kind op;
	uint64_t op_id;
	struct out_frame *pool[2][POOL_MAX]; /* [NS_IPC_COVER_STREAM / _LOOP] */
	size_t pool_len[2], pool_asked[2];
	int pool_wanted[2]; /* by NS_IPC_COVER_STREAM / _LOOP: that stream runs */
	struct ns_apis api;
	struct ns_fetch fetch;
	enum fetch_phase fetching;
	unsigned http_req;
	char http_url[CLIENTCONF_URL_MAX + 128]; /* of GET http_req */
	uint64_t topo_generation, topo_failures;
	size_t topo_nodes;
	uint64_t topo_at_ns;
	unsigned conn;            /* the current gateway websocket, 0 none */
	unsigned conns;           /* websockets opened */
	char connect_why[128];
	unsigned protocol_sent;   /* last GW_PROTOCOL value, 0 = none this connection */
	int fail_err;             /* the gateway failure logged last, and how often it came again */
	char fail_text[128];
	unsigned fail_repeats;
	uint64_t handshake_failures, cover_sent, frames_in, frames_out;
	uint64_t forgotten; /* FORGET_FRAGMENTs that released a slot or a pending ack */
	uint8_t retx[RETX_MAX][5];
	size_t n_retx;
	struct sent_batch sent[2]; /* [dropped]: ids for the next FRAMES_SENT */
	int flush_armed;
	uint64_t summary_last[6];
	uint64_t summary_next_ns;
};

/* ---- host calls */

static void send_to(struct netd_ops *n, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	int rc = n->h.ipc.send(n->h.ipc.ctx, peer, m);
	if (rc < 0)
		ns_log_rl(NS_LOG_ERROR, ROLE, "send %s to %s: %s", ns_ipc_type_name(m->type),
		          ns_ipc_role_name(peer), ns_ipc_strerror(rc));
}

static void to_keyd(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	send_to(n, NS_IPC_KEYD, m);
}

static void to_apid(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	send_to(n, NS_IPC_APID, m);
}

static void timer_start(struct netd_ops *n, unsigned id, uint64_t after_ns, uint64_t repeat_ns)
{
	n->h.ipc.timer_start(n->h.ipc.ctx, id, after_ns, repeat_ns);
}

static void timer_stop(struct netd_ops *n, unsigned id)
{
	n->h.ipc.timer_stop(n->h.ipc.ctx, id);
}

static uint64_t now_ns(const struct netd_ops *n)
{
	return n->h.now_ns(n->h.ctx);
}

static void tell_state(struct netd_ops *n, const char *name, const char *detail)
{
	if (n->h.state)
		n->h.state(n->h.ctx, name, detail ? detail : "");
}

/* ---- topology */

static void send_topo_node(struct netd_ops *n, uint64_t gen, unsigned role,
                           const struct nym_topo_node *t)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_TOPOLOGY_NODE };
	m.u.TOPOLOGY_NODE.generation = gen;
	m.u.TOPOLOGY_NODE.role = role;
	m.u.TOPOLOGY_NODE.node_id = t->node_id;
	m.u.TOPOLOGY_NODE.identity = NS_IPC_BYTES(t->identity, 32);
	m.u.TOPOLOGY_NODE.sphinx_key = NS_IPC_BYTES(t->sphinx_key, 32);
	m.u.TOPOLOGY_NODE.address = NS_IPC_BYTES(t->address, 32);
	to_keyd(n, &m);
}

static size_t topology_nodes(const struct ns_topo *t)
{
	size_t total = t->topology.n_gateways;
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		total += t->topology.layer_len[i];
	return total;
}

static int send_topology(struct netd_ops *n, const struct ns_topo *t, uint64_t gen)
{
	const struct nym_topology *tp = &t->topology;
	size_t total = topology_nodes(t);
	if (total > NS_IPC_TOPO_MAX_NODES)
		return -1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_TOPOLOGY_BEGIN };
	m.u.TOPOLOGY_BEGIN.generation = gen;
	m.u.TOPOLOGY_BEGIN.key_rotation_id = tp->key_rotation_id;
	m.u.TOPOLOGY_BEGIN.nodes = total;
	to_keyd(n, &m);
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		for (size_t j = 0; j < tp->layer_len[i]; j++)
			send_topo_node(n, gen, (unsigned)i + 1, &tp->layer[i][j]);
	for (size_t j = 0; j < tp->n_gateways; j++)
		send_topo_node(n, gen, NS_IPC_TOPO_GATEWAY, &tp->gateways[j]);
	struct ns_ipc_msg e = { .type = NS_IPC_T_TOPOLOGY_END };
	e.u.TOPOLOGY_END.generation = gen;
	e.u.TOPOLOGY_END.nodes = total;
	to_keyd(n, &e);
	return 0;
}

/* Sends keyd a new generation and records it for STATUS_REPLY. */
static int use_topology(struct netd_ops *n, const struct ns_topo *t)
{
	if (send_topology(n, t, n->topo_generation + 1) < 0)
		return -1;
	n->topo_generation++;
	n->topo_nodes = topology_nodes(t);
	n->topo_at_ns = now_ns(n);
	return 0;
}

int netd_ops_set_topology(struct netd_ops *n, const struct ns_topo *t)
{
	if (!nym_topology_gateway(&t->topology, n->gateway_id)) {
		ns_log(NS_LOG_ERROR, ROLE, "our gateway is not in the topology from %s",
		       n->fixed_topology ? "the topology file" : ns_apis_url(&n->api));
		return -1;
	}
	if (use_topology(n, t) < 0) {
		ns_log(NS_LOG_ERROR, ROLE, "the topology has too many nodes");
		return -1;
	}
	return 0;
}

size_t netd_ops_topology_nodes(const struct netd_ops *n)
{
	return n->topo_nodes;
}

void netd_ops_surb_cutoff(struct netd_ops *n, const struct ns_nymapi_keyrot *kr)
{
	int64_t cutoff = ns_nymapi_surb_cutoff(kr, (int64_t)time(NULL));
	if (cutoff > 0) {
		struct ns_ipc_msg c = { .type = NS_IPC_T_SURB_CUTOFF };
		c.u.SURB_CUTOFF.before = (uint64_t)cutoff;
		to_keyd(n, &c);
	}
}

struct ns_apis *netd_ops_apis(struct netd_ops *n)
{
	return &n->api;
}

/* ---- nym-api fetches: one GET at a time through the host (common/nymapi_fetch.h's machine);
 * the first topology (when the host did not give one) and the periodic refresh, which keeps
 * the old topology on failure. */

static int start_engines(struct netd_ops *n);
static void fetch_step(struct netd_ops *n);

static void refresh_done(struct netd_ops *n)
{
	struct ns_fetch *f = &n->fetch;
	if (f->done == 1) {
		if (use_topology(n, &f->topo) < 0)
			ns_log(NS_LOG_WARN, ROLE, "the topology has too many nodes: kept the old one");
	} else {
		n->topo_failures++;
		ns_log(NS_LOG_WARN, ROLE, "topology refresh failed: kept generation %llu (%s)",
		       (unsigned long long)n->topo_generation, f->err);
	}
}

static void first_failed(struct netd_ops *n, const char *what)
{
	char why[600];
	snprintf(why, sizeof why, "%s: %s", what, n->fetch.err);
	ns_log(NS_LOG_ERROR, ROLE, "%s", why);
	tell_state(n, "failed", why);
}

/* The browser's start: key-rotation info (Nym aborts start-up without it), then a topology
 * holding our gateway, then the gateway session. */
static void first_done(struct netd_ops *n, enum fetch_phase phase)
{
	struct ns_fetch *f = &n->fetch;
	if (f->done != 1) {
		first_failed(n, phase == FETCH_FIRST_KEYROT ? "key rotation info" : "topology");
		return;
	}
	if (phase == FETCH_FIRST_KEYROT) {
		netd_ops_surb_cutoff(n, &f->keyrot);
		ns_fetch_free(f);
		n->fetching = FETCH_FIRST_TOPOLOGY;
		ns_fetch_begin(f, &n->api, NS_FETCH_TOPOLOGY);
		fetch_step(n);
		return;
	}
	if (netd_ops_set_topology(n, &f->topo) < 0) {
		tell_state(n, "failed", "our gateway is not in the topology");
		return;
	}
	ns_log(NS_LOG_INFO, ROLE, "topology generation 1 from %s: %zu nodes", ns_apis_url(&n->api),
	       n->topo_nodes);
	if (start_engines(n) < 0)
		tell_state(n, "failed", "cannot start the gateway session");
}

static void fetch_over(struct netd_ops *n)
{
	enum fetch_phase phase = n->fetching;
	n->fetching = FETCH_NONE;
	if (phase == FETCH_REFRESH)
		refresh_done(n);
	else
		first_done(n, phase);
	if (n->fetching == FETCH_NONE)
		ns_fetch_free(&n->fetch);
}

static void fetch_step(struct netd_ops *n)
{
	char err[256];
	while (ns_fetch_next(&n->fetch, n->http_url, sizeof n->http_url)) {
		unsigned req = ++n->http_req;
		err[0] = 0;
		if (n->h.http_get(n->h.ctx, req, n->http_url, err, sizeof err) == 0)
			return;
		ns_fetch_feed(&n->fetch, n->http_url, NULL, 0, err[0] ? err : "cannot fetch");
	}
	fetch_over(n);
}

static void begin_fetch(struct netd_ops *n, enum fetch_phase phase, enum ns_fetch_mode mode)
{
	n->fetching = phase;
	ns_fetch_begin(&n->fetch, &n->api, mode);
	fetch_step(n);
}

void netd_ops_http_response(struct netd_ops *n, unsigned req, unsigned status, const char *body,
                            size_t len, const char *err)
{
	char why[64];
	if (!n->fetching || req != n->http_req)
		return; /* not the GET we wait for */
	if (status != 0 && (status < 200 || status > 299)) {
		snprintf(why, sizeof why, "HTTP status %u", status);
		body = NULL, err = why;
	} else if (status == 0) {
		body = NULL;
		err = err && err[0] ? err : "no answer";
	}
	n->http_req++; /* a second answer to it is stale */
	ns_fetch_feed(&n->fetch, n->http_url, body, body ? len : 0, err);
	fetch_step(n);
}

static void on_topology_timer(struct netd_ops *n)
{
	if (n->fetching)
		return; /* the last one is still running */
	begin_fetch(n, FETCH_REFRESH, NS_FETCH_TOPOLOGY);
}

/* ---- gateway session ops: IPC round trips to keyd */

static int start_op(struct netd_ops *n, enum op_kind k, uint64_t id)
{
	n->op = k;
	n->op_id = id;
	return 0;
}

static void finish_op(struct netd_ops *n, enum op_kind k, const uint8_t *out, size_t len)
{
	if (n->op != k) {
		ns_log(NS_LOG_WARN, ROLE, "keyd answered an operation that was not asked: ignored");
		return;
	}
	n->op = OP_NONE;
	ns_gwc_op_done(n->gw, n->op_id, 0, out, len);
}

static int op_hs_h1(void *ctx, struct ns_gwc *c, uint64_t id, int aes)
{
	(void)c;
	struct netd_ops *n = ctx;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_START };
	m.u.GW_HANDSHAKE_START.gateway_identity = NS_IPC_BYTES(n->gateway_id, 32);
	m.u.GW_HANDSHAKE_START.protocol = aes ? 3 : 1;
	m.u.GW_HANDSHAKE_START.fresh = true;
	to_keyd(n, &m);
	return start_op(n, OP_H1, id);
}

static int send_hs_in(struct netd_ops *n, enum op_kind k, uint64_t id, const uint8_t *msg,
                      size_t len)
{
	if (len < 1 || len > NS_IPC_HS_MSG_MAX)
		return -1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_IN };
	m.u.GW_HANDSHAKE_IN.message = NS_IPC_BYTES(msg, len);
	to_keyd(n, &m);
	return start_op(n, k, id);
}

static int op_hs_h3(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h2, size_t len)
{
	(void)c;
	return send_hs_in(ctx, OP_H3, id, h2, len);
}

/* Done when keyd reports the stored key (GW_SESSION_READY); gwclient holds the gateway's
 * `register` answer until then. If H4 is bad keyd says GW_HANDSHAKE_FAILED and the
 * connection is dropped (or gwclient's response timeout starts a new one). */
static int op_hs_finish(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h4, size_t len)
{
	(void)c;
	return send_hs_in(ctx, OP_FINISH, id, h4, len);
}

static int op_auth(void *ctx, struct ns_gwc *c, uint64_t id, int v2, uint8_t protocol)
{
	(void)c;
	struct netd_ops *n = ctx;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_AUTH_REQUEST };
	m.u.GW_AUTH_REQUEST.gateway_identity = NS_IPC_BYTES(n->gateway_id, 32);
	m.u.GW_AUTH_REQUEST.protocol = protocol;
	m.u.GW_AUTH_REQUEST.timestamp = v2 ? (uint64_t)time(NULL) : 0;
	to_keyd(n, &m);
	return start_op(n, OP_AUTH, id);
}

/* Receive batching ([nymsuite] receive_batch_delay, T): a frame that comes while no hold runs
 * starts one. The host leaves the gateway socket unread for T, keeps the frames for keyd
 * corked meanwhile, then reads what came and hands it all to keyd as one BATCH datagram, so
 * netd, keyd and the front wake once for a burst, its first frame included. */
static void hold_gateway_reads(struct netd_ops *n)
{
	uint64_t t = n->conf->receive_batch_ns;
	if (t > 0 && n->conn && n->h.ws_hold_reads)
		n->h.ws_hold_reads(n->h.ctx, n->conn, (double)t / 1e9);
}

static int op_open(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *frame, size_t len)
{
	struct netd_ops *n = ctx;
	if (len >= 1 && len <= NS_IPC_FRAME_MAX) {
		struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME };
		m.u.OPEN_FRAME.frame = NS_IPC_BYTES(frame, len);
		to_keyd(n, &m);
		ns_log(NS_LOG_TRACE, ROLE, "frame of %zu bytes from the gateway", len);
		n->frames_in++;
		hold_gateway_reads(n);
	}
	ns_gwc_op_done(c, id, 0, NULL, 0); /* keyd opens it; nothing comes back here */
	return 0;
}

static const struct ns_gwc_ops gw_ops = { .hs_h1 = op_hs_h1, .hs_h3 = op_hs_h3,
	                                  .hs_finish = op_hs_finish, .auth_request = op_auth,
	                                  .open = op_open };

static void on_hs_out(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	const struct ns_ipc_bytes *b = &m->u.GW_HANDSHAKE_OUT.message;
	finish_op(n, n->op == OP_H3 ? OP_H3 : OP_H1, b->ptr, b->len);
}

static void on_session_ready(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	ns_log(NS_LOG_INFO, ROLE, "keyd holds the new gateway key (protocol %llu)",
	       (unsigned long long)m->u.GW_SESSION_READY.protocol);
	finish_op(n, OP_FINISH, NULL, 0);
}

static void on_auth_text(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	finish_op(n, OP_AUTH, m->u.GW_AUTH_TEXT.text.ptr, m->u.GW_AUTH_TEXT.text.len);
}

/* ---- the traffic engine's timer */

static void rearm(struct netd_ops *n)
{
	if (!n->traffic || !n->started)
		return;
	uint64_t next = ns_traffic_next_deadline(n->traffic);
	if (n->traffic_timer_on && next == n->traffic_armed)
		return; /* set for that already */
	n->traffic_timer_on = next != UINT64_MAX;
	n->traffic_armed = next;
	if (next == UINT64_MAX) {
		timer_stop(n, NETD_TIMER_TRAFFIC);
		return;
	}
	uint64_t now = ns_traffic_now(n->traffic);
	timer_start(n, NETD_TIMER_TRAFFIC, next > now ? next - now : 0, 0);
}

static void on_traffic_timer(struct netd_ops *n)
{
	n->traffic_timer_on = 0;
	ns_traffic_run(n->traffic);
	rearm(n);
}

/* ---- send path: sealed frames through the traffic engine into gwclient */

static struct ns_lane lane_of(uint64_t v)
{
	struct ns_lane l = { NS_LANE_GENERAL, 0 };
	if (v) {
		l.kind = NS_LANE_CONNECTION;
		l.conn_id = v - 1;
	}
	return l;
}

/* The kind keyd sealed: the clear first byte of an AES-GCM-SIV frame (kind, flag 1). A legacy
 * frame has no kind byte and counts as kind 1; misreading one as kind 2 only matters to
 * gwclient's "void after a downgrade" rule, and the ack timer covers that. ids are for
 * on_sealed_dropped's log. */
static int queue_frame(struct netd_ops *n, const struct out_frame *f)
{
	uint8_t kind = f->len > 14 && f->frame[0] == NS_GW_BIN_FORWARD_SPHINX_V2 && f->frame[1] == 1
	                       ? NS_GW_BIN_FORWARD_SPHINX_V2
	                       : NS_GW_BIN_FORWARD_SPHINX;
	return ns_gwc_send_sealed(n->gw, kind, f->frame, f->len, n->frames_out + n->cover_sent);
}

/* ---- FRAMES_SENT: which real frames left the queue, in batches sent when full and once the
 * events of this turn are handled (one message per turn, not one per frame) */

static void flush_sent(struct netd_ops *n, int dropped)
{
	struct sent_batch *b = &n->sent[dropped];
	if (!b->n)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_FRAMES_SENT };
	m.u.FRAMES_SENT.frag_ids = NS_IPC_BYTES(b->ids, b->n * 5);
	m.u.FRAMES_SENT.dropped = dropped != 0;
	to_apid(n, &m);
	b->n = 0;
}

static void left_queue(struct netd_ops *n, const uint8_t frag_id[5], int dropped)
{
	struct sent_batch *b = &n->sent[dropped];
	memcpy(b->ids + b->n * 5, frag_id, 5);
	if (++b->n == NS_IPC_SENT_MAX_BATCH)
		flush_sent(n, dropped);
	if (!n->flush_armed) {
		n->flush_armed = 1;
		timer_start(n, NETD_TIMER_FLUSH, 0, 0);
	}
}

static int hook_send_real(void *ctx, const struct ns_lane *lane, void *packet)
{
	(void)lane;
	struct netd_ops *n = ctx;
	struct out_frame *f = packet;
	int rc = queue_frame(n, f);
	if (rc == NS_GWC_E_QUEUE_FULL)
		return NS_TRAFFIC_BUSY;
	if (rc < 0)
		ns_log(NS_LOG_WARN, ROLE, "gateway queue: %s", ns_gwc_strerror(rc));
	left_queue(n, f->frag_id, 0);
	ns_log(NS_LOG_TRACE, ROLE, "real frame of %zu bytes to the gateway", f->len);
	free(f);
	n->frames_out++;
	return 0;
}

static void pool_refill(struct netd_ops *n, int kind)
{
	if (!n->pool_wanted[kind])
		return;
	size_t have = n->pool_len[kind] + n->pool_asked[kind];
	if (have >= POOL_LOW)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_COVER_REQUEST };
	m.u.COVER_REQUEST.count = POOL_MAX - have;
	m.u.COVER_REQUEST.kind = (uint64_t)kind;
	to_keyd(n, &m);
	n->pool_asked[kind] = POOL_MAX - n->pool_len[kind];
}

/* Once a minute at most, and only when real traffic moved: one line of what moved (the
 * counters of STATS); the counts of rate-limited lines every second. */
static void log_tick(struct netd_ops *n)
{
	/* the first four are what counts as something happening; the cover stream always runs */
	static const char *const names[] = { "real_sent", "acks", "retransmissions", "reconnects",
		                             "frames_in", "cover_sent" };
	char line[256];
	uint64_t now = now_ns(n);
	ns_log_flush(0);
	if (now < n->summary_next_ns)
		return;
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	ns_gwc_get_status(n->gw, &st);
	ns_traffic_get_stats(n->traffic, &ts);
	uint64_t v[6] = { ts.real_sent, ts.acks_received, ts.retransmit_requests, st.reconnects,
		          n->frames_in, n->cover_sent };
	if (n->summary_next_ns != 0 &&
	    ns_log_summary_line(names, v, n->summary_last, 6, 4, line, sizeof line))
		ns_log(NS_LOG_INFO, ROLE, "in the last %.0f s: %s", NS_LOG_SUMMARY_S, line);
	else if (n->summary_next_ns == 0)
		memcpy(n->summary_last, v, sizeof v);
	n->summary_next_ns = now + (uint64_t)(NS_LOG_SUMMARY_S * 1e9);
}

/* keyd sends nothing while it has no session or topology: ask again now and then. */
static void on_pool_timer(struct netd_ops *n)
{
	log_tick(n);
	for (int k = 0; k < 2; k++) {
		n->pool_asked[k] = 0;
		pool_refill(n, k);
	}
}

static int hook_send_cover(void *ctx, enum ns_cover_kind kind, uint64_t delay, int secondary)
{
	(void)delay, (void)secondary;
	struct netd_ops *n = ctx;
	int k = kind == NS_COVER_LOOP_STREAM ? NS_IPC_COVER_LOOP : NS_IPC_COVER_STREAM;
	if (!n->pool_len[k] || ns_gwc_state(n->gw) != NS_GWC_READY) {
		pool_refill(n, k);
		return NS_TRAFFIC_BUSY;
	}
	struct out_frame *f = n->pool[k][n->pool_len[k] - 1];
	if (queue_frame(n, f) < 0)
		return NS_TRAFFIC_BUSY;
	free(f);
	n->pool_len[k]--;
	n->cover_sent++;
	pool_refill(n, k);
	return 0;
}

static void hook_retransmit(void *ctx, const uint8_t frag_id[5], uint32_t so_far)
{
	(void)so_far;
	struct netd_ops *n = ctx;
	if (n->n_retx >= RETX_MAX) {
		ns_traffic_retransmit_failed(n->traffic, frag_id);
		return;
	}
	memcpy(n->retx[n->n_retx++], frag_id, 5);
	struct ns_ipc_msg m = { .type = NS_IPC_T_ACK_TIMEOUT };
	m.u.ACK_TIMEOUT.frag_id = NS_IPC_BYTES(frag_id, 5);
	to_apid(n, &m);
}

/* The fragment's ack timer fired at its retransmission limit: the traffic table forgot it (as
 * Nym forgets the pending ack, quietly), and the front, which keeps the fragment until its
 * ack, must drop it too or it would be kept, and persisted at the stop, for ever. */
static void hook_abandoned(void *ctx, const uint8_t frag_id[5])
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_GAVE_UP_FRAGMENT };
	m.u.GAVE_UP_FRAGMENT.frag_id = NS_IPC_BYTES(frag_id, 5);
	to_apid(ctx, &m);
}

static void hook_dropped(void *ctx, const struct ns_lane *lane, void *packet,
                         enum ns_drop_reason why)
{
	(void)lane;
	struct out_frame *f = packet;
	if (why != NS_DROP_SHUTDOWN)
		left_queue(ctx, f->frag_id, 1);
	free(f);
}

static void hook_schedule(void *ctx)
{
	rearm(ctx);
}

static uint64_t hook_now(void *ctx)
{
	return now_ns(ctx);
}

static int take_retx(struct netd_ops *n, const uint8_t frag_id[5])
{
	for (size_t i = 0; i < n->n_retx; i++)
		if (!memcmp(n->retx[i], frag_id, 5)) {
			memmove(n->retx[i], n->retx[n->n_retx - 1], 5);
			n->n_retx--;
			return 1;
		}
	return 0;
}

static struct out_frame *frame_copy(const uint8_t frag_id[5], const struct ns_ipc_bytes *b)
{
	struct out_frame *f = malloc(sizeof *f + b->len);
	if (!f)
		return NULL;
	memcpy(f->frag_id, frag_id, 5);
	f->len = b->len;
	memcpy(f->frame, b->ptr, f->len);
	return f;
}

static void on_sealed_frame(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	const struct ns_ipc_SEALED_FRAME *s = &m->u.SEALED_FRAME;
	struct out_frame *f = frame_copy(s->frag_id.ptr, &s->frame);
	if (!f) {
		n->error = "out of memory";
		return;
	}
	uint64_t delay_ns = s->expected_delay_ms * 1000000;
	static const uint8_t untracked[5]; /* keyd's SurbRequests: keyd waits for their acks */
	int rc;
	if (take_retx(n, f->frag_id)) {
		rc = ns_traffic_retransmit_ready(n->traffic, f->frag_id, f, delay_ns);
	} else {
		struct ns_traffic_item it = { .packet = f, .total_delay_ns = delay_ns,
			                      .has_frag_id = memcmp(f->frag_id, untracked, 5) != 0,
			                      .max_retransmissions = NS_TRAFFIC_UNLIMITED };
		memcpy(it.frag_id, f->frag_id, 5);
		struct ns_lane lane = lane_of(s->lane);
		rc = ns_traffic_enqueue(n->traffic, &lane, &it, 1);
	}
	/* UNKNOWN: its ack came while the rebuilt frame was on its way; nothing to send */
	if (rc < 0 && rc != NS_TRAFFIC_E_UNKNOWN)
		ns_log_rl(NS_LOG_WARN, ROLE, "traffic queue refused a frame (%d): dropped", rc);
	if (rc < 0)
		free(f);
	rearm(n);
}

static void on_ack(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	ns_traffic_ack(n->traffic, m->u.ACK.frag_id.ptr);
	rearm(n);
}

/* The front gave the fragment up: without this its pending ack (waiting for a rebuild that
 * never comes) and its retransmission slot would be held for the rest of the run, and a full
 * slot table stops every retransmission. */
static void on_forget_fragment(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	const uint8_t *id = m->u.FORGET_FRAGMENT.frag_id.ptr;
	int slot = take_retx(n, id), pending = ns_traffic_forget(n->traffic, id);
	n->forgotten += slot || pending;
	rearm(n);
}

static void on_cover_frame(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	static const uint8_t none[5];
	int k = m->u.COVER_FRAME.kind == NS_IPC_COVER_LOOP ? NS_IPC_COVER_LOOP : NS_IPC_COVER_STREAM;
	if (n->pool_asked[k])
		n->pool_asked[k]--;
	if (n->pool_len[k] >= POOL_MAX)
		return; /* more than we asked for: drop it */
	struct out_frame *f = frame_copy(none, &m->u.COVER_FRAME.frame);
	if (!f) {
		n->error = "out of memory";
		return;
	}
	n->pool[k][n->pool_len[k]++] = f;
}

/* ---- gateway transport: the host's websocket, named by a connection number */

static void *tr_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	struct netd_ops *n = tctx;
	n->protocol_sent = 0;
	unsigned conn = ++n->conns ? n->conns : ++n->conns;
	n->connect_why[0] = 0;
	if (n->h.ws_open(n->h.ctx, conn, url, n->connect_why, sizeof n->connect_why) < 0) {
		ns_gwc_tr_connect_failed(c, n->connect_why[0] ? n->connect_why : "cannot connect");
		return NULL;
	}
	n->conn = conn;
	return (void *)(uintptr_t)conn;
}

static int tr_send(void *tctx, void *h, int binary, const uint8_t *data, size_t len)
{
	struct netd_ops *n = tctx;
	return n->h.ws_send(n->h.ctx, (unsigned)(uintptr_t)h, binary, data, len);
}

static int tr_ping(void *tctx, void *h)
{
	struct netd_ops *n = tctx;
	return n->h.ws_ping(n->h.ctx, (unsigned)(uintptr_t)h);
}

static void tr_close(void *tctx, void *h, int graceful)
{
	struct netd_ops *n = tctx;
	unsigned conn = (unsigned)(uintptr_t)h;
	if (conn == n->conn)
		n->conn = 0;
	n->h.ws_close(n->h.ctx, conn, graceful);
}

static const struct ns_gwc_transport gw_transport = { .connect = tr_connect, .send = tr_send,
	                                              .ping = tr_ping, .close = tr_close };

static void *current(const struct netd_ops *n, unsigned conn)
{
	return conn && conn == n->conn ? (void *)(uintptr_t)conn : NULL;
}

void netd_ops_ws_open(struct netd_ops *n, unsigned conn)
{
	if (current(n, conn))
		ns_gwc_tr_open(n->gw, current(n, conn));
}

void netd_ops_ws_message(struct netd_ops *n, unsigned conn, int binary, const uint8_t *data,
                         size_t len)
{
	if (current(n, conn))
		ns_gwc_tr_message(n->gw, current(n, conn), binary, data, len);
}

void netd_ops_ws_pong(struct netd_ops *n, unsigned conn)
{
	if (current(n, conn))
		ns_gwc_tr_pong(n->gw, current(n, conn));
}

void netd_ops_ws_closed(struct netd_ops *n, unsigned conn, int code, const char *why)
{
	void *h = current(n, conn);
	if (!h)
		return;
	n->conn = 0; /* gone already: gwclient does not close it again */
	ns_gwc_tr_closed(n->gw, h, code, why);
}

/* keyd could not do a handshake step: drop the connection (gwclient backs off and reconnects). */
static void on_handshake_failed(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	const struct ns_ipc_bytes *r = &m->u.GW_HANDSHAKE_FAILED.reason;
	char why[300];
	snprintf(why, sizeof why, "keyd: %.*s", (int)r->len, (const char *)r->ptr);
	ns_log(NS_LOG_WARN, ROLE, "gateway handshake failed (%s): dropping the connection", why);
	n->handshake_failures++;
	n->op = OP_NONE;
	enum ns_gwc_state st = ns_gwc_state(n->gw);
	unsigned conn = n->conn;
	if (!conn || (st != NS_GWC_PROTOCOL && st != NS_GWC_REGISTERING &&
	              st != NS_GWC_AUTHENTICATING))
		return; /* that connection is gone already */
	tr_close(n, (void *)(uintptr_t)conn, 0);
	ns_gwc_tr_closed(n->gw, (void *)(uintptr_t)conn, 4000, why);
}

/* ---- gwclient's clock: host timers NETD_TIMER_GW_BASE + id */

static double gw_now(void *ctx)
{
	return (double)now_ns(ctx) / 1e9;
}

static void gw_timer_start(void *ctx, unsigned id, double after)
{
	timer_start(ctx, NETD_TIMER_GW_BASE + id, after > 0 ? (uint64_t)(after * 1e9) : 0, 0);
}

static void gw_timer_stop(void *ctx, unsigned id)
{
	timer_stop(ctx, NETD_TIMER_GW_BASE + id);
}

/* ---- gwclient callbacks */

static void report_protocol(struct netd_ops *n, const struct ns_gwc_status *st)
{
	if (!st->negotiated_protocol || st->negotiated_protocol == n->protocol_sent)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_PROTOCOL };
	m.u.GW_PROTOCOL.protocol = st->negotiated_protocol;
	to_keyd(n, &m);
	n->protocol_sent = st->negotiated_protocol;
}

static void log_repeats(struct netd_ops *n)
{
	if (n->fail_repeats)
		ns_log(NS_LOG_WARN, ROLE, "(the last gateway failure repeated %u more times)",
		       n->fail_repeats);
	n->fail_repeats = 0;
	n->fail_err = 0;
	n->fail_text[0] = 0;
}

/* A failure: logged once, repeats of the same one (a refused certificate at every
 * reconnection) counted. */
static void log_failure(struct netd_ops *n, enum ns_gwc_state s, const struct ns_gwc_status *st)
{
	if (s == NS_GWC_BACKOFF && st->last_error == n->fail_err &&
	    !strcmp(st->last_error_text, n->fail_text)) {
		n->fail_repeats++;
		return;
	}
	log_repeats(n);
	n->fail_err = st->last_error;
	snprintf(n->fail_text, sizeof n->fail_text, "%s", st->last_error_text);
	ns_log(NS_LOG_WARN, ROLE, "gateway %s: %s (%s)", ns_gwc_state_name(s),
	       ns_gwc_strerror(st->last_error), st->last_error_text);
}

static void gw_state(struct ns_gwc *c, enum ns_gwc_state s, void *user)
{
	struct netd_ops *n = user;
	struct ns_gwc_status st;
	ns_gwc_get_status(c, &st);
	if (s == NS_GWC_CLAIMING || s == NS_GWC_READY)
		report_protocol(n, &st);
	if (s == NS_GWC_READY) {
		log_repeats(n);
		ns_log(NS_LOG_INFO, ROLE, "gateway session ready (protocol %u)",
		       st.negotiated_protocol);
	} else if (s == NS_GWC_BACKOFF || s == NS_GWC_FAILED) {
		log_failure(n, s, &st);
	}
	if (s == NS_GWC_FAILED)
		ns_log(NS_LOG_ERROR, ROLE, "the gateway session failed for good");
	tell_state(n, ns_gwc_state_name(s), s == NS_GWC_FAILED || s == NS_GWC_BACKOFF
	                                            ? st.last_error_text : NULL);
}

static void gw_message(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user)
{
	(void)c, (void)msg, (void)len, (void)user;
}

static void gw_writable(struct ns_gwc *c, void *user)
{
	(void)c;
	struct netd_ops *n = user;
	ns_traffic_resume(n->traffic);
	rearm(n);
}

/* only after a new registration or a kind the session refuses: the ack timer resends */
static void gw_sealed_dropped(struct ns_gwc *c, uint64_t id, void *user)
{
	(void)c, (void)user;
	ns_log(NS_LOG_DEBUG, ROLE, "sealed frame %llu is void for this gateway session: dropped",
	       (unsigned long long)id);
}

static const struct ns_gwc_callbacks gw_cb = { .on_state = gw_state, .on_message = gw_message,
	                                       .on_writable = gw_writable,
	                                       .on_sealed_dropped = gw_sealed_dropped };

/* ---- STATS_REQUEST (the supervisor) */

static void on_stats_request(struct netd_ops *n, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	ns_gwc_get_status(n->gw, &st);
	ns_traffic_get_stats(n->traffic, &ts);
	char text[512];
	int len = snprintf(text, sizeof text,
	                   "gateway_state=%s\nreconnects=%u\nreal_sent=%llu\nacks=%llu\n"
	                   "retransmissions=%llu\nqueued=%zu\nframes_in=%llu\ncover_sent=%llu\n"
	                   "pending_acks=%zu\nretransmit_slots=%zu\ngave_up=%llu\n",
	                   ns_gwc_state_name(st.state), st.reconnects,
	                   (unsigned long long)ts.real_sent, (unsigned long long)ts.acks_received,
	                   (unsigned long long)ts.retransmit_requests, ts.queued,
	                   (unsigned long long)n->frames_in, (unsigned long long)n->cover_sent,
	                   ts.pending_acks, n->n_retx, (unsigned long long)ts.abandoned);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)len);
	send_to(n, from, &r);
}

/* ---- STATUS_REQUEST (apid, for nymctl): one flat JSON object */

/* A JSON string of printable ASCII (the IPC str rule): other bytes as \u00XX. */
static void json_str(char *out, size_t cap, const char *s)
{
	size_t at = 0;
	for (; *s && at + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			at += (size_t)snprintf(out + at, cap - at, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			at += (size_t)snprintf(out + at, cap - at, "\\u%04x", ch);
		else
			out[at++] = (char)ch;
	}
	out[at] = 0;
}

static size_t deepest_lane(const struct netd_ops *n, size_t lanes)
{
	size_t max = 0;
	struct ns_lane_depth *d = lanes ? calloc(lanes, sizeof *d) : NULL;
	size_t got = d ? ns_traffic_lane_depths(n->traffic, d, lanes) : 0;
	for (size_t i = 0; i < got && i < lanes; i++)
		if (d[i].depth > max)
			max = d[i].depth;
	free(d);
	return max;
}

static int status_json(const struct netd_ops *n, char *out, size_t cap)
{
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	char id58[64] = "", gw_url[CLIENTCONF_URL_MAX * 6 + 1], api[CLIENTCONF_URL_MAX * 6 + 1];
	ns_gwc_get_status(n->gw, &st);
	ns_traffic_get_stats(n->traffic, &ts);
	base58_encode(n->gateway_id, 32, id58, sizeof id58);
	json_str(gw_url, sizeof gw_url, n->gateway_url);
	json_str(api, sizeof api, ns_apis_url(&n->api));
	uint64_t age = n->topo_generation ? (now_ns(n) - n->topo_at_ns) / 1000000000u : 0;
	return snprintf(out, cap,
	                "{\"gateway_id\":\"%s\",\"gateway_url\":\"%s\",\"connected\":%s,"
	                "\"gateway_state\":\"%s\",\"reconnects\":%u,\"real_packets_sent\":%llu,"
	                "\"cover_packets_sent\":%llu,\"acks_received\":%llu,\"retransmissions\":%llu,"
	                "\"queued_real\":%zu,\"queued_per_lane_max\":%zu,\"gateway_queued\":%zu,"
	                "\"frames_received\":%llu,\"topology_generation\":%llu,\"topology_nodes\":%zu,"
	                "\"topology_age_s\":%llu,\"topology_refresh_failures\":%llu,\"nym_api\":\"%s\","
	                "\"protocol\":%u,\"gateway_protocol\":%u,\"handshake_failures\":%llu,"
	                "\"pending_acks\":%zu,\"retransmit_slots\":%zu,\"forgotten\":%llu,"
	                "\"gave_up\":%llu}",
	                id58, gw_url, ns_gwc_state(n->gw) == NS_GWC_READY ? "true" : "false",
	                ns_gwc_state_name(st.state), st.reconnects, (unsigned long long)ts.real_sent,
	                (unsigned long long)n->cover_sent, (unsigned long long)ts.acks_received,
	                (unsigned long long)ts.retransmit_requests, ts.queued,
	                deepest_lane(n, ts.lanes), st.queued + st.in_flight,
	                (unsigned long long)n->frames_in, (unsigned long long)n->topo_generation,
	                n->topo_nodes, (unsigned long long)age,
	                (unsigned long long)n->topo_failures, api, st.negotiated_protocol,
	                st.gateway_protocol, (unsigned long long)n->handshake_failures,
	                ts.pending_acks, n->n_retx, (unsigned long long)n->forgotten,
	                (unsigned long long)ts.abandoned);
}

static void on_status_request(struct netd_ops *n, enum ns_ipc_role from,
                              const struct ns_ipc_msg *m)
{
	char json[NS_IPC_TEXT_MAX + 1];
	int len = status_json(n, json, sizeof json);
	if (len < 2 || (size_t)len > NS_IPC_TEXT_MAX)
		len = snprintf(json, sizeof json, "{\"error\":\"status too long\"}");
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATUS_REPLY };
	r.u.STATUS_REPLY.request_id = m->u.STATUS_REQUEST.request_id;
	r.u.STATUS_REPLY.json = NS_IPC_BYTES(json, (size_t)len);
	send_to(n, from, &r);
}

/* ---- delivery */

int netd_ops_handles(uint64_t type)
{
	switch (type) {
	case NS_IPC_T_STATS_REQUEST: case NS_IPC_T_GW_HANDSHAKE_OUT: case NS_IPC_T_GW_AUTH_TEXT:
	case NS_IPC_T_GW_SESSION_READY: case NS_IPC_T_SEALED_FRAME: case NS_IPC_T_COVER_FRAME:
	case NS_IPC_T_ACK: case NS_IPC_T_FORGET_FRAGMENT: case NS_IPC_T_GW_HANDSHAKE_FAILED:
	case NS_IPC_T_STATUS_REQUEST:
		return 1;
	default:
		return 0;
	}
}

/* Before the gateway session and the traffic engine exist (the browser's first topology
 * fetch), messages that need them are answered later by the peer's own retries: keyd asks
 * for nothing before the session, and the front's frames wait for keyd's topology. */
static int ready_for(const struct netd_ops *n, uint64_t type)
{
	return n->started || type == NS_IPC_T_STATS_REQUEST || type == NS_IPC_T_STATUS_REQUEST;
}

static void deliver_session(struct netd_ops *n, const struct ns_ipc_msg *m)
{
	switch (m->type) {
	case NS_IPC_T_GW_HANDSHAKE_OUT: on_hs_out(n, m); break;
	case NS_IPC_T_GW_AUTH_TEXT: on_auth_text(n, m); break;
	case NS_IPC_T_GW_SESSION_READY: on_session_ready(n, m); break;
	case NS_IPC_T_SEALED_FRAME: on_sealed_frame(n, m); break;
	case NS_IPC_T_COVER_FRAME: on_cover_frame(n, m); break;
	case NS_IPC_T_ACK: on_ack(n, m); break;
	case NS_IPC_T_FORGET_FRAGMENT: on_forget_fragment(n, m); break;
	case NS_IPC_T_GW_HANDSHAKE_FAILED: on_handshake_failed(n, m); break;
	default: break;
	}
}

int netd_ops_deliver(struct netd_ops *n, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	if (n->error)
		return -1;
	if (!ready_for(n, m->type)) {
		ns_log_rl(NS_LOG_DEBUG, ROLE, "%s before the gateway session started: dropped",
		          ns_ipc_type_name(m->type));
		return 0;
	}
	if (m->type == NS_IPC_T_STATS_REQUEST)
		on_stats_request(n, from, m);
	else if (m->type == NS_IPC_T_STATUS_REQUEST)
		on_status_request(n, from, m);
	else
		deliver_session(n, m);
	return n->error ? -1 : 0;
}

const char *netd_ops_error(const struct netd_ops *n)
{
	return n->error ? n->error : "";
}

void netd_ops_timer(struct netd_ops *n, unsigned id)
{
	if (id == NETD_TIMER_FLUSH) {
		n->flush_armed = 0;
		flush_sent(n, 0);
		flush_sent(n, 1);
	} else if (!n->started) {
		return;
	} else if (id == NETD_TIMER_TRAFFIC) {
		on_traffic_timer(n);
	} else if (id == NETD_TIMER_POOL) {
		on_pool_timer(n);
	} else if (id == NETD_TIMER_TOPOLOGY) {
		on_topology_timer(n);
	} else if (id >= NETD_TIMER_GW_BASE && id < NETD_TIMER_GW_BASE + NS_GWC_TIMERS) {
		ns_gwc_timer(n->gw, id - NETD_TIMER_GW_BASE);
	}
}

/* ---- life */

static void traffic_config(const struct clientconf_debug *d, struct ns_traffic_config *t)
{
	ns_traffic_config_default(t);
	t->average_packet_delay_ns = d->average_packet_delay_ns;
	t->message_sending_average_delay_ns = d->message_sending_average_delay_ns;
	t->disable_main_poisson_packet_distribution = d->disable_main_poisson_packet_distribution;
	t->maximum_number_of_retransmissions =
	        d->has_max_retransmissions ? d->maximum_number_of_retransmissions : NS_TRAFFIC_UNLIMITED;
	t->loop_cover_traffic_average_delay_ns = d->loop_cover_traffic_average_delay_ns;
	t->cover_traffic_primary_size_ratio = d->cover_traffic_primary_size_ratio;
	t->disable_loop_cover_traffic_stream = d->disable_loop_cover_traffic_stream;
	t->average_ack_delay_ns = d->average_ack_delay_ns;
	t->ack_wait_multiplier = d->ack_wait_multiplier;
	t->ack_wait_addition_ns = d->ack_wait_addition_ns;
}

struct netd_ops *netd_ops_new(const struct netd_ops_config *c, const struct netd_host *host)
{
	if (!c || !c->conf || !c->gateway_url || !host || !host->ipc.send ||
	    !host->ipc.timer_start || !host->ipc.timer_stop || !host->now_ns || !host->ws_open ||
	    !host->ws_send || !host->ws_ping || !host->ws_close || !host->http_get)
		return NULL;
	struct netd_ops *n = calloc(1, sizeof *n);
	if (!n || !(n->gateway_url = strdup(c->gateway_url))) {
		free(n);
		return NULL;
	}
	n->h = *host;
	n->conf = c->conf;
	memcpy(n->gateway_id, c->gateway_identity, 32);
	n->registered = c->registered;
	n->fixed_topology = c->fixed_topology;
	ns_apis_init(&n->api, c->conf);
	struct ns_traffic_config tc;
	traffic_config(&c->conf->debug, &tc);
	if (c->max_pending_acks && c->max_pending_acks < tc.max_pending_acks)
		tc.max_pending_acks = c->max_pending_acks;
	if (c->max_lanes && c->max_lanes < tc.max_lanes)
		tc.max_lanes = c->max_lanes;
	struct ns_traffic_hooks h = { .ctx = n, .now_ns = hook_now, .send_real = hook_send_real,
		                      .send_cover = hook_send_cover, .retransmit = hook_retransmit,
		                      .dropped = hook_dropped, .abandoned = hook_abandoned,
		                      .schedule_changed = hook_schedule };
	n->traffic = ns_traffic_new(&tc, &h);
	struct ns_gwc_config gc = { .url = n->gateway_url, .registered = c->registered,
		                    .max_attempts = UINT32_MAX };
	struct ns_gwc_clock clk = { .now = gw_now, .timer_start = gw_timer_start,
		                    .timer_stop = gw_timer_stop, .ctx = n };
	n->gw = ns_gwc_new_clocked(&clk, &gc, &gw_ops, n, &gw_transport, n, &gw_cb, n);
	if (!n->traffic || !n->gw) {
		netd_ops_free(n);
		return NULL;
	}
	return n;
}

static int start_engines(struct netd_ops *n)
{
	const struct clientconf_debug *d = &n->conf->debug;
	n->started = 1;
	ns_traffic_start(n->traffic);
	rearm(n);
	/* cover pools only for the streams that run (Nym's no-cover mode turns both off) */
	n->pool_wanted[NS_IPC_COVER_STREAM] = !d->disable_main_poisson_packet_distribution;
	n->pool_wanted[NS_IPC_COVER_LOOP] = !d->disable_loop_cover_traffic_stream;
	timer_start(n, NETD_TIMER_POOL, 1000000000u, 1000000000u);
	if (!d->disable_refreshing && d->topology_refresh_rate_ns && !n->fixed_topology)
		timer_start(n, NETD_TIMER_TOPOLOGY, d->topology_refresh_rate_ns,
		            d->topology_refresh_rate_ns);
	tell_state(n, "connecting", n->gateway_url);
	return ns_gwc_start(n->gw) == 0 ? 0 : -1;
}

int netd_ops_start(struct netd_ops *n)
{
	if (n->started || n->fetching)
		return 0;
	if (n->topo_generation)
		return start_engines(n);
	tell_state(n, "topology", ns_apis_url(&n->api));
	begin_fetch(n, FETCH_FIRST_KEYROT, NS_FETCH_KEYROT);
	return 0;
}

void netd_ops_stop(struct netd_ops *n)
{
	ns_gwc_stop(n->gw);
	n->started = 0;
	static const unsigned timers[] = { NETD_TIMER_TRAFFIC, NETD_TIMER_POOL,
		                           NETD_TIMER_TOPOLOGY, NETD_TIMER_FLUSH };
	for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
		timer_stop(n, timers[i]);
	n->traffic_timer_on = 0;
	n->flush_armed = 0;
}

void netd_ops_free(struct netd_ops *n)
{
	if (!n)
		return;
	ns_traffic_free(n->traffic); /* hands queued frames back: freed by hook_dropped */
	ns_gwc_free(n->gw);
	for (int k = 0; k < 2; k++)
		while (n->pool_len[k])
			free(n->pool[k][--n->pool_len[k]]);
	if (n->fetching)
		ns_fetch_free(&n->fetch);
	free(n->gateway_url);
	free(n);
}
