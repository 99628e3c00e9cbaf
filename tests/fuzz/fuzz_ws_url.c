/* Client websocket URLs (ns_ws_parse_url: the gateway listener as stored or announced). A URL
 * that parses must print back into one that parses to the same parts, and its host must be an
 * IP literal or a DNS name of letters, digits, '-' and '.'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2048)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	ns_ws_url u, again;
	if (ns_ws_parse_url(text, &u) == 0) {
		if (!u.host[0] || u.port == 0 || u.path[0] != '/' ||
		    strspn(u.host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:") !=
		        strlen(u.host))
			abort();
		char *printed = malloc(strlen(u.host) + strlen(u.path) + 32);
		if (!printed)
			abort();
		sprintf(printed, strchr(u.host, ':') ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
		        u.tls ? "wss" : "ws", u.host, (unsigned)u.port, u.path);
		if (ns_ws_parse_url(printed, &again) != 0 || memcmp(&u, &again, sizeof u) != 0)
			abort();
		free(printed);
	}
	free(text);
	return 0;
}
