/* TLS sessions over OpenSSL's libssl, loaded with dlopen (tls.h says why). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define NS_TLS_SONAME "libssl.so.3"

/* X(return type, name, parameters): every OpenSSL function we call (libcrypto's come
 * through libssl's dependency scope). */
#define NS_TLS_FUNCS(X) \
	X(int, OPENSSL_init_ssl, (uint64_t opts, const OPENSSL_INIT_SETTINGS *settings)) \
	X(const SSL_METHOD *, TLS_client_method, (void)) \
	X(const SSL_METHOD *, TLS_server_method, (void)) \
	X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *method)) \
	X(void, SSL_CTX_free, (SSL_CTX *ctx)) \
	X(long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg)) \
	X(uint64_t, SSL_CTX_set_options, (SSL_CTX *ctx, uint64_t op)) \
	X(void, SSL_CTX_set_verify, (SSL_CTX *ctx, int mode, SSL_verify_cb cb)) \
	X(int, SSL_CTX_load_verify_locations, (SSL_CTX *ctx, const char *file, const char *path)) \
	X(int, SSL_CTX_use_certificate_chain_file, (SSL_CTX *ctx, const char *file)) \
	X(int, SSL_CTX_use_PrivateKey_file, (SSL_CTX *ctx, const char *file, int type)) \
	X(int, SSL_CTX_check_private_key, (const SSL_CTX *ctx)) \
	X(SSL *, SSL_new, (SSL_CTX *ctx)) \
	X(void, SSL_free, (SSL *ssl)) \
	X(int, SSL_set_fd, (SSL *ssl, int fd)) \
	X(long, SSL_ctrl, (SSL *ssl, int cmd, long larg, void *parg)) \
	X(int, SSL_set1_host, (SSL *ssl, const char *hostname)) \
	X(int, SSL_connect, (SSL *ssl)) \
	X(int, SSL_accept, (SSL *ssl)) \
	X(int, SSL_read, (SSL *ssl, void *buf, int num)) \
	X(int, SSL_write, (SSL *ssl, const void *buf, int num)) \
	X(int, SSL_get_error, (const SSL *ssl, int ret)) \
	X(int, SSL_pending, (const SSL *ssl)) \
	X(long, SSL_get_verify_result, (const SSL *ssl)) \
	X(const char *, X509_verify_cert_error_string, (long n)) \
	X(unsigned long, ERR_get_error, (void)) \
	X(void, ERR_error_string_n, (unsigned long e, char *buf, size_t len)) \
	X(void, ERR_clear_error, (void))

