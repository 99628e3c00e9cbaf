/* The client programs' argument parser, driven by the table (cli_table.h), with clap 4's
 * behaviour and error texts as Nym's CLI shows them: options before the subcommand are the
 * global ones; `--name value`, `--name=value`, `-s value`, `-svalue`; aliases; -h / --help /
 * -V / --version; `help [SUBCOMMAND]`; errors to stderr with exit status 2. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "cli_table.h"
#include "nymsphinx/address.h"

struct parse {
	const struct nc_table *t;
	struct nc_args *a;
	int order[NC_O_COUNT]; /* when each option was first seen (1..), 0: never */
	int seen;
	int seen_visible; /* of them, options help shows (clap's "used" for its usage lines) */
	const struct nc_opt *given[NC_O_COUNT];
};

static const char *const bool_values[] = { "true", "false", NULL };
static const char *const output_values[] = { "text", "json", NULL };
static const char *const shell_values[] = { "bash", "elvish", "fish", "power-shell", "zsh",
	                                    NULL };

static const char *const *possible_values(enum nc_val v)
{
	return v == NC_V_BOOL ? bool_values : v == NC_V_OUTPUT ? output_values :
	       v == NC_V_SHELL ? shell_values : NULL;
}

static void err_tail(const struct parse *p, int with_usage)
{
	if (with_usage) {
		char usage[1024];
		nc_usage_text(p->t, p->a->has_cmd ? p->a->cmd : NC_CMD_TOP, p->a->argv0, usage,
		              sizeof usage);
		fprintf(stderr, "\nUsage: %s\n", usage);
	}
	fprintf(stderr, "\nFor more information, try '--help'.\n");
}

static void print_required_usage(const struct parse *p, enum nc_cmd_id cmd);

/* clap's usage after an error: with arguments already matched, the "smart" usage (the
 * required ones and those given); else the full one. */
static void err_tail_used(const struct parse *p)
{
	if (!p->seen_visible || !p->a->has_cmd) {
		err_tail(p, 1);
		return;
	}
	print_required_usage(p, p->a->cmd);
	fprintf(stderr, "\nFor more information, try '--help'.\n");
}

