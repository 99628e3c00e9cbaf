/* nymctl's admin socket for every front (admin.h): the socket, the line protocol, keyd's and
 * netd's STATUS merged with the front's part. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "admin.h"
#include "engine/engine.h"
#include "ipc.h"
#include "nymclient.h"
#include "nymsphinx/address.h"

#define ADMIN_WAIT 2.0
#define MAX_ADMIN_CONNS 16

struct aconn {
	struct aconn *next;
	int fd, dead, busy, eof;
	ev_io rio, wio;
	ev_timer wait;
	char in[NS_ADMIN_LINE_MAX];
	size_t in_len;
	char *out;
	size_t off, len;
	/* the request waiting for keyd and netd */
	enum ns_admin_cmd cmd;
	uint64_t request_id;
	char *reply[2]; /* 0 keyd, 1 netd */
};

static struct {
	struct ev_loop *loop;
	int fd;
	char path[CLIENTCONF_PATH_MAX];
	ev_io accept_io;
	ev_timer accept_retry;
	ev_prepare reaper;
	struct aconn *conns;
	struct ns_ipc_conn *peer[2]; /* keyd, netd */
	struct ns_engine *engine;
	const struct nc_admin_front *front;
	uint64_t next_id;
} g_ad = { .fd = -1 };

static const char *const PEER_NAME[2] = { "keyd", "netd" };

/* Stops reading; what is queued is still written, then the reaper frees it. */
static void conn_kill(struct aconn *c)
{
	c->dead = 1;
	ev_io_stop(g_ad.loop, &c->rio);
	ev_timer_stop(g_ad.loop, &c->wait);
}

static int conn_done(const void *node)
{
	const struct aconn *c = node;
	return c->dead && c->off >= c->len;
}

static void conn_free(void *node)
{
	struct aconn *c = node;
	close(c->fd);
	free(c->out);
	free(c->reply[0]);
	free(c->reply[1]);
	free(c);
}

static void on_reap(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	nc_reap_list(&g_ad.conns, offsetof(struct aconn, next), conn_done, conn_free);
}

static void flush_out(struct aconn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->out + c->off, c->len - c->off);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->off = c->len;
			ev_io_stop(g_ad.loop, &c->wio);
			conn_kill(c);
			return;
		}
		c->off += (size_t)n;
	}
	if (c->off < c->len)
		ev_io_start(g_ad.loop, &c->wio);
	else
		ev_io_stop(g_ad.loop, &c->wio);
}

/* Sends one response line (takes ownership of json). */
static void respond(struct aconn *c, char *json)
{
	size_t n = json ? strlen(json) : 0;
	char *line = json ? realloc(json, n + 2) : NULL;
	if (!line) {
		free(json);
		conn_kill(c);
		return;
	}
	line[n] = '\n';
	line[n + 1] = 0;
	free(c->out);
	c->out = line;
	c->off = 0;
	c->len = n + 1;
	flush_out(c);
}

static void respond_error(struct aconn *c, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	respond(c, cJSON_PrintUnformatted(j));
	cJSON_Delete(j);
}

/* ---- composing an answer */

/* Which keys of keyd's and netd's objects a command shows: a key is kept when it contains
 * one of the words (NULL = every key; stats keeps numbers only). */
static const char *const GATEWAY_WORDS[] = { "gateway", "connected", "reconnect", "protocol",
	                                     "session", NULL };
static const char *const TOPOLOGY_WORDS[] = { "topology", "nym_api", NULL };

static int key_wanted(enum ns_admin_cmd cmd, const cJSON *v)
{
	const char *const *words = cmd == NS_ADMIN_GATEWAY ? GATEWAY_WORDS :
	                           cmd == NS_ADMIN_TOPOLOGY ? TOPOLOGY_WORDS : NULL;
	if (cmd == NS_ADMIN_STATS)
		return cJSON_IsNumber(v);
	if (!words)
		return 1;
	for (; *words; words++)
		if (strstr(v->string, *words))
			return 1;
	return 0;
}

static void add_part(cJSON *out, const char *name, const char *json, enum ns_admin_cmd cmd)
{
	cJSON *src = cJSON_Parse(json), *part = cJSON_CreateObject();
	for (cJSON *v = src ? src->child : NULL; v; v = v->next)
		if (key_wanted(cmd, v))
			cJSON_AddItemToObject(part, v->string, cJSON_Duplicate(v, 0));
	cJSON_AddItemToObject(out, name, part);
	cJSON_Delete(src);
}

