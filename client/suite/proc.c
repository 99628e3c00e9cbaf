/* Process helpers: start a role in a fresh process image, close the descriptors it must not
 * keep, log lines.
 *
 * A role is started by fork + exec of our own binary (/proc/self/exe), not by fork alone: each
 * child gets its own address-space layout (ASLR), so a compromised netd or front learns nothing
 * about where keyd keeps its keys, and nothing of the supervisor's memory survives. The
 * setup (public configuration and the socketpair numbers) travels in a sealed memfd whose
 * number is on the command line: `PROGRAM --child ROLE FD` (the process title
 * `PROGRAM[ROLE]`). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc.h"
#include "nymclient.h"
#include "privsep.h"
#include "unixsock.h"
#include "safefile.h"

#define SETUP_MAGIC UINT64_C(0x6e796d7375697465) /* "nymsuite" */

struct setup_blob {
	uint64_t magic, size;
	struct nc_setup setup;
};

/* In the forked child: the setup into a memfd, the socketpairs made inheritable, exec. */
static void exec_role(const char *role, const struct nc_setup *s)
{
	static struct setup_blob blob;
	blob.magic = SETUP_MAGIC;
	blob.size = sizeof blob.setup;
	blob.setup = *s;
	nc_log_for_child(role, &blob.setup);
	int fd = memfd_create("nymsuite-setup", MFD_ALLOW_SEALING);
	if (fd < 0 || ns_sf_write_all(fd, &blob, sizeof blob) < 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		nc_error(role, "cannot pass the setup: %s", strerror(errno));
		_exit(126);
	}
	for (int i = 0; i < NC_PAIRS; i++)
		for (int j = 0; j < 2; j++)
			if (s->fds[i][j] >= 0)
				fcntl(s->fds[i][j], F_SETFD, 0);
	char name[64], fdstr[16];
	snprintf(name, sizeof name, "%s[%s]", nc_kind->program, role);
	snprintf(fdstr, sizeof fdstr, "%d", fd);
	char *argv[] = { name, "--child", (char *)role, fdstr, NULL };
	execv("/proc/self/exe", argv);
	nc_error(role, "cannot exec /proc/self/exe: %s", strerror(errno));
	_exit(127);
}

pid_t nc_spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	return pid;
}

/* The signals a terminal or `kill -- -PGID` / timeout(1) send to the whole group. */
static const int group_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

/* In the forked child: a role stops only on the supervisor's SHUTDOWN or when its socket to
 * the supervisor closes, never on a group signal (it would die before apid's unacknowledged
 * fragments are handed over). SIG_IGN survives exec. If the supervisor dies (SIGKILL), the
 * kernel kills the child too (a backstop: the child would see EOF anyway). */
static void child_signals(pid_t parent, const sigset_t *old)
{
	for (size_t i = 0; i < sizeof group_signals / sizeof group_signals[0]; i++)
		signal(group_signals[i], SIG_IGN);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(125);
	sigprocmask(SIG_SETMASK, old, NULL);
}

pid_t nc_spawn_role(const char *role, const struct nc_setup *s)
{
	sigset_t block, old;
	pid_t parent = getpid();
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof group_signals / sizeof group_signals[0]; i++)
		sigaddset(&block, group_signals[i]);
	fflush(NULL);
	/* blocked across fork: a group signal between fork and SIG_IGN must not kill the child */
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t pid = fork();
	if (pid == 0) {
		child_signals(parent, &old);
		exec_role(role, s);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return pid;
}

