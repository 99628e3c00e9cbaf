/* Stats file: one JSON object of named counters, rewritten atomically every interval. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopback.h"
#include "node/node.h"

#define MAX_COUNTERS 64
#define NAME_MAX_LEN 48

struct ns_stats {
	char node[NS_NODECONF_NAME_MAX * 2];
	char *path;
	struct {
		char name[NAME_MAX_LEN];
		const uint64_t *value;
	} c[MAX_COUNTERS];
	size_t n;
	uint64_t start_ns;
	void (*hook)(void *ctx);
	void *hook_ctx;
	struct ev_loop *loop;
	ev_timer timer;
};

static int name_ok(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char ch = s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return n > 0 && n < max;
}

struct ns_stats *ns_stats_new(const char *node_name, const char *path)
{
	if (!node_name || !name_ok(node_name, NS_NODECONF_NAME_MAX * 2))
		return NULL;
	struct ns_stats *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	strcpy(s->node, node_name);
	if (path && *path && !(s->path = strdup(path))) {
		free(s);
		return NULL;
	}
	s->start_ns = ns_node_now_ns();
	return s;
}

int ns_stats_add(struct ns_stats *s, const char *name, const uint64_t *value)
{
	if (!s || !name || !value || !name_ok(name, NAME_MAX_LEN))
		return NS_NODE_ERR_ARG;
	if (s->n == MAX_COUNTERS)
		return NS_NODE_ERR_FULL;
	strcpy(s->c[s->n].name, name);
	s->c[s->n].value = value;
	s->n++;
	return 0;
}

void ns_stats_on_write(struct ns_stats *s, void (*fn)(void *ctx), void *ctx)
{
	if (!s)
		return;
	s->hook = fn;
	s->hook_ctx = ctx;
}

long ns_stats_json(struct ns_stats *s, char *out, size_t cap)
{
	if (!s || !out)
		return -1;
	if (s->hook)
		s->hook(s->hook_ctx);
	uint64_t up = (ns_node_now_ns() - s->start_ns) / 1000000000u;
	size_t len = 0;
	int w = snprintf(out, cap, "{\"node\":\"%s\",\"uptime_s\":%llu", s->node, (unsigned long long)up);
	if (w < 0 || (size_t)w >= cap)
		return -1;
	len = (size_t)w;
	for (size_t i = 0; i < s->n; i++) {
		w = snprintf(out + len, cap - len, ",\"%s\":%llu", s->c[i].name,
		             (unsigned long long)*s->c[i].value);
		if (w < 0 || (size_t)w >= cap - len)
			return -1;
		len += (size_t)w;
	}
	if (cap - len < 3)
		return -1;
	memcpy(out + len, "}\n", 3);
	return (long)(len + 2);
}

int ns_stats_write(struct ns_stats *s)
{
	char buf[MAX_COUNTERS * (NAME_MAX_LEN + 24) + 256];
	if (!s || !s->path)
		return -1;
	long n = ns_stats_json(s, buf, sizeof buf);
	if (n < 0)
		return -1;
	return ns_write_file_atomic(s->path, buf, (size_t)n, 0644);
}

static void on_stats_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ns_stats_write(w->data);
}

int ns_stats_start(struct ns_stats *s, struct ev_loop *loop, double interval_s)
{
	if (!s || !loop || !(interval_s > 0))
		return NS_NODE_ERR_ARG;
	s->loop = loop;
	ev_timer_init(&s->timer, on_stats_timer, interval_s, interval_s);
	s->timer.data = s;
	ev_timer_start(loop, &s->timer);
	return ns_stats_write(s);
}

void ns_stats_free(struct ns_stats *s)
{
	if (!s)
		return;
	if (s->loop)
		ev_timer_stop(s->loop, &s->timer);
	free(s->path);
	free(s);
}
