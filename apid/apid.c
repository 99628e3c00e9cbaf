/* apid: serves local apps Nym's websocket API (common/clientapi) on host:port, many apps at
 * once. Splits each message into fragments (no key needed), asks keyd to build them, keeps
 * them until their ack arrives (rebuilding on netd's ack timeout), reassembles the fragments
 * keyd decrypts and delivers every complete message to every connected app. Never holds a key.
 * Lanes on the IPC: 0 = General, n > 0 = ConnectionId(n - 1). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "base58.h"
#include "clientapi.h"
#include "ipc.h"
#include "apid.h"
#include "apid_replies.h"
#include "crypto.h"
#include "nymclient.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "sandbox.h"
#include "shbuf.h"
#include "websocket.h"

/* An app that leaves this much unread is not read from until it reads (pongs, answers). */
#define READ_PAUSE_BYTES (1u << 20)

/* A fragment kept until its ack: to a recipient (BUILD_PACKET), or, when reply is set, to
 * the holder of sender_tag through one of its SURBs (BUILD_REPLY; cannot outlive keyd). */
struct frag {
	struct frag *next;
	uint8_t id[5], recipient[96];
	uint8_t reply, sender_tag[NYM_SENDER_TAG_LEN];
	uint64_t lane;
	uint64_t msg;     /* the message it belongs to (g_a.sent_msgs when queued) */
	struct nc_app *app; /* told if it cannot be built, while app_conn still is its connection */
	void *app_conn;
	size_t len;
	uint8_t data[];
};

/* Our sender tag for a recipient of anonymous messages: random, in memory only (Nym's
 * get_or_create_sender_tag; not persisted since 2025-07). */
struct tag_entry {
	struct tag_entry *next;
	uint8_t recipient[96], tag[NYM_SENDER_TAG_LEN];
};

/* A RepliableMessage waiting for the SURBs keyd makes (MAKE_SURBS batches of <= 32 with
 * request ids first_id ..): Data for sendAnonymous, AdditionalSurbs for a SurbRequest. */
struct surb_job {
	struct surb_job *next;
	uint64_t first_id;
	size_t batches, pending, want, have, surb_len;
	uint8_t *surbs; /* have x surb_len, zeroed when freed */
	int failed, additional;
	uint8_t key_rotation; /* what keyd made the SURBs under (SURBS.key_rotation) */
	uint8_t recipient[96], tag[NYM_SENDER_TAG_LEN];
	uint64_t lane;
	struct nc_app *app; /* told when it fails, if still connected (app_conn) */
	void *app_conn;
	uint8_t *msg;
	size_t msg_len;
};


struct apid {
	struct ev_loop *loop;
	struct ns_ipc_conn keyd, netd, sup;
	ns_ws_server *ws;
	struct nc_app *apps; /* nc_lim.max_apps slots */
	size_t n_apps;
	uint8_t self[96];
	int have_self;
	struct frag *frags;
	size_t n_frags;
	struct nym_reassembler *reasm;
	uint64_t sent_msgs, delivered;
	struct tag_entry *tags;
	struct surb_job *jobs;
	uint64_t next_request_id;
	uint64_t anon_sent, replies_sent, surbs_made, surbs_received, surb_requests, surbs_low;
	ev_idle room;      /* frees budget for a reader stopped by it (make_room, outside callbacks) */
	size_t room_need;
	struct held_msg *held, **held_tail; /* arrived while no app was connected */
	size_t n_held, held_bytes;
	uint64_t held_dropped;
};

static struct apid g_a;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

/* ---- send path */

static void build_reply(const struct frag *f)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_REPLY };
	m.u.BUILD_REPLY.frag_id = NS_IPC_BYTES(f->id, 5);
	m.u.BUILD_REPLY.fragment = NS_IPC_BYTES(f->data, f->len);
	m.u.BUILD_REPLY.sender_tag = NS_IPC_BYTES(f->sender_tag, NYM_SENDER_TAG_LEN);
	m.u.BUILD_REPLY.lane = f->lane;
	m.u.BUILD_REPLY.packet_size = NYM_PACKET_REGULAR;
	nc_send(&g_a.keyd, &m);
}

