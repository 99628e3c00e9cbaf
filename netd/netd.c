/* netd: the network side, holding no secret. Fetches the topology from the nym-api
 * endpoints the Nym client uses (netd_topo.c, HTTP(S) through libcurl in netd_http.c) and
 * hands keyd a compact copy, refreshed every topology_refresh_rate; runs the gateway
 * session (common/gwclient) whose secret operations are IPC round trips to keyd; queues the
 * sealed frames keyd builds in the traffic engine (Poisson stream, lanes, ack timers) and
 * passes every pushed frame to keyd unopened.
 *
 * netd queues keyd's sealed frames opaque in gwclient (ns_gwc_send_sealed): gwclient confirms
 * and resends them unchanged after a reconnection (the shared key outlives the session), and
 * no key reaches netd. keyd learns the protocol the gateway answered with (GW_PROTOCOL) and
 * picks the frame kind; netd reads the kind back from the frame's clear first byte. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "base58.h"
#include "gateway/frames.h"
#include "gwclient.h"
#include "ipc.h"
#include "nymclient.h"
#include "sandbox.h"
#include "topology_json.h"
#include "traffic.h"
#include "tls.h"
#include "traffic_ev.h"
#include "websocket.h"

#define RETX_MAX 4096
#define POOL_MAX 16  /* sealed cover frames kept per kind */
#define POOL_LOW 8   /* ask keyd for more below this */

enum op_kind { OP_NONE = 0, OP_H1, OP_H3, OP_FINISH, OP_AUTH };

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

struct netd {
	struct ev_loop *loop;
	struct ns_ipc_conn keyd, apid, sup;
	const struct nc_setup *s;
	struct ns_gwc *gw;
	struct ns_traffic *traffic;
	struct ns_traffic_ev tev;
	enum op_kind op;
	uint64_t op_id;
	struct out_frame *pool[2][POOL_MAX]; /* [NS_IPC_COVER_STREAM / _LOOP] */
	size_t pool_len[2], pool_asked[2];
	int pool_wanted[2]; /* by NS_IPC_COVER_STREAM / _LOOP: that stream runs */
	ev_timer pool_timer, topo_timer;
	struct ns_apis api;
	struct ns_fetch refresh;
	int refreshing;
	uint64_t topo_generation, topo_failures;
	size_t topo_nodes;
	ev_tstamp topo_at;
	void *ws;                 /* the gateway websocket (transport handle) */
	unsigned protocol_sent;   /* last GW_PROTOCOL value, 0 = none this connection */
	int fail_err;             /* the gateway failure logged last, and how often it came again */
	char fail_text[128];
	unsigned fail_repeats;
	uint64_t handshake_failures;
	uint64_t cover_sent;
	uint64_t forgotten; /* FORGET_FRAGMENTs that released a slot or a pending ack */
	uint8_t retx[RETX_MAX][5];
	size_t n_retx;
	uint64_t frames_in, frames_out;
	ev_tstamp last_frame_at; /* the last frame the gateway pushed (receive batching) */
	struct sent_batch sent[2]; /* [dropped]: ids for the next FRAMES_SENT */
	ev_prepare sent_flush;
};

static struct netd g_n;

/* ---- topology */

static void send_topo_node(uint64_t gen, unsigned role, const struct nym_topo_node *n)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_TOPOLOGY_NODE };
	m.u.TOPOLOGY_NODE.generation = gen;
	m.u.TOPOLOGY_NODE.role = role;
	m.u.TOPOLOGY_NODE.node_id = n->node_id;
	m.u.TOPOLOGY_NODE.identity = NS_IPC_BYTES(n->identity, 32);
	m.u.TOPOLOGY_NODE.sphinx_key = NS_IPC_BYTES(n->sphinx_key, 32);
	m.u.TOPOLOGY_NODE.address = NS_IPC_BYTES(n->address, 32);
	nc_send(&g_n.keyd, &m);
}

static int send_topology(const struct ns_topo *t, uint64_t gen)
{
	const struct nym_topology *tp = &t->topology;
	size_t total = tp->n_gateways;
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		total += tp->layer_len[i];
	if (total > NS_IPC_TOPO_MAX_NODES)
		return -1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_TOPOLOGY_BEGIN };
	m.u.TOPOLOGY_BEGIN.generation = gen;
	m.u.TOPOLOGY_BEGIN.key_rotation_id = tp->key_rotation_id;
	m.u.TOPOLOGY_BEGIN.nodes = total;
	nc_send(&g_n.keyd, &m);
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		for (size_t j = 0; j < tp->layer_len[i]; j++)
			send_topo_node(gen, (unsigned)i + 1, &tp->layer[i][j]);
	for (size_t j = 0; j < tp->n_gateways; j++)
		send_topo_node(gen, NS_IPC_TOPO_GATEWAY, &tp->gateways[j]);
	struct ns_ipc_msg e = { .type = NS_IPC_T_TOPOLOGY_END };
	e.u.TOPOLOGY_END.generation = gen;
	e.u.TOPOLOGY_END.nodes = total;
	nc_send(&g_n.keyd, &e);
	return 0;
}

