/* Sphinx packets exactly as the crate sphinx-packet 0.6.0 used by Nym b4046a89
 * (spec: docs/spec notes in tests/vectors/README.md and the project's SPEC notes).
 * Header = alpha(32) || gamma(16) || beta(300); packet = header || payload. */
#ifndef NS_SPHINX_H
#define NS_SPHINX_H
#include <stddef.h>
#include <stdint.h>

#define SPHINX_SECURITY_PARAM     16
#define SPHINX_MAX_HOPS           5
#define SPHINX_NODE_ADDR_LEN      32
#define SPHINX_DEST_LEN           32
#define SPHINX_ID_LEN             16
#define SPHINX_MAC_LEN            16
#define SPHINX_ROUTING_STEP       60   /* 32 addr + 1 flag + 8 delay + 3 version + 16 mac */
#define SPHINX_BETA_LEN           300
#define SPHINX_HEADER_LEN         348
#define SPHINX_PAYLOAD_OVERHEAD   17   /* 16 zero bytes + 0x01 marker */
#define SPHINX_PAYLOAD_KEY_LEN    192
#define SPHINX_PAYLOAD_SEED_LEN   16
#define SPHINX_EXPANDED_LEN       288
#define SPHINX_REPLAY_TAG_LEN     32
#define SPHINX_MIN_PAYLOAD        32   /* Lioness needs a block longer than 32 bytes */

#define SPHINX_FLAG_FORWARD       1
#define SPHINX_FLAG_FINAL         2

enum sphinx_version {
	SPHINX_V_INITIAL_LEGACY = 1,
	SPHINX_V_UPDATED_LEGACY = 257,
	SPHINX_V_X25519_EXPLICIT_KEYS = 258, /* the real client's cover traffic; V1 SURBs */
	SPHINX_V_PAYLOAD_KEY_SEEDS = 259,    /* real messages, SURB-acks, V2 SURBs */
};

enum sphinx_err {
	SPHINX_OK = 0,
	SPHINX_ERR_ARG = -1,        /* bad length / hop count / payload size */
	SPHINX_ERR_MAC = -2,        /* header integrity MAC mismatch */
	SPHINX_ERR_FLAG = -3,       /* routing flag neither forward nor final */
	SPHINX_ERR_VERSION = -4,    /* version not in {1, 257, 258, 259} */
	SPHINX_ERR_PAYLOAD = -5,    /* payload recovery failed (prefix not zero / no marker) */
	SPHINX_ERR_CRYPTO = -6,
};

struct sphinx_node {
	uint8_t address[SPHINX_NODE_ADDR_LEN]; /* NymNodeRoutingAddress, zero padded */
	uint8_t pubkey[32];                    /* x25519 sphinx key */
};

/* Everything that decides the bytes of a header. Optional inputs left NULL are
 * drawn from the RNG; tests pass them to rebuild real packets exactly. */
struct sphinx_header_params {
	const struct sphinx_node *route;
	size_t n_hops;                          /* 1..SPHINX_MAX_HOPS */
	const uint64_t *delays_ns;              /* n_hops - 1 values used (per forward hop) */
	uint8_t destination[SPHINX_DEST_LEN];
	uint8_t identifier[SPHINX_ID_LEN];
	uint16_t version;                       /* 258 or 259 (1/257 are node-side only) */
	const uint8_t *initial_secret;          /* 32 bytes, or NULL = random */
	const uint8_t *final_padding;           /* 300 - 60*(n_hops-1) - 52 bytes, or NULL = random */
	int secrets;                            /* enum sphinx_secrets (below): how the per-hop
	                                           secrets are computed (the same bytes); 0 =
	                                           accumulated. The _using forms override it */
};

/* What the builder keeps per hop: the payload key (always the 192-byte Lioness key)
 * and the version-dependent material a SURB stores (192-byte key or 16-byte seed). */
struct sphinx_hop_keys {
	uint8_t payload_key[SPHINX_PAYLOAD_KEY_LEN];
	uint8_t payload_seed[SPHINX_PAYLOAD_SEED_LEN]; /* meaningful for version >= 259 */
};

/* How a header's per-hop shared secrets are computed; the bytes are the same either way
 * (secrets.c says why). */
enum sphinx_secrets {
	SPHINX_SECRETS_ACCUMULATED = 0, /* default: one X25519 per hop by the accumulated scalar */
	SPHINX_SECRETS_CHAIN,           /* sphinx-packet's way: hop i applies x, b_0..b_{i-1} in
	                                   turn; kept as the reference and the benchmark baseline */
};

/* Builds a header. keys (may be NULL) receives n_hops entries in route order. */
int sphinx_build_header(const struct sphinx_header_params *p, uint8_t header[SPHINX_HEADER_LEN],
                        struct sphinx_hop_keys *keys);
int sphinx_build_header_using(enum sphinx_secrets how, const struct sphinx_header_params *p,
                              uint8_t header[SPHINX_HEADER_LEN], struct sphinx_hop_keys *keys);

/* The builder's accumulated scalar: t = clamp(x) * clamp(b_0) * ... / 8 mod l (secret). */
struct sphinx_acc {
	uint8_t t[32];
};
void sphinx_acc_start(struct sphinx_acc *acc, const uint8_t x[32]);
void sphinx_acc_mul(struct sphinx_acc *acc, const uint8_t b[32]);
/* s = X25519(scalars[n-1], ... X25519(scalars[0], pk)); acc must hold the product of the same
 * n scalars. Returns 1 if it ran the chain (SPHINX_SECRETS_CHAIN, a key off the curve, or no
 * clamped representative), 0 if it did one X25519. An all-zero s (small-order key) is written
 * as the chain writes it. Exposed for tests and the fuzzer. */
