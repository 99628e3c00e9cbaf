/* kat-variants: the capture shapes `make kat` must take, derived from a real-client vector
 * file (tests/vectors/README.md) so that every packet, key and frame in them stays the real
 * client's; only the layout changes.
 *
 *   kat-variants IN OUTDIR
 *
 * writes into OUTDIR:
 *   key-rotation-null.json  every packet's frame as the ForwardSphinx (kind 1) frame a session
 *                           negotiated below protocol 5 carries: the same mix packet, key and
 *                           nonce, sealed again without the key-rotation byte;
 *                           mix_packet.key_rotation is null, as a capture writes it; and the
 *                           injected V1 message's surb_key_rotation null (V1 carries none)
 *   multi-session.json      `gateway` as three sessions: the registration (connection 1), the
 *                           authenticateV2 with the key it stored (connection 2, the forward and
 *                           pushed frames) and the other client's kind-1 session (its frame)
 * and four that `make kat` must refuse:
 *   bad-rotation-null-v2.json  key_rotation null on a ForwardSphinxV2 frame (it carries one)
 *   bad-surb-rotation-null-v2.json  surb_key_rotation null on a DataV2 message (it carries one)
 *   bad-auth-other-key.json    the authenticateV2 session holding another session's key
 *   bad-auth-other-conn.json   the authenticateV2 record naming a connection it was not on
 * Exit 0, or 1 with a reason on stderr. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway/frames.h"
#include "nymsphinx/framing.h"

static int fail(const char *why)
{
	fprintf(stderr, "kat-variants: %s\n", why);
	return -1;
}

static long unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

static char *tohex(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int set_hex(cJSON *o, const char *key, const uint8_t *b, size_t n)
{
	char *h = tohex(b, n);
	int ok = h && cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(h));
	free(h);
	return ok ? 0 : -1;
}

static int set_str(cJSON *o, const char *key, const char *v)
{
	return cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(v)) ? 0 : -1;
}

static int note_about(cJSON *root, const char *what)
{
	const char *about = str(root, "about");
	char *text = malloc(strlen(about ? about : "") + strlen(what) + 16);
	if (!text)
		return -1;
	sprintf(text, "%s Derived: %s", about ? about : "", what);
	int rc = set_str(root, "about", text);
	free(text);
	return rc;
}

/* The packet's kind-2 frame sealed again as kind 1 (same key, nonce and mix packet). */
static int reframe_v1(cJSON *pkt)
{
	static uint8_t frame[4096], pt[4096], out[4096], plain[4096];
	cJSON *gf = cJSON_GetObjectItemCaseSensitive(pkt, "gateway_frame");
	cJSON *mp = cJSON_GetObjectItemCaseSensitive(pkt, "mix_packet");
	struct ns_gw_key key = { 0 };
	uint8_t nonce[NS_GW_NONCE_LEN];
	struct ns_gw_binary_request req;
	const char *fh = str(gf, "frame"), *kh = str(gf, "session_key"), *nh = str(gf, "nonce");
	long flen;
	size_t n;
	if (!fh || !kh || !nh || !mp || (flen = unhex(fh, frame, sizeof frame)) < 2 ||
	    unhex(kh, key.bytes, 32) != 32 || unhex(nh, nonce, sizeof nonce) != sizeof nonce)
		return fail("a packet without its gateway frame");
	if (ns_gw_binary_request_decode(&key, frame, (size_t)flen, pt, sizeof pt, &req) != 0 ||
	    req.kind != NS_GW_BIN_FORWARD_SPHINX_V2)
		return fail("a packet frame is not ForwardSphinxV2");
	if (ns_gw_binary_request_encode_det(&key, NS_GW_BIN_FORWARD_SPHINX, &req.packet, nonce, out,
	                                    sizeof out, &n) != 0)
		return fail("cannot seal a kind-1 frame");
	/* req.packet points into pt: encode into another buffer */
	long plen = nym_mix_packet_encode_v1(&req.packet, plain, sizeof plain);
	if (plen < 0 || set_hex(gf, "frame", out, n) || set_hex(gf, "plaintext", plain, (size_t)plen) ||
	    !cJSON_ReplaceItemInObjectCaseSensitive(gf, "kind", cJSON_CreateNumber(1)) ||
	    set_str(gf, "kind_name", "ForwardSphinx") ||
	    !cJSON_ReplaceItemInObjectCaseSensitive(mp, "key_rotation", cJSON_CreateNull()))
		return fail("cannot rewrite a packet");
	ns_memzero(&key, sizeof key);
	return 0;
}