static void build(const struct frag *f)
{
	if (f->reply) {
		build_reply(f);
		return;
	}
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_PACKET };
	m.u.BUILD_PACKET.frag_id = NS_IPC_BYTES(f->id, 5);
	m.u.BUILD_PACKET.fragment = NS_IPC_BYTES(f->data, f->len);
	m.u.BUILD_PACKET.recipient = NS_IPC_BYTES(f->recipient, 96);
	m.u.BUILD_PACKET.lane = f->lane;
	m.u.BUILD_PACKET.packet_size = NYM_PACKET_REGULAR;
	nc_send(&g_a.keyd, &m);
}

static struct frag **find_frag(const uint8_t id[5])
{
	struct frag **p = &g_a.frags;
	while (*p && memcmp((*p)->id, id, 5))
		p = &(*p)->next;
	return p;
}

static uint64_t lane_of(const struct capi_request *req)
{
	return req->has_connection_id ? req->connection_id + 1 : 0;
}

/* Where a message's fragments go: a recipient, or, when tag is set, the holder of tag. */
struct frag_dest {
	const uint8_t *recipient, *tag;
	uint64_t lane;
	struct nc_app *app; /* the sender, told if the recipient cannot be reached (NULL: none) */
};

/* Pads and splits a NymMessage as Nym's preparer does (replies too: the BLAKE3 key digest
 * takes the place of the ephemeral key, so every type has the same plaintext per packet),
 * keeps each fragment until acked and asks keyd to build it. */
static int queue_message(enum nym_message_type type, const uint8_t *inner, size_t inner_len,
                         const struct frag_dest *d)
{
	size_t ppp = nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR), padded_len = 0;
	uint8_t *padded = nym_msg_pad_alloc(type, inner, inner_len, ppp, &padded_len);
	struct nym_fragment_list list;
	memset(&list, 0, sizeof list);
	if (!padded || nym_split_into_fragments(padded, padded_len, ppp, &list) != NYM_CHUNK_OK) {
		free(padded);
		return -1;
	}
	free(padded);
	for (size_t i = 0; i < list.count; i++) {
		struct frag *f = calloc(1, sizeof *f + list.lens[i]);
		if (!f)
			break;
		nym_frag_id_encode(&list.ids[i], f->id);
		if (d->tag) {
			f->reply = 1;
			memcpy(f->sender_tag, d->tag, NYM_SENDER_TAG_LEN);
		} else {
			memcpy(f->recipient, d->recipient, 96);
		}
		f->lane = d->lane;
		f->msg = g_a.sent_msgs + 1;
		if (d->app) {
			f->app = d->app;
			f->app_conn = d->app->conn;
		}
		f->len = list.lens[i];
		memcpy(f->data, list.frags[i], f->len);
		f->next = g_a.frags;
		g_a.frags = f;
		g_a.n_frags++;
		build(f);
	}
	nym_fragment_list_free(&list);
	g_a.sent_msgs++;
	return 0;
}

static int send_message(struct nc_app *a, const struct capi_request *req)
{
	uint8_t to[96];
	nym_recipient_to_bytes(&req->recipient, to);
	struct frag_dest d = { .recipient = to, .lane = lane_of(req), .app = a };
	return queue_message(NYM_MSG_PLAIN, req->message, req->message_len, &d);
}

/* ---- anonymous messages and replies */

static const uint8_t *tag_for(const uint8_t recipient[96], int create)
{
	for (struct tag_entry *t = g_a.tags; t; t = t->next)
		if (!memcmp(t->recipient, recipient, 96))
			return t->tag;
	if (!create)
		return NULL;
	struct tag_entry *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	memcpy(t->recipient, recipient, 96);
	ns_random(t->tag, sizeof t->tag);
	t->next = g_a.tags;
	g_a.tags = t;
	return t->tag;
}

