/* nym-client config.toml, directory layout and PEM key files (Nym b4046a89:
 * clients/native/src/client/config/{mod,template}.rs, common/client-core/config-types,
 * common/pemstore, pem 0.8.3, handlebars 3.5.5, humantime 2.2). */
#include "clientconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "safefile.h"
#include "toml.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

/* ------------------------------------------------------------------ */
/* small helpers */

__attribute__((format(printf, 2, 3))) static int set_err(char err[CLIENTCONF_ERR_MAX],
                                                       const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, CLIENTCONF_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

__attribute__((format(printf, 3, 4))) static int fmt_path(char *dst, size_t cap,
                                                        const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* directories */

static int kind_known(enum clientconf_kind k)
{
	return k == CC_KIND_CLIENT || k == CC_KIND_SOCKS5 || k == CC_KIND_NR;
}

const char *clientconf_kind_program(enum clientconf_kind k)
{
	static const char *const program[] = {"nym-client", "nym-socks5-client",
	                                      "nym-network-requester"};

	return kind_known(k) ? program[k] : NULL;
}

/* the folder under <home>/.nym/ */
static const char *kind_folder(enum clientconf_kind k)
{
	static const char *const folder[] = {"clients", "socks5-clients",
	                                     "service-providers/network-requester"};

	return folder[k];
}

int clientconf_dirs_kind(enum clientconf_kind k, const char *home_override, const char *id,
                         struct clientconf_dirs *d)
{
	const char *home = home_override;

	if (!kind_known(k) || !id || !*id || strchr(id, '/') || !strcmp(id, ".") ||
	    !strcmp(id, "..") || !d)
		return -1;
	if (!home || !*home)
		home = getenv("NYM_HOME_DIR");
	if (!home || !*home)
		home = getenv("HOME");
	if (!home || !*home)
		return -1;
	if (fmt_path(d->base, sizeof d->base, "%s/.nym/%s/%s", home, kind_folder(k), id) ||
	    fmt_path(d->config_dir, sizeof d->config_dir, "%s/config", d->base) ||
	    fmt_path(d->config_file, sizeof d->config_file, "%s/config/config.toml", d->base) ||
	    fmt_path(d->data_dir, sizeof d->data_dir, "%s/data", d->base))
		return -1;
	return 0;
}

int clientconf_dirs(const char *home_override, const char *id, struct clientconf_dirs *d)
{
	return clientconf_dirs_kind(CC_KIND_CLIENT, home_override, id, d);
}

void clientconf_socks5_defaults(struct clientconf_socks5 *s)
{
	memset(s, 0, sizeof *s);
	copy_str(s->bind_host, sizeof s->bind_host, "127.0.0.1");
	s->bind_port = CLIENTCONF_SOCKS5_PORT;
	s->connection_start_surbs = CLIENTCONF_START_SURBS;
	s->per_request_surbs = CLIENTCONF_PER_REQUEST_SURBS;
	s->provider_interface_version.version = CLIENTCONF_IFACE_VERSION;
	s->socks5_protocol_version.version = CLIENTCONF_IFACE_VERSION;
	s->http_connect = 1;
	s->max_connections = CLIENTCONF_MAX_CONNECTIONS;
}

void clientconf_nr_defaults(struct clientconf_nr *n)
{
	memset(n, 0, sizeof *n);
	n->disable_poisson_rate = 1;
	copy_str(n->upstream_exit_policy_url, sizeof n->upstream_exit_policy_url,
	         CLIENTCONF_EXIT_POLICY_URL);
	n->standard_list_update_interval_ns = CLIENTCONF_STANDARD_LIST_UPDATE_NS;
	n->max_connections = CLIENTCONF_MAX_CONNECTIONS;
	n->max_connections_per_sender = CLIENTCONF_NR_MAX_PER_SENDER;
	n->buffer_mib = CLIENTCONF_NR_BUFFER_MIB;
}

/* What a config that names no optional key holds, before any table is read. */
static void model_defaults(struct clientconf *c, enum clientconf_kind k)
{
	memset(c, 0, sizeof *c);
	c->kind = k;
	clientconf_debug_defaults(&c->debug);
	c->privsep_uid_base = CLIENTCONF_PRIVSEP_UID_BASE;
	c->receive_batch_ns = CLIENTCONF_RECEIVE_BATCH_NS;
	clientconf_limits_defaults(&c->limits);
	clientconf_socks5_defaults(&c->socks5);
	clientconf_nr_defaults(&c->nr);
}

static int base_paths(struct clientconf *c, const char *dd)
{
	return fmt_path(c->private_identity_key_file, CLIENTCONF_PATH_MAX, "%s/private_identity.pem",
	                dd) ||
	       fmt_path(c->public_identity_key_file, CLIENTCONF_PATH_MAX, "%s/public_identity.pem",
	                dd) ||
	       fmt_path(c->private_encryption_key_file, CLIENTCONF_PATH_MAX,
	                "%s/private_encryption.pem", dd) ||
	       fmt_path(c->public_encryption_key_file, CLIENTCONF_PATH_MAX,
	                "%s/public_encryption.pem", dd) ||
	       fmt_path(c->ack_key_file, CLIENTCONF_PATH_MAX, "%s/ack_key.pem", dd) ||
	       fmt_path(c->credentials_database, CLIENTCONF_PATH_MAX, "%s/credentials_database.db",
	                dd) ||
	       fmt_path(c->reply_surb_database, CLIENTCONF_PATH_MAX,
	                "%s/persistent_reply_store.sqlite", dd) ||
	       fmt_path(c->gateway_registrations, CLIENTCONF_PATH_MAX,
	                "%s/gateways_registrations.sqlite", dd)
	           ? -1
	           : 0;
}

int clientconf_init_defaults_kind(struct clientconf *c, enum clientconf_kind k,
                                  const struct clientconf_dirs *d, const char *id)
{
	const char *dd = d->data_dir;

	if (!kind_known(k))
		return -1;
	model_defaults(c, k);
	if (copy_str(c->version, sizeof c->version,
	             k == CC_KIND_NR ? CLIENTCONF_NR_VERSION : CLIENTCONF_VERSION) ||
	    copy_str(c->id, sizeof c->id, id) || base_paths(c, dd))
		return -1;
	c->disabled_credentials_mode = 1;
	copy_str(c->nyxd_urls[0], CLIENTCONF_URL_MAX, "https://rpc.nymtech.net/");
	c->n_nyxd_urls = 1;
	copy_str(c->nym_api_urls[0], CLIENTCONF_URL_MAX, "https://validator.nymtech.net/api/");
	c->n_nym_api_urls = 1;
	if (k != CC_KIND_CLIENT)
		return 0;
	c->socket_websocket = 1;
	copy_str(c->host, sizeof c->host, "127.0.0.1");
	c->listening_port = 1977;
	c->has_nymsuite = 1;
	if (fmt_path(c->api_socket, CLIENTCONF_PATH_MAX, "%s/" CLIENTCONF_API_SOCKET, dd) ||
	    fmt_path(c->admin_socket, CLIENTCONF_PATH_MAX, "%s/" CLIENTCONF_ADMIN_SOCKET, dd))
		return -1;
	return 0;
}

int clientconf_init_defaults(struct clientconf *c, const struct clientconf_dirs *d, const char *id)
{
	return clientconf_init_defaults_kind(c, CC_KIND_CLIENT, d, id);
}

int clientconf_admin_path(const struct clientconf *c, const struct clientconf_dirs *d, char *out,
                          size_t cap)
{
	if (c->admin_socket[0])
		return copy_str(out, cap, c->admin_socket);
	return fmt_path(out, cap, "%s/" CLIENTCONF_ADMIN_SOCKET, d->data_dir);
}

/* ------------------------------------------------------------------ */
/* humantime */

static void dur_item(char *out, size_t cap, size_t *pos, int *started, uint64_t v,
                     const char *name, int plural)
{
	int n;

	if (!v || *pos >= cap)
		return;
	n = snprintf(out + *pos, cap - *pos, "%s%" PRIu64 "%s%s", *started ? " " : "", v, name,
	             plural && v > 1 ? "s" : "");
	*pos += n > 0 ? (size_t)n : 0;
	*started = 1;
}

int clientconf_format_duration(uint64_t ns, char *out, size_t cap)
{
	uint64_t secs = ns / NS_PER_S, nanos = ns % NS_PER_S;
	uint64_t years = secs / 31557600, ydays = secs % 31557600;
	uint64_t months = ydays / 2630016, mdays = ydays % 2630016;
	uint64_t days = mdays / 86400, day_secs = mdays % 86400;
	size_t pos = 0;
	int started = 0;

	if (!out || cap == 0)
		return -1;
	out[0] = '\0';
	if (ns == 0)
		return snprintf(out, cap, "0s") >= (int)cap ? -1 : 0;
	dur_item(out, cap, &pos, &started, years, "year", 1);
	dur_item(out, cap, &pos, &started, months, "month", 1);
	dur_item(out, cap, &pos, &started, days, "day", 1);
	dur_item(out, cap, &pos, &started, day_secs / 3600, "h", 0);
	dur_item(out, cap, &pos, &started, day_secs % 3600 / 60, "m", 0);
	dur_item(out, cap, &pos, &started, day_secs % 60, "s", 0);
	dur_item(out, cap, &pos, &started, nanos / 1000000, "ms", 0);
	dur_item(out, cap, &pos, &started, nanos / 1000 % 1000, "us", 0);
	dur_item(out, cap, &pos, &started, nanos % 1000, "ns", 0);
	return pos >= cap ? -1 : 0;
}

struct unit {
	const char *name;
	uint64_t ns;
};

/* humantime 2.2 parse_duration units (src/duration.rs parse_unit) */
static int unit_ns(const char *u, size_t n, uint64_t *mul)
{
	static const struct unit units[] = {
		{"nanos", 1}, {"nsec", 1}, {"ns", 1},
		{"usec", 1000}, {"us", 1000},
		{"millis", NS_PER_MS}, {"msec", NS_PER_MS}, {"ms", NS_PER_MS},
		{"seconds", NS_PER_S}, {"second", NS_PER_S}, {"secs", NS_PER_S}, {"sec", NS_PER_S},
		{"s", NS_PER_S},
		{"minutes", 60 * NS_PER_S}, {"minute", 60 * NS_PER_S}, {"mins", 60 * NS_PER_S},
		{"min", 60 * NS_PER_S}, {"m", 60 * NS_PER_S},
		{"hours", 3600 * NS_PER_S}, {"hour", 3600 * NS_PER_S}, {"hrs", 3600 * NS_PER_S},
		{"hr", 3600 * NS_PER_S}, {"h", 3600 * NS_PER_S},
		{"days", 86400 * NS_PER_S}, {"day", 86400 * NS_PER_S}, {"d", 86400 * NS_PER_S},
		{"weeks", 604800 * NS_PER_S}, {"week", 604800 * NS_PER_S}, {"w", 604800 * NS_PER_S},
		{"months", 2630016 * NS_PER_S}, {"month", 2630016 * NS_PER_S},
		{"M", 2630016 * NS_PER_S},
		{"years", 31557600 * NS_PER_S}, {"year", 31557600 * NS_PER_S},
		{"y", 31557600 * NS_PER_S},
	};

	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
		if (strlen(units[k].name) == n && !memcmp(units[k].name, u, n)) {
			*mul = units[k].ns;
			return 0;
		}
	return -1;
}

int clientconf_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t total = 0;
	int items = 0;

	if (!s || !ns)
		return -1;
	for (;;) {
		uint64_t v = 0, mul;
		const char *u;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s++ - '0');
		}
		u = s;
		while (*s && *s != ' ' && *s != '\t' && (*s < '0' || *s > '9'))
			s++;
		if (unit_ns(u, (size_t)(s - u), &mul))
			return -1;
		if (v && mul > UINT64_MAX / v)
			return -1;
		if (total > UINT64_MAX - v * mul)
			return -1;
		total += v * mul;
		items++;
	}
	if (!items)
		return -1;
	*ns = total;
	return 0;
}

