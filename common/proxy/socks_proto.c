/* SOCKS4/4a/5 and HTTP CONNECT request parsing, byte by byte, and the reply bytes. */
#include "proxy/socks_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "clientapi.h"

enum parse_state {
	ST_FIRST = 0,
	ST_V5_NMETHODS,
	ST_V5_METHODS,
	ST_V5_HEAD,   /* VER CMD RSV ATYP */
	ST_V5_DOMLEN,
	ST_V5_ADDR,
	ST_V5_PORT,
	ST_V4_HEAD,   /* CD DSTPORT DSTIP */
	ST_V4_USERID,
	ST_V4A_DOMAIN,
	ST_HTTP_LINE,
	ST_HTTP_HEADERS,
	ST_FINISHED,
};

/* What one byte did to the parse. */
enum byte_result { BYTE_MORE = 0, BYTE_DONE, BYTE_REFUSED };

#define SOCKS5_VERSION 0x05
#define SOCKS4_VERSION 0x04
#define SOCKS5_NO_AUTH 0x00
#define SOCKS5_NO_ACCEPTABLE 0xFF
#define SOCKS_CMD_CONNECT 0x01
#define SOCKS4_GRANTED 0x5A
#define SOCKS4_REJECTED 0x5B
#define SOCKS5_REP_FAILURE 0x01
#define SOCKS5_REP_COMMAND 0x07
#define SOCKS5_REP_ADDR_TYPE 0x08
#define SOCKS4_HEAD_LEN 7
#define SOCKS5_HEAD_LEN 4

