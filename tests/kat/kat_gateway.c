/* Known answers for the client <-> gateway protocol: the registration handshake,
 * authenticateV2, binary frames and verbatim text frames of the real client's gateway
 * sessions, and each packet's gateway frame.
 *
 * `gateway` is one session (an object) or several (an array of them). A session's key comes
 * from its `registration` (the handshake, checked) or, for a session that authenticates with
 * the key an earlier registration stored, from `stored_key`; a session of frames alone needs
 * neither (each frame names its key). Each session's authenticateV2 (`authenticate_v2`, one
 * object or an array, each with the `conn` of its text frame when there are several) is
 * checked against that session's key, and each authenticateV2 text frame against the record
 * of its own connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base58.h"
#include "crypto.h"
#include "gateway/auth.h"
#include "gateway/errors.h"
#include "gateway/frames.h"
#include "gateway/handshake.h"
#include "gateway/requests.h"
#include "kat.h"
#include "nymsphinx/address.h"

/* Values of the registration shared by the later checks. */
struct reg {
	uint8_t client_seed[32], client_pk[32], gateway_seed[32], gateway_pk[32];
	uint8_t h1[NS_GW_HS_MAX_LEN], h2[NS_GW_HS_MAX_LEN], h3[NS_GW_HS_MAX_LEN], h4[4];
	long h1_len, h2_len, h3_len, h4_len;
	struct ns_gw_key key;
	int ok;
};

static int hex32(struct kat *k, const cJSON *o, const char *key, uint8_t out[32])
{
	return kat_hex(k, o, key, out, 32) == 32 ? 0 : -1;
}

static void check_identities(struct kat *k, const cJSON *r, struct reg *g)
{
	uint8_t sk[64], pk[32], eph[32], eph_pk[32], peer[32], dh[32];
	ns_ed25519_from_seed(pk, sk, g->client_seed);
	memcpy(g->client_pk, pk, 32);
	kat_expect_hex(k, r, "client_identity_public", pk, 32);
	ns_ed25519_from_seed(pk, sk, g->gateway_seed);
	memcpy(g->gateway_pk, pk, 32);
	kat_expect_hex(k, r, "gateway_identity_public", pk, 32);
	if (hex32(k, r, "client_ephemeral_secret", eph) == 0) {
		ns_x25519_base(eph_pk, eph);
		kat_expect_hex(k, r, "client_ephemeral_public", eph_pk, 32);
		if (hex32(k, r, "gateway_ephemeral_public", peer) == 0) {
			ns_x25519(dh, eph, peer);
			kat_expect_hex(k, r, "x25519_shared", dh, 32);
		}
	}
	if (hex32(k, r, "gateway_ephemeral_secret", eph) == 0) {
		ns_x25519_base(eph_pk, eph);
		kat_expect_hex(k, r, "gateway_ephemeral_public", eph_pk, 32);
		if (hex32(k, r, "client_ephemeral_public", peer) == 0) {
			ns_x25519(dh, eph, peer);
			kat_expect_hex(k, r, "x25519_shared", dh, 32);
		}
	}
	ns_memzero(sk, sizeof sk);
}

/* Sign(id, a || b), and the same signature recovered from the encrypted material. */
static void check_signature(struct kat *k, const cJSON *r, const char *field, const uint8_t seed[32],
                            const uint8_t a[32], const uint8_t b[32], const struct reg *g,
                            const uint8_t *material, const uint8_t nonce[12])
{
	uint8_t sk[64], pk[32], msg[64], sig[64], opened[80];
	size_t olen = 0;
	ns_ed25519_from_seed(pk, sk, seed);
	memcpy(msg, a, 32);
	memcpy(msg + 32, b, 32);
	ns_ed25519_sign(sig, msg, 64, sk);
	kat_expect_hex(k, r, field, sig, 64);
	if (ns_gw_key_decrypt_naive(&g->key, nonce, 12, material, 80, opened, sizeof opened, &olen) != 0 ||
	    olen != 64 || memcmp(opened, sig, 64) != 0)
		kat_fail(k, "%s: the handshake material does not decrypt to it", field);
	ns_memzero(sk, sizeof sk);
}