/* ------------------------------------------------------------------ */
/* rendering (handlebars 3.5.5: no standalone-line stripping, HTML escaping) */

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t nc = (o->len + n + 1) * 2;
		char *np = realloc(o->p, nc);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = nc;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_html(struct out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': out_str(o, "&lt;"); break;
		case '>': out_str(o, "&gt;"); break;
		case '"': out_str(o, "&quot;"); break;
		case '&': out_str(o, "&amp;"); break;
		case '\'': out_str(o, "&#x27;"); break;
		case '`': out_str(o, "&#x60;"); break;
		case '=': out_str(o, "&#x3D;"); break;
		default: out_add(o, s, 1);
		}
	}
}

static void out_urls(struct out *o, const char name[][CLIENTCONF_URL_MAX], size_t n)
{
	out_str(o, " = [\n    ");
	for (size_t k = 0; k < n; k++) {
		out_str(o, "\n        '");
		out_html(o, name[k]);
		out_str(o, "',\n    ");
	}
	out_str(o, "\n]\n");
}

static void out_dur(struct out *o, uint64_t ns)
{
	char d[128];

	clientconf_format_duration(ns, d, sizeof d);
	out_html(o, d);
}

/* A TOML basic string (our own table: no HTML escaping, any path round-trips). */
static void out_basic(struct out *o, const char *s)
{
	char u[8];

	out_str(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			out_str(o, "\\");
			out_add(o, s, 1);
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(u, sizeof u, "\\u%04X", (unsigned char)*s);
			out_str(o, u);
		} else {
			out_add(o, s, 1);
		}
	}
	out_str(o, "\"");
}

static void out_timeout(struct out *o, const char *k, uint64_t ns)
{
	char line[96];
	if (ns % NS_PER_S)
		snprintf(line, sizeof line, "%s = \"%" PRIu64 "ms\"\n", k, (uint64_t)(ns / 1000000));
	else
		snprintf(line, sizeof line, "%s = \"%" PRIu64 "s\"\n", k, (uint64_t)(ns / NS_PER_S));
	out_str(o, line);
}

/* apid's limits (docs/client-api.md §8), only when set to something else than the defaults. */
static void out_limits(struct out *o, const struct clientconf_apid_limits *l)
{
	struct clientconf_apid_limits d;
	char line[96];
	clientconf_limits_defaults(&d);
	if (!memcmp(l, &d, sizeof d))
		return;
	snprintf(line, sizeof line, "\n# apid's limits\nmax_apps = %" PRIu64 "\nbuffer_mib = %" PRIu64 "\n",
	         l->max_apps, l->buffer_mib);
	out_str(o, line);
	out_timeout(o, "handshake_timeout", l->handshake_timeout_ns);
	out_timeout(o, "partial_timeout", l->partial_timeout_ns);
}

static void out_receive_batch(struct out *o, const struct clientconf *c)
{
	char line[96];
	if (c->receive_batch_ns == CLIENTCONF_RECEIVE_BATCH_NS)
		return;
	out_str(o, "\n# How long netd may leave the gateway socket unread after a pushed frame, to\n"
	           "# hand keyd the frames that come meanwhile together (0ms = off).\n");
	if (c->receive_batch_ns % NS_PER_MS)
		snprintf(line, sizeof line, "receive_batch_delay = \"%" PRIu64 "ns\"\n",
		         c->receive_batch_ns);
	else
		snprintf(line, sizeof line, "receive_batch_delay = \"%" PRIu64 "ms\"\n",
		         (uint64_t)(c->receive_batch_ns / NS_PER_MS));
	out_str(o, line);
}

static void out_suite_path(struct out *o, const char *comment, const char *key, const char *val);
static void out_suite_uint(struct out *o, const char *comment, const char *key, uint64_t v,
                           uint64_t dflt);

static void out_keyd_workers(struct out *o, const struct clientconf *c)
{
	out_suite_uint(o, "\n# Cores keyd builds packets on (its main thread and keyd_workers - 1 "
	                  "builder\n# threads); 0 = every online core, 1 = one (no thread).\n",
	               "keyd_workers", c->keyd_workers, CLIENTCONF_KEYD_WORKERS);
}

static void out_nymsuite(struct out *o, const struct clientconf *c)
{
	out_str(o, "##### nymsuite options (this client only; Nym's client ignores this table) "
	           "#####\n\n[nymsuite]\n\n"
	           "# Unix stream socket serving the binary API, each frame preceded by its\n"
	           "# length (u64 big-endian); empty = no Unix-socket API.\napi_socket = ");
	out_basic(o, c->api_socket);
	out_str(o, "\n\n# Unix socket of the admin protocol used by nymctl (empty = "
	           "data/" CLIENTCONF_ADMIN_SOCKET ").\nadmin_socket = ");
	out_basic(o, c->admin_socket);
	out_str(o, "\n");
	if (c->privsep_uid_base != CLIENTCONF_PRIVSEP_UID_BASE) {
		char line[96];
		snprintf(line, sizeof line, "\n# First of the three uids (keyd, netd, apid) run under as "
		         "root.\nprivsep_uid_base = %u\n", (unsigned)c->privsep_uid_base);
		out_str(o, line);
	}
	out_receive_batch(o, c);
	out_keyd_workers(o, c);
	out_suite_path(o, "\n# Log level (off, error, warn, info, debug, trace); $RUST_LOG wins.\n",
	               "log_level", c->log_level);
	out_limits(o, &c->limits);
}

static int proxy_suite_is_default(const struct clientconf *c)
{
	const struct clientconf_socks5 *s = &c->socks5;
	const struct clientconf_nr *n = &c->nr;

	if (c->admin_socket[0] || c->privsep_uid_base != CLIENTCONF_PRIVSEP_UID_BASE ||
	    c->receive_batch_ns != CLIENTCONF_RECEIVE_BATCH_NS || c->log_level[0] ||
	    c->keyd_workers != CLIENTCONF_KEYD_WORKERS)
		return 0;
	if (c->kind == CC_KIND_SOCKS5)
		return !s->unix_socket[0] && s->http_connect &&
		       s->max_connections == CLIENTCONF_MAX_CONNECTIONS;
	return !n->exit_policy_file[0] && n->max_connections == CLIENTCONF_MAX_CONNECTIONS &&
	       n->max_connections_per_sender == CLIENTCONF_NR_MAX_PER_SENDER &&
	       n->buffer_mib == CLIENTCONF_NR_BUFFER_MIB;
}

static void out_suite_path(struct out *o, const char *comment, const char *key, const char *val)
{
	if (!*val)
		return;
	out_str(o, comment);
	out_str(o, key);
	out_str(o, " = ");
	out_basic(o, val);
	out_str(o, "\n");
}

static void out_suite_uint(struct out *o, const char *comment, const char *key, uint64_t v,
                           uint64_t dflt)
{
	char line[64];

	if (v == dflt)
		return;
	snprintf(line, sizeof line, "%s = %" PRIu64 "\n", key, v);
	out_str(o, comment);
	out_str(o, line);
}

static void out_socks5_suite(struct out *o, const struct clientconf_socks5 *s)
{
	out_suite_path(o, "\n# SOCKS4/4a/5 also on this Unix socket (mode 0600); empty = none.\n",
	               "unix_socket", s->unix_socket);
	if (!s->http_connect)
		out_str(o, "\n# HTTP CONNECT proxying on the SOCKS port.\nhttp_connect = false\n");
	out_suite_uint(o, "\n# Local connections held at once; more are refused.\n", "max_connections",
	               s->max_connections, CLIENTCONF_MAX_CONNECTIONS);
}

static void out_nr_suite(struct out *o, const struct clientconf_nr *n)
{
	out_suite_path(o, "\n# Exit policy read from this file (Nym's text format) instead of\n"
	                  "# upstream_exit_policy_url; empty = the URL.\n",
	               "exit_policy_file", n->exit_policy_file);
	out_suite_uint(o, "\n# Outbound connections held at once; more are refused.\n",
	               "max_connections", n->max_connections, CLIENTCONF_MAX_CONNECTIONS);
	out_suite_uint(o, "\n# Outbound connections held at once for one sender (address or sender "
	                  "tag).\n",
	               "max_connections_per_sender", n->max_connections_per_sender,
	               CLIENTCONF_NR_MAX_PER_SENDER);
	out_suite_uint(o, "\n# MiB buffered for all connections together.\n", "buffer_mib",
	               n->buffer_mib, CLIENTCONF_NR_BUFFER_MIB);
}

