/* client/suite/unsent.c: the unsent-fragments file replaced only by a complete list,
 * merged with an incomplete one, never written through a link, read only when regular; the
 * fragment-id set the resend deduplicates with. */
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
#include <unistd.h>

#include "../client/suite/unsent.c"

struct dir {
	char path[64], file[128], tmp[140];
};

static void dir_make(struct dir *d)
{
	snprintf(d->path, sizeof d->path, "/tmp/test_unsent.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof d->file, "%s/%s", d->path, NS_UNSENT_FILE);
	snprintf(d->tmp, sizeof d->tmp, "%s.new", d->file);
}

static void dir_remove(struct dir *d)
{
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

/* A fragment whose id and bytes derive from n. */
static struct ns_unsent_rec rec_of(unsigned n, uint8_t *frag)
{
	struct ns_unsent_rec r;
	memset(&r, 0, sizeof r);
	r.frag_id[0] = (uint8_t)(n >> 8);
	r.frag_id[4] = (uint8_t)n;
	memset(r.recipient, (int)n, sizeof r.recipient);
	memset(frag, (int)(n * 7), 100);
	r.fragment = frag;
	r.len = 100;
	r.lane = n;
	return r;
}

/* One list of the fragments first .. first + count - 1, committed as complete or not. */
static struct nc_unsent_result write_list(const struct dir *d, unsigned first, unsigned count,
                                          int complete, int *rc)
{
	struct nc_unsent_out o;
	struct nc_unsent_result res;
	uint8_t frag[100];
	nc_unsent_init(&o, d->path);
	for (unsigned i = 0; i < count; i++) {
		struct ns_unsent_rec r = rec_of(first + i, frag);
		assert_int_equal(nc_unsent_add(&o, &r), 0);
	}
	*rc = nc_unsent_commit(&o, complete, &res);
	return res;
}

/* The fragment ids in the file, in order (lane = id), or -1 when unreadable. */
static int file_ids(const struct dir *d, unsigned *ids, int cap)
{
	size_t len, off = 0;
	int err = 0, n = 0;
	uint8_t *buf = nc_unsent_read(d->path, &len, &err);
	if (!buf)
		return -1;
	while (off < len && n < cap) {
		struct ns_unsent_rec r;
		char why[96];
		size_t k = ns_unsent_decode(buf + off, len - off, &r, why, sizeof why);
		assert_true(k > 0);
		ids[n++] = (unsigned)r.lane;
		off += k;
	}
	free(buf);
	return n;
}

static void test_complete_replaces_incomplete_merges(void **state)
{
	(void)state;
	struct dir d;
	unsigned ids[16];
	int rc;
	dir_make(&d);
	struct nc_unsent_result res = write_list(&d, 1, 3, 1, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.action, NC_UNSENT_REPLACED);
	assert_int_equal(file_ids(&d, ids, 16), 3);
	struct stat st;
	assert_int_equal(stat(d.file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a complete list of 2 replaces the 3 */
	res = write_list(&d, 10, 2, 1, &rc);
	assert_int_equal(res.action, NC_UNSENT_REPLACED);
	assert_int_equal(file_ids(&d, ids, 16), 2);
	assert_int_equal(ids[0], 10);

	/* a list cut short keeps what the old file had, after its own records */
	res = write_list(&d, 20, 1, 0, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.action, NC_UNSENT_MERGED);
	assert_int_equal(res.merged, 2);
	assert_int_equal(file_ids(&d, ids, 16), 3);
	assert_int_equal(ids[0], 20);
	assert_int_equal(ids[1], 10);

	/* nothing of an incomplete list arrived: the old file stays as it is */
	res = write_list(&d, 30, 0, 0, &rc);
	assert_int_equal(res.action, NC_UNSENT_KEPT_OLD);
	assert_int_equal(file_ids(&d, ids, 16), 3);

	/* an empty complete list removes it */
	res = write_list(&d, 40, 0, 1, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.action, NC_UNSENT_REMOVED);
	assert_int_equal(access(d.file, F_OK), -1);
	assert_int_equal(access(d.tmp, F_OK), -1);
	dir_remove(&d);
}

static void test_links_and_fifos(void **state)
{
	(void)state;
	struct dir d;
	char target[160];
	unsigned ids[4];
	int rc, err = 0;
	size_t len;
	dir_make(&d);
	snprintf(target, sizeof target, "%s/target", d.path);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("untouched", f);
	fclose(f);

	/* links at the file and at .new: never read, never written through */
	assert_int_equal(symlink(target, d.file), 0);
	assert_int_equal(symlink(target, d.tmp), 0);
	assert_null(nc_unsent_read(d.path, &len, &err));
	assert_int_equal(err, -ELOOP);
	struct nc_unsent_result res = write_list(&d, 1, 2, 1, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.action, NC_UNSENT_REPLACED);
	struct stat st;
	assert_int_equal(lstat(d.file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(file_ids(&d, ids, 4), 2);
	char back[32] = "";
	f = fopen(target, "r");
	assert_non_null(fgets(back, sizeof back, f));
	fclose(f);
	assert_string_equal(back, "untouched");

	/* a FIFO is refused at once (no blocking open) */
	assert_int_equal(unlink(d.file), 0);
	assert_int_equal(mkfifo(d.file, 0600), 0);
	assert_null(nc_unsent_read(d.path, &len, &err));
	assert_int_equal(err, -EINVAL);
	dir_remove(&d);
}

static void test_idset(void **state)
{
	(void)state;
	struct nc_idset s;
	assert_int_equal(nc_idset_init(&s, 4), 0);
	for (unsigned i = 0; i < 20000; i++) {
		uint8_t id[5] = { (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0, 7 };
		assert_int_equal(nc_idset_add(&s, id), 1);
	}
	for (unsigned i = 0; i < 20000; i += 97) {
		uint8_t id[5] = { (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0, 7 };
		assert_int_equal(nc_idset_add(&s, id), 0);
	}
	uint8_t other[5] = { 0, 0, 1, 0, 8 };
	assert_int_equal(nc_idset_add(&s, other), 1);
	nc_idset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_replaces_incomplete_merges),
		cmocka_unit_test(test_links_and_fifos),
		cmocka_unit_test(test_idset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
