#include "gwstore.h"
#include "bytes.h"
#include "safefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

#define CLIENT_MAGIC "NSGK"
#define MSG_MAGIC    "NSGM"
#define FORMAT_VERSION 1
#define CHECKSUM_LEN 16
#define MSG_HEADER_LEN 20
#define FLAG_LEGACY   1u
#define FLAG_HAS_AUTH 2u

struct ns_gwstore {
	char *dir;
	struct ns_gwstore_limits limits;
	uint64_t last_id;
};

/* ------------------------------------------------------------------ codecs */

static void checksum(const uint8_t *in, size_t len, uint8_t out[CHECKSUM_LEN])
{
	uint8_t h[32];
	ns_blake3(h, in, len);
	memcpy(out, h, CHECKSUM_LEN);
}

static int checksum_ok(const uint8_t *in, size_t body_len)
{
	uint8_t sum[CHECKSUM_LEN];
	checksum(in, body_len, sum);
	return ns_ct_equal(sum, in + body_len, CHECKSUM_LEN);
}

/* Record: magic(4) ver(1) flags(1) 0(2) key(32) last_auth(8) bandwidth(8) expiry(8) sum(16). */
void ns_gwstore_client_encode(const struct ns_gwstore_client *c,
                              uint8_t out[NS_GWSTORE_CLIENT_REC_LEN])
{
	memset(out, 0, NS_GWSTORE_CLIENT_REC_LEN);
	memcpy(out, CLIENT_MAGIC, 4);
	out[4] = FORMAT_VERSION;
	out[5] = (uint8_t)((c->key.legacy ? FLAG_LEGACY : 0) | (c->has_last_auth ? FLAG_HAS_AUTH : 0));
	memcpy(out + 8, c->key.bytes, NS_GW_KEY_LEN);
	ns_put_be64(out + 40, c->has_last_auth ? c->last_auth_ts : 0);
	ns_put_be64(out + 48, (uint64_t)c->bandwidth);
	ns_put_be64(out + 56, (uint64_t)c->bandwidth_expiry);
	checksum(out, 64, out + 64);
}

int ns_gwstore_client_decode(const uint8_t *in, size_t len, struct ns_gwstore_client *c)
{
	if (!in || !c)
		return NS_GWSTORE_EARG;
	if (len != NS_GWSTORE_CLIENT_REC_LEN || memcmp(in, CLIENT_MAGIC, 4) != 0 ||
	    in[4] != FORMAT_VERSION || (in[5] & ~(FLAG_LEGACY | FLAG_HAS_AUTH)) || in[6] || in[7] ||
	    !checksum_ok(in, 64))
		return NS_GWSTORE_ECORRUPT;
	memset(c, 0, sizeof *c);
	c->key.legacy = (in[5] & FLAG_LEGACY) != 0;
	memcpy(c->key.bytes, in + 8, NS_GW_KEY_LEN);
	c->has_last_auth = (in[5] & FLAG_HAS_AUTH) != 0;
	c->last_auth_ts = ns_get_be64(in + 40);
	c->bandwidth = (int64_t)ns_get_be64(in + 48);
	c->bandwidth_expiry = (int64_t)ns_get_be64(in + 56);
	if (!c->has_last_auth && c->last_auth_ts != 0) {
		ns_memzero(c, sizeof *c);
		return NS_GWSTORE_ECORRUPT;
	}
	return 0;
}

/* Message: magic(4) ver(1) 0(3) stored_at(8) len(4) msg sum(16). */
long ns_gwstore_msg_encode(uint64_t stored_at, const uint8_t *msg, size_t len, uint8_t *out,
                           size_t cap)
{
	if (!out || (!msg && len) || len > NS_GWSTORE_MSG_MAX || cap < len + NS_GWSTORE_MSG_OVERHEAD)
		return NS_GWSTORE_EARG;
	memcpy(out, MSG_MAGIC, 4);
	out[4] = FORMAT_VERSION;
	out[5] = out[6] = out[7] = 0;
	ns_put_be64(out + 8, stored_at);
	ns_put_be32(out + 16, (uint32_t)len);
	if (len)
		memcpy(out + MSG_HEADER_LEN, msg, len);
	checksum(out, MSG_HEADER_LEN + len, out + MSG_HEADER_LEN + len);
	return (long)(len + NS_GWSTORE_MSG_OVERHEAD);
}

