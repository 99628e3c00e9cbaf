/* End-to-end mix-node throughput over loopback, delays off: a real nym-mixnode process
 * (layer 1 of a `nym-localnet gen` network, started from the bin/ folder next to this
 * benchmark's) receives regular-size Sphinx packets from this program, unwraps them and
 * forwards them to this program, which listens as the next hop. The rate is packets per
 * CPU-second of the node process (its own CPU time, so per core), printed next to the bound
 * of bench_sphinx (the per-packet forward-hop primitives, timed here on the same sizes and
 * interleaved in time with the node's work, as bench_sphinx does). Prints numbers only; exits
 * non-zero only on a functional error (a packet lost or forwarded wrong). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "loopback.h"
#include "node/node.h"
#include "nodeconf.h"
#include "nymsphinx/framing.h"
#include "nymsphinx/params.h"
#include "sphinx/sphinx.h"

#define ROUNDS      10
#define PER_ROUND   1000   /* below the node's 2000-frame queue per destination */
#define CHUNKS      12     /* primitive chunks of ~1 ms per round */
#define CHUNK_S     0.001
#define PAYLOAD     2065   /* regular packet */
#define PACKET_LEN  (SPHINX_HEADER_LEN + PAYLOAD)
#define LIONESS_R   (PAYLOAD - 32)
#define PRG_LEN     360

static const char EXPAND_INFO[] =
	"Dwste mou enan moxlo arketa makru kai ena upomoxlio gia na ton topothetisw kai tha kinisw thn gh.";
