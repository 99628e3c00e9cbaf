/* Topology / nym-api JSON builders and the WasmFriendlyNymTopology parser. The network of
 * the real-client vectors (tests/vectors) is rebuilt from its keys and checked byte for byte
 * against the vectors' routing addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "nymapi.h"
#include "topology_json.h"
#include "unit/util.h"

#define VECTORS "tests/vectors/real-client-packets.json"

struct vector_net {
	struct ns_nodeconf conf[4];
	uint8_t routing_address[4][32];
	uint32_t key_rotation_id, epoch;
	int rotation_byte;
};

static struct vector_net vnet;

static void hex32(const cJSON *obj, const char *name, uint8_t out[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	assert_true(cJSON_IsString(v));
	assert_int_equal(util_unhex(v->valuestring, out, 32), 32);
}

static int load_vectors(void **state)
{
	(void)state;
	size_t len;
	char *text = util_read_file(VECTORS, &len);
	if (!text)
		return -1;
	cJSON *root = cJSON_Parse(text);
	free(text);
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "network");
	vnet.key_rotation_id = (uint32_t)cJSON_GetObjectItemCaseSensitive(net, "key_rotation_id")->valuedouble;
	vnet.epoch = (uint32_t)cJSON_GetObjectItemCaseSensitive(net, "absolute_epoch_id")->valuedouble;
	vnet.rotation_byte = cJSON_GetObjectItemCaseSensitive(net, "sphinx_key_rotation_byte")->valueint;
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(net, "nodes");
	if (cJSON_GetArraySize(nodes) != 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		const cJSON *n = cJSON_GetArrayItem(nodes, i);
		struct ns_nodeconf *c = &vnet.conf[i];
		memset(c, 0, sizeof *c);
		c->id = (uint32_t)cJSON_GetObjectItemCaseSensitive(n, "node_id")->valuedouble;
		const char *role = cJSON_GetObjectItemCaseSensitive(n, "role")->valuestring;
		const char *mix_host = cJSON_GetObjectItemCaseSensitive(n, "mix_host")->valuestring;
		int gw = strncmp(role, "gateway", 7) == 0;
		c->role = gw ? NS_ROLE_GATEWAY : NS_ROLE_MIXNODE;
		c->layer = gw ? 0 : (uint8_t)c->id;
		snprintf(c->name, sizeof c->name, gw ? "gateway%u" : "mix%u", c->id);
		const char *colon = strrchr(mix_host, ':');
		snprintf(c->host, sizeof c->host, "%.*s", (int)(colon - mix_host), mix_host);
		c->mix_port = (uint16_t)atoi(colon + 1);
		c->clients_ws_port = gw ? 9000 : 0;
		hex32(n, "ed25519_identity_public_hex", c->identity_key);
		hex32(n, "x25519_sphinx_public_hex", c->sphinx_key);
		hex32(n, "routing_address_32", vnet.routing_address[i]);
		c->key_rotation_id = vnet.key_rotation_id;
		c->absolute_epoch_id = vnet.epoch;
	}
	cJSON_Delete(root);
	return 0;
}

static struct ns_netinfo vinfo(void)
{
	return (struct ns_netinfo){ .key_rotation_id = vnet.key_rotation_id,
		                    .absolute_epoch_id = vnet.epoch,
		                    .refreshed_at = 1795392000, /* 2026-11-23T00:00:00Z */
		                    .epoch_start = 1795391940,
		                    .epoch_duration_secs = 3600 };
}