/* The SOCKS client's and the NR's [nymsuite]: Nym's programs refuse a config holding a table
 * they do not know, so it is written only when asked for or when a key is not the default. */
static void out_proxy_nymsuite(struct out *o, const struct clientconf *c)
{
	if (!c->has_nymsuite && proxy_suite_is_default(c))
		return;
	out_str(o, "##### nymsuite options (this program only; Nym's would refuse this table) "
	           "#####\n\n[nymsuite]\n");
	out_suite_path(o, "\n# Unix socket of the admin protocol used by nymctl (empty = "
	                  "data/" CLIENTCONF_ADMIN_SOCKET ").\n",
	               "admin_socket", c->admin_socket);
	out_suite_uint(o, c->kind == CC_KIND_SOCKS5
	                      ? "\n# First of the three uids (keyd, netd, socksd) run under as root.\n"
	                      : "\n# First of the three uids (keyd, netd, exitd) run under as root.\n",
	               "privsep_uid_base", c->privsep_uid_base, CLIENTCONF_PRIVSEP_UID_BASE);
	out_receive_batch(o, c);
	out_keyd_workers(o, c);
	out_suite_path(o, "\n# Log level (off, error, warn, info, debug, trace); $RUST_LOG wins.\n",
	               "log_level", c->log_level);
	if (c->kind == CC_KIND_SOCKS5)
		out_socks5_suite(o, &c->socks5);
	else
		out_nr_suite(o, &c->nr);
}

static void out_kv_path(struct out *o, const char *comment, const char *key, const char *val)
{
	out_str(o, comment);
	out_str(o, key);
	out_str(o, " = '");
	out_html(o, val);
	out_str(o, "'\n\n");
}

/* [client] (nym-client, NR) or [core.client] (SOCKS client): the template's head. */
static void out_client(struct out *o, const struct clientconf *c, const char *table)
{
	out_str(o, "\n# This is a TOML config file.\n"
	           "# For more information, see https://github.com/toml-lang/toml\n\n"
	           "##### main base client config options #####\n\n[");
	out_str(o, table);
	out_str(o, "]\n# Version of the client for which this configuration was created.\nversion = '");
	out_html(o, c->version);
	out_str(o, "'\n\n# Human readable ID of this particular client.\nid = '");
	out_html(o, c->id);
	out_str(o, "'\n\n# Indicates whether this client is running in a disabled credentials mode, "
	           "thus attempting\n# to claim bandwidth without presenting bandwidth credentials.\n"
	           "disabled_credentials_mode = ");
	out_str(o, c->disabled_credentials_mode ? "true" : "false");
	out_str(o, "\n\n# Addresses to nyxd validators via which the client can communicate with "
	           "the chain.\nnyxd_urls");
	out_urls(o, c->nyxd_urls, c->n_nyxd_urls);
	out_str(o, "\n# Addresses to APIs running on validator from which the client gets the view "
	           "of the network.\nnym_api_urls");
	out_urls(o, c->nym_api_urls, c->n_nym_api_urls);
}

/* [storage_paths] up to gateway_registrations; the NR's template has no blank after the
 * table name, the other two have one. */
static void out_storage(struct out *o, const struct clientconf *c)
{
	out_str(o, c->kind == CC_KIND_NR ? "\n[storage_paths]\n\n" : "\n[storage_paths] \n\n");
	out_kv_path(o, "# Path to file containing private identity key.\n",
	            "keys.private_identity_key_file", c->private_identity_key_file);
	out_kv_path(o, "# Path to file containing public identity key.\n",
	            "keys.public_identity_key_file", c->public_identity_key_file);
	out_kv_path(o, "# Path to file containing private encryption key.\n",
	            "keys.private_encryption_key_file", c->private_encryption_key_file);
	out_kv_path(o, "# Path to file containing public encryption key.\n",
	            "keys.public_encryption_key_file", c->public_encryption_key_file);
	out_kv_path(o, "# Path to file containing key used for encrypting and decrypting the content "
	               "of an\n# acknowledgement so that nobody besides the client knows which packet "
	               "it refers to.\n",
	            "keys.ack_key_file", c->ack_key_file);
	out_kv_path(o, "# Path to the database containing bandwidth credentials\n",
	            "credentials_database", c->credentials_database);
	out_kv_path(o, "# Path to the persistent store for received reply surbs, unused encryption "
	               "keys and used sender tags.\n",
	            "reply_surb_database", c->reply_surb_database);
	out_str(o, "# Path to the file containing information about gateways used by this client,\n"
	           "# i.e. details such as their public keys, owner addresses or the network "
	           "information.\ngateway_registrations = '");
	out_html(o, c->gateway_registrations);
	out_str(o, "'\n");
}

static void out_socket(struct out *o, const struct clientconf *c)
{
	char num[32];

	out_str(o, "\n##### socket config options #####\n\n[socket]\n\n"
	           "# allowed values are 'WebSocket' or 'None'\nsocket_type = '");
	out_str(o, c->socket_websocket ? "WebSocket" : "None");
	out_str(o, "'\n\n# if applicable (for the case of 'WebSocket'), the port on which the client\n"
	           "# will be listening for incoming requests\nlistening_port = ");
	snprintf(num, sizeof num, "%u", c->listening_port);
	out_str(o, num);
	out_str(o, "\n\n# if applicable (for the case of 'WebSocket'), the ip address on which the "
	           "client\n# will be listening for incoming requests\nhost = '");
	out_html(o, c->host);
	out_str(o, "'\n\n");
}

/* Rust's SocketAddr text: IPv6 in brackets. */
static void out_bind_address(struct out *o, const struct clientconf_socks5 *s)
{
	char port[16];
	int v6 = strchr(s->bind_host, ':') != NULL;

	out_str(o, v6 ? "[" : "");
	out_html(o, s->bind_host);
	snprintf(port, sizeof port, "%s:%u", v6 ? "]" : "", s->bind_port);
	out_html(o, port);
}

static void out_socks5(struct out *o, const struct clientconf_socks5 *s)
{
	out_str(o, "\n##### socket config options #####\n\n[core.socks5]\n\n"
	           "# The mix address of the provider to which all requests are going to be sent.\n"
	           "provider_mix_address = '");
	if (s->has_provider) {
		char addr[NYM_RECIPIENT_STR_MAX];
		nym_recipient_to_string(&s->provider_mix_address, addr, sizeof addr);
		out_html(o, addr);
	}
	out_str(o, "'\n\n# The address on which the client will be listening for incoming requests\n"
	           "# (default: 127.0.0.1:1080)\nbind_address = '");
	out_bind_address(o, s);
	out_str(o, "'\n\n# Specifies whether this client is going to use an anonymous sender tag for "
	           "communication with the service provider.\n# While this is going to hide its "
	           "actual address information, it will make the actual communication\n# slower and "
	           "consume nearly double the bandwidth as it will require sending reply SURBs.\n#\n"
	           "# Note that some service providers might not support this.\nsend_anonymously = ");
	out_str(o, s->send_anonymously ? "true" : "false");
	out_str(o, "\n\n");
}

/* The three storage keys the NR's template still names are gone from its struct: handlebars
 * renders a missing value as empty. */
static void out_nr(struct out *o, const struct clientconf_nr *n)
{
	out_str(o, "\n# Location of the file containing our allow.list\nallowed_list_location = ''\n\n"
	           "# Location of the file containing our unknown.list\nunknown_list_location = ''\n\n"
	           "# Path to file containing description of this network-requester.\n"
	           "nr_description = ''\n\n\n[network_requester]\n\n"
	           "# specifies whether this network requester should run in 'open-proxy' mode\n"
	           "# and thus would attempt to resolve **ANY** request it receives.\nopen_proxy = ");
	out_str(o, n->open_proxy ? "true" : "false");
	out_str(o, "\n\n# Disable Poisson sending rate\n# This is equivalent to setting "
	           "debug.traffic.disable_main_poisson_packet_distribution = true,\n"
	           "disable_poisson_rate = ");
	out_str(o, n->disable_poisson_rate ? "true" : "false");
	out_str(o, "\n\n# Specifies the url for an upstream source of the exit policy used by this "
	           "node.\nupstream_exit_policy_url = '");
	out_html(o, n->upstream_exit_policy_url);
	out_str(o, "'\n\n");
}

static void out_table(struct out *o, const char *prefix, const char *name)
{
	out_str(o, "[");
	out_str(o, prefix);
	out_str(o, name);
	out_str(o, "]\n");
}

/* [logging], then the debug tables the template writes ([debug.stats_reporting] and
 * [debug.forget_me] only in the clients' templates, not the NR's). */
static void out_debug(struct out *o, const struct clientconf *c, const char *prefix)
{
	const struct clientconf_debug *g = &c->debug;

	out_str(o, "##### logging configuration options #####\n\n[logging]\n\n# TODO\n\n\n"
	           "##### debug configuration options #####\n"
	           "# The following options should not be modified unless you know EXACTLY what you "
	           "are doing\n# as if set incorrectly, they may impact your anonymity.\n\n");
	if (c->kind == CC_KIND_SOCKS5)
		out_str(o, "# [core.socks5.socks5_debug]\n\n\n");
	out_table(o, prefix, "debug");
	out_str(o, "\n");
	out_table(o, prefix, "debug.acknowledgements");
	out_str(o, "average_ack_delay = '");
	out_dur(o, g->average_ack_delay_ns);
	out_str(o, "'\n\n");
	out_table(o, prefix, "debug.cover_traffic");
	out_str(o, "loop_cover_traffic_average_delay = '");
	out_dur(o, g->loop_cover_traffic_average_delay_ns);
	out_str(o, "'\n\n");
	if (c->kind == CC_KIND_NR)
		return;
	out_table(o, prefix, "debug.stats_reporting");
	out_str(o, "enabled = ");
	out_str(o, g->stats_enabled ? "true" : "false");
	out_str(o, "\nprovider_address = '");
	if (g->has_stats_provider) {
		char addr[NYM_RECIPIENT_STR_MAX];
		nym_recipient_to_string(&g->stats_provider, addr, sizeof addr);
		out_html(o, addr);
	}
	out_str(o, "'\nreporting_interval = '");
	out_dur(o, g->stats_reporting_interval_ns);
	out_str(o, "'\n\n");
	out_table(o, prefix, "debug.forget_me");
	out_str(o, "client = ");
	out_str(o, g->forget_me_client ? "true" : "false");
	out_str(o, "\nstats = ");
	out_str(o, g->forget_me_stats ? "true" : "false");
	out_str(o, "\n\n");
}

