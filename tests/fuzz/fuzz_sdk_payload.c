/* The SDK's payload encoding (common/sdk_payload.c): decode arbitrary messages; whatever
 * decodes must encode again to a message that decodes to the same fields and payload (the
 * encoder's output is the canonical form: the same bytes once more). Also: the lossy UTF-8
 * decode of any bytes is valid UTF-8 and leaves valid UTF-8 unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_fields(const struct ns_sdkp_decoded *a, const uint8_t *am,
                        const struct ns_sdkp_decoded *b, const uint8_t *bm)
{
	if (a->mime_len != b->mime_len || memcmp(a->mime, b->mime, a->mime_len) ||
	    !a->headers != !b->headers ||
	    (a->headers && (a->headers_len != b->headers_len ||
	                    memcmp(a->headers, b->headers, a->headers_len))) ||
	    a->payload_len != b->payload_len ||
	    memcmp(am + a->payload_off, bm + b->payload_off, a->payload_len))
		abort();
}

static uint8_t *reencode(const struct ns_sdkp_decoded *d, const uint8_t *msg, long *n)
{
	struct ns_sdkp_str mime = { d->mime, d->mime_len, 1 };
	struct ns_sdkp_str headers = { d->headers, d->headers_len, d->headers != NULL };
	*n = ns_sdkp_encoded_len(mime, headers, d->payload_len);
	if (*n < 0) /* decoded strings are always UTF-8 */
		abort();
	uint8_t *out = malloc((size_t)*n);
	if (!out || ns_sdkp_encode(mime, headers, msg + d->payload_off, d->payload_len, out,
	                           (size_t)*n) != *n)
		abort();
	return out;
}

static void check_codec(const uint8_t *data, size_t size)
{
	struct ns_sdkp_decoded d, d2, d3;
	if (ns_sdkp_decode(data, size, &d) < 0)
		return;
	long n, n2;
	uint8_t *m = reencode(&d, data, &n);
	if (ns_sdkp_decode(m, (size_t)n, &d2) < 0)
		abort();
	same_fields(&d, data, &d2, m);
	uint8_t *m2 = reencode(&d2, m, &n2);
	if (n2 != n || memcmp(m, m2, (size_t)n))
		abort();
	if (ns_sdkp_decode(m2, (size_t)n2, &d3) < 0)
		abort();
	ns_sdkp_decoded_free(&d);
	ns_sdkp_decoded_free(&d2);
	ns_sdkp_decoded_free(&d3);
	free(m);
	free(m2);
}

static void check_lossy(const uint8_t *data, size_t size)
{
	uint8_t *out = malloc(3 * size + 1);
	if (!out)
		abort();
	size_t n = ns_utf8_lossy(data, size, out);
	if (n > 3 * size || !ns_utf8_valid(out, n))
		abort();
	if (ns_utf8_valid(data, size) && (n != size || memcmp(out, data, size)))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_codec(data, size);
	check_lossy(data, size);
	return 0;
}
