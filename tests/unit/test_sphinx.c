/* Sphinx (sphinx-packet 0.6.0): reference vectors, round trips, SURBs and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "lioness.h"
#include "sphinx/sphinx.h"
#include "unit/util.h"

#define PRG_LEN      360
#define REGULAR_P    2065
#define MAX_PACKET   (SPHINX_HEADER_LEN + REGULAR_P)

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[512];
	assert_int_equal(util_unhex(hex, want, sizeof want), (long)len);
	assert_memory_equal(got, want, len);
}

static void expect_sha256(const uint8_t *data, size_t len, const char *hex)
{
	uint8_t h[32];
	ns_sha256(h, data, len);
	expect_hex(h, 32, hex);
}

/* ---- the reference route of spec 4.2 ---- */
struct ref_route {
	uint8_t sk[4][32];
	struct sphinx_node nodes[4];
	uint64_t delays[4];
	uint8_t x[32];
	uint8_t pad[68];
	uint8_t msg[2048];
	struct sphinx_header_params p;
};

static void ref_route_init(struct ref_route *r, uint16_t version)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < 4; i++) {
		memset(r->sk[i], 0x11 * (i + 1), 32);
		ns_x25519_base(r->nodes[i].pubkey, r->sk[i]);
		r->nodes[i].address[0] = 0x04;
		r->nodes[i].address[1] = 0x06;
		r->nodes[i].address[2] = 0xfd;
		r->nodes[i].address[3] = 10;
		r->nodes[i].address[6] = (uint8_t)(i + 1);
		r->delays[i] = 1000000ull * (uint64_t)(i + 1);
	}
	memset(r->x, 0x55, 32);
	for (int i = 0; i < 2048; i++)
		r->msg[i] = (uint8_t)i;
	r->p.route = r->nodes;
	r->p.n_hops = 4;
	r->p.delays_ns = r->delays;
	memset(r->p.destination, 0xAA, 32);
	r->p.version = version;
	r->p.initial_secret = r->x;
	r->p.final_padding = r->pad;
}

static void test_expand_vector(void **state)
{
	uint8_t s[32], e[SPHINX_EXPANDED_LEN];
	(void)state;
	memset(s, 0x01, sizeof s);
	assert_int_equal(sphinx_expand_secret(s, e), SPHINX_OK);
	expect_hex(e, sizeof e,
	           "10087f12352ee180495c91349ea315796715b8397c2b0e35dde2ebaff3ac7bcf4437b4b3a4e85ecfb6daf12337990ca7"
	           "a980a793fb43fb803c19f426174831fbaa3f41ed60cfe1afcfe4e3037cd666cf70a85f07a5c70c2e6ab543a0b80c82d3"
	           "6ab80222191838664e4d4a6e8114d6c627a65a17db046018d88fd3d8a50d23f56ea65fd8d6684a3f20c2504a7309ec5d"
	           "67e4cebb2c928968a69d97234d65d2d980fa7a9da42d32132f811699512ce6501dff97a89986a0dccd56f00775afbe4c"
	           "1012caeae971ff1787b99fcda36c617c67b637b64b29ec5765293f2a384eabb325558f513c4301d98004d0c3826c7bea"
	           "7b3d7afb371d6a06790ff0d8fae9a0684fd4949c00d540493ae5d8a97cd635e7721a751e66c486f3076aa0fffdbfe3e6");
}

static void test_payload_key_vector(void **state)
{
	uint8_t seed[16], key[SPHINX_PAYLOAD_KEY_LEN];
	(void)state;
	memset(seed, 0x01, sizeof seed);
	assert_int_equal(sphinx_payload_key_from_seed(seed, key), SPHINX_OK);
	expect_hex(key, sizeof key,
	           "ba09bae3b95134c504e308f87b77edb242536077720749e494d81ee6735bfaecaa59109814de1ee397260e6ee1c93f31"
	           "3fbe83a1cb66945ecddbba552a4ea7fa06e3cb7c1c59c0a2969b0ceca43e77b4cd46aaa8a588b48538bd92979bac0eb6"
	           "ba31935f60f04ce2b2a5111b61fc7ceac5685e5ace7fc0b6c7a90a1595963f490551c53549313196d86cc7d0375b6890"
	           "90ce7b392736e4e2941b8220c25d42eaf00ac71969a75854fba9f20917ae2f464b97b4fad1744ac0b56a830b5d2f8b53");
}

