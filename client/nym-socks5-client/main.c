/* nym-socks5-client: lets existing apps use the mixnet through a local SOCKS4/4a/5 (and HTTP
 * CONNECT) proxy whose front (socksd) speaks to a network requester. Its CLI is the suite's
 * (client/suite/cli.c) plus the SOCKS flags:
 *   init --provider ADDR [--use-reply-surbs BOOL] [-p|--port P] [--host IP]
 *   run [--use-anonymous-replies BOOL] [-p|--port P] [--host IP] [--provider ADDR (ignored)]
 * --use_anonymous_sender_tag is Nym's old name of both BOOL flags. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nymclient.h"
#include "nymsphinx/address.h"

static struct {
	const char *provider, *host;
	long port;      /* 0: not given */
	int anonymous;  /* -1: not given */
} g_flags = { .anonymous = -1 };

/* Rust's bool FromStr: exactly "true" or "false". */
static int parse_bool(const char *v)
{
	if (!v)
		return -1;
	return !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : -1;
}

static int parse_port(const char *v)
{
	char *end;
	long p = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || p < 1 || p > 65535)
		return -1;
	g_flags.port = p;
	return 2;
}

static int parse_host(const char *v)
{
	uint8_t buf[16];
	if (!v || strlen(v) >= sizeof ((struct clientconf_socks5 *)0)->bind_host ||
	    (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1))
		return -1;
	g_flags.host = v;
	return 2;
}

static int anonymous_flag(const char *cmd, const char *flag)
{
	if (!strcmp(flag, "--use_anonymous_sender_tag"))
		return 1;
	return !strcmp(cmd, "init") ? !strcmp(flag, "--use-reply-surbs")
	                            : !strcmp(flag, "--use-anonymous-replies");
}

static int parse_flag(const char *cmd, const char *flag, const char *val)
{
	if (!strcmp(flag, "--provider")) {
		g_flags.provider = val;
		return val ? 2 : -1;
	}
	if (anonymous_flag(cmd, flag)) {
		g_flags.anonymous = parse_bool(val);
		return g_flags.anonymous < 0 ? -1 : 2;
	}
	if (!strcmp(flag, "--port") || !strcmp(flag, "-p"))
		return parse_port(val);
	if (!strcmp(flag, "--host"))
		return parse_host(val);
	if (!strcmp(flag, "-o") || !strcmp(flag, "--output")) /* only Nym's text output */
		return val && !strcmp(val, "text") ? 2 : -1;
	return 0;
}

/* init: the provider (required) and the flags into the fresh config; run: the overrides of
 * this run only (--provider is not one of them, as in Nym). */
static int configure(struct clientconf *c, int init)
{
	struct clientconf_socks5 *s = &c->socks5;
	if (init) {
		if (!g_flags.provider) {
			fprintf(stderr, "nym-socks5-client: init needs --provider ADDRESS\n");
			return -1;
		}
		if (nym_recipient_from_string(g_flags.provider, &s->provider_mix_address) < 0) {
			fprintf(stderr, "nym-socks5-client: bad --provider address %s\n",
			        g_flags.provider);
			return -1;
		}
		s->has_provider = 1;
	}
	if (g_flags.anonymous >= 0)
		s->send_anonymously = g_flags.anonymous;
	if (g_flags.host)
		snprintf(s->bind_host, sizeof s->bind_host, "%s", g_flags.host);
	if (g_flags.port)
		s->bind_port = (uint16_t)g_flags.port;
	return 0;
}

static void init_report(const struct clientconf *c, const char *address)
{
	const struct clientconf_socks5 *s = &c->socks5;
	int v6 = strchr(s->bind_host, ':') != NULL;
	printf("SOCKS5 listening address: %s%s%s:%u\n", v6 ? "[" : "", s->bind_host, v6 ? "]" : "",
	       (unsigned)s->bind_port);
	printf("Address of this client: %s\n", address);
}

static const struct nc_kind socks5_client = {
	.program = "nym-socks5-client",
	.front = "socksd",
	.front_main = nc_socksd_main,
	.front_sandbox = NS_SANDBOX_SOCKSD,
	.conf = CC_KIND_SOCKS5,
	.usage_extra = "\n         --provider ADDR [--use-reply-surbs BOOL]   (run:"
	               " [--use-anonymous-replies BOOL] [--port P] [--host H])",
	.parse_flag = parse_flag,
	.configure = configure,
	.init_report = init_report,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&socks5_client, argc, argv);
}
