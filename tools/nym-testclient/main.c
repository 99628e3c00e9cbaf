/* nym-testclient: a scripted Nym client for gateway tests. The client session (register or
 * authenticate, bandwidth, sending, receiving, reconnection) is common/gwclient with its
 * in-process key ops; the gateway-probing commands (garbage, duplicate session, key upgrade)
 * drive the websocket directly.
 *
 *   nym-testclient --ws ws://IP:PORT --gateway-id B58 --state FILE [--topology FILE]
 *                  [--delay-ms N] [--protocol V] [--legacy 1] COMMAND...
 *
 * --legacy 1 registers with a legacy key (the session is told the gateway speaks protocol 2,
 * as an old gateway would, so the handshake goes without salt).
 * --protocol V claims protocol V in authenticateV2 (5: the gateway negotiates 5 and packets
 * go as ForwardSphinxV2 with the topology's key-rotation byte).
 * The state file keeps the client's keys and its shared gateway key (created when missing).
 * Commands run in order; the first failing one ends the program with exit 1:
 *   register              new session: supportedProtocol + registration handshake (+ claim)
 *   auth | auth-v1        new session: authenticateV2 / v1 (gateway taken as protocol 3),
 *                         then claim free bandwidth
 *   auth-fail             new session: authentication must be refused
 *   upgrade-key           UpgradeKey (legacy key -> AES-256-GCM-SIV) on the session
 *   auth-dup              a second session authenticates while the current one is
 *                         open (and answers pings): it must be refused
 *   address               prints ADDRESS <nym address>
 *   send-self N           N one-fragment messages to ourselves (needs --topology), each
 *                         confirmed by the gateway
 *   send-to ADDRESS N     N messages to another client
 *   expect-msgs N [S]     wait until N messages arrived in total (default 20 s)
 *   expect-acks N [S]     wait until N acks arrived in total
 *   hold S                keep the connection S seconds
 *   close                 close the current session
 *   bad-handshake | garbage-text | garbage-binary-preauth | raw-garbage
 *                         new connection with that input: the gateway must close it
 *   garbage-frame | oversize-frame
 *                         on the authenticated session: the gateway must close it
 * Session commands for reconnection tests (the session reconnects by itself):
 *   gw-start              register (no stored key) or authenticate; until ready
 *   gw-send-self N | gw-send-to ADDRESS N   queue N messages (no waiting)
 *   gw-wait-sent N [S]    until the gateway confirmed N packets of this session
 *   gw-wait-state STATE [S]   until the session is in STATE (ready, backoff, ...)
 *   gw-status | gw-stop   print GW STATUS (and stop the session)
 * Output lines: ADDRESS, RECEIVED <text>, GW STATE <state> [error=...], and a final SUMMARY. */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "gwclient.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "nymsphinx/address.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "nymsphinx/receiver.h"
#include "testclient.h"
#include "topology_json.h"
#include "websocket.h"

#define CLAIM_THRESHOLD 40000000LL

struct textq {
	char *text;
	size_t len;
	struct textq *next;
};

struct tc {
	struct ev_loop *loop;
	ev_timer tick;
	uint8_t seed[32], id_pk[32];
	uint8_t enc_sk[32], enc_pk[32];
	uint8_t ack_key[16];
	uint8_t gateway_id[32];
	int have_key;
	struct ns_gw_key key;
	const char *url, *state_path;
	struct ns_topo topo;
	int have_topo;
	uint64_t delay_ns;
	uint8_t auth_protocol;     /* protocolVersion to claim in authenticateV2 (0: 4) */
	int legacy;                /* register with a legacy (AES-128-CTR + HMAC) key */
	ns_ws_conn *ws;
	int open, closed, close_code;
	struct textq *qhead, **qtail;
	uint8_t negotiated;
	size_t sends_ok, msgs, acks, fragments, bad_frames;
	int64_t bandwidth;
	struct nym_receiver rx;
	struct ns_gwc *gw;         /* the client session (common/gwclient) */
	struct ns_gwc_keys keys;   /* what its key ops work with */
	ns_ws_conn *gw_ws;         /* the session's websocket (probes write on it) */
	ns_ws_conn *gw_closing;    /* the last one, being closed by end_session */
	int tap;                   /* probes read the session's text messages */
	uint8_t pretend_version;   /* supportedProtocol answer shown to the session (0: real) */
	int just_registered;
	size_t sent_before;        /* packets confirmed in earlier sessions */
};

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "nym-testclient: FAIL: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* ------------------------------------------------------------ state file */

static void hex_out(FILE *f, const char *k, const uint8_t *b, size_t n)
{
	fprintf(f, "%s=", k);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
	fputc('\n', f);
}

static int hex_in(const char *s, uint8_t *b, size_t n)
{
	if (strlen(s) < 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (uint8_t)v;
	}
	return 0;
}

static void save_state(struct tc *t)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s.tmp", t->state_path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s", tmp);
	hex_out(f, "seed", t->seed, 32);
	hex_out(f, "enc", t->enc_sk, 32);
	hex_out(f, "ack", t->ack_key, 16);
	if (t->have_key) {
		hex_out(f, "key", t->key.bytes, 32);
		fprintf(f, "legacy=%d\n", t->key.legacy);
	}
	if (t->keys.last_auth_timestamp) /* authenticateV2 timestamps must keep growing */
		fprintf(f, "authts=%llu\n", (unsigned long long)t->keys.last_auth_timestamp);
	fclose(f);
	if (rename(tmp, t->state_path) < 0)
		die("cannot write %s", t->state_path);
}

