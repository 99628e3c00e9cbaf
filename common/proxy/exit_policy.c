/* Nym's exit-policy text, its first-match matching, and the SSRF guard over it. */
#include "proxy/exit_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RULE_PREFIX "ExitPolicy"

/* A slice of the policy text. */
struct span {
	const char *s;
	size_t n;
};

/* ---------------------------------------------------------------- trimming ---- */

/* Length of the whitespace character (Unicode White_Space, as Rust's trim) that starts s. */
static size_t space_prefix_len(const uint8_t *s, size_t n)
{
	static const char *const multi[] = {
		"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9",
		"\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80",
	};

	if (n == 0)
		return 0;
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;
	if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] >= 0x80 && s[2] <= 0x8A)
		return 3; /* U+2000..U+200A */
	for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
		size_t k = strlen(multi[i]);

		if (n >= k && !memcmp(s, multi[i], k))
			return k;
	}
	return 0;
}

/* Length of the whitespace character that ends s. A lead byte is never a continuation byte,
 * so a whitespace sequence found at the end is one character of the text. */
static size_t space_suffix_len(const uint8_t *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (space_prefix_len(s + n - k, k) == k)
			return k;
	return 0;
}

static struct span trim(struct span t)
{
	size_t k;

	while ((k = space_prefix_len((const uint8_t *)t.s, t.n)) > 0) {
		t.s += k;
		t.n -= k;
	}
	while ((k = space_suffix_len((const uint8_t *)t.s, t.n)) > 0)
		t.n -= k;
	return t;
}

static bool span_is(struct span t, const char *word)
{
	return t.n == strlen(word) && !memcmp(t.s, word, t.n);
}

/* ----------------------------------------------------------------- numbers ---- */

