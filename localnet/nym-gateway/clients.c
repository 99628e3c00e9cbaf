/* The client websocket endpoint (Nym b4046a89 gateway: websocket/connection_handler
 * fresh.rs + authenticated.rs). One struct gw_session per websocket:
 *
 *   FRESH      supportedProtocol, registration (H1) or authentication, 10 s per message
 *   HANDSHAKE  waiting for H3 (5 s); other text and binary frames are ignored
 *   DUP_WAIT   authenticated, but another session holds the address: it is being pinged
 *   DRAINING   holds the address; stored messages are pushed, then the answer is sent
 *   LIVE       requests and pushes
 *   CLOSING    an error was sent and the close handshake runs; input is ignored
 *
 * Bad input before authentication, and any undecryptable or malformed binary frame after
 * it, ends that one session with an `error` text and a log line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gateway.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"

#define INITIAL_MESSAGE_TIMEOUT 10.0
#define HANDSHAKE_STEP_TIMEOUT  5.0
#define PING_TIMEOUT            1.0
#define DRAIN_BATCH             100
#define CLOSE_POLICY            1008

enum sess_state { S_FRESH = 0, S_HANDSHAKE, S_DUP_WAIT, S_DRAINING, S_LIVE, S_CLOSING };

struct gw_session {
	struct gw *gw;
	ns_ws_conn *ws;
	uint64_t id;
	enum sess_state state;
	ev_timer timer;
	struct ns_gw_hs hs;
	uint8_t address[32];
	char name[48];
	struct ns_gw_key key;
	uint8_t negotiated;
	struct ns_gwstore_client rec;
	int authenticated;         /* rec/key valid and owned by this session */
	int v2;                    /* authenticated with authenticateV2 (timestamp to store) */
	uint64_t v2_timestamp;
	double start;              /* session start (seconds) for stale-overwrite checks */
	int in_table;
	int backlog;               /* stored messages wait: new ones go to disk too */
	char *pending_response;
	uint64_t drained_upto;
	uint64_t *pushed;          /* stored ids pushed, removed once written out */
	size_t n_pushed, cap_pushed;
	int close_after_flush;     /* CLOSING: close once the error text is written out */
	int pinging;
	uint8_t ping_tag[8];
	ev_timer ping_timer;
	struct gw_session *dup_waiter;
	struct gw_session *dup_target;
	struct gw_session *next_bucket;
	struct gw_session *prev, *next;
};

static struct gw *server_gw; /* the user pointer of connections that never opened */
static uint8_t frame_buf[NS_GW_FRAME_OVERHEAD + 1 + 1 + NYM_NODE_ADDR_V6_LEN + NYM_PACKET_MAX_SIZE];
static uint8_t msg_buf[NS_GWSTORE_MSG_MAX];

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t unix_day(void)
{
	return (int64_t)time(NULL) / 86400;
}

/* ------------------------------------------------------------ address table */

static size_t bucket_of(const uint8_t a[32])
{
	return ((size_t)a[0] | (size_t)a[1] << 8) % GW_SESSION_BUCKETS;
}

static struct gw_session *table_find(struct gw *gw, const uint8_t a[32])
{
	for (struct gw_session *s = gw->table[bucket_of(a)]; s; s = s->next_bucket)
		if (memcmp(s->address, a, 32) == 0)
			return s;
	return NULL;
}

static void table_insert(struct gw_session *s)
{
	struct gw_session **head = &s->gw->table[bucket_of(s->address)];
	s->next_bucket = *head;
	*head = s;
	s->in_table = 1;
	s->gw->c.clients_connected++;
}

static void table_remove(struct gw_session *s)
{
	if (!s->in_table)
		return;
	for (struct gw_session **p = &s->gw->table[bucket_of(s->address)]; *p; p = &(*p)->next_bucket)
		if (*p == s) {
			*p = s->next_bucket;
			break;
		}
	s->in_table = 0;
	s->gw->c.clients_connected--;
}

/* ------------------------------------------------------------ sending */

static void send_owned_text(struct gw_session *s, char *text, size_t len)
{
	if (!text)
		return;
	int rc = ns_ws_send(s->ws, NS_WS_TEXT, (const uint8_t *)text, len);
	if (rc < 0)
		gw_log("client %s: text send failed: %s", s->name, ns_ws_strerror(rc));
	free(text);
}

static void send_response(struct gw_session *s, const struct ns_gw_response *r)
{
	char *text = NULL;
	size_t len = 0;
	if (ns_gw_response_encode(r, &text, &len) == 0)
		send_owned_text(s, text, len);
}

