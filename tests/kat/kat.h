/* Known-answer checks against a real-client vector file (tests/vectors/README.md).
 *
 * Every value is read through these accessors, which record that the field was
 * consulted. After all checks the runner lists each leaf field of the file that
 * no check read and counts it as a failure, so "every field present is checked"
 * is enforced, not promised. */
#ifndef NS_KAT_H
#define NS_KAT_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct kat {
	const char *item;   /* what is being checked now (packet name, "gateway", ...) */
	int item_failures;
	char first_error[512];
};

/* Records a failure of the current item (printf-style message). */
void kat_fail(struct kat *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lookup that marks the field as read. NULL if absent. */
const cJSON *kat_get(const cJSON *obj, const char *key);
/* Marks every element of an array as read; call it once the elements were compared. */
void kat_mark_items(const cJSON *array);
/* Marks a prose/informational field (description, names) as read without checking it. */
void kat_note(const cJSON *obj, const char *key);

/* Reads a hex field into buf (cap bytes). Returns length, or -1 (fails the item) if
 * absent or malformed. */
long kat_hex(struct kat *k, const cJSON *obj, const char *key, uint8_t *buf, size_t cap);
/* Same into a malloc'd buffer (caller frees); NULL and a failure if absent/bad. */
uint8_t *kat_hex_alloc(struct kat *k, const cJSON *obj, const char *key, size_t *len);
/* Reads an integer field given as a JSON number or a decimal string. -1 + failure if absent. */
int kat_u64(struct kat *k, const cJSON *obj, const char *key, uint64_t *out);
const char *kat_str(struct kat *k, const cJSON *obj, const char *key);

/* If obj has key: compare it with got and fail the item on a mismatch.
 * A missing key is not an error: files may carry a subset. Returns 0 if equal or absent. */
int kat_expect_hex(struct kat *k, const cJSON *obj, const char *key, const uint8_t *got, size_t len);
int kat_expect_u64(struct kat *k, const cJSON *obj, const char *key, uint64_t got);
int kat_expect_str(struct kat *k, const cJSON *obj, const char *key, const char *got);
int kat_expect_bool(struct kat *k, const cJSON *obj, const char *key, int got);
/* Expects SHA-256(data) to equal the hex field. */
int kat_expect_sha256(struct kat *k, const cJSON *obj, const char *key, const uint8_t *data, size_t len);

/* Finds packets[] entry / network.nodes[] entry by name / node id (marks nothing). */
const cJSON *kat_find_packet(const cJSON *root, const char *name);
const cJSON *kat_find_node(const cJSON *root, uint64_t node_id);

/* The checks, one module each. Weak: a module that is not linked in reports its
 * check as a failure instead of silently passing. */
/* kat_sphinx.c: process every hop with node keys; rebuild the Sphinx packet from build_inputs. */
void kat_packet_process(struct kat *k, const cJSON *root, const cJSON *pkt) __attribute__((weak));
void kat_packet_rebuild_sphinx(struct kat *k, const cJSON *root, const cJSON *pkt) __attribute__((weak));
/* kat_nym.c: split the SURB-ack off, decrypt for the client (e2e / reply key / ack key),
 * parse the fragment; rebuild sphinx_plaintext (SURB-ack, e2e/reply encryption) from inputs;
 * gateway frame of the packet. */
void kat_packet_decrypt(struct kat *k, const cJSON *root, const cJSON *pkt) __attribute__((weak));
void kat_packet_rebuild_nym(struct kat *k, const cJSON *root, const cJSON *pkt) __attribute__((weak));
/* kat_nym.c: reassemble messages[] from their packets; the injected V1 message; network/client keys. */
void kat_message(struct kat *k, const cJSON *root, const cJSON *msg) __attribute__((weak));
void kat_injected_v1(struct kat *k, const cJSON *root, const cJSON *inj) __attribute__((weak));
void kat_identities(struct kat *k, const cJSON *root) __attribute__((weak));
/* kat_gateway.c: open packets[].gateway_frame with its session key, parse the plaintext as a
 * client->gateway mix packet and check packets[].mix_packet.{packet_type,key_rotation,first_hop*}. */
void kat_packet_gateway_frame(struct kat *k, const cJSON *root, const cJSON *pkt) __attribute__((weak));
/* kat_gateway.c: registration handshake, authenticateV2, frames, text frames. */
void kat_gateway(struct kat *k, const cJSON *root, const cJSON *gw) __attribute__((weak));

#endif
