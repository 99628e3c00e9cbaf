/* The proxy runner: one proxied TCP connection between a local socket and the mixnet, as
 * Nym has it once for the SOCKS client and the network requester (nym@b4046a89
 * common/socks5/proxy-helpers: proxy_runner/{mod,inbound,outbound}, ordered_sender,
 * available_reader, connection_controller; clients.md §4.3, §4.6 with roles swapped).
 *
 * Read half: each read of up to `chunk` bytes becomes one data message (seq from 0), not
 * while the connection's lane holds more than `lane_high` packets (looked at again every
 * `lane_poll`); an empty non-closing message after `keepalive` without data; at the socket's
 * EOF an empty closing message with the next seq, then (drain_wait > 0) the read half ends
 * `drain_wait` later once the lane is empty (at most `drain_max` more), else at once.
 * Write half: incoming pieces go through the ordered buffer (common/proxy/ordered_buf.h,
 * bounded by `buffer_cap`) and are written in order; the closing piece, once written, ends
 * the write half (shutdown SHUT_WR). `other_half` after one half ends, the other is ended
 * too (with the closing message if it was not sent). Nothing incoming for `mix_ttl` ends
 * the connection.
 *
 * The owner (socksd, exitd) keeps its protocol: it sends the messages the runner hands it,
 * reports its lane's depth, and frees the runner once told the connection ended. */
#ifndef NS_PROXY_RUNNER_H
#define NS_PROXY_RUNNER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ns_runner;

#define NS_RUNNER_CHUNK_MAX 16384 /* max(4 x plaintext size, 16 KiB) with Nym's defaults */

struct ns_runner_conf {
	size_t chunk;         /* bytes per read, so per data message (<= NS_RUNNER_CHUNK_MAX) */
	size_t lane_high;     /* reading pauses while the lane holds more packets */
	double lane_poll;     /* s between two looks at the lane (paused, draining) */
	double keepalive;     /* s without a data message before an empty one */
	double mix_ttl;       /* s without incoming data before the connection ends */
	double other_half;    /* s the other half is given after one ended */
	double drain_wait;    /* s after our closing message before the lane is looked at; 0: the
	                       * read half ends with that message */
	double drain_max;     /* s at most, after drain_wait, for the lane to empty */
	size_t buffer_cap;    /* incoming bytes held (data + NR_OBUF_PIECE_COST per piece) */
	bool ttl_sends_close; /* at mix_ttl the closing message goes first (attached only) */
	bool ttl_keepalive;   /* an empty incoming piece (a keep-alive) restarts mix_ttl too (beyond
	                       * Nym, whose one-way transfers longer than mix_ttl are cut off) */
	bool write_error_ends; /* a failed write ends the connection at once; else it is taken as
	                        * the socket's EOF */
	size_t *held_total;      /* optional: incoming bytes held by all runners sharing it */
	uint64_t *written_total; /* optional: bytes written to the sockets of all sharing it */
};

enum ns_runner_end {
	NS_RUNNER_END_HALVES,      /* both halves ended, or the other half's time ran out */
	NS_RUNNER_END_TTL,         /* nothing incoming for mix_ttl */
	NS_RUNNER_END_SEND_FAILED, /* a data or keep-alive message could not be sent */
	NS_RUNNER_END_WRITE_FAILED /* the socket refused a write (write_error_ends) */
};

struct ns_runner_owner {
	/* one message toward the mixnet; 0, or -1 when it cannot be sent */
	int (*send)(void *ctx, uint64_t seq, const uint8_t *data, size_t len, bool closed);
	/* packets the connection's lane holds now (queued, not yet sent) */
	size_t (*lane_depth)(void *ctx);
	/* optional: the owner's own reason to pause reading, beyond the lane (e.g. too many
	 * fragments sent and not yet acknowledged) */
	bool (*must_wait)(void *ctx);
	/* the connection is over: the runner has stopped and is only waiting for ns_runner_free
	 * (which the owner may call from here) */
	void (*ended)(void *ctx, enum ns_runner_end why);
	void *ctx;
};

/* Nym's numbers: chunk 16384, lane 30 / 0.1 s, keep-alive 60 s, MIX_TTL 300 s, other half
 * 3 s, drain 2 s + at most 240 s, 8 MiB held; no closing message at the TTL, a failed write
 * taken as EOF, no totals. */
struct ns_runner_conf ns_runner_conf_nym(void);

/* The mix_ttl clock starts now; the socket comes with ns_runner_attach. NULL: no memory. */
struct ns_runner *ns_runner_new(struct ev_loop *loop, const struct ns_runner_conf *conf,
                                const struct ns_runner_owner *owner);
/* The connected, non-blocking socket, now the runner's (closed by ns_runner_free); `first`
 * (copied) is written before any incoming data. Reading, keep-alive and writing start on the
 * loop. 0, or -1 (no memory; nothing taken). */
int ns_runner_attach(struct ns_runner *r, int fd, const uint8_t *first, size_t first_len);
/* An incoming piece. 0, or a negative nr_obuf_err (the piece refused, nothing else done: the
 * owner decides). When 0, `ended` may have been called meanwhile. */
int ns_runner_incoming(struct ns_runner *r, uint64_t seq, const uint8_t *data, size_t len,
                       bool closed);
/* Bytes the owner read itself, sent as data messages (chunks) in the stream's order. 0, or
 * -1 when one could not be sent (the runner goes on). */
int ns_runner_send(struct ns_runner *r, const uint8_t *data, size_t len);
/* Packets of the connection's lane went out: a paused read half reads on at once (instead of
 * at the next lane_poll) if the lane is no longer deep. */
void ns_runner_lane_sent(struct ns_runner *r);
/* The empty closing message with the next seq, unless one went already. */
void ns_runner_send_closed(struct ns_runner *r);
/* The seq the next incoming piece to be written carries. */
uint64_t ns_runner_in_next_seq(const struct ns_runner *r);
uint64_t ns_runner_bytes_written(const struct ns_runner *r);
/* Stops everything, closes the socket if attached; sends nothing. NULL is fine. */
void ns_runner_free(struct ns_runner *r);

#endif
