/* keyd's builder threads (keyd_pool.h). */
#include "keyd_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cores.h"
#include "keyd_ring.h"

struct nc_keyd_pool {
	struct ev_loop *loop;
	struct nc_keyd *k;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job was queued, or stop */
	pthread_cond_t up;   /* a builder thread is running */
	unsigned n_up;
	struct nc_ring ring;
	int stop;
	unsigned n_threads;
	pthread_t *threads;
	ev_async done;       /* a builder thread completed a job */
	ev_idle help;        /* the main thread builds while it has nothing else to do */
};

unsigned nc_keyd_pool_threads(unsigned workers)
{
	if (workers == 0)
		workers = ns_usable_cores();
	if (workers > NC_KEYD_WORKERS_MAX)
		workers = NC_KEYD_WORKERS_MAX;
	return workers - 1;
}

/* Every job done at the ring's head, handed back in order (outside the lock: handing back
 * submits the builds that waited for room). */
static void hand_back(struct nc_keyd_pool *p)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		void *job = nc_ring_pop(&p->ring);
		pthread_mutex_unlock(&p->mu);
		if (!job)
			return;
		nc_keyd_job_done(p->k, job);
	}
}

/* What a new thread does once, before the filter (start_threads waits for it): glibc's
 * start-up of the thread (robust list, rseq) and its first malloc (its own arena, sized by
 * sched_getaffinity) make system calls the filter does not allow. */
static void thread_warm_up(struct nc_keyd_pool *p)
{
	free(malloc(64));
	pthread_mutex_lock(&p->mu);
	p->n_up++;
	pthread_cond_signal(&p->up);
}

static void *builder(void *arg)
{
	struct nc_keyd_pool *p = arg;
	thread_warm_up(p); /* returns with the lock held */
	for (;;) {
		void *job = NULL;
		long slot = -1;
		while (!p->stop && (slot = nc_ring_claim(&p->ring, &job)) < 0)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		nc_keyd_job_run(job);
		pthread_mutex_lock(&p->mu);
		nc_ring_complete(&p->ring, slot);
		ev_async_send(p->loop, &p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void on_done(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop, (void)revents;
	hand_back(w->data);
}

/* One queued job built by the main thread, when no IPC or timer is pending. */
static void on_help(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	struct nc_keyd_pool *p = w->data;
	void *job = NULL;
	pthread_mutex_lock(&p->mu);
	long slot = nc_ring_claim(&p->ring, &job);
	pthread_mutex_unlock(&p->mu);
	if (slot < 0) {
		ev_idle_stop(loop, w);
		return;
	}
	nc_keyd_job_run(job);
	pthread_mutex_lock(&p->mu);
	nc_ring_complete(&p->ring, slot);
	pthread_mutex_unlock(&p->mu);
	hand_back(p);
}

static void submit(void *ctx, struct nc_keyd_job *job)
{
	struct nc_keyd_pool *p = ctx;
	pthread_mutex_lock(&p->mu);
	long slot = nc_ring_push(&p->ring, job);
	if (slot >= 0)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	if (slot < 0) { /* keyd submits at most the ring's capacity: cannot happen */
		nc_keyd_job_run(job);
		nc_keyd_job_done(p->k, job);
		return;
	}
	ev_idle_start(p->loop, &p->help);
}

struct nc_keyd_runner nc_keyd_pool_runner(struct nc_keyd_pool *p)
{
	return (struct nc_keyd_runner){ .submit = submit, .ctx = p, .capacity = p->ring.cap };
}

static void stop_threads(struct nc_keyd_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	p->n_threads = 0;
}

/* The builders take no signal: SIGTERM and the rest stay the main thread's. */
static int start_threads(struct nc_keyd_pool *p, unsigned threads)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < threads && rc == 0; i++) {
		rc = pthread_create(&p->threads[i], NULL, builder, p);
		if (rc == 0)
			p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&p->mu);
	while (p->n_up < p->n_threads)
		pthread_cond_wait(&p->up, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

struct nc_keyd_pool *nc_keyd_pool_start(struct ev_loop *loop, struct nc_keyd *k,
                                        unsigned threads, char *err, size_t errcap)
{
	struct nc_keyd_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->threads = calloc(threads ? threads : 1, sizeof *p->threads)) ||
	    nc_ring_init(&p->ring, NC_KEYD_POOL_RING) < 0) {
		snprintf(err, errcap, "out of memory");
		if (p)
			free(p->threads);
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->k = k;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->up, NULL);
	ev_async_init(&p->done, on_done);
	p->done.data = p;
	ev_async_start(loop, &p->done); /* opens libev's wake-up eventfd: before the filter */
	ev_idle_init(&p->help, on_help);
	p->help.data = p;
	ev_set_priority(&p->help, EV_MINPRI);
	int rc = start_threads(p, threads);
	if (rc != 0) {
		snprintf(err, errcap, "cannot start a builder thread: %s", strerror(rc));
		nc_keyd_pool_free(p);
		return NULL;
	}
	return p;
}

void nc_keyd_pool_free(struct nc_keyd_pool *p)
{
	if (!p)
		return;
	stop_threads(p);
	ev_async_stop(p->loop, &p->done);
	ev_idle_stop(p->loop, &p->help);
	nc_ring_free(&p->ring);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->up);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}
