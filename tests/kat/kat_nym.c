/* Known-answer checks of the nym-sphinx layers against the real-client vectors:
 * identities, SURB-ack split and ack payloads, e2e / reply / cover decryption, fragment
 * headers, rebuilding the sphinx plaintext and whole mix packets from their random inputs,
 * reassembly of messages, reply SURBs (parsed and rebuilt) and the injected V1 message. */
#include "kat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "nymsphinx/ack.h"
#include "nymsphinx/address.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/cover.h"
#include "nymsphinx/e2e.h"
#include "nymsphinx/message.h"
#include "nymsphinx/params.h"
#include "nymsphinx/preparer.h"
#include "nymsphinx/receiver.h"
#include "nymsphinx/replies.h"
#include "nymsphinx/topology.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"

#define MAX_NODES 16
#define PLAINTEXT_LEN 2048
#define TO_CLIENT_LEN (PLAINTEXT_LEN - NYM_SURB_ACK_LEN)
#define FRAG_LEN (TO_CLIENT_LEN - 32)

/* ------------------------------------------------------------ shared state ---- */

struct net {
	struct nym_topo_node node[MAX_NODES];
	uint8_t secret[MAX_NODES][32];
	size_t n;
	struct nym_topology topo;
	struct nym_topo_node layers[NYM_MIX_LAYERS][MAX_NODES];
	struct nym_topo_node gateways[MAX_NODES];
};

struct client {
	struct nym_recipient self;
	uint8_t enc_secret[32];
	uint8_t ack_key[NYM_ACK_KEY_LEN];
};

