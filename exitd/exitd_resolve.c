/* exitd's resolver: one thread doing getaddrinfo so that a slow name never blocks the loop.
 * Jobs go in through a bounded queue under a mutex; answers come back through a second queue
 * and an eventfd the loop watches. The thread is created after nc_confine: a new thread
 * inherits the seccomp filter and the Landlock domain of its creator (the exitd sandbox
 * allows clone only with CLONE_THREAD). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ev.h>

#include "exitd.h"
#include "proxy/nr_target.h"

#define QUEUE_MAX 256

struct job {
	struct job *next;
	char host[NR_TARGET_HOST_MAX];
	uint16_t port;
	struct xd_resolved r;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo, **todo_tail, *done, **done_tail;
	size_t queued;
	int efd;
	ev_io io;
	xd_resolved_fn cb;
	long tid;
} g_r = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void push(struct job **head, struct job ***tail, struct job *j)
{
	j->next = NULL;
	if (!*head)
		*tail = head;
	**tail = j;
	*tail = &j->next;
}

static struct job *pop(struct job **head, struct job ***tail)
{
	struct job *j = *head;
	if (j) {
		*head = j->next;
		if (!*head)
			*tail = head;
	}
	return j;
}

static void lookup(struct job *j)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8];
	snprintf(port, sizeof port, "%u", (unsigned)j->port);
	j->r.n = 0;
	if (nr_target_never_resolves(j->host)) {
		j->r.gai_err = EAI_NONAME;
		return;
	}
	j->r.gai_err = getaddrinfo(j->host, port, &hints, &res);
	for (struct addrinfo *a = res; a && j->r.n < XD_RESOLVE_MAX_ADDRS; a = a->ai_next)
		if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
		    a->ai_addrlen <= sizeof j->r.addr[0])
			memcpy(&j->r.addr[j->r.n++], a->ai_addr, a->ai_addrlen);
	if (res)
		freeaddrinfo(res);
}

static void *resolver_main(void *arg)
{
	(void)arg;
	g_r.tid = (long)syscall(SYS_gettid);
	for (;;) {
		pthread_mutex_lock(&g_r.lock);
		while (!g_r.todo)
			pthread_cond_wait(&g_r.wake, &g_r.lock);
		struct job *j = pop(&g_r.todo, &g_r.todo_tail);
		pthread_mutex_unlock(&g_r.lock);
		lookup(j);
		pthread_mutex_lock(&g_r.lock);
		push(&g_r.done, &g_r.done_tail, j);
		pthread_mutex_unlock(&g_r.lock);
		uint64_t one = 1;
		ssize_t w = write(g_r.efd, &one, sizeof one);
		(void)w;
	}
	return NULL;
}

static void on_answers(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)w, (void)revents;
	uint64_t n;
	ssize_t r = read(g_r.efd, &n, sizeof n);
	(void)r;
	for (;;) {
		pthread_mutex_lock(&g_r.lock);
		struct job *j = pop(&g_r.done, &g_r.done_tail);
		if (j)
			g_r.queued--;
		pthread_mutex_unlock(&g_r.lock);
		if (!j)
			return;
		g_r.cb(&j->r);
		free(j);
	}
}

int xd_resolver_prepare(struct ev_loop *loop, xd_resolved_fn done, char *err, size_t errcap)
{
	g_r.todo_tail = &g_r.todo;
	g_r.done_tail = &g_r.done;
	g_r.cb = done;
	g_r.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g_r.efd < 0) {
		snprintf(err, errcap, "eventfd: %s", strerror(errno));
		return -1;
	}
	ev_io_init(&g_r.io, on_answers, g_r.efd, EV_READ);
	ev_io_start(loop, &g_r.io);
	return 0;
}

int xd_resolver_start(char *err, size_t errcap)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, resolver_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errcap, "cannot start the resolver thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}

int xd_resolve(uint64_t conn_id, uint64_t token, const char *host, uint16_t port)
{
	struct job *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	snprintf(j->host, sizeof j->host, "%s", host);
	j->port = port;
	j->r.conn_id = conn_id;
	j->r.token = token;
	pthread_mutex_lock(&g_r.lock);
	int full = g_r.queued >= QUEUE_MAX;
	if (!full) {
		g_r.queued++;
		push(&g_r.todo, &g_r.todo_tail, j);
		pthread_cond_signal(&g_r.wake);
	}
	pthread_mutex_unlock(&g_r.lock);
	if (full)
		free(j);
	return full ? -1 : 0;
}

long xd_resolver_tid(void)
{
	return g_r.tid;
}
