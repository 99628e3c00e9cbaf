/* The injection probe of tests/attack/privsep_inject.sh: code run as if injected into keyd,
 * netd or the front. A hidden mode of the real binary:
 *
 *   PROGRAM --test-probe ID HOME ROLE LAYERS OP [PID]
 *
 * loads ID's configuration as `run` does, confines itself through nc_confine(), the very
 * function the role calls (same uid drop, Landlock, seccomp; LAYERS "all", or "noseccomp" to
 * test the credentials and Landlock on their own), then tries OP against the keyd of PID:
 *
 *   open-key   open(private_identity_key_file, O_RDONLY) and read it
 *   open-mem   open("/proc/PID/mem", O_RDONLY) and read where the heap is
 *   ptrace     ptrace(PTRACE_ATTACH, PID)        seize   ptrace(PTRACE_SEIZE, PID)
 *   vm-read    process_vm_readv(PID, ...)        kill    kill(PID, 0)
 *   open-write open(data_dir/probe-written, O_WRONLY | O_CREAT)
 *   open-hosts open("/etc/hosts")                open-passwd open("/etc/passwd")
 *   connect    TCP connect to 127.0.0.1:1 (a port netd never uses)
 *
 * It prints "probe ROLE OP: ok" (exit 0) or "probe ROLE OP: ERRNO-NAME" (exit 10); a call the
 * filter forbids kills it with SIGSYS. Never used by the suite itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <signal.h>
#include <unistd.h>

#include "init_register.h"
#include "nymclient.h"

static int report(const char *role, const char *op, int rc)
{
	/* stdout is a pipe or a file opened before the filter: write(2) only */
	char line[128];
	int n = snprintf(line, sizeof line, "probe %s %s: %s\n", role, op,
	                 rc >= 0 ? "ok" : strerrorname_np(errno));
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return 2;
	return rc >= 0 ? 0 : 10;
}

/* An address inside PID's heap, from /proc/PID/maps, read before confinement ("[heap]" or
 * the first writable mapping); 0x10000 if unreadable (the open is what is tested). */
static unsigned long heap_of(pid_t pid)
{
	char path[64], line[512];
	unsigned long lo = 0x10000, a, b;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &a, &b) == 2) {
			lo = a;
			break;
		}
	if (f)
		fclose(f);
	return lo;
}

static int try_op(const struct nc_setup *s, const char *op, pid_t pid, unsigned long heap)
{
	char buf[64];
	if (!strcmp(op, "open-key") || !strcmp(op, "open-hosts") || !strcmp(op, "open-passwd")) {
		const char *path = op[5] == 'k' ? s->conf.private_identity_key_file
		                   : op[5] == 'h' ? "/etc/hosts" : "/etc/passwd";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -1 : (int)read(fd, buf, sizeof buf);
	}
	if (!strcmp(op, "open-mem")) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -1 : (int)pread(fd, buf, sizeof buf, (off_t)heap);
	}
	if (!strcmp(op, "ptrace"))
		return (int)ptrace(PTRACE_ATTACH, pid, NULL, NULL);
	if (!strcmp(op, "seize"))
		return (int)ptrace(PTRACE_SEIZE, pid, NULL, NULL);
	if (!strcmp(op, "vm-read")) {
		struct iovec local = { buf, sizeof buf }, remote = { (void *)heap, sizeof buf };
		return (int)process_vm_readv(pid, &local, 1, &remote, 1, 0);
	}
	if (!strcmp(op, "kill"))
		return kill(pid, 0);
	if (!strcmp(op, "open-write")) {
		char path[CLIENTCONF_PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/probe-written", s->dirs.data_dir);
		return open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	}
	if (!strcmp(op, "connect")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		/* refused by the port's absence is not the sandbox speaking */
		return rc < 0 && errno == ECONNREFUSED ? 0 : rc;
	}
	errno = EINVAL;
	return -1;
}

int nc_probe_main(int argc, char **argv)
{
	static struct nc_setup s;
	char err[CLIENTCONF_ERR_MAX] = "";
	const char *const roles[] = { "keyd", "netd", nc_kind->front };
	if (argc < 7)
		return 2;
	const char *role = argv[4], *layers = argv[5], *op = argv[6];
	pid_t pid = argc > 7 ? (pid_t)atoi(argv[7]) : 0;
	int r = 0;
	while (r < 3 && strcmp(roles[r], role))
		r++;
	if (r == 3 || clientconf_dirs_kind(nc_kind->conf, argv[3], argv[2], &s.dirs) < 0 ||
	    clientconf_load_kind(nc_kind->conf, s.dirs.config_file, &s.conf, err) < 0 ||
	    nc_run_gateway(&s, err, sizeof err) < 0) {
		fprintf(stderr, "probe: bad role or client: %s\n", err);
		return 2;
	}
	unsigned long heap = pid > 0 ? heap_of(pid) : 0;
	unsigned flags = NC_CONFINE_QUIET | (!strcmp(layers, "noseccomp") ? NC_CONFINE_NO_SECCOMP : 0);
	fflush(NULL);
	enum ns_sandbox_role sb = r == 2 ? nc_kind->front_sandbox : (enum ns_sandbox_role)r;
	if (nc_confine(sb, &s, flags) < 0)
		return 3;
	return report(role, op, try_op(&s, op, pid, heap));
}
