/* exitd: the network requester's front. It answers the NR protocol (common/proxy/nr_proto.h)
 * that arrives through the client engine and opens the outbound TCP connections strangers ask
 * for, after the exit policy and the special-address guard passed on the very addresses it
 * connects to. Holds no key. Files: exitd.c (start, engine, policy, replies, counters),
 * exitd_req.c (requests), exitd_conn.c (connections), exitd_resolve.c (resolver thread),
 * exitd_admin.c (its part of nymctl's answers). */
#ifndef NS_EXITD_H
#define NS_EXITD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/exit_policy.h"
#include "proxy/nr_proto.h"

struct cJSON;
struct ev_loop;
struct clientconf;
struct nc_admin_front;

/* Where a connection's responses go: the Connect's return address, else its sender tag. */
struct xd_route {
	bool by_tag;
	uint8_t addr[NR_RETURN_ADDRESS_LEN];
	uint8_t tag[16];
};

/* Bounds a stranger cannot pass ([nymsuite] keys of the NR config). */
struct xd_limits {
	size_t max_conns, max_per_sender, max_pending;
	size_t total_bytes, conn_bytes, pending_sends;
	size_t conn_unacked, total_unacked; /* fragments sent to clients, not yet acknowledged */
};

struct xd_counters {
	uint64_t requests, malformed, connects, connections_opened, connect_failed;
	uint64_t refused_policy, refused_bounds, resolve_failed, sends_early, sends_dropped;
	uint64_t bytes_to_remote, bytes_from_remote, control_answered, query_answered;
	uint64_t generic_without_tag;
	uint64_t requests_legacy_interface, connects_legacy_socks5; /* the legacy framing */
};

/* exitd.c */
extern struct xd_counters xd_count;
extern struct xd_limits xd_lim;
struct ev_loop *xd_loop(void);
const struct ns_exit_policy *xd_policy(void);
const struct clientconf *xd_conf(void);
/* The upstream URL the policy came from, or "". */
const char *xd_policy_upstream(void);
/* resp encoded and sent along route on lane (a connection id c travels on c + 1). 0 or -1. */
int xd_respond(const struct xd_route *route, const struct nr_response *resp, uint64_t lane);
size_t xd_lane_depth(uint64_t lane);   /* fragments queued, not yet sent */
size_t xd_lane_unacked(uint64_t lane); /* not yet acknowledged */
size_t xd_unacked(void);               /* all lanes */
void xd_close_lane(uint64_t lane);
/* A log line at most every 10 s per kind (the others counted and named in the next). */
enum xd_limited {
	XD_LOG_BOUNDS,
	XD_LOG_POLICY,
	XD_LOG_MALFORMED,
	XD_LOG_NO_TAG,
	XD_LOG_SEND,
	XD_LOG_KINDS
};
void xd_log_limited(enum xd_limited kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* exitd_admin.c: exitd's counters (for STATS) and its part of nymctl's answers (the shared
 * admin socket, client/suite/admin.h). */
struct xd_counter {
	const char *name;
	uint64_t value;
};
#define XD_N_COUNTERS 19
void xd_counters(struct xd_counter out[XD_N_COUNTERS]);
extern const struct nc_admin_front xd_admin_front;

/* exitd_req.c: one message from the mixnet (sender_tag NULL when it came plain). */
void xd_on_message(const uint8_t *msg, size_t len, const uint8_t *sender_tag);

/* exitd_conn.c: before confinement (the loop, the resolver's eventfd), then after it (the
 * resolver thread). 0 or -1 (logged). */
int xd_conns_init(struct ev_loop *loop);
int xd_conns_start(void);
/* A Connect: bounds, then resolution (exitd_resolve.c), policy, connect. */
void xd_conn_connect(const struct nr_versions *v, uint64_t conn_id, const struct xd_route *route,
                     const uint8_t *addr, size_t addr_len);
/* A Send: into the connection's ordered buffer (or queued for its Connect). */
void xd_conn_send(uint64_t conn_id, bool closed, uint64_t seq, const uint8_t *data, size_t len);
size_t xd_conns_open(void);
/* Fragments of the lane went out: a connection paused on it may read on. */
void xd_conn_lane_sent(uint64_t lane);
size_t xd_bytes_buffered(void);
/* Each connection (pending, resolving, connecting, open) as an object of list, named by its
 * id: target, state, bytes each way, age, lane depth. */
void xd_conns_describe(struct cJSON *list);

/* exitd_resolve.c: one thread running getaddrinfo, started after confinement (it inherits
 * the filter and the Landlock domain). */
#define XD_RESOLVE_MAX_ADDRS 16
struct xd_resolved {
	uint64_t conn_id, token;
	int gai_err; /* 0, or getaddrinfo's error (EAI_NONAME for never-resolving names) */
	size_t n;
	struct sockaddr_storage addr[XD_RESOLVE_MAX_ADDRS];
};
typedef void (*xd_resolved_fn)(const struct xd_resolved *r);
/* Before confinement: the eventfd answers come back on. Then, confined, the thread. */
int xd_resolver_prepare(struct ev_loop *loop, xd_resolved_fn done, char *err, size_t errcap);
int xd_resolver_start(char *err, size_t errcap);
/* Queues a look-up of host (port only fills the answers). 0, or -1 when the queue is full. */
int xd_resolve(uint64_t conn_id, uint64_t token, const char *host, uint16_t port);
/* The thread's id (tests compare its /proc status with the main thread's). */
long xd_resolver_tid(void);

#endif
