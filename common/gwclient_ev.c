/* gwclient on a libev loop (gwclient.h): its three timers as ev_timers, and the websocket
 * transport of common/websocket.h. */
#include <ev.h>
#include <stdlib.h>

#include "crypto.h"
#include "gwclient.h"
#include "websocket.h"

struct gwc_ev {
	struct ev_loop *loop;
	ev_timer t[NS_GWC_TIMERS];
	struct ns_gwc *c;
};

static double ev_clock_now(void *ctx)
{
	struct gwc_ev *h = ctx;
	return ev_now(h->loop);
}

static void ev_clock_start(void *ctx, unsigned id, double after)
{
	struct gwc_ev *h = ctx;
	ev_timer_stop(h->loop, &h->t[id]);
	ev_timer_set(&h->t[id], after, 0.);
	ev_timer_start(h->loop, &h->t[id]);
}

static void ev_clock_stop(void *ctx, unsigned id)
{
	struct gwc_ev *h = ctx;
	ev_timer_stop(h->loop, &h->t[id]);
}

static void ev_clock_release(void *ctx)
{
	struct gwc_ev *h = ctx;
	for (unsigned i = 0; i < NS_GWC_TIMERS; i++)
		ev_timer_stop(h->loop, &h->t[i]);
	free(h);
}

static void on_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct gwc_ev *h = w->data;
	ns_gwc_timer(h->c, (unsigned)(w - h->t));
}

struct ns_gwc *ns_gwc_new(struct ev_loop *loop, const struct ns_gwc_config *cfg,
                          const struct ns_gwc_ops *ops, void *ops_ctx,
                          const struct ns_gwc_transport *tr, void *tr_ctx,
                          const struct ns_gwc_callbacks *cb, void *user)
{
	struct gwc_ev *h = loop ? calloc(1, sizeof *h) : NULL;
	if (!h)
		return NULL;
	h->loop = loop;
	for (unsigned i = 0; i < NS_GWC_TIMERS; i++) {
		ev_timer_init(&h->t[i], on_ev_timer, 1., 0.);
		h->t[i].data = h;
	}
	struct ns_gwc_clock clk = { .now = ev_clock_now, .timer_start = ev_clock_start,
		                    .timer_stop = ev_clock_stop, .release = ev_clock_release,
		                    .ctx = h };
	struct ns_gwc *c = ns_gwc_new_clocked(&clk, cfg, ops, ops_ctx, tr, tr_ctx, cb, user);
	if (!c)
		free(h);
	else
		h->c = c;
	return c;
}

struct ev_loop *ns_gwc_loop(const struct ns_gwc *c)
{
	const struct ns_gwc_clock *k = ns_gwc_clock(c);
	return k->now == ev_clock_now ? ((struct gwc_ev *)k->ctx)->loop : NULL;
}

/* ---- the websocket transport */

static void ws_on_open(ns_ws_conn *w, void *user)
{
	ns_gwc_tr_open(user, w);
}

static void ws_on_message(ns_ws_conn *w, enum ns_ws_msg_type type, const uint8_t *data,
                          size_t len, void *user)
{
	ns_gwc_tr_message(user, w, type == NS_WS_BINARY, data, len);
}

static void ws_on_close(ns_ws_conn *w, int code, const char *why, void *user)
{
	ns_gwc_tr_closed(user, w, code, why);
}

static void ws_on_pong(ns_ws_conn *w, const uint8_t *data, size_t len, void *user)
{
	(void)data;
	(void)len;
	ns_gwc_tr_pong(user, w);
}

static const ns_ws_callbacks ws_callbacks = { .on_open = ws_on_open, .on_message = ws_on_message,
	                                      .on_close = ws_on_close, .on_pong = ws_on_pong };

static void *ws_connect(void *tctx, struct ns_gwc *c, const char *url)
{
	(void)tctx;
	int err = 0;
	ns_ws_conn *w = ns_ws_connect(ns_gwc_loop(c), url, NULL, &ws_callbacks, c, &err);
	if (!w)
		ns_gwc_tr_connect_failed(c, ns_ws_strerror(err));
	return w;
}

static int ws_send(void *tctx, void *h, int binary, const uint8_t *data, size_t len)
{
	(void)tctx;
	return ns_ws_send(h, binary ? NS_WS_BINARY : NS_WS_TEXT, data, len);
}

static int ws_ping(void *tctx, void *h)
{
	(void)tctx;
	uint8_t tag[8];
	ns_random(tag, sizeof tag);
	return ns_ws_ping(h, tag, sizeof tag);
}

static void ws_close(void *tctx, void *h, int graceful)
{
	(void)tctx;
	ns_ws_set_user(h, NULL); /* the events of a dropped connection go nowhere */
	if (!graceful || ns_ws_close(h, 1000, "") < 0)
		ns_ws_abort(h);
}

const struct ns_gwc_transport *ns_gwc_ws_transport(void)
{
	static const struct ns_gwc_transport tr = { .connect = ws_connect, .send = ws_send,
		                                    .ping = ws_ping, .close = ws_close };
	return &tr;
}
