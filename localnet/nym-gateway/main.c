/* nym-gateway --config DIR/nodes/NAME.toml [--data-dir DIR]
 *
 * A Nym b4046a89 gateway for the localnet (localnet/README.md contract): the client
 * websocket endpoint, forwarding of client packets into the mixnet, final-hop delivery
 * with SURB-ack forwarding, and offline storage. Persistent state (client keys, inboxes)
 * lives in the data folder, by default <localnet DIR>/data/NAME (next to nodes/). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "gateway.h"
#include "log.h"

void gw_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_logv(NS_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

static void usage(void)
{
	fprintf(stderr, "usage: nym-gateway --config FILE [--data-dir DIR]\n");
}

/* <dir of the nodes folder>/data/NAME for DIR/nodes/NAME.toml. */
static int default_data_dir(const char *config, const char *name, char *out, size_t cap)
{
	char real[PATH_MAX];
	if (!realpath(config, real))
		return -1;
	char *nodes_dir = dirname(real);     /* DIR/nodes */
	char *base = dirname(nodes_dir);     /* DIR */
	return snprintf(out, cap, "%s/data/%s", base, name) >= (int)cap ? -1 : 0;
}

static int load_topology(struct gw *gw)
{
	FILE *f = fopen(gw->conf.topology_file, "rb");
	if (!f) {
		gw_log("cannot open topology %s: %s", gw->conf.topology_file, strerror(errno));
		return -1;
	}
	char *buf = malloc(NS_TOPOJSON_MAX_INPUT + 1);
	size_t n = buf ? fread(buf, 1, NS_TOPOJSON_MAX_INPUT + 1, f) : 0;
	fclose(f);
	int rc = buf && n <= NS_TOPOJSON_MAX_INPUT ? ns_topo_parse(buf, n, &gw->topo) : -1;
	free(buf);
	if (rc < 0) {
		gw_log("topology %s rejected (%d)", gw->conf.topology_file, rc);
		return -1;
	}
	gw->hops = ns_hop_filter_from_topo(&gw->topo);
	if (!gw->hops || ns_hop_filter_len(gw->hops) == 0) {
		gw_log("topology has no loopback nodes");
		return -1;
	}
	return 0;
}

static void refresh_gauges(void *ctx)
{
	struct gw *gw = ctx;
	struct ns_peers_stats ps;
	if (gw->peers) {
		ns_peers_get_stats(gw->peers, &ps);
		gw->c.queue_depth = ps.queue_depth;
	}
}

static int start_stats(struct gw *gw)
{
	struct { const char *name; const uint64_t *v; } list[] = {
		{ "clients_connected", &gw->c.clients_connected },
		{ "messages_delivered", &gw->c.messages_delivered },
		{ "messages_stored", &gw->c.messages_stored },
		{ "stored_delivered", &gw->c.stored_delivered },
		{ "packets_in", &gw->c.packets_in },
		{ "packets_out", &gw->c.packets_out },
		{ "packets_dropped", &gw->c.packets_dropped },
		{ "acks_forwarded", &gw->c.acks_forwarded },
		{ "decode_errors", &gw->c.decode_errors },
		{ "replays", &gw->c.replays },
		{ "client_packets", &gw->c.client_packets },
		{ "forward_rejected", &gw->c.forward_rejected },
		{ "ws_connections", &gw->c.ws_connections },
		{ "ws_accepted", &gw->c.ws_accepted },
		{ "registrations", &gw->c.registrations },
		{ "authentications", &gw->c.authentications },
		{ "auth_failures", &gw->c.auth_failures },
		{ "client_errors", &gw->c.client_errors },
		{ "ws_handshake_failures", &gw->c.ws_handshake_failures },
		{ "store_errors", &gw->c.store_errors },
		{ "queue_depth", &gw->c.queue_depth },
	};
	gw->stats = ns_stats_new(gw->conf.name, gw->conf.stats_file);
	if (!gw->stats)
		return -1;
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
		if (ns_stats_add(gw->stats, list[i].name, list[i].v) < 0)
			return -1;
	ns_stats_on_write(gw->stats, refresh_gauges, gw);
	return ns_stats_start(gw->stats, gw->loop, 1.0);
}