static const char HTTP_OK[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* ------------------------------------------------------------ address text ---- */

/* The domain as Rust's String::from_utf8_lossy gives it, or 0 if it does not fit (or no
 * memory: the request is then refused). */
static size_t lossy_utf8(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	char *text = capi_utf8_lossy(in, n, &len);

	if (!text || len >= cap) {
		free(text);
		return 0;
	}
	memcpy(out, text, len);
	free(text);
	return len;
}

static size_t ipv6_nym_text(const uint8_t a[16], char *out, size_t cap)
{
	size_t o = 0;

	for (int g = 0; g < 8; g++) {
		unsigned group = ((unsigned)a[2 * g] << 8) | a[2 * g + 1];
		int w = snprintf(out + o, cap - o, g ? ":%x" : "%x", group);

		if (w < 0 || (size_t)w >= cap - o)
			return 0;
		o += (size_t)w;
	}
	return o;
}

size_t ns_socks_remote_text(enum ns_socks_addr_type type, const uint8_t *addr, size_t addr_len,
                            uint16_t port, char *out, size_t cap)
{
	size_t o = 0;
	int w;

	if (cap == 0)
		return 0;
	if (type == NS_SOCKS_ADDR_IPV4 && addr_len == 4) {
		w = snprintf(out, cap, "%u.%u.%u.%u", addr[0], addr[1], addr[2], addr[3]);
		o = w > 0 ? (size_t)w : 0;
	} else if (type == NS_SOCKS_ADDR_IPV6 && addr_len == 16)
		o = ipv6_nym_text(addr, out, cap);
	else if (type == NS_SOCKS_ADDR_DOMAIN && addr_len <= NS_SOCKS_DOMAIN_MAX)
		o = addr_len ? lossy_utf8(addr, addr_len, out, cap) : 0;
	else
		return 0;
	if ((o == 0 && addr_len != 0) || o >= cap)
		return 0;
	w = snprintf(out + o, cap - o, ":%u", (unsigned)port);
	if (w < 0 || (size_t)w >= cap - o)
		return 0;
	return o + (size_t)w;
}

/* ------------------------------------------------------------------ replies ---- */

size_t ns_socks_reply_success(enum ns_socks_proto proto, uint8_t out[NS_SOCKS_REPLY_MAX])
{
	static const uint8_t v5[] = {0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0};
	/* the version byte is 0 here but 4 in Nym's error reply */
	static const uint8_t v4[] = {0x00, SOCKS4_GRANTED, 0, 0, 127, 0, 0, 1};

	switch (proto) {
	case NS_SOCKS_PROTO_V5:
		memcpy(out, v5, sizeof v5);
		return sizeof v5;
	case NS_SOCKS_PROTO_V4:
	case NS_SOCKS_PROTO_V4A:
		memcpy(out, v4, sizeof v4);
		return sizeof v4;
	case NS_SOCKS_PROTO_HTTP_CONNECT:
		memcpy(out, HTTP_OK, sizeof HTTP_OK - 1);
		return sizeof HTTP_OK - 1;
	default:
		return 0;
	}
}

static size_t http_status_reply(int status, uint8_t out[NS_SOCKS_REPLY_MAX])
{
	const char *reason, *extra = "";
	int w;

	switch (status) {
	case 400: reason = "Bad Request"; break;
	case 403: reason = "Forbidden"; break;
	case 405: reason = "Method Not Allowed"; extra = "Allow: CONNECT\r\n"; break;
	case 431: reason = "Request Header Fields Too Large"; break;
	case 504: reason = "Gateway Timeout"; break;
	case 505: reason = "HTTP Version Not Supported"; break;
	default: status = 502; reason = "Bad Gateway"; break;
	}
	w = snprintf((char *)out, NS_SOCKS_REPLY_MAX,
	             "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status,
	             reason, extra);
	return w > 0 && w < NS_SOCKS_REPLY_MAX ? (size_t)w : 0;
}

static int http_status_for_code(uint8_t socks5_code)
{
	switch (socks5_code) {
	case 0x02: return 403;
	case 0x06: return 504;
	case SOCKS5_REP_COMMAND: return 405;
	case SOCKS5_REP_ADDR_TYPE: return 400;
	default: return 502;
	}
}

size_t ns_socks_reply_failure(enum ns_socks_proto proto, uint8_t socks5_code, bool full,
                              uint8_t out[NS_SOCKS_REPLY_MAX])
{
	switch (proto) {
	case NS_SOCKS_PROTO_V5:
		memset(out, 0, 10);
		out[0] = SOCKS5_VERSION;
		out[1] = socks5_code;
		if (!full)
			return 2;
		out[3] = 0x01; /* BND.ADDR 0.0.0.0, BND.PORT 0 */
		return 10;
	case NS_SOCKS_PROTO_V4:
	case NS_SOCKS_PROTO_V4A:
		memset(out, 0, 8);
		out[0] = full ? 0x00 : SOCKS4_VERSION;
		out[1] = SOCKS4_REJECTED;
		return full ? 8 : 2;
	case NS_SOCKS_PROTO_HTTP_CONNECT:
		return http_status_reply(http_status_for_code(socks5_code), out);
	default:
		return 0;
	}
}

uint8_t ns_socks5_code_for_error_text(const char *text)
{
	if (strstr(text, "Host"))
		return 0x04;
	if (strstr(text, "Network"))
		return 0x03;
	if (strstr(text, "ttl"))
		return 0x06;
	return SOCKS5_REP_FAILURE;
}

const char *ns_socks_refusal_text(enum ns_socks_refusal r)
{
	switch (r) {
	case NS_SOCKS_OK: return "ok";
	case NS_SOCKS_BAD_FIRST_BYTE: return "neither SOCKS4, SOCKS5 nor HTTP";
	case NS_SOCKS_NO_ACCEPTABLE_METHOD: return "SOCKS5 greeting without the no-auth method";
	case NS_SOCKS_BAD_VERSION: return "SOCKS5 request with a wrong version";
	case NS_SOCKS_COMMAND_UNSUPPORTED: return "command not supported (only CONNECT)";
	case NS_SOCKS_ADDR_TYPE_UNSUPPORTED: return "address type not supported";
	case NS_SOCKS_BAD_DOMAIN: return "empty domain or a domain with a NUL byte";
	case NS_SOCKS_USERID_TOO_LONG: return "SOCKS4 user id too long";
	case NS_SOCKS_DOMAIN_TOO_LONG: return "SOCKS4a domain too long";
	case NS_HTTP_METHOD_NOT_ALLOWED: return "HTTP method other than CONNECT";
	case NS_HTTP_MALFORMED: return "malformed HTTP CONNECT request";
	case NS_HTTP_VERSION_UNSUPPORTED: return "HTTP version not supported";
	case NS_HTTP_HEAD_TOO_LARGE: return "HTTP request head too large";
	}
	return "unknown";
}

/* ------------------------------------------------------------ parser core ---- */

static void add_reply(struct ns_socks_parser *p, const uint8_t *bytes, size_t n)
{
	/* NS_SOCKS_REPLY_MAX holds a method choice plus the longest final reply */
	if (p->reply_len + n <= sizeof p->reply) {
		memcpy(p->reply + p->reply_len, bytes, n);
		p->reply_len += n;
	}
}

static uint8_t socks5_code_for_refusal(enum ns_socks_refusal r)
{
	if (r == NS_SOCKS_COMMAND_UNSUPPORTED)
		return SOCKS5_REP_COMMAND;
	if (r == NS_SOCKS_ADDR_TYPE_UNSUPPORTED)
		return SOCKS5_REP_ADDR_TYPE;
	return SOCKS5_REP_FAILURE;
}

static int http_status_for_refusal(enum ns_socks_refusal r)
{
	switch (r) {
	case NS_HTTP_METHOD_NOT_ALLOWED: return 405;
	case NS_HTTP_VERSION_UNSUPPORTED: return 505;
	case NS_HTTP_HEAD_TOO_LARGE: return 431;
	default: return 400;
	}
}

static enum byte_result refuse(struct ns_socks_parser *p, enum ns_socks_refusal r)
{
	uint8_t out[NS_SOCKS_REPLY_MAX];
	size_t n = 0;
	bool full = p->options & NS_SOCKS_FULL_ERRORS;

	p->final_refusal = r;
	if (r == NS_SOCKS_NO_ACCEPTABLE_METHOD) {
		out[0] = SOCKS5_VERSION;
		out[1] = SOCKS5_NO_ACCEPTABLE;
		n = 2;
	} else if (p->proto == NS_SOCKS_PROTO_HTTP_CONNECT) {
		n = http_status_reply(http_status_for_refusal(r), out);
	} else if (p->proto != NS_SOCKS_PROTO_UNKNOWN) {
		uint8_t code = full ? socks5_code_for_refusal(r) : SOCKS5_REP_FAILURE;
		n = ns_socks_reply_failure(p->proto, code, full, out);
	}
	add_reply(p, out, n);
	return BYTE_REFUSED;
}

static enum byte_result finish(struct ns_socks_parser *p)
{
	struct ns_socks_request *q = &p->req;
	uint8_t out[NS_SOCKS_REPLY_MAX];

	q->proto = p->proto;
	q->remote_len = ns_socks_remote_text(q->addr_type, q->addr, q->addr_len, q->port, q->remote,
	                                     sizeof q->remote);
	if (q->remote_len == 0)
		return refuse(p, NS_SOCKS_BAD_DOMAIN);
	add_reply(p, out, ns_socks_reply_success(p->proto, out));
	return BYTE_DONE;
}

/* Appends b to the current fixed-size field; true once it holds `need` bytes. */
static bool collect(struct ns_socks_parser *p, uint8_t b)
{
	p->field[p->field_len++] = b;
	return p->field_len == p->need;
}

static void expect_field(struct ns_socks_parser *p, int state, size_t need)
{
	p->state = state;
	p->need = need;
	p->field_len = 0;
}

/* ------------------------------------------------------------------ SOCKS5 ---- */

static enum byte_result v5_greeting_done(struct ns_socks_parser *p)
{
	static const uint8_t choice[] = {SOCKS5_VERSION, SOCKS5_NO_AUTH};

	if (!p->got_noauth)
		return refuse(p, NS_SOCKS_NO_ACCEPTABLE_METHOD);
	add_reply(p, choice, sizeof choice);
	expect_field(p, ST_V5_HEAD, SOCKS5_HEAD_LEN);
	return BYTE_MORE;
}

static enum byte_result v5_head_done(struct ns_socks_parser *p)
{
	uint8_t ver = p->field[0], cmd = p->field[1], atyp = p->field[3];

	if (ver != SOCKS5_VERSION)
		return refuse(p, NS_SOCKS_BAD_VERSION);
	if (cmd != SOCKS_CMD_CONNECT)
		return refuse(p, NS_SOCKS_COMMAND_UNSUPPORTED);
	p->req.addr_len = 0;
	switch (atyp) {
	case NS_SOCKS_ADDR_IPV4:
		p->req.addr_type = NS_SOCKS_ADDR_IPV4;
		expect_field(p, ST_V5_ADDR, 4);
		return BYTE_MORE;
	case NS_SOCKS_ADDR_IPV6:
		p->req.addr_type = NS_SOCKS_ADDR_IPV6;
		expect_field(p, ST_V5_ADDR, 16);
		return BYTE_MORE;
	case NS_SOCKS_ADDR_DOMAIN:
		p->req.addr_type = NS_SOCKS_ADDR_DOMAIN;
		p->state = ST_V5_DOMLEN;
		return BYTE_MORE;
	default:
		return refuse(p, NS_SOCKS_ADDR_TYPE_UNSUPPORTED);
	}
}

static enum byte_result v5_byte(struct ns_socks_parser *p, uint8_t b)
{
	switch (p->state) {
	case ST_V5_NMETHODS:
		p->need = b;
		p->state = ST_V5_METHODS;
		return b == 0 ? v5_greeting_done(p) : BYTE_MORE;
	case ST_V5_METHODS:
		p->got_noauth |= b == SOCKS5_NO_AUTH;
		return --p->need == 0 ? v5_greeting_done(p) : BYTE_MORE;
	case ST_V5_HEAD:
		return collect(p, b) ? v5_head_done(p) : BYTE_MORE;
	case ST_V5_DOMLEN:
		if (b == 0)
			return refuse(p, NS_SOCKS_BAD_DOMAIN);
		expect_field(p, ST_V5_ADDR, b);
		return BYTE_MORE;
	case ST_V5_ADDR:
		if (p->req.addr_type == NS_SOCKS_ADDR_DOMAIN && b == 0)
			return refuse(p, NS_SOCKS_BAD_DOMAIN);
		p->req.addr[p->req.addr_len++] = b;
		if (p->req.addr_len == p->need)
			expect_field(p, ST_V5_PORT, 2);
		return BYTE_MORE;
	default: /* ST_V5_PORT */
		if (!collect(p, b))
			return BYTE_MORE;
		p->req.port = ns_get_be16(p->field);
		return finish(p);
	}
}

/* ------------------------------------------------------------------ SOCKS4 ---- */

static void v4_head_done(struct ns_socks_parser *p)
{
	p->req.port = ns_get_be16(p->field + 1);
	p->req.addr_type = NS_SOCKS_ADDR_IPV4;
	memcpy(p->req.addr, p->field + 3, 4);
	p->req.addr_len = 4;
	p->counted = 0;
	p->state = ST_V4_USERID;
}

static enum byte_result v4_userid_done(struct ns_socks_parser *p)
{
	const uint8_t *ip = p->req.addr;

	if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0) {
		p->proto = NS_SOCKS_PROTO_V4A;
		p->req.addr_type = NS_SOCKS_ADDR_DOMAIN;
		p->req.addr_len = 0;
		p->state = ST_V4A_DOMAIN;
		return BYTE_MORE;
	}
	return finish(p);
}

