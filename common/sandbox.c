/* Seccomp allowlists of keyd, netd and apid: see sandbox.h and docs/sandbox.md. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include <seccomp.h>

#define ANY(name, why)                     { name, NS_SB_ANY, 0, 0, 0, why }
#define EQ(name, arg, value, why)          { name, NS_SB_EQ, arg, 0, (uint64_t)(value), why }
#define MASKED(name, arg, mask, value, why) \
	{ name, NS_SB_MASKED_EQ, arg, (uint64_t)(mask), (uint64_t)(value), why }

/* openat flags that would write, create or truncate */
#define OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY))

/* Every process (keyd's whole table). No socket, connect, open/openat, execve, fork/clone,
 * ptrace, no mapping of executable memory. */
static const struct ns_sandbox_rule base_rules[] = {
	ANY("read", "IPC socketpairs and pre-opened files"),
	ANY("readv", "stdio / libev internals"),
	ANY("write", "IPC socketpairs, logging to stderr, libev's wake-up fd"),
	ANY("writev", "stdio writing several buffers at once"),
	ANY("recvmsg", "ns_ipc_recv: one datagram per message"),
	ANY("sendmsg", "ns_ipc_send: one datagram per message"),
	ANY("close", "closing descriptors the process already has"),
	ANY("fsync", "keyd: the reply store's image on the file opened before the sandbox"),
	ANY("getrandom", "libsodium / libgcrypt randomness (nonces, ephemeral keys, delays)"),
	MASKED("mmap", 2, PROT_EXEC, 0, "malloc of large blocks; never executable memory"),
	MASKED("mprotect", 2, PROT_EXEC, 0, "allocator guard pages; never making memory executable"),
	ANY("munmap", "free of large blocks"),
	ANY("mremap", "realloc of large blocks"),
	ANY("brk", "malloc heap"),
	ANY("madvise", "allocator returning memory to the kernel; netd dropping libcurl's "
	               "read-only pages between fetches"),
	ANY("epoll_wait", "libev epoll backend"),
	ANY("epoll_pwait", "libev epoll backend"),
	ANY("epoll_ctl", "libev starting/stopping watchers"),
	ANY("poll", "libev poll backend / fallback"),
	ANY("ppoll", "libev poll backend / fallback"),
	ANY("clock_gettime", "libev timers (when the vDSO is not used)"),
	ANY("gettimeofday", "libev ev_time (when the vDSO is not used)"),
	ANY("sysinfo", "glibc's qsort reads the memory size on its first sort over 1 KiB"),
	ANY("rt_sigreturn", "returning from signal handlers"),
	ANY("rt_sigprocmask", "libev signal handling, abort()"),
	ANY("futex", "glibc locks (stdio, malloc)"),
	ANY("getpid", "abort() and logging"),
	ANY("gettid", "abort()"),
	EQ("tgkill", 0, NS_SB_SELF_PID, "abort()/raise() to the process itself only"),
	ANY("exit", "thread exit"),
	ANY("exit_group", "process exit"),
};

/* netd: outbound connections to the gateway and nym-api (libcurl, TLS; see docs/sandbox.md for
 * why it needs no row of its own), and the DNS look-ups for them. */
static const struct ns_sandbox_rule net_rules[] = {
	EQ("socket", 0, AF_INET, "gateway websocket, nym-api HTTP(S), DNS over UDP/TCP"),
	EQ("socket", 0, AF_INET6, "the same over IPv6"),
	EQ("socket", 0, AF_UNIX, "glibc's resolver asking nscd (fails harmlessly without it)"),
	ANY("connect", "to the gateway, nym-api and DNS servers"),
	ANY("sendto", "send() on TCP sockets, DNS queries"),
	ANY("sendmmsg", "glibc's resolver sends A and AAAA queries together"),
	ANY("recvfrom", "recv() on TCP sockets, DNS answers"),
	ANY("getsockopt", "SO_ERROR after a non-blocking connect"),
	ANY("setsockopt", "TCP_NODELAY, keep-alive, SO_RCVLOWAT (receive hold)"),
	ANY("getsockname", "logging the local endpoint"),
	ANY("getpeername", "logging the remote endpoint"),
	ANY("shutdown", "closing a websocket cleanly"),
	EQ("fcntl", 1, F_GETFL, "reading flags of a new socket"),
	EQ("fcntl", 1, F_SETFL, "O_NONBLOCK on a new socket"),
	EQ("fcntl", 1, F_SETFD, "FD_CLOEXEC on a new socket"),
	MASKED("openat", 2, OPEN_WRITE_FLAGS, 0,
	       "read-only: /etc/{nsswitch,host,resolv,gai}.conf and /etc/hosts for DNS"),
	ANY("newfstatat", "glibc's resolver checks whether /etc/resolv.conf changed"),
	ANY("fstat", "stdio / resolver on an opened configuration file"),
	ANY("lseek", "stdio reading the resolver's configuration files"),
	EQ("ioctl", 1, FIONREAD, "glibc's resolver sizes a DNS answer before reading it"),
	ANY("uname", "glibc's resolver reads the host name (search domain)"),
};

