/* nym-sphinx chunking: fragment headers, identifiers, set arithmetic, splitting and
 * reassembly (order, duplicates, missing pieces, linked sets, malformed input, caps). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "unit/util.h"

#define VECTORS_PATH "tests/vectors/real-client-packets.json"
#define PPP 1611

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(util_unhex(hex, out, len), (long)len);
}

static void header_equal(const struct nym_frag_header *a, const struct nym_frag_header *b)
{
	assert_int_equal(a->set_id, b->set_id);
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->current, b->current);
	assert_int_equal(a->prev_set_id, b->prev_set_id);
	assert_int_equal(a->next_set_id, b->next_set_id);
}

/* ----------------------------------------------------------------- headers ---- */

static void test_header_vectors(void **state)
{
	struct nym_frag_header h = { .set_id = 0x12345678, .total = 1, .current = 1 }, d;
	uint8_t out[10], want[10];

	(void)state;
	assert_int_equal(nym_frag_header_encode(&h, out, sizeof(out)), 7);
	hex_to("92345678010100", want, 7);
	assert_memory_equal(out, want, 7);
	/* real client: set 1062106481, 1 of 1 */
	hex_to("bf4e7571010100", want, 7);
	assert_int_equal(nym_frag_header_decode(want, 7, &d), 7);
	assert_int_equal(d.set_id, 1062106481);
	assert_int_equal(d.total, 1);
	assert_int_equal(d.current, 1);
	assert_int_equal(d.prev_set_id, 0);
	assert_int_equal(d.next_set_id, 0);
	/* pre-linked first fragment: 12345, 1 of 10, previous set 1234 */
	h = (struct nym_frag_header){ .set_id = 12345, .total = 10, .current = 1, .prev_set_id = 1234 };
	assert_int_equal(nym_frag_header_encode(&h, out, sizeof(out)), 10);
	hex_to("800030390a01800004d2", want, 10);
	assert_memory_equal(out, want, 10);
	assert_int_equal(nym_frag_header_decode(out, 10, &d), 10);
	header_equal(&d, &h);
	/* post-linked last fragment: 255 of 255, next set INT32_MAX */
	h = (struct nym_frag_header){ .set_id = 1, .total = 255, .current = 255,
	                              .next_set_id = INT32_MAX };
	assert_int_equal(nym_frag_header_encode(&h, out, sizeof(out)), 10);
	hex_to("80000001ffffffffffff", want, 10);
	assert_memory_equal(out, want, 10);
	assert_int_equal(nym_frag_header_decode(out, 10, &d), 10);
	header_equal(&d, &h);
	/* 1 of 1 with a previous link (last set of one fragment) */
	h = (struct nym_frag_header){ .set_id = 7, .total = 1, .current = 1, .prev_set_id = 8 };
	assert_int_equal(nym_frag_header_encode(&h, out, sizeof(out)), 10);
	assert_int_equal(nym_frag_header_decode(out, 10, &d), 10);
	assert_int_equal(d.prev_set_id, 8);
}

static void test_header_decode_errors(void **state)
{
	static const struct {
		const char *hex;
		int err;
	} cases[] = {
		{ "", NYM_CHUNK_ERR_SHORT },
		{ "923456780101", NYM_CHUNK_ERR_SHORT },
		{ "12345678010100", NYM_CHUNK_ERR_HEADER },       /* flag bit clear */
		{ "80000000010100", NYM_CHUNK_ERR_HEADER },       /* set id 0 */
		{ "92345678000000", NYM_CHUNK_ERR_HEADER },       /* total 0 */
		{ "92345678010000", NYM_CHUNK_ERR_HEADER },       /* current 0 */
		{ "923456780a0b00", NYM_CHUNK_ERR_HEADER },       /* current > total */
		{ "923456780a0580000001", NYM_CHUNK_ERR_HEADER }, /* link on a middle fragment */
		{ "923456780a0a80000001", NYM_CHUNK_ERR_HEADER }, /* next link on 10 of 10 */
		{ "92345678fefe80000001", NYM_CHUNK_ERR_HEADER }, /* next link on 254 of 254 */
		{ "923456780a0100000001", NYM_CHUNK_ERR_HEADER }, /* link flag clear (b[6]=0) is */
		{ "923456780a0101000001", NYM_CHUNK_ERR_HEADER }, /* ... unlinked; 0x01.. no flag */
		{ "923456780a0180000000", NYM_CHUNK_ERR_HEADER }, /* link to set 0 */
		{ "923456780a0192345678", NYM_CHUNK_ERR_HEADER }, /* link to itself */
		{ "92345678ffff92345678", NYM_CHUNK_ERR_HEADER }, /* next link to itself */
		{ "923456780a0180", NYM_CHUNK_ERR_SHORT },        /* linked, truncated */
		{ "923456780a01800000", NYM_CHUNK_ERR_SHORT },
	};
	struct nym_frag_header h, untouched;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[16];
		long n = util_unhex(cases[i].hex, buf, sizeof(buf));

		memset(&h, 0x33, sizeof(h));
		untouched = h;
		if (i == 10) { /* 00 at b[6] means unlinked: decodes fine as 7 bytes */
			assert_int_equal(nym_frag_header_decode(buf, (size_t)n, &h), 7);
			continue;
		}
		assert_int_equal(nym_frag_header_decode(buf, (size_t)n, &h), cases[i].err);
		assert_memory_equal(&h, &untouched, sizeof(h));
	}
}

