/* Fragment headers, identifiers and splitting a message into (linked) sets. */
#include "nymsphinx/chunking.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"

#define FLAG_BIT 0x80000000u

/* ------------------------------------------------------------------ headers ---- */

int nym_frag_header_validate(const struct nym_frag_header *h)
{
	if (!h || h->set_id <= 0 || h->total == 0 || h->current == 0 || h->current > h->total)
		return NYM_CHUNK_ERR_HEADER;
	if (h->prev_set_id != 0 &&
	    (h->prev_set_id < 0 || h->current != 1 || h->prev_set_id == h->set_id))
		return NYM_CHUNK_ERR_HEADER;
	if (h->next_set_id != 0 &&
	    (h->next_set_id < 0 || h->current != h->total || h->next_set_id == h->set_id))
		return NYM_CHUNK_ERR_HEADER;
	/* one link field on the wire; the decoder gives a link on fragment 1 to "previous"
	 * and only 255-of-255 may name a next set */
	if (h->prev_set_id != 0 && h->next_set_id != 0)
		return NYM_CHUNK_ERR_HEADER;
	if (h->next_set_id != 0 && h->total != NYM_FRAG_MAX_PER_SET)
		return NYM_CHUNK_ERR_HEADER;
	return NYM_CHUNK_OK;
}

static int header_is_linked(const struct nym_frag_header *h)
{
	return h->prev_set_id != 0 || h->next_set_id != 0;
}

size_t nym_frag_header_len(const struct nym_frag_header *h)
{
	return header_is_linked(h) ? NYM_FRAG_HEADER_LINKED_LEN : NYM_FRAG_HEADER_UNLINKED_LEN;
}

long nym_frag_header_encode(const struct nym_frag_header *h, uint8_t *out, size_t cap)
{
	size_t n;

	if (nym_frag_header_validate(h) != 0)
		return NYM_CHUNK_ERR_HEADER;
	n = nym_frag_header_len(h);
	if (!out || cap < n)
		return NYM_CHUNK_ERR_ARG;
	ns_put_be32(out, (uint32_t)h->set_id | FLAG_BIT);
	out[4] = h->total;
	out[5] = h->current;
	if (header_is_linked(h)) {
		int32_t link = h->prev_set_id ? h->prev_set_id : h->next_set_id;

		ns_put_be32(out + 6, (uint32_t)link | FLAG_BIT);
	} else {
		out[6] = 0;
	}
	return (long)n;
}

long nym_frag_header_decode(const uint8_t *in, size_t len, struct nym_frag_header *h)
{
	struct nym_frag_header tmp = { 0 };
	uint32_t word;
	size_t used = NYM_FRAG_HEADER_UNLINKED_LEN;

	if (!in || !h)
		return NYM_CHUNK_ERR_ARG;
	if (len < NYM_FRAG_HEADER_UNLINKED_LEN)
		return NYM_CHUNK_ERR_SHORT;
	word = ns_get_be32(in);
	if (!(word & FLAG_BIT))
		return NYM_CHUNK_ERR_HEADER;
	tmp.set_id = (int32_t)(word & ~FLAG_BIT);
	tmp.total = in[4];
	tmp.current = in[5];
	if (tmp.total == 0 || tmp.current == 0 || tmp.current > tmp.total)
		return NYM_CHUNK_ERR_HEADER;
	if (in[6] != 0) {
		int32_t link;

		if (len < NYM_FRAG_HEADER_LINKED_LEN)
			return NYM_CHUNK_ERR_SHORT;
		word = ns_get_be32(in + 6);
		if (!(word & FLAG_BIT))
			return NYM_CHUNK_ERR_HEADER;
		link = (int32_t)(word & ~FLAG_BIT);
		if (tmp.current == 1)
			tmp.prev_set_id = link;
		else if (tmp.current == tmp.total && tmp.current == NYM_FRAG_MAX_PER_SET)
			tmp.next_set_id = link;
		else
			return NYM_CHUNK_ERR_HEADER;
		/* a zero link id would read back as "unlinked": try_new rejects it */
		if (link == 0)
			return NYM_CHUNK_ERR_HEADER;
		used = NYM_FRAG_HEADER_LINKED_LEN;
	}
	if (nym_frag_header_validate(&tmp) != 0)
		return NYM_CHUNK_ERR_HEADER;
	*h = tmp;
	return (long)used;
}

