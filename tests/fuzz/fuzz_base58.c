/* base58: decode arbitrary text; a successful decode must re-encode to the same text
 * (bs58 strings and byte strings are in one-to-one correspondence). Also encode the raw
 * bytes and decode them back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decode(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *again = malloc(2 * size + 2);
	uint8_t *bin = malloc(size + 1);
	long n;

	if (!text || !again || !bin)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	n = base58_decode(text, bin, size + 1);
	if (n >= 0) {
		if (base58_encode(bin, (size_t)n, again, 2 * size + 2) != (long)strlen(text))
			abort();
		if (strcmp(again, text) != 0)
			abort();
	}
	free(text);
	free(again);
	free(bin);
}

static void check_encode(const uint8_t *data, size_t size)
{
	size_t cap = size * 2 + 2;
	char *text = malloc(cap);
	uint8_t *back = malloc(size + 1);
	long n;

	if (!text || !back)
		abort();
	n = base58_encode(data, size, text, cap);
	if (n < 0 || (size_t)n != strlen(text))
		abort();
	if (base58_decode(text, back, size + 1) != (long)size || memcmp(back, data, size) != 0)
		abort();
	/* one byte less room must fail, never overflow */
	if (size > 0 && base58_decode(text, back, size - 1) != -1)
		abort();
	free(text);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024) /* quadratic conversion; keys and tags are < 100 characters */
		return 0;
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
