/* libev binding of the traffic engine: see traffic_ev.h. */
#include "traffic_ev.h"

#include <time.h>

uint64_t ns_traffic_monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ns_traffic_ev *b = w->data;

	(void)loop;
	(void)revents;
	b->runs++;
	ns_traffic_run(b->t);
	ns_traffic_ev_rearm(b);
}

void ns_traffic_ev_rearm(struct ns_traffic_ev *b)
{
	uint64_t next, now;
	double after;

	if (!b->t)
		return;
	ev_timer_stop(b->loop, &b->timer);
	next = ns_traffic_next_deadline(b->t);
	if (next == UINT64_MAX)
		return;
	now = ns_traffic_now(b->t);
	after = next > now ? (double)(next - now) / 1e9 : 0.0;
	ev_timer_set(&b->timer, after, 0.0);
	ev_timer_start(b->loop, &b->timer);
}

void ns_traffic_ev_start(struct ns_traffic_ev *b, struct ev_loop *loop, struct ns_traffic *t)
{
	b->loop = loop;
	b->t = t;
	b->runs = 0;
	ev_timer_init(&b->timer, on_timer, 0.0, 0.0);
	b->timer.data = b;
	ns_traffic_start(t);
	ns_traffic_ev_rearm(b);
}

void ns_traffic_ev_stop(struct ns_traffic_ev *b)
{
	if (b->loop)
		ev_timer_stop(b->loop, &b->timer);
	b->t = NULL;
}
