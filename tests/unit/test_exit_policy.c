/* Nym's exit-policy text (parsing, every error class with its line, rendering), first-match
 * matching, and the SSRF guard's decision for every special address class. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/exit_policy.h"
#include "unit/util.h"

#define POLICY_FILE "tests/unit/data/exit-policy.txt"

static void parse_ok(const char *text, struct ns_exit_policy *p)
{
	struct ns_exit_parse_error err;

	assert_int_equal(ns_exit_policy_parse(text, strlen(text), p, &err), 0);
	assert_int_equal(err.kind, NS_EXIT_PARSE_OK);
}

static void parse_err(const char *text, enum ns_exit_parse_err kind, size_t line)
{
	struct ns_exit_policy p = {(struct nr_policy_rule *)1, 5};
	struct ns_exit_parse_error err;

	assert_int_equal(ns_exit_policy_parse(text, strlen(text), &p, &err), -1);
	assert_int_equal(err.kind, kind);
	assert_int_equal(err.line, line);
	assert_null(p.rules);
	assert_int_equal(p.n_rules, 0);
	assert_string_not_equal(ns_exit_parse_err_text(kind), "unknown error");
}

/* one rule, checked field by field; addr NULL for the wildcards */
static void expect_rule(const struct nr_policy_rule *r, enum nr_policy_action action,
                        enum nr_ip_pattern pattern, const char *addr, unsigned mask, unsigned lo,
                        unsigned hi)
{
	uint8_t want[16] = {0};

	assert_int_equal(r->action, action);
	assert_int_equal(r->pattern, pattern);
	if (addr) {
		assert_int_equal(inet_pton(pattern == NR_IP_V4 ? AF_INET : AF_INET6, addr, want), 1);
		assert_memory_equal(r->addr, want, pattern == NR_IP_V4 ? 4 : 16);
		assert_int_equal(r->mask, mask);
	}
	assert_int_equal(r->port_lo, lo);
	assert_int_equal(r->port_hi, hi);
}

static struct ns_exit_addr addr_of(const char *text)
{
	struct ns_exit_addr a;

	assert_int_equal(ns_exit_addr_from_text(text, &a), 0);
	return a;
}

static long match(const struct ns_exit_policy *p, const char *addr, uint16_t port)
{
	struct ns_exit_addr a = addr_of(addr);

	return ns_exit_policy_match(p, &a, port);
}

static enum ns_exit_verdict guard(const struct ns_exit_policy *p, const char *addr, uint16_t port)
{
	struct ns_exit_addr a = addr_of(addr);

	return ns_exit_guard_check(p, &a, port);
}

/* ----------------------------------------------------------------- parsing ---- */

