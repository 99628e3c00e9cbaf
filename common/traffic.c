/* Client traffic engine: see traffic.h. */
#include "traffic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

#define MS (1000000ull)
#define SEC (1000000000ull)
#define NO_POS SIZE_MAX
#define EMPTY_SLOT UINT32_MAX

/* sending_delay_controller.rs */
#define BACKPRESSURE_THRESHOLD 10
#define INCREASE_DELAY_MIN_CHANGE_INTERVAL (1 * SEC)
#define DECREASE_DELAY_MIN_CHANGE_INTERVAL (2 * SEC)
#define ACCEPTABLE_TIME_WITHOUT_BACKPRESSURE (2 * SEC)
#define MIN_DELAY_MULTIPLIER 1
#define MAX_DELAY_MULTIPLIER 6
#define DEFAULT_GATEWAY_CHANNEL 32 /* mix_traffic/mod.rs MIX_MESSAGE_RECEIVER_BUFFER_SIZE */

struct queued {
	void *packet;
	uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN];
	uint8_t has_frag_id;
};

struct lane_buf {
	struct ns_lane key;
	struct queued *ring;
	size_t cap, head, len;
	uint64_t messages_transmitted;
	uint64_t last_activity_ns;
};

struct pending {
	uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN];
	uint8_t in_use;
	uint64_t delay_ns;
	uint32_t retransmissions;
	uint32_t max_retransmissions;
	uint64_t deadline_ns;
	size_t heap_pos; /* NO_POS: no timer running */
};

struct ns_traffic {
	struct ns_traffic_config cfg;
	struct ns_traffic_hooks hooks;
	struct ns_traffic_stats st;

	struct lane_buf **lanes;
	size_t nlanes;

	struct pending *slab;   /* max_pending_acks entries, stable indices */
	uint32_t *free_list;
	size_t nfree;
	uint32_t *index;        /* open addressing, linear probing: ~(slab index); 0 = EMPTY_SLOT,
	                         * so the table starts as untouched zero pages (idx_get/idx_set) */
	size_t fresh;           /* slab slots [fresh, max) were never used (not in free_list) */
	size_t index_mask;
	uint32_t *heap;         /* ack timers: slab indices, min-heap on deadline */
	size_t heap_len;

	int started;
	uint64_t main_deadline, loop_deadline;
	int immediate_blocked;
	size_t gw_used, gw_capacity;
	uint32_t multiplier;
	uint64_t multiplier_changed_ns, backpressure_seen_ns;
};

static uint32_t idx_get(const struct ns_traffic *t, size_t pos)
{
	return ~t->index[pos];
}

static void idx_set(struct ns_traffic *t, size_t pos, uint32_t slot)
{
	t->index[pos] = ~slot;
}


void ns_traffic_config_default(struct ns_traffic_config *c)
{
	memset(c, 0, sizeof(*c));
	c->average_packet_delay_ns = 15 * MS;
	c->message_sending_average_delay_ns = 20 * MS;
	c->maximum_number_of_retransmissions = NS_TRAFFIC_UNLIMITED;
	c->loop_cover_traffic_average_delay_ns = 200 * MS;
	c->cover_traffic_primary_size_ratio = 0.70;
	c->average_ack_delay_ns = 15 * MS;
	c->ack_wait_multiplier = 1.5;
	c->ack_wait_addition_ns = 1500 * MS;
	c->lane_stale_after_ns = 10 * 60 * SEC;
	c->small_lane_threshold = 100;
	c->oldest_lane_set_size = 4;
	c->max_queued_packets = 65536;
	c->max_lanes = 4096;
	c->max_pending_acks = 131072;
	c->max_events_per_run = 256;
}

void ns_traffic_set_high_default_traffic_volume(struct ns_traffic_config *c)
{
	c->average_packet_delay_ns = 10 * MS;
	c->loop_cover_traffic_average_delay_ns = 2000000 * MS;
	c->message_sending_average_delay_ns = 4 * MS;
}

void ns_traffic_set_no_cover_traffic(struct ns_traffic_config *c)
{
	c->disable_loop_cover_traffic_stream = 1;
	c->disable_main_poisson_packet_distribution = 1;
}

void ns_traffic_set_no_poisson_process(struct ns_traffic_config *c)
{
	c->disable_main_poisson_packet_distribution = 1;
}

void ns_traffic_set_no_per_hop_delays(struct ns_traffic_config *c)
{
	c->average_packet_delay_ns = 0;
	c->average_ack_delay_ns = 0;
}

