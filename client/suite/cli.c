/* The CLI the three client programs share (cli_table.h: one table, one parser), with the
 * commands of Nym b4046a89's clients: init, run, list-gateways, add-gateway, switch-gateway,
 * build-info, completions, generate-fig-spec (ecash and sign are refused: no zk-nym
 * credentials, no nyxd). --home (or $NYM_HOME_DIR) replaces $HOME so tests never touch the
 * real one. Errors end as Nym's do: "An error occurred: ..." on stdout and status 1 (the
 * network requester: "Error: ..." on stderr), clap's refusals on stderr with status 2. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base58.h"
#include "cli_table.h"
#include "crypto.h"
#include "gateway_select.h"
#include "gwregdb.h"
#include "init_register.h"
#include "nc_buildinfo.h"
#include "nymclient.h"
#include "privsep.h"
#include "safefile.h"
#include "topology_json.h"
#include "nymsphinx/ack.h"

const struct nc_kind *nc_kind;
static struct nc_table table;
static const struct nc_args *args;

uint32_t nc_uid_base(const struct clientconf *c)
{
	return c->privsep_uid_base + 3u * (uint32_t)nc_kind->conf;
}

/* ---- output */

/* The command failed: Nym's closing line, status 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (nc_kind->rust_errors)
		fprintf(stderr, "Error: %s\n", msg);
	else
		printf("An error occurred: %s\n", msg);
	fflush(stdout);
	return 1;
}

static int json_output(void)
{
	const char *o = args->value[NC_O_OUTPUT];
	return o && !strcmp(o, "json");
}

static void print_json(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

/* serde's bytes as JSON: an array of numbers */
static cJSON *json_bytes(const uint8_t *b, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(b[i]));
	return a;
}

/* The time crate's text of a unix time (display: its Display, else its serde form). */
static void time_text(int64_t t, int display, char *out, size_t cap)
{
	char stored[48];
	if (ns_gwreg_timestamp(t, stored, sizeof stored) < 0 ||
	    ns_gwreg_time_text(stored, display, out, cap) < 0)
		snprintf(out, cap, "?");
}

/* Nym stores and prints Url::to_string(): an empty path becomes "/". */
static void url_text(const char *ws, char *out, size_t cap)
{
	const char *host = strstr(ws, "://");
	snprintf(out, cap, "%s%s", ws, host && strchr(host + 3, '/') ? "" : "/");
}

static void print_banner(void)
{
	if (args->count[NC_O_NO_BANNER] || !isatty(STDOUT_FILENO))
		return;
	printf("\n\n      _ __  _   _ _ __ ___\n     | '_ \\| | | | '_ \\ _ \\\n"
	       "     | | | | |_| | | | | | |\n     |_| |_|\\__, |_| |_| |_|\n            |___/\n\n"
	       "             (%s - version %s)\n\n    \n", nc_kind->program, nc_kind->version);
	fflush(stdout);
}

/* ---- config */

int nc_gateway_load(const struct clientconf_dirs *d, uint8_t identity[32], char *ws, size_t cap)
{
	char path[CLIENTCONF_PATH_MAX + 64], id[128] = "";
	snprintf(path, sizeof path, "%s/%s", d->data_dir, NC_GATEWAY_FILE);
	FILE *f = ns_sf_fopen_read(path, 0, NULL, 0);
	if (!f)
		return -1;
	int ok = fgets(id, sizeof id, f) && fgets(ws, (int)cap, f);
	fclose(f);
	if (!ok)
		return -1;
	id[strcspn(id, "\r\n")] = 0;
	ws[strcspn(ws, "\r\n")] = 0;
	return base58_decode(id, identity, 32) == 32 &&
	       (!strncmp(ws, "ws://", 5) || !strncmp(ws, "wss://", 6)) ? 0 : -1;
}

