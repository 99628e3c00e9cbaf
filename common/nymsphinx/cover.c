/* Loop cover traffic (see cover.h). */
#include "nymsphinx/cover.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "nymsphinx/params.h"

int nym_cover_content(uint8_t *out, size_t len)
{
	if (out == NULL || len < NYM_COVER_MESSAGE_LEN + 1)
		return -1;
	memcpy(out, NYM_COVER_MESSAGE, NYM_COVER_MESSAGE_LEN);
	out[NYM_COVER_MESSAGE_LEN] = 0x01;
	memset(out + NYM_COVER_MESSAGE_LEN + 1, 0, len - NYM_COVER_MESSAGE_LEN - 1);
	return 0;
}

int nym_cover_build(const struct nym_preparer *p, uint64_t packet_delay_ns, uint16_t version,
                    const struct nym_prepare_fixed *fixed, struct nym_prepared_fragment *out)
{
	static const uint8_t cover_frag_id[NYM_FRAG_ID_LEN];
	size_t ppp;
	uint8_t *content;
	int rc;

	if (p == NULL || out == NULL)
		return -1;
	ppp = nym_msg_plaintext_per_packet(p->packet_size_tag);
	if (ppp == 0 || (content = malloc(ppp)) == NULL)
		return -1;
	rc = nym_cover_content(content, ppp);
	if (rc == 0)
		rc = nym_prepare_e2e(p, content, ppp, &p->self, version, packet_delay_ns, cover_frag_id,
		                     fixed, out);
	free(content);
	return rc;
}

int nym_is_cover(const uint8_t *data, size_t len)
{
	return data != NULL && len >= NYM_COVER_MESSAGE_LEN &&
	       memcmp(data, NYM_COVER_MESSAGE, NYM_COVER_MESSAGE_LEN) == 0;
}
