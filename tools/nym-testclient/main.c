/* nym-testclient: a scripted Nym client for gateway tests (common/gateway + common/websocket
 * + common/nymsphinx).
 *
 *   nym-testclient --ws ws://IP:PORT --gateway-id B58 --state FILE [--topology FILE]
 *                  [--delay-ms N] [--protocol V] [--legacy 1] COMMAND...
 *
 * --legacy 1 registers with a legacy key (the handshake without salt).
 * --protocol V claims protocol V in authenticateV2 (5: the gateway negotiates 5 and packets
 * go as ForwardSphinxV2 with the topology's key-rotation byte).
 * The state file keeps the client's keys and its shared gateway key (created when missing).
 * Commands run in order; the first failing one ends the program with exit 1:
 *   register              new connection: supportedProtocol + registration handshake
 *   auth | auth-v1        new connection: authenticateV2 / v1, then claim free bandwidth
 *   auth-fail             new connection: authentication must be refused
 *   upgrade-key           UpgradeKey (legacy key -> AES-256-GCM-SIV) on the connection
 *   auth-dup              a second connection authenticates while the current one is
 *                         open (and answers pings): it must be refused
 *   address               prints ADDRESS <nym address>
 *   send-self N           N one-fragment messages to ourselves (needs --topology)
 *   send-to ADDRESS N     N messages to another client
 *   expect-msgs N [S]     wait until N messages arrived in total (default 20 s)
 *   expect-acks N [S]     wait until N acks arrived in total
 *   hold S                keep the connection S seconds
 *   close                 close the current connection
 *   bad-handshake | garbage-text | garbage-binary-preauth | raw-garbage
 *                         new connection with that input: the gateway must close it
 *   garbage-frame | oversize-frame
 *                         on the authenticated connection: the gateway must close it
 * Output lines: ADDRESS, RECEIVED <text>, ACKS n, and a final SUMMARY. */
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
	int authed;
	size_t sends_ok, msgs, acks, fragments, bad_frames;
	int64_t bandwidth;
	struct nym_receiver rx;
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

