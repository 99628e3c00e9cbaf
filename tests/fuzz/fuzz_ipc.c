/* IPC decoder: one arbitrary datagram, decoded as received by every process from every
 * peer. Properties checked:
 *  - success only where the accept table allows the (receiver, sender, type) triple, and
 *    then every other pair fails with exactly ns_ipc_accepts()'s error;
 *  - a decoded message re-encodes to the identical datagram (the accepted form is canonical),
 *    within the type's size limit, with every byte field pointing inside the datagram;
 *  - a failure is one of the documented error codes;
 *  - a BATCH: each message inside decodes only where the accept table allows it, re-encodes to
 *    its exact bytes, and is never a BATCH; the walk ends or fails with a decoder error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[NS_IPC_MAX_DATAGRAM];

static void check_fields_inside(const struct ns_ipc_type_info *t, const struct ns_ipc_msg *m,
                                const uint8_t *data, size_t size)
{
	const uint8_t *base = (const uint8_t *)&m->u;
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct ns_ipc_field_info *f = &t->fields[i];
		if (f->kind != NS_IPC_KIND_BIN && f->kind != NS_IPC_KIND_STR)
			continue;
		struct ns_ipc_bytes b;
		memcpy(&b, base + f->offset, sizeof b);
		if (b.len < f->min || b.len > f->max)
			abort();
		if (b.len && (b.ptr < data || b.ptr + b.len > data + size))
			abort();
	}
}

static void check_success(enum ns_ipc_role self, enum ns_ipc_role peer,
                          const struct ns_ipc_msg *m, const uint8_t *data, size_t size)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info((uint64_t)m->type);
	if (!t || ns_ipc_accepts(self, peer, (uint64_t)m->type) != 0)
		abort();
	size_t n = 0;
	if (ns_ipc_encode(m, out, sizeof out, &n) != 0 || n != size || memcmp(out, data, size) != 0)
		abort();
	if (n > t->max_size)
		abort();
	check_fields_inside(t, m, data, size);
}

static int decoder_error(int rc)
{
	return rc < 0 && rc >= NS_IPC_ESHORT && rc != NS_IPC_ESPACE && rc != NS_IPC_EIO &&
	       rc != NS_IPC_EEOF && rc != NS_IPC_EAGAIN && rc != NS_IPC_ECONTROL &&
	       rc != NS_IPC_ENOHANDLER && rc != NS_IPC_ESHORT;
}

static void walk_batch(enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *b)
{
	static uint8_t inner_out[NS_IPC_MAX_DATAGRAM];
	struct ns_ipc_msg m;
	size_t off = 0, at = 0;
	int rc;
	while ((rc = ns_ipc_batch_next(self, peer, b, &off, &m)) == 1) {
		const uint8_t *p = b->u.BATCH.messages.ptr + at + 4;
		size_t len = off - at - 4, n = 0;
		if (m.type == NS_IPC_T_BATCH || ns_ipc_accepts(self, peer, (uint64_t)m.type) != 0)
			abort();
		if (ns_ipc_encode(&m, inner_out, sizeof inner_out, &n) != 0 || n != len ||
		    memcmp(inner_out, p, n) != 0)
			abort();
		at = off;
	}
	if (rc != 0 && !decoder_error(rc))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int decoded_type = -1;
	int results[NS_IPC_ROLE_COUNT][NS_IPC_ROLE_COUNT];
	for (int self = 0; self < NS_IPC_ROLE_COUNT; self++)
		for (int peer = 0; peer < NS_IPC_ROLE_COUNT; peer++) {
			struct ns_ipc_msg m;
			int rc = ns_ipc_decode((enum ns_ipc_role)self, (enum ns_ipc_role)peer, data, size, &m);
			results[self][peer] = rc;
			if (rc == 0) {
				check_success((enum ns_ipc_role)self, (enum ns_ipc_role)peer, &m, data, size);
				if (m.type == NS_IPC_T_BATCH)
					walk_batch((enum ns_ipc_role)self, (enum ns_ipc_role)peer, &m);
				if (decoded_type >= 0 && decoded_type != (int)m.type)
					abort();
				decoded_type = (int)m.type;
			} else if (!decoder_error(rc)) {
				abort(); /* not a decoder error */
			}
		}
	if (decoded_type < 0)
		return 0;
	for (int self = 0; self < NS_IPC_ROLE_COUNT; self++)
		for (int peer = 0; peer < NS_IPC_ROLE_COUNT; peer++)
			if (results[self][peer] != ns_ipc_accepts((enum ns_ipc_role)self,
								  (enum ns_ipc_role)peer,
								  (uint64_t)decoded_type))
				abort();
	return 0;
}
