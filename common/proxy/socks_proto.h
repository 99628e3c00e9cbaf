/* The first bytes a local application sends to the SOCKS client's proxy port: SOCKS5
 * (no-auth, CONNECT), SOCKS4, SOCKS4a and, beyond Nym, an HTTP CONNECT request, told apart
 * by the first byte (0x05, 0x04, an ASCII capital letter). The parser is fed bytes as they
 * arrive and keeps only what it still needs; every field a stranger controls is bounded.
 *
 * Replies. Each feed returns the bytes to write to the application now: the SOCKS5 method
 * choice, the success reply once the request is complete, or the refusal before closing.
 * As Nym, success is answered at once, before the network requester has tried the remote
 * (the requester never confirms a connect, and apps that speak first, e.g. TLS, would
 * otherwise stall). So a ConnectionError that arrives later finds the reply gone: the
 * front then closes the local socket at once (Nym leaves it open until MIX_TTL). The full
 * RFC 1928 / SOCKS4 error replies serve refusals made locally before the success reply (a
 * limit reached, no provider lane), and are what the parser answers when created with
 * NS_SOCKS_FULL_ERRORS; by default it answers malformed requests with Nym's two bytes. */
#ifndef NS_SOCKS_PROTO_H
#define NS_SOCKS_PROTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_SOCKS_DOMAIN_MAX 255      /* SOCKS5 length byte; SOCKS4a and HTTP hosts alike */
#define NS_SOCKS4_USERID_MAX 1024    /* SOCKS4 USERID, read and ignored */
#define NS_HTTP_CONNECT_HEAD_MAX 8192 /* request line + headers + blank line */
#define NS_HTTP_CONNECT_LINE_MAX 512  /* the request line alone */
/* "host:port" as Nym writes it: a lossy-UTF-8 domain grows at most 3x, then ":65535" */
#define NS_SOCKS_REMOTE_MAX (3 * NS_SOCKS_DOMAIN_MAX + 6 + 1)
#define NS_SOCKS_REPLY_MAX 160 /* the most bytes one feed can produce */

enum ns_socks_proto {
	NS_SOCKS_PROTO_UNKNOWN = 0,
	NS_SOCKS_PROTO_V4,
	NS_SOCKS_PROTO_V4A,
	NS_SOCKS_PROTO_V5,
	NS_SOCKS_PROTO_HTTP_CONNECT,
};

enum ns_socks_addr_type { NS_SOCKS_ADDR_IPV4 = 1, NS_SOCKS_ADDR_DOMAIN = 3, NS_SOCKS_ADDR_IPV6 = 4 };

enum ns_socks_status {
	NS_SOCKS_NEED_MORE = 0, /* all bytes taken; write the reply bytes (if any), read on */
	NS_SOCKS_DONE,          /* request complete: write the reply, then proxy */
	NS_SOCKS_REFUSED,       /* write the reply bytes (if any), then close */
};

enum ns_socks_refusal {
	NS_SOCKS_OK = 0,
	NS_SOCKS_BAD_FIRST_BYTE,      /* neither SOCKS nor HTTP: closed without a reply, as Nym */
	NS_SOCKS_NO_ACCEPTABLE_METHOD, /* SOCKS5 greeting without 0x00: 05 FF */
	NS_SOCKS_BAD_VERSION,         /* SOCKS5 request whose VER is not 5 */
	NS_SOCKS_COMMAND_UNSUPPORTED, /* BIND, UDP ASSOCIATE or unknown */
	NS_SOCKS_ADDR_TYPE_UNSUPPORTED,
	NS_SOCKS_BAD_DOMAIN,          /* empty, or holds a NUL byte (beyond Nym, which sends it) */
	NS_SOCKS_USERID_TOO_LONG,     /* SOCKS4 USERID over NS_SOCKS4_USERID_MAX */
	NS_SOCKS_DOMAIN_TOO_LONG,     /* SOCKS4a domain over NS_SOCKS_DOMAIN_MAX */
	NS_HTTP_METHOD_NOT_ALLOWED,   /* 405 */
	NS_HTTP_MALFORMED,            /* 400: request line, target or header syntax */
	NS_HTTP_VERSION_UNSUPPORTED,  /* 505 */
	NS_HTTP_HEAD_TOO_LARGE,       /* 431 */
};

