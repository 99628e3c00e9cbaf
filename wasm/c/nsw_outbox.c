/* The event queue between a wasm-hosted machine and its JavaScript host (nsw_outbox.h), and
 * the event accessors JS reads them with. */
#include "nsw_outbox.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "crypto.h"
#include "nsw_api.h"

void nsw_outbox_init(struct nsw_outbox *o, enum ns_ipc_role self)
{
	memset(o, 0, sizeof *o);
	o->tail = &o->head;
	o->self = self;
}

int nsw_outbox_push(struct nsw_outbox *o, uint32_t kind, uint32_t a0, uint32_t a1, uint32_t a2,
                    const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2)
{
	struct nsw_event *ev = o->count < NSW_OUTBOX_MAX ? malloc(sizeof *ev + l1 + l2) : NULL;
	if (!ev) {
		o->failed = 1;
		return -1;
	}
	ev->next = NULL;
	ev->kind = kind;
	ev->arg[0] = a0, ev->arg[1] = a1, ev->arg[2] = a2;
	ev->len = l1 + l2;
	if (l1)
		memcpy(ev->data, d1, l1);
	if (l2)
		memcpy(ev->data + l1, d2, l2);
	*o->tail = ev;
	o->tail = &ev->next;
	o->count++;
	return 0;
}

/* Datagrams to one peer leave as one BATCH datagram, as the native IPC corks them: one copy
 * out of the module, one postMessage and one feed call for all of them (the receiver's codec
 * opens it: nsw_feed). Taken from the head on: every datagram to the head's peer up to the
 * first event that is not a datagram; datagrams to other peers are stepped over (the order
 * between two peers is no one's to see: natively they are two sockets), at most
 * BATCH_MAX_MESSAGES (a batch of packet builds is one task of the key Worker, and the first
 * sealed frame of a burst leaves only when it is done). BATCH: [BATCH, bin(u32 BE length,
 * message ...)]. */
#define BATCH_MAX_MESSAGES 8

static int same_batch(const struct nsw_event *e, uint32_t peer)
{
	return e->kind == NSW_EV_DATAGRAM && e->arg[0] == peer;
}

static size_t batchable(const struct nsw_event *head, size_t *bytes)
{
	size_t n = 0, total = 0;
	for (const struct nsw_event *e = head; e && e->kind == NSW_EV_DATAGRAM && n < BATCH_MAX_MESSAGES;
	     e = e->next) {
		if (!same_batch(e, head->arg[0]))
			continue;
		if (total + 4 + e->len > NS_IPC_BATCH_MAX)
			break;
		total += 4 + e->len;
		n++;
	}
	*bytes = total;
	return n;
}

static uint8_t *batch_header(uint8_t *d, size_t bytes)
{
	_Static_assert(NS_IPC_T_BATCH < 128 && NS_IPC_BATCH_MAX < 65536, "the BATCH header");
	*d++ = 0x92, *d++ = NS_IPC_T_BATCH;
	if (bytes < 256) {
		*d++ = 0xc4, *d++ = (uint8_t)bytes;
	} else {
		*d++ = 0xc5, *d++ = (uint8_t)(bytes >> 8), *d++ = (uint8_t)bytes;
	}
	return d;
}

static struct nsw_event *pop_batch(struct nsw_outbox *o)
{
	size_t bytes, n = batchable(o->head, &bytes);
	if (n < 2)
		return NULL;
	size_t h = bytes < 256 ? 4 : 5;
	struct nsw_event *b = malloc(sizeof *b + h + bytes);
	if (!b)
		return NULL; /* then one at a time */
	uint32_t peer = o->head->arg[0];
	uint8_t *d = batch_header(b->data, bytes);
	b->next = NULL;
	b->kind = NSW_EV_DATAGRAM;
	b->arg[0] = peer, b->arg[1] = b->arg[2] = 0;
	b->len = h + bytes;
	struct nsw_event **link = &o->head;
	for (size_t i = 0; i < n;) {
		struct nsw_event *e = *link;
		if (!same_batch(e, peer)) {
			link = &e->next;
			continue;
		}
		*link = e->next;
		*d++ = (uint8_t)(e->len >> 24), *d++ = (uint8_t)(e->len >> 16);
		*d++ = (uint8_t)(e->len >> 8), *d++ = (uint8_t)e->len;
		memcpy(d, e->data, e->len);
		d += e->len;
		nsw_event_free(e);
		i++;
	}
	o->count -= n;
	/* the tail moves when the last event was taken */
	o->tail = &o->head;
	while (*o->tail)
		o->tail = &(*o->tail)->next;
	return b;
}

