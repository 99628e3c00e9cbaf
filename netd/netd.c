/* netd: the network side, holding no secret. The logic is netd_ops.c (the gateway session,
 * the sealed-frame queue with its ack timers, Poisson/cover timing, the topology refresh,
 * STATS / STATUS); this file is its native host: the libev loop and the three socketpairs,
 * the gateway websocket (common/websocket.c, TLS through common/tls.c), the nym-api over
 * libcurl (netd_http.c, netd_topo.c; the first topology fetched before the sandbox), the
 * exit policy of a network requester, and the sandbox. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "crypto.h"
#include "curl_dl.h"
#include "ipc.h"
#include "netd_ops.h"
#include "nymclient.h"
#include "sandbox.h"
#include "tls.h"
#include "topology_json.h"
#include "traffic_ev.h"
#include "websocket.h"

struct netd {
	struct ev_loop *loop;
	struct ns_ipc_conn keyd, apid, sup;
	const struct nc_setup *s;
	struct netd_ops *ops;
	ev_timer timers[NETD_TIMER_LIMIT];
	ev_prepare flush; /* NETD_TIMER_FLUSH: before the loop sleeps */
	ns_ws_conn *ws;   /* the gateway websocket, connection number ws_conn */
	unsigned ws_conn;
	ev_timer release; /* libcurl's pages out of memory once the fetches have stopped */
};

static struct netd g_n;

/* seconds without an HTTP answer before libcurl's pages are released */
#define NETD_RELEASE_AFTER_S 2.

/* ---- IPC and timers */

static struct ns_ipc_conn *conn_of(enum ns_ipc_role peer)
{
	return peer == NS_IPC_KEYD ? &g_n.keyd : peer == NS_IPC_APID ? &g_n.apid : &g_n.sup;
}

/* nc_send: a failed send ends the process (after nc_ipc_fatal's last words) */
static int host_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	nc_send(conn_of(peer), m);
	return 0;
}

static void host_timer_start(void *ctx, unsigned id, uint64_t after_ns, uint64_t repeat_ns)
{
	(void)ctx;
	if (id == NETD_TIMER_FLUSH) {
		ev_prepare_start(g_n.loop, &g_n.flush);
		return;
	}
	ev_timer *t = &g_n.timers[id];
	ev_timer_stop(g_n.loop, t);
	ev_timer_set(t, (double)after_ns / 1e9, (double)repeat_ns / 1e9);
	ev_timer_start(g_n.loop, t);
}

static void host_timer_stop(void *ctx, unsigned id)
{
	(void)ctx;
	if (id == NETD_TIMER_FLUSH)
		ev_prepare_stop(g_n.loop, &g_n.flush);
	else
		ev_timer_stop(g_n.loop, &g_n.timers[id]);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	netd_ops_timer(g_n.ops, (unsigned)(w - g_n.timers));
}

static void on_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	ev_prepare_stop(loop, w);
	netd_ops_timer(g_n.ops, NETD_TIMER_FLUSH);
}

static uint64_t host_now(void *ctx)
{
	(void)ctx;
	return ns_traffic_monotonic_ns(NULL);
}

static void on_message(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	if (m->type == NS_IPC_T_SHUTDOWN) {
		ev_break(g_n.loop, EVBREAK_ALL);
		return;
	}
	if (netd_ops_deliver(g_n.ops, c->peer, m) < 0) {
		nc_error("netd", "%s", netd_ops_error(g_n.ops));
		_exit(1); /* never exit(): its atexit handlers make calls the sandbox refuses */
	}
}

/* The types the operations handle, and SHUTDOWN; any other is a fatal NS_IPC_ENOHANDLER on
 * the conn (common/ipc.c). */
static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];

static void handlers_init(void)
{
	for (uint64_t t = 0; t < NS_IPC_TYPE_LIMIT; t++)
		if (netd_ops_handles(t) || t == NS_IPC_T_SHUTDOWN)
			handlers[t] = on_message;
}

/* ---- the gateway websocket: the user pointer of a connection is its number (NULL once
 * dropped, so its late events go nowhere) */

static unsigned conn_no(void *user)
{
	return (unsigned)(uintptr_t)user;
}

