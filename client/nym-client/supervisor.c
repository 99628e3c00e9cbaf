/* The supervisor: makes the socketpairs, forks keyd, netd and apid, and watches them.
 * If one child dies the others are stopped and the suite exits non-zero with the reason;
 * SIGTERM / SIGINT stop the suite and exit 0. Stopping, apid goes first: it hands over every
 * fragment still waiting for its ack (QUEUED_FRAGMENT ... QUEUED_END), which is appended to
 * data/nymsuite-unsent.bin; the next run gives them back (RESEND_FRAGMENT) once every child
 * is READY, then removes the file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "clientlocal.h"
#include "crypto.h"
#include "ipc.h"
#include "nymclient.h"
#include "safefile.h"

#define NC_APID 2            /* index of apid in kids[] */
#define PERSIST_WAIT 5.0     /* seconds apid gets to hand over its fragments */
#define UNSENT_MAX_BYTES (512u << 20)

#define NC_CHILDREN 3

struct child {
	const char *name;
	enum ns_ipc_role role;
	int pair;
	pid_t pid;
	int alive, ready, told;
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
	const struct nc_setup *setup;
	int resent;
	/* persisting apid's queue at shutdown */
	ev_timer persist_wait;
	int unsent_fd, persist_done, apid_closed;
	uint64_t persisted, persist_failed;
};

static struct sup g_sup;

static void resend_unsent(const char *data_dir, struct ns_ipc_conn *apid);

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
	if (g_sup.kids[0].ready && g_sup.kids[1].ready && g_sup.kids[NC_APID].ready && !g_sup.resent) {
		g_sup.resent = 1;
		resend_unsent(g_sup.setup->dirs.data_dir, &g_sup.kids[NC_APID].conn);
	}
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
	if (err == NS_IPC_EEOF) {
		g_sup.apid_closed |= k->role == NS_IPC_APID;
		return; /* the child watcher reports why it went away */
	}
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

/* ---- unsent fragments: data/nymsuite-unsent.bin (records: common/clientlocal.h) */

static void unsent_path(const char *data_dir, char *out, size_t cap, const char *suffix)
{
	snprintf(out, cap, "%s/%s%s", data_dir, NS_UNSENT_FILE, suffix);
}

static void on_queued_fragment(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	static uint8_t rec[NS_UNSENT_OVERHEAD + NS_UNSENT_FRAG_MAX];
	const struct ns_ipc_QUEUED_FRAGMENT *q = &m->u.QUEUED_FRAGMENT;
	struct ns_unsent_rec r = { .lane = q->lane, .fragment = q->fragment.ptr, .len = q->fragment.len };
	char path[CLIENTCONF_PATH_MAX + 64];
	memcpy(r.frag_id, q->frag_id.ptr, 5);
	memcpy(r.recipient, q->recipient.ptr, 96);
	size_t n = ns_unsent_encode(&r, rec, sizeof rec);
	if (g_sup.unsent_fd < 0) {
		unsent_path(g_sup.setup->dirs.data_dir, path, sizeof path, "");
		g_sup.unsent_fd = ns_sf_open_append(path, 0600, 0, NULL, 0);
		if (g_sup.unsent_fd < 0)
			nc_log("supervisor", "cannot open %s: %s", path, strerror(errno));
	}
	if (n && g_sup.unsent_fd >= 0 && write(g_sup.unsent_fd, rec, n) == (ssize_t)n)
		g_sup.persisted++;
	else
		g_sup.persist_failed++;
	ns_memzero(rec, n);
}

static void on_queued_end(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	if (g_sup.unsent_fd >= 0) {
		if (fsync(g_sup.unsent_fd) < 0)
			nc_log("supervisor", "fsync %s: %s", NS_UNSENT_FILE, strerror(errno));
		close(g_sup.unsent_fd);
		g_sup.unsent_fd = -1;
	}
	if (m->u.QUEUED_END.persisted != g_sup.persisted + g_sup.persist_failed)
		nc_log("supervisor", "apid announced %llu fragments, %llu arrived",
		       (unsigned long long)m->u.QUEUED_END.persisted,
		       (unsigned long long)(g_sup.persisted + g_sup.persist_failed));
	nc_log("supervisor", "%llu fragments persisted, %llu dropped%s", (unsigned long long)g_sup.persisted,
	       (unsigned long long)(m->u.QUEUED_END.dropped + g_sup.persist_failed),
	       g_sup.persist_failed ? " (some could not be written)" : "");
	g_sup.persist_done = 1;
	ev_break(g_sup.loop, EVBREAK_ALL);
}

/* Reads the whole file: malloc'd, or NULL (errno) when absent, unreadable or too large. */
static uint8_t *read_unsent(const char *path, size_t *len)
{
	int fd = ns_sf_open_read(path, 0, NULL, 0);
	struct stat st;
	uint8_t *buf = NULL;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= UNSENT_MAX_BYTES)
		buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	if (!buf)
		errno = EFBIG;
	return buf;
}

