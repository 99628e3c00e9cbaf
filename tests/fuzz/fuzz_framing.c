/* Framing decoders.
 * Input: byte 0 = chunking seed, then the byte stream.
 *  - The stream is fed to the NymCodec decoder in chunks whose sizes come from a small
 *    PRNG seeded by byte 0 (1..N bytes, sometimes a whole frame at once). Every decoded
 *    frame must re-encode to exactly the bytes it was decoded from, and the result
 *    (frames and final error) must equal a one-shot decode of the same stream.
 *  - The same bytes are also decoded as MixPacket v1 and v2; a success must re-encode to
 *    the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ns_crypto_init();
}

#define MAX_FRAMES 64

struct outcome {
	size_t n;
	size_t start[MAX_FRAMES], len[MAX_FRAMES];
	int error;
	size_t error_at; /* stream offset after the byte that failed */
};

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t chunk_size(uint32_t *s, size_t left)
{
	uint32_t r = next_rand(s);
	size_t n;

	switch (r % 4) {
	case 0: n = 1; break;
	case 1: n = 1 + (r >> 4) % 8; break;
	case 2: n = 1 + (r >> 4) % 3000; break;
	default: n = left; break;
	}
	return n < left ? n : left;
}

static void check_frame(const struct nym_frame *f, const uint8_t *orig, size_t len)
{
	static uint8_t re[NYM_FRAME_MAX_LEN];

	if (nym_frame_encode(&f->header, f->packet, f->packet_len, re, sizeof(re)) != (long)len)
		abort();
	if (memcmp(re, orig, len) != 0)
		abort();
}

static void decode_stream(const uint8_t *in, size_t size, uint32_t seed, int one_shot,
                          struct outcome *o)
{
	struct nym_frame_decoder d;
	size_t pos = 0, frame_start = 0;

	memset(o, 0, sizeof(*o));
	if (nym_frame_decoder_init(&d) != 0)
		abort();
	while (pos < size && o->error == 0) {
		size_t chunk = one_shot ? size - pos : chunk_size(&seed, size - pos), off = 0;

		while (off < chunk) {
			struct nym_frame f;
			size_t used = 0;
			int rc = nym_frame_decoder_push(&d, in + pos + off, chunk - off, &used, &f);

			if (rc < 0) {
				o->error = rc;
				o->error_at = pos + off + used;
				break;
			}
			if (used == 0)
				abort();
			off += used;
			if (rc == 1) {
				size_t end = pos + off;

				check_frame(&f, in + frame_start, end - frame_start);
				if (o->n < MAX_FRAMES) {
					o->start[o->n] = frame_start;
					o->len[o->n] = end - frame_start;
				}
				o->n++;
				frame_start = end;
			}
		}
		pos += off;
	}
	if (o->error) {
		struct nym_frame f;
		size_t used = 7;

		if (nym_frame_decoder_push(&d, in, size, &used, &f) != NYM_FRAME_ERR_FAILED || used)
			abort();
	}
	nym_frame_decoder_free(&d);
}

static void fuzz_codec(const uint8_t *in, size_t size, uint32_t seed)
{
	struct outcome a, b;

	decode_stream(in, size, seed, 0, &a);
	decode_stream(in, size, 0, 1, &b);
	if (a.n != b.n || a.error != b.error)
		abort();
	if (memcmp(a.start, b.start, sizeof(a.start)) || memcmp(a.len, b.len, sizeof(a.len)))
		abort();
}

static void fuzz_mix_packet(const uint8_t *in, size_t size, int version)
{
	struct nym_mix_packet p;
	uint8_t *re;
	int rc = version == 1 ? nym_mix_packet_decode_v1(in, size, &p)
	                      : nym_mix_packet_decode_v2(in, size, &p);

	if (rc != 0)
		return;
	if (nym_mix_packet_len(&p, version) != size)
		abort();
	re = malloc(size);
	if (!re)
		abort();
	if ((version == 1 ? nym_mix_packet_encode_v1(&p, re, size)
	                  : nym_mix_packet_encode_v2(&p, re, size)) != (long)size)
		abort();
	if (memcmp(re, in, size) != 0)
		abort();
	free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 200000)
		return 0;
	fuzz_codec(data + 1, size - 1, data[0] * 2654435761u + 1);
	fuzz_mix_packet(data + 1, size - 1, 1);
	fuzz_mix_packet(data + 1, size - 1, 2);
	return 0;
}