char *clientconf_render(const struct clientconf *c, size_t *len)
{
	struct out o = {0};
	const char *prefix = c->kind == CC_KIND_SOCKS5 ? "core." : "";

	out_client(&o, c, c->kind == CC_KIND_SOCKS5 ? "core.client" : "client");
	out_storage(&o, c);
	if (c->kind == CC_KIND_SOCKS5)
		out_socks5(&o, &c->socks5);
	else if (c->kind == CC_KIND_NR)
		out_nr(&o, &c->nr);
	else
		out_socket(&o, c);
	out_debug(&o, c, prefix);
	if (c->kind == CC_KIND_CLIENT && c->has_nymsuite)
		out_nymsuite(&o, c);
	else if (c->kind != CC_KIND_CLIENT)
		out_proxy_nymsuite(&o, c);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.p;
}

/* ------------------------------------------------------------------ */
/* key/table scan (toml.h has no iteration; the text is already valid TOML here).
 * Over-long names are truncated on purpose: they can only be unknown keys. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

struct key_ref {
	char table[96];
	char key[64];
	int line;
};

struct scan {
	struct key_ref *k;
	size_t n, cap;
};

static int scan_push(struct scan *s, const char *table, const char *key, int line)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 32;
		struct key_ref *nk = realloc(s->k, nc * sizeof *nk);
		if (!nk)
			return -1;
		s->k = nk;
		s->cap = nc;
	}
	snprintf(s->k[s->n].table, sizeof s->k[s->n].table, "%s", table);
	snprintf(s->k[s->n].key, sizeof s->k[s->n].key, "%s", key);
	s->k[s->n].line = line;
	s->n++;
	return 0;
}

/* Reads a dotted key (bare or quoted parts) into parts joined by '.'; stops at '=' or ']'. */
static const char *read_key(const char *p, const char *end, char *buf, size_t cap)
{
	size_t n = 0;

	while (p < end && *p != '=' && *p != ']' && *p != '\n') {
		char c = *p;
		if (c == ' ' || c == '\t') {
			p++;
			continue;
		}
		if (c == '"' || c == '\'') {
			char q = c;
			p++;
			while (p < end && *p != q) {
				if (q == '"' && *p == '\\' && p + 1 < end)
					p++;
				if (n + 1 < cap)
					buf[n++] = *p;
				p++;
			}
			if (p < end)
				p++;
			continue;
		}
		if (n + 1 < cap)
			buf[n++] = c;
		p++;
	}
	buf[n] = '\0';
	return p;
}

static void split_last(const char *dotted, const char *table, char *tab, size_t tcap, char *key,
                       size_t kcap)
{
	const char *dot = strrchr(dotted, '.');

	if (!dot) {
		snprintf(tab, tcap, "%s", table);
		snprintf(key, kcap, "%s", dotted);
		return;
	}
	if (*table)
		snprintf(tab, tcap, "%s.%.*s", table, (int)(dot - dotted), dotted);
	else
		snprintf(tab, tcap, "%.*s", (int)(dot - dotted), dotted);
	snprintf(key, kcap, "%s", dot + 1);
}

/* p at an opening quote; returns the position after the closing quote (or the end of the
 * line / text for an unterminated string). */
static const char *skip_quoted(const char *p, const char *end)
{
	char q = *p++;

	while (p < end && *p != q && *p != '\n') {
		if (q == '"' && *p == '\\' && p + 1 < end && p[1] != '\n')
			p++;
		p++;
	}
	return p < end && *p == q ? p + 1 : p;
}

/* Skips a value (strings, arrays across lines, inline tables recorded as table.key). */
static const char *skip_value(const char *p, const char *end, struct scan *s, const char *table,
                              int *line, int *oom)
{
	int depth = 0;

	while (p < end) {
		char c = *p;
		if (c == '"' || c == '\'') {
			p = skip_quoted(p, end);
			continue;
		}
		if (c == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (c == '[')
			depth++;
		else if (c == ']')
			depth--;
		else if (c == '{') {
			char k[128];
			p++;
			for (;;) {
				while (p < end && (*p == ' ' || *p == ','))
					p++;
				if (p >= end || *p == '}' || *p == '\n')
					break;
				p = read_key(p, end, k, sizeof k);
				if (p < end && *p == '=')
					p++;
				if (scan_push(s, table, k, *line))
					*oom = 1;
				while (p < end && *p != ',' && *p != '}' && *p != '\n') {
					if (*p == '"' || *p == '\'')
						p = skip_quoted(p, end);
					else
						p++;
				}
			}
		} else if (c == '\n') {
			(*line)++;
			if (depth <= 0)
				return p + 1;
		}
		p++;
	}
	return p;
}

static int scan_keys(const char *text, size_t len, struct scan *s)
{
	const char *p = text, *end = text + len;
	char table[96] = "";
	int line = 1, oom = 0;

	while (p < end && !oom) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p >= end)
			break;
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '[') {
			char buf[96];
			p = read_key(p + 1, end, buf, sizeof buf);
			snprintf(table, sizeof table, "%s", buf);
			if (scan_push(s, table, "", line))
				return -1;
			while (p < end && *p != '\n')
				p++;
		} else {
			char dotted[160], tab[96], key[64], vt[128];
			p = read_key(p, end, dotted, sizeof dotted);
			if (p < end && *p == '=')
				p++;
			split_last(dotted, table, tab, sizeof tab, key, sizeof key);
			if (scan_push(s, tab, key, line))
				return -1;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (*tab)
				snprintf(vt, sizeof vt, "%s.%s", tab, key);
			else
				snprintf(vt, sizeof vt, "%s", key);
			p = skip_value(p, end, s, vt, &line, &oom);
		}
	}
	return oom ? -1 : 0;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Allowed keys per table; "*" = any key (serde structs without deny_unknown_fields). */
#define KM_CLIENT (1u << CC_KIND_CLIENT)
#define KM_SOCKS5 (1u << CC_KIND_SOCKS5)
#define KM_NR (1u << CC_KIND_NR)
#define KM_ALL (KM_CLIENT | KM_SOCKS5 | KM_NR)
#define KM_BASE 0x100u /* a base-client table: under [core.] in the SOCKS client's config */

struct allowed_keys {
	unsigned kinds;
	const char *table, *keys;
};

static const struct allowed_keys ALLOWED[] = {
	{KM_ALL | KM_BASE, "client", "version id disabled_credentials_mode nyxd_urls validator_urls "
	                             "nym_api_urls validator_api_urls"},
	{KM_CLIENT | KM_SOCKS5, "storage_paths",
	 "keys gateway_registrations credentials_database reply_surb_database"},
	/* the NR's template still writes three keys its struct lost; Nym's loader drops them */
	{KM_NR, "storage_paths", "keys gateway_registrations credentials_database reply_surb_database "
	                         "allowed_list_location unknown_list_location nr_description"},
	{KM_ALL, "storage_paths.keys", "private_identity_key_file public_identity_key_file "
	                               "private_encryption_key_file public_encryption_key_file "
	                               "ack_key_file"},
	{KM_CLIENT, "socket", "socket_type host listening_port"},
	{KM_ALL, "logging", "*"},
	{KM_ALL | KM_BASE, "debug", "traffic cover_traffic gateway_connection acknowledgements topology "
	                            "reply_surbs stats_reporting forget_me remember_me"},
	{KM_ALL | KM_BASE, "debug.traffic",
	 "average_packet_delay message_sending_average_delay disable_main_poisson_packet_distribution "
	 "deterministic_route_selection maximum_number_of_retransmissions primary_packet_size "
	 "secondary_packet_size use_legacy_sphinx_format packet_type disable_mix_hops"},
	{KM_ALL | KM_BASE, "debug.traffic.average_packet_delay", "secs nanos"},
	{KM_ALL | KM_BASE, "debug.traffic.message_sending_average_delay", "secs nanos"},
	{KM_ALL | KM_BASE, "debug.cover_traffic", "loop_cover_traffic_average_delay "
	                                          "cover_traffic_primary_size_ratio "
	                                          "disable_loop_cover_traffic_stream"},
	{KM_ALL | KM_BASE, "debug.gateway_connection", "gateway_response_timeout"},
	{KM_ALL | KM_BASE, "debug.acknowledgements",
	 "average_ack_delay ack_wait_multiplier ack_wait_addition"},
	{KM_ALL | KM_BASE, "debug.topology", "*"},
	{KM_ALL | KM_BASE, "debug.reply_surbs",
	 "minimum_reply_surb_storage_threshold maximum_reply_surb_storage_threshold "
	 "minimum_reply_surb_threshold_buffer minimum_reply_surb_request_size "
	 "maximum_reply_surb_request_size maximum_allowed_reply_surb_request_size "
	 "maximum_reply_surb_rerequest_waiting_period maximum_reply_surb_drop_waiting_period "
	 "maximum_reply_surbs_rerequests maximum_reply_key_age surb_mix_hops"},
	{KM_ALL | KM_BASE, "debug.stats_reporting", "enabled provider_address reporting_interval"},
	{KM_ALL | KM_BASE, "debug.forget_me", "client stats"},
	{KM_ALL | KM_BASE, "debug.remember_me", "stats session_type"},
	{KM_SOCKS5, "core", "client debug socks5"},
	{KM_SOCKS5, "core.socks5", "bind_address provider_mix_address provider_interface_version "
	                           "socks5_protocol_version send_anonymously socks5_debug"},
	{KM_SOCKS5, "core.socks5.socks5_debug", "connection_start_surbs per_request_surbs"},
	{KM_SOCKS5, "core.socks5.provider_interface_version", "type version"},
	{KM_SOCKS5, "core.socks5.socks5_protocol_version", "type version"},
	{KM_NR, "network_requester", "open_proxy disable_poisson_rate upstream_exit_policy_url"},
	{KM_NR, "network_requester_debug", "standard_list_update_interval"},
	{KM_CLIENT, "nymsuite", "api_socket admin_socket privsep_uid_base log_level receive_batch_delay "
	                        "keyd_workers max_apps buffer_mib handshake_timeout partial_timeout"},
	{KM_SOCKS5, "nymsuite", "admin_socket privsep_uid_base log_level receive_batch_delay "
	                        "keyd_workers unix_socket http_connect max_connections"},
	{KM_NR, "nymsuite", "admin_socket privsep_uid_base log_level receive_batch_delay "
	                    "keyd_workers exit_policy_file max_connections max_connections_per_sender buffer_mib"},
};

