/* Topology and nym-api JSON (Nym b4046a89 shapes); see topology_json.h. */
#include "topology_json.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "jsonget.h"

/* ================================================================ builders */

void ns_rfc3339(time_t t, char out[21])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memcpy(out, "1970-01-01T00:00:00Z", 21);
		return;
	}
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ns_netinfo_schedule(const struct ns_netinfo *info, uint32_t *validity_epochs,
                        uint32_t *initial_epoch_id)
{
	uint64_t rot = info->key_rotation_id, epoch = info->absolute_epoch_id;
	if (info->epoch_duration_secs == 0 || rot > epoch)
		return -1;
	uint64_t validity = rot * 24 <= epoch ? 24 : 1;
	*validity_epochs = (uint32_t)validity;
	*initial_epoch_id = (uint32_t)(epoch - rot * validity);
	return 0;
}

static int is_gateway(const struct ns_nodeconf *c) { return c->role == NS_ROLE_GATEWAY; }

static int in_filter(const struct ns_nodeconf *c, enum ns_node_filter f)
{
	switch (f) {
	case NS_FILTER_ALL: return 1;
	case NS_FILTER_MIXNODES_ACTIVE: return !is_gateway(c) && c->layer >= 1 && c->layer <= 3;
	case NS_FILTER_MIXNODES_ALL: return !is_gateway(c);
	case NS_FILTER_ENTRY_GATEWAYS:
	case NS_FILTER_EXIT_GATEWAYS: return is_gateway(c);
	}
	return 0;
}

/* cJSON calls that fail only on OOM; a NULL anywhere is caught by the final check. */
static cJSON *add_b58(cJSON *obj, const char *name, const uint8_t key[32])
{
	char s[64];
	if (base58_encode(key, 32, s, sizeof s) < 0)
		return NULL;
	return cJSON_AddStringToObject(obj, name, s);
}

static void format_host_port(const char *host, uint16_t port, char *out, size_t cap)
{
	if (strchr(host, ':'))
		snprintf(out, cap, "[%s]:%u", host, port);
	else
		snprintf(out, cap, "%s:%u", host, port);
}

static cJSON *id_array(const struct ns_nodeconf *nodes, size_t n, int gateways, int layer)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		int match = gateways ? is_gateway(&nodes[i]) : (!is_gateway(&nodes[i]) && nodes[i].layer == layer);
		if (match && !cJSON_AddItemToArray(arr, cJSON_CreateNumber(nodes[i].id))) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static int add_rewarded_members(cJSON *o, const struct ns_nodeconf *nodes, size_t n, uint32_t epoch)
{
	static const char *const layer_names[3] = { "layer1", "layer2", "layer3" };
	int ok = cJSON_AddNumberToObject(o, "epoch_id", epoch) != NULL;
	ok &= cJSON_AddItemToObject(o, "entry_gateways", id_array(nodes, n, 1, 0));
	ok &= cJSON_AddItemToObject(o, "exit_gateways", id_array(nodes, n, 1, 0));
	for (int l = 0; l < 3; l++)
		ok &= cJSON_AddItemToObject(o, layer_names[l], id_array(nodes, n, 0, l + 1));
	ok &= cJSON_AddItemToObject(o, "standby", cJSON_CreateArray());
	return ok ? 0 : -1;
}

static char *finish(cJSON *root, int ok, int pretty)
{
	char *out = NULL;
	if (root && ok)
		out = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

char *ns_topojson_rewarded_set(const struct ns_nodeconf *nodes, size_t n, const struct ns_netinfo *info)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root && add_rewarded_members(root, nodes, n, info->absolute_epoch_id) == 0;
	return finish(root, ok, 0);
}

/* A gateway's entry as announced (nodeconf.h: announce_ws_port, hostname, clients_wss_port). */
static unsigned announced_ws_port(const struct ns_nodeconf *c)
{
	return c->announce_ws_port ? c->announce_ws_port : c->clients_ws_port;
}

static int add_hostname(cJSON *e, const struct ns_nodeconf *c)
{
	return (c->hostname[0] ? cJSON_AddStringToObject(e, "hostname", c->hostname)
	                       : cJSON_AddNullToObject(e, "hostname")) != NULL;
}

