/* data/nymsuite-unsent.bin, the fragments still unacknowledged at the last stop (records:
 * common/clientlocal.h).
 *
 * The rule: the file is never modified in place and never deleted until its fragments have
 * been persisted again or acknowledged. A new list goes to a new file next to it
 * (nymsuite-unsent.bin.new, O_CREAT|O_EXCL|O_NOFOLLOW, 0600), is fsynced and renamed over
 * the old one (then the folder is fsynced). A list that did not arrive complete is merged
 * with the old file's records first, so nothing the old file held is lost; a fragment in
 * both is resent once (the reader skips fragment ids it has seen). A symlink or any
 * non-regular file at the path is never followed: reading refuses it, rename replaces it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientlocal.h"
#include "crypto.h"
#include "safefile.h"
#include "unsent.h"

#define UNSENT_MAX_BYTES (512u << 20)

static void path_of(const char *data_dir, const char *suffix, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s%s", data_dir, NS_UNSENT_FILE, suffix);
}

static int fsync_dir(const char *data_dir)
{
	int fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

uint8_t *nc_unsent_read(const char *data_dir, size_t *len, int *err)
{
	char path[NC_UNSENT_PATH_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	path_of(data_dir, "", path, sizeof path);
	*len = 0;
	/* a symlink (ELOOP), a FIFO, a device, a folder (EINVAL, EISDIR): not ours */
	int fd = ns_sf_open_read(path, 0, NULL, 0);
	if (fd < 0) {
		*err = errno == EISDIR ? -EINVAL : -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		*err = -errno;
	else if (st.st_size > UNSENT_MAX_BYTES)
		*err = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		*err = -ENOMEM;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

void nc_unsent_init(struct nc_unsent_out *o, const char *data_dir)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	snprintf(o->dir, sizeof o->dir, "%s", data_dir);
	path_of(data_dir, "", o->path, sizeof o->path);
	path_of(data_dir, ".new", o->tmp, sizeof o->tmp);
}

static int open_new(struct nc_unsent_out *o)
{
	/* a leftover of a crash (or anything planted there): unlink never follows a symlink */
	for (int tries = 0; tries < 2 && o->fd < 0; tries++) {
		o->fd = ns_sf_create(o->tmp, 0600, NULL, 0);
		if (o->fd < 0 && errno == EEXIST)
			unlink(o->tmp);
		else if (o->fd < 0)
			break;
	}
	return o->fd < 0 ? (o->err = -errno) : 0;
}

int nc_unsent_write_raw(struct nc_unsent_out *o, const uint8_t *rec, size_t n)
{
	if (o->fd < 0 && (o->err || open_new(o) < 0))
		return o->err;
	int rc = ns_sf_write_all(o->fd, rec, n);
	if (rc == 0) {
		o->size += n;
		return 0;
	}
	/* a record half written (disk full): cut it off so the file stays readable */
	if (o->fd >= 0 && ftruncate(o->fd, (off_t)o->size) < 0)
		rc = -errno;
	if (!o->err)
		o->err = rc;
	return rc;
}

int nc_unsent_add(struct nc_unsent_out *o, const struct ns_unsent_rec *r)
{
	static uint8_t rec[NS_UNSENT_OVERHEAD + NS_UNSENT_FRAG_MAX];
	size_t n = ns_unsent_encode(r, rec, sizeof rec);
	int rc = n ? nc_unsent_write_raw(o, rec, n) : -EINVAL;
	ns_memzero(rec, n);
	if (rc == 0)
		o->written++;
	else
		o->failed++;
	return rc;
}