static void check_registration(struct kat *k, const cJSON *root, const cJSON *r, struct reg *g)
{
	uint8_t c_eph[32], g_eph[32], salt[16], g_nonce[12], c_nonce[12], out[NS_GW_HS_MAX_LEN];
	uint8_t xc[32], xg[32];
	struct ns_gw_hs client, gateway;
	struct ns_gw_key ck, gk;
	size_t n = 0;
	int rc;

	(void)root;
	if (hex32(k, r, "client_identity_seed", g->client_seed) || hex32(k, r, "gateway_identity_seed", g->gateway_seed) ||
	    hex32(k, r, "client_ephemeral_secret", c_eph) || hex32(k, r, "gateway_ephemeral_secret", g_eph) ||
	    kat_hex(k, r, "hkdf_salt", salt, 16) != 16 || kat_hex(k, r, "gateway_nonce", g_nonce, 12) != 12 ||
	    kat_hex(k, r, "client_nonce", c_nonce, 12) != 12)
		return;
	g->h1_len = kat_hex(k, r, "h1_client_init_80", g->h1, sizeof g->h1);
	g->h2_len = kat_hex(k, r, "h2_gateway_material_124", g->h2, sizeof g->h2);
	g->h3_len = kat_hex(k, r, "h3_client_material_92", g->h3, sizeof g->h3);
	g->h4_len = kat_hex(k, r, "h4", g->h4, sizeof g->h4);
	if (g->h1_len != 80 || g->h2_len != 124 || g->h3_len != 92 || g->h4_len != 1) {
		kat_fail(k, "handshake message lengths %ld/%ld/%ld/%ld", g->h1_len, g->h2_len, g->h3_len,
		         g->h4_len);
		return;
	}
	check_identities(k, r, g);

	ns_gw_hs_client_begin(&client, g->client_seed, g->gateway_pk, 1, 0);
	ns_gw_hs_gateway_begin(&gateway, g->gateway_seed);
	if ((rc = ns_gw_hs_client_h1_det(&client, c_eph, salt, out, sizeof out, &n)) != 0)
		kat_fail(k, "client H1: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, r, "h1_client_init_80", out, n);
	if ((rc = ns_gw_hs_gateway_h2_det(&gateway, g->h1, 80, g_eph, g_nonce, out, sizeof out, &n)) != 0)
		kat_fail(k, "gateway H2: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, r, "h2_gateway_material_124", out, n);
	if ((rc = ns_gw_hs_client_h3_det(&client, g->h2, 124, c_nonce, out, sizeof out, &n)) != 0)
		kat_fail(k, "client H3: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, r, "h3_client_material_92", out, n);
	if ((rc = ns_gw_hs_gateway_h4(&gateway, g->h3, 92, out, sizeof out, &n)) != 0)
		kat_fail(k, "gateway H4: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, r, "h4", out, n);
	if ((rc = ns_gw_hs_client_finish(&client, g->h4, 1)) != 0)
		kat_fail(k, "client finish: %s", ns_gw_strerror(rc));
	if (ns_gw_hs_protocol_version(&client) != 3 || ns_gw_hs_protocol_version(&gateway) != 3)
		kat_fail(k, "handshake protocol version is not 3");
	if (memcmp(gateway.remote_identity, g->client_pk, 32) != 0)
		kat_fail(k, "gateway learned the wrong client identity");

	if (ns_gw_hs_key(&client, &ck) == 0 && ns_gw_hs_key(&gateway, &gk) == 0) {
		if (memcmp(ck.bytes, gk.bytes, 32) != 0 || ck.legacy || gk.legacy)
			kat_fail(k, "client and gateway keys differ");
		kat_expect_hex(k, r, "shared_key_32", ck.bytes, 32);
		g->key = ck;
		g->ok = 1; /* (the caller looks at the failures of the session) */
	} else {
		kat_fail(k, "handshake did not complete");
	}
	memcpy(xc, g->h1 + 32, 32);
	memcpy(xg, g->h2, 32);
	check_signature(k, r, "gateway_signature_over_xg_xc", g->gateway_seed, xg, xc, g, g->h2 + 32, g_nonce);
	check_signature(k, r, "client_signature_over_xc_xg", g->client_seed, xc, xg, g, g->h3, c_nonce);
	ns_gw_hs_clear(&client);
	ns_gw_hs_clear(&gateway);
}

static void check_auth_v2(struct kat *k, const cJSON *a, const struct reg *g)
{
	uint8_t nonce[12], msg[NS_GW_AUTH_V2_MSG_MAX], ident[32];
	struct ns_gw_request req = {0}, parsed;
	const char *json = kat_str(k, a, "request_json");
	uint64_t ts, last;
	size_t mlen;
	char *text = NULL;
	int rc;

	if (kat_hex(k, a, "nonce", nonce, 12) != 12 || kat_u64(k, a, "request_unix_timestamp", &ts) != 0 ||
	    json == NULL || hex32(k, a, "address_plaintext", ident) != 0)
		return;
	if (memcmp(ident, g->client_pk, 32) != 0)
		kat_fail(k, "address_plaintext is not the client identity");
	req.type = NS_GW_REQ_AUTHENTICATE_V2;
	if ((rc = ns_gw_auth_v2_build_det(&req.auth, &g->key, g->client_seed, nonce, 12, ts)) != 0) {
		kat_fail(k, "authenticateV2 build: %s", ns_gw_strerror(rc));
		return;
	}
	kat_expect_hex(k, a, "address_ciphertext_48", req.auth.address_ciphertext,
	               req.auth.address_ciphertext_len);
	if (ns_gw_auth_v2_message(&req.auth, msg, sizeof msg, &mlen) == 0)
		kat_expect_hex(k, a, "signed_message", msg, mlen);
	kat_expect_hex(k, a, "signature", req.auth.signature, 64);
	if (ns_gw_request_encode(&req, &text, NULL) != 0 || strcmp(text, json) != 0)
		kat_fail(k, "authenticateV2 JSON differs from request_json");
	free(text);

	/* the gateway side: parse the real client's JSON and verify it */
	if ((rc = ns_gw_request_parse(json, strlen(json), &parsed, NULL)) != 0) {
		kat_fail(k, "request_json does not parse: %s", ns_gw_strerror(rc));
		return;
	}
	if (parsed.type != NS_GW_REQ_AUTHENTICATE_V2 || memcmp(&parsed.auth, &req.auth, sizeof req.auth) != 0)
		kat_fail(k, "parsed authenticateV2 differs from the rebuilt one");
	if ((rc = ns_gw_auth_v2_verify(&parsed.auth, &g->key, ts, 0, NS_GW_DEFAULT_TIMESTAMP_SKEW, NULL)) != 0)
		kat_fail(k, "gateway refuses the real authenticateV2: %s", ns_gw_strerror(rc));
	if (ns_gw_auth_v2_verify(&parsed.auth, &g->key, ts + 121, 0, NS_GW_DEFAULT_TIMESTAMP_SKEW, NULL) !=
	    NS_GW_EAUTH_SKEW)
		kat_fail(k, "authenticateV2 121 s old accepted");
	last = ts;
	if (ns_gw_auth_v2_verify(&parsed.auth, &g->key, ts, 0, NS_GW_DEFAULT_TIMESTAMP_SKEW, &last) !=
	    NS_GW_EAUTH_REUSE)
		kat_fail(k, "authenticateV2 replay accepted");
	ns_gw_request_free(&parsed);
}

static void check_frame(struct kat *k, const cJSON *f)
{
	const char *what = kat_str(k, f, "what");
	uint8_t key_bytes[32], nonce[12], kind = 0, *frame, *pt, *buf = NULL, *sealed = NULL;
	size_t flen = 0, plen = 0, n = 0;
	struct ns_gw_key key = {0};
	struct ns_gw_binary_request req;
	int rc;

	frame = kat_hex_alloc(k, f, "frame", &flen);
	pt = kat_hex_alloc(k, f, "plaintext", &plen);
	if (what == NULL || frame == NULL || pt == NULL || hex32(k, f, "session_key", key_bytes) ||
	    kat_hex(k, f, "nonce", nonce, 12) != 12 || flen < 2)
		goto out;
	memcpy(key.bytes, key_bytes, 32);
	sealed = malloc(flen);
	buf = malloc(flen);
	if (sealed == NULL || buf == NULL)
		goto out;
	if ((rc = ns_gw_frame_seal_det(&key, frame[0], nonce, pt, plen, sealed, flen, &n)) != 0)
		kat_fail(k, "%s: seal: %s", what, ns_gw_strerror(rc));
	else
		kat_expect_hex(k, f, "frame", sealed, n);
	if ((rc = ns_gw_frame_open(&key, frame, flen, &kind, buf, flen, &n)) != 0)
		kat_fail(k, "%s: open: %s", what, ns_gw_strerror(rc));
	else
		kat_expect_hex(k, f, "plaintext", buf, n);
	if (strncmp(what, "client->gateway", 15) == 0) {
		rc = ns_gw_binary_request_decode(&key, frame, flen, buf, flen, &req);
		/* the embedded packet is the tail of the plaintext */
		if (rc != 0 || req.kind != frame[0] || req.packet.packet_len > plen ||
		    memcmp(req.packet.packet, pt + plen - req.packet.packet_len, req.packet.packet_len) != 0)
			kat_fail(k, "%s: not a forward request: %s", what, ns_gw_strerror(rc));
	} else if ((rc = ns_gw_pushed_message_decode(&key, frame, flen, buf, flen, &n)) != 0 || n != plen ||
	           memcmp(buf, pt, plen) != 0) {
		kat_fail(k, "%s: not a pushed message: %s", what, ns_gw_strerror(rc));
	}
out:
	free(frame);
	free(pt);
	free(sealed);
	free(buf);
}

/* Which handshake message a text frame carries: client frames H1 then H3, gateway H2 then H4. */
static void check_hs_data(struct kat *k, const struct reg *g, int from_client, int *count,
                          const struct ns_gw_buf *data)
{
	const uint8_t *want = from_client ? (*count == 0 ? g->h1 : g->h3) : (*count == 0 ? g->h2 : g->h4);
	long wlen = from_client ? (*count == 0 ? g->h1_len : g->h3_len) : (*count == 0 ? g->h2_len : g->h4_len);
	if (*count > 1 || data->len != (size_t)wlen || memcmp(data->data, want, data->len) != 0)
		kat_fail(k, "handshake payload %d from the %s is not the expected message", *count,
		         from_client ? "client" : "gateway");
	(*count)++;
}

/* The authenticate_v2 record of connection conn: the one with that `conn`, else the only
 * record when none names its connection. */
static const cJSON *auth_of_conn(const cJSON *auths, uint64_t conn)
{
	const cJSON *a, *only = NULL;
	int n = 0, named = 0;
	if (cJSON_IsObject(auths))
		return auths;
	cJSON_ArrayForEach(a, auths) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "conn");
		n++, only = a;
		if (c) {
			named = 1;
			if (cJSON_IsNumber(c) && c->valuedouble == (double)conn)
				return a;
		}
	}
	return n == 1 && !named ? only : NULL;
}

static void check_text(struct kat *k, const cJSON *t, const struct reg *g, const cJSON *auth,
                       int *client_hs, int *gateway_hs)
{
	const char *text = kat_str(k, t, "text"), *dir = kat_str(k, t, "dir"), *field = NULL;
	struct ns_gw_request req;
	struct ns_gw_response resp;
	struct ns_gw_hs_msg hs;
	uint64_t conn;
	char *re = NULL;
	size_t len;
	int rc, from_client;

	if (text == NULL || dir == NULL || kat_u64(k, t, "conn", &conn) != 0)
		return;
	len = strlen(text);
	kat_expect_sha256(k, t, "text_sha256", (const uint8_t *)text, len);
	from_client = strcmp(dir, "client->gateway") == 0;
	if (!from_client && strcmp(dir, "gateway->client") != 0) {
		kat_fail(k, "text frame direction \"%s\"", dir);
		return;
	}
	/* registration messages go through the RegistrationHandshake parser in both directions */
	if (ns_gw_hs_msg_parse(text, len, &hs, NULL) == 0) {
		if (hs.type == NS_GW_HSMSG_PAYLOAD)
			check_hs_data(k, g, from_client, from_client ? client_hs : gateway_hs, &hs.data);
		if (ns_gw_hs_msg_encode(&hs, &re, NULL) != 0 || strcmp(re, text) != 0)
			kat_fail(k, "handshake frame re-encodes differently: %s", text);
		free(re);
		re = NULL;
		ns_gw_hs_msg_free(&hs);
		if (!from_client)
			return;
	}
	if (from_client) {
		if ((rc = ns_gw_request_parse(text, len, &req, &field)) != 0) {
			kat_fail(k, "client text frame does not parse (%s, %s): %.80s", ns_gw_strerror(rc),
			         field ? field : "-", text);
			return;
		}
		if (req.type == NS_GW_REQ_AUTHENTICATE_V2) {
			const cJSON *mine = auth_of_conn(auth, conn);
			if (mine)
				kat_expect_str(k, mine, "request_json", text);
			else
				kat_fail(k, "authenticateV2 on connection %llu: no authenticate_v2 record of "
				         "that connection in its session", (unsigned long long)conn);
		}
		rc = ns_gw_request_encode(&req, &re, NULL);
		ns_gw_request_free(&req);
	} else {
		if ((rc = ns_gw_response_parse(text, len, &resp, &field)) != 0) {
			kat_fail(k, "gateway text frame does not parse (%s, %s): %.80s", ns_gw_strerror(rc),
			         field ? field : "-", text);
			return;
		}
		if ((resp.type == NS_GW_RESP_REGISTER || resp.type == NS_GW_RESP_AUTHENTICATE) &&
		    (!resp.status || ns_gw_check_gateway_protocol(resp.has_protocol, resp.protocol_version)))
			kat_fail(k, "gateway reply would be refused by the client: %s", text);
		rc = ns_gw_response_encode(&resp, &re, NULL);
		ns_gw_response_free(&resp);
	}
	if (rc != 0 || strcmp(re, text) != 0)
		kat_fail(k, "text frame re-encodes differently: %.80s", text);
	free(re);
}

/* A session that authenticates with a stored key: the identities and the key as given. */
static int load_stored_key(struct kat *k, const cJSON *sk, struct reg *g)
{
	uint8_t sk64[64], pk[32];
	if (hex32(k, sk, "client_identity_seed", g->client_seed) ||
	    hex32(k, sk, "gateway_identity_public", g->gateway_pk) ||
	    hex32(k, sk, "shared_key_32", g->key.bytes))
		return -1;
	ns_ed25519_from_seed(pk, sk64, g->client_seed);
	memcpy(g->client_pk, pk, 32);
	kat_expect_hex(k, sk, "client_identity_public", pk, 32);
	ns_memzero(sk64, sizeof sk64);
	g->ok = 1;
	return 0;
}

/* One session; its key (for the client's identities) into g when it has one. */
static void check_session(struct kat *k, const cJSON *root, const cJSON *gw, struct reg *g)
{
	const cJSON *it, *auth = kat_get(gw, "authenticate_v2"), *reg = kat_get(gw, "registration");
	const cJSON *stored = kat_get(gw, "stored_key");
	int client_hs = 0, gateway_hs = 0, failed = k->item_failures;

	memset(g, 0, sizeof *g);
	kat_note(gw, "description");
	if (reg) {
		check_registration(k, root, reg, g);
		g->ok = g->ok && k->item_failures == failed;
	} else if (stored) {
		load_stored_key(k, stored, g);
	}
	if ((reg || stored) && !g->ok) {
		kat_fail(k, "the session's key is wrong; its later checks skipped");
		return;
	}
	if (auth && !g->ok)
		kat_fail(k, "authenticate_v2 in a session with neither registration nor stored_key");
	else if (cJSON_IsArray(auth))
		cJSON_ArrayForEach(it, auth) {
			if (cJSON_GetObjectItemCaseSensitive(it, "conn")) {
				uint64_t conn;
				kat_u64(k, it, "conn", &conn);
			}
			check_auth_v2(k, it, g);
		}
	else if (auth)
		check_auth_v2(k, auth, g);
	cJSON_ArrayForEach(it, kat_get(gw, "frames"))
		check_frame(k, it);
	cJSON_ArrayForEach(it, kat_get(gw, "text_frames"))
		check_text(k, it, g, auth, &client_hs, &gateway_hs);
	/* a registration comes with its four handshake messages; other sessions carry none */
	int want = reg ? 2 : 0;
	if (client_hs != want || gateway_hs != want)
		kat_fail(k, "text frames carry %d client and %d gateway handshake payloads, want %d",
		         client_hs, gateway_hs, want);
}

void kat_gateway(struct kat *k, const cJSON *root, const cJSON *gw)
{
	static struct reg g[16];
	const cJSON *cl = kat_get(root, "client"), *it;
	size_t n = 0;
	uint8_t want_key[32], gw_b58[64];
	int key_found = 0, id_found = 0;

	if (cJSON_IsArray(gw)) {
		cJSON_ArrayForEach(it, gw) {
			if (n == sizeof g / sizeof g[0]) {
				kat_fail(k, "more than %zu gateway sessions", n);
				break;
			}
			int before = k->item_failures;
			check_session(k, root, it, &g[n++]);
			if (k->item_failures > before && before == 0) /* name the session first failing */
				snprintf(k->first_error + strlen(k->first_error),
				         sizeof k->first_error - strlen(k->first_error), " (session %zu)",
				         n - 1);
		}
	} else {
		check_session(k, root, gw, &g[n++]);
	}
	/* the client's gateway and key (client.*): those of one of the sessions */
	const char *gw_text = kat_str(k, cl, "gateway_identity_bs58");
	long bl = gw_text ? base58_decode(gw_text, gw_b58, sizeof gw_b58) : -1;
	int have_key = kat_hex(k, cl, "gateway_shared_key_hex", want_key, 32) == 32;
	for (size_t i = 0; i < n; i++) {
		if (!g[i].ok)
			continue;
		key_found |= have_key && !memcmp(g[i].key.bytes, want_key, 32);
		id_found |= bl == 32 && !memcmp(gw_b58, g[i].gateway_pk, 32);
		ns_gw_key_clear(&g[i].key);
	}
	if (!key_found)
		kat_fail(k, "client.gateway_shared_key_hex is the key of no session");
	if (!id_found)
		kat_fail(k, "client.gateway_identity_bs58 is the gateway of no session");
}

static const char *kind_name(uint8_t kind)
{
	return kind == NS_GW_BIN_FORWARD_SPHINX ? "ForwardSphinx"
	       : kind == NS_GW_BIN_FORWARD_SPHINX_V2 ? "ForwardSphinxV2" : "?";
}

static void check_mix_packet(struct kat *k, const cJSON *mp, uint8_t kind,
                             const struct nym_mix_packet *p)
{
	uint8_t addr[NYM_NODE_ADDR_MAX_UNPADDED];
	char host[NYM_NODE_ADDR_STR_MAX];
	long n;
	kat_expect_u64(k, mp, "packet_type", p->packet_type);
	/* null: the frame carried none (ForwardSphinx, kind 1); then we read Unknown */
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(mp, "key_rotation"))) {
		kat_note(mp, "key_rotation");
		if (kind != NS_GW_BIN_FORWARD_SPHINX || p->key_rotation != NYM_KEY_ROTATION_UNKNOWN)
			kat_fail(k, "key_rotation null, but the %s frame carries rotation %u",
			         kind_name(kind), p->key_rotation);
	} else {
		kat_expect_u64(k, mp, "key_rotation", p->key_rotation);
	}
	n = nym_node_address_encode(&p->next_hop, addr, sizeof addr);
	if (n > 0)
		kat_expect_hex(k, mp, "first_hop_address", addr, (size_t)n);
	else
		kat_fail(k, "first hop does not encode");
	if (nym_node_address_format(&p->next_hop, host, sizeof host) > 0)
		kat_expect_str(k, mp, "first_hop", host);
	else
		kat_fail(k, "first hop does not format");
	kat_expect_hex(k, mp, "sphinx_packet", p->packet, p->packet_len);
	kat_expect_u64(k, mp, "sphinx_packet_len", p->packet_len);
	kat_expect_sha256(k, mp, "sphinx_packet_sha256", p->packet, p->packet_len);
}

