/* The C API of nymsuite.wasm (see nsw_api.c). The engine's own headers stay as they are;
 * this is the only surface JavaScript sees. */
#ifndef NSW_API_H
#define NSW_API_H
#include <stddef.h>
#include <stdint.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define NSW_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define NSW_EXPORT
#endif

/* nsw_sphinx_process's info: flag(1) version(2 LE) next_address(32) delay_ns(8 LE)
 * destination(32) identifier(16) replay_tag(32) */
#define NSW_PROCESSED_LEN 123

int nsw_init(void);
void *nsw_alloc(size_t n);
void nsw_free(void *p, size_t n);
void nsw_random(uint8_t *out, size_t n);

void nsw_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32]);
void nsw_x25519_base(uint8_t out[32], const uint8_t scalar[32]);
void nsw_blake3(uint8_t out[32], const uint8_t *in, size_t len);
void nsw_sha256(uint8_t out[32], const uint8_t *in, size_t len);
/* ciphertext || tag: returns pt_len + 16, or -1 */
int nsw_gcmsiv_seal(uint8_t *out, const uint8_t *pt, size_t pt_len, const uint8_t *aad,
                    size_t aad_len, const uint8_t key[32], const uint8_t nonce[12]);
/* returns ct_len - 16, or -1 (bad tag, too short) */
int nsw_gcmsiv_open(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *aad,
                    size_t aad_len, const uint8_t key[32], const uint8_t nonce[12]);

/* route: n_hops node addresses and x25519 keys (32 bytes each), n_hops - 1 delays (u64 LE);
 * initial_secret / final_padding may be NULL (random). Writes SPHINX_HEADER_LEN +
 * payload_size bytes to out and returns that length, or a negative SPHINX_ERR_*. */
int nsw_sphinx_build(const uint8_t *addrs, const uint8_t *pubkeys, size_t n_hops,
                     const uint8_t *delays_le, const uint8_t dest[32], const uint8_t id[16],
                     unsigned version, const uint8_t *initial_secret,
                     const uint8_t *final_padding, const uint8_t *msg, size_t msg_len,
                     size_t payload_size, uint8_t *out);
/* One hop: out_packet (len bytes) and info (NSW_PROCESSED_LEN); 0 or SPHINX_ERR_*. */
int nsw_sphinx_process(const uint8_t secret[32], const uint8_t *packet, size_t len,
                       uint8_t *out_packet, uint8_t info[NSW_PROCESSED_LEN]);
/* Final hop: out = {offset, length} of the message in the decrypted payload. */
int nsw_sphinx_recover(const uint8_t *payload, size_t len, uint32_t out[2]);

int nsw_ipc_recode(unsigned self, unsigned peer, const uint8_t *buf, size_t len, uint8_t *out,
                   size_t cap, size_t *out_len);
const char *nsw_ipc_type_name(unsigned type);
const char *nsw_ipc_strerror(int err);
unsigned nsw_ipc_catalogue_version(void);
unsigned nsw_ipc_max_datagram(void);
unsigned nsw_sphinx_header_len(void);

/* nsw_ipcjson.c: IPC datagrams to and from JSON, by the catalogue */
char *nsw_ipc_json_decode(unsigned self, unsigned peer, const uint8_t *buf, size_t len, int *err);
int nsw_ipc_json_encode(unsigned self, unsigned peer, const char *json, uint8_t *out, size_t cap);

/* The gateway's side (for stand-ins in tests): a client's ForwardSphinx frame opened under
 * the shared key (legacy: 0 or 1): the Sphinx packet into out (its length returned, or a
 * negative error) and info = first hop (32, zero padded) || packet type || key rotation. */
#define NSW_GW_REQUEST_INFO_LEN 34
int nsw_gw_open_request(const uint8_t key[32], unsigned legacy, const uint8_t *frame, size_t len,
                        uint8_t *out, size_t cap, uint8_t info[NSW_GW_REQUEST_INFO_LEN]);
/* A PushedMixMessage frame for msg: its length, or a negative error. */
int nsw_gw_push(const uint8_t key[32], unsigned legacy, const uint8_t *msg, size_t len,
                uint8_t *out, size_t cap);
/* A final hop's plaintext split into the SURB-ack and the client's part: first_hop (32),
 * out = {ack packet offset, ack packet length, rest offset, rest length}; 0 or negative. */
int nsw_surb_ack_split(const uint8_t *plaintext, size_t len, uint8_t first_hop[32],
                       uint32_t out[4]);