static void job_free(struct surb_job *j)
{
	if (j->surbs) {
		ns_memzero(j->surbs, j->want * j->surb_len);
		free(j->surbs);
	}
	free(j->msg);
	free(j);
}

static int app_still_there(const struct surb_job *j)
{
	return j->app && j->app->t && j->app->conn == j->app_conn;
}

/* The RepliableMessage of a job whose SURBs are all there, with the key rotation keyd made
 * them under in its V2 header. */
static int job_send(struct surb_job *j)
{
	size_t len = apid_repliable_len(!j->additional, j->have, j->surb_len, j->msg_len);
	uint8_t *inner = malloc(len);
	if (!inner)
		return -1;
	long n = apid_repliable_build(j->tag, !j->additional, j->surbs, j->have, j->surb_len,
	                              j->key_rotation, j->msg, j->msg_len, inner, len);
	struct frag_dest d = { .recipient = j->recipient, .lane = j->lane,
		               .app = app_still_there(j) ? j->app : NULL };
	int rc = n < 0 ? -1 : queue_message(NYM_MSG_REPLIABLE, inner, (size_t)n, &d);
	ns_memzero(inner, len);
	free(inner);
	if (rc == 0)
		g_a.surbs_made += j->have;
	return rc;
}

static void job_finish(struct surb_job *j)
{
	if (!j->failed && job_send(j) < 0)
		j->failed = 1;
	if (j->failed) {
		nc_log("apid", "%s to a recipient dropped: keyd made no reply SURBs",
		       j->additional ? "additional reply SURBs" : "an anonymous message");
		if (!j->additional && app_still_there(j))
			respond_error(j->app, CAPI_OTHER, "could not create reply SURBs for the message: "
			                                  "the network topology is not available");
	} else if (j->additional) {
		g_a.surb_requests++;
	} else {
		g_a.anon_sent++;
	}
	job_free(j);
}

/* Starts a job: MAKE_SURBS batches, or the message at once when it wants no SURB. */
static void job_start(struct surb_job *j)
{
	if (j->want == 0) {
		job_finish(j);
		return;
	}
	j->batches = j->pending = (j->want + NS_IPC_SURBS_MAX_COUNT - 1) / NS_IPC_SURBS_MAX_COUNT;
	j->first_id = g_a.next_request_id;
	g_a.next_request_id += j->batches;
	j->next = g_a.jobs;
	g_a.jobs = j;
	for (size_t i = 0; i < j->batches; i++) {
		size_t left = j->want - i * NS_IPC_SURBS_MAX_COUNT;
		struct ns_ipc_msg m = { .type = NS_IPC_T_MAKE_SURBS };
		m.u.MAKE_SURBS.request_id = j->first_id + i;
		m.u.MAKE_SURBS.count = left < NS_IPC_SURBS_MAX_COUNT ? left : NS_IPC_SURBS_MAX_COUNT;
		m.u.MAKE_SURBS.packet_size = NYM_PACKET_REGULAR;
		nc_send(&g_a.keyd, &m);
	}
}

static struct surb_job *job_new(const uint8_t recipient[96], size_t want, uint64_t lane)
{
	const uint8_t *tag = tag_for(recipient, 1);
	struct surb_job *j = tag ? calloc(1, sizeof *j) : NULL;
	if (!j)
		return NULL;
	memcpy(j->recipient, recipient, 96);
	memcpy(j->tag, tag, NYM_SENDER_TAG_LEN);
	j->want = want;
	j->lane = lane;
	return j;
}

/* sendAnonymous: a RepliableMessage Data with our tag for the recipient and replySurbs
 * fresh SURBs (none is fine, as in Nym). */
static int send_anonymous(struct nc_app *a, const struct capi_request *req)
{
	uint8_t to[96];
	nym_recipient_to_bytes(&req->recipient, to);
	struct surb_job *j = job_new(to, req->reply_surbs, lane_of(req));
	if (!j)
		return -1;
	j->app = a;
	j->app_conn = a->conn;
	if (req->message_len) {
		if (!(j->msg = malloc(req->message_len))) {
			job_free(j);
			return -1;
		}
		memcpy(j->msg, req->message, req->message_len);
		j->msg_len = req->message_len;
	}
	job_start(j);
	return 0;
}