static int write_json(const char *dir, const char *name, const cJSON *root)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *text = cJSON_Print(root);
	FILE *f = fopen(path, "w");
	int ok = text && f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	free(text);
	return ok ? 0 : fail(path);
}

static cJSON *load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
	cJSON *root = NULL;
	if (text && fread(text, 1, (size_t)n, f) == (size_t)n) {
		text[n] = 0;
		root = cJSON_Parse(text);
	}
	free(text);
	fclose(f);
	return root;
}

static int key_rotation_null(const cJSON *real, const char *dir)
{
	cJSON *root = cJSON_Duplicate(real, 1), *p;
	int rc = root ? 0 : -1;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "packets"))
		rc |= reframe_v1(p);
	cJSON *inj = cJSON_GetObjectItemCaseSensitive(root, "injected_v1_message");
	if (!inj || cJSON_GetObjectItemCaseSensitive(inj, "surb_key_rotation") ||
	    !cJSON_AddNullToObject(inj, "surb_key_rotation"))
		rc = fail("the injected V1 message is not the one of tests/vectors/README.md");
	rc = rc || note_about(root, "every packet's gateway frame sealed again as ForwardSphinx "
	                            "(kind 1), mix_packet.key_rotation null, the injected V1 "
	                            "message's surb_key_rotation null (tools/kat-variants).") ||
	     write_json(dir, "key-rotation-null.json", root);
	/* refused: null on a frame that carries a rotation */
	cJSON *bad = rc ? NULL : cJSON_Duplicate(real, 1);
	cJSON *mp = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(bad, "packets"), 0), "mix_packet");
	if (!rc && (!mp || !cJSON_ReplaceItemInObjectCaseSensitive(mp, "key_rotation",
	                                                           cJSON_CreateNull()) ||
	            write_json(dir, "bad-rotation-null-v2.json", bad)))
		rc = -1;
	cJSON_Delete(bad);
	/* refused: null on a V2 message, which carries its rotation */
	bad = rc ? NULL : cJSON_Duplicate(real, 1);
	cJSON *m, *v2 = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(bad, "messages"))
		if (!v2 && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "surb_key_rotation")))
			v2 = m;
	if (!rc && (!v2 || !cJSON_ReplaceItemInObjectCaseSensitive(v2, "surb_key_rotation",
	                                                           cJSON_CreateNull()) ||
	            write_json(dir, "bad-surb-rotation-null-v2.json", bad)))
		rc = -1;
	cJSON_Delete(bad);
	cJSON_Delete(root);
	return rc;
}

/* The text frames of one connection. */
static cJSON *texts_of(const cJSON *texts, double conn)
{
	cJSON *out = cJSON_CreateArray(), *t;
	cJSON_ArrayForEach(t, texts) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "conn");
		if (cJSON_IsNumber(c) && c->valuedouble == conn)
			cJSON_AddItemToArray(out, cJSON_Duplicate(t, 1));
	}
	return out;
}

