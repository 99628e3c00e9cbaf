/* RFC 6455 websockets over libev + libwslay; see websocket.h. */
#include "websocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <gcrypt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "crypto.h"
#include "membudget.h"
#include "shbuf.h"
#include "tls.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define RECV_CHUNK 16384
#define DETACHED_OUTPUT_CAP (64u << 20)
#define RECV_PER_PUMP 65536    /* read at most this much per event, then let others run */
#define HOLD_CHAIN_SKIP 8      /* hold ends that start no hold after a chained hold caught nothing */
#define WSLAY_MSG_OVERHEAD 96  /* wslay's allocation per queued message besides its bytes */
#define BUDGET_RETRY 0.1       /* seconds between checks of a connection paused by the budget */
#define ACCEPT_RETRY 0.5       /* seconds accepting pauses when out of descriptors */

enum conn_state { ST_HANDSHAKE, ST_OPEN, ST_DONE };

struct ns_ws_conn {
	struct ev_loop *loop;
	int fd; /* -1: detached */
	struct ns_tls *tls;  /* wss://: every byte goes through it */
	bool tls_handshaking; /* connected, TLS handshake under way */
	char tls_why[224];    /* why the TLS handshake failed (on_close's why) */
	uint8_t cork[16];     /* a frame header waiting to share its payload's TLS record */
	size_t cork_len;
	bool is_server;
	enum conn_state state;
	ev_io rio, wio;
	ev_timer timer;
	wslay_event_context_ptr ws;
	ns_ws_limits lim;
	ns_ws_callbacks cb;
	void *user;
	ns_ws_server *server;
	ns_ws_conn *prev, *next;

	/* handshake: head being read, and our request/response being written */
	char *hs_in;
	size_t hs_in_len;
	char *hs_out;
	size_t hs_out_len, hs_out_off;
	bool close_after_hs_out; /* server refused the request: send the error answer, then end */
	int hs_error;
	char accept[NS_WS_ACCEPT_LEN + 1];
	char path[NS_WS_MAX_PATH];

	/* bytes that arrived after the handshake head: the first websocket bytes */
	uint8_t *early;
	size_t early_len, early_off;

	/* detached mode input/output */
	const uint8_t *feed;
	size_t feed_len, feed_off;
	uint8_t *out;
	size_t out_len, out_cap;

	int depth;          /* >0 while inside our own callbacks for this connection */
	bool finish_pending; /* finish when depth returns to 0 */
	int finish_code;
	const char *finish_why;
	bool eof, closing_by_us, refused;
	/* ns_ws_close called with messages still queued: wslay sends control frames first,
	 * so our close frame waits here until the queue is empty */
	bool close_deferred;
	uint16_t deferred_code;
	size_t deferred_reason_len;
	uint8_t deferred_reason[123];
	bool draining; /* our close is out after a bad frame: discard input until the peer closes */
	int sock_errno;

	/* bounds on what the peer can make us hold (limits partial_timeout, read_pause_bytes, budget) */
	ev_timer ptimer, btimer; /* partial message without progress; retry while paused by budget */
	ev_timer htimer;         /* ns_ws_hold_reads: the end of the hold */
	bool held;
	bool lowat; /* the hold raised SO_RCVLOWAT, so the read watcher stays on (ns_ws_hold_reads) */
	/* holds asked for by the read at the end of a hold (conn_hold_timer_cb) */
	enum { HOLD_END_NOT, HOLD_END_MAY_CHAIN, HOLD_END_NO_CHAIN } hold_end;
	bool chained;        /* the hold running was asked for by such a read */
	unsigned chain_skip; /* hold ends left that start no hold */
	bool in_data, in_msg, progress; /* current frame carries data; a message is unfinished */
	size_t in_partial;             /* payload bytes of the unfinished message */
	size_t charged;                /* what the budget holds for us */
	size_t pump_read;
	bool drained;                  /* this pump's last recv was short: the socket is empty */
	const char *our_why;           /* why we closed, for on_close */
	/* shared buffers queued by ns_ws_send_shared, in wslay's order; wslay reads them through
	 * ws_shared_read_cb as fragmented messages, so they are never copied whole */
	struct ns_outq shq;
};

struct ns_ws_server {
	struct ev_loop *loop;
	int fd;
	ev_io lio;
	uint16_t port;
	char *path;
	ns_ws_limits lim;
	ns_ws_callbacks cb;
	void *user;
	ns_ws_conn *conns;
	size_t nconns;
	ev_timer retry; /* accepting paused after EMFILE/ENFILE */
};

const char *ns_ws_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case NS_WS_E_TOO_LARGE: return "handshake too large";
	case NS_WS_E_TOO_MANY_HEADERS: return "too many header lines";
	case NS_WS_E_BAD_START_LINE: return "malformed request/status line";
	case NS_WS_E_BAD_METHOD: return "method is not GET";
	case NS_WS_E_BAD_HTTP_VERSION: return "not HTTP/1.1";
	case NS_WS_E_BAD_PATH: return "bad or unknown request path";
	case NS_WS_E_BAD_HEADER: return "malformed or duplicate header";
	case NS_WS_E_NO_HOST: return "Host header missing";
	case NS_WS_E_NO_UPGRADE: return "Upgrade: websocket missing";
	case NS_WS_E_NO_CONNECTION: return "Connection: upgrade missing";
	case NS_WS_E_BAD_WS_VERSION: return "Sec-WebSocket-Version is not 13";
	case NS_WS_E_BAD_KEY: return "Sec-WebSocket-Key missing or invalid";
	case NS_WS_E_BAD_STATUS: return "response status is not 101";
	case NS_WS_E_BAD_ACCEPT: return "Sec-WebSocket-Accept missing or wrong";
	case NS_WS_E_UNREQUESTED: return "response selects an extension or subprotocol never offered";
	case NS_WS_E_URL: return "url is not ws[s]://HOST[:PORT][/path]";
	case NS_WS_E_RESOLVE: return "cannot resolve the host name";
	case NS_WS_E_TLS: return "wss:// without a TLS context, or TLS set-up failed";
	case NS_WS_E_SOCKET: return "socket error";
	case NS_WS_E_NOMEM: return "out of memory";
	case NS_WS_E_STATE: return "connection not open";
	case NS_WS_E_QUEUE_FULL: return "outgoing queue full";
	case NS_WS_E_ARG: return "invalid argument";
	case NS_WS_E_BODY: return "request has a body";
	default: return "unknown error";
	}
}

static ns_ws_limits limits_or_defaults(const ns_ws_limits *in)
{
	ns_ws_limits l = { 0 };
	if (in)
		l = *in;
	if (!l.max_handshake_bytes)
		l.max_handshake_bytes = 8192;
	if (!l.max_headers)
		l.max_headers = 32;
	if (!l.max_message_bytes)
		l.max_message_bytes = 1u << 20;
	if (!l.max_queued_bytes)
		l.max_queued_bytes = 4u << 20;
	if (!l.max_connections)
		l.max_connections = 1024;
	if (!(l.handshake_timeout > 0))
		l.handshake_timeout = 10;
	if (!(l.close_timeout > 0))
		l.close_timeout = 5;
	return l;
}

/* ------------------------------------------------------------------ handshake: keys */