static const cJSON *raw(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* Reads hex of exactly len bytes; fails the item otherwise. */
static int hex_exact(struct kat *k, const cJSON *o, const char *key, uint8_t *buf, size_t len)
{
	long n = kat_hex(k, o, key, buf, len);
	if (n != (long)len) {
		if (n >= 0)
			kat_fail(k, "%s: %ld bytes, want %zu", key, n, len);
		return -1;
	}
	return 0;
}

static int load_network(struct kat *k, const cJSON *root, struct net *net)
{
	const cJSON *nodes = raw(raw(root, "network"), "nodes"), *n;
	uint64_t rot = 0;

	memset(net, 0, sizeof *net);
	cJSON_ArrayForEach(n, nodes) {
		struct nym_topo_node *t = &net->node[net->n];
		uint64_t id;
		const char *role = kat_str(k, n, "role");
		if (net->n == MAX_NODES || kat_u64(k, n, "node_id", &id) != 0 || role == NULL ||
		    hex_exact(k, n, "routing_address_32", t->address, 32) ||
		    hex_exact(k, n, "x25519_sphinx_public_hex", t->sphinx_key, 32) ||
		    hex_exact(k, n, "x25519_sphinx_private_hex", net->secret[net->n], 32) ||
		    hex_exact(k, n, "ed25519_identity_public_hex", t->identity, 32))
			return -1;
		t->node_id = (uint32_t)id;
		if (strncmp(role, "mix node, layer ", 16) == 0) {
			int l = role[16] - '1';
			if (l < 0 || l >= NYM_MIX_LAYERS)
				return -1;
			net->layers[l][net->topo.layer_len[l]++] = *t;
		} else if (strncmp(role, "gateway", 7) == 0) {
			net->gateways[net->topo.n_gateways++] = *t;
		} else {
			kat_fail(k, "unknown node role %s", role);
			return -1;
		}
		net->n++;
	}
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		net->topo.layer[l] = net->layers[l];
	net->topo.gateways = net->gateways;
	if (kat_u64(k, raw(root, "network"), "key_rotation_id", &rot) != 0)
		return -1;
	net->topo.key_rotation_id = (uint32_t)rot;
	return net->n ? 0 : -1;
}

static int node_index(const struct net *net, uint64_t id)
{
	for (size_t i = 0; i < net->n; i++)
		if (net->node[i].node_id == id)
			return (int)i;
	return -1;
}

static int load_client(struct kat *k, const cJSON *root, struct client *c)
{
	const cJSON *cl = raw(root, "client");
	uint8_t bytes[NYM_RECIPIENT_LEN];

	if (hex_exact(k, cl, "address_bytes_96", bytes, sizeof bytes) ||
	    nym_recipient_from_bytes(bytes, &c->self) != 0 ||
	    hex_exact(k, cl, "x25519_encryption_private_hex", c->enc_secret, 32) ||
	    hex_exact(k, cl, "ack_key_hex", c->ack_key, NYM_ACK_KEY_LEN)) {
		kat_fail(k, "client keys unreadable");
		return -1;
	}
	return 0;
}

/* route_node_ids -> route; delays_ns_encoded -> delays (n-1 values, last = 0). */
static int load_route(struct kat *k, const struct net *net, const cJSON *bi, struct nym_route *route,
                      uint64_t *delays, const char *delays_key)
{
	const cJSON *ids = kat_get(bi, "route_node_ids"), *id, *d;
	size_t i = 0;

	memset(route, 0, sizeof *route);
	cJSON_ArrayForEach(id, ids) {
		int ix = cJSON_IsNumber(id) ? node_index(net, (uint64_t)id->valuedouble) : -1;
		if (ix < 0 || route->n == NYM_ROUTE_MAX) {
			kat_fail(k, "route_node_ids: unknown node");
			return -1;
		}
		memcpy(route->hop[route->n].address, net->node[ix].address, 32);
		memcpy(route->hop[route->n].pubkey, net->node[ix].sphinx_key, 32);
		route->node_id[route->n++] = net->node[ix].node_id;
	}
	memset(delays, 0, SPHINX_MAX_HOPS * sizeof *delays);
	cJSON_ArrayForEach(d, kat_get(bi, delays_key)) {
		if (i + 1 >= route->n || !cJSON_IsString(d)) {
			kat_fail(k, "%s: bad list", delays_key);
			return -1;
		}
		delays[i++] = strtoull(d->valuestring, NULL, 10);
	}
	if (route->n == 0 || i != route->n - 1) {
		kat_fail(k, "%s: %zu delays for %zu hops", delays_key, i, route->n);
		return -1;
	}
	kat_mark_items(ids);
	kat_mark_items(kat_get(bi, delays_key));
	return 0;
}

/* A real route is one node of each mix layer in order, then a gateway: what
 * nym_topology_random_route draws from the topology built from the node roles. */
static void check_route_shape(struct kat *k, const struct net *net, const struct nym_route *r)
{
	int ok = r->n == NYM_ROUTE_MAX;

	for (size_t h = 0; ok && h < r->n; h++) {
		const struct nym_topo_node *set = h < NYM_MIX_LAYERS ? net->topo.layer[h] : net->topo.gateways;
		size_t n = h < NYM_MIX_LAYERS ? net->topo.layer_len[h] : net->topo.n_gateways, i;
		for (i = 0; i < n && set[i].node_id != r->node_id[h]; i++)
			;
		ok = i < n;
	}
	if (!ok)
		kat_fail(k, "route is not layer 1, 2, 3, gateway");
}

/* Checks build_inputs fields that are pure functions of the others. */
static void check_build_inputs_basics(struct kat *k, const cJSON *bi, const uint8_t dest[32])
{
	uint8_t x[32], alpha[32], zero[SPHINX_ID_LEN] = {0};

	if (hex_exact(k, bi, "initial_secret", x, 32) == 0) {
		ns_x25519_base(alpha, x);
		kat_expect_hex(k, bi, "alpha0", alpha, 32);
	}
	kat_expect_hex(k, bi, "destination", dest, 32);
	kat_expect_hex(k, bi, "identifier", zero, sizeof zero);
	ns_memzero(x, sizeof x);
}

static void expect_address_text(struct kat *k, const cJSON *o, const char *key, const uint8_t *addr)
{
	struct nym_node_address a;
	char text[NYM_NODE_ADDR_STR_MAX];

	if (nym_node_address_decode(addr, 32, &a) < 0 ||
	    nym_node_address_format(&a, text, sizeof text) < 0) {
		kat_fail(k, "%s: address does not decode", key);
		return;
	}
	kat_expect_str(k, o, key, text);
}

/* Simple SURB-key store for the receiver. */
struct key_store {
	uint8_t key[4][NYM_SURB_KEY_LEN];
	size_t n;
};

static int store_lookup(void *ctx, const uint8_t digest[32], uint8_t key[NYM_SURB_KEY_LEN])
{
	struct key_store *s = ctx;
	uint8_t d[32];

	for (size_t i = 0; i < s->n; i++) {
		nym_surb_key_digest(s->key[i], d);
		if (memcmp(d, digest, 32) == 0) {
			memcpy(key, s->key[i], NYM_SURB_KEY_LEN);
			return 0;
		}
	}
	return -1;
}

/* Decrypts a packet's to_client_1643 through the receiver (our key, or the packet's
 * reply SURB key). buf receives FRAG_LEN bytes. Returns the receiver kind or -1. */
static int packet_to_fragment(struct kat *k, const struct client *c, const cJSON *pkt, uint8_t *buf)
{
	struct key_store store = {0};
	struct nym_receiver r;
	struct nym_received got;
	uint8_t pushed[TO_CLIENT_LEN];
	const cJSON *reply = raw(pkt, "reply");

	if (hex_exact(k, pkt, "to_client_1643", pushed, sizeof pushed) != 0)
		return -1;
	memset(&r, 0, sizeof r);
	memcpy(r.encryption_secret, c->enc_secret, 32);
	memcpy(r.ack_key, c->ack_key, NYM_ACK_KEY_LEN);
	if (reply && hex_exact(k, reply, "surb_key", store.key[0], NYM_SURB_KEY_LEN) == 0)
		store.n = 1;
	r.surb_keys.lookup = store_lookup;
	r.surb_keys.ctx = &store;
	if (nym_receive(&r, pushed, sizeof pushed, buf, FRAG_LEN, &got) != 0 ||
	    got.data_len != FRAG_LEN) {
		kat_fail(k, "receiver rejected to_client_1643");
		return -1;
	}
	if (got.via_reply != (reply != NULL)) {
		kat_fail(k, "receiver: reply detection wrong (via_reply %d)", got.via_reply);
		return -1;
	}
	ns_memzero(&r, sizeof r);
	return got.kind;
}

/* ------------------------------------------------------------ identities ---- */

static void expect_bs58(struct kat *k, const cJSON *o, const char *key, const uint8_t *b, size_t len)
{
	char s[128];
	if (base58_encode(b, len, s, sizeof s) < 0) {
		kat_fail(k, "%s: base58 failed", key);
		return;
	}
	kat_expect_str(k, o, key, s);
}

static void check_node(struct kat *k, const cJSON *n)
{
	uint8_t sk[32], pk[32], seed[32], edpk[32], edsk[64], addr[32];
	struct nym_node_address a;
	const char *host = kat_str(k, n, "mix_host");

	if (host == NULL || nym_node_address_parse(host, &a) != 0 ||
	    nym_node_address_encode_padded(&a, addr) != 0) {
		kat_fail(k, "mix_host does not parse");
		return;
	}
	kat_expect_hex(k, n, "routing_address_32", addr, 32);
	expect_address_text(k, n, "mix_host", addr);
	kat_note(n, "node_id");
	kat_note(n, "role");
	if (hex_exact(k, n, "x25519_sphinx_private_hex", sk, 32) == 0) {
		ns_x25519_base(pk, sk);
		kat_expect_hex(k, n, "x25519_sphinx_public_hex", pk, 32);
		expect_bs58(k, n, "x25519_sphinx_public_bs58", pk, 32);
		expect_bs58(k, n, "x25519_sphinx_private_bs58", sk, 32);
	}
	if (hex_exact(k, n, "ed25519_identity_seed_hex", seed, 32) == 0) {
		ns_ed25519_from_seed(edpk, edsk, seed);
		kat_expect_hex(k, n, "ed25519_identity_public_hex", edpk, 32);
		expect_bs58(k, n, "ed25519_identity_public_bs58", edpk, 32);
		expect_bs58(k, n, "ed25519_identity_seed_bs58", seed, 32);
	}
	ns_memzero(sk, sizeof sk);
	ns_memzero(seed, sizeof seed);
	ns_memzero(edsk, sizeof edsk);
}

void kat_identities(struct kat *k, const cJSON *root)
{
	const cJSON *net = kat_get(root, "network"), *cl = kat_get(root, "client"), *n;
	uint64_t rot, epoch;
	uint8_t seed[32], edpk[32], edsk[64], sk[32], pk[32], bytes[96], ack[16];
	struct nym_recipient r, parsed;
	char text[NYM_RECIPIENT_STR_MAX];

	if (kat_u64(k, net, "key_rotation_id", &rot) == 0)
		kat_expect_u64(k, net, "sphinx_key_rotation_byte", nym_key_rotation_from_id((uint32_t)rot));
	if (kat_u64(k, net, "absolute_epoch_id", &epoch) == 0 && epoch == 0)
		kat_fail(k, "absolute_epoch_id is zero");
	cJSON_ArrayForEach(n, kat_get(net, "nodes"))
		check_node(k, n);

	if (hex_exact(k, cl, "ed25519_identity_seed_hex", seed, 32) != 0 ||
	    hex_exact(k, cl, "x25519_encryption_private_hex", sk, 32) != 0)
		return;
	ns_ed25519_from_seed(edpk, edsk, seed);
	kat_expect_hex(k, cl, "ed25519_identity_public_hex", edpk, 32);
	expect_bs58(k, cl, "ed25519_identity_public_bs58", edpk, 32);
	expect_bs58(k, cl, "ed25519_identity_seed_bs58", seed, 32);
	ns_x25519_base(pk, sk);
	kat_expect_hex(k, cl, "x25519_encryption_public_hex", pk, 32);
	expect_bs58(k, cl, "x25519_encryption_public_bs58", pk, 32);
	expect_bs58(k, cl, "x25519_encryption_private_bs58", sk, 32);

	memcpy(r.identity, edpk, 32);
	memcpy(r.encryption_key, pk, 32);
	{
		const char *gw = kat_str(k, cl, "gateway_identity_bs58");
		if (gw == NULL || base58_decode(gw, r.gateway, sizeof r.gateway) != 32) {
			kat_fail(k, "gateway_identity_bs58 does not decode to 32 bytes");
			return;
		}
	}
	{
		/* the gateway of the address is the network's gateway */
		const cJSON *node;
		int found = 0;
		cJSON_ArrayForEach(node, raw(net, "nodes")) {
			uint8_t id[32];
			const cJSON *h = raw(node, "ed25519_identity_public_hex");
			if (cJSON_IsString(h) && util_unhex(h->valuestring, id, 32) == 32 &&
			    memcmp(id, r.gateway, 32) == 0)
				found = 1;
		}
		if (!found)
			kat_fail(k, "client gateway is not a network node");
	}
	nym_recipient_to_bytes(&r, bytes);
	kat_expect_hex(k, cl, "address_bytes_96", bytes, sizeof bytes);
	if (nym_recipient_to_string(&r, text, sizeof text) < 0)
		kat_fail(k, "recipient formatting failed");
	else
		kat_expect_str(k, cl, "address", text);
	if (nym_recipient_from_string(kat_str(k, cl, "address") ? kat_str(k, cl, "address") : "", &parsed) != 0 ||
	    memcmp(&parsed, &r, sizeof r) != 0)
		kat_fail(k, "address string does not parse back to the keys");
	hex_exact(k, cl, "ack_key_hex", ack, sizeof ack);
	ns_memzero(seed, sizeof seed);
	ns_memzero(edsk, sizeof edsk);
	ns_memzero(sk, sizeof sk);
}

/* ------------------------------------------------------- routing a packet ---- */

/* Sends packet (len bytes) through the network starting at first_hop, each node found by
 * its routing address, until a final hop. final_plain receives the recovered plaintext
 * (*plain_len bytes, cap cap). Returns the version of the last hop or -1. */
static int route_packet(const struct net *net, const uint8_t *packet, size_t len,
                        const uint8_t first_hop[32], uint8_t *final_plain, size_t cap,
                        size_t *plain_len, uint8_t destination[32])
{
	struct sphinx_processed res;
	uint8_t next[32], *buf = malloc(len);
	int version = -1;

	if (buf == NULL)
		return -1;
	memcpy(buf, packet, len);
	memcpy(next, first_hop, 32);
	for (int hop = 0; hop < SPHINX_MAX_HOPS; hop++) {
		size_t i, off, mlen;
		for (i = 0; i < net->n && memcmp(net->node[i].address, next, 32) != 0; i++)
			;
		if (i == net->n || sphinx_process(net->secret[i], buf, len, buf, &res) != SPHINX_OK)
			break;
		if (res.flag == SPHINX_FLAG_FORWARD) {
			memcpy(next, res.next_address, 32);
			continue;
		}
		if (sphinx_recover_plaintext(buf + SPHINX_HEADER_LEN, len - SPHINX_HEADER_LEN, &off,
		                             &mlen) == SPHINX_OK && mlen <= cap) {
			memcpy(final_plain, buf + SPHINX_HEADER_LEN + off, mlen);
			*plain_len = mlen;
			memcpy(destination, res.destination, 32);
			version = res.version;
		}
		break;
	}
	ns_memzero(&res, sizeof res);
	free(buf);
	return version;
}

/* ------------------------------------------------------- packet decryption ---- */

static void check_surb_ack_split(struct kat *k, const struct net *net, const struct client *c,
                                 const cJSON *sa, const uint8_t *pt)
{
	const uint8_t *ack_packet, *rest;
	uint8_t first_hop[32], payload[64], dest[32], fid[NYM_FRAG_ID_LEN];
	size_t rest_len, plen = 0;
	struct nym_frag_id id;
	int version;

	if (nym_surb_ack_split(pt, PLAINTEXT_LEN, first_hop, &ack_packet, &rest, &rest_len) != 0 ||
	    rest_len != TO_CLIENT_LEN || rest != pt + NYM_SURB_ACK_LEN) {
		kat_fail(k, "SURB-ack split failed");
		return;
	}
	kat_expect_hex(k, sa, "bytes_405", pt, NYM_SURB_ACK_LEN);
	kat_expect_hex(k, sa, "first_hop_address_19", pt, NYM_ACK_ADDR_LEN);
	expect_address_text(k, sa, "first_hop", first_hop);
	kat_expect_hex(k, sa, "ack_packet_386", ack_packet, NYM_ACK_PACKET_LEN);

	/* what the gateway forwards really is an ack back to the client */
	version = route_packet(net, ack_packet, NYM_ACK_PACKET_LEN, first_hop, payload, sizeof payload,
	                       &plen, dest);
	if (version < 0 || plen != NYM_ACK_PAYLOAD_LEN) {
		kat_fail(k, "SURB-ack packet does not route to a 21-byte payload");
		return;
	}
	kat_expect_u64(k, sa, "header_version", (uint64_t)version);
	if (memcmp(dest, c->self.identity, 32) != 0)
		kat_fail(k, "SURB-ack is not addressed to the sender");
	kat_expect_hex(k, sa, "ack_payload_21", payload, NYM_ACK_PAYLOAD_LEN);
	if (nym_ack_payload_decrypt(c->ack_key, payload, plen, fid) != 0 ||
	    nym_frag_id_decode(fid, &id) != NYM_CHUNK_OK) {
		kat_fail(k, "ack payload does not decrypt to a fragment identifier");
		return;
	}
	kat_expect_hex(k, sa, "fragment_identifier", fid, sizeof fid);
	kat_expect_u64(k, sa, "set_id", (uint64_t)id.set_id);
	kat_expect_u64(k, sa, "position", id.position);
}

static void check_e2e_keys(struct kat *k, const struct client *c, const cJSON *e2e,
                           const uint8_t *to_client)
{
	uint8_t e[32], epub[32], dh[32], dh2[32], key[NYM_E2E_KEY_LEN];

	if (hex_exact(k, e2e, "ephemeral_secret", e, 32) != 0)
		return;
	ns_x25519_base(epub, e);
	kat_expect_hex(k, e2e, "ephemeral_public", epub, 32);
	if (memcmp(epub, to_client, 32) != 0)
		kat_fail(k, "to_client does not start with the ephemeral public key");
	ns_x25519(dh, c->enc_secret, to_client);
	ns_x25519(dh2, e, c->self.encryption_key);
	if (memcmp(dh, dh2, 32) != 0)
		kat_fail(k, "dh differs between sender and receiver");
	kat_expect_hex(k, e2e, "dh", dh, 32);
	nym_e2e_key_from_dh(dh, key);
	kat_expect_hex(k, e2e, "key", key, sizeof key);
	ns_memzero(e, sizeof e);
	ns_memzero(dh, sizeof dh);
	ns_memzero(dh2, sizeof dh2);
	ns_memzero(key, sizeof key);
}

static void check_fragment(struct kat *k, const cJSON *pkt, const uint8_t *frag)
{
	const cJSON *fh = kat_get(pkt, "fragment_header"), *link;
	struct nym_fragment f;
	long hlen;

	kat_expect_hex(k, pkt, "fragment", frag, FRAG_LEN);
	if (nym_fragment_decode(frag, FRAG_LEN, &f) != NYM_CHUNK_OK ||
	    (hlen = nym_frag_header_len(&f.header)) <= 0) {
		kat_fail(k, "fragment does not decode");
		return;
	}
	kat_expect_hex(k, fh, "bytes", frag, (size_t)hlen);
	kat_expect_u64(k, fh, "set_id", (uint64_t)f.header.set_id);
	kat_expect_u64(k, fh, "total", f.header.total);
	kat_expect_u64(k, fh, "current", f.header.current);
	link = kat_get(fh, "linked_set_id");
	if (f.header.prev_set_id || f.header.next_set_id) {
		int32_t l = f.header.prev_set_id ? f.header.prev_set_id : f.header.next_set_id;
		if (!cJSON_IsNumber(link) || (int32_t)link->valuedouble != l)
			kat_fail(k, "linked_set_id differs");
	} else if (!cJSON_IsNull(link)) {
		kat_fail(k, "linked_set_id: the fragment is not linked");
	}
	kat_expect_u64(k, pkt, "fragment_payload_len", f.payload_len);
}

void kat_packet_decrypt(struct kat *k, const cJSON *root, const cJSON *pkt)
{
	static struct net net;
	struct client c;
	const cJSON *hops = raw(pkt, "hops"), *last;
	const char *kind = kat_str(k, pkt, "kind");
	uint8_t final_payload[2065], frag[FRAG_LEN];
	const uint8_t *pt;
	size_t off, len;
	int got;

	if (load_network(k, root, &net) != 0 || load_client(k, root, &c) != 0 || kind == NULL)
		return;
	last = cJSON_GetArrayItem(hops, cJSON_GetArraySize(hops) - 1);
	if (hex_exact(k, last, "final_payload", final_payload, sizeof final_payload) != 0)
		return;
	if (sphinx_recover_plaintext(final_payload, sizeof final_payload, &off, &len) != SPHINX_OK ||
	    len != PLAINTEXT_LEN) {
		kat_fail(k, "final payload: no 2048-byte plaintext");
		return;
	}
	pt = final_payload + off;
	kat_expect_hex(k, pkt, "sphinx_plaintext_2048", pt, PLAINTEXT_LEN);
	check_surb_ack_split(k, &net, &c, kat_get(pkt, "surb_ack"), pt);
	kat_expect_hex(k, pkt, "to_client_1643", pt + NYM_SURB_ACK_LEN, TO_CLIENT_LEN);

	got = packet_to_fragment(k, &c, pkt, frag);
	if (strcmp(kind, "reply") == 0) {
		const cJSON *reply = kat_get(pkt, "reply");
		uint8_t key[NYM_SURB_KEY_LEN], digest[32];
		if (hex_exact(k, reply, "surb_key", key, sizeof key) == 0) {
			nym_surb_key_digest(key, digest);
			kat_expect_hex(k, reply, "key_digest_blake3", digest, 32);
			if (memcmp(digest, pt + NYM_SURB_ACK_LEN, 32) != 0)
				kat_fail(k, "to_client does not start with the SURB key digest");
		}
		kat_note(reply, "surb_used");
	} else {
		check_e2e_keys(k, &c, kat_get(pkt, "e2e"), pt + NYM_SURB_ACK_LEN);
	}
	if (strcmp(kind, "loop cover") == 0) {
		uint8_t content[FRAG_LEN];
		if (got != NYM_RECEIVED_COVER)
			kat_fail(k, "receiver did not see loop cover");
		nym_cover_content(content, sizeof content);
		if (memcmp(content, frag, FRAG_LEN) != 0)
			kat_fail(k, "cover content differs from ours");
		kat_expect_hex(k, pkt, "cover_content_1611", frag, FRAG_LEN);
		return;
	}
	if (strcmp(kind, "e2e") != 0 && strcmp(kind, "reply") != 0)
		kat_fail(k, "unknown packet kind %s", kind);
	if (got != NYM_RECEIVED_FRAGMENT) {
		kat_fail(k, "receiver did not return a fragment");
		return;
	}
	check_fragment(k, pkt, frag);
}

/* ------------------------------------------------------------- rebuilding ---- */

struct fixed_bufs {
	uint8_t iv[16], x[32], pad[300], ex[32], epad[300], eph[32];
	uint64_t delays[SPHINX_MAX_HOPS], edelays[SPHINX_MAX_HOPS];
	struct nym_route route, ack_route;
};

/* SURB-ack inputs of a packet into fixed->ack (and ack_route). */
static int load_ack_inputs(struct kat *k, const struct net *net, const cJSON *sbi,
                           struct fixed_bufs *b, struct nym_prepare_fixed *fixed)
{
	long padlen;

	if (load_route(k, net, sbi, &b->ack_route, b->delays, "delays_ns_encoded") != 0 ||
	    hex_exact(k, sbi, "iv", b->iv, 16) || hex_exact(k, sbi, "initial_secret", b->x, 32) ||
	    (padlen = kat_hex(k, sbi, "final_routing_padding", b->pad, sizeof b->pad)) < 0)
		return -1;
	fixed->ack_route = &b->ack_route;
	fixed->ack.iv = b->iv;
	fixed->ack.initial_secret = b->x;
	fixed->ack.final_padding = b->pad;
	fixed->ack.delays_ns = b->delays;
	return 0;
}

/* The SURB a reply packet used: found in messages[].surbs[] / injected surbs by its key. */
static int find_reply_surb(const cJSON *root, const uint8_t key[16], struct nym_reply_surb *out)
{
	const cJSON *lists[64], *m, *s;
	size_t nl = 0;
	uint8_t *bytes;
	size_t blen;
	int rc = -1;

	cJSON_ArrayForEach(m, raw(root, "messages")) if (nl < 63) lists[nl++] = m;
	lists[nl++] = raw(root, "injected_v1_message");
	for (size_t i = 0; i < nl && rc != 0; i++) {
		const cJSON *rot = raw(lists[i], "surb_key_rotation");
		cJSON_ArrayForEach(s, raw(lists[i], "surbs")) {
			uint8_t skey[16];
			const cJSON *kj = raw(s, "surb_key"), *bj = raw(s, "bytes");
			if (!cJSON_IsString(kj) || !cJSON_IsString(bj) ||
			    util_unhex(kj->valuestring, skey, 16) != 16 || memcmp(skey, key, 16) != 0)
				continue;
			if ((bytes = util_unhex_alloc(bj->valuestring, &blen)) == NULL)
				continue;
			rc = nym_reply_surb_from_bytes(bytes, blen, out);
			out->key_rotation = cJSON_IsNumber(rot) ? (uint8_t)rot->valuedouble : 0;
			free(bytes);
			break;
		}
	}
	return rc;
}

static void compare_mix_packet(struct kat *k, const cJSON *pkt, const struct nym_prepared_fragment *out,
                               uint64_t want_delay)
{
	const cJSON *mp = kat_get(pkt, "mix_packet");
	size_t alen = out->mix.first_hop[0] == 6 ? 19 : 7;

	kat_expect_hex(k, mp, "sphinx_packet", out->mix.packet, out->mix.packet_len);
	kat_expect_u64(k, mp, "sphinx_packet_len", out->mix.packet_len);
	/* null: the captured frame carried no rotation (kat_gateway.c checks the frame's kind);
	 * the rebuilt packet's own is not on that wire */
	if (cJSON_IsNull(raw(mp, "key_rotation")))
		kat_note(mp, "key_rotation");
	else
		kat_expect_u64(k, mp, "key_rotation", out->mix.key_rotation);
	kat_expect_u64(k, mp, "packet_type", out->mix.packet_type);
	kat_expect_hex(k, mp, "first_hop_address", out->mix.first_hop, alen);
	expect_address_text(k, mp, "first_hop", out->mix.first_hop);
	if (want_delay != UINT64_MAX && out->total_delay_ns != want_delay)
		kat_fail(k, "total delay %llu, want %llu", (unsigned long long)out->total_delay_ns,
		         (unsigned long long)want_delay);
}

void kat_packet_rebuild_nym(struct kat *k, const cJSON *root, const cJSON *pkt)
{
	static struct net net;
	static struct fixed_bufs b;
	struct client c;
	struct nym_prepare_fixed fixed;
	struct nym_preparer p;
	struct nym_surb_ack ack;
	struct nym_prepared_fragment out;
	const cJSON *sa = raw(pkt, "surb_ack"), *sbi = kat_get(sa, "build_inputs");
	const cJSON *bi = kat_get(pkt, "build_inputs");
	const char *kind = kat_str(k, pkt, "kind");
	uint8_t fid[NYM_FRAG_ID_LEN], payload[NYM_ACK_PAYLOAD_LEN], frag[FRAG_LEN], pt[PLAINTEXT_LEN];
	uint64_t version, ack_delay = 0;
	int rc;

	if (load_network(k, root, &net) != 0 || load_client(k, root, &c) != 0 || kind == NULL)
		return;
	memset(&fixed, 0, sizeof fixed);
	memset(&b, 0, sizeof b);
	if (load_ack_inputs(k, &net, sbi, &b, &fixed) != 0 ||
	    hex_exact(k, sbi, "fragment_identifier", fid, sizeof fid) != 0 ||
	    kat_u64(k, sbi, "version", &version) != 0)
		return;
	check_route_shape(k, &net, &b.ack_route);
	check_build_inputs_basics(k, sbi, c.self.identity);

	/* the 21-byte ack payload from IV + fragment id + ack key */
	nym_ack_payload_encrypt(c.ack_key, b.iv, fid, payload);
	kat_expect_hex(k, sbi, "sphinx_plaintext", payload, sizeof payload);
	kat_expect_hex(k, sa, "ack_payload_21", payload, sizeof payload);

	/* the whole 405-byte SURB_ACK */
	if (nym_surb_ack_build(&b.ack_route, c.self.identity, (uint16_t)version, c.ack_key, fid, 0,
	                       &fixed.ack, &ack) != 0) {
		kat_fail(k, "SURB-ack rebuild failed");
		return;
	}
	kat_expect_hex(k, sa, "bytes_405", ack.bytes, sizeof ack.bytes);
	for (size_t i = 0; i + 1 < b.ack_route.n; i++)
		ack_delay += b.delays[i];
	if (ack.expected_total_delay_ns != ack_delay)
		kat_fail(k, "SURB-ack expected delay differs");

	/* the fragment the packet carries */
	if (strcmp(kind, "loop cover") == 0)
		nym_cover_content(frag, sizeof frag);
	else if (hex_exact(k, pkt, "fragment", frag, sizeof frag) != 0)
		return;

	memset(&p, 0, sizeof p);
	p.topology = &net.topo;
	p.self = c.self;
	memcpy(p.ack_key, c.ack_key, sizeof p.ack_key);
	p.packet_size_tag = NYM_PACKET_REGULAR;

	if (strcmp(kind, "reply") == 0) {
		struct nym_reply_surb surb;
		uint8_t key[16];
		if (hex_exact(k, raw(pkt, "reply"), "surb_key", key, 16) != 0)
			return;
		nym_payload_reply(ack.bytes, frag, sizeof frag, key, pt);
		kat_expect_hex(k, bi, "sphinx_plaintext", pt, sizeof pt);
		kat_expect_hex(k, pkt, "sphinx_plaintext_2048", pt, sizeof pt);
		if (find_reply_surb(root, key, &surb) != 0) {
			kat_fail(k, "the reply's SURB is not in the file");
			return;
		}
		rc = nym_prepare_reply_fragment(&p, frag, sizeof frag, &surb, &fixed, &out);
		if (rc != 0) {
			kat_fail(k, "reply packet rebuild failed");
			return;
		}
		compare_mix_packet(k, pkt, &out, ack_delay);
		nym_mix_packet_clear(&out.mix);
		return;
	}

	/* regular or cover: e2e to the (own) recipient */
	{
		long padlen;
		if (hex_exact(k, raw(pkt, "e2e"), "ephemeral_secret", b.eph, 32) != 0 ||
		    load_route(k, &net, bi, &b.route, b.edelays, "delays_ns_encoded") != 0 ||
		    hex_exact(k, bi, "initial_secret", b.ex, 32) != 0 ||
		    (padlen = kat_hex(k, bi, "final_routing_padding", b.epad, sizeof b.epad)) < 0 ||
		    kat_u64(k, bi, "version", &version) != 0)
			return;
	}
	check_build_inputs_basics(k, bi, c.self.identity);
	check_route_shape(k, &net, &b.route);
	nym_payload_regular(ack.bytes, frag, sizeof frag, c.self.encryption_key, b.eph, pt);
	kat_expect_hex(k, bi, "sphinx_plaintext", pt, sizeof pt);
	kat_expect_hex(k, pkt, "sphinx_plaintext_2048", pt, sizeof pt);
	fixed.route = &b.route;
	fixed.ephemeral_secret = b.eph;
	fixed.initial_secret = b.ex;
	fixed.final_padding = b.epad;
	fixed.delays_ns = b.edelays;
	if (strcmp(kind, "loop cover") == 0) {
		if (version != NYM_COVER_VERSION)
			kat_fail(k, "cover packet version %llu", (unsigned long long)version);
		rc = nym_cover_build(&p, 0, (uint16_t)version, &fixed, &out);
	} else {
		if (version != 259)
			kat_fail(k, "real packet version %llu", (unsigned long long)version);
		rc = nym_prepare_fragment(&p, frag, sizeof frag, &c.self, &fixed, &out);
	}
	if (rc != 0) {
		kat_fail(k, "mix packet rebuild failed");
		return;
	}
	for (size_t i = 0; i + 1 < b.route.n; i++)
		ack_delay += b.edelays[i];
	compare_mix_packet(k, pkt, &out, ack_delay);
	nym_mix_packet_clear(&out.mix);
}

/* ---------------------------------------------------------------- messages ---- */

/* String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD. out must hold
 * 3 * len + 1 bytes. Returns the length written (a NUL byte stays in the output). */
static size_t utf8_lossy(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint8_t c = in[i];
		size_t need = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
		            : c >= 0xf0 && c <= 0xf4 ? 3 : SIZE_MAX;
		size_t got = 0;
		if (need == 0) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (need != SIZE_MAX) {
			while (got < need && i + 1 + got < len) {
				uint8_t d = in[i + 1 + got];
				uint8_t lo = 0x80, hi = 0xbf;
				if (got == 0 && c == 0xe0) lo = 0xa0;
				if (got == 0 && c == 0xed) hi = 0x9f;
				if (got == 0 && c == 0xf0) lo = 0x90;
				if (got == 0 && c == 0xf4) hi = 0x8f;
				if (d < lo || d > hi)
					break;
				got++;
			}
		}
		if (need != SIZE_MAX && got == need) {
			memcpy(out + o, in + i, need + 1);
			o += need + 1;
			i += need + 1;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += 1 + got;
		}
	}
	out[o] = 0;
	return o;
}

