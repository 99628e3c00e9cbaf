/* What else the table gives: shell completions (bash, zsh, fish, elvish, PowerShell, in the
 * shape clap_complete writes them), the Fig spec (generate-fig-spec) and the man page (roff,
 * made at build time into build/man/). Hidden options are left out, as clap_complete does. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli_table.h"

#define FOR_SHOWN(t, cmd, o)                                                          \
	for (size_t i_ = 0; i_ < (t)->n_opts; i_++)                                   \
		for (const struct nc_opt *o = (t)->opts[i_]; o; o = NULL)             \
			if (nc_opt_in(o, cmd) && !(o->flags & NC_OPT_HIDDEN))

static const char *const shells[] = { "bash", "elvish", "fish", "power-shell", "zsh" };
static const char *const bool_words[] = { "true", "false" };
static const char *const output_words[] = { "text", "json" };

/* The words an option's value may be (NULL if any). */
static const char *const *value_words(const struct nc_opt *o, size_t *n)
{
	*n = o->val == NC_V_BOOL || o->val == NC_V_OUTPUT ? 2 : o->val == NC_V_SHELL ? 5 : 0;
	return o->val == NC_V_BOOL ? bool_words : o->val == NC_V_OUTPUT ? output_words :
	       o->val == NC_V_SHELL ? shells : NULL;
}

/* the subcommands a completion offers (help is clap's, offered too) */
static int cmd_options(const struct nc_table *t, size_t i, enum nc_cmd_id *id, const char **name)
{
	if (i >= t->n_cmds)
		return 0;
	*id = t->cmds[i].id;
	*name = t->cmds[i].name;
	return 1;
}

static void put_escaped(FILE *out, const char *s, const char *specials, const char *esc_fmt)
{
	for (; s && *s; s++)
		if (strchr(specials, *s))
			fprintf(out, esc_fmt, *s);
		else
			fputc(*s, out);
}

/* ---- bash */

static void bash_ident(FILE *out, const char *bin, const char *sub)
{
	for (const char *p = bin; *p; p++)
		fputs(*p == '-' ? "__" : (char[]){ *p, 0 }, out);
	if (sub) {
		fputs("__", out);
		for (const char *p = sub; *p; p++)
			fputs(*p == '-' ? "__" : (char[]){ *p, 0 }, out);
	}
}

static void bash_words(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd)
{
	FOR_SHOWN(t, cmd, o) {
		if (o->flags & NC_OPT_POSITIONAL) {
			size_t n;
			const char *const *w = value_words(o, &n);
			for (size_t k = 0; k < n; k++)
				fprintf(out, "%s ", w[k]);
			continue;
		}
		if (o->short_name)
			fprintf(out, "-%c ", o->short_name);
		fprintf(out, "--%s ", o->name);
	}
	fprintf(out, "-h --help");
	if (cmd == NC_CMD_TOP) {
		fprintf(out, " -V --version");
		for (size_t i = 0; i < t->n_cmds; i++)
			fprintf(out, " %s", t->cmds[i].name);
	}
}

static void bash_values(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd)
{
	fprintf(out, "            case \"${prev}\" in\n");
	FOR_SHOWN(t, cmd, o) {
		if (!o->value_name || (o->flags & NC_OPT_POSITIONAL))
			continue;
		size_t n;
		const char *const *w = value_words(o, &n);
		fprintf(out, "                --%s", o->name);
		if (o->short_name)
			fprintf(out, "|-%c", o->short_name);
		fprintf(out, ")\n");
		if (w) {
			fprintf(out, "                    COMPREPLY=($(compgen -W \"");
			for (size_t k = 0; k < n; k++)
				fprintf(out, "%s%s", k ? " " : "", w[k]);
			fprintf(out, "\" -- \"${cur}\"))\n");
		} else if (o->val == NC_V_PATH) {
			fprintf(out, "                    COMPREPLY=($(compgen -f \"${cur}\"))\n");
		} else {
			fprintf(out, "                    COMPREPLY=(\"${cur}\")\n");
		}
		fprintf(out, "                    return 0\n                    ;;\n");
	}
	fprintf(out, "                *)\n                    COMPREPLY=()\n                    ;;\n"
	             "            esac\n");
}

