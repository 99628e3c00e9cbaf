/* keyd's reply store: Nym's persistent_reply_store.sqlite (common/replystore.h) holds the
 * reply keys of the SURBs we handed out, so keyd alone reads and writes it.
 *
 * Before the sandbox: a write-ahead log Nym's client left is folded in (nc_sqlite_fold_wal);
 * the file is read (O_NOFOLLOW, a regular file of ours or root's that nobody else may write,
 * at most NS_RS_FILE_MAX bytes) and loaded with Nym's rules; a store Nym would refuse is
 * renamed aside as Nym does (<path>._<unix time>.corrupted); the file is rewritten marked in
 * use (client_in_use = 1, so a crash leaves a store the next start empties, as Nym's) and
 * <path>.new is created (0600, O_EXCL) for the shutdown.
 * At the end, sandboxed: the whole state goes into <path>.new as one complete image, fsync'd;
 * the supervisor renames it into place once keyd reported its length (FILE_SAVED). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crypto.h"
#include "nymclient.h"
#include "nymsphinx/replies.h"
#include "replystore.h"
#include "safefile.h"

#define KEYS_MAX 100000         /* keyd's REPLY_KEYS_MAX */
#define SENDERS_MAX (2 * 1024)  /* twice keyd's SURB_TAGS_MAX */
#define SURBS_MAX (2 * 20000)   /* twice keyd's SURBS_TOTAL_MAX */
#define NS_PER_S 1000000000ull

struct nc_store {
	char path[CLIENTCONF_PATH_MAX], newpath[CLIENTCONF_PATH_MAX + 8];
	int fd;
	struct ns_rs_writer *w;
	uint32_t min_threshold, max_threshold;
	int64_t wall;  /* a moment on both clocks */
	uint64_t mono;
};

/* ---- the two clocks: keyd keeps monotonic times, the file wall-clock seconds */

static uint64_t mono_of(const struct nc_store *st, int64_t wall)
{
	if (wall >= st->wall)
		return st->mono;
	uint64_t back = (uint64_t)(st->wall - wall) * NS_PER_S;
	return back < st->mono ? st->mono - back : 0;
}

static int64_t wall_of(const struct nc_store *st, uint64_t mono)
{
	if (mono >= st->mono)
		return st->wall;
	return st->wall - (int64_t)((st->mono - mono) / NS_PER_S);
}

/* ---- reading */

/* The file's bytes (malloc'd), or NULL: absent (*why empty), refused (the reason in why), or
 * out of memory (why "out of memory"). */
