/* The one log (log.h). */
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024

static struct {
	const char *program, *role;
	int level;
	unsigned output;
	double (*clock)(void);
	void (*sink)(const char *line, void *ctx);
	void *sink_ctx;
	struct ns_log_limit *pending;
	int flushing;
} g_log = { .program = "nymsuite", .level = NS_LOG_DEFAULT };

/* ---- levels and the filter */

static const char *const LEVEL_NAME[] = { "OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

const char *ns_log_level_name(int level)
{
	return level >= NS_LOG_OFF && level <= NS_LOG_TRACE ? LEVEL_NAME[level] : "?";
}

int ns_log_level_parse(const char *s, size_t len)
{
	if (len == 0)
		return NS_LOG_ERROR; /* tracing reads an empty level as ERROR */
	if (len == 1 && s[0] >= '0' && s[0] <= '5')
		return s[0] - '0';
	for (int l = NS_LOG_OFF; l <= NS_LOG_TRACE; l++)
		if (strlen(LEVEL_NAME[l]) == len && !strncasecmp(s, LEVEL_NAME[l], len))
			return l;
	return -1;
}

static int target_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' || c == '.';
}

/* How specific a directive target is for us: 0 = not ours, else a length (longer wins). */
static size_t target_match(const char *t, size_t len, const char *program, const char *role)
{
	char ours[128], want[128];
	if (len == 0 || len >= sizeof want)
		return 0;
	if (role && strlen(role) == len && !strncmp(t, role, len))
		return sizeof ours; /* the role alone is as specific as it gets */
	int n = snprintf(ours, sizeof ours, "%s::%s", program, role ? role : "");
	if (n < 0 || (size_t)n >= sizeof ours)
		return 0;
	for (char *p = ours; *p; p++)
		*p = *p == '-' ? '_' : *p;
	for (size_t i = 0; i < len; i++)
		want[i] = t[i] == '-' ? '_' : t[i];
	return !strncmp(ours, want, len) ? len : 0;
}

static void note_bad(char *bad, size_t cap, const char *part, size_t len)
{
	if (!bad || !cap)
		return;
	size_t at = strlen(bad);
	int n = snprintf(bad + at, cap - at, "%s%.*s", at ? ", " : "", (int)len, part);
	if (n < 0 || at + (size_t)n >= cap) /* cut: mark the end */
		snprintf(bad + (cap > 4 ? cap - 4 : 0), cap > 4 ? 4 : cap, "...");
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* One directive: -1 malformed; 0 with *level and *spec (0: a bare level, else how specific
 * its target is for us; SIZE_MAX: not ours). */
static int directive(const char *d, size_t len, const char *program, const char *role,
                     int *level, size_t *spec)
{
	const char *eq = memchr(d, '=', len);
	size_t tlen = eq ? (size_t)(eq - d) : len;
	const char *lv = eq ? eq + 1 : NULL;
	size_t lvlen = eq ? len - tlen - 1 : 0;
	trim(&d, &tlen);
	if (lv)
		trim(&lv, &lvlen);
	for (size_t i = 0; i < tlen; i++)
		if (!target_char(d[i]))
			return -1; /* span filters ("[span]", "{field}") among them: we have none */
	if (!eq) {
		int l = ns_log_level_parse(d, tlen);
		if (l >= 0) {
			*level = l, *spec = 0;
			return 0;
		}
		*level = NS_LOG_TRACE; /* a target alone: all of it, as tracing */
	} else {
		if (memchr(lv, '=', lvlen) || (*level = ns_log_level_parse(lv, lvlen)) < 0)
			return -1;
		if (tlen == 0) {
			*spec = 0;
			return 0;
		}
	}
	size_t m = target_match(d, tlen, program, role);
	*spec = m ? m : SIZE_MAX;
	return 0;
}

int ns_log_filter_level(const char *spec, const char *program, const char *role, int fallback,
                        char *bad, size_t cap)
{
	int bare = -1, best = -1;
	size_t best_spec = 0;
	if (bad && cap)
		bad[0] = 0;
	if (!spec)
		return fallback;
	if (!program)
		program = "";
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *d = p;
		trim(&d, &len);
		int level;
		size_t how;
		if (len && directive(d, len, program, role, &level, &how) < 0)
			note_bad(bad, cap, d, len);
		else if (len && how == 0)
			bare = level;
		else if (len && how != SIZE_MAX && how >= best_spec)
			best = level, best_spec = how;
		p = end ? end + 1 : p + strlen(p);
	}
	return best >= 0 ? best : bare >= 0 ? bare : fallback;
}