void ns_traffic_set_no_delay(struct ns_traffic_config *c)
{
	ns_traffic_set_no_cover_traffic(c);
	ns_traffic_set_no_per_hop_delays(c);
}

/* ---- small helpers ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t now_ns(const struct ns_traffic *t)
{
	return t->hooks.now_ns(t->hooks.ctx);
}

static uint64_t rand_u64(struct ns_traffic *t)
{
	uint64_t r;

	if (t->hooks.random_u64)
		return t->hooks.random_u64(t->hooks.ctx);
	ns_random(&r, sizeof(r));
	return r;
}

static uint64_t rand_below(struct ns_traffic *t, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t r;

	do
		r = rand_u64(t);
	while (r >= limit);
	return r % n;
}

/* Uniform in (0, 1]. */
static double rand_unit_open0(struct ns_traffic *t)
{
	return (double)((rand_u64(t) >> 11) + 1) * 0x1p-53;
}

uint64_t ns_traffic_sample_exp_ns(struct ns_traffic *t, uint64_t mean_ns)
{
	double x;

	if (mean_ns == 0)
		return 0;
	x = -log(rand_unit_open0(t)) * (double)mean_ns;
	if (x >= 0x1p63)
		return UINT64_MAX / 2;
	return (uint64_t)llround(x);
}

uint64_t ns_traffic_ack_timeout_ns(const struct ns_traffic *t, uint64_t total_delay_ns)
{
	/* Delay * f64 truncates to whole nanoseconds. */
	double scaled = (double)total_delay_ns * t->cfg.ack_wait_multiplier;
	uint64_t base = scaled >= 0x1p63 ? UINT64_MAX / 2 : (uint64_t)scaled;

	return sat_add(base, t->cfg.ack_wait_addition_ns);
}

static void notify_schedule(struct ns_traffic *t)
{
	if (t->hooks.schedule_changed)
		t->hooks.schedule_changed(t->hooks.ctx);
}

static int lane_equal(const struct ns_lane *a, const struct ns_lane *b)
{
	return a->kind == b->kind && a->conn_id == b->conn_id;
}

static int lane_valid(const struct ns_lane *l)
{
	if (l->kind > NS_LANE_CONNECTION)
		return 0;
	return l->kind == NS_LANE_CONNECTION || l->conn_id == 0;
}

static int frag_is_cover(const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN])
{
	static const uint8_t zero[NS_TRAFFIC_FRAG_ID_LEN];

	return memcmp(id, zero, NS_TRAFFIC_FRAG_ID_LEN) == 0;
}

/* ---- pending acks: slab + hash index + timer heap ---- */

