#include "gateway/auth.h"

#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "gateway/errors.h"

int ns_gw_auth_v2_message(const struct ns_gw_auth_v2 *a, uint8_t *out, size_t cap,
                          size_t *out_len)
{
	size_t n = 1 + 32 + a->address_ciphertext_len + a->nonce_len + 8, o = 0;
	if (a->address_ciphertext_len > NS_GW_AUTH_CT_MAX || a->nonce_len > NS_GW_AUTH_NONCE_MAX ||
	    cap < n)
		return NS_GW_EARG;
	out[o++] = a->protocol_version;
	memcpy(out + o, a->client_identity, 32);
	o += 32;
	memcpy(out + o, a->address_ciphertext, a->address_ciphertext_len);
	o += a->address_ciphertext_len;
	memcpy(out + o, a->nonce, a->nonce_len);
	o += a->nonce_len;
	for (int i = 7; i >= 0; i--)
		out[o++] = (uint8_t)(a->timestamp >> (8 * i));
	*out_len = o;
	return 0;
}

int ns_gw_auth_v2_build_det(struct ns_gw_auth_v2 *out, const struct ns_gw_key *key,
                            const uint8_t identity_seed[32], const uint8_t *nonce,
                            size_t nonce_len, uint64_t timestamp)
{
	uint8_t sk[64], msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t mlen;
	int rc;
	memset(out, 0, sizeof *out);
	if (nonce == NULL || nonce_len != ns_gw_key_nonce_len(key))
		return NS_GW_EMALFORMED_NONCE;
	out->protocol_version = NS_GW_PROTOCOL_AUTH_V2;
	ns_ed25519_from_seed(out->client_identity, sk, identity_seed);
	memcpy(out->nonce, nonce, nonce_len);
	out->nonce_len = nonce_len;
	out->timestamp = timestamp;
	rc = ns_gw_key_encrypt(key, nonce, nonce_len, out->client_identity, 32,
	                       out->address_ciphertext, sizeof out->address_ciphertext,
	                       &out->address_ciphertext_len);
	if (rc == 0 && (rc = ns_gw_auth_v2_message(out, msg, sizeof msg, &mlen)) == 0)
		ns_ed25519_sign(out->signature, msg, mlen, sk);
	ns_memzero(sk, sizeof sk);
	return rc;
}

int ns_gw_auth_v2_build(struct ns_gw_auth_v2 *out, const struct ns_gw_key *key,
                        const uint8_t identity_seed[32], uint64_t timestamp)
{
	uint8_t nonce[NS_GW_MAX_NONCE_LEN];
	size_t n = ns_gw_key_random_nonce(key, nonce);
	return ns_gw_auth_v2_build_det(out, key, identity_seed, nonce, n, timestamp);
}

int ns_gw_auth_v2_check_timestamp(const struct ns_gw_auth_v2 *a, uint64_t now_sec,
                                  uint32_t now_nsec, uint64_t skew)
{
	uint64_t t = a->timestamp;
	/* too old: t + skew < now (exact, with the fractional second) */
	if (t > UINT64_MAX - skew)
		return NS_GW_EAUTH_SKEW;
	if (t + skew < now_sec || (t + skew == now_sec && now_nsec > 0))
		return NS_GW_EAUTH_SKEW;
	/* too new: t - skew > now */
	if (now_sec <= UINT64_MAX - skew && t > now_sec + skew)
		return NS_GW_EAUTH_SKEW;
	return 0;
}

int ns_gw_auth_v2_check_signature(const struct ns_gw_auth_v2 *a)
{
	uint8_t msg[NS_GW_AUTH_V2_MSG_MAX];
	size_t mlen;
	if (ns_gw_auth_v2_message(a, msg, sizeof msg, &mlen) != 0 ||
	    ns_ed25519_verify(a->signature, msg, mlen, a->client_identity) != 0)
		return NS_GW_EAUTH_SIGNATURE;
	return 0;
}

int ns_gw_auth_v2_check_ciphertext(const struct ns_gw_auth_v2 *a, const struct ns_gw_key *key)
{
	uint8_t want[32 + NS_GW_LEGACY_MAC_LEN];
	size_t wlen;
	int rc = ns_gw_key_encrypt(key, a->nonce, a->nonce_len, a->client_identity, 32, want,
	                           sizeof want, &wlen);
	if (rc != 0)
		return rc;
	if (wlen != a->address_ciphertext_len || !ns_ct_equal(want, a->address_ciphertext, wlen))
		return NS_GW_EAUTH_CIPHERTEXT;
	return 0;
}

int ns_gw_auth_v2_check_not_reused(const struct ns_gw_auth_v2 *a, uint64_t last_timestamp)
{
	return a->timestamp > last_timestamp ? 0 : NS_GW_EAUTH_REUSE;
}

