/* One nym-api fetch (gateway.md §4.2) as a machine fed one HTTP response at a time, so the
 * same logic runs blocking (nym-client init, netd's start-up) or on an event loop (netd's
 * refreshes), and unit tests can feed it canned answers:
 *   topology:  E1 rewarded set, E2 active mixnodes (every page), E3 entry gateways (every
 *              page); E2/E3 metadata must agree; then nymapi.h's client topology
 *   gateways:  E3 (every page)          key rotation:  E4
 * A page is asked until `total` nodes were seen (or a page is empty). The configured URLs are
 * tried in turn from `current` (random at ns_apis_init, as Nym shuffles them); any failure
 * (HTTP, parse, disagreement, not routable) moves to the next URL and starts over; the URL
 * that succeeded becomes `current`.
 *
 *   ns_fetch_begin(&f, apis, mode);
 *   while (ns_fetch_next(&f, url, cap)) { GET url; ns_fetch_feed(&f, url, body|NULL, len, err); }
 *   f.done == 1: result in f.topo / f.gw / f.keyrot; -1: the reason in f.err. ns_fetch_free. */
#ifndef NS_NYMAPI_FETCH_H
#define NS_NYMAPI_FETCH_H
#include <stddef.h>

#include "clientconf.h"
#include "nymapi.h"

struct ns_apis {
	const struct clientconf *conf; /* nym_api_urls, minimum performances */
	size_t current;                /* the URL in use */
};
void ns_apis_init(struct ns_apis *a, const struct clientconf *c);
const char *ns_apis_url(const struct ns_apis *a);

enum ns_fetch_mode { NS_FETCH_TOPOLOGY, NS_FETCH_GATEWAYS, NS_FETCH_KEYROT };
enum ns_fetch_step { NS_STEP_REWARDED, NS_STEP_MIXNODES, NS_STEP_GATEWAYS, NS_STEP_KEYROT };

struct ns_fetch {
	struct ns_apis *api;
	enum ns_fetch_mode mode;
	enum ns_fetch_step step;
	unsigned page;
	size_t at, tried;          /* URL index in use, URLs that failed */
	int done;                  /* 0 running, 1 succeeded, -1 failed */
	struct ns_nymapi_rewarded rs;
	struct ns_nymapi_page mix, gw;
	struct ns_nymapi_keyrot keyrot;
	struct ns_topo topo;       /* NS_FETCH_TOPOLOGY's result */
	const char *url;           /* the answer being fed (for messages) */
	char err[512];
};

void ns_fetch_begin(struct ns_fetch *f, struct ns_apis *a, enum ns_fetch_mode mode);
/* 1 with the next URL to GET, 0 when the fetch is over. */
int ns_fetch_next(struct ns_fetch *f, char *url, size_t cap);
/* The answer to url: its body, or NULL and the transport's reason. */
void ns_fetch_feed(struct ns_fetch *f, const char *url, const char *body, size_t len,
                   const char *http_err);
void ns_fetch_free(struct ns_fetch *f);

#endif
