/* The CLI the three client programs share, parameterised by their kind (nymclient.h):
 *   PROGRAM init --id NAME [--gateway ID] [--nym-apis URL,...] [--port P] [--host H] [--home DIR]
 *   PROGRAM run --id NAME [--nym-apis URL,...] [--home DIR]
 * plus the program's own flags (kind->parse_flag). --home (or $NYM_HOME_DIR) replaces $HOME
 * so tests never touch the real one. Without --nym-apis, init uses the config default (Nym
 * mainnet, https://validator.nymtech.net/api/); HTTPS certificates are checked against
 * $NYMSUITE_CA_FILE, else the system bundle. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "init_register.h"
#include "nymclient.h"
#include "privsep.h"
#include "safefile.h"
#include "nymsphinx/ack.h"

const struct nc_kind *nc_kind;

uint32_t nc_uid_base(const struct clientconf *c)
{
	return c->privsep_uid_base + 3u * (uint32_t)nc_kind->conf;
}

/* One line to stderr under the program's name (fmt ends with its newline). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", nc_kind->program);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

struct args {
	const char *cmd, *id, *home, *gateway, *nym_apis, *host;
	long port;
	int sandbox_debug, test_keyd_socket;
	int no_cover, fastmode; /* Nym's hidden traffic-mode flags (run only, never written) */
};

static int usage(void)
{
	const char *p = nc_kind->program, *x = nc_kind->usage_extra ? nc_kind->usage_extra : "";
	fprintf(stderr, "usage: %s init --id NAME [--gateway ID] [--nym-apis URL,...] [--port P]"
	                " [--host H] [--home DIR]%s\n       %s run --id NAME [--nym-apis URL,...]"
	                " [--home DIR]\n"
	                "                         [--no-cover] [--fastmode]\n", p, x, p);
	return 2;
}

/* The program's own flag at argv[i]: how many words it took (0: not its own), -1 bad. */
static int kind_flag(const char *cmd, int argc, char **argv, int i)
{
	if (!nc_kind->parse_flag)
		return 0;
	return nc_kind->parse_flag(cmd, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->port = -1;
	if (argc < 2)
		return -1;
	a->cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int own = kind_flag(a->cmd, argc, argv, i);
		if (own < 0)
			return -1;
		if (own > 0) {
			i += own - 1;
			continue;
		}
		if (!strcmp(o, "--sandbox-debug")) {
			a->sandbox_debug = 1;
			continue;
		}
		if (!strcmp(o, "--test-keyd-socket")) {
			a->test_keyd_socket = 1;
			continue;
		}
		if (!strcmp(o, "--no-cover") || !strcmp(o, "--fastmode")) {
			*(o[2] == 'n' ? &a->no_cover : &a->fastmode) = 1;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(o, "--id"))
			a->id = v;
		else if (!strcmp(o, "--home"))
			a->home = v;
		else if (!strcmp(o, "--gateway"))
			a->gateway = v;
		else if (!strcmp(o, "--nym-apis"))
			a->nym_apis = v;
		else if (!strcmp(o, "--host"))
			a->host = v;
		else if (!strcmp(o, "--port") || !strcmp(o, "-p")) {
			char *end;
			a->port = strtol(v, &end, 10);
			if (*end || a->port < 1 || a->port > 65535)
				return -1;
		} else
			return -1;
	}
	return a->id ? 0 : -1;
}

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
	return base58_decode(id, identity, 32) == 32 && !strncmp(ws, "ws://", 5) ? 0 : -1;
}

/* The gateway's websocket listener: ws://IP:PORT (IPv4 preferred; we speak no wss yet). */
static void listener_url(const struct ns_topo_node *g, char *ws, size_t cap)
{
	snprintf(ws, cap, strchr(g->entry_ip, ':') ? "ws://[%s]:%u" : "ws://%s:%u", g->entry_ip,
	         (unsigned)g->clients_ws_port);
}

/* Nym's init: candidates are the entry gateways (E3) with performance >= the minimum and a
 * client listener; --gateway must be one of them, else one is drawn uniformly. */
