/* THE message catalogue of nym-client's inter-process messages: every type, who sends it,
 * who receives it, its fields (msgpack kind, name, limits) and what class of secret-derived
 * bytes it may carry. docs/ipc.md is the same catalogue as prose; change both together.
 *
 * Wire form: one SOCK_SEQPACKET datagram = one msgpack array [type, field1, field2, ...],
 * every integer and length in its shortest msgpack encoding. Field kinds:
 *   U64  msgpack positive integer, min <= value <= max
 *   BOOL msgpack true/false (min/max unused)
 *   BIN  msgpack bin, min <= length <= max (every byte payload)
 *   STR  msgpack str, min <= length <= max, printable ASCII plus \t and \n only
 *
 * Rule: no message carries a private key. keyd exposes operations (build a packet, seal,
 * open, sign an authentication request), never key bytes; ns_ipc_catalogue_check() and
 * test_ipc enforce the secret-class column below. */
#ifndef NS_IPC_MSGS_H
#define NS_IPC_MSGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/address.h"
#include "nymsphinx/framing.h"
#include "nymsphinx/params.h"
#include "nymsphinx/replies.h"

/* Bumped whenever the catalogue changes; READY carries it so the supervisor can refuse a
 * child built from another catalogue. */
#define NS_IPC_CATALOGUE_VERSION 10

/* ---- limits */
#define NS_IPC_MAX_DATAGRAM   65536                  /* receive buffer and hard cap */
#define NS_IPC_MAX_FIELDS     8
#define NS_IPC_FRAG_ID_LEN    NYM_FRAG_ID_LEN        /* FragmentIdentifier: set id i32 BE + position */
#define NS_IPC_FRAGMENT_MAX   32768                  /* plaintext of the largest packet (extended32) */
#define NS_IPC_FRAME_MAX      (NYM_FRAME_MAX_LEN + 64) /* a framed packet + gateway seal overhead */
#define NS_IPC_HS_MSG_MAX     1024                   /* one gateway handshake step (NS_GW_HS_MAX_LEN today) */
#define NS_IPC_TEXT_MAX       4096                   /* stats text, authenticate request JSON */
#define NS_IPC_SURBS_MAX_COUNT 32
#define NS_IPC_SURBS_MAX      (4 + NS_IPC_SURBS_MAX_COUNT * NYM_REPLY_SURB_MAX_LEN)
#define NS_IPC_COVER_MAX_BATCH 64
#define NS_IPC_SENT_MAX_BATCH 64                     /* FRAMES_SENT: fragment ids per message */
#define NS_IPC_TOPO_MAX_NODES 4096
#define NS_IPC_POLICY_CHUNK_MAX 32768                /* EXIT_POLICY_TEXT: bytes per chunk */
#define NS_IPC_POLICY_TEXT_MAX (4u << 20)            /* the whole policy (NS_EXIT_POLICY_MAX_TEXT) */
#define NS_IPC_BATCH_MAX      (NS_IPC_MAX_DATAGRAM - 16) /* BATCH: bytes of messages */
#define NS_IPC_U32_MAX        UINT64_C(0xFFFFFFFF)
#define NS_IPC_U64_MAX        UINT64_MAX

/* ---- processes */
enum ns_ipc_role {
	NS_IPC_SUPERVISOR = 0,
	NS_IPC_KEYD = 1,
	NS_IPC_NETD = 2,
	NS_IPC_APID = 3,
	NS_IPC_ROLE_COUNT = 4,
};
#define NS_IPC_M_SUP  (1u << NS_IPC_SUPERVISOR)
#define NS_IPC_M_KEYD (1u << NS_IPC_KEYD)
#define NS_IPC_M_NETD (1u << NS_IPC_NETD)
#define NS_IPC_M_APID (1u << NS_IPC_APID)
#define NS_IPC_M_CHILDREN (NS_IPC_M_KEYD | NS_IPC_M_NETD | NS_IPC_M_APID)

/* What secret-derived bytes a type may carry (checked by ns_ipc_secret_allowed):
 *   NONE      public or control data only
 *   SEALED    ciphertext / signed public data under keys only keyd (and the gateway) holds
 *   PLAINTEXT user data of local apps (fragments), never key material
 *   SURB      reply SURBs: single-use capabilities made for the other party; they carry
 *             the reply's payload keys by design and travel inside the app's message
 *   KEY       a private/shared key: no catalogue entry may have it */
