/* The gateway's mix side (gateway.md §2.1, §2.2, §3.5):
 *  - frames arriving on the mix port are unwrapped with the gateway's sphinx key (key by
 *    rotation tag, replay protection: ns_keyring); forward hops are dropped (a gateway does
 *    not mix); final hops for its clients are split into SURB-ack and message, the message
 *    is pushed or stored, and only then the SURB-ack goes to its first hop, at once;
 *  - client packets go to the first hop named in them (checked against the topology). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "gateway.h"
#include "loopback.h"
#include "nymsphinx/ack.h"

static uint8_t processed[NYM_PACKET_MAX_SIZE];

int gw_mix_forward(struct gw *gw, const struct nym_node_address *to, uint8_t packet_type,
                   uint8_t key_rotation, const uint8_t *packet, size_t len)
{
	struct nym_frame_header h;
	/* Version 7 (Nym's default) when the rotation is unknown; else version 8 so the
	 * rotation tag travels on with the packet. */
	int legacy = key_rotation == NYM_KEY_ROTATION_UNKNOWN;
	int rc = nym_frame_header_for(len, packet_type, key_rotation, legacy, &h);
	if (rc < 0)
		return rc;
	rc = ns_peers_send(gw->peers, to, &h, packet, len);
	if (rc < 0) {
		gw->c.packets_dropped++;
		return rc;
	}
	gw->c.packets_out++;
	return 0;
}

static int drop_by_rate(const struct gw *gw)
{
	double p = gw->conf.drop_rate;
	if (p <= 0)
		return 0;
	return (double)ns_random_uniform(1000000) < p * 1000000.0;
}

static void forward_surb_ack(struct gw *gw, const struct nym_frame *frame,
                             const uint8_t first_hop[32], const uint8_t *ack_packet)
{
	struct nym_node_address to;
	if (ns_hop_filter_check(gw->hops, first_hop, &to) < 0) {
		gw->c.packets_dropped++;
		gw_log("SURB-ack to a node outside the topology dropped");
		return;
	}
	if (gw_mix_forward(gw, &to, frame->header.packet_type, frame->header.key_rotation,
	                   ack_packet, NYM_ACK_PACKET_LEN) == 0)
		gw->c.acks_forwarded++;
}

static void handle_final_hop(struct gw *gw, const struct nym_frame *frame,
                             const struct sphinx_processed *res)
{
	size_t off = 0, len = 0;
	const uint8_t *payload = processed + SPHINX_HEADER_LEN;
	if (sphinx_recover_plaintext(payload, frame->packet_len - SPHINX_HEADER_LEN, &off, &len) < 0) {
		gw->c.decode_errors++;
		return;
	}
	const uint8_t *plaintext = payload + off;
	const uint8_t *msg = plaintext, *ack_packet = NULL;
	size_t msg_len = len;
	uint8_t first_hop[32];
	if (frame->header.size_tag != NYM_PACKET_ACK &&
	    nym_surb_ack_split(plaintext, len, first_hop, &ack_packet, &msg, &msg_len) < 0) {
		gw->c.decode_errors++;
		return;
	}
	int rc = gw_deliver(gw, res->destination, msg, msg_len);
	if (rc == 0) {
		gw->c.packets_dropped++; /* not one of our clients */
		return;
	}
	/* A message we could not keep is not acknowledged: the sender retransmits it. */
	if (rc > 0 && ack_packet)
		forward_surb_ack(gw, frame, first_hop, ack_packet);
}

static int on_frame(void *ctx, const char *peer, const struct nym_frame *frame, uint64_t recv_ns)
{
	(void)peer;
	(void)recv_ns;
	struct gw *gw = ctx;
	struct sphinx_processed res;
	gw->c.packets_in++;
	if (drop_by_rate(gw)) {
		gw->c.packets_dropped++;
		return 0;
	}
	int rc = ns_keyring_process(&gw->keyring, frame, processed, &res);
	if (rc == NS_NODE_ERR_REPLAY) {
		gw->c.replays++;
		return 0;
	}
	if (rc < 0) {
		gw->c.decode_errors++;
		return 0;
	}
	if (rc == SPHINX_FLAG_FINAL)
		handle_final_hop(gw, frame, &res);
	else
		gw->c.packets_dropped++; /* forward hops: a gateway does not run as a mix node */
	ns_memzero(&res, sizeof res);
	ns_memzero(processed, frame->packet_len);
	return 0;
}

static void on_close(void *ctx, const char *peer, int err, const char *why)
{
	(void)ctx;
	if (err != 0)
		gw_log("mix connection from %s closed: %s", peer, why);
}

static void on_peer_event(void *ctx, const char *peer, enum ns_peer_event ev, int sys_errno)
{
	(void)ctx;
	switch (ev) {
	case NS_PEER_CONNECTED: gw_log("connected to %s", peer); break;
	case NS_PEER_CONNECT_FAILED:
		gw_log("connecting to %s failed: %s", peer, strerror(sys_errno));
		break;
	case NS_PEER_DISCONNECTED: gw_log("connection to %s lost", peer); break;
	case NS_PEER_DROPPED: gw_log("queue to %s full: frames dropped", peer); break;
	}
}

int gw_mix_start(struct gw *gw)
{
	char hostport[NS_NODECONF_HOST_MAX + 16];
	int v6 = strchr(gw->conf.host, ':') != NULL;
	snprintf(hostport, sizeof hostport, v6 ? "[%s]:%u" : "%s:%u", gw->conf.host,
	         gw->conf.mix_port);
	int fd = ns_loopback_listen(hostport);
	if (fd < 0) {
		gw_log("cannot listen on mix port %s: %s", hostport, strerror(errno));
		return -1;
	}
	struct ns_listener_cbs lcbs = { .on_frame = on_frame, .on_close = on_close, .ctx = gw };
	gw->listener = ns_listener_new(gw->loop, fd, &lcbs, 0);
	struct ns_peers_cbs pcbs = { .on_event = on_peer_event, .ctx = gw };
	gw->peers = ns_peers_new(gw->loop, NULL, &pcbs);
	if (!gw->listener || !gw->peers) {
		gw_log("cannot start the mix side");
		return -1;
	}
	return 0;
}

void gw_mix_stop(struct gw *gw)
{
	if (gw->listener)
		ns_listener_free(gw->listener);
	if (gw->peers)
		ns_peers_free(gw->peers);
	gw->listener = NULL;
	gw->peers = NULL;
}
