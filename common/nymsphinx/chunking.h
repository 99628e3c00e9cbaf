/* nym-sphinx chunking (nym@b4046a89 common/nymsphinx/chunking): fragment headers, fragment
 * identifiers, splitting a padded message into (possibly linked) sets, and reassembly.
 *
 * Header (7 or 10 bytes): set_id|0x80000000 (u32 BE) || total || current ||
 *   0x00 (unlinked)  or  linked_set_id|0x80000000 (u32 BE).
 * A link is valid only on fragment 1 (names the previous set) or on fragment 255 of 255
 * (names the next set). "ppp" below is the per-packet plaintext budget
 * (nym_msg_plaintext_per_packet, 1611 for regular packets): unlinked payload = ppp - 7,
 * linked payload = ppp - 10. Every fragment of a padded message is exactly ppp bytes. */
#ifndef NS_NYM_CHUNKING_H
#define NS_NYM_CHUNKING_H
#include <stddef.h>
#include <stdint.h>
#include "nymsphinx/params.h"

#define NYM_FRAG_HEADER_UNLINKED_LEN 7
#define NYM_FRAG_HEADER_LINKED_LEN   10
#define NYM_FRAG_MAX_PER_SET         255
#define NYM_FRAG_MIN_PPP             11 /* smallest budget that leaves a linked fragment 1 byte */

enum nym_chunk_err {
	NYM_CHUNK_OK = 0,
	NYM_CHUNK_ERR_ARG = -1,          /* NULL, bad ppp, empty message, buffer too small */
	NYM_CHUNK_ERR_SHORT = -2,        /* fewer bytes than the header needs */
	NYM_CHUNK_ERR_HEADER = -3,       /* flag bit, zero id/total/current, current > total, bad link */
	NYM_CHUNK_ERR_PAYLOAD_LEN = -4,  /* payload length wrong for the fragment's position */
	NYM_CHUNK_ERR_INCONSISTENT = -5, /* total or ppp differs from earlier fragments of the set */
	NYM_CHUNK_ERR_NOMEM = -6,
	NYM_CHUNK_ERR_TOO_BIG = -7,      /* one set would not fit under the reassembler's byte cap */
	NYM_CHUNK_ERR_FRAG_ID = -8,      /* fragment identifier with a negative set id */
};

struct nym_frag_header {
	int32_t set_id;      /* 1 ..= INT32_MAX */
	uint8_t total;       /* 1 ..= 255 */
	uint8_t current;     /* 1 ..= total */
	int32_t prev_set_id; /* 0 = none; only on fragment 1 */
	int32_t next_set_id; /* 0 = none; only on fragment 255 of 255 */
};

/* FragmentHeader::try_new rules: 0 if valid, NYM_CHUNK_ERR_HEADER otherwise. */
int nym_frag_header_validate(const struct nym_frag_header *h);
/* 7, or 10 when linked. */
size_t nym_frag_header_len(const struct nym_frag_header *h);
/* Writes 7 or 10 bytes; returns the count or NYM_CHUNK_ERR_HEADER / _ARG. */
long nym_frag_header_encode(const struct nym_frag_header *h, uint8_t *out, size_t cap);
/* Parses a header at the start of in; returns bytes consumed (7/10) or a negative error. */
long nym_frag_header_decode(const uint8_t *in, size_t len, struct nym_frag_header *h);

/* A decoded fragment viewing the caller's bytes. */
struct nym_fragment {
	struct nym_frag_header header;
	const uint8_t *payload;
	size_t payload_len;
};
/* Fragment::try_from_bytes (no payload length check; see nym_fragment_check_len). */
int nym_fragment_decode(const uint8_t *in, size_t len, struct nym_fragment *f);
/* Fragment::try_new payload rules for budget ppp: 0 or NYM_CHUNK_ERR_PAYLOAD_LEN. */
int nym_fragment_check_len(const struct nym_fragment *f, size_t ppp);

/* Fragment identifier carried in SURB-acks: set_id as i32 BE (no flag bit) || position. */
struct nym_frag_id {
	int32_t set_id;   /* >= 0; 0 = cover / reply */
	uint8_t position;
};
#define NYM_COVER_FRAG_ID_INIT { 0, 0 }
void nym_frag_id_encode(const struct nym_frag_id *id, uint8_t out[NYM_FRAG_ID_LEN]);
/* NYM_CHUNK_ERR_FRAG_ID if the set id is negative (as try_from_bytes). */
int nym_frag_id_decode(const uint8_t in[NYM_FRAG_ID_LEN], struct nym_frag_id *id);
int nym_frag_id_is_cover(const struct nym_frag_id *id);

