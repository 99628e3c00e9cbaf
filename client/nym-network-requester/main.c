/* nym-network-requester: the Nym network requester (an exit for SOCKS clients and
 * mix-fetch), whose front (exitd) speaks the NR protocol and opens the outbound TCP
 * connections. Its CLI is the suite's (client/suite/cli.c) with the rows of Nym's
 * service-providers/network-requester cli below. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_table.h"
#include "nymclient.h"

static const struct nc_opt rows[] = {
	{ NC_O_OPEN_PROXY, "open-proxy", 0, NULL, "OPEN_PROXY", NC_V_BOOL,
	  "Specifies whether this network requester should run in 'open-proxy' mode", NULL,
	  NC_C(INIT) | NC_C(RUN), 0, NULL },
	{ NC_O_MEDIUM_TOGGLE, "medium-toggle", 0, NULL, NULL, NC_V_NONE,
	  "Enable medium mixnet traffic, for experiments only. This includes things like disabling "
	  "cover traffic, no per hop delays, etc", NULL, NC_C(RUN), NC_OPT_HIDDEN,
	  "no-cover fastmode" },
};

/* Nym's override_config: --open-proxy over the config; at run, disable_poisson_rate goes
 * into the traffic setting (try_apply_traffic_modes). */
static int configure(struct clientconf *c, int init, const struct nc_args *a, char *err,
                     size_t cap)
{
	(void)err, (void)cap;
	const char *v = a->value[NC_O_OPEN_PROXY];
	if (v)
		c->nr.open_proxy = !strcmp(v, "true");
	if (!init && c->nr.disable_poisson_rate)
		c->debug.disable_main_poisson_packet_distribution = 1;
	if (!init && c->nr.open_proxy)
		printf("\n\nYOU HAVE STARTED IN 'OPEN PROXY' MODE. ANYONE WITH YOUR CLIENT ADDRESS CAN "
		       "MAKE REQUESTS FROM YOUR MACHINE. PLEASE QUIT IF YOU DON'T UNDERSTAND WHAT "
		       "YOU'RE DOING.\n\n\n");
	fflush(stdout);
	return 0;
}

static void init_report(const struct clientconf *c, const char *address, struct cJSON *json)
{
	(void)c;
	if (json)
		cJSON_AddStringToObject(json, "client_address", address);
	else
		printf("Address of this network-requester: %s\n", address);
}

static const struct nc_kind network_requester = {
	.program = "nym-network-requester",
	.front = "exitd",
	.front_main = nc_exitd_main,
	.front_sandbox = NS_SANDBOX_EXITD,
	.conf = CC_KIND_NR,
	.version = CLIENTCONF_NR_VERSION,
	.init_about = "Initialize a network-requester. Do this first!",
	.run_about = "Run the network requester with the provided configuration and optionally "
	             "override parameters",
	.core_name = "network requester",
	.has_sign = 1,
	.rust_errors = 1,
	.run_quiet = 1,
	.opts = rows,
	.n_opts = sizeof rows / sizeof *rows,
	.configure = configure,
	.init_report = init_report,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&network_requester, argc, argv);
}
