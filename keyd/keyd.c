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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "bytes.h"
#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "gwregdb.h"
#include "init_register.h"
#include "ipc.h"
#include "nymclient.h"
#include "safefile.h"
#include "sandbox.h"

#define KEY_REC_LEN 48
#define KEY_REC_MAGIC "NSK1"
#define PENDING_MAX 4096
#define REPLY_KEYS_MAX 100000   /* reply keys of SURBs we handed out */
#define SURBS_TOTAL_MAX 20000   /* SURBs received, all tags together */
#define SURB_TAGS_MAX 1024
#define REPLY_QUEUE_MAX 1024    /* reply fragments waiting per tag */
/* All tags together (~2 KB each: 32 MiB); tags are made by strangers' anonymous messages. */
#define REPLY_QUEUE_TOTAL_MAX 16384
#define REPLY_TICK_S 5.0        /* Nym's reply controller inspects stale data every 5 s */

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
	struct nc_store *store;
	/* Nym's gateways DB, rewritten at the end after a registration during the run */
	struct ns_gwreg_img *gwreg_img;
	int gwreg_fd, reregistered;
	char gwreg_listener[NS_GWREG_LISTENER_MAX];
	ev_timer reply_tick, request_timer;
};

static struct keyd g_k;

static void die_ipc(const char *what)
{
	nc_error("keyd", "%s", what);
	_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
}

/* ---- the shared-key record file: appended records, the last valid one wins */

static void key_record_encode(uint8_t rec[KEY_REC_LEN])
{
	memset(rec, 0, KEY_REC_LEN);
	memcpy(rec, KEY_REC_MAGIC, 4);
	rec[4] = (uint8_t)g_k.key.legacy;
	memcpy(rec + 8, g_k.key.bytes, NS_GW_KEY_LEN);
	ns_put_be64(rec + 40, g_k.last_auth_ts);
}

static void key_record_store(void)
{
	uint8_t rec[KEY_REC_LEN];
	key_record_encode(rec);
	if (write(g_k.key_fd, rec, sizeof rec) != (ssize_t)sizeof rec)
		nc_error("keyd", "cannot store the gateway key: %s", strerror(errno));
	ns_memzero(rec, sizeof rec);
}

static int key_records_load(const char *path)
{
	char err[NS_SF_ERR_MAX];
	g_k.key_fd = ns_sf_open_append(path, 0600, 1, err, sizeof err);
	if (g_k.key_fd < 0) {
		nc_error("keyd", "%s", err);
		return -1;
	}
	uint8_t rec[KEY_REC_LEN];
	while (read(g_k.key_fd, rec, sizeof rec) == (ssize_t)sizeof rec) {
		if (memcmp(rec, KEY_REC_MAGIC, 4) || rec[4] > 1)
			continue;
		g_k.key.legacy = rec[4];
		memcpy(g_k.key.bytes, rec + 8, NS_GW_KEY_LEN);
		g_k.last_auth_ts = ns_get_be64(rec + 40);
		g_k.have_key = 1;
	}
	ns_memzero(rec, sizeof rec);
	return 0;
}

static int mtime_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Nym's registration DB (written at `init`, by us or by Nym's client) against the record
 * file: a non-empty record file newer than the DB wins, whatever it holds; otherwise the
 * DB's key does, and is appended to the record file unless it is already its last key
 * (netd looks at that file, and keyd appends to it at once when it registers during `run`;
 * the DB gets such a key only at the stop: save_gateways).
 * rec_before: the record file as it was before key_records_load (st_size 0 if absent). */
static int key_db_merge(const struct nc_setup *s, const struct stat *rec_before)
{
	char path[CLIENTCONF_PATH_MAX + 64], err[300] = "";
	struct ns_gwreg r;
	struct timespec db_time;
	nc_gwreg_path(&s->conf, &s->dirs, path, sizeof path);
	if (ns_gwreg_mtime(path, &db_time) < 0)
		return 0;
	if (rec_before->st_size > 0 && mtime_after(&rec_before->st_mtim, &db_time))
		return 0;
	int rc = ns_gwreg_load_active(path, 1, &r, err, sizeof err);
	if (rc < 0) {
		nc_error("keyd", "%s: %s", path, err);
		return g_k.have_key ? 0 : -1;
	}
	if (memcmp(r.gateway_id, g_k.gateway, 32)) {
		nc_error("keyd", "%s: its active gateway is not the one we run with", path);
		ns_gw_key_clear(&r.key);
		return g_k.have_key ? 0 : -1;
	}
	if (!g_k.have_key || g_k.key.legacy != r.key.legacy ||
	    !ns_ct_equal(g_k.key.bytes, r.key.bytes, NS_GW_KEY_LEN)) {
		g_k.key = r.key;
		g_k.have_key = 1;
		g_k.last_auth_ts = 0;
		key_record_store();
	}
	ns_gw_key_clear(&r.key);
	return 0;
}

