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

/* clients/socks5/src/config/template.rs rendered by handlebars 3.5.5 for
 * `init --id test --provider PROVIDER` with NYM_HOME_DIR=/home/u (Config::new's values). */
static const char EXPECTED_SOCKS5[] =
	"\n"
	"# This is a TOML config file.\n"
	"# For more information, see https://github.com/toml-lang/toml\n"
	"\n"
	"##### main base client config options #####\n"
	"\n"
	"[core.client]\n"
	"# Version of the client for which this configuration was created.\n"
	"version = '1.1.64'\n"
	"\n"
	"# Human readable ID of this particular client.\n"
	"id = 'test'\n"
	"\n"
	"# Indicates whether this client is running in a disabled credentials mode, thus attempting\n"
	"# to claim bandwidth without presenting bandwidth credentials.\n"
	"disabled_credentials_mode = true\n"
	"\n"
	"# Addresses to nyxd validators via which the client can communicate with the chain.\n"
	"nyxd_urls = [\n"
	"    \n"
	"        'https://rpc.nymtech.net/',\n"
	"    \n"
	"]\n"
	"\n"
	"# Addresses to APIs running on validator from which the client gets the view of the network.\n"
	"nym_api_urls = [\n"
	"    \n"
	"        'https://validator.nymtech.net/api/',\n"
	"    \n"
	"]\n"
	"\n"
	"[storage_paths] \n"
	"\n"
	"# Path to file containing private identity key.\n"
	"keys.private_identity_key_file = '/home/u/.nym/socks5-clients/test/data/private_identity.pem'\n"
	"\n"
	"# Path to file containing public identity key.\n"
	"keys.public_identity_key_file = '/home/u/.nym/socks5-clients/test/data/public_identity.pem'\n"
	"\n"
	"# Path to file containing private encryption key.\n"
	"keys.private_encryption_key_file = '/home/u/.nym/socks5-clients/test/data/private_encryption.pem'\n"
	"\n"
	"# Path to file containing public encryption key.\n"
	"keys.public_encryption_key_file = '/home/u/.nym/socks5-clients/test/data/public_encryption.pem'\n"
	"\n"
	"# Path to file containing key used for encrypting and decrypting the content of an\n"
	"# acknowledgement so that nobody besides the client knows which packet it refers to.\n"
	"keys.ack_key_file = '/home/u/.nym/socks5-clients/test/data/ack_key.pem'\n"
	"\n"
	"# Path to the database containing bandwidth credentials\n"
	"credentials_database = '/home/u/.nym/socks5-clients/test/data/credentials_database.db'\n"
	"\n"
	"# Path to the persistent store for received reply surbs, unused encryption keys and used sender tags.\n"
	"reply_surb_database = '/home/u/.nym/socks5-clients/test/data/persistent_reply_store.sqlite'\n"
	"\n"
	"# Path to the file containing information about gateways used by this client,\n"
	"# i.e. details such as their public keys, owner addresses or the network information.\n"
	"gateway_registrations = '/home/u/.nym/socks5-clients/test/data/gateways_registrations.sqlite'\n"
	"\n"
	"##### socket config options #####\n"
	"\n"
	"[core.socks5]\n"
	"\n"
	"# The mix address of the provider to which all requests are going to be sent.\n"
	"provider_mix_address = 'CytBseW6yFXUMzz4SGAKdNLGR7q3sJLLYxyBGvutNEQV.4QXYyEVc5fUDjmmi8PrHN9tdUFV4PCvSJE1278cHyvoe@4sBbL1ngf1vtNqykydQKTFh26sQCw888GpUqvPvyNB4f'\n"
	"\n"
	"# The address on which the client will be listening for incoming requests\n"
	"# (default: 127.0.0.1:1080)\n"
	"bind_address = '127.0.0.1:1080'\n"
	"\n"
	"# Specifies whether this client is going to use an anonymous sender tag for communication with the service provider.\n"
	"# While this is going to hide its actual address information, it will make the actual communication\n"
	"# slower and consume nearly double the bandwidth as it will require sending reply SURBs.\n"
	"#\n"
	"# Note that some service providers might not support this.\n"
	"send_anonymously = false\n"
	"\n"
	"##### logging configuration options #####\n"
	"\n"
	"[logging]\n"
	"\n"
	"# TODO\n"
	"\n"
	"\n"
	"##### debug configuration options #####\n"
	"# The following options should not be modified unless you know EXACTLY what you are doing\n"
	"# as if set incorrectly, they may impact your anonymity.\n"
	"\n"
	"# [core.socks5.socks5_debug]\n"
	"\n"
	"\n"
	"[core.debug]\n"
	"\n"
	"[core.debug.acknowledgements]\n"
	"average_ack_delay = '15ms'\n"
	"\n"
	"[core.debug.cover_traffic]\n"
	"loop_cover_traffic_average_delay = '200ms'\n"
	"\n"
	"[core.debug.stats_reporting]\n"
	"enabled = true\n"
	"provider_address = ''\n"
	"reporting_interval = '5m'\n"
	"\n"
	"[core.debug.forget_me]\n"
	"client = false\n"
	"stats = false\n"
	"\n";

