/* apid: serves local apps Nym's websocket API (common/clientapi) on host:port, and the same
 * API on a Unix socket, many apps at once, on the client engine (common/engine): every
 * request becomes an engine call, every message that arrives goes to every connected app.
 * Never holds a key. Lanes: a connection id c travels on IPC lane c + 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "clientapi.h"
#include "admin.h"
#include "apid.h"
#include "crypto.h"
#include "engine/engine.h"
#include "nymclient.h"
#include "sandbox.h"
#include "shbuf.h"
#include "websocket.h"

/* An app that leaves this much unread is not read from until it reads (pongs, answers). */
#define READ_PAUSE_BYTES (1u << 20)

struct apid {
	struct ev_loop *loop;
	struct ns_engine *engine;
	ns_ws_server *ws;
	struct nc_app *apps; /* nc_lim.max_apps slots */
	size_t n_apps;
	uint64_t delivered;
	ev_idle room;      /* frees budget for a reader stopped by it (make_room, outside callbacks) */
	size_t room_need;
	struct held_msg *held, **held_tail; /* arrived while no app was connected */
	size_t n_held, held_bytes;
	uint64_t held_dropped;
};

static struct apid g_a;

/* ---- answers to apps */

static void respond(struct nc_app *a, const struct capi_response *r)
{
	size_t len = 0;
	if (a->binary) {
		uint8_t *b = capi_response_to_binary(r, &len);
		if (b)
			a->t->send(a, 1, b, len);
		free(b);
	} else {
		char *t = capi_response_to_text(r, &len);
		if (t)
			a->t->send(a, 0, (const uint8_t *)t, len);
		free(t);
	}
}

static void respond_error(struct nc_app *a, uint8_t kind, const char *msg)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_ERROR;
	if (capi_error_set(&r.error, kind, msg, strlen(msg)) == 0)
		respond(a, &r);
	capi_response_free(&r);
}

/* ---- requests */

static uint64_t lane_of(const struct capi_request *req)
{
	return req->has_connection_id ? req->connection_id + 1 : 0;
}

static int send_message(struct nc_app *a, const struct capi_request *req)
{
	uint8_t to[96];
	nym_recipient_to_bytes(&req->recipient, to);
	return ns_engine_send(g_a.engine, to, req->message, req->message_len, lane_of(req), a, NULL);
}

/* sendAnonymous: our tag for the recipient and replySurbs fresh SURBs (none is fine). */
static int send_anonymous(struct nc_app *a, const struct capi_request *req)
{
	uint8_t to[96];
	nym_recipient_to_bytes(&req->recipient, to);
	return ns_engine_send_anonymous(g_a.engine, to, req->message, req->message_len,
	                                req->reply_surbs, lane_of(req), a, NULL);
}

/* Nym's handler answers laneQueueLength after every send with a connection id, and to
 * getLaneQueueLength: the packets queued on the lane and not yet sent to the gateway, plus
 * replies waiting for SURBs. The engine's lane depth counts the same. */
static void respond_lane_length(struct nc_app *a, uint64_t connection_id)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_LANE_QUEUE_LENGTH;
	r.lane = connection_id;
	r.queue_length = ns_engine_lane_depth(g_a.engine, connection_id + 1);
	respond(a, &r);
}

static void handle_send(struct nc_app *a, const struct capi_request *req)
{
	int rc;
	if (req->type == CAPI_REQ_SEND_ANONYMOUS && req->reply_surbs > NS_ENGINE_MAX_REPLY_SURBS) {
		respond_error(a, CAPI_OTHER, "too many reply SURBs requested (at most 65535)");
		return;
	}
	if (req->type == CAPI_REQ_SEND)
		rc = send_message(a, req);
	else if (req->type == CAPI_REQ_SEND_ANONYMOUS)
		rc = send_anonymous(a, req);
	else /* an unknown tag is logged and dropped, as Nym does (no response) */
		rc = ns_engine_reply(g_a.engine, req->sender_tag, req->message, req->message_len,
		                     lane_of(req));
	if (rc < 0)
		respond_error(a, CAPI_OTHER, "the message could not be split into packets");
	else if (req->has_connection_id)
		respond_lane_length(a, req->connection_id);
}

