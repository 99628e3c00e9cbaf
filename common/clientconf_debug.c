/* Nym's [debug] defaults (clientconf.h), apart from clientconf.c's files and TOML so that the
 * browser build (which has no config file) shares them. */
#include "clientconf.h"

#include <string.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

void clientconf_debug_defaults(struct clientconf_debug *g)
{
	memset(g, 0, sizeof *g);
	g->average_packet_delay_ns = 15 * NS_PER_MS;
	g->message_sending_average_delay_ns = 20 * NS_PER_MS;
	g->primary_packet_size = CC_SIZE_REGULAR;
	g->use_legacy_sphinx_format = 1;
	g->loop_cover_traffic_average_delay_ns = 200 * NS_PER_MS;
	g->cover_traffic_primary_size_ratio = 0.70;
	g->gateway_response_timeout_ns = 300 * NS_PER_S;
	g->average_ack_delay_ns = 15 * NS_PER_MS;
	g->ack_wait_multiplier = 1.5;
	g->ack_wait_addition_ns = 1500 * NS_PER_MS;
	g->topology_refresh_rate_ns = 300 * NS_PER_S;
	g->topology_resolution_timeout_ns = 5 * NS_PER_S;
	g->max_startup_gateway_waiting_period_ns = 70 * 60 * NS_PER_S;
	g->minimum_mixnode_performance = 50;
	g->minimum_gateway_performance = 50;
	g->ignore_egress_epoch_role = 1;
	g->ignore_ingress_epoch_role = 1;
	g->minimum_reply_surb_storage_threshold = 10;
	g->maximum_reply_surb_storage_threshold = 200;
	g->minimum_reply_surb_threshold_buffer = 0;
	g->minimum_reply_surb_request_size = 10;
	g->maximum_reply_surb_request_size = 50;
	g->maximum_allowed_reply_surb_request_size = 500;
	g->maximum_reply_surb_rerequest_waiting_period_ns = 10 * NS_PER_S;
	g->maximum_reply_surb_drop_waiting_period_ns = 300 * NS_PER_S;
	g->maximum_reply_surbs_rerequests = 5;
	g->maximum_reply_key_age_ns = 24 * 3600 * NS_PER_S;
	g->stats_enabled = 1;
	g->stats_reporting_interval_ns = 300 * NS_PER_S;
	/* remember_me_session_type: "" (zeroed) */
}
