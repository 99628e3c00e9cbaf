/* Localnet node descriptors (TOML); see nodeconf.h for the layout. */
#include "nodeconf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base58.h"
#include "crypto.h"
#include "loopback.h"

#define MAX_DESCRIPTOR_BYTES (64 * 1024)
#define MAX_NODES 256

const char *ns_node_role_name(enum ns_node_role role)
{
	return role == NS_ROLE_GATEWAY ? "gateway" : role == NS_ROLE_MIXNODE ? "mixnode" : "?";
}

static int set_err(struct toml_error *err, int code, const char *msg, const char *what)
{
	if (err && err->msg[0] == 0) {
		err->line = 0;
		snprintf(err->msg, sizeof err->msg, "%s%s%s", msg, what ? ": " : "", what ? what : "");
	}
	return code;
}

static int unhex32(const char *hex, uint8_t out[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + (size_t)k];
			int d = (c >= '0' && c <= '9') ? c - '0'
			        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
			        : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void tohex32(const uint8_t in[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[64] = 0;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* ---- typed field readers: each returns 0 or an error code with err filled */

struct reader {
	const struct toml_doc *doc;
	struct toml_error *err;
};

static int read_str(struct reader *r, const char *table, const char *key, char *out, size_t cap,
                    int required)
{
	const char *s;
	if (toml_get_string(r->doc, table, key, &s) < 0) {
		if (!required && !toml_get(r->doc, table, key)) {
			out[0] = 0;
			return 0;
		}
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "missing or not a string", key);
	}
	if (strlen(s) >= cap)
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "value too long", key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int read_uint(struct reader *r, const char *table, const char *key, int64_t max,
                     int64_t *out, int required)
{
	if (toml_get_int(r->doc, table, key, out) < 0) {
		if (!required && !toml_get(r->doc, table, key)) {
			*out = 0;
			return 0;
		}
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "missing or not an integer", key);
	}
	if (*out < 0 || *out > max)
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "out of range", key);
	return 0;
}

static int read_b58_key(struct reader *r, const char *key, uint8_t out[32])
{
	char s[64];
	int rc = read_str(r, "keys", key, s, sizeof s, 1);
	if (rc < 0)
		return rc;
	if (base58_decode(s, out, 32) != 32)
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "not a base58 32-byte key", key);
	return 0;
}

/* Inline hex value or file path for one secret; at least one must be given. */
static int read_secret(struct reader *r, const char *value_key, const char *file_key,
                       uint8_t value[32], int *has_value, char *file, size_t cap)
{
	char hex[80];
	int rc = read_str(r, "keys", value_key, hex, sizeof hex, 0);
	if (rc < 0)
		return rc;
	if ((rc = read_str(r, "keys", file_key, file, cap, 0)) < 0)
		return rc;
	*has_value = hex[0] != 0;
	if (*has_value && unhex32(hex, value) < 0) {
		ns_memzero(hex, sizeof hex);
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "not 64 hex digits", value_key);
	}
	ns_memzero(hex, sizeof hex);
	if (!*has_value && !file[0])
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "missing (value or file)", file_key);
	return 0;
}

static int valid_ip(const char *host)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int read_node_section(struct reader *r, struct ns_nodeconf *c)
{
	int64_t v;
	char role[16];
	int rc;
	if ((rc = read_uint(r, "node", "id", UINT32_MAX, &v, 1)) < 0)
		return rc;
	if (v == 0)
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "out of range", "id");
	c->id = (uint32_t)v;
	if ((rc = read_str(r, "node", "name", c->name, sizeof c->name, 1)) < 0)
		return rc;
	if (!valid_name(c->name))
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "bad characters", "name");
	if ((rc = read_str(r, "node", "role", role, sizeof role, 1)) < 0)
		return rc;
	if (strcmp(role, "mixnode") == 0)
		c->role = NS_ROLE_MIXNODE;
	else if (strcmp(role, "gateway") == 0)
		c->role = NS_ROLE_GATEWAY;
	else
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "must be mixnode or gateway", "role");
	if ((rc = read_uint(r, "node", "layer", 3, &v, c->role == NS_ROLE_MIXNODE)) < 0)
		return rc;
	if ((c->role == NS_ROLE_MIXNODE) != (v != 0))
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "mix nodes need layer 1..3, gateways 0", "layer");
	c->layer = (uint8_t)v;
	return 0;
}

