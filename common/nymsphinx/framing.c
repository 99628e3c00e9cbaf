/* NymCodec mix-to-mix frames and the client->gateway MixPacket form. */
#include "nymsphinx/framing.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ frame header ---- */

size_t nym_frame_header_len(const struct nym_frame_header *h)
{
	return h->version == NYM_PACKET_VERSION_LEGACY ? NYM_FRAME_HEADER_LEGACY_LEN
	                                               : NYM_FRAME_HEADER_V8_LEN;
}

static int check_version(uint8_t version)
{
	if (version < NYM_PACKET_VERSION_LEGACY)
		return NYM_FRAME_ERR_VERSION;
	if (version > NYM_PACKET_VERSION_CURRENT)
		return NYM_FRAME_ERR_UNSUPPORTED;
	return NYM_FRAME_OK;
}

int nym_frame_header_validate(const struct nym_frame_header *h)
{
	int rc;

	if (!h)
		return NYM_FRAME_ERR_ARG;
	rc = check_version(h->version);
	if (rc)
		return rc;
	if (!nym_packet_size_valid(h->size_tag))
		return NYM_FRAME_ERR_SIZE_TAG;
	if (!nym_packet_type_valid(h->packet_type))
		return NYM_FRAME_ERR_TYPE;
	if (!nym_key_rotation_valid(h->key_rotation))
		return NYM_FRAME_ERR_ROTATION;
	if (h->version == NYM_PACKET_VERSION_LEGACY && h->key_rotation != NYM_KEY_ROTATION_UNKNOWN)
		return NYM_FRAME_ERR_ROTATION;
	return NYM_FRAME_OK;
}

int nym_frame_header_for(size_t packet_len, uint8_t packet_type, uint8_t key_rotation, int legacy,
                         struct nym_frame_header *h)
{
	struct nym_frame_header tmp;
	int tag = nym_packet_size_from_len(packet_len);
	int rc;

	if (!h)
		return NYM_FRAME_ERR_ARG;
	if (tag < 0)
		return NYM_FRAME_ERR_PACKET_LEN;
	tmp.version = legacy ? NYM_PACKET_VERSION_LEGACY : NYM_PACKET_VERSION_CURRENT;
	tmp.size_tag = (uint8_t)tag;
	tmp.packet_type = packet_type;
	/* a legacy header has no rotation byte: the receiver sees Unknown */
	tmp.key_rotation = legacy ? NYM_KEY_ROTATION_UNKNOWN : key_rotation;
	rc = nym_frame_header_validate(&tmp);
	if (rc)
		return rc;
	*h = tmp;
	return NYM_FRAME_OK;
}

long nym_frame_encode(const struct nym_frame_header *h, const uint8_t *packet, size_t packet_len,
                      uint8_t *out, size_t cap)
{
	size_t hl;
	int rc = nym_frame_header_validate(h);

	if (rc)
		return rc;
	if (packet_len != nym_packet_size_bytes(h->size_tag))
		return NYM_FRAME_ERR_PACKET_LEN;
	hl = nym_frame_header_len(h);
	if (!packet || !out || cap < hl + packet_len)
		return NYM_FRAME_ERR_ARG;
	out[0] = h->version;
	out[1] = h->size_tag;
	out[2] = h->packet_type;
	if (hl == NYM_FRAME_HEADER_V8_LEN)
		out[3] = h->key_rotation;
	memcpy(out + hl, packet, packet_len);
	return (long)(hl + packet_len);
}

/* Parses as much of a header as the bytes allow, failing as early as a byte is known bad.
 * Returns 1 with *h filled, 0 if more bytes are needed, or a negative error. */
