/* SIGTERM / SIGINT stop the loop; SIGPIPE is ignored (writes report EPIPE instead). */
#include <signal.h>
#include <stdlib.h>

#include "node/node.h"

struct ns_signals {
	struct ev_loop *loop;
	ev_signal term, intr;
	void (*on_stop)(void *ctx, int signum);
	void *ctx;
};

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	struct ns_signals *s = w->data;
	if (s->on_stop)
		s->on_stop(s->ctx, w->signum);
	else
		ev_break(loop, EVBREAK_ALL);
}

struct ns_signals *ns_signals_new(struct ev_loop *loop, void (*on_stop)(void *ctx, int signum),
                                  void *ctx)
{
	if (!loop)
		return NULL;
	struct ns_signals *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->loop = loop;
	s->on_stop = on_stop;
	s->ctx = ctx;
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&s->term, on_signal, SIGTERM);
	ev_signal_init(&s->intr, on_signal, SIGINT);
	s->term.data = s->intr.data = s;
	ev_signal_start(loop, &s->term);
	ev_signal_start(loop, &s->intr);
	return s;
}

void ns_signals_free(struct ns_signals *s)
{
	if (!s)
		return;
	ev_signal_stop(s->loop, &s->term);
	ev_signal_stop(s->loop, &s->intr);
	free(s);
}
