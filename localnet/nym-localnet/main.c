/* nym-localnet: generate, start, inspect and stop a loopback Nym network (directory, mix
 * nodes, gateways). The contract (files, health checks, counters) is in localnet/README.md.
 *   nym-localnet gen    --dir DIR [options]   keys + descriptors only
 *   nym-localnet up     --dir DIR [options]   gen if needed, start all (and one network
 *                                             requester), wait healthy, "ready"
 *   nym-localnet status --dir DIR
 *   nym-localnet down   --dir DIR */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "loopback.h"
#include "netreq.h"
#include "nodeconf.h"
#include "tlsgen.h"
#include "topology_json.h"

#define HOST "127.0.0.1"
#define DIRECTORY_NAME "directory"
#define MAX_NODES 256
#define PATH_LEN NS_NODECONF_PATH_MAX
#define LOG_TAIL_LINES 20

struct options {
	const char *dir;
	int mix_per_layer;
	int gateways;
	double drop_rate;
	int no_delay;
	int no_network_requester;
	uint32_t key_rotation_id;
	uint32_t epoch;
	int timeout_s;
	int tls;                   /* every gateway gets a TLS (wss) listener */
	const char *tls_cert_name; /* the DNS name in the gateways' certificate */
	const char *mix_workers;   /* --mixnode-workers: passed to every nym-mixnode (NULL: "1") */
	int n_delays;              /* --gateway-delays: gateway k's added client delay */
	unsigned delays[32];
};