/* reply: a ReplyMessage Data through the SURBs keyd holds for the tag. An unknown tag ends
 * in BUILD_FAILED NO_SURB: logged and dropped, as Nym does (no response). */
static int send_reply(const struct capi_request *req)
{
	uint8_t *inner = malloc(1 + req->message_len);
	if (!inner)
		return -1;
	struct nym_reply_msg rm = { .content_tag = NYM_REPLY_DATA, .data = req->message,
		                    .data_len = req->message_len };
	long n = nym_reply_msg_encode(&rm, inner, 1 + req->message_len);
	struct frag_dest d = { .tag = req->sender_tag, .lane = lane_of(req) };
	int rc = n < 0 ? -1 : queue_message(NYM_MSG_REPLY, inner, (size_t)n, &d);
	free(inner);
	if (rc == 0)
		g_a.replies_sent++;
	return rc;
}

/* Nym's handler answers laneQueueLength after every send with a connection id, and to
 * getLaneQueueLength. Nym counts the packets queued on the lane (plus replies waiting for
 * SURBs); we count the lane's fragments not yet acknowledged, which is never less. */
static void respond_lane_length(struct nc_app *a, uint64_t connection_id)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_LANE_QUEUE_LENGTH;
	r.lane = connection_id;
	uint64_t lane = connection_id + 1;
	for (const struct frag *f = g_a.frags; f; f = f->next)
		r.queue_length += f->lane == lane;
	respond(a, &r);
}

/* ClosedConnection: Nym removes the lane from its out-queue (its queued packets are
 * dropped; those already sent keep their ack timers). Our out-queue is netd's, which no
 * IPC message reaches: here the lane's fragments leave the lane (General from now on) and
 * are still retransmitted until acked. */
static void close_lane(uint64_t connection_id)
{
	for (struct frag *f = g_a.frags; f; f = f->next)
		if (f->lane == connection_id + 1)
			f->lane = 0;
}

static void handle_send(struct nc_app *a, const struct capi_request *req)
{
	int rc;
	if (req->type == CAPI_REQ_SEND_ANONYMOUS && req->reply_surbs > APID_MAX_REPLY_SURBS) {
		respond_error(a, CAPI_OTHER, "too many reply SURBs requested (at most 65535)");
		return;
	}
	if (req->type == CAPI_REQ_SEND)
		rc = send_message(a, req);
	else if (req->type == CAPI_REQ_SEND_ANONYMOUS)
		rc = send_anonymous(a, req);
	else
		rc = send_reply(req);
	if (rc < 0)
		respond_error(a, CAPI_OTHER, "the message could not be split into packets");
	else if (req->has_connection_id)
		respond_lane_length(a, req->connection_id);
}

static void answer_self(struct nc_app *a)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	if (nym_recipient_from_bytes(g_a.self, &r.address) < 0) {
		respond_error(a, CAPI_OTHER, "the client address is malformed");
		return;
	}
	r.type = CAPI_RESP_SELF_ADDRESS;
	respond(a, &r);
}

static void handle_request(struct nc_app *a, const struct capi_request *req)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	switch (req->type) {
	case CAPI_REQ_SELF_ADDRESS:
		if (!g_a.have_self) { /* keyd has not said it yet: answer when it does */
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
		close_lane(req->connection_id);
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
			flush_held();
			return &g_a.apps[i];
		}
	return NULL;
}