/* Rust's unsigned from_str: an optional '+', then at least one ASCII digit, no overflow. */
static bool parse_unsigned(struct span t, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (t.n > 0 && t.s[0] == '+') {
		t.s++;
		t.n--;
	}
	if (t.n == 0)
		return false;
	for (size_t i = 0; i < t.n; i++) {
		if (t.s[i] < '0' || t.s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(t.s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* ------------------------------------------------------------ rule parsing ---- */

static enum ns_exit_parse_err parse_ports(struct span t, struct nr_policy_rule *r)
{
	const char *dash = memchr(t.s, '-', t.n);
	unsigned long lo, hi;

	if (span_is(t, "*")) {
		r->port_lo = 1;
		r->port_hi = 65535;
		return NS_EXIT_PARSE_OK;
	}
	if (!dash) {
		if (!parse_unsigned(t, 65535, &lo))
			return NS_EXIT_PARSE_BAD_PORT;
		r->port_lo = r->port_hi = (uint16_t)lo;
		return NS_EXIT_PARSE_OK;
	}
	if (!parse_unsigned((struct span){t.s, (size_t)(dash - t.s)}, 65535, &lo) ||
	    !parse_unsigned((struct span){dash + 1, (size_t)(t.s + t.n - dash - 1)}, 65535, &hi))
		return NS_EXIT_PARSE_BAD_PORT;
	if (lo == 0 || lo > hi)
		return NS_EXIT_PARSE_BAD_RANGE;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return NS_EXIT_PARSE_OK;
}

/* "<pattern>:<ports>", split at the last ':' */
static enum ns_exit_parse_err parse_address_port(struct span t, struct nr_policy_rule *r)
{
	const char *colon = memrchr(t.s, ':', t.n);

	if (!colon || colon + 1 == t.s + t.n)
		return NS_EXIT_PARSE_MALFORMED_PATTERN;
	if (nr_ip_pattern_parse(t.s, (size_t)(colon - t.s), r) != 0)
		return NS_EXIT_PARSE_BAD_PATTERN;
	return parse_ports((struct span){colon + 1, (size_t)(t.s + t.n - colon - 1)}, r);
}

static enum ns_exit_parse_err parse_action(struct span t, struct nr_policy_rule *r)
{
	static const char *const names[] = {"accept", "reject", "accept6", "reject6"};

	for (size_t i = 0; i < 4; i++) {
		if (span_is(t, names[i])) {
			r->action = (enum nr_policy_action)i;
			return NS_EXIT_PARSE_OK;
		}
	}
	return NS_EXIT_PARSE_BAD_ACTION;
}

/* A trimmed, non-empty line without its comment. */
static enum ns_exit_parse_err parse_rule(struct span line, struct nr_policy_rule *r)
{
	size_t plen = strlen(RULE_PREFIX);
	const char *space;
	enum ns_exit_parse_err e;

	memset(r, 0, sizeof *r);
	if (line.n < plen || memcmp(line.s, RULE_PREFIX, plen) != 0)
		return NS_EXIT_PARSE_NO_PREFIX;
	line = trim((struct span){line.s + plen, line.n - plen});
	space = memchr(line.s, ' ', line.n);
	if (!space)
		return NS_EXIT_PARSE_MALFORMED_RULE;
	e = parse_action((struct span){line.s, (size_t)(space - line.s)}, r);
	if (e != NS_EXIT_PARSE_OK)
		return e;
	return parse_address_port((struct span){space + 1, (size_t)(line.s + line.n - space - 1)}, r);
}

/* ----------------------------------------------------------- policy parsing ---- */

static int push_rule(struct ns_exit_policy *p, size_t *cap, const struct nr_policy_rule *r)
{
	if (p->n_rules == *cap) {
		size_t grown = *cap ? *cap * 2 : 16;
		struct nr_policy_rule *rules = realloc(p->rules, grown * sizeof *rules);

		if (!rules)
			return -1;
		p->rules = rules;
		*cap = grown;
	}
	p->rules[p->n_rules++] = *r;
	return 0;
}

/* The next line from *rest (without its '\n'), its comment cut off, trimmed. */
static struct span next_line(struct span *rest)
{
	const char *nl = memchr(rest->s, '\n', rest->n);
	size_t n = nl ? (size_t)(nl - rest->s) : rest->n;
	struct span line = {rest->s, n};
	const char *hash = memchr(line.s, '#', line.n);

	rest->s += nl ? n + 1 : n;
	rest->n -= nl ? n + 1 : n;
	if (hash)
		line.n = (size_t)(hash - line.s);
	return trim(line);
}

static int parse_fail(struct ns_exit_policy *out, struct ns_exit_parse_error *err,
                      enum ns_exit_parse_err kind, size_t line)
{
	ns_exit_policy_free(out);
	if (err) {
		err->kind = kind;
		err->line = line;
	}
	return -1;
}

int ns_exit_policy_parse(const char *text, size_t len, struct ns_exit_policy *out,
                         struct ns_exit_parse_error *err)
{
	struct span rest = {text, len};
	size_t cap = 0, line_no = 0;

	out->rules = NULL;
	out->n_rules = 0;
	if (len > NS_EXIT_POLICY_MAX_TEXT)
		return parse_fail(out, err, NS_EXIT_PARSE_TOO_LONG, 0);
	while (rest.n > 0) {
		struct span line = next_line(&rest);
		struct nr_policy_rule r;
		enum ns_exit_parse_err e;

		line_no++;
		if (line.n == 0)
			continue;
		e = parse_rule(line, &r);
		if (e == NS_EXIT_PARSE_OK && out->n_rules == NS_EXIT_POLICY_MAX_RULES)
			e = NS_EXIT_PARSE_TOO_MANY_RULES;
		if (e == NS_EXIT_PARSE_OK && push_rule(out, &cap, &r) != 0)
			e = NS_EXIT_PARSE_NO_MEMORY;
		if (e != NS_EXIT_PARSE_OK)
			return parse_fail(out, err, e, line_no);
	}
	if (err) {
		err->kind = NS_EXIT_PARSE_OK;
		err->line = 0;
	}
	return 0;
}

const char *ns_exit_parse_err_text(enum ns_exit_parse_err kind)
{
	switch (kind) {
	case NS_EXIT_PARSE_OK: return "ok";
	case NS_EXIT_PARSE_NO_PREFIX: return "the rule does not start with 'ExitPolicy'";
	case NS_EXIT_PARSE_MALFORMED_RULE: return "expected '<action> <pattern>:<ports>'";
	case NS_EXIT_PARSE_BAD_ACTION: return "not a policy action (accept, reject, accept6, reject6)";
	case NS_EXIT_PARSE_MALFORMED_PATTERN: return "expected '<pattern>:<ports>'";
	case NS_EXIT_PARSE_BAD_PATTERN:
		return "not '*', '*4', '*6' or an IP address with a mask that fits its family";
	case NS_EXIT_PARSE_BAD_PORT: return "a port that is malformed or not in 0..65535";
	case NS_EXIT_PARSE_BAD_RANGE: return "a port range that starts at 0 or ends before it starts";
	case NS_EXIT_PARSE_TOO_MANY_RULES: return "too many rules";
	case NS_EXIT_PARSE_TOO_LONG: return "policy text too long";
	case NS_EXIT_PARSE_NO_MEMORY: return "out of memory";
	}
	return "unknown error";
}

void ns_exit_policy_free(struct ns_exit_policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}

int ns_exit_policy_open(struct ns_exit_policy *out)
{
	out->n_rules = 0;
	out->rules = calloc(1, sizeof *out->rules);
	if (!out->rules)
		return -1;
	out->rules[0] = (struct nr_policy_rule){.action = NR_POLICY_ACCEPT, .pattern = NR_IP_ANY,
	                                        .port_lo = 1, .port_hi = 65535};
	out->n_rules = 1;
	return 0;
}

bool ns_exit_policy_is_open(const struct ns_exit_policy *p)
{
	const struct nr_policy_rule *r = p->rules;

	return p->n_rules == 1 && r->action == NR_POLICY_ACCEPT && r->pattern == NR_IP_ANY &&
	       r->port_lo == 1 && r->port_hi == 65535;
}

/* --------------------------------------------------------------- rendering ---- */

static const char *action_name(enum nr_policy_action a)
{
	switch (a) {
	case NR_POLICY_ACCEPT: return "accept";
	case NR_POLICY_REJECT: return "reject";
	case NR_POLICY_ACCEPT6: return "accept6";
	case NR_POLICY_REJECT6: return "reject6";
	}
	return "?";
}

static size_t rule_text(const struct nr_policy_rule *r, char *out, size_t cap)
{
	char pattern[NR_IP_PATTERN_MAX], ports[16];
	int w;

	if (nr_ip_pattern_format(r, pattern, sizeof pattern) < 0)
		snprintf(pattern, sizeof pattern, "?"); /* not a rule the parser makes */
	if (r->port_lo == 1 && r->port_hi == 65535)
		snprintf(ports, sizeof ports, "*");
	else if (r->port_lo == r->port_hi)
		snprintf(ports, sizeof ports, "%u", r->port_lo);
	else
		snprintf(ports, sizeof ports, "%u-%u", r->port_lo, r->port_hi);
	w = snprintf(out, cap, RULE_PREFIX " %s %s:%s", action_name(r->action), pattern, ports);
	return w > 0 ? (size_t)w : 0;
}

size_t ns_exit_policy_render(const struct ns_exit_policy *p, char *out, size_t cap)
{
	char line[128];
	size_t total = 0;

	if (cap > 0)
		out[0] = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		size_t n = rule_text(&p->rules[i], line + 1, sizeof line - 1);
		const char *src = i ? line : line + 1;

		line[0] = '\n';
		n += i ? 1 : 0;
		if (total + n < cap) {
			memcpy(out + total, src, n);
			out[total + n] = 0;
		} else if (total < cap) {
			memcpy(out + total, src, cap - total - 1);
			out[cap - 1] = 0;
		}
		total += n;
	}
	return total;
}

/* ---------------------------------------------------------------- matching ---- */

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool is_wildcard(const struct nr_policy_rule *r)
{
	return r->pattern == NR_IP_ANY || r->pattern == NR_IP_ANY4 || r->pattern == NR_IP_ANY6;
}

static bool pattern_covers(const struct nr_policy_rule *r, const struct ns_exit_addr *a)
{
	bool v4 = a->family == NS_EXIT_V4;

	switch (r->pattern) {
	case NR_IP_ANY: return true;
	case NR_IP_ANY4: return v4;
	case NR_IP_ANY6: return !v4;
	case NR_IP_V4: return v4 && prefix_equal(r->addr, a->bytes, r->mask);
	case NR_IP_V6: return !v4 && prefix_equal(r->addr, a->bytes, r->mask);
	}
	return false;
}

static bool rule_matches(const struct nr_policy_rule *r, const struct ns_exit_addr *a, uint16_t port)
{
	if (!pattern_covers(r, a))
		return false;
	return port == 0 || (r->port_lo <= port && port <= r->port_hi);
}

static bool is_accept(enum nr_policy_action a)
{
	return a == NR_POLICY_ACCEPT || a == NR_POLICY_ACCEPT6;
}

long ns_exit_policy_match(const struct ns_exit_policy *p, const struct ns_exit_addr *addr,
                          uint16_t port)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (rule_matches(&p->rules[i], addr, port))
			return (long)i;
	return -1;
}

static enum ns_exit_verdict policy_verdict(const struct ns_exit_policy *p,
                                           const struct ns_exit_addr *addr, uint16_t port,
                                           long *rule)
{
	*rule = ns_exit_policy_match(p, addr, port);
	if (*rule < 0)
		return NS_EXIT_DENY_UNCOVERED;
	return is_accept(p->rules[*rule].action) ? NS_EXIT_ALLOW : NS_EXIT_DENY_POLICY;
}

enum ns_exit_verdict ns_exit_policy_allows_all(const struct ns_exit_policy *p,
                                               const struct ns_exit_addr *addrs, size_t n,
                                               uint16_t port)
{
	long rule;

	if (n == 0)
		return NS_EXIT_DENY_NO_ADDRESS;
	for (size_t i = 0; i < n; i++) {
		enum ns_exit_verdict v = policy_verdict(p, &addrs[i], port, &rule);

		if (v != NS_EXIT_ALLOW)
			return v;
	}
	return NS_EXIT_ALLOW;
}

/* ---------------------------------------------------------------- the guard ---- */

struct special_range {
	uint8_t prefix[4];
	uint8_t bits;
	const char *name;
};

static const struct special_range special_v4[] = {
	{{0, 0, 0, 0}, 8, "unspecified"},
	{{10, 0, 0, 0}, 8, "private"},
	{{100, 64, 0, 0}, 10, "shared (CGNAT)"},
	{{127, 0, 0, 0}, 8, "loopback"},
	{{169, 254, 0, 0}, 16, "link-local"},
	{{172, 16, 0, 0}, 12, "private"},
	{{192, 168, 0, 0}, 16, "private"},
	{{224, 0, 0, 0}, 4, "multicast"},
	{{255, 255, 255, 255}, 32, "broadcast"},
	{{240, 0, 0, 0}, 4, "reserved"},
};

static const char *special_class_v4(const uint8_t a[4])
{
	for (size_t i = 0; i < sizeof special_v4 / sizeof special_v4[0]; i++)
		if (prefix_equal(special_v4[i].prefix, a, special_v4[i].bits))
			return special_v4[i].name;
	return NULL;
}

/* The IPv4 address an IPv6 one carries in its last 32 bits when it reaches (or names) an IPv4
 * host: mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96. */
static bool embedded_v4(const uint8_t a[16], bool mapped_only)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t compat[12] = {0};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

	if (!memcmp(a, mapped, 12))
		return true;
	return !mapped_only && (!memcmp(a, compat, 12) || !memcmp(a, nat64, 12));
}

static const char *special_class_v6(const uint8_t a[16])
{
	static const uint8_t zero[16] = {0};

	if (!memcmp(a, zero, 15))
		return a[15] == 0 ? "unspecified" : a[15] == 1 ? "loopback" : special_class_v4(a + 12);
	if (embedded_v4(a, false))
		return special_class_v4(a + 12);
	if ((a[0] & 0xFE) == 0xFC)
		return "unique-local";
	if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80)
		return "link-local";
	if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0)
		return "site-local";
	if (a[0] == 0xFF)
		return "multicast";
	return NULL;
}

