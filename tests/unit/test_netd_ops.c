/* netd's operations (netd/netd_ops.c) hosted by the test alone: no socket, no libev, a
 * virtual clock. The test is the host: it records what the core sends to keyd / apid / the
 * supervisor, the timers it sets, the websocket actions and the GETs, and answers them from a
 * script: a nym-api made of common/topology_json.c's writers (with malformed and failed
 * answers), and a gateway speaking the protocol's text messages (with malformed frames).
 * Also the first-start gateway choice (common/gateway_pick.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "clientconf.h"
#include "gateway_pick.h"
#include "gwclient.h"
#include "ipc_codec.h"
#include "netd_ops.h"
#include "nodeconf.h"
#include "nymapi.h"
#include "topology_json.h"

#define NODES 5
#define API "http://127.0.0.1:8000"
#define GW_URL "ws://127.0.0.1:9003"

static struct ns_nodeconf net[NODES];
static const struct ns_netinfo info = { .key_rotation_id = 3, .absolute_epoch_id = 80,
	                                .refreshed_at = 1762473600, .epoch_start = 1762473600,
	                                .epoch_duration_secs = 3600 };

static struct host {
	uint64_t now;
	unsigned sent[4][NS_IPC_TYPE_LIMIT]; /* by peer role and type */
	uint64_t timer_at[NETD_TIMER_LIMIT]; /* 0: not set */
	uint64_t timer_repeat[NETD_TIMER_LIMIT];
	unsigned conn, opens, closes, http_req, gets;
	char http_url[800];
	char last_text[4096];
	unsigned texts, binaries;
	char state[32], detail[600];
	struct clientconf conf;
	struct netd_ops *n;
	uint8_t last_open_frame[64];
	size_t last_open_len;
} H;

static int h_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	size_t len = 0;
	assert_int_equal(ns_ipc_accepts(peer, NS_IPC_NETD, m->type), 0);
	assert_int_equal(ns_ipc_encode(m, buf, sizeof buf, &len), 0);
	H.sent[peer][m->type]++;
	if (m->type == NS_IPC_T_OPEN_FRAME && m->u.OPEN_FRAME.frame.len <= sizeof H.last_open_frame) {
		H.last_open_len = m->u.OPEN_FRAME.frame.len;
		memcpy(H.last_open_frame, m->u.OPEN_FRAME.frame.ptr, H.last_open_len);
	}
	return 0;
}

static void h_timer_start(void *ctx, unsigned id, uint64_t after, uint64_t repeat)
{
	(void)ctx;
	assert_true(id < NETD_TIMER_LIMIT);
	H.timer_at[id] = H.now + after + 1; /* +1: 0 means unset */
	H.timer_repeat[id] = repeat;
}

static void h_timer_stop(void *ctx, unsigned id)
{
	(void)ctx;
	assert_true(id < NETD_TIMER_LIMIT);
	H.timer_at[id] = 0;
}

static uint64_t h_now(void *ctx)
{
	(void)ctx;
	return H.now;
}

static int h_ws_open(void *ctx, unsigned conn, const char *url, char *why, size_t cap)
{
	(void)ctx, (void)why, (void)cap;
	assert_string_equal(url, GW_URL);
	assert_true(conn > H.conn);
	H.conn = conn;
	H.opens++;
	return 0;
}

static int h_ws_send(void *ctx, unsigned conn, int binary, const uint8_t *d, size_t len)
{
	(void)ctx;
	assert_int_equal(conn, H.conn);
	if (binary) {
		H.binaries++;
	} else {
		H.texts++;
		snprintf(H.last_text, sizeof H.last_text, "%.*s", (int)len, (const char *)d);
	}
	return 0;
}

static int h_ws_ping(void *ctx, unsigned conn)
{
	(void)ctx, (void)conn;
	return 0;
}

static void h_ws_close(void *ctx, unsigned conn, int graceful)
{
	(void)ctx, (void)graceful;
	if (conn == H.conn)
		H.closes++;
}

static int h_http_get(void *ctx, unsigned req, const char *url, char *err, size_t cap)
{
	(void)ctx, (void)err, (void)cap;
	H.http_req = req;
	H.gets++;
	snprintf(H.http_url, sizeof H.http_url, "%s", url);
	return 0;
}

static void h_state(void *ctx, const char *name, const char *detail)
{
	(void)ctx;
	snprintf(H.state, sizeof H.state, "%s", name);
	snprintf(H.detail, sizeof H.detail, "%s", detail);
}

