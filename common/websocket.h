/* RFC 6455 websockets over libev, framing by libwslay (event API).
 *
 * Server: ns_ws_server_listen() accepts plain ws:// connections, checks the HTTP/1.1 upgrade request
 * within limits and answers 101 with Sec-WebSocket-Accept. Client: ns_ws_connect("ws://IP:PORT/path")
 * sends the upgrade request and checks the 101 answer. Both then exchange text/binary messages, answer
 * pings, and run the close handshake. Every problem (malformed handshake or frame, oversize message,
 * peer gone, timeout) ends that one connection and is reported through on_close; the loop goes on.
 *
 * Lifetime: a connection lives from accept/connect until on_close has returned; the library frees it
 * right after. on_close is called exactly once per connection (also when the handshake failed: code 0).
 * Callbacks may call any ns_ws_* function on their own connection, including ns_ws_abort().
 *
 * Not thread-safe: one libev loop, one thread.
 */
#ifndef NS_WEBSOCKET_H
#define NS_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ns_membudget;
struct ns_shbuf;
typedef struct ns_ws_conn ns_ws_conn;
typedef struct ns_ws_server ns_ws_server;

enum ns_ws_msg_type { NS_WS_TEXT = 1, NS_WS_BINARY = 2 };

enum ns_ws_error {
	NS_WS_E_TOO_LARGE = -1,       /* handshake longer than max_handshake_bytes */
	NS_WS_E_TOO_MANY_HEADERS = -2,
	NS_WS_E_BAD_START_LINE = -3,  /* request line / status line syntax */
	NS_WS_E_BAD_METHOD = -4,      /* not GET */
	NS_WS_E_BAD_HTTP_VERSION = -5,
	NS_WS_E_BAD_PATH = -6,        /* not origin-form, too long, or not the served path */
	NS_WS_E_BAD_HEADER = -7,      /* header syntax, bare CR/LF, duplicate single-valued header, a body */
	NS_WS_E_NO_HOST = -8,
	NS_WS_E_NO_UPGRADE = -9,      /* Upgrade: websocket missing */
	NS_WS_E_NO_CONNECTION = -10,  /* Connection: upgrade missing */
	NS_WS_E_BAD_WS_VERSION = -11, /* Sec-WebSocket-Version is not 13 */
	NS_WS_E_BAD_KEY = -12,        /* Sec-WebSocket-Key missing or not base64 of 16 bytes */
	NS_WS_E_BAD_STATUS = -13,     /* response status is not 101 */
	NS_WS_E_BAD_ACCEPT = -14,     /* Sec-WebSocket-Accept missing or wrong */
	NS_WS_E_UNREQUESTED = -15,    /* response selects an extension/subprotocol we never offered */
	NS_WS_E_URL = -16,            /* not ws://IP[:PORT][/path] */
	NS_WS_E_SOCKET = -17,         /* socket/bind/listen/connect failed (errno kept) */
	NS_WS_E_NOMEM = -18,
	NS_WS_E_STATE = -19,          /* connection not open (handshaking, closing or closed) */
	NS_WS_E_QUEUE_FULL = -20,     /* would exceed max_queued_bytes: back off until on_drain */
	NS_WS_E_ARG = -21,            /* bad argument, e.g. ping payload > 125 bytes */
	NS_WS_E_BODY = -22,           /* request carries a body (Content-Length/Transfer-Encoding) */
	NS_WS_E_RESOLVE = -23,        /* the URL's host name does not resolve */
	NS_WS_E_TLS = -24,            /* wss:// but no TLS context set, or the session failed to start */
};
const char *ns_ws_strerror(int err);

/* Zero fields take the defaults in brackets. */
typedef struct ns_ws_limits {
	size_t max_handshake_bytes; /* whole HTTP request / response head [8192] */
	size_t max_headers;         /* header lines in it [32] */
	size_t max_message_bytes;   /* one incoming message; larger -> close 1009 [1 MiB] */
	size_t max_queued_bytes;    /* outgoing bytes queued per connection; more -> NS_WS_E_QUEUE_FULL [4 MiB] */
	size_t max_connections;     /* server: concurrent connections, more are closed at accept [1024] */
	double handshake_timeout;   /* seconds from accept/connect to an open websocket [10] */
	double close_timeout;       /* seconds to wait for the peer's close frame after ours [5] */
	/* seconds an unfinished incoming message (or fragmented message) may go without a new byte;
	 * then we close with 1008 [0 = no limit] */
	double partial_timeout;
	/* stop reading from a peer while more than this waits to be written to it (answers to its
	 * pings, our messages): a peer that does not read cannot make us queue more [0 = never] */
	size_t read_pause_bytes;
	/* shared by many connections (membudget.h): each charges its queued output and partial
	 * input; over the limit, connections holding bytes stop reading until it is below [NULL] */
	struct ns_membudget *budget;
} ns_ws_limits;

