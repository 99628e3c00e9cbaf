/* Unix-socket API framing decoder (ns_lframe_feed). The first input byte picks a chunk size
 * (1..256) and a small limit or the real one; the rest is fed as a byte stream. Properties:
 *  - every frame returned is at most the limit and a refusal happens exactly when a header
 *    announces more than the limit;
 *  - round trip: the frames returned, re-framed with ns_lframe_header, reproduce the consumed
 *    stream byte for byte (no byte lost, added or reordered, whatever the chunking);
 *  - the decoder never holds more than twice the bytes that arrived (+ 8 KiB). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientlocal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)(data[0] & 0x7f) + 1, limit = data[0] & 0x80 ? 300 : 0;
	data++, size--;
	struct ns_lframe_dec d;
	ns_lframe_dec_init(&d, limit);
	uint8_t *re = malloc(size + 1);
	size_t re_len = 0, pos = 0;
	int refused = 0;
	while (pos < size && !refused) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		while (n) {
			uint8_t *f = NULL;
			size_t used = 0, fl = 0;
			int rc = ns_lframe_feed(&d, data + pos, n, &used, &f, &fl);
			if (used > n)
				abort();
			pos += used;
			n -= used;
			if (rc == NS_LFRAME_EBIG) {
				if (d.want <= d.max)
					abort();
				refused = 1;
				break;
			}
			if (rc == NS_LFRAME_ENOMEM)
				abort();
			if (d.cap > 2 * d.have + 8192)
				abort();
			if (rc == NS_LFRAME_DONE) {
				if (!f || fl > d.max)
					abort();
				ns_lframe_header(fl, re + re_len);
				memcpy(re + re_len + NS_LFRAME_HDR, f, fl);
				re_len += NS_LFRAME_HDR + fl;
				free(f);
			} else if (n) {
				abort(); /* MORE must consume everything */
			}
		}
	}
	/* what was consumed = complete frames re-encoded + the pending partial frame */
	size_t pending = (d.hdr_have < NS_LFRAME_HDR ? d.hdr_have : NS_LFRAME_HDR) + d.have;
	if (refused)
		pending = NS_LFRAME_HDR;
	if (re_len + pending != pos || memcmp(re, data, re_len))
		abort();
	free(re);
	ns_lframe_dec_free(&d);
	return 0;
}