/* A URL list from the CLI (already split) or an environment value (split here, trimmed). */
static int set_urls(char (*urls)[CLIENTCONF_URL_MAX], size_t *count, const char *const *vals,
                    size_t n_vals, const char *text)
{
	size_t n = 0;
	for (size_t i = 0; i < n_vals; i++) {
		if (n == CLIENTCONF_MAX_URLS || strlen(vals[i]) >= CLIENTCONF_URL_MAX)
			return -1;
		snprintf(urls[n++], CLIENTCONF_URL_MAX, "%s", vals[i]);
	}
	for (const char *p = text; p && *p;) {
		size_t len = strcspn(p, ","), lead = strspn(p, " \t");
		const char *start = p + (lead < len ? lead : len);
		size_t l = len - (size_t)(start - p);
		while (l && (start[l - 1] == ' ' || start[l - 1] == '\t'))
			l--;
		if (!l || l >= CLIENTCONF_URL_MAX || n == CLIENTCONF_MAX_URLS || !strstr(start, "://"))
			return -1;
		snprintf(urls[n++], CLIENTCONF_URL_MAX, "%.*s", (int)l, start);
		p += len + (p[len] == ',');
	}
	if (!n)
		return -1;
	*count = n;
	return 0;
}

/* Nym's try_apply_traffic_modes: fastmode = 10 ms per hop, loop cover every 2000 s, the main
 * stream every 4 ms; no-cover = neither the loop cover nor the Poisson main stream. */
static void apply_traffic_modes(struct clientconf_debug *d)
{
	if (args->count[NC_O_FASTMODE]) {
		d->average_packet_delay_ns = 10000000ull;
		d->loop_cover_traffic_average_delay_ns = 2000000ull * 1000000ull;
		d->message_sending_average_delay_ns = 4000000ull;
	}
	if (args->count[NC_O_NO_COVER]) {
		d->disable_loop_cover_traffic_stream = 1;
		d->disable_main_poisson_packet_distribution = 1;
	}
}

static int set_stats_address(struct clientconf *c, const char *text, char *err, size_t cap)
{
	if (nym_recipient_from_string(text, &c->debug.stats_provider) < 0) {
		snprintf(err, cap, "failed to parse value of %s into a recipient address", text);
		return -1;
	}
	c->debug.has_stats_provider = 1;
	c->debug.stats_enabled = 1;
	return 0;
}

/* The overrides Nym's override_config applies at init (into the config written) and at run
 * (for this run), the CLI first, then the environment (cli_env.c). */
static int apply_overrides(struct clientconf *c, int init, char *err, size_t cap)
{
	const char *env;
	/* the network requester's run takes no --nym-apis (Nym hard-sets it to none) */
	int cli_apis = args->count[NC_O_NYM_APIS] && (init || nc_kind->conf != CC_KIND_NR);
	env = cli_apis ? NULL : nc_env_override("NYM_API");
	if ((cli_apis || env) &&
	    set_urls(c->nym_api_urls, &c->n_nym_api_urls, cli_apis ? args->values[NC_O_NYM_APIS] : NULL,
	             cli_apis ? args->n_values[NC_O_NYM_APIS] : 0, env) < 0)
		return snprintf(err, cap, "one of the provided nym-api urls was invalid"), -1;
	env = args->count[NC_O_NYXD_URLS] ? NULL : nc_env_override("NYXD");
	if ((args->count[NC_O_NYXD_URLS] || env) &&
	    set_urls(c->nyxd_urls, &c->n_nyxd_urls, args->values[NC_O_NYXD_URLS],
	             args->n_values[NC_O_NYXD_URLS], env) < 0)
		return snprintf(err, cap, "one of the provided nyxd urls was invalid"), -1;
	const char *cred = args->value[NC_O_CREDENTIALS];
	if (cred && !strcmp(cred, "true"))
		return snprintf(err, cap, "--enabled-credentials-mode true is not supported: nymsuite "
		                          "has no zk-nym (ecash) credentials, its clients run in "
		                          "disabled credentials mode only"), -1;
	if (cred)
		c->disabled_credentials_mode = 1;
	if (nc_kind->conf != CC_KIND_NR) { /* Nym's network requester leaves these alone */
		env = args->value[NC_O_STATS_ADDRESS] ? args->value[NC_O_STATS_ADDRESS]
		                                      : nc_env_override("CLIENT_STATS_COLLECTION_PROVIDER");
		if (env && set_stats_address(c, env, err, cap) < 0)
			return -1;
		if (args->count[NC_O_FORGET_ME])
			c->debug.forget_me_client = c->debug.forget_me_stats = 1;
	}
	if (args->count[NC_O_MEDIUM_TOGGLE] || args->count[NC_O_OUTFOX])
		return snprintf(err, cap, "--%s is not supported by nymsuite (an experiment of Nym's "
		                          "that changes the packet format)",
		                args->count[NC_O_OUTFOX] ? "outfox" : "medium-toggle"), -1;
	apply_traffic_modes(&c->debug);
	return nc_kind->configure ? nc_kind->configure(c, init, args, err, cap) : 0;
}