static enum byte_result v4_byte(struct ns_socks_parser *p, uint8_t b)
{
	switch (p->state) {
	case ST_V4_HEAD:
		if (p->field_len == 0 && b != SOCKS_CMD_CONNECT)
			return refuse(p, NS_SOCKS_COMMAND_UNSUPPORTED);
		if (collect(p, b))
			v4_head_done(p);
		return BYTE_MORE;
	case ST_V4_USERID:
		if (b == 0)
			return v4_userid_done(p);
		return ++p->counted > NS_SOCKS4_USERID_MAX ? refuse(p, NS_SOCKS_USERID_TOO_LONG)
		                                           : BYTE_MORE;
	default: /* ST_V4A_DOMAIN */
		if (b == 0)
			return p->req.addr_len ? finish(p) : refuse(p, NS_SOCKS_BAD_DOMAIN);
		if (p->req.addr_len == NS_SOCKS_DOMAIN_MAX)
			return refuse(p, NS_SOCKS_DOMAIN_TOO_LONG);
		p->req.addr[p->req.addr_len++] = b;
		return BYTE_MORE;
	}
}

/* ------------------------------------------------------------ HTTP CONNECT ---- */

static bool is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_host_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* 1..65535 in decimal digits */
static bool parse_http_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool parse_bracketed_v6(struct ns_socks_request *q, const char *s, size_t n)
{
	char text[INET6_ADDRSTRLEN];

	if (n >= sizeof text)
		return false;
	memcpy(text, s, n);
	text[n] = 0;
	if (inet_pton(AF_INET6, text, q->addr) != 1)
		return false;
	q->addr_type = NS_SOCKS_ADDR_IPV6;
	q->addr_len = 16;
	return true;
}

