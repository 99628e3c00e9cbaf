/* nym-client: the native Nym client, whose front (apid) serves Nym's websocket API and the
 * same API on a Unix socket. Its CLI is the suite's (client/suite/cli.c) with the rows of
 * Nym's clients/native commands below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"
#include "nymclient.h"

static const struct nc_opt rows[] = {
	{ NC_O_DISABLE_SOCKET, "disable-socket", 0, NULL, "DISABLE_SOCKET", NC_V_BOOL,
	  "Whether to not start the websocket", NULL, NC_C(INIT) | NC_C(RUN), 0, NULL },
	{ NC_O_PORT, "port", 'p', NULL, "PORT", NC_V_U16,
	  "Port for the socket (if applicable) to listen on in all subsequent runs", NULL,
	  NC_C(INIT), 0, NULL },
	{ NC_O_PORT, "port", 'p', NULL, "PORT", NC_V_U16, "Port for the socket to listen on", NULL,
	  NC_C(RUN), 0, NULL },
	{ NC_O_HOST, "host", 0, NULL, "HOST", NC_V_IP,
	  "Ip for the socket (if applicable) to listen for requests", NULL, NC_C(INIT) | NC_C(RUN),
	  0, NULL },
};

/* Nym's override_config: --disable-socket, --port, --host (at run for this run only) */
static int configure(struct clientconf *c, int init, const struct nc_args *a, char *err,
                     size_t cap)
{
	(void)init, (void)err, (void)cap;
	const char *v = a->value[NC_O_DISABLE_SOCKET];
	if (v)
		c->socket_websocket = strcmp(v, "true") != 0;
	if (a->value[NC_O_PORT])
		c->listening_port = (uint16_t)atoi(a->value[NC_O_PORT]);
	if (a->value[NC_O_HOST])
		snprintf(c->host, sizeof c->host, "%s", a->value[NC_O_HOST]);
	return 0;
}

static const struct nc_kind nym_client = {
	.program = "nym-client",
	.front = "apid",
	.front_main = nc_apid_main,
	.front_sandbox = NS_SANDBOX_APID,
	.conf = CC_KIND_CLIENT,
	.version = CLIENTCONF_VERSION,
	.about = "Implementation of the Nym Client",
	.init_about = "Initialise a Nym client. Do this first!",
	.run_about = "Run the Nym client with provided configuration client optionally overriding "
	             "set parameters",
	.completion_name = "nym-native-client",
	.core_name = "native",
	.opts = rows,
	.n_opts = sizeof rows / sizeof *rows,
	.configure = configure,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&nym_client, argc, argv);
}
