/* apid's part of nymctl's answers (client/suite/admin.h): the address, its apps, the engine's
 * counters and lanes, and the bounds under load (apid_limits.c) with what they refused. */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "admin.h"
#include "apid.h"

static void add_limits(cJSON *p)
{
	cJSON_AddNumberToObject(p, "max_apps", (double)nc_lim.max_apps);
	cJSON_AddNumberToObject(p, "apps_refused", (double)nc_event_count(NC_EV_REFUSED_APPS));
	cJSON_AddNumberToObject(p, "fd_refusals", (double)nc_event_count(NC_EV_REFUSED_FDS));
	cJSON_AddNumberToObject(p, "handshake_timeouts", (double)nc_event_count(NC_EV_HANDSHAKE_TIMEOUT));
	cJSON_AddNumberToObject(p, "partial_timeouts", (double)nc_event_count(NC_EV_PARTIAL_TIMEOUT));
	cJSON_AddNumberToObject(p, "slow_consumers_closed", (double)nc_event_count(NC_EV_SLOW_CONSUMER));
	cJSON_AddNumberToObject(p, "buffer_bytes", (double)nc_lim.budget.used);
	cJSON_AddNumberToObject(p, "buffer_peak_bytes", (double)nc_lim.budget.peak);
	cJSON_AddNumberToObject(p, "buffer_limit_bytes", (double)nc_lim.budget.limit);
	cJSON_AddNumberToObject(p, "reads_paused", (double)nc_lim.budget.paused);
}

/* Per lane with unacknowledged fragments: lane_depth (queued, not yet sent: Nym's lane
 * queue length) and lane_unacked (sent or not, not yet acknowledged). */
static void add_lanes(cJSON *p, const struct ns_engine_stats *st)
{
	cJSON *depth = cJSON_AddObjectToObject(p, "lane_depth");
	cJSON *unacked = cJSON_AddObjectToObject(p, "lane_unacked");
	for (size_t i = 0; i < st->n_lanes; i++) {
		char name[32];
		if (st->lane[i] == 0)
			snprintf(name, sizeof name, "general");
		else
			snprintf(name, sizeof name, "connection_%llu",
			         (unsigned long long)(st->lane[i] - 1));
		cJSON_AddNumberToObject(depth, name, (double)st->lane_depth[i]);
		cJSON_AddNumberToObject(unacked, name, (double)st->lane_unacked[i]);
	}
}

static cJSON *apid_part(enum ns_admin_cmd cmd, const struct ns_engine *engine, void *ctx)
{
	(void)ctx;
	struct nc_apid_status st;
	nc_apid_status(&st);
	cJSON *p = cJSON_CreateObject();
	if (cmd == NS_ADMIN_STATUS)
		nc_admin_add_address(p, engine);
	if (cmd == NS_ADMIN_STATUS || cmd == NS_ADMIN_STATS) {
		cJSON_AddNumberToObject(p, "apps_connected", (double)st.apps);
		cJSON_AddNumberToObject(p, "apps_unix_socket", (double)nc_local_api_apps());
		cJSON_AddNumberToObject(p, "messages_sent", (double)st.engine.messages_sent);
		cJSON_AddNumberToObject(p, "messages_delivered", (double)st.messages_delivered);
		cJSON_AddNumberToObject(p, "anonymous_sent", (double)st.engine.anonymous_sent);
		cJSON_AddNumberToObject(p, "replies_sent", (double)st.engine.replies_sent);
		cJSON_AddNumberToObject(p, "unacked_fragments", (double)st.engine.unacked);
		cJSON_AddNumberToObject(p, "unacked_reply_fragments", (double)st.engine.unacked_replies);
		cJSON_AddNumberToObject(p, "fragments_given_up", (double)st.engine.fragments_given_up);
		add_limits(p);
		add_lanes(p, &st.engine);
	}
	return p;
}

static void on_fd_refusal(void *ctx)
{
	(void)ctx;
	nc_event(NC_EV_REFUSED_FDS);
}

const struct nc_admin_front nc_apid_admin_front = {
	.role = "apid",
	.part = apid_part,
	.on_fd_refusal = on_fd_refusal,
};
