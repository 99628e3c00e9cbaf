/* Client traffic engine: the timing and queueing logic of Nym's client-core
 * (nym@b4046a89 common/client-core/src/client/{real_messages_control/ (all),
 * cover_traffic_stream.rs, transmission_buffer.rs}), with no I/O and no secrets.
 *
 * The engine never builds or sends a packet itself. It holds opaque packet handles
 * in per-lane queues and, when a slot of one of its streams comes due, calls the
 * caller's hooks: send a queued real packet, make a cover packet, rebuild a fragment
 * whose ack timed out. Time and randomness are injected (hooks.now_ns,
 * hooks.random_u64) so tests are deterministic.
 *
 * Streams:
 *  - main (real-traffic) stream: one slot per Exp(message_sending_average_delay x
 *    backpressure multiplier); each next deadline = previous deadline + sample. A slot
 *    sends one queued real packet, or else a cover packet (per-hop mean
 *    average_packet_delay). With disable_main_poisson_packet_distribution real packets
 *    go out as soon as they are queued and the main stream makes no cover.
 *  - loop cover stream: one cover packet per Exp(loop_cover_traffic_average_delay),
 *    whose sphinx per-hop mean is also loop_cover_traffic_average_delay (Nym quirk).
 *
 * Driving it: call ns_traffic_start() once, then whenever the time returned by
 * ns_traffic_next_deadline() is reached, call ns_traffic_run(). Any other call may
 * move the next deadline; hooks.schedule_changed (optional) is told when it might.
 * traffic_ev.h does this with a libev timer.
 *
 * Differences from Nym, on purpose: queues and tables are bounded and refuse with an
 * error; every packet the engine discards is handed back through hooks.dropped and
 * counted; a fragment abandoned at its retransmission limit is reported through
 * hooks.abandoned; a discarded queued packet also forgets its pending ack. */
#ifndef NS_TRAFFIC_H
#define NS_TRAFFIC_H
#include <stddef.h>
#include <stdint.h>

#define NS_TRAFFIC_FRAG_ID_LEN 5      /* FragmentIdentifier bytes (COVER = all zero) */
#define NS_TRAFFIC_UNLIMITED UINT32_MAX /* "None" for retransmission limits */

enum ns_traffic_err {
	NS_TRAFFIC_OK = 0,
	NS_TRAFFIC_E_INVAL = -1,
	NS_TRAFFIC_E_NOMEM = -2,
	NS_TRAFFIC_E_QUEUE_FULL = -3,   /* max_queued_packets reached */
	NS_TRAFFIC_E_LANES_FULL = -4,   /* max_lanes reached */
	NS_TRAFFIC_E_PENDING_FULL = -5, /* max_pending_acks reached */
	NS_TRAFFIC_E_DUPLICATE = -6,    /* fragment id already awaiting its ack */
	NS_TRAFFIC_E_UNKNOWN = -7,      /* fragment id not pending (acked or abandoned) */
};

/* Return value of send hooks when the gateway side cannot take a packet now. */
#define NS_TRAFFIC_BUSY 1

/* TransmissionLane (nym common/task/src/connections.rs). */
enum ns_lane_kind {
	NS_LANE_GENERAL = 0,
	NS_LANE_REPLY_SURB_REQUEST = 1,
	NS_LANE_ADDITIONAL_REPLY_SURBS = 2,
	NS_LANE_RETRANSMISSION = 3,
	NS_LANE_CONNECTION = 4, /* ConnectionId(conn_id) */
};
struct ns_lane {
	enum ns_lane_kind kind;
	uint64_t conn_id; /* only for NS_LANE_CONNECTION; must be 0 otherwise */
};

/* Defaults are nym@b4046a89 common/client-core/config-types/src/lib.rs. The config.toml
 * key of each Nym setting is given; all are under [debug]. */
struct ns_traffic_config {
	uint64_t average_packet_delay_ns;          /* traffic.average_packet_delay, 15 ms */
	uint64_t message_sending_average_delay_ns; /* traffic.message_sending_average_delay, 20 ms */
	int disable_main_poisson_packet_distribution; /* traffic.disable_main_poisson_packet_distribution, false */
	uint32_t maximum_number_of_retransmissions;   /* traffic.maximum_number_of_retransmissions, None */
	int has_secondary_packet_size;                /* traffic.secondary_packet_size, None */
	uint64_t loop_cover_traffic_average_delay_ns; /* cover_traffic.loop_cover_traffic_average_delay, 200 ms */
	double cover_traffic_primary_size_ratio;      /* cover_traffic.cover_traffic_primary_size_ratio, 0.70 */
	int disable_loop_cover_traffic_stream;        /* cover_traffic.disable_loop_cover_traffic_stream, false */
	uint64_t average_ack_delay_ns;   /* acknowledgements.average_ack_delay, 15 ms (for the packet builder) */
	double ack_wait_multiplier;      /* acknowledgements.ack_wait_multiplier, 1.5 */
	uint64_t ack_wait_addition_ns;   /* acknowledgements.ack_wait_addition, 1.5 s */