/* apid: serving local apps on sockets that were bound and listening before the filter. */
static const struct ns_sandbox_rule api_rules[] = {
	ANY("accept4", "new app connections on the websocket and Unix listening sockets"),
	ANY("accept", "the same, for callers using accept()"),
	EQ("sendto", 4, 0, "send() to a connected app (no destination address)"),
	EQ("recvfrom", 4, 0, "recv() from a connected app (no source address)"),
	ANY("getsockopt", "SO_PEERCRED of Unix-socket clients, SO_ERROR"),
	ANY("setsockopt", "TCP_NODELAY on accepted sockets"),
	ANY("getsockname", "logging"),
	ANY("getpeername", "logging the app's address"),
	ANY("shutdown", "closing app connections"),
	EQ("fcntl", 1, F_GETFL, "reading flags of an accepted socket"),
	EQ("fcntl", 1, F_SETFL, "O_NONBLOCK on an accepted socket"),
};

/* exitd's resolver thread, started once the process is confined so that it runs under the
 * same filter and Landlock domain (both are inherited by a new thread, not applied to one
 * that exists). */
#define THREAD_CLONE_FLAGS (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)
static const struct ns_sandbox_rule thread_rules[] = {
	MASKED("clone", 0, THREAD_CLONE_FLAGS, THREAD_CLONE_FLAGS,
	       "pthread_create: a thread of this process only (no fork, no new process)"),
	ANY("set_robust_list", "a new thread registers its robust futex list"),
	ANY("rseq", "a new thread registers its restartable sequence area"),
	ANY("sched_getaffinity", "glibc sizes a new thread's stack cache"),
	ANY("rt_sigaction", "glibc's first pthread_create installs its internal signal handlers"),
};

/* Builds with AddressSanitizer only: the runtime queries the alternate signal stack before
 * every noreturn call (_exit, abort, longjmp). Query only: setting a stack stays refused. */
#if defined(__SANITIZE_ADDRESS__)
#define NS_SB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NS_SB_SANITIZER 1
#endif
#endif
#ifdef NS_SB_SANITIZER
static const struct ns_sandbox_rule sanitizer_rules[] = {
	EQ("sigaltstack", 0, 0, "AddressSanitizer builds only: sigaltstack(NULL, &old) queries"),
	ANY("sched_yield", "AddressSanitizer builds only: the runtime's spin locks yield to a "
	                   "contending thread (keyd's builder threads)"),
};
/* with the thread layer: the runtime gives each new thread its own alternate signal stack */
static const struct ns_sandbox_rule sanitizer_thread_rules[] = {
	ANY("sigaltstack", "AddressSanitizer builds only: a new thread sets its signal stack"),
	ANY("sched_yield", "AddressSanitizer builds only: the runtime's spin locks yield to a "
	                   "contending thread"),
};
#endif

static const struct {
	const struct ns_sandbox_rule *rules;
	size_t n;
} layers[NS_SB_LAYER_COUNT] = {
	[NS_SB_LAYER_BASE] = { base_rules, sizeof base_rules / sizeof base_rules[0] },
	[NS_SB_LAYER_NET] = { net_rules, sizeof net_rules / sizeof net_rules[0] },
	[NS_SB_LAYER_API] = { api_rules, sizeof api_rules / sizeof api_rules[0] },
	[NS_SB_LAYER_THREAD] = { thread_rules, sizeof thread_rules / sizeof thread_rules[0] },
};

static const unsigned role_layers[NS_SANDBOX_ROLE_COUNT] = {
	[NS_SANDBOX_KEYD] = 1u << NS_SB_LAYER_BASE,
	[NS_SANDBOX_NETD] = (1u << NS_SB_LAYER_BASE) | (1u << NS_SB_LAYER_NET),
	[NS_SANDBOX_APID] = (1u << NS_SB_LAYER_BASE) | (1u << NS_SB_LAYER_API),
	[NS_SANDBOX_SOCKSD] = (1u << NS_SB_LAYER_BASE) | (1u << NS_SB_LAYER_API),
	/* the exit: its admin socket, outbound TCP + name resolution as netd (the net layer
	 * opens files read-only: no file writes), and its resolver thread */
	[NS_SANDBOX_EXITD] = (1u << NS_SB_LAYER_BASE) | (1u << NS_SB_LAYER_API) |
	                     (1u << NS_SB_LAYER_NET) | (1u << NS_SB_LAYER_THREAD),
};

const struct ns_sandbox_rule *ns_sandbox_layer_rules(enum ns_sandbox_layer layer, size_t *n)
{
	if ((unsigned)layer >= NS_SB_LAYER_COUNT) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = layers[layer].n;
	return layers[layer].rules;
}