static int valid_hostname(const char *h)
{
	size_t n = strlen(h);
	return n > 0 && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:") == n;
}

/* The optional announced listeners of a gateway and its TLS and delay fronts. */
static int read_announce(struct reader *r, struct ns_nodeconf *c)
{
	int64_t v;
	int rc;
	if ((rc = read_str(r, "listen", "hostname", c->hostname, sizeof c->hostname, 0)) < 0)
		return rc;
	if (c->hostname[0] && !valid_hostname(c->hostname))
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "not a host name", "hostname");
	if ((rc = read_uint(r, "listen", "announce_ws_port", 65535, &v, 0)) < 0)
		return rc;
	c->announce_ws_port = (uint16_t)v;
	if ((rc = read_uint(r, "listen", "clients_wss_port", 65535, &v, 0)) < 0)
		return rc;
	c->clients_wss_port = (uint16_t)v;
	if ((rc = read_str(r, "tls", "cert_file", c->tls_cert_file, sizeof c->tls_cert_file, 0)) < 0 ||
	    (rc = read_str(r, "tls", "key_file", c->tls_key_file, sizeof c->tls_key_file, 0)) < 0)
		return rc;
	if (c->clients_wss_port && (!c->tls_cert_file[0] || !c->tls_key_file[0]))
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "a wss port needs [tls] cert_file, key_file",
		               "clients_wss_port");
	if ((rc = read_uint(r, "debug", "client_delay_ms", 60000, &v, 0)) < 0)
		return rc;
	c->client_delay_ms = (uint32_t)v;
	if (c->client_delay_ms && !c->announce_ws_port && !c->clients_wss_port)
		return set_err(r->err, NS_NODECONF_ERR_MISSING,
		               "a delay needs announce_ws_port or clients_wss_port", "client_delay_ms");
	return 0;
}

static int read_listen_section(struct reader *r, struct ns_nodeconf *c)
{
	int64_t v;
	int rc;
	if ((rc = read_str(r, "listen", "host", c->host, sizeof c->host, 1)) < 0)
		return rc;
	if (!valid_ip(c->host))
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "not an IP literal", "host");
	if ((rc = read_uint(r, "listen", "mix_port", 65535, &v, 1)) < 0)
		return rc;
	if (v == 0)
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "out of range", "mix_port");
	c->mix_port = (uint16_t)v;
	if ((rc = read_uint(r, "listen", "clients_ws_port", 65535, &v, 0)) < 0)
		return rc;
	if (c->role == NS_ROLE_GATEWAY && v == 0)
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "gateways need it", "clients_ws_port");
	c->clients_ws_port = (uint16_t)v;
	return read_announce(r, c);
}

static int read_keys_section(struct reader *r, struct ns_nodeconf *c)
{
	int64_t v;
	int rc;
	if ((rc = read_b58_key(r, "identity_key", c->identity_key)) < 0 ||
	    (rc = read_b58_key(r, "sphinx_key", c->sphinx_key)) < 0)
		return rc;
	if ((rc = read_secret(r, "identity_seed", "identity_seed_file", c->identity_seed,
	                      &c->has_identity_seed, c->identity_seed_file,
	                      sizeof c->identity_seed_file)) < 0)
		return rc;
	if ((rc = read_secret(r, "sphinx_secret", "sphinx_secret_file", c->sphinx_secret,
	                      &c->has_sphinx_secret, c->sphinx_secret_file,
	                      sizeof c->sphinx_secret_file)) < 0)
		return rc;
	if ((rc = read_uint(r, "keys", "key_rotation_id", UINT32_MAX, &v, 1)) < 0)
		return rc;
	c->key_rotation_id = (uint32_t)v;
	return 0;
}

