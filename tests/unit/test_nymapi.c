/* nym-api response parsers (common/nymapi.h): round trips through the localnet directory's
 * own builders (topology_json.h), the client topology built from E1+E2+E3, performance
 * parsing, and malformed input of every kind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "nymapi.h"
#include "nymapi_fetch.h"

#define NODES 5

static struct ns_nodeconf net[NODES];
static const struct ns_netinfo info = { .key_rotation_id = 3, .absolute_epoch_id = 80,
	                                .refreshed_at = 1762473600, .epoch_start = 1762473600,
	                                .epoch_duration_secs = 3600 };

static void make_net(void)
{
	memset(net, 0, sizeof net);
	for (int i = 0; i < NODES; i++) {
		struct ns_nodeconf *c = &net[i];
		c->id = (uint32_t)(i + 1);
		c->role = i < 3 ? NS_ROLE_MIXNODE : NS_ROLE_GATEWAY;
		c->layer = i < 3 ? (uint8_t)(i + 1) : 0;
		snprintf(c->host, sizeof c->host, i == 2 ? "::1" : "127.0.0.%d", i + 1);
		c->mix_port = (uint16_t)(1789 + i);
		c->clients_ws_port = (uint16_t)(9000 + i);
		memset(c->identity_key, 0x10 + i, 32);
		memset(c->sphinx_key, 0x40 + i, 32);
	}
}

static int parse_page_text(const char *json, struct ns_nymapi_page *p)
{
	return ns_nymapi_parse_page(json, strlen(json), p);
}

static void test_round_trip_topology(void **state)
{
	(void)state;
	make_net();
	char *rs_json = ns_topojson_rewarded_set(net, NODES, &info);
	char *mix_json = ns_topojson_skimmed(net, NODES, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	char *gw_json = ns_topojson_skimmed(net, NODES, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	assert_non_null(rs_json);
	assert_non_null(mix_json);
	assert_non_null(gw_json);
	struct ns_nymapi_rewarded rs;
	struct ns_nymapi_page mix, gw;
	assert_int_equal(ns_nymapi_parse_rewarded(rs_json, strlen(rs_json), &rs), 0);
	assert_int_equal(parse_page_text(mix_json, &mix), 0);
	assert_int_equal(parse_page_text(gw_json, &gw), 0);
	assert_int_equal(rs.set_len[NS_SET_LAYER1], 1);
	assert_int_equal(rs.set[NS_SET_LAYER3][0], 3);
	assert_int_equal(rs.set_len[NS_SET_ENTRY], 2);
	assert_int_equal(mix.n_nodes, 3);
	assert_int_equal(gw.n_nodes, 2);
	assert_int_equal(mix.total, 3);
	assert_int_equal(mix.meta.rotation_id, 3);
	assert_int_equal(mix.meta.absolute_epoch_id, 80);
	assert_true(ns_nymapi_meta_agree(&mix.meta, &gw.meta));
	assert_int_equal(mix.nodes[0].performance, 100);
	assert_string_equal(mix.nodes[2].n.mix_host, "[::1]:1791");
	assert_int_equal(mix.nodes[2].n.address[0], 6);
	assert_string_equal(gw.nodes[0].n.entry_ip, "127.0.0.4");
	assert_int_equal(gw.nodes[1].n.clients_ws_port, 9004);
	assert_true(gw.nodes[0].n.has_entry && gw.nodes[0].n.mixnet_entry && !gw.nodes[0].n.mixnode);
	assert_memory_equal(gw.nodes[1].n.identity, net[4].identity_key, 32);
	struct ns_topo t;
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &gw, 50, 50, &t), 0);
	for (int l = 0; l < 3; l++) {
		assert_int_equal(t.topology.layer_len[l], 1);
		assert_int_equal(t.topology.layer[l][0].node_id, (uint32_t)(l + 1));
		assert_memory_equal(t.topology.layer[l][0].sphinx_key, net[l].sphinx_key, 32);
	}
	assert_int_equal(t.topology.n_gateways, 2);
	assert_int_equal(t.topology.key_rotation_id, 3);
	assert_non_null(nym_topology_gateway(&t.topology, net[3].identity_key));
	struct nym_route route;
	assert_int_equal(nym_topology_random_route(&t.topology, net[4].identity_key, &route), 0);
	assert_int_equal(route.n, 4);
	ns_topo_free(&t);
	/* a layer without any node of E2 is not routable */
	rs.set[NS_SET_LAYER2][0] = 99;
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &gw, 50, 50, &t), NS_TOPOJSON_ERR_ROUTABLE);
	ns_nymapi_rewarded_free(&rs);
	ns_nymapi_page_free(&mix);
	ns_nymapi_page_free(&gw);
	free(rs_json);
	free(mix_json);
	free(gw_json);
}

