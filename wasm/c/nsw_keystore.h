/* The key Worker's sealed key store (nsw_keystore.c): a client's keys (the 153-byte keyd
 * blob of nsw_keyd_new) and its gateway's URL live only in the module's memory; JavaScript
 * holds them sealed, to put in IndexedDB. The public calls are in nsw_api.h; this header is
 * what nsw_keyd.c needs to build keyd from a store and to seal it again when keyd's gateway
 * key or authentication timestamp changes.
 *
 * Sealed record (all integers big-endian):
 *   "NSKS" | version 1 | mode (0: no passphrase, 1: Argon2id) | ops (4) | mem KiB (4) |
 *   salt (16) | nonce (12) || AES-256-GCM-SIV(keys (153) | url length (2) | url) || tag (16)
 * with the 42-byte header and the clientId as associated data. Mode 1's key is Argon2id of
 * the passphrase; mode 0's is 32 zero bytes: no secret, an integrity check only. */
#ifndef NSW_KEYSTORE_H
#define NSW_KEYSTORE_H
#include <stddef.h>
#include <stdint.h>

#define NSW_KS_HEADER_LEN 42
#define NSW_KS_URL_MAX 512
#define NSW_KS_CLIENT_ID_MAX 256
/* what we write: the parameters of Nym's wasm storage (OWASP's Argon2id minimum) */
#define NSW_KS_OPS 2
#define NSW_KS_MEM_KIB (19 * 1024)
/* what a record may ask for: bounds on the time and memory a tampered record costs */
#define NSW_KS_OPS_MAX 10
#define NSW_KS_MEM_KIB_MAX (64 * 1024)

enum nsw_ks_err {
	NSW_KS_EFORMAT = -1,     /* not a sealed record of ours */
	NSW_KS_ENEEDPASS = -2,   /* sealed with a passphrase and none was given */
	NSW_KS_EUNEXPECTED = -3, /* sealed without a passphrase and one was given */
	NSW_KS_EOPEN = -4,       /* wrong passphrase, another clientId, or tampered */
	NSW_KS_ENOMEM = -5,
	NSW_KS_EARG = -6, /* an empty passphrase, a clientId or URL too long */
};

struct nsw_keystore;

/* The 153 keyd bytes, inside the store (nsw_keyd.c reads them to build keyd and updates the
 * gateway key and timestamp in place before sealing again). */
uint8_t *nsw_keystore_keys(struct nsw_keystore *ks);

#endif