static int read_other_sections(struct reader *r, struct ns_nodeconf *c)
{
	int64_t v;
	int rc;
	if ((rc = read_uint(r, "network", "absolute_epoch_id", UINT32_MAX, &v, 1)) < 0)
		return rc;
	c->absolute_epoch_id = (uint32_t)v;
	if ((rc = read_str(r, "network", "directory_url", c->directory_url, sizeof c->directory_url, 0)) < 0 ||
	    (rc = read_str(r, "network", "topology_file", c->topology_file, sizeof c->topology_file, 0)) < 0 ||
	    (rc = read_str(r, "run", "ready_file", c->ready_file, sizeof c->ready_file, 0)) < 0 ||
	    (rc = read_str(r, "run", "stats_file", c->stats_file, sizeof c->stats_file, 0)) < 0 ||
	    (rc = read_str(r, "run", "log_file", c->log_file, sizeof c->log_file, 0)) < 0)
		return rc;
	c->drop_rate = 0;
	if (toml_get(r->doc, "debug", "drop_rate") &&
	    (toml_get_float(r->doc, "debug", "drop_rate", &c->drop_rate) < 0 || !(c->drop_rate >= 0) ||
	     c->drop_rate > 1))
		return set_err(r->err, NS_NODECONF_ERR_RANGE, "must be a number in [0, 1]", "drop_rate");
	if (toml_get(r->doc, "debug", "no_delay") && toml_get_bool(r->doc, "debug", "no_delay", &c->no_delay) < 0)
		return set_err(r->err, NS_NODECONF_ERR_MISSING, "not a boolean", "no_delay");
	return 0;
}

int ns_nodeconf_parse(const char *text, size_t len, struct ns_nodeconf *conf, struct toml_error *err)
{
	memset(conf, 0, sizeof *conf);
	if (err)
		memset(err, 0, sizeof *err);
	struct toml_doc *doc = toml_parse(text, len, err);
	if (!doc)
		return NS_NODECONF_ERR_TOML;
	struct reader r = { .doc = doc, .err = err };
	int rc = read_node_section(&r, conf);
	if (rc == 0)
		rc = read_listen_section(&r, conf);
	if (rc == 0)
		rc = read_keys_section(&r, conf);
	if (rc == 0)
		rc = read_other_sections(&r, conf);
	toml_free(doc);
	if (rc < 0)
		ns_memzero(conf, sizeof *conf);
	return rc;
}

static char *read_small_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int bad = !buf || ferror(f) || n > max;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

int ns_nodeconf_load(const char *path, struct ns_nodeconf *conf, struct toml_error *err)
{
	size_t len;
	char *text = read_small_file(path, MAX_DESCRIPTOR_BYTES, &len);
	if (!text) {
		memset(conf, 0, sizeof *conf);
		if (err)
			memset(err, 0, sizeof *err);
		return set_err(err, NS_NODECONF_ERR_IO, "cannot read", path);
	}
	int rc = ns_nodeconf_parse(text, len, conf, err);
	ns_memzero(text, len);
	free(text);
	return rc;
}

static int put_secret(struct toml_doc *doc, const char *value_key, const char *file_key,
                      int has_value, const uint8_t value[32], const char *file)
{
	int rc = 0;
	if (has_value) {
		char hex[65];
		tohex32(value, hex);
		rc = toml_set_string(doc, "keys", value_key, hex);
		ns_memzero(hex, sizeof hex);
	}
	if (rc == 0 && file[0])
		rc = toml_set_string(doc, "keys", file_key, file);
	return rc;
}