	/* Nym constants (not in config.toml). */
	uint64_t lane_stale_after_ns;    /* transmission_buffer.rs MSG_CONSIDERED_STALE_AFTER_SECS, 10 min */
	uint32_t small_lane_threshold;   /* LaneBufferEntry::is_small, < 100 */
	uint32_t oldest_lane_set_size;   /* OLDEST_LANE_SET_SIZE, 4 */

	/* Our bounds (Nym has none). */
	size_t max_queued_packets;       /* all lanes together, 65536 */
	size_t max_lanes;                /* 4096 */
	size_t max_pending_acks;         /* fragments awaiting an ack, 131072 */
	unsigned max_events_per_run;     /* catch-up slots handled per ns_traffic_run, 256 */
};

void ns_traffic_config_default(struct ns_traffic_config *c);
/* Nym's presets (config-types/src/lib.rs). */
void ns_traffic_set_high_default_traffic_volume(struct ns_traffic_config *c); /* --fastmode */
void ns_traffic_set_no_cover_traffic(struct ns_traffic_config *c);           /* --no-cover */
void ns_traffic_set_no_poisson_process(struct ns_traffic_config *c);         /* no main stream pacing */
void ns_traffic_set_no_per_hop_delays(struct ns_traffic_config *c);          /* packet and ack delays 0 */
/* No-delay mode for tests and benchmarks: no pacing, no cover, zero per-hop delays. */
void ns_traffic_set_no_delay(struct ns_traffic_config *c);

enum ns_cover_kind {
	NS_COVER_MAIN_STREAM = 0, /* an empty slot of the main stream */
	NS_COVER_LOOP_STREAM = 1,
};

enum ns_drop_reason {
	NS_DROP_LANE_CLOSED = 1, /* ns_traffic_close_lane (ConnectionCommand::Close) */
	NS_DROP_LANE_STALE = 2,  /* lane without new data for lane_stale_after_ns */
	NS_DROP_SHUTDOWN = 3,    /* ns_traffic_free */
	NS_DROP_NO_MEMORY = 4,   /* a BUSY packet could not be put back */
};

struct ns_traffic_hooks {
	void *ctx;
	uint64_t (*now_ns)(void *ctx);     /* monotonic clock */
	uint64_t (*random_u64)(void *ctx); /* NULL: ns_random from crypto.h */
	/* Hand a real packet to the gateway sender: 0 taken (ownership passes, the ack timer
	 * starts now), NS_TRAFFIC_BUSY kept by the engine at the front of its lane; with
	 * pacing the slot is spent, without it sending waits for ns_traffic_resume. */
	int (*send_real)(void *ctx, const struct ns_lane *lane, void *packet);
	/* Make and send one loop cover packet with the given sphinx per-hop delay mean,
	 * in the secondary packet size if use_secondary. 0 sent, NS_TRAFFIC_BUSY skipped. */
	int (*send_cover)(void *ctx, enum ns_cover_kind kind, uint64_t per_hop_delay_ns,
	                  int use_secondary);
	/* The ack of frag_id timed out: rebuild the fragment (fresh route, new SURB-ack) and
	 * give it back with ns_traffic_retransmit_ready, or ns_traffic_retransmit_failed. */
	void (*retransmit)(void *ctx, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN],
	                   uint32_t retransmissions_so_far);
	/* Optional: frag_id reached its retransmission limit and is forgotten. */
	void (*abandoned)(void *ctx, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN]);
	/* A queued packet the engine discards; ownership returns to the caller. */
	void (*dropped)(void *ctx, const struct ns_lane *lane, void *packet,
	                enum ns_drop_reason why);
	/* Optional: the next deadline may have moved. */
	void (*schedule_changed)(void *ctx);
};

/* One packet to queue. With has_frag_id the fragment awaits its ack: total_delay_ns is
 * the prepared fragment's expected delay (forward hops + SURB-ack), and
 * max_retransmissions its own cap (NS_TRAFFIC_UNLIMITED for None). */
struct ns_traffic_item {
	void *packet;
	uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN];
	int has_frag_id;
	uint64_t total_delay_ns;
	uint32_t max_retransmissions;
};

