/* nym-directory: a read-only nym-api (Nym b4046a89 client endpoints) for the localnet.
 *   nym-directory --listen 127.0.0.1:PORT --nodes DIR [--ready-file F] [--stats-file F]
 * Serves, from the node descriptors in DIR (loaded at start, reloaded on SIGHUP):
 *   GET /v1/nym-nodes/rewarded-set, /v1/epoch/key-rotation-info,
 *   /v2/unstable/nym-nodes/skimmed[/mixnodes/active|/mixnodes/all|/entry-gateways|/exit-gateways],
 *   /v2/unstable/nym-nodes/semi-skimmed, the v1 unstable skimmed variants, /topology.json.
 * A path may carry an "/api" prefix and trailing slashes. Always application/json, except
 *   GET /exit-policy.txt: DIR/../exit-policy.txt as text/plain (the network requester's
 *   upstream policy), 404 when that file does not exist. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_request.h"
#include "log.h"
#include "loopback.h"
#include "nodeconf.h"
#include "safefile.h"
#include "topology_json.h"

#define MAX_CONNECTIONS 256
#define IDLE_TIMEOUT_S 30.0
#define MAX_OUT_BYTES (4u << 20) /* a client that does not read gets disconnected */
#define EPOCH_DURATION_S 3600

enum route_id {
	R_REWARDED_SET, R_KEY_ROTATION, R_SKIMMED_ALL, R_SKIMMED_MIX_ACTIVE, R_SKIMMED_MIX_ALL,
	R_SKIMMED_ENTRY, R_SKIMMED_EXIT, R_SEMI_SKIMMED, R_V1_SKIMMED_ALL, R_V1_SKIMMED_MIX_ACTIVE,
	R_V1_SKIMMED_ENTRY_ALL, R_TOPOLOGY, R_COUNT
};

static const char *const route_paths[R_COUNT] = {
	[R_REWARDED_SET] = "/v1/nym-nodes/rewarded-set",
	[R_KEY_ROTATION] = "/v1/epoch/key-rotation-info",
	[R_SKIMMED_ALL] = "/v2/unstable/nym-nodes/skimmed",
	[R_SKIMMED_MIX_ACTIVE] = "/v2/unstable/nym-nodes/skimmed/mixnodes/active",
	[R_SKIMMED_MIX_ALL] = "/v2/unstable/nym-nodes/skimmed/mixnodes/all",
	[R_SKIMMED_ENTRY] = "/v2/unstable/nym-nodes/skimmed/entry-gateways",
	[R_SKIMMED_EXIT] = "/v2/unstable/nym-nodes/skimmed/exit-gateways",
	[R_SEMI_SKIMMED] = "/v2/unstable/nym-nodes/semi-skimmed",
	[R_V1_SKIMMED_ALL] = "/v1/unstable/nym-nodes/skimmed",
	[R_V1_SKIMMED_MIX_ACTIVE] = "/v1/unstable/nym-nodes/skimmed/mixnodes/active",
	[R_V1_SKIMMED_ENTRY_ALL] = "/v1/unstable/nym-nodes/skimmed/entry-gateways/all",
	[R_TOPOLOGY] = "/topology.json",
};

struct stats {
	unsigned long connections, requests, ok, not_found, bad_requests, bad_method;
};

struct server {
	struct ev_loop *loop;
	ev_io accept_w;
	ev_signal sigterm_w, sigint_w, sighup_w;
	ev_timer stats_w;
	const char *nodes_dir;
	const char *stats_file;
	char *body[R_COUNT];
	char *exit_policy; /* NULL: no DIR/../exit-policy.txt */
	struct ns_netinfo info; /* for the key-rotation info, rebuilt per request */
	int n_conns;
	struct stats st;
};