static int put_b58(struct toml_doc *doc, const char *key, const uint8_t k[32])
{
	char s[64];
	if (base58_encode(k, 32, s, sizeof s) < 0)
		return -1;
	return toml_set_string(doc, "keys", key, s);
}

static int build_doc(struct toml_doc *d, const struct ns_nodeconf *c)
{
	int bad = 0;
	bad |= toml_set_int(d, "node", "id", c->id);
	bad |= toml_set_string(d, "node", "name", c->name);
	bad |= toml_set_string(d, "node", "role", ns_node_role_name(c->role));
	bad |= toml_set_int(d, "node", "layer", c->layer);
	bad |= toml_set_string(d, "listen", "host", c->host);
	bad |= toml_set_int(d, "listen", "mix_port", c->mix_port);
	bad |= toml_set_int(d, "listen", "clients_ws_port", c->clients_ws_port);
	bad |= put_b58(d, "identity_key", c->identity_key);
	bad |= put_b58(d, "sphinx_key", c->sphinx_key);
	bad |= put_secret(d, "identity_seed", "identity_seed_file", c->has_identity_seed,
	                  c->identity_seed, c->identity_seed_file);
	bad |= put_secret(d, "sphinx_secret", "sphinx_secret_file", c->has_sphinx_secret,
	                  c->sphinx_secret, c->sphinx_secret_file);
	bad |= toml_set_int(d, "keys", "key_rotation_id", c->key_rotation_id);
	bad |= toml_set_int(d, "network", "absolute_epoch_id", c->absolute_epoch_id);
	bad |= toml_set_string(d, "network", "directory_url", c->directory_url);
	bad |= toml_set_string(d, "network", "topology_file", c->topology_file);
	bad |= toml_set_string(d, "run", "ready_file", c->ready_file);
	bad |= toml_set_string(d, "run", "stats_file", c->stats_file);
	bad |= toml_set_string(d, "run", "log_file", c->log_file);
	if (c->hostname[0])
		bad |= toml_set_string(d, "listen", "hostname", c->hostname);
	if (c->announce_ws_port)
		bad |= toml_set_int(d, "listen", "announce_ws_port", c->announce_ws_port);
	if (c->clients_wss_port) {
		bad |= toml_set_int(d, "listen", "clients_wss_port", c->clients_wss_port);
		bad |= toml_set_string(d, "tls", "cert_file", c->tls_cert_file);
		bad |= toml_set_string(d, "tls", "key_file", c->tls_key_file);
	}
	if (c->client_delay_ms)
		bad |= toml_set_int(d, "debug", "client_delay_ms", c->client_delay_ms);
	bad |= toml_set_float(d, "debug", "drop_rate", c->drop_rate);
	bad |= toml_set_bool(d, "debug", "no_delay", c->no_delay);
	return bad ? -1 : 0;
}

char *ns_nodeconf_to_toml(const struct ns_nodeconf *conf)
{
	struct toml_doc *d = toml_new();
	if (!d)
		return NULL;
	char *out = build_doc(d, conf) == 0 ? toml_dump(d, NULL) : NULL;
	toml_free(d);
	return out;
}

int ns_nodeconf_save(const char *path, const struct ns_nodeconf *conf)
{
	char *text = ns_nodeconf_to_toml(conf);
	if (!text)
		return NS_NODECONF_ERR_RANGE;
	mode_t mode = (conf->has_identity_seed || conf->has_sphinx_secret) ? 0600 : 0644;
	size_t len = strlen(text);
	int rc = ns_write_file_atomic(path, text, len, mode) < 0 ? NS_NODECONF_ERR_IO : 0;
	ns_memzero(text, len);
	free(text);
	return rc;
}

static int by_id(const void *a, const void *b)
{
	const struct ns_nodeconf *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int has_toml_suffix(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".toml") == 0 && name[0] != '.';
}

