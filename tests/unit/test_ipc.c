/* IPC catalogue, framing and validation (common/ipc_codec.h, common/ipc.h, common/ipc_msgs.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "ipc.h"
#include "unit/util.h"

static uint8_t rxbuf[NS_IPC_MAX_DATAGRAM];
static uint8_t encbuf[NS_IPC_MAX_DATAGRAM + 16];

/* ---- helpers */

static void pair(int sv[2])
{
	assert_int_equal(ns_ipc_socketpair(sv), 0);
}

/* Fills every field of m (type t): at_max picks the largest value/length, else the smallest;
 * byte fields are a pattern seeded by `seed` taken from pool. */
static void fill_msg(const struct ns_ipc_type_info *t, struct ns_ipc_msg *m, int at_max,
                     uint8_t *pool, size_t pool_len, uint8_t seed)
{
	memset(m, 0, sizeof *m);
	m->type = t->type;
	uint8_t *base = (uint8_t *)&m->u;
	size_t used = 0;
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct ns_ipc_field_info *f = &t->fields[i];
		void *at = base + f->offset;
		if (f->kind == NS_IPC_KIND_U64) {
			uint64_t v = at_max ? f->max : f->min;
			memcpy(at, &v, sizeof v);
		} else if (f->kind == NS_IPC_KIND_BOOL) {
			bool v = at_max != 0;
			memcpy(at, &v, sizeof v);
		} else {
			size_t n = (size_t)(at_max ? f->max : f->min);
			assert_true(used + n <= pool_len);
			for (size_t k = 0; k < n; k++)
				pool[used + k] = f->kind == NS_IPC_KIND_STR ?
					(uint8_t)(0x20 + (seed + k) % 95) : (uint8_t)(seed + k * 7);
			struct ns_ipc_bytes b = { n ? pool + used : NULL, n };
			memcpy(at, &b, sizeof b);
			used += n;
		}
	}
}

static void assert_same_msg(const struct ns_ipc_type_info *t, const struct ns_ipc_msg *a,
                            const struct ns_ipc_msg *b)
{
	assert_int_equal(a->type, b->type);
	const uint8_t *ba = (const uint8_t *)&a->u, *bb = (const uint8_t *)&b->u;
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct ns_ipc_field_info *f = &t->fields[i];
		if (f->kind == NS_IPC_KIND_U64) {
			assert_memory_equal(ba + f->offset, bb + f->offset, sizeof(uint64_t));
		} else if (f->kind == NS_IPC_KIND_BOOL) {
			assert_memory_equal(ba + f->offset, bb + f->offset, sizeof(bool));
		} else {
			struct ns_ipc_bytes x, y;
			memcpy(&x, ba + f->offset, sizeof x);
			memcpy(&y, bb + f->offset, sizeof y);
			assert_int_equal(x.len, y.len);
			if (x.len)
				assert_memory_equal(x.ptr, y.ptr, x.len);
		}
	}
}

static int decode_as(enum ns_ipc_role self, enum ns_ipc_role peer, const uint8_t *b, size_t n)
{
	struct ns_ipc_msg m;
	return ns_ipc_decode(self, peer, b, n, &m);
}

/* ---- catalogue */

static void test_catalogue_consistent(void **state)
{
	(void)state;
	assert_int_equal(ns_ipc_catalogue_check(), 0);
	assert_true(ns_ipc_catalogue_size() >= 25);
	for (size_t i = 0; i < ns_ipc_catalogue_size(); i++) {
		const struct ns_ipc_type_info *t = ns_ipc_catalogue_entry(i);
		assert_ptr_equal(ns_ipc_type_info(t->type), t);
		assert_true(t->type > 0 && t->type < NS_IPC_TYPE_LIMIT);
		assert_true(t->n_fields >= 1 && t->n_fields <= NS_IPC_MAX_FIELDS);
		assert_true(t->max_size <= NS_IPC_MAX_DATAGRAM);
		for (size_t j = i + 1; j < ns_ipc_catalogue_size(); j++) {
			assert_int_not_equal(t->type, ns_ipc_catalogue_entry(j)->type);
			assert_string_not_equal(t->name, ns_ipc_catalogue_entry(j)->name);
		}
	}
	assert_null(ns_ipc_catalogue_entry(ns_ipc_catalogue_size()));
	assert_null(ns_ipc_type_info(0));
	assert_string_equal(ns_ipc_type_name(NS_IPC_T_SEALED_FRAME), "SEALED_FRAME");
	assert_string_equal(ns_ipc_type_name(63), "?");
	/* field layout of one type, as the generated table says */
	const struct ns_ipc_type_info *bp = ns_ipc_type_info(NS_IPC_T_BUILD_PACKET);
	assert_int_equal(bp->n_fields, 5);
	assert_string_equal(bp->fields[2].name, "recipient");
	assert_int_equal(bp->fields[2].min, 96);
	assert_int_equal(bp->fields[2].offset, offsetof(struct ns_ipc_BUILD_PACKET, recipient));
	assert_int_equal(bp->max_size, 2 + (5 + 5) + (5 + 32768) + (5 + 96) + 9 + 9);
}

static void test_secret_rule(void **state)
{
	(void)state;
	for (int r = 0; r < NS_IPC_ROLE_COUNT; r++)
		assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_KEY, (enum ns_ipc_role)r));
	assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_PLAINTEXT, NS_IPC_NETD));
	assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_SURB, NS_IPC_NETD));
	assert_true(ns_ipc_secret_allowed(NS_IPC_SECRET_SEALED, NS_IPC_NETD));
	assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_SEALED, NS_IPC_APID));
	assert_true(ns_ipc_secret_allowed(NS_IPC_SECRET_PLAINTEXT, NS_IPC_APID));
	assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_SEALED, NS_IPC_SUPERVISOR));
	assert_false(ns_ipc_secret_allowed(NS_IPC_SECRET_SURB, NS_IPC_SUPERVISOR));
	/* every type toward netd or apid: only the classes the rule allows; none carries a key */
	for (size_t i = 0; i < ns_ipc_catalogue_size(); i++) {
		const struct ns_ipc_type_info *t = ns_ipc_catalogue_entry(i);
		assert_int_not_equal(ns_ipc_secret_class(t->type), NS_IPC_SECRET_KEY);
		if (t->receivers & NS_IPC_M_NETD)
			assert_true(t->secret == NS_IPC_SECRET_NONE || t->secret == NS_IPC_SECRET_SEALED);
		if (t->receivers & NS_IPC_M_APID)
			assert_true(t->secret != NS_IPC_SECRET_SEALED);
		if (t->receivers & NS_IPC_M_SUP)
			assert_true(t->secret == NS_IPC_SECRET_NONE || t->secret == NS_IPC_SECRET_PLAINTEXT);
		if (t->secret == NS_IPC_SECRET_SEALED || t->secret == NS_IPC_SECRET_SURB)
			/* key-derived bytes only leave keyd or reach it */
			assert_true((t->senders | t->receivers) & NS_IPC_M_KEYD);
	}
	assert_int_equal(ns_ipc_secret_class(NS_IPC_T_SEALED_FRAME), NS_IPC_SECRET_SEALED);
	assert_int_equal(ns_ipc_secret_class(NS_IPC_T_FRAGMENT), NS_IPC_SECRET_PLAINTEXT);
	assert_int_equal(ns_ipc_secret_class(999), NS_IPC_SECRET_KEY); /* unknown: treat as worst */
}

