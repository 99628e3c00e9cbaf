/* IPC datagrams to and from JSON, by the catalogue (common/ipc_msgs.h), for JavaScript that
 * plays a peer (the tests' netd stand-in now; a Worker's own messages later): decoding is the
 * native processes' strict decode, encoding checks that the sender may send the type to the
 * receiver. JSON form: {"type": "NAME", field: value ...}; U64 a number (exact up to 2^53),
 * BOOL true/false, BIN a lowercase hex string, STR a string. A BATCH decodes to its messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "ipc_codec.h"
#include "nsw_api.h"

static char *hex_of(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
	s[2 * n] = 0;
	return s;
}

static int add_field(cJSON *o, const struct ns_ipc_msg *m, const struct ns_ipc_field_info *f)
{
	const uint8_t *base = (const uint8_t *)&m->u + f->offset;
	if (f->kind == NS_IPC_KIND_U64) {
		uint64_t v;
		memcpy(&v, base, sizeof v);
		return cJSON_AddNumberToObject(o, f->name, (double)v) ? 0 : -1;
	}
	if (f->kind == NS_IPC_KIND_BOOL) {
		bool v;
		memcpy(&v, base, sizeof v);
		return cJSON_AddBoolToObject(o, f->name, v) ? 0 : -1;
	}
	struct ns_ipc_bytes b;
	memcpy(&b, base, sizeof b);
	if (f->kind == NS_IPC_KIND_STR) {
		char *s = malloc(b.len + 1);
		if (!s)
			return -1;
		memcpy(s, b.ptr, b.len);
		s[b.len] = 0;
		cJSON *v = cJSON_AddStringToObject(o, f->name, s);
		free(s);
		return v ? 0 : -1;
	}
	char *h = hex_of(b.ptr, b.len);
	cJSON *v = h ? cJSON_AddStringToObject(o, f->name, h) : NULL;
	free(h);
	return v ? 0 : -1;
}

static int add_msg(cJSON *arr, const struct ns_ipc_msg *m)
{
	const struct ns_ipc_type_info *t = ns_ipc_type_info(m->type);
	cJSON *o = cJSON_CreateObject();
	if (!t || !o || !cJSON_AddStringToObject(o, "type", t->name)) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddItemToArray(arr, o);
	for (size_t i = 0; i < t->n_fields; i++)
		if (add_field(o, m, &t->fields[i]) < 0)
			return -1;
	return 0;
}

/* The datagram self received from peer as a JSON array of messages (malloc'd, NUL-ended;
 * free with nsw_free(p, strlen(p))), or NULL; *err: 0 or the negative NS_IPC_E*. */
NSW_EXPORT char *nsw_ipc_json_decode(unsigned self, unsigned peer, const uint8_t *buf, size_t len,
                                     int *err)
{
	struct ns_ipc_msg m, in;
	size_t off = 0;
	int rc = self < NS_IPC_ROLE_COUNT && peer < NS_IPC_ROLE_COUNT ? 0 : NS_IPC_EARG;
	cJSON *arr = cJSON_CreateArray();
	if (rc == 0)
		rc = ns_ipc_decode((enum ns_ipc_role)self, (enum ns_ipc_role)peer, buf, len, &m);
	if (rc == 0 && m.type != NS_IPC_T_BATCH)
		rc = add_msg(arr, &m) < 0 ? NS_IPC_ESPACE : 0;
	while (rc == 0 && m.type == NS_IPC_T_BATCH &&
	       (rc = ns_ipc_batch_next((enum ns_ipc_role)self, (enum ns_ipc_role)peer, &m, &off, &in)) == 1)
		rc = add_msg(arr, &in) < 0 ? NS_IPC_ESPACE : 0;
	char *out = rc == 0 && arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	*err = rc ? rc : out ? 0 : NS_IPC_ESPACE;
	return out;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | v : v);
	}
	*len = n / 2;
	return 0;
}

/* One field from o into m; bytes go to *pool (advanced). */
static int set_field(const cJSON *o, struct ns_ipc_msg *m, const struct ns_ipc_field_info *f,
                     uint8_t **pool, size_t *left)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->name);
	uint8_t *base = (uint8_t *)&m->u + f->offset;
	if (f->kind == NS_IPC_KIND_U64) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0)
			return -1;
		uint64_t x = (uint64_t)v->valuedouble;
		memcpy(base, &x, sizeof x);
		return 0;
	}
	if (f->kind == NS_IPC_KIND_BOOL) {
		if (!cJSON_IsBool(v))
			return -1;
		bool x = cJSON_IsTrue(v);
		memcpy(base, &x, sizeof x);
		return 0;
	}
	if (!cJSON_IsString(v))
		return -1;
	struct ns_ipc_bytes b = { *pool, 0 };
	if (f->kind == NS_IPC_KIND_STR) {
		b.len = strlen(v->valuestring);
		if (b.len > *left)
			return -1;
		memcpy(*pool, v->valuestring, b.len);
	} else if (unhex(v->valuestring, *pool, *left, &b.len) < 0) {
		return -1;
	}
	*pool += b.len, *left -= b.len;
	memcpy(base, &b, sizeof b);
	return 0;
}

/* One message ({"type": NAME, fields}) that self sends to peer, encoded into out: its
 * length, or a negative NS_IPC_E* (NS_IPC_EFORMAT: the JSON does not fit the catalogue). */
NSW_EXPORT int nsw_ipc_json_encode(unsigned self, unsigned peer, const char *json, uint8_t *out,
                                   size_t cap)
{
	static uint8_t pool[NS_IPC_MAX_DATAGRAM];
	uint8_t *p = pool;
	size_t left = sizeof pool, len = 0;
	struct ns_ipc_msg m;
	const struct ns_ipc_type_info *t = NULL;
	cJSON *o = cJSON_Parse(json);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	int rc = self < NS_IPC_ROLE_COUNT && peer < NS_IPC_ROLE_COUNT ? 0 : NS_IPC_EARG;
	for (size_t i = 0; rc == 0 && !t && cJSON_IsString(type) && i < ns_ipc_catalogue_size(); i++)
		if (!strcmp(ns_ipc_catalogue_entry(i)->name, type->valuestring))
			t = ns_ipc_catalogue_entry(i);
	if (rc == 0 && !t)
		rc = NS_IPC_EFORMAT;
	memset(&m, 0, sizeof m);
	if (rc == 0)
		m.type = t->type;
	for (size_t i = 0; rc == 0 && i < t->n_fields; i++)
		if (set_field(o, &m, &t->fields[i], &p, &left) < 0)
			rc = NS_IPC_EFORMAT;
	if (rc == 0)
		rc = ns_ipc_accepts((enum ns_ipc_role)peer, (enum ns_ipc_role)self, (uint64_t)m.type);
	if (rc == 0)
		rc = ns_ipc_encode(&m, out, cap, &len);
	cJSON_Delete(o);
	ns_memzero(pool, sizeof pool - left);
	return rc < 0 ? rc : (int)len;
}
