/* common/node: sphinx processing at a node on a real Nym client packet (key choice by the
 * frame's rotation tag, replay detection, exact outputs from the vectors) and the next-hop
 * filter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "node/node.h"
#include "unit/util.h"

#define VECTORS_PATH "tests/vectors/real-client-packets.json"

static struct {
	uint8_t packet[NYM_PACKET_REGULAR_SIZE];
	uint8_t secret[32];
	uint8_t next_addr[32], replay_tag[32], out_sha[32];
	uint64_t delay_ns;
	uint8_t rotation;
	uint32_t rotation_id;
} v;

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsString(x));
	return x->valuestring;
}

static int load_vector(void **state)
{
	(void)state;
	size_t len;
	char *json = util_read_file(VECTORS_PATH, &len);
	assert_non_null(json);
	cJSON *root = cJSON_Parse(json);
	free(json);
	assert_non_null(root);
	const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "packets"), 0);
	const cJSON *mp = cJSON_GetObjectItemCaseSensitive(p, "mix_packet");
	const cJSON *hop = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "hops"), 0);
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "network");
	assert_int_equal(util_unhex(jstr(mp, "sphinx_packet"), v.packet, sizeof v.packet), sizeof v.packet);
	assert_int_equal(util_unhex(jstr(hop, "node_x25519_private_hex"), v.secret, 32), 32);
	assert_int_equal(util_unhex(jstr(hop, "next_hop_address_32"), v.next_addr, 32), 32);
	assert_int_equal(util_unhex(jstr(hop, "replay_tag"), v.replay_tag, 32), 32);
	assert_int_equal(util_unhex(jstr(hop, "out_packet_sha256"), v.out_sha, 32), 32);
	v.delay_ns = strtoull(jstr(hop, "delay_ns"), NULL, 10);
	v.rotation = (uint8_t)cJSON_GetObjectItemCaseSensitive(mp, "key_rotation")->valueint;
	v.rotation_id = (uint32_t)cJSON_GetObjectItemCaseSensitive(net, "key_rotation_id")->valueint;
	cJSON_Delete(root);
	return 0;
}

static struct nym_frame frame_of(uint8_t version, uint8_t rotation, uint8_t type)
{
	struct nym_frame f = { .header = { version, NYM_PACKET_REGULAR, type, rotation },
	                       .packet = v.packet, .packet_len = sizeof v.packet };
	return f;
}

static void assert_forward_as_vector(int rc, const struct sphinx_processed *res, const uint8_t *out)
{
	uint8_t sha[32];
	static const uint8_t zero[SPHINX_EXPANDED_LEN];
	assert_int_equal(rc, SPHINX_FLAG_FORWARD);
	assert_memory_equal(res->next_address, v.next_addr, 32);
	assert_int_equal(res->delay_ns, v.delay_ns);
	assert_memory_equal(res->replay_tag, v.replay_tag, 32);
	ns_sha256(sha, out, sizeof v.packet);
	assert_memory_equal(sha, v.out_sha, 32);
	/* diagnostic secrets are wiped */
	assert_memory_equal(res->shared_secret, zero, 32);
	assert_memory_equal(res->expanded, zero, SPHINX_EXPANDED_LEN);
	assert_memory_equal(res->payload_key, zero, SPHINX_PAYLOAD_KEY_LEN);
}

static void test_real_packet_and_replay(void **state)
{
	(void)state;
	static uint8_t out[NYM_PACKET_REGULAR_SIZE];
	struct ns_keyring kr;
	struct sphinx_processed res;
	assert_int_equal(v.rotation, NYM_KEY_ROTATION_ODD);
	assert_int_equal(ns_keyring_init(&kr, v.secret, v.rotation_id, 16), 0);
	struct nym_frame f = frame_of(8, v.rotation, NYM_PACKET_TYPE_MIX);
	assert_forward_as_vector(ns_keyring_process(&kr, &f, out, &res), &res, out);
	/* the same packet again, as version 7 (rotation Unknown): a replay */
	f = frame_of(7, NYM_KEY_ROTATION_UNKNOWN, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), NS_NODE_ERR_REPLAY);
	assert_int_equal(ns_replay_set_count(kr.key[0].replay), 1);
	/* a new key epoch forgets the tag */
	ns_replay_set_reset(kr.key[0].replay);
	assert_forward_as_vector(ns_keyring_process(&kr, &f, out, &res), &res, out);
	ns_keyring_wipe(&kr);
	static const uint8_t zero[32];
	assert_memory_equal(kr.key[0].secret, zero, 32);
}

