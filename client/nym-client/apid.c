/* apid: serves local apps Nym's websocket API (common/clientapi) on host:port, many apps at
 * once. Splits each message into fragments (no key needed), asks keyd to build them, keeps
 * them until their ack arrives (rebuilding on netd's ack timeout), reassembles the fragments
 * keyd decrypts and delivers every complete message to every connected app. Never holds a key.
 * Lanes on the IPC: 0 = General, n > 0 = ConnectionId(n - 1). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "clientapi.h"
#include "ipc.h"
#include "apid.h"
#include "nymclient.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"
#include "sandbox.h"
#include "websocket.h"

#define MAX_APPS 256

struct frag {
	struct frag *next;
	uint8_t id[5], recipient[96];
	uint64_t lane;
	size_t len;
	uint8_t data[];
};


struct apid {
	struct ev_loop *loop;
	struct ns_ipc_conn keyd, netd, sup;
	ns_ws_server *ws;
	struct nc_app apps[MAX_APPS];
	uint8_t self[96];
	int have_self;
	struct frag *frags;
	size_t n_frags;
	struct nym_reassembler *reasm;
	uint64_t sent_msgs, delivered;
};

static struct apid g_a;

static void send_to(struct ns_ipc_conn *c, const struct ns_ipc_msg *m)
{
	int rc = ns_ipc_conn_send(c, m);
	if (rc < 0) {
		nc_log("apid", "send %s: %s", ns_ipc_type_name(m->type), ns_ipc_strerror(rc));
		exit(1);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- answers to apps */

static void respond(struct nc_app *a, const struct capi_response *r)
{
	size_t len = 0;
	if (a->binary) {
		uint8_t *b = capi_response_to_binary(r, &len);
		if (b)
			a->t->send(a, 1, b, len);
		free(b);
	} else {
		char *t = capi_response_to_text(r, &len);
		if (t)
			a->t->send(a, 0, (const uint8_t *)t, len);
		free(t);
	}
}

static void respond_error(struct nc_app *a, uint8_t kind, const char *msg)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_ERROR;
	if (capi_error_set(&r.error, kind, msg, strlen(msg)) == 0)
		respond(a, &r);
	capi_response_free(&r);
}

/* ---- send path */

static void build(const struct frag *f)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_PACKET };
	m.u.BUILD_PACKET.frag_id = NS_IPC_BYTES(f->id, 5);
	m.u.BUILD_PACKET.fragment = NS_IPC_BYTES(f->data, f->len);
	m.u.BUILD_PACKET.recipient = NS_IPC_BYTES(f->recipient, 96);
	m.u.BUILD_PACKET.lane = f->lane;
	m.u.BUILD_PACKET.packet_size = NYM_PACKET_REGULAR;
	send_to(&g_a.keyd, &m);
}

static struct frag **find_frag(const uint8_t id[5])
{
	struct frag **p = &g_a.frags;
	while (*p && memcmp((*p)->id, id, 5))
		p = &(*p)->next;
	return p;
}

static int send_message(const struct capi_request *req)
{
	size_t ppp = nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR), padded_len = 0;
	uint8_t *padded = nym_msg_pad_alloc(NYM_MSG_PLAIN, req->message, req->message_len, ppp,
	                                    &padded_len);
	struct nym_fragment_list list;
	memset(&list, 0, sizeof list);
	if (!padded || nym_split_into_fragments(padded, padded_len, ppp, &list) != NYM_CHUNK_OK) {
		free(padded);
		return -1;
	}
	free(padded);
	uint64_t lane = req->has_connection_id ? req->connection_id + 1 : 0;
	for (size_t i = 0; i < list.count; i++) {
		struct frag *f = malloc(sizeof *f + list.lens[i]);
		if (!f)
			break;
		nym_frag_id_encode(&list.ids[i], f->id);
		nym_recipient_to_bytes(&req->recipient, f->recipient);
		f->lane = lane;
		f->len = list.lens[i];
		memcpy(f->data, list.frags[i], f->len);
		f->next = g_a.frags;
		g_a.frags = f;
		g_a.n_frags++;
		build(f);
	}
	nym_fragment_list_free(&list);
	g_a.sent_msgs++;
	return 0;
}