static int header_from_prefix(const uint8_t *p, size_t n, struct nym_frame_header *h)
{
	int rc;

	if (n >= 1 && (rc = check_version(p[0])) != 0)
		return rc;
	if (n >= 2 && !nym_packet_size_valid(p[1]))
		return NYM_FRAME_ERR_SIZE_TAG;
	if (n >= 3 && !nym_packet_type_valid(p[2]))
		return NYM_FRAME_ERR_TYPE;
	if (n < 3)
		return 0;
	h->version = p[0];
	h->size_tag = p[1];
	h->packet_type = p[2];
	h->key_rotation = NYM_KEY_ROTATION_UNKNOWN;
	if (p[0] == NYM_PACKET_VERSION_LEGACY)
		return 1;
	if (n < 4)
		return 0;
	if (!nym_key_rotation_valid(p[3]))
		return NYM_FRAME_ERR_ROTATION;
	h->key_rotation = p[3];
	return 1;
}

/* ---------------------------------------------------------- stream decoder ---- */

int nym_frame_decoder_init(struct nym_frame_decoder *d)
{
	if (!d)
		return NYM_FRAME_ERR_ARG;
	d->buf = malloc(NYM_FRAME_MAX_LEN);
	d->have = 0;
	d->failed = 0;
	return d->buf ? NYM_FRAME_OK : NYM_FRAME_ERR_ARG;
}

void nym_frame_decoder_free(struct nym_frame_decoder *d)
{
	if (!d)
		return;
	free(d->buf);
	d->buf = NULL;
	d->have = 0;
}

static int decoder_fail(struct nym_frame_decoder *d, int rc)
{
	d->failed = 1;
	d->have = 0;
	return rc;
}

/* Total frame length once the header in buf is known; 0 if not yet. */
static int buffered_frame_len(const uint8_t *p, size_t n, struct nym_frame_header *h,
                              size_t *frame_len)
{
	int rc = header_from_prefix(p, n, h);

	if (rc <= 0)
		return rc;
	*frame_len = nym_frame_header_len(h) + nym_packet_size_bytes(h->size_tag);
	return 1;
}

/* Whole frame directly in the caller's input, nothing buffered: no copy. */
static int decode_in_place(const uint8_t *in, size_t len, size_t *consumed,
                           struct nym_frame *frame)
{
	struct nym_frame_header h;
	size_t frame_len;
	int rc = buffered_frame_len(in, len, &h, &frame_len);

	if (rc <= 0 || frame_len > len)
		return rc < 0 ? rc : 0;
	frame->header = h;
	frame->packet = in + nym_frame_header_len(&h);
	frame->packet_len = frame_len - nym_frame_header_len(&h);
	*consumed = frame_len;
	return 1;
}

int nym_frame_decoder_push(struct nym_frame_decoder *d, const uint8_t *in, size_t len,
                           size_t *consumed, struct nym_frame *frame)
{
	struct nym_frame_header h;
	size_t frame_len = NYM_FRAME_HEADER_V8_LEN, take;
	int rc;

	if (!d || !d->buf || !consumed || !frame || (!in && len))
		return NYM_FRAME_ERR_ARG;
	*consumed = 0;
	if (d->failed)
		return NYM_FRAME_ERR_FAILED;
	if (d->have == 0 && len > 0) {
		rc = decode_in_place(in, len, consumed, frame);
		if (rc < 0)
			return decoder_fail(d, rc);
		if (rc == 1)
			return 1;
	}
	while (len > *consumed) {
		rc = buffered_frame_len(d->buf, d->have, &h, &frame_len);
		if (rc < 0)
			return decoder_fail(d, rc);
		/* until the header is known, take one byte at a time so errors surface early
		 * and a short legacy header never swallows a following byte */
		take = rc == 0 ? 1 : frame_len - d->have;
		if (take > len - *consumed)
			take = len - *consumed;
		memcpy(d->buf + d->have, in + *consumed, take);
		d->have += take;
		*consumed += take;
		rc = buffered_frame_len(d->buf, d->have, &h, &frame_len);
		if (rc < 0)
			return decoder_fail(d, rc);
		if (rc == 1 && d->have == frame_len) {
			frame->header = h;
			frame->packet = d->buf + nym_frame_header_len(&h);
			frame->packet_len = frame_len - nym_frame_header_len(&h);
			d->have = 0;
			return 1;
		}
	}
	return 0;
}