static void send_error(struct gw_session *s, const char *message)
{
	struct ns_gw_response r = { .type = NS_GW_RESP_ERROR, .message = (char *)message };
	send_response(s, &r);
}

static void restart_timer(struct gw_session *s, double after)
{
	ev_timer_stop(s->gw->loop, &s->timer);
	ev_timer_set(&s->timer, after, 0.);
	ev_timer_start(s->gw->loop, &s->timer);
}

/* wslay sends a queued close frame ahead of queued messages, so the close handshake only
 * starts once the last text (the error) is written out (gw_clients_tick); a client that
 * does not read is aborted after 5 s. */
static void close_after_flush(struct gw_session *s)
{
	s->state = S_CLOSING;
	s->close_after_flush = 1;
	restart_timer(s, 5.0);
	if (ns_ws_queued_bytes(s->ws) == 0) {
		s->close_after_flush = 0;
		ns_ws_close(s->ws, CLOSE_POLICY, "");
	}
}

/* Sends an error, logs why and closes this session only. */
static void fail(struct gw_session *s, const char *message)
{
	if (s->state == S_CLOSING)
		return;
	gw_log("client %s: dropped: %s", s->name, message);
	s->gw->c.client_errors++;
	send_error(s, message);
	close_after_flush(s);
}

/* ------------------------------------------------------------ pushes and the inbox */

static int push_frame(struct gw_session *s, const uint8_t *msg, size_t len)
{
	size_t out_len = 0;
	int rc = ns_gw_pushed_message_encode(&s->key, msg, len, frame_buf, sizeof frame_buf, &out_len);
	if (rc < 0)
		return -1;
	rc = ns_ws_send(s->ws, NS_WS_BINARY, frame_buf, out_len);
	if (rc == NS_WS_E_QUEUE_FULL)
		return 0;
	return rc < 0 ? -1 : 1;
}

static void remember_pushed(struct gw_session *s, uint64_t id)
{
	if (s->n_pushed == s->cap_pushed) {
		size_t cap = s->cap_pushed ? 2 * s->cap_pushed : 64;
		uint64_t *grown = realloc(s->pushed, cap * sizeof *grown);
		if (!grown)
			return; /* the message stays stored and is delivered again later */
		s->pushed = grown;
		s->cap_pushed = cap;
	}
	s->pushed[s->n_pushed++] = id;
}

static void go_live(struct gw_session *s)
{
	if (s->state == S_DRAINING && s->pending_response) {
		int rc = ns_ws_send(s->ws, NS_WS_TEXT, (const uint8_t *)s->pending_response,
		                    strlen(s->pending_response));
		if (rc == NS_WS_E_QUEUE_FULL)
			return; /* still backlogged: on_drain comes back here */
		if (rc < 0)
			gw_log("client %s: sending the answer failed: %s", s->name, ns_ws_strerror(rc));
		free(s->pending_response);
		s->pending_response = NULL;
	}
	if (s->state == S_DRAINING)
		s->state = S_LIVE;
	s->backlog = 0;
}

/* Pushes stored messages in id order until none is left or the socket queue is full
 * (then on_drain resumes). */
static void drain(struct gw_session *s)
{
	struct gw *gw = s->gw;
	uint64_t ids[DRAIN_BATCH];
	for (;;) {
		long n = ns_gwstore_inbox_list(gw->store, s->address, s->drained_upto, ids, DRAIN_BATCH);
		if (n < 0) {
			gw_log("client %s: inbox list failed: %s", s->name, ns_gwstore_strerror((int)n));
			gw->c.store_errors++;
			n = 0;
		}
		if (n == 0) {
			go_live(s);
			return;
		}
		for (long i = 0; i < n; i++) {
			size_t len = 0;
			int rc = ns_gwstore_inbox_read(gw->store, s->address, ids[i], msg_buf,
			                               sizeof msg_buf, &len);
			if (rc == NS_GWSTORE_ECORRUPT) {
				gw_log("client %s: removing corrupt stored message %llx", s->name,
				       (unsigned long long)ids[i]);
				ns_gwstore_inbox_remove(gw->store, s->address, ids[i]);
			}
			if (rc < 0) {
				s->drained_upto = ids[i];
				continue;
			}
			rc = push_frame(s, msg_buf, len);
			if (rc == 0)
				return; /* queue full: on_drain continues */
			if (rc < 0) {
				gw_log("client %s: push of stored message failed", s->name);
				return;
			}
			s->drained_upto = ids[i];
			remember_pushed(s, ids[i]);
			gw->c.stored_delivered++;
			gw->c.messages_delivered++;
		}
	}
}