/* Nym's try_load_current_config; 0 or the failure already reported (status 1). */
static int load_config(struct clientconf_dirs *d, struct clientconf *c)
{
	char err[CLIENTCONF_ERR_MAX] = "", why[CLIENTCONF_PATH_MAX + CLIENTCONF_ERR_MAX + 64];
	const char *id = args->value[NC_O_ID];
	if (clientconf_dirs_kind(nc_kind->conf, args->value[NC_O_HOME], id, d) < 0)
		snprintf(why, sizeof why, "bad id or no home directory");
	else if (!clientconf_is_initialised(d))
		snprintf(why, sizeof why, "no client \"%s\" (looked in %s)", id, d->base);
	else if (clientconf_load_kind(nc_kind->conf, d->config_file, c, err) < 0)
		snprintf(why, sizeof why, "%s: %s", d->config_file, err);
	else
		return 0;
	fprintf(stderr, "Failed to load config for %s. Are you sure you have run `init` before? "
	                "(Error was: %s)\n", id, why);
	return fail("Failed to load config for: %s", id);
}

/* ---- init */

static int write_keys(const struct clientconf *c, struct nym_recipient *addr)
{
	uint8_t seed[32], sk64[64], pk[32], enc[32], encpk[32], ack[NYM_ACK_KEY_LEN];
	ns_random(seed, sizeof seed);
	ns_ed25519_from_seed(pk, sk64, seed);
	ns_random(enc, sizeof enc);
	ns_x25519_base(encpk, enc);
	nym_ack_key_generate(ack);
	int rc = clientconf_write_key(c->private_identity_key_file, CC_KEY_PRIVATE_IDENTITY, seed) |
	         clientconf_write_key(c->public_identity_key_file, CC_KEY_PUBLIC_IDENTITY, pk) |
	         clientconf_write_key(c->private_encryption_key_file, CC_KEY_PRIVATE_ENCRYPTION, enc) |
	         clientconf_write_key(c->public_encryption_key_file, CC_KEY_PUBLIC_ENCRYPTION, encpk) |
	         clientconf_write_key(c->ack_key_file, CC_KEY_ACK, ack);
	memcpy(addr->identity, pk, 32);
	memcpy(addr->encryption_key, encpk, 32);
	ns_memzero(seed, sizeof seed);
	ns_memzero(sk64, sizeof sk64);
	ns_memzero(enc, sizeof enc);
	ns_memzero(ack, sizeof ack);
	return rc ? -1 : 0;
}

static void pick_opts(struct nc_gateway_pick_opts *o, enum nc_opt_id want)
{
	memset(o, 0, sizeof *o);
	o->want_id = args->value[want];
	o->latency_based = args->count[NC_O_LATENCY] > 0;
	o->force_tls = args->count[NC_O_FORCE_TLS] > 0;
	o->custom_mixnet = args->value[NC_O_CUSTOM_MIXNET];
}

/* nc_gateway_pick with libcurl set up around it. */
static int pick_gateway(const struct clientconf *c, const struct nc_gateway_pick_opts *o,
                        uint8_t id[32], char *ws, size_t cap, char *err, size_t errcap)
{
	if (nc_http_init(err, errcap) < 0)
		return -1;
	int rc = nc_gateway_pick(c, o, id, ws, cap, err, errcap);
	nc_http_cleanup();
	return rc;
}

