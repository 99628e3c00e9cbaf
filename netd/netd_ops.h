/* netd's logic without the process (netd_ops.c): the gateway session (common/gwclient) whose
 * secret steps are IPC round trips to keyd, the sealed-frame queue with its ack timers and
 * retransmission requests, Poisson and loop-cover timing (common/traffic), the topology from
 * the nym-api (common/nymapi_fetch) handed to keyd and refreshed, STATS / STATUS. It is fed
 * decoded IPC messages, timer expiries, websocket events and HTTP answers, and acts only
 * through the host below: the native netd (netd.c: libev, the socketpairs, websocket.c and
 * tls.c, libcurl, the sandbox) and the browser's net Worker (wasm/c/nsw_netd.c: WebSocket,
 * fetch, setTimeout). It holds no secret: only sealed frames and public data pass. */
#ifndef NETD_OPS_H
#define NETD_OPS_H
#include <stddef.h>
#include <stdint.h>

#include "clientconf.h"
#include "ipc_host.h"
#include "nymapi.h"
#include "nymapi_fetch.h"

struct netd_ops;

/* The host timers (ns_ipc_host.timer_start ids). */
enum netd_timer {
	NETD_TIMER_TRAFFIC = 1,   /* the traffic engine's next deadline (one-shot) */
	NETD_TIMER_POOL = 2,      /* every 1 s: cover pools, the minute summary */
	NETD_TIMER_TOPOLOGY = 3,  /* every topology_refresh_rate */
	NETD_TIMER_FLUSH = 4,     /* after 0: FRAMES_SENT once the events of this turn are done
	                             (natively: before the loop sleeps) */
	NETD_TIMER_GW_BASE = 8,   /* + enum ns_gwc_timer: the gateway session's */
	NETD_TIMER_LIMIT = 11,
};

struct netd_host {
	struct ns_ipc_host ipc;         /* keyd, apid (the front), the supervisor; timers */
	uint64_t (*now_ns)(void *ctx);  /* monotonic */
	/* The gateway websocket: at most one at a time, named by conn (never 0). ws_open returns 0
	 * (events follow through netd_ops_ws_*) or -1 with why; after ws_close no event of that
	 * conn may follow. */
	int (*ws_open)(void *ctx, unsigned conn, const char *url, char *why, size_t whycap);
	int (*ws_send)(void *ctx, unsigned conn, int binary, const uint8_t *data, size_t len);
	int (*ws_ping)(void *ctx, unsigned conn);
	void (*ws_close)(void *ctx, unsigned conn, int graceful);
	/* Optional: leave the socket unread for s seconds (receive batching). */
	void (*ws_hold_reads)(void *ctx, unsigned conn, double s);
	/* One GET at a time; 0 (the answer comes through netd_ops_http_response with req) or -1
	 * with err (nothing follows). */
	int (*http_get)(void *ctx, unsigned req, const char *url, char *err, size_t errcap);
	/* Optional: the session's state changed ("topology", "connecting", ..., "ready",
	 * "failed": the gateway session or the first topology failed for good; detail says why). */
	void (*state)(void *ctx, const char *name, const char *detail);
	void *ctx;
};

struct netd_ops_config {
	const struct clientconf *conf; /* kept: debug settings, nym-api URLs, receive batching */
	uint8_t gateway_identity[32];
	const char *gateway_url;       /* ws:// or wss:// (copied) */
	int registered;                /* keyd holds a shared key: authenticate, else register */
	int fixed_topology;            /* --custom-mixnet: never refreshed */
	/* the traffic engine's table sizes, lowered by a host that needs less (0: the defaults,
	 * 131072 frames awaiting an ack and 4096 lanes) */
	size_t max_pending_acks, max_lanes;
};

/* NULL: bad config or no memory. host is copied. */
struct netd_ops *netd_ops_new(const struct netd_ops_config *c, const struct netd_host *host);
/* The nym-api URLs the fetches use (the host may fetch the first topology with them). */
struct ns_apis *netd_ops_apis(struct netd_ops *n);
/* The key-rotation info: keyd drops reply SURBs the nodes can no longer open. */
void netd_ops_surb_cutoff(struct netd_ops *n, const struct ns_nymapi_keyrot *kr);
/* A topology for keyd (the first one natively, fetched before the sandbox): 0, or -1 when it
 * has too many nodes or lacks our gateway (logged). */
int netd_ops_set_topology(struct netd_ops *n, const struct ns_topo *t);
size_t netd_ops_topology_nodes(const struct netd_ops *n);
/* Starts the gateway session, the traffic engine and the timers; with no topology set yet,
 * first fetches the key-rotation info and the topology through the host (the browser). 0, or
 * -1 (no memory). */
int netd_ops_start(struct netd_ops *n);
/* A message from keyd, apid or the supervisor (a BATCH's one by one). 0, or -1 when it cannot
 * go on (netd_ops_error: out of memory). SHUTDOWN is the host's. */
int netd_ops_deliver(struct netd_ops *n, enum ns_ipc_role from, const struct ns_ipc_msg *m);
int netd_ops_handles(uint64_t type);
const char *netd_ops_error(const struct netd_ops *n);
void netd_ops_timer(struct netd_ops *n, unsigned id);
/* The gateway websocket's events; those of a conn that is not the current one are ignored. */
void netd_ops_ws_open(struct netd_ops *n, unsigned conn);
void netd_ops_ws_message(struct netd_ops *n, unsigned conn, int binary, const uint8_t *data,
                         size_t len);
void netd_ops_ws_pong(struct netd_ops *n, unsigned conn);
void netd_ops_ws_closed(struct netd_ops *n, unsigned conn, int code, const char *why);
/* The answer to GET req: status (0: no answer, err says why) and the body. */
void netd_ops_http_response(struct netd_ops *n, unsigned req, unsigned status, const char *body,
                            size_t len, const char *err);
/* Closes the gateway connection and stops every timer (queued frames are dropped at free). */
void netd_ops_stop(struct netd_ops *n);
void netd_ops_free(struct netd_ops *n);

#endif
