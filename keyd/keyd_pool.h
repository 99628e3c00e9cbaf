/* keyd's builder threads (native keyd only; the browser's Worker builds inline): the host
 * side of struct nc_keyd_runner (keyd_ops.h). threads builder threads and the main (libev)
 * thread, when it has nothing else to do, take jobs in the order they came from an in-order
 * completion ring (keyd_ring.h); the main thread hands the results back to the operations
 * in that order. The threads run only nc_keyd_job_run: every IPC, timer and piece of
 * mutable state stays with the main thread. */
#ifndef NC_KEYD_POOL_H
#define NC_KEYD_POOL_H
#include <stddef.h>

#include <ev.h>

#include "keyd_ops.h"

#define NC_KEYD_POOL_RING 64 /* jobs submitted and not yet handed back, at most */
#define NC_KEYD_WORKERS_MAX 64

struct nc_keyd_pool;

/* keyd_workers as configured (0 = one per online core) -> the builder threads to start
 * (that number less the main thread; 0 = keyd builds inline, as before issue 12). */
unsigned nc_keyd_pool_threads(unsigned workers);
/* The ring, the loop's ev_async and ev_idle and threads builder threads, started now (before
 * the seccomp filter: it has no clone; they inherit the Landlock domain). NULL on failure
 * (err says why). */
struct nc_keyd_pool *nc_keyd_pool_start(struct ev_loop *loop, struct nc_keyd *k,
                                        unsigned threads, char *err, size_t errcap);
/* The runner to give nc_keyd_set_runner. */
struct nc_keyd_runner nc_keyd_pool_runner(struct nc_keyd_pool *p);
/* Stops and joins the threads (a job being built is finished first); jobs not handed back
 * are dropped. Not for a sandboxed keyd (its threads end with the process): the tests. */
void nc_keyd_pool_free(struct nc_keyd_pool *p);

#endif
