/* netd's operations (netd/netd_ops.c) for the net Worker: JS creates the state with the
 * gateway, the nym-api URL and Nym's debug settings, feeds it the datagrams keyd, the page's
 * engine and the supervisor send, fires its timers, reports the gateway websocket's events and
 * the answers to its GETs, and drains its events: datagrams for those peers, timers, and
 * what to do with the websocket and HTTP (WS_OPEN / WS_SEND / WS_PING / WS_CLOSE, HTTP_GET).
 * It holds no key: only sealed frames and public data pass. Also the gateway choice of a
 * first start (nsw_gwfetch_*: the nym-api's entry gateways, then common/gateway_pick.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base58.h"
#include "clientconf.h"
#include "gateway_pick.h"
#include "log.h"
#include "netd_ops.h"
#include "nsw_api.h"
#include "nsw_outbox.h"

struct nsw_netd {
	struct nsw_outbox out;
	struct clientconf conf;
	struct netd_ops *ops;
	int stopped;
};

/* ---- the host: every action becomes an event */

static uint64_t host_now(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int push(struct nsw_netd *g, uint32_t kind, uint32_t a0, uint32_t a1, const void *d,
                size_t len)
{
	return nsw_outbox_push(&g->out, kind, a0, a1, 0, d, len, NULL, 0);
}

static int host_ws_open(void *ctx, unsigned conn, const char *url, char *why, size_t whycap)
{
	if (push(ctx, NSW_EV_WS_OPEN, conn, 0, url, strlen(url)) < 0) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	return 0;
}

static int host_ws_send(void *ctx, unsigned conn, int binary, const uint8_t *data, size_t len)
{
	return push(ctx, NSW_EV_WS_SEND, conn, binary != 0, data, len);
}

static int host_ws_ping(void *ctx, unsigned conn)
{
	return push(ctx, NSW_EV_WS_PING, conn, 0, NULL, 0);
}

static void host_ws_close(void *ctx, unsigned conn, int graceful)
{
	push(ctx, NSW_EV_WS_CLOSE, conn, graceful != 0, NULL, 0);
}

static int host_http_get(void *ctx, unsigned req, const char *url, char *err, size_t errcap)
{
	if (push(ctx, NSW_EV_HTTP_GET, req, 0, url, strlen(url)) < 0) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	return 0;
}

static void host_state(void *ctx, const char *name, const char *detail)
{
	struct nsw_netd *g = ctx;
	nsw_outbox_push(&g->out, NSW_EV_STATE, 0, 0, 0, (const uint8_t *)name, strlen(name) + 1,
	                (const uint8_t *)detail, strlen(detail));
}

static void log_sink(const char *line, void *ctx)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		n--;
	push(ctx, NSW_EV_LOG, 0, 0, line, n);
}

/* ---- set-up */

NSW_EXPORT struct nsw_netd *nsw_netd_new(void)
{
	struct nsw_netd *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	nsw_outbox_init(&g->out, NS_IPC_NETD);
	clientconf_debug_defaults(&g->conf.debug);
	return g;
}

static uint64_t ns_of_ms(double ms)
{
	return ms > 0 ? (uint64_t)(ms * 1e6) : 0;
}

/* One of the SDK's clientOverride debug settings, by its name there; 0, or -1 unknown. */
NSW_EXPORT int nsw_netd_set(struct nsw_netd *g, const char *name, double v)
{
	struct clientconf_debug *d = &g->conf.debug;
	if (!strcmp(name, "disableMainPoissonPacketDistribution"))
		d->disable_main_poisson_packet_distribution = v != 0;
	else if (!strcmp(name, "averagePacketDelayMs"))
		d->average_packet_delay_ns = ns_of_ms(v);
	else if (!strcmp(name, "messageSendingAverageDelayMs"))
		d->message_sending_average_delay_ns = ns_of_ms(v);
	else if (!strcmp(name, "disableLoopCoverTrafficStream"))
		d->disable_loop_cover_traffic_stream = v != 0;
	else if (!strcmp(name, "loopCoverTrafficAverageDelayMs"))
		d->loop_cover_traffic_average_delay_ns = ns_of_ms(v);
	else if (!strcmp(name, "averageAckDelayMs"))
		d->average_ack_delay_ns = ns_of_ms(v);
	else if (!strcmp(name, "ackWaitAdditionMs"))
		d->ack_wait_addition_ns = ns_of_ms(v);
	else
		return -1;
	return 0;
}

