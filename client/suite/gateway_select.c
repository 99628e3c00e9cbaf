/* Gateway choice at init (gateway_select.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "gateway_select.h"
#include "nymapi.h"
#include "nymclient.h"

/* The gateway's websocket listener: ws://IP:PORT (IPv4 preferred). */
static void listener_url(const struct ns_topo_node *g, char *ws, size_t cap)
{
	snprintf(ws, cap, strchr(g->entry_ip, ':') ? "ws://[%s]:%u" : "ws://%s:%u", g->entry_ip,
	         (unsigned)g->clients_ws_port);
}

int nc_gateway_pick(const struct clientconf *c, const struct nc_gateway_pick_opts *o,
                    uint8_t identity[32], char *listener, size_t listener_cap,
                    char *err, size_t errcap)
{
	uint8_t wanted[32];
	const char *want = o->want_id;
	if (want && base58_decode(want, wanted, sizeof wanted) != 32) {
		snprintf(err, errcap, "bad gateway identity %s", want);
		return -1;
	}
	char why[512] = "";
	struct ns_apis api;
	struct ns_nymapi_page gw;
	ns_apis_init(&api, c);
	if (nc_api_gateways(&api, &gw, why, sizeof why) < 0) {
		snprintf(err, errcap, "cannot get the gateways from the nym-api: %s", why);
		return -1;
	}
	size_t *cand = calloc(gw.n_nodes ? gw.n_nodes : 1, sizeof *cand), n = 0;
	for (size_t i = 0; cand && i < gw.n_nodes; i++) {
		const struct ns_nymapi_node *g = &gw.nodes[i];
		if (g->performance >= c->debug.minimum_gateway_performance && g->n.has_entry &&
		    g->n.clients_ws_port && (!want || !memcmp(g->n.identity, wanted, 32)))
			cand[n++] = i;
	}
	int rc = -1;
	if (n > 0) {
		const struct ns_topo_node *g = &gw.nodes[cand[n > 1 ? ns_random_uniform((uint32_t)n) : 0]].n;
		memcpy(identity, g->identity, 32);
		listener_url(g, listener, listener_cap);
		rc = 0;
	} else {
		snprintf(err, errcap, "no usable gateway%s%s among the %zu entry gateways of %s",
		         want ? " " : "", want ? want : "", gw.n_nodes, ns_apis_url(&api));
	}
	free(cand);
	ns_nymapi_page_free(&gw);
	return rc;
}