enum ns_ws_refusal {
	NS_WS_REFUSED_FULL = 1,  /* max_connections reached: answered 503 and closed */
	NS_WS_REFUSED_NO_FD = 2, /* accept failed for lack of descriptors: accepting paused 0.5 s */
};

typedef struct ns_ws_callbacks {
	void (*on_open)(ns_ws_conn *c, void *user);
	/* data is valid during the call only (never NULL, also when len is 0); text messages are valid
	 * UTF-8 (checked by wslay) */
	void (*on_message)(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
	                   void *user);
	/* code: the close code received from the peer (1005 if its close frame had none), else the one we
	 * sent (1002 protocol error, 1007 bad UTF-8, 1009 too big, or the caller's), else 1006 (connection
	 * lost or timed out without a close handshake); 0 if the websocket never opened (handshake failed,
	 * connect failed). why: a short static-lifetime text saying what happened. */
	void (*on_close)(ns_ws_conn *c, int code, const char *why, void *user);
	void (*on_pong)(ns_ws_conn *c, const uint8_t *data, size_t len, void *user); /* optional */
	/* optional: the outgoing queue became empty after a send was refused with NS_WS_E_QUEUE_FULL */
	void (*on_drain)(ns_ws_conn *c, void *user);
	/* optional: a hold (ns_ws_hold_reads) ended; when by its time, after the messages of the
	 * read that ended it */
	void (*on_hold_end)(ns_ws_conn *c, void *user);
	/* optional, servers: a connection was refused at accept (enum ns_ws_refusal) */
	void (*on_refuse)(int reason, void *user);
} ns_ws_callbacks;

/* ---- server ---- */
/* Listens on ip:port (IPv4 or IPv6 literal; port 0 = ephemeral, see ns_ws_server_port). path: the only
 * request path served (others get 404), NULL = any. user is passed to every callback of every
 * connection until ns_ws_set_user changes it for one connection. Returns NULL on error with *err set. */
ns_ws_server *ns_ws_server_listen(struct ev_loop *loop, const char *ip, uint16_t port, const char *path,
                                  const ns_ws_limits *limits, const ns_ws_callbacks *cb, void *user,
                                  int *err);
uint16_t ns_ws_server_port(const ns_ws_server *s);
size_t ns_ws_server_connections(const ns_ws_server *s);
/* Changes max_connections for the connections accepted from now on. */
void ns_ws_server_set_max_connections(ns_ws_server *s, size_t n);
/* Stops listening and aborts every connection (each gets on_close 1006 "server shut down"). */
void ns_ws_server_free(ns_ws_server *s);

/* ---- client ---- */
/* Connects to url = "ws[s]://HOST[:PORT][/path]": HOST an IPv4 literal, [IPv6], or a DNS name
 * resolved with getaddrinfo (blocking; its first IPv4 address, else its first IPv6 one). wss://
 * runs TLS (common/tls.h) with the context given to ns_ws_set_client_tls: the certificate must
 * be valid for HOST; a TLS failure ends the connection like a failed connect (on_close code 0,
 * why naming the TLS check that failed, valid during the call). on_open follows once the 101
 * answer checked out, on_close (code 0) if it did not. Returns NULL on immediate errors. */
struct ns_tls_ctx;
/* The TLS client context of every later wss:// connection (NULL: wss:// is refused). */
void ns_ws_set_client_tls(struct ns_tls_ctx *ctx);
ns_ws_conn *ns_ws_connect(struct ev_loop *loop, const char *url, const ns_ws_limits *limits,
                          const ns_ws_callbacks *cb, void *user, int *err);

/* ---- connection ---- */
/* Copies data into the outgoing queue. 0, or NS_WS_E_STATE / NS_WS_E_QUEUE_FULL / NS_WS_E_NOMEM. */
int ns_ws_send(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len);
/* Queues a shared buffer (shbuf.h) without copying it: the connection holds a reference
 * until wslay has read the last byte into its frame buffer (or the connection ends). wslay
 * frames it as a fragmented message (frames of up to 4 KiB), which every RFC 6455 peer
 * reassembles. Same returns as ns_ws_send. */
int ns_ws_send_shared(ns_ws_conn *c, enum ns_ws_msg_type type, struct ns_shbuf *b);
int ns_ws_ping(ns_ws_conn *c, const uint8_t *data, size_t len); /* len <= 125 */
/* Starts the close handshake (code 1000..1014 except 1004..1006, or 3000..4999: the codes RFC 6455
 * §7.4 and the IANA registry allow on the wire; reason <= 123 bytes).
 * Messages queued before the call go out first; the close frame follows them.
 * on_close follows when the peer answered, or after close_timeout. */
int ns_ws_close(ns_ws_conn *c, uint16_t code, const char *reason);
/* For a peer that does not read: releases every shared buffer queued toward it at once and
 * sends the close frame next, before any message not yet begun (a message half sent is cut
 * short by it, as RFC 6455 §5.4 allows control frames between fragments). The close frame
 * waits for room in the socket; on_close follows the peer's answer or close_timeout. */