/* The process table of a running network: the directory then every node. */
struct proc {
	char name[NS_NODECONF_NAME_MAX];
	char binary[PATH_LEN];
	char config[PATH_LEN];
	const struct ns_nodeconf *conf; /* NULL for the directory and the network requester */
	int is_nr;                      /* the network requester, started last */
	const char *workers;            /* a mix node's --workers value, or NULL */
	pid_t pid;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nym-localnet: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void path_join(char *out, const char *dir, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_join(char *out, const char *dir, const char *fmt, ...)
{
	char tail[PATH_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tail, sizeof tail, fmt, ap);
	va_end(ap);
	if (snprintf(out, PATH_LEN, "%s/%s", dir, tail) >= PATH_LEN)
		die("path too long: %s/%s", dir, tail);
}

static void make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		die("cannot create %s: %s", path, strerror(errno));
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---------------------------------------------------------------- gen */

/* The network-wide file DIR/localnet.toml: directory port and network parameters. */
struct netfile {
	uint16_t directory_port;
	uint32_t key_rotation_id, epoch;
	int network_requester; /* [network] network_requester: start one (default true) */
};

static int read_netfile(const char *dir, struct netfile *nf)
{
	char path[PATH_LEN];
	path_join(path, dir, "localnet.toml");
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char buf[4096];
	len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	struct toml_error err;
	struct toml_doc *doc = toml_parse(buf, len, &err);
	if (!doc)
		die("%s line %d: %s", path, err.line, err.msg);
	int64_t port, rot, epoch;
	int rc = (toml_get_int(doc, "directory", "port", &port) < 0 ||
	          toml_get_int(doc, "network", "key_rotation_id", &rot) < 0 ||
	          toml_get_int(doc, "network", "absolute_epoch_id", &epoch) < 0 || port <= 0 ||
	          port > 65535 || rot < 0 || rot > UINT32_MAX || epoch < 0 || epoch > UINT32_MAX)
	                 ? -1 : 0;
	nf->network_requester = 1; /* a localnet made before the key had one */
	if (rc == 0 && toml_get(doc, "network", "network_requester") &&
	    toml_get_bool(doc, "network", "network_requester", &nf->network_requester) < 0)
		rc = -1;
	toml_free(doc);
	if (rc < 0)
		die("%s: missing or bad directory.port / network keys", path);
	nf->directory_port = (uint16_t)port;
	nf->key_rotation_id = (uint32_t)rot;
	nf->epoch = (uint32_t)epoch;
	return 0;
}

static void write_netfile(const char *dir, const struct netfile *nf, const struct options *o)
{
	struct toml_doc *doc = toml_new();
	if (!doc)
		die("out of memory");
	int bad = toml_set_string(doc, "directory", "host", HOST);
	bad |= toml_set_int(doc, "directory", "port", nf->directory_port);
	bad |= toml_set_int(doc, "network", "key_rotation_id", nf->key_rotation_id);
	bad |= toml_set_int(doc, "network", "absolute_epoch_id", nf->epoch);
	bad |= toml_set_int(doc, "network", "mixnodes_per_layer", o->mix_per_layer);
	bad |= toml_set_int(doc, "network", "gateways", o->gateways);
	bad |= toml_set_bool(doc, "network", "network_requester", !o->no_network_requester);
	size_t len;
	char *text = bad ? NULL : toml_dump(doc, &len);
	toml_free(doc);
	char path[PATH_LEN];
	path_join(path, dir, "localnet.toml");
	if (!text || ns_write_file_atomic(path, text, len, 0644) < 0)
		die("cannot write %s", path);
	free(text);
}

static void gen_keys(const char *dir, struct ns_nodeconf *c)
{
	uint8_t seed[32], sk[64], secret[32];
	ns_random(seed, sizeof seed);
	ns_random(secret, sizeof secret);
	ns_ed25519_from_seed(c->identity_key, sk, seed);
	ns_x25519_base(c->sphinx_key, secret);
	path_join(c->identity_seed_file, dir, "keys/%s.ed25519", c->name);
	path_join(c->sphinx_secret_file, dir, "keys/%s.x25519", c->name);
	unlink(c->identity_seed_file);
	unlink(c->sphinx_secret_file);
	if (ns_keyfile_write(c->identity_seed_file, seed) < 0 ||
	    ns_keyfile_write(c->sphinx_secret_file, secret) < 0)
		die("cannot write key files under %s/keys", dir);
	ns_memzero(seed, sizeof seed);
	ns_memzero(sk, sizeof sk);
	ns_memzero(secret, sizeof secret);
}

static uint16_t take_port(int *fds, size_t *n_fds)
{
	int fd;
	uint16_t port = ns_loopback_free_port(&fd);
	if (!port)
		die("cannot find a free loopback port: %s", strerror(errno));
	fds[(*n_fds)++] = fd;
	return port;
}

static void fill_node(struct ns_nodeconf *c, const char *dir, const struct options *o,
                      const struct netfile *nf)
{
	c->key_rotation_id = nf->key_rotation_id;
	c->absolute_epoch_id = nf->epoch;
	snprintf(c->host, sizeof c->host, "%s", HOST);
	snprintf(c->directory_url, sizeof c->directory_url, "http://%s:%u", HOST, nf->directory_port);
	path_join(c->topology_file, dir, "topology.json");
	path_join(c->ready_file, dir, "run/%s.ready", c->name);
	path_join(c->stats_file, dir, "run/%s.stats", c->name);
	path_join(c->log_file, dir, "logs/%s.log", c->name);
	c->drop_rate = o->drop_rate;
	c->no_delay = o->no_delay;
	gen_keys(dir, c);
}

/* --tls: a wss listener announced as wss://localhost:PORT; --gateway-delays: a delaying front
 * announced as the ws port (nodeconf.h). */
static void gateway_fronts(struct ns_nodeconf *c, const char *dir, const struct options *o,
                           size_t k, int *fds, size_t *n_fds)
{
	if (o->tls) {
		snprintf(c->hostname, sizeof c->hostname, "%s", LN_TLS_HOSTNAME);
		c->clients_wss_port = take_port(fds, n_fds);
		path_join(c->tls_cert_file, dir, "tls/gateway.pem");
		path_join(c->tls_key_file, dir, "tls/gateway.key");
	}
	if (o->n_delays) {
		c->announce_ws_port = take_port(fds, n_fds);
		c->client_delay_ms = k < (size_t)o->n_delays ? o->delays[k] : 0;
	}
}

static void cmd_gen(const struct options *o)
{
	const char *dir = o->dir;
	char path[PATH_LEN];
	make_dir(dir, 0755);
	const char *subdirs[] = { "keys", "nodes", "run", "logs" };
	for (size_t i = 0; i < 4; i++) {
		path_join(path, dir, "%s", subdirs[i]);
		make_dir(path, strcmp(subdirs[i], "keys") == 0 ? 0700 : 0755);
	}
	size_t n_mix = (size_t)o->mix_per_layer * 3, n = n_mix + (size_t)o->gateways;
	char err[512];
	if (o->tls && ln_tls_generate(dir, o->tls_cert_name, err, sizeof err) < 0)
		die("%s", err);
	int fds[4 * MAX_NODES + 1];
	size_t n_fds = 0;
	struct netfile nf = { .key_rotation_id = o->key_rotation_id, .epoch = o->epoch };
	nf.directory_port = take_port(fds, &n_fds);
	struct ns_nodeconf *nodes = calloc(n, sizeof *nodes);
	if (!nodes)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct ns_nodeconf *c = &nodes[i];
		c->id = (uint32_t)i + 1;
		if (i < n_mix) {
			c->role = NS_ROLE_MIXNODE;
			c->layer = (uint8_t)(i / (size_t)o->mix_per_layer + 1);
			snprintf(c->name, sizeof c->name, "mix%u", c->id);
		} else {
			c->role = NS_ROLE_GATEWAY;
			snprintf(c->name, sizeof c->name, "gateway%zu", i - n_mix + 1);
			c->clients_ws_port = take_port(fds, &n_fds);
			gateway_fronts(c, dir, o, i - n_mix, fds, &n_fds);
		}
		c->mix_port = take_port(fds, &n_fds);
		fill_node(c, dir, o, &nf);
		path_join(path, dir, "nodes/%s.toml", c->name);
		if (ns_nodeconf_save(path, c) < 0)
			die("cannot write %s", path);
	}
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	write_netfile(dir, &nf, o);
	if (ln_nr_write_policy(dir) < 0)
		die("cannot write %s/exit-policy.txt", dir);
	free(nodes);
}

/* ---------------------------------------------------------------- topology and env */

static void load_nodes(const char *dir, struct ns_nodeconf **nodes, size_t *n)
{
	char path[PATH_LEN];
	path_join(path, dir, "nodes");
	struct toml_error err;
	if (ns_nodeconf_load_dir(path, nodes, n, &err) < 0)
		die("%s: %s", path, err.msg);
	if (*n == 0)
		die("no node descriptors in %s", path);
}

static struct ns_netinfo netinfo_of(const struct netfile *nf)
{
	time_t now = time(NULL);
	return (struct ns_netinfo){ .key_rotation_id = nf->key_rotation_id,
		                    .absolute_epoch_id = nf->epoch,
		                    .refreshed_at = now,
		                    .epoch_start = now - 60,
		                    .epoch_duration_secs = 3600 };
}

static void write_topology(const char *dir, const struct ns_nodeconf *nodes, size_t n,
                           const struct netfile *nf)
{
	struct ns_netinfo info = netinfo_of(nf);
	char *json = ns_topojson_wasm_topology(nodes, n, &info, 1);
	char path[PATH_LEN];
	path_join(path, dir, "topology.json");
	if (!json || ns_write_file_atomic(path, json, strlen(json), 0644) < 0)
		die("cannot write %s", path);
	free(json);
}

static void write_env(const char *dir, const struct ns_nodeconf *nodes, size_t n,
                      const struct netfile *nf, const char *nr_address)
{
	char *buf = malloc(64 * 1024);
	if (!buf)
		die("out of memory");
	size_t off = 0, cap = 64 * 1024;
#define PUT(...) (off += (size_t)snprintf(buf + off, off < cap ? cap - off : 0, __VA_ARGS__))
	PUT("NYM_API=http://%s:%u\n", HOST, nf->directory_port);
	PUT("NYM_LOCALNET_DIR=%s\n", dir);
	PUT("NYM_TOPOLOGY=%s/topology.json\n", dir);
	PUT("GATEWAY_IDS=\"");
	int k = 0, tls = 0;
	for (size_t i = 0; i < n; i++) {
		char id[64];
		if (nodes[i].role != NS_ROLE_GATEWAY)
			continue;
		base58_encode(nodes[i].identity_key, 32, id, sizeof id);
		PUT("%s%s", k++ ? " " : "", id);
	}
	PUT("\"\n");
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].role != NS_ROLE_GATEWAY)
			continue;
		char id[64];
		base58_encode(nodes[i].identity_key, 32, id, sizeof id);
		k++;
		PUT("GATEWAY_ID_%d=%s\n", k, id);
		PUT("GATEWAY_WS_%d=ws://%s:%u\n", k, nodes[i].host, nodes[i].clients_ws_port);
		PUT("GATEWAY_MIX_%d=%s:%u\n", k, nodes[i].host, nodes[i].mix_port);
		if (nodes[i].clients_wss_port && nodes[i].hostname[0])
			PUT("GATEWAY_WSS_%d=wss://%s:%u\n", k, nodes[i].hostname, nodes[i].clients_wss_port);
		if (nodes[i].announce_ws_port)
			PUT("GATEWAY_WS_ANNOUNCED_%d=ws://%s:%u\n", k, nodes[i].host,
			    nodes[i].announce_ws_port);
		tls |= nodes[i].clients_wss_port != 0;
	}
	if (tls)
		PUT("NYMSUITE_CA_FILE=%s/tls/ca.pem\n", dir);
	PUT("GATEWAY_COUNT=%d\n", k);
	if (nr_address)
		PUT("NETWORK_REQUESTER=%s\n", nr_address);