/* data_hex and data_utf8 (cJSON strings end at a NUL, so compare up to the first one). */
static void expect_data(struct kat *k, const cJSON *o, const uint8_t *data, size_t len)
{
	char *text = malloc(3 * len + 1);
	const cJSON *u;

	kat_expect_hex(k, o, "data_hex", data, len);
	if (text == NULL)
		return;
	utf8_lossy(data, len, text);
	u = kat_get(o, "data_utf8");
	if (u && (!cJSON_IsString(u) || strcmp(u->valuestring, text) != 0))
		kat_fail(k, "data_utf8 differs");
	free(text);
}

/* One ReplySurb of a message: parse, compare every field, use it through the network
 * and rebuild it from its inputs. */
static void check_surb(struct kat *k, const struct net *net, const struct client *c,
                       const cJSON *js, const uint8_t *bytes, size_t len, uint8_t rotation)
{
	struct nym_reply_surb s, rebuilt;
	struct nym_reply_surb_fixed fixed = {0};
	struct nym_route route;
	const cJSON *bi = kat_get(js, "build_inputs"), *m, *d;
	uint8_t digest[32], x[32], pad[300], dest[32];
	uint8_t pt[PLAINTEXT_LEN], back[PLAINTEXT_LEN], *packet, *re;
	uint64_t delays[SPHINX_MAX_HOPS], version;
	size_t i = 0, blen = 0;
	int v;

	kat_expect_hex(k, js, "bytes", bytes, len);
	kat_expect_u64(k, js, "len", len);
	if (nym_reply_surb_from_bytes(bytes, len, &s) != 0) {
		kat_fail(k, "ReplySurb does not parse");
		return;
	}
	s.key_rotation = rotation;
	kat_expect_hex(k, js, "surb_key", s.key, 16);
	nym_surb_key_digest(s.key, digest);
	kat_expect_hex(k, js, "surb_key_digest_blake3", digest, 32);
	kat_expect_hex(k, js, "header_348", s.surb.header, SPHINX_HEADER_LEN);
	kat_expect_hex(k, js, "first_hop_address_32", s.surb.first_hop, 32);
	expect_address_text(k, js, "first_hop", s.surb.first_hop);
	kat_expect_u64(k, js, "material_size", s.surb.material_len);
	cJSON_ArrayForEach(m, kat_get(js, "materials")) {
		uint8_t mat[SPHINX_PAYLOAD_KEY_LEN];
		if (i >= s.surb.n_hops || !cJSON_IsString(m) ||
		    util_unhex(m->valuestring, mat, sizeof mat) != (long)s.surb.material_len ||
		    memcmp(mat, s.surb.material[i], s.surb.material_len) != 0)
			kat_fail(k, "materials[%zu] differs", i);
		i++;
	}
	if (i != s.surb.n_hops)
		kat_fail(k, "materials: %zu entries for %zu hops", i, s.surb.n_hops);
	kat_mark_items(kat_get(js, "materials"));

	/* use it: a reply through this SURB reaches the client with the version it claims */
	for (size_t j = 0; j < sizeof pt; j++)
		pt[j] = (uint8_t)(j * 7 + 1);
	packet = malloc(NYM_PACKET_REGULAR_SIZE);
	if (packet && nym_reply_surb_apply(&s, pt, sizeof pt, NYM_PACKET_REGULAR, packet, dest) == 0) {
		v = route_packet(net, packet, NYM_PACKET_REGULAR_SIZE, s.surb.first_hop, back,
		                 sizeof back, &blen, dest);
		if (v < 0 || blen != sizeof pt || memcmp(back, pt, blen) != 0 ||
		    memcmp(dest, c->self.identity, 32) != 0)
			kat_fail(k, "a reply through the SURB does not reach the client intact");
		else
			kat_expect_u64(k, js, "header_version", (uint64_t)v);
	} else {
		kat_fail(k, "SURB apply failed");
	}
	free(packet);

	/* rebuild it from its inputs */
	if (load_route(k, net, bi, &route, delays, "delays_ns_encoded") != 0 ||
	    hex_exact(k, bi, "initial_secret", x, 32) != 0 ||
	    kat_hex(k, bi, "final_routing_padding", pad, sizeof pad) < 0 ||
	    kat_u64(k, bi, "version", &version) != 0)
		return;
	check_build_inputs_basics(k, bi, c->self.identity);
	check_route_shape(k, net, &route);
	i = 0;
	cJSON_ArrayForEach(d, kat_get(js, "route_delays_ns")) {
		if (!cJSON_IsString(d) || i >= SPHINX_MAX_HOPS || strtoull(d->valuestring, NULL, 10) != delays[i])
			kat_fail(k, "route_delays_ns[%zu] differs", i);
		i++;
	}
	if (i + 1 != route.n)
		kat_fail(k, "route_delays_ns: %zu values for %zu hops", i, route.n);
	kat_mark_items(kat_get(js, "route_delays_ns"));
	fixed.surb_key = s.key;
	fixed.initial_secret = x;
	fixed.final_padding = pad;
	fixed.delays_ns = delays;
	re = malloc(NYM_REPLY_SURB_MAX_LEN);
	if (re == NULL || nym_reply_surb_build(&route, c->self.identity, (uint16_t)version, 0, rotation,
	                                       &fixed, &rebuilt) != 0 ||
	    nym_reply_surb_to_bytes(&rebuilt, re, NYM_REPLY_SURB_MAX_LEN) != (long)len ||
	    memcmp(re, bytes, len) != 0)
		kat_fail(k, "SURB rebuilt from build_inputs differs");
	free(re);

	/* the harness fields of the injected SURBs are its build inputs */
	if (raw(js, "harness_initial_secret")) {
		uint8_t hx[32], hpad[300];
		long hl = kat_hex(k, js, "harness_final_padding", hpad, sizeof hpad);
		if (hex_exact(k, js, "harness_initial_secret", hx, 32) != 0 || memcmp(hx, x, 32) != 0)
			kat_fail(k, "harness_initial_secret differs");
		if (hl < 0 || kat_expect_hex(k, bi, "final_routing_padding", hpad, (size_t)hl) != 0)
			kat_fail(k, "harness_final_padding differs");
		i = 0;
		cJSON_ArrayForEach(d, kat_get(js, "harness_delays_ns")) {
			uint64_t want = i < route.n ? delays[i] : UINT64_MAX;
			if (!cJSON_IsString(d) || strtoull(d->valuestring, NULL, 10) != want)
				kat_fail(k, "harness_delays_ns[%zu] differs", i);
			i++;
		}
		if (i != route.n)
			kat_fail(k, "harness_delays_ns: %zu values for %zu hops", i, route.n);
		kat_mark_items(kat_get(js, "harness_delays_ns"));
	}
	ns_memzero(&s, sizeof s);
	ns_memzero(&rebuilt, sizeof rebuilt);
}

