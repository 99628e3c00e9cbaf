/* The localnet node descriptor: one TOML file per node (DIR/nodes/NAME.toml), written by
 * nym-localnet, read by the node itself (nym-mixnode / nym-gateway --config FILE) and by
 * nym-directory. Layout (every key shown is written; see localnet/README.md):
 *
 *   [node]     id = 1, name = "mix1", role = "mixnode" | "gateway", layer = 1..3 (0 for gateways)
 *   [listen]   host = "127.0.0.1", mix_port = N, clients_ws_port = N (gateways; 0 otherwise)
 *   [keys]     identity_key = "<bs58 ed25519 public>", sphinx_key = "<bs58 x25519 public>",
 *              identity_seed_file = "PATH" | identity_seed = "<64 hex>",
 *              sphinx_secret_file = "PATH" | sphinx_secret = "<64 hex>", key_rotation_id = 3
 *   [network]  absolute_epoch_id = 100, directory_url = "http://127.0.0.1:PORT",
 *              topology_file = "PATH"
 *   [run]      ready_file = "PATH", stats_file = "PATH", log_file = "PATH"
 *   [debug]    drop_rate = 0.0, no_delay = false
 *
 * Secret key files hold 64 lowercase hex characters and a newline, mode 0600. */
#ifndef NS_NODECONF_H
#define NS_NODECONF_H
#include <stddef.h>
#include <stdint.h>

#include "toml.h"

#define NS_NODECONF_PATH_MAX 512
#define NS_NODECONF_NAME_MAX 32
#define NS_NODECONF_HOST_MAX 64

enum ns_node_role { NS_ROLE_MIXNODE = 1, NS_ROLE_GATEWAY = 2 };

struct ns_nodeconf {
	uint32_t id;                              /* > 0, unique in the network */
	char name[NS_NODECONF_NAME_MAX];          /* [A-Za-z0-9_-]+ */
	enum ns_node_role role;
	uint8_t layer;                            /* 1..3 for mix nodes, 0 for gateways */
	char host[NS_NODECONF_HOST_MAX];          /* IP literal: 127.0.0.1 or ::1 */
	uint16_t mix_port;
	uint16_t clients_ws_port;                 /* gateways only */
	/* gateways, optional: what the directory announces, as a nym-node's announce_* settings:
	 * a host name, the ws port clients use (0: clients_ws_port) and a TLS (wss) port (0:
	 * none). localnet runs the TLS terminator and the delaying front behind those ports. */
	char hostname[NS_NODECONF_HOST_MAX];
	uint16_t announce_ws_port;
	uint16_t clients_wss_port;
	char tls_cert_file[NS_NODECONF_PATH_MAX]; /* [tls] PEM chain and key of the wss listener */
	char tls_key_file[NS_NODECONF_PATH_MAX];
	uint32_t client_delay_ms;                 /* [debug] added by the fronts to client bytes */
	uint8_t identity_key[32];                 /* ed25519 public */
	uint8_t sphinx_key[32];                   /* x25519 public */
	char identity_seed_file[NS_NODECONF_PATH_MAX]; /* "" when the seed is inline */
	char sphinx_secret_file[NS_NODECONF_PATH_MAX];
	int has_identity_seed, has_sphinx_secret; /* inline secret values present */
	uint8_t identity_seed[32];
	uint8_t sphinx_secret[32];
	uint32_t key_rotation_id;                 /* rotation id of the (single) sphinx key */
	uint32_t absolute_epoch_id;
	char directory_url[NS_NODECONF_PATH_MAX];
	char topology_file[NS_NODECONF_PATH_MAX];
	char ready_file[NS_NODECONF_PATH_MAX];
	char stats_file[NS_NODECONF_PATH_MAX];
	char log_file[NS_NODECONF_PATH_MAX];
	double drop_rate;                         /* 0..1, probability a node drops a packet */
	int no_delay;                             /* mix nodes forward at once, ignoring delays */
};

enum ns_nodeconf_err {
	NS_NODECONF_ERR_TOML = -1,    /* TOML syntax; see the toml_error */
	NS_NODECONF_ERR_MISSING = -2, /* a required key is missing or has the wrong type */
	NS_NODECONF_ERR_RANGE = -3,   /* a value is out of range or malformed */
	NS_NODECONF_ERR_IO = -4,
	NS_NODECONF_ERR_KEY = -5,     /* a secret does not match its public key */
};

/* Parses a descriptor. On error returns a code above and, when err is non-NULL, a message
 * (err->line is the TOML line for syntax errors, else 0). Wipes *conf first. */
int ns_nodeconf_parse(const char *text, size_t len, struct ns_nodeconf *conf, struct toml_error *err);
int ns_nodeconf_load(const char *path, struct ns_nodeconf *conf, struct toml_error *err);
/* The descriptor as TOML (malloc'd). Inline secrets are written only when has_* is set. */
char *ns_nodeconf_to_toml(const struct ns_nodeconf *conf);
/* Writes atomically (temp file + rename), mode 0600 if it holds inline secrets, else 0644. */
int ns_nodeconf_save(const char *path, const struct ns_nodeconf *conf);

/* Loads every DIR/ *.toml, sorted by id; ids and names must be unique. *out is malloc'd. */
int ns_nodeconf_load_dir(const char *dir, struct ns_nodeconf **out, size_t *n, struct toml_error *err);

/* The node's secrets: from the inline values or the files, checked against the public keys
 * (identity: ed25519 public from the seed; sphinx: X25519 base-point multiple). The caller
 * wipes them with ns_memzero. */
int ns_nodeconf_load_secrets(const struct ns_nodeconf *conf, uint8_t identity_seed[32],
                             uint8_t sphinx_secret[32]);

/* Reads / writes a secret key file (64 hex chars + optional newline). Write uses O_EXCL|0600. */
int ns_keyfile_read(const char *path, uint8_t key[32]);
int ns_keyfile_write(const char *path, const uint8_t key[32]);

const char *ns_node_role_name(enum ns_node_role role);

#endif
