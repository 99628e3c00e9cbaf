/* The client side of a gateway session (Nym gateway-client), as a state machine that never
 * holds a secret. Portable: time and timers come from a clock table (ns_gwc_new_clocked; the
 * browser's net Worker, netd's core), ns_gwc_new is its libev host (gwclient_ev.c).
 *
 * Every secret operation (registration handshake steps, the authenticate request, sealing a
 * forward frame, opening a pushed frame) goes through a caller-supplied ops table. An op may
 * finish at once or later (an IPC round trip to keyd): either way the result comes back
 * through ns_gwc_op_done() with the id the op was given. Results for an id that is no longer
 * awaited (the connection was replaced meanwhile) are ignored, so a late answer is harmless.
 * ns_gwc_default_ops() is an in-process implementation over common/gateway/ that holds the
 * keys itself (tests and tools).
 *
 * Network I/O also goes through a small transport table (default: common/websocket.h), so
 * netd can own the socket and unit tests can use a fake one.
 *
 * Session (each connection; unlike Nym's try_reconnect, a reconnection asks
 * supportedProtocol again, so a gateway that was up- or downgraded meanwhile is handled):
 *   CONNECTING   websocket upgrade
 *   PROTOCOL     {"type":"supportedProtocol"} -> version V
 *   REGISTERING  no stored key: handshake H1..H4 (AES key iff V >= 3), then `register`;
 *                the session goes on on this connection (as Nym's GatewayClient does;
 *                nym-client `init` instead closes it and authenticates on a new one)
 *   AUTHENTICATING  stored key: authenticateV2 (protocolVersion 4) iff V >= 4, else v1
 *   CLAIMING     claimFreeTestnetBandwidth while the allowance is < 40 000 000 bytes
 *   READY        forward frames out (kind 2 iff the negotiated version >= 5), pushed
 *                messages in; keepalive pings
 * A lost connection, a timeout or a malformed / unexpected gateway answer leads to BACKOFF
 * and a new connection after base * 2^n seconds (capped, +-20 % jitter), authenticating with
 * the stored key. A refused registration or authentication, a failed key operation (keyd
 * said no), a gateway protocol > 5, a refused bandwidth claim, or too many failed attempts in
 * a row end in FAILED (no retry until ns_gwc_start is called again).
 *
 * Outgoing queue: a packet stays queued until the gateway confirmed it with its `send`
 * answer (one per forward frame, in order). Frames written but not confirmed when a
 * connection ends are sealed and sent again after re-authentication: at least once, so a
 * packet whose `send` answer was lost reaches the gateway twice. (Nym's client resends
 * nothing here: a packet whose write failed is lost and only its end-to-end ack timeout
 * retransmits it.) The queue is bounded (NS_GWC_E_QUEUE_FULL; on_writable once it has room
 * again).
 *
 * Pre-sealed frames (ns_gwc_send_sealed): a caller whose key holder seals the forward frames
 * itself (nym-client: keyd) queues them opaque, with the same confirmation and resend rules.
 * A frame is sealed under the registration's shared key, which every later authentication
 * reuses, so a frame resent after a reconnection goes out unchanged and the key never has to
 * leave the key holder. A queued frame is void, dropped and reported (on_sealed_dropped, by
 * the caller's id) only if a new key was registered after it was queued, or if it is kind 2
 * and the new session negotiated < 5 (kind 1 is accepted at every version); the caller
 * then rebuilds it or lets its end-to-end ack timeout do so. ns_gwc_forward_kind() tells
 * which kind the session wants.
 *
 * The gateway answers `register` right behind H4 and may push stored messages after it:
 * whatever arrives while hs_finish is pending is held (in order, bounded) and handled once
 * the op is done, so hs_finish may answer late.
 *
 * Callbacks may call ns_gwc_send / ns_gwc_stop / ns_gwc_get_status, never ns_gwc_free.
 * Not thread-safe: one loop, one thread. */
