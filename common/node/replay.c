/* Replay-tag set: tags stored densely in insertion order, found through an open-addressing
 * index (linear probing) whose slots hold entry index + 1. The bucket hash is BLAKE2b keyed
 * with a random key, so a sender who knows its packets' tags cannot aim them at one chain. */
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
	if (rebuild_index(s, 1024) != 0) {
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

int ns_replay_set_insert(struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return NS_NODE_ERR_ARG;
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

int ns_replay_set_contains(const struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return 0;
	return s->index[find_slot(s, tag, bucket_hash(s, tag))] != 0;
}

size_t ns_replay_set_count(const struct ns_replay_set *s)
{
	return s ? s->count : 0;
}

void ns_replay_set_reset(struct ns_replay_set *s)
{
	if (!s)
		return;
	s->count = 0;
	ns_random(s->hash_key, sizeof s->hash_key);
	memset(s->index, 0, s->slots * sizeof *s->index);
}

void ns_replay_set_free(struct ns_replay_set *s)
{
	if (!s)
		return;
	free(s->tags);
	free(s->index);
	free(s);
}
