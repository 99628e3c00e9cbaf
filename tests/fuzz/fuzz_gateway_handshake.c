/* libFuzzer: handshake message parsers and both state machines.
 * Byte 0 picks the mode:
 *   0: parse as H1/H2/H3/H4; whatever parses re-encodes to the same bytes;
 *   1: the gateway consumes the input as H1 (must not crash; output is a valid H2);
 *   2: a client consumes the input as H2;  3: a gateway consumes it as H3;
 *   4: XOR the input into a valid H2, 5: into a valid H3: any change must be refused,
 *      no change must succeed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t seed_c[32] = {1}, seed_g[32] = {2}, eph_c[32] = {3}, eph_g[32] = {4},
		     salt[16] = {5}, nonce_c[12] = {6}, nonce_g[12] = {7};
static uint8_t gw_pk[32];
static uint8_t h1[80], h2[124], h3[92];
static size_t h1_len, h2_len, h3_len;
static struct ns_gw_hs client_after_h1, gateway_after_h2;

static void setup(void)
{
	uint8_t sk[64], h4[1];
	size_t n;
	struct ns_gw_hs c, g;
	ns_crypto_init();
	ns_ed25519_from_seed(gw_pk, sk, seed_g);
	ns_gw_hs_client_begin(&c, seed_c, gw_pk, 1, 0);
	ns_gw_hs_gateway_begin(&g, seed_g);
	if (ns_gw_hs_client_h1_det(&c, eph_c, salt, h1, sizeof h1, &h1_len) != 0)
		abort();
	client_after_h1 = c;
	if (ns_gw_hs_gateway_h2_det(&g, h1, h1_len, eph_g, nonce_g, h2, sizeof h2, &h2_len) != 0)
		abort();
	gateway_after_h2 = g;
	if (ns_gw_hs_client_h3_det(&c, h2, h2_len, nonce_c, h3, sizeof h3, &h3_len) != 0 ||
	    ns_gw_hs_gateway_h4(&g, h3, h3_len, h4, sizeof h4, &n) != 0 ||
	    ns_gw_hs_client_finish(&c, h4, n) != 0)
		abort();
}

static void parse_all(const uint8_t *d, size_t n)
{
	struct ns_gw_h1 a;
	struct ns_gw_h2 b;
	struct ns_gw_material m;
	uint8_t out[NS_GW_HS_MAX_LEN];
	int ok;
	if (ns_gw_h1_parse(d, n, &a) == 0 && (ns_gw_h1_encode(&a, out) != n || memcmp(out, d, n)))
		abort();
	if (ns_gw_h2_parse(d, n, &b) == 0 && (ns_gw_h2_encode(&b, out) != n || memcmp(out, d, n)))
		abort();
	if (ns_gw_material_parse(d, n, &m) == 0 &&
	    (ns_gw_material_encode(&m, out) != n || memcmp(out, d, n)))
		abort();
	if (ns_gw_h4_parse(d, n, &ok) == 0 && (n != 1 || ok != (d[0] == 1)))
		abort();
}

static void mutate(const uint8_t *d, size_t n, const uint8_t *msg, size_t len, int is_h3)
{
	uint8_t m[NS_GW_HS_MAX_LEN], out[NS_GW_HS_MAX_LEN];
	struct ns_gw_hs s;
	size_t o;
	int changed = 0, rc;
	memcpy(m, msg, len);
	for (size_t i = 0; i < n && i < len; i++) {
		m[i] ^= d[i];
		changed |= d[i];
	}
	if (is_h3) {
		s = gateway_after_h2;
		rc = ns_gw_hs_gateway_h4(&s, m, len, out, sizeof out, &o);
	} else {
		s = client_after_h1;
		rc = ns_gw_hs_client_h3_det(&s, m, len, nonce_c, out, sizeof out, &o);
	}
	if ((rc == 0) == (changed != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct ns_gw_hs s;
	uint8_t out[NS_GW_HS_MAX_LEN];
	size_t n;
	if (!init) {
		setup();
		init = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		parse_all(data + 1, size - 1);
		break;
	case 1:
		ns_gw_hs_gateway_begin(&s, seed_g);
		if (ns_gw_hs_gateway_h2_det(&s, data + 1, size - 1, eph_g, nonce_g, out, sizeof out, &n) == 0 &&
		    n != (size - 1 == 80 ? 124u : 96u))
			abort();
		break;
	case 2:
		s = client_after_h1;
		(void)ns_gw_hs_client_h3_det(&s, data + 1, size - 1, nonce_c, out, sizeof out, &n);
		break;
	case 3:
		s = gateway_after_h2;
		(void)ns_gw_hs_gateway_h4(&s, data + 1, size - 1, out, sizeof out, &n);
		break;
	case 4:
		mutate(data + 1, size - 1, h2, h2_len, 0);
		break;
	case 5:
		mutate(data + 1, size - 1, h3, h3_len, 1);
		break;
	}
	return 0;
}
