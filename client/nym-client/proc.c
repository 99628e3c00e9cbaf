/* Process helpers: fork a role, close the descriptors it must not keep, log lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nymclient.h"

pid_t nc_spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	return pid;
}

void nc_close_except(struct nc_setup *s, const int *keep, size_t n)
{
	for (int i = 0; i < NC_PAIRS; i++)
		for (int j = 0; j < 2; j++) {
			int fd = s->fds[i][j], kept = 0;
			for (size_t k = 0; k < n; k++)
				kept |= keep[k] == fd;
			if (fd >= 0 && !kept) {
				close(fd);
				s->fds[i][j] = -1;
			}
		}
}

void nc_log(const char *role, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "nym-client[%s]: %s\n", role, line);
}

