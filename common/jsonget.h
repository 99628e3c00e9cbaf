/* Strict member access on parsed cJSON objects, shared by the topology parsers
 * (topology_json.c, nymapi.c). Getters return 0, NS_TOPOJSON_ERR_SHAPE (missing or of another
 * type) or NS_TOPOJSON_ERR_VALUE (out of range, too long, not a base58 key). */
#ifndef NS_JSONGET_H
#define NS_JSONGET_H
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "topology_json.h"

int ns_json_has_duplicates(const cJSON *obj);
const cJSON *ns_json_member(const cJSON *obj, const char *name);
/* 1 if the member is missing or null */
int ns_json_absent(const cJSON *obj, const char *name);
/* a non-negative integral number <= max */
int ns_json_get_uint(const cJSON *obj, const char *name, uint64_t max, uint64_t *out);
int ns_json_get_u32(const cJSON *obj, const char *name, uint32_t *out);
int ns_json_get_u16(const cJSON *obj, const char *name, uint16_t *out);
int ns_json_get_bool(const cJSON *obj, const char *name, int *out);
/* a string that fits in out with its NUL */
int ns_json_get_str(const cJSON *obj, const char *name, char *out, size_t cap);
/* a base58 string of exactly 32 bytes */
int ns_json_get_key32(const cJSON *obj, const char *name, uint8_t out[32]);

#endif