static uint8_t *read_file(const char *path, size_t *len, char *why, size_t cap)
{
	struct stat sb;
	why[0] = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(why, cap, "%s", errno == ELOOP ? "a symbolic link" : strerror(errno));
		return NULL;
	}
	uint8_t *buf = NULL;
	if (ns_sf_check_fd(fd, path, 0, why, cap) < 0 || fstat(fd, &sb) < 0) {
		if (!why[0])
			snprintf(why, cap, "%s", strerror(errno));
	} else if ((sb.st_uid != geteuid() && sb.st_uid != 0) || (sb.st_mode & 022)) {
		snprintf(why, cap, "owned by uid %u, mode %04o: it must be ours and writable by nobody "
		         "else", (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	} else if ((uint64_t)sb.st_size > NS_RS_FILE_MAX) {
		snprintf(why, cap, "%lld bytes: we load at most %u", (long long)sb.st_size,
		         NS_RS_FILE_MAX);
	} else if (!(buf = malloc((size_t)sb.st_size + 1))) {
		snprintf(why, cap, "out of memory");
	} else {
		size_t n = 0;
		ssize_t r = 1;
		while (n < (size_t)sb.st_size && (r = read(fd, buf + n, (size_t)sb.st_size - n)) > 0)
			n += (size_t)r;
		*len = n;
	}
	close(fd);
	return buf;
}

/* A write-ahead log left beside it: the writer (Nym's client) did not close it. */
static int wal_left(const char *path)
{
	char wal[CLIENTCONF_PATH_MAX + 8];
	struct stat sb;
	snprintf(wal, sizeof wal, "%s-wal", path);
	return lstat(wal, &sb) == 0 && sb.st_size > 0;
}

/* Nym's client leaves its last writes in the write-ahead log when it exits without closing its
 * pool: folded into the file first, as SQLite does when Nym's client opens it again (SQLite
 * opens the file here, before the sandbox, only to checkpoint it). */
void nc_sqlite_fold_wal(const char *path)
{
	struct stat sb;
	sqlite3 *db = NULL;
	if (!wal_left(path) || lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_uid != geteuid() && sb.st_uid != 0) || (sb.st_mode & 022))
		return; /* read_file refuses it */
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
		sqlite3_busy_timeout(db, 2000);
		rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		nc_log("keyd", "%s: its write-ahead log cannot be folded in: %s", path,
		       db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
}

static void set_aside(const char *path, const char *why)
{
	char aside[CLIENTCONF_PATH_MAX + 40];
	snprintf(aside, sizeof aside, "%s._%lld.corrupted", path, (long long)time(NULL));
	if (rename(path, aside) == 0)
		nc_log("keyd", "reply store %s refused (%s): renamed to %s; starting without one",
		       path, why, aside);
	else
		nc_log("keyd", "reply store %s refused (%s); starting without one", path, why);
}

static void add_loaded(struct nc_store *st, const struct ns_rs_data *d, struct nc_rkeys *keys,
                       struct nc_surbs *surbs, uint64_t key_max_age_ns)
{
	size_t nk = 0, ns = 0;
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct ns_rs_key *k = &d->keys[i];
		if (k->sent_at < st->wall && (uint64_t)(st->wall - k->sent_at) > key_max_age_ns / NS_PER_S)
			continue; /* older than maximum_reply_key_age */
		nc_rkeys_add(keys, k->digest, k->key, mono_of(st, k->sent_at));
		nk++;
	}
	static uint8_t rec[1 + NYM_REPLY_SURB_MAX_LEN];
	for (size_t i = 0; i < d->n_senders; i++) {
		const struct ns_rs_sender *s = &d->senders[i];
		for (size_t j = s->first; j < s->first + s->n; j++) {
			const struct ns_rs_surb *x = &d->surbs[j];
			rec[0] = x->rotation;
			memcpy(rec + 1, d->bytes + x->off, x->len);
			ns += nc_prep_surb_check(rec + 1, x->len) == 0 &&
			      nc_surbs_add(surbs, s->tag, rec, x->len + 1, mono_of(st, s->last_sent)) == 0;
		}
	}
	ns_memzero(rec, sizeof rec);
	nc_log("keyd", "reply store: %zu reply keys and %zu reply SURBs of %zu senders loaded%s%s",
	       nk, ns, d->n_senders, d->surbs_outdated ? " (its SURBs were a day old: dropped)" : "",
	       d->keys_outdated ? " (its keys were two days old: dropped)" : "");
}

/* 0, or -1 when out of memory (the file is then left as it is). */
static int load(struct nc_store *st, struct nc_rkeys *keys, struct nc_surbs *surbs,
                uint64_t key_max_age_ns, int64_t *previous_flush)
{
	static const struct ns_rs_limits lim = { KEYS_MAX, SENDERS_MAX, SURBS_MAX };
	char err[NS_SF_ERR_MAX] = "";
	size_t len = 0;
	nc_sqlite_fold_wal(st->path);
	uint8_t *img = read_file(st->path, &len, err, sizeof err);
	if (!img && !strcmp(err, "out of memory"))
		return -1;
	if (!img) {
		if (err[0])
			set_aside(st->path, err);
		return 0;
	}
	struct ns_rs_data d;
	int rc = ns_rs_load(img, len, st->wall, &lim, &d, err, sizeof err);
	ns_memzero(img, len);
	free(img);
	if (rc == NS_RS_ENOMEM)
		return -1;
	if (rc < 0) {
		set_aside(st->path, err);
		return 0;
	}
	if (d.unclean || wal_left(st->path))
		nc_log("keyd", "reply store %s: the client that used it last did not stop cleanly: "
		       "its reply SURBs and keys are dropped (as Nym does)", st->path);
	else
		add_loaded(st, &d, keys, surbs, key_max_age_ns);
	*previous_flush = d.previous_flush;
	ns_rs_data_free(&d);
	return 0;
}

/* ---- writing */

struct fill {
	const struct nc_store *st;
	struct ns_rs_writer *w;
	int failed;
};

static void put_key(void *ctx, const uint8_t digest[32], const uint8_t key[16], uint64_t sent_ns)
{
	struct fill *f = ctx;
	f->failed |= ns_rs_writer_key(f->w, digest, key, wall_of(f->st, sent_ns)) < 0;
}

static void put_surb(void *ctx, const uint8_t *rec, size_t len)
{
	struct fill *f = ctx;
	if (len > 1 && rec[0] <= 2)
		f->failed |= ns_rs_writer_surb(f->w, rec[0], rec + 1, len - 1) < 0;
}