static void ws_on_open(ns_ws_conn *w, void *user)
{
	(void)w;
	netd_ops_ws_open(g_n.ops, conn_no(user));
}

static void ws_on_message(ns_ws_conn *w, enum ns_ws_msg_type type, const uint8_t *data,
                          size_t len, void *user)
{
	(void)w;
	netd_ops_ws_message(g_n.ops, conn_no(user), type == NS_WS_BINARY, data, len);
}

static void ws_on_pong(ns_ws_conn *w, const uint8_t *data, size_t len, void *user)
{
	(void)w, (void)data, (void)len;
	netd_ops_ws_pong(g_n.ops, conn_no(user));
}

/* The frames read while a hold of the gateway's reads runs stay corked for keyd until it ends
 * (host_ws_hold_reads), then go in one BATCH. */
static void ws_on_hold_end(ns_ws_conn *w, void *user)
{
	(void)w, (void)user;
	ns_ipc_conn_keep_cork(&g_n.keyd, 0);
}

static void ws_on_close(ns_ws_conn *w, int code, const char *why, void *user)
{
	ns_ipc_conn_keep_cork(&g_n.keyd, 0);
	if (w == g_n.ws)
		g_n.ws = NULL;
	netd_ops_ws_closed(g_n.ops, conn_no(user), code, why);
}

static const ns_ws_callbacks ws_callbacks = { .on_open = ws_on_open, .on_message = ws_on_message,
	                                      .on_close = ws_on_close, .on_pong = ws_on_pong,
	                                      .on_hold_end = ws_on_hold_end };

static ns_ws_conn *ws_of(unsigned conn)
{
	return conn && conn == g_n.ws_conn ? g_n.ws : NULL;
}

static int host_ws_open(void *ctx, unsigned conn, const char *url, char *why, size_t whycap)
{
	(void)ctx;
	int err = 0;
	ns_ws_conn *w = ns_ws_connect(g_n.loop, url, NULL, &ws_callbacks, (void *)(uintptr_t)conn,
	                              &err);
	if (!w) {
		snprintf(why, whycap, "%s", ns_ws_strerror(err));
		return -1;
	}
	g_n.ws = w;
	g_n.ws_conn = conn;
	return 0;
}

static int host_ws_send(void *ctx, unsigned conn, int binary, const uint8_t *data, size_t len)
{
	(void)ctx;
	ns_ws_conn *w = ws_of(conn);
	return w ? ns_ws_send(w, binary ? NS_WS_BINARY : NS_WS_TEXT, data, len) : -1;
}

static int host_ws_ping(void *ctx, unsigned conn)
{
	(void)ctx;
	uint8_t tag[8];
	ns_random(tag, sizeof tag);
	ns_ws_conn *w = ws_of(conn);
	return w ? ns_ws_ping(w, tag, sizeof tag) : -1;
}

static void host_ws_close(void *ctx, unsigned conn, int graceful)
{
	(void)ctx;
	ns_ws_conn *w = ws_of(conn);
	if (!w)
		return;
	g_n.ws = NULL;
	ns_ws_set_user(w, NULL);
	ns_ipc_conn_keep_cork(&g_n.keyd, 0);
	if (!graceful || ns_ws_close(w, 1000, "") < 0)
		ns_ws_abort(w);
}

static void host_ws_hold_reads(void *ctx, unsigned conn, double s)
{
	(void)ctx;
	ns_ws_conn *w = ws_of(conn);
	if (!w)
		return;
	ns_ws_hold_reads(w, s);
	ns_ipc_conn_keep_cork(&g_n.keyd, ns_ws_holding(w));
}

/* ---- nym-api GETs on the loop (netd_http.c) */

static void on_http_answer(void *ctx, const char *url, const char *body, size_t len,
                           const char *err)
{
	(void)url;
	netd_ops_http_response(g_n.ops, (unsigned)(uintptr_t)ctx, body ? 200 : 0, body, len, err);
	ev_timer_again(g_n.loop, &g_n.release); /* a refresh is several GETs: after the last */
}

static void on_release(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	ev_timer_stop(g_n.loop, &g_n.release);
	nc_curl_release_pages();
}