static void answer_self(struct nc_app *a)
{
	struct capi_response r;
	uint8_t self[96];
	memset(&r, 0, sizeof r);
	if (ns_engine_self_address(g_a.engine, self) < 0 ||
	    nym_recipient_from_bytes(self, &r.address) < 0) {
		respond_error(a, CAPI_OTHER, "the client address is malformed");
		return;
	}
	r.type = CAPI_RESP_SELF_ADDRESS;
	respond(a, &r);
}

static void handle_request(struct nc_app *a, const struct capi_request *req)
{
	uint8_t self[96];
	switch (req->type) {
	case CAPI_REQ_SELF_ADDRESS:
		if (ns_engine_self_address(g_a.engine, self) < 0) { /* keyd has not said it yet */
			a->wants_self = 1;
			return;
		}
		answer_self(a);
		return;
	case CAPI_REQ_SEND:
	case CAPI_REQ_SEND_ANONYMOUS:
	case CAPI_REQ_REPLY:
		handle_send(a, req);
		return;
	case CAPI_REQ_GET_LANE_QUEUE_LENGTH:
		respond_lane_length(a, req->connection_id);
		return;
	case CAPI_REQ_CLOSED_CONNECTION:
		/* Nym drops the lane's queued packets; ours leave the lane, still retransmitted */
		ns_engine_close_lane(g_a.engine, req->connection_id + 1);
		return;
	}
}


/* ---- apps, whatever carries them (websocket here, Unix socket in apid_local.c) */

/* ---- messages that arrive while no app is connected wait for the next one (as Nym's
 * received buffer does), bounded: the oldest go first when the bound is reached */

#define HELD_MAX_MSGS 1024
#define HELD_MAX_BYTES (64u << 20)

struct held_msg {
	struct held_msg *next;
	int has_tag;
	uint8_t tag[NYM_SENDER_TAG_LEN];
	size_t len;
	uint8_t data[];
};

static int any_app_open(void)
{
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		if (g_a.apps[i].t && g_a.apps[i].t->is_open(&g_a.apps[i]))
			return 1;
	return 0;
}

static void held_drop_oldest(void)
{
	struct held_msg *h = g_a.held;
	g_a.held = h->next;
	if (!g_a.held)
		g_a.held_tail = &g_a.held;
	g_a.n_held--;
	g_a.held_bytes -= h->len;
	g_a.held_dropped++;
	ns_memzero(h->data, h->len);
	free(h);
}

static void hold_message(const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	if (len > HELD_MAX_BYTES)
		return;
	if (!g_a.held_tail)
		g_a.held_tail = &g_a.held;
	while (g_a.held && (g_a.n_held >= HELD_MAX_MSGS || g_a.held_bytes + len > HELD_MAX_BYTES))
		held_drop_oldest();
	struct held_msg *h = malloc(sizeof *h + len);
	if (!h) {
		g_a.held_dropped++;
		return;
	}
	h->next = NULL;
	h->has_tag = sender_tag != NULL;
	if (sender_tag)
		memcpy(h->tag, sender_tag, NYM_SENDER_TAG_LEN);
	h->len = len;
	memcpy(h->data, msg, len);
	*g_a.held_tail = h;
	g_a.held_tail = &h->next;
	g_a.n_held++;
	g_a.held_bytes += len;
}

static void deliver(const uint8_t *msg, size_t len, const uint8_t *sender_tag, int may_evict);

/* Held messages go to a new app without closing anyone: what they take over the budget is
 * bounded by the held queue's own bounds. */
static void flush_held(void)
{
	while (g_a.held && any_app_open()) {
		struct held_msg *h = g_a.held;
		g_a.held = h->next;
		g_a.n_held--;
		g_a.held_bytes -= h->len;
		deliver(h->data, h->len, h->has_tag ? h->tag : NULL, 0);
		ns_memzero(h->data, h->len);
		free(h);
	}
	if (!g_a.held)
		g_a.held_tail = &g_a.held;
}

