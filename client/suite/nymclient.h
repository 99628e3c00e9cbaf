/* What the three client programs (nym-client, nym-socks5-client, nym-network-requester)
 * share: the supervisor and its three children (keyd, netd and the program's front: apid,
 * socksd or exitd), the CLI's init and run. Each role is one folder; this header is what
 * they share. */
#ifndef NYMCLIENT_H
#define NYMCLIENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clientconf.h"
#include "log.h"
#include "nymapi_fetch.h"
#include "sandbox.h"

struct nc_opt;
struct nc_args;
struct cJSON;
/* What makes one client program: its front process and its CLI's differences (its rows of
 * the CLI table, cli_table.h, and its handlers). */
struct nc_kind {
	const char *program; /* "nym-client", "nym-socks5-client", "nym-network-requester" */
	const char *front;   /* the front role's name: "apid", "socksd", "exitd" */
	int (*front_main)(void *setup);
	enum ns_sandbox_role front_sandbox;
	/* its config.toml and folder under <home>/.nym/ (clientconf.h) */
	enum clientconf_kind conf;
	/* as Nym's crate: version, description (NULL: none), init's and run's about lines */
	const char *version, *about, *init_about, *run_about;
	const char *completion_name; /* the name completions are made for (NULL: program) */
	const char *core_name;       /* Nym's CliClient NAME ("native", "socks5", ...) */
	int has_sign;                /* the network requester's `sign` */
	int rust_errors;             /* errors as Rust's main prints them ("Error: ..." on
	                              * stderr), not nym-client's "An error occurred: ..." */
	int run_quiet;               /* no "Starting client ID..." at run */
	const struct nc_opt *opts;   /* the program's own rows, in display order */
	size_t n_opts;
	/* Optional: the program's flags on a fresh config at init (init = 1) or on the loaded
	 * one at run (0). 0, or -1 with the reason in err. */
	int (*configure)(struct clientconf *c, int init, const struct nc_args *a, char *err,
	                 size_t errcap);
	/* Optional: init's closing results after the common ones: as text lines to stdout
	 * (json NULL) or as members of json. NULL: nym-client's. */
	void (*init_report)(const struct clientconf *c, const char *address, struct cJSON *json);
};
/* The running program's kind: set by nc_cli_main first thing (every process has it). */
extern const struct nc_kind *nc_kind;
/* The first of the program's three privsep ids: privsep_uid_base + 3 x its config kind. */
uint32_t nc_uid_base(const struct clientconf *c);
/* cli.c: a program's main(): `--child ROLE FD` (a role started by the supervisor),
 * `--test-probe ...` (tests/attack/), `--nymsuite-man-page` (the build's man page), else
 * the CLI (cli_table.h). */
int nc_cli_main(const struct nc_kind *kind, int argc, char **argv);

#define NC_KEYD_NETD 0 /* socketpair indices (supervisor.c) */
#define NC_KEYD_APID 1
#define NC_NETD_APID 2
#define NC_SUP_KEYD 3
#define NC_SUP_NETD 4
#define NC_SUP_APID 5
#define NC_PAIRS 6

/* Our own files next to Nym's key files (Nym keeps these in its gateway_registrations DB):
 * the chosen gateway (identity base58 and ws URL, one per line), and the shared key
 * records keyd appends (mode 0600). */
#define NC_GATEWAY_FILE "nymsuite-gateway.txt"
#define NC_GWKEY_FILE "nymsuite-gateway-key.bin"

/* What every child gets from the supervisor (public data only; keyd opens its key files). */
struct nc_setup {
	struct clientconf conf;
	struct clientconf_dirs dirs;
	uint8_t gateway_identity[32];
	char gateway_ws[CLIENTCONF_URL_MAX];
	int gateway_key_stored; /* Nym's gateways DB holds a key for it (the bytes stay unread) */
	int fds[NC_PAIRS][2];
	int sandbox_debug;
	int test_keyd_socket; /* test hook: keyd calls socket() once sandboxed (must die) */
	/* a benchmark baseline from the environment (cli.c): NYMSUITE_SPHINX_CHAIN=1, keyd builds
	 * headers with the chain (NYMSUITE_KEYD_WORKERS lands in conf.keyd_workers) */
	int sphinx_chain;
	/* the role's log level ($RUST_LOG, then [nymsuite] log_level) and output kind
	 * (common/log.h), decided by the supervisor */
	int log_level;
	unsigned log_output;
	/* run --custom-mixnet: the fixed topology netd reads before its sandbox instead of the
	 * nym-api's (no key-rotation fetch, no refresh: Nym's hardcoded topology); "" = nym-api */
	char custom_mixnet[CLIENTCONF_PATH_MAX];
};