#define GWREG_FILE_MAX (4u << 20)

/* Before the sandbox: the gateways DB's bytes (if there is one) in memory, and <path>.new
 * opened, so that a registration during the run reaches the DB too (written at the end:
 * save_gateways). Nothing is lost if this fails: the record file has the key. */
static void gwreg_prepare(const struct nc_setup *s)
{
	char path[CLIENTCONF_PATH_MAX + 64], newpath[CLIENTCONF_PATH_MAX + 72];
	char err[NS_SF_ERR_MAX] = "";
	size_t len = 0;
	g_k.gwreg_fd = -1;
	nc_gwreg_path(&s->conf, &s->dirs, path, sizeof path);
	nc_sqlite_fold_wal(path);
	char *old = ns_sf_read_all(path, GWREG_FILE_MAX, &len, 0, err, sizeof err);
	if (!old && errno != ENOENT) {
		nc_log("keyd", "%s: %s: a registration during this run will not be written to it",
		       path, err);
		return;
	}
	g_k.gwreg_img = ns_gwreg_img_new((const uint8_t *)old, len, err, sizeof err);
	if (old) {
		ns_memzero(old, len);
		free(old);
	}
	snprintf(newpath, sizeof newpath, "%s%s", path, NC_STORE_NEW_SUFFIX);
	unlink(newpath); /* a crashed run's */
	if (g_k.gwreg_img)
		g_k.gwreg_fd = ns_sf_create(newpath, 0600, err, sizeof err);
	if (!g_k.gwreg_img || g_k.gwreg_fd < 0)
		nc_log("keyd", "%s: %s: a registration during this run will not be written to it",
		       path, err);
	/* Nym keeps the listener as Url::to_string writes it: "ws://IP:PORT/" */
	const char *host = strstr(s->gateway_ws, "://");
	size_t n = strlen(s->gateway_ws);
	if (n + 2 > sizeof g_k.gwreg_listener)
		return; /* ns_gwreg_listener_check refuses it anyway */
	memcpy(g_k.gwreg_listener, s->gateway_ws, n + 1);
	if (host && !strchr(host + 3, '/'))
		memcpy(g_k.gwreg_listener + n, "/", 2);
}

/* After a registration during the run: the gateways DB with the new key, as an image into
 * <path>.new (the supervisor renames it). */
static void save_gateways(void)
{
	char err[300] = "";
	uint8_t *img = NULL;
	size_t len = 0;
	if (g_k.reregistered && g_k.gwreg_img && g_k.gwreg_fd >= 0) {
		struct ns_gwreg r = { .has_key = 1, .key = g_k.key, .registered_at = time(NULL) };
		memcpy(r.gateway_id, g_k.gateway, 32);
		snprintf(r.listener, sizeof r.listener, "%s", g_k.gwreg_listener);
		int rc = ns_gwreg_img_finish(g_k.gwreg_img, &r, &img, &len, err, sizeof err);
		ns_gw_key_clear(&r.key);
		if (rc < 0 && !err[0])
			snprintf(err, sizeof err, "%s", ns_gwreg_strerror(rc));
		if (rc == 0 && ((rc = ns_sf_write_all(g_k.gwreg_fd, img, len)) < 0 ||
		                (rc = fsync(g_k.gwreg_fd) < 0 ? -errno : 0) < 0))
			snprintf(err, sizeof err, "%s", strerror(-rc));
		ns_gwreg_image_free(img, len);
		if (rc < 0) {
			nc_log("keyd", "the gateways DB was not updated with the new registration: %s",
			       err);
		} else {
			struct ns_ipc_msg m = { .type = NS_IPC_T_FILE_SAVED };
			m.u.FILE_SAVED.file = NS_IPC_FILE_GATEWAYS;
			m.u.FILE_SAVED.bytes = len;
			if (ns_ipc_conn_send(&g_k.sup, &m) < 0)
				nc_log("keyd", "cannot tell the supervisor that the gateways DB was saved");
		}
	}
	ns_gwreg_img_free(g_k.gwreg_img);
	g_k.gwreg_img = NULL;
	if (g_k.gwreg_fd >= 0)
		close(g_k.gwreg_fd);
	g_k.gwreg_fd = -1;
}