static void test_key_rotation_round_trip(void **state)
{
	(void)state;
	char *json = ns_topojson_key_rotation_info(&info);
	assert_non_null(json);
	struct ns_nymapi_keyrot k;
	assert_int_equal(ns_nymapi_parse_keyrot(json, strlen(json), &k), 0);
	assert_int_equal(k.validity_epochs, 24);
	assert_int_equal(k.current_absolute_epoch_id, 80);
	assert_int_equal(k.current_key_rotation_id, 3);
	assert_int_equal(k.epoch_duration_secs, 3600);
	free(json);
}

/* Nym's own example (client-core key_rotation_helpers.rs tests): epochs of an hour, rotations
 * of 10 epochs from epoch 80, epoch 100 starting 2025-06-30 12:00 UTC. */
static void test_surb_cutoff(void **state)
{
	(void)state;
	struct ns_nymapi_keyrot k = { .validity_epochs = 10, .initial_epoch_id = 80,
		                      .current_absolute_epoch_id = 100, .epoch_duration_secs = 3600,
		                      .current_epoch_start = 1751284800 /* 2025-06-30T12:00:00Z */ };
	const int64_t h = 3600, noon = 1751284800;
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon), noon - h);          /* rotation 2 */
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon + h / 2), noon - h);
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon + h + 60), noon - h);  /* epoch 101 */
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon + 10 * h), noon + 9 * h); /* rotation 3 */
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon - 5 * h), noon - h); /* before: epoch 100 */
	k.current_epoch_start = 0;
	assert_int_equal(ns_nymapi_surb_cutoff(&k, noon), 0);
	/* what the parser keeps of current_epoch_start */
	char *json = ns_topojson_key_rotation_info(&info);
	assert_non_null(json);
	assert_int_equal(ns_nymapi_parse_keyrot(json, strlen(json), &k), 0);
	assert_int_equal(k.current_epoch_start, (int64_t)info.epoch_start);
	free(json);
}

static void test_performance(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "1", 100 },    { "1.0", 100 },  { "1.000000000000000000", 100 }, { "0", 0 },
		{ "0.5", 50 },   { "0.95", 95 },  { "0.999", 99 },  { "0.01", 1 },  { "00.5", 50 },
		{ "1.01", -1 },  { "2", -1 },     { "10", -1 },     { "", -1 },     { "0.", -1 },
		{ ".5", -1 },    { "-0.5", -1 },  { "0.5x", -1 },   { "1e-1", -1 }, { " 1", -1 },
		{ "0.1234567890123456789", -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (ns_nymapi_performance(cases[i].text) != cases[i].want)
			fail_msg("performance \"%s\": got %d, want %d", cases[i].text,
			         ns_nymapi_performance(cases[i].text), cases[i].want);
	}
}

#define META "\"metadata\":{\"status\":null,\"absolute_epoch_id\":1,\"rotation_id\":0," \
             "\"refreshed_at\":\"2025-11-07T00:00:00Z\"}"
#define ID_A "11111111111111111111111111111111"
#define KEY_B "4wBqpZM9xaSheZzJSMawUKKwhdpChKbZ5eu5ky4Vigw"

static char *page_with(const char *node_members)
{
	static char buf[4096];
	snprintf(buf, sizeof buf,
	         "{" META ",\"nodes\":{\"pagination\":{\"total\":1,\"page\":0,\"size\":1},\"data\":[{"
	         "%s}]}}",
	         node_members);
	return buf;
}

#define GOOD_NODE "\"node_id\":7,\"ed25519_identity_pubkey\":\"" KEY_B "\",\"ip_addresses\":[\"10.0.0.7\"]," \
                  "\"mix_port\":1789,\"x25519_sphinx_pubkey\":\"" KEY_B "\",\"role\":\"EntryGateway\"," \
                  "\"supported_roles\":{\"mixnode\":false,\"entry\":true,\"exit_nr\":true,\"exit_ipr\":false}," \
                  "\"entry\":{\"hostname\":\"gw.example\",\"ws_port\":9000,\"wss_port\":9001}," \
                  "\"performance\":\"0.75\""

