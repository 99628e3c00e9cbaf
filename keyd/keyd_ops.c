/* keyd's operations (keyd_ops.h): the gateway session steps, building and sealing packets,
 * opening pushed frames, reply SURBs, the topology copy, stats. Portable: messages go out
 * through the host and come in through nc_keyd_deliver; the process glue is keyd.c natively,
 * wasm/c/nsw_keyd.c in the browser. */
#include "keyd_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "ipc_codec.h"
#include "log.h"
#include "nymclient.h"

#define PENDING_MAX 4096
#define SURB_WAIT_MAX 256 /* MAKE_SURBS waiting for the session and the topology */
#define REPLY_KEYS_MAX 100000   /* reply keys of SURBs we handed out */
#define SURBS_TOTAL_MAX 20000   /* SURBs received, all tags together */
#define SURB_TAGS_MAX 1024
#define REPLY_QUEUE_MAX 1024    /* reply fragments waiting per tag */
/* All tags together (~2 KB each: 32 MiB); tags are made by strangers' anonymous messages. */
#define REPLY_QUEUE_TOTAL_MAX 16384
#define REPLY_TICK_NS 5000000000ull /* Nym's reply controller inspects stale data every 5 s */

struct pending_build {
	struct pending_build *next;
	uint8_t frag_id[5], recipient[96];
	uint64_t lane, size_tag;
	size_t len;
	uint8_t frag[];
};

struct nc_keyd {
	struct ns_ipc_host host;
	nc_keyd_key_changed_fn key_changed;
	void *key_ctx;
	const char *error; /* what the peer did wrong (nc_keyd_deliver -1) */
	uint8_t seed[32], identity_pk[32], gateway[32];
	struct nc_prep *prep;
	struct ns_gw_hs *hs;
	int hs_step;
	int have_key, reregistered;
	struct ns_gw_key key;
	uint64_t last_auth_ts;
	struct pending_build *pending, **pending_tail;
	size_t n_pending;
	struct surb_wait *surb_wait, **surb_wait_tail;
	size_t n_surb_wait;
	uint64_t built, opened, acks, fragments, cover;
	uint64_t replies_built, replies_received, surbs_made, surbs_stored, surb_requests_sent;
	uint64_t reply_drops, hs_failures;
	uint64_t replies_refused;
	uint64_t loop_delay_ns, packet_delay_ns;
	double ack_wait_multiplier;
	uint64_t ack_wait_addition_ns;
	uint64_t surb_request_retransmissions;
	uint64_t gw_protocol;
	struct nc_rkeys *reply_keys;
	struct nc_surbs *surbs;
	struct nc_keyd_runner runner; /* submit NULL: every build inline */
	size_t in_flight;             /* jobs submitted, not yet done */
	uint64_t key_gen;             /* grows with every new gateway key */
};

typedef void (*keyd_handler)(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m);

/* A failed send is logged; the host decides what it means for the process. */
static void to_peer(struct nc_keyd *k, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	int rc = k->host.send(k->host.ctx, peer, m);
	if (rc < 0)
		ns_log(NS_LOG_ERROR, "keyd", "send %s to %s: %s", ns_ipc_type_name(m->type),
		       ns_ipc_role_name(peer), ns_ipc_strerror(rc));
}

/* The peer broke the protocol: nc_keyd_deliver returns -1. */
static void broken(struct nc_keyd *k, const char *what)
{
	k->error = what;
}

static void key_changed(struct nc_keyd *k)
{
	if (k->key_changed)
		k->key_changed(k->key_ctx, &k->key, k->last_auth_ts);
}

/* ---- gateway session operations */

static void hs_clear(struct nc_keyd *k)
{
	if (k->hs) {
		ns_memzero(k->hs, sizeof *k->hs);
		free(k->hs);
		k->hs = NULL;
	}
	k->hs_step = 0;
}

static void send_hs_out(struct nc_keyd *k, const uint8_t *msg, size_t len)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_OUT };
	m.u.GW_HANDSHAKE_OUT.message = NS_IPC_BYTES(msg, len);
	to_peer(k, NS_IPC_NETD, &m);
}

static void flush_pending(struct nc_keyd *k);

static void hs_failed(struct nc_keyd *k, const char *reason)
{
	nc_warn("keyd", "gateway session: %s", reason);
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_FAILED };
	m.u.GW_HANDSHAKE_FAILED.reason = NS_IPC_BYTES(reason, strlen(reason));
	to_peer(k, NS_IPC_NETD, &m);
	k->hs_failures++;
}

static void on_hs_start(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_GW_HANDSHAKE_START *s = &m->u.GW_HANDSHAKE_START;
	if (memcmp(s->gateway_identity.ptr, k->gateway, 32)) {
		broken(k, "netd asked for a handshake with a gateway we are not configured for");
		return;
	}
	hs_clear(k);
	k->hs = calloc(1, sizeof *k->hs);
	if (!k->hs) {
		broken(k, "out of memory");
		return;
	}
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n = 0;
	ns_gw_hs_client_begin(k->hs, k->seed, k->gateway, s->protocol >= 3, 0);
	if (ns_gw_hs_client_h1(k->hs, out, sizeof out, &n) < 0) {
		hs_clear(k);
		hs_failed(k, "handshake: cannot build H1");
		return;
	}
	k->hs_step = 1;
	send_hs_out(k, out, n);
}

