/* The reply store's reader (common/replystore.h: what a Nym-made, damaged or hostile
 * persistent_reply_store.sqlite may hold). Input: one mode byte, then either a timestamp text
 * (mode 0) or a whole database image. Properties: a timestamp parsed formats back to a
 * timestamp that parses to the same second; a loaded store stays within the limits, every
 * SURB inside the returned bytes and of a known key rotation, every sender's SURBs in its own
 * range; what was loaded, written again by ns_rs_writer, loads back the same; a refused store
 * returns nothing and a reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ns_rs_limits lim = { 64, 16, 64 };
#define NOW 1790000000LL

static void check_time(const uint8_t *s, size_t n)
{
	int64_t t = 0, back = 0;
	char out[40];
	if (ns_rs_time_text((const char *)s, n, &t) < 0 || t < 0)
		return;
	if (ns_rs_time_format(t, out, sizeof out) < 0 ||
	    ns_rs_time_text(out, strlen(out), &back) < 0 || back != t)
		abort();
}

static void check_shape(const struct ns_rs_data *d)
{
	if (d->n_keys > lim.max_keys || d->n_senders > lim.max_senders || d->n_surbs > lim.max_surbs)
		abort();
	if ((d->unclean || d->keys_outdated) && d->n_keys)
		abort();
	if ((d->unclean || d->surbs_outdated) && d->n_surbs)
		abort();
	size_t covered = 0;
	for (size_t i = 0; i < d->n_senders; i++) {
		const struct ns_rs_sender *s = &d->senders[i];
		if (!s->n || s->first > d->n_surbs || s->n > d->n_surbs - s->first)
			abort();
		covered += s->n;
	}
	if (covered != d->n_surbs)
		abort();
	for (size_t i = 0; i < d->n_surbs; i++)
		if (d->surbs[i].rotation > 2 || d->surbs[i].off > d->bytes_len ||
		    d->surbs[i].len > d->bytes_len - d->surbs[i].off)
			abort();
}

/* What was loaded, written and loaded again. */
static void check_round_trip(const struct ns_rs_data *d)
{
	char err[200];
	uint8_t *img = NULL;
	size_t len = 0;
	struct ns_rs_writer *w = ns_rs_writer_new(err, sizeof err);
	if (!w)
		abort();
	/* a digest, key or tag twice (a file without Nym's UNIQUE constraints) cannot be written
	 * again: the property holds for what can */
	for (size_t i = 0; i < d->n_keys; i++)
		if (ns_rs_writer_key(w, d->keys[i].digest, d->keys[i].key, NOW) < 0)
			goto out;
	for (size_t i = 0; i < d->n_senders; i++) {
		const struct ns_rs_sender *s = &d->senders[i];
		if (ns_rs_writer_sender(w, s->tag, NOW) < 0)
			goto out;
		for (size_t j = s->first; j < s->first + s->n; j++)
			if (ns_rs_writer_surb(w, d->surbs[j].rotation, d->bytes + d->surbs[j].off,
			                      d->surbs[j].len) < 0)
				goto out;
	}
	if (ns_rs_writer_finish(w, d->min_threshold, d->max_threshold, NOW, 0, &img, &len, err,
	                        sizeof err) < 0)
		goto out;
	struct ns_rs_data again;
	if (ns_rs_load(img, len, NOW, &lim, &again, err, sizeof err) != 0 ||
	    again.n_keys != d->n_keys || again.n_senders != d->n_senders ||
	    again.n_surbs != d->n_surbs || again.bytes_len != d->bytes_len ||
	    (d->bytes_len && memcmp(again.bytes, d->bytes, d->bytes_len)))
		abort();
	ns_rs_data_free(&again);
out:
	ns_rs_image_free(img, len);
	ns_rs_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0) {
		check_time(data + 1, size - 1);
		return 0;
	}
	struct ns_rs_data d;
	char err[200] = "";
	int rc = ns_rs_load(data + 1, size - 1, NOW, &lim, &d, err, sizeof err);
	if (rc == 0) {
		check_shape(&d);
		check_round_trip(&d);
		ns_rs_data_free(&d);
	} else if (d.keys || d.surbs || d.bytes || d.n_keys || !err[0]) {
		if (rc != NS_RS_ENOMEM)
			abort();
	}
	return 0;
}