static int fetch_topology(struct ns_topo *t)
{
	char err[512] = "";
	if (nc_api_topology(&g_n.api, t, err, sizeof err) < 0) {
		nc_warn("netd", "topology: %s", err);
		return -1;
	}
	return 0;
}

static size_t topology_nodes(const struct ns_topo *t)
{
	size_t n = t->topology.n_gateways;
	for (int i = 0; i < NYM_MIX_LAYERS; i++)
		n += t->topology.layer_len[i];
	return n;
}

/* Sends keyd a new generation and records it for STATUS_REPLY. */
static int use_topology(const struct ns_topo *t)
{
	if (send_topology(t, g_n.topo_generation + 1) < 0)
		return -1;
	g_n.topo_generation++;
	g_n.topo_nodes = topology_nodes(t);
	g_n.topo_at = ev_now(g_n.loop);
	return 0;
}

/* Periodic refresh (debug.topology_refresh_rate) on the loop, one response at a time
 * (common/nymapi_fetch.h's machine over nc_http_get_async); a failed refresh keeps the old
 * topology. */
static void refresh_step(void);

static void refresh_done(void)
{
	struct ns_fetch *f = &g_n.refresh;
	if (f->done == 1) {
		if (use_topology(&f->topo) < 0)
			nc_warn("netd", "the topology has too many nodes: kept the old one");
	} else {
		g_n.topo_failures++;
		nc_warn("netd", "topology refresh failed: kept generation %llu (%s)",
		       (unsigned long long)g_n.topo_generation, f->err);
	}
	ns_fetch_free(f);
	g_n.refreshing = 0;
}

static void on_refresh_response(void *ctx, const char *url, const char *body, size_t len,
                                const char *err)
{
	(void)ctx;
	ns_fetch_feed(&g_n.refresh, url, body, len, err);
	refresh_step();
}

static void refresh_step(void)
{
	char url[CLIENTCONF_URL_MAX + 128], err[256];
	while (ns_fetch_next(&g_n.refresh, url, sizeof url)) {
		if (nc_http_get_async(url, on_refresh_response, NULL, err, sizeof err) == 0)
			return;
		ns_fetch_feed(&g_n.refresh, url, NULL, 0, err);
	}
	refresh_done();
}

static void on_topo_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	if (g_n.refreshing)
		return; /* the last one is still running */
	g_n.refreshing = 1;
	ns_fetch_begin(&g_n.refresh, &g_n.api, NS_FETCH_TOPOLOGY);
	refresh_step();
}

/* ---- gateway session ops: IPC round trips to keyd */

static int start_op(enum op_kind k, uint64_t id)
{
	g_n.op = k;
	g_n.op_id = id;
	return 0;
}

static void finish_op(enum op_kind k, const uint8_t *out, size_t len)
{
	if (g_n.op != k) {
		nc_warn("netd", "keyd answered an operation that was not asked: ignored");
		return;
	}
	g_n.op = OP_NONE;
	ns_gwc_op_done(g_n.gw, g_n.op_id, 0, out, len);
}

static int op_hs_h1(void *ctx, struct ns_gwc *c, uint64_t id, int aes)
{
	(void)ctx, (void)c;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_START };
	m.u.GW_HANDSHAKE_START.gateway_identity = NS_IPC_BYTES(g_n.s->gateway_identity, 32);
	m.u.GW_HANDSHAKE_START.protocol = aes ? 3 : 1;
	m.u.GW_HANDSHAKE_START.fresh = true;
	nc_send(&g_n.keyd, &m);
	return start_op(OP_H1, id);
}

static int send_hs_in(enum op_kind k, uint64_t id, const uint8_t *msg, size_t len)
{
	if (len < 1 || len > NS_IPC_HS_MSG_MAX)
		return -1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_IN };
	m.u.GW_HANDSHAKE_IN.message = NS_IPC_BYTES(msg, len);
	nc_send(&g_n.keyd, &m);
	return start_op(k, id);
}

static int op_hs_h3(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h2, size_t len)
{
	(void)ctx, (void)c;
	return send_hs_in(OP_H3, id, h2, len);
}

/* Done when keyd reports the stored key (GW_SESSION_READY); gwclient holds the gateway's
 * `register` answer until then. If H4 is bad keyd says nothing: gwclient's response timeout
 * then starts a new connection and registration. */
static int op_hs_finish(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h4, size_t len)
{
	(void)ctx, (void)c;
	return send_hs_in(OP_FINISH, id, h4, len);
}

static int op_auth(void *ctx, struct ns_gwc *c, uint64_t id, int v2, uint8_t protocol)
{
	(void)ctx, (void)c;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_AUTH_REQUEST };
	m.u.GW_AUTH_REQUEST.gateway_identity = NS_IPC_BYTES(g_n.s->gateway_identity, 32);
	m.u.GW_AUTH_REQUEST.protocol = protocol;
	m.u.GW_AUTH_REQUEST.timestamp = v2 ? (uint64_t)time(NULL) : 0;
	nc_send(&g_n.keyd, &m);
	return start_op(OP_AUTH, id);
}