static void test_vector_network_round_trip(void **state)
{
	(void)state;
	struct ns_netinfo info = vinfo();
	char *json = ns_topojson_wasm_topology(vnet.conf, 4, &info, 1);
	assert_non_null(json);
	struct ns_topo t;
	assert_int_equal(ns_topo_parse(json, strlen(json), &t), 0);
	assert_int_equal(t.key_rotation_id, 3);
	assert_int_equal(t.absolute_epoch_id, 100);
	assert_string_equal(t.refreshed_at, "2026-11-23T00:00:00Z");
	assert_int_equal(t.n_nodes, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t.nodes[i].node_id, vnet.conf[i].id);
		assert_memory_equal(t.nodes[i].address, vnet.routing_address[i], 32);
		assert_memory_equal(t.nodes[i].identity, vnet.conf[i].identity_key, 32);
		assert_memory_equal(t.nodes[i].sphinx_key, vnet.conf[i].sphinx_key, 32);
	}
	for (int l = 0; l < 3; l++) {
		assert_int_equal(t.topology.layer_len[l], 1);
		assert_int_equal(t.topology.layer[l][0].node_id, (uint32_t)l + 1);
		assert_memory_equal(t.topology.layer[l][0].address, vnet.routing_address[l], 32);
	}
	assert_int_equal(t.topology.n_gateways, 1);
	assert_memory_equal(t.topology.gateways[0].identity, vnet.conf[3].identity_key, 32);
	assert_true(t.nodes[3].has_entry);
	assert_string_equal(t.nodes[3].entry_ip, "127.0.0.1");
	assert_int_equal(t.nodes[3].clients_ws_port, 9000);
	assert_true(t.nodes[3].mixnet_entry && t.nodes[3].mixnet_exit && !t.nodes[3].mixnode);
	/* rotation id 3 gives the rotation byte the real packets carry */
	assert_int_equal(nym_topology_key_rotation_byte(&t.topology), vnet.rotation_byte);
	ns_topo_free(&t);
	free(json);
}

static void test_rewarded_set_and_key_rotation_exact(void **state)
{
	(void)state;
	struct ns_netinfo info = vinfo();
	char *rs = ns_topojson_rewarded_set(vnet.conf, 4, &info);
	assert_string_equal(rs, "{\"epoch_id\":100,\"entry_gateways\":[4],\"exit_gateways\":[4],"
	                        "\"layer1\":[1],\"layer2\":[2],\"layer3\":[3],\"standby\":[]}");
	free(rs);
	char *kr = ns_topojson_key_rotation_info(&info);
	assert_string_equal(kr, "{\"key_rotation_state\":{\"validity_epochs\":24,\"initial_epoch_id\":28},"
	                        "\"current_absolute_epoch_id\":100,\"current_epoch_start\":\"2026-11-22T23:59:00Z\","
	                        "\"epoch_duration\":{\"secs\":3600,\"nanos\":0},"
	                        "\"progress\":{\"current_key_rotation_id\":3,\"current_rotation_starting_epoch\":100,"
	                        "\"current_rotation_ending_epoch\":123}}");
	free(kr);
	/* the derived rotation is (100 - 28) / 24 = 3 */
	uint32_t validity, initial;
	assert_int_equal(ns_netinfo_schedule(&info, &validity, &initial), 0);
	assert_int_equal((info.absolute_epoch_id - initial) / validity, 3);
	info.key_rotation_id = 5;
	info.absolute_epoch_id = 10;
	assert_int_equal(ns_netinfo_schedule(&info, &validity, &initial), 0);
	assert_int_equal(validity, 1);
	assert_int_equal(initial, 5);
	info.key_rotation_id = 11;
	assert_int_equal(ns_netinfo_schedule(&info, &validity, &initial), -1);
	assert_null(ns_topojson_key_rotation_info(&info));
}

static const cJSON *get(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v)
		fail_msg("missing member %s", name);
	return v;
}

