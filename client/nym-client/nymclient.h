/* nym-client internals: the supervisor and its three children (keyd, netd, apid).
 * Each role is one file; this header is what they share. */
#ifndef NYMCLIENT_H
#define NYMCLIENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clientconf.h"

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
	int fds[NC_PAIRS][2];
	int sandbox_debug;
	int test_keyd_socket; /* test hook: keyd calls socket() once sandboxed (must die) */
};

/* proc.c */
/* Forks; the child runs fn(arg) and _exits with its result. Returns the pid or -1. */
pid_t nc_spawn(int (*fn)(void *), void *arg);
/* Closes every end of setup->fds except keep[0..n). */
void nc_close_except(struct nc_setup *s, const int *keep, size_t n);
/* Runs what libc caches on first use while the sandbox still allows it. */
void nc_log(const char *role, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gateway file (main.c) */
int nc_gateway_load(const struct clientconf_dirs *d, uint8_t identity[32], char *ws, size_t cap);

/* The roles: each returns the process exit status. */
int nc_supervisor_run(struct nc_setup *s);
int nc_keyd_main(void *setup);
int nc_netd_main(void *setup);
int nc_apid_main(void *setup);

/* netd: a blocking plain-HTTP GET of http://127.0.0.1:PORT/path. malloc'd body or NULL. */
char *nc_http_get(const char *url, size_t *len, char *err, size_t errcap);

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
int nc_prep_fragment(struct nc_prep *p, const uint8_t *frag, size_t len, const uint8_t to[96],
                     int size_tag, struct nc_packet *out);
/* One loop cover packet to ourselves (forward per-hop mean given). */
int nc_prep_cover(struct nc_prep *p, uint64_t per_hop_delay_ns, struct nc_packet *out);
/* A pushed message (already opened): 1 = ack (frag_id), 2 = fragment (out/out_len into buf),
 * 0 = cover / ignore, -1 = undecodable. */
int nc_prep_receive(struct nc_prep *p, const uint8_t *msg, size_t len, uint8_t *buf, size_t cap,
                    uint8_t frag_id[5], const uint8_t **out, size_t *out_len);

#endif
