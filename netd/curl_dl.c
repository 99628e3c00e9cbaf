/* libcurl through dlopen (curl_dl.h says why). */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "curl_dl.h"

#define NC_CURL_SONAME "libcurl.so.4"

struct nc_curl_api nc_curl;
static void *g_lib;

/* the files mapped before libcurl was loaded, then the read-only ranges of what it brought */
#define NC_CURL_MAX_FILES 128
#define NC_CURL_MAX_RANGES 256
static char *g_before[NC_CURL_MAX_FILES];
static size_t g_n_before;
static struct page_range {
	void *start;
	size_t len;
} g_ranges[NC_CURL_MAX_RANGES];
static size_t g_n_ranges;

static int mapped_before(const char *path)
{
	for (size_t i = 0; i < g_n_before; i++)
		if (!strcmp(g_before[i], path))
			return 1;
	return 0;
}

/* one line of /proc/self/(s)maps that starts a mapping: its range, permissions and path */
static int parse_mapping(const char *line, unsigned long *start, unsigned long *end, char perms[5],
                         char *path, size_t pathcap)
{
	int at = 0;
	path[0] = 0;
	if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", start, end, perms, &at) != 3 || !at)
		return -1;
	const char *p = line + at;
	size_t n = strcspn(p, "\n");
	if (n >= pathcap)
		n = pathcap - 1;
	memcpy(path, p, n);
	path[n] = 0;
	return 0;
}

static void snapshot_files(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4352], perms[5], path[4096];
	unsigned long a, b;
	while (f && fgets(line, sizeof line, f) && g_n_before < NC_CURL_MAX_FILES)
		if (parse_mapping(line, &a, &b, perms, path, sizeof path) == 0 && path[0] == '/' &&
		    !mapped_before(path) && (g_before[g_n_before] = strdup(path)))
			g_n_before++;
	if (f)
		fclose(f);
}

/* A shared object that is loaded now stays mapped for the life of the process, so its ranges
 * can never hold anything else (a later anonymous mapping that MADV_DONTNEED would clear).
 * Anything else mapped from a file (data files, an object that failed to pin) is left alone. */
static int pinned(const char *path)
{
	static char last[4096];
	static int last_pinned;
	if (strcmp(last, path)) {
		snprintf(last, sizeof last, "%s", path);
		last_pinned = dlopen(path, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != NULL;
	}
	return last_pinned;
}

static void keep_range(unsigned long start, unsigned long end, const char *perms, long anon_kb)
{
	/* a range that was ever written (relocations: its private copies show as Anonymous) or
	 * may be written would lose data; text and read-only data only come back from the file */
	if (perms[1] == 'w' || anon_kb != 0 || g_n_ranges == NC_CURL_MAX_RANGES)
		return;
	g_ranges[g_n_ranges++] = (struct page_range){ (void *)start, end - start };
}

void nc_curl_record_pages(void)
{
	FILE *f = g_lib ? fopen("/proc/self/smaps", "re") : NULL;
	char line[4352], perms[5] = "", path[4096];
	unsigned long a = 0, b = 0;
	int ours = 0;
	long anon_kb;
	g_n_ranges = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long x, y;
		char pm[5], pa[4096];
		if (parse_mapping(line, &x, &y, pm, pa, sizeof pa) == 0) {
			a = x, b = y;
			memcpy(perms, pm, sizeof perms);
			memcpy(path, pa, sizeof path);
			ours = path[0] == '/' && !mapped_before(path) && pinned(path);
		} else if (ours && sscanf(line, "Anonymous: %ld kB", &anon_kb) == 1) {
			keep_range(a, b, perms, anon_kb);
		}
	}
	if (f)
		fclose(f);
}

size_t nc_curl_release_pages(void)
{
	size_t bytes = 0;
	if (getenv(NC_CURL_KEEP_PAGES_ENV))
		return 0;
	for (size_t i = 0; i < g_n_ranges; i++)
		if (madvise(g_ranges[i].start, g_ranges[i].len, MADV_DONTNEED) == 0)
			bytes += g_ranges[i].len;
	malloc_trim(0);
	return bytes;
}

int nc_curl_load(char *err, size_t errcap)
{
	if (g_lib)
		return 0;
	snapshot_files();
	void *lib = dlopen(NC_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errcap, "cannot load %s: %s", NC_CURL_SONAME, dlerror());
		return -1;
	}
	struct nc_curl_api api;
	const char *missing = NULL;
	/* POSIX: a data pointer from dlsym may be converted to a function pointer */
#define NC_CURL_RESOLVE_(ret, name, params) \
	*(void **)&api.name = dlsym(lib, "curl_" #name); \
	if (!api.name && !missing) \
		missing = "curl_" #name;
	NC_CURL_FUNCS(NC_CURL_RESOLVE_)
#undef NC_CURL_RESOLVE_
	if (missing) {
		snprintf(err, errcap, "%s lacks %s", NC_CURL_SONAME, missing);
		dlclose(lib);
		return -1;
	}
	nc_curl = api;
	g_lib = lib;
	return 0;
}