int ns_gwstore_msg_decode(const uint8_t *in, size_t len, uint64_t *stored_at, const uint8_t **msg,
                          size_t *msg_len)
{
	if (!in || !stored_at || !msg || !msg_len)
		return NS_GWSTORE_EARG;
	if (len < NS_GWSTORE_MSG_OVERHEAD || memcmp(in, MSG_MAGIC, 4) != 0 ||
	    in[4] != FORMAT_VERSION || in[5] || in[6] || in[7])
		return NS_GWSTORE_ECORRUPT;
	uint32_t n = ns_get_be32(in + 16);
	if (n > NS_GWSTORE_MSG_MAX || (size_t)n + NS_GWSTORE_MSG_OVERHEAD != len ||
	    !checksum_ok(in, MSG_HEADER_LEN + n))
		return NS_GWSTORE_ECORRUPT;
	*stored_at = ns_get_be64(in + 8);
	*msg = in + MSG_HEADER_LEN;
	*msg_len = n;
	return 0;
}

/* ------------------------------------------------------------------ files */

static void hex32(const uint8_t a[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[a[i] >> 4];
		out[2 * i + 1] = digits[a[i] & 15];
	}
	out[64] = 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int ensure_dir(const char *path)
{
	if (mkdir(path, 0700) == 0)
		return 1; /* created */
	if (errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	return 0;
}

/* Durable replace of dir/name with data. */
static int write_durable(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp)
		return NS_GWSTORE_EARG;
	unlink(tmp); /* left by a crash: we own the store (one writer) */
	int fd = ns_sf_create(tmp, 0600, NULL, 0);
	if (fd < 0)
		return NS_GWSTORE_EIO;
	if (ns_sf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return NS_GWSTORE_EIO;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return NS_GWSTORE_EIO;
	}
	return fsync_dir(dir) < 0 ? NS_GWSTORE_EIO : 0;
}

/* Reads a whole regular file of at most cap bytes. */
static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = ns_sf_open_read(path, 0, NULL, 0);
	if (fd < 0)
		return errno == ENOENT ? NS_GWSTORE_ENOENT : errno == EIO ? NS_GWSTORE_EIO
		                                                        : NS_GWSTORE_ECORRUPT;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NS_GWSTORE_EIO;
	}
	if ((uint64_t)st.st_size > cap) {
		close(fd);
		return NS_GWSTORE_ECORRUPT;
	}
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return NS_GWSTORE_EIO;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == cap) {
			uint8_t extra;
			if (read(fd, &extra, 1) > 0) {
				close(fd);
				return NS_GWSTORE_ECORRUPT;
			}
			break;
		}
	}
	close(fd);
	*len = have;
	return 0;
}

static int client_path(const struct ns_gwstore *s, const uint8_t a[32], char *out, size_t cap)
{
	char hex[65];
	hex32(a, hex);
	return snprintf(out, cap, "%s/clients/%s", s->dir, hex) >= (int)cap ? -1 : 0;
}

static int inbox_path(const struct ns_gwstore *s, const uint8_t a[32], char *out, size_t cap)
{
	char hex[65];
	hex32(a, hex);
	return snprintf(out, cap, "%s/inbox/%s", s->dir, hex) >= (int)cap ? -1 : 0;
}