int gw_clients_push(struct gw *gw, const uint8_t address[32], const uint8_t *msg, size_t len)
{
	struct gw_session *s = table_find(gw, address);
	if (!s || s->state != S_LIVE || s->backlog)
		return 0;
	int rc = push_frame(s, msg, len);
	if (rc == 0)
		s->backlog = 1; /* stored by the caller; on_drain pushes it */
	if (rc == 1)
		gw->c.messages_delivered++;
	return rc;
}

void gw_clients_tick(struct gw *gw)
{
	for (struct gw_session *s = gw->all; s; s = s->next) {
		if (s->close_after_flush && ns_ws_queued_bytes(s->ws) == 0) {
			s->close_after_flush = 0;
			ns_ws_close(s->ws, CLOSE_POLICY, "");
		}
		if (!s->n_pushed || ns_ws_queued_bytes(s->ws) != 0)
			continue;
		for (size_t i = 0; i < s->n_pushed; i++)
			ns_gwstore_inbox_remove(gw->store, s->address, s->pushed[i]);
		s->n_pushed = 0;
	}
}

/* ------------------------------------------------------------ sessions */

static void begin_session(struct gw_session *s, char *response)
{
	ev_timer_stop(s->gw->loop, &s->timer);
	table_insert(s);
	s->state = S_DRAINING;
	s->backlog = 1;
	s->drained_upto = 0;
	s->pending_response = response;
	drain(s);
}

static void save_record(struct gw_session *s)
{
	int rc = ns_gwstore_client_put(s->gw->store, s->address, &s->rec);
	if (rc < 0) {
		s->gw->c.store_errors++;
		gw_log("client %s: saving client record failed: %s", s->name, ns_gwstore_strerror(rc));
	}
}

static void expire_bandwidth(struct gw_session *s)
{
	if (s->rec.bandwidth_expiry < unix_day())
		s->rec.bandwidth = 0;
}

static void auth_complete(struct gw_session *s)
{
	if (s->v2) {
		s->rec.has_last_auth = 1;
		s->rec.last_auth_ts = s->v2_timestamp;
	}
	expire_bandwidth(s);
	if (ns_gwstore_client_put(s->gw->store, s->address, &s->rec) < 0) {
		s->gw->c.store_errors++;
		fail(s, "Internal gateway storage error");
		return;
	}
	s->authenticated = 1;
	s->gw->c.authentications++;
	gw_log("client %s: authenticated (v%d, protocol %u)", s->name, s->v2 ? 2 : 1, s->negotiated);
	struct ns_gw_response r = { .type = NS_GW_RESP_AUTHENTICATE, .has_protocol = 1,
		                    .protocol_version = s->negotiated, .status = 1,
		                    .bandwidth = s->rec.bandwidth };
	char *text = NULL;
	size_t len;
	if (ns_gw_response_encode(&r, &text, &len) < 0) {
		fail(s, "Internal error");
		return;
	}
	begin_session(s, text);
}

static void ping_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* gateway.md §2.4: the session already holding the address is pinged; if it answers
 * within 1 s the newcomer is refused, otherwise the old one is dropped. */
static void resolve_duplicate(struct gw_session *s)
{
	struct gw_session *old = table_find(s->gw, s->address);
	if (!old) {
		auth_complete(s);
		return;
	}
	if (s->start <= old->start) {
		fail(s, "attempted to overwrite client session with a stale authentication");
		return;
	}
	if (old->pinging || old->dup_waiter || old->state == S_CLOSING) {
		fail(s, "There is already an open connection to this client");
		return;
	}
	ns_random(old->ping_tag, sizeof old->ping_tag);
	if (ns_ws_ping(old->ws, old->ping_tag, sizeof old->ping_tag) < 0) {
		gw_log("client %s: old session cannot be pinged, replacing it", s->name);
		table_remove(old);
		ns_ws_abort(old->ws);
		auth_complete(s);
		return;
	}
	old->pinging = 1;
	old->dup_waiter = s;
	s->dup_target = old;
	s->state = S_DUP_WAIT;
	ev_timer_stop(s->gw->loop, &s->timer);
	ev_timer_set(&old->ping_timer, PING_TIMEOUT, 0.);
	ev_timer_start(s->gw->loop, &old->ping_timer);
}

static void ping_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct gw_session *old = w->data;
	struct gw_session *waiter = old->dup_waiter;
	old->pinging = 0;
	old->dup_waiter = NULL;
	if (!waiter)
		return;
	waiter->dup_target = NULL;
	gw_log("client %s: previous session did not answer a ping, replacing it", waiter->name);
	table_remove(old);
	ns_ws_abort(old->ws);
	waiter->state = S_FRESH;
	auth_complete(waiter);
}