/* proc.c */
/* Forks; the child runs fn(arg) and _exits with its result (short helpers, not roles). */
pid_t nc_spawn(int (*fn)(void *), void *arg);
/* Forks and re-executes our own binary as `--child ROLE FD`, the setup passed in a sealed
 * memfd (a fresh address space per role). Returns the pid or -1. */
pid_t nc_spawn_role(const char *role, const struct nc_setup *s);
/* The child side (main.c calls it for `--child ROLE FD`): reads the setup, runs the role. */
int nc_child_main(const char *role, const char *fdstr);
/* Closes every end of setup->fds except keep[0..n). */
void nc_close_except(struct nc_setup *s, const int *keep, size_t n);
/* A log line of role at INFO (common/log.h: "LEVEL program[role]: text"); the others at
 * their level. */
void nc_log(const char *role, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define nc_error(role, ...) ns_log(NS_LOG_ERROR, role, __VA_ARGS__)
#define nc_warn(role, ...) ns_log(NS_LOG_WARN, role, __VA_ARGS__)
#define nc_debug(role, ...) ns_log(NS_LOG_DEBUG, role, __VA_ARGS__)
#define nc_trace(role, ...) ns_log(NS_LOG_TRACE, role, __VA_ARGS__)
/* A warning a peer or an app can repeat: the first line, then counts (log.h). */
#define nc_warn_limited(role, ...) ns_log_rl(NS_LOG_WARN, role, __VA_ARGS__)
/* The program's log settings ($RUST_LOG over conf's log_level, NULL: none; the output kind
 * of stderr), before any child starts. A malformed $RUST_LOG is reported once. */
void nc_log_setup(const struct clientconf *conf);
/* A child's level (for its role) and the output kind, into its setup. */
void nc_log_for_child(const char *role, struct nc_setup *s);
struct ns_ipc_conn;
struct ns_ipc_msg;
/* Sends m on a child's connection; a failed send is fatal for the process (logged with its
 * role and the type). */
void nc_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m);
/* The children's ns_ipc_fatal_fn: logs the peer and the error, exits (0 on a clean EOF). */
void nc_ipc_fatal(struct ns_ipc_conn *c, int err, void *ctx) __attribute__((noreturn));

/* confine.c: the one confinement path of every role, called once the role has opened what it
 * needs: its own uid when root (privsep_uid_base + role), non-dumpable, Landlock, then the
 * seccomp filter. Logs the reason and returns -1 on failure (the role must exit). */
#define NC_CONFINE_NO_SECCOMP 1u /* the injection probe only: credentials + Landlock alone */
#define NC_CONFINE_QUIET 2u
int nc_confine(enum ns_sandbox_role role, const struct nc_setup *s, unsigned flags);
/* nc_confine with before_filter(ctx) run between Landlock and the seccomp filter: threads it
 * starts share the uids and Landlock domain, and get the filter too (installed on every
 * thread: SECCOMP_FILTER_FLAG_TSYNC). Its -1 fails the confinement (it logs why). */
int nc_confine_then(enum ns_sandbox_role role, const struct nc_setup *s, unsigned flags,
                    int (*before_filter)(void *ctx), void *ctx);
/* probe.c: `nym-client --test-probe ID HOME ROLE LAYERS OP [PID]` (tests/attack/) */
int nc_probe_main(int argc, char **argv);
/* The Unix socket at path when nobody listens on it any more (the front's, after it exited). */
void nc_remove_stale_socket(const char *path);
/* The front's Unix API and admin sockets, once it has exited. */
void nc_remove_apid_sockets(const struct nc_setup *s);

/* unix_listen.c: a listening Unix stream socket at path, mode 0600 (bound under umask
 * 0177). Refuses a path that exists and is not a socket, or a socket another process serves;
 * removes a stale socket. The descriptor (non-blocking, close-on-exec) or -1 with a reason in
 * err. */
int nc_unix_listen(const char *path, char *err, size_t cap);

