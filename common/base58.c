/* Base58 (Bitcoin alphabet) with the bs58 crate's leading-zero rule: each leading 0x00
 * byte is one '1' and each leading '1' is one 0x00. Quadratic big-number conversion;
 * inputs here are keys and tags of a few dozen bytes. */
#include "base58.h"

#include <stdlib.h>
#include <string.h>

static const char B58_ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int b58_digit_value(unsigned char c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(B58_ALPHABET, c);
	return p ? (int)(p - B58_ALPHABET) : -1;
}

static size_t count_leading_zero_bytes(const uint8_t *in, size_t len)
{
	size_t n = 0;

	while (n < len && in[n] == 0)
		n++;
	return n;
}

long base58_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t zeros, digits_cap, ndigits = 0, total, i, j;
	uint8_t *digits;

	if ((!in && len) || !out)
		return -1;
	zeros = count_leading_zero_bytes(in, len);
	if (len - zeros > (SIZE_MAX - 1) / 138)
		return -1;
	digits_cap = (len - zeros) * 138 / 100 + 1;
	digits = calloc(digits_cap, 1);
	if (!digits)
		return -1;
	for (i = zeros; i < len; i++) {
		unsigned carry = in[i];

		for (j = 0; j < ndigits; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[ndigits++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	total = zeros + ndigits;
	if (total + 1 > cap) {
		free(digits);
		return -1;
	}
	memset(out, '1', zeros);
	for (j = 0; j < ndigits; j++)
		out[zeros + j] = B58_ALPHABET[digits[ndigits - 1 - j]];
	out[total] = '\0';
	free(digits);
	return (long)total;
}

long base58_decode(const char *in, uint8_t *out, size_t cap)
{
	size_t len, ones = 0, bytes_cap, nbytes = 0, i, j;
	uint8_t *bytes;

	if (!in || (!out && cap))
		return -1;
	len = strlen(in);
	while (ones < len && in[ones] == '1')
		ones++;
	bytes_cap = (len - ones) * 733 / 1000 + 1;
	bytes = calloc(bytes_cap, 1);
	if (!bytes)
		return -1;
	for (i = ones; i < len; i++) {
		int v = b58_digit_value((unsigned char)in[i]);
		unsigned carry;

		if (v < 0) {
			free(bytes);
			return -1;
		}
		carry = (unsigned)v;
		for (j = 0; j < nbytes; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		while (carry) {
			bytes[nbytes++] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
	}
	if (ones + nbytes > cap) {
		free(bytes);
		return -1;
	}
	memset(out, 0, ones);
	for (j = 0; j < nbytes; j++)
		out[ones + j] = bytes[nbytes - 1 - j];
	free(bytes);
	return (long)(ones + nbytes);
}
