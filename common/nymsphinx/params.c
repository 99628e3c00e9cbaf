/* nym-sphinx params: the size table and small enum validators. */
#include "nymsphinx/params.h"

#include <string.h>

struct packet_size_row {
	int tag;
	size_t size;
	const char *name;
};

/* get_type() checks in this order: regular, ack, ext8, ext16, ext32 (sizes are distinct). */
static const struct packet_size_row PACKET_SIZES[] = {
	{ NYM_PACKET_REGULAR, NYM_PACKET_REGULAR_SIZE, "regular" },
	{ NYM_PACKET_ACK, NYM_PACKET_ACK_SIZE, "ack" },
	{ NYM_PACKET_EXTENDED8, NYM_PACKET_EXTENDED8_SIZE, "extended8" },
	{ NYM_PACKET_EXTENDED16, NYM_PACKET_EXTENDED16_SIZE, "extended16" },
	{ NYM_PACKET_EXTENDED32, NYM_PACKET_EXTENDED32_SIZE, "extended32" },
};
#define N_PACKET_SIZES (sizeof(PACKET_SIZES) / sizeof(PACKET_SIZES[0]))

static const struct packet_size_row *row_for_tag(int tag)
{
	for (size_t i = 0; i < N_PACKET_SIZES; i++)
		if (PACKET_SIZES[i].tag == tag)
			return &PACKET_SIZES[i];
	return NULL;
}

int nym_packet_size_valid(int tag)
{
	return row_for_tag(tag) != NULL;
}

size_t nym_packet_size_bytes(int tag)
{
	const struct packet_size_row *row = row_for_tag(tag);

	return row ? row->size : 0;
}

size_t nym_packet_payload_size(int tag)
{
	const struct packet_size_row *row = row_for_tag(tag);

	return row ? row->size - NYM_SPHINX_HEADER_SIZE : 0;
}

size_t nym_packet_plaintext_size(int tag)
{
	const struct packet_size_row *row = row_for_tag(tag);

	return row ? row->size - NYM_SPHINX_OVERHEAD : 0;
}

int nym_packet_size_from_len(size_t packet_len)
{
	for (size_t i = 0; i < N_PACKET_SIZES; i++)
		if (PACKET_SIZES[i].size == packet_len)
			return PACKET_SIZES[i].tag;
	return -1;
}

int nym_packet_size_from_plaintext(size_t plaintext_len)
{
	if (plaintext_len > SIZE_MAX - NYM_SPHINX_OVERHEAD)
		return -1;
	return nym_packet_size_from_len(plaintext_len + NYM_SPHINX_OVERHEAD);
}

const char *nym_packet_size_name(int tag)
{
	const struct packet_size_row *row = row_for_tag(tag);

	return row ? row->name : NULL;
}

int nym_packet_size_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < N_PACKET_SIZES; i++)
		if (strcmp(PACKET_SIZES[i].name, name) == 0)
			return PACKET_SIZES[i].tag;
	return -1;
}

int nym_packet_type_valid(int type)
{
	return type == NYM_PACKET_TYPE_MIX || type == NYM_PACKET_TYPE_OUTFOX;
}

int nym_key_rotation_valid(int rotation)
{
	return rotation == NYM_KEY_ROTATION_UNKNOWN || rotation == NYM_KEY_ROTATION_ODD ||
	       rotation == NYM_KEY_ROTATION_EVEN;
}

enum nym_key_rotation nym_key_rotation_from_id(uint32_t rotation_id)
{
	if (rotation_id == 0 || rotation_id == UINT32_MAX)
		return NYM_KEY_ROTATION_UNKNOWN;
	return (rotation_id % 2 == 0) ? NYM_KEY_ROTATION_EVEN : NYM_KEY_ROTATION_ODD;
}