/* Nym's InitResults (client-core init/types.rs) and the program's lines after them. */
static void init_results(const struct clientconf *c, const struct nym_recipient *addr,
                         const char *ws, int64_t registered_at)
{
	char id58[64], enc58[64], gw58[64], listener[CLIENTCONF_URL_MAX + 2], when[64];
	char addr_text[NYM_RECIPIENT_STR_MAX];
	uint8_t bytes[96];
	base58_encode(addr->identity, 32, id58, sizeof id58);
	base58_encode(addr->encryption_key, 32, enc58, sizeof enc58);
	base58_encode(addr->gateway, 32, gw58, sizeof gw58);
	url_text(ws, listener, sizeof listener);
	nym_recipient_to_string(addr, addr_text, sizeof addr_text);
	if (!json_output()) {
		time_text(registered_at, 1, when, sizeof when);
		printf("Version: %s\nID: %s\nIdentity key: %s\nEncryption: %s\nGateway ID: %s\n"
		       "Gateway: %s\nRegistered at: %s\n", c->version, c->id, id58, enc58, gw58,
		       listener, when);
		nc_kind->init_report(c, addr_text, NULL);
		return;
	}
	memcpy(bytes, addr->identity, 32);
	memcpy(bytes + 32, addr->encryption_key, 32);
	memcpy(bytes + 64, addr->gateway, 32);
	time_text(registered_at, 0, when, sizeof when);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "version", c->version);
	cJSON_AddStringToObject(j, "id", c->id);
	cJSON_AddStringToObject(j, "identity_key", id58);
	cJSON_AddStringToObject(j, "encryption_key", enc58);
	cJSON_AddStringToObject(j, "gateway_id", gw58);
	cJSON_AddStringToObject(j, "gateway_listener", listener);
	cJSON_AddStringToObject(j, "gateway_registration", when);
	cJSON_AddItemToObject(j, "address", json_bytes(bytes, sizeof bytes));
	nc_kind->init_report(c, addr_text, j);
	print_json(j);
}

/* After the gateway was chosen: folders, keys, registration, config (its presence means
 * initialised, so last). */
static int init_write(struct clientconf *c, const struct clientconf_dirs *d,
                      struct nym_recipient *addr, const char *ws, int64_t *registered_at)
{
	char err[512] = "", id58[64], path[CLIENTCONF_PATH_MAX + 64], text[700];
	if (clientconf_make_dirs(d) < 0)
		return fail("cannot create %s: %s", d->base, strerror(errno));
	if (write_keys(c, addr) < 0) {
		nc_init_abandon(c, d);
		return fail("cannot write the key files in %s", d->data_dir);
	}
	base58_encode(addr->gateway, 32, id58, sizeof id58);
	if (nc_init_register(c, d, addr->gateway, ws, registered_at, err, sizeof err) < 0) {
		nc_init_abandon(c, d);
		return fail("gateway %s (%s): %s", id58, ws, err);
	}
	snprintf(path, sizeof path, "%s/%s", d->data_dir, NC_GATEWAY_FILE);
	int n = snprintf(text, sizeof text, "%s\n%s\n", id58, ws);
	if (clientconf_write_file(path, text, (size_t)n) < 0 || clientconf_save(d->config_file, c) < 0) {
		int e = errno;
		nc_init_abandon(c, d);
		return fail("failed to save config file for client-%s id %s using path '%s'. detailed "
		            "message: %s", nc_kind->core_name, c->id, d->config_file, strerror(e));
	}
	fprintf(stderr, "Saved configuration file to %s\n", d->config_file);
	return 0;
}

static int cmd_init(void)
{
	struct clientconf_dirs d;
	static struct clientconf c;
	const char *id = args->value[NC_O_ID];
	char err[1024] = "", ws[CLIENTCONF_URL_MAX];
	struct nym_recipient addr;
	int64_t registered_at = 0;
	fprintf(stderr, "Initialising client...\n");
	if (clientconf_dirs_kind(nc_kind->conf, args->value[NC_O_HOME], id, &d) < 0)
		return fail("bad id or no home directory");
	if (clientconf_is_initialised(&d)) {
		fprintf(stderr, "%s client \"%s\" was already initialised before\n",
		        nc_kind->core_name, id);
		return fail("this client (id: '%s') has already been initialised before. If you want "
		            "to add additional gateway, use `add-gateway` command", id);
	}
	if (clientconf_init_defaults_kind(&c, nc_kind->conf, &d, id) < 0)
		return fail("paths under %s are too long", d.base);
	if (apply_overrides(&c, 1, err, sizeof err) < 0)
		return fail("%s", err);
	struct nc_gateway_pick_opts pick;
	pick_opts(&pick, NC_O_GATEWAY);
	if (pick_gateway(&c, &pick, addr.gateway, ws, sizeof ws, err, sizeof err) < 0)
		return fail("%s", err);
	int rc = init_write(&c, &d, &addr, ws, &registered_at);
	if (rc == 0)
		init_results(&c, &addr, ws, registered_at);
	return rc;
}