#undef PUT
	char path[PATH_LEN];
	path_join(path, dir, "env");
	if (off >= cap || ns_write_file_atomic(path, buf, off, 0644) < 0)
		die("cannot write %s", path);
	free(buf);
}

/* ---------------------------------------------------------------- processes */

static void self_dir(char *out)
{
	char exe[PATH_LEN];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		die("cannot read /proc/self/exe");
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	*slash = 0;
	snprintf(out, PATH_LEN, "%s", exe);
}

/* Whether DIR's network runs a network requester (localnet.toml). */
static int netfile_has_nr(const char *dir)
{
	struct netfile nf;
	return read_netfile(dir, &nf) == 0 && nf.network_requester;
}

static size_t build_proc_table(const char *dir, const struct ns_nodeconf *nodes, size_t n,
                               int with_nr, struct proc *procs)
{
	char bindir[PATH_LEN];
	self_dir(bindir);
	snprintf(procs[0].name, sizeof procs[0].name, DIRECTORY_NAME);
	path_join(procs[0].binary, bindir, "nym-directory");
	path_join(procs[0].config, dir, "nodes");
	for (size_t i = 0; i < n; i++) {
		struct proc *p = &procs[i + 1];
		snprintf(p->name, sizeof p->name, "%s", nodes[i].name);
		path_join(p->binary, bindir, "%s",
		          nodes[i].role == NS_ROLE_GATEWAY ? "nym-gateway" : "nym-mixnode");
		path_join(p->config, dir, "nodes/%s.toml", nodes[i].name);
		p->conf = &nodes[i];
	}
	if (!with_nr)
		return n + 1;
	struct proc *nr = &procs[n + 1];
	snprintf(nr->name, sizeof nr->name, LN_NR_NAME);
	path_join(nr->binary, bindir, "nym-network-requester");
	nr->is_nr = 1;
	return n + 2;
}