static void housekeeping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct gw *gw = w->data;
	gw_clients_tick(gw);
	gw_storage_tick(gw);
}

static int load_keys(struct gw *gw)
{
	uint8_t sphinx_secret[32], sk[64];
	if (ns_nodeconf_load_secrets(&gw->conf, gw->identity_seed, sphinx_secret) < 0) {
		gw_log("cannot load the node's secret keys");
		return -1;
	}
	ns_ed25519_from_seed(gw->identity_pk, sk, gw->identity_seed);
	ns_memzero(sk, sizeof sk);
	int rc = ns_keyring_init(&gw->keyring, sphinx_secret, gw->conf.key_rotation_id,
	                         NS_REPLAY_DEFAULT_CAP);
	ns_memzero(sphinx_secret, sizeof sphinx_secret);
	return rc < 0 ? -1 : 0;
}

static int setup(struct gw *gw, const char *config, const char *data_dir)
{
	struct toml_error err;
	if (ns_nodeconf_load(config, &gw->conf, &err) < 0) {
		gw_log("config %s: %s (line %d)", config, err.msg, err.line);
		return -1;
	}
	if (gw->conf.role != NS_ROLE_GATEWAY || gw->conf.clients_ws_port == 0) {
		gw_log("config %s does not describe a gateway", config);
		return -1;
	}
	char dir[PATH_MAX];
	if (data_dir)
		snprintf(dir, sizeof dir, "%s", data_dir);
	else if (default_data_dir(config, gw->conf.name, dir, sizeof dir) < 0) {
		gw_log("cannot derive the data folder from %s", config);
		return -1;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	char *p = dirname(parent);
	if (mkdir(p, 0700) < 0 && errno != EEXIST) {
		gw_log("cannot create %s: %s", p, strerror(errno));
		return -1;
	}
	int rc = ns_gwstore_open(dir, NULL, &gw->store);
	if (rc < 0) {
		gw_log("cannot open the store %s: %s", dir, ns_gwstore_strerror(rc));
		return -1;
	}
	if (load_keys(gw) < 0 || load_topology(gw) < 0)
		return -1;
	gw_log("%s (id %u) starting: clients ws://%s:%u, mix port %u, data %s", gw->conf.name,
	       gw->conf.id, gw->conf.host, gw->conf.clients_ws_port, gw->conf.mix_port, dir);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NULL, *data_dir = NULL;
	ns_log_init("nym-gateway", NULL, ns_log_level_from_env("nym-gateway", NULL, -1),
	            ns_log_detect_output() | NS_LOG_TIME);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else {
			usage();
			return 2;
		}
	}
	if (!config) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ns_crypto_init() < 0)
		return 1;
	static struct gw gw;
	gw.loop = ev_default_loop(0);
	if (setup(&gw, config, data_dir) < 0)
		return 1;
	gw.signals = ns_signals_new(gw.loop, NULL, NULL);
	if (!gw.signals || gw_mix_start(&gw) < 0 || gw_clients_start(&gw) < 0 || gw_fronts_start(&gw) < 0 ||
	    start_stats(&gw) < 0)
		return 1;
	gw.last_purge = 0;
	ev_timer_init(&gw.housekeeping, housekeeping_cb, 0.1, 0.1);
	gw.housekeeping.data = &gw;
	ev_timer_start(gw.loop, &gw.housekeeping);
	if (ns_node_write_ready(gw.conf.ready_file) < 0) {
		gw_log("cannot write %s", gw.conf.ready_file);
		return 1;
	}
	gw_log("ready");
	ev_run(gw.loop, 0);

	gw_log("stopping");
	ev_timer_stop(gw.loop, &gw.housekeeping);
	gw_clients_stop(&gw);
	gw_mix_stop(&gw);
	ns_stats_write(gw.stats);
	ns_stats_free(gw.stats);
	ns_signals_free(gw.signals);
	ns_keyring_wipe(&gw.keyring);
	ns_hop_filter_free(gw.hops);
	ns_topo_free(&gw.topo);
	ns_gwstore_close(gw.store);
	ns_memzero(gw.identity_seed, sizeof gw.identity_seed);
	ns_memzero(&gw.conf, sizeof gw.conf);
	return 0;
}
