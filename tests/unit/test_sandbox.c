/* Seccomp sandboxes (common/sandbox.h): each case forks a child that applies a role's
 * filter and then does one thing; the parent checks how the child ended. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netdb.h>

#include <ev.h>
#include <seccomp.h>

#include "crypto.h"
#include "ipc.h"
#include "sandbox.h"
#include "unit/util.h"

#define EXIT_APPLY_FAILED 90
#define EXIT_UNEXPECTED   91

/* Resources created before the filter, as a real process does. */
static int ipc_sv[2] = { -1, -1 };
static int listen_fd = -1;
static struct ev_loop *child_loop;
static char stderr_text[1024];

/* Runs body in a child under role's filter; returns the wait status. With capture, the
 * child's stderr is collected into stderr_text. */
static int run_child(enum ns_sandbox_role role, int debug, void (*body)(void), int capture)
{
	int pipefd[2] = { -1, -1 };
	if (capture)
		assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (capture) {
			dup2(pipefd[1], STDERR_FILENO);
			close(pipefd[0]);
			close(pipefd[1]);
		}
		alarm(20); /* a body that blocks fails the test (SIGALRM) instead of hanging it */
		if (ns_sandbox_apply(role, debug) != 0)
			_exit(EXIT_APPLY_FAILED);
		body();
		_exit(0);
	}
	memset(stderr_text, 0, sizeof stderr_text);
	if (capture) {
		close(pipefd[1]);
		size_t got = 0;
		ssize_t n;
		while (got < sizeof stderr_text - 1 &&
		       (n = read(pipefd[0], stderr_text + got, sizeof stderr_text - 1 - got)) > 0)
			got += (size_t)n;
		close(pipefd[0]);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* netd without Landlock (NS_SB_NO_FILES): openat fails with EACCES, the process lives. */
static void test_netd_no_files(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		if (ns_sandbox_apply_flags(NS_SANDBOX_NETD, 0, NS_SB_NO_FILES) != 0)
			_exit(EXIT_APPLY_FAILED);
		int fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
		_exit(fd < 0 && errno == EACCES ? 0 : EXIT_UNEXPECTED);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* apid has no unlink any more: the supervisor removes its sockets. */
static void test_apid_no_unlink(void **state)
{
	(void)state;
	size_t n;
	const struct ns_sandbox_rule *r = ns_sandbox_layer_rules(NS_SB_LAYER_API, &n);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(r[i].syscall, "unlink");
}

static void assert_killed_by_sigsys(int status)
{
	if (!WIFSIGNALED(status))
		fail_msg("child not killed: exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void assert_exit_ok(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- bodies */

static void do_socket_inet(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	_exit(fd >= 0 ? 0 : EXIT_UNEXPECTED);
}

static void do_socket_inet6_udp(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	_exit(fd >= 0 ? 0 : EXIT_UNEXPECTED);
}

static void do_socket_packet(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	_exit(EXIT_UNEXPECTED);
}

static void do_socket_netlink(void)
{
	socket(AF_NETLINK, SOCK_RAW, 0);
	_exit(EXIT_UNEXPECTED);
}

static void do_open_read(void)
{
	int fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
	_exit(fd >= 0 || errno == ENOENT ? 0 : EXIT_UNEXPECTED);
}

static void do_open_write(void)
{
	open("/tmp/ns-sandbox-test-never-created", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	_exit(EXIT_UNEXPECTED);
}

static void do_execve(void)
{
	char *const argv[] = { (char *)"true", NULL };
	char *const envp[] = { NULL };
	execve("/bin/true", argv, envp);
	_exit(EXIT_UNEXPECTED);
}

static void do_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	_exit(EXIT_UNEXPECTED);
}

static void do_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(EXIT_UNEXPECTED);
}

static void do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(EXIT_UNEXPECTED + 1);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	_exit(EXIT_UNEXPECTED);
}

static void do_connect_loopback(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(1),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	_exit(fd >= 0 && (rc == 0 || errno == ECONNREFUSED) ? 0 : EXIT_UNEXPECTED);
}

/* glibc's resolver through /etc/hosts (no network needed) */
static void do_resolve_localhost(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int rc = getaddrinfo("localhost", "80", &hints, &ai);
	_exit(rc == 0 && ai ? 0 : EXIT_UNEXPECTED);
}

static void do_accept_nonblocking(void)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	_exit(fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : EXIT_UNEXPECTED);
}

static void do_abort(void)
{
	abort();
}

static void timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ALL);
}