static pid_t read_pid(const char *dir, const char *name)
{
	char path[PATH_LEN];
	path_join(path, dir, "run/%s.pid", name);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || pid > INT_MAX)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Alive, not a zombie, and started from the expected binary: some argument in its command
 * line has the binary's base name (argv[0] for a program, argv[1] for a script behind an
 * interpreter). Guards against a stale pid file naming a reused pid. */
static int pid_alive(pid_t pid, const char *binary)
{
	if (pid <= 1 || kill(pid, 0) < 0)
		return 0;
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
			return 0;
	}
	if (!binary)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1; /* no /proc: trust the pid file */
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *want = strrchr(binary, '/');
	want = want ? want + 1 : binary;
	for (size_t off = 0; off < n; off += strlen(buf + off) + 1) {
		const char *arg = buf + off;
		const char *base = strrchr(arg, '/');
		if (strcmp(base ? base + 1 : arg, want) == 0)
			return 1;
	}
	return 0;
}

static void remove_run_files(const char *dir, const char *name)
{
	static const char *const ext[] = { "pid", "ready", "stats" };
	char path[PATH_LEN];
	for (size_t i = 0; i < 3; i++) {
		path_join(path, dir, "run/%s.%s", name, ext[i]);
		unlink(path);
	}
}

static pid_t spawn(const char *dir, const struct proc *p, uint16_t directory_port)
{
	char log[PATH_LEN], listen_arg[64], ready[PATH_LEN], stats[PATH_LEN];
	path_join(log, dir, "logs/%s.log", p->name);
	path_join(ready, dir, "run/%s.ready", p->name);
	path_join(stats, dir, "run/%s.stats", p->name);
	snprintf(listen_arg, sizeof listen_arg, "%s:%u", HOST, directory_port);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	setsid();
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	if (p->is_nr) {
		char home[PATH_LEN];
		ln_nr_home(dir, home, sizeof home);
		execl(p->binary, p->binary, "run", "--id", LN_NR_ID, "--home", home, (char *)NULL);
	} else if (p->conf && p->workers)
		execl(p->binary, p->binary, "--config", p->config, "--workers", p->workers, (char *)NULL);
	else if (p->conf)
		execl(p->binary, p->binary, "--config", p->config, (char *)NULL);
	else
		execl(p->binary, p->binary, "--listen", listen_arg, "--nodes", p->config, "--ready-file",
		      ready, "--stats-file", stats, (char *)NULL);
	fprintf(stderr, "nym-localnet: exec %s: %s\n", p->binary, strerror(errno));
	_exit(127);
}

