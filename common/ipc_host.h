/* What a portable IPC state machine (the client engine, keyd's operations) needs from the
 * process that runs it: a way to send one message to a peer role, and one-shot or repeating
 * timers named by a small number. Natively these are the libev connections and ev_timers of
 * the process (engine_ev.c, keyd.c); in the browser, MessagePorts and setTimeout driven from
 * JavaScript (wasm/c/). The machine gets its input from the host as decoded messages, one per
 * call, with the role that sent it; its timers fire through its own timer entry point. */
#ifndef NS_IPC_HOST_H
#define NS_IPC_HOST_H
#include <stdint.h>

#include "ipc_codec.h"

struct ns_ipc_host {
	/* Sends m to peer; 0, or a negative NS_IPC_E* (the message is lost: the machine logs
	 * it, the host decides whether the process goes on). m's bytes are valid during the
	 * call only. */
	int (*send)(void *ctx, enum ns_ipc_role peer, const struct ns_ipc_msg *m);
	/* Timer id fires after after_ns, then every repeat_ns (0: once); starting a running
	 * timer restarts it. Optional for a machine that uses no timer. */
	void (*timer_start)(void *ctx, unsigned id, uint64_t after_ns, uint64_t repeat_ns);
	void (*timer_stop)(void *ctx, unsigned id);
	void *ctx;
};

#endif