/* service-providers/network-requester/src/config/template.rs rendered for `init --id test`:
 * the three storage keys the struct no longer has come out empty. */
static const char EXPECTED_NR[] =
	"\n"
	"# This is a TOML config file.\n"
	"# For more information, see https://github.com/toml-lang/toml\n"
	"\n"
	"##### main base client config options #####\n"
	"\n"
	"[client]\n"
	"# Version of the client for which this configuration was created.\n"
	"version = '1.1.65'\n"
	"\n"
	"# Human readable ID of this particular client.\n"
	"id = 'test'\n"
	"\n"
	"# Indicates whether this client is running in a disabled credentials mode, thus attempting\n"
	"# to claim bandwidth without presenting bandwidth credentials.\n"
	"disabled_credentials_mode = true\n"
	"\n"
	"# Addresses to nyxd validators via which the client can communicate with the chain.\n"
	"nyxd_urls = [\n"
	"    \n"
	"        'https://rpc.nymtech.net/',\n"
	"    \n"
	"]\n"
	"\n"
	"# Addresses to APIs running on validator from which the client gets the view of the network.\n"
	"nym_api_urls = [\n"
	"    \n"
	"        'https://validator.nymtech.net/api/',\n"
	"    \n"
	"]\n"
	"\n"
	"[storage_paths]\n"
	"\n"
	"# Path to file containing private identity key.\n"
	"keys.private_identity_key_file = '/home/u/.nym/service-providers/network-requester/test/data/private_identity.pem'\n"
	"\n"
	"# Path to file containing public identity key.\n"
	"keys.public_identity_key_file = '/home/u/.nym/service-providers/network-requester/test/data/public_identity.pem'\n"
	"\n"
	"# Path to file containing private encryption key.\n"
	"keys.private_encryption_key_file = '/home/u/.nym/service-providers/network-requester/test/data/private_encryption.pem'\n"
	"\n"
	"# Path to file containing public encryption key.\n"
	"keys.public_encryption_key_file = '/home/u/.nym/service-providers/network-requester/test/data/public_encryption.pem'\n"
	"\n"
	"# Path to file containing key used for encrypting and decrypting the content of an\n"
	"# acknowledgement so that nobody besides the client knows which packet it refers to.\n"
	"keys.ack_key_file = '/home/u/.nym/service-providers/network-requester/test/data/ack_key.pem'\n"
	"\n"
	"# Path to the database containing bandwidth credentials\n"
	"credentials_database = '/home/u/.nym/service-providers/network-requester/test/data/credentials_database.db'\n"
	"\n"
	"# Path to the persistent store for received reply surbs, unused encryption keys and used sender tags.\n"
	"reply_surb_database = '/home/u/.nym/service-providers/network-requester/test/data/persistent_reply_store.sqlite'\n"
	"\n"
	"# Path to the file containing information about gateways used by this client,\n"
	"# i.e. details such as their public keys, owner addresses or the network information.\n"
	"gateway_registrations = '/home/u/.nym/service-providers/network-requester/test/data/gateways_registrations.sqlite'\n"
	"\n"
	"# Location of the file containing our allow.list\n"
	"allowed_list_location = ''\n"
	"\n"
	"# Location of the file containing our unknown.list\n"
	"unknown_list_location = ''\n"
	"\n"
	"# Path to file containing description of this network-requester.\n"
	"nr_description = ''\n"
	"\n"
	"\n"
	"[network_requester]\n"
	"\n"
	"# specifies whether this network requester should run in 'open-proxy' mode\n"
	"# and thus would attempt to resolve **ANY** request it receives.\n"
	"open_proxy = false\n"
	"\n"
	"# Disable Poisson sending rate\n"
	"# This is equivalent to setting debug.traffic.disable_main_poisson_packet_distribution = true,\n"
	"disable_poisson_rate = true\n"
	"\n"
	"# Specifies the url for an upstream source of the exit policy used by this node.\n"
	"upstream_exit_policy_url = 'https://nymtech.net/.wellknown/network-requester/exit-policy.txt'\n"
	"\n"
	"##### logging configuration options #####\n"
	"\n"
	"[logging]\n"
	"\n"
	"# TODO\n"
	"\n"
	"\n"
	"##### debug configuration options #####\n"
	"# The following options should not be modified unless you know EXACTLY what you are doing\n"
	"# as if set incorrectly, they may impact your anonymity.\n"
	"\n"
	"[debug]\n"
	"\n"
	"[debug.acknowledgements]\n"
	"average_ack_delay = '15ms'\n"
	"\n"
	"[debug.cover_traffic]\n"
	"loop_cover_traffic_average_delay = '200ms'\n"
	"\n";

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
	t2 = clientconf_render(&back, NULL);
	assert_string_equal(t2, t);
	free(t);
	free(t2);
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
	size_t n;
	char *t;

	(void)state;
	defaults(&c, CC_KIND_SOCKS5);
	t = clientconf_render(&c, &n);
	assert_non_null(t);
	assert_int_equal(n, strlen(EXPECTED_SOCKS5));
	assert_string_equal(t, EXPECTED_SOCKS5);
	free(t);
	round_trip(&c, 1);
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
	size_t n;
	char *t;

	(void)state;
	defaults(&c, CC_KIND_NR);
	t = clientconf_render(&c, &n);
	assert_non_null(t);
	assert_int_equal(n, strlen(EXPECTED_NR));
	assert_string_equal(t, EXPECTED_NR);
	free(t);
	round_trip(&c, 1);
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
	       "privsep_uid_base = 100000\n",
	       a, sizeof a);
	parse_ok(CC_KIND_SOCKS5, a, &c);
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

