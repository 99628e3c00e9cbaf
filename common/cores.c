/* Usable CPUs (cores.h). A process confined to one CPU of two gains nothing from a second
 * worker, so the count follows the affinity mask, as nproc(1) does, not the machine. */
#include "cores.h"

#include <sched.h>
#include <unistd.h>

unsigned ns_usable_cores(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}