static int add_wss_port(cJSON *e, const char *key, const struct ns_nodeconf *c)
{
	return (c->clients_wss_port ? cJSON_AddNumberToObject(e, key, c->clients_wss_port)
	                            : cJSON_AddNullToObject(e, key)) != NULL;
}

static cJSON *wasm_node(const struct ns_nodeconf *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char hp[96];
	format_host_port(c->host, c->mix_port, hp, sizeof hp);
	int ok = cJSON_AddNumberToObject(o, "nodeId", c->id) != NULL;
	ok &= cJSON_AddStringToObject(o, "mixHost", hp) != NULL;
	if (is_gateway(c)) {
		cJSON *e = cJSON_AddObjectToObject(o, "entry");
		cJSON *ips = e ? cJSON_AddArrayToObject(e, "ip_addresses") : NULL;
		ok &= ips && cJSON_AddItemToArray(ips, cJSON_CreateString(c->host));
		ok &= e && cJSON_AddNumberToObject(e, "clients_ws_port", announced_ws_port(c)) != NULL;
		ok &= e && add_hostname(e, c) && add_wss_port(e, "clients_wss_port", c);
	} else
		ok &= cJSON_AddNullToObject(o, "entry") != NULL;
	ok &= add_b58(o, "identityKey", c->identity_key) != NULL;
	ok &= add_b58(o, "sphinxKey", c->sphinx_key) != NULL;
	cJSON *r = cJSON_AddObjectToObject(o, "supportedRoles");
	ok &= r && cJSON_AddBoolToObject(r, "mixnode", !is_gateway(c)) != NULL;
	ok &= r && cJSON_AddBoolToObject(r, "mixnet_entry", is_gateway(c)) != NULL;
	ok &= r && cJSON_AddBoolToObject(r, "mixnet_exit", is_gateway(c)) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *ns_topojson_wasm_topology(const struct ns_nodeconf *nodes, size_t n,
                                const struct ns_netinfo *info, int pretty)
{
	char when[21];
	ns_rfc3339(info->refreshed_at, when);
	cJSON *root = cJSON_CreateObject();
	cJSON *meta = root ? cJSON_AddObjectToObject(root, "metadata") : NULL;
	int ok = meta && cJSON_AddNumberToObject(meta, "key_rotation_id", info->key_rotation_id) &&
	         cJSON_AddNumberToObject(meta, "absolute_epoch_id", info->absolute_epoch_id) &&
	         cJSON_AddStringToObject(meta, "refreshed_at", when);
	cJSON *rs = ok ? cJSON_AddObjectToObject(root, "rewardedSet") : NULL;
	ok = rs && add_rewarded_members(rs, nodes, n, info->absolute_epoch_id) == 0;
	cJSON *details = ok ? cJSON_AddObjectToObject(root, "nodeDetails") : NULL;
	ok = details != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		char key[16];
		snprintf(key, sizeof key, "%u", nodes[i].id);
		cJSON *node = wasm_node(&nodes[i]);
		ok = node && cJSON_AddItemToObject(details, key, node);
		if (!ok)
			cJSON_Delete(node);
	}
	return finish(root, ok, pretty);
}

