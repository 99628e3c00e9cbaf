/* apid's bounds under load: how many apps and connections it holds (the configured
 * [nymsuite] max_apps, never more than its descriptor limit allows), one memory budget for
 * every connection's buffers, the idle timeouts, and the counters and rate-limited log lines
 * of everything refused or closed for these reasons. */
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "apid.h"
#include "clientconf.h"
#include "nymclient.h"

#define FD_RESERVE 64      /* IPC, listeners, admin connections, epoll, logging, margin */
#define LOG_INTERVAL 10.0  /* seconds between two log lines of one kind */
#define MAX_MESSAGE (64u << 20)

struct nc_limits nc_lim;

static struct {
	uint64_t count[NC_EV_COUNT];
} g_ev;

static const char *const EV_TEXT[NC_EV_COUNT] = {
	[NC_EV_REFUSED_APPS] = "app connections refused: the app limit is reached",
	[NC_EV_REFUSED_FDS] = "connections refused or delayed: out of file descriptors",
	[NC_EV_HANDSHAKE_TIMEOUT] = "websocket handshakes not completed in time: closed",
	[NC_EV_PARTIAL_TIMEOUT] = "unfinished messages without progress: connection closed",
	[NC_EV_SLOW_CONSUMER] = "apps closed as slow consumers: they do not read the messages they "
	                        "are sent and the buffer budget is full",
};

static size_t fd_room(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE : FD_RESERVE;
}

void nc_limits_init(const struct clientconf_apid_limits *conf)
{
	struct clientconf_apid_limits d;
	clientconf_limits_defaults(&d);
	if (!conf->max_apps || !conf->buffer_mib || !conf->handshake_timeout_ns ||
	    !conf->partial_timeout_ns)
		conf = &d;
	size_t room = fd_room();
	nc_lim.max_conns = room;
	nc_lim.max_apps = conf->max_apps < room ? (size_t)conf->max_apps : room;
	if (nc_lim.max_apps < conf->max_apps)
		nc_warn("apid", "max_apps %llu reduced to %zu by the file descriptor limit",
		       (unsigned long long)conf->max_apps, nc_lim.max_apps);
	size_t budget = (size_t)conf->buffer_mib << 20;
	ns_membudget_init(&nc_lim.budget, budget);
	/* two messages of the largest size fit in the budget at once */
	nc_lim.max_message = budget / 2 < MAX_MESSAGE ? budget / 2 : MAX_MESSAGE;
	nc_lim.handshake_timeout = (double)conf->handshake_timeout_ns / 1e9;
	nc_lim.partial_timeout = (double)conf->partial_timeout_ns / 1e9;
}

void nc_event(enum nc_event ev)
{
	static struct ns_log_limit limit[NC_EV_COUNT];
	g_ev.count[ev]++;
	limit[ev].window_s = LOG_INTERVAL;
	ns_log_limited(&limit[ev], NS_LOG_WARN, "apid", "%s", EV_TEXT[ev]);
}

uint64_t nc_event_count(enum nc_event ev)
{
	return g_ev.count[ev];
}