static bool parse_host_name(struct ns_socks_request *q, const char *s, size_t n)
{
	char text[NS_SOCKS_DOMAIN_MAX + 1];

	if (n == 0 || n > NS_SOCKS_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_host_char((uint8_t)s[i]))
			return false;
	memcpy(text, s, n);
	text[n] = 0;
	if (inet_pton(AF_INET, text, q->addr) == 1) {
		q->addr_type = NS_SOCKS_ADDR_IPV4;
		q->addr_len = 4;
		return true;
	}
	memcpy(q->addr, s, n);
	q->addr_type = NS_SOCKS_ADDR_DOMAIN;
	q->addr_len = n;
	return true;
}

/* authority-form: host:port or [v6]:port */
static bool parse_authority(struct ns_socks_request *q, const char *s, size_t n)
{
	const char *colon;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close + 1 == s + n || close[1] != ':')
			return false;
		if (!parse_bracketed_v6(q, s + 1, (size_t)(close - s - 1)))
			return false;
		colon = close + 1;
	} else {
		colon = memrchr(s, ':', n);
		if (!colon || !parse_host_name(q, s, (size_t)(colon - s)))
			return false;
	}
	return parse_http_port(colon + 1, (size_t)(s + n - colon - 1), &q->port);
}

static enum ns_socks_refusal check_http_version(const char *v, size_t n)
{
	if (n == 8 && (!memcmp(v, "HTTP/1.1", 8) || !memcmp(v, "HTTP/1.0", 8)))
		return NS_SOCKS_OK;
	if (n == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9')
		return NS_HTTP_VERSION_UNSUPPORTED;
	return NS_HTTP_MALFORMED;
}

/* The whole request line (CR LF stripped): "CONNECT" SP authority SP version */
static enum byte_result http_line_done(struct ns_socks_parser *p)
{
	const char *line = (const char *)p->field;
	size_t n = p->field_len;
	const char *target, *sp2;
	enum ns_socks_refusal version;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n < 8 || memcmp(line, "CONNECT ", 8) != 0)
		return refuse(p, NS_HTTP_MALFORMED);
	target = line + 8;
	sp2 = memchr(target, ' ', (size_t)(line + n - target));
	if (!sp2)
		return refuse(p, NS_HTTP_MALFORMED);
	version = check_http_version(sp2 + 1, (size_t)(line + n - sp2 - 1));
	if (version != NS_SOCKS_OK)
		return refuse(p, version);
	if (!parse_authority(&p->req, target, (size_t)(sp2 - target)))
		return refuse(p, NS_HTTP_MALFORMED);
	p->state = ST_HTTP_HEADERS;
	p->line_len = 0;
	return BYTE_MORE;
}