static struct {
#define NS_TLS_MEMBER_(ret, name, params) ret(*name) params;
	NS_TLS_FUNCS(NS_TLS_MEMBER_)
#undef NS_TLS_MEMBER_
} sl;
static void *g_lib;
static char g_load_err[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

struct ns_tls_ctx {
	SSL_CTX *ssl;
	int is_server;
	char ca_name[256];
};

struct ns_tls {
	SSL *ssl;
	unsigned wants;
	int is_server;
	char host[256];
	char last_error[192];
};

static void load_once(void)
{
	void *lib = dlopen(NS_TLS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(g_load_err, sizeof g_load_err, "cannot load %s: %s", NS_TLS_SONAME, dlerror());
		return;
	}
	const char *missing = NULL;
	/* POSIX: a data pointer from dlsym may be converted to a function pointer */
#define NS_TLS_RESOLVE_(ret, name, params) \
	*(void **)&sl.name = dlsym(lib, #name); \
	if (!sl.name && !missing) \
		missing = #name;
	NS_TLS_FUNCS(NS_TLS_RESOLVE_)
#undef NS_TLS_RESOLVE_
	if (missing) {
		snprintf(g_load_err, sizeof g_load_err, "%s lacks %s", NS_TLS_SONAME, missing);
		dlclose(lib);
		return;
	}
	/* its configuration file is read now, not later inside a sandbox */
	if (sl.OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
	                        OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		snprintf(g_load_err, sizeof g_load_err, "OpenSSL initialisation failed");
		return;
	}
	g_lib = lib;
}

static int load(char *err, size_t errcap)
{
	pthread_once(&g_once, load_once);
	if (!g_lib) {
		snprintf(err, errcap, "%s", g_load_err);
		return -1;
	}
	return 0;
}

/* The oldest queued OpenSSL error as text ("" when none), the queue emptied. */
static void openssl_error(char *out, size_t cap)
{
	unsigned long e = sl.ERR_get_error(), next;
	out[0] = 0;
	if (e)
		sl.ERR_error_string_n(e, out, cap);
	while ((next = sl.ERR_get_error()) != 0)
		;
}

static struct ns_tls_ctx *ctx_new(int is_server, char *err, size_t errcap)
{
	if (load(err, errcap) < 0)
		return NULL;
	struct ns_tls_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	ctx->is_server = is_server;
	ctx->ssl = sl.SSL_CTX_new(is_server ? sl.TLS_server_method() : sl.TLS_client_method());
	if (!ctx->ssl) {
		snprintf(err, errcap, "SSL_CTX_new failed");
		free(ctx);
		return NULL;
	}
	sl.SSL_CTX_ctrl(ctx->ssl, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	sl.SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* wslay retries a write that would block from wherever its frame stands */
	sl.SSL_CTX_ctrl(ctx->ssl, SSL_CTRL_MODE,
	                SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
	return ctx;
}

struct ns_tls_ctx *ns_tls_client_ctx_new(const char *ca_file, char *err, size_t errcap)
{
	const char *env = getenv(NS_TLS_CA_FILE_ENV);
	if (!ca_file)
		ca_file = env && *env ? env : NS_TLS_SYSTEM_CA_FILE;
	struct ns_tls_ctx *ctx = ctx_new(0, err, errcap);
	if (!ctx)
		return NULL;
	snprintf(ctx->ca_name, sizeof ctx->ca_name, "%s", ca_file);
	if (sl.SSL_CTX_load_verify_locations(ctx->ssl, ca_file, NULL) != 1) {
		char why[160];
		openssl_error(why, sizeof why);
		snprintf(err, errcap, "cannot load the CA certificates of %s: %s", ca_file, why);
		ns_tls_ctx_free(ctx);
		return NULL;
	}
	sl.SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	return ctx;
}

struct ns_tls_ctx *ns_tls_server_ctx_new(const char *cert_file, const char *key_file, char *err,
                                         size_t errcap)
{
	struct ns_tls_ctx *ctx = ctx_new(1, err, errcap);
	if (!ctx)
		return NULL;
	if (sl.SSL_CTX_use_certificate_chain_file(ctx->ssl, cert_file) != 1 ||
	    sl.SSL_CTX_use_PrivateKey_file(ctx->ssl, key_file, SSL_FILETYPE_PEM) != 1 ||
	    sl.SSL_CTX_check_private_key(ctx->ssl) != 1) {
		char why[160];
		openssl_error(why, sizeof why);
		snprintf(err, errcap, "cannot use %s / %s: %s", cert_file, key_file, why);
		ns_tls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void ns_tls_ctx_free(struct ns_tls_ctx *ctx)
{
	if (!ctx)
		return;
	sl.SSL_CTX_free(ctx->ssl);
	free(ctx);
}

const char *ns_tls_ctx_ca_name(const struct ns_tls_ctx *ctx)
{
	return ctx->ca_name;
}

static int is_ip_literal(const char *host)
{
	return strchr(host, ':') != NULL || host[strspn(host, "0123456789.")] == 0;
}

struct ns_tls *ns_tls_new(struct ns_tls_ctx *ctx, int fd, const char *host, char *err,
                          size_t errcap)
{
	struct ns_tls *t = calloc(1, sizeof *t);
	if (!t || !(t->ssl = sl.SSL_new(ctx->ssl)) || sl.SSL_set_fd(t->ssl, fd) != 1) {
		snprintf(err, errcap, "cannot start a TLS session");
		ns_tls_free(t);
		return NULL;
	}
	t->is_server = ctx->is_server;
	if (!t->is_server) {
		if (!host || !*host || strlen(host) >= sizeof t->host) {
			snprintf(err, errcap, "no host name to check the certificate against");
			ns_tls_free(t);
			return NULL;
		}
		snprintf(t->host, sizeof t->host, "%s", host);
		/* SSL_set1_host takes an IP literal too (then the certificate's IP SAN is checked) */
		if (sl.SSL_set1_host(t->ssl, host) != 1 ||
		    (!is_ip_literal(host) &&
		     sl.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
		                 (void *)host) != 1)) {
			snprintf(err, errcap, "bad TLS host name %s", host);
			ns_tls_free(t);
			return NULL;
		}
	}
	return t;
}

void ns_tls_free(struct ns_tls *t)
{
	if (!t)
		return;
	if (t->ssl)
		sl.SSL_free(t->ssl); /* no close_notify: the socket may be gone already */
	free(t);
}

/* Maps an OpenSSL result to errno; -1 (or 0 for a clean close on reads). */
static int fail(struct ns_tls *t, int r)
{
	int e = sl.SSL_get_error(t->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->wants = NS_TLS_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->wants = NS_TLS_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EAGAIN) /* EOF without close_notify */
			errno = ECONNRESET;
		snprintf(t->last_error, sizeof t->last_error, "connection lost: %s", strerror(errno));
		sl.ERR_clear_error();
		return -1;
	default:
		openssl_error(t->last_error, sizeof t->last_error);
		errno = EPROTO;
		return -1;
	}
}

int ns_tls_handshake(struct ns_tls *t, char *err, size_t errcap)
{
	sl.ERR_clear_error();
	errno = 0;
	int r = t->is_server ? sl.SSL_accept(t->ssl) : sl.SSL_connect(t->ssl);
	if (r == 1) {
		t->wants = 0;
		return 1;
	}
	int saved = 0;
	if (fail(t, r) < 0 && errno == EAGAIN)
		return 0;
	saved = errno;
	long v = t->is_server ? X509_V_OK : sl.SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK)
		snprintf(err, errcap, "TLS certificate of %s refused: %s", t->host,
		         sl.X509_verify_cert_error_string(v));
	else if (t->last_error[0])
		snprintf(err, errcap, "TLS handshake%s%s failed: %s", t->host[0] ? " with " : "",
		         t->host, t->last_error);
	else
		snprintf(err, errcap, "TLS handshake failed: %s", strerror(saved ? saved : EPROTO));
	return -1;
}

ssize_t ns_tls_read(struct ns_tls *t, void *buf, size_t len)
{
	sl.ERR_clear_error();
	errno = 0;
	int r = sl.SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0) {
		t->wants = 0;
		return r;
	}
	return fail(t, r);
}

ssize_t ns_tls_write(struct ns_tls *t, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	sl.ERR_clear_error();
	errno = 0;
	int r = sl.SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0) {
		t->wants = 0;
		return r;
	}
	if (fail(t, r) == 0) { /* the peer closed: as a write to a closed socket */
		errno = EPIPE;
	}
	return -1;
}

unsigned ns_tls_wants(const struct ns_tls *t)
{
	return t->wants;
}

size_t ns_tls_pending(const struct ns_tls *t)
{
	int n = sl.SSL_pending(t->ssl);
	return n > 0 ? (size_t)n : 0;
}

const char *ns_tls_last_error(const struct ns_tls *t)
{
	return t->last_error;
}
