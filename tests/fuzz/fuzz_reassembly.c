/* Reassembler fed a fuzz-driven sequence of fragments.
 * Header: ppp selector, cap mode, cap parameter, message length (2 bytes), content seed.
 * A genuine padded message (< 1200 bytes: with ppp 11, up to 2 linked sets) is split with set ids 0x40000000.. (ours); the rest of the input
 * is commands: insert one of our fragments, insert raw bytes as a fragment, insert a
 * corrupted copy of one of ours, expire, or insert all of ours in a seeded order.
 * Raw or corrupted fragments that claim one of our set ids are skipped (nothing at this
 * layer authenticates fragments). Invariants:
 *  - caps are never exceeded; return codes are in range;
 *  - a delivered message starting at our first set equals our padded message exactly;
 *  - no delivered message starts at another of our sets;
 *  - if every fragment of ours went in without error and nothing was evicted or expired,
 *    our message was delivered exactly once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ns_crypto_init();
}

#define OUR_BASE_ID 0x40000000

struct run {
	struct nym_reassembler *r;
	struct nym_reasm_config cfg;
	struct nym_fragment_list l;
	uint8_t *padded;
	size_t plen, ppp;
	uint8_t *inserted; /* per fragment of ours */
	int our_error;
	int delivered;
	uint64_t now;
	size_t garbage_bytes;
};

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int take(struct cursor *c, uint8_t *b)
{
	if (!c->left)
		return 0;
	*b = *c->p++;
	c->left--;
	return 1;
}

static int is_ours(const struct run *u, int32_t id)
{
	return id >= OUR_BASE_ID && (size_t)(id - OUR_BASE_ID) < u->l.n_sets;
}

static void check_caps(const struct run *u)
{
	struct nym_reasm_stats st;

	nym_reasm_get_stats(u->r, &st);
	if (st.sets > u->cfg.max_sets || st.bytes > u->cfg.max_bytes)
		abort();
}

static void on_delivery(struct run *u, struct nym_reasm_message *m)
{
	if (!m->data || m->n_sets == 0)
		abort();
	if (m->first_set_id == OUR_BASE_ID) {
		if (m->len != u->plen || memcmp(m->data, u->padded, u->plen) != 0)
			abort();
		if (m->n_sets != u->l.n_sets)
			abort();
		u->delivered++;
	} else if (is_ours(u, m->first_set_id)) {
		abort();
	} else if (m->len > u->garbage_bytes) {
		abort();
	}
	free(m->data);
}

static int insert(struct run *u, const uint8_t *frag, size_t len, size_t ppp)
{
	struct nym_reasm_message m;
	int rc = nym_reasm_insert(u->r, frag, len, ppp, u->now++, &m);

	if (rc < NYM_CHUNK_ERR_FRAG_ID || rc > NYM_REASM_DUPLICATE)
		abort();
	if (rc != NYM_REASM_COMPLETE && m.data)
		abort();
	if (rc == NYM_REASM_COMPLETE)
		on_delivery(u, &m);
	check_caps(u);
	return rc;
}

static void insert_ours(struct run *u, size_t i)
{
	int rc = insert(u, u->l.frags[i], u->l.lens[i], 0);

	if (rc < 0)
		u->our_error = 1;
	u->inserted[i] = 1;
}

static void insert_foreign(struct run *u, const uint8_t *frag, size_t len, size_t ppp)
{
	struct nym_fragment f;

	if (nym_fragment_decode(frag, len, &f) == 0 && is_ours(u, f.header.set_id))
		return;
	u->garbage_bytes += len;
	insert(u, frag, len, ppp);
}

static void cmd_raw(struct run *u, struct cursor *c)
{
	uint8_t n, mode;

	if (!take(c, &n) || !take(c, &mode))
		return;
	if (n > c->left)
		n = (uint8_t)c->left;
	insert_foreign(u, c->p, n, mode & 1 ? u->ppp : 0);
	c->p += n;
	c->left -= n;
}

