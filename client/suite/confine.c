/* The one confinement path of keyd, netd and the front (apid, socksd or exitd), and of the
 * injection probe (probe.c): credentials (common/privsep), then Landlock, then the seccomp
 * filter (common/sandbox). docs/sandbox.md describes each layer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "nymclient.h"
#include "privsep.h"

/* What glibc's resolver reads (glibc >= 2.34: nss_files and nss_dns are inside libc, so no
 * module is loaded). Each is allowed read-only when it exists; nothing else can be opened. */
static const char *const netd_files[] = {
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
};

/* The TCP port of a ws://, wss://, http:// or https:// URL (the scheme's default when the
 * URL names none). 0 or -1. */
static int url_port(const char *url, uint16_t *port)
{
	const char *p = strstr(url, "://");
	if (!p)
		return -1;
	size_t slen = (size_t)(p - url);
	int tls = (slen == 5 && !strncasecmp(url, "https", 5)) || (slen == 3 && !strncasecmp(url, "wss", 3));
	p += 3;
	const char *end = p + strcspn(p, "/?#");
	const char *at = memchr(p, '@', (size_t)(end - p));
	const char *h = at ? at + 1 : p;
	if (*h == '[' && !(h = memchr(h, ']', (size_t)(end - h))))
		return -1;
	const char *colon = memchr(h, ':', (size_t)(end - h));
	if (!colon || colon + 1 == end) {
		*port = tls ? 443 : 80;
		return 0;
	}
	unsigned long v = 0;
	for (const char *d = colon + 1; d < end; d++) {
		if (*d < '0' || *d > '9' || (v = v * 10 + (unsigned long)(*d - '0')) > 65535)
			return -1;
	}
	*port = (uint16_t)v;
	return v ? 0 : -1;
}

/* netd: the gateway's port, every nym-api's, 53 (DNS over TCP), and a network requester's
 * exit-policy URL's. */
static size_t netd_ports(const struct nc_setup *s, uint16_t *ports, size_t cap)
{
	size_t n = 0;
	ports[n++] = 53;
	uint16_t p;
	if (url_port(s->gateway_ws, &p) == 0)
		ports[n++] = p;
	if (nc_exit_policy_source(&s->conf) == NC_POLICY_URL &&
	    url_port(s->conf.nr.upstream_exit_policy_url, &p) == 0)
		ports[n++] = p;
	for (size_t i = 0; i < s->conf.n_nym_api_urls && n < cap; i++)
		if (url_port(s->conf.nym_api_urls[i], &p) == 0)
			ports[n++] = p;
	return n;
}

int nc_confine(enum ns_sandbox_role role, const struct nc_setup *s, unsigned flags)
{
	return nc_confine_then(role, s, flags, NULL, NULL);
}

int nc_confine_then(enum ns_sandbox_role role, const struct nc_setup *s, unsigned flags,
                    int (*before_filter)(void *ctx), void *ctx)
{
	const char *name = ns_sandbox_role_name(role);
	char err[256] = "";
	pid_t parent = getppid();
	int dropped = ns_privsep_drop(nc_uid_base(&s->conf), role, err, sizeof err);
	if (dropped < 0) {
		nc_error(name, "cannot drop privileges: %s", err);
		return -1;
	}
	/* the uid change cleared the parent-death signal proc.c set: again, and the supervisor
	 * must not have gone in between */
	if (dropped && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)) {
		nc_error(name, "the supervisor went away during start-up");
		return -1;
	}
	uint16_t ports[3 + CLIENTCONF_MAX_URLS];
	struct ns_landlock_spec spec = { 0 };
	if (role == NS_SANDBOX_NETD) {
		spec.read_files = netd_files;
		spec.n_read_files = sizeof netd_files / sizeof netd_files[0];
		spec.tcp_ports = ports;
		spec.n_tcp_ports = netd_ports(s, ports, sizeof ports / sizeof ports[0]);
	} else if (role == NS_SANDBOX_EXITD) { /* an exit: any port; its resolver reads as netd's */
		spec.read_files = netd_files;
		spec.n_read_files = sizeof netd_files / sizeof netd_files[0];
		spec.tcp_connect_any = 1;
	}
	int abi = ns_landlock_apply(&spec, err, sizeof err);
	if (abi < 0) {
		nc_error(name, "cannot apply Landlock: %s", err);
		return -1;
	}
	unsigned sb_flags = 0;
	if (abi == 0 && (role == NS_SANDBOX_NETD || role == NS_SANDBOX_EXITD)) {
		sb_flags |= NS_SB_NO_FILES;
		nc_warn(name, "warning: no Landlock in this kernel: no file can be opened, so host-name "
		       "look-ups after start-up use only what glibc cached");
	}
	unsigned uid = (unsigned)getuid(); /* getuid is not in the filter */
	if (before_filter && before_filter(ctx) < 0)
		return -1;
	if (!(flags & NC_CONFINE_NO_SECCOMP)) {
		int rc = ns_sandbox_apply_flags(role, s->sandbox_debug, sb_flags);
		if (rc < 0) {
			nc_error(name, "cannot apply the sandbox: %s", strerror(-rc));
			return -1;
		}
	}
	if (!(flags & NC_CONFINE_QUIET))
		nc_log(name, "confined: uid %u%s, Landlock %s%d, seccomp%s", uid,
		       dropped ? " (own uid, no capability)" : " (not root: non-dumpable only)",
		       abi ? "ABI " : "unavailable ", abi,
		       flags & NC_CONFINE_NO_SECCOMP ? " off (probe)" : "");
	return 0;
}