static void check_repliable(struct kat *k, const struct net *net, const struct client *c,
                            const cJSON *msg, const uint8_t *inner, size_t inner_len,
                            uint8_t want_tag)
{
	static const char *const names[] = {"DataV1", "AdditionalSurbsV1", "HeartbeatV1",
	                                    "DataV2", "AdditionalSurbsV2", "HeartbeatV2"};
	struct nym_repliable_msg m;
	char tag_text[NYM_SENDER_TAG_STR_MAX];
	const cJSON *js;
	size_t i = 0;

	if (nym_repliable_parse(inner, inner_len, &m) != NYM_REPLY_OK) {
		kat_fail(k, "RepliableMessage does not parse");
		return;
	}
	if (want_tag != 0xff && m.content_tag != want_tag)
		kat_fail(k, "content tag %u, want %u", m.content_tag, want_tag);
	kat_expect_str(k, msg, "content", names[m.content_tag]);
	kat_expect_u64(k, msg, "content_tag", m.content_tag);
	kat_expect_hex(k, msg, "sender_tag", m.sender_tag, sizeof m.sender_tag);
	if (nym_sender_tag_to_string(m.sender_tag, tag_text, sizeof tag_text) < 0)
		kat_fail(k, "sender tag formatting failed");
	else
		kat_expect_str(k, msg, "sender_tag_bs58", tag_text);
	kat_expect_u64(k, msg, "num_surbs", m.num_surbs);
	kat_expect_u64(k, msg, "surb_hops", m.surb_hops);
	/* null: a V1 message carries no rotation (read as Unknown) */
	if (cJSON_IsNull(raw(msg, "surb_key_rotation"))) {
		kat_note(msg, "surb_key_rotation");
		if (m.content_tag > NYM_REPLIABLE_HEARTBEAT_V1 || m.key_rotation != NYM_KEY_ROTATION_UNKNOWN)
			kat_fail(k, "surb_key_rotation null, but the %s message carries rotation %u",
			         names[m.content_tag], m.key_rotation);
	} else {
		kat_expect_u64(k, msg, "surb_key_rotation", m.key_rotation);
	}
	kat_expect_u64(k, msg, "surb_size", m.surb_len);
	if (m.content_tag == NYM_REPLIABLE_DATA_V1 || m.content_tag == NYM_REPLIABLE_DATA_V2)
		expect_data(k, msg, m.data, m.data_len);
	else
		expect_data(k, msg, (const uint8_t *)"", 0);
	cJSON_ArrayForEach(js, kat_get(msg, "surbs")) {
		if (i >= m.num_surbs) {
			kat_fail(k, "more SURBs listed than in the message");
			break;
		}
		check_surb(k, net, c, js, m.surbs + i * m.surb_len, m.surb_len, m.key_rotation);
		i++;
	}
	if (i != m.num_surbs)
		kat_fail(k, "surbs: %zu listed, %zu in the message", i, m.num_surbs);
	/* and the encoder gives the same bytes back */
	{
		struct nym_reply_surb *surbs = calloc(m.num_surbs ? m.num_surbs : 1, sizeof *surbs);
		uint8_t *enc = malloc(inner_len);
		long n = -1;
		for (i = 0; surbs && i < m.num_surbs; i++)
			nym_repliable_surb(&m, i, &surbs[i]);
		if (surbs && enc)
			n = nym_repliable_encode(m.sender_tag, m.content_tag, surbs, m.num_surbs, m.data,
			                         m.data_len, enc, inner_len);
		if (n != (long)inner_len || memcmp(enc, inner, inner_len) != 0)
			kat_fail(k, "RepliableMessage does not re-encode to the same bytes");
		free(surbs);
		free(enc);
	}
}

