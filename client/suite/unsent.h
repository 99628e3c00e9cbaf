/* data/nymsuite-unsent.bin: writing a new list safely, reading the old one (unsent.c). */
#ifndef NC_UNSENT_H
#define NC_UNSENT_H
#include <stddef.h>
#include <stdint.h>

#include "clientconf.h"
#include "clientlocal.h"

#define NC_UNSENT_PATH_MAX (CLIENTCONF_PATH_MAX + 64)

/* A new list being written to nymsuite-unsent.bin.new. */
struct nc_unsent_out {
	int fd;
	int err;                 /* the first error (-errno), 0 if none */
	uint64_t written, failed; /* fragments written, fragments that could not be */
	size_t size;             /* bytes of complete records */
	char dir[CLIENTCONF_PATH_MAX], path[NC_UNSENT_PATH_MAX], tmp[NC_UNSENT_PATH_MAX];
};

enum nc_unsent_action {
	NC_UNSENT_REPLACED = 1, /* the new list replaced the file */
	NC_UNSENT_REMOVED,      /* an empty, complete list: the file was removed */
	NC_UNSENT_MERGED,       /* an incomplete list merged with the old file's records */
	NC_UNSENT_KEPT_OLD,     /* the new list could not be written: the old file is untouched */
};

struct nc_unsent_result {
	enum nc_unsent_action action;
	uint64_t records;       /* records in the file now (of this list, plus merged) */
	size_t merged;          /* records taken over from the old file */
};

/* The whole file: malloc'd, or NULL with *err = -errno (-ENOENT absent, -ELOOP a symlink,
 * -EINVAL not a regular file, -EFBIG over 512 MiB). */
uint8_t *nc_unsent_read(const char *data_dir, size_t *len, int *err);

/* Names the new file; nothing is created before the first record (a leftover .new is
 * removed then). If it cannot be created, o->err keeps why and every record fails. */
void nc_unsent_init(struct nc_unsent_out *o, const char *data_dir);
/* One fragment (0 or -errno; a failed record is cut off, o->failed counts it). */
int nc_unsent_add(struct nc_unsent_out *o, const struct ns_unsent_rec *r);
/* One encoded record as it is. */
int nc_unsent_write_raw(struct nc_unsent_out *o, const uint8_t *rec, size_t n);
/* complete (the whole list arrived and every record was written): the new list replaces the
 * file, or removes it when empty. Otherwise the old file's records are appended first; if
 * that cannot be written either, the old file stays untouched. 0 or -errno; res says what
 * was done. */
int nc_unsent_commit(struct nc_unsent_out *o, int complete, struct nc_unsent_result *res);
/* Drops the new file. */
void nc_unsent_abandon(struct nc_unsent_out *o);

/* A set of 5-byte fragment ids (grows as needed; expect sizes it at first). */
struct nc_idset {
	struct { uint8_t used, id[5]; } *slots;
	size_t cap, count;
};
int nc_idset_init(struct nc_idset *s, size_t expect);
/* 1 if added, 0 if it was there already, -1 out of memory. */
int nc_idset_add(struct nc_idset *s, const uint8_t id[5]);
void nc_idset_free(struct nc_idset *s);

#endif
