/* sphinx_process on outside bytes. First input byte picks the mode:
 *  even: the rest is a packet for a fixed node key; on success the result must be coherent
 *        and processing in place must give the same bytes;
 *  odd:  the rest lists bit positions (u16 LE) to flip in a valid packet; a changed header
 *        must fail the MAC, an unchanged header must process exactly as the original. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sphinx/sphinx.h"

#define PAYLOAD   64
#define PKT_LEN   (SPHINX_HEADER_LEN + PAYLOAD)
#define MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t node_sk[32];
static uint8_t valid[2][PKT_LEN];                 /* versions 258 and 259 */
static struct sphinx_processed valid_res[2];
static uint8_t valid_out[2][PKT_LEN];

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void setup(void)
{
	static int done;
	struct sphinx_node route[3];
	uint64_t delays[3] = {1000, 2000, 3000};
	uint8_t sk[32], x[32], pad[300] = {0}, msg[20] = "fuzz the sphinx";
	struct sphinx_header_params p = {0};

	if (done)
		return;
	CHECK(ns_crypto_init() == 0);
	memset(node_sk, 0x42, sizeof node_sk);
	for (int i = 0; i < 3; i++) {
		memset(sk, 0x42 + i, sizeof sk);
		ns_x25519_base(route[i].pubkey, sk);
		memset(route[i].address, 0, 32);
		route[i].address[0] = 4;
		route[i].address[6] = (uint8_t)i;
	}
	memset(x, 0x07, sizeof x);
	p.route = route;
	p.n_hops = 3;
	p.delays_ns = delays;
	p.initial_secret = x;
	p.final_padding = pad;
	for (int v = 0; v < 2; v++) {
		p.version = v == 0 ? SPHINX_V_X25519_EXPLICIT_KEYS : SPHINX_V_PAYLOAD_KEY_SEEDS;
		CHECK(sphinx_build_packet(&p, msg, sizeof msg, PAYLOAD, valid[v]) == SPHINX_OK);
		CHECK(sphinx_process(node_sk, valid[v], PKT_LEN, valid_out[v], &valid_res[v]) == SPHINX_OK);
		CHECK(valid_res[v].flag == SPHINX_FLAG_FORWARD && valid_res[v].delay_ns == 1000);
	}
	done = 1;
}

static void arbitrary_packet(const uint8_t *data, size_t size)
{
	static uint8_t out[MAX_INPUT], in_place[MAX_INPUT];
	struct sphinx_processed res, res2;
	int rc, rc2;

	if (size > MAX_INPUT)
		return;
	rc = sphinx_process(node_sk, data, size, out, &res);
	CHECK(rc == SPHINX_OK || rc == SPHINX_ERR_ARG || rc == SPHINX_ERR_MAC ||
	      rc == SPHINX_ERR_FLAG || rc == SPHINX_ERR_VERSION);
	if (size <= SPHINX_HEADER_LEN + SPHINX_MIN_PAYLOAD)
		CHECK(rc == SPHINX_ERR_ARG);
	if (rc != SPHINX_OK)
		return;
	CHECK(res.flag == SPHINX_FLAG_FORWARD || res.flag == SPHINX_FLAG_FINAL);
	CHECK(res.version == 1 || res.version == 257 || res.version == 258 || res.version == 259);
	if (res.flag == SPHINX_FLAG_FINAL)
		CHECK(memcmp(out, data, SPHINX_HEADER_LEN) == 0);
	memcpy(in_place, data, size);
	rc2 = sphinx_process(node_sk, in_place, size, in_place, &res2);
	CHECK(rc2 == SPHINX_OK && memcmp(in_place, out, size) == 0);
}

static void flipped_packet(const uint8_t *data, size_t size)
{
	static uint8_t pkt[PKT_LEN], out[PKT_LEN];
	struct sphinx_processed res;
	int v = size > 0 ? data[0] & 1 : 0, rc;

	memcpy(pkt, valid[v], PKT_LEN);
	for (size_t i = 1; i + 1 < size; i += 2) {
		unsigned bit = (unsigned)(data[i] | data[i + 1] << 8) % (PKT_LEN * 8);
		pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	rc = sphinx_process(node_sk, pkt, PKT_LEN, out, &res);
	/* X25519 ignores the top bit of the u-coordinate, as x25519-dalek does: flipping it
	 * leaves the shared secret, and so the whole processing, unchanged. */
	pkt[31] ^= (uint8_t)((pkt[31] ^ valid[v][31]) & 0x80);
	if (memcmp(pkt, valid[v], SPHINX_HEADER_LEN) != 0) {
		CHECK(rc == SPHINX_ERR_MAC);
		return;
	}
	CHECK(rc == SPHINX_OK);
	CHECK(memcmp(out, valid_out[v], SPHINX_HEADER_LEN) == 0);
	CHECK(memcmp(res.next_address, valid_res[v].next_address, 32) == 0);
	CHECK(res.delay_ns == valid_res[v].delay_ns && res.version == valid_res[v].version);
	CHECK((memcmp(pkt, valid[v], PKT_LEN) == 0) == (memcmp(out, valid_out[v], PKT_LEN) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size == 0)
		return 0;
	if (data[0] & 1)
		flipped_packet(data + 1, size - 1);
	else
		arbitrary_packet(data + 1, size - 1);
	return 0;
}