static void load_state(struct tc *t)
{
	FILE *f = fopen(t->state_path, "r");
	if (!f) {
		ns_random(t->seed, 32);
		ns_random(t->enc_sk, 32);
		ns_random(t->ack_key, 16);
		save_state(t);
	} else {
		char line[256];
		int got = 0;
		while (fgets(line, sizeof line, f)) {
			if (!strncmp(line, "seed=", 5) && hex_in(line + 5, t->seed, 32) == 0)
				got |= 1;
			else if (!strncmp(line, "enc=", 4) && hex_in(line + 4, t->enc_sk, 32) == 0)
				got |= 2;
			else if (!strncmp(line, "ack=", 4) && hex_in(line + 4, t->ack_key, 16) == 0)
				got |= 4;
			else if (!strncmp(line, "key=", 4) && hex_in(line + 4, t->key.bytes, 32) == 0)
				t->have_key = 1;
			else if (!strncmp(line, "legacy=", 7))
				t->key.legacy = atoi(line + 7) != 0;
			else if (!strncmp(line, "authts=", 7))
				t->keys.last_auth_timestamp = strtoull(line + 7, NULL, 10);
		}
		fclose(f);
		if (got != 7)
			die("state file %s is incomplete", t->state_path);
	}
	uint8_t sk[64];
	ns_ed25519_from_seed(t->id_pk, sk, t->seed);
	ns_memzero(sk, sizeof sk);
	ns_x25519_base(t->enc_pk, t->enc_sk);
	memcpy(t->rx.encryption_secret, t->enc_sk, 32);
	memcpy(t->rx.ack_key, t->ack_key, 16);
}

static void self_bytes(const struct tc *t, uint8_t out[96])
{
	memcpy(out, t->id_pk, 32);
	memcpy(out + 32, t->enc_pk, 32);
	memcpy(out + 64, t->gateway_id, 32);
}

/* ------------------------------------------------------------ websocket */

static void handle_message(struct tc *t, const uint8_t *msg, size_t mlen);

static void handle_push(struct tc *t, const uint8_t *data, size_t len)
{
	static uint8_t msg[40000];
	size_t mlen = 0;
	if (!t->have_key || ns_gw_pushed_message_decode(&t->key, data, len, msg, sizeof msg, &mlen) < 0) {
		t->bad_frames++;
		return;
	}
	handle_message(t, msg, mlen);
}

/* A pushed message once opened: an ack or a one-fragment message. */
static void handle_message(struct tc *t, const uint8_t *msg, size_t mlen)
{
	static uint8_t buf[40000];
	struct nym_received r;
	if (nym_receive(&t->rx, msg, mlen, buf, sizeof buf, &r) < 0) {
		t->bad_frames++;
		return;
	}
	if (r.kind == NYM_RECEIVED_ACK) {
		t->acks++;
		return;
	}
	if (r.kind != NYM_RECEIVED_FRAGMENT)
		return;
	t->fragments++;
	struct nym_fragment f;
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;
	if (nym_fragment_decode(r.data, r.data_len, &f) < 0 || f.header.total != 1 ||
	    nym_msg_unpad(f.payload, f.payload_len, &type, &inner, &inner_len) < 0)
		return;
	t->msgs++;
	printf("RECEIVED %.*s\n", (int)inner_len, (const char *)inner);
	fflush(stdout);
}

static void on_open(ns_ws_conn *c, void *user)
{
	(void)c;
	((struct tc *)user)->open = 1;
}

static void on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
                       void *user)
{
	(void)c;
	struct tc *t = user;
	if (type == NS_WS_BINARY) {
		handle_push(t, data, len);
		return;
	}
	struct ns_gw_response r;
	if (ns_gw_response_parse((const char *)data, len, &r, NULL) == 0) {
		int is_send = r.type == NS_GW_RESP_SEND;
		if (is_send) {
			t->sends_ok++;
			t->bandwidth = r.bandwidth;
		}
		ns_gw_response_free(&r);
		if (is_send)
			return;
	}
	struct textq *q = calloc(1, sizeof *q);
	if (!q || !(q->text = malloc(len + 1)))
		die("%s", "out of memory");
	memcpy(q->text, data, len);
	q->text[len] = 0;
	q->len = len;
	*t->qtail = q;
	t->qtail = &q->next;
}

static void on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	(void)c;
	(void)why;
	struct tc *t = user;
	t->closed = 1;
	t->close_code = code;
	t->ws = NULL;
}

static const ns_ws_callbacks callbacks = { .on_open = on_open, .on_message = on_message,
	                                   .on_close = on_close };

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

typedef int (*pred_fn)(struct tc *t, const void *arg);

static int run_until(struct tc *t, pred_fn pred, const void *arg, double timeout)
{
	double deadline = ev_time() + timeout;
	while (!pred(t, arg)) {
		if (ev_time() > deadline)
			return -1;
		ev_run(t->loop, EVRUN_ONCE);
	}
	return 0;
}

