#include "gateway/handshake.h"

#include <string.h>

#include "crypto.h"
#include "gateway/errors.h"
#include "nymsphinx/address.h"

enum { STEP_FAILED = -1, STEP_BEGUN = 0, STEP_SENT_FIRST = 1, STEP_SENT_SECOND = 2, STEP_DONE = 3 };

/* ---- codecs ---- */
int ns_gw_h1_parse(const uint8_t *b, size_t len, struct ns_gw_h1 *out)
{
	if (b == NULL || (len != NS_GW_H1_LEGACY_LEN && len != NS_GW_H1_LEN))
		return NS_GW_EHS_MALFORMED_REQUEST;
	/* ed25519-dalek VerifyingKey::from_bytes: ID_C must decompress */
	if (!nym_ed25519_pk_decompresses(b))
		return NS_GW_EHS_MALFORMED_REQUEST;
	memcpy(out->identity, b, 32);
	memcpy(out->ephemeral, b + 32, 32);
	out->has_salt = len == NS_GW_H1_LEN;
	if (out->has_salt)
		memcpy(out->salt, b + 64, NS_GW_KDF_SALT_LEN);
	else
		memset(out->salt, 0, NS_GW_KDF_SALT_LEN);
	return 0;
}

size_t ns_gw_h1_encode(const struct ns_gw_h1 *m, uint8_t out[NS_GW_HS_MAX_LEN])
{
	memcpy(out, m->identity, 32);
	memcpy(out + 32, m->ephemeral, 32);
	if (!m->has_salt)
		return NS_GW_H1_LEGACY_LEN;
	memcpy(out + 64, m->salt, NS_GW_KDF_SALT_LEN);
	return NS_GW_H1_LEN;
}

int ns_gw_material_parse(const uint8_t *b, size_t len, struct ns_gw_material *out)
{
	if (b == NULL || (len != NS_GW_H3_LEGACY_LEN && len != NS_GW_H3_LEN))
		return NS_GW_EHS_MALFORMED_RESPONSE;
	out->has_nonce = len == NS_GW_H3_LEN;
	out->sig_ct_len = out->has_nonce ? NS_GW_SIG_CT_MAX : 64;
	memcpy(out->sig_ct, b, out->sig_ct_len);
	if (out->has_nonce)
		memcpy(out->nonce, b + NS_GW_SIG_CT_MAX, NS_GW_NONCE_LEN);
	else
		memset(out->nonce, 0, NS_GW_NONCE_LEN);
	return 0;
}

size_t ns_gw_material_encode(const struct ns_gw_material *m, uint8_t out[NS_GW_HS_MAX_LEN])
{
	if (m->has_nonce ? m->sig_ct_len != NS_GW_SIG_CT_MAX : m->sig_ct_len != 64)
		return 0;
	memcpy(out, m->sig_ct, m->sig_ct_len);
	if (!m->has_nonce)
		return m->sig_ct_len;
	memcpy(out + m->sig_ct_len, m->nonce, NS_GW_NONCE_LEN);
	return m->sig_ct_len + NS_GW_NONCE_LEN;
}

int ns_gw_h2_parse(const uint8_t *b, size_t len, struct ns_gw_h2 *out)
{
	if (b == NULL || (len != NS_GW_H2_LEGACY_LEN && len != NS_GW_H2_LEN))
		return NS_GW_EHS_MALFORMED_RESPONSE;
	memcpy(out->ephemeral, b, 32);
	return ns_gw_material_parse(b + 32, len - 32, &out->m);
}

size_t ns_gw_h2_encode(const struct ns_gw_h2 *m, uint8_t out[NS_GW_HS_MAX_LEN])
{
	size_t n;
	uint8_t tmp[NS_GW_HS_MAX_LEN];
	if ((n = ns_gw_material_encode(&m->m, tmp)) == 0)
		return 0;
	memcpy(out, m->ephemeral, 32);
	memcpy(out + 32, tmp, n);
	return 32 + n;
}

int ns_gw_h4_parse(const uint8_t *b, size_t len, int *success)
{
	if (b == NULL || len != NS_GW_H4_LEN)
		return NS_GW_EHS_MALFORMED_RESPONSE;
	*success = b[0] == 1;
	return 0;
}