static cJSON *skimmed_role(const struct ns_nodeconf *c)
{
	if (is_gateway(c))
		return cJSON_CreateString("EntryGateway");
	cJSON *o = cJSON_CreateObject();
	cJSON *m = o ? cJSON_AddObjectToObject(o, "Mixnode") : NULL;
	if (!m || !cJSON_AddNumberToObject(m, "layer", c->layer)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *skimmed_node(const struct ns_nodeconf *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int gw = is_gateway(c);
	int ok = cJSON_AddNumberToObject(o, "node_id", c->id) != NULL;
	ok &= add_b58(o, "ed25519_identity_pubkey", c->identity_key) != NULL;
	cJSON *ips = cJSON_AddArrayToObject(o, "ip_addresses");
	ok &= ips && cJSON_AddItemToArray(ips, cJSON_CreateString(c->host));
	ok &= cJSON_AddNumberToObject(o, "mix_port", c->mix_port) != NULL;
	ok &= add_b58(o, "x25519_sphinx_pubkey", c->sphinx_key) != NULL;
	ok &= cJSON_AddItemToObject(o, "role", skimmed_role(c));
	cJSON *r = cJSON_AddObjectToObject(o, "supported_roles");
	ok &= r && cJSON_AddBoolToObject(r, "mixnode", !gw) && cJSON_AddBoolToObject(r, "entry", gw) &&
	      cJSON_AddBoolToObject(r, "exit_nr", gw) && cJSON_AddBoolToObject(r, "exit_ipr", gw);
	if (gw) {
		cJSON *e = cJSON_AddObjectToObject(o, "entry");
		ok &= e && add_hostname(e, c) &&
		      cJSON_AddNumberToObject(e, "ws_port", announced_ws_port(c)) &&
		      add_wss_port(e, "wss_port", c);
	} else
		ok &= cJSON_AddNullToObject(o, "entry") != NULL;
	ok &= cJSON_AddStringToObject(o, "performance", "1") != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *semi_skimmed_node(const struct ns_nodeconf *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *basic = skimmed_node(c);
	if (!o || !basic || !cJSON_AddItemToObject(o, "basic", basic) ||
	    !cJSON_AddNullToObject(o, "x25519_noise_versioned_key")) {
		if (o && basic && !cJSON_GetObjectItemCaseSensitive(o, "basic"))
			cJSON_Delete(basic);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* {"pagination":{"total":N,"page":0,"size":N},"data":[...]} */
static cJSON *paged_nodes(const struct ns_nodeconf *nodes, size_t n, enum ns_node_filter f, int semi)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *pg = o ? cJSON_AddObjectToObject(o, "pagination") : NULL;
	cJSON *data = pg ? cJSON_AddArrayToObject(o, "data") : NULL;
	int ok = data != NULL;
	size_t count = 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (!in_filter(&nodes[i], f))
			continue;
		cJSON *node = semi ? semi_skimmed_node(&nodes[i]) : skimmed_node(&nodes[i]);
		ok = node && cJSON_AddItemToArray(data, node);
		if (!ok)
			cJSON_Delete(node);
		count++;
	}
	ok = ok && cJSON_AddNumberToObject(pg, "total", (double)count) &&
	     cJSON_AddNumberToObject(pg, "page", 0) && cJSON_AddNumberToObject(pg, "size", (double)count);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *ns_topojson_skimmed(const struct ns_nodeconf *nodes, size_t n, const struct ns_netinfo *info,
                          enum ns_node_filter filter, int semi)
{
	char when[21];
	ns_rfc3339(info->refreshed_at, when);
	cJSON *root = cJSON_CreateObject();
	cJSON *meta = root ? cJSON_AddObjectToObject(root, "metadata") : NULL;
	int ok = meta && cJSON_AddNullToObject(meta, "status") &&
	         cJSON_AddNumberToObject(meta, "absolute_epoch_id", info->absolute_epoch_id) &&
	         cJSON_AddNumberToObject(meta, "rotation_id", info->key_rotation_id) &&
	         cJSON_AddStringToObject(meta, "refreshed_at", when);
	cJSON *paged = ok ? paged_nodes(nodes, n, filter, semi) : NULL;
	ok = paged && cJSON_AddItemToObject(root, "nodes", paged);
	if (!ok && paged && !cJSON_GetObjectItemCaseSensitive(root, "nodes"))
		cJSON_Delete(paged);
	return finish(root, ok, 0);
}

char *ns_topojson_skimmed_v1(const struct ns_nodeconf *nodes, size_t n,
                             const struct ns_netinfo *info, enum ns_node_filter filter)
{
	char when[21];
	ns_rfc3339(info->refreshed_at, when);
	cJSON *root = cJSON_CreateObject();
	int ok = root && cJSON_AddNullToObject(root, "status") &&
	         cJSON_AddStringToObject(root, "refreshed_at", when);
	cJSON *paged = ok ? paged_nodes(nodes, n, filter, 0) : NULL;
	ok = paged && cJSON_AddItemToObject(root, "nodes", paged);
	if (!ok && paged && root && !cJSON_GetObjectItemCaseSensitive(root, "nodes"))
		cJSON_Delete(paged);
	return finish(root, ok, 0);
}

char *ns_topojson_key_rotation_info(const struct ns_netinfo *info)
{
	uint32_t validity, initial;
	if (ns_netinfo_schedule(info, &validity, &initial) < 0)
		return NULL;
	char start[21];
	ns_rfc3339(info->epoch_start, start);
	uint64_t rot = info->key_rotation_id;
	uint64_t first = initial + validity * rot;
	cJSON *root = cJSON_CreateObject();
	cJSON *st = root ? cJSON_AddObjectToObject(root, "key_rotation_state") : NULL;
	int ok = st && cJSON_AddNumberToObject(st, "validity_epochs", validity) &&
	         cJSON_AddNumberToObject(st, "initial_epoch_id", initial);
	ok = ok && cJSON_AddNumberToObject(root, "current_absolute_epoch_id", info->absolute_epoch_id) &&
	     cJSON_AddStringToObject(root, "current_epoch_start", start);
	cJSON *dur = ok ? cJSON_AddObjectToObject(root, "epoch_duration") : NULL;
	ok = dur && cJSON_AddNumberToObject(dur, "secs", info->epoch_duration_secs) &&
	     cJSON_AddNumberToObject(dur, "nanos", 0);
	cJSON *pr = ok ? cJSON_AddObjectToObject(root, "progress") : NULL;
	ok = pr && cJSON_AddNumberToObject(pr, "current_key_rotation_id", (double)rot) &&
	     cJSON_AddNumberToObject(pr, "current_rotation_starting_epoch", (double)first) &&
	     cJSON_AddNumberToObject(pr, "current_rotation_ending_epoch", (double)(first + validity - 1));
	return finish(root, ok, 0);
}

/* ================================================================ parser */

int ns_routing_address(const char *host_port, uint8_t out[32])
{
	memset(out, 0, 32);
	char host[64];
	const char *port_s;
	if (host_port[0] == '[') {
		const char *close = strchr(host_port, ']');
		if (!close || close[1] != ':' || (size_t)(close - host_port - 1) >= sizeof host)
			return -1;
		memcpy(host, host_port + 1, (size_t)(close - host_port - 1));
		host[close - host_port - 1] = 0;
		port_s = close + 2;
	} else {
		const char *colon = strrchr(host_port, ':');
		if (!colon || (size_t)(colon - host_port) >= sizeof host || strchr(host_port, ':') != colon)
			return -1;
		memcpy(host, host_port, (size_t)(colon - host_port));
		host[colon - host_port] = 0;
		port_s = colon + 1;
	}
	unsigned long port = 0;
	size_t digits = strlen(port_s);
	if (digits == 0 || digits > 5 || (digits > 1 && port_s[0] == '0'))
		return -1;
	for (size_t i = 0; i < digits; i++) {
		if (port_s[i] < '0' || port_s[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(port_s[i] - '0');
	}
	if (port > 65535)
		return -1;
	out[1] = (uint8_t)(port >> 8);
	out[2] = (uint8_t)port;
	if (host_port[0] != '[' && inet_pton(AF_INET, host, out + 3) == 1) {
		out[0] = 4;
		return 7;
	}
	if (host_port[0] == '[' && inet_pton(AF_INET6, host, out + 3) == 1) {
		out[0] = 6;
		return 19;
	}
	memset(out, 0, 32);
	return -1;
}

/* ---- strict member access */

/* Every member name must be one of `allowed` (NULL-terminated). */
static int only_members(const cJSON *obj, const char *const *allowed)
{
	for (const cJSON *m = obj->child; m; m = m->next) {
		int known = 0;
		for (size_t i = 0; allowed[i]; i++)
			known |= strcmp(m->string, allowed[i]) == 0;
		if (!known)
			return 0;
	}
	return 1;
}

/* ---- sections */

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" with digits where digits belong. */
static int valid_rfc3339(const char *s)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; i < sizeof pattern - 1; i++) {
		char want = pattern[i], c = s[i];
		if (want == 'd' ? !(c >= '0' && c <= '9') : want == 'T' ? (c != 'T' && c != 't') : c != want)
			return 0;
	}
	s += sizeof pattern - 1;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == 0)
		return 1;
	if (*s != '+' && *s != '-')
		return 0;
	static const char offset[] = "dd:dd";
	for (size_t i = 0; i < sizeof offset - 1; i++) {
		char c = s[1 + i];
		if (offset[i] == 'd' ? !(c >= '0' && c <= '9') : c != ':')
			return 0;
	}
	return s[6] == 0;
}

static int parse_metadata(const cJSON *m, struct ns_topo *t)
{
	if (!cJSON_IsObject(m) || ns_json_has_duplicates(m))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_u32(m, "key_rotation_id", &t->key_rotation_id)) < 0 ||
	    (rc = ns_json_get_u32(m, "absolute_epoch_id", &t->absolute_epoch_id)) < 0 ||
	    (rc = ns_json_get_str(m, "refreshed_at", t->refreshed_at, sizeof t->refreshed_at)) < 0)
		return rc;
	return valid_rfc3339(t->refreshed_at) ? 0 : NS_TOPOJSON_ERR_VALUE;
}

static const char *const set_names[NS_SET_COUNT] = { "entry_gateways", "exit_gateways", "layer1",
	                                              "layer2", "layer3", "standby" };

static int parse_id_set(const cJSON *arr, uint32_t **out, size_t *n)
{
	if (!cJSON_IsArray(arr))
		return NS_TOPOJSON_ERR_SHAPE;
	size_t count = (size_t)cJSON_GetArraySize(arr);
	if (count > NS_TOPO_MAX_NODES)
		return NS_TOPOJSON_ERR_VALUE;
	*out = calloc(count ? count : 1, sizeof **out);
	if (!*out)
		return NS_TOPOJSON_ERR_NOMEM;
	const cJSON *item;
	cJSON_ArrayForEach(item, arr) {
		double d = cJSON_IsNumber(item) ? item->valuedouble : -1;
		if (!(d >= 0) || d > UINT32_MAX || floor(d) != d)
			return NS_TOPOJSON_ERR_VALUE;
		uint32_t id = (uint32_t)d;
		int dup = 0;
		for (size_t i = 0; i < *n; i++)
			dup |= (*out)[i] == id;
		if (!dup) /* a HashSet: repeats collapse */
			(*out)[(*n)++] = id;
	}
	return 0;
}

static int parse_rewarded_set(const cJSON *rs, struct ns_topo *t)
{
	if (!cJSON_IsObject(rs) || ns_json_has_duplicates(rs))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc = ns_json_get_u32(rs, "epoch_id", &t->epoch_id);
	for (int i = 0; rc == 0 && i < NS_SET_COUNT; i++)
		rc = parse_id_set(ns_json_member(rs, set_names[i]), &t->set[i], &t->set_len[i]);
	return rc;
}

static int parse_entry(const cJSON *e, struct ns_topo_node *node)
{
	static const char *const allowed[] = { "ip_addresses", "clients_ws_port", "hostname",
		                               "clients_wss_port", NULL };
	if (!cJSON_IsObject(e) || ns_json_has_duplicates(e) || !only_members(e, allowed))
		return NS_TOPOJSON_ERR_SHAPE;
	const cJSON *ips = ns_json_member(e, "ip_addresses");
	if (!cJSON_IsArray(ips))
		return NS_TOPOJSON_ERR_SHAPE;
	const cJSON *ip;
	uint8_t buf[16];
	cJSON_ArrayForEach(ip, ips) {
		if (!cJSON_IsString(ip) || strlen(ip->valuestring) >= sizeof node->entry_ip ||
		    (inet_pton(AF_INET, ip->valuestring, buf) != 1 && inet_pton(AF_INET6, ip->valuestring, buf) != 1))
			return NS_TOPOJSON_ERR_VALUE;
		if (!node->entry_ip[0])
			memcpy(node->entry_ip, ip->valuestring, strlen(ip->valuestring) + 1);
	}
	uint64_t port;
	int rc = ns_json_get_uint(e, "clients_ws_port", 65535, &port);
	if (rc < 0)
		return rc;
	node->clients_ws_port = (uint16_t)port;
	if (!ns_json_absent(e, "hostname") &&
	    (rc = ns_json_get_str(e, "hostname", node->hostname, sizeof node->hostname)) < 0)
		return rc;
	if (!ns_json_absent(e, "clients_wss_port")) {
		if ((rc = ns_json_get_uint(e, "clients_wss_port", 65535, &port)) < 0)
			return rc;
		node->has_wss_port = 1;
		node->clients_wss_port = (uint16_t)port;
	}
	node->has_entry = 1;
	return 0;
}

static int parse_roles(const cJSON *r, struct ns_topo_node *node)
{
	if (!cJSON_IsObject(r) || ns_json_has_duplicates(r))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_bool(r, "mixnode", &node->mixnode)) < 0 ||
	    (rc = ns_json_get_bool(r, "mixnet_entry", &node->mixnet_entry)) < 0 ||
	    (rc = ns_json_get_bool(r, "mixnet_exit", &node->mixnet_exit)) < 0)
		return rc;
	return 0;
}