struct conn {
	ev_io io;
	ev_timer idle;
	struct server *srv;
	int fd;
	char in[NS_HTTP_MAX_HEAD + NS_HTTP_MAX_BODY];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	int close_after_write;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_logv(NS_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- response bodies */

static void free_bodies(char **body)
{
	for (int i = 0; i < R_COUNT; i++) {
		free(body[i]);
		body[i] = NULL;
	}
}

/* DIR/../exit-policy.txt, or NULL when there is none. */
static char *load_exit_policy(const char *dir)
{
	char path[4096], err[NS_SF_ERR_MAX];
	size_t len;
	snprintf(path, sizeof path, "%s/../exit-policy.txt", dir);
	char *text = ns_sf_read_all(path, 1u << 20, &len, 0, err, sizeof err);
	if (text && strlen(text) != len) { /* served as a C string: no NUL inside */
		free(text);
		text = NULL;
	}
	return text;
}

static int build_bodies(const char *dir, char **body, struct ns_netinfo *info_out)
{
	struct ns_nodeconf *nodes;
	size_t n;
	struct toml_error err;
	if (ns_nodeconf_load_dir(dir, &nodes, &n, &err) < 0) {
		logf_("cannot load node descriptors from %s: %s (line %d)", dir, err.msg, err.line);
		return -1;
	}
	if (n == 0) {
		logf_("no node descriptors (*.toml) in %s", dir);
		free(nodes);
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		if (nodes[i].key_rotation_id != nodes[0].key_rotation_id ||
		    nodes[i].absolute_epoch_id != nodes[0].absolute_epoch_id) {
			logf_("descriptors disagree on key_rotation_id / absolute_epoch_id (%s vs %s)",
			      nodes[0].name, nodes[i].name);
			free(nodes);
			return -1;
		}
	}
	time_t now = time(NULL);
	struct ns_netinfo info = {
		.key_rotation_id = nodes[0].key_rotation_id,
		.absolute_epoch_id = nodes[0].absolute_epoch_id,
		.refreshed_at = now,
		.epoch_start = now - 60,
		.epoch_duration_secs = EPOCH_DURATION_S,
	};
	body[R_REWARDED_SET] = ns_topojson_rewarded_set(nodes, n, &info);
	body[R_KEY_ROTATION] = ns_topojson_key_rotation_info(&info);
	body[R_SKIMMED_ALL] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_ALL, 0);
	body[R_SKIMMED_MIX_ACTIVE] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_MIXNODES_ACTIVE, 0);
	body[R_SKIMMED_MIX_ALL] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_MIXNODES_ALL, 0);
	body[R_SKIMMED_ENTRY] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_ENTRY_GATEWAYS, 0);
	body[R_SKIMMED_EXIT] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_EXIT_GATEWAYS, 0);
	body[R_SEMI_SKIMMED] = ns_topojson_skimmed(nodes, n, &info, NS_FILTER_ALL, 1);
	body[R_V1_SKIMMED_ALL] = ns_topojson_skimmed_v1(nodes, n, &info, NS_FILTER_ALL);
	body[R_V1_SKIMMED_MIX_ACTIVE] = ns_topojson_skimmed_v1(nodes, n, &info, NS_FILTER_MIXNODES_ACTIVE);
	body[R_V1_SKIMMED_ENTRY_ALL] = ns_topojson_skimmed_v1(nodes, n, &info, NS_FILTER_ENTRY_GATEWAYS);
	body[R_TOPOLOGY] = ns_topojson_wasm_topology(nodes, n, &info, 0);
	free(nodes);
	*info_out = info;
	for (int i = 0; i < R_COUNT; i++) {
		if (!body[i]) {
			logf_("cannot build %s (key_rotation_id > absolute_epoch_id?)", route_paths[i]);
			free_bodies(body);
			return -1;
		}
	}
	logf_("serving %zu nodes from %s", n, dir);
	return 0;
}

/* ---------------------------------------------------------------- routing */

