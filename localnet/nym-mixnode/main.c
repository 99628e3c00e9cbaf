/* nym-mixnode: a Nym mix node for the loopback localnet (contract: localnet/README.md).
 *   nym-mixnode --config DIR/nodes/NAME.toml [--drop-rate P] [--no-delay] [--workers N|auto]
 * Receives NymCodec frames on its mix port, unwraps one Sphinx layer with its x25519 key,
 * drops replays (per key epoch), holds each packet for the delay its header names (clamped
 * to 10 s as nym-node's maximum_forward_packet_delay), then forwards it as a version-7 frame
 * with the received packet type and key-rotation tag to the next hop, which must be a node
 * of the topology on loopback (gateway.md §2.1, §3). Counters go to the stats file every
 * second; SIGTERM exits 0. --workers N|auto (default auto = the online cores, at most 64;
 * nym-localnet starts its nodes with 1, as they share the machine) runs N event loops on N
 * threads; with more than one, the main thread accepts connections and hands them to the
 * workers in turn, and the workers share the keys and the replay sets. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cores.h"
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
#define MAX_WORKERS    64
#define MAX_LISTED_WORKERS 16                  /* workerN_packets_in in the stats file */

struct counters {
	uint64_t packets_in, packets_out, packets_dropped, decode_errors, mac_failures, replays;
	uint64_t final_hops_dropped, forward_rejected, queue_full, forward_lost;
	uint64_t connections_in, connections_open, connections_closed_bad;
	uint64_t queue_depth, delay_queue_depth, peer_queue_depth;
	uint64_t send_errors; /* not in the stats file: folded into forward_lost */
};
#define N_COUNTERS (sizeof(struct counters) / sizeof(uint64_t))

/* A worker's counters are written by its thread and summed by the main thread. */
#define BUMP(w, field) __atomic_fetch_add(&(w)->c.field, 1, __ATOMIC_RELAXED)
#define DROP(w, field) __atomic_fetch_sub(&(w)->c.field, 1, __ATOMIC_RELAXED)
#define PUT(w, field, v) __atomic_store_n(&(w)->c.field, (v), __ATOMIC_RELAXED)

struct pending {
	struct nym_node_address to;
	struct nym_frame_header header;
	size_t len;
	uint8_t packet[];
};

struct mixnode;

/* One event loop with its own inbound connections, delay queue and outbound connections.
 * A connection stays on the worker it was handed to, so what one inbound connection sends
 * to one next hop leaves in the order it came (as with one worker). */
struct worker {
	_Alignas(64) struct mixnode *m;   /* each worker on its own cache lines */
	unsigned index;
	struct ev_loop *loop;
	struct ns_listener *listener;
	struct ns_peers *peers;
	struct ns_delayq *delayq;
	size_t held_bytes;
	_Alignas(64) struct counters c;   /* written by the worker, read by the main thread */
	pthread_t thread;
	int running;
	int handoff[2];          /* the main thread writes accepted fds, the worker reads them */
	ev_io handoff_io;
	ev_async stop;
	ev_timer gauges;
	uint8_t work[NYM_PACKET_MAX_SIZE];
};

struct mixnode {
	struct ns_nodeconf conf;
	struct ev_loop *loop;
	struct ns_keyring keys;          /* shared: read-only keys, thread-safe replay sets */
	struct ns_hop_filter *hops;      /* shared, read-only */
	struct ns_listener *acceptor;    /* workers > 1: accepts and hands out connections */
	struct ns_stats *stats;
	struct ns_signals *signals;
	double drop_rate;
	int no_delay;
	unsigned n_workers, next_worker;
	struct worker *w;
	struct counters c;               /* the sum over the workers, for the stats file */
	uint64_t workers_gauge, worker_in[MAX_LISTED_WORKERS];
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
	struct worker *w = ctx;
	struct pending *p = data;
	w->held_bytes -= p->len;
	int rc = ns_peers_send(w->peers, &p->to, &p->header, p->packet, p->len);
	if (rc == NS_NODE_ERR_FULL)
		BUMP(w, queue_full);
	else if (rc < 0)
		BUMP(w, send_errors);
	free(p);
}

