/* Sphinx packet creation and per-hop processing, each next to a bound: the time the
 * primitive operations the algorithm cannot avoid take on their own, measured on the
 * same buffer sizes in the same run. Prints numbers only; exits non-zero only on a
 * functional error (a packet that does not build, process or decrypt). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "ephemeral.h"
#include "nymsphinx/ack.h"
#include "sphinx/sphinx.h"

#define HOPS       4                          /* 3 mixes + gateway, as nym routes */
#define VERSION    SPHINX_V_PAYLOAD_KEY_SEEDS /* 259 */
#define PAYLOAD    2065                       /* regular packet payload */
#define MSG_LEN    (PAYLOAD - SPHINX_PAYLOAD_OVERHEAD)
#define PACKET_LEN (SPHINX_HEADER_LEN + PAYLOAD)
#define LIONESS_R  (PAYLOAD - 32) /* the half Lioness streams and hashes */
#define PRG_LEN    360
/* What a client receives per regular packet: the gateway strips the SURB-ack (405 B) from the
 * 2048 B plaintext and pushes the rest, 32 B ephemeral key + 1611 B e2e ciphertext, sealed
 * under the gateway link key. */
#define RX_MSG     (2048 - 405)
#define RX_E2E_CT  (RX_MSG - 32)
_Static_assert(RX_MSG == 1643 && RX_E2E_CT == 1611, "the item names below");
#define FINAL_PRG  (SPHINX_BETA_LEN - SPHINX_ROUTING_STEP * (HOPS - 1)) /* 120 */

#define ROUNDS        25    /* each round runs every item CHUNKS times, interleaved */
#define CHUNKS        12
#define CHUNK_SECONDS 0.001 /* so ~0.3 s per item in all */

static const char EXPAND_INFO[] =
	"Dwste mou enan moxlo arketa makru kai ena upomoxlio gia na ton topothetisw kai tha kinisw thn gh.";
