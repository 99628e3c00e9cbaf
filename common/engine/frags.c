/* The engine's unacknowledged fragments (frags.h). Both indexes are chained hash tables
 * that double when they hold as many entries as chains; a failed doubling keeps the old
 * table (longer chains, still correct). Fragment ids and lanes are our own numbers (random
 * set ids, connection ids), not a stranger's choice, so an unkeyed hash does. */
#include "engine/frags.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_BUCKETS 64

struct ns_frag_lane {
	struct ns_frag_lane *next;
	uint64_t lane;
	size_t unacked, queued;
};

static size_t mix64(uint64_t v, size_t buckets)
{
	v *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(v >> 32) & (buckets - 1);
}

static size_t id_slot(const uint8_t id[NS_FRAG_ID_LEN], size_t buckets)
{
	uint64_t v = 0;
	for (size_t i = 0; i < NS_FRAG_ID_LEN; i++)
		v |= (uint64_t)id[i] << (8 * i);
	return mix64(v, buckets);
}

void ns_frags_init(struct ns_frags *t)
{
	memset(t, 0, sizeof *t);
}

void ns_frags_clear(struct ns_frags *t)
{
	for (size_t i = 0; i < t->lane_buckets; i++)
		for (struct ns_frag_lane *l = t->lanes[i], *n; l; l = n) {
			n = l->next;
			free(l);
		}
	free(t->lanes);
	free(t->by_id);
	ns_frags_init(t);
}

/* ---- the index by id */

static void id_link(struct frag **chains, size_t buckets, struct frag *f)
{
	struct frag **c = &chains[id_slot(f->id, buckets)];
	f->id_next = *c;
	*c = f;
}

/* Room for one more: the first table, or twice the chains once they are all used. */
static int id_reserve(struct ns_frags *t)
{
	if (t->id_buckets && t->count < t->id_buckets)
		return 0;
	size_t n = t->id_buckets ? t->id_buckets * 2 : FIRST_BUCKETS;
	struct frag **chains = n > SIZE_MAX / sizeof *chains ? NULL : calloc(n, sizeof *chains);
	if (!chains)
		return t->id_buckets ? 0 : -1;
	for (struct frag *f = t->head; f; f = f->next)
		id_link(chains, n, f);
	free(t->by_id);
	t->by_id = chains;
	t->id_buckets = n;
	return 0;
}

struct frag *ns_frags_find(const struct ns_frags *t, const uint8_t id[NS_FRAG_ID_LEN])
{
	if (!t->id_buckets)
		return NULL;
	struct frag *f = t->by_id[id_slot(id, t->id_buckets)];
	while (f && memcmp(f->id, id, NS_FRAG_ID_LEN))
		f = f->id_next;
	return f;
}

static void id_unlink(struct ns_frags *t, struct frag *f)
{
	struct frag **c = &t->by_id[id_slot(f->id, t->id_buckets)];
	while (*c && *c != f)
		c = &(*c)->id_next;
	if (*c)
		*c = f->id_next;
}

/* ---- the counts per lane */

static struct ns_frag_lane **lane_slot(const struct ns_frags *t, uint64_t lane)
{
	struct ns_frag_lane **c = &t->lanes[mix64(lane, t->lane_buckets)];
	while (*c && (*c)->lane != lane)
		c = &(*c)->next;
	return c;
}

static struct ns_frag_lane *lane_find(const struct ns_frags *t, uint64_t lane)
{
	return t->lane_buckets ? *lane_slot(t, lane) : NULL;
}

static void lanes_grow(struct ns_frags *t)
{
	size_t n = t->lane_buckets ? t->lane_buckets * 2 : FIRST_BUCKETS;
	struct ns_frag_lane **chains = n > SIZE_MAX / sizeof *chains ? NULL : calloc(n, sizeof *chains);
	if (!chains)
		return;
	for (size_t i = 0; i < t->lane_buckets; i++)
		for (struct ns_frag_lane *l = t->lanes[i], *next; l; l = next) {
			next = l->next;
			struct ns_frag_lane **c = &chains[mix64(l->lane, n)];
			l->next = *c;
			*c = l;
		}
	free(t->lanes);
	t->lanes = chains;
	t->lane_buckets = n;
}

static struct ns_frag_lane *lane_get(struct ns_frags *t, uint64_t lane)
{
	struct ns_frag_lane *l = lane_find(t, lane);
	if (l)
		return l;
	if (t->n_lanes >= t->lane_buckets)
		lanes_grow(t);
	if (!t->lane_buckets || !(l = calloc(1, sizeof *l)))
		return NULL;
	struct ns_frag_lane **c = &t->lanes[mix64(lane, t->lane_buckets)];
	l->lane = lane;
	l->next = *c;
	*c = l;
	t->n_lanes++;
	return l;
}

static void lane_put(struct ns_frags *t, struct ns_frag_lane *l)
{
	if (l->unacked)
		return;
	struct ns_frag_lane **c = lane_slot(t, l->lane);
	*c = l->next;
	free(l);
	t->n_lanes--;
}

size_t ns_frags_lane_unacked(const struct ns_frags *t, uint64_t lane)
{
	const struct ns_frag_lane *l = lane_find(t, lane);
	return l ? l->unacked : 0;
}

size_t ns_frags_lane_queued(const struct ns_frags *t, uint64_t lane)
{
	const struct ns_frag_lane *l = lane_find(t, lane);
	return l ? l->queued : 0;
}

/* ---- fragments in and out */

int ns_frags_add(struct ns_frags *t, struct frag *f)
{
	struct ns_frag_lane *l;
	if (id_reserve(t) != 0 || !(l = lane_get(t, f->lane)))
		return -1;
	l->unacked++;
	l->queued += f->queued != 0;
	id_link(t->by_id, t->id_buckets, f);
	f->prev = NULL;
	f->next = t->head;
	if (t->head)
		t->head->prev = f;
	t->head = f;
	t->count++;
	return 0;
}

void ns_frags_remove(struct ns_frags *t, struct frag *f)
{
	struct ns_frag_lane *l = lane_find(t, f->lane);
	if (l) {
		l->unacked--;
		l->queued -= f->queued != 0;
		lane_put(t, l);
	}
	id_unlink(t, f);
	if (f->prev)
		f->prev->next = f->next;
	else
		t->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	f->next = f->prev = f->id_next = NULL;
	t->count--;
}

void ns_frags_set_queued(struct ns_frags *t, struct frag *f, int queued)
{
	struct ns_frag_lane *l = lane_find(t, f->lane);
	queued = queued != 0;
	if (l && queued != (f->queued != 0))
		l->queued = queued ? l->queued + 1 : l->queued - 1;
	f->queued = (uint8_t)queued;
}

int ns_frags_move_lane(struct ns_frags *t, uint64_t from, uint64_t to)
{
	struct ns_frag_lane *src = lane_find(t, from), *dst;
	if (!src || from == to)
		return 0;
	if (!(dst = lane_get(t, to)))
		return -1;
	dst->unacked += src->unacked;
	dst->queued += src->queued;
	src->unacked = src->queued = 0;
	lane_put(t, src);
	for (struct frag *f = t->head; f; f = f->next)
		if (f->lane == from)
			f->lane = to;
	return 0;
}
