/* keyd: holds every long-term secret (identity, encryption and ack keys, the gateway shared
 * key) and exposes operations over IPC: gateway handshake steps, the authenticate request,
 * building + sealing packets, opening pushed frames. It loads its keys, opens the shared-key
 * record file, then sandboxes itself (no socket, no open) and only talks to its socketpairs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "ipc.h"
#include "nymclient.h"
#include "sandbox.h"

#define KEY_REC_LEN 48
#define KEY_REC_MAGIC "NSK1"
#define PENDING_MAX 4096

struct pending_build {
	struct pending_build *next;
	uint8_t frag_id[5], recipient[96];
	uint64_t lane, size_tag;
	size_t len;
	uint8_t frag[];
};

struct keyd {
	struct ev_loop *loop;
	struct ns_ipc_conn netd, apid, sup;
	uint8_t seed[32], identity_pk[32], gateway[32];
	struct nc_prep *prep;
	struct ns_gw_hs *hs;
	int hs_step;
	int have_key;
	struct ns_gw_key key;
	uint64_t last_auth_ts;
	int key_fd;
	struct pending_build *pending, **pending_tail;
	size_t n_pending;
	uint64_t built, opened, acks, fragments, cover;
	uint64_t loop_delay_ns, packet_delay_ns;
};

static struct keyd g_k;

static void die_ipc(const char *what)
{
	nc_log("keyd", "%s", what);
	exit(1);
}

static void send_to(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	int rc = ns_ipc_conn_send(c, m);
	if (rc < 0) {
		nc_log("keyd", "send %s: %s", ns_ipc_type_name(m->type), ns_ipc_strerror(rc));
		exit(1);
	}
}

/* ---- the shared-key record file: appended records, the last valid one wins */

static void key_record_encode(uint8_t rec[KEY_REC_LEN])
{
	memset(rec, 0, KEY_REC_LEN);
	memcpy(rec, KEY_REC_MAGIC, 4);
	rec[4] = (uint8_t)g_k.key.legacy;
	memcpy(rec + 8, g_k.key.bytes, NS_GW_KEY_LEN);
	for (int i = 0; i < 8; i++)
		rec[40 + i] = (uint8_t)(g_k.last_auth_ts >> (56 - 8 * i));
}

static void key_record_store(void)
{
	uint8_t rec[KEY_REC_LEN];
	key_record_encode(rec);
	if (write(g_k.key_fd, rec, sizeof rec) != (ssize_t)sizeof rec)
		nc_log("keyd", "cannot store the gateway key: %s", strerror(errno));
	ns_memzero(rec, sizeof rec);
}

static int key_records_load(const char *path)
{
	g_k.key_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (g_k.key_fd < 0)
		return -1;
	uint8_t rec[KEY_REC_LEN];
	while (read(g_k.key_fd, rec, sizeof rec) == (ssize_t)sizeof rec) {
		if (memcmp(rec, KEY_REC_MAGIC, 4) || rec[4] > 1)
			continue;
		g_k.key.legacy = rec[4];
		memcpy(g_k.key.bytes, rec + 8, NS_GW_KEY_LEN);
		g_k.last_auth_ts = 0;
		for (int i = 0; i < 8; i++)
			g_k.last_auth_ts = (g_k.last_auth_ts << 8) | rec[40 + i];
		g_k.have_key = 1;
	}
	ns_memzero(rec, sizeof rec);
	return 0;
}

/* ---- gateway session operations */

static void hs_clear(void)
{
	if (g_k.hs) {
		ns_memzero(g_k.hs, sizeof *g_k.hs);
		free(g_k.hs);
		g_k.hs = NULL;
	}
	g_k.hs_step = 0;
}

static void send_hs_out(const uint8_t *msg, size_t len)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_OUT };
	m.u.GW_HANDSHAKE_OUT.message = NS_IPC_BYTES(msg, len);
	send_to(&g_k.netd, &m);
}

static void flush_pending(void);

