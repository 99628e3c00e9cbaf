/* TOML-subset reader/writer and node descriptors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "nodeconf.h"
#include "toml.h"

static struct toml_doc *parse_ok(const char *text)
{
	struct toml_error err;
	struct toml_doc *d = toml_parse(text, strlen(text), &err);
	if (!d)
		fail_msg("parse failed at line %d: %s\n%s", err.line, err.msg, text);
	return d;
}

static void expect_error(const char *text, int line, const char *msg_part)
{
	struct toml_error err;
	struct toml_doc *d = toml_parse(text, strlen(text), &err);
	if (d) {
		toml_free(d);
		fail_msg("accepted: %s", text);
	}
	if (err.line != line)
		fail_msg("line %d (%s), want %d for: %s", err.line, err.msg, line, text);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("error '%s' lacks '%s' for: %s", err.msg, msg_part, text);
}

/* The keys Nym's native client config template writes (clients.md 1.3), with the Duration
 * inline table. */
static const char nym_client_config[] =
	"# This is a TOML config file.\n"
	"[client]\n"
	"version = '1.1.64'\n"
	"id = 'alice'\n"
	"disabled_credentials_mode = true\n"
	"nyxd_urls = [\n"
	"    'https://rpc.nymtech.net/',\n"
	"]\n"
	"nym_api_urls = ['https://validator.nymtech.net/api/', \"http://127.0.0.1:8000/\"]\n"
	"\n"
	"[storage_paths.keys]\n"
	"private_identity_key_file = '/home/u/.nym/clients/alice/data/private_identity.pem'\n"
	"\n"
	"[socket]\n"
	"socket_type = 'WebSocket'\n"
	"listening_port = 1977\n"
	"host = '127.0.0.1'\n"
	"\n"
	"[logging]\n"
	"\n"
	"[debug.traffic]\n"
	"average_packet_delay = { secs = 0, nanos = 50000000 }\n"
	"[debug.acknowledgements]\n"
	"average_ack_delay = '15ms'   # humantime\n"
	"[debug.stats_reporting]\n"
	"enabled = true\n"
	"provider_address = ''\n";

static void test_nym_client_config(void **state)
{
	(void)state;
	struct toml_doc *d = parse_ok(nym_client_config);
	const char *s;
	int64_t i;
	int b;
	assert_int_equal(toml_get_string(d, "client", "version", &s), 0);
	assert_string_equal(s, "1.1.64");
	assert_int_equal(toml_get_bool(d, "client", "disabled_credentials_mode", &b), 0);
	assert_int_equal(b, 1);
	const struct toml_value *urls = toml_get(d, "client", "nym_api_urls");
	assert_non_null(urls);
	assert_int_equal(urls->type, TOML_ARRAY);
	assert_int_equal(urls->u.arr.n, 2);
	assert_string_equal(urls->u.arr.items[1].u.s, "http://127.0.0.1:8000/");
	urls = toml_get(d, "client", "nyxd_urls");
	assert_int_equal(urls->u.arr.n, 1);
	assert_int_equal(toml_get_int(d, "socket", "listening_port", &i), 0);
	assert_int_equal(i, 1977);
	assert_true(toml_has_table(d, "logging"));
	assert_true(toml_has_table(d, "storage_paths"));
	assert_int_equal(toml_get_int(d, "debug.traffic.average_packet_delay", "nanos", &i), 0);
	assert_int_equal(i, 50000000);
	assert_int_equal(toml_get_string(d, "debug.acknowledgements", "average_ack_delay", &s), 0);
	assert_string_equal(s, "15ms");
	assert_int_equal(toml_get_string(d, "debug.stats_reporting", "provider_address", &s), 0);
	assert_string_equal(s, "");
	/* wrong type or missing */
	assert_int_equal(toml_get_int(d, "client", "version", &i), -1);
	assert_null(toml_get(d, "nope", "x"));
	toml_free(d);
}