static void test_page_details(void **state)
{
	(void)state;
	struct ns_nymapi_page p;
	/* unknown members anywhere are ignored, as serde does for these types */
	assert_int_equal(parse_page_text(page_with(GOOD_NODE ",\"future_field\":[1,{}]"), &p), 0);
	assert_int_equal(p.n_nodes, 1);
	const struct ns_topo_node *n = &p.nodes[0].n;
	assert_int_equal(n->node_id, 7);
	assert_int_equal(p.nodes[0].performance, 75);
	assert_string_equal(n->hostname, "gw.example");
	assert_true(n->has_wss_port && n->clients_wss_port == 9001);
	assert_true(n->mixnet_entry && !n->mixnet_exit); /* exit = exit_nr && exit_ipr */
	assert_string_equal(n->mix_host, "10.0.0.7:1789");
	ns_nymapi_page_free(&p);
	/* no IP address: skipped, not an error; IPv4 preferred for the websocket */
	const char *no_ip = "\"node_id\":7,\"ed25519_identity_pubkey\":\"" KEY_B "\",\"ip_addresses\":[],"
	                    "\"mix_port\":1,\"x25519_sphinx_pubkey\":\"" KEY_B "\",\"role\":\"Standby\","
	                    "\"performance\":\"1\"";
	assert_int_equal(parse_page_text(page_with(no_ip), &p), 0);
	assert_int_equal(p.n_nodes, 0);
	assert_int_equal(p.skipped, 1);
	ns_nymapi_page_free(&p);
	const char *v6_first = "\"node_id\":7,\"ed25519_identity_pubkey\":\"" KEY_B "\",\"ip_addresses\":"
	                       "[\"fe80::1\",\"192.0.2.1\"],\"mix_port\":1,\"x25519_sphinx_pubkey\":\"" KEY_B
	                       "\",\"role\":{\"Mixnode\":{\"layer\":2}},\"performance\":0.5";
	assert_int_equal(parse_page_text(page_with(v6_first), &p), 0);
	assert_string_equal(p.nodes[0].n.mix_host, "[fe80::1]:1");
	assert_string_equal(p.nodes[0].n.entry_ip, "192.0.2.1");
	assert_int_equal(p.nodes[0].performance, 50);
	ns_nymapi_page_free(&p);
}

static void test_page_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *from, *to;
		int want;
	} edits[] = {
		{ "\"node_id\":7", "\"node_id\":-7", NS_TOPOJSON_ERR_VALUE },
		{ "\"node_id\":7", "\"node_id\":7.5", NS_TOPOJSON_ERR_VALUE },
		{ "\"node_id\":7", "\"node_id\":4294967296", NS_TOPOJSON_ERR_VALUE },
		{ "\"node_id\":7", "\"node_id\":\"7\"", NS_TOPOJSON_ERR_SHAPE },
		{ "\"node_id\":7,", "", NS_TOPOJSON_ERR_SHAPE },
		{ "\"mix_port\":1789", "\"mix_port\":65536", NS_TOPOJSON_ERR_VALUE },
		{ "\"10.0.0.7\"", "\"10.0.0.999\"", NS_TOPOJSON_ERR_VALUE },
		{ "\"10.0.0.7\"", "\"gw.example\"", NS_TOPOJSON_ERR_VALUE },
		{ "\"10.0.0.7\"", "7", NS_TOPOJSON_ERR_SHAPE },
		{ "[\"10.0.0.7\"]", "\"10.0.0.7\"", NS_TOPOJSON_ERR_SHAPE },
		{ "\"ed25519_identity_pubkey\":\"" KEY_B, "\"ed25519_identity_pubkey\":\"" ID_A "0OIl",
		  NS_TOPOJSON_ERR_VALUE },
		{ "\"x25519_sphinx_pubkey\":\"" KEY_B, "\"x25519_sphinx_pubkey\":\"abc", NS_TOPOJSON_ERR_VALUE },
		{ "\"role\":\"EntryGateway\"", "\"role\":7", NS_TOPOJSON_ERR_SHAPE },
		{ "\"role\":\"EntryGateway\",", "", NS_TOPOJSON_ERR_SHAPE },
		{ "\"exit_ipr\":false", "\"exit_ipr\":0", NS_TOPOJSON_ERR_SHAPE },
		{ ",\"exit_ipr\":false", "", NS_TOPOJSON_ERR_SHAPE },
		{ "\"ws_port\":9000", "\"ws_port\":null", NS_TOPOJSON_ERR_SHAPE },
		{ "\"wss_port\":9001", "\"wss_port\":-1", NS_TOPOJSON_ERR_VALUE },
		{ "\"hostname\":\"gw.example\"", "\"hostname\":5", NS_TOPOJSON_ERR_SHAPE },
		{ "\"performance\":\"0.75\"", "\"performance\":\"1.5\"", NS_TOPOJSON_ERR_VALUE },
		{ "\"performance\":\"0.75\"", "\"performance\":1.5", NS_TOPOJSON_ERR_VALUE },
		{ "\"performance\":\"0.75\"", "\"performance\":null", NS_TOPOJSON_ERR_SHAPE },
		{ "\"node_id\":7,", "\"node_id\":7,\"node_id\":8,", NS_TOPOJSON_ERR_SHAPE },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char node[2048];
		const char *at = strstr(GOOD_NODE, edits[i].from);
		assert_non_null(at);
		snprintf(node, sizeof node, "%.*s%s%s", (int)(at - GOOD_NODE), GOOD_NODE, edits[i].to,
		         at + strlen(edits[i].from));
		struct ns_nymapi_page p;
		int rc = parse_page_text(page_with(node), &p);
		if (rc != edits[i].want)
			fail_msg("edit %zu (%s -> %s): got %d, want %d", i, edits[i].from, edits[i].to, rc,
			         edits[i].want);
		assert_null(p.nodes);
	}
}