/* Strips an "/api" prefix and trailing slashes; returns the route or -1. */
static int find_route(const char *path)
{
	char p[NS_HTTP_TARGET_MAX];
	snprintf(p, sizeof p, "%s", path);
	if (strncmp(p, "/api/", 5) == 0)
		memmove(p, p + 4, strlen(p + 4) + 1);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	for (int i = 0; i < R_COUNT; i++)
		if (strcmp(p, route_paths[i]) == 0)
			return i;
	return -1;
}

static int valid_u32(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 10)
		return 0;
	unsigned long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 0xffffffffULL;
}

/* page / per_page must be u32 (axum's Query would reject otherwise); output json|bincode. */
static int query_ok(const char *query)
{
	static const char *const numeric[] = { "page", "per_page" };
	char v[64];
	for (size_t i = 0; i < 2; i++) {
		int r = ns_http_query_param(query, numeric[i], v, sizeof v);
		if (r < 0 || (r == 1 && !valid_u32(v)))
			return 0;
	}
	int r = ns_http_query_param(query, "output", v, sizeof v);
	if (r < 0 || (r == 1 && strcmp(v, "json") != 0 && strcmp(v, "bincode") != 0 && strcmp(v, "yaml") != 0))
		return 0;
	return 1;
}

/* ---------------------------------------------------------------- connections */

static void conn_close(struct conn *c)
{
	ev_io_stop(c->srv->loop, &c->io);
	ev_timer_stop(c->srv->loop, &c->idle);
	close(c->fd);
	c->srv->n_conns--;
	free(c->out);
	free(c);
}

static int out_append(struct conn *c, const char *data, size_t n)
{
	if (c->out_len + n > MAX_OUT_BYTES)
		return -1;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (!o)
			return -1;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static int respond_typed(struct conn *c, int status, const char *type, const char *body,
                         int head_only, int keep_alive)
{
	char head[512];
	size_t blen = strlen(body);
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Access-Control-Allow-Origin: *\r\n%sConnection: %s\r\n\r\n",
	                 status, status_text(status), type, blen,
	                 status == 405 ? "Allow: GET, HEAD\r\n" : "", keep_alive ? "keep-alive" : "close");
	if (out_append(c, head, (size_t)n) < 0 || (!head_only && out_append(c, body, blen) < 0))
		return -1;
	if (!keep_alive)
		c->close_after_write = 1;
	return 0;
}

static int respond(struct conn *c, int status, const char *body, int head_only, int keep_alive)
{
	return respond_typed(c, status, "application/json", body, head_only, keep_alive);
}

static int respond_error(struct conn *c, int status, const char *msg, int head_only, int keep_alive)
{
	char body[256];
	snprintf(body, sizeof body, "{\"message\":\"%s\"}", msg);
	return respond(c, status, body, head_only, keep_alive);
}

/* A CORS preflight: a browser asks before a cross-origin GET with a header that is not "simple"
 * (Nym's wasm clients send Content-Type: application/bincode on their GETs), as Nym's API allows. */
static int respond_preflight(struct conn *c, int keep_alive)
{
	static const char head[] =
		"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n"
		"Access-Control-Allow-Methods: GET, HEAD\r\n"
		"Access-Control-Allow-Headers: Accept, Content-Type\r\n"
		"Access-Control-Max-Age: 600\r\nContent-Length: 0\r\n";
	if (out_append(c, head, sizeof head - 1) < 0)
		return -1;
	const char *conn = keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
	if (out_append(c, conn, strlen(conn)) < 0)
		return -1;
	if (!keep_alive)
		c->close_after_write = 1;
	return 0;
}