/* Receive batching ([nymsuite] receive_batch_delay, T): while frames stream in (this one came
 * less than 2T after the last), the gateway socket is left unread for T after a frame; the
 * frames that come meanwhile are then read together and go to keyd as one BATCH datagram (the
 * keyd conn is corked), so netd, keyd and the front wake once for them. A frame after a quiet
 * spell goes at once and starts no hold: an idle or slow client adds no delay and no wake-up
 * (a hold that catches nothing costs one). The frames of the same read still come in now. */
static void hold_gateway_reads(void)
{
	double t = (double)g_n.s->conf.receive_batch_ns / 1e9, now = ev_now(g_n.loop);
	int streaming = now - g_n.last_frame_at < 2 * t;
	g_n.last_frame_at = now;
	if (t > 0 && streaming && g_n.ws)
		ns_ws_hold_reads(g_n.ws, t);
}

static int op_open(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (len >= 1 && len <= NS_IPC_FRAME_MAX) {
		struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME };
		m.u.OPEN_FRAME.frame = NS_IPC_BYTES(frame, len);
		nc_send(&g_n.keyd, &m);
		nc_trace("netd", "frame of %zu bytes from the gateway", len);
		g_n.frames_in++;
		hold_gateway_reads();
	}
	ns_gwc_op_done(c, id, 0, NULL, 0); /* keyd opens it; nothing comes back here */
	return 0;
}

static const struct ns_gwc_ops netd_ops = { .hs_h1 = op_hs_h1, .hs_h3 = op_hs_h3,
	                                    .hs_finish = op_hs_finish, .auth_request = op_auth,
	                                    .open = op_open };

static void on_hs_out(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *b = &m->u.GW_HANDSHAKE_OUT.message;
	finish_op(g_n.op == OP_H3 ? OP_H3 : OP_H1, b->ptr, b->len);
}

static void on_session_ready(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	nc_log("netd", "keyd holds the new gateway key (protocol %llu)",
	       (unsigned long long)m->u.GW_SESSION_READY.protocol);
	finish_op(OP_FINISH, NULL, 0);
}

static void on_auth_text(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	finish_op(OP_AUTH, m->u.GW_AUTH_TEXT.text.ptr, m->u.GW_AUTH_TEXT.text.len);
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
static int queue_frame(const struct out_frame *f)
{
	uint8_t kind = f->len > 14 && f->frame[0] == NS_GW_BIN_FORWARD_SPHINX_V2 && f->frame[1] == 1
	                       ? NS_GW_BIN_FORWARD_SPHINX_V2
	                       : NS_GW_BIN_FORWARD_SPHINX;
	return ns_gwc_send_sealed(g_n.gw, kind, f->frame, f->len, g_n.frames_out + g_n.cover_sent);
}

/* ---- FRAMES_SENT: which real frames left the queue, in batches sent when full and before
 * the loop sleeps (one message per turn of the loop, not one per frame) */

static void flush_sent(int dropped)
{
	struct sent_batch *b = &g_n.sent[dropped];
	if (!b->n)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_FRAMES_SENT };
	m.u.FRAMES_SENT.frag_ids = NS_IPC_BYTES(b->ids, b->n * 5);
	m.u.FRAMES_SENT.dropped = dropped != 0;
	nc_send(&g_n.apid, &m);
	b->n = 0;
}

static void on_sent_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	flush_sent(0);
	flush_sent(1);
	ev_prepare_stop(loop, w);
}

static void left_queue(const uint8_t frag_id[5], int dropped)
{
	struct sent_batch *b = &g_n.sent[dropped];
	memcpy(b->ids + b->n * 5, frag_id, 5);
	if (++b->n == NS_IPC_SENT_MAX_BATCH)
		flush_sent(dropped);
	ev_prepare_start(g_n.loop, &g_n.sent_flush);
}

static int hook_send_real(void *ctx, const struct ns_lane *lane, void *packet)
{
	(void)ctx, (void)lane;
	struct out_frame *f = packet;
	int rc = queue_frame(f);
	if (rc == NS_GWC_E_QUEUE_FULL)
		return NS_TRAFFIC_BUSY;
	if (rc < 0)
		nc_warn("netd", "gateway queue: %s", ns_gwc_strerror(rc));
	left_queue(f->frag_id, 0);
	nc_trace("netd", "real frame of %zu bytes to the gateway", f->len);
	free(f);
	g_n.frames_out++;
	return 0;
}

static void pool_refill(int kind)
{
	if (!g_n.pool_wanted[kind])
		return;
	size_t have = g_n.pool_len[kind] + g_n.pool_asked[kind];
	if (have >= POOL_LOW)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_COVER_REQUEST };
	m.u.COVER_REQUEST.count = POOL_MAX - have;
	m.u.COVER_REQUEST.kind = (uint64_t)kind;
	nc_send(&g_n.keyd, &m);
	g_n.pool_asked[kind] = POOL_MAX - g_n.pool_len[kind];
}

/* Once a minute at most, and only when real traffic moved: one line of what moved (the
 * counters of STATS); the counts of rate-limited lines every second. */
