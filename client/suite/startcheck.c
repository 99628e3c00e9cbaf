/* What `run` checks before it starts a child, as OpenSSH checks its keys and folders
 * (docs/sandbox.md): a refusal names the file and the reason; a warning starts anyway. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nymclient.h"
#include "privsep.h"
#include "safefile.h"

static int check_dirs(const struct clientconf_dirs *d)
{
	const char *dirs[] = { d->data_dir, d->config_dir };
	char err[NS_SF_ERR_MAX], warn[NS_SF_ERR_MAX];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (ns_sf_check_dir(dirs[i], err, sizeof err, warn, sizeof warn) < 0) {
			fprintf(stderr, "%s: refusing to run: %s\n", nc_kind->program, err);
			return -1;
		}
		if (warn[0])
			fprintf(stderr, "%s: warning: %s\n", nc_kind->program, warn);
	}
	return 0;
}

/* Each key file opened as keyd will open it (regular file; the private ones owned by us or
 * root, mode without group/other bits), then closed: keyd reads them itself. */
static int check_keys(const struct clientconf *c)
{
	static const enum clientconf_key keys[] = { CC_KEY_PRIVATE_IDENTITY, CC_KEY_PUBLIC_IDENTITY,
		CC_KEY_PRIVATE_ENCRYPTION, CC_KEY_PUBLIC_ENCRYPTION, CC_KEY_ACK };
	char err[NS_SF_ERR_MAX];
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		unsigned flags = clientconf_key_is_private(keys[i]) ? NS_SF_PRIVATE : 0;
		int fd = ns_sf_open_read(clientconf_key_path(c, keys[i]), flags, err, sizeof err);
		if (fd < 0) {
			fprintf(stderr, "%s: refusing to run: %s\n", nc_kind->program, err);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static void check_listen(const struct clientconf *c)
{
	if (!c->socket_websocket || is_loopback(c->host))
		return;
	if (!strcmp(c->host, "0.0.0.0") || !strcmp(c->host, "::"))
		fprintf(stderr, "%s: warning: the websocket API (host = \"%s\") is listening on "
		        "every interface: any host that can reach this one can use the client\n",
		        nc_kind->program, c->host);
	else
		fprintf(stderr, "%s: warning: the websocket API (host = \"%s\") is not on "
		        "loopback: other hosts may reach it\n", nc_kind->program, c->host);
}

int nc_start_checks(const struct nc_setup *s)
{
	char err[256];
	if (check_dirs(&s->dirs) < 0 || check_keys(&s->conf) < 0)
		return -1;
	if (geteuid() == 0 && ns_privsep_check_ids(nc_uid_base(&s->conf), err, sizeof err) < 0) {
		fprintf(stderr, "%s: refusing to run as root: %s\n", nc_kind->program, err);
		return -1;
	}
	check_listen(&s->conf);
	return 0;
}

void nc_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	nc_log("supervisor", "descriptor limit %llu", (unsigned long long)rl.rlim_cur);
}