static void test_header_encode_errors(void **state)
{
	static const struct nym_frag_header bad[] = {
		{ .set_id = 0, .total = 1, .current = 1 },
		{ .set_id = -5, .total = 1, .current = 1 },
		{ .set_id = 5, .total = 0, .current = 0 },
		{ .set_id = 5, .total = 3, .current = 4 },
		{ .set_id = 5, .total = 3, .current = 2, .prev_set_id = 4 },
		{ .set_id = 5, .total = 3, .current = 1, .prev_set_id = 5 },
		{ .set_id = 5, .total = 3, .current = 3, .next_set_id = 4 },
		{ .set_id = 5, .total = 255, .current = 255, .next_set_id = -4 },
		{ .set_id = 5, .total = 1, .current = 1, .prev_set_id = 4, .next_set_id = 6 },
	};
	uint8_t out[10];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nym_frag_header_encode(&bad[i], out, sizeof(out)),
		                 NYM_CHUNK_ERR_HEADER);
	assert_int_equal(nym_frag_header_encode(&(struct nym_frag_header){ 5, 1, 1, 0, 0 }, out, 6),
	                 NYM_CHUNK_ERR_ARG);
}

static void test_payload_len_rules(void **state)
{
	struct nym_fragment f = { .header = { .set_id = 9, .total = 10, .current = 5 } };

	(void)state;
	f.payload_len = 1604;
	assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
	f.payload_len = 1603;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	f.payload_len = 1605;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	f.header.current = 10; /* last of an unlinked set: up to 1604 */
	f.payload_len = 1;
	assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
	f.payload_len = 1605;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	f.header.current = 1; /* pre-linked first of many: exactly 1601 */
	f.header.prev_set_id = 3;
	f.payload_len = 1601;
	assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
	f.payload_len = 1600;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	f.header.total = 1; /* pre-linked only fragment: up to 1601 */
	assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
	f.payload_len = 1602;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	f.header = (struct nym_frag_header){ .set_id = 9, .total = 255, .current = 255,
	                                     .next_set_id = 3 };
	f.payload_len = 1601;
	assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
	f.payload_len = 1604;
	assert_int_equal(nym_fragment_check_len(&f, PPP), NYM_CHUNK_ERR_PAYLOAD_LEN);
	assert_int_equal(nym_fragment_check_len(&f, 10), NYM_CHUNK_ERR_ARG);
}

/* ------------------------------------------------------------- identifiers ---- */

static void test_frag_id(void **state)
{
	struct nym_frag_id id = { .set_id = 1062106481, .position = 1 }, d;
	struct nym_frag_id cover = NYM_COVER_FRAG_ID_INIT;
	uint8_t out[5], want[5];

	(void)state;
	nym_frag_id_encode(&id, out);
	hex_to("3f4e757101", want, 5); /* real SURB-ack fragment id */
	assert_memory_equal(out, want, 5);
	assert_int_equal(nym_frag_id_decode(want, &d), 0);
	assert_int_equal(d.set_id, 1062106481);
	assert_int_equal(d.position, 1);
	assert_false(nym_frag_id_is_cover(&d));
	nym_frag_id_encode(&cover, out);
	assert_memory_equal(out, "\0\0\0\0\0", 5);
	assert_int_equal(nym_frag_id_decode(out, &d), 0);
	assert_true(nym_frag_id_is_cover(&d));
	hex_to("1234567801", want, 5); /* spec ack vector */
	assert_int_equal(nym_frag_id_decode(want, &d), 0);
	assert_int_equal(d.set_id, 0x12345678);
	hex_to("8000000001", want, 5);
	assert_int_equal(nym_frag_id_decode(want, &d), NYM_CHUNK_ERR_FRAG_ID);
	hex_to("ffffffff00", want, 5);
	assert_int_equal(nym_frag_id_decode(want, &d), NYM_CHUNK_ERR_FRAG_ID);
}

static void test_random_set_ids(void **state)
{
	(void)state;
	for (int i = 0; i < 10000; i++) {
		int32_t id = nym_random_set_id();

		assert_true(id > 0);
	}
}

/* ---------------------------------------------------------- set arithmetic ---- */

