/* Replay-tag set: tags stored densely in insertion order, found through an open-addressing
 * index (linear probing) whose slots hold entry index + 1. The bucket hash is BLAKE2b keyed
 * with a random key, so a sender who knows its packets' tags cannot aim them at one chain.
 * One mutex guards the whole set: the mix node's workers share it, and a lookup + insert is
 * well under a microsecond against ~85 us of Sphinx work per packet, so sharding would not
 * pay for its code. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "node/node.h"

#define TAG_LEN SPHINX_REPLAY_TAG_LEN

struct ns_replay_set {
	uint8_t (*tags)[TAG_LEN];
	size_t count, tags_alloc, cap;
	uint32_t *index;            /* 0 = empty, else entry + 1 */
	size_t slots;               /* power of two */
	uint8_t hash_key[16];
	pthread_mutex_t lock;
};

static uint64_t bucket_hash(const struct ns_replay_set *s, const uint8_t *tag)
{
	uint8_t h[8];
	ns_blake2b(h, sizeof h, tag, TAG_LEN, s->hash_key, sizeof s->hash_key);
	return ns_get_be64(h);
}

/* Slot holding tag, or the empty slot where it would go. */
static size_t find_slot(const struct ns_replay_set *s, const uint8_t *tag, uint64_t hash)
{
	size_t mask = s->slots - 1, i = (size_t)hash & mask;
	while (s->index[i] != 0 && memcmp(s->tags[s->index[i] - 1], tag, TAG_LEN) != 0)
		i = (i + 1) & mask;
	return i;
}

static int rebuild_index(struct ns_replay_set *s, size_t slots)
{
	uint32_t *idx = calloc(slots, sizeof *idx);
	if (!idx)
		return NS_NODE_ERR_NOMEM;
	free(s->index);
	s->index = idx;
	s->slots = slots;
	for (size_t e = 0; e < s->count; e++)
		idx[find_slot(s, s->tags[e], bucket_hash(s, s->tags[e]))] = (uint32_t)(e + 1);
	return 0;
}

struct ns_replay_set *ns_replay_set_new(size_t cap)
{
	if (cap == 0 || cap > (1u << 30))
		return NULL;
	struct ns_replay_set *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cap = cap;
	ns_random(s->hash_key, sizeof s->hash_key);
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	if (rebuild_index(s, 1024) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

static int make_room(struct ns_replay_set *s)
{
	if (s->count == s->tags_alloc) {
		size_t n = s->tags_alloc ? s->tags_alloc * 2 : 256;
		if (n > s->cap)
			n = s->cap;
		void *t = realloc(s->tags, n * TAG_LEN);
		if (!t)
			return NS_NODE_ERR_NOMEM;
		s->tags = t;
		s->tags_alloc = n;
	}
	if ((s->count + 1) * 2 > s->slots)   /* keep the load factor at most 1/2 */
		return rebuild_index(s, s->slots * 2);
	return 0;
}

static int insert_locked(struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	uint64_t h = bucket_hash(s, tag);
	size_t slot = find_slot(s, tag, h);
	if (s->index[slot] != 0)
		return NS_REPLAY_SEEN;
	if (s->count >= s->cap)
		return NS_NODE_ERR_FULL;
	size_t old_slots = s->slots;
	int rc = make_room(s);
	if (rc != 0)
		return rc;
	if (s->slots != old_slots)
		slot = find_slot(s, tag, h);
	memcpy(s->tags[s->count], tag, TAG_LEN);
	s->index[slot] = (uint32_t)(++s->count);
	return NS_REPLAY_NEW;
}

int ns_replay_set_insert(struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return NS_NODE_ERR_ARG;
	pthread_mutex_lock(&s->lock);
	int rc = insert_locked(s, tag);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The lock is the only member a reader changes. */
static pthread_mutex_t *lock_of(const struct ns_replay_set *s)
{
	return (pthread_mutex_t *)&s->lock;
}

int ns_replay_set_contains(const struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return 0;
	pthread_mutex_lock(lock_of(s));
	int found = s->index[find_slot(s, tag, bucket_hash(s, tag))] != 0;
	pthread_mutex_unlock(lock_of(s));
	return found;
}

size_t ns_replay_set_count(const struct ns_replay_set *s)
{
	if (!s)
		return 0;
	pthread_mutex_lock(lock_of(s));
	size_t n = s->count;
	pthread_mutex_unlock(lock_of(s));
	return n;
}

void ns_replay_set_reset(struct ns_replay_set *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->count = 0;
	ns_random(s->hash_key, sizeof s->hash_key);
	memset(s->index, 0, s->slots * sizeof *s->index);
	pthread_mutex_unlock(&s->lock);
}

void ns_replay_set_free(struct ns_replay_set *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->tags);
	free(s->index);
	free(s);
}