static void list_values(const char *const *pv)
{
	fprintf(stderr, "  [possible values: ");
	for (size_t i = 0; pv[i]; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", pv[i]);
	fprintf(stderr, "]\n");
}

/* clap's did-you-mean: Jaro similarity above 0.7 */
static double jaro(const char *s, const char *t)
{
	size_t ls = strlen(s), lt = strlen(t);
	if (!ls && !lt)
		return 1.0;
	if (!ls || !lt || ls > 64 || lt > 64)
		return 0.0;
	size_t range = (ls > lt ? ls : lt) / 2, m = 0, tr = 0, k = 0;
	range = range ? range - 1 : 0;
	int ms[64] = { 0 }, mt[64] = { 0 };
	for (size_t i = 0; i < ls; i++) {
		size_t lo = i > range ? i - range : 0, hi = i + range + 1 < lt ? i + range + 1 : lt;
		for (size_t j = lo; j < hi; j++)
			if (!mt[j] && s[i] == t[j]) {
				ms[i] = mt[j] = 1;
				m++;
				break;
			}
	}
	if (!m)
		return 0.0;
	for (size_t i = 0; i < ls; i++) {
		if (!ms[i])
			continue;
		while (!mt[k])
			k++;
		tr += s[i] != t[k++];
	}
	double dm = (double)m;
	return (dm / (double)ls + dm / (double)lt + (dm - (double)tr / 2.0) / dm) / 3.0;
}

static const char *similar_long(const struct parse *p, const char *name)
{
	const char *best = NULL;
	double best_score = 0.7;
	enum nc_cmd_id cmd = p->a->has_cmd ? p->a->cmd : NC_CMD_TOP;
	for (size_t i = 0; i < p->t->n_opts; i++) {
		const struct nc_opt *o = p->t->opts[i];
		if (!nc_opt_in(o, cmd) || (o->flags & NC_OPT_POSITIONAL))
			continue;
		double s = jaro(name, o->name);
		if (s > best_score) {
			best_score = s;
			best = o->name;
		}
	}
	double sh = jaro(name, "help");
	return sh > best_score ? "help" : best;
}

static int unexpected(const struct parse *p, const char *arg)
{
	fprintf(stderr, "error: unexpected argument '%s' found\n", arg);
	if (!strncmp(arg, "--", 2)) {
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
		const char *s = similar_long(p, name);
		if (s)
			fprintf(stderr, "\n  tip: a similar argument exists: '--%s'\n", s);
	}
	err_tail_used(p);
	return 2;
}

static int invalid_value(const struct nc_opt *o, const char *v, const char *why)
{
	char spec[160];
	nc_opt_spec(o, 0, spec, sizeof spec);
	fprintf(stderr, "error: invalid value '%s' for '%s'%s%s\n", v, spec, why ? ": " : "",
	        why ? why : "");
	const char *const *pv = possible_values(o->val);
	if (pv && !why)
		list_values(pv);
	fprintf(stderr, "\nFor more information, try '--help'.\n");
	return 2;
}

static int check_u16(const char *v, const char **why)
{
	static char buf[96];
	if (!*v) {
		*why = "cannot parse integer from empty string";
		return -1;
	}
	const char *d = v + (*v == '+' || *v == '-');
	if (!*d || d[strspn(d, "0123456789")]) {
		*why = "invalid digit found in string";
		return -1;
	}
	if (*v == '-' || strlen(d) > 18 || strtoll(d, NULL, 10) > 65535) {
		snprintf(buf, sizeof buf, "%s is not in 0..=65535", v);
		*why = buf;
		return -1;
	}
	return 0;
}

static int store_urls(struct nc_args *a, const struct nc_opt *o, const char *v, const char **why)
{
	size_t len = strlen(v) + 1;
	if (a->buf_used + len > sizeof a->buf) {
		*why = "too many URLs";
		return -1;
	}
	char *copy = a->buf + a->buf_used;
	memcpy(copy, v, len);
	a->buf_used += len;
	for (char *s = copy, *next; s; s = next) {
		next = strchr(s, ',');
		if (next)
			*next++ = 0;
		const char *colon = strstr(s, "://");
		if (!colon || colon == s || !colon[3]) {
			*why = "relative URL without a base";
			return -1;
		}
		if (a->n_values[o->id] == NC_MAX_VALUES) {
			*why = "too many URLs";
			return -1;
		}
		a->values[o->id][a->n_values[o->id]++] = s;
	}
	return 0;
}

/* 0 if v is a valid value of o (URL lists stored), else the error printed and 2. */
static int check_value(struct nc_args *a, const struct nc_opt *o, const char *v)
{
	const char *why = NULL;
	const char *const *pv = possible_values(o->val);
	uint8_t buf[32];
	struct nym_recipient r;
	if (pv) {
		for (size_t i = 0; pv[i]; i++)
			if (!strcmp(pv[i], v))
				return 0;
		return invalid_value(o, v, NULL);
	}
	switch (o->val) {
	case NC_V_U16:
		if (check_u16(v, &why) < 0)
			return invalid_value(o, v, why);
		return 0;
	case NC_V_IP:
		if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
			return invalid_value(o, v, "invalid IP address syntax");
		return 0;
	case NC_V_KEY:
		if (base58_decode(v, buf, sizeof buf) != 32)
			return invalid_value(o, v, "the base58 representation of the public key was "
			                           "malformed");
		return 0;
	case NC_V_RECIPIENT:
		if (nym_recipient_from_string(v, &r) < 0)
			return invalid_value(o, v, "malformed recipient address");
		return 0;
	case NC_V_URLS:
		if (store_urls(a, o, v, &why) < 0)
			return invalid_value(o, v, why);
		return 0;
	default:
		return 0;
	}
}

static const struct nc_opt *find_long(const struct parse *p, enum nc_cmd_id cmd, const char *name,
                                      size_t len)
{
	for (size_t i = 0; i < p->t->n_opts; i++) {
		const struct nc_opt *o = p->t->opts[i];
		if (!nc_opt_in(o, cmd) || (o->flags & NC_OPT_POSITIONAL))
			continue;
		if ((strlen(o->name) == len && !strncmp(o->name, name, len)) ||
		    (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len)))
			return o;
	}
	return NULL;
}

static const struct nc_opt *find_short(const struct parse *p, enum nc_cmd_id cmd, char c)
{
	for (size_t i = 0; i < p->t->n_opts; i++) {
		const struct nc_opt *o = p->t->opts[i];
		if (nc_opt_in(o, cmd) && o->short_name == c)
			return o;
	}
	return NULL;
}

static const struct nc_opt *find_positional(const struct parse *p, enum nc_cmd_id cmd)
{
	for (size_t i = 0; i < p->t->n_opts; i++) {
		const struct nc_opt *o = p->t->opts[i];
		if (nc_opt_in(o, cmd) && (o->flags & NC_OPT_POSITIONAL) && !p->a->count[o->id])
			return o;
	}
	return NULL;
}