static void check_reply(struct kat *k, const cJSON *msg, const uint8_t *inner, size_t inner_len)
{
	struct nym_reply_msg m;
	uint8_t enc[1 + NYM_SURB_REQUEST_LEN];

	if (nym_reply_msg_parse(inner, inner_len, &m) != NYM_REPLY_OK) {
		kat_fail(k, "ReplyMessage does not parse");
		return;
	}
	kat_expect_u64(k, msg, "content_tag", m.content_tag);
	kat_expect_str(k, msg, "content", m.content_tag == NYM_REPLY_DATA ? "Data" : "SurbRequest");
	if (m.content_tag == NYM_REPLY_DATA) {
		expect_data(k, msg, m.data, m.data_len);
		return;
	}
	kat_expect_hex(k, msg, "recipient", m.recipient, sizeof m.recipient);
	kat_expect_u64(k, msg, "amount", m.amount);
	if (nym_reply_msg_encode(&m, enc, sizeof enc) != (long)inner_len || memcmp(enc, inner, inner_len) != 0)
		kat_fail(k, "SurbRequest does not re-encode to the same bytes");
}

/* Inserts fragments (last first) and returns the reassembled padded message or NULL. */
static uint8_t *reassemble(struct kat *k, uint8_t (*frags)[FRAG_LEN], size_t n, size_t *len,
                           int32_t *set_id)
{
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message out = {0};
	int st = -1;

	if (r == NULL)
		return NULL;
	for (size_t i = n; i-- > 0;) {
		st = nym_reasm_insert(r, frags[i], FRAG_LEN, 0, 0, &out);
		if (st < 0 || (i > 0 && st != NYM_REASM_PENDING)) {
			kat_fail(k, "reassembler: fragment %zu gave %d", i, st);
			st = -1;
			break;
		}
	}
	nym_reasm_free(r);
	if (st != NYM_REASM_COMPLETE) {
		if (st >= 0)
			kat_fail(k, "message not complete after all fragments");
		free(out.data);
		return NULL;
	}
	*len = out.len;
	*set_id = out.first_set_id;
	return out.data;
}

