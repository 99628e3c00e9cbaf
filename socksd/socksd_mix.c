/* socksd's side toward the network requester: Connect and Send requests through the engine
 * (plain with our address as the return address, or anonymous with reply SURBs), and the
 * requester's responses dispatched to their connections. Responses for an id that is not
 * open are held briefly (bounded), as Nym does for data that beats its connection's
 * registration; here a connection is registered before its Connect leaves, so what lands
 * there is mostly late data of a connection already closed, dropped when it expires. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "nymclient.h"
#include "socksd.h"

#define HELD_MAX 64
#define HELD_BYTES_MAX (1u << 20)
#define HELD_TTL 10.0

struct held {
	struct held *next;
	uint64_t conn_id;
	ev_tstamp at;
	size_t len;
	uint8_t msg[];
};

static struct {
	struct held *head;
	size_t n, bytes;
	struct sd_ratelog undecodable, unhandled, held_full, refused_send;
} g_mix;

static long encode_request(const struct nr_request *r, uint8_t **out)
{
	long n = nr_request_encode(r, NULL, 0);
	if (n <= 0 || !(*out = malloc((size_t)n)))
		return -1;
	return nr_request_encode(r, *out, (size_t)n);
}

/* Sends an encoded request on c's lane, anonymously with surbs SURBs or plainly. */
static int submit(struct sd_conn *c, const struct nr_request *r, uint32_t surbs)
{
	uint8_t *msg = NULL;
	long n = encode_request(r, &msg);
	if (n < 0) {
		free(msg);
		return -1;
	}
	int rc = sd_conf.anonymous
	                 ? ns_engine_send_anonymous(sd_engine, sd_conf.provider, msg, (size_t)n, surbs,
	                                            c->id + 1, c, NULL)
	                 : ns_engine_send(sd_engine, sd_conf.provider, msg, (size_t)n, c->id + 1, c,
	                                  NULL);
	free(msg);
	if (rc < 0)
		sd_log_limited(&g_mix.refused_send, "the engine refused a request of %zu bytes",
		               (size_t)n);
	return rc;
}

int sd_mix_connect(struct sd_conn *c)
{
	struct nr_request r = { .v = sd_conf.v, .kind = NR_REQ_CONNECT, .conn_id = c->id,
		                .addr = (const uint8_t *)c->remote, .addr_len = strlen(c->remote) };
	if (!sd_conf.anonymous) {
		if (ns_engine_self_address(sd_engine, r.return_address) < 0)
			return -1;
		r.has_return_address = true;
	}
	return submit(c, &r, sd_conf.start_surbs);
}

int sd_mix_send(struct sd_conn *c, uint64_t seq, const uint8_t *data, size_t len, bool closed)
{
	struct nr_request r = { .v = sd_conf.v, .kind = NR_REQ_SEND, .conn_id = c->id,
		                .local_closed = closed, .seq = seq, .data = data,
		                .data_len = len };
	c->bytes_up += len;
	return submit(c, &r, sd_conf.per_request_surbs);
}

/* ---- held responses */

static void held_free_first(void)
{
	struct held *h = g_mix.head;
	g_mix.head = h->next;
	g_mix.n--;
	g_mix.bytes -= h->len;
	free(h);
}

static void hold(uint64_t conn_id, const uint8_t *msg, size_t len)
{
	if (g_mix.n >= HELD_MAX || g_mix.bytes + len > HELD_BYTES_MAX) {
		sd_log_limited(&g_mix.held_full, "response for unknown connection %llu dropped "
		               "(the holding area is full)", (unsigned long long)conn_id);
		return;
	}
	struct held *h = malloc(sizeof *h + len), **tail = &g_mix.head;
	if (!h)
		return;
	h->next = NULL;
	h->conn_id = conn_id;
	h->at = ev_now(sd_loop);
	h->len = len;
	memcpy(h->msg, msg, len);
	while (*tail)
		tail = &(*tail)->next;
	*tail = h;
	g_mix.n++;
	g_mix.bytes += len;
}

void sd_mix_expire_held(void)
{
	while (g_mix.head && ev_now(sd_loop) - g_mix.head->at > HELD_TTL)
		held_free_first();
}

static void dispatch(struct sd_conn *c, const struct nr_response *r)
{
	if (r->kind == NR_RESP_NETWORK_DATA)
		sd_conn_network_data(c, r->seq, r->data, r->data_len, r->closed);
	else
		sd_conn_error(c, r->text, r->text_len);
}

void sd_mix_replay_held(struct sd_conn *c)
{
	for (struct held **p = &g_mix.head; *p;) {
		struct held *h = *p;
		struct nr_response r;
		if (h->conn_id != c->id || nr_response_decode(h->msg, h->len, &r) < 0) {
			p = &h->next;
			continue;
		}
		*p = h->next;
		g_mix.n--;
		g_mix.bytes -= h->len;
		uint64_t id = c->id;
		dispatch(c, &r);
		free(h);
		if (!sd_conn_find(id))
			return; /* closed by what it was told */
		p = &g_mix.head;
	}
}

void sd_mix_on_message(const uint8_t *msg, size_t len)
{
	struct nr_response r;
	int rc = nr_response_decode(msg, len, &r);
	if (rc < 0) {
		sd_log_limited(&g_mix.undecodable, "undecodable message from the mixnet (%zu bytes): %s",
		               len, nr_err_text(rc));
		return;
	}
	if (r.kind != NR_RESP_NETWORK_DATA && r.kind != NR_RESP_CONNECTION_ERROR) {
		sd_log_limited(&g_mix.unhandled, "unhandled %s response from the network requester",
		               r.kind == NR_RESP_QUERY ? "query" : "control");
		return;
	}
	struct sd_conn *c = sd_conn_find(r.conn_id);
	if (c && c->phase == SD_PROXYING)
		dispatch(c, &r);
	else
		hold(r.conn_id, msg, len);
}
