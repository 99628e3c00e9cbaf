/* nym-api response parsers and the client topology built from them; see nymapi.h. */
#include "nymapi.h"
#include "replystore.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "jsonget.h"

/* ---- member access (unknown members are ignored; duplicates are errors) */

static int is_object(const cJSON *o)
{
	return cJSON_IsObject(o) && !ns_json_has_duplicates(o);
}

/* cJSON rejects trailing bytes only on NUL-terminated input; embedded NULs are refused. */
static int parse_root(const char *json, size_t len, cJSON **root)
{
	*root = NULL;
	if (len > NS_NYMAPI_MAX_INPUT || memchr(json, 0, len))
		return NS_TOPOJSON_ERR_JSON;
	char *text = malloc(len + 1);
	if (!text)
		return NS_TOPOJSON_ERR_NOMEM;
	memcpy(text, json, len);
	text[len] = 0;
	*root = cJSON_ParseWithOpts(text, NULL, 1);
	free(text);
	if (!*root)
		return NS_TOPOJSON_ERR_JSON;
	return is_object(*root) ? 0 : NS_TOPOJSON_ERR_SHAPE;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" */
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
		if (!(s[1] >= '0' && s[1] <= '9'))
			return 0;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
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

/* ---- E1 rewarded set */

static const char *const set_names[NS_SET_COUNT] = { "entry_gateways", "exit_gateways", "layer1",
	                                              "layer2", "layer3", "standby" };

static int parse_id_set(const cJSON *arr, uint32_t **out, size_t *n)
{
	if (!cJSON_IsArray(arr))
		return NS_TOPOJSON_ERR_SHAPE;
	size_t count = (size_t)cJSON_GetArraySize(arr);
	if (count > NS_NYMAPI_MAX_NODES)
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
		for (size_t i = 0; i < *n && !dup; i++)
			dup = (*out)[i] == id;
		if (!dup) /* a HashSet: repeats collapse */
			(*out)[(*n)++] = id;
	}
	return 0;
}

void ns_nymapi_rewarded_free(struct ns_nymapi_rewarded *r)
{
	for (int i = 0; i < NS_SET_COUNT; i++)
		free(r->set[i]);
	memset(r, 0, sizeof *r);
}

int ns_nymapi_parse_rewarded(const char *json, size_t len, struct ns_nymapi_rewarded *out)
{
	memset(out, 0, sizeof *out);
	cJSON *root;
	int rc = parse_root(json, len, &root);
	if (rc == 0 && !ns_json_absent(root, "epoch_id"))
		rc = ns_json_get_u32(root, "epoch_id", &out->epoch_id);
	for (int i = 0; rc == 0 && i < NS_SET_COUNT; i++)
		rc = parse_id_set(ns_json_member(root, set_names[i]), &out->set[i], &out->set_len[i]);
	cJSON_Delete(root);
	if (rc < 0)
		ns_nymapi_rewarded_free(out);
	return rc;
}

/* ---- performance: cosmwasm Decimal inside Percent, as a string (or a JSON number) */

int ns_nymapi_performance(const char *text)
{
	const char *s = text;
	unsigned whole = 0, frac = 0;
	size_t nd = 0;
	for (; *s >= '0' && *s <= '9'; s++, nd++)
		if (nd > 20 || (whole = whole * 10 + (unsigned)(*s - '0')) > 1)
			return -1;
	if (nd == 0)
		return -1;
	int nonzero_frac = 0;
	if (*s == '.') {
		size_t nf = 0;
		for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
			if (nf >= 18) /* Decimal has 18 fractional digits */
				return -1;
			if (nf < 2)
				frac = frac * 10 + (unsigned)(*s - '0');
			nonzero_frac |= *s != '0';
		}
		if (nf == 0)
			return -1;
		if (nf == 1)
			frac *= 10;
	}
	if (*s || (whole == 1 && nonzero_frac))
		return -1;
	return (int)(whole * 100 + frac);
}

