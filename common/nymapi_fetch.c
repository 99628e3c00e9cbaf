/* One nym-api fetch as a machine fed one response at a time; see nymapi_fetch.h. */
#include "nymapi_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

void ns_apis_init(struct ns_apis *a, const struct clientconf *c)
{
	memset(a, 0, sizeof *a);
	a->conf = c;
	a->current = c->n_nym_api_urls > 1 ? ns_random_uniform((uint32_t)c->n_nym_api_urls) : 0;
}

const char *ns_apis_url(const struct ns_apis *a)
{
	return a->conf->n_nym_api_urls ? a->conf->nym_api_urls[a->current] : "";
}

static const char *parse_error(int rc)
{
	switch (rc) {
	case NS_TOPOJSON_ERR_JSON: return "not JSON";
	case NS_TOPOJSON_ERR_SHAPE: return "missing or mistyped member";
	case NS_TOPOJSON_ERR_VALUE: return "value out of range";
	case NS_TOPOJSON_ERR_ROUTABLE: return "not routable (a mix layer or the gateways are empty)";
	case NS_TOPOJSON_ERR_NOMEM: return "out of memory";
	}
	return "error";
}

/* ---- the machine */

static const char *const step_path[] = {
	[NS_STEP_REWARDED] = NS_NYMAPI_PATH_REWARDED,
	[NS_STEP_MIXNODES] = NS_NYMAPI_PATH_MIXNODES,
	[NS_STEP_GATEWAYS] = NS_NYMAPI_PATH_GATEWAYS,
	[NS_STEP_KEYROT] = NS_NYMAPI_PATH_KEYROT,
};

static void clear_results(struct ns_fetch *f)
{
	ns_nymapi_rewarded_free(&f->rs);
	ns_nymapi_page_free(&f->mix);
	ns_nymapi_page_free(&f->gw);
}

static void first_step(struct ns_fetch *f)
{
	clear_results(f);
	f->step = f->mode == NS_FETCH_TOPOLOGY ? NS_STEP_REWARDED
	          : f->mode == NS_FETCH_GATEWAYS ? NS_STEP_GATEWAYS
	                                         : NS_STEP_KEYROT;
	f->page = 0;
}

void ns_fetch_begin(struct ns_fetch *f, struct ns_apis *a, enum ns_fetch_mode mode)
{
	memset(f, 0, sizeof *f);
	f->api = a;
	f->mode = mode;
	f->at = a->current;
	snprintf(f->err, sizeof f->err, "no nym-api URL configured");
	first_step(f);
}

void ns_fetch_free(struct ns_fetch *f)
{
	clear_results(f);
	if (f->done == 1)
		ns_topo_free(&f->topo);
	f->done = -1;
}

static const char *base_url(const struct ns_fetch *f)
{
	return f->api->conf->nym_api_urls[f->at];
}

int ns_fetch_next(struct ns_fetch *f, char *url, size_t cap)
{
	if (f->done || f->tried >= f->api->conf->n_nym_api_urls) {
		if (!f->done)
			f->done = -1;
		return 0;
	}
	char query[32] = "";
	if (f->step == NS_STEP_MIXNODES || f->step == NS_STEP_GATEWAYS)
		snprintf(query, sizeof query, "page=%u", f->page);
	if (ns_nymapi_url(base_url(f), step_path[f->step], query, url, cap) < 0) {
		snprintf(f->err, sizeof f->err, "%s: URL too long", base_url(f));
		f->done = -1;
		return 0;
	}
	return 1;
}

/* This URL failed: the next one starts over, or the fetch ends. */
static void url_failed(struct ns_fetch *f)
{
	size_t n = f->api->conf->n_nym_api_urls;
	f->tried++;
	f->at = (f->at + 1) % n;
	first_step(f);
	if (f->tried >= n)
		f->done = -1;
}

static void succeeded(struct ns_fetch *f)
{
	f->api->current = f->at;
	f->done = 1;
}

static int build_topology(struct ns_fetch *f)
{
	const struct clientconf *c = f->api->conf;
	if (!ns_nymapi_meta_agree(&f->mix.meta, &f->gw.meta)) {
		snprintf(f->err, sizeof f->err, "%s: mixnode and gateway metadata disagree", base_url(f));
		return -1;
	}
	int rc = ns_nymapi_topology(&f->rs, &f->mix, &f->gw, c->debug.minimum_mixnode_performance,
	                            c->debug.minimum_gateway_performance, &f->topo);
	if (rc < 0)
		snprintf(f->err, sizeof f->err, "%s: %s", base_url(f), parse_error(rc));
	return rc < 0 ? -1 : 0;
}

/* One more page of a listing; 1 when the listing is complete. */
static int add_page(struct ns_fetch *f, struct ns_nymapi_page *list, const char *body, size_t len)
{
	struct ns_nymapi_page p;
	int rc = ns_nymapi_parse_page(body, len, &p);
	if (rc < 0) {
		snprintf(f->err, sizeof f->err, "%s: %s", f->url, parse_error(rc));
		return -1;
	}
	if (f->page == 0)
		list->meta = p.meta;
	size_t got = p.n_nodes + p.skipped;
	uint64_t total = p.total;
	if (!ns_nymapi_meta_agree(&list->meta, &p.meta) || ns_nymapi_page_append(list, &p) < 0) {
		ns_nymapi_page_free(&p);
		snprintf(f->err, sizeof f->err, "%s: pages disagree or too many nodes", f->url);
		return -1;
	}
	list->total = total;
	if (got == 0 || list->n_nodes + list->skipped >= total)
		return 1;
	if (++f->page >= NS_NYMAPI_MAX_PAGES) {
		snprintf(f->err, sizeof f->err, "%s: more than %d pages", f->url, NS_NYMAPI_MAX_PAGES);
		return -1;
	}
	return 0;
}

/* Consumes the body of the last URL; 0 = go on, -1 = this URL failed. */
static int feed_body(struct ns_fetch *f, const char *body, size_t len)
{
	int rc = NS_TOPOJSON_ERR_SHAPE;
	switch (f->step) {
	case NS_STEP_REWARDED:
		if ((rc = ns_nymapi_parse_rewarded(body, len, &f->rs)) < 0)
			break;
		f->step = NS_STEP_MIXNODES;
		return 0;
	case NS_STEP_MIXNODES:
		if ((rc = add_page(f, &f->mix, body, len)) == 1) {
			f->step = NS_STEP_GATEWAYS;
			f->page = 0;
		}
		return rc < 0 ? -1 : 0;
	case NS_STEP_GATEWAYS:
		if ((rc = add_page(f, &f->gw, body, len)) != 1)
			return rc;
		if (f->mode == NS_FETCH_TOPOLOGY && build_topology(f) < 0)
			return -1;
		succeeded(f);
		return 0;
	case NS_STEP_KEYROT:
		if ((rc = ns_nymapi_parse_keyrot(body, len, &f->keyrot)) < 0)
			break;
		succeeded(f);
		return 0;
	}
	snprintf(f->err, sizeof f->err, "%s: %s", f->url, parse_error(rc));
	return -1;
}

void ns_fetch_feed(struct ns_fetch *f, const char *url, const char *body, size_t len,
                   const char *http_err)
{
	if (f->done)
		return;
	f->url = url;
	if (!body) {
		snprintf(f->err, sizeof f->err, "%s: %s", url, http_err ? http_err : "failed");
		url_failed(f);
	} else if (feed_body(f, body, len) < 0) {
		url_failed(f);
	}
}

