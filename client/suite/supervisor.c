/* The supervisor: makes the socketpairs, forks keyd, netd and the front (apid, socksd or
 * exitd: nc_kind), and watches them.
 *
 * Stopping is one sequence whatever starts it (SIGTERM, SIGINT or SIGHUP to the supervisor
 * or to its whole process group, a child that dies, an invalid IPC message):
 *   RUN      until a signal (-> COLLECT) or a child's death (-> SETTLE)
 *   COLLECT  each child's counters (STATS_REQUEST, at most 1 s)
 *   SETTLE   0.3 s for the peers of a dead child to follow it, to blame the one that went worst
 *   HANDOVER apid first: SHUTDOWN, then its QUEUED_FRAGMENTs until QUEUED_END, apid's end of
 *            the socket, or 10 s without a fragment (the wait is on progress, not a total)
 *   STOP     SHUTDOWN to the others; any child still there after 5 s is killed
 * A later signal changes nothing (the sequence already runs). Every timer is its own watcher,
 * set only while stopped. The children ignore the terminal's and group signals (proc.c):
 * they stop on SHUTDOWN or when their socket to us closes.
 *
 * Unacknowledged fragments go to data/nymsuite-unsent.bin (unsent.c: new list, fsync,
 * rename; an incomplete list is merged with the old file); the next run gives them back
 * (RESEND_FRAGMENT) once every child is READY and keeps the file until the next stop
 * persists them again.
 *
 * Exit status: 0 stopped as asked, nothing lost; 1 a child failed (or start-up did); 3 stopped
 * as asked but fragments were lost (disk full, apid's list incomplete, reply fragments that
 * cannot outlive keyd). The reason is the last line logged. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "clientlocal.h"
#include "crypto.h"
#include "ipc.h"
#include "nymclient.h"
#include "safefile.h"
#include "unsent.h"

#define NC_APID 2             /* index of the front (apid, socksd, exitd) in kids[] */
#define COLLECT_WAIT 1.0      /* seconds for the children's counters */
#define SETTLE_WAIT 0.3       /* after a child's death */
#define HANDOVER_IDLE 10.0    /* seconds without a fragment from apid before giving up */
#define STOP_WAIT 5.0         /* after SHUTDOWN, before SIGKILL */
#define NC_CHILDREN 3

enum phase { PH_RUN, PH_COLLECT, PH_SETTLE, PH_HANDOVER, PH_STOP };

struct child {
	const char *name;
	enum ns_ipc_role role;
	int pair;
	pid_t pid;
	int alive, ready, told, killed_by_us;
	ev_child watcher;
	struct ns_ipc_conn conn;
};

/* apid's list at shutdown (or sent on its own when it lost keyd or netd) */
struct handover {
	int started, ended, closed;
	uint64_t received, announced, dropped;
	struct nc_unsent_out out;
};

struct sup {
	struct ev_loop *loop;
	struct child kids[NC_CHILDREN];
	ev_signal sig[3];
	ev_timer collect, settle, idle, deadline;
	enum phase phase;
	int failed, severity, signalled, stats_replies, stats_asked, resent;
	char reason[256], lost[320];
	const struct nc_setup *setup;
	struct handover ho;
};

static struct sup g_sup;

static void resend_unsent(void);

static struct child *kid_of_conn(struct ns_ipc_conn *c)
{
	for (int i = 0; i < NC_CHILDREN; i++)
		if (&g_sup.kids[i].conn == c)
			return &g_sup.kids[i];
	return NULL;
}

/* A one-shot timer started unless it runs already (never re-initialised while active). */
static void timer_once(ev_timer *t, double after)
{
	if (ev_is_active(t))
		return;
	ev_timer_set(t, after, 0.);
	ev_timer_start(g_sup.loop, t);
}

static void set_failure(int severity, const char *why)
{
	if (severity <= g_sup.severity)
		return;
	g_sup.severity = severity;
	g_sup.failed = 1;
	snprintf(g_sup.reason, sizeof g_sup.reason, "%s", why);
}