static void on_hs_in(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_bytes *in = &m->u.GW_HANDSHAKE_IN.message;
	if (k->hs_step == 1) {
		uint8_t out[NS_GW_HS_MAX_LEN];
		size_t n = 0;
		if (ns_gw_hs_client_h3(k->hs, in->ptr, in->len, out, sizeof out, &n) < 0) {
			hs_clear(k);
			hs_failed(k, "handshake: the gateway's H2 does not verify");
			return;
		}
		k->hs_step = 2;
		send_hs_out(k, out, n);
		return;
	}
	if (k->hs_step != 2) {
		hs_clear(k);
		hs_failed(k, "handshake: message out of order");
		return;
	}
	int rc = ns_gw_hs_client_finish(k->hs, in->ptr, in->len);
	if (rc == 0)
		rc = ns_gw_hs_key(k->hs, &k->key);
	hs_clear(k);
	if (rc < 0) {
		hs_failed(k, "handshake: the gateway refused or H4 is bad");
		return;
	}
	k->have_key = 1;
	k->key_gen++;
	k->last_auth_ts = 0;
	k->reregistered = 1;
	key_changed(k);
	ns_log(NS_LOG_INFO, "keyd", "registered with the gateway: shared key stored");
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_SESSION_READY };
	r.u.GW_SESSION_READY.protocol = k->key.legacy ? 2 : 3;
	to_peer(k, NS_IPC_NETD, &r);
	flush_pending(k);
}

static int sign_auth_v2(struct nc_keyd *k, struct ns_gw_auth_v2 *a)
{
	uint8_t sk[64], pk[32], msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t mlen = 0;
	int rc = ns_gw_auth_v2_message(a, msg, sizeof msg, &mlen);
	if (rc == 0) {
		ns_ed25519_from_seed(pk, sk, k->seed);
		ns_ed25519_sign(a->signature, msg, mlen, sk);
		ns_memzero(sk, sizeof sk);
	}
	return rc;
}

static int build_auth(struct nc_keyd *k, uint8_t protocol, uint64_t ts, struct ns_gw_request *req)
{
	memset(req, 0, sizeof *req);
	if (!ts)
		return ns_gw_auth_v1_build(req, &k->key, k->identity_pk, 0);
	req->type = NS_GW_REQ_AUTHENTICATE_V2;
	int rc = ns_gw_auth_v2_build(&req->auth, &k->key, k->seed, ts);
	if (rc == 0 && protocol != req->auth.protocol_version) {
		req->auth.protocol_version = protocol;
		rc = sign_auth_v2(k, &req->auth);
	}
	return rc;
}

static void on_auth_request(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_GW_AUTH_REQUEST *a = &m->u.GW_AUTH_REQUEST;
	if (memcmp(a->gateway_identity.ptr, k->gateway, 32))
	{
		broken(k, "netd asked to authenticate to a gateway we are not configured for");
		return;
	}
	if (!k->have_key) {
		hs_failed(k, "authenticate: no shared key is stored");
		return;
	}
	/* authenticateV2 timestamps must grow strictly (whole seconds) */
	uint64_t ts = a->timestamp;
	if (ts && ts <= k->last_auth_ts)
		ts = k->last_auth_ts + 1;
	struct ns_gw_request req;
	char *text = NULL;
	size_t len = 0;
	int rc = build_auth(k, (uint8_t)a->protocol, ts, &req);
	if (rc == 0)
		rc = ns_gw_request_encode(&req, &text, &len);
	ns_gw_request_free(&req);
	if (rc < 0) {
		hs_failed(k, "authenticate: cannot build the request");
		return;
	}
	if (ts) {
		k->last_auth_ts = ts;
		key_changed(k);
	}
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_AUTH_TEXT };
	r.u.GW_AUTH_TEXT.text = NS_IPC_BYTES(text, len);
	to_peer(k, NS_IPC_NETD, &r);
	free(text);
	flush_pending(k);
}

/* ---- send path */

static void build_failed(struct nc_keyd *k, const uint8_t frag_id[5], uint64_t reason)
{
	struct ns_ipc_msg r = { .type = NS_IPC_T_BUILD_FAILED };
	r.u.BUILD_FAILED.frag_id = NS_IPC_BYTES(frag_id, 5);
	r.u.BUILD_FAILED.reason = reason;
	to_peer(k, NS_IPC_APID, &r);
}

/* ForwardSphinxV2 (MixPacket v2: with the key rotation) from the protocol version that
 * introduced it, on a current (not legacy) key; ForwardSphinx otherwise. */
static uint8_t forward_kind(struct nc_keyd *k)
{
	return k->gw_protocol >= NS_GW_PROTOCOL_KEY_ROTATION && !k->key.legacy
	               ? NS_GW_BIN_FORWARD_SPHINX_V2
	               : NS_GW_BIN_FORWARD_SPHINX;
}

/* The MixPacket of p sealed under key as a frame of this kind: malloc'd frame, or NULL.
 * Reads only its arguments (a builder thread runs it). */
static uint8_t *seal_with(const struct ns_gw_key *key, uint8_t kind, const struct nc_packet *p,
                          size_t *len)
{
	struct nym_mix_packet mp = { .packet_type = p->packet_type,
		                     .key_rotation = kind == NS_GW_BIN_FORWARD_SPHINX_V2
		                                             ? p->key_rotation
		                                             : NYM_KEY_ROTATION_UNKNOWN,
		                     .packet = p->packet,
		                     .packet_len = p->len };
	uint8_t *frame = NULL;
	if (nym_node_address_decode(p->first_hop, 32, &mp.next_hop) >= 0) {
		size_t cap = ns_gw_frame_len(key, nym_mix_packet_len(&mp, kind));
		frame = malloc(cap);
		if (frame && ns_gw_binary_request_encode(key, kind, &mp, frame, cap, len) < 0) {
			free(frame);
			frame = NULL;
		}
	}
	return frame;
}

/* seal_with the current key. Frees p->packet. */
static uint8_t *seal_packet(struct nc_keyd *k, struct nc_packet *p, size_t *len)
{
	uint8_t *frame = seal_with(&k->key, forward_kind(k), p, len);
	free(p->packet);
	p->packet = NULL;
	return frame;
}