/* The SDK's payload encoding (common/sdk_payload.h), for the page's send and receive.
 * has_headers 0: headers is null. The whole message's length, or a negative NS_SDKP_E*. */
long nsw_sdk_encoded_len(const uint8_t *mime, size_t mime_len, const uint8_t *headers,
                         size_t headers_len, unsigned has_headers, size_t payload_len);
long nsw_sdk_encode(const uint8_t *mime, size_t mime_len, const uint8_t *headers,
                    size_t headers_len, unsigned has_headers, const uint8_t *payload,
                    size_t payload_len, uint8_t *out, size_t cap);
/* A received message's fields: a fresh buffer (free with nsw_free(p, info[0] + info[2]))
 * holding the unescaped mime type then the headers; info = {mime_len, has_headers,
 * headers_len, payload_off, payload_len}. NULL and *err (a negative NS_SDKP_E*) when the SDK
 * would not decode it either. */
uint8_t *nsw_sdk_decode(const uint8_t *msg, size_t len, uint32_t info[5], int *err);
const char *nsw_sdk_strerror(int err);
/* from_utf8_lossy: out holds 3 * len bytes; the length written. */
size_t nsw_utf8_lossy(const uint8_t *in, size_t len, uint8_t *out);

/* Addresses (96 bytes <-> "identity.encryption@gateway") and sender tags (16 bytes <->
 * base58) as the SDK's strings; base58 of any bytes (a gateway identity). Parse: 0 or a
 * negative nym_addr_err; format: the length written (NUL-terminated), or negative. */
int nsw_recipient_parse(const char *text, uint8_t out[96]);
long nsw_recipient_format(const uint8_t in[96], char *out, size_t cap);
long nsw_sender_tag_format(const uint8_t tag[16], char *out, size_t cap);
int nsw_sender_tag_parse(const char *text, uint8_t tag[16]);
long nsw_base58_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* The gateway's side of the registration handshake, for stand-ins: each step consumes H1
 * then H3 and writes H2 then H4 (length or negative); the key once done (legacy flag, or -1). */
struct nsw_gw_hs;
struct nsw_gw_hs *nsw_gw_hs_gateway_new(const uint8_t identity_seed[32]);
long nsw_gw_hs_gateway_step(struct nsw_gw_hs *g, const uint8_t *in, size_t len, uint8_t *out,
                            size_t cap);
int nsw_gw_hs_gateway_key(const struct nsw_gw_hs *g, uint8_t out[32]);
void nsw_gw_hs_free(struct nsw_gw_hs *g);
void nsw_ed25519_public(const uint8_t seed[32], uint8_t out[32]);

/* nsw_outbox.c: the events an engine or keyd state has for JS (nsw_outbox.h) */
struct nsw_event;
unsigned nsw_event_kind(const struct nsw_event *ev);
unsigned nsw_event_arg(const struct nsw_event *ev, unsigned i);
const uint8_t *nsw_event_data(const struct nsw_event *ev);
size_t nsw_event_len(const struct nsw_event *ev);
void nsw_event_free(struct nsw_event *ev);

/* nsw_engine.c: the client engine for the page */
struct nsw_engine;
struct nsw_engine *nsw_engine_new(void);
int nsw_engine_feed(struct nsw_engine *g, unsigned from, const uint8_t *buf, size_t len);
long nsw_engine_send(struct nsw_engine *g, const uint8_t to[96], const uint8_t *msg, size_t len,
                     unsigned lane);
long nsw_engine_send_anonymous(struct nsw_engine *g, const uint8_t to[96], const uint8_t *msg,
                               size_t len, unsigned reply_surbs, unsigned lane);
int nsw_engine_reply(struct nsw_engine *g, const uint8_t tag[16], const uint8_t *msg, size_t len,
                     unsigned lane);
size_t nsw_engine_unacked(const struct nsw_engine *g);
size_t nsw_engine_stats(const struct nsw_engine *g, char *out, size_t cap);
struct nsw_event *nsw_engine_next(struct nsw_engine *g);
void nsw_engine_free(struct nsw_engine *g);