int ns_sandbox_role_has_layer(enum ns_sandbox_role role, enum ns_sandbox_layer layer)
{
	if ((unsigned)role >= NS_SANDBOX_ROLE_COUNT || (unsigned)layer >= NS_SB_LAYER_COUNT)
		return 0;
	return (role_layers[role] >> layer) & 1u;
}

const char *ns_sandbox_role_name(enum ns_sandbox_role role)
{
	static const char *const names[NS_SANDBOX_ROLE_COUNT] = { "keyd", "netd", "apid", "socksd",
		                                                   "exitd" };
	return (unsigned)role < NS_SANDBOX_ROLE_COUNT ? names[role] : "?";
}

/* ---- debug mode: name the blocked syscall from inside the SIGSYS handler */

#define NAMES_MAX 512
static char *syscall_names[NAMES_MAX]; /* filled before the filter, read by the handler */

static void fill_names(void)
{
	for (int nr = 0; nr < NAMES_MAX; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

static size_t put_str(char *out, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		out[at++] = *s++;
	return at;
}

static size_t put_uint(char *out, size_t at, size_t cap, unsigned long v)
{
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0 && at < cap)
		out[at++] = tmp[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc_raw)
{
	(void)sig;
	int saved = errno;
	int nr = si->si_syscall;
	char line[160];
	size_t n = put_str(line, 0, sizeof line, "sandbox: blocked syscall ");
	n = put_str(line, n, sizeof line,
		    nr >= 0 && nr < NAMES_MAX && syscall_names[nr] ? syscall_names[nr] : "?");
	n = put_str(line, n, sizeof line, " (");
	n = put_uint(line, n, sizeof line, (unsigned long)nr);
	n = put_str(line, n, sizeof line, ")\n");
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	ucontext_t *uc = uc_raw;
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long)-ENOSYS;
#else
	(void)uc;
	_exit(128 + SIGSYS);
#endif
	errno = saved;
}

static int install_sigsys_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) == 0 ? 0 : -errno;
}

/* ---- building the filter */

static int add_rule(scmp_filter_ctx ctx, const struct ns_sandbox_rule *r)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a syscall of this architecture */
	if (r->op == NS_SB_ANY)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	uint64_t value = r->value == NS_SB_SELF_PID ? (uint64_t)getpid() : r->value;
	struct scmp_arg_cmp cmp;
	if (r->op == NS_SB_EQ)
		cmp = (struct scmp_arg_cmp){ r->arg, SCMP_CMP_EQ, value, 0 };
	else
		cmp = (struct scmp_arg_cmp){ r->arg, SCMP_CMP_MASKED_EQ, r->mask, value };
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int add_role_rules(scmp_filter_ctx ctx, enum ns_sandbox_role role, unsigned flags)
{
	/* no Landlock to confine the paths: openat fails with EACCES instead */
	int no_files = (flags & NS_SB_NO_FILES) != 0;
	if (ns_sandbox_role_has_layer(role, NS_SB_LAYER_THREAD)) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (rc < 0)
			return rc;
	}
	if (no_files) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
		if (rc < 0)
			return rc;
	}
#ifdef NS_SB_SANITIZER
	int threads = ns_sandbox_role_has_layer(role, NS_SB_LAYER_THREAD);
	const struct ns_sandbox_rule *san = threads ? sanitizer_thread_rules : sanitizer_rules;
	size_t n_san = threads ? sizeof sanitizer_thread_rules / sizeof sanitizer_thread_rules[0]
	                       : sizeof sanitizer_rules / sizeof sanitizer_rules[0];
	for (size_t i = 0; i < n_san; i++) {
		int rc = add_rule(ctx, &san[i]);
		if (rc < 0)
			return rc;
	}
#endif
	for (int layer = 0; layer < NS_SB_LAYER_COUNT; layer++) {
		if (!ns_sandbox_role_has_layer(role, (enum ns_sandbox_layer)layer))
			continue;
		for (size_t i = 0; i < layers[layer].n; i++) {
			if (no_files && !strcmp(layers[layer].rules[i].syscall, "openat"))
				continue;
			int rc = add_rule(ctx, &layers[layer].rules[i]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int ns_sandbox_apply(enum ns_sandbox_role role, int debug)
{
	return ns_sandbox_apply_flags(role, debug, 0);
}

int ns_sandbox_apply_flags(enum ns_sandbox_role role, int debug, unsigned flags)
{
	if ((unsigned)role >= NS_SANDBOX_ROLE_COUNT)
		return -EINVAL;
	if (debug) {
		fill_names();
		int rc = install_sigsys_handler();
		if (rc < 0)
			return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	scmp_filter_ctx ctx = seccomp_init(debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	/* every thread of the process gets the filter (keyd's builder threads exist by now),
	 * and the kernel sets no_new_privs on each as on the caller */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = add_role_rules(ctx, role, flags);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}