static void send_frame(struct nc_keyd *k, const uint8_t *frame, size_t n, uint64_t total_delay_ns,
                       const uint8_t frag_id[5], uint64_t lane)
{
	uint64_t delay_ms = total_delay_ns / 1000000;
	struct ns_ipc_msg r = { .type = NS_IPC_T_SEALED_FRAME };
	r.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(frag_id, 5);
	r.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, n);
	r.u.SEALED_FRAME.lane = lane;
	r.u.SEALED_FRAME.expected_delay_ms = delay_ms > NS_IPC_U32_MAX ? NS_IPC_U32_MAX : delay_ms;
	to_peer(k, NS_IPC_NETD, &r);
}

/* Seals p and hands it to netd under frag_id. -1 if it cannot be sealed. */
static int send_sealed(struct nc_keyd *k, struct nc_packet *p, const uint8_t frag_id[5], uint64_t lane)
{
	size_t n = 0;
	uint8_t *frame = seal_packet(k, p, &n);
	if (!frame)
		return -1;
	send_frame(k, frame, n, p->total_delay_ns, frag_id, lane);
	free(frame);
	return 0;
}

/* ---- build jobs: BUILD_PACKET and BUILD_REPLY, built and sealed where the host runs them
 * (keyd_ops.h, struct nc_keyd_runner) from copies of what they read; the results go out
 * here, in the order the jobs were made. */

struct nc_keyd_job {
	struct nc_prep_ref *ref; /* the preparer and the topology, held */
	struct ns_gw_key key;    /* the gateway key and frame kind when the job was made */
	uint8_t kind;
	uint64_t key_gen;
	int reply;               /* through a SURB (surb, surb_len) rather than to recipient */
	uint8_t frag_id[5], recipient[96];
	uint64_t lane, size_tag;
	uint8_t *surb;           /* rotation byte || SURB */
	size_t surb_len;
	/* the result */
	int rc;                  /* 0, or the NS_IPC_BUILD_* reason */
	struct nc_packet packet; /* kept for a new key: sealed again then */
	uint8_t *frame;
	size_t frame_len;
	size_t len;
	uint8_t frag[];
};

void nc_keyd_job_run(struct nc_keyd_job *j)
{
	int rc;
	if (j->reply)
		rc = j->surb_len < 2 ? -1
		                     : nc_prep_ref_reply(j->ref, j->frag, j->len, j->surb + 1,
		                                         j->surb_len - 1, j->surb[0], &j->packet);
	else
		rc = nc_prep_ref_fragment(j->ref, j->frag, j->len, j->recipient, (int)j->size_tag,
		                          &j->packet);
	if (rc == NC_PREP_UNKNOWN_GATEWAY) {
		j->rc = NS_IPC_BUILD_UNKNOWN_GATEWAY;
	} else if (rc < 0 || !(j->frame = seal_with(&j->key, j->kind, &j->packet, &j->frame_len))) {
		j->rc = NS_IPC_BUILD_BAD_INPUT;
	} else {
		j->rc = 0;
	}
}

static void job_free(struct nc_keyd_job *j)
{
	nc_prep_release(j->ref);
	ns_gw_key_clear(&j->key);
	free(j->packet.packet);
	free(j->frame);
	if (j->surb) {
		ns_memzero(j->surb, j->surb_len);
		free(j->surb);
	}
	ns_memzero(j->frag, j->len);
	free(j);
}

static struct nc_keyd_job *job_new(struct nc_keyd *k, size_t len)
{
	struct nc_keyd_job *j = calloc(1, sizeof *j + len);
	if (!j)
		return NULL;
	j->ref = nc_prep_hold(k->prep);
	if (!j->ref) {
		free(j);
		return NULL;
	}
	j->key = k->key;
	j->kind = forward_kind(k);
	j->key_gen = k->key_gen;
	j->len = len;
	return j;
}

static int can_build(struct nc_keyd *k)
{
	return k->have_key && nc_prep_has_topology(k->prep);
}

/* A job may be made now (the host has room for one more). */
static int can_submit(struct nc_keyd *k)
{
	return can_build(k) && (!k->runner.submit || k->in_flight < k->runner.capacity);
}

static void refill(struct nc_keyd *k);

void nc_keyd_job_done(struct nc_keyd *k, struct nc_keyd_job *j)
{
	if (j->rc == 0 && (j->key_gen != k->key_gen || j->kind != forward_kind(k))) {
		/* a new gateway key or frame kind meanwhile: sealed again, as if built now */
		free(j->frame);
		j->frame = seal_with(&k->key, forward_kind(k), &j->packet, &j->frame_len);
		if (!j->frame)
			j->rc = NS_IPC_BUILD_BAD_INPUT;
	}
	if (j->rc) {
		build_failed(k, j->frag_id, (uint64_t)j->rc);
	} else {
		send_frame(k, j->frame, j->frame_len, j->packet.total_delay_ns, j->frag_id, j->lane);
		if (j->reply)
			k->replies_built++;
		else
			k->built++;
	}
	job_free(j);
	if (k->runner.submit) {
		int was_full = k->in_flight == k->runner.capacity;
		k->in_flight--;
		if (was_full)
			refill(k);
	}
}

static void job_submit(struct nc_keyd *k, struct nc_keyd_job *j)
{
	if (!k->runner.submit) {
		nc_keyd_job_run(j);
		nc_keyd_job_done(k, j);
		return;
	}
	k->in_flight++;
	k->runner.submit(k->runner.ctx, j);
}

void nc_keyd_set_runner(struct nc_keyd *k, const struct nc_keyd_runner *r)
{
	k->runner = *r;
	if (!k->runner.capacity)
		k->runner.submit = NULL;
}

