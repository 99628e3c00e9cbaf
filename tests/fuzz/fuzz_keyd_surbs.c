/* keyd's handling of a SURBS_RECEIVED list (bytes from a remote sender, relayed by apid):
 * the list parser, the per-SURB check, the store and the reply-key lookup with outside
 * digests. Properties: a parsed list accounts for every byte; each SURB that passes the
 * check is stored and comes back byte for byte (oldest first, the reserve respected); an
 * outside digest never finds a key we did not store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../keyd/keyd_prep.c"
#include "../keyd/keyd_surbs.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void store_round_trip(const uint8_t *list, size_t count, size_t each, int reserve)
{
	struct nc_surbs_conf c = {
		.min_threshold = (size_t)reserve, .max_threshold = 200, .request_min = 10,
		.request_max = 50, .max_total = 64, .max_tags = 4, .max_queued_per_tag = 4,
	};
	struct nc_surbs *s = nc_surbs_new(&c);
	uint8_t tag[16] = { 0x42 }, out[NYM_REPLY_SURB_MAX_LEN];
	size_t idx[32], stored = 0;
	CHECK(s);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *surb = list + 4 + i * each;
		if (nc_prep_surb_check(surb, each) != 0)
			continue;
		CHECK(nc_surbs_add(s, tag, surb, each, 0) == 0);
		idx[stored++] = i;
	}
	nc_surbs_received(s, tag, stored, 0);
	CHECK(nc_surbs_available(s, tag) == stored);
	for (size_t i = 0; i < stored; i++) {
		int ignore = stored - i <= (size_t)reserve;
		long n = nc_surbs_take(s, tag, 0, out, sizeof out);
		if (ignore) {
			CHECK(n == -1);
			n = nc_surbs_take(s, tag, 1, out, sizeof out);
		}
		CHECK(n == (long)each);
		CHECK(!memcmp(out, list + 4 + idx[i] * each, each));
	}
	CHECK(nc_surbs_take(s, tag, 1, out, sizeof out) == -1);
	nc_surbs_free(s);
}

static void digest_lookups(const uint8_t *data, size_t size)
{
	static struct nc_rkeys *k;
	uint8_t key[16] = { 1 }, digest[32], got[16];
	if (!k) {
		k = nc_rkeys_new(64, UINT64_MAX);
		CHECK(k);
		for (int i = 0; i < 64; i++) {
			key[1] = (uint8_t)i;
			nym_surb_key_digest(key, digest);
			nc_rkeys_add(k, digest, key, 0);
		}
	}
	for (size_t off = 0; off + 32 <= size; off += 32)
		CHECK(nc_rkeys_take(k, data + off, got, 0) == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count = 0, each = 0;
	if (size < 1)
		return 0;
	int reserve = data[0] & 7;
	data++, size--;
	digest_lookups(data, size);
	if (nc_surb_list_parse(data, size, 32, &count, &each) != 0)
		return 0;
	CHECK(count <= 32);
	CHECK(4 + count * each == size);
	if (each <= NYM_REPLY_SURB_MAX_LEN)
		store_round_trip(data, count, each, reserve);
	return 0;
}