int ns_ws_accept_key(const char *key, size_t key_len, char accept[NS_WS_ACCEPT_LEN + 1])
{
	static const char guid[] = WS_GUID;
	uint8_t digest[20];
	char buf[128];
	if (!key || key_len > sizeof buf - (sizeof guid - 1))
		return NS_WS_E_ARG;
	memcpy(buf, key, key_len);
	memcpy(buf + key_len, guid, sizeof guid - 1);
	gcry_md_hash_buffer(GCRY_MD_SHA1, digest, buf, key_len + sizeof guid - 1);
	sodium_bin2base64(accept, NS_WS_ACCEPT_LEN + 1, digest, sizeof digest,
	                  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static bool key_is_valid(const char *v, size_t n)
{
	uint8_t raw[18];
	size_t raw_len = 0;
	if (n != NS_WS_KEY_LEN)
		return false;
	if (sodium_base642bin(raw, sizeof raw, v, n, NULL, &raw_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return raw_len == 16;
}

/* ------------------------------------------------------------------ handshake: HTTP head parsing */

typedef struct span {
	const char *p;
	size_t n;
} span;

static bool span_eq(span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool span_ieq(span s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

static span span_trim(span s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* does a comma-separated token list contain tok (case-insensitive)? */
static bool list_has_token(span v, const char *tok)
{
	while (v.n) {
		const char *comma = memchr(v.p, ',', v.n);
		size_t len = comma ? (size_t)(comma - v.p) : v.n;
		if (span_ieq(span_trim((span){ v.p, len }), tok))
			return true;
		if (!comma)
			break;
		v.p += len + 1;
		v.n -= len + 1;
	}
	return false;
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_field_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Length of the head including the blank line, 0 if not complete, NS_WS_E_TOO_LARGE. */
static int head_length(const char *buf, size_t len, size_t max)
{
	size_t n = len < max ? len : max;
	for (size_t i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return (int)(i + 1);
	return len >= max ? NS_WS_E_TOO_LARGE : 0;
}

/* Splits the head into CRLF lines. Returns the number of lines (start line included, blank line
 * excluded) or an error; bare CR or LF inside a line is an error. */
static int split_lines(const char *head, size_t head_len, span *lines, size_t max_lines)
{
	size_t count = 0, start = 0;
	for (size_t i = 0; i < head_len; i++) {
		if (head[i] == '\r') {
			if (i + 1 >= head_len || head[i + 1] != '\n')
				return NS_WS_E_BAD_HEADER;
			if (i == start)
				return (int)count; /* the blank line ends the head */
			if (count == max_lines)
				return NS_WS_E_TOO_MANY_HEADERS;
			lines[count++] = (span){ head + start, i - start };
			start = i + 2;
			i++;
		} else if (head[i] == '\n' || head[i] == '\0') {
			return NS_WS_E_BAD_HEADER;
		}
	}
	return NS_WS_E_BAD_HEADER;
}

static int split_header(span line, span *name, span *value)
{
	const char *colon = memchr(line.p, ':', line.n);
	if (!colon || colon == line.p)
		return NS_WS_E_BAD_HEADER;
	*name = (span){ line.p, (size_t)(colon - line.p) };
	for (size_t i = 0; i < name->n; i++)
		if (!is_tchar((unsigned char)name->p[i]))
			return NS_WS_E_BAD_HEADER; /* also rejects obs-fold (leading whitespace) */
	*value = (span){ colon + 1, line.n - name->n - 1 };
	for (size_t i = 0; i < value->n; i++)
		if (!is_field_value_char((unsigned char)value->p[i]))
			return NS_WS_E_BAD_HEADER;
	*value = span_trim(*value);
	return 0;
}

/* the headers both sides care about */
typedef struct ws_headers {
	bool upgrade, connection;
	int host, version, key, accept, extensions, protocol;
	span version_v, key_v, accept_v;
	bool body;
} ws_headers;

static int collect_header(ws_headers *h, span name, span value)
{
	if (span_ieq(name, "Host")) {
		h->host++;
	} else if (span_ieq(name, "Upgrade")) {
		h->upgrade |= list_has_token(value, "websocket");
	} else if (span_ieq(name, "Connection")) {
		h->connection |= list_has_token(value, "upgrade");
	} else if (span_ieq(name, "Sec-WebSocket-Version")) {
		h->version++;
		h->version_v = value;
	} else if (span_ieq(name, "Sec-WebSocket-Key")) {
		h->key++;
		h->key_v = value;
	} else if (span_ieq(name, "Sec-WebSocket-Accept")) {
		h->accept++;
		h->accept_v = value;
	} else if (span_ieq(name, "Sec-WebSocket-Extensions")) {
		h->extensions++;
	} else if (span_ieq(name, "Sec-WebSocket-Protocol")) {
		h->protocol++;
	} else if (span_ieq(name, "Transfer-Encoding")) {
		h->body = true;
	} else if (span_ieq(name, "Content-Length")) {
		h->body |= !span_eq(value, "0");
	}
	if (h->host > 1 || h->version > 1 || h->key > 1 || h->accept > 1)
		return NS_WS_E_BAD_HEADER;
	return 0;
}

static int collect_headers(const span *lines, int nlines, ws_headers *h)
{
	memset(h, 0, sizeof *h);
	for (int i = 1; i < nlines; i++) {
		span name, value;
		int r = split_header(lines[i], &name, &value);
		if (r == 0)
			r = collect_header(h, name, value);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_request_line(span line, ns_ws_request *req)
{
	const char *sp1 = memchr(line.p, ' ', line.n);
	if (!sp1)
		return NS_WS_E_BAD_START_LINE;
	span method = { line.p, (size_t)(sp1 - line.p) };
	span rest = { sp1 + 1, line.n - method.n - 1 };
	const char *sp2 = memchr(rest.p, ' ', rest.n);
	if (!sp2)
		return NS_WS_E_BAD_START_LINE;
	span target = { rest.p, (size_t)(sp2 - rest.p) };
	span version = { sp2 + 1, rest.n - target.n - 1 };
	if (!span_eq(method, "GET"))
		return method.n ? NS_WS_E_BAD_METHOD : NS_WS_E_BAD_START_LINE;
	if (!span_eq(version, "HTTP/1.1"))
		return NS_WS_E_BAD_HTTP_VERSION;
	if (target.n == 0 || target.p[0] != '/' || target.n >= NS_WS_MAX_PATH)
		return NS_WS_E_BAD_PATH;
	for (size_t i = 0; i < target.n; i++)
		if ((unsigned char)target.p[i] <= 0x20 || (unsigned char)target.p[i] >= 0x7f)
			return NS_WS_E_BAD_PATH;
	memcpy(req->path, target.p, target.n);
	req->path[target.n] = '\0';
	return 0;
}

static int check_request_headers(const ws_headers *h)
{
	if (h->body)
		return NS_WS_E_BODY;
	if (!h->host)
		return NS_WS_E_NO_HOST;
	if (!h->upgrade)
		return NS_WS_E_NO_UPGRADE;
	if (!h->connection)
		return NS_WS_E_NO_CONNECTION;
	if (!h->version || !span_eq(h->version_v, "13"))
		return NS_WS_E_BAD_WS_VERSION;
	if (!h->key || !key_is_valid(h->key_v.p, h->key_v.n))
		return NS_WS_E_BAD_KEY;
	return 0;
}

int ns_ws_parse_request(const char *buf, size_t len, const ns_ws_limits *limits, ns_ws_request *req)
{
	ns_ws_limits lim = limits_or_defaults(limits);
	int head = head_length(buf, len, lim.max_handshake_bytes);
	if (head <= 0)
		return head;
	span *lines = calloc(lim.max_headers + 1, sizeof *lines);
	if (!lines)
		return NS_WS_E_NOMEM;
	ws_headers h;
	int r = split_lines(buf, (size_t)head, lines, lim.max_headers + 1);
	if (r == 0)
		r = NS_WS_E_BAD_START_LINE;
	if (r > 0) {
		int nlines = r;
		memset(req, 0, sizeof *req);
		r = parse_request_line(lines[0], req);
		if (r == 0)
			r = collect_headers(lines, nlines, &h);
		if (r == 0)
			r = check_request_headers(&h);
	}
	if (r == 0) {
		memcpy(req->key, h.key_v.p, NS_WS_KEY_LEN);
		req->key[NS_WS_KEY_LEN] = '\0';
	}
	free(lines);
	return r < 0 ? r : head;
}

/* "HTTP/1.1 101 Switching Protocols": the reason phrase is free text */
static int parse_status_line(span line, int *status)
{
	if (line.n < 12 || memcmp(line.p, "HTTP/1.1 ", 9) != 0)
		return line.n >= 5 && memcmp(line.p, "HTTP/", 5) == 0 ? NS_WS_E_BAD_HTTP_VERSION
		                                                       : NS_WS_E_BAD_START_LINE;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (line.p[i] < '0' || line.p[i] > '9')
			return NS_WS_E_BAD_START_LINE;
		code = code * 10 + (line.p[i] - '0');
	}
	if (line.n > 12 && line.p[12] != ' ')
		return NS_WS_E_BAD_START_LINE;
	*status = code;
	return 0;
}

static int check_response_headers(const ws_headers *h, const char *accept)
{
	if (!h->upgrade)
		return NS_WS_E_NO_UPGRADE;
	if (!h->connection)
		return NS_WS_E_NO_CONNECTION;
	if (!h->accept || !span_eq(h->accept_v, accept))
		return NS_WS_E_BAD_ACCEPT;
	if (h->extensions || h->protocol)
		return NS_WS_E_UNREQUESTED;
	return 0;
}

int ns_ws_parse_response(const char *buf, size_t len, const ns_ws_limits *limits,
                         const char accept[NS_WS_ACCEPT_LEN + 1], int *status)
{
	ns_ws_limits lim = limits_or_defaults(limits);
	int head = head_length(buf, len, lim.max_handshake_bytes);
	if (head <= 0)
		return head;
	span *lines = calloc(lim.max_headers + 1, sizeof *lines);
	if (!lines)
		return NS_WS_E_NOMEM;
	int code = 0;
	int r = split_lines(buf, (size_t)head, lines, lim.max_headers + 1);
	if (r == 0)
		r = NS_WS_E_BAD_START_LINE;
	if (r > 0) {
		int nlines = r;
		ws_headers h;
		r = parse_status_line(lines[0], &code);
		if (r == 0 && code != 101)
			r = NS_WS_E_BAD_STATUS;
		if (r == 0)
			r = collect_headers(lines, nlines, &h);
		if (r == 0)
			r = check_response_headers(&h, accept);
	}
	free(lines);
	if (status)
		*status = code;
	return r < 0 ? r : head;
}

int ns_ws_build_request(char *out, size_t cap, const char *host, uint16_t port, const char *path,
                        const char key[NS_WS_KEY_LEN + 1])
{
	int n = snprintf(out, cap,
	                 "GET %s HTTP/1.1\r\n"
	                 "Host: %s:%u\r\n"
	                 "Upgrade: websocket\r\n"
	                 "Connection: Upgrade\r\n"
	                 "Sec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n"
	                 "\r\n",
	                 path, host, (unsigned)port, key);
	return n < 0 || (size_t)n >= cap ? NS_WS_E_ARG : n;
}

int ns_ws_build_response(char *out, size_t cap, const char key[NS_WS_KEY_LEN + 1])
{
	char accept[NS_WS_ACCEPT_LEN + 1];
	if (ns_ws_accept_key(key, strlen(key), accept) < 0)
		return NS_WS_E_ARG;
	int n = snprintf(out, cap,
	                 "HTTP/1.1 101 Switching Protocols\r\n"
	                 "Upgrade: websocket\r\n"
	                 "Connection: Upgrade\r\n"
	                 "Sec-WebSocket-Accept: %s\r\n"
	                 "\r\n",
	                 accept);
	return n < 0 || (size_t)n >= cap ? NS_WS_E_ARG : n;
}

static const char *http_error_answer(int err)
{
	switch (err) {
	case NS_WS_E_TOO_LARGE:
	case NS_WS_E_TOO_MANY_HEADERS:
		return "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
		       "Content-Length: 0\r\n\r\n";
	case NS_WS_E_BAD_PATH:
		return "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	case NS_WS_E_BAD_METHOD:
		return "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nConnection: close\r\n"
		       "Content-Length: 0\r\n\r\n";
	case NS_WS_E_BAD_WS_VERSION:
		return "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
		       "Connection: close\r\nContent-Length: 0\r\n\r\n";
	default:
		return "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	}
}

/* ------------------------------------------------------------------ connection core */

static void conn_finish_now(ns_ws_conn *c);
static void conn_update_watchers(ns_ws_conn *c);

static void conn_enter(ns_ws_conn *c)
{
	c->depth++;
}

/* May free c (unless detached): don't touch it afterwards. */
static void conn_leave(ns_ws_conn *c)
{
	if (--c->depth == 0 && c->finish_pending)
		conn_finish_now(c);
}

static void conn_finish(ns_ws_conn *c, int code, const char *why)
{
	if (c->state == ST_DONE || c->finish_pending)
		return;
	c->finish_pending = true;
	c->finish_code = code;
	c->finish_why = why;
	if (c->depth == 0)
		conn_finish_now(c);
}

static const char *why_for_sent_code(uint16_t code)
{
	switch (code) {
	case WSLAY_CODE_PROTOCOL_ERROR: return "protocol error in a frame from the peer";
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA: return "invalid UTF-8 from the peer";
	case WSLAY_CODE_MESSAGE_TOO_BIG: return "message from the peer too big";
	default: return "closed by us";
	}
}

/* code and reason for on_close once the websocket was open; code and why come in as the reason the
 * connection ended (1000 = close handshake over, 1006 = lost/timed out/aborted) */
static void close_outcome(ns_ws_conn *c, int *code, const char **why)
{
	if (!c->ws)
		return;
	if (wslay_event_get_close_received(c->ws)) {
		*code = wslay_event_get_status_code_received(c->ws);
		*why = c->closing_by_us ? (c->our_why ? c->our_why : "close handshake completed")
		                        : "closed by the peer";
		return;
	}
	if (*code != 1000)
		return;
	/* we sent a close and the peer is done: ours (ns_ws_close) or wslay's after a bad frame */
	uint16_t sent = wslay_event_get_status_code_sent(c->ws);
	*code = sent;
	*why = c->closing_by_us ? (c->our_why ? c->our_why : "closed by us") : why_for_sent_code(sent);
}

static void conn_stop_watchers(ns_ws_conn *c)
{
	if (!c->loop)
		return;
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_stop(c->loop, &c->ptimer);
	ev_timer_stop(c->loop, &c->btimer);
	ev_timer_stop(c->loop, &c->htimer);
}

static void conn_free_resources(ns_ws_conn *c)
{
	conn_stop_watchers(c);
	ns_outq_clear(&c->shq);
	if (c->lim.budget)
		ns_membudget_set(c->lim.budget, &c->charged, 0);
	ns_tls_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->ws)
		wslay_event_context_free(c->ws);
	c->ws = NULL;
	free(c->hs_in);
	free(c->hs_out);
	free(c->early);
	c->hs_in = c->hs_out = NULL;
	c->early = NULL;
}

static void server_unlink(ns_ws_conn *c)
{
	ns_ws_server *s = c->server;
	if (!s)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	c->server = NULL;
}

static void conn_finish_now(ns_ws_conn *c)
{
	int code = c->finish_code;
	const char *why = c->finish_why;
	bool was_open = c->state == ST_OPEN;
	c->finish_pending = false;
	if (was_open)
		close_outcome(c, &code, &why);
	else
		code = 0;
	if (c->our_why)
		why = c->our_why; /* a limit of ours ended it, however the close went */
	c->state = ST_DONE;
	bool detached = c->fd < 0 && !c->loop;
	conn_stop_watchers(c);
	ns_outq_clear(&c->shq);
	if (c->cb.on_close) {
		c->depth++;
		c->cb.on_close(c, code, why ? why : "closed", c->user);
		c->depth--;
	}
	if (detached)
		return; /* freed by ns_ws_detached_free */
	server_unlink(c);
	conn_free_resources(c);
	free(c);
}

/* ---- what the peer makes us hold */

/* What this connection alone holds toward its peer: shared buffers are charged by their
 * creator, once for every connection they go to. */
static size_t conn_own_out(const ns_ws_conn *c)
{
	size_t n = c->hs_out_len - c->hs_out_off + c->shq.owned;
	if (c->ws)
		n += wslay_event_get_queued_msg_length(c->ws) +
		     wslay_event_get_queued_msg_count(c->ws) * WSLAY_MSG_OVERHEAD;
	return n;
}

static size_t conn_out_bytes(const ns_ws_conn *c)
{
	return conn_own_out(c) + c->shq.shared;
}

static size_t conn_held(const ns_ws_conn *c)
{
	return conn_own_out(c) + c->in_partial;
}

static bool conn_may_read(const ns_ws_conn *c)
{
	if (c->lim.read_pause_bytes && conn_out_bytes(c) > c->lim.read_pause_bytes)
		return false;
	return ns_membudget_may_read(c->lim.budget, c->charged, conn_held(c));
}

/* ---- socket or TLS I/O: recv/send results and errno */

static ssize_t conn_recv(ns_ws_conn *c, void *buf, size_t len)
{
	if (c->tls)
		return ns_tls_read(c->tls, buf, len);
	return recv(c->fd, buf, len, 0);
}

/* TLS: wslay hands a frame's header (with MORE) and its payload in two calls, right after
 * each other; written apart they would make two records (and two reads at the other end). The
 * header waits in cork and goes out in the record of the payload's first bytes. That record
 * holds at most TLS_RECORD bytes, so SSL_write writes all of it or nothing (and a retry
 * rebuilds the same bytes, as OpenSSL wants). */
#define TLS_RECORD 16384
static ssize_t tls_send(ns_ws_conn *c, const uint8_t *data, size_t len, int more)
{
	if (more && c->cork_len == 0 && len <= sizeof c->cork) {
		memcpy(c->cork, data, len);
		c->cork_len = len;
		return (ssize_t)len;
	}
	if (c->cork_len == 0)
		return ns_tls_write(c->tls, data, len);
	uint8_t rec[TLS_RECORD];
	size_t take = len < sizeof rec - c->cork_len ? len : sizeof rec - c->cork_len;
	memcpy(rec, c->cork, c->cork_len);
	memcpy(rec + c->cork_len, data, take);
	ssize_t w = ns_tls_write(c->tls, rec, c->cork_len + take);
	if (w < 0)
		return w;
	if ((size_t)w < c->cork_len) { /* not expected of one record; keep the rest of the header */
		memmove(c->cork, c->cork + w, c->cork_len - (size_t)w);
		c->cork_len -= (size_t)w;
		errno = EAGAIN;
		return -1;
	}
	w -= (ssize_t)c->cork_len;
	c->cork_len = 0;
	return w > 0 ? w : ns_tls_write(c->tls, data, len);
}

static ssize_t conn_send(ns_ws_conn *c, const void *data, size_t len, int more)
{
	if (c->tls)
		return tls_send(c, data, len, more);
	return send(c->fd, data, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

/* ---- wslay callbacks */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	ns_ws_conn *c = user;
	(void)flags;
	if (c->early_off < c->early_len) {
		size_t n = c->early_len - c->early_off;
		n = n < len ? n : len;
		memcpy(buf, c->early + c->early_off, n);
		c->early_off += n;
		return (ssize_t)n;
	}
	if (c->fd < 0) {
		size_t n = c->feed_len - c->feed_off;
		if (n == 0) {
			wslay_event_set_error(ctx, c->eof ? WSLAY_ERR_CALLBACK_FAILURE : WSLAY_ERR_WOULDBLOCK);
			return -1;
		}
		n = n < len ? n : len;
		memcpy(buf, c->feed + c->feed_off, n);
		c->feed_off += n;
		return (ssize_t)n;
	}
	if (c->pump_read >= RECV_PER_PUMP || c->drained || !conn_may_read(c)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	for (;;) {
		ssize_t r = conn_recv(c, buf, len);
		if (r > 0) {
			/* less than asked from a plain socket: nothing more is there now, so no recv
			 * just to see EAGAIN (what comes later makes the socket readable again). Not
			 * over TLS: a read returns one record, and more may be buffered. */
			c->drained = !c->tls && (size_t)r < len;
			c->pump_read += (size_t)r;
			return r;
		}
		if (r == 0) {
			c->eof = true;
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		} else {
			c->sock_errno = errno;
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		}
		return -1;
	}
}

static int detached_write(ns_ws_conn *c, const uint8_t *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap > DETACHED_OUTPUT_CAP)
			return -1;
		uint8_t *p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* 1 = all of hs_out written, 0 = would block, -1 = error */
static int flush_hs_out(ns_ws_conn *c)
{
	while (c->hs_out_off < c->hs_out_len) {
		ssize_t r = conn_send(c, c->hs_out + c->hs_out_off, c->hs_out_len - c->hs_out_off, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0) {
			c->sock_errno = r < 0 ? errno : EPIPE;
			return -1;
		}
		c->hs_out_off += (size_t)r;
	}
	return 1;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
	ns_ws_conn *c = user;
	if (c->fd < 0) {
		if (detached_write(c, data, len) < 0) {
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
			return -1;
		}
		return (ssize_t)len;
	}
	int hs = flush_hs_out(c); /* the 101 answer goes out before any frame */
	if (hs <= 0) {
		wslay_event_set_error(ctx, hs == 0 ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	for (;;) {
		ssize_t r = conn_send(c, data, len, (flags & WSLAY_MSG_MORE) != 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		} else {
			c->sock_errno = errno;
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		}
		return -1;
	}
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	(void)ctx;
	(void)user;
	ns_random(buf, len);
	return 0;
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
	static const uint8_t empty[1];
	ns_ws_conn *c = user;
	const uint8_t *msg = arg->msg ? arg->msg : empty; /* never NULL for callers, even when empty */
	(void)ctx;
	if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
		c->in_msg = false;
		c->in_partial = 0;
	}
	if (c->state != ST_OPEN || c->finish_pending)
		return;
	if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
		if (c->cb.on_message)
			c->cb.on_message(c, arg->opcode == WSLAY_TEXT_FRAME ? NS_WS_TEXT : NS_WS_BINARY, msg,
			                 arg->msg_length, c->user);
	} else if (arg->opcode == WSLAY_PONG && c->cb.on_pong) {
		c->cb.on_pong(c, msg, arg->msg_length, c->user);
	}
}

/* Frame events only feed the accounting of unfinished messages (wslay still assembles them). */
static void ws_frame_start_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	ns_ws_conn *c = user;
	(void)ctx;
	c->progress = true;
	c->in_data = arg->opcode == WSLAY_CONTINUATION_FRAME || arg->opcode == WSLAY_TEXT_FRAME ||
	             arg->opcode == WSLAY_BINARY_FRAME;
	if (c->in_data)
		c->in_msg = true;
}

static void ws_frame_chunk_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	ns_ws_conn *c = user;
	(void)ctx;
	c->progress = true;
	if (c->in_data)
		c->in_partial += arg->data_length;
}

/* wslay's reader of a message queued by ns_ws_send_shared: the head of shq, at most one
 * frame's worth (wslay's buffer) at a time. */
static ssize_t ws_shared_read_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                                 const union wslay_event_msg_source *src, int *eof, void *user)
{
	ns_ws_conn *c = user;
	if (!c->shq.head || c->shq.head->buf != src->data) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)ns_outq_read(&c->shq, buf, len, eof);
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.genmask_callback = ws_genmask_cb,
	.on_frame_recv_start_callback = ws_frame_start_cb,
	.on_frame_recv_chunk_callback = ws_frame_chunk_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

static int conn_start_websocket(ns_ws_conn *c)
{
	int r = c->is_server ? wslay_event_context_server_init(&c->ws, &ws_callbacks, c)
	                     : wslay_event_context_client_init(&c->ws, &ws_callbacks, c);
	if (r != 0)
		return NS_WS_E_NOMEM;
	wslay_event_config_set_max_recv_msg_length(c->ws, c->lim.max_message_bytes);
	c->state = ST_OPEN;
	return 0;
}

/* We closed because of the peer's bad frame while it may still be sending: closing the socket now
 * would turn its unread bytes into a RST that can overtake our close frame. So half-close, read and
 * discard until the peer closes too (or close_timeout), then end. */
static void conn_start_draining(ns_ws_conn *c)
{
	c->draining = true;
	shutdown(c->fd, SHUT_WR);
	ev_io_stop(c->loop, &c->wio);
	ev_io_start(c->loop, &c->rio);
	if (!ev_is_active(&c->timer)) {
		ev_timer_set(&c->timer, c->lim.close_timeout, 0);
		ev_timer_start(c->loop, &c->timer);
	}
}

static void conn_drain(ns_ws_conn *c)
{
	uint8_t sink[RECV_CHUNK];
	for (int i = 0; i < 64; i++) {
		ssize_t r = conn_recv(c, sink, sizeof sink);
		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_finish(c, 1000, NULL); /* EOF or error: the peer is done */
		return;
	}
}

static bool set_rcvlowat(ns_ws_conn *c, int bytes)
{
	return c->fd >= 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0;
}

static void end_hold(ns_ws_conn *c)
{
	c->held = false;
	c->chained = false;
	if (c->lowat)
		set_rcvlowat(c, 1); /* the kernel signals readable at once if bytes wait */
	c->lowat = false;
}

static void release_hold(ns_ws_conn *c)
{
	end_hold(c);
	ev_timer_stop(c->loop, &c->htimer);
	if (c->cb.on_hold_end)
		c->cb.on_hold_end(c, c->user);
}

/* Runs wslay's reader and writer, then decides whether the connection is over. Must be called with
 * depth > 0 (inside conn_enter/conn_leave). */
static void conn_pump(ns_ws_conn *c)
{
	if (c->state != ST_OPEN || c->finish_pending)
		return;
	int r = 0;
	c->pump_read = 0;
	c->drained = false;
	if (wslay_event_want_read(c->ws))
		r = wslay_event_recv(c->ws);
	if (c->finish_pending)
		return;
	if (c->held && c->pump_read >= RECV_PER_PUMP)
		release_hold(c); /* more is waiting than one pump reads: no hold on a full socket */
	if (r == WSLAY_ERR_CALLBACK_FAILURE && !c->eof && !c->sock_errno) {
		/* wslay's frame parser rejected a frame header (e.g. a control frame > 125 bytes) and
		 * queued a close without status code: send it (best effort) and end */
		if (wslay_event_want_write(c->ws))
			wslay_event_send(c->ws);
		conn_finish(c, 1002, "malformed frame from the peer");
		return;
	}
	if (r != 0) {
		/* EOF or socket error: wslay queued a bare close; the peer is gone, don't wait for it */
		conn_finish(c, 1006, c->eof ? "connection closed by the peer without a close handshake"
		                             : r == WSLAY_ERR_NOMEM ? "out of memory" : "socket read error");
		return;
	}
	if (ns_ws_queued_bytes(c) > 2 * c->lim.max_queued_bytes) {
		/* only answers to its pings can grow the queue past max_queued_bytes */
		conn_finish(c, 1006, "peer sends but does not read");
		return;
	}
	if (c->fd >= 0 && c->hs_out_off < c->hs_out_len && flush_hs_out(c) < 0) {
		conn_finish(c, 1006, "socket write error");
		return;
	}
	if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
		conn_finish(c, 1006, "socket write error");
		return;
	}
	if (c->close_deferred && wslay_event_get_queued_msg_count(c->ws) == 0) {
		c->close_deferred = false;
		if (wslay_event_queue_close(c->ws, c->deferred_code, c->deferred_reason,
		                            c->deferred_reason_len) != 0 ||
		    wslay_event_send(c->ws) != 0) {
			conn_finish(c, 1006, "socket write error");
			return;
		}
	}
	if (c->refused && ns_ws_queued_bytes(c) == 0) {
		c->refused = false;
		if (c->cb.on_drain)
			c->cb.on_drain(c, c->user);
		if (c->finish_pending || c->state != ST_OPEN)
			return;
	}
	if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) {
		if (c->fd >= 0 && !wslay_event_get_close_received(c->ws))
			conn_start_draining(c);
		else
			conn_finish(c, 1000, NULL);
		return;
	}
	if (!wslay_event_get_read_enabled(c->ws) || wslay_event_get_close_sent(c->ws) || c->closing_by_us) {
		/* a close is on its way (ours or wslay's after a protocol error): bound the wait */
		if (c->loop && !ev_is_active(&c->timer)) {
			ev_timer_set(&c->timer, c->lim.close_timeout, 0);
			ev_timer_start(c->loop, &c->timer);
		}
	}
	conn_update_watchers(c);
}

/* The partial-message timer runs while a message is unfinished and restarts on progress. */
static void conn_update_partial_timer(ns_ws_conn *c)
{
	if (!(c->lim.partial_timeout > 0))
		return;
	if (!c->in_msg || c->closing_by_us || wslay_event_get_close_sent(c->ws)) {
		ev_timer_stop(c->loop, &c->ptimer);
		return;
	}
	if (c->progress || !ev_is_active(&c->ptimer))
		ev_timer_again(c->loop, &c->ptimer);
	c->progress = false;
}

/* Reading allowed? A connection stopped by the budget (not by its own unread output, which
 * only its peer can drain) looks again after BUDGET_RETRY. */
static bool conn_read_allowed(ns_ws_conn *c)
{
	if (conn_may_read(c)) {
		ev_timer_stop(c->loop, &c->btimer);
		return true;
	}
	if (c->lim.budget && !ev_is_active(&c->btimer)) {
		if (ns_membudget_may_read(c->lim.budget, c->charged, conn_held(c)))
			c->lim.budget->paused++; /* its own unread output stopped it */
		else
			ns_membudget_paused(c->lim.budget, c->charged, conn_held(c));
		ev_timer_set(&c->btimer, BUDGET_RETRY, 0.);
		ev_timer_start(c->loop, &c->btimer);
	}
	return false;
}

static void conn_update_watchers(ns_ws_conn *c)
{
	if (c->lim.budget && c->state != ST_DONE)
		ns_membudget_set(c->lim.budget, &c->charged, conn_held(c));
	if (!c->loop || c->state == ST_DONE || c->draining)
		return;
	bool want_read, want_write;
	if (c->tls_handshaking) {
		want_read = ns_tls_wants(c->tls) & NS_TLS_WANT_READ;
		want_write = ns_tls_wants(c->tls) & NS_TLS_WANT_WRITE;
	} else if (c->state == ST_HANDSHAKE) {
		/* a client without hs_out is still connecting: writability says the connect finished */
		want_write = c->hs_out_off < c->hs_out_len || (!c->is_server && c->hs_out == NULL);
		want_read = !c->close_after_hs_out && !want_write;
	} else {
		want_read = wslay_event_want_read(c->ws) && (!c->held || c->lowat) &&
		            conn_read_allowed(c);
		want_write = wslay_event_want_write(c->ws) || c->hs_out_off < c->hs_out_len;
		conn_update_partial_timer(c);
	}
	if (c->tls) {
		/* TLS may need the other direction to go on (a record to finish, a post-handshake
		 * message), and holds decrypted bytes the socket no longer signals */
		unsigned tw = ns_tls_wants(c->tls);
		bool moving = want_read || want_write;
		want_read |= moving && (tw & NS_TLS_WANT_READ);
		want_write |= moving && (tw & NS_TLS_WANT_WRITE);
		if (want_read && !c->held && ns_tls_pending(c->tls) > 0)
			ev_feed_event(c->loop, &c->rio, EV_READ);
	}
	if (want_read && !ev_is_active(&c->rio))
		ev_io_start(c->loop, &c->rio);
	else if (!want_read && ev_is_active(&c->rio))
		ev_io_stop(c->loop, &c->rio);
	if (want_write && !ev_is_active(&c->wio))
		ev_io_start(c->loop, &c->wio);
	else if (!want_write && ev_is_active(&c->wio))
		ev_io_stop(c->loop, &c->wio);
}

void ns_ws_hold_reads(ns_ws_conn *c, double seconds)
{
	if (!c || !c->loop || c->state != ST_OPEN || c->held || !(seconds > 0) ||
	    c->hold_end == HOLD_END_NO_CHAIN)
		return;
	c->held = true;
	c->chained = c->hold_end == HOLD_END_MAY_CHAIN;
	/* The socket then says readable only when a whole pump's worth waits (or at EOF or an
	 * error), so the read watcher can stay on. Stopping it instead cost a wake-up per hold:
	 * libev takes a stopped fd out of epoll only when its next event arrives. */
	c->lowat = set_rcvlowat(c, RECV_PER_PUMP);
	ev_timer_set(&c->htimer, seconds, 0.);
	ev_timer_start(c->loop, &c->htimer);
	if (c->depth == 0)
		conn_update_watchers(c);
}

bool ns_ws_holding(const ns_ws_conn *c)
{
	return c && c->held;
}

/* ---- handshake over the socket */

/* Reads what is there into hs_in. 1 = got bytes, 0 = would block, -1 = EOF/error (why set). */
static int hs_read(ns_ws_conn *c, const char **why)
{
	size_t cap = c->lim.max_handshake_bytes;
	if (c->hs_in_len >= cap)
		return 1;
	ssize_t r;
	do
		r = conn_recv(c, c->hs_in + c->hs_in_len, cap - c->hs_in_len);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		c->hs_in_len += (size_t)r;
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	c->sock_errno = r < 0 ? errno : 0;
	*why = r == 0 ? "connection closed during the handshake" : "socket read error during the handshake";
	return -1;
}

static int keep_early_bytes(ns_ws_conn *c, int head)
{
	size_t extra = c->hs_in_len - (size_t)head;
	if (extra == 0)
		return 0;
	c->early = malloc(extra);
	if (!c->early)
		return NS_WS_E_NOMEM;
	memcpy(c->early, c->hs_in + head, extra);
	c->early_len = extra;
	return 0;
}

static void server_refuse(ns_ws_conn *c, int err)
{
	const char *answer = http_error_answer(err);
	c->hs_error = err;
	free(c->hs_out);
	c->hs_out = strdup(answer);
	c->hs_out_len = c->hs_out ? strlen(answer) : 0;
	c->hs_out_off = 0;
	c->close_after_hs_out = true;
	if (!c->hs_out || flush_hs_out(c) != 0)
		conn_finish(c, 0, ns_ws_strerror(err));
	else
		conn_update_watchers(c);
}

static void server_handshake_read(ns_ws_conn *c)
{
	const char *why = NULL;
	int rr = hs_read(c, &why);
	if (rr < 0) {
		conn_finish(c, 0, why);
		return;
	}
	if (rr == 0)
		return;
	ns_ws_request req;
	int head = ns_ws_parse_request(c->hs_in, c->hs_in_len, &c->lim, &req);
	if (head == 0)
		return;
	if (head > 0 && c->server && c->server->path && strcmp(req.path, c->server->path) != 0)
		head = NS_WS_E_BAD_PATH;
	if (head < 0) {
		server_refuse(c, head);
		return;
	}
	char answer[256];
	int n = ns_ws_build_response(answer, sizeof answer, req.key);
	int err = n < 0 ? n : keep_early_bytes(c, head);
	if (err == 0 && !(c->hs_out = strdup(answer)))
		err = NS_WS_E_NOMEM;
	if (err == 0)
		err = conn_start_websocket(c);
	if (err < 0) {
		conn_finish(c, 0, ns_ws_strerror(err));
		return;
	}
	c->hs_out_len = (size_t)n;
	memcpy(c->path, req.path, sizeof c->path);
	free(c->hs_in);
	c->hs_in = NULL;
	ev_timer_stop(c->loop, &c->timer);
	if (flush_hs_out(c) < 0) {
		conn_finish(c, 0, "socket write error during the handshake");
		return;
	}
	if (c->cb.on_open)
		c->cb.on_open(c, c->user);
	conn_pump(c);
}

static void client_handshake_read(ns_ws_conn *c)
{
	const char *why = NULL;
	int rr = hs_read(c, &why);
	if (rr < 0) {
		conn_finish(c, 0, why);
		return;
	}
	if (rr == 0)
		return;
	int status = 0;
	int head = ns_ws_parse_response(c->hs_in, c->hs_in_len, &c->lim, c->accept, &status);
	if (head == 0)
		return;
	int err = head < 0 ? head : keep_early_bytes(c, head);
	if (err == 0)
		err = conn_start_websocket(c);
	if (err < 0) {
		conn_finish(c, 0, ns_ws_strerror(err));
		return;
	}
	free(c->hs_in);
	c->hs_in = NULL;
	ev_timer_stop(c->loop, &c->timer);
	if (c->cb.on_open)
		c->cb.on_open(c, c->user);
	conn_pump(c);
}

/* TLS handshake after the TCP connect; the upgrade request follows it. */
static void client_tls_step(ns_ws_conn *c)
{
	int r = ns_tls_handshake(c->tls, c->tls_why, sizeof c->tls_why);
	if (r < 0) {
		c->sock_errno = EPROTO;
		conn_finish(c, 0, c->tls_why);
		return;
	}
	if (r == 0)
		return;
	c->tls_handshaking = false;
	if (flush_hs_out(c) < 0)
		conn_finish(c, 0, "socket write error during the handshake");
}

static void client_handshake_write(ns_ws_conn *c)
{
	if (!c->hs_out) {
		/* non-blocking connect finished */
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			c->sock_errno = soerr;
			conn_finish(c, 0, "connect failed");
			return;
		}
		c->hs_out = c->hs_in; /* the request was built into hs_in while connecting */
		c->hs_in = malloc(c->lim.max_handshake_bytes);
		if (!c->hs_in) {
			conn_finish(c, 0, "out of memory");
			return;
		}
		if (c->tls) {
			c->tls_handshaking = true;
			client_tls_step(c);
			return;
		}
	}
	if (flush_hs_out(c) < 0)
		conn_finish(c, 0, "socket write error during the handshake");
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ns_ws_conn *c = w->data;
	(void)loop;
	(void)revents;
	conn_enter(c);
	if (c->state == ST_HANDSHAKE) {
		if (c->close_after_hs_out) {
			int r = flush_hs_out(c);
			if (r != 0)
				conn_finish(c, 0, r > 0 ? ns_ws_strerror(c->hs_error) : "socket write error");
		} else if (c->tls_handshaking) {
			client_tls_step(c);
		} else if (c->is_server) {
			server_handshake_read(c);
		} else if (w == &c->wio) {
			client_handshake_write(c);
		} else {
			client_handshake_read(c);
		}
		if (!c->finish_pending)
			conn_update_watchers(c);
	} else if (c->draining) {
		conn_drain(c);
	} else {
		conn_pump(c);
	}
	conn_leave(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ns_ws_conn *c = w->data;
	(void)loop;
	(void)revents;
	conn_enter(c);
	if (c->draining)
		conn_finish(c, 1000, NULL); /* our close went out; the peer just never closed */
	else
		conn_finish(c, c->state == ST_HANDSHAKE ? 0 : 1006,
		            c->state == ST_HANDSHAKE ? "handshake timed out" : "close handshake timed out");
	conn_leave(c);
}

static void conn_partial_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ns_ws_conn *c = w->data;
	(void)loop, (void)revents;
	ev_timer_stop(c->loop, w);
	conn_enter(c);
	if (ns_ws_is_open(c) && ns_ws_close(c, 1008, "message not completed in time") == 0)
		c->our_why = "an unfinished message made no progress";
	else
		conn_finish(c, 1006, "an unfinished message made no progress");
	conn_leave(c);
}

/* The hold ends: what came meanwhile is read now, then the owner hears of it (on_hold_end),
 * after the messages of that read. A hold the owner asks for during that read (a stream goes
 * on) is chained; one that then catches nothing was a wake-up for nothing (the peer sends in
 * bursts, each read whole at once), so the next HOLD_CHAIN_SKIP hold ends start none: the
 * next burst's first frame starts the hold instead. */
static void conn_hold_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ns_ws_conn *c = w->data;
	(void)loop, (void)revents;
	bool chained = c->chained;
	end_hold(c);
	conn_enter(c);
	if (c->state == ST_OPEN) {
		c->hold_end = c->chain_skip ? HOLD_END_NO_CHAIN : HOLD_END_MAY_CHAIN;
		if (c->chain_skip)
			c->chain_skip--;
		conn_pump(c);
		c->hold_end = HOLD_END_NOT;
		if (chained && c->pump_read == 0)
			c->chain_skip = HOLD_CHAIN_SKIP;
	}
	if (!c->finish_pending && c->cb.on_hold_end)
		c->cb.on_hold_end(c, c->user);
	conn_leave(c);
}

static void conn_budget_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ns_ws_conn *c = w->data;
	(void)loop, (void)revents;
	conn_update_watchers(c);
}

static ns_ws_conn *conn_new(struct ev_loop *loop, int fd, bool is_server, const ns_ws_limits *lim,
                            const ns_ws_callbacks *cb, void *user)
{
	ns_ws_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->loop = loop;
	c->fd = fd;
	c->is_server = is_server;
	c->lim = limits_or_defaults(lim);
	if (cb)
		c->cb = *cb;
	c->user = user;
	ns_outq_init(&c->shq);
	if (loop) {
		ev_io_init(&c->rio, conn_io_cb, fd, EV_READ);
		ev_io_init(&c->wio, conn_io_cb, fd, EV_WRITE);
		ev_timer_init(&c->timer, conn_timer_cb, c->lim.handshake_timeout, 0);
		ev_init(&c->ptimer, conn_partial_timer_cb);
		c->ptimer.repeat = c->lim.partial_timeout;
		ev_init(&c->btimer, conn_budget_timer_cb);
		ev_init(&c->htimer, conn_hold_timer_cb);
		c->rio.data = c->wio.data = c->timer.data = c->ptimer.data = c->btimer.data = c;
		c->htimer.data = c;
	}
	return c;
}

static void tune_socket(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ------------------------------------------------------------------ public connection API */

/* 0 if len more bytes may be queued toward the peer, else the refusal. */
static int send_check(ns_ws_conn *c, enum ns_ws_msg_type type, size_t len)
{
	if (type != NS_WS_TEXT && type != NS_WS_BINARY)
		return NS_WS_E_ARG;
	if (!ns_ws_is_open(c))
		return NS_WS_E_STATE;
	size_t queued = ns_ws_queued_bytes(c);
	if (len > c->lim.max_queued_bytes || queued > c->lim.max_queued_bytes - len) {
		c->refused = true;
		return NS_WS_E_QUEUE_FULL;
	}
	return 0;
}

/* Something was queued: a detached connection writes it out now, a real one when it can. */
static void send_kick(ns_ws_conn *c)
{
	if (c->depth == 0 && c->fd < 0) {
		conn_enter(c);
		conn_pump(c);
		conn_leave(c);
	} else {
		conn_update_watchers(c);
	}
}

int ns_ws_send(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len)
{
	int r = send_check(c, type, len);
	if (r < 0)
		return r;
	struct wslay_event_msg m = {
		.opcode = type == NS_WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
		.msg = data,
		.msg_length = len,
	};
	r = wslay_event_queue_msg(c->ws, &m);
	if (r == WSLAY_ERR_NOMEM)
		return NS_WS_E_NOMEM;
	if (r != 0)
		return NS_WS_E_STATE;
	send_kick(c);
	return 0;
}

int ns_ws_send_shared(ns_ws_conn *c, enum ns_ws_msg_type type, struct ns_shbuf *b)
{
	if (b->len == 0) /* wslay takes a fragmented message of no bytes for one not ready yet */
		return ns_ws_send(c, type, b->data, 0);
	int r = send_check(c, type, b->len);
	if (r < 0)
		return r;
	struct wslay_event_fragmented_msg m = {
		.opcode = type == NS_WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
		.source = { .data = b },
		.read_callback = ws_shared_read_cb,
	};
	if (ns_outq_push(&c->shq, NULL, 0, b) < 0)
		return NS_WS_E_NOMEM;
	r = wslay_event_queue_fragmented_msg(c->ws, &m);
	if (r != 0) {
		/* the entry just pushed has no message in wslay: this queue is out of step */
		conn_enter(c);
		conn_finish(c, 1006, "out of memory");
		conn_leave(c);
		return r == WSLAY_ERR_NOMEM ? NS_WS_E_NOMEM : NS_WS_E_STATE;
	}
	send_kick(c);
	return 0;
}

int ns_ws_ping(ns_ws_conn *c, const uint8_t *data, size_t len)
{
	if (len > 125)
		return NS_WS_E_ARG;
	if (!ns_ws_is_open(c))
		return NS_WS_E_STATE;
	struct wslay_event_msg m = { .opcode = WSLAY_PING, .msg = data, .msg_length = len };
	if (wslay_event_queue_msg(c->ws, &m) != 0)
		return NS_WS_E_STATE;
	conn_update_watchers(c);
	return 0;
}

/* The close handshake is bounded from our close on: a peer that does not read may never make
 * the socket writable, and nothing else would wake the connection up. */
static void start_close_timer(ns_ws_conn *c)
{
	if (c->loop && !ev_is_active(&c->timer)) {
		ev_timer_set(&c->timer, c->lim.close_timeout, 0);
		ev_timer_start(c->loop, &c->timer);
	}
}

/* RFC 6455 §7.4.1-2 and the IANA registry: 1012-1014 (service restart, try again later, bad
 * gateway) are registered and sent on the wire; 1004-1006 and 1015 never are. */
static bool close_code_is_sendable(uint16_t code)
{
	return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
	       (code >= 3000 && code <= 4999);
}

int ns_ws_close(ns_ws_conn *c, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	if (!close_code_is_sendable(code) || rlen > 123)
		return NS_WS_E_ARG;
	if (!ns_ws_is_open(c))
		return NS_WS_E_STATE;
	if (wslay_event_get_queued_msg_count(c->ws) > 0) {
		c->close_deferred = true;
		c->deferred_code = code;
		c->deferred_reason_len = rlen;
		if (rlen)
			memcpy(c->deferred_reason, reason, rlen);
	} else if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, rlen) != 0) {
		return NS_WS_E_STATE;
	}
	c->closing_by_us = true;
	start_close_timer(c);
	send_kick(c);
	return 0;
}

int ns_ws_close_discard(ns_ws_conn *c, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	if (!close_code_is_sendable(code) || rlen > 123)
		return NS_WS_E_ARG;
	if (!ns_ws_is_open(c))
		return NS_WS_E_STATE;
	ns_outq_clear(&c->shq);
	/* control frames go before any message not begun and between the frames of one begun */
	if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, rlen) != 0)
		return NS_WS_E_STATE;
	c->closing_by_us = true;
	start_close_timer(c);
	send_kick(c);
	return 0;
}

void ns_ws_abort(ns_ws_conn *c)
{
	if (!c || c->state == ST_DONE)
		return;
	if (c->state == ST_OPEN)
		c->closing_by_us = false;
	conn_finish(c, 1006, "aborted");
}

size_t ns_ws_queued_bytes(const ns_ws_conn *c)
{
	size_t n = c->hs_out_len - c->hs_out_off + c->shq.bytes;
	if (c->ws)
		n += wslay_event_get_queued_msg_length(c->ws);
	return n;
}

size_t ns_ws_backlog(const ns_ws_conn *c, uint64_t *oldest_shared)
{
	*oldest_shared = ns_outq_oldest_shared(&c->shq);
	return ns_ws_queued_bytes(c);
}

int ns_ws_is_open(const ns_ws_conn *c)
{
	return c && c->state == ST_OPEN && !c->finish_pending && wslay_event_get_write_enabled(c->ws) &&
	       !wslay_event_get_close_sent(c->ws) && !c->closing_by_us &&
	       wslay_event_get_read_enabled(c->ws);
}

void ns_ws_set_user(ns_ws_conn *c, void *user)
{
	c->user = user;
}

void *ns_ws_user(const ns_ws_conn *c)
{
	return c->user;
}

const char *ns_ws_path(const ns_ws_conn *c)
{
	return c->path;
}

int ns_ws_last_errno(const ns_ws_conn *c)
{
	return c->sock_errno;
}

/* ------------------------------------------------------------------ server */

static void server_refused(ns_ws_server *s, int reason)
{
	if (s->cb.on_refuse)
		s->cb.on_refuse(reason, s->user);
}

static void server_accept_one(ns_ws_server *s, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
	                           "Connection: close\r\nContent-Length: 0\r\n\r\n";
	if (s->nconns >= s->lim.max_connections) {
		/* best effort: a fresh socket's buffer takes it, else the peer sees the close */
		(void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		server_refused(s, NS_WS_REFUSED_FULL);
		return;
	}
	ns_ws_conn *c = conn_new(s->loop, fd, true, &s->lim, &s->cb, s->user);
	if (c)
		c->hs_in = malloc(c->lim.max_handshake_bytes);
	if (!c || !c->hs_in) {
		free(c);
		close(fd);
		return;
	}
	tune_socket(fd);
	c->server = s;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	ev_timer_start(s->loop, &c->timer);
	ev_io_start(s->loop, &c->rio);
}

static void server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ns_ws_server *s = w->data;
	(void)loop;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* the listener stays readable: watching it now would spin; look again later */
			ev_io_stop(s->loop, &s->lio);
			ev_timer_start(s->loop, &s->retry);
			server_refused(s, NS_WS_REFUSED_NO_FD);
			return;
		}
		if (fd < 0)
			return; /* EAGAIN, or a transient error (ECONNABORTED): try on the next event */
		server_accept_one(s, fd);
	}
}