static void handle_request(struct nc_app *a, const struct capi_request *req)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	switch (req->type) {
	case CAPI_REQ_SELF_ADDRESS:
		if (!g_a.have_self || nym_recipient_from_bytes(g_a.self, &r.address) < 0) {
			respond_error(a, CAPI_OTHER, "the client address is not known yet");
			return;
		}
		r.type = CAPI_RESP_SELF_ADDRESS;
		respond(a, &r);
		return;
	case CAPI_REQ_SEND:
		if (send_message(req) < 0)
			respond_error(a, CAPI_OTHER, "the message could not be split into packets");
		return;
	case CAPI_REQ_GET_LANE_QUEUE_LENGTH:
		r.type = CAPI_RESP_LANE_QUEUE_LENGTH;
		r.lane = req->connection_id;
		r.queue_length = 0;
		respond(a, &r);
		return;
	case CAPI_REQ_CLOSED_CONNECTION:
		return;
	default:
		respond_error(a, CAPI_OTHER, "sendAnonymous and reply are not supported yet");
	}
}

/* ---- apps, whatever carries them (websocket here, Unix socket in apid_local.c) */

struct nc_app *nc_app_open(const struct nc_app_transport *t, void *conn, int binary)
{
	for (int i = 0; i < MAX_APPS; i++)
		if (!g_a.apps[i].t) {
			g_a.apps[i] = (struct nc_app){ .t = t, .conn = conn, .binary = binary };
			return &g_a.apps[i];
		}
	return NULL;
}

void nc_app_close(struct nc_app *a)
{
	memset(a, 0, sizeof *a);
}

int nc_app_request(struct nc_app *a, int binary, const uint8_t *data, size_t len)
{
	struct capi_request req;
	struct capi_error err = { 0 };
	a->binary = binary;
	int rc = binary ? capi_request_from_binary(data, len, &req, &err)
	                : capi_request_from_text((const char *)data, len, &req, &err);
	if (rc == CAPI_ERR) {
		struct capi_response r;
		memset(&r, 0, sizeof r);
		if (capi_response_from_error(&r, &err) == 0)
			respond(a, &r);
		capi_response_free(&r);
		capi_error_free(&err);
		return 0;
	}
	if (rc < 0)
		return -1;
	handle_request(a, &req);
	capi_request_free(&req);
	return 0;
}

/* ---- websocket transport */

static int ws_app_send(struct nc_app *a, int binary, const uint8_t *data, size_t len)
{
	return ns_ws_send(a->conn, binary ? NS_WS_BINARY : NS_WS_TEXT, data, len) < 0 ? -1 : 0;
}

static int ws_app_is_open(const struct nc_app *a)
{
	return ns_ws_is_open(a->conn);
}

static const struct nc_app_transport ws_transport = { .send = ws_app_send, .is_open = ws_app_is_open };

static struct nc_app *app_of(ns_ws_conn *c)
{
	for (int i = 0; i < MAX_APPS; i++)
		if (g_a.apps[i].t == &ws_transport && g_a.apps[i].conn == c)
			return &g_a.apps[i];
	return NULL;
}

static void ws_open(ns_ws_conn *c, void *user)
{
	(void)user;
	/* Nym pushes binary until the app's first request says otherwise */
	if (!nc_app_open(&ws_transport, c, 1))
		ns_ws_close(c, 1013, "too many apps");
}

static void ws_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len,
                       void *user)
{
	(void)user;
	struct nc_app *a = app_of(c);
	if (a && nc_app_request(a, type == NS_WS_BINARY, data, len) < 0)
		ns_ws_abort(c);
}

static void ws_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	(void)code, (void)why, (void)user;
	struct nc_app *a = app_of(c);
	if (a)
		nc_app_close(a);
}

static const ns_ws_callbacks ws_cb = { .on_open = ws_open, .on_message = ws_message,
	                               .on_close = ws_close };

/* ---- from keyd and netd */

static void on_self_address(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	memcpy(g_a.self, m->u.SELF_ADDRESS.address.ptr, 96);
	g_a.have_self = 1;
}

static void on_ack(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct frag **p = find_frag(m->u.ACK.frag_id.ptr);
	if (*p) {
		struct frag *f = *p;
		*p = f->next;
		free(f);
		g_a.n_frags--;
	}
}

static void on_ack_timeout(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	struct frag *f = *find_frag(m->u.ACK_TIMEOUT.frag_id.ptr);
	if (f)
		build(f); /* new route, new SURB-ack */
}

static void on_build_failed(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	nc_log("apid", "keyd could not build a packet (reason %llu): fragment dropped",
	       (unsigned long long)m->u.BUILD_FAILED.reason);
	struct frag **p = find_frag(m->u.BUILD_FAILED.frag_id.ptr);
	if (*p) {
		struct frag *f = *p;
		*p = f->next;
		free(f);
		g_a.n_frags--;
	}
}