/* Parser options */
#define NS_SOCKS_FULL_ERRORS 1u /* refuse with full RFC 1928 / SOCKS4 replies, not Nym's 2 bytes */

struct ns_socks_request {
	enum ns_socks_proto proto;
	enum ns_socks_addr_type addr_type;
	uint8_t addr[NS_SOCKS_DOMAIN_MAX]; /* 4, 16 or addr_len domain bytes as sent */
	size_t addr_len;
	uint16_t port;
	char remote[NS_SOCKS_REMOTE_MAX]; /* for the Connect request, NUL-terminated */
	size_t remote_len;
};

struct ns_socks_step {
	enum ns_socks_status status;
	enum ns_socks_refusal refusal; /* NS_SOCKS_OK unless REFUSED */
	size_t consumed;      /* DONE: bytes of this feed that were the request; the rest is data */
	const uint8_t *reply; /* bytes to write now; valid until the next feed */
	size_t reply_len;
};

/* The parser's state: opaque in use, public only so it can live inside a connection. */
struct ns_socks_parser {
	unsigned options;
	int state;
	enum ns_socks_proto proto;
	size_t need;    /* bytes still wanted by the current field */
	size_t counted; /* bytes of a bounded field seen so far */
	size_t line_len;
	size_t head_len;
	bool http_method_done;
	bool got_noauth;
	uint8_t field[NS_HTTP_CONNECT_LINE_MAX];
	size_t field_len;
	uint8_t reply[NS_SOCKS_REPLY_MAX];
	size_t reply_len;
	struct ns_socks_request req;
	enum ns_socks_status final_status;
	enum ns_socks_refusal final_refusal;
};

void ns_socks_parser_init(struct ns_socks_parser *p, unsigned options);

/* Feeds len bytes. After DONE or REFUSED the parser stays there and takes no more bytes. */
struct ns_socks_step ns_socks_parser_feed(struct ns_socks_parser *p, const uint8_t *in, size_t len);

/* The parsed request, once a feed returned DONE; NULL before. */
const struct ns_socks_request *ns_socks_parser_request(const struct ns_socks_parser *p);

/* Short English text of a refusal, for the (rate-limited) log. */
const char *ns_socks_refusal_text(enum ns_socks_refusal r);

/* Nym's remote address text for a parsed address: the dotted quad, the domain as lossy
 * UTF-8, or eight lowercase unpadded hex groups joined by ':' (no "::", no brackets), then
 * ':' and the port. Returns the length (out is NUL-terminated), or 0 if cap is too small or
 * the address length does not fit its type. */
size_t ns_socks_remote_text(enum ns_socks_addr_type type, const uint8_t *addr, size_t addr_len,
                            uint16_t port, char *out, size_t cap);

/* The success reply: SOCKS5 05 00 00 01 7F 00 00 01 00 00, SOCKS4/4a 00 5A 00 00 7F 00 00 01
 * (as Nym), HTTP "HTTP/1.1 200 Connection established" and a blank line. Returns its
 * length (0 for NS_SOCKS_PROTO_UNKNOWN). */
size_t ns_socks_reply_success(enum ns_socks_proto proto, uint8_t out[NS_SOCKS_REPLY_MAX]);

/* A failure reply for a request already parsed. socks5_code is an RFC 1928 REP value (1..8).
 * Nym's form (full == false): SOCKS5 05 REP, SOCKS4 04 5B. Full form: the 10-byte SOCKS5
 * reply with BND 0.0.0.0:0, the 8-byte SOCKS4 reply 00 5B 00.. . HTTP ignores full and maps
 * the code to a status line (2 -> 403, 6 -> 504, 7 -> 405, 8 -> 400, else 502). */
size_t ns_socks_reply_failure(enum ns_socks_proto proto, uint8_t socks5_code, bool full,
                              uint8_t out[NS_SOCKS_REPLY_MAX]);

/* Nym's choice of SOCKS5 REP for an error text: 04 if it contains "Host", else 03 for
 * "Network", else 06 for "ttl", else 01. */
uint8_t ns_socks5_code_for_error_text(const char *text);

#endif
