/* Weighted draw (weighted_pick.h). */
#include <math.h>

#include "weighted_pick.h"

static int usable(double w)
{
	return isfinite(w) && w > 0;
}

long ns_weighted_pick(const double *weights, size_t n, double u)
{
	double total = 0;
	long last = -1;
	for (size_t i = 0; i < n; i++)
		if (usable(weights[i])) {
			total += weights[i];
			last = (long)i;
		}
	if (last < 0 || !isfinite(total))
		return -1;
	if (!(u >= 0) || u >= 1)
		u = 0;
	double at = u * total;
	for (size_t i = 0; i < n; i++) {
		if (!usable(weights[i]))
			continue;
		at -= weights[i];
		if (at < 0)
			return (long)i;
	}
	return last; /* rounding left a sliver past the last weight */
}
