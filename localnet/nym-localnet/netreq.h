/* The localnet's network requester (nym-network-requester from the same folder as
 * nym-localnet): its exit policy file, its init against the localnet, its address from its
 * log and its counters through its admin socket (nymctl's protocol). */
#ifndef LN_NETREQ_H
#define LN_NETREQ_H
#include <stddef.h>
#include <stdint.h>

#define LN_NR_NAME "network-requester"
#define LN_NR_ID "nr"

/* DIR/exit-policy.txt (the directory serves it at /exit-policy.txt). 0 or -1. */
int ln_nr_write_policy(const char *dir);
/* DIR/nr: the NR's --home. */
void ln_nr_home(const char *dir, char *out, size_t cap);
/* init (once: a later up reuses its keys) with the localnet's nym-api and gateway, its
 * upstream_exit_policy_url set to the directory's. 0, or -1 with the reason in err. */
int ln_nr_init(const char *binary, const char *dir, uint16_t directory_port,
               const char *gateway_id, char *err, size_t errcap);
/* The address the running NR logged, 0; -1 while it has not. */
int ln_nr_address(const char *dir, char *out, size_t cap);
/* Its counters as "name=value" words separated by spaces. 0 or -1. */
int ln_nr_stats(const char *dir, char *out, size_t cap);

#endif
