/* One memory budget shared by many connections (apid's websocket and Unix-socket apps): each
 * owner reports what it holds (queued output, partial input); when the sum is over the limit,
 * owners that hold anything stop reading until it is below again. Reads are then possible
 * only for owners that hold nothing, one small chunk at a time, so the total stays under
 * limit + owners x chunk. Not thread-safe. */
#ifndef NS_MEMBUDGET_H
#define NS_MEMBUDGET_H
#include <stddef.h>

struct ns_membudget {
	size_t limit, used, peak;
	unsigned long long paused; /* times an owner was stopped from reading by the budget */
	/* optional: told when an owner is stopped, with the bytes that would have to fit on top
	 * of `used` for it to read again (apid makes room by closing apps that do not read) */
	void (*on_pressure)(size_t need, void *ctx);
	void *pressure_ctx;
};

void ns_membudget_init(struct ns_membudget *b, size_t limit);
/* An owner that was charged *charged bytes now holds now: moves the total, stores now. */
void ns_membudget_set(struct ns_membudget *b, size_t *charged, size_t now);
/* 1 if an owner holding now bytes (charged as *charged so far) may read more. b may be NULL. */
int ns_membudget_may_read(const struct ns_membudget *b, size_t charged, size_t now);
/* An owner (charged, now as above) was stopped from reading: counts it, calls on_pressure. */
void ns_membudget_paused(struct ns_membudget *b, size_t charged, size_t now);

#endif