/* "0123456789abcdef.msg" -> id; -1 if the name is not a message file. */
static int parse_msg_name(const char *name, uint64_t *id)
{
	if (strlen(name) != 20 || strcmp(name + 16, ".msg") != 0)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char ch = name[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*id = v;
	return 0;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ store */

int ns_gwstore_open(const char *dir, const struct ns_gwstore_limits *limits,
                    struct ns_gwstore **out)
{
	if (!dir || !*dir || !out || strlen(dir) > PATH_MAX - 128)
		return NS_GWSTORE_EARG;
	char sub[PATH_MAX];
	if (ensure_dir(dir) < 0)
		return NS_GWSTORE_EIO;
	snprintf(sub, sizeof sub, "%s/clients", dir);
	if (ensure_dir(sub) < 0)
		return NS_GWSTORE_EIO;
	snprintf(sub, sizeof sub, "%s/inbox", dir);
	if (ensure_dir(sub) < 0)
		return NS_GWSTORE_EIO;
	struct ns_gwstore *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return NS_GWSTORE_ENOMEM;
	}
	s->limits.max_messages = limits && limits->max_messages ? limits->max_messages : 10000;
	s->limits.max_bytes = limits && limits->max_bytes ? limits->max_bytes : 64u << 20;
	*out = s;
	return 0;
}

void ns_gwstore_close(struct ns_gwstore *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

int ns_gwstore_client_put(struct ns_gwstore *s, const uint8_t address[32],
                          const struct ns_gwstore_client *c)
{
	if (!s || !address || !c)
		return NS_GWSTORE_EARG;
	uint8_t rec[NS_GWSTORE_CLIENT_REC_LEN];
	char dir[PATH_MAX], hex[65];
	snprintf(dir, sizeof dir, "%s/clients", s->dir);
	hex32(address, hex);
	ns_gwstore_client_encode(c, rec);
	int rc = write_durable(dir, hex, rec, sizeof rec);
	ns_memzero(rec, sizeof rec);
	return rc;
}

int ns_gwstore_client_get(struct ns_gwstore *s, const uint8_t address[32],
                          struct ns_gwstore_client *c)
{
	if (!s || !address || !c)
		return NS_GWSTORE_EARG;
	char path[PATH_MAX];
	if (client_path(s, address, path, sizeof path) < 0)
		return NS_GWSTORE_EARG;
	uint8_t rec[NS_GWSTORE_CLIENT_REC_LEN];
	size_t len = 0;
	int rc = read_file(path, rec, sizeof rec, &len);
	if (rc == 0)
		rc = ns_gwstore_client_decode(rec, len, c);
	ns_memzero(rec, sizeof rec);
	return rc;
}

int ns_gwstore_client_delete(struct ns_gwstore *s, const uint8_t address[32])
{
	if (!s || !address)
		return NS_GWSTORE_EARG;
	char path[PATH_MAX];
	uint64_t ids[256];
	long n;
	while ((n = ns_gwstore_inbox_list(s, address, 0, ids, 256)) > 0)
		for (long i = 0; i < n; i++)
			if (ns_gwstore_inbox_remove(s, address, ids[i]) == NS_GWSTORE_EIO)
				return NS_GWSTORE_EIO;
	if (inbox_path(s, address, path, sizeof path) == 0)
		rmdir(path);
	if (client_path(s, address, path, sizeof path) < 0)
		return NS_GWSTORE_EARG;
	if (unlink(path) < 0 && errno != ENOENT)
		return NS_GWSTORE_EIO;
	snprintf(path, sizeof path, "%s/clients", s->dir);
	return fsync_dir(path) < 0 ? NS_GWSTORE_EIO : 0;
}

int ns_gwstore_inbox_usage(struct ns_gwstore *s, const uint8_t address[32], size_t *count,
                           uint64_t *bytes)
{
	char path[PATH_MAX];
	if (!s || !address || inbox_path(s, address, path, sizeof path) < 0)
		return NS_GWSTORE_EARG;
	size_t n = 0;
	uint64_t total = 0;
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			uint64_t id;
			struct stat st;
			if (parse_msg_name(e->d_name, &id) < 0)
				continue;
			n++;
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				total += (uint64_t)st.st_size;
		}
		closedir(d);
	} else if (errno != ENOENT) {
		return NS_GWSTORE_EIO;
	}
	if (count)
		*count = n;
	if (bytes)
		*bytes = total;
	return 0;
}

int ns_gwstore_inbox_put(struct ns_gwstore *s, const uint8_t address[32], const uint8_t *msg,
                         size_t len, uint64_t *id)
{
	if (!s || !address || (!msg && len) || len > NS_GWSTORE_MSG_MAX)
		return NS_GWSTORE_EARG;
	size_t count;
	uint64_t bytes;
	int rc = ns_gwstore_inbox_usage(s, address, &count, &bytes);
	if (rc < 0)
		return rc;
	if (count >= s->limits.max_messages ||
	    bytes + len + NS_GWSTORE_MSG_OVERHEAD > s->limits.max_bytes)
		return NS_GWSTORE_EFULL;
	char dir[PATH_MAX], name[32];
	if (inbox_path(s, address, dir, sizeof dir) < 0)
		return NS_GWSTORE_EARG;
	int created = ensure_dir(dir);
	if (created < 0)
		return NS_GWSTORE_EIO;
	if (created) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s/inbox", s->dir);
		if (fsync_dir(parent) < 0)
			return NS_GWSTORE_EIO;
	}
	uint64_t now = wall_ns();
	uint64_t next = now > s->last_id ? now : s->last_id + 1;
	s->last_id = next;
	uint8_t *buf = malloc(len + NS_GWSTORE_MSG_OVERHEAD);
	if (!buf)
		return NS_GWSTORE_ENOMEM;
	long n = ns_gwstore_msg_encode(now / 1000000000u, msg, len, buf, len + NS_GWSTORE_MSG_OVERHEAD);
	snprintf(name, sizeof name, "%016llx.msg", (unsigned long long)next);
	rc = write_durable(dir, name, buf, (size_t)n);
	free(buf);
	if (rc == 0 && id)
		*id = next;
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

