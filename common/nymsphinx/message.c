/* NymMessage framing and padding to whole fragments. */
#include "nymsphinx/message.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nymsphinx/chunking.h"
#include "nymsphinx/params.h"

size_t nym_msg_plaintext_per_packet(int packet_size_tag)
{
	size_t plaintext = nym_packet_plaintext_size(packet_size_tag);

	if (plaintext <= NYM_ACK_OVERHEAD + NYM_MSG_VARIANT_OVERHEAD)
		return 0;
	return plaintext - NYM_ACK_OVERHEAD - NYM_MSG_VARIANT_OVERHEAD;
}

/* Bytes before padding: type byte + inner + the 0x01 marker. */
static int unpadded_len(size_t inner_len, size_t *out)
{
	if (inner_len > SIZE_MAX - 2)
		return -1;
	*out = inner_len + 1 + NYM_MIN_PADDING_OVERHEAD;
	return 0;
}

size_t nym_msg_padded_len(size_t inner_len, size_t ppp)
{
	size_t need, space_left = 0;

	if (unpadded_len(inner_len, &need) != 0)
		return 0;
	if (nym_chunk_required_fragments(need, ppp, &space_left) == 0)
		return 0;
	if (need > SIZE_MAX - space_left)
		return 0;
	return need + space_left;
}

size_t nym_msg_required_packets(size_t inner_len, size_t ppp)
{
	size_t need;

	if (unpadded_len(inner_len, &need) != 0)
		return 0;
	return nym_chunk_required_fragments(need, ppp, NULL);
}

static int message_type_valid(int type)
{
	return type == NYM_MSG_PLAIN || type == NYM_MSG_REPLIABLE || type == NYM_MSG_REPLY;
}

long nym_msg_pad(enum nym_message_type type, const uint8_t *inner, size_t inner_len, size_t ppp,
                 uint8_t *out, size_t cap)
{
	size_t total = nym_msg_padded_len(inner_len, ppp);

	if (!message_type_valid((int)type))
		return NYM_MSG_ERR_TYPE;
	if (total == 0 || !out || cap < total || (inner_len && !inner) || total > (size_t)LONG_MAX)
		return NYM_MSG_ERR_ARG;
	out[0] = (uint8_t)type;
	if (inner_len)
		memmove(out + 1, inner, inner_len);
	out[1 + inner_len] = 0x01;
	memset(out + 2 + inner_len, 0, total - 2 - inner_len);
	return (long)total;
}

uint8_t *nym_msg_pad_alloc(enum nym_message_type type, const uint8_t *inner, size_t inner_len,
                           size_t ppp, size_t *out_len)
{
	size_t total = nym_msg_padded_len(inner_len, ppp);
	uint8_t *buf;

	if (total == 0 || !out_len)
		return NULL;
	buf = malloc(total);
	if (!buf)
		return NULL;
	if (nym_msg_pad(type, inner, inner_len, ppp, buf, total) < 0) {
		free(buf);
		return NULL;
	}
	*out_len = total;
	return buf;
}

int nym_msg_unpad(const uint8_t *padded, size_t len, enum nym_message_type *type,
                  const uint8_t **inner, size_t *inner_len)
{
	size_t end = len;

	if ((!padded && len) || !type || !inner || !inner_len)
		return NYM_MSG_ERR_ARG;
	while (end > 0 && padded[end - 1] != 0x01)
		end--;
	if (end == 0)
		return NYM_MSG_ERR_PADDING;
	end--; /* index of the last 0x01 */
	if (end == 0)
		return NYM_MSG_ERR_EMPTY;
	if (!message_type_valid(padded[0]))
		return NYM_MSG_ERR_TYPE;
	*type = (enum nym_message_type)padded[0];
	*inner = padded + 1;
	*inner_len = end - 1;
	return NYM_MSG_OK;
}
