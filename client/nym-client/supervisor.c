/* The supervisor: makes the socketpairs, forks keyd, netd and apid, and watches them.
 * If one child dies the others are stopped and the suite exits non-zero with the reason;
 * SIGTERM / SIGINT stop the suite and exit 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ipc.h"
#include "nymclient.h"

#define NC_CHILDREN 3

struct child {
	const char *name;
	enum ns_ipc_role role;
	int (*main)(void *);
	int pair;
	pid_t pid;
	int alive, ready;
	ev_child watcher;
	struct ns_ipc_conn conn;
};

struct sup {
	struct ev_loop *loop;
	struct child kids[NC_CHILDREN];
	ev_signal sigterm, sigint;
	ev_timer settle;
	int failed, severity, collecting;
	int stats_replies;
	char reason[256];
};

static struct sup g_sup;

static struct child *kid_of_conn(struct ns_ipc_conn *c)
{
	for (int i = 0; i < NC_CHILDREN; i++)
		if (&g_sup.kids[i].conn == c)
			return &g_sup.kids[i];
	return NULL;
}

static void stop_suite(int failed, const char *reason)
{
	if (!g_sup.failed && !g_sup.reason[0]) {
		g_sup.failed = failed;
		snprintf(g_sup.reason, sizeof g_sup.reason, "%s", reason);
	}
	ev_break(g_sup.loop, EVBREAK_ALL);
}

static void on_ready(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	struct child *k = kid_of_conn(c);
	char why[128];
	if (m->u.READY.catalogue_version != NS_IPC_CATALOGUE_VERSION) {
		snprintf(why, sizeof why, "%s was built from IPC catalogue %llu", k->name,
		         (unsigned long long)m->u.READY.catalogue_version);
		stop_suite(1, why);
		return;
	}
	k->ready = 1;
	nc_log("supervisor", "%s ready (sandboxed: %s)", k->name, m->u.READY.sandboxed ? "yes" : "no");
}

static void on_stats(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	struct child *k = kid_of_conn(c);
	char line[NS_IPC_TEXT_MAX + 1];
	size_t n = m->u.STATS_REPLY.text.len;
	memcpy(line, m->u.STATS_REPLY.text.ptr, n);
	line[n] = 0;
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	nc_log("supervisor", "stats %s: %s", k->name, line);
	if (++g_sup.stats_replies == NC_CHILDREN)
		ev_break(g_sup.loop, EVBREAK_ALL);
}

static void on_conn_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	struct child *k = kid_of_conn(c);
	if (err == NS_IPC_EEOF)
		return; /* the child watcher reports why it went away */
	char why[160];
	snprintf(why, sizeof why, "invalid IPC message from %s: %s", k->name, ns_ipc_strerror(err));
	stop_suite(1, why);
}

/* A dead child takes its peers down with it (they see EOF): wait a moment and blame the
 * one that went worst (killed by a signal > failed > exited 0). */
static void on_settled(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	ev_break(g_sup.loop, EVBREAK_ALL);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop, (void)revents;
	struct child *k = w->data;
	char why[160];
	int severity;
	k->alive = 0;
	ev_child_stop(g_sup.loop, w);
	if (WIFSIGNALED(w->rstatus)) {
		severity = 3;
		snprintf(why, sizeof why, "%s (pid %d) was killed by signal %d (%s)", k->name, (int)k->pid,
		         WTERMSIG(w->rstatus), strsignal(WTERMSIG(w->rstatus)));
	} else {
		severity = WEXITSTATUS(w->rstatus) ? 2 : 1;
		snprintf(why, sizeof why, "%s (pid %d) exited with status %d", k->name, (int)k->pid,
		         WEXITSTATUS(w->rstatus));
	}
	if (severity > g_sup.severity && (g_sup.failed || !g_sup.reason[0])) {
		g_sup.severity = severity;
		g_sup.failed = 1;
		snprintf(g_sup.reason, sizeof g_sup.reason, "%s", why);
	}
	if (!ev_is_active(&g_sup.settle)) {
		ev_timer_init(&g_sup.settle, on_settled, 0.3, 0.);
		ev_timer_start(g_sup.loop, &g_sup.settle);
	}
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop, (void)revents;
	char why[64];
	snprintf(why, sizeof why, "stopped by signal %d", w->signum);
	if (!g_sup.reason[0])
		snprintf(g_sup.reason, sizeof g_sup.reason, "%s", why);
	if (g_sup.collecting)
		return;
	/* collect each child's counters (at most 1 s) before stopping them */
	g_sup.collecting = 1;
	struct ns_ipc_msg m = { .type = NS_IPC_T_STATS_REQUEST };
	m.u.STATS_REQUEST.request_id = 1;
	for (int i = 0; i < NC_CHILDREN; i++)
		if (g_sup.kids[i].alive)
			ns_ipc_conn_send(&g_sup.kids[i].conn, &m);
	ev_timer_init(&g_sup.settle, on_settled, 1.0, 0.);
	ev_timer_start(g_sup.loop, &g_sup.settle);
}

