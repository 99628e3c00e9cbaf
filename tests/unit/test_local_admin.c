/* The admin protocol of nymctl (common/clientlocal.h): request lines, the flat status objects
 * keyd and netd send, and nymctl's human rendering of an answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientlocal.h"

static void expect_cmd(const char *line, enum ns_admin_cmd want)
{
	enum ns_admin_cmd cmd = NS_ADMIN_CMD_COUNT;
	char err[128] = "";
	if (ns_admin_parse_request(line, strlen(line), &cmd, err, sizeof err) != 0)
		fail_msg("'%s' refused: %s", line, err);
	assert_int_equal(cmd, want);
}

static void expect_refused(const char *line, size_t len, const char *want)
{
	enum ns_admin_cmd cmd = NS_ADMIN_CMD_COUNT;
	char err[128] = "";
	assert_int_equal(ns_admin_parse_request(line, len, &cmd, err, sizeof err), -1);
	assert_int_equal(cmd, NS_ADMIN_CMD_COUNT);
	if (!strstr(err, want))
		fail_msg("'%.*s': error '%s' does not contain '%s'", (int)len, line, err, want);
}

static void test_requests(void **state)
{
	(void)state;
	expect_cmd("{\"cmd\":\"status\"}", NS_ADMIN_STATUS);
	expect_cmd(" { \"cmd\" : \"address\" } \r", NS_ADMIN_ADDRESS);
	expect_cmd("{\"cmd\":\"gateway\"}", NS_ADMIN_GATEWAY);
	expect_cmd("{\"cmd\":\"topology\"}", NS_ADMIN_TOPOLOGY);
	expect_cmd("{\"cmd\":\"stats\"}\t", NS_ADMIN_STATS);
	for (int i = 0; i < NS_ADMIN_CMD_COUNT; i++)
		assert_int_equal(ns_admin_cmd_from_name(ns_admin_cmd_name((enum ns_admin_cmd)i)), i);
	assert_int_equal(ns_admin_cmd_from_name("STATUS"), -1);
	assert_string_equal(ns_admin_cmd_name(NS_ADMIN_CMD_COUNT), "?");
}

static void test_malformed_requests(void **state)
{
	(void)state;
#define R(s, want) expect_refused(s, sizeof s - 1, want)
	R("", "not valid JSON");
	R("   ", "not valid JSON");
	R("status", "not valid JSON");
	R("{\"cmd\":\"status\"", "not valid JSON");
	R("{\"cmd\":\"status\"} x", "not valid JSON");
	R("{\"cmd\":\"status\"}{}", "not valid JSON");
	R("{\"cmd\":\"status\"}\0", "not valid JSON");
	R("{\"cmd\":\"sta\0tus\"}", "not valid JSON");
	R("[\"status\"]", "not a JSON object");
	R("\"status\"", "not a JSON object");
	R("{}", "exactly {\"cmd\": NAME}");
	R("{\"command\":\"status\"}", "exactly");
	R("{\"cmd\":\"status\",\"cmd\":\"stats\"}", "exactly");
	R("{\"cmd\":\"status\",\"verbose\":true}", "exactly");
	R("{\"CMD\":\"status\"}", "exactly");
	R("{\"cmd\":1}", "unknown cmd");
	R("{\"cmd\":null}", "unknown cmd");
	R("{\"cmd\":[\"status\"]}", "unknown cmd");
	R("{\"cmd\":\"reboot\"}", "unknown cmd");
	R("{\"cmd\":\"status \"}", "unknown cmd");
	R("{\"cmd\":\"\"}", "unknown cmd");
#undef R
	/* the line limit */
	char *long_line = malloc(NS_ADMIN_LINE_MAX + 1);
	memset(long_line, ' ', NS_ADMIN_LINE_MAX);
	memcpy(long_line, "{\"cmd\":\"stats\"}", 15);
	expect_refused(long_line, NS_ADMIN_LINE_MAX, "longer than");
	{
		enum ns_admin_cmd cmd;
		assert_int_equal(ns_admin_parse_request(long_line, NS_ADMIN_LINE_MAX - 1, &cmd, NULL, 0), 0);
		assert_int_equal(cmd, NS_ADMIN_STATS);
	}
	free(long_line);
	/* deep nesting is refused, not a crash */
	char deep[3000];
	size_t n = 0;
	n += (size_t)sprintf(deep, "{\"cmd\":");
	for (int i = 0; i < 1200; i++)
		deep[n++] = '[';
	expect_refused(deep, n, "not valid JSON");
}

static void test_flat_objects(void **state)
{
	(void)state;
#define F(s) ns_admin_is_flat_object(s, sizeof s - 1)
	assert_true(F("{}"));
	assert_true(F("{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":false,\"e\":-1.5}"));
	assert_false(F("{\"a\":null}"));
	assert_false(F("{\"a\":{}}"));
	assert_false(F("{\"a\":[1]}"));
	assert_false(F("[]"));
	assert_false(F("1"));
	assert_false(F("{\"a\":1"));
	assert_false(F("{\"a\":1}x"));
	assert_false(F(""));
#undef F
}

static void test_human(void **state)
{
	(void)state;
	static const char answer[] =
		"{\"cmd\":\"stats\",\"apid\":{\"messages_sent\":3,\"lane_depth\":{\"general\":2},"
		"\"lanes\":{}},\"netd\":{\"connected\":true,\"gateway_url\":\"ws://127.0.0.1:1\","
		"\"ratio\":0.25,\"big\":18446744073709551615,\"bad\":\"a\\nb\\u0001\"},"
		"\"missing\":[\"keyd\",\"x\"]}";
	char err[128] = "";
	char *t = ns_admin_format_human(answer, sizeof answer - 1, err, sizeof err);
	assert_non_null(t);
	assert_string_equal(t,
		"apid.messages_sent:      3\n"
		"apid.lane_depth.general: 2\n"
		"apid.lanes:              -\n"
		"netd.connected:          yes\n"
		"netd.gateway_url:        ws://127.0.0.1:1\n"
		"netd.ratio:              0.25\n"
		"netd.big:                1.84467e+19\n"
		"netd.bad:                a?b?\n"
		"missing:                 keyd, x\n");
	free(t);
	t = ns_admin_format_human("{\"error\":\"unknown cmd\"}", 23, err, sizeof err);
	assert_string_equal(t, "error: unknown cmd\n");
	free(t);
	t = ns_admin_format_human("{}", 2, err, sizeof err);
	assert_string_equal(t, "");
	free(t);
	assert_null(ns_admin_format_human("[1]", 3, err, sizeof err));
	assert_non_null(strstr(err, "not a JSON object"));
	assert_null(ns_admin_format_human("{\"a\":", 5, err, sizeof err));
	assert_null(ns_admin_format_human("", 0, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_flat_objects),
		cmocka_unit_test(test_human),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
