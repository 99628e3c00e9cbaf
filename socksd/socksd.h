/* socksd internals shared by its files: socksd.c (the process: listeners, engine wiring,
 * admin part), socksd_conn.c (one local connection: handshake, both halves, timers),
 * socksd_mix.c (the network requester's side: requests out, responses in). */
#ifndef SOCKSD_H
#define SOCKSD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "proxy/nr_proto.h"
#include "proxy/socks_proto.h"

struct ns_engine;
struct nr_obuf;

#define SD_READ_MAX 16384          /* bytes read from the app per Send (Nym's default) */
#define SD_LANE_HIGH 30            /* stop reading while the lane holds more packets not yet sent */
#define SD_LANE_UNACKED_MAX 256    /* beyond Nym: or more sent and not yet acknowledged */
#define SD_POLL 0.1                /* backpressure / lane-empty poll (Nym's) */
#define SD_KEEPALIVE 60.0
#define SD_MIX_TTL 300.0           /* no downstream data this long: closed */
#define SD_CLOSE_WAIT 2.0          /* after our close: then until the lane is empty */
#define SD_LANE_EMPTY_MAX 240.0    /* at most this long for the lane to empty */
#define SD_OTHER_HALF 3.0          /* after one half ends, the other gets this long */
#define SD_HANDSHAKE_TIMEOUT 10.0  /* beyond Nym: a request not complete in time is closed */
#define SD_OBUF_CAP (8u << 20)     /* downstream bytes held per connection */

/* The settings socksd runs with (from [core.socks5] and [nymsuite]). */
struct sd_conf {
	uint8_t provider[NR_RETURN_ADDRESS_LEN];
	bool anonymous;
	uint32_t start_surbs, per_request_surbs;
	struct nr_versions v;
	bool http_connect;
	size_t max_connections;
};

enum sd_phase { SD_HANDSHAKE, SD_PROXYING };

struct sd_conn {
	struct sd_conn *next;
	int fd;
	uint64_t id; /* the connection id; lane id + 1 */
	enum sd_phase phase;
	struct ns_socks_parser parser;
	char remote[NS_SOCKS_REMOTE_MAX];
	uint8_t hs_out[NS_SOCKS_REPLY_MAX]; /* handshake reply bytes not yet written */
	size_t hs_len;
	bool hs_close;       /* close once hs_out is written (a refusal) */
	ev_io rio, wio;
	ev_timer keepalive, ttl, wait, other_half;
	struct nr_obuf *down;
	uint64_t next_seq;
	bool read_ended;   /* our close Send went; then the read half waits, then ends */
	bool read_done;    /* the read half ended */
	bool write_done;   /* the requester's closing piece was written, write half shut */
	bool paused;       /* reading stopped: the lane is over SD_LANE_HIGH */
	bool obuf_logged;  /* one log line per connection for refused pieces */
	uint64_t bytes_up, bytes_down;
	ev_tstamp opened, read_ended_at;
};

/* ---- socksd.c */
extern struct ev_loop *sd_loop;
extern struct ns_engine *sd_engine;
extern struct sd_conf sd_conf;
/* One log line, at most every 10 s per *last (the count of the others in between). */
struct sd_ratelog {
	ev_tstamp last;
	uint64_t suppressed;
};
void sd_log_limited(struct sd_ratelog *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- socksd_conn.c */
/* A new local connection (accepted, non-blocking). Refused (closed) at the limit. */
void sd_conn_accept(int fd);
struct sd_conn *sd_conn_find(uint64_t id);
/* Fragments of the lane went out: a connection paused on it reads on at once. */
void sd_conn_lane_sent(uint64_t lane);
struct sd_conn *sd_conn_list(void);
size_t sd_conn_count(void);
/* Downstream from the requester. */
void sd_conn_network_data(struct sd_conn *c, uint64_t seq, const uint8_t *data, size_t len,
                          bool closed);
void sd_conn_error(struct sd_conn *c, const char *text, size_t len);
/* A message of the connection could not be sent: it is closed. */
void sd_conn_send_failed(struct sd_conn *c, const char *why);
void sd_conn_close_all(void);

/* ---- socksd_mix.c */
/* Connect for c (with our address, or anonymously with the start SURBs). 0 or -1. */
int sd_mix_connect(struct sd_conn *c);
/* One Send (seq = c->next_seq++). 0 or -1. */
int sd_mix_send(struct sd_conn *c, const uint8_t *data, size_t len, bool closed);
/* A message from the mixnet (the engine's on_message). */
void sd_mix_on_message(const uint8_t *msg, size_t len);
/* Responses that came for an id not open yet, replayed once it is (then forgotten). */
void sd_mix_replay_held(struct sd_conn *c);
void sd_mix_expire_held(void);

#endif
