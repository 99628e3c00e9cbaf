/* Gateway choice at init (gateway_select.h), as Nym's client-core init helpers: candidates,
 * the listener URL a node's entry details give, uniform or latency-weighted draw. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "base58.h"
#include "crypto.h"
#include "gateway_pick.h"
#include "gateway_select.h"
#include "nymapi.h"
#include "nymclient.h"
#include "topology_json.h"
#include "tls.h"
#include "websocket.h"
#include "weighted_pick.h"

/* Nym's choose_gateway_by_latency */
#define PICK_CONCURRENT 20
#define PICK_PINGS 3
#define PICK_CONNECT_TIMEOUT_S 1.5 /* TCP, TLS and the websocket upgrade */
#define PICK_PING_TIMEOUT_S 1.0

/* common/gateway_pick.c's listener URL, which our websocket client must be able to parse. */
static int listener_url(const struct ns_topo_node *g, int must_tls, char *out, size_t cap)
{
	ns_ws_url u;
	return ns_gw_listener_url(g, must_tls, out, cap) == 0 && ns_ws_parse_url(out, &u) == 0 ? 0
	                                                                                     : -1;
}

/* ---- latency measurement: websocket pings to every candidate, PICK_CONCURRENT at a time */

struct probe {
	const struct ns_topo_node *node;
	char url[CLIENTCONF_URL_MAX];
	ns_ws_conn *ws;
	ev_timer timer;       /* the running ping's timeout */
	ev_tstamp sent_at;
	int pings, answered;  /* pings sent; pongs that matched */
	double sum_s;         /* their round trips */
	int done;             /* 1 measured (or not), the connection closed or being closed */
	const char *why;      /* why it has no measurement */
	struct pick_run *run;
};

struct pick_run {
	struct ev_loop *loop;
	struct probe *p;
	size_t n, next, active;
};

static const uint8_t ping_payload[3] = { 1, 2, 3 };
static void probe_next_ping(struct probe *p);
static void run_fill(struct pick_run *r);

static void probe_end(struct probe *p, const char *why)
{
	if (p->done)
		return;
	p->done = 1;
	if (why && !p->why)
		p->why = why;
	ev_timer_stop(p->run->loop, &p->timer);
	if (p->ws && ns_ws_close(p->ws, 1000, "") < 0)
		ns_ws_abort(p->ws);
}

static void probe_next_ping(struct probe *p)
{
	if (p->pings == PICK_PINGS) {
		probe_end(p, NULL);
		return;
	}
	p->pings++;
	p->sent_at = ev_time();
	if (ns_ws_ping(p->ws, ping_payload, sizeof ping_payload) < 0) {
		probe_end(p, "ping failed");
		return;
	}
	ev_timer_set(&p->timer, PICK_PING_TIMEOUT_S, 0.);
	ev_timer_start(p->run->loop, &p->timer);
}

static void probe_on_open(ns_ws_conn *c, void *user)
{
	(void)c;
	probe_next_ping(user);
}

static void probe_on_pong(ns_ws_conn *c, const uint8_t *data, size_t len, void *user)
{
	(void)c;
	struct probe *p = user;
	if (p->done || !ev_is_active(&p->timer))
		return;
	ev_timer_stop(p->run->loop, &p->timer);
	if (len == sizeof ping_payload && !memcmp(data, ping_payload, len)) {
		ev_now_update(p->run->loop);
		p->sum_s += ev_time() - p->sent_at;
		p->answered++;
	}
	probe_next_ping(p);
}

static void probe_on_message(ns_ws_conn *c, enum ns_ws_msg_type t, const uint8_t *d, size_t len,
                             void *user)
{
	(void)c, (void)t, (void)d, (void)len, (void)user; /* not a pong: Nym only warns */
}

static void probe_on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	(void)c, (void)code;
	struct probe *p = user;
	p->ws = NULL;
	if (!p->done) /* lost before the pings were over: no measurement, as Nym */
		p->answered = 0;
	probe_end(p, why);
	p->run->active--;
	run_fill(p->run);
}

static void probe_on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	probe_next_ping(w->data); /* Nym: warn and go on with the next ping */
}

static const ns_ws_callbacks probe_cb = { .on_open = probe_on_open,
	                                  .on_message = probe_on_message,
	                                  .on_close = probe_on_close,
	                                  .on_pong = probe_on_pong };

