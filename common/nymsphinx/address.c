/* nym-sphinx addressing: node routing addresses, recipients, sender tags. */
#include "nymsphinx/address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "bytes.h"
#include "crypto.h"

#define IP_TYPE_V4 4
#define IP_TYPE_V6 6

size_t nym_node_address_len(const struct nym_node_address *a)
{
	if (!a)
		return 0;
	if (a->ip_version == IP_TYPE_V4)
		return NYM_NODE_ADDR_V4_LEN;
	if (a->ip_version == IP_TYPE_V6)
		return NYM_NODE_ADDR_V6_LEN;
	return 0;
}

static size_t ip_octets_len(uint8_t ip_version)
{
	return ip_version == IP_TYPE_V4 ? 4 : 16;
}

int nym_node_address_equal(const struct nym_node_address *a, const struct nym_node_address *b)
{
	return a->ip_version == b->ip_version && a->port == b->port &&
	       memcmp(a->ip, b->ip, ip_octets_len(a->ip_version)) == 0;
}

long nym_node_address_encode(const struct nym_node_address *a, uint8_t *out, size_t cap)
{
	size_t n = nym_node_address_len(a);

	if (n == 0 || !out || cap < n)
		return NYM_ADDR_ERR_ARG;
	out[0] = a->ip_version;
	out[1] = (uint8_t)(a->port >> 8);
	out[2] = (uint8_t)(a->port & 0xff);
	memcpy(out + 3, a->ip, ip_octets_len(a->ip_version));
	return (long)n;
}

int nym_node_address_encode_padded(const struct nym_node_address *a,
                                   uint8_t out[NYM_NODE_ADDR_PADDED_LEN])
{
	if (!out)
		return NYM_ADDR_ERR_ARG;
	memset(out, 0, NYM_NODE_ADDR_PADDED_LEN);
	return nym_node_address_encode(a, out, NYM_NODE_ADDR_PADDED_LEN) < 0 ? NYM_ADDR_ERR_ARG : 0;
}

long nym_node_address_decode(const uint8_t *in, size_t len, struct nym_node_address *a)
{
	size_t need;

	if (!in || !a)
		return NYM_ADDR_ERR_ARG;
	if (len == 0)
		return NYM_ADDR_ERR_SHORT;
	if (in[0] == IP_TYPE_V4)
		need = NYM_NODE_ADDR_V4_LEN;
	else if (in[0] == IP_TYPE_V6)
		need = NYM_NODE_ADDR_V6_LEN;
	else
		return NYM_ADDR_ERR_IP_VERSION;
	if (len < need)
		return NYM_ADDR_ERR_SHORT;
	memset(a, 0, sizeof(*a));
	a->ip_version = in[0];
	a->port = ns_get_be16(in + 1);
	memcpy(a->ip, in + 3, ip_octets_len(in[0]));
	return (long)need;
}

/* ---- text form, as Rust's SocketAddr Display ---- */