NSW_EXPORT int nsw_netd_add_api(struct nsw_netd *g, const char *url)
{
	struct clientconf *c = &g->conf;
	if (c->n_nym_api_urls >= CLIENTCONF_MAX_URLS || strlen(url) >= CLIENTCONF_URL_MAX)
		return -1;
	snprintf(c->nym_api_urls[c->n_nym_api_urls++], CLIENTCONF_URL_MAX, "%s", url);
	return 0;
}

static const struct netd_host wasm_host = {
	.ipc = { .timer_start = NULL },
	.now_ns = host_now, .ws_open = host_ws_open, .ws_send = host_ws_send,
	.ws_ping = host_ws_ping, .ws_close = host_ws_close, .http_get = host_http_get,
	.state = host_state,
};

/* The gateway (its base58 identity and listener URL) and whether keyd holds a shared key for
 * it (authenticate) or not (register). 0, or -1 (bad arguments, no nym-api, no memory). */
NSW_EXPORT int nsw_netd_setup(struct nsw_netd *g, const char *gateway, const char *url,
                              int registered)
{
	struct netd_ops_config c = { .conf = &g->conf, .gateway_url = url,
		                     .registered = registered != 0 };
	if (g->ops || !g->conf.n_nym_api_urls ||
	    base58_decode(gateway, c.gateway_identity, sizeof c.gateway_identity) != 32)
		return -1;
	struct netd_host h = wasm_host;
	h.ipc = nsw_outbox_host(&g->out);
	h.ctx = g;
	ns_log_set_sink(log_sink, g);
	g->ops = netd_ops_new(&c, &h);
	return g->ops ? 0 : -1;
}

/* ---- running */

NSW_EXPORT int nsw_netd_start(struct nsw_netd *g)
{
	return g->ops ? netd_ops_start(g->ops) : -1;
}

static int deliver(void *ctx, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	struct nsw_netd *g = ctx;
	if (m->type == NS_IPC_T_SHUTDOWN) {
		g->stopped = 1;
		netd_ops_stop(g->ops);
		return push(g, NSW_EV_SHUTDOWN, 0, 0, NULL, 0);
	}
	if (netd_ops_deliver(g->ops, from, m) < 0) {
		g->stopped = 1;
		return NSW_KEYD_EPROTOCOL;
	}
	return 0;
}

/* 0; a negative NS_IPC_E* for a datagram that does not decode or a type netd does not take;
 * NSW_KEYD_EPROTOCOL when netd cannot go on (nsw_netd_error). After an error, or SHUTDOWN,
 * the state takes nothing more. */
NSW_EXPORT int nsw_netd_feed(struct nsw_netd *g, unsigned from, const uint8_t *buf, size_t len)
{
	if (g->stopped || !g->ops)
		return NSW_KEYD_EPROTOCOL;
	int rc = nsw_feed(NS_IPC_NETD, from, buf, len, deliver, g);
	if (rc < 0)
		g->stopped = 1;
	return rc;
}

NSW_EXPORT const char *nsw_netd_error(const struct nsw_netd *g)
{
	return g->ops ? netd_ops_error(g->ops) : "not set up";
}

NSW_EXPORT void nsw_netd_timer(struct nsw_netd *g, unsigned id)
{
	if (!g->stopped && g->ops)
		netd_ops_timer(g->ops, id);
}

NSW_EXPORT void nsw_netd_ws_open(struct nsw_netd *g, unsigned conn)
{
	if (!g->stopped && g->ops)
		netd_ops_ws_open(g->ops, conn);
}

NSW_EXPORT void nsw_netd_ws_message(struct nsw_netd *g, unsigned conn, int binary,
                                    const uint8_t *data, size_t len)
{
	if (!g->stopped && g->ops)
		netd_ops_ws_message(g->ops, conn, binary, data, len);
}

NSW_EXPORT void nsw_netd_ws_pong(struct nsw_netd *g, unsigned conn)
{
	if (!g->stopped && g->ops)
		netd_ops_ws_pong(g->ops, conn);
}

NSW_EXPORT void nsw_netd_ws_closed(struct nsw_netd *g, unsigned conn, int code, const char *why)
{
	if (!g->stopped && g->ops)
		netd_ops_ws_closed(g->ops, conn, code, why);
}

