/* The network requester's Connect target and connect decision (common/proxy/nr_target.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/nr_target.h"

static int split(const char *t, char *host, uint16_t *port)
{
	return nr_target_split((const uint8_t *)t, strlen(t), host, port);
}

static void test_split(void **state)
{
	(void)state;
	char host[NR_TARGET_HOST_MAX];
	uint16_t port;
	assert_int_equal(split("example.com:443", host, &port), 0);
	assert_string_equal(host, "example.com");
	assert_int_equal(port, 443);
	assert_int_equal(split("[::1]:80", host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(split("2001:db8:0:0:0:0:0:1:8080", host, &port), 0);
	assert_string_equal(host, "2001:db8:0:0:0:0:0:1");
	assert_int_equal(port, 8080);
	static const char *const bad[] = { "", "host", ":80", "host:", "host:65536", "host:8x",
		                           "[]:80", "host:123456" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(split(bad[i], host, &port), -1);
	const uint8_t nul[] = { 'a', 0, 'b', ':', '1' };
	assert_int_equal(nr_target_split(nul, sizeof nul, host, &port), -1);
	char longname[NR_TARGET_HOST_MAX + 8];
	memset(longname, 'a', NR_TARGET_HOST_MAX);
	strcpy(longname + NR_TARGET_HOST_MAX, ":1");
	assert_int_equal(split(longname, host, &port), -1);
}

static void test_never_resolves(void **state)
{
	(void)state;
	assert_true(nr_target_never_resolves("nonexistent.invalid"));
	assert_true(nr_target_never_resolves("INVALID"));
	assert_true(nr_target_never_resolves("a.b.invalid."));
	assert_false(nr_target_never_resolves("notinvalid"));
	assert_false(nr_target_never_resolves("invalid.example"));
	assert_false(nr_target_never_resolves("localhost"));
}

/* Every resolved address must pass: one refused address refuses the whole target. */
static void test_decide(void **state)
{
	(void)state;
	static const char text[] = "ExitPolicy accept 127.0.0.1:*\nExitPolicy accept *:443\n"
	                           "ExitPolicy reject *:*\n";
	struct ns_exit_policy p;
	struct ns_exit_parse_error err;
	assert_int_equal(ns_exit_policy_parse(text, sizeof text - 1, &p, &err), 0);
	struct ns_exit_addr a[3];
	assert_int_equal(ns_exit_addr_from_text("127.0.0.1", &a[0]), 0);
	assert_int_equal(ns_exit_addr_from_text("93.184.216.34", &a[1]), 0);
	assert_int_equal(ns_exit_addr_from_text("10.0.0.1", &a[2]), 0);
	size_t first = 99;
	assert_int_equal(nr_target_decide(&p, a, 1, 8080, &first), NS_EXIT_ALLOW);
	assert_int_equal(first, 0);
	assert_int_equal(nr_target_decide(&p, a, 2, 443, &first), NS_EXIT_ALLOW);
	assert_int_equal(nr_target_decide(&p, a, 2, 80, NULL), NS_EXIT_DENY_POLICY);
	/* 10.0.0.1 is accepted only by the wildcard rule: the guard refuses it */
	assert_int_equal(nr_target_decide(&p, a, 3, 443, NULL), NS_EXIT_DENY_SPECIAL);
	assert_int_equal(nr_target_decide(&p, a, 0, 443, NULL), NS_EXIT_DENY_NO_ADDRESS);
	ns_exit_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_never_resolves),
		cmocka_unit_test(test_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