static void on_pong(ns_ws_conn *c, const uint8_t *data, size_t len, void *user)
{
	(void)c;
	struct gw_session *s = user;
	if (user == (void *)server_gw)
		return;
	if (!s->pinging || len != sizeof s->ping_tag || memcmp(data, s->ping_tag, len) != 0)
		return;
	s->pinging = 0;
	ev_timer_stop(s->gw->loop, &s->ping_timer);
	struct gw_session *waiter = s->dup_waiter;
	s->dup_waiter = NULL;
	if (waiter) {
		waiter->dup_target = NULL;
		waiter->state = S_FRESH;
		fail(waiter, "There is already an open connection to this client");
	}
}

/* ------------------------------------------------------------ fresh: registration */

static void set_name(struct gw_session *s)
{
	gw_address_b58(s->address, s->name);
}

static void send_handshake_error(struct gw_session *s, const char *message)
{
	char *text = NULL;
	size_t len = 0;
	gw_log("client %s: handshake failed: %s", s->name, message);
	s->gw->c.client_errors++;
	if (ns_gw_hs_error_encode(message, &text, &len) == 0)
		send_owned_text(s, text, len);
	ns_gw_hs_clear(&s->hs);
	close_after_flush(s);
}

static void handle_register(struct gw_session *s, const struct ns_gw_request *req)
{
	char msg[200];
	if (ns_gw_negotiate_protocol(req->has_protocol, req->protocol_version, &s->negotiated) < 0) {
		snprintf(msg, sizeof msg,
		         "Attempted to negotiate connection with client using incompatible protocol "
		         "version. Ours is %d and the client reports Some(%u)",
		         NS_GW_PROTOCOL_CURRENT, req->protocol_version);
		fail(s, msg);
		return;
	}
	struct ns_gw_h1 h1;
	int rc = ns_gw_h1_parse(req->data.data, req->data.len, &h1);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "Failed to perform registration handshake: %s",
		         ns_gw_strerror(rc));
		fail(s, msg);
		return;
	}
	memcpy(s->address, h1.identity, 32);
	set_name(s);
	if (table_find(s->gw, s->address)) {
		fail(s, "There is already an open connection to this client");
		return;
	}
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t out_len = 0;
	ns_gw_hs_gateway_begin(&s->hs, s->gw->identity_seed);
	rc = ns_gw_hs_gateway_h2(&s->hs, req->data.data, req->data.len, out, sizeof out, &out_len);
	if (rc < 0) {
		send_handshake_error(s, ns_gw_strerror(rc));
		return;
	}
	char *text = NULL;
	size_t len = 0;
	if (ns_gw_hs_payload_encode(ns_gw_hs_protocol_version(&s->hs), out, out_len, &text, &len) < 0) {
		send_handshake_error(s, "internal error");
		return;
	}
	send_owned_text(s, text, len);
	s->state = S_HANDSHAKE;
	restart_timer(s, HANDSHAKE_STEP_TIMEOUT);
}

static void finish_register(struct gw_session *s)
{
	struct gw *gw = s->gw;
	if (table_find(gw, s->address)) {
		ns_gw_key_clear(&s->key);
		fail(s, "There is already an open connection to this client");
		return;
	}
	struct ns_gwstore_client old;
	memset(&s->rec, 0, sizeof s->rec);
	if (ns_gwstore_client_get(gw->store, s->address, &old) == 0) {
		s->rec = old; /* keeps the allowance and the last authentication timestamp */
		ns_memzero(&old, sizeof old);
	}
	s->rec.key = s->key;
	if (ns_gwstore_client_put(gw->store, s->address, &s->rec) < 0) {
		gw->c.store_errors++;
		fail(s, "Internal gateway storage error");
		return;
	}
	s->authenticated = 1;
	s->start = wall_now();
	gw->c.registrations++;
	gw_log("client %s: registered (%s key, protocol %u)", s->name,
	       s->key.legacy ? "legacy" : "aes256-gcm-siv", s->negotiated);
	struct ns_gw_response r = { .type = NS_GW_RESP_REGISTER, .has_protocol = 1,
		                    .protocol_version = s->negotiated, .status = 1 };
	char *text = NULL;
	size_t len;
	if (ns_gw_response_encode(&r, &text, &len) < 0) {
		fail(s, "Internal error");
		return;
	}
	begin_session(s, text);
}