static void note_lost(const char *why)
{
	nc_warn("supervisor", "%s", why);
	if (!g_sup.lost[0])
		snprintf(g_sup.lost, sizeof g_sup.lost, "%s", why);
}

/* Leaves RUN for good: the main ev_run returns, the rest of the sequence follows. */
static void end_run(void)
{
	if (g_sup.phase == PH_HANDOVER || g_sup.phase == PH_STOP)
		return;
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
		set_failure(4, why);
		end_run();
		return;
	}
	k->ready = 1;
	nc_log("supervisor", "%s ready (sandboxed: %s)", k->name, m->u.READY.sandboxed ? "yes" : "no");
	if (g_sup.phase == PH_RUN && g_sup.kids[0].ready && g_sup.kids[1].ready &&
	    g_sup.kids[NC_APID].ready && !g_sup.resent) {
		g_sup.resent = 1;
		resend_unsent();
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
	if (g_sup.phase == PH_COLLECT && ++g_sup.stats_replies == g_sup.stats_asked)
		end_run();
}

static void on_conn_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	struct child *k = kid_of_conn(c);
	if (k->role == NS_IPC_APID)
		g_sup.ho.closed = 1;
	if (err == NS_IPC_EEOF || err == NS_IPC_EIO)
		return; /* gone or going (a reset): the child watcher reports why */
	char why[160];
	snprintf(why, sizeof why, "invalid IPC message from %s: %s", k->name, ns_ipc_strerror(err));
	set_failure(4, why);
	end_run();
}

static void on_timer_end_run(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	end_run();
}

/* A death is a failure unless it is the end we asked for: an exit 0 once stopping began, or
 * our own SIGKILL of a child that had not finished starting. */
static int death_severity(const struct child *k, int status, char *why, size_t cap)
{
	if (k->killed_by_us) {
		snprintf(why, cap, "%s (pid %d) did not stop within %.0f s of SHUTDOWN and was killed",
		         k->name, (int)k->pid, STOP_WAIT);
		return k->ready ? 2 : 0;
	}
	if (WIFSIGNALED(status)) {
		snprintf(why, cap, "%s (pid %d) was killed by signal %d (%s)", k->name, (int)k->pid,
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 3;
	}
	snprintf(why, cap, "%s (pid %d) exited with status %d", k->name, (int)k->pid,
	         WEXITSTATUS(status));
	if (WEXITSTATUS(status))
		return 2;
	return g_sup.phase == PH_RUN || (g_sup.phase == PH_SETTLE && !g_sup.signalled) ? 1 : 0;
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop, (void)revents;
	struct child *k = w->data;
	char why[160];
	k->alive = 0;
	ev_child_stop(g_sup.loop, w);
	int severity = death_severity(k, w->rstatus, why, sizeof why);
	if (severity)
		set_failure(severity, why);
	if (g_sup.phase == PH_RUN) {
		g_sup.phase = PH_SETTLE;
		timer_once(&g_sup.settle, SETTLE_WAIT);
	}
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop, (void)revents;
	if (g_sup.signalled++) {
		if (g_sup.signalled == 2)
			nc_log("supervisor", "signal %d: already stopping", w->signum);
		return;
	}
	if (!g_sup.reason[0])
		snprintf(g_sup.reason, sizeof g_sup.reason, "stopped by signal %d", w->signum);
	if (g_sup.phase != PH_RUN)
		return; /* a child's death already started the sequence */
	g_sup.phase = PH_COLLECT;
	struct ns_ipc_msg m = { .type = NS_IPC_T_STATS_REQUEST };
	m.u.STATS_REQUEST.request_id = 1;
	for (int i = 0; i < NC_CHILDREN; i++)
		if (g_sup.kids[i].alive && ns_ipc_conn_send(&g_sup.kids[i].conn, &m) == 0)
			g_sup.stats_asked++;
	if (!g_sup.stats_asked)
		end_run();
	timer_once(&g_sup.collect, COLLECT_WAIT);
}

/* ---- apid's list: QUEUED_FRAGMENT ... QUEUED_END */

static void on_queued_fragment(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct handover *h = &g_sup.ho;
	const struct ns_ipc_QUEUED_FRAGMENT *q = &m->u.QUEUED_FRAGMENT;
	if (h->ended)
		return; /* a list after the list: apid sends one */
	if (!h->started) {
		h->started = 1;
		nc_unsent_init(&h->out, g_sup.setup->dirs.data_dir);
	}
	struct ns_unsent_rec r = { .lane = q->lane, .fragment = q->fragment.ptr, .len = q->fragment.len };
	memcpy(r.frag_id, q->frag_id.ptr, 5);
	memcpy(r.recipient, q->recipient.ptr, 96);
	nc_unsent_add(&h->out, &r);
	ns_memzero(&r, sizeof r);
	h->received++;
	if (ev_is_active(&g_sup.idle))
		ev_timer_again(g_sup.loop, &g_sup.idle);
}

static void on_queued_end(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct handover *h = &g_sup.ho;
	if (h->ended)
		return;
	if (!h->started) {
		h->started = 1;
		nc_unsent_init(&h->out, g_sup.setup->dirs.data_dir);
	}
	h->ended = 1;
	h->announced = m->u.QUEUED_END.persisted;
	h->dropped = m->u.QUEUED_END.dropped;
}

static void on_handover_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	ev_timer_stop(g_sup.loop, w);
}