static void bash_case(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd, const char *sub)
{
	fprintf(out, "        ");
	bash_ident(out, t->bin_name, sub);
	fprintf(out, ")\n            opts=\"");
	bash_words(out, t, cmd);
	fprintf(out, "\"\n            if [[ ${cur} == -* || ${COMP_CWORD} -eq %d ]] ; then\n"
	             "                COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )\n"
	             "                return 0\n            fi\n", sub ? 2 : 1);
	bash_values(out, t, cmd);
	fprintf(out, "            COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )\n"
	             "            return 0\n            ;;\n");
}

static void bash(FILE *out, const struct nc_table *t)
{
	const char *b = t->bin_name, *name;
	enum nc_cmd_id id;
	fprintf(out, "_%s() {\n    local i cur prev opts cmd\n    COMPREPLY=()\n"
	             "    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
	             "    cmd=\"\"\n    opts=\"\"\n\n"
	             "    for i in \"${COMP_WORDS[@]:0:COMP_CWORD}\"\n    do\n"
	             "        case \"${cmd},${i}\" in\n            \",$1\")\n                cmd=\"",
	        b);
	bash_ident(out, b, NULL);
	fprintf(out, "\"\n                ;;\n");
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "            ");
		bash_ident(out, b, NULL);
		fprintf(out, ",%s)\n                cmd=\"", name);
		bash_ident(out, b, name);
		fprintf(out, "\"\n                ;;\n");
	}
	fprintf(out, "            *)\n                ;;\n        esac\n    done\n\n"
	             "    case \"${cmd}\" in\n");
	bash_case(out, t, NC_CMD_TOP, NULL);
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++)
		bash_case(out, t, id, name);
	fprintf(out, "    esac\n}\n\n"
	             "if [[ \"${BASH_VERSINFO[0]}\" -eq 4 && \"${BASH_VERSINFO[1]}\" -ge 4 || "
	             "\"${BASH_VERSINFO[0]}\" -gt 4 ]]; then\n"
	             "    complete -F _%s -o nosort -o bashdefault -o default %s\nelse\n"
	             "    complete -F _%s -o bashdefault -o default %s\nfi\n", b, b, b, b);
}

/* ---- zsh */

static void zsh_desc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
}

static void zsh_action(FILE *out, const struct nc_opt *o)
{
	size_t n;
	const char *const *w = value_words(o, &n);
	fprintf(out, ":%s:", o->value_name);
	if (w) {
		fputc('(', out);
		for (size_t k = 0; k < n; k++)
			fprintf(out, "%s%s", k ? " " : "", w[k]);
		fputc(')', out);
	} else {
		fputs(o->val == NC_V_PATH ? "_files" : "_default", out);
	}
}

static void zsh_args(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd)
{
	fprintf(out, "_arguments \"${_arguments_options[@]}\" : \\\n");
	FOR_SHOWN(t, cmd, o) {
		if (o->flags & NC_OPT_POSITIONAL) {
			fprintf(out, "':%s", o->value_name);
			size_t n;
			const char *const *w = value_words(o, &n);
			fputs(":(", out);
			for (size_t k = 0; w && k < n; k++)
				fprintf(out, "%s%s", k ? " " : "", w[k]);
			fputs(")' \\\n", out);
			continue;
		}
		for (int form = o->short_name ? 0 : 1; form < 2; form++) {
			if (form == 0)
				fprintf(out, "'-%c%s[", o->short_name, o->value_name ? "+" : "");
			else
				fprintf(out, "'--%s%s[", o->name, o->value_name ? "=" : "");
			zsh_desc(out, o->help ? o->help : "");
			fputc(']', out);
			if (o->value_name)
				zsh_action(out, o);
			fputs("' \\\n", out);
		}
	}
	fputs("'-h[Print help]' \\\n'--help[Print help]' \\\n", out);
	if (cmd == NC_CMD_TOP)
		fprintf(out, "'-V[Print version]' \\\n'--version[Print version]' \\\n"
		             "\":: :_%s_commands\" \\\n\"*::: :->%s\" \\\n", t->bin_name, t->program);
	fputs("&& ret=0\n", out);
}