struct nc_app *nc_app_open(const struct nc_app_transport *t, void *conn, int binary)
{
	if (g_a.n_apps >= nc_lim.max_apps) {
		nc_event(NC_EV_REFUSED_APPS);
		return NULL;
	}
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		if (!g_a.apps[i].t) {
			g_a.apps[i] = (struct nc_app){ .t = t, .conn = conn, .binary = binary };
			g_a.n_apps++;
			nc_debug("apid", "app %zu connected (%zu apps)", i, g_a.n_apps);
			flush_held();
			return &g_a.apps[i];
		}
	return NULL;
}

void nc_app_close(struct nc_app *a)
{
	if (a->t)
		g_a.n_apps--;
	nc_debug("apid", "app %zu closed (%zu apps)", (size_t)(a - g_a.apps), g_a.n_apps);
	ns_engine_forget_owner(g_a.engine, a);
	memset(a, 0, sizeof *a);
}

int nc_app_request(struct nc_app *a, int binary, const uint8_t *data, size_t len)
{
	struct capi_request req;
	struct capi_error err = { 0 };
	a->binary = binary;
	int rc = binary ? capi_request_from_binary(data, len, &req, &err)
	                : capi_request_from_text((const char *)data, len, &req, &err);
	if (rc == CAPI_ERR) {
		struct capi_response r;
		memset(&r, 0, sizeof r);
		if (capi_response_from_error(&r, &err) == 0)
			respond(a, &r);
		capi_response_free(&r);
		capi_error_free(&err);
		return 0;
	}
	if (rc < 0)
		return -1;
	handle_request(a, &req);
	capi_request_free(&req);
	return 0;
}

/* ---- websocket transport */

static int ws_app_send(struct nc_app *a, int binary, const uint8_t *data, size_t len)
{
	return ns_ws_send(a->conn, binary ? NS_WS_BINARY : NS_WS_TEXT, data, len) < 0 ? -1 : 0;
}

static int ws_app_send_shared(struct nc_app *a, int binary, struct ns_shbuf *b)
{
	return ns_ws_send_shared(a->conn, binary ? NS_WS_BINARY : NS_WS_TEXT, b) < 0 ? -1 : 0;
}

static int ws_app_is_open(const struct nc_app *a)
{
	return ns_ws_is_open(a->conn);
}

static size_t ws_app_backlog(const struct nc_app *a, uint64_t *oldest)
{
	return ns_ws_backlog(a->conn, oldest);
}

static void ws_app_close_slow(struct nc_app *a)
{
	ns_ws_close_discard(a->conn, 1008, NC_SLOW_REASON);
}

static const struct nc_app_transport ws_transport = { .send = ws_app_send,
	                                              .send_shared = ws_app_send_shared,
	                                              .is_open = ws_app_is_open,
	                                              .backlog = ws_app_backlog,
	                                              .close_slow = ws_app_close_slow };

static struct nc_app *app_of(ns_ws_conn *c)
{
	return ns_ws_user(c);
}

static void ws_open(ns_ws_conn *c, void *user)
{
	(void)user;
	/* Nym pushes binary until the app's first request says otherwise */
	struct nc_app *a = nc_app_open(&ws_transport, c, 1);
	ns_ws_set_user(c, a);
	if (!a)
		ns_ws_close(c, 1013, "too many apps connected: try again later");
}

static void ws_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
                       void *user)
{
	(void)user;
	struct nc_app *a = app_of(c);
	if (a && nc_app_request(a, type == NS_WS_BINARY, data, len) < 0)
		ns_ws_abort(c);
}

static void ws_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	(void)user;
	struct nc_app *a = app_of(c);
	if (a)
		nc_app_close(a);
	if (code == 0 && !strcmp(why, "handshake timed out"))
		nc_event(NC_EV_HANDSHAKE_TIMEOUT);
	else if (!strcmp(why, "an unfinished message made no progress"))
		nc_event(NC_EV_PARTIAL_TIMEOUT);
	nc_conns_changed();
}

