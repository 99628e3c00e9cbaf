/* On-disk state of Nym b4046a89's three client programs (the kind), laid out as Nym does:
 *   nym-client             <home>/.nym/clients/<id>/
 *   nym-socks5-client      <home>/.nym/socks5-clients/<id>/
 *   nym-network-requester  <home>/.nym/service-providers/network-requester/<id>/
 * each with config/config.toml (init's handlebars template, mode 0600) and
 * data/{private_identity,public_identity,private_encryption,public_encryption,ack_key}.pem
 * (mode 0600) and the DBs, where <home> is $NYM_HOME_DIR, else $HOME. The config model
 * carries every key each program's Config accepts, with Nym's defaults for keys left out;
 * unknown keys are refused naming the key. The base client's keys land in the same fields
 * whatever the kind (the SOCKS client nests them under [core.client] and [core.debug.*]).
 * After Nym's template we write (and read) one table of our own, [nymsuite]:
 *   every kind   admin_socket (nymctl's socket), privsep_uid_base, log_level (common/log.h;
 *                $RUST_LOG wins), receive_batch_delay, keyd_workers
 *   nym-client   api_socket, max_apps, buffer_mib, handshake_timeout, partial_timeout
 *   SOCKS client unix_socket (SOCKS on a 0600 Unix socket, '' = off), http_connect (true),
 *                max_connections (1024)
 *   NR           exit_policy_file (instead of upstream_exit_policy_url, '' = the URL),
 *                max_connections (1024), max_connections_per_sender (64), buffer_mib (64)
 * A key of another kind is refused like any unknown key. */
#ifndef NS_CLIENTCONF_H
#define NS_CLIENTCONF_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/address.h"

#define CLIENTCONF_VERSION "1.1.64"
#define CLIENTCONF_PATH_MAX 1024
#define CLIENTCONF_ID_MAX 256
#define CLIENTCONF_URL_MAX 512
#define CLIENTCONF_MAX_URLS 16
#define CLIENTCONF_ERR_MAX 256

enum clientconf_kind {
	CC_KIND_CLIENT = 0, /* nym-client */
	CC_KIND_SOCKS5,     /* nym-socks5-client */
	CC_KIND_NR,         /* nym-network-requester */
};
#define CLIENTCONF_NR_VERSION "1.1.65" /* the network requester's crate version */

enum clientconf_packet_size {
	CC_SIZE_REGULAR = 0, CC_SIZE_ACK, CC_SIZE_EXTENDED8, CC_SIZE_EXTENDED16, CC_SIZE_EXTENDED32,
	CC_SIZE_OUTFOX_REGULAR, CC_SIZE_OUTFOX_ACK,
};

/* All durations are in nanoseconds. */
struct clientconf_debug {
	/* traffic */
	uint64_t average_packet_delay_ns, message_sending_average_delay_ns;
	int disable_main_poisson_packet_distribution, deterministic_route_selection;
	int has_max_retransmissions;
	uint32_t maximum_number_of_retransmissions;
	enum clientconf_packet_size primary_packet_size;
	int has_secondary_packet_size;
	enum clientconf_packet_size secondary_packet_size;
	int use_legacy_sphinx_format;
	int packet_type_outfox; /* 0 = mix (alias sphinx) */
	int disable_mix_hops;
	/* cover_traffic */
	uint64_t loop_cover_traffic_average_delay_ns;
	double cover_traffic_primary_size_ratio;
	int disable_loop_cover_traffic_stream;
	/* gateway_connection */
	uint64_t gateway_response_timeout_ns;
	/* acknowledgements */
	uint64_t average_ack_delay_ns;
	double ack_wait_multiplier;
	uint64_t ack_wait_addition_ns;
	/* topology */
	uint64_t topology_refresh_rate_ns, topology_resolution_timeout_ns;
	int disable_refreshing;
	uint64_t max_startup_gateway_waiting_period_ns;
	uint8_t minimum_mixnode_performance, minimum_gateway_performance;
	int use_extended_topology, ignore_egress_epoch_role, ignore_ingress_epoch_role;
	/* reply_surbs */
	uint64_t minimum_reply_surb_storage_threshold, maximum_reply_surb_storage_threshold;
	uint64_t minimum_reply_surb_threshold_buffer;
	uint32_t minimum_reply_surb_request_size, maximum_reply_surb_request_size;
	uint32_t maximum_allowed_reply_surb_request_size;
	uint64_t maximum_reply_surb_rerequest_waiting_period_ns;
	uint64_t maximum_reply_surb_drop_waiting_period_ns;
	uint64_t maximum_reply_surbs_rerequests;
	uint64_t maximum_reply_key_age_ns;
	int has_surb_mix_hops;
	uint8_t surb_mix_hops;
	/* stats_reporting */
	int stats_enabled;
	int has_stats_provider;
	struct nym_recipient stats_provider;
	uint64_t stats_reporting_interval_ns;
	/* forget_me / remember_me */
	int forget_me_client, forget_me_stats;
	int remember_me_stats;
	char remember_me_session_type[32];
};