int ns_gw_auth_v2_verify(const struct ns_gw_auth_v2 *a, const struct ns_gw_key *key,
                         uint64_t now_sec, uint32_t now_nsec, uint64_t skew,
                         const uint64_t *last_timestamp)
{
	uint8_t negotiated;
	int rc;
	if ((rc = ns_gw_negotiate_protocol(1, a->protocol_version, &negotiated)) != 0 ||
	    (rc = ns_gw_auth_v2_check_timestamp(a, now_sec, now_nsec, skew)) != 0 ||
	    (rc = ns_gw_auth_v2_check_signature(a)) != 0)
		return rc;
	if (key == NULL)
		return NS_GW_ENOT_REGISTERED;
	if ((rc = ns_gw_auth_v2_check_ciphertext(a, key)) != 0)
		return rc;
	return last_timestamp != NULL ? ns_gw_auth_v2_check_not_reused(a, *last_timestamp) : 0;
}

/* ---- v1 ---- */
static char *b58_dup(const uint8_t *b, size_t n)
{
	size_t cap = n * 2 + 2;
	char *s = malloc(cap);
	if (s != NULL && base58_encode(b, n, s, cap) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}

int ns_gw_auth_v1_build_det(struct ns_gw_request *out, const struct ns_gw_key *key,
                            const uint8_t address[32], const uint8_t *nonce, size_t nonce_len,
                            int uses_credentials)
{
	uint8_t ct[32 + NS_GW_TAG_LEN];
	size_t clen;
	int rc;
	memset(out, 0, sizeof *out);
	if (nonce == NULL || nonce_len != ns_gw_key_nonce_len(key))
		return NS_GW_EMALFORMED_NONCE;
	rc = ns_gw_key_encrypt_naive(key, nonce, nonce_len, address, 32, ct, sizeof ct, &clen);
	if (rc != 0)
		return rc;
	out->type = NS_GW_REQ_AUTHENTICATE;
	out->has_protocol = 1;
	out->protocol_version = !key->legacy ? NS_GW_PROTOCOL_AES
	                        : uses_credentials ? NS_GW_PROTOCOL_CREDENTIALS
	                                           : NS_GW_PROTOCOL_INITIAL;
	out->address = b58_dup(address, 32);
	out->enc_address = b58_dup(ct, clen);
	out->iv_b58 = b58_dup(nonce, nonce_len);
	if (out->address == NULL || out->enc_address == NULL || out->iv_b58 == NULL) {
		ns_gw_request_free(out);
		return NS_GW_ENOMEM;
	}
	return 0;
}

int ns_gw_auth_v1_build(struct ns_gw_request *out, const struct ns_gw_key *key,
                        const uint8_t address[32], int uses_credentials)
{
	uint8_t nonce[NS_GW_MAX_NONCE_LEN];
	size_t n = ns_gw_key_random_nonce(key, nonce);
	return ns_gw_auth_v1_build_det(out, key, address, nonce, n, uses_credentials);
}

int ns_gw_auth_v1_address(const struct ns_gw_request *r, uint8_t address[32])
{
	uint8_t tmp[64];
	long n;
	if (r->type != NS_GW_REQ_AUTHENTICATE || r->address == NULL)
		return NS_GW_EARG;
	n = base58_decode(r->address, tmp, sizeof tmp);
	if (n != 32)
		return NS_GW_EBASE58;
	memcpy(address, tmp, 32);
	return 0;
}

int ns_gw_auth_v1_verify(const struct ns_gw_request *r, const struct ns_gw_key *key)
{
	uint8_t address[32], enc[128], iv[64], want[32 + NS_GW_TAG_LEN];
	long elen, ivlen;
	size_t wlen;
	int rc;
	if ((rc = ns_gw_auth_v1_address(r, address)) != 0)
		return rc;
	if (r->enc_address == NULL || r->iv_b58 == NULL)
		return NS_GW_EARG;
	elen = base58_decode(r->enc_address, enc, sizeof enc);
	ivlen = base58_decode(r->iv_b58, iv, sizeof iv);
	if (elen < 0 || ivlen < 0)
		return NS_GW_EBASE58;
	if (ns_gw_key_encrypt_naive(key, iv, (size_t)ivlen, address, 32, want, sizeof want, &wlen) != 0)
		return NS_GW_EAUTH_CIPHERTEXT;
	if (wlen != (size_t)elen || !ns_ct_equal(want, enc, wlen))
		return NS_GW_EAUTH_CIPHERTEXT;
	return 0;
}

int ns_gw_negotiate_protocol(int has_client_version, uint8_t client_version, uint8_t *out)
{
	if (!has_client_version) {
		*out = NS_GW_PROTOCOL_INITIAL;
		return 0;
	}
	if (client_version >= 1 && client_version <= 4) {
		*out = client_version;
		return 0;
	}
	if (client_version <= NS_GW_PROTOCOL_CURRENT) {
		*out = NS_GW_PROTOCOL_CURRENT;
		return 0;
	}
	return NS_GW_EPROTOCOL;
}

int ns_gw_check_gateway_protocol(int has_version, uint8_t version)
{
	return !has_version || version <= NS_GW_PROTOCOL_CURRENT ? 0 : NS_GW_EPROTOCOL;
}
