/* The client engine (engine.h): what a front process does with keyd, netd and the
 * supervisor, whatever it serves. Never holds a key: keyd builds every packet. Portable: its
 * messages go out through the host's send (ipc_host.h) and come in through ns_engine_deliver;
 * the native process glue is engine_ev.c, the browser's wasm/c/nsw_engine.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base58.h"
#include "crypto.h"
#include "engine/engine.h"
#include "engine/frags.h"
#include "engine/replies.h"
#include "ipc_codec.h"
#include "ipc_host.h"
#include "log.h"
#include "nymsphinx/chunking.h"
#include "nymsphinx/message.h"

_Static_assert(NS_ENGINE_MAX_REPLY_SURBS == NS_MAX_REPLY_SURBS, "the RepliableMessage limit");
_Static_assert(NS_ENGINE_TAG_LEN == NYM_SENDER_TAG_LEN, "sender tag length");

/* Our sender tag for a recipient of anonymous messages: random, in memory only (Nym's
 * get_or_create_sender_tag; not persisted since 2025-07). */
struct tag_entry {
	struct tag_entry *next;
	uint8_t recipient[96], tag[NYM_SENDER_TAG_LEN];
};

/* A RepliableMessage waiting for the SURBs keyd makes (MAKE_SURBS batches of <= 32 with
 * request ids first_id ..): Data for an anonymous message, AdditionalSurbs for a
 * SurbRequest. */
struct surb_job {
	struct surb_job *next;
	uint64_t first_id;
	size_t batches, pending, want, have, surb_len;
	uint8_t *surbs; /* have x surb_len, zeroed when freed */
	int failed, additional;
	uint8_t key_rotation; /* what keyd made the SURBs under (SURBS.key_rotation) */
	uint8_t recipient[96], tag[NYM_SENDER_TAG_LEN];
	uint64_t lane, msg_id;
	void *owner;
	uint8_t *msg;
	size_t msg_len;
};

struct ns_engine {
	struct ns_ipc_host host;
	const char *name; /* the front's name in log lines */
	const struct ns_engine_cb *cb;
	void *ctx;
	uint8_t self[96];
	int have_self;
	struct ns_frags frags; /* unacknowledged fragments */
	struct nym_reassembler *reasm;
	uint64_t sent_msgs, next_msg_id;
	struct tag_entry *tags;
	struct surb_job *jobs;
	uint64_t next_request_id;
	uint64_t anon_sent, replies_sent, surbs_made, surbs_received, surb_requests, surbs_low;
	uint64_t no_surb_drops;
	uint64_t given_up; /* fragments netd gave up at the retransmission limit (GAVE_UP_FRAGMENT) */
};

/* A message to a peer; a failed send is logged here, and what follows is the host's call
 * (natively the process exits). */
static void to_peer(struct ns_engine *e, enum ns_ipc_role peer, const struct ns_ipc_msg *m)
{
	int rc = e->host.send(e->host.ctx, peer, m);
	if (rc < 0)
		ns_log(NS_LOG_ERROR, e->name, "send %s to %s: %s", ns_ipc_type_name(m->type),
		       ns_ipc_role_name(peer), ns_ipc_strerror(rc));
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- send path */

static void build_reply(struct ns_engine *e, const struct frag *f)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_REPLY };
	m.u.BUILD_REPLY.frag_id = NS_IPC_BYTES(f->id, 5);
	m.u.BUILD_REPLY.fragment = NS_IPC_BYTES(f->data, f->len);
	m.u.BUILD_REPLY.sender_tag = NS_IPC_BYTES(f->sender_tag, NYM_SENDER_TAG_LEN);
	m.u.BUILD_REPLY.lane = f->lane;
	m.u.BUILD_REPLY.packet_size = NYM_PACKET_REGULAR;
	to_peer(e, NS_IPC_KEYD, &m);
}

static void build(struct ns_engine *e, const struct frag *f)
{
	if (f->reply) {
		build_reply(e, f);
		return;
	}
	struct ns_ipc_msg m = { .type = NS_IPC_T_BUILD_PACKET };
	m.u.BUILD_PACKET.frag_id = NS_IPC_BYTES(f->id, 5);
	m.u.BUILD_PACKET.fragment = NS_IPC_BYTES(f->data, f->len);
	m.u.BUILD_PACKET.recipient = NS_IPC_BYTES(f->recipient, 96);
	m.u.BUILD_PACKET.lane = f->lane;
	m.u.BUILD_PACKET.packet_size = NYM_PACKET_REGULAR;
	to_peer(e, NS_IPC_KEYD, &m);
}

