/* keyd's reply state: the reply keys of the SURBs we made (by digest) and the SURBs others
 * gave us (by sender tag), with the reply fragments waiting for them. Pure bookkeeping; the
 * Sphinx side is keyd_prep.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "crypto.h"
#include "nymclient.h"

/* Monotonic time plus a century: the reply store's entries from before this boot (up to a
 * century old) keep their true age on this clock. Only differences are ever used. */
/* The ring's first allocation: a store that holds few keys costs little to make and to wipe. */
#define RKEYS_FIRST_ALLOC 256
#define MONO_BASE_NS (100ull * 366 * 86400 * 1000000000ull)

uint64_t nc_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return MONO_BASE_NS + (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- reply keys: a ring in insertion order (eviction, expiry) + a chained hash index */

struct rkey {
	uint8_t digest[32], key[16];
	uint64_t sent_ns;
	int32_t next; /* hash chain, -1 ends */
	uint8_t live;
};

struct nc_rkeys {
	struct rkey *ring; /* alloc slots, grown by doubling up to cap as keys are added */
	size_t cap, alloc, head, used, live;
	int32_t *bucket;
	size_t mask;
	uint64_t max_age_ns;
};

/* A hash index of at least n chains (a power of two), every chain empty (-1). */
static int buckets_for(struct nc_rkeys *k, size_t n)
{
	size_t nb = 1;
	while (nb < n)
		nb <<= 1;
	int32_t *b = realloc(k->bucket, nb * sizeof *b);
	if (!b)
		return -1;
	memset(b, 0xff, nb * sizeof *b);
	k->bucket = b;
	k->mask = nb - 1;
	return 0;
}

struct nc_rkeys *nc_rkeys_new(size_t cap, uint64_t max_age_ns)
{
	if (cap == 0 || cap > INT32_MAX / 2)
		return NULL;
	struct nc_rkeys *k = calloc(1, sizeof *k);
	size_t first = cap < RKEYS_FIRST_ALLOC ? cap : RKEYS_FIRST_ALLOC;
	if (!k || !(k->ring = calloc(first, sizeof *k->ring)) || buckets_for(k, first) < 0) {
		nc_rkeys_free(k);
		return NULL;
	}
	k->cap = cap;
	k->alloc = first;
	k->max_age_ns = max_age_ns;
	return k;
}

void nc_rkeys_free(struct nc_rkeys *k)
{
	if (!k)
		return;
	if (k->ring)
		ns_memzero(k->ring, k->alloc * sizeof *k->ring);
	free(k->ring);
	free(k->bucket);
	free(k);
}

static size_t bucket_of(const struct nc_rkeys *k, const uint8_t digest[32])
{
	uint32_t h = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
	             (uint32_t)digest[3] << 24;
	return h & k->mask;
}

static void rkey_unlink(struct nc_rkeys *k, int32_t idx)
{
	struct rkey *e = &k->ring[idx];
	int32_t *p = &k->bucket[bucket_of(k, e->digest)];
	while (*p >= 0 && *p != idx)
		p = &k->ring[*p].next;
	if (*p == idx)
		*p = e->next;
	ns_memzero(e, sizeof *e);
	k->live--;
}

/* Drops the oldest ring slot (live or already used). */
static void rkey_pop_head(struct nc_rkeys *k)
{
	if (k->ring[k->head].live)
		rkey_unlink(k, (int32_t)k->head);
	k->head = (k->head + 1) % k->alloc;
	k->used--;
}

static int expired(const struct nc_rkeys *k, const struct rkey *e, uint64_t now_ns)
{
	return now_ns > e->sent_ns && now_ns - e->sent_ns > k->max_age_ns;
}

size_t nc_rkeys_expire(struct nc_rkeys *k, uint64_t now_ns)
{
	size_t n = 0;
	while (k->used && (!k->ring[k->head].live || expired(k, &k->ring[k->head], now_ns))) {
		n += k->ring[k->head].live;
		rkey_pop_head(k);
	}
	return n;
}

/* Doubles the ring (at most to cap): the keys move in insertion order to slots 0..used-1 and
 * the hash chains are rebuilt on the new slot numbers. The old ring is wiped. */
static int rkeys_grow(struct nc_rkeys *k)
{
	size_t n = k->alloc * 2 < k->cap ? k->alloc * 2 : k->cap;
	struct rkey *ring = calloc(n, sizeof *ring);
	if (!ring || buckets_for(k, n) < 0) {
		free(ring);
		return -1;
	}
	for (size_t i = 0; i < k->used; i++) {
		struct rkey *e = &ring[i];
		*e = k->ring[(k->head + i) % k->alloc];
		if (!e->live)
			continue;
		size_t b = bucket_of(k, e->digest);
		e->next = k->bucket[b];
		k->bucket[b] = (int32_t)i;
	}
	ns_memzero(k->ring, k->alloc * sizeof *k->ring);
	free(k->ring);
	k->ring = ring;
	k->alloc = n;
	k->head = 0;
	return 0;
}

int nc_rkeys_add(struct nc_rkeys *k, const uint8_t digest[32], const uint8_t key[16],
                 uint64_t now_ns)
{
	if (k->used == k->alloc && (k->alloc == k->cap || rkeys_grow(k) < 0))
		rkey_pop_head(k); /* full (or no memory to grow): the oldest key goes */
	size_t idx = (k->head + k->used) % k->alloc;
	struct rkey *e = &k->ring[idx];
	memcpy(e->digest, digest, 32);
	memcpy(e->key, key, 16);
	e->sent_ns = now_ns;
	e->live = 1;
	size_t b = bucket_of(k, digest);
	e->next = k->bucket[b];
	k->bucket[b] = (int32_t)idx;
	k->used++;
	k->live++;
	return 0;
}

static int same_digest(const uint8_t a[32], const uint8_t b[32])
{
	uint8_t d = 0;
	for (int i = 0; i < 32; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

int nc_rkeys_take(struct nc_rkeys *k, const uint8_t digest[32], uint8_t key[16], uint64_t now_ns)
{
	for (int32_t i = k->bucket[bucket_of(k, digest)]; i >= 0; i = k->ring[i].next) {
		struct rkey *e = &k->ring[i];
		if (!same_digest(e->digest, digest))
			continue;
		int ok = !expired(k, e, now_ns);
		if (ok)
			memcpy(key, e->key, 16);
		rkey_unlink(k, i);
		return ok ? 0 : -1;
	}
	return -1;
}

size_t nc_rkeys_count(const struct nc_rkeys *k)
{
	return k->live;
}

/* ---- SURB lists on the IPC */

int nc_surb_list_parse(const uint8_t *in, size_t len, size_t max_count, size_t *count,
                       size_t *each)
{
	if (len < 4)
		return -1;
	size_t n = ns_get_be32(in);
	size_t rest = len - 4;
	if (n > max_count || (n == 0 && rest) || (n && (rest == 0 || rest % n)))
		return -1;
	*count = n;
	*each = n ? rest / n : 0;
	return 0;
}

/* ---- SURBs by sender tag */

struct surb {
	struct surb *next;
	size_t len;
	uint8_t bytes[];
};

struct tag {
	uint8_t id[16];
	struct surb *head, **tail;
	size_t n;
	struct nc_reply_frag *qhead, **qtail;
	size_t nq;
	uint32_t pending_reception;
	uint64_t last_received_ns, last_used_ns;
	uint64_t rerequests;
};

/* A SurbRequest sent and not acked yet (§3.6: at most NC_SURB_REQUEST_RETRIES
 * retransmissions). */
struct request {
	uint8_t frag_id[5], tag[16];
	uint32_t amount, retransmissions;
	uint64_t deadline_ns;
};

struct nc_surbs {
	struct nc_surbs_conf c;
	struct tag **tags;
	size_t n_tags, total;
	size_t queued; /* reply fragments waiting, all tags together */
	struct request req[NC_SURB_REQUESTS_MAX];
	size_t n_req;
};

void nc_reply_frag_free(struct nc_reply_frag *f)
{
	if (!f)
		return;
	ns_memzero(f->data, f->len);
	free(f);
}

struct nc_surbs *nc_surbs_new(const struct nc_surbs_conf *conf)
{
	if (!conf->max_tags || !conf->max_total)
		return NULL;
	struct nc_surbs *s = calloc(1, sizeof *s);
	if (!s || !(s->tags = calloc(conf->max_tags, sizeof *s->tags))) {
		free(s);
		return NULL;
	}
	s->c = *conf;
	return s;
}

static void surb_free(struct surb *x)
{
	ns_memzero(x->bytes, x->len);
	free(x);
}

static struct surb *pop_surb(struct nc_surbs *s, struct tag *t)
{
	struct surb *x = t->head;
	if (!x)
		return NULL;
	t->head = x->next;
	if (!t->head)
		t->tail = &t->head;
	t->n--;
	s->total--;
	return x;
}

static void drop_queue(struct nc_surbs *s, struct tag *t, int report)
{
	struct nc_reply_frag *f;
	while ((f = t->qhead)) {
		t->qhead = f->next;
		if (report && s->c.on_drop)
			s->c.on_drop(s->c.ctx, f);
		nc_reply_frag_free(f);
	}
	t->qtail = &t->qhead;
	s->queued -= t->nq;
	t->nq = 0;
}

static void tag_free(struct nc_surbs *s, struct tag *t, int report)
{
	struct surb *x;
	while ((x = pop_surb(s, t)))
		surb_free(x);
	drop_queue(s, t, report);
	free(t);
}

void nc_surbs_free(struct nc_surbs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_tags; i++)
		tag_free(s, s->tags[i], 0);
	free(s->tags);
	free(s);
}

static struct tag *find(const struct nc_surbs *s, const uint8_t id[16])
{
	for (size_t i = 0; i < s->n_tags; i++)
		if (!memcmp(s->tags[i]->id, id, 16))
			return s->tags[i];
	return NULL;
}

static void forget_requests(struct nc_surbs *s, const uint8_t tag[16])
{
	for (size_t i = 0; i < s->n_req;)
		if (!memcmp(s->req[i].tag, tag, 16))
			s->req[i] = s->req[--s->n_req];
		else
			i++;
}

static void remove_tag_at(struct nc_surbs *s, size_t i)
{
	struct tag *t = s->tags[i];
	forget_requests(s, t->id);
	s->tags[i] = s->tags[--s->n_tags];
	tag_free(s, t, 1);
}

/* A full table loses its least recently used tag. */
static struct tag *create(struct nc_surbs *s, const uint8_t id[16], uint64_t now_ns)
{
	if (s->n_tags == s->c.max_tags) {
		size_t lru = 0;
		for (size_t i = 1; i < s->n_tags; i++)
			if (s->tags[i]->last_used_ns < s->tags[lru]->last_used_ns)
				lru = i;
		remove_tag_at(s, lru);
	}
	struct tag *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	memcpy(t->id, id, 16);
	t->tail = &t->head;
	t->qtail = &t->qhead;
	t->last_used_ns = t->last_received_ns = now_ns;
	s->tags[s->n_tags++] = t;
	return t;
}

/* The oldest SURB of the largest stock goes when the store is full. */
static void make_room(struct nc_surbs *s)
{
	while (s->total >= s->c.max_total) {
		struct tag *big = NULL;
		for (size_t i = 0; i < s->n_tags; i++)
			if (!big || s->tags[i]->n > big->n)
				big = s->tags[i];
		if (!big || !big->n)
			return;
		surb_free(pop_surb(s, big));
	}
}

int nc_surbs_add(struct nc_surbs *s, const uint8_t id[16], const uint8_t *bytes, size_t len,
                 uint64_t now_ns)
{
	struct tag *t = find(s, id);
	if (!t && !(t = create(s, id, now_ns)))
		return -1;
	struct surb *x = malloc(sizeof *x + len);
	if (!x)
		return -1;
	if (s->c.max_threshold && t->n >= s->c.max_threshold)
		surb_free(pop_surb(s, t));
	make_room(s);
	x->next = NULL;
	x->len = len;
	memcpy(x->bytes, bytes, len);
	*t->tail = x;
	t->tail = &x->next;
	t->n++;
	s->total++;
	t->last_used_ns = now_ns;
	return 0;
}

void nc_surbs_received(struct nc_surbs *s, const uint8_t id[16], size_t n, uint64_t now_ns)
{
	struct tag *t = find(s, id);
	if (!t)
		return;
	t->pending_reception = n >= t->pending_reception ? 0 : t->pending_reception - (uint32_t)n;
	t->rerequests = 0;
	t->last_received_ns = now_ns;
}

int nc_surbs_known(const struct nc_surbs *s, const uint8_t id[16])
{
	return find(s, id) != NULL;
}

size_t nc_surbs_available(const struct nc_surbs *s, const uint8_t id[16])
{
	const struct tag *t = find(s, id);
	return t ? t->n : 0;
}

size_t nc_surbs_queued(const struct nc_surbs *s, const uint8_t id[16])
{
	const struct tag *t = find(s, id);
	return t ? t->nq : 0;
}

long nc_surbs_take(struct nc_surbs *s, const uint8_t id[16], int ignore_reserve, uint8_t *out,
                   size_t cap)
{
	struct tag *t = find(s, id);
	if (!t || !t->head || (!ignore_reserve && t->n <= s->c.min_threshold) || t->head->len > cap)
		return -1;
	struct surb *x = pop_surb(s, t);
	size_t len = x->len;
	memcpy(out, x->bytes, len);
	surb_free(x);
	return (long)len;
}

int nc_surbs_queue(struct nc_surbs *s, const uint8_t id[16], const uint8_t frag_id[5],
                   uint64_t lane, uint64_t size_tag, const uint8_t *data, size_t len)
{
	struct tag *t = find(s, id);
	if (!t || t->nq >= s->c.max_queued_per_tag ||
	    (s->c.max_queued_total && s->queued >= s->c.max_queued_total))
		return -1;
	struct nc_reply_frag *f = malloc(sizeof *f + len);
	if (!f)
		return -1;
	f->next = NULL;
	memcpy(f->frag_id, frag_id, 5);
	f->lane = lane;
	f->size_tag = size_tag;
	f->len = len;
	memcpy(f->data, data, len);
	*t->qtail = f;
	t->qtail = &f->next;
	t->nq++;
	s->queued++;
	return 0;
}

struct nc_reply_frag *nc_surbs_dequeue(struct nc_surbs *s, const uint8_t id[16])
{
	struct tag *t = find(s, id);
	struct nc_reply_frag *f = t ? t->qhead : NULL;
	if (!f)
		return NULL;
	t->qhead = f->next;
	if (!t->qhead)
		t->qtail = &t->qhead;
	t->nq--;
	s->queued--;
	f->next = NULL;
	return f;
}

static uint32_t request_size(const struct nc_surbs *s, const struct tag *t)
{
	uint64_t want = (uint64_t)t->nq + s->c.threshold_buffer;
	if (want < s->c.request_min)
		want = s->c.request_min;
	if (want > s->c.request_max)
		want = s->c.request_max;
	return (uint32_t)want;
}

uint32_t nc_surbs_request_size(const struct nc_surbs *s, const uint8_t id[16])
{
	const struct tag *t = find(s, id);
	return t ? request_size(s, t) : 0;
}

uint32_t nc_surbs_request_amount(const struct nc_surbs *s, const uint8_t id[16])
{
	const struct tag *t = find(s, id);
	if (!t)
		return 0;
	uint64_t have = (uint64_t)t->n + t->pending_reception;
	uint64_t need = (uint64_t)t->nq + s->c.min_threshold + s->c.threshold_buffer;
	if (have >= s->c.max_threshold || have >= need)
		return 0;
	return request_size(s, t);
}

void nc_surbs_requested(struct nc_surbs *s, const uint8_t id[16], uint32_t amount)
{
	struct tag *t = find(s, id);
	if (t)
		t->pending_reception = amount > UINT32_MAX - t->pending_reception
		                               ? UINT32_MAX
		                               : t->pending_reception + amount;
}

void nc_surbs_tick(struct nc_surbs *s, uint64_t now_ns,
                   void (*rerequest)(void *ctx, const uint8_t tag[16]), void *ctx)
{
	for (size_t i = 0; i < s->n_tags; i++) {
		struct tag *t = s->tags[i];
		if (!t->nq)
			continue;
		uint64_t quiet = now_ns > t->last_received_ns ? now_ns - t->last_received_ns : 0;
		if (t->rerequests > s->c.max_rerequests ||
		    (quiet > s->c.rerequest_wait_ns && quiet > s->c.drop_wait_ns)) {
			drop_queue(s, t, 1);
			continue;
		}
		if (quiet > s->c.rerequest_wait_ns) {
			/* Nym resets the pending count after re-requesting; we reset it before, so
			 * the new request counts as pending and is not repeated at once */
			t->rerequests++;
			t->pending_reception = 0;
			if (rerequest)
				rerequest(ctx, t->id);
		}
	}
}

/* A full table forgets the request closest to its deadline: the one most likely lost or
 * answered already. */
void nc_surbs_request_sent(struct nc_surbs *s, const uint8_t tag[16], const uint8_t frag_id[5],
                           uint32_t amount, uint32_t retransmissions, uint64_t deadline_ns)
{
	if (s->n_req == NC_SURB_REQUESTS_MAX) {
		size_t first = 0;
		for (size_t i = 1; i < s->n_req; i++)
			if (s->req[i].deadline_ns < s->req[first].deadline_ns)
				first = i;
		s->req[first] = s->req[--s->n_req];
	}
	struct request *r = &s->req[s->n_req++];
	memcpy(r->frag_id, frag_id, 5);
	memcpy(r->tag, tag, 16);
	r->amount = amount;
	r->retransmissions = retransmissions;
	r->deadline_ns = deadline_ns;
}

int nc_surbs_request_acked(struct nc_surbs *s, const uint8_t frag_id[5])
{
	for (size_t i = 0; i < s->n_req; i++)
		if (!memcmp(s->req[i].frag_id, frag_id, 5)) {
			s->req[i] = s->req[--s->n_req];
			return 1;
		}
	return 0;
}

uint64_t nc_surbs_next_request_deadline(const struct nc_surbs *s)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < s->n_req; i++)
		if (s->req[i].deadline_ns < next)
			next = s->req[i].deadline_ns;
	return next;
}

