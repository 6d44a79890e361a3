/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.h - the guest's serial console: the 16550A UART model (serial.c)
 * on COM1, wired to the host. Output goes to ember's stdout, made
 * non-blocking (a slow stdout never stalls a vCPU; its flags are restored at
 * the end), or to serial_out_path (PUT /serial; its fd is non-blocking too),
 * through the optional rate limiter of PUT /serial; input comes from stdin,
 * a terminal being in raw mode while the VM runs, except with
 * serial_out_path (as Firecracker: no input then); the UART's interrupt drives ISA IRQ 4 with KVM_IRQ_LINE; the guest's
 * writes to THR are batched in KVM's coalesced port-I/O ring and handed to
 * the UART at every vCPU exit, every CONSOLE_DRAIN_MS and at the end. Output
 * the host has not taken yet waits in the UART's backlog, written out every
 * CONSOLE_DRAIN_MS and, at the end, for up to CONSOLE_FLUSH_MS.
 *
 * Main thread, except console_drain() (any thread; vCPU threads call it
 * through vcpu_shared.pre_exit) and the UART's own accesses.
 */
#ifndef EMBER_CONSOLE_H
#define EMBER_CONSOLE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/bus.h"
#include "src/config.h"
#include "src/evloop.h"
#include "src/serial.h"

/* How often the main loop drains the coalesced ring (ms). */
#define CONSOLE_DRAIN_MS 100
/* At the end, how long the output may take to accept the UART's backlog:
 * in all, and without taking a byte (ms). */
#define CONSOLE_FLUSH_MS 5000
#define CONSOLE_STALL_MS 500

/* Zeroed (calloc) before console_setup(); console_destroy() of a zeroed
 * console does nothing. */
struct console {
	struct serial serial;
	bool set_up;                 /* console_setup() ran: serial and lock exist */
	int vm_fd;                   /* for KVM_IRQ_LINE */
	struct evloop *loop;
	bool stdin_watched;
	int out_fd;                  /* serial_out_path's copy, -1: stdout */
	int stdout_flags;            /* stdout's file flags before, -1: untouched */
	/* KVM's coalesced port I/O ring (the UART's THR writes), in vCPU 0's
	 * kvm_run mapping: NULL when the host has no KVM_CAP_COALESCED_PIO. */
	struct kvm_coalesced_mmio_ring *ring;
	uint32_t ring_max;           /* entries in the ring */
	pthread_mutex_t ring_lock;   /* one drainer at a time, in order */
	int drain_timer;             /* timerfd on the loop, -1 when none */
};

/* Initialise the UART and register its 8 ports at LAYOUT_SERIAL_PORT on
 * pio: its output to a copy of out->out_fd when out->out_path is set, else
 * to stdout, made non-blocking; limited by out->rate_limiter; its IRQ
 * through KVM_IRQ_LINE on vm_fd; the first byte marked in the boot
 * timeline. Returns 0 or -errno (no copy of the fd, ports taken) with one
 * line in err. */
int console_setup(struct console *c, int vm_fd, struct evloop *loop, struct bus *pio,
		  const struct config_serial *out, char *err, size_t errlen);

/* After vCPU 0 exists (the ring is mapped with its kvm_run, run_size bytes
 * at run): make the UART's THR port a coalesced port-I/O zone for the VM's
 * life. Optional: false (and nothing changed) on a host without coalesced
 * port I/O, where every THR write simply exits. True: the caller must call
 * console_drain() at the start of every vCPU exit. */
bool console_setup_ring(struct console *c, int kvm_fd, struct kvm_run *run, size_t run_size);

/* Hand the ring's queued THR writes to the UART, in order. Any thread. */
void console_drain(struct console *c);

/* When the VM starts: unless the output goes to serial_out_path, put a
 * terminal on stdin in raw mode (restored at exit, whatever path ember
 * leaves by) and forward stdin to the UART when it can be polled; arm the
 * periodic drain of the ring. Nothing here can
 * fail the start: without them the guest gets no input, or a trailing byte
 * comes at the next exit. */
void console_start(struct console *c);

/* With the vCPUs stopped and vCPU 0's kvm_run still mapped: drain the ring
 * a last time, take the timer and stdin off the loop, restore the terminal
 * when restore_terminal (the VM ran), free the UART and close the copy of
 * serial_out_path's fd. */
void console_destroy(struct console *c, bool restore_terminal);

#endif
