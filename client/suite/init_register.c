/* Gateway registration at `init`, as Nym's client does it: one unsandboxed process that has
 * just generated the keys runs the handshake itself (common/gwclient with its in-process
 * key ops), then writes Nym's registration DB. At `run` the supervisor takes the gateway
 * from that DB and a short-lived child brings keyd's record file up to date with it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "base58.h"
#include "crypto.h"
#include "gwclient.h"
#include "gwregdb.h"
#include "init_register.h"
#include "tls.h"
#include "websocket.h"

#define REGISTER_TIMEOUT_S 60.0

struct reg {
	struct ev_loop *loop;
	struct ns_gwc_keys keys;
	int done; /* 1 registered, -1 failed */
	char why[200];
};

void nc_gwreg_path(const struct clientconf *c, const struct clientconf_dirs *d, char *out,
                   size_t cap)
{
	if (c->gateway_registrations[0])
		snprintf(out, cap, "%s", c->gateway_registrations);
	else
		snprintf(out, cap, "%s/%s", d->data_dir, NS_GWREG_DB_NAME);
}

/* ---- the handshake */

static void reg_on_state(struct ns_gwc *c, enum ns_gwc_state s, void *user)
{
	struct reg *r = user;
	if (s != NS_GWC_FAILED && s != NS_GWC_BACKOFF)
		return;
	struct ns_gwc_status st;
	ns_gwc_get_status(c, &st);
	snprintf(r->why, sizeof r->why, "%s%s%s", ns_gwc_strerror(st.last_error),
	         st.last_error_text[0] ? ": " : "", st.last_error_text);
	r->done = -1;
	ev_break(r->loop, EVBREAK_ALL);
}

static void reg_on_registered(struct ns_gwc *c, void *user)
{
	(void)c;
	struct reg *r = user;
	r->done = 1;
	ev_break(r->loop, EVBREAK_ALL);
}

static void reg_on_message(struct ns_gwc *c, const uint8_t *msg, size_t len, void *user)
{
	(void)c, (void)msg, (void)len, (void)user; /* nothing is expected before we close */
}

static void reg_on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct reg *r = w->data;
	snprintf(r->why, sizeof r->why, "no answer within %.0f s", REGISTER_TIMEOUT_S);
	r->done = -1;
	ev_break(loop, EVBREAK_ALL);
}

/* The handshake over a fresh connection; on success key holds the new shared key. */
static int handshake(struct reg *r, const char *ws, struct ns_gw_key *key)
{
	static const struct ns_gwc_callbacks cb = { .on_state = reg_on_state,
		                                    .on_message = reg_on_message,
		                                    .on_registered = reg_on_registered };
	struct ns_gwc_config cfg = { .url = ws, .registered = 0, .max_attempts = 1 };
	ev_timer timeout;
	struct ns_tls_ctx *tls = NULL;
	if (!strncmp(ws, "wss://", 6) && !(tls = ns_tls_client_ctx_new(NULL, r->why, sizeof r->why)))
		return -1;
	ns_ws_set_client_tls(tls);
	struct ns_gwc *gw = ns_gwc_new(r->loop, &cfg, ns_gwc_default_ops(), &r->keys,
	                               ns_gwc_ws_transport(), NULL, &cb, r);
	if (!gw || ns_gwc_start(gw) < 0) {
		snprintf(r->why, sizeof r->why, "cannot start a connection to %s", ws);
		ns_gwc_free(gw);
		ns_ws_set_client_tls(NULL);
		ns_tls_ctx_free(tls);
		return -1;
	}
	ev_timer_init(&timeout, reg_on_timeout, REGISTER_TIMEOUT_S, 0.);
	timeout.data = r;
	ev_timer_start(r->loop, &timeout);
	while (!r->done)
		ev_run(r->loop, 0);
	ev_timer_stop(r->loop, &timeout);
	ns_gwc_free(gw);
	ns_ws_set_client_tls(NULL);
	ns_tls_ctx_free(tls);
	if (r->done < 0 || !r->keys.have_key)
		return -1;
	*key = r->keys.key;
	return 0;
}

/* Nym stores Url::to_string(): an empty path becomes "/". */
static void nym_listener(const char *ws, char *out, size_t cap)
{
	const char *host = strstr(ws, "://");
	int has_path = host && strchr(host + 3, '/');
	snprintf(out, cap, "%s%s", ws, has_path ? "" : "/");
}