static void test_set_arithmetic(void **state)
{
	size_t left;
	const size_t u = 1604, lk = 1601, unlinked_set = 255 * u, one_way = unlinked_set - 3,
	             two_way = unlinked_set - 6;

	(void)state;
	assert_int_equal(nym_frag_unlinked_payload_max(PPP), u);
	assert_int_equal(nym_frag_linked_payload_max(PPP), lk);
	assert_int_equal(nym_frag_unlinked_payload_max(10), 0);
	assert_int_equal(nym_chunk_number_of_sets(1, PPP), 1);
	assert_int_equal(nym_chunk_number_of_sets(unlinked_set, PPP), 1);
	assert_int_equal(nym_chunk_number_of_sets(unlinked_set + 1, PPP), 2);
	assert_int_equal(nym_chunk_number_of_sets(2 * one_way, PPP), 2);
	assert_int_equal(nym_chunk_number_of_sets(2 * one_way + 1, PPP), 3);
	assert_int_equal(nym_chunk_number_of_sets(2 * one_way + two_way, PPP), 3);
	assert_int_equal(nym_chunk_number_of_sets(2 * one_way + two_way + 1, PPP), 4);
	assert_int_equal(nym_chunk_number_of_sets(5, 10), 0);

	assert_int_equal(nym_chunk_required_fragments(0, PPP, &left), 1);
	assert_int_equal(left, u);
	assert_int_equal(nym_chunk_required_fragments(14, PPP, &left), 1);
	assert_int_equal(left, 1590);
	assert_int_equal(nym_chunk_required_fragments(5002, PPP, &left), 4);
	assert_int_equal(left, 4 * u - 5002);
	assert_int_equal(nym_chunk_required_fragments(u, PPP, &left), 1);
	assert_int_equal(left, 0);
	assert_int_equal(nym_chunk_required_fragments(unlinked_set, PPP, &left), 255);
	assert_int_equal(left, 0);
	/* two sets: 255 in the first (last one linked), last set starts with a linked one */
	assert_int_equal(nym_chunk_required_fragments(unlinked_set + 1, PPP, &left), 256);
	assert_int_equal(left, lk - 4);
	assert_int_equal(nym_chunk_required_fragments(one_way + lk, PPP, &left), 256);
	assert_int_equal(left, 0);
	assert_int_equal(nym_chunk_required_fragments(one_way + lk + 1, PPP, &left), 257);
	assert_int_equal(left, u - 1);
	assert_int_equal(nym_chunk_required_fragments(2 * one_way, PPP, &left), 510);
	assert_int_equal(left, 0);
	assert_int_equal(nym_chunk_required_fragments(2 * one_way + two_way, PPP, &left), 765);
	assert_int_equal(left, 0);
	/* 4 sets: the third (middle) set takes a full two_way, leaving 13 bytes for the last */
	assert_int_equal(nym_chunk_required_fragments(2 * one_way + two_way + 10, PPP, &left), 766);
	assert_int_equal(left, lk - 13);
	assert_int_equal(nym_chunk_required_fragments(10, 3, NULL), 0);
}

/* ------------------------------------------------------------------- helpers ---- */

static uint8_t *random_bytes(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	ns_random(p, n);
	return p;
}

static uint8_t *padded_message(const uint8_t *data, size_t n, size_t *padded_len)
{
	uint8_t *p = nym_msg_pad_alloc(NYM_MSG_PLAIN, data, n, PPP, padded_len);

	assert_non_null(p);
	return p;
}

static void shuffle(size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = ns_random_uniform((uint32_t)i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
}

/* Feeds every fragment of l in the given order (dups may repeat indices); returns the one
 * message delivered (asserting it comes exactly at the last new fragment). */
static void feed_expect_one(struct nym_reassembler *r, const struct nym_fragment_list *l,
                            const size_t *order, size_t n, struct nym_reasm_message *msg)
{
	size_t delivered = 0;

	for (size_t k = 0; k < n; k++) {
		struct nym_reasm_message m;
		size_t i = order[k];
		int rc = nym_reasm_insert(r, l->frags[i], l->lens[i], 0, k, &m);

		assert_true(rc >= 0);
		if (rc == NYM_REASM_COMPLETE) {
			delivered++;
			*msg = m;
		}
	}
	assert_int_equal(delivered, 1);
}

static void check_unpadded(const struct nym_reasm_message *m, const uint8_t *data, size_t n)
{
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;

	assert_int_equal(nym_msg_unpad(m->data, m->len, &type, &inner, &inner_len), 0);
	assert_int_equal(type, NYM_MSG_PLAIN);
	assert_int_equal(inner_len, n);
	assert_memory_equal(inner, data, n);
}

/* ---------------------------------------------------------- real-client data ---- */

static cJSON *load_vectors(char **json)
{
	size_t len;
	cJSON *root;

	*json = util_read_file(VECTORS_PATH, &len);
	assert_non_null(*json);
	root = cJSON_Parse(*json);
	assert_non_null(root);
	return root;
}

static const char *packet_fragment_hex(cJSON *root, const char *name)
{
	cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(root, "packets")) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), name) == 0)
			return cJSON_GetStringValue(cJSON_GetObjectItem(p, "fragment"));
	}
	return NULL;
}

/* split(reassembled_padded, 1611, [set_id]) reproduces the real fragments byte for byte,
 * and the reassembler turns them (in reverse order) back into the padded message. */
