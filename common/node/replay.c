/* Replay-tag set, split into shards so a mix node's workers rarely wait for each other: the
 * tag's first byte picks the shard (the tag is a hash output, so honest traffic spreads
 * evenly; a sender who grinds tags into one shard only gets back the single lock of before). Each
 * shard stores its tags densely in insertion order, found through an open-addressing index
 * (linear probing) whose slots hold entry index + 1; its bucket hash is BLAKE2b keyed with
 * the shard's own random key, so a sender who knows its tags cannot aim them at one chain.
 * The cap counts the tags of all shards together (one atomic counter), so it is exact
 * however the tags fall. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "node/node.h"

#define TAG_LEN SPHINX_REPLAY_TAG_LEN
#define SHARDS  16   /* a power of two */
#define INITIAL_SLOTS 256

/* Aligned so that two workers locking different shards touch different cache lines. */
struct shard {
	_Alignas(64) pthread_mutex_t lock;
	uint8_t (*tags)[TAG_LEN];
	size_t count, tags_alloc;
	uint32_t *index;            /* 0 = empty, else entry + 1 */
	size_t slots;               /* power of two */
	uint8_t hash_key[16];
};

struct ns_replay_set {
	struct shard shard[SHARDS];
	_Alignas(64) size_t total;  /* tags in all shards; atomic */
	size_t cap;
};

static struct shard *shard_of(const struct ns_replay_set *s, const uint8_t *tag)
{
	return (struct shard *)&s->shard[tag[0] & (SHARDS - 1)];
}

static uint64_t bucket_hash(const struct shard *sh, const uint8_t *tag)
{
	uint8_t h[8];
	ns_blake2b(h, sizeof h, tag, TAG_LEN, sh->hash_key, sizeof sh->hash_key);
	return ns_get_be64(h);
}

/* Slot holding tag, or the empty slot where it would go. */
static size_t find_slot(const struct shard *sh, const uint8_t *tag, uint64_t hash)
{
	size_t mask = sh->slots - 1, i = (size_t)hash & mask;
	while (sh->index[i] != 0 && memcmp(sh->tags[sh->index[i] - 1], tag, TAG_LEN) != 0)
		i = (i + 1) & mask;
	return i;
}

static int rebuild_index(struct shard *sh, size_t slots)
{
	uint32_t *idx = calloc(slots, sizeof *idx);
	if (!idx)
		return NS_NODE_ERR_NOMEM;
	free(sh->index);
	sh->index = idx;
	sh->slots = slots;
	for (size_t e = 0; e < sh->count; e++)
		idx[find_slot(sh, sh->tags[e], bucket_hash(sh, sh->tags[e]))] = (uint32_t)(e + 1);
	return 0;
}

static void shard_free(struct shard *sh)
{
	pthread_mutex_destroy(&sh->lock);
	free(sh->tags);
	free(sh->index);
}

static int shard_init(struct shard *sh)
{
	ns_random(sh->hash_key, sizeof sh->hash_key);
	if (pthread_mutex_init(&sh->lock, NULL) != 0)
		return -1;
	if (rebuild_index(sh, INITIAL_SLOTS) != 0) {
		pthread_mutex_destroy(&sh->lock);
		return -1;
	}
	return 0;
}

struct ns_replay_set *ns_replay_set_new(size_t cap)
{
	if (cap == 0 || cap > (1u << 30))
		return NULL;
	struct ns_replay_set *s = aligned_alloc(64, sizeof *s);
	if (!s)
		return NULL;
	memset(s, 0, sizeof *s);
	s->cap = cap;
	for (size_t i = 0; i < SHARDS; i++) {
		if (shard_init(&s->shard[i]) != 0) {
			while (i-- > 0)
				shard_free(&s->shard[i]);
			free(s);
			return NULL;
		}
	}
	return s;
}

/* Room for one more tag in sh, which may hold up to the whole cap. */
static int make_room(struct shard *sh, size_t cap)
{
	if (sh->count == sh->tags_alloc) {
		size_t n = sh->tags_alloc ? sh->tags_alloc * 2 : 64;
		if (n > cap)
			n = cap;
		void *t = realloc(sh->tags, n * TAG_LEN);
		if (!t)
			return NS_NODE_ERR_NOMEM;
		sh->tags = t;
		sh->tags_alloc = n;
	}
	if ((sh->count + 1) * 2 > sh->slots)   /* keep the load factor at most 1/2 */
		return rebuild_index(sh, sh->slots * 2);
	return 0;
}

/* Takes one unit of the cap for a new tag: 0, or NS_NODE_ERR_FULL. */
static int reserve(struct ns_replay_set *s)
{
	size_t n = __atomic_load_n(&s->total, __ATOMIC_RELAXED);
	do {
		if (n >= s->cap)
			return NS_NODE_ERR_FULL;
	} while (!__atomic_compare_exchange_n(&s->total, &n, n + 1, 1, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	return 0;
}

static int insert_locked(struct ns_replay_set *s, struct shard *sh, const uint8_t tag[TAG_LEN])
{
	uint64_t h = bucket_hash(sh, tag);
	size_t slot = find_slot(sh, tag, h);
	if (sh->index[slot] != 0)
		return NS_REPLAY_SEEN;
	if (reserve(s) != 0)
		return NS_NODE_ERR_FULL;
	size_t old_slots = sh->slots;
	int rc = make_room(sh, s->cap);
	if (rc != 0) {
		__atomic_fetch_sub(&s->total, 1, __ATOMIC_RELAXED);
		return rc;
	}
	if (sh->slots != old_slots)
		slot = find_slot(sh, tag, h);
	memcpy(sh->tags[sh->count], tag, TAG_LEN);
	sh->index[slot] = (uint32_t)(++sh->count);
	return NS_REPLAY_NEW;
}

int ns_replay_set_insert(struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return NS_NODE_ERR_ARG;
	struct shard *sh = shard_of(s, tag);
	pthread_mutex_lock(&sh->lock);
	int rc = insert_locked(s, sh, tag);
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

int ns_replay_set_contains(const struct ns_replay_set *s, const uint8_t tag[TAG_LEN])
{
	if (!s || !tag)
		return 0;
	struct shard *sh = shard_of(s, tag);
	pthread_mutex_lock(&sh->lock);
	int found = sh->index[find_slot(sh, tag, bucket_hash(sh, tag))] != 0;
	pthread_mutex_unlock(&sh->lock);
	return found;
}

size_t ns_replay_set_count(const struct ns_replay_set *s)
{
	return s ? __atomic_load_n(&s->total, __ATOMIC_RELAXED) : 0;
}

void ns_replay_set_reset(struct ns_replay_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *sh = &s->shard[i];
		pthread_mutex_lock(&sh->lock);
		__atomic_fetch_sub(&s->total, sh->count, __ATOMIC_RELAXED);
		sh->count = 0;
		ns_random(sh->hash_key, sizeof sh->hash_key);
		memset(sh->index, 0, sh->slots * sizeof *sh->index);
		pthread_mutex_unlock(&sh->lock);
	}
}

void ns_replay_set_free(struct ns_replay_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SHARDS; i++)
		shard_free(&s->shard[i]);
	free(s);
}
