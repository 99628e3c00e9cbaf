/* libFuzzer: the TOML reader (and the node descriptor reader on top of it).
 * Property: anything accepted dumps to text that parses back to an equal document, and
 * dumping is a fixed point (dump(parse(dump(d))) == dump(d)). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodeconf.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_doc *d = toml_parse((const char *)data, size, &err);
	if (!d) {
		if (err.msg[0] == 0 || err.line < 0)
			abort(); /* every failure carries a message */
		return 0;
	}
	size_t len1, len2;
	char *text1 = toml_dump(d, &len1);
	if (!text1)
		abort();
	struct toml_doc *d2 = toml_parse(text1, len1, &err);
	if (!d2 || !toml_equal(d, d2))
		abort();
	char *text2 = toml_dump(d2, &len2);
	if (!text2 || len1 != len2 || memcmp(text1, text2, len1) != 0)
		abort();
	free(text1);
	free(text2);
	toml_free(d);
	toml_free(d2);

	struct ns_nodeconf conf;
	if (ns_nodeconf_parse((const char *)data, size, &conf, &err) == 0) {
		/* a valid descriptor survives its own writer */
		char *text = ns_nodeconf_to_toml(&conf);
		struct ns_nodeconf back;
		if (!text || ns_nodeconf_parse(text, strlen(text), &back, &err) != 0 ||
		    memcmp(&conf, &back, sizeof conf) != 0)
			abort();
		free(text);
	}
	return 0;
}