enum ns_ipc_secret {
	NS_IPC_SECRET_NONE = 0,
	NS_IPC_SECRET_SEALED,
	NS_IPC_SECRET_PLAINTEXT,
	NS_IPC_SECRET_SURB,
	NS_IPC_SECRET_KEY,
};

/* Reasons in SHUTDOWN.reason */
/* FILE_SAVED.file: which of keyd's files the image is (the supervisor renames <path>.new) */
enum ns_ipc_saved_file { NS_IPC_FILE_REPLY_STORE = 0, NS_IPC_FILE_GATEWAYS = 1 };
enum ns_ipc_shutdown_reason { NS_IPC_STOP_NORMAL = 0, NS_IPC_STOP_SIGNAL = 1, NS_IPC_STOP_PEER_FAILED = 2 };
/* COVER_REQUEST.kind / COVER_FRAME.kind */
enum ns_ipc_cover_kind { NS_IPC_COVER_STREAM = 0, NS_IPC_COVER_LOOP = 1 };
/* FRAGMENT.origin */
enum ns_ipc_fragment_origin { NS_IPC_FROM_MESSAGE = 0, NS_IPC_FROM_REPLY = 1 };
/* BUILD_FAILED.reason */
enum ns_ipc_build_error { NS_IPC_BUILD_NO_TOPOLOGY = 1, NS_IPC_BUILD_NO_SURB = 2,
			  NS_IPC_BUILD_BAD_INPUT = 3, NS_IPC_BUILD_NO_SESSION = 4,
			  NS_IPC_BUILD_UNKNOWN_GATEWAY = 5 /* the recipient's gateway is not in the topology */ };
/* TOPOLOGY_NODE.role: mix layer 1..3 or gateway */
enum ns_ipc_topo_role { NS_IPC_TOPO_LAYER1 = 1, NS_IPC_TOPO_LAYER2 = 2, NS_IPC_TOPO_LAYER3 = 3,
			NS_IPC_TOPO_GATEWAY = 4 };

/* ---- fields of each type: F(T, kind, name, min, max); T is the type name */
#define NS_IPC_F_SHUTDOWN(F, T) \
	F(T, U64, reason, 0, 2)
#define NS_IPC_F_STATS_REQUEST(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX)
#define NS_IPC_F_STATS_REPLY(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX) \
	F(T, STR, text, 0, NS_IPC_TEXT_MAX)
#define NS_IPC_F_READY(F, T) \
	F(T, U64, catalogue_version, 0, NS_IPC_U32_MAX) \
	F(T, BOOL, sandboxed, 0, 1)
/* One fragment still waiting for its ack when the suite stops (apid -> supervisor, which
 * appends it to data/nymsuite-unsent.bin), or one read back at start-up (supervisor -> apid,
 * which rebuilds it under the same fragment id). lane as in BUILD_PACKET. */
#define NS_IPC_F_QUEUED_FRAGMENT(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN) \
	F(T, BIN, fragment, 1, NS_IPC_FRAGMENT_MAX) \
	F(T, BIN, recipient, NYM_RECIPIENT_LEN, NYM_RECIPIENT_LEN) \
	F(T, U64, lane, 0, NS_IPC_U64_MAX)
#define NS_IPC_F_RESEND_FRAGMENT(F, T) NS_IPC_F_QUEUED_FRAGMENT(F, T)
/* apid asks keyd or netd for its counters and state (for nymctl through the admin socket);
 * the reply is one JSON object (flat: string, number and boolean values) in json. */
#define NS_IPC_F_STATUS_REQUEST(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX)
#define NS_IPC_F_STATUS_REPLY(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX) \
	F(T, STR, json, 2, NS_IPC_TEXT_MAX)
/* apid's answer to SHUTDOWN once every QUEUED_FRAGMENT is out: how many it handed over and
 * how many it had to drop (reply fragments: their SURBs do not outlive keyd). */
#define NS_IPC_F_QUEUED_END(F, T) \
	F(T, U64, persisted, 0, NS_IPC_U32_MAX) \
	F(T, U64, dropped, 0, NS_IPC_U32_MAX)

