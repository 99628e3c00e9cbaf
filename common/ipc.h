/* Inter-process messages of nym-client: msgpack (ipc_codec.h) over SOCK_SEQPACKET
 * socketpairs. This module sends and receives datagrams and glues a socket to libev. */
#ifndef NS_IPC_H
#define NS_IPC_H
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "ipc_codec.h"

/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC); -1 with errno on failure. */
int ns_ipc_socketpair(int sv[2]);
/* Checks that self may send m to peer, encodes, and sends one datagram (blocking,
 * MSG_NOSIGNAL). Uses one static encode buffer: single-threaded callers only. */
int ns_ipc_send(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *m);
/* Receives one datagram into buf (cap bytes, at most NS_IPC_MAX_DATAGRAM are accepted) and
 * decodes it. flags: 0 or MSG_DONTWAIT. */
int ns_ipc_recv(int fd, enum ns_ipc_role self, enum ns_ipc_role peer, uint8_t *buf, size_t cap,
                struct ns_ipc_msg *out, int flags);

/* ---- libev glue: one connection = one socketpair end + a dispatch table. */
struct ns_ipc_conn;
/* m's byte fields point into c->buf: valid until the handler returns (copy what you keep). */
typedef void (*ns_ipc_handler)(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx);
/* Called once on any receive error (invalid message, EOF, I/O error); the watcher is already
 * stopped. The caller is expected to exit: a peer that sent garbage is not trusted again. */
typedef void (*ns_ipc_fatal_fn)(struct ns_ipc_conn *c, int err, void *ctx);

/* A conn never blocks on send: a datagram the socket cannot take now waits in an in-order
 * queue drained when the socket is writable (two processes sending to each other at once
 * would otherwise deadlock). The queue is bounded; past the bound the peer is not reading
 * and the send fails with NS_IPC_EQUEUE. */
#define NS_IPC_OUTQ_MAX (256u << 20)
struct ns_ipc_outq;

struct ns_ipc_conn {
	ev_io io, wio;
	struct ev_loop *loop;
	int fd;
	enum ns_ipc_role self, peer;
	const ns_ipc_handler *handlers; /* NS_IPC_TYPE_LIMIT entries, indexed by type */
	ns_ipc_fatal_fn on_fatal;
	void *ctx;
	uint64_t received, sent;
	int last_error;
	unsigned batch;                 /* datagrams handled per readable event (default 1) */
	int corked;                     /* ns_ipc_conn_set_cork */
	int cork_kept;                  /* ns_ipc_conn_keep_cork */
	int paused, stopped;            /* ns_ipc_conn_pause, ns_ipc_conn_stop */
	ev_prepare flush_w;             /* a corked conn's messages go out before the loop waits */
	uint8_t *cork;                  /* the corked messages, a BATCH in the making */
	size_t cork_len, cork_count;
	uint64_t datagrams;             /* datagrams sent (a BATCH is one; sent counts messages) */
	struct ns_ipc_outq *outq, **outq_tail;
	size_t outq_bytes, outq_count, outq_peak;
	uint8_t buf[NS_IPC_MAX_DATAGRAM];
};

/* Starts an EV_READ watcher on fd. Each readable event receives one datagram, validates
 * it and calls handlers[type]; any error calls on_fatal. */
int ns_ipc_conn_start(struct ns_ipc_conn *c, struct ev_loop *loop, int fd, enum ns_ipc_role self,
                      enum ns_ipc_role peer, const ns_ipc_handler *handlers,
                      ns_ipc_fatal_fn on_fatal, void *ctx);
void ns_ipc_conn_stop(struct ns_ipc_conn *c);
/* Sends m, or queues it when the socket is full (see NS_IPC_OUTQ_MAX). Order is kept. */
int ns_ipc_conn_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m);
/* Gives this conn's reads libev priority pri (EV_MINPRI..EV_MAXPRI) and handles up to batch
 * datagrams per readable event: keyd serves netd's acks before apid's bulk of builds. */
void ns_ipc_conn_set_priority(struct ns_ipc_conn *c, int pri, unsigned batch);
/* Corked (on != 0): ns_ipc_conn_send encodes each message into a BATCH in the making (a
 * buffer of NS_IPC_BATCH_MAX allocated here), which goes out as one datagram when the loop has
 * handled the events of this wake-up and is about to wait again (an ev_prepare), or when the
 * next message does not fit (a lone message goes as itself). A process that handles N input
 * messages in one wake-up then sends its N outputs in one datagram, and the peer wakes and
 * reads once. What the socket cannot take waits in the queue for writability as before (same
 * bound, same order). Send errors found in the prepare watcher go to on_fatal. Uncorking
 * sends what the cork holds and frees the buffer. 0, NS_IPC_EARG (no loop) or the error of
 * that send (NS_IPC_EQUEUE: no memory for the buffer). The receiving conn opens a BATCH and
 * hands each message inside to its handler, in order, as if it had come alone. */
int ns_ipc_conn_set_cork(struct ns_ipc_conn *c, int on);
/* Kept (on != 0): a corked conn's messages stay corked when the loop is about to wait, until
 * the owner says off (they go at the end of that turn of the loop) or the cork fills. netd
 * keeps the frames for keyd while it holds the gateway's reads, so a burst goes in one BATCH. */
void ns_ipc_conn_keep_cork(struct ns_ipc_conn *c, int on);
/* Paused (on != 0): the conn reads nothing more (not even the rest of a readable event's
 * batch) until resumed; what the peer sends waits in the socket and then in the peer's send
 * queue. Back-pressure for a reader whose own queue is full; sending is not affected. A
 * stopped conn stays stopped. */
void ns_ipc_conn_pause(struct ns_ipc_conn *c, int on);
/* Sends every queued datagram, blocking (before a process exits). */
int ns_ipc_conn_flush(struct ns_ipc_conn *c);
/* Drops the queued datagrams (and the corked messages). */
void ns_ipc_conn_discard_queue(struct ns_ipc_conn *c);

#endif