static int host_http_get(void *ctx, unsigned req, const char *url, char *err, size_t errcap)
{
	(void)ctx;
	return nc_http_get_async(url, on_http_answer, (void *)(uintptr_t)req, err, errcap);
}

static void host_state(void *ctx, const char *name, const char *detail)
{
	(void)ctx, (void)detail;
	if (!strcmp(name, "failed"))
		_exit(1); /* logged by the operations; never exit(): see on_message */
}

static const struct netd_host native_host = {
	.ipc = { .send = host_send, .timer_start = host_timer_start, .timer_stop = host_timer_stop },
	.now_ns = host_now, .ws_open = host_ws_open, .ws_send = host_ws_send,
	.ws_ping = host_ws_ping, .ws_close = host_ws_close, .ws_hold_reads = host_ws_hold_reads,
	.http_get = host_http_get, .state = host_state,
};

/* registered = a shared key is stored: in Nym's gateways DB, or in keyd's record file (a
 * re-registration during a run); keyd merges the two at its start. */
static int registered(const struct nc_setup *s)
{
	char path[CLIENTCONF_PATH_MAX + 64];
	struct stat st;
	if (s->gateway_key_stored)
		return 1;
	snprintf(path, sizeof path, "%s/%s", s->dirs.data_dir, NC_GWKEY_FILE);
	return stat(path, &st) == 0 && st.st_size >= 48;
}

/* Before the sandbox, for a wss:// gateway: libssl and the CA certificates into memory (no file
 * is read later); every reconnection verifies the certificate against them. */
static int gateway_tls(const struct nc_setup *s)
{
	if (strncmp(s->gateway_ws, "wss://", 6))
		return 0;
	char err[300] = "";
	struct ns_tls_ctx *ctx = ns_tls_client_ctx_new(NULL, err, sizeof err);
	if (!ctx) {
		nc_error("netd", "gateway %s: %s", s->gateway_ws, err);
		return -1;
	}
	ns_ws_set_client_tls(ctx); /* for the life of the process */
	/* certificate checks call gmtime_r, whose first call reads /etc/localtime: now, not
	 * behind Landlock (where it would be refused, harmlessly but at every start) */
	tzset();
	nc_log("netd", "gateway over TLS: %s (CA %s)", s->gateway_ws, ns_tls_ctx_ca_name(ctx));
	return 0;
}

/* A network requester's exit policy from upstream_exit_policy_url, fetched once inside the
 * sandbox (the URL's port is among netd's Landlock ports) and handed to the front. */
static void send_exit_policy(const struct nc_setup *s)
{
	char err[512] = "", why[CLIENTCONF_URL_MAX + sizeof err + 64];
	size_t len = 0;
	const char *url = s->conf.nr.upstream_exit_policy_url;
	char *text = url[0] ? nc_http_get(url, &len, err, sizeof err) : NULL;
	if (!url[0])
		snprintf(why, sizeof why, "no upstream_exit_policy_url and no exit_policy_file");
	else if (!text)
		snprintf(why, sizeof why, "cannot fetch the exit policy from %s: %s", url, err);
	else
		nc_log("netd", "exit policy from %s: %zu bytes", url, len);
	if (nc_exit_policy_send(&g_n.apid, text, len, text ? NULL : why) < 0)
		nc_error("netd", "cannot hand the exit policy to %s", nc_kind->front);
	free(text);
}

/* Before the sandbox: libcurl and the CA bundle, key-rotation info (Nym aborts start-up
 * without it), and a routable topology holding our gateway. */