static void test_prg_vector(void **state)
{
	uint8_t key[16], ks[PRG_LEN];
	(void)state;
	memset(key, 0x01, sizeof key);
	assert_int_equal(ns_aes128_ctr_keystream(ks, sizeof ks, key), 0);
	expect_hex(ks, 32, "b6aeaffa752dc08b51639731761aed00e431c158177be7de5bf033b17df3977c");
	expect_sha256(ks, sizeof ks, "a888c86cacdd79be4a0bcd119c4d3e5e4e209f743427f4db8774196f372416b2");
}

static const char *const REF_PK[4] = {
	"7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13",
	"0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20",
	"7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14",
	"ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b",
};
static const char *const REF_ALPHA[4] = {
	"38ab664bd86f77d7e66bdd9ae0792913a94fd8b33a1260027e4b46c1f4884c67",
	"974602c12df4ce946ea31cf134446704af27d46aca2e57e2bfcabc3dca8f6754",
	"b2af2cded3fe8821f495e14fcbb519bf0aa228a60112a495d12b814d6b53e948",
	"28eda858a00912d6aadadf8e16eaf938d903608faa8cc96322597b39cc8daf59",
};
static const char *const REF_RHO[4] = {
	"f578c0072af01f025bb11b4be34ecb6e", "5f2185532ac0c08be4e05511cf7d9570",
	"c49ae8aff0c994064024fd84a29711de", "71b5644973ca395ceb1c94fbe3e7d599",
};
static const char *const REF_E_SHA[4] = {
	"ce8ceb6808ea57ecedbcdaf56ea3f17243a8793f1f1037953763c147d4bef797",
	"639d6e69ff4d6a1e4129501f1954df73a7f77653d04364a263a708ddf27128ae",
	"945177a4f97d318b7b5fe21dfde8167a75652010810a2b001be8e52e33c1dd1b",
	"aa41519e17fd6959c323a548869055f86c7f9d9a187759f77f5a5dccb8d8e0ae",
};

/* Builds the reference packet, checks its hashes, then processes it hop by hop checking
 * every key of spec 4.2 and recovers the message. */
static void run_reference_route(uint16_t version, const char *header_sha, const char *packet_sha)
{
	static struct ref_route r;
	static uint8_t pkt[MAX_PACKET], out[MAX_PACKET];
	struct sphinx_processed res;
	size_t off, len;

	ref_route_init(&r, version);
	for (int i = 0; i < 4; i++)
		expect_hex(r.nodes[i].pubkey, 32, REF_PK[i]);
	assert_int_equal(sphinx_build_packet(&r.p, r.msg, sizeof r.msg, REGULAR_P, pkt), SPHINX_OK);
	expect_sha256(pkt, SPHINX_HEADER_LEN, header_sha);
	expect_sha256(pkt, sizeof pkt, packet_sha);
	if (version == SPHINX_V_X25519_EXPLICIT_KEYS)
		expect_hex(pkt, 64, "38ab664bd86f77d7e66bdd9ae0792913a94fd8b33a1260027e4b46c1f4884c67"
		                    "52709eb9c00469880e0020e6b4bec18582996b766f3f1e4a8345be7c50b71ca3");

	for (int i = 0; i < 4; i++) {
		expect_hex(pkt, 32, REF_ALPHA[i]);
		if (i == 3) { /* the filler is the tail of the last hop's beta */
			expect_hex(pkt + 48 + 120, 16, "060291b92995d8be87b537f94808d4ca");
			expect_sha256(pkt + 48 + 120, 180,
			              "a3d021639a7e6a64ab9ccd3a6b83bf06eaa63f1461ef0ff4814b2d6be6a9e38a");
		}
		assert_int_equal(sphinx_process(r.sk[i], pkt, sizeof pkt, out, &res), SPHINX_OK);
		expect_hex(res.expanded, 16, REF_RHO[i]);
		expect_sha256(res.expanded, SPHINX_EXPANDED_LEN, REF_E_SHA[i]);
		assert_int_equal(res.version, version);
		if (i == 0) {
			expect_hex(res.expanded + 16, 16, "7c98a8b8bc1bfb895f8ed68cae124aa2");
			expect_hex(res.expanded + 224, 32,
			           "f08742a244b658738e67c850a4477fa264ec3d75bd3aac1a07b71d433d9ca3bd");
			expect_hex(res.replay_tag, 32,
			           "5d44940050b71cb97a41fdac78b0a18b09498e5bacc5bf9f6e7727eb5113d973");
		}
		if (version == SPHINX_V_X25519_EXPLICIT_KEYS)
			assert_memory_equal(res.payload_key, res.expanded + 32, SPHINX_PAYLOAD_KEY_LEN);
		if (i < 3) {
			assert_int_equal(res.flag, SPHINX_FLAG_FORWARD);
			assert_memory_equal(res.next_address, r.nodes[i + 1].address, 32);
			assert_int_equal(res.delay_ns, r.delays[i]);
		} else {
			assert_int_equal(res.flag, SPHINX_FLAG_FINAL);
			assert_memory_equal(res.destination, r.p.destination, 32);
			assert_memory_equal(res.identifier, r.p.identifier, 16);
		}
		memcpy(pkt, out, sizeof pkt);
	}
	assert_int_equal(sphinx_recover_plaintext(pkt + SPHINX_HEADER_LEN, REGULAR_P, &off, &len), SPHINX_OK);
	assert_int_equal(off, 16);
	assert_int_equal(len, sizeof r.msg);
	assert_memory_equal(pkt + SPHINX_HEADER_LEN + off, r.msg, len);
}

