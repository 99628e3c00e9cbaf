/* Client side of a gateway session: see gwclient.h. */
#include "gwclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"

#define DEF_RESPONSE_TIMEOUT 15.0
#define DEF_PING_INTERVAL    10.0
#define DEF_PING_TIMEOUT     10.0
#define DEF_BACKOFF_INITIAL  0.5
#define DEF_BACKOFF_MAX      5.0
#define DEF_MAX_ATTEMPTS     10u
#define DEF_MAX_QUEUE        256u
#define DEF_CLAIM_THRESHOLD  40000000LL
#define DEF_AUTH_PROTOCOL    NS_GW_PROTOCOL_AUTH_V2
#define OPEN_OP_BIT          (1ull << 63) /* ids of `open` ops: any number may be pending */
#define MAX_HELD             64u /* gateway messages held while hs_finish is pending */

/* a forward packet waiting to go out or to be confirmed: a mix packet (sealed through the
 * seal op when it goes out) or a frame the caller sealed (sent as is) */
struct pkt {
	struct pkt *next;
	int sealed;
	uint8_t packet_type, key_rotation; /* mix packet */
	struct nym_node_address next_hop;
	uint8_t kind;                      /* sealed frame: its binary request kind */
	uint64_t sealed_id;                /* sealed frame: the caller's id */
	unsigned key_gen;                  /* sealed frame: c->key_gen when it was queued */
	uint8_t *data;
	size_t len;
};

/* a gateway message that arrived while hs_finish was pending */
struct held {
	struct held *next;
	int binary;
	size_t len;
	uint8_t data[];
};

struct pktq {
	struct pkt *head, **tail;
	size_t n;
};

enum ctl_op { CTL_NONE = 0, CTL_H1, CTL_H3, CTL_FINISH, CTL_AUTH };
/* progress inside REGISTERING */
enum reg_phase { REG_H1 = 0, REG_WAIT_H2, REG_H3, REG_WAIT_H4, REG_FINISH, REG_WAIT_RESPONSE };

struct ns_gwc {
	struct ns_gwc_clock clk;
	int t_active[NS_GWC_TIMERS];
	struct ns_gwc_config cfg;
	char *url;
	const struct ns_gwc_ops *ops;
	void *ops_ctx;
	const struct ns_gwc_transport *tr;
	void *tr_ctx;
	const char *connect_why; /* ns_gwc_tr_connect_failed's reason for the connect under way */
	struct ns_gwc_callbacks cb;
	void *user;

	void *h;                       /* current transport connection */
	struct ns_gwc_status st;
	int registered;
	int reg_phase;
	int claiming;
	int ever_ready;
	int want_writable;

	uint64_t next_id;
	uint64_t ctl_id;               /* awaited control op, 0 if none */
	enum ctl_op ctl_kind;
	uint64_t seal_id;              /* awaited seal op (of pending.head), 0 if none */
	int in_pump;

	struct pktq pending, inflight;
	unsigned key_gen;              /* registrations so far: sealed frames of an older key are void */
	struct held *held, **held_tail;
	size_t n_held;

	double last_rx, ping_sent;
	int ping_out;
};

/* ------------------------------------------------------------------ names */

const char *ns_gwc_strerror(int err)
{
	switch (err) {
	case NS_GWC_OK: return "ok";
	case NS_GWC_E_ARG: return "bad argument";
	case NS_GWC_E_NOMEM: return "out of memory";
	case NS_GWC_E_STATE: return "not valid in this state";
	case NS_GWC_E_QUEUE_FULL: return "outgoing queue full";
	case NS_GWC_E_CONNECT: return "could not connect to the gateway";
	case NS_GWC_E_CLOSED: return "the gateway closed the connection";
	case NS_GWC_E_TIMEOUT: return "the gateway did not answer in time";
	case NS_GWC_E_MALFORMED: return "malformed or unexpected gateway message";
	case NS_GWC_E_PROTOCOL: return "incompatible gateway protocol version";
	case NS_GWC_E_REGISTER_REFUSED: return "registration refused or failed";
	case NS_GWC_E_AUTH_REFUSED: return "authentication refused";
	case NS_GWC_E_BANDWIDTH: return "bandwidth claim refused";
	case NS_GWC_E_GATEWAY_ERROR: return "the gateway reported an error";
	case NS_GWC_E_OP: return "key operation failed";
	case NS_GWC_E_BAD_FRAME: return "received frame does not decrypt";
	case NS_GWC_E_GAVE_UP: return "gave up reconnecting";
	default: return "unknown error";
	}
}

