/* common/log.c: the RUST_LOG filter (tracing's EnvFilter syntax, malformed strings), the
 * rate limiter of repeated lines, the periodic summary line and the output format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientconf.h"
#include "log.h"

#define P "nym-client"

static int level_of(const char *spec, const char *role)
{
	char bad[128];
	return ns_log_filter_level(spec, P, role, NS_LOG_INFO, bad, sizeof bad);
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(ns_log_level_parse("debug", 5), NS_LOG_DEBUG);
	assert_int_equal(ns_log_level_parse("WARN", 4), NS_LOG_WARN);
	assert_int_equal(ns_log_level_parse("Trace", 5), NS_LOG_TRACE);
	assert_int_equal(ns_log_level_parse("off", 3), NS_LOG_OFF);
	assert_int_equal(ns_log_level_parse("0", 1), NS_LOG_OFF);
	assert_int_equal(ns_log_level_parse("5", 1), NS_LOG_TRACE);
	assert_int_equal(ns_log_level_parse("", 0), NS_LOG_ERROR); /* as tracing */
	assert_int_equal(ns_log_level_parse("6", 1), -1);
	assert_int_equal(ns_log_level_parse("warning", 7), -1);
	assert_int_equal(ns_log_level_parse("debugx", 6), -1);
	assert_int_equal(ns_log_level_parse("deb", 3), -1);
	assert_int_equal(ns_log_level_parse("infoo", 4), NS_LOG_INFO); /* len bounds the text */
	assert_string_equal(ns_log_level_name(NS_LOG_WARN), "WARN");
	assert_string_equal(ns_log_level_name(42), "?");
}

static void test_filter_bare_and_targets(void **state)
{
	(void)state;
	assert_int_equal(level_of(NULL, "netd"), NS_LOG_INFO);
	assert_int_equal(level_of("", "netd"), NS_LOG_INFO);
	assert_int_equal(level_of("debug", "netd"), NS_LOG_DEBUG);
	assert_int_equal(level_of("error", "netd"), NS_LOG_ERROR);
	/* our role, our program (either spelling), tracing's prefix of program::role */
	assert_int_equal(level_of("netd=trace", "netd"), NS_LOG_TRACE);
	assert_int_equal(level_of("netd=trace", "keyd"), NS_LOG_INFO);
	assert_int_equal(level_of("nym-client=debug", "keyd"), NS_LOG_DEBUG);
	assert_int_equal(level_of("nym_client=debug", "keyd"), NS_LOG_DEBUG);
	assert_int_equal(level_of("nym=warn", "keyd"), NS_LOG_WARN);
	assert_int_equal(level_of("nym_client::keyd=error", "keyd"), NS_LOG_ERROR);
	assert_int_equal(level_of("nym_client::keyd=error", "netd"), NS_LOG_INFO);
	/* other programs' and crates' targets are not ours: our level stays */
	assert_int_equal(level_of("hyper=warn", "netd"), NS_LOG_INFO);
	assert_int_equal(level_of("nym_socks5_client=debug", "netd"), NS_LOG_INFO);
	assert_int_equal(level_of("nym_client_core=debug", "netd"), NS_LOG_INFO);
	/* the most specific wins, in any order; then the bare level */
	assert_int_equal(level_of("nym=error,nym_client::netd=trace,info", "netd"), NS_LOG_TRACE);
	assert_int_equal(level_of("netd=trace,nym=error", "netd"), NS_LOG_TRACE);
	assert_int_equal(level_of("warn,hyper=trace", "netd"), NS_LOG_WARN);
	assert_int_equal(level_of("info,nym_client=debug", "apid"), NS_LOG_DEBUG);
	/* a target alone is everything of it (tracing), "t=" is ERROR */
	assert_int_equal(level_of("netd", "netd"), NS_LOG_TRACE);
	assert_int_equal(level_of("netd=", "netd"), NS_LOG_ERROR);
	assert_int_equal(level_of("=debug", "netd"), NS_LOG_DEBUG);
	assert_int_equal(level_of(" netd = debug , warn ", "netd"), NS_LOG_DEBUG);
	assert_int_equal(level_of("netd=off", "netd"), NS_LOG_OFF);
	/* no role (the localnet's programs): the program name */
	assert_int_equal(ns_log_filter_level("nym-gateway=debug", "nym-gateway", NULL, NS_LOG_INFO,
	                                     NULL, 0),
	                 NS_LOG_DEBUG);
}

