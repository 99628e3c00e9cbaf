/* IPC framing and validation: see ipc.h and ipc_msgs.h. */
#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <msgpack.h>

#include "crypto.h"

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

static bool role_valid(enum ns_ipc_role r)
{
	return (unsigned)r < NS_IPC_ROLE_COUNT;
}

int ns_ipc_accepts(enum ns_ipc_role self, enum ns_ipc_role peer, uint64_t type)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info(type);
	if (!t)
		return NS_IPC_EUNKNOWN;
	if (!role_valid(self) || !(t->receivers & (1u << self)))
		return NS_IPC_ERECEIVER;
	if (!role_valid(peer) || peer == self || !(t->senders & (1u << peer)))
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

static uint32_t be32_read(const uint8_t *p)
{
	return (uint32_t)be_read(p, 4);
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
	size_t n = be32_read(b->ptr + *off);
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

/* ---- sockets */

int ns_ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static uint8_t send_buf[NS_IPC_MAX_DATAGRAM]; /* single-threaded processes */

static int encode_for(enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *m,
                      size_t *len)
{
	if (!m)
		return NS_IPC_EARG;
	int rc = ns_ipc_accepts(peer, self, (uint64_t)m->type);
	if (rc != 0)
		return rc;
	return ns_ipc_encode(m, send_buf, sizeof send_buf, len);
}

static int send_datagram(int fd, const uint8_t *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? NS_IPC_EAGAIN : NS_IPC_EIO;
	return (size_t)n == len ? NS_IPC_OK : NS_IPC_ESHORT;
}

int ns_ipc_send(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	size_t len;
	int rc = encode_for(self, peer, m, &len);
	return rc ? rc : send_datagram(fd, send_buf, len, 0);
}

int ns_ipc_recv(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, uint8_t *buf, size_t cap,
                struct ns_ipc_msg *out, int flags)
{
	if (!buf || !out || cap == 0)
		return NS_IPC_EARG;
	if (cap > NS_IPC_MAX_DATAGRAM)
		cap = NS_IPC_MAX_DATAGRAM;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do
		n = recvmsg(fd, &mh, (flags & MSG_DONTWAIT) | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? NS_IPC_EAGAIN : NS_IPC_EIO;
	if (n == 0)
		return NS_IPC_EEOF;
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > cap)
		return NS_IPC_EOVERSIZE;
	if (mh.msg_flags & MSG_CTRUNC)
		return NS_IPC_ECONTROL;
	return ns_ipc_decode(self, peer, buf, (size_t)n, out);
}

/* ---- libev glue */

static void conn_fail(struct ns_ipc_conn *c, int err)
{
	ns_ipc_conn_stop(c);
	c->last_error = err;
	if (c->on_fatal)
		c->on_fatal(c, err, c->ctx);
}

/* The messages of a BATCH, in order, while the conn runs (a handler may stop it). */
static int conn_read_batch(struct ns_ipc_conn *c, const struct ns_ipc_msg *batch)
{
	struct ns_ipc_msg m;
	size_t off = 0;
	int rc;
	while (ev_is_active(&c->io) && (rc = ns_ipc_batch_next(c->self, c->peer, batch, &off, &m)) != 0) {
		if (rc > 0 && !c->handlers[m.type])
			rc = NS_IPC_ENOHANDLER;
		if (rc < 0) {
			conn_fail(c, rc);
			return -1;
		}
		c->received++;
		c->handlers[m.type](c, &m, c->ctx);
	}
	return 1;
}

/* One datagram: 1 handled, 0 nothing to read, -1 failed (the conn is stopped). */
static int conn_read_one(struct ns_ipc_conn *c)
{
	struct ns_ipc_msg m;
	int rc = ns_ipc_recv(c->fd, c->self, c->peer, c->buf, sizeof c->buf, &m, MSG_DONTWAIT);
	if (rc == NS_IPC_EAGAIN)
		return 0;
	if (rc == 0 && m.type == NS_IPC_T_BATCH)
		return conn_read_batch(c, &m);
	if (rc == 0 && !c->handlers[m.type])
		rc = NS_IPC_ENOHANDLER;
	if (rc != 0) {
		conn_fail(c, rc);
		return -1;
	}
	c->received++;
	c->handlers[m.type](c, &m, c->ctx);
	return 1;
}

static void conn_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	/* a handler may stop the conn (fatal, shutdown): re-check that it still runs */
	for (unsigned i = 0; i < c->batch && ev_is_active(&c->io); i++)
		if (conn_read_one(c) <= 0)
			return;
}

/* ---- the send queue */

struct ns_ipc_outq {
	struct ns_ipc_outq *next;
	size_t len, messages; /* a BATCH datagram holds several */
	uint8_t data[];
};

static void outq_pop(struct ns_ipc_conn *c)
{
	struct ns_ipc_outq *q = c->outq;
	c->outq = q->next;
	if (!c->outq)
		c->outq_tail = &c->outq;
	c->outq_bytes -= q->len;
	c->outq_count--;
	ns_memzero(q->data, q->len); /* fragments and SURBs pass through here */
	free(q);
}