static void test_unknown_keys(void **state)
{
	const char *s = EXPECTED_SOCKS5, *n = EXPECTED_NR;

	(void)state;
	expect_error(CC_KIND_SOCKS5, s, "[core.client]", "[client]", "unknown table [client]");
	expect_error(CC_KIND_SOCKS5, s, "[core.debug]\n", "[debug]\n", "unknown table [debug]");
	expect_error(CC_KIND_SOCKS5, s, "send_anonymously = false",
	             "send_anonymously = false\nsocks_port = 1", "unknown field `socks_port` in "
	             "[core.socks5]");
	expect_error(CC_KIND_SOCKS5, s, "[core.debug]\n", "[core.debug]\nfoo = 1\n",
	             "unknown field `foo` in [core.debug]");
	expect_error(CC_KIND_SOCKS5, s, "[core.debug.forget_me]", "[core.bogus]\n[core.debug.forget_me]",
	             "unknown table [core.bogus]");
	expect_error(CC_KIND_SOCKS5, s, "[core.debug]\n",
	             "[core.socks5.socks5_debug]\nstart_surbs = 1\n[core.debug]\n",
	             "unknown field `start_surbs` in [core.socks5.socks5_debug]");
	expect_error(CC_KIND_SOCKS5, s, "send_anonymously = false",
	             "provider_interface_version = {type = 'Legacy', extra = 1}",
	             "unknown field `extra` in [core.socks5.provider_interface_version]");
	expect_error(CC_KIND_SOCKS5, s, "[logging]", "[socket]\nhost = '::1'\n[logging]",
	             "unknown table [socket]");
	expect_error(CC_KIND_SOCKS5, s, "[logging]", "[network_requester]\n[logging]",
	             "unknown table [network_requester]");
	expect_error(CC_KIND_SOCKS5, s, "gateway_registrations = ",
	             "allowed_list_location = ''\ngateway_registrations = ",
	             "unknown field `allowed_list_location` in [storage_paths]");
	expect_error(CC_KIND_NR, n, "nr_description = ''", "nr_description = ''\nallow_list = ''",
	             "unknown field `allow_list` in [storage_paths]");
	expect_error(CC_KIND_NR, n, "open_proxy = false", "open_proxy = false\nopen = true",
	             "unknown field `open` in [network_requester]");
	expect_error(CC_KIND_NR, n, "[logging]",
	             "[network_requester_debug]\nlist_update = '1m'\n[logging]",
	             "unknown field `list_update` in [network_requester_debug]");
	expect_error(CC_KIND_NR, n, "[client]", "[core.client]", "unknown table [core.client]");
	expect_error(CC_KIND_NR, n, "[logging]", "[core.socks5]\n[logging]",
	             "unknown table [core.socks5]");
	/* [nymsuite] keys belong to their kind */
	expect_error(CC_KIND_SOCKS5, s, "stats = false\n", "stats = false\n[nymsuite]\napi_socket = ''\n",
	             "unknown field `api_socket` in [nymsuite]");
	expect_error(CC_KIND_SOCKS5, s, "stats = false\n",
	             "stats = false\n[nymsuite]\nexit_policy_file = ''\n",
	             "unknown field `exit_policy_file` in [nymsuite]");
	expect_error(CC_KIND_NR, n, "[debug]\n", "[nymsuite]\nunix_socket = ''\n[debug]\n",
	             "unknown field `unix_socket` in [nymsuite]");
	expect_error(CC_KIND_NR, n, "[debug]\n", "[nymsuite]\nmax_apps = 3\n[debug]\n",
	             "unknown field `max_apps` in [nymsuite]");
	/* another kind's file */
	expect_error(CC_KIND_CLIENT, s, "\n", "\n", "unknown table [core.client]");
	expect_error(CC_KIND_SOCKS5, n, "\n", "\n", "unknown table [client]");
	expect_error(CC_KIND_NR, s, "\n", "\n", "unknown table [core.client]");
}

