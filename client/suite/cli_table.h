/* The command line of the three client programs as one declarative table: subcommands x
 * options (long name, short, alias, value name, help, which subcommands and programs have
 * it, hidden or not). The parser, every `--help`, the shell completions, the Fig spec and
 * the man page are all generated from it (cli_parse.c, cli_help.c, cli_gen.c), laid out as
 * Nym's clap 4 CLI prints them. The rows common to all three programs are in cli_table.c;
 * each program adds its own rows (struct nc_kind's opts). */
#ifndef NC_CLI_TABLE_H
#define NC_CLI_TABLE_H
#include <stddef.h>
#include <stdio.h>

/* Subcommands, as bits (an option's cmds mask). */
enum nc_cmd_id {
	NC_CMD_INIT, NC_CMD_RUN, NC_CMD_ECASH, NC_CMD_SIGN, NC_CMD_LIST_GATEWAYS,
	NC_CMD_ADD_GATEWAY, NC_CMD_SWITCH_GATEWAY, NC_CMD_BUILD_INFO, NC_CMD_COMPLETIONS,
	NC_CMD_FIG_SPEC, NC_CMD_HELP, NC_CMD_COUNT,
	NC_CMD_TOP = NC_CMD_COUNT /* the options before the subcommand */
};
#define NC_C(x) (1u << (NC_CMD_##x))
#define NC_C_TOP (1u << NC_CMD_TOP)

/* Every option's meaning (several rows may share one: e.g. --id, whose help differs per
 * subcommand). */
enum nc_opt_id {
	NC_O_ID, NC_O_GATEWAY, NC_O_GATEWAY_ID, NC_O_FORCE_TLS, NC_O_LATENCY, NC_O_SET_ACTIVE,
	NC_O_NYXD_URLS, NC_O_NYM_APIS, NC_O_CUSTOM_MIXNET, NC_O_CREDENTIALS, NC_O_FASTMODE,
	NC_O_NO_COVER, NC_O_STATS_ADDRESS, NC_O_FORGET_ME, NC_O_DISABLE_SOCKET, NC_O_PORT,
	NC_O_HOST, NC_O_OUTPUT, NC_O_PROVIDER, NC_O_ANONYMOUS, NC_O_OPEN_PROXY, NC_O_MEDIUM_TOGGLE,
	NC_O_OUTFOX, NC_O_SHELL, NC_O_CONTRACT_MSG, NC_O_CONFIG_ENV_FILE, NC_O_NO_BANNER,
	/* ours, hidden */
	NC_O_HOME, NC_O_SANDBOX_DEBUG, NC_O_TEST_KEYD_SOCKET,
	NC_O_COUNT
};

/* What an option's value is (checked by the parser, with clap's error texts). */
enum nc_val {
	NC_V_NONE,   /* a flag */
	NC_V_STRING,
	NC_V_BOOL,   /* true | false */
	NC_V_U16,
	NC_V_IP,
	NC_V_OUTPUT, /* text | json */
	NC_V_SHELL,  /* bash | elvish | fish | power-shell | zsh */
	NC_V_KEY,    /* ed25519 public key, base58 */
	NC_V_URLS,   /* comma-separated URLs (clap value_delimiter ','; repeatable) */
	NC_V_PATH,
	NC_V_RECIPIENT,
};

#define NC_OPT_HIDDEN 1u
#define NC_OPT_REQUIRED 2u
#define NC_OPT_POSITIONAL 4u
#define NC_OPT_DEFAULT_TEXT 8u /* shows "[default: text]" */

struct nc_opt {
	enum nc_opt_id id;
	const char *name;       /* long name without "--"; a positional's value name */
	char short_name;        /* 0: none */
	const char *alias;      /* clap's hidden alias, or NULL */
	const char *value_name; /* NULL for a flag */
	enum nc_val val;
	const char *help;       /* clap's short help: first paragraph, no closing period */
	const char *long_help;  /* NULL: only help */
	unsigned cmds;          /* NC_C(...) bits */
	unsigned flags;
	const char *conflicts;  /* long name of an option it conflicts with, or NULL */
};