static int is_ipv4_mapped(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

/* Longest run of zero 16-bit groups (first one wins on ties). */
static void longest_zero_run(const uint16_t groups[8], int *start, int *len)
{
	int cur_start = 0, cur_len = 0;

	*start = 0;
	*len = 0;
	for (int i = 0; i < 8; i++) {
		if (groups[i] != 0) {
			cur_len = 0;
			continue;
		}
		if (cur_len == 0)
			cur_start = i;
		cur_len++;
		if (cur_len > *len) {
			*start = cur_start;
			*len = cur_len;
		}
	}
}

static size_t append_groups(char *s, size_t pos, size_t cap, const uint16_t *g, int from, int to)
{
	for (int i = from; i < to; i++) {
		int n = snprintf(s + pos, cap - pos, i == from ? "%x" : ":%x", g[i]);

		pos += (size_t)n;
	}
	return pos;
}

/* Writes the IPv6 text into s (cap >= 48). */
static void format_ipv6(const uint8_t ip[16], char *s, size_t cap)
{
	uint16_t g[8];
	int zstart, zlen;
	size_t pos;

	if (is_ipv4_mapped(ip)) {
		snprintf(s, cap, "::ffff:%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
		return;
	}
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)((ip[2 * i] << 8) | ip[2 * i + 1]);
	longest_zero_run(g, &zstart, &zlen);
	s[0] = '\0';
	if (zlen > 1) {
		pos = append_groups(s, 0, cap, g, 0, zstart);
		pos += (size_t)snprintf(s + pos, cap - pos, "::");
		append_groups(s, pos, cap, g, zstart + zlen, 8);
	} else {
		append_groups(s, 0, cap, g, 0, 8);
	}
}

long nym_node_address_format(const struct nym_node_address *a, char *out, size_t cap)
{
	char ip[48];
	int n;

	if (!a || !out || nym_node_address_len(a) == 0)
		return NYM_ADDR_ERR_ARG;
	if (a->ip_version == IP_TYPE_V4)
		n = snprintf(out, cap, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3],
		             a->port);
	else {
		format_ipv6(a->ip, ip, sizeof(ip));
		n = snprintf(out, cap, "[%s]:%u", ip, a->port);
	}
	if (n < 0 || (size_t)n >= cap)
		return NYM_ADDR_ERR_ARG;
	return n;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int nym_node_address_parse(const char *text, struct nym_node_address *a)
{
	char host[64];
	const char *colon;
	size_t host_len;
	struct nym_node_address tmp;

	if (!text || !a)
		return NYM_ADDR_ERR_SYNTAX;
	memset(&tmp, 0, sizeof(tmp));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return NYM_ADDR_ERR_SYNTAX;
		host_len = (size_t)(close - text - 1);
		colon = close + 1;
		text++;
		tmp.ip_version = IP_TYPE_V6;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return NYM_ADDR_ERR_SYNTAX;
		host_len = (size_t)(colon - text);
		tmp.ip_version = IP_TYPE_V4;
	}
	if (host_len == 0 || host_len >= sizeof(host))
		return NYM_ADDR_ERR_SYNTAX;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	if (inet_pton(tmp.ip_version == IP_TYPE_V4 ? AF_INET : AF_INET6, host, tmp.ip) != 1)
		return NYM_ADDR_ERR_SYNTAX;
	if (parse_port(colon + 1, &tmp.port) != 0)
		return NYM_ADDR_ERR_SYNTAX;
	*a = tmp;
	return 0;
}

/* The check costs two modular exponentiations; apps send to the same few recipients over
 * and over, so the last keys that passed are remembered (public data; per thread: keyd's
 * builder threads parse recipients too). */
#define DECOMPRESS_CACHE 16
static _Thread_local uint8_t decompress_ok[DECOMPRESS_CACHE][32];
static _Thread_local unsigned decompress_n, decompress_next;

int nym_ed25519_pk_decompresses(const uint8_t pk[32])
{
	if (!pk)
		return 0;
	for (unsigned i = 0; i < decompress_n; i++)
		if (!memcmp(decompress_ok[i], pk, 32))
			return 1;
	if (!ns_ed25519_pk_decompresses(pk))
		return 0;
	memcpy(decompress_ok[decompress_next], pk, 32);
	decompress_next = (decompress_next + 1) % DECOMPRESS_CACHE;
	if (decompress_n < DECOMPRESS_CACHE)
		decompress_n++;
	return 1;
}

/* ---- Recipient ---- */

void nym_recipient_to_bytes(const struct nym_recipient *r, uint8_t out[NYM_RECIPIENT_LEN])
{
	memcpy(out, r->identity, 32);
	memcpy(out + 32, r->encryption_key, 32);
	memcpy(out + 64, r->gateway, 32);
}

int nym_recipient_from_bytes(const uint8_t in[NYM_RECIPIENT_LEN], struct nym_recipient *r)
{
	if (!in || !r)
		return NYM_ADDR_ERR_ARG;
	if (!nym_ed25519_pk_decompresses(in))
		return NYM_ADDR_ERR_IDENTITY;
	if (!nym_ed25519_pk_decompresses(in + 64))
		return NYM_ADDR_ERR_GATEWAY;
	memcpy(r->identity, in, 32);
	memcpy(r->encryption_key, in + 32, 32);
	memcpy(r->gateway, in + 64, 32);
	return 0;
}

