/* The rows every client program shares (Nym b4046a89's CommonClient*Args, the global
 * options, build-info's and list-gateways' -o) and the table a program is built from: these
 * rows around the program's own (struct nc_kind's opts). Help texts are clap's: the doc
 * comment's first paragraph without its closing period. */
#include <string.h>

#include "cli_table.h"
#include "nymclient.h"

#define INIT_RUN (NC_C(INIT) | NC_C(RUN))
#define WITH_HOME (INIT_RUN | NC_C(LIST_GATEWAYS) | NC_C(ADD_GATEWAY) | NC_C(SWITCH_GATEWAY))

static const struct nc_opt top_rows[] = {
	{ NC_O_CONFIG_ENV_FILE, "config-env-file", 'c', NULL, "CONFIG_ENV_FILE", NC_V_PATH,
	  "Path pointing to an env file that configures the client", NULL, NC_C_TOP, 0, NULL },
	{ NC_O_NO_BANNER, "no-banner", 0, NULL, NULL, NC_V_NONE,
	  "Flag used for disabling the printed banner in tty", NULL, NC_C_TOP, 0, NULL },
};

static const struct nc_opt lead_rows[] = {
	{ NC_O_ID, "id", 0, NULL, "ID", NC_V_STRING, "Id of client we want to create config for",
	  NULL, INIT_RUN, NC_OPT_REQUIRED, NULL },
	{ NC_O_ID, "id", 0, NULL, "ID", NC_V_STRING, "Id of client we want to list gateways for",
	  NULL, NC_C(LIST_GATEWAYS) | NC_C(SWITCH_GATEWAY), NC_OPT_REQUIRED, NULL },
	{ NC_O_ID, "id", 0, NULL, "ID", NC_V_STRING, "Id of client we want to add gateway for",
	  NULL, NC_C(ADD_GATEWAY), NC_OPT_REQUIRED, NULL },
	{ NC_O_GATEWAY, "gateway", 0, NULL, "GATEWAY", NC_V_KEY,
	  "Id of the gateway we are going to connect to", NULL, NC_C(INIT), 0, NULL },
	{ NC_O_GATEWAY, "gateway", 0, NULL, "GATEWAY", NC_V_KEY,
	  "Id of the gateway we want to connect to. If overridden, it is user's responsibility to "
	  "ensure prior registration happened", NULL, NC_C(RUN), 0, NULL },
	{ NC_O_GATEWAY_ID, "gateway-id", 0, "gateway", "GATEWAY_ID", NC_V_KEY,
	  "Explicitly specify id of the gateway to register with. If unspecified, a random gateway "
	  "will be chosen instead", NULL, NC_C(ADD_GATEWAY), 0, NULL },
	{ NC_O_GATEWAY_ID, "gateway-id", 0, NULL, "GATEWAY_ID", NC_V_KEY,
	  "Id of the gateway we want to switch to", NULL, NC_C(SWITCH_GATEWAY), NC_OPT_REQUIRED,
	  NULL },
	{ NC_O_FORCE_TLS, "force-tls-gateway", 0, NULL, NULL, NC_V_NONE,
	  "Specifies whether the client will attempt to enforce tls connection to the desired "
	  "gateway", NULL, NC_C(INIT) | NC_C(ADD_GATEWAY), 0, NULL },
	{ NC_O_LATENCY, "latency-based-selection", 0, NULL, NULL, NC_V_NONE,
	  "Specifies whether the new gateway should be determined based by latency as opposed to "
	  "being chosen uniformly", NULL, NC_C(INIT), 0, "gateway" },
	{ NC_O_LATENCY, "latency-based-selection", 0, NULL, NULL, NC_V_NONE,
	  "Specifies whether the new gateway should be determined based by latency as opposed to "
	  "being chosen uniformly", NULL, NC_C(ADD_GATEWAY), 0, "gateway-id" },
	{ NC_O_SET_ACTIVE, "set-active", 0, NULL, NULL, NC_V_NONE,
	  "Specify whether this new gateway should be set as the active one", NULL,
	  NC_C(ADD_GATEWAY), 0, NULL },
	{ NC_O_NYXD_URLS, "nyxd-urls", 0, "nyxd_validators", "NYXD_URLS", NC_V_URLS,
	  "Comma separated list of rest endpoints of the nyxd validators", NULL, INIT_RUN,
	  NC_OPT_HIDDEN, NULL },
	{ NC_O_NYM_APIS, "nym-apis", 0, "api_validators", "NYM_APIS", NC_V_URLS,
	  "Comma separated list of rest endpoints of the API validators", NULL,
	  INIT_RUN | NC_C(ADD_GATEWAY), 0, "custom-mixnet" },
	{ NC_O_CUSTOM_MIXNET, "custom-mixnet", 0, NULL, "CUSTOM_MIXNET", NC_V_PATH,
	  "Path to .json file containing custom network specification", NULL,
	  INIT_RUN | NC_C(ADD_GATEWAY), NC_OPT_HIDDEN, "nym-apis" },
	{ NC_O_CREDENTIALS, "enabled-credentials-mode", 0, NULL, "ENABLED_CREDENTIALS_MODE",
	  NC_V_BOOL, "Set this client to work in a enabled credentials mode that would attempt to "
	  "use gateway with bandwidth credential requirement", NULL, INIT_RUN, NC_OPT_HIDDEN, NULL },
	{ NC_O_FASTMODE, "fastmode", 0, NULL, NULL, NC_V_NONE,
	  "Mostly debug-related option to increase default traffic rate so that you would not need "
	  "to modify config post init", NULL, INIT_RUN, NC_OPT_HIDDEN, NULL },
	{ NC_O_NO_COVER, "no-cover", 0, NULL, NULL, NC_V_NONE,
	  "Disable loop cover traffic and the Poisson rate limiter (for debugging only)", NULL,
	  INIT_RUN, NC_OPT_HIDDEN, NULL },
	{ NC_O_STATS_ADDRESS, "stats-reporting-address", 0, NULL, "STATS_REPORTING_ADDRESS",
	  NC_V_RECIPIENT, "Sets the address to report statistics", NULL, INIT_RUN, NC_OPT_HIDDEN,
	  NULL },
	{ NC_O_FORGET_ME, "forget-me", 0, NULL, NULL, NC_V_NONE, "Sets the forget me flag", NULL,
	  INIT_RUN, NC_OPT_HIDDEN, NULL },
	{ NC_O_SHELL, "SHELL", 0, NULL, "SHELL", NC_V_SHELL, NULL, NULL, NC_C(COMPLETIONS),
	  NC_OPT_POSITIONAL | NC_OPT_REQUIRED, NULL },
	/* ours: --home replaces $HOME (as $NYM_HOME_DIR does); the sandbox test hooks */
	{ NC_O_HOME, "home", 0, NULL, "HOME", NC_V_PATH, "Folder holding .nym/ instead of $HOME",
	  NULL, WITH_HOME, NC_OPT_HIDDEN, NULL },
	{ NC_O_SANDBOX_DEBUG, "sandbox-debug", 0, NULL, NULL, NC_V_NONE,
	  "Log the system call a sandbox refused", NULL, NC_C(RUN), NC_OPT_HIDDEN, NULL },
	{ NC_O_TEST_KEYD_SOCKET, "test-keyd-socket", 0, NULL, NULL, NC_V_NONE,
	  "Test hook: keyd calls socket() once sandboxed", NULL, NC_C(RUN), NC_OPT_HIDDEN, NULL },
};

