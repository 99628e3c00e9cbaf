/* common/safefile: symlinks, FIFOs, directories, wrong modes, wrong owners (chown, as root
 * only) and existing files for O_EXCL are refused with the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safefile.h"

static char dir[64];

static const char *at(const char *name)
{
	static char p[4][128];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static void put(const char *name, const char *text, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_safefile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_regular_read(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "";
	size_t n = 0;
	put("plain", "hello", 0600);
	char *t = ns_sf_read_all(at("plain"), 100, &n, NS_SF_PRIVATE, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(n, 5);
	assert_string_equal(t, "hello");
	free(t);
	int fd = ns_sf_open_read(at("plain"), 0, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0); /* cleared after the check */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	assert_null(ns_sf_read_all(at("plain"), 4, &n, 0, err, sizeof err));
	assert_int_equal(errno, EFBIG);
	assert_int_equal(ns_sf_open_read(at("absent"), 0, err, sizeof err), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_symlink(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "";
	put("target", "secret", 0600);
	assert_int_equal(symlink(at("target"), at("link")), 0);
	assert_int_equal(ns_sf_open_read(at("link"), 0, err, sizeof err), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	/* writing: never through it */
	assert_int_equal(ns_sf_create(at("link"), 0600, err, sizeof err), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(ns_sf_open_append(at("link"), 0600, 0, err, sizeof err), -1);
	assert_int_equal(errno, ELOOP);
	/* replacing: the link itself goes, the target keeps its content */
	assert_int_equal(ns_sf_write_replace(at("link"), "new", 3, 0600, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(lstat(at("link"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	size_t n;
	char *t = ns_sf_read_all(at("target"), 100, &n, 0, err, sizeof err);
	assert_non_null(t);
	assert_string_equal(t, "secret");
	free(t);
}

static void test_fifo(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "";
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	time_t t0 = time(NULL);
	assert_int_equal(ns_sf_open_read(at("fifo"), NS_SF_PRIVATE, err, sizeof err), -1); /* no hang */
	assert_true(time(NULL) - t0 < 2);
	assert_non_null(strstr(err, "a FIFO, not a regular file"));
	size_t n;
	assert_null(ns_sf_read_all(at("fifo"), 10, &n, 0, err, sizeof err));
	assert_null(ns_sf_fopen_read(at("fifo"), 0, err, sizeof err));
}

static void test_directory(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "", warn[NS_SF_ERR_MAX] = "";
	assert_int_equal(mkdir(at("sub"), 0700), 0);
	assert_int_equal(ns_sf_open_read(at("sub"), 0, err, sizeof err), -1);
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(err, "a directory"));
	/* directory policy */
	assert_int_equal(ns_sf_check_dir(at("sub"), err, sizeof err, warn, sizeof warn), 0);
	assert_string_equal(warn, "");
	assert_int_equal(chmod(at("sub"), 0755), 0);
	assert_int_equal(ns_sf_check_dir(at("sub"), err, sizeof err, warn, sizeof warn), 0);
	assert_non_null(strstr(warn, "readable by group or others"));
	assert_int_equal(chmod(at("sub"), 0777), 0);
	assert_int_equal(ns_sf_check_dir(at("sub"), err, sizeof err, warn, sizeof warn), -1);
	assert_non_null(strstr(err, "mode 0777 is writable by others"));
	assert_int_equal(chmod(at("sub"), 0770), 0);
	assert_int_equal(ns_sf_check_dir(at("sub"), err, sizeof err, warn, sizeof warn), -1);
	assert_non_null(strstr(err, "writable by its group"));
	put("notdir", "x", 0600);
	assert_int_equal(ns_sf_check_dir(at("notdir"), err, sizeof err, warn, sizeof warn), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void test_modes(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "";
	put("k644", "k", 0644);
	assert_int_equal(ns_sf_open_read(at("k644"), NS_SF_PRIVATE, err, sizeof err), -1);
	assert_non_null(strstr(err, "k644: mode 0644 is readable by others; chmod 600"));
	int fd = ns_sf_open_read(at("k644"), 0, err, sizeof err); /* public: fine */
	assert_true(fd >= 0);
	close(fd);
	put("k640", "k", 0640);
	assert_int_equal(ns_sf_open_read(at("k640"), NS_SF_PRIVATE, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0640 is readable by its group"));
	put("k602", "k", 0602);
	assert_int_equal(ns_sf_open_read(at("k602"), NS_SF_PRIVATE, err, sizeof err), -1);
	assert_non_null(strstr(err, "writable by others"));
	put("k400", "k", 0400);
	fd = ns_sf_open_read(at("k400"), NS_SF_PRIVATE, err, sizeof err);
	assert_true(fd >= 0);
	close(fd);
}

static void test_owner(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "", warn[NS_SF_ERR_MAX];
	if (geteuid() != 0)
		skip(); /* chown needs root */
	put("other", "k", 0600);
	assert_int_equal(chown(at("other"), 4242, 4242), 0);
	assert_int_equal(ns_sf_open_read(at("other"), NS_SF_PRIVATE, err, sizeof err), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err, "owned by uid 4242"));
	assert_int_equal(mkdir(at("odir"), 0700), 0);
	assert_int_equal(chown(at("odir"), 4242, 4242), 0);
	assert_int_equal(ns_sf_check_dir(at("odir"), err, sizeof err, warn, sizeof warn), -1);
	assert_non_null(strstr(err, "owned by uid 4242"));
	/* appending to someone else's file: refused too */
	assert_int_equal(ns_sf_open_append(at("other"), 0600, 1, err, sizeof err), -1);
}

static void test_create_excl(void **state)
{
	(void)state;
	char err[NS_SF_ERR_MAX] = "";
	int fd = ns_sf_create(at("new"), 0600, err, sizeof err);
	assert_true(fd >= 0);
	close(fd);
	struct stat st;
	assert_int_equal(stat(at("new"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(ns_sf_create(at("new"), 0600, err, sizeof err), -1);
	assert_int_equal(errno, EEXIST);
	/* append: creates, then appends to the same regular file */
	fd = ns_sf_open_append(at("log"), 0600, 0, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ab", 2), 2);
	close(fd);
	fd = ns_sf_open_append(at("log"), 0600, 1, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	assert_int_equal(mkfifo(at("fifo2"), 0600), 0);
	assert_int_equal(ns_sf_open_append(at("fifo2"), 0600, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "FIFO"));
	/* replace: no temporary left behind */
	assert_int_equal(ns_sf_write_replace(at("new"), "xyz", 3, 0600, err, sizeof err), 0);
	assert_int_equal(stat(at("new"), &st), 0);
	assert_int_equal(st.st_size, 3);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", at("new"), (long)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_excl, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