static void run_fill(struct pick_run *r)
{
	ns_ws_limits lim = { .handshake_timeout = PICK_CONNECT_TIMEOUT_S, .close_timeout = 1.0,
		             .max_message_bytes = 64u << 10 };
	while (r->active < PICK_CONCURRENT && r->next < r->n) {
		struct probe *p = &r->p[r->next++];
		int err = 0;
		ev_timer_init(&p->timer, probe_on_timeout, PICK_PING_TIMEOUT_S, 0.);
		p->timer.data = p;
		p->ws = ns_ws_connect(r->loop, p->url, &lim, &probe_cb, p, &err);
		if (!p->ws) {
			p->done = 1;
			p->why = ns_ws_strerror(err);
			continue;
		}
		r->active++;
	}
	if (r->active == 0 && r->next == r->n)
		ev_break(r->loop, EVBREAK_ALL);
}

static void say_latency(const struct probe *p)
{
	char id58[64];
	base58_encode(p->node->identity, 32, id58, sizeof id58);
	if (p->answered)
		fprintf(stderr, "gateway %s (%s): average latency %.3f ms over %d pings\n", id58, p->url,
		        p->sum_s / p->answered * 1e3, p->answered);
	else
		fprintf(stderr, "gateway %s (%s): no latency measurement (%s)\n", id58, p->url,
		        p->why ? p->why : "no pong in time");
}

/* A random double in [0, 1). */
static double random_unit(void)
{
	uint64_t x;
	ns_random(&x, sizeof x);
	return (double)(x >> 11) * 0x1p-53;
}

/* Measures every candidate and draws one weighted by 1/latency; its index, or -1. */
static long pick_by_latency(struct probe *p, size_t n, char *err, size_t errcap)
{
	struct pick_run r = { .loop = ev_loop_new(EVFLAG_AUTO), .p = p, .n = n };
	if (!r.loop) {
		snprintf(err, errcap, "cannot create an event loop");
		return -1;
	}
	fprintf(stderr, "choosing gateway by latency, pinging %zu gateways ...\n", n);
	for (size_t i = 0; i < n; i++)
		p[i].run = &r;
	run_fill(&r);
	if (r.active)
		ev_run(r.loop, 0);
	ev_loop_destroy(r.loop);
	double *weight = calloc(n ? n : 1, sizeof *weight);
	for (size_t i = 0; i < n; i++) {
		say_latency(&p[i]);
		if (weight && p[i].answered) /* 1 / average latency (at least 1 µs) */
			weight[i] = p[i].answered / fmax(p[i].sum_s, 1e-6 * p[i].answered);
	}
	long last = weight ? ns_weighted_pick(weight, n, random_unit()) : -1;
	free(weight);
	if (last < 0) {
		snprintf(err, errcap, "failed to select valid gateway due to incomputable latency "
		                      "(no gateway answered the pings)");
		return -1;
	}
	char id58[64];
	base58_encode(p[last].node->identity, 32, id58, sizeof id58);
	fprintf(stderr, "chose gateway %s with average latency of %.3f ms\n", id58,
	        p[last].sum_s / p[last].answered * 1e3);
	return last;
}

/* ---- candidates */

static int usable(const struct clientconf *c, const struct ns_nymapi_node *g)
{
	return ns_gw_entry_usable(g, c->debug.minimum_gateway_performance);
}

static int pick_among(const struct nc_gateway_pick_opts *o, const struct ns_topo_node **cand,
                      size_t n, size_t *chosen, char *err, size_t errcap)
{
	if (!o->latency_based || o->want_id) { /* Nym: a wanted gateway is taken, not measured */
		*chosen = n > 1 ? ns_random_uniform((uint32_t)n) : 0;
		return 0;
	}
	struct probe *p = calloc(n, sizeof *p);
	struct ns_tls_ctx *tls = NULL;
	int rc = -1;
	size_t m = 0;
	for (size_t i = 0; p && i < n; i++) {
		p[m].node = cand[i];
		if (listener_url(cand[i], o->force_tls, p[m].url, sizeof p[m].url) == 0)
			m++;
	}
	for (size_t i = 0; p && i < m && !tls; i++)
		if (!strncmp(p[i].url, "wss://", 6) && !(tls = ns_tls_client_ctx_new(NULL, err, errcap)))
			goto out;
	ns_ws_set_client_tls(tls);
	long k = p ? pick_by_latency(p, m, err, errcap) : -1;
	ns_ws_set_client_tls(NULL);
	if (k >= 0) {
		for (size_t i = 0; i < n; i++)
			if (cand[i] == p[k].node)
				*chosen = i;
		rc = 0;
	}
out:
	ns_tls_ctx_free(tls);
	free(p);
	if (!p)
		snprintf(err, errcap, "out of memory");
	return rc;
}

static int excluded(const struct nc_gateway_pick_opts *o, const uint8_t id[32])
{
	for (size_t i = 0; i < o->n_exclude; i++)
		if (!memcmp(o->exclude[i], id, 32))
			return 1;
	return 0;
}