/* What keyd does all day: randomness, memory, time, libev, IPC on its socketpair. */
static void do_keyd_work(void)
{
	uint8_t key[32];
	ns_random(key, sizeof key);
	size_t big = 4u << 20;
	uint8_t *mem = malloc(big); /* mmap */
	if (!mem)
		_exit(EXIT_UNEXPECTED + 1);
	memset(mem, 0x5a, big);
	mem = realloc(mem, 2 * big);
	free(mem);
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		_exit(EXIT_UNEXPECTED + 2);
	int fired = 0;
	ev_timer t;
	ev_timer_init(&t, timer_fired, 0.001, 0.);
	t.data = &fired;
	ev_timer_start(child_loop, &t);
	ev_run(child_loop, 0);
	if (!fired)
		_exit(EXIT_UNEXPECTED + 3);
	static const uint8_t fid[5] = { 9, 8, 7, 6, 5 };
	struct ns_ipc_msg m = { .type = NS_IPC_T_ACK, .u.ACK = { { fid, 5 } } }, got;
	static uint8_t buf[NS_IPC_MAX_DATAGRAM];
	if (ns_ipc_send(ipc_sv[0], NS_IPC_KEYD, NS_IPC_APID, &m) != 0 ||
	    ns_ipc_recv(ipc_sv[1], NS_IPC_APID, NS_IPC_KEYD, buf, sizeof buf, &got, 0) != 0 ||
	    memcmp(got.u.ACK.frag_id.ptr, fid, 5) != 0)
		_exit(EXIT_UNEXPECTED + 4);
	close(ipc_sv[0]);
	ns_memzero(key, sizeof key);
	fprintf(stderr, "keyd body done\n");
	_exit(0);
}

static void do_socket_expect_enosys(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	_exit(fd < 0 && errno == ENOSYS ? 0 : EXIT_UNEXPECTED);
}

/* ---- tests */

static int setup_resources(void **state)
{
	(void)state;
	assert_int_equal(ns_ipc_socketpair(ipc_sv), 0);
	child_loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(child_loop);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "ns-sandbox-test-%d", (int)getpid());
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof sa), 0); /* abstract */
	assert_int_equal(listen(listen_fd, 4), 0);
	return 0;
}

static int teardown_resources(void **state)
{
	(void)state;
	close(ipc_sv[0]);
	close(ipc_sv[1]);
	close(listen_fd);
	ev_loop_destroy(child_loop);
	return 0;
}

static void test_keyd_socket_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_socket_inet, 0));
}

static void test_keyd_within_table_exits_0(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_KEYD, 0, do_keyd_work, 1));
	assert_string_equal(stderr_text, "keyd body done\n");
}

static void test_keyd_open_exec_fork_killed(void **state)
{
	(void)state;
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_open_read, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_execve, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_fork, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_mmap_exec, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_mprotect_exec, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_connect_loopback, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_accept_nonblocking, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_KEYD, 0, do_resolve_localhost, 0));
}

static void test_keyd_abort_is_sigabrt(void **state)
{
	(void)state;
	int status = run_child(NS_SANDBOX_KEYD, 0, do_abort, 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT); /* tgkill to itself is allowed */
}

static void test_netd(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_socket_inet, 0));
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_socket_inet6_udp, 0));
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_connect_loopback, 0));
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_open_read, 0));
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_resolve_localhost, 0));
	assert_exit_ok(run_child(NS_SANDBOX_NETD, 0, do_keyd_work, 1));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_execve, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_fork, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_socket_packet, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_socket_netlink, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_open_write, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_mmap_exec, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_NETD, 0, do_accept_nonblocking, 0));
}

static void test_apid(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_APID, 0, do_accept_nonblocking, 0));
	assert_exit_ok(run_child(NS_SANDBOX_APID, 0, do_keyd_work, 1));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_APID, 0, do_socket_inet, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_APID, 0, do_connect_loopback, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_APID, 0, do_open_read, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_APID, 0, do_execve, 0));
}

/* socksd: apid's table for now (accepts, never connects or opens). */
static void test_socksd(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_SOCKSD, 0, do_accept_nonblocking, 0));
	assert_exit_ok(run_child(NS_SANDBOX_SOCKSD, 0, do_keyd_work, 1));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_SOCKSD, 0, do_socket_inet, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_SOCKSD, 0, do_connect_loopback, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_SOCKSD, 0, do_open_read, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_SOCKSD, 0, do_execve, 0));
}

/* exitd: outbound TCP and name resolution, its admin socket; no file writes, no exec. */
static void test_exitd(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_socket_inet, 0));
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_socket_inet6_udp, 0));
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_connect_loopback, 0));
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_resolve_localhost, 0));
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_accept_nonblocking, 0));
	assert_exit_ok(run_child(NS_SANDBOX_EXITD, 0, do_keyd_work, 1));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_open_write, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_execve, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_fork, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_socket_packet, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_socket_netlink, 0));
	assert_killed_by_sigsys(run_child(NS_SANDBOX_EXITD, 0, do_mmap_exec, 0));
}