static void handle_push(struct tc *t, const uint8_t *data, size_t len)
{
	static uint8_t msg[40000], buf[40000];
	size_t mlen = 0;
	if (!t->have_key || ns_gw_pushed_message_decode(&t->key, data, len, msg, sizeof msg, &mlen) < 0) {
		t->bad_frames++;
		return;
	}
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
	t->authed = 0;
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

/* ------------------------------------------------------------ commands */

static void send_hs(struct tc *t, const struct ns_gw_hs *hs, const uint8_t *b, size_t n)
{
	char *text = NULL;
	size_t len;
	if (ns_gw_hs_payload_encode(ns_gw_hs_protocol_version(hs), b, n, &text, &len) < 0)
		die("%s", "encode");
	send_text(t, text);
	free(text);
}

static int next_hs_payload(struct tc *t, uint8_t *out, size_t cap, size_t *n)
{
	for (;;) {
		char *s = next_text(t, 6);
		if (!s)
			return -1;
		struct ns_gw_hs_msg m;
		int rc = ns_gw_hs_msg_parse(s, strlen(s), &m, NULL);
		free(s);
		if (rc < 0)
			continue;
		if (m.type != NS_GW_HSMSG_PAYLOAD || m.data.len > cap) {
			ns_gw_hs_msg_free(&m);
			return -1;
		}
		memcpy(out, m.data.data, m.data.len);
		*n = m.data.len;
		ns_gw_hs_msg_free(&m);
		return 0;
	}
}

static void cmd_register(struct tc *t)
{
	connect_ws(t);
	uint8_t version = supported_protocol(t);
	struct ns_gw_hs hs;
	uint8_t buf[NS_GW_HS_MAX_LEN], in[NS_GW_HS_MAX_LEN];
	size_t n = 0, in_len = 0;
	ns_gw_hs_client_begin(&hs, t->seed, t->gateway_id, version >= 3 && !t->legacy, 0);
	if (ns_gw_hs_client_h1(&hs, buf, sizeof buf, &n) < 0)
		die("%s", "h1");
	send_hs(t, &hs, buf, n);
	if (next_hs_payload(t, in, sizeof in, &in_len) < 0 ||
	    ns_gw_hs_client_h3(&hs, in, in_len, buf, sizeof buf, &n) < 0)
		die("%s", "bad or missing H2");
	send_hs(t, &hs, buf, n);
	if (next_hs_payload(t, in, sizeof in, &in_len) < 0 ||
	    ns_gw_hs_client_finish(&hs, in, in_len) < 0 || ns_gw_hs_key(&hs, &t->key) < 0)
		die("%s", "bad or missing H4");
	ns_gw_hs_clear(&hs);
	struct ns_gw_response r;
	if (wait_response(t, NS_GW_RESP_REGISTER, &r, NULL) < 0 || !r.status)
		die("%s", "no register answer");
	t->have_key = 1;
	t->negotiated = r.has_protocol ? r.protocol_version : 1;
	save_state(t);
	printf("REGISTERED protocol=%u\n", t->negotiated);
	disconnect(t);
}

/* Sends an authentication request on the current connection; 0 when accepted. */
static int authenticate(struct tc *t, int v1, char **err_text)
{
	if (!t->have_key)
		die("%s", "not registered");
	uint8_t version = supported_protocol(t);
	char *text = NULL;
	size_t len;
	struct ns_gw_request req;
	memset(&req, 0, sizeof req);
	if (v1 || version < 4) {
		if (ns_gw_auth_v1_build(&req, &t->key, t->id_pk, 0) < 0)
			die("%s", "auth v1 build");
	} else {
		req.type = NS_GW_REQ_AUTHENTICATE_V2;
		if (ns_gw_auth_v2_build(&req.auth, &t->key, t->seed, (uint64_t)time(NULL)) < 0)
			die("%s", "auth v2 build");
		if (t->auth_protocol && t->auth_protocol != req.auth.protocol_version) {
			/* e.g. 5: the gateway then negotiates 5 and we send ForwardSphinxV2 */
			uint8_t sk[64], pk[32], m[NS_GW_AUTH_V2_MSG_MAX];
			size_t mlen;
			req.auth.protocol_version = t->auth_protocol;
			ns_ed25519_from_seed(pk, sk, t->seed);
			if (ns_gw_auth_v2_message(&req.auth, m, sizeof m, &mlen) < 0)
				die("%s", "auth v2 message");
			ns_ed25519_sign(req.auth.signature, m, mlen, sk);
			ns_memzero(sk, sizeof sk);
		}
	}
	int rc = ns_gw_request_encode(&req, &text, &len);
	ns_gw_request_free(&req);
	if (rc < 0)
		die("%s", "encode");
	send_text(t, text);
	free(text);
	struct ns_gw_response r;
	if (wait_response(t, NS_GW_RESP_AUTHENTICATE, &r, err_text) < 0)
		return -1;
	/* wait_response hands `authenticate` with status false back as a failure too */
	t->negotiated = r.has_protocol ? r.protocol_version : 1;
	t->bandwidth = r.bandwidth;
	t->authed = 1;
	return 0;
}

static void cmd_auth(struct tc *t, int v1)
{
	connect_ws(t);
	char *err = NULL;
	if (authenticate(t, v1, &err) < 0)
		die("authentication refused: %s", err ? err : "(closed)");
	if (t->bandwidth < CLAIM_THRESHOLD) {
		send_text(t, "{\"type\":\"claimFreeTestnetBandwidth\"}");
		struct ns_gw_response r;
		if (wait_response(t, NS_GW_RESP_BANDWIDTH, &r, NULL) < 0)
			die("%s", "no bandwidth answer");
		t->bandwidth = r.bandwidth;
	}
	printf("AUTHENTICATED protocol=%u bandwidth=%lld\n", t->negotiated, (long long)t->bandwidth);
}

/* encryptedRequest UpgradeKey under the legacy key; the answer comes under the new key. */
static void cmd_upgrade_key(struct tc *t)
{
	if (!t->ws || !t->authed || !t->key.legacy)
		die("%s", "upgrade-key needs a connection authenticated with a legacy key");
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
	send_text(t, text);
	free(text);
	struct ns_gw_response r;
	enum ns_gw_inner_resp_type ack;
	if (wait_response(t, NS_GW_RESP_ENCRYPTED, &r, NULL) < 0)
		die("%s", "no encryptedResponse");
	int rc = ns_gw_key_decrypt(&upgraded, r.nonce.data, r.nonce.len, r.ciphertext.data,
	                           r.ciphertext.len, pt, sizeof pt, &pt_len);
	ns_gw_response_free(&r);
	if (rc < 0 || ns_gw_inner_response_parse((char *)pt, pt_len, &ack, NULL) < 0 ||
	    ack != NS_GW_INNER_KEY_UPGRADE_ACK)
		die("%s", "bad KeyUpgradeAck");
	t->key = upgraded;
	ns_gw_key_clear(&upgraded);
	save_state(t);
	printf("KEY UPGRADED\n");
}

static void cmd_auth_fail(struct tc *t)
{
	connect_ws(t);
	char *err = NULL;
	if (authenticate(t, 0, &err) == 0)
		die("%s", "authentication was accepted");
	printf("AUTH REFUSED %s\n", err ? err : "(closed)");
	free(err);
	disconnect(t);
}

/* A second connection for the same client while this one is open. */
static void cmd_auth_dup(struct tc *t)
{
	if (!t->ws || !t->authed)
		die("%s", "auth-dup needs an authenticated connection");
	struct tc second = *t;
	second.ws = NULL;
	second.qhead = NULL;
	second.qtail = &second.qhead;
	second.open = second.closed = 0;
	int err = 0;
	second.ws = ns_ws_connect(t->loop, t->url, NULL, &callbacks, &second, &err);
	if (!second.ws || run_until(&second, p_open_or_closed, NULL, 5) < 0 || !second.open)
		die("%s", "second websocket did not open");
	sleep(1); /* authenticateV2 needs a later timestamp than the live session's */
	char *why = NULL;
	int rc = authenticate(&second, 0, &why);
	if (second.ws && !second.closed)
		ns_ws_abort(second.ws);
	drop_queue(&second);
	if (rc == 0)
		die("%s", "duplicate session was accepted");
	printf("DUPLICATE REFUSED %s\n", why ? why : "(closed)");
	free(why);
	if (t->closed)
		die("%s", "the original session was dropped");
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

static void send_messages(struct tc *t, const uint8_t to[96], long count)
{
	if (!t->ws || !t->authed)
		die("%s", "not authenticated");
	if (!t->have_topo)
		die("%s", "--topology needed");
	uint8_t self[96];
	self_bytes(t, self);
	size_t want = t->sends_ok;
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
			static uint8_t frame[NYM_PACKET_MAX_SIZE + 128];
			size_t flen = 0;
			struct nym_mix_packet mp = { .packet_type = pk[j].packet_type,
				                     .key_rotation = pk[j].key_rotation,
				                     .packet = pk[j].packet,
				                     .packet_len = pk[j].len };
			uint8_t kind = t->negotiated >= 5 ? NS_GW_BIN_FORWARD_SPHINX_V2
			                                  : NS_GW_BIN_FORWARD_SPHINX;
			if (kind == NS_GW_BIN_FORWARD_SPHINX)
				mp.key_rotation = NYM_KEY_ROTATION_UNKNOWN;
			if (nym_node_address_decode(pk[j].first_hop, 32, &mp.next_hop) < 0 ||
			    ns_gw_binary_request_encode(&t->key, kind, &mp, frame, sizeof frame, &flen) < 0 ||
			    ns_ws_send(t->ws, NS_WS_BINARY, frame, flen) < 0)
				die("%s", "sending a packet failed");
			want++;
		}
		tc_packets_free(pk, np);
	}
	const size_t *pair[2] = { &t->sends_ok, &want };
	if (run_until(t, p_count, pair, 10) < 0)
		die("%s", "the gateway did not answer every packet with `send`");
	printf("SENT %ld\n", count);
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
	t->authed = 0;
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
		if (!t->ws || !t->authed)
			die("%s needs an authenticated connection", which);
		size_t n = !strcmp(which, "oversize-frame") ? 200000 : 2451;
		uint8_t *junk = malloc(n);
		ns_random(junk, n);
		junk[0] = 1;
		junk[1] = 1;
		ns_ws_send(t->ws, NS_WS_BINARY, junk, n);
		free(junk);
		expect_closed_by_gateway(t, which);
		return;
	}
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
		else if (!strcmp(c, "close"))
			disconnect(&t);
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
		} else {
			cmd_garbage(&t, c);
		}
	}
	printf("SUMMARY msgs=%zu acks=%zu fragments=%zu sends=%zu bad_frames=%zu\n", t.msgs, t.acks,
	       t.fragments, t.sends_ok, t.bad_frames);
	disconnect(&t);
	ns_memzero(&t.key, sizeof t.key);
	ns_memzero(t.seed, sizeof t.seed);
	return t.bad_frames ? 1 : 0;
}
