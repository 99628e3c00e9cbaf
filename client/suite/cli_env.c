/* The environment rules of Nym's binaries (network-defaults env_setup.rs, mainnet.rs and
 * config helpers.rs at b4046a89): a variable set by the mainnet defaults is marked as such
 * and never overrides a config; anything else in the environment, once CONFIGURED is set,
 * does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_table.h"
#include "dotenv.h"
#include "safefile.h"

static const struct {
	const char *name, *value;
} mainnet[] = {
	{ "CONFIGURED", "true" },
	{ "NYM_API", "https://validator.nymtech.net/api/" },
	{ "NYXD", "https://rpc.nymtech.net" },
};
#define N_MAINNET (sizeof mainnet / sizeof *mainnet)

static int defaulted[N_MAINNET];

static void set_default(size_t i, int only_if_unset)
{
	if (only_if_unset && getenv(mainnet[i].name))
		return;
	setenv(mainnet[i].name, mainnet[i].value, 1);
	defaulted[i] = 1;
}

static void fix_deprecated(void)
{
	const char *nyxd = getenv("NYMD_VALIDATOR"), *api = getenv("API_VALIDATOR");
	if (nyxd && !getenv("NYXD"))
		setenv("NYXD", nyxd, 1);
	if (api && !getenv("NYM_API"))
		setenv("NYM_API", api, 1);
}

static int load_one(void *ctx, const char *key, const char *value)
{
	(void)ctx;
	if (!getenv(key))
		setenv(key, value, 1);
	return 0;
}

static int load_file(const char *path, char *err, size_t errcap)
{
	char why[128] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errcap, "Invalid path to environment configuration file: %s: %s", path,
		         strerror(errno));
		return -1;
	}
	static char text[NS_DOTENV_MAX_INPUT + 1];
	ssize_t len = read(fd, text, sizeof text);
	close(fd);
	if (len < 0 || (size_t)len > NS_DOTENV_MAX_INPUT) {
		snprintf(err, errcap, "Invalid path to environment configuration file: %s: %s", path,
		         len < 0 ? strerror(errno) : "larger than 64 KiB");
		return -1;
	}
	if (ns_dotenv_parse(text, (size_t)len, load_one, NULL, why, sizeof why) != 0) {
		snprintf(err, errcap, "Invalid item in environment configuration file %s: %s", path,
		         why);
		return -1;
	}
	return 0;
}

int nc_env_setup(const char *env_file, char *err, size_t errcap)
{
	if (!getenv("CONFIGURED")) {
		if (env_file) {
			if (load_file(env_file, err, errcap) < 0)
				return -1;
			fix_deprecated();
		} else {
			for (size_t i = 0; i < N_MAINNET; i++)
				set_default(i, 0);
		}
	} else {
		fix_deprecated();
	}
	for (size_t i = 0; i < N_MAINNET; i++)
		set_default(i, 1);
	return 0;
}

const char *nc_env_override(const char *name)
{
	for (size_t i = 0; i < N_MAINNET; i++)
		if (!strcmp(mainnet[i].name, name) && defaulted[i])
			return NULL;
	return getenv(name);
}