static void write_pid(const char *dir, const char *name, pid_t pid)
{
	char path[PATH_LEN], text[32];
	path_join(path, dir, "run/%s.pid", name);
	int n = snprintf(text, sizeof text, "%d\n", (int)pid);
	if (ns_write_file_atomic(path, text, (size_t)n, 0644) < 0)
		die("cannot write %s", path);
}

static int is_healthy(const char *dir, const struct proc *p, uint16_t directory_port)
{
	char ready[PATH_LEN];
	if (p->is_nr)
		return ln_nr_address(dir, ready, sizeof ready) == 0;
	path_join(ready, dir, "run/%s.ready", p->name);
	if (!file_exists(ready))
		return 0;
	if (!p->conf)
		return ns_loopback_probe(HOST, directory_port, 200);
	if (!ns_loopback_probe(p->conf->host, p->conf->mix_port, 200))
		return 0;
	const struct ns_nodeconf *c = p->conf;
	return c->role != NS_ROLE_GATEWAY ||
	       (ns_loopback_probe(c->host, c->clients_ws_port, 200) &&
	        (!c->clients_wss_port || ns_loopback_probe(c->host, c->clients_wss_port, 200)) &&
	        (!c->announce_ws_port || ns_loopback_probe(c->host, c->announce_ws_port, 200)));
}

static void print_log_tail(const char *dir, const char *name)
{
	char path[PATH_LEN];
	path_join(path, dir, "logs/%s.log", name);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "  (no log at %s)\n", path);
		return;
	}
	char *lines[LOG_TAIL_LINES] = { 0 };
	size_t count = 0;
	char buf[1024];
	while (fgets(buf, sizeof buf, f)) {
		free(lines[count % LOG_TAIL_LINES]);
		lines[count % LOG_TAIL_LINES] = strdup(buf);
		count++;
	}
	fclose(f);
	fprintf(stderr, "--- last lines of %s ---\n", path);
	size_t first = count > LOG_TAIL_LINES ? count - LOG_TAIL_LINES : 0;
	for (size_t i = first; i < count; i++) {
		const char *l = lines[i % LOG_TAIL_LINES];
		fputs(l ? l : "\n", stderr);
	}
	for (size_t i = 0; i < LOG_TAIL_LINES; i++)
		free(lines[i]);
}

/* SIGTERM, wait up to timeout_ms, then SIGKILL. Reaps our own children as it goes. */
static void stop_pids(const pid_t *pids, const char *const *binaries, size_t n, int timeout_ms)
{
	for (size_t i = 0; i < n; i++)
		if (pid_alive(pids[i], binaries[i]))
			kill(pids[i], SIGTERM);
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		int any = 0;
		for (size_t i = 0; i < n; i++) {
			while (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) > 0)
				;
			any |= pid_alive(pids[i], binaries[i]);
		}
		if (!any)
			return;
		usleep(50 * 1000);
	}
	for (size_t i = 0; i < n; i++)
		if (pid_alive(pids[i], binaries[i])) {
			fprintf(stderr, "nym-localnet: pid %d did not stop; SIGKILL\n", (int)pids[i]);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

static void teardown(const char *dir, const struct proc *procs, size_t n)
{
	pid_t pids[MAX_NODES + 2];
	const char *bins[MAX_NODES + 2];
	for (size_t i = 0; i < n; i++) {
		pids[i] = procs[i].pid;
		bins[i] = procs[i].binary;
	}
	stop_pids(pids, bins, n, 5000);
	for (size_t i = 0; i < n; i++)
		remove_run_files(dir, procs[i].name);
}

/* Index of a started process that exited, or -1. */
static long exited_child(const struct proc *procs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int status;
		if (procs[i].pid > 0 && waitpid(procs[i].pid, &status, WNOHANG) == procs[i].pid)
			return (long)i;
	}
	return -1;
}