static void test_rotation_parity(void **state)
{
	(void)state;
	static uint8_t out[NYM_PACKET_REGULAR_SIZE];
	struct ns_keyring kr;
	struct sphinx_processed res;
	uint8_t other[32];
	ns_random(other, sizeof other);

	/* only an odd key (id 3): Even names a key we do not have */
	assert_int_equal(ns_keyring_init(&kr, v.secret, 3, 0), 0);
	struct nym_frame f = frame_of(8, NYM_KEY_ROTATION_EVEN, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), NS_NODE_ERR_EXPIRED_KEY);
	ns_keyring_wipe(&kr);

	/* primary even (id 4, a different key), secondary = the packet's key */
	assert_int_equal(ns_keyring_init(&kr, other, 4, 8), 0);
	f = frame_of(8, NYM_KEY_ROTATION_ODD, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), NS_NODE_ERR_EXPIRED_KEY);
	f = frame_of(7, NYM_KEY_ROTATION_UNKNOWN, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), SPHINX_ERR_MAC);
	kr.key[1].present = 1;
	memcpy(kr.key[1].secret, v.secret, 32);
	kr.key[1].rotation_id = 3;
	kr.key[1].replay = ns_replay_set_new(8);
	/* Unknown: the primary's MAC fails, the secondary works */
	assert_forward_as_vector(ns_keyring_process(&kr, &f, out, &res), &res, out);
	assert_int_equal(ns_replay_set_count(kr.key[1].replay), 1);
	assert_int_equal(ns_replay_set_count(kr.key[0].replay), 0);
	/* Odd: the primary is even, so the secondary; already seen there */
	f = frame_of(8, NYM_KEY_ROTATION_ODD, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), NS_NODE_ERR_REPLAY);
	/* Even: the primary (wrong key for this packet) */
	f = frame_of(8, NYM_KEY_ROTATION_EVEN, NYM_PACKET_TYPE_MIX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), SPHINX_ERR_MAC);
	ns_keyring_wipe(&kr);
}

static void test_malformed(void **state)
{
	(void)state;
	static uint8_t out[NYM_PACKET_REGULAR_SIZE];
	struct ns_keyring kr;
	struct sphinx_processed res;
	assert_int_equal(ns_keyring_init(&kr, v.secret, 3, 8), 0);
	struct nym_frame f = frame_of(8, NYM_KEY_ROTATION_ODD, NYM_PACKET_TYPE_OUTFOX);
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), NS_NODE_ERR_PACKET_TYPE);
	/* one flipped bit in the header MAC region / payload */
	f = frame_of(7, 0, NYM_PACKET_TYPE_MIX);
	v.packet[40] ^= 0x80;
	assert_int_equal(ns_keyring_process(&kr, &f, out, &res), SPHINX_ERR_MAC);
	v.packet[40] ^= 0x80;
	f.packet_len = 100;
	assert_true(ns_keyring_process(&kr, &f, out, &res) < 0);
	assert_int_equal(ns_keyring_process(NULL, &f, out, &res), NS_NODE_ERR_ARG);
	assert_int_equal(ns_replay_set_count(kr.key[0].replay), 0);
	ns_keyring_wipe(&kr);
}

static void test_hop_filter(void **state)
{
	(void)state;
	struct ns_topo_node nodes[3] = { { .node_id = 1 }, { .node_id = 2 }, { .node_id = 3 } };
	strcpy(nodes[0].mix_host, "127.0.0.1:1790");
	strcpy(nodes[1].mix_host, "10.0.0.1:1790");   /* not loopback: left out */
	strcpy(nodes[2].mix_host, "[::1]:2000");
	struct ns_topo topo = { .nodes = nodes, .n_nodes = 3 };
	struct ns_hop_filter *f = ns_hop_filter_from_topo(&topo);
	assert_non_null(f);
	assert_int_equal(ns_hop_filter_len(f), 2);
	struct nym_node_address to;
	/* the vector's next hop: 04 06fe 7f000001 = 127.0.0.1:1790 */
	assert_int_equal(ns_hop_filter_check(f, v.next_addr, &to), 0);
	assert_int_equal(to.ip_version, 4);
	assert_int_equal(to.port, 1790);
	uint8_t a[32] = { 0 };
	memcpy(a, v.next_addr, 32);
	a[2] = 0xff; /* port 1791: not a node */
	assert_int_equal(ns_hop_filter_check(f, a, &to), NS_NODE_ERR_ADDR);
	memcpy(a, "\x04\x06\xfe\x0a\x00\x00\x01", 7); /* 10.0.0.1:1790: in the topology, not loopback */
	assert_int_equal(ns_hop_filter_check(f, a, &to), NS_NODE_ERR_ADDR);
	memset(a, 0, sizeof a);
	a[0] = 6;
	a[1] = 0x07;
	a[2] = 0xd0;
	a[18] = 1; /* [::1]:2000 */
	assert_int_equal(ns_hop_filter_check(f, a, &to), 0);
	a[0] = 5; /* bad address type */
	assert_int_equal(ns_hop_filter_check(f, a, &to), NS_NODE_ERR_ADDR);
	memset(a, 0, sizeof a);
	assert_int_equal(ns_hop_filter_check(f, a, &to), NS_NODE_ERR_ADDR);
	ns_hop_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_packet_and_replay),
		cmocka_unit_test(test_rotation_parity),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_hop_filter),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, load_vector, NULL);
}
