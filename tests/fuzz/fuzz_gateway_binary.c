/* libFuzzer: binary frame decoders. Input byte 0 picks the key kind (bit 0: legacy)
 * and bit 1 whether the rest is a received frame or a plaintext to seal.
 * Properties: a frame that opens re-seals to the same bytes; a sealed plaintext opens
 * to itself; a forward request decodes exactly when its plaintext is a MixPacket. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf_a[1 << 17], buf_b[1 << 17], buf_c[1 << 17];

static void as_frame(const struct ns_gw_key *key, const uint8_t *f, size_t n)
{
	struct ns_gw_binary_request r;
	uint8_t kind;
	size_t pt_len, re_len;
	if (ns_gw_frame_open(key, f, n, &kind, buf_a, sizeof buf_a, &pt_len) == 0) {
		if (ns_gw_frame_seal_det(key, kind, key->legacy ? NULL : f + 2, buf_a, pt_len, buf_b,
		                         sizeof buf_b, &re_len) != 0 ||
		    re_len != n || memcmp(buf_b, f, n) != 0)
			abort();
	}
	(void)ns_gw_pushed_message_decode(key, f, n, buf_c, sizeof buf_c, &pt_len);
	if (ns_gw_binary_request_decode(key, f, n, buf_c, sizeof buf_c, &r) == 0) {
		if (ns_gw_binary_request_encode_det(key, r.kind, &r.packet, key->legacy ? NULL : f + 2,
		                                    buf_b, sizeof buf_b, &re_len) != 0 ||
		    re_len != n || memcmp(buf_b, f, n) != 0)
			abort();
	}
}

static void as_plaintext(const struct ns_gw_key *key, const uint8_t *p, size_t n)
{
	static const uint8_t nonce[NS_GW_NONCE_LEN] = {1, 2, 3};
	struct ns_gw_binary_request r;
	struct nym_mix_packet mp;
	uint8_t kind = key->legacy ? 1 : (n > 0 && (p[0] & 1) ? 2 : 1);
	size_t flen, pt_len;
	int plain_ok, frame_ok;
	if (n > sizeof buf_a - 64)
		return;
	if (ns_gw_frame_seal_det(key, kind, nonce, p, n, buf_a, sizeof buf_a, &flen) != 0 ||
	    flen != ns_gw_frame_len(key, n))
		abort();
	if (ns_gw_frame_open(key, buf_a, flen, &kind, buf_b, sizeof buf_b, &pt_len) != 0 ||
	    pt_len != n || memcmp(buf_b, p, n) != 0)
		abort();
	plain_ok = (kind == 1 ? nym_mix_packet_decode_v1(p, n, &mp) : nym_mix_packet_decode_v2(p, n, &mp)) == 0;
	frame_ok = ns_gw_binary_request_decode(key, buf_a, flen, buf_c, sizeof buf_c, &r) == 0;
	if (plain_ok != frame_ok)
		abort();
	/* any change to the nonce or ciphertext is detected */
	if (flen > 2) {
		size_t at = 2 + (n % (flen - 2));
		buf_a[at] ^= 0x01;
		if (ns_gw_frame_open(key, buf_a, flen, &kind, buf_b, sizeof buf_b, &pt_len) == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct ns_gw_key key;
	if (!init) {
		ns_crypto_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	memset(&key, 0, sizeof key);
	key.legacy = data[0] & 1;
	for (int i = 0; i < 32; i++)
		key.bytes[i] = (uint8_t)(0x60 + i);
	if (data[0] & 2)
		as_plaintext(&key, data + 1, size - 1);
	else
		as_frame(&key, data + 1, size - 1);
	return 0;
}