static void test_reference_route_258(void **state)
{
	(void)state;
	run_reference_route(SPHINX_V_X25519_EXPLICIT_KEYS,
	                    "a2840466df78fc29f532fb1dd24b8a993ddd99c012c412a6732a13ca640cca38",
	                    "b5ceb395fee90d152bbbff29e25f66fbd55044d0b9ff886e48762539faaa233b");
}

static void test_reference_route_259(void **state)
{
	(void)state;
	run_reference_route(SPHINX_V_PAYLOAD_KEY_SEEDS,
	                    "c525d228848796e0cafe8b73aaad7a779b7e00450159a689bd272f546e3d79af",
	                    "0440f32abfdb862006551612912a23e1c0e5f34c868de631222ed0fcfb27a005");
}

/* ---- random routes ---- */
struct route {
	uint8_t sk[SPHINX_MAX_HOPS][32];
	struct sphinx_node nodes[SPHINX_MAX_HOPS];
	uint64_t delays[SPHINX_MAX_HOPS];
	struct sphinx_header_params p;
};

static void random_route(struct route *r, size_t n_hops, uint16_t version)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < n_hops; i++) {
		ns_random(r->sk[i], 32);
		ns_x25519_base(r->nodes[i].pubkey, r->sk[i]);
		ns_random(r->nodes[i].address, 32);
		r->delays[i] = ((uint64_t)ns_random_uniform(UINT32_MAX) << 32) | ns_random_uniform(UINT32_MAX);
	}
	r->p.route = r->nodes;
	r->p.n_hops = n_hops;
	r->p.delays_ns = r->delays;
	ns_random(r->p.destination, 32);
	ns_random(r->p.identifier, 16);
	r->p.version = version;
}

/* Processes pkt through the whole route (in place when in_place), checking every hop. */
static void process_route(const struct route *r, uint8_t *pkt, size_t len, int in_place)
{
	static uint8_t out[MAX_PACKET + 1024];
	struct sphinx_processed res;

	for (size_t i = 0; i < r->p.n_hops; i++) {
		uint8_t *dst = in_place ? pkt : out;
		assert_int_equal(sphinx_process(r->sk[i], pkt, len, dst, &res), SPHINX_OK);
		assert_int_equal(res.version, r->p.version);
		if (i + 1 < r->p.n_hops) {
			assert_int_equal(res.flag, SPHINX_FLAG_FORWARD);
			assert_memory_equal(res.next_address, r->nodes[i + 1].address, 32);
			assert_int_equal(res.delay_ns, r->delays[i]);
		} else {
			assert_int_equal(res.flag, SPHINX_FLAG_FINAL);
			assert_memory_equal(res.destination, r->p.destination, 32);
			assert_memory_equal(res.identifier, r->p.identifier, 16);
		}
		if (!in_place)
			memcpy(pkt, out, len);
	}
}

