/* libFuzzer: the nym-api response parsers (common/nymapi.h) and the fetch machine
 * (common/nymapi_fetch.h).
 * First byte & 7 (4..7: the fetch machine, below; else & 3):
 *   0 a skimmed page as raw JSON: anything accepted is self-consistent (addresses re-derive
 *     from mix_host, performance <= 100) and builds a topology whose routing nodes all come
 *     from the page;
 *   1 a rewarded set, 2 key-rotation info, as raw JSON: no crash, accepted values in range;
 *   3 a network description: the directory's own builders (topology_json.h) produce E1, E2,
 *     E3 and E4, which must parse back to exactly those nodes and build a routable topology.
 *   4..7 the fetch machine (mode = byte % 3) over two URLs, answered with the input's
 *     NUL-separated chunks in turn (an empty chunk = a transport error): it ends within a
 *     bounded number of requests, and a success holds a routable topology / the gateways. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nymapi.h"
#include "nymapi_fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int in_page(const struct ns_nymapi_page *p, const struct nym_topo_node *n)
{
	for (size_t i = 0; i < p->n_nodes; i++)
		if (p->nodes[i].n.node_id == n->node_id && !memcmp(p->nodes[i].n.identity, n->identity, 32))
			return 1;
	return 0;
}

static void raw_page(const uint8_t *data, size_t size)
{
	struct ns_nymapi_page p;
	if (ns_nymapi_parse_page((const char *)data, size, &p) != 0)
		return;
	uint32_t ids[3] = { 0, 0, 0 };
	for (size_t i = 0; i < p.n_nodes; i++) {
		uint8_t a[32];
		if (p.nodes[i].performance > 100 || ns_routing_address(p.nodes[i].n.mix_host, a) < 0 ||
		    memcmp(a, p.nodes[i].n.address, 32))
			abort();
		ids[i % 3] = p.nodes[i].n.node_id;
	}
	struct ns_nymapi_rewarded rs = { 0 };
	for (int l = 0; l < 3; l++) {
		rs.set[NS_SET_LAYER1 + l] = &ids[l];
		rs.set_len[NS_SET_LAYER1 + l] = 1;
	}
	rs.set[NS_SET_ENTRY] = &ids[0];
	rs.set_len[NS_SET_ENTRY] = 1;
	struct ns_topo t;
	if (ns_nymapi_topology(&rs, &p, &p, 0, 0, &t) == 0) {
		for (int l = 0; l < NYM_MIX_LAYERS; l++)
			for (size_t k = 0; k < t.topology.layer_len[l]; k++)
				if (!in_page(&p, &t.topology.layer[l][k]))
					abort();
		for (size_t k = 0; k < t.topology.n_gateways; k++)
			if (!in_page(&p, &t.topology.gateways[k]))
				abort();
		ns_topo_free(&t);
	}
	ns_nymapi_page_free(&p);
}

static void raw_other(int which, const uint8_t *data, size_t size)
{
	if (which == 1) {
		struct ns_nymapi_rewarded rs;
		if (ns_nymapi_parse_rewarded((const char *)data, size, &rs) == 0) {
			for (int s = 0; s < NS_SET_COUNT; s++)
				for (size_t i = 0; i < rs.set_len[s]; i++)
					for (size_t j = i + 1; j < rs.set_len[s]; j++)
						if (rs.set[s][i] == rs.set[s][j])
							abort();
			ns_nymapi_rewarded_free(&rs);
		}
	} else {
		struct ns_nymapi_keyrot k;
		if (ns_nymapi_parse_keyrot((const char *)data, size, &k) == 0 &&
		    (k.validity_epochs == 0 || k.epoch_duration_nanos >= 1000000000u))
			abort();
	}
}

/* Each node takes 1 + 2 + 2 + 32 + 32 bytes: flags, mix port, ws port, identity, sphinx. */
#define NODE_BYTES 69
#define MAX_NET 32

static size_t make_net(const uint8_t *data, size_t size, struct ns_nodeconf *nodes)
{
	size_t n = size / NODE_BYTES;
	if (n < 4 || n > MAX_NET)
		return 0;
	memset(nodes, 0, n * sizeof *nodes);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = data + i * NODE_BYTES;
		struct ns_nodeconf *c = &nodes[i];
		c->id = (uint32_t)i * 16 + (p[0] >> 4) + 1;
		int kind = i < 4 ? (int)i : p[0] & 3;
		c->role = kind == 3 ? NS_ROLE_GATEWAY : NS_ROLE_MIXNODE;
		c->layer = kind == 3 ? 0 : (uint8_t)(kind + 1);
		snprintf(c->host, sizeof c->host, (p[0] & 4) ? "::1" : "127.0.0.%u", p[1] | 1);
		c->mix_port = (uint16_t)(p[1] | p[2] << 8);
		c->clients_ws_port = (uint16_t)(p[3] | p[4] << 8);
		memcpy(c->identity_key, p + 5, 32);
		memcpy(c->sphinx_key, p + 37, 32);
	}
	return n;
}