static void handle_handshake_message(struct gw_session *s, enum ns_ws_msg_type type,
                                     const uint8_t *data, size_t len)
{
	if (type != NS_WS_TEXT)
		return; /* ignored while waiting for a handshake message, as Nym does */
	struct ns_gw_hs_msg m;
	if (ns_gw_hs_msg_parse((const char *)data, len, &m, NULL) < 0)
		return;
	if (m.type == NS_GW_HSMSG_ERROR) {
		gw_log("client %s: client aborted the handshake: %.100s", s->name,
		       m.message ? m.message : "");
		ns_gw_hs_msg_free(&m);
		ns_gw_hs_clear(&s->hs);
		close_after_flush(s);
		return;
	}
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t out_len = 0;
	int rc = ns_gw_hs_gateway_h4(&s->hs, m.data.data, m.data.len, out, sizeof out, &out_len);
	ns_gw_hs_msg_free(&m);
	if (rc < 0) {
		send_handshake_error(s, ns_gw_strerror(rc));
		return;
	}
	char *text = NULL;
	size_t text_len = 0;
	if (ns_gw_hs_payload_encode(ns_gw_hs_protocol_version(&s->hs), out, out_len, &text,
	                            &text_len) < 0 ||
	    ns_gw_hs_key(&s->hs, &s->key) < 0) {
		free(text);
		send_handshake_error(s, "internal error");
		return;
	}
	send_owned_text(s, text, text_len);
	ns_gw_hs_clear(&s->hs);
	finish_register(s);
}

/* ------------------------------------------------------------ fresh: authentication */