/* ProviderInterfaceVersion / Socks5ProtocolVersion: {type="Legacy"} or
 * {type="Versioned", version=N}; a key left out means Versioned(3). */
struct clientconf_version {
	int legacy;
	uint8_t version; /* when not legacy */
};
#define CLIENTCONF_IFACE_VERSION 3

/* nym-socks5-client: [core.socks5] and its [nymsuite] keys. */
struct clientconf_socks5 {
	int has_provider; /* 0 only before init sets it: rendered as '' and refused by the parser */
	struct nym_recipient provider_mix_address;
	char bind_host[64]; /* IP address text as written, without brackets */
	uint16_t bind_port;
	int send_anonymously;
	uint32_t connection_start_surbs, per_request_surbs; /* [core.socks5.socks5_debug] */
	struct clientconf_version provider_interface_version, socks5_protocol_version;
	/* [nymsuite] */
	char unix_socket[CLIENTCONF_PATH_MAX]; /* SOCKS on a 0600 Unix socket; '' = off */
	int http_connect;                      /* HTTP CONNECT on the SOCKS port */
	uint64_t max_connections;
};
#define CLIENTCONF_SOCKS5_PORT 1080
#define CLIENTCONF_START_SURBS 20
#define CLIENTCONF_PER_REQUEST_SURBS 3
#define CLIENTCONF_MAX_CONNECTIONS 1024

/* nym-network-requester: [network_requester], [network_requester_debug] and its [nymsuite]
 * keys. disable_poisson_rate is kept as written; the program applies it to
 * debug.disable_main_poisson_packet_distribution at start, as Nym's CLI does. */
struct clientconf_nr {
	int open_proxy, disable_poisson_rate;
	char upstream_exit_policy_url[CLIENTCONF_URL_MAX]; /* '' = none */
	uint64_t standard_list_update_interval_ns;         /* deprecated, unused by Nym */
	/* [nymsuite] */
	char exit_policy_file[CLIENTCONF_PATH_MAX]; /* used instead of the URL; '' = the URL */
	uint64_t max_connections, max_connections_per_sender;
	uint64_t buffer_mib; /* all connections' buffered bytes together */
};
#define CLIENTCONF_EXIT_POLICY_URL \
	"https://nymtech.net/.wellknown/network-requester/exit-policy.txt"
#define CLIENTCONF_STANDARD_LIST_UPDATE_NS (1800ull * 1000000000ull)
#define CLIENTCONF_NR_MAX_PER_SENDER 64
#define CLIENTCONF_NR_BUFFER_MIB 64