/* The method is judged as soon as it ends, so a long GET is refused with 405 at once. */
static enum byte_result http_method_byte(struct ns_socks_parser *p, uint8_t b)
{
	if (b != ' ')
		return is_tchar(b) ? BYTE_MORE : refuse(p, NS_HTTP_MALFORMED);
	p->http_method_done = true;
	if (p->field_len - 1 == 7 && !memcmp(p->field, "CONNECT", 7))
		return BYTE_MORE;
	return refuse(p, NS_HTTP_METHOD_NOT_ALLOWED);
}

static enum byte_result http_line_byte(struct ns_socks_parser *p, uint8_t b)
{
	if (b == '\n')
		return http_line_done(p);
	if (p->field_len == sizeof p->field)
		return refuse(p, NS_HTTP_MALFORMED); /* no CONNECT line is this long */
	p->field[p->field_len++] = b;
	if (!p->http_method_done)
		return http_method_byte(p, b);
	if ((b < 0x20 && b != '\r') || b == 0x7F)
		return refuse(p, NS_HTTP_MALFORMED);
	return BYTE_MORE;
}

static enum byte_result http_header_byte(struct ns_socks_parser *p, uint8_t b)
{
	if (b == '\n') {
		if (p->line_len == 0)
			return finish(p);
		p->line_len = 0;
		return BYTE_MORE;
	}
	if (b == '\r')
		return BYTE_MORE;
	if ((b < 0x20 && b != '\t') || b == 0x7F)
		return refuse(p, NS_HTTP_MALFORMED);
	p->line_len++;
	return BYTE_MORE;
}