static int choose_gateway(const struct clientconf *c, const char *want, uint8_t identity[32],
                          char *ws, size_t cap)
{
	uint8_t wanted[32];
	if (want && base58_decode(want, wanted, sizeof wanted) != 32) {
		say("bad gateway identity %s\n", want);
		return -1;
	}
	char err[512] = "";
	struct ns_apis api;
	struct ns_nymapi_page gw;
	ns_apis_init(&api, c);
	if (nc_api_gateways(&api, &gw, err, sizeof err) < 0) {
		say("cannot get the gateways from the nym-api: %s\n", err);
		return -1;
	}
	size_t *cand = calloc(gw.n_nodes ? gw.n_nodes : 1, sizeof *cand), n = 0;
	for (size_t i = 0; cand && i < gw.n_nodes; i++) {
		const struct ns_nymapi_node *g = &gw.nodes[i];
		if (g->performance >= c->debug.minimum_gateway_performance && g->n.has_entry &&
		    g->n.clients_ws_port && (!want || !memcmp(g->n.identity, wanted, 32)))
			cand[n++] = i;
	}
	int rc = -1;
	if (n > 0) {
		const struct ns_topo_node *g = &gw.nodes[cand[n > 1 ? ns_random_uniform((uint32_t)n) : 0]].n;
		memcpy(identity, g->identity, 32);
		listener_url(g, ws, cap);
		rc = 0;
	} else {
		say("no usable gateway%s%s among the %zu entry gateways of %s\n",
		        want ? " " : "", want ? want : "", gw.n_nodes, ns_apis_url(&api));
	}
	free(cand);
	ns_nymapi_page_free(&gw);
	return rc;
}

/* --nym-apis: comma-separated, as Nym's CLI (value_delimiter ','). */
static int set_nym_apis(struct clientconf *c, const char *list)
{
	size_t n = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= CLIENTCONF_URL_MAX || n == CLIENTCONF_MAX_URLS)
			return -1;
		snprintf(c->nym_api_urls[n++], CLIENTCONF_URL_MAX, "%.*s", (int)len, p);
		p += len + (p[len] == ',');
	}
	if (n == 0)
		return -1;
	c->n_nym_api_urls = n;
	return 0;
}

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

static int cmd_init(const struct args *a)
{
	struct clientconf_dirs d;
	struct clientconf c;
	if (clientconf_dirs_kind(nc_kind->conf, a->home, a->id, &d) < 0) {
		say("bad id or no home directory\n");
		return 1;
	}
	if (clientconf_is_initialised(&d)) {
		say("client \"%s\" was already initialised before\n", a->id);
		return 1;
	}
	if (clientconf_init_defaults_kind(&c, nc_kind->conf, &d, a->id) < 0) {
		say("paths under %s are too long\n", d.base);
		return 1;
	}
	if (a->nym_apis && set_nym_apis(&c, a->nym_apis) < 0) {
		say("bad --nym-apis list %s\n", a->nym_apis);
		return 1;
	}
	char err[256] = "";
	if (nc_http_init(err, sizeof err) < 0) {
		say("%s\n", err);
		return 1;
	}
	if (a->host)
		snprintf(c.host, sizeof c.host, "%s", a->host);
	if (a->port > 0)
		c.listening_port = (uint16_t)a->port;
	if (nc_kind->configure && nc_kind->configure(&c, 1) < 0)
		return 1;
	struct nym_recipient addr;
	char ws[CLIENTCONF_URL_MAX], id58[64], path[CLIENTCONF_PATH_MAX + 64], text[700];
	int chosen = choose_gateway(&c, a->gateway, addr.gateway, ws, sizeof ws);
	nc_http_cleanup();
	if (chosen < 0)
		return 1;
	if (clientconf_make_dirs(&d) < 0) {
		say("cannot create %s: %s\n", d.base, strerror(errno));
		return 1;
	}
	if (write_keys(&c, &addr) < 0) {
		say("cannot write the key files in %s\n", d.data_dir);
		nc_init_abandon(&c, &d);
		return 1;
	}
	base58_encode(addr.gateway, 32, id58, sizeof id58);
	/* Nym registers at init; config.toml last: its presence means initialised */
	if (nc_init_register(&c, &d, addr.gateway, ws, err, sizeof err) < 0) {
		say("gateway %s (%s): %s\n", id58, ws, err);
		nc_init_abandon(&c, &d);
		return 1;
	}
	snprintf(path, sizeof path, "%s/%s", d.data_dir, NC_GATEWAY_FILE);
	int n = snprintf(text, sizeof text, "%s\n%s\n", id58, ws);
	if (clientconf_write_file(path, text, (size_t)n) < 0 || clientconf_save(d.config_file, &c) < 0) {
		say("cannot write %s: %s\n", d.base, strerror(errno));
		nc_init_abandon(&c, &d);
		return 1;
	}
	printf("Registered with the gateway %s (%s)\n", id58, ws);
	char addr_text[NYM_RECIPIENT_STR_MAX];
	nym_recipient_to_string(&addr, addr_text, sizeof addr_text);
	if (nc_kind->init_report)
		nc_kind->init_report(&c, addr_text);
	else
		printf("Client configuration completed.\nThe address of this client is: %s\n",
		       addr_text);
	return 0;
}