int nym_fragment_decode(const uint8_t *in, size_t len, struct nym_fragment *f)
{
	struct nym_frag_header h;
	long n;

	if (!f)
		return NYM_CHUNK_ERR_ARG;
	n = nym_frag_header_decode(in, len, &h);
	if (n < 0)
		return (int)n;
	f->header = h;
	f->payload = in + n;
	f->payload_len = len - (size_t)n;
	return NYM_CHUNK_OK;
}

size_t nym_frag_unlinked_payload_max(size_t ppp)
{
	return ppp < NYM_FRAG_MIN_PPP ? 0 : ppp - NYM_FRAG_HEADER_UNLINKED_LEN;
}

size_t nym_frag_linked_payload_max(size_t ppp)
{
	return ppp < NYM_FRAG_MIN_PPP ? 0 : ppp - NYM_FRAG_HEADER_LINKED_LEN;
}

/* Fragment::try_new: exact lengths everywhere except the final fragment of a set that does
 * not link forward, which may be shorter. */
int nym_fragment_check_len(const struct nym_fragment *f, size_t ppp)
{
	const struct nym_frag_header *h;
	size_t linked = nym_frag_linked_payload_max(ppp);
	size_t unlinked = nym_frag_unlinked_payload_max(ppp);

	if (!f || linked == 0)
		return NYM_CHUNK_ERR_ARG;
	h = &f->header;
	if (h->prev_set_id != 0) {
		if (h->total > 1 ? f->payload_len != linked : f->payload_len > linked)
			return NYM_CHUNK_ERR_PAYLOAD_LEN;
	} else if (h->next_set_id != 0) {
		if (f->payload_len != linked)
			return NYM_CHUNK_ERR_PAYLOAD_LEN;
	} else if (h->total != h->current) {
		if (f->payload_len != unlinked)
			return NYM_CHUNK_ERR_PAYLOAD_LEN;
	} else if (f->payload_len > unlinked) {
		return NYM_CHUNK_ERR_PAYLOAD_LEN;
	}
	return NYM_CHUNK_OK;
}

/* -------------------------------------------------------------- identifiers ---- */

void nym_frag_id_encode(const struct nym_frag_id *id, uint8_t out[NYM_FRAG_ID_LEN])
{
	ns_put_be32(out, (uint32_t)id->set_id);
	out[4] = id->position;
}

int nym_frag_id_decode(const uint8_t in[NYM_FRAG_ID_LEN], struct nym_frag_id *id)
{
	int32_t set_id;

	if (!in || !id)
		return NYM_CHUNK_ERR_ARG;
	set_id = (int32_t)ns_get_be32(in);
	if (set_id < 0)
		return NYM_CHUNK_ERR_FRAG_ID;
	id->set_id = set_id;
	id->position = in[4];
	return NYM_CHUNK_OK;
}

int nym_frag_id_is_cover(const struct nym_frag_id *id)
{
	return id->set_id == 0 && id->position == 0;
}

int32_t nym_random_set_id(void)
{
	for (;;) {
		uint32_t raw;
		int32_t v;

		ns_random(&raw, sizeof(raw));
		v = (int32_t)raw;
		if (v != 0 && v != INT32_MIN)
			return v < 0 ? -v : v;
	}
}

/* ----------------------------------------------------------- set arithmetic ---- */

static size_t max_unlinked_set_len(size_t ppp)
{
	return NYM_FRAG_MAX_PER_SET * nym_frag_unlinked_payload_max(ppp);
}