static void test_scalars(void **state)
{
	(void)state;
	struct toml_doc *d = parse_ok(
		"a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101\n"
		"g = 3.1415\nh = -0.01\ni = 5e+22\nj = 6.626e-34\nk = inf\nl = -inf\nm = nan\n"
		"n = 9223372036854775807\no = -9223372036854775808\np = 1e1_0\n"
		"\"quoted key\" = \"tab\\there \\u00e9 \\U0001F600 \\\\ \\\"\"\n"
		"lit = 'C:\\Users\\x'\n"
		"dotted.sub.key = false\n");
	int64_t i;
	double f;
	const char *s;
	int b;
	static const struct { const char *k; int64_t v; } ints[] = {
		{ "a", 99 }, { "b", -17 }, { "c", 1000 }, { "d", 0xdeadbeef }, { "e", 0755 },
		{ "f", 13 }, { "n", INT64_MAX }, { "o", INT64_MIN },
	};
	for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
		assert_int_equal(toml_get_int(d, "", ints[k].k, &i), 0);
		assert_true(i == ints[k].v);
	}
	assert_int_equal(toml_get_float(d, "", "g", &f), 0);
	assert_true(f == 3.1415);
	assert_int_equal(toml_get_float(d, "", "i", &f), 0);
	assert_true(f == 5e22);
	assert_int_equal(toml_get_float(d, "", "p", &f), 0);
	assert_true(f == 1e10);
	assert_int_equal(toml_get_float(d, "", "l", &f), 0);
	assert_true(isinf(f) && f < 0);
	assert_int_equal(toml_get_float(d, "", "m", &f), 0);
	assert_true(isnan(f));
	assert_int_equal(toml_get_string(d, "", "quoted key", &s), 0);
	assert_string_equal(s, "tab\there \xc3\xa9 \xf0\x9f\x98\x80 \\ \"");
	assert_int_equal(toml_get_string(d, "", "lit", &s), 0);
	assert_string_equal(s, "C:\\Users\\x");
	assert_int_equal(toml_get_bool(d, "dotted.sub", "key", &b), 0);
	assert_int_equal(b, 0);
	toml_free(d);
}

static void test_errors_with_lines(void **state)
{
	(void)state;
	expect_error("a = 1\nb = \n", 2, "value");
	expect_error("a = 1\na = 2\n", 2, "duplicate");
	expect_error("[t]\nx=1\n[t]\n", 3, "twice");
	expect_error("a = 1 b = 2\n", 1, "end of line");
	expect_error("\n\ns = \"unterminated\n", 3, "unterminated");
	expect_error("s = \"bad \\q escape\"\n", 1, "escape");
	expect_error("s = \"\\u0000\"\n", 1, "scalar");
	expect_error("s = \"\\uD800\"\n", 1, "scalar");
	expect_error("s = \"\"\"multi\"\"\"\n", 1, "multi-line");
	expect_error("d = 1979-05-27\n", 1, "date");
	expect_error("t = 07:32:00\n", 1, "date");
	expect_error("[[arr]]\n", 1, "arrays of tables");
	expect_error("a = [[1], [2]]\n", 1, "nested");
	expect_error("a = 012\n", 1, "leading zero");
	expect_error("a = 1__0\n", 1, NULL);
	expect_error("a = _1\n", 1, NULL);
	expect_error("a = 1.\n", 1, NULL);
	expect_error("a = .5\n", 1, NULL);
	expect_error("a = 9223372036854775808\n", 1, "range");
	expect_error("a = 1e400\n", 1, "range");
	expect_error("a = 0x\n", 1, NULL);
	expect_error("a = +0x10\n", 1, NULL);
	expect_error("a = tru\n", 1, NULL);
	expect_error("a = truex\n", 1, NULL);
	expect_error("a = [1, 2\n", 2, NULL);
	expect_error("a = [1 2]\n", 1, "','");
	expect_error("a = {x = 1,}\n", 1, NULL);
	expect_error("a = {x = 1\n", 1, NULL);
	expect_error("a = {x = 1}\na.y = 2\n", 2, "extend");
	expect_error("a = 1\n[a]\n", 2, "value");
	expect_error("[a]\nb = 1\n[a.b]\n", 3, "value");
	expect_error("a.b = 1\n[a]\n", 2, "twice");
	expect_error("a = 1\r\nb = 2\rc = 3\n", 2, "carriage");
	expect_error("= 1\n", 1, "key");
	expect_error("a = 1 # ok\nb = 2 # bad \x01 ctl\n", 2, "control");
	expect_error("s = 'tab\tok' \nq = 'ctl\x7f'\n", 2, "control");
	expect_error("[a\n", 1, "']'");
	expect_error("k = \"\xff\"\n", 1, "UTF-8"); /* refused before parsing */
	/* embedded NUL */
	struct toml_error err;
	assert_null(toml_parse("a = 1\0", 6, &err));
}

