/* libFuzzer: the local proxy request parser (SOCKS4/4a/5, HTTP CONNECT).
 * Input: one control byte (bit 0: full error replies; the rest seeds the split sizes), then
 * the bytes an application sends. Properties: fed in random pieces (each in its own buffer of
 * exactly its size) the parser gives the same status, refusal, replies, consumed count and
 * request as fed at once; nothing it reports exceeds its bounds; a DONE request is DONE at
 * exactly its consumed length and not before. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/socks_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	enum ns_socks_status status;
	enum ns_socks_refusal refusal;
	uint8_t reply[4 * NS_SOCKS_REPLY_MAX];
	size_t reply_len;
	size_t consumed;
	struct ns_socks_request req;
};

static void feed(struct ns_socks_parser *p, const uint8_t *in, size_t n, struct outcome *o)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct ns_socks_step s;

	if (!copy)
		abort();
	memcpy(copy, in, n);
	s = ns_socks_parser_feed(p, copy, n);
	free(copy);
	if (s.consumed > n || s.reply_len > NS_SOCKS_REPLY_MAX)
		abort();
	if (s.status == NS_SOCKS_NEED_MORE && s.consumed != n)
		abort();
	/* at most a method choice and one final reply in a whole exchange */
	if (o->reply_len + s.reply_len > sizeof o->reply)
		abort();
	memcpy(o->reply + o->reply_len, s.reply, s.reply_len);
	o->reply_len += s.reply_len;
	o->consumed += s.consumed;
	o->status = s.status;
	o->refusal = s.refusal;
}

static void finish(const struct ns_socks_parser *p, struct outcome *o)
{
	const struct ns_socks_request *r = ns_socks_parser_request(p);

	if ((r != NULL) != (o->status == NS_SOCKS_DONE))
		abort();
	if ((o->refusal != NS_SOCKS_OK) != (o->status == NS_SOCKS_REFUSED))
		abort();
	if (!r)
		return;
	if (r->remote_len == 0 || r->remote_len >= sizeof r->remote ||
	    strlen(r->remote) != r->remote_len || r->addr_len > sizeof r->addr)
		abort();
	o->req = *r;
}

static void run(const uint8_t *in, size_t n, unsigned opts, uint32_t seed, struct outcome *o)
{
	struct ns_socks_parser p;
	size_t at = 0;

	memset(o, 0, sizeof *o);
	ns_socks_parser_init(&p, opts);
	if (!seed)
		feed(&p, in, n, o);
	while (seed && at < n) {
		size_t piece;

		seed = seed * 1103515245u + 12345u;
		piece = (seed >> 16) % 9 == 0 ? 0 : 1 + (seed >> 8) % 17; /* empty feeds too */
		if (piece > n - at)
			piece = n - at;
		feed(&p, in + at, piece, o);
		at += piece;
	}
	finish(&p, o);
}

static void same(const struct outcome *a, const struct outcome *b)
{
	if (a->status != b->status || a->refusal != b->refusal || a->reply_len != b->reply_len ||
	    memcmp(a->reply, b->reply, a->reply_len) || a->consumed != b->consumed)
		abort();
	if (a->status == NS_SOCKS_DONE &&
	    (a->req.proto != b->req.proto || a->req.port != b->req.port ||
	     a->req.addr_type != b->req.addr_type || a->req.addr_len != b->req.addr_len ||
	     memcmp(a->req.addr, b->req.addr, a->req.addr_len) ||
	     strcmp(a->req.remote, b->req.remote)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, pieces, prefix;
	unsigned opts;

	if (size < 1 || size > 3 * NS_HTTP_CONNECT_HEAD_MAX)
		return 0;
	opts = data[0] & 1 ? NS_SOCKS_FULL_ERRORS : 0;
	data++;
	size--;
	run(data, size, opts, 0, &whole);
	run(data, size, opts, 0x9e3779b9u ^ data[-1], &pieces);
	same(&whole, &pieces);
	if (whole.status == NS_SOCKS_DONE) {
		run(data, whole.consumed, opts, 0, &prefix);
		same(&whole, &prefix);
		run(data, whole.consumed - 1, opts, 0, &prefix);
		if (prefix.status != NS_SOCKS_NEED_MORE)
			abort();
	}
	return 0;
}