static int hold_forward(struct worker *w, const struct sphinx_processed *res,
                        const struct nym_frame *f, uint64_t recv_ns)
{
	struct mixnode *m = w->m;
	struct nym_node_address to;
	if (ns_hop_filter_check(m->hops, res->next_address, &to) != 0) {
		BUMP(w, forward_rejected);
		return 0;
	}
	struct pending *p = NULL;
	if (w->held_bytes + f->packet_len <= HELD_BYTES_CAP / m->n_workers)
		p = malloc(sizeof *p + f->packet_len);
	if (!p) {
		BUMP(w, queue_full);
		return 0;
	}
	p->to = to;
	p->len = f->packet_len;
	memcpy(p->packet, w->work, f->packet_len);
	if (nym_frame_header_for(f->packet_len, f->header.packet_type, f->header.key_rotation,
	                         USE_LEGACY, &p->header) != 0) {
		free(p);
		BUMP(w, decode_errors);
		return 0;
	}
	uint64_t delay = m->no_delay ? 0 : res->delay_ns;
	if (delay > MAX_DELAY_NS)
		delay = MAX_DELAY_NS;
	if (ns_delayq_push(w->delayq, recv_ns + delay, p) != 0) {
		free(p);
		BUMP(w, queue_full);
		return 0;
	}
	w->held_bytes += p->len;
	return 0;
}

static int on_frame(void *ctx, const char *peer, const struct nym_frame *f, uint64_t recv_ns)
{
	(void)peer;
	struct worker *w = ctx;
	struct sphinx_processed res;
	BUMP(w, packets_in);
	if (drop_at_random(w->m->drop_rate)) {
		BUMP(w, packets_dropped);
		return 0;
	}
	int rc = ns_keyring_process(&w->m->keys, f, w->work, &res);
	if (rc == SPHINX_FLAG_FORWARD)
		rc = hold_forward(w, &res, f, recv_ns);
	else if (rc == SPHINX_FLAG_FINAL)
		BUMP(w, final_hops_dropped);  /* a mix node does not run final-hop processing */
	else if (rc == NS_NODE_ERR_REPLAY)
		BUMP(w, replays);
	else if (rc == SPHINX_ERR_MAC)
		BUMP(w, mac_failures);
	else if (rc == NS_NODE_ERR_FULL)
		BUMP(w, queue_full);
	else
		BUMP(w, decode_errors);
	ns_memzero(&res, sizeof res);
	return 0;
}

static void on_accept(void *ctx, const char *peer)
{
	struct worker *w = ctx;
	(void)peer;
	BUMP(w, connections_in);
	BUMP(w, connections_open);
}