/* -------------------------------------------------------------- MixPacket ---- */

size_t nym_mix_packet_len(const struct nym_mix_packet *p, int version)
{
	size_t addr;

	if (!p || (version != 1 && version != 2))
		return 0;
	addr = nym_node_address_len(&p->next_hop);
	if (addr == 0)
		return 0;
	return (size_t)version + addr + p->packet_len;
}

static int mix_packet_check(const struct nym_mix_packet *p, int version)
{
	if (!p || !p->packet)
		return NYM_FRAME_ERR_ARG;
	if (!nym_packet_type_valid(p->packet_type))
		return NYM_FRAME_ERR_TYPE;
	if (version == 2 && !nym_key_rotation_valid(p->key_rotation))
		return NYM_FRAME_ERR_ROTATION;
	if (nym_node_address_len(&p->next_hop) == 0)
		return NYM_FRAME_ERR_ADDRESS;
	if (nym_packet_size_from_len(p->packet_len) < 0)
		return NYM_FRAME_ERR_PACKET_LEN;
	return NYM_FRAME_OK;
}

static long mix_packet_encode(const struct nym_mix_packet *p, int version, uint8_t *out,
                              size_t cap)
{
	size_t total, off = 0;
	long addr_len;
	int rc = mix_packet_check(p, version);

	if (rc)
		return rc;
	total = nym_mix_packet_len(p, version);
	if (!out || cap < total)
		return NYM_FRAME_ERR_ARG;
	out[off++] = p->packet_type;
	if (version == 2)
		out[off++] = p->key_rotation;
	addr_len = nym_node_address_encode(&p->next_hop, out + off, cap - off);
	if (addr_len < 0)
		return NYM_FRAME_ERR_ADDRESS;
	off += (size_t)addr_len;
	memcpy(out + off, p->packet, p->packet_len);
	return (long)total;
}

long nym_mix_packet_encode_v1(const struct nym_mix_packet *p, uint8_t *out, size_t cap)
{
	return mix_packet_encode(p, 1, out, cap);
}

long nym_mix_packet_encode_v2(const struct nym_mix_packet *p, uint8_t *out, size_t cap)
{
	return mix_packet_encode(p, 2, out, cap);
}

static int mix_packet_decode(const uint8_t *in, size_t len, int version,
                             struct nym_mix_packet *p)
{
	struct nym_mix_packet tmp;
	size_t off = (size_t)version;
	long addr_len;

	if (!in || !p)
		return NYM_FRAME_ERR_ARG;
	/* try_from_v1_bytes needs 2 bytes, v2 needs 3, before reading the address */
	if (len < off + 1)
		return NYM_FRAME_ERR_SHORT;
	memset(&tmp, 0, sizeof(tmp));
	tmp.packet_type = in[0];
	if (!nym_packet_type_valid(tmp.packet_type))
		return NYM_FRAME_ERR_TYPE;
	tmp.key_rotation = version == 2 ? in[1] : NYM_KEY_ROTATION_UNKNOWN;
	if (!nym_key_rotation_valid(tmp.key_rotation))
		return NYM_FRAME_ERR_ROTATION;
	addr_len = nym_node_address_decode(in + off, len - off, &tmp.next_hop);
	if (addr_len < 0)
		return NYM_FRAME_ERR_ADDRESS;
	off += (size_t)addr_len;
	tmp.packet = in + off;
	tmp.packet_len = len - off;
	if (nym_packet_size_from_len(tmp.packet_len) < 0)
		return NYM_FRAME_ERR_PACKET_LEN;
	*p = tmp;
	return NYM_FRAME_OK;
}

int nym_mix_packet_decode_v1(const uint8_t *in, size_t len, struct nym_mix_packet *p)
{
	return mix_packet_decode(in, len, 1, p);
}

int nym_mix_packet_decode_v2(const uint8_t *in, size_t len, struct nym_mix_packet *p)
{
	return mix_packet_decode(in, len, 2, p);
}