static void build_and_seal(struct nc_keyd *k, const struct pending_build *b)
{
	struct nc_keyd_job *j = job_new(k, b->len);
	if (!j) {
		build_failed(k, b->frag_id, NS_IPC_BUILD_BAD_INPUT);
		return;
	}
	memcpy(j->frag_id, b->frag_id, 5);
	memcpy(j->recipient, b->recipient, 96);
	j->lane = b->lane;
	j->size_tag = b->size_tag;
	memcpy(j->frag, b->frag, b->len);
	job_submit(k, j);
}

static void flush_all_replies(struct nc_keyd *k);

static void flush_builds(struct nc_keyd *k)
{
	while (can_submit(k) && k->pending) {
		struct pending_build *b = k->pending;
		k->pending = b->next;
		if (!k->pending)
			k->pending_tail = &k->pending;
		k->n_pending--;
		build_and_seal(k, b);
		ns_memzero(b->frag, b->len);
		free(b);
	}
}

static void flush_surb_waits(struct nc_keyd *k);

/* The session or the topology just became usable: everything that waited for them. */
static void flush_pending(struct nc_keyd *k)
{
	flush_builds(k);
	flush_all_replies(k);
	flush_surb_waits(k);
}

static void on_build_packet(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_BUILD_PACKET *bp = &m->u.BUILD_PACKET;
	struct pending_build *b = malloc(sizeof *b + bp->fragment.len);
	if (!b || k->n_pending >= PENDING_MAX) {
		free(b);
		build_failed(k, bp->frag_id.ptr, NS_IPC_BUILD_NO_SESSION);
		return;
	}
	b->next = NULL;
	memcpy(b->frag_id, bp->frag_id.ptr, 5);
	memcpy(b->recipient, bp->recipient.ptr, 96);
	b->lane = bp->lane;
	b->size_tag = bp->packet_size;
	b->len = bp->fragment.len;
	memcpy(b->frag, bp->fragment.ptr, b->len);
	*k->pending_tail = b; /* waits for the session and the topology */
	k->pending_tail = &b->next;
	k->n_pending++;
	flush_builds(k);
}

/* ---- replies through the SURBs others gave us */

/* The SURB store keeps each received SURB as rotation byte || SURB (the rotation from the
 * sender's RepliableMessage header; 0 = unknown makes every node try both of its keys). */
#define SURB_REC_MAX (1 + NYM_REPLY_SURB_MAX_LEN)

static void surbs_low(struct nc_keyd *k, const uint8_t tag[16])
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_SURBS_LOW };
	m.u.SURBS_LOW.sender_tag = NS_IPC_BYTES(tag, 16);
	m.u.SURBS_LOW.available = nc_surbs_available(k->surbs, tag);
	to_peer(k, NS_IPC_APID, &m);
}

/* netd's ack wait for a packet of this expected delay (Nym's ack timeout, §3.6). */
static uint64_t ack_wait_ns(struct nc_keyd *k, uint64_t total_delay_ns)
{
	return (uint64_t)((double)total_delay_ns * k->ack_wait_multiplier) + k->ack_wait_addition_ns;
}

static void arm_request_timer(struct nc_keyd *k)
{
	uint64_t next = nc_surbs_next_request_deadline(k->surbs), now = nc_mono_ns();
	if (!k->host.timer_stop || !k->host.timer_start)
		return;
	k->host.timer_stop(k->host.ctx, NC_KEYD_TIMER_REQUEST);
	if (next == UINT64_MAX)
		return;
	k->host.timer_start(k->host.ctx, NC_KEYD_TIMER_REQUEST, next > now ? next - now : 0, 0);
}

/* A SurbRequest {us, amount} through one SURB of tag, reserve or not, kept until its ack
 * arrives: keyd retransmits it itself, so netd gets it under the zero fragment id, which
 * no fragment has and netd does not wait on. Without a SURB (or a topology) the attempt is
 * recorded all the same and repeated after one ack wait. -1 if nothing was sent. */
static int send_request_packet(struct nc_keyd *k, const uint8_t tag[16], uint32_t amount, uint32_t retransmissions)
{
	static uint8_t surb[SURB_REC_MAX];
	static const uint8_t untracked[5];
	struct nc_packet p = { 0 };
	uint8_t frag_id[5] = { 0 };
	long n = can_build(k) ? nc_surbs_take(k->surbs, tag, 1, surb, sizeof surb) : -1;
	int rc = n < 2 ? -1 : nc_prep_surb_request(k->prep, surb + 1, (size_t)n - 1, surb[0], amount,
	                                            &p, frag_id);
	ns_memzero(surb, sizeof surb);
	if (rc == 0 && send_sealed(k, &p, untracked, 0) < 0) {
		nc_warn("keyd", "cannot build a SURB request");
		rc = -1;
	}
	uint64_t wait = ack_wait_ns(k, rc == 0 ? p.total_delay_ns : k->packet_delay_ns * 3);
	nc_surbs_request_sent(k->surbs, tag, rc == 0 ? frag_id : untracked, amount, retransmissions,
	                      nc_mono_ns() + wait);
	arm_request_timer(k);
	return rc;
}

static void send_surb_request(struct nc_keyd *k, const uint8_t tag[16], uint32_t amount)
{
	if (!amount || !can_build(k) || send_request_packet(k, tag, amount, 0) < 0)
		return;
	nc_surbs_requested(k->surbs, tag, amount);
	k->surb_requests_sent++;
	surbs_low(k, tag);
}

static void resend_request(void *ctx, const struct nc_surb_request *r)
{
	struct nc_keyd *k = ctx;
	send_request_packet(k, r->tag, r->amount, r->retransmissions);
	k->surb_request_retransmissions++;
}