/* Record file, then the DB. */
static int gateway_key_load(const struct nc_setup *s)
{
	char path[CLIENTCONF_PATH_MAX + 64];
	struct stat before = { 0 };
	snprintf(path, sizeof path, "%s/%s", s->dirs.data_dir, NC_GWKEY_FILE);
	if (stat(path, &before) < 0)
		before.st_size = 0;
	if (key_records_load(path) < 0) {
		nc_error("keyd", "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return key_db_merge(s, &before);
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
	nc_send(&g_k.netd, &m);
}

static void flush_pending(void);

static void hs_failed(const char *reason)
{
	nc_warn("keyd", "gateway session: %s", reason);
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_HANDSHAKE_FAILED };
	m.u.GW_HANDSHAKE_FAILED.reason = NS_IPC_BYTES(reason, strlen(reason));
	nc_send(&g_k.netd, &m);
	g_k.hs_failures++;
}

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
		hs_clear();
		hs_failed("handshake: cannot build H1");
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
			hs_clear();
			hs_failed("handshake: the gateway's H2 does not verify");
			return;
		}
		g_k.hs_step = 2;
		send_hs_out(out, n);
		return;
	}
	if (g_k.hs_step != 2) {
		hs_clear();
		hs_failed("handshake: message out of order");
		return;
	}
	int rc = ns_gw_hs_client_finish(g_k.hs, in->ptr, in->len);
	if (rc == 0)
		rc = ns_gw_hs_key(g_k.hs, &g_k.key);
	hs_clear();
	if (rc < 0) {
		hs_failed("handshake: the gateway refused or H4 is bad");
		return;
	}
	g_k.have_key = 1;
	g_k.last_auth_ts = 0;
	g_k.reregistered = 1;
	key_record_store();
	nc_log("keyd", "registered with the gateway: shared key stored");
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_SESSION_READY };
	r.u.GW_SESSION_READY.protocol = g_k.key.legacy ? 2 : 3;
	nc_send(&g_k.netd, &r);
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
		hs_failed("authenticate: no shared key is stored");
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
		hs_failed("authenticate: cannot build the request");
		return;
	}
	if (ts) {
		g_k.last_auth_ts = ts;
		key_record_store();
	}
	struct ns_ipc_msg r = { .type = NS_IPC_T_GW_AUTH_TEXT };
	r.u.GW_AUTH_TEXT.text = NS_IPC_BYTES(text, len);
	nc_send(&g_k.netd, &r);
	free(text);
	flush_pending();
}

/* ---- send path */

static void build_failed(const uint8_t frag_id[5], uint64_t reason)
{
	struct ns_ipc_msg r = { .type = NS_IPC_T_BUILD_FAILED };
	r.u.BUILD_FAILED.frag_id = NS_IPC_BYTES(frag_id, 5);
	r.u.BUILD_FAILED.reason = reason;
	nc_send(&g_k.apid, &r);
}

/* ForwardSphinxV2 (MixPacket v2: with the key rotation) from the protocol version that
 * introduced it, on a current (not legacy) key; ForwardSphinx otherwise. */
static uint8_t forward_kind(void)
{
	return g_k.gw_protocol >= NS_GW_PROTOCOL_KEY_ROTATION && !g_k.key.legacy
	               ? NS_GW_BIN_FORWARD_SPHINX_V2
	               : NS_GW_BIN_FORWARD_SPHINX;
}

/* The MixPacket of p sealed under the gateway key: malloc'd frame, or NULL. Frees p->packet. */
static uint8_t *seal_packet(struct nc_packet *p, size_t *len)
{
	uint8_t kind = forward_kind();
	struct nym_mix_packet mp = { .packet_type = p->packet_type,
		                     .key_rotation = kind == NS_GW_BIN_FORWARD_SPHINX_V2
		                                             ? p->key_rotation
		                                             : NYM_KEY_ROTATION_UNKNOWN,
		                     .packet = p->packet,
		                     .packet_len = p->len };
	uint8_t *frame = NULL;
	if (nym_node_address_decode(p->first_hop, 32, &mp.next_hop) >= 0) {
		size_t cap = ns_gw_frame_len(&g_k.key, nym_mix_packet_len(&mp, kind));
		frame = malloc(cap);
		if (frame && ns_gw_binary_request_encode(&g_k.key, kind, &mp, frame, cap, len) < 0) {
			free(frame);
			frame = NULL;
		}
	}
	free(p->packet);
	p->packet = NULL;
	return frame;
}