/* reap.c: unlinks every node of a singly linked list that done() calls finished and hands it
 * to release(), which frees it. head is the address of the list's head pointer, next_off the
 * offset of the next pointer in a node (offsetof). For the ev_prepare reapers of the local
 * sockets: a connection is freed there, never inside one of its own callbacks. How many went. */
size_t nc_reap_list(void *head, size_t next_off, int (*done)(const void *node),
                    void (*release)(void *node));

/* policy_send.c: the network requester's exit policy for its front. */
enum nc_policy_source {
	NC_POLICY_NONE, /* not a network requester, or an open proxy (accept *:*) */
	NC_POLICY_FILE, /* [nymsuite] exit_policy_file: the supervisor reads it */
	NC_POLICY_URL,  /* upstream_exit_policy_url: netd fetches it */
};
enum nc_policy_source nc_exit_policy_source(const struct clientconf *c);
/* text in EXIT_POLICY_TEXT chunks then EXIT_POLICY_END; with error (not NULL) only the END
 * carrying it. 0 or -1 (the connection failed). */
int nc_exit_policy_send(struct ns_ipc_conn *c, const char *text, size_t len, const char *error);

/* startcheck.c: run's checks before any child starts (directories, key files, uids when
 * root, a warning for a non-loopback websocket host); 0 or -1 (reason printed). */
int nc_start_checks(const struct nc_setup *s);
/* Soft RLIMIT_NOFILE up to the hard limit (the children inherit it); logs the value. */
void nc_raise_fd_limit(void);

/* gateway file (cli.c) */
int nc_gateway_load(const struct clientconf_dirs *d, uint8_t identity[32], char *ws, size_t cap);

/* The roles: each returns the process exit status. */
int nc_supervisor_run(struct nc_setup *s);
int nc_keyd_main(void *setup);
int nc_netd_main(void *setup);
int nc_apid_main(void *setup);
int nc_socksd_main(void *setup);
int nc_exitd_main(void *setup);

/* netd_http.c: HTTP(S) GET through libcurl that works inside netd's sandbox (call the init
 * functions before the filter). CA certificates: the PEM file named by $NYMSUITE_CA_FILE,
 * else the system bundle, read into memory once. */
#define NC_CA_FILE_ENV "NYMSUITE_CA_FILE"
#define NC_HTTP_MAX_BODY NS_NYMAPI_MAX_INPUT
int nc_http_init(char *err, size_t errcap);
void nc_http_cleanup(void);
/* Blocking: malloc'd NUL-terminated body of a 2xx JSON answer, or NULL with the reason. */
char *nc_http_get(const char *url, size_t *len, char *err, size_t errcap);
const char *nc_http_ca_name(void);
/* Non-blocking, on loop (one transfer at a time): cb gets the body (NULL and a reason on
 * failure), valid during the call only. nc_http_get_async: 0 started, -1 (reason in err). */
struct ev_loop;
typedef void (*nc_http_cb)(void *ctx, const char *url, const char *body, size_t len,
                           const char *err);
int nc_http_async_init(struct ev_loop *loop, char *err, size_t errcap);
int nc_http_get_async(const char *url, nc_http_cb cb, void *ctx, char *err, size_t errcap);

/* netd_topo.c: blocking nym-api fetches (common/nymapi_fetch.h over nc_http_get). */
int nc_api_topology(struct ns_apis *a, struct ns_topo *out, char *err, size_t errcap);
int nc_api_keyrot(struct ns_apis *a, struct ns_nymapi_keyrot *out, char *err, size_t errcap);
int nc_api_gateways(struct ns_apis *a, struct ns_nymapi_page *out, char *err, size_t errcap);

/* keyd's packet building (keyd_prep.c: preparer.h cannot share a file with framing.h). */
struct nc_prep;
struct nc_prep *nc_prep_new(const uint8_t identity_pk[32], const uint8_t enc_sk[32],
                            const uint8_t ack_key[16], const uint8_t gateway[32]);
void nc_prep_free(struct nc_prep *p);
void nc_prep_self(const struct nc_prep *p, uint8_t out[96]);
/* Topology in pieces (TOPOLOGY_BEGIN / NODE / END). role 1..3 = mix layer, 4 = gateway. */
void nc_prep_topo_begin(struct nc_prep *p, uint64_t generation, uint32_t rotation, size_t n);
int nc_prep_topo_node(struct nc_prep *p, uint64_t generation, unsigned role, uint32_t node_id,
                      const uint8_t identity[32], const uint8_t sphinx_key[32],
                      const uint8_t address[32]);
