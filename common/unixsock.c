/* Unix socket addresses of any length: see unixsock.h. */
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills sa with path, or with /proc/self/fd/DIRFD/NAME (*dirfd then open: close it after
 * the call). 0 or -1 (errno). */
static int unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	size_t len = strlen(path);
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len < sizeof sa->sun_path) {
		memcpy(sa->sun_path, path, len + 1);
		return 0;
	}
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash || !slash[1] || (size_t)(slash - path) >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	*dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -1;
	int n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", *dirfd, slash + 1);
	if (n < 0 || (size_t)n >= sizeof sa->sun_path) {
		close(*dirfd);
		*dirfd = -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int with_addr(int fd, const char *path, int (*op)(int, const struct sockaddr *, socklen_t))
{
	struct sockaddr_un sa;
	int dirfd;
	if (unix_addr(path, &sa, &dirfd) < 0)
		return -1;
	int rc = op(fd, (const struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	if (dirfd >= 0)
		close(dirfd);
	errno = e;
	return rc;
}

int ns_unix_bind(int fd, const char *path)
{
	return with_addr(fd, path, bind);
}

int ns_unix_connect(int fd, const char *path)
{
	return with_addr(fd, path, connect);
}
