/* libcurl through dlopen (curl_dl.h says why). */
#include <dlfcn.h>
#include <stdio.h>

#include "curl_dl.h"

#define NC_CURL_SONAME "libcurl.so.4"

struct nc_curl_api nc_curl;
static void *g_lib;

int nc_curl_load(char *err, size_t errcap)
{
	if (g_lib)
		return 0;
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