static int get_performance(const cJSON *node, unsigned *out)
{
	const cJSON *v = ns_json_member(node, "performance");
	char buf[48];
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) >= sizeof buf)
			return NS_TOPOJSON_ERR_VALUE;
		snprintf(buf, sizeof buf, "%s", v->valuestring);
	} else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1) {
		snprintf(buf, sizeof buf, "%.6f", v->valuedouble);
	} else {
		return cJSON_IsNumber(v) ? NS_TOPOJSON_ERR_VALUE : NS_TOPOJSON_ERR_SHAPE;
	}
	int p = ns_nymapi_performance(buf);
	if (p < 0)
		return NS_TOPOJSON_ERR_VALUE;
	*out = (unsigned)p;
	return 0;
}

/* ---- E2/E3 skimmed node lists */

static int parse_meta(const cJSON *m, struct ns_nymapi_meta *meta)
{
	if (!is_object(m))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_u32(m, "absolute_epoch_id", &meta->absolute_epoch_id)) < 0 ||
	    (rc = ns_json_get_u32(m, "rotation_id", &meta->rotation_id)) < 0 ||
	    (rc = ns_json_get_str(m, "refreshed_at", meta->refreshed_at, sizeof meta->refreshed_at)) < 0)
		return rc;
	/* refreshed_at is lenient in Nym (unparsable -> epoch 0): only its type is checked */
	const cJSON *st = ns_json_member(m, "status");
	if (!st || cJSON_IsNull(st))
		return 0;
	char *text = cJSON_PrintUnformatted(st);
	if (!text)
		return NS_TOPOJSON_ERR_NOMEM;
	rc = strlen(text) < sizeof meta->status ? 0 : NS_TOPOJSON_ERR_VALUE;
	if (rc == 0)
		memcpy(meta->status, text, strlen(text) + 1);
	free(text);
	return rc;
}

static int parse_ip(const cJSON *ip, char *out, size_t cap, int *v6)
{
	uint8_t buf[16];
	if (!cJSON_IsString(ip))
		return NS_TOPOJSON_ERR_SHAPE;
	if (strlen(ip->valuestring) >= cap)
		return NS_TOPOJSON_ERR_VALUE;
	*v6 = inet_pton(AF_INET6, ip->valuestring, buf) == 1;
	if (!*v6 && inet_pton(AF_INET, ip->valuestring, buf) != 1)
		return NS_TOPOJSON_ERR_VALUE;
	snprintf(out, cap, "%s", ip->valuestring);
	return 0;
}

/* ip_addresses: every entry a literal; the first is the mix host, the first IPv4 (else the
 * first) the websocket host. 1 when there is none (node skipped). */
static int parse_ips(const cJSON *ips, struct ns_topo_node *n, uint16_t mix_port)
{
	if (!cJSON_IsArray(ips))
		return NS_TOPOJSON_ERR_SHAPE;
	const cJSON *ip;
	int first = 1, have_v4 = 0;
	cJSON_ArrayForEach(ip, ips) {
		char text[64];
		int v6, rc = parse_ip(ip, text, sizeof text, &v6);
		if (rc < 0)
			return rc;
		if (first)
			snprintf(n->mix_host, sizeof n->mix_host, v6 ? "[%s]:%u" : "%s:%u", text, mix_port);
		if (first || (!v6 && !have_v4))
			snprintf(n->entry_ip, sizeof n->entry_ip, "%s", text);
		have_v4 |= !v6;
		first = 0;
	}
	if (first)
		return 1;
	return ns_routing_address(n->mix_host, n->address) < 0 ? NS_TOPOJSON_ERR_VALUE : 0;
}