/* Nym's try_apply_traffic_modes: fastmode = 10 ms per hop, loop cover every 2000 s, the main
 * stream every 4 ms; no-cover = neither the loop cover nor the Poisson main stream. */
static void apply_traffic_modes(struct clientconf_debug *d, const struct args *a)
{
	if (a->fastmode) {
		d->average_packet_delay_ns = 10000000ull;
		d->loop_cover_traffic_average_delay_ns = 2000000ull * 1000000ull;
		d->message_sending_average_delay_ns = 4000000ull;
	}
	if (a->no_cover) {
		d->disable_loop_cover_traffic_stream = 1;
		d->disable_main_poisson_packet_distribution = 1;
	}
}

static int cmd_run(const struct args *a)
{
	static struct nc_setup s;
	char err[CLIENTCONF_ERR_MAX] = "";
	/* the supervisor holds no key, but reads paths and the unsent messages: no ptrace or
	 * /proc/PID/mem by other processes of our uid either */
	if (ns_privsep_nodump() < 0) {
		say("prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
		return 1;
	}
	if (clientconf_dirs_kind(nc_kind->conf, a->home, a->id, &s.dirs) < 0) {
		say("bad id or no home directory\n");
		return 1;
	}
	if (!clientconf_is_initialised(&s.dirs)) {
		say("no client \"%s\" (run init first; looked in %s)\n", a->id,
		        s.dirs.base);
		return 1;
	}
	if (clientconf_load_kind(nc_kind->conf, s.dirs.config_file, &s.conf, err) < 0) {
		say("%s: %s\n", s.dirs.config_file, err);
		return 1;
	}
	if (a->nym_apis && set_nym_apis(&s.conf, a->nym_apis) < 0) {
		say("bad --nym-apis list %s\n", a->nym_apis);
		return 1;
	}
	apply_traffic_modes(&s.conf.debug, a);
	if (nc_kind->configure && nc_kind->configure(&s.conf, 0) < 0)
		return 1;
	nc_log_setup(&s.conf);
	if (nc_start_checks(&s) < 0 || nc_run_gateway(&s) < 0)
		return 1;
	nc_raise_fd_limit();
	s.sandbox_debug = a->sandbox_debug;
	s.test_keyd_socket = a->test_keyd_socket;
	return nc_supervisor_run(&s);
}

int nc_cli_main(const struct nc_kind *kind, int argc, char **argv)
{
	nc_kind = kind;
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
	struct args a;
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	if (ns_crypto_init() < 0) {
		say("crypto init failed\n");
		return 1;
	}
	if (!strcmp(a.cmd, "init"))
		return cmd_init(&a);
	if (!strcmp(a.cmd, "run"))
		return cmd_run(&a);
	return usage();
}