static void test_page_envelope_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "{", "[]", "null", "{}", "{" META "}",
		"{" META ",\"nodes\":[]}",
		"{" META ",\"nodes\":{\"data\":[]}}",
		"{" META ",\"nodes\":{\"pagination\":{\"total\":0,\"page\":0,\"size\":0}}}",
		"{" META ",\"nodes\":{\"pagination\":{\"total\":-1,\"page\":0,\"size\":0},\"data\":[]}}",
		"{" META ",\"nodes\":{\"pagination\":{\"total\":0,\"page\":0,\"size\":0},\"data\":{}}}",
		"{" META ",\"nodes\":{\"pagination\":{\"total\":0,\"page\":0,\"size\":0},\"data\":[]}} x",
		"{\"metadata\":{\"status\":null,\"absolute_epoch_id\":1,\"rotation_id\":0},\"nodes\":"
		"{\"pagination\":{\"total\":0,\"page\":0,\"size\":0},\"data\":[]}}",
		"{\"metadata\":{\"absolute_epoch_id\":1,\"rotation_id\":\"0\",\"refreshed_at\":\"x\"},\"nodes\":"
		"{\"pagination\":{\"total\":0,\"page\":0,\"size\":0},\"data\":[]}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ns_nymapi_page p;
		if (parse_page_text(bad[i], &p) >= 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* an embedded NUL and an oversized body are refused before parsing */
	struct ns_nymapi_page p;
	const char nul[] = "{\"a\":1}\0";
	assert_int_equal(ns_nymapi_parse_page(nul, sizeof nul - 1, &p), NS_TOPOJSON_ERR_JSON);
	assert_int_equal(ns_nymapi_parse_page(nul, (size_t)NS_NYMAPI_MAX_INPUT + 1, &p), NS_TOPOJSON_ERR_JSON);
	/* status other than null is kept as text: lists with different statuses disagree */
	const char *fresh = "{\"metadata\":{\"status\":{\"fresh\":5},\"absolute_epoch_id\":1,\"rotation_id\":0,"
	                    "\"refreshed_at\":\"whenever\"},\"nodes\":{\"pagination\":{\"total\":0,\"page\":0,"
	                    "\"size\":0},\"data\":[]}}";
	assert_int_equal(parse_page_text(fresh, &p), 0);
	assert_string_equal(p.meta.status, "{\"fresh\":5}");
	struct ns_nymapi_meta plain = p.meta;
	plain.status[0] = 0;
	assert_false(ns_nymapi_meta_agree(&p.meta, &plain));
	plain = p.meta;
	plain.rotation_id = 1;
	assert_false(ns_nymapi_meta_agree(&p.meta, &plain));
	ns_nymapi_page_free(&p);
}