/* Seals p and hands it to netd under frag_id. -1 if it cannot be sealed. */
static int send_sealed(struct nc_packet *p, const uint8_t frag_id[5], uint64_t lane)
{
	size_t n = 0;
	uint64_t delay_ms = p->total_delay_ns / 1000000;
	uint8_t *frame = seal_packet(p, &n);
	if (!frame)
		return -1;
	struct ns_ipc_msg r = { .type = NS_IPC_T_SEALED_FRAME };
	r.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(frag_id, 5);
	r.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, n);
	r.u.SEALED_FRAME.lane = lane;
	r.u.SEALED_FRAME.expected_delay_ms = delay_ms > NS_IPC_U32_MAX ? NS_IPC_U32_MAX : delay_ms;
	nc_send(&g_k.netd, &r);
	free(frame);
	return 0;
}

static void build_and_seal(const struct pending_build *b)
{
	struct nc_packet p;
	int rc = nc_prep_fragment(g_k.prep, b->frag, b->len, b->recipient, (int)b->size_tag, &p);
	if (rc == NC_PREP_UNKNOWN_GATEWAY) {
		build_failed(b->frag_id, NS_IPC_BUILD_UNKNOWN_GATEWAY);
		return;
	}
	if (rc < 0 || send_sealed(&p, b->frag_id, b->lane) < 0) {
		build_failed(b->frag_id, NS_IPC_BUILD_BAD_INPUT);
		return;
	}
	g_k.built++;
}

static int can_build(void)
{
	return g_k.have_key && nc_prep_has_topology(g_k.prep);
}

static void flush_all_replies(void);

static void flush_builds(void)
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

/* The session or the topology just became usable: everything that waited for them. */
static void flush_pending(void)
{
	flush_builds();
	flush_all_replies();
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
	flush_builds();
}

/* ---- replies through the SURBs others gave us */

/* The SURB store keeps each received SURB as rotation byte || SURB (the rotation from the
 * sender's RepliableMessage header; 0 = unknown makes every node try both of its keys). */
#define SURB_REC_MAX (1 + NYM_REPLY_SURB_MAX_LEN)

static void surbs_low(const uint8_t tag[16])
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_SURBS_LOW };
	m.u.SURBS_LOW.sender_tag = NS_IPC_BYTES(tag, 16);
	m.u.SURBS_LOW.available = nc_surbs_available(g_k.surbs, tag);
	nc_send(&g_k.apid, &m);
}

/* netd's ack wait for a packet of this expected delay (Nym's ack timeout, §3.6). */
static uint64_t ack_wait_ns(uint64_t total_delay_ns)
{
	return (uint64_t)((double)total_delay_ns * g_k.ack_wait_multiplier) + g_k.ack_wait_addition_ns;
}

static void arm_request_timer(void)
{
	uint64_t next = nc_surbs_next_request_deadline(g_k.surbs), now = nc_mono_ns();
	ev_timer_stop(g_k.loop, &g_k.request_timer);
	if (next == UINT64_MAX)
		return;
	ev_timer_set(&g_k.request_timer, next > now ? (double)(next - now) / 1e9 : 0.0, 0.0);
	ev_timer_start(g_k.loop, &g_k.request_timer);
}

/* A SurbRequest {us, amount} through one SURB of tag, reserve or not, kept until its ack
 * arrives: keyd retransmits it itself, so netd gets it under the zero fragment id, which
 * no fragment has and netd does not wait on. Without a SURB (or a topology) the attempt is
 * recorded all the same and repeated after one ack wait. -1 if nothing was sent. */
