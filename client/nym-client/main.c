/* nym-client: the native Nym client, whose front (apid) serves Nym's websocket API and the
 * same API on a Unix socket. Its CLI is the suite's (client/suite/cli.c). */
#include "nymclient.h"

static const struct nc_kind nym_client = {
	.program = "nym-client",
	.front = "apid",
	.front_main = nc_apid_main,
	.front_sandbox = NS_SANDBOX_APID,
	.conf = CC_KIND_CLIENT,
};

int main(int argc, char **argv)
{
	return nc_cli_main(&nym_client, argc, argv);
}