static const char PK_SALT[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-SALT";
static const char PK_INFO[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-INFO";

static struct {
	uint8_t scalar[32], point[32], out32[32], expanded[SPHINX_EXPANDED_LEN];
	uint8_t payload_key[SPHINX_PAYLOAD_KEY_LEN], mac_key[16], beta[SPHINX_BETA_LEN];
	uint8_t keystream[PRG_LEN], stream_key[32], hash_key[64], half[LIONESS_R];
	uint8_t secret1[32];
	uint8_t packet[PACKET_LEN], scratch[PACKET_LEN];
	struct sphinx_processed res;
	int failed;
} g;

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- primitives (the forward-hop bound of bench_sphinx) ---- */
static void op_x25519(void) { ns_x25519(g.out32, g.scalar, g.point); }
static void op_hkdf288(void)
{
	g.failed |= ns_hkdf_sha256(g.expanded, SPHINX_EXPANDED_LEN, NULL, 0, g.out32, 32,
	                           (const uint8_t *)EXPAND_INFO, sizeof EXPAND_INFO - 1) != 0;
}
static void op_hkdf192(void)
{
	g.failed |= ns_hkdf_sha256(g.payload_key, SPHINX_PAYLOAD_KEY_LEN, (const uint8_t *)PK_SALT,
	                           sizeof PK_SALT - 1, g.expanded + 32, SPHINX_PAYLOAD_SEED_LEN,
	                           (const uint8_t *)PK_INFO, sizeof PK_INFO - 1) != 0;
}
static void op_hmac(void) { ns_hmac_sha256(g.out32, g.mac_key, 16, g.beta, SPHINX_BETA_LEN); }
static void op_ks360(void) { g.failed |= ns_aes128_ctr_keystream(g.keystream, PRG_LEN, g.mac_key) != 0; }
static void op_chacha(void) { ns_chacha20_xor(g.half, g.half, LIONESS_R, g.stream_key); }
static void op_blake2b(void) { g.failed |= ns_blake2b(g.out32, 32, g.half, LIONESS_R, g.hash_key, 64) != 0; }
static void op_process(void)
{
	g.failed |= sphinx_process(g.secret1, g.packet, PACKET_LEN, g.scratch, &g.res) != SPHINX_OK;
}

enum { P_X25519, P_HKDF288, P_HKDF192, P_HMAC, P_KS360, P_CHACHA, P_BLAKE2B, P_PROCESS, N_ITEMS };
static struct {
	const char *name;
	void (*op)(void);
	long iters;
	double s, n;
} items[N_ITEMS] = {
	[P_X25519] = {"X25519 scalar mult", op_x25519},
	[P_HKDF288] = {"HKDF-SHA256 -> 288 B", op_hkdf288},
	[P_HKDF192] = {"HKDF-SHA256 -> 192 B", op_hkdf192},
	[P_HMAC] = {"HMAC-SHA256 over 300 B", op_hmac},
	[P_KS360] = {"AES-128-CTR keystream 360 B", op_ks360},
	[P_CHACHA] = {"ChaCha20 over 2033 B", op_chacha},
	[P_BLAKE2B] = {"BLAKE2b-256 keyed over 2033 B", op_blake2b},
	[P_PROCESS] = {"sphinx_process (in this process)", op_process},
};

static double run_batch(void (*op)(void), long n)
{
	double t0 = thread_cpu();
	for (long i = 0; i < n; i++)
		op();
	return thread_cpu() - t0;
}

static void calibrate(void)
{
	for (int i = 0; i < N_ITEMS; i++) {
		long n = 1;
		double t;
		run_batch(items[i].op, 1);
		while ((t = run_batch(items[i].op, n)) < 0.005)
			n *= 2;
		items[i].iters = (long)((double)n * CHUNK_S / t) + 1;
	}
}

/* One round of interleaved primitive chunks; returns the forward-hop bound in ns. */
static double primitives_round(void)
{
	double s[N_ITEMS] = {0};
	for (int c = 0; c < CHUNKS; c++)
		for (int i = 0; i < N_ITEMS; i++)
			s[i] += run_batch(items[i].op, items[i].iters);
	double ns[N_ITEMS];
	for (int i = 0; i < N_ITEMS; i++) {
		ns[i] = s[i] * 1e9 / (double)(items[i].iters * CHUNKS);
		items[i].s += s[i];
		items[i].n += (double)(items[i].iters * CHUNKS);
	}
	return 2 * ns[P_X25519] + ns[P_HKDF288] + ns[P_HMAC] + ns[P_KS360] +
	       2 * ns[P_CHACHA] + 2 * ns[P_BLAKE2B] + ns[P_HKDF192];
}

/* ---- the node process ---- */
static char g_dir[PATH_MAX];

static int bin_path(const char *name, char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0; /* .../BUILD/bench */
	int w = snprintf(out, cap, "%s/../bin/%s", self, name);
	return w > 0 && (size_t)w < cap && access(out, X_OK) == 0 ? 0 : -1;
}

static pid_t spawn(char *const argv[], int quiet)
{
	/* else a child's freopen of stdout writes out the parent's buffer once more (when stdout is
	 * a pipe or file, as under make bench's tee) */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (quiet) {
			FILE *f = freopen("/dev/null", "w", stdout);
			(void)f;
			char log[PATH_MAX + 16];
			snprintf(log, sizeof log, "%s/node.log", g_dir);
			f = freopen(log, "a", stderr);
			(void)f;
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* CPU time of one task in seconds: /proc/PID/task/TID/schedstat (ns), else utime+stime
 * ticks of that task. */
static double task_cpu(pid_t pid, const char *tid)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, tid);
	FILE *f = fopen(path, "r");
	unsigned long long ns;
	if (f) {
		int ok = fscanf(f, "%llu", &ns) == 1;
		fclose(f);
		if (ok)
			return (double)ns * 1e-9;
	}
	snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* How many times a thread was put on a CPU (the third field of its schedstat): a wake-up
 * after waiting, or a return after preemption. */
static double task_runs(pid_t pid, const char *tid)
{
	char path[320];
	snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, tid);
	FILE *f = fopen(path, "r");
	unsigned long long run, wait, n;
	double r = f && fscanf(f, "%llu %llu %llu", &run, &wait, &n) == 3 ? (double)n : 0;
	if (f)
		fclose(f);
	return r;
}

/* per_task summed over the threads of a process, or -1. */
static double sum_tasks(pid_t pid, double (*per_task)(pid_t, const char *))
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	double sum = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			sum += per_task(pid, e->d_name);
	closedir(d);
	return sum;
}

/* CPU time of a process in seconds, and how often its threads were put on a CPU. */
static double proc_cpu(pid_t pid) { return sum_tasks(pid, task_cpu); }
static double proc_runs(pid_t pid) { return sum_tasks(pid, task_runs); }

static int read_conf(const char *name, struct ns_nodeconf *c)
{
	char path[PATH_MAX + 64];
	struct toml_error e;
	snprintf(path, sizeof path, "%s/net/nodes/%s.toml", g_dir, name);
	return ns_nodeconf_load(path, c, &e);
}

static int connect_port(uint16_t port)
{
	char hp[32];
	struct sockaddr_storage ss;
	socklen_t sl;
	snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
	if (ns_loopback_parse(hp, &ss, &sl) != 0)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (int i = 0; fd >= 0 && i < 200; i++) {
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			return fd;
		usleep(20000);
	}
	if (fd >= 0)
		close(fd);
	return -1;
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

/* Reads frames from the node until n arrived; checks the first with the next hop's key. */
static int receive_frames(int fd, struct nym_frame_decoder *d, long n, const uint8_t secret2[32],
                          const uint8_t dest[32])
{
	static uint8_t buf[65536];
	long got = 0;
	int checked = 0;
	while (got < n) {
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r <= 0)
			return -1;
		const uint8_t *p = buf;
		size_t len = (size_t)r;
		while (len) {
			size_t used;
			struct nym_frame f;
			int rc = nym_frame_decoder_push(d, p, len, &used, &f);
			if (rc < 0)
				return -1;
			p += used;
			len -= used;
			if (rc != 1)
				continue;
			if (f.packet_len != PACKET_LEN || f.header.version != NYM_PACKET_VERSION_LEGACY)
				return -1;
			if (!checked) {
				checked = 1;
				if (sphinx_process(secret2, f.packet, f.packet_len, g.scratch, &g.res) != 0 ||
				    g.res.flag != SPHINX_FLAG_FINAL || memcmp(g.res.destination, dest, 32) != 0)
					return -1;
			}
			got++;
		}
	}
	return 0;
}

/* The node's connection to us (the listening socket is non-blocking): a blocking socket
 * with a 10 s receive timeout, so a lost packet ends the run instead of hanging it. */
static int accept_node(int listen_fd)
{
	struct pollfd p = { listen_fd, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		return -1;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = { 10, 0 };
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

struct setup {
	char mixnode[PATH_MAX], conf[PATH_MAX + 32];
	uint16_t port1;
	pid_t node;
	int listen_fd, in_fd, out_fd;
	uint8_t secret2[32];
	struct sphinx_node route[2];
	uint8_t dest[32];
	uint8_t (*frames)[NYM_FRAME_HEADER_LEGACY_LEN + PACKET_LEN];
};

static pid_t spawn_node(struct setup *s, unsigned workers)
{
	char w[16];
	snprintf(w, sizeof w, "%u", workers);
	char *argv[] = { s->mixnode, "--config", s->conf, "--workers", w, NULL };
	return spawn(argv, 1);
}

static void stop_node(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static int start_network(struct setup *s)
{
	char localnet[PATH_MAX], dir[PATH_MAX + 8];
	snprintf(g_dir, sizeof g_dir, "/tmp/bench-mixnode.XXXXXX");
	if (!mkdtemp(g_dir) || bin_path("nym-localnet", localnet, sizeof localnet) != 0 ||
	    bin_path("nym-mixnode", s->mixnode, sizeof s->mixnode) != 0) {
		fprintf(stderr, "bench_mixnode: nym-localnet / nym-mixnode not built next to the bench\n");
		return -1;
	}
	snprintf(dir, sizeof dir, "%s/net", g_dir);
	char *gen[] = { localnet, "gen", "--dir", dir, "--no-delay", NULL };
	int st;
	pid_t p = spawn(gen, 1);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	struct ns_nodeconf c1, c2;
	uint8_t seed[32];
	if (read_conf("mix1", &c1) != 0 || read_conf("mix2", &c2) != 0 ||
	    ns_nodeconf_load_secrets(&c1, seed, g.secret1) != 0 ||
	    ns_nodeconf_load_secrets(&c2, seed, s->secret2) != 0)
		return -1;
	ns_memzero(seed, 32);
	char hp[32];
	snprintf(hp, sizeof hp, "127.0.0.1:%u", c2.mix_port);
	s->listen_fd = ns_loopback_listen(hp);
	if (s->listen_fd < 0)
		return -1;
	snprintf(s->conf, sizeof s->conf, "%s/nodes/mix1.toml", dir);
	s->port1 = c1.mix_port;
	s->node = spawn_node(s, 1);
	s->out_fd = connect_port(c1.mix_port);
	if (s->node < 0 || s->out_fd < 0)
		return -1;
	/* route mix1 -> mix2 (final): mix1 forwards to this program */
	char a1[32], a2[32];
	snprintf(a1, sizeof a1, "127.0.0.1:%u", c1.mix_port);
	snprintf(a2, sizeof a2, "127.0.0.1:%u", c2.mix_port);
	if (ns_routing_address(a1, s->route[0].address) < 0 || ns_routing_address(a2, s->route[1].address) < 0)
		return -1;
	memcpy(s->route[0].pubkey, c1.sphinx_key, 32);
	memcpy(s->route[1].pubkey, c2.sphinx_key, 32);
	memcpy(s->dest, c2.identity_key, 32);
	return 0;
}

static int build_frames(struct setup *s)
{
	uint64_t delays[2] = { 0, 0 };
	struct sphinx_header_params p = { .route = s->route, .n_hops = 2, .delays_ns = delays,
	                                  .version = SPHINX_V_PAYLOAD_KEY_SEEDS };
	memcpy(p.destination, s->dest, 32);
	uint8_t msg[PAYLOAD - SPHINX_PAYLOAD_OVERHEAD];
	ns_random(msg, sizeof msg);
	struct nym_frame_header h;
	if (nym_frame_header_for(PACKET_LEN, NYM_PACKET_TYPE_MIX, 0, 1, &h) != 0)
		return -1;
	s->frames = malloc((size_t)ROUNDS * PER_ROUND * sizeof *s->frames);
	if (!s->frames)
		return -1;
	for (long i = 0; i < (long)ROUNDS * PER_ROUND; i++) {
		if (sphinx_build_packet(&p, msg, sizeof msg, PAYLOAD, g.packet) != 0 ||
		    nym_frame_encode(&h, g.packet, PACKET_LEN, s->frames[i], sizeof s->frames[i]) < 0)
			return -1;
	}
	/* the in-process sphinx_process item works on one such packet */
	return sphinx_build_packet(&p, msg, sizeof msg, PAYLOAD, g.packet) != 0 ? -1 : 0;
}

static void init_buffers(void)
{
	ns_random(g.scalar, sizeof g.scalar);
	ns_x25519_base(g.point, g.scalar);
	ns_random(g.mac_key, sizeof g.mac_key);
	ns_random(g.beta, sizeof g.beta);
	ns_random(g.stream_key, sizeof g.stream_key);
	ns_random(g.hash_key, sizeof g.hash_key);
	ns_random(g.half, sizeof g.half);
	ns_random(g.out32, sizeof g.out32);
}

static void stop(struct setup *s)
{
	stop_node(&s->node);
	if (s->out_fd >= 0)
		close(s->out_fd);
	if (s->in_fd >= 0)
		close(s->in_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s->frames);
	ns_memzero(s->secret2, 32);
	ns_memzero(g.secret1, 32);
	ns_memzero(&g.res, sizeof g.res);
	char cmd[2 * PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	if (g_dir[0] && system(cmd) != 0)
		fprintf(stderr, "bench_mixnode: could not remove %s\n", g_dir);
}

static int run(struct setup *s)
{
	double node_s[ROUNDS], bound_ns[ROUNDS], total_node = 0, total_bound = 0;
	struct nym_frame_decoder d;
	if (nym_frame_decoder_init(&d) != 0)
		return -1;
	int rc = 0, r;
	for (r = 0; r < ROUNDS && rc == 0; r++) {
		bound_ns[r] = primitives_round();
		double c0 = proc_cpu(s->node);
		if (write_all(s->out_fd, s->frames[(long)r * PER_ROUND],
		              (size_t)PER_ROUND * sizeof s->frames[0]) != 0)
			rc = -1;
		if (rc == 0 && s->in_fd < 0)
			s->in_fd = accept_node(s->listen_fd);
		if (rc == 0 && (s->in_fd < 0 || receive_frames(s->in_fd, &d, PER_ROUND, s->secret2, s->dest) != 0))
			rc = -1;
		usleep(2000); /* the node finishes its bookkeeping for the round */
		node_s[r] = proc_cpu(s->node) - c0;
		total_node += node_s[r];
		total_bound += bound_ns[r];
	}
	nym_frame_decoder_free(&d);
	if (rc != 0 || g.failed) {
		fprintf(stderr, "bench_mixnode: round %d: %s\n", r,
		        g.failed ? "an in-process operation failed" : "a packet was lost or forwarded wrong");
		return -1;
	}
	double lo = 1e30, hi = 0;
	for (r = 0; r < ROUNDS; r++) {
		double ratio = (PER_ROUND / node_s[r]) / (1e9 / bound_ns[r]);
		lo = ratio < lo ? ratio : lo;
		hi = ratio > hi ? ratio : hi;
	}
	double node_rate = (double)ROUNDS * PER_ROUND / total_node;
	double bound_rate = 1e9 / (total_bound / ROUNDS);
	double proc_ns = items[P_PROCESS].s * 1e9 / items[P_PROCESS].n;
	printf("primitives (%d rounds x %d interleaved chunks of ~%.0f ms; CPU time, one thread):\n",
	       ROUNDS, CHUNKS, CHUNK_S * 1e3);
	for (int i = 0; i < N_ITEMS; i++)
		printf("  %-38s %9.2f us  %10.0f /s\n", items[i].name,
		       items[i].s * 1e6 / items[i].n, items[i].n / items[i].s);
	printf("\nnym-mixnode, 1 process, delays off, regular packets (%d B), %d rounds x %d packets\n"
	       "rate = packets per CPU-second of the node process (per core); ratio = rate / bound rate\n",
	       PACKET_LEN, ROUNDS, PER_ROUND);
	printf("mixnode forward hop       : %6.0f pkt/s   bound %6.0f pkt/s   ratio %.2f   (%.1f vs %.1f us/pkt; rounds %.2f-%.2f)\n",
	       node_rate, bound_rate, node_rate / bound_rate, 1e6 / node_rate, 1e6 / bound_rate, lo, hi);
	printf("sphinx_process alone      : %6.0f pkt/s   (the node's overhead beyond it: %.1f us/pkt)\n",
	       1e9 / proc_ns, 1e6 / node_rate - proc_ns / 1e3);
	printf("bound: 2 X25519 + HKDF 288 + HMAC 300 + keystream 360 + Lioness (2 ChaCha20 + 2 BLAKE2b\n"
	       "       over %d B) + HKDF 192, as bench_sphinx's forward hop\n", LIONESS_R);
	return 0;
}

/* ---------------------------------------------------------------- workers: 1 vs 2 */

#define TP_RUNS      7      /* alternating 1-worker and 2-worker nodes: 7 pairs */
#define TP_ROUNDS    5
#define TP_PER_ROUND 1000   /* per round, split over the sender connections */
#define TP_CONNS     2
#define TP_MAX_IN    8      /* the node's connections to us: one per worker */
#define TP_BATCH     32     /* wake up for the node's packets 32 at a time (SO_RCVLOWAT) */

struct tp_run {
	int out[TP_CONNS], in[TP_MAX_IN], n_in, lowat;
	struct nym_frame_decoder dec[TP_MAX_IN];
	const uint8_t *next[TP_CONNS];
	size_t left[TP_CONNS];
	long got;
	int checked;
};

static double self_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int tp_accept(struct setup *s, struct tp_run *t)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (t->n_in == TP_MAX_IN || nym_frame_decoder_init(&t->dec[t->n_in]) != 0) {
		close(fd);
		return -1;
	}
	t->in[t->n_in++] = fd;
	return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &t->lowat, sizeof t->lowat);
}

/* This program runs on the node's cores: each time it wakes up it preempts a worker (a context
 * switch costs 15-20 us on the development VM). So it sleeps until TP_BATCH packets wait on a
 * connection, and drops that to 1 byte once fewer than TP_BATCH per connection are still to
 * come, when no connection might ever reach it. */
static int tp_set_lowat(struct tp_run *t, long left)
{
	long one_batch_each = (long)TP_BATCH * (t->n_in ? t->n_in : 1);
	int want = left < one_batch_each ? 1 : TP_BATCH * (NYM_FRAME_HEADER_LEGACY_LEN + PACKET_LEN);
	if (want == t->lowat)
		return 0;
	t->lowat = want;
	for (int i = 0; i < t->n_in; i++)
		if (setsockopt(t->in[i], SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want) != 0)
			return -1;
	return 0;
}

static int tp_frame(struct setup *s, struct tp_run *t, const struct nym_frame *f)
{
	if (f->packet_len != PACKET_LEN)
		return -1;
	if (!t->checked) {
		t->checked = 1;
		if (sphinx_process(s->secret2, f->packet, f->packet_len, g.scratch, &g.res) != 0 ||
		    g.res.flag != SPHINX_FLAG_FINAL || memcmp(g.res.destination, s->dest, 32) != 0)
			return -1;
	}
	t->got++;
	return 0;
}

/* Reads until the socket is empty, so one poll serves everything that arrived. */
static int tp_read(struct setup *s, struct tp_run *t, int i)
{
	static uint8_t buf[1 << 18];
	for (;;) {
		ssize_t r = recv(t->in[i], buf, sizeof buf, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r <= 0)
			return -1;
		for (size_t off = 0; off < (size_t)r;) {
			size_t used;
			struct nym_frame f;
			int rc = nym_frame_decoder_push(&t->dec[i], buf + off, (size_t)r - off, &used, &f);
			off += used;
			if (rc < 0 || (rc == 1 && tp_frame(s, t, &f) != 0))
				return -1;
		}
		if ((size_t)r < sizeof buf)
			return 0;
	}
}

/* Writes until the socket is full or nothing is left. */
static int tp_write(struct tp_run *t, int c)
{
	while (t->left[c]) {
		ssize_t w = send(t->out[c], t->next[c], t->left[c], MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		t->next[c] += w;
		t->left[c] -= (size_t)w;
	}
	return 0;
}

/* One poll over the senders with bytes left, the listening socket and the node's
 * connections. -1 on an error or 10 s without progress. */
static int tp_step(struct setup *s, struct tp_run *t)
{
	struct pollfd p[1 + TP_CONNS + TP_MAX_IN];
	int n = 0;
	p[n++] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
	for (int c = 0; c < TP_CONNS; c++)
		p[n++] = (struct pollfd){ t->left[c] ? t->out[c] : -1, POLLOUT, 0 };
	for (int i = 0; i < t->n_in; i++)
		p[n++] = (struct pollfd){ t->in[i], POLLIN, 0 };
	if (poll(p, (nfds_t)n, 10000) <= 0)
		return -1;
	int rc = p[0].revents ? tp_accept(s, t) : 0;
	for (int c = 0; c < TP_CONNS && rc == 0; c++)
		if (p[1 + c].revents)
			rc = tp_write(t, c);
	for (int i = 0; i < t->n_in && rc == 0 && 1 + TP_CONNS + i < n; i++)
		if (p[1 + TP_CONNS + i].revents)
			rc = tp_read(s, t, i);
	return rc;
}

static int tp_round(struct setup *s, struct tp_run *t, int r)
{
	long per_conn = TP_PER_ROUND / TP_CONNS, want = t->got + TP_PER_ROUND;
	for (int c = 0; c < TP_CONNS; c++) {
		t->next[c] = s->frames[(long)r * TP_PER_ROUND + c * per_conn];
		t->left[c] = (size_t)per_conn * sizeof s->frames[0];
	}
	while (t->got < want)
		if (tp_set_lowat(t, want - t->got) != 0 || tp_step(s, t) != 0)
			return -1;
	return 0;
}

static void tp_close(struct tp_run *t)
{
	for (int c = 0; c < TP_CONNS; c++)
		if (t->out[c] >= 0)
			close(t->out[c]);
	for (int i = 0; i < t->n_in; i++) {
		close(t->in[i]);
		nym_frame_decoder_free(&t->dec[i]);
	}
}

struct tp_totals {
	double wall, cpu, own, runs, own_runs;   /* seconds; runs on a CPU */
};

/* A fresh node with `workers` workers (so a fresh replay set), TP_ROUNDS rounds; adds the
 * wall time from the first write to the last packet back, the node's CPU time and runs on a
 * CPU, and this program's. */
static int tp_measure(struct setup *s, unsigned workers, struct tp_totals *tot)
{
	struct tp_run t = { .n_in = 0, .lowat = 1 };
	int rc = 0;
	pid_t node = spawn_node(s, workers);
	for (int c = 0; c < TP_CONNS; c++) {
		t.out[c] = node > 0 ? connect_port(s->port1) : -1;
		if (t.out[c] < 0 || fcntl(t.out[c], F_SETFL, O_NONBLOCK) != 0)
			rc = -1;
	}
	usleep(50000); /* the node hands the connections to its workers */
	double c0 = proc_cpu(node), w0 = mono_now(), o0 = self_cpu(), n0 = proc_runs(node);
	double m0 = proc_runs(getpid());
	for (int r = 0; r < TP_ROUNDS && rc == 0; r++)
		rc = tp_round(s, &t, r);
	tot->wall += mono_now() - w0;
	tot->own += self_cpu() - o0;
	tot->own_runs += proc_runs(getpid()) - m0;
	usleep(2000);
	tot->cpu += proc_cpu(node) - c0;
	tot->runs += proc_runs(node) - n0;
	stop_node(&node);
	tp_close(&t);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Each pair (a 1-worker run, then a 2-worker run) gives a ratio of their wall times; the
 * median of the pairs is the figure, so that a pair that something else on the machine
 * slowed does not move it (the totals are printed too). */
static int run_workers(struct setup *s)
{
	struct tp_totals tot[2] = { { 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0 } };
	double pair[TP_RUNS];
	stop_node(&s->node); /* the per-core node of the first part */
	for (int run = 0; run < TP_RUNS; run++) {
		double wall0[2] = { tot[0].wall, tot[1].wall };
		for (unsigned w = 1; w <= 2; w++)
			if (tp_measure(s, w, &tot[w - 1]) != 0) {
				fprintf(stderr, "bench_mixnode: %u workers: a packet was lost or forwarded wrong\n", w);
				return -1;
			}
		pair[run] = (tot[0].wall - wall0[0]) / (tot[1].wall - wall0[1]);
	}
	double n = (double)TP_RUNS * TP_ROUNDS * TP_PER_ROUND, load[1] = { -1 };
	if (getloadavg(load, 1) != 1)
		load[0] = -1;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	printf("\nnym-mixnode --workers 1 vs 2: %d sender connections, delays off, %d alternating runs x %d packets each\n"
	       "rate = packets per wall-clock second (first write to last packet back), this program on the same cores\n",
	       TP_CONNS, TP_RUNS, TP_ROUNDS * TP_PER_ROUND);
	for (int w = 0; w < 2; w++)
		printf("mixnode %d worker%s         : %6.0f pkt/s   (node CPU %.1f us/pkt, %.2f cores busy on average, "
		       "%.0f runs on a CPU per 1000 pkt; this program %.1f us/pkt, %.0f runs per 1000 pkt)\n",
		       w + 1, w ? "s" : " ", n / tot[w].wall, tot[w].cpu * 1e6 / n, tot[w].cpu / tot[w].wall,
		       tot[w].runs * 1000 / n, tot[w].own * 1e6 / n, tot[w].own_runs * 1000 / n);
	printf("pairs (1-worker wall / 2-worker wall, in run order):");
	for (int run = 0; run < TP_RUNS; run++)
		printf(" %.2f", pair[run]);
	qsort(pair, TP_RUNS, sizeof pair[0], cmp_double);
	printf("; all runs together %.2f\n", tot[0].wall / tot[1].wall);
	printf("ratio 2 workers / 1 worker: %.2f   (median of %d pairs; target >= 1.7 with 2 cores)   online cores: %ld   load average: %.2f\n",
	       pair[TP_RUNS / 2], TP_RUNS, cores, load[0]);
	return 0;
}

int main(void)
{
	struct setup s = { .node = -1, .listen_fd = -1, .in_fd = -1, .out_fd = -1 };
	if (ns_crypto_init() != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	init_buffers();
	int rc = start_network(&s);
	if (rc == 0)
		rc = build_frames(&s);
	if (rc == 0) {
		calibrate();
		rc = run(&s);
		if (rc == 0)
			rc = run_workers(&s);
	} else {
		fprintf(stderr, "bench_mixnode: setup failed\n");
	}
	stop(&s);
	return rc == 0 ? 0 : 1;
}