/* Checks the unpadded NymMessage and its inner content. */
static void check_nym_message(struct kat *k, const struct net *net, const struct client *c,
                              const cJSON *msg, const uint8_t *padded, size_t padded_len)
{
	static const char *const variants[] = {"Plain", "Repliable", "Reply"};
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;

	if (nym_msg_unpad(padded, padded_len, &type, &inner, &inner_len) != NYM_MSG_OK) {
		kat_fail(k, "padding does not come off");
		return;
	}
	kat_expect_hex(k, msg, "nym_message_unpadded", padded, 1 + inner_len);
	kat_expect_u64(k, msg, "unpadded_len", 1 + inner_len);
	kat_expect_u64(k, msg, "nym_message_type", type);
	kat_expect_str(k, msg, "variant", variants[type]);
	if (type == NYM_MSG_PLAIN) {
		const cJSON *content = kat_get(msg, "content");
		if (content && !cJSON_IsNull(content))
			kat_fail(k, "content: a Plain message has none");
		expect_data(k, msg, inner, inner_len);
	} else if (type == NYM_MSG_REPLIABLE) {
		check_repliable(k, net, c, msg, inner, inner_len, 0xff);
	} else {
		check_reply(k, msg, inner, inner_len);
	}
}

void kat_message(struct kat *k, const cJSON *root, const cJSON *msg)
{
	static struct net net;
	static uint8_t frags[32][FRAG_LEN];
	struct client c;
	const cJSON *name;
	size_t n = 0, len = 0;
	int32_t set_id = 0;
	int via_reply = -1;
	uint8_t *padded;

	if (load_network(k, root, &net) != 0 || load_client(k, root, &c) != 0)
		return;
	cJSON_ArrayForEach(name, kat_get(msg, "packets")) {
		const cJSON *pkt = cJSON_IsString(name) ? kat_find_packet(root, name->valuestring) : NULL;
		if (pkt == NULL || n == 32 || packet_to_fragment(k, &c, pkt, frags[n]) != NYM_RECEIVED_FRAGMENT) {
			kat_fail(k, "packet %s gives no fragment", cJSON_IsString(name) ? name->valuestring : "?");
			return;
		}
		via_reply = raw(pkt, "reply") != NULL;
		n++;
	}
	kat_mark_items(kat_get(msg, "packets"));
	kat_expect_str(k, msg, "path", via_reply == 1 ? "reply (SURB key)" : "e2e (ephemeral x25519)");
	padded = reassemble(k, frags, n, &len, &set_id);
	if (padded == NULL)
		return;
	kat_expect_hex(k, msg, "reassembled_padded", padded, len);
	kat_expect_u64(k, msg, "padded_len", len);
	kat_expect_u64(k, msg, "set_id", (uint64_t)set_id);
	check_nym_message(k, &net, &c, msg, padded, len);
	free(padded);
}

