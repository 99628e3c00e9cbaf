/* exitd's requests (nym@b4046a89 service-providers/network-requester core.rs, reply.rs as
 * clients.md §4.4-§4.6 state them): Connect and Send go to the connections; Control and
 * Query are answered through the sender tag only, on lane ConnectionId(0), as Nym does. */
#include <string.h>

#include "clientconf.h"
#include "exitd.h"

#define LANE_GENERIC_REPLIES 1 /* ConnectionId(0) */

static const struct nr_binary_info binary_info = {
	.binary_name = "nym-network-requester",
	.build_timestamp = "",
	.build_version = "1.1.65",
	.commit_sha = "",
	.commit_timestamp = "",
	.commit_branch = "",
	.rustc_version = "none (nymsuite, C17)",
	.rustc_channel = "",
	.cargo_profile = "release",
	.cargo_triple = "",
};

static void answer_control(const struct nr_request *req, const uint8_t *tag)
{
	struct nr_response resp = { .v = { .iface = req->v.iface }, .kind = NR_RESP_CONTROL };
	struct xd_route route = { .by_tag = true };
	memcpy(route.tag, tag, sizeof route.tag);
	resp.control = req->control;
	if (req->control == NR_CONTROL_BINARY_INFO)
		resp.binary_info = &binary_info;
	else if (req->control == NR_CONTROL_SUPPORTED_VERSIONS)
		resp.supported = (struct nr_versions){ NR_VERSION_CURRENT, NR_VERSION_CURRENT };
	if (xd_respond(&route, &resp, LANE_GENERIC_REPLIES) == 0)
		xd_count.control_answered++;
}

/* Query responses: the request's interface version, socks5 version Versioned(3). */
static void answer_query(const struct nr_request *req, const uint8_t *tag)
{
	struct nr_response resp = { .v = { req->v.iface, NR_VERSION_CURRENT }, .kind = NR_RESP_QUERY };
	struct xd_route route = { .by_tag = true };
	memcpy(route.tag, tag, sizeof route.tag);
	const struct ns_exit_policy *p = xd_policy();
	static const char description[] = "Description (placeholder)";
	switch (req->query) {
	case NR_QUERY_OPEN_PROXY:
		resp.query = NR_QRESP_OPEN_PROXY;
		resp.open_proxy = xd_conf()->nr.open_proxy != 0;
		break;
	case NR_QUERY_DESCRIPTION:
		resp.query = NR_QRESP_DESCRIPTION;
		resp.text = description;
		resp.text_len = sizeof description - 1;
		break;
	case NR_QUERY_EXIT_POLICY:
		resp.query = NR_QRESP_EXIT_POLICY;
		resp.policy_enabled = true;
		resp.text = xd_policy_upstream();
		resp.text_len = strlen(resp.text);
		resp.has_policy = true;
		resp.rules = p->rules;
		resp.n_rules = p->n_rules;
		break;
	}
	if (xd_respond(&route, &resp, LANE_GENERIC_REPLIES) == 0)
		xd_count.query_answered++;
}

/* Nym: the return address first, else the sender tag; neither: ignored with a warning. */
static void handle_connect(const struct nr_request *req, const uint8_t *tag)
{
	struct xd_route route = { 0 };
	if (req->has_return_address) {
		memcpy(route.addr, req->return_address, sizeof route.addr);
	} else if (tag) {
		route.by_tag = true;
		memcpy(route.tag, tag, sizeof route.tag);
	} else {
		xd_log_limited(XD_LOG_MALFORMED, "a Connect (connection %llu) with neither a return "
		               "address nor a sender tag: ignored",
		               (unsigned long long)req->conn_id);
		return;
	}
	xd_count.connects++;
	xd_conn_connect(&req->v, req->conn_id, &route, req->addr, req->addr_len);
}

void xd_on_message(const uint8_t *msg, size_t len, const uint8_t *sender_tag)
{
	struct nr_request req;
	xd_count.requests++;
	int rc = nr_request_decode(msg, len, &req);
	if (rc < 0) {
		xd_count.malformed++;
		xd_log_limited(XD_LOG_MALFORMED, "a request that does not decode (%s): dropped",
		               nr_err_text(rc));
		return;
	}
	xd_count.requests_legacy_interface += req.v.iface == NR_VERSION_LEGACY;
	xd_count.connects_legacy_socks5 += req.kind == NR_REQ_CONNECT && req.v.proto == NR_VERSION_LEGACY;
	switch (req.kind) {
	case NR_REQ_CONNECT:
		handle_connect(&req, sender_tag);
		return;
	case NR_REQ_SEND:
		xd_conn_send(req.conn_id, req.local_closed, req.seq, req.data, req.data_len);
		return;
	case NR_REQ_QUERY:
	case NR_REQ_CONTROL:
		if (!sender_tag) {
			xd_count.generic_without_tag++;
			xd_log_limited(XD_LOG_NO_TAG, "a %s request without a sender tag: we can only "
			               "send generic replies via reply surbs (dropped)",
			               req.kind == NR_REQ_QUERY ? "Query" : "Control");
			return;
		}
		if (req.kind == NR_REQ_QUERY)
			answer_query(&req, sender_tag);
		else
			answer_control(&req, sender_tag);
		return;
	}
}
