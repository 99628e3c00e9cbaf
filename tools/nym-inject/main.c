/* nym-inject: a Sphinx packet injector and sink for testing mix nodes on loopback.
 *
 *   nym-inject send --topology FILE [--to HOST:PORT] [--count N] [--delay-ms D]
 *                   [--size regular|ack|extended8|extended16|extended32] [--frame-version 7|8]
 *                   [--rotation 0|1|2] [--repeat K] [--garbage-after K] [--pace-us U]
 *                   [--first-seq S] [--spread C]
 *       Builds N packets for the route layer1[0] -> layer2[0] -> layer3[0] -> gateway[0] of
 *       the topology (each mix hop delayed D ms, default 0), message "nym-inject seq=S+I
 *       sent_ns=T delay_ns=S", and sends them framed to --to (default: the layer-1 node).
 *       --repeat K sends every packet K times (replays). --garbage-after K opens two
 *       connections A and B, sends K packets on A, then garbage on A, checks the node
 *       closes A, then sends the rest on B. --spread C (1..8) opens C connections and writes
 *       copy k of every packet on connection k mod C (with --repeat C: replays that arrive
 *       on different connections, so on different workers of the node). Exit 0 when
 *       everything was written.
 *   nym-inject raw --to HOST:PORT --hex HEX
 *       Sends raw bytes and waits (5 s) for the node to close the connection: exit 0 if it did.
 *   nym-inject sink --config NODE.toml [--report FILE] [--expect N] [--timeout S]
 *       Listens on the node's mix port with its sphinx key, processes every frame as the final
 *       hop and checks the message: destination (the node's identity), message shape, and
 *       that it arrived no earlier than sent_ns + delay_ns. Writes {"received","valid","bad",
 *       "duplicates","early","min_margin_ms"} to --report after every packet. Exits 0 on
 *       SIGTERM or when N valid packets arrived; 1 on --timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "loopback.h"
#include "node/node.h"
#include "nodeconf.h"
#include "nymsphinx/params.h"
#include "topology_json.h"

#define MAX_SEQ (1u << 20)

struct opts {
	const char *cmd, *topology, *to, *config, *report, *hex;
	unsigned count, repeat, garbage_after, expect, timeout_s, pace_us, first_seq;
	double delay_ms;
	int size_tag, frame_version, rotation;
	unsigned spread;
};

static int die(const char *msg)
{
	fprintf(stderr, "nym-inject: %s\n", msg);
	return 1;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(NS_TOPOJSON_MAX_INPUT + 1);
	*len = buf ? fread(buf, 1, NS_TOPOJSON_MAX_INPUT, f) : 0;
	fclose(f);
	return buf;
}

static int connect_to(const char *host_port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (ns_loopback_parse(host_port, &ss, &sl) != 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* 1 if the peer closed the connection within ms, else 0. */
static int wait_closed(int fd, int ms)
{
	uint64_t end = ns_node_now_ns() + (uint64_t)ms * 1000000u;
	uint8_t buf[256];
	while (ns_node_now_ns() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)((end - ns_node_now_ns()) / 1000000u) + 1;
		if (poll(&p, 1, left) <= 0)
			continue;
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- send */

struct route_info {
	struct sphinx_node hop[4];
	char first_host[64];
	uint8_t destination[32];
};

static const struct ns_topo_node *topo_node(const struct ns_topo *t, uint32_t id)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].node_id == id)
			return &t->nodes[i];
	return NULL;
}

static int pick_route(const struct ns_topo *t, struct route_info *r)
{
	const struct nym_topo_node *n[4];
	for (int l = 0; l < 3; l++) {
		if (t->topology.layer_len[l] == 0)
			return -1;
		n[l] = &t->topology.layer[l][0];
	}
	if (t->topology.n_gateways == 0)
		return -1;
	n[3] = &t->topology.gateways[0];
	for (int i = 0; i < 4; i++) {
		memcpy(r->hop[i].address, n[i]->address, 32);
		memcpy(r->hop[i].pubkey, n[i]->sphinx_key, 32);
	}
	memcpy(r->destination, n[3]->identity, 32);
	const struct ns_topo_node *first = topo_node(t, n[0]->node_id);
	if (!first)
		return -1;
	snprintf(r->first_host, sizeof r->first_host, "%s", first->mix_host);
	return 0;
}

