/* keyd's operations without the process (keyd_ops.c): given a decoded IPC message from netd,
 * apid (the front) or the supervisor, the replies, sent through a host (common/ipc_host.h),
 * with every key in the state made here. The native keyd (keyd.c) loads the keys from its
 * files and runs this on its libev connections; the browser's key Worker runs the same code
 * in wasm (wasm/c/nsw_keyd.c) with keys the page's storage hands it. No key leaves through
 * this interface except the gateway shared key told to key_changed, for the host to store. */
#ifndef NC_KEYD_OPS_H
#define NC_KEYD_OPS_H
#include <stddef.h>
#include <stdint.h>

#include "clientconf.h"
#include "gateway/shared_key.h"
#include "ipc_host.h"

struct nc_keyd;
struct nc_rkeys;
struct nc_surbs;

/* The host timers keyd uses (ns_ipc_host.timer_start ids). */
enum nc_keyd_timer {
	NC_KEYD_TIMER_TICK = 1,    /* every 5 s: reply keys and SURB tags expire, re-requests */
	NC_KEYD_TIMER_REQUEST = 2, /* the next SURB request's ack wait ends */
};

struct nc_keyd_keys {
	uint8_t identity_seed[32]; /* ed25519 */
	uint8_t encryption_sk[32]; /* x25519 */
	uint8_t ack_key[16];
	uint8_t gateway[32]; /* the gateway's identity */
	int have_gw_key;     /* a shared key from an earlier registration */
	struct ns_gw_key gw_key;
	uint64_t last_auth_ts;
};

/* The gateway shared key changed (a registration) or its last authenticateV2 timestamp grew:
 * the host stores both (natively the record file). */
typedef void (*nc_keyd_key_changed_fn)(void *ctx, const struct ns_gw_key *key,
                                       uint64_t last_auth_ts);

/* keys are copied (the caller zeroes its copy); d: Nym's debug settings (delays, ack wait,
 * reply SURB thresholds). key_changed may be NULL (nothing is stored). NULL: out of memory. */
struct nc_keyd *nc_keyd_new(const struct nc_keyd_keys *keys, const struct clientconf_debug *d,
                            const struct ns_ipc_host *host, nc_keyd_key_changed_fn key_changed,
                            void *key_ctx);
/* Where the packet builds run (BUILD_PACKET, and BUILD_REPLY once its SURB is taken from the
 * store): keyd makes a job of each, holding copies of everything it reads; the host runs
 * nc_keyd_job_run(job) on any thread, then calls nc_keyd_job_done(k, job) on the thread of
 * nc_keyd_deliver, for the jobs in the order submit was called (their frames and
 * BUILD_FAILEDs leave in that order). keyd submits at most capacity jobs not yet done; the
 * rest wait in keyd (as builds wait for a session) and go from nc_keyd_job_done. Without a
 * runner (submit NULL or capacity 0: the browser's Worker, one core) keyd builds at once.
 * Cover, SURB requests and MAKE_SURBS are always built at once (they touch the SURB and
 * reply-key stores, and are few). */
struct nc_keyd_job;
struct nc_keyd_runner {
	void (*submit)(void *ctx, struct nc_keyd_job *job);
	void *ctx;
	size_t capacity;
};
void nc_keyd_set_runner(struct nc_keyd *k, const struct nc_keyd_runner *r);
/* The build and the gateway seal: reads and writes only the job. */
void nc_keyd_job_run(struct nc_keyd_job *job);
/* The job's SEALED_FRAME (sealed again if the gateway key changed meanwhile) or BUILD_FAILED,
 * then frees it. */
void nc_keyd_job_done(struct nc_keyd *k, struct nc_keyd_job *job);
/* enum sphinx_secrets for every header from now on (SPHINX_SECRETS_CHAIN: the benchmark's
 * pre-issue-12 baseline, NYMSUITE_SPHINX_CHAIN=1). */
void nc_keyd_set_secrets(struct nc_keyd *k, int secrets);
/* The reply-key and SURB stores, for the native reply store file (keyd_store.c). */
struct nc_rkeys *nc_keyd_reply_keys(struct nc_keyd *k);
struct nc_surbs *nc_keyd_surbs(struct nc_keyd *k);
/* Starts the tick timer and tells apid our address (SELF_ADDRESS). */
void nc_keyd_start(struct nc_keyd *k);
/* A message from peer, decoded (a BATCH's messages one by one). 0, or -1 when the peer broke
 * the protocol (nc_keyd_error says how): natively the process exits, since a peer that sent
 * that is not trusted again. SHUTDOWN is the host's (not handled here). */
int nc_keyd_deliver(struct nc_keyd *k, enum ns_ipc_role from, const struct ns_ipc_msg *m);
/* 1 if nc_keyd_deliver handles this type. */
int nc_keyd_handles(uint64_t type);
/* BUILD_PACKETs received and not yet handed to a build (waiting for the session, the
 * topology or room among the builds running): the host stops reading apid past a bound. */
size_t nc_keyd_builds_waiting(const struct nc_keyd *k);
const char *nc_keyd_error(const struct nc_keyd *k);
/* A host timer fired (enum nc_keyd_timer). */
void nc_keyd_timer(struct nc_keyd *k, unsigned id);
/* 1 and the key when keyd registered with the gateway during this run (the native keyd then
 * writes it into Nym's gateways DB at the end), else 0. */
int nc_keyd_registered(const struct nc_keyd *k, struct ns_gw_key *key);
/* Zeroes every key and frees everything. */
void nc_keyd_free(struct nc_keyd *k);

#endif