static int send_request_packet(const uint8_t tag[16], uint32_t amount, uint32_t retransmissions)
{
	static uint8_t surb[SURB_REC_MAX];
	static const uint8_t untracked[5];
	struct nc_packet p = { 0 };
	uint8_t frag_id[5] = { 0 };
	long n = can_build() ? nc_surbs_take(g_k.surbs, tag, 1, surb, sizeof surb) : -1;
	int rc = n < 2 ? -1 : nc_prep_surb_request(g_k.prep, surb + 1, (size_t)n - 1, surb[0], amount,
	                                            &p, frag_id);
	ns_memzero(surb, sizeof surb);
	if (rc == 0 && send_sealed(&p, untracked, 0) < 0) {
		nc_warn("keyd", "cannot build a SURB request");
		rc = -1;
	}
	uint64_t wait = ack_wait_ns(rc == 0 ? p.total_delay_ns : g_k.packet_delay_ns * 3);
	nc_surbs_request_sent(g_k.surbs, tag, rc == 0 ? frag_id : untracked, amount, retransmissions,
	                      nc_mono_ns() + wait);
	arm_request_timer();
	return rc;
}

static void send_surb_request(const uint8_t tag[16], uint32_t amount)
{
	if (!amount || !can_build() || send_request_packet(tag, amount, 0) < 0)
		return;
	nc_surbs_requested(g_k.surbs, tag, amount);
	g_k.surb_requests_sent++;
	surbs_low(tag);
}

static void resend_request(void *ctx, const struct nc_surb_request *r)
{
	(void)ctx;
	send_request_packet(r->tag, r->amount, r->retransmissions);
	g_k.surb_request_retransmissions++;
}

static void on_request_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	nc_surbs_requests_due(g_k.surbs, nc_mono_ns(), resend_request, NULL);
	arm_request_timer();
}

static void maybe_request_surbs(const uint8_t tag[16])
{
	send_surb_request(tag, nc_surbs_request_amount(g_k.surbs, tag));
}

static void build_reply(const struct nc_reply_frag *f, const uint8_t *surb, size_t surb_len)
{
	struct nc_packet p;
	if (surb_len < 2 ||
	    nc_prep_reply(g_k.prep, f->data, f->len, surb + 1, surb_len - 1, surb[0], &p) < 0 ||
	    send_sealed(&p, f->frag_id, f->lane) < 0) {
		build_failed(f->frag_id, NS_IPC_BUILD_BAD_INPUT);
		return;
	}
	g_k.replies_built++;
}

/* Sends the tag's waiting fragments while SURBs above the reserve last. */
static void flush_replies(const uint8_t tag[16])
{
	static uint8_t surb[SURB_REC_MAX];
	while (can_build() && nc_surbs_queued(g_k.surbs, tag)) {
		long n = nc_surbs_take(g_k.surbs, tag, 0, surb, sizeof surb);
		if (n < 0)
			break;
		struct nc_reply_frag *f = nc_surbs_dequeue(g_k.surbs, tag);
		build_reply(f, surb, (size_t)n);
		nc_reply_frag_free(f);
		ns_memzero(surb, (size_t)n);
	}
}

static void flush_all_replies(void)
{
	if (!can_build())
		return;
	for (size_t i = 0; i < nc_surbs_tag_count(g_k.surbs); i++) {
		uint8_t tag[16];
		memcpy(tag, nc_surbs_tag_at(g_k.surbs, i), 16);
		if (!nc_surbs_queued(g_k.surbs, tag))
			continue;
		flush_replies(tag);
		maybe_request_surbs(tag);
	}
}

/* A reply fragment that does not fit in the waiting queues is refused (rate-limited line). */
static void reply_refused(void)
{
	g_k.replies_refused++;
	nc_warn_limited("keyd", "reply fragments waiting for SURBs are at their bound (%zu in all): "
	                "refused", nc_surbs_queued_total(g_k.surbs));
}

static void on_build_reply(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_BUILD_REPLY *r = &m->u.BUILD_REPLY;
	const uint8_t *tag = r->sender_tag.ptr;
	if (!nc_surbs_known(g_k.surbs, tag)) {
		build_failed(r->frag_id.ptr, NS_IPC_BUILD_NO_SURB);
		return;
	}
	if (nc_surbs_queue(g_k.surbs, tag, r->frag_id.ptr, r->lane, r->packet_size, r->fragment.ptr,
	                   r->fragment.len) < 0) {
		reply_refused();
		build_failed(r->frag_id.ptr, NS_IPC_BUILD_NO_SURB);
	}
	flush_replies(tag);
	maybe_request_surbs(tag);
}

