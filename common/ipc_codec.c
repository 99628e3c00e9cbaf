/* IPC encoding and strict validation: see ipc_codec.h and ipc_msgs.h. */
#include "bytes.h"
#include "ipc_codec.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include <msgpack.h>

/* ---- the catalogue as data */

#define FIELD_INFO_(T, kind, fname, mn, mx) \
	{ #fname, NS_IPC_KIND_##kind, (uint64_t)(mn), (uint64_t)(mx), offsetof(struct ns_ipc_##T, fname) },
#define FIELD_TABLE_(num, NAME, from, to, secret) \
	static const struct ns_ipc_field_info fields_##NAME[] = { NS_IPC_F_##NAME(FIELD_INFO_, NAME) };
NS_IPC_CATALOGUE(FIELD_TABLE_)

#define FIELD_WMAX_(T, kind, fname, mn, mx) + NS_IPC_WMAX_##kind(mn, mx)
/* fixarray header + type number (at most uint8) + each field's largest encoding */
#define TYPE_MAX_SIZE_(NAME) ((size_t)2 NS_IPC_F_##NAME(FIELD_WMAX_, NAME))

#define TYPE_INFO_(num, NAME, from, to, secret) \
	{ NS_IPC_T_##NAME, #NAME, (from), (to), NS_IPC_SECRET_##secret, TYPE_MAX_SIZE_(NAME), \
	  fields_##NAME, sizeof(fields_##NAME) / sizeof(fields_##NAME[0]) },
static const struct ns_ipc_type_info catalogue[] = { NS_IPC_CATALOGUE(TYPE_INFO_) };
#define CATALOGUE_LEN (sizeof(catalogue) / sizeof(catalogue[0]))

#define TYPE_LIMITS_(num, NAME, from, to, secret) \
	_Static_assert((num) > 0 && (num) < NS_IPC_TYPE_LIMIT && (num) < 128, "type number"); \
	_Static_assert(sizeof(fields_##NAME) / sizeof(fields_##NAME[0]) <= NS_IPC_MAX_FIELDS, \
		       "too many fields"); \
	_Static_assert(TYPE_MAX_SIZE_(NAME) <= NS_IPC_MAX_DATAGRAM, "type larger than a datagram"); \
	_Static_assert(NS_IPC_SECRET_##secret != NS_IPC_SECRET_KEY, "no message carries a key");
NS_IPC_CATALOGUE(TYPE_LIMITS_)

size_t ns_ipc_catalogue_size(void)
{
	return CATALOGUE_LEN;
}

const struct ns_ipc_type_info *ns_ipc_catalogue_entry(size_t i)
{
	return i < CATALOGUE_LEN ? &catalogue[i] : NULL;
}

const struct ns_ipc_type_info *ns_ipc_type_info(uint64_t type)
{
	for (size_t i = 0; i < CATALOGUE_LEN; i++)
		if ((uint64_t)catalogue[i].type == type)
			return &catalogue[i];
	return NULL;
}

const char *ns_ipc_type_name(uint64_t type)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info(type);
	return t ? t->name : "?";
}

const char *ns_ipc_role_name(enum ns_ipc_role role)
{
	static const char *const names[NS_IPC_ROLE_COUNT] = { "supervisor", "keyd", "netd", "apid" };
	return (unsigned)role < NS_IPC_ROLE_COUNT ? names[role] : "?";
}

const char *ns_ipc_strerror(int err)
{
	switch (err) {
	case NS_IPC_OK: return "ok";
	case NS_IPC_EOVERSIZE: return "datagram larger than the receive limit";
	case NS_IPC_ETRUNCATED: return "message truncated inside a value";
	case NS_IPC_ETRAILING: return "bytes after the message";
	case NS_IPC_EFORMAT: return "not a flat msgpack array in shortest form";
	case NS_IPC_EUNKNOWN: return "unknown message type";
	case NS_IPC_ERECEIVER: return "message type not accepted by this process";
	case NS_IPC_ESENDER: return "message type not accepted from this peer";
	case NS_IPC_ECOUNT: return "wrong field count";
	case NS_IPC_EKIND: return "field of the wrong kind";
	case NS_IPC_ELENGTH: return "field length out of range";
	case NS_IPC_ERANGE: return "integer field out of range";
	case NS_IPC_ETEXT: return "text field with a forbidden byte";
	case NS_IPC_ESPACE: return "output buffer too small";
	case NS_IPC_EIO: return "socket error";
	case NS_IPC_EEOF: return "peer closed the connection";
	case NS_IPC_EAGAIN: return "no message ready";
	case NS_IPC_ECONTROL: return "unexpected ancillary data";
	case NS_IPC_ENOHANDLER: return "no handler for a valid message";
	case NS_IPC_EARG: return "bad argument";
	case NS_IPC_ESHORT: return "short send";
	case NS_IPC_EQUEUE: return "send queue full: the peer process stopped reading";
	default: return "unknown error";
	}
}

bool ns_ipc_role_valid(enum ns_ipc_role r)
{
	return (unsigned)r < NS_IPC_ROLE_COUNT;
}

int ns_ipc_accepts(enum ns_ipc_role self, enum ns_ipc_role peer, uint64_t type)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info(type);
	if (!t)
		return NS_IPC_EUNKNOWN;
	if (!ns_ipc_role_valid(self) || !(t->receivers & (1u << self)))
		return NS_IPC_ERECEIVER;
	if (!ns_ipc_role_valid(peer) || peer == self || !(t->senders & (1u << peer)))
		return NS_IPC_ESENDER;
	return NS_IPC_OK;
}

int ns_ipc_secret_allowed(enum ns_ipc_secret secret, enum ns_ipc_role receiver)
{
	switch (receiver) {
	case NS_IPC_KEYD:
		return secret != NS_IPC_SECRET_KEY;
	case NS_IPC_NETD:
		return secret == NS_IPC_SECRET_NONE || secret == NS_IPC_SECRET_SEALED;
	case NS_IPC_APID:
		return secret == NS_IPC_SECRET_NONE || secret == NS_IPC_SECRET_PLAINTEXT ||
		       secret == NS_IPC_SECRET_SURB;
	case NS_IPC_SUPERVISOR: /* user data it persists for apid (QUEUED_FRAGMENT), nothing keyed */
		return secret == NS_IPC_SECRET_NONE || secret == NS_IPC_SECRET_PLAINTEXT;
	default:
		return 0;
	}
}

enum ns_ipc_secret ns_ipc_secret_class(uint64_t type)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info(type);
	return t ? t->secret : NS_IPC_SECRET_KEY;
}

int ns_ipc_catalogue_check(void)
{
	for (size_t i = 0; i < CATALOGUE_LEN; i++) {
		const struct ns_ipc_type_info *t = &catalogue[i];
		for (int r = 0; r < NS_IPC_ROLE_COUNT; r++)
			if ((t->receivers & (1u << r)) && !ns_ipc_secret_allowed(t->secret, (enum ns_ipc_role)r))
				return (int)t->type;
		/* BATCH runs on every link; everything else has one direction */
		if (t->max_size > NS_IPC_MAX_DATAGRAM || t->senders == 0 || t->receivers == 0 ||
		    ((t->senders & t->receivers) != 0 && t->type != NS_IPC_T_BATCH))
			return (int)t->type;
	}
	return 0;
}

/* ---- field validation (shared by encode and decode) */

static bool text_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(p[i] == '\t' || p[i] == '\n' || (p[i] >= 0x20 && p[i] < 0x7f)))
			return false;
	return true;
}