/* The file, and a line for each way fragments were lost. */
static void finish_handover(int asked)
{
	struct handover *h = &g_sup.ho;
	struct nc_unsent_result res;
	char why[320];
	int complete = h->ended && h->announced == h->received && !h->out.failed;
	if (!h->started && !asked)
		return; /* no list was ever coming: the file stays as it is */
	if (!h->started)
		nc_unsent_init(&h->out, g_sup.setup->dirs.data_dir);
	int rc = nc_unsent_commit(&h->out, complete, &res);
	nc_log("supervisor", "%llu fragments persisted, %llu dropped%s",
	       (unsigned long long)(res.action == NC_UNSENT_KEPT_OLD ? 0 : h->out.written),
	       (unsigned long long)(h->dropped + h->out.failed +
	                            (res.action == NC_UNSENT_KEPT_OLD ? h->out.written : 0)),
	       h->out.failed ? " (some could not be written)" : "");
	if (!h->ended) {
		snprintf(why, sizeof why, "%s stopped before the end of its list (%llu fragments "
		         "received%s): the rest of its unacknowledged fragments are lost",
		         nc_kind->front, (unsigned long long)h->received, h->closed ? "" : ", nothing for 10 s");
		note_lost(why);
	} else if (h->announced != h->received) {
		snprintf(why, sizeof why, "%s announced %llu fragments, %llu arrived",
		         nc_kind->front, (unsigned long long)h->announced, (unsigned long long)h->received);
		note_lost(why);
	}
	if (h->dropped) {
		snprintf(why, sizeof why, "%s dropped %llu reply fragments (their SURBs do not "
		         "outlive keyd)", nc_kind->front, (unsigned long long)h->dropped);
		note_lost(why);
	}
	if (rc < 0 || h->out.failed) {
		snprintf(why, sizeof why, "%llu fragments could not be written to %s (%s)%s",
		         (unsigned long long)(h->out.failed +
		                              (res.action == NC_UNSENT_KEPT_OLD ? h->out.written : 0)),
		         NS_UNSENT_FILE, strerror(-(rc < 0 ? rc : h->out.err)),
		         res.action == NC_UNSENT_KEPT_OLD ? "; the previous file was kept unchanged" : "");
		note_lost(why);
	}
	if (res.action == NC_UNSENT_MERGED && res.merged)
		nc_log("supervisor", "%zu records of the previous file merged in", res.merged);
}

