/* Fresh X25519 key pairs for the ephemeral keys of packets: a Sphinx header's alpha_0 and the
 * end-to-end payload key. Natively each pair comes from a per-thread pool that is filled a
 * batch at a time (see ephemeral.c); in wasm, straight from ns_random and ns_x25519_base. */
#ifndef NS_EPHEMERAL_H
#define NS_EPHEMERAL_H
#include <stdint.h>

/* A random secret (32 bytes as X25519 takes them, unclamped) and public_key =
 * ns_x25519_base(secret). A pair is handed out once; the pool keeps no copy. */
void ns_x25519_ephemeral(uint8_t secret[32], uint8_t public_key[32]);

#endif
