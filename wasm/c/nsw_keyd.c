/* keyd's operations (keyd/keyd_ops.c) for the key Worker: JS creates the state with the keys
 * (loaded from its storage), feeds it the datagrams netd, the page's engine and the supervisor
 * send, fires its timers, and drains its events: datagrams for those peers and timers to set.
 * No call returns a key. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "keyd_ops.h"
#include "nsw_api.h"
#include "nsw_outbox.h"

struct nsw_keyd {
	struct nsw_outbox out;
	struct nc_keyd *k;
	int stopped; /* SHUTDOWN, or a peer broke the protocol */
};

/* keys (NSW_KEYD_KEYS_LEN): identity seed (32) || x25519 secret (32) || ack key (16) ||
 * gateway identity (32) || flags (1: bit 0 a shared key follows, bit 1 it is legacy) ||
 * shared key (32) || last authenticateV2 timestamp (8, LE). The caller zeroes its copy. */
NSW_EXPORT struct nsw_keyd *nsw_keyd_new(const uint8_t keys[NSW_KEYD_KEYS_LEN])
{
	struct nc_keyd_keys kk;
	struct clientconf_debug d;
	struct nsw_keyd *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	nsw_outbox_init(&g->out, NS_IPC_KEYD);
	memset(&kk, 0, sizeof kk);
	memcpy(kk.identity_seed, keys, 32);
	memcpy(kk.encryption_sk, keys + 32, 32);
	memcpy(kk.ack_key, keys + 64, 16);
	memcpy(kk.gateway, keys + 80, 32);
	kk.have_gw_key = keys[112] & 1;
	kk.gw_key.legacy = (keys[112] >> 1) & 1;
	memcpy(kk.gw_key.bytes, keys + 113, 32);
	for (int i = 7; i >= 0; i--)
		kk.last_auth_ts = kk.last_auth_ts << 8 | keys[145 + i];
	clientconf_debug_defaults(&d);
	struct ns_ipc_host host = nsw_outbox_host(&g->out);
	g->k = nc_keyd_new(&kk, &d, &host, NULL, NULL);
	ns_memzero(&kk, sizeof kk);
	if (!g->k) {
		free(g);
		return NULL;
	}
	return g;
}

/* Starts the tick timer and tells the engine our address. */
NSW_EXPORT void nsw_keyd_start(struct nsw_keyd *g) { nc_keyd_start(g->k); }

static int deliver(void *ctx, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	struct nsw_keyd *g = ctx;
	if (m->type == NS_IPC_T_SHUTDOWN) {
		g->stopped = 1;
		return nsw_outbox_push(&g->out, NSW_EV_SHUTDOWN, 0, 0, 0, NULL, 0, NULL, 0);
	}
	if (nc_keyd_deliver(g->k, from, m) < 0) {
		g->stopped = 1;
		return NSW_KEYD_EPROTOCOL;
	}
	return 0;
}

/* 0; a negative NS_IPC_E* for a datagram that does not decode; NSW_KEYD_EPROTOCOL when a
 * peer broke the protocol (nsw_keyd_error says how). After an error the state takes nothing
 * more: the Worker stops, as keyd exits. */
NSW_EXPORT int nsw_keyd_feed(struct nsw_keyd *g, unsigned from, const uint8_t *buf, size_t len)
{
	if (g->stopped)
		return NSW_KEYD_EPROTOCOL;
	int rc = nsw_feed(NS_IPC_KEYD, from, buf, len, deliver, g);
	if (rc < 0)
		g->stopped = 1;
	return rc;
}

NSW_EXPORT const char *nsw_keyd_error(const struct nsw_keyd *g) { return nc_keyd_error(g->k); }
NSW_EXPORT void nsw_keyd_timer(struct nsw_keyd *g, unsigned id) { nc_keyd_timer(g->k, id); }
NSW_EXPORT struct nsw_event *nsw_keyd_next(struct nsw_keyd *g) { return nsw_outbox_pop(&g->out); }

NSW_EXPORT void nsw_keyd_free(struct nsw_keyd *g)
{
	if (!g)
		return;
	nc_keyd_free(g->k);
	nsw_outbox_clear(&g->out);
	free(g);
}
