/* nym-network-requester: the Nym network requester (an exit for SOCKS clients and
 * mix-fetch), whose front (exitd) speaks the NR protocol and opens the outbound TCP
 * connections. Its CLI is the suite's (client/suite/cli.c) plus --open-proxy. */
#include <stdio.h>
#include <string.h>

#include "nymclient.h"

static int open_proxy_flag = -1; /* --open-proxy: -1 not given */

/* Nym's clap bool: "true" or "false". */
static int parse_bool(const char *v)
{
	if (v && !strcmp(v, "true"))
		return 1;
	if (v && !strcmp(v, "false"))
		return 0;
	return -1;
}

static int parse_flag(const char *cmd, const char *flag, const char *val)
{
	(void)cmd;
	if (strcmp(flag, "--open-proxy") != 0)
		return 0;
	open_proxy_flag = parse_bool(val);
	return open_proxy_flag < 0 ? -1 : 2;
}

/* Nym's override_config: --open-proxy over the config; at run, disable_poisson_rate goes
 * into the traffic setting (try_apply_traffic_modes). */
static int configure(struct clientconf *c, int init)
{
	if (open_proxy_flag >= 0)
		c->nr.open_proxy = open_proxy_flag;
	if (!init && c->nr.disable_poisson_rate)
		c->debug.disable_main_poisson_packet_distribution = 1;
	if (!init && c->nr.open_proxy)
		printf("\n\nOPEN PROXY: this network requester was started in open-proxy mode. Anyone "
		       "with its address can make requests from this machine (the special-address "
		       "guard still refuses loopback and private destinations). Quit unless you "
		       "mean it.\n\n");
	fflush(stdout);
	return 0;
}

static const struct nc_kind network_requester = {
	.program = "nym-network-requester",
	.front = "exitd",
	.front_main = nc_exitd_main,
	.front_sandbox = NS_SANDBOX_EXITD,
	.conf = CC_KIND_NR,
	.usage_extra = " [--open-proxy BOOL]",
	.parse_flag = parse_flag,
	.configure = configure,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&network_requester, argc, argv);
}
