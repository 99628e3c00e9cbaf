/* The in-order completion ring of keyd's build jobs (keyd_pool.c): jobs enter in the order
 * their requests came, are claimed and completed in any order (several threads), and leave
 * only in the order they entered. Bounded: a full ring refuses a job (the caller keeps it
 * waiting), nothing is dropped. Not locked: the pool holds its mutex around every call. */
#ifndef NC_KEYD_RING_H
#define NC_KEYD_RING_H
#include <stddef.h>
#include <stdint.h>

struct nc_ring {
	void **job;
	uint8_t *state; /* per slot: free, queued, claimed, done */
	size_t cap;
	size_t head;    /* the oldest job (the next to leave) */
	size_t count;   /* jobs in the ring, whatever their state */
	size_t claim;   /* slots from head up to here are claimed or done */
};

/* 0, or -1 without memory. cap >= 1. */
int nc_ring_init(struct nc_ring *r, size_t cap);
void nc_ring_free(struct nc_ring *r);
/* The job's slot, or -1 if the ring is full. */
long nc_ring_push(struct nc_ring *r, void *job);
/* The oldest queued job's slot (now claimed) and *job, or -1 if none waits. */
long nc_ring_claim(struct nc_ring *r, void **job);
/* A claimed slot's job is done. */
void nc_ring_complete(struct nc_ring *r, long slot);
/* The oldest job if it is done (its slot is then free), else NULL (also when an older job
 * is not done yet). */
void *nc_ring_pop(struct nc_ring *r);
/* 1 if some job waits to be claimed. */
int nc_ring_has_queued(const struct nc_ring *r);

#endif