/* file: NS_IPC_FILE_REPLY_STORE or NS_IPC_FILE_GATEWAYS */
#define NS_IPC_F_FILE_SAVED(F, T) \
	F(T, U64, file, 0, 1) \
	F(T, U64, bytes, 1, NS_IPC_U32_MAX)

#define NS_IPC_F_GW_HANDSHAKE_START(F, T) \
	F(T, BIN, gateway_identity, 32, 32) \
	F(T, U64, protocol, 0, 255) \
	F(T, BOOL, fresh, 0, 1)
#define NS_IPC_F_GW_HANDSHAKE_OUT(F, T) \
	F(T, BIN, message, 1, NS_IPC_HS_MSG_MAX)
#define NS_IPC_F_GW_HANDSHAKE_IN(F, T) \
	F(T, BIN, message, 1, NS_IPC_HS_MSG_MAX)
#define NS_IPC_F_GW_AUTH_REQUEST(F, T) \
	F(T, BIN, gateway_identity, 32, 32) \
	F(T, U64, protocol, 0, 255) \
	F(T, U64, timestamp, 0, NS_IPC_U64_MAX)
#define NS_IPC_F_GW_AUTH_TEXT(F, T) \
	F(T, STR, text, 2, NS_IPC_TEXT_MAX)
#define NS_IPC_F_GW_SESSION_READY(F, T) \
	F(T, U64, protocol, 0, 255)
/* keyd could not complete a handshake step or build an authentication request (bad gateway
 * message, unknown gateway key): netd drops the connection and backs off at once. */
#define NS_IPC_F_GW_HANDSHAKE_FAILED(F, T) \
	F(T, STR, reason, 1, 256)
/* The protocol version the gateway answered with (netd reads it from the plaintext
 * register/authenticate response): keyd seals ForwardSphinxV2 frames (kind 2) from the
 * version that introduced them on, kind 1 below. */
#define NS_IPC_F_GW_PROTOCOL(F, T) \
	F(T, U64, protocol, 0, 255)

#define NS_IPC_F_BUILD_PACKET(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN) \
	F(T, BIN, fragment, 1, NS_IPC_FRAGMENT_MAX) \
	F(T, BIN, recipient, NYM_RECIPIENT_LEN, NYM_RECIPIENT_LEN) \
	F(T, U64, lane, 0, NS_IPC_U64_MAX) \
	F(T, U64, packet_size, 1, 5)
#define NS_IPC_F_BUILD_REPLY(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN) \
	F(T, BIN, fragment, 1, NS_IPC_FRAGMENT_MAX) \
	F(T, BIN, sender_tag, NYM_SENDER_TAG_LEN, NYM_SENDER_TAG_LEN) \
	F(T, U64, lane, 0, NS_IPC_U64_MAX) \
	F(T, U64, packet_size, 1, 5)
#define NS_IPC_F_BUILD_FAILED(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN) \
	F(T, U64, reason, 1, 5)
#define NS_IPC_F_SEALED_FRAME(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN) \
	F(T, BIN, frame, 1, NS_IPC_FRAME_MAX) \
	F(T, U64, lane, 0, NS_IPC_U64_MAX) \
	F(T, U64, expected_delay_ms, 0, NS_IPC_U32_MAX)
#define NS_IPC_F_COVER_REQUEST(F, T) \
	F(T, U64, count, 1, NS_IPC_COVER_MAX_BATCH) \
	F(T, U64, kind, 0, 1)
#define NS_IPC_F_COVER_FRAME(F, T) \
	F(T, BIN, frame, 1, NS_IPC_FRAME_MAX) \
	F(T, U64, kind, 0, 1)
#define NS_IPC_F_ACK_TIMEOUT(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN)
/* frag_ids = the ids (5 bytes each) of real frames that left netd's queue since the last
 * FRAMES_SENT: handed to the gateway (dropped false: their ack timers run), or discarded from
 * the queue (dropped true: a stale lane, no memory; no ack timer runs for them). */
#define NS_IPC_F_FRAMES_SENT(F, T) \
	F(T, BIN, frag_ids, NS_IPC_FRAG_ID_LEN, NS_IPC_SENT_MAX_BATCH * NS_IPC_FRAG_ID_LEN) \
	F(T, BOOL, dropped, 0, 1)