static int p_open_or_closed(struct tc *t, const void *a)
{
	(void)a;
	return t->open || t->closed;
}
static int p_closed(struct tc *t, const void *a)
{
	(void)a;
	return t->closed;
}
static int p_text_or_closed(struct tc *t, const void *a)
{
	(void)a;
	return t->qhead != NULL || t->closed;
}
static int p_count(struct tc *t, const void *a)
{
	(void)t;
	const size_t *const *pair = a;
	return *pair[0] >= *pair[1];
}

static void drop_queue(struct tc *t)
{
	while (t->qhead) {
		struct textq *q = t->qhead;
		t->qhead = q->next;
		free(q->text);
		free(q);
	}
	t->qtail = &t->qhead;
}

static void disconnect(struct tc *t)
{
	if (t->ws && !t->closed) {
		ns_ws_close(t->ws, 1000, "");
		run_until(t, p_closed, NULL, 6);
		if (t->ws)
			ns_ws_abort(t->ws);
	}
	t->ws = NULL;
	drop_queue(t);
}

static void connect_ws(struct tc *t)
{
	disconnect(t);
	t->open = t->closed = 0;
	int err = 0;
	t->ws = ns_ws_connect(t->loop, t->url, NULL, &callbacks, t, &err);
	if (!t->ws)
		die("connect: %s", ns_ws_strerror(err));
	if (run_until(t, p_open_or_closed, NULL, 5) < 0 || !t->open)
		die("%s", "websocket did not open");
}

/* Next queued text (malloc'd), NULL on timeout or close. */
static char *next_text(struct tc *t, double timeout)
{
	if (run_until(t, p_text_or_closed, NULL, timeout) < 0 || !t->qhead)
		return NULL;
	struct textq *q = t->qhead;
	t->qhead = q->next;
	if (!t->qhead)
		t->qtail = &t->qhead;
	char *s = q->text;
	free(q);
	return s;
}

static void send_text(struct tc *t, const char *text)
{
	if (!t->ws || ns_ws_send(t->ws, NS_WS_TEXT, (const uint8_t *)text, strlen(text)) < 0)
		die("%s", "send failed");
}

/* Waits for a response of one type; an `error` response or a close fails (returns -1 and
 * leaves the message in *err_text when err_text is not NULL). */
static int wait_response(struct tc *t, enum ns_gw_resp_type type, struct ns_gw_response *out,
                         char **err_text)
{
	for (;;) {
		char *s = next_text(t, 10);
		if (getenv("TC_DEBUG"))
			fprintf(stderr, "text: %s (closed=%d)\n", s ? s : "(none)", t->closed);
		if (!s)
			return -1;
		struct ns_gw_response r;
		int rc = ns_gw_response_parse(s, strlen(s), &r, NULL);
		if (rc == 0 && r.type == type) {
			free(s);
			*out = r;
			return 0;
		}
		enum ns_gw_resp_type got = rc == 0 ? r.type : 0;
		if (rc == 0)
			ns_gw_response_free(&r);
		if (got == NS_GW_RESP_ERROR || got == NS_GW_RESP_AUTHENTICATE) {
			if (err_text)
				*err_text = s;
			else
				free(s);
			return -1;
		}
		free(s);
	}
}

static uint8_t supported_protocol(struct tc *t)
{
	send_text(t, "{\"type\":\"supportedProtocol\"}");
	struct ns_gw_response r;
	if (wait_response(t, NS_GW_RESP_SUPPORTED_PROTOCOL, &r, NULL) < 0)
		die("%s", "no supportedProtocol answer");
	return r.version;
}

/* ------------------------------------------------------------ the session (common/gwclient) */

/* Websocket transport for the session, with a tap: probes may read its text messages
 * (tap) and the session may be shown an older gateway's supportedProtocol answer. */
static void s_on_open(ns_ws_conn *c, void *user)
{
	struct tc *t = user;
	if (t)
		ns_gwc_tr_open(t->gw, c);
}

static int is_supported_protocol(const uint8_t *data, size_t len)
{
	struct ns_gw_response r;
	if (ns_gw_response_parse((const char *)data, len, &r, NULL) < 0)
		return 0;
	int yes = r.type == NS_GW_RESP_SUPPORTED_PROTOCOL;
	ns_gw_response_free(&r);
	return yes;
}

static void queue_text(struct tc *t, const uint8_t *data, size_t len)
{
	struct textq *q = calloc(1, sizeof *q);
	if (!q || !(q->text = malloc(len + 1)))
		die("%s", "out of memory");
	memcpy(q->text, data, len);
	q->text[len] = 0;
	q->len = len;
	*t->qtail = q;
	t->qtail = &q->next;
}

static void s_on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
                         void *user)
{
	struct tc *t = user;
	if (!t)
		return;
	if (type == NS_WS_TEXT && t->tap && c == t->gw_ws) {
		queue_text(t, data, len);
		return;
	}
	if (type == NS_WS_TEXT && t->pretend_version && is_supported_protocol(data, len)) {
		char text[64];
		int n = snprintf(text, sizeof text, "{\"type\":\"supportedProtocol\",\"version\":%u}",
		                 t->pretend_version);
		ns_gwc_tr_message(t->gw, c, 0, (const uint8_t *)text, (size_t)n);
		return;
	}
	ns_gwc_tr_message(t->gw, c, type == NS_WS_BINARY, data, len);
}

