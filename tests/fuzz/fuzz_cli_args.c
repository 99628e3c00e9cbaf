/* The client programs' argument parser (client/suite/cli_parse.c with the table of
 * cli_table.c and the help texts of cli_help.c, compiled in here: they are not in
 * libnymcommon). Input: argv words separated by NUL bytes (at most 40). Properties: the parser
 * ends with 0 or clap's status 2; on 0 either help/version was asked or a subcommand was
 * parsed with every required option present, each given value points into argv or into the
 * parser's own buffer, and URL lists stay within their bound. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../client/suite/cli_help.c"
#include "../../client/suite/cli_parse.c"
#include "../../client/suite/cli_table.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* a program's own rows, as the SOCKS client's (a required option, aliases, a long help) */
static const struct nc_opt rows[] = {
	{ NC_O_PROVIDER, "provider", 0, NULL, "PROVIDER", NC_V_RECIPIENT, "p", NULL, NC_C(INIT),
	  NC_OPT_REQUIRED, NULL },
	{ NC_O_ANONYMOUS, "use-reply-surbs", 0, "use_anonymous_sender_tag", "USE_REPLY_SURBS",
	  NC_V_BOOL, "a", "a.\n\nb.", NC_C(INIT), 0, NULL },
	{ NC_O_PORT, "port", 'p', NULL, "PORT", NC_V_U16, "port", NULL, NC_C(INIT) | NC_C(RUN), 0,
	  NULL },
	{ NC_O_HOST, "host", 0, NULL, "HOST", NC_V_IP, "host", NULL, NC_C(INIT) | NC_C(RUN), 0, NULL },
	{ NC_O_MEDIUM_TOGGLE, "medium-toggle", 0, NULL, NULL, NC_V_NONE, "m", NULL, NC_C(RUN),
	  NC_OPT_HIDDEN, "no-cover fastmode" },
};
static const struct nc_kind kind = { .program = "fuzz-client", .version = "1", .about = "about",
	                             .init_about = "init", .run_about = "run", .core_name = "fuzz",
	                             .has_sign = 1, .opts = rows,
	                             .n_opts = sizeof rows / sizeof *rows };
static struct nc_table table;
static int devnull, saved_stderr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	devnull = open("/dev/null", O_WRONLY);
	saved_stderr = dup(2);
	if (devnull < 0 || saved_stderr < 0)
		abort();
	nc_table_build(&kind, &table);
	return 0;
}

/* the parser's messages go to /dev/null (libFuzzer's own keep stderr) */
static int parse_quietly(int argc, char **argv, struct nc_args *a)
{
	fflush(stderr);
	dup2(devnull, 2);
	int rc = nc_cli_parse(&table, argc, argv, a);
	fflush(stderr);
	dup2(saved_stderr, 2);
	return rc;
}

static int inside(const char *p, char *const *argv, int argc, const struct nc_args *a)
{
	if (p >= a->buf && p < a->buf + sizeof a->buf)
		return 1;
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return 1;
	return 0;
}

static void check(const struct nc_args *a, char *const *argv, int argc)
{
	if (a->help || a->version)
		return;
	if (!a->has_cmd)
		abort();
	for (size_t i = 0; i < table.n_opts; i++) {
		const struct nc_opt *o = table.opts[i];
		if (nc_opt_in(o, a->cmd) && (o->flags & NC_OPT_REQUIRED) && !a->count[o->id] &&
		    a->cmd != NC_CMD_ECASH && a->cmd != NC_CMD_SIGN)
			abort();
	}
	for (int id = 0; id < NC_O_COUNT; id++) {
		if (a->value[id] && !inside(a->value[id], argv, argc, a))
			abort();
		if (a->n_values[id] > NC_MAX_VALUES)
			abort();
		for (size_t k = 0; k < a->n_values[id]; k++)
			if (!inside(a->values[id][k], argv, argc, a))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nc_args a;
	char *copy = malloc(size + 1), *argv[42];
	int argc = 0;
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = 0;
	argv[argc++] = "fuzz-client";
	for (char *p = copy; p <= copy + size && argc < 41; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	int rc = parse_quietly(argc, argv, &a);
	if (rc != 0 && rc != 2)
		abort();
	if (rc == 0)
		check(&a, argv, argc);
	free(copy);
	return 0;
}