static void test_round_trip_all_hops(void **state)
{
	static const uint16_t versions[] = {SPHINX_V_X25519_EXPLICIT_KEYS, SPHINX_V_PAYLOAD_KEY_SEEDS};
	static const size_t sizes[] = {38, REGULAR_P, 33};
	static struct route r;
	static uint8_t pkt[MAX_PACKET], msg[2048];
	(void)state;

	for (size_t v = 0; v < 2; v++)
		for (size_t n = 1; n <= SPHINX_MAX_HOPS; n++)
			for (size_t s = 0; s < 3; s++) {
				size_t p = sizes[s], msg_len = (n * 7 + s) % (p - 16), off, got;
				random_route(&r, n, versions[v]);
				ns_random(msg, msg_len);
				assert_int_equal(sphinx_build_packet(&r.p, msg, msg_len, p, pkt), SPHINX_OK);
				process_route(&r, pkt, SPHINX_HEADER_LEN + p, (int)(n + s) % 2);
				assert_int_equal(sphinx_recover_plaintext(pkt + SPHINX_HEADER_LEN, p, &off, &got),
				                 SPHINX_OK);
				assert_int_equal(got, msg_len);
				assert_memory_equal(pkt + SPHINX_HEADER_LEN + off, msg, msg_len);
			}
}

/* Random padding and secrets differ per build; given ones make the build deterministic. */
static void test_build_determinism(void **state)
{
	static struct route r;
	uint8_t x[32], h1[SPHINX_HEADER_LEN], h2[SPHINX_HEADER_LEN], pad[300] = {0};
	(void)state;
	random_route(&r, 3, SPHINX_V_PAYLOAD_KEY_SEEDS);
	assert_int_equal(sphinx_build_header(&r.p, h1, NULL), SPHINX_OK);
	assert_int_equal(sphinx_build_header(&r.p, h2, NULL), SPHINX_OK);
	assert_memory_not_equal(h1, h2, 32);
	ns_random(x, sizeof x);
	r.p.initial_secret = x;
	assert_int_equal(sphinx_build_header(&r.p, h1, NULL), SPHINX_OK);
	assert_int_equal(sphinx_build_header(&r.p, h2, NULL), SPHINX_OK);
	assert_memory_equal(h1, h2, 32);
	assert_memory_not_equal(h1, h2, SPHINX_HEADER_LEN); /* random final padding */
	r.p.final_padding = pad;
	assert_int_equal(sphinx_build_header(&r.p, h1, NULL), SPHINX_OK);
	assert_int_equal(sphinx_build_header(&r.p, h2, NULL), SPHINX_OK);
	assert_memory_equal(h1, h2, SPHINX_HEADER_LEN);
}

static void test_build_rejects(void **state)
{
	static struct route r;
	static uint8_t pkt[MAX_PACKET];
	uint8_t msg[64] = {0};
	(void)state;
	random_route(&r, 3, SPHINX_V_PAYLOAD_KEY_SEEDS);
	r.p.n_hops = 0;
	assert_int_equal(sphinx_build_header(&r.p, pkt, NULL), SPHINX_ERR_ARG);
	r.p.n_hops = SPHINX_MAX_HOPS + 1;
	assert_int_equal(sphinx_build_header(&r.p, pkt, NULL), SPHINX_ERR_ARG);
	r.p.n_hops = 3;
	r.p.delays_ns = NULL;
	assert_int_equal(sphinx_build_header(&r.p, pkt, NULL), SPHINX_ERR_ARG);
	r.p.delays_ns = r.delays;
	for (uint16_t v = 0; v < 600; v++) {
		if (v == SPHINX_V_X25519_EXPLICIT_KEYS || v == SPHINX_V_PAYLOAD_KEY_SEEDS)
			continue;
		r.p.version = v;
		assert_int_equal(sphinx_build_header(&r.p, pkt, NULL), SPHINX_ERR_VERSION);
	}
	r.p.version = SPHINX_V_PAYLOAD_KEY_SEEDS;
	assert_int_equal(sphinx_build_header(NULL, pkt, NULL), SPHINX_ERR_ARG);
	/* payload too small for Lioness, message longer than payload - 17 */
	assert_int_equal(sphinx_build_packet(&r.p, msg, 0, 32, pkt), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_build_packet(&r.p, msg, 0, 16, pkt), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_build_packet(&r.p, msg, 22, 38, pkt), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_build_packet(&r.p, msg, 21, 38, pkt), SPHINX_OK);
	assert_int_equal(sphinx_build_packet(&r.p, NULL, 5, 38, pkt), SPHINX_ERR_ARG);
}