static void test_real_client_fragments(void **state)
{
	char *json;
	cJSON *root = load_vectors(&json), *m;
	int messages = 0, fragments = 0;

	(void)state;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "messages")) {
		const char *hex = cJSON_GetStringValue(cJSON_GetObjectItem(m, "reassembled_padded"));
		int32_t set_id = (int32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "set_id"));
		cJSON *names = cJSON_GetObjectItem(m, "packets");
		size_t plen, count = (size_t)cJSON_GetArraySize(names);
		uint8_t *padded = util_unhex_alloc(hex, &plen);
		struct nym_fragment_list l;
		struct nym_reassembler *r = nym_reasm_new(NULL);
		struct nym_reasm_message out;

		assert_non_null(padded);
		assert_int_equal(nym_split_into_fragments_with_ids(padded, plen, PPP, &set_id, 1, &l), 0);
		assert_int_equal(l.count, count);
		for (size_t i = 0; i < count; i++) {
			const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(names, (int)i));
			size_t flen;
			uint8_t *frag = util_unhex_alloc(packet_fragment_hex(root, name), &flen);

			assert_non_null(frag);
			assert_int_equal(flen, PPP);
			assert_int_equal(l.lens[i], PPP);
			assert_memory_equal(l.frags[i], frag, PPP);
			assert_int_equal(l.ids[i].set_id, set_id);
			assert_int_equal(l.ids[i].position, i + 1);
			free(frag);
			fragments++;
		}
		for (size_t i = count; i-- > 0;) {
			int rc = nym_reasm_insert(r, l.frags[i], l.lens[i], PPP, 0, &out);

			assert_int_equal(rc, i == 0 ? NYM_REASM_COMPLETE : NYM_REASM_PENDING);
		}
		assert_int_equal(out.len, plen);
		assert_memory_equal(out.data, padded, plen);
		assert_int_equal(out.first_set_id, set_id);
		assert_int_equal(out.n_sets, 1);
		free(out.data);
		nym_reasm_free(r);
		nym_fragment_list_free(&l);
		free(padded);
		messages++;
	}
	assert_int_equal(messages, 7);
	assert_int_equal(fragments, 12);
	cJSON_Delete(root);
	free(json);
}

/* ---------------------------------------------------------------- splitting ---- */

static void test_split_100k_shuffled_duplicated(void **state)
{
	const size_t n = 100 * 1024;
	uint8_t *data = random_bytes(n), *padded;
	size_t plen, *order, total;
	struct nym_fragment_list l;
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message msg;
	struct nym_reasm_stats st;

	(void)state;
	padded = padded_message(data, n, &plen);
	assert_int_equal(nym_split_into_fragments(padded, plen, PPP, &l), 0);
	assert_int_equal(l.count, 64); /* ceil((102400 + 2) / 1604) */
	assert_int_equal(l.n_sets, 1);
	for (size_t i = 0; i < l.count; i++)
		assert_int_equal(l.lens[i], PPP);
	/* every fragment twice, shuffled */
	total = 2 * l.count;
	order = calloc(total, sizeof(*order));
	shuffle(order, total);
	for (size_t i = 0; i < total; i++)
		order[i] %= l.count;
	feed_expect_one(r, &l, order, total, &msg);
	assert_int_equal(msg.len, plen);
	assert_memory_equal(msg.data, padded, plen);
	check_unpadded(&msg, data, n);
	nym_reasm_get_stats(r, &st);
	assert_int_equal(st.duplicates, l.count);
	assert_int_equal(st.sets, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.delivered, 1);
	free(msg.data);
	free(order);
	nym_fragment_list_free(&l);
	nym_reasm_free(r);
	free(padded);
	free(data);
}

static void check_linked_structure(const struct nym_fragment_list *l)
{
	size_t pos = 0;

	for (size_t s = 0; s < l->n_sets; s++) {
		struct nym_fragment first, last;
		size_t total;

		assert_int_equal(nym_fragment_decode(l->frags[pos], l->lens[pos], &first), 0);
		total = first.header.total;
		assert_int_equal(nym_fragment_decode(l->frags[pos + total - 1],
		                                     l->lens[pos + total - 1], &last), 0);
		if (s == 0)
			assert_int_equal(first.header.prev_set_id, 0);
		else
			assert_int_equal(first.header.prev_set_id, l->ids[pos - 1].set_id);
		if (s + 1 < l->n_sets) {
			assert_int_equal(total, 255);
			assert_int_equal(last.header.next_set_id, l->ids[pos + total].set_id);
			assert_int_equal(last.payload_len, 1601);
		} else {
			assert_int_equal(last.header.next_set_id, 0);
		}
		for (size_t i = 0; i < total; i++) {
			struct nym_fragment f;

			assert_int_equal(nym_fragment_decode(l->frags[pos + i], l->lens[pos + i], &f), 0);
			assert_int_equal(f.header.set_id, first.header.set_id);
			assert_int_equal(f.header.current, i + 1);
			assert_int_equal(nym_fragment_check_len(&f, PPP), 0);
			assert_int_equal(l->lens[pos + i], PPP); /* padded: every fragment is full */
		}
		pos += total;
	}
	assert_int_equal(pos, l->count);
}