static void nym_client_report(const struct clientconf *c, const char *address, cJSON *json)
{
	if (json) {
		cJSON_AddNumberToObject(json, "client_listening_port", c->listening_port);
		cJSON_AddStringToObject(json, "client_address", address);
		return;
	}
	printf("Client listening port: %u\nAddress of this client: %s\n",
	       (unsigned)c->listening_port, address);
}

/* ---- run */

/* The benchmarks' baselines (bench/README.md): NYMSUITE_KEYD_WORKERS=N overrides [nymsuite]
 * keyd_workers for this run, NYMSUITE_SPHINX_CHAIN=1 makes keyd build every header with the
 * chain of X25519s (the construction before issue 12). */
static int bench_overrides(struct nc_setup *s, char *err, size_t errcap)
{
	const char *w = getenv("NYMSUITE_KEYD_WORKERS"), *chain = getenv("NYMSUITE_SPHINX_CHAIN");
	if (w && w[0]) {
		char *end = NULL;
		errno = 0;
		unsigned long n = strtoul(w, &end, 10);
		if (errno || *end || w[0] == '-' || n > CLIENTCONF_KEYD_WORKERS_MAX) {
			snprintf(err, errcap, "NYMSUITE_KEYD_WORKERS must be a number 0..%d",
			         CLIENTCONF_KEYD_WORKERS_MAX);
			return -1;
		}
		s->conf.keyd_workers = n;
	}
	if (chain && chain[0] && strcmp(chain, "0") && strcmp(chain, "1")) {
		snprintf(err, errcap, "NYMSUITE_SPHINX_CHAIN must be 0 or 1");
		return -1;
	}
	s->sphinx_chain = chain && !strcmp(chain, "1");
	return 0;
}

/* run --custom-mixnet: netd's fixed topology (checked here first, for Nym's message). */
static int custom_topology(struct nc_setup *s)
{
	const char *path = args->value[NC_O_CUSTOM_MIXNET];
	char err[512] = "";
	struct ns_topo topo;
	if (!path)
		return 0;
	char *full = realpath(path, NULL);
	if (!full || strlen(full) >= sizeof s->custom_mixnet)
		snprintf(err, sizeof err, "%s", full ? "path too long" : strerror(errno));
	else if (ns_topo_load_file(full, &topo, err, sizeof err) == 0)
		ns_topo_free(&topo);
	if (!err[0])
		snprintf(s->custom_mixnet, sizeof s->custom_mixnet, "%s", full);
	free(full);
	if (err[0])
		return fail("failed to load custom topology using path '%s'. detailed message: %s",
		            path, err);
	return 0;
}