static struct frag *find_frag(const struct ns_engine *e, const uint8_t id[5])
{
	return ns_frags_find(&e->frags, id);
}

/* Keeps f until its ack and asks keyd to build it; -1 (f freed): out of memory. */
static int keep_frag(struct ns_engine *e, struct frag *f)
{
	f->queued = 1;
	if (ns_frags_add(&e->frags, f) != 0) {
		free(f);
		return -1;
	}
	build(e, f);
	return 0;
}

static void drop_frag(struct ns_engine *e, struct frag *f)
{
	ns_frags_remove(&e->frags, f);
	free(f);
}

/* Where a message's fragments go: a recipient, or, when tag is set, the holder of tag. */
struct frag_dest {
	const uint8_t *recipient, *tag;
	uint64_t lane, msg_id;
	void *owner; /* told if the recipient cannot be reached (NULL: nobody) */
};

static struct frag *frag_new(const struct frag_dest *d, const uint8_t *data, size_t len)
{
	struct frag *f = calloc(1, sizeof *f + len);
	if (!f)
		return NULL;
	if (d->tag) {
		f->reply = 1;
		memcpy(f->sender_tag, d->tag, NYM_SENDER_TAG_LEN);
	} else {
		memcpy(f->recipient, d->recipient, 96);
	}
	f->lane = d->lane;
	f->msg = d->msg_id;
	f->owner = d->owner;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

/* Pads and splits a NymMessage as Nym's preparer does (replies too: the BLAKE3 key digest
 * takes the place of the ephemeral key, so every type has the same plaintext per packet),
 * keeps each fragment until acked and asks keyd to build it. */
static int queue_message(struct ns_engine *e, enum nym_message_type type, const uint8_t *inner,
                         size_t inner_len, const struct frag_dest *d)
{
	size_t ppp = nym_msg_plaintext_per_packet(NYM_PACKET_REGULAR), padded_len = 0;
	uint8_t *padded = nym_msg_pad_alloc(type, inner, inner_len, ppp, &padded_len);
	struct nym_fragment_list list;
	memset(&list, 0, sizeof list);
	if (!padded || nym_split_into_fragments(padded, padded_len, ppp, &list) != NYM_CHUNK_OK) {
		free(padded);
		return -1;
	}
	free(padded);
	for (size_t i = 0; i < list.count; i++) {
		struct frag *f = frag_new(d, list.frags[i], list.lens[i]);
		if (!f)
			break;
		nym_frag_id_encode(&list.ids[i], f->id);
		if (keep_frag(e, f) != 0)
			break;
	}
	ns_log(NS_LOG_DEBUG, e->name, "message %llu: %zu bytes in %zu fragments on lane %llu",
	         (unsigned long long)d->msg_id, inner_len, list.count, (unsigned long long)d->lane);
	nym_fragment_list_free(&list);
	e->sent_msgs++;
	return 0;
}

static uint64_t new_msg_id(struct ns_engine *e, uint64_t *out)
{
	uint64_t id = ++e->next_msg_id;
	if (out)
		*out = id;
	return id;
}

int ns_engine_send(struct ns_engine *e, const uint8_t recipient[NS_ENGINE_ADDRESS_LEN],
                   const uint8_t *msg, size_t len, uint64_t lane, void *owner, uint64_t *msg_id)
{
	struct frag_dest d = { .recipient = recipient, .lane = lane, .owner = owner,
		               .msg_id = new_msg_id(e, msg_id) };
	return queue_message(e, NYM_MSG_PLAIN, msg, len, &d);
}

/* ---- anonymous messages and replies */

static const uint8_t *tag_for(struct ns_engine *e, const uint8_t recipient[96], int create)
{
	for (struct tag_entry *t = e->tags; t; t = t->next)
		if (!memcmp(t->recipient, recipient, 96))
			return t->tag;
	if (!create)
		return NULL;
	struct tag_entry *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	memcpy(t->recipient, recipient, 96);
	ns_random(t->tag, sizeof t->tag);
	t->next = e->tags;
	e->tags = t;
	return t->tag;
}

static void job_free(struct surb_job *j)
{
	if (j->surbs) {
		ns_memzero(j->surbs, j->want * j->surb_len);
		free(j->surbs);
	}
	free(j->msg);
	free(j);
}

/* The RepliableMessage of a job whose SURBs are all there, with the key rotation keyd made
 * them under in its V2 header. */
static int job_send(struct ns_engine *e, struct surb_job *j)
{
	size_t len = ns_repliable_len(!j->additional, j->have, j->surb_len, j->msg_len);
	uint8_t *inner = malloc(len);
	if (!inner)
		return -1;
	long n = ns_repliable_build(j->tag, !j->additional, j->surbs, j->have, j->surb_len,
	                            j->key_rotation, j->msg, j->msg_len, inner, len);
	struct frag_dest d = { .recipient = j->recipient, .lane = j->lane, .owner = j->owner,
		               .msg_id = j->msg_id };
	int rc = n < 0 ? -1 : queue_message(e, NYM_MSG_REPLIABLE, inner, (size_t)n, &d);
	ns_memzero(inner, len);
	free(inner);
	if (rc == 0)
		e->surbs_made += j->have;
	return rc;
}

static void job_finish(struct ns_engine *e, struct surb_job *j)
{
	if (!j->failed && job_send(e, j) < 0)
		j->failed = 1;
	if (j->failed) {
		ns_log(NS_LOG_WARN, e->name, "%s to a recipient dropped: keyd made no reply SURBs",
		       j->additional ? "additional reply SURBs" : "an anonymous message");
		if (!j->additional && j->owner && e->cb->on_send_failed)
			e->cb->on_send_failed(e->ctx, j->owner, j->msg_id,
			                      "could not create reply SURBs for the message: "
			                      "the network topology is not available");
	} else if (j->additional) {
		e->surb_requests++;
	} else {
		e->anon_sent++;
	}
	job_free(j);
}

/* Starts a job: MAKE_SURBS batches, or the message at once when it wants no SURB. */
static void job_start(struct ns_engine *e, struct surb_job *j)
{
	if (j->want == 0) {
		job_finish(e, j);
		return;
	}
	j->batches = j->pending = (j->want + NS_IPC_SURBS_MAX_COUNT - 1) / NS_IPC_SURBS_MAX_COUNT;
	j->first_id = e->next_request_id;
	e->next_request_id += j->batches;
	j->next = e->jobs;
	e->jobs = j;
	for (size_t i = 0; i < j->batches; i++) {
		size_t left = j->want - i * NS_IPC_SURBS_MAX_COUNT;
		struct ns_ipc_msg m = { .type = NS_IPC_T_MAKE_SURBS };
		m.u.MAKE_SURBS.request_id = j->first_id + i;
		m.u.MAKE_SURBS.count = left < NS_IPC_SURBS_MAX_COUNT ? left : NS_IPC_SURBS_MAX_COUNT;
		m.u.MAKE_SURBS.packet_size = NYM_PACKET_REGULAR;
		to_peer(e, NS_IPC_KEYD, &m);
	}
}

static struct surb_job *job_new(struct ns_engine *e, const uint8_t recipient[96], size_t want,
                                uint64_t lane)
{
	const uint8_t *tag = tag_for(e, recipient, 1);
	struct surb_job *j = tag ? calloc(1, sizeof *j) : NULL;
	if (!j)
		return NULL;
	memcpy(j->recipient, recipient, 96);
	memcpy(j->tag, tag, NYM_SENDER_TAG_LEN);
	j->want = want;
	j->lane = lane;
	return j;
}

/* A RepliableMessage Data with our tag for the recipient and reply_surbs fresh SURBs
 * (none is fine, as in Nym). */
int ns_engine_send_anonymous(struct ns_engine *e, const uint8_t recipient[NS_ENGINE_ADDRESS_LEN],
                             const uint8_t *msg, size_t len, size_t reply_surbs, uint64_t lane,
                             void *owner, uint64_t *msg_id)
{
	if (reply_surbs > NS_ENGINE_MAX_REPLY_SURBS)
		return -1;
	struct surb_job *j = job_new(e, recipient, reply_surbs, lane);
	if (!j)
		return -1;
	j->owner = owner;
	j->msg_id = new_msg_id(e, msg_id);
	if (len) {
		if (!(j->msg = malloc(len))) {
			job_free(j);
			return -1;
		}
		memcpy(j->msg, msg, len);
		j->msg_len = len;
	}
	job_start(e, j);
	return 0;
}

/* A ReplyMessage Data through the SURBs keyd holds for the tag; keyd queues the fragments
 * its SURBs do not cover and asks the sender for more. An unknown tag ends in BUILD_FAILED
 * NO_SURB: logged and dropped, as Nym does. */
int ns_engine_reply(struct ns_engine *e, const uint8_t tag[NS_ENGINE_TAG_LEN], const uint8_t *msg,
                    size_t len, uint64_t lane)
{
	uint8_t *inner = malloc(1 + len);
	if (!inner)
		return -1;
	struct nym_reply_msg rm = { .content_tag = NYM_REPLY_DATA, .data = msg, .data_len = len };
	long n = nym_reply_msg_encode(&rm, inner, 1 + len);
	struct frag_dest d = { .tag = tag, .lane = lane, .msg_id = new_msg_id(e, NULL) };
	int rc = n < 0 ? -1 : queue_message(e, NYM_MSG_REPLY, inner, (size_t)n, &d);
	free(inner);
	if (rc == 0)
		e->replies_sent++;
	return rc;
}

/* ---- lanes and owners */

size_t ns_engine_lane_depth(const struct ns_engine *e, uint64_t lane)
{
	return ns_frags_lane_queued(&e->frags, lane);
}

size_t ns_engine_lane_unacked(const struct ns_engine *e, uint64_t lane)
{
	return ns_frags_lane_unacked(&e->frags, lane);
}

size_t ns_engine_unacked(const struct ns_engine *e)
{
	return e->frags.count;
}

/* Nym removes a closed connection's lane from its out-queue (its queued packets are
 * dropped; those already sent keep their ack timers). Our out-queue is netd's, which no IPC
 * message reaches: the lane's fragments go to General and are retransmitted until acked. */
void ns_engine_close_lane(struct ns_engine *e, uint64_t lane)
{
	if (lane != 0 && ns_frags_move_lane(&e->frags, lane, 0) != 0)
		ns_log(NS_LOG_ERROR, e->name, "out of memory: lane %llu stays open", (unsigned long long)lane);
}

void ns_engine_forget_owner(struct ns_engine *e, void *owner)
{
	for (struct frag *f = e->frags.head; f; f = f->next)
		if (f->owner == owner)
			f->owner = NULL;
	for (struct surb_job *j = e->jobs; j; j = j->next)
		if (j->owner == owner)
			j->owner = NULL;
}

int ns_engine_self_address(const struct ns_engine *e, uint8_t out[NS_ENGINE_ADDRESS_LEN])
{
	if (!e->have_self)
		return -1;
	memcpy(out, e->self, 96);
	return 0;
}

static void count_lane(struct ns_engine_stats *st, const struct frag *f)
{
	size_t i = 0;
	while (i < st->n_lanes && st->lane[i] != f->lane)
		i++;
	if (i == st->n_lanes && i < NS_ENGINE_LANES_MAX)
		st->lane[st->n_lanes++] = f->lane;
	if (i < st->n_lanes) {
		st->lane_unacked[i]++;
		st->lane_depth[i] += f->queued;
	}
}

void ns_engine_stats(const struct ns_engine *e, struct ns_engine_stats *st)
{
	memset(st, 0, sizeof *st);
	st->messages_sent = e->sent_msgs;
	st->anonymous_sent = e->anon_sent;
	st->replies_sent = e->replies_sent;
	st->surbs_sent = e->surbs_made;
	st->surbs_received = e->surbs_received;
	st->surb_requests_served = e->surb_requests;
	st->surbs_low = e->surbs_low;
	st->fragments_given_up = e->given_up;
	for (const struct frag *f = e->frags.head; f; f = f->next) {
		st->unacked++;
		st->unacked_replies += f->reply != 0;
		st->queued += f->queued;
		count_lane(st, f);
	}
}

/* ---- received messages */

/* SURBs found in a RepliableMessage go to keyd under the sender's tag, <= 32 at a time. */
static void hand_surbs_to_keyd(struct ns_engine *e, const uint8_t tag[NYM_SENDER_TAG_LEN],
                               const struct ns_surb_list *l, uint8_t key_rotation)
{
	static uint8_t body[NS_IPC_SURBS_MAX];
	for (size_t i = 0; i < l->count; i += NS_IPC_SURBS_MAX_COUNT) {
		size_t n = l->count - i < NS_IPC_SURBS_MAX_COUNT ? l->count - i : NS_IPC_SURBS_MAX_COUNT;
		size_t len = ns_surb_list_encode(l->surbs + i * l->surb_len, n, l->surb_len, body,
		                                 sizeof body);
		if (!len)
			return;
		struct ns_ipc_msg m = { .type = NS_IPC_T_SURBS_RECEIVED };
		m.u.SURBS_RECEIVED.sender_tag = NS_IPC_BYTES(tag, NYM_SENDER_TAG_LEN);
		m.u.SURBS_RECEIVED.surbs = NS_IPC_BYTES(body, len);
		m.u.SURBS_RECEIVED.key_rotation = key_rotation <= NYM_KEY_ROTATION_EVEN ? key_rotation : 0;
		to_peer(e, NS_IPC_KEYD, &m);
		ns_memzero(body, len);
	}
	e->surbs_received += l->count;
}

/* A SurbRequest from a recipient of our anonymous messages (Nym's handle_surb_request):
 * only for a recipient we hold a tag for, at most 500, in AdditionalSurbs messages of
 * <= 100 SURBs. They go on the General lane: the IPC lane has no AdditionalReplySurbs. */
static void serve_surb_request(struct ns_engine *e, const uint8_t recipient[96], uint32_t amount)
{
	if (!tag_for(e, recipient, 0)) {
		ns_log_rl(NS_LOG_WARN, e->name, "a client asked for reply SURBs though we never sent it an anonymous message: ignored");
		return;
	}
	if (amount > NS_MAX_SURB_REQUEST)
		amount = NS_MAX_SURB_REQUEST;
	while (amount > 0) {
		uint32_t n = amount < NS_ADDITIONAL_SURBS_BATCH ? amount : NS_ADDITIONAL_SURBS_BATCH;
		struct surb_job *j = job_new(e, recipient, n, 0);
		if (!j)
			return;
		j->additional = 1;
		job_start(e, j);
		amount -= n;
	}
}

static void handle_message(struct ns_engine *e, const uint8_t *padded, size_t len)
{
	struct ns_rx rx;
	int rc = ns_rx_classify(padded, len, &rx);
	if (rc < 0) {
		ns_log_rl(NS_LOG_WARN, e->name, "a malformed reassembled message was dropped (%d)", rc);
		return;
	}
	if (rx.has_tag && rx.surbs.count)
		hand_surbs_to_keyd(e, rx.tag, &rx.surbs, rx.key_rotation);
	ns_log(NS_LOG_DEBUG, e->name, "message of %zu bytes received%s", rx.msg_len,
	         rx.has_tag ? " with a sender tag" : "");
	if (rx.action == NS_RX_DELIVER)
		e->cb->on_message(e->ctx, rx.msg, rx.msg_len, rx.has_tag ? rx.tag : NULL);
	else if (rx.action == NS_RX_SURB_REQUEST)
		serve_surb_request(e, rx.recipient, rx.amount);
}

/* Fragments of messages and of replies (origin) share one reassembler, as in Nym; the
 * reassembled message's type byte says what it is. */
static void on_fragment(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_bytes *f = &m->u.FRAGMENT.fragment;
	struct nym_reasm_message out;
	int rc = nym_reasm_insert(e->reasm, f->ptr, f->len, 0, now_ms(), &out);
	if (rc != NYM_REASM_COMPLETE)
		return;
	handle_message(e, out.data, out.len);
	ns_memzero(out.data, out.len);
	free(out.data);
}

/* ---- SURBs from keyd */

static struct surb_job **job_of(struct ns_engine *e, uint64_t request_id)
{
	struct surb_job **p = &e->jobs;
	while (*p && (request_id < (*p)->first_id || request_id - (*p)->first_id >= (*p)->batches))
		p = &(*p)->next;
	return p;
}

/* Adds one SURBS answer to its job; the job fails on an empty or inconsistent answer. */
static void job_add(struct surb_job *j, uint64_t batch, const struct ns_surb_list *l)
{
	size_t asked = j->want - batch * NS_IPC_SURBS_MAX_COUNT;
	if (asked > NS_IPC_SURBS_MAX_COUNT)
		asked = NS_IPC_SURBS_MAX_COUNT;
	if (j->failed || l->count == 0 || l->count > asked || (j->have && l->surb_len != j->surb_len)) {
		j->failed = 1;
		return;
	}
	if (!j->surbs) {
		j->surb_len = l->surb_len;
		if (!(j->surbs = calloc(j->want, j->surb_len))) {
			j->failed = 1;
			return;
		}
	}
	memcpy(j->surbs + j->have * j->surb_len, l->surbs, l->count * l->surb_len);
	j->have += l->count;
}

static void on_surbs(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_SURBS *s = &m->u.SURBS;
	struct surb_job **p = job_of(e, s->request_id);
	if (!*p) {
		ns_log(NS_LOG_WARN, e->name, "SURBS for an unknown request %llu: ignored",
		       (unsigned long long)s->request_id);
		return;
	}
	struct surb_job *j = *p;
	struct ns_surb_list l;
	int rc = ns_surb_list_parse(s->surbs.ptr, s->surbs.len, NS_IPC_SURBS_MAX_COUNT, &l);
	if (rc < 0) {
		ns_log(NS_LOG_ERROR, e->name, "keyd sent a malformed SURB list (%d)", rc);
		j->failed = 1;
	} else {
		job_add(j, s->request_id - j->first_id, &l);
		j->key_rotation = (uint8_t)s->key_rotation;
	}
	if (--j->pending)
		return;
	*p = j->next;
	job_finish(e, j);
}

static void on_surbs_low(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from, (void)m;
	e->surbs_low++;
}

/* ---- acks and failures from keyd and netd */

static void on_self_address(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	memcpy(e->self, m->u.SELF_ADDRESS.address.ptr, 96);
	e->have_self = 1;
	if (e->cb->on_self_address)
		e->cb->on_self_address(e->ctx, e->self);
}

static void on_ack(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	struct frag *f = find_frag(e, m->u.ACK.frag_id.ptr);
	if (f)
		drop_frag(e, f);
}

/* The lanes whose depth went down in one FRAMES_SENT (at most one per id). */
struct lane_set {
	uint64_t lane[NS_IPC_SENT_MAX_BATCH];
	size_t n;
};

static void lane_set_add(struct lane_set *ls, uint64_t lane)
{
	for (size_t i = 0; i < ls->n; i++)
		if (ls->lane[i] == lane)
			return;
	if (ls->n < NS_IPC_SENT_MAX_BATCH)
		ls->lane[ls->n++] = lane;
}

/* One fragment left netd's queue: sent (its ack timer runs), or dropped from the queue
 * before it was sent (no timer runs for it: built again, so it is not lost). */
static void frame_left_queue(struct ns_engine *e, const uint8_t id[5], int dropped,
                             struct lane_set *ls)
{
	struct frag *f = find_frag(e, id);
	if (!f)
		return; /* acked, failed, or a retransmission of one already acked */
	if (dropped) {
		ns_frags_set_queued(&e->frags, f, 1);
		build(e, f);
		return;
	}
	if (f->queued) {
		ns_frags_set_queued(&e->frags, f, 0);
		lane_set_add(ls, f->lane);
	}
}

static void on_frames_sent(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_bytes *ids = &m->u.FRAMES_SENT.frag_ids;
	struct lane_set ls = { .n = 0 };
	if (ids->len % 5) {
		ns_log(NS_LOG_ERROR, e->name, "netd sent a malformed FRAMES_SENT (%zu bytes): ignored", ids->len);
		return;
	}
	for (size_t i = 0; i < ids->len; i += 5)
		frame_left_queue(e, ids->ptr + i, m->u.FRAMES_SENT.dropped, &ls);
	for (size_t i = 0; i < ls.n && e->cb->on_lane_sent; i++)
		e->cb->on_lane_sent(e->ctx, ls.lane[i]);
}

/* netd holds a fragment's pending ack, and after its ACK_TIMEOUT a retransmission slot, until
 * the ack or the rebuilt frame reaches it; a fragment given up here never brings either. */
static void netd_forget(struct ns_engine *e, const uint8_t id[5])
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_FORGET_FRAGMENT };
	m.u.FORGET_FRAGMENT.frag_id = NS_IPC_BYTES(id, 5);
	to_peer(e, NS_IPC_NETD, &m);
}

