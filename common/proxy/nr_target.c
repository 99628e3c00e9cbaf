/* A Connect target and the decision over its resolved addresses (nr_target.h). */
#include <string.h>
#include <strings.h>

#include "proxy/nr_target.h"

static int parse_port(const uint8_t *p, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int nr_target_split(const uint8_t *addr, size_t len, char host[NR_TARGET_HOST_MAX],
                    uint16_t *port)
{
	size_t colon = len;
	while (colon > 0 && addr[colon - 1] != ':')
		colon--;
	if (colon == 0 || parse_port(addr + colon, len - colon, port) < 0)
		return -1;
	const uint8_t *h = addr;
	size_t hlen = colon - 1;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= NR_TARGET_HOST_MAX || memchr(h, 0, hlen))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	return 0;
}

int nr_target_never_resolves(const char *host)
{
	size_t n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	if (n < 7 || strncasecmp(host + n - 7, "invalid", 7) != 0)
		return 0;
	return n == 7 || host[n - 8] == '.';
}

enum ns_exit_verdict nr_target_decide(const struct ns_exit_policy *policy,
                                      const struct ns_exit_addr *addrs, size_t n, uint16_t port,
                                      size_t *first)
{
	enum ns_exit_verdict v = ns_exit_guard_check_all(policy, addrs, n, port, NULL);
	if (v == NS_EXIT_ALLOW && first)
		*first = 0;
	return v;
}
