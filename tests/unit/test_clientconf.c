/* nym-client config.toml (init's template), directory layout, humantime, PEM key files. */
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
#include "crypto.h"

/* CONFIG_TEMPLATE (clients/native/src/client/config/template.rs) rendered by handlebars
 * 3.5.5 for `init --id test` with NYM_HOME_DIR=/home/u: the {{#each}} lines stay as
 * whitespace-only lines (3.x has no standalone-tag stripping). */
static const char EXPECTED_TOML[] =
	"\n# This is a TOML config file.\n"
	"# For more information, see https://github.com/toml-lang/toml\n"
	"\n"
	"##### main base client config options #####\n"
	"\n"
	"[client]\n"
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
	"keys.private_identity_key_file = '/home/u/.nym/clients/test/data/private_identity.pem'\n"
	"\n"
	"# Path to file containing public identity key.\n"
	"keys.public_identity_key_file = '/home/u/.nym/clients/test/data/public_identity.pem'\n"
	"\n"
	"# Path to file containing private encryption key.\n"
	"keys.private_encryption_key_file = '/home/u/.nym/clients/test/data/private_encryption.pem'\n"
	"\n"
	"# Path to file containing public encryption key.\n"
	"keys.public_encryption_key_file = '/home/u/.nym/clients/test/data/public_encryption.pem'\n"
	"\n"
	"# Path to file containing key used for encrypting and decrypting the content of an\n"
	"# acknowledgement so that nobody besides the client knows which packet it refers to.\n"
	"keys.ack_key_file = '/home/u/.nym/clients/test/data/ack_key.pem'\n"
	"\n"
	"# Path to the database containing bandwidth credentials\n"
	"credentials_database = '/home/u/.nym/clients/test/data/credentials_database.db'\n"
	"\n"
	"# Path to the persistent store for received reply surbs, unused encryption keys and used sender tags.\n"
	"reply_surb_database = '/home/u/.nym/clients/test/data/persistent_reply_store.sqlite'\n"
	"\n"
	"# Path to the file containing information about gateways used by this client,\n"
	"# i.e. details such as their public keys, owner addresses or the network information.\n"
	"gateway_registrations = '/home/u/.nym/clients/test/data/gateways_registrations.sqlite'\n"
	"\n"
	"##### socket config options #####\n"
	"\n"
	"[socket]\n"
	"\n"
	"# allowed values are 'WebSocket' or 'None'\n"
	"socket_type = 'WebSocket'\n"
	"\n"
	"# if applicable (for the case of 'WebSocket'), the port on which the client\n"
	"# will be listening for incoming requests\n"
	"listening_port = 1977\n"
	"\n"
	"# if applicable (for the case of 'WebSocket'), the ip address on which the client\n"
	"# will be listening for incoming requests\n"
	"host = '127.0.0.1'\n"
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
	"\n"
	"[debug.stats_reporting]\n"
	"enabled = true\n"
	"provider_address = ''\n"
	"reporting_interval = '5m'\n"
	"\n"
	"[debug.forget_me]\n"
	"client = false\n"
	"stats = false\n"
	"\n";

/* Our own table, after the template (docs/client-api.md §8). */
static const char EXPECTED_NYMSUITE[] =
	"##### nymsuite options (this client only; Nym's client ignores this table) #####\n"
	"\n"
	"[nymsuite]\n"
	"\n"
	"# Unix stream socket serving the binary API, each frame preceded by its\n"
	"# length (u64 big-endian); empty = no Unix-socket API.\n"
	"api_socket = \"/home/u/.nym/clients/test/data/nym-client.sock\"\n"
	"\n"
	"# Unix socket of the admin protocol used by nymctl (empty = data/nymctl.sock).\n"
	"admin_socket = \"/home/u/.nym/clients/test/data/nymctl.sock\"\n";

static void defaults(struct clientconf *c)
{
	struct clientconf_dirs d;

	assert_int_equal(clientconf_dirs("/home/u", "test", &d), 0);
	assert_int_equal(clientconf_init_defaults(c, &d, "test"), 0);
}