static void test_accept_table(void **state)
{
	(void)state;
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_APID, NS_IPC_T_BUILD_PACKET), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_NETD, NS_IPC_T_BUILD_PACKET), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_NETD, NS_IPC_APID, NS_IPC_T_BUILD_PACKET), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_NETD, NS_IPC_KEYD, NS_IPC_T_ACK), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_APID, NS_IPC_KEYD, NS_IPC_T_ACK), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_APID, NS_IPC_NETD, NS_IPC_T_ACK_TIMEOUT), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_NETD, NS_IPC_APID, NS_IPC_T_FORGET_FRAGMENT), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_NETD, NS_IPC_KEYD, NS_IPC_T_FORGET_FRAGMENT), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_APID, NS_IPC_T_FORGET_FRAGMENT), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_APID, NS_IPC_NETD, NS_IPC_T_GAVE_UP_FRAGMENT), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_APID, NS_IPC_KEYD, NS_IPC_T_GAVE_UP_FRAGMENT), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_APID, NS_IPC_SUPERVISOR, NS_IPC_T_GAVE_UP_FRAGMENT), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_NETD, NS_IPC_APID, NS_IPC_T_GAVE_UP_FRAGMENT), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_NETD, NS_IPC_T_GAVE_UP_FRAGMENT), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_SUPERVISOR, NS_IPC_T_SHUTDOWN), 0);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_KEYD, NS_IPC_T_SHUTDOWN), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_SUPERVISOR, NS_IPC_KEYD, NS_IPC_T_SHUTDOWN), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_accepts(NS_IPC_KEYD, NS_IPC_APID, 63), NS_IPC_EUNKNOWN);
	assert_int_equal(ns_ipc_accepts((enum ns_ipc_role)7, NS_IPC_APID, NS_IPC_T_ACK), NS_IPC_ERECEIVER);
}

/* ---- exact bytes */

