/* TLS over a non-blocking socket, for wss:// gateway connections (common/websocket.c) and
 * localnet's TLS front. OpenSSL's libssl.so.3 is loaded with dlopen on the first context, so
 * that only the processes that make one (netd, `init`, the localnet front) ever map it; keyd,
 * the fronts and the supervisor never do (as with libcurl, netd/curl_dl.h).
 *
 * Client: certificate chain checked against one PEM bundle read at context creation (the file
 * named by $NYMSUITE_CA_FILE, else the system bundle), host name checked against the name the
 * caller connects to (RFC 6125 rules of OpenSSL's X509_check_host), SNI sent for a name (not
 * for an IP literal), TLS 1.2 or newer, no renegotiation. Nothing is read from disk after the
 * context exists (netd makes it before its sandbox). */
#ifndef NS_TLS_H
#define NS_TLS_H
#include <stddef.h>
#include <sys/types.h>

#define NS_TLS_CA_FILE_ENV "NYMSUITE_CA_FILE"
#define NS_TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct ns_tls_ctx;
struct ns_tls;

/* Loads libssl (once) and makes a client context trusting ca_file (NULL: $NYMSUITE_CA_FILE,
 * else the system bundle). NULL with the reason in err. */
struct ns_tls_ctx *ns_tls_client_ctx_new(const char *ca_file, char *err, size_t errcap);
/* A server context with the PEM certificate chain and private key given (localnet). */
struct ns_tls_ctx *ns_tls_server_ctx_new(const char *cert_file, const char *key_file, char *err,
                                         size_t errcap);
void ns_tls_ctx_free(struct ns_tls_ctx *ctx);
/* The CA file a client context trusts (for messages). */
const char *ns_tls_ctx_ca_name(const struct ns_tls_ctx *ctx);

/* A session on the connected (or connecting) socket fd; host: the name (or IP literal) the
 * certificate must carry (clients), NULL for a server. The socket stays the caller's. */
struct ns_tls *ns_tls_new(struct ns_tls_ctx *ctx, int fd, const char *host, char *err,
                          size_t errcap);
void ns_tls_free(struct ns_tls *t);

#define NS_TLS_WANT_READ 1u
#define NS_TLS_WANT_WRITE 2u
/* Drives the handshake: 1 done, 0 not yet (ns_tls_wants says on what to wait), -1 failed
 * with the reason in err (certificate errors name the check that failed). */
int ns_tls_handshake(struct ns_tls *t, char *err, size_t errcap);
/* As recv/send on a non-blocking socket: bytes moved, 0 = the peer closed (read), or -1 with
 * errno EAGAIN (wait as ns_tls_wants says), EPROTO (TLS error), or the socket's errno. */
ssize_t ns_tls_read(struct ns_tls *t, void *buf, size_t len);
ssize_t ns_tls_write(struct ns_tls *t, const void *buf, size_t len);
/* What the last call that returned EAGAIN (or 0 from the handshake) waits for. */
unsigned ns_tls_wants(const struct ns_tls *t);
/* Decrypted bytes buffered inside the session (readable without the socket being readable). */
size_t ns_tls_pending(const struct ns_tls *t);
/* The last TLS error text after EPROTO (static storage of the session). */
const char *ns_tls_last_error(const struct ns_tls *t);

#endif