#ifndef NS_GWCLIENT_H
#define NS_GWCLIENT_H
#include <stddef.h>
#include <stdint.h>

#include "gateway/shared_key.h"
#include "nymsphinx/framing.h"

struct ev_loop;
struct ns_gwc;

enum ns_gwc_state {
	NS_GWC_IDLE = 0,
	NS_GWC_CONNECTING,
	NS_GWC_PROTOCOL,
	NS_GWC_REGISTERING,
	NS_GWC_AUTHENTICATING,
	NS_GWC_CLAIMING,
	NS_GWC_READY,
	NS_GWC_BACKOFF,
	NS_GWC_FAILED,
	NS_GWC_STOPPED,
};

enum ns_gwc_err {
	NS_GWC_OK = 0,
	NS_GWC_E_ARG = -1,
	NS_GWC_E_NOMEM = -2,
	NS_GWC_E_STATE = -3,          /* call not valid in this state */
	NS_GWC_E_QUEUE_FULL = -4,     /* outgoing queue full: wait for on_writable */
	NS_GWC_E_CONNECT = -5,        /* websocket could not be opened */
	NS_GWC_E_CLOSED = -6,         /* the gateway closed the connection */
	NS_GWC_E_TIMEOUT = -7,        /* no answer in time / keepalive lost */
	NS_GWC_E_MALFORMED = -8,      /* unparsable or unexpected gateway message */
	NS_GWC_E_PROTOCOL = -9,       /* gateway protocol version > 5 */
	NS_GWC_E_REGISTER_REFUSED = -10,
	NS_GWC_E_AUTH_REFUSED = -11,
	NS_GWC_E_BANDWIDTH = -12,     /* free bandwidth claim refused */
	NS_GWC_E_GATEWAY_ERROR = -13, /* `error` response after authentication */
	NS_GWC_E_OP = -14,            /* a secret operation (ops table) failed */
	NS_GWC_E_BAD_FRAME = -15,     /* pushed frame that does not open */
	NS_GWC_E_GAVE_UP = -16,       /* max_attempts reconnections failed */
};
const char *ns_gwc_strerror(int err);
const char *ns_gwc_state_name(enum ns_gwc_state s);

/* ---- secret operations ----
 * Each returns 0 when it accepted the job (result later or already delivered through
 * ns_gwc_op_done(c, id, rc, out, len)), negative when it failed at once. */
struct ns_gwc_ops {
	/* start a registration handshake: produce H1 (AES key iff aes) */
	int (*hs_h1)(void *ctx, struct ns_gwc *c, uint64_t id, int aes);
	/* consume H2 (verifies the gateway signature), produce H3 */
	int (*hs_h3)(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h2, size_t len);
	/* consume H4; on success the op stores the new shared key (no output) */
	int (*hs_finish)(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *h4, size_t len);
	/* the JSON text of authenticateV2 (v2, protocolVersion = protocol) or v1 authenticate */
	int (*auth_request)(void *ctx, struct ns_gwc *c, uint64_t id, int v2, uint8_t protocol);
	/* seal a binary request frame of `kind` around pt (the MixPacket encoding); optional
	 * when only pre-sealed frames are queued (ns_gwc_send then fails) */
	int (*seal)(void *ctx, struct ns_gwc *c, uint64_t id, uint8_t kind, const uint8_t *pt,
	            size_t len);
	/* open a binary response frame: the pushed message */
	int (*open)(void *ctx, struct ns_gwc *c, uint64_t id, const uint8_t *frame, size_t len);
	/* optional: forget any half-done handshake (connection lost) */
	void (*hs_abort)(void *ctx);
};
/* Result of op `id`: rc 0 with out/len (copied), or a negative rc. */
void ns_gwc_op_done(struct ns_gwc *c, uint64_t id, int rc, const uint8_t *out, size_t len);

