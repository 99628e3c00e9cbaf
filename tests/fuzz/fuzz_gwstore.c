/* The gateway store's two file formats (common/gwstore.h): any bytes either fail to
 * decode or decode to a value that encodes back to exactly the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gwstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		ns_crypto_init();
		ready = 1;
	}
	struct ns_gwstore_client c;
	if (ns_gwstore_client_decode(data, size, &c) == 0) {
		uint8_t again[NS_GWSTORE_CLIENT_REC_LEN];
		ns_gwstore_client_encode(&c, again);
		if (size != sizeof again || memcmp(again, data, size) != 0)
			abort();
	}
	uint64_t at;
	const uint8_t *msg;
	size_t len;
	if (ns_gwstore_msg_decode(data, size, &at, &msg, &len) == 0) {
		if (msg < data || msg + len > data + size)
			abort();
		uint8_t *again = malloc(len + NS_GWSTORE_MSG_OVERHEAD);
		long n = ns_gwstore_msg_encode(at, msg, len, again, len + NS_GWSTORE_MSG_OVERHEAD);
		if (n != (long)size || memcmp(again, data, size) != 0)
			abort();
		free(again);
	}
	return 0;
}