/* keys and surbs into w; then the image (ns_rs_image_free) or NULL. */
static uint8_t *image_of(const struct nc_store *st, struct ns_rs_writer *w,
                         const struct nc_rkeys *keys, const struct nc_surbs *surbs,
                         int64_t previous_flush, int in_use, size_t *len)
{
	char err[300] = "";
	struct fill f = { .st = st, .w = w };
	uint8_t *img = NULL;
	nc_rkeys_each(keys, put_key, &f);
	for (size_t i = 0; i < nc_surbs_tag_count(surbs) && !f.failed; i++) {
		if (!nc_surbs_available(surbs, nc_surbs_tag_at(surbs, i)))
			continue;
		f.failed |= ns_rs_writer_sender(w, nc_surbs_tag_at(surbs, i),
		                                 wall_of(st, nc_surbs_tag_received_ns(surbs, i))) < 0;
		if (!f.failed)
			nc_surbs_tag_each(surbs, i, put_surb, &f);
	}
	if (f.failed || ns_rs_writer_finish(w, st->min_threshold, st->max_threshold,
	                                     previous_flush, in_use, &img, len, err,
	                                     sizeof err) < 0) {
		nc_log("keyd", "reply store: cannot build the image: %s", err[0] ? err : "a row failed");
		return NULL;
	}
	return img;
}

static void remove_sqlite_side_files(const char *path)
{
	char side[CLIENTCONF_PATH_MAX + 8];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

/* The file as it stands now (what was loaded), marked in use. */
static void mark_in_use(const struct nc_store *st, const struct nc_rkeys *keys,
                        const struct nc_surbs *surbs, int64_t previous_flush)
{
	char err[NS_SF_ERR_MAX] = "";
	size_t len = 0;
	struct ns_rs_writer *w = ns_rs_writer_new(err, sizeof err);
	uint8_t *img = w ? image_of(st, w, keys, surbs, previous_flush, 1, &len) : NULL;
	ns_rs_writer_free(w);
	if (!img)
		return;
	if (ns_sf_write_replace(st->path, img, len, 0600, err, sizeof err) < 0)
		nc_log("keyd", "reply store: cannot mark %s in use: %s", st->path, err);
	else
		remove_sqlite_side_files(st->path);
	ns_rs_image_free(img, len);
}

struct nc_store *nc_store_open(const struct nc_setup *s, struct nc_rkeys *keys,
                               struct nc_surbs *surbs)
{
	const struct clientconf *c = &s->conf;
	char err[NS_SF_ERR_MAX] = "";
	if (!c->reply_surb_database[0])
		return NULL;
	struct nc_store *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->fd = -1;
	snprintf(st->path, sizeof st->path, "%s", c->reply_surb_database);
	snprintf(st->newpath, sizeof st->newpath, "%s%s", st->path, NC_STORE_NEW_SUFFIX);
	st->min_threshold = (uint32_t)c->debug.minimum_reply_surb_storage_threshold;
	st->max_threshold = (uint32_t)c->debug.maximum_reply_surb_storage_threshold;
	st->wall = (int64_t)time(NULL);
	st->mono = nc_mono_ns();
	int64_t previous_flush = 0;
	if (load(st, keys, surbs, c->debug.maximum_reply_key_age_ns, &previous_flush) < 0) {
		nc_log("keyd", "reply store %s: out of memory; neither read nor saved", st->path);
		free(st);
		return NULL;
	}
	mark_in_use(st, keys, surbs, previous_flush);
	unlink(st->newpath); /* a crashed run's, never renamed into place */
	st->fd = ns_sf_create(st->newpath, 0600, err, sizeof err);
	st->w = ns_rs_writer_new(err, sizeof err);
	if (st->fd < 0 || !st->w)
		nc_log("keyd", "reply store: nothing will be saved at the end: %s", err);
	return st;
}

static void store_free(struct nc_store *st)
{
	if (st->fd >= 0)
		close(st->fd);
	ns_rs_writer_free(st->w);
	free(st);
}

uint64_t nc_store_save(struct nc_store *st, const struct nc_rkeys *keys,
                       const struct nc_surbs *surbs)
{
	if (!st)
		return 0;
	size_t len = 0;
	uint64_t saved = 0;
	st->wall = (int64_t)time(NULL);
	st->mono = nc_mono_ns();
	uint8_t *img = st->fd >= 0 && st->w ? image_of(st, st->w, keys, surbs, st->wall, 0, &len)
	                                    : NULL;
	if (img) {
		int rc = ns_sf_write_all(st->fd, img, len);
		if (rc == 0 && fsync(st->fd) < 0)
			rc = -errno;
		if (rc < 0)
			nc_log("keyd", "reply store: cannot write %s: %s", st->newpath, strerror(-rc));
		else
			saved = len;
		ns_rs_image_free(img, len);
	}
	store_free(st);
	return saved;
}