struct clientconf {
	enum clientconf_kind kind;
	char version[64];
	char id[CLIENTCONF_ID_MAX];
	int disabled_credentials_mode;
	char nyxd_urls[CLIENTCONF_MAX_URLS][CLIENTCONF_URL_MAX];
	size_t n_nyxd_urls;
	char nym_api_urls[CLIENTCONF_MAX_URLS][CLIENTCONF_URL_MAX];
	size_t n_nym_api_urls;
	/* storage_paths */
	char private_identity_key_file[CLIENTCONF_PATH_MAX];
	char public_identity_key_file[CLIENTCONF_PATH_MAX];
	char private_encryption_key_file[CLIENTCONF_PATH_MAX];
	char public_encryption_key_file[CLIENTCONF_PATH_MAX];
	char ack_key_file[CLIENTCONF_PATH_MAX];
	char credentials_database[CLIENTCONF_PATH_MAX];
	char reply_surb_database[CLIENTCONF_PATH_MAX];
	char gateway_registrations[CLIENTCONF_PATH_MAX];
	/* socket (nym-client only) */
	int socket_websocket; /* 1 = 'WebSocket', 0 = 'None' */
	char host[64];        /* IP address text as written */
	uint16_t listening_port;
	struct clientconf_debug debug;
	/* [nymsuite]: our own table after Nym's template (Nym's client ignores it, see
	 * docs/client-api.md §8). Rendered only when has_nymsuite is set (nym-client's init sets
	 * it). Nym's SOCKS client and NR refuse a config holding an unknown table, so for them the
	 * table is rendered only when one of its keys is not the default. */
	int has_nymsuite;
	char api_socket[CLIENTCONF_PATH_MAX];   /* Unix-socket API; '' = off (nym-client only) */
	char admin_socket[CLIENTCONF_PATH_MAX]; /* nymctl's socket; '' = the default below */
	/* privsep_uid_base: started as root, keyd, netd and apid run as uid and gid base+0,
	 * base+1, base+2 (docs/sandbox.md); rendered only when not the default */
	uint32_t privsep_uid_base;
	/* log_level: "error" .. "trace" or "off" (common/log.h); '' = INFO. $RUST_LOG wins. */
	char log_level[8];
	/* receive_batch_delay: a frame the gateway pushes makes netd leave the gateway socket
	 * unread this long and then hand keyd that frame and everything that came meanwhile at
	 * once (fewer wake-ups per packet). 0 = off */
	uint64_t receive_batch_ns;
	/* keyd_workers: the cores keyd builds packets on (its main thread + N-1 builder threads);
	 * 0 = every online core (the default), 1 = no thread (as before issue 12). 0..64 */
	uint64_t keyd_workers;
	struct clientconf_apid_limits {
		uint64_t max_apps;             /* websocket + Unix-socket apps held at once */
		uint64_t buffer_mib;           /* apid's global budget for connection buffers */
		uint64_t handshake_timeout_ns; /* websocket upgrade not done in time: closed */
		uint64_t partial_timeout_ns;   /* a partial message/frame without progress: closed */
	} limits; /* optional keys of [nymsuite] (nym-client only); rendered only when not the
	           * defaults */
	struct clientconf_socks5 socks5; /* kind CC_KIND_SOCKS5 */
	struct clientconf_nr nr;         /* kind CC_KIND_NR */
};

#define CLIENTCONF_MAX_APPS 8192
#define CLIENTCONF_BUFFER_MIB 128
#define CLIENTCONF_HANDSHAKE_TIMEOUT_NS 10000000000ull
#define CLIENTCONF_PARTIAL_TIMEOUT_NS 60000000000ull
void clientconf_limits_defaults(struct clientconf_apid_limits *l);

/* 0x6E790000: in systemd's container uid range (524288..1879048191), 64 Ki-aligned; no
 * distribution allocates users there. Each program takes three ids from base + 3 x kind
 * (nym-client base + 0..2, nym-socks5-client + 3..5, nym-network-requester + 6..8), so a
 * process of one program shares no uid with another's. */
#define CLIENTCONF_PRIVSEP_UID_BASE 1853423616u
#define CLIENTCONF_PRIVSEP_UID_MAX 4294967286u

#define CLIENTCONF_RECEIVE_BATCH_NS 5000000ull       /* 5 ms */
#define CLIENTCONF_RECEIVE_BATCH_MAX_NS 100000000ull  /* 100 ms */
#define CLIENTCONF_KEYD_WORKERS 0                     /* one per online core */
#define CLIENTCONF_KEYD_WORKERS_MAX 64

#define CLIENTCONF_API_SOCKET "nym-client.sock"
#define CLIENTCONF_ADMIN_SOCKET "nymctl.sock"

struct clientconf_dirs {
	char base[CLIENTCONF_PATH_MAX];        /* <home>/.nym/<the kind's folder>/<id> */
	char config_dir[CLIENTCONF_PATH_MAX];  /* base/config */
	char config_file[CLIENTCONF_PATH_MAX]; /* base/config/config.toml */
	char data_dir[CLIENTCONF_PATH_MAX];    /* base/data */
};

/* home_override (may be NULL) beats $NYM_HOME_DIR, which beats $HOME. 0 or -1 (no home,
 * id empty or containing '/', or too long). */
int clientconf_dirs(const char *home_override, const char *id, struct clientconf_dirs *d);
/* The same for any kind (clientconf_dirs is kind CC_KIND_CLIENT). */
int clientconf_dirs_kind(enum clientconf_kind k, const char *home_override, const char *id,
                         struct clientconf_dirs *d);
/* "nym-client", "nym-socks5-client", "nym-network-requester"; NULL for another value. */
const char *clientconf_kind_program(enum clientconf_kind k);

/* init step 2: 1 if config/config.toml already exists ("was already initialised before"). */
int clientconf_is_initialised(const struct clientconf_dirs *d);
/* init step 3: creates data/ and config/ (and parents). Mode 0700 where Nym's create_dir_all
 * would use 0777 & ~umask: stricter, invisible to a compatible client. 0 or -1. */
int clientconf_make_dirs(const struct clientconf_dirs *d);