static size_t one_way_set_len(size_t ppp)
{
	return max_unlinked_set_len(ppp) -
	       (NYM_FRAG_HEADER_LINKED_LEN - NYM_FRAG_HEADER_UNLINKED_LEN);
}

static size_t two_way_set_len(size_t ppp)
{
	return max_unlinked_set_len(ppp) -
	       2 * (NYM_FRAG_HEADER_LINKED_LEN - NYM_FRAG_HEADER_UNLINKED_LEN);
}

static size_t ceil_div(size_t a, size_t b)
{
	return a / b + (a % b != 0);
}

size_t nym_chunk_number_of_sets(size_t msg_len, size_t ppp)
{
	if (ppp < NYM_FRAG_MIN_PPP || ppp > SIZE_MAX / (2 * NYM_FRAG_MAX_PER_SET))
		return 0;
	if (msg_len <= max_unlinked_set_len(ppp))
		return 1;
	if (msg_len <= 2 * one_way_set_len(ppp))
		return 2;
	return ceil_div(msg_len - 2 * one_way_set_len(ppp), two_way_set_len(ppp)) + 2;
}

static size_t fragments_of_last_set(size_t final_len, size_t linked, size_t unlinked,
                                    size_t *space_left)
{
	size_t rest;

	if (final_len <= linked) {
		*space_left = linked - final_len;
		return 1;
	}
	rest = final_len - linked;
	*space_left = rest % unlinked ? unlinked - rest % unlinked : 0;
	return 1 + ceil_div(rest, unlinked);
}

size_t nym_chunk_required_fragments(size_t msg_len, size_t ppp, size_t *space_left)
{
	size_t sets = nym_chunk_number_of_sets(msg_len, ppp);
	size_t unlinked = nym_frag_unlinked_payload_max(ppp);
	size_t linked = nym_frag_linked_payload_max(ppp);
	size_t dummy, full_frags, linked_full, unlinked_full, final_len, last;

	if (!space_left)
		space_left = &dummy;
	if (sets == 0)
		return 0;
	if (sets == 1) {
		if (msg_len < unlinked) {
			*space_left = unlinked - msg_len;
			return 1;
		}
		*space_left = msg_len % unlinked ? unlinked - msg_len % unlinked : 0;
		return ceil_div(msg_len, unlinked);
	}
	/* all sets but the last are full; they hold 2*sets - 3 linked fragments */
	full_frags = (sets - 1) * NYM_FRAG_MAX_PER_SET;
	linked_full = 2 * sets - 3;
	unlinked_full = full_frags - linked_full;
	final_len = msg_len - linked_full * linked - unlinked_full * unlinked;
	last = fragments_of_last_set(final_len, linked, unlinked, space_left);
	return full_frags + last;
}

/* --------------------------------------------------------------- splitting ---- */

struct split_ctx {
	size_t ppp;
	size_t count;               /* fragments emitted so far */
	struct nym_fragment_list *out; /* NULL in the counting pass */
};