static void resend_unsent(const char *data_dir, struct ns_ipc_conn *apid)
{
	char path[CLIENTCONF_PATH_MAX + 64], aside[CLIENTCONF_PATH_MAX + 96], err[128] = "";
	size_t len = 0, off = 0, sent = 0;
	unsent_path(data_dir, path, sizeof path, "");
	uint8_t *buf = read_unsent(path, &len);
	if (!buf) {
		if (errno != ENOENT)
			nc_log("supervisor", "cannot read %s: %s", path, strerror(errno));
		if (errno == ENOENT)
			return;
		snprintf(err, sizeof err, "unreadable or over %u bytes", UNSENT_MAX_BYTES);
	}
	while (buf && off < len) {
		struct ns_unsent_rec r;
		size_t n = ns_unsent_decode(buf + off, len - off, &r, err, sizeof err);
		if (!n)
			break;
		struct ns_ipc_msg m = { .type = NS_IPC_T_RESEND_FRAGMENT };
		m.u.RESEND_FRAGMENT.frag_id = NS_IPC_BYTES(r.frag_id, 5);
		m.u.RESEND_FRAGMENT.fragment = NS_IPC_BYTES(r.fragment, r.len);
		m.u.RESEND_FRAGMENT.recipient = NS_IPC_BYTES(r.recipient, 96);
		m.u.RESEND_FRAGMENT.lane = r.lane;
		if (ns_ipc_conn_send(apid, &m) < 0)
			break;
		sent++;
		off += n;
	}
	if (buf)
		ns_memzero(buf, len);
	free(buf);
	if (err[0]) {
		/* never fatal: keep the bytes for a look, start without them */
		snprintf(aside, sizeof aside, "%s.corrupt-%lld", path, (long long)time(NULL));
		if (rename(path, aside) < 0)
			unlink(path);
		nc_log("supervisor", "%s is corrupt at byte %zu (%s): %zu fragments resent, the file "
		       "was renamed to %s", path, off, err, sent, aside);
		return;
	}
	if (off < len)
		nc_log("supervisor", "apid did not take the persisted fragments; %s kept", path);
	else if (unlink(path) == 0)
		nc_log("supervisor", "%zu persisted fragments resent", sent);
}

static void on_persist_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	nc_log("supervisor", "apid did not hand over its queue within %.0f s", PERSIST_WAIT);
	ev_break(g_sup.loop, EVBREAK_ALL);
}

/* apid first: SHUTDOWN, then its QUEUED_FRAGMENTs until QUEUED_END (or it dies, or time). */
static void persist_apid_queue(void)
{
	struct child *k = &g_sup.kids[NC_APID];
	struct ns_ipc_msg m = { .type = NS_IPC_T_SHUTDOWN };
	m.u.SHUTDOWN.reason = g_sup.failed ? NS_IPC_STOP_PEER_FAILED : NS_IPC_STOP_SIGNAL;
	if (!k->alive || !k->ready || ns_ipc_conn_send(&k->conn, &m) < 0)
		return;
	k->told = 1;
	ev_timer_init(&g_sup.persist_wait, on_persist_timeout, PERSIST_WAIT, 0.);
	ev_timer_start(g_sup.loop, &g_sup.persist_wait);
	/* until the list ends or apid's socket does: its exit may be seen before the last
	 * datagrams it sent are read */
	while (!g_sup.persist_done && !g_sup.apid_closed && ev_is_active(&g_sup.persist_wait))
		ev_run(g_sup.loop, EVRUN_ONCE);
	ev_timer_stop(g_sup.loop, &g_sup.persist_wait);
	if (g_sup.unsent_fd >= 0) { /* apid went away before QUEUED_END */
		fsync(g_sup.unsent_fd);
		close(g_sup.unsent_fd);
		g_sup.unsent_fd = -1;
		nc_log("supervisor", "%llu fragments persisted (apid stopped before the end of its list)",
		       (unsigned long long)g_sup.persisted);
	}
}

static const ns_ipc_handler sup_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_READY] = on_ready,
	[NS_IPC_T_STATS_REPLY] = on_stats,
	[NS_IPC_T_QUEUED_FRAGMENT] = on_queued_fragment,
	[NS_IPC_T_QUEUED_END] = on_queued_end,
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
		if (!k->alive || k->told)
			continue;
		if (ns_ipc_send(k->conn.fd, NS_IPC_SUPERVISOR, k->role, &m) < 0)
			kill(k->pid, SIGTERM);
	}
	wait_children();
}

static int spawn_all(struct nc_setup *s)
{
	static const struct { const char *name; enum ns_ipc_role role; int pair; } roles[NC_CHILDREN] = {
		{ "keyd", NS_IPC_KEYD, NC_SUP_KEYD },
		{ "netd", NS_IPC_NETD, NC_SUP_NETD },
		{ "apid", NS_IPC_APID, NC_SUP_APID },
	};
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		k->name = roles[i].name;
		k->role = roles[i].role;
		k->pair = roles[i].pair;
		k->pid = nc_spawn_role(k->name, s);
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
	g_sup.setup = s;
	g_sup.unsent_fd = -1;
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
	persist_apid_queue();
	for (int i = 0; i < NC_CHILDREN; i++)
		if (g_sup.kids[i].alive)
			ev_child_stop(g_sup.loop, &g_sup.kids[i].watcher);
	shutdown_children(g_sup.failed ? NS_IPC_STOP_PEER_FAILED : NS_IPC_STOP_SIGNAL);
	nc_remove_apid_sockets(s); /* apid runs as its own uid: it cannot remove them itself */
	nc_log("supervisor", "%s%s", g_sup.failed ? "FAILED: " : "", g_sup.reason);
	return g_sup.failed ? 1 : 0;
}