static int check_unique(const struct ns_nodeconf *c, size_t n, struct toml_error *err)
{
	for (size_t i = 1; i < n; i++)
		if (c[i].id == c[i - 1].id)
			return set_err(err, NS_NODECONF_ERR_RANGE, "duplicate node id", c[i].name);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(c[i].name, c[j].name) == 0)
				return set_err(err, NS_NODECONF_ERR_RANGE, "duplicate node name", c[i].name);
	return 0;
}

int ns_nodeconf_load_dir(const char *dir, struct ns_nodeconf **out, size_t *n, struct toml_error *err)
{
	*out = NULL;
	*n = 0;
	if (err)
		memset(err, 0, sizeof *err);
	DIR *d = opendir(dir);
	if (!d)
		return set_err(err, NS_NODECONF_ERR_IO, "cannot open directory", dir);
	struct ns_nodeconf *list = calloc(MAX_NODES, sizeof *list);
	size_t count = 0;
	int rc = list ? 0 : set_err(err, NS_NODECONF_ERR_IO, "out of memory", NULL);
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!has_toml_suffix(de->d_name))
			continue;
		if (count == MAX_NODES) {
			rc = set_err(err, NS_NODECONF_ERR_RANGE, "too many node descriptors", dir);
			break;
		}
		char path[NS_NODECONF_PATH_MAX * 2];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		rc = ns_nodeconf_load(path, &list[count], err);
		if (rc < 0 && err) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "%s", err->msg);
			snprintf(err->msg, sizeof err->msg, "%.40s: %.50s", de->d_name, msg);
		}
		count++;
	}
	closedir(d);
	if (rc == 0) {
		qsort(list, count, sizeof *list, by_id);
		rc = check_unique(list, count, err);
	}
	if (rc < 0) {
		if (list)
			ns_memzero(list, MAX_NODES * sizeof *list);
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

int ns_keyfile_read(const char *path, uint8_t key[32])
{
	size_t len;
	char *text = read_small_file(path, 128, &len);
	if (!text)
		return NS_NODECONF_ERR_IO;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = 0;
	int rc = unhex32(text, key) < 0 ? NS_NODECONF_ERR_RANGE : 0;
	ns_memzero(text, len);
	free(text);
	return rc;
}

int ns_keyfile_write(const char *path, const uint8_t key[32])
{
	char line[66];
	tohex32(key, line);
	line[64] = '\n';
	line[65] = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = NS_NODECONF_ERR_IO;
	if (fd >= 0) {
		rc = (write(fd, line, 65) == 65 && fsync(fd) == 0) ? 0 : NS_NODECONF_ERR_IO;
		if (close(fd) < 0)
			rc = NS_NODECONF_ERR_IO;
		if (rc < 0)
			unlink(path);
	}
	ns_memzero(line, sizeof line);
	return rc;
}

int ns_nodeconf_load_secrets(const struct ns_nodeconf *conf, uint8_t identity_seed[32],
                             uint8_t sphinx_secret[32])
{
	int rc = 0;
	if (conf->has_identity_seed)
		memcpy(identity_seed, conf->identity_seed, 32);
	else
		rc = ns_keyfile_read(conf->identity_seed_file, identity_seed);
	if (rc == 0 && conf->has_sphinx_secret)
		memcpy(sphinx_secret, conf->sphinx_secret, 32);
	else if (rc == 0)
		rc = ns_keyfile_read(conf->sphinx_secret_file, sphinx_secret);
	if (rc == 0) {
		uint8_t pk[32], sk[64], xpk[32];
		ns_ed25519_from_seed(pk, sk, identity_seed);
		ns_x25519_base(xpk, sphinx_secret);
		if (memcmp(pk, conf->identity_key, 32) != 0 || memcmp(xpk, conf->sphinx_key, 32) != 0)
			rc = NS_NODECONF_ERR_KEY;
		ns_memzero(sk, sizeof sk);
	}
	if (rc < 0) {
		ns_memzero(identity_seed, 32);
		ns_memzero(sphinx_secret, 32);
	}
	return rc;
}