static int row_matches(const struct allowed_keys *a, enum clientconf_kind k, const char *table)
{
	if (!(a->kinds & (1u << k)))
		return 0;
	if ((a->kinds & KM_BASE) && k == CC_KIND_SOCKS5)
		return !strncmp(table, "core.", 5) && !strcmp(table + 5, a->table);
	return !strcmp(table, a->table);
}

/* sub-tables of the topology / logging tables are tolerated like their keys */
static int tolerated_subtable(enum clientconf_kind k, const char *table)
{
	const char *topology = k == CC_KIND_SOCKS5 ? "core.debug.topology." : "debug.topology.";

	return !strncmp(table, topology, strlen(topology)) || !strncmp(table, "logging.", 8);
}

static int word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	if (!strcmp(list, "*"))
		return 1;
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

static int check_key(const struct key_ref *k, enum clientconf_kind kind,
                     char err[CLIENTCONF_ERR_MAX])
{
	const size_t rows = sizeof ALLOWED / sizeof ALLOWED[0];
	size_t a;

	if (!k->table[0])
		return set_err(err, "line %d: unknown top-level key `%s`", k->line, k->key);
	for (a = 0; a < rows; a++)
		if (row_matches(&ALLOWED[a], kind, k->table))
			break;
	if (a == rows)
		return tolerated_subtable(kind, k->table)
		           ? 0
		           : set_err(err, "line %d: unknown table [%s]", k->line, k->table);
	if (k->key[0] && !word_in(ALLOWED[a].keys, k->key))
		return set_err(err, "line %d: unknown field `%s` in [%s]", k->line, k->key, k->table);
	return 0;
}

static int check_keys(const char *text, size_t len, enum clientconf_kind kind,
                      char err[CLIENTCONF_ERR_MAX])
{
	struct scan s = {0};
	int rc = 0;

	if (scan_keys(text, len, &s)) {
		free(s.k);
		return set_err(err, "out of memory");
	}
	for (size_t i = 0; i < s.n && rc == 0; i++)
		rc = check_key(&s.k[i], kind, err);
	free(s.k);
	return rc;
}

/* ------------------------------------------------------------------ */
/* typed getters: missing -> default kept (or required error), wrong type -> error */

struct rd {
	const struct toml_doc *d;
	char *err;
	const char *base; /* "core." in the SOCKS client's config, else "" */
};

#define TABLE_NAME_MAX 128

/* The name of the base client's table t ("client", "debug.*") in this kind's file; other
 * tables are named as given. */
static const char *full_table(const struct rd *r, const char *t, char buf[TABLE_NAME_MAX])
{
	if (!r->base[0] || (strcmp(t, "client") && strcmp(t, "debug") && strncmp(t, "debug.", 6)))
		return t;
	snprintf(buf, TABLE_NAME_MAX, "%s%s", r->base, t);
	return buf;
}

static const struct toml_value *rget(const struct rd *r, const char *t, const char *k)
{
	char buf[TABLE_NAME_MAX];

	return toml_get(r->d, full_table(r, t, buf), k);
}

static int rhas(const struct rd *r, const char *t)
{
	char buf[TABLE_NAME_MAX];

	return toml_has_table(r->d, full_table(r, t, buf));
}

static int want_type(struct rd *r, const char *t, const char *k, enum toml_type ty,
                     const struct toml_value **v, int required)
{
	char buf[TABLE_NAME_MAX];

	t = full_table(r, t, buf);
	*v = toml_get(r->d, t, k);
	if (!*v)
		return required ? set_err(r->err, "missing field `%s.%s`", t, k) : 1;
	if ((*v)->type != ty)
		return set_err(r->err, "`%s.%s` has the wrong type", t, k);
	return 0;
}

static int get_bool(struct rd *r, const char *t, const char *k, int *out)
{
	const struct toml_value *v;
	int rc = want_type(r, t, k, TOML_BOOL, &v, 0);

	if (rc == 0)
		*out = v->u.b;
	return rc < 0 ? -1 : 0;
}

static int get_uint(struct rd *r, const char *t, const char *k, uint64_t max, uint64_t *out)
{
	const struct toml_value *v;
	char buf[TABLE_NAME_MAX];
	int rc = want_type(r, t, k, TOML_INT, &v, 0);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (v->u.i < 0 || (uint64_t)v->u.i > max)
			return set_err(r->err, "`%s.%s` is out of range (0..%" PRIu64 ")",
			               full_table(r, t, buf), k, max);
		*out = (uint64_t)v->u.i;
	}
	return 0;
}

static int get_float(struct rd *r, const char *t, const char *k, double *out)
{
	char buf[TABLE_NAME_MAX];
	const struct toml_value *v;

	t = full_table(r, t, buf);
	v = toml_get(r->d, t, k);

	if (!v)
		return 0;
	if (v->type == TOML_FLOAT)
		*out = v->u.f;
	else if (v->type == TOML_INT)
		*out = (double)v->u.i;
	else
		return set_err(r->err, "`%s.%s` must be a number", t, k);
	return 0;
}

static int get_str(struct rd *r, const char *t, const char *k, int required, char *out,
                   size_t cap)
{
	const struct toml_value *v;
	char buf[TABLE_NAME_MAX];
	int rc = want_type(r, t, k, TOML_STRING, &v, required);

	if (rc < 0)
		return -1;
	if (rc == 0 && copy_str(out, cap, v->u.s))
		return set_err(r->err, "`%s.%s` is too long", full_table(r, t, buf), k);
	return 0;
}

static int get_dur(struct rd *r, const char *t, const char *k, uint64_t *ns)
{
	const struct toml_value *v;
	char buf[TABLE_NAME_MAX];
	int rc = want_type(r, t, k, TOML_STRING, &v, 0);

	if (rc < 0)
		return -1;
	if (rc == 0 && clientconf_parse_duration(v->u.s, ns))
		return set_err(r->err, "`%s.%s`: invalid duration '%s'", full_table(r, t, buf), k,
		               v->u.s);
	return 0;
}

/* Rust Duration's serde form: { secs = N, nanos = N } */
static int get_rust_dur(struct rd *r, const char *k, uint64_t *ns)
{
	char tab[TABLE_NAME_MAX];
	uint64_t secs, nanos;

	snprintf(tab, sizeof tab, "%sdebug.traffic.%s", r->base, k);
	if (rget(r, "debug.traffic", k))
		return set_err(r->err, "`%s` must be a table {secs, nanos}", tab);
	if (!toml_has_table(r->d, tab))
		return 0;
	if (!toml_get(r->d, tab, "secs") || !toml_get(r->d, tab, "nanos"))
		return set_err(r->err, "`%s` needs both `secs` and `nanos`", tab);
	if (get_uint(r, tab, "secs", UINT64_MAX / NS_PER_S - 1, &secs) ||
	    get_uint(r, tab, "nanos", UINT32_MAX, &nanos))
		return -1;
	if (nanos >= NS_PER_S && secs > (UINT64_MAX / NS_PER_S) - 1 - nanos / NS_PER_S)
		return set_err(r->err, "`%s` overflows", tab);
	*ns = secs * NS_PER_S + nanos;
	return 0;
}

static int packet_size_from(const char *s, enum clientconf_packet_size *out)
{
	static const char *const names[] = {"regular", "ack", "extended8", "extended16",
	                                    "extended32", "outfox_regular", "outfox_ack"};

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (!strcmp(s, names[k])) {
			*out = (enum clientconf_packet_size)k;
			return 0;
		}
	return -1;
}

/* scheme://host[...], stored as url::Url gives it back (an empty path as "/").
 * 0, -1 not a URL, -2 too long. */
static int url_normalise(const char *in, char *out, size_t cap)
{
	const char *sep = strstr(in, "://");

	if (!sep || sep == in || !sep[3] || sep[3] == '/')
		return -1;
	return fmt_path(out, cap, "%s%s", in, strchr(sep + 3, '/') ? "" : "/") ? -2 : 0;
}

static int get_urls(struct rd *r, const char *k, const char *alias, char urls[][CLIENTCONF_URL_MAX],
                    size_t *n)
{
	const struct toml_value *v = rget(r, "client", k);
	char buf[TABLE_NAME_MAX];
	const char *t = full_table(r, "client", buf);

	if (!v)
		v = rget(r, "client", alias);
	if (!v)
		return set_err(r->err, "missing field `%s.%s`", t, k);
	if (v->type != TOML_ARRAY)
		return set_err(r->err, "`%s.%s` must be an array of URLs", t, k);
	if (v->u.arr.n > CLIENTCONF_MAX_URLS)
		return set_err(r->err, "`%s.%s` has too many entries", t, k);
	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct toml_value *e = &v->u.arr.items[i];
		int rc;
		if (e->type != TOML_STRING)
			return set_err(r->err, "`%s.%s` must be an array of URLs", t, k);
		rc = url_normalise(e->u.s, urls[i], CLIENTCONF_URL_MAX);
		if (rc == -1)
			return set_err(r->err, "`%s.%s`: invalid URL '%s'", t, k, e->u.s);
		if (rc)
			return set_err(r->err, "`%s.%s`: URL too long", t, k);
	}
	*n = v->u.arr.n;
	return 0;
}

static int read_client(struct rd *r, struct clientconf *c)
{
	char buf[TABLE_NAME_MAX];

	if (!rhas(r, "client"))
		return set_err(r->err, "missing table [%s]", full_table(r, "client", buf));
	if (get_str(r, "client", "version", 1, c->version, sizeof c->version) ||
	    get_str(r, "client", "id", 1, c->id, sizeof c->id) ||
	    get_bool(r, "client", "disabled_credentials_mode", &c->disabled_credentials_mode) ||
	    get_urls(r, "nyxd_urls", "validator_urls", c->nyxd_urls, &c->n_nyxd_urls) ||
	    get_urls(r, "nym_api_urls", "validator_api_urls", c->nym_api_urls, &c->n_nym_api_urls))
		return -1;
	return 0;
}