/* ---- shared steps ---- */
static void set_identity(struct ns_gw_hs *hs, int role, const uint8_t seed[32])
{
	memset(hs, 0, sizeof *hs);
	hs->role = role;
	hs->step = STEP_BEGUN;
	ns_ed25519_from_seed(hs->identity_pk, hs->identity_sk, seed);
}

static void set_ephemeral(struct ns_gw_hs *hs, const uint8_t eph_secret[32])
{
	memcpy(hs->eph_sk, eph_secret, 32);
	ns_x25519_base(hs->eph_pk, hs->eph_sk);
}

static int derive_key(struct ns_gw_hs *hs)
{
	uint8_t dh[32];
	int rc;
	ns_x25519(dh, hs->eph_sk, hs->remote_eph);
	rc = ns_gw_key_derive(&hs->key, dh, hs->aes ? hs->salt : NULL,
	                      hs->aes ? NS_GW_KDF_SALT_LEN : 0, !hs->aes);
	ns_memzero(dh, sizeof dh);
	ns_memzero(hs->eph_sk, sizeof hs->eph_sk);
	return rc;
}

/* ENC(Sign(own id, own eph || remote eph)) with the derived key. */
static int make_material(struct ns_gw_hs *hs, const uint8_t nonce[NS_GW_NONCE_LEN],
                         struct ns_gw_material *m)
{
	uint8_t msg[64], sig[64];
	int rc;
	memcpy(msg, hs->eph_pk, 32);
	memcpy(msg + 32, hs->remote_eph, 32);
	ns_ed25519_sign(sig, msg, sizeof msg, hs->identity_sk);
	m->has_nonce = hs->aes;
	memset(m->nonce, 0, sizeof m->nonce);
	if (hs->aes)
		memcpy(m->nonce, nonce, NS_GW_NONCE_LEN);
	rc = ns_gw_key_encrypt_naive(&hs->key, hs->aes ? m->nonce : NULL,
	                             hs->aes ? NS_GW_NONCE_LEN : 0, sig, sizeof sig, m->sig_ct,
	                             sizeof m->sig_ct, &m->sig_ct_len);
	ns_memzero(sig, sizeof sig);
	return rc;
}

/* Decrypts the peer's material and checks Sign(peer id, peer eph || own eph). */
static int verify_material(const struct ns_gw_hs *hs, const struct ns_gw_material *m,
                           const uint8_t peer_identity[32])
{
	uint8_t msg[64], sig[NS_GW_SIG_CT_MAX];
	size_t sig_len;
	int rc;
	if (hs->aes && !m->has_nonce)
		return NS_GW_EHS_MISSING_NONCE;
	/* A legacy key given a 12-byte nonce fails as Nym's does (IV must be 16 bytes). */
	rc = ns_gw_key_decrypt_naive(&hs->key, m->has_nonce ? m->nonce : NULL,
	                             m->has_nonce ? NS_GW_NONCE_LEN : 0, m->sig_ct, m->sig_ct_len, sig,
	                             sizeof sig, &sig_len);
	if (rc != 0)
		return rc;
	memcpy(msg, hs->remote_eph, 32);
	memcpy(msg + 32, hs->eph_pk, 32);
	if (sig_len != 64 || ns_ed25519_verify(sig, msg, sizeof msg, peer_identity) != 0)
		return NS_GW_EHS_BAD_SIGNATURE;
	return 0;
}

static int fail(struct ns_gw_hs *hs, int rc)
{
	hs->step = STEP_FAILED;
	ns_memzero(hs->eph_sk, sizeof hs->eph_sk);
	ns_gw_key_clear(&hs->key);
	return rc;
}

static int emit(const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	if (out == NULL || cap < n)
		return NS_GW_EARG;
	memcpy(out, msg, n);
	*out_len = n;
	return 0;
}