static void test_lenient_but_valid(void **state)
{
	(void)state;
	/* CRLF, comments everywhere, whitespace in headers, trailing comma, empty file */
	struct toml_doc *d = parse_ok("# c\r\n[ a . \"b.c\" ] # c\r\nx = [ # c\r\n 1,\r\n 2, # c\r\n]\r\n");
	const struct toml_value *v = toml_get(d, "a", "x");
	assert_null(v); /* "b.c" is one key: not reachable as a dotted lookup path */
	toml_free(d);
	d = parse_ok("");
	assert_true(toml_has_table(d, ""));
	toml_free(d);
	d = parse_ok("[x.y.z]\n[x]\nk = 1\n"); /* implicit x may be defined later */
	int64_t i;
	assert_int_equal(toml_get_int(d, "x", "k", &i), 0);
	assert_int_equal(i, 1);
	toml_free(d);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct toml_doc *d = parse_ok(nym_client_config);
	char *text = toml_dump(d, NULL);
	assert_non_null(text);
	struct toml_doc *d2 = parse_ok(text);
	assert_true(toml_equal(d, d2));
	/* a changed value makes them differ */
	assert_int_equal(toml_set_int(d2, "socket", "listening_port", 1978), 0);
	assert_false(toml_equal(d, d2));
	free(text);
	toml_free(d);
	toml_free(d2);

	/* 26e-44 dumps as 2.6e-43: its '-' where a date's would be (found by make fuzz-long) */
	d = parse_ok("\"we\\u0001ird\" = \"\\b\\f\\r\\n\\u007f\"\nf = -0.0\ng = 1e300\nh = nan\n"
	             "s = 26e-44\nt = 1.5e-10\n[\"a b\".c]\nx = 0.1\n");
	text = toml_dump(d, NULL);
	d2 = parse_ok(text);
	assert_true(toml_equal(d, d2));
	free(text);
	toml_free(d);
	toml_free(d2);
}

static void test_builder(void **state)
{
	(void)state;
	struct toml_doc *d = toml_new();
	const char *urls[] = { "http://127.0.0.1:1/", "x\"y" };
	assert_int_equal(toml_set_string(d, "client", "id", "c1"), 0);
	assert_int_equal(toml_set_string_array(d, "client", "nym_api_urls", urls, 2), 0);
	assert_int_equal(toml_set_float(d, "debug.x", "rate", 0.25), 0);
	assert_int_equal(toml_set_bool(d, "", "root_flag", 1), 0);
	assert_int_equal(toml_add_table(d, "logging"), 0);
	assert_int_equal(toml_set_int(d, "client", "bad key", 1), -1);
	assert_int_equal(toml_set_int(d, "bad..table", "k", 1), -1);
	assert_int_equal(toml_set_int(d, "", "client", 1), -1); /* clashes with the table */
	char *text = toml_dump(d, NULL);
	assert_string_equal(text, "root_flag = true\n\n[client]\nid = \"c1\"\n"
	                          "nym_api_urls = [\"http://127.0.0.1:1/\", \"x\\\"y\"]\n\n[debug]\n\n"
	                          "[debug.x]\nrate = 0.25\n\n[logging]\n");
	free(text);
	toml_free(d);
}

/* ---- node descriptors */

static void make_conf(struct ns_nodeconf *c)
{
	memset(c, 0, sizeof *c);
	uint8_t sk[64];
	c->id = 4;
	snprintf(c->name, sizeof c->name, "gateway1");
	c->role = NS_ROLE_GATEWAY;
	snprintf(c->host, sizeof c->host, "127.0.0.1");
	c->mix_port = 1792;
	c->clients_ws_port = 9000;
	memset(c->identity_seed, 0x11, 32);
	memset(c->sphinx_secret, 0x22, 32);
	c->has_identity_seed = c->has_sphinx_secret = 1;
	ns_ed25519_from_seed(c->identity_key, sk, c->identity_seed);
	ns_x25519_base(c->sphinx_key, c->sphinx_secret);
	c->key_rotation_id = 3;
	c->absolute_epoch_id = 100;
	snprintf(c->directory_url, sizeof c->directory_url, "http://127.0.0.1:8000");
	c->drop_rate = 0.125;
	c->no_delay = 1;
}

static void test_nodeconf_round_trip(void **state)
{
	(void)state;
	struct ns_nodeconf c, back;
	make_conf(&c);
	char *text = ns_nodeconf_to_toml(&c);
	assert_non_null(text);
	assert_non_null(strstr(text, "role = \"gateway\""));
	assert_non_null(strstr(text, "identity_seed = \"1111111111111111111111111111111111111111111111111111111111111111\""));
	struct toml_error err;
	assert_int_equal(ns_nodeconf_parse(text, strlen(text), &back, &err), 0);
	assert_memory_equal(&c, &back, sizeof c);
	uint8_t seed[32], secret[32];
	assert_int_equal(ns_nodeconf_load_secrets(&back, seed, secret), 0);
	assert_memory_equal(seed, c.identity_seed, 32);
	/* a secret that does not match the public key is refused */
	back.sphinx_secret[5] ^= 1; /* not a clamped bit */
	assert_int_equal(ns_nodeconf_load_secrets(&back, seed, secret), NS_NODECONF_ERR_KEY);
	free(text);
}

static void expect_conf_error(const char *from, const char *to, int code, const char *msg_part)
{
	struct ns_nodeconf c, back;
	make_conf(&c);
	char *text = ns_nodeconf_to_toml(&c);
	char *at = strstr(text, from);
	assert_non_null(at);
	char buf[4096];
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	struct toml_error err;
	int rc = ns_nodeconf_parse(buf, strlen(buf), &back, &err);
	if (rc != code)
		fail_msg("'%s' -> '%s': rc %d (%s), want %d", from, to, rc, err.msg, code);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("error '%s' lacks '%s'", err.msg, msg_part);
	free(text);
}