/* Each request due is taken off the table (slot i then holds another one) before resend()
 * is called, so resend() may record it again (nc_surbs_request_sent) without evicting. */
void nc_surbs_requests_due(struct nc_surbs *s, uint64_t now_ns,
                           void (*resend)(void *ctx, const struct nc_surb_request *r), void *ctx)
{
	for (size_t i = 0; i < s->n_req;) {
		if (s->req[i].deadline_ns > now_ns) {
			i++;
			continue;
		}
		struct request r = s->req[i];
		s->req[i] = s->req[--s->n_req];
		if (r.retransmissions >= NC_SURB_REQUEST_RETRIES)
			continue;
		struct nc_surb_request out = { .amount = r.amount,
			                       .retransmissions = r.retransmissions + 1 };
		memcpy(out.tag, r.tag, 16);
		resend(ctx, &out); /* appends at most one, which the loop meets again: the
		                    * retransmission limit ends even a zero timeout */
	}
}

size_t nc_surbs_drop_received_before(struct nc_surbs *s, uint64_t before_ns)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_tags;) {
		if (s->tags[i]->last_received_ns < before_ns) {
			n += s->tags[i]->n;
			remove_tag_at(s, i); /* tag i is now another one */
		} else {
			i++;
		}
	}
	return n;
}