struct nsw_event *nsw_outbox_pop(struct nsw_outbox *o)
{
	struct nsw_event *ev = pop_batch(o);
	if (ev)
		return ev;
	ev = o->head;
	if (!ev)
		return NULL;
	o->head = ev->next;
	if (!o->head)
		o->tail = &o->head;
	o->count--;
	ev->next = NULL;
	return ev;
}

void nsw_outbox_clear(struct nsw_outbox *o)
{
	struct nsw_event *ev;
	while ((ev = nsw_outbox_pop(o)))
		nsw_event_free(ev);
}

static int outbox_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	struct nsw_outbox *o = ctx;
	size_t len = 0;
	int rc = ns_ipc_accepts(peer, o->self, (uint64_t)m->type);
	if (rc == 0)
		rc = ns_ipc_encode(m, buf, sizeof buf, &len);
	if (rc == 0 && nsw_outbox_push(o, NSW_EV_DATAGRAM, (uint32_t)peer, 0, 0, buf, len, NULL, 0) < 0)
		rc = NS_IPC_EQUEUE;
	ns_memzero(buf, len); /* keyd's datagrams to netd carry sealed frames only, but be tidy */
	return rc;
}

static uint32_t ms_of(uint64_t ns)
{
	uint64_t ms = (ns + 999999) / 1000000;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void outbox_timer_start(void *ctx, unsigned id, uint64_t after_ns, uint64_t repeat_ns)
{
	nsw_outbox_push(ctx, NSW_EV_TIMER_START, id, ms_of(after_ns), ms_of(repeat_ns), NULL, 0,
	                NULL, 0);
}

static void outbox_timer_stop(void *ctx, unsigned id)
{
	nsw_outbox_push(ctx, NSW_EV_TIMER_STOP, id, 0, 0, NULL, 0, NULL, 0);
}

struct ns_ipc_host nsw_outbox_host(struct nsw_outbox *o)
{
	return (struct ns_ipc_host){ .send = outbox_send, .timer_start = outbox_timer_start,
		                     .timer_stop = outbox_timer_stop, .ctx = o };
}

int nsw_feed(enum ns_ipc_role self, unsigned peer, const uint8_t *buf, size_t len,
             int (*deliver)(void *ctx, enum ns_ipc_role from, const struct ns_ipc_msg *m),
             void *ctx)
{
	struct ns_ipc_msg m, in;
	size_t off = 0;
	int rc;
	if (peer >= NS_IPC_ROLE_COUNT)
		return NS_IPC_EARG;
	if ((rc = ns_ipc_decode(self, (enum ns_ipc_role)peer, buf, len, &m)) != 0)
		return rc;
	if (m.type != NS_IPC_T_BATCH)
		return deliver(ctx, (enum ns_ipc_role)peer, &m);
	while ((rc = ns_ipc_batch_next(self, (enum ns_ipc_role)peer, &m, &off, &in)) == 1)
		if ((rc = deliver(ctx, (enum ns_ipc_role)peer, &in)) < 0)
			return rc;
	return rc;
}

#ifdef __EMSCRIPTEN__
/* js/hosts.mjs reads events in place at these offsets */
_Static_assert(offsetof(struct nsw_event, kind) == 4 && offsetof(struct nsw_event, arg) == 8 &&
                   offsetof(struct nsw_event, len) == 20 && offsetof(struct nsw_event, data) == 24 &&
                   sizeof(size_t) == 4,
               "struct nsw_event's wasm32 layout, as js/hosts.mjs reads it");
#endif
NSW_EXPORT unsigned nsw_event_kind(const struct nsw_event *ev) { return ev->kind; }
NSW_EXPORT unsigned nsw_event_arg(const struct nsw_event *ev, unsigned i) { return i < 3 ? ev->arg[i] : 0; }
NSW_EXPORT const uint8_t *nsw_event_data(const struct nsw_event *ev) { return ev->data; }
NSW_EXPORT size_t nsw_event_len(const struct nsw_event *ev) { return ev->len; }

NSW_EXPORT void nsw_event_free(struct nsw_event *ev)
{
	if (!ev)
		return;
	ns_memzero(ev->data, ev->len); /* received messages are the app's plaintext */
	free(ev);
}
