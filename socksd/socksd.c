/* socksd: nym-socks5-client's front. Serves SOCKS4, SOCKS4a, SOCKS5 and (beyond Nym) HTTP
 * CONNECT on [core.socks5] bind_address and optionally on a 0600 Unix socket ([nymsuite]
 * unix_socket); every local connection becomes a connection at the network requester
 * (socksd_conn.c, socksd_mix.c) on the client engine. Holds no key; listeners and the admin
 * socket are opened before the sandbox. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin.h"
#include "engine/engine.h"
#include "nymclient.h"
#include "nymsphinx/address.h"
#include "proxy/runner.h"
#include "socksd.h"

#define ACCEPT_RETRY 0.5
#define HOUSEKEEPING 1.0

struct ev_loop *sd_loop;
struct ns_engine *sd_engine;
struct sd_conf sd_conf;

struct listener {
	int fd;
	ev_io io;
	ev_timer retry;
};

static struct {
	struct listener tcp, local;
	ev_timer housekeeping;
	char bind_text[96];
	struct sd_ratelog fds;
} g_sd = { .tcp.fd = -1, .local.fd = -1 };

void sd_log_limited(struct sd_ratelog *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_log_vlimited(&r->limit, NS_LOG_WARN, "socksd", fmt, ap);
	va_end(ap);
}

/* ---- listeners */

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct listener *l = w->data;
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
		ev_io_stop(loop, &l->io); /* it stays readable: watching would spin */
		ev_timer_start(loop, &l->retry);
		sd_log_limited(&g_sd.fds, "accept: %s (retrying)", strerror(errno));
		return;
	}
	if (fd >= 0)
		sd_conn_accept(fd);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct listener *l = w->data;
	ev_io_start(loop, &l->io);
}

static void listener_start(struct listener *l, int fd)
{
	l->fd = fd;
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	ev_timer_init(&l->retry, on_accept_retry, ACCEPT_RETRY, 0.);
	l->io.data = l->retry.data = l;
	ev_io_start(sd_loop, &l->io);
}

static int tcp_listen(const char *host, uint16_t port, char *err, size_t cap)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		len = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		len = sizeof *v6;
	} else {
		snprintf(err, cap, "bad address %s", host);
		return -1;
	}
	int one = 1, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, cap, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* As Nym, a bind failure is logged and the client runs on without the TCP listener. */
static int listeners_start(const struct clientconf_socks5 *s)
{
	char err[256];
	int v6 = strchr(s->bind_host, ':') != NULL;
	snprintf(g_sd.bind_text, sizeof g_sd.bind_text, "%s%s%s:%u", v6 ? "[" : "", s->bind_host,
	         v6 ? "]" : "", (unsigned)s->bind_port);
	int fd = tcp_listen(s->bind_host, s->bind_port, err, sizeof err);
	if (fd < 0)
		nc_error("socksd", "Failed to bind to address: %s: %s", g_sd.bind_text, err);
	else {
		listener_start(&g_sd.tcp, fd);
		nc_log("socksd", "Listening on %s", g_sd.bind_text);
	}
	if (!s->unix_socket[0])
		return 0;
	fd = nc_unix_listen(s->unix_socket, err, sizeof err);
	if (fd < 0) {
		nc_error("socksd", "unix socket: %s", err);
		return -1;
	}
	listener_start(&g_sd.local, fd);
	nc_log("socksd", "Listening on unix socket %s", s->unix_socket);
	return 0;
}

static void listener_stop(struct listener *l)
{
	if (l->fd < 0)
		return;
	ev_io_stop(sd_loop, &l->io);
	ev_timer_stop(sd_loop, &l->retry);
	close(l->fd);
	l->fd = -1;
}

/* ---- admin part: the connections */

static void add_connection(cJSON *list, const struct sd_conn *c, ev_tstamp now)
{
	char name[32];
	snprintf(name, sizeof name, "%llu", (unsigned long long)c->id);
	cJSON *o = cJSON_AddObjectToObject(list, name);
	cJSON_AddStringToObject(o, "remote", c->phase == SD_PROXYING ? c->remote : "(handshake)");
	cJSON_AddNumberToObject(o, "bytes_up", (double)c->bytes_up);
	uint64_t down = c->runner ? ns_runner_bytes_written(c->runner) : 0;
	cJSON_AddNumberToObject(o, "bytes_down", (double)down);
	cJSON_AddNumberToObject(o, "age_s", (double)(long long)(now - c->opened));
	cJSON_AddNumberToObject(o, "lane_depth",
	                        (double)ns_engine_lane_depth(sd_engine, c->id + 1));
	cJSON_AddNumberToObject(o, "lane_unacked",
	                        (double)ns_engine_lane_unacked(sd_engine, c->id + 1));
}