/* ---- payload ---- */
static void test_recover_plaintext(void **state)
{
	uint8_t block[64] = {0};
	size_t off, len;
	(void)state;
	block[16] = 'a';
	block[17] = 0x01;
	block[18] = 'b';
	block[19] = 0x01; /* the last 0x01 is the marker */
	assert_int_equal(sphinx_recover_plaintext(block, sizeof block, &off, &len), SPHINX_OK);
	assert_int_equal(off, 16);
	assert_int_equal(len, 3);
	block[40] = 0x07; /* trailing bytes are not checked */
	assert_int_equal(sphinx_recover_plaintext(block, sizeof block, &off, &len), SPHINX_OK);
	assert_int_equal(len, 3);
	block[3] = 1; /* non-zero prefix */
	assert_int_equal(sphinx_recover_plaintext(block, sizeof block, &off, &len), SPHINX_ERR_PAYLOAD);
	memset(block, 0, sizeof block);
	assert_int_equal(sphinx_recover_plaintext(block, sizeof block, &off, &len), SPHINX_ERR_PAYLOAD);
	block[16] = 0x01; /* empty message */
	assert_int_equal(sphinx_recover_plaintext(block, sizeof block, &off, &len), SPHINX_OK);
	assert_int_equal(len, 0);
	assert_int_equal(sphinx_recover_plaintext(block, 16, &off, &len), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_recover_plaintext(block, 17, &off, &len), SPHINX_OK);
}

static void test_encapsulate_layout(void **state)
{
	uint8_t keys[2][SPHINX_PAYLOAD_KEY_LEN], payload[50], msg[5] = {1, 2, 3, 4, 5};
	(void)state;
	ns_random(keys, sizeof keys);
	assert_int_equal(sphinx_encapsulate_payload(msg, 5, sizeof payload,
	                                            (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys, 2, payload),
	                 SPHINX_OK);
	/* keys[0] is applied last, so it comes off first */
	assert_int_equal(lioness_decrypt(keys[0], payload, sizeof payload), 0);
	assert_int_equal(lioness_decrypt(keys[1], payload, sizeof payload), 0);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(payload[i], 0);
	assert_memory_equal(payload + 16, msg, 5);
	assert_int_equal(payload[21], 0x01);
	for (size_t i = 22; i < sizeof payload; i++)
		assert_int_equal(payload[i], 0);
	assert_int_equal(sphinx_encapsulate_payload(msg, 5, sizeof payload,
	                                            (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys, 0, payload),
	                 SPHINX_ERR_ARG);
	assert_int_equal(sphinx_encapsulate_payload(msg, 34, sizeof payload,
	                                            (const uint8_t(*)[SPHINX_PAYLOAD_KEY_LEN])keys, 1, payload),
	                 SPHINX_ERR_ARG);
}

/* ---- malformed packets ---- */
struct fixture {
	struct route r;
	uint8_t pkt[MAX_PACKET];
	uint8_t out[MAX_PACKET];
	size_t len;
};

static struct fixture *make_fixture(size_t n_hops, uint16_t version)
{
	static struct fixture f;
	uint8_t msg[100];
	random_route(&f.r, n_hops, version);
	ns_random(msg, sizeof msg);
	f.len = SPHINX_HEADER_LEN + REGULAR_P;
	assert_int_equal(sphinx_build_packet(&f.r.p, msg, sizeof msg, REGULAR_P, f.pkt), SPHINX_OK);
	return &f;
}

/* Decrypts hop 0's routing block, lets edit() change it, re-encrypts it and recomputes the
 * MAC, so the packet reaches the routing checks. */
static void rewrite_routing(uint8_t *pkt, const uint8_t sk[32], void (*edit)(uint8_t *plain, void *arg),
                            void *arg)
{
	uint8_t s[32], e[SPHINX_EXPANDED_LEN], ks[SPHINX_BETA_LEN], mac[32];
	ns_x25519(s, sk, pkt);
	assert_int_equal(sphinx_expand_secret(s, e), SPHINX_OK);
	assert_int_equal(ns_aes128_ctr_keystream(ks, sizeof ks, e), 0);
	for (size_t i = 0; i < SPHINX_BETA_LEN; i++)
		pkt[48 + i] ^= ks[i];
	edit(pkt + 48, arg);
	for (size_t i = 0; i < SPHINX_BETA_LEN; i++)
		pkt[48 + i] ^= ks[i];
	ns_hmac_sha256(mac, e + 16, 16, pkt + 48, SPHINX_BETA_LEN);
	memcpy(pkt + 32, mac, 16);
}

static void set_flag(uint8_t *plain, void *arg) { plain[0] = *(uint8_t *)arg; }

static void set_version(uint8_t *plain, void *arg) { memcpy(plain + 1, arg, 3); }

static void test_truncated_packet(void **state)
{
	struct fixture *f = make_fixture(3, SPHINX_V_PAYLOAD_KEY_SEEDS);
	struct sphinx_processed res;
	(void)state;
	for (size_t len = 0; len <= SPHINX_HEADER_LEN + SPHINX_MIN_PAYLOAD; len++)
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, len, f->out, &res), SPHINX_ERR_ARG);
	/* a shorter payload is still a packet, but its Lioness layer no longer matches */
	assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len - 1, f->out, &res), SPHINX_OK);
	assert_int_equal(sphinx_process(NULL, f->pkt, f->len, f->out, &res), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, NULL, &res), SPHINX_ERR_ARG);
	assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, NULL), SPHINX_ERR_ARG);
}