/* The entry gateways: the nym-api's (with their performance) or, with --custom-mixnet, the
 * topology file's entry-capable nodes (every one counts as usable, as Nym's init). */
struct pool {
	struct ns_nymapi_page api;
	struct ns_topo topo;
	int from_file;
	char source[CLIENTCONF_PATH_MAX + 32];
};

static int pool_load(const struct clientconf *c, const struct nc_gateway_pick_opts *o,
                     struct pool *p, char *err, size_t errcap)
{
	char why[512] = "";
	memset(p, 0, sizeof *p);
	if (!o->custom_mixnet) {
		struct ns_apis api;
		ns_apis_init(&api, c);
		snprintf(p->source, sizeof p->source, "%s", ns_apis_url(&api));
		if (nc_api_gateways(&api, &p->api, why, sizeof why) < 0) {
			snprintf(err, errcap, "cannot get the gateways from the nym-api: %s", why);
			return -1;
		}
		return 0;
	}
	p->from_file = 1;
	snprintf(p->source, sizeof p->source, "%s", o->custom_mixnet);
	if (ns_topo_load_file(o->custom_mixnet, &p->topo, why, sizeof why) < 0) {
		snprintf(err, errcap, "failed to load custom topology using path '%s'. detailed "
		         "message: %s", o->custom_mixnet, why);
		return -1;
	}
	return 0;
}

static void pool_free(struct pool *p)
{
	if (p->from_file)
		ns_topo_free(&p->topo);
	else
		ns_nymapi_page_free(&p->api);
}

static size_t pool_size(const struct pool *p)
{
	return p->from_file ? p->topo.n_nodes : p->api.n_nodes;
}

/* Node i if it may be a candidate, else NULL. */
static const struct ns_topo_node *pool_node(const struct clientconf *c, const struct pool *p,
                                            size_t i)
{
	if (!p->from_file)
		return usable(c, &p->api.nodes[i]) ? &p->api.nodes[i].n : NULL;
	const struct ns_topo_node *g = &p->topo.nodes[i];
	return g->mixnet_entry && g->has_entry && g->clients_ws_port ? g : NULL;
}

int nc_gateway_pick(const struct clientconf *c, const struct nc_gateway_pick_opts *o,
                    uint8_t identity[32], char *listener, size_t listener_cap,
                    char *err, size_t errcap)
{
	uint8_t wanted[32];
	const char *want = o->want_id;
	if (want && base58_decode(want, wanted, sizeof wanted) != 32) {
		snprintf(err, errcap, "bad gateway identity %s", want);
		return -1;
	}
	struct pool pool;
	if (pool_load(c, o, &pool, err, errcap) < 0)
		return -1;
	size_t total = pool_size(&pool), n = 0, chosen = 0, n_excluded = 0;
	const struct ns_topo_node **cand = calloc(total ? total : 1, sizeof *cand);
	for (size_t i = 0; cand && i < total; i++) {
		const struct ns_topo_node *g = pool_node(c, &pool, i);
		if (g && excluded(o, g->identity)) {
			n_excluded++;
			continue;
		}
		if (g && (!want || !memcmp(g->identity, wanted, 32)) &&
		    (!o->force_tls || g->has_wss_port || want))
			cand[n++] = g;
	}
	int rc = -1;
	if (!cand)
		snprintf(err, errcap, "out of memory");
	else if (n == 0 && want)
		snprintf(err, errcap, "no gateway with id: %s (among the %zu entry gateways of %s)", want,
		         total, pool.source);
	else if (n == 0 && n_excluded)
		snprintf(err, errcap, "there are no more new gateways on the network - it seems this "
		                      "client has already registered with all nodes it could have");
	else if (n == 0)
		snprintf(err, errcap, o->force_tls
		         ? "there are no gateways supporting the wss protocol available (among the %zu "
		           "entry gateways of %s)"
		         : "no usable gateway among the %zu entry gateways of %s",
		         total, pool.source);
	else if (want && o->force_tls && listener_url(cand[0], 1, listener, listener_cap) < 0)
		snprintf(err, errcap, "the specified gateway '%s' does not support the wss protocol",
		         want);
	else if (pick_among(o, cand, n, &chosen, err, errcap) == 0) {
		if (listener_url(cand[chosen], o->force_tls, listener, listener_cap) == 0) {
			memcpy(identity, cand[chosen]->identity, 32);
			rc = 0;
		} else {
			char id58[64];
			base58_encode(cand[chosen]->identity, 32, id58, sizeof id58);
			snprintf(err, errcap, o->force_tls
			         ? "the specified gateway '%s' does not support the wss protocol"
			         : "gateway %s has no usable client listener", id58);
		}
	}
	free(cand);
	pool_free(&pool);
	return rc;
}