static size_t frag_hash(const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < NS_TRAFFIC_FRAG_ID_LEN; i++)
		h = (h ^ id[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

static size_t index_find_pos(const struct ns_traffic *t, const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN])
{
	size_t pos = frag_hash(id) & t->index_mask;

	while (idx_get(t, pos) != EMPTY_SLOT) {
		if (memcmp(t->slab[idx_get(t, pos)].frag_id, id, NS_TRAFFIC_FRAG_ID_LEN) == 0)
			return pos;
		pos = (pos + 1) & t->index_mask;
	}
	return NO_POS;
}

static struct pending *pending_find(const struct ns_traffic *t,
                                    const uint8_t id[NS_TRAFFIC_FRAG_ID_LEN])
{
	size_t pos = index_find_pos(t, id);

	return pos == NO_POS ? NULL : &t->slab[idx_get(t, pos)];
}

static int heap_less(const struct ns_traffic *t, size_t a, size_t b)
{
	return t->slab[t->heap[a]].deadline_ns < t->slab[t->heap[b]].deadline_ns;
}

static void heap_swap(struct ns_traffic *t, size_t a, size_t b)
{
	uint32_t tmp = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = tmp;
	t->slab[t->heap[a]].heap_pos = a;
	t->slab[t->heap[b]].heap_pos = b;
}

static void heap_up(struct ns_traffic *t, size_t i)
{
	while (i > 0 && heap_less(t, i, (i - 1) / 2)) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ns_traffic *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->heap_len && heap_less(t, l, m))
			m = l;
		if (r < t->heap_len && heap_less(t, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void timer_stop(struct ns_traffic *t, struct pending *p)
{
	size_t i = p->heap_pos;

	if (i == NO_POS)
		return;
	p->heap_pos = NO_POS;
	t->heap_len--;
	if (i == t->heap_len)
		return;
	t->heap[i] = t->heap[t->heap_len];
	t->slab[t->heap[i]].heap_pos = i;
	heap_up(t, i);
	heap_down(t, t->slab[t->heap[i]].heap_pos);
}

static void timer_start(struct ns_traffic *t, struct pending *p, uint64_t now)
{
	timer_stop(t, p);
	p->deadline_ns = sat_add(now, ns_traffic_ack_timeout_ns(t, p->delay_ns));
	p->heap_pos = t->heap_len;
	t->heap[t->heap_len++] = (uint32_t)(p - t->slab);
	heap_up(t, p->heap_pos);
}

static struct pending *pending_insert(struct ns_traffic *t, const struct ns_traffic_item *it)
{
	uint32_t slot = t->nfree ? t->free_list[--t->nfree] : (uint32_t)t->fresh++;
	struct pending *p = &t->slab[slot];
	size_t pos = frag_hash(it->frag_id) & t->index_mask;

	memset(p, 0, sizeof(*p));
	memcpy(p->frag_id, it->frag_id, NS_TRAFFIC_FRAG_ID_LEN);
	p->in_use = 1;
	p->delay_ns = it->total_delay_ns;
	p->max_retransmissions = it->max_retransmissions;
	p->heap_pos = NO_POS;
	while (idx_get(t, pos) != EMPTY_SLOT)
		pos = (pos + 1) & t->index_mask;
	idx_set(t, pos, slot);
	return p;
}

/* Linear-probing delete with backward shift. */
static void index_delete_at(struct ns_traffic *t, size_t hole)
{
	size_t pos = hole;

	idx_set(t, hole, EMPTY_SLOT);
	for (;;) {
		size_t home;

		pos = (pos + 1) & t->index_mask;
		if (idx_get(t, pos) == EMPTY_SLOT)
			return;
		home = frag_hash(t->slab[idx_get(t, pos)].frag_id) & t->index_mask;
		/* Move the entry into the hole unless its home lies cyclically in (hole, pos]. */
		if (((pos - home) & t->index_mask) >= ((pos - hole) & t->index_mask)) {
			idx_set(t, hole, idx_get(t, pos));
			idx_set(t, pos, EMPTY_SLOT);
			hole = pos;
		}
	}
}

static void pending_remove(struct ns_traffic *t, struct pending *p)
{
	size_t pos = index_find_pos(t, p->frag_id);

	timer_stop(t, p);
	if (pos != NO_POS)
		index_delete_at(t, pos);
	p->in_use = 0;
	t->free_list[t->nfree++] = (uint32_t)(p - t->slab);
}

static void forget_pending_of(struct ns_traffic *t, const struct queued *q)
{
	struct pending *p;

	if (!q->has_frag_id)
		return;
	p = pending_find(t, q->frag_id);
	if (p)
		pending_remove(t, p);
}

/* ---- lanes ---- */

static struct lane_buf *lane_find(const struct ns_traffic *t, const struct ns_lane *key,
                                  size_t *at)
{
	for (size_t i = 0; i < t->nlanes; i++) {
		if (lane_equal(&t->lanes[i]->key, key)) {
			if (at)
				*at = i;
			return t->lanes[i];
		}
	}
	return NULL;
}

static struct lane_buf *lane_create(struct ns_traffic *t, const struct ns_lane *key, uint64_t now)
{
	struct lane_buf *lb = calloc(1, sizeof(*lb));

	if (!lb)
		return NULL;
	lb->key = *key;
	lb->last_activity_ns = now;
	t->lanes[t->nlanes++] = lb;
	t->st.lanes = t->nlanes;
	return lb;
}

static void lane_destroy_at(struct ns_traffic *t, size_t at)
{
	free(t->lanes[at]->ring);
	free(t->lanes[at]);
	t->lanes[at] = t->lanes[--t->nlanes];
	t->st.lanes = t->nlanes;
}

static int lane_reserve(struct lane_buf *lb, size_t extra)
{
	size_t need = lb->len + extra, cap = lb->cap ? lb->cap : 16;
	struct queued *ring;

	if (need <= lb->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return NS_TRAFFIC_E_NOMEM;
	for (size_t i = 0; i < lb->len; i++)
		ring[i] = lb->ring[(lb->head + i) % lb->cap];
	free(lb->ring);
	lb->ring = ring;
	lb->cap = cap;
	lb->head = 0;
	return 0;
}

static void lane_push_back(struct lane_buf *lb, const struct queued *q)
{
	lb->ring[(lb->head + lb->len) % lb->cap] = *q;
	lb->len++;
}

static void lane_push_front(struct lane_buf *lb, const struct queued *q)
{
	lb->head = (lb->head + lb->cap - 1) % lb->cap;
	lb->ring[lb->head] = *q;
	lb->len++;
}

static struct queued lane_pop_front(struct lane_buf *lb)
{
	struct queued q = lb->ring[lb->head];

	lb->head = (lb->head + 1) % lb->cap;
	lb->len--;
	return q;
}

static size_t drop_lane_at(struct ns_traffic *t, size_t at, enum ns_drop_reason why)
{
	struct lane_buf *lb = t->lanes[at];
	struct ns_lane key = lb->key;
	size_t n = lb->len;

	while (lb->len) {
		struct queued q = lane_pop_front(lb);

		forget_pending_of(t, &q);
		t->st.queued--;
		t->st.dropped++;
		if (t->hooks.dropped)
			t->hooks.dropped(t->hooks.ctx, &key, q.packet, why);
	}
	lane_destroy_at(t, at);
	return n;
}

static void prune_stale_lanes(struct ns_traffic *t, uint64_t now)
{
	size_t i = 0;

	while (i < t->nlanes) {
		uint64_t last = t->lanes[i]->last_activity_ns;

		if (now > last && now - last > t->cfg.lane_stale_after_ns)
			drop_lane_at(t, i, NS_DROP_LANE_STALE);
		else
			i++;
	}
}

/* ---- scheduling between lanes (transmission_buffer.rs) ---- */

static size_t pick_small_lane(struct ns_traffic *t)
{
	size_t nsmall = 0, k;

	for (size_t i = 0; i < t->nlanes; i++)
		nsmall += t->lanes[i]->len < t->cfg.small_lane_threshold;
	if (nsmall == 0)
		return NO_POS;
	k = (size_t)rand_below(t, nsmall);
	for (size_t i = 0; i < t->nlanes; i++) {
		if (t->lanes[i]->len < t->cfg.small_lane_threshold && k-- == 0)
			return i;
	}
	return NO_POS;
}

/* Count of lanes with more than / exactly c packets transmitted. */
static void count_around(const struct ns_traffic *t, uint64_t c, size_t *above, size_t *equal)
{
	*above = *equal = 0;
	for (size_t i = 0; i < t->nlanes; i++) {
		*above += t->lanes[i]->messages_transmitted > c;
		*equal += t->lanes[i]->messages_transmitted == c;
	}
}

/* Uniform over the oldest set: the oldest_lane_set_size lanes that transmitted most.
 * Nym breaks ties at the cut by HashMap order, i.e. at random; so do we. */
static size_t pick_oldest_set_lane(struct ns_traffic *t)
{
	size_t set = t->cfg.oldest_lane_set_size, above, equal, k;
	uint64_t cut = UINT64_MAX;

	if (set >= t->nlanes)
		return (size_t)rand_below(t, t->nlanes);
	/* cut = the set-th largest transmitted count. */
	for (;;) {
		uint64_t next = 0;
		int found = 0;

		for (size_t i = 0; i < t->nlanes; i++) {
			uint64_t m = t->lanes[i]->messages_transmitted;

			if (m < cut && (!found || m > next)) {
				next = m;
				found = 1;
			}
		}
		cut = next;
		count_around(t, cut, &above, &equal);
		if (above + equal >= set)
			break;
	}
	k = (size_t)rand_below(t, set);
	if (k < above) {
		for (size_t i = 0; i < t->nlanes; i++)
			if (t->lanes[i]->messages_transmitted > cut && k-- == 0)
				return i;
	}
	/* One of the (set - above) tied lanes chosen at random among the equal ones. */
	k = (size_t)rand_below(t, equal);
	for (size_t i = 0; i < t->nlanes; i++)
		if (t->lanes[i]->messages_transmitted == cut && k-- == 0)
			return i;
	return 0;
}

static size_t pick_lane(struct ns_traffic *t)
{
	size_t at = pick_small_lane(t);

	if (at != NO_POS)
		return at;
	if (rand_below(t, 3) < 2)
		return pick_oldest_set_lane(t);
	return (size_t)rand_below(t, t->nlanes);
}

/* ---- sending ---- */

enum { SENT_NONE = 0, SENT_REAL = 1, SENT_BUSY = -1 };

static void requeue_front(struct ns_traffic *t, const struct ns_lane *key, const struct queued *q,
                          uint64_t now)
{
	struct lane_buf *lb = lane_find(t, key, NULL);

	/* Room is guaranteed: the packet was counted in st.queued a moment ago, but the lane
	 * may have been emptied and freed. */
	if (!lb && t->nlanes < t->cfg.max_lanes)
		lb = lane_create(t, key, now);
	if (!lb || lane_reserve(lb, 1) != 0) {
		forget_pending_of(t, q);
		t->st.dropped++;
		if (t->hooks.dropped)
			t->hooks.dropped(t->hooks.ctx, key, q->packet, NS_DROP_NO_MEMORY);
		return;
	}
	lane_push_front(lb, q);
	if (lb->messages_transmitted)
		lb->messages_transmitted--;
	t->st.queued++;
}

static int send_next_real(struct ns_traffic *t, uint64_t now)
{
	size_t at;
	struct lane_buf *lb;
	struct ns_lane key;
	struct queued q;
	struct pending *p;

	if (t->nlanes == 0)
		return SENT_NONE;
	at = pick_lane(t);
	lb = t->lanes[at];
	key = lb->key;
	q = lane_pop_front(lb);
	lb->messages_transmitted++;
	t->st.queued--;
	if (lb->len == 0)
		lane_destroy_at(t, at);

	if (t->hooks.send_real(t->hooks.ctx, &key, q.packet) != 0) {
		t->st.real_busy++;
		requeue_front(t, &key, &q, now);
		return SENT_BUSY;
	}
	t->st.real_sent++;
	if (q.has_frag_id && !frag_is_cover(q.frag_id)) {
		p = pending_find(t, q.frag_id);
		if (p)
			timer_start(t, p, now);
	}
	return SENT_REAL;
}

static int use_secondary_size(struct ns_traffic *t)
{
	if (!t->cfg.has_secondary_packet_size)
		return 0;
	return !(rand_unit_open0(t) <= t->cfg.cover_traffic_primary_size_ratio);
}

static void send_cover(struct ns_traffic *t, enum ns_cover_kind kind)
{
	uint64_t hop = kind == NS_COVER_LOOP_STREAM ? t->cfg.loop_cover_traffic_average_delay_ns
	                                            : t->cfg.average_packet_delay_ns;
	int secondary = use_secondary_size(t);

	if (t->hooks.send_cover(t->hooks.ctx, kind, hop, secondary) != 0) {
		t->st.cover_skipped++;
		return;
	}
	if (kind == NS_COVER_LOOP_STREAM)
		t->st.cover_sent_loop++;
	else
		t->st.cover_sent_main++;
}

/* SendingDelayController, evaluated once per main-stream slot. */
static void adjust_multiplier(struct ns_traffic *t, uint64_t now)
{
	if (t->gw_used > BACKPRESSURE_THRESHOLD)
		t->backpressure_seen_ns = now;
	if (t->gw_capacity && t->gw_used >= t->gw_capacity &&
	    now > t->multiplier_changed_ns + INCREASE_DELAY_MIN_CHANGE_INTERVAL &&
	    t->multiplier < MAX_DELAY_MULTIPLIER) {
		t->multiplier++;
		t->multiplier_changed_ns = now;
	}
	if (!(now < t->backpressure_seen_ns + ACCEPTABLE_TIME_WITHOUT_BACKPRESSURE) &&
	    now > t->multiplier_changed_ns + DECREASE_DELAY_MIN_CHANGE_INTERVAL &&
	    t->multiplier > MIN_DELAY_MULTIPLIER) {
		t->multiplier--;
		t->multiplier_changed_ns = now;
	}
	t->st.delay_multiplier = t->multiplier;
}

static int poisson_main(const struct ns_traffic *t)
{
	return !t->cfg.disable_main_poisson_packet_distribution;
}

static int loop_enabled(const struct ns_traffic *t)
{
	return !t->cfg.disable_loop_cover_traffic_stream;
}

static void main_slot(struct ns_traffic *t, uint64_t now)
{
	uint64_t mean;

	adjust_multiplier(t, now);
	mean = t->cfg.message_sending_average_delay_ns * t->multiplier;
	t->main_deadline = sat_add(t->main_deadline, ns_traffic_sample_exp_ns(t, mean));
	if (send_next_real(t, now) == SENT_NONE)
		send_cover(t, NS_COVER_MAIN_STREAM);
	prune_stale_lanes(t, now);
}

static void loop_slot(struct ns_traffic *t)
{
	t->loop_deadline = sat_add(t->loop_deadline,
	                           ns_traffic_sample_exp_ns(t, t->cfg.loop_cover_traffic_average_delay_ns));
	send_cover(t, NS_COVER_LOOP_STREAM);
}

static void ack_timer_expired(struct ns_traffic *t)
{
	struct pending *p = &t->slab[t->heap[0]];
	uint8_t id[NS_TRAFFIC_FRAG_ID_LEN];
	uint32_t global = t->cfg.maximum_number_of_retransmissions;
	uint32_t done = p->retransmissions;

	timer_stop(t, p);
	memcpy(id, p->frag_id, sizeof(id));
	if ((p->max_retransmissions != NS_TRAFFIC_UNLIMITED && done >= p->max_retransmissions) ||
	    (global != NS_TRAFFIC_UNLIMITED && done >= global)) {
		pending_remove(t, p);
		t->st.abandoned++;
		if (t->hooks.abandoned)
			t->hooks.abandoned(t->hooks.ctx, id);
		return;
	}
	t->st.retransmit_requests++;
	t->hooks.retransmit(t->hooks.ctx, id, done);
}

/* ---- public API ---- */

static int config_valid(const struct ns_traffic_config *c)
{
	if (!c->disable_main_poisson_packet_distribution && c->message_sending_average_delay_ns == 0)
		return 0;
	if (!c->disable_loop_cover_traffic_stream && c->loop_cover_traffic_average_delay_ns == 0)
		return 0;
	if (!(c->ack_wait_multiplier >= 0.0) || !(c->cover_traffic_primary_size_ratio >= 0.0) ||
	    c->cover_traffic_primary_size_ratio > 1.0)
		return 0;
	if (c->max_lanes == 0 || c->max_queued_packets == 0 || c->max_events_per_run == 0)
		return 0;
	if (c->max_pending_acks == 0 || c->max_pending_acks >= (size_t)EMPTY_SLOT / 2)
		return 0;
	return 1;
}

struct ns_traffic *ns_traffic_new(const struct ns_traffic_config *cfg,
                                  const struct ns_traffic_hooks *hooks)
{
	struct ns_traffic *t;
	size_t isize = 1;

	if (!cfg || !hooks || !config_valid(cfg) || !hooks->now_ns || !hooks->send_real ||
	    !hooks->send_cover || !hooks->retransmit)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	t->hooks = *hooks;
	while (isize < 2 * cfg->max_pending_acks)
		isize *= 2;
	t->lanes = calloc(cfg->max_lanes, sizeof(*t->lanes));
	t->slab = calloc(cfg->max_pending_acks, sizeof(*t->slab));
	t->free_list = calloc(cfg->max_pending_acks, sizeof(*t->free_list));
	t->heap = calloc(cfg->max_pending_acks, sizeof(*t->heap));
	t->index = calloc(isize, sizeof(*t->index));
	if (!t->lanes || !t->slab || !t->free_list || !t->heap || !t->index) {
		ns_traffic_free(t);
		return NULL;
	}
	t->index_mask = isize - 1;
	t->nfree = 0; /* slots come from [fresh, max) first: nothing to pre-fill */
	t->fresh = 0;
	t->gw_capacity = DEFAULT_GATEWAY_CHANNEL;
	t->multiplier = MIN_DELAY_MULTIPLIER;
	t->st.delay_multiplier = t->multiplier;
	return t;
}

void ns_traffic_free(struct ns_traffic *t)
{
	if (!t)
		return;
	while (t->lanes && t->nlanes)
		drop_lane_at(t, t->nlanes - 1, NS_DROP_SHUTDOWN);
	free(t->lanes);
	free(t->slab);
	free(t->free_list);
	free(t->heap);
	free(t->index);
	free(t);
}

void ns_traffic_start(struct ns_traffic *t)
{
	uint64_t now = now_ns(t);

	t->started = 1;
	t->multiplier_changed_ns = now;
	t->backpressure_seen_ns = now;
	if (poisson_main(t))
		t->main_deadline = sat_add(now, ns_traffic_sample_exp_ns(t, t->cfg.message_sending_average_delay_ns));
	if (loop_enabled(t))
		t->loop_deadline = sat_add(now, ns_traffic_sample_exp_ns(t, t->cfg.loop_cover_traffic_average_delay_ns));
	notify_schedule(t);
}

uint64_t ns_traffic_now(const struct ns_traffic *t)
{
	return now_ns(t);
}

uint64_t ns_traffic_next_deadline(const struct ns_traffic *t)
{
	uint64_t next = UINT64_MAX;

	if (t->heap_len)
		next = t->slab[t->heap[0]].deadline_ns;
	if (!t->started)
		return next;
	if (poisson_main(t) && t->main_deadline < next)
		next = t->main_deadline;
	if (loop_enabled(t) && t->loop_deadline < next)
		next = t->loop_deadline;
	if (!poisson_main(t) && t->st.queued && !t->immediate_blocked)
		next = 0;
	return next;
}

/* Runs the earliest due event; 0 if nothing is due. */
static int run_one(struct ns_traffic *t, uint64_t now)
{
	uint64_t timer = t->heap_len ? t->slab[t->heap[0]].deadline_ns : UINT64_MAX;
	uint64_t slot = t->started && poisson_main(t) ? t->main_deadline : UINT64_MAX;
	uint64_t loop = t->started && loop_enabled(t) ? t->loop_deadline : UINT64_MAX;

	if (t->started && !poisson_main(t) && t->st.queued && !t->immediate_blocked) {
		if (send_next_real(t, now) == SENT_BUSY)
			t->immediate_blocked = 1;
		else
			prune_stale_lanes(t, now);
		return 1;
	}
	if (timer <= now && timer <= slot && timer <= loop) {
		ack_timer_expired(t);
		return 1;
	}
	if (slot <= now && slot <= loop) {
		main_slot(t, now);
		return 1;
	}
	if (loop <= now) {
		loop_slot(t);
		return 1;
	}
	return 0;
}

unsigned ns_traffic_run(struct ns_traffic *t)
{
	uint64_t now = now_ns(t);
	unsigned n = 0;

	while (n < t->cfg.max_events_per_run && run_one(t, now))
		n++;
	return n;
}

static int check_room(const struct ns_traffic *t, const struct ns_lane *lane,
                      const struct ns_traffic_item *items, size_t n)
{
	size_t frags = 0;

	if (n > t->cfg.max_queued_packets - t->st.queued)
		return NS_TRAFFIC_E_QUEUE_FULL;
	if (!lane_find(t, lane, NULL) && t->nlanes >= t->cfg.max_lanes)
		return NS_TRAFFIC_E_LANES_FULL;
	for (size_t i = 0; i < n; i++) {
		if (!items[i].has_frag_id)
			continue;
		if (frag_is_cover(items[i].frag_id))
			return NS_TRAFFIC_E_INVAL;
		frags++;
	}
	if (frags > t->nfree + (t->cfg.max_pending_acks - t->fresh))
		return NS_TRAFFIC_E_PENDING_FULL;
	return 0;
}

/* Inserts the batch's pending acks, or none if one is a duplicate. */
static int insert_pending_batch(struct ns_traffic *t, const struct ns_traffic_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].has_frag_id)
			continue;
		if (pending_find(t, items[i].frag_id)) {
			while (i-- > 0)
				if (items[i].has_frag_id)
					pending_remove(t, pending_find(t, items[i].frag_id));
			return NS_TRAFFIC_E_DUPLICATE;
		}
		pending_insert(t, &items[i]);
	}
	return 0;
}

int ns_traffic_enqueue(struct ns_traffic *t, const struct ns_lane *lane,
                       const struct ns_traffic_item *items, size_t n)
{
	uint64_t now;
	struct lane_buf *lb;
	int rc;

	if (!t || !lane || !lane_valid(lane) || (n && !items))
		return NS_TRAFFIC_E_INVAL;
	if (n == 0)
		return 0;
	rc = check_room(t, lane, items, n);
	if (rc)
		return rc;
	now = now_ns(t);
	lb = lane_find(t, lane, NULL);
	if (!lb && !(lb = lane_create(t, lane, now)))
		return NS_TRAFFIC_E_NOMEM;
	if (lane_reserve(lb, n) != 0)
		rc = NS_TRAFFIC_E_NOMEM;
	else
		rc = insert_pending_batch(t, items, n);
	if (rc) {
		if (lb->len == 0)
			lane_destroy_at(t, t->nlanes - 1);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct queued q = { .packet = items[i].packet, .has_frag_id = items[i].has_frag_id != 0 };

		memcpy(q.frag_id, items[i].frag_id, NS_TRAFFIC_FRAG_ID_LEN);
		lane_push_back(lb, &q);
	}
	lb->last_activity_ns = now;
	t->st.queued += n;
	notify_schedule(t);
	return 0;
}

int ns_traffic_ack(struct ns_traffic *t, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN])
{
	struct pending *p;

	if (frag_is_cover(frag_id)) {
		t->st.acks_cover++;
		return 0;
	}
	p = pending_find(t, frag_id);
	if (!p) {
		t->st.acks_unknown++;
		return 0;
	}
	pending_remove(t, p);
	t->st.acks_received++;
	notify_schedule(t);
	return 1;
}

