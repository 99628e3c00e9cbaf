/* The engine's unacknowledged fragments (engine.c): a list, newest first, for the walks
 * that visit them all (persistence, stats, a closed lane), an index by fragment id, and
 * counts per lane, so that an ack, a FRAMES_SENT and a front's backpressure poll cost the
 * same with 10 fragments in flight as with 100,000.
 *
 * The table owns no fragment: the engine allocates and frees them. Portable (no libev). */
#ifndef NS_ENGINE_FRAGS_H
#define NS_ENGINE_FRAGS_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/address.h"

#define NS_FRAG_ID_LEN 5

/* A fragment kept until its ack: to a recipient (BUILD_PACKET), or, when reply is set, to
 * the holder of sender_tag through one of its SURBs (BUILD_REPLY; cannot outlive keyd).
 * lane and queued are the table's to change (ns_frags_set_queued, ns_frags_move_lane). */
struct frag {
	struct frag *next, *prev; /* the list, newest first */
	struct frag *id_next;     /* the index's chain */
	uint8_t id[NS_FRAG_ID_LEN], recipient[96];
	uint8_t reply, sender_tag[NYM_SENDER_TAG_LEN];
	uint8_t queued; /* built or waiting in keyd / netd, not yet handed to the gateway */
	uint64_t lane;
	uint64_t msg;  /* the message it belongs to */
	void *owner;   /* told if it cannot be built (NULL: nobody) */
	size_t len;
	uint8_t data[];
};

struct ns_frag_lane; /* a lane's counts (frags.c) */

struct ns_frags {
	struct frag *head;
	size_t count;
	struct frag **by_id; /* id_buckets chains */
	size_t id_buckets;   /* a power of two, or 0 before the first add */
	struct ns_frag_lane **lanes; /* lane_buckets chains of the lanes with fragments */
	size_t lane_buckets, n_lanes;
};

/* An empty table (no allocation until the first add). */
void ns_frags_init(struct ns_frags *t);
/* Frees the index and the lane counts; the fragments are the caller's (free them first:
 * while ((f = t->head)) { ns_frags_remove(t, f); free(f); }). */
void ns_frags_clear(struct ns_frags *t);
/* Adds f (its id, lane and queued set) at the head. -1, f not added: out of memory. */
int ns_frags_add(struct ns_frags *t, struct frag *f);
/* Takes f out (not freed). */
void ns_frags_remove(struct ns_frags *t, struct frag *f);
/* The fragment with this id, or NULL. */
struct frag *ns_frags_find(const struct ns_frags *t, const uint8_t id[NS_FRAG_ID_LEN]);
void ns_frags_set_queued(struct ns_frags *t, struct frag *f, int queued);
/* Every fragment of lane `from` to lane `to`. -1, nothing moved: out of memory. */
int ns_frags_move_lane(struct ns_frags *t, uint64_t from, uint64_t to);
/* The lane's fragments, and those of them still queued. */
size_t ns_frags_lane_unacked(const struct ns_frags *t, uint64_t lane);
size_t ns_frags_lane_queued(const struct ns_frags *t, uint64_t lane);

#endif
