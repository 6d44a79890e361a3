// SPDX-License-Identifier: Apache-2.0
/*
 * cpuid.c - print what the CPUID instruction answers the guest, one line
 * per leaf: "CPUID <leaf>.<subleaf> <eax> <ebx> <ecx> <edx>" (hex). Static;
 * run inside an ember guest. The e2e tests compare these lines: a CPU
 * template's values, and the same values after a snapshot is restored
 * (/proc/cpuinfo cannot show that: the kernel reads CPUID once at boot).
 *
 *   gcc -static -O2 -Wall -o cpuid tests/guest/cpuid.c
 *   cpuid [TAG]      TAG, when given, starts every line ("TAG CPUID ...")
 *
 * The leaves are those a CPU template or ember's CPUID rewrite decide:
 * vendor and maximum leaf, version and features, structured extended
 * features, XSAVE, the extended leaves' maximum, features and address
 * sizes. Leaf 1's EBX[31:24] is the APIC ID: the same vCPU runs it (pinned
 * to CPU 0) every time.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	static const unsigned leaves[][2] = {
		{ 0, 0 }, { 1, 0 }, { 7, 0 }, { 0xd, 0 }, { 0xd, 1 },
		{ 0x80000000, 0 }, { 0x80000001, 0 }, { 0x80000008, 0 },
	};
	const char *tag = argc > 1 ? argv[1] : NULL;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		perror("cpuid: sched_setaffinity (CPU 0)");
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		unsigned a, b, c, d;
		__cpuid_count(leaves[i][0], leaves[i][1], a, b, c, d);
		printf("%s%sCPUID 0x%x.%u %08x %08x %08x %08x\n", tag ? tag : "", tag ? " " : "",
		       leaves[i][0], leaves[i][1], a, b, c, d);
	}
	return 0;
}
