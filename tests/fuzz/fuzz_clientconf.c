/* config.toml reader, humantime and PEM decoders. First byte % 5 picks the target:
 *   0, 3, 4: nym-client's, nym-socks5-client's, nym-network-requester's config.toml text ->
 *      parse; on success render, parse again, render again: both renders must be identical
 *      and the template's fields equal (when no value holds characters handlebars
 *      HTML-escapes or that a TOML literal string cannot hold, as in Nym), and our [nymsuite]
 *      table's values the same (basic strings: any path round-trips);
 *   1: PEM text (label "X") -> decode; on success encode then decode gives the same bytes;
 *   2: humantime text -> parse; on success format then parse gives the same duration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientconf.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ns_crypto_init();
}

static int plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || strchr("<>&\"'`=\x7f", *s))
			return 0;
	return 1;
}

static int all_plain(const struct clientconf *c)
{
	int ok = plain(c->version) && plain(c->id) && plain(c->host) &&
	         plain(c->private_identity_key_file) && plain(c->public_identity_key_file) &&
	         plain(c->private_encryption_key_file) && plain(c->public_encryption_key_file) &&
	         plain(c->ack_key_file) && plain(c->credentials_database) &&
	         plain(c->reply_surb_database) && plain(c->gateway_registrations);

	for (size_t k = 0; k < c->n_nyxd_urls; k++)
		ok = ok && plain(c->nyxd_urls[k]);
	for (size_t k = 0; k < c->n_nym_api_urls; k++)
		ok = ok && plain(c->nym_api_urls[k]);
	return ok && plain(c->socks5.bind_host) && plain(c->nr.upstream_exit_policy_url);
}

static int same_kind_fields(const struct clientconf *a, const struct clientconf *b)
{
	const struct clientconf_socks5 *s = &a->socks5, *t = &b->socks5;
	const struct clientconf_nr *n = &a->nr, *m = &b->nr;

	return a->kind == b->kind && s->has_provider == t->has_provider &&
	       !memcmp(&s->provider_mix_address, &t->provider_mix_address,
	               sizeof s->provider_mix_address) &&
	       !strcmp(s->bind_host, t->bind_host) && s->bind_port == t->bind_port &&
	       s->send_anonymously == t->send_anonymously && !strcmp(s->unix_socket, t->unix_socket) &&
	       s->http_connect == t->http_connect && s->max_connections == t->max_connections &&
	       n->open_proxy == m->open_proxy && n->disable_poisson_rate == m->disable_poisson_rate &&
	       !strcmp(n->upstream_exit_policy_url, m->upstream_exit_policy_url) &&
	       !strcmp(n->exit_policy_file, m->exit_policy_file) &&
	       n->max_connections == m->max_connections &&
	       n->max_connections_per_sender == m->max_connections_per_sender &&
	       n->buffer_mib == m->buffer_mib && a->privsep_uid_base == b->privsep_uid_base;
}

static void check_config(enum clientconf_kind kind, const char *text, size_t n)
{
	static struct clientconf a, b;
	char err[CLIENTCONF_ERR_MAX];
	char *t1, *t2;
	size_t n1, n2;

	if (clientconf_parse_kind(kind, text, n, &a, err))
		return;
	if (a.kind != kind)
		abort();
	t1 = clientconf_render(&a, &n1);
	if (!t1)
		abort();
	if (all_plain(&a)) {
		if (clientconf_parse_kind(kind, t1, n1, &b, err))
			abort();
		t2 = clientconf_render(&b, &n2);
		if (!t2 || n1 != n2 || memcmp(t1, t2, n1))
			abort();
		if (strcmp(a.id, b.id) || strcmp(a.version, b.version) ||
		    a.listening_port != b.listening_port || a.socket_websocket != b.socket_websocket ||
		    a.n_nyxd_urls != b.n_nyxd_urls || a.n_nym_api_urls != b.n_nym_api_urls ||
		    a.disabled_credentials_mode != b.disabled_credentials_mode ||
		    a.debug.average_ack_delay_ns != b.debug.average_ack_delay_ns ||
		    a.debug.stats_reporting_interval_ns != b.debug.stats_reporting_interval_ns ||
		    a.debug.has_stats_provider != b.debug.has_stats_provider ||
		    strcmp(a.ack_key_file, b.ack_key_file) || a.has_nymsuite != b.has_nymsuite ||
		    strcmp(a.api_socket, b.api_socket) || strcmp(a.admin_socket, b.admin_socket) ||
		    !same_kind_fields(&a, &b))
			abort();
		free(t2);
	}
	free(t1);
}

static void check_pem(const char *text, size_t n)
{
	uint8_t out[512], again[512];
	char err[CLIENTCONF_ERR_MAX], *pem;
	long got = clientconf_pem_decode(text, n, "X", out, sizeof out, err);
	size_t pn;

	if (got < 0)
		return;
	pem = clientconf_pem_encode("X", out, (size_t)got, &pn);
	if (!pem || clientconf_pem_decode(pem, pn, "X", again, sizeof again, err) != got ||
	    memcmp(out, again, (size_t)got))
		abort();
	free(pem);
}

static void check_duration(const char *text)
{
	uint64_t ns, back;
	char out[256];

	if (clientconf_parse_duration(text, &ns))
		return;
	if (clientconf_format_duration(ns, out, sizeof out) || clientconf_parse_duration(out, &back) ||
	    back != ns)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0: check_config(CC_KIND_CLIENT, text, size - 1); break;
	case 1: check_pem(text, size - 1); break;
	case 2: check_duration(text); break;
	case 3: check_config(CC_KIND_SOCKS5, text, size - 1); break;
	default: check_config(CC_KIND_NR, text, size - 1); break;
	}
	free(text);
	return 0;
}