/* The map key must be the decimal node id (no sign, no leading zeros). */
static int key_matches_id(const char *key, uint32_t id)
{
	char expect[16];
	snprintf(expect, sizeof expect, "%u", id);
	return strcmp(key, expect) == 0;
}

static int parse_node(const cJSON *n, struct ns_topo_node *node)
{
	static const char *const allowed[] = { "nodeId", "mixHost", "entry", "identityKey",
		                               "sphinxKey", "supportedRoles", NULL };
	if (!cJSON_IsObject(n) || ns_json_has_duplicates(n) || !only_members(n, allowed))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_u32(n, "nodeId", &node->node_id)) < 0 ||
	    (rc = ns_json_get_str(n, "mixHost", node->mix_host, sizeof node->mix_host)) < 0 ||
	    (rc = ns_json_get_key32(n, "identityKey", node->identity)) < 0 ||
	    (rc = ns_json_get_key32(n, "sphinxKey", node->sphinx_key)) < 0 ||
	    (rc = parse_roles(ns_json_member(n, "supportedRoles"), node)) < 0)
		return rc;
	if (!key_matches_id(n->string, node->node_id))
		return NS_TOPOJSON_ERR_VALUE;
	if (ns_routing_address(node->mix_host, node->address) < 0)
		return NS_TOPOJSON_ERR_VALUE;
	if (!ns_json_absent(n, "entry") && (rc = parse_entry(ns_json_member(n, "entry"), node)) < 0)
		return rc;
	return 0;
}