static void log_tick(double now)
{
	/* the first four are what counts as something happening; the cover stream always runs */
	static const char *const names[] = { "real_sent", "acks", "retransmissions", "reconnects",
		                             "frames_in", "cover_sent" };
	static uint64_t last[6];
	static double next;
	char line[256];
	ns_log_flush(0);
	if (now < next)
		return;
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	ns_gwc_get_status(g_n.gw, &st);
	ns_traffic_get_stats(g_n.traffic, &ts);
	uint64_t v[6] = { ts.real_sent, ts.acks_received, ts.retransmit_requests, st.reconnects,
		          g_n.frames_in, g_n.cover_sent };
	if (next != 0 && ns_log_summary_line(names, v, last, 6, 4, line, sizeof line))
		nc_log("netd", "in the last %.0f s: %s", NS_LOG_SUMMARY_S, line);
	else if (next == 0)
		memcpy(last, v, sizeof v);
	next = now + NS_LOG_SUMMARY_S;
}

/* keyd sends nothing while it has no session or topology: ask again now and then. */
static void on_pool_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	log_tick(ev_now(loop));
	for (int k = 0; k < 2; k++) {
		g_n.pool_asked[k] = 0;
		pool_refill(k);
	}
}

static int hook_send_cover(void *ctx, enum ns_cover_kind kind, uint64_t delay, int secondary)
{
	(void)ctx, (void)delay, (void)secondary;
	int k = kind == NS_COVER_LOOP_STREAM ? NS_IPC_COVER_LOOP : NS_IPC_COVER_STREAM;
	if (!g_n.pool_len[k] || ns_gwc_state(g_n.gw) != NS_GWC_READY) {
		pool_refill(k);
		return NS_TRAFFIC_BUSY;
	}
	struct out_frame *f = g_n.pool[k][g_n.pool_len[k] - 1];
	if (queue_frame(f) < 0)
		return NS_TRAFFIC_BUSY;
	free(f);
	g_n.pool_len[k]--;
	g_n.cover_sent++;
	pool_refill(k);
	return 0;
}

static void hook_retransmit(void *ctx, const uint8_t frag_id[5], uint32_t so_far)
{
	(void)ctx, (void)so_far;
	if (g_n.n_retx >= RETX_MAX) {
		ns_traffic_retransmit_failed(g_n.traffic, frag_id);
		return;
	}
	memcpy(g_n.retx[g_n.n_retx++], frag_id, 5);
	struct ns_ipc_msg m = { .type = NS_IPC_T_ACK_TIMEOUT };
	m.u.ACK_TIMEOUT.frag_id = NS_IPC_BYTES(frag_id, 5);
	nc_send(&g_n.apid, &m);
}

/* The fragment's ack timer fired at its retransmission limit: the traffic table forgot it (as
 * Nym forgets the pending ack, quietly), and the front, which keeps the fragment until its
 * ack, must drop it too or it would be kept, and persisted at the stop, for ever. */
static void hook_abandoned(void *ctx, const uint8_t frag_id[5])
{
	(void)ctx;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GAVE_UP_FRAGMENT };
	m.u.GAVE_UP_FRAGMENT.frag_id = NS_IPC_BYTES(frag_id, 5);
	nc_send(&g_n.apid, &m);
}

static void hook_dropped(void *ctx, const struct ns_lane *lane, void *packet, enum ns_drop_reason why)
{
	(void)ctx, (void)lane;
	struct out_frame *f = packet;
	if (why != NS_DROP_SHUTDOWN)
		left_queue(f->frag_id, 1);
	free(f);
}

static void hook_schedule(void *ctx)
{
	(void)ctx;
	if (g_n.tev.loop)
		ns_traffic_ev_rearm(&g_n.tev);
}

static int take_retx(const uint8_t frag_id[5])
{
	for (size_t i = 0; i < g_n.n_retx; i++)
		if (!memcmp(g_n.retx[i], frag_id, 5)) {
			memmove(g_n.retx[i], g_n.retx[g_n.n_retx - 1], 5);
			g_n.n_retx--;
			return 1;
		}
	return 0;
}

static void on_sealed_frame(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_SEALED_FRAME *s = &m->u.SEALED_FRAME;
	struct out_frame *f = malloc(sizeof *f + s->frame.len);
	if (!f) {
		nc_error("netd", "out of memory");
		_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
	}
	memcpy(f->frag_id, s->frag_id.ptr, 5);
	f->len = s->frame.len;
	memcpy(f->frame, s->frame.ptr, f->len);
	uint64_t delay_ns = s->expected_delay_ms * 1000000;
	static const uint8_t untracked[5]; /* keyd's SurbRequests: keyd waits for their acks */
	int rc;
	if (take_retx(f->frag_id)) {
		rc = ns_traffic_retransmit_ready(g_n.traffic, f->frag_id, f, delay_ns);
	} else {
		struct ns_traffic_item it = { .packet = f, .total_delay_ns = delay_ns,
			                      .has_frag_id = memcmp(f->frag_id, untracked, 5) != 0,
			                      .max_retransmissions = NS_TRAFFIC_UNLIMITED };
		memcpy(it.frag_id, f->frag_id, 5);
		struct ns_lane lane = lane_of(s->lane);
		rc = ns_traffic_enqueue(g_n.traffic, &lane, &it, 1);
	}
	/* UNKNOWN: its ack came while the rebuilt frame was on its way; nothing to send */
	if (rc < 0 && rc != NS_TRAFFIC_E_UNKNOWN)
		nc_warn_limited("netd", "traffic queue refused a frame (%d): dropped", rc);
	if (rc < 0)
		free(f);
	ns_traffic_ev_rearm(&g_n.tev);
}