int nc_prep_topo_end(struct nc_prep *p, uint64_t generation, size_t n);
int nc_prep_has_topology(const struct nc_prep *p);
/* One fragment to recipient: the sphinx packet (malloc'd) with its first hop (padded),
 * type and key rotation byte, and its expected total delay. */
struct nc_packet {
	uint8_t first_hop[32];
	uint8_t packet_type, key_rotation;
	uint8_t *packet;
	size_t len;
	uint64_t total_delay_ns;
};
/* 0, NC_PREP_UNKNOWN_GATEWAY when the recipient's gateway is not in the topology, -1 for
 * any other failure. */
#define NC_PREP_UNKNOWN_GATEWAY (-2)
int nc_prep_fragment(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t to[96],
                     int size_tag, struct nc_packet *out);
/* A build that may run on another thread (keyd's builder threads): the preparer's settings
 * copied and the topology it reads held, so that a new topology does not free it. Hold and
 * release on keyd's main thread only; the nc_prep_ref_* builds read nothing else and run on
 * any thread. nc_prep_hold: NULL without a topology (or memory). */
struct nc_prep_ref;
struct nc_prep_ref *nc_prep_hold(struct nc_prep *p);
void nc_prep_release(struct nc_prep_ref *r);
int nc_prep_ref_fragment(const struct nc_prep_ref *r, const uint8_t *frag, size_t len,
                         const uint8_t to[96], int size_tag, struct nc_packet *out);
int nc_prep_ref_reply(const struct nc_prep_ref *r, const uint8_t *frag, size_t len,
                      const uint8_t *surb, size_t surb_len, uint8_t key_rotation,
                      struct nc_packet *out);
/* How every header is built from now on (enum sphinx_secrets; the bytes are the same):
 * SPHINX_SECRETS_CHAIN is the benchmarks' pre-issue-12 baseline. */
void nc_prep_set_secrets(struct nc_prep *p, int secrets);
/* One loop cover packet to ourselves (forward per-hop mean given). */
int nc_prep_cover(struct nc_prep *p, uint64_t per_hop_delay_ns, struct nc_packet *out);
/* A pushed message (already opened): 1 = ack (frag_id), 2 = fragment (out/out_len into buf),
 * 3 = reply fragment (came through one of our SURBs; its key is forgotten), 0 = cover /
 * ignore, -1 = undecodable. */
int nc_prep_receive(struct nc_prep *p, const uint8_t *msg, size_t len, uint8_t *buf, size_t cap,
                    uint8_t frag_id[5], const uint8_t **out, size_t *out_len);

/* ---- keyd: reply SURBs (keyd_prep.c and keyd_surbs.c) */
struct nc_rkeys;
/* Where the receiver looks reply keys up (single use: a key found is forgotten). */
void nc_prep_set_reply_keys(struct nc_prep *p, struct nc_rkeys *keys);
size_t nc_prep_topology_nodes(const struct nc_prep *p);
/* count SURBs back to us (fresh random route each, current key rotation), their keys added
 * to keys; out = u32 BE count || count serialized SURBs of one length. Returns bytes or -1. */
long nc_prep_make_surbs(struct nc_prep *p, struct nc_rkeys *keys, size_t count, uint64_t now_ns,
                        uint8_t *out, size_t cap);
/* 0 if surb (one serialized ReplySurb) parses. */
int nc_prep_surb_check(const uint8_t *surb, size_t len);
/* The SphinxKeyRotation byte of the current topology (what new SURBs are made under). */
uint8_t nc_prep_key_rotation(const struct nc_prep *p);
/* One fragment as a reply through a serialized SURB (key rotation byte as given). */
int nc_prep_reply(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t *surb,
                  size_t surb_len, uint8_t key_rotation, struct nc_packet *out);
/* A one-fragment ReplyMessage SurbRequest {us, amount} through a SURB; frag_id receives
 * the random fragment id of its SURB-ack. */
int nc_prep_surb_request(struct nc_prep *p, const uint8_t *surb, size_t surb_len,
                         uint8_t key_rotation, uint32_t amount, struct nc_packet *out,
                         uint8_t frag_id[5]);

uint64_t nc_mono_ns(void);