static void deliver(const uint8_t *msg, size_t len)
{
	struct capi_response r;
	memset(&r, 0, sizeof r);
	r.type = CAPI_RESP_RECEIVED;
	r.message = (uint8_t *)msg;
	r.message_len = len;
	for (int i = 0; i < MAX_APPS; i++)
		if (g_a.apps[i].t && g_a.apps[i].t->is_open(&g_a.apps[i]))
			respond(&g_a.apps[i], &r);
	g_a.delivered++;
}

static void on_fragment(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)ctx;
	const struct ns_ipc_bytes *f = &m->u.FRAGMENT.fragment;
	struct nym_reasm_message out;
	int rc = nym_reasm_insert(g_a.reasm, f->ptr, f->len, 0, now_ms(), &out);
	if (rc != NYM_REASM_COMPLETE)
		return;
	enum nym_message_type type;
	const uint8_t *inner;
	size_t inner_len;
	if (nym_msg_unpad(out.data, out.len, &type, &inner, &inner_len) == 0 && type == NYM_MSG_PLAIN)
		deliver(inner, inner_len);
	else
		nc_log("apid", "a reassembled message of an unsupported type was dropped");
	free(out.data);
}

static void on_ignored(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
}

static void on_shutdown(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)c, (void)m, (void)ctx;
	ev_break(g_a.loop, EVBREAK_ALL);
}

static void on_stats_request(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx)
{
	(void)ctx;
	char text[256];
	int n = snprintf(text, sizeof text, "messages_sent=%llu\nmessages_delivered=%llu\nunacked=%zu\n",
	                 (unsigned long long)g_a.sent_msgs, (unsigned long long)g_a.delivered,
	                 g_a.n_frags);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, (size_t)n);
	send_to(c, &r);
}

static void on_fatal(struct ns_ipc_conn *c, int err, void *ctx)
{
	(void)ctx;
	nc_log("apid", "IPC with %s failed: %s", ns_ipc_role_name(c->peer), ns_ipc_strerror(err));
	exit(err == NS_IPC_EEOF ? 0 : 1);
}

static const ns_ipc_handler apid_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_SHUTDOWN] = on_shutdown,
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_SELF_ADDRESS] = on_self_address,
	[NS_IPC_T_ACK] = on_ack,
	[NS_IPC_T_ACK_TIMEOUT] = on_ack_timeout,
	[NS_IPC_T_BUILD_FAILED] = on_build_failed,
	[NS_IPC_T_FRAGMENT] = on_fragment,
	[NS_IPC_T_SURBS] = on_ignored,
	[NS_IPC_T_SURBS_LOW] = on_ignored,
};

int nc_apid_main(void *setup)
{
	struct nc_setup *s = setup;
	int keep[3] = { s->fds[NC_KEYD_APID][1], s->fds[NC_NETD_APID][1], s->fds[NC_SUP_APID][1] };
	nc_close_except(s, keep, 3);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	g_a.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
	g_a.reasm = nym_reasm_new(NULL);
	if (!g_a.loop || !g_a.reasm)
		return 1;
	ns_ipc_conn_start(&g_a.keyd, g_a.loop, keep[0], NS_IPC_APID, NS_IPC_KEYD, apid_handlers, on_fatal, NULL);
	ns_ipc_conn_start(&g_a.netd, g_a.loop, keep[1], NS_IPC_APID, NS_IPC_NETD, apid_handlers, on_fatal, NULL);
	ns_ipc_conn_start(&g_a.sup, g_a.loop, keep[2], NS_IPC_APID, NS_IPC_SUPERVISOR, apid_handlers, on_fatal, NULL);
	if (s->conf.socket_websocket) {
		int err = 0;
		ns_ws_limits lim = { .max_message_bytes = 64u << 20, .max_queued_bytes = 256u << 20 };
		g_a.ws = ns_ws_server_listen(g_a.loop, s->conf.host, s->conf.listening_port, NULL, &lim,
		                             &ws_cb, NULL, &err);
		if (!g_a.ws) {
			nc_log("apid", "cannot listen on %s:%u: %s", s->conf.host,
			       (unsigned)s->conf.listening_port, ns_ws_strerror(err));
			return 1;
		}
		nc_log("apid", "websocket API on ws://%s:%u", s->conf.host, (unsigned)s->conf.listening_port);
	}
	int rc = ns_sandbox_apply(NS_SANDBOX_APID, s->sandbox_debug);
	if (rc < 0) {
		nc_log("apid", "cannot apply the sandbox: %s", strerror(-rc));
		return 1;
	}
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	send_to(&g_a.sup, &m);
	ev_run(g_a.loop, 0);
	if (g_a.ws)
		ns_ws_server_free(g_a.ws);
	nym_reasm_free(g_a.reasm);
	return 0;
}