static void on_hs_start(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_GW_HANDSHAKE_START *s = &m->u.GW_HANDSHAKE_START;
	if (memcmp(s->gateway_identity.ptr, g_k.gateway, 32))
		die_ipc("netd asked for a handshake with a gateway we are not configured for");
	hs_clear();
	g_k.hs = calloc(1, sizeof *g_k.hs);
	if (!g_k.hs)
		die_ipc("out of memory");
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n = 0;
	ns_gw_hs_client_begin(g_k.hs, g_k.seed, g_k.gateway, s->protocol >= 3, 0);
	if (ns_gw_hs_client_h1(g_k.hs, out, sizeof out, &n) < 0) {
		nc_log("keyd", "handshake: H1 failed");
		hs_clear();
		return;
	}
	g_k.hs_step = 1;
	send_hs_out(out, n);
}

static void on_hs_in(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *in = &m->u.GW_HANDSHAKE_IN.message;
	if (g_k.hs_step == 1) {
		uint8_t out[NS_GW_HS_MAX_LEN];
		size_t n = 0;
		if (ns_gw_hs_client_h3(g_k.hs, in->ptr, in->len, out, sizeof out, &n) < 0) {
			nc_log("keyd", "handshake: the gateway's H2 does not verify");
			hs_clear();
			return;
		}
		g_k.hs_step = 2;
		send_hs_out(out, n);
		return;
	}
	if (g_k.hs_step != 2) {
		nc_log("keyd", "handshake message out of order: ignored");
		return;
	}
	int rc = ns_gw_hs_client_finish(g_k.hs, in->ptr, in->len);
	if (rc == 0)
		rc = ns_gw_hs_key(g_k.hs, &g_k.key);
	hs_clear();
	if (rc < 0) {
		nc_log("keyd", "handshake: the gateway refused or H4 is bad");
		return;
	}
	g_k.have_key = 1;
	g_k.last_auth_ts = 0;
	key_record_store();
	nc_log("keyd", "registered with the gateway: shared key stored");
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_SESSION_READY };
	r.u.GW_SESSION_READY.protocol = g_k.key.legacy ? 2 : 3;
	send_to(&g_k.netd, &r);
	flush_pending();
}

static int sign_auth_v2(struct ns_gw_auth_v2 *a)
{
	uint8_t sk[64], pk[32], msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t mlen = 0;
	int rc = ns_gw_auth_v2_message(a, msg, sizeof msg, &mlen);
	if (rc == 0) {
		ns_ed25519_from_seed(pk, sk, g_k.seed);
		ns_ed25519_sign(a->signature, msg, mlen, sk);
		ns_memzero(sk, sizeof sk);
	}
	return rc;
}

static int build_auth(uint8_t protocol, uint64_t ts, struct ns_gw_request *req)
{
	memset(req, 0, sizeof *req);
	if (!ts)
		return ns_gw_auth_v1_build(req, &g_k.key, g_k.identity_pk, 0);
	req->type = NS_GW_REQ_AUTHENTICATE_V2;
	int rc = ns_gw_auth_v2_build(&req->auth, &g_k.key, g_k.seed, ts);
	if (rc == 0 && protocol != req->auth.protocol_version) {
		req->auth.protocol_version = protocol;
		rc = sign_auth_v2(&req->auth);
	}
	return rc;
}

static void on_auth_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_GW_AUTH_REQUEST *a = &m->u.GW_AUTH_REQUEST;
	if (memcmp(a->gateway_identity.ptr, g_k.gateway, 32))
		die_ipc("netd asked to authenticate to a gateway we are not configured for");
	if (!g_k.have_key) {
		nc_log("keyd", "authenticate asked but no shared key is stored");
		return;
	}
	/* authenticateV2 timestamps must grow strictly (whole seconds) */
	uint64_t ts = a->timestamp;
	if (ts && ts <= g_k.last_auth_ts)
		ts = g_k.last_auth_ts + 1;
	struct ns_gw_request req;
	char *text = NULL;
	size_t len = 0;
	int rc = build_auth((uint8_t)a->protocol, ts, &req);
	if (rc == 0)
		rc = ns_gw_request_encode(&req, &text, &len);
	ns_gw_request_free(&req);
	if (rc < 0) {
		nc_log("keyd", "cannot build the authenticate request (%d)", rc);
		return;
	}
	if (ts) {
		g_k.last_auth_ts = ts;
		key_record_store();
	}
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_AUTH_TEXT };
	r.u.GW_AUTH_TEXT.text = NS_IPC_BYTES(text, len);
	send_to(&g_k.netd, &r);
	free(text);
	flush_pending();
}

