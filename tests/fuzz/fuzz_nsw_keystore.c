/* The key Worker's unsealer (wasm/c/nsw_keystore.c), natively. First byte 0: the rest is a
 * stored record, opened without and with a passphrase (records asking for more than a light
 * Argon2 are skipped: their bound is the unit test's); it must be refused, or open to a store
 * that seals to a record that opens to the same address, gateway URL and registration.
 * First byte 1: the rest is a plaintext sealed here in the documented no-passphrase format,
 * so the checks behind the AEAD (URL length and bytes, flags) see arbitrary input too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crypto.h"
#include "nsw_api.h"
#include "nsw_keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t ID[] = "fuzz";

static void round_trip(struct nsw_keystore *ks, const uint8_t *pass, size_t pass_len)
{
	uint8_t a[96], b[96];
	int err;
	size_t cap = nsw_keystore_sealed_len(ks);
	uint8_t *s = malloc(cap);
	if (!s || nsw_keystore_seal(ks, s, cap) != (long)cap)
		abort();
	struct nsw_keystore *again = nsw_keystore_open(s, cap, ID, sizeof ID - 1, pass, pass_len, &err);
	if (!again)
		abort();
	nsw_keystore_address(ks, a);
	nsw_keystore_address(again, b);
	if (memcmp(a, b, 96) || strcmp(nsw_keystore_url(ks), nsw_keystore_url(again)) ||
	    nsw_keystore_registered(ks) != nsw_keystore_registered(again))
		abort();
	nsw_keystore_free(again);
	free(s);
}

static void try_open(const uint8_t *rec, size_t len, const uint8_t *pass, size_t pass_len)
{
	int err = 0;
	struct nsw_keystore *ks = nsw_keystore_open(rec, len, ID, sizeof ID - 1, pass, pass_len, &err);
	if (!ks) {
		if (err >= 0)
			abort();
		return;
	}
	round_trip(ks, pass, pass_len);
	nsw_keystore_free(ks);
}

static void sealed_plaintext(const uint8_t *plain, size_t n)
{
	uint8_t zero[32] = { 0 }, aad[NSW_KS_HEADER_LEN + sizeof ID];
	size_t len = NSW_KS_HEADER_LEN + n + 16;
	uint8_t *rec = calloc(1, len);
	if (!rec)
		abort();
	memcpy(rec, "NSKS\1\0", 6);
	memcpy(aad, rec, NSW_KS_HEADER_LEN);
	memcpy(aad + NSW_KS_HEADER_LEN, ID, sizeof ID - 1);
	if (ns_gcmsiv_seal(rec + NSW_KS_HEADER_LEN, plain, n, aad, NSW_KS_HEADER_LEN + sizeof ID - 1,
	                   zero, rec + 30) != 0)
		abort();
	try_open(rec, len, NULL, 0);
	free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready && ns_crypto_init() != 0)
		abort();
	ready = 1;
	if (size < 1 || size > 2048)
		return 0;
	if (data[0] == 1) {
		sealed_plaintext(data + 1, size - 1);
		return 0;
	}
	const uint8_t *rec = data + 1;
	size_t len = size - 1;
	if (len >= NSW_KS_HEADER_LEN && rec[5] == 1 && (ns_get_be32(rec + 6) > 1 || ns_get_be32(rec + 10) > 64))
		return 0;
	try_open(rec, len, NULL, 0);
	try_open(rec, len, (const uint8_t *)"p", 1);
	return 0;
}
