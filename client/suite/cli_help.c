/* `--help` and `-h` of the client programs from the table, in clap 4's layout as Nym's
 * binaries print it (clap without its wrap_help feature: a 100-column decision, no
 * wrapping): sections Commands / Arguments / Options, help beside the option unless one help
 * of the section would not fit (then every help on the next line, indented 10), and with
 * `--help` on a command that has a long help, every help on the next line with a blank line
 * between options and the value lists in their own paragraph. */
#include <stdio.h>
#include <string.h>

#include "cli_table.h"

#define TERM_WIDTH 100

void nc_opt_spec(const struct nc_opt *o, int with_short, char *out, size_t cap)
{
	if (o->flags & NC_OPT_POSITIONAL) {
		snprintf(out, cap, "<%s>", o->value_name);
		return;
	}
	char sh[8] = "";
	if (with_short)
		snprintf(sh, sizeof sh, o->short_name ? "-%c, " : "    ", o->short_name);
	snprintf(out, cap, "%s--%s%s%s%s", sh, o->name, o->value_name ? " <" : "",
	         o->value_name ? o->value_name : "", o->value_name ? ">" : "");
}

static int shown(const struct nc_opt *o, enum nc_cmd_id cmd)
{
	return nc_opt_in(o, cmd) && !(o->flags & NC_OPT_HIDDEN);
}

void nc_usage_text(const struct nc_table *t, enum nc_cmd_id cmd, const char *argv0, char *out,
                   size_t cap)
{
	size_t n = 0;
	if (cmd == NC_CMD_TOP) {
		snprintf(out, cap, "%s [OPTIONS] <COMMAND>", argv0);
		return;
	}
	const struct nc_cmd *c = nc_table_cmd(t, cmd);
	n += (size_t)snprintf(out + n, cap - n, "%s %s", argv0, c ? c->name : "");
	if (cmd == NC_CMD_ECASH) {
		snprintf(out + n, cap - n, " <COMMAND>");
		return;
	}
	if (cmd == NC_CMD_HELP) {
		snprintf(out + n, cap - n, " [COMMAND]...");
		return;
	}
	int optional = 0;
	for (size_t i = 0; i < t->n_opts; i++) {
		const struct nc_opt *o = t->opts[i];
		if (shown(o, cmd) && !(o->flags & (NC_OPT_REQUIRED | NC_OPT_POSITIONAL)))
			optional = 1;
	}
	if (optional && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " [OPTIONS]");
	for (int pos = 0; pos < 2; pos++)
		for (size_t i = 0; i < t->n_opts && n < cap; i++) {
			const struct nc_opt *o = t->opts[i];
			char spec[160];
			if (!nc_opt_in(o, cmd) || !(o->flags & NC_OPT_REQUIRED) ||
			    !(o->flags & NC_OPT_POSITIONAL) != !pos)
				continue;
			nc_opt_spec(o, 0, spec, sizeof spec);
			n += (size_t)snprintf(out + n, cap - n, " %s", spec);
		}
}

/* One entry of a section: its spec (with the short column), help and value lists. */
struct entry {
	char spec[160];
	size_t width; /* for the column: the spec without the short part, + 4 for an option */
	int positional;
	const char *help;
	char vals[2][160]; /* "[default: ...]", "[possible values: ...]" */
	size_t n_vals;
};

static void entry_values(struct entry *e, const struct nc_opt *o)
{
	static const char *const lists[][6] = {
		[NC_V_BOOL] = { "true", "false" },
		[NC_V_OUTPUT] = { "text", "json" },
		[NC_V_SHELL] = { "bash", "elvish", "fish", "power-shell", "zsh" },
	};
	if (o->flags & NC_OPT_DEFAULT_TEXT)
		snprintf(e->vals[e->n_vals++], sizeof e->vals[0], "[default: text]");
	if (o->val != NC_V_BOOL && o->val != NC_V_OUTPUT && o->val != NC_V_SHELL)
		return;
	char *v = e->vals[e->n_vals++];
	size_t n = (size_t)snprintf(v, sizeof e->vals[0], "[possible values: ");
	for (size_t i = 0; lists[o->val][i]; i++)
		n += (size_t)snprintf(v + n, sizeof e->vals[0] - n, "%s%s", i ? ", " : "",
		                      lists[o->val][i]);
	snprintf(v + n, sizeof e->vals[0] - n, "]");
}

static void entry_of(struct entry *e, const struct nc_opt *o, int use_long)
{
	memset(e, 0, sizeof *e);
	e->positional = (o->flags & NC_OPT_POSITIONAL) != 0;
	nc_opt_spec(o, !e->positional, e->spec, sizeof e->spec);
	char bare[160];
	nc_opt_spec(o, 0, bare, sizeof bare);
	e->width = strlen(bare) + (e->positional ? 0 : 4);
	e->help = use_long && o->long_help ? o->long_help : o->help;
	entry_values(e, o);
}