/* The answer to HTTP_GET req: status 0 when none came (network error, CORS refusal). */
NSW_EXPORT void nsw_netd_http(struct nsw_netd *g, unsigned req, unsigned status,
                              const uint8_t *body, size_t len)
{
	if (!g->stopped && g->ops)
		netd_ops_http_response(g->ops, req, status, (const char *)body, len,
		                       status ? NULL : "no answer");
}

NSW_EXPORT struct nsw_event *nsw_netd_next(struct nsw_netd *g) { return nsw_outbox_pop(&g->out); }

NSW_EXPORT void nsw_netd_stop(struct nsw_netd *g)
{
	if (g->ops)
		netd_ops_stop(g->ops);
	g->stopped = 1;
}

NSW_EXPORT void nsw_netd_free(struct nsw_netd *g)
{
	if (!g)
		return;
	ns_log_set_sink(NULL, NULL);
	netd_ops_free(g->ops);
	nsw_outbox_clear(&g->out);
	free(g);
}

/* ---- the gateway choice of a first start: the nym-api's entry gateways (every page), one
 * GET at a time as JS answers them, then Nym's uniform draw */

struct nsw_gwfetch {
	struct clientconf conf;
	struct ns_apis api;
	struct ns_fetch f;
	char url[CLIENTCONF_URL_MAX + 128];
	char err[600];
	char chosen[64]; /* the chosen identity, base58 */
};

NSW_EXPORT struct nsw_gwfetch *nsw_gwfetch_new(const char *api_url)
{
	struct nsw_gwfetch *q = calloc(1, sizeof *q);
	if (!q || strlen(api_url) >= CLIENTCONF_URL_MAX) {
		free(q);
		return NULL;
	}
	clientconf_debug_defaults(&q->conf.debug);
	snprintf(q->conf.nym_api_urls[0], CLIENTCONF_URL_MAX, "%s", api_url);
	q->conf.n_nym_api_urls = 1;
	ns_apis_init(&q->api, &q->conf);
	ns_fetch_begin(&q->f, &q->api, NS_FETCH_GATEWAYS);
	return q;
}

/* The next URL to GET (NUL-terminated, valid until the next call), or NULL when over. */
NSW_EXPORT const char *nsw_gwfetch_next(struct nsw_gwfetch *q)
{
	return ns_fetch_next(&q->f, q->url, sizeof q->url) ? q->url : NULL;
}

NSW_EXPORT void nsw_gwfetch_feed(struct nsw_gwfetch *q, unsigned status, const uint8_t *body,
                                 size_t len)
{
	char why[64];
	if (status >= 200 && status <= 299) {
		ns_fetch_feed(&q->f, q->url, (const char *)body, len, NULL);
		return;
	}
	snprintf(why, sizeof why, status ? "HTTP status %u" : "no answer", status);
	ns_fetch_feed(&q->f, q->url, NULL, 0, why);
}

/* 0 with the identity (32 bytes) and the listener URL, or -1 (nsw_gwfetch_error). */
NSW_EXPORT int nsw_gwfetch_choose(struct nsw_gwfetch *q, int force_tls, const char *wanted,
                                  uint8_t identity[32], char *url, size_t urlcap)
{
	if (q->f.done != 1) {
		snprintf(q->err, sizeof q->err, "cannot get the gateways from the nym-api: %s",
		         q->f.done ? q->f.err : "not finished");
		return -1;
	}
	int rc = ns_gw_pick_uniform(&q->f.gw, q->conf.debug.minimum_gateway_performance, force_tls,
	                            wanted && wanted[0] ? wanted : NULL, identity, url, urlcap,
	                            q->err, sizeof q->err);
	if (rc == 0)
		base58_encode(identity, 32, q->chosen, sizeof q->chosen);
	return rc;
}

/* The identity nsw_gwfetch_choose chose, in base58. */
NSW_EXPORT const char *nsw_gwfetch_chosen(const struct nsw_gwfetch *q) { return q->chosen; }

NSW_EXPORT const char *nsw_gwfetch_error(const struct nsw_gwfetch *q) { return q->err; }

NSW_EXPORT void nsw_gwfetch_free(struct nsw_gwfetch *q)
{
	if (!q)
		return;
	ns_fetch_free(&q->f);
	free(q);
}
