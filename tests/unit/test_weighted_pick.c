/* ns_weighted_pick: the draw behind --latency-based-selection (weights 1/latency). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "weighted_pick.h"

static void test_boundaries(void **state)
{
	(void)state;
	const double w[] = { 1, 3 }; /* [0, 0.25) -> 0, [0.25, 1) -> 1 */
	assert_int_equal(ns_weighted_pick(w, 2, 0.0), 0);
	assert_int_equal(ns_weighted_pick(w, 2, 0.2499), 0);
	assert_int_equal(ns_weighted_pick(w, 2, 0.25), 1);
	assert_int_equal(ns_weighted_pick(w, 2, 0.9999999), 1);
	assert_int_equal(ns_weighted_pick(w, 2, 1.0), 0); /* out of range: as 0 */
	assert_int_equal(ns_weighted_pick(w, 2, NAN), 0);
}

static void test_unusable_weights_never_drawn(void **state)
{
	(void)state;
	const double w[] = { 0, NAN, -2, INFINITY, 5, 0 };
	for (int k = 0; k < 100; k++)
		assert_int_equal(ns_weighted_pick(w, 6, k / 100.0), 4);
	const double none[] = { 0, -1, NAN };
	assert_int_equal(ns_weighted_pick(none, 3, 0.5), -1);
	assert_int_equal(ns_weighted_pick(none, 0, 0.5), -1);
}

/* Over an even grid of u the share of each index is its weight's share (1/latency: a gateway
 * ten times faster is drawn ten times as often). */
static void test_shares(void **state)
{
	(void)state;
	const double latency_ms[] = { 2, 20, 200 };
	double w[3];
	for (int i = 0; i < 3; i++)
		w[i] = 1 / latency_ms[i];
	int count[3] = { 0 };
	const int grid = 111000;
	for (int k = 0; k < grid; k++) {
		long i = ns_weighted_pick(w, 3, (k + 0.5) / grid);
		assert_true(i >= 0 && i < 3);
		count[i]++;
	}
	/* exact shares 100000 / 10000 / 1000; one grid point of rounding either way */
	assert_in_range(count[0], 99999, 100001);
	assert_in_range(count[1], 9999, 10001);
	assert_in_range(count[2], 999, 1001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_unusable_weights_never_drawn),
		cmocka_unit_test(test_shares),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
