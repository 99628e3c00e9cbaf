/* Addressing decoders. First byte picks the decoder, the rest is its input:
 *   0: recipient string  -> on success to_string must give the same text back, and the
 *                           96 bytes must parse again to the same keys
 *   1: node address bytes -> re-encoding gives the consumed prefix; text round trip
 *   2: node address text  -> format then parse gives the same address
 *   3: sender tag string  -> to_string gives the same text
 *   4: recipient bytes (96) -> to_string / from_string round trip */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ns_crypto_init();
}

static char *as_text(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);

	if (!t)
		abort();
	memcpy(t, data, size);
	t[size] = '\0';
	return t;
}

static void recipient_roundtrip(const struct nym_recipient *r)
{
	char text[NYM_RECIPIENT_STR_MAX];
	uint8_t bytes[NYM_RECIPIENT_LEN];
	struct nym_recipient again;

	if (nym_recipient_to_string(r, text, sizeof(text)) < 0)
		abort();
	if (nym_recipient_from_string(text, &again) != 0 || memcmp(&again, r, sizeof(again)) != 0)
		abort();
	nym_recipient_to_bytes(r, bytes);
	if (nym_recipient_from_bytes(bytes, &again) != 0 || memcmp(&again, r, sizeof(again)) != 0)
		abort();
}

static void fuzz_recipient_string(const uint8_t *data, size_t size)
{
	char *text = as_text(data, size), out[NYM_RECIPIENT_STR_MAX];
	struct nym_recipient r;

	if (nym_recipient_from_string(text, &r) == 0) {
		if (nym_recipient_to_string(&r, out, sizeof(out)) < 0 || strcmp(out, text) != 0)
			abort();
		recipient_roundtrip(&r);
	}
	free(text);
}

static void fuzz_recipient_bytes(const uint8_t *data, size_t size)
{
	struct nym_recipient r;

	if (size < NYM_RECIPIENT_LEN)
		return;
	if (nym_recipient_from_bytes(data, &r) == 0) {
		if (memcmp(r.identity, data, 32) || memcmp(r.encryption_key, data + 32, 32) ||
		    memcmp(r.gateway, data + 64, 32))
			abort();
		recipient_roundtrip(&r);
	} else if (nym_ed25519_pk_decompresses(data) && nym_ed25519_pk_decompresses(data + 64)) {
		abort();
	}
}

static void address_text_roundtrip(const struct nym_node_address *a)
{
	char text[NYM_NODE_ADDR_STR_MAX];
	struct nym_node_address again;

	if (nym_node_address_format(a, text, sizeof(text)) < 0)
		abort();
	if (nym_node_address_parse(text, &again) != 0 || !nym_node_address_equal(&again, a))
		abort();
}

static void fuzz_node_bytes(const uint8_t *data, size_t size)
{
	struct nym_node_address a;
	uint8_t enc[NYM_NODE_ADDR_PADDED_LEN];
	long n = nym_node_address_decode(data, size, &a);

	if (n < 0)
		return;
	if (nym_node_address_encode(&a, enc, sizeof(enc)) != n || memcmp(enc, data, (size_t)n) != 0)
		abort();
	address_text_roundtrip(&a);
}

static void fuzz_node_text(const uint8_t *data, size_t size)
{
	char *text = as_text(data, size);
	struct nym_node_address a;

	if (nym_node_address_parse(text, &a) == 0)
		address_text_roundtrip(&a);
	free(text);
}

static void fuzz_sender_tag(const uint8_t *data, size_t size)
{
	char *text = as_text(data, size), out[NYM_SENDER_TAG_STR_MAX];
	uint8_t tag[NYM_SENDER_TAG_LEN];

	if (nym_sender_tag_from_string(text, tag) == 0) {
		if (nym_sender_tag_to_string(tag, out, sizeof(out)) < 0 || strcmp(out, text) != 0)
			abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	switch (data[0] % 5) {
	case 0: fuzz_recipient_string(data + 1, size - 1); break;
	case 1: fuzz_node_bytes(data + 1, size - 1); break;
	case 2: fuzz_node_text(data + 1, size - 1); break;
	case 3: fuzz_sender_tag(data + 1, size - 1); break;
	default: fuzz_recipient_bytes(data + 1, size - 1); break;
	}
	return 0;
}