static void on_ack_timeout(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	struct frag *f = find_frag(e, m->u.ACK_TIMEOUT.frag_id.ptr);
	if (f)
		build(e, f); /* new route, new SURB-ack; Nym's Retransmission lane: not queued on f's */
	else
		netd_forget(e, m->u.ACK_TIMEOUT.frag_id.ptr); /* acked while the timeout was on its way */
}

/* netd gave the fragment up at maximum_number_of_retransmissions. Nym then forgets its pending
 * ack and nothing else: no word to the app, the message's other fragments go on. Kept here, it
 * would be persisted at the stop and sent again by the next run. */
static void on_gave_up(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	struct frag *f = find_frag(e, m->u.GAVE_UP_FRAGMENT.frag_id.ptr);
	if (!f)
		return; /* acked while netd's word was on its way */
	uint64_t lane = f->lane, msg = f->msg;
	int queued = f->queued;
	e->given_up++;
	ns_log_rl(NS_LOG_WARN, e->name, "a fragment of message %llu reached maximum_number_of_retransmissions "
	                "without an ack: given up (not kept, not persisted)", (unsigned long long)msg);
	drop_frag(e, f);
	if (queued && e->cb->on_lane_sent)
		e->cb->on_lane_sent(e->ctx, lane);
}

/* The owner of a message to a recipient whose gateway is not in the topology hears it with
 * the text of Nym's NymTopologyError::NonExistentNode (nym: common/topology/src/error.rs
 * l.18-19). */