static int read_paths(struct rd *r, struct clientconf *c)
{
	const char *k = "storage_paths.keys", *s = "storage_paths";

	if (!toml_has_table(r->d, s))
		return set_err(r->err, "missing table [storage_paths]");
	return get_str(r, k, "private_identity_key_file", 1, c->private_identity_key_file,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, k, "public_identity_key_file", 1, c->public_identity_key_file,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, k, "private_encryption_key_file", 1, c->private_encryption_key_file,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, k, "public_encryption_key_file", 1, c->public_encryption_key_file,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, k, "ack_key_file", 1, c->ack_key_file, CLIENTCONF_PATH_MAX) ||
	       get_str(r, s, "gateway_registrations", 1, c->gateway_registrations,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, s, "credentials_database", 1, c->credentials_database,
	               CLIENTCONF_PATH_MAX) ||
	       get_str(r, s, "reply_surb_database", 1, c->reply_surb_database, CLIENTCONF_PATH_MAX)
	           ? -1
	           : 0;
}

static int read_socket(struct rd *r, struct clientconf *c)
{
	char st[16] = "WebSocket";
	uint64_t port = 1977;
	unsigned char ip[16];

	if (!toml_has_table(r->d, "socket"))
		return set_err(r->err, "missing table [socket]");
	copy_str(c->host, sizeof c->host, "127.0.0.1");
	if (get_str(r, "socket", "socket_type", 0, st, sizeof st) ||
	    get_str(r, "socket", "host", 0, c->host, sizeof c->host) ||
	    get_uint(r, "socket", "listening_port", 65535, &port))
		return -1;
	if (!strcmp(st, "WebSocket"))
		c->socket_websocket = 1;
	else if (!strcmp(st, "None"))
		c->socket_websocket = 0;
	else
		return set_err(r->err, "`socket.socket_type` must be 'WebSocket' or 'None', not '%s'", st);
	if (inet_pton(AF_INET, c->host, ip) != 1 && inet_pton(AF_INET6, c->host, ip) != 1)
		return set_err(r->err, "`socket.host` is not an IP address: '%s'", c->host);
	c->listening_port = (uint16_t)port;
	return 0;
}

static int read_traffic(struct rd *r, struct clientconf_debug *g)
{
	char tbuf[TABLE_NAME_MAX];
	const char *t = "debug.traffic";
	char s[32] = "";
	uint64_t v;

	if (get_rust_dur(r, "average_packet_delay", &g->average_packet_delay_ns) ||
	    get_rust_dur(r, "message_sending_average_delay", &g->message_sending_average_delay_ns) ||
	    get_bool(r, t, "disable_main_poisson_packet_distribution",
	             &g->disable_main_poisson_packet_distribution) ||
	    get_bool(r, t, "deterministic_route_selection", &g->deterministic_route_selection) ||
	    get_bool(r, t, "use_legacy_sphinx_format", &g->use_legacy_sphinx_format) ||
	    get_bool(r, t, "disable_mix_hops", &g->disable_mix_hops))
		return -1;
	if (rget(r, t, "maximum_number_of_retransmissions")) {
		if (get_uint(r, t, "maximum_number_of_retransmissions", UINT32_MAX, &v))
			return -1;
		g->has_max_retransmissions = 1;
		g->maximum_number_of_retransmissions = (uint32_t)v;
	}
	if (get_str(r, t, "primary_packet_size", 0, s, sizeof s))
		return -1;
	if (*s && packet_size_from(s, &g->primary_packet_size))
		return set_err(r->err, "`%s.primary_packet_size`: unknown size '%s'",
		               full_table(r, t, tbuf), s);
	s[0] = '\0';
	if (get_str(r, t, "secondary_packet_size", 0, s, sizeof s))
		return -1;
	if (*s) {
		if (packet_size_from(s, &g->secondary_packet_size))
			return set_err(r->err, "`%s.secondary_packet_size`: unknown size '%s'",
			               full_table(r, t, tbuf), s);
		g->has_secondary_packet_size = 1;
	}
	s[0] = '\0';
	if (get_str(r, t, "packet_type", 0, s, sizeof s))
		return -1;
	if (*s) {
		if (!strcmp(s, "mix") || !strcmp(s, "sphinx"))
			g->packet_type_outfox = 0;
		else if (!strcmp(s, "outfox"))
			g->packet_type_outfox = 1;
		else
			return set_err(r->err, "`%s.packet_type`: unknown type '%s'",
			               full_table(r, t, tbuf), s);
	}
	return 0;
}

static int read_topology_acks_cover(struct rd *r, struct clientconf_debug *g)
{
	const char *t = "debug.topology";
	uint64_t v;

	if (get_dur(r, "debug.cover_traffic", "loop_cover_traffic_average_delay",
	            &g->loop_cover_traffic_average_delay_ns) ||
	    get_float(r, "debug.cover_traffic", "cover_traffic_primary_size_ratio",
	              &g->cover_traffic_primary_size_ratio) ||
	    get_bool(r, "debug.cover_traffic", "disable_loop_cover_traffic_stream",
	             &g->disable_loop_cover_traffic_stream) ||
	    get_dur(r, "debug.gateway_connection", "gateway_response_timeout",
	            &g->gateway_response_timeout_ns) ||
	    get_dur(r, "debug.acknowledgements", "average_ack_delay", &g->average_ack_delay_ns) ||
	    get_float(r, "debug.acknowledgements", "ack_wait_multiplier", &g->ack_wait_multiplier) ||
	    get_dur(r, "debug.acknowledgements", "ack_wait_addition", &g->ack_wait_addition_ns) ||
	    get_dur(r, t, "topology_refresh_rate", &g->topology_refresh_rate_ns) ||
	    get_dur(r, t, "topology_resolution_timeout", &g->topology_resolution_timeout_ns) ||
	    get_bool(r, t, "disable_refreshing", &g->disable_refreshing) ||
	    get_dur(r, t, "max_startup_gateway_waiting_period",
	            &g->max_startup_gateway_waiting_period_ns) ||
	    get_bool(r, t, "use_extended_topology", &g->use_extended_topology) ||
	    get_bool(r, t, "ignore_egress_epoch_role", &g->ignore_egress_epoch_role) ||
	    get_bool(r, t, "ignore_ingress_epoch_role", &g->ignore_ingress_epoch_role))
		return -1;
	v = g->minimum_mixnode_performance;
	if (get_uint(r, t, "minimum_mixnode_performance", 255, &v))
		return -1;
	g->minimum_mixnode_performance = (uint8_t)v;
	v = g->minimum_gateway_performance;
	if (get_uint(r, t, "minimum_gateway_performance", 255, &v))
		return -1;
	g->minimum_gateway_performance = (uint8_t)v;
	return 0;
}

static int read_reply_surbs(struct rd *r, struct clientconf_debug *g)
{
	const char *t = "debug.reply_surbs";
	uint64_t a = g->minimum_reply_surb_request_size, b = g->maximum_reply_surb_request_size;
	uint64_t c = g->maximum_allowed_reply_surb_request_size, h;

	if (get_uint(r, t, "minimum_reply_surb_storage_threshold", UINT64_MAX,
	             &g->minimum_reply_surb_storage_threshold) ||
	    get_uint(r, t, "maximum_reply_surb_storage_threshold", UINT64_MAX,
	             &g->maximum_reply_surb_storage_threshold) ||
	    get_uint(r, t, "minimum_reply_surb_threshold_buffer", UINT64_MAX,
	             &g->minimum_reply_surb_threshold_buffer) ||
	    get_uint(r, t, "minimum_reply_surb_request_size", UINT32_MAX, &a) ||
	    get_uint(r, t, "maximum_reply_surb_request_size", UINT32_MAX, &b) ||
	    get_uint(r, t, "maximum_allowed_reply_surb_request_size", UINT32_MAX, &c) ||
	    get_dur(r, t, "maximum_reply_surb_rerequest_waiting_period",
	            &g->maximum_reply_surb_rerequest_waiting_period_ns) ||
	    get_dur(r, t, "maximum_reply_surb_drop_waiting_period",
	            &g->maximum_reply_surb_drop_waiting_period_ns) ||
	    get_uint(r, t, "maximum_reply_surbs_rerequests", UINT64_MAX,
	             &g->maximum_reply_surbs_rerequests) ||
	    get_dur(r, t, "maximum_reply_key_age", &g->maximum_reply_key_age_ns))
		return -1;
	g->minimum_reply_surb_request_size = (uint32_t)a;
	g->maximum_reply_surb_request_size = (uint32_t)b;
	g->maximum_allowed_reply_surb_request_size = (uint32_t)c;
	if (rget(r, t, "surb_mix_hops")) {
		if (get_uint(r, t, "surb_mix_hops", 255, &h))
			return -1;
		g->has_surb_mix_hops = 1;
		g->surb_mix_hops = (uint8_t)h;
	}
	return 0;
}

static int read_stats_forget(struct rd *r, struct clientconf_debug *g)
{
	char tbuf[TABLE_NAME_MAX];
	const char *t = "debug.stats_reporting";
	char addr[NYM_RECIPIENT_STR_MAX + 8] = "";

	if (get_bool(r, t, "enabled", &g->stats_enabled) ||
	    get_str(r, t, "provider_address", 0, addr, sizeof addr) ||
	    get_dur(r, t, "reporting_interval", &g->stats_reporting_interval_ns))
		return -1;
	if (*addr) {
		if (nym_recipient_from_string(addr, &g->stats_provider))
			return set_err(r->err, "`%s.provider_address` is not a valid recipient",
			               full_table(r, t, tbuf));
		g->has_stats_provider = 1;
	}
	if (rhas(r, "debug.forget_me") &&
	    (!rget(r, "debug.forget_me", "client") || !rget(r, "debug.forget_me", "stats")))
		return set_err(r->err, "[%sdebug.forget_me] needs both `client` and `stats`", r->base);
	if (get_bool(r, "debug.forget_me", "client", &g->forget_me_client) ||
	    get_bool(r, "debug.forget_me", "stats", &g->forget_me_stats) ||
	    get_bool(r, "debug.remember_me", "stats", &g->remember_me_stats) ||
	    get_str(r, "debug.remember_me", "session_type", 0, g->remember_me_session_type,
	            sizeof g->remember_me_session_type))
		return -1;
	return 0;
}