static void test_filter_malformed(void **state)
{
	(void)state;
	char bad[64];
	assert_int_equal(ns_log_filter_level("netd=loud", P, "netd", NS_LOG_INFO, bad, sizeof bad),
	                 NS_LOG_INFO);
	assert_string_equal(bad, "netd=loud");
	assert_int_equal(ns_log_filter_level("a=b=c,debug", P, "netd", NS_LOG_INFO, bad, sizeof bad),
	                 NS_LOG_DEBUG);
	assert_string_equal(bad, "a=b=c");
	/* span and field filters: we have no spans */
	assert_int_equal(ns_log_filter_level("netd[conn]=trace,[x{y=1}]=debug", P, "netd",
	                                     NS_LOG_WARN, bad, sizeof bad),
	                 NS_LOG_WARN);
	assert_string_equal(bad, "netd[conn]=trace, [x{y=1}]=debug");
	assert_int_equal(ns_log_filter_level(",,, ,", P, "netd", NS_LOG_WARN, bad, sizeof bad),
	                 NS_LOG_WARN);
	assert_string_equal(bad, "");
	assert_int_equal(ns_log_filter_level("ne td=debug,\x1b[31m,\xff", P, "netd", NS_LOG_WARN,
	                                     bad, sizeof bad),
	                 NS_LOG_WARN);
	assert_string_equal(bad, "ne td=debug, \x1b[31m, \xff");
	/* the list of bad parts is cut, never overrun */
	char small[12];
	ns_log_filter_level("aaaaaaaaaa=x,bbbbbbbbbb=y,cccc=z", P, "netd", 0, small, sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_string_equal(small + strlen(small) - 3, "...");
	/* a long string of commas and equals signs */
	char *big = malloc(65537);
	assert_non_null(big);
	for (size_t i = 0; i < 65536; i++)
		big[i] = i % 3 ? '=' : ',';
	big[65536] = 0;
	assert_int_equal(ns_log_filter_level(big, P, "netd", NS_LOG_INFO, bad, sizeof bad),
	                 NS_LOG_INFO);
	free(big);
	/* an over-long target is not ours */
	char longt[300];
	memset(longt, 'n', sizeof longt);
	strcpy(longt + 250, "=debug");
	assert_int_equal(level_of(longt, "netd"), NS_LOG_INFO);
}

/* ---- output, through the sink */

static char g_lines[64][1200];
static size_t g_n;
static double g_now = 1000.0;

static void sink(const char *line, void *ctx)
{
	(void)ctx;
	if (g_n < 64)
		snprintf(g_lines[g_n], sizeof g_lines[g_n], "%s", line);
	g_n++;
}

static double fake_clock(void)
{
	return g_now;
}

static int setup_sink(void **state)
{
	(void)state;
	g_n = 0;
	ns_log_set_sink(sink, NULL);
	ns_log_set_clock(fake_clock);
	ns_log_init(P, "apid", NS_LOG_INFO, 0);
	return 0;
}

static void test_format_and_level(void **state)
{
	(void)state;
	ns_log(NS_LOG_INFO, NULL, "hello %d", 1);
	ns_log(NS_LOG_DEBUG, "netd", "not shown");
	ns_log(NS_LOG_WARN, "netd", "bad\nline\x1b[2J");
	assert_int_equal(g_n, 2);
	assert_string_equal(g_lines[0], "INFO nym-client[apid]: hello 1");
	assert_string_equal(g_lines[1], "WARN nym-client[netd]: bad?line?[2J");
	ns_log_init(P, "apid", NS_LOG_INFO, NS_LOG_JOURNAL);
	ns_log(NS_LOG_ERROR, NULL, "e");
	ns_log(NS_LOG_INFO, NULL, "i");
	assert_string_equal(g_lines[2], "<3>nym-client[apid]: e");
	assert_string_equal(g_lines[3], "<6>nym-client[apid]: i");
	/* no timestamp before the priority, even where one is asked for */
	ns_log_init(P, "apid", NS_LOG_INFO, NS_LOG_JOURNAL | NS_LOG_TIME);
	ns_log(NS_LOG_WARN, NULL, "w");
	assert_string_equal(g_lines[4], "<4>nym-client[apid]: w");
	g_n = 4;
	ns_log_init(P, "apid", NS_LOG_INFO, NS_LOG_TTY);
	ns_log(NS_LOG_WARN, NULL, "t");
	/* 2026-12-07T10:00:00.000Z \e[33m WARN\e[0m nym-client[apid]: t */
	assert_int_equal(g_lines[4][4], '-');
	assert_int_equal(g_lines[4][23], 'Z');
	assert_non_null(strstr(g_lines[4], "\033[33m WARN\033[0m nym-client[apid]: t"));
	ns_log_init("nym-gateway", NULL, NS_LOG_OFF, 0);
	ns_log(NS_LOG_ERROR, NULL, "silent");
	assert_int_equal(g_n, 5);
	ns_log_init("nym-gateway", NULL, NS_LOG_TRACE, 0);
	ns_log(NS_LOG_TRACE, NULL, "x");
	assert_string_equal(g_lines[5], "TRACE nym-gateway: x");
	/* cut at 1 KiB, not overrun */
	char big[4000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ns_log(NS_LOG_INFO, NULL, "%s", big);
	assert_true(strlen(g_lines[6]) < 1100);
}

static void test_limiter(void **state)
{
	(void)state;
	static struct ns_log_limit l;
	g_now = 1000.0;
	/* a burst of 1000 in 5 s: the first line only */
	for (int i = 0; i < 1000; i++) {
		g_now = 1000.0 + i * 0.005;
		ns_log_limited(&l, NS_LOG_WARN, NULL, "request %d refused", i);
	}
	assert_int_equal(g_n, 1);
	assert_string_equal(g_lines[0], "WARN nym-client[apid]: request 0 refused");
	/* the window ends: one count line, by the flush */
	ns_log_flush(1009.0);
	assert_int_equal(g_n, 1);
	ns_log_flush(1010.0);
	assert_int_equal(g_n, 2);
	assert_string_equal(g_lines[1],
	                    "WARN nym-client[apid]: 999 more like this in the last 10 s: request 0 refused");
	ns_log_flush(1030.0);
	assert_int_equal(g_n, 2);
	/* after a quiet window, the full line again */
	g_now = 1050.0;
	ns_log_limited(&l, NS_LOG_WARN, NULL, "request %d refused", 7);
	assert_int_equal(g_n, 3);
	assert_string_equal(g_lines[2], "WARN nym-client[apid]: request 7 refused");
	/* a fault that goes on: per window, its first line and a count line */
	for (int i = 0; i < 30; i++) {
		g_now = 1051.0 + i;
		ns_log_limited(&l, NS_LOG_WARN, NULL, "request refused after %d s", i + 1);
	}
	/* windows 1050..1060, 1060..1070, 1070..1080 (9 repeats each), 1080.. (none yet) */
	assert_int_equal(g_n, 9);
	assert_string_equal(g_lines[3], "WARN nym-client[apid]: 9 more like this in the last 10 s: "
	                                "request 7 refused");
	assert_string_equal(g_lines[4], "WARN nym-client[apid]: request refused after 10 s");
	assert_string_equal(g_lines[5], "WARN nym-client[apid]: 9 more like this in the last 10 s: "
	                                "request refused after 10 s");
	assert_string_equal(g_lines[6], "WARN nym-client[apid]: request refused after 20 s");
	assert_string_equal(g_lines[8], "WARN nym-client[apid]: request refused after 30 s");
	g_now = 1200.0;
	ns_log(NS_LOG_INFO, NULL, "another line");
	assert_int_equal(g_n, 10);
	assert_string_equal(g_lines[9], "INFO nym-client[apid]: another line");
}

static void test_limiter_below_level(void **state)
{
	(void)state;
	static struct ns_log_limit l;
	g_now = 5000.0;
	for (int i = 0; i < 100; i++)
		ns_log_limited(&l, NS_LOG_DEBUG, "keyd", "noise");
	ns_log_flush(6000.0);
	assert_int_equal(g_n, 0);
	ns_log_init(P, "apid", NS_LOG_DEBUG, 0);
	g_now = 7000.0;
	ns_log_limited(&l, NS_LOG_DEBUG, "keyd", "noise");
	assert_int_equal(g_n, 1);
	assert_string_equal(g_lines[0], "DEBUG nym-client[keyd]: noise");
	/* a long line: the count line shows its start */
	static struct ns_log_limit l2;
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ns_log_limited(&l2, NS_LOG_WARN, NULL, "%s", big);
	ns_log_limited(&l2, NS_LOG_WARN, NULL, "%s", big);
	ns_log_flush(7100.0);
	assert_int_equal(g_n, 3);
	assert_non_null(strstr(g_lines[2], "1 more like this in the last 100 s: xxx"));
	assert_non_null(strstr(g_lines[2], "x..."));
	/* a window of its own */
	static struct ns_log_limit l3 = { .window_s = 60 };
	g_now = 8000.0;
	ns_log_limited(&l3, NS_LOG_WARN, NULL, "a");
	g_now = 8030.0;
	ns_log_limited(&l3, NS_LOG_WARN, NULL, "a");
	ns_log_flush(8059.0);
	assert_int_equal(g_n, 4);
	ns_log_flush(8060.0);
	assert_int_equal(g_n, 5);
}

static void test_summary_line(void **state)
{
	(void)state;
	static const char *const names[] = { "real_sent", "acks", "cover_sent" };
	uint64_t last[3] = { 0 }, v[3] = { 0, 0, 50 };
	char out[64];
	/* only cover moved: nothing happened */
	assert_int_equal(ns_log_summary_line(names, v, last, 3, 2, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(last[2], 50);
	v[0] = 10, v[2] = 80;
	assert_int_equal(ns_log_summary_line(names, v, last, 3, 2, out, sizeof out), 1);
	assert_string_equal(out, "real_sent=10 cover_sent=30");
	assert_int_equal(ns_log_summary_line(names, v, last, 3, 2, out, sizeof out), 0);
	/* a short buffer is cut, never overrun */
	char tiny[8];
	v[0] = 1000000, v[1] = 5;
	assert_int_equal(ns_log_summary_line(names, v, last, 3, 2, tiny, sizeof tiny), 1);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

/* [nymsuite] log_level: rendered only when set, read back, a bad level refused. */
static void test_config_key(void **state)
{
	(void)state;
	static const enum clientconf_kind kinds[] = { CC_KIND_CLIENT, CC_KIND_NR };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		static struct clientconf c, back;
		struct clientconf_dirs d;
		char err[CLIENTCONF_ERR_MAX] = "";
		assert_int_equal(clientconf_dirs_kind(kinds[i], "/home/u", "test", &d), 0);
		assert_int_equal(clientconf_init_defaults_kind(&c, kinds[i], &d, "test"), 0);
		char *t = clientconf_render(&c, NULL);
		assert_non_null(t);
		assert_null(strstr(t, "log_level"));
		free(t);
		snprintf(c.log_level, sizeof c.log_level, "debug");
		size_t n;
		t = clientconf_render(&c, &n);
		assert_non_null(strstr(t, "log_level = \"debug\""));
		assert_int_equal(clientconf_parse_kind(kinds[i], t, n, &back, err), 0);
		assert_string_equal(back.log_level, "debug");
		char *bad = strstr(t, "log_level = \"debug\"");
		memcpy(bad, "log_level = \"loud\" ", 19);
		assert_int_equal(clientconf_parse_kind(kinds[i], t, n, &back, err), -1);
		assert_non_null(strstr(err, "log_level"));
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_filter_bare_and_targets),
		cmocka_unit_test(test_filter_malformed),
		cmocka_unit_test_setup(test_format_and_level, setup_sink),
		cmocka_unit_test_setup(test_limiter, setup_sink),
		cmocka_unit_test_setup(test_limiter_below_level, setup_sink),
		cmocka_unit_test(test_summary_line),
		cmocka_unit_test(test_config_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
