/* libFuzzer: the Connect's "host:port" text (common/proxy/nr_target.h) and the decision over
 * resolved addresses.
 * Properties: a split host is NUL-free, non-empty and shorter than NR_TARGET_HOST_MAX; its port
 * is the decimal text after the input's last ':'; "[host]:port" rebuilt from the parts splits to
 * the same parts; a name said never to resolve ends in the label "invalid"; the decision over
 * addresses taken from the input agrees with the guard over every address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/nr_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the digits after the last ':' of the input, as the split must have read them */
static unsigned long port_text(const uint8_t *data, size_t size)
{
	size_t at = size;
	unsigned long v = 0;

	while (at > 0 && data[at - 1] != ':')
		at--;
	if (at == 0 || size - at == 0 || size - at > 5)
		abort();
	for (size_t i = at; i < size; i++) {
		if (data[i] < '0' || data[i] > '9')
			abort();
		v = v * 10 + (unsigned long)(data[i] - '0');
	}
	return v;
}

static void check_split(const uint8_t *data, size_t size)
{
	char host[NR_TARGET_HOST_MAX], again[NR_TARGET_HOST_MAX];
	char text[NR_TARGET_HOST_MAX + 16];
	uint16_t port, port2;

	if (nr_target_split(data, size, host, &port) < 0)
		return;
	size_t hlen = strlen(host);
	if (hlen == 0 || hlen >= NR_TARGET_HOST_MAX || port_text(data, size) != port)
		abort();
	if (!memmem(data, size, host, hlen))
		abort();
	int n = snprintf(text, sizeof text, "[%s]:%u", host, (unsigned)port);
	if (n < 0 || (size_t)n >= sizeof text)
		abort();
	if (nr_target_split((const uint8_t *)text, (size_t)n, again, &port2) < 0 ||
	    strcmp(host, again) != 0 || port2 != port)
		abort();
	if (nr_target_never_resolves(host)) {
		while (hlen > 0 && host[hlen - 1] == '.')
			hlen--;
		if (hlen < 7 || strncasecmp(host + hlen - 7, "invalid", 7) != 0 ||
		    (hlen > 7 && host[hlen - 8] != '.'))
			abort();
	}
}

/* up to 4 addresses (1 family byte + 16 address bytes each) and a port from the input */
static void check_decide(const struct ns_exit_policy *p, const uint8_t *data, size_t size)
{
	struct ns_exit_addr addrs[4];
	size_t n = 0;
	uint16_t port = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 80;

	for (size_t at = 2; at + 17 <= size && n < 4; at += 17, n++) {
		addrs[n].family = data[at] & 1 ? NS_EXIT_V6 : NS_EXIT_V4;
		memset(addrs[n].bytes, 0, sizeof addrs[n].bytes);
		memcpy(addrs[n].bytes, data + at + 1, addrs[n].family == NS_EXIT_V6 ? 16 : 4);
	}
	size_t first = n + 1;
	enum ns_exit_verdict v = nr_target_decide(p, addrs, n, port, &first);
	if (v != ns_exit_guard_check_all(p, addrs, n, port, NULL))
		abort();
	if (v == NS_EXIT_ALLOW && first >= n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ns_exit_policy open_policy, named;
	static int ready;

	if (!ready) {
		static const char text[] = "ExitPolicy accept 127.0.0.1:*\nExitPolicy accept [::1]:80\n"
		                           "ExitPolicy accept *:443\nExitPolicy reject *:*\n";
		struct ns_exit_parse_error err;
		if (ns_exit_policy_open(&open_policy) != 0 ||
		    ns_exit_policy_parse(text, sizeof text - 1, &named, &err) != 0)
			abort();
		ready = 1;
	}
	check_split(data, size);
	check_decide(&open_policy, data, size);
	check_decide(&named, data, size);
	return 0;
}