/* apid first: SHUTDOWN, then its list until QUEUED_END, its socket's end, or no progress. */
static void handover_apid(void)
{
	struct child *k = &g_sup.kids[NC_APID];
	struct handover *h = &g_sup.ho;
	struct ns_ipc_msg m = { .type = NS_IPC_T_SHUTDOWN };
	m.u.SHUTDOWN.reason = g_sup.failed ? NS_IPC_STOP_PEER_FAILED : NS_IPC_STOP_SIGNAL;
	int asked = k->alive && k->ready && ns_ipc_conn_send(&k->conn, &m) == 0;
	k->told |= asked;
	/* a dead apid's last datagrams (a list sent on its own) may still wait in the socket */
	int listen = asked || (h->started && !h->ended) || (!k->alive && k->ready);
	if (listen && !h->closed && !h->ended) {
		ns_ipc_conn_set_priority(&k->conn, 0, 64);
		ev_timer_again(g_sup.loop, &g_sup.idle);
		while (!h->ended && !h->closed && ev_is_active(&g_sup.idle))
			ev_run(g_sup.loop, EVRUN_ONCE);
		ev_timer_stop(g_sup.loop, &g_sup.idle);
	}
	if (k->ready && !h->started && !asked && !k->alive) {
		char why[160];
		snprintf(why, sizeof why, "%s died: the fragments it held unacknowledged are lost "
		         "(the file of the last stop, if any, is kept)", nc_kind->front);
		note_lost(why);
	}
	finish_handover(asked || h->started);
}

/* ---- the start: resending what the last stop persisted */

static size_t resend_records(const uint8_t *buf, size_t len, size_t *off, char *err, size_t cap)
{
	struct nc_idset seen;
	size_t sent = 0;
	if (nc_idset_init(&seen, len / (NS_UNSENT_OVERHEAD + 1)) < 0) {
		snprintf(err, cap, "out of memory");
		return 0;
	}
	while (*off < len) {
		struct ns_unsent_rec r;
		size_t n = ns_unsent_decode(buf + *off, len - *off, &r, err, cap);
		if (!n)
			break;
		*off += n;
		if (!nc_idset_add(&seen, r.frag_id))
			continue; /* in both lists of a merge: once is enough */
		struct ns_ipc_msg m = { .type = NS_IPC_T_RESEND_FRAGMENT };
		m.u.RESEND_FRAGMENT.frag_id = NS_IPC_BYTES(r.frag_id, 5);
		m.u.RESEND_FRAGMENT.fragment = NS_IPC_BYTES(r.fragment, r.len);
		m.u.RESEND_FRAGMENT.recipient = NS_IPC_BYTES(r.recipient, 96);
		m.u.RESEND_FRAGMENT.lane = r.lane;
		if (ns_ipc_conn_send(&g_sup.kids[NC_APID].conn, &m) < 0) {
			snprintf(err, cap, "%s did not take them", nc_kind->front);
			break;
		}
		sent++;
	}
	nc_idset_free(&seen);
	return sent;
}

/* A corrupt file: set aside for a look; its valid records, already resent, stay persisted in
 * a new file so that a crash before the next stop loses nothing. */
static void set_corrupt_aside(const uint8_t *buf, size_t good, const char *why, size_t sent)
{
	struct nc_unsent_out o;
	struct nc_unsent_result res;
	char aside[NC_UNSENT_PATH_MAX + 32];
	nc_unsent_init(&o, g_sup.setup->dirs.data_dir);
	snprintf(aside, sizeof aside, "%s.corrupt-%lld", o.path, (long long)time(NULL));
	if (rename(o.path, aside) < 0)
		unlink(o.path);
	nc_warn("supervisor", "%s is corrupt at byte %zu (%s): %zu fragments resent, the file "
	       "was renamed to %s", o.path, good, why, sent, aside);
	if (good && (nc_unsent_write_raw(&o, buf, good) < 0 || nc_unsent_commit(&o, 1, &res) < 0)) {
		nc_unsent_abandon(&o);
		nc_error("supervisor", "cannot keep its %zu valid bytes in a new file: %s", good,
		       strerror(-o.err));
	}
}