static const char PK_SALT[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-SALT";
static const char PK_INFO[] = "sphinx-payload-key-V01-CS01-HKDF:SHA256-INFO";

/* Working buffers shared by the timed functions. */
static struct {
	uint8_t scalar[32], point[32], out32[32], scalar_acc[32], eph_secret[32];
	uint8_t expanded[SPHINX_EXPANDED_LEN], payload_key[SPHINX_PAYLOAD_KEY_LEN];
	uint8_t mac_key[16], beta[SPHINX_BETA_LEN], keystream[PRG_LEN];
	uint8_t stream_key[32], hash_key[64], half[LIONESS_R];
	uint8_t node_secret[HOPS][32];
	struct sphinx_node route[HOPS];
	uint64_t delays[HOPS];
	struct sphinx_header_params params;
	uint8_t msg[MSG_LEN];
	uint8_t packet[HOPS + 1][PACKET_LEN]; /* packet[i] is what hop i receives */
	uint8_t scratch[PACKET_LEN];
	struct sphinx_processed res;
	uint8_t e2e_key[16], link_key[32], iv[16], nonce[12];
	uint8_t rx[RX_MSG], rx_out[RX_MSG], sealed[RX_MSG + 16];
	int failed;
} g;

static double cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- timed operations ---- */
static void op_x25519(void) { ns_x25519(g.out32, g.scalar, g.point); }
static void op_x25519_base(void) { ns_x25519_base(g.out32, g.scalar); }
/* alpha_0 and the e2e key as a packet build gets them (refills of the pool included) */
static void op_x25519_ephemeral(void) { ns_x25519_ephemeral(g.eph_secret, g.out32); }

/* One hop's scalar arithmetic in the accumulated construction: reduce the clamped blinding
 * factor, multiply it into the accumulator, negate (for the representative). */
static void op_scalar_step(void)
{
	uint8_t wide[64] = {0};
	memcpy(wide, g.out32, 32);
	crypto_core_ed25519_scalar_reduce(g.out32, wide);
	crypto_core_ed25519_scalar_mul(g.scalar_acc, g.scalar_acc, g.out32);
	crypto_core_ed25519_scalar_negate(g.out32, g.scalar_acc);
}

static void op_hkdf_expand(void)
{
	if (ns_hkdf_sha256(g.expanded, SPHINX_EXPANDED_LEN, NULL, 0, g.out32, 32,
	                   (const uint8_t *)EXPAND_INFO, sizeof EXPAND_INFO - 1) != 0)
		g.failed = 1;
}

static void op_hkdf_payload_key(void)
{
	if (ns_hkdf_sha256(g.payload_key, SPHINX_PAYLOAD_KEY_LEN, (const uint8_t *)PK_SALT,
	                   sizeof PK_SALT - 1, g.expanded + 32, SPHINX_PAYLOAD_SEED_LEN,
	                   (const uint8_t *)PK_INFO, sizeof PK_INFO - 1) != 0)
		g.failed = 1;
}

static void op_hmac(void) { ns_hmac_sha256(g.out32, g.mac_key, 16, g.beta, SPHINX_BETA_LEN); }

static void op_keystream(void)
{
	if (ns_aes128_ctr_keystream(g.keystream, PRG_LEN, g.mac_key) != 0)
		g.failed = 1;
}

static void op_keystream_final(void)
{
	if (ns_aes128_ctr_keystream(g.keystream, FINAL_PRG, g.mac_key) != 0)
		g.failed = 1;
}

static void op_chacha(void) { ns_chacha20_xor(g.half, g.half, LIONESS_R, g.stream_key); }

static void op_blake2b(void)
{
	if (ns_blake2b(g.out32, 32, g.half, LIONESS_R, g.hash_key, 64) != 0)
		g.failed = 1;
}

/* ---- client receive: the gateway link and the e2e payload (the X25519 is P_X25519) ---- */
static void op_e2e_hkdf(void)
{
	if (ns_hkdf_blake3(g.e2e_key, 16, NULL, 0, g.out32, 32, NULL, 0) != 0)
		g.failed = 1;
}

static void op_e2e_ctr(void)
{
	if (ns_aes128_ctr64be(g.rx_out, g.rx, RX_E2E_CT, g.e2e_key, g.iv) != 0)
		g.failed = 1;
}

static void op_link_ctr(void)
{
	if (ns_aes128_ctr64be(g.rx_out, g.rx, RX_MSG, g.link_key, g.iv) != 0)
		g.failed = 1;
}

static void op_link_hmac(void) { ns_hmac_blake3(g.out32, g.link_key + 16, 16, g.rx, RX_MSG); }

static void op_link_gcmsiv(void)
{
	if (ns_gcmsiv_open(g.rx_out, g.sealed, sizeof g.sealed, NULL, 0, g.link_key, g.nonce) != 0)
		g.failed = 1;
}

static void op_create(void)
{
	if (sphinx_build_packet(&g.params, g.msg, MSG_LEN, PAYLOAD, g.scratch) != SPHINX_OK)
		g.failed = 1;
}

/* a SURB-ack: the same header, Nym's 38-byte ack payload */
static void op_create_ack(void)
{
	if (sphinx_build_packet(&g.params, g.msg, NYM_ACK_PACKET_PAYLOAD - SPHINX_PAYLOAD_OVERHEAD,
	                        NYM_ACK_PACKET_PAYLOAD, g.scratch) != SPHINX_OK)
		g.failed = 1;
}

static void op_create_chain(void)
{
	if (sphinx_build_packet_using(SPHINX_SECRETS_CHAIN, &g.params, g.msg, MSG_LEN, PAYLOAD,
	                              g.scratch) != SPHINX_OK)
		g.failed = 1;
}

static void op_process_forward(void)
{
	if (sphinx_process(g.node_secret[0], g.packet[0], PACKET_LEN, g.scratch, &g.res) != SPHINX_OK)
		g.failed = 1;
}

static void op_process_final(void)
{
	if (sphinx_process(g.node_secret[HOPS - 1], g.packet[HOPS - 1], PACKET_LEN, g.scratch, &g.res) !=
	    SPHINX_OK)
		g.failed = 1;
}

/* ---- measurement ---- */
struct bench_item {
	const char *name;
	void (*op)(void);
	long iters;        /* per chunk, calibrated to CHUNK_SECONDS */
	double ns[ROUNDS]; /* ns per call in each round */
	double mean_ns;    /* over the whole run */
};

enum {
	P_X25519, P_X25519_BASE, P_X25519_EPH, P_SCALAR, P_HKDF288, P_HKDF192, P_HMAC300, P_KS360, P_KS120, P_CHACHA, P_BLAKE2B,
	R_E2E_HKDF, R_E2E_CTR, R_LINK_CTR, R_LINK_HMAC, R_LINK_GCMSIV,
	S_CREATE_CHAIN, S_CREATE, S_CREATE_ACK, S_PROCESS, S_FINAL, N_ITEMS
};

static struct bench_item items[N_ITEMS] = {
	[P_X25519] = {"X25519 scalar mult (variable point)", op_x25519},
	[P_X25519_BASE] = {"X25519 base-point mult", op_x25519_base},
	[P_X25519_EPH] = {"X25519 ephemeral key pair", op_x25519_ephemeral},
	[P_SCALAR] = {"scalar mod l: reduce + mul + negate", op_scalar_step},
	[P_HKDF288] = {"HKDF-SHA256 -> 288 B (97 B info)", op_hkdf_expand},
	[P_HKDF192] = {"HKDF-SHA256 -> 192 B (payload key)", op_hkdf_payload_key},
	[P_HMAC300] = {"HMAC-SHA256 over 300 B", op_hmac},
	[P_KS360] = {"AES-128-CTR keystream 360 B", op_keystream},
	[P_KS120] = {"AES-128-CTR keystream 120 B", op_keystream_final},
	[P_CHACHA] = {"ChaCha20 over 2033 B", op_chacha},
	[P_BLAKE2B] = {"BLAKE2b-256 keyed over 2033 B", op_blake2b},
	[R_E2E_HKDF] = {"HKDF-BLAKE3 -> 16 B (e2e payload key)", op_e2e_hkdf},
	[R_E2E_CTR] = {"AES-128-CTR over 1611 B (e2e payload)", op_e2e_ctr},
	[R_LINK_CTR] = {"AES-128-CTR over 1643 B (legacy link)", op_link_ctr},
	[R_LINK_HMAC] = {"HMAC-BLAKE3 over 1643 B (legacy link)", op_link_hmac},
	[R_LINK_GCMSIV] = {"AES-256-GCM-SIV open 1643 B (link)", op_link_gcmsiv},
	[S_CREATE_CHAIN] = {"sphinx create (chain)", op_create_chain},
	[S_CREATE] = {"sphinx create", op_create},
	[S_CREATE_ACK] = {"sphinx create (SURB-ack)", op_create_ack},
	[S_PROCESS] = {"sphinx process", op_process_forward},
	[S_FINAL] = {"sphinx process (final hop)", op_process_final},
};

static double run_batch(void (*op)(void), long n)
{
	double t0 = cpu_seconds();
	for (long i = 0; i < n; i++)
		op();
	return cpu_seconds() - t0;
}

static void calibrate(struct bench_item *it)
{
	long n = 1;
	double t;

	run_batch(it->op, 1); /* warm caches and lazy initialisation */
	while ((t = run_batch(it->op, n)) < 0.005)
		n *= 2;
	it->iters = (long)((double)n * CHUNK_SECONDS / t) + 1;
}

/* This VM's speed changes on a scale of ~10 ms (bursts up to 20% faster), so the items
 * are interleaved in chunks of ~1 ms: the bounds' primitives and the sphinx operations
 * see the same mix of machine states. CPU time of this thread leaves out the time it
 * is descheduled. */
static void measure_all(void)
{
	double total_s[N_ITEMS] = {0};
	long total_n[N_ITEMS] = {0};

	for (int i = 0; i < N_ITEMS; i++)
		calibrate(&items[i]);
	for (int r = 0; r < ROUNDS; r++) {
		double round_s[N_ITEMS] = {0};
		for (int c = 0; c < CHUNKS; c++)
			for (int i = 0; i < N_ITEMS; i++)
				round_s[i] += run_batch(items[i].op, items[i].iters);
		for (int i = 0; i < N_ITEMS; i++) {
			items[i].ns[r] = round_s[i] * 1e9 / (double)(items[i].iters * CHUNKS);
			total_s[i] += round_s[i];
			total_n[i] += items[i].iters * CHUNKS;
		}
	}
	for (int i = 0; i < N_ITEMS; i++)
		items[i].mean_ns = total_s[i] * 1e9 / (double)total_n[i];
}

/* ---- setup and functional check ---- */
static void setup(void)
{
	for (int i = 0; i < HOPS; i++) {
		ns_random(g.node_secret[i], 32);
		ns_x25519_base(g.route[i].pubkey, g.node_secret[i]);
		/* NymNodeRoutingAddress 10.0.0.(i+1):1789 = 04 06fd 0a0000xx, zero padded */
		memset(g.route[i].address, 0, SPHINX_NODE_ADDR_LEN);
		memcpy(g.route[i].address, "\x04\x06\xfd\x0a\x00\x00", 6);
		g.route[i].address[6] = (uint8_t)(i + 1);
		g.delays[i] = 15000000u;
	}
	g.params.route = g.route;
	g.params.n_hops = HOPS;
	g.params.delays_ns = g.delays;
	ns_random(g.params.destination, SPHINX_DEST_LEN);
	g.params.version = VERSION;
	ns_random(g.msg, sizeof g.msg);

	ns_random(g.scalar, sizeof g.scalar);
	ns_random(g.scalar_acc, sizeof g.scalar_acc);
	g.scalar_acc[31] &= 0x0f;
	memcpy(g.point, g.route[0].pubkey, 32);
	ns_random(g.mac_key, sizeof g.mac_key);
	ns_random(g.beta, sizeof g.beta);
	ns_random(g.stream_key, sizeof g.stream_key);
	ns_random(g.hash_key, sizeof g.hash_key);
	ns_random(g.half, sizeof g.half);
	ns_random(g.out32, sizeof g.out32);
	ns_random(g.link_key, sizeof g.link_key);
	ns_random(g.iv, sizeof g.iv);
	ns_random(g.nonce, sizeof g.nonce);
	ns_random(g.rx, sizeof g.rx);
	if (ns_gcmsiv_seal(g.sealed, g.rx, RX_MSG, NULL, 0, g.link_key, g.nonce) != 0)
		g.failed = 1;
}

/* Builds one packet and walks it through every hop; fills g.packet[0..HOPS]. */
static int check_route(void)
{
	uint8_t x[32], pad[SPHINX_BETA_LEN];
	size_t off, len;

	ns_random(x, sizeof x);
	ns_random(pad, sizeof pad);
	g.params.initial_secret = x;
	g.params.final_padding = pad;
	if (sphinx_build_packet_using(SPHINX_SECRETS_CHAIN, &g.params, g.msg, MSG_LEN, PAYLOAD,
	                              g.scratch) != SPHINX_OK ||
	    sphinx_build_packet(&g.params, g.msg, MSG_LEN, PAYLOAD, g.packet[0]) != SPHINX_OK ||
	    memcmp(g.scratch, g.packet[0], PACKET_LEN) != 0) {
		fprintf(stderr, "bench_sphinx: the two constructions differ\n");
		return -1;
	}
	g.params.initial_secret = NULL;
	g.params.final_padding = NULL;

	if (sphinx_build_packet(&g.params, g.msg, MSG_LEN, PAYLOAD, g.packet[0]) != SPHINX_OK) {
		fprintf(stderr, "bench_sphinx: sphinx_build_packet failed\n");
		return -1;
	}
	for (int i = 0; i < HOPS; i++) {
		int want = i + 1 < HOPS ? SPHINX_FLAG_FORWARD : SPHINX_FLAG_FINAL;
		int rc = sphinx_process(g.node_secret[i], g.packet[i], PACKET_LEN, g.packet[i + 1], &g.res);
		if (rc != SPHINX_OK || g.res.flag != want || g.res.version != VERSION ||
		    (want == SPHINX_FLAG_FORWARD &&
		     memcmp(g.res.next_address, g.route[i + 1].address, SPHINX_NODE_ADDR_LEN) != 0)) {
			fprintf(stderr, "bench_sphinx: hop %d failed (rc %d, flag %d)\n", i, rc, g.res.flag);
			return -1;
		}
	}
	if (memcmp(g.res.destination, g.params.destination, SPHINX_DEST_LEN) != 0 ||
	    sphinx_recover_plaintext(g.packet[HOPS] + SPHINX_HEADER_LEN, PAYLOAD, &off, &len) != SPHINX_OK ||
	    len != MSG_LEN || memcmp(g.packet[HOPS] + SPHINX_HEADER_LEN + off, g.msg, MSG_LEN) != 0) {
		fprintf(stderr, "bench_sphinx: the final hop did not recover the message\n");
		return -1;
	}
	return 0;
}

/* ---- bounds ---- */
static double lioness_ns(const double *ns) { return 2 * ns[P_CHACHA] + 2 * ns[P_BLAKE2B]; }

/* Per hop: DH with alpha, (forward hops) blinding of alpha, expand, header MAC, the
 * 360-byte routing keystream, one Lioness layer, the 259 payload-key HKDF. */
static double process_bound_ns(const double *ns, int forward)
{
	return (forward ? 2 : 1) * ns[P_X25519] + ns[P_HKDF288] + ns[P_HMAC300] + ns[P_KS360] +
	       lioness_ns(ns) + ns[P_HKDF192];
}

/* Creation, n hops: alpha_0 (base mult) + the shared secrets + n expands; keystreams of
 * 360 B for the n-1 forward hops (beta and filler) and 300-60(n-1) B for the last; n MACs,
 * n Lioness layers, n payload-key HKDFs. The secrets: the chain applies x, b_0, ..., b_{i-1}
 * to pk_i (sum_{i<n}(i+1) mults, sphinx.md 1.5); the accumulated construction does one mult
 * per hop plus one scalar step (the on-curve check of a node key is cached: none per packet). */
static int chain_mults(void) { return HOPS * (HOPS + 1) / 2; }

static double create_common_ns(const double *ns)
{
	return ns[P_X25519_EPH] +
	       HOPS * (ns[P_HKDF288] + ns[P_HMAC300] + lioness_ns(ns) + ns[P_HKDF192]) +
	       (HOPS - 1) * ns[P_KS360] + ns[P_KS120];
}

enum { B_CREATE_CHAIN, B_CREATE, B_CREATE_ACK, B_PROCESS, B_FINAL };

static double bound_ns(int which, const double *ns)
{
	if (which == B_CREATE_CHAIN)
		return create_common_ns(ns) + chain_mults() * ns[P_X25519];
	if (which == B_CREATE)
		return create_common_ns(ns) + HOPS * (ns[P_X25519] + ns[P_SCALAR]);
	if (which == B_CREATE_ACK) /* its Lioness layers run over 6 bytes: not counted */
		return bound_ns(B_CREATE, ns) - HOPS * lioness_ns(ns);
	return process_bound_ns(ns, which == B_PROCESS);
}

/* ---- report ---- */
/* Whole-run means; the spread is that of the per-round ratios. */
static void print_line(const char *label, int item, int which)
{
	double ns[N_ITEMS], lo = 1e30, hi = 0, b, m;

	for (int r = 0; r < ROUNDS; r++) {
		double ratio;
		for (int i = 0; i < N_ITEMS; i++)
			ns[i] = items[i].ns[r];
		ratio = bound_ns(which, ns) / items[item].ns[r];
		lo = ratio < lo ? ratio : lo;
		hi = ratio > hi ? ratio : hi;
	}
	for (int i = 0; i < N_ITEMS; i++)
		ns[i] = items[i].mean_ns;
	b = bound_ns(which, ns);
	m = items[item].mean_ns;
	printf("%-26s: %6.0f pkt/s   bound %6.0f pkt/s   ratio %.2f   (%.1f vs %.1f us/pkt; rounds %.2f-%.2f)\n",
	       label, 1e9 / m, 1e9 / b, b / m, m / 1e3, b / 1e3, lo, hi);
}

/* What a client must do per regular packet it receives (the gateway did the Sphinx final
 * hop): open the gateway link frame, then the e2e payload (X25519 with the packet's ephemeral
 * key, the HKDF, AES-CTR). Which link cipher depends on the registration (legacy keys:
 * AES-128-CTR + HMAC-BLAKE3; current: AES-256-GCM-SIV). */
static void report_receive(const double *ns)
{
	double e2e = ns[P_X25519] + ns[R_E2E_HKDF] + ns[R_E2E_CTR];
	double legacy = ns[R_LINK_CTR] + ns[R_LINK_HMAC];
	printf("\nclient receive, per regular packet (%d B pushed by the gateway)\n", RX_MSG);
	printf("client receive e2e open     : %6.2f us/pkt (1 X25519 + HKDF-BLAKE3 16 B + AES-128-CTR %d B)\n",
	       e2e / 1e3, RX_E2E_CT);
	printf("client receive link legacy  : %6.2f us/pkt (AES-128-CTR + HMAC-BLAKE3 over %d B)\n",
	       legacy / 1e3, RX_MSG);
	printf("client receive link gcm-siv : %6.2f us/pkt (AES-256-GCM-SIV open of %d B)\n",
	       ns[R_LINK_GCMSIV] / 1e3, RX_MSG);
}

static void report(void)
{
	double ns[N_ITEMS];

	for (int i = 0; i < N_ITEMS; i++)
		ns[i] = items[i].mean_ns;
	printf("primitives (%d rounds x %d interleaved chunks of ~%.0f ms; CPU time, one thread):\n",
	       ROUNDS, CHUNKS, CHUNK_SECONDS * 1e3);
	for (int i = P_X25519; i <= R_LINK_GCMSIV; i++)
		printf("  %-38s %9.2f us  %10.0f /s\n", items[i].name, ns[i] / 1e3, 1e9 / ns[i]);
	printf("  %-38s %9.2f us  (2 ChaCha20 + 2 BLAKE2b over P-32 = %d B)\n", "= Lioness layer",
	       lioness_ns(ns) / 1e3, LIONESS_R);
	printf("\nsphinx, %d hops (3 mixes + gateway), version %d, payload %d B, packet %d B\n"
	       "ratio = measured rate / bound rate (1.00 = nothing beyond the primitives)\n",
	       HOPS, VERSION, PAYLOAD, PACKET_LEN);
	print_line("sphinx create (chain)", S_CREATE_CHAIN, B_CREATE_CHAIN);
	print_line("sphinx create", S_CREATE, B_CREATE);
	print_line("sphinx create (SURB-ack)", S_CREATE_ACK, B_CREATE_ACK);
	print_line("sphinx process", S_PROCESS, B_PROCESS);
	print_line("sphinx process (final hop)", S_FINAL, B_FINAL);
	double load = -1;
	if (getloadavg(&load, 1) != 1)
		load = -1;
	printf("create speed-up over the chain: %.2f x measured, %.2f x bound   online cores: %ld   load average: %.2f\n",
	       items[S_CREATE_CHAIN].mean_ns / items[S_CREATE].mean_ns,
	       bound_ns(B_CREATE_CHAIN, ns) / bound_ns(B_CREATE, ns), sysconf(_SC_NPROCESSORS_ONLN), load);
	printf("bounds: create  = 1 ephemeral key pair + %d X25519 mults + %d scalar steps (%d X25519 in all) + %d x\n"
	       "                  (HKDF 288 + HMAC 300 + Lioness + HKDF 192) + %d x keystream 360 +\n"
	       "                  1 x keystream %d\n"
	       "        create (chain) = the same with %d X25519 mults (%d in all) and no scalar step\n"
	       "        create (SURB-ack) = create with a %d B payload, less its %d Lioness layers\n",
	       HOPS, HOPS, HOPS + 1, HOPS, HOPS - 1, FINAL_PRG, chain_mults(), chain_mults() + 1,
	       NYM_ACK_PACKET_PAYLOAD, HOPS);
	printf("        process = 2 X25519 (shared secret, blinding) + HKDF 288 + HMAC 300 +\n"
	       "                  keystream 360 + Lioness + HKDF 192 (final hop: 1 X25519)\n");
	report_receive(ns);
}

int main(void)
{
	if (ns_crypto_init() != 0) {
		fprintf(stderr, "bench_sphinx: crypto init failed\n");
		return 1;
	}
	setup();
	if (check_route() != 0)
		return 1;
	measure_all();
	ns_memzero(&g.res, sizeof g.res);
	ns_memzero(g.node_secret, sizeof g.node_secret);
	if (g.failed) {
		fprintf(stderr, "bench_sphinx: an operation failed during timing\n");
		return 1;
	}
	report();
	return 0;
}