struct nc_kind;

/* One subcommand as a program shows it. */
struct nc_cmd {
	enum nc_cmd_id id;
	const char *name;
	const char *about;
};

/* The table of a program: its subcommands in display order, then its options in display
 * order (the common rows, the program's own, the closing common rows). */
struct nc_table {
	const char *program;  /* "nym-client" */
	const char *bin_name; /* the name completions are generated for ("nym-native-client") */
	const char *about;    /* the crate description, or NULL */
	const char *version;  /* the Nym version it stands in for */
	struct nc_cmd cmds[NC_CMD_COUNT];
	size_t n_cmds;
	const struct nc_opt *opts[160];
	size_t n_opts;
};

/* Builds the table of kind (its rows and subcommands). */
void nc_table_build(const struct nc_kind *kind, struct nc_table *t);
const struct nc_cmd *nc_table_cmd(const struct nc_table *t, enum nc_cmd_id id);
const struct nc_cmd *nc_table_cmd_named(const struct nc_table *t, const char *name);
/* The row of option number i shown for cmd (NC_CMD_TOP for the global ones). */
int nc_opt_in(const struct nc_opt *o, enum nc_cmd_id cmd);

/* ---- parsing (cli_parse.c) */

#define NC_MAX_VALUES 16
struct nc_args {
	enum nc_cmd_id cmd;
	int has_cmd;
	int count[NC_O_COUNT];                        /* occurrences */
	const char *value[NC_O_COUNT];                /* the last value given */
	const char *values[NC_O_COUNT][NC_MAX_VALUES]; /* NC_V_URLS: every piece (in buf) */
	size_t n_values[NC_O_COUNT];
	char buf[4096];                               /* the split URL lists */
	size_t buf_used;
	int help, long_help, version, long_version;   /* -h / --help / -V / --version */
	const char *help_of;                           /* `help SUBCOMMAND` */
	const char *argv0;                             /* basename of argv[0] */
};

/* Parses argv as clap would. 0: parsed (or help / version asked: a->help, a->version set);
 * 2: an error was printed to stderr (clap's exit status 2). */
int nc_cli_parse(const struct nc_table *t, int argc, char **argv, struct nc_args *a);

/* ---- output (cli_help.c, cli_gen.c) */

/* `--help` (long = 1) or `-h` of cmd (NC_CMD_TOP: the program's own). */
void nc_help_print(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd, int long_help,
                   const char *argv0);
/* clap's "Usage: ..." line text (without "Usage: ") of cmd. */
void nc_usage_text(const struct nc_table *t, enum nc_cmd_id cmd, const char *argv0, char *out,
                   size_t cap);
/* clap's text of an option ("--id <ID>", "-p, --port <PORT>" with short = 1). */
void nc_opt_spec(const struct nc_opt *o, int with_short, char *out, size_t cap);
/* Shell completions: shell one of bash, elvish, fish, power-shell, zsh. 0 or -1. */
int nc_completions_print(FILE *out, const struct nc_table *t, const char *shell);
void nc_fig_print(FILE *out, const struct nc_table *t);
/* The man page (roff) of the program. */
void nc_man_print(FILE *out, const struct nc_table *t);

/* ---- environment (cli_env.c), Nym's setup_env and read_var_if_not_default */

/* Without CONFIGURED in the environment: the -c file's variables are loaded (never replacing
 * one already set), or without a file the mainnet defaults replace NYM_API and NYXD; with
 * CONFIGURED the environment is taken as it is. The deprecated API_VALIDATOR and
 * NYMD_VALIDATOR fill NYM_API and NYXD when these are unset. 0, or -1 with the reason (the
 * file cannot be read or parsed). */
int nc_env_setup(const char *env_file, char *err, size_t errcap);
/* The value of name as an override of the config (NYM_API, NYXD,
 * CLIENT_STATS_COLLECTION_PROVIDER), or NULL when unset or a mainnet default. */
const char *nc_env_override(const char *name);

#endif
