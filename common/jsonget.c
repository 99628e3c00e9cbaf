/* Strict cJSON member access; see jsonget.h. */
#include "jsonget.h"

#include <math.h>
#include <string.h>

#include "base58.h"

int ns_json_has_duplicates(const cJSON *obj)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return 1;
	return 0;
}

const cJSON *ns_json_member(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

int ns_json_absent(const cJSON *obj, const char *name)
{
	const cJSON *v = ns_json_member(obj, name);
	return !v || cJSON_IsNull(v);
}

int ns_json_get_uint(const cJSON *obj, const char *name, uint64_t max, uint64_t *out)
{
	const cJSON *v = ns_json_member(obj, name);
	if (!cJSON_IsNumber(v))
		return NS_TOPOJSON_ERR_SHAPE;
	double d = v->valuedouble;
	if (!(d >= 0) || d > (double)max || floor(d) != d)
		return NS_TOPOJSON_ERR_VALUE;
	*out = (uint64_t)d;
	return 0;
}

int ns_json_get_u32(const cJSON *obj, const char *name, uint32_t *out)
{
	uint64_t v;
	int rc = ns_json_get_uint(obj, name, UINT32_MAX, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

int ns_json_get_u16(const cJSON *obj, const char *name, uint16_t *out)
{
	uint64_t v;
	int rc = ns_json_get_uint(obj, name, UINT16_MAX, &v);
	if (rc == 0)
		*out = (uint16_t)v;
	return rc;
}

int ns_json_get_bool(const cJSON *obj, const char *name, int *out)
{
	const cJSON *v = ns_json_member(obj, name);
	if (!cJSON_IsBool(v))
		return NS_TOPOJSON_ERR_SHAPE;
	*out = cJSON_IsTrue(v);
	return 0;
}

int ns_json_get_str(const cJSON *obj, const char *name, char *out, size_t cap)
{
	const cJSON *v = ns_json_member(obj, name);
	if (!cJSON_IsString(v))
		return NS_TOPOJSON_ERR_SHAPE;
	size_t n = strlen(v->valuestring);
	if (n >= cap)
		return NS_TOPOJSON_ERR_VALUE;
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

int ns_json_get_key32(const cJSON *obj, const char *name, uint8_t out[32])
{
	char s[64];
	int rc = ns_json_get_str(obj, name, s, sizeof s);
	if (rc < 0)
		return rc;
	return base58_decode(s, out, 32) == 32 ? 0 : NS_TOPOJSON_ERR_VALUE;
}
