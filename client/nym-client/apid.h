/* apid internals shared by its files: an app is one connected local client, carried by a
 * transport (the websocket in apid.c, the Unix stream socket in apid_local.c). Every app gets
 * the same API and every message that arrives. */
#ifndef APID_H
#define APID_H
#include <stddef.h>
#include <stdint.h>

struct nc_app;

struct nc_app_transport {
	/* binary = 1: a binary API frame, 0: a JSON text frame. Returns 0 or -1. */
	int (*send)(struct nc_app *a, int binary, const uint8_t *data, size_t len);
	int (*is_open)(const struct nc_app *a);
};

struct nc_app {
	const struct nc_app_transport *t; /* NULL = free slot */
	void *conn;
	int binary; /* answer in the format of the app's last request */
};

/* A new app on a transport; NULL when every slot is taken. */
struct nc_app *nc_app_open(const struct nc_app_transport *t, void *conn, int binary);
void nc_app_close(struct nc_app *a);
/* One request from an app. A malformed request is answered with Nym's `error` response and
 * returns 0; -1 means the bytes cannot be answered at all (drop the connection). */
int nc_app_request(struct nc_app *a, int binary, const uint8_t *data, size_t len);

#endif
