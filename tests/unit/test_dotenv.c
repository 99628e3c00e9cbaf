/* The dotenv reader of -c/--config-env-file (common/dotenv.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"

struct pairs {
	char text[4096];
	size_t n;
	int stop_at;
};

static int collect(void *ctx, const char *key, const char *value)
{
	struct pairs *p = ctx;
	size_t used = strlen(p->text);
	snprintf(p->text + used, sizeof p->text - used, "%s=[%s]\n", key, value);
	return ++p->n == (size_t)p->stop_at ? 7 : 0;
}

static void expect(const char *in, const char *out)
{
	struct pairs p = { .text = "" };
	char err[128] = "";
	int rc = ns_dotenv_parse(in, strlen(in), collect, &p, err, sizeof err);
	if (rc != 0)
		fail_msg("refused (%s): %s", err, in);
	if (strcmp(p.text, out))
		fail_msg("got\n%s\nwant\n%s\nfor: %s", p.text, out, in);
}

static void expect_error(const char *in, size_t len, const char *part)
{
	struct pairs p = { .text = "" };
	char err[128] = "";
	int rc = ns_dotenv_parse(in, len, collect, &p, err, sizeof err);
	if (rc != -1)
		fail_msg("accepted: %s", in);
	if (!strstr(err, part))
		fail_msg("error '%s' lacks '%s'", err, part);
}

static void test_forms(void **state)
{
	(void)state;
	expect("", "");
	expect("# only a comment\n\n   \n", "");
	expect("CONFIGURED=true\nNYM_API=https://a/api/,https://b/api/\n",
	       "CONFIGURED=[true]\nNYM_API=[https://a/api/,https://b/api/]\n");
	expect("export NYXD = https://rpc/ # mainnet\n", "NYXD=[https://rpc/]\n");
	expect("A=b#c\n", "A=[b#c]\n");
	expect("A='x # y \\n'\n", "A=[x # y \\n]\n");
	expect("A=\"l1\\nl2 \\\"q\\\"\" # c\n", "A=[l1\nl2 \"q\"]\n");
	expect("A=\"two\nlines\"\nB=2", "A=[two\nlines]\nB=[2]\n");
	expect("A=\r\nB=x\r\n", "A=[]\nB=[x]\n");
	expect("_a.b9=1", "_a.b9=[1]\n");
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("9A=1\n", 5, "line 1: a key must start");
	expect_error("A=1\nB\n", 6, "line 2: expected '='");
	expect_error("A=\"open\n", 8, "line 1: unterminated");
	expect_error("A='x' y\n", 8, "text after the closing quote");
	expect_error("A=\"x\\", 5, "unterminated");
	expect_error("A=a\0b\n", 6, "NUL byte");
	static char big[NS_DOTENV_MAX_INPUT + 2];
	memset(big, '#', sizeof big);
	expect_error(big, sizeof big, "too large");
	static char key[NS_DOTENV_MAX_KEY + 8];
	memset(key, 'K', sizeof key);
	key[sizeof key - 2] = '=';
	expect_error(key, sizeof key - 1, "key too long");
	static char value[NS_DOTENV_MAX_VALUE + 16];
	memset(value, 'v', sizeof value);
	memcpy(value, "A=", 2);
	expect_error(value, sizeof value, "value too long");
}

static void test_callback_stops(void **state)
{
	(void)state;
	struct pairs p = { .text = "", .stop_at = 2 };
	const char *in = "A=1\nB=2\nC=3\n";
	assert_int_equal(ns_dotenv_parse(in, strlen(in), collect, &p, NULL, 0), 7);
	assert_string_equal(p.text, "A=[1]\nB=[2]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