static void test_flipped_header_bytes(void **state)
{
	struct fixture *f = make_fixture(4, SPHINX_V_PAYLOAD_KEY_SEEDS);
	struct sphinx_processed res;
	static const size_t positions[] = {0, 31, 32, 40, 47, 48, 100, 347};
	(void)state;
	for (size_t j = 0; j < sizeof positions / sizeof positions[0]; j++) {
		f->pkt[positions[j]] ^= 0x01;
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_ERR_MAC);
		f->pkt[positions[j]] ^= 0x01;
	}
	assert_int_equal(sphinx_process(f->r.sk[1], f->pkt, f->len, f->out, &res), SPHINX_ERR_MAC);
	assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_OK);
	/* X25519 ignores bit 255 of alpha (as x25519-dalek): that flip processes identically */
	{
		static uint8_t out2[MAX_PACKET];
		struct sphinx_processed res2;
		f->pkt[31] ^= 0x80;
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, out2, &res2), SPHINX_OK);
		assert_memory_equal(out2, f->out, f->len);
		assert_memory_equal(res2.replay_tag, res.replay_tag, 32);
	}
}

/* The payload is not integrity protected per hop: a flipped payload byte still processes,
 * but the final plaintext check then fails. */
static void test_flipped_payload(void **state)
{
	struct fixture *f = make_fixture(2, SPHINX_V_X25519_EXPLICIT_KEYS);
	struct sphinx_processed res;
	size_t off, len;
	(void)state;
	f->pkt[SPHINX_HEADER_LEN + 5] ^= 0x80;
	assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_OK);
	assert_int_equal(sphinx_process(f->r.sk[1], f->out, f->len, f->pkt, &res), SPHINX_OK);
	assert_int_equal(sphinx_recover_plaintext(f->pkt + SPHINX_HEADER_LEN, REGULAR_P, &off, &len),
	                 SPHINX_ERR_PAYLOAD);
}

static void test_bad_flag(void **state)
{
	static const uint8_t flags[] = {0, 3, 0x81, 0xff};
	struct sphinx_processed res;
	(void)state;
	for (size_t j = 0; j < sizeof flags; j++) {
		struct fixture *f = make_fixture(3, SPHINX_V_PAYLOAD_KEY_SEEDS);
		uint8_t flag = flags[j];
		rewrite_routing(f->pkt, f->r.sk[0], set_flag, &flag);
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_ERR_FLAG);
	}
}

static void test_unknown_version(void **state)
{
	static const uint8_t bad[][3] = {{0, 2, 0}, {0, 0, 0}, {0, 1, 4}, {0, 0, 2}, {0, 1, 0}};
	struct sphinx_processed res;
	(void)state;
	for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
		struct fixture *f = make_fixture(3, SPHINX_V_PAYLOAD_KEY_SEEDS);
		rewrite_routing(f->pkt, f->r.sk[0], set_version, (void *)bad[j]);
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_ERR_VERSION);
	}
	/* byte 0 of the version is ignored, as version.rs from_bytes does */
	{
		static const uint8_t v[3] = {0x7f, 1, 3};
		struct fixture *f = make_fixture(3, SPHINX_V_PAYLOAD_KEY_SEEDS);
		rewrite_routing(f->pkt, f->r.sk[0], set_version, (void *)v);
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_OK);
		assert_int_equal(res.version, 259);
	}
}