static int parse_roles(const cJSON *r, struct ns_topo_node *n)
{
	if (!r || cJSON_IsNull(r))
		return 0; /* optional: all false */
	int entry, exit_nr, exit_ipr, rc;
	if (!is_object(r))
		return NS_TOPOJSON_ERR_SHAPE;
	if ((rc = ns_json_get_bool(r, "mixnode", &n->mixnode)) < 0 || (rc = ns_json_get_bool(r, "entry", &entry)) < 0 ||
	    (rc = ns_json_get_bool(r, "exit_nr", &exit_nr)) < 0 || (rc = ns_json_get_bool(r, "exit_ipr", &exit_ipr)) < 0)
		return rc;
	n->mixnet_entry = entry;
	n->mixnet_exit = exit_nr && exit_ipr;
	return 0;
}

static int parse_entry(const cJSON *e, struct ns_topo_node *n)
{
	if (!e || cJSON_IsNull(e))
		return 0;
	if (!is_object(e))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc = ns_json_get_u16(e, "ws_port", &n->clients_ws_port);
	if (rc < 0)
		return rc;
	if (!ns_json_absent(e, "hostname") && (rc = ns_json_get_str(e, "hostname", n->hostname, sizeof n->hostname)) < 0)
		return rc;
	if (!ns_json_absent(e, "wss_port")) {
		if ((rc = ns_json_get_u16(e, "wss_port", &n->clients_wss_port)) < 0)
			return rc;
		n->has_wss_port = 1;
	}
	n->has_entry = 1;
	return 0;
}

/* The client ignores the role; it must still be one of serde's shapes: a string or an
 * object (externally tagged variant). */
static int check_role(const cJSON *node)
{
	const cJSON *r = ns_json_member(node, "role");
	if (!r)
		r = ns_json_member(node, "epoch_role");
	return cJSON_IsString(r) || is_object(r) ? 0 : NS_TOPOJSON_ERR_SHAPE;
}

/* 0 parsed, 1 skipped (no IP address), < 0 error */
static int parse_node(const cJSON *o, struct ns_nymapi_node *out)
{
	struct ns_topo_node *n = &out->n;
	uint16_t mix_port = 0;
	int rc;
	memset(out, 0, sizeof *out);
	if (!is_object(o))
		return NS_TOPOJSON_ERR_SHAPE;
	if ((rc = ns_json_get_u32(o, "node_id", &n->node_id)) < 0 ||
	    (rc = ns_json_get_key32(o, "ed25519_identity_pubkey", n->identity)) < 0 ||
	    (rc = ns_json_get_u16(o, "mix_port", &mix_port)) < 0 ||
	    (rc = ns_json_get_key32(o, "x25519_sphinx_pubkey", n->sphinx_key)) < 0 ||
	    (rc = check_role(o)) < 0 || (rc = get_performance(o, &out->performance)) < 0 ||
	    (rc = parse_roles(ns_json_member(o, "supported_roles"), n)) < 0 ||
	    (rc = parse_entry(ns_json_member(o, "entry"), n)) < 0)
		return rc;
	return parse_ips(ns_json_member(o, "ip_addresses"), n, mix_port);
}

static int parse_pagination(const cJSON *p, struct ns_nymapi_page *out)
{
	if (!is_object(p))
		return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_uint(p, "total", UINT32_MAX, &out->total)) < 0 ||
	    (rc = ns_json_get_uint(p, "page", UINT32_MAX, &out->page)) < 0 ||
	    (rc = ns_json_get_uint(p, "size", UINT32_MAX, &out->size)) < 0)
		return rc;
	return 0;
}

static int parse_data(const cJSON *data, struct ns_nymapi_page *out)
{
	if (!cJSON_IsArray(data))
		return NS_TOPOJSON_ERR_SHAPE;
	size_t count = (size_t)cJSON_GetArraySize(data);
	if (count > NS_NYMAPI_MAX_NODES)
		return NS_TOPOJSON_ERR_VALUE;
	out->nodes = calloc(count ? count : 1, sizeof *out->nodes);
	if (!out->nodes)
		return NS_TOPOJSON_ERR_NOMEM;
	const cJSON *o;
	cJSON_ArrayForEach(o, data) {
		int rc = parse_node(o, &out->nodes[out->n_nodes]);
		if (rc < 0)
			return rc;
		if (rc == 1)
			out->skipped++;
		else
			out->n_nodes++;
	}
	return 0;
}