static const struct netd_host host = {
	.ipc = { .send = h_send, .timer_start = h_timer_start, .timer_stop = h_timer_stop },
	.now_ns = h_now, .ws_open = h_ws_open, .ws_send = h_ws_send, .ws_ping = h_ws_ping,
	.ws_close = h_ws_close, .http_get = h_http_get, .state = h_state,
};

/* ---- the localnet-like network and its nym-api */

static void make_net(void)
{
	memset(net, 0, sizeof net);
	for (int i = 0; i < NODES; i++) {
		struct ns_nodeconf *c = &net[i];
		c->id = (uint32_t)(i + 1);
		c->role = i < 3 ? NS_ROLE_MIXNODE : NS_ROLE_GATEWAY;
		c->layer = i < 3 ? (uint8_t)(i + 1) : 0;
		snprintf(c->host, sizeof c->host, "127.0.0.1");
		c->mix_port = (uint16_t)(1789 + i);
		c->clients_ws_port = (uint16_t)(9000 + i);
		memset(c->identity_key, 0x10 + i, 32);
		memset(c->sphinx_key, 0x40 + i, 32);
	}
}

/* The nym-api's answer to url (malloc'd), or NULL for a URL it does not serve. */
static char *api_answer(const char *url)
{
	const char *path = strncmp(url, API, strlen(API)) ? NULL : url + strlen(API);
	if (!path)
		return NULL;
	if (!strcmp(path, NS_NYMAPI_PATH_REWARDED))
		return ns_topojson_rewarded_set(net, NODES, &info);
	if (!strcmp(path, NS_NYMAPI_PATH_MIXNODES "?page=0"))
		return ns_topojson_skimmed(net, NODES, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	if (!strcmp(path, NS_NYMAPI_PATH_GATEWAYS "?page=0"))
		return ns_topojson_skimmed(net, NODES, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	if (!strcmp(path, NS_NYMAPI_PATH_KEYROT))
		return ns_topojson_key_rotation_info(&info);
	return NULL;
}

/* Answers the pending GET as the nym-api would, until none is pending. */
static void serve_api(void)
{
	for (unsigned guard = 0; guard < 50 && H.http_req; guard++) {
		unsigned req = H.http_req;
		H.http_req = 0;
		char *body = api_answer(H.http_url);
		netd_ops_http_response(H.n, req, body ? 200 : 404, body, body ? strlen(body) : 0, NULL);
		free(body);
	}
}

static void fire_due(void)
{
	for (unsigned id = 0; id < NETD_TIMER_LIMIT; id++)
		if (H.timer_at[id] && H.timer_at[id] <= H.now + 1) {
			H.timer_at[id] = H.timer_repeat[id] ? H.now + H.timer_repeat[id] + 1 : 0;
			netd_ops_timer(H.n, id);
		}
}

static void advance(uint64_t ns)
{
	for (uint64_t end = H.now + ns; H.now < end;) {
		H.now += ns / 20 ? ns / 20 : 1;
		fire_due();
	}
}

static void gw(const char *text)
{
	netd_ops_ws_message(H.n, H.conn, 0, (const uint8_t *)text, strlen(text));
}

static void deliver(enum ns_ipc_role from, struct ns_ipc_msg *m)
{
	assert_int_equal(netd_ops_deliver(H.n, from, m), 0);
}

static void new_core(int registered)
{
	memset(&H, 0, sizeof H);
	H.now = 1000000000ull;
	make_net();
	clientconf_debug_defaults(&H.conf.debug);
	snprintf(H.conf.nym_api_urls[0], CLIENTCONF_URL_MAX, "%s", API);
	H.conf.n_nym_api_urls = 1;
	H.conf.debug.disable_main_poisson_packet_distribution = 1;
	H.conf.debug.disable_loop_cover_traffic_stream = 1;
	struct netd_ops_config c = { .conf = &H.conf, .gateway_url = GW_URL,
		                     .registered = registered };
	memcpy(c.gateway_identity, net[3].identity_key, 32);
	H.n = netd_ops_new(&c, &host);
	assert_non_null(H.n);
}

static int teardown(void **state)
{
	(void)state;
	netd_ops_stop(H.n);
	netd_ops_free(H.n);
	return 0;
}

/* The first start in the browser: key rotation, topology, then the gateway. */
static void start_to_connecting(int registered)
{
	new_core(registered);
	assert_int_equal(netd_ops_start(H.n), 0);
	assert_string_equal(H.state, "topology");
	assert_non_null(strstr(H.http_url, NS_NYMAPI_PATH_KEYROT));
	serve_api();
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_TOPOLOGY_BEGIN], 1);
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_TOPOLOGY_NODE], NODES);
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_TOPOLOGY_END], 1);
	assert_string_equal(H.state, "connecting");
	assert_int_equal(H.opens, 1);
}