/* ---- client ---- */
void ns_gw_hs_client_begin(struct ns_gw_hs *hs, const uint8_t identity_seed[32],
                           const uint8_t gateway_identity[32], int aes, int uses_credentials)
{
	set_identity(hs, NS_GW_HS_CLIENT, identity_seed);
	memcpy(hs->remote_identity, gateway_identity, 32);
	hs->aes = aes ? 1 : 0;
	hs->uses_credentials = uses_credentials ? 1 : 0;
}

int ns_gw_hs_client_h1_det(struct ns_gw_hs *hs, const uint8_t eph_secret[32],
                           const uint8_t salt[NS_GW_KDF_SALT_LEN], uint8_t *out, size_t cap,
                           size_t *out_len)
{
	struct ns_gw_h1 m;
	if (hs->role != NS_GW_HS_CLIENT || hs->step != STEP_BEGUN)
		return NS_GW_ESTATE;
	if ((hs->aes && salt == NULL) || out == NULL ||
	    cap < (hs->aes ? NS_GW_H1_LEN : NS_GW_H1_LEGACY_LEN))
		return NS_GW_EARG;
	set_ephemeral(hs, eph_secret);
	memset(&m, 0, sizeof m);
	memcpy(m.identity, hs->identity_pk, 32);
	memcpy(m.ephemeral, hs->eph_pk, 32);
	m.has_salt = hs->aes;
	if (hs->aes) {
		memcpy(hs->salt, salt, NS_GW_KDF_SALT_LEN);
		memcpy(m.salt, salt, NS_GW_KDF_SALT_LEN);
	}
	*out_len = ns_gw_h1_encode(&m, out);
	hs->step = STEP_SENT_FIRST;
	return 0;
}

int ns_gw_hs_client_h1(struct ns_gw_hs *hs, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t eph[32], salt[NS_GW_KDF_SALT_LEN];
	int rc;
	ns_random(eph, sizeof eph);
	ns_random(salt, sizeof salt);
	rc = ns_gw_hs_client_h1_det(hs, eph, salt, out, cap, out_len);
	ns_memzero(eph, sizeof eph);
	return rc;
}

int ns_gw_hs_client_h3_det(struct ns_gw_hs *hs, const uint8_t *h2, size_t h2_len,
                           const uint8_t nonce[NS_GW_NONCE_LEN], uint8_t *out, size_t cap,
                           size_t *out_len)
{
	struct ns_gw_h2 m;
	struct ns_gw_material mine;
	int rc;
	if (hs->role != NS_GW_HS_CLIENT || hs->step != STEP_SENT_FIRST)
		return NS_GW_ESTATE;
	if (out == NULL || cap < (hs->aes ? NS_GW_H3_LEN : NS_GW_H3_LEGACY_LEN) ||
	    (hs->aes && nonce == NULL))
		return NS_GW_EARG;
	if ((rc = ns_gw_h2_parse(h2, h2_len, &m)) != 0)
		return fail(hs, rc);
	memcpy(hs->remote_eph, m.ephemeral, 32);
	if ((rc = derive_key(hs)) != 0)
		return fail(hs, rc);
	if ((rc = verify_material(hs, &m.m, hs->remote_identity)) != 0)
		return fail(hs, rc);
	if ((rc = make_material(hs, nonce, &mine)) != 0)
		return fail(hs, rc);
	*out_len = ns_gw_material_encode(&mine, out);
	hs->step = STEP_SENT_SECOND;
	return 0;
}

int ns_gw_hs_client_h3(struct ns_gw_hs *hs, const uint8_t *h2, size_t h2_len, uint8_t *out,
                       size_t cap, size_t *out_len)
{
	uint8_t nonce[NS_GW_NONCE_LEN];
	ns_random(nonce, sizeof nonce);
	return ns_gw_hs_client_h3_det(hs, h2, h2_len, nonce, out, cap, out_len);
}

int ns_gw_hs_client_finish(struct ns_gw_hs *hs, const uint8_t *h4, size_t h4_len)
{
	int ok, rc;
	if (hs->role != NS_GW_HS_CLIENT || hs->step != STEP_SENT_SECOND)
		return NS_GW_ESTATE;
	if ((rc = ns_gw_h4_parse(h4, h4_len, &ok)) != 0)
		return fail(hs, rc);
	if (!ok)
		return fail(hs, NS_GW_EHS_FAILURE);
	hs->step = STEP_DONE;
	return 0;
}