static void test_nodeconf_errors(void **state)
{
	(void)state;
	expect_conf_error("role = \"gateway\"", "role = \"router\"", NS_NODECONF_ERR_RANGE, "role");
	expect_conf_error("id = 4", "id = 0", NS_NODECONF_ERR_RANGE, "id");
	expect_conf_error("id = 4", "id = 4294967296", NS_NODECONF_ERR_RANGE, "id");
	expect_conf_error("id = 4", "id = \"4\"", NS_NODECONF_ERR_MISSING, "id");
	expect_conf_error("layer = 0", "layer = 2", NS_NODECONF_ERR_RANGE, "layer");
	expect_conf_error("mix_port = 1792", "mix_port = 65536", NS_NODECONF_ERR_RANGE, "mix_port");
	expect_conf_error("clients_ws_port = 9000", "clients_ws_port = 0", NS_NODECONF_ERR_MISSING, "clients_ws_port");
	expect_conf_error("host = \"127.0.0.1\"", "host = \"localhost\"", NS_NODECONF_ERR_RANGE, "host");
	expect_conf_error("name = \"gateway1\"", "name = \"a/b\"", NS_NODECONF_ERR_RANGE, "name");
	expect_conf_error("sphinx_key = \"", "sphinx_key = \"0", NS_NODECONF_ERR_RANGE, "sphinx_key");
	expect_conf_error("identity_seed = \"11", "identity_seed = \"1", NS_NODECONF_ERR_RANGE, "identity_seed");
	expect_conf_error("drop_rate = 0.125", "drop_rate = 1.5", NS_NODECONF_ERR_RANGE, "drop_rate");
	expect_conf_error("no_delay = true", "no_delay = 1", NS_NODECONF_ERR_MISSING, "no_delay");
	expect_conf_error("[network]", "[network]\n[network]", NS_NODECONF_ERR_TOML, "twice");
	/* missing sphinx secret: neither value nor file */
	struct ns_nodeconf c;
	make_conf(&c);
	c.has_sphinx_secret = 0;
	char *text = ns_nodeconf_to_toml(&c);
	struct toml_error err;
	assert_int_equal(ns_nodeconf_parse(text, strlen(text), &c, &err), NS_NODECONF_ERR_MISSING);
	free(text);
}

static void test_nodeconf_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_toml_XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct ns_nodeconf a, b;
	make_conf(&a);
	snprintf(a.identity_seed_file, sizeof a.identity_seed_file, "%s/id.key", dir);
	assert_int_equal(ns_keyfile_write(a.identity_seed_file, a.identity_seed), 0);
	assert_int_equal(ns_keyfile_write(a.identity_seed_file, a.identity_seed), NS_NODECONF_ERR_IO); /* O_EXCL */
	a.has_identity_seed = 0;
	char path[512];
	snprintf(path, sizeof path, "%s/gw.toml", dir);
	assert_int_equal(ns_nodeconf_save(path, &a), 0);
	b = a;
	b.id = 1;
	snprintf(b.name, sizeof b.name, "mix1");
	b.role = NS_ROLE_MIXNODE;
	b.layer = 1;
	b.clients_ws_port = 0;
	snprintf(path, sizeof path, "%s/mix1.toml", dir);
	assert_int_equal(ns_nodeconf_save(path, &b), 0);
	struct ns_nodeconf *list;
	size_t n;
	struct toml_error err;
	assert_int_equal(ns_nodeconf_load_dir(dir, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, 1); /* sorted by id */
	assert_string_equal(list[1].name, "gateway1");
	uint8_t seed[32], secret[32];
	assert_int_equal(ns_nodeconf_load_secrets(&list[1], seed, secret), 0);
	assert_memory_equal(seed, a.identity_seed, 32);
	free(list);
	/* duplicate id */
	b.id = 4;
	assert_int_equal(ns_nodeconf_save(path, &b), 0);
	assert_int_equal(ns_nodeconf_load_dir(dir, &list, &n, &err), NS_NODECONF_ERR_RANGE);
	assert_non_null(strstr(err.msg, "duplicate"));
	unlink(path);
	snprintf(path, sizeof path, "%s/gw.toml", dir);
	unlink(path);
	unlink(a.identity_seed_file);
	rmdir(dir);
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nym_client_config), cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_errors_with_lines), cmocka_unit_test(test_lenient_but_valid),
		cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_builder),
		cmocka_unit_test(test_nodeconf_round_trip), cmocka_unit_test(test_nodeconf_errors),
		cmocka_unit_test(test_nodeconf_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