static void s_on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	struct tc *t = user;
	if (!t)
		return;
	if (c == t->gw_closing) {
		t->gw_closing = NULL;
		return;
	}
	if (c == t->gw_ws) {
		t->gw_ws = NULL;
		t->closed = 1;
		t->close_code = code;
	}
	ns_gwc_tr_closed(t->gw, c, code, why);
}

static void s_on_pong(ns_ws_conn *c, const uint8_t *data, size_t len, void *user)
{
	(void)data;
	(void)len;
	struct tc *t = user;
	if (t)
		ns_gwc_tr_pong(t->gw, c);
}

static const ns_ws_callbacks s_callbacks = { .on_open = s_on_open, .on_message = s_on_message,
	                                     .on_close = s_on_close, .on_pong = s_on_pong };

static void *tt_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	(void)c;
	struct tc *t = tctx;
	int err = 0;
	t->closed = 0;
	t->gw_ws = ns_ws_connect(t->loop, url, NULL, &s_callbacks, t, &err);
	return t->gw_ws;
}

static int tt_send(void *tctx, void *h, int binary, const uint8_t *data, size_t len)
{
	(void)tctx;
	return ns_ws_send(h, binary ? NS_WS_BINARY : NS_WS_TEXT, data, len);
}

static int tt_ping(void *tctx, void *h)
{
	(void)tctx;
	uint8_t tag[8];
	ns_random(tag, sizeof tag);
	return ns_ws_ping(h, tag, sizeof tag);
}

static void tt_close(void *tctx, void *h, int graceful)
{
	struct tc *t = tctx;
	if (h == t->gw_ws)
		t->gw_ws = NULL;
	if (graceful && ns_ws_close(h, 1000, "") == 0) {
		t->gw_closing = h; /* end_session waits for the close handshake */
		return;
	}
	ns_ws_set_user(h, NULL);
	ns_ws_abort(h);
}

static const struct ns_gwc_transport tap_transport = { .connect = tt_connect, .send = tt_send,
	                                               .ping = tt_ping, .close = tt_close };

static void gw_on_state(struct ns_gwc *c, enum ns_gwc_state s, void *user)
{
	(void)user;
	struct ns_gwc_status st;
	ns_gwc_get_status(c, &st);
	if (s == NS_GWC_BACKOFF || s == NS_GWC_FAILED)
		printf("GW STATE %s error=%s (%s)\n", ns_gwc_state_name(s),
		       ns_gwc_strerror(st.last_error), st.last_error_text);
	else
		printf("GW STATE %s\n", ns_gwc_state_name(s));
}

static void gw_on_message(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user)
{
	(void)c;
	handle_message(user, msg, len);
}

static void gw_on_registered(struct ns_gwc *c, void *user)
{
	(void)c;
	struct tc *t = user;
	t->key = t->keys.key;
	t->have_key = 1;
	t->just_registered = 1;
	save_state(t);
}

static const struct ns_gwc_callbacks gw_callbacks = { .on_state = gw_on_state,
	                                              .on_message = gw_on_message,
	                                              .on_registered = gw_on_registered };

static int session_ready(const struct tc *t)
{
	return t->gw && ns_gwc_state(t->gw) == NS_GWC_READY;
}

static struct ns_gwc_status session_status(const struct tc *t)
{
	struct ns_gwc_status st;
	ns_gwc_get_status(t->gw, &st);
	return st;
}

static int p_not_closing(struct tc *t, const void *a)
{
	(void)a;
	return t->gw_closing == NULL;
}

/* Closes the session (close handshake included) and forgets it. */
static void end_session(struct tc *t)
{
	if (!t->gw)
		return;
	t->sent_before += session_status(t).sent_confirmed;
	ns_gwc_stop(t->gw);
	run_until(t, p_not_closing, NULL, 6);
	if (t->gw_closing) {
		ns_ws_set_user(t->gw_closing, NULL);
		ns_ws_abort(t->gw_closing);
		t->gw_closing = NULL;
	}
	ns_gwc_free(t->gw);
	t->gw = NULL;
	t->gw_ws = NULL;
	t->tap = 0;
	drop_queue(t);
}

static int p_settled(struct tc *t, const void *a)
{
	(void)a;
	enum ns_gwc_state s = ns_gwc_state(t->gw);
	return s == NS_GWC_READY || s == NS_GWC_FAILED;
}

/* A new session: registers without a stored key, else authenticates; returns once it is
 * ready or failed. pretend: the gateway protocol version the session is shown (0: real). */
