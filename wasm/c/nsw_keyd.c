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
#include "nsw_keystore.h"
#include "nsw_outbox.h"

struct nsw_keyd {
	struct nsw_outbox out;
	struct nc_keyd *k;
	struct nsw_keystore *store; /* NULL: keys given in clear (tests), nothing is stored */
	int stopped; /* SHUTDOWN, or a peer broke the protocol */
};

/* keyd_ops' key_changed: the new gateway key or authenticateV2 timestamp goes into the
 * store, sealed again, to JS as a KEYS_SEALED event (the record to put in IndexedDB). */
static void keys_changed(void *ctx, const struct ns_gw_key *key, uint64_t last_auth_ts)
{
	struct nsw_keyd *g = ctx;
	uint8_t *keys = nsw_keystore_keys(g->store);
	keys[112] = (uint8_t)(1 | (key->legacy ? 2 : 0));
	memcpy(keys + 113, key->bytes, 32);
	for (int i = 0; i < 8; i++)
		keys[145 + i] = (uint8_t)(last_auth_ts >> (8 * i));
	size_t cap = nsw_keystore_sealed_len(g->store);
	uint8_t *sealed = malloc(cap);
	long n = sealed ? nsw_keystore_seal(g->store, sealed, cap) : -1;
	if (n < 0 || nsw_outbox_push(&g->out, NSW_EV_KEYS_SEALED, 0, 0, 0, sealed, (size_t)n, NULL, 0) < 0)
		g->out.failed = 1; /* the host must not go on with keys it cannot store */
	free(sealed);
}

/* keys (NSW_KEYD_KEYS_LEN): identity seed (32) || x25519 secret (32) || ack key (16) ||
 * gateway identity (32) || flags (1: bit 0 a shared key follows, bit 1 it is legacy) ||
 * shared key (32) || last authenticateV2 timestamp (8, LE). */
static struct nsw_keyd *keyd_new(const uint8_t keys[NSW_KEYD_KEYS_LEN], struct nsw_keystore *store)
{
	struct nc_keyd_keys kk;
	struct clientconf_debug d;
	struct nsw_keyd *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	nsw_outbox_init(&g->out, NS_IPC_KEYD);
	g->store = store;
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
	g->k = nc_keyd_new(&kk, &d, &host, store ? keys_changed : NULL, g);
	ns_memzero(&kk, sizeof kk);
	if (!g->k) {
		free(g);
		return NULL;
	}
	return g;
}

/* Keys in clear (tests; the caller zeroes its copy): nothing is stored when they change. */
NSW_EXPORT struct nsw_keyd *nsw_keyd_new(const uint8_t keys[NSW_KEYD_KEYS_LEN])
{
	return keyd_new(keys, NULL);
}

/* Keys from an open store (nsw_keystore_create / _open), which the state then owns (also on
 * failure): every change is sealed and emitted as NSW_EV_KEYS_SEALED. */
NSW_EXPORT struct nsw_keyd *nsw_keyd_new_store(struct nsw_keystore *store)
{
	struct nsw_keyd *g = store ? keyd_new(nsw_keystore_keys(store), store) : NULL;
	if (!g)
		nsw_keystore_free(store);
	return g;
}

/* Straight from a sealed record: the keys never exist outside the module in clear. NULL and
 * *err (a negative NSW_KS_E*) when it does not open. */
NSW_EXPORT struct nsw_keyd *nsw_keyd_new_sealed(const uint8_t *sealed, size_t len,
                                                const uint8_t *client_id, size_t id_len,
                                                const uint8_t *pass, size_t pass_len, int *err)
{
	struct nsw_keystore *ks = nsw_keystore_open(sealed, len, client_id, id_len, pass, pass_len, err);
	if (!ks)
		return NULL;
	struct nsw_keyd *g = nsw_keyd_new_store(ks);
	if (!g)
		*err = NSW_KS_ENOMEM;
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
	nsw_keystore_free(g->store);
	nsw_outbox_clear(&g->out);
	free(g);
}