static void test_exact_encoding(void **state)
{
	(void)state;
	static const uint8_t id[5] = { 1, 2, 3, 4, 5 };
	struct ns_ipc_msg m = { .type = NS_IPC_T_ACK, .u.ACK = { NS_IPC_BYTES(id, 5) } };
	size_t n;
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	static const uint8_t ack[] = { 0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(n, sizeof ack);
	assert_memory_equal(encbuf, ack, sizeof ack);

	/* TOPOLOGY_BEGIN [50, 300, 0xFFFFFFFF, 7]: uint16, uint32, fixint */
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_TOPOLOGY_BEGIN,
				 .u.TOPOLOGY_BEGIN = { 300, 0xFFFFFFFFu, 7 } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	static const uint8_t tb[] = { 0x94, 0x32, 0xcd, 0x01, 0x2c, 0xce, 0xff, 0xff, 0xff, 0xff, 0x07 };
	assert_int_equal(n, sizeof tb);
	assert_memory_equal(encbuf, tb, sizeof tb);

	/* READY [4, 1, true]; STATS_REPLY text of 39 bytes uses str8 */
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_READY, .u.READY = { 1, true } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	static const uint8_t rd[] = { 0x93, 0x04, 0x01, 0xc3 };
	assert_int_equal(n, sizeof rd);
	assert_memory_equal(encbuf, rd, sizeof rd);
	static const char text[] = "frames_sent=12\nframes_received=3456789\n";
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_STATS_REPLY,
				 .u.STATS_REPLY = { 9, { (const uint8_t *)text, sizeof text - 1 } } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	assert_int_equal(sizeof text - 1, 39);
	assert_int_equal(n, 3 + 2 + 39);
	assert_memory_equal(encbuf, "\x93\x03\x09\xd9\x27", 5);
	assert_memory_equal(encbuf + 5, text, 39);

	/* decoding points into the datagram */
	struct ns_ipc_msg d;
	assert_int_equal(ns_ipc_decode(NS_IPC_NETD, NS_IPC_KEYD, ack, sizeof ack, &d), 0);
	assert_int_equal(d.type, NS_IPC_T_ACK);
	assert_ptr_equal(d.u.ACK.frag_id.ptr, ack + 4);
	assert_int_equal(d.u.ACK.frag_id.len, 5);
}

static void test_encode_rejects(void **state)
{
	(void)state;
	size_t n;
	uint8_t id[6] = { 0 };
	struct ns_ipc_msg m = { .type = NS_IPC_T_ACK, .u.ACK = { { id, 6 } } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), NS_IPC_ELENGTH);
	m.u.ACK.frag_id.len = 5;
	assert_int_equal(ns_ipc_encode(&m, encbuf, 8, &n), NS_IPC_ESPACE);
	assert_int_equal(ns_ipc_encode(&m, encbuf, 9, &n), 0);
	m.u.ACK.frag_id.ptr = NULL;
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), NS_IPC_EARG);
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_SHUTDOWN, .u.SHUTDOWN = { 3 } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), NS_IPC_ERANGE);
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_GW_AUTH_TEXT,
				 .u.GW_AUTH_TEXT = { { (const uint8_t *)"{\"a\":\x01}", 7 } } };
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), NS_IPC_ETEXT);
	m.type = (enum ns_ipc_type)63;
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), NS_IPC_EUNKNOWN);

	/* a process may only send what the catalogue lets it send */
	int sv[2];
	pair(sv);
	uint8_t fid[5] = { 0 };
	m = (struct ns_ipc_msg){ .type = NS_IPC_T_SEALED_FRAME,
				 .u.SEALED_FRAME = { { fid, 5 }, { fid, 5 }, 0, 0 } };
	assert_int_equal(ns_ipc_send(sv[0], NS_IPC_APID, NS_IPC_NETD, &m), NS_IPC_ESENDER);
	assert_int_equal(ns_ipc_send(sv[0], NS_IPC_KEYD, NS_IPC_APID, &m), NS_IPC_ERECEIVER);
	assert_int_equal(ns_ipc_send(sv[0], NS_IPC_KEYD, NS_IPC_NETD, &m), 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- every type through a real socketpair, on every link it may use */

static void roundtrip_type(const struct ns_ipc_type_info *t, int at_max, uint8_t *pool,
                           size_t pool_len, int *links)
{
	for (int s = 0; s < NS_IPC_ROLE_COUNT; s++) {
		if (!(t->senders & (1u << s)))
			continue;
		for (int r = 0; r < NS_IPC_ROLE_COUNT; r++) {
			if (!(t->receivers & (1u << r)) || r == s) /* BATCH: every link, none to itself */
				continue;
			int sv[2];
			pair(sv);
			struct ns_ipc_msg m, got;
			fill_msg(t, &m, at_max, pool, pool_len, (uint8_t)(t->type + s + r));
			assert_int_equal(ns_ipc_send(sv[0], (enum ns_ipc_role)s, (enum ns_ipc_role)r, &m), 0);
			assert_int_equal(ns_ipc_recv(sv[1], (enum ns_ipc_role)r, (enum ns_ipc_role)s,
						     rxbuf, sizeof rxbuf, &got, 0), 0);
			assert_same_msg(t, &m, &got);
			size_t n;
			assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
			assert_true(n <= t->max_size);
			if (at_max && t->n_fields > 0)
				assert_memory_equal(encbuf, rxbuf, n);
			/* the same datagram is refused by every other receiver/sender pair */
			for (int r2 = 0; r2 < NS_IPC_ROLE_COUNT; r2++)
				for (int s2 = 0; s2 < NS_IPC_ROLE_COUNT; s2++)
					if (!((t->receivers >> r2) & 1) || !((t->senders >> s2) & 1) || r2 == s2)
						assert_true(decode_as((enum ns_ipc_role)r2, (enum ns_ipc_role)s2,
								      encbuf, n) < 0);
			close(sv[0]);
			close(sv[1]);
			(*links)++;
		}
	}
}

static void test_roundtrip_every_type(void **state)
{
	(void)state;
	size_t pool_len = 2 * NS_IPC_MAX_DATAGRAM;
	uint8_t *pool = malloc(pool_len);
	assert_non_null(pool);
	int links = 0;
	for (size_t i = 0; i < ns_ipc_catalogue_size(); i++) {
		roundtrip_type(ns_ipc_catalogue_entry(i), 0, pool, pool_len, &links);
		roundtrip_type(ns_ipc_catalogue_entry(i), 1, pool, pool_len, &links);
	}
	/* 3+3+3+3 supervisor links; ACK, STATUS_REQUEST, STATUS_REPLY, EXIT_POLICY_TEXT and
	 * EXIT_POLICY_END two each; BATCH the 6 links between children; the rest one */
	assert_int_equal(links, 2 * (12 + 2 + 2 + 2 + 2 + 2 + 6 + (int)(ns_ipc_catalogue_size() - 10)));
	free(pool);
}

/* ---- malformed datagrams, each with its exact error */

static void test_reject_unknown_type(void **state)
{
	(void)state;
	static const uint8_t t63[] = { 0x92, 0x3f, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	static const uint8_t t0[] = { 0x91, 0x00 };
	static const uint8_t t_big[] = { 0x91, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0x1f }; /* 2^32 + 31 */
	static const uint8_t t_str[] = { 0x92, 0xa1, 'A', 0xc4, 0x05, 1, 2, 3, 4, 5 };
	static const uint8_t t_bool[] = { 0x91, 0xc3 };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, t63, sizeof t63), NS_IPC_EUNKNOWN);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, t0, sizeof t0), NS_IPC_EUNKNOWN);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, t_big, sizeof t_big), NS_IPC_EUNKNOWN);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, t_str, sizeof t_str), NS_IPC_EUNKNOWN);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, t_bool, sizeof t_bool), NS_IPC_EUNKNOWN);
}

static void test_reject_wrong_peer(void **state)
{
	(void)state;
	static const uint8_t ack[] = { 0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, ack, sizeof ack), 0);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_APID, ack, sizeof ack), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_SUPERVISOR, ack, sizeof ack), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, ack, sizeof ack), NS_IPC_ERECEIVER);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_KEYD, ack, sizeof ack), NS_IPC_ERECEIVER);
	/* ACK_TIMEOUT [26, id] forged by keyd toward apid */
	static const uint8_t ato[] = { 0x92, 0x1a, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, ato, sizeof ato), 0);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, ato, sizeof ato), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_APID, ato, sizeof ato), NS_IPC_ESENDER);
	/* FRAMES_SENT [27, ids, false]: only netd tells the front which frames went out */
	static const uint8_t sent[] = { 0x93, 0x1b, 0xc4, 0x05, 1, 2, 3, 4, 5, 0xc2 };
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, sent, sizeof sent), 0);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, sent, sizeof sent), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, sent, sizeof sent), NS_IPC_ERECEIVER);
	/* FORGET_FRAGMENT [28, id]: only the front gives a fragment up, only netd hears it */
	static const uint8_t fgt[] = { 0x92, 0x1c, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_APID, fgt, sizeof fgt), 0);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, fgt, sizeof fgt), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_SUPERVISOR, fgt, sizeof fgt), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_APID, fgt, sizeof fgt), NS_IPC_ERECEIVER);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, fgt, sizeof fgt), NS_IPC_ERECEIVER);
	/* one id exactly: four or six bytes, or a list, are refused */
	static const uint8_t fgt4[] = { 0x92, 0x1c, 0xc4, 0x04, 1, 2, 3, 4 };
	static const uint8_t fgt6[] = { 0x92, 0x1c, 0xc4, 0x06, 1, 2, 3, 4, 5, 6 };
	assert_int_not_equal(decode_as(NS_IPC_NETD, NS_IPC_APID, fgt4, sizeof fgt4), 0);
	assert_int_not_equal(decode_as(NS_IPC_NETD, NS_IPC_APID, fgt6, sizeof fgt6), 0);
	/* GAVE_UP_FRAGMENT [29, id]: only netd gives a fragment up at the retransmission limit,
	 * only the front hears it */
	static const uint8_t gup[] = { 0x92, 0x1d, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gup, sizeof gup), 0);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, gup, sizeof gup), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_SUPERVISOR, gup, sizeof gup), NS_IPC_ESENDER);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_APID, gup, sizeof gup), NS_IPC_ERECEIVER);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, gup, sizeof gup), NS_IPC_ERECEIVER);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_NETD, gup, sizeof gup), NS_IPC_ERECEIVER);
	/* one id exactly: four or six bytes, a str, a missing or an extra field are refused */
	static const uint8_t gup4[] = { 0x92, 0x1d, 0xc4, 0x04, 1, 2, 3, 4 };
	static const uint8_t gup6[] = { 0x92, 0x1d, 0xc4, 0x06, 1, 2, 3, 4, 5, 6 };
	static const uint8_t gupstr[] = { 0x92, 0x1d, 0xa5, 1, 2, 3, 4, 5 };
	static const uint8_t gup0[] = { 0x91, 0x1d };
	static const uint8_t gup2[] = { 0x93, 0x1d, 0xc4, 0x05, 1, 2, 3, 4, 5, 0x00 };
	assert_int_not_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gup4, sizeof gup4), 0);
	assert_int_not_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gup6, sizeof gup6), 0);
	assert_int_not_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gupstr, sizeof gupstr), 0);
	assert_int_not_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gup0, sizeof gup0), 0);
	assert_int_not_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, gup2, sizeof gup2), 0);
}