static void ws_refuse(int reason, void *user)
{
	(void)user;
	nc_event(reason == NS_WS_REFUSED_NO_FD ? NC_EV_REFUSED_FDS : NC_EV_REFUSED_APPS);
}

static const ns_ws_callbacks ws_cb = { .on_open = ws_open, .on_message = ws_message,
	                               .on_close = ws_close, .on_refuse = ws_refuse };

size_t nc_ws_conns(void)
{
	return g_a.ws ? ns_ws_server_connections(g_a.ws) : 0;
}

/* The websocket server may hold what the Unix-socket API leaves of the connection limit. */
void nc_conns_changed(void)
{
	size_t unix_conns = nc_local_api_conns();
	if (g_a.ws)
		ns_ws_server_set_max_connections(g_a.ws, nc_lim.max_conns > unix_conns
		                                                 ? nc_lim.max_conns - unix_conns : 1);
}

/* ---- delivery: each received message is encoded once per form (binary, and JSON text if
 * a JSON app is connected) into shared buffers; every app's queue holds references. The
 * buffers are charged to the budget once. When a message does not fit, apps that do not read
 * what they are sent are closed, those with the most unread bytes first, until it fits. */

static int app_open(const struct nc_app *a)
{
	return a->t && a->t->is_open(a);
}

struct rx_forms {
	uint8_t *bin, *text;
	size_t bin_len, text_len;
};

static void forms_wanted(int *bin, int *text)
{
	*bin = *text = 0;
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		if (app_open(&g_a.apps[i]))
			*(g_a.apps[i].binary ? bin : text) = 1;
}

static void forms_encode(const struct capi_response *r, struct rx_forms *f)
{
	int bin, text;
	forms_wanted(&bin, &text);
	if (bin)
		f->bin = capi_response_to_binary(r, &f->bin_len);
	if (text)
		f->text = (uint8_t *)capi_response_to_text(r, &f->text_len);
}

/* A form no open app wants any more (its apps were closed) is dropped before it is charged. */
static void forms_trim(struct rx_forms *f)
{
	int bin, text;
	forms_wanted(&bin, &text);
	if (!bin) {
		free(f->bin);
		f->bin = NULL;
	}
	if (!text) {
		free(f->text);
		f->text = NULL;
	}
}

static size_t forms_cost(const struct rx_forms *f)
{
	return (f->bin ? f->bin_len : 0) + (f->text ? f->text_len : 0) + 2 * sizeof(struct ns_shbuf);
}

static void close_slow(struct nc_app *a)
{
	nc_event(NC_EV_SLOW_CONSUMER);
	a->t->close_slow(a);
}

struct slow {
	struct nc_app *a;
	size_t backlog;
	uint64_t oldest;
};

/* Most unread bytes first; of two as far behind, the one holding the older message. */
static int slow_cmp(const void *x, const void *y)
{
	const struct slow *a = x, *b = y;
	if (a->backlog != b->backlog)
		return a->backlog > b->backlog ? -1 : 1;
	return a->oldest < b->oldest ? -1 : a->oldest > b->oldest;
}

static int fits(size_t need)
{
	return nc_lim.budget.used + need <= nc_lim.budget.limit;
}

/* Closes apps holding unread received messages until need bytes fit in the budget (or none
 * is left). An app holding no received message keeps up and is never closed. */
static void make_room(size_t need)
{
	if (fits(need))
		return;
	struct slow *v = malloc(nc_lim.max_apps * sizeof *v);
	size_t n = 0;
	if (!v)
		return;
	for (size_t i = 0; i < nc_lim.max_apps; i++) {
		struct nc_app *a = &g_a.apps[i];
		uint64_t oldest = UINT64_MAX;
		size_t backlog = app_open(a) ? a->t->backlog(a, &oldest) : 0;
		if (oldest != UINT64_MAX)
			v[n++] = (struct slow){ a, backlog, oldest };
	}
	qsort(v, n, sizeof *v, slow_cmp);
	for (size_t i = 0; i < n && !fits(need); i++)
		if (app_open(v[i].a))
			close_slow(v[i].a);
	free(v);
}

