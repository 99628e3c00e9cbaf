/* Known-answer checks of the Sphinx layer: every hop of every real packet (and of its
 * SURB-ack) is processed with the node key and compared field by field; then the packet
 * is rebuilt from its build_inputs and compared byte for byte. */
#include "kat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "sphinx/sphinx.h"

#define PRG_LEN 360

/* "a.b.c.d:port" of a NymNodeRoutingAddress (the vectors only hold IPv4 nodes). */
static void format_address(const uint8_t addr[32], char *out, size_t cap)
{
	if (addr[0] != 4) {
		snprintf(out, cap, "(address type %u)", addr[0]);
		return;
	}
	snprintf(out, cap, "%u.%u.%u.%u:%u", addr[3], addr[4], addr[5], addr[6],
	         (unsigned)(addr[1] << 8 | addr[2]));
}

/* The hop's node key as hex and base58 must both match network.nodes[node_id]. */
static int hop_node_key(struct kat *k, const cJSON *root, const cJSON *hop, uint8_t sk[32])
{
	uint64_t id;
	uint8_t from_b58[33], node_sk[32];
	const char *b58;
	const cJSON *node;

	if (kat_u64(k, hop, "node_id", &id) != 0 || kat_hex(k, hop, "node_x25519_private_hex", sk, 32) != 32)
		return -1;
	if ((node = kat_find_node(root, id)) == NULL) {
		kat_fail(k, "hop node_id %llu is not in network.nodes", (unsigned long long)id);
		return -1;
	}
	if (kat_hex(k, node, "x25519_sphinx_private_hex", node_sk, 32) != 32 || memcmp(node_sk, sk, 32) != 0)
		kat_fail(k, "hop key differs from network.nodes[%llu]", (unsigned long long)id);
	b58 = kat_str(k, hop, "node_x25519_private_bs58");
	if (b58 != NULL && (base58_decode(b58, from_b58, sizeof from_b58) != 32 || memcmp(from_b58, sk, 32) != 0))
		kat_fail(k, "node_x25519_private_bs58 does not decode to the hex key");
	return 0;
}

/* Final-hop padding: plain routing bytes [52, m) with m = 300 - 60 (n - 1). */
static void final_padding(const uint8_t *header, const uint8_t *expanded, size_t n_hops,
                          uint8_t *pad, size_t *pad_len)
{
	uint8_t ks[PRG_LEN];
	size_t m = SPHINX_BETA_LEN - SPHINX_ROUTING_STEP * (n_hops - 1);
	ns_aes128_ctr_keystream(ks, m, expanded);
	for (size_t i = 52; i < m; i++)
		pad[i - 52] = header[48 + i] ^ ks[i];
	*pad_len = m - 52;
}

static void check_forward(struct kat *k, const cJSON *hop, const struct sphinx_processed *r,
                          const uint8_t *out, size_t len)
{
	char addr[64];
	format_address(r->next_address, addr, sizeof addr);
	kat_expect_hex(k, hop, "next_hop_address_32", r->next_address, 32);
	kat_expect_str(k, hop, "next_hop", addr);
	kat_expect_u64(k, hop, "delay_ns", r->delay_ns);
	kat_expect_hex(k, hop, "blinding_factor", r->expanded + 224, 32);
	kat_expect_hex(k, hop, "next_alpha", out, 32);
	kat_expect_hex(k, hop, "out_packet", out, len);
	kat_expect_sha256(k, hop, "out_packet_sha256", out, len);
}

static void check_final(struct kat *k, const cJSON *hop, const struct sphinx_processed *r,
                        const uint8_t *in, const uint8_t *out, size_t len, size_t n_hops)
{
	uint8_t pad[SPHINX_BETA_LEN];
	size_t pad_len;
	final_padding(in, r->expanded, n_hops, pad, &pad_len);
	kat_expect_hex(k, hop, "destination", r->destination, 32);
	kat_expect_hex(k, hop, "identifier", r->identifier, 16);
	kat_expect_hex(k, hop, "final_routing_padding", pad, pad_len);
	kat_expect_hex(k, hop, "final_payload", out + SPHINX_HEADER_LEN, len - SPHINX_HEADER_LEN);
	kat_expect_sha256(k, hop, "final_payload_sha256", out + SPHINX_HEADER_LEN, len - SPHINX_HEADER_LEN);
	if (memcmp(out, in, SPHINX_HEADER_LEN) != 0)
		kat_fail(k, "final hop changed the header");
}

