#include <stdlib.h>
#include <string.h>

#include "nymsphinx/preparer.h"
#include "testclient.h"

int tc_prepare(const struct nym_topology *topo, const uint8_t self[96], const uint8_t ack_key[16],
               const uint8_t to[96], uint64_t avg_delay_ns, const uint8_t *msg, size_t len,
               struct tc_packet **out, size_t *n)
{
	struct nym_preparer p;
	struct nym_recipient dest;
	memset(&p, 0, sizeof p);
	p.topology = topo;
	if (nym_recipient_from_bytes(self, &p.self) < 0 || nym_recipient_from_bytes(to, &dest) < 0)
		return -1;
	memcpy(p.ack_key, ack_key, NYM_ACK_KEY_LEN);
	p.average_packet_delay_ns = avg_delay_ns;
	p.average_ack_delay_ns = avg_delay_ns;
	p.packet_size_tag = NYM_PACKET_REGULAR;
	struct nym_prepared_fragment *frags = NULL;
	size_t count = 0;
	if (nym_prepare_message(&p, NYM_MSG_PLAIN, msg, len, &dest, NULL, 0, NULL, &frags, &count) < 0)
		return -1;
	struct tc_packet *pk = calloc(count, sizeof *pk);
	if (!pk) {
		nym_prepared_free(frags, count);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		memcpy(pk[i].first_hop, frags[i].mix.first_hop, 32);
		pk[i].packet_type = frags[i].mix.packet_type;
		pk[i].key_rotation = frags[i].mix.key_rotation;
		pk[i].packet = frags[i].mix.packet; /* ownership moves */
		pk[i].len = frags[i].mix.packet_len;
		frags[i].mix.packet = NULL;
	}
	nym_prepared_free(frags, count);
	*out = pk;
	*n = count;
	return 0;
}

void tc_packets_free(struct tc_packet *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].packet);
	free(p);
}