void ns_nymapi_page_free(struct ns_nymapi_page *p)
{
	free(p->nodes);
	memset(p, 0, sizeof *p);
}

int ns_nymapi_parse_page(const char *json, size_t len, struct ns_nymapi_page *out)
{
	memset(out, 0, sizeof *out);
	cJSON *root;
	int rc = parse_root(json, len, &root);
	const cJSON *nodes = rc == 0 ? ns_json_member(root, "nodes") : NULL;
	if (rc == 0)
		rc = parse_meta(ns_json_member(root, "metadata"), &out->meta);
	if (rc == 0)
		rc = is_object(nodes) ? parse_pagination(ns_json_member(nodes, "pagination"), out)
		                      : NS_TOPOJSON_ERR_SHAPE;
	if (rc == 0)
		rc = parse_data(ns_json_member(nodes, "data"), out);
	cJSON_Delete(root);
	if (rc < 0)
		ns_nymapi_page_free(out);
	return rc;
}

int ns_nymapi_page_append(struct ns_nymapi_page *dst, struct ns_nymapi_page *src)
{
	size_t n = dst->n_nodes + src->n_nodes;
	if (n > NS_NYMAPI_MAX_NODES)
		return NS_TOPOJSON_ERR_VALUE;
	struct ns_nymapi_node *grown = realloc(dst->nodes, (n ? n : 1) * sizeof *grown);
	if (!grown)
		return NS_TOPOJSON_ERR_NOMEM;
	if (src->n_nodes)
		memcpy(grown + dst->n_nodes, src->nodes, src->n_nodes * sizeof *grown);
	dst->nodes = grown;
	dst->n_nodes = n;
	dst->skipped += src->skipped;
	ns_nymapi_page_free(src);
	return 0;
}

int ns_nymapi_meta_agree(const struct ns_nymapi_meta *a, const struct ns_nymapi_meta *b)
{
	return strcmp(a->status, b->status) == 0 && a->absolute_epoch_id == b->absolute_epoch_id &&
	       a->rotation_id == b->rotation_id;
}

/* ---- E4 key rotation info */

static int parse_keyrot_state(const cJSON *s, struct ns_nymapi_keyrot *out)
{
	if (!is_object(s))
		return NS_TOPOJSON_ERR_SHAPE;
	for (const cJSON *m = s->child; m; m = m->next) /* cw_serde: deny_unknown_fields */
		if (strcmp(m->string, "validity_epochs") && strcmp(m->string, "initial_epoch_id"))
			return NS_TOPOJSON_ERR_SHAPE;
	int rc;
	if ((rc = ns_json_get_u32(s, "validity_epochs", &out->validity_epochs)) < 0 ||
	    (rc = ns_json_get_u32(s, "initial_epoch_id", &out->initial_epoch_id)) < 0)
		return rc;
	return out->validity_epochs ? 0 : NS_TOPOJSON_ERR_VALUE;
}

