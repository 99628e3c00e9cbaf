/* nym-socks5-client: lets existing apps use the mixnet through a local SOCKS4/4a/5 (and HTTP
 * CONNECT) proxy whose front (socksd) speaks to a network requester. Its CLI is the suite's
 * (client/suite/cli.c) with the rows of Nym's clients/socks5 commands below; run's
 * --provider is parsed and ignored, as Nym's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_table.h"
#include "nymclient.h"
#include "nymsphinx/address.h"

#define ANON_HELP                                                                            \
	"Specifies whether this client is going to use an anonymous sender tag for communication " \
	"with the service provider. While this is going to hide its actual address information, " \
	"it will make the actual communication slower and consume nearly double the bandwidth as " \
	"it will require sending reply SURBs"

static const struct nc_opt rows[] = {
	{ NC_O_PROVIDER, "provider", 0, NULL, "PROVIDER", NC_V_RECIPIENT,
	  "Address of the socks5 provider to send messages to", NULL, NC_C(INIT), NC_OPT_REQUIRED,
	  NULL },
	{ NC_O_ANONYMOUS, "use-reply-surbs", 0, "use_anonymous_sender_tag", "USE_REPLY_SURBS",
	  NC_V_BOOL, ANON_HELP, ANON_HELP ".\n\nNote that some service providers might not support "
	  "this.", NC_C(INIT), 0, NULL },
	{ NC_O_ANONYMOUS, "use-anonymous-replies", 0, "use_anonymous_sender_tag",
	  "USE_ANONYMOUS_REPLIES", NC_V_BOOL, ANON_HELP, ANON_HELP ".\n\nNote that some service "
	  "providers might not support this.", NC_C(RUN), 0, NULL },
	{ NC_O_PROVIDER, "provider", 0, NULL, "PROVIDER", NC_V_RECIPIENT,
	  "Address of the socks5 provider to send messages to", NULL, NC_C(RUN), 0, NULL },
	{ NC_O_PORT, "port", 'p', NULL, "PORT", NC_V_U16,
	  "Port for the socket to listen on in all subsequent runs", NULL, NC_C(INIT), 0, NULL },
	{ NC_O_PORT, "port", 'p', NULL, "PORT", NC_V_U16, "Port for the socket to listen on", NULL,
	  NC_C(RUN), 0, NULL },
	{ NC_O_HOST, "host", 0, NULL, "HOST", NC_V_IP,
	  "The custom host on which the socks5 client will be listening for requests", NULL,
	  NC_C(INIT) | NC_C(RUN), 0, NULL },
	{ NC_O_MEDIUM_TOGGLE, "medium-toggle", 0, NULL, NULL, NC_V_NONE,
	  "Enable medium mixnet traffic, for experiments only. This includes things like disabling "
	  "cover traffic, no per hop delays, etc", NULL, NC_C(RUN), NC_OPT_HIDDEN, NULL },
	{ NC_O_OUTFOX, "outfox", 0, NULL, NULL, NC_V_NONE, NULL, NULL, NC_C(RUN), NC_OPT_HIDDEN,
	  NULL },
};

/* init: the provider (required) and the flags into the fresh config; run: the overrides of
 * this run only (--provider is not one of them, as in Nym). */
static int configure(struct clientconf *c, int init, const struct nc_args *a, char *err,
                     size_t cap)
{
	struct clientconf_socks5 *s = &c->socks5;
	if (init) {
		const char *p = a->value[NC_O_PROVIDER];
		if (!p || nym_recipient_from_string(p, &s->provider_mix_address) < 0) {
			snprintf(err, cap, "bad --provider address %s", p ? p : "(none)");
			return -1;
		}
		s->has_provider = 1;
	}
	if (a->value[NC_O_ANONYMOUS])
		s->send_anonymously = !strcmp(a->value[NC_O_ANONYMOUS], "true");
	if (a->value[NC_O_HOST]) {
		if (strlen(a->value[NC_O_HOST]) >= sizeof s->bind_host) {
			snprintf(err, cap, "--host %s is too long", a->value[NC_O_HOST]);
			return -1;
		}
		snprintf(s->bind_host, sizeof s->bind_host, "%s", a->value[NC_O_HOST]);
	}
	if (a->value[NC_O_PORT])
		s->bind_port = (uint16_t)atoi(a->value[NC_O_PORT]);
	return 0;
}

static void init_report(const struct clientconf *c, const char *address, struct cJSON *json)
{
	const struct clientconf_socks5 *s = &c->socks5;
	char bind[128];
	int v6 = strchr(s->bind_host, ':') != NULL;
	snprintf(bind, sizeof bind, "%s%s%s:%u", v6 ? "[" : "", s->bind_host, v6 ? "]" : "",
	         (unsigned)s->bind_port);
	if (json) {
		cJSON_AddStringToObject(json, "socks5_listening_address", bind);
		cJSON_AddStringToObject(json, "client_address", address);
		return;
	}
	printf("SOCKS5 listening address: %s\nAddress of this client: %s\n", bind, address);
}

static const struct nc_kind socks5_client = {
	.program = "nym-socks5-client",
	.front = "socksd",
	.front_main = nc_socksd_main,
	.front_sandbox = NS_SANDBOX_SOCKSD,
	.conf = CC_KIND_SOCKS5,
	.version = CLIENTCONF_VERSION,
	.about = "A SOCKS5 localhost proxy that converts incoming messages to Sphinx and sends "
	         "them to a Nym address",
	.init_about = "Initialise a Nym client. Do this first!",
	.run_about = "Run the Nym client with provided configuration client optionally overriding "
	             "set parameters",
	.core_name = "socks5",
	.opts = rows,
	.n_opts = sizeof rows / sizeof *rows,
	.configure = configure,
	.init_report = init_report,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&socks5_client, argc, argv);
}