/* nsw_keyd.c: keyd's operations for the key Worker */
#define NSW_KEYD_KEYS_LEN 153
#define NSW_KEYD_EPROTOCOL (-100)
struct nsw_keyd;
struct nsw_keyd *nsw_keyd_new(const uint8_t keys[NSW_KEYD_KEYS_LEN]);
void nsw_keyd_start(struct nsw_keyd *g);
int nsw_keyd_feed(struct nsw_keyd *g, unsigned from, const uint8_t *buf, size_t len);
const char *nsw_keyd_error(const struct nsw_keyd *g);
void nsw_keyd_timer(struct nsw_keyd *g, unsigned id);
struct nsw_event *nsw_keyd_next(struct nsw_keyd *g);
void nsw_keyd_free(struct nsw_keyd *g);

/* nsw_keystore.c: the key Worker's sealed key store (format in nsw_keystore.h). pass NULL:
 * no passphrase. Errors are negative NSW_KS_E* (nsw_keystore_strerror). */
struct nsw_keystore;
struct nsw_keystore *nsw_keystore_create(const uint8_t *client_id, size_t id_len,
                                         const uint8_t *pass, size_t pass_len,
                                         const uint8_t gateway[32], const uint8_t *url,
                                         size_t url_len, int *err);
struct nsw_keystore *nsw_keystore_open(const uint8_t *sealed, size_t len, const uint8_t *client_id,
                                       size_t id_len, const uint8_t *pass, size_t pass_len,
                                       int *err);
size_t nsw_keystore_sealed_len(const struct nsw_keystore *ks);
long nsw_keystore_seal(struct nsw_keystore *ks, uint8_t *out, size_t cap);
void nsw_keystore_gateway(const struct nsw_keystore *ks, uint8_t out[32]);
const char *nsw_keystore_url(const struct nsw_keystore *ks);
void nsw_keystore_address(const struct nsw_keystore *ks, uint8_t out[96]);
int nsw_keystore_registered(const struct nsw_keystore *ks);
const char *nsw_keystore_strerror(int err);
void nsw_keystore_free(struct nsw_keystore *ks);
/* keyd from an open store (owned by the state from then on, also on failure) or straight
 * from a sealed record; key changes come out as NSW_EV_KEYS_SEALED events. */
struct nsw_keyd *nsw_keyd_new_store(struct nsw_keystore *store);
struct nsw_keyd *nsw_keyd_new_sealed(const uint8_t *sealed, size_t len, const uint8_t *client_id,
                                     size_t id_len, const uint8_t *pass, size_t pass_len, int *err);
/* nsw_netd.c: netd's operations for the net Worker */
struct nsw_netd;
struct nsw_netd *nsw_netd_new(void);
int nsw_netd_set(struct nsw_netd *g, const char *name, double value);
int nsw_netd_add_api(struct nsw_netd *g, const char *url);
int nsw_netd_setup(struct nsw_netd *g, const char *gateway, const char *url, int registered);
int nsw_netd_start(struct nsw_netd *g);
int nsw_netd_feed(struct nsw_netd *g, unsigned from, const uint8_t *buf, size_t len);
const char *nsw_netd_error(const struct nsw_netd *g);
void nsw_netd_timer(struct nsw_netd *g, unsigned id);
void nsw_netd_ws_open(struct nsw_netd *g, unsigned conn);
void nsw_netd_ws_message(struct nsw_netd *g, unsigned conn, int binary, const uint8_t *data,
                         size_t len);
void nsw_netd_ws_pong(struct nsw_netd *g, unsigned conn);
void nsw_netd_ws_closed(struct nsw_netd *g, unsigned conn, int code, const char *why);
void nsw_netd_http(struct nsw_netd *g, unsigned req, unsigned status, const uint8_t *body,
                   size_t len);
struct nsw_event *nsw_netd_next(struct nsw_netd *g);
void nsw_netd_stop(struct nsw_netd *g);
void nsw_netd_free(struct nsw_netd *g);
struct nsw_gwfetch;
struct nsw_gwfetch *nsw_gwfetch_new(const char *api_url);
const char *nsw_gwfetch_next(struct nsw_gwfetch *q);
void nsw_gwfetch_feed(struct nsw_gwfetch *q, unsigned status, const uint8_t *body, size_t len);
int nsw_gwfetch_choose(struct nsw_gwfetch *q, int force_tls, const char *wanted,
                       uint8_t identity[32], char *url, size_t urlcap);
const char *nsw_gwfetch_error(const struct nsw_gwfetch *q);
const char *nsw_gwfetch_chosen(const struct nsw_gwfetch *q);
void nsw_gwfetch_free(struct nsw_gwfetch *q);

#endif
