/* SURB-acknowledgements (see ack.h). */
#include "nymsphinx/ack.h"

#include <string.h>

#include "crypto.h"
#include "nymsphinx/address.h"
#include "sphinx/sphinx.h"

void nym_ack_key_generate(uint8_t key[NYM_ACK_KEY_LEN]) { ns_random(key, NYM_ACK_KEY_LEN); }

int nym_ack_payload_encrypt(const uint8_t key[NYM_ACK_KEY_LEN], const uint8_t *iv,
                            const uint8_t frag_id[NYM_ACK_FRAG_ID_LEN],
                            uint8_t out[NYM_ACK_PAYLOAD_LEN])
{
	if (key == NULL || frag_id == NULL || out == NULL)
		return -1;
	if (iv != NULL)
		memcpy(out, iv, NS_AES_IV_LEN);
	else
		ns_random(out, NS_AES_IV_LEN);
	return ns_aes128_ctr64be(out + NS_AES_IV_LEN, frag_id, NYM_ACK_FRAG_ID_LEN, key, out) == 0 ? 0
	                                                                                          : -1;
}

int nym_ack_payload_decrypt(const uint8_t key[NYM_ACK_KEY_LEN], const uint8_t *in, size_t len,
                            uint8_t frag_id[NYM_ACK_FRAG_ID_LEN])
{
	if (key == NULL || in == NULL || frag_id == NULL || len != NYM_ACK_PAYLOAD_LEN)
		return -1;
	return ns_aes128_ctr64be(frag_id, in + NS_AES_IV_LEN, NYM_ACK_FRAG_ID_LEN, key, in) == 0 ? 0
	                                                                                        : -1;
}

/* Unpadded length of the NymNodeRoutingAddress at the start of in; 0 if invalid. */
static size_t routing_address_len(const uint8_t *in, size_t len)
{
	struct nym_node_address a;
	long n = nym_node_address_decode(in, len, &a);
	return n > 0 ? (size_t)n : 0;
}

int nym_surb_ack_build(const struct nym_route *route, const uint8_t destination[32],
                       uint16_t version, const uint8_t ack_key[NYM_ACK_KEY_LEN],
                       const uint8_t frag_id[NYM_ACK_FRAG_ID_LEN], uint64_t average_ack_delay_ns,
                       const struct nym_surb_ack_fixed *fixed, struct nym_surb_ack *out)
{
	static const struct nym_surb_ack_fixed none;
	struct sphinx_header_params hp;
	uint64_t delays[SPHINX_MAX_HOPS];
	uint8_t payload[NYM_ACK_PAYLOAD_LEN];
	size_t addr_len;
	int rc;

	if (route == NULL || destination == NULL || out == NULL || route->n == 0 ||
	    route->n > NYM_ROUTE_MAX || route->n > SPHINX_MAX_HOPS)
		return -1;
	addr_len = routing_address_len(route->hop[0].address, NYM_ACK_ADDR_LEN);
	if (addr_len == 0)
		return -1;
	if (fixed == NULL)
		fixed = &none;
	if (fixed->delays_ns)
		memcpy(delays, fixed->delays_ns, route->n * sizeof delays[0]);
	else
		nym_sample_hop_delays(average_ack_delay_ns, route->n, delays);
	if (nym_ack_payload_encrypt(ack_key, fixed->iv, frag_id, payload) != 0)
		return -1;

	memset(&hp, 0, sizeof hp);
	hp.route = route->hop;
	hp.n_hops = route->n;
	hp.delays_ns = delays;
	memcpy(hp.destination, destination, SPHINX_DEST_LEN);
	hp.version = version;
	hp.initial_secret = fixed->initial_secret;
	hp.final_padding = fixed->final_padding;
	hp.secrets = fixed->secrets;

	memset(out->bytes, 0, NYM_ACK_ADDR_LEN);
	memcpy(out->bytes, route->hop[0].address, addr_len);
	rc = sphinx_build_packet(&hp, payload, sizeof payload, NYM_ACK_PACKET_PAYLOAD,
	                         out->bytes + NYM_ACK_ADDR_LEN);
	out->expected_total_delay_ns = 0;
	for (size_t i = 0; i + 1 < route->n; i++)
		out->expected_total_delay_ns += delays[i];
	return rc == SPHINX_OK ? 0 : -1;
}

int nym_surb_ack_split(const uint8_t *plaintext, size_t len, uint8_t first_hop[32],
                       const uint8_t **ack_packet, const uint8_t **rest, size_t *rest_len)
{
	size_t addr_len;

	if (plaintext == NULL || len < NYM_SURB_ACK_LEN)
		return -1;
	addr_len = routing_address_len(plaintext, NYM_ACK_ADDR_LEN);
	if (addr_len == 0)
		return -1;
	if (first_hop) {
		memset(first_hop, 0, 32);
		memcpy(first_hop, plaintext, addr_len);
	}
	if (ack_packet)
		*ack_packet = plaintext + NYM_ACK_ADDR_LEN;
	if (rest)
		*rest = plaintext + NYM_SURB_ACK_LEN;
	if (rest_len)
		*rest_len = len - NYM_SURB_ACK_LEN;
	return 0;
}
