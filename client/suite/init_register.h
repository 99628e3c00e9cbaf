/* nym-client: the gateway registration at `init` and Nym's registration DB at `run`
 * (init_register.c, keyd.c). */
#ifndef NC_INIT_REGISTER_H
#define NC_INIT_REGISTER_H
#include <stddef.h>
#include <stdint.h>

#include "nymclient.h"

/* init: registers with the gateway (fresh handshake, in this process, with the identity key
 * just written to c->private_identity_key_file) and writes Nym's registration DB naming it
 * the active gateway. 0, or -1 with the reason in err (nothing written then). */
int nc_init_register(const struct clientconf *c, const struct clientconf_dirs *d,
                     const uint8_t gateway[32], const char *ws, int64_t *registered_at,
                     char *err, size_t errcap);
struct ns_gwreg;
/* The registration handshake alone (init and add-gateway): row gets the gateway, its
 * listener as Nym stores it, the new shared key (the caller clears it) and the time. 0 or
 * -1 with the reason in err. */
int nc_gateway_register(const struct clientconf *c, const uint8_t gateway[32], const char *ws,
                        struct ns_gwreg *row, char *err, size_t errcap);
/* init failed after the keys were written: removes what init wrote (keys, DB, our gateway
 * file) and the folders it made, if empty. */
void nc_init_abandon(const struct clientconf *c, const struct clientconf_dirs *d);

/* The registration DB's path (config storage_paths.gateway_registrations, else data/). */
void nc_gwreg_path(const struct clientconf *c, const struct clientconf_dirs *d, char *out,
                   size_t cap);

/* run, before the children start: the gateway identity and listener from the DB (no key
 * read, only whether one is stored: s->gateway_key_stored), else from our older
 * data/nymsuite-gateway.txt. 0 or -1 (the reason in why). */
int nc_run_gateway(struct nc_setup *s, char *why, size_t whycap);

#endif