static int emit_fragment(struct split_ctx *c, const struct nym_frag_header *h,
                         const uint8_t *payload, size_t payload_len)
{
	struct nym_fragment_list *l = c->out;
	uint8_t *dst;
	long hl;

	if (l) {
		dst = l->frags[c->count];
		hl = nym_frag_header_encode(h, dst, c->ppp);
		if (hl < 0 || (size_t)hl + payload_len > c->ppp)
			return NYM_CHUNK_ERR_ARG;
		memcpy(dst + hl, payload, payload_len);
		l->lens[c->count] = (size_t)hl + payload_len;
		l->ids[c->count].set_id = h->set_id;
		l->ids[c->count].position = h->current;
	}
	c->count++;
	return NYM_CHUNK_OK;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static int split_unlinked_set(struct split_ctx *c, const uint8_t *msg, size_t len, int32_t id)
{
	size_t u = nym_frag_unlinked_payload_max(c->ppp);
	size_t n = ceil_div(len, u);
	struct nym_frag_header h = { .set_id = id, .total = (uint8_t)n };

	if (n == 0 || n > NYM_FRAG_MAX_PER_SET)
		return NYM_CHUNK_ERR_ARG;
	for (size_t i = 1; i <= n; i++) {
		size_t lb = (i - 1) * u, ub = min_size(len, i * u);
		int rc;

		h.current = (uint8_t)i;
		rc = emit_fragment(c, &h, msg + lb, ub - lb);
		if (rc)
			return rc;
	}
	return NYM_CHUNK_OK;
}

static size_t linked_set_fragment_count(size_t len, int has_next, size_t ppp)
{
	size_t linked = nym_frag_linked_payload_max(ppp);
	size_t tail = len >= linked ? len - linked : 0;

	if (has_next)
		return NYM_FRAG_MAX_PER_SET;
	return 1 + ceil_div(tail, nym_frag_unlinked_payload_max(ppp));
}

static int split_linked_set(struct split_ctx *c, const uint8_t *msg, size_t len, int32_t id,
                            int32_t prev, int32_t next)
{
	size_t u = nym_frag_unlinked_payload_max(c->ppp);
	size_t n = linked_set_fragment_count(len, next != 0, c->ppp);
	size_t lb = 0, ub = prev ? min_size(len, nym_frag_linked_payload_max(c->ppp)) : u;
	struct nym_frag_header h = { .set_id = id, .total = (uint8_t)n };

	if (n > NYM_FRAG_MAX_PER_SET || ub > len)
		return NYM_CHUNK_ERR_ARG;
	for (size_t i = 1; i <= n; i++) {
		int rc;

		h.current = (uint8_t)i;
		h.prev_set_id = i == 1 ? prev : 0;
		h.next_set_id = i == n ? next : 0;
		if (ub < lb)
			return NYM_CHUNK_ERR_ARG;
		rc = emit_fragment(c, &h, msg + lb, ub - lb);
		if (rc)
			return rc;
		lb = ub;
		ub = min_size(len, ub + u);
	}
	return NYM_CHUNK_OK;
}

static int split_all(struct split_ctx *c, const uint8_t *msg, size_t len, const int32_t *ids,
                     size_t sets)
{
	size_t lb = 0, ub = one_way_set_len(c->ppp);

	if (sets == 1)
		return split_unlinked_set(c, msg, len, ids[0]);
	for (size_t i = 0; i < sets; i++) {
		int32_t prev = i == 0 ? 0 : ids[i - 1];
		int32_t next = i == sets - 1 ? 0 : ids[i + 1];
		int rc;

		if (ub > len || lb > ub)
			return NYM_CHUNK_ERR_ARG;
		rc = split_linked_set(c, msg + lb, ub - lb, ids[i], prev, next);
		if (rc)
			return rc;
		lb = ub;
		ub = min_size(len, ub + (i == sets - 2 ? one_way_set_len(c->ppp)
		                                        : two_way_set_len(c->ppp)));
	}
	return NYM_CHUNK_OK;
}

static int set_ids_valid(const int32_t *ids, size_t sets)
{
	for (size_t i = 0; i < sets; i++) {
		if (ids[i] <= 0)
			return 0;
		if (i > 0 && ids[i] == ids[i - 1])
			return 0;
	}
	return 1;
}

static int alloc_fragment_list(struct nym_fragment_list *l, size_t count, size_t ppp)
{
	uint8_t *storage;

	memset(l, 0, sizeof(*l));
	if (count > SIZE_MAX / ppp)
		return NYM_CHUNK_ERR_NOMEM;
	storage = malloc(count * ppp);
	l->frags = calloc(count, sizeof(*l->frags));
	l->lens = calloc(count, sizeof(*l->lens));
	l->ids = calloc(count, sizeof(*l->ids));
	l->storage_ = storage;
	if (!storage || !l->frags || !l->lens || !l->ids) {
		nym_fragment_list_free(l);
		return NYM_CHUNK_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++)
		l->frags[i] = storage + i * ppp;
	l->count = count;
	return NYM_CHUNK_OK;
}

int nym_split_into_fragments_with_ids(const uint8_t *msg, size_t msg_len, size_t ppp,
                                      const int32_t *set_ids, size_t n_ids,
                                      struct nym_fragment_list *out)
{
	struct split_ctx counting = { .ppp = ppp }, filling = { .ppp = ppp };
	size_t sets = nym_chunk_number_of_sets(msg_len, ppp);
	int rc;

	if (!out)
		return NYM_CHUNK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (!msg || msg_len == 0 || sets == 0 || !set_ids || n_ids < sets ||
	    !set_ids_valid(set_ids, sets))
		return NYM_CHUNK_ERR_ARG;
	rc = split_all(&counting, msg, msg_len, set_ids, sets);
	if (rc)
		return rc;
	rc = alloc_fragment_list(out, counting.count, ppp);
	if (rc)
		return rc;
	filling.out = out;
	rc = split_all(&filling, msg, msg_len, set_ids, sets);
	if (rc) {
		nym_fragment_list_free(out);
		return rc;
	}
	out->n_sets = sets;
	return NYM_CHUNK_OK;
}

int nym_split_into_fragments(const uint8_t *msg, size_t msg_len, size_t ppp,
                             struct nym_fragment_list *out)
{
	size_t sets = nym_chunk_number_of_sets(msg_len, ppp);
	int32_t *ids;
	int rc;

	if (sets == 0 || !out)
		return NYM_CHUNK_ERR_ARG;
	ids = calloc(sets, sizeof(*ids));
	if (!ids)
		return NYM_CHUNK_ERR_NOMEM;
	for (size_t i = 0; i < sets; i++) {
		do {
			ids[i] = nym_random_set_id();
		} while (i > 0 && ids[i] == ids[i - 1]); /* a set may not link to itself */
	}
	rc = nym_split_into_fragments_with_ids(msg, msg_len, ppp, ids, sets, out);
	free(ids);
	return rc;
}

void nym_fragment_list_free(struct nym_fragment_list *list)
{
	if (!list)
		return;
	free(list->storage_);
	free(list->frags);
	free(list->lens);
	free(list->ids);
	memset(list, 0, sizeof(*list));
}

/* -------------------------------------------------------------- reassembly ---- */

#define REASM_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define REASM_DEFAULT_MAX_SETS  8192
#define REASM_BUCKETS           1024
#define REASM_RECENT            1024
#define REASM_RECENT_BUCKETS    256
#define REASM_NONE              0xffff

struct reasm_set {
	int32_t id;
	uint8_t total;
	uint16_t received;
	size_t ppp;
	int32_t prev_id;            /* from fragment 1 */
	int32_t next_id;            /* from fragment 255 */
	size_t bytes;               /* accounted bytes: payloads + bookkeeping */
	size_t payload_bytes;
	uint64_t updated_ms;
	uint8_t have[32];           /* bitmap of received positions (index current - 1) */
	uint8_t **payloads;         /* total entries */
	size_t *lens;
	struct reasm_set *hash_next;
	struct reasm_set *lru_prev, *lru_next; /* lru_prev = older */
};

struct nym_reassembler {
	size_t max_bytes, max_sets;
	size_t bytes, sets;
	struct reasm_set *buckets[REASM_BUCKETS];
	struct reasm_set *oldest, *newest;
	/* ids of sets already delivered: a ring of REASM_RECENT slots (0 = empty), each slot
	 * also chained into a small hash for lookups */
	int32_t recent[REASM_RECENT];
	uint16_t recent_next[REASM_RECENT];
	uint16_t recent_head[REASM_RECENT_BUCKETS];
	size_t recent_pos;
	struct nym_reasm_stats stats;
};

static size_t bucket_of(int32_t id)
{
	return ((uint32_t)id * 2654435761u) >> 22; /* top 10 bits */
}

static struct reasm_set *set_find(const struct nym_reassembler *r, int32_t id)
{
	struct reasm_set *s = r->buckets[bucket_of(id)];

	while (s && s->id != id)
		s = s->hash_next;
	return s;
}

static size_t set_overhead(uint8_t total)
{
	return sizeof(struct reasm_set) + (size_t)total * (sizeof(uint8_t *) + sizeof(size_t));
}

static void lru_unlink(struct nym_reassembler *r, struct reasm_set *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		r->oldest = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		r->newest = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push_newest(struct nym_reassembler *r, struct reasm_set *s)
{
	s->lru_prev = r->newest;
	s->lru_next = NULL;
	if (r->newest)
		r->newest->lru_next = s;
	else
		r->oldest = s;
	r->newest = s;
}

static void set_destroy(struct reasm_set *s)
{
	for (size_t i = 0; i < s->total; i++)
		free(s->payloads[i]);
	free(s->payloads);
	free(s->lens);
	free(s);
}

/* Unlinks s from every index, subtracts its bytes and frees it. */
static void set_remove(struct nym_reassembler *r, struct reasm_set *s)
{
	struct reasm_set **pp = &r->buckets[bucket_of(s->id)];

	while (*pp && *pp != s)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = s->hash_next;
	lru_unlink(r, s);
	r->bytes -= s->bytes;
	r->sets--;
	set_destroy(s);
}

static struct reasm_set *set_create(uint8_t total, int32_t id, size_t ppp)
{
	struct reasm_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->payloads = calloc(total, sizeof(*s->payloads));
	s->lens = calloc(total, sizeof(*s->lens));
	if (!s->payloads || !s->lens) {
		free(s->payloads);
		free(s->lens);
		free(s);
		return NULL;
	}
	s->id = id;
	s->total = total;
	s->ppp = ppp;
	s->bytes = set_overhead(total);
	return s;
}

static void set_insert_index(struct nym_reassembler *r, struct reasm_set *s)
{
	size_t b = bucket_of(s->id);

	s->hash_next = r->buckets[b];
	r->buckets[b] = s;
	lru_push_newest(r, s);
	r->bytes += s->bytes;
	r->sets++;
}

struct nym_reassembler *nym_reasm_new(const struct nym_reasm_config *cfg)
{
	struct nym_reassembler *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max_bytes = cfg && cfg->max_bytes ? cfg->max_bytes : REASM_DEFAULT_MAX_BYTES;
	r->max_sets = cfg && cfg->max_sets ? cfg->max_sets : REASM_DEFAULT_MAX_SETS;
	for (size_t i = 0; i < REASM_RECENT_BUCKETS; i++)
		r->recent_head[i] = REASM_NONE;
	return r;
}

void nym_reasm_free(struct nym_reassembler *r)
{
	if (!r)
		return;
	while (r->oldest)
		set_remove(r, r->oldest);
	free(r);
}

void nym_reasm_get_stats(const struct nym_reassembler *r, struct nym_reasm_stats *s)
{
	*s = r->stats;
	s->sets = r->sets;
	s->bytes = r->bytes;
}

static size_t recent_bucket(int32_t id)
{
	return ((uint32_t)id * 2654435761u) >> 24;
}

static int recently_delivered(const struct nym_reassembler *r, int32_t id)
{
	for (uint16_t i = r->recent_head[recent_bucket(id)]; i != REASM_NONE; i = r->recent_next[i])
		if (r->recent[i] == id)
			return 1;
	return 0;
}

static void recent_unlink(struct nym_reassembler *r, uint16_t slot)
{
	uint16_t *pp = &r->recent_head[recent_bucket(r->recent[slot])];

	while (*pp != REASM_NONE && *pp != slot)
		pp = &r->recent_next[*pp];
	if (*pp == slot)
		*pp = r->recent_next[slot];
}

static void remember_delivered(struct nym_reassembler *r, int32_t id)
{
	uint16_t slot = (uint16_t)r->recent_pos;
	size_t b = recent_bucket(id);

	if (r->recent[slot] != 0)
		recent_unlink(r, slot);
	r->recent[slot] = id;
	r->recent_next[slot] = r->recent_head[b];
	r->recent_head[b] = slot;
	r->recent_pos = (r->recent_pos + 1) % REASM_RECENT;
}

static int has_position(const struct reasm_set *s, uint8_t current)
{
	unsigned i = (unsigned)current - 1;

	return (s->have[i / 8] >> (i % 8)) & 1;
}

static int set_complete(const struct reasm_set *s)
{
	return s->received == s->total;
}

/* Evicts the oldest sets (never keep) until `extra` more bytes and, if new_set, one more
 * set fit. Fails without evicting anything when even an empty table could not hold them. */
static int make_room(struct nym_reassembler *r, size_t extra, int new_set,
                     const struct reasm_set *keep)
{
	size_t floor = new_set ? 0 : keep->bytes;

	if (extra > r->max_bytes || floor > r->max_bytes - extra)
		return -1;
	while (r->bytes + extra > r->max_bytes || (new_set && r->sets + 1 > r->max_sets)) {
		struct reasm_set *victim = r->oldest;

		if (victim == keep)
			victim = victim->lru_next;
		if (!victim)
			return -1;
		set_remove(r, victim);
		r->stats.evicted_sets++;
	}
	return 0;
}

/* Walks prev links from s to the first set of its message. Every set on the way must be
 * complete and agree on the link both ways; bounded against cycles. */
static struct reasm_set *chain_start(const struct nym_reassembler *r, struct reasm_set *s)
{
	size_t steps = 0;

	while (s->prev_id != 0) {
		struct reasm_set *p = set_find(r, s->prev_id);

		if (!p || !set_complete(p) || p->next_id != s->id || ++steps > r->sets)
			return NULL;
		s = p;
	}
	return s;
}

/* From the first set, checks the chain forward to a set without a next link; returns the
 * total payload length and number of sets, or 0 sets if incomplete. */
static size_t chain_measure(const struct nym_reassembler *r, struct reasm_set *s,
                            size_t *total_len)
{
	size_t n = 1, len = s->payload_bytes;

	while (s->next_id != 0) {
		struct reasm_set *nx = set_find(r, s->next_id);

		if (!nx || !set_complete(nx) || nx->prev_id != s->id || ++n > r->sets)
			return 0;
		len += nx->payload_bytes;
		s = nx;
	}
	*total_len = len;
	return n;
}

static int deliver_chain(struct nym_reassembler *r, struct reasm_set *start, size_t n_sets,
                         size_t total_len, struct nym_reasm_message *out)
{
	uint8_t *data = malloc(total_len ? total_len : 1);
	size_t pos = 0;
	struct reasm_set *s = start;

	if (!data)
		return NYM_CHUNK_ERR_NOMEM;
	out->first_set_id = start->id;
	for (size_t k = 0; k < n_sets; k++) {
		int32_t next = s->next_id;

		for (size_t i = 0; i < s->total; i++) {
			if (s->lens[i])
				memcpy(data + pos, s->payloads[i], s->lens[i]);
			pos += s->lens[i];
		}
		remember_delivered(r, s->id);
		set_remove(r, s);
		s = next ? set_find(r, next) : NULL;
	}
	out->data = data;
	out->len = total_len;
	out->n_sets = n_sets;
	r->stats.delivered++;
	return NYM_REASM_COMPLETE;
}

/* Checks the fragment against what its set already holds; returns the set (or NULL for a
 * new set) through *found, or an error / NYM_REASM_DUPLICATE. */
static int check_against_set(struct nym_reassembler *r, const struct nym_fragment *f, size_t ppp,
                             struct reasm_set **found)
{
	struct reasm_set *s = set_find(r, f->header.set_id);

	*found = s;
	if (!s)
		return recently_delivered(r, f->header.set_id) ? NYM_REASM_DUPLICATE : NYM_CHUNK_OK;
	if (s->total != f->header.total || s->ppp != ppp)
		return NYM_CHUNK_ERR_INCONSISTENT;
	if (has_position(s, f->header.current))
		return NYM_REASM_DUPLICATE;
	return NYM_CHUNK_OK;
}

static int validate_fragment(const uint8_t *frag, size_t len, size_t ppp, struct nym_fragment *f)
{
	int rc = nym_fragment_decode(frag, len, f);

	if (rc)
		return rc;
	if (ppp < NYM_FRAG_MIN_PPP)
		return NYM_CHUNK_ERR_ARG;
	return nym_fragment_check_len(f, ppp);
}

static int store_fragment(struct nym_reassembler *r, struct reasm_set *s, int is_new,
                          const struct nym_fragment *f, uint64_t now_ms)
{
	unsigned i = (unsigned)f->header.current - 1;
	uint8_t *copy = NULL;

	if (f->payload_len) {
		copy = malloc(f->payload_len);
		if (!copy)
			return NYM_CHUNK_ERR_NOMEM;
		memcpy(copy, f->payload, f->payload_len);
	}
	if (is_new) {
		set_insert_index(r, s);
	} else {
		lru_unlink(r, s);
		lru_push_newest(r, s);
	}
	s->payloads[i] = copy;
	s->lens[i] = f->payload_len;
	s->have[i / 8] |= (uint8_t)(1u << (i % 8));
	s->received++;
	s->bytes += f->payload_len;
	s->payload_bytes += f->payload_len;
	r->bytes += f->payload_len;
	s->updated_ms = now_ms;
	if (f->header.prev_set_id)
		s->prev_id = f->header.prev_set_id;
	if (f->header.next_set_id)
		s->next_id = f->header.next_set_id;
	return NYM_CHUNK_OK;
}

static int reject(struct nym_reassembler *r, int rc)
{
	r->stats.rejected++;
	return rc;
}

int nym_reasm_insert(struct nym_reassembler *r, const uint8_t *frag, size_t len, size_t ppp,
                     uint64_t now_ms, struct nym_reasm_message *out)
{
	struct nym_fragment f;
	struct reasm_set *s = NULL, *start;
	size_t total_len = 0, n_sets;
	int rc, is_new;

	if (!r || !frag || !out)
		return NYM_CHUNK_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (ppp == 0)
		ppp = len;
	rc = validate_fragment(frag, len, ppp, &f);
	if (rc == NYM_CHUNK_OK)
		rc = check_against_set(r, &f, ppp, &s);
	if (rc == NYM_REASM_DUPLICATE) {
		r->stats.duplicates++;
		return rc;
	}
	if (rc < 0)
		return reject(r, rc);
	is_new = s == NULL;
	if (is_new) {
		s = set_create(f.header.total, f.header.set_id, ppp);
		if (!s)
			return reject(r, NYM_CHUNK_ERR_NOMEM);
	}
	if (make_room(r, f.payload_len + (is_new ? s->bytes : 0), is_new, s) != 0) {
		if (is_new)
			set_destroy(s);
		return reject(r, NYM_CHUNK_ERR_TOO_BIG);
	}
	rc = store_fragment(r, s, is_new, &f, now_ms);
	if (rc) {
		if (is_new)
			set_destroy(s);
		return reject(r, rc);
	}
	if (!set_complete(s))
		return NYM_REASM_PENDING;
	start = chain_start(r, s);
	n_sets = start ? chain_measure(r, start, &total_len) : 0;
	if (n_sets == 0)
		return NYM_REASM_PENDING;
	return deliver_chain(r, start, n_sets, total_len, out);
}

size_t nym_reasm_expire(struct nym_reassembler *r, uint64_t now_ms, uint64_t max_age_ms)
{
	size_t n = 0;
	struct reasm_set *s;

	if (!r)
		return 0;
	s = r->oldest;
	while (s) {
		struct reasm_set *next = s->lru_next;

		if (now_ms >= s->updated_ms && now_ms - s->updated_ms >= max_age_ms) {
			set_remove(r, s);
			r->stats.expired_sets++;
			n++;
		}
		s = next;
	}
	return n;
}
