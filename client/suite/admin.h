/* nymctl's admin socket (mode 0600), shared by every front process (apid, socksd, exitd):
 * one JSON request line, one JSON response line (docs/client-api.md §9). The front answers
 * `address` from the engine; for the other commands it asks keyd and netd for their state
 * (STATUS_REQUEST -> STATUS_REPLY, one flat JSON object each), waits at most 2 s, and merges
 * what came with the front's own part (its apps, connections or counters). A part that did
 * not answer is named in "missing". */
#ifndef NC_ADMIN_H
#define NC_ADMIN_H
#include <stddef.h>

#include "clientlocal.h"

struct cJSON;
struct ev_loop;
struct ns_engine;
struct ns_ipc_conn;
struct ns_ipc_msg;

/* What a front adds to the answers. */
struct nc_admin_front {
	const char *role; /* the front's role name: log prefix and key of its part */
	/* Its part (a cJSON object) for status and stats, or NULL for none. */
	struct cJSON *(*part)(enum ns_admin_cmd cmd, const struct ns_engine *engine, void *ctx);
	/* Optional: accept failed for want of file descriptors (counted by the front). */
	void (*on_fd_refusal)(void *ctx);
	void *ctx;
};

/* The admin socket on path (before the sandbox); keyd and netd are asked through the
 * engine's connections. front is kept by reference. 0 or -1 (logged). */
int nc_admin_start(struct ev_loop *loop, const char *path, struct ns_engine *engine,
                   const struct nc_admin_front *front);
void nc_admin_stop(void);
/* The engine's on_status_reply. */
void nc_admin_on_status_reply(struct ns_ipc_conn *c, const struct ns_ipc_msg *m, void *ctx);
/* "address": our Nym address, or "(not known yet)". */
void nc_admin_add_address(struct cJSON *out, const struct ns_engine *engine);

#endif