static void tell_unknown_gateway(struct ns_engine *e, const struct frag *f)
{
	char gw[64], text[128];
	if (!e->cb->on_send_failed || base58_encode(f->recipient + 64, 32, gw, sizeof gw) < 0)
		return;
	snprintf(text, sizeof text, "no node with identity %s is known", gw);
	e->cb->on_send_failed(e->ctx, f->owner, f->msg, text);
}

/* Reply fragments keyd could not take (no SURB for the tag, or its waiting queues full): one
 * line per 10 s at most, with the count since the last. */
static void log_no_surb(struct ns_engine *e)
{
	static struct ns_log_limit limit;
	e->no_surb_drops++;
	ns_log_limited(&limit, NS_LOG_WARN, e->name, "replies to a sender tag keyd holds no reply "
	               "SURBs for, or cannot queue: fragment dropped");
}

static void on_build_failed(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	uint64_t reason = m->u.BUILD_FAILED.reason;
	struct frag *f = find_frag(e, m->u.BUILD_FAILED.frag_id.ptr);
	if (reason == NS_IPC_BUILD_NO_SURB)
		log_no_surb(e);
	else if (reason == NS_IPC_BUILD_UNKNOWN_GATEWAY && f && f->owner)
		tell_unknown_gateway(e, f);
	else
		ns_log(NS_LOG_WARN, e->name, "keyd could not build a packet (reason %llu): fragment dropped",
		       (unsigned long long)reason);
	if (f)
		drop_frag(e, f);
	/* a rebuild after ACK_TIMEOUT (the fragment may be gone already: acked meanwhile) */
	netd_forget(e, m->u.BUILD_FAILED.frag_id.ptr);
}