static int parse_keyrot_rest(const cJSON *root, struct ns_nymapi_keyrot *out)
{
	char start[64];
	uint32_t first, last;
	const cJSON *dur = ns_json_member(root, "epoch_duration"), *prog = ns_json_member(root, "progress");
	int rc;
	if ((rc = ns_json_get_u32(root, "current_absolute_epoch_id", &out->current_absolute_epoch_id)) < 0 ||
	    (rc = ns_json_get_str(root, "current_epoch_start", start, sizeof start)) < 0)
		return rc;
	if (!valid_rfc3339(start))
		return NS_TOPOJSON_ERR_VALUE;
	if (ns_rs_time_text(start, strlen(start), &out->current_epoch_start) < 0)
		out->current_epoch_start = 0; /* valid, but beyond the converter (a long fraction) */
	if (!is_object(dur) || !is_object(prog))
		return NS_TOPOJSON_ERR_SHAPE;
	if ((rc = ns_json_get_uint(dur, "secs", UINT64_MAX, &out->epoch_duration_secs)) < 0 ||
	    (rc = ns_json_get_u32(dur, "nanos", &out->epoch_duration_nanos)) < 0 ||
	    (rc = ns_json_get_u32(prog, "current_key_rotation_id", &out->current_key_rotation_id)) < 0 ||
	    (rc = ns_json_get_u32(prog, "current_rotation_starting_epoch", &first)) < 0 ||
	    (rc = ns_json_get_u32(prog, "current_rotation_ending_epoch", &last)) < 0)
		return rc;
	if (out->epoch_duration_nanos >= 1000000000u ||
	    (out->epoch_duration_secs == 0 && out->epoch_duration_nanos == 0))
		return NS_TOPOJSON_ERR_VALUE;
	return 0;
}

int ns_nymapi_parse_keyrot(const char *json, size_t len, struct ns_nymapi_keyrot *out)
{
	memset(out, 0, sizeof *out);
	cJSON *root;
	int rc = parse_root(json, len, &root);
	if (rc == 0)
		rc = parse_keyrot_state(ns_json_member(root, "key_rotation_state"), out);
	if (rc == 0)
		rc = parse_keyrot_rest(root, out);
	cJSON_Delete(root);
	return rc;
}

int64_t ns_nymapi_surb_cutoff(const struct ns_nymapi_keyrot *k, int64_t now)
{
	typedef __int128 wide; /* nanoseconds times epoch counts, exact */
	const wide ns = 1000000000;
	if (!k || !k->validity_epochs || k->current_epoch_start <= 0)
		return 0;
	wide dur = (wide)k->epoch_duration_secs * ns + k->epoch_duration_nanos;
	wide start = (wide)k->current_epoch_start * ns, at = (wide)now * ns;
	if (dur <= 0)
		return 0;
	/* the epoch expected at now: whole epochs since the reference one (none before it) */
	wide epochs = at > start ? (at - start) / dur : 0;
	if (epochs > UINT32_MAX)
		return 0;
	wide epoch = (wide)k->current_absolute_epoch_id + epochs;
	wide rotation = (epoch > k->initial_epoch_id ? epoch - k->initial_epoch_id : 0) /
	                k->validity_epochs;
	wide since_initial = k->current_absolute_epoch_id > k->initial_epoch_id
	                             ? (wide)k->current_absolute_epoch_id - k->initial_epoch_id
	                             : 0;
	wide cutoff = start - since_initial * dur + rotation * k->validity_epochs * dur - dur;
	if (cutoff <= 0 || cutoff / ns > INT64_MAX)
		return 0;
	return (int64_t)(cutoff / ns);
}

/* ---- the client's topology */

static struct ns_topo_node *find_node(struct ns_topo *t, uint32_t id)
{
	for (size_t i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].node_id == id)
			return &t->nodes[i];
	return NULL;
}

/* Later lists override earlier ones for the same node id (Nym collects into a map). */
static void add_nodes(struct ns_topo *t, const struct ns_nymapi_page *p, unsigned min_perf)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		if (p->nodes[i].performance < min_perf)
			continue;
		struct ns_topo_node *slot = find_node(t, p->nodes[i].n.node_id);
		*(slot ? slot : &t->nodes[t->n_nodes++]) = p->nodes[i].n;
	}
}

static void to_topo_node(const struct ns_topo_node *src, struct nym_topo_node *dst)
{
	dst->node_id = src->node_id;
	memcpy(dst->identity, src->identity, 32);
	memcpy(dst->sphinx_key, src->sphinx_key, 32);
	memcpy(dst->address, src->address, sizeof dst->address);
}