static int record(struct parse *p, const struct nc_opt *o, const char *v)
{
	struct nc_args *a = p->a;
	if (a->count[o->id] && o->val != NC_V_URLS) {
		char spec[160];
		nc_opt_spec(o, 0, spec, sizeof spec);
		fprintf(stderr, "error: the argument '%s' cannot be used multiple times\n", spec);
		err_tail(p, 1);
		return 2;
	}
	if (v) {
		int rc = check_value(a, o, v);
		if (rc)
			return rc;
	}
	if (!a->count[o->id]++) {
		p->order[o->id] = ++p->seen;
		p->seen_visible += !(o->flags & NC_OPT_HIDDEN);
	}
	a->value[o->id] = v;
	p->given[o->id] = o;
	return 0;
}

static int missing_value(const struct nc_opt *o)
{
	char spec[160];
	nc_opt_spec(o, 0, spec, sizeof spec);
	fprintf(stderr, "error: a value is required for '%s' but none was supplied\n", spec);
	const char *const *pv = possible_values(o->val);
	if (pv)
		list_values(pv);
	fprintf(stderr, "\nFor more information, try '--help'.\n");
	return 2;
}

/* One option word at argv[*i] (long or short); may take argv[*i + 1]. */
static int take_option(struct parse *p, enum nc_cmd_id cmd, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *inline_v = NULL;
	const struct nc_opt *o;
	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		inline_v = eq ? eq + 1 : NULL;
		o = find_long(p, cmd, name, len);
	} else {
		o = find_short(p, cmd, arg[1]);
		if (arg[2])
			inline_v = arg[2] == '=' ? arg + 3 : arg + 2;
	}
	if (!o)
		return unexpected(p, arg);
	if (o->val == NC_V_NONE) {
		if (inline_v) {
			char spec[160];
			nc_opt_spec(o, 0, spec, sizeof spec);
			fprintf(stderr, "error: unexpected value '%s' for '%s' found; no more were "
			                "expected\n", inline_v, spec);
			err_tail_used(p);
			return 2;
		}
		return record(p, o, NULL);
	}
	if (!inline_v) {
		if (*i + 1 >= argc || (argv[*i + 1][0] == '-' && argv[*i + 1][1]))
			return missing_value(o);
		inline_v = argv[++*i];
	}
	return record(p, o, inline_v);
}

static int help_word(const char *arg, struct nc_args *a)
{
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
		a->help = 1;
		a->long_help = arg[1] == '-';
		return 1;
	}
	return 0;
}

static void print_required_usage(const struct parse *p, enum nc_cmd_id cmd)
{
	const struct nc_cmd *c = nc_table_cmd(p->t, cmd);
	char spec[160];
	fprintf(stderr, "\nUsage: %s %s", p->a->argv0, c ? c->name : "");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->t->n_opts; i++) {
			const struct nc_opt *o = p->t->opts[i];
			int req = (o->flags & NC_OPT_REQUIRED) != 0;
			if (!nc_opt_in(o, cmd) || (o->flags & NC_OPT_HIDDEN) || req != !pass ||
			    (!req && p->given[o->id] != o))
				continue;
			nc_opt_spec(o, 0, spec, sizeof spec);
			fprintf(stderr, " %s", spec);
		}
	fprintf(stderr, "\n");
}

static int check_required(const struct parse *p, enum nc_cmd_id cmd)
{
	int missing = 0;
	char spec[160];
	for (size_t i = 0; i < p->t->n_opts; i++) {
		const struct nc_opt *o = p->t->opts[i];
		if (!nc_opt_in(o, cmd) || !(o->flags & NC_OPT_REQUIRED) || p->a->count[o->id])
			continue;
		if (!missing++)
			fprintf(stderr, "error: the following required arguments were not provided:\n");
		nc_opt_spec(o, 0, spec, sizeof spec);
		fprintf(stderr, "  %s\n", spec);
	}
	if (!missing)
		return 0;
	if (p->seen_visible) {
		print_required_usage(p, cmd);
		fprintf(stderr, "\nFor more information, try '--help'.\n");
	} else {
		err_tail(p, 1);
	}
	return 2;
}

static int conflicts_of(const struct parse *p, const struct nc_opt *o, const struct nc_opt **other)
{
	if (!o->conflicts)
		return 0;
	for (const char *s = o->conflicts; *s;) {
		size_t len = strcspn(s, " ");
		enum nc_cmd_id cmd = p->a->cmd;
		const struct nc_opt *c = find_long(p, cmd, s, len);
		if (c && p->a->count[c->id]) {
			*other = p->given[c->id];
			return 1;
		}
		s += len + (s[len] == ' ');
	}
	return 0;
}