static int cmd_run(void)
{
	static struct nc_setup s;
	char err[CLIENTCONF_ERR_MAX + 512] = "";
	if (!nc_kind->run_quiet)
		fprintf(stderr, "Starting client %s...\n", args->value[NC_O_ID]);
	/* the supervisor holds no key, but reads paths and the unsent messages: no ptrace or
	 * /proc/PID/mem by other processes of our uid either */
	if (ns_privsep_nodump() < 0)
		return fail("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	if (load_config(&s.dirs, &s.conf))
		return 1;
	if (apply_overrides(&s.conf, 0, err, sizeof err) < 0)
		return fail("%s", err);
	if (nc_kind->conf == CC_KIND_CLIENT && !s.conf.socket_websocket && !s.conf.api_socket[0])
		return fail("Attempted to start the client in invalid socket mode");
	if (custom_topology(&s) < 0)
		return 1;
	nc_log_setup(&s.conf);
	if (nc_start_checks(&s) < 0)
		return 1;
	if (nc_run_gateway(&s, err, sizeof err) < 0)
		return fail("%s", err);
	nc_raise_fd_limit();
	s.sandbox_debug = args->count[NC_O_SANDBOX_DEBUG] > 0;
	s.test_keyd_socket = args->count[NC_O_TEST_KEYD_SOCKET] > 0;
	if (bench_overrides(&s, err, sizeof err) < 0)
		return fail("%s", err);
	return nc_supervisor_run(&s);
}

/* ---- gateways: list-gateways, add-gateway, switch-gateway */

/* Nym's GatewayInfo (cli_helpers/types.rs) as text or as a JSON object. */
static void gateway_info_text(const struct ns_gwreg_entry *e, char *out, size_t cap)
{
	char id58[64], when[64];
	base58_encode(e->gateway_id, 32, id58, sizeof id58);
	if (ns_gwreg_time_text(e->registered_at, 1, when, sizeof when) < 0)
		snprintf(when, sizeof when, "%s", e->registered_at);
	snprintf(out, cap, "%s%s gateway '%s' registered at: %s%s%s", e->active ? "[ACTIVE] " : "",
	         e->type, id58, when, e->listener[0] ? " endpoint: " : "", e->listener);
}

static cJSON *gateway_info_json(const struct ns_gwreg_entry *e)
{
	char when[64];
	if (ns_gwreg_time_text(e->registered_at, 0, when, sizeof when) < 0)
		snprintf(when, sizeof when, "%s", e->registered_at);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "registration", when);
	cJSON_AddItemToObject(j, "identity", json_bytes(e->gateway_id, 32));
	cJSON_AddBoolToObject(j, "active", e->active);
	cJSON_AddStringToObject(j, "typ", e->type);
	if (e->listener[0])
		cJSON_AddStringToObject(j, "endpoint", e->listener);
	else
		cJSON_AddNullToObject(j, "endpoint");
	return j;
}

static int storage_fail(const char *err)
{
	return fail("experienced a failure with our gateways details storage: %s", err);
}

static struct ns_gwreg_entry gateways[NS_GWREG_LIST_MAX];

/* The registered gateways (none when there is no DB yet, as Nym's storage starts empty). */
static int registered_gateways(const struct clientconf *c, const struct clientconf_dirs *d,
                               size_t *n)
{
	char path[CLIENTCONF_PATH_MAX + 64], err[512] = "";
	nc_gwreg_path(c, d, path, sizeof path);
	int rc = ns_gwreg_list(path, gateways, NS_GWREG_LIST_MAX, n, err, sizeof err);
	if (rc == NS_GWREG_ENOENT) {
		*n = 0;
		return 0;
	}
	return rc < 0 ? storage_fail(err) : 0;
}

static int cmd_list_gateways(void)
{
	struct clientconf_dirs d;
	static struct clientconf c;
	char line[1024];
	size_t n = 0;
	if (load_config(&d, &c) || registered_gateways(&c, &d, &n))
		return 1;
	if (json_output()) {
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(a, gateway_info_json(&gateways[i]));
		print_json(a);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		gateway_info_text(&gateways[i], line, sizeof line);
		printf("[%zu]: %s\n", i, line);
	}
	printf("\n");
	return 0;
}

/* Registers with the chosen gateway and adds it to the DB (made if missing). */
static int add_registration(const struct clientconf *c, const struct clientconf_dirs *d,
                            const uint8_t id[32], const char *ws, struct ns_gwreg_entry *out)
{
	char path[CLIENTCONF_PATH_MAX + 64], err[512] = "";
	struct ns_gwreg row;
	if (nc_gateway_register(c, id, ws, &row, err, sizeof err) < 0)
		return fail("%s", err);
	nc_gwreg_path(c, d, path, sizeof path);
	int rc = ns_gwreg_add(path, &row, 1, err, sizeof err);
	if (rc == NS_GWREG_ENOENT)
		rc = ns_gwreg_create(path, &row, err, sizeof err);
	memset(out, 0, sizeof *out);
	memcpy(out->gateway_id, row.gateway_id, 32);
	snprintf(out->type, sizeof out->type, "remote");
	snprintf(out->listener, sizeof out->listener, "%s", row.listener);
	ns_gwreg_timestamp(row.registered_at, out->registered_at, sizeof out->registered_at);
	out->active = 1; /* Nym's --set-active defaults to true and cannot be turned off */
	ns_gw_key_clear(&row.key);
	if (rc == NS_GWREG_EEXIST)
		return fail("%s", err);
	return rc < 0 ? storage_fail(err) : 0;
}