static int check_u64(const struct ns_ipc_field_info *f, uint64_t v)
{
	return v < f->min || v > f->max ? NS_IPC_ERANGE : NS_IPC_OK;
}

static int check_bytes(const struct ns_ipc_field_info *f, const struct ns_ipc_bytes *b)
{
	if (b->len < f->min || b->len > f->max)
		return NS_IPC_ELENGTH;
	if (b->len > 0 && !b->ptr)
		return NS_IPC_EARG;
	if (f->kind == NS_IPC_KIND_STR && !text_ok(b->ptr, b->len))
		return NS_IPC_ETEXT;
	return NS_IPC_OK;
}

/* ---- encoding */

struct outbuf {
	uint8_t *p;
	size_t cap, len;
	bool overflow;
};

static int outbuf_write(void *data, const char *buf, size_t len)
{
	struct outbuf *o = data;
	if (len == 0)
		return 0;
	if (len > o->cap - o->len) {
		o->overflow = true;
		return -1;
	}
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

static int pack_field(msgpack_packer *pk, const struct ns_ipc_field_info *f, const uint8_t *base)
{
	const void *at = base + f->offset;
	int rc;
	switch (f->kind) {
	case NS_IPC_KIND_U64: {
		uint64_t v;
		memcpy(&v, at, sizeof v);
		if ((rc = check_u64(f, v)) != 0)
			return rc;
		return msgpack_pack_uint64(pk, v);
	}
	case NS_IPC_KIND_BOOL: {
		bool v;
		memcpy(&v, at, sizeof v);
		return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	}
	case NS_IPC_KIND_BIN:
	case NS_IPC_KIND_STR: {
		struct ns_ipc_bytes b;
		memcpy(&b, at, sizeof b);
		if ((rc = check_bytes(f, &b)) != 0)
			return rc;
		if (f->kind == NS_IPC_KIND_BIN)
			return msgpack_pack_bin(pk, b.len) || msgpack_pack_bin_body(pk, b.ptr, b.len);
		return msgpack_pack_str(pk, b.len) || msgpack_pack_str_body(pk, b.ptr, b.len);
	}
	}
	return NS_IPC_EARG;
}

int ns_ipc_encode(const struct ns_ipc_msg *m, uint8_t *out, size_t cap, size_t *out_len)
{
	const struct ns_ipc_type_info *t = m ? ns_ipc_type_info((uint64_t)m->type) : NULL;
	if (!t || !out || !out_len)
		return t ? NS_IPC_EARG : NS_IPC_EUNKNOWN;
	struct outbuf o = { out, cap, 0, false };
	msgpack_packer pk;
	msgpack_packer_init(&pk, &o, outbuf_write);
	const uint8_t *base = (const uint8_t *)&m->u;
	if (msgpack_pack_array(&pk, 1 + t->n_fields) != 0 ||
	    msgpack_pack_uint64(&pk, (uint64_t)t->type) != 0)
		return NS_IPC_ESPACE;
	for (size_t i = 0; i < t->n_fields; i++) {
		int rc = pack_field(&pk, &t->fields[i], base);
		if (rc < 0 && !o.overflow)
			return rc;
		if (rc != 0)
			return NS_IPC_ESPACE;
	}
	*out_len = o.len;
	return NS_IPC_OK;
}

/* ---- decoding, step 1: the shape of the datagram, before msgpack-c allocates anything.
 * Accepts only a fixarray of scalars (positive int, bool, bin, str), each in its shortest
 * encoding, covering the datagram exactly. */

static uint64_t be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Width of a length/value prefix and the smallest value that needs it. */
struct prefix {
	size_t width;
	uint64_t min;
	bool is_len;  /* the value is a payload length that follows */
};

static int prefix_of(uint8_t b, struct prefix *pf)
{
	static const struct { uint8_t tag; struct prefix pf; } table[] = {
		{ 0xcc, { 1, 0x80, false } },      { 0xcd, { 2, 0x100, false } },
		{ 0xce, { 4, 0x10000, false } },   { 0xcf, { 8, UINT64_C(0x100000000), false } },
		{ 0xc4, { 1, 0, true } },          { 0xc5, { 2, 0x100, true } },
		{ 0xc6, { 4, 0x10000, true } },    { 0xd9, { 1, 32, true } },
		{ 0xda, { 2, 0x100, true } },      { 0xdb, { 4, 0x10000, true } },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].tag == b) {
			*pf = table[i].pf;
			return 0;
		}
	return NS_IPC_EFORMAT;
}

