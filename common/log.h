/* The one log of every nymsuite program: lines to stderr, a level per process, rate-limited
 * repeats and a periodic traffic summary.
 *
 * The level comes from a RUST_LOG-style filter as Nym's programs read it (tracing's
 * EnvFilter: a bare level and `target=level` directives separated by commas), else from the
 * config ([nymsuite] log_level of the clients), else INFO. A target is ours when it is our
 * role ("netd"), our program ("nym-client" or "nym_client") or a prefix of
 * "<program with underscores>::<role>" ("nym", "nym_client::netd"), as tracing matches
 * module paths; the longest matching target wins, then a bare level.
 *
 * Output: "LEVEL program[role]: text". On a terminal a UTC timestamp comes first and the
 * level is coloured; on the journal's stream (systemd's $JOURNAL_STREAM names our stderr) the
 * level travels as a syslog "<N>" prefix that journald turns into the entry's priority; to a
 * file or pipe the line is plain (no colour, no timestamp). The output kind is decided
 * once, before any sandbox (ns_log_detect_output needs ioctl and fstat). */
#ifndef NS_LOG_H
#define NS_LOG_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum ns_log_level {
	NS_LOG_OFF = 0,
	NS_LOG_ERROR,
	NS_LOG_WARN,
	NS_LOG_INFO,
	NS_LOG_DEBUG,
	NS_LOG_TRACE,
};
#define NS_LOG_DEFAULT NS_LOG_INFO
#define NS_LOG_ENV "RUST_LOG"
#define NS_LOG_SPEC_MAX 512 /* longest filter read from the environment */

/* output kinds (flags) */
#define NS_LOG_TTY 1u     /* timestamps and coloured levels */
#define NS_LOG_JOURNAL 2u /* "<N>" syslog priority prefixes */
#define NS_LOG_TIME 4u    /* timestamps (the localnet's log files) */

/* "error" .. "trace", "off", "0".."5" (tracing's numbers), any case; "" is ERROR as in
 * tracing. The level or -1. */
int ns_log_level_parse(const char *s, size_t len);
const char *ns_log_level_name(int level);

/* The level a filter spec gives the target program/role: the most specific directive that
 * matches, else the bare level, else fallback (a filter for other targets only leaves our
 * level alone: we do not go silent). Malformed directives are ignored; their text goes to
 * bad (a comma-separated list, truncated to cap; may be NULL). Never fails. */
int ns_log_filter_level(const char *spec, const char *program, const char *role, int fallback,
                        char *bad, size_t cap);

/* NS_LOG_TTY / NS_LOG_JOURNAL for the current stderr (before the sandbox). */
unsigned ns_log_detect_output(void);
/* The process's settings: program and role name its lines (the strings are kept by
 * reference). */
void ns_log_init(const char *program, const char *role, int level, unsigned output);
/* ns_log_init's level from $RUST_LOG (then conf_level, then INFO) for program/role; a
 * malformed filter is reported once, by this call. conf_level -1: none. */
int ns_log_level_from_env(const char *program, const char *role, int conf_level);
int ns_log_level(void);
unsigned ns_log_output(void);
static inline int ns_log_enabled(int level)
{
	return level <= ns_log_level();
}

/* One line at level; role NULL: the process's own. Lines are cut at 1 KiB. */
void ns_log(int level, const char *role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ns_logv(int level, const char *role, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
#define ns_error(...) ns_log(NS_LOG_ERROR, NULL, __VA_ARGS__)
#define ns_warn(...) ns_log(NS_LOG_WARN, NULL, __VA_ARGS__)
#define ns_info(...) ns_log(NS_LOG_INFO, NULL, __VA_ARGS__)
#define ns_debug(...) ns_log(NS_LOG_DEBUG, NULL, __VA_ARGS__)
#define ns_trace(...) ns_log(NS_LOG_TRACE, NULL, __VA_ARGS__)

/* A repeated line: the first of a window is written and opens the window; the repeats inside
 * it are counted and told in one "N more like this in the last M s: <its start>" line when
 * the window ends (at the next repeat or at ns_log_flush, whichever comes first). The next
 * one after that is written in full and opens a new window: a fault that goes on costs two
 * lines per window. Zero-initialise; window_s 0 is NS_LOG_WINDOW_S. Static storage (a
 * pending limiter is on a list). */
#define NS_LOG_WINDOW_S 10.0
#define NS_LOG_GIST 72
struct ns_log_limit {
	double window_s;
	double start;          /* the current window's start (monotonic s), 0: none */
	uint64_t suppressed;   /* repeats in the current window */
	int level;
	const char *role;
	char gist[NS_LOG_GIST]; /* the start of the last line written */
	struct ns_log_limit *next_pending;
	int pending;
};
void ns_log_limited(struct ns_log_limit *l, int level, const char *role, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ns_log_vlimited(struct ns_log_limit *l, int level, const char *role, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));
/* A rate-limited line with its own limiter at the call site (default window). */
#define ns_log_rl(level, role, ...)                                                          \
	do {                                                                                   \
		static struct ns_log_limit ns_log_rl_limit_;                                   \
		ns_log_limited(&ns_log_rl_limit_, level, role, __VA_ARGS__);                   \
	} while (0)
/* Writes the count lines of windows that ended (call it every few seconds from a timer;
 * every ns_log call does it too). now: monotonic seconds, or 0 for the clock's. */
void ns_log_flush(double now);
/* Tests: the limiter's clock (NULL: CLOCK_MONOTONIC). */
void ns_log_set_clock(double (*now)(void));
/* Tests: where lines go (NULL: stderr). */
void ns_log_set_sink(void (*sink)(const char *line, void *ctx), void *ctx);

/* The periodic summary: counters[i] (cumulative) against last[i]; when one of the first
 * n_activity counters moved since the last call, writes "name=delta ..." of every counter
 * that moved into out and returns 1; else 0 (out ""). last is updated either way. */
int ns_log_summary_line(const char *const *names, const uint64_t *counters, uint64_t *last,
                        size_t n, size_t n_activity, char *out, size_t cap);
#define NS_LOG_SUMMARY_S 60.0

#endif
