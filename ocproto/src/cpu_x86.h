/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to ocproto: whether the CPU and the kernel let us run AVX2 code.
 *
 * Asked with CPUID on first use, not with __builtin_cpu_supports(): that
 * pulls in libgcc's __cpu_indicator_init(), a constructor that runs in
 * every process at start and issues some thirty CPUID instructions, each
 * a trap to the hypervisor on a virtual machine (about 1% of a no-change
 * re-sync's CPU on our hosts, on both ends). This asks three.
 */
#ifndef OCP_CPU_X86_H
#define OCP_CPU_X86_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

static inline bool
ocp_cpu_avx2_probe(void)
{
	unsigned a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	/* OSXSAVE (the kernel saves extended state) and AVX */
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return false;
	/* XCR0: the kernel saves the SSE and AVX registers */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	if ((lo & 6u) != 6u)
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return b & (1u << 5); /* AVX2 */
}

/* The probe's answer, asked once. */
static inline bool
ocp_cpu_avx2(void)
{
	/* relaxed atomics: threads may race to fill it, all with the same answer */
	static int v = -1;
	int c = __atomic_load_n(&v, __ATOMIC_RELAXED);

	if (c < 0) {
		c = ocp_cpu_avx2_probe() ? 1 : 0;
		__atomic_store_n(&v, c, __ATOMIC_RELAXED);
	}
	return c;
}
#endif

#endif /* OCP_CPU_X86_H */