/* Nym's defaults for a fresh `init --id id` (config.rs Config::new + debug defaults):
 * disabled_credentials_mode true, mainnet URLs, paths under d->data_dir, WebSocket on
 * 127.0.0.1:1977. 0 or -1 (too long). */
int clientconf_init_defaults(struct clientconf *c, const struct clientconf_dirs *d, const char *id);
/* The same for any kind. nym-socks5-client: Config::new's [core.socks5] (127.0.0.1:1080,
 * send_anonymously false, 20 and 3 SURBs) with both versions Versioned(3) (what loading the
 * written file gives; the template never writes them), the provider left for the caller
 * (has_provider 0). nym-network-requester: version 1.1.65, open_proxy false,
 * disable_poisson_rate true, Nym's upstream exit-policy URL. Neither gets a [nymsuite] table:
 * the file is exactly Nym's. 0 or -1. */
int clientconf_init_defaults_kind(struct clientconf *c, enum clientconf_kind k,
                                  const struct clientconf_dirs *d, const char *id);
void clientconf_socks5_defaults(struct clientconf_socks5 *s);
void clientconf_nr_defaults(struct clientconf_nr *n);
/* The admin socket in use: c->admin_socket, else <data dir>/nymctl.sock. 0 or -1 (too long). */
int clientconf_admin_path(const struct clientconf *c, const struct clientconf_dirs *d, char *out,
                          size_t cap);
/* Only the debug.* defaults (what a config without [debug] gets). */
void clientconf_debug_defaults(struct clientconf_debug *dbg);

/* config.toml as c->kind's `init` writes it (its CONFIG_TEMPLATE rendered by handlebars
 * 3.5.5, values HTML-escaped), then [nymsuite]. Keys the template does not hold are not
 * written, as in Nym. malloc'd, NUL-terminated; NULL on OOM. */
char *clientconf_render(const struct clientconf *c, size_t *len);
/* Reads nym-client's config.toml text. 0, or -1 with a message naming the bad key in err. */
int clientconf_parse(const char *text, size_t len, struct clientconf *c, char err[CLIENTCONF_ERR_MAX]);
/* The same for any kind; sets c->kind. */
int clientconf_parse_kind(enum clientconf_kind k, const char *text, size_t len,
                          struct clientconf *c, char err[CLIENTCONF_ERR_MAX]);

/* Writes with mode 0600, creating parent directories (0700). 0 or -1 (errno set). */
int clientconf_write_file(const char *path, const char *data, size_t len);
int clientconf_save(const char *path, const struct clientconf *c);
int clientconf_load(const char *path, struct clientconf *c, char err[CLIENTCONF_ERR_MAX]);
int clientconf_load_kind(enum clientconf_kind k, const char *path, struct clientconf *c,
                         char err[CLIENTCONF_ERR_MAX]);

/* humantime: format_duration text ("15ms", "5m", "1day", "1s 500ms") and parse_duration. */
int clientconf_format_duration(uint64_t ns, char *out, size_t cap);
int clientconf_parse_duration(const char *s, uint64_t *ns);

/* Key files. */
enum clientconf_key {
	CC_KEY_PRIVATE_IDENTITY = 0,
	CC_KEY_PUBLIC_IDENTITY,
	CC_KEY_PRIVATE_ENCRYPTION,
	CC_KEY_PUBLIC_ENCRYPTION,
	CC_KEY_ACK,
};
const char *clientconf_pem_label(enum clientconf_key k); /* "ED25519 PRIVATE KEY", ... */
size_t clientconf_key_len(enum clientconf_key k);        /* 32, or 16 for the ack key */
/* 1 for the private identity, private encryption and ack keys (checked as OpenSSH checks
 * its keys: regular file, owner the running user or root, mode without group/other bits). */
int clientconf_key_is_private(enum clientconf_key k);
const char *clientconf_key_path(const struct clientconf *c, enum clientconf_key k);
/* pem 0.8.3 encode: CRLF line endings, 64-column standard base64. malloc'd. */
char *clientconf_pem_encode(const char *label, const uint8_t *data, size_t len, size_t *out_len);
/* pem::parse then the label check of pemstore::load_key. Returns the byte count or -1. */
long clientconf_pem_decode(const char *text, size_t len, const char *want_label, uint8_t *out,
                           size_t cap, char err[CLIENTCONF_ERR_MAX]);
/* Writes / reads one key file (0600). Read checks label and length. 0 or -1. */
int clientconf_write_key(const char *path, enum clientconf_key k, const uint8_t *key);
int clientconf_read_key(const char *path, enum clientconf_key k, uint8_t *key,
                        char err[CLIENTCONF_ERR_MAX]);

#endif
