/* keyd's in-order completion ring (keyd_ring.h). */
#include "keyd_ring.h"

#include <stdlib.h>

enum { SLOT_FREE, SLOT_QUEUED, SLOT_CLAIMED, SLOT_DONE };

int nc_ring_init(struct nc_ring *r, size_t cap)
{
	*r = (struct nc_ring){ .cap = cap };
	r->job = cap ? calloc(cap, sizeof *r->job) : NULL;
	r->state = cap ? calloc(cap, 1) : NULL;
	if (!r->job || !r->state) {
		nc_ring_free(r);
		return -1;
	}
	return 0;
}

void nc_ring_free(struct nc_ring *r)
{
	free(r->job);
	free(r->state);
	*r = (struct nc_ring){ 0 };
}

long nc_ring_push(struct nc_ring *r, void *job)
{
	if (r->count == r->cap)
		return -1;
	size_t slot = (r->head + r->count) % r->cap;
	r->job[slot] = job;
	r->state[slot] = SLOT_QUEUED;
	r->count++;
	return (long)slot;
}

/* Jobs are claimed in the order they entered: claim counts the claimed ones from head. */
long nc_ring_claim(struct nc_ring *r, void **job)
{
	if (r->claim >= r->count)
		return -1;
	size_t slot = (r->head + r->claim) % r->cap;
	r->claim++;
	r->state[slot] = SLOT_CLAIMED;
	*job = r->job[slot];
	return (long)slot;
}

void nc_ring_complete(struct nc_ring *r, long slot)
{
	if (slot >= 0 && (size_t)slot < r->cap && r->state[slot] == SLOT_CLAIMED)
		r->state[slot] = SLOT_DONE;
}

void *nc_ring_pop(struct nc_ring *r)
{
	if (!r->count || r->state[r->head] != SLOT_DONE)
		return NULL;
	void *job = r->job[r->head];
	r->job[r->head] = NULL;
	r->state[r->head] = SLOT_FREE;
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->claim--; /* a done job was claimed */
	return job;
}

int nc_ring_has_queued(const struct nc_ring *r)
{
	return r->claim < r->count;
}