static void zsh(FILE *out, const struct nc_table *t)
{
	const char *b = t->bin_name, *name;
	enum nc_cmd_id id;
	fprintf(out, "#compdef %s\n\nautoload -U is-at-least\n\n_%s() {\n"
	             "    typeset -A opt_args\n    typeset -a _arguments_options\n    local ret=1\n\n"
	             "    if is-at-least 5.2; then\n        _arguments_options=(-s -S -C)\n"
	             "    else\n        _arguments_options=(-s -C)\n    fi\n\n"
	             "    local context curcontext=\"$curcontext\" state line\n    ", b, b);
	zsh_args(out, t, NC_CMD_TOP);
	fprintf(out, "    case $state in\n    (%s)\n        words=($line[1] \"${words[@]}\")\n"
	             "        (( CURRENT += 1 ))\n"
	             "        curcontext=\"${curcontext%%:*:*}:%s-command-$line[1]:\"\n"
	             "        case $line[1] in\n", t->program, b);
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "            (%s)\n", name);
		zsh_args(out, t, id);
		fprintf(out, ";;\n");
	}
	fprintf(out, "        esac\n    ;;\nesac\n}\n\n(( $+functions[_%s_commands] )) ||\n"
	             "_%s_commands() {\n    local commands; commands=(\n", b, b);
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "'%s:", name);
		zsh_desc(out, t->cmds[i].about);
		fprintf(out, "' \\\n");
	}
	fprintf(out, "    )\n    _describe -t commands '%s commands' commands \"$@\"\n}\n\n"
	             "if [ \"$funcstack[1]\" = \"_%s\" ]; then\n    _%s \"$@\"\nelse\n"
	             "    compdef _%s %s\nfi\n", b, b, b, b, b);
}

/* ---- fish */

static void fish_line(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd, const char *sub)
{
	const char *b = t->bin_name;
	FOR_SHOWN(t, cmd, o) {
		if (o->flags & NC_OPT_POSITIONAL) {
			size_t n;
			const char *const *w = value_words(o, &n);
			fprintf(out, "complete -c %s -n \"__fish_seen_subcommand_from %s\" -f -a \"", b,
			        sub);
			for (size_t k = 0; w && k < n; k++)
				fprintf(out, "%s%s", k ? " " : "", w[k]);
			fprintf(out, "\"\n");
			continue;
		}
		if (sub)
			fprintf(out, "complete -c %s -n \"__fish_seen_subcommand_from %s\"", b, sub);
		else
			fprintf(out, "complete -c %s -n \"__fish_use_subcommand\"", b);
		if (o->short_name)
			fprintf(out, " -s %c", o->short_name);
		fprintf(out, " -l %s", o->name);
		if (o->help) {
			fprintf(out, " -d '");
			put_escaped(out, o->help, "'\\", "\\%c");
			fprintf(out, "'");
		}
		size_t n;
		const char *const *w = value_words(o, &n);
		if (o->value_name && w) {
			fprintf(out, " -r -f -a \"");
			for (size_t k = 0; k < n; k++)
				fprintf(out, "%s%s", k ? " " : "", w[k]);
			fprintf(out, "\"");
		} else if (o->value_name) {
			fprintf(out, o->val == NC_V_PATH ? " -r -F" : " -r");
		}
		fprintf(out, "\n");
	}
	fprintf(out, "complete -c %s -n \"%s%s\" -s h -l help -d 'Print help'\n", b,
	        sub ? "__fish_seen_subcommand_from " : "__fish_use_subcommand", sub ? sub : "");
}

