/* nymctl: asks a running client (nym-client, nym-socks5-client or nym-network-requester) for
 * its state through the admin socket.
 *   nymctl --id NAME [--kind client|socks5|nr] [--home DIR]
 *          status|address|gateway|topology|stats [--json]
 * Without --kind, the id is looked up in the three config folders (clients/,
 * socks5-clients/, service-providers/network-requester/); an id found in more than one needs
 * --kind. The socket path comes from that config.toml ([nymsuite] admin_socket, else
 * data/nymctl.sock); --home (or $NYM_HOME_DIR) replaces $HOME as for the clients. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clientconf.h"
#include "clientlocal.h"
#include "unixsock.h"

#define ANSWER_TIMEOUT_MS 10000

struct args {
	const char *id, *home, *cmd;
	int kind; /* an enum clientconf_kind, or -1: look in every kind's folder */
	int json;
};

static const char *const KIND_NAME[] = { [CC_KIND_CLIENT] = "client",
	                                 [CC_KIND_SOCKS5] = "socks5",
	                                 [CC_KIND_NR] = "nr" };
#define N_KINDS (sizeof KIND_NAME / sizeof KIND_NAME[0])

static int kind_from_name(const char *name)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (!strcmp(name, KIND_NAME[k]))
			return (int)k;
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: nymctl --id NAME [--kind client|socks5|nr] [--home DIR]\n"
	                "              status|address|gateway|topology|stats [--json]\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->kind = -1;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--json"))
			a->json = 1;
		else if (!strcmp(o, "--kind") && i + 1 < argc) {
			if ((a->kind = kind_from_name(argv[++i])) < 0)
				return -1;
		}
		else if (!strcmp(o, "--id") && i + 1 < argc)
			a->id = argv[++i];
		else if (!strcmp(o, "--home") && i + 1 < argc)
			a->home = argv[++i];
		else if (o[0] != '-' && !a->cmd && ns_admin_cmd_from_name(o) >= 0)
			a->cmd = o;
		else
			return -1;
	}
	return a->id && a->cmd ? 0 : -1;
}

/* The kind whose folder holds id (only a->kind's if given): 0 with its dirs, or -1 printed. */
static int find_kind(const struct args *a, enum clientconf_kind *kind, struct clientconf_dirs *d)
{
	int found = 0;
	const char *looked = "the clients, socks5-clients and network-requester folders";
	for (size_t k = 0; k < N_KINDS; k++) {
		struct clientconf_dirs dk;
		if (a->kind >= 0 && (int)k != a->kind)
			continue;
		if (clientconf_dirs_kind((enum clientconf_kind)k, a->home, a->id, &dk) < 0) {
			fprintf(stderr, "nymctl: bad id \"%s\" or no home directory\n", a->id);
			return -1;
		}
		if (!clientconf_is_initialised(&dk)) {
			if (a->kind >= 0)
				looked = strcpy(d->base, dk.base);
			continue;
		}
		if (found++ == 0) {
			*kind = (enum clientconf_kind)k;
			*d = dk;
		}
	}
	if (found > 1) {
		fprintf(stderr, "nymctl: \"%s\" is the id of more than one kind of client; "
		                "name one with --kind client|socks5|nr\n", a->id);
		return -1;
	}
	if (!found)
		fprintf(stderr, "nymctl: no client \"%s\" (looked in %s)\n", a->id, looked);
	return found ? 0 : -1;
}

/* The admin socket of client id, or -1 with the reason printed. */
static int admin_path(const struct args *a, char *path, size_t cap)
{
	static struct clientconf c;
	struct clientconf_dirs d;
	enum clientconf_kind kind = CC_KIND_CLIENT;
	char err[CLIENTCONF_ERR_MAX] = "";
	if (find_kind(a, &kind, &d) < 0)
		return -1;
	if (clientconf_load_kind(kind, d.config_file, &c, err) < 0) {
		fprintf(stderr, "nymctl: %s: %s\n", d.config_file, err);
		return -1;
	}
	if (clientconf_admin_path(&c, &d, path, cap) < 0) {
		fprintf(stderr, "nymctl: the admin socket path is too long\n");
		return -1;
	}
	return 0;
}

static int connect_admin(const char *id, const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ns_unix_connect(fd, path) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e == ENOENT || e == ECONNREFUSED)
		fprintf(stderr, "nymctl: client \"%s\" is not running (nothing listens on %s)\n", id,
		        path);
	else
		fprintf(stderr, "nymctl: cannot connect to %s: %s\n", path, strerror(e));
	return -1;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* One response line (without the newline) into buf; its length or -1 with the reason printed. */
static long read_line(int fd, char *buf, size_t cap)
{
	struct timespec deadline;
	size_t have = 0;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ANSWER_TIMEOUT_MS / 1000;
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl)
			return nl - buf;
		if (have == cap) {
			fprintf(stderr, "nymctl: the answer is longer than %zu bytes\n", cap);
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = ms_left(&deadline);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "nymctl: no answer from the client within %d s\n",
			        ANSWER_TIMEOUT_MS / 1000);
			return -1;
		}
		ssize_t n = read(fd, buf + have, cap - have);
		if (n <= 0) {
			fprintf(stderr, "nymctl: the client closed the connection without an answer\n");
			return -1;
		}
		have += (size_t)n;
	}
}

/* Prints the answer; 0, or 1 when the client answered with an error. */
static int show(const char *line, size_t len, int json)
{
	char err[128];
	if (strstr(line, "\"error\"") && !strstr(line, "\"cmd\"")) {
		fprintf(stderr, "nymctl: the client refused the request: %.*s\n", (int)len, line);
		return 1;
	}
	if (json) {
		printf("%.*s\n", (int)len, line);
		return 0;
	}
	char *text = ns_admin_format_human(line, len, err, sizeof err);
	if (!text) {
		fprintf(stderr, "nymctl: %s\n", err);
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	char path[CLIENTCONF_PATH_MAX], req[64];
	static char answer[NS_ADMIN_REPLY_MAX];
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	if (admin_path(&a, path, sizeof path) < 0)
		return 1;
	int fd = connect_admin(a.id, path);
	if (fd < 0)
		return 1;
	int n = snprintf(req, sizeof req, "{\"cmd\":\"%s\"}\n", a.cmd);
	if (send_all(fd, req, (size_t)n) < 0) {
		fprintf(stderr, "nymctl: cannot send to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	long len = read_line(fd, answer, sizeof answer);
	close(fd);
	if (len < 0)
		return 1;
	return show(answer, (size_t)len, a.json);
}