static void server_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ns_ws_server *s = w->data;
	(void)revents;
	ev_io_start(loop, &s->lio);
}

typedef union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
} sockaddr_any;

static int make_sockaddr(const char *ip, uint16_t port, sockaddr_any *sa, socklen_t *len)
{
	memset(sa, 0, sizeof *sa);
	if (inet_pton(AF_INET, ip, &sa->in4.sin_addr) == 1) {
		sa->in4.sin_family = AF_INET;
		sa->in4.sin_port = htons(port);
		*len = sizeof sa->in4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_port = htons(port);
		*len = sizeof sa->in6;
		return 0;
	}
	return NS_WS_E_ARG;
}

static int listen_socket(const char *ip, uint16_t port, uint16_t *bound_port)
{
	sockaddr_any sa;
	socklen_t len;
	if (make_sockaddr(ip, port, &sa, &len) < 0)
		return NS_WS_E_ARG;
	int fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NS_WS_E_SOCKET;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, &sa.sa, len) < 0 || listen(fd, 128) < 0 || getsockname(fd, &sa.sa, &len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NS_WS_E_SOCKET;
	}
	*bound_port = ntohs(sa.sa.sa_family == AF_INET ? sa.in4.sin_port : sa.in6.sin6_port);
	return fd;
}

ns_ws_server *ns_ws_server_listen(struct ev_loop *loop, const char *ip, uint16_t port, const char *path,
                                  const ns_ws_limits *limits, const ns_ws_callbacks *cb, void *user,
                                  int *err)
{
	int e = 0;
	ns_ws_server *s = calloc(1, sizeof *s);
	if (!s || (path && !(s->path = strdup(path))))
		e = NS_WS_E_NOMEM;
	if (!e && path && (path[0] != '/' || strlen(path) >= NS_WS_MAX_PATH))
		e = NS_WS_E_ARG;
	if (!e) {
		s->fd = listen_socket(ip, port, &s->port);
		if (s->fd < 0)
			e = s->fd;
	}
	if (e) {
		if (s)
			free(s->path);
		free(s);
		if (err)
			*err = e;
		return NULL;
	}
	s->loop = loop;
	s->lim = limits_or_defaults(limits);
	if (cb)
		s->cb = *cb;
	s->user = user;
	ev_io_init(&s->lio, server_accept_cb, s->fd, EV_READ);
	ev_timer_init(&s->retry, server_retry_cb, ACCEPT_RETRY, 0.);
	s->lio.data = s->retry.data = s;
	ev_io_start(loop, &s->lio);
	return s;
}