static void fish(FILE *out, const struct nc_table *t)
{
	const char *name;
	enum nc_cmd_id id;
	fish_line(out, t, NC_CMD_TOP, NULL);
	fprintf(out, "complete -c %s -n \"__fish_use_subcommand\" -s V -l version -d 'Print "
	             "version'\n", t->bin_name);
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "complete -c %s -n \"__fish_use_subcommand\" -f -a \"%s\" -d '",
		        t->bin_name, name);
		put_escaped(out, t->cmds[i].about, "'\\", "\\%c");
		fprintf(out, "'\n");
	}
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++)
		fish_line(out, t, id, name);
}

/* ---- elvish and PowerShell (single quotes doubled) */

static void quoted(FILE *out, const char *s)
{
	fputc('\'', out);
	put_escaped(out, s, "'", "%c'");
	fputc('\'', out);
}

static void elvish_cands(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd)
{
	FOR_SHOWN(t, cmd, o) {
		if (o->flags & NC_OPT_POSITIONAL)
			continue;
		if (o->short_name) {
			fprintf(out, "            cand -%c ", o->short_name);
			quoted(out, o->help ? o->help : o->name);
			fputc('\n', out);
		}
		fprintf(out, "            cand --%s ", o->name);
		quoted(out, o->help ? o->help : o->name);
		fputc('\n', out);
	}
	fprintf(out, "            cand -h 'Print help'\n            cand --help 'Print help'\n");
	if (cmd == NC_CMD_TOP) {
		fprintf(out, "            cand -V 'Print version'\n"
		             "            cand --version 'Print version'\n");
		for (size_t i = 0; i < t->n_cmds; i++) {
			fprintf(out, "            cand %s ", t->cmds[i].name);
			quoted(out, t->cmds[i].about);
			fputc('\n', out);
		}
	}
}

static void elvish(FILE *out, const struct nc_table *t)
{
	const char *b = t->bin_name, *name;
	enum nc_cmd_id id;
	fprintf(out, "\nuse builtin;\nuse str;\n\nset edit:completion:arg-completer[%s] = {|@words|\n"
	             "    fn spaces {|n|\n        builtin:repeat $n ' ' | str:join ''\n    }\n"
	             "    fn cand {|text desc|\n"
	             "        edit:complex-candidate $text &display=$text' '(spaces (- 14 "
	             "(wcswidth $text)))$desc\n    }\n    var command = '%s'\n"
	             "    for word $words[1..-1] {\n        if (str:has-prefix $word '-') {\n"
	             "            break\n        }\n        set command = $command';'$word\n    }\n"
	             "    var completions = [\n        &'%s'= {\n", b, b, b);
	elvish_cands(out, t, NC_CMD_TOP);
	fprintf(out, "        }\n");
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "        &'%s;%s'= {\n", b, name);
		elvish_cands(out, t, id);
		fprintf(out, "        }\n");
	}
	fprintf(out, "    ]\n    $completions[$command]\n}\n");
}

static void ps_result(FILE *out, const char *word, const char *kind, const char *desc)
{
	fprintf(out, "            [CompletionResult]::new('%s', '%s', [CompletionResultType]::%s, ",
	        word, word, kind);
	quoted(out, desc);
	fprintf(out, ")\n");
}

