/* What a wasm-hosted machine (the engine, keyd's operations) has for its JavaScript host:
 * an in-order queue of events the JS side drains after each call it makes (nsw_*_next):
 * datagrams for a peer, timers to start or stop, received messages. C calls no JS function,
 * so the same code builds natively (the probe and the unit test compare both builds). */
#ifndef NSW_OUTBOX_H
#define NSW_OUTBOX_H
#include <stddef.h>
#include <stdint.h>

#include "ipc_codec.h"
#include "ipc_host.h"

enum nsw_event_kind {
	NSW_EV_DATAGRAM = 1,    /* arg0 = peer role; data = the msgpack datagram */
	NSW_EV_TIMER_START = 2, /* arg0 = id, arg1 = after (ms), arg2 = repeat (ms, 0: once) */
	NSW_EV_TIMER_STOP = 3,  /* arg0 = id */
	NSW_EV_MESSAGE = 4,     /* arg0 = 1: data = sender tag (16) || message; 0: the message */
	NSW_EV_SELF_ADDRESS = 5, /* data = our 96-byte address */
	NSW_EV_SEND_FAILED = 6, /* arg0, arg1 = message id (low, high 32 bits); data = why */
	NSW_EV_SHUTDOWN = 7,
	NSW_EV_KEYS_SEALED = 8, /* data = the key store sealed again (a new gateway key or
	                         * authentication timestamp): the record for IndexedDB */
	/* the net Worker's (nsw_netd.c); numbered apart from the key Worker's */
	NSW_EV_WS_OPEN = 20,    /* arg0 = connection number; data = the ws:// or wss:// URL */
	NSW_EV_WS_SEND = 21,    /* arg0 = connection, arg1 = 1 binary / 0 text; data = the frame */
	NSW_EV_WS_PING = 22,    /* arg0 = connection */
	NSW_EV_WS_CLOSE = 23,   /* arg0 = connection, arg1 = 1 graceful / 0 abort */
	NSW_EV_HTTP_GET = 24,   /* arg0 = request number; data = the URL */
	NSW_EV_STATE = 25,      /* data = state name, NUL, detail */
	NSW_EV_LOG = 26,        /* data = one log line */
};

struct nsw_event {
	struct nsw_event *next;
	uint32_t kind, arg[3];
	size_t len;
	uint8_t data[];
};

struct nsw_outbox {
	struct nsw_event *head, **tail;
	size_t count;
	enum ns_ipc_role self;
	int failed; /* an event was lost (no memory): the host should stop */
};

/* A bound on events waiting (a JS host that never drains is a bug, not a load). */
#define NSW_OUTBOX_MAX 1000000

void nsw_outbox_init(struct nsw_outbox *o, enum ns_ipc_role self);
/* 0, or -1 (no memory, or the bound): the event is lost and o->failed set. */
int nsw_outbox_push(struct nsw_outbox *o, uint32_t kind, uint32_t a0, uint32_t a1, uint32_t a2,
                    const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2);
struct nsw_event *nsw_outbox_pop(struct nsw_outbox *o);
void nsw_outbox_clear(struct nsw_outbox *o);
/* An ns_ipc_host whose ctx is the outbox: send encodes (self may send m to peer, as natively)
 * into a DATAGRAM event; timers become TIMER_START / TIMER_STOP events. */
struct ns_ipc_host nsw_outbox_host(struct nsw_outbox *o);
/* Decodes a datagram self received from peer and hands each message (a BATCH's one by one)
 * to deliver; the first error (negative NS_IPC_E*, or deliver's negative value) ends it. */
int nsw_feed(enum ns_ipc_role self, unsigned peer, const uint8_t *buf, size_t len,
             int (*deliver)(void *ctx, enum ns_ipc_role from, const struct ns_ipc_msg *m),
             void *ctx);

#endif