static void test_dirs(void **state)
{
	struct clientconf_dirs d;

	(void)state;
	assert_int_equal(clientconf_dirs("/h", "alice", &d), 0);
	assert_string_equal(d.base, "/h/.nym/clients/alice");
	assert_string_equal(d.config_file, "/h/.nym/clients/alice/config/config.toml");
	assert_string_equal(d.data_dir, "/h/.nym/clients/alice/data");
	setenv("NYM_HOME_DIR", "/nymhome", 1);
	assert_int_equal(clientconf_dirs(NULL, "bob", &d), 0);
	assert_string_equal(d.config_dir, "/nymhome/.nym/clients/bob/config");
	unsetenv("NYM_HOME_DIR");
	setenv("HOME", "/plainhome", 1);
	assert_int_equal(clientconf_dirs(NULL, "bob", &d), 0);
	assert_string_equal(d.base, "/plainhome/.nym/clients/bob");
	assert_int_equal(clientconf_dirs("/h", "a/b", &d), -1);
	assert_int_equal(clientconf_dirs("/h", "", &d), -1);
	assert_int_equal(clientconf_dirs("/h", "..", &d), -1);
}

static void test_render_exact(void **state)
{
	static struct clientconf c, back;
	char err[CLIENTCONF_ERR_MAX] = "";
	size_t n;
	char *t, *t2;

	(void)state;
	defaults(&c);
	t = clientconf_render(&c, &n);
	assert_non_null(t);
	/* Nym's template byte for byte, then our table */
	assert_int_equal(n, strlen(EXPECTED_TOML) + strlen(EXPECTED_NYMSUITE));
	assert_memory_equal(t, EXPECTED_TOML, strlen(EXPECTED_TOML));
	assert_string_equal(t + strlen(EXPECTED_TOML), EXPECTED_NYMSUITE);
	if (clientconf_parse(t, n, &back, err))
		fail_msg("parse: %s", err);
	assert_memory_equal(&back, &c, sizeof c);
	t2 = clientconf_render(&back, &n);
	assert_string_equal(t2, t);
	free(t);
	free(t2);
}

/* Without [nymsuite] (a config written by Nym's client): exactly Nym's template, the Unix API
 * off and the admin socket at its default; our table's keys are checked like Nym's. */
