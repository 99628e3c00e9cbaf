/* common/unixsock: a socket path longer than sun_path (107 bytes) is bound and reached through
 * its folder; a short one directly; a name that does not fit even then is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unixsock.h"

static char top[64];
static char deep[512]; /* a folder whose path alone is longer than sun_path */

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof top, "/tmp/test_unixsock.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(deep, sizeof deep, "%s", top);
	for (int i = 0; i < 6; i++) {
		strcat(deep, "/a-rather-long-folder-name");
		if (mkdir(deep, 0700) < 0)
			return -1;
	}
	return strlen(deep) > 120 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* binds and listens at path, connects to it: the connection is accepted */
static void round_trip(const char *path)
{
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(l >= 0 && c >= 0);
	assert_int_equal(ns_unix_bind(l, path), 0);
	assert_int_equal(listen(l, 1), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0); /* the socket file is where the path says */
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(ns_unix_connect(c, path), 0);
	int a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	close(a);
	close(c);
	close(l);
	unlink(path);
}

static void short_path(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof p, "%s/s.sock", top);
	round_trip(p);
}

static void long_path(void **state)
{
	(void)state;
	char p[600];
	snprintf(p, sizeof p, "%s/nymctl.sock", deep);
	assert_true(strlen(p) > 107);
	round_trip(p);
}

static void nothing_listens(void **state)
{
	(void)state;
	char p[600];
	snprintf(p, sizeof p, "%s/nobody.sock", deep);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(ns_unix_connect(c, p), -1);
	assert_int_equal(errno, ENOENT);
	close(c);
}

static void refused(void **state)
{
	(void)state;
	char name[200], p[800];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	snprintf(p, sizeof p, "%s/%s", top, name); /* the name alone does not fit */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(ns_unix_bind(s, p), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(ns_unix_bind(s, ""), -1);
	assert_int_equal(ns_unix_connect(s, name), -1); /* relative, no folder to go through */
	assert_int_equal(errno, ENAMETOOLONG);
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_path),
		cmocka_unit_test(long_path),
		cmocka_unit_test(nothing_listens),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
