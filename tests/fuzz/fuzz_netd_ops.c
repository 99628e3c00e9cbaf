/* What netd's operations (netd/netd_ops.c) take from outside, in any order: the gateway's
 * websocket messages (text and binary), answers to its nym-api GETs, IPC datagrams from keyd,
 * the front and the supervisor (decoded as netd decodes them, a BATCH message by message),
 * websocket opens and closes, and time passing (its timers fire). The core starts as in the
 * browser: key rotation and topology fetched through the host, then the gateway session.
 * Input: records of kind (1 byte) || length (2 bytes BE) || bytes. Properties: nothing crashes
 * or leaks; every message the core sends is one netd may send to that peer and encodes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientconf.h"
#include "ipc_codec.h"
#include "log.h"
#include "netd_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct {
	uint64_t now;
	uint64_t timer_at[NETD_TIMER_LIMIT], repeat[NETD_TIMER_LIMIT];
	unsigned conn, http_req;
} F;

static int f_send(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	(void)ctx;
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	size_t len = 0;
	CHECK(ns_ipc_accepts(peer, NS_IPC_NETD, m->type) == 0);
	CHECK(ns_ipc_encode(m, buf, sizeof buf, &len) == 0);
	return 0;
}

static void f_timer_start(void *ctx, unsigned id, uint64_t after, uint64_t repeat)
{
	(void)ctx;
	CHECK(id < NETD_TIMER_LIMIT);
	F.timer_at[id] = F.now + after + 1;
	F.repeat[id] = repeat;
}

static void f_timer_stop(void *ctx, unsigned id)
{
	(void)ctx;
	CHECK(id < NETD_TIMER_LIMIT);
	F.timer_at[id] = 0;
}

static uint64_t f_now(void *ctx) { (void)ctx; return F.now; }

static int f_ws_open(void *ctx, unsigned conn, const char *url, char *why, size_t cap)
{
	(void)ctx, (void)url, (void)why, (void)cap;
	F.conn = conn;
	return 0;
}

static int f_ws_send(void *ctx, unsigned conn, int binary, const uint8_t *d, size_t len)
{
	(void)ctx, (void)conn, (void)binary, (void)d, (void)len;
	return 0;
}

static int f_ws_ping(void *ctx, unsigned conn) { (void)ctx, (void)conn; return 0; }
static void f_ws_close(void *ctx, unsigned conn, int graceful) { (void)ctx, (void)conn, (void)graceful; }

static int f_http_get(void *ctx, unsigned req, const char *url, char *err, size_t cap)
{
	(void)ctx, (void)url, (void)err, (void)cap;
	F.http_req = req;
	return 0;
}

static const struct netd_host host = {
	.ipc = { .send = f_send, .timer_start = f_timer_start, .timer_stop = f_timer_stop },
	.now_ns = f_now, .ws_open = f_ws_open, .ws_send = f_ws_send, .ws_ping = f_ws_ping,
	.ws_close = f_ws_close, .http_get = f_http_get,
};

static void advance(struct netd_ops *n, uint64_t ns)
{
	F.now += ns;
	for (unsigned id = 0; id < NETD_TIMER_LIMIT; id++)
		if (F.timer_at[id] && F.timer_at[id] <= F.now + 1) {
			F.timer_at[id] = F.repeat[id] ? F.now + F.repeat[id] + 1 : 0;
			netd_ops_timer(n, id);
		}
}

/* As the hosts do: SHUTDOWN is theirs, a type netd does not take is a refused datagram. */
static int netd_handles_or_skip(struct netd_ops *n, enum ns_ipc_role from,
                                const struct ns_ipc_msg *m)
{
	if (!netd_ops_handles(m->type))
		return 0;
	return netd_ops_deliver(n, from, m);
}

static int feed_ipc(struct netd_ops *n, enum ns_ipc_role from, const uint8_t *d, size_t len)
{
	struct ns_ipc_msg m, in;
	size_t off = 0;
	if (ns_ipc_decode(NS_IPC_NETD, from, d, len, &m) != 0)
		return 0;
	if (m.type != NS_IPC_T_BATCH)
		return netd_handles_or_skip(n, from, &m);
	while (ns_ipc_batch_next(NS_IPC_NETD, from, &m, &off, &in) == 1)
		if (netd_handles_or_skip(n, from, &in) < 0)
			return -1;
	return 0;
}

static void silent(const char *line, void *ctx)
{
	(void)line, (void)ctx;
}

static struct netd_ops *new_core(struct clientconf *conf)
{
	memset(&F, 0, sizeof F);
	F.now = 1000000000ull;
	memset(conf, 0, sizeof *conf);
	clientconf_debug_defaults(&conf->debug);
	snprintf(conf->nym_api_urls[0], CLIENTCONF_URL_MAX, "http://127.0.0.1:8000");
	conf->n_nym_api_urls = 1;
	/* small traffic tables: each input makes a core, and ASan touches all of a table's pages
	 * (the defaults cost 9 MB and held the target at ~250 runs/s); the bounds are hit sooner */
	struct netd_ops_config c = { .conf = conf, .gateway_url = "ws://127.0.0.1:9000",
		                     .registered = 1, .max_pending_acks = 1024, .max_lanes = 64 };
	memset(c.gateway_identity, 0x13, 32);
	return netd_ops_new(&c, &host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clientconf conf;
	ns_log_set_sink(silent, NULL);
	struct netd_ops *n = new_core(&conf);
	CHECK(n != NULL);
	CHECK(netd_ops_start(n) == 0);
	static const enum ns_ipc_role from[3] = { NS_IPC_KEYD, NS_IPC_APID, NS_IPC_SUPERVISOR };
	for (size_t at = 0; at + 3 <= size;) {
		unsigned kind = data[at];
		size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
		at += 3;
		if (len > size - at)
			len = size - at;
		const uint8_t *d = data + at;
		at += len;
		switch (kind % 8) {
		case 0: netd_ops_ws_message(n, F.conn, 0, d, len); break;
		case 1: netd_ops_ws_message(n, F.conn, 1, d, len); break;
		case 2: netd_ops_http_response(n, F.http_req, kind & 0x80 ? 200 : 500, (const char *)d, len, NULL); break;
		case 3: if (feed_ipc(n, from[(kind >> 3) % 3], d, len) < 0) goto out; break;
		case 4: netd_ops_ws_open(n, F.conn); break;
		case 5: netd_ops_ws_closed(n, F.conn, 1006, "fuzz"); break;
		case 6: advance(n, (uint64_t)(len ? d[0] : 1) * 100000000ull); break;
		default: netd_ops_ws_pong(n, F.conn); break;
		}
	}
out:
	netd_ops_stop(n);
	netd_ops_free(n);
	return 0;
}