static int parse_nodes(const cJSON *d, struct ns_topo *t)
{
	if (!cJSON_IsObject(d) || ns_json_has_duplicates(d))
		return NS_TOPOJSON_ERR_SHAPE;
	size_t count = (size_t)cJSON_GetArraySize(d);
	if (count > NS_TOPO_MAX_NODES)
		return NS_TOPOJSON_ERR_VALUE;
	t->nodes = calloc(count ? count : 1, sizeof *t->nodes);
	if (!t->nodes)
		return NS_TOPOJSON_ERR_NOMEM;
	const cJSON *n;
	cJSON_ArrayForEach(n, d) {
		int rc = parse_node(n, &t->nodes[t->n_nodes]);
		if (rc < 0)
			return rc;
		t->n_nodes++;
	}
	return 0;
}

/* ---- routing view */

static const struct ns_topo_node *node_by_id(const struct ns_topo *t, uint32_t id)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].node_id == id)
			return &t->nodes[i];
	return NULL;
}

static int id_in_set(const struct ns_topo *t, enum ns_topo_set s, uint32_t id)
{
	for (size_t i = 0; i < t->set_len[s]; i++)
		if (t->set[s][i] == id)
			return 1;
	return 0;
}

static void to_topo_node(const struct ns_topo_node *src, struct nym_topo_node *dst)
{
	dst->node_id = src->node_id;
	memcpy(dst->identity, src->identity, 32);
	memcpy(dst->sphinx_key, src->sphinx_key, 32);
	memcpy(dst->address, src->address, sizeof dst->address);
}

