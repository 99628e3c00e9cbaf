/* keyd: holds every long-term secret (identity, encryption and ack keys, the gateway shared
 * key) and exposes operations over IPC: gateway handshake steps, the authenticate request,
 * building + sealing packets, opening pushed frames. This file is the process: it loads its
 * keys, opens the shared-key record file, then sandboxes itself (no socket, no open) and runs
 * the operations (keyd_ops.c) on its socketpairs' libev connections. */
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
#include "keyd_ops.h"
#include "keyd_pool.h"
#include "nymclient.h"
#include "safefile.h"
#include "sandbox.h"
#include "sphinx/sphinx.h"

#define KEY_REC_LEN 48
#define KEY_REC_MAGIC "NSK1"

/* The process around the operations: its connections, timers and files. The keys live in
 * keys until the operations take them (then in ops only). */
struct keyd {
	struct ev_loop *loop;
	struct ns_ipc_conn netd, apid, sup;
	struct nc_keyd *ops;
	struct nc_keyd_keys keys;
	uint8_t gateway[32]; /* the gateway's identity (keys is zeroed once the operations hold it) */
	int key_fd;
	struct nc_store *store;
	/* Nym's gateways DB, rewritten at the end after a registration during the run */
	struct ns_gwreg_img *gwreg_img;
	int gwreg_fd;
	char gwreg_listener[NS_GWREG_LISTENER_MAX];
	ev_timer tick, request;
	ev_check backlog;          /* stops reading apid while too many builds wait */
	struct nc_keyd_pool *pool; /* NULL: builds inline (keyd_workers 1, or one core) */
	unsigned threads;          /* builder threads asked for */
};

static struct keyd g_k;

static void die_ipc(const char *what)
{
	nc_error("keyd", "%s", what);
	_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
}

/* ---- the shared-key record file: appended records, the last valid one wins */

static void key_record_encode(uint8_t rec[KEY_REC_LEN], const struct ns_gw_key *key,
                              uint64_t last_auth_ts)
{
	memset(rec, 0, KEY_REC_LEN);
	memcpy(rec, KEY_REC_MAGIC, 4);
	rec[4] = (uint8_t)key->legacy;
	memcpy(rec + 8, key->bytes, NS_GW_KEY_LEN);
	ns_put_be64(rec + 40, last_auth_ts);
}

/* Also the operations' key_changed (a registration, a new authenticateV2 timestamp). */
static void key_record_store(void *ctx, const struct ns_gw_key *key, uint64_t last_auth_ts)
{
	(void)ctx;
	uint8_t rec[KEY_REC_LEN];
	key_record_encode(rec, key, last_auth_ts);
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
		g_k.keys.gw_key.legacy = rec[4];
		memcpy(g_k.keys.gw_key.bytes, rec + 8, NS_GW_KEY_LEN);
		g_k.keys.last_auth_ts = ns_get_be64(rec + 40);
		g_k.keys.have_gw_key = 1;
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
		return g_k.keys.have_gw_key ? 0 : -1;
	}
	if (memcmp(r.gateway_id, g_k.keys.gateway, 32)) {
		nc_error("keyd", "%s: its active gateway is not the one we run with", path);
		ns_gw_key_clear(&r.key);
		return g_k.keys.have_gw_key ? 0 : -1;
	}
	if (!g_k.keys.have_gw_key || g_k.keys.gw_key.legacy != r.key.legacy ||
	    !ns_ct_equal(g_k.keys.gw_key.bytes, r.key.bytes, NS_GW_KEY_LEN)) {
		g_k.keys.gw_key = r.key;
		g_k.keys.have_gw_key = 1;
		g_k.keys.last_auth_ts = 0;
		key_record_store(NULL, &g_k.keys.gw_key, 0);
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
	struct ns_gwreg r = { .has_key = 1, .registered_at = time(NULL) };
	if (nc_keyd_registered(g_k.ops, &r.key) && g_k.gwreg_img && g_k.gwreg_fd >= 0) {
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


/* ---- the operations' host: the three connections and two ev_timers */

static struct ns_ipc_conn *conn_of(enum ns_ipc_role peer)
{
	return peer == NS_IPC_NETD ? &g_k.netd : peer == NS_IPC_APID ? &g_k.apid : &g_k.sup;
}

/* nc_send: a failed send ends the process (after keyd_ipc_fatal's last words) */
static int host_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	nc_send(conn_of(peer), m);
	return 0;
}

static ev_timer *timer_of(unsigned id)
{
	return id == NC_KEYD_TIMER_TICK ? &g_k.tick : &g_k.request;
}

static void host_timer_start(void *ctx, unsigned id, uint64_t after_ns, uint64_t repeat_ns)
{
	(void)ctx;
	ev_timer *t = timer_of(id);
	ev_timer_stop(g_k.loop, t);
	ev_timer_set(t, (double)after_ns / 1e9, (double)repeat_ns / 1e9);
	ev_timer_start(g_k.loop, t);
}

static void host_timer_stop(void *ctx, unsigned id)
{
	(void)ctx;
	ev_timer_stop(g_k.loop, timer_of(id));
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	nc_keyd_timer(g_k.ops, (unsigned)(uintptr_t)w->data);
}

static void on_message(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	if (m->type == NS_IPC_T_SHUTDOWN) {
		ev_break(g_k.loop, EVBREAK_ALL);
		return;
	}
	if (nc_keyd_deliver(g_k.ops, c->peer, m) < 0)
		die_ipc(nc_keyd_error(g_k.ops));
}

/* The types the operations handle, and SHUTDOWN; any other is a fatal NS_IPC_ENOHANDLER on
 * the conn (common/ipc.c). */
static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];