static void on_request_timer(struct nc_keyd *k)
{
	nc_surbs_requests_due(k->surbs, nc_mono_ns(), resend_request, k);
	arm_request_timer(k);
}

static void maybe_request_surbs(struct nc_keyd *k, const uint8_t tag[16])
{
	send_surb_request(k, tag, nc_surbs_request_amount(k->surbs, tag));
}

/* A job for f through surb (its bytes move into the job). */
static void build_reply(struct nc_keyd *k, const struct nc_reply_frag *f, uint8_t *surb, size_t surb_len)
{
	struct nc_keyd_job *j = job_new(k, f->len);
	if (!j) {
		ns_memzero(surb, surb_len);
		free(surb);
		build_failed(k, f->frag_id, NS_IPC_BUILD_BAD_INPUT);
		return;
	}
	j->reply = 1;
	j->surb = surb;
	j->surb_len = surb_len;
	memcpy(j->frag_id, f->frag_id, 5);
	j->lane = f->lane;
	memcpy(j->frag, f->data, f->len);
	job_submit(k, j);
}

/* Sends the tag's waiting fragments while SURBs above the reserve last (and the host has
 * room for the builds). */
static void flush_replies(struct nc_keyd *k, const uint8_t tag[16])
{
	while (can_submit(k) && nc_surbs_queued(k->surbs, tag)) {
		uint8_t *surb = malloc(SURB_REC_MAX);
		long n = surb ? nc_surbs_take(k->surbs, tag, 0, surb, SURB_REC_MAX) : -1;
		if (n < 0) {
			free(surb);
			break;
		}
		struct nc_reply_frag *f = nc_surbs_dequeue(k->surbs, tag);
		build_reply(k, f, surb, (size_t)n);
		nc_reply_frag_free(f);
	}
}

/* The host has room again: the builds and the replies (SURBs in hand) that waited for it. */
static void refill(struct nc_keyd *k)
{
	flush_builds(k);
	for (size_t i = 0; i < nc_surbs_tag_count(k->surbs) && can_submit(k); i++) {
		uint8_t tag[16];
		memcpy(tag, nc_surbs_tag_at(k->surbs, i), 16);
		flush_replies(k, tag);
	}
}

static void flush_all_replies(struct nc_keyd *k)
{
	if (!can_build(k))
		return;
	for (size_t i = 0; i < nc_surbs_tag_count(k->surbs); i++) {
		uint8_t tag[16];
		memcpy(tag, nc_surbs_tag_at(k->surbs, i), 16);
		if (!nc_surbs_queued(k->surbs, tag))
			continue;
		flush_replies(k, tag);
		maybe_request_surbs(k, tag);
	}
}

/* A reply fragment that does not fit in the waiting queues is refused (rate-limited line). */
static void reply_refused(struct nc_keyd *k)
{
	k->replies_refused++;
	nc_warn_limited("keyd", "reply fragments waiting for SURBs are at their bound (%zu in all): "
	                "refused", nc_surbs_queued_total(k->surbs));
}

static void on_build_reply(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_BUILD_REPLY *r = &m->u.BUILD_REPLY;
	const uint8_t *tag = r->sender_tag.ptr;
	if (!nc_surbs_known(k->surbs, tag)) {
		build_failed(k, r->frag_id.ptr, NS_IPC_BUILD_NO_SURB);
		return;
	}
	if (nc_surbs_queue(k->surbs, tag, r->frag_id.ptr, r->lane, r->packet_size, r->fragment.ptr,
	                   r->fragment.len) < 0) {
		reply_refused(k);
		build_failed(k, r->frag_id.ptr, NS_IPC_BUILD_NO_SURB);
	}
	flush_replies(k, tag);
	maybe_request_surbs(k, tag);
}

static void on_surbs_received(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_SURBS_RECEIVED *r = &m->u.SURBS_RECEIVED;
	const uint8_t *tag = r->sender_tag.ptr;
	size_t count = 0, each = 0, stored = 0;
	if (nc_surb_list_parse(r->surbs.ptr, r->surbs.len, NS_IPC_SURBS_MAX_COUNT, &count, &each) < 0) {
		nc_warn_limited("keyd", "SURBS_RECEIVED: malformed SURB list dropped");
		return;
	}
	uint64_t now = nc_mono_ns();
	static uint8_t rec[SURB_REC_MAX];
	for (size_t i = 0; i < count && each < sizeof rec; i++) {
		const uint8_t *surb = r->surbs.ptr + 4 + i * each;
		rec[0] = (uint8_t)r->key_rotation;
		memcpy(rec + 1, surb, each);
		if (nc_prep_surb_check(surb, each) == 0 &&
		    nc_surbs_add(k->surbs, tag, rec, each + 1, now) == 0)
			stored++;
	}
	ns_memzero(rec, sizeof rec);
	if (stored < count)
		nc_warn_limited("keyd", "SURBS_RECEIVED: %zu of %zu SURBs unusable", count - stored, count);
	if (!stored)
		return;
	k->surbs_stored += stored;
	nc_surbs_received(k->surbs, tag, stored, now);
	flush_replies(k, tag);
	maybe_request_surbs(k, tag);
}

/* A MAKE_SURBS that came before the topology (an app's first anonymous message right after
 * the start): answered when it is there, as the BUILD_PACKETs that wait for it. */
struct surb_wait {
	struct surb_wait *next;
	uint64_t request_id, count;
};

