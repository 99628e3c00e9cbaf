/* wsecho: a websocket echo server on common/websocket, for testing it against other
 * implementations (tests/interop/ws_echo.sh drives it with node's `ws`).
 *   wsecho [--ip 127.0.0.1] [--port 0] [--path /] [--max-message BYTES]
 * Prints "listening PORT" on stdout once ready, one line per closed connection
 * ("closed CODE WHY"), and echoes every text/binary message back unchanged. Exits on SIGTERM/SIGINT
 * or after --max-connections connections ended. */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "websocket.h"

struct echo_state {
	unsigned long closed, exit_after;
	struct ev_loop *loop;
};

static void on_message(ns_ws_conn *c, enum ns_ws_msg_type type, const uint8_t *data, size_t len, void *user)
{
	(void)user;
	int r = ns_ws_send(c, type, data, len);
	if (r < 0) {
		fprintf(stderr, "wsecho: send: %s\n", ns_ws_strerror(r));
		ns_ws_close(c, 1011, "echo failed");
	}
}

static void on_close(ns_ws_conn *c, int code, const char *why, void *user)
{
	struct echo_state *st = user;
	(void)c;
	printf("closed %d %s\n", code, why);
	fflush(stdout);
	if (st->exit_after && ++st->closed >= st->exit_after)
		ev_break(st->loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int usage(void)
{
	fprintf(stderr, "usage: wsecho [--ip IP] [--port N] [--path P] [--max-message BYTES] [--exit-after N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *ip = "127.0.0.1", *path = "/";
	unsigned long port = 0;
	struct echo_state st = { 0 };
	ns_ws_limits lim = { 0 };
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		const char *v = argv[++i];
		if (!strcmp(argv[i - 1], "--ip"))
			ip = v;
		else if (!strcmp(argv[i - 1], "--port"))
			port = strtoul(v, NULL, 10);
		else if (!strcmp(argv[i - 1], "--path"))
			path = v;
		else if (!strcmp(argv[i - 1], "--max-message"))
			lim.max_message_bytes = strtoul(v, NULL, 10);
		else if (!strcmp(argv[i - 1], "--exit-after"))
			st.exit_after = strtoul(v, NULL, 10);
		else
			return usage();
	}
	if (port > 65535 || ns_crypto_init() != 0)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	st.loop = ev_default_loop(0);
	ns_ws_callbacks cb = { .on_message = on_message, .on_close = on_close };
	int err = 0;
	ns_ws_server *s = ns_ws_server_listen(st.loop, ip, (uint16_t)port, path, &lim, &cb, &st, &err);
	if (!s) {
		fprintf(stderr, "wsecho: listen %s:%lu: %s\n", ip, port, ns_ws_strerror(err));
		return 1;
	}
	ev_signal sigterm, sigint;
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_start(st.loop, &sigterm);
	ev_signal_start(st.loop, &sigint);
	printf("listening %u\n", ns_ws_server_port(s));
	fflush(stdout);
	ev_run(st.loop, 0);
	ns_ws_server_free(s);
	return 0;
}
