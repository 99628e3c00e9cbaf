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
#include "log.h"
#include "proxy/socks_proto.h"

struct ns_engine;
struct ns_runner;

#define SD_CLOSE_WAIT 2.0          /* after our close: then until the lane is empty */
#define SD_LANE_EMPTY_MAX 240.0    /* at most this long for the lane to empty */
#define SD_HANDSHAKE_TIMEOUT 10.0  /* beyond Nym: a request not complete in time is closed */
#define SD_OBUF_CAP (8u << 20)     /* downstream bytes held per connection */
#define SD_LANE_UNACKED_MAX 256    /* beyond Nym: reading pauses past this many fragments sent
                                    * and not yet acknowledged (they stay in memory until acked) */

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
	int fd; /* the handshake's; -1 once the runner has it */
	uint64_t id; /* the connection id; lane id + 1 */
	enum sd_phase phase;
	struct ns_socks_parser parser;
	char remote[NS_SOCKS_REMOTE_MAX];
	uint8_t hs_out[NS_SOCKS_REPLY_MAX]; /* handshake reply bytes not yet written */
	size_t hs_len;
	bool hs_close;       /* close once hs_out is written (a refusal) */
	ev_io rio, wio;
	ev_timer handshake;
	struct ns_runner *runner; /* both halves once proxying (common/proxy/runner.h) */
	bool obuf_logged; /* one log line per connection for refused pieces */
	uint64_t bytes_up;
	ev_tstamp opened;
};

/* ---- socksd.c */
extern struct ev_loop *sd_loop;
extern struct ns_engine *sd_engine;
extern struct sd_conf sd_conf;
/* One log line, at most every 10 s per *last (the count of the others in between). */
struct sd_ratelog {
	struct ns_log_limit limit; /* (static storage: common/log.h) */
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
/* One Send. 0 or -1. */
int sd_mix_send(struct sd_conn *c, uint64_t seq, const uint8_t *data, size_t len, bool closed);
/* A message from the mixnet (the engine's on_message). */
void sd_mix_on_message(const uint8_t *msg, size_t len);
/* Responses that came for an id not open yet, replayed once it is (then forgotten). */
void sd_mix_replay_held(struct sd_conn *c);
void sd_mix_expire_held(void);

#endif