int ns_log_level_from_env(const char *program, const char *role, int conf_level)
{
	char bad[160];
	const char *env = getenv(NS_LOG_ENV);
	int fallback = conf_level >= 0 ? conf_level : NS_LOG_DEFAULT;
	if (!env)
		return fallback;
	if (strlen(env) > NS_LOG_SPEC_MAX) {
		ns_log(NS_LOG_WARN, role, "%s is longer than %d bytes: ignored", NS_LOG_ENV,
		       NS_LOG_SPEC_MAX);
		return fallback;
	}
	int level = ns_log_filter_level(env, program, role, fallback, bad, sizeof bad);
	if (bad[0])
		ns_log(NS_LOG_WARN, role, "%s: ignoring what is not a filter directive: %s",
		       NS_LOG_ENV, bad);
	return level;
}

/* ---- output */

unsigned ns_log_detect_output(void)
{
	unsigned out = 0;
	struct stat st;
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	if (isatty(2))
		out |= NS_LOG_TTY;
	else if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	         (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		out |= NS_LOG_JOURNAL;
	return out;
}

void ns_log_init(const char *program, const char *role, int level, unsigned output)
{
	g_log.program = program ? program : "nymsuite";
	g_log.role = role;
	g_log.level = level < NS_LOG_OFF ? NS_LOG_OFF : level > NS_LOG_TRACE ? NS_LOG_TRACE : level;
	g_log.output = output;
}

int ns_log_level(void)
{
	return g_log.level;
}

unsigned ns_log_output(void)
{
	return g_log.output;
}

void ns_log_set_clock(double (*now)(void))
{
	g_log.clock = now;
}

void ns_log_set_sink(void (*sink)(const char *line, void *ctx), void *ctx)
{
	g_log.sink = sink;
	g_log.sink_ctx = ctx;
}

static double mono_now(void)
{
	if (g_log.clock)
		return g_log.clock();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_prefix(char *out, size_t cap, int level)
{
	static const char *const COLOUR[] = { "", "31", "33", "32", "34", "35" };
	static const int SYSLOG_PRIORITY[] = { 7, 3, 4, 6, 7, 7 };
	const char *name = ns_log_level_name(level);
	int n = 0;
	/* journald reads the priority at the very start and stamps the entry itself */
	if (g_log.output & NS_LOG_JOURNAL)
		return (size_t)snprintf(out, cap, "<%d>", SYSLOG_PRIORITY[level]);
	if (g_log.output & (NS_LOG_TTY | NS_LOG_TIME)) {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(out, cap, "%s.%03ldZ ", when, ts.tv_nsec / 1000000);
	}
	if (g_log.output & NS_LOG_TTY)
		n += snprintf(out + n, cap - (size_t)n, "\033[%sm%5s\033[0m ", COLOUR[level], name);
	else
		n += snprintf(out + n, cap - (size_t)n, "%s ", name);
	return (size_t)n;
}

/* Control bytes (a newline in a peer's error text, an escape sequence) would split a journal
 * entry or drive a terminal: '?' instead. */
static void sanitise(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void emit(int level, const char *role, const char *text)
{
	char line[LINE_MAX_BYTES + 160];
	size_t n = put_prefix(line, sizeof line, level);
	int k = role ? snprintf(line + n, sizeof line - n, "%s[%s]: %s", g_log.program, role, text)
	             : snprintf(line + n, sizeof line - n, "%s: %s", g_log.program, text);
	n = k < 0 ? n : n + (size_t)k < sizeof line - 1 ? n + (size_t)k : sizeof line - 2;
	line[n] = 0;
	if (g_log.sink) {
		g_log.sink(line, g_log.sink_ctx);
		return;
	}
	line[n++] = '\n';
	/* one write per line: the roles share the descriptor */
	for (size_t off = 0; off < n;) {
		ssize_t w = write(2, line + off, n - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void format_text(char *text, size_t cap, const char *fmt, va_list ap)
{
	vsnprintf(text, cap, fmt, ap);
	sanitise(text);
}

void ns_logv(int level, const char *role, const char *fmt, va_list ap)
{
	char text[LINE_MAX_BYTES];
	if (!g_log.flushing && g_log.pending)
		ns_log_flush(0);
	if (level <= NS_LOG_OFF || level > g_log.level)
		return;
	format_text(text, sizeof text, fmt, ap);
	emit(level, role ? role : g_log.role, text);
}

void ns_log(int level, const char *role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_logv(level, role, fmt, ap);
	va_end(ap);
}

/* ---- repeated lines */

static double window_of(const struct ns_log_limit *l)
{
	return l->window_s > 0 ? l->window_s : NS_LOG_WINDOW_S;
}

static void tell_count(struct ns_log_limit *l, double now)
{
	char text[LINE_MAX_BYTES];
	snprintf(text, sizeof text, "%llu more like this in the last %.0f s: %s",
	         (unsigned long long)l->suppressed, now - l->start, l->gist);
	if (l->level > NS_LOG_OFF && l->level <= g_log.level)
		emit(l->level, l->role ? l->role : g_log.role, text);
	l->suppressed = 0;
	l->start = 0; /* the next one is written in full */
}

static void unlist(struct ns_log_limit *l)
{
	for (struct ns_log_limit **p = &g_log.pending; *p; p = &(*p)->next_pending)
		if (*p == l) {
			*p = l->next_pending;
			break;
		}
	l->pending = 0;
	l->next_pending = NULL;
}

void ns_log_vlimited(struct ns_log_limit *l, int level, const char *role, const char *fmt,
                     va_list ap)
{
	double now = mono_now();
	if (!g_log.flushing && g_log.pending)
		ns_log_flush(now);
	l->level = level, l->role = role;
	if (l->start != 0 && now - l->start < window_of(l)) {
		l->suppressed++;
		if (!l->pending) {
			l->pending = 1;
			l->next_pending = g_log.pending;
			g_log.pending = l;
		}
		return;
	}
	/* (a window that ended with repeats was told by the flush above) */
	char text[LINE_MAX_BYTES];
	format_text(text, sizeof text, fmt, ap);
	size_t n = strlen(text);
	if (n < sizeof l->gist) {
		memcpy(l->gist, text, n + 1);
	} else {
		memcpy(l->gist, text, sizeof l->gist - 4);
		memcpy(l->gist + sizeof l->gist - 4, "...", 4);
	}
	l->start = now;
	l->suppressed = 0;
	if (level > NS_LOG_OFF && level <= g_log.level)
		emit(level, role ? role : g_log.role, text);
}

void ns_log_limited(struct ns_log_limit *l, int level, const char *role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ns_log_vlimited(l, level, role, fmt, ap);
	va_end(ap);
}

void ns_log_flush(double now)
{
	if (g_log.flushing)
		return;
	g_log.flushing = 1;
	if (now == 0)
		now = mono_now();
	for (struct ns_log_limit *l = g_log.pending, *next; l; l = next) {
		next = l->next_pending;
		if (now - l->start >= window_of(l)) {
			unlist(l);
			tell_count(l, now);
		}
	}
	g_log.flushing = 0;
}

/* ---- the periodic summary */

int ns_log_summary_line(const char *const *names, const uint64_t *counters, uint64_t *last,
                        size_t n, size_t n_activity, char *out, size_t cap)
{
	int active = 0;
	size_t at = 0;
	if (cap)
		out[0] = 0;
	for (size_t i = 0; i < n_activity && i < n; i++)
		active |= counters[i] != last[i];
	for (size_t i = 0; i < n; i++) {
		uint64_t d = counters[i] - last[i];
		last[i] = counters[i];
		if (!active || d == 0 || at >= cap)
			continue;
		int k = snprintf(out + at, cap - at, "%s%s=%llu", at ? " " : "", names[i],
		                 (unsigned long long)d);
		at = k < 0 ? cap : at + (size_t)k;
	}
	return active;
}