static int cmd_add_gateway(void)
{
	struct clientconf_dirs d;
	static struct clientconf c;
	static uint8_t known[NS_GWREG_LIST_MAX][32];
	char err[1024] = "", ws[CLIENTCONF_URL_MAX], line[1024];
	uint8_t id[32], want[32];
	size_t n = 0;
	if (load_config(&d, &c) || registered_gateways(&c, &d, &n))
		return 1;
	if (apply_overrides(&c, 1, err, sizeof err) < 0)
		return fail("%s", err);
	const char *want58 = args->value[NC_O_GATEWAY_ID];
	for (size_t i = 0; i < n; i++) {
		memcpy(known[i], gateways[i].gateway_id, 32);
		if (want58 && base58_decode(want58, want, 32) == 32 && !memcmp(want, known[i], 32))
			return fail("this client has already registered with gateway %s", want58);
	}
	struct nc_gateway_pick_opts pick;
	pick_opts(&pick, NC_O_GATEWAY_ID);
	pick.exclude = (const uint8_t (*)[32])known;
	pick.n_exclude = n;
	if (pick_gateway(&c, &pick, id, ws, sizeof ws, err, sizeof err) < 0)
		return fail("%s", err);
	struct ns_gwreg_entry e;
	if (add_registration(&c, &d, id, ws, &e))
		return 1;
	if (json_output()) {
		print_json(gateway_info_json(&e));
	} else {
		gateway_info_text(&e, line, sizeof line);
		printf("%s\n", line);
	}
	return 0;
}

static int cmd_switch_gateway(void)
{
	struct clientconf_dirs d;
	static struct clientconf c;
	char path[CLIENTCONF_PATH_MAX + 64], err[512] = "";
	uint8_t id[32];
	if (load_config(&d, &c))
		return 1;
	base58_decode(args->value[NC_O_GATEWAY_ID], id, sizeof id); /* checked by the parser */
	nc_gwreg_path(&c, &d, path, sizeof path);
	int rc = ns_gwreg_set_active(path, id, err, sizeof err);
	if (rc == NS_GWREG_ENOENT)
		snprintf(err, sizeof err, "gateway %s does not exist in the storage",
		         args->value[NC_O_GATEWAY_ID]);
	return rc < 0 ? storage_fail(err) : 0;
}

/* ---- build-info, version */

static const char *const build_keys[] = { "binary_name", "build_timestamp", "build_version",
	                                  "commit_sha", "commit_timestamp", "commit_branch",
	                                  "rustc_version", "rustc_channel", "cargo_profile",
	                                  "cargo_triple" };
static const char *const build_labels[] = { "Binary Name:", "Build Timestamp:", "Build Version:",
	                                    "Commit SHA:", "Commit Date:", "Commit Branch:",
	                                    "rustc Version:", "rustc Channel:", "cargo Profile:" };

/* Nym's BinaryBuildInformation fields, filled honestly for a C build: the Nym version we
 * stand in for, our own commit, the C compiler where Nym names rustc. */
static void build_values(const char *v[10])
{
	v[0] = nc_kind->program;
	v[1] = NC_BUILD_TIMESTAMP;
	v[2] = nc_kind->version;
	v[3] = NC_GIT_SHA;
	v[4] = NC_GIT_DATE;
	v[5] = NC_GIT_BRANCH;
	v[6] = "none (C17, " NC_CC_VERSION ")";
	v[7] = "none";
	v[8] = NC_BUILD_PROFILE;
	v[9] = NC_TARGET_TRIPLE;
}

static void build_info_text(FILE *out)
{
	const char *v[10];
	build_values(v);
	fprintf(out, "\n");
	for (size_t i = 0; i < 9; i++)
		fprintf(out, "%-20s%s\n", build_labels[i], v[i]);
}