static void test_rewarded_rejects(void **state)
{
	(void)state;
	const char *ok = "{\"entry_gateways\":[4],\"exit_gateways\":[4],\"layer1\":[1,1],\"layer2\":[2],"
	                 "\"layer3\":[3],\"standby\":[]}";
	struct ns_nymapi_rewarded rs;
	assert_int_equal(ns_nymapi_parse_rewarded(ok, strlen(ok), &rs), 0);
	assert_int_equal(rs.epoch_id, 0); /* optional */
	assert_int_equal(rs.set_len[NS_SET_LAYER1], 1); /* a HashSet */
	ns_nymapi_rewarded_free(&rs);
	static const char *const bad[] = {
		"{\"entry_gateways\":[4],\"exit_gateways\":[4],\"layer1\":[1],\"layer2\":[2],\"layer3\":[3]}",
		"{\"entry_gateways\":[4],\"exit_gateways\":[4],\"layer1\":[-1],\"layer2\":[2],\"layer3\":[3],\"standby\":[]}",
		"{\"entry_gateways\":[4],\"exit_gateways\":[4],\"layer1\":[\"1\"],\"layer2\":[2],\"layer3\":[3],\"standby\":[]}",
		"{\"entry_gateways\":4,\"exit_gateways\":[4],\"layer1\":[1],\"layer2\":[2],\"layer3\":[3],\"standby\":[]}",
		"{\"epoch_id\":-1,\"entry_gateways\":[4],\"exit_gateways\":[4],\"layer1\":[1],\"layer2\":[2],\"layer3\":[3],\"standby\":[]}",
		"[1]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (ns_nymapi_parse_rewarded(bad[i], strlen(bad[i]), &rs) >= 0)
			fail_msg("accepted: %s", bad[i]);
}

static void test_keyrot_rejects(void **state)
{
	(void)state;
	char *good = ns_topojson_key_rotation_info(&info);
	assert_non_null(good);
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "\"validity_epochs\":24", "\"validity_epochs\":0" },
		{ "\"validity_epochs\":24", "\"validity_epochs\":24,\"extra\":1" },
		{ "\"secs\":3600", "\"secs\":0" },
		{ "\"nanos\":0", "\"nanos\":1000000000" },
		{ "\"current_epoch_start\":\"2025", "\"current_epoch_start\":\"25" },
		{ "\"current_key_rotation_id\":3", "\"current_key_rotation_id\":true" },
		{ "\"progress\":{", "\"progress\":[{" },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char json[2048];
		const char *at = strstr(good, edits[i].from);
		assert_non_null(at);
		snprintf(json, sizeof json, "%.*s%s%s", (int)(at - good), good, edits[i].to,
		         at + strlen(edits[i].from));
		struct ns_nymapi_keyrot k;
		if (ns_nymapi_parse_keyrot(json, strlen(json), &k) >= 0)
			fail_msg("accepted edit %zu: %s", i, json);
	}
	free(good);
}

static void test_pages_append_and_filter(void **state)
{
	(void)state;
	make_net();
	char *gw_json = ns_topojson_skimmed(net + 3, 1, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	char *gw2_json = ns_topojson_skimmed(net + 4, 1, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	char *mix_json = ns_topojson_skimmed(net, NODES, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	char *rs_json = ns_topojson_rewarded_set(net, NODES, &info);
	struct ns_nymapi_page a, b, mix;
	struct ns_nymapi_rewarded rs;
	assert_int_equal(parse_page_text(gw_json, &a), 0);
	assert_int_equal(parse_page_text(gw2_json, &b), 0);
	assert_int_equal(parse_page_text(mix_json, &mix), 0);
	assert_int_equal(ns_nymapi_parse_rewarded(rs_json, strlen(rs_json), &rs), 0);
	assert_int_equal(ns_nymapi_page_append(&a, &b), 0);
	assert_int_equal(a.n_nodes, 2);
	assert_null(b.nodes);
	struct ns_topo t;
	a.nodes[0].performance = 49; /* below the minimum: not a gateway any more */
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &a, 50, 50, &t), 0);
	assert_int_equal(t.topology.n_gateways, 1);
	assert_null(nym_topology_gateway(&t.topology, net[3].identity_key));
	ns_topo_free(&t);
	a.nodes[1].performance = 10;
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &a, 50, 50, &t), NS_TOPOJSON_ERR_ROUTABLE);
	mix.nodes[0].performance = 0; /* layer 1's only mix */
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &a, 0, 0, &t), 0);
	ns_topo_free(&t);
	assert_int_equal(ns_nymapi_topology(&rs, &mix, &a, 1, 0, &t), NS_TOPOJSON_ERR_ROUTABLE);
	ns_nymapi_page_free(&a);
	ns_nymapi_page_free(&mix);
	ns_nymapi_rewarded_free(&rs);
	free(gw_json);
	free(gw2_json);
	free(mix_json);
	free(rs_json);
}