static void answer_make_surbs(struct nc_keyd *k, uint64_t request_id, uint64_t count)
{
	static uint8_t out[NS_IPC_SURBS_MAX];
	long n = nc_prep_make_surbs(k->prep, k->reply_keys, (size_t)count, nc_mono_ns(), out,
	                            sizeof out);
	if (n < 0) {
		memset(out, 0, 4); /* count 0: apid fails the request */
		n = 4;
	} else {
		k->surbs_made += count;
	}
	struct ns_ipc_msg a = { .type = NS_IPC_T_SURBS };
	a.u.SURBS.request_id = request_id;
	a.u.SURBS.surbs = NS_IPC_BYTES(out, (size_t)n);
	a.u.SURBS.key_rotation = nc_prep_key_rotation(k->prep);
	to_peer(k, NS_IPC_APID, &a);
	ns_memzero(out, (size_t)n);
}

static void on_make_surbs(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_MAKE_SURBS *r = &m->u.MAKE_SURBS;
	struct surb_wait *w;
	/* past the bound (or out of memory) the answer is an empty list at once, as before */
	if (can_build(k) || k->n_surb_wait >= SURB_WAIT_MAX || !(w = malloc(sizeof *w))) {
		answer_make_surbs(k, r->request_id, r->count);
		return;
	}
	w->next = NULL;
	w->request_id = r->request_id;
	w->count = r->count;
	*k->surb_wait_tail = w;
	k->surb_wait_tail = &w->next;
	k->n_surb_wait++;
}

static void flush_surb_waits(struct nc_keyd *k)
{
	while (can_build(k) && k->surb_wait) {
		struct surb_wait *w = k->surb_wait;
		k->surb_wait = w->next;
		if (!k->surb_wait)
			k->surb_wait_tail = &k->surb_wait;
		k->n_surb_wait--;
		answer_make_surbs(k, w->request_id, w->count);
		free(w);
	}
}

static void on_reply_dropped(void *ctx, const struct nc_reply_frag *f)
{
	struct nc_keyd *k = ctx;
	k->reply_drops++;
	build_failed(k, f->frag_id, NS_IPC_BUILD_NO_SURB);
}

static void rerequest(void *ctx, const uint8_t tag[16])
{
	struct nc_keyd *k = ctx;
	send_surb_request(k, tag, nc_surbs_request_size(k->surbs, tag));
}

static void on_reply_tick(struct nc_keyd *k)
{
	uint64_t now = nc_mono_ns();
	nc_rkeys_expire(k->reply_keys, now);
	nc_surbs_tick(k->surbs, now, rerequest, k);
	ns_log_flush(0);
}

/* Sealed loop cover frames for netd's pools; none until the session and topology exist
 * (netd asks again). */
static void on_cover_request(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_COVER_REQUEST *r = &m->u.COVER_REQUEST;
	uint64_t delay = r->kind == NS_IPC_COVER_LOOP ? k->loop_delay_ns : k->packet_delay_ns;
	for (uint64_t i = 0; i < r->count && can_build(k); i++) {
		struct nc_packet p;
		size_t n = 0;
		uint8_t *frame = NULL;
		if (nc_prep_cover(k->prep, delay, &p) < 0 || !(frame = seal_packet(k, &p, &n)))
			return;
		struct ns_ipc_msg f = { .type = NS_IPC_T_COVER_FRAME };
		f.u.COVER_FRAME.frame = NS_IPC_BYTES(frame, n);
		f.u.COVER_FRAME.kind = r->kind;
		to_peer(k, NS_IPC_NETD, &f);
		free(frame);
		k->cover++;
	}
}

static void on_gw_protocol(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	k->gw_protocol = m->u.GW_PROTOCOL.protocol;
}

/* ---- receive path */

static void on_open_frame(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_bytes *f = &m->u.OPEN_FRAME.frame;
	static uint8_t msg[NS_IPC_FRAME_MAX], plain[NS_IPC_FRAME_MAX];
	size_t n = 0, out_len = 0;
	const uint8_t *out = NULL;
	uint8_t frag_id[5];
	if (!k->have_key || ns_gw_pushed_message_decode(&k->key, f->ptr, f->len, msg, sizeof msg,
	                                                 &n) < 0) {
		nc_warn_limited("keyd", "a pushed frame does not open: dropped");
		return;
	}
	k->opened++;
	int kind = nc_prep_receive(k->prep, msg, n, plain, sizeof plain, frag_id, &out, &out_len);
	ns_memzero(msg, n);
	if (kind == 1 && nc_surbs_request_acked(k->surbs, frag_id)) {
		k->acks++;
		arm_request_timer(k);
	} else if (kind == 1) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_ACK };
		r.u.ACK.frag_id = NS_IPC_BYTES(frag_id, 5);
		to_peer(k, NS_IPC_NETD, &r);
		to_peer(k, NS_IPC_APID, &r);
		k->acks++;
	} else if ((kind == 2 || kind == 3) && out_len >= 1 && out_len <= NS_IPC_FRAGMENT_MAX) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_FRAGMENT };
		r.u.FRAGMENT.fragment = NS_IPC_BYTES(out, out_len);
		r.u.FRAGMENT.origin = kind == 3 ? NS_IPC_FROM_REPLY : NS_IPC_FROM_MESSAGE;
		to_peer(k, NS_IPC_APID, &r);
		k->fragments++;
		k->replies_received += kind == 3;
	}
	ns_memzero(plain, n); /* nym_receive writes at most the message's length */
}

/* ---- topology */

/* Nym's drop_stale_loaded_surbs: the senders not heard from since the cutoff lose their
 * SURBs (made under keys the nodes have rotated away). */
static void on_surb_cutoff(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	int64_t wall = (int64_t)time(NULL);
	uint64_t before = m->u.SURB_CUTOFF.before, now = nc_mono_ns();
	if (before > (uint64_t)wall || before > INT64_MAX)
		return;
	uint64_t back = (uint64_t)(wall - (int64_t)before) * 1000000000ull;
	size_t n = nc_surbs_drop_received_before(k->surbs, back < now ? now - back : 0);
	if (n)
		ns_log(NS_LOG_INFO, "keyd", "%zu reply SURBs older than the current key rotation dropped", n);
}