static void wait_healthy(const char *dir, struct proc *procs, size_t n, uint16_t dport, int timeout_s)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long dead = exited_child(procs, n);
		if (dead >= 0) {
			fprintf(stderr, "nym-localnet: %s exited during start-up\n", procs[dead].name);
			procs[dead].pid = 0;
			print_log_tail(dir, procs[dead].name);
			teardown(dir, procs, n);
			exit(1);
		}
		long unhealthy = -1;
		for (size_t i = 0; i < n && unhealthy < 0; i++)
			if (!is_healthy(dir, &procs[i], dport))
				unhealthy = (long)i;
		if (unhealthy < 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s) {
			for (size_t i = (size_t)unhealthy; i < n; i++) {
				if (is_healthy(dir, &procs[i], dport))
					continue;
				fprintf(stderr, "nym-localnet: %s not healthy after %d s (no run/%s.ready or a port not accepting)\n",
				        procs[i].name, timeout_s, procs[i].name);
				print_log_tail(dir, procs[i].name);
			}
			teardown(dir, procs, n);
			exit(1);
		}
		usleep(50 * 1000);
	}
}

static int network_running(const char *dir, const struct proc *procs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pid_alive(read_pid(dir, procs[i].name), procs[i].binary))
			return 1;
	return 0;
}

static void start_proc(const char *dir, struct proc *p, uint16_t directory_port)
{
	remove_run_files(dir, p->name);
	p->pid = spawn(dir, p, directory_port);
	write_pid(dir, p->name, p->pid);
}

/* Once the nodes are healthy: init against the directory and gateway1 (first time only), run. */
static void start_network_requester(const char *dir, const struct ns_nodeconf *nodes, size_t n,
                                    struct proc *procs, size_t np, uint16_t directory_port)
{
	char gateway[64] = "", err[512];
	struct proc *nr = &procs[np - 1];
	for (size_t i = 0; i < n && !gateway[0]; i++)
		if (nodes[i].role == NS_ROLE_GATEWAY)
			base58_encode(nodes[i].identity_key, 32, gateway, sizeof gateway);
	if (ln_nr_init(nr->binary, dir, directory_port, gateway, err, sizeof err) < 0) {
		fprintf(stderr, "nym-localnet: %s\n", err);
		print_log_tail(dir, LN_NR_NAME "-init");
		teardown(dir, procs, np - 1);
		exit(1);
	}
	start_proc(dir, nr, directory_port);
}