static void on_surbs_received(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
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
		    nc_surbs_add(g_k.surbs, tag, rec, each + 1, now) == 0)
			stored++;
	}
	ns_memzero(rec, sizeof rec);
	if (stored < count)
		nc_warn_limited("keyd", "SURBS_RECEIVED: %zu of %zu SURBs unusable", count - stored, count);
	if (!stored)
		return;
	g_k.surbs_stored += stored;
	nc_surbs_received(g_k.surbs, tag, stored, now);
	flush_replies(tag);
	maybe_request_surbs(tag);
}

static void on_make_surbs(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	static uint8_t out[NS_IPC_SURBS_MAX];
	const struct ns_ipc_MAKE_SURBS *r = &m->u.MAKE_SURBS;
	long n = nc_prep_make_surbs(g_k.prep, g_k.reply_keys, (size_t)r->count, nc_mono_ns(), out,
	                            sizeof out);
	if (n < 0) {
		memset(out, 0, 4); /* count 0: apid fails the request */
		n = 4;
	} else {
		g_k.surbs_made += r->count;
	}
	struct ns_ipc_msg a = { .type = NS_IPC_T_SURBS };
	a.u.SURBS.request_id = r->request_id;
	a.u.SURBS.surbs = NS_IPC_BYTES(out, (size_t)n);
	a.u.SURBS.key_rotation = nc_prep_key_rotation(g_k.prep);
	nc_send(&g_k.apid, &a);
	ns_memzero(out, (size_t)n);
}

static void on_reply_dropped(void *ctx, const struct nc_reply_frag *f)
{
	(void)ctx;
	g_k.reply_drops++;
	build_failed(f->frag_id, NS_IPC_BUILD_NO_SURB);
}

static void rerequest(void *ctx, const uint8_t tag[16])
{
	(void)ctx;
	send_surb_request(tag, nc_surbs_request_size(g_k.surbs, tag));
}

static void on_reply_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	uint64_t now = nc_mono_ns();
	nc_rkeys_expire(g_k.reply_keys, now);
	nc_surbs_tick(g_k.surbs, now, rerequest, NULL);
	ns_log_flush(0);
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
		nc_send(&g_k.netd, &f);
		free(frame);
		g_k.cover++;
	}
}

static void on_gw_protocol(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	g_k.gw_protocol = m->u.GW_PROTOCOL.protocol;
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
		nc_warn_limited("keyd", "a pushed frame does not open: dropped");
		return;
	}
	g_k.opened++;
	int kind = nc_prep_receive(g_k.prep, msg, n, plain, sizeof plain, frag_id, &out, &out_len);
	ns_memzero(msg, n);
	if (kind == 1 && nc_surbs_request_acked(g_k.surbs, frag_id)) {
		g_k.acks++;
		arm_request_timer();
	} else if (kind == 1) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_ACK };
		r.u.ACK.frag_id = NS_IPC_BYTES(frag_id, 5);
		nc_send(&g_k.netd, &r);
		nc_send(&g_k.apid, &r);
		g_k.acks++;
	} else if ((kind == 2 || kind == 3) && out_len >= 1 && out_len <= NS_IPC_FRAGMENT_MAX) {
		struct ns_ipc_msg r = { .type = NS_IPC_T_FRAGMENT };
		r.u.FRAGMENT.fragment = NS_IPC_BYTES(out, out_len);
		r.u.FRAGMENT.origin = kind == 3 ? NS_IPC_FROM_REPLY : NS_IPC_FROM_MESSAGE;
		nc_send(&g_k.apid, &r);
		g_k.fragments++;
		g_k.replies_received += kind == 3;
	}
	ns_memzero(plain, n); /* nym_receive writes at most the message's length */
}

/* ---- topology */

/* Nym's drop_stale_loaded_surbs: the senders not heard from since the cutoff lose their
 * SURBs (made under keys the nodes have rotated away). */
