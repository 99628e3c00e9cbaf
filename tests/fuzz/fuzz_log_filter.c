/* The RUST_LOG filter (common/log.c): any bytes as the spec, for a role and for none. The
 * level is always one of ours; the list of ignored parts is NUL-terminated within its buffer
 * without overrun; a bare level gives that level. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *spec, const char *role)
{
	char bad[48];
	memset(bad, 0x5a, sizeof bad);
	int level = ns_log_filter_level(spec, "nym-client", role, NS_LOG_INFO, bad, sizeof bad);
	if (level < NS_LOG_OFF || level > NS_LOG_TRACE || !memchr(bad, 0, sizeof bad))
		abort();
	/* the same answer without the list; a bare level alone is that level */
	if (ns_log_filter_level(spec, "nym-client", role, NS_LOG_INFO, NULL, 0) != level)
		abort();
	int bare = ns_log_level_parse(spec, strlen(spec));
	if (bare >= 0 && spec[0] && level != bare)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = 0;
	check(spec, "netd");
	check(spec, NULL);
	ns_log_level_parse(spec, strlen(spec));
	free(spec);
	return 0;
}
