/* libev binding of the traffic engine (traffic.h): one ev_timer kept armed at the
 * engine's next deadline. Call ns_traffic_ev_rearm from hooks.schedule_changed (or
 * after any engine call) so new work is picked up. */
#ifndef NS_TRAFFIC_EV_H
#define NS_TRAFFIC_EV_H
#include <ev.h>
#include <stdint.h>

#include "traffic.h"

struct ns_traffic_ev {
	struct ev_loop *loop;
	ev_timer timer;
	struct ns_traffic *t;
	uint64_t runs; /* timer callbacks that ran the engine */
};

/* CLOCK_MONOTONIC in nanoseconds; a ready hooks.now_ns (ctx unused). */
uint64_t ns_traffic_monotonic_ns(void *ctx);

/* Starts the engine's streams (ns_traffic_start) and arms the timer. */
void ns_traffic_ev_start(struct ns_traffic_ev *b, struct ev_loop *loop, struct ns_traffic *t);
void ns_traffic_ev_rearm(struct ns_traffic_ev *b);
void ns_traffic_ev_stop(struct ns_traffic_ev *b);

#endif