void nc_admin_add_address(cJSON *out, const struct ns_engine *engine)
{
	char addr[NYM_RECIPIENT_STR_MAX] = "";
	uint8_t self[NS_ENGINE_ADDRESS_LEN];
	struct nym_recipient r;
	if (ns_engine_self_address(engine, self) == 0 && nym_recipient_from_bytes(self, &r) == 0)
		nym_recipient_to_string(&r, addr, sizeof addr);
	cJSON_AddStringToObject(out, "address", addr[0] ? addr : "(not known yet)");
}

static void add_front_part(cJSON *out, enum ns_admin_cmd cmd)
{
	cJSON *p = g_ad.front->part ? g_ad.front->part(cmd, g_ad.engine, g_ad.front->ctx) : NULL;
	if (p)
		cJSON_AddItemToObject(out, g_ad.front->role, p);
}

static void answer(struct aconn *c)
{
	cJSON *out = cJSON_CreateObject(), *missing = NULL;
	cJSON_AddStringToObject(out, "cmd", ns_admin_cmd_name(c->cmd));
	if (c->cmd == NS_ADMIN_ADDRESS) {
		nc_admin_add_address(out, g_ad.engine);
	} else {
		if (c->cmd == NS_ADMIN_STATUS || c->cmd == NS_ADMIN_STATS)
			add_front_part(out, c->cmd);
		for (int i = 0; i < 2; i++) {
			if (c->reply[i]) {
				add_part(out, PEER_NAME[i], c->reply[i], c->cmd);
				continue;
			}
			if (!missing)
				missing = cJSON_AddArrayToObject(out, "missing");
			cJSON_AddItemToArray(missing, cJSON_CreateString(PEER_NAME[i]));
		}
	}
	respond(c, cJSON_PrintUnformatted(out));
	cJSON_Delete(out);
	free(c->reply[0]);
	free(c->reply[1]);
	c->reply[0] = c->reply[1] = NULL;
	c->busy = 0;
	ev_timer_stop(g_ad.loop, &c->wait);
}

static void handle_lines(struct aconn *c);

/* After an answer: the lines that came meanwhile, then close if the app has gone. */
static void answered_late(struct aconn *c)
{
	handle_lines(c);
	if (!c->busy && !c->dead && c->eof && c->off == c->len &&
	    !memchr(c->in, '\n', c->in_len))
		conn_kill(c);
}

static void on_wait_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct aconn *c = w->data;
	for (int i = 0; i < 2; i++)
		if (!c->reply[i])
			nc_warn(g_ad.front->role, "admin: %s did not answer STATUS_REQUEST within %.0f s",
			       PEER_NAME[i], ADMIN_WAIT);
	answer(c);
	answered_late(c);
}

void nc_admin_on_status_reply(struct ns_ipc_conn *ipc, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	int who = ipc->peer == NS_IPC_NETD;
	const struct ns_ipc_bytes *j = &m->u.STATUS_REPLY.json;
	for (struct aconn *c = g_ad.conns; c; c = c->next) {
		if (!c->busy || c->request_id != m->u.STATUS_REPLY.request_id || c->reply[who])
			continue;
		if (!ns_admin_is_flat_object((const char *)j->ptr, j->len)) {
			nc_warn(g_ad.front->role, "admin: %s's status is not a flat JSON object (ignored)",
			       PEER_NAME[who]);
			return;
		}
		c->reply[who] = strndup((const char *)j->ptr, j->len);
		if (c->reply[0] && c->reply[1]) {
			answer(c);
			answered_late(c);
		}
		return;
	}
}

static void start_request(struct aconn *c, enum ns_admin_cmd cmd)
{
	c->cmd = cmd;
	c->busy = 1;
	if (cmd == NS_ADMIN_ADDRESS) {
		answer(c);
		return;
	}
	ev_io_stop(g_ad.loop, &c->rio); /* one request at a time per connection */
	c->request_id = ++g_ad.next_id;
	struct ns_ipc_msg m = { .type = NS_IPC_T_STATUS_REQUEST };
	m.u.STATUS_REQUEST.request_id = c->request_id;
	for (int i = 0; i < 2; i++)
		if (ns_ipc_conn_send(g_ad.peer[i], &m) < 0)
			nc_warn(g_ad.front->role, "admin: cannot ask %s for its status", PEER_NAME[i]);
	ev_timer_set(&c->wait, ADMIN_WAIT, 0.);
	ev_timer_start(g_ad.loop, &c->wait);
}

