/* make kat VECTORS=FILE: one line per item, then "N passed, N failed". */
#include "kat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "unit/util.h"

/* ---- record of the fields read (pointer set, open addressing) ---- */
static const cJSON **seen;
static size_t seen_cap, seen_len;

static size_t ptr_hash(const void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull; }

static void mark(const cJSON *item)
{
	if (item == NULL)
		return;
	if (2 * (seen_len + 1) > seen_cap) {
		size_t ncap = seen_cap ? 2 * seen_cap : 4096;
		const cJSON **n = calloc(ncap, sizeof *n);
		if (n == NULL)
			abort();
		for (size_t i = 0; i < seen_cap; i++) {
			if (seen[i] == NULL)
				continue;
			size_t h = ptr_hash(seen[i]) & (ncap - 1);
			while (n[h])
				h = (h + 1) & (ncap - 1);
			n[h] = seen[i];
		}
		free(seen);
		seen = n;
		seen_cap = ncap;
	}
	size_t h = ptr_hash(item) & (seen_cap - 1);
	while (seen[h]) {
		if (seen[h] == item)
			return;
		h = (h + 1) & (seen_cap - 1);
	}
	seen[h] = item;
	seen_len++;
}

static int was_marked(const cJSON *item)
{
	if (seen_cap == 0)
		return 0;
	size_t h = ptr_hash(item) & (seen_cap - 1);
	while (seen[h]) {
		if (seen[h] == item)
			return 1;
		h = (h + 1) & (seen_cap - 1);
	}
	return 0;
}

void kat_fail(struct kat *k, const char *fmt, ...)
{
	va_list ap;
	if (k->item_failures++ == 0) {
		va_start(ap, fmt);
		vsnprintf(k->first_error, sizeof k->first_error, fmt, ap);
		va_end(ap);
	}
}

const cJSON *kat_get(const cJSON *obj, const char *key)
{
	const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	mark(it);
	return it;
}

void kat_note(const cJSON *obj, const char *key) { (void)kat_get(obj, key); }

void kat_mark_items(const cJSON *array)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, array)
		mark(it);
}

long kat_hex(struct kat *k, const cJSON *obj, const char *key, uint8_t *buf, size_t cap)
{
	const cJSON *it = kat_get(obj, key);
	long n;
	if (!cJSON_IsString(it)) {
		kat_fail(k, "field %s missing", key);
		return -1;
	}
	n = util_unhex(it->valuestring, buf, cap);
	if (n < 0)
		kat_fail(k, "field %s: bad hex or longer than %zu bytes", key, cap);
	return n;
}

uint8_t *kat_hex_alloc(struct kat *k, const cJSON *obj, const char *key, size_t *len)
{
	const cJSON *it = kat_get(obj, key);
	uint8_t *b;
	if (!cJSON_IsString(it)) {
		kat_fail(k, "field %s missing", key);
		return NULL;
	}
	b = util_unhex_alloc(it->valuestring, len);
	if (b == NULL)
		kat_fail(k, "field %s: bad hex", key);
	return b;
}

int kat_u64(struct kat *k, const cJSON *obj, const char *key, uint64_t *out)
{
	const cJSON *it = kat_get(obj, key);
	char *end;
	if (cJSON_IsNumber(it) && it->valuedouble >= 0) {
		*out = (uint64_t)it->valuedouble;
		return 0;
	}
	if (cJSON_IsString(it) && it->valuestring[0]) {
		*out = strtoull(it->valuestring, &end, 10);
		if (*end == 0)
			return 0;
	}
	kat_fail(k, "field %s missing or not an integer", key);
	return -1;
}

const char *kat_str(struct kat *k, const cJSON *obj, const char *key)
{
	const cJSON *it = kat_get(obj, key);
	if (!cJSON_IsString(it)) {
		kat_fail(k, "field %s missing", key);
		return NULL;
	}
	return it->valuestring;
}

int kat_expect_hex(struct kat *k, const cJSON *obj, const char *key, const uint8_t *got, size_t len)
{
	const cJSON *it = kat_get(obj, key);
	uint8_t *want;
	size_t wlen;
	int bad;
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it) || (want = util_unhex_alloc(it->valuestring, &wlen)) == NULL) {
		kat_fail(k, "field %s: not hex", key);
		return -1;
	}
	bad = wlen != len || memcmp(want, got, len) != 0;
	if (bad) {
		size_t i = 0;
		while (i < len && i < wlen && want[i] == got[i])
			i++;
		kat_fail(k, "%s differs (want %zu bytes, got %zu, first difference at byte %zu)", key,
		         wlen, len, i);
	}
	free(want);
	return bad ? -1 : 0;
}

int kat_expect_u64(struct kat *k, const cJSON *obj, const char *key, uint64_t got)
{
	uint64_t want;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
		return 0;
	if (kat_u64(k, obj, key, &want) != 0)
		return -1;
	if (want != got) {
		kat_fail(k, "%s: want %llu, got %llu", key, (unsigned long long)want,
		         (unsigned long long)got);
		return -1;
	}
	return 0;
}

int kat_expect_str(struct kat *k, const cJSON *obj, const char *key, const char *got)
{
	const cJSON *it = kat_get(obj, key);
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it) || strcmp(it->valuestring, got) != 0) {
		kat_fail(k, "%s: want \"%s\", got \"%s\"", key,
		         cJSON_IsString(it) ? it->valuestring : "(not a string)", got);
		return -1;
	}
	return 0;
}