void clientconf_limits_defaults(struct clientconf_apid_limits *l)
{
	l->max_apps = CLIENTCONF_MAX_APPS;
	l->buffer_mib = CLIENTCONF_BUFFER_MIB;
	l->handshake_timeout_ns = CLIENTCONF_HANDSHAKE_TIMEOUT_NS;
	l->partial_timeout_ns = CLIENTCONF_PARTIAL_TIMEOUT_NS;
}

/* A timeout of [nymsuite]: 100 ms .. 1 day. */
static int get_timeout(struct rd *r, const char *k, uint64_t *ns)
{
	uint64_t v = *ns;
	if (get_dur(r, "nymsuite", k, &v))
		return -1;
	if (v < NS_PER_S / 10 || v > 86400 * NS_PER_S)
		return set_err(r->err, "`nymsuite.%s` is out of range (100ms..1day)", k);
	*ns = v;
	return 0;
}

static int read_limits(struct rd *r, struct clientconf_apid_limits *l)
{
	if (get_uint(r, "nymsuite", "max_apps", 1000000, &l->max_apps) ||
	    get_uint(r, "nymsuite", "buffer_mib", 65536, &l->buffer_mib) ||
	    get_timeout(r, "handshake_timeout", &l->handshake_timeout_ns) ||
	    get_timeout(r, "partial_timeout", &l->partial_timeout_ns))
		return -1;
	if (l->max_apps == 0 || l->buffer_mib == 0)
		return set_err(r->err, "`nymsuite.max_apps` and `nymsuite.buffer_mib` must be > 0");
	return 0;
}

/* {type = "Legacy"} or {type = "Versioned", version = N} (serde's adjacently tagged enum; a
 * unit variant takes no content). Absent: Versioned(3), the serde default. */
static int read_version(struct rd *r, const char *k, struct clientconf_version *v)
{
	char tab[TABLE_NAME_MAX], type[16] = "";
	uint64_t n = 0;

	snprintf(tab, sizeof tab, "core.socks5.%s", k);
	if (toml_get(r->d, "core.socks5", k))
		return set_err(r->err, "`%s` must be {type = \"Legacy\"} or {type = \"Versioned\", "
		               "version = N}", tab);
	if (!toml_has_table(r->d, tab))
		return 0;
	if (get_str(r, tab, "type", 1, type, sizeof type))
		return -1;
	if (!strcmp(type, "Legacy")) {
		if (toml_get(r->d, tab, "version"))
			return set_err(r->err, "`%s`: Legacy takes no version", tab);
		v->legacy = 1;
		v->version = 0;
		return 0;
	}
	if (strcmp(type, "Versioned"))
		return set_err(r->err, "`%s.type`: unknown variant '%s', expected `Legacy` or "
		               "`Versioned`", tab, type);
	if (!toml_get(r->d, tab, "version"))
		return set_err(r->err, "missing field `%s.version`", tab);
	if (get_uint(r, tab, "version", 255, &n))
		return -1;
	v->legacy = 0;
	v->version = (uint8_t)n;
	return 0;
}

/* Rust's SocketAddr text: a.b.c.d:port or [v6]:port; the host kept as written. */
static int parse_bind_address(const char *text, char *host, size_t cap, uint16_t *port)
{
	struct nym_node_address a;
	const char *start = text, *end;

	if (nym_node_address_parse(text, &a))
		return -1;
	if (*text == '[') {
		start = text + 1;
		end = strchr(start, ']');
	} else {
		end = strrchr(text, ':');
	}
	if (!end || (size_t)(end - start) >= cap)
		return -1;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port = a.port;
	return 0;
}

static int read_socks5(struct rd *r, struct clientconf_socks5 *s)
{
	const char *t = "core.socks5", *dbg = "core.socks5.socks5_debug";
	char addr[NYM_RECIPIENT_STR_MAX + 8], bind[NYM_NODE_ADDR_STR_MAX + 8];
	uint64_t start = s->connection_start_surbs, per = s->per_request_surbs;

	if (!toml_has_table(r->d, t))
		return set_err(r->err, "missing table [%s]", t);
	if (get_str(r, t, "provider_mix_address", 1, addr, sizeof addr) ||
	    get_str(r, t, "bind_address", 1, bind, sizeof bind) ||
	    get_bool(r, t, "send_anonymously", &s->send_anonymously) ||
	    get_uint(r, dbg, "connection_start_surbs", UINT32_MAX, &start) ||
	    get_uint(r, dbg, "per_request_surbs", UINT32_MAX, &per) ||
	    read_version(r, "provider_interface_version", &s->provider_interface_version) ||
	    read_version(r, "socks5_protocol_version", &s->socks5_protocol_version))
		return -1;
	if (nym_recipient_from_string(addr, &s->provider_mix_address))
		return set_err(r->err, "`%s.provider_mix_address` is not a valid recipient", t);
	s->has_provider = 1;
	if (parse_bind_address(bind, s->bind_host, sizeof s->bind_host, &s->bind_port))
		return set_err(r->err, "`%s.bind_address` is not an IP socket address: '%s'", t, bind);
	s->connection_start_surbs = (uint32_t)start;
	s->per_request_surbs = (uint32_t)per;
	return 0;
}

/* An empty upstream_exit_policy_url means none (de_maybe_stringified). */
static int read_nr(struct rd *r, struct clientconf_nr *n)
{
	const char *t = "network_requester";
	char url[CLIENTCONF_URL_MAX];

	if (get_bool(r, t, "open_proxy", &n->open_proxy) ||
	    get_bool(r, t, "disable_poisson_rate", &n->disable_poisson_rate) ||
	    get_dur(r, "network_requester_debug", "standard_list_update_interval",
	            &n->standard_list_update_interval_ns))
		return -1;
	if (!toml_get(r->d, t, "upstream_exit_policy_url"))
		return 0;
	if (get_str(r, t, "upstream_exit_policy_url", 1, url, sizeof url))
		return -1;
	if (!*url) {
		n->upstream_exit_policy_url[0] = '\0';
		return 0;
	}
	if (url_normalise(url, n->upstream_exit_policy_url, sizeof n->upstream_exit_policy_url))
		return set_err(r->err, "`%s.upstream_exit_policy_url`: invalid URL '%s'", t, url);
	return 0;
}

/* A count of [nymsuite]: 1..max. */
static int get_count(struct rd *r, const char *k, uint64_t max, uint64_t *out)
{
	if (get_uint(r, "nymsuite", k, max, out))
		return -1;
	if (*out == 0)
		return set_err(r->err, "`nymsuite.%s` must be > 0", k);
	return 0;
}

static int read_socks5_suite(struct rd *r, struct clientconf_socks5 *s)
{
	return get_str(r, "nymsuite", "unix_socket", 0, s->unix_socket, sizeof s->unix_socket) ||
	               get_bool(r, "nymsuite", "http_connect", &s->http_connect) ||
	               get_count(r, "max_connections", 1000000, &s->max_connections)
	           ? -1
	           : 0;
}

static int read_nr_suite(struct rd *r, struct clientconf_nr *n)
{
	return get_str(r, "nymsuite", "exit_policy_file", 0, n->exit_policy_file,
	               sizeof n->exit_policy_file) ||
	               get_count(r, "max_connections", 1000000, &n->max_connections) ||
	               get_count(r, "max_connections_per_sender", 1000000,
	                         &n->max_connections_per_sender) ||
	               get_count(r, "buffer_mib", 65536, &n->buffer_mib)
	           ? -1
	           : 0;
}

/* What comes between [storage_paths] and [logging]: [socket], [core.socks5] or the NR's
 * tables. */
static int read_kind_tables(struct rd *r, struct clientconf *c)
{
	if (c->kind == CC_KIND_SOCKS5)
		return read_socks5(r, &c->socks5);
	if (c->kind == CC_KIND_NR)
		return read_nr(r, &c->nr);
	return read_socket(r, c);
}

static int read_kind_suite(struct rd *r, struct clientconf *c)
{
	if (c->kind == CC_KIND_SOCKS5)
		return read_socks5_suite(r, &c->socks5);
	if (c->kind == CC_KIND_NR)
		return read_nr_suite(r, &c->nr);
	return 0;
}

static int read_nymsuite(struct rd *r, struct clientconf *c)
{
	clientconf_limits_defaults(&c->limits);
	if (!toml_has_table(r->d, "nymsuite"))
		return 0;
	c->has_nymsuite = 1;
	uint64_t base = c->privsep_uid_base;
	int rc = get_str(r, "nymsuite", "api_socket", 0, c->api_socket, sizeof c->api_socket) ||
	         get_str(r, "nymsuite", "admin_socket", 0, c->admin_socket, sizeof c->admin_socket) ||
	         get_uint(r, "nymsuite", "privsep_uid_base", CLIENTCONF_PRIVSEP_UID_MAX, &base) ||
	         get_str(r, "nymsuite", "log_level", 0, c->log_level, sizeof c->log_level) ||
	         get_dur(r, "nymsuite", "receive_batch_delay", &c->receive_batch_ns) ||
	         get_uint(r, "nymsuite", "keyd_workers", CLIENTCONF_KEYD_WORKERS_MAX, &c->keyd_workers) ||
	         read_limits(r, &c->limits) || read_kind_suite(r, c);
	if (!rc && c->receive_batch_ns > CLIENTCONF_RECEIVE_BATCH_MAX_NS)
		rc = set_err(r->err, "`nymsuite.receive_batch_delay` is out of range (0..100ms)");
	if (!rc && c->log_level[0] && ns_log_level_parse(c->log_level, strlen(c->log_level)) < 0)
		rc = set_err(r->err, "`nymsuite.log_level` must be one of off, error, warn, info, "
		             "debug, trace");
	if (!rc && base < 1000)
		rc = set_err(r->err, "`nymsuite.privsep_uid_base` must be at least 1000 (a system uid "
		             "range)");
	c->privsep_uid_base = (uint32_t)base;
	return rc;
}

