/* The network requester's reading of a Connect target ("host:port" as the SOCKS client or
 * mix-fetch sends it) and its connect decision over the resolved addresses: every address
 * must pass the exit policy and the special-address guard (exit_policy.h), and the
 * connection then goes to one of those checked addresses, never to a second resolution. */
#ifndef NS_NR_TARGET_H
#define NS_NR_TARGET_H
#include <stddef.h>
#include <stdint.h>

#include "proxy/exit_policy.h"

#define NR_TARGET_HOST_MAX 256 /* a DNS name is at most 253 bytes; a v6 literal less */

/* Splits at the last ':' (tokio's lookup_host: "[v6]:port" and "v4:port" as socket
 * addresses, anything else as name:port); brackets around the host are removed. The host
 * must be non-empty, free of NUL and shorter than NR_TARGET_HOST_MAX; the port 0..65535 in
 * decimal. 0, or -1 when the text is no target. */
int nr_target_split(const uint8_t *addr, size_t len, char host[NR_TARGET_HOST_MAX],
                    uint16_t *port);

/* 1 for names that never resolve and need no look-up (RFC 6761 "invalid" and its
 * subdomains): the answer is known without a packet leaving the host. */
int nr_target_never_resolves(const char *host);

/* The decision: ALLOW when every address passes the guard, with *first the index of the
 * first address to connect to (the others, all checked, are the fall-backs in order);
 * otherwise the verdict of the first refused address. */
enum ns_exit_verdict nr_target_decide(const struct ns_exit_policy *policy,
                                      const struct ns_exit_addr *addrs, size_t n, uint16_t port,
                                      size_t *first);

#endif
