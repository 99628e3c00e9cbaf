/* Inter-process messages of nym-client, the codec: msgpack encoding and strict validation
 * against the catalogue (common/ipc_msgs.h: types, senders, receivers, fields, limits). No
 * socket and no event loop here, so the codec also builds for the browser (wasm/).
 *
 * Decoding is strict: a datagram larger than NS_IPC_MAX_DATAGRAM, anything but one msgpack
 * array of scalars in shortest encoding, an unknown type, a type this process does not
 * accept from this peer, a wrong field count, kind, length or range, or trailing bytes is
 * an error (a negative NS_IPC_E* code). The caller treats every error as fatal. */
#ifndef NS_IPC_CODEC_H
#define NS_IPC_CODEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_msgs.h"

enum ns_ipc_err {
	NS_IPC_OK = 0,
	NS_IPC_EOVERSIZE = -1,   /* datagram longer than the receive cap (MSG_TRUNC) */
	NS_IPC_ETRUNCATED = -2,  /* msgpack ends inside a value */
	NS_IPC_ETRAILING = -3,   /* bytes after the message array */
	NS_IPC_EFORMAT = -4,     /* not an array of scalars, a nested/forbidden kind, non-shortest form */
	NS_IPC_EUNKNOWN = -5,    /* type number not in the catalogue */
	NS_IPC_ERECEIVER = -6,   /* this process never receives the type */
	NS_IPC_ESENDER = -7,     /* this process receives the type, but not from this peer */
	NS_IPC_ECOUNT = -8,      /* wrong number of fields */
	NS_IPC_EKIND = -9,       /* a field of the wrong msgpack kind (e.g. str for bin) */
	NS_IPC_ELENGTH = -10,    /* bin/str length outside the field's limits */
	NS_IPC_ERANGE = -11,     /* integer outside the field's limits */
	NS_IPC_ETEXT = -12,      /* str with a byte other than printable ASCII, \t, \n */
	NS_IPC_ESPACE = -13,     /* encode: output buffer too small */
	NS_IPC_EIO = -14,        /* recvmsg/sendmsg failed (errno kept) */
	NS_IPC_EEOF = -15,       /* peer closed the socket */
	NS_IPC_EAGAIN = -16,     /* nothing to read (non-blocking) */
	NS_IPC_ECONTROL = -17,   /* ancillary data (e.g. passed file descriptors) arrived */
	NS_IPC_ENOHANDLER = -18, /* valid message with no handler in the dispatch table */
	NS_IPC_EARG = -19,       /* bad argument (e.g. unknown role) */
	NS_IPC_ESHORT = -20,     /* sendmsg sent fewer bytes than the datagram */
	NS_IPC_EQUEUE = -21,     /* conn send queue over NS_IPC_OUTQ_MAX: the peer stopped reading */
};

/* Static description of one field and of one catalogue type. */
enum ns_ipc_kind { NS_IPC_KIND_U64, NS_IPC_KIND_BOOL, NS_IPC_KIND_BIN, NS_IPC_KIND_STR };
struct ns_ipc_field_info {
	const char *name;
	enum ns_ipc_kind kind;
	uint64_t min, max;  /* value range (U64) or length range (BIN, STR) */
	size_t offset;      /* in the type's struct inside ns_ipc_msg.u */
};
struct ns_ipc_type_info {
	enum ns_ipc_type type;
	const char *name;
	unsigned senders, receivers;  /* NS_IPC_M_* masks */
	enum ns_ipc_secret secret;
	size_t max_size;              /* largest valid encoding */
	const struct ns_ipc_field_info *fields;
	size_t n_fields;
};

/* The catalogue as data: entry i of n. */
size_t ns_ipc_catalogue_size(void);
const struct ns_ipc_type_info *ns_ipc_catalogue_entry(size_t i);
/* The entry of a type number, or NULL if unknown. */
const struct ns_ipc_type_info *ns_ipc_type_info(uint64_t type);
const char *ns_ipc_type_name(uint64_t type);   /* "?" if unknown */
const char *ns_ipc_role_name(enum ns_ipc_role role);
bool ns_ipc_role_valid(enum ns_ipc_role role);
const char *ns_ipc_strerror(int err);

/* The accept table: 0 if `self` accepts `type` from `peer`, else NS_IPC_EUNKNOWN,
 * NS_IPC_ERECEIVER or NS_IPC_ESENDER. */
int ns_ipc_accepts(enum ns_ipc_role self, enum ns_ipc_role peer, uint64_t type);

/* Secret rule: 1 if bytes of class `secret` may be sent to `receiver`. KEY never; netd only
 * NONE and SEALED; apid NONE, PLAINTEXT, SURB; the supervisor NONE; keyd anything but KEY. */
int ns_ipc_secret_allowed(enum ns_ipc_secret secret, enum ns_ipc_role receiver);
enum ns_ipc_secret ns_ipc_secret_class(uint64_t type);
/* 0 if every catalogue entry obeys the secret rule toward each of its receivers and its
 * limits fit NS_IPC_MAX_DATAGRAM, else the first offending type number. */
int ns_ipc_catalogue_check(void);

/* Encodes m (its fields are validated like a received message) into out. */
int ns_ipc_encode(const struct ns_ipc_msg *m, uint8_t *out, size_t cap, size_t *out_len);
/* Decodes one datagram received by `self` from `peer`. BIN/STR fields of *out point into buf. */
int ns_ipc_decode(enum ns_ipc_role self, enum ns_ipc_role peer, const uint8_t *buf, size_t len,
                  struct ns_ipc_msg *out);

/* The messages inside a BATCH (batch, as decoded), one per call, each decoded as received by
 * self from peer: 1 and *out (byte fields point into the batch's datagram), 0 after the last,
 * or an error (a length past the end NS_IPC_ETRUNCATED, a BATCH inside NS_IPC_EFORMAT, else
 * ns_ipc_decode's). *off starts at 0. */
int ns_ipc_batch_next(enum ns_ipc_role self, enum ns_ipc_role peer, const struct ns_ipc_msg *batch,
                      size_t *off, struct ns_ipc_msg *out);

#endif