static void handle_auth_v2(struct gw_session *s, const struct ns_gw_request *req)
{
	struct gw *gw = s->gw;
	const struct ns_gw_auth_v2 *a = &req->auth;
	char msg[200];
	if (ns_gw_negotiate_protocol(1, a->protocol_version, &s->negotiated) < 0) {
		snprintf(msg, sizeof msg,
		         "Attempted to negotiate connection with client using incompatible protocol "
		         "version. Ours is %d and the client reports Some(%u)",
		         NS_GW_PROTOCOL_CURRENT, a->protocol_version);
		fail(s, msg);
		return;
	}
	memcpy(s->address, a->client_identity, 32);
	set_name(s);
	struct ns_gwstore_client rec;
	int have = ns_gwstore_client_get(gw->store, s->address, &rec);
	if (have < 0 && have != NS_GWSTORE_ENOENT) {
		gw_log("client %s: client record unreadable: %s", s->name, ns_gwstore_strerror(have));
		gw->c.store_errors++;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int rc = ns_gw_auth_v2_verify(a, have == 0 ? &rec.key : NULL, (uint64_t)now.tv_sec,
	                              (uint32_t)now.tv_nsec, NS_GW_DEFAULT_TIMESTAMP_SKEW,
	                              have == 0 && rec.has_last_auth ? &rec.last_auth_ts : NULL);
	if (rc < 0) {
		gw->c.auth_failures++;
		ns_memzero(&rec, sizeof rec);
		fail(s, ns_gw_strerror(rc));
		return;
	}
	s->rec = rec;
	s->key = rec.key;
	ns_memzero(&rec, sizeof rec);
	s->v2 = 1;
	s->v2_timestamp = a->timestamp;
	s->start = (double)a->timestamp;
	resolve_duplicate(s);
}

static void handle_auth_v1(struct gw_session *s, const struct ns_gw_request *req)
{
	struct gw *gw = s->gw;
	char msg[200];
	if (ns_gw_negotiate_protocol(req->has_protocol, req->protocol_version, &s->negotiated) < 0) {
		snprintf(msg, sizeof msg,
		         "Attempted to negotiate connection with client using incompatible protocol "
		         "version. Ours is %d and the client reports Some(%u)",
		         NS_GW_PROTOCOL_CURRENT, req->protocol_version);
		fail(s, msg);
		return;
	}
	if (ns_gw_auth_v1_address(req, s->address) < 0) {
		fail(s, "Provided client address is malformed");
		return;
	}
	set_name(s);
	struct ns_gwstore_client rec;
	int have = ns_gwstore_client_get(gw->store, s->address, &rec);
	if (have < 0 || ns_gw_auth_v1_verify(req, &rec.key) < 0) {
		ns_memzero(&rec, sizeof rec);
		gw->c.auth_failures++;
		struct ns_gw_response r = { .type = NS_GW_RESP_AUTHENTICATE, .has_protocol = 1,
			                    .protocol_version = s->negotiated, .status = 0 };
		send_response(s, &r);
		fail(s, "could not establish client details");
		return;
	}
	s->rec = rec;
	s->key = rec.key;
	ns_memzero(&rec, sizeof rec);
	s->v2 = 0;
	s->start = wall_now();
	resolve_duplicate(s);
}

static void handle_fresh(struct gw_session *s, enum ns_ws_msg_type type, const uint8_t *data,
                         size_t len)
{
	if (type != NS_WS_TEXT) {
		fail(s, "possibly received a sphinx packet without prior authentication. Request is "
		        "going to be ignored");
		return;
	}
	struct ns_gw_request req;
	if (ns_gw_request_parse((const char *)data, len, &req, NULL) < 0) {
		fail(s, "Only 'Register' or 'Authenticate' requests are allowed");
		return;
	}
	restart_timer(s, INITIAL_MESSAGE_TIMEOUT);
	switch (req.type) {
	case NS_GW_REQ_SUPPORTED_PROTOCOL: {
		struct ns_gw_response r = { .type = NS_GW_RESP_SUPPORTED_PROTOCOL,
			                    .version = NS_GW_PROTOCOL_CURRENT };
		send_response(s, &r);
		break;
	}
	case NS_GW_REQ_HANDSHAKE_PAYLOAD: handle_register(s, &req); break;
	case NS_GW_REQ_AUTHENTICATE: handle_auth_v1(s, &req); break;
	case NS_GW_REQ_AUTHENTICATE_V2: handle_auth_v2(s, &req); break;
	default: fail(s, "Only 'Register' or 'Authenticate' requests are allowed"); break;
	}
	ns_gw_request_free(&req);
}

/* ------------------------------------------------------------ authenticated requests */

static void handle_binary(struct gw_session *s, const uint8_t *data, size_t len)
{
	struct gw *gw = s->gw;
	struct ns_gw_binary_request req;
	char msg[200];
	int rc = ns_gw_binary_request_decode(&s->key, data, len, frame_buf, sizeof frame_buf, &req);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "Provided binary request was malformed - %s",
		         ns_gw_strerror(rc));
		fail(s, msg);
		return;
	}
	if (req.packet.packet_type != NYM_PACKET_TYPE_MIX) {
		send_error(s, "Provided binary request was malformed - outfox packets are not supported");
		return;
	}
	uint8_t padded[SPHINX_NODE_ADDR_LEN];
	struct nym_node_address to;
	gw->c.client_packets++;
	if (nym_node_address_encode_padded(&req.packet.next_hop, padded) < 0 ||
	    ns_hop_filter_check(gw->hops, padded, &to) < 0) {
		gw->c.forward_rejected++;
		gw_log("client %s: packet to a node outside the topology dropped", s->name);
	} else {
		gw_mix_forward(gw, &to, req.packet.packet_type, req.packet.key_rotation,
		               req.packet.packet, req.packet.packet_len);
	}
	expire_bandwidth(s);
	s->rec.bandwidth -= (int64_t)req.packet.packet_len;
	if (s->rec.bandwidth < 0)
		s->rec.bandwidth = 0; /* free bandwidth: never enforced */
	struct ns_gw_response r = { .type = NS_GW_RESP_SEND, .bandwidth = s->rec.bandwidth };
	send_response(s, &r);
}

static void grant_free_bandwidth(struct gw_session *s)
{
	expire_bandwidth(s);
	if (s->rec.bandwidth > INT64_MAX - GW_FREE_BANDWIDTH)
		s->rec.bandwidth = INT64_MAX;
	else
		s->rec.bandwidth += GW_FREE_BANDWIDTH;
	s->rec.bandwidth_expiry = unix_day();
	save_record(s);
	struct ns_gw_response r = { .type = NS_GW_RESP_BANDWIDTH, .bandwidth = s->rec.bandwidth };
	send_response(s, &r);
}

static void send_encrypted(struct gw_session *s, enum ns_gw_inner_resp_type t)
{
	char *inner = NULL;
	size_t inner_len = 0;
	uint8_t nonce[NS_GW_MAX_NONCE_LEN], ct[128];
	size_t ct_len = 0;
	if (ns_gw_inner_response_encode(t, &inner, &inner_len) < 0)
		return;
	size_t nonce_len = ns_gw_key_random_nonce(&s->key, nonce);
	int rc = ns_gw_key_encrypt(&s->key, nonce, nonce_len, (const uint8_t *)inner, inner_len, ct,
	                           sizeof ct, &ct_len);
	free(inner);
	if (rc < 0)
		return;
	struct ns_gw_response r = { .type = NS_GW_RESP_ENCRYPTED,
		                    .ciphertext = { ct, ct_len }, .nonce = { nonce, nonce_len } };
	send_response(s, &r);
}