/* ---- persistence hand-over */

/* Every unacknowledged normal fragment to the supervisor (QUEUED_FRAGMENT), reply fragments
 * dropped (their SURBs die with keyd), then QUEUED_END. */
static void persist(struct ns_engine *e)
{
	uint64_t persisted = 0, dropped = 0;
	for (const struct frag *f = e->frags.head; f; f = f->next) {
		if (f->reply) {
			dropped++;
			continue;
		}
		struct ns_ipc_msg m = { .type = NS_IPC_T_QUEUED_FRAGMENT };
		m.u.QUEUED_FRAGMENT.frag_id = NS_IPC_BYTES(f->id, 5);
		m.u.QUEUED_FRAGMENT.fragment = NS_IPC_BYTES(f->data, f->len);
		m.u.QUEUED_FRAGMENT.recipient = NS_IPC_BYTES(f->recipient, 96);
		m.u.QUEUED_FRAGMENT.lane = f->lane;
		to_peer(e, NS_IPC_SUPERVISOR, &m);
		persisted++;
	}
	struct ns_ipc_msg end = { .type = NS_IPC_T_QUEUED_END };
	end.u.QUEUED_END.persisted = persisted;
	end.u.QUEUED_END.dropped = dropped;
	to_peer(e, NS_IPC_SUPERVISOR, &end);
}