long nym_recipient_to_string(const struct nym_recipient *r, char *out, size_t cap)
{
	char id[NYM_KEY_B58_MAX], enc[NYM_KEY_B58_MAX], gw[NYM_KEY_B58_MAX];
	int n;

	if (!r || !out)
		return NYM_ADDR_ERR_ARG;
	if (base58_encode(r->identity, 32, id, sizeof(id)) < 0 ||
	    base58_encode(r->encryption_key, 32, enc, sizeof(enc)) < 0 ||
	    base58_encode(r->gateway, 32, gw, sizeof(gw)) < 0)
		return NYM_ADDR_ERR_ARG;
	n = snprintf(out, cap, "%s.%s@%s", id, enc, gw);
	if (n < 0 || (size_t)n >= cap)
		return NYM_ADDR_ERR_ARG;
	return n;
}

static size_t count_char(const char *s, size_t len, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

static const char B58_CHARS[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int all_base58_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || !strchr(B58_CHARS, s[i]))
			return 0;
	return 1;
}

/* Decodes s[0..len) as base58 into exactly 32 bytes. */
static int decode_key_part(const char *s, size_t len, uint8_t out[32])
{
	char part[128];
	uint8_t buf[64];
	long n;

	if (!all_base58_chars(s, len))
		return NYM_ADDR_ERR_BASE58;
	/* 32 bytes take at most 44 characters plus one '1' per leading zero byte (<= 32). */
	if (len >= sizeof(part))
		return NYM_ADDR_ERR_LENGTH;
	memcpy(part, s, len);
	part[len] = '\0';
	n = base58_decode(part, buf, sizeof(buf));
	if (n != 32)
		return NYM_ADDR_ERR_LENGTH;
	memcpy(out, buf, 32);
	return 0;
}

int nym_recipient_from_string(const char *text, struct nym_recipient *r)
{
	const char *at, *dot;
	size_t len;
	struct nym_recipient tmp;
	int rc;

	if (!text || !r)
		return NYM_ADDR_ERR_ARG;
	len = strlen(text);
	if (count_char(text, len, '@') != 1)
		return NYM_ADDR_ERR_SYNTAX;
	at = strchr(text, '@');
	if (count_char(text, (size_t)(at - text), '.') != 1)
		return NYM_ADDR_ERR_SYNTAX;
	dot = memchr(text, '.', (size_t)(at - text));
	/* order as Nym: identity, encryption key, gateway */
	rc = decode_key_part(text, (size_t)(dot - text), tmp.identity);
	if (rc == 0 && !nym_ed25519_pk_decompresses(tmp.identity))
		rc = NYM_ADDR_ERR_IDENTITY;
	if (rc == 0)
		rc = decode_key_part(dot + 1, (size_t)(at - dot - 1), tmp.encryption_key);
	if (rc == 0)
		rc = decode_key_part(at + 1, strlen(at + 1), tmp.gateway);
	if (rc == 0 && !nym_ed25519_pk_decompresses(tmp.gateway))
		rc = NYM_ADDR_ERR_GATEWAY;
	if (rc != 0)
		return rc;
	*r = tmp;
	return 0;
}

void nym_recipient_destination(const struct nym_recipient *r, uint8_t dest[32])
{
	memcpy(dest, r->identity, 32);
}

/* ---- AnonymousSenderTag ---- */

long nym_sender_tag_to_string(const uint8_t tag[NYM_SENDER_TAG_LEN], char *out, size_t cap)
{
	long n;

	if (!tag || !out)
		return NYM_ADDR_ERR_ARG;
	n = base58_encode(tag, NYM_SENDER_TAG_LEN, out, cap);
	return n < 0 ? NYM_ADDR_ERR_ARG : n;
}

int nym_sender_tag_from_string(const char *text, uint8_t tag[NYM_SENDER_TAG_LEN])
{
	uint8_t buf[NYM_SENDER_TAG_LEN];
	long n;

	if (!text || !tag)
		return NYM_ADDR_ERR_ARG;
	if (!all_base58_chars(text, strlen(text)))
		return NYM_ADDR_ERR_BASE58;
	if (strlen(text) > 64) /* 16 bytes: at most 22 digits plus 16 leading '1's */
		return NYM_ADDR_ERR_LENGTH;
	n = base58_decode(text, buf, sizeof(buf));
	if (n != NYM_SENDER_TAG_LEN)
		return NYM_ADDR_ERR_LENGTH;
	memcpy(tag, buf, sizeof(buf));
	return 0;
}
