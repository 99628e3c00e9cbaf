/* Node I/O layer shared by nym-mixnode and nym-gateway (the gateway's mix side):
 *
 *   - ns_listener: accepts node-to-node TCP connections on a libev loop and decodes
 *     NymCodec frames (nymsphinx/framing.h); one callback per decoded frame. A bad frame
 *     closes only that connection (gateway.md §3.1 "any decode error closes the inbound
 *     connection"); the callback names the peer and the reason.
 *   - ns_peers: outbound persistent TCP connections, one per next-hop socket address,
 *     reused for every packet; reconnect with backoff; a bounded frame queue per peer
 *     (Nym defaults: connect timeout 1.5 s, after n >= 1 counted failures wait
 *     min(10 s * 2^n, 300 s), 2000 queued frames per destination).
 *   - ns_delayq: packets held until a deadline (one ev_timer over a min-heap).
 *   - ns_replay_set: bounded exact set of 32-byte sphinx replay tags (one per key epoch),
 *     safe to share between threads.
 *   - ns_keyring: sphinx processing with key choice by the frame's rotation tag and
 *     replay protection (gateway.md §3.5 steps 1-2).
 *   - ns_hop_filter: forward only to node addresses of the topology (gateway.md §2.1).
 *   - ns_stats: named counters written as one JSON object to the stats file every second.
 *   - ns_signals: SIGTERM / SIGINT stop the loop; SIGPIPE ignored.
 *
 * Every function returns 0 / a count on success or a negative code (NS_NODE_ERR_* or, where
 * said, a nym_frame_err / sphinx_err). Nothing here prints; programs log through callbacks. */
#ifndef NS_NODE_H
#define NS_NODE_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nymsphinx/address.h"
#include "nymsphinx/framing.h"
#include "sphinx/sphinx.h"
#include "topology_json.h"

enum ns_node_err {
	NS_NODE_ERR_ARG = -100,         /* NULL / out of range argument */
	NS_NODE_ERR_NOMEM = -101,
	NS_NODE_ERR_FULL = -102,        /* a bounded queue / set is full: item dropped */
	NS_NODE_ERR_ADDR = -103,        /* address malformed, not loopback, or not in the topology */
	NS_NODE_ERR_IO = -104,          /* socket error (errno kept where it says) */
	NS_NODE_ERR_REPLAY = -105,      /* replay tag already seen in this key epoch */
	NS_NODE_ERR_EXPIRED_KEY = -106, /* rotation parity names a key this node does not have */
	NS_NODE_ERR_PACKET_TYPE = -107, /* packet type not sphinx (Outfox is not processed) */
	NS_NODE_ERR_LIMIT = -108,       /* too many connections */
};

/* Text for an NS_NODE_ERR_* code ("?" for others). */
const char *ns_node_strerror(int err);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ns_node_now_ns(void);

/* Creates path (content "ready\n") atomically. 0 or -1. */
int ns_node_write_ready(const char *path);

/* Text for a nym_frame_err (falls back to ns_node_strerror). */
const char *ns_frame_strerror(int err);
/* sockaddr of a node address. 0 or NS_NODE_ERR_ADDR / NS_NODE_ERR_ARG. */
int ns_node_address_sockaddr(const struct nym_node_address *a, struct sockaddr_storage *ss,
                             socklen_t *len);
/* 1 if a is 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
int ns_node_address_is_loopback(const struct nym_node_address *a);
/* "ip:port" / "[v6]:port" of an AF_INET / AF_INET6 sockaddr ("?" otherwise). */
void ns_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap);

/* ---------------------------------------------------------------- delay queue */

struct ns_delayq;
/* Called once for each item whose deadline has passed, earliest first (FIFO among equal
 * deadlines). The callback owns data from then on. */
typedef void (*ns_delayq_fire_fn)(void *ctx, void *data);

/* loop may be NULL: then no timer runs and items leave only through ns_delayq_pop_due
 * (tests). cap > 0 bounds the number of held items. NULL on bad arguments / OOM. */