static void test_reject_field_count(void **state)
{
	(void)state;
	static const uint8_t none[] = { 0x91, 0x1f };
	static const uint8_t two[] = { 0x93, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5, 0x00 };
	static const uint8_t empty_array[] = { 0x90 };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, none, sizeof none), NS_IPC_ECOUNT);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, two, sizeof two), NS_IPC_ECOUNT);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, empty_array, 1), NS_IPC_EFORMAT);
}

static void test_reject_field_kind(void **state)
{
	(void)state;
	static const uint8_t id_as_str[] = { 0x92, 0x1f, 0xa5, '1', '2', '3', '4', '5' };
	static const uint8_t id_as_int[] = { 0x92, 0x1f, 0x05 };
	static const uint8_t u64_as_bool[] = { 0x92, 0x01, 0xc2 };       /* SHUTDOWN reason=false */
	static const uint8_t bool_as_int[] = { 0x93, 0x04, 0x01, 0x01 }; /* READY sandboxed=1 */
	static const uint8_t str_as_bin[] = { 0x93, 0x03, 0x01, 0xc4, 0x01, 'x' };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, id_as_str, sizeof id_as_str), NS_IPC_EKIND);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, id_as_int, sizeof id_as_int), NS_IPC_EKIND);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_SUPERVISOR, u64_as_bool, 3), NS_IPC_EKIND);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_NETD, bool_as_int, 4), NS_IPC_EKIND);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_NETD, str_as_bin, 6), NS_IPC_EKIND);
}

static void test_reject_lengths_and_ranges(void **state)
{
	(void)state;
	static const uint8_t id6[] = { 0x92, 0x1f, 0xc4, 0x06, 1, 2, 3, 4, 5, 6 };
	static const uint8_t id4[] = { 0x92, 0x1f, 0xc4, 0x04, 1, 2, 3, 4 };
	static const uint8_t reason3[] = { 0x92, 0x01, 0x03 };
	static const uint8_t text_ctl[] = { 0x93, 0x03, 0x01, 0xa2, 'a', 0x01 };
	static const uint8_t text_hi[] = { 0x93, 0x03, 0x01, 0xa2, 'a', 0xc3 };
	static const uint8_t text_nul[] = { 0x93, 0x03, 0x01, 0xa2, 'a', 0x00 };
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, id6, sizeof id6), NS_IPC_ELENGTH);
	assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, id4, sizeof id4), NS_IPC_ELENGTH);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_SUPERVISOR, reason3, 3), NS_IPC_ERANGE);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_APID, text_ctl, 6), NS_IPC_ETEXT);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_APID, text_hi, 6), NS_IPC_ETEXT);
	assert_int_equal(decode_as(NS_IPC_SUPERVISOR, NS_IPC_APID, text_nul, 6), NS_IPC_ETEXT);

	/* BUILD_FAILED reasons 1..5 (5: the recipient's gateway is not in the topology) */
	static const uint8_t unknown_gw[] = { 0x93, 0x16, 0xc4, 0x05, 1, 2, 3, 4, 5, 0x05 };
	static const uint8_t reason6[] = { 0x93, 0x16, 0xc4, 0x05, 1, 2, 3, 4, 5, 0x06 };
	static const uint8_t reason0[] = { 0x93, 0x16, 0xc4, 0x05, 1, 2, 3, 4, 5, 0x00 };
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, unknown_gw, sizeof unknown_gw), 0);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, reason6, sizeof reason6), NS_IPC_ERANGE);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_KEYD, reason0, sizeof reason0), NS_IPC_ERANGE);
	assert_int_equal(decode_as(NS_IPC_APID, NS_IPC_NETD, unknown_gw, sizeof unknown_gw),
	                 decode_as(NS_IPC_APID, NS_IPC_NETD, reason6, sizeof reason6));

	/* BUILD_PACKET with a fragment one byte over the limit, and packet_size 0 */
	const struct ns_ipc_type_info *t = ns_ipc_type_info(NS_IPC_T_BUILD_PACKET);
	size_t pool_len = 2 * NS_IPC_MAX_DATAGRAM, n;
	uint8_t *pool = calloc(1, pool_len);
	assert_non_null(pool);
	struct ns_ipc_msg m;
	fill_msg(t, &m, 1, pool, pool_len, 1);
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_APID, encbuf, n), 0);
	/* fragment is field 2: [0x95, 0x14, c4 05 id(5), c5 80 00 ...] -> make it 32769 bytes */
	assert_memory_equal(encbuf + 9, "\xc5\x80\x00", 3);
	memmove(encbuf + 13, encbuf + 12, n - 12);
	encbuf[10] = 0x80, encbuf[11] = 0x01;
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_APID, encbuf, n + 1), NS_IPC_ELENGTH);
	m.u.BUILD_PACKET.packet_size = 1;
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	assert_int_equal(encbuf[n - 1], 0x01);
	encbuf[n - 1] = 0x00;
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_APID, encbuf, n), NS_IPC_ERANGE);
	encbuf[n - 1] = 0x06;
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_APID, encbuf, n), NS_IPC_ERANGE);
	free(pool);
}