static void handlers_init(void)
{
	for (uint64_t t = 0; t < NS_IPC_TYPE_LIMIT; t++)
		if (nc_keyd_handles(t) || t == NS_IPC_T_SHUTDOWN)
			handlers[t] = on_message;
}

static void keys_clear(void)
{
	ns_memzero(&g_k.keys, sizeof g_k.keys);
}

/* The key files, the gateway key (record file, then the DB), the reply store, the gateways
 * DB image: all before the sandbox. The operations get the keys; keyd's copy is zeroed. */
static int load_keys(const struct nc_setup *s)
{
	char err[CLIENTCONF_ERR_MAX] = "";
	uint8_t pub[32], identity_pk[32], sk[64];
	const struct clientconf *c = &s->conf;
	struct nc_keyd_keys *k = &g_k.keys;
	if (clientconf_read_key(c->private_identity_key_file, CC_KEY_PRIVATE_IDENTITY, k->identity_seed, err) < 0 ||
	    clientconf_read_key(c->public_identity_key_file, CC_KEY_PUBLIC_IDENTITY, pub, err) < 0 ||
	    clientconf_read_key(c->private_encryption_key_file, CC_KEY_PRIVATE_ENCRYPTION, k->encryption_sk, err) < 0 ||
	    clientconf_read_key(c->ack_key_file, CC_KEY_ACK, k->ack_key, err) < 0) {
		nc_error("keyd", "cannot load the keys: %s", err);
		return -1;
	}
	ns_ed25519_from_seed(identity_pk, sk, k->identity_seed);
	ns_memzero(sk, sizeof sk);
	if (memcmp(pub, identity_pk, 32)) {
		nc_error("keyd", "public_identity does not match private_identity");
		return -1;
	}
	memcpy(k->gateway, s->gateway_identity, 32);
	memcpy(g_k.gateway, s->gateway_identity, 32);
	if (gateway_key_load(s) < 0)
		return -1;
	struct ns_ipc_host host = { .send = host_send, .timer_start = host_timer_start,
		                    .timer_stop = host_timer_stop };
	g_k.ops = nc_keyd_new(k, &c->debug, &host, key_record_store, NULL);
	keys_clear();
	if (!g_k.ops) {
		nc_error("keyd", "out of memory");
		return -1;
	}
	g_k.store = nc_store_open(s, nc_keyd_reply_keys(g_k.ops), nc_keyd_surbs(g_k.ops));
	gwreg_prepare(s);
	return 0;
}

/* The reply store's image into its file, and its length to the supervisor, which renames
 * the file into place. */