int nc_gateway_register(const struct clientconf *c, const uint8_t gateway[32], const char *ws,
                        struct ns_gwreg *row, char *err, size_t errcap)
{
	char cerr[CLIENTCONF_ERR_MAX] = "";
	struct reg r = { 0 };
	memset(row, 0, sizeof *row);
	if (clientconf_read_key(c->private_identity_key_file, CC_KEY_PRIVATE_IDENTITY,
	                        r.keys.identity_seed, cerr) < 0) {
		snprintf(err, errcap, "cannot read the identity key: %s", cerr);
		return -1;
	}
	memcpy(r.keys.gateway_identity, gateway, 32);
	r.loop = ev_loop_new(EVFLAG_AUTO);
	int rc = r.loop ? handshake(&r, ws, &row->key) : -1;
	if (r.loop)
		ev_loop_destroy(r.loop);
	ns_gwc_keys_clear(&r.keys);
	if (rc < 0) {
		snprintf(err, errcap, "the gateway did not register us: %s",
		         r.why[0] ? r.why : "out of memory");
		ns_gw_key_clear(&row->key);
		return -1;
	}
	memcpy(row->gateway_id, gateway, 32);
	nym_listener(ws, row->listener, sizeof row->listener);
	row->has_key = 1;
	row->registered_at = (int64_t)time(NULL);
	return 0;
}

int nc_init_register(const struct clientconf *c, const struct clientconf_dirs *d,
                     const uint8_t gateway[32], const char *ws, int64_t *registered_at,
                     char *err, size_t errcap)
{
	char cerr[CLIENTCONF_ERR_MAX] = "", path[CLIENTCONF_PATH_MAX + 64];
	struct ns_gwreg row;
	/* a DB left by an init that died before config.toml belongs to keys just replaced */
	nc_gwreg_path(c, d, path, sizeof path);
	unlink(path);
	if (nc_gateway_register(c, gateway, ws, &row, err, errcap) < 0)
		return -1;
	int rc = ns_gwreg_create(path, &row, cerr, sizeof cerr);
	ns_gw_key_clear(&row.key);
	if (rc < 0) {
		snprintf(err, errcap, "cannot write %s: %s", path, cerr);
		return -1;
	}
	*registered_at = row.registered_at;
	return 0;
}

void nc_init_abandon(const struct clientconf *c, const struct clientconf_dirs *d)
{
	char path[CLIENTCONF_PATH_MAX + 64];
	const char *files[] = { c->private_identity_key_file, c->public_identity_key_file,
		                c->private_encryption_key_file, c->public_encryption_key_file,
		                c->ack_key_file };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		if (files[i][0])
			unlink(files[i]);
	nc_gwreg_path(c, d, path, sizeof path);
	unlink(path);
	snprintf(path, sizeof path, "%s/%s", d->data_dir, NC_GATEWAY_FILE);
	unlink(path);
	rmdir(d->data_dir);
	rmdir(d->config_dir);
	rmdir(d->base);
}

/* ---- run */

int nc_run_gateway(struct nc_setup *s, char *why, size_t whycap)
{
	char path[CLIENTCONF_PATH_MAX + 64], err[300] = "";
	struct ns_gwreg r;
	nc_gwreg_path(&s->conf, &s->dirs, path, sizeof path);
	int rc = ns_gwreg_load_active(path, 0, &r, err, sizeof err);
	if (rc == NS_GWREG_ENOENT) {
		if (nc_gateway_load(&s->dirs, s->gateway_identity, s->gateway_ws,
		                    sizeof s->gateway_ws) == 0)
			return 0;
		snprintf(why, whycap, "no gateway registered: neither %s nor %s/%s", path,
		        s->dirs.data_dir, NC_GATEWAY_FILE);
		return -1;
	}
	if (rc < 0) {
		snprintf(why, whycap, "cannot use %s: %s", path, err);
		return -1;
	}
	ns_ws_url u;
	if (ns_ws_parse_url(r.listener, &u) < 0) {
		snprintf(why, whycap, "gateway listener %s: not a ws:// or wss:// URL we can use",
		        r.listener);
		return -1;
	}
	memcpy(s->gateway_identity, r.gateway_id, 32);
	s->gateway_key_stored = r.has_key;
	snprintf(s->gateway_ws, sizeof s->gateway_ws, "%s", r.listener);
	/* Nym's "ws[s]://HOST:PORT/" is our "ws[s]://HOST:PORT" (an empty path either way) */
	char *path_start = strchr(strstr(s->gateway_ws, "://") + 3, '/');
	if (path_start && !path_start[1])
		*path_start = 0;
	return 0;
}