static void test_skimmed_shapes(void **state)
{
	(void)state;
	struct ns_netinfo info = vinfo();
	char *s = ns_topojson_skimmed(vnet.conf, 4, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	cJSON *root = cJSON_Parse(s);
	const cJSON *meta = get(root, "metadata");
	assert_true(cJSON_IsNull(get(meta, "status")));
	assert_int_equal(get(meta, "rotation_id")->valueint, 3);
	assert_int_equal(get(meta, "absolute_epoch_id")->valueint, 100);
	assert_string_equal(get(meta, "refreshed_at")->valuestring, "2026-11-23T00:00:00Z");
	const cJSON *nodes = get(root, "nodes");
	const cJSON *pg = get(nodes, "pagination");
	assert_int_equal(get(pg, "total")->valueint, 1);
	assert_int_equal(get(pg, "page")->valueint, 0);
	assert_int_equal(get(pg, "size")->valueint, 1);
	const cJSON *gw = cJSON_GetArrayItem(get(nodes, "data"), 0);
	assert_int_equal(get(gw, "node_id")->valueint, 4);
	char b58[64];
	base58_encode(vnet.conf[3].identity_key, 32, b58, sizeof b58);
	assert_string_equal(get(gw, "ed25519_identity_pubkey")->valuestring, b58);
	assert_string_equal(cJSON_GetArrayItem(get(gw, "ip_addresses"), 0)->valuestring, "127.0.0.1");
	assert_int_equal(get(gw, "mix_port")->valueint, 1792);
	assert_string_equal(get(gw, "role")->valuestring, "EntryGateway");
	const cJSON *roles = get(gw, "supported_roles");
	assert_true(cJSON_IsFalse(get(roles, "mixnode")) && cJSON_IsTrue(get(roles, "entry")) &&
	            cJSON_IsTrue(get(roles, "exit_nr")) && cJSON_IsTrue(get(roles, "exit_ipr")));
	const cJSON *entry = get(gw, "entry");
	assert_int_equal(get(entry, "ws_port")->valueint, 9000);
	assert_true(cJSON_IsNull(get(entry, "hostname")) && cJSON_IsNull(get(entry, "wss_port")));
	assert_string_equal(get(gw, "performance")->valuestring, "1");
	cJSON_Delete(root);
	free(s);

	s = ns_topojson_skimmed(vnet.conf, 4, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	root = cJSON_Parse(s);
	const cJSON *data = get(get(root, "nodes"), "data");
	assert_int_equal(cJSON_GetArraySize(data), 3);
	const cJSON *mix = cJSON_GetArrayItem(data, 2);
	assert_int_equal(get(get(get(mix, "role"), "Mixnode"), "layer")->valueint, 3);
	assert_true(cJSON_IsNull(get(mix, "entry")));
	cJSON_Delete(root);
	free(s);

	s = ns_topojson_skimmed(vnet.conf, 4, &info, NS_FILTER_ALL, 1);
	root = cJSON_Parse(s);
	data = get(get(root, "nodes"), "data");
	assert_int_equal(cJSON_GetArraySize(data), 4);
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(data, 0), "x25519_noise_versioned_key")));
	assert_int_equal(get(get(cJSON_GetArrayItem(data, 0), "basic"), "node_id")->valueint, 1);
	cJSON_Delete(root);
	free(s);

	s = ns_topojson_skimmed_v1(vnet.conf, 4, &info, NS_FILTER_ALL);
	root = cJSON_Parse(s);
	assert_true(cJSON_IsNull(get(root, "status")));
	assert_int_equal(get(get(get(root, "nodes"), "pagination"), "total")->valueint, 4);
	cJSON_Delete(root);
	free(s);
}

/* A gateway with announced listeners (nodeconf's hostname, announce_ws_port, clients_wss_port)
 * is announced so in both formats, and read back by the client's parsers. */