/* Reply keys of the SURBs we made, by BLAKE3 digest: at most cap (oldest evicted), each
 * forgotten when used or older than max_age_ns. */
struct nc_rkeys *nc_rkeys_new(size_t cap, uint64_t max_age_ns);
void nc_rkeys_free(struct nc_rkeys *k);
int nc_rkeys_add(struct nc_rkeys *k, const uint8_t digest[32], const uint8_t key[16],
                 uint64_t now_ns);
/* 0 and the key (then forgotten), or -1: unknown or expired. */
int nc_rkeys_take(struct nc_rkeys *k, const uint8_t digest[32], uint8_t key[16], uint64_t now_ns);
size_t nc_rkeys_expire(struct nc_rkeys *k, uint64_t now_ns);
size_t nc_rkeys_count(const struct nc_rkeys *k);

/* The SURB list of SURBS / SURBS_RECEIVED: u32 BE count || count SURBs of one length.
 * 0 with *count and *each (0 when count is 0), or -1 if malformed. */
int nc_surb_list_parse(const uint8_t *in, size_t len, size_t max_count, size_t *count,
                       size_t *each);

/* A reply fragment waiting for a SURB of its tag. */
struct nc_reply_frag {
	struct nc_reply_frag *next;
	uint8_t frag_id[5];
	uint64_t lane, size_tag;
	size_t len;
	uint8_t data[];
};
void nc_reply_frag_free(struct nc_reply_frag *f);

/* SURBs received per sender tag, the reply fragments waiting for them and Nym's request
 * policy (client-core reply_controller/receiver_controller.rs, surb_storage.rs). */
struct nc_surbs_conf {
	size_t min_threshold, max_threshold, threshold_buffer; /* Nym debug.reply_surbs */
	uint32_t request_min, request_max;
	uint64_t rerequest_wait_ns, drop_wait_ns;
	uint64_t max_rerequests;
	size_t max_total, max_tags, max_queued_per_tag;        /* our memory bounds */
	size_t max_queued_total; /* reply fragments waiting, all tags together (0: no bound) */
	/* a queued fragment dropped (stale tag, evicted tag); may be NULL */
	void (*on_drop)(void *ctx, const struct nc_reply_frag *f);
	void *ctx;
};
struct nc_surbs;
struct nc_surbs *nc_surbs_new(const struct nc_surbs_conf *conf);
void nc_surbs_free(struct nc_surbs *s);
/* Stores one SURB (copied) under tag, creating the tag; the oldest go beyond max_threshold
 * per tag or max_total overall. 0 or -1 (no memory). */
int nc_surbs_add(struct nc_surbs *s, const uint8_t tag[16], const uint8_t *surb, size_t len,
                 uint64_t now_ns);
/* n SURBs arrived for tag: pending request count down, re-request counter reset. */
void nc_surbs_received(struct nc_surbs *s, const uint8_t tag[16], size_t n, uint64_t now_ns);
int nc_surbs_known(const struct nc_surbs *s, const uint8_t tag[16]);
size_t nc_surbs_available(const struct nc_surbs *s, const uint8_t tag[16]);
size_t nc_surbs_queued(const struct nc_surbs *s, const uint8_t tag[16]);
/* Takes the oldest SURB: for data only above the min_threshold reserve, for a SURB request
 * (ignore_reserve) any. Returns the length copied into out, or -1. */
long nc_surbs_take(struct nc_surbs *s, const uint8_t tag[16], int ignore_reserve, uint8_t *out,
                   size_t cap);
/* Queues a reply fragment behind the tag's others. -1: unknown tag, the tag's queue or all
 * queues together full, no memory. */
int nc_surbs_queue(struct nc_surbs *s, const uint8_t tag[16], const uint8_t frag_id[5],
                   uint64_t lane, uint64_t size_tag, const uint8_t *data, size_t len);
/* The oldest queued fragment of tag (the caller frees it with nc_reply_frag_free), or NULL. */
struct nc_reply_frag *nc_surbs_dequeue(struct nc_surbs *s, const uint8_t tag[16]);
/* Nym's should_request_more_surbs: the amount to request now, 0 if none is needed. */
uint32_t nc_surbs_request_amount(const struct nc_surbs *s, const uint8_t tag[16]);
/* Nym's request size for the tag's queue, whatever the stock. */
uint32_t nc_surbs_request_size(const struct nc_surbs *s, const uint8_t tag[16]);
void nc_surbs_requested(struct nc_surbs *s, const uint8_t tag[16], uint32_t amount);
/* Every few seconds (Nym: 5 s): tags with queued fragments and no SURBs for rerequest_wait
 * get rerequest(tag) (pending count reset), at most max_rerequests times; after that, or
 * after drop_wait, their queue is dropped (on_drop). */