static int build_routing_view(struct ns_topo *t)
{
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		enum ns_topo_set s = (enum ns_topo_set)(NS_SET_LAYER1 + l);
		t->layer_nodes[l] = calloc(t->set_len[s] ? t->set_len[s] : 1, sizeof **t->layer_nodes);
		if (!t->layer_nodes[l])
			return NS_TOPOJSON_ERR_NOMEM;
		size_t k = 0;
		for (size_t i = 0; i < t->set_len[s]; i++) {
			const struct ns_topo_node *node = node_by_id(t, t->set[s][i]);
			if (node)
				to_topo_node(node, &t->layer_nodes[l][k++]);
		}
		t->topology.layer[l] = t->layer_nodes[l];
		t->topology.layer_len[l] = k;
		if (k == 0)
			return NS_TOPOJSON_ERR_ROUTABLE;
	}
	if (t->set_len[NS_SET_ENTRY] == 0 && t->set_len[NS_SET_EXIT] == 0)
		return NS_TOPOJSON_ERR_ROUTABLE;
	t->gateway_nodes = calloc(t->n_nodes ? t->n_nodes : 1, sizeof *t->gateway_nodes);
	if (!t->gateway_nodes)
		return NS_TOPOJSON_ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct ns_topo_node *node = &t->nodes[i];
		if (node->has_entry || id_in_set(t, NS_SET_ENTRY, node->node_id) ||
		    id_in_set(t, NS_SET_EXIT, node->node_id))
			to_topo_node(node, &t->gateway_nodes[k++]);
	}
	t->topology.gateways = t->gateway_nodes;
	t->topology.n_gateways = k;
	t->topology.key_rotation_id = t->key_rotation_id;
	return 0;
}

