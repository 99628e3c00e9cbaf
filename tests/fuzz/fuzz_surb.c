/* sphinx_surb_from_bytes on outside bytes: accepted exactly for header || first hop ||
 * 1..5 x 192-byte keys or 1..5 x 16-byte seeds; to_bytes must give the input back, and an
 * accepted SURB must be usable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sphinx/sphinx.h"

#define FIXED (SPHINX_HEADER_LEN + SPHINX_NODE_ADDR_LEN)
#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int expect_accepted(size_t size)
{
	size_t rest;
	if (size <= FIXED)
		return 0;
	rest = size - FIXED;
	return (rest % 192 == 0 && rest / 192 <= SPHINX_MAX_HOPS) ||
	       (rest % 16 == 0 && rest / 16 <= SPHINX_MAX_HOPS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static struct sphinx_surb surb;
	static uint8_t again[FIXED + SPHINX_MAX_HOPS * 192 + 1];
	static uint8_t pkt[SPHINX_HEADER_LEN + 38];
	int rc;
	long n;

	if (!init) {
		CHECK(ns_crypto_init() == 0);
		init = 1;
	}
	rc = sphinx_surb_from_bytes(data, size, &surb);
	CHECK((rc == SPHINX_OK) == expect_accepted(size));
	if (rc != SPHINX_OK) {
		CHECK(rc == SPHINX_ERR_ARG);
		return 0;
	}
	n = sphinx_surb_to_bytes(&surb, again, sizeof again);
	CHECK(n >= 0 && (size_t)n == size && memcmp(again, data, size) == 0);
	CHECK(sphinx_surb_to_bytes(&surb, again, size - 1) == -1);
	CHECK(sphinx_surb_use(&surb, (const uint8_t *)"ack", 3, 38, pkt) == SPHINX_OK);
	CHECK(memcmp(pkt, data, SPHINX_HEADER_LEN) == 0);
	return 0;
}
