/* Nym's gateway choice at a first start: see gateway_pick.h. */
#include "gateway_pick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"

int ns_gw_listener_url(const struct ns_topo_node *g, int must_tls, char *out, size_t cap)
{
	int n;
	if (g->hostname[0] && g->has_wss_port)
		n = snprintf(out, cap, "wss://%s:%u", g->hostname, (unsigned)g->clients_wss_port);
	else if (must_tls)
		return -1;
	else if (g->hostname[0])
		n = snprintf(out, cap, "ws://%s:%u", g->hostname, (unsigned)g->clients_ws_port);
	else if (g->entry_ip[0])
		n = snprintf(out, cap, strchr(g->entry_ip, ':') ? "ws://[%s]:%u" : "ws://%s:%u",
		             g->entry_ip, (unsigned)g->clients_ws_port);
	else
		return -1;
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ns_gw_entry_usable(const struct ns_nymapi_node *g, unsigned min_performance)
{
	return g->performance >= min_performance && g->n.has_entry && g->n.clients_ws_port;
}

static int candidate(const struct ns_nymapi_node *g, unsigned min_performance, int force_tls,
                     const uint8_t *wanted)
{
	char url[600];
	if (!ns_gw_entry_usable(g, min_performance))
		return 0;
	if (wanted && memcmp(g->n.identity, wanted, 32))
		return 0;
	return ns_gw_listener_url(&g->n, force_tls, url, sizeof url) == 0;
}

int ns_gw_pick_uniform(const struct ns_nymapi_page *page, unsigned min_performance,
                       int force_tls, const char *wanted, uint8_t identity[32], char *url,
                       size_t urlcap, char *err, size_t errcap)
{
	uint8_t want[32];
	if (wanted && base58_decode(wanted, want, sizeof want) != 32) {
		snprintf(err, errcap, "bad gateway identity %s", wanted);
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < page->n_nodes; i++)
		n += candidate(&page->nodes[i], min_performance, force_tls, wanted ? want : NULL);
	if (n == 0) {
		snprintf(err, errcap, wanted ? "no usable gateway with id %s%s among %zu"
		                             : "no usable gateway%s%s among %zu",
		         wanted ? wanted : "", force_tls ? " with a wss listener" : "", page->n_nodes);
		return -1;
	}
	size_t pick = n > 1 ? ns_random_uniform((uint32_t)n) : 0;
	for (size_t i = 0; i < page->n_nodes; i++) {
		const struct ns_nymapi_node *g = &page->nodes[i];
		if (!candidate(g, min_performance, force_tls, wanted ? want : NULL) || pick--)
			continue;
		memcpy(identity, g->n.identity, 32);
		return ns_gw_listener_url(&g->n, force_tls, url, urlcap);
	}
	return -1;
}
