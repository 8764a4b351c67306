/* Test-only seam of dns01_probe.c: the probe's memory (one hour) in a
 * unit test's time. Not for other code. */
#ifndef ACMED_DNS01_PROBE_TEST_H
#define ACMED_DNS01_PROBE_TEST_H

/* From now on a successful probe is remembered for seconds (0 or less:
 * DNS01_PROBE_MEMORY_S again). */
void dns01_probe_test_memory(double seconds);

#endif
