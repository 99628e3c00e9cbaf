/* Delay queue: a binary min-heap ordered by (deadline, insertion sequence) under a single
 * ev_timer armed for the earliest deadline. */
#include <stdlib.h>

#include "node/node.h"

struct delay_item {
	uint64_t due_ns;
	uint64_t seq;
	void *data;
};

struct ns_delayq {
	struct delay_item *heap;
	size_t len, alloc, cap;
	uint64_t next_seq;
	struct ev_loop *loop;
	ev_timer timer;
	int firing;
	ns_delayq_fire_fn fire;
	void *ctx;
};

static int item_before(const struct delay_item *a, const struct delay_item *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void swap_items(struct delay_item *a, struct delay_item *b)
{
	struct delay_item t = *a;
	*a = *b;
	*b = t;
}

static void sift_up(struct delay_item *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!item_before(&h[i], &h[parent]))
			break;
		swap_items(&h[i], &h[parent]);
		i = parent;
	}
}

static void sift_down(struct delay_item *h, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < len && item_before(&h[l], &h[m]))
			m = l;
		if (r < len && item_before(&h[r], &h[m]))
			m = r;
		if (m == i)
			break;
		swap_items(&h[i], &h[m]);
		i = m;
	}
}

static void arm_timer(struct ns_delayq *q)
{
	if (!q->loop || q->firing)
		return;
	ev_timer_stop(q->loop, &q->timer);
	if (q->len == 0)
		return;
	uint64_t now = ns_node_now_ns();
	double after = q->heap[0].due_ns > now ? (double)(q->heap[0].due_ns - now) * 1e-9 : 0.0;
	ev_now_update(q->loop);
	ev_timer_set(&q->timer, after, 0.0);
	ev_timer_start(q->loop, &q->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ns_delayq *q = w->data;
	uint64_t now = ns_node_now_ns();
	void *data;
	q->firing = 1;
	while (ns_delayq_pop_due(q, now, &data) == 1)
		q->fire(q->ctx, data);
	q->firing = 0;
	arm_timer(q);
}

struct ns_delayq *ns_delayq_new(struct ev_loop *loop, size_t cap, ns_delayq_fire_fn fire, void *ctx)
{
	if (cap == 0 || (loop && !fire))
		return NULL;
	struct ns_delayq *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->cap = cap;
	q->loop = loop;
	q->fire = fire;
	q->ctx = ctx;
	ev_timer_init(&q->timer, on_timer, 0.0, 0.0);
	q->timer.data = q;
	return q;
}

static int grow(struct ns_delayq *q)
{
	size_t n = q->alloc ? q->alloc * 2 : 64;
	if (n > q->cap)
		n = q->cap;
	struct delay_item *h = realloc(q->heap, n * sizeof *h);
	if (!h)
		return NS_NODE_ERR_NOMEM;
	q->heap = h;
	q->alloc = n;
	return 0;
}

int ns_delayq_push(struct ns_delayq *q, uint64_t due_ns, void *data)
{
	if (!q)
		return NS_NODE_ERR_ARG;
	if (q->len >= q->cap)
		return NS_NODE_ERR_FULL;
	if (q->len == q->alloc && grow(q) != 0)
		return NS_NODE_ERR_NOMEM;
	q->heap[q->len] = (struct delay_item){ due_ns, q->next_seq++, data };
	sift_up(q->heap, q->len++);
	if (q->heap[0].seq == q->next_seq - 1)
		arm_timer(q);
	return 0;
}

int ns_delayq_pop_due(struct ns_delayq *q, uint64_t now_ns, void **data)
{
	if (!q || !data || q->len == 0 || q->heap[0].due_ns > now_ns)
		return 0;
	*data = q->heap[0].data;
	q->heap[0] = q->heap[--q->len];
	sift_down(q->heap, q->len, 0);
	return 1;
}

int ns_delayq_peek(const struct ns_delayq *q, uint64_t *due_ns)
{
	if (!q || q->len == 0)
		return 0;
	if (due_ns)
		*due_ns = q->heap[0].due_ns;
	return 1;
}

size_t ns_delayq_len(const struct ns_delayq *q)
{
	return q ? q->len : 0;
}

void ns_delayq_free(struct ns_delayq *q, void (*free_data)(void *data))
{
	if (!q)
		return;
	if (q->loop)
		ev_timer_stop(q->loop, &q->timer);
	for (size_t i = 0; free_data && i < q->len; i++)
		free_data(q->heap[i].data);
	free(q->heap);
	free(q);
}