const char *ns_exit_special_class(const struct ns_exit_addr *addr)
{
	return addr->family == NS_EXIT_V4 ? special_class_v4(addr->bytes) : special_class_v6(addr->bytes);
}

enum ns_exit_verdict ns_exit_guard_check(const struct ns_exit_policy *p,
                                         const struct ns_exit_addr *addr, uint16_t port)
{
	struct ns_exit_addr target = *addr;
	enum ns_exit_verdict v;
	long rule;

	/* a socket to ::ffff:a.b.c.d reaches a.b.c.d: match what is reached */
	if (addr->family == NS_EXIT_V6 && embedded_v4(addr->bytes, true)) {
		target.family = NS_EXIT_V4;
		memset(target.bytes, 0, sizeof target.bytes);
		memcpy(target.bytes, addr->bytes + 12, 4);
	}
	v = policy_verdict(p, &target, port, &rule);
	if (v != NS_EXIT_ALLOW)
		return v;
	if (ns_exit_special_class(&target) && is_wildcard(&p->rules[rule]))
		return NS_EXIT_DENY_SPECIAL;
	return NS_EXIT_ALLOW;
}

enum ns_exit_verdict ns_exit_guard_check_all(const struct ns_exit_policy *p,
                                             const struct ns_exit_addr *addrs, size_t n,
                                             uint16_t port, size_t *failed)
{
	if (n == 0)
		return NS_EXIT_DENY_NO_ADDRESS;
	for (size_t i = 0; i < n; i++) {
		enum ns_exit_verdict v = ns_exit_guard_check(p, &addrs[i], port);

		if (v != NS_EXIT_ALLOW) {
			if (failed)
				*failed = i;
			return v;
		}
	}
	return NS_EXIT_ALLOW;
}