static void ps_cands(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd)
{
	char w[80];
	FOR_SHOWN(t, cmd, o) {
		if (o->flags & NC_OPT_POSITIONAL)
			continue;
		if (o->short_name) {
			snprintf(w, sizeof w, "-%c", o->short_name);
			ps_result(out, w, "ParameterName", o->help ? o->help : o->name);
		}
		snprintf(w, sizeof w, "--%s", o->name);
		ps_result(out, w, "ParameterName", o->help ? o->help : o->name);
	}
	ps_result(out, "-h", "ParameterName", "Print help");
	ps_result(out, "--help", "ParameterName", "Print help");
	if (cmd == NC_CMD_TOP) {
		ps_result(out, "-V", "ParameterName", "Print version");
		ps_result(out, "--version", "ParameterName", "Print version");
		for (size_t i = 0; i < t->n_cmds; i++)
			ps_result(out, t->cmds[i].name, "ParameterValue", t->cmds[i].about);
	}
	fprintf(out, "            break\n        }\n");
}

static void powershell(FILE *out, const struct nc_table *t)
{
	const char *b = t->bin_name, *name;
	enum nc_cmd_id id;
	fprintf(out, "\nusing namespace System.Management.Automation\n"
	             "using namespace System.Management.Automation.Language\n\n"
	             "Register-ArgumentCompleter -Native -CommandName '%s' -ScriptBlock {\n"
	             "    param($wordToComplete, $commandAst, $cursorPosition)\n\n"
	             "    $commandElements = $commandAst.CommandElements\n    $command = @(\n"
	             "        '%s'\n"
	             "        for ($i = 1; $i -lt $commandElements.Count; $i++) {\n"
	             "            $element = $commandElements[$i]\n"
	             "            if ($element -isnot [StringConstantExpressionAst] -or\n"
	             "                $element.StringConstantType -ne [StringConstantType]::BareWord -or\n"
	             "                $element.Value.StartsWith('-') -or\n"
	             "                $element.Value -eq $wordToComplete) {\n"
	             "                break\n            }\n            $element.Value\n"
	             "        }) -join ';'\n\n    $completions = @(switch ($command) {\n"
	             "        '%s' {\n", b, b, b);
	ps_cands(out, t, NC_CMD_TOP);
	for (size_t i = 0; cmd_options(t, i, &id, &name); i++) {
		fprintf(out, "        '%s;%s' {\n", b, name);
		ps_cands(out, t, id);
	}
	fprintf(out, "    })\n\n    $completions.Where{ $_.CompletionText -like \"$wordToComplete*\" } |\n"
	             "        Sort-Object -Property ListItemText\n}\n");
}

int nc_completions_print(FILE *out, const struct nc_table *t, const char *shell)
{
	if (!strcmp(shell, "bash"))
		bash(out, t);
	else if (!strcmp(shell, "zsh"))
		zsh(out, t);
	else if (!strcmp(shell, "fish"))
		fish(out, t);
	else if (!strcmp(shell, "elvish"))
		elvish(out, t);
	else if (!strcmp(shell, "power-shell"))
		powershell(out, t);
	else
		return -1;
	return 0;
}

/* ---- Fig */

static void js_string(FILE *out, const char *s)
{
	fputc('"', out);
	put_escaped(out, s, "\"\\", "\\%c");
	fputc('"', out);
}

static void fig_option(FILE *out, const struct nc_opt *o, const char *ind)
{
	fprintf(out, "%s{\n%s  name: ", ind, ind);
	if (o->short_name)
		fprintf(out, "[\"-%c\", \"--%s\"],\n", o->short_name, o->name);
	else
		fprintf(out, "\"--%s\",\n", o->name);
	if (o->help) {
		fprintf(out, "%s  description: ", ind);
		js_string(out, o->help);
		fprintf(out, ",\n");
	}
	if (o->value_name) {
		size_t n;
		const char *const *w = value_words(o, &n);
		char lower[64];
		size_t k = 0;
		for (; o->value_name[k] && k + 1 < sizeof lower; k++)
			lower[k] = (char)tolower((unsigned char)o->value_name[k]);
		lower[k] = 0;
		fprintf(out, "%s  isRepeatable: true,\n%s  args: {\n%s    name: \"%s\",\n", ind, ind,
		        ind, lower);
		if (!(o->flags & NC_OPT_REQUIRED))
			fprintf(out, "%s    isOptional: true,\n", ind);
		if (o->val == NC_V_PATH)
			fprintf(out, "%s    template: \"filepaths\",\n", ind);
		if (w) {
			fprintf(out, "%s    suggestions: [\n", ind);
			for (size_t j = 0; j < n; j++)
				fprintf(out, "%s      \"%s\",\n", ind, w[j]);
			fprintf(out, "%s    ],\n", ind);
		}
		fprintf(out, "%s  },\n", ind);
	}
	fprintf(out, "%s},\n", ind);
}