struct ns_traffic_stats {
	uint64_t real_sent;
	uint64_t cover_sent_main;    /* cover packets in empty main-stream slots */
	uint64_t cover_sent_loop;
	uint64_t cover_skipped;      /* send_cover returned BUSY */
	uint64_t real_busy;          /* send_real returned BUSY */
	uint64_t acks_received;      /* matched a pending fragment */
	uint64_t acks_cover;
	uint64_t acks_unknown;       /* not pending: late, duplicate or foreign */
	uint64_t retransmit_requests;
	uint64_t retransmits_queued;
	uint64_t abandoned;
	uint64_t forgotten;          /* ns_traffic_forget of a pending fragment */
	uint64_t dropped;
	size_t queued;               /* packets in all lanes */
	size_t lanes;
	size_t pending_acks;
	size_t timers_running;
	uint32_t delay_multiplier;   /* main stream backpressure multiplier, 1..6 */
};

struct ns_lane_depth {
	struct ns_lane lane;
	size_t depth;
};

struct ns_traffic;

/* NULL on bad config or no memory. cfg and hooks are copied. */
struct ns_traffic *ns_traffic_new(const struct ns_traffic_config *cfg,
                                  const struct ns_traffic_hooks *hooks);
/* Hands every queued packet back through hooks.dropped (NS_DROP_SHUTDOWN). */
void ns_traffic_free(struct ns_traffic *t);

/* Samples the first deadlines of the enabled streams from now. */
void ns_traffic_start(struct ns_traffic *t);
/* hooks.now_ns() */
uint64_t ns_traffic_now(const struct ns_traffic *t);
/* Absolute time (hooks.now_ns scale) of the next due event; UINT64_MAX if none. */
uint64_t ns_traffic_next_deadline(const struct ns_traffic *t);
/* Handles every event due at now (at most max_events_per_run); returns how many. */
unsigned ns_traffic_run(struct ns_traffic *t);

/* Queues n packets on a lane, all or none. Each item with a fragment id becomes a
 * pending ack (its timer starts when the packet is sent). */
int ns_traffic_enqueue(struct ns_traffic *t, const struct ns_lane *lane,
                       const struct ns_traffic_item *items, size_t n);
/* An ack arrived: 1 if it completed a pending fragment (timer cancelled, fragment
 * done), 0 if it was a cover ack or not pending. */
int ns_traffic_ack(struct ns_traffic *t, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN]);
/* The rebuilt packet for a retransmit request, queued on the Retransmission lane.
 * NS_TRAFFIC_E_UNKNOWN if the fragment was acked meanwhile (the caller keeps and frees
 * the packet), or a queue error. */
int ns_traffic_retransmit_ready(struct ns_traffic *t,
                                const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN], void *packet,
                                uint64_t new_total_delay_ns);
/* Rebuilding failed (e.g. no valid topology): the ack timer restarts, as in Nym. */
int ns_traffic_retransmit_failed(struct ns_traffic *t,
                                 const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN]);
/* The caller gave frag_id up (it will not be rebuilt or acked): its pending ack is
 * forgotten, running timer or awaited rebuild alike; a copy still queued goes out untracked.
 * 1 if it was pending, 0 if not. */
int ns_traffic_forget(struct ns_traffic *t, const uint8_t frag_id[NS_TRAFFIC_FRAG_ID_LEN]);
/* Drops a lane with its queued packets (hooks.dropped); returns how many. */
size_t ns_traffic_close_lane(struct ns_traffic *t, const struct ns_lane *lane);

size_t ns_traffic_lane_depth(const struct ns_traffic *t, const struct ns_lane *lane);
/* Fills up to max entries (lanes that hold packets); returns the number of lanes. */
size_t ns_traffic_lane_depths(const struct ns_traffic *t, struct ns_lane_depth *out, size_t max);

/* Gateway send-queue occupancy, for the main stream's backpressure multiplier
 * (Nym: 32-batch channel, backpressure when more than 10 are used). */
void ns_traffic_set_gateway_backlog(struct ns_traffic *t, size_t used, size_t capacity);
/* After send_real returned BUSY without pacing: the gateway can take packets again. */
void ns_traffic_resume(struct ns_traffic *t);

void ns_traffic_get_stats(const struct ns_traffic *t, struct ns_traffic_stats *out);
/* Exp(mean) sample in whole nanoseconds from the engine's RNG (0 if mean is 0). */
uint64_t ns_traffic_sample_exp_ns(struct ns_traffic *t, uint64_t mean_ns);
/* The ack timeout for a fragment of expected delay total_delay_ns. */
uint64_t ns_traffic_ack_timeout_ns(const struct ns_traffic *t, uint64_t total_delay_ns);

#endif