static int copy_sets(const struct ns_nymapi_rewarded *rs, struct ns_topo *t)
{
	t->epoch_id = rs->epoch_id;
	for (int s = 0; s < NS_SET_COUNT; s++) {
		t->set[s] = calloc(rs->set_len[s] ? rs->set_len[s] : 1, sizeof *t->set[s]);
		if (!t->set[s])
			return NS_TOPOJSON_ERR_NOMEM;
		if (rs->set_len[s])
			memcpy(t->set[s], rs->set[s], rs->set_len[s] * sizeof *t->set[s]);
		t->set_len[s] = rs->set_len[s];
	}
	return 0;
}

static int build_layers(struct ns_topo *t)
{
	for (int l = 0; l < NYM_MIX_LAYERS; l++) {
		enum ns_topo_set s = (enum ns_topo_set)(NS_SET_LAYER1 + l);
		t->layer_nodes[l] = calloc(t->set_len[s] ? t->set_len[s] : 1, sizeof **t->layer_nodes);
		if (!t->layer_nodes[l])
			return NS_TOPOJSON_ERR_NOMEM;
		size_t k = 0;
		for (size_t i = 0; i < t->set_len[s]; i++) {
			const struct ns_topo_node *n = find_node(t, t->set[s][i]);
			if (n)
				to_topo_node(n, &t->layer_nodes[l][k++]);
		}
		t->topology.layer[l] = t->layer_nodes[l];
		t->topology.layer_len[l] = k;
		if (k == 0)
			return NS_TOPOJSON_ERR_ROUTABLE;
	}
	return 0;
}

static int build_gateways(struct ns_topo *t, const struct ns_nymapi_page *gw, unsigned min_gw)
{
	t->gateway_nodes = calloc(gw->n_nodes ? gw->n_nodes : 1, sizeof *t->gateway_nodes);
	if (!t->gateway_nodes)
		return NS_TOPOJSON_ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < gw->n_nodes; i++) {
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++)
			dup = t->gateway_nodes[j].node_id == gw->nodes[i].n.node_id;
		if (gw->nodes[i].performance >= min_gw && !dup)
			to_topo_node(&gw->nodes[i].n, &t->gateway_nodes[k++]);
	}
	t->topology.gateways = t->gateway_nodes;
	t->topology.n_gateways = k;
	if (k == 0 || (t->set_len[NS_SET_ENTRY] == 0 && t->set_len[NS_SET_EXIT] == 0))
		return NS_TOPOJSON_ERR_ROUTABLE;
	return 0;
}

int ns_nymapi_topology(const struct ns_nymapi_rewarded *rs, const struct ns_nymapi_page *mix,
                       const struct ns_nymapi_page *gw, unsigned min_mix, unsigned min_gw,
                       struct ns_topo *out)
{
	memset(out, 0, sizeof *out);
	size_t cap = mix->n_nodes + gw->n_nodes;
	if (cap > NS_NYMAPI_MAX_NODES)
		return NS_TOPOJSON_ERR_VALUE;
	out->nodes = calloc(cap ? cap : 1, sizeof *out->nodes);
	if (!out->nodes)
		return NS_TOPOJSON_ERR_NOMEM;
	add_nodes(out, mix, min_mix);
	add_nodes(out, gw, min_gw);
	out->key_rotation_id = mix->meta.rotation_id;
	out->absolute_epoch_id = mix->meta.absolute_epoch_id;
	snprintf(out->refreshed_at, sizeof out->refreshed_at, "%s", mix->meta.refreshed_at);
	int rc = copy_sets(rs, out);
	if (rc == 0)
		rc = build_layers(out);
	if (rc == 0)
		rc = build_gateways(out, gw, min_gw);
	out->topology.key_rotation_id = out->key_rotation_id;
	if (rc < 0)
		ns_topo_free(out);
	return rc;
}

int ns_nymapi_url(const char *base, const char *path, const char *query, char *out, size_t cap)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	int w = snprintf(out, cap, "%.*s%s%s%s", (int)n, base, path, query && *query ? "?" : "",
	                 query ? query : "");
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}