struct ns_delayq *ns_delayq_new(struct ev_loop *loop, size_t cap, ns_delayq_fire_fn fire, void *ctx);
/* Holds data until due_ns (ns_node_now_ns() clock). A deadline already passed fires on the
 * next loop iteration, never inside this call. 0 or NS_NODE_ERR_FULL (data not taken). */
int ns_delayq_push(struct ns_delayq *q, uint64_t due_ns, void *data);
/* Removes the earliest item if due_ns <= now_ns: 1 with *data set, else 0. */
int ns_delayq_pop_due(struct ns_delayq *q, uint64_t now_ns, void **data);
/* Earliest deadline: 1 with *due_ns set, 0 if empty. */
int ns_delayq_peek(const struct ns_delayq *q, uint64_t *due_ns);
size_t ns_delayq_len(const struct ns_delayq *q);
/* Stops the timer; free_data (may be NULL) is called on every item still held. */
void ns_delayq_free(struct ns_delayq *q, void (*free_data)(void *data));

/* ---------------------------------------------------------------- replay set */

struct ns_replay_set;
enum ns_replay_result { NS_REPLAY_NEW = 0, NS_REPLAY_SEEN = 1 };

/* Exact set of up to cap tags (cap > 0), in 16 shards picked by the tag's first byte, each
 * with its own lock; cap bounds all shards together. Buckets come from a keyed hash with a
 * random key per shard, so senders cannot aim collisions. Every call but _free may run from
 * several threads at once: of two inserts of one tag, exactly one returns NS_REPLAY_NEW.
 * NULL on bad arguments / OOM. */
struct ns_replay_set *ns_replay_set_new(size_t cap);
/* NS_REPLAY_NEW (inserted), NS_REPLAY_SEEN, or NS_NODE_ERR_FULL when the tag is new but the
 * set holds cap tags (callers drop such packets: fail closed). */
int ns_replay_set_insert(struct ns_replay_set *s, const uint8_t tag[SPHINX_REPLAY_TAG_LEN]);
/* 1 if present. */
int ns_replay_set_contains(const struct ns_replay_set *s, const uint8_t tag[SPHINX_REPLAY_TAG_LEN]);
size_t ns_replay_set_count(const struct ns_replay_set *s);
/* Forgets every tag (a new key epoch) and draws a new hash key. */
void ns_replay_set_reset(struct ns_replay_set *s);
void ns_replay_set_free(struct ns_replay_set *s);

/* ---------------------------------------------------------------- keyring + processing */

#define NS_REPLAY_DEFAULT_CAP (1u << 20)

/* A node's sphinx keys: [0] primary, [1] optional secondary (pre-announced or previous).
 * Each present key has its own replay set. */
struct ns_keyring {
	struct {
		int present;
		uint8_t secret[32];
		uint32_t rotation_id;
		struct ns_replay_set *replay;   /* NULL = replay detection off for this key */
	} key[2];
};

/* Fills key[0] from secret/rotation_id (copied) with a replay set of replay_cap tags
 * (0 = no replay detection). 0 or NS_NODE_ERR_NOMEM. */
int ns_keyring_init(struct ns_keyring *kr, const uint8_t secret[32], uint32_t rotation_id,
                    size_t replay_cap);
/* Zeroes the secrets and frees the replay sets. */
void ns_keyring_wipe(struct ns_keyring *kr);

/* Processes one decoded frame (gateway.md §3.5 steps 1-2): picks the key by the header's
 * rotation (Unknown: primary, then secondary if the primary's MAC fails; Odd/Even: the key
 * with that parity, else the secondary; none -> NS_NODE_ERR_EXPIRED_KEY), runs
 * sphinx_process into out (frame->packet_len bytes), then checks the replay tag.
 * Returns SPHINX_FLAG_FORWARD or SPHINX_FLAG_FINAL with *res filled (diagnostic secrets in
 * res are zeroed before return), or NS_NODE_ERR_REPLAY / NS_NODE_ERR_FULL (replay set full)
 * / NS_NODE_ERR_EXPIRED_KEY / NS_NODE_ERR_PACKET_TYPE / NS_NODE_ERR_NOMEM / NS_NODE_ERR_ARG,
 * or a sphinx_err (SPHINX_ERR_MAC, ...). A packet that fails leaves the replay sets as they
 * were. */
