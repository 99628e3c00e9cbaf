/* Credentials and Landlock: see privsep.h and docs/sandbox.md. */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/landlock.h>

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
	int e = errno;
	if (err && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

int ns_privsep_nodump(void)
{
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -errno;
}

/* keyd base + 0, netd base + 1, the front (apid, socksd or exitd) base + 2: one program
 * runs one front, so the three programs share the layout of their uids. */
uint32_t ns_privsep_id(uint32_t base, enum ns_sandbox_role role)
{
	return base + (role >= NS_SANDBOX_APID ? (uint32_t)NS_SANDBOX_APID : (uint32_t)role);
}

int ns_privsep_check_ids(uint32_t base, char *err, size_t errcap)
{
	for (int r = 0; r <= NS_SANDBOX_APID; r++) { /* the three uids (see ns_privsep_id) */
		uint32_t id = ns_privsep_id(base, (enum ns_sandbox_role)r);
		const struct passwd *pw = getpwuid((uid_t)id);
		const struct group *gr = pw ? NULL : getgrgid((gid_t)id);
		if (pw || gr)
			return fail(err, errcap, "%s %u (for %s) belongs to %s \"%s\": set "
			            "nymsuite.privsep_uid_base to a free range",
			            pw ? "uid" : "gid", (unsigned)id,
			            ns_sandbox_role_name((enum ns_sandbox_role)r), pw ? "user" : "group",
			            pw ? pw->pw_name : gr->gr_name);
	}
	return 0;
}

/* ---- capabilities */

static int caps_clear(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	return (int)syscall(SYS_capset, &h, d);
}

static int caps_empty(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return 0;
	for (int c = 0; c < 64; c++) {
		int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (r < 0)
			break; /* past the last capability the kernel knows */
		if (r > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			return 0;
	}
	return 1;
}

/* Needs CAP_SETPCAP: before the uid changes. */
static int bounding_drop(void)
{
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				return 0; /* past the last capability */
			return -1;
		}
	return 0;
}

int ns_privsep_drop(uint32_t base, enum ns_sandbox_role role, char *err, size_t errcap)
{
	if (ns_privsep_nodump() < 0)
		return fail(err, errcap, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	if (geteuid() != 0)
		return 0;
	if ((unsigned)role >= NS_SANDBOX_ROLE_COUNT || base < 1000)
		return fail(err, errcap, "bad privsep uid base %u", (unsigned)base);
	uid_t uid = (uid_t)ns_privsep_id(base, role);
	gid_t gid = (gid_t)uid;
	if (bounding_drop() < 0)
		return fail(err, errcap, "PR_CAPBSET_DROP: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return fail(err, errcap, "PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	if (setgroups(0, NULL) != 0)
		return fail(err, errcap, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) != 0)
		return fail(err, errcap, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) != 0)
		return fail(err, errcap, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
	if (caps_clear() != 0)
		return fail(err, errcap, "capset: %s", strerror(errno));
	/* the uid change set dumpable from fs.suid_dumpable: not ours to trust */
	if (ns_privsep_nodump() < 0)
		return fail(err, errcap, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return fail(err, errcap, "the uid/gid change did not take");
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return fail(err, errcap, "uid 0 could be regained after the drop");
	if (!caps_empty())
		return fail(err, errcap, "capabilities left after the drop");
	if (getgroups(0, NULL) != 0)
		return fail(err, errcap, "supplementary groups left after the drop");
	return 1;
}

/* ---- Landlock
 * <linux/landlock.h> of Debian 12 (Linux 6.1) knows ABI 2. What later ABIs added is defined
 * here, with the kernel's values (uapi/linux/landlock.h). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0) /* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_RULE_NET_PORT
#define LANDLOCK_RULE_NET_PORT 2 /* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#define NS_LL_FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define NS_LL_FS_REFER (1ULL << 13)      /* ABI 2 */

/* struct landlock_ruleset_attr as of ABI 6 (the kernel reads the size it is given) */
struct ns_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};
struct ns_ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

int ns_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi > 0 ? (int)abi : 0;
}

static uint64_t fs_rights(int abi)
{
	uint64_t r = NS_LL_FS_ABI1;
	if (abi >= 2)
		r |= NS_LL_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

static int add_read_file(int rs, const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct landlock_path_beneath_attr pb = { .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE,
		                                 .parent_fd = fd };
	int rc = (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int add_tcp_port(int rs, uint16_t port)
{
	struct ns_ll_net_port_attr np = { .allowed_access = LANDLOCK_ACCESS_NET_CONNECT_TCP,
		                          .port = port };
	return (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_NET_PORT, &np, 0);
}

static int fill_ruleset(int rs, int abi, const struct ns_landlock_spec *spec, char *err,
                        size_t errcap)
{
	for (size_t i = 0; i < spec->n_read_files; i++)
		if (add_read_file(rs, spec->read_files[i]) < 0)
			return fail(err, errcap, "Landlock rule for %s: %s", spec->read_files[i],
			            strerror(errno));
	for (size_t i = 0; abi >= 4 && !spec->tcp_connect_any && i < spec->n_tcp_ports; i++)
		if (add_tcp_port(rs, spec->tcp_ports[i]) < 0)
			return fail(err, errcap, "Landlock rule for TCP port %u: %s",
			            (unsigned)spec->tcp_ports[i], strerror(errno));
	return 0;
}

int ns_landlock_apply(const struct ns_landlock_spec *spec, char *err, size_t errcap)
{
	int abi = ns_landlock_abi();
	if (abi <= 0)
		return 0;
	struct ns_ll_ruleset_attr attr = { .handled_access_fs = fs_rights(abi) };
	size_t size = sizeof attr.handled_access_fs;
	if (abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		                          (spec->tcp_connect_any ? 0 : LANDLOCK_ACCESS_NET_CONNECT_TCP);
		size = offsetof(struct ns_ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0)
		return fail(err, errcap, "landlock_create_ruleset: %s", strerror(errno));
	int rc = fill_ruleset(rs, abi, spec, err, errcap);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		rc = fail(err, errcap, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (rc == 0 && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
		rc = fail(err, errcap, "landlock_restrict_self: %s", strerror(errno));
	close(rs);
	return rc < 0 ? -1 : abi;
}