void kat_packet_gateway_frame(struct kat *k, const cJSON *root, const cJSON *pkt)
{
	const cJSON *gf = kat_get(pkt, "gateway_frame"), *mp = kat_get(pkt, "mix_packet");
	uint8_t nonce[12], *frame, *pt, *buf = NULL, *sealed = NULL, kind = 0;
	size_t flen = 0, plen = 0, n = 0;
	struct ns_gw_key key = {0};
	struct ns_gw_binary_request req;
	uint64_t want_kind;
	int rc;

	(void)root;
	frame = kat_hex_alloc(k, gf, "frame", &flen);
	pt = kat_hex_alloc(k, gf, "plaintext", &plen);
	if (frame == NULL || pt == NULL || hex32(k, gf, "session_key", key.bytes) ||
	    kat_hex(k, gf, "nonce", nonce, 12) != 12 || kat_u64(k, gf, "kind", &want_kind) != 0 ||
	    want_kind > 255 || (sealed = malloc(flen)) == NULL || (buf = malloc(flen)) == NULL)
		goto out;
	if ((rc = ns_gw_frame_seal_det(&key, (uint8_t)want_kind, nonce, pt, plen, sealed, flen, &n)) != 0)
		kat_fail(k, "gateway frame seal: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, gf, "frame", sealed, n);
	if ((rc = ns_gw_frame_open(&key, frame, flen, &kind, buf, flen, &n)) != 0)
		kat_fail(k, "gateway frame open: %s", ns_gw_strerror(rc));
	else
		kat_expect_hex(k, gf, "plaintext", buf, n);
	if ((rc = ns_gw_binary_request_decode(&key, frame, flen, buf, flen, &req)) != 0) {
		kat_fail(k, "gateway frame is not a forward request: %s", ns_gw_strerror(rc));
		goto out;
	}
	kat_expect_u64(k, gf, "kind", req.kind);
	kat_expect_str(k, gf, "kind_name", kind_name(req.kind));
	check_mix_packet(k, mp, req.kind, &req.packet);
out:
	free(frame);
	free(pt);
	free(sealed);
	free(buf);
}