static void on_ack(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	ns_traffic_ack(g_n.traffic, m->u.ACK.frag_id.ptr);
	ns_traffic_ev_rearm(&g_n.tev);
}

/* The front gave the fragment up: without this its pending ack (waiting for a rebuild that
 * never comes) and its retransmission slot would be held for the rest of the run, and a full
 * slot table stops every retransmission. */
static void on_forget_fragment(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const uint8_t *id = m->u.FORGET_FRAGMENT.frag_id.ptr;
	int slot = take_retx(id), pending = ns_traffic_forget(g_n.traffic, id);
	g_n.forgotten += slot || pending;
	ns_traffic_ev_rearm(&g_n.tev);
}

static void on_cover_frame(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	int k = m->u.COVER_FRAME.kind == NS_IPC_COVER_LOOP ? NS_IPC_COVER_LOOP : NS_IPC_COVER_STREAM;
	if (g_n.pool_asked[k])
		g_n.pool_asked[k]--;
	if (g_n.pool_len[k] >= POOL_MAX)
		return; /* more than we asked for: drop it */
	struct out_frame *f = malloc(sizeof *f + m->u.COVER_FRAME.frame.len);
	if (!f) {
		nc_error("netd", "out of memory");
		_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
	}
	memset(f->frag_id, 0, 5);
	f->len = m->u.COVER_FRAME.frame.len;
	memcpy(f->frame, m->u.COVER_FRAME.frame.ptr, f->len);
	g_n.pool[k][g_n.pool_len[k]++] = f;
}

/* ---- gateway transport: the websocket, wrapped so that netd can drop the connection when
 * keyd reports a failed handshake step (gwclient then backs off and reconnects). */

static void *tr_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	(void)tctx;
	g_n.protocol_sent = 0;
	g_n.ws = ns_gwc_ws_transport()->connect(NULL, c, url);
	return g_n.ws;
}

static int tr_send(void *tctx, void *h, int binary, const uint8_t *data, size_t len)
{
	(void)tctx;
	return ns_gwc_ws_transport()->send(NULL, h, binary, data, len);
}

static int tr_ping(void *tctx, void *h)
{
	(void)tctx;
	return ns_gwc_ws_transport()->ping(NULL, h);
}

static void tr_close(void *tctx, void *h, int graceful)
{
	(void)tctx;
	if (h == g_n.ws)
		g_n.ws = NULL;
	ns_gwc_ws_transport()->close(NULL, h, graceful);
}

static const struct ns_gwc_transport netd_transport = { .connect = tr_connect, .send = tr_send,
	                                                .ping = tr_ping, .close = tr_close };

static void on_handshake_failed(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *r = &m->u.GW_HANDSHAKE_FAILED.reason;
	char why[300];
	snprintf(why, sizeof why, "keyd: %.*s", (int)r->len, (const char *)r->ptr);
	nc_warn("netd", "gateway handshake failed (%s): dropping the connection", why);
	g_n.handshake_failures++;
	g_n.op = OP_NONE;
	enum ns_gwc_state st = ns_gwc_state(g_n.gw);
	void *h = g_n.ws;
	if (!h || (st != NS_GWC_PROTOCOL && st != NS_GWC_REGISTERING && st != NS_GWC_AUTHENTICATING))
		return; /* that connection is gone already */
	tr_close(NULL, h, 0);
	ns_gwc_tr_closed(g_n.gw, h, 4000, why);
}

/* ---- gwclient callbacks */

static void report_protocol(const struct ns_gwc_status *st)
{
	if (!st->negotiated_protocol || st->negotiated_protocol == g_n.protocol_sent)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_PROTOCOL };
	m.u.GW_PROTOCOL.protocol = st->negotiated_protocol;
	nc_send(&g_n.keyd, &m);
	g_n.protocol_sent = st->negotiated_protocol;
}

static void log_repeats(void)
{
	if (g_n.fail_repeats)
		nc_warn("netd", "(the last gateway failure repeated %u more times)", g_n.fail_repeats);
	g_n.fail_repeats = 0;
	g_n.fail_err = 0;
	g_n.fail_text[0] = 0;
}

static void gw_state(struct ns_gwc *c, enum ns_gwc_state s, void *user)
{
	(void)user;
	struct ns_gwc_status st;
	ns_gwc_get_status(c, &st);
	if (s == NS_GWC_CLAIMING || s == NS_GWC_READY)
		report_protocol(&st);
	if (s == NS_GWC_READY) {
		log_repeats();
		nc_log("netd", "gateway session ready (protocol %u)", st.negotiated_protocol);
	} else if (s == NS_GWC_BACKOFF || s == NS_GWC_FAILED) {
		/* the same failure again (a refused certificate at every reconnection): once */
		if (s == NS_GWC_BACKOFF && st.last_error == g_n.fail_err &&
		    !strcmp(st.last_error_text, g_n.fail_text)) {
			g_n.fail_repeats++;
			return;
		}
		log_repeats();
		g_n.fail_err = st.last_error;
		snprintf(g_n.fail_text, sizeof g_n.fail_text, "%s", st.last_error_text);
		nc_warn("netd", "gateway %s: %s (%s)", ns_gwc_state_name(s), ns_gwc_strerror(st.last_error),
		       st.last_error_text);
	}
	if (s == NS_GWC_FAILED) {
		nc_error("netd", "the gateway session failed for good");
		_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
	}
}

