/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.h - a PS/2 controller with a keyboard and no AUX port, enough for
 * Linux's i8042 and atkbd drivers: the controller and keyboard commands they
 * probe with, CPU reset (0xFE on port 0x64), and key events for Ctrl-Alt-Del.
 *
 * Ports 0x60 (data) and 0x64 (status/command) arrive from vCPU threads;
 * i8042_ctrl_alt_del() from the main thread. One lock.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_BUF 16

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status, ctr, outp;
	uint8_t cmd;          /* controller command waiting for its data byte */
	uint8_t kbd_arg_of;   /* keyboard command waiting for its argument */
	uint8_t kbd_last;     /* the keyboard's last byte, for its resend command */
	uint8_t buf[I8042_BUF];
	unsigned head, len;
	void (*irq)(void *opaque);     /* raise IRQ 1 */
	void (*reset)(void *opaque);   /* the guest asked for a CPU reset */
	void *opaque;
};

void i8042_init(struct i8042 *k, void (*irq)(void *), void (*reset)(void *), void *opaque);
void i8042_destroy(struct i8042 *k);
/* Bus handler for the PIO range 0x60..0x64 (offset 0 = data, 4 = command). */
void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Queue set-2 make codes for Ctrl, Alt, Del and raise IRQ 1. -ENOSPC if the
 * guest has not drained earlier keys. */
int i8042_ctrl_alt_del(struct i8042 *k);

/* ---- snapshot (docs/snapshot.md, I8042 section) ---- */

/* The controller's registers and its output buffer (buf[0..len), oldest
 * first). */
struct i8042_state {
	uint8_t status, ctr, outp, cmd, kbd_arg_of, kbd_last;
	uint8_t buf[I8042_BUF];
	unsigned len;                  /* <= I8042_BUF */
};

void i8042_save(struct i8042 *k, struct i8042_state *st);
/* Take the state over (len must be <= I8042_BUF) and raise IRQ 1 again when
 * a byte waits with the keyboard interrupt on (the edge the guest may not
 * have seen before the snapshot). */
void i8042_restore(struct i8042 *k, const struct i8042_state *st);

#endif