static void run_linked(size_t n, size_t want_sets)
{
	uint8_t *data = random_bytes(n), *padded;
	size_t plen, *order;
	struct nym_fragment_list l;
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message msg;

	padded = padded_message(data, n, &plen);
	assert_int_equal(nym_split_into_fragments(padded, plen, PPP, &l), 0);
	assert_int_equal(l.n_sets, want_sets);
	assert_int_equal(l.count, nym_msg_required_packets(n, PPP));
	assert_int_equal(l.count * PPP - plen, /* headers: 7 each, plus 3 per link end */
	                 l.count * 7 + (2 * want_sets - 2) * 3);
	check_linked_structure(&l);
	order = calloc(l.count, sizeof(*order));
	shuffle(order, l.count);
	feed_expect_one(r, &l, order, l.count, &msg);
	assert_int_equal(msg.n_sets, want_sets);
	assert_int_equal(msg.first_set_id, l.ids[0].set_id);
	assert_int_equal(msg.len, plen);
	assert_memory_equal(msg.data, padded, plen);
	check_unpadded(&msg, data, n);
	free(msg.data);
	free(order);
	nym_fragment_list_free(&l);
	nym_reasm_free(r);
	free(padded);
	free(data);
}

static void test_split_500k_linked(void **state)
{
	(void)state;
	run_linked(500 * 1024, 2);
}

static void test_split_1300k_four_sets(void **state)
{
	(void)state;
	run_linked(1300000, 4);
}

static void test_split_exact_set_boundaries(void **state)
{
	(void)state;
	run_linked(255 * 1604 - 1, 2);    /* one byte over a single set */
	run_linked(2 * (255 * 1604 - 3) - 2, 2); /* exactly two full one-way sets */
	run_linked(2 * (255 * 1604 - 3) - 1, 3);
}

static void test_split_errors(void **state)
{
	uint8_t msg[100] = { 1 };
	struct nym_fragment_list l;
	int32_t ids[3] = { 5, 5, 6 };
	static uint8_t big[255 * 1604 + 10];

	(void)state;
	assert_int_equal(nym_split_into_fragments(msg, 0, PPP, &l), NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_split_into_fragments(msg, 10, 10, &l), NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_split_into_fragments(NULL, 10, PPP, &l), NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_split_into_fragments_with_ids(msg, 100, PPP, ids, 0, &l),
	                 NYM_CHUNK_ERR_ARG);
	ids[0] = 0;
	assert_int_equal(nym_split_into_fragments_with_ids(msg, 100, PPP, ids, 1, &l),
	                 NYM_CHUNK_ERR_ARG);
	ids[0] = 5;
	/* two linked sets may not share an id (a set cannot link to itself) */
	assert_int_equal(nym_split_into_fragments_with_ids(big, sizeof(big), PPP, ids, 2, &l),
	                 NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_split_into_fragments_with_ids(big, sizeof(big), PPP, ids, 1, &l),
	                 NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_split_into_fragments_with_ids(big, sizeof(big), PPP, ids + 1, 2, &l), 0);
	assert_int_equal(l.count, 256);
	nym_fragment_list_free(&l);
}

/* -------------------------------------------------------------- reassembler ---- */

static void test_missing_piece(void **state)
{
	uint8_t *data = random_bytes(8000), *padded;
	size_t plen;
	struct nym_fragment_list l;
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message m;

	(void)state;
	padded = padded_message(data, 8000, &plen);
	assert_int_equal(nym_split_into_fragments(padded, plen, PPP, &l), 0);
	assert_int_equal(l.count, 5);
	for (size_t i = 0; i < l.count; i++)
		if (i != 2)
			assert_int_equal(nym_reasm_insert(r, l.frags[i], l.lens[i], 0, 0, &m),
			                 NYM_REASM_PENDING);
	/* repeat everything but the missing one: still pending */
	for (size_t i = 0; i < l.count; i++)
		if (i != 2)
			assert_int_equal(nym_reasm_insert(r, l.frags[i], l.lens[i], 0, 0, &m),
			                 NYM_REASM_DUPLICATE);
	assert_null(m.data);
	assert_int_equal(nym_reasm_insert(r, l.frags[2], l.lens[2], 0, 0, &m), NYM_REASM_COMPLETE);
	assert_memory_equal(m.data, padded, plen);
	free(m.data);
	/* late duplicate of a delivered message does not start a new buffer */
	assert_int_equal(nym_reasm_insert(r, l.frags[0], l.lens[0], 0, 0, &m), NYM_REASM_DUPLICATE);
	{
		struct nym_reasm_stats st;

		nym_reasm_get_stats(r, &st);
		assert_int_equal(st.sets, 0);
	}
	nym_fragment_list_free(&l);
	nym_reasm_free(r);
	free(padded);
	free(data);
}