static void save_reply_store(void)
{
	uint64_t saved = nc_store_save(g_k.store, nc_keyd_reply_keys(g_k.ops), nc_keyd_surbs(g_k.ops));
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

/* apid's builds wait in keyd while the builder threads are busy (or before the session):
 * past BACKLOG_PAUSE of them keyd stops reading apid, so the rest wait in the socket and in
 * apid's send queue, as they did when keyd built each one as it arrived, and never reach
 * keyd's own bound (which refuses a build). Reading resumes at BACKLOG_RESUME. */
#define BACKLOG_PAUSE 256
#define BACKLOG_RESUME 64

static void on_backlog(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	size_t n = nc_keyd_builds_waiting(g_k.ops);
	if (n >= BACKLOG_PAUSE)
		ns_ipc_conn_pause(&g_k.apid, 1);
	else if (n <= BACKLOG_RESUME)
		ns_ipc_conn_pause(&g_k.apid, 0);
}

static void start_conns(int netd_fd, int apid_fd, int sup_fd)
{
	handlers_init();
	ns_ipc_conn_start(&g_k.netd, g_k.loop, netd_fd, NS_IPC_KEYD, NS_IPC_NETD, handlers,
	                  keyd_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_k.apid, g_k.loop, apid_fd, NS_IPC_KEYD, NS_IPC_APID, handlers,
	                  keyd_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_k.sup, g_k.loop, sup_fd, NS_IPC_KEYD, NS_IPC_SUPERVISOR, handlers,
	                  nc_ipc_fatal, NULL);
	/* acks and pushed frames from netd first, in batches: apid's bulk of builds must not
	 * delay the acks past netd's ack timers (that would cause retransmissions) */
	ns_ipc_conn_set_priority(&g_k.netd, EV_MAXPRI, 32);
	ev_check_init(&g_k.backlog, on_backlog);
	ev_check_start(g_k.loop, &g_k.backlog);
	ev_unref(g_k.loop); /* the check alone does not keep keyd running */
}

/* Between Landlock and the seccomp filter (nc_confine_then): the builder threads, which get
 * the filter with the main thread (docs/sandbox.md). */
static int start_builders(void *ctx)
{
	(void)ctx;
	char err[128] = "";
	if (!g_k.threads)
		return 0;
	g_k.pool = nc_keyd_pool_start(g_k.loop, g_k.ops, g_k.threads, err, sizeof err);
	if (!g_k.pool) {
		nc_error("keyd", "%s", err);
		return -1;
	}
	struct nc_keyd_runner r = nc_keyd_pool_runner(g_k.pool);
	nc_keyd_set_runner(g_k.ops, &r);
	nc_log("keyd", "packet builds on %u cores (%u builder threads)", g_k.threads + 1,
	       g_k.threads);
	return 0;
}

int nc_keyd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_NETD][0], s->fds[NC_KEYD_APID][0], s->fds[NC_SUP_KEYD][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_k.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!g_k.loop)
		return 1;
	ev_init(&g_k.tick, on_timer);
	g_k.tick.data = (void *)(uintptr_t)NC_KEYD_TIMER_TICK;
	ev_init(&g_k.request, on_timer);
	g_k.request.data = (void *)(uintptr_t)NC_KEYD_TIMER_REQUEST;
	if (load_keys(s) < 0)
		return 1;
	if (s->sphinx_chain) {
		nc_keyd_set_secrets(g_k.ops, SPHINX_SECRETS_CHAIN);
		nc_log("keyd", "Sphinx headers built with the X25519 chain (NYMSUITE_SPHINX_CHAIN=1)");
	}
	g_k.threads = nc_keyd_pool_threads((unsigned)s->conf.keyd_workers);
	start_conns(keep[0], keep[1], keep[2]);
	/* what one wake-up produces (the FRAGMENTs of a batch of opened frames, acks) leaves as
	 * one BATCH datagram (docs/ipc.md, corked connections) */
	if (ns_ipc_conn_set_cork(&g_k.netd, 1) != 0 || ns_ipc_conn_set_cork(&g_k.apid, 1) != 0)
		return 1;
	if (nc_confine_then(NS_SANDBOX_KEYD, s, 0, start_builders, NULL) < 0)
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
	nc_keyd_start(g_k.ops);
	ev_run(g_k.loop, 0);
	/* the builder threads are not joined: a thread's exit may make calls the filter refuses
	 * (an ASan build's sigaltstack); the caller's _exit ends them, idle or amid a build that
	 * holds its own copies (nothing of theirs is handed back any more) */
	keyd_finish();
	nc_keyd_free(g_k.ops);
	return 0;
}
