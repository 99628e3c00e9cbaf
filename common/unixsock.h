/* Unix stream socket addresses of any length. sun_path holds 107 bytes, and a client's data
 * folder under a long $NYM_HOME_DIR easily passes that; a longer path is reached through its
 * folder, opened O_PATH, as /proc/self/fd/N/NAME (always short). Needs /proc, so call these
 * before a sandbox (the fronts bind before confinement; nymctl and the supervisor have none). */
#ifndef NS_UNIXSOCK_H
#define NS_UNIXSOCK_H

/* bind / connect fd to path. 0, or -1 with errno (ENAMETOOLONG only when even the short
 * form does not fit). */
int ns_unix_bind(int fd, const char *path);
int ns_unix_connect(int fd, const char *path);

#endif
