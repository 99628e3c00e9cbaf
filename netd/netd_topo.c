/* Blocking drivers of the nym-api fetch machine (common/nymapi_fetch.h) over nc_http_get:
 * `init` and netd's start-up (before its sandbox). netd's refreshes drive the same machine
 * on its loop with nc_http_get_async. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nymclient.h"

static int run_blocking(struct ns_fetch *f, char *err, size_t errcap)
{
	char url[CLIENTCONF_URL_MAX + 128];
	while (ns_fetch_next(f, url, sizeof url)) {
		char why[256] = "";
		size_t len = 0;
		char *body = nc_http_get(url, &len, why, sizeof why);
		ns_fetch_feed(f, url, body, len, why);
		free(body);
	}
	if (f->done != 1)
		snprintf(err, errcap, "%s", f->err);
	return f->done == 1 ? 0 : -1;
}

int nc_api_topology(struct ns_apis *a, struct ns_topo *out, char *err, size_t errcap)
{
	struct ns_fetch f;
	ns_fetch_begin(&f, a, NS_FETCH_TOPOLOGY);
	int rc = run_blocking(&f, err, errcap);
	if (rc == 0) {
		*out = f.topo; /* ownership moves to the caller */
		f.done = -1;
	}
	ns_fetch_free(&f);
	return rc;
}

int nc_api_keyrot(struct ns_apis *a, struct ns_nymapi_keyrot *out, char *err, size_t errcap)
{
	struct ns_fetch f;
	ns_fetch_begin(&f, a, NS_FETCH_KEYROT);
	int rc = run_blocking(&f, err, errcap);
	if (rc == 0)
		*out = f.keyrot;
	ns_fetch_free(&f);
	return rc;
}

int nc_api_gateways(struct ns_apis *a, struct ns_nymapi_page *out, char *err, size_t errcap)
{
	struct ns_fetch f;
	ns_fetch_begin(&f, a, NS_FETCH_GATEWAYS);
	int rc = run_blocking(&f, err, errcap);
	if (rc == 0) {
		*out = f.gw;
		memset(&f.gw, 0, sizeof f.gw);
	}
	ns_fetch_free(&f);
	return rc;
}