static void test_reject_truncated_and_trailing(void **state)
{
	(void)state;
	uint8_t pool[256];
	struct ns_ipc_msg m;
	size_t n;
	fill_msg(ns_ipc_type_info(NS_IPC_T_TOPOLOGY_NODE), &m, 1, pool, sizeof pool, 9);
	assert_int_equal(ns_ipc_encode(&m, encbuf, sizeof encbuf, &n), 0);
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, encbuf, n), 0);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, encbuf, cut), NS_IPC_ETRUNCATED);
	encbuf[n] = 0x00;
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, encbuf, n + 1), NS_IPC_ETRAILING);
	encbuf[n] = 0x91;
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, encbuf, n + 1), NS_IPC_ETRAILING);
	/* a bin claiming 4 GiB in a 10-byte datagram */
	static const uint8_t huge_bin[] = { 0x92, 0x1e, 0xc6, 0xff, 0xff, 0xff, 0xff, 0, 0, 0 };
	assert_int_equal(decode_as(NS_IPC_KEYD, NS_IPC_NETD, huge_bin, sizeof huge_bin),
			 NS_IPC_ETRUNCATED);
	assert_int_equal(ns_ipc_decode(NS_IPC_KEYD, NS_IPC_NETD, encbuf, NS_IPC_MAX_DATAGRAM + 1, &m),
			 NS_IPC_EOVERSIZE);
}

static void test_reject_forbidden_shapes(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[12];
		size_t n;
	} cases[] = {
		{ { 0x81, 0x01, 0x02 }, 3 },                        /* map */
		{ { 0x01 }, 1 },                                    /* bare integer */
		{ { 0xdd, 0xff, 0xff, 0xff, 0xff }, 5 },            /* array32 of 2^32-1 items */
		{ { 0xdc, 0x00, 0x02, 0x1f, 0x00 }, 5 },            /* array16: not shortest */
		{ { 0x92, 0xcc, 0x1f, 0xc4, 0x00 }, 5 },            /* type as uint8: not shortest */
		{ { 0x92, 0x1f, 0xc5, 0x00, 0x05, 1, 2, 3, 4, 5 }, 10 }, /* bin16 for 5 bytes */
		{ { 0x92, 0x1f, 0xc0 }, 3 },                        /* nil */
		{ { 0x92, 0x1f, 0xff }, 3 },                        /* negative fixint */
		{ { 0x92, 0x1f, 0xd0, 0x01 }, 4 },                  /* int8 */
		{ { 0x92, 0x1f, 0xca, 0, 0, 0, 0 }, 7 },            /* float32 */
		{ { 0x92, 0x1f, 0x91, 0x01 }, 4 },                  /* nested array */
		{ { 0x92, 0x1f, 0xd4, 0x01, 0x02 }, 5 },            /* fixext1 */
		{ { 0x92, 0x03, 0xd9, 0x01, 'a' }, 5 },             /* str8 for 1 byte */
		{ { 0x92, 0x01, 0xcd, 0x00, 0x01 }, 5 },            /* uint16 for 1 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(decode_as(NS_IPC_NETD, NS_IPC_KEYD, cases[i].b, cases[i].n), NS_IPC_EFORMAT);
}

/* ---- sockets */

static void test_recv_oversize_eof_control(void **state)
{
	(void)state;
	int sv[2];
	struct ns_ipc_msg m;
	pair(sv);
	/* a datagram larger than the cap: MSG_TRUNC */
	size_t big = NS_IPC_MAX_DATAGRAM + 100;
	uint8_t *junk = calloc(1, big);
	assert_non_null(junk);
	junk[0] = 0x92;
	assert_int_equal(send(sv[0], junk, big, 0), (ssize_t)big);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, sizeof rxbuf, &m, 0),
			 NS_IPC_EOVERSIZE);
	/* a valid ACK into a receive buffer smaller than it */
	static const uint8_t ack[] = { 0x92, 0x1f, 0xc4, 0x05, 1, 2, 3, 4, 5 };
	assert_int_equal(send(sv[0], ack, sizeof ack, 0), (ssize_t)sizeof ack);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, 8, &m, 0), NS_IPC_EOVERSIZE);
	assert_int_equal(send(sv[0], ack, sizeof ack, 0), (ssize_t)sizeof ack);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, 9, &m, 0), 0);
	/* a message with a passed descriptor */
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { (void *)ack, sizeof ack };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	int passed = 0;
	memcpy(CMSG_DATA(c), &passed, sizeof passed);
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof ack);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, sizeof rxbuf, &m, 0),
			 NS_IPC_ECONTROL);
	/* nothing left, then EOF */
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, sizeof rxbuf, &m,
				     MSG_DONTWAIT), NS_IPC_EAGAIN);
	close(sv[0]);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_NETD, NS_IPC_KEYD, rxbuf, sizeof rxbuf, &m, 0),
			 NS_IPC_EEOF);
	close(sv[1]);
	free(junk);
}

/* ---- libev glue */

struct glue_state {
	int frames, fatal_calls, fatal_err;
	size_t last_len;
};

static void on_open_frame(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c;
	struct glue_state *g = ctx;
	g->frames++;
	g->last_len = m->u.OPEN_FRAME.frame.len;
}

static void on_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)c;
	struct glue_state *g = ctx;
	g->fatal_calls++;
	g->fatal_err = err;
}

static void run_glue(const uint8_t *bad, size_t bad_len, int close_peer, int with_handler,
                     struct glue_state *g)
{
	static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];
	memset(handlers, 0, sizeof handlers);
	if (with_handler)
		handlers[NS_IPC_T_OPEN_FRAME] = on_open_frame;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	int sv[2];
	pair(sv);
	static struct ns_ipc_conn conn;
	memset(g, 0, sizeof *g);
	assert_int_equal(ns_ipc_conn_start(&conn, loop, sv[1], NS_IPC_KEYD, NS_IPC_NETD, handlers,
					   on_fatal, g), 0);
	uint8_t frame[3000];
	memset(frame, 0xab, sizeof frame);
	for (int i = 0; i < 3; i++) {
		struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME,
					.u.OPEN_FRAME = { { frame, 1000 + (size_t)i } } };
		assert_int_equal(ns_ipc_send(sv[0], NS_IPC_NETD, NS_IPC_KEYD, &m), 0);
	}
	if (bad)
		assert_int_equal(send(sv[0], bad, bad_len, 0), (ssize_t)bad_len);
	if (close_peer)
		close(sv[0]);
	for (int i = 0; i < 10 && g->fatal_calls == 0; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_false(ev_is_active(&conn.io) && g->fatal_calls);
	if (!close_peer)
		close(sv[0]);
	close(sv[1]);
	ev_loop_destroy(loop);
}

