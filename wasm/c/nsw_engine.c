/* The client engine (common/engine/engine.c) for the page: JS creates it, feeds it the
 * datagrams keyd and netd send (nsw_engine_feed), asks it to send, and drains its events
 * (nsw_engine_next): datagrams for keyd / netd / the supervisor, received messages, our
 * address. The engine has no timer of its own (ack timers and traffic timing are netd's). */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "nsw_api.h"
#include "nsw_outbox.h"

struct nsw_engine {
	struct nsw_outbox out;
	struct ns_engine *e;
};

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	struct nsw_engine *g = ctx;
	nsw_outbox_push(&g->out, NSW_EV_MESSAGE, sender_tag != NULL, 0, 0, sender_tag,
	                sender_tag ? NS_ENGINE_TAG_LEN : 0, msg, len);
}

static void on_self_address(void *ctx, const uint8_t address[NS_ENGINE_ADDRESS_LEN])
{
	struct nsw_engine *g = ctx;
	nsw_outbox_push(&g->out, NSW_EV_SELF_ADDRESS, 0, 0, 0, address, NS_ENGINE_ADDRESS_LEN, NULL, 0);
}

static void on_send_failed(void *ctx, void *owner, uint64_t msg_id, const char *why)
{
	(void)owner;
	struct nsw_engine *g = ctx;
	nsw_outbox_push(&g->out, NSW_EV_SEND_FAILED, (uint32_t)msg_id, (uint32_t)(msg_id >> 32), 0,
	                (const uint8_t *)why, strlen(why), NULL, 0);
}

static void on_shutdown(void *ctx)
{
	struct nsw_engine *g = ctx;
	nsw_outbox_push(&g->out, NSW_EV_SHUTDOWN, 0, 0, 0, NULL, 0, NULL, 0);
}

static const struct ns_engine_cb engine_cb = {
	.on_message = on_message,
	.on_self_address = on_self_address,
	.on_send_failed = on_send_failed,
	.on_shutdown = on_shutdown,
};

NSW_EXPORT struct nsw_engine *nsw_engine_new(void)
{
	struct nsw_engine *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	nsw_outbox_init(&g->out, NS_IPC_APID);
	struct ns_ipc_host host = nsw_outbox_host(&g->out);
	host.timer_start = NULL, host.timer_stop = NULL;
	if (!(g->e = ns_engine_new(&host, "engine", &engine_cb, g))) {
		free(g);
		return NULL;
	}
	return g;
}

static int deliver(void *ctx, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	ns_engine_deliver(ctx, from, m);
	return 0;
}

NSW_EXPORT int nsw_engine_feed(struct nsw_engine *g, unsigned from, const uint8_t *buf, size_t len)
{
	return nsw_feed(NS_IPC_APID, from, buf, len, deliver, g->e);
}

/* The message id (low 32 bits, what NSW_EV_SEND_FAILED names), or -1. */
static long sent_id(int rc, uint64_t id)
{
	return rc < 0 ? -1 : (long)(id & 0x7fffffff);
}

NSW_EXPORT long nsw_engine_send(struct nsw_engine *g, const uint8_t to[96], const uint8_t *msg,
                                size_t len, unsigned lane)
{
	uint64_t id = 0;
	int rc = ns_engine_send(g->e, to, msg, len, lane, g, &id);
	return sent_id(rc, id);
}

NSW_EXPORT long nsw_engine_send_anonymous(struct nsw_engine *g, const uint8_t to[96],
                                          const uint8_t *msg, size_t len, unsigned reply_surbs,
                                          unsigned lane)
{
	uint64_t id = 0;
	int rc = ns_engine_send_anonymous(g->e, to, msg, len, reply_surbs, lane, g, &id);
	return sent_id(rc, id);
}

NSW_EXPORT int nsw_engine_reply(struct nsw_engine *g, const uint8_t tag[16], const uint8_t *msg,
                                size_t len, unsigned lane)
{
	return ns_engine_reply(g->e, tag, msg, len, lane);
}

NSW_EXPORT size_t nsw_engine_unacked(const struct nsw_engine *g) { return ns_engine_unacked(g->e); }

/* The engine's counters as nymctl shows them ("name=value\n"); the length written. */
NSW_EXPORT size_t nsw_engine_stats(const struct nsw_engine *g, char *out, size_t cap)
{
	struct ns_engine_stats st;
	ns_engine_stats(g->e, &st);
	return ns_engine_stats_format(&st, out, cap);
}

NSW_EXPORT struct nsw_event *nsw_engine_next(struct nsw_engine *g) { return nsw_outbox_pop(&g->out); }

NSW_EXPORT void nsw_engine_free(struct nsw_engine *g)
{
	if (!g)
		return;
	ns_engine_destroy(g->e);
	nsw_outbox_clear(&g->out);
	free(g);
}