int nc_child_main(const char *role, const char *fdstr)
{
	static struct setup_blob blob;
	ns_log_init(nc_kind->program, role, NS_LOG_DEFAULT, 0);
	/* exec made us dumpable again: before any key is read, no process of our uid may
	 * ptrace us or read /proc/PID/mem */
	if (ns_privsep_nodump() < 0) {
		nc_error(role, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return 1;
	}
	char *end;
	long fd = strtol(fdstr, &end, 10);
	if (*end || fd < 3 || fd > 1024)
		return 2;
	size_t got = 0;
	while (got < sizeof blob) {
		ssize_t r = read((int)fd, (uint8_t *)&blob + got, sizeof blob - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close((int)fd);
	if (got != sizeof blob || blob.magic != SETUP_MAGIC || blob.size != sizeof blob.setup) {
		nc_error(role, "bad setup from the supervisor");
		return 1;
	}
	const struct { const char *name; int (*main)(void *); } roles[] = {
		{ "keyd", nc_keyd_main }, { "netd", nc_netd_main },
		{ nc_kind->front, nc_kind->front_main },
	};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (!strcmp(role, roles[i].name)) {
			/* back to close-on-exec: nothing of ours should leak into a later exec */
			for (int p = 0; p < NC_PAIRS; p++)
				for (int j = 0; j < 2; j++)
					if (blob.setup.fds[p][j] >= 0)
						fcntl(blob.setup.fds[p][j], F_SETFD, FD_CLOEXEC);
			ns_log_init(nc_kind->program, role, blob.setup.log_level,
			            blob.setup.log_output);
			return roles[i].main(&blob.setup);
		}
	nc_error(role, "unknown role");
	return 2;
}

void nc_remove_stale_socket(const char *path)
{
	struct stat st;
	if (!path[0] || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* someone else's (a second client refused to start on it): never ours to remove */
	if (ns_unix_connect(fd, path) < 0 && errno == ECONNREFUSED)
		unlink(path);
	close(fd);
}

void nc_remove_apid_sockets(const struct nc_setup *s)
{
	char admin[CLIENTCONF_PATH_MAX];
	if (s->conf.api_socket[0])
		nc_remove_stale_socket(s->conf.api_socket);
	if (clientconf_admin_path(&s->conf, &s->dirs, admin, sizeof admin) == 0)
		nc_remove_stale_socket(admin);
}

void nc_close_except(struct nc_setup *s, const int *keep, size_t n)
{
	for (int i = 0; i < NC_PAIRS; i++)
		for (int j = 0; j < 2; j++) {
			int fd = s->fds[i][j], kept = 0;
			for (size_t k = 0; k < n; k++)
				kept |= keep[k] == fd;
			if (fd >= 0 && !kept) {
				close(fd);
				s->fds[i][j] = -1;
			}
		}
}

/* A socket error that only says the peer went away (its own death is the supervisor's to
 * report): treated as an EOF, so the suite's stop cascade exits 0 everywhere. */
static int peer_gone(int rc, int err)
{
	return rc == NS_IPC_EIO && (err == EPIPE || err == ECONNRESET) ? NS_IPC_EEOF : rc;
}

void nc_send(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	int rc = ns_ipc_conn_send(c, m);
	rc = rc < 0 ? peer_gone(rc, errno) : rc;
	if (rc == NS_IPC_EEOF && c->on_fatal)
		c->on_fatal(c, rc, c->ctx);
	if (rc < 0) {
		nc_error(ns_ipc_role_name(c->self), "send %s: %s", ns_ipc_type_name(m->type),
		       ns_ipc_strerror(rc));
		if (c->on_fatal) /* the role's own last words (the front hands its queue over) */
			c->on_fatal(c, rc, c->ctx);
		fflush(NULL);
		_exit(1);
	}
}

void nc_ipc_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	err = peer_gone(err, errno);
	/* a peer gone is the stop's cascade (a death is the supervisor's to report) */
	ns_log(err == NS_IPC_EEOF ? NS_LOG_DEBUG : NS_LOG_ERROR, ns_ipc_role_name(c->self),
	       "IPC with %s failed: %s", ns_ipc_role_name(c->peer),
	       ns_ipc_strerror(err));
	/* _exit: the atexit handlers (libcurl's, LeakSanitizer's) make system calls the sandbox
	 * kills for (netd was seen dying of SIGSYS at a stop) */
	fflush(NULL);
	_exit(err == NS_IPC_EEOF ? 0 : 1);
}

void nc_log(const char *role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_logv(NS_LOG_INFO, role, fmt, ap);
	va_end(ap);
}

static int conf_log_level(const struct clientconf *conf)
{
	if (!conf || !conf->log_level[0])
		return -1;
	return ns_log_level_parse(conf->log_level, strlen(conf->log_level));
}

void nc_log_setup(const struct clientconf *conf)
{
	static int warned;
	unsigned output = ns_log_detect_output();
	/* a malformed $RUST_LOG is told by the first call only */
	int level = warned ? ns_log_filter_level(getenv(NS_LOG_ENV), nc_kind->program, "supervisor",
	                                         conf_log_level(conf) < 0 ? NS_LOG_DEFAULT
	                                                                  : conf_log_level(conf),
	                                         NULL, 0)
	                   : ns_log_level_from_env(nc_kind->program, "supervisor", conf_log_level(conf));
	warned = 1;
	ns_log_init(nc_kind->program, "supervisor", level, output);
}

void nc_log_for_child(const char *role, struct nc_setup *s)
{
	int conf = conf_log_level(&s->conf);
	s->log_level = ns_log_filter_level(getenv(NS_LOG_ENV), nc_kind->program, role,
	                                   conf < 0 ? NS_LOG_DEFAULT : conf, NULL, 0);
	s->log_output = ns_log_output();
}