static void test_libev_glue(void **state)
{
	(void)state;
	struct glue_state g;
	static const uint8_t sealed_from_netd[] = { 0x95, 0x17, 0xc4, 0x05, 1, 2, 3, 4, 5,
						    0xc4, 0x01, 0x00, 0x00, 0x00 };
	run_glue(sealed_from_netd, sizeof sealed_from_netd, 0, 1, &g);
	assert_int_equal(g.frames, 3);
	assert_int_equal(g.last_len, 1002);
	assert_int_equal(g.fatal_calls, 1);
	assert_int_equal(g.fatal_err, NS_IPC_ERECEIVER);

	run_glue(NULL, 0, 1, 1, &g);
	assert_int_equal(g.frames, 3);
	assert_int_equal(g.fatal_calls, 1);
	assert_int_equal(g.fatal_err, NS_IPC_EEOF);

	run_glue(NULL, 0, 0, 0, &g);
	assert_int_equal(g.frames, 0);
	assert_int_equal(g.fatal_calls, 1);
	assert_int_equal(g.fatal_err, NS_IPC_ENOHANDLER);
}

/* A paused conn reads nothing, even with datagrams waiting; resumed, it reads them all in
 * order; a handler that pauses ends the readable event's batch; a stopped conn stays stopped. */
static struct ns_ipc_conn pause_conn;
static void on_frame_pause(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	struct glue_state *g = ctx;
	assert_int_equal(m->u.OPEN_FRAME.frame.len, 1000 + (size_t)g->frames);
	g->frames++;
	if (g->frames == 2)
		ns_ipc_conn_pause(c, 1);
}

static void test_conn_pause(void **state)
{
	(void)state;
	static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];
	handlers[NS_IPC_T_OPEN_FRAME] = on_frame_pause;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	int sv[2];
	pair(sv);
	struct glue_state g;
	memset(&g, 0, sizeof g);
	assert_int_equal(ns_ipc_conn_start(&pause_conn, loop, sv[1], NS_IPC_KEYD, NS_IPC_NETD,
	                                   handlers, on_fatal, &g), 0);
	ns_ipc_conn_set_priority(&pause_conn, 0, 8); /* up to 8 datagrams per readable event */
	uint8_t frame[1100];
	memset(frame, 0xab, sizeof frame);
	for (int i = 0; i < 5; i++) {
		struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME,
		                        .u.OPEN_FRAME = { { frame, 1000 + (size_t)i } } };
		assert_int_equal(ns_ipc_send(sv[0], NS_IPC_NETD, NS_IPC_KEYD, &m), 0);
	}
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.frames, 2); /* paused by the second one's handler, mid-batch */
	ns_ipc_conn_pause(&pause_conn, 1); /* again: no change */
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.frames, 2);
	ns_ipc_conn_pause(&pause_conn, 0);
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.frames, 5);
	ns_ipc_conn_stop(&pause_conn);
	ns_ipc_conn_pause(&pause_conn, 1);
	ns_ipc_conn_pause(&pause_conn, 0);
	assert_false(ev_is_active(&pause_conn.io));
	assert_int_equal(g.fatal_calls, 0);
	close(sv[0]);
	close(sv[1]);
	ev_loop_destroy(loop);
}

/* A conn never blocks: 3,000 BUILD_PACKETs of 30 KB (far more than a socket buffer) to a
 * peer that is not reading are all accepted, queued in order, then delivered in order as
 * the peer reads and the loop drains the queue; ns_ipc_conn_flush empties the rest. */
static void fill_build(struct ns_ipc_msg *m, uint32_t i, uint8_t *frag, uint8_t *id, uint8_t *to)
{
	memset(m, 0, sizeof *m);
	m->type = NS_IPC_T_BUILD_PACKET;
	id[0] = (uint8_t)(i >> 24), id[1] = (uint8_t)(i >> 16), id[2] = (uint8_t)(i >> 8);
	id[3] = (uint8_t)i, id[4] = 0;
	m->u.BUILD_PACKET.frag_id = NS_IPC_BYTES(id, 5);
	m->u.BUILD_PACKET.fragment = NS_IPC_BYTES(frag, 30000);
	m->u.BUILD_PACKET.recipient = NS_IPC_BYTES(to, 96);
	m->u.BUILD_PACKET.packet_size = 1;
}

static void on_fatal_unexpected(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)c, (void)ctx;
	fail_msg("the conn failed: %s", ns_ipc_strerror(err));
}

static void test_conn_send_queues(void **state)
{
	(void)state;
	static uint8_t frag[30000], to[96], rbuf[NS_IPC_MAX_DATAGRAM];
	static const ns_ipc_handler none[NS_IPC_TYPE_LIMIT];
	static struct ns_ipc_conn c;
	int sv[2];
	assert_int_equal(ns_ipc_socketpair(sv), 0);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	assert_int_equal(ns_ipc_conn_start(&c, loop, sv[0], NS_IPC_APID, NS_IPC_KEYD, none,
	                                   on_fatal_unexpected, NULL), 0);
	const uint32_t n = 3000;
	struct ns_ipc_msg m;
	uint8_t id[5];
	for (uint32_t i = 0; i < n; i++) {
		fill_build(&m, i, frag, id, to);
		assert_int_equal(ns_ipc_conn_send(&c, &m), 0);
	}
	assert_true(c.outq_count > 0 && c.outq_count < n); /* some went out, the rest wait */
	size_t first_queued = c.outq_count;
	uint32_t next = 0;
	/* read half while the loop drains */
	while (next < n / 2) {
		ev_run(loop, EVRUN_NOWAIT);
		struct ns_ipc_msg r;
		int rc = ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT);
		if (rc == NS_IPC_EAGAIN)
			continue;
		assert_int_equal(rc, 0);
		const uint8_t *p = r.u.BUILD_PACKET.frag_id.ptr;
		assert_int_equal(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3], next);
		next++;
	}
	assert_true(c.outq_count < first_queued);
	/* a reader thread is not needed for the rest: flush blocks, so read from a child */
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]); /* else the reader never sees EOF */
		uint32_t want = next;
		for (;;) {
			struct ns_ipc_msg r;
			if (ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, 0) != 0)
				_exit(want == n ? 0 : 1);
			const uint8_t *p = r.u.BUILD_PACKET.frag_id.ptr;
			if ((((uint32_t)p[2] << 8) | p[3]) != (want & 0xffff))
				_exit(2);
			want++;
		}
	}
	close(sv[1]);
	assert_int_equal(ns_ipc_conn_flush(&c), 0);
	assert_int_equal(c.outq_count, 0);
	assert_int_equal(c.outq_bytes, 0);
	ns_ipc_conn_stop(&c);
	close(sv[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(c.sent, n);
	ev_loop_destroy(loop);
}

/* ---- BATCH: several messages in one datagram */

/* Appends one message, encoded as its own datagram would be, with its u32 BE length. */
static size_t batch_add(uint8_t *b, size_t at, const struct ns_ipc_msg *m)
{
	size_t n;
	assert_int_equal(ns_ipc_encode(m, b + at + 4, NS_IPC_BATCH_MAX - at - 4, &n), 0);
	b[at] = (uint8_t)(n >> 24), b[at + 1] = (uint8_t)(n >> 16);
	b[at + 2] = (uint8_t)(n >> 8), b[at + 3] = (uint8_t)n;
	return at + 4 + n;
}

static int batch_walk(const uint8_t *b, size_t len, int *count)
{
	struct ns_ipc_msg batch = { .type = NS_IPC_T_BATCH }, m;
	batch.u.BATCH.messages = NS_IPC_BYTES(b, len);
	size_t off = 0;
	int rc;
	*count = 0;
	while ((rc = ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_NETD, &batch, &off, &m)) == 1) {
		assert_int_equal(m.type, NS_IPC_T_OPEN_FRAME);
		assert_int_equal(m.u.OPEN_FRAME.frame.len, 100 + (size_t)*count);
		(*count)++;
	}
	return rc;
}