void nc_surbs_tick(struct nc_surbs *s, uint64_t now_ns,
                   void (*rerequest)(void *ctx, const uint8_t tag[16]), void *ctx);
/* SurbRequests keyd sent, until acked: a request not acked by its deadline is sent again
 * through a new SURB, at most NC_SURB_REQUEST_RETRIES times (Nym's limit for SURB-request
 * messages); at most NC_SURB_REQUESTS_MAX at a time. */
#define NC_SURB_REQUEST_RETRIES 10
#define NC_SURB_REQUESTS_MAX 256
struct nc_surb_request {
	uint8_t tag[16];
	uint32_t amount, retransmissions; /* retransmissions: this one's number, 1.. */
};
void nc_surbs_request_sent(struct nc_surbs *s, const uint8_t tag[16], const uint8_t frag_id[5],
                           uint32_t amount, uint32_t retransmissions, uint64_t deadline_ns);
/* 1 if frag_id was one of our requests (now forgotten), else 0. */
int nc_surbs_request_acked(struct nc_surbs *s, const uint8_t frag_id[5]);
/* UINT64_MAX when no request waits for its ack. */
uint64_t nc_surbs_next_request_deadline(const struct nc_surbs *s);
/* Every request past its deadline is forgotten; those below the retransmission limit go to
 * resend (which records the new packet with nc_surbs_request_sent). */
void nc_surbs_requests_due(struct nc_surbs *s, uint64_t now_ns,
                           void (*resend)(void *ctx, const struct nc_surb_request *r), void *ctx);
/* Every tag whose SURBs last arrived before before_ns goes (its queue reported dropped); the
 * number of SURBs dropped. */
size_t nc_surbs_drop_received_before(struct nc_surbs *s, uint64_t before_ns);
size_t nc_surbs_tag_count(const struct nc_surbs *s);
/* Tag i (0 .. tag_count - 1) in no particular order. */
const uint8_t *nc_surbs_tag_at(const struct nc_surbs *s, size_t i);
size_t nc_surbs_total(const struct nc_surbs *s);
size_t nc_surbs_queued_total(const struct nc_surbs *s); /* reply fragments waiting */

/* The reply store (keyd_store.c, common/replystore.h). Each live key with its time. */
void nc_rkeys_each(const struct nc_rkeys *k,
                   void (*fn)(void *ctx, const uint8_t digest[32], const uint8_t key[16],
                              uint64_t sent_ns),
                   void *ctx);
/* When SURBs for tag i last arrived; its SURBs (as stored: rotation byte || SURB), oldest
 * first. */
uint64_t nc_surbs_tag_received_ns(const struct nc_surbs *s, size_t i);
void nc_surbs_tag_each(const struct nc_surbs *s, size_t i,
                       void (*fn)(void *ctx, const uint8_t *surb, size_t len), void *ctx);
/* Before keyd's sandbox: loads storage_paths.reply_surb_database into keys and surbs (Nym's
 * rules; a refused store is set aside as Nym does), marks the file in use (client_in_use, a
 * new image renamed into place) and opens <path>.new for the image of the shutdown. A
 * missing or refused store is no error: keyd starts with none. -1 only when out of memory. */
struct nc_store;
struct nc_store *nc_store_open(const struct nc_setup *s, struct nc_rkeys *keys,
                               struct nc_surbs *surbs);
/* At keyd's end (sandboxed): the whole state as a new image into <path>.new, fsync'd. The
 * image's length (the supervisor then renames the file into place), or 0 when nothing was
 * saved. Frees st. */
uint64_t nc_store_save(struct nc_store *st, const struct nc_rkeys *keys,
                       const struct nc_surbs *surbs);
/* Before keyd's sandbox: a SQLite file's write-ahead log left beside it (Nym's client exits
 * without closing its pool) folded into the file, so that its bytes are the whole DB. */
void nc_sqlite_fold_wal(const char *path);
/* <path>.new, the shutdown image's name (the supervisor renames it). */
#define NC_STORE_NEW_SUFFIX ".new"

#endif