/* The delivered-id memory is a ring of 1024: the oldest ids are forgotten. */
static void test_recent_ring_wraps(void **state)
{
	struct nym_reassembler *r = nym_reasm_new(NULL);
	uint8_t msg[20] = { 0x01 };
	struct nym_reasm_message m;
	struct nym_fragment_list l;

	(void)state;
	for (int32_t id = 1; id <= 1100; id++) {
		assert_int_equal(nym_split_into_fragments_with_ids(msg, sizeof(msg), PPP, &id, 1, &l), 0);
		assert_int_equal(nym_reasm_insert(r, l.frags[0], l.lens[0], PPP, 0, &m),
		                 NYM_REASM_COMPLETE);
		free(m.data);
		if (id == 1100)
			assert_int_equal(nym_reasm_insert(r, l.frags[0], l.lens[0], PPP, 0, &m),
			                 NYM_REASM_DUPLICATE);
		nym_fragment_list_free(&l);
	}
	/* remembered: 77..1100; each re-delivery of a forgotten id pushes the oldest out */
	{
		static const struct { int32_t id; int rc; } again[] = {
			{ 1100, NYM_REASM_DUPLICATE }, { 500, NYM_REASM_DUPLICATE },
			{ 77, NYM_REASM_DUPLICATE },   { 76, NYM_REASM_COMPLETE },
			{ 1, NYM_REASM_COMPLETE },     { 77, NYM_REASM_COMPLETE },
			{ 80, NYM_REASM_DUPLICATE },   { 1, NYM_REASM_DUPLICATE },
		};

		for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
			int32_t id = again[i].id;

			assert_int_equal(
				nym_split_into_fragments_with_ids(msg, sizeof(msg), PPP, &id, 1, &l), 0);
			assert_int_equal(nym_reasm_insert(r, l.frags[0], l.lens[0], PPP, 0, &m),
			                 again[i].rc);
			if (again[i].rc == NYM_REASM_COMPLETE)
				free(m.data);
			nym_fragment_list_free(&l);
		}
	}
	nym_reasm_free(r);
}

static void test_interleaved_messages(void **state)
{
	enum { N = 6 };
	uint8_t *data[N], *padded[N];
	size_t plen[N], sizes[N] = { 10, 1700, 5000, 30000, 3300, 420000 };
	struct nym_fragment_list l[N];
	struct nym_reassembler *r = nym_reasm_new(NULL);
	size_t total = 0, k = 0, got = 0, *order;
	struct { size_t msg, frag; } *all;

	(void)state;
	for (int i = 0; i < N; i++) {
		data[i] = random_bytes(sizes[i]);
		padded[i] = padded_message(data[i], sizes[i], &plen[i]);
		assert_int_equal(nym_split_into_fragments(padded[i], plen[i], PPP, &l[i]), 0);
		total += l[i].count;
	}
	all = calloc(total, sizeof(*all));
	order = calloc(total, sizeof(*order));
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < l[i].count; j++, k++)
			all[k].msg = (size_t)i, all[k].frag = j;
	shuffle(order, total);
	for (k = 0; k < total; k++) {
		size_t i = all[order[k]].msg, j = all[order[k]].frag;
		struct nym_reasm_message m;
		int rc = nym_reasm_insert(r, l[i].frags[j], l[i].lens[j], 0, 0, &m);

		assert_true(rc == NYM_REASM_PENDING || rc == NYM_REASM_COMPLETE);
		if (rc == NYM_REASM_COMPLETE) {
			int found = 0;

			for (int q = 0; q < N; q++)
				if (m.first_set_id == l[q].ids[0].set_id) {
					assert_int_equal(m.len, plen[q]);
					assert_memory_equal(m.data, padded[q], plen[q]);
					found = 1;
				}
			assert_true(found);
			free(m.data);
			got++;
		}
	}
	assert_int_equal(got, N);
	for (int i = 0; i < N; i++) {
		nym_fragment_list_free(&l[i]);
		free(padded[i]);
		free(data[i]);
	}
	free(all);
	free(order);
	nym_reasm_free(r);
}

static void stats_equal(struct nym_reassembler *r, size_t sets, size_t bytes)
{
	struct nym_reasm_stats st;

	nym_reasm_get_stats(r, &st);
	assert_int_equal(st.sets, sets);
	assert_int_equal(st.bytes, bytes);
}