/* ---- gateway ---- */
void ns_gw_hs_gateway_begin(struct ns_gw_hs *hs, const uint8_t identity_seed[32])
{
	set_identity(hs, NS_GW_HS_GATEWAY, identity_seed);
}

int ns_gw_hs_gateway_h2_det(struct ns_gw_hs *hs, const uint8_t *h1, size_t h1_len,
                            const uint8_t eph_secret[32], const uint8_t nonce[NS_GW_NONCE_LEN],
                            uint8_t *out, size_t cap, size_t *out_len)
{
	struct ns_gw_h1 init;
	struct ns_gw_h2 m;
	int rc;
	if (hs->role != NS_GW_HS_GATEWAY || hs->step != STEP_BEGUN)
		return NS_GW_ESTATE;
	if (out == NULL || nonce == NULL)
		return NS_GW_EARG;
	if ((rc = ns_gw_h1_parse(h1, h1_len, &init)) != 0)
		return fail(hs, rc);
	if (cap < (init.has_salt ? NS_GW_H2_LEN : NS_GW_H2_LEGACY_LEN))
		return fail(hs, NS_GW_EARG);
	memcpy(hs->remote_identity, init.identity, 32);
	memcpy(hs->remote_eph, init.ephemeral, 32);
	hs->aes = init.has_salt;
	memcpy(hs->salt, init.salt, NS_GW_KDF_SALT_LEN);
	set_ephemeral(hs, eph_secret);
	if ((rc = derive_key(hs)) != 0)
		return fail(hs, rc);
	memcpy(m.ephemeral, hs->eph_pk, 32);
	if ((rc = make_material(hs, nonce, &m.m)) != 0)
		return fail(hs, rc);
	*out_len = ns_gw_h2_encode(&m, out);
	hs->step = STEP_SENT_FIRST;
	return 0;
}

int ns_gw_hs_gateway_h2(struct ns_gw_hs *hs, const uint8_t *h1, size_t h1_len, uint8_t *out,
                        size_t cap, size_t *out_len)
{
	uint8_t eph[32], nonce[NS_GW_NONCE_LEN];
	int rc;
	ns_random(eph, sizeof eph);
	ns_random(nonce, sizeof nonce);
	rc = ns_gw_hs_gateway_h2_det(hs, h1, h1_len, eph, nonce, out, cap, out_len);
	ns_memzero(eph, sizeof eph);
	return rc;
}

int ns_gw_hs_gateway_h4(struct ns_gw_hs *hs, const uint8_t *h3, size_t h3_len, uint8_t *out,
                        size_t cap, size_t *out_len)
{
	struct ns_gw_material m;
	static const uint8_t ok[NS_GW_H4_LEN] = {1};
	int rc;
	if (hs->role != NS_GW_HS_GATEWAY || hs->step != STEP_SENT_FIRST)
		return NS_GW_ESTATE;
	if (out == NULL || cap < NS_GW_H4_LEN)
		return NS_GW_EARG;
	if ((rc = ns_gw_material_parse(h3, h3_len, &m)) != 0)
		return fail(hs, rc);
	if ((rc = verify_material(hs, &m, hs->remote_identity)) != 0)
		return fail(hs, rc);
	hs->step = STEP_DONE;
	return emit(ok, sizeof ok, out, cap, out_len);
}

/* ---- common ---- */
uint8_t ns_gw_hs_protocol_version(const struct ns_gw_hs *hs)
{
	if (hs->aes)
		return 3;
	return hs->role == NS_GW_HS_CLIENT && hs->uses_credentials ? 2 : 1;
}

int ns_gw_hs_done(const struct ns_gw_hs *hs) { return hs->step == STEP_DONE; }

int ns_gw_hs_key(const struct ns_gw_hs *hs, struct ns_gw_key *out)
{
	if (hs->step != STEP_DONE)
		return NS_GW_ESTATE;
	*out = hs->key;
	return 0;
}

void ns_gw_hs_clear(struct ns_gw_hs *hs) { ns_memzero(hs, sizeof *hs); }