static int scan_scalar(const uint8_t *b, size_t len, size_t *pos)
{
	uint8_t tag = b[*pos];
	size_t p = *pos + 1;
	if (tag <= 0x7f || tag == 0xc2 || tag == 0xc3) {
		*pos = p;
		return 0;
	}
	if (tag >= 0xa0 && tag <= 0xbf) { /* fixstr */
		size_t n = tag & 0x1f;
		if (n > len - p)
			return NS_IPC_ETRUNCATED;
		*pos = p + n;
		return 0;
	}
	struct prefix pf;
	if (prefix_of(tag, &pf) != 0)
		return NS_IPC_EFORMAT;
	if (pf.width > len - p)
		return NS_IPC_ETRUNCATED;
	uint64_t v = be_read(b + p, pf.width);
	p += pf.width;
	if (v < pf.min)
		return NS_IPC_EFORMAT;
	if (pf.is_len) {
		if (v > len - p)
			return NS_IPC_ETRUNCATED;
		p += (size_t)v;
	}
	*pos = p;
	return 0;
}

static int scan_shape(const uint8_t *b, size_t len)
{
	if (len == 0)
		return NS_IPC_ETRUNCATED;
	if (b[0] < 0x91 || b[0] > 0x9f)
		return NS_IPC_EFORMAT;
	size_t n = b[0] & 0x0f, pos = 1;
	for (size_t i = 0; i < n; i++) {
		if (pos >= len)
			return NS_IPC_ETRUNCATED;
		int rc = scan_scalar(b, len, &pos);
		if (rc != 0)
			return rc;
	}
	return pos == len ? NS_IPC_OK : NS_IPC_ETRAILING;
}