static void cmd_up(const struct options *o, int explicit_shape)
{
	const char *dir = o->dir;
	char path[PATH_LEN];
	path_join(path, dir, "localnet.toml");
	if (!file_exists(path))
		cmd_gen(o);
	else if (explicit_shape)
		fprintf(stderr, "nym-localnet: %s exists; reusing its keys and ports (options ignored)\n", path);
	struct netfile nf;
	if (read_netfile(dir, &nf) < 0)
		die("cannot read %s", path);
	path_join(path, dir, "exit-policy.txt");
	if (!file_exists(path) && ln_nr_write_policy(dir) < 0) /* a localnet made before it */
		die("cannot write %s", path);
	struct ns_nodeconf *nodes;
	size_t n;
	load_nodes(dir, &nodes, &n);
	if (n > MAX_NODES)
		die("too many nodes");
	struct proc procs[MAX_NODES + 2];
	memset(procs, 0, sizeof procs);
	size_t np = build_proc_table(dir, nodes, n, nf.network_requester, procs);
	for (size_t i = 0; i < np; i++)
		if (procs[i].conf && procs[i].conf->role == NS_ROLE_MIXNODE)
			procs[i].workers = o->mix_workers ? o->mix_workers : "1"; /* the nodes share the machine */
	if (network_running(dir, procs, np)) {
		printf("already running\n");
		free(nodes);
		exit(0);
	}
	for (size_t i = 0; i < np; i++)
		if (access(procs[i].binary, X_OK) < 0)
			die("missing binary %s (needed for %s; not built yet?)", procs[i].binary, procs[i].name);
	write_topology(dir, nodes, n, &nf);
	/* the network requester trusts the throwaway CA of the wss gateways */
	path_join(path, dir, "tls/ca.pem");
	if (file_exists(path) && setenv("NYMSUITE_CA_FILE", path, 1) < 0)
		die("setenv: %s", strerror(errno));
	size_t n_nodes = np - (nf.network_requester ? 1 : 0); /* the directory and the nodes */
	for (size_t i = 0; i < n_nodes; i++)
		start_proc(dir, &procs[i], nf.directory_port);
	wait_healthy(dir, procs, n_nodes, nf.directory_port, o->timeout_s);
	char nr_address[256];
	if (nf.network_requester) {
		start_network_requester(dir, nodes, n, procs, np, nf.directory_port);
		wait_healthy(dir, procs, np, nf.directory_port, o->timeout_s);
		if (ln_nr_address(dir, nr_address, sizeof nr_address) < 0)
			die("the network requester logged no address");
	}
	write_env(dir, nodes, n, &nf, nf.network_requester ? nr_address : NULL);
	free(nodes);
	printf("ready\n");
	fflush(stdout);
}

static void print_stats(const char *dir, const char *name)
{
	char path[PATH_LEN], buf[2048];
	path_join(path, dir, "run/%s.stats", name);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf(" stats=none");
		return;
	}
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (len && buf[len - 1] == ' ')
		buf[--len] = 0;
	printf(" stats=%s", buf);
}

static void print_nr_stats(const char *dir)
{
	char text[4096];
	printf(" stats=%s", ln_nr_stats(dir, text, sizeof text) == 0 ? text : "none");
}

static int cmd_status(const struct options *o)
{
	struct ns_nodeconf *nodes;
	size_t n;
	load_nodes(o->dir, &nodes, &n);
	struct proc procs[MAX_NODES + 2];
	memset(procs, 0, sizeof procs);
	size_t np = build_proc_table(o->dir, nodes, n, netfile_has_nr(o->dir), procs);
	int all_up = 1;
	for (size_t i = 0; i < np; i++) {
		pid_t pid = read_pid(o->dir, procs[i].name);
		int up = pid_alive(pid, procs[i].binary);
		all_up &= up;
		const char *role = procs[i].is_nr ? LN_NR_NAME
		                   : procs[i].conf ? ns_node_role_name(procs[i].conf->role) : "directory";
		printf("%s %s %s pid=%d", procs[i].name, role, up ? "up" : "down", up ? (int)pid : 0);
		if (up && procs[i].is_nr)
			print_nr_stats(o->dir);
		else if (up)
			print_stats(o->dir, procs[i].name);
		putchar('\n');
	}
	free(nodes);
	return all_up ? 0 : 3;
}

static void cmd_down(const struct options *o)
{
	struct ns_nodeconf *nodes;
	size_t n;
	load_nodes(o->dir, &nodes, &n);
	struct proc procs[MAX_NODES + 2];
	memset(procs, 0, sizeof procs);
	size_t np = build_proc_table(o->dir, nodes, n, netfile_has_nr(o->dir), procs);
	for (size_t i = 0; i < np; i++)
		procs[i].pid = read_pid(o->dir, procs[i].name);
	teardown(o->dir, procs, np);
	free(nodes);
	printf("down\n");
}

static void cmd_gen_only(const struct options *o)
{
	char path[PATH_LEN];
	path_join(path, o->dir, "localnet.toml");
	if (file_exists(path))
		die("%s already exists", path);
	cmd_gen(o);
	struct netfile nf;
	read_netfile(o->dir, &nf);
	struct ns_nodeconf *nodes;
	size_t n;
	load_nodes(o->dir, &nodes, &n);
	write_topology(o->dir, nodes, n, &nf);
	write_env(o->dir, nodes, n, &nf, NULL);
	free(nodes);
	printf("generated\n");
}