static void test_batch_next(void **state)
{
	(void)state;
	static uint8_t b[NS_IPC_BATCH_MAX], frame[200];
	struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME };
	size_t at = 0;
	int count;
	for (int i = 0; i < 3; i++) {
		m.u.OPEN_FRAME.frame = NS_IPC_BYTES(frame, 100 + (size_t)i);
		at = batch_add(b, at, &m);
	}
	assert_int_equal(batch_walk(b, at, &count), 0);
	assert_int_equal(count, 3);
	/* a length prefix cut short, a length past the end */
	assert_int_equal(batch_walk(b, at + 3, &count), NS_IPC_ETRUNCATED);
	assert_int_equal(count, 3);
	assert_int_equal(batch_walk(b, at - 1, &count), NS_IPC_ETRUNCATED);
	assert_int_equal(count, 2);
	/* an empty message, garbage, a BATCH inside, a type keyd never gets, one not from netd */
	memset(b + at, 0, 4);
	assert_int_equal(batch_walk(b, at + 4, &count), NS_IPC_ETRUNCATED);
	static const uint8_t junk[] = { 0, 0, 0, 2, 0xc0, 0xc0 };
	memcpy(b + at, junk, sizeof junk);
	assert_int_equal(batch_walk(b, at + sizeof junk, &count), NS_IPC_EFORMAT);
	struct ns_ipc_msg inner = { .type = NS_IPC_T_BATCH };
	inner.u.BATCH.messages = NS_IPC_BYTES(b, 5 + 100 + 4);
	assert_int_equal(batch_walk(b, batch_add(b, at, &inner), &count), NS_IPC_EFORMAT);
	assert_int_equal(count, 3);
	uint8_t fid[5] = { 1, 2, 3, 4, 5 };
	struct ns_ipc_msg sealed = { .type = NS_IPC_T_SEALED_FRAME };
	sealed.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(fid, 5);
	sealed.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, 10);
	assert_int_equal(batch_walk(b, batch_add(b, at, &sealed), &count), NS_IPC_ERECEIVER);
	struct ns_ipc_msg build = { .type = NS_IPC_T_MAKE_SURBS };
	build.u.MAKE_SURBS.count = 1;
	build.u.MAKE_SURBS.packet_size = 1;
	assert_int_equal(batch_walk(b, batch_add(b, at, &build), &count), NS_IPC_ESENDER);
	/* not a BATCH at all */
	size_t off = 0;
	assert_int_equal(ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_NETD, &m, &off, &inner), NS_IPC_EARG);
}

struct cork_state {
	uint32_t next, calls;
};

static void on_build_in_order(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c;
	struct cork_state *k = ctx;
	const uint8_t *p = m->u.BUILD_PACKET.frag_id.ptr;
	assert_int_equal(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3],
	                 k->next);
	k->next++;
	k->calls++;
}

/* A corked conn sends nothing until its loop turns, then what it queued as BATCH datagrams
 * (as many messages as fit one), in order; a lone message goes as itself; a kept cork waits
 * for the keep to end (or to fill); the receiving conn hands each message to its handler. */