void kat_injected_v1(struct kat *k, const cJSON *root, const cJSON *inj)
{
	static struct net net;
	static uint8_t frags[32][FRAG_LEN];
	struct client c;
	const cJSON *push;
	size_t n = 0, len = 0;
	int32_t set_id = 0;
	uint8_t *padded;
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;

	if (load_network(k, root, &net) != 0 || load_client(k, root, &c) != 0)
		return;
	kat_note(inj, "description");
	cJSON_ArrayForEach(push, kat_get(inj, "pushes")) {
		uint8_t e[32], key[16], pushed[TO_CLIENT_LEN], enc[TO_CLIENT_LEN], frag[FRAG_LEN];
		struct nym_receiver r = {0};
		struct nym_received got;
		if (n == 32 || hex_exact(k, push, "ephemeral_secret", e, 32) ||
		    hex_exact(k, push, "pushed_1643", pushed, sizeof pushed) ||
		    hex_exact(k, push, "fragment", frag, sizeof frag))
			return;
		nym_e2e_shared_key(e, c.self.encryption_key, key);
		kat_expect_hex(k, push, "e2e_key", key, sizeof key);
		nym_e2e_encrypt_with(e, c.self.encryption_key, frag, sizeof frag, enc);
		if (memcmp(enc, pushed, sizeof enc) != 0)
			kat_fail(k, "push %zu does not rebuild from its ephemeral secret", n);
		memcpy(r.encryption_secret, c.enc_secret, 32);
		if (nym_receive(&r, pushed, sizeof pushed, frags[n], FRAG_LEN, &got) != 0 ||
		    got.kind != NYM_RECEIVED_FRAGMENT || memcmp(frags[n], frag, FRAG_LEN) != 0)
			kat_fail(k, "push %zu does not decrypt to its fragment", n);
		ns_memzero(&r, sizeof r);
		ns_memzero(e, sizeof e);
		n++;
	}
	padded = reassemble(k, frags, n, &len, &set_id);
	if (padded == NULL)
		return;
	kat_expect_u64(k, inj, "set_id", (uint64_t)set_id);
	if (nym_msg_unpad(padded, len, &type, &inner, &inner_len) != NYM_MSG_OK || type != NYM_MSG_REPLIABLE) {
		kat_fail(k, "not a Repliable message");
		free(padded);
		return;
	}
	kat_expect_hex(k, inj, "nym_message_unpadded", padded, 1 + inner_len);
	check_repliable(k, &net, &c, inj, inner, inner_len, NYM_REPLIABLE_DATA_V1);
	free(padded);
}