static void start_session(struct tc *t, uint8_t pretend)
{
	end_session(t);
	disconnect(t);
	memcpy(t->keys.identity_seed, t->seed, 32);
	memcpy(t->keys.gateway_identity, t->gateway_id, 32);
	t->keys.have_key = t->have_key;
	t->keys.key = t->key;
	t->pretend_version = pretend;
	t->just_registered = 0;
	struct ns_gwc_config cfg = { .url = t->url, .registered = t->have_key,
		                     .auth_protocol = t->auth_protocol, .response_timeout = 10,
		                     .ping_interval = 2, .ping_timeout = 3 };
	t->gw = ns_gwc_new(t->loop, &cfg, ns_gwc_default_ops(), &t->keys, &tap_transport, t,
	                   &gw_callbacks, t);
	if (!t->gw || ns_gwc_start(t->gw) < 0)
		die("%s", "cannot start a session");
	uint64_t ts = t->keys.last_auth_timestamp;
	run_until(t, p_settled, NULL, 20);
	if (t->keys.last_auth_timestamp != ts)
		save_state(t);
	struct ns_gwc_status st = session_status(t);
	t->negotiated = st.negotiated_protocol;
	t->bandwidth = st.bandwidth;
}

static void need_session(struct tc *t, const char *what)
{
	if (!session_ready(t))
		die("%s needs an authenticated session", what);
}

static void cmd_register(struct tc *t)
{
	int had_key = t->have_key;
	t->have_key = 0;
	start_session(t, t->legacy ? NS_GW_PROTOCOL_CREDENTIALS : 0);
	if (!t->just_registered) {
		t->have_key = had_key;
		die("registration failed: %s", session_status(t).last_error_text);
	}
	printf("REGISTERED protocol=%u\n", t->negotiated);
	end_session(t);
}

static void cmd_auth(struct tc *t, int v1)
{
	if (!t->have_key)
		die("%s", "not registered");
	start_session(t, v1 ? NS_GW_PROTOCOL_AES : 0);
	if (!session_ready(t))
		die("authentication refused: %s", session_status(t).last_error_text);
	printf("AUTHENTICATED protocol=%u bandwidth=%lld\n", t->negotiated, (long long)t->bandwidth);
}

static void cmd_auth_fail(struct tc *t)
{
	if (!t->have_key)
		die("%s", "not registered");
	start_session(t, 0);
	if (session_ready(t))
		die("%s", "authentication was accepted");
	printf("AUTH REFUSED %s\n", session_status(t).last_error_text);
	end_session(t);
}

static void dup_on_state(struct ns_gwc *c, enum ns_gwc_state s, void *user)
{
	(void)c;
	(void)s;
	(void)user;
}

static int p_dup_settled(struct tc *t, const void *a)
{
	(void)t;
	enum ns_gwc_state s = ns_gwc_state((struct ns_gwc *)a);
	return s == NS_GWC_READY || s == NS_GWC_FAILED || s == NS_GWC_BACKOFF;
}

/* A second session for the same client while this one is open (and answers pings). */
static void cmd_auth_dup(struct tc *t)
{
	need_session(t, "auth-dup");
	struct ns_gwc_keys keys = t->keys; /* later authenticateV2 timestamp included */
	keys.hs = NULL;
	struct ns_gwc_config cfg = { .url = t->url, .registered = 1, .max_attempts = 1 };
	struct ns_gwc_callbacks cb = { .on_state = dup_on_state };
	struct ns_gwc *second = ns_gwc_new(t->loop, &cfg, ns_gwc_default_ops(), &keys,
	                                   ns_gwc_ws_transport(), NULL, &cb, NULL);
	if (!second || ns_gwc_start(second) < 0)
		die("%s", "second session");
	run_until(t, p_dup_settled, second, 10);
	struct ns_gwc_status st;
	ns_gwc_get_status(second, &st);
	ns_gwc_free(second);
	t->keys.last_auth_timestamp = keys.last_auth_timestamp;
	ns_gwc_keys_clear(&keys);
	save_state(t);
	if (st.state == NS_GWC_READY)
		die("%s", "duplicate session was accepted");
	printf("DUPLICATE REFUSED %s\n", st.last_error_text);
	if (!session_ready(t))
		die("%s", "the original session was dropped");
}

/* Queues count messages on the session (no waiting). */
static void queue_messages(struct tc *t, const uint8_t to[96], long count);

static int p_sent(struct tc *t, const void *arg)
{
	return t->gw && session_status(t).sent_confirmed >= *(const uint64_t *)arg;
}

static void send_messages(struct tc *t, const uint8_t to[96], long count)
{
	need_session(t, "sending");
	queue_messages(t, to, count);
	struct ns_gwc_status st = session_status(t);
	uint64_t want = st.sent_confirmed + st.queued + st.in_flight; /* all of them */
	if (run_until(t, p_sent, &want, 10) < 0)
		die("%s", "the gateway did not answer every packet with `send`");
	printf("SENT %ld\n", count);
}

/* ------------------------------------------------------------ commands */