/* ---- legacy versions 1 and 257 ---- */
/* Independent oracle: u-coordinate of ((b mod l) * clamp(x) mod l) * B via Edwards arithmetic. */
static void legacy_expected(uint8_t u[32], const uint8_t x[32], const uint8_t b[32])
{
	uint8_t wide[64] = {0}, xs[32], bs[32], n[32], q[32];
	memcpy(wide, x, 32);
	wide[0] &= 248;
	wide[31] &= 127;
	wide[31] |= 64;
	crypto_core_ed25519_scalar_reduce(xs, wide);
	memset(wide, 0, sizeof wide);
	memcpy(wide, b, 32);
	crypto_core_ed25519_scalar_reduce(bs, wide);
	crypto_core_ed25519_scalar_mul(n, bs, xs);
	assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(q, n), 0);
	assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(u, q), 0);
}

static void test_legacy_blind(void **state)
{
	(void)state;
	for (int t = 0; t < 64; t++) {
		uint8_t x[32], b[32], alpha[32], got[32], want[32];
		ns_random(x, sizeof x);
		ns_random(b, sizeof b);
		if (t == 0)
			memset(b, 0xff, sizeof b); /* > l: reduced first */
		ns_x25519_base(alpha, x);
		assert_int_equal(sphinx_legacy_blind(got, alpha, b), SPHINX_OK);
		legacy_expected(want, x, b);
		assert_memory_equal(got, want, 32);
	}
}

static void test_legacy_versions_process(void **state)
{
	static const uint8_t legacy[2][3] = {{0, 0, 1}, {0, 1, 1}};
	struct sphinx_processed res;
	(void)state;
	for (size_t j = 0; j < 2; j++) {
		struct fixture *f = make_fixture(3, SPHINX_V_X25519_EXPLICIT_KEYS);
		uint8_t x[32], want[32];
		ns_random(x, sizeof x);
		f->r.p.initial_secret = x;
		assert_int_equal(sphinx_build_header(&f->r.p, f->pkt, NULL), SPHINX_OK);
		rewrite_routing(f->pkt, f->r.sk[0], set_version, (void *)legacy[j]);
		assert_int_equal(sphinx_process(f->r.sk[0], f->pkt, f->len, f->out, &res), SPHINX_OK);
		assert_int_equal(res.version, j == 0 ? 1 : 257);
		assert_int_equal(res.flag, SPHINX_FLAG_FORWARD);
		assert_memory_equal(res.payload_key, res.expanded + 32, SPHINX_PAYLOAD_KEY_LEN);
		legacy_expected(want, x, res.expanded + 224);
		assert_memory_equal(f->out, want, 32);
		/* the normal (clamped) blinding gives a different point unless clamping leaves the
		 * blinding factor unchanged (low 3 bits 0, bit 254 set, bit 255 clear: 1 in 32); on
		 * the prime-order subgroup both then multiply by the same scalar mod l */
		const uint8_t *b = res.expanded + 224;
		int clamp_noop = (b[0] & 7) == 0 && (b[31] & 0xc0) == 0x40;
		ns_x25519(want, b, f->pkt);
		if (clamp_noop)
			assert_memory_equal(f->out, want, 32);
		else
			assert_memory_not_equal(f->out, want, 32);
	}
}