static const ns_ipc_handler sup_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_READY] = on_ready,
	[NS_IPC_T_STATS_REPLY] = on_stats,
};

static void wait_children(void)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int killed = 0;
	for (;;) {
		int left = 0;
		for (int i = 0; i < NC_CHILDREN; i++) {
			struct child *k = &g_sup.kids[i];
			pid_t r = k->alive ? waitpid(k->pid, NULL, WNOHANG) : 0;
			if (r == k->pid || (r < 0 && errno == ECHILD))
				k->alive = 0;
			left += k->alive;
		}
		if (!left)
			return;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!killed && now.tv_sec - start.tv_sec >= 3) {
			for (int i = 0; i < NC_CHILDREN; i++)
				if (g_sup.kids[i].alive)
					kill(g_sup.kids[i].pid, SIGKILL);
			killed = 1;
		}
		usleep(20000);
	}
}

static void shutdown_children(int reason)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_SHUTDOWN };
	m.u.SHUTDOWN.reason = (uint64_t)reason;
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		if (!k->alive)
			continue;
		if (ns_ipc_send(k->conn.fd, NS_IPC_SUPERVISOR, k->role, &m) < 0)
			kill(k->pid, SIGTERM);
	}
	wait_children();
}

static int spawn_all(struct nc_setup *s)
{
	static const struct { const char *name; enum ns_ipc_role role; int (*main)(void *); int pair; }
	roles[NC_CHILDREN] = {
		{ "keyd", NS_IPC_KEYD, nc_keyd_main, NC_SUP_KEYD },
		{ "netd", NS_IPC_NETD, nc_netd_main, NC_SUP_NETD },
		{ "apid", NS_IPC_APID, nc_apid_main, NC_SUP_APID },
	};
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		k->name = roles[i].name;
		k->role = roles[i].role;
		k->main = roles[i].main;
		k->pair = roles[i].pair;
		k->pid = nc_spawn(k->main, s);
		if (k->pid < 0) {
			nc_log("supervisor", "fork %s: %s", k->name, strerror(errno));
			return -1;
		}
		k->alive = 1;
		ev_child_init(&k->watcher, on_child, k->pid, 0);
		k->watcher.data = k;
		ev_child_start(g_sup.loop, &k->watcher);
	}
	return 0;
}

int nc_supervisor_run(struct nc_setup *s)
{
	for (int i = 0; i < NC_PAIRS; i++)
		if (ns_ipc_socketpair(s->fds[i]) < 0) {
			nc_log("supervisor", "socketpair: %s", strerror(errno));
			return 1;
		}
	g_sup.loop = ev_default_loop(EVFLAG_AUTO);
	if (!g_sup.loop)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	int rc = spawn_all(s);
	int keep[NC_CHILDREN] = { s->fds[NC_SUP_KEYD][0], s->fds[NC_SUP_NETD][0],
		                  s->fds[NC_SUP_APID][0] };
	nc_close_except(s, keep, NC_CHILDREN);
	for (int i = 0; rc == 0 && i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		ns_ipc_conn_start(&k->conn, g_sup.loop, s->fds[k->pair][0], NS_IPC_SUPERVISOR, k->role,
		                  sup_handlers, on_conn_fatal, NULL);
	}
	if (rc < 0) {
		shutdown_children(NS_IPC_STOP_PEER_FAILED);
		return 1;
	}
	ev_signal_init(&g_sup.sigterm, on_signal, SIGTERM);
	ev_signal_init(&g_sup.sigint, on_signal, SIGINT);
	ev_signal_start(g_sup.loop, &g_sup.sigterm);
	ev_signal_start(g_sup.loop, &g_sup.sigint);
	nc_log("supervisor", "started keyd %d, netd %d, apid %d", (int)g_sup.kids[0].pid,
	       (int)g_sup.kids[1].pid, (int)g_sup.kids[2].pid);
	ev_run(g_sup.loop, 0);
	for (int i = 0; i < NC_CHILDREN; i++)
		if (g_sup.kids[i].alive)
			ev_child_stop(g_sup.loop, &g_sup.kids[i].watcher);
	shutdown_children(g_sup.failed ? NS_IPC_STOP_PEER_FAILED : NS_IPC_STOP_SIGNAL);
	nc_log("supervisor", "%s%s", g_sup.failed ? "FAILED: " : "", g_sup.reason);
	return g_sup.failed ? 1 : 0;
}