static void cmd_corrupt(struct run *u, struct cursor *c)
{
	uint8_t idx, pos, x, cut;
	uint8_t *copy;
	size_t i, len;

	if (!take(c, &idx) || !take(c, &pos) || !take(c, &x) || !take(c, &cut))
		return;
	i = idx % u->l.count;
	len = u->l.lens[i];
	copy = malloc(len);
	if (!copy)
		abort();
	memcpy(copy, u->l.frags[i], len);
	copy[pos % len] ^= x;
	if (cut & 0x80)
		len -= (cut & 0x7f) % len;
	insert_foreign(u, copy, len, cut & 1 ? u->ppp : 0);
	free(copy);
}

static void cmd_all(struct run *u, struct cursor *c)
{
	uint8_t seed;
	size_t n = u->l.count, *order = malloc(n * sizeof(*order));
	uint32_t s;

	if (!order)
		abort();
	if (!take(c, &seed))
		seed = 0;
	s = seed * 2654435761u + 7;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j, t;

		s = s * 1103515245u + 12345u;
		j = (s >> 8) % i;
		t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		insert_ours(u, order[i]);
	free(order);
}

static int setup(struct run *u, struct cursor *c)
{
	uint8_t sel, caps, capv, l0, l1, seed;
	int32_t ids[64];
	uint8_t *msg;
	size_t mlen, sets;

	if (!take(c, &sel) || !take(c, &caps) || !take(c, &capv) || !take(c, &l0) ||
	    !take(c, &l1) || !take(c, &seed))
		return -1;
	memset(u, 0, sizeof(*u));
	u->ppp = NYM_FRAG_MIN_PPP + sel % 64;
	if (caps & 1) {
		u->cfg.max_bytes = 2048 + (size_t)capv * 256;
		u->cfg.max_sets = 1 + capv % 8;
	} else {
		u->cfg.max_bytes = (size_t)64 << 20;
		u->cfg.max_sets = 8192;
	}
	mlen = ((size_t)l0 << 8 | l1) % 1200;
	msg = malloc(mlen + 1);
	if (!msg)
		abort();
	for (size_t i = 0; i < mlen; i++)
		msg[i] = (uint8_t)(seed + i * 31);
	u->padded = nym_msg_pad_alloc(NYM_MSG_PLAIN, msg, mlen, u->ppp, &u->plen);
	free(msg);
	if (!u->padded)
		abort();
	sets = nym_chunk_number_of_sets(u->plen, u->ppp);
	if (sets == 0 || sets > 64)
		abort();
	for (size_t i = 0; i < sets; i++)
		ids[i] = OUR_BASE_ID + (int32_t)i;
	if (nym_split_into_fragments_with_ids(u->padded, u->plen, u->ppp, ids, sets, &u->l) != 0)
		abort();
	u->inserted = calloc(u->l.count, 1);
	u->r = nym_reasm_new(&u->cfg);
	if (!u->inserted || !u->r)
		abort();
	return 0;
}

static void final_check(struct run *u)
{
	struct nym_reasm_stats st;
	size_t all = 1;

	for (size_t i = 0; i < u->l.count; i++)
		all &= u->inserted[i];
	nym_reasm_get_stats(u->r, &st);
	if (u->delivered > 1)
		abort();
	if (all && !u->our_error && st.evicted_sets == 0 && st.expired_sets == 0 && u->delivered != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct run u;
	uint8_t cmd, b;
	int all_runs = 0;

	if (size > 65536 || setup(&u, &c) != 0)
		return 0;
	while (take(&c, &cmd)) {
		switch (cmd % 5) {
		case 0:
			if (take(&c, &b))
				insert_ours(&u, b % u.l.count);
			break;
		case 1: cmd_raw(&u, &c); break;
		case 2: cmd_corrupt(&u, &c); break;
		case 3:
			if (take(&c, &b))
				nym_reasm_expire(u.r, u.now, b);
			check_caps(&u);
			break;
		default:
			if (all_runs++ < 3) /* each costs up to ~300 inserts */
				cmd_all(&u, &c);
			break;
		}
	}
	final_check(&u);
	nym_reasm_free(u.r);
	nym_fragment_list_free(&u.l);
	free(u.inserted);
	free(u.padded);
	return 0;
}
