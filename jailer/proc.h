/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proc.h - the jailed process (proc.c): steps namespaces, limits,
 * privileges and exec (jail.h), and the clock they share with jail_init().
 */
#ifndef EMBER_JAILER_PROC_H
#define EMBER_JAILER_PROC_H

#include <stdint.h>
#include <time.h>

/* clk (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID) in microseconds: the
 * --start-time-us, --start-time-cpu-us and --parent-cpu-time-us ember gets. */
uint64_t jail_now_us(clockid_t clk);

#endif