int ns_keyring_process(struct ns_keyring *kr, const struct nym_frame *frame, uint8_t *out,
                       struct sphinx_processed *res);

/* ---------------------------------------------------------------- next-hop filter */

struct ns_hop_filter;
/* Every node address (mix_host) of the topology; non-loopback entries are left out. */
struct ns_hop_filter *ns_hop_filter_from_topo(const struct ns_topo *topo);
/* Decodes a sphinx next-hop address (32 bytes, NymNodeRoutingAddress zero padded) into *to.
 * 0 if it is a loopback socket address of a topology node (IP and port), else
 * NS_NODE_ERR_ADDR. */
int ns_hop_filter_check(const struct ns_hop_filter *f, const uint8_t addr[SPHINX_NODE_ADDR_LEN],
                        struct nym_node_address *to);
size_t ns_hop_filter_len(const struct ns_hop_filter *f);
void ns_hop_filter_free(struct ns_hop_filter *f);

/* ---------------------------------------------------------------- inbound listener */

struct ns_listener;
struct ns_listener_cbs {
	/* One decoded frame from peer ("ip:port"); recv_ns = ns_node_now_ns() when its last
	 * byte was read. frame->packet is valid during the call only. Return 0 to go on, or a
	 * negative code to close this connection (on_close gets that code). */
	int (*on_frame)(void *ctx, const char *peer, const struct nym_frame *frame, uint64_t recv_ns);
	/* Optional: a connection was accepted. */
	void (*on_accept)(void *ctx, const char *peer);
	/* Optional: a connection closed. err 0 = the peer closed cleanly; a nym_frame_err
	 * (bad version, size tag, ...), NS_NODE_ERR_IO, NS_NODE_ERR_LIMIT or the on_frame code.
	 * why is a short text for the log line. */
	void (*on_close)(void *ctx, const char *peer, int err, const char *why);
	void *ctx;
};

/* Serves listen_fd (non-blocking, listening; the listener owns and closes it), or, with
 * listen_fd -1, only the connections given to ns_listener_adopt. At most max_conns inbound
 * connections at once (0 = 1024); more are accepted and closed at once with
 * NS_NODE_ERR_LIMIT. NULL on bad arguments / OOM. */
struct ns_listener *ns_listener_new(struct ev_loop *loop, int listen_fd,
                                    const struct ns_listener_cbs *cbs, size_t max_conns);
/* Serves fd, an accepted non-blocking connection (the listener owns it from now on, also
 * when it refuses it: NS_NODE_ERR_LIMIT through on_close). Call from the loop's thread. */
void ns_listener_adopt(struct ns_listener *l, int fd);
/* Accepts on listen_fd (owned, as above) and gives every accepted non-blocking connection
 * to handoff, which owns it from then on (the mix node's workers). NULL on bad arguments. */
struct ns_listener *ns_listener_new_handoff(struct ev_loop *loop, int listen_fd,
                                            void (*handoff)(void *ctx, int fd), void *ctx);
size_t ns_listener_conn_count(const struct ns_listener *l);
/* Stops watching, closes every connection (no on_close calls) and the listening socket. */
void ns_listener_free(struct ns_listener *l);

/* ---------------------------------------------------------------- outbound peers */

struct ns_peer_policy {
	uint32_t connect_timeout_ms;  /* 1500 */
	uint32_t backoff_base_ms;     /* 10000: after n >= 1 counted failures wait min(base*2^n, max) */
	uint32_t backoff_max_ms;      /* 300000 */
	uint32_t queue_cap;           /* 2000 frames per destination */
	int count_refused;            /* 0 as Nym: a refused connect is not a counted failure */
};
#define NS_PEER_POLICY_DEFAULT { 1500, 10000, 300000, 2000, 0 }