static void on_surb_cutoff(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	int64_t wall = (int64_t)time(NULL);
	uint64_t before = m->u.SURB_CUTOFF.before, now = nc_mono_ns();
	if (before > (uint64_t)wall || before > INT64_MAX)
		return;
	uint64_t back = (uint64_t)(wall - (int64_t)before) * 1000000000ull;
	size_t n = nc_surbs_drop_received_before(g_k.surbs, back < now ? now - back : 0);
	if (n)
		nc_log("keyd", "%zu reply SURBs older than the current key rotation dropped", n);
}

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
	char text[512];
	int n = snprintf(text, sizeof text,
	                 "built=%llu\ncover=%llu\nopened=%llu\nacks=%llu\nfragments=%llu\n"
	                 "replies_built=%llu\nreplies_received=%llu\nsurbs_made=%llu\n"
	                 "surb_requests_sent=%llu\nsurb_request_retransmissions=%llu\n"
	                 "replies_refused=%llu\n",
	                 (unsigned long long)g_k.built, (unsigned long long)g_k.cover,
	                 (unsigned long long)g_k.opened,
	                 (unsigned long long)g_k.acks, (unsigned long long)g_k.fragments,
	                 (unsigned long long)g_k.replies_built,
	                 (unsigned long long)g_k.replies_received,
	                 (unsigned long long)g_k.surbs_made,
	                 (unsigned long long)g_k.surb_requests_sent,
	                 (unsigned long long)g_k.surb_request_retransmissions,
	                 (unsigned long long)g_k.replies_refused);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	nc_send(c, &r);
}

static void on_status_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
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
	                 (unsigned long long)g_k.built, (unsigned long long)g_k.replies_built,
	                 (unsigned long long)g_k.cover, (unsigned long long)g_k.opened,
	                 (unsigned long long)g_k.acks, (unsigned long long)g_k.fragments,
	                 (unsigned long long)g_k.replies_received, (unsigned long long)g_k.surbs_made,
	                 (unsigned long long)g_k.surbs_stored, nc_rkeys_count(g_k.reply_keys),
	                 nc_surbs_tag_count(g_k.surbs), nc_surbs_total(g_k.surbs),
	                 (unsigned long long)g_k.surb_requests_sent,
	                 (unsigned long long)g_k.surb_request_retransmissions,
	                 (unsigned long long)g_k.reply_drops, g_k.n_pending,
	                 nc_prep_topology_nodes(g_k.prep), (unsigned long long)g_k.gw_protocol,
	                 (unsigned)forward_kind(), (unsigned long long)g_k.hs_failures,
	                 g_k.have_key ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof json)
		n = snprintf(json, sizeof json, "{}");
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATUS_REPLY };
	r.u.STATUS_REPLY.request_id = m->u.STATUS_REQUEST.request_id;
	r.u.STATUS_REPLY.json = NS_IPC_BYTES(json, (size_t)n);
	nc_send(c, &r);
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
static int reply_state_new(const struct clientconf_debug *d)
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
	};
	g_k.reply_keys = nc_rkeys_new(REPLY_KEYS_MAX, d->maximum_reply_key_age_ns);
	g_k.surbs = nc_surbs_new(&sc);
	if (!g_k.reply_keys || !g_k.surbs) {
		nc_error("keyd", "out of memory");
		return -1;
	}
	nc_prep_set_reply_keys(g_k.prep, g_k.reply_keys);
	return 0;
}

static int load_keys(const struct nc_setup *s)
{
	char err[CLIENTCONF_ERR_MAX] = "";
	uint8_t enc[32], ack[16], pub[32], sk[64];
	const struct clientconf *c = &s->conf;
	if (clientconf_read_key(c->private_identity_key_file, CC_KEY_PRIVATE_IDENTITY, g_k.seed, err) < 0 ||
	    clientconf_read_key(c->public_identity_key_file, CC_KEY_PUBLIC_IDENTITY, pub, err) < 0 ||
	    clientconf_read_key(c->private_encryption_key_file, CC_KEY_PRIVATE_ENCRYPTION, enc, err) < 0 ||
	    clientconf_read_key(c->ack_key_file, CC_KEY_ACK, ack, err) < 0) {
		nc_error("keyd", "cannot load the keys: %s", err);
		return -1;
	}
	ns_ed25519_from_seed(g_k.identity_pk, sk, g_k.seed);
	ns_memzero(sk, sizeof sk);
	if (memcmp(pub, g_k.identity_pk, 32)) {
		nc_error("keyd", "public_identity does not match private_identity");
		return -1;
	}
	memcpy(g_k.gateway, s->gateway_identity, 32);
	g_k.loop_delay_ns = c->debug.loop_cover_traffic_average_delay_ns;
	g_k.packet_delay_ns = c->debug.average_packet_delay_ns;
	g_k.ack_wait_multiplier = c->debug.ack_wait_multiplier;
	g_k.ack_wait_addition_ns = c->debug.ack_wait_addition_ns;
	g_k.prep = nc_prep_new(g_k.identity_pk, enc, ack, g_k.gateway);
	ns_memzero(enc, sizeof enc);
	ns_memzero(ack, sizeof ack);
	if (!g_k.prep || gateway_key_load(s) < 0 || reply_state_new(&c->debug) < 0)
		return -1;
	g_k.store = nc_store_open(s, g_k.reply_keys, g_k.surbs);
	gwreg_prepare(s);
	return 0;
}

