/* The localnet's network requester (netreq.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clientconf.h"
#include "netreq.h"
#include "safefile.h"
#include "unixsock.h"

#define ADDRESS_PREFIX "The address of this client is: "
#define ADMIN_WAIT_MS 3000

static const char policy_text[] =
	"# the localnet's network requester: loopback only, named explicitly (the special-address\n"
	"# guard refuses loopback unless a rule names it)\n"
	"ExitPolicy accept 127.0.0.1:*\n"
	"ExitPolicy reject *:*\n";

int ln_nr_write_policy(const char *dir)
{
	char path[4096], err[NS_SF_ERR_MAX];
	snprintf(path, sizeof path, "%s/exit-policy.txt", dir);
	return ns_sf_write_replace(path, policy_text, sizeof policy_text - 1, 0644, err, sizeof err);
}

void ln_nr_home(const char *dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/nr", dir);
}

static int nr_dirs(const char *dir, struct clientconf_dirs *d)
{
	char home[4096];
	ln_nr_home(dir, home, sizeof home);
	return clientconf_dirs_kind(CC_KIND_NR, home, LN_NR_ID, d);
}

/* `nym-network-requester init`, its output in DIR/logs/network-requester-init.log */
static int run_init(const char *binary, const char *dir, uint16_t port, const char *gateway_id)
{
	char home[4096], api[64], log[4096];
	ln_nr_home(dir, home, sizeof home);
	snprintf(api, sizeof api, "http://127.0.0.1:%u", (unsigned)port);
	snprintf(log, sizeof log, "%s/logs/%s-init.log", dir, LN_NR_NAME);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execl(binary, binary, "init", "--id", LN_NR_ID, "--home", home, "--nym-apis", api,
		      "--gateway", gateway_id, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int ln_nr_init(const char *binary, const char *dir, uint16_t directory_port,
               const char *gateway_id, char *err, size_t errcap)
{
	struct clientconf_dirs d;
	struct clientconf *c = calloc(1, sizeof *c);
	char why[CLIENTCONF_ERR_MAX];
	int rc = -1;
	if (!c || nr_dirs(dir, &d) < 0) {
		snprintf(err, errcap, "no memory or path too long");
		free(c);
		return -1;
	}
	if (!clientconf_is_initialised(&d) && run_init(binary, dir, directory_port, gateway_id) < 0)
		snprintf(err, errcap, "nym-network-requester init failed (see logs/%s-init.log)",
		         LN_NR_NAME);
	else if (clientconf_load_kind(CC_KIND_NR, d.config_file, c, why) < 0)
		snprintf(err, errcap, "%s: %s", d.config_file, why);
	else
		rc = 0;
	if (rc == 0) {
		snprintf(c->nr.upstream_exit_policy_url, sizeof c->nr.upstream_exit_policy_url,
		         "http://127.0.0.1:%u/exit-policy.txt", (unsigned)directory_port);
		if ((rc = clientconf_save(d.config_file, c)) < 0)
			snprintf(err, errcap, "cannot write %s", d.config_file);
	}
	free(c);
	return rc;
}

int ln_nr_address(const char *dir, char *out, size_t cap)
{
	char path[4096], line[1024];
	snprintf(path, sizeof path, "%s/logs/%s.log", dir, LN_NR_NAME);
	FILE *f = fopen(path, "r");
	int found = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *p = strstr(line, ADDRESS_PREFIX);
		if (!p)
			continue;
		p += strlen(ADDRESS_PREFIX);
		p[strcspn(p, "\r\n")] = 0;
		snprintf(out, cap, "%s", p);
		found = 0;
	}
	fclose(f);
	return found;
}

/* One request line, one answer line (at most cap - 1 bytes). */
static int admin_ask(const char *path, const char *request, char *answer, size_t cap)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ns_unix_connect(fd, path) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t have = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (have + 1 < cap && !memchr(answer, '\n', have) && poll(&p, 1, ADMIN_WAIT_MS) == 1) {
		ssize_t n = read(fd, answer + have, cap - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	answer[have] = 0;
	return memchr(answer, '\n', have) ? 0 : -1;
}

/* exitd's numbers as name=value words */
static int flatten(const char *json, char *out, size_t cap)
{
	cJSON *j = cJSON_Parse(json), *part = cJSON_GetObjectItemCaseSensitive(j, "exitd"), *v;
	size_t at = 0;
	out[0] = 0;
	cJSON_ArrayForEach(v, part)
		if (cJSON_IsNumber(v) && at < cap)
			at += (size_t)snprintf(out + at, cap - at, "%s%s=%.0f", at ? " " : "", v->string,
			                       v->valuedouble);
	int rc = part ? 0 : -1;
	cJSON_Delete(j);
	return rc;
}

int ln_nr_stats(const char *dir, char *out, size_t cap)
{
	struct clientconf_dirs d;
	struct clientconf *c = calloc(1, sizeof *c);
	char why[CLIENTCONF_ERR_MAX], path[CLIENTCONF_PATH_MAX], answer[8192];
	int rc = -1;
	if (c && nr_dirs(dir, &d) == 0 && clientconf_load_kind(CC_KIND_NR, d.config_file, c, why) == 0 &&
	    clientconf_admin_path(c, &d, path, sizeof path) == 0 &&
	    admin_ask(path, "{\"cmd\":\"stats\"}\n", answer, sizeof answer) == 0)
		rc = flatten(answer, out, cap);
	free(c);
	return rc;
}