static cJSON *sessions(const cJSON *gw)
{
	const cJSON *reg = cJSON_GetObjectItemCaseSensitive(gw, "registration");
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(gw, "authenticate_v2");
	const cJSON *texts = cJSON_GetObjectItemCaseSensitive(gw, "text_frames");
	const cJSON *frames = cJSON_GetObjectItemCaseSensitive(gw, "frames"), *f;
	const char *key = str(reg, "shared_key_32");
	if (!reg || !auth || !texts || !frames || !key)
		return NULL;
	cJSON *arr = cJSON_CreateArray();
	cJSON *s0 = cJSON_CreateObject(), *s1 = cJSON_CreateObject(), *s2 = cJSON_CreateObject();
	cJSON_AddStringToObject(s0, "description", "connection 1: the registration handshake");
	cJSON_AddItemToObject(s0, "registration", cJSON_Duplicate(reg, 1));
	cJSON_AddItemToObject(s0, "text_frames", texts_of(texts, 1));
	cJSON_AddStringToObject(s1, "description", "connection 2: authenticateV2 with the key the "
	                                           "registration stored, and that key's frames");
	cJSON *stored = cJSON_AddObjectToObject(s1, "stored_key");
	cJSON_AddStringToObject(stored, "client_identity_seed", str(reg, "client_identity_seed"));
	cJSON_AddStringToObject(stored, "client_identity_public", str(reg, "client_identity_public"));
	cJSON_AddStringToObject(stored, "gateway_identity_public",
	                        str(reg, "gateway_identity_public"));
	cJSON_AddStringToObject(stored, "shared_key_32", key);
	cJSON *a = cJSON_Duplicate(auth, 1);
	cJSON_AddNumberToObject(a, "conn", 2);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(s1, "authenticate_v2"), a);
	cJSON_AddItemToObject(s1, "text_frames", texts_of(texts, 2));
	cJSON *f1 = cJSON_AddArrayToObject(s1, "frames"), *f2 = NULL;
	cJSON_AddStringToObject(s2, "description", "another client's session at protocol 4: its "
	                                           "ForwardSphinx frame");
	cJSON_ArrayForEach(f, frames) {
		const char *k = str(f, "session_key");
		if (k && !strcmp(k, key))
			cJSON_AddItemToArray(f1, cJSON_Duplicate(f, 1));
		else
			cJSON_AddItemToArray(f2 ? f2 : (f2 = cJSON_AddArrayToObject(s2, "frames")),
			                     cJSON_Duplicate(f, 1));
	}
	cJSON_AddItemToArray(arr, s0);
	cJSON_AddItemToArray(arr, s1);
	if (f2)
		cJSON_AddItemToArray(arr, s2);
	else
		cJSON_Delete(s2);
	return arr;
}

static int multi_session(const cJSON *real, const char *dir)
{
	cJSON *root = cJSON_Duplicate(real, 1);
	cJSON *arr = root ? sessions(cJSON_GetObjectItemCaseSensitive(root, "gateway")) : NULL;
	if (!arr || cJSON_GetArraySize(arr) != 3)
		return fail("the gateway section is not the one of tests/vectors/README.md");
	cJSON_ReplaceItemInObjectCaseSensitive(root, "gateway", arr);
	int rc = note_about(root, "the gateway section split into its three sessions "
	                          "(tools/kat-variants).") ||
	         write_json(dir, "multi-session.json", root);
	/* refused: the authenticateV2 session holding the other session's key */
	cJSON *s1 = cJSON_GetArrayItem(arr, 1), *s2 = cJSON_GetArrayItem(arr, 2);
	cJSON *stored = cJSON_GetObjectItemCaseSensitive(s1, "stored_key");
	const char *other = str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s2, "frames"), 0),
	                        "session_key");
	char *mine = stored ? strdup(str(stored, "shared_key_32")) : NULL;
	rc = rc || !other || !mine || set_str(stored, "shared_key_32", other) ||
	     write_json(dir, "bad-auth-other-key.json", root) ||
	     set_str(stored, "shared_key_32", mine);
	/* refused: the record names connection 3; its authenticateV2 came on connection 2 */
	cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s1, "authenticate_v2"), 0);
	rc = rc || !cJSON_ReplaceItemInObjectCaseSensitive(a, "conn", cJSON_CreateNumber(3)) ||
	     write_json(dir, "bad-auth-other-conn.json", root);
	free(mine);
	cJSON_Delete(root);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kat-variants IN OUTDIR\n");
		return 2;
	}
	cJSON *real = load(argv[1]);
	if (ns_crypto_init() != 0 || !real)
		return fail("cannot read the vector file") ? 1 : 1;
	int rc = key_rotation_null(real, argv[2]) || multi_session(real, argv[2]);
	cJSON_Delete(real);
	return rc ? 1 : 0;
}
