/* nym-testclient internals: packet preparation lives in its own file because
 * nymsphinx/preparer.h and nymsphinx/framing.h both define `struct nym_mix_packet`. */
#ifndef NYM_TESTCLIENT_H
#define NYM_TESTCLIENT_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/topology.h"

struct tc_packet {
	uint8_t first_hop[32];   /* NymNodeRoutingAddress, zero padded */
	uint8_t packet_type;
	uint8_t key_rotation;
	uint8_t *packet;         /* malloc'd */
	size_t len;
};

/* A NymMessage::Plain with msg as content from `self` (96-byte recipient bytes) to `to`,
 * split and prepared as sphinx packets. *out is malloc'd (tc_packets_free). 0 or -1. */
int tc_prepare(const struct nym_topology *topo, const uint8_t self[96], const uint8_t ack_key[16],
               const uint8_t to[96], uint64_t avg_delay_ns, const uint8_t *msg, size_t len,
               struct tc_packet **out, size_t *n);
void tc_packets_free(struct tc_packet *p, size_t n);

#endif