const char *ns_exit_verdict_text(enum ns_exit_verdict v)
{
	switch (v) {
	case NS_EXIT_ALLOW: return "allowed";
	case NS_EXIT_DENY_POLICY: return "rejected by the exit policy";
	case NS_EXIT_DENY_UNCOVERED: return "not covered by the exit policy";
	case NS_EXIT_DENY_SPECIAL: return "a special-purpose address the exit policy does not name";
	case NS_EXIT_DENY_NO_ADDRESS: return "no address resolved";
	}
	return "unknown";
}

/* --------------------------------------------------------------- addresses ---- */

static int addr_set(struct ns_exit_addr *out, enum ns_exit_family family, const void *bytes,
                    uint16_t port_be, uint16_t *port)
{
	out->family = family;
	memcpy(out->bytes, bytes, family == NS_EXIT_V4 ? 4 : 16);
	if (port)
		*port = ntohs(port_be);
	return 0;
}

int ns_exit_addr_from_sockaddr(const struct sockaddr *sa, struct ns_exit_addr *out,
                               uint16_t *port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET)
		return addr_set(out, NS_EXIT_V4, &in->sin_addr, in->sin_port, port);
	if (sa->sa_family == AF_INET6)
		return addr_set(out, NS_EXIT_V6, &in6->sin6_addr, in6->sin6_port, port);
	return -1;
}

int ns_exit_addr_from_text(const char *text, struct ns_exit_addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = NS_EXIT_V4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = NS_EXIT_V6;
		return 0;
	}
	return -1;
}
