/* nym-client CLI: `init` (keys, config.toml, gateway choice) and `run` (the supervisor).
 *   nym-client init --id NAME [--gateway ID] [--nym-apis URL] [--port P] [--host H] [--home DIR]
 *   nym-client run --id NAME [--home DIR]
 * --home (or $NYM_HOME_DIR) replaces $HOME so tests never touch the real one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "nymclient.h"
#include "nymsphinx/ack.h"
#include "topology_json.h"

struct args {
	const char *cmd, *id, *home, *gateway, *nym_apis, *host;
	long port;
	int sandbox_debug, test_keyd_socket;
};

static int usage(void)
{
	fprintf(stderr, "usage: nym-client init --id NAME [--gateway ID] [--nym-apis URL] [--port P]"
	                " [--host H] [--home DIR]\n       nym-client run --id NAME [--home DIR]\n");
	return 2;
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
		if (!strcmp(o, "--sandbox-debug")) {
			a->sandbox_debug = 1;
			continue;
		}
		if (!strcmp(o, "--test-keyd-socket")) {
			a->test_keyd_socket = 1;
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
		else if (!strcmp(o, "--port")) {
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
	FILE *f = fopen(path, "r");
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

/* Picks the gateway (the given identity, else the first one with client details). */
static int choose_gateway(const char *api, const char *want, uint8_t identity[32], char *ws,
                          size_t cap)
{
	char url[CLIENTCONF_URL_MAX + 32], err[128];
	size_t len = 0, n = strlen(api);
	while (n && api[n - 1] == '/')
		n--;
	snprintf(url, sizeof url, "%.*s/topology.json", (int)n, api);
	char *body = nc_http_get(url, &len, err, sizeof err);
	if (!body) {
		fprintf(stderr, "nym-client: cannot fetch the topology from %s: %s\n", url, err);
		return -1;
	}
	struct ns_topo t;
	int rc = ns_topo_parse(body, len, &t);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "nym-client: bad topology from %s (%d)\n", url, rc);
		return -1;
	}
	uint8_t wanted[32];
	if (want && base58_decode(want, wanted, sizeof wanted) != 32) {
		ns_topo_free(&t);
		fprintf(stderr, "nym-client: bad gateway identity %s\n", want);
		return -1;
	}
	rc = -1;
	for (size_t i = 0; i < t.n_nodes && rc < 0; i++) {
		const struct ns_topo_node *g = &t.nodes[i];
		if (!g->has_entry || !g->clients_ws_port || (want && memcmp(g->identity, wanted, 32)))
			continue;
		memcpy(identity, g->identity, 32);
		snprintf(ws, cap, "ws://%s:%u", g->entry_ip, (unsigned)g->clients_ws_port);
		rc = 0;
	}
	ns_topo_free(&t);
	if (rc < 0)
		fprintf(stderr, "nym-client: no usable gateway%s%s in the topology\n", want ? " " : "",
		        want ? want : "");
	return rc;
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
	if (clientconf_dirs(a->home, a->id, &d) < 0) {
		fprintf(stderr, "nym-client: bad id or no home directory\n");
		return 1;
	}
	if (clientconf_is_initialised(&d)) {
		fprintf(stderr, "nym-client: client \"%s\" was already initialised before\n", a->id);
		return 1;
	}
	if (clientconf_init_defaults(&c, &d, a->id) < 0) {
		fprintf(stderr, "nym-client: paths under %s are too long\n", d.base);
		return 1;
	}
	if (a->nym_apis) {
		snprintf(c.nym_api_urls[0], CLIENTCONF_URL_MAX, "%s", a->nym_apis);
		c.n_nym_api_urls = 1;
	}
	if (a->host)
		snprintf(c.host, sizeof c.host, "%s", a->host);
	if (a->port > 0)
		c.listening_port = (uint16_t)a->port;
	struct nym_recipient addr;
	char ws[CLIENTCONF_URL_MAX], id58[64], path[CLIENTCONF_PATH_MAX + 64], text[700];
	if (choose_gateway(c.nym_api_urls[0], a->gateway, addr.gateway, ws, sizeof ws) < 0)
		return 1;
	if (clientconf_make_dirs(&d) < 0) {
		fprintf(stderr, "nym-client: cannot create %s: %s\n", d.base, strerror(errno));
		return 1;
	}
	if (write_keys(&c, &addr) < 0) {
		fprintf(stderr, "nym-client: cannot write the key files in %s\n", d.data_dir);
		return 1;
	}
	base58_encode(addr.gateway, 32, id58, sizeof id58);
	snprintf(path, sizeof path, "%s/%s", d.data_dir, NC_GATEWAY_FILE);
	int n = snprintf(text, sizeof text, "%s\n%s\n", id58, ws);
	if (clientconf_write_file(path, text, (size_t)n) < 0 || clientconf_save(d.config_file, &c) < 0) {
		fprintf(stderr, "nym-client: cannot write %s: %s\n", d.base, strerror(errno));
		return 1;
	}
	char addr_text[NYM_RECIPIENT_STR_MAX];
	nym_recipient_to_string(&addr, addr_text, sizeof addr_text);
	printf("Client configuration completed.\nThe address of this client is: %s\n", addr_text);
	return 0;
}

static int cmd_run(const struct args *a)
{
	static struct nc_setup s;
	char err[CLIENTCONF_ERR_MAX] = "";
	if (clientconf_dirs(a->home, a->id, &s.dirs) < 0) {
		fprintf(stderr, "nym-client: bad id or no home directory\n");
		return 1;
	}
	if (!clientconf_is_initialised(&s.dirs)) {
		fprintf(stderr, "nym-client: no client \"%s\" (run init first; looked in %s)\n", a->id,
		        s.dirs.base);
		return 1;
	}
	if (clientconf_load(s.dirs.config_file, &s.conf, err) < 0) {
		fprintf(stderr, "nym-client: %s: %s\n", s.dirs.config_file, err);
		return 1;
	}
	if (nc_gateway_load(&s.dirs, s.gateway_identity, s.gateway_ws, sizeof s.gateway_ws) < 0) {
		fprintf(stderr, "nym-client: no gateway recorded in %s\n", s.dirs.data_dir);
		return 1;
	}
	s.sandbox_debug = a->sandbox_debug;
	s.test_keyd_socket = a->test_keyd_socket;
	return nc_supervisor_run(&s);
}

int main(int argc, char **argv)
{
	struct args a;
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	if (ns_crypto_init() < 0) {
		fprintf(stderr, "nym-client: crypto init failed\n");
		return 1;
	}
	if (!strcmp(a.cmd, "init"))
		return cmd_init(&a);
	if (!strcmp(a.cmd, "run"))
		return cmd_run(&a);
	return usage();
}