/* ---- SURBs ---- */
static void test_surb_round_trip(void **state)
{
	static const uint16_t versions[] = {SPHINX_V_X25519_EXPLICIT_KEYS, SPHINX_V_PAYLOAD_KEY_SEEDS};
	static struct route r;
	static struct sphinx_surb surb, parsed;
	static uint8_t bytes[2048], again[2048], pkt[MAX_PACKET], msg[2048];
	(void)state;

	for (size_t v = 0; v < 2; v++)
		for (size_t n = 1; n <= SPHINX_MAX_HOPS; n++) {
			size_t mat = versions[v] == SPHINX_V_X25519_EXPLICIT_KEYS ? 192 : 16, off, len;
			long w;
			random_route(&r, n, versions[v]);
			assert_int_equal(sphinx_surb_build(&r.p, &surb), SPHINX_OK);
			assert_int_equal(surb.n_hops, n);
			assert_int_equal(surb.material_len, mat);
			assert_memory_equal(surb.first_hop, r.nodes[0].address, 32);
			w = sphinx_surb_to_bytes(&surb, bytes, sizeof bytes);
			assert_int_equal(w, 348 + 32 + n * mat);
			assert_int_equal(sphinx_surb_to_bytes(&surb, bytes, (size_t)w - 1), -1);
			assert_int_equal(sphinx_surb_from_bytes(bytes, (size_t)w, &parsed), SPHINX_OK);
			assert_int_equal(parsed.n_hops, n);
			assert_int_equal(parsed.material_len, mat);
			assert_int_equal(sphinx_surb_to_bytes(&parsed, again, sizeof again), w);
			assert_memory_equal(bytes, again, (size_t)w);

			ns_random(msg, 2048);
			assert_int_equal(sphinx_surb_use(&parsed, msg, 2048, REGULAR_P, pkt), SPHINX_OK);
			assert_memory_equal(pkt, surb.header, SPHINX_HEADER_LEN);
			/* each hop's payload key is the SURB material (as is, or through HKDFpk) */
			{
				struct sphinx_processed res;
				static uint8_t out[MAX_PACKET];
				uint8_t key[SPHINX_PAYLOAD_KEY_LEN];
				assert_int_equal(sphinx_process(r.sk[0], pkt, sizeof pkt, out, &res), SPHINX_OK);
				if (mat == 16)
					assert_int_equal(sphinx_payload_key_from_seed(parsed.material[0], key), SPHINX_OK);
				else
					memcpy(key, parsed.material[0], sizeof key);
				assert_memory_equal(res.payload_key, key, sizeof key);
			}
			process_route(&r, pkt, sizeof pkt, 0);
			assert_int_equal(sphinx_recover_plaintext(pkt + SPHINX_HEADER_LEN, REGULAR_P, &off, &len),
			                 SPHINX_OK);
			assert_int_equal(len, 2048);
			assert_memory_equal(pkt + SPHINX_HEADER_LEN + off, msg, 2048);
		}
}

static void test_surb_bad_lengths(void **state)
{
	static uint8_t bytes[348 + 32 + 6 * 192 + 1];
	static const size_t bad[] = {0, 1, 347, 348, 379, 380, 381, 380 + 15, 380 + 17, 380 + 6 * 16,
	                             380 + 100, 380 + 191, 380 + 193, 380 + 6 * 192, 380 + 6 * 192 + 1};
	static const size_t good[] = {380 + 16, 380 + 80, 380 + 192, 380 + 4 * 192, 380 + 5 * 192};
	struct sphinx_surb s;
	(void)state;
	ns_random(bytes, sizeof bytes);
	for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
		assert_int_equal(sphinx_surb_from_bytes(bytes, bad[j], &s), SPHINX_ERR_ARG);
	for (size_t j = 0; j < sizeof good / sizeof good[0]; j++) {
		uint8_t again[sizeof bytes];
		assert_int_equal(sphinx_surb_from_bytes(bytes, good[j], &s), SPHINX_OK);
		assert_int_equal(sphinx_surb_to_bytes(&s, again, sizeof again), (long)good[j]);
		assert_memory_equal(again, bytes, good[j]);
	}
	assert_int_equal(sphinx_surb_from_bytes(NULL, 396, &s), SPHINX_ERR_ARG);
	memset(&s, 0, sizeof s);
	assert_int_equal(sphinx_surb_to_bytes(&s, bytes, sizeof bytes), -1);
	s.n_hops = 2;
	s.material_len = 17;
	assert_int_equal(sphinx_surb_to_bytes(&s, bytes, sizeof bytes), -1);
	assert_int_equal(sphinx_surb_use(&s, bytes, 10, 38, bytes), SPHINX_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_vector),
		cmocka_unit_test(test_payload_key_vector),
		cmocka_unit_test(test_prg_vector),
		cmocka_unit_test(test_reference_route_258),
		cmocka_unit_test(test_reference_route_259),
		cmocka_unit_test(test_round_trip_all_hops),
		cmocka_unit_test(test_build_determinism),
		cmocka_unit_test(test_build_rejects),
		cmocka_unit_test(test_recover_plaintext),
		cmocka_unit_test(test_encapsulate_layout),
		cmocka_unit_test(test_truncated_packet),
		cmocka_unit_test(test_flipped_header_bytes),
		cmocka_unit_test(test_flipped_payload),
		cmocka_unit_test(test_bad_flag),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_legacy_blind),
		cmocka_unit_test(test_legacy_versions_process),
		cmocka_unit_test(test_surb_round_trip),
		cmocka_unit_test(test_surb_bad_lengths),
	};
	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
