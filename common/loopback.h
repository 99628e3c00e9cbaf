/* Loopback-only socket helpers for the localnet programs: every listen / connect address
 * must be 127.0.0.0/8 or ::1 (the localnet never touches other interfaces). */
#ifndef NS_LOOPBACK_H
#define NS_LOOPBACK_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Parses "127.0.0.1:PORT", "[::1]:PORT" (or "localhost:PORT" = 127.0.0.1). Returns 0, or -1
 * when malformed or not a loopback address. port 0 is allowed (any free port). */
int ns_loopback_parse(const char *host_port, struct sockaddr_storage *sa, socklen_t *sa_len);
/* 1 if the address is 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
int ns_is_loopback(const struct sockaddr *sa);
/* A non-blocking, close-on-exec listening TCP socket (SO_REUSEADDR) or -1 with errno set
 * (EINVAL for a non-loopback or malformed address). */
int ns_loopback_listen(const char *host_port);
/* A free TCP port on 127.0.0.1 chosen by the kernel; the socket stays open in *fd_out
 * (so repeated calls give distinct ports) until the caller closes it. 0 on error. */
uint16_t ns_loopback_free_port(int *fd_out);
/* 1 if a TCP connect to host:port succeeds within timeout_ms (loopback only). */
int ns_loopback_probe(const char *host, uint16_t port, int timeout_ms);
/* Writes data to path via a temp file + rename. 0 or -1. */
int ns_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