static void test_announced_listeners(void **state)
{
	(void)state;
	struct ns_netinfo info = vinfo();
	struct ns_nodeconf conf[4];
	memcpy(conf, vnet.conf, sizeof conf);
	snprintf(conf[3].hostname, sizeof conf[3].hostname, "gw.example");
	conf[3].announce_ws_port = 9100;
	conf[3].clients_wss_port = 9443;
	char *json = ns_topojson_wasm_topology(conf, 4, &info, 1);
	struct ns_topo t;
	assert_int_equal(ns_topo_parse(json, strlen(json), &t), 0);
	assert_string_equal(t.nodes[3].hostname, "gw.example");
	assert_int_equal(t.nodes[3].clients_ws_port, 9100);
	assert_true(t.nodes[3].has_wss_port);
	assert_int_equal(t.nodes[3].clients_wss_port, 9443);
	ns_topo_free(&t);
	free(json);
	char *s = ns_topojson_skimmed(conf, 4, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	struct ns_nymapi_page page;
	assert_int_equal(ns_nymapi_parse_page(s, strlen(s), &page), 0);
	assert_int_equal(page.n_nodes, 1);
	assert_string_equal(page.nodes[0].n.hostname, "gw.example");
	assert_int_equal(page.nodes[0].n.clients_ws_port, 9100);
	assert_true(page.nodes[0].n.has_wss_port);
	assert_int_equal(page.nodes[0].n.clients_wss_port, 9443);
	ns_nymapi_page_free(&page);
	free(s);
}

static void test_routing_address(void **state)
{
	(void)state;
	uint8_t a[32], want[32] = { 6, 0x07, 0x00 };
	assert_int_equal(ns_routing_address("127.0.0.1:1789", a), 7);
	assert_memory_equal(a, vnet.routing_address[0], 32);
	assert_int_equal(ns_routing_address("[::1]:1792", a), 19);
	want[18] = 1;
	assert_memory_equal(a, want, 32);
	const char *bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:01",
		              "::1:80", "[::1]80", "[127.0.0.1]:80", "host:80", "1.2.3.4:8x",
		              "[::1:80", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (ns_routing_address(bad[i], a) != -1)
			fail_msg("accepted %s", bad[i]);
}

/* Replaces the first `from` in a valid topology and expects `code`. */
static void expect_topo(const char *from, const char *to, int code)
{
	struct ns_netinfo info = vinfo();
	char *json = ns_topojson_wasm_topology(vnet.conf, 4, &info, 0);
	char *at = strstr(json, from);
	if (!at)
		fail_msg("'%s' not in %s", from, json);
	size_t n = strlen(json) + strlen(to) + 1;
	char *buf = malloc(n);
	snprintf(buf, n, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
	struct ns_topo t;
	int rc = ns_topo_parse(buf, strlen(buf), &t);
	if (rc != code)
		fail_msg("'%s' -> '%s': rc %d, want %d", from, to, rc, code);
	if (rc == 0)
		ns_topo_free(&t);
	free(buf);
	free(json);
}

static void test_parser_rejects(void **state)
{
	(void)state;
	expect_topo("{\"metadata\"", "{\"extra\":1,\"metadata\"", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"nodeId\":1,", "\"nodeId\":1,\"x\":0,", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"nodeId\":1,", "\"nodeId\":7,", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"nodeId\":1,", "\"nodeId\":1.5,", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"nodeId\":1,", "\"nodeId\":\"1\",", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"key_rotation_id\":3", "\"key_rotation_id\":4294967296", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"key_rotation_id\":3", "\"key_rotation_id\":-1", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"key_rotation_id\":3,", "", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"refreshed_at\":\"2026", "\"refreshed_at\":\"x026", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"mixHost\":\"127.0.0.1:1789\"", "\"mixHost\":\"localhost:1789\"", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"sphinxKey\":\"", "\"sphinxKey\":\"0", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"identityKey\":\"", "\"identityKey\":\"1", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"layer2\":[2]", "\"layer2\":[]", NS_TOPOJSON_ERR_ROUTABLE);
	expect_topo("\"layer3\":[3]", "\"layer3\":[99]", NS_TOPOJSON_ERR_ROUTABLE);
	expect_topo("\"entry_gateways\":[4],\"exit_gateways\":[4]",
	            "\"entry_gateways\":[],\"exit_gateways\":[]", NS_TOPOJSON_ERR_ROUTABLE);
	expect_topo("\"standby\":[]", "\"standby\":{}", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"standby\":[]", "\"standby\":[-3]", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"mixnode\":true", "\"mixnode\":1", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"clients_ws_port\":9000", "\"clients_ws_port\":70000", NS_TOPOJSON_ERR_VALUE);
	expect_topo("\"ip_addresses\":[\"127.0.0.1\"]", "\"ip_addresses\":[\"nope\"]", NS_TOPOJSON_ERR_VALUE);
	expect_topo("{\"metadata\"", "{\"metadata\":{},\"metadata\"", NS_TOPOJSON_ERR_SHAPE);
	expect_topo("\"nodeDetails\":{", "\"nodeDetails\":[", NS_TOPOJSON_ERR_JSON);
	/* accepted: unknown members inside metadata (no deny_unknown_fields there), repeats in
	 * a set, a hostname and wss port */
	expect_topo("\"absolute_epoch_id\":100,", "\"absolute_epoch_id\":100,\"future\":[1],", 0);
	expect_topo("\"layer1\":[1]", "\"layer1\":[1,1]", 0);
	expect_topo("\"hostname\":null,\"clients_wss_port\":null",
	            "\"hostname\":\"gw.local\",\"clients_wss_port\":9001", 0);
	struct ns_topo t;
	assert_int_equal(ns_topo_parse("{}", 2, &t), NS_TOPOJSON_ERR_SHAPE);
	assert_int_equal(ns_topo_parse("", 0, &t), NS_TOPOJSON_ERR_JSON);
	assert_int_equal(ns_topo_parse("[1]", 3, &t), NS_TOPOJSON_ERR_SHAPE);
	/* trailing bytes and an embedded NUL */
	struct ns_netinfo info = vinfo();
	char *json = ns_topojson_wasm_topology(vnet.conf, 4, &info, 0);
	size_t n = strlen(json);
	char *buf = malloc(n + 2);
	memcpy(buf, json, n);
	buf[n] = 'x';
	assert_int_equal(ns_topo_parse(buf, n + 1, &t), NS_TOPOJSON_ERR_JSON);
	buf[n] = 0;
	assert_int_equal(ns_topo_parse(buf, n + 1, &t), NS_TOPOJSON_ERR_JSON);
	assert_int_equal(ns_topo_parse(buf, n, &t), 0);
	ns_topo_free(&t);
	free(buf);
	free(json);
}


/* ---- Nym's serde form of NymTopology (--custom-mixnet) */

/* The test's own rewrite of a WasmFriendlyNymTopology into Nym's form (keys as arrays). */
static char *to_nym_form(const char *wasm, int with_metadata)
{
	cJSON *w = cJSON_Parse(wasm), *out = cJSON_CreateObject(), *nodes = cJSON_CreateObject();
	if (with_metadata)
		cJSON_AddItemToObject(out, "metadata",
		                      cJSON_Duplicate(cJSON_GetObjectItem(w, "metadata"), 1));
	cJSON_AddItemToObject(out, "rewarded_set",
	                      cJSON_Duplicate(cJSON_GetObjectItem(w, "rewardedSet"), 1));
	for (cJSON *n = cJSON_GetObjectItem(w, "nodeDetails")->child; n; n = n->next) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "node_id", cJSON_Duplicate(cJSON_GetObjectItem(n, "nodeId"), 1));
		cJSON_AddItemToObject(o, "mix_host", cJSON_Duplicate(cJSON_GetObjectItem(n, "mixHost"), 1));
		cJSON_AddItemToObject(o, "entry", cJSON_Duplicate(cJSON_GetObjectItem(n, "entry"), 1));
		const char *names[2][2] = { { "identityKey", "identity_key" }, { "sphinxKey", "sphinx_key" } };
		for (int k = 0; k < 2; k++) {
			uint8_t b[32];
			assert_int_equal(base58_decode(cJSON_GetObjectItem(n, names[k][0])->valuestring, b, 32), 32);
			cJSON *a = cJSON_CreateArray();
			for (int i = 0; i < 32; i++)
				cJSON_AddItemToArray(a, cJSON_CreateNumber(b[i]));
			cJSON_AddItemToObject(o, names[k][1], a);
		}
		cJSON_AddItemToObject(o, "supported_roles",
		                      cJSON_Duplicate(cJSON_GetObjectItem(n, "supportedRoles"), 1));
		cJSON_AddStringToObject(o, "ignored_by_serde", "x");
		cJSON_AddItemToObject(nodes, n->string, o);
	}
	cJSON_AddItemToObject(out, "node_details", nodes);
	char *text = cJSON_PrintUnformatted(out);
	cJSON_Delete(w);
	cJSON_Delete(out);
	return text;
}

