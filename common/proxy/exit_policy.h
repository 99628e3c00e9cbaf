/* The network requester's exit policy in Nym's text format ("ExitPolicy accept 1.2.3.0/24:443"
 * per line, '#' comments), first-match-wins matching of an (address, port), and the SSRF
 * guard that sits on top of it (beyond Nym): loopback, private, link-local, multicast,
 * unspecified and reserved destinations are refused unless the rule that accepts them names
 * them with an address pattern (not *, *4, *6 or a /0). */
#ifndef NS_EXIT_POLICY_H
#define NS_EXIT_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/nr_proto.h"

struct sockaddr;

#define NS_EXIT_POLICY_MAX_RULES 65536
#define NS_EXIT_POLICY_MAX_TEXT (4u << 20)

/* The rules are nr_proto's struct nr_policy_rule, so the ExitPolicy query response carries
 * them as they are: the action (accept6/reject6 act as accept/reject; only the name
 * differs), the address pattern ("*", "*4", "*6", or an address with a mask of 1..32 /
 * 1..128, host bits kept as written; a /0 is read as "*4" / "*6"), the ports port_lo..port_hi
 * ("*" is 1..65535; Nym's port-0 rule is 0..0). */
struct ns_exit_policy {
	struct nr_policy_rule *rules;
	size_t n_rules;
};

enum ns_exit_family { NS_EXIT_V4 = 4, NS_EXIT_V6 = 6 };

/* An address to check: 4 or 16 bytes. */
struct ns_exit_addr {
	enum ns_exit_family family; /* V4 or V6 */
	uint8_t bytes[16];
};

enum ns_exit_parse_err {
	NS_EXIT_PARSE_OK = 0,
	NS_EXIT_PARSE_NO_PREFIX,         /* the line does not start with "ExitPolicy" */
	NS_EXIT_PARSE_MALFORMED_RULE,    /* no space between action and pattern */
	NS_EXIT_PARSE_BAD_ACTION,
	NS_EXIT_PARSE_MALFORMED_PATTERN, /* no ':' or nothing after the last one */
	NS_EXIT_PARSE_BAD_PATTERN,       /* not "*", "*4", "*6" or an address whose mask fits its
	                                  * family (what nr_ip_pattern_parse refuses) */
	NS_EXIT_PARSE_BAD_PORT,          /* not a number 0..65535 */
	NS_EXIT_PARSE_BAD_RANGE,         /* N-M with N = 0 or N > M */
	NS_EXIT_PARSE_TOO_MANY_RULES,
	NS_EXIT_PARSE_TOO_LONG,          /* text over NS_EXIT_POLICY_MAX_TEXT */
	NS_EXIT_PARSE_NO_MEMORY,
};

struct ns_exit_parse_error {
	enum ns_exit_parse_err kind;
	size_t line; /* 1-based; 0 when the error is not about a line */
};

enum ns_exit_verdict {
	NS_EXIT_ALLOW = 0,
	NS_EXIT_DENY_POLICY,    /* the first matching rule rejects */
	NS_EXIT_DENY_UNCOVERED, /* no rule matches (Nym: an error, treated as reject) */
	NS_EXIT_DENY_SPECIAL,   /* accepted, but a special address that no rule names */
	NS_EXIT_DENY_NO_ADDRESS, /* nothing resolved */
};

/* Parses text (any bytes; need not be NUL-terminated). On success *out owns its rules
 * (free with ns_exit_policy_free). On failure returns -1, *out is empty, err says what and
 * on which line. */
int ns_exit_policy_parse(const char *text, size_t len, struct ns_exit_policy *out,
                         struct ns_exit_parse_error *err);
const char *ns_exit_parse_err_text(enum ns_exit_parse_err kind);
void ns_exit_policy_free(struct ns_exit_policy *p);

/* The open-proxy policy: the single rule "accept *:*". -1 if out of memory. */
int ns_exit_policy_open(struct ns_exit_policy *out);
/* Nym's test: exactly one rule, accept (not accept6), "*", all ports. */
bool ns_exit_policy_is_open(const struct ns_exit_policy *p);

/* The policy as Nym renders it: "ExitPolicy <action> <pattern>:<ports>" lines joined by
 * '\n', no trailing newline; the pattern as nr_ip_pattern_format writes it. Writes at most
 * cap bytes (NUL-terminated when cap > 0) and returns the length the full text needs, like
 * snprintf. */
size_t ns_exit_policy_render(const struct ns_exit_policy *p, char *out, size_t cap);

/* Nym's matching: the index of the first rule covering (addr, port), or -1. A port of 0
 * matches on the address alone. An IPv6 address only meets "*", "*6" and IPv6 patterns. */
long ns_exit_policy_match(const struct ns_exit_policy *p, const struct ns_exit_addr *addr,
                          uint16_t port);
/* Nym's check of resolved addresses: ALLOW only if every one is covered by an accepting
 * rule; otherwise the verdict of the first that is not (NO_ADDRESS when n == 0). */
enum ns_exit_verdict ns_exit_policy_allows_all(const struct ns_exit_policy *p,
                                               const struct ns_exit_addr *addrs, size_t n,
                                               uint16_t port);

/* The address class the SSRF guard refuses, or NULL for an ordinary address: "loopback",
 * "private", "shared (CGNAT)", "link-local", "multicast", "unspecified", "reserved",
 * "broadcast", "unique-local", "site-local". IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are judged by the IPv4 inside. */
const char *ns_exit_special_class(const struct ns_exit_addr *addr);

/* The guard's decision for one resolved address: the policy accepts it (an IPv4-mapped
 * address is matched as the IPv4 it reaches) and, if it is special, the accepting rule is
 * not a wildcard. */
enum ns_exit_verdict ns_exit_guard_check(const struct ns_exit_policy *p,
                                         const struct ns_exit_addr *addr, uint16_t port);
/* The guard over every resolved address: ALLOW only if each is allowed; otherwise the
 * verdict of the first refused one, whose index goes to *failed (may be NULL). */
enum ns_exit_verdict ns_exit_guard_check_all(const struct ns_exit_policy *p,
                                             const struct ns_exit_addr *addrs, size_t n,
                                             uint16_t port, size_t *failed);
const char *ns_exit_verdict_text(enum ns_exit_verdict v);

/* From a resolver result (AF_INET / AF_INET6); -1 for other families. port may be NULL. */
int ns_exit_addr_from_sockaddr(const struct sockaddr *sa, struct ns_exit_addr *out,
                               uint16_t *port);
/* From text: a dotted quad or an IPv6 address (no brackets). -1 if neither. */
int ns_exit_addr_from_text(const char *text, struct ns_exit_addr *out);

#endif