static void test_nymsuite_table(void **state)
{
	static struct clientconf c, back;
	struct clientconf_dirs d;
	char err[CLIENTCONF_ERR_MAX] = "", path[CLIENTCONF_PATH_MAX], buf[16384];
	char *t;

	(void)state;
	defaults(&c);
	c.has_nymsuite = 0;
	c.api_socket[0] = c.admin_socket[0] = 0;
	t = clientconf_render(&c, NULL);
	assert_string_equal(t, EXPECTED_TOML);
	assert_int_equal(clientconf_parse(t, strlen(t), &back, err), 0);
	assert_int_equal(back.has_nymsuite, 0);
	assert_string_equal(back.api_socket, "");
	assert_int_equal(clientconf_dirs("/home/u", "test", &d), 0);
	assert_int_equal(clientconf_admin_path(&back, &d, path, sizeof path), 0);
	assert_string_equal(path, "/home/u/.nym/clients/test/data/nymctl.sock");
	free(t);

	/* paths with quotes, backslashes and a control character round-trip */
	defaults(&c);
	strcpy(c.api_socket, "/tmp/a \"b\" \\c\td'e=&.sock");
	strcpy(c.admin_socket, "");
	t = clientconf_render(&c, NULL);
	assert_non_null(strstr(t, "api_socket = \"/tmp/a \\\"b\\\" \\\\c\\u0009d'e=&.sock\"\n"));
	assert_int_equal(clientconf_parse(t, strlen(t), &back, err), 0);
	assert_string_equal(back.api_socket, c.api_socket);
	assert_string_equal(back.admin_socket, "");
	assert_int_equal(clientconf_admin_path(&back, &d, path, sizeof path), 0);
	assert_string_equal(path, "/home/u/.nym/clients/test/data/nymctl.sock");
	free(t);

	/* errors */
	snprintf(buf, sizeof buf, "%s[nymsuite]\nbogus = 1\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), -1);
	assert_non_null(strstr(err, "unknown field `bogus` in [nymsuite]"));
	snprintf(buf, sizeof buf, "%s[nymsuite]\napi_socket = 5\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), -1);
	assert_non_null(strstr(err, "`nymsuite.api_socket` has the wrong type"));
	snprintf(buf, sizeof buf, "%s[nymsuite.sub]\nx = 1\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), -1);
	assert_non_null(strstr(err, "unknown table [nymsuite.sub]"));
	/* apid's limits: defaults, values, round trip, out of range */
	assert_int_equal(back.limits.max_apps, CLIENTCONF_MAX_APPS);
	snprintf(buf, sizeof buf, "%s[nymsuite]\nmax_apps = 100\nbuffer_mib = 8\n"
	         "handshake_timeout = \"2s\"\npartial_timeout = \"1500ms\"\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), 0);
	assert_int_equal(back.limits.max_apps, 100);
	assert_int_equal(back.limits.buffer_mib, 8);
	assert_int_equal(back.limits.handshake_timeout_ns, 2000000000ull);
	assert_int_equal(back.limits.partial_timeout_ns, 1500000000ull);
	{
		size_t t2len = 0;
		char *t2 = clientconf_render(&back, &t2len);
		assert_non_null(t2);
		assert_non_null(strstr(t2, "max_apps = 100\nbuffer_mib = 8\nhandshake_timeout = \"2s\"\n"
		                           "partial_timeout = \"1500ms\"\n"));
		static struct clientconf again;
		assert_int_equal(clientconf_parse(t2, t2len, &again, err), 0);
		assert_memory_equal(&again.limits, &back.limits, sizeof back.limits);
		free(t2);
	}
	static const char *const bad[] = { "max_apps = 0", "max_apps = -1", "max_apps = 1000001",
		                           "buffer_mib = 0", "buffer_mib = 65537",
		                           "handshake_timeout = \"10ms\"",
		                           "partial_timeout = \"2days\"", "partial_timeout = \"soon\"",
		                           "max_apps = \"8\"" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, "%s[nymsuite]\n%s\n", EXPECTED_TOML, bad[i]);
		assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), -1);
	}
	/* keyd_workers: 0..64, written only when not the default (0, every core) */
	snprintf(buf, sizeof buf, "%s[nymsuite]\nkeyd_workers = 64\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), 0);
	assert_int_equal(back.keyd_workers, 64);
	{
		char *t2 = clientconf_render(&back, NULL);
		assert_non_null(strstr(t2, "\nkeyd_workers = 64\n"));
		free(t2);
	}
	snprintf(buf, sizeof buf, "%s[nymsuite]\nkeyd_workers = 65\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), -1);
	assert_non_null(strstr(err, "`nymsuite.keyd_workers` is out of range (0..64)"));
	/* an empty table: the defaults */
	snprintf(buf, sizeof buf, "%s[nymsuite]\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &back, err), 0);
	assert_int_equal(back.has_nymsuite, 1);
	assert_int_equal(back.keyd_workers, 0);
	{
		char *t2 = clientconf_render(&back, NULL);
		assert_null(strstr(t2, "keyd_workers"));
		free(t2);
	}
	assert_string_equal(back.api_socket, "");
}

static void test_html_escape_and_options(void **state)
{
	static struct clientconf c, back;
	char err[CLIENTCONF_ERR_MAX] = "";
	char *t;

	(void)state;
	defaults(&c);
	strcpy(c.nym_api_urls[0], "https://api.example/x?a=1&b=2");
	c.socket_websocket = 0;
	c.listening_port = 2000;
	c.debug.average_ack_delay_ns = 1500000000ull;
	c.debug.stats_reporting_interval_ns = 86400ull * 1000000000ull;
	t = clientconf_render(&c, NULL);
	assert_non_null(strstr(t, "'https://api.example/x?a&#x3D;1&amp;b&#x3D;2',"));
	assert_non_null(strstr(t, "socket_type = 'None'\n"));
	assert_non_null(strstr(t, "listening_port = 2000\n"));
	assert_non_null(strstr(t, "average_ack_delay = '1s 500ms'\n"));
	assert_non_null(strstr(t, "reporting_interval = '1day'\n"));
	assert_int_equal(clientconf_parse(t, strlen(t), &back, err), 0);
	assert_int_equal(back.socket_websocket, 0);
	assert_true(back.debug.average_ack_delay_ns == 1500000000ull);
	free(t);
}

static void expect_parse_error(const char *from, const char *to, const char *want)
{
	static struct clientconf c;
	char err[CLIENTCONF_ERR_MAX] = "";
	char buf[8192];
	const char *at = strstr(EXPECTED_TOML, from);
	size_t pre;

	assert_non_null(at);
	pre = (size_t)(at - EXPECTED_TOML);
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, EXPECTED_TOML, to, at + strlen(from));
	assert_int_equal(clientconf_parse(buf, strlen(buf), &c, err), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("listening_port = 1977", "listening_port = 1977\nfoo = 1",
	                   "unknown field `foo` in [socket]");
	expect_parse_error("[debug]\n", "[debug]\nbar = 2\n", "unknown field `bar` in [debug]");
	expect_parse_error("[debug.forget_me]", "[bogus]\n[debug.forget_me]", "unknown table [bogus]");
	expect_parse_error("id = 'test'", "", "missing field `client.id`");
	expect_parse_error("socket_type = 'WebSocket'", "socket_type = 'Tcp'",
	                   "`socket.socket_type` must be 'WebSocket' or 'None'");
	expect_parse_error("listening_port = 1977", "listening_port = 70000",
	                   "`socket.listening_port` is out of range");
	expect_parse_error("listening_port = 1977", "listening_port = '1977'",
	                   "`socket.listening_port` has the wrong type");
	expect_parse_error("host = '127.0.0.1'", "host = 'localhost'",
	                   "`socket.host` is not an IP address");
	expect_parse_error("average_ack_delay = '15ms'", "average_ack_delay = '15 parsecs'",
	                   "`debug.acknowledgements.average_ack_delay`: invalid duration");
	expect_parse_error("provider_address = ''", "provider_address = 'nope'",
	                   "`debug.stats_reporting.provider_address` is not a valid recipient");
	expect_parse_error("[logging]", "[logs]", "unknown table [logs]");
	expect_parse_error("'https://rpc.nymtech.net/',", "'rpc.nymtech.net',",
	                   "`client.nyxd_urls`: invalid URL");
	expect_parse_error("stats = false\n", "", "[debug.forget_me] needs both");
	expect_parse_error("version = '1.1.64'", "version = '1.1.64", "config.toml line");
}

static void test_debug_keys(void **state)
{
	static struct clientconf c;
	char err[CLIENTCONF_ERR_MAX] = "";
	char buf[8192];

	(void)state;
	snprintf(buf, sizeof buf,
	         "%s[debug.traffic]\naverage_packet_delay = { secs = 0, nanos = 10000000 }\n"
	         "message_sending_average_delay = { secs = 1, nanos = 5 }\n"
	         "primary_packet_size = 'extended32'\nsecondary_packet_size = 'ack'\n"
	         "packet_type = 'sphinx'\nmaximum_number_of_retransmissions = 3\n"
	         "[debug.topology]\nminimum_gateway_performance = 90\nsomething_new = 1\n"
	         "[debug.reply_surbs]\nmaximum_reply_key_age = '1h 30m'\nsurb_mix_hops = 2\n",
	         EXPECTED_TOML);
	if (clientconf_parse(buf, strlen(buf), &c, err))
		fail_msg("%s", err);
	assert_true(c.debug.average_packet_delay_ns == 10000000ull);
	assert_true(c.debug.message_sending_average_delay_ns == 1000000005ull);
	assert_int_equal(c.debug.primary_packet_size, CC_SIZE_EXTENDED32);
	assert_int_equal(c.debug.has_secondary_packet_size, 1);
	assert_int_equal(c.debug.secondary_packet_size, CC_SIZE_ACK);
	assert_int_equal(c.debug.has_max_retransmissions, 1);
	assert_int_equal(c.debug.maximum_number_of_retransmissions, 3);
	assert_int_equal(c.debug.minimum_gateway_performance, 90);
	assert_int_equal(c.debug.minimum_mixnode_performance, 50);
	assert_true(c.debug.maximum_reply_key_age_ns == 5400ull * 1000000000ull);
	assert_int_equal(c.debug.surb_mix_hops, 2);
	/* untouched defaults (config-types/src/lib.rs) */
	assert_true(c.debug.ack_wait_addition_ns == 1500000000ull);
	assert_true(c.debug.topology_refresh_rate_ns == 300ull * 1000000000ull);
	assert_int_equal(c.debug.maximum_reply_surb_storage_threshold, 200);
	assert_int_equal(c.debug.use_legacy_sphinx_format, 1);
	snprintf(buf, sizeof buf, "%s[debug.traffic]\naverage_packet_delay = '15ms'\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &c, err), -1);
	assert_non_null(strstr(err, "must be a table {secs, nanos}"));
	snprintf(buf, sizeof buf, "%s[debug.traffic]\nprimary_packet_size = 'huge'\n", EXPECTED_TOML);
	assert_int_equal(clientconf_parse(buf, strlen(buf), &c, err), -1);
	assert_non_null(strstr(err, "unknown size 'huge'"));
}

static void test_humantime(void **state)
{
	static const struct {
		uint64_t ns;
		const char *txt;
	} cases[] = {
		{15000000ull, "15ms"},
		{200000000ull, "200ms"},
		{300000000000ull, "5m"},
		{86400000000000ull, "1day"},
		{172800000000000ull, "2days"},
		{1500000000ull, "1s 500ms"},
		{0, "0s"},
		{3723000001001ull, "1h 2m 3s 1us 1ns"},
		{31557600000000000ull, "1year"},
	};
	char out[128];
	uint64_t ns;

	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		assert_int_equal(clientconf_format_duration(cases[k].ns, out, sizeof out), 0);
		assert_string_equal(out, cases[k].txt);
		assert_int_equal(clientconf_parse_duration(cases[k].txt, &ns), 0);
		assert_true(ns == cases[k].ns);
	}
	assert_int_equal(clientconf_parse_duration("1h30m", &ns), 0);
	assert_true(ns == 5400ull * 1000000000ull);
	assert_int_equal(clientconf_parse_duration("", &ns), -1);
	assert_int_equal(clientconf_parse_duration("15", &ns), -1);
	assert_int_equal(clientconf_parse_duration("ms", &ns), -1);
	assert_int_equal(clientconf_parse_duration("99999999999999999999s", &ns), -1);
}

static void test_pem(void **state)
{
	uint8_t key[32], back[64];
	char err[CLIENTCONF_ERR_MAX];
	size_t n;
	char *pem;
	const char *lf = "-----BEGIN AES-128-CTR ACKNOWLEDGEMENTS KEY-----\n"
	                 "AAECAwQFBgcICQoLDA0ODw==\n-----END AES-128-CTR ACKNOWLEDGEMENTS KEY-----\n";

	(void)state;
	for (int k = 0; k < 32; k++)
		key[k] = (uint8_t)k;
	pem = clientconf_pem_encode("ED25519 PRIVATE KEY", key, 32, &n);
	assert_string_equal(pem, "-----BEGIN ED25519 PRIVATE KEY-----\r\n"
	                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
	                         "-----END ED25519 PRIVATE KEY-----\r\n");
	assert_int_equal(clientconf_pem_decode(pem, n, "ED25519 PRIVATE KEY", back, sizeof back, err),
	                 32);
	assert_memory_equal(back, key, 32);
	assert_int_equal(clientconf_pem_decode(pem, n, "X25519 PUBLIC KEY", back, sizeof back, err),
	                 -1);
	assert_string_equal(err, "unexpected key pem tag. Got 'ED25519 PRIVATE KEY', expected: "
	                         "'X25519 PUBLIC KEY'");
	free(pem);
	assert_int_equal(clientconf_pem_decode(lf, strlen(lf), "AES-128-CTR ACKNOWLEDGEMENTS KEY",
	                                       back, sizeof back, err), 16);
	assert_memory_equal(back, key, 16);
	{
		uint8_t big[100];
		for (int k = 0; k < 100; k++)
			big[k] = (uint8_t)k;
		pem = clientconf_pem_encode("X", big, 100, &n);
		assert_string_equal(pem, "-----BEGIN X-----\r\n"
		                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
		                         "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\r\n"
		                         "YGFiYw==\r\n-----END X-----\r\n");
		free(pem);
	}
	/* malformed */
	assert_int_equal(clientconf_pem_decode("junk", 4, "X", back, sizeof back, err), -1);
	assert_int_equal(clientconf_pem_decode("-----BEGIN X-----\nAA*A\n-----END X-----\n", 37,
	                                       "X", back, sizeof back, err), -1);
	assert_int_equal(clientconf_pem_decode("-----BEGIN X-----\nAAAA\n-----END Y-----\n", 37,
	                                       "X", back, sizeof back, err), -1);
	assert_int_equal(clientconf_pem_decode("-----BEGIN X-----\nAAAA\n-----END X", 33, "X", back,
	                                       sizeof back, err), -1);
}

static void test_files(void **state)
{
	static struct clientconf c, back;
	struct clientconf_dirs d;
	char tmpl[] = "/tmp/ccXXXXXX", err[CLIENTCONF_ERR_MAX];
	uint8_t keys[5][32], got[32];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(clientconf_dirs(tmpl, "me", &d), 0);
	assert_int_equal(clientconf_init_defaults(&c, &d, "me"), 0);
	assert_int_equal(clientconf_is_initialised(&d), 0);
	assert_int_equal(clientconf_make_dirs(&d), 0);
	assert_int_equal(stat(d.data_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(d.config_dir, &st), 0);
	assert_int_equal(clientconf_is_initialised(&d), 0);
	assert_int_equal(clientconf_save(d.config_file, &c), 0);
	assert_int_equal(clientconf_is_initialised(&d), 1);
	assert_int_equal(stat(d.config_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(clientconf_load(d.config_file, &back, err), 0);
	assert_memory_equal(&back, &c, sizeof c);
	for (int k = 0; k < 5; k++) {
		const char *p = clientconf_key_path(&c, (enum clientconf_key)k);
		ns_random(keys[k], 32);
		assert_int_equal(clientconf_write_key(p, (enum clientconf_key)k, keys[k]), 0);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(clientconf_read_key(p, (enum clientconf_key)k, got, err), 0);
		assert_memory_equal(got, keys[k], clientconf_key_len((enum clientconf_key)k));
	}
	assert_non_null(strstr(c.ack_key_file, "/data/ack_key.pem"));
	/* a public key file read as the private key: refused by label */
	assert_int_equal(clientconf_read_key(c.public_identity_key_file, CC_KEY_PRIVATE_IDENTITY, got,
	                                     err), -1);
	assert_string_equal(err, "unexpected key pem tag. Got 'ED25519 PUBLIC KEY', expected: "
	                         "'ED25519 PRIVATE KEY'");
	assert_int_equal(clientconf_read_key("/nonexistent/x.pem", CC_KEY_ACK, got, err), -1);
	for (int k = 0; k < 5; k++)
		unlink(clientconf_key_path(&c, (enum clientconf_key)k));
	unlink(d.config_file);
	rmdir(d.config_dir);
	rmdir(d.data_dir);
	rmdir(d.base);
	{
		char p[CLIENTCONF_PATH_MAX];
		snprintf(p, sizeof p, "%s/.nym/clients", tmpl);
		rmdir(p);
		snprintf(p, sizeof p, "%s/.nym", tmpl);
		rmdir(p);
		rmdir(tmpl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_nymsuite_table),
		cmocka_unit_test(test_html_escape_and_options),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_debug_keys),
		cmocka_unit_test(test_humantime),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_files),
	};

	if (ns_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
