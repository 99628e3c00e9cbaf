/* The network requester's exit-policy text to its front (EXIT_POLICY_TEXT chunks, then
 * EXIT_POLICY_END): netd sends what it fetched, the supervisor what it read. */
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "nymclient.h"

/* STR fields carry printable ASCII (and \t \n) only. */
static void printable(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (; in && *in && n + 1 < cap; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = 0;
}

int nc_exit_policy_send(struct ns_ipc_conn *c, const char *text, size_t len, const char *error)
{
	size_t sent = 0;
	if (len > NS_IPC_POLICY_TEXT_MAX) {
		error = "the exit policy is larger than 4 MiB";
		len = 0;
	}
	while (!error && sent < len) {
		size_t n = len - sent < NS_IPC_POLICY_CHUNK_MAX ? len - sent : NS_IPC_POLICY_CHUNK_MAX;
		struct ns_ipc_msg m = { .type = NS_IPC_T_EXIT_POLICY_TEXT };
		m.u.EXIT_POLICY_TEXT.text = NS_IPC_BYTES(text + sent, n);
		if (ns_ipc_conn_send(c, &m) < 0)
			return -1;
		sent += n;
	}
	char why[513];
	printable(error, why, sizeof why);
	struct ns_ipc_msg end = { .type = NS_IPC_T_EXIT_POLICY_END };
	end.u.EXIT_POLICY_END.total = sent;
	end.u.EXIT_POLICY_END.error = NS_IPC_BYTES(why, strlen(why));
	return ns_ipc_conn_send(c, &end);
}

/* Who sends the policy: nobody for an open proxy, the supervisor for a local file, else netd. */
enum nc_policy_source nc_exit_policy_source(const struct clientconf *c)
{
	if (c->kind != CC_KIND_NR || c->nr.open_proxy)
		return NC_POLICY_NONE;
	return c->nr.exit_policy_file[0] ? NC_POLICY_FILE : NC_POLICY_URL;
}
