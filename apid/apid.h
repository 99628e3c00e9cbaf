/* apid internals shared by its files: an app is one connected local client, carried by a
 * transport (the websocket in apid.c, the Unix stream socket in apid_local.c). Every app gets
 * the same API and every message that arrives. */
#ifndef APID_H
#define APID_H
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "membudget.h"

struct nc_app;
struct ns_shbuf;

struct nc_app_transport {
	/* binary = 1: a binary API frame, 0: a JSON text frame. Returns 0 or -1. */
	int (*send)(struct nc_app *a, int binary, const uint8_t *data, size_t len);
	/* The same for a received message encoded once for every app (shbuf.h): the app's queue
	 * holds a reference, not a copy. 0 or -1. */
	int (*send_shared)(struct nc_app *a, int binary, struct ns_shbuf *b);
	int (*is_open)(const struct nc_app *a);
	/* Bytes queued toward the app and not yet written; *oldest: the seq of the oldest shared
	 * message among them (UINT64_MAX: none, the app keeps up). */
	size_t (*backlog)(const struct nc_app *a, uint64_t *oldest);
	/* Closes an app that does not read what it is sent: its shared references are released
	 * at once, then it is told why (websocket close 1008, Nym's error response). */
	void (*close_slow)(struct nc_app *a);
};

/* The reason a slow consumer is given. */
#define NC_SLOW_REASON "the app does not read what it is sent"

struct nc_app {
	const struct nc_app_transport *t; /* NULL = free slot */
	void *conn;
	int binary; /* answer in the format of the app's last request */
	int wants_self; /* asked selfAddress before keyd told apid the address */
	uint64_t failed_msg; /* the last message it was told could not be sent */
};

/* ---- bounds under load (apid_limits.c) */
struct clientconf_apid_limits;
struct nc_limits {
	size_t max_apps;  /* apps held at once (config, bounded by the descriptor limit) */
	size_t max_conns; /* websocket + Unix-socket connections, handshaking ones included */
	size_t max_message;
	double handshake_timeout, partial_timeout;
	/* every app connection's queued output and partial input, and each received message
	 * (its encoded forms) once while any app's queue holds it */
	struct ns_membudget budget;
};
extern struct nc_limits nc_lim;
void nc_limits_init(const struct clientconf_apid_limits *conf);
enum nc_event {
	NC_EV_REFUSED_APPS,
	NC_EV_REFUSED_FDS,
	NC_EV_HANDSHAKE_TIMEOUT,
	NC_EV_PARTIAL_TIMEOUT,
	NC_EV_SLOW_CONSUMER,
	NC_EV_COUNT
};
/* Counts one event; logs a line for its kind at most every 10 s, with the count. */
void nc_event(enum nc_event ev);
uint64_t nc_event_count(enum nc_event ev);
/* Connections held by each transport (for the shared connection limit). */
size_t nc_ws_conns(void);
void nc_conns_changed(void);

/* A new app on a transport; NULL when every slot is taken. */
struct nc_app *nc_app_open(const struct nc_app_transport *t, void *conn, int binary);
void nc_app_close(struct nc_app *a);
/* One request from an app. A malformed request is answered with Nym's `error` response and
 * returns 0; -1 means the bytes cannot be answered at all (drop the connection). */
int nc_app_request(struct nc_app *a, int binary, const uint8_t *data, size_t len);

/* ---- local sockets, admin (apid_local.c, apid_admin.c; hooks in apid.c) */
struct ev_loop;
struct ns_ipc_conn;
struct ns_ipc_msg;
struct nc_admin_front;

/* The Unix-socket API (length-prefixed binary frames) on path; before the sandbox. 0 or -1. */
int nc_local_api_start(struct ev_loop *loop, const char *path);
size_t nc_local_api_apps(void);
size_t nc_local_api_conns(void); /* open and not yet freed */
void nc_local_api_stop(void); /* closes every connection, removes the socket */
/* apid's part of the admin answers (apid_admin.c). */
extern const struct nc_admin_front nc_apid_admin_front;
/* apid's own state and the engine's for the admin answers (apid.c). */
struct nc_apid_status {
	int have_self;
	uint8_t self[96];
	size_t apps;
	uint64_t messages_delivered;
	struct ns_engine_stats engine;
};
void nc_apid_status(struct nc_apid_status *st);
/* The Unix-socket API (if configured) and the admin socket, before the sandbox. 0 or -1. */
struct nc_setup;
int nc_apid_local_start(const struct nc_setup *s);
void nc_apid_local_stop(void);

#endif