size_t nc_surbs_tag_count(const struct nc_surbs *s)
{
	return s->n_tags;
}

const uint8_t *nc_surbs_tag_at(const struct nc_surbs *s, size_t i)
{
	return i < s->n_tags ? s->tags[i]->id : NULL;
}

size_t nc_surbs_total(const struct nc_surbs *s)
{
	return s->total;
}

size_t nc_surbs_queued_total(const struct nc_surbs *s)
{
	return s->queued;
}

/* ---- for the reply store (keyd_store.c) */

void nc_rkeys_each(const struct nc_rkeys *k,
                   void (*fn)(void *ctx, const uint8_t digest[32], const uint8_t key[16],
                              uint64_t sent_ns),
                   void *ctx)
{
	for (size_t i = 0; i < k->used; i++) {
		const struct rkey *e = &k->ring[(k->head + i) % k->alloc];
		if (e->live)
			fn(ctx, e->digest, e->key, e->sent_ns);
	}
}

uint64_t nc_surbs_tag_received_ns(const struct nc_surbs *s, size_t i)
{
	return i < s->n_tags ? s->tags[i]->last_received_ns : 0;
}

void nc_surbs_tag_each(const struct nc_surbs *s, size_t i,
                       void (*fn)(void *ctx, const uint8_t *surb, size_t len), void *ctx)
{
	if (i >= s->n_tags)
		return;
	for (const struct surb *x = s->tags[i]->head; x; x = x->next)
		fn(ctx, x->bytes, x->len);
}