static void test_nym_form(void **state)
{
	(void)state;
	struct ns_netinfo info = vinfo();
	char *wasm = ns_topojson_wasm_topology(vnet.conf, 4, &info, 0);
	struct ns_topo want, got;
	assert_int_equal(ns_topo_parse(wasm, strlen(wasm), &want), 0);
	char *nym = to_nym_form(wasm, 1);
	char *back = ns_topojson_from_nym(nym, strlen(nym));
	assert_non_null(back);
	assert_int_equal(ns_topo_parse(back, strlen(back), &got), 0);
	assert_int_equal(got.n_nodes, want.n_nodes);
	assert_int_equal(got.key_rotation_id, want.key_rotation_id);
	for (size_t i = 0; i < want.n_nodes; i++) {
		assert_int_equal(got.nodes[i].node_id, want.nodes[i].node_id);
		assert_memory_equal(got.nodes[i].identity, want.nodes[i].identity, 32);
		assert_memory_equal(got.nodes[i].sphinx_key, want.nodes[i].sphinx_key, 32);
		assert_int_equal(got.nodes[i].has_entry, want.nodes[i].has_entry);
		assert_int_equal(got.nodes[i].clients_ws_port, want.nodes[i].clients_ws_port);
		assert_int_equal(got.nodes[i].mixnet_entry, want.nodes[i].mixnet_entry);
	}
	ns_topo_free(&got);
	free(back);
	free(nym);
	/* metadata is optional in Nym's form */
	nym = to_nym_form(wasm, 0);
	back = ns_topojson_from_nym(nym, strlen(nym));
	assert_non_null(back);
	assert_non_null(strstr(back, "\"key_rotation_id\":0"));
	free(back);
	free(nym);
	/* our own form is not Nym's */
	assert_null(ns_topojson_from_nym(wasm, strlen(wasm)));
	ns_topo_free(&want);
	free(wasm);
}