int ns_traffic_retransmit_ready(struct ns_traffic *t,
                                const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN], void *packet,
                                uint64_t new_total_delay_ns)
{
	static const struct ns_lane retx = { NS_LANE_RETRANSMISSION, 0 };
	struct pending *p = pending_find(t, frag_id);
	struct lane_buf *lb;
	struct queued q = { .packet = packet, .has_frag_id = 1 };
	uint64_t now;

	if (!p)
		return NS_TRAFFIC_E_UNKNOWN;
	if (t->st.queued >= t->cfg.max_queued_packets)
		return NS_TRAFFIC_E_QUEUE_FULL;
	lb = lane_find(t, &retx, NULL);
	if (!lb && t->nlanes >= t->cfg.max_lanes)
		return NS_TRAFFIC_E_LANES_FULL;
	now = now_ns(t);
	if (!lb && !(lb = lane_create(t, &retx, now)))
		return NS_TRAFFIC_E_NOMEM;
	if (lane_reserve(lb, 1) != 0) {
		if (lb->len == 0)
			lane_destroy_at(t, t->nlanes - 1);
		return NS_TRAFFIC_E_NOMEM;
	}
	memcpy(q.frag_id, frag_id, NS_TRAFFIC_FRAG_ID_LEN);
	p->delay_ns = new_total_delay_ns;
	p->retransmissions++;
	lane_push_back(lb, &q);
	lb->last_activity_ns = now;
	t->st.queued++;
	t->st.retransmits_queued++;
	notify_schedule(t);
	return 0;
}