/* Wait before the next connection attempt after `failures` counted failures (0 if none). */
uint64_t ns_peer_backoff_ms(const struct ns_peer_policy *p, unsigned failures);

enum ns_peer_event {
	NS_PEER_CONNECTED = 1,
	NS_PEER_CONNECT_FAILED = 2,   /* err: NS_NODE_ERR_IO (errno in sys_errno) */
	NS_PEER_DISCONNECTED = 3,     /* write error or the peer closed */
	NS_PEER_DROPPED = 4,          /* frames dropped: queue full */
};
struct ns_peers_cbs {
	/* Optional. peer is "ip:port"; sys_errno is 0 or the socket error. */
	void (*on_event)(void *ctx, const char *peer, enum ns_peer_event ev, int sys_errno);
	void *ctx;
};
struct ns_peers_stats {
	uint64_t frames_queued;       /* accepted by ns_peers_send */
	uint64_t frames_sent;         /* fully written to a socket */
	uint64_t frames_dropped;      /* refused: queue full / bad address */
	uint64_t frames_lost;         /* queued, then discarded (connection lost mid-frame, free) */
	uint64_t connects, connect_failures, disconnects;
	uint64_t queue_depth;         /* frames waiting now, all peers */
	uint64_t peers;               /* destinations known now */
};

/* policy NULL = NS_PEER_POLICY_DEFAULT; cbs may be NULL. */
struct ns_peers *ns_peers_new(struct ev_loop *loop, const struct ns_peer_policy *policy,
                              const struct ns_peers_cbs *cbs);
/* Queues header || packet for `to` (loopback only), connecting if needed. The bytes are
 * copied. 0, NS_NODE_ERR_FULL (queue full: dropped), NS_NODE_ERR_ADDR, NS_NODE_ERR_NOMEM,
 * NS_NODE_ERR_ARG, or a nym_frame_err when header and packet length disagree. 0 means
 * queued, not delivered: a connect that fails (even at once, inside this call) discards the
 * queue (frames_lost), as Nym's per-connection channel dies with its task. */
int ns_peers_send(struct ns_peers *ps, const struct nym_node_address *to,
                  const struct nym_frame_header *h, const uint8_t *packet, size_t len);
void ns_peers_get_stats(const struct ns_peers *ps, struct ns_peers_stats *out);
/* Closes every connection and drops what is queued. */
void ns_peers_free(struct ns_peers *ps);

/* ---------------------------------------------------------------- stats file */

struct ns_stats;
/* Stats file writer: {"node":NAME,"uptime_s":N,<counter>:N,...} (counters in the order
 * added). path may be NULL (ns_stats_json only). NULL on bad arguments / OOM. */
struct ns_stats *ns_stats_new(const char *node_name, const char *path);
/* Registers a counter read at each write; name is [a-z0-9_]+ and copied. Up to 64. */
int ns_stats_add(struct ns_stats *s, const char *name, const uint64_t *value);
/* Optional hook called before each write (to refresh gauges such as queue depth). */
void ns_stats_on_write(struct ns_stats *s, void (*fn)(void *ctx), void *ctx);
/* The JSON object + "\n" into out; returns its length or -1 if cap is too small. */
long ns_stats_json(struct ns_stats *s, char *out, size_t cap);
/* Writes the file atomically now. 0 or -1. */
int ns_stats_write(struct ns_stats *s);
/* Writes now and then every interval_s seconds on loop. */
int ns_stats_start(struct ns_stats *s, struct ev_loop *loop, double interval_s);
void ns_stats_free(struct ns_stats *s);

/* ---------------------------------------------------------------- signals */

struct ns_signals;
/* SIGTERM and SIGINT call on_stop(ctx, signum) (NULL: ev_break(loop, EVBREAK_ALL));
 * SIGPIPE is ignored. Only one per process (uses the default loop's signal handling). */
struct ns_signals *ns_signals_new(struct ev_loop *loop, void (*on_stop)(void *ctx, int signum),
                                  void *ctx);
void ns_signals_free(struct ns_signals *s);

#endif