static void resend_unsent(void)
{
	size_t len = 0, off = 0;
	int rerr = 0;
	char err[128] = "";
	uint8_t *buf = nc_unsent_read(g_sup.setup->dirs.data_dir, &len, &rerr);
	if (!buf && rerr == -ENOENT)
		return;
	if (!buf) {
		snprintf(err, sizeof err, "%s", rerr == -ELOOP ? "a symbolic link, not followed" :
		         rerr == -EINVAL ? "not a regular file" : strerror(-rerr));
		set_corrupt_aside(NULL, 0, err, 0);
		return;
	}
	size_t sent = resend_records(buf, len, &off, err, sizeof err);
	if (err[0] && off < len)
		set_corrupt_aside(buf, off, err, sent);
	else
		nc_log("supervisor", "%zu persisted fragments resent (the file stays until they are "
		       "acknowledged or persisted again)", sent);
	ns_memzero(buf, len);
	free(buf);
}

static const ns_ipc_handler sup_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_READY] = on_ready,
	[NS_IPC_T_STATS_REPLY] = on_stats,
	[NS_IPC_T_QUEUED_FRAGMENT] = on_queued_fragment,
	[NS_IPC_T_QUEUED_END] = on_queued_end,
};

/* ---- STOP: the others, then whatever is left is killed */

static int alive_count(void)
{
	int n = 0;
	for (int i = 0; i < NC_CHILDREN; i++)
		n += g_sup.kids[i].alive;
	return n;
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	for (int i = 0; i < NC_CHILDREN; i++)
		if (g_sup.kids[i].alive && kill(g_sup.kids[i].pid, SIGKILL) == 0)
			g_sup.kids[i].killed_by_us = 1;
}

static void stop_children(void)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_SHUTDOWN };
	m.u.SHUTDOWN.reason = g_sup.failed ? NS_IPC_STOP_PEER_FAILED : NS_IPC_STOP_SIGNAL;
	g_sup.phase = PH_STOP;
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		if (!k->alive || k->told)
			continue;
		k->told = 1;
		/* a failed send: its socket is closing, the child is on its way out (or the
		 * deadline ends it) */
		ns_ipc_send(k->conn.fd, NS_IPC_SUPERVISOR, k->role, &m);
	}
	timer_once(&g_sup.deadline, STOP_WAIT);
	while (alive_count())
		ev_run(g_sup.loop, EVRUN_ONCE);
	ev_timer_stop(g_sup.loop, &g_sup.deadline);
}

static int spawn_all(struct nc_setup *s)
{
	/* the front (apid, socksd or exitd) speaks the IPC as NS_IPC_APID */
	const struct { const char *name; enum ns_ipc_role role; int pair; } roles[NC_CHILDREN] = {
		{ "keyd", NS_IPC_KEYD, NC_SUP_KEYD },
		{ "netd", NS_IPC_NETD, NC_SUP_NETD },
		{ nc_kind->front, NS_IPC_APID, NC_SUP_APID },
	};
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		k->name = roles[i].name;
		k->role = roles[i].role;
		k->pair = roles[i].pair;
		k->pid = nc_spawn_role(k->name, s);
		if (k->pid < 0) {
			nc_error("supervisor", "fork %s: %s", k->name, strerror(errno));
			return -1;
		}
		k->alive = 1;
		ev_child_init(&k->watcher, on_child, k->pid, 0);
		k->watcher.data = k;
		ev_child_start(g_sup.loop, &k->watcher);
	}
	return 0;
}