static int handle_request(struct conn *c, const struct ns_http_request *req)
{
	struct server *s = c->srv;
	s->st.requests++;
	int head = strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->method, "OPTIONS") == 0) {
		s->st.ok++;
		return respond_preflight(c, req->keep_alive);
	}
	if (strcmp(req->method, "GET") != 0 && !head) {
		s->st.bad_method++;
		return respond_error(c, 405, "method not allowed", 0, req->keep_alive);
	}
	if (strcmp(req->path, "/exit-policy.txt") == 0 && s->exit_policy) {
		s->st.ok++;
		return respond_typed(c, 200, "text/plain", s->exit_policy, head, req->keep_alive);
	}
	int r = find_route(req->path);
	if (r < 0) {
		s->st.not_found++;
		return respond_error(c, 404, "no such endpoint", head, req->keep_alive);
	}
	if (!query_ok(req->query)) {
		s->st.bad_requests++;
		return respond_error(c, 400, "bad query parameters", head, req->keep_alive);
	}
	s->st.ok++;
	if (r == R_KEY_ROTATION) {
		/* the client derives the current epoch from current_epoch_start and the time elapsed
		 * since: keep the (never ending) epoch starting a minute ago */
		struct ns_netinfo info = s->info;
		info.epoch_start = time(NULL) - 60;
		char *body = ns_topojson_key_rotation_info(&info);
		int rc = body ? respond(c, 200, body, head, req->keep_alive) : -1;
		free(body);
		return rc;
	}
	return respond(c, 200, s->body[r], head, req->keep_alive);
}

static int error_status(long rc)
{
	switch (rc) {
	case NS_HTTP_ERR_TOO_LARGE: return 431;
	case NS_HTTP_ERR_VERSION: return 505;
	case NS_HTTP_ERR_BODY: return 413;
	default: return 400;
	}
}

/* Handles every complete request in the input buffer (pipelining allowed). */
static int process_input(struct conn *c)
{
	while (!c->close_after_write && c->in_len > 0) {
		struct ns_http_request req;
		long rc = ns_http_parse_request(c->in, c->in_len, &req);
		if (rc == NS_HTTP_NEED_MORE)
			return 0;
		if (rc < 0) {
			c->srv->st.bad_requests++;
			c->in_len = 0;
			return respond_error(c, error_status(rc), "malformed request", 0, 0);
		}
		if (handle_request(c, &req) < 0)
			return -1;
		memmove(c->in, c->in + rc, c->in_len - (size_t)rc);
		c->in_len -= (size_t)rc;
	}
	return 0;
}

static void update_events(struct conn *c)
{
	int want = c->out_off < c->out_len ? EV_WRITE : (c->close_after_write ? 0 : EV_READ);
	if (want == 0) {
		conn_close(c);
		return;
	}
	if ((c->io.events & (EV_READ | EV_WRITE)) != want) {
		ev_io_stop(c->srv->loop, &c->io);
		ev_io_set(&c->io, c->fd, want);
		ev_io_start(c->srv->loop, &c->io);
	}
}

static int flush_output(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)w;
	ev_timer_again(loop, &c->idle);
	if (revents & EV_READ) {
		ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
			conn_close(c);
			return;
		}
		if (r > 0) {
			c->in_len += (size_t)r;
			if (process_input(c) < 0) {
				conn_close(c);
				return;
			}
		}
	}
	if (flush_output(c) < 0) {
		conn_close(c);
		return;
	}
	update_events(c);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_close((struct conn *)((char *)w - offsetof(struct conn, idle)));
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct server *s = (struct server *)((char *)w - offsetof(struct server, accept_w));
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (s->n_conns >= MAX_CONNECTIONS) {
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = s;
		s->n_conns++;
		s->st.connections++;
		ev_io_init(&c->io, conn_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->idle, idle_cb, 0., IDLE_TIMEOUT_S);
		ev_timer_again(loop, &c->idle);
	}
}

/* ---------------------------------------------------------------- signals, stats, main */

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void reload_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct server *s = w->data;
	char *fresh[R_COUNT] = { 0 };
	struct ns_netinfo info;
	if (build_bodies(s->nodes_dir, fresh, &info) < 0) {
		logf_("reload failed; keeping the previous data");
		return;
	}
	free_bodies(s->body);
	memcpy(s->body, fresh, sizeof fresh);
	s->info = info;
}