/* Appends the old file's valid records (up to the first corrupt one) to the new list. */
static int merge_old(struct nc_unsent_out *o, size_t *merged)
{
	size_t len, off = 0;
	int err = 0;
	uint8_t *buf = nc_unsent_read(o->dir, &len, &err);
	*merged = 0;
	if (!buf)
		return err == -ENOENT || err == -ELOOP || err == -EINVAL ? 0 : err;
	while (off < len && !err) {
		struct ns_unsent_rec r;
		char why[96];
		size_t n = ns_unsent_decode(buf + off, len - off, &r, why, sizeof why);
		if (!n)
			break;
		err = nc_unsent_write_raw(o, buf + off, n);
		off += n;
		*merged += !err;
	}
	ns_memzero(buf, len);
	free(buf);
	return err;
}

static void discard(struct nc_unsent_out *o)
{
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
		unlink(o->tmp);
	}
}

static int install(struct nc_unsent_out *o)
{
	if (fsync(o->fd) < 0) {
		int rc = -errno;
		discard(o);
		return rc;
	}
	close(o->fd);
	o->fd = -1;
	if (rename(o->tmp, o->path) < 0) {
		int rc = -errno;
		unlink(o->tmp);
		return rc;
	}
	return fsync_dir(o->dir);
}

int nc_unsent_commit(struct nc_unsent_out *o, int complete, struct nc_unsent_result *res)
{
	memset(res, 0, sizeof *res);
	res->records = o->written;
	if (complete && !o->err) {
		if (o->written) {
			res->action = NC_UNSENT_REPLACED;
			return install(o);
		}
		discard(o);
		res->action = NC_UNSENT_REMOVED;
		if (unlink(o->path) < 0 && errno != ENOENT)
			return -errno;
		return fsync_dir(o->dir);
	}
	if (o->fd < 0) { /* nothing of this list was written: the old file stays as it is */
		res->action = NC_UNSENT_KEPT_OLD;
		return o->err;
	}
	int rc = merge_old(o, &res->merged);
	if (rc < 0) {
		/* the old file, complete as it was, stays: only this list is lost */
		discard(o);
		res->action = NC_UNSENT_KEPT_OLD;
		res->records = 0;
		return rc;
	}
	res->action = NC_UNSENT_MERGED;
	res->records = o->written + res->merged;
	return install(o);
}

void nc_unsent_abandon(struct nc_unsent_out *o)
{
	discard(o);
}

/* ---- fragment ids seen (open addressing; the reader resends a fragment once) */

static uint64_t id_hash(const uint8_t id[5])
{
	uint64_t h = 1469598103934665603u;
	for (int i = 0; i < 5; i++)
		h = (h ^ id[i]) * 1099511628211u;
	return h;
}

int nc_idset_init(struct nc_idset *s, size_t expect)
{
	size_t cap = 64;
	while (cap < expect * 2 + 1)
		cap <<= 1;
	s->slots = calloc(cap, sizeof *s->slots);
	s->cap = s->slots ? cap : 0;
	s->count = 0;
	return s->slots ? 0 : -1;
}

static size_t idset_find(const struct nc_idset *s, const uint8_t id[5])
{
	size_t i = id_hash(id) & (s->cap - 1);
	while (s->slots[i].used && memcmp(s->slots[i].id, id, 5))
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Doubles the table: probing needs free slots (kept at least half free). */
static int idset_grow(struct nc_idset *s)
{
	struct nc_idset big = { calloc(s->cap * 2, sizeof *s->slots), s->cap * 2, s->count };
	if (!big.slots)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].used)
			big.slots[idset_find(&big, s->slots[i].id)] = s->slots[i];
	free(s->slots);
	*s = big;
	return 0;
}

int nc_idset_add(struct nc_idset *s, const uint8_t id[5])
{
	size_t i = idset_find(s, id);
	if (s->slots[i].used)
		return 0;
	if ((s->count + 1) * 2 > s->cap) {
		if (idset_grow(s) < 0)
			return -1;
		i = idset_find(s, id);
	}
	s->slots[i].used = 1;
	memcpy(s->slots[i].id, id, 5);
	s->count++;
	return 1;
}

void nc_idset_free(struct nc_idset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = 0;
}