const char *ns_gwc_state_name(enum ns_gwc_state s)
{
	static const char *const names[] = { "idle", "connecting", "protocol", "registering",
		                             "authenticating", "claiming", "ready", "backoff",
		                             "failed", "stopped" };
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* ------------------------------------------------------------------ queue */

static void pktq_init(struct pktq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void pktq_push(struct pktq *q, struct pkt *p)
{
	p->next = NULL;
	*q->tail = p;
	q->tail = &p->next;
	q->n++;
}

static void pktq_push_front(struct pktq *q, struct pkt *p)
{
	p->next = q->head;
	q->head = p;
	if (q->tail == &q->head)
		q->tail = &p->next;
	q->n++;
}

static struct pkt *pktq_pop(struct pktq *q)
{
	struct pkt *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = &q->head;
	q->n--;
	p->next = NULL;
	return p;
}

/* Moves all of `from` in front of `to`. */
static void pktq_prepend_all(struct pktq *to, struct pktq *from)
{
	if (!from->head)
		return;
	*from->tail = to->head;
	if (!to->head)
		to->tail = from->tail;
	to->head = from->head;
	to->n += from->n;
	pktq_init(from);
}

static void pkt_free(struct pkt *p)
{
	if (p) {
		free(p->data);
		free(p);
	}
}

static void pktq_free(struct pktq *q)
{
	struct pkt *p;
	while ((p = pktq_pop(q)))
		pkt_free(p);
}

/* ------------------------------------------------------------------ state */

static void set_state(struct ns_gwc *c, enum ns_gwc_state s)
{
	if (c->st.state == s)
		return;
	c->st.state = s;
	if (c->cb.on_state)
		c->cb.on_state(c, s, c->user);
}

static void set_error(struct ns_gwc *c, int err, const char *text)
{
	c->st.last_error = err;
	const char *t = text ? text : ns_gwc_strerror(err);
	size_t n = strlen(t);
	if (n >= sizeof c->st.last_error_text)
		n = sizeof c->st.last_error_text - 1; /* the gateway's text may be long */
	memmove(c->st.last_error_text, t, n);
	c->st.last_error_text[n] = 0;
}

static uint64_t new_id(struct ns_gwc *c)
{
	c->next_id = (c->next_id + 1) & ~OPEN_OP_BIT;
	if (c->next_id == 0)
		c->next_id = 1;
	return c->next_id;
}

static double now_s(const struct ns_gwc *c)
{
	return c->clk.now(c->clk.ctx);
}

static void timer_start(struct ns_gwc *c, unsigned id, double after)
{
	c->t_active[id] = 1;
	c->clk.timer_start(c->clk.ctx, id, after);
}

static void timer_stop(struct ns_gwc *c, unsigned id)
{
	if (c->t_active[id]) {
		c->t_active[id] = 0;
		c->clk.timer_stop(c->clk.ctx, id);
	}
}

static void arm_resp(struct ns_gwc *c)
{
	timer_start(c, NS_GWC_TIMER_RESPONSE, c->cfg.response_timeout);
}

static void held_free(struct ns_gwc *c)
{
	struct held *m;
	while ((m = c->held)) {
		c->held = m->next;
		ns_memzero(m->data, m->len);
		free(m);
	}
	c->held_tail = &c->held;
	c->n_held = 0;
}

/* Ends the current connection; in-flight packets go back in front of the queue. */
static void drop_connection(struct ns_gwc *c, int graceful)
{
	if (c->h) {
		void *h = c->h;
		c->h = NULL;
		c->tr->close(c->tr_ctx, h, graceful);
	}
	if (c->st.state == NS_GWC_REGISTERING && c->ops->hs_abort)
		c->ops->hs_abort(c->ops_ctx);
	c->ctl_id = 0;
	c->ctl_kind = CTL_NONE;
	c->seal_id = 0;
	c->claiming = 0;
	held_free(c);
	c->ping_out = 0;
	c->st.resent += c->inflight.n;
	pktq_prepend_all(&c->pending, &c->inflight);
	timer_stop(c, NS_GWC_TIMER_RESPONSE);
	timer_stop(c, NS_GWC_TIMER_KEEPALIVE);
}

static void fatal(struct ns_gwc *c, int err, const char *text)
{
	set_error(c, err, text);
	drop_connection(c, 0);
	timer_stop(c, NS_GWC_TIMER_BACKOFF);
	set_state(c, NS_GWC_FAILED);
}

static double backoff_delay(const struct ns_gwc *c)
{
	double d = c->cfg.backoff_initial;
	for (unsigned i = 1; i < c->st.failed_attempts && d < c->cfg.backoff_max; i++)
		d *= 2;
	if (d > c->cfg.backoff_max)
		d = c->cfg.backoff_max;
	/* +-20 % so that clients cut off together do not come back together */
	return d * (0.8 + 0.4 * (double)ns_random_uniform(1000001) / 1000000.0);
}

/* A recoverable failure: reconnect after a delay, or give up. */
static void conn_failed(struct ns_gwc *c, int err, const char *text)
{
	set_error(c, err, text);
	drop_connection(c, 0);
	c->st.failed_attempts++;
	if (c->cfg.max_attempts != UINT32_MAX && c->st.failed_attempts >= c->cfg.max_attempts) {
		char why[sizeof c->st.last_error_text + 40];
		snprintf(why, sizeof why, "%u attempts; last: %s", c->st.failed_attempts,
		         c->st.last_error_text);
		set_error(c, NS_GWC_E_GAVE_UP, why);
		set_state(c, NS_GWC_FAILED);
		return;
	}
	timer_start(c, NS_GWC_TIMER_BACKOFF, backoff_delay(c));
	set_state(c, NS_GWC_BACKOFF);
}

static void start_connection(struct ns_gwc *c)
{
	c->st.gateway_protocol = 0;
	c->reg_phase = REG_H1;
	set_state(c, NS_GWC_CONNECTING);
	c->connect_why = NULL;
	c->h = c->tr->connect(c->tr_ctx, c, c->url);
	if (!c->h) {
		conn_failed(c, NS_GWC_E_CONNECT, c->connect_why);
		return;
	}
	arm_resp(c);
}

static int send_text(struct ns_gwc *c, const char *text, size_t len)
{
	if (!c->h || c->tr->send(c->tr_ctx, c->h, 0, (const uint8_t *)text, len) < 0) {
		conn_failed(c, NS_GWC_E_CLOSED, "send failed");
		return -1;
	}
	return 0;
}

static void send_lit(struct ns_gwc *c, const char *text)
{
	send_text(c, text, strlen(text));
}

/* ------------------------------------------------------------------ sending */

static void maybe_writable(struct ns_gwc *c)
{
	size_t used = c->pending.n + c->inflight.n;
	if (c->want_writable && used <= c->cfg.max_queue / 2) {
		c->want_writable = 0;
		if (c->cb.on_writable)
			c->cb.on_writable(c, c->user);
	}
}

static void claim_bandwidth(struct ns_gwc *c)
{
	c->claiming = 1;
	arm_resp(c);
	send_lit(c, "{\"type\":\"claimFreeTestnetBandwidth\"}");
}

static uint8_t forward_kind(const struct ns_gwc *c)
{
	return c->st.negotiated_protocol >= NS_GW_PROTOCOL_KEY_ROTATION ? NS_GW_BIN_FORWARD_SPHINX_V2
	                                                                : NS_GW_BIN_FORWARD_SPHINX;
}

/* Starts sealing the head of the queue. 0 = the op was started, -1 = failed (handled). */
static int seal_head(struct ns_gwc *c)
{
	struct pkt *p = c->pending.head;
	uint8_t kind = forward_kind(c);
	struct nym_mix_packet mp = { .packet_type = p->packet_type,
		                     .key_rotation = kind == NS_GW_BIN_FORWARD_SPHINX_V2
		                                             ? p->key_rotation
		                                             : NYM_KEY_ROTATION_UNKNOWN,
		                     .next_hop = p->next_hop,
		                     .packet = p->data,
		                     .packet_len = p->len };
	size_t cap = nym_mix_packet_len(&mp, kind == NS_GW_BIN_FORWARD_SPHINX_V2 ? 2 : 1);
	uint8_t *pt = cap ? malloc(cap) : NULL;
	long n = -1;
	if (pt)
		n = kind == NS_GW_BIN_FORWARD_SPHINX_V2 ? nym_mix_packet_encode_v2(&mp, pt, cap)
		                                        : nym_mix_packet_encode_v1(&mp, pt, cap);
	if (n < 0) {
		/* cannot be encoded: drop it rather than block the queue forever */
		free(pt);
		pkt_free(pktq_pop(&c->pending));
		maybe_writable(c);
		return 0;
	}
	c->seal_id = new_id(c);
	int rc = c->ops->seal(c->ops_ctx, c, c->seal_id, kind, pt, (size_t)n);
	ns_memzero(pt, (size_t)n);
	free(pt);
	if (rc < 0) {
		c->seal_id = 0;
		fatal(c, NS_GWC_E_OP, "seal");
		return -1;
	}
	return 0;
}

/* Writes the frame of the queue's head and moves the head in flight. */
static void frame_out(struct ns_gwc *c, const uint8_t *frame, size_t len)
{
	if (c->tr->send(c->tr_ctx, c->h, 1, frame, len) < 0) {
		conn_failed(c, NS_GWC_E_CLOSED, "send failed");
		return;
	}
	struct pkt *p = pktq_pop(&c->pending);
	/* the gateway charges the packet length (of a sealed frame: a little less than this) */
	c->st.bandwidth -= (int64_t)p->len;
	pktq_push(&c->inflight, p);
	if (!c->t_active[NS_GWC_TIMER_RESPONSE])
		arm_resp(c);
}

/* A frame the caller sealed goes out as is: it is sealed under the registration's shared
 * key, which every later authentication reuses. It is void if a new key was registered
 * since, or if it is a kind 2 frame and this session negotiated < 5 (kind 1 is always
 * accepted): then it is dropped and the caller told. */
static void sealed_head(struct ns_gwc *c)
{
	struct pkt *p = c->pending.head;
	if (p->key_gen == c->key_gen &&
	    (p->kind != NS_GW_BIN_FORWARD_SPHINX_V2 || forward_kind(c) == p->kind)) {
		frame_out(c, p->data, p->len);
		return;
	}
	uint64_t id = p->sealed_id;
	pkt_free(pktq_pop(&c->pending));
	c->st.sealed_dropped++;
	if (c->cb.on_sealed_dropped)
		c->cb.on_sealed_dropped(c, id, c->user);
	maybe_writable(c);
}

static void pump(struct ns_gwc *c)
{
	if (c->in_pump)
		return;
	c->in_pump = 1;
	while (c->st.state == NS_GWC_READY && !c->claiming && !c->seal_id && c->pending.head) {
		if (c->st.bandwidth < c->cfg.claim_threshold) {
			claim_bandwidth(c);
			break;
		}
		if (c->pending.head->sealed)
			sealed_head(c);
		else if (seal_head(c) < 0)
			break;
		/* an op that answers later leaves seal_id set: wait for it */
	}
	c->in_pump = 0;
}

static void seal_done(struct ns_gwc *c, int rc, const uint8_t *frame, size_t len)
{
	c->seal_id = 0;
	if (rc < 0) {
		fatal(c, NS_GWC_E_OP, "seal");
		return;
	}
	frame_out(c, frame, len);
	pump(c);
}

/* ------------------------------------------------------------------ session steps */

static void go_ready(struct ns_gwc *c)
{
	timer_stop(c, NS_GWC_TIMER_RESPONSE);
	c->st.failed_attempts = 0;
	if (c->ever_ready)
		c->st.reconnects++;
	c->ever_ready = 1;
	c->last_rx = now_s(c);
	timer_start(c, NS_GWC_TIMER_KEEPALIVE, c->cfg.ping_interval);
	set_state(c, NS_GWC_READY);
	if (c->inflight.n) /* cannot happen: in-flight frames are requeued on every drop */
		arm_resp(c);
	pump(c);
}

static void authenticated(struct ns_gwc *c, int has_protocol, uint8_t protocol, int64_t bw)
{
	if (ns_gw_check_gateway_protocol(has_protocol, protocol) < 0) {
		fatal(c, NS_GWC_E_PROTOCOL, NULL);
		return;
	}
	c->st.negotiated_protocol = has_protocol ? protocol : 1;
	c->st.bandwidth = bw;
	if (bw < c->cfg.claim_threshold) {
		set_state(c, NS_GWC_CLAIMING);
		claim_bandwidth(c);
		return;
	}
	go_ready(c);
}

static void begin_register(struct ns_gwc *c)
{
	set_state(c, NS_GWC_REGISTERING);
	c->reg_phase = REG_H1;
	c->ctl_kind = CTL_H1;
	uint64_t id = c->ctl_id = new_id(c);
	int rc = c->ops->hs_h1(c->ops_ctx, c, id, c->st.gateway_protocol >= NS_GW_PROTOCOL_AES);
	if (rc < 0 && c->ctl_id == id) /* keyd refused: retrying would not help */
		fatal(c, NS_GWC_E_OP, ns_gw_strerror(rc));
}

static void begin_auth(struct ns_gwc *c)
{
	set_state(c, NS_GWC_AUTHENTICATING);
	int v2 = c->st.gateway_protocol >= NS_GW_PROTOCOL_AUTH_V2;
	c->ctl_kind = CTL_AUTH;
	uint64_t id = c->ctl_id = new_id(c);
	int rc = c->ops->auth_request(c->ops_ctx, c, id, v2, c->cfg.auth_protocol);
	if (rc < 0 && c->ctl_id == id) /* e.g. no stored key */
		fatal(c, NS_GWC_E_OP, ns_gw_strerror(rc));
}

static void send_hs_payload(struct ns_gwc *c, const uint8_t *b, size_t n)
{
	uint8_t version = c->st.gateway_protocol >= NS_GW_PROTOCOL_AES ? NS_GW_PROTOCOL_AES
	                                                             : NS_GW_PROTOCOL_INITIAL;
	char *text = NULL;
	size_t len = 0;
	if (ns_gw_hs_payload_encode(version, b, n, &text, &len) < 0) {
		conn_failed(c, NS_GWC_E_NOMEM, NULL);
		return;
	}
	arm_resp(c);
	send_text(c, text, len);
	free(text);
}

static void replay_held(struct ns_gwc *c);

static void ctl_done(struct ns_gwc *c, int rc, const uint8_t *out, size_t len)
{
	enum ctl_op kind = c->ctl_kind;
	c->ctl_id = 0;
	c->ctl_kind = CTL_NONE;
	if (rc < 0) {
		if (kind == CTL_H3 || kind == CTL_FINISH) /* bad gateway signature / H4 not [1] */
			fatal(c, NS_GWC_E_REGISTER_REFUSED, ns_gw_strerror(rc));
		else
			fatal(c, NS_GWC_E_OP, ns_gw_strerror(rc));
		return;
	}
	switch (kind) {
	case CTL_H1:
		c->reg_phase = REG_WAIT_H2;
		send_hs_payload(c, out, len);
		break;
	case CTL_H3:
		c->reg_phase = REG_WAIT_H4;
		send_hs_payload(c, out, len);
		break;
	case CTL_FINISH:
		c->reg_phase = REG_WAIT_RESPONSE;
		arm_resp(c);
		replay_held(c);
		break;
	case CTL_AUTH:
		arm_resp(c);
		send_text(c, (const char *)out, len);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ incoming text */

static void on_protocol_answer(struct ns_gwc *c, const struct ns_gw_response *r)
{
	if (r->type != NS_GW_RESP_SUPPORTED_PROTOCOL) {
		conn_failed(c, NS_GWC_E_MALFORMED, "expected supportedProtocol");
		return;
	}
	c->st.gateway_protocol = r->version ? r->version : 1;
	if (c->registered)
		begin_auth(c);
	else
		begin_register(c);
}

static void on_register_text(struct ns_gwc *c, const char *text, size_t len)
{
	if (c->reg_phase == REG_WAIT_H2 || c->reg_phase == REG_WAIT_H4) {
		struct ns_gw_hs_msg m;
		if (ns_gw_hs_msg_parse(text, len, &m, NULL) == 0) {
			if (m.type == NS_GW_HSMSG_ERROR) {
				fatal(c, NS_GWC_E_REGISTER_REFUSED, m.message);
			} else {
				int h2 = c->reg_phase == REG_WAIT_H2;
				if (!h2) /* frames sealed from now on may be under the new key */
					c->key_gen++;
				c->reg_phase = h2 ? REG_H3 : REG_FINISH;
				c->ctl_kind = h2 ? CTL_H3 : CTL_FINISH;
				uint64_t id = c->ctl_id = new_id(c);
				int rc = h2 ? c->ops->hs_h3(c->ops_ctx, c, id, m.data.data, m.data.len)
				            : c->ops->hs_finish(c->ops_ctx, c, id, m.data.data,
				                                m.data.len);
				if (rc < 0 && c->ctl_id == id)
					fatal(c, NS_GWC_E_REGISTER_REFUSED, ns_gw_strerror(rc));
			}
			ns_gw_hs_msg_free(&m);
			return;
		}
	}
	struct ns_gw_response r;
	if (ns_gw_response_parse(text, len, &r, NULL) < 0) {
		conn_failed(c, NS_GWC_E_MALFORMED, "registration");
		return;
	}
	if (r.type == NS_GW_RESP_ERROR) {
		fatal(c, NS_GWC_E_REGISTER_REFUSED, r.message);
	} else if (c->reg_phase == REG_WAIT_RESPONSE && r.type == NS_GW_RESP_REGISTER) {
		if (!r.status) {
			fatal(c, NS_GWC_E_REGISTER_REFUSED, "register status false");
		} else {
			c->registered = 1;
			if (c->cb.on_registered)
				c->cb.on_registered(c, c->user);
			if (c->st.state == NS_GWC_REGISTERING)
				authenticated(c, r.has_protocol, r.protocol_version, 0);
		}
	} else {
		conn_failed(c, NS_GWC_E_MALFORMED, "registration");
	}
	ns_gw_response_free(&r);
}

static void on_auth_answer(struct ns_gwc *c, const struct ns_gw_response *r)
{
	if (c->ctl_id) { /* our request is not even out yet */
		conn_failed(c, NS_GWC_E_MALFORMED, "answer before the request");
	} else if (r->type == NS_GW_RESP_ERROR) {
		fatal(c, NS_GWC_E_AUTH_REFUSED, r->message);
	} else if (r->type != NS_GW_RESP_AUTHENTICATE) {
		conn_failed(c, NS_GWC_E_MALFORMED, "expected authenticate");
	} else if (!r->status) {
		fatal(c, NS_GWC_E_AUTH_REFUSED, "authenticate status false");
	} else {
		authenticated(c, r->has_protocol, r->protocol_version, r->bandwidth);
	}
}

static void on_send_confirmed(struct ns_gwc *c, int64_t remaining)
{
	struct pkt *p = pktq_pop(&c->inflight);
	if (!p)
		return; /* unsolicited: nothing to confirm */
	pkt_free(p);
	c->st.sent_confirmed++;
	c->st.bandwidth = remaining;
	if (c->inflight.n)
		arm_resp(c);
	else if (!c->claiming)
		timer_stop(c, NS_GWC_TIMER_RESPONSE);
	maybe_writable(c);
}

static void on_session_text(struct ns_gwc *c, const struct ns_gw_response *r)
{
	switch (r->type) {
	case NS_GW_RESP_SEND:
		on_send_confirmed(c, r->bandwidth);
		break;
	case NS_GW_RESP_BANDWIDTH:
		if (!c->claiming) {
			conn_failed(c, NS_GWC_E_MALFORMED, "unrequested bandwidth");
			return;
		}
		c->claiming = 0;
		c->st.bandwidth = r->bandwidth;
		if (c->st.state == NS_GWC_CLAIMING) {
			go_ready(c);
			return;
		}
		if (!c->inflight.n)
			timer_stop(c, NS_GWC_TIMER_RESPONSE);
		break;
	case NS_GW_RESP_TYPED_ERROR:
		if (r->typed_error == NS_GW_TYPED_OUT_OF_BANDWIDTH && c->inflight.head) {
			/* the gateway dropped this packet: send it again after a claim */
			pktq_push_front(&c->pending, pktq_pop(&c->inflight));
			c->st.bandwidth = 0;
			break;
		}
		conn_failed(c, NS_GWC_E_GATEWAY_ERROR, "typed error");
		return;
	case NS_GW_RESP_ERROR:
		if (c->claiming)
			fatal(c, NS_GWC_E_BANDWIDTH, r->message);
		else
			conn_failed(c, NS_GWC_E_GATEWAY_ERROR, r->message);
		return;
	default:
		conn_failed(c, NS_GWC_E_MALFORMED, "unexpected response");
		return;
	}
	pump(c);
}

static void on_text(struct ns_gwc *c, const char *text, size_t len)
{
	if (c->st.state == NS_GWC_REGISTERING) {
		on_register_text(c, text, len);
		return;
	}
	struct ns_gw_response r;
	if (ns_gw_response_parse(text, len, &r, NULL) < 0) {
		conn_failed(c, NS_GWC_E_MALFORMED, "unparsable text");
		return;
	}
	switch (c->st.state) {
	case NS_GWC_PROTOCOL:
		on_protocol_answer(c, &r);
		break;
	case NS_GWC_AUTHENTICATING:
		on_auth_answer(c, &r);
		break;
	case NS_GWC_CLAIMING:
	case NS_GWC_READY:
		on_session_text(c, &r);
		break;
	default:
		break;
	}
	ns_gw_response_free(&r);
}

/* ------------------------------------------------------------------ incoming binary */

static int may_receive_binary(const struct ns_gwc *c)
{
	/* stored messages may be pushed before the authenticate / register answer */
	switch (c->st.state) {
	case NS_GWC_AUTHENTICATING:
	case NS_GWC_CLAIMING:
	case NS_GWC_READY:
		return 1;
	case NS_GWC_REGISTERING:
		return c->reg_phase == REG_WAIT_RESPONSE;
	default:
		return 0;
	}
}

static void on_binary(struct ns_gwc *c, const uint8_t *data, size_t len)
{
	if (!may_receive_binary(c)) {
		conn_failed(c, NS_GWC_E_MALFORMED, "binary frame before authentication");
		return;
	}
	uint64_t id = new_id(c) | OPEN_OP_BIT;
	if (c->ops->open(c->ops_ctx, c, id, data, len) < 0) {
		c->st.bad_frames++;
		conn_failed(c, NS_GWC_E_BAD_FRAME, NULL);
	}
}

static void open_done(struct ns_gwc *c, int rc, const uint8_t *msg, size_t len)
{
	if (rc < 0) {
		c->st.bad_frames++;
		/* the reference client stops reading at an undecryptable frame: start over */
		if (c->h)
			conn_failed(c, NS_GWC_E_BAD_FRAME, ns_gw_strerror(rc));
		return;
	}
	c->st.received++;
	if (c->cb.on_message)
		c->cb.on_message(c, msg, len, c->user);
}

/* ------------------------------------------------------------------ transport events */

void ns_gwc_tr_connect_failed(struct ns_gwc *c, const char *why)
{
	c->connect_why = why;
}

void ns_gwc_tr_open(struct ns_gwc *c, void *h)
{
	if (!c || h != c->h || c->st.state != NS_GWC_CONNECTING)
		return;
	set_state(c, NS_GWC_PROTOCOL);
	arm_resp(c);
	send_lit(c, "{\"type\":\"supportedProtocol\"}");
}

/* The gateway answers `register` right behind H4 (and may push stored messages after it):
 * until hs_finish has stored the key, such messages wait here in order. */
static void hold(struct ns_gwc *c, int binary, const uint8_t *data, size_t len)
{
	struct held *m = c->n_held < MAX_HELD ? malloc(sizeof *m + len) : NULL;
	if (!m) {
		conn_failed(c, NS_GWC_E_MALFORMED, "too much before the handshake finished");
		return;
	}
	m->next = NULL;
	m->binary = binary;
	m->len = len;
	memcpy(m->data, data, len);
	*c->held_tail = m;
	c->held_tail = &m->next;
	c->n_held++;
}

static void dispatch(struct ns_gwc *c, int binary, const uint8_t *data, size_t len)
{
	if (binary)
		on_binary(c, data, len);
	else
		on_text(c, (const char *)data, len);
}

static void replay_held(struct ns_gwc *c)
{
	void *h = c->h;
	struct held *m;
	while (c->h == h && (m = c->held)) {
		c->held = m->next;
		if (!c->held)
			c->held_tail = &c->held;
		c->n_held--;
		dispatch(c, m->binary, m->data, m->len);
		ns_memzero(m->data, m->len);
		free(m);
	}
}

void ns_gwc_tr_message(struct ns_gwc *c, void *h, int binary, const uint8_t *data, size_t len)
{
	if (!c || !h || h != c->h)
		return;
	c->last_rx = now_s(c);
	c->ping_out = 0;
	if (c->st.state == NS_GWC_CONNECTING) {
		conn_failed(c, NS_GWC_E_MALFORMED, "message before open");
		return;
	}
	if (c->st.state == NS_GWC_REGISTERING && c->reg_phase == REG_FINISH)
		hold(c, binary, data, len);
	else
		dispatch(c, binary, data, len);
}

void ns_gwc_tr_pong(struct ns_gwc *c, void *h)
{
	if (!c || !h || h != c->h)
		return;
	c->last_rx = now_s(c);
	c->ping_out = 0;
}

void ns_gwc_tr_closed(struct ns_gwc *c, void *h, int code, const char *why)
{
	if (!c || !h || h != c->h)
		return;
	c->h = NULL; /* gone already: do not close it again */
	char text[96];
	snprintf(text, sizeof text, "closed (%d%s%s)", code, why ? ": " : "", why ? why : "");
	conn_failed(c, c->st.state == NS_GWC_CONNECTING ? NS_GWC_E_CONNECT : NS_GWC_E_CLOSED, text);
}

/* ------------------------------------------------------------------ ops results */

void ns_gwc_op_done(struct ns_gwc *c, uint64_t id, int rc, const uint8_t *out, size_t len)
{
	if (!c || id == 0)
		return;
	if (rc == 0 && !out && len)
		rc = NS_GWC_E_OP;
	if (id & OPEN_OP_BIT)
		open_done(c, rc, out, len);
	else if (id == c->ctl_id)
		ctl_done(c, rc, out, len);
	else if (id == c->seal_id)
		seal_done(c, rc, out, len);
	/* else: the connection it belonged to is gone */
}

/* ------------------------------------------------------------------ timers */

static void resp_timeout(struct ns_gwc *c)
{
	char text[64];
	snprintf(text, sizeof text, "no answer while %s", ns_gwc_state_name(c->st.state));
	conn_failed(c, NS_GWC_E_TIMEOUT, text);
}

static void backoff_over(struct ns_gwc *c)
{
	if (c->st.state != NS_GWC_BACKOFF)
		return;
	if (c->ever_ready)
		c->st.reconnect_attempts++;
	start_connection(c);
}

static void keepalive(struct ns_gwc *c)
{
	if (c->st.state != NS_GWC_READY || !c->h)
		return;
	double now = now_s(c), next;
	if (c->ping_out) {
		if (now - c->ping_sent >= c->cfg.ping_timeout) {
			conn_failed(c, NS_GWC_E_TIMEOUT, "keepalive: no pong");
			return;
		}
		next = c->ping_sent + c->cfg.ping_timeout - now;
	} else if (now - c->last_rx >= c->cfg.ping_interval) {
		if (c->tr->ping(c->tr_ctx, c->h) < 0) {
			conn_failed(c, NS_GWC_E_CLOSED, "ping failed");
			return;
		}
		c->ping_out = 1;
		c->ping_sent = now;
		next = c->cfg.ping_timeout;
	} else {
		next = c->last_rx + c->cfg.ping_interval - now;
	}
	timer_start(c, NS_GWC_TIMER_KEEPALIVE, next > 0.001 ? next : 0.001);
}

void ns_gwc_timer(struct ns_gwc *c, unsigned id)
{
	if (!c || id >= NS_GWC_TIMERS || !c->t_active[id])
		return;
	c->t_active[id] = 0;
	if (id == NS_GWC_TIMER_RESPONSE)
		resp_timeout(c);
	else if (id == NS_GWC_TIMER_BACKOFF)
		backoff_over(c);
	else
		keepalive(c);
}

/* ------------------------------------------------------------------ public API */

static void apply_defaults(struct ns_gwc_config *cfg)
{
	if (cfg->response_timeout <= 0)
		cfg->response_timeout = DEF_RESPONSE_TIMEOUT;
	if (cfg->ping_interval <= 0)
		cfg->ping_interval = DEF_PING_INTERVAL;
	if (cfg->ping_timeout <= 0)
		cfg->ping_timeout = DEF_PING_TIMEOUT;
	if (cfg->backoff_initial <= 0)
		cfg->backoff_initial = DEF_BACKOFF_INITIAL;
	if (cfg->backoff_max <= 0)
		cfg->backoff_max = DEF_BACKOFF_MAX;
	if (cfg->backoff_max < cfg->backoff_initial)
		cfg->backoff_max = cfg->backoff_initial;
	if (!cfg->max_attempts)
		cfg->max_attempts = DEF_MAX_ATTEMPTS;
	if (!cfg->max_queue)
		cfg->max_queue = DEF_MAX_QUEUE;
	if (!cfg->claim_threshold)
		cfg->claim_threshold = DEF_CLAIM_THRESHOLD;
	if (!cfg->auth_protocol)
		cfg->auth_protocol = DEF_AUTH_PROTOCOL;
}

struct ns_gwc *ns_gwc_new_clocked(const struct ns_gwc_clock *clk, const struct ns_gwc_config *cfg,
                                  const struct ns_gwc_ops *ops, void *ops_ctx,
                                  const struct ns_gwc_transport *tr, void *tr_ctx,
                                  const struct ns_gwc_callbacks *cb, void *user)
{
	if (!clk || !clk->now || !clk->timer_start || !clk->timer_stop || !cfg || !cfg->url || !ops || !ops->hs_h1 || !ops->hs_h3 || !ops->hs_finish ||
	    !ops->auth_request || !ops->open || !tr || !tr->connect || !tr->send ||
	    !tr->ping || !tr->close)
		return NULL;
	struct ns_gwc *c = calloc(1, sizeof *c);
	if (!c || !(c->url = strdup(cfg->url))) {
		free(c);
		return NULL;
	}
	c->clk = *clk;
	c->cfg = *cfg;
	c->cfg.url = c->url;
	apply_defaults(&c->cfg);
	c->ops = ops;
	c->ops_ctx = ops_ctx;
	c->tr = tr;
	c->tr_ctx = tr_ctx;
	if (cb)
		c->cb = *cb;
	c->user = user;
	c->registered = cfg->registered;
	pktq_init(&c->pending);
	pktq_init(&c->inflight);
	c->held_tail = &c->held;
	c->st.state = NS_GWC_IDLE;
	return c;
}

void ns_gwc_free(struct ns_gwc *c)
{
	if (!c)
		return;
	drop_connection(c, 0);
	timer_stop(c, NS_GWC_TIMER_BACKOFF);
	pktq_free(&c->pending);
	pktq_free(&c->inflight);
	free(c->url);
	if (c->clk.release)
		c->clk.release(c->clk.ctx);
	free(c);
}

int ns_gwc_start(struct ns_gwc *c)
{
	if (!c)
		return NS_GWC_E_ARG;
	if (c->st.state != NS_GWC_IDLE && c->st.state != NS_GWC_FAILED &&
	    c->st.state != NS_GWC_STOPPED)
		return NS_GWC_E_STATE;
	c->st.failed_attempts = 0;
	start_connection(c);
	return 0;
}

void ns_gwc_stop(struct ns_gwc *c)
{
	if (!c)
		return;
	drop_connection(c, 1);
	timer_stop(c, NS_GWC_TIMER_BACKOFF);
	set_state(c, NS_GWC_STOPPED);
}

/* A new queue entry holding a copy of data, or NULL (error in *err). */
static struct pkt *queue_entry(struct ns_gwc *c, const uint8_t *data, size_t len, int *err)
{
	if (c->pending.n + c->inflight.n >= c->cfg.max_queue) {
		c->want_writable = 1;
		*err = NS_GWC_E_QUEUE_FULL;
		return NULL;
	}
	struct pkt *k = calloc(1, sizeof *k);
	if (!k || !(k->data = malloc(len))) {
		free(k);
		*err = NS_GWC_E_NOMEM;
		return NULL;
	}
	memcpy(k->data, data, len);
	k->len = len;
	return k;
}

int ns_gwc_send(struct ns_gwc *c, const struct nym_mix_packet *p)
{
	if (!c || !p || !p->packet || !p->packet_len || !c->ops->seal)
		return NS_GWC_E_ARG;
	int err = 0;
	struct pkt *k = queue_entry(c, p->packet, p->packet_len, &err);
	if (!k)
		return err;
	k->packet_type = p->packet_type;
	k->key_rotation = p->key_rotation;
	k->next_hop = p->next_hop;
	pktq_push(&c->pending, k);
	pump(c);
	return 0;
}

int ns_gwc_send_sealed(struct ns_gwc *c, uint8_t kind, const uint8_t *frame, size_t len,
                       uint64_t id)
{
	if (!c || !frame || !len ||
	    (kind != NS_GW_BIN_FORWARD_SPHINX && kind != NS_GW_BIN_FORWARD_SPHINX_V2))
		return NS_GWC_E_ARG;
	int err = 0;
	struct pkt *k = queue_entry(c, frame, len, &err);
	if (!k)
		return err;
	k->sealed = 1;
	k->kind = kind;
	k->sealed_id = id;
	k->key_gen = c->key_gen;
	pktq_push(&c->pending, k);
	pump(c);
	return 0;
}

uint8_t ns_gwc_forward_kind(const struct ns_gwc *c)
{
	if (!c || !c->st.negotiated_protocol)
		return 0;
	return forward_kind(c);
}

void ns_gwc_get_status(const struct ns_gwc *c, struct ns_gwc_status *out)
{
	*out = c->st;
	out->queued = c->pending.n;
	out->in_flight = c->inflight.n;
}

enum ns_gwc_state ns_gwc_state(const struct ns_gwc *c)
{
	return c->st.state;
}

const struct ns_gwc_clock *ns_gwc_clock(const struct ns_gwc *c)
{
	return &c->clk;
}

/* ------------------------------------------------------------------ in-process ops */

static int keys_hs_h1(void *ctx, struct ns_gwc *c, uint64_t id, int aes)
{
	struct ns_gwc_keys *k = ctx;
	ns_gwc_keys_clear_handshake(k);
	struct ns_gw_hs *hs = calloc(1, sizeof *hs);
	if (!hs)
		return NS_GW_ENOMEM;
	k->hs = hs;
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n = 0;
	ns_gw_hs_client_begin(hs, k->identity_seed, k->gateway_identity, aes, 0);
	int rc = ns_gw_hs_client_h1(hs, out, sizeof out, &n);
	if (rc < 0)
		return rc;
	ns_gwc_op_done(c, id, 0, out, n);
	return 0;
}

static int keys_hs_h3(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h2, size_t len)
{
	struct ns_gwc_keys *k = ctx;
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n = 0;
	if (!k->hs)
		return NS_GW_ESTATE;
	int rc = ns_gw_hs_client_h3(k->hs, h2, len, out, sizeof out, &n);
	if (rc < 0) {
		ns_gwc_keys_clear_handshake(k);
		return rc;
	}
	ns_gwc_op_done(c, id, 0, out, n);
	return 0;
}

static int keys_hs_finish(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h4,
                          size_t len)
{
	struct ns_gwc_keys *k = ctx;
	if (!k->hs)
		return NS_GW_ESTATE;
	int rc = ns_gw_hs_client_finish(k->hs, h4, len);
	if (rc == 0)
		rc = ns_gw_hs_key(k->hs, &k->key);
	ns_gwc_keys_clear_handshake(k);
	if (rc < 0)
		return rc;
	k->have_key = 1;
	ns_gwc_op_done(c, id, 0, NULL, 0);
	return 0;
}

static int sign_auth_v2(struct ns_gwc_keys *k, struct ns_gw_auth_v2 *a)
{
	uint8_t sk[64], pk[32], m[NS_GW_AUTH_V2_MSG_MAX];
	size_t mlen = 0;
	int rc = ns_gw_auth_v2_message(a, m, sizeof m, &mlen);
	if (rc == 0) {
		ns_ed25519_from_seed(pk, sk, k->identity_seed);
		ns_ed25519_sign(a->signature, m, mlen, sk);
		ns_memzero(sk, sizeof sk);
	}
	return rc;
}

static int keys_auth_request(void *ctx, struct ns_gwc *c, uint64_t id, int v2, uint8_t protocol)
{
	struct ns_gwc_keys *k = ctx;
	if (!k->have_key)
		return NS_GW_ENOT_REGISTERED;
	struct ns_gw_request req;
	memset(&req, 0, sizeof req);
	int rc;
	if (v2) {
		/* the gateway wants strictly growing whole-second timestamps */
		uint64_t ts = (uint64_t)time(NULL);
		if (ts <= k->last_auth_timestamp)
			ts = k->last_auth_timestamp + 1;
		req.type = NS_GW_REQ_AUTHENTICATE_V2;
		rc = ns_gw_auth_v2_build(&req.auth, &k->key, k->identity_seed, ts);
		if (rc == 0 && protocol != req.auth.protocol_version) {
			req.auth.protocol_version = protocol;
			rc = sign_auth_v2(k, &req.auth);
		}
		if (rc == 0)
			k->last_auth_timestamp = ts;
	} else {
		uint8_t sk[64], pk[32];
		ns_ed25519_from_seed(pk, sk, k->identity_seed);
		ns_memzero(sk, sizeof sk);
		rc = ns_gw_auth_v1_build(&req, &k->key, pk, 0);
	}
	char *text = NULL;
	size_t len = 0;
	if (rc == 0)
		rc = ns_gw_request_encode(&req, &text, &len);
	ns_gw_request_free(&req);
	if (rc < 0)
		return rc;
	ns_gwc_op_done(c, id, 0, (const uint8_t *)text, len);
	free(text);
	return 0;
}

static int keys_seal(void *ctx, struct ns_gwc *c, uint64_t id, uint8_t kind, const uint8_t *pt,
                     size_t len)
{
	struct ns_gwc_keys *k = ctx;
	if (!k->have_key)
		return NS_GW_ENOT_REGISTERED;
	size_t cap = ns_gw_frame_len(&k->key, len), n = 0;
	uint8_t *out = malloc(cap);
	if (!out)
		return NS_GW_ENOMEM;
	int rc = ns_gw_frame_seal(&k->key, kind, pt, len, out, cap, &n);
	if (rc == 0)
		ns_gwc_op_done(c, id, 0, out, n);
	free(out);
	return rc;
}

static int keys_open(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *frame, size_t len)
{
	struct ns_gwc_keys *k = ctx;
	if (!k->have_key)
		return NS_GW_ENOT_REGISTERED;
	uint8_t *out = malloc(len ? len : 1);
	size_t n = 0;
	if (!out)
		return NS_GW_ENOMEM;
	int rc = ns_gw_pushed_message_decode(&k->key, frame, len, out, len, &n);
	ns_gwc_op_done(c, id, rc, rc == 0 ? out : NULL, rc == 0 ? n : 0);
	ns_memzero(out, len);
	free(out);
	return 0;
}

static void keys_hs_abort(void *ctx)
{
	ns_gwc_keys_clear_handshake(ctx);
}

const struct ns_gwc_ops *ns_gwc_default_ops(void)
{
	static const struct ns_gwc_ops ops = { .hs_h1 = keys_hs_h1, .hs_h3 = keys_hs_h3,
		                               .hs_finish = keys_hs_finish,
		                               .auth_request = keys_auth_request, .seal = keys_seal,
		                               .open = keys_open, .hs_abort = keys_hs_abort };
	return &ops;
}

void ns_gwc_keys_clear_handshake(struct ns_gwc_keys *k)
{
	if (k && k->hs) {
		ns_gw_hs_clear(k->hs);
		free(k->hs);
		k->hs = NULL;
	}
}

void ns_gwc_keys_clear(struct ns_gwc_keys *k)
{
	if (!k)
		return;
	ns_gwc_keys_clear_handshake(k);
	ns_memzero(k, sizeof *k);
}