static void authenticate_to_ready(void)
{
	start_to_connecting(1);
	netd_ops_ws_open(H.n, H.conn);
	assert_string_equal(H.last_text, "{\"type\":\"supportedProtocol\"}");
	gw("{\"type\":\"supportedProtocol\",\"version\":5}");
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_GW_AUTH_REQUEST], 1);
	const char *auth = "{\"type\":\"authenticateV2\",\"x\":1}"; /* keyd's text, opaque here */
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_AUTH_TEXT };
	m.u.GW_AUTH_TEXT.text = NS_IPC_BYTES(auth, strlen(auth));
	deliver(NS_IPC_KEYD, &m);
	assert_string_equal(H.last_text, auth);
	gw("{\"type\":\"authenticate\",\"protocol_version\":5,\"status\":true,"
	   "\"bandwidth_remaining\":100000000000}");
	assert_string_equal(H.state, "ready");
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_GW_PROTOCOL], 1);
}

static void sealed(uint8_t id_byte)
{
	uint8_t frame[100], frag[5] = { id_byte, 0, 0, 0, 1 };
	memset(frame, 0xab, sizeof frame);
	struct ns_ipc_msg m = { .type = NS_IPC_T_SEALED_FRAME };
	m.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(frag, 5);
	m.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, sizeof frame);
	m.u.SEALED_FRAME.expected_delay_ms = 100;
	deliver(NS_IPC_KEYD, &m);
}

/* ---- tests */

static void test_first_start_and_session(void **state)
{
	(void)state;
	authenticate_to_ready();
	sealed(1);
	advance(10000000);
	assert_int_equal(H.binaries, 1);
	assert_int_equal(H.sent[NS_IPC_APID][NS_IPC_T_FRAMES_SENT], 1);
	gw("{\"type\":\"send\",\"remaining_bandwidth\":99999999000}");
	/* a pushed frame goes to keyd unopened */
	uint8_t pushed[40];
	memset(pushed, 0x5a, sizeof pushed);
	netd_ops_ws_message(H.n, H.conn, 1, pushed, sizeof pushed);
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_OPEN_FRAME], 1);
	assert_memory_equal(H.last_open_frame, pushed, sizeof pushed);
	/* an ack ends its timer: no ACK_TIMEOUT however long we wait */
	uint8_t frag[5] = { 1, 0, 0, 0, 1 };
	struct ns_ipc_msg a = { .type = NS_IPC_T_ACK };
	a.u.ACK.frag_id = NS_IPC_BYTES(frag, 5);
	deliver(NS_IPC_KEYD, &a);
	advance(60000000000ull);
	assert_int_equal(H.sent[NS_IPC_APID][NS_IPC_T_ACK_TIMEOUT], 0);
}

static void test_ack_timeout_asks_front(void **state)
{
	(void)state;
	authenticate_to_ready();
	sealed(2);
	advance(10000000);
	assert_int_equal(H.binaries, 1);
	advance(120000000000ull); /* no ack: the front is asked to rebuild */
	assert_true(H.sent[NS_IPC_APID][NS_IPC_T_ACK_TIMEOUT] >= 1);
}

static void test_registration_through_keyd(void **state)
{
	(void)state;
	start_to_connecting(0);
	netd_ops_ws_open(H.n, H.conn);
	gw("{\"type\":\"supportedProtocol\",\"version\":5}");
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_GW_HANDSHAKE_START], 1);
	/* keyd fails the step: the connection is dropped and a new one follows the backoff */
	const char *why = "handshake: cannot build H1";
	struct ns_ipc_msg f = { .type = NS_IPC_T_GW_HANDSHAKE_FAILED };
	f.u.GW_HANDSHAKE_FAILED.reason = NS_IPC_BYTES(why, strlen(why));
	deliver(NS_IPC_KEYD, &f);
	assert_int_equal(H.closes, 1);
	assert_string_equal(H.state, "backoff");
	advance(10000000000ull);
	assert_int_equal(H.opens, 2);
}