static cJSON *socksd_part(enum ns_admin_cmd cmd, const struct ns_engine *engine, void *ctx)
{
	(void)ctx;
	struct ns_engine_stats st;
	ns_engine_stats(engine, &st);
	cJSON *p = cJSON_CreateObject();
	if (cmd == NS_ADMIN_STATUS) {
		nc_admin_add_address(p, engine);
		cJSON_AddStringToObject(p, "listening", g_sd.tcp.fd >= 0 ? g_sd.bind_text : "-");
		cJSON_AddBoolToObject(p, "anonymous", sd_conf.anonymous);
	}
	cJSON_AddNumberToObject(p, "connections_open", (double)sd_conn_count());
	cJSON_AddNumberToObject(p, "max_connections", (double)sd_conf.max_connections);
	cJSON_AddNumberToObject(p, "messages_sent", (double)st.messages_sent);
	cJSON_AddNumberToObject(p, "anonymous_sent", (double)st.anonymous_sent);
	cJSON_AddNumberToObject(p, "unacked_fragments", (double)st.unacked);
	cJSON_AddNumberToObject(p, "fragments_given_up", (double)st.fragments_given_up);
	cJSON_AddNumberToObject(p, "surbs_sent", (double)st.surbs_sent);
	cJSON_AddNumberToObject(p, "surb_requests_served", (double)st.surb_requests_served);
	if (cmd == NS_ADMIN_STATUS) {
		cJSON *list = cJSON_AddObjectToObject(p, "connections");
		ev_tstamp now = ev_now(sd_loop);
		for (const struct sd_conn *c = sd_conn_list(); c; c = c->next)
			add_connection(list, c, now);
	}
	return p;
}

static const struct nc_admin_front admin_front = { .role = "socksd", .part = socksd_part };

/* ---- from the engine */

static void on_message(void *ctx, const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	(void)ctx, (void)sender_tag;
	sd_mix_on_message(msg, len);
}

static void on_self_address(void *ctx, const uint8_t address[NS_ENGINE_ADDRESS_LEN])
{
	(void)ctx;
	char text[NYM_RECIPIENT_STR_MAX] = "";
	struct nym_recipient r;
	if (nym_recipient_from_bytes(address, &r) == 0)
		nym_recipient_to_string(&r, text, sizeof text);
	nc_log("socksd", "Client startup finished!");
	nc_log("socksd", "The address of this client is: %s", text);
}

static void on_send_failed(void *ctx, void *owner, uint64_t msg_id, const char *why)
{
	(void)ctx, (void)msg_id;
	sd_conn_send_failed(owner, why);
}

static void on_shutdown(void *ctx)
{
	(void)ctx;
	listener_stop(&g_sd.tcp);
	listener_stop(&g_sd.local);
	ev_break(sd_loop, EVBREAK_ALL);
}

static void on_lane_sent(void *ctx, uint64_t lane)
{
	(void)ctx;
	sd_conn_lane_sent(lane);
}

static const struct ns_engine_cb engine_cb = { .on_message = on_message,
	                                       .on_self_address = on_self_address,
	                                       .on_send_failed = on_send_failed,
	                                       .on_shutdown = on_shutdown,
	                                       .on_status_reply = nc_admin_on_status_reply,
	                                       .on_lane_sent = on_lane_sent };

static void on_housekeeping(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	sd_mix_expire_held();
}

static void conf_from(const struct clientconf_socks5 *s)
{
	nym_recipient_to_bytes(&s->provider_mix_address, sd_conf.provider);
	sd_conf.anonymous = s->send_anonymously;
	sd_conf.start_surbs = s->connection_start_surbs;
	sd_conf.per_request_surbs = s->per_request_surbs;
	sd_conf.v.iface = s->provider_interface_version.legacy ? NR_VERSION_LEGACY
	                                                       : s->provider_interface_version.version;
	sd_conf.v.proto = s->socks5_protocol_version.legacy ? NR_VERSION_LEGACY
	                                                    : s->socks5_protocol_version.version;
	sd_conf.http_connect = s->http_connect;
	sd_conf.max_connections = (size_t)s->max_connections;
}

static int admin_start(const struct nc_setup *s)
{
	char admin[CLIENTCONF_PATH_MAX];
	if (clientconf_admin_path(&s->conf, &s->dirs, admin, sizeof admin) < 0) {
		nc_error("socksd", "admin socket path too long");
		return -1;
	}
	return nc_admin_start(sd_loop, admin, sd_engine, &admin_front);
}

int nc_socksd_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_APID][1], s->fds[NC_NETD_APID][1], s->fds[NC_SUP_APID][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	conf_from(&s->conf.socks5);
	sd_loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	if (!sd_loop)
		return 1;
	sd_engine = ns_engine_start(sd_loop, keep[0], keep[1], keep[2], &engine_cb, NULL);
	if (!sd_engine || listeners_start(&s->conf.socks5) < 0 || admin_start(s) < 0)
		return 1;
	if (nc_confine(NS_SANDBOX_SOCKSD, s, 0) < 0)
		return 1;
	ev_timer_init(&g_sd.housekeeping, on_housekeeping, HOUSEKEEPING, HOUSEKEEPING);
	ev_timer_start(sd_loop, &g_sd.housekeeping);
	ns_engine_ready(sd_engine);
	ev_run(sd_loop, 0);
	sd_conn_close_all();
	nc_admin_stop();
	listener_stop(&g_sd.tcp);
	listener_stop(&g_sd.local);
	ns_engine_free(sd_engine);
	return 0;
}
