/* The dotenv reader (common/dotenv.c): any bytes, every pair's key matches the key grammar
 * and its value stays within the bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const char *key, const char *value)
{
	(void)ctx;
	size_t k = strlen(key);
	if (!k || k > NS_DOTENV_MAX_KEY || strlen(value) > NS_DOTENV_MAX_VALUE)
		abort();
	if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789.") != k)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	ns_dotenv_parse((const char *)data, size, check, NULL, err, sizeof err);
	return 0;
}
