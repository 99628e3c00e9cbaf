/* libFuzzer: Nym's exit-policy text.
 * Properties: a parse error names a line that exists; a parsed policy rendered to text parses
 * to the same rules and renders to the same text again; matching, the SSRF guard and the
 * pattern text never fail on addresses and ports taken from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/exit_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	return lines;
}

static void same_rules(const struct ns_exit_policy *a, const struct ns_exit_policy *b)
{
	if (a->n_rules != b->n_rules)
		abort();
	for (size_t i = 0; i < a->n_rules; i++) {
		const struct nr_policy_rule *x = &a->rules[i], *y = &b->rules[i];

		if (x->action != y->action || x->pattern != y->pattern || x->mask != y->mask ||
		    memcmp(x->addr, y->addr, 16) || x->port_lo != y->port_lo || x->port_hi != y->port_hi)
			abort();
	}
}

static char *render(const struct ns_exit_policy *p, size_t *len)
{
	size_t need = ns_exit_policy_render(p, NULL, 0);
	char *text = malloc(need + 1);

	if (!text || ns_exit_policy_render(p, text, need + 1) != need || strlen(text) != need)
		abort();
	*len = need;
	return text;
}

/* the guard matches ::ffff:a.b.c.d as a.b.c.d; Nym matches it as IPv6 */
static int is_mapped(const struct ns_exit_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return a->family == NS_EXIT_V6 && !memcmp(a->bytes, prefix, 12);
}

/* Addresses and ports drawn from the input itself, checked against the policy. */
static void exercise(const struct ns_exit_policy *p, const uint8_t *data, size_t size)
{
	struct ns_exit_addr addrs[4];
	size_t n = 0;

	for (size_t at = 0; at + 19 <= size && n < 4; at += 19, n++) {
		addrs[n].family = data[at] & 1 ? NS_EXIT_V6 : NS_EXIT_V4;
		memset(addrs[n].bytes, 0, sizeof addrs[n].bytes);
		memcpy(addrs[n].bytes, data + at + 1, addrs[n].family == NS_EXIT_V6 ? 16 : 4);
		uint16_t port = (uint16_t)(data[at + 17] << 8 | data[at + 18]);
		long rule = ns_exit_policy_match(p, &addrs[n], port);

		if (rule < -1 || rule >= (long)p->n_rules)
			abort();
		enum ns_exit_verdict v = ns_exit_guard_check(p, &addrs[n], port);
		/* the guard only ever refuses more than Nym's check does */
		if (v == NS_EXIT_ALLOW && ns_exit_policy_allows_all(p, &addrs[n], 1, port) != NS_EXIT_ALLOW &&
		    !is_mapped(&addrs[n]))
			abort();
		(void)ns_exit_verdict_text(v);
	}
	if (n > 0) {
		size_t failed = n;

		if (ns_exit_guard_check_all(p, addrs, n, 443, &failed) != NS_EXIT_ALLOW && failed >= n)
			abort();
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		char text[NR_IP_PATTERN_MAX];

		if (nr_ip_pattern_format(&p->rules[i], text, sizeof text) <= 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_exit_policy p, again;
	struct ns_exit_parse_error err;
	char *text, *text2;
	size_t len, len2;

	if (ns_exit_policy_parse((const char *)data, size, &p, &err) != 0) {
		if (err.kind == NS_EXIT_PARSE_OK || p.rules || p.n_rules ||
		    (err.line == 0 && err.kind != NS_EXIT_PARSE_TOO_LONG) ||
		    err.line > count_lines(data, size))
			abort();
		return 0;
	}
	text = render(&p, &len);
	if (ns_exit_policy_parse(text, len, &again, &err) != 0)
		abort();
	same_rules(&p, &again);
	text2 = render(&again, &len2);
	if (len2 != len || memcmp(text, text2, len))
		abort();
	exercise(&p, data, size);
	free(text);
	free(text2);
	ns_exit_policy_free(&p);
	ns_exit_policy_free(&again);
	return 0;
}