static void on_topo_begin(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_TOPOLOGY_BEGIN *b = &m->u.TOPOLOGY_BEGIN;
	nc_prep_topo_begin(k->prep, b->generation, (uint32_t)b->key_rotation_id, (size_t)b->nodes);
}

static void on_topo_node(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_TOPOLOGY_NODE *n = &m->u.TOPOLOGY_NODE;
	if (nc_prep_topo_node(k->prep, n->generation, (unsigned)n->role, (uint32_t)n->node_id,
	                      n->identity.ptr, n->sphinx_key.ptr, n->address.ptr) < 0)
		broken(k, "netd sent an inconsistent topology");
}

static void on_topo_end(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	if (nc_prep_topo_end(k->prep, m->u.TOPOLOGY_END.generation, (size_t)m->u.TOPOLOGY_END.nodes) < 0)
		broken(k, "netd sent an inconsistent topology");
	flush_pending(k);
}

/* ---- supervisor */

static void on_stats_request(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	char text[512];
	int n = snprintf(text, sizeof text,
	                 "built=%llu\ncover=%llu\nopened=%llu\nacks=%llu\nfragments=%llu\n"
	                 "replies_built=%llu\nreplies_received=%llu\nsurbs_made=%llu\n"
	                 "surb_requests_sent=%llu\nsurb_request_retransmissions=%llu\n"
	                 "replies_refused=%llu\n",
	                 (unsigned long long)k->built, (unsigned long long)k->cover,
	                 (unsigned long long)k->opened,
	                 (unsigned long long)k->acks, (unsigned long long)k->fragments,
	                 (unsigned long long)k->replies_built,
	                 (unsigned long long)k->replies_received,
	                 (unsigned long long)k->surbs_made,
	                 (unsigned long long)k->surb_requests_sent,
	                 (unsigned long long)k->surb_request_retransmissions,
	                 (unsigned long long)k->replies_refused);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	to_peer(k, from, &r);
}

static void on_status_request(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	char json[1024];
	int n = snprintf(json, sizeof json,
	                 "{\"packets_built\":%llu,\"replies_built\":%llu,\"cover_built\":%llu,"
	                 "\"frames_opened\":%llu,\"acks\":%llu,\"fragments\":%llu,"
	                 "\"replies_received\":%llu,\"surbs_made\":%llu,\"surbs_received\":%llu,"
	                 "\"reply_keys_held\":%zu,\"surb_tags\":%zu,\"surbs_held\":%zu,"
	                 "\"surb_requests_sent\":%llu,\"surb_request_retransmissions\":%llu,"
	                 "\"replies_dropped\":%llu,"
	                 "\"pending_builds\":%zu,\"topology_nodes\":%zu,\"gateway_protocol\":%llu,"
	                 "\"forward_kind\":%u,\"handshake_failures\":%llu,\"session\":%s}",
	                 (unsigned long long)k->built, (unsigned long long)k->replies_built,
	                 (unsigned long long)k->cover, (unsigned long long)k->opened,
	                 (unsigned long long)k->acks, (unsigned long long)k->fragments,
	                 (unsigned long long)k->replies_received, (unsigned long long)k->surbs_made,
	                 (unsigned long long)k->surbs_stored, nc_rkeys_count(k->reply_keys),
	                 nc_surbs_tag_count(k->surbs), nc_surbs_total(k->surbs),
	                 (unsigned long long)k->surb_requests_sent,
	                 (unsigned long long)k->surb_request_retransmissions,
	                 (unsigned long long)k->reply_drops, k->n_pending + k->in_flight,
	                 nc_prep_topology_nodes(k->prep), (unsigned long long)k->gw_protocol,
	                 (unsigned)forward_kind(k), (unsigned long long)k->hs_failures,
	                 k->have_key ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof json)
		n = snprintf(json, sizeof json, "{}");
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATUS_REPLY };
	r.u.STATUS_REPLY.request_id = m->u.STATUS_REQUEST.request_id;
	r.u.STATUS_REPLY.json = NS_IPC_BYTES(json, (size_t)n);
	to_peer(k, from, &r);
}

static const keyd_handler keyd_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_GW_HANDSHAKE_START] = on_hs_start,
	[NS_IPC_T_GW_HANDSHAKE_IN] = on_hs_in,
	[NS_IPC_T_GW_AUTH_REQUEST] = on_auth_request,
	[NS_IPC_T_BUILD_PACKET] = on_build_packet,
	[NS_IPC_T_BUILD_REPLY] = on_build_reply,
	[NS_IPC_T_COVER_REQUEST] = on_cover_request,
	[NS_IPC_T_OPEN_FRAME] = on_open_frame,
	[NS_IPC_T_MAKE_SURBS] = on_make_surbs,
	[NS_IPC_T_SURBS_RECEIVED] = on_surbs_received,
	[NS_IPC_T_STATUS_REQUEST] = on_status_request,
	[NS_IPC_T_GW_PROTOCOL] = on_gw_protocol,
	[NS_IPC_T_TOPOLOGY_BEGIN] = on_topo_begin,
	[NS_IPC_T_SURB_CUTOFF] = on_surb_cutoff,
	[NS_IPC_T_TOPOLOGY_NODE] = on_topo_node,
	[NS_IPC_T_TOPOLOGY_END] = on_topo_end,
};