int ns_traffic_retransmit_failed(struct ns_traffic *t,
                                 const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN])
{
	struct pending *p = pending_find(t, frag_id);

	if (!p)
		return NS_TRAFFIC_E_UNKNOWN;
	timer_start(t, p, now_ns(t));
	notify_schedule(t);
	return 0;
}

int ns_traffic_forget(struct ns_traffic *t, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN])
{
	struct pending *p = pending_find(t, frag_id);

	if (!p)
		return 0;
	pending_remove(t, p);
	t->st.forgotten++;
	notify_schedule(t);
	return 1;
}

size_t ns_traffic_close_lane(struct ns_traffic *t, const struct ns_lane *lane)
{
	size_t at, n;

	if (!lane_find(t, lane, &at))
		return 0;
	n = drop_lane_at(t, at, NS_DROP_LANE_CLOSED);
	notify_schedule(t);
	return n;
}

size_t ns_traffic_lane_depth(const struct ns_traffic *t, const struct ns_lane *lane)
{
	const struct lane_buf *lb = lane_find(t, lane, NULL);

	return lb ? lb->len : 0;
}

size_t ns_traffic_lane_depths(const struct ns_traffic *t, struct ns_lane_depth *out, size_t max)
{
	for (size_t i = 0; i < t->nlanes && i < max; i++) {
		out[i].lane = t->lanes[i]->key;
		out[i].depth = t->lanes[i]->len;
	}
	return t->nlanes;
}

void ns_traffic_set_gateway_backlog(struct ns_traffic *t, size_t used, size_t capacity)
{
	t->gw_used = used;
	t->gw_capacity = capacity;
}

void ns_traffic_resume(struct ns_traffic *t)
{
	if (!t->immediate_blocked)
		return;
	t->immediate_blocked = 0;
	notify_schedule(t);
}

void ns_traffic_get_stats(const struct ns_traffic *t, struct ns_traffic_stats *out)
{
	*out = t->st;
	out->pending_acks = t->fresh - t->nfree;
	out->timers_running = t->heap_len;
	out->queued = t->st.queued;
	out->lanes = t->nlanes;
}
