/* data/nymsuite-unsent.bin records (ns_unsent_decode / ns_unsent_encode). Properties:
 *  - decoding arbitrary bytes as a file (record after record) never reads past the input,
 *    and every accepted record re-encodes to exactly the bytes it was read from;
 *  - round trip: a record built from the input (id, recipient, lane, fragment) encodes,
 *    decodes to the same fields, and any single flipped byte of it is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientlocal.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t buf[NS_UNSENT_OVERHEAD + NS_UNSENT_FRAG_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return ns_crypto_init();
}

static void check_file(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct ns_unsent_rec r;
		size_t n = ns_unsent_decode(data + off, size - off, &r, NULL, 0);
		if (!n)
			return;
		if (n > size - off || r.fragment < data + off || r.fragment + r.len > data + off + n)
			abort();
		if (ns_unsent_encode(&r, buf, sizeof buf) != n || memcmp(buf, data + off, n))
			abort();
		off += n;
	}
}

static void check_round_trip(const uint8_t *data, size_t size)
{
	if (size < 5 + 96 + 8 + 1 + 2)
		return;
	struct ns_unsent_rec r, back;
	memcpy(r.frag_id, data, 5);
	memcpy(r.recipient, data + 5, 96);
	memcpy(&r.lane, data + 101, 8);
	uint16_t flip;
	memcpy(&flip, data + 109, 2);
	r.fragment = data + 111;
	r.len = size - 111;
	size_t n = ns_unsent_encode(&r, buf, sizeof buf);
	if (!n) {
		if (r.len >= 1 && r.len <= NS_UNSENT_FRAG_MAX)
			abort();
		return;
	}
	if (ns_unsent_decode(buf, n, &back, NULL, 0) != n || memcmp(back.frag_id, r.frag_id, 5) ||
	    memcmp(back.recipient, r.recipient, 96) || back.lane != r.lane || back.len != r.len ||
	    memcmp(back.fragment, r.fragment, r.len))
		abort();
	size_t at = flip % n;
	buf[at] ^= (uint8_t)(1u << (flip >> 13));
	if (ns_unsent_decode(buf, n, &back, NULL, 0) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file(data, size);
	check_round_trip(data, size);
	return 0;
}
