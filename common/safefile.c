/* Safe file opening: see safefile.h. */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(int e, char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int e, char *err, size_t cap, const char *fmt, ...)
{
	if (err && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/* "readable by others", "writable by group", ... for the first offending bit. */
static const char *mode_problem(mode_t m)
{
	if (m & S_IROTH)
		return "readable by others";
	if (m & S_IWOTH)
		return "writable by others";
	if (m & S_IRGRP)
		return "readable by its group";
	if (m & S_IWGRP)
		return "writable by its group";
	return "accessible by group or others";
}

static int owner_ok(uid_t owner)
{
	return owner == geteuid() || owner == 0;
}

int ns_sf_check_fd(int fd, const char *path, unsigned flags, char *err, size_t errcap)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(errno, err, errcap, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(S_ISDIR(st.st_mode) ? EISDIR : EINVAL, err, errcap,
		            "%s: %s, not a regular file", path, kind(st.st_mode));
	if (!(flags & NS_SF_PRIVATE))
		return 0;
	if (!owner_ok(st.st_uid))
		return fail(EPERM, err, errcap, "%s: owned by uid %u, not by uid %u (the running user)",
		            path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return fail(EPERM, err, errcap, "%s: mode %04o is %s; chmod 600", path,
		            (unsigned)(st.st_mode & 07777), mode_problem(st.st_mode));
	return 0;
}

/* O_NONBLOCK only for the open (a FIFO would block it): cleared once it is known regular. */
static int checked(int fd, const char *path, unsigned flags, char *err, size_t errcap)
{
	if (fd < 0)
		return fd;
	int fl = fcntl(fd, F_GETFL);
	if (ns_sf_check_fd(fd, path, flags, err, errcap) < 0 || fl < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_failed(const char *path, char *err, size_t errcap)
{
	int e = errno;
	if (e == ELOOP)
		return fail(e, err, errcap, "%s: a symbolic link (refused)", path);
	return fail(e, err, errcap, "%s: %s", path, strerror(e));
}

int ns_sf_open_read(const char *path, unsigned flags, char *err, size_t errcap)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return open_failed(path, err, errcap);
	return checked(fd, path, flags, err, errcap);
}

FILE *ns_sf_fopen_read(const char *path, unsigned flags, char *err, size_t errcap)
{
	int fd = ns_sf_open_read(path, flags, err, errcap);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (fd >= 0 && !f) {
		int e = errno;
		close(fd);
		fail(e, err, errcap, "%s: %s", path, strerror(e));
	}
	return f;
}

char *ns_sf_read_all(const char *path, size_t max, size_t *len, unsigned flags, char *err,
                     size_t errcap)
{
	int fd = ns_sf_open_read(path, flags, err, errcap);
	if (fd < 0)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = 0;
	int e = 0;
	while (buf && n <= max) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf || e || n > max) {
		if (buf) {
			memset(buf, 0, n);
			free(buf);
		}
		e = !buf ? ENOMEM : e ? e : EFBIG;
		fail(e, err, errcap, "%s: %s", path, e == EFBIG ? "too large" : strerror(e));
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int ns_sf_create(const char *path, mode_t mode, char *err, size_t errcap)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return open_failed(path, err, errcap);
	return fd;
}

int ns_sf_open_append(const char *path, mode_t mode, int rw, char *err, size_t errcap)
{
	int fd = open(path, (rw ? O_RDWR : O_WRONLY) | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	                        O_NONBLOCK | O_NOCTTY, mode);
	if (fd < 0)
		return open_failed(path, err, errcap);
	return checked(fd, path, NS_SF_PRIVATE, err, errcap);
}

int ns_sf_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -ENOSPC;
		p += w, len -= (size_t)w;
	}
	return 0;
}

int ns_sf_write_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                        size_t errcap)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return fail(ENAMETOOLONG, err, errcap, "%s: path too long", path);
	unlink(tmp); /* a stale one of an earlier process of the same pid */
	int fd = ns_sf_create(tmp, mode, err, errcap);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || ns_sf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return fail(e, err, errcap, "%s: %s", tmp, strerror(e));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return fail(e, err, errcap, "%s: %s", path, strerror(e));
	}
	return 0;
}

int ns_sf_check_dir(const char *path, char *err, size_t errcap, char *warn, size_t warncap)
{
	struct stat st;
	if (warn && warncap)
		warn[0] = 0;
	if (stat(path, &st) < 0)
		return fail(errno, err, errcap, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(ENOTDIR, err, errcap, "%s: %s, not a directory", path, kind(st.st_mode));
	if (!owner_ok(st.st_uid))
		return fail(EPERM, err, errcap, "%s: owned by uid %u, not by uid %u (the running user)",
		            path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return fail(EPERM, err, errcap, "%s: mode %04o is writable by %s; chmod 700", path,
		            (unsigned)(st.st_mode & 07777), st.st_mode & S_IWOTH ? "others" : "its group");
	if ((st.st_mode & (S_IRGRP | S_IROTH | S_IXGRP | S_IXOTH)) && warn && warncap)
		snprintf(warn, warncap, "%s: mode %04o is readable by group or others (chmod 700 "
		         "recommended)", path, (unsigned)(st.st_mode & 07777));
	return 0;
}
