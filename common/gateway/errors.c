#include "gateway/errors.h"

const char *ns_gw_strerror(int err)
{
	switch (err) {
	case NS_GW_OK: return "success";
	case NS_GW_EARG: return "invalid argument";
	case NS_GW_ENOMEM: return "out of memory";
	case NS_GW_EMISSING_NONCE: return "did not provide a valid nonce for aead encryption";
	case NS_GW_EMALFORMED_NONCE:
		return "the provided nonce (or legacy IV) did not have the expected length";
	case NS_GW_EAEAD: return "failed to either encrypt or decrypt provided message";
	case NS_GW_EMAC: return "provided MAC is invalid";
	case NS_GW_ETOO_SHORT: return "the request is too short";
	case NS_GW_EHS_MALFORMED_REQUEST: return "sent request was malformed";
	case NS_GW_EHS_MALFORMED_RESPONSE: return "received response was malformed:";
	case NS_GW_EHS_MISSING_NONCE: return "no nonce has been provided for aes256-gcm-siv key derivation";
	case NS_GW_EHS_BAD_SIGNATURE: return "received invalid signature";
	case NS_GW_EHS_FAILURE: return "sent request was malformed";
	case NS_GW_ESTATE: return "handshake step called out of order";
	case NS_GW_EBAD_FLAG: return "the encryption flag had an unexpected value";
	case NS_GW_EPLAINTEXT_FRAME: return "unencrypted binary frames are not accepted";
	case NS_GW_EUNKNOWN_KIND: return "received request with an unknown kind";
	case NS_GW_EMIX_PACKET: return "received sphinx packet was malformed";
	case NS_GW_EJSON: return "the received message is not valid JSON";
	case NS_GW_EOVERSIZE: return "the received message is too large";
	case NS_GW_EUNKNOWN_TYPE: return "unknown message type";
	case NS_GW_EMISSING_FIELD: return "missing field";
	case NS_GW_EFIELD_TYPE: return "field has the wrong type or is out of range";
	case NS_GW_EDUP_FIELD: return "duplicate field";
	case NS_GW_EUTF8: return "the received message is not valid UTF-8";
	case NS_GW_EBASE58: return "malformed base58 string";
	case NS_GW_EBASE64: return "malformed base64 string";
	case NS_GW_EAUTH_SKEW: return "the provided request timestamp is excessively skewed";
	case NS_GW_EAUTH_SIGNATURE: return "failed to verify request signature";
	case NS_GW_EAUTH_CIPHERTEXT: return "failed to verify provided address ciphertext";
	case NS_GW_EAUTH_REUSE:
		return "the provided request timestamp is smaller or equal to one previously used";
	case NS_GW_EPROTOCOL:
		return "Attempted to negotiate connection with client using incompatible protocol version";
	case NS_GW_ENOT_LEGACY: return "the connection is already using an aes256-gcm-siv key";
	case NS_GW_EKEY_DIGEST: return "failed to derive matching aes256-gcm-siv key";
	case NS_GW_ENOT_REGISTERED: return "the client is not registered";
	default: return "unknown error";
	}
}
