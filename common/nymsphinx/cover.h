/* Loop cover traffic (nym-sphinx cover/src/lib.rs): a packet to ourselves whose
 * fragment is "The cake is a lie!" || 0x01 || zeros (plaintext - 405 - 32 bytes),
 * e2e-encrypted to our own key, with a SURB-ack for COVER_FRAG_ID (00 00 00 00 00).
 * The real client builds both the packet and its SURB-ack with version 258. Delay quirk:
 * the forward delays use the mean the caller passes (the loop stream passes its
 * 200 ms loop-cover mean, the main Poisson stream average_packet_delay); the SURB-ack
 * always uses average_ack_delay. */
#ifndef NS_NYM_COVER_H
#define NS_NYM_COVER_H
#include <stddef.h>
#include <stdint.h>

#include "nymsphinx/preparer.h"

#define NYM_COVER_MESSAGE     "The cake is a lie!"
#define NYM_COVER_MESSAGE_LEN 18
#define NYM_COVER_VERSION     258

/* "The cake is a lie!" || 0x01 || zeros, exactly len bytes (len >= 19). */
int nym_cover_content(uint8_t *out, size_t len);
/* Builds one loop cover packet from p->self to p->self. packet_delay_ns is the
 * per-hop forward mean (see above). fixed may be NULL. */
int nym_cover_build(const struct nym_preparer *p, uint64_t packet_delay_ns, uint16_t version,
                    const struct nym_prepare_fixed *fixed, struct nym_prepared_fragment *out);
/* is_cover: data starts with the 18 cover bytes. */
int nym_is_cover(const uint8_t *data, size_t len);

#endif
