/* Loopback-only socket helpers; see loopback.h. */
#include "loopback.h"
#include "safefile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ns_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int ns_loopback_parse(const char *host_port, struct sockaddr_storage *sa, socklen_t *sa_len)
{
	char host[64];
	const char *port_s;
	memset(sa, 0, sizeof *sa);
	if (host_port[0] == '[') {
		const char *close = strchr(host_port, ']');
		if (!close || close[1] != ':' || (size_t)(close - host_port - 1) >= sizeof host)
			return -1;
		memcpy(host, host_port + 1, (size_t)(close - host_port - 1));
		host[close - host_port - 1] = 0;
		port_s = close + 2;
	} else {
		const char *colon = strrchr(host_port, ':');
		if (!colon || colon != strchr(host_port, ':') || (size_t)(colon - host_port) >= sizeof host)
			return -1;
		memcpy(host, host_port, (size_t)(colon - host_port));
		host[colon - host_port] = 0;
		port_s = colon + 1;
	}
	uint16_t port;
	if (parse_port(port_s, &port) < 0)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	if (host_port[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*sa_len = sizeof *in4;
	} else if (host_port[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*sa_len = sizeof *in6;
	} else
		return -1;
	return ns_is_loopback((struct sockaddr *)sa) ? 0 : -1;
}

int ns_loopback_listen(const char *host_port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	if (ns_loopback_parse(host_port, &sa, &len) < 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

uint16_t ns_loopback_free_port(int *fd_out)
{
	*fd_out = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return 0;
	}
	*fd_out = fd;
	return ntohs(sa.sin_port);
}

int ns_loopback_probe(const char *host, uint16_t port, int timeout_ms)
{
	char hp[96];
	snprintf(hp, sizeof hp, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	struct sockaddr_storage sa;
	socklen_t len;
	if (ns_loopback_parse(hp, &sa, &len) < 0)
		return 0;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	if (connect(fd, (struct sockaddr *)&sa, len) == 0)
		ok = 1;
	else if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t elen = sizeof err;
		if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0)
			ok = err == 0;
	}
	close(fd);
	return ok;
}

int ns_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return -1;
	unlink(tmp); /* a stale one of an earlier process of this pid */
	int fd = ns_sf_create(tmp, mode, NULL, 0);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