/* A random i32 from the RNG, redrawn while 0 or INT32_MIN, then made positive. */
int32_t nym_random_set_id(void);

/* unlinked payload max (ppp - 7), linked (ppp - 10); 0 if ppp < NYM_FRAG_MIN_PPP. */
size_t nym_frag_unlinked_payload_max(size_t ppp);
size_t nym_frag_linked_payload_max(size_t ppp);
/* total_number_of_sets; 0 if ppp is too small. */
size_t nym_chunk_number_of_sets(size_t msg_len, size_t ppp);
/* number_of_required_fragments: fragment count; *space_left (may be NULL) receives the
 * free bytes in the last fragment. 0 if ppp is too small. */
size_t nym_chunk_required_fragments(size_t msg_len, size_t ppp, size_t *space_left);

/* Output of splitting: count serialized fragments (header || payload), flattened in set order.
 * frags[i] points into one allocation; each is at most ppp bytes (exactly ppp for a padded
 * message). ids[i] is the fragment identifier of frags[i]. */
struct nym_fragment_list {
	size_t count;
	uint8_t **frags;
	size_t *lens;
	struct nym_frag_id *ids;
	size_t n_sets;
	void *storage_;
};
/* split_into_sets with fresh random set ids. msg_len > 0. */
int nym_split_into_fragments(const uint8_t *msg, size_t msg_len, size_t ppp,
                             struct nym_fragment_list *out);
/* Same with given set ids (n_ids >= nym_chunk_number_of_sets; each in 1..INT32_MAX). */
int nym_split_into_fragments_with_ids(const uint8_t *msg, size_t msg_len, size_t ppp,
                                      const int32_t *set_ids, size_t n_ids,
                                      struct nym_fragment_list *out);
void nym_fragment_list_free(struct nym_fragment_list *list);

/* ---------------------------------------------------------------- reassembly ----
 * Accepts fragments in any order; duplicates are ignored; a message made of linked sets
 * is delivered once every set of the chain is complete and the links agree both ways
 * (A.next == B and B.prev == A), concatenated in chain order. Memory is bounded:
 * when a cap would be exceeded, the least recently updated incomplete sets are evicted
 * (counted in stats). Set ids of recently delivered messages are remembered so late
 * duplicates do not start a new buffer. */
struct nym_reassembler;

struct nym_reasm_config {
	size_t max_bytes; /* payload bytes buffered across all sets; 0 = default (64 MiB) */
	size_t max_sets;  /* sets buffered; 0 = default (8192) */
};

struct nym_reasm_stats {
	size_t sets;              /* sets currently buffered */
	size_t bytes;             /* payload bytes currently buffered */
	uint64_t delivered;       /* messages returned */
	uint64_t duplicates;      /* fragments ignored as duplicates */
	uint64_t rejected;        /* fragments refused with an error */
	uint64_t evicted_sets;    /* sets dropped to respect the caps */
	uint64_t expired_sets;    /* sets dropped by nym_reasm_expire */
};

/* A reassembled padded message (pass to nym_msg_unpad). data is malloc'd: free() it. */
struct nym_reasm_message {
	uint8_t *data;
	size_t len;
	size_t n_sets;
	int32_t first_set_id;
};

enum nym_reasm_status {
	NYM_REASM_PENDING = 0,   /* stored; message not complete yet */
	NYM_REASM_COMPLETE = 1,  /* *out filled */
	NYM_REASM_DUPLICATE = 2, /* already had this fragment (or its message was delivered) */
};

/* cfg may be NULL (defaults). NULL on allocation failure. */
struct nym_reassembler *nym_reasm_new(const struct nym_reasm_config *cfg);
void nym_reasm_free(struct nym_reassembler *r);
/* frag = serialized fragment (header || payload); ppp = the per-packet budget it was made
 * for, or 0 to take ppp = len (a received fragment of a padded message is exactly ppp
 * bytes). now_ms is any monotonic clock, only used by nym_reasm_expire.
 * Returns a nym_reasm_status or a negative nym_chunk_err; on error nothing changes. */
int nym_reasm_insert(struct nym_reassembler *r, const uint8_t *frag, size_t len, size_t ppp,
                     uint64_t now_ms, struct nym_reasm_message *out);
/* Drops sets not updated for max_age_ms (Nym uses 30 minutes). Returns how many. */
size_t nym_reasm_expire(struct nym_reassembler *r, uint64_t now_ms, uint64_t max_age_ms);
void nym_reasm_get_stats(const struct nym_reassembler *r, struct nym_reasm_stats *s);

#endif