/* ---- send path */

static void build_failed(const uint8_t frag_id[5], uint64_t reason)
{
	struct ns_ipc_msg r = { .type = NS_IPC_T_BUILD_FAILED };
	r.u.BUILD_FAILED.frag_id = NS_IPC_BYTES(frag_id, 5);
	r.u.BUILD_FAILED.reason = reason;
	send_to(&g_k.apid, &r);
}

/* MixPacket v1 of p sealed under the gateway key: malloc'd frame, or NULL. Frees p->packet. */
static uint8_t *seal_packet(struct nc_packet *p, size_t *len)
{
	struct nym_mix_packet mp = { .packet_type = p->packet_type,
		                     .key_rotation = NYM_KEY_ROTATION_UNKNOWN,
		                     .packet = p->packet,
		                     .packet_len = p->len };
	uint8_t *frame = NULL;
	if (nym_node_address_decode(p->first_hop, 32, &mp.next_hop) >= 0) {
		size_t cap = ns_gw_frame_len(&g_k.key, nym_mix_packet_len(&mp, 1));
		frame = malloc(cap);
		if (frame && ns_gw_binary_request_encode(&g_k.key, NS_GW_BIN_FORWARD_SPHINX, &mp, frame,
		                                         cap, len) < 0) {
			free(frame);
			frame = NULL;
		}
	}
	free(p->packet);
	p->packet = NULL;
	return frame;
}

static void build_and_seal(const struct pending_build *b)
{
	struct nc_packet p;
	size_t n = 0;
	uint8_t *frame = NULL;
	if (nc_prep_fragment(g_k.prep, b->frag, b->len, b->recipient, (int)b->size_tag, &p) < 0 ||
	    !(frame = seal_packet(&p, &n))) {
		build_failed(b->frag_id, NS_IPC_BUILD_BAD_INPUT);
		return;
	}
	struct ns_ipc_msg r = { .type = NS_IPC_T_SEALED_FRAME };
	r.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(b->frag_id, 5);
	r.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, n);
	r.u.SEALED_FRAME.lane = b->lane;
	r.u.SEALED_FRAME.expected_delay_ms = p.total_delay_ns / 1000000;
	send_to(&g_k.netd, &r);
	free(frame);
	g_k.built++;
}

static int can_build(void)
{
	return g_k.have_key && nc_prep_has_topology(g_k.prep);
}

static void flush_pending(void)
{
	while (can_build() && g_k.pending) {
		struct pending_build *b = g_k.pending;
		g_k.pending = b->next;
		if (!g_k.pending)
			g_k.pending_tail = &g_k.pending;
		g_k.n_pending--;
		build_and_seal(b);
		ns_memzero(b->frag, b->len);
		free(b);
	}
}

static void on_build_packet(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_BUILD_PACKET *bp = &m->u.BUILD_PACKET;
	struct pending_build *b = malloc(sizeof *b + bp->fragment.len);
	if (!b || g_k.n_pending >= PENDING_MAX) {
		free(b);
		build_failed(bp->frag_id.ptr, NS_IPC_BUILD_NO_SESSION);
		return;
	}
	b->next = NULL;
	memcpy(b->frag_id, bp->frag_id.ptr, 5);
	memcpy(b->recipient, bp->recipient.ptr, 96);
	b->lane = bp->lane;
	b->size_tag = bp->packet_size;
	b->len = bp->fragment.len;
	memcpy(b->frag, bp->fragment.ptr, b->len);
	*g_k.pending_tail = b; /* waits for the session and the topology */
	g_k.pending_tail = &b->next;
	g_k.n_pending++;
	flush_pending();
}

static void on_build_reply(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	build_failed(m->u.BUILD_REPLY.frag_id.ptr, NS_IPC_BUILD_NO_SURB); /* no SURBs kept yet */
}

/* Sealed loop cover frames for netd's pools; none until the session and topology exist
 * (netd asks again). */