static void test_malformed_leaves_state(void **state)
{
	uint8_t *data = random_bytes(5000), *padded, bad[PPP + 8];
	size_t plen;
	struct nym_fragment_list l;
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message m;
	struct nym_reasm_stats st;
	size_t sets, bytes;

	(void)state;
	padded = padded_message(data, 5000, &plen);
	assert_int_equal(nym_split_into_fragments(padded, plen, PPP, &l), 0);
	assert_int_equal(l.count, 4);
	assert_int_equal(nym_reasm_insert(r, l.frags[0], l.lens[0], 0, 0, &m), NYM_REASM_PENDING);
	nym_reasm_get_stats(r, &st);
	sets = st.sets;
	bytes = st.bytes;
	assert_int_equal(sets, 1);

	/* truncated header */
	assert_int_equal(nym_reasm_insert(r, l.frags[1], 6, 0, 0, &m), NYM_CHUNK_ERR_SHORT);
	/* flag bit cleared */
	memcpy(bad, l.frags[1], PPP);
	bad[0] &= 0x7f;
	assert_int_equal(nym_reasm_insert(r, bad, PPP, 0, 0, &m), NYM_CHUNK_ERR_HEADER);
	/* current > total */
	memcpy(bad, l.frags[1], PPP);
	bad[5] = 5;
	assert_int_equal(nym_reasm_insert(r, bad, PPP, 0, 0, &m), NYM_CHUNK_ERR_HEADER);
	/* inconsistent total for the set */
	memcpy(bad, l.frags[1], PPP);
	bad[4] = 5;
	assert_int_equal(nym_reasm_insert(r, bad, PPP, 0, 0, &m), NYM_CHUNK_ERR_INCONSISTENT);
	/* bad link: link on a middle fragment */
	memcpy(bad, l.frags[1], PPP);
	bad[6] = 0x80;
	assert_int_equal(nym_reasm_insert(r, bad, PPP, 0, 0, &m), NYM_CHUNK_ERR_HEADER);
	/* wrong payload length for its position (middle fragment short / long) */
	assert_int_equal(nym_reasm_insert(r, l.frags[1], PPP - 1, PPP, 0, &m),
	                 NYM_CHUNK_ERR_PAYLOAD_LEN);
	memcpy(bad, l.frags[1], PPP);
	bad[PPP] = 0;
	assert_int_equal(nym_reasm_insert(r, bad, PPP + 1, PPP, 0, &m), NYM_CHUNK_ERR_PAYLOAD_LEN);
	/* same set seen with another budget */
	assert_int_equal(nym_reasm_insert(r, bad, PPP + 1, 0, 0, &m), NYM_CHUNK_ERR_INCONSISTENT);
	/* absurd budget */
	assert_int_equal(nym_reasm_insert(r, l.frags[1], 9, 9, 0, &m), NYM_CHUNK_ERR_ARG);
	assert_int_equal(nym_reasm_insert(r, NULL, 9, 0, 0, &m), NYM_CHUNK_ERR_ARG);

	nym_reasm_get_stats(r, &st);
	assert_int_equal(st.sets, sets);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.rejected, 9);
	assert_int_equal(st.delivered, 0);
	/* the good fragments still complete the message */
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(nym_reasm_insert(r, l.frags[i], l.lens[i], 0, 0, &m),
		                 i == 3 ? NYM_REASM_COMPLETE : NYM_REASM_PENDING);
	assert_memory_equal(m.data, padded, plen);
	free(m.data);
	stats_equal(r, 0, 0);
	nym_fragment_list_free(&l);
	nym_reasm_free(r);
	free(padded);
	free(data);
}

static void test_eviction_caps(void **state)
{
	struct nym_reasm_config cfg = { .max_bytes = 20000, .max_sets = 4 };
	struct nym_reassembler *r = nym_reasm_new(&cfg);
	struct nym_fragment_list l[8];
	uint8_t *padded[8], data[5000];
	size_t plen[8];
	struct nym_reasm_message m;
	struct nym_reasm_stats st;

	(void)state;
	ns_random(data, sizeof(data));
	for (int i = 0; i < 8; i++) {
		padded[i] = padded_message(data, sizeof(data), &plen[i]);
		assert_int_equal(nym_split_into_fragments(padded[i], plen[i], PPP, &l[i]), 0);
		assert_int_equal(nym_reasm_insert(r, l[i].frags[0], PPP, 0, (uint64_t)i, &m),
		                 NYM_REASM_PENDING);
		nym_reasm_get_stats(r, &st);
		assert_true(st.sets <= 4);
		assert_true(st.bytes <= 20000);
	}
	nym_reasm_get_stats(r, &st);
	assert_true(st.evicted_sets >= 4);
	/* the oldest set was evicted: completing it now is impossible (its first piece is gone) */
	for (size_t j = 1; j < l[0].count; j++)
		assert_int_equal(nym_reasm_insert(r, l[0].frags[j], PPP, 0, 9, &m), NYM_REASM_PENDING);
	/* the newest set completes */
	for (size_t j = 1; j < l[7].count; j++) {
		int rc = nym_reasm_insert(r, l[7].frags[j], PPP, 0, 10, &m);

		assert_int_equal(rc, j + 1 == l[7].count ? NYM_REASM_COMPLETE : NYM_REASM_PENDING);
	}
	assert_memory_equal(m.data, padded[7], plen[7]);
	free(m.data);
	/* a cap smaller than one fragment: refused, nothing stored */
	nym_reasm_free(r);
	cfg.max_bytes = 1000;
	r = nym_reasm_new(&cfg);
	assert_int_equal(nym_reasm_insert(r, l[1].frags[0], PPP, 0, 0, &m), NYM_CHUNK_ERR_TOO_BIG);
	stats_equal(r, 0, 0);
	nym_reasm_free(r);
	for (int i = 0; i < 8; i++) {
		nym_fragment_list_free(&l[i]);
		free(padded[i]);
	}
}

static void test_expire(void **state)
{
	uint8_t data[4000];
	uint8_t *padded;
	size_t plen;
	struct nym_fragment_list l;
	struct nym_reassembler *r = nym_reasm_new(NULL);
	struct nym_reasm_message m;
	struct nym_reasm_stats st;

	(void)state;
	ns_random(data, sizeof(data));
	padded = padded_message(data, sizeof(data), &plen);
	assert_int_equal(nym_split_into_fragments(padded, plen, PPP, &l), 0);
	assert_int_equal(nym_reasm_insert(r, l.frags[0], PPP, 0, 1000, &m), NYM_REASM_PENDING);
	assert_int_equal(nym_reasm_expire(r, 1000 + 1799999, 1800000), 0);
	assert_int_equal(nym_reasm_expire(r, 1000 + 1800000, 1800000), 1);
	nym_reasm_get_stats(r, &st);
	assert_int_equal(st.expired_sets, 1);
	assert_int_equal(st.sets, 0);
	assert_int_equal(st.bytes, 0);
	nym_fragment_list_free(&l);
	nym_reasm_free(r);
	free(padded);
}

