/* exitd's part of nymctl's answers (client/suite/admin.h): its counters and the engine's for
 * status and stats; for status also the address, the exit policy's size and the connections
 * it holds. nym-localnet status reads the counters through `stats`. */
#include <string.h>

#include <cjson/cJSON.h>

#include "admin.h"
#include "engine/engine.h"
#include "exitd.h"

void xd_counters(struct xd_counter out[XD_N_COUNTERS])
{
	const struct xd_counters *k = &xd_count;
	const struct xd_counter all[XD_N_COUNTERS] = {
		{ "connections_open", xd_conns_open() },
		{ "connections_opened", k->connections_opened },
		{ "connects", k->connects },
		{ "connect_failed", k->connect_failed },
		{ "refused_policy", k->refused_policy },
		{ "refused_bounds", k->refused_bounds },
		{ "resolve_failed", k->resolve_failed },
		{ "requests", k->requests },
		{ "requests_legacy_interface", k->requests_legacy_interface },
		{ "connects_legacy_socks5", k->connects_legacy_socks5 },
		{ "malformed", k->malformed },
		{ "sends_early", k->sends_early },
		{ "sends_dropped", k->sends_dropped },
		{ "bytes_to_remote", k->bytes_to_remote },
		{ "bytes_from_remote", k->bytes_from_remote },
		{ "bytes_buffered", xd_bytes_buffered() },
		{ "control_answered", k->control_answered },
		{ "query_answered", k->query_answered },
		{ "generic_without_tag", k->generic_without_tag },
	};
	memcpy(out, all, sizeof all);
}

static void add_counters(cJSON *p, const struct ns_engine *engine)
{
	struct xd_counter c[XD_N_COUNTERS];
	struct ns_engine_stats st;
	xd_counters(c);
	for (size_t i = 0; i < XD_N_COUNTERS; i++)
		cJSON_AddNumberToObject(p, c[i].name, (double)c[i].value);
	ns_engine_stats(engine, &st);
	cJSON_AddNumberToObject(p, "messages_sent", (double)st.messages_sent);
	cJSON_AddNumberToObject(p, "replies_sent", (double)st.replies_sent);
	cJSON_AddNumberToObject(p, "unacked_fragments", (double)st.unacked);
	cJSON_AddNumberToObject(p, "fragments_given_up", (double)st.fragments_given_up);
	cJSON_AddNumberToObject(p, "surbs_low", (double)st.surbs_low);
}

static cJSON *exitd_part(enum ns_admin_cmd cmd, const struct ns_engine *engine, void *ctx)
{
	(void)ctx;
	cJSON *p = cJSON_CreateObject();
	if (cmd == NS_ADMIN_STATUS) {
		nc_admin_add_address(p, engine);
		cJSON_AddBoolToObject(p, "open_proxy", ns_exit_policy_is_open(xd_policy()));
		cJSON_AddNumberToObject(p, "exit_policy_rules", (double)xd_policy()->n_rules);
		cJSON_AddNumberToObject(p, "max_connections", (double)xd_lim.max_conns);
		cJSON_AddNumberToObject(p, "max_connections_per_sender", (double)xd_lim.max_per_sender);
	}
	add_counters(p, engine);
	if (cmd == NS_ADMIN_STATUS)
		xd_conns_describe(cJSON_AddObjectToObject(p, "connections"));
	return p;
}

const struct nc_admin_front xd_admin_front = { .role = "exitd", .part = exitd_part };