static void test_bad_values(void **state)
{
	const char *s = EXPECTED_SOCKS5, *n = EXPECTED_NR, *anon = "send_anonymously = false";

	(void)state;
	expect_error(CC_KIND_SOCKS5, s, anon, "provider_interface_version = {type = 'Foo'}",
	             "`core.socks5.provider_interface_version.type`: unknown variant 'Foo'");
	expect_error(CC_KIND_SOCKS5, s, anon, "provider_interface_version = {type = 'Versioned'}",
	             "missing field `core.socks5.provider_interface_version.version`");
	expect_error(CC_KIND_SOCKS5, s, anon,
	             "socks5_protocol_version = {type = 'Versioned', version = 256}",
	             "`core.socks5.socks5_protocol_version.version` is out of range (0..255)");
	expect_error(CC_KIND_SOCKS5, s, anon,
	             "socks5_protocol_version = {type = 'Versioned', version = -1}",
	             "is out of range");
	expect_error(CC_KIND_SOCKS5, s, anon,
	             "socks5_protocol_version = {type = 'Versioned', version = '3'}",
	             "`core.socks5.socks5_protocol_version.version` has the wrong type");
	expect_error(CC_KIND_SOCKS5, s, anon, "socks5_protocol_version = {type = 'Legacy', version = 3}",
	             "`core.socks5.socks5_protocol_version`: Legacy takes no version");
	expect_error(CC_KIND_SOCKS5, s, anon, "socks5_protocol_version = {version = 3}",
	             "missing field `core.socks5.socks5_protocol_version.type`");
	expect_error(CC_KIND_SOCKS5, s, anon, "socks5_protocol_version = 'Legacy'",
	             "`core.socks5.socks5_protocol_version` must be {type = \"Legacy\"}");
	expect_error(CC_KIND_SOCKS5, s, anon, "send_anonymously = 'yes'",
	             "`core.socks5.send_anonymously` has the wrong type");
	expect_error(CC_KIND_SOCKS5, s, "provider_mix_address = 'Cyt", "provider_mix_address = 'xCyt",
	             "`core.socks5.provider_mix_address` is not a valid recipient");
	expect_error(CC_KIND_SOCKS5, s, "provider_mix_address = '" PROVIDER "'",
	             "provider_mix_address = ''",
	             "`core.socks5.provider_mix_address` is not a valid recipient");
	expect_error(CC_KIND_SOCKS5, s, "provider_mix_address = '" PROVIDER "'", "",
	             "missing field `core.socks5.provider_mix_address`");
	expect_error(CC_KIND_SOCKS5, s, "bind_address = '127.0.0.1:1080'", "",
	             "missing field `core.socks5.bind_address`");
	expect_error(CC_KIND_SOCKS5, s, "[core.socks5]", "[core.sock5]", "unknown table [core.sock5]");
	expect_error(CC_KIND_SOCKS5, s, "= '127.0.0.1:1080'", "= 'localhost:1080'",
	             "`core.socks5.bind_address` is not an IP socket address: 'localhost:1080'");
	expect_error(CC_KIND_SOCKS5, s, "= '127.0.0.1:1080'", "= '127.0.0.1'",
	             "is not an IP socket address");
	expect_error(CC_KIND_SOCKS5, s, "= '127.0.0.1:1080'", "= '::1:1080'",
	             "is not an IP socket address");
	expect_error(CC_KIND_SOCKS5, s, "= '127.0.0.1:1080'", "= '127.0.0.1:70000'",
	             "is not an IP socket address");
	expect_error(CC_KIND_SOCKS5, s, "[core.debug]\n",
	             "[core.socks5.socks5_debug]\nper_request_surbs = 4294967296\n[core.debug]\n",
	             "`core.socks5.socks5_debug.per_request_surbs` is out of range");
	expect_error(CC_KIND_SOCKS5, s, "average_ack_delay = '15ms'", "average_ack_delay = '15 x'",
	             "`core.debug.acknowledgements.average_ack_delay`: invalid duration");
	expect_error(CC_KIND_SOCKS5, s, "id = 'test'\n", "", "missing field `core.client.id`");
	expect_error(CC_KIND_SOCKS5, s, "[core.client]", "[core.clients]",
	             "unknown table [core.clients]");
	expect_error(CC_KIND_SOCKS5, s, "stats = false\n",
	             "stats = false\n[nymsuite]\nmax_connections = 0\n",
	             "`nymsuite.max_connections` must be > 0");
	expect_error(CC_KIND_SOCKS5, s, "stats = false\n", "stats = false\n[nymsuite]\nhttp_connect = 1\n",
	             "`nymsuite.http_connect` has the wrong type");
	expect_error(CC_KIND_SOCKS5, s, "stats = false\n",
	             "stats = false\n[nymsuite]\nprivsep_uid_base = 5\n",
	             "`nymsuite.privsep_uid_base` must be at least 1000");
	expect_error(CC_KIND_NR, n, "open_proxy = false", "open_proxy = 'yes'",
	             "`network_requester.open_proxy` has the wrong type");
	expect_error(CC_KIND_NR, n, "'https://nymtech.net/.wellknown/network-requester/exit-policy.txt'",
	             "'nymtech.net/exit-policy.txt'",
	             "`network_requester.upstream_exit_policy_url`: invalid URL");
	expect_error(CC_KIND_NR, n, "[logging]",
	             "[network_requester_debug]\nstandard_list_update_interval = 'soon'\n[logging]",
	             "`network_requester_debug.standard_list_update_interval`: invalid duration");
	expect_error(CC_KIND_NR, n, "[debug]\n", "[nymsuite]\nbuffer_mib = 70000\n[debug]\n",
	             "`nymsuite.buffer_mib` is out of range");
	expect_error(CC_KIND_NR, n, "[debug]\n", "[nymsuite]\nmax_connections_per_sender = 0\n[debug]\n",
	             "`nymsuite.max_connections_per_sender` must be > 0");
	expect_error(CC_KIND_NR, n, "[logging]", "[logs]", "unknown table [logs]");
	expect_error(CC_KIND_NR, n, "[storage_paths]\n", "[storage]\n", "unknown table [storage]");
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
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