/* encryptedRequest UpgradeKey under the legacy key; the answer comes under the new key. */
static void cmd_upgrade_key(struct tc *t)
{
	need_session(t, "upgrade-key");
	if (!t->key.legacy)
		die("%s", "upgrade-key needs a legacy key");
	struct ns_gw_key upgraded;
	uint8_t salt[16], digest[32], nonce[NS_GW_MAX_NONCE_LEN], ct[512], pt[512];
	size_t ct_len = 0, pt_len = 0;
	ns_random(salt, sizeof salt);
	if (ns_gw_key_upgrade(&t->key, salt, sizeof salt, &upgraded) < 0)
		die("%s", "key upgrade derivation");
	ns_gw_key_digest(&upgraded, digest);
	struct ns_gw_inner_request inner = { .type = NS_GW_INNER_UPGRADE_KEY,
		                             .hkdf_salt = { salt, sizeof salt },
		                             .derived_key_digest = { digest, sizeof digest } };
	char *json = NULL, *text = NULL;
	size_t json_len = 0, len = 0;
	size_t nonce_len = ns_gw_key_random_nonce(&t->key, nonce);
	if (ns_gw_inner_request_encode(&inner, &json, &json_len) < 0 ||
	    ns_gw_key_encrypt(&t->key, nonce, nonce_len, (uint8_t *)json, json_len, ct, sizeof ct,
	                      &ct_len) < 0)
		die("%s", "upgrade request");
	free(json);
	struct ns_gw_request req = { .type = NS_GW_REQ_ENCRYPTED, .ciphertext = { ct, ct_len },
		                     .nonce = { nonce, nonce_len } };
	if (ns_gw_request_encode(&req, &text, &len) < 0)
		die("%s", "encode");
	t->tap = 1; /* the answer is for us, not for the session */
	if (ns_ws_send(t->gw_ws, NS_WS_TEXT, (const uint8_t *)text, len) < 0)
		die("%s", "send failed");
	free(text);
	struct ns_gw_response r;
	enum ns_gw_inner_resp_type ack;
	if (wait_response(t, NS_GW_RESP_ENCRYPTED, &r, NULL) < 0)
		die("%s", "no encryptedResponse");
	t->tap = 0;
	int rc = ns_gw_key_decrypt(&upgraded, r.nonce.data, r.nonce.len, r.ciphertext.data,
	                           r.ciphertext.len, pt, sizeof pt, &pt_len);
	ns_gw_response_free(&r);
	if (rc < 0 || ns_gw_inner_response_parse((char *)pt, pt_len, &ack, NULL) < 0 ||
	    ack != NS_GW_INNER_KEY_UPGRADE_ACK)
		die("%s", "bad KeyUpgradeAck");
	t->key = upgraded;
	t->keys.key = upgraded; /* the session's key ops switch to it */
	ns_gw_key_clear(&upgraded);
	save_state(t);
	printf("KEY UPGRADED\n");
}

static void cmd_address(struct tc *t)
{
	struct nym_recipient r;
	uint8_t b[96];
	char s[NYM_RECIPIENT_STR_MAX];
	self_bytes(t, b);
	if (nym_recipient_from_bytes(b, &r) < 0 || nym_recipient_to_string(&r, s, sizeof s) < 0)
		die("%s", "address");
	printf("ADDRESS %s\n", s);
}

static void expect_count(struct tc *t, const size_t *counter, const char *what, long n, double s)
{
	size_t want = (size_t)n;
	const size_t *pair[2] = { counter, &want };
	if (run_until(t, p_count, pair, s) < 0) {
		fprintf(stderr, "nym-testclient: FAIL: %zu of %ld %s arrived\n", *counter, n, what);
		exit(1);
	}
	printf("GOT %zu %s\n", *counter, what);
}

static void expect_closed_by_gateway(struct tc *t, const char *what)
{
	if (run_until(t, p_closed, NULL, 12) < 0)
		die("the gateway kept the connection open after %s", what);
	printf("DROPPED after %s (code %d)\n", what, t->close_code);
	t->ws = NULL;
	drop_queue(t);
}

static void send_raw_garbage(struct tc *t)
{
	/* ws://IP:PORT/ -> plain TCP garbage instead of an HTTP upgrade */
	char host[64];
	int port = 0;
	if (sscanf(t->url, "ws://%63[0-9.]:%d", host, &port) != 2)
		die("%s", "raw-garbage needs an IPv4 ws:// URL");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("%s", "raw connect failed");
	uint8_t junk[512];
	ns_random(junk, sizeof junk);
	if (write(fd, junk, sizeof junk) < 0)
		die("%s", "raw write failed");
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[256];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		;
	close(fd);
	if (r < 0)
		die("%s", "the gateway kept a garbage TCP connection open");
	printf("DROPPED after raw-garbage\n");
}

static void cmd_garbage(struct tc *t, const char *which)
{
	if (!strcmp(which, "raw-garbage")) {
		send_raw_garbage(t);
		return;
	}
	if (!strcmp(which, "garbage-frame") || !strcmp(which, "oversize-frame")) {
		need_session(t, which);
		size_t n = !strcmp(which, "oversize-frame") ? 200000 : 2451;
		uint8_t *junk = malloc(n);
		ns_random(junk, n);
		junk[0] = 1;
		junk[1] = 1;
		t->tap = 1; /* the gateway's error text is for us: see it close the connection */
		ns_ws_send(t->gw_ws, NS_WS_BINARY, junk, n);
		free(junk);
		expect_closed_by_gateway(t, which);
		end_session(t); /* no reconnection */
		return;
	}
	end_session(t);
	connect_ws(t);
	if (!strcmp(which, "bad-handshake")) {
		supported_protocol(t);
		send_text(t, "{\"type\":\"handshakePayload\",\"protocol_version\":3,\"data\":[1,2,3]}");
	} else if (!strcmp(which, "garbage-text")) {
		send_text(t, "\x7b this is not json");
	} else if (!strcmp(which, "garbage-binary-preauth")) {
		uint8_t junk[100];
		ns_random(junk, sizeof junk);
		ns_ws_send(t->ws, NS_WS_BINARY, junk, sizeof junk);
	} else {
		die("unknown command %s", which);
	}
	expect_closed_by_gateway(t, which);
}

