/* exitd: the network requester's front (exitd.h). Start-up: the engine's connections, the
 * admin socket (client/suite/admin.h, exitd's part in exitd_admin.c), confinement (nc_confine: own uid, Landlock, the exitd seccomp table), then
 * the resolver thread (under the same confinement), then the exit policy: the open-proxy
 * rule, or the text netd fetched / the supervisor read (EXIT_POLICY_TEXT ... _END). READY
 * goes to the supervisor only once the policy is loaded; without one exitd exits with the
 * reason, and the suite stops. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "engine/engine.h"
#include "exitd.h"
#include "ipc.h"
#include "nymclient.h"
#include "nymsphinx/address.h"

#define LOG_EVERY 10.0 /* seconds between two lines of one rate-limited kind */
/* What one unacknowledged fragment costs in memory (1.6 KB of data and its record), and how
 * many a connection may have: far above rate x round trip (about 1,300 packets/s x 50 ms
 * with delays off, 50 packets/s x 2 s with Nym's), so only a client that stopped acking
 * meets it. */
#define XD_FRAGMENT_COST 2048
#define XD_CONN_UNACKED_MAX 256

struct xd_counters xd_count;
struct xd_limits xd_lim;

static struct {
	struct ev_loop *loop;
	struct ns_engine *engine;
	const struct nc_setup *s;
	enum nc_policy_source source;
	struct ns_exit_policy policy;
	char *text;
	size_t text_len;
	bool policy_loaded, have_self, announced;
	int failed;
	char self[NYM_RECIPIENT_STR_MAX];
} g_x;

struct ev_loop *xd_loop(void)
{
	return g_x.loop;
}

const struct ns_exit_policy *xd_policy(void)
{
	return &g_x.policy;
}

const struct clientconf *xd_conf(void)
{
	return &g_x.s->conf;
}

const char *xd_policy_upstream(void)
{
	return g_x.source == NC_POLICY_URL ? g_x.s->conf.nr.upstream_exit_policy_url : "";
}

void xd_log_limited(enum xd_limited kind, const char *fmt, ...)
{
	static struct ns_log_limit limit[XD_LOG_KINDS];
	va_list ap;
	va_start(ap, fmt);
	limit[kind].window_s = LOG_EVERY;
	ns_log_vlimited(&limit[kind], NS_LOG_WARN, "exitd", fmt, ap);
	va_end(ap);
}

/* ---- responses */

int xd_respond(const struct xd_route *route, const struct nr_response *resp, uint64_t lane)
{
	static uint8_t buf[65536];
	long n = nr_response_encode(resp, buf, sizeof buf);
	if (n < 0)
		return -1;
	if (route->by_tag)
		return ns_engine_reply(g_x.engine, route->tag, buf, (size_t)n, lane);
	return ns_engine_send(g_x.engine, route->addr, buf, (size_t)n, lane, NULL, NULL);
}

size_t xd_lane_depth(uint64_t lane)
{
	return ns_engine_lane_depth(g_x.engine, lane);
}

size_t xd_lane_unacked(uint64_t lane)
{
	return ns_engine_lane_unacked(g_x.engine, lane);
}

size_t xd_unacked(void)
{
	return ns_engine_unacked(g_x.engine);
}

void xd_close_lane(uint64_t lane)
{
	ns_engine_close_lane(g_x.engine, lane);
}

/* ---- start-up: Nym's two lines once the address is known and the policy loaded */

static void announce(void)
{
	if (g_x.announced || !g_x.have_self || !g_x.policy_loaded)
		return;
	g_x.announced = true;
	nc_log("exitd", "The address of this client is: %s", g_x.self);
	nc_log("exitd", "All systems go. Press CTRL-C to stop the server.");
}

static void fail(const char *why)
{
	nc_error("exitd", "cannot start: %s", why);
	g_x.failed = 1;
	ev_break(g_x.loop, EVBREAK_ALL);
}

static void policy_ready(void)
{
	g_x.policy_loaded = true;
	nc_log("exitd", "exit policy: %zu rules%s", g_x.policy.n_rules,
	       ns_exit_policy_is_open(&g_x.policy) ? " (open proxy: accept *:*; special addresses "
	                                              "still refused)" : "");
	ns_engine_ready(g_x.engine);
	announce();
}

static void policy_parse(void)
{
	struct ns_exit_parse_error perr;
	char why[256];
	if (ns_exit_policy_parse(g_x.text ? g_x.text : "", g_x.text_len, &g_x.policy, &perr) < 0) {
		snprintf(why, sizeof why, "the exit policy does not parse: %s (line %zu)",
		         ns_exit_parse_err_text(perr.kind), perr.line);
		fail(why);
	} else {
		policy_ready();
	}
	free(g_x.text);
	g_x.text = NULL;
}

static int policy_from_expected(const struct ns_ipc_conn *c)
{
	enum ns_ipc_role want = g_x.source == NC_POLICY_FILE ? NS_IPC_SUPERVISOR : NS_IPC_NETD;
	return g_x.source != NC_POLICY_NONE && !g_x.policy_loaded && c->peer == want;
}

static void on_policy_text(const struct ns_ipc_bytes *t)
{
	char *grown = realloc(g_x.text, g_x.text_len + t->len + 1);
	if (!grown || g_x.text_len + t->len > NS_IPC_POLICY_TEXT_MAX) {
		free(grown);
		g_x.text = NULL;
		fail("the exit policy is too large");
		return;
	}
	memcpy(grown + g_x.text_len, t->ptr, t->len);
	g_x.text = grown;
	g_x.text_len += t->len;
}