/* The front gave a fragment up without its ack (keyd could not rebuild it, or its ACK_TIMEOUT
 * came after the ack): netd frees what it keeps for it (ack timer, retransmission slot). */
#define NS_IPC_F_FORGET_FRAGMENT(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN)
/* netd gave a fragment up at maximum_number_of_retransmissions (its ack timer fired once
 * more): netd keeps nothing for it any more, and the front drops it too. */
#define NS_IPC_F_GAVE_UP_FRAGMENT(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN)

#define NS_IPC_F_OPEN_FRAME(F, T) \
	F(T, BIN, frame, 1, NS_IPC_FRAME_MAX)
#define NS_IPC_F_ACK(F, T) \
	F(T, BIN, frag_id, NS_IPC_FRAG_ID_LEN, NS_IPC_FRAG_ID_LEN)
#define NS_IPC_F_FRAGMENT(F, T) \
	F(T, BIN, fragment, 1, NS_IPC_FRAGMENT_MAX) \
	F(T, U64, origin, 0, 1)

#define NS_IPC_F_MAKE_SURBS(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX) \
	F(T, U64, count, 1, NS_IPC_SURBS_MAX_COUNT) \
	F(T, U64, packet_size, 1, 5)
/* surbs = u32 BE count || count x serialized reply SURB (all of one length); key_rotation is
 * the SphinxKeyRotation they were made under (0 unknown, 1 odd, 2 even): it goes into the
 * RepliableMessage header, and a reply through them carries it. */
#define NS_IPC_F_SURBS(F, T) \
	F(T, U64, request_id, 0, NS_IPC_U64_MAX) \
	F(T, BIN, surbs, 1, NS_IPC_SURBS_MAX) \
	F(T, U64, key_rotation, 0, 2)
#define NS_IPC_F_SURBS_RECEIVED(F, T) \
	F(T, BIN, sender_tag, NYM_SENDER_TAG_LEN, NYM_SENDER_TAG_LEN) \
	F(T, BIN, surbs, 1, NS_IPC_SURBS_MAX) \
	F(T, U64, key_rotation, 0, 2)
#define NS_IPC_F_SURBS_LOW(F, T) \
	F(T, BIN, sender_tag, NYM_SENDER_TAG_LEN, NYM_SENDER_TAG_LEN) \
	F(T, U64, available, 0, NS_IPC_U32_MAX)
#define NS_IPC_F_SELF_ADDRESS(F, T) \
	F(T, BIN, address, NYM_RECIPIENT_LEN, NYM_RECIPIENT_LEN)

/* unix seconds: Nym's cutoff for the reply SURBs loaded from the store (nymapi.h) */
#define NS_IPC_F_SURB_CUTOFF(F, T) \
	F(T, U64, before, 1, NS_IPC_U64_MAX)
#define NS_IPC_F_TOPOLOGY_BEGIN(F, T) \
	F(T, U64, generation, 0, NS_IPC_U64_MAX) \
	F(T, U64, key_rotation_id, 0, NS_IPC_U32_MAX) \
	F(T, U64, nodes, 0, NS_IPC_TOPO_MAX_NODES)
#define NS_IPC_F_TOPOLOGY_NODE(F, T) \
	F(T, U64, generation, 0, NS_IPC_U64_MAX) \
	F(T, U64, role, 1, 4) \
	F(T, U64, node_id, 0, NS_IPC_U32_MAX) \
	F(T, BIN, identity, 32, 32) \
	F(T, BIN, sphinx_key, 32, 32) \
	F(T, BIN, address, SPHINX_NODE_ADDR_LEN, SPHINX_NODE_ADDR_LEN)
#define NS_IPC_F_TOPOLOGY_END(F, T) \
	F(T, U64, generation, 0, NS_IPC_U64_MAX) \
	F(T, U64, nodes, 0, NS_IPC_TOPO_MAX_NODES)

/* The network requester's exit policy for its front (exitd), before it is READY: the text
 * fetched by netd from upstream_exit_policy_url, or the supervisor's read of the local
 * [nymsuite] exit_policy_file, in chunks, then EXIT_POLICY_END with the total length sent
 * and error '' (complete) or why there is no policy (the front then stops the suite). */
#define NS_IPC_F_EXIT_POLICY_TEXT(F, T) \
	F(T, BIN, text, 1, NS_IPC_POLICY_CHUNK_MAX)
