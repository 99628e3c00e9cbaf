/* Offline storage as the gateway uses it (gateway.md §2.2 step 3, §2.3): a final-hop
 * message goes to the client's live session, or durably to its inbox when the client is
 * registered but not connected. Stored messages older than 24 h are purged hourly. */
#include <string.h>
#include <time.h>

#include "base58.h"
#include "crypto.h"
#include "gateway.h"

void gw_address_b58(const uint8_t address[32], char out[48])
{
	if (base58_encode(address, 32, out, 48) < 0)
		strcpy(out, "?");
}

int gw_deliver(struct gw *gw, const uint8_t address[32], const uint8_t *msg, size_t len)
{
	int rc = gw_clients_push(gw, address, msg, len);
	if (rc == 1)
		return 1;
	if (rc < 0)
		return -1;
	struct ns_gwstore_client rec;
	int have = ns_gwstore_client_get(gw->store, address, &rec);
	ns_memzero(&rec, sizeof rec);
	if (have == NS_GWSTORE_ENOENT)
		return 0;
	/* A registered client (even with a damaged record) keeps its messages. */
	rc = ns_gwstore_inbox_put(gw->store, address, msg, len, NULL);
	if (rc < 0) {
		char name[48];
		gw_address_b58(address, name);
		gw_log("client %s: storing a message failed: %s", name, ns_gwstore_strerror(rc));
		gw->c.store_errors++;
		return rc;
	}
	gw->c.messages_stored++;
	return 2;
}

void gw_storage_tick(struct gw *gw)
{
	double now = (double)time(NULL);
	if (now - gw->last_purge < 3600)
		return;
	gw->last_purge = now;
	long n = ns_gwstore_purge(gw->store, (uint64_t)now - GW_STORE_MAX_AGE_S);
	if (n > 0)
		gw_log("purged %ld stored messages older than 24 h", n);
}
