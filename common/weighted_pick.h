/* A weighted draw (Nym's choose_weighted, used with weights 1/latency to pick a gateway). */
#ifndef NS_WEIGHTED_PICK_H
#define NS_WEIGHTED_PICK_H
#include <stddef.h>

/* The index i drawn with probability weights[i] / sum, given u uniform in [0, 1); weights that
 * are not finite and > 0 are never drawn. -1 when no weight qualifies. */
long ns_weighted_pick(const double *weights, size_t n, double u);

#endif