static void fig_options(FILE *out, const struct nc_table *t, enum nc_cmd_id cmd, const char *ind)
{
	fprintf(out, "%soptions: [\n", ind);
	char inner[32];
	snprintf(inner, sizeof inner, "%s  ", ind);
	for (int flags = 0; flags < 2; flags++)
		FOR_SHOWN(t, cmd, o)
			if (!(o->flags & NC_OPT_POSITIONAL) && (o->value_name == NULL) == flags)
				fig_option(out, o, inner);
	fprintf(out, "%s{\n%s  name: [\"-h\", \"--help\"],\n%s  description: \"Print help\",\n"
	             "%s},\n", inner, inner, inner, inner);
	if (cmd == NC_CMD_TOP)
		fprintf(out, "%s{\n%s  name: [\"-V\", \"--version\"],\n"
		             "%s  description: \"Print version\",\n%s},\n", inner, inner, inner, inner);
	fprintf(out, "%s],\n", ind);
}

void nc_fig_print(FILE *out, const struct nc_table *t)
{
	fprintf(out, "const completion: Fig.Spec = {\n  name: \"%s\",\n", t->bin_name);
	if (t->about) {
		fprintf(out, "  description: ");
		js_string(out, t->about);
		fprintf(out, ",\n");
	}
	fprintf(out, "  subcommands: [\n");
	for (size_t i = 0; i < t->n_cmds; i++) {
		fprintf(out, "    {\n      name: \"%s\",\n      description: ", t->cmds[i].name);
		js_string(out, t->cmds[i].about);
		fprintf(out, ",\n");
		if (t->cmds[i].id != NC_CMD_HELP)
			fig_options(out, t, t->cmds[i].id, "      ");
		FOR_SHOWN(t, t->cmds[i].id, o) {
			if (!(o->flags & NC_OPT_POSITIONAL))
				continue;
			size_t n;
			const char *const *w = value_words(o, &n);
			fprintf(out, "      args: {\n        name: \"shell\",\n        suggestions: [\n");
			for (size_t j = 0; w && j < n; j++)
				fprintf(out, "          \"%s\",\n", w[j]);
			fprintf(out, "        ],\n      },\n");
		}
		fprintf(out, "    },\n");
	}
	fprintf(out, "  ],\n");
	fig_options(out, t, NC_CMD_TOP, "  ");
	fprintf(out, "};\n\nexport default completion;\n");
}

/* ---- man page */

static void roff(FILE *out, const char *s)
{
	if (s && (*s == '.' || *s == '\''))
		fputs("\\&", out);
	for (; s && *s; s++)
		if (*s == '-' || *s == '\\')
			fprintf(out, "\\%s", *s == '-' ? "-" : "e");
		else
			fputc(*s, out);
}