static int cmd_build_info(void)
{
	const char *v[10];
	build_values(v);
	if (!json_output()) {
		build_info_text(stdout);
		printf("\n");
		return 0;
	}
	cJSON *j = cJSON_CreateObject();
	for (size_t i = 0; i < 10; i++)
		cJSON_AddStringToObject(j, build_keys[i], v[i]);
	print_json(j);
	return 0;
}

static int print_version(int long_version)
{
	if (!long_version) {
		printf("%s %s\n", nc_kind->program, nc_kind->version);
		return 0;
	}
	printf("%s ", nc_kind->program);
	build_info_text(stdout);
	printf("\n");
	return 0;
}

/* ---- dispatch */

static int refused(enum nc_cmd_id cmd)
{
	if (cmd == NC_CMD_ECASH)
		return fail("ecash is not supported: nymsuite has no zk-nym (ecash) credentials, its "
		            "clients run in disabled credentials mode only");
	return fail("sign is not supported by nymsuite's network requester (it holds no nyxd "
	            "account and signs no contract messages)");
}

static int print_help(void)
{
	enum nc_cmd_id cmd = NC_CMD_TOP;
	if (args->help_of)
		cmd = nc_table_cmd_named(&table, args->help_of)->id;
	else if (args->has_cmd && args->cmd != NC_CMD_HELP)
		cmd = args->cmd;
	nc_help_print(stdout, &table, cmd, args->long_help, args->argv0);
	return 0;
}

static int dispatch(void)
{
	switch (args->cmd) {
	case NC_CMD_INIT: return cmd_init();
	case NC_CMD_RUN: return cmd_run();
	case NC_CMD_LIST_GATEWAYS: return cmd_list_gateways();
	case NC_CMD_ADD_GATEWAY: return cmd_add_gateway();
	case NC_CMD_SWITCH_GATEWAY: return cmd_switch_gateway();
	case NC_CMD_BUILD_INFO: return cmd_build_info();
	case NC_CMD_COMPLETIONS:
		return nc_completions_print(stdout, &table, args->value[NC_O_SHELL]) < 0 ? 2 : 0;
	case NC_CMD_FIG_SPEC: nc_fig_print(stdout, &table); return 0;
	case NC_CMD_ECASH:
	case NC_CMD_SIGN: return refused(args->cmd);
	default: return print_help();
	}
}

int nc_cli_main(const struct nc_kind *kind, int argc, char **argv)
{
	static struct nc_args parsed;
	static struct nc_kind k;
	k = *kind;
	if (!k.init_report)
		k.init_report = nym_client_report;
	nc_kind = &k;
	ns_log_init(kind->program, NULL, NS_LOG_DEFAULT, 0); /* until the role or the config says */
	/* a role the supervisor started (proc.c): never returns through exit(), whose atexit
	 * handlers (LeakSanitizer's ptrace among them) the sandbox would refuse */
	if (argc >= 7 && !strcmp(argv[1], "--test-probe")) /* tests/attack/ only (probe.c) */
		_exit(nc_probe_main(argc, argv) & 0xff);
	if (argc == 4 && !strcmp(argv[1], "--child")) {
		if (ns_crypto_init() < 0)
			_exit(1);
		fflush(NULL);
		_exit(nc_child_main(argv[2], argv[3]) & 0xff);
	}
	nc_log_setup(NULL);
	nc_table_build(nc_kind, &table);
	if (argc == 2 && !strcmp(argv[1], "--nymsuite-man-page")) { /* the build's man page */
		nc_man_print(stdout, &table);
		return 0;
	}
	args = &parsed;
	int rc = nc_cli_parse(&table, argc, argv, &parsed);
	if (rc)
		return rc;
	if (parsed.help)
		return print_help();
	if (parsed.version)
		return print_version(parsed.long_version);
	char err[512] = "";
	if (nc_env_setup(parsed.value[NC_O_CONFIG_ENV_FILE], err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 101; /* Nym panics here */
	}
	print_banner();
	if (ns_crypto_init() < 0)
		return fail("crypto init failed");
	return dispatch();
}
