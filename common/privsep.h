/* Process credentials and Landlock of nym-client's children (docs/sandbox.md).
 *
 *   ns_privsep_nodump    PR_SET_DUMPABLE 0: no core dump, and no process of the same uid may
 *                        ptrace us or open /proc/PID/mem (exec resets it: every child calls it
 *                        first thing, the supervisor too);
 *   ns_privsep_drop      started as root: the role's own uid and gid (base + 0/1/2), no
 *                        supplementary group, empty capability sets (bounding and ambient
 *                        included), verified; not root: only non-dumpable;
 *   ns_landlock_apply    a Landlock domain handling every right the running ABI knows: the
 *                        files of spec may be read, TCP connect only to its ports, no TCP
 *                        bind, and (ABI >= 6) no signal or abstract Unix socket outside.
 *
 * Errors are returned (-1 and a one-line reason in err), never printed. */
#ifndef NS_PRIVSEP_H
#define NS_PRIVSEP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

int ns_privsep_nodump(void);

/* The uid (= gid) role runs under when the suite is started as root. */
uint32_t ns_privsep_id(uint32_t base, enum ns_sandbox_role role);
/* Started as root, the supervisor refuses ids that belong to someone (a passwd or group
 * entry). 0 or -1. */
int ns_privsep_check_ids(uint32_t base, char *err, size_t errcap);
/* 1: now uid/gid ns_privsep_id(base, role) with no capability; 0: not root (only made
 * non-dumpable); -1: failed (the caller must exit). */
int ns_privsep_drop(uint32_t base, enum ns_sandbox_role role, char *err, size_t errcap);

struct ns_landlock_spec {
	const char *const *read_files; /* each readable when it exists (others: no file at all) */
	size_t n_read_files;
	const uint16_t *tcp_ports;     /* TCP connect allowed to these ports only */
	size_t n_tcp_ports;
	int tcp_connect_any;           /* TCP connect to any port (an exit); bind still denied */
};
/* The Landlock ABI of the running kernel, 0 if none. */
int ns_landlock_abi(void);
/* Sets no_new_privs and restricts the process. >0: the ABI applied; 0: Landlock is not
 * available (nothing done); -1: failed. */
int ns_landlock_apply(const struct ns_landlock_spec *spec, char *err, size_t errcap);

#endif