uint16_t ns_ws_server_port(const ns_ws_server *s)
{
	return s->port;
}

size_t ns_ws_server_connections(const ns_ws_server *s)
{
	return s->nconns;
}

void ns_ws_server_set_max_connections(ns_ws_server *s, size_t n)
{
	s->lim.max_connections = n;
}

void ns_ws_server_free(ns_ws_server *s)
{
	if (!s)
		return;
	ev_io_stop(s->loop, &s->lio);
	ev_timer_stop(s->loop, &s->retry);
	close(s->fd);
	while (s->conns) {
		ns_ws_conn *c = s->conns;
		server_unlink(c); /* in case it is mid-callback and only marked for finishing */
		c->closing_by_us = false;
		conn_finish(c, 1006, "server shut down");
	}
	free(s->path);
	free(s);
}

/* ------------------------------------------------------------------ client */

typedef struct ws_url {
	char host[NS_WS_MAX_HOST + 3]; /* as written, for the Host header: "1.2.3.4", "[::1]", "name" */
	char name[NS_WS_MAX_HOST + 1]; /* the host without brackets: IP literal or DNS name */
	char ip[64];                   /* the address connected to (name resolved) */
	bool tls;
	uint16_t port;
	char path[NS_WS_MAX_PATH];
} ws_url;