static void check_hop_common(struct kat *k, const cJSON *hop, const struct sphinx_processed *r,
                             const uint8_t *in, int rc)
{
	kat_expect_hex(k, hop, "alpha", in, 32);
	kat_expect_bool(k, hop, "header_mac_ok", rc != SPHINX_ERR_MAC);
	kat_expect_hex(k, hop, "shared_secret", r->shared_secret, 32);
	kat_expect_hex(k, hop, "expanded_shared_secret_288", r->expanded, SPHINX_EXPANDED_LEN);
	kat_expect_u64(k, hop, "flag", (uint64_t)r->flag);
	kat_expect_u64(k, hop, "version", r->version);
	kat_expect_hex(k, hop, "version_bytes", r->routing_plain + 1, 3);
	kat_expect_hex(k, hop, "routing_block_plain_60", r->routing_plain, SPHINX_ROUTING_STEP);
	kat_expect_hex(k, hop, "payload_key_192", r->payload_key, SPHINX_PAYLOAD_KEY_LEN);
	kat_expect_hex(k, hop, "replay_tag", r->replay_tag, SPHINX_REPLAY_TAG_LEN);
}

/* Processes packet through hops[]; every hop must carry header_version. */
static void process_hops(struct kat *k, const cJSON *root, const cJSON *hops, const uint8_t *packet,
                         size_t len, uint64_t header_version)
{
	uint8_t *cur = malloc(len), *out = malloc(len);
	size_t n_hops = (size_t)cJSON_GetArraySize(hops), i = 0;
	const cJSON *hop;
	struct sphinx_processed r;

	if (cur == NULL || out == NULL || n_hops < 1) {
		kat_fail(k, "no hops / out of memory");
		goto done;
	}
	memcpy(cur, packet, len);
	cJSON_ArrayForEach(hop, hops) {
		uint8_t sk[32];
		int rc;
		if (hop_node_key(k, root, hop, sk) != 0)
			break;
		rc = sphinx_process(sk, cur, len, out, &r);
		check_hop_common(k, hop, &r, cur, rc);
		if (rc != SPHINX_OK) {
			kat_fail(k, "hop %zu: sphinx_process returned %d", i, rc);
			break;
		}
		if (r.version != header_version)
			kat_fail(k, "hop %zu: version %u, header_version %llu", i, r.version,
			         (unsigned long long)header_version);
		if ((i + 1 < n_hops) != (r.flag == SPHINX_FLAG_FORWARD))
			kat_fail(k, "hop %zu: flag %d at position %zu of %zu", i, r.flag, i, n_hops);
		if (r.flag == SPHINX_FLAG_FORWARD)
			check_forward(k, hop, &r, out, len);
		else
			check_final(k, hop, &r, cur, out, len, n_hops);
		memcpy(cur, out, len);
		ns_memzero(&r, sizeof r);
		i++;
	}
done:
	free(cur);
	free(out);
}

void kat_packet_process(struct kat *k, const cJSON *root, const cJSON *pkt)
{
	const cJSON *mp = kat_get(pkt, "mix_packet"), *sa = kat_get(pkt, "surb_ack");
	uint64_t version;
	size_t len;
	uint8_t *packet;

	if (kat_u64(k, pkt, "header_version", &version) == 0 &&
	    (packet = kat_hex_alloc(k, mp, "sphinx_packet", &len)) != NULL) {
		kat_expect_u64(k, mp, "sphinx_packet_len", len);
		kat_expect_sha256(k, mp, "sphinx_packet_sha256", packet, len);
		process_hops(k, root, kat_get(pkt, "hops"), packet, len, version);
		free(packet);
	}
	if (sa == NULL) {
		kat_fail(k, "surb_ack missing");
		return;
	}
	if (kat_u64(k, sa, "header_version", &version) == 0 &&
	    (packet = kat_hex_alloc(k, sa, "ack_packet_386", &len)) != NULL) {
		if (len != 386)
			kat_fail(k, "ack_packet_386 is %zu bytes", len);
		process_hops(k, root, kat_get(sa, "hops"), packet, len, version);
		free(packet);
	}
}

/* Route from build_inputs.route_node_ids via network.nodes (address and public key). */
static size_t load_route(struct kat *k, const cJSON *root, const cJSON *bi, struct sphinx_node *route)
{
	const cJSON *id, *ids = kat_get(bi, "route_node_ids");
	size_t n = 0;

	cJSON_ArrayForEach(id, ids) {
		const cJSON *node;
		if (n == SPHINX_MAX_HOPS || !cJSON_IsNumber(id) ||
		    (node = kat_find_node(root, (uint64_t)id->valuedouble)) == NULL) {
			kat_fail(k, "route_node_ids: bad entry %zu", n);
			return 0;
		}
		if (kat_hex(k, node, "routing_address_32", route[n].address, 32) != 32 ||
		    kat_hex(k, node, "x25519_sphinx_public_hex", route[n].pubkey, 32) != 32)
			return 0;
		n++;
	}
	kat_mark_items(ids);
	return n;
}