/* ---- transport ---- */
struct ns_gwc_transport {
	/* open a websocket to url; events come back through ns_gwc_tr_*; NULL on immediate error */
	void *(*connect)(void *tctx, struct ns_gwc *c, const char *url);
	int (*send)(void *tctx, void *h, int binary, const uint8_t *data, size_t len);
	int (*ping)(void *tctx, void *h);
	/* drop the connection (graceful: close handshake, else abort); no ns_gwc_tr_* event
	 * for h may follow */
	void (*close)(void *tctx, void *h, int graceful);
};
/* From inside connect, before it returns NULL: why (static text) for the status. */
void ns_gwc_tr_connect_failed(struct ns_gwc *c, const char *why);
void ns_gwc_tr_open(struct ns_gwc *c, void *h);
void ns_gwc_tr_message(struct ns_gwc *c, void *h, int binary, const uint8_t *data, size_t len);
void ns_gwc_tr_pong(struct ns_gwc *c, void *h);
void ns_gwc_tr_closed(struct ns_gwc *c, void *h, int code, const char *why);
/* The websocket transport (common/websocket.h) on the loop of ns_gwc_new (gwclient_ev.c). */
const struct ns_gwc_transport *ns_gwc_ws_transport(void);

/* ---- time ---- */
enum ns_gwc_timer { NS_GWC_TIMER_RESPONSE, NS_GWC_TIMER_BACKOFF, NS_GWC_TIMER_KEEPALIVE,
	            NS_GWC_TIMERS };
struct ns_gwc_clock {
	double (*now)(void *ctx); /* monotonic seconds */
	/* one-shot timer id (enum ns_gwc_timer) after `after` s, replacing a running one; when it
	 * fires the host calls ns_gwc_timer */
	void (*timer_start)(void *ctx, unsigned id, double after);
	void (*timer_stop)(void *ctx, unsigned id);
	void (*release)(void *ctx); /* optional: called by ns_gwc_free, last */
	void *ctx;
};
/* A host timer fired. */
void ns_gwc_timer(struct ns_gwc *c, unsigned id);

/* ---- configuration and callbacks ---- */
struct ns_gwc_callbacks {
	void (*on_state)(struct ns_gwc *c, enum ns_gwc_state s, void *user);     /* optional */
	void (*on_message)(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user);
	void (*on_writable)(struct ns_gwc *c, void *user); /* optional: queue has room again */
	void (*on_registered)(struct ns_gwc *c, void *user); /* optional: a new key was stored */
	/* optional: pre-sealed frame `id` was void for this session and dropped unsent */
	void (*on_sealed_dropped)(struct ns_gwc *c, uint64_t id, void *user);
};

/* Zero fields take the defaults in brackets. */
struct ns_gwc_config {
	const char *url;               /* ws://IP:PORT[/path] (copied) */
	int registered;                /* a shared key is stored (authenticate instead of register) */
	uint8_t auth_protocol;         /* protocolVersion claimed in authenticateV2 [4] */
	double response_timeout;       /* s per control answer / unconfirmed frame [15] */
	double ping_interval;          /* s of silence in READY before a ping [10] */
	double ping_timeout;           /* s to wait for anything after that ping [10] */
	double backoff_initial;        /* s before the first reconnection [0.5] */
	double backoff_max;            /* cap of the doubling delay [5: Nym's fixed interval] */
	unsigned max_attempts;         /* failed connections in a row before FAILED [10, as Nym];
	                                  UINT32_MAX: never give up */
	size_t max_queue;              /* packets queued (not yet confirmed) [256] */
	int64_t claim_threshold;       /* claim free bandwidth below this [40 000 000] */
};