static void on_close(void *ctx, const char *peer, int err, const char *why)
{
	struct worker *w = ctx;
	if (err != NS_NODE_ERR_LIMIT)
		DROP(w, connections_open);
	if (err == 0)
		return;
	if (err != NS_NODE_ERR_IO && err != NS_NODE_ERR_LIMIT) {
		BUMP(w, decode_errors);
		BUMP(w, connections_closed_bad);
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

/* The worker's queue gauges, from its own thread (or after it stopped). */
static void publish_gauges(struct worker *w)
{
	struct ns_peers_stats ps;
	ns_peers_get_stats(w->peers, &ps);
	uint64_t send_errors = __atomic_load_n(&w->c.send_errors, __ATOMIC_RELAXED);
	uint64_t delayed = ns_delayq_len(w->delayq);
	PUT(w, packets_out, ps.frames_sent);
	PUT(w, peer_queue_depth, ps.queue_depth);
	PUT(w, forward_lost, send_errors + ps.frames_lost);
	PUT(w, delay_queue_depth, delayed);
	PUT(w, queue_depth, delayed + ps.queue_depth);
}

static void sum_counters(void *ctx)
{
	struct mixnode *m = ctx;
	uint64_t *total = (uint64_t *)&m->c;
	memset(&m->c, 0, sizeof m->c);
	if (m->n_workers == 1)
		publish_gauges(&m->w[0]); /* same thread: exact, as before workers */
	for (unsigned i = 0; i < m->n_workers; i++) {
		const uint64_t *part = (const uint64_t *)&m->w[i].c;
		for (size_t k = 0; k < N_COUNTERS; k++)
			total[k] += __atomic_load_n(&part[k], __ATOMIC_RELAXED);
		if (i < MAX_LISTED_WORKERS)
			m->worker_in[i] = __atomic_load_n(&m->w[i].c.packets_in, __ATOMIC_RELAXED);
	}
}

static int register_workers(struct mixnode *m)
{
	m->workers_gauge = m->n_workers;
	if (ns_stats_add(m->stats, "workers", &m->workers_gauge) != 0)
		return -1;
	for (unsigned i = 0; m->n_workers > 1 && i < m->n_workers && i < MAX_LISTED_WORKERS; i++) {
		char name[32];
		snprintf(name, sizeof name, "worker%u_packets_in", i);
		if (ns_stats_add(m->stats, name, &m->worker_in[i]) != 0)
			return -1;
	}
	return 0;
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
	ns_stats_on_write(m->stats, sum_counters, m);
	return register_workers(m);
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

/* ---------------------------------------------------------------- workers */

static void on_gauges_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	publish_gauges(t->data);
}

static void on_stop_async(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)a;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Reads the connections the main thread handed over (one int per connection). */
static void on_handoff(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	struct worker *w = io->data;
	int fds[64];
	ssize_t n = read(w->handoff[0], fds, sizeof fds);
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof fds[0]; i++)
		ns_listener_adopt(w->listener, fds[i]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ev_run(w->loop, 0);
	return NULL;
}

/* listen_fd >= 0: the worker accepts itself (one worker); -1: it is handed connections. */
static int worker_init(struct mixnode *m, struct worker *w, unsigned index, int listen_fd)
{
	struct ns_peers_cbs pcb = { on_peer_event, w };
	struct ns_listener_cbs lcb = { on_frame, on_accept, on_close, w };
	size_t conns = (1024 + m->n_workers - 1) / m->n_workers;
	w->m = m;
	w->index = index;
	w->handoff[0] = w->handoff[1] = -1;
	w->loop = m->n_workers == 1 ? m->loop : ev_loop_new(EVFLAG_AUTO);
	if (!w->loop)
		return -1;
	w->peers = ns_peers_new(w->loop, NULL, &pcb);
	w->delayq = ns_delayq_new(w->loop, DELAY_CAP / m->n_workers, forward_now, w);
	w->listener = ns_listener_new(w->loop, listen_fd, &lcb, conns);
	if (!w->peers || !w->delayq || !w->listener)
		return -1;
	if (m->n_workers == 1)
		return 0;
	/* O_DIRECT: a packet pipe, so each 4-byte fd number is read whole */
	if (pipe2(w->handoff, O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0)
		return -1;
	ev_io_init(&w->handoff_io, on_handoff, w->handoff[0], EV_READ);
	w->handoff_io.data = w;
	ev_io_start(w->loop, &w->handoff_io);
	ev_async_init(&w->stop, on_stop_async);
	ev_async_start(w->loop, &w->stop);
	ev_timer_init(&w->gauges, on_gauges_tick, 0.2, 0.2);
	w->gauges.data = w;
	ev_timer_start(w->loop, &w->gauges);
	return 0;
}

/* Starts the worker threads with every signal blocked: signals go to the main loop. */
static int start_threads(struct mixnode *m)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < m->n_workers && rc == 0; i++) {
		rc = pthread_create(&m->w[i].thread, NULL, worker_main, &m->w[i]);
		m->w[i].running = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

static void stop_threads(struct mixnode *m)
{
	for (unsigned i = 0; m->w && i < m->n_workers; i++) {
		if (!m->w[i].running)
			continue;
		ev_async_send(m->w[i].loop, &m->w[i].stop);
		pthread_join(m->w[i].thread, NULL);
		m->w[i].running = 0;
	}
}

/* Hands each accepted connection to the next worker in turn. */
static void hand_out(void *ctx, int fd)
{
	struct mixnode *m = ctx;
	struct worker *w = &m->w[m->next_worker++ % m->n_workers];
	if (write(w->handoff[1], &fd, sizeof fd) != (ssize_t)sizeof fd) {
		close(fd);
		logline("worker %u cannot take a connection: dropped", w->index);
	}
}

static void free_pending(void *p)
{
	free(p);
}

static void worker_free(struct worker *w)
{
	if (!w->loop)
		return;
	ns_listener_free(w->listener);
	ns_delayq_free(w->delayq, free_pending);
	ns_peers_free(w->peers);
	ns_memzero(w->work, sizeof w->work);
	if (w->loop == w->m->loop)
		return;
	ev_io_stop(w->loop, &w->handoff_io);
	ev_async_stop(w->loop, &w->stop);
	ev_timer_stop(w->loop, &w->gauges);
	for (int i = 0; i < 2; i++)
		if (w->handoff[i] >= 0)
			close(w->handoff[i]);
	ev_loop_destroy(w->loop);
}

/* ---------------------------------------------------------------- the node */

static int listen_socket(struct mixnode *m, char *hp, size_t cap)
{
	if (strchr(m->conf.host, ':'))
		snprintf(hp, cap, "[%s]:%u", m->conf.host, m->conf.mix_port);
	else
		snprintf(hp, cap, "%s:%u", m->conf.host, m->conf.mix_port);
	int fd = ns_loopback_listen(hp);
	if (fd < 0)
		logline("cannot listen on %s: %s", hp, strerror(errno));
	return fd;
}

static int start_workers(struct mixnode *m)
{
	char hp[NS_NODECONF_HOST_MAX + 16];
	int fd = listen_socket(m, hp, sizeof hp);
	if (fd < 0)
		return -1;
	m->w = aligned_alloc(64, m->n_workers * sizeof *m->w);
	if (m->w)
		memset(m->w, 0, m->n_workers * sizeof *m->w);
	if (!m->w) {
		close(fd);
		return -1;
	}
	int rc = 0;
	for (unsigned i = 0; i < m->n_workers && rc == 0; i++)
		rc = worker_init(m, &m->w[i], i, m->n_workers == 1 ? fd : -1);
	if (m->n_workers > 1) {
		m->acceptor = ns_listener_new_handoff(m->loop, fd, hand_out, m);
		if (rc == 0 && (!m->acceptor || start_threads(m) != 0))
			rc = -1;
	}
	if (rc != 0)
		return -1;
	logline("listening on %s (layer %u, %s delays, drop rate %.3f, %u worker%s)", hp,
	        m->conf.layer, m->no_delay ? "no" : "sphinx", m->drop_rate, m->n_workers,
	        m->n_workers == 1 ? "" : "s");
	return 0;
}

static int setup(struct mixnode *m)
{
	m->loop = ev_default_loop(0);
	if (!m->loop || load_keys(m) != 0 || load_topology(m) != 0)
		return -1;
	m->stats = ns_stats_new(m->conf.name, m->conf.stats_file);
	m->signals = ns_signals_new(m->loop, NULL, NULL);
	if (!m->stats || !m->signals || start_workers(m) != 0 || register_counters(m) != 0)
		return -1;
	if (ns_stats_start(m->stats, m->loop, 1.0) != 0)
		logline("cannot write stats file %s", m->conf.stats_file);
	if (ns_node_write_ready(m->conf.ready_file) != 0) {
		logline("cannot write ready file %s", m->conf.ready_file);
		return -1;
	}
	return 0;
}

static void teardown(struct mixnode *m)
{
	stop_threads(m);
	ns_listener_free(m->acceptor);
	for (unsigned i = 0; m->w && i < m->n_workers; i++)
		if (m->w[i].peers && m->w[i].delayq)
			publish_gauges(&m->w[i]);
	if (m->stats) {
		ns_stats_write(m->stats);
		ns_stats_free(m->stats);
	}
	for (unsigned i = 0; m->w && i < m->n_workers; i++)
		worker_free(&m->w[i]);
	free(m->w);
	ns_signals_free(m->signals);
	ns_hop_filter_free(m->hops);
	ns_keyring_wipe(&m->keys);
}

static int usage(void)
{
	fprintf(stderr, "usage: nym-mixnode --config FILE [--drop-rate P] [--no-delay] [--workers N|auto]\n");
	return 2;
}

static unsigned online_cores(void)
{
	unsigned n = ns_usable_cores();
	return n > MAX_WORKERS ? MAX_WORKERS : n;
}

struct args {
	const char *config;
	double drop;
	int no_delay;
	unsigned workers;
};

static int parse_one(int argc, char **argv, int *i, struct args *a)
{
	const char *k = argv[*i];
	if (strcmp(k, "--no-delay") == 0) {
		a->no_delay = 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return -1;
	const char *v = argv[++*i];
	char *end;
	if (strcmp(k, "--config") == 0) {
		a->config = v;
	} else if (strcmp(k, "--drop-rate") == 0) {
		a->drop = strtod(v, &end);
		if (*end || end == v || !(a->drop >= 0 && a->drop <= 1))
			return -1;
	} else if (strcmp(k, "--workers") == 0 && strcmp(v, "auto") == 0) {
		a->workers = online_cores();
	} else if (strcmp(k, "--workers") == 0) {
		unsigned long n = strtoul(v, &end, 10);
		if (*end || end == v || n < 1 || n > MAX_WORKERS)
			return -1;
		a->workers = (unsigned)n;
	} else {
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	for (int i = 1; i < argc; i++)
		if (parse_one(argc, argv, &i, a) != 0)
			return -1;
	return a->config ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct mixnode m;
	struct args a = { NULL, -1, 0, 0 };
	int log_level = ns_log_level_from_env(g_name, NULL, -1);
	unsigned log_output = ns_log_detect_output() | NS_LOG_TIME;
	ns_log_init(g_name, NULL, log_level, log_output);
	if (parse_args(argc, argv, &a) != 0)
		return usage();
	if (ns_crypto_init() != 0)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	struct toml_error terr;
	if (ns_nodeconf_load(a.config, &m.conf, &terr) != 0) {
		fprintf(stderr, "nym-mixnode: %s: line %d: %s\n", a.config, terr.line, terr.msg);
		return 1;
	}
	g_name = m.conf.name;
	ns_log_init(g_name, NULL, log_level, log_output);
	if (m.conf.role != NS_ROLE_MIXNODE) {
		logline("%s is not a mix node descriptor", a.config);
		return 1;
	}
	m.drop_rate = a.drop >= 0 ? a.drop : m.conf.drop_rate;
	m.no_delay = a.no_delay || m.conf.no_delay;
	m.n_workers = a.workers ? a.workers : online_cores();
	int rc = setup(&m);
	if (rc == 0) {
		ev_run(m.loop, 0);
		logline("stopping");
	}
	teardown(&m);
	return rc == 0 ? 0 : 1;
}