/* One replacement in Nym's form of the test network: converted (want_ok) or refused. */
static void expect_nym(const char *from, const char *to, int want_ok)
{
	struct ns_netinfo info = vinfo();
	char *wasm = ns_topojson_wasm_topology(vnet.conf, 4, &info, 0);
	char *nym = to_nym_form(wasm, 1);
	char *at = strstr(nym, from);
	if (!at)
		fail_msg("'%s' not in %s", from, nym);
	size_t n = strlen(nym) + strlen(to) + 1;
	char *buf = malloc(n);
	snprintf(buf, n, "%.*s%s%s", (int)(at - nym), nym, to, at + strlen(from));
	char *out = ns_topojson_from_nym(buf, strlen(buf));
	if ((out != NULL) != want_ok)
		fail_msg("%s: %s", want_ok ? "refused" : "accepted", buf);
	free(out);
	free(buf);
	free(nym);
	free(wasm);
}

static void test_nym_form_rejects(void **state)
{
	(void)state;
	expect_nym("\"identity_key\":[", "\"identity_key\":[300,", 0);
	expect_nym("\"identity_key\":[", "\"identity_key\":[1,", 0);       /* 33 numbers */
	expect_nym("\"sphinx_key\":[", "\"sphinx_key\":[1.5,", 0);
	expect_nym("\"sphinx_key\":[", "\"sphinx_key\":[-1,", 0);
	expect_nym("\"identity_key\":[", "\"identity_key\":\"abc\",\"x\":[", 0);
	expect_nym("\"rewarded_set\"", "\"rewarded_sets\"", 0);
	expect_nym("\"node_details\":{", "\"node_details\":[{", 0);
	expect_nym("\"node_id\"", "\"nodeid\"", 0);
	expect_nym("\"supported_roles\"", "\"roles\"", 0);
	expect_nym("{\"metadata\"", "{\"future\":1,\"metadata\"", 1); /* serde ignores it */
	assert_null(ns_topojson_from_nym("not json", 8));
	assert_null(ns_topojson_from_nym("[]", 2));
	assert_null(ns_topojson_from_nym(NULL, 0));
	static char big[NS_TOPOJSON_MAX_INPUT + 1];
	memset(big, ' ', sizeof big);
	assert_null(ns_topojson_from_nym(big, sizeof big));
}


static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_load_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_topology_json.XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.json", dir);
	struct ns_netinfo info = vinfo();
	char *wasm = ns_topojson_wasm_topology(vnet.conf, 4, &info, 0), *nym = to_nym_form(wasm, 1);
	struct ns_topo t;
	const char *forms[] = { wasm, nym };
	for (int i = 0; i < 2; i++) { /* both forms */
		write_file(path, forms[i], strlen(forms[i]));
		assert_int_equal(ns_topo_load_file(path, &t, err, sizeof err), 0);
		assert_int_equal(t.n_nodes, 4);
		ns_topo_free(&t);
	}
	write_file(path, "{}", 2);
	assert_true(ns_topo_load_file(path, &t, err, sizeof err) < 0);
	assert_non_null(strstr(err, "not a topology file"));
	static char big[NS_TOPOJSON_MAX_INPUT + 1];
	memset(big, ' ', sizeof big);
	write_file(path, big, sizeof big);
	assert_true(ns_topo_load_file(path, &t, err, sizeof err) < 0);
	assert_string_equal(err, "file too large");
	unlink(path);
	assert_true(ns_topo_load_file(path, &t, err, sizeof err) < 0);
	assert_string_equal(err, "No such file or directory");
	rmdir(dir);
	free(nym);
	free(wasm);
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_network_round_trip),
		cmocka_unit_test(test_rewarded_set_and_key_rotation_exact),
		cmocka_unit_test(test_skimmed_shapes),
		cmocka_unit_test(test_announced_listeners),
		cmocka_unit_test(test_routing_address),
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_nym_form),
		cmocka_unit_test(test_nym_form_rejects),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, load_vectors, NULL);
}