int kat_expect_bool(struct kat *k, const cJSON *obj, const char *key, int got)
{
	const cJSON *it = kat_get(obj, key);
	if (it == NULL)
		return 0;
	if (!cJSON_IsBool(it) || cJSON_IsTrue(it) != !!got) {
		kat_fail(k, "%s: want %s, got %s", key, cJSON_IsTrue(it) ? "true" : "false",
		         got ? "true" : "false");
		return -1;
	}
	return 0;
}

int kat_expect_sha256(struct kat *k, const cJSON *obj, const char *key, const uint8_t *data, size_t len)
{
	uint8_t h[32];
	ns_sha256(h, data, len);
	return kat_expect_hex(k, obj, key, h, sizeof h);
}

const cJSON *kat_find_packet(const cJSON *root, const char *name)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "packets")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return p;
	}
	return NULL;
}

const cJSON *kat_find_node(const cJSON *root, uint64_t node_id)
{
	const cJSON *n, *nodes = cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(root, "network"), "nodes");
	cJSON_ArrayForEach(n, nodes) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(n, "node_id");
		if (cJSON_IsNumber(id) && (uint64_t)id->valuedouble == node_id)
			return n;
	}
	return NULL;
}

/* ---- the run ---- */
static int passed, failed;

static void begin(struct kat *k, const char *item)
{
	k->item = item;
	k->item_failures = 0;
	k->first_error[0] = 0;
}

static void end(struct kat *k, const char *what)
{
	if (k->item_failures == 0) {
		passed++;
		printf("ok   %-28s %s\n", k->item, what);
	} else {
		failed++;
		printf("FAIL %-28s %s (%d failed checks; first: %s)\n", k->item, what,
		       k->item_failures, k->first_error);
	}
}

#define RUN_OR_FAIL(k, fn, ...) \
	do { if (fn) fn(k, __VA_ARGS__); else kat_fail(k, "check " #fn " is not built"); } while (0)

static void list_unread(const cJSON *it, char *path, size_t plen, int *count)
{
	size_t base = strlen(path);
	if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
		const cJSON *c;
		int idx = 0;
		if (it->child == NULL && !was_marked(it))
			goto leaf;
		cJSON_ArrayForEach(c, it) {
			if (cJSON_IsObject(it))
				snprintf(path + base, plen - base, ".%s", c->string);
			else
				snprintf(path + base, plen - base, "[%d]", idx);
			idx++;
			list_unread(c, path, plen, count);
			path[base] = 0;
		}
		return;
	}
	if (was_marked(it))
		return;
leaf:
	if ((*count)++ < 20)
		printf("     unchecked field %s\n", path);
}

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "tests/vectors/real-client-packets.json";
	struct kat k = {0};
	char *text, path[512] = "";
	cJSON *root;
	const cJSON *p;
	int unread = 0;

	if (ns_crypto_init() != 0 || (text = util_read_file(file, NULL)) == NULL) {
		fprintf(stderr, "kat: cannot read %s\n", file);
		return 2;
	}
	root = cJSON_Parse(text);
	free(text);
	if (root == NULL) {
		fprintf(stderr, "kat: %s is not JSON\n", file);
		return 2;
	}
	kat_note(root, "about");
	kat_note(root, "conventions");

	if (kat_get(root, "network") || kat_get(root, "client")) {
		begin(&k, "identities");
		RUN_OR_FAIL(&k, kat_identities, root);
		end(&k, "node and client keys, addresses");
	}
	cJSON_ArrayForEach(p, kat_get(root, "packets")) {
		const cJSON *name = kat_get(p, "name");
		begin(&k, cJSON_IsString(name) ? name->valuestring : "(unnamed packet)");
		kat_note(p, "description");
		kat_note(p, "capture_index");
		RUN_OR_FAIL(&k, kat_packet_gateway_frame, root, p);
		RUN_OR_FAIL(&k, kat_packet_process, root, p);
		RUN_OR_FAIL(&k, kat_packet_decrypt, root, p);
		RUN_OR_FAIL(&k, kat_packet_rebuild_sphinx, root, p);
		RUN_OR_FAIL(&k, kat_packet_rebuild_nym, root, p);
		end(&k, "processed, decrypted, rebuilt");
	}
	cJSON_ArrayForEach(p, kat_get(root, "messages")) {
		static char label[64];
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(p, "packets");
		const cJSON *first = cJSON_GetArrayItem(pk, 0);
		snprintf(label, sizeof label, "message(%s)", cJSON_IsString(first) ? first->valuestring : "?");
		begin(&k, label);
		RUN_OR_FAIL(&k, kat_message, root, p);
		end(&k, "reassembled");
	}
	if ((p = kat_get(root, "injected_v1_message")) != NULL) {
		begin(&k, "injected_v1_message");
		RUN_OR_FAIL(&k, kat_injected_v1, root, p);
		end(&k, "V1 SURBs parsed and rebuilt, pushes decrypted");
	}
	if ((p = kat_get(root, "gateway")) != NULL) {
		begin(&k, "gateway");
		RUN_OR_FAIL(&k, kat_gateway, root, p);
		end(&k, "handshake, authenticateV2, frames");
	}
	begin(&k, "coverage");
	list_unread(root, path, sizeof path, &unread);
	if (unread)
		kat_fail(&k, "%d fields of the file were read by no check", unread);
	end(&k, "every field of the file checked");

	cJSON_Delete(root);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
