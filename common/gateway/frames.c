#include "gateway/frames.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"

size_t ns_gw_frame_len(const struct ns_gw_key *key, size_t pt_len)
{
	return key->legacy ? pt_len + NS_GW_LEGACY_MAC_LEN : pt_len + NS_GW_FRAME_OVERHEAD;
}

int ns_gw_frame_seal_det(const struct ns_gw_key *key, uint8_t kind,
                         const uint8_t nonce[NS_GW_NONCE_LEN], const uint8_t *pt, size_t pt_len,
                         uint8_t *out, size_t cap, size_t *out_len)
{
	size_t ct_len;
	int rc;
	if (out == NULL || (pt == NULL && pt_len > 0) || cap < ns_gw_frame_len(key, pt_len))
		return NS_GW_EARG;
	if (key->legacy) {
		if (kind != 1)
			return NS_GW_EARG;
		return ns_gw_key_encrypt(key, NULL, 0, pt, pt_len, out, cap, out_len);
	}
	if (nonce == NULL)
		return NS_GW_EMISSING_NONCE;
	out[0] = kind;
	out[1] = 1;
	memcpy(out + 2, nonce, NS_GW_NONCE_LEN);
	rc = ns_gw_key_encrypt(key, nonce, NS_GW_NONCE_LEN, pt, pt_len, out + NS_GW_FRAME_HEADER_LEN,
	                       cap - NS_GW_FRAME_HEADER_LEN, &ct_len);
	if (rc != 0)
		return rc;
	*out_len = NS_GW_FRAME_HEADER_LEN + ct_len;
	return 0;
}

int ns_gw_frame_seal(const struct ns_gw_key *key, uint8_t kind, const uint8_t *pt, size_t pt_len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t nonce[NS_GW_NONCE_LEN];
	ns_random(nonce, sizeof nonce);
	return ns_gw_frame_seal_det(key, kind, nonce, pt, pt_len, out, cap, out_len);
}

/* Header checks in the reference order: length, flag, length with nonce. */
static int frame_header(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                        uint8_t *kind)
{
	if (frame == NULL)
		return NS_GW_EARG;
	if (key->legacy) {
		*kind = 1;
		return 0;
	}
	if (len < 2)
		return NS_GW_ETOO_SHORT;
	if (frame[1] == 0)
		return NS_GW_EPLAINTEXT_FRAME;
	if (frame[1] != 1)
		return NS_GW_EBAD_FLAG;
	if (len < NS_GW_FRAME_HEADER_LEN)
		return NS_GW_ETOO_SHORT;
	*kind = frame[0];
	return 0;
}

static int frame_body(const struct ns_gw_key *key, const uint8_t *frame, size_t len, uint8_t *out,
                      size_t cap, size_t *out_len)
{
	if (key->legacy)
		return ns_gw_key_decrypt(key, NULL, 0, frame, len, out, cap, out_len);
	return ns_gw_key_decrypt(key, frame + 2, NS_GW_NONCE_LEN, frame + NS_GW_FRAME_HEADER_LEN,
	                         len - NS_GW_FRAME_HEADER_LEN, out, cap, out_len);
}

int ns_gw_frame_open(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                     uint8_t *kind, uint8_t *out, size_t cap, size_t *out_len)
{
	int rc = frame_header(key, frame, len, kind);
	return rc != 0 ? rc : frame_body(key, frame, len, out, cap, out_len);
}

int ns_gw_binary_request_decode(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                                uint8_t *pt_buf, size_t cap, struct ns_gw_binary_request *out)
{
	size_t pt_len;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = frame_header(key, frame, len, &out->kind)) != 0)
		return rc;
	if (out->kind != NS_GW_BIN_FORWARD_SPHINX && out->kind != NS_GW_BIN_FORWARD_SPHINX_V2)
		return NS_GW_EUNKNOWN_KIND;
	if ((rc = frame_body(key, frame, len, pt_buf, cap, &pt_len)) != 0)
		return rc;
	rc = out->kind == NS_GW_BIN_FORWARD_SPHINX
	             ? nym_mix_packet_decode_v1(pt_buf, pt_len, &out->packet)
	             : nym_mix_packet_decode_v2(pt_buf, pt_len, &out->packet);
	return rc == 0 ? 0 : NS_GW_EMIX_PACKET;
}

int ns_gw_binary_request_encode_det(const struct ns_gw_key *key, uint8_t kind,
                                    const struct nym_mix_packet *p,
                                    const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out,
                                    size_t cap, size_t *out_len)
{
	uint8_t *pt;
	size_t n;
	long w;
	int rc;
	if (kind != NS_GW_BIN_FORWARD_SPHINX && kind != NS_GW_BIN_FORWARD_SPHINX_V2)
		return NS_GW_EUNKNOWN_KIND;
	if ((n = nym_mix_packet_len(p, kind)) == 0)
		return NS_GW_EMIX_PACKET;
	if ((pt = malloc(n)) == NULL)
		return NS_GW_ENOMEM;
	w = kind == NS_GW_BIN_FORWARD_SPHINX ? nym_mix_packet_encode_v1(p, pt, n)
	                                     : nym_mix_packet_encode_v2(p, pt, n);
	rc = w == (long)n ? ns_gw_frame_seal_det(key, kind, nonce, pt, n, out, cap, out_len)
	                  : NS_GW_EMIX_PACKET;
	free(pt);
	return rc;
}

int ns_gw_binary_request_encode(const struct ns_gw_key *key, uint8_t kind,
                                const struct nym_mix_packet *p, uint8_t *out, size_t cap,
                                size_t *out_len)
{
	uint8_t nonce[NS_GW_NONCE_LEN];
	ns_random(nonce, sizeof nonce);
	return ns_gw_binary_request_encode_det(key, kind, p, nonce, out, cap, out_len);
}

int ns_gw_pushed_message_decode(const struct ns_gw_key *key, const uint8_t *frame, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t kind;
	int rc = frame_header(key, frame, len, &kind);
	if (rc != 0)
		return rc;
	if (kind != NS_GW_BIN_PUSHED_MIX_MESSAGE)
		return NS_GW_EUNKNOWN_KIND;
	return frame_body(key, frame, len, out, cap, out_len);
}

int ns_gw_pushed_message_encode_det(const struct ns_gw_key *key, const uint8_t *msg, size_t len,
                                    const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out,
                                    size_t cap, size_t *out_len)
{
	return ns_gw_frame_seal_det(key, NS_GW_BIN_PUSHED_MIX_MESSAGE, nonce, msg, len, out, cap,
	                            out_len);
}

int ns_gw_pushed_message_encode(const struct ns_gw_key *key, const uint8_t *msg, size_t len,
                                uint8_t *out, size_t cap, size_t *out_len)
{
	return ns_gw_frame_seal(key, NS_GW_BIN_PUSHED_MIX_MESSAGE, msg, len, out, cap, out_len);
}