void ns_topo_free(struct ns_topo *t)
{
	free(t->nodes);
	for (int i = 0; i < NS_SET_COUNT; i++)
		free(t->set[i]);
	for (int l = 0; l < NYM_MIX_LAYERS; l++)
		free(t->layer_nodes[l]);
	free(t->gateway_nodes);
	memset(t, 0, sizeof *t);
}

int ns_topo_parse(const char *json, size_t len, struct ns_topo *out)
{
	static const char *const top[] = { "metadata", "rewardedSet", "nodeDetails", NULL };
	memset(out, 0, sizeof *out);
	if (len > NS_TOPOJSON_MAX_INPUT || memchr(json, 0, len))
		return NS_TOPOJSON_ERR_JSON;
	/* cJSON only rejects trailing bytes on NUL-terminated input */
	char *text = malloc(len + 1);
	if (!text)
		return NS_TOPOJSON_ERR_NOMEM;
	memcpy(text, json, len);
	text[len] = 0;
	cJSON *root = cJSON_ParseWithOpts(text, NULL, 1);
	free(text);
	if (!root)
		return NS_TOPOJSON_ERR_JSON;
	int rc = NS_TOPOJSON_ERR_SHAPE;
	if (cJSON_IsObject(root) && !ns_json_has_duplicates(root) && only_members(root, top)) {
		rc = parse_metadata(ns_json_member(root, "metadata"), out);
		if (rc == 0)
			rc = parse_rewarded_set(ns_json_member(root, "rewardedSet"), out);
		if (rc == 0)
			rc = parse_nodes(ns_json_member(root, "nodeDetails"), out);
		if (rc == 0)
			rc = build_routing_view(out);
	}
	cJSON_Delete(root);
	if (rc < 0)
		ns_topo_free(out);
	return rc;
}

/* ---- Nym's serde form of NymTopology (--custom-mixnet files) */

/* A key as serde writes [u8; 32] / ed25519 bytes: an array of 32 integers 0..255. */
static int key_array(const cJSON *a, uint8_t out[32])
{
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 32)
		return -1;
	int i = 0;
	for (const cJSON *b = a->child; b; b = b->next, i++) {
		if (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 255 ||
		    b->valuedouble != (double)(int)b->valuedouble)
			return -1;
		out[i] = (uint8_t)b->valueint;
	}
	return 0;
}