/* The reply store's image into its file, and its length to the supervisor, which renames
 * the file into place. */
static void save_reply_store(void)
{
	uint64_t saved = nc_store_save(g_k.store, g_k.reply_keys, g_k.surbs);
	g_k.store = NULL;
	if (!saved)
		return;
	struct ns_ipc_msg m = { .type = NS_IPC_T_FILE_SAVED };
	m.u.FILE_SAVED.file = NS_IPC_FILE_REPLY_STORE;
	m.u.FILE_SAVED.bytes = saved;
	if (ns_ipc_conn_send(&g_k.sup, &m) < 0)
		nc_log("keyd", "cannot tell the supervisor that the reply store was saved");
}

/* keyd's last words: its files' images, then the last answers to the supervisor (stats, the
 * files saved). Once only. */
static void keyd_finish(void)
{
	save_reply_store();
	save_gateways();
	ns_ipc_conn_flush(&g_k.sup);
}

/* apid or netd gone (the suite is stopping: apid goes first at a SIGTERM), whether found by a
 * read or by a send: keyd saves its files and exits, wherever it was. Anything else is fatal
 * at once. */
static void keyd_ipc_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	if (c == &g_k.sup || (err != NS_IPC_EEOF && err != NS_IPC_EIO))
		nc_ipc_fatal(c, err, ctx);
	ns_log(NS_LOG_DEBUG, "keyd", "IPC with %s ended: stopping", ns_ipc_role_name(c->peer));
	keyd_finish();
	fflush(NULL);
	_exit(0); /* as nc_ipc_fatal: no atexit handler in the sandbox */
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
	ns_ipc_conn_start(&g_k.netd, g_k.loop, keep[0], NS_IPC_KEYD, NS_IPC_NETD, keyd_handlers,
	                  keyd_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_k.apid, g_k.loop, keep[1], NS_IPC_KEYD, NS_IPC_APID, keyd_handlers,
	                  keyd_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_k.sup, g_k.loop, keep[2], NS_IPC_KEYD, NS_IPC_SUPERVISOR, keyd_handlers, nc_ipc_fatal, NULL);
	/* acks and pushed frames from netd first, in batches: apid's bulk of builds must not
	 * delay the acks past netd's ack timers (that would cause retransmissions) */
	ns_ipc_conn_set_priority(&g_k.netd, EV_MAXPRI, 32);
	/* what one wake-up produces (the FRAGMENTs of a batch of opened frames, acks) leaves as
	 * one BATCH datagram (docs/ipc.md, corked connections) */
	if (ns_ipc_conn_set_cork(&g_k.netd, 1) != 0 || ns_ipc_conn_set_cork(&g_k.apid, 1) != 0)
		return 1;
	ev_timer_init(&g_k.reply_tick, on_reply_tick, REPLY_TICK_S, REPLY_TICK_S);
	ev_timer_start(g_k.loop, &g_k.reply_tick);
	ev_timer_init(&g_k.request_timer, on_request_timer, 0.0, 0.0);
	if (nc_confine(NS_SANDBOX_KEYD, s, 0) < 0)
		return 1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	nc_send(&g_k.sup, &m);
	if (s->test_keyd_socket) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* the filter must kill us here */
		nc_error("keyd", "socket() after the sandbox returned %d: the filter is not working", fd);
		return 1;
	}
	uint8_t self[96];
	nc_prep_self(g_k.prep, self);
	struct ns_ipc_msg a = { .type = NS_IPC_T_SELF_ADDRESS };
	a.u.SELF_ADDRESS.address = NS_IPC_BYTES(self, 96);
	nc_send(&g_k.apid, &a);
	ev_run(g_k.loop, 0);
	keyd_finish();
	hs_clear();
	ns_gw_key_clear(&g_k.key);
	ns_memzero(g_k.seed, sizeof g_k.seed);
	nc_prep_set_reply_keys(g_k.prep, NULL);
	nc_rkeys_free(g_k.reply_keys);
	nc_surbs_free(g_k.surbs);
	nc_prep_free(g_k.prep);
	return 0;
}
