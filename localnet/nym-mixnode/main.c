/* nym-mixnode: a Nym mix node for the loopback localnet (contract: localnet/README.md).
 *   nym-mixnode --config DIR/nodes/NAME.toml [--drop-rate P] [--no-delay]
 * Receives NymCodec frames on its mix port, unwraps one Sphinx layer with its x25519 key,
 * drops replays (per key epoch), holds each packet for the delay its header names (clamped
 * to 10 s as nym-node's maximum_forward_packet_delay), then forwards it as a version-7 frame
 * with the received packet type and key-rotation tag to the next hop, which must be a node
 * of the topology on loopback (gateway.md §2.1, §3). Counters go to the stats file every
 * second; SIGTERM exits 0. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "loopback.h"
#include "node/node.h"
#include "nodeconf.h"
#include "topology_json.h"

#define MAX_DELAY_NS   (10ull * 1000000000ull) /* nym-node maximum_forward_packet_delay */
#define DELAY_CAP      (1u << 18)              /* packets held at once */
#define HELD_BYTES_CAP (256u << 20)             /* and their bytes (33 KB each at most) */
#define USE_LEGACY     1                       /* nym-node use_legacy_packet_encoding = true */

struct counters {
	uint64_t packets_in, packets_out, packets_dropped, decode_errors, mac_failures, replays;
	uint64_t final_hops_dropped, forward_rejected, queue_full, forward_lost;
	uint64_t connections_in, connections_open, connections_closed_bad;
	uint64_t queue_depth, delay_queue_depth, peer_queue_depth;
	uint64_t send_errors; /* not in the stats file: folded into forward_lost */
};

struct pending {
	struct nym_node_address to;
	struct nym_frame_header header;
	size_t len;
	uint8_t packet[];
};

struct mixnode {
	struct ns_nodeconf conf;
	struct ev_loop *loop;
	struct ns_keyring keys;
	struct ns_hop_filter *hops;
	struct ns_listener *listener;
	struct ns_peers *peers;
	struct ns_delayq *delayq;
	struct ns_stats *stats;
	struct ns_signals *signals;
	double drop_rate;
	int no_delay;
	size_t held_bytes;
	struct counters c;
	uint8_t work[NYM_PACKET_MAX_SIZE];
};