void nc_app_close(struct nc_app *a)
{
	if (a->t)
		g_a.n_apps--;
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

/* ---- from keyd and netd */

static void on_self_address(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	memcpy(g_a.self, m->u.SELF_ADDRESS.address.ptr, 96);
	g_a.have_self = 1;
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		if (g_a.apps[i].t && g_a.apps[i].wants_self) {
			g_a.apps[i].wants_self = 0;
			answer_self(&g_a.apps[i]);
		}
}

static void on_ack(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct frag **p = find_frag(m->u.ACK.frag_id.ptr);
	if (*p) {
		struct frag *f = *p;
		*p = f->next;
		free(f);
		g_a.n_frags--;
	}
}

static void on_ack_timeout(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct frag *f = *find_frag(m->u.ACK_TIMEOUT.frag_id.ptr);
	if (f)
		build(f); /* new route, new SURB-ack */
}

/* The app that sent a message to a recipient whose gateway is not in the topology hears it
 * once per message, with the text of Nym's NymTopologyError::NonExistentNode (nym:
 * common/topology/src/error.rs l.18-19), under the error kind `other`. */
static void tell_unknown_gateway(const struct frag *f)
{
	char gw[64], text[128];
	if (!f->app || f->app->t == NULL || f->app->conn != f->app_conn || f->app->failed_msg == f->msg)
		return;
	f->app->failed_msg = f->msg;
	if (base58_encode(f->recipient + 64, 32, gw, sizeof gw) < 0)
		return;
	snprintf(text, sizeof text, "no node with identity %s is known", gw);
	respond_error(f->app, CAPI_OTHER, text);
}

static void on_build_failed(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	uint64_t reason = m->u.BUILD_FAILED.reason;
	struct frag **p = find_frag(m->u.BUILD_FAILED.frag_id.ptr);
	if (reason == NS_IPC_BUILD_NO_SURB)
		nc_log("apid", "a reply to a sender tag we hold no reply SURBs for: fragment dropped");
	else if (reason == NS_IPC_BUILD_UNKNOWN_GATEWAY && *p && (*p)->app)
		tell_unknown_gateway(*p);
	else
		nc_log("apid", "keyd could not build a packet (reason %llu): fragment dropped",
		       (unsigned long long)reason);
	if (*p) {
		struct frag *f = *p;
		*p = f->next;
		free(f);
		g_a.n_frags--;
	}
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

/* SURBs found in a RepliableMessage go to keyd under the sender's tag, <= 32 at a time. */
static void hand_surbs_to_keyd(const uint8_t tag[NYM_SENDER_TAG_LEN], const struct apid_surb_list *l,
                               uint8_t key_rotation)
{
	static uint8_t body[NS_IPC_SURBS_MAX];
	for (size_t i = 0; i < l->count; i += NS_IPC_SURBS_MAX_COUNT) {
		size_t n = l->count - i < NS_IPC_SURBS_MAX_COUNT ? l->count - i : NS_IPC_SURBS_MAX_COUNT;
		size_t len = apid_surb_list_encode(l->surbs + i * l->surb_len, n, l->surb_len, body, sizeof body);
		if (!len)
			return;
		struct ns_ipc_msg m = { .type = NS_IPC_T_SURBS_RECEIVED };
		m.u.SURBS_RECEIVED.sender_tag = NS_IPC_BYTES(tag, NYM_SENDER_TAG_LEN);
		m.u.SURBS_RECEIVED.surbs = NS_IPC_BYTES(body, len);
		m.u.SURBS_RECEIVED.key_rotation = key_rotation <= NYM_KEY_ROTATION_EVEN ? key_rotation : 0;
		nc_send(&g_a.keyd, &m);
		ns_memzero(body, len);
	}
	g_a.surbs_received += l->count;
}

/* A SurbRequest from a recipient of our anonymous messages (Nym's handle_surb_request):
 * only for a recipient we hold a tag for, at most 500, in AdditionalSurbs messages of
 * <= 100 SURBs. They go on the General lane: the IPC lane has no AdditionalReplySurbs. */
static void serve_surb_request(const uint8_t recipient[96], uint32_t amount)
{
	if (!tag_for(recipient, 0)) {
		nc_log("apid", "a client asked for reply SURBs though we never sent it an anonymous message: ignored");
		return;
	}
	if (amount > APID_MAX_SURB_REQUEST)
		amount = APID_MAX_SURB_REQUEST;
	while (amount > 0) {
		uint32_t n = amount < APID_ADDITIONAL_SURBS_BATCH ? amount : APID_ADDITIONAL_SURBS_BATCH;
		struct surb_job *j = job_new(recipient, n, 0);
		if (!j)
			return;
		j->additional = 1;
		job_start(j);
		amount -= n;
	}
}

static void handle_message(const uint8_t *padded, size_t len)
{
	struct apid_rx rx;
	int rc = apid_rx_classify(padded, len, &rx);
	if (rc < 0) {
		nc_log("apid", "a malformed reassembled message was dropped (%d)", rc);
		return;
	}
	if (rx.has_tag && rx.surbs.count)
		hand_surbs_to_keyd(rx.tag, &rx.surbs, rx.key_rotation);
	if (rx.action == APID_RX_DELIVER)
		deliver(rx.msg, rx.msg_len, rx.has_tag ? rx.tag : NULL, 1);
	else if (rx.action == APID_RX_SURB_REQUEST)
		serve_surb_request(rx.recipient, rx.amount);
}

/* Fragments of messages and of replies (origin) share one reassembler, as in Nym; the
 * reassembled message's type byte says what it is. */
static void on_fragment(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *f = &m->u.FRAGMENT.fragment;
	struct nym_reasm_message out;
	int rc = nym_reasm_insert(g_a.reasm, f->ptr, f->len, 0, now_ms(), &out);
	if (rc != NYM_REASM_COMPLETE)
		return;
	handle_message(out.data, out.len);
	ns_memzero(out.data, out.len);
	free(out.data);
}

static struct surb_job **job_of(uint64_t request_id)
{
	struct surb_job **p = &g_a.jobs;
	while (*p && (request_id < (*p)->first_id || request_id - (*p)->first_id >= (*p)->batches))
		p = &(*p)->next;
	return p;
}

/* Adds one SURBS answer to its job; the job fails on an empty or inconsistent answer. */
static void job_add(struct surb_job *j, uint64_t batch, const struct apid_surb_list *l)
{
	size_t asked = j->want - batch * NS_IPC_SURBS_MAX_COUNT;
	if (asked > NS_IPC_SURBS_MAX_COUNT)
		asked = NS_IPC_SURBS_MAX_COUNT;
	if (j->failed || l->count == 0 || l->count > asked || (j->have && l->surb_len != j->surb_len)) {
		j->failed = 1;
		return;
	}
	if (!j->surbs) {
		j->surb_len = l->surb_len;
		if (!(j->surbs = calloc(j->want, j->surb_len))) {
			j->failed = 1;
			return;
		}
	}
	memcpy(j->surbs + j->have * j->surb_len, l->surbs, l->count * l->surb_len);
	j->have += l->count;
}

static void on_surbs(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_SURBS *s = &m->u.SURBS;
	struct surb_job **p = job_of(s->request_id);
	if (!*p) {
		nc_log("apid", "SURBS for an unknown request %llu: ignored", (unsigned long long)s->request_id);
		return;
	}
	struct surb_job *j = *p;
	struct apid_surb_list l;
	int rc = apid_surb_list_parse(s->surbs.ptr, s->surbs.len, NS_IPC_SURBS_MAX_COUNT, &l);
	if (rc < 0) {
		nc_log("apid", "keyd sent a malformed SURB list (%d)", rc);
		j->failed = 1;
	} else {
		job_add(j, s->request_id - j->first_id, &l);
		j->key_rotation = (uint8_t)s->key_rotation;
	}
	if (--j->pending)
		return;
	*p = j->next;
	job_finish(j);
}

static void on_surbs_low(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
	g_a.surbs_low++;
}

/* keyd or netd went away: the suite is stopping. Hand the queue to the supervisor now, on
 * our own (it takes a list at any time), since nothing can be sent or acked any more. */
static void on_peer_lost(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	nc_log("apid", "IPC with %s failed: %s; handing the unacknowledged fragments over",
	       ns_ipc_role_name(c->peer), ns_ipc_strerror(err));
	nc_apid_persist();
	ns_ipc_conn_flush(&g_a.sup);
	fflush(NULL);
	_exit(err == NS_IPC_EEOF ? 0 : 1);
}

static void on_shutdown(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
	nc_apid_persist();
	ev_break(g_a.loop, EVBREAK_ALL);
}

static void on_stats_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	char text[512];
	int n = snprintf(text, sizeof text, "messages_sent=%llu\nmessages_delivered=%llu\nunacked=%zu\n"
	                 "anonymous_sent=%llu\nreplies_sent=%llu\nsurbs_sent=%llu\nsurbs_received=%llu\n"
	                 "surb_requests_served=%llu\nsurbs_low=%llu\nmessages_held=%zu\n"
	                 "messages_held_dropped=%llu\n",
	                 (unsigned long long)g_a.sent_msgs, (unsigned long long)g_a.delivered,
	                 g_a.n_frags, (unsigned long long)g_a.anon_sent,
	                 (unsigned long long)g_a.replies_sent, (unsigned long long)g_a.surbs_made,
	                 (unsigned long long)g_a.surbs_received, (unsigned long long)g_a.surb_requests,
	                 (unsigned long long)g_a.surbs_low, g_a.n_held,
	                 (unsigned long long)g_a.held_dropped);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	nc_send(c, &r);
}

static const ns_ipc_handler apid_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_SHUTDOWN] = on_shutdown,
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_SELF_ADDRESS] = on_self_address,
	[NS_IPC_T_ACK] = on_ack,
	[NS_IPC_T_ACK_TIMEOUT] = on_ack_timeout,
	[NS_IPC_T_BUILD_FAILED] = on_build_failed,
	[NS_IPC_T_FRAGMENT] = on_fragment,
	[NS_IPC_T_SURBS] = on_surbs,
	[NS_IPC_T_SURBS_LOW] = on_surbs_low,
	[NS_IPC_T_STATUS_REPLY] = nc_admin_on_status_reply,
	[NS_IPC_T_RESEND_FRAGMENT] = nc_apid_on_resend,
};

