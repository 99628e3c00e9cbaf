/* The engine's native host (engine.h, ns_engine_start): the front's socketpair ends with
 * keyd, netd and the supervisor as libev connections, the log flush timer, and what a lost
 * peer means for the process (hand the queue over, exit). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <ev.h>

#include "engine/engine.h"
#include "ipc.h"
#include "log.h"
#include "nymclient.h"

struct engine_ev {
	struct ev_loop *loop;
	struct ns_ipc_conn keyd, netd, sup;
	struct ns_engine *e;
	const struct ns_engine_cb *cb;
	void *ctx;
	ev_timer log_flush; /* the counts of rate-limited log lines (common/log.h) */
};

/* The front's name in log lines: apid, socksd or exitd. */
static const char *front(void)
{
	return nc_kind ? nc_kind->front : "front";
}

static struct ns_ipc_conn *conn_of(struct engine_ev *g, enum ns_ipc_role peer)
{
	return peer == NS_IPC_KEYD ? &g->keyd : peer == NS_IPC_NETD ? &g->netd : &g->sup;
}

/* nc_send: a failed send ends the process (after the front's last words: on_peer_lost). */
static int host_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	nc_send(conn_of(ctx, peer), m);
	return 0;
}

static void on_message(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	struct engine_ev *g = ctx;
	if (m->type == NS_IPC_T_STATUS_REPLY) {
		if (g->cb->on_status_reply)
			g->cb->on_status_reply(c, m, g->ctx);
	} else if (m->type == NS_IPC_T_EXIT_POLICY_TEXT || m->type == NS_IPC_T_EXIT_POLICY_END) {
		if (g->cb->on_front_message)
			g->cb->on_front_message(c, m, g->ctx);
		else
			ns_log(NS_LOG_WARN, front(), "%s is not for this program (ignored)",
			       ns_ipc_type_name(m->type));
	} else {
		ns_engine_deliver(g->e, c->peer, m);
	}
}

/* The types the engine or the front handles go to on_message; any other is a fatal
 * NS_IPC_ENOHANDLER on the conn (common/ipc.c). */
static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];

static void handlers_init(void)
{
	for (uint64_t t = 0; t < NS_IPC_TYPE_LIMIT; t++)
		if (ns_engine_handles(t) || t == NS_IPC_T_STATUS_REPLY ||
		    t == NS_IPC_T_EXIT_POLICY_TEXT || t == NS_IPC_T_EXIT_POLICY_END)
			handlers[t] = on_message;
}

/* keyd or netd went away: the suite is stopping. Hand the queue to the supervisor now, on
 * our own (it takes a list at any time), since nothing can be sent or acked any more. */
static void on_peer_lost(struct ns_ipc_conn *c, int err, void *ctx)
{
	struct engine_ev *g = ctx;
	ns_log(NS_LOG_ERROR, front(), "IPC with %s failed: %s; handing the unacknowledged fragments over",
	       ns_ipc_role_name(c->peer), ns_ipc_strerror(err));
	ns_engine_hand_over(g->e);
	ns_ipc_conn_flush(&g->sup);
	fflush(NULL);
	_exit(err == NS_IPC_EEOF ? 0 : 1);
}

static void on_log_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	ns_log_flush(0);
}

struct ns_engine *ns_engine_start(struct ev_loop *loop, int keyd_fd, int netd_fd, int sup_fd,
                                  const struct ns_engine_cb *cb, void *ctx)
{
	struct engine_ev *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	struct ns_ipc_host host = { .send = host_send, .ctx = g };
	if (!(g->e = ns_engine_new(&host, front(), cb, ctx))) {
		free(g);
		return NULL;
	}
	g->loop = loop;
	g->cb = cb;
	g->ctx = ctx;
	handlers_init();
	ns_ipc_conn_start(&g->keyd, loop, keyd_fd, NS_IPC_APID, NS_IPC_KEYD, handlers, on_peer_lost, g);
	ns_ipc_conn_start(&g->netd, loop, netd_fd, NS_IPC_APID, NS_IPC_NETD, handlers, on_peer_lost, g);
	ns_ipc_conn_start(&g->sup, loop, sup_fd, NS_IPC_APID, NS_IPC_SUPERVISOR, handlers,
	                  nc_ipc_fatal, g);
	ev_timer_init(&g->log_flush, on_log_flush, NS_LOG_WINDOW_S / 2, NS_LOG_WINDOW_S / 2);
	ev_timer_start(loop, &g->log_flush);
	ev_unref(loop); /* the flush alone keeps the loop from nothing */
	/* keyd sends the fragments of a batch of frames together: take them in one wake-up */
	ns_ipc_conn_set_priority(&g->keyd, 0, 32);
	if (ns_ipc_conn_set_cork(&g->keyd, 1) != 0 || ns_ipc_conn_set_cork(&g->netd, 1) != 0) {
		ns_engine_free(g->e);
		return NULL;
	}
	return g->e;
}

void ns_engine_free(struct ns_engine *e)
{
	if (!e)
		return;
	struct engine_ev *g = ns_engine_host(e)->ctx;
	ns_ipc_conn_flush(&g->sup); /* the last answers to the supervisor (stats, unsent fragments) */
	ev_ref(g->loop);
	ev_timer_stop(g->loop, &g->log_flush);
	ns_ipc_conn_stop(&g->keyd);
	ns_ipc_conn_stop(&g->netd);
	ns_ipc_conn_stop(&g->sup);
	ns_ipc_conn_discard_queue(&g->keyd);
	ns_ipc_conn_discard_queue(&g->netd);
	ns_ipc_conn_set_cork(&g->keyd, 0); /* frees the (now empty) cork buffers */
	ns_ipc_conn_set_cork(&g->netd, 0);
	ns_engine_destroy(e);
	free(g);
}

struct ns_ipc_conn *ns_engine_peer(struct ns_engine *e, enum ns_engine_peer which)
{
	struct engine_ev *g = ns_engine_host(e)->ctx;
	return which == NS_ENGINE_KEYD ? &g->keyd : which == NS_ENGINE_NETD ? &g->netd : &g->sup;
}