static void test_url(void **state)
{
	(void)state;
	char out[128];
	assert_int_equal(ns_nymapi_url("https://validator.nymtech.net/api/", NS_NYMAPI_PATH_REWARDED, NULL,
	                               out, sizeof out), 0);
	assert_string_equal(out, "https://validator.nymtech.net/api/v1/nym-nodes/rewarded-set");
	assert_int_equal(ns_nymapi_url("http://127.0.0.1:8000//", NS_NYMAPI_PATH_GATEWAYS, "page=0", out,
	                               sizeof out), 0);
	assert_string_equal(out, "http://127.0.0.1:8000/v2/unstable/nym-nodes/skimmed/entry-gateways?page=0");
	assert_int_equal(ns_nymapi_url("http://h", "/x", "", out, sizeof out), 0);
	assert_string_equal(out, "http://h/x");
	assert_int_equal(ns_nymapi_url("http://h", "/x", NULL, out, 10), -1);
}

/* ---- the fetch machine against canned answers */

struct fake_api {
	const char *base;       /* answers only under this base; other URLs fail */
	char *rs, *mix, *gw_page[2], *keyrot;
	int gw_pages;
	int asked_page1;
};

static const char *fake_answer(struct fake_api *api, const char *url)
{
	size_t n = strlen(api->base);
	if (strncmp(url, api->base, n))
		return NULL;
	const char *path = url + n;
	if (!strcmp(path, NS_NYMAPI_PATH_REWARDED))
		return api->rs;
	if (!strcmp(path, NS_NYMAPI_PATH_MIXNODES "?page=0"))
		return api->mix;
	if (!strcmp(path, NS_NYMAPI_PATH_GATEWAYS "?page=0"))
		return api->gw_page[0];
	if (!strcmp(path, NS_NYMAPI_PATH_GATEWAYS "?page=1") && api->gw_pages > 1) {
		api->asked_page1 = 1;
		return api->gw_page[1];
	}
	if (!strcmp(path, NS_NYMAPI_PATH_KEYROT))
		return api->keyrot;
	return NULL;
}

static int drive(struct ns_fetch *f, struct fake_api *api, size_t *requests)
{
	char url[700];
	*requests = 0;
	while (ns_fetch_next(f, url, sizeof url)) {
		const char *body = fake_answer(api, url);
		ns_fetch_feed(f, url, body, body ? strlen(body) : 0, body ? NULL : "connection refused");
		assert_true(++*requests < 100);
	}
	return f->done;
}