static int load_delays(struct kat *k, const cJSON *bi, uint64_t *delays, size_t n_hops)
{
	const cJSON *d, *arr = kat_get(bi, "delays_ns_encoded");
	size_t n = 0;
	cJSON_ArrayForEach(d, arr) {
		char *end;
		if (n == SPHINX_MAX_HOPS || !cJSON_IsString(d)) {
			kat_fail(k, "delays_ns_encoded: bad entry %zu", n);
			return -1;
		}
		delays[n++] = strtoull(d->valuestring, &end, 10);
		if (*end != 0) {
			kat_fail(k, "delays_ns_encoded: bad entry %zu", n);
			return -1;
		}
	}
	kat_mark_items(arr);
	if (n + 1 != n_hops) {
		kat_fail(k, "%zu delays for %zu hops", n, n_hops);
		return -1;
	}
	return 0;
}

/* Builds the Sphinx packet of build_inputs and compares it with want. */
static void rebuild(struct kat *k, const cJSON *root, const cJSON *bi, const uint8_t *want, size_t want_len)
{
	struct sphinx_node route[SPHINX_MAX_HOPS];
	struct sphinx_header_params p = {0};
	uint64_t delays[SPHINX_MAX_HOPS] = {0}, version;
	uint8_t x[32], alpha0[32], pad[SPHINX_BETA_LEN], *msg = NULL, *out = NULL;
	size_t msg_len, n;
	long pad_len;

	if ((n = load_route(k, root, bi, route)) == 0 || load_delays(k, bi, delays, n) != 0 ||
	    kat_hex(k, bi, "initial_secret", x, 32) != 32 ||
	    kat_hex(k, bi, "destination", p.destination, 32) != 32 ||
	    kat_hex(k, bi, "identifier", p.identifier, 16) != 16 || kat_u64(k, bi, "version", &version) != 0 ||
	    (pad_len = kat_hex(k, bi, "final_routing_padding", pad, sizeof pad)) < 0 ||
	    (msg = kat_hex_alloc(k, bi, "sphinx_plaintext", &msg_len)) == NULL)
		goto done;
	ns_x25519_base(alpha0, x);
	kat_expect_hex(k, bi, "alpha0", alpha0, 32);
	if ((size_t)pad_len != SPHINX_BETA_LEN - SPHINX_ROUTING_STEP * (n - 1) - 52 ||
	    want_len <= SPHINX_HEADER_LEN || (out = malloc(want_len)) == NULL) {
		kat_fail(k, "final_routing_padding is %ld bytes for %zu hops", pad_len, n);
		goto done;
	}
	p.route = route;
	p.n_hops = n;
	p.delays_ns = delays;
	p.version = (uint16_t)version;
	p.initial_secret = x;
	p.final_padding = pad;
	int rc = sphinx_build_packet(&p, msg, msg_len, want_len - SPHINX_HEADER_LEN, out);
	if (rc != SPHINX_OK)
		kat_fail(k, "sphinx_build_packet returned %d", rc);
	else if (memcmp(out, want, want_len) != 0) {
		size_t at = 0;
		while (out[at] == want[at])
			at++;
		kat_fail(k, "rebuilt sphinx packet differs from byte %zu of %zu", at, want_len);
	}
done:
	free(msg);
	free(out);
}

void kat_packet_rebuild_sphinx(struct kat *k, const cJSON *root, const cJSON *pkt)
{
	const cJSON *mp = cJSON_GetObjectItemCaseSensitive(pkt, "mix_packet");
	const cJSON *sa = cJSON_GetObjectItemCaseSensitive(pkt, "surb_ack");
	uint8_t *want;
	size_t len;

	if ((want = kat_hex_alloc(k, mp, "sphinx_packet", &len)) != NULL) {
		rebuild(k, root, kat_get(pkt, "build_inputs"), want, len);
		free(want);
	}
	if ((want = kat_hex_alloc(k, sa, "ack_packet_386", &len)) != NULL) {
		rebuild(k, root, kat_get(sa, "build_inputs"), want, len);
		free(want);
	}
}