static const char *g_name = "nym-mixnode";

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_logv(NS_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

static int drop_at_random(double rate)
{
	if (rate <= 0)
		return 0;
	if (rate >= 1)
		return 1;
	uint32_t r;
	ns_random(&r, sizeof r);
	return (double)r < rate * 4294967296.0;
}

static void forward_now(void *ctx, void *data)
{
	struct mixnode *m = ctx;
	struct pending *p = data;
	m->held_bytes -= p->len;
	int rc = ns_peers_send(m->peers, &p->to, &p->header, p->packet, p->len);
	if (rc == NS_NODE_ERR_FULL)
		m->c.queue_full++;
	else if (rc < 0)
		m->c.send_errors++;
	free(p);
}

static int hold_forward(struct mixnode *m, const struct sphinx_processed *res,
                        const struct nym_frame *f, uint64_t recv_ns)
{
	struct nym_node_address to;
	if (ns_hop_filter_check(m->hops, res->next_address, &to) != 0) {
		m->c.forward_rejected++;
		return 0;
	}
	struct pending *p = NULL;
	if (m->held_bytes + f->packet_len <= HELD_BYTES_CAP)
		p = malloc(sizeof *p + f->packet_len);
	if (!p) {
		m->c.queue_full++;
		return 0;
	}
	p->to = to;
	p->len = f->packet_len;
	memcpy(p->packet, m->work, f->packet_len);
	if (nym_frame_header_for(f->packet_len, f->header.packet_type, f->header.key_rotation,
	                         USE_LEGACY, &p->header) != 0) {
		free(p);
		m->c.decode_errors++;
		return 0;
	}
	uint64_t delay = m->no_delay ? 0 : res->delay_ns;
	if (delay > MAX_DELAY_NS)
		delay = MAX_DELAY_NS;
	if (ns_delayq_push(m->delayq, recv_ns + delay, p) != 0) {
		free(p);
		m->c.queue_full++;
		return 0;
	}
	m->held_bytes += p->len;
	return 0;
}

static int on_frame(void *ctx, const char *peer, const struct nym_frame *f, uint64_t recv_ns)
{
	(void)peer;
	struct mixnode *m = ctx;
	struct sphinx_processed res;
	m->c.packets_in++;
	if (drop_at_random(m->drop_rate)) {
		m->c.packets_dropped++;
		return 0;
	}
	int rc = ns_keyring_process(&m->keys, f, m->work, &res);
	if (rc == SPHINX_FLAG_FORWARD)
		rc = hold_forward(m, &res, f, recv_ns);
	else if (rc == SPHINX_FLAG_FINAL)
		m->c.final_hops_dropped++;  /* a mix node does not run final-hop processing */
	else if (rc == NS_NODE_ERR_REPLAY)
		m->c.replays++;
	else if (rc == SPHINX_ERR_MAC)
		m->c.mac_failures++;
	else if (rc == NS_NODE_ERR_FULL)
		m->c.queue_full++;
	else
		m->c.decode_errors++;
	ns_memzero(&res, sizeof res);
	return 0;
}

static void on_accept(void *ctx, const char *peer)
{
	struct mixnode *m = ctx;
	(void)peer;
	m->c.connections_in++;
	m->c.connections_open++;
}

static void on_close(void *ctx, const char *peer, int err, const char *why)
{
	struct mixnode *m = ctx;
	if (err != NS_NODE_ERR_LIMIT)
		m->c.connections_open--;
	if (err == 0)
		return;
	if (err != NS_NODE_ERR_IO && err != NS_NODE_ERR_LIMIT) {
		m->c.decode_errors++;
		m->c.connections_closed_bad++;
	}
	logline("closing connection from %s: %s", peer, why);
}

static void on_peer_event(void *ctx, const char *peer, enum ns_peer_event ev, int sys_errno)
{
	(void)ctx;
	if (ev == NS_PEER_CONNECTED)
		logline("connected to %s", peer);
	else if (ev == NS_PEER_CONNECT_FAILED)
		logline("connect to %s failed: %s", peer, strerror(sys_errno));
	else if (ev == NS_PEER_DISCONNECTED)
		logline("connection to %s lost: %s", peer, sys_errno ? strerror(sys_errno) : "closed");
}

static void refresh_gauges(void *ctx)
{
	struct mixnode *m = ctx;
	struct ns_peers_stats ps;
	ns_peers_get_stats(m->peers, &ps);
	m->c.packets_out = ps.frames_sent;
	m->c.peer_queue_depth = ps.queue_depth;
	m->c.forward_lost = m->c.send_errors + ps.frames_lost;
	m->c.delay_queue_depth = ns_delayq_len(m->delayq);
	m->c.queue_depth = m->c.delay_queue_depth + m->c.peer_queue_depth;
}

static int register_counters(struct mixnode *m)
{
	static const struct { const char *name; size_t off; } list[] = {
#define C(x) { #x, offsetof(struct counters, x) }
		C(packets_in), C(packets_out), C(packets_dropped), C(decode_errors), C(mac_failures),
		C(replays), C(final_hops_dropped), C(forward_rejected), C(queue_full), C(forward_lost),
		C(connections_in), C(connections_open), C(connections_closed_bad), C(queue_depth),
		C(delay_queue_depth), C(peer_queue_depth),
#undef C
	};
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
		if (ns_stats_add(m->stats, list[i].name,
		                 (const uint64_t *)((const char *)&m->c + list[i].off)) != 0)
			return -1;
	ns_stats_on_write(m->stats, refresh_gauges, m);
	return 0;
}

static int load_topology(struct mixnode *m)
{
	FILE *fp = fopen(m->conf.topology_file, "rb");
	if (!fp) {
		logline("cannot open topology %s: %s", m->conf.topology_file, strerror(errno));
		return -1;
	}
	char *buf = malloc(NS_TOPOJSON_MAX_INPUT + 1);
	size_t n = buf ? fread(buf, 1, NS_TOPOJSON_MAX_INPUT + 1, fp) : 0;
	fclose(fp);
	struct ns_topo topo;
	int rc = buf && n <= NS_TOPOJSON_MAX_INPUT ? ns_topo_parse(buf, n, &topo) : -1;
	free(buf);
	if (rc != 0) {
		logline("bad topology %s (%d)", m->conf.topology_file, rc);
		return -1;
	}
	m->hops = ns_hop_filter_from_topo(&topo);
	ns_topo_free(&topo);
	return m->hops ? 0 : -1;
}

static int load_keys(struct mixnode *m)
{
	uint8_t seed[32], secret[32];
	int rc = ns_nodeconf_load_secrets(&m->conf, seed, secret);
	ns_memzero(seed, sizeof seed);
	if (rc == 0)
		rc = ns_keyring_init(&m->keys, secret, m->conf.key_rotation_id, NS_REPLAY_DEFAULT_CAP);
	ns_memzero(secret, sizeof secret);
	ns_memzero(m->conf.sphinx_secret, sizeof m->conf.sphinx_secret);
	ns_memzero(m->conf.identity_seed, sizeof m->conf.identity_seed);
	if (rc != 0)
		logline("cannot load keys (%d)", rc);
	return rc;
}

static int start_listening(struct mixnode *m)
{
	char hp[NS_NODECONF_HOST_MAX + 16];
	if (strchr(m->conf.host, ':'))
		snprintf(hp, sizeof hp, "[%s]:%u", m->conf.host, m->conf.mix_port);
	else
		snprintf(hp, sizeof hp, "%s:%u", m->conf.host, m->conf.mix_port);
	int fd = ns_loopback_listen(hp);
	if (fd < 0) {
		logline("cannot listen on %s: %s", hp, strerror(errno));
		return -1;
	}
	struct ns_listener_cbs cbs = { on_frame, on_accept, on_close, m };
	m->listener = ns_listener_new(m->loop, fd, &cbs, 0);
	if (!m->listener)
		return -1;
	logline("listening on %s (layer %u, %s delays, drop rate %.3f)", hp, m->conf.layer,
	        m->no_delay ? "no" : "sphinx", m->drop_rate);
	return 0;
}

static int setup(struct mixnode *m)
{
	struct ns_peers_cbs pcb = { on_peer_event, m };
	m->loop = ev_default_loop(0);
	if (!m->loop || load_keys(m) != 0 || load_topology(m) != 0)
		return -1;
	m->peers = ns_peers_new(m->loop, NULL, &pcb);
	m->delayq = ns_delayq_new(m->loop, DELAY_CAP, forward_now, m);
	m->stats = ns_stats_new(m->conf.name, m->conf.stats_file);
	m->signals = ns_signals_new(m->loop, NULL, NULL);
	if (!m->peers || !m->delayq || !m->stats || !m->signals || register_counters(m) != 0)
		return -1;
	if (start_listening(m) != 0)
		return -1;
	if (ns_stats_start(m->stats, m->loop, 1.0) != 0)
		logline("cannot write stats file %s", m->conf.stats_file);
	if (ns_node_write_ready(m->conf.ready_file) != 0) {
		logline("cannot write ready file %s", m->conf.ready_file);
		return -1;
	}
	return 0;
}

static void free_pending(void *p)
{
	free(p);
}

static void teardown(struct mixnode *m)
{
	if (m->stats) {
		ns_stats_write(m->stats);
		ns_stats_free(m->stats);
	}
	ns_listener_free(m->listener);
	ns_delayq_free(m->delayq, free_pending);
	ns_peers_free(m->peers);
	ns_signals_free(m->signals);
	ns_hop_filter_free(m->hops);
	ns_keyring_wipe(&m->keys);
	ns_memzero(m->work, sizeof m->work);
}

static int usage(void)
{
	fprintf(stderr, "usage: nym-mixnode --config FILE [--drop-rate P] [--no-delay]\n");
	return 2;
}

static int parse_args(int argc, char **argv, const char **config, double *drop, int *no_delay)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			*config = argv[++i];
		} else if (strcmp(argv[i], "--drop-rate") == 0 && i + 1 < argc) {
			char *end;
			*drop = strtod(argv[++i], &end);
			if (*end || end == argv[i] || !(*drop >= 0 && *drop <= 1))
				return -1;
		} else if (strcmp(argv[i], "--no-delay") == 0) {
			*no_delay = 1;
		} else {
			return -1;
		}
	}
	return *config ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct mixnode m;
	const char *config = NULL;
	double drop = -1;
	int no_delay = 0;
	int log_level = ns_log_level_from_env(g_name, NULL, -1);
	unsigned log_output = ns_log_detect_output() | NS_LOG_TIME;
	ns_log_init(g_name, NULL, log_level, log_output);
	if (parse_args(argc, argv, &config, &drop, &no_delay) != 0)
		return usage();
	if (ns_crypto_init() != 0)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	struct toml_error terr;
	if (ns_nodeconf_load(config, &m.conf, &terr) != 0) {
		fprintf(stderr, "nym-mixnode: %s: line %d: %s\n", config, terr.line, terr.msg);
		return 1;
	}
	g_name = m.conf.name;
	ns_log_init(g_name, NULL, log_level, log_output);
	if (m.conf.role != NS_ROLE_MIXNODE) {
		logline("%s is not a mix node descriptor", config);
		return 1;
	}
	m.drop_rate = drop >= 0 ? drop : m.conf.drop_rate;
	m.no_delay = no_delay || m.conf.no_delay;
	int rc = setup(&m);
	if (rc == 0) {
		ev_run(m.loop, 0);
		logline("stopping");
	}
	teardown(&m);
	return rc == 0 ? 0 : 1;
}