static void man_opt(FILE *out, const struct nc_opt *o)
{
	fprintf(out, ".TP\n");
	if (o->flags & NC_OPT_POSITIONAL) {
		fprintf(out, "\\fI<%s>\\fR\n", o->value_name);
	} else {
		if (o->short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
		fprintf(out, "\\fB\\-\\-");
		roff(out, o->name);
		fprintf(out, "\\fR");
		if (o->value_name)
			fprintf(out, " \\fI<%s>\\fR", o->value_name);
		fputc('\n', out);
	}
	const char *h = o->long_help ? o->long_help : o->help;
	for (const char *line = h; line && *line;) {
		size_t len = strcspn(line, "\n");
		char buf[1024];
		snprintf(buf, sizeof buf, "%.*s", (int)len, line);
		if (len)
			roff(out, buf), fputc('\n', out);
		else
			fputs(".sp\n", out);
		line += len + (line[len] == '\n');
	}
	size_t n;
	const char *const *w = value_words(o, &n);
	if (o->flags & NC_OPT_DEFAULT_TEXT)
		fputs("[default: text]\n", out);
	if (w) {
		fputs("[possible values: ", out);
		for (size_t k = 0; k < n; k++)
			fprintf(out, "%s%s", k ? ", " : "", w[k]);
		fputs("]\n", out);
	}
}

static void man_name(FILE *out, const char *s)
{
	fprintf(out, "\\fB");
	roff(out, s);
	fprintf(out, "\\fR");
}

void nc_man_print(FILE *out, const struct nc_table *t)
{
	char usage[1024];
	fprintf(out, ".TH ");
	for (const char *p = t->program; *p; p++)
		fputs(*p == '-' ? "\\-" : (char[]){ (char)toupper((unsigned char)*p), 0 }, out);
	fprintf(out, " 1 \"\" \"nymsuite\" \"User Commands\"\n.SH NAME\n");
	roff(out, t->program);
	fprintf(out, " \\- ");
	roff(out, t->about ? t->about : "the Nym network requester");
	fprintf(out, " (nymsuite, a drop-in for Nym %s)\n.SH SYNOPSIS\n", t->version);
	nc_usage_text(t, NC_CMD_TOP, t->program, usage, sizeof usage);
	roff(out, usage);
	fprintf(out, "\n.SH OPTIONS\n");
	FOR_SHOWN(t, NC_CMD_TOP, o)
		man_opt(out, o);
	fprintf(out, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint help\n"
	             ".TP\n\\fB\\-V\\fR, \\fB\\-\\-version\\fR\nPrint version\n.SH COMMANDS\n");
	for (size_t i = 0; i < t->n_cmds; i++) {
		fprintf(out, ".SS ");
		man_name(out, t->cmds[i].name);
		fputc('\n', out);
		roff(out, t->cmds[i].about);
		fprintf(out, "\n.PP\nUsage: ");
		nc_usage_text(t, t->cmds[i].id, t->program, usage, sizeof usage);
		roff(out, usage);
		fputc('\n', out);
		FOR_SHOWN(t, t->cmds[i].id, o)
			man_opt(out, o);
	}
	fprintf(out, ".SH ENVIRONMENT\n.TP\n\\fBNYM_HOME_DIR\\fR\nReplaces $HOME as the parent of "
	             ".nym/.\n.TP\n\\fBCONFIGURED\\fR, \\fBNYM_API\\fR, \\fBNYXD\\fR, "
	             "\\fBCLIENT_STATS_COLLECTION_PROVIDER\\fR\nWithout CONFIGURED and without "
	             "\\-c, the mainnet defaults apply and NYM_API / NYXD are ignored; with "
	             "either, they override the configured URLs when no flag gives them (the "
	             "\\-c file never replaces a variable already set).\n.TP\n"
	             "\\fBNYMSUITE_CA_FILE\\fR\nPEM bundle for HTTPS and wss:// instead of the "
	             "system one.\n.SH EXIT STATUS\n0 on success; 1 on an error (\"An error "
	             "occurred: ...\" on standard output%s); 2 for a command line clap would "
	             "refuse (the reason on standard error).\n.SH SEE ALSO\n"
	             "/usr/share/doc/nymsuite/%s.md\n",
	        t->about ? "" : "; the network requester prints \"Error: ...\" on standard error",
	        t->program);
}