int sphinx_hop_secret(uint8_t out[32], enum sphinx_secrets how, const struct sphinx_acc *acc,
                      const uint8_t pk[32], const uint8_t (*scalars)[32], size_t n);
/* 1 if the X25519 u-coordinate lies on Curve25519 (not its twist); kept per thread, for up
 * to 1536 keys. */
int sphinx_key_on_curve(const uint8_t key[32]);
/* How many times this thread has computed it (a key not yet kept); for tests. */
unsigned long sphinx_key_checks(void);

/* Builds header || payload into out (SPHINX_HEADER_LEN + payload_size bytes).
 * msg_len must be <= payload_size - SPHINX_PAYLOAD_OVERHEAD. */
int sphinx_build_packet(const struct sphinx_header_params *p, const uint8_t *msg, size_t msg_len,
                        size_t payload_size, uint8_t *out);
int sphinx_build_packet_using(enum sphinx_secrets how, const struct sphinx_header_params *p,
                              const uint8_t *msg, size_t msg_len, size_t payload_size, uint8_t *out);

/* Lioness-layers a message for the given per-hop 192-byte keys (route order):
 * block = 16 zeros || msg || 0x01 || zeros, encrypted with keys[n-1] first, keys[0] last. */
int sphinx_encapsulate_payload(const uint8_t *msg, size_t msg_len, size_t payload_size,
                               const uint8_t (*keys)[SPHINX_PAYLOAD_KEY_LEN], size_t n_keys,
                               uint8_t *payload_out);
/* Final hop: checks the 16 zero bytes, finds the last 0x01; *msg_off and *msg_len locate the message. */
int sphinx_recover_plaintext(const uint8_t *payload, size_t len, size_t *msg_off, size_t *msg_len);

/* Per-hop key derivation (exposed for tests and benches). */
int sphinx_expand_secret(const uint8_t shared[32], uint8_t out[SPHINX_EXPANDED_LEN]);
int sphinx_payload_key_from_seed(const uint8_t seed[SPHINX_PAYLOAD_SEED_LEN],
                                 uint8_t key[SPHINX_PAYLOAD_KEY_LEN]);

/* Result of processing one packet at a node. */
struct sphinx_processed {
	int flag;                                  /* SPHINX_FLAG_FORWARD or SPHINX_FLAG_FINAL */
	uint16_t version;
	uint8_t replay_tag[SPHINX_REPLAY_TAG_LEN]; /* valid whenever the MAC checked */
	/* forward */
	uint8_t next_address[SPHINX_NODE_ADDR_LEN];
	uint64_t delay_ns;
	/* final */
	uint8_t destination[SPHINX_DEST_LEN];
	uint8_t identifier[SPHINX_ID_LEN];
	/* diagnostics for known-answer tests (not secret-free: zero them after use) */
	uint8_t shared_secret[32];
	uint8_t expanded[SPHINX_EXPANDED_LEN];
	uint8_t routing_plain[SPHINX_ROUTING_STEP];
	uint8_t payload_key[SPHINX_PAYLOAD_KEY_LEN];
};

/* Processes packet (header || payload, len bytes) with the node's x25519 secret.
 * On success out_packet (len bytes, may equal packet) holds, for a forward hop,
 * the next packet (new header || payload with one Lioness layer removed), and for
 * the final hop, the header unchanged || the fully decrypted payload (use
 * sphinx_recover_plaintext on out_packet + SPHINX_HEADER_LEN). */
int sphinx_process(const uint8_t node_secret[32], const uint8_t *packet, size_t len,
                   uint8_t *out_packet, struct sphinx_processed *res);
/* Legacy (versions 1/257) blinding: out = (b mod l) * alpha, unclamped. Exact for alphas in
 * the prime-order subgroup; exposed for tests. */
int sphinx_legacy_blind(uint8_t out[32], const uint8_t alpha[32], const uint8_t b[32]);

/* ---- SURBs ---- */
struct sphinx_surb {
	uint8_t header[SPHINX_HEADER_LEN];
	uint8_t first_hop[SPHINX_NODE_ADDR_LEN];
	size_t n_hops;
	size_t material_len;                                   /* 192 (V1/258) or 16 (V2/259) */
	uint8_t material[SPHINX_MAX_HOPS][SPHINX_PAYLOAD_KEY_LEN]; /* first material_len bytes used */
};

/* Builds a SURB (header for the route back to its creator + per-hop materials). */
int sphinx_surb_build(const struct sphinx_header_params *p, struct sphinx_surb *surb);
/* header || first_hop || materials; returns bytes written or -1 if cap is too small. */
long sphinx_surb_to_bytes(const struct sphinx_surb *surb, uint8_t *out, size_t cap);
/* Parses the above; tells 192-byte keys from 16-byte seeds by length. */
int sphinx_surb_from_bytes(const uint8_t *in, size_t len, struct sphinx_surb *surb);
/* Uses a SURB: out = SURB header || payload layered with its materials. */
int sphinx_surb_use(const struct sphinx_surb *surb, const uint8_t *msg, size_t msg_len,
                    size_t payload_size, uint8_t *out);

#endif