static const struct nc_opt tail_rows[] = {
	{ NC_O_OUTPUT, "output", 'o', NULL, "OUTPUT", NC_V_OUTPUT, NULL, NULL,
	  NC_C(INIT) | NC_C(LIST_GATEWAYS) | NC_C(ADD_GATEWAY) | NC_C(BUILD_INFO),
	  NC_OPT_DEFAULT_TEXT, NULL },
};

int nc_opt_in(const struct nc_opt *o, enum nc_cmd_id cmd)
{
	return (o->cmds & (1u << cmd)) != 0;
}

static void add_rows(struct nc_table *t, const struct nc_opt *rows, size_t n)
{
	for (size_t i = 0; i < n && t->n_opts < sizeof t->opts / sizeof *t->opts; i++)
		t->opts[t->n_opts++] = &rows[i];
}

static void add_cmd(struct nc_table *t, enum nc_cmd_id id, const char *name, const char *about)
{
	t->cmds[t->n_cmds++] = (struct nc_cmd){ id, name, about };
}

void nc_table_build(const struct nc_kind *k, struct nc_table *t)
{
	memset(t, 0, sizeof *t);
	t->program = k->program;
	t->bin_name = k->completion_name ? k->completion_name : k->program;
	t->about = k->about;
	t->version = k->version;
	add_cmd(t, NC_CMD_INIT, "init", k->init_about);
	add_cmd(t, NC_CMD_RUN, "run", k->run_about);
	add_cmd(t, NC_CMD_ECASH, "ecash", "Ecash-related functionalities");
	if (k->has_sign)
		add_cmd(t, NC_CMD_SIGN, "sign", "Sign to prove ownership of this network requester");
	add_cmd(t, NC_CMD_LIST_GATEWAYS, "list-gateways", "List all registered with gateways");
	add_cmd(t, NC_CMD_ADD_GATEWAY, "add-gateway", "Add new gateway to this client");
	add_cmd(t, NC_CMD_SWITCH_GATEWAY, "switch-gateway",
	        "Change the currently active gateway. Note that you must have already registered "
	        "with the new gateway!");
	add_cmd(t, NC_CMD_BUILD_INFO, "build-info", "Show build information of this binary");
	add_cmd(t, NC_CMD_COMPLETIONS, "completions", "Generate shell completions");
	add_cmd(t, NC_CMD_FIG_SPEC, "generate-fig-spec", "Generate Fig specification");
	add_cmd(t, NC_CMD_HELP, "help", "Print this message or the help of the given subcommand(s)");
	add_rows(t, top_rows, sizeof top_rows / sizeof *top_rows);
	add_rows(t, lead_rows, sizeof lead_rows / sizeof *lead_rows);
	add_rows(t, k->opts, k->n_opts);
	add_rows(t, tail_rows, sizeof tail_rows / sizeof *tail_rows);
}

const struct nc_cmd *nc_table_cmd(const struct nc_table *t, enum nc_cmd_id id)
{
	for (size_t i = 0; i < t->n_cmds; i++)
		if (t->cmds[i].id == id)
			return &t->cmds[i];
	return NULL;
}

const struct nc_cmd *nc_table_cmd_named(const struct nc_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_cmds; i++)
		if (!strcmp(t->cmds[i].name, name))
			return &t->cmds[i];
	return NULL;
}
