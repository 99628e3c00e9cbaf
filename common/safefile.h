/* Opening files safely: every file the suite reads is checked to be a regular file (never a
 * FIFO, device, directory or symlink: a FIFO would block the reader for ever), every file it
 * writes is opened with O_NOFOLLOW (and O_EXCL where it is new), and private files (keys)
 * are checked as OpenSSH checks its keys: owned by the running user (or root), no access for
 * group or others.
 *
 * Errors are returned, never printed: -1 with errno set, and a one-line reason ("PATH: mode
 * 0644 is readable by others; chmod 600") in err when err is not NULL. */
#ifndef NS_SAFEFILE_H
#define NS_SAFEFILE_H
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define NS_SF_ERR_MAX 320

/* flags of ns_sf_open_read / ns_sf_read_all */
#define NS_SF_PRIVATE 1u /* owner = euid or root, (mode & 077) == 0 */

/* Read-only: O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, fstat S_ISREG (and the private
 * policy), then O_NONBLOCK cleared. The fd, or -1. */
int ns_sf_open_read(const char *path, unsigned flags, char *err, size_t errcap);
/* The same as a stdio stream ("r"). */
FILE *ns_sf_fopen_read(const char *path, unsigned flags, char *err, size_t errcap);
/* The whole file (at most max bytes, NUL-terminated, malloc'd), or NULL (errno EFBIG when
 * longer). */
char *ns_sf_read_all(const char *path, size_t max, size_t *len, unsigned flags, char *err,
                     size_t errcap);
/* Checks an open fd against the rules above (path only names it in err). 0 or -1. */
int ns_sf_check_fd(int fd, const char *path, unsigned flags, char *err, size_t errcap);

/* A new file: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode. The fd, or -1
 * (EEXIST when something, a symlink included, is already there). */
int ns_sf_create(const char *path, mode_t mode, char *err, size_t errcap);
/* Appending to a file that may exist (created with mode otherwise): O_APPEND | O_CREAT |
 * O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK (O_RDWR when rw, else O_WRONLY), checked as
 * ns_sf_open_read with NS_SF_PRIVATE, O_NONBLOCK cleared. The fd, or -1. */
int ns_sf_open_append(const char *path, mode_t mode, int rw, char *err, size_t errcap);
/* Replaces path with data: PATH.tmp-PID created by ns_sf_create, written, fsync'd, renamed
 * over path (a symlink at path is replaced, never followed). 0 or -1. */
int ns_sf_write_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                        size_t errcap);

/* All of data to fd (EINTR retried): 0, or a negative errno (-ENOSPC when the device takes
 * nothing more). */
int ns_sf_write_all(int fd, const void *data, size_t len);

/* A directory the suite keeps private files in: a directory (not a symlink when nofollow),
 * owned by euid or root, not writable by group or others (refused: -1 and the reason in err).
 * Readable by group or others: 0, and a warning in warn (warn[0] == 0 otherwise). */
int ns_sf_check_dir(const char *path, char *err, size_t errcap, char *warn, size_t warncap);

#endif
