/* A 0600 Unix stream listening socket (the fronts' API and admin sockets). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nymclient.h"

static int unix_addr(const char *path, struct sockaddr_un *sa, char *err, size_t cap)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof sa->sun_path) {
		snprintf(err, cap, "socket path '%s' is empty or longer than %zu bytes", path,
		         sizeof sa->sun_path - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* 1 if something accepts connections at path. */
static int someone_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
	close(fd);
	return rc;
}

int nc_unix_listen(const char *path, char *err, size_t cap)
{
	struct sockaddr_un sa;
	struct stat st;
	if (unix_addr(path, &sa, err, cap) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, cap, "%s exists and is not a socket: refusing to replace it", path);
			return -1;
		}
		if (someone_listens(&sa)) {
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
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

