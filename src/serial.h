/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.h - 8250/16550A UART model (COM1).
 *
 * Register accesses come from vCPU threads (serial_pio), input from the main
 * thread (serial_input). One lock serialises both. Output bytes go to out_fd,
 * non-blocking: what it does not take at once waits in a backlog of
 * SERIAL_BACKLOG bytes, written out first by the next output and by
 * serial_output_flush (the VMM's periodic tick and its teardown), so a slow
 * terminal or pipe loses nothing and the vCPU never waits; only what does not
 * fit in the backlog is dropped and counted. An optional token bucket of
 * bytes (serial_set_out_limit) comes first: what exceeds it is dropped and
 * counted too, never delayed. The interrupt line is modelled as a level (high
 * while IIR reports an interrupt); every change of it goes out through the irq
 * callback
 * (KVM_IRQ_LINE on ISA IRQ 4 in the VMM, a counter in tests).
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/config.h"
#include "virtio/ratelimit.h"

#define SERIAL_RX_BUF 4096
/* Output out_fd has not taken yet (bytes; allocated at serial_init, its
 * pages touched only when a consumer falls behind). */
#define SERIAL_BACKLOG (256 * 1024)

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr_extra, msr, scr, dll, dlm, fcr;
	bool thr_irq_pending;           /* THRE interrupt not yet acknowledged */
	bool irq_level;                 /* INTR output as last computed */
	uint64_t irq_edges;             /* rising edges of the line */
	uint8_t rx[SERIAL_RX_BUF];
	size_t rx_head, rx_len;
	int out_fd;                     /* -1: discard output */
	void (*irq)(void *opaque, bool level);
	void *irq_opaque;
	void (*on_first_byte)(void *opaque); /* timeline hook, may be NULL */
	bool saw_output;
	uint64_t tx_bytes, tx_dropped, rx_bytes;
	struct ratelimit_bucket out_limit; /* off: no limit */
	uint64_t tx_limited;            /* bytes the bucket dropped */
	/* Output gathered during one call and written once before it returns. */
	uint8_t obuf[256];
	size_t olen;
	/* Ring of output out_fd has not taken yet (NULL: none, drop instead). */
	uint8_t *backlog;
	size_t bl_head, bl_len;
};

void serial_init(struct serial *s, int out_fd, void (*irq)(void *opaque, bool level), void *opaque);
void serial_destroy(struct serial *s);

/* Limit the output to the bucket b (bytes; unset, size 0 or refill_time 0:
 * no limit). Bytes beyond it are dropped, counted in tx_limited and in the
 * uart metric rate_limiter_dropped_bytes; the bucket starts full. Call
 * before the vCPUs run. */
void serial_set_out_limit(struct serial *s, const struct ratelimit_bucket_config *b);

/* Bus handler for the 8 ports at 0x3f8 (offset 0..7, len 1; wider accesses are
 * split byte by byte). */
void serial_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Writes to port 0 (THR, or DLL while the divisor latch is open) that the VMM
 * queued instead of calling serial_pio for each (KVM's coalesced port I/O),
 * in the order the guest made them. Each has its full effect: output, the
 * divisor, a loopback byte, the THRE interrupt. The VMM hands them over
 * before any other access of the guest's is modelled, so every write meets
 * the register state it was made in; only the interrupt it raises is later.
 */
void serial_write_thr(struct serial *s, const uint8_t *bytes, size_t n);

/* Write what the backlog holds, as much as out_fd takes now (never blocks).
 * Returns the bytes still waiting. Any thread. */
size_t serial_output_flush(struct serial *s);

/* Queue host input for the guest. Returns how many bytes were taken (less
 * than len when the buffer is full). */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);

/* Free space in the receive buffer. */
size_t serial_rx_space(struct serial *s);

/* ---- snapshot (docs/snapshot.md, SERIAL section) ---- */

/* Everything the guest can observe of the UART: its registers, the bytes
 * it has not read yet (rx[0..rx_len), oldest first) and what is left of the
 * output rate limiter's bucket (how much more it may write now). Where the
 * output goes (out_fd) and the counters belong to the host and the process,
 * not to the guest: they are not part of it. */
struct serial_state {
	uint8_t ier, lcr, mcr, lsr_extra, msr, scr, dll, dlm, fcr;
	bool thr_irq_pending, irq_level;
	uint8_t rx[SERIAL_RX_BUF];
	size_t rx_len;                  /* <= SERIAL_RX_BUF */
	struct ratelimit_bucket_state out_limit;
};

/* Copy the state out (takes the lock; pending output is written first). */
void serial_save(struct serial *s, struct serial_state *st);
/* Take the state over (rx_len must be <= SERIAL_RX_BUF; ier, fcr and mcr are
 * masked to their writable bits) and drive the interrupt line to its saved
 * level through irq(), so the interrupt controller, restored before, sees
 * the line as the guest left it. With out_limit, the output bucket goes on
 * from st's (clamped, refilled from now); without, it stays as
 * serial_set_out_limit() made it (a limiter given anew starts full). */
void serial_restore(struct serial *s, const struct serial_state *st, bool out_limit);

#endif
