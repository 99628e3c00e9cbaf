/* SQLite's allocator that wipes what it frees (see sqlwipe.h). */
#include "sqlwipe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto.h"

#define HDR 16 /* keeps the block 16-byte aligned; holds its size */

static void *wipe_malloc(int n)
{
	if (n <= 0)
		return NULL;
	uint8_t *p = malloc((size_t)n + HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	return p + HDR;
}

static int wipe_size(void *p)
{
	int n = 0;
	if (p)
		memcpy(&n, (uint8_t *)p - HDR, sizeof n);
	return n;
}

static void wipe_free(void *p)
{
	if (!p)
		return;
	ns_memzero(p, (size_t)wipe_size(p));
	free((uint8_t *)p - HDR);
}

static void *wipe_realloc(void *p, int n)
{
	void *q = wipe_malloc(n);
	if (q && p) {
		int old = wipe_size(p);
		memcpy(q, p, (size_t)(old < n ? old : n));
		wipe_free(p);
	}
	return q;
}

static int wipe_roundup(int n)
{
	return (n + 7) & ~7;
}

static int wipe_init(void *app)
{
	(void)app;
	return SQLITE_OK;
}

static void wipe_shutdown(void *app)
{
	(void)app;
}

void ns_sqlwipe_setup(void)
{
	static int done;
	static const sqlite3_mem_methods m = { wipe_malloc, wipe_free, wipe_realloc, wipe_size,
		                               wipe_roundup, wipe_init, wipe_shutdown, NULL };
	if (done)
		return;
	done = 1;
	sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}
