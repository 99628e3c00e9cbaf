/* Per-process sandboxes of nym-client: PR_SET_NO_NEW_PRIVS, then a libseccomp filter whose
 * default action kills the process (SECCOMP_RET_KILL_PROCESS) and whose allowlist is one
 * readable table per role (sandbox.c; prose in docs/sandbox.md).
 *
 * Debug mode (debug != 0): the default action is SECCOMP_RET_TRAP; a SIGSYS handler writes
 * "sandbox: blocked syscall NAME (NR)" to stderr and makes the call fail with ENOSYS, so one
 * run lists every missing entry. Never ship debug mode: it turns kills into errors. */
#ifndef NS_SANDBOX_H
#define NS_SANDBOX_H
#include <stddef.h>
#include <stdint.h>

enum ns_sandbox_role {
	NS_SANDBOX_KEYD = 0,
	NS_SANDBOX_NETD = 1,
	NS_SANDBOX_APID = 2,   /* nym-client's front */
	NS_SANDBOX_SOCKSD = 3, /* nym-socks5-client's front */
	NS_SANDBOX_EXITD = 4,  /* nym-network-requester's front: opens outbound TCP for strangers */
	NS_SANDBOX_ROLE_COUNT = 5,
};

/* An argument condition: none, arg == value, or (arg & mask) == value. */
enum ns_sandbox_op { NS_SB_ANY = 0, NS_SB_EQ, NS_SB_MASKED_EQ };
/* value placeholder replaced by getpid() when the filter is built */
#define NS_SB_SELF_PID UINT64_MAX

struct ns_sandbox_rule {
	const char *syscall;      /* name; a name this architecture lacks is skipped */
	enum ns_sandbox_op op;
	unsigned arg;             /* argument index for EQ / MASKED_EQ */
	uint64_t mask, value;
	const char *why;
};

/* The rules of one layer; a role's filter is the union of its layers
 * (keyd: base; netd: base + net; apid and socksd: base + api; exitd: base + api + net +
 * thread, and clone3 fails with ENOSYS so that glibc's pthread_create falls back to clone,
 * whose flags the thread layer can check). */
enum ns_sandbox_layer {
	NS_SB_LAYER_BASE = 0,
	NS_SB_LAYER_NET,
	NS_SB_LAYER_API,
	NS_SB_LAYER_THREAD,
	NS_SB_LAYER_COUNT
};
const struct ns_sandbox_rule *ns_sandbox_layer_rules(enum ns_sandbox_layer layer, size_t *n);
/* 1 if role's filter includes layer. */
int ns_sandbox_role_has_layer(enum ns_sandbox_role role, enum ns_sandbox_layer layer);
const char *ns_sandbox_role_name(enum ns_sandbox_role role);

/* prctl(PR_SET_NO_NEW_PRIVS) and loads role's filter. 0, or a negative errno value (then no
 * filter is loaded, though no_new_privs may be set; the caller must exit). Call once every
 * fd, socket, listening socket and libev loop the process needs exists. */
int ns_sandbox_apply(enum ns_sandbox_role role, int debug);
/* NS_SB_NO_FILES: for a process without Landlock: openat (allowed read-only by netd's table)
 * fails with EACCES instead, so no path can be opened at all. */
#define NS_SB_NO_FILES 1u
int ns_sandbox_apply_flags(enum ns_sandbox_role role, int debug, unsigned flags);

#endif
