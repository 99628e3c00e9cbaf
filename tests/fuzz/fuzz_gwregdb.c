/* The registration DB's row decoder (common/gwregdb.h: what a Nym-made or damaged file may
 * hold). Input: one flag byte, then the fields gateway id, gateway type, listener and legacy
 * key separated by NUL bytes, the rest being the AES-256 key BLOB. Properties: a decoded row
 * re-encodes to exactly its columns (base58 identity and legacy key, listener text, key
 * bytes); a refused row leaves no key behind; timestamps are always RFC 3339 or refused; a
 * stored timestamp's shown form reads back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "gwregdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 4

/* Splits in into FIELDS NUL-terminated strings (copied to buf) and the trailing blob. */
static int split(const uint8_t *in, size_t len, char *buf, const char *f[FIELDS],
                 const uint8_t **blob, size_t *blob_len)
{
	size_t pos = 0;
	for (int i = 0; i < FIELDS; i++) {
		const uint8_t *nul = memchr(in + pos, 0, len - pos);
		if (!nul)
			return -1;
		size_t n = (size_t)(nul - (in + pos));
		memcpy(buf, in + pos, n + 1);
		f[i] = buf;
		buf += n + 1;
		pos += n + 1;
	}
	*blob = in + pos;
	*blob_len = len - pos;
	return 0;
}

static void check_success(const struct ns_gwreg_row *row, const struct ns_gwreg *g, int with_key)
{
	char text[128];
	if (base58_encode(g->gateway_id, 32, text, sizeof text) < 0 ||
	    strcmp(text, row->gateway_id_bs58))
		abort();
	if (strcmp(g->listener, row->listener) || ns_gwreg_listener_check(g->listener))
		abort();
	if (!with_key) {
		if (g->has_key)
			abort();
		return;
	}
	if (!g->has_key)
		abort();
	if (row->aes256_key) {
		if (row->aes256_key_len != 32 || g->key.legacy || memcmp(g->key.bytes, row->aes256_key, 32))
			abort();
	} else if (!g->key.legacy || base58_encode(g->key.bytes, 32, text, sizeof text) < 0 ||
	           strcmp(text, row->legacy_key_bs58)) {
		abort();
	}
}

static void check_timestamp(const uint8_t *data, size_t size)
{
	int64_t t = 0;
	char out[64];
	memcpy(&t, data, size < sizeof t ? size : sizeof t);
	if (ns_gwreg_timestamp(t, out, sizeof out) == 0 &&
	    (strlen(out) != 20 || out[4] != '-' || out[10] != 'T' || out[19] != 'Z'))
		abort();
}

/* A stored timestamp as list-gateways shows it: either refused, or text that reads back the
 * same (the form is its own fixed point). */
static void check_time_text(const uint8_t *data, size_t size)
{
	char out[64], again[64];
	size_t n = size < 63 ? size : 63;
	char *in = malloc(n + 1); /* exactly the text: a read past its end is caught */
	if (!in)
		abort();
	memcpy(in, data, n);
	in[n] = 0;
	if (ns_gwreg_time_text(in, 0, out, sizeof out) == 0 &&
	    (ns_gwreg_time_text(out, 0, again, sizeof again) != 0 || strcmp(out, again)))
		abort();
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	check_timestamp(data, size);
	check_time_text(data, size);
	uint8_t flags = data[0];
	char *buf = malloc(size + 1);
	const char *f[FIELDS];
	struct ns_gwreg_row row = { 0 };
	if (!buf)
		abort();
	if (split(data + 1, size - 1, buf, f, &row.aes256_key, &row.aes256_key_len) == 0) {
		row.gateway_id_bs58 = flags & 1 ? NULL : f[0];
		row.gateway_type = flags & 2 ? NULL : f[1];
		row.listener = flags & 4 ? NULL : f[2];
		row.legacy_key_bs58 = flags & 8 ? NULL : f[3];
		if (flags & 16) {
			row.aes256_key = NULL;
			row.aes256_key_len = 0;
		}
		int with_key = !(flags & 32);
		struct ns_gwreg g;
		char err[200];
		int rc = ns_gwreg_row_decode(&row, with_key, &g, err, sizeof err);
		if (rc == 0) {
			check_success(&row, &g, with_key);
		} else {
			static const uint8_t zero[32];
			if (g.has_key || memcmp(g.key.bytes, zero, 32) || !memchr(err, 0, sizeof err))
				abort();
		}
	}
	free(buf);
	return 0;
}