#define NS_IPC_F_EXIT_POLICY_END(F, T) \
	F(T, U64, total, 0, NS_IPC_POLICY_TEXT_MAX) \
	F(T, STR, error, 0, 512)

/* Several messages in one datagram (catalogue version 9): messages = one or more of
 * (u32 BE length, then one message exactly as a datagram of its own would carry it). Each
 * message inside is validated as if it had come alone on the same link (type, sender,
 * receiver, fields, so each keeps its own secret class); a BATCH inside a BATCH is refused.
 * The container adds no bytes of its own (class none). A corked conn (ns_ipc_conn_set_cork)
 * sends what one turn of its loop queued this way: its peer wakes and reads once. */
#define NS_IPC_F_BATCH(F, T) \
	F(T, BIN, messages, 5, NS_IPC_BATCH_MAX)

/* ---- the catalogue: X(number, NAME, senders, receivers, secret class)
 * A type with several senders or receivers is accepted on any link between one of its
 * senders and one of its receivers. Numbers are wire values: never reuse one. */
#define NS_IPC_CATALOGUE(X) \
	X(1,  SHUTDOWN,           NS_IPC_M_SUP,      NS_IPC_M_CHILDREN, NONE)      \
	X(2,  STATS_REQUEST,      NS_IPC_M_SUP,      NS_IPC_M_CHILDREN, NONE)      \
	X(3,  STATS_REPLY,        NS_IPC_M_CHILDREN, NS_IPC_M_SUP,      NONE)      \
	X(4,  READY,              NS_IPC_M_CHILDREN, NS_IPC_M_SUP,      NONE)      \
	X(5,  QUEUED_FRAGMENT,    NS_IPC_M_APID,     NS_IPC_M_SUP,      PLAINTEXT) \
	X(6,  QUEUED_END,         NS_IPC_M_APID,     NS_IPC_M_SUP,      NONE)      \
	X(7,  RESEND_FRAGMENT,    NS_IPC_M_SUP,      NS_IPC_M_APID,     PLAINTEXT) \
	X(8,  STATUS_REQUEST,     NS_IPC_M_APID,     NS_IPC_M_KEYD | NS_IPC_M_NETD, NONE) \
	X(9,  STATUS_REPLY,       NS_IPC_M_KEYD | NS_IPC_M_NETD, NS_IPC_M_APID, NONE) \
	X(10, GW_HANDSHAKE_START, NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(11, GW_HANDSHAKE_OUT,   NS_IPC_M_KEYD,     NS_IPC_M_NETD,     SEALED)    \
	X(12, GW_HANDSHAKE_IN,    NS_IPC_M_NETD,     NS_IPC_M_KEYD,     SEALED)    \
	X(13, GW_AUTH_REQUEST,    NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(14, GW_AUTH_TEXT,       NS_IPC_M_KEYD,     NS_IPC_M_NETD,     SEALED)    \
	X(15, GW_SESSION_READY,   NS_IPC_M_KEYD,     NS_IPC_M_NETD,     NONE)      \
	X(16, GW_HANDSHAKE_FAILED, NS_IPC_M_KEYD,    NS_IPC_M_NETD,     NONE)      \
	X(17, GW_PROTOCOL,        NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(20, BUILD_PACKET,       NS_IPC_M_APID,     NS_IPC_M_KEYD,     PLAINTEXT) \
	X(21, BUILD_REPLY,        NS_IPC_M_APID,     NS_IPC_M_KEYD,     PLAINTEXT) \
	X(22, BUILD_FAILED,       NS_IPC_M_KEYD,     NS_IPC_M_APID,     NONE)      \
	X(23, SEALED_FRAME,       NS_IPC_M_KEYD,     NS_IPC_M_NETD,     SEALED)    \
	X(24, COVER_REQUEST,      NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(25, COVER_FRAME,        NS_IPC_M_KEYD,     NS_IPC_M_NETD,     SEALED)    \
	X(26, ACK_TIMEOUT,        NS_IPC_M_NETD,     NS_IPC_M_APID,     NONE)      \
	X(27, FRAMES_SENT,        NS_IPC_M_NETD,     NS_IPC_M_APID,     NONE)      \
	X(28, FORGET_FRAGMENT,    NS_IPC_M_APID,     NS_IPC_M_NETD,     NONE)      \
	X(29, GAVE_UP_FRAGMENT,   NS_IPC_M_NETD,     NS_IPC_M_APID,     NONE)      \
	X(30, OPEN_FRAME,         NS_IPC_M_NETD,     NS_IPC_M_KEYD,     SEALED)    \
	X(31, ACK,                NS_IPC_M_KEYD,     NS_IPC_M_NETD | NS_IPC_M_APID, NONE) \
	X(32, FRAGMENT,           NS_IPC_M_KEYD,     NS_IPC_M_APID,     PLAINTEXT) \
	X(40, MAKE_SURBS,         NS_IPC_M_APID,     NS_IPC_M_KEYD,     NONE)      \
	X(41, SURBS,              NS_IPC_M_KEYD,     NS_IPC_M_APID,     SURB)      \
	X(42, SURBS_RECEIVED,     NS_IPC_M_APID,     NS_IPC_M_KEYD,     SURB)      \
	X(43, SURBS_LOW,          NS_IPC_M_KEYD,     NS_IPC_M_APID,     NONE)      \
	X(44, SELF_ADDRESS,       NS_IPC_M_KEYD,     NS_IPC_M_APID,     NONE)      \
	X(45, FILE_SAVED,         NS_IPC_M_KEYD,     NS_IPC_M_SUP,      NONE)      \
	X(50, TOPOLOGY_BEGIN,     NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(51, TOPOLOGY_NODE,      NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(52, TOPOLOGY_END,       NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(53, SURB_CUTOFF,        NS_IPC_M_NETD,     NS_IPC_M_KEYD,     NONE)      \
	X(60, EXIT_POLICY_TEXT,   NS_IPC_M_SUP | NS_IPC_M_NETD, NS_IPC_M_APID, NONE) \
	X(61, EXIT_POLICY_END,    NS_IPC_M_SUP | NS_IPC_M_NETD, NS_IPC_M_APID, NONE) \
	X(62, BATCH,              NS_IPC_M_CHILDREN, NS_IPC_M_CHILDREN, NONE)

#define NS_IPC_TYPE_LIMIT 64 /* every type number is below this (handler tables) */

/* ---- generated: type numbers */
enum ns_ipc_type {
	NS_IPC_T_INVALID = 0,
#define NS_IPC_ENUM_(num, NAME, from, to, secret) NS_IPC_T_##NAME = num,
	NS_IPC_CATALOGUE(NS_IPC_ENUM_)
#undef NS_IPC_ENUM_
};

/* ---- generated: one typed struct per type (BIN/STR point into the received datagram) */
struct ns_ipc_bytes {
	const uint8_t *ptr;
	size_t len;
};
/* m.u.ACK.frag_id = NS_IPC_BYTES(id, 5); */
#define NS_IPC_BYTES(p, n) ((struct ns_ipc_bytes){ (const uint8_t *)(p), (n) })
#define NS_IPC_CTYPE_U64  uint64_t
#define NS_IPC_CTYPE_BOOL bool
#define NS_IPC_CTYPE_BIN  struct ns_ipc_bytes
#define NS_IPC_CTYPE_STR  struct ns_ipc_bytes
#define NS_IPC_MEMBER_(T, kind, name, min, max) NS_IPC_CTYPE_##kind name;
#define NS_IPC_STRUCT_(num, NAME, from, to, secret) \
	struct ns_ipc_##NAME { NS_IPC_F_##NAME(NS_IPC_MEMBER_, NAME) };
NS_IPC_CATALOGUE(NS_IPC_STRUCT_)
#undef NS_IPC_STRUCT_

struct ns_ipc_msg {
	enum ns_ipc_type type;
	union {
#define NS_IPC_UNION_(num, NAME, from, to, secret) struct ns_ipc_##NAME NAME;
		NS_IPC_CATALOGUE(NS_IPC_UNION_)
#undef NS_IPC_UNION_
	} u;
};

/* Largest encoding of each field kind (used for the per-type size limit). */
#define NS_IPC_WMAX_U64(min, max)  9
#define NS_IPC_WMAX_BOOL(min, max) 1
#define NS_IPC_WMAX_BIN(min, max)  (5 + (size_t)(max))
#define NS_IPC_WMAX_STR(min, max)  (5 + (size_t)(max))

#endif