/* The head of the queue went out. */
static void outq_sent(struct ns_ipc_conn *c)
{
	c->sent += c->outq->messages;
	c->datagrams++;
	outq_pop(c);
}

static void wait_writable(struct ns_ipc_conn *c)
{
	if (c->loop && !ev_is_active(&c->wio))
		ev_io_start(c->loop, &c->wio);
}

/* Sends queued datagrams without blocking, in order, until the queue is empty or the socket
 * is full (then the writable watcher goes on). 0 or an error. */
static int outq_send(struct ns_ipc_conn *c)
{
	while (c->outq) {
		int rc = send_datagram(c->fd, c->outq->data, c->outq->len, MSG_DONTWAIT);
		if (rc == NS_IPC_EAGAIN) {
			wait_writable(c);
			return NS_IPC_OK;
		}
		if (rc != 0)
			return rc;
		outq_sent(c);
	}
	return NS_IPC_OK;
}

static int outq_push(struct ns_ipc_conn *c, const uint8_t *buf, size_t len, size_t messages)
{
	if (c->outq_bytes + len > NS_IPC_OUTQ_MAX)
		return NS_IPC_EQUEUE;
	struct ns_ipc_outq *q = malloc(sizeof *q + len);
	if (!q)
		return NS_IPC_EQUEUE;
	q->next = NULL;
	q->len = len;
	q->messages = messages;
	memcpy(q->data, buf, len);
	*c->outq_tail = q;
	c->outq_tail = &q->next;
	c->outq_bytes += len;
	c->outq_count++;
	if (c->outq_bytes > c->outq_peak)
		c->outq_peak = c->outq_bytes;
	wait_writable(c);
	return NS_IPC_OK;
}

/* A datagram the caller owns: sent now when nothing waits before it, else queued. */
static int send_or_queue(struct ns_ipc_conn *c, const uint8_t *buf, size_t len, size_t messages)
{
	if (!c->outq) {
		int rc = send_datagram(c->fd, buf, len, MSG_DONTWAIT);
		if (rc == 0) {
			c->sent += messages;
			c->datagrams++;
		}
		if (rc != NS_IPC_EAGAIN)
			return rc;
	}
	return outq_push(c, buf, len, messages);
}

/* ---- the cork: a corked conn encodes each message straight into c->cork, after room for a
 * BATCH header: CORK_HDR bytes, then (u32 BE length, message) for each. */
#define CORK_HDR 5 /* fixarray(2), type BATCH, bin16 header */
_Static_assert(NS_IPC_T_BATCH < 128 && NS_IPC_BATCH_MAX < 65536, "the BATCH header below");

/* The cork as one datagram: its message when it holds one, else a BATCH whose header (the
 * shortest bin header for the payload's length) is written just before the payload. */
static const uint8_t *cork_datagram(struct ns_ipc_conn *c, size_t *len)
{
	uint8_t *payload = c->cork + CORK_HDR;
	if (c->cork_count == 1) {
		*len = c->cork_len - 4;
		return payload + 4;
	}
	size_t n = c->cork_len, h = n < 256 ? 4 : 5;
	uint8_t *d = payload - h;
	d[0] = 0x92;
	d[1] = NS_IPC_T_BATCH;
	if (h == 4) {
		d[2] = 0xc4;
		d[3] = (uint8_t)n;
	} else {
		d[2] = 0xc5;
		d[3] = (uint8_t)(n >> 8);
		d[4] = (uint8_t)n;
	}
	*len = n + h;
	return d;
}

static void cork_clear(struct ns_ipc_conn *c)
{
	ns_memzero(c->cork, CORK_HDR + c->cork_len); /* fragments and SURBs pass through here */
	c->cork_len = c->cork_count = 0;
}

/* What the cork holds goes out (after what is queued: that is older) or into the queue. */
static int cork_flush(struct ns_ipc_conn *c)
{
	if (!c->cork_count)
		return NS_IPC_OK;
	size_t len;
	const uint8_t *d = cork_datagram(c, &len);
	int rc = send_or_queue(c, d, len, c->cork_count);
	cork_clear(c);
	return rc;
}

/* Encodes m into the cork; a full cork goes out first. A message too large for any BATCH
 * goes alone (after the cork, to keep the order). */
static int cork_add(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	int rc = ns_ipc_accepts(c->peer, c->self, (uint64_t)m->type);
	for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
		size_t room = NS_IPC_BATCH_MAX - c->cork_len, len;
		uint8_t *at = c->cork + CORK_HDR + c->cork_len;
		rc = room > 4 ? ns_ipc_encode(m, at + 4, room - 4, &len) : NS_IPC_ESPACE;
		if (rc == 0) {
			at[0] = (uint8_t)(len >> 24), at[1] = (uint8_t)(len >> 16);
			at[2] = (uint8_t)(len >> 8), at[3] = (uint8_t)len;
			c->cork_len += 4 + len;
			c->cork_count++;
			return NS_IPC_OK;
		}
		ns_memzero(at, room); /* what a failed encode left there */
		if (rc != NS_IPC_ESPACE || !c->cork_count)
			break;
		rc = cork_flush(c);
	}
	if (rc != NS_IPC_ESPACE)
		return rc;
	size_t len;
	rc = encode_for(c->self, c->peer, m, &len);
	return rc ? rc : send_or_queue(c, send_buf, len, 1);
}