/* ---- decoding, step 2: msgpack-c objects checked against the catalogue */

static bool points_into(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;
	return n == 0 || (q >= buf && n <= len && q <= buf + len - n);
}

static int field_from_object(const struct ns_ipc_field_info *f, const msgpack_object *o,
                             uint8_t *base, const uint8_t *buf, size_t len)
{
	void *at = base + f->offset;
	struct ns_ipc_bytes b;
	int rc;
	switch (f->kind) {
	case NS_IPC_KIND_U64:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return NS_IPC_EKIND;
		if ((rc = check_u64(f, o->via.u64)) != 0)
			return rc;
		memcpy(at, &o->via.u64, sizeof o->via.u64);
		return 0;
	case NS_IPC_KIND_BOOL: {
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return NS_IPC_EKIND;
		bool v = o->via.boolean;
		memcpy(at, &v, sizeof v);
		return 0;
	}
	case NS_IPC_KIND_BIN:
		if (o->type != MSGPACK_OBJECT_BIN)
			return NS_IPC_EKIND;
		b.ptr = (const uint8_t *)o->via.bin.ptr;
		b.len = o->via.bin.size;
		break;
	case NS_IPC_KIND_STR:
		if (o->type != MSGPACK_OBJECT_STR)
			return NS_IPC_EKIND;
		b.ptr = (const uint8_t *)o->via.str.ptr;
		b.len = o->via.str.size;
		break;
	default:
		return NS_IPC_EARG;
	}
	if (b.len == 0)
		b.ptr = NULL;
	if (!points_into(b.ptr, b.len, buf, len)) /* msgpack-c references the input; insist */
		return NS_IPC_EFORMAT;
	if ((rc = check_bytes(f, &b)) != 0)
		return rc;
	memcpy(at, &b, sizeof b);
	return 0;
}

static int message_from_object(enum ns_ipc_role self, enum ns_ipc_role peer,
                               const msgpack_object *root, const uint8_t *buf, size_t len,
                               struct ns_ipc_msg *out)
{
	if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size == 0)
		return NS_IPC_EFORMAT;
	const msgpack_object *items = root->via.array.ptr;
	if (items[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return NS_IPC_EUNKNOWN;
	int rc = ns_ipc_accepts(self, peer, items[0].via.u64);
	if (rc != 0)
		return rc;
	const struct ns_ipc_type_info *t = ns_ipc_type_info(items[0].via.u64);
	if (root->via.array.size != 1 + t->n_fields)
		return NS_IPC_ECOUNT;
	memset(out, 0, sizeof *out);
	out->type = t->type;
	for (size_t i = 0; i < t->n_fields; i++)
		if ((rc = field_from_object(&t->fields[i], &items[1 + i], (uint8_t *)&out->u, buf,
					    len)) != 0)
			return rc;
	return NS_IPC_OK;
}

int ns_ipc_decode(enum ns_ipc_role self, enum ns_ipc_role peer, const uint8_t *buf, size_t len,
                  struct ns_ipc_msg *out)
{
	if (!out || (!buf && len))
		return NS_IPC_EARG;
	if (len > NS_IPC_MAX_DATAGRAM)
		return NS_IPC_EOVERSIZE;
	int rc = scan_shape(buf, len);
	if (rc != 0)
		return rc;
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	if (msgpack_unpack_next(&u, (const char *)buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len)
		rc = NS_IPC_EFORMAT;
	else
		rc = message_from_object(self, peer, &u.data, buf, len, out);
	msgpack_unpacked_destroy(&u);
	if (rc != 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int ns_ipc_batch_next(enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *batch,
                      size_t *off, struct ns_ipc_msg *out)
{
	if (!batch || !off || !out || batch->type != NS_IPC_T_BATCH)
		return NS_IPC_EARG;
	const struct ns_ipc_bytes *b = &batch->u.BATCH.messages;
	if (*off >= b->len)
		return 0;
	if (b->len - *off < 4)
		return NS_IPC_ETRUNCATED;
	size_t n = ns_get_be32(b->ptr + *off);
	if (n > b->len - *off - 4)
		return NS_IPC_ETRUNCATED;
	int rc = ns_ipc_decode(self, peer, b->ptr + *off + 4, n, out);
	if (rc == 0 && out->type == NS_IPC_T_BATCH) {
		memset(out, 0, sizeof *out);
		rc = NS_IPC_EFORMAT;
	}
	if (rc != 0)
		return rc;
	*off += 4 + n;
	return 1;
}
