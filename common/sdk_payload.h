/* The payload encoding of @nymproject/sdk's mixnet client (Nym's wasm client,
 * encoded_payload_helper.rs), so that an app on our browser client and an app on the SDK
 * understand each other's send():
 *   u64 big-endian length of a JSON header || {"mimeType":…,"headers":…} || payload bytes.
 * Encoding is serde_json's to_string of the two fields in that order (headers a string or
 * null). Decoding accepts and refuses what the SDK's wasm32 build does: only the low 32 bits
 * of the length count; the JSON is what serde's derived struct takes (an object with
 * mimeType required, headers missing or null = none, unknown keys skipped, a duplicate key
 * refused; or the two-element array form), nothing but JSON whitespace after it. */
#ifndef NS_SDK_PAYLOAD_H
#define NS_SDK_PAYLOAD_H
#include <stddef.h>
#include <stdint.h>

#define NS_SDKP_PREFIX_LEN 8

enum ns_sdkp_err {
	NS_SDKP_ESHORT = -1,  /* fewer than 8 bytes */
	NS_SDKP_ELENGTH = -2, /* the header length runs past the message */
	NS_SDKP_EJSON = -3,   /* not JSON serde_json accepts, or a field of the wrong type */
	NS_SDKP_EMIME = -4,   /* no mimeType */
	NS_SDKP_EDUP = -5,    /* a field given twice */
	NS_SDKP_EUTF8 = -6,   /* encode: a mime type or headers that is not UTF-8 */
	NS_SDKP_ESPACE = -7,  /* encode: out too small */
	NS_SDKP_ENOMEM = -8,
};

/* A string as the encoder takes it: UTF-8 bytes; has = 0 for headers' null. */
struct ns_sdkp_str {
	const uint8_t *ptr;
	size_t len;
	int has;
};

/* Bytes of the whole encoded message for these fields, or a negative ns_sdkp_err
 * (NS_SDKP_EUTF8). */
long ns_sdkp_encoded_len(struct ns_sdkp_str mime, struct ns_sdkp_str headers, size_t payload_len);
/* Writes the message into out; its length, or a negative ns_sdkp_err. */
long ns_sdkp_encode(struct ns_sdkp_str mime, struct ns_sdkp_str headers, const uint8_t *payload,
                    size_t payload_len, uint8_t *out, size_t cap);

struct ns_sdkp_decoded {
	uint8_t *mime; /* unescaped UTF-8, NUL-terminated, malloc'd */
	size_t mime_len;
	uint8_t *headers; /* NULL when missing or null */
	size_t headers_len;
	size_t payload_off, payload_len; /* the payload inside the decoded message */
};

/* 0, or a negative ns_sdkp_err (d is then empty). */
int ns_sdkp_decode(const uint8_t *msg, size_t len, struct ns_sdkp_decoded *d);
void ns_sdkp_decoded_free(struct ns_sdkp_decoded *d);
const char *ns_sdkp_strerror(int err);

/* Rust's String::from_utf8_lossy (the SDK's text payloads): each invalid sequence (maximal
 * subpart) becomes U+FFFD. out must hold 3 * len bytes; the length written. */
size_t ns_utf8_lossy(const uint8_t *in, size_t len, uint8_t *out);
/* 1 if the bytes are UTF-8 as Rust's str::from_utf8 accepts it. */
int ns_utf8_valid(const uint8_t *in, size_t len);

#endif