static cJSON *copy_member(cJSON *to, const cJSON *from, const char *name, const char *as)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(from, name);
	cJSON *c = m ? cJSON_Duplicate(m, 1) : NULL;
	if (!c || !cJSON_AddItemToObject(to, as, c)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

static cJSON *nym_node(const cJSON *n)
{
	uint8_t id_key[32], sphinx[32];
	char b58[64];
	cJSON *o = cJSON_CreateObject();
	const cJSON *entry = cJSON_GetObjectItemCaseSensitive(n, "entry");
	int ok = o && cJSON_IsObject(n) &&
	         key_array(cJSON_GetObjectItemCaseSensitive(n, "identity_key"), id_key) == 0 &&
	         key_array(cJSON_GetObjectItemCaseSensitive(n, "sphinx_key"), sphinx) == 0 &&
	         copy_member(o, n, "node_id", "nodeId") && copy_member(o, n, "mix_host", "mixHost");
	if (ok && entry)
		ok = copy_member(o, n, "entry", "entry") != NULL;
	else if (ok)
		ok = cJSON_AddNullToObject(o, "entry") != NULL;
	ok = ok && base58_encode(id_key, 32, b58, sizeof b58) > 0 &&
	     cJSON_AddStringToObject(o, "identityKey", b58) &&
	     base58_encode(sphinx, 32, b58, sizeof b58) > 0 &&
	     cJSON_AddStringToObject(o, "sphinxKey", b58) &&
	     copy_member(o, n, "supported_roles", "supportedRoles");
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *nym_nodes(const cJSON *details)
{
	cJSON *out = cJSON_IsObject(details) ? cJSON_CreateObject() : NULL;
	for (const cJSON *n = details ? details->child : NULL; out && n; n = n->next) {
		cJSON *w = nym_node(n);
		if (!w || !n->string || !cJSON_AddItemToObject(out, n->string, w)) {
			cJSON_Delete(w);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

char *ns_topojson_from_nym(const char *json, size_t len)
{
	if (!json || len > NS_TOPOJSON_MAX_INPUT)
		return NULL;
	cJSON *in = cJSON_ParseWithLength(json, len), *out = cJSON_CreateObject();
	char *text = NULL;
	int ok = cJSON_IsObject(in) && out;
	if (ok && cJSON_GetObjectItemCaseSensitive(in, "metadata"))
		ok = copy_member(out, in, "metadata", "metadata") != NULL;
	else if (ok) { /* serde(default): Nym's empty metadata */
		cJSON *m = cJSON_AddObjectToObject(out, "metadata");
		ok = m && cJSON_AddNumberToObject(m, "key_rotation_id", 0) &&
		     cJSON_AddNumberToObject(m, "absolute_epoch_id", 0) &&
		     cJSON_AddStringToObject(m, "refreshed_at", "1970-01-01T00:00:00Z");
	}
	ok = ok && copy_member(out, in, "rewarded_set", "rewardedSet");
	cJSON *nodes = ok ? nym_nodes(cJSON_GetObjectItemCaseSensitive(in, "node_details")) : NULL;
	if (nodes && !cJSON_AddItemToObject(out, "nodeDetails", nodes)) {
		cJSON_Delete(nodes);
		nodes = NULL;
	}
	if (nodes)
		text = cJSON_PrintUnformatted(out);
	cJSON_Delete(in);
	cJSON_Delete(out);
	return text;
}

int ns_topo_load_file(const char *path, struct ns_topo *out, char *err, size_t errcap)
{
	FILE *f = fopen(path, "rb");
	char *text = malloc(NS_TOPOJSON_MAX_INPUT + 1);
	size_t len = f && text ? fread(text, 1, NS_TOPOJSON_MAX_INPUT + 1, f) : 0;
	int rc = NS_TOPOJSON_ERR_JSON;
	if (!f || !text)
		snprintf(err, errcap, "%s", !text ? "out of memory" : strerror(errno));
	else if (ferror(f) || len > NS_TOPOJSON_MAX_INPUT)
		snprintf(err, errcap, "%s", ferror(f) ? "read error" : "file too large");
	else {
		char *rewritten = ns_topojson_from_nym(text, len);
		rc = rewritten ? ns_topo_parse(rewritten, strlen(rewritten), out)
		               : ns_topo_parse(text, len, out);
		free(rewritten);
		if (rc < 0)
			snprintf(err, errcap, "not a topology file we can read (error %d)", rc);
	}
	if (f)
		fclose(f);
	free(text);
	return rc < 0 ? rc : 0;
}