int nc_apid_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_APID][1], s->fds[NC_NETD_APID][1], s->fds[NC_SUP_APID][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_a.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	g_a.reasm = nym_reasm_new(NULL);
	nc_limits_init(&s->conf.limits);
	g_a.apps = calloc(nc_lim.max_apps, sizeof *g_a.apps);
	if (!g_a.loop || !g_a.reasm || !g_a.apps)
		return 1;
	ev_idle_init(&g_a.room, on_room);
	nc_lim.budget.on_pressure = on_budget_pressure;
	ns_ipc_conn_start(&g_a.keyd, g_a.loop, keep[0], NS_IPC_APID, NS_IPC_KEYD, apid_handlers, on_peer_lost, NULL);
	ns_ipc_conn_start(&g_a.netd, g_a.loop, keep[1], NS_IPC_APID, NS_IPC_NETD, apid_handlers, on_peer_lost, NULL);
	ns_ipc_conn_start(&g_a.sup, g_a.loop, keep[2], NS_IPC_APID, NS_IPC_SUPERVISOR, apid_handlers, nc_ipc_fatal, NULL);
	if (s->conf.socket_websocket) {
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
			nc_log("apid", "cannot listen on %s:%u: %s", s->conf.host,
			       (unsigned)s->conf.listening_port, ns_ws_strerror(err));
			return 1;
		}
		/* the bound port: the kernel's choice when port 0 is configured */
		nc_log("apid", "websocket API on ws://%s%s%s:%u", strchr(s->conf.host, ':') ? "[" : "",
		       s->conf.host, strchr(s->conf.host, ':') ? "]" : "",
		       (unsigned)ns_ws_server_port(g_a.ws));
	}
	if (nc_apid_local_start(s) < 0)
		return 1;
	if (nc_confine(NS_SANDBOX_APID, s, 0) < 0)
		return 1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	nc_send(&g_a.sup, &m);
	ev_run(g_a.loop, 0);
	ns_ipc_conn_flush(&g_a.sup); /* the last answers to the supervisor (stats, unsent fragments) */
	nc_apid_local_stop();
	if (g_a.ws)
		ns_ws_server_free(g_a.ws);
	nym_reasm_free(g_a.reasm);
	return 0;
}

