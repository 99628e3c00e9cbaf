/* See membudget.h. */
#include "membudget.h"

void ns_membudget_init(struct ns_membudget *b, size_t limit)
{
	b->limit = limit;
	b->used = b->peak = 0;
	b->paused = 0;
	b->on_pressure = NULL;
	b->pressure_ctx = NULL;
}

void ns_membudget_set(struct ns_membudget *b, size_t *charged, size_t now)
{
	b->used = b->used - *charged + now;
	*charged = now;
	if (b->used > b->peak)
		b->peak = b->used;
}

int ns_membudget_may_read(const struct ns_membudget *b, size_t charged, size_t now)
{
	if (!b)
		return 1;
	return now == 0 || b->used - charged + now < b->limit;
}

void ns_membudget_paused(struct ns_membudget *b, size_t charged, size_t now)
{
	b->paused++;
	if (!b->on_pressure)
		return;
	b->on_pressure((now > charged ? now - charged : 0) + 1, b->pressure_ctx);
}