static char *replace_once(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void fake_setup(struct fake_api *api, const char *base)
{
	make_net();
	memset(api, 0, sizeof *api);
	api->base = base;
	api->rs = ns_topojson_rewarded_set(net, NODES, &info);
	api->mix = ns_topojson_skimmed(net, NODES, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	api->keyrot = ns_topojson_key_rotation_info(&info);
	/* the two gateways on two pages, each claiming total 2 */
	char *p0 = ns_topojson_skimmed(net + 3, 1, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	char *p1 = ns_topojson_skimmed(net + 4, 1, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	api->gw_page[0] = replace_once(p0, "\"total\":1", "\"total\":2");
	char *t = replace_once(p1, "\"total\":1", "\"total\":2");
	api->gw_page[1] = replace_once(t, "\"page\":0", "\"page\":1");
	api->gw_pages = 2;
	free(t);
	free(p0);
	free(p1);
}

static void fake_free(struct fake_api *api)
{
	free(api->rs);
	free(api->mix);
	free(api->gw_page[0]);
	free(api->gw_page[1]);
	free(api->keyrot);
}

static void conf_with(struct clientconf *c, const char *const *urls, size_t n)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < n; i++)
		snprintf(c->nym_api_urls[i], CLIENTCONF_URL_MAX, "%s", urls[i]);
	c->n_nym_api_urls = n;
	c->debug.minimum_mixnode_performance = 50;
	c->debug.minimum_gateway_performance = 50;
}

static void test_fetch_pages_and_failover(void **state)
{
	(void)state;
	struct fake_api api;
	fake_setup(&api, "http://b:8000/api");
	static const char *const urls[] = { "http://a:8000/", "http://b:8000/api/" };
	struct clientconf c;
	conf_with(&c, urls, 2);
	struct ns_apis apis;
	ns_apis_init(&apis, &c);
	apis.current = 0; /* start at the dead one */
	struct ns_fetch f;
	size_t requests;
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), 1);
	assert_int_equal(requests, 1 + 4); /* a fails at once; b: E1, E2, E3 page 0, page 1 */
	assert_true(api.asked_page1);
	assert_int_equal(apis.current, 1);
	assert_string_equal(ns_apis_url(&apis), "http://b:8000/api/");
	assert_int_equal(f.topo.topology.n_gateways, 2);
	assert_non_null(nym_topology_gateway(&f.topo.topology, net[4].identity_key));
	assert_int_equal(f.topo.topology.key_rotation_id, 3);
	ns_fetch_free(&f);
	/* the next fetch starts at the URL that worked */
	ns_fetch_begin(&f, &apis, NS_FETCH_KEYROT);
	assert_int_equal(drive(&f, &api, &requests), 1);
	assert_int_equal(requests, 1);
	assert_int_equal(f.keyrot.validity_epochs, 24);
	ns_fetch_free(&f);
	ns_fetch_begin(&f, &apis, NS_FETCH_GATEWAYS);
	assert_int_equal(drive(&f, &api, &requests), 1);
	assert_int_equal(f.gw.n_nodes, 2);
	ns_fetch_free(&f);
	fake_free(&api);
}

static void test_fetch_failures(void **state)
{
	(void)state;
	struct fake_api api;
	fake_setup(&api, "http://b");
	static const char *const urls[] = { "http://b/" };
	struct clientconf c;
	conf_with(&c, urls, 1);
	struct ns_apis apis;
	ns_apis_init(&apis, &c);
	struct ns_fetch f;
	size_t requests;
	/* E2 and E3 metadata disagree: the refresh is discarded */
	char *orig = api.gw_page[0];
	api.gw_page[0] = replace_once(orig, "\"rotation_id\":3", "\"rotation_id\":4");
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), -1);
	if (!strstr(f.err, "disagree"))
		fail_msg("err: %s", f.err);
	ns_fetch_free(&f);
	free(api.gw_page[0]);
	/* a malformed page names the URL and the problem */
	api.gw_page[0] = replace_once(orig, "\"mix_port\":", "\"mix_port\":-");
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), -1);
	assert_non_null(strstr(f.err, "http://b/v2/unstable/nym-nodes/skimmed/entry-gateways"));
	ns_fetch_free(&f);
	free(api.gw_page[0]);
	api.gw_page[0] = orig;
	/* no gateway passes the performance filter: not routable */
	c.debug.minimum_gateway_performance = 101;
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), -1);
	assert_non_null(strstr(f.err, "not routable"));
	ns_fetch_free(&f);
	c.debug.minimum_gateway_performance = 50;
	/* a transport error */
	api.base = "http://elsewhere/";
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), -1);
	assert_int_equal(requests, 1);
	assert_non_null(strstr(f.err, "connection refused"));
	ns_fetch_free(&f);
	/* no URL at all */
	c.n_nym_api_urls = 0;
	ns_fetch_begin(&f, &apis, NS_FETCH_TOPOLOGY);
	assert_int_equal(drive(&f, &api, &requests), -1);
	assert_int_equal(requests, 0);
	ns_fetch_free(&f);
	fake_free(&api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_topology),
		cmocka_unit_test(test_key_rotation_round_trip),
		cmocka_unit_test(test_performance),
		cmocka_unit_test(test_page_details),
		cmocka_unit_test(test_page_rejects),
		cmocka_unit_test(test_page_envelope_rejects),
		cmocka_unit_test(test_rewarded_rejects),
		cmocka_unit_test(test_keyrot_rejects),
		cmocka_unit_test(test_pages_append_and_filter),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_surb_cutoff),
		cmocka_unit_test(test_fetch_pages_and_failover),
		cmocka_unit_test(test_fetch_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