/* Handles every complete line in c->in, in order; returns when a request is pending or an
 * answer is still being written (on_write comes back here). */
static void handle_lines(struct aconn *c)
{
	char *nl;
	while (!c->busy && !c->dead && c->off == c->len &&
	       (nl = memchr(c->in, '\n', c->in_len))) {
		size_t n = (size_t)(nl - c->in);
		char err[128];
		enum ns_admin_cmd cmd;
		int rc = ns_admin_parse_request(c->in, n, &cmd, err, sizeof err);
		c->in_len -= n + 1;
		memmove(c->in, nl + 1, c->in_len);
		if (rc < 0)
			respond_error(c, err);
		else
			start_request(c, cmd);
	}
	if (!c->busy && c->in_len == sizeof c->in && !memchr(c->in, '\n', c->in_len)) {
		respond_error(c, "request line too long");
		conn_kill(c);
		return;
	}
	/* read on while there is room and nothing is pending */
	if (c->busy || c->dead || c->eof || c->in_len == sizeof c->in)
		ev_io_stop(g_ad.loop, &c->rio);
	else
		ev_io_start(g_ad.loop, &c->rio);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct aconn *c = w->data;
	if (c->in_len == sizeof c->in) {
		ev_io_stop(g_ad.loop, &c->rio); /* full of lines waiting for their turn */
		return;
	}
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		conn_kill(c);
		return;
	}
	if (n == 0)
		c->eof = 1; /* answer every complete line first, then close */
	c->in_len += (size_t)n;
	answered_late(c);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct aconn *c = w->data;
	flush_out(c);
	if (!c->busy && !c->dead && c->off == c->len)
		answered_late(c); /* lines that arrived while the answer was being written */
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	int fd = accept4(g_ad.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
		ev_io_stop(g_ad.loop, &g_ad.accept_io); /* it stays readable: watching would spin */
		ev_timer_start(g_ad.loop, &g_ad.accept_retry);
		if (g_ad.front->on_fd_refusal)
			g_ad.front->on_fd_refusal(g_ad.front->ctx);
		return;
	}
	if (fd < 0)
		return;
	size_t n = 0;
	for (struct aconn *c = g_ad.conns; c; c = c->next)
		n += !c->dead;
	struct aconn *c = n < MAX_ADMIN_CONNS ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&c->wait, on_wait_expired, ADMIN_WAIT, 0.);
	c->rio.data = c->wio.data = c->wait.data = c;
	c->next = g_ad.conns;
	g_ad.conns = c;
	ev_io_start(g_ad.loop, &c->rio);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w, (void)revents;
	ev_io_start(loop, &g_ad.accept_io);
}

int nc_admin_start(struct ev_loop *loop, const char *path, struct ns_engine *engine,
                   const struct nc_admin_front *front)
{
	char err[256];
	g_ad.loop = loop;
	g_ad.engine = engine;
	g_ad.front = front;
	g_ad.peer[0] = ns_engine_peer(engine, NS_ENGINE_KEYD);
	g_ad.peer[1] = ns_engine_peer(engine, NS_ENGINE_NETD);
	g_ad.fd = nc_unix_listen(path, err, sizeof err);
	if (g_ad.fd < 0) {
		nc_error(front->role, "admin socket: %s", err);
		return -1;
	}
	snprintf(g_ad.path, sizeof g_ad.path, "%s", path);
	ev_io_init(&g_ad.accept_io, on_accept, g_ad.fd, EV_READ);
	ev_io_start(loop, &g_ad.accept_io);
	ev_timer_init(&g_ad.accept_retry, on_accept_retry, 0.5, 0.);
	ev_prepare_init(&g_ad.reaper, on_reap);
	ev_prepare_start(loop, &g_ad.reaper);
	nc_log(front->role, "admin socket on %s", path);
	return 0;
}

void nc_admin_stop(void)
{
	if (g_ad.fd < 0)
		return;
	for (struct aconn *c = g_ad.conns; c; c = c->next) {
		c->off = c->len;
		ev_io_stop(g_ad.loop, &c->wio);
		conn_kill(c);
	}
	on_reap(g_ad.loop, &g_ad.reaper, 0);
	ev_io_stop(g_ad.loop, &g_ad.accept_io);
	ev_timer_stop(g_ad.loop, &g_ad.accept_retry);
	ev_prepare_stop(g_ad.loop, &g_ad.reaper);
	close(g_ad.fd);
	g_ad.fd = -1; /* the socket file: removed by the supervisor (the front may not own it) */
}