static void test_cork_batches(void **state)
{
	(void)state;
	static uint8_t frag[30000], to[96], rbuf[NS_IPC_MAX_DATAGRAM];
	static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];
	static struct ns_ipc_conn tx, rx;
	handlers[NS_IPC_T_BUILD_PACKET] = on_build_in_order;
	struct cork_state got = { 0, 0 };
	int sv[2];
	pair(sv);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	assert_int_equal(ns_ipc_conn_start(&tx, loop, sv[0], NS_IPC_APID, NS_IPC_KEYD, handlers,
	                                   on_fatal_unexpected, NULL), 0);
	ns_ipc_conn_set_cork(&tx, 1);
	struct ns_ipc_msg m, r;
	uint8_t id[5];
	/* 10 small ones: one BATCH */
	for (uint32_t i = 0; i < 10; i++) {
		fill_build(&m, i, frag, id, to);
		m.u.BUILD_PACKET.fragment.len = 100;
		assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
	}
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT),
	                 NS_IPC_EAGAIN);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(tx.datagrams, 1);
	assert_int_equal(tx.sent, 10);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT), 0);
	assert_int_equal(r.type, NS_IPC_T_BATCH);
	size_t off = 0;
	struct ns_ipc_msg in;
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_APID, &r, &off, &in), 1);
		assert_int_equal(in.type, NS_IPC_T_BUILD_PACKET);
		assert_int_equal(in.u.BUILD_PACKET.frag_id.ptr[3], i);
	}
	assert_int_equal(ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_APID, &r, &off, &in), 0);
	/* kept: nothing goes over turns of the loop until the keep ends, then one BATCH */
	ns_ipc_conn_keep_cork(&tx, 1);
	for (uint32_t i = 0; i < 3; i++) {
		fill_build(&m, i, frag, id, to);
		m.u.BUILD_PACKET.fragment.len = 100;
		assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
		ev_run(loop, EVRUN_NOWAIT);
	}
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT),
	                 NS_IPC_EAGAIN);
	assert_int_equal(tx.datagrams, 1);
	ns_ipc_conn_keep_cork(&tx, 0);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(tx.datagrams, 2);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT), 0);
	assert_int_equal(r.type, NS_IPC_T_BATCH);
	off = 0;
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_APID, &r, &off, &in), 1);
	assert_int_equal(ns_ipc_batch_next(NS_IPC_KEYD, NS_IPC_APID, &r, &off, &in), 0);
	/* kept, but a cork that fills still goes */
	ns_ipc_conn_keep_cork(&tx, 1);
	for (uint32_t i = 0; i < 3; i++) {
		fill_build(&m, i, frag, id, to);
		assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
	}
	assert_int_equal(tx.datagrams, 3); /* the third did not fit beside two of 30 KB */
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT), 0);
	assert_int_equal(r.type, NS_IPC_T_BATCH);
	ns_ipc_conn_keep_cork(&tx, 0);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(tx.datagrams, 4);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT), 0);
	assert_int_equal(r.type, NS_IPC_T_BUILD_PACKET);
	/* one alone goes as itself */
	fill_build(&m, 10, frag, id, to);
	assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(ns_ipc_recv(sv[1], NS_IPC_KEYD, NS_IPC_APID, rbuf, sizeof rbuf, &r, MSG_DONTWAIT), 0);
	assert_int_equal(r.type, NS_IPC_T_BUILD_PACKET);
	/* 200 of 30 KB (more than the socket takes) to a conn on the other end: two per BATCH,
	 * the rest waits for writability, all arrive in order at the handler */
	assert_int_equal(ns_ipc_conn_start(&rx, loop, sv[1], NS_IPC_KEYD, NS_IPC_APID, handlers,
	                                   on_fatal_unexpected, &got), 0);
	got.next = 11;
	uint64_t d0 = tx.datagrams;
	for (uint32_t i = 11; i < 211; i++) {
		fill_build(&m, i, frag, id, to);
		assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
	}
	for (int i = 0; i < 10000 && got.next < 211; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(got.next, 211);
	assert_int_equal(tx.datagrams - d0, 100);
	assert_int_equal(tx.outq_count, 0);
	/* uncorked: one datagram per message again */
	ns_ipc_conn_set_cork(&tx, 0);
	fill_build(&m, 211, frag, id, to);
	assert_int_equal(ns_ipc_conn_send(&tx, &m), 0);
	assert_int_equal(tx.datagrams - d0, 101);
	ns_ipc_conn_stop(&tx);
	ns_ipc_conn_stop(&rx);
	close(sv[0]);
	close(sv[1]);
	ev_loop_destroy(loop);
}

/* A bad message inside a BATCH is fatal like a bad datagram, after the ones before it. */
static void test_batch_glue_fatal(void **state)
{
	(void)state;
	static uint8_t b[NS_IPC_BATCH_MAX], frame[200], dgram[NS_IPC_MAX_DATAGRAM];
	static ns_ipc_handler handlers[NS_IPC_TYPE_LIMIT];
	static struct ns_ipc_conn conn;
	handlers[NS_IPC_T_OPEN_FRAME] = on_open_frame;
	struct glue_state g;
	memset(&g, 0, sizeof g);
	struct ns_ipc_msg m = { .type = NS_IPC_T_OPEN_FRAME };
	size_t at = 0;
	for (int i = 0; i < 2; i++) {
		m.u.OPEN_FRAME.frame = NS_IPC_BYTES(frame, 100 + (size_t)i);
		at = batch_add(b, at, &m);
	}
	uint8_t fid[5] = { 0 };
	struct ns_ipc_msg sealed = { .type = NS_IPC_T_SEALED_FRAME };
	sealed.u.SEALED_FRAME.frag_id = NS_IPC_BYTES(fid, 5);
	sealed.u.SEALED_FRAME.frame = NS_IPC_BYTES(frame, 10);
	at = batch_add(b, at, &sealed);
	at = batch_add(b, at, &m);
	struct ns_ipc_msg batch = { .type = NS_IPC_T_BATCH };
	batch.u.BATCH.messages = NS_IPC_BYTES(b, at);
	size_t n;
	assert_int_equal(ns_ipc_encode(&batch, dgram, sizeof dgram, &n), 0);
	int sv[2];
	pair(sv);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(ns_ipc_conn_start(&conn, loop, sv[1], NS_IPC_KEYD, NS_IPC_NETD, handlers,
	                                   on_fatal, &g), 0);
	assert_int_equal(send(sv[0], dgram, n, 0), (ssize_t)n);
	for (int i = 0; i < 10 && g.fatal_calls == 0; i++)
		ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(g.frames, 2);
	assert_int_equal(g.fatal_calls, 1);
	assert_int_equal(g.fatal_err, NS_IPC_ERECEIVER);
	assert_false(ev_is_active(&conn.io));
	close(sv[0]);
	close(sv[1]);
	ev_loop_destroy(loop);
}

/* docs/ipc.md lists every type with its number (run from the source tree). */
static void test_doc_lists_catalogue(void **state)
{
	(void)state;
	size_t len;
	char *doc = util_read_file("docs/ipc.md", &len);
	if (!doc)
		skip();
	for (size_t i = 0; i < ns_ipc_catalogue_size(); i++) {
		const struct ns_ipc_type_info *t = ns_ipc_catalogue_entry(i);
		char row[96];
		snprintf(row, sizeof row, "| %d | %s |", (int)t->type, t->name);
		if (!strstr(doc, row))
			fail_msg("docs/ipc.md lacks the row %s", row);
	}
	free(doc);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = 0; e >= NS_IPC_EQUEUE; e--)
		assert_string_not_equal(ns_ipc_strerror(e), "unknown error");
	assert_string_equal(ns_ipc_strerror(-99), "unknown error");
	assert_string_equal(ns_ipc_role_name(NS_IPC_NETD), "netd");
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_consistent),
		cmocka_unit_test(test_secret_rule),
		cmocka_unit_test(test_accept_table),
		cmocka_unit_test(test_exact_encoding),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_reject_unknown_type),
		cmocka_unit_test(test_reject_wrong_peer),
		cmocka_unit_test(test_reject_field_count),
		cmocka_unit_test(test_reject_field_kind),
		cmocka_unit_test(test_reject_lengths_and_ranges),
		cmocka_unit_test(test_reject_truncated_and_trailing),
		cmocka_unit_test(test_reject_forbidden_shapes),
		cmocka_unit_test(test_recv_oversize_eof_control),
		cmocka_unit_test(test_libev_glue),
		cmocka_unit_test(test_conn_pause),
		cmocka_unit_test(test_conn_send_queues),
		cmocka_unit_test(test_batch_next),
		cmocka_unit_test(test_cork_batches),
		cmocka_unit_test(test_batch_glue_fatal),
		cmocka_unit_test(test_doc_lists_catalogue),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