static enum byte_result http_byte(struct ns_socks_parser *p, uint8_t b)
{
	if (++p->head_len > NS_HTTP_CONNECT_HEAD_MAX)
		return refuse(p, NS_HTTP_HEAD_TOO_LARGE);
	return p->state == ST_HTTP_LINE ? http_line_byte(p, b) : http_header_byte(p, b);
}

/* ------------------------------------------------------------------ driver ---- */

static enum byte_result first_byte(struct ns_socks_parser *p, uint8_t b)
{
	if (b == SOCKS5_VERSION) {
		p->proto = NS_SOCKS_PROTO_V5;
		p->state = ST_V5_NMETHODS;
		return BYTE_MORE;
	}
	if (b == SOCKS4_VERSION) {
		p->proto = NS_SOCKS_PROTO_V4;
		expect_field(p, ST_V4_HEAD, SOCKS4_HEAD_LEN);
		return BYTE_MORE;
	}
	if (b >= 'A' && b <= 'Z') {
		p->proto = NS_SOCKS_PROTO_HTTP_CONNECT;
		expect_field(p, ST_HTTP_LINE, 0);
		return http_byte(p, b);
	}
	return refuse(p, NS_SOCKS_BAD_FIRST_BYTE);
}

static enum byte_result parse_byte(struct ns_socks_parser *p, uint8_t b)
{
	switch (p->state) {
	case ST_FIRST:
		return first_byte(p, b);
	case ST_V5_NMETHODS:
	case ST_V5_METHODS:
	case ST_V5_HEAD:
	case ST_V5_DOMLEN:
	case ST_V5_ADDR:
	case ST_V5_PORT:
		return v5_byte(p, b);
	case ST_V4_HEAD:
	case ST_V4_USERID:
	case ST_V4A_DOMAIN:
		return v4_byte(p, b);
	default:
		return http_byte(p, b);
	}
}

void ns_socks_parser_init(struct ns_socks_parser *p, unsigned options)
{
	memset(p, 0, sizeof *p);
	p->options = options;
	p->state = ST_FIRST;
	p->final_status = NS_SOCKS_NEED_MORE;
}

struct ns_socks_step ns_socks_parser_feed(struct ns_socks_parser *p, const uint8_t *in, size_t len)
{
	struct ns_socks_step step = {.status = p->final_status, .refusal = p->final_refusal};
	size_t i = 0;

	p->reply_len = 0;
	while (p->state != ST_FINISHED && i < len) {
		enum byte_result r = parse_byte(p, in[i++]);

		if (r == BYTE_MORE)
			continue;
		p->state = ST_FINISHED;
		p->final_status = r == BYTE_DONE ? NS_SOCKS_DONE : NS_SOCKS_REFUSED;
	}
	step.status = p->final_status;
	step.refusal = p->final_refusal;
	step.consumed = i;
	step.reply = p->reply;
	step.reply_len = p->reply_len;
	return step;
}

const struct ns_socks_request *ns_socks_parser_request(const struct ns_socks_parser *p)
{
	return p->final_status == NS_SOCKS_DONE ? &p->req : NULL;
}
