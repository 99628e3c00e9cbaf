/* How many CPUs this process may run on: the default worker counts of keyd and the mix node. */
#ifndef NS_CORES_H
#define NS_CORES_H

/* The CPUs in this process's affinity mask (taskset, systemd's CPUAffinity=, a cpuset), or the
 * online CPUs if the mask cannot be read; at least 1. */
unsigned ns_usable_cores(void);

#endif