/* ------------------------------------------------------------ gw-* commands */

static int p_gw_state(struct tc *t, const void *arg)
{
	enum ns_gwc_state s = ns_gwc_state(t->gw);
	return !strcmp(ns_gwc_state_name(s), arg) || s == NS_GWC_FAILED;
}

static void gw_wait_state(struct tc *t, const char *state, double timeout)
{
	if (!t->gw)
		die("%s", "no session (gw-start)");
	if (run_until(t, p_gw_state, state, timeout) < 0)
		die("state %s not reached", state);
	if (strcmp(ns_gwc_state_name(ns_gwc_state(t->gw)), state))
		die("the session failed before %s", state);
}

static void cmd_gw_start(struct tc *t)
{
	start_session(t, 0);
	if (t->just_registered)
		printf("REGISTERED protocol=%u\n", t->negotiated);
	gw_wait_state(t, "ready", 1);
	printf("GW READY protocol=%u bandwidth=%lld\n", t->negotiated, (long long)t->bandwidth);
}

static int p_writable(struct tc *t, const void *arg)
{
	(void)arg;
	struct ns_gwc_status st = session_status(t);
	return st.queued + st.in_flight < 128 || st.state == NS_GWC_FAILED;
}

static void queue_messages(struct tc *t, const uint8_t to[96], long count)
{
	if (!t->gw || !t->have_topo)
		die("%s", "sending needs a session and --topology");
	uint8_t self[96];
	self_bytes(t, self);
	for (long i = 0; i < count; i++) {
		char text[64];
		uint8_t rnd[4];
		ns_random(rnd, sizeof rnd);
		int n = snprintf(text, sizeof text, "nymsuite-test:%ld:%02x%02x%02x%02x", i, rnd[0],
		                 rnd[1], rnd[2], rnd[3]);
		struct tc_packet *pk = NULL;
		size_t np = 0;
		if (tc_prepare(&t->topo.topology, self, t->ack_key, to, t->delay_ns, (uint8_t *)text,
		               (size_t)n, &pk, &np) < 0)
			die("%s", "prepare");
		for (size_t j = 0; j < np; j++) {
			struct nym_mix_packet mp = { .packet_type = pk[j].packet_type,
				                     .key_rotation = pk[j].key_rotation,
				                     .packet = pk[j].packet,
				                     .packet_len = pk[j].len };
			if (nym_node_address_decode(pk[j].first_hop, 32, &mp.next_hop) < 0)
				die("%s", "first hop");
			int rc;
			while ((rc = ns_gwc_send(t->gw, &mp)) == NS_GWC_E_QUEUE_FULL)
				if (run_until(t, p_writable, NULL, 20) < 0)
					die("%s", "queue stays full");
			if (rc < 0)
				die("send: %s", ns_gwc_strerror(rc));
		}
		tc_packets_free(pk, np);
	}
}

static void gw_status(struct tc *t)
{
	struct ns_gwc_status st = session_status(t);
	printf("GW STATUS state=%s reconnects=%u attempts=%u last_error=%s sent=%llu received=%llu "
	       "resent=%llu queued=%zu in_flight=%zu protocol=%u bandwidth=%lld\n",
	       ns_gwc_state_name(st.state), st.reconnects, st.reconnect_attempts,
	       ns_gwc_strerror(st.last_error), (unsigned long long)st.sent_confirmed,
	       (unsigned long long)st.received, (unsigned long long)st.resent, st.queued,
	       st.in_flight, st.negotiated_protocol, (long long)st.bandwidth);
}

static double opt_seconds(int argc, char **argv, int *i, double def)
{
	if (*i + 1 < argc && argv[*i + 1][0] >= '0' && argv[*i + 1][0] <= '9')
		return atof(argv[++*i]);
	return def;
}

static int gw_command(struct tc *t, int argc, char **argv, int *i)
{
	const char *c = argv[*i];
	if (!strcmp(c, "gw-start")) {
		cmd_gw_start(t);
	} else if (!strcmp(c, "gw-send-self") && *i + 1 < argc) {
		uint8_t self[96];
		self_bytes(t, self);
		long n = atol(argv[++*i]);
		queue_messages(t, self, n);
		printf("QUEUED %ld\n", n);
	} else if (!strcmp(c, "gw-send-to") && *i + 2 < argc) {
		struct nym_recipient r;
		uint8_t to[96];
		if (nym_recipient_from_string(argv[*i + 1], &r) < 0)
			die("bad address %s", argv[*i + 1]);
		nym_recipient_to_bytes(&r, to);
		long n = atol(argv[*i + 2]);
		queue_messages(t, to, n);
		printf("QUEUED %ld\n", n);
		*i += 2;
	} else if (!strcmp(c, "gw-wait-sent") && *i + 1 < argc) {
		uint64_t want = (uint64_t)atol(argv[++*i]);
		double s = opt_seconds(argc, argv, i, 20);
		if (!t->gw || run_until(t, p_sent, &want, s) < 0)
			die("%s", "not every packet was confirmed by the gateway");
		printf("GW SENT %llu\n", (unsigned long long)want);
	} else if (!strcmp(c, "gw-wait-state") && *i + 1 < argc) {
		const char *state = argv[++*i];
		gw_wait_state(t, state, opt_seconds(argc, argv, i, 20));
	} else if (!strcmp(c, "gw-status")) {
		if (!t->gw)
			die("%s", "no session");
		gw_status(t);
	} else if (!strcmp(c, "gw-stop")) {
		if (t->gw)
			gw_status(t);
		end_session(t);
	} else {
		return 0;
	}
	return 1;
}

