/* Helpers for tests of random draws (util.h). */
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t row_width; /* qsort's comparator has no context argument */

static int cmp_rows(const void *a, const void *b) { return memcmp(a, b, row_width); }

int util_rows_distinct(uint8_t *rows, size_t n, size_t width)
{
	row_width = width;
	qsort(rows, n, width, cmp_rows);
	for (size_t i = 1; i < n; i++)
		if (memcmp(rows + (i - 1) * width, rows + i * width, width) == 0)
			return 0;
	return 1;
}

int util_fork_draw(void (*draw)(uint8_t out[32]), uint8_t parent[32], uint8_t child[32])
{
	int p[2], status, rc = -1;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		draw(child);
		_exit(write(p[1], child, 32) == 32 ? 0 : 1);
	}
	if (pid > 0) {
		draw(parent);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    read(p[0], child, 32) == 32)
			rc = 0;
	}
	close(p[0]);
	close(p[1]);
	return rc;
}