/* One framed packet into out; returns its length or -1. */
static long build_frame(const struct opts *o, const struct route_info *r, unsigned seq,
                        uint8_t *out, size_t cap)
{
	uint64_t delays[3];
	uint64_t d = (uint64_t)(o->delay_ms * 1e6);
	for (int i = 0; i < 3; i++)
		delays[i] = d;
	struct sphinx_header_params p = { .route = r->hop, .n_hops = 4, .delays_ns = delays,
	                                  .version = SPHINX_V_PAYLOAD_KEY_SEEDS };
	memcpy(p.destination, r->destination, 32);
	size_t payload = nym_packet_payload_size(o->size_tag);
	size_t plen = nym_packet_size_bytes(o->size_tag);
	uint8_t packet[NYM_PACKET_MAX_SIZE];
	char msg[128];
	int ml = snprintf(msg, sizeof msg, "nym-inject seq=%u sent_ns=%llu delay_ns=%llu", seq,
	                  (unsigned long long)ns_node_now_ns(), (unsigned long long)(3 * d));
	if (ml < 0 || (size_t)ml > payload - SPHINX_PAYLOAD_OVERHEAD)
		return -1;
	if (sphinx_build_packet(&p, (const uint8_t *)msg, (size_t)ml, payload, packet) != 0)
		return -1;
	struct nym_frame_header h;
	if (nym_frame_header_for(plen, NYM_PACKET_TYPE_MIX, (uint8_t)o->rotation,
	                         o->frame_version == 7, &h) != 0)
		return -1;
	return nym_frame_encode(&h, packet, plen, out, cap);
}

static int send_packets_on(const int *fds, unsigned n_fds, const struct opts *o,
                           const struct route_info *r, unsigned from, unsigned to)
{
	static uint8_t frame[NYM_FRAME_MAX_LEN];
	for (unsigned i = from; i < to; i++) {
		long n = build_frame(o, r, o->first_seq + i, frame, sizeof frame);
		if (n < 0)
			return die("cannot build packet");
		for (unsigned k = 0; k < o->repeat; k++)
			if (write_all(fds[k % n_fds], frame, (size_t)n) != 0)
				return die("write failed");
		if (o->pace_us)
			usleep(o->pace_us);
	}
	return 0;
}

static int send_packets(int fd, const struct opts *o, const struct route_info *r, unsigned from,
                        unsigned to)
{
	return send_packets_on(&fd, 1, o, r, from, to);
}

/* Ends a connection after the node read everything. */
static void finish(int fd)
{
	shutdown(fd, SHUT_WR);
	wait_closed(fd, 200);
	close(fd);
}

#define MAX_SPREAD 8

static int send_spread(const char *to, const struct opts *o, const struct route_info *r)
{
	int fds[MAX_SPREAD];
	unsigned n = 0, k = o->spread;
	int rc = 0;
	if (k > MAX_SPREAD)
		return die("--spread takes 1..8");
	for (; n < k && rc == 0; n++) {
		fds[n] = connect_to(to);
		if (fds[n] < 0)
			rc = die("cannot connect");
	}
	if (rc == 0)
		rc = send_packets_on(fds, k, o, r, 0, o->count);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			finish(fds[i]);
	return rc;
}

static int cmd_send(const struct opts *o)
{
	size_t len;
	char *json = o->topology ? read_all(o->topology, &len) : NULL;
	struct ns_topo t;
	if (!json || ns_topo_parse(json, len, &t) != 0)
		return die("cannot read topology");
	free(json);
	struct route_info r;
	if (pick_route(&t, &r) != 0)
		return die("topology has no full route");
	ns_topo_free(&t);
	const char *to = o->to ? o->to : r.first_host;
	if (o->spread)
		return send_spread(to, o, &r);
	int a = connect_to(to);
	if (a < 0)
		return die("cannot connect");
	int rc;
	if (!o->garbage_after) {
		rc = send_packets(a, o, &r, 0, o->count);
	} else {
		int b = connect_to(to);
		static const uint8_t garbage[] = "GET / HTTP/1.1\r\n\r\n this is not a nym frame";
		unsigned k = o->garbage_after < o->count ? o->garbage_after : o->count;
		rc = b < 0 ? die("cannot connect second") : send_packets(a, o, &r, 0, k);
		if (rc == 0 && write_all(a, garbage, sizeof garbage - 1) != 0)
			rc = die("garbage write failed");
		if (rc == 0 && !wait_closed(a, 5000))
			rc = die("node did not close the garbage connection");
		if (rc == 0)
			rc = send_packets(b, o, &r, k, o->count);
		if (b >= 0)
			close(b);
	}
	finish(a); /* let the node read everything before the close */
	return rc;
}

/* ---------------------------------------------------------------- raw */