static int load_topology(struct tc *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (ns_topo_parse(buf, n, &t->topo) < 0)
		return -1;
	t->have_topo = 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: nym-testclient --ws URL --gateway-id B58 --state FILE "
	                "[--topology FILE] [--delay-ms N] [--protocol V] [--legacy 1] COMMAND...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct tc t;
	const char *gateway = NULL, *topology = NULL;
	int i = 1;
	t.delay_ns = 5000000;
	for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--ws"))
			t.url = argv[i + 1];
		else if (!strcmp(argv[i], "--gateway-id"))
			gateway = argv[i + 1];
		else if (!strcmp(argv[i], "--state"))
			t.state_path = argv[i + 1];
		else if (!strcmp(argv[i], "--topology"))
			topology = argv[i + 1];
		else if (!strcmp(argv[i], "--legacy"))
			t.legacy = atoi(argv[i + 1]) != 0;
		else if (!strcmp(argv[i], "--protocol"))
			t.auth_protocol = (uint8_t)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--delay-ms"))
			t.delay_ns = (uint64_t)atol(argv[i + 1]) * 1000000u;
		else
			usage();
	}
	if (!t.url || !gateway || !t.state_path)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ns_crypto_init() < 0)
		return 1;
	if (base58_decode(gateway, t.gateway_id, 32) != 32)
		die("bad gateway id %s", gateway);
	if (topology && load_topology(&t, topology) < 0)
		die("bad topology %s", topology);
	t.qtail = &t.qhead;
	t.loop = ev_default_loop(0);
	ev_timer_init(&t.tick, tick_cb, 0.02, 0.02);
	ev_timer_start(t.loop, &t.tick);
	signal(SIGPIPE, SIG_IGN);
	load_state(&t);
	for (; i < argc; i++) {
		const char *c = argv[i];
		if (!strcmp(c, "register"))
			cmd_register(&t);
		else if (!strcmp(c, "auth"))
			cmd_auth(&t, 0);
		else if (!strcmp(c, "auth-v1"))
			cmd_auth(&t, 1);
		else if (!strcmp(c, "auth-fail"))
			cmd_auth_fail(&t);
		else if (!strcmp(c, "upgrade-key"))
			cmd_upgrade_key(&t);
		else if (!strcmp(c, "auth-dup"))
			cmd_auth_dup(&t);
		else if (!strcmp(c, "address"))
			cmd_address(&t);
		else if (!strcmp(c, "close")) {
			end_session(&t);
			disconnect(&t);
		}
		else if (!strcmp(c, "send-self") && i + 1 < argc) {
			uint8_t self[96];
			self_bytes(&t, self);
			send_messages(&t, self, atol(argv[++i]));
		} else if (!strcmp(c, "send-to") && i + 2 < argc) {
			struct nym_recipient r;
			uint8_t to[96];
			if (nym_recipient_from_string(argv[i + 1], &r) < 0)
				die("bad address %s", argv[i + 1]);
			nym_recipient_to_bytes(&r, to);
			send_messages(&t, to, atol(argv[i + 2]));
			i += 2;
		} else if ((!strcmp(c, "expect-msgs") || !strcmp(c, "expect-acks")) && i + 1 < argc) {
			long n = atol(argv[++i]);
			double s = 20;
			if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9')
				s = atof(argv[++i]);
			if (!strcmp(c, "expect-msgs"))
				expect_count(&t, &t.msgs, "messages", n, s);
			else
				expect_count(&t, &t.acks, "acks", n, s);
		} else if (!strcmp(c, "hold") && i + 1 < argc) {
			size_t never = SIZE_MAX;
			const size_t *pair[2] = { &t.msgs, &never };
			run_until(&t, p_count, pair, atof(argv[++i]));
		} else if (!gw_command(&t, argc, argv, &i)) {
			cmd_garbage(&t, c);
		}
	}
	end_session(&t);
	printf("SUMMARY msgs=%zu acks=%zu fragments=%zu sends=%zu bad_frames=%zu\n", t.msgs, t.acks,
	       t.fragments, t.sends_ok + t.sent_before, t.bad_frames);
	disconnect(&t);
	ns_gwc_keys_clear(&t.keys);
	ns_memzero(&t.key, sizeof t.key);
	ns_memzero(t.seed, sizeof t.seed);
	return t.bad_frames ? 1 : 0;
}
