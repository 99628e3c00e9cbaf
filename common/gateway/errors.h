/* Error codes of the client <-> gateway protocol modules (common/gateway/).
 * Every function returns 0 or one of these negative values. Where Nym has an
 * error message for the same condition, ns_gw_strerror returns that exact text,
 * so it can be sent in a handshakeError / error response. */
#ifndef NS_GW_ERRORS_H
#define NS_GW_ERRORS_H

enum ns_gw_err {
	NS_GW_OK = 0,
	NS_GW_EARG = -1,              /* bad argument or output buffer too small */
	NS_GW_ENOMEM = -2,
	/* shared key usage */
	NS_GW_EMISSING_NONCE = -3,
	NS_GW_EMALFORMED_NONCE = -4,
	NS_GW_EAEAD = -5,             /* GCM-SIV tag mismatch */
	NS_GW_EMAC = -6,              /* legacy HMAC mismatch */
	NS_GW_ETOO_SHORT = -7,
	/* registration handshake */
	NS_GW_EHS_MALFORMED_REQUEST = -8,
	NS_GW_EHS_MALFORMED_RESPONSE = -9,
	NS_GW_EHS_MISSING_NONCE = -10,
	NS_GW_EHS_BAD_SIGNATURE = -11,
	NS_GW_EHS_FAILURE = -12,      /* H4 was not [1] */
	NS_GW_ESTATE = -13,           /* step called out of order */
	/* binary frames */
	NS_GW_EBAD_FLAG = -14,
	NS_GW_EPLAINTEXT_FRAME = -15, /* flag 0: refused by this implementation */
	NS_GW_EUNKNOWN_KIND = -16,
	NS_GW_EMIX_PACKET = -17,
	/* text messages */
	NS_GW_EJSON = -18,
	NS_GW_EOVERSIZE = -19,
	NS_GW_EUNKNOWN_TYPE = -20,
	NS_GW_EMISSING_FIELD = -21,
	NS_GW_EFIELD_TYPE = -22,      /* wrong JSON type or value out of range */
	NS_GW_EDUP_FIELD = -23,
	NS_GW_EUTF8 = -24,
	NS_GW_EBASE58 = -25,
	NS_GW_EBASE64 = -26,
	/* authentication */
	NS_GW_EAUTH_SKEW = -27,
	NS_GW_EAUTH_SIGNATURE = -28,
	NS_GW_EAUTH_CIPHERTEXT = -29,
	NS_GW_EAUTH_REUSE = -30,
	NS_GW_EPROTOCOL = -31,        /* client protocol version newer than ours */
	NS_GW_ENOT_LEGACY = -32,      /* operation needs a legacy key */
	NS_GW_EKEY_DIGEST = -33,      /* key upgrade digest mismatch */
	NS_GW_ENOT_REGISTERED = -34,  /* no stored key for this client */
};

/* Static text for an error code (never NULL). */
const char *ns_gw_strerror(int err);

#endif