/* Nym's debug.reply_surbs settings plus our memory bounds. */
static int reply_state_new(struct nc_keyd *k, const struct clientconf_debug *d)
{
	struct nc_surbs_conf sc = {
		.min_threshold = (size_t)d->minimum_reply_surb_storage_threshold,
		.max_threshold = (size_t)d->maximum_reply_surb_storage_threshold,
		.threshold_buffer = (size_t)d->minimum_reply_surb_threshold_buffer,
		.request_min = d->minimum_reply_surb_request_size,
		.request_max = d->maximum_reply_surb_request_size,
		.rerequest_wait_ns = d->maximum_reply_surb_rerequest_waiting_period_ns,
		.drop_wait_ns = d->maximum_reply_surb_drop_waiting_period_ns,
		.max_rerequests = d->maximum_reply_surbs_rerequests,
		.max_total = SURBS_TOTAL_MAX,
		.max_tags = SURB_TAGS_MAX,
		.max_queued_per_tag = REPLY_QUEUE_MAX,
		.max_queued_total = REPLY_QUEUE_TOTAL_MAX,
		.on_drop = on_reply_dropped,
		.ctx = k,
	};
	k->reply_keys = nc_rkeys_new(REPLY_KEYS_MAX, d->maximum_reply_key_age_ns);
	k->surbs = nc_surbs_new(&sc);
	if (!k->reply_keys || !k->surbs) {
		nc_error("keyd", "out of memory");
		return -1;
	}
	nc_prep_set_reply_keys(k->prep, k->reply_keys);
	return 0;
}
/* ---- life */

struct nc_keyd *nc_keyd_new(const struct nc_keyd_keys *keys, const struct clientconf_debug *d,
                            const struct ns_ipc_host *host, nc_keyd_key_changed_fn key_changed_fn,
                            void *key_ctx)
{
	uint8_t sk[64];
	struct nc_keyd *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->host = *host;
	k->key_changed = key_changed_fn;
	k->key_ctx = key_ctx;
	k->pending_tail = &k->pending;
	k->surb_wait_tail = &k->surb_wait;
	memcpy(k->seed, keys->identity_seed, 32);
	ns_ed25519_from_seed(k->identity_pk, sk, k->seed);
	ns_memzero(sk, sizeof sk);
	memcpy(k->gateway, keys->gateway, 32);
	k->have_key = keys->have_gw_key;
	k->key = keys->gw_key;
	k->last_auth_ts = keys->last_auth_ts;
	k->loop_delay_ns = d->loop_cover_traffic_average_delay_ns;
	k->packet_delay_ns = d->average_packet_delay_ns;
	k->ack_wait_multiplier = d->ack_wait_multiplier;
	k->ack_wait_addition_ns = d->ack_wait_addition_ns;
	k->prep = nc_prep_new(k->identity_pk, keys->encryption_sk, keys->ack_key, k->gateway);
	if (!k->prep || reply_state_new(k, d) < 0) {
		nc_keyd_free(k);
		return NULL;
	}
	return k;
}

void nc_keyd_set_secrets(struct nc_keyd *k, int secrets)
{
	nc_prep_set_secrets(k->prep, secrets);
}

struct nc_rkeys *nc_keyd_reply_keys(struct nc_keyd *k)
{
	return k->reply_keys;
}

struct nc_surbs *nc_keyd_surbs(struct nc_keyd *k)
{
	return k->surbs;
}

void nc_keyd_start(struct nc_keyd *k)
{
	uint8_t self[96];
	if (k->host.timer_start)
		k->host.timer_start(k->host.ctx, NC_KEYD_TIMER_TICK, REPLY_TICK_NS, REPLY_TICK_NS);
	nc_prep_self(k->prep, self);
	struct ns_ipc_msg a = { .type = NS_IPC_T_SELF_ADDRESS };
	a.u.SELF_ADDRESS.address = NS_IPC_BYTES(self, 96);
	to_peer(k, NS_IPC_APID, &a);
}

size_t nc_keyd_builds_waiting(const struct nc_keyd *k)
{
	return k->n_pending;
}

int nc_keyd_handles(uint64_t type)
{
	return type < NS_IPC_TYPE_LIMIT && keyd_handlers[type];
}

int nc_keyd_deliver(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	if (k->error)
		return -1;
	if (!nc_keyd_handles(m->type)) {
		ns_log(NS_LOG_WARN, "keyd", "%s is not for keyd (ignored)", ns_ipc_type_name(m->type));
		return 0;
	}
	keyd_handlers[m->type](k, from, m);
	return k->error ? -1 : 0;
}

const char *nc_keyd_error(const struct nc_keyd *k)
{
	return k->error ? k->error : "no error";
}

void nc_keyd_timer(struct nc_keyd *k, unsigned id)
{
	if (id == NC_KEYD_TIMER_TICK)
		on_reply_tick(k);
	else if (id == NC_KEYD_TIMER_REQUEST)
		on_request_timer(k);
}

int nc_keyd_registered(const struct nc_keyd *k, struct ns_gw_key *key)
{
	if (!k->reregistered)
		return 0;
	*key = k->key;
	return 1;
}

void nc_keyd_free(struct nc_keyd *k)
{
	if (!k)
		return;
	hs_clear(k);
	while (k->pending) {
		struct pending_build *b = k->pending;
		k->pending = b->next;
		ns_memzero(b->frag, b->len);
		free(b);
	}
	while (k->surb_wait) {
		struct surb_wait *w = k->surb_wait;
		k->surb_wait = w->next;
		free(w);
	}
	ns_gw_key_clear(&k->key);
	ns_memzero(k->seed, sizeof k->seed);
	if (k->prep)
		nc_prep_set_reply_keys(k->prep, NULL);
	nc_rkeys_free(k->reply_keys);
	nc_surbs_free(k->surbs);
	nc_prep_free(k->prep);
	ns_memzero(k, sizeof *k);
	free(k);
}
