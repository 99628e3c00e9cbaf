/* The same computations through the wasm C API (wasm/c/nsw_api.h), built twice: natively and
 * with emcc. tests/integration/wasm_build.sh runs both and requires identical output, so the
 * wasm builds of libsodium, libgcrypt, BLAKE3 and our Sphinx code agree with the native ones.
 * Inputs are fixed; the Sphinx packet takes its randomness from given secrets. One line per
 * value: "name hex". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsw_api.h"

static void print_hex(const char *name, const uint8_t *p, size_t n)
{
	printf("%s ", name);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

/* Deterministic filler: BLAKE3 of a label, stretched by counter. */
static void fill(uint8_t *out, size_t n, const char *label)
{
	uint8_t block[32], in[64];
	for (size_t off = 0, ctr = 0; off < n; off += 32, ctr++) {
		int len = snprintf((char *)in, sizeof in, "%s/%zu", label, ctr);
		nsw_blake3(block, in, (size_t)len);
		memcpy(out + off, block, n - off < 32 ? n - off : 32);
	}
}

static void probe_primitives(void)
{
	uint8_t a[32], b[32], pa[32], pb[32], s1[32], s2[32], h[32];
	fill(a, 32, "x25519/a");
	fill(b, 32, "x25519/b");
	nsw_x25519_base(pa, a);
	nsw_x25519_base(pb, b);
	nsw_x25519(s1, a, pb);
	nsw_x25519(s2, b, pa);
	print_hex("x25519_pub_a", pa, 32);
	print_hex("x25519_shared_ab", s1, 32);
	printf("x25519_agree %d\n", memcmp(s1, s2, 32) == 0);

	static const size_t sizes[] = { 0, 1, 64, 1025, 1u << 20 };
	uint8_t *big = malloc(1u << 20);
	if (!big)
		exit(1);
	fill(big, 1u << 20, "blake3/in");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "blake3_%zu", sizes[i]);
		nsw_blake3(h, big, sizes[i]);
		print_hex(name, h, 32);
		snprintf(name, sizeof name, "sha256_%zu", sizes[i]);
		nsw_sha256(h, big, sizes[i]);
		print_hex(name, h, 32);
	}

	uint8_t key[32], nonce[12], aad[20], *ct = malloc(1000 + 16), *pt = malloc(1000);
	if (!ct || !pt)
		exit(1);
	fill(key, 32, "gcmsiv/key");
	fill(nonce, 12, "gcmsiv/nonce");
	fill(aad, 20, "gcmsiv/aad");
	int n = nsw_gcmsiv_seal(ct, big, 1000, aad, sizeof aad, key, nonce);
	printf("gcmsiv_seal_len %d\n", n);
	print_hex("gcmsiv_ct", ct, 1016);
	n = nsw_gcmsiv_open(pt, ct, 1016, aad, sizeof aad, key, nonce);
	printf("gcmsiv_open %d %d\n", n, memcmp(pt, big, 1000) == 0);
	ct[500] ^= 1;
	printf("gcmsiv_open_tampered %d\n", nsw_gcmsiv_open(pt, ct, 1016, aad, sizeof aad, key, nonce));
	free(ct);
	free(pt);
	free(big);
}

#define HOPS 4
#define PAYLOAD 2048

static void probe_sphinx(void)
{
	uint8_t sk[HOPS][32], addrs[HOPS * 32] = { 0 }, pubs[HOPS * 32], delays[(HOPS - 1) * 8];
	uint8_t dest[32], id[16], secret[32], msg[100], info[NSW_PROCESSED_LEN], h[32];
	uint8_t *pkt = malloc(348 + PAYLOAD), *next = malloc(348 + PAYLOAD);
	if (!pkt || !next)
		exit(1);
	for (int i = 0; i < HOPS; i++) {
		char label[32];
		snprintf(label, sizeof label, "node/%d", i);
		fill(sk[i], 32, label);
		nsw_x25519_base(pubs + 32 * i, sk[i]);
		addrs[32 * i] = 4; /* an IPv4 NymNodeRoutingAddress: 127.0.0.i:1789 */
		addrs[32 * i + 1] = 1789 >> 8, addrs[32 * i + 2] = 1789 & 0xff;
		addrs[32 * i + 3] = 127, addrs[32 * i + 6] = (uint8_t)(i + 1);
	}
	fill(delays, sizeof delays, "delays");
	for (size_t i = 0; i < sizeof delays; i += 8)
		memset(delays + i + 4, 0, 4); /* keep them plausible */
	fill(dest, 32, "dest");
	fill(id, 16, "id");
	fill(secret, 32, "initial");
	fill(msg, sizeof msg, "msg");
	for (unsigned version = 258; version <= 259; version++) {
		char name[32];
		int n = nsw_sphinx_build(addrs, pubs, HOPS, delays, dest, id, version, secret, NULL,
		                         msg, sizeof msg, PAYLOAD, pkt);
		/* the final padding was random (NULL): the payload and alpha are still fixed */
		snprintf(name, sizeof name, "sphinx%u_len", version);
		printf("%s %d\n", name, n);
		snprintf(name, sizeof name, "sphinx%u_alpha", version);
		print_hex(name, pkt, 32);
		snprintf(name, sizeof name, "sphinx%u_payload", version);
		nsw_blake3(h, pkt + 348, PAYLOAD);
		print_hex(name, h, 32);
		for (int i = 0; i < HOPS; i++) {
			int rc = nsw_sphinx_process(sk[i], pkt, 348 + PAYLOAD, next, info);
			snprintf(name, sizeof name, "sphinx%u_hop%d", version, i);
			printf("%s %d flag=%u ", name, rc, info[0]);
			print_hex("info", info + 3, NSW_PROCESSED_LEN - 3 - 32); /* the replay tag aside */
			memcpy(pkt, next, 348 + PAYLOAD);
		}
		uint32_t loc[2] = { 0, 0 };
		int rc = nsw_sphinx_recover(pkt + 348, PAYLOAD, loc);
		printf("sphinx%u_recovered %d %d\n", version, rc,
		       rc == 0 && loc[1] == sizeof msg && memcmp(pkt + 348 + loc[0], msg, sizeof msg) == 0);
	}
	free(pkt);
	free(next);
}

static void probe_ipc(void)
{
	/* ACK from keyd to apid: [31, bin(5)] */
	uint8_t ack[] = { 0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5 }, out[64];
	size_t n = 0;
	int rc = nsw_ipc_recode(3, 1, ack, sizeof ack, out, sizeof out, &n);
	printf("ipc_ack %d\n", rc);
	printf("ipc_ack_same %d\n", n == sizeof ack && memcmp(out, ack, n) == 0);
	printf("ipc_ack_from_netd %d\n", nsw_ipc_recode(3, 2, ack, sizeof ack, out, sizeof out, &n));
	uint8_t long_form[] = { 0x92, 0xcc, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	printf("ipc_ack_long_form %d\n",
	       nsw_ipc_recode(3, 1, long_form, sizeof long_form, out, sizeof out, &n));
}

int main(void)
{
	if (nsw_init() != 0) {
		fprintf(stderr, "probe: crypto init failed\n");
		return 1;
	}
	probe_primitives();
	probe_sphinx();
	probe_ipc();
	return 0;
}