static void handle_encrypted(struct gw_session *s, const struct ns_gw_request *req)
{
	struct gw *gw = s->gw;
	size_t pt_len = 0;
	struct ns_gw_inner_request inner;
	if (req->ciphertext.len > sizeof msg_buf ||
	    ns_gw_key_decrypt(&s->key, req->nonce.data, req->nonce.len, req->ciphertext.data,
	                      req->ciphertext.len, msg_buf, sizeof msg_buf, &pt_len) < 0 ||
	    ns_gw_inner_request_parse((const char *)msg_buf, pt_len, &inner, NULL) < 0) {
		send_error(s, "failed to decrypt provided text request");
		return;
	}
	switch (inner.type) {
	case NS_GW_INNER_UPGRADE_KEY: {
		struct ns_gw_key upgraded;
		if (!s->key.legacy) {
			send_error(s, "the connection is already using an aes256-gcm-siv key");
			break;
		}
		if (ns_gw_key_upgrade_verify(&s->key, inner.hkdf_salt.data, inner.hkdf_salt.len,
		                             inner.derived_key_digest.data, inner.derived_key_digest.len,
		                             &upgraded) < 0) {
			send_error(s, "failed to derive matching aes256-gcm-siv key");
			break;
		}
		s->key = upgraded;
		s->rec.key = upgraded;
		ns_gw_key_clear(&upgraded);
		save_record(s);
		gw_log("client %s: key upgraded to aes256-gcm-siv", s->name);
		send_encrypted(s, NS_GW_INNER_KEY_UPGRADE_ACK);
		break;
	}
	case NS_GW_INNER_FORGET_ME:
		if (inner.client) {
			ns_gwstore_client_delete(gw->store, s->address);
			s->authenticated = 0; /* nothing to save when the session ends */
			gw_log("client %s: forgotten on request", s->name);
		}
		send_encrypted(s, NS_GW_INNER_FORGET_ME_ACK);
		break;
	case NS_GW_INNER_REMEMBER_ME: send_encrypted(s, NS_GW_INNER_REMEMBER_ME_ACK); break;
	}
	ns_gw_inner_request_free(&inner);
}

static const char *request_name(enum ns_gw_req_type t)
{
	switch (t) {
	case NS_GW_REQ_AUTHENTICATE: return "Authenticate";
	case NS_GW_REQ_AUTHENTICATE_V2: return "AuthenticateV2";
	case NS_GW_REQ_HANDSHAKE_PAYLOAD: return "RegisterHandshakeInitRequest";
	default: return "?";
	}
}

static void handle_text(struct gw_session *s, const uint8_t *data, size_t len)
{
	struct ns_gw_request req;
	char msg[200];
	int rc = ns_gw_request_parse((const char *)data, len, &req, NULL);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "Provided binary request was malformed - %s",
		         ns_gw_strerror(rc));
		send_error(s, msg);
		return;
	}
	switch (req.type) {
	case NS_GW_REQ_CLAIM_FREE_BANDWIDTH:
	case NS_GW_REQ_ECASH_CREDENTIAL: /* free bandwidth: credentials are never needed */
		grant_free_bandwidth(s);
		break;
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL:
	case NS_GW_REQ_BANDWIDTH_CREDENTIAL_V2:
		send_error(s, "The received request is not valid in the current context: coconut "
		              "credential are not longer supported");
		break;
	case NS_GW_REQ_SUPPORTED_PROTOCOL: {
		struct ns_gw_response r = { .type = NS_GW_RESP_SUPPORTED_PROTOCOL,
			                    .version = NS_GW_PROTOCOL_CURRENT };
		send_response(s, &r);
		break;
	}
	case NS_GW_REQ_ENCRYPTED: handle_encrypted(s, &req); break;
	case NS_GW_REQ_AUTHENTICATE:
	case NS_GW_REQ_AUTHENTICATE_V2:
	case NS_GW_REQ_HANDSHAKE_PAYLOAD:
		snprintf(msg, sizeof msg,
		         "The received request is not valid in the current context: received illegal "
		         "message of type %s in an authenticated client",
		         request_name(req.type));
		send_error(s, msg);
		break;
	}
	ns_gw_request_free(&req);
}

/* ------------------------------------------------------------ websocket callbacks */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct gw_session *s = w->data;
	if (s->state == S_CLOSING) {
		gw_log("client %s: not reading: aborted", s->name);
		ns_ws_abort(s->ws); /* frees s */
		return;
	}
	if (s->state == S_HANDSHAKE)
		ns_gw_hs_clear(&s->hs);
	fail(s, "timed out while waiting for initial data");
}