static void gw_message(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user)
{
	(void)c, (void)msg, (void)len, (void)user;
}

static void gw_writable(struct ns_gwc *c, void *user)
{
	(void)c, (void)user;
	ns_traffic_resume(g_n.traffic);
	ns_traffic_ev_rearm(&g_n.tev);
}

/* only after a new registration or a kind the session refuses: the ack timer resends */
static void gw_sealed_dropped(struct ns_gwc *c, uint64_t id, void *user)
{
	(void)c, (void)user;
	nc_debug("netd", "sealed frame %llu is void for this gateway session: dropped",
	       (unsigned long long)id);
}

static const struct ns_gwc_callbacks gw_cb = { .on_state = gw_state, .on_message = gw_message,
	                                       .on_writable = gw_writable,
	                                       .on_sealed_dropped = gw_sealed_dropped };

/* ---- supervisor */

static void on_shutdown(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
	ev_break(g_n.loop, EVBREAK_ALL);
}

static void on_stats_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	ns_gwc_get_status(g_n.gw, &st);
	ns_traffic_get_stats(g_n.traffic, &ts);
	char text[512];
	int n = snprintf(text, sizeof text,
	                 "gateway_state=%s\nreconnects=%u\nreal_sent=%llu\nacks=%llu\nretransmissions=%llu\n"
	                 "queued=%zu\nframes_in=%llu\ncover_sent=%llu\npending_acks=%zu\n"
	                 "retransmit_slots=%zu\ngave_up=%llu\n",
	                 ns_gwc_state_name(st.state), st.reconnects, (unsigned long long)ts.real_sent,
	                 (unsigned long long)ts.acks_received,
	                 (unsigned long long)ts.retransmit_requests, ts.queued,
	                 (unsigned long long)g_n.frames_in, (unsigned long long)g_n.cover_sent,
	                 ts.pending_acks, g_n.n_retx, (unsigned long long)ts.abandoned);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	nc_send(c, &r);
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

static size_t deepest_lane(size_t lanes)
{
	size_t max = 0;
	struct ns_lane_depth *d = lanes ? calloc(lanes, sizeof *d) : NULL;
	size_t n = d ? ns_traffic_lane_depths(g_n.traffic, d, lanes) : 0;
	for (size_t i = 0; i < n && i < lanes; i++)
		if (d[i].depth > max)
			max = d[i].depth;
	free(d);
	return max;
}

static int status_json(char *out, size_t cap)
{
	struct ns_gwc_status st;
	struct ns_traffic_stats ts;
	char id58[64] = "", gw_url[CLIENTCONF_URL_MAX * 6 + 1], api[CLIENTCONF_URL_MAX * 6 + 1];
	ns_gwc_get_status(g_n.gw, &st);
	ns_traffic_get_stats(g_n.traffic, &ts);
	base58_encode(g_n.s->gateway_identity, 32, id58, sizeof id58);
	json_str(gw_url, sizeof gw_url, g_n.s->gateway_ws);
	json_str(api, sizeof api, ns_apis_url(&g_n.api));
	double age = g_n.topo_generation ? ev_now(g_n.loop) - g_n.topo_at : 0;
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
	                id58, gw_url, ns_gwc_state(g_n.gw) == NS_GWC_READY ? "true" : "false",
	                ns_gwc_state_name(st.state), st.reconnects, (unsigned long long)ts.real_sent,
	                (unsigned long long)g_n.cover_sent, (unsigned long long)ts.acks_received,
	                (unsigned long long)ts.retransmit_requests, ts.queued, deepest_lane(ts.lanes),
	                st.queued + st.in_flight, (unsigned long long)g_n.frames_in,
	                (unsigned long long)g_n.topo_generation, g_n.topo_nodes,
	                (unsigned long long)(age > 0 ? age : 0), (unsigned long long)g_n.topo_failures, api,
	                st.negotiated_protocol, st.gateway_protocol,
	                (unsigned long long)g_n.handshake_failures, ts.pending_acks, g_n.n_retx,
	                (unsigned long long)g_n.forgotten, (unsigned long long)ts.abandoned);
}

static void on_status_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	char json[NS_IPC_TEXT_MAX + 1];
	int n = status_json(json, sizeof json);
	if (n < 2 || (size_t)n > NS_IPC_TEXT_MAX)
		n = snprintf(json, sizeof json, "{\"error\":\"status too long\"}");
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATUS_REPLY };
	r.u.STATUS_REPLY.request_id = m->u.STATUS_REQUEST.request_id;
	r.u.STATUS_REPLY.json = NS_IPC_BYTES(json, (size_t)n);
	nc_send(c, &r);
}