static int cmd_raw(const struct opts *o)
{
	size_t n = o->hex ? strlen(o->hex) / 2 : 0;
	uint8_t *buf = malloc(n + 1);
	if (!o->to || !o->hex || strlen(o->hex) % 2 || !buf)
		return die("raw needs --to and an even-length --hex");
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(o->hex + 2 * i, "%2x", &v) != 1)
			return die("bad hex");
		buf[i] = (uint8_t)v;
	}
	int fd = connect_to(o->to);
	if (fd < 0)
		return die("cannot connect");
	int rc = write_all(fd, buf, n) == 0 && wait_closed(fd, 5000) ? 0 : 1;
	if (rc)
		fprintf(stderr, "nym-inject: connection was not closed by the node\n");
	close(fd);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- sink */

struct sink {
	struct ns_keyring keys;
	uint8_t identity[32];
	uint8_t *seen;
	uint64_t received, valid, bad, duplicates, early;
	double min_margin_ms;
	const char *report;
	unsigned expect;
	uint8_t work[NYM_PACKET_MAX_SIZE];
	struct ev_loop *loop;
};

static void write_report(struct sink *s)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf,
	                 "{\"received\":%llu,\"valid\":%llu,\"bad\":%llu,\"duplicates\":%llu,"
	                 "\"early\":%llu,\"min_margin_ms\":%.3f}\n",
	                 (unsigned long long)s->received, (unsigned long long)s->valid,
	                 (unsigned long long)s->bad, (unsigned long long)s->duplicates,
	                 (unsigned long long)s->early, s->valid ? s->min_margin_ms : 0.0);
	if (s->report && n > 0)
		ns_write_file_atomic(s->report, buf, (size_t)n, 0644);
}

/* 0 if the final-hop plaintext is one of ours; fills seq / margin. */
static int check_message(struct sink *s, const struct sphinx_processed *res, size_t packet_len,
                         uint64_t recv_ns, unsigned *seq, double *margin_ms)
{
	static const uint8_t zero_id[SPHINX_ID_LEN];
	size_t off, len;
	if (memcmp(res->destination, s->identity, 32) != 0 ||
	    memcmp(res->identifier, zero_id, sizeof zero_id) != 0)
		return -1;
	if (sphinx_recover_plaintext(s->work + SPHINX_HEADER_LEN, packet_len - SPHINX_HEADER_LEN,
	                             &off, &len) != 0 || len >= 128)
		return -1;
	char msg[128];
	memcpy(msg, s->work + SPHINX_HEADER_LEN + off, len);
	msg[len] = 0;
	unsigned long long sent, delay;
	int used = 0;
	if (sscanf(msg, "nym-inject seq=%u sent_ns=%llu delay_ns=%llu%n", seq, &sent, &delay,
	           &used) != 3 || (size_t)used != len || *seq >= MAX_SEQ)
		return -1;
	*margin_ms = ((double)recv_ns - (double)sent - (double)delay) / 1e6;
	return 0;
}

static int sink_frame(void *ctx, const char *peer, const struct nym_frame *f, uint64_t recv_ns)
{
	(void)peer;
	struct sink *s = ctx;
	struct sphinx_processed res;
	unsigned seq;
	double margin;
	s->received++;
	int rc = ns_keyring_process(&s->keys, f, s->work, &res);
	if (rc == NS_NODE_ERR_REPLAY) {
		s->duplicates++;
	} else if (rc != SPHINX_FLAG_FINAL ||
	           check_message(s, &res, f->packet_len, recv_ns, &seq, &margin) != 0) {
		s->bad++;
	} else if (s->seen[seq]) {
		s->duplicates++;
	} else {
		s->seen[seq] = 1;
		s->valid++;
		if (margin < 0)
			s->early++;
		if (s->valid == 1 || margin < s->min_margin_ms)
			s->min_margin_ms = margin;
	}
	write_report(s);
	if (s->expect && s->valid >= s->expect)
		ev_break(s->loop, EVBREAK_ALL);
	return 0;
}

static void sink_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ALL);
}

