/* Sphinx payload: 16 zero bytes || message || 0x01 || zeros, layered with Lioness. */
#include "sphinx/sphinx.h"

#include <string.h>

#include "lioness.h"

int sphinx_encapsulate_payload(const uint8_t *msg, size_t msg_len, size_t payload_size,
                               const uint8_t (*keys)[SPHINX_PAYLOAD_KEY_LEN], size_t n_keys,
                               uint8_t *payload_out)
{
	if (payload_out == NULL || keys == NULL || (msg == NULL && msg_len > 0) || n_keys < 1 ||
	    n_keys > SPHINX_MAX_HOPS || payload_size <= SPHINX_MIN_PAYLOAD ||
	    msg_len > payload_size - SPHINX_PAYLOAD_OVERHEAD)
		return SPHINX_ERR_ARG;
	memset(payload_out, 0, SPHINX_SECURITY_PARAM);
	if (msg_len > 0)
		memmove(payload_out + SPHINX_SECURITY_PARAM, msg, msg_len);
	payload_out[SPHINX_SECURITY_PARAM + msg_len] = 0x01;
	memset(payload_out + SPHINX_PAYLOAD_OVERHEAD + msg_len, 0,
	       payload_size - SPHINX_PAYLOAD_OVERHEAD - msg_len);
	for (size_t i = n_keys; i-- > 0;)
		if (lioness_encrypt(keys[i], payload_out, payload_size) != 0)
			return SPHINX_ERR_CRYPTO;
	return SPHINX_OK;
}

int sphinx_recover_plaintext(const uint8_t *payload, size_t len, size_t *msg_off, size_t *msg_len)
{
	uint8_t nonzero = 0;
	size_t i;

	if (payload == NULL || msg_off == NULL || msg_len == NULL || len < SPHINX_PAYLOAD_OVERHEAD)
		return SPHINX_ERR_ARG;
	for (i = 0; i < SPHINX_SECURITY_PARAM; i++)
		nonzero |= payload[i];
	if (nonzero != 0)
		return SPHINX_ERR_PAYLOAD;
	for (i = len; i-- > SPHINX_SECURITY_PARAM;) {
		if (payload[i] == 0x01) {
			*msg_off = SPHINX_SECURITY_PARAM;
			*msg_len = i - SPHINX_SECURITY_PARAM;
			return SPHINX_OK;
		}
	}
	return SPHINX_ERR_PAYLOAD;
}