static void on_cover_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_COVER_REQUEST *r = &m->u.COVER_REQUEST;
	uint64_t delay = r->kind == NS_IPC_COVER_LOOP ? g_k.loop_delay_ns : g_k.packet_delay_ns;
	for (uint64_t i = 0; i < r->count && can_build(); i++) {
		struct nc_packet p;
		size_t n = 0;
		uint8_t *frame = NULL;
		if (nc_prep_cover(g_k.prep, delay, &p) < 0 || !(frame = seal_packet(&p, &n)))
			return;
		struct ns_ipc_msg f = { .type = NS_IPC_T_COVER_FRAME };
		f.u.COVER_FRAME.frame = NS_IPC_BYTES(frame, n);
		f.u.COVER_FRAME.kind = r->kind;
		send_to(&g_k.netd, &f);
		free(frame);
		g_k.cover++;
	}
}

static void on_ignored(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx, (void)m; /* cover, SURBs: not in this slice */
}

/* ---- receive path */

static void on_open_frame(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *f = &m->u.OPEN_FRAME.frame;
	static uint8_t msg[NS_IPC_FRAME_MAX], plain[NS_IPC_FRAME_MAX];
	size_t n = 0, out_len = 0;
	const uint8_t *out = NULL;
	uint8_t frag_id[5];
	if (!g_k.have_key || ns_gw_pushed_message_decode(&g_k.key, f->ptr, f->len, msg, sizeof msg,
	                                                 &n) < 0) {
		nc_log("keyd", "a pushed frame does not open: dropped");
		return;
	}
	g_k.opened++;
	int kind = nc_prep_receive(g_k.prep, msg, n, plain, sizeof plain, frag_id, &out, &out_len);
	ns_memzero(msg, n);
	if (kind == 1) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_ACK };
		r.u.ACK.frag_id = NS_IPC_BYTES(frag_id, 5);
		send_to(&g_k.netd, &r);
		send_to(&g_k.apid, &r);
		g_k.acks++;
	} else if (kind == 2 && out_len >= 1 && out_len <= NS_IPC_FRAGMENT_MAX) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_FRAGMENT };
		r.u.FRAGMENT.fragment = NS_IPC_BYTES(out, out_len);
		r.u.FRAGMENT.origin = NS_IPC_FROM_MESSAGE;
		send_to(&g_k.apid, &r);
		g_k.fragments++;
	}
	ns_memzero(plain, sizeof plain);
}

/* ---- topology */

static void on_topo_begin(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_TOPOLOGY_BEGIN *b = &m->u.TOPOLOGY_BEGIN;
	nc_prep_topo_begin(g_k.prep, b->generation, (uint32_t)b->key_rotation_id, (size_t)b->nodes);
}

static void on_topo_node(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_TOPOLOGY_NODE *n = &m->u.TOPOLOGY_NODE;
	if (nc_prep_topo_node(g_k.prep, n->generation, (unsigned)n->role, (uint32_t)n->node_id,
	                      n->identity.ptr, n->sphinx_key.ptr, n->address.ptr) < 0)
		die_ipc("netd sent an inconsistent topology");
}

static void on_topo_end(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	if (nc_prep_topo_end(g_k.prep, m->u.TOPOLOGY_END.generation, (size_t)m->u.TOPOLOGY_END.nodes) < 0)
		die_ipc("netd sent an inconsistent topology");
	flush_pending();
}

/* ---- supervisor */

static void on_shutdown(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
	ev_break(g_k.loop, EVBREAK_ALL);
}

static void on_stats_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	char text[256];
	int n = snprintf(text, sizeof text, "built=%llu\ncover=%llu\nopened=%llu\nacks=%llu\nfragments=%llu\n",
	                 (unsigned long long)g_k.built, (unsigned long long)g_k.cover,
	                 (unsigned long long)g_k.opened,
	                 (unsigned long long)g_k.acks, (unsigned long long)g_k.fragments);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	send_to(c, &r);
}

static void on_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	nc_log("keyd", "IPC with %s failed: %s", ns_ipc_role_name(c->peer), ns_ipc_strerror(err));
	exit(err == NS_IPC_EEOF ? 0 : 1);
}