static void test_parse_forms(void **state)
{
	struct ns_exit_policy p;
	static const char text[] =
		"\n"
		"ExitPolicy reject 1.2.3.4/32:*#no space before the comment\n"
		"  ExitPolicy reject 1.2.3.5:*   # leading and trailing blanks\r\n"
		"ExitPolicy reject 1.2.3.6/16:123-456\n"
		"# a comment line\n"
		"\t\n"
		"ExitPolicy accept *:53\n"
		"ExitPolicy accept6 *6:119\n"
		"ExitPolicy accept *4:+120\n"
		"ExitPolicy reject6 [FC00::]/7:*\n"
		"ExitPolicy accept 10.0.0.0/0:0\n"
		"ExitPolicy reject [::]/0:01-100\n"
		"ExitPolicy reject FE80:0000:0000:0000:0202:B3FF:FE1E:8329:*\n"
		"ExitPolicy reject fe80::1/64:1235\n"
		"ExitPolicy accept 9.9.9.9/+8:1-65535\n"
		"ExitPolicy\t accept 8.8.8.8:443 \xc2\xa0\n"          /* a no-break space trims */
		"ExitPolicyaccept 7.7.7.7:7\n"                        /* Nym needs no space here */
		"\xe3\x80\x80" "ExitPolicy accept 6.6.6.6:6\xe2\x80\x83" /* ideographic, em space */
		"\n#ExitPolicy accept *:8080\n"
		"ExitPolicy reject *:*";

	(void)state;
	parse_ok(text, &p);
	assert_int_equal(p.n_rules, 16);
	expect_rule(&p.rules[0], NR_POLICY_REJECT, NR_IP_V4, "1.2.3.4", 32, 1, 65535);
	expect_rule(&p.rules[1], NR_POLICY_REJECT, NR_IP_V4, "1.2.3.5", 32, 1, 65535);
	expect_rule(&p.rules[2], NR_POLICY_REJECT, NR_IP_V4, "1.2.3.6", 16, 123, 456);
	expect_rule(&p.rules[3], NR_POLICY_ACCEPT, NR_IP_ANY, NULL, 0, 53, 53);
	expect_rule(&p.rules[4], NR_POLICY_ACCEPT6, NR_IP_ANY6, NULL, 0, 119, 119);
	expect_rule(&p.rules[5], NR_POLICY_ACCEPT, NR_IP_ANY4, NULL, 0, 120, 120);
	expect_rule(&p.rules[6], NR_POLICY_REJECT6, NR_IP_V6, "fc00::", 7, 1, 65535);
	expect_rule(&p.rules[7], NR_POLICY_ACCEPT, NR_IP_ANY4, NULL, 0, 0, 0);
	expect_rule(&p.rules[8], NR_POLICY_REJECT, NR_IP_ANY6, NULL, 0, 1, 100);
	expect_rule(&p.rules[9], NR_POLICY_REJECT, NR_IP_V6, "fe80::202:b3ff:fe1e:8329", 128, 1,
	            65535);
	expect_rule(&p.rules[10], NR_POLICY_REJECT, NR_IP_V6, "fe80::1", 64, 1235, 1235);
	expect_rule(&p.rules[11], NR_POLICY_ACCEPT, NR_IP_V4, "9.9.9.9", 8, 1, 65535);
	expect_rule(&p.rules[12], NR_POLICY_ACCEPT, NR_IP_V4, "8.8.8.8", 32, 443, 443);
	expect_rule(&p.rules[13], NR_POLICY_ACCEPT, NR_IP_V4, "7.7.7.7", 32, 7, 7);
	expect_rule(&p.rules[14], NR_POLICY_ACCEPT, NR_IP_V4, "6.6.6.6", 32, 6, 6);
	expect_rule(&p.rules[15], NR_POLICY_REJECT, NR_IP_ANY, NULL, 0, 1, 65535);
	ns_exit_policy_free(&p);
	assert_null(p.rules);

	/* nothing but comments and blanks: an empty policy, which covers nothing */
	parse_ok("# only\n\n   # comments\n", &p);
	assert_int_equal(p.n_rules, 0);
	assert_int_equal(match(&p, "1.1.1.1", 80), -1);
	ns_exit_policy_free(&p);
	parse_ok("", &p);
	assert_int_equal(p.n_rules, 0);
	ns_exit_policy_free(&p);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_err("accept *:80", NS_EXIT_PARSE_NO_PREFIX, 1);
	parse_err("# c\n\nExitpolicy accept *:80\n", NS_EXIT_PARSE_NO_PREFIX, 3);
	parse_err("ExitPolicy accept *:80\r\nfoo", NS_EXIT_PARSE_NO_PREFIX, 2);
	parse_err("ExitPolicy accept", NS_EXIT_PARSE_MALFORMED_RULE, 1);
	parse_err("ExitPolicy accept\t*:80", NS_EXIT_PARSE_MALFORMED_RULE, 1);
	parse_err("ExitPolicy", NS_EXIT_PARSE_MALFORMED_RULE, 1);
	parse_err("ExitPolicy allow *:80", NS_EXIT_PARSE_BAD_ACTION, 1);
	parse_err("ExitPolicy Accept *:80", NS_EXIT_PARSE_BAD_ACTION, 1);
	parse_err("ExitPolicy accept4 *:80", NS_EXIT_PARSE_BAD_ACTION, 1);
	parse_err("ExitPolicy accept 1.2.3.4", NS_EXIT_PARSE_MALFORMED_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4:", NS_EXIT_PARSE_MALFORMED_PATTERN, 1);
	parse_err("\n\nExitPolicy accept ", NS_EXIT_PARSE_MALFORMED_RULE, 3);
	parse_err("ExitPolicy accept marzipan:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept [1.2.3.4]/16:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 01.2.3.4:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.256:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept [::1:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept []:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept :80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept  *:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept **:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	/* a NUL byte inside an address */
	struct ns_exit_policy p;
	struct ns_exit_parse_error err;
	static const char nul[] = "ExitPolicy accept *:1\nExitPolicy accept 1.2.3.4\x00:80";
	assert_int_equal(ns_exit_policy_parse(nul, sizeof nul - 1, &p, &err), -1);
	assert_int_equal(err.kind, NS_EXIT_PARSE_BAD_PATTERN);
	assert_int_equal(err.line, 2);
	parse_err("ExitPolicy accept */8:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept *4/0:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept *6/:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/x:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/256:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/8/8:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/-1:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/33:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4/100:8888", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept [::1]/129:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept ::1/255:80", NS_EXIT_PARSE_BAD_PATTERN, 1);
	parse_err("ExitPolicy accept 1.2.3.4:http", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:65536", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:99999999999999999999", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:1-", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:-2", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:-", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:1-2-3", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:+", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:80 extra", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:**", NS_EXIT_PARSE_BAD_PORT, 1);
	parse_err("ExitPolicy accept 1.2.3.4:0-80", NS_EXIT_PARSE_BAD_RANGE, 1);
	parse_err("ExitPolicy accept 1.2.3.4:90-80", NS_EXIT_PARSE_BAD_RANGE, 1);
	parse_err("ExitPolicy accept 1.2.3.4:0-0", NS_EXIT_PARSE_BAD_RANGE, 1);
	/* the error names the first bad line, after good ones */
	parse_err("ExitPolicy accept *:80\n# x\nExitPolicy accept *:99-98\nbad\n",
	          NS_EXIT_PARSE_BAD_RANGE, 3);
}

static void test_parse_bounds(void **state)
{
	struct ns_exit_policy p;
	struct ns_exit_parse_error err;
	static const char rule[] = "ExitPolicy accept *:80\n";
	size_t n = NS_EXIT_POLICY_MAX_RULES + 1, len = n * (sizeof rule - 1);
	char *text = malloc(len > NS_EXIT_POLICY_MAX_TEXT + 1 ? len : NS_EXIT_POLICY_MAX_TEXT + 1);

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		memcpy(text + i * (sizeof rule - 1), rule, sizeof rule - 1);
	/* exactly the limit parses; one more rule is refused on its line */
	assert_int_equal(ns_exit_policy_parse(text, len - (sizeof rule - 1), &p, &err), 0);
	assert_int_equal(p.n_rules, NS_EXIT_POLICY_MAX_RULES);
	ns_exit_policy_free(&p);
	assert_int_equal(ns_exit_policy_parse(text, len, &p, &err), -1);
	assert_int_equal(err.kind, NS_EXIT_PARSE_TOO_MANY_RULES);
	assert_int_equal(err.line, n);
	/* text over the size limit is refused before it is read */
	memset(text, '\n', NS_EXIT_POLICY_MAX_TEXT + 1);
	assert_int_equal(ns_exit_policy_parse(text, NS_EXIT_POLICY_MAX_TEXT, &p, &err), 0);
	assert_int_equal(p.n_rules, 0);
	ns_exit_policy_free(&p);
	assert_int_equal(ns_exit_policy_parse(text, NS_EXIT_POLICY_MAX_TEXT + 1, &p, &err), -1);
	assert_int_equal(err.kind, NS_EXIT_PARSE_TOO_LONG);
	assert_int_equal(err.line, 0);
	/* err may be NULL */
	assert_int_equal(ns_exit_policy_parse("x", 1, &p, NULL), -1);
	free(text);
}

/* ---------------------------------------------------------------- matching ---- */

static void test_matching(void **state)
{
	struct ns_exit_policy p;

	(void)state;
	parse_ok("ExitPolicy accept *:443\n"
	         "ExitPolicy accept [::1]:80\n"
	         "ExitPolicy reject *:80\n"
	         "ExitPolicy accept 1.2.3.4/16:8000-8999\n"
	         "ExitPolicy reject [face::]/8:9000\n"
	         "ExitPolicy accept *6:9000\n"
	         "ExitPolicy accept *4:0\n",
	         &p);
	assert_int_equal(match(&p, "::6", 443), 0);
	assert_int_equal(match(&p, "127.0.0.1", 443), 0);
	assert_int_equal(match(&p, "::1", 80), 1);
	assert_int_equal(match(&p, "::2", 80), 2);
	assert_int_equal(match(&p, "127.0.0.1", 80), 2);
	/* the prefix's host bits do not matter */
	assert_int_equal(match(&p, "1.2.44.55", 8080), 3);
	assert_int_equal(match(&p, "1.3.3.4", 8080), -1);
	assert_int_equal(match(&p, "1.2.3.4", 9000), -1);
	assert_int_equal(match(&p, "fab0::7", 9000), 4);
	assert_int_equal(match(&p, "dd00::", 9000), 5);
	/* an IPv4-mapped address is IPv6 to Nym's matching */
	assert_int_equal(match(&p, "::ffff:1.2.3.4", 8080), -1);
	/* port 0 matches on the address alone: the first rule covers every address */
	assert_int_equal(match(&p, "127.0.0.1", 0), 0);
	assert_int_equal(match(&p, "9.9.9.9", 66), -1);
	ns_exit_policy_free(&p);

	/* port-0 rules only match port 0 */
	parse_ok("ExitPolicy accept *4:0\nExitPolicy reject *:*", &p);
	assert_int_equal(match(&p, "1.2.3.4", 0), 0);
	assert_int_equal(match(&p, "1.2.3.4", 80), 1);
	assert_int_equal(match(&p, "::1", 0), 1);
	ns_exit_policy_free(&p);

	/* /0 is a wildcard of its family; /1 splits the space */
	parse_ok("ExitPolicy reject 0.0.0.0/1:*\nExitPolicy accept 0.0.0.0/0:*\n"
	         "ExitPolicy accept [8000::]/1:*",
	         &p);
	assert_int_equal(match(&p, "127.255.255.255", 1), 0);
	assert_int_equal(match(&p, "128.0.0.0", 1), 1);
	assert_int_equal(match(&p, "::1", 1), -1);
	assert_int_equal(match(&p, "8000::", 1), 2);
	ns_exit_policy_free(&p);
}

static void test_allows_all(void **state)
{
	struct ns_exit_policy p;
	struct ns_exit_addr a[3];

	(void)state;
	parse_ok("ExitPolicy reject 5.5.5.5:*\nExitPolicy accept *4:443\nExitPolicy accept [::1]:*", &p);
	a[0] = addr_of("1.1.1.1");
	a[1] = addr_of("2.2.2.2");
	a[2] = addr_of("::1");
	assert_int_equal(ns_exit_policy_allows_all(&p, a, 3, 443), NS_EXIT_ALLOW);
	assert_int_equal(ns_exit_policy_allows_all(&p, a, 0, 443), NS_EXIT_DENY_NO_ADDRESS);
	/* one address no rule covers spoils the set */
	assert_int_equal(ns_exit_policy_allows_all(&p, a, 3, 80), NS_EXIT_DENY_UNCOVERED);
	a[1] = addr_of("5.5.5.5");
	assert_int_equal(ns_exit_policy_allows_all(&p, a, 3, 443), NS_EXIT_DENY_POLICY);
	ns_exit_policy_free(&p);
}

/* ---------------------------------------------------------------- rendering ---- */

static void assert_same_rules(const struct ns_exit_policy *a, const struct ns_exit_policy *b)
{
	assert_int_equal(a->n_rules, b->n_rules);
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct nr_policy_rule *x = &a->rules[i], *y = &b->rules[i];

		assert_int_equal(x->action, y->action);
		assert_int_equal(x->pattern, y->pattern);
		assert_int_equal(x->mask, y->mask);
		assert_memory_equal(x->addr, y->addr, 16);
		assert_int_equal(x->port_lo, y->port_lo);
		assert_int_equal(x->port_hi, y->port_hi);
	}
}

static void test_render(void **state)
{
	struct ns_exit_policy p, again;
	char out[1024];
	static const char want[] = "ExitPolicy reject 1.2.3.6/16:*\n"
	                           "ExitPolicy accept *:53\n"
	                           "ExitPolicy accept6 *6:119\n"
	                           "ExitPolicy accept *4:120-130\n"
	                           "ExitPolicy reject6 fc00::/7:*\n"
	                           "ExitPolicy accept *4:0\n"
	                           "ExitPolicy reject fe80::202:b3ff:fe1e:8329/128:*\n"
	                           "ExitPolicy accept ::ffff:127.0.0.1/128:80\n"
	                           "ExitPolicy reject *:*";

	(void)state;
	parse_ok("ExitPolicy reject 1.2.3.6/16:1-65535\nExitPolicy accept *:53-53\n"
	         "ExitPolicy accept6 *6:119\nExitPolicy accept *4:120-130\n"
	         "ExitPolicy reject6 [FC00::]/7:*\nExitPolicy accept 10.0.0.0/0:0\n"
	         "ExitPolicy reject FE80:0000:0000:0000:0202:B3FF:FE1E:8329:*\n"
	         "ExitPolicy accept [::ffff:7f00:1]:80\nExitPolicy reject *:*\n",
	         &p);
	assert_int_equal(ns_exit_policy_render(&p, out, sizeof out), strlen(want));
	assert_string_equal(out, want);
	/* rendered text parses back to the same rules */
	parse_ok(out, &again);
	assert_same_rules(&p, &again);
	ns_exit_policy_free(&again);
	/* a short buffer: truncated, terminated, the full length returned */
	assert_int_equal(ns_exit_policy_render(&p, out, 10), strlen(want));
	assert_string_equal(out, "ExitPolic");
	assert_int_equal(ns_exit_policy_render(&p, out, 40), strlen(want));
	assert_int_equal(strlen(out), 39);
	assert_memory_equal(out, want, 39);
	assert_int_equal(ns_exit_policy_render(&p, NULL, 0), strlen(want));
	ns_exit_policy_free(&p);
	/* an empty policy renders as nothing */
	assert_int_equal(ns_exit_policy_render(&p, out, sizeof out), 0);
	assert_string_equal(out, "");

}

static void test_open_policy(void **state)
{
	struct ns_exit_policy p;

	(void)state;
	assert_int_equal(ns_exit_policy_open(&p), 0);
	assert_true(ns_exit_policy_is_open(&p));
	char out[64];
	ns_exit_policy_render(&p, out, sizeof out);
	assert_string_equal(out, "ExitPolicy accept *:*");
	ns_exit_policy_free(&p);
	static const struct {
		const char *text;
		bool open;
	} cases[] = {
		{"ExitPolicy accept *:1-65535", true},
		{"ExitPolicy accept6 *:*", false},
		{"ExitPolicy accept *4:*", false},
		{"ExitPolicy accept *:2-65535", false},
		{"ExitPolicy accept *:*\nExitPolicy reject *:*", false},
		{"# nothing", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		parse_ok(cases[i].text, &p);
		assert_int_equal(ns_exit_policy_is_open(&p), cases[i].open);
		ns_exit_policy_free(&p);
	}
}

/* --------------------------------------------------------------- the guard ---- */

static const struct {
	const char *addr;
	const char *class_name; /* NULL: an ordinary address */
} classes[] = {
	{"127.0.0.1", "loopback"},        {"127.255.0.9", "loopback"},
	{"10.0.0.1", "private"},          {"10.255.255.255", "private"},
	{"172.16.0.1", "private"},        {"172.31.255.255", "private"},
	{"172.15.255.255", NULL},         {"172.32.0.0", NULL},
	{"192.168.0.1", "private"},       {"192.169.0.1", NULL},
	{"100.64.0.1", "shared (CGNAT)"}, {"100.127.255.255", "shared (CGNAT)"},
	{"100.128.0.0", NULL},            {"169.254.169.254", "link-local"},
	{"224.0.0.1", "multicast"},       {"239.255.255.250", "multicast"},
	{"0.0.0.0", "unspecified"},       {"0.1.2.3", "unspecified"},
	{"255.255.255.255", "broadcast"}, {"240.0.0.1", "reserved"},
	{"93.184.216.34", NULL},          {"1.1.1.1", NULL},
	{"::1", "loopback"},              {"::", "unspecified"},
	{"fc00::1", "unique-local"},      {"fdff:ffff::1", "unique-local"},
	{"fe80::1", "link-local"},        {"febf::1", "link-local"},
	{"fec0::1", "site-local"},        {"ff02::1", "multicast"},
	{"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.1.2.3", "private"},
	{"::ffff:1.1.1.1", NULL},         {"::127.0.0.1", "loopback"},
	{"::192.168.1.1", "private"},     {"64:ff9b::7f00:1", "loopback"},
	{"64:ff9b::a9fe:a9fe", "link-local"}, {"64:ff9b::101:101", NULL},
	{"2606:2800:220:1::1", NULL},     {"fbff::1", NULL},
	/* the edges of each range */
	{"126.255.255.255", NULL},        {"128.0.0.0", NULL},
	{"9.255.255.255", NULL},          {"11.0.0.0", NULL},
	{"192.167.255.255", NULL},        {"192.168.255.255", "private"},
	{"169.253.255.255", NULL},        {"169.254.0.0", "link-local"},
	{"169.254.255.255", "link-local"}, {"169.255.0.0", NULL},
	{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"},
	{"::ffff:172.16.0.1", "private"}, {"::ffff:169.254.169.254", "link-local"},
	{"::ffff:192.168.1.1", "private"}, {"::ffff:172.32.0.1", NULL},
};

static void test_special_classes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
		struct ns_exit_addr a = addr_of(classes[i].addr);
		const char *got = ns_exit_special_class(&a);

		if (classes[i].class_name)
			assert_string_equal(got, classes[i].class_name);
		else
			assert_null(got);
	}
}

static void test_guard_open_proxy(void **state)
{
	struct ns_exit_policy p;

	(void)state;
	assert_int_equal(ns_exit_policy_open(&p), 0);
	/* an open proxy reaches the internet, never its own host's or network's services */
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
		assert_int_equal(guard(&p, classes[i].addr, 80),
		                 classes[i].class_name ? NS_EXIT_DENY_SPECIAL : NS_EXIT_ALLOW);
	ns_exit_policy_free(&p);
}

static void test_guard_default_policy(void **state)
{
	struct ns_exit_policy p;
	struct ns_exit_parse_error err;
	size_t len;
	char *text = util_read_file(POLICY_FILE, &len);

	(void)state;
	assert_non_null(text);
	assert_int_equal(ns_exit_policy_parse(text, len, &p, &err), 0);
	assert_int_equal(p.n_rules, 27);
	/* what the policy accepts */
	assert_int_equal(guard(&p, "93.184.216.34", 443), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "2606:2800:220:1::1", 80), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "93.184.216.34", 5223), NS_EXIT_ALLOW);
	/* what it rejects, with or without the guard */
	assert_int_equal(guard(&p, "93.184.216.34", 6667), NS_EXIT_DENY_POLICY);
	assert_int_equal(guard(&p, "192.0.2.7", 443), NS_EXIT_DENY_POLICY);
	assert_int_equal(guard(&p, "203.0.113.200", 443), NS_EXIT_DENY_POLICY);
	assert_int_equal(guard(&p, "203.0.113.100", 443), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "2001:db8:dead::1", 443), NS_EXIT_DENY_POLICY);
	/* accepted by a port wildcard, refused by the guard */
	static const char *const special[] = {
		"127.0.0.1", "10.1.2.3", "172.16.5.5", "192.168.1.1", "169.254.169.254", "100.64.1.1",
		"224.0.0.251", "0.0.0.0", "255.255.255.255", "::1", "::", "fc00::1", "fd00::53",
		"fe80::1", "ff02::fb", "::ffff:127.0.0.1", "::ffff:192.168.0.1", "64:ff9b::7f00:1",
	};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
		assert_int_equal(guard(&p, special[i], 443), NS_EXIT_DENY_SPECIAL);
		assert_int_equal(guard(&p, special[i], 80), NS_EXIT_DENY_SPECIAL);
		/* a port the policy rejects is a policy refusal first */
		assert_int_equal(guard(&p, special[i], 6667), NS_EXIT_DENY_POLICY);
	}
	/* Nym alone would have let them through */
	struct ns_exit_addr lo = addr_of("127.0.0.1");
	assert_int_equal(ns_exit_policy_allows_all(&p, &lo, 1, 80), NS_EXIT_ALLOW);
	ns_exit_policy_free(&p);
	free(text);
}