static void test_debug_names_syscall(void **state)
{
	(void)state;
	assert_exit_ok(run_child(NS_SANDBOX_KEYD, 1, do_socket_expect_enosys, 1));
	char want[64];
	snprintf(want, sizeof want, "sandbox: blocked syscall socket (%d)\n", SCMP_SYS(socket));
	assert_string_equal(stderr_text, want);
}

static void test_bad_role(void **state)
{
	(void)state;
	assert_int_equal(ns_sandbox_apply((enum ns_sandbox_role)7, 0), -EINVAL);
}

static int table_has(enum ns_sandbox_role role, const char *name)
{
	for (int l = 0; l < NS_SB_LAYER_COUNT; l++) {
		if (!ns_sandbox_role_has_layer(role, (enum ns_sandbox_layer)l))
			continue;
		size_t n;
		const struct ns_sandbox_rule *r = ns_sandbox_layer_rules((enum ns_sandbox_layer)l, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(r[i].syscall, name) == 0)
				return 1;
	}
	return 0;
}

static void test_tables(void **state)
{
	(void)state;
	static const char *const never_keyd[] = { "socket", "connect", "open", "openat", "openat2",
		"execve", "execveat", "clone", "clone3", "fork", "vfork", "ptrace", "bind", "listen",
		"accept4", "unlink", "process_vm_readv", "pkey_mprotect", "memfd_create" };
	for (size_t i = 0; i < sizeof never_keyd / sizeof never_keyd[0]; i++)
		assert_false(table_has(NS_SANDBOX_KEYD, never_keyd[i]));
	static const char *const never_any[] = { "execve", "execveat", "clone3", "fork",
		"vfork", "ptrace", "bind", "listen", "pkey_mprotect", "process_vm_readv", "mount",
		"setuid", "memfd_create" };
	for (int role = 0; role < NS_SANDBOX_ROLE_COUNT; role++)
		for (size_t i = 0; i < sizeof never_any / sizeof never_any[0]; i++)
			assert_false(table_has((enum ns_sandbox_role)role, never_any[i]));
	/* clone: exitd's resolver thread only, and only with the flags of a thread */
	for (int role = 0; role < NS_SANDBOX_ROLE_COUNT; role++)
		assert_int_equal(table_has((enum ns_sandbox_role)role, "clone"), role == NS_SANDBOX_EXITD);
	size_t nt;
	const struct ns_sandbox_rule *tr = ns_sandbox_layer_rules(NS_SB_LAYER_THREAD, &nt);
	for (size_t i = 0; i < nt; i++)
		if (!strcmp(tr[i].syscall, "clone")) {
			assert_int_equal(tr[i].op, NS_SB_MASKED_EQ);
			assert_int_equal(tr[i].arg, 0);
			assert_true(tr[i].mask & CLONE_THREAD);
			assert_true(tr[i].value & CLONE_THREAD);
		}
	assert_true(table_has(NS_SANDBOX_EXITD, "connect"));
	assert_false(table_has(NS_SANDBOX_EXITD, "execve"));
	assert_true(table_has(NS_SANDBOX_NETD, "socket"));
	assert_true(table_has(NS_SANDBOX_APID, "accept4"));
	assert_false(table_has(NS_SANDBOX_APID, "socket"));
	assert_false(table_has(NS_SANDBOX_APID, "connect"));
	for (int l = 0; l < NS_SB_LAYER_COUNT; l++) {
		size_t n;
		const struct ns_sandbox_rule *r = ns_sandbox_layer_rules((enum ns_sandbox_layer)l, &n);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++) {
			assert_true(r[i].why && strlen(r[i].why) > 5);
#if defined(__x86_64__)
			assert_true(seccomp_syscall_resolve_name(r[i].syscall) != __NR_SCMP_ERROR);
#endif
		}
	}
	assert_string_equal(ns_sandbox_role_name(NS_SANDBOX_NETD), "netd");
}

int main(void)
{
	ns_crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_bad_role),
		cmocka_unit_test(test_keyd_socket_killed),
		cmocka_unit_test(test_keyd_within_table_exits_0),
		cmocka_unit_test(test_keyd_open_exec_fork_killed),
		cmocka_unit_test(test_keyd_abort_is_sigabrt),
		cmocka_unit_test(test_netd),
		cmocka_unit_test(test_apid),
		cmocka_unit_test(test_socksd),
		cmocka_unit_test(test_exitd),
		cmocka_unit_test(test_netd_no_files),
		cmocka_unit_test(test_apid_no_unlink),
		cmocka_unit_test(test_debug_names_syscall),
	};
	return cmocka_run_group_tests(tests, setup_resources, teardown_resources);
}