/* ---- local sockets, admin, persistence (apid_local.c, apid_admin.c) */

int nc_apid_local_start(const struct nc_setup *s)
{
	char admin[CLIENTCONF_PATH_MAX];
	if (s->conf.api_socket[0] && nc_local_api_start(g_a.loop, s->conf.api_socket) < 0)
		return -1;
	if (clientconf_admin_path(&s->conf, &s->dirs, admin, sizeof admin) < 0) {
		nc_log("apid", "admin socket path too long");
		return -1;
	}
	return nc_admin_start(g_a.loop, admin, &g_a.keyd, &g_a.netd);
}

void nc_apid_local_stop(void)
{
	nc_local_api_stop();
	nc_admin_stop();
}

void nc_apid_status(struct nc_apid_status *st)
{
	memset(st, 0, sizeof *st);
	st->have_self = g_a.have_self;
	memcpy(st->self, g_a.self, sizeof st->self);
	for (size_t i = 0; i < nc_lim.max_apps; i++)
		st->apps += g_a.apps[i].t && g_a.apps[i].t->is_open(&g_a.apps[i]);
	st->messages_sent = g_a.sent_msgs;
	st->messages_delivered = g_a.delivered;
	st->anonymous_sent = g_a.anon_sent;
	st->replies_sent = g_a.replies_sent;
	for (const struct frag *f = g_a.frags; f; f = f->next) {
		size_t i = 0;
		st->unacked++;
		st->unacked_replies += f->reply != 0;
		while (i < st->n_lanes && st->lane[i] != f->lane)
			i++;
		if (i == st->n_lanes && i < NC_APID_LANES_MAX)
			st->lane[st->n_lanes++] = f->lane;
		if (i < st->n_lanes)
			st->lane_depth[i]++;
	}
}