static void watchers_init(void)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < 3; i++) {
		ev_signal_init(&g_sup.sig[i], on_signal, sigs[i]);
		ev_signal_start(g_sup.loop, &g_sup.sig[i]);
	}
	ev_timer_init(&g_sup.collect, on_timer_end_run, COLLECT_WAIT, 0.);
	ev_timer_init(&g_sup.settle, on_timer_end_run, SETTLE_WAIT, 0.);
	ev_timer_init(&g_sup.deadline, on_deadline, STOP_WAIT, 0.);
	ev_timer_init(&g_sup.idle, on_handover_idle, 0., HANDOVER_IDLE);
}

/* A local exit_policy_file (network requester): read here, as the user who runs the suite,
 * and handed to the front, which opens no file. */
static void send_policy_file(const struct nc_setup *s)
{
	char err[NS_SF_ERR_MAX + CLIENTCONF_PATH_MAX + 64] = "", why[NS_SF_ERR_MAX] = "";
	size_t len = 0;
	const char *path = s->conf.nr.exit_policy_file;
	char *text = ns_sf_read_all(path, NS_IPC_POLICY_TEXT_MAX, &len, 0, why, sizeof why);
	if (!text)
		snprintf(err, sizeof err, "cannot read the exit policy file %s: %s", path,
		         why[0] ? why : strerror(errno));
	if (nc_exit_policy_send(&g_sup.kids[NC_APID].conn, text, len, text ? NULL : err) < 0)
		nc_error("supervisor", "cannot hand the exit policy to %s", nc_kind->front);
	free(text);
}

static int exit_status(void)
{
	if (g_sup.failed)
		nc_error("supervisor", "FAILED: %s%s%s", g_sup.reason, g_sup.lost[0] ? "; " : "", g_sup.lost);
	else if (g_sup.lost[0])
		nc_warn("supervisor", "%s, but fragments were lost: %s", g_sup.reason, g_sup.lost);
	else
		nc_log("supervisor", "%s", g_sup.reason);
	return g_sup.failed ? 1 : g_sup.lost[0] ? 3 : 0;
}

int nc_supervisor_run(struct nc_setup *s)
{
	for (int i = 0; i < NC_PAIRS; i++)
		if (ns_ipc_socketpair(s->fds[i]) < 0) {
			nc_error("supervisor", "socketpair: %s", strerror(errno));
			return 1;
		}
	g_sup.setup = s;
	g_sup.loop = ev_default_loop(EVFLAG_AUTO);
	if (!g_sup.loop)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	watchers_init(); /* before the children: a signal from now on starts the stop sequence */
	int rc = spawn_all(s);
	int keep[NC_CHILDREN] = { s->fds[NC_SUP_KEYD][0], s->fds[NC_SUP_NETD][0],
		                  s->fds[NC_SUP_APID][0] };
	nc_close_except(s, keep, NC_CHILDREN);
	for (int i = 0; i < NC_CHILDREN; i++) {
		struct child *k = &g_sup.kids[i];
		if (k->alive)
			ns_ipc_conn_start(&k->conn, g_sup.loop, s->fds[k->pair][0], NS_IPC_SUPERVISOR,
			                  k->role, sup_handlers, on_conn_fatal, NULL);
	}
	if (rc < 0) {
		set_failure(4, "cannot start the children");
		stop_children();
		return exit_status();
	}
	nc_log("supervisor", "started keyd %d, netd %d, %s %d", (int)g_sup.kids[0].pid,
	       (int)g_sup.kids[1].pid, nc_kind->front, (int)g_sup.kids[2].pid);
	if (nc_exit_policy_source(&s->conf) == NC_POLICY_FILE)
		send_policy_file(s);
	ev_run(g_sup.loop, 0);
	ev_timer_stop(g_sup.loop, &g_sup.collect);
	ev_timer_stop(g_sup.loop, &g_sup.settle);
	g_sup.phase = PH_HANDOVER;
	handover_apid();
	stop_children();
	nc_remove_apid_sockets(s); /* the front runs as its own uid: it cannot remove them itself */
	return exit_status();
}