static void on_front_message(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	char why[600];
	if (!policy_from_expected(c)) {
		nc_warn("exitd", "%s from %s not expected (ignored)", ns_ipc_type_name(m->type),
		       ns_ipc_role_name(c->peer));
		return;
	}
	if (m->type == NS_IPC_T_EXIT_POLICY_TEXT) {
		on_policy_text(&m->u.EXIT_POLICY_TEXT.text);
		return;
	}
	const struct ns_ipc_EXIT_POLICY_END *e = &m->u.EXIT_POLICY_END;
	if (e->error.len) {
		snprintf(why, sizeof why, "%.*s", (int)e->error.len, (const char *)e->error.ptr);
		fail(why);
	} else if (e->total != g_x.text_len) {
		fail("the exit policy arrived incomplete");
	} else {
		policy_parse();
	}
}

/* ---- from the engine */

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	(void)ctx;
	if (!g_x.policy_loaded)
		return; /* READY not sent: no request can be checked yet */
	xd_on_message(msg, len, sender_tag);
}

static void on_self_address(void *ctx, const uint8_t address[NS_ENGINE_ADDRESS_LEN])
{
	(void)ctx;
	struct nym_recipient r;
	if (nym_recipient_from_bytes(address, &r) < 0 ||
	    nym_recipient_to_string(&r, g_x.self, sizeof g_x.self) < 0)
		return;
	g_x.have_self = true;
	announce();
}

static void on_send_failed(void *ctx, void *owner, uint64_t msg_id, const char *why)
{
	(void)ctx, (void)owner, (void)msg_id;
	xd_log_limited(XD_LOG_SEND, "a response could not be delivered: %s", why);
}

static void on_shutdown(void *ctx)
{
	(void)ctx;
	ev_break(g_x.loop, EVBREAK_ALL);
}

static size_t put(char *out, size_t cap, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t put(char *out, size_t cap, size_t at, const char *fmt, ...)
{
	if (at >= cap)
		return at;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + at, cap - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n < cap ? at + (size_t)n : cap - 1;
}

/* STATS: the engine's counters, then exitd's */
static size_t stats_text(void *ctx, const struct ns_engine_stats *st, char *out, size_t cap)
{
	(void)ctx;
	struct xd_counter c[XD_N_COUNTERS];
	size_t at = ns_engine_stats_format(st, out, cap);
	xd_counters(c);
	for (size_t i = 0; i < XD_N_COUNTERS; i++)
		at = put(out, cap, at, "%s=%llu\n", c[i].name, (unsigned long long)c[i].value);
	return at;
}

static void on_lane_sent(void *ctx, uint64_t lane)
{
	(void)ctx;
	xd_conn_lane_sent(lane);
}

static const struct ns_engine_cb engine_cb = { .on_message = on_message,
	                                       .on_self_address = on_self_address,
	                                       .on_send_failed = on_send_failed,
	                                       .on_shutdown = on_shutdown,
	                                       .stats_text = stats_text,
	                                       .on_status_reply = nc_admin_on_status_reply,
	                                       .on_front_message = on_front_message,
	                                       .on_lane_sent = on_lane_sent };

static void limits_init(const struct clientconf_nr *nr)
{
	xd_lim.max_conns = nr->max_connections;
	xd_lim.max_per_sender = nr->max_connections_per_sender;
	xd_lim.total_bytes = (size_t)nr->buffer_mib << 20;
	xd_lim.conn_bytes = xd_lim.total_bytes < (8u << 20) ? xd_lim.total_bytes : (8u << 20);
	xd_lim.max_pending = xd_lim.max_conns < 256 ? xd_lim.max_conns : 256;
	xd_lim.total_unacked = xd_lim.total_bytes / XD_FRAGMENT_COST;
	xd_lim.conn_unacked = xd_lim.conn_bytes / XD_FRAGMENT_COST < XD_CONN_UNACKED_MAX
	                              ? xd_lim.conn_bytes / XD_FRAGMENT_COST
	                              : XD_CONN_UNACKED_MAX;
}

static int start_policy(void)
{
	g_x.source = nc_exit_policy_source(&g_x.s->conf);
	if (g_x.source != NC_POLICY_NONE)
		return 0; /* it comes over IPC */
	if (ns_exit_policy_open(&g_x.policy) < 0)
		return -1;
	policy_ready();
	return 0;
}

int nc_exitd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_APID][1], s->fds[NC_NETD_APID][1], s->fds[NC_SUP_APID][1] };
	char admin[CLIENTCONF_PATH_MAX];
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_x.s = s;
	limits_init(&s->conf.nr);
	g_x.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!g_x.loop)
		return 1;
	g_x.engine = ns_engine_start(g_x.loop, keep[0], keep[1], keep[2], &engine_cb, NULL);
	if (!g_x.engine)
		return 1;
	if (clientconf_admin_path(&s->conf, &s->dirs, admin, sizeof admin) < 0 ||
	    nc_admin_start(g_x.loop, admin, g_x.engine, &xd_admin_front) < 0 ||
	    xd_conns_init(g_x.loop) < 0)
		return 1;
	if (nc_confine(NS_SANDBOX_EXITD, s, 0) < 0)
		return 1;
	/* the thread after nc_confine: it inherits the filter and the Landlock domain */
	if (xd_conns_start() < 0 || start_policy() < 0)
		return 1;
	ev_run(g_x.loop, 0);
	nc_admin_stop();
	ns_engine_free(g_x.engine);
	return g_x.failed;
}