static struct ns_tls_ctx *g_client_tls;

void ns_ws_set_client_tls(struct ns_tls_ctx *ctx)
{
	g_client_tls = ctx;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return NS_WS_E_URL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return NS_WS_E_URL;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return NS_WS_E_URL;
	*port = (uint16_t)v;
	return 0;
}

/* A host name as RFC 1123 allows (letters, digits, '-', dots between labels). */
static bool is_dns_name(const char *h, size_t n)
{
	if (n == 0 || n > NS_WS_MAX_HOST || h[0] == '.' || h[0] == '-' || h[n - 1] == '-')
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || (ch >= '0' && ch <= '9') ||
		           ch == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int parse_ws_url(const char *url, ws_url *u);

int ns_ws_parse_url(const char *url, ns_ws_url *out)
{
	ws_url u;
	int rc = parse_ws_url(url, &u);
	if (rc == 0) {
		memset(out, 0, sizeof *out);
		snprintf(out->host, sizeof out->host, "%s", u.name);
		out->port = u.port;
		out->tls = u.tls;
		snprintf(out->path, sizeof out->path, "%s", u.path);
	}
	return rc;
}

static int parse_ws_url(const char *url, ws_url *u)
{
	memset(u, 0, sizeof *u);
	size_t skip = !strncmp(url, "ws://", 5) ? 5 : !strncmp(url, "wss://", 6) ? 6 : 0;
	if (!skip)
		return NS_WS_E_URL;
	u->tls = skip == 6;
	const char *auth = url + skip;
	size_t auth_len = strcspn(auth, "/?#");
	const char *path = auth[auth_len] == '/' ? auth + auth_len : auth[auth_len] ? NULL : "/";
	if (!path || strlen(path) >= sizeof u->path || strpbrk(path, " \t\r\n#") ||
	    memchr(auth, '@', auth_len))
		return NS_WS_E_URL;
	strcpy(u->path, path);
	const char *hend;
	if (auth_len && auth[0] == '[') {
		hend = memchr(auth, ']', auth_len);
		if (!hend)
			return NS_WS_E_URL;
		size_t iplen = (size_t)(hend - auth - 1);
		if (iplen == 0 || iplen >= sizeof u->ip)
			return NS_WS_E_URL;
		memcpy(u->name, auth + 1, iplen);
		struct in6_addr a6;
		if (inet_pton(AF_INET6, u->name, &a6) != 1)
			return NS_WS_E_URL;
		hend++;
	} else {
		hend = memchr(auth, ':', auth_len);
		if (!hend)
			hend = auth + auth_len;
		size_t nlen = (size_t)(hend - auth);
		if (!is_dns_name(auth, nlen))
			return NS_WS_E_URL;
		memcpy(u->name, auth, nlen);
	}
	size_t hostlen = (size_t)(hend - auth);
	if (hostlen >= sizeof u->host)
		return NS_WS_E_URL;
	memcpy(u->host, auth, hostlen);
	u->port = u->tls ? 443 : 80;
	if (hend < auth + auth_len) {
		if (*hend != ':')
			return NS_WS_E_URL;
		const char *port = hend + 1;
		if (parse_port(port, (size_t)(auth + auth_len - port), &u->port) < 0)
			return NS_WS_E_URL;
	}
	return 0;
}

/* u->ip: the name itself when it is an IP literal, else its first IPv4 address (the first
 * IPv6 one if it has none) from getaddrinfo, which blocks. */
static int resolve_url(ws_url *u)
{
	sockaddr_any sa;
	socklen_t len;
	if (make_sockaddr(u->name, u->port, &sa, &len) == 0) {
		size_t n = strlen(u->name); /* an IP literal: shorter than INET6_ADDRSTRLEN */
		if (n >= sizeof u->ip)
			return NS_WS_E_URL;
		memcpy(u->ip, u->name, n + 1);
		return 0;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(u->name, NULL, &hints, &res) != 0)
		return NS_WS_E_RESOLVE;
	const struct addrinfo *pick = NULL;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || (ai->ai_family == AF_INET6 && !pick))
			if (!pick || pick->ai_family != AF_INET)
				pick = ai;
	const void *addr = !pick ? NULL
	                   : pick->ai_family == AF_INET
	                   ? (const void *)&((const struct sockaddr_in *)pick->ai_addr)->sin_addr
	                   : (const void *)&((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr;
	int ok = addr && inet_ntop(pick->ai_family, addr, u->ip, sizeof u->ip);
	freeaddrinfo(res);
	return ok ? 0 : NS_WS_E_RESOLVE;
}

static void random_key(char key[NS_WS_KEY_LEN + 1])
{
	uint8_t raw[16];
	ns_random(raw, sizeof raw);
	sodium_bin2base64(key, NS_WS_KEY_LEN + 1, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
}

static int client_prepare(ns_ws_conn *c, const ws_url *u)
{
	char key[NS_WS_KEY_LEN + 1];
	random_key(key);
	if (ns_ws_accept_key(key, NS_WS_KEY_LEN, c->accept) < 0)
		return NS_WS_E_ARG;
	size_t cap = strlen(u->path) + 256;
	c->hs_in = malloc(cap); /* holds the request until the connect completes */
	if (!c->hs_in)
		return NS_WS_E_NOMEM;
	int n = ns_ws_build_request(c->hs_in, cap, u->host, u->port, u->path, key);
	if (n < 0)
		return n;
	c->hs_out_len = (size_t)n;
	memcpy(c->path, u->path, sizeof c->path);
	return 0;
}

ns_ws_conn *ns_ws_connect(struct ev_loop *loop, const char *url, const ns_ws_limits *limits,
                          const ns_ws_callbacks *cb, void *user, int *err)
{
	ws_url u;
	sockaddr_any sa;
	socklen_t salen;
	int e = parse_ws_url(url, &u);
	if (e == 0 && u.tls && !g_client_tls)
		e = NS_WS_E_TLS;
	if (e == 0)
		e = resolve_url(&u);
	if (e == 0)
		e = make_sockaddr(u.ip, u.port, &sa, &salen);
	int fd = e ? -1 : socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!e && fd < 0)
		e = NS_WS_E_SOCKET;
	ns_ws_conn *c = e ? NULL : conn_new(loop, fd, false, limits, cb, user);
	if (!e && !c)
		e = NS_WS_E_NOMEM;
	if (!e)
		e = client_prepare(c, &u);
	if (!e && u.tls && !(c->tls = ns_tls_new(g_client_tls, fd, u.name, c->tls_why, sizeof c->tls_why)))
		e = NS_WS_E_TLS;
	if (!e && connect(fd, &sa.sa, salen) < 0 && errno != EINPROGRESS)
		e = NS_WS_E_SOCKET;
	if (e) {
		if (c)
			conn_free_resources(c);
		else if (fd >= 0)
			close(fd);
		free(c);
		if (err)
			*err = e;
		return NULL;
	}
	tune_socket(fd);
	ev_timer_start(loop, &c->timer);
	ev_io_start(loop, &c->wio);
	return c;
}

/* ------------------------------------------------------------------ detached */

ns_ws_conn *ns_ws_detached_new(int is_server, const ns_ws_limits *limits, const ns_ws_callbacks *cb,
                               void *user)
{
	ns_ws_conn *c = conn_new(NULL, -1, is_server != 0, limits, cb, user);
	if (!c)
		return NULL;
	if (conn_start_websocket(c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

int ns_ws_feed(ns_ws_conn *c, const uint8_t *data, size_t len)
{
	if (c->state == ST_DONE)
		return 1;
	c->feed = data;
	c->feed_len = len;
	c->feed_off = 0;
	conn_enter(c);
	conn_pump(c);
	conn_leave(c);
	c->feed = NULL;
	c->feed_len = c->feed_off = 0;
	return c->state == ST_DONE;
}

void ns_ws_feed_eof(ns_ws_conn *c)
{
	if (c->state == ST_DONE)
		return;
	c->eof = true;
	conn_enter(c);
	conn_pump(c);
	conn_finish(c, 1006, "connection closed by the peer without a close handshake");
	conn_leave(c);
}

const uint8_t *ns_ws_detached_output(const ns_ws_conn *c, size_t *len)
{
	*len = c->out_len;
	return c->out;
}

void ns_ws_detached_clear_output(ns_ws_conn *c)
{
	c->out_len = 0;
}

void ns_ws_detached_free(ns_ws_conn *c)
{
	if (!c)
		return;
	if (c->state != ST_DONE) {
		c->depth = 0;
		conn_finish(c, 1006, "freed");
	}
	conn_free_resources(c);
	free(c->out);
	free(c);
}