static void entry_plain(struct entry *e, const char *spec, const char *help)
{
	memset(e, 0, sizeof *e);
	snprintf(e->spec, sizeof e->spec, "%s", spec);
	e->width = strlen(spec);
	e->help = help;
}

/* The help text with its value lists (short: one line; long: own paragraphs). */
static void entry_text(const struct entry *e, int use_long, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "%s", e->help ? e->help : "");
	for (size_t i = 0; i < e->n_vals && n < cap; i++) {
		const char *sep = n == 0 ? "" : !use_long ? " " : i == 0 ? "\n\n" : "\n";
		n += (size_t)snprintf(out + n, cap - n, "%s%s", sep, e->vals[i]);
	}
}

static void print_indented(FILE *out, const char *text)
{
	for (const char *line = text; line;) {
		const char *nl = strchr(line, '\n');
		fprintf(out, "          %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
		line = nl ? nl + 1 : NULL;
	}
}

static void print_section(FILE *out, const char *title, const struct entry *e, size_t n,
                          int use_long)
{
	size_t longest = 0;
	char text[1024];
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if (e[i].width > longest)
			longest = e[i].width;
	int next_line = use_long;
	for (size_t i = 0; i < n && !next_line; i++) {
		size_t taken = longest + 4;
		entry_text(&e[i], 0, text, sizeof text);
		next_line = TERM_WIDTH >= taken && (double)taken / TERM_WIDTH > 0.40 &&
		            strlen(text) > TERM_WIDTH - taken;
	}
	fprintf(out, "\n%s:\n", title);
	for (size_t i = 0; i < n; i++) {
		entry_text(&e[i], use_long, text, sizeof text);
		if (use_long && i)
			fprintf(out, "\n");
		if (next_line) {
			fprintf(out, "  %s\n", e[i].spec);
			if (text[0])
				print_indented(out, text);
		} else {
			int pad = (int)(longest - e[i].width) + 2;
			fprintf(out, "  %s%s%*s%s\n", e[i].spec,
			        "", text[0] ? pad : 0, "", text);
		}
	}
}

static int cmd_has_long(const struct nc_table *t, enum nc_cmd_id cmd)
{
	for (size_t i = 0; i < t->n_opts; i++)
		if (nc_opt_in(t->opts[i], cmd) && t->opts[i]->long_help)
			return 1;
	return 0;
}

static void print_commands(FILE *out, const struct nc_table *t)
{
	size_t longest = 0;
	for (size_t i = 0; i < t->n_cmds; i++)
		if (strlen(t->cmds[i].name) > longest)
			longest = strlen(t->cmds[i].name);
	fprintf(out, "\nCommands:\n");
	for (size_t i = 0; i < t->n_cmds; i++)
		fprintf(out, "  %-*s  %s\n", (int)longest, t->cmds[i].name, t->cmds[i].about);
}

void nc_help_print(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd, int long_help,
                   const char *argv0)
{
	static struct entry opts[64], args[4];
	size_t n_opts = 0, n_args = 0;
	int has_long = cmd_has_long(t, cmd), use_long = long_help && has_long;
	const struct nc_cmd *c = cmd == NC_CMD_TOP ? NULL : nc_table_cmd(t, cmd);
	const char *about = c ? c->about : t->about;
	char usage[1024];
	if (about)
		fprintf(out, "%s\n\n", about);
	nc_usage_text(t, cmd, argv0, usage, sizeof usage);
	fprintf(out, "Usage: %s\n", usage);
	if (cmd == NC_CMD_TOP)
		print_commands(out, t);
	if (cmd == NC_CMD_HELP)
		entry_plain(&args[n_args++], "[COMMAND]...", "Print help for the subcommand(s)");
	for (size_t i = 0; i < t->n_opts && n_opts < 60; i++) {
		const struct nc_opt *o = t->opts[i];
		if (!shown(o, cmd))
			continue;
		if (o->flags & NC_OPT_POSITIONAL)
			entry_of(&args[n_args++], o, use_long);
		else
			entry_of(&opts[n_opts++], o, use_long);
	}
	if (cmd != NC_CMD_HELP)
		entry_plain(&opts[n_opts++], "-h, --help",
		            !has_long ? "Print help" : use_long ? "Print help (see a summary with '-h')"
		                                                : "Print help (see more with '--help')");
	if (cmd == NC_CMD_TOP)
		entry_plain(&opts[n_opts++], "-V, --version", "Print version");
	print_section(out, "Arguments", args, n_args, use_long);
	print_section(out, "Options", opts, n_opts, use_long);
}
