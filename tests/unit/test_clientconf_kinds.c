/* nym-socks5-client's and nym-network-requester's config.toml (their init templates, every key
 * their Config accepts, our [nymsuite] keys) and directories; nym-client's are in
 * test_clientconf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientconf.h"

#define PROVIDER                                                                                  \
	"CytBseW6yFXUMzz4SGAKdNLGR7q3sJLLYxyBGvutNEQV.4QXYyEVc5fUDjmmi8PrHN9tdUFV4PCvSJE1278cHyvoe" \
	"@4sBbL1ngf1vtNqykydQKTFh26sQCw888GpUqvPvyNB4f"

/* Nym's init text for each new kind (tests/unit/expected/README.md says how it was made). */
static char *EXPECTED_SOCKS5, *EXPECTED_NR;

static char *read_expected(const char *name)
{
	char path[256];
	FILE *f;
	long n;
	char *text;

	snprintf(path, sizeof path, "tests/unit/expected/%s", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	text = calloc(1, (size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static int load_expected(void **state)
{
	(void)state;
	EXPECTED_SOCKS5 = read_expected("nym-socks5-client-init.toml");
	EXPECTED_NR = read_expected("nym-network-requester-init.toml");
	return EXPECTED_SOCKS5 && EXPECTED_NR ? 0 : -1;
}

static int free_expected(void **state)
{
	(void)state;
	free(EXPECTED_SOCKS5);
	free(EXPECTED_NR);
	return 0;
}

static void defaults(struct clientconf *c, enum clientconf_kind k)
{
	struct clientconf_dirs d;

	assert_int_equal(clientconf_dirs_kind(k, "/home/u", "test", &d), 0);
	assert_int_equal(clientconf_init_defaults_kind(c, k, &d, "test"), 0);
	if (k == CC_KIND_SOCKS5) {
		assert_int_equal(nym_recipient_from_string(PROVIDER, &c->socks5.provider_mix_address),
		                 0);
		c->socks5.has_provider = 1;
	}
}

static void parse_ok(enum clientconf_kind k, const char *text, struct clientconf *c)
{
	char err[CLIENTCONF_ERR_MAX] = "";

	if (clientconf_parse_kind(k, text, strlen(text), c, err))
		fail_msg("parse: %s", err);
	assert_int_equal(c->kind, k);
}

/* text with the first `from` replaced by `to` */
static void edited(const char *base, const char *from, const char *to, char *out, size_t cap)
{
	const char *at = strstr(base, from);

	if (!at)
		fail_msg("'%s' not in the text", from);
	snprintf(out, cap, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
}

static void expect_error(enum clientconf_kind k, const char *base, const char *from,
                         const char *to, const char *want)
{
	static struct clientconf c;
	char err[CLIENTCONF_ERR_MAX] = "", buf[16384];

	edited(base, from, to, buf, sizeof buf);
	if (clientconf_parse_kind(k, buf, strlen(buf), &c, err) == 0)
		fail_msg("'%s' was accepted", to);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

/* render -> parse -> render gives the same text; with whole, the parsed struct is the one
 * rendered (true when c holds only keys the template writes) */
static void round_trip(const struct clientconf *c, int whole)
{
	static struct clientconf back;
	char err[CLIENTCONF_ERR_MAX] = "";
	size_t n;
	char *t = clientconf_render(c, &n), *t2;

	assert_non_null(t);
	if (clientconf_parse_kind(c->kind, t, n, &back, err))
		fail_msg("parse of the rendering: %s\n%s", err, t);
	if (whole)
		assert_memory_equal(&back, c, sizeof back);
	assert_int_equal(back.has_nymsuite, c->has_nymsuite);
	assert_memory_equal(&back.socks5.provider_mix_address, &c->socks5.provider_mix_address,
	                    sizeof back.socks5.provider_mix_address);
	assert_string_equal(back.socks5.bind_host, c->socks5.bind_host);
	assert_int_equal(back.socks5.bind_port, c->socks5.bind_port);
	assert_int_equal(back.socks5.send_anonymously, c->socks5.send_anonymously);
	assert_string_equal(back.socks5.unix_socket, c->socks5.unix_socket);
	assert_int_equal(back.socks5.http_connect, c->socks5.http_connect);
	assert_int_equal(back.socks5.max_connections, c->socks5.max_connections);
	assert_int_equal(back.nr.open_proxy, c->nr.open_proxy);
	assert_int_equal(back.nr.disable_poisson_rate, c->nr.disable_poisson_rate);
	assert_string_equal(back.nr.upstream_exit_policy_url, c->nr.upstream_exit_policy_url);
	assert_string_equal(back.nr.exit_policy_file, c->nr.exit_policy_file);
	assert_int_equal(back.nr.max_connections, c->nr.max_connections);
	assert_int_equal(back.nr.max_connections_per_sender, c->nr.max_connections_per_sender);
	assert_int_equal(back.nr.buffer_mib, c->nr.buffer_mib);
	assert_string_equal(back.admin_socket, c->admin_socket);
	assert_int_equal(back.privsep_uid_base, c->privsep_uid_base);
	assert_true(back.receive_batch_ns == c->receive_batch_ns);
	assert_int_equal(back.keyd_workers, c->keyd_workers);
	t2 = clientconf_render(&back, NULL);
	assert_string_equal(t2, t);
	free(t);
	free(t2);
}

/* init's defaults render as Nym's text, and come back whole */
static void init_renders_as(struct clientconf *c, enum clientconf_kind k, const char *expected)
{
	size_t n;
	char *t;

	defaults(c, k);
	t = clientconf_render(c, &n);
	assert_non_null(t);
	assert_int_equal(n, strlen(expected));
	assert_string_equal(t, expected);
	free(t);
	round_trip(c, 1);
}

static void test_dirs(void **state)
{
	struct clientconf_dirs d;

	(void)state;
	assert_int_equal(clientconf_dirs_kind(CC_KIND_SOCKS5, "/h", "alice", &d), 0);
	assert_string_equal(d.base, "/h/.nym/socks5-clients/alice");
	assert_string_equal(d.config_file, "/h/.nym/socks5-clients/alice/config/config.toml");
	assert_string_equal(d.data_dir, "/h/.nym/socks5-clients/alice/data");
	assert_int_equal(clientconf_dirs_kind(CC_KIND_NR, "/h", "nr1", &d), 0);
	assert_string_equal(d.base, "/h/.nym/service-providers/network-requester/nr1");
	assert_string_equal(d.config_dir, "/h/.nym/service-providers/network-requester/nr1/config");
	assert_string_equal(d.data_dir, "/h/.nym/service-providers/network-requester/nr1/data");
	assert_int_equal(clientconf_dirs_kind(CC_KIND_CLIENT, "/h", "c", &d), 0);
	assert_string_equal(d.base, "/h/.nym/clients/c");
	setenv("NYM_HOME_DIR", "/nymhome", 1);
	assert_int_equal(clientconf_dirs_kind(CC_KIND_NR, NULL, "bob", &d), 0);
	assert_string_equal(d.base, "/nymhome/.nym/service-providers/network-requester/bob");
	unsetenv("NYM_HOME_DIR");
	assert_int_equal(clientconf_dirs_kind(CC_KIND_SOCKS5, "/h", "a/b", &d), -1);
	assert_int_equal(clientconf_dirs_kind((enum clientconf_kind)7, "/h", "a", &d), -1);
	assert_string_equal(clientconf_kind_program(CC_KIND_CLIENT), "nym-client");
	assert_string_equal(clientconf_kind_program(CC_KIND_SOCKS5), "nym-socks5-client");
	assert_string_equal(clientconf_kind_program(CC_KIND_NR), "nym-network-requester");
	assert_null(clientconf_kind_program((enum clientconf_kind)3));
}

static void test_socks5_render_exact(void **state)
{
	static struct clientconf c, back;

	(void)state;
	init_renders_as(&c, CC_KIND_SOCKS5, EXPECTED_SOCKS5);
	parse_ok(CC_KIND_SOCKS5, EXPECTED_SOCKS5, &back);
	assert_string_equal(back.version, "1.1.64");
	assert_string_equal(back.id, "test");
	assert_string_equal(back.ack_key_file, "/home/u/.nym/socks5-clients/test/data/ack_key.pem");
	assert_string_equal(back.nym_api_urls[0], "https://validator.nymtech.net/api/");
	assert_true(back.socks5.has_provider);
	assert_memory_equal(&back.socks5.provider_mix_address, &c.socks5.provider_mix_address,
	                    sizeof back.socks5.provider_mix_address);
	assert_string_equal(back.socks5.bind_host, "127.0.0.1");
	assert_int_equal(back.socks5.bind_port, 1080);
	assert_false(back.socks5.send_anonymously);
	assert_int_equal(back.socks5.connection_start_surbs, 20);
	assert_int_equal(back.socks5.per_request_surbs, 3);
	/* the template leaves both versions out: a loaded config speaks Versioned(3) */
	assert_false(back.socks5.provider_interface_version.legacy);
	assert_int_equal(back.socks5.provider_interface_version.version, 3);
	assert_false(back.socks5.socks5_protocol_version.legacy);
	assert_int_equal(back.socks5.socks5_protocol_version.version, 3);
	assert_true(back.socks5.http_connect);
	assert_int_equal(back.socks5.max_connections, 1024);
	assert_string_equal(back.socks5.unix_socket, "");
	assert_true(back.debug.average_ack_delay_ns == 15000000ull);
	assert_true(back.debug.stats_enabled);
	assert_false(back.has_nymsuite);
	assert_string_equal(back.admin_socket, "");
}

static void test_nr_render_exact(void **state)
{
	static struct clientconf c, back;

	(void)state;
	init_renders_as(&c, CC_KIND_NR, EXPECTED_NR);
	parse_ok(CC_KIND_NR, EXPECTED_NR, &back);
	assert_string_equal(back.version, "1.1.65");
	assert_string_equal(back.gateway_registrations,
	                    "/home/u/.nym/service-providers/network-requester/test/data/"
	                    "gateways_registrations.sqlite");
	assert_false(back.nr.open_proxy);
	assert_true(back.nr.disable_poisson_rate);
	assert_string_equal(back.nr.upstream_exit_policy_url,
	                    "https://nymtech.net/.wellknown/network-requester/exit-policy.txt");
	assert_true(back.nr.standard_list_update_interval_ns == 1800000000000ull);
	assert_string_equal(back.nr.exit_policy_file, "");
	assert_int_equal(back.nr.max_connections, 1024);
	assert_int_equal(back.nr.max_connections_per_sender, 64);
	assert_int_equal(back.nr.buffer_mib, 64);
	assert_true(back.debug.loop_cover_traffic_average_delay_ns == 200000000ull);
	assert_false(back.has_nymsuite);
}

/* Keys the SOCKS client's Config accepts that its template does not write, and the base
 * client's keys under [core.*] landing in the same fields as nym-client's. */
static void test_socks5_keys(void **state)
{
	static struct clientconf c;
	char a[16384], b[16384];

	(void)state;
	edited(EXPECTED_SOCKS5, "send_anonymously = false\n",
	       "send_anonymously = true\n"
	       "provider_interface_version = {type = \"Legacy\"}\n"
	       "socks5_protocol_version = { type = 'Versioned', version = 2 }\n\n"
	       "[core.socks5.socks5_debug]\nconnection_start_surbs = 50\nper_request_surbs = 7\n",
	       a, sizeof a);
	edited(a, "bind_address = '127.0.0.1:1080'", "bind_address = '[::1]:1081'", b, sizeof b);
	edited(b, "[core.debug]\n",
	       "[core.debug]\n\n[core.debug.traffic]\nmaximum_number_of_retransmissions = 4\n"
	       "average_packet_delay = { secs = 0, nanos = 5000000 }\n"
	       "[core.debug.reply_surbs]\nsurb_mix_hops = 2\n"
	       "[core.debug.topology]\nanything = 1\n",
	       a, sizeof a);
	edited(a, "nym_api_urls = [", "validator_api_urls = [", b, sizeof b);
	edited(b, "client = false\nstats = false\n",
	       "client = true\nstats = false\n\n[nymsuite]\nunix_socket = '/run/s.sock'\n"
	       "http_connect = false\nmax_connections = 10\nadmin_socket = '/run/a.sock'\n"
	       "privsep_uid_base = 100000\nreceive_batch_delay = '2500us'\nkeyd_workers = 3\n",
	       a, sizeof a);
	parse_ok(CC_KIND_SOCKS5, a, &c);
	assert_true(c.receive_batch_ns == 2500000ull);
	assert_int_equal(c.keyd_workers, 3);
	assert_true(c.socks5.send_anonymously);
	assert_true(c.socks5.provider_interface_version.legacy);
	assert_false(c.socks5.socks5_protocol_version.legacy);
	assert_int_equal(c.socks5.socks5_protocol_version.version, 2);
	assert_int_equal(c.socks5.connection_start_surbs, 50);
	assert_int_equal(c.socks5.per_request_surbs, 7);
	assert_string_equal(c.socks5.bind_host, "::1");
	assert_int_equal(c.socks5.bind_port, 1081);
	assert_true(c.debug.has_max_retransmissions);
	assert_int_equal(c.debug.maximum_number_of_retransmissions, 4);
	assert_true(c.debug.average_packet_delay_ns == 5000000ull);
	assert_true(c.debug.has_surb_mix_hops);
	assert_int_equal(c.debug.surb_mix_hops, 2);
	assert_true(c.debug.forget_me_client);
	assert_int_equal(c.n_nym_api_urls, 1);
	assert_true(c.has_nymsuite);
	assert_string_equal(c.socks5.unix_socket, "/run/s.sock");
	assert_false(c.socks5.http_connect);
	assert_int_equal(c.socks5.max_connections, 10);
	assert_string_equal(c.admin_socket, "/run/a.sock");
	assert_int_equal(c.privsep_uid_base, 100000);
	/* what the template holds comes back, [nymsuite] with its non-default keys */
	round_trip(&c, 0);
	{
		char *t = clientconf_render(&c, NULL);
		assert_non_null(strstr(t, "bind_address = '[::1]:1081'\n"));
		assert_non_null(strstr(t, "\n[nymsuite]\n"));
		assert_non_null(strstr(t, "\nunix_socket = \"/run/s.sock\"\n"));
		assert_non_null(strstr(t, "\nhttp_connect = false\n"));
		assert_non_null(strstr(t, "\nmax_connections = 10\n"));
		assert_non_null(strstr(t, "\nprivsep_uid_base = 100000\n"));
		assert_non_null(strstr(t, "\nreceive_batch_delay = \"2500000ns\"\n"));
		assert_non_null(strstr(t, "\nkeyd_workers = 3\n"));
		/* keys outside the template are not written, as in Nym */
		assert_null(strstr(t, "\n[core.socks5.socks5_debug]"));
		free(t);
	}
}

static void test_nr_keys(void **state)
{
	static struct clientconf c;
	char a[16384], b[16384];

	(void)state;
	edited(EXPECTED_NR, "open_proxy = false", "open_proxy = true", a, sizeof a);
	edited(a, "disable_poisson_rate = true", "disable_poisson_rate = false", b, sizeof b);
	edited(b, "'https://nymtech.net/.wellknown/network-requester/exit-policy.txt'",
	       "'http://127.0.0.1:8000'\n\n[network_requester_debug]\n"
	       "standard_list_update_interval = '1h'",
	       a, sizeof a);
	/* the dead storage keys: any value, as Nym's loader never looks at them */
	edited(a, "allowed_list_location = ''", "allowed_list_location = '/old/allowed.list'", b,
	       sizeof b);
	edited(b, "nr_description = ''", "nr_description = 7", a, sizeof a);
	edited(a, "[debug.cover_traffic]",
	       "[debug.traffic]\ndisable_main_poisson_packet_distribution = true\n\n"
	       "[debug.cover_traffic]",
	       b, sizeof b);
	edited(b, "[debug]\n",
	       "[nymsuite]\nexit_policy_file = '/etc/nym/exit-policy.txt'\nmax_connections = 500\n"
	       "max_connections_per_sender = 5\nbuffer_mib = 8\n\n[debug]\n",
	       a, sizeof a);
	parse_ok(CC_KIND_NR, a, &c);
	assert_true(c.nr.open_proxy);
	assert_false(c.nr.disable_poisson_rate);
	assert_string_equal(c.nr.upstream_exit_policy_url, "http://127.0.0.1:8000/");
	assert_true(c.nr.standard_list_update_interval_ns == 3600000000000ull);
	assert_true(c.debug.disable_main_poisson_packet_distribution);
	assert_string_equal(c.nr.exit_policy_file, "/etc/nym/exit-policy.txt");
	assert_int_equal(c.nr.max_connections, 500);
	assert_int_equal(c.nr.max_connections_per_sender, 5);
	assert_int_equal(c.nr.buffer_mib, 8);
	round_trip(&c, 0);
	/* an empty URL is none */
	edited(EXPECTED_NR, "'https://nymtech.net/.wellknown/network-requester/exit-policy.txt'", "''",
	       a, sizeof a);
	parse_ok(CC_KIND_NR, a, &c);
	assert_string_equal(c.nr.upstream_exit_policy_url, "");
	round_trip(&c, 0);
	/* [network_requester] is optional: its defaults */
	edited(EXPECTED_NR, "[network_requester]", "[nymsuite]", a, sizeof a);
	edited(a, "open_proxy = false\n", "", b, sizeof b);
	edited(b, "disable_poisson_rate = true\n", "", a, sizeof a);
	edited(a, "upstream_exit_policy_url = 'https://nymtech.net/.wellknown/network-requester/"
	          "exit-policy.txt'\n",
	       "", b, sizeof b);
	parse_ok(CC_KIND_NR, b, &c);
	assert_true(c.nr.disable_poisson_rate);
	assert_string_equal(c.nr.upstream_exit_policy_url, CLIENTCONF_EXIT_POLICY_URL);
	assert_true(c.has_nymsuite);
	round_trip(&c, 0);
}

#define S5 CC_KIND_SOCKS5
#define NR CC_KIND_NR
#define CLIENT CC_KIND_CLIENT

/* parse_as reading text_of's init text with `from` replaced by `to`: refused with `want` */
struct bad_case {
	enum clientconf_kind parse_as, text_of;
	const char *from, *to, *want;
};

static void expect_errors(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *b = &cases[i];
		expect_error(b->parse_as, b->text_of == CC_KIND_SOCKS5 ? EXPECTED_SOCKS5 : EXPECTED_NR,
		             b->from, b->to, b->want);
	}
}

/* unknown keys refused naming the key, and bad values */
static const struct bad_case REFUSED[] = {
	{S5, S5, "[core.client]", "[client]", "unknown table [client]"},
	{S5, S5, "[core.debug]\n", "[debug]\n", "unknown table [debug]"},
	{S5, S5, "send_anonymously = false", "send_anonymously = false\nsocks_port = 1",
	 "unknown field `socks_port` in [core.socks5]"},
	{S5, S5, "[core.debug]\n", "[core.debug]\nfoo = 1\n", "unknown field `foo` in [core.debug]"},
	{S5, S5, "[core.debug.forget_me]", "[core.bogus]\n[core.debug.forget_me]",
	 "unknown table [core.bogus]"},
	{S5, S5, "[core.debug]\n", "[core.socks5.socks5_debug]\nstart_surbs = 1\n[core.debug]\n",
	 "unknown field `start_surbs` in [core.socks5.socks5_debug]"},
	{S5, S5, "send_anonymously = false",
	 "provider_interface_version = {type = 'Legacy', extra = 1}",
	 "unknown field `extra` in [core.socks5.provider_interface_version]"},
	{S5, S5, "[logging]", "[socket]\nhost = '::1'\n[logging]", "unknown table [socket]"},
	{S5, S5, "[logging]", "[network_requester]\n[logging]", "unknown table [network_requester]"},
	{S5, S5, "gateway_registrations = ", "allowed_list_location = ''\ngateway_registrations = ",
	 "unknown field `allowed_list_location` in [storage_paths]"},
	{NR, NR, "nr_description = ''", "nr_description = ''\nallow_list = ''",
	 "unknown field `allow_list` in [storage_paths]"},
	{NR, NR, "open_proxy = false", "open_proxy = false\nopen = true",
	 "unknown field `open` in [network_requester]"},
	{NR, NR, "[logging]", "[network_requester_debug]\nlist_update = '1m'\n[logging]",
	 "unknown field `list_update` in [network_requester_debug]"},
	{NR, NR, "[client]", "[core.client]", "unknown table [core.client]"},
	{NR, NR, "[logging]", "[core.socks5]\n[logging]", "unknown table [core.socks5]"},
	/* [nymsuite] keys belong to their kind */
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\napi_socket = ''\n",
	 "unknown field `api_socket` in [nymsuite]"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nexit_policy_file = ''\n",
	 "unknown field `exit_policy_file` in [nymsuite]"},
	{NR, NR, "[debug]\n", "[nymsuite]\nunix_socket = ''\n[debug]\n",
	 "unknown field `unix_socket` in [nymsuite]"},
	{NR, NR, "[debug]\n", "[nymsuite]\nmax_apps = 3\n[debug]\n",
	 "unknown field `max_apps` in [nymsuite]"},
	/* another kind's file */
	{CLIENT, S5, "\n", "\n", "unknown table [core.client]"},
	{S5, NR, "\n", "\n", "unknown table [client]"},
	{NR, S5, "\n", "\n", "unknown table [core.client]"},
	/* bad values */
	{S5, S5, "send_anonymously = false", "provider_interface_version = {type = 'Foo'}",
	 "`core.socks5.provider_interface_version.type`: unknown variant 'Foo'"},
	{S5, S5, "send_anonymously = false", "provider_interface_version = {type = 'Versioned'}",
	 "missing field `core.socks5.provider_interface_version.version`"},
	{S5, S5, "send_anonymously = false",
	 "socks5_protocol_version = {type = 'Versioned', version = 256}",
	 "`core.socks5.socks5_protocol_version.version` is out of range (0..255)"},
	{S5, S5, "send_anonymously = false",
	 "socks5_protocol_version = {type = 'Versioned', version = -1}", "is out of range"},
	{S5, S5, "send_anonymously = false",
	 "socks5_protocol_version = {type = 'Versioned', version = '3'}",
	 "`core.socks5.socks5_protocol_version.version` has the wrong type"},
	{S5, S5, "send_anonymously = false",
	 "socks5_protocol_version = {type = 'Legacy', version = 3}",
	 "`core.socks5.socks5_protocol_version`: Legacy takes no version"},
	{S5, S5, "send_anonymously = false", "socks5_protocol_version = {version = 3}",
	 "missing field `core.socks5.socks5_protocol_version.type`"},
	{S5, S5, "send_anonymously = false", "socks5_protocol_version = 'Legacy'",
	 "`core.socks5.socks5_protocol_version` must be {type = \"Legacy\"}"},
	{S5, S5, "send_anonymously = false", "send_anonymously = 'yes'",
	 "`core.socks5.send_anonymously` has the wrong type"},
	{S5, S5, "provider_mix_address = 'Cyt", "provider_mix_address = 'xCyt",
	 "`core.socks5.provider_mix_address` is not a valid recipient"},
	{S5, S5, "provider_mix_address = '" PROVIDER "'", "provider_mix_address = ''",
	 "`core.socks5.provider_mix_address` is not a valid recipient"},
	{S5, S5, "provider_mix_address = '" PROVIDER "'", "",
	 "missing field `core.socks5.provider_mix_address`"},
	{S5, S5, "bind_address = '127.0.0.1:1080'", "", "missing field `core.socks5.bind_address`"},
	{S5, S5, "[core.socks5]", "[core.sock5]", "unknown table [core.sock5]"},
	{S5, S5, "= '127.0.0.1:1080'", "= 'localhost:1080'",
	 "`core.socks5.bind_address` is not an IP socket address: 'localhost:1080'"},
	{S5, S5, "= '127.0.0.1:1080'", "= '127.0.0.1'", "is not an IP socket address"},
	{S5, S5, "= '127.0.0.1:1080'", "= '::1:1080'", "is not an IP socket address"},
	{S5, S5, "= '127.0.0.1:1080'", "= '127.0.0.1:70000'", "is not an IP socket address"},
	{S5, S5, "[core.debug]\n",
	 "[core.socks5.socks5_debug]\nper_request_surbs = 4294967296\n[core.debug]\n",
	 "`core.socks5.socks5_debug.per_request_surbs` is out of range"},
	{S5, S5, "average_ack_delay = '15ms'", "average_ack_delay = '15 x'",
	 "`core.debug.acknowledgements.average_ack_delay`: invalid duration"},
	{S5, S5, "id = 'test'\n", "", "missing field `core.client.id`"},
	{S5, S5, "[core.client]", "[core.clients]", "unknown table [core.clients]"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nmax_connections = 0\n",
	 "`nymsuite.max_connections` must be > 0"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nhttp_connect = 1\n",
	 "`nymsuite.http_connect` has the wrong type"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nprivsep_uid_base = 5\n",
	 "`nymsuite.privsep_uid_base` must be at least 1000"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nreceive_batch_delay = '101ms'\n",
	 "`nymsuite.receive_batch_delay` is out of range (0..100ms)"},
	{S5, S5, "stats = false\n", "stats = false\n[nymsuite]\nkeyd_workers = 65\n",
	 "`nymsuite.keyd_workers` is out of range (0..64)"},
	{NR, NR, "[debug]\n", "[nymsuite]\nkeyd_workers = -1\n[debug]\n",
	 "`nymsuite.keyd_workers` is out of range (0..64)"},
	{NR, NR, "[debug]\n", "[nymsuite]\nkeyd_workers = '2'\n[debug]\n",
	 "`nymsuite.keyd_workers` has the wrong type"},
	{NR, NR, "[debug]\n", "[nymsuite]\nreceive_batch_delay = 5\n[debug]\n",
	 "`nymsuite.receive_batch_delay` has the wrong type"},
	{NR, NR, "[debug]\n", "[nymsuite]\nreceive_batch_delay = '5 parsecs'\n[debug]\n",
	 "`nymsuite.receive_batch_delay`: invalid duration"},
	{NR, NR, "open_proxy = false", "open_proxy = 'yes'",
	 "`network_requester.open_proxy` has the wrong type"},
	{NR, NR, "'https://nymtech.net/.wellknown/network-requester/exit-policy.txt'",
	 "'nymtech.net/exit-policy.txt'",
	 "`network_requester.upstream_exit_policy_url`: invalid URL"},
	{NR, NR, "[logging]",
	 "[network_requester_debug]\nstandard_list_update_interval = 'soon'\n[logging]",
	 "`network_requester_debug.standard_list_update_interval`: invalid duration"},
	{NR, NR, "[debug]\n", "[nymsuite]\nbuffer_mib = 70000\n[debug]\n",
	 "`nymsuite.buffer_mib` is out of range"},
	{NR, NR, "[debug]\n", "[nymsuite]\nmax_connections_per_sender = 0\n[debug]\n",
	 "`nymsuite.max_connections_per_sender` must be > 0"},
	{NR, NR, "[logging]", "[logs]", "unknown table [logs]"},
	{NR, NR, "[storage_paths]\n", "[storage]\n", "unknown table [storage]"},
};

static void test_refused(void **state)
{
	(void)state;
	expect_errors(REFUSED, sizeof REFUSED / sizeof REFUSED[0]);
}

static void test_files(void **state)
{
	static struct clientconf c, back;
	struct clientconf_dirs d;
	char tmpl[] = "/tmp/cckXXXXXX", err[CLIENTCONF_ERR_MAX], p[CLIENTCONF_PATH_MAX];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(clientconf_dirs_kind(CC_KIND_NR, tmpl, "exit", &d), 0);
	assert_int_equal(clientconf_init_defaults_kind(&c, CC_KIND_NR, &d, "exit"), 0);
	assert_int_equal(clientconf_make_dirs(&d), 0);
	assert_int_equal(clientconf_save(d.config_file, &c), 0);
	assert_int_equal(clientconf_is_initialised(&d), 1);
	assert_int_equal(stat(d.config_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(clientconf_load_kind(CC_KIND_NR, d.config_file, &back, err), 0);
	assert_memory_equal(&back, &c, sizeof c);
	/* nym-client's loader refuses it, naming what it does not know */
	assert_int_equal(clientconf_load(d.config_file, &back, err), -1);
	assert_non_null(strstr(err, "allowed_list_location"));
	assert_int_equal(clientconf_admin_path(&c, &d, p, sizeof p), 0);
	assert_non_null(strstr(p, "/.nym/service-providers/network-requester/exit/data/nymctl.sock"));
	unlink(d.config_file);
	rmdir(d.config_dir);
	rmdir(d.data_dir);
	rmdir(d.base);
	snprintf(p, sizeof p, "%s/.nym/service-providers/network-requester", tmpl);
	rmdir(p);
	snprintf(p, sizeof p, "%s/.nym/service-providers", tmpl);
	rmdir(p);
	snprintf(p, sizeof p, "%s/.nym", tmpl);
	rmdir(p);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_socks5_render_exact),
		cmocka_unit_test(test_nr_render_exact),
		cmocka_unit_test(test_socks5_keys),
		cmocka_unit_test(test_nr_keys),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, load_expected, free_expected);
}