static struct ns_shbuf *share(uint8_t *data, size_t len)
{
	struct ns_shbuf *b = data ? ns_shbuf_adopt(data, len, &nc_lim.budget) : NULL;
	if (b)
		b->seq = g_a.delivered + 1;
	return b;
}

/* Every open app gets a reference to its form; one that cannot take it does not read. */
/* A connection stopped reading by the budget: if apps that do not read hold received
 * messages, they go, as they would for a new message. Deferred to the loop: this is called
 * from inside connection code. */
static void on_budget_pressure(size_t need, void *ctx)
{
	(void)ctx;
	if (need > g_a.room_need)
		g_a.room_need = need;
	ev_idle_start(g_a.loop, &g_a.room);
}

static void on_room(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
	make_room(g_a.room_need);
	g_a.room_need = 0;
}

static void send_forms(struct rx_forms *f)
{
	struct ns_shbuf *bin = share(f->bin, f->bin_len), *text = share(f->text, f->text_len);
	f->bin = f->text = NULL;
	for (size_t i = 0; i < nc_lim.max_apps; i++) {
		struct nc_app *a = &g_a.apps[i];
		struct ns_shbuf *b = a->binary ? bin : text;
		if (!b || !app_open(a) || a->t->send_shared(a, a->binary, b) == 0)
			continue;
		if (app_open(a)) /* a failed send may have ended the connection already */
			close_slow(a);
	}
	ns_shbuf_unref(bin);
	ns_shbuf_unref(text);
}

static void deliver(const uint8_t *msg, size_t len, const uint8_t *sender_tag, int may_evict)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_RECEIVED;
	r.message = (uint8_t *)msg;
	r.message_len = len;
	if (sender_tag) {
		r.has_sender_tag = 1;
		memcpy(r.sender_tag, sender_tag, NYM_SENDER_TAG_LEN);
	}
	struct rx_forms f = { 0 };
	if (any_app_open()) {
		forms_encode(&r, &f);
		if (may_evict)
			make_room(forms_cost(&f));
		forms_trim(&f);
	}
	if (!any_app_open()) { /* none there, or none that reads: the next app gets it */
		hold_message(msg, len, sender_tag);
		return;
	}
	send_forms(&f);
	g_a.delivered++;
}


static int ws_start(const struct nc_setup *s)
{
	int err = 0;
	ns_ws_limits lim = { .max_message_bytes = nc_lim.max_message,
		             .max_queued_bytes = 256u << 20,
		             .max_connections = nc_lim.max_conns,
		             .handshake_timeout = nc_lim.handshake_timeout,
		             .partial_timeout = nc_lim.partial_timeout,
		             .read_pause_bytes = READ_PAUSE_BYTES,
		             .budget = &nc_lim.budget };
	g_a.ws = ns_ws_server_listen(g_a.loop, s->conf.host, s->conf.listening_port, NULL, &lim,
	                             &ws_cb, NULL, &err);
	if (!g_a.ws) {
		nc_error("apid", "cannot listen on %s:%u: %s", s->conf.host,
		       (unsigned)s->conf.listening_port, ns_ws_strerror(err));
		return -1;
	}
	/* the bound port: the kernel's choice when port 0 is configured */
	nc_log("apid", "websocket API on ws://%s%s%s:%u", strchr(s->conf.host, ':') ? "[" : "",
	       s->conf.host, strchr(s->conf.host, ':') ? "]" : "",
	       (unsigned)ns_ws_server_port(g_a.ws));
	return 0;
}

/* ---- from the engine */

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	(void)ctx;
	deliver(msg, len, sender_tag, 1);
}

static void on_self_address(void *ctx, const uint8_t address[NS_ENGINE_ADDRESS_LEN])
{
	(void)ctx, (void)address;
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		if (g_a.apps[i].t && g_a.apps[i].wants_self) {
			g_a.apps[i].wants_self = 0;
			answer_self(&g_a.apps[i]);
		}
}

/* The app that sent the message hears it once per message, under the error kind `other`. */
static void on_send_failed(void *ctx, void *owner, uint64_t msg_id, const char *why)
{
	(void)ctx;
	struct nc_app *a = owner;
	if (!a->t || a->failed_msg == msg_id)
		return;
	a->failed_msg = msg_id;
	respond_error(a, CAPI_OTHER, why);
}