static void on_open(ns_ws_conn *c, void *user)
{
	struct gw *gw = user;
	struct gw_session *s = calloc(1, sizeof *s);
	if (!s) {
		ns_ws_abort(c);
		return;
	}
	s->gw = gw;
	s->ws = c;
	s->id = ++gw->next_session_id;
	snprintf(s->name, sizeof s->name, "#%llu", (unsigned long long)s->id);
	ev_timer_init(&s->timer, timer_cb, INITIAL_MESSAGE_TIMEOUT, 0.);
	s->timer.data = s;
	ev_timer_init(&s->ping_timer, ping_timeout_cb, PING_TIMEOUT, 0.);
	s->ping_timer.data = s;
	ev_timer_start(gw->loop, &s->timer);
	s->next = gw->all;
	if (gw->all)
		gw->all->prev = s;
	gw->all = s;
	gw->c.ws_accepted++;
	gw->c.ws_connections++;
	ns_ws_set_user(c, s);
}

static void on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
                       void *user)
{
	(void)c;
	struct gw_session *s = user;
	if (s == NULL || user == (void *)server_gw)
		return;
	switch (s->state) {
	case S_FRESH: handle_fresh(s, type, data, len); break;
	case S_HANDSHAKE: handle_handshake_message(s, type, data, len); break;
	case S_DRAINING:
	case S_LIVE:
		if (type == NS_WS_BINARY)
			handle_binary(s, data, len);
		else
			handle_text(s, data, len);
		break;
	case S_DUP_WAIT:
	case S_CLOSING: break;
	}
}

static void on_drain(ns_ws_conn *c, void *user)
{
	(void)c;
	struct gw_session *s = user;
	if (user == (void *)server_gw)
		return;
	if (s->backlog && (s->state == S_DRAINING || s->state == S_LIVE))
		drain(s);
}

static void on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	(void)c;
	struct gw_session *s = user;
	if (!s || user == (void *)server_gw) {
		/* the websocket never opened: bad upgrade request, timeout, connection cap */
		server_gw->c.ws_handshake_failures++;
		gw_log("client connection dropped before the websocket opened: %s", why);
		return;
	}
	struct gw *gw = s->gw;
	if (s->state != S_CLOSING)
		gw_log("client %s: connection closed (%d %s)", s->name, code, why);
	if (s->state != S_CLOSING && (code == 1002 || code == 1007 || code == 1009))
		gw->c.client_errors++; /* protocol error, bad UTF-8, oversize message */
	int was_holder = s->in_table;
	table_remove(s);
	if (s->dup_target) {
		s->dup_target->dup_waiter = NULL;
		s->dup_target = NULL;
	}
	struct gw_session *waiter = s->dup_waiter;
	s->dup_waiter = NULL;
	if (was_holder && s->authenticated)
		save_record(s);
	if (s->n_pushed && ns_ws_queued_bytes(c) == 0) /* every push was written out */
		for (size_t i = 0; i < s->n_pushed; i++)
			ns_gwstore_inbox_remove(gw->store, s->address, s->pushed[i]);
	ev_timer_stop(gw->loop, &s->timer);
	ev_timer_stop(gw->loop, &s->ping_timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		gw->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	gw->c.ws_connections--;
	free(s->pending_response);
	free(s->pushed);
	ns_gw_hs_clear(&s->hs);
	ns_memzero(s, sizeof *s);
	free(s);
	if (waiter) {
		waiter->dup_target = NULL;
		waiter->state = S_FRESH;
		auth_complete(waiter);
	}
}

static const ns_ws_callbacks callbacks = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
	.on_pong = on_pong,
	.on_drain = on_drain,
};

int gw_clients_start(struct gw *gw)
{
	ns_ws_limits limits = {
		.max_message_bytes = NS_GW_TEXT_MAX + 4096,
		.max_connections = 4096,
		.handshake_timeout = 1.5,
		.max_queued_bytes = 8u << 20,
	};
	int err = 0;
	server_gw = gw;
	gw->ws = ns_ws_server_listen(gw->loop, gw->conf.host, gw->conf.clients_ws_port, NULL, &limits,
	                             &callbacks, gw, &err);
	if (!gw->ws) {
		gw_log("cannot listen for clients on %s port %u: %s", gw->conf.host,
		       gw->conf.clients_ws_port, ns_ws_strerror(err));
		return -1;
	}
	return 0;
}

void gw_clients_stop(struct gw *gw)
{
	if (gw->ws)
		ns_ws_server_free(gw->ws);
	gw->ws = NULL;
}