static int first_topology(const struct nc_setup *s)
{
	char err[512] = "";
	struct ns_nymapi_keyrot kr;
	struct ns_topo topo;
	struct ns_apis *api = netd_ops_apis(g_n.ops);
	if (nc_http_init(err, sizeof err) < 0 || nc_http_async_init(g_n.loop, err, sizeof err) < 0) {
		nc_log("netd", "%s", err);
		return -1;
	}
	if (s->custom_mixnet[0]) {
		if (ns_topo_load_file(s->custom_mixnet, &topo, err, sizeof err) < 0) {
			nc_error("netd", "custom topology %s: %s", s->custom_mixnet, err);
			return -1;
		}
	} else if (nc_api_keyrot(api, &kr, err, sizeof err) < 0) {
		nc_error("netd", "key rotation info: %s", err);
		return -1;
	} else {
		netd_ops_surb_cutoff(g_n.ops, &kr);
		if (nc_api_topology(api, &topo, err, sizeof err) < 0) {
			nc_warn("netd", "topology: %s", err);
			return -1;
		}
	}
	/* the nym-api that answered (the fetch moves past dead ones) */
	const char *from = s->custom_mixnet[0] ? s->custom_mixnet : ns_apis_url(api);
	int rc = netd_ops_set_topology(g_n.ops, &topo);
	ns_topo_free(&topo);
	if (rc == 0)
		nc_log("netd", "topology generation 1 from %s%s: %zu nodes (CA %s)", from,
		       s->custom_mixnet[0] ? " (fixed: --custom-mixnet)" : "",
		       netd_ops_topology_nodes(g_n.ops), nc_http_ca_name());
	return rc;
}

static int start_ops(const struct nc_setup *s)
{
	struct netd_ops_config c = { .conf = &s->conf, .gateway_url = s->gateway_ws,
		                     .registered = registered(s),
		                     .fixed_topology = s->custom_mixnet[0] != 0 };
	memcpy(c.gateway_identity, s->gateway_identity, 32);
	g_n.ops = netd_ops_new(&c, &native_host);
	if (!g_n.ops)
		return -1;
	for (unsigned i = 0; i < NETD_TIMER_LIMIT; i++)
		ev_timer_init(&g_n.timers[i], on_timer, 1., 0.);
	ev_prepare_init(&g_n.flush, on_flush);
	ev_init(&g_n.release, on_release);
	g_n.release.repeat = NETD_RELEASE_AFTER_S;
	return 0;
}

int nc_netd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_NETD][1], s->fds[NC_NETD_APID][0], s->fds[NC_SUP_NETD][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_n.s = s;
	g_n.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!g_n.loop || start_ops(s) < 0)
		return 1;
	handlers_init();
	ns_ipc_conn_start(&g_n.keyd, g_n.loop, keep[0], NS_IPC_NETD, NS_IPC_KEYD, handlers, nc_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_n.apid, g_n.loop, keep[1], NS_IPC_NETD, NS_IPC_APID, handlers, nc_ipc_fatal, NULL);
	ns_ipc_conn_start(&g_n.sup, g_n.loop, keep[2], NS_IPC_NETD, NS_IPC_SUPERVISOR, handlers, nc_ipc_fatal, NULL);
	/* the frames of one read from the gateway go to keyd as one BATCH datagram */
	if (ns_ipc_conn_set_cork(&g_n.keyd, 1) != 0 || ns_ipc_conn_set_cork(&g_n.apid, 1) != 0)
		return 1;
	if (first_topology(s) < 0 || gateway_tls(s) < 0)
		return 1;
	if (netd_ops_start(g_n.ops) < 0) {
		nc_error("netd", "cannot start the gateway session");
		return 1;
	}
	size_t released = nc_curl_release_pages();
	if (released)
		nc_log("netd", "libcurl and its libraries: %zu KiB of text and read-only data released "
		                "until the next fetch", released / 1024);
	if (nc_confine(NS_SANDBOX_NETD, s, 0) < 0)
		return 1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	nc_send(&g_n.sup, &m);
	if (nc_exit_policy_source(&s->conf) == NC_POLICY_URL) {
		send_exit_policy(s);
		nc_curl_release_pages();
	}
	ev_run(g_n.loop, 0);
	ns_ipc_conn_flush(&g_n.sup); /* the last answers to the supervisor (stats, unsent fragments) */
	netd_ops_stop(g_n.ops);
	netd_ops_free(g_n.ops);
	/* no nc_http_cleanup() here: curl_multi_cleanup closes cached connections through its
	 * internal handle, which ignores CURLOPT_NOSIGNAL and calls sigaction(SIGPIPE) (not in
	 * the filter: netd died by SIGSYS at exit); the process ends next, and netd holds no
	 * secret to clear */
	return 0;
}