int clientconf_parse_kind(enum clientconf_kind k, const char *text, size_t len,
                          struct clientconf *c, char err[CLIENTCONF_ERR_MAX])
{
	struct toml_error te = {0};
	struct toml_doc *d;
	struct rd r;
	int rc;

	if (!text || !c || !kind_known(k))
		return set_err(err, "invalid argument");
	d = toml_parse(text, len, &te);
	if (!d)
		return set_err(err, "config.toml line %d: %s", te.line, te.msg);
	if (check_keys(text, len, k, err)) {
		toml_free(d);
		return -1;
	}
	model_defaults(c, k);
	r.d = d;
	r.err = err;
	r.base = k == CC_KIND_SOCKS5 ? "core." : "";
	rc = read_client(&r, c) || read_paths(&r, c) || read_kind_tables(&r, c) ||
	     (!toml_has_table(d, "logging") ? set_err(err, "missing table [logging]") : 0) ||
	     read_traffic(&r, &c->debug) || read_topology_acks_cover(&r, &c->debug) ||
	     read_reply_surbs(&r, &c->debug) || read_stats_forget(&r, &c->debug) ||
	     read_nymsuite(&r, c);
	toml_free(d);
	return rc ? -1 : 0;
}

int clientconf_parse(const char *text, size_t len, struct clientconf *c,
                     char err[CLIENTCONF_ERR_MAX])
{
	return clientconf_parse_kind(CC_KIND_CLIENT, text, len, c, err);
}

/* ------------------------------------------------------------------ */
/* files */

static int mkdirs(const char *path)
{
	char tmp[CLIENTCONF_PATH_MAX];

	if (copy_str(tmp, sizeof tmp, path))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

int clientconf_is_initialised(const struct clientconf_dirs *d)
{
	struct stat st;

	return d && stat(d->config_file, &st) == 0;
}

int clientconf_make_dirs(const struct clientconf_dirs *d)
{
	char tmp[CLIENTCONF_PATH_MAX + 2];

	if (!d)
		return -1;
	if (fmt_path(tmp, sizeof tmp, "%s/", d->data_dir) || mkdirs(tmp) ||
	    fmt_path(tmp, sizeof tmp, "%s/", d->config_dir) || mkdirs(tmp))
		return -1;
	return 0;
}

int clientconf_write_file(const char *path, const char *data, size_t len)
{
	if (!path || mkdirs(path))
		return -1;
	/* a new file beside it (O_EXCL, O_NOFOLLOW), fsync'd, renamed over: never through a
	 * symlink, never half-written */
	return ns_sf_write_replace(path, data, len, 0600, NULL, 0);
}

/* Regular files only (a FIFO or a symlink is refused); private ones checked as OpenSSH
 * checks its keys. */
static char *read_all(const char *path, size_t max, size_t *len, unsigned flags, char *err,
                      size_t errcap)
{
	return ns_sf_read_all(path, max, len, flags, err, errcap);
}

int clientconf_save(const char *path, const struct clientconf *c)
{
	size_t n;
	char *t = clientconf_render(c, &n);
	int rc;

	if (!t)
		return -1;
	rc = clientconf_write_file(path, t, n);
	free(t);
	return rc;
}

int clientconf_load_kind(enum clientconf_kind k, const char *path, struct clientconf *c,
                         char err[CLIENTCONF_ERR_MAX])
{
	size_t n;
	char why[NS_SF_ERR_MAX];
	char *t = read_all(path, TOML_MAX_INPUT, &n, 0, why, sizeof why);
	int rc;

	if (!t)
		return set_err(err, "%s", why);
	rc = clientconf_parse_kind(k, t, n, c, err);
	free(t);
	return rc;
}

int clientconf_load(const char *path, struct clientconf *c, char err[CLIENTCONF_ERR_MAX])
{
	return clientconf_load_kind(CC_KIND_CLIENT, path, c, err);
}

/* ------------------------------------------------------------------ */
/* PEM */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *clientconf_pem_label(enum clientconf_key k)
{
	switch (k) {
	case CC_KEY_PRIVATE_IDENTITY: return "ED25519 PRIVATE KEY";
	case CC_KEY_PUBLIC_IDENTITY: return "ED25519 PUBLIC KEY";
	case CC_KEY_PRIVATE_ENCRYPTION: return "X25519 PRIVATE KEY";
	case CC_KEY_PUBLIC_ENCRYPTION: return "X25519 PUBLIC KEY";
	case CC_KEY_ACK: return "AES-128-CTR ACKNOWLEDGEMENTS KEY";
	}
	return NULL;
}

int clientconf_key_is_private(enum clientconf_key k)
{
	return k == CC_KEY_PRIVATE_IDENTITY || k == CC_KEY_PRIVATE_ENCRYPTION || k == CC_KEY_ACK;
}

size_t clientconf_key_len(enum clientconf_key k)
{
	return k == CC_KEY_ACK ? 16 : 32;
}

const char *clientconf_key_path(const struct clientconf *c, enum clientconf_key k)
{
	switch (k) {
	case CC_KEY_PRIVATE_IDENTITY: return c->private_identity_key_file;
	case CC_KEY_PUBLIC_IDENTITY: return c->public_identity_key_file;
	case CC_KEY_PRIVATE_ENCRYPTION: return c->private_encryption_key_file;
	case CC_KEY_PUBLIC_ENCRYPTION: return c->public_encryption_key_file;
	case CC_KEY_ACK: return c->ack_key_file;
	}
	return NULL;
}

char *clientconf_pem_encode(const char *label, const uint8_t *data, size_t len, size_t *out_len)
{
	size_t b64len = (len + 2) / 3 * 4, cap, n = 0, col = 0;
	char *o, *b;

	if (!label || (len && !data) || len > (SIZE_MAX / 2) - 256 - strlen(label) * 2)
		return NULL;
	cap = b64len + b64len / 64 * 2 + 2 * strlen(label) + 64;
	if (!(o = malloc(cap)) || !(b = malloc(b64len + 1))) {
		free(o);
		return NULL;
	}
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		b[n++] = B64[(v >> 18) & 63];
		b[n++] = B64[(v >> 12) & 63];
		b[n++] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
		b[n++] = i + 2 < len ? B64[v & 63] : '=';
	}
	n = (size_t)snprintf(o, cap, "-----BEGIN %s-----\r\n", label);
	for (size_t i = 0; i < b64len; i++) {
		o[n++] = b[i];
		if (++col == 64 || i + 1 == b64len) {
			o[n++] = '\r';
			o[n++] = '\n';
			col = 0;
		}
	}
	n += (size_t)snprintf(o + n, cap - n, "-----END %s-----\r\n", label);
	ns_memzero(b, b64len + 1);
	free(b);
	if (out_len)
		*out_len = n;
	return o;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(B64, c) : NULL;

	return p ? (int)(p - B64) : -1;
}

static const char *find(const char *s, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	for (; s + n <= end; s++)
		if (!memcmp(s, lit, n))
			return s;
	return NULL;
}

long clientconf_pem_decode(const char *text, size_t len, const char *want_label, uint8_t *out,
                           size_t cap, char err[CLIENTCONF_ERR_MAX])
{
	const char *end = text + len, *b, *lab, *lab_end, *data, *e, *elab;
	size_t lablen, n = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (!text || !want_label || !out)
		return set_err(err, "invalid argument");
	if (!(b = find(text, end, "-----BEGIN ")))
		return set_err(err, "malformed pem: no BEGIN line");
	lab = b + 11;
	if (!(lab_end = find(lab, end, "-----")) || memchr(lab, '\n', (size_t)(lab_end - lab)))
		return set_err(err, "malformed pem: bad BEGIN line");
	lablen = (size_t)(lab_end - lab);
	data = lab_end + 5;
	if (!(e = find(data, end, "-----END ")))
		return set_err(err, "malformed pem: no END line");
	elab = e + 9;
	if ((size_t)(end - elab) < lablen + 5 || memcmp(elab, lab, lablen) ||
	    memcmp(elab + lablen, "-----", 5))
		return set_err(err, "malformed pem: mismatched BEGIN/END tags");
	if (strlen(want_label) != lablen || memcmp(want_label, lab, lablen))
		return set_err(err, "unexpected key pem tag. Got '%.*s', expected: '%s'",
		               (int)(lablen > 64 ? 64 : lablen), lab, want_label);
	for (const char *p = data; p < e; p++) {
		int v;
		if (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t')
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_val(*p)) < 0)
			return set_err(err, "malformed pem: invalid base64");
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return set_err(err, "key has the wrong length");
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || (bits && (acc & ((1u << bits) - 1))) || (bits == 6))
		return set_err(err, "malformed pem: invalid base64");
	return (long)n;
}

int clientconf_write_key(const char *path, enum clientconf_key k, const uint8_t *key)
{
	size_t n;
	char *pem;
	int rc;

	if (!path || !key || !clientconf_pem_label(k))
		return -1;
	pem = clientconf_pem_encode(clientconf_pem_label(k), key, clientconf_key_len(k), &n);
	if (!pem)
		return -1;
	rc = clientconf_write_file(path, pem, n);
	ns_memzero(pem, n);
	free(pem);
	return rc;
}

int clientconf_read_key(const char *path, enum clientconf_key k, uint8_t *key,
                        char err[CLIENTCONF_ERR_MAX])
{
	uint8_t buf[64];
	size_t n;
	long got;
	char *t;

	if (!path || !key || !clientconf_pem_label(k))
		return set_err(err, "invalid argument");
	char why[NS_SF_ERR_MAX];
	t = read_all(path, 64 * 1024, &n, clientconf_key_is_private(k) ? NS_SF_PRIVATE : 0, why,
	             sizeof why);
	if (!t)
		return set_err(err, "%s", why);
	got = clientconf_pem_decode(t, n, clientconf_pem_label(k), buf, sizeof buf, err);
	ns_memzero(t, n);
	free(t);
	if (got >= 0 && (size_t)got != clientconf_key_len(k))
		got = set_err(err, "%s: key has %ld bytes, expected %zu", path, got,
		              clientconf_key_len(k));
	if (got >= 0)
		memcpy(key, buf, clientconf_key_len(k));
	ns_memzero(buf, sizeof buf);
	return got < 0 ? -1 : 0;
}