/* RESEND_FRAGMENT: a fragment persisted by the last run, kept and rebuilt under its old id. */
static void on_resend(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	const struct ns_ipc_RESEND_FRAGMENT *q = &m->u.RESEND_FRAGMENT;
	if (find_frag(e, q->frag_id.ptr))
		return; /* the same record twice */
	struct frag_dest d = { .recipient = q->recipient.ptr, .lane = q->lane };
	struct frag *f = frag_new(&d, q->fragment.ptr, q->fragment.len);
	if (!f) {
		ns_log(NS_LOG_ERROR, e->name, "out of memory: a persisted fragment is lost");
		return;
	}
	memcpy(f->id, q->frag_id.ptr, 5);
	if (keep_frag(e, f) != 0)
		ns_log(NS_LOG_ERROR, e->name, "out of memory: a persisted fragment is lost");
}

void ns_engine_hand_over(struct ns_engine *e)
{
	persist(e);
}

static void on_shutdown(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from, (void)m;
	persist(e);
	e->cb->on_shutdown(e->ctx);
}

static size_t clamp_len(int n, size_t cap)
{
	return n < 0 || cap == 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t ns_engine_stats_format(const struct ns_engine_stats *st, char *out, size_t cap)
{
	int n = snprintf(out, cap, "messages_sent=%llu\nunacked=%zu\nqueued=%zu\nanonymous_sent=%llu\n"
	                 "replies_sent=%llu\nsurbs_sent=%llu\nsurbs_received=%llu\n"
	                 "surb_requests_served=%llu\nsurbs_low=%llu\nfragments_given_up=%llu\n",
	                 (unsigned long long)st->messages_sent, st->unacked, st->queued,
	                 (unsigned long long)st->anonymous_sent, (unsigned long long)st->replies_sent,
	                 (unsigned long long)st->surbs_sent, (unsigned long long)st->surbs_received,
	                 (unsigned long long)st->surb_requests_served,
	                 (unsigned long long)st->surbs_low, (unsigned long long)st->fragments_given_up);
	return clamp_len(n, cap);
}

static void on_stats_request(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	(void)from;
	struct ns_engine_stats st;
	char text[1024];
	ns_engine_stats(e, &st);
	size_t len = e->cb->stats_text ? e->cb->stats_text(e->ctx, &st, text, sizeof text)
	                               : ns_engine_stats_format(&st, text, sizeof text);
	struct ns_ipc_msg r = { .type = NS_IPC_T_STATS_REPLY };
	r.u.STATS_REPLY.request_id = m->u.STATS_REQUEST.request_id;
	r.u.STATS_REPLY.text = NS_IPC_BYTES(text, len < sizeof text ? len : sizeof text - 1);
	to_peer(e, from, &r);
}

typedef void (*engine_handler)(struct ns_engine *e, enum ns_ipc_role from,
                               const struct ns_ipc_msg *m);

static const engine_handler engine_handlers[NS_IPC_TYPE_LIMIT] = {
	[NS_IPC_T_SHUTDOWN] = on_shutdown,
	[NS_IPC_T_STATS_REQUEST] = on_stats_request,
	[NS_IPC_T_SELF_ADDRESS] = on_self_address,
	[NS_IPC_T_ACK] = on_ack,
	[NS_IPC_T_ACK_TIMEOUT] = on_ack_timeout,
	[NS_IPC_T_GAVE_UP_FRAGMENT] = on_gave_up,
	[NS_IPC_T_FRAMES_SENT] = on_frames_sent,
	[NS_IPC_T_BUILD_FAILED] = on_build_failed,
	[NS_IPC_T_FRAGMENT] = on_fragment,
	[NS_IPC_T_SURBS] = on_surbs,
	[NS_IPC_T_SURBS_LOW] = on_surbs_low,
	[NS_IPC_T_RESEND_FRAGMENT] = on_resend,
};

int ns_engine_handles(uint64_t type)
{
	return type < NS_IPC_TYPE_LIMIT && engine_handlers[type];
}

void ns_engine_deliver(struct ns_engine *e, enum ns_ipc_role from, const struct ns_ipc_msg *m)
{
	engine_handler h = m->type < NS_IPC_TYPE_LIMIT ? engine_handlers[m->type] : NULL;
	if (h)
		h(e, from, m);
	else
		ns_log(NS_LOG_WARN, e->name, "%s is not for this program (ignored)",
		       ns_ipc_type_name(m->type));
}

/* ---- life */

struct ns_engine *ns_engine_new(const struct ns_ipc_host *host, const char *name,
                                const struct ns_engine_cb *cb, void *ctx)
{
	struct ns_engine *e = calloc(1, sizeof *e);
	if (!e || !(e->reasm = nym_reasm_new(NULL))) {
		free(e);
		return NULL;
	}
	e->host = *host;
	e->name = name;
	e->cb = cb;
	e->ctx = ctx;
	return e;
}

const struct ns_ipc_host *ns_engine_host(const struct ns_engine *e)
{
	return &e->host;
}

void ns_engine_ready(struct ns_engine *e)
{
	struct ns_ipc_msg m = { .type = NS_IPC_T_READY };
	m.u.READY.catalogue_version = NS_IPC_CATALOGUE_VERSION;
	m.u.READY.sandboxed = true;
	to_peer(e, NS_IPC_SUPERVISOR, &m);
}

void ns_engine_destroy(struct ns_engine *e)
{
	if (!e)
		return;
	while (e->frags.head)
		drop_frag(e, e->frags.head);
	ns_frags_clear(&e->frags);
	for (struct surb_job *j = e->jobs, *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
	for (struct tag_entry *t = e->tags, *n; t; t = n) {
		n = t->next;
		free(t);
	}
	nym_reasm_free(e->reasm);
	free(e);
}