/* Malformed gateway text: each ends the connection (never the core), and a new connection
 * follows; a refused authentication is the end (state "failed"). Stale connection numbers
 * are ignored. */
static void test_malformed_gateway_frames(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "{", "[]", "{\"type\":\"nonsense\"}",
		                           "{\"type\":\"supportedProtocol\",\"version\":\"5\"}",
		                           "{\"type\":\"send\"}", "\"\\u0000\"" };
	start_to_connecting(1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned opens = H.opens;
		netd_ops_ws_open(H.n, H.conn);
		gw(bad[i]);
		assert_string_equal(H.state, "backoff");
		advance(10000000000ull);
		assert_int_equal(H.opens, opens + 1);
	}
	netd_ops_ws_open(H.n, H.conn);
	gw("{\"type\":\"supportedProtocol\",\"version\":5}");
	const char *auth = "{}";
	struct ns_ipc_msg m = { .type = NS_IPC_T_GW_AUTH_TEXT };
	m.u.GW_AUTH_TEXT.text = NS_IPC_BYTES(auth, 2);
	deliver(NS_IPC_KEYD, &m);
	gw("{\"type\":\"error\",\"message\":\"the client is not registered\"}");
	assert_string_equal(H.state, "failed");
	/* events of an old connection go nowhere */
	netd_ops_ws_message(H.n, 1, 0, (const uint8_t *)"{}", 2);
	netd_ops_ws_closed(H.n, 1, 1006, "old");
}

static void test_binary_before_auth_drops_connection(void **state)
{
	(void)state;
	start_to_connecting(1);
	netd_ops_ws_open(H.n, H.conn);
	uint8_t junk[3] = { 1, 2, 3 };
	netd_ops_ws_message(H.n, H.conn, 1, junk, sizeof junk);
	assert_string_equal(H.state, "backoff");
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_OPEN_FRAME], 0);
	netd_ops_ws_closed(H.n, H.conn, 1006, "gone");
	advance(10000000000ull);
	assert_int_equal(H.opens, 2);
}

/* Malformed, refused and missing nym-api answers: the first fetch fails with the reason;
 * a stale answer is ignored. */
static void test_malformed_http(void **state)
{
	(void)state;
	static const char *const bodies[] = { "", "{", "[1,2]", "{\"current_key_rotation_id\":true}",
		                              "\xff\xfe", "null" };
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0] + 2; i++) {
		new_core(1);
		assert_int_equal(netd_ops_start(H.n), 0);
		unsigned req = H.http_req;
		netd_ops_http_response(H.n, req + 7, 200, "{}", 2, NULL); /* not ours: ignored */
		assert_int_equal(H.http_req, req);
		H.http_req = 0;
		if (i < sizeof bodies / sizeof bodies[0])
			netd_ops_http_response(H.n, req, 200, bodies[i], strlen(bodies[i]), NULL);
		else if (i == sizeof bodies / sizeof bodies[0])
			netd_ops_http_response(H.n, req, 503, "busy", 4, NULL);
		else
			netd_ops_http_response(H.n, req, 0, NULL, 0, "connection refused");
		assert_int_equal(H.http_req, 0); /* one URL: nothing more to try */
		assert_string_equal(H.state, "failed");
		assert_non_null(strstr(H.detail, "key rotation"));
		assert_int_equal(H.opens, 0);
		netd_ops_free(H.n);
	}
	new_core(1); /* for teardown */
}

/* A refresh that fails keeps the old topology; STATS and STATUS answer the asker. */
static void test_refresh_and_stats(void **state)
{
	(void)state;
	authenticate_to_ready();
	H.conf.n_nym_api_urls = 1;
	advance(H.conf.debug.topology_refresh_rate_ns + 1000000);
	assert_true(H.http_req != 0);
	unsigned req = H.http_req;
	H.http_req = 0;
	netd_ops_http_response(H.n, req, 200, "{\"not\":\"a rewarded set\"}", 24, NULL);
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_TOPOLOGY_BEGIN], 1); /* still generation 1 */
	struct ns_ipc_msg s = { .type = NS_IPC_T_STATS_REQUEST };
	s.u.STATS_REQUEST.request_id = 9;
	deliver(NS_IPC_SUPERVISOR, &s);
	assert_int_equal(H.sent[NS_IPC_SUPERVISOR][NS_IPC_T_STATS_REPLY], 1);
	struct ns_ipc_msg q = { .type = NS_IPC_T_STATUS_REQUEST };
	q.u.STATUS_REQUEST.request_id = 3;
	deliver(NS_IPC_APID, &q);
	assert_int_equal(H.sent[NS_IPC_APID][NS_IPC_T_STATUS_REPLY], 1);
	/* the next refresh succeeds: generation 2 */
	advance(H.conf.debug.topology_refresh_rate_ns + 1000000);
	serve_api();
	assert_int_equal(H.sent[NS_IPC_KEYD][NS_IPC_T_TOPOLOGY_BEGIN], 2);
}