int ns_ws_close_discard(ns_ws_conn *c, uint16_t code, const char *reason);
/* Drops the connection now, no close handshake; on_close (1006 or 0, why "aborted") follows at once,
 * or when the current callback of this connection returns. */
void ns_ws_abort(ns_ws_conn *c);
/* Bytes accepted by ns_ws_send/send_shared/ping/close and not yet written to the socket. */
size_t ns_ws_queued_bytes(const ns_ws_conn *c);
/* Stops reading from the socket for `seconds` (an open connection with a loop; no effect while
 * a hold runs): what arrives meanwhile waits in the kernel and is read together when the hold
 * ends (then on_hold_end). Called from a message callback, the rest of that read still comes
 * in; a read that fills a whole pump (RECV_PER_PUMP) ends the hold, so a busy socket is never
 * held. The socket's SO_RCVLOWAT is a pump's worth meanwhile, so the kernel wakes us for
 * nothing less. */
void ns_ws_hold_reads(ns_ws_conn *c, double seconds);
bool ns_ws_holding(const ns_ws_conn *c);
/* The same, and in *oldest_shared the seq of the oldest shared buffer queued (UINT64_MAX: none). */
size_t ns_ws_backlog(const ns_ws_conn *c, uint64_t *oldest_shared);
int ns_ws_is_open(const ns_ws_conn *c);
void ns_ws_set_user(ns_ws_conn *c, void *user);
void *ns_ws_user(const ns_ws_conn *c);
const char *ns_ws_path(const ns_ws_conn *c); /* the request path ("" before the handshake) */
int ns_ws_last_errno(const ns_ws_conn *c);   /* errno of the socket error that ended it, or 0 */

/* ---- handshake pieces (pure functions, exposed for tests and fuzzing) ---- */
#define NS_WS_KEY_LEN 24    /* base64 of 16 random bytes */
#define NS_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define NS_WS_MAX_PATH 1024
#define NS_WS_MAX_HOST 253  /* a DNS name's longest text form */

/* A client URL's parts as ns_ws_connect reads them (no resolution). host: the IP literal
 * without brackets or the DNS name; port: the URL's or 80 / 443. 0 or NS_WS_E_URL. */
typedef struct ns_ws_url {
	char host[NS_WS_MAX_HOST + 1];
	uint16_t port;
	int tls;
	char path[NS_WS_MAX_PATH];
} ns_ws_url;
int ns_ws_parse_url(const char *url, ns_ws_url *out);

typedef struct ns_ws_request {
	char path[NS_WS_MAX_PATH];
	char key[NS_WS_KEY_LEN + 1];
} ns_ws_request;

/* accept = base64(SHA-1(key ‖ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")); 0 or NS_WS_E_ARG. */
int ns_ws_accept_key(const char *key, size_t key_len, char accept[NS_WS_ACCEPT_LEN + 1]);
/* Parses an upgrade request at the start of buf. Returns the length of the head (> 0; bytes after it
 * belong to the websocket), 0 if incomplete (and still within limits), or a negative ns_ws_error.
 * limits may be NULL (defaults). */
int ns_ws_parse_request(const char *buf, size_t len, const ns_ws_limits *limits, ns_ws_request *req);
/* Parses the server's answer; same return convention. NS_WS_E_BAD_STATUS also stores the status code
 * in *status (when not NULL). */
int ns_ws_parse_response(const char *buf, size_t len, const ns_ws_limits *limits,
                         const char accept[NS_WS_ACCEPT_LEN + 1], int *status);
/* Writes the client's request into out (NUL-terminated); its length, or NS_WS_E_ARG if it won't fit. */
int ns_ws_build_request(char *out, size_t cap, const char *host, uint16_t port, const char *path,
                        const char key[NS_WS_KEY_LEN + 1]);
/* The server's 101 answer for a parsed request; length or NS_WS_E_ARG. */
int ns_ws_build_response(char *out, size_t cap, const char key[NS_WS_KEY_LEN + 1]);

/* ---- detached connections: no socket, no loop (for fuzzing and tests of the frame path) ----
 * Bytes given to ns_ws_feed go through wslay exactly as if read from a socket; everything the
 * connection would write (frames, answers to pings, close frames) collects in an output buffer. */
ns_ws_conn *ns_ws_detached_new(int is_server, const ns_ws_limits *limits, const ns_ws_callbacks *cb,
                               void *user);
/* Feeds bytes; 0 while the connection is usable, 1 once it has ended (on_close was called). */
int ns_ws_feed(ns_ws_conn *c, const uint8_t *data, size_t len);
/* Signals end of input (like a TCP FIN): ends the connection. */
void ns_ws_feed_eof(ns_ws_conn *c);
/* Output written so far (valid until the next call on c); *len gets its length. */
const uint8_t *ns_ws_detached_output(const ns_ws_conn *c, size_t *len);
void ns_ws_detached_clear_output(ns_ws_conn *c);
/* Frees a detached connection (calls on_close first if it has not ended). */
void ns_ws_detached_free(ns_ws_conn *c);

#endif