static void stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct server *s = w->data;
	char json[512];
	int n = snprintf(json, sizeof json,
	                 "{\"node\":\"directory\",\"connections\":%lu,\"open_connections\":%d,"
	                 "\"requests\":%lu,\"ok\":%lu,\"not_found\":%lu,\"bad_requests\":%lu,"
	                 "\"bad_method\":%lu}\n",
	                 s->st.connections, s->n_conns, s->st.requests, s->st.ok, s->st.not_found,
	                 s->st.bad_requests, s->st.bad_method);
	ns_write_file_atomic(s->stats_file, json, (size_t)n, 0644);
}

/* After start-up the server only accepts, reads, writes and rewrites its files: refuse
 * (EPERM) the syscalls an attacker would need to go further. A deny-list, so that libev,
 * libc and the sanitizers keep working. */
static int restrict_syscalls(void)
{
	static const int denied[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(socket),
#if !defined(__SANITIZE_ADDRESS__) /* LeakSanitizer ptraces the process at exit */
		SCMP_SYS(ptrace),
#endif
		SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
		SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
		SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(kexec_load), SCMP_SYS(init_module),
		SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(process_vm_readv),
		SCMP_SYS(process_vm_writev), SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(bpf),
		SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd), SCMP_SYS(unshare), SCMP_SYS(setns),
		SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(link),
		SCMP_SYS(symlink), SCMP_SYS(mknod),
	};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof denied / sizeof denied[0]; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: nym-directory --listen 127.0.0.1:PORT --nodes DIR [--ready-file FILE] "
	                "[--stats-file FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *listen_addr = NULL, *ready_file = NULL;
	struct server s = { 0 };
	ns_log_init("nym-directory", NULL, ns_log_level_from_env("nym-directory", NULL, -1),
	            ns_log_detect_output() | NS_LOG_TIME);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (strcmp(a, "--listen") == 0)
			listen_addr = v;
		else if (strcmp(a, "--nodes") == 0)
			s.nodes_dir = v;
		else if (strcmp(a, "--ready-file") == 0)
			ready_file = v;
		else if (strcmp(a, "--stats-file") == 0)
			s.stats_file = v;
		else
			usage();
		i++;
	}
	if (!listen_addr || !s.nodes_dir)
		usage();
	signal(SIGPIPE, SIG_IGN);
	s.exit_policy = load_exit_policy(s.nodes_dir);
	if (build_bodies(s.nodes_dir, s.body, &s.info) < 0)
		return 1;
	int lfd = ns_loopback_listen(listen_addr);
	if (lfd < 0) {
		logf_("cannot listen on %s (loopback addresses only): %s", listen_addr, strerror(errno));
		return 1;
	}
	s.loop = EV_DEFAULT;
	ev_io_init(&s.accept_w, accept_cb, lfd, EV_READ);
	ev_io_start(s.loop, &s.accept_w);
	ev_signal_init(&s.sigterm_w, stop_cb, SIGTERM);
	ev_signal_init(&s.sigint_w, stop_cb, SIGINT);
	ev_signal_init(&s.sighup_w, reload_cb, SIGHUP);
	s.sighup_w.data = &s;
	ev_signal_start(s.loop, &s.sigterm_w);
	ev_signal_start(s.loop, &s.sigint_w);
	ev_signal_start(s.loop, &s.sighup_w);
	if (s.stats_file) {
		ev_timer_init(&s.stats_w, stats_cb, 0., 1.);
		s.stats_w.data = &s;
		ev_timer_start(s.loop, &s.stats_w);
	}
	if (restrict_syscalls() < 0) {
		logf_("cannot install the seccomp filter");
		return 1;
	}
	logf_("listening on %s", listen_addr);
	if (ready_file && ns_write_file_atomic(ready_file, "ready\n", 6, 0644) < 0) {
		logf_("cannot write %s", ready_file);
		return 1;
	}
	ev_run(s.loop, 0);
	logf_("shutting down");
	close(lfd);
	free_bodies(s.body);
	free(s.exit_policy);
	return 0;
}