static void test_handled_types(void **state)
{
	(void)state;
	assert_true(netd_ops_handles(NS_IPC_T_SEALED_FRAME));
	assert_true(netd_ops_handles(NS_IPC_T_STATUS_REQUEST));
	assert_false(netd_ops_handles(NS_IPC_T_SHUTDOWN));
	assert_false(netd_ops_handles(NS_IPC_T_BUILD_PACKET));
	new_core(1);
}

/* ---- the first-start gateway choice */

static void test_gateway_pick(void **state)
{
	(void)state;
	make_net();
	char *json = ns_topojson_skimmed(net, NODES, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	struct ns_nymapi_page page;
	assert_int_equal(ns_nymapi_parse_page(json, strlen(json), &page), 0);
	free(json);
	uint8_t id[32];
	char url[256], err[256], want[64];
	int seen[2] = { 0, 0 };
	for (int i = 0; i < 200; i++) {
		assert_int_equal(ns_gw_pick_uniform(&page, 50, 0, NULL, id, url, sizeof url, err,
		                                    sizeof err), 0);
		int k = !memcmp(id, net[3].identity_key, 32) ? 0 : 1;
		assert_memory_equal(id, net[3 + k].identity_key, 32);
		seen[k]++;
	}
	assert_true(seen[0] > 0 && seen[1] > 0); /* both drawn (2^-199 to fail by chance) */
	base58_encode(net[4].identity_key, 32, want, sizeof want);
	assert_int_equal(ns_gw_pick_uniform(&page, 50, 0, want, id, url, sizeof url, err, sizeof err), 0);
	assert_memory_equal(id, net[4].identity_key, 32);
	assert_string_equal(url, "ws://127.0.0.1:9004");
	assert_int_equal(ns_gw_pick_uniform(&page, 50, 1, NULL, id, url, sizeof url, err, sizeof err), -1);
	assert_non_null(strstr(err, "wss"));
	assert_int_equal(ns_gw_pick_uniform(&page, 50, 0, "not-base58!", id, url, sizeof url, err,
	                                    sizeof err), -1);
	assert_int_equal(ns_gw_pick_uniform(&page, 101, 0, NULL, id, url, sizeof url, err, sizeof err), -1);
	/* the listener forms */
	struct ns_topo_node g;
	memset(&g, 0, sizeof g);
	g.clients_ws_port = 9000;
	assert_int_equal(ns_gw_listener_url(&g, 0, url, sizeof url), -1); /* no address at all */
	snprintf(g.entry_ip, sizeof g.entry_ip, "::1");
	assert_int_equal(ns_gw_listener_url(&g, 0, url, sizeof url), 0);
	assert_string_equal(url, "ws://[::1]:9000");
	snprintf(g.hostname, sizeof g.hostname, "gw.example");
	g.has_wss_port = 1, g.clients_wss_port = 443;
	assert_int_equal(ns_gw_listener_url(&g, 1, url, sizeof url), 0);
	assert_string_equal(url, "wss://gw.example:443");
	assert_int_equal(ns_gw_listener_url(&g, 1, url, 8), -1);
	ns_nymapi_page_free(&page);
	new_core(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_first_start_and_session, teardown),
		cmocka_unit_test_teardown(test_ack_timeout_asks_front, teardown),
		cmocka_unit_test_teardown(test_registration_through_keyd, teardown),
		cmocka_unit_test_teardown(test_malformed_gateway_frames, teardown),
		cmocka_unit_test_teardown(test_binary_before_auth_drops_connection, teardown),
		cmocka_unit_test_teardown(test_malformed_http, teardown),
		cmocka_unit_test_teardown(test_refresh_and_stats, teardown),
		cmocka_unit_test_teardown(test_handled_types, teardown),
		cmocka_unit_test_teardown(test_gateway_pick, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