static void on_shutdown(void *ctx)
{
	(void)ctx;
	ev_break(g_a.loop, EVBREAK_ALL);
}

/* The engine's counters with apid's among them, in the order nym-client always logged. */
static size_t stats_text(void *ctx, const struct ns_engine_stats *st, char *out, size_t cap)
{
	(void)ctx;
	int n = snprintf(out, cap, "messages_sent=%llu\nmessages_delivered=%llu\nunacked=%zu\n"
	                 "anonymous_sent=%llu\nreplies_sent=%llu\nsurbs_sent=%llu\nsurbs_received=%llu\n"
	                 "surb_requests_served=%llu\nsurbs_low=%llu\nmessages_held=%zu\n"
	                 "messages_held_dropped=%llu\nfragments_given_up=%llu\n",
	                 (unsigned long long)st->messages_sent, (unsigned long long)g_a.delivered,
	                 st->unacked, (unsigned long long)st->anonymous_sent,
	                 (unsigned long long)st->replies_sent, (unsigned long long)st->surbs_sent,
	                 (unsigned long long)st->surbs_received,
	                 (unsigned long long)st->surb_requests_served,
	                 (unsigned long long)st->surbs_low, g_a.n_held,
	                 (unsigned long long)g_a.held_dropped,
	                 (unsigned long long)st->fragments_given_up);
	return n < 0 || cap == 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static const struct ns_engine_cb engine_cb = { .on_message = on_message,
	                                       .on_self_address = on_self_address,
	                                       .on_send_failed = on_send_failed,
	                                       .on_shutdown = on_shutdown,
	                                       .on_status_reply = nc_admin_on_status_reply,
	                                       .stats_text = stats_text };

int nc_apid_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_APID][1], s->fds[NC_NETD_APID][1], s->fds[NC_SUP_APID][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_a.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	nc_limits_init(&s->conf.limits);
	g_a.apps = calloc(nc_lim.max_apps, sizeof *g_a.apps);
	if (!g_a.loop || !g_a.apps)
		return 1;
	ev_idle_init(&g_a.room, on_room);
	nc_lim.budget.on_pressure = on_budget_pressure;
	g_a.engine = ns_engine_start(g_a.loop, keep[0], keep[1], keep[2], &engine_cb, NULL);
	if (!g_a.engine)
		return 1;
	if (s->conf.socket_websocket && ws_start(s) < 0)
		return 1;
	if (nc_apid_local_start(s) < 0)
		return 1;
	if (nc_confine(NS_SANDBOX_APID, s, 0) < 0)
		return 1;
	ns_engine_ready(g_a.engine);
	ev_run(g_a.loop, 0);
	nc_apid_local_stop();
	if (g_a.ws)
		ns_ws_server_free(g_a.ws);
	ns_engine_free(g_a.engine);
	return 0;
}

/* ---- local sockets, admin (apid_local.c, apid_admin.c) */

int nc_apid_local_start(const struct nc_setup *s)
{
	char admin[CLIENTCONF_PATH_MAX];
	if (s->conf.api_socket[0] && nc_local_api_start(g_a.loop, s->conf.api_socket) < 0)
		return -1;
	if (clientconf_admin_path(&s->conf, &s->dirs, admin, sizeof admin) < 0) {
		nc_error("apid", "admin socket path too long");
		return -1;
	}
	return nc_admin_start(g_a.loop, admin, g_a.engine, &nc_apid_admin_front);
}

void nc_apid_local_stop(void)
{
	nc_local_api_stop();
	nc_admin_stop();
}

void nc_apid_status(struct nc_apid_status *st)
{
	memset(st, 0, sizeof *st);
	st->have_self = ns_engine_self_address(g_a.engine, st->self) == 0;
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		st->apps += app_open(&g_a.apps[i]);
	st->messages_delivered = g_a.delivered;
	ns_engine_stats(g_a.engine, &st->engine);
}