/* Builds a full 255-fragment set by hand with the given links. */
static void make_set(struct nym_fragment_list *l, int32_t id, int32_t prev, int32_t next,
                     uint8_t **storage)
{
	uint8_t *buf = calloc(255, PPP);

	assert_non_null(buf);
	l->count = 255;
	l->frags = calloc(255, sizeof(*l->frags));
	l->lens = calloc(255, sizeof(*l->lens));
	for (int i = 0; i < 255; i++) {
		struct nym_frag_header h = { .set_id = id, .total = 255, .current = (uint8_t)(i + 1),
		                             .prev_set_id = i == 0 ? prev : 0,
		                             .next_set_id = i == 254 ? next : 0 };

		l->frags[i] = buf + (size_t)i * PPP;
		l->lens[i] = PPP;
		assert_true(nym_frag_header_encode(&h, l->frags[i], PPP) > 0);
	}
	*storage = buf;
}

static void free_set(struct nym_fragment_list *l, uint8_t *storage)
{
	free(l->frags);
	free(l->lens);
	free(storage);
}

static int feed_all(struct nym_reassembler *r, struct nym_fragment_list *l)
{
	struct nym_reasm_message m;
	int last = 0;

	for (size_t i = 0; i < l->count; i++) {
		last = nym_reasm_insert(r, l->frags[i], l->lens[i], 0, 0, &m);
		assert_true(last >= 0);
		if (last == NYM_REASM_COMPLETE)
			free(m.data);
	}
	return last;
}

static void test_bad_links_never_deliver(void **state)
{
	struct nym_fragment_list a, b, c;
	uint8_t *sa, *sb, *sc;
	struct nym_reassembler *r = nym_reasm_new(NULL);

	(void)state;
	/* a cycle: A -> B -> A */
	make_set(&a, 100, 200, 200, &sa);
	make_set(&b, 200, 100, 100, &sb);
	assert_int_equal(feed_all(r, &a), NYM_REASM_PENDING);
	assert_int_equal(feed_all(r, &b), NYM_REASM_PENDING);
	free_set(&a, sa);
	free_set(&b, sb);
	nym_reasm_free(r);
	/* links that disagree: A.next = B but B.prev = C; then a lone last set */
	r = nym_reasm_new(NULL);
	make_set(&a, 100, 0, 200, &sa);
	make_set(&b, 200, 300, 0, &sb);
	make_set(&c, 300, 0, 0, &sc); /* an unlinked full set delivers on its own */
	assert_int_equal(feed_all(r, &a), NYM_REASM_PENDING);
	assert_int_equal(feed_all(r, &b), NYM_REASM_PENDING);
	assert_int_equal(feed_all(r, &c), NYM_REASM_COMPLETE);
	free_set(&a, sa);
	free_set(&b, sb);
	free_set(&c, sc);
	nym_reasm_free(r);
	/* consistent hand-made chain A -> B: delivered, A first */
	r = nym_reasm_new(NULL);
	make_set(&a, 100, 0, 200, &sa);
	make_set(&b, 200, 100, 0, &sb);
	b.frags[0][10] = 0xbb;
	a.frags[0][10] = 0xaa;
	assert_int_equal(feed_all(r, &b), NYM_REASM_PENDING);
	{
		struct nym_reasm_message m;

		for (size_t i = 0; i < 255; i++) {
			int rc = nym_reasm_insert(r, a.frags[i], PPP, 0, 0, &m);

			assert_int_equal(rc, i == 254 ? NYM_REASM_COMPLETE : NYM_REASM_PENDING);
		}
		assert_int_equal(m.n_sets, 2);
		assert_int_equal(m.first_set_id, 100);
		assert_int_equal(m.len, (1604 * 254 + 1601) * 2);
		assert_int_equal(m.data[0], 0);
		assert_int_equal(m.data[255 * 1604 - 3 + 0], 0xbb); /* B's payload starts after A */
		free(m.data);
	}
	free_set(&a, sa);
	free_set(&b, sb);
	nym_reasm_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_vectors),
		cmocka_unit_test(test_header_decode_errors),
		cmocka_unit_test(test_header_encode_errors),
		cmocka_unit_test(test_payload_len_rules),
		cmocka_unit_test(test_frag_id),
		cmocka_unit_test(test_random_set_ids),
		cmocka_unit_test(test_set_arithmetic),
		cmocka_unit_test(test_real_client_fragments),
		cmocka_unit_test(test_split_100k_shuffled_duplicated),
		cmocka_unit_test(test_split_500k_linked),
		cmocka_unit_test(test_split_1300k_four_sets),
		cmocka_unit_test(test_split_exact_set_boundaries),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_missing_piece),
		cmocka_unit_test(test_recent_ring_wraps),
		cmocka_unit_test(test_interleaved_messages),
		cmocka_unit_test(test_malformed_leaves_state),
		cmocka_unit_test(test_eviction_caps),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_bad_links_never_deliver),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
