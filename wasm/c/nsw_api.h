/* The C API of nymsuite.wasm (see nsw_api.c). The engine's own headers stay as they are;
 * this is the only surface JavaScript sees. */
#ifndef NSW_API_H
#define NSW_API_H
#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define NSW_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define NSW_EXPORT
#endif

/* nsw_sphinx_process's info: flag(1) version(2 LE) next_address(32) delay_ns(8 LE)
 * destination(32) identifier(16) replay_tag(32) */
#define NSW_PROCESSED_LEN 123

int nsw_init(void);
void *nsw_alloc(size_t n);
void nsw_free(void *p, size_t n);
void nsw_random(uint8_t *out, size_t n);

void nsw_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32]);
void nsw_x25519_base(uint8_t out[32], const uint8_t scalar[32]);
void nsw_blake3(uint8_t out[32], const uint8_t *in, size_t len);
void nsw_sha256(uint8_t out[32], const uint8_t *in, size_t len);
/* ciphertext || tag: returns pt_len + 16, or -1 */
int nsw_gcmsiv_seal(uint8_t *out, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                    size_t aad_len, const uint8_t key[32], const uint8_t nonce[12]);
/* returns ct_len - 16, or -1 (bad tag, too short) */
int nsw_gcmsiv_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *aad,
                    size_t aad_len, const uint8_t key[32], const uint8_t nonce[12]);

/* route: n_hops node addresses and x25519 keys (32 bytes each), n_hops - 1 delays (u64 LE);
 * initial_secret / final_padding may be NULL (random). Writes SPHINX_HEADER_LEN +
 * payload_size bytes to out and returns that length, or a negative SPHINX_ERR_*. */
int nsw_sphinx_build(const uint8_t *addrs, const uint8_t *pubkeys, size_t n_hops,
                     const uint8_t *delays_le, const uint8_t dest[32], const uint8_t id[16],
                     unsigned version, const uint8_t *initial_secret,
                     const uint8_t *final_padding, const uint8_t *msg, size_t msg_len,
                     size_t payload_size, uint8_t *out);
/* One hop: out_packet (len bytes) and info (NSW_PROCESSED_LEN); 0 or SPHINX_ERR_*. */
int nsw_sphinx_process(const uint8_t secret[32], const uint8_t *packet, size_t len,
                       uint8_t *out_packet, uint8_t info[NSW_PROCESSED_LEN]);
/* Final hop: out = {offset, length} of the message in the decrypted payload. */
int nsw_sphinx_recover(const uint8_t *payload, size_t len, uint32_t out[2]);

int nsw_ipc_recode(unsigned self, unsigned peer, const uint8_t *buf, size_t len, uint8_t *out,
                   size_t cap, size_t *out_len);
const char *nsw_ipc_type_name(unsigned type);
const char *nsw_ipc_strerror(int err);
unsigned nsw_ipc_catalogue_version(void);

#endif