static const ns_ipc_handler netd_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_SHUTDOWN] = on_shutdown,
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_GW_HANDSHAKE_OUT] = on_hs_out,
	[NS_IPC_T_GW_AUTH_TEXT] = on_auth_text,
	[NS_IPC_T_GW_SESSION_READY] = on_session_ready,
	[NS_IPC_T_SEALED_FRAME] = on_sealed_frame,
	[NS_IPC_T_COVER_FRAME] = on_cover_frame,
	[NS_IPC_T_ACK] = on_ack,
	[NS_IPC_T_FORGET_FRAGMENT] = on_forget_fragment,
	[NS_IPC_T_GW_HANDSHAKE_FAILED] = on_handshake_failed,
	[NS_IPC_T_STATUS_REQUEST] = on_status_request,
};

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

/* registered = a shared key is stored: in Nym's gateways DB, or in keyd's record file (a
 * re-registration during a run); keyd merges the two at its start. */
static int registered(const struct nc_setup *s)
{
	char path[CLIENTCONF_PATH_MAX + 64];
	struct stat st;
	if (s->gateway_key_stored)
		return 1;
	snprintf(path, sizeof path, "%s/%s", s->dirs.data_dir, NC_GWKEY_FILE);
	return stat(path, &st) == 0 && st.st_size >= 48;
}

static int start_engines(const struct nc_setup *s)
{
	struct ns_traffic_config tc;
	traffic_config(&s->conf.debug, &tc);
	struct ns_traffic_hooks h = { .now_ns = ns_traffic_monotonic_ns, .send_real = hook_send_real,
		                      .send_cover = hook_send_cover, .retransmit = hook_retransmit,
		                      .dropped = hook_dropped, .abandoned = hook_abandoned,
		                      .schedule_changed = hook_schedule };
	g_n.traffic = ns_traffic_new(&tc, &h);
	struct ns_gwc_config gc = { .url = s->gateway_ws, .registered = registered(s),
		                    .max_attempts = UINT32_MAX };
	g_n.gw = ns_gwc_new(g_n.loop, &gc, &netd_ops, NULL, &netd_transport, NULL, &gw_cb, NULL);
	if (!g_n.traffic || !g_n.gw)
		return -1;
	ns_traffic_ev_start(&g_n.tev, g_n.loop, g_n.traffic);
	ev_prepare_init(&g_n.sent_flush, on_sent_flush);
	/* cover pools only for the streams that run (Nym's no-cover mode turns both off) */
	g_n.pool_wanted[NS_IPC_COVER_STREAM] = !s->conf.debug.disable_main_poisson_packet_distribution;
	g_n.pool_wanted[NS_IPC_COVER_LOOP] = !s->conf.debug.disable_loop_cover_traffic_stream;
	ev_timer_init(&g_n.pool_timer, on_pool_timer, 1.0, 1.0);
	ev_timer_start(g_n.loop, &g_n.pool_timer);
	const struct clientconf_debug *d = &s->conf.debug;
	if (!d->disable_refreshing && d->topology_refresh_rate_ns && !s->custom_mixnet[0]) {
		double every = (double)d->topology_refresh_rate_ns / 1e9;
		ev_timer_init(&g_n.topo_timer, on_topo_timer, every, every);
		ev_timer_start(g_n.loop, &g_n.topo_timer);
	}
	return ns_gwc_start(g_n.gw);
}

/* keyd drops the reply SURBs it loaded that the nodes can no longer open (as Nym's client at
 * its start, from the same key-rotation info) */
static void send_surb_cutoff(const struct ns_nymapi_keyrot *kr)
{
	int64_t cutoff = ns_nymapi_surb_cutoff(kr, (int64_t)time(NULL));
	if (cutoff > 0) {
		struct ns_ipc_msg c = { .type = NS_IPC_T_SURB_CUTOFF };
		c.u.SURB_CUTOFF.before = (uint64_t)cutoff;
		nc_send(&g_n.keyd, &c);
	}
}

/* Before the sandbox: libcurl and the CA bundle, key-rotation info (Nym aborts start-up
 * without it), and a routable topology holding our gateway. */
static int first_topology(const struct nc_setup *s)
{
	char err[512] = "";
	struct ns_nymapi_keyrot kr;
	struct ns_topo topo;
	if (nc_http_init(err, sizeof err) < 0 || nc_http_async_init(g_n.loop, err, sizeof err) < 0) {
		nc_log("netd", "%s", err);
		return -1;
	}
	ns_apis_init(&g_n.api, &s->conf);
	if (s->custom_mixnet[0]) {
		if (ns_topo_load_file(s->custom_mixnet, &topo, err, sizeof err) < 0) {
			nc_error("netd", "custom topology %s: %s", s->custom_mixnet, err);
			return -1;
		}
	} else if (nc_api_keyrot(&g_n.api, &kr, err, sizeof err) < 0) {
		nc_error("netd", "key rotation info: %s", err);
		return -1;
	} else {
		send_surb_cutoff(&kr);
		if (fetch_topology(&topo) < 0)
			return -1;
	}
	/* the nym-api that answered (the fetch moves past dead ones) */
	const char *from = s->custom_mixnet[0] ? s->custom_mixnet : ns_apis_url(&g_n.api);
	int rc = -1;
	if (!nym_topology_gateway(&topo.topology, s->gateway_identity))
		nc_error("netd", "our gateway is not in the topology from %s", from);
	else if (use_topology(&topo) < 0)
		nc_error("netd", "the topology has too many nodes");
	else
		rc = 0;
	ns_topo_free(&topo);
	if (rc == 0)
		nc_log("netd", "topology generation 1 from %s%s: %zu nodes (CA %s)", from,
		       s->custom_mixnet[0] ? " (fixed: --custom-mixnet)" : "", g_n.topo_nodes,
		       nc_http_ca_name());
	return rc;
}