static const ns_ipc_handler keyd_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_SHUTDOWN] = on_shutdown,
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_GW_HANDSHAKE_START] = on_hs_start,
	[NS_IPC_T_GW_HANDSHAKE_IN] = on_hs_in,
	[NS_IPC_T_GW_AUTH_REQUEST] = on_auth_request,
	[NS_IPC_T_BUILD_PACKET] = on_build_packet,
	[NS_IPC_T_BUILD_REPLY] = on_build_reply,
	[NS_IPC_T_COVER_REQUEST] = on_cover_request,
	[NS_IPC_T_OPEN_FRAME] = on_open_frame,
	[NS_IPC_T_MAKE_SURBS] = on_ignored,
	[NS_IPC_T_SURBS_RECEIVED] = on_ignored,
	[NS_IPC_T_TOPOLOGY_BEGIN] = on_topo_begin,
	[NS_IPC_T_TOPOLOGY_NODE] = on_topo_node,
	[NS_IPC_T_TOPOLOGY_END] = on_topo_end,
};

static int load_keys(const struct nc_setup *s)
{
	char err[CLIENTCONF_ERR_MAX] = "", path[CLIENTCONF_PATH_MAX + 64];
	uint8_t enc[32], ack[16], pub[32], sk[64];
	const struct clientconf *c = &s->conf;
	if (clientconf_read_key(c->private_identity_key_file, CC_KEY_PRIVATE_IDENTITY, g_k.seed, err) < 0 ||
	    clientconf_read_key(c->public_identity_key_file, CC_KEY_PUBLIC_IDENTITY, pub, err) < 0 ||
	    clientconf_read_key(c->private_encryption_key_file, CC_KEY_PRIVATE_ENCRYPTION, enc, err) < 0 ||
	    clientconf_read_key(c->ack_key_file, CC_KEY_ACK, ack, err) < 0) {
		nc_log("keyd", "cannot load the keys: %s", err);
		return -1;
	}
	ns_ed25519_from_seed(g_k.identity_pk, sk, g_k.seed);
	ns_memzero(sk, sizeof sk);
	if (memcmp(pub, g_k.identity_pk, 32)) {
		nc_log("keyd", "public_identity does not match private_identity");
		return -1;
	}
	memcpy(g_k.gateway, s->gateway_identity, 32);
	g_k.loop_delay_ns = c->debug.loop_cover_traffic_average_delay_ns;
	g_k.packet_delay_ns = c->debug.average_packet_delay_ns;
	g_k.prep = nc_prep_new(g_k.identity_pk, enc, ack, g_k.gateway);
	ns_memzero(enc, sizeof enc);
	ns_memzero(ack, sizeof ack);
	snprintf(path, sizeof path, "%s/%s", s->dirs.data_dir, NC_GWKEY_FILE);
	if (!g_k.prep || key_records_load(path) < 0) {
		nc_log("keyd", "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int nc_keyd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_NETD][0], s->fds[NC_KEYD_APID][0], s->fds[NC_SUP_KEYD][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_k.pending_tail = &g_k.pending;
	if (load_keys(s) < 0)
		return 1;
	g_k.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!g_k.loop)
		return 1;
	ns_ipc_conn_start(&g_k.netd, g_k.loop, keep[0], NS_IPC_KEYD, NS_IPC_NETD, keyd_handlers, on_fatal, NULL);
	ns_ipc_conn_start(&g_k.apid, g_k.loop, keep[1], NS_IPC_KEYD, NS_IPC_APID, keyd_handlers, on_fatal, NULL);
	ns_ipc_conn_start(&g_k.sup, g_k.loop, keep[2], NS_IPC_KEYD, NS_IPC_SUPERVISOR, keyd_handlers, on_fatal, NULL);
	int rc = ns_sandbox_apply(NS_SANDBOX_KEYD, s->sandbox_debug);
	if (rc < 0) {
		nc_log("keyd", "cannot apply the sandbox: %s", strerror(-rc));
		return 1;
	}
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	send_to(&g_k.sup, &m);
	if (s->test_keyd_socket) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* the filter must kill us here */
		nc_log("keyd", "socket() after the sandbox returned %d: the filter is not working", fd);
		return 1;
	}
	uint8_t self[96];
	nc_prep_self(g_k.prep, self);
	struct ns_ipc_msg a = { .type = NS_IPC_T_SELF_ADDRESS };
	a.u.SELF_ADDRESS.address = NS_IPC_BYTES(self, 96);
	send_to(&g_k.apid, &a);
	ev_run(g_k.loop, 0);
	hs_clear();
	ns_gw_key_clear(&g_k.key);
	ns_memzero(g_k.seed, sizeof g_k.seed);
	nc_prep_free(g_k.prep);
	return 0;
}