struct ns_gwc_status {
	enum ns_gwc_state state;
	int last_error;                /* enum ns_gwc_err of the last failure, 0 if none yet */
	char last_error_text[128];     /* detail: the gateway's message or the close reason */
	unsigned reconnects;           /* sessions re-established (READY again after a loss) */
	unsigned reconnect_attempts;   /* connections started after a loss */
	unsigned failed_attempts;      /* in a row, reset by READY */
	uint8_t gateway_protocol;      /* supportedProtocol answer, 0 before */
	uint8_t negotiated_protocol;   /* from register/authenticate, 0 before */
	int64_t bandwidth;             /* remaining, as last reported by the gateway */
	size_t queued, in_flight;      /* packets waiting / written but not confirmed */
	uint64_t sent_confirmed, received, bad_frames, resent;
	uint64_t sealed_dropped;       /* pre-sealed frames void for their session */
};

/* clk (copied), ops and transport must outlive the client. */
struct ns_gwc *ns_gwc_new_clocked(const struct ns_gwc_clock *clk, const struct ns_gwc_config *cfg,
                                  const struct ns_gwc_ops *ops, void *ops_ctx,
                                  const struct ns_gwc_transport *tr, void *tr_ctx,
                                  const struct ns_gwc_callbacks *cb, void *user);
/* On a libev loop (gwclient_ev.c); loop, ops and transport must outlive the client. */
struct ns_gwc *ns_gwc_new(struct ev_loop *loop, const struct ns_gwc_config *cfg,
                          const struct ns_gwc_ops *ops, void *ops_ctx,
                          const struct ns_gwc_transport *tr, void *tr_ctx,
                          const struct ns_gwc_callbacks *cb, void *user);
/* Frees the queue and closes the connection (no callbacks). */
void ns_gwc_free(struct ns_gwc *c);
/* Connects (from IDLE, FAILED or STOPPED; resets the failure count). */
int ns_gwc_start(struct ns_gwc *c);
/* Closes the connection; queued packets are kept for a later start. */
void ns_gwc_stop(struct ns_gwc *c);
/* Queues one forward packet (copied), in any state: it goes out once the session is READY.
 * 0 or NS_GWC_E_QUEUE_FULL / NS_GWC_E_ARG / NS_GWC_E_NOMEM. */
int ns_gwc_send(struct ns_gwc *c, const struct nym_mix_packet *p);
/* Queues one frame already sealed (copied) of binary request `kind` (1 ForwardSphinx, 2
 * ForwardSphinxV2); id is the caller's, given back by on_sealed_dropped. Same results as
 * ns_gwc_send. */
int ns_gwc_send_sealed(struct ns_gwc *c, uint8_t kind, const uint8_t *frame, size_t len,
                       uint64_t id);
/* The forward frame kind the current session wants (2 iff the negotiated protocol >= 5),
 * 0 before the first authentication / registration. */
uint8_t ns_gwc_forward_kind(const struct ns_gwc *c);
void ns_gwc_get_status(const struct ns_gwc *c, struct ns_gwc_status *out);
enum ns_gwc_state ns_gwc_state(const struct ns_gwc *c);
const struct ns_gwc_clock *ns_gwc_clock(const struct ns_gwc *c);
/* The loop of a client made by ns_gwc_new, else NULL. */
struct ev_loop *ns_gwc_loop(const struct ns_gwc *c);

/* ---- in-process ops over common/gateway (holds the keys) ---- */
struct ns_gwc_keys {
	uint8_t identity_seed[32];     /* client ed25519 seed */
	uint8_t gateway_identity[32];  /* from the directory: checks the handshake */
	int have_key;
	struct ns_gw_key key;          /* the shared key (written by hs_finish) */
	uint64_t last_auth_timestamp;  /* authenticateV2 timestamps must grow: the next one is
	                                  max(now, this + 1); keep it with the key */
	void *hs;                      /* handshake in progress (private) */
};
const struct ns_gwc_ops *ns_gwc_default_ops(void);
/* Wipes the keys and any handshake in progress / only the handshake in progress. */
void ns_gwc_keys_clear(struct ns_gwc_keys *k);
void ns_gwc_keys_clear_handshake(struct ns_gwc_keys *k);

#endif