/* Before the sandbox, for a wss:// gateway: libssl and the CA certificates into memory (no file
 * is read later); every reconnection verifies the certificate against them. */
static int gateway_tls(const struct nc_setup *s)
{
	if (strncmp(s->gateway_ws, "wss://", 6))
		return 0;
	char err[300] = "";
	struct ns_tls_ctx *ctx = ns_tls_client_ctx_new(NULL, err, sizeof err);
	if (!ctx) {
		nc_error("netd", "gateway %s: %s", s->gateway_ws, err);
		return -1;
	}
	ns_ws_set_client_tls(ctx); /* for the life of the process */
	/* certificate checks call gmtime_r, whose first call reads /etc/localtime: now, not
	 * behind Landlock (where it would be refused, harmlessly but at every start) */
	tzset();
	nc_log("netd", "gateway over TLS: %s (CA %s)", s->gateway_ws, ns_tls_ctx_ca_name(ctx));
	return 0;
}

/* A network requester's exit policy from upstream_exit_policy_url, fetched once inside the
 * sandbox (the URL's port is among netd's Landlock ports) and handed to the front. */
static void send_exit_policy(const struct nc_setup *s)
{
	char err[512] = "", why[CLIENTCONF_URL_MAX + sizeof err + 64];
	size_t len = 0;
	const char *url = s->conf.nr.upstream_exit_policy_url;
	char *text = url[0] ? nc_http_get(url, &len, err, sizeof err) : NULL;
	if (!url[0])
		snprintf(why, sizeof why, "no upstream_exit_policy_url and no exit_policy_file");
	else if (!text)
		snprintf(why, sizeof why, "cannot fetch the exit policy from %s: %s", url, err);
	else
		nc_log("netd", "exit policy from %s: %zu bytes", url, len);
	if (nc_exit_policy_send(&g_n.apid, text, len, text ? NULL : why) < 0)
		nc_error("netd", "cannot hand the exit policy to %s", nc_kind->front);
	free(text);
}

int nc_netd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_NETD][1], s->fds[NC_NETD_APID][0], s->fds[NC_SUP_NETD][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_n.s = s;
	g_n.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!g_n.loop)
		return 1;
	ns_ipc_conn_start(&g_n.keyd, g_n.loop, keep[0], NS_IPC_NETD, NS_IPC_KEYD, netd_handlers, nc_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_n.apid, g_n.loop, keep[1], NS_IPC_NETD, NS_IPC_APID, netd_handlers, nc_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_n.sup, g_n.loop, keep[2], NS_IPC_NETD, NS_IPC_SUPERVISOR, netd_handlers, nc_ipc_fatal, NULL);
	/* the frames of one read from the gateway go to keyd as one BATCH datagram */
	if (ns_ipc_conn_set_cork(&g_n.keyd, 1) != 0 || ns_ipc_conn_set_cork(&g_n.apid, 1) != 0)
		return 1;
	if (first_topology(s) < 0 || gateway_tls(s) < 0)
		return 1;
	if (start_engines(s) < 0) {
		nc_error("netd", "cannot start the gateway session");
		return 1;
	}
	if (nc_confine(NS_SANDBOX_NETD, s, 0) < 0)
		return 1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	nc_send(&g_n.sup, &m);
	if (nc_exit_policy_source(&s->conf) == NC_POLICY_URL)
		send_exit_policy(s);
	ev_run(g_n.loop, 0);
	ns_ipc_conn_flush(&g_n.sup); /* the last answers to the supervisor (stats, unsent fragments) */
	ns_gwc_stop(g_n.gw);
	ns_traffic_ev_stop(&g_n.tev);
	ev_prepare_stop(g_n.loop, &g_n.sent_flush);
	ns_traffic_free(g_n.traffic);
	ns_gwc_free(g_n.gw);
	for (int k = 0; k < 2; k++)
		while (g_n.pool_len[k])
			free(g_n.pool[k][--g_n.pool_len[k]]);
	if (g_n.refreshing)
		ns_fetch_free(&g_n.refresh);
	/* no nc_http_cleanup() here: curl_multi_cleanup closes cached connections through its
	 * internal handle, which ignores CURLOPT_NOSIGNAL and calls sigaction(SIGPIPE) (not in
	 * the filter: netd died by SIGSYS at exit); the process ends next, and netd holds no
	 * secret to clear */
	return 0;
}