static int cmd_sink(const struct opts *o)
{
	static struct sink s;
	struct ns_nodeconf conf;
	struct toml_error terr;
	uint8_t seed[32], secret[32];
	if (!o->config || ns_nodeconf_load(o->config, &conf, &terr) != 0 ||
	    ns_nodeconf_load_secrets(&conf, seed, secret) != 0)
		return die("cannot load the node descriptor / keys");
	int rc = ns_keyring_init(&s.keys, secret, conf.key_rotation_id, MAX_SEQ);
	ns_memzero(seed, 32);
	ns_memzero(secret, 32);
	ns_memzero(&conf.sphinx_secret, 32);
	ns_memzero(&conf.identity_seed, 32);
	s.seen = calloc(MAX_SEQ, 1);
	if (rc != 0 || !s.seen)
		return die("out of memory");
	memcpy(s.identity, conf.identity_key, 32);
	s.report = o->report;
	s.expect = o->expect;
	char hp[96];
	snprintf(hp, sizeof hp, strchr(conf.host, ':') ? "[%s]:%u" : "%s:%u", conf.host, conf.mix_port);
	int fd = ns_loopback_listen(hp);
	if (fd < 0)
		return die("cannot listen");
	s.loop = ev_default_loop(0);
	struct ns_listener_cbs cbs = { sink_frame, NULL, NULL, &s };
	struct ns_listener *l = ns_listener_new(s.loop, fd, &cbs, 0);
	struct ns_signals *sig = ns_signals_new(s.loop, NULL, NULL);
	int timed_out = 0;
	ev_timer t;
	ev_timer_init(&t, sink_timeout, o->timeout_s, 0.0);
	t.data = &timed_out;
	if (o->timeout_s)
		ev_timer_start(s.loop, &t);
	write_report(&s);
	if (!l || !sig)
		return die("cannot start");
	ev_run(s.loop, 0);
	ev_timer_stop(s.loop, &t);
	write_report(&s);
	fprintf(stderr, "nym-inject sink: received %llu valid %llu bad %llu duplicates %llu early %llu\n",
	        (unsigned long long)s.received, (unsigned long long)s.valid,
	        (unsigned long long)s.bad, (unsigned long long)s.duplicates,
	        (unsigned long long)s.early);
	ns_listener_free(l);
	ns_signals_free(sig);
	ns_keyring_wipe(&s.keys);
	free(s.seen);
	return timed_out ? 1 : 0;
}

/* ---------------------------------------------------------------- args */

static int parse_uint(const char *v, unsigned *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);
	if (!*v || *end || x > 100000000ul)
		return -1;
	*out = (unsigned)x;
	return 0;
}

static int parse_opt(struct opts *o, const char *k, const char *v)
{
	unsigned u;
	if (!strcmp(k, "--topology")) o->topology = v;
	else if (!strcmp(k, "--to")) o->to = v;
	else if (!strcmp(k, "--config")) o->config = v;
	else if (!strcmp(k, "--report")) o->report = v;
	else if (!strcmp(k, "--hex")) o->hex = v;
	else if (!strcmp(k, "--count")) return parse_uint(v, &o->count);
	else if (!strcmp(k, "--first-seq")) return parse_uint(v, &o->first_seq);
	else if (!strcmp(k, "--repeat")) return parse_uint(v, &o->repeat);
	else if (!strcmp(k, "--garbage-after")) return parse_uint(v, &o->garbage_after);
	else if (!strcmp(k, "--expect")) return parse_uint(v, &o->expect);
	else if (!strcmp(k, "--timeout")) return parse_uint(v, &o->timeout_s);
	else if (!strcmp(k, "--spread")) return parse_uint(v, &o->spread);
	else if (!strcmp(k, "--pace-us")) return parse_uint(v, &o->pace_us);
	else if (!strcmp(k, "--delay-ms")) { o->delay_ms = atof(v); return o->delay_ms >= 0 ? 0 : -1; }
	else if (!strcmp(k, "--size")) { o->size_tag = nym_packet_size_from_name(v); return o->size_tag > 0 ? 0 : -1; }
	else if (!strcmp(k, "--frame-version")) { if (parse_uint(v, &u) || (u != 7 && u != 8)) return -1; o->frame_version = (int)u; }
	else if (!strcmp(k, "--rotation")) { if (parse_uint(v, &u) || u > 2) return -1; o->rotation = (int)u; }
	else return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1, .repeat = 1, .size_tag = NYM_PACKET_REGULAR, .frame_version = 7 };
	if (argc < 2 || ns_crypto_init() != 0)
		return die("usage: nym-inject send|raw|sink [options] (see the source header)");
	o.cmd = argv[1];
	for (int i = 2; i < argc; i += 2)
		if (i + 1 >= argc || parse_opt(&o, argv[i], argv[i + 1]) != 0) {
			fprintf(stderr, "nym-inject: bad option %s\n", argv[i]);
			return 2;
		}
	if (o.frame_version == 7)
		o.rotation = 0;
	if (!strcmp(o.cmd, "send"))
		return cmd_send(&o);
	if (!strcmp(o.cmd, "raw"))
		return cmd_raw(&o);
	if (!strcmp(o.cmd, "sink"))
		return cmd_sink(&o);
	return die("unknown command");
}