/* ---------------------------------------------------------------- arguments */

static void usage(void)
{
	fprintf(stderr,
	        "usage: nym-localnet up|gen --dir DIR [--mixnodes-per-layer N] [--gateways M]\n"
	        "                    [--drop-rate P] [--no-delay] [--key-rotation-id R] [--epoch E]\n"
	        "                    [--no-network-requester] [--timeout SECONDS]\n"
	        "                    [--tls [--tls-cert-name NAME]] [--gateway-delays MS,MS,...]\n"
	        "                    [--mixnode-workers N|auto] (up only)\n"
	        "       nym-localnet status|down --dir DIR\n");
	exit(2);
}

static long parse_long(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		usage();
	return v;
}

/* "MS,MS,...": one added delay per gateway, in id order. */
static void parse_delays(const char *v, struct options *o)
{
	o->n_delays = 0;
	for (const char *p = v; *p;) {
		char num[16];
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof num || o->n_delays == 32)
			usage();
		memcpy(num, p, len);
		num[len] = 0;
		o->delays[o->n_delays++] = (unsigned)parse_long(num, 0, 60000);
		p += len + (p[len] == ',');
	}
	if (o->n_delays == 0)
		usage();
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *cmd = argv[1];
	struct options o = { .mix_per_layer = 1, .gateways = 1, .key_rotation_id = 3, .epoch = 100,
		             .timeout_s = 20, .tls_cert_name = LN_TLS_HOSTNAME };
	int explicit_shape = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--no-delay") == 0) {
			o.no_delay = 1;
			continue;
		}
		if (strcmp(a, "--tls") == 0) {
			o.tls = 1, explicit_shape = 1;
			continue;
		}
		if (strcmp(a, "--no-network-requester") == 0) {
			o.no_network_requester = 1, explicit_shape = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(a, "--dir") == 0)
			o.dir = v;
		else if (strcmp(a, "--mixnodes-per-layer") == 0)
			o.mix_per_layer = (int)parse_long(v, 1, 64), explicit_shape = 1;
		else if (strcmp(a, "--gateways") == 0)
			o.gateways = (int)parse_long(v, 1, 32), explicit_shape = 1;
		else if (strcmp(a, "--key-rotation-id") == 0)
			o.key_rotation_id = (uint32_t)parse_long(v, 0, UINT32_MAX);
		else if (strcmp(a, "--epoch") == 0)
			o.epoch = (uint32_t)parse_long(v, 0, UINT32_MAX);
		else if (strcmp(a, "--tls-cert-name") == 0)
			o.tls_cert_name = v, explicit_shape = 1;
		else if (strcmp(a, "--gateway-delays") == 0)
			parse_delays(v, &o), explicit_shape = 1;
		else if (strcmp(a, "--mixnode-workers") == 0)
			o.mix_workers = strcmp(v, "auto") == 0 ? v : (parse_long(v, 1, 64), v);
		else if (strcmp(a, "--timeout") == 0)
			o.timeout_s = (int)parse_long(v, 1, 3600);
		else if (strcmp(a, "--drop-rate") == 0) {
			char *end;
			o.drop_rate = strtod(v, &end);
			if (*end || end == v || !(o.drop_rate >= 0 && o.drop_rate <= 1))
				usage();
		} else
			usage();
	}
	if (!o.dir)
		usage();
	if (o.key_rotation_id > o.epoch)
		die("--key-rotation-id must not exceed --epoch (the key-rotation schedule needs it)");
	make_dir(o.dir, 0755);
	char *absdir = realpath(o.dir, NULL);
	if (!absdir || strlen(absdir) > PATH_LEN / 2)
		die("cannot resolve %s (or path too long)", o.dir);
	o.dir = absdir;
	if (ns_crypto_init() < 0)
		die("crypto init failed");
	signal(SIGPIPE, SIG_IGN);
	int rc = 0;
	if (strcmp(cmd, "gen") == 0)
		cmd_gen_only(&o);
	else if (strcmp(cmd, "up") == 0)
		cmd_up(&o, explicit_shape);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&o);
	else if (strcmp(cmd, "down") == 0)
		cmd_down(&o);
	else
		usage();
	free(absdir);
	return rc;
}