static void check_page(const struct ns_nymapi_page *p, const struct ns_nodeconf *nodes, size_t n,
                       int gateways)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ns_nodeconf *c = &nodes[i];
		if ((c->role == NS_ROLE_GATEWAY) != gateways)
			continue;
		const struct ns_topo_node *got = &p->nodes[k++].n;
		if (got->node_id != c->id || memcmp(got->identity, c->identity_key, 32) ||
		    memcmp(got->sphinx_key, c->sphinx_key, 32) || got->address[1] != (c->mix_port >> 8) ||
		    got->address[2] != (c->mix_port & 0xff) || got->address[0] != (strchr(c->host, ':') ? 6 : 4) ||
		    got->has_entry != gateways || (gateways && got->clients_ws_port != c->clients_ws_port) ||
		    strcmp(got->entry_ip, c->host))
			abort();
	}
	if (k != p->n_nodes || p->total != k)
		abort();
}

static void generated(const uint8_t *data, size_t size)
{
	if (size < 5)
		return;
	struct ns_netinfo info = { .key_rotation_id = data[0], .absolute_epoch_id = 1000u + data[1],
		                   .refreshed_at = (time_t)(data[3] | (uint32_t)data[4] << 8) * 86400,
		                   .epoch_start = 0, .epoch_duration_secs = 3600u + data[2] };
	struct ns_nodeconf nodes[MAX_NET];
	size_t n = make_net(data + 5, size - 5, nodes);
	if (!n)
		return;
	char *rs_json = ns_topojson_rewarded_set(nodes, n, &info);
	char *mix_json = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	char *gw_json = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	char *kr_json = ns_topojson_key_rotation_info(&info);
	struct ns_nymapi_rewarded rs;
	struct ns_nymapi_page mix, gw;
	struct ns_nymapi_keyrot kr;
	struct ns_topo t;
	if (!rs_json || !mix_json || !gw_json || !kr_json ||
	    ns_nymapi_parse_rewarded(rs_json, strlen(rs_json), &rs) ||
	    ns_nymapi_parse_page(mix_json, strlen(mix_json), &mix) ||
	    ns_nymapi_parse_page(gw_json, strlen(gw_json), &gw) ||
	    ns_nymapi_parse_keyrot(kr_json, strlen(kr_json), &kr))
		abort();
	check_page(&mix, nodes, n, 0);
	check_page(&gw, nodes, n, 1);
	if (!ns_nymapi_meta_agree(&mix.meta, &gw.meta) || mix.meta.rotation_id != info.key_rotation_id ||
	    kr.current_key_rotation_id != info.key_rotation_id || kr.epoch_duration_secs != info.epoch_duration_secs)
		abort();
	if (ns_nymapi_topology(&rs, &mix, &gw, 50, 50, &t) != 0 || t.topology.n_gateways != gw.n_nodes)
		abort();
	for (size_t i = 0; i < gw.n_nodes; i++)
		if (!nym_topology_gateway(&t.topology, gw.nodes[i].n.identity))
			abort();
	ns_topo_free(&t);
	ns_nymapi_rewarded_free(&rs);
	ns_nymapi_page_free(&mix);
	ns_nymapi_page_free(&gw);
	free(rs_json);
	free(mix_json);
	free(gw_json);
	free(kr_json);
}

static void machine(int mode, const uint8_t *data, size_t size)
{
	static struct clientconf conf; /* large: not on the stack */
	memset(&conf, 0, sizeof conf);
	snprintf(conf.nym_api_urls[0], CLIENTCONF_URL_MAX, "http://a/");
	snprintf(conf.nym_api_urls[1], CLIENTCONF_URL_MAX, "https://b:1/api/");
	conf.n_nym_api_urls = 2;
	conf.debug.minimum_mixnode_performance = 50;
	conf.debug.minimum_gateway_performance = 50;
	struct ns_apis apis = { .conf = &conf, .current = size & 1 };
	struct ns_fetch f;
	char url[CLIENTCONF_URL_MAX + 128];
	size_t at = 0, requests = 0;
	ns_fetch_begin(&f, &apis, (enum ns_fetch_mode)mode);
	while (ns_fetch_next(&f, url, sizeof url)) {
		if (++requests > 2 * (1 + 2 * NS_NYMAPI_MAX_PAGES) + 2)
			abort();
		const uint8_t *end = at < size ? memchr(data + at, 0, size - at) : NULL;
		size_t len = at < size ? (end ? (size_t)(end - (data + at)) : size - at) : 0;
		const char *body = len ? (const char *)data + at : NULL;
		ns_fetch_feed(&f, url, body, len, body ? NULL : "refused");
		at += len + 1;
	}
	if (f.done == 1) {
		if (mode == NS_FETCH_TOPOLOGY &&
		    (!f.topo.topology.layer_len[0] || !f.topo.topology.layer_len[1] ||
		     !f.topo.topology.layer_len[2] || !f.topo.topology.n_gateways))
			abort();
	} else if (f.done != -1 || !f.err[0]) {
		abort();
	}
	ns_fetch_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 4) {
		machine(data[0] % 3, data + 1, size - 1);
		return 0;
	}
	switch (data[0] & 3) {
	case 0: raw_page(data + 1, size - 1); break;
	case 1: raw_other(1, data + 1, size - 1); break;
	case 2: raw_other(2, data + 1, size - 1); break;
	default: generated(data + 1, size - 1); break;
	}
	return 0;
}