static int check_conflicts(const struct parse *p)
{
	const struct nc_opt *first = NULL, *other = NULL;
	int first_order = 0;
	for (int id = 0; id < NC_O_COUNT; id++) {
		const struct nc_opt *o = p->given[id], *c = NULL;
		if (!o || !conflicts_of(p, o, &c))
			continue;
		/* clap names the pair's argument given first */
		const struct nc_opt *x = p->order[o->id] < p->order[c->id] ? o : c;
		const struct nc_opt *y = x == o ? c : o;
		if (!first || p->order[x->id] < first_order) {
			first = x;
			other = y;
			first_order = p->order[x->id];
		}
	}
	if (!first)
		return 0;
	char s1[160], s2[160];
	nc_opt_spec(first, 0, s1, sizeof s1);
	nc_opt_spec(other, 0, s2, sizeof s2);
	fprintf(stderr, "error: the argument '%s' cannot be used with '%s'\n", s1, s2);
	print_required_usage(p, p->a->cmd);
	fprintf(stderr, "\nFor more information, try '--help'.\n");
	return 2;
}

static int parse_sub(struct parse *p, int argc, char **argv, int i)
{
	struct nc_args *a = p->a;
	enum nc_cmd_id cmd = a->cmd;
	int only_positional = 0;
	if (cmd == NC_CMD_HELP) {
		if (i < argc && !nc_table_cmd_named(p->t, argv[i])) {
			fprintf(stderr, "error: unrecognized subcommand '%s'\n", argv[i]);
			a->has_cmd = 0;
			err_tail(p, 1);
			return 2;
		}
		a->help = a->long_help = 1;
		a->help_of = i < argc ? argv[i] : NULL;
		return 0;
	}
	if (cmd == NC_CMD_ECASH || cmd == NC_CMD_SIGN) { /* refused whatever follows */
		for (; i < argc; i++)
			if (help_word(argv[i], a))
				return 0;
		return 0;
	}
	for (; i < argc; i++) {
		const char *arg = argv[i];
		int rc;
		if (!only_positional && help_word(arg, a))
			return 0;
		if (!only_positional && !strcmp(arg, "--")) {
			only_positional = 1;
			continue;
		}
		if (!only_positional && arg[0] == '-' && arg[1]) {
			if ((rc = take_option(p, cmd, argc, argv, &i)) != 0)
				return rc;
			continue;
		}
		const struct nc_opt *pos = find_positional(p, cmd);
		if (!pos)
			return unexpected(p, arg);
		if ((rc = record(p, pos, arg)) != 0)
			return rc;
	}
	int rc = check_required(p, cmd);
	return rc ? rc : check_conflicts(p);
}

static void no_subcommand(const struct parse *p)
{
	fprintf(stderr, "error: '%s' requires a subcommand but one was not provided\n"
	                "  [subcommands: ", p->a->argv0);
	for (size_t i = 0; i < p->t->n_cmds; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", p->t->cmds[i].name);
	fprintf(stderr, "]\n");
	err_tail(p, 1);
}

int nc_cli_parse(const struct nc_table *t, int argc, char **argv, struct nc_args *a)
{
	struct parse p = { .t = t, .a = a };
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
	memset(a, 0, sizeof *a);
	a->argv0 = argc > 0 ? (slash ? slash + 1 : argv[0]) : t->program;
	if (argc < 2) { /* clap: arg_required_else_help */
		nc_help_print(stderr, t, NC_CMD_TOP, 0, a->argv0);
		return 2;
	}
	int i = 1;
	for (; i < argc; i++) {
		const char *arg = argv[i];
		if (help_word(arg, a))
			return 0;
		if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
			a->version = 1;
			a->long_version = arg[1] == '-';
			return 0;
		}
		if (arg[0] == '-' && arg[1]) {
			int rc = take_option(&p, NC_CMD_TOP, argc, argv, &i);
			if (rc)
				return rc;
			continue;
		}
		const struct nc_cmd *c = nc_table_cmd_named(t, arg);
		if (!c) {
			fprintf(stderr, "error: unrecognized subcommand '%s'\n", arg);
			err_tail(&p, 1);
			return 2;
		}
		a->cmd = c->id;
		a->has_cmd = 1;
		break;
	}
	if (!a->has_cmd) {
		no_subcommand(&p);
		return 2;
	}
	memset(p.order, 0, sizeof p.order);
	p.seen = p.seen_visible = 0;
	return parse_sub(&p, argc, argv, i + 1);
}