static void conn_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	int rc = outq_send(c);
	if (rc != 0) {
		ev_io_stop(loop, &c->wio);
		conn_fail(c, rc);
		return;
	}
	if (!c->outq)
		ev_io_stop(loop, &c->wio);
}

/* A corked conn, before the loop waits: what this turn of the loop corked goes out (or waits
 * in the queue behind older datagrams). */
static void conn_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ns_ipc_conn *c = w->data;
	int rc = cork_flush(c);
	if (rc != 0)
		conn_fail(c, rc);
}

int ns_ipc_conn_flush(struct ns_ipc_conn *c)
{
	if (!c)
		return NS_IPC_EARG;
	int rc = c->cork ? cork_flush(c) : NS_IPC_OK;
	if (rc != 0)
		return rc;
	if (c->loop)
		ev_io_stop(c->loop, &c->wio);
	while (c->outq) {
		rc = send_datagram(c->fd, c->outq->data, c->outq->len, 0);
		if (rc != 0)
			return rc;
		outq_sent(c);
	}
	return NS_IPC_OK;
}

void ns_ipc_conn_discard_queue(struct ns_ipc_conn *c)
{
	while (c && c->outq)
		outq_pop(c);
	if (c && c->cork)
		cork_clear(c);
}

int ns_ipc_conn_start(struct ns_ipc_conn *c, struct ev_loop *loop, int fd, enum ns_ipc_role self,
                      enum ns_ipc_role peer, const ns_ipc_handler *handlers,
                      ns_ipc_fatal_fn on_fatal, void *ctx)
{
	if (!c || !loop || fd < 0 || !handlers || !on_fatal || !role_valid(self) ||
	    !role_valid(peer) || self == peer)
		return NS_IPC_EARG;
	c->loop = loop;
	c->fd = fd;
	c->self = self;
	c->peer = peer;
	c->handlers = handlers;
	c->on_fatal = on_fatal;
	c->ctx = ctx;
	c->received = c->sent = 0;
	c->last_error = 0;
	c->batch = 1;
	c->corked = 0;
	c->cork = NULL;
	c->cork_len = c->cork_count = 0;
	c->datagrams = 0;
	c->outq = NULL;
	c->outq_tail = &c->outq;
	c->outq_bytes = c->outq_count = c->outq_peak = 0;
	ev_io_init(&c->io, conn_readable, fd, EV_READ);
	c->io.data = c;
	ev_io_init(&c->wio, conn_writable, fd, EV_WRITE);
	c->wio.data = c;
	ev_prepare_init(&c->flush_w, conn_prepare);
	/* last among the prepare watchers: what another one sends this turn goes out too */
	ev_set_priority(&c->flush_w, EV_MINPRI);
	c->flush_w.data = c;
	ev_io_start(loop, &c->io);
	return NS_IPC_OK;
}

void ns_ipc_conn_set_priority(struct ns_ipc_conn *c, int pri, unsigned batch)
{
	int active = ev_is_active(&c->io);
	if (active)
		ev_io_stop(c->loop, &c->io);
	ev_set_priority(&c->io, pri);
	c->batch = batch ? batch : 1;
	if (active)
		ev_io_start(c->loop, &c->io);
}

/* The prepare watcher is active for as long as the conn is corked (one started during the
 * prepare phase would only run after the loop's next wait), and does not keep the loop alive. */
static void flush_watch(struct ns_ipc_conn *c, int on)
{
	if (on && !ev_is_active(&c->flush_w)) {
		ev_prepare_start(c->loop, &c->flush_w);
		ev_unref(c->loop);
	} else if (!on && ev_is_active(&c->flush_w)) {
		ev_ref(c->loop);
		ev_prepare_stop(c->loop, &c->flush_w);
	}
}

int ns_ipc_conn_set_cork(struct ns_ipc_conn *c, int on)
{
	if (!c || !c->loop)
		return NS_IPC_EARG;
	if (on && !c->cork && !(c->cork = malloc(CORK_HDR + NS_IPC_BATCH_MAX)))
		return NS_IPC_EQUEUE;
	c->corked = on != 0;
	flush_watch(c, c->corked);
	if (on || !c->cork)
		return NS_IPC_OK;
	int rc = cork_flush(c);
	free(c->cork);
	c->cork = NULL;
	return rc;
}

void ns_ipc_conn_stop(struct ns_ipc_conn *c)
{
	if (c && c->loop) {
		ev_io_stop(c->loop, &c->io);
		ev_io_stop(c->loop, &c->wio);
		flush_watch(c, 0);
	}
}

int ns_ipc_conn_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	if (!c)
		return NS_IPC_EARG;
	if (!m)
		return NS_IPC_EARG;
	if (c->corked)
		return cork_add(c, m);
	size_t len;
	int rc = encode_for(c->self, c->peer, m, &len);
	return rc ? rc : send_or_queue(c, send_buf, len, 1);
}
