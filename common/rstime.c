/* Timestamp codecs: see rstime.h. */
#include "rstime.h"

#include <math.h>
#include <time.h>

#include "replystore.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int month_days(int64_t y, unsigned m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* n decimal digits at *p (advanced); -1 if fewer. */
static long digits(const char **p, const char *end, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

/* "Z", "+HH:MM", "-HH:MM" or nothing (UTC); seconds east of UTC. */
static int offset(const char **p, const char *end, long *off)
{
	*off = 0;
	if (*p == end)
		return 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	int neg = **p == '-';
	(*p)++;
	long h = digits(p, end, 2), m = 0;
	if (h < 0 || h > 23)
		return -1;
	if (*p < end && **p == ':') {
		(*p)++;
		if ((m = digits(p, end, 2)) < 0 || m > 59)
			return -1;
	}
	*off = (neg ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

int ns_rs_time_text(const char *s, size_t len, int64_t *out)
{
	if (!s || !out || len > 64)
		return -1;
	const char *p = s, *end = s + len;
	long y = digits(&p, end, 4), mo, d, h, mi, sec = 0, off;
	if (y < 0 || expect(&p, end, '-') || (mo = digits(&p, end, 2)) < 1 || mo > 12 ||
	    expect(&p, end, '-') || (d = digits(&p, end, 2)) < 1 || d > month_days(y, (unsigned)mo))
		return -1;
	if (p >= end || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if ((h = digits(&p, end, 2)) < 0 || h > 23 || expect(&p, end, ':') ||
	    (mi = digits(&p, end, 2)) < 0 || mi > 59)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if ((sec = digits(&p, end, 2)) < 0 || sec > 60)
			return -1;
		if (p < end && *p == '.') {
			p++;
			int n = 0;
			while (p < end && *p >= '0' && *p <= '9' && n < 9)
				p++, n++;
			if (!n)
				return -1;
		}
	}
	if (offset(&p, end, &off) < 0 || p != end)
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second, as RFC 3339 allows */
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * NS_RS_DAY + h * 3600 + mi * 60 + sec -
	       off;
	return 0;
}

/* sqlx takes an INTEGER as unix seconds; time's range ends in year 9999. */
#define TIME_MAX 253402300799LL
#define TIME_MIN (-62135596800LL)

int ns_rs_time_int(int64_t v, int64_t *out)
{
	if (v < TIME_MIN || v > TIME_MAX)
		return -1;
	*out = v;
	return 0;
}

int ns_rs_time_real(double jd, int64_t *out)
{
	if (!isfinite(jd))
		return -1;
	double s = (jd - 2440587.5) * NS_RS_DAY;
	if (s < (double)TIME_MIN || s > (double)TIME_MAX)
		return -1;
	*out = (int64_t)floor(s);
	return 0;
}

int ns_rs_time_format(int64_t unix_s, char *out, size_t cap)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (unix_s < 0 || unix_s > TIME_MAX || !gmtime_r(&t, &tm))
		return -1;
	return strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -1;
}