static void test_guard_explicit_rules(void **state)
{
	struct ns_exit_policy p;
	size_t len;
	char *file = util_read_file(POLICY_FILE, &len);
	char *text = malloc(len + 256);

	(void)state;
	assert_non_null(file);
	assert_non_null(text);
	/* localnet's policy: 127.0.0.1 named first, then the default */
	strcpy(text, "ExitPolicy accept 127.0.0.1:*\n"
	             "ExitPolicy accept 10.0.0.0/8:443\n"
	             "ExitPolicy accept [::1]:8080\n"
	             "ExitPolicy accept 0.0.0.0/0:9999\n");
	strcat(text, file);
	parse_ok(text, &p);
	assert_int_equal(guard(&p, "127.0.0.1", 80), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "127.0.0.1", 6667), NS_EXIT_ALLOW);
	/* a mapped address is matched as the IPv4 it reaches */
	assert_int_equal(guard(&p, "::ffff:127.0.0.1", 6667), NS_EXIT_ALLOW);
	/* only what is named */
	assert_int_equal(guard(&p, "127.0.0.2", 80), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(guard(&p, "10.9.8.7", 443), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "10.9.8.7", 80), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(guard(&p, "::1", 8080), NS_EXIT_ALLOW);
	assert_int_equal(guard(&p, "::1", 443), NS_EXIT_DENY_SPECIAL);
	/* compatible and NAT64 forms are not the IPv4 rule's address */
	assert_int_equal(guard(&p, "::127.0.0.1", 443), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(guard(&p, "64:ff9b::7f00:1", 443), NS_EXIT_DENY_SPECIAL);
	/* a /0 is a wildcard, not a name */
	assert_int_equal(guard(&p, "192.168.1.1", 9999), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(guard(&p, "1.1.1.1", 9999), NS_EXIT_ALLOW);
	/* every resolved address is checked; the first refused one is reported */
	struct ns_exit_addr set[3] = {addr_of("1.1.1.1"), addr_of("127.0.0.1"), addr_of("::1")};
	size_t failed = 99;
	assert_int_equal(ns_exit_guard_check_all(&p, set, 2, 443, &failed), NS_EXIT_ALLOW);
	assert_int_equal(ns_exit_guard_check_all(&p, set, 3, 443, &failed), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(failed, 2);
	assert_int_equal(ns_exit_guard_check_all(&p, set, 3, 8080, NULL), NS_EXIT_ALLOW);
	assert_int_equal(ns_exit_guard_check_all(&p, set, 0, 443, &failed), NS_EXIT_DENY_NO_ADDRESS);
	ns_exit_policy_free(&p);

	/* a name in a reject rule does not allow; an uncovered address is refused */
	parse_ok("ExitPolicy reject 127.0.0.1:*\nExitPolicy accept *:*", &p);
	assert_int_equal(guard(&p, "127.0.0.1", 80), NS_EXIT_DENY_POLICY);
	ns_exit_policy_free(&p);
	parse_ok("ExitPolicy accept 1.1.1.1:80", &p);
	assert_int_equal(guard(&p, "1.1.1.2", 80), NS_EXIT_DENY_UNCOVERED);
	ns_exit_policy_free(&p);
	for (int v = NS_EXIT_ALLOW; v <= NS_EXIT_DENY_NO_ADDRESS; v++)
		assert_string_not_equal(ns_exit_verdict_text((enum ns_exit_verdict)v), "unknown");
	free(text);
	free(file);
}

static void test_addresses(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(8080)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	struct sockaddr un = {.sa_family = AF_UNIX};
	struct ns_exit_addr a;
	uint16_t port = 0;

	(void)state;
	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	assert_int_equal(ns_exit_addr_from_sockaddr((struct sockaddr *)&in, &a, &port), 0);
	assert_int_equal(a.family, NS_EXIT_V4);
	assert_memory_equal(a.bytes, "\x0a\x01\x02\x03", 4);
	assert_int_equal(port, 8080);
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	assert_int_equal(ns_exit_addr_from_sockaddr((struct sockaddr *)&in6, &a, &port), 0);
	assert_int_equal(a.family, NS_EXIT_V6);
	assert_int_equal(a.bytes[15], 1);
	assert_int_equal(port, 443);
	assert_int_equal(ns_exit_addr_from_sockaddr((struct sockaddr *)&in6, &a, NULL), 0);
	assert_int_equal(ns_exit_addr_from_sockaddr(&un, &a, &port), -1);
	assert_int_equal(ns_exit_addr_from_text("[::1]", &a), -1);
	assert_int_equal(ns_exit_addr_from_text("localhost", &a), -1);
	assert_int_equal(ns_exit_addr_from_text("1.2.3.4", &a), 0);
	assert_int_equal(a.family, NS_EXIT_V4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_allows_all),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_open_policy),
		cmocka_unit_test(test_special_classes),
		cmocka_unit_test(test_guard_open_proxy),
		cmocka_unit_test(test_guard_default_policy),
		cmocka_unit_test(test_guard_explicit_rules),
		cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
