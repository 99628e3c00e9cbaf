/* Admin protocol parsers. The input is one request line for ns_admin_parse_request and an
 * answer for ns_admin_format_human / ns_admin_is_flat_object. Properties:
 *  - a request is accepted only if it names a known command, and then the canonical line
 *    {"cmd":"<name>"} parses to the same command (round trip);
 *  - an accepted request contains no NUL and is shorter than the line limit;
 *  - the human rendering of any JSON object is "key: value" lines, each ending with a
 *    newline, with no control characters (alignment: test_local_admin). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientlocal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *line, size_t len)
{
	enum ns_admin_cmd cmd, again;
	char err[128], canon[64];
	if (ns_admin_parse_request(line, len, &cmd, err, sizeof err) < 0) {
		if (!err[0])
			abort();
		return;
	}
	if ((unsigned)cmd >= NS_ADMIN_CMD_COUNT || len >= NS_ADMIN_LINE_MAX || memchr(line, 0, len))
		abort();
	int n = snprintf(canon, sizeof canon, "{\"cmd\":\"%s\"}", ns_admin_cmd_name(cmd));
	if (ns_admin_parse_request(canon, (size_t)n, &again, err, sizeof err) < 0 || again != cmd)
		abort();
}

static void check_human(const char *text, size_t len)
{
	char err[128];
	(void)ns_admin_is_flat_object(text, len);
	char *h = ns_admin_format_human(text, len, err, sizeof err);
	if (!h)
		return;
	for (char *line = h, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			abort(); /* every line ends with a newline */
		for (char *p = line; p < nl; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		char *colon = strstr(line, ": ");
		if (!colon || colon > nl)
			abort();
	}
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request((const char *)data, size);
	check_human((const char *)data, size);
	return 0;
}