void nc_apid_persist(void)
{
	uint64_t persisted = 0, dropped = 0;
	for (const struct frag *f = g_a.frags; f; f = f->next) {
		if (f->reply) {
			dropped++;
			continue;
		}
		struct ns_ipc_msg m = { .type = NS_IPC_T_QUEUED_FRAGMENT };
		m.u.QUEUED_FRAGMENT.frag_id = NS_IPC_BYTES(f->id, 5);
		m.u.QUEUED_FRAGMENT.fragment = NS_IPC_BYTES(f->data, f->len);
		m.u.QUEUED_FRAGMENT.recipient = NS_IPC_BYTES(f->recipient, 96);
		m.u.QUEUED_FRAGMENT.lane = f->lane;
		nc_send(&g_a.sup, &m);
		persisted++;
	}
	struct ns_ipc_msg end = { .type = NS_IPC_T_QUEUED_END };
	end.u.QUEUED_END.persisted = persisted;
	end.u.QUEUED_END.dropped = dropped;
	nc_send(&g_a.sup, &end);
}

void nc_apid_on_resend(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_RESEND_FRAGMENT *q = &m->u.RESEND_FRAGMENT;
	if (*find_frag(q->frag_id.ptr))
		return; /* the same record twice */
	struct frag *f = calloc(1, sizeof *f + q->fragment.len);
	if (!f) {
		nc_log("apid", "out of memory: a persisted fragment is lost");
		return;
	}
	memcpy(f->id, q->frag_id.ptr, 5);
	memcpy(f->recipient, q->recipient.ptr, 96);
	f->lane = q->lane;
	f->len = q->fragment.len;
	memcpy(f->data, q->fragment.ptr, f->len);
	f->next = g_a.frags;
	g_a.frags = f;
	g_a.n_frags++;
	build(f);
}
