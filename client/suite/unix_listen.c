/* A 0600 Unix stream listening socket (the fronts' API and admin sockets). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nymclient.h"
#include "unixsock.h"

/* 1 if something accepts connections at path. */
static int someone_listens(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int rc = ns_unix_connect(fd, path) == 0;
	close(fd);
	return rc;
}

int nc_unix_listen(const char *path, char *err, size_t cap)
{
	struct stat st;
	if (!path[0]) {
		snprintf(err, cap, "empty socket path");
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, cap, "%s exists and is not a socket: refusing to replace it", path);
			return -1;
		}
		if (someone_listens(path)) {
			snprintf(err, cap, "%s is in use by another process", path);
			return -1;
		}
		unlink(path); /* stale: left by a client that did not stop cleanly */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0177); /* never visible with a wider mode, not even for a moment */
	int rc = ns_unix_bind(fd, path);
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

