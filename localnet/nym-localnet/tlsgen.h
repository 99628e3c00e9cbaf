/* The localnet's throwaway TLS material, made with the `openssl` command at `gen`:
 * DIR/tls/ca.pem (+ ca.key) and DIR/tls/gateway.pem (+ gateway.key), the gateways' certificate
 * for DNS name cert_name issued by that CA. Directory 0700, keys 0600. */
#ifndef LN_TLSGEN_H
#define LN_TLSGEN_H
#include <stddef.h>

#define LN_TLS_HOSTNAME "localhost" /* what the directory announces for a wss gateway */

int ln_tls_generate(const char *dir, const char *cert_name, char *err, size_t errcap);

#endif
