/* Helpers shared by unit tests, the known-answer runner and benchmarks. */
#ifndef NS_TEST_UTIL_H
#define NS_TEST_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Decodes lowercase/uppercase hex; returns byte count or -1 (odd length, bad digit, too long). */
long util_unhex(const char *hex, uint8_t *out, size_t cap);
/* Same, into a fresh malloc'd buffer; *len receives the size. NULL on error. */
uint8_t *util_unhex_alloc(const char *hex, size_t *len);
/* Writes 2*len+1 chars. */
void util_tohex(const uint8_t *in, size_t len, char *out);
/* Reads a whole file; NUL-terminated; NULL on error. */
char *util_read_file(const char *path, size_t *len);

/* 1 if the n rows of width bytes are pairwise distinct (it sorts them), else 0. */
int util_rows_distinct(uint8_t *rows, size_t n, size_t width);
/* Forks: the child calls draw once and hands its 32 bytes back, the parent calls draw once.
 * 0 with both filled, -1 if the fork, the pipe or the child failed. */
int util_fork_draw(void (*draw)(uint8_t out[32]), uint8_t parent[32], uint8_t child[32]);

#endif