long ns_gwstore_inbox_list(struct ns_gwstore *s, const uint8_t address[32], uint64_t after,
                           uint64_t *ids, size_t max)
{
	char path[PATH_MAX];
	if (!s || !address || !ids || !max || inbox_path(s, address, path, sizeof path) < 0)
		return NS_GWSTORE_EARG;
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : NS_GWSTORE_EIO;
	/* Keep the max smallest ids above `after`: collect all, sort, cut. */
	size_t cap = 64, n = 0;
	uint64_t *all = malloc(cap * sizeof *all);
	if (!all) {
		closedir(d);
		return NS_GWSTORE_ENOMEM;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t id;
		if (parse_msg_name(e->d_name, &id) < 0 || id <= after)
			continue;
		if (n == cap) {
			uint64_t *grown = realloc(all, 2 * cap * sizeof *all);
			if (!grown) {
				free(all);
				closedir(d);
				return NS_GWSTORE_ENOMEM;
			}
			all = grown;
			cap *= 2;
		}
		all[n++] = id;
	}
	closedir(d);
	qsort(all, n, sizeof *all, cmp_u64);
	if (n > max)
		n = max;
	memcpy(ids, all, n * sizeof *ids);
	free(all);
	return (long)n;
}

int ns_gwstore_inbox_read(struct ns_gwstore *s, const uint8_t address[32], uint64_t id,
                          uint8_t *buf, size_t cap, size_t *len)
{
	char path[PATH_MAX], dir[PATH_MAX];
	if (!s || !address || !buf || !len || inbox_path(s, address, dir, sizeof dir) < 0)
		return NS_GWSTORE_EARG;
	if (snprintf(path, sizeof path, "%s/%016llx.msg", dir, (unsigned long long)id) >=
	    (int)sizeof path)
		return NS_GWSTORE_EARG;
	size_t fcap = NS_GWSTORE_MSG_MAX + NS_GWSTORE_MSG_OVERHEAD, flen = 0;
	uint8_t *file = malloc(fcap);
	if (!file)
		return NS_GWSTORE_ENOMEM;
	int rc = read_file(path, file, fcap, &flen);
	uint64_t stored_at;
	const uint8_t *msg;
	size_t msg_len;
	if (rc == 0)
		rc = ns_gwstore_msg_decode(file, flen, &stored_at, &msg, &msg_len);
	if (rc == 0 && msg_len > cap)
		rc = NS_GWSTORE_EARG;
	if (rc == 0) {
		memcpy(buf, msg, msg_len);
		*len = msg_len;
	}
	free(file);
	return rc;
}

int ns_gwstore_inbox_remove(struct ns_gwstore *s, const uint8_t address[32], uint64_t id)
{
	char path[PATH_MAX], dir[PATH_MAX];
	if (!s || !address || inbox_path(s, address, dir, sizeof dir) < 0)
		return NS_GWSTORE_EARG;
	if (snprintf(path, sizeof path, "%s/%016llx.msg", dir, (unsigned long long)id) >=
	    (int)sizeof path)
		return NS_GWSTORE_EARG;
	if (unlink(path) < 0)
		return errno == ENOENT ? NS_GWSTORE_ENOENT : NS_GWSTORE_EIO;
	return 0;
}

/* Removes old or corrupt message files of one inbox folder. */
static long purge_inbox(const char *dir, uint64_t before_unix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	long removed = 0;
	size_t fcap = NS_GWSTORE_MSG_MAX + NS_GWSTORE_MSG_OVERHEAD;
	uint8_t *file = malloc(fcap);
	struct dirent *e;
	while (file && (e = readdir(d))) {
		uint64_t id, stored_at;
		char path[PATH_MAX];
		const uint8_t *msg;
		size_t flen = 0, msg_len;
		if (parse_msg_name(e->d_name, &id) < 0)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		int rc = read_file(path, file, fcap, &flen);
		if (rc == 0)
			rc = ns_gwstore_msg_decode(file, flen, &stored_at, &msg, &msg_len);
		if ((rc == NS_GWSTORE_ECORRUPT || (rc == 0 && stored_at < before_unix)) &&
		    unlink(path) == 0)
			removed++;
	}
	free(file);
	closedir(d);
	return removed;
}

long ns_gwstore_purge(struct ns_gwstore *s, uint64_t before_unix)
{
	if (!s)
		return NS_GWSTORE_EARG;
	char inbox[PATH_MAX];
	snprintf(inbox, sizeof inbox, "%s/inbox", s->dir);
	DIR *d = opendir(inbox);
	if (!d)
		return NS_GWSTORE_EIO;
	long removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		if (strlen(e->d_name) != 64)
			continue;
		if (snprintf(sub, sizeof sub, "%s/%s", inbox, e->d_name) >= (int)sizeof sub)
			continue;
		removed += purge_inbox(sub, before_unix);
	}
	closedir(d);
	return removed;
}

const char *ns_gwstore_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case NS_GWSTORE_ENOENT: return "not found";
	case NS_GWSTORE_ECORRUPT: return "corrupt store file";
	case NS_GWSTORE_EIO: return "store i/o error";
	case NS_GWSTORE_EFULL: return "client inbox full";
	case NS_GWSTORE_EARG: return "bad argument";
	case NS_GWSTORE_ENOMEM: return "out of memory";
	default: return "?";
	}
}
