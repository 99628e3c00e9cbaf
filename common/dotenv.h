/* A dotenv file (the -c/--config-env-file of Nym's binaries, read by the dotenvy crate):
 * KEY=VALUE lines, `#` comments and blank lines, an optional `export ` prefix, values bare
 * (trailing blanks and a ` #` comment dropped), in single quotes (literal) or in double quotes
 * (\n \t \" \\ \$ escapes). No variable substitution. Bounded: NS_DOTENV_MAX_INPUT bytes,
 * keys of [A-Za-z_][A-Za-z0-9_.]* up to 255 bytes, values up to NS_DOTENV_MAX_VALUE. */
#ifndef NS_DOTENV_H
#define NS_DOTENV_H
#include <stddef.h>

#define NS_DOTENV_MAX_INPUT (64u << 10)
#define NS_DOTENV_MAX_KEY 255
#define NS_DOTENV_MAX_VALUE 4095

/* Calls cb for every pair in order (key and value NUL-terminated, valid during the call);
 * cb returns 0 to go on, else parsing stops with that value. 0, cb's value, or -1 with
 * "line N: reason" in err. */
int ns_dotenv_parse(const char *text, size_t len,
                    int (*cb)(void *ctx, const char *key, const char *value), void *ctx,
                    char *err, size_t errcap);

#endif
