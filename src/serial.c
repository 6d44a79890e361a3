// SPDX-License-Identifier: Apache-2.0
/*
 * 8250/16550A UART as Linux's 8250 driver drives it: autoconfig probes IER
 * and the loopback bits of MCR/MSR, then uses THRE and RDA interrupts.
 * Register numbers and bits follow the PC16550D data sheet.
 */
#include "src/serial.h"
#include "src/metrics.h"
#include "src/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};
#define IER_RDA   0x01
#define IER_THRE  0x02
#define IER_RLS   0x04
#define IER_MS    0x08
#define IIR_NONE  0x01
#define IIR_THRE  0x02
#define IIR_RDA   0x04
#define IIR_FIFO  0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX    0x02
#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

void serial_init(struct serial *s, int out_fd, void (*irq)(void *opaque, bool level), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_opaque = opaque;
	s->mcr = MCR_OUT2;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->dll = 12; /* 9600 baud, the power-on divisor */
	if (out_fd >= 0)
		s->backlog = malloc(SERIAL_BACKLOG); /* NULL: no backlog, drops */
}

void serial_destroy(struct serial *s)
{
	free(s->backlog);
	s->backlog = NULL;
	pthread_mutex_destroy(&s->lock);
}

void serial_set_out_limit(struct serial *s, const struct ratelimit_bucket_config *b)
{
	pthread_mutex_lock(&s->lock);
	ratelimit_bucket_init(&s->out_limit, b, util_now_ns());
	pthread_mutex_unlock(&s->lock);
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDA) && s->rx_len)
		return IIR_RDA | fifo;
	if ((s->ier & IER_THRE) && s->thr_irq_pending)
		return IIR_THRE | fifo;
	return IIR_NONE | fifo;
}

/*
 * The UART's INTR output is a level: high while IIR reports an interrupt.
 * irq() hears every change of that level (the VMM drives the ISA IRQ line
 * with it; the guest programs that pin edge-triggered, so each rise is one
 * interrupt). Called with the lock held after every register access and every
 * input, so the level always matches IIR.
 */
static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & IIR_NONE);
	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (level)
		s->irq_edges++;
	if (s->irq)
		s->irq(s->irq_opaque, level);
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_len == SERIAL_RX_BUF)
		return;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_BUF] = b;
	s->rx_len++;
}

/* Bytes out_fd did not take: counted, gone. */
static void serial_drop(struct serial *s, size_t n)
{
	s->tx_dropped += n;
	metrics_add(&metrics.uart.missed_write_count, n);
}

/* One non-blocking write: the bytes out_fd took (counted), 0 when it is full.
 * Any other error drops n (a closed pipe, a device gone) and returns n, so
 * the caller moves on. */
static size_t serial_write_out(struct serial *s, const uint8_t *p, size_t n)
{
	ssize_t w;
	do {
		w = write(s->out_fd, p, n);
	} while (w < 0 && errno == EINTR);
	if (w > 0) {
		metrics_add(&metrics.uart.write_count, (uint64_t)w);
		return (size_t)w;
	}
	if (w < 0 && errno != EAGAIN) {
		serial_drop(s, n);
		return n;
	}
	return 0;
}

/* The backlog's oldest bytes first, in as many writes as its ring needs. */
static void serial_write_backlog(struct serial *s)
{
	while (s->bl_len) {
		size_t run = SERIAL_BACKLOG - s->bl_head;
		if (run > s->bl_len)
			run = s->bl_len;
		size_t done = serial_write_out(s, s->backlog + s->bl_head, run);
		if (done == 0)
			return;
		s->bl_head = (s->bl_head + done) % SERIAL_BACKLOG;
		s->bl_len -= done;
	}
	s->bl_head = 0;
}

/* Write the gathered output: one write() per call into the model, not one
 * per byte. The rate limiter first: the bytes its bucket covers go out in
 * order, the rest of the batch is dropped (as if each byte had asked the
 * bucket for one token). Then the output, non-blocking, behind whatever the
 * backlog still holds: what out_fd does not take joins the backlog, what
 * does not fit there is dropped and counted; the vCPU never waits. */
static void serial_flush(struct serial *s)
{
	size_t n = s->olen;
	if (n == 0)
		return;
	s->olen = 0;
	if (s->out_limit.on) {
		size_t ok = (size_t)ratelimit_bucket_take(&s->out_limit, n, util_now_ns());
		if (ok < n) {
			s->tx_limited += n - ok;
			metrics_add(&metrics.uart.rate_limiter_dropped_bytes, n - ok);
		}
		n = ok;
		if (n == 0)
			return;
	}
	const uint8_t *p = s->obuf;
	serial_write_backlog(s);
	if (s->bl_len == 0) {
		size_t done = serial_write_out(s, p, n);
		p += done;
		n -= done;
	}
	size_t room = s->backlog ? SERIAL_BACKLOG - s->bl_len : 0;
	size_t keep = n < room ? n : room;
	for (size_t i = 0; i < keep; i++)
		s->backlog[(s->bl_head + s->bl_len + i) % SERIAL_BACKLOG] = p[i];
	s->bl_len += keep;
	if (n > keep)
		serial_drop(s, n - keep);
}

size_t serial_output_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	serial_write_backlog(s);
	size_t left = s->bl_len;
	pthread_mutex_unlock(&s->lock);
	return left;
}

static void serial_tx(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		/* Loopback: the byte comes back as input (8250 self-test). */
		serial_rx_push(s, b);
		return;
	}
	if (!s->saw_output) {
		s->saw_output = true;
		if (s->on_first_byte)
			s->on_first_byte(s->irq_opaque);
	}
	s->tx_bytes++;
	if (s->out_fd < 0)
		return;
	if (s->olen == sizeof(s->obuf))
		serial_flush(s);
	s->obuf[s->olen++] = b;
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_len) {
			uint8_t b = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_BUF;
			s->rx_len--;
			return b;
		}
		return 0;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR: {
		uint8_t iir = serial_iir(s);
		/* Reading IIR acknowledges a THRE interrupt (16550 data sheet). */
		if ((iir & 0x0f) == IIR_THRE)
			s->thr_irq_pending = false;
		return iir;
	}
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR: {
		uint8_t lsr = LSR_THRE | LSR_TEMT | s->lsr_extra;
		if (s->rx_len)
			lsr |= LSR_DR;
		s->lsr_extra = 0;
		return lsr;
	}
	case REG_MSR:
		if (s->mcr & MCR_LOOP) {
			uint8_t m = 0;
			if (s->mcr & MCR_DTR) m |= MSR_DSR;
			if (s->mcr & MCR_RTS) m |= MSR_CTS;
			if (s->mcr & MCR_OUT1) m |= MSR_RI;
			if (s->mcr & MCR_OUT2) m |= MSR_DCD;
			return m;
		}
		return s->msr;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_tx(s, v);
		/* The byte left at once: THR is empty again. */
		s->thr_irq_pending = true;
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		if (!(s->ier & IER_THRE) && (v & IER_THRE))
			s->thr_irq_pending = true;
		s->ier = v & 0x0f;
		break;
	case REG_IIR_FCR:
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		s->fcr = v & FCR_FIFO_ENABLE;
		break;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & 0x1f;
		return;
	case REG_LSR:
	case REG_MSR:
		return; /* read-only on a 16550 */
	default:
		s->scr = v;
		return;
	}
}

void serial_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len; i++) {
		unsigned reg = (unsigned)((offset + i) & 7);
		if (is_write)
			serial_write_reg(s, reg, data[i]);
		else
			data[i] = serial_read_reg(s, reg);
		serial_update_irq(s);
	}
	serial_flush(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_write_thr(struct serial *s, const uint8_t *bytes, size_t n)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++)
		serial_write_reg(s, REG_DATA, bytes[i]);
	serial_update_irq(s);
	serial_flush(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	while (n < len && s->rx_len < SERIAL_RX_BUF)
		serial_rx_push(s, buf[n++]);
	s->rx_bytes += n;
	metrics_add(&metrics.uart.read_bytes, n);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	size_t space = SERIAL_RX_BUF - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return space;
}

/* ---- snapshot ---- */

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	serial_flush(s);
	memset(st, 0, sizeof(*st));
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->lsr_extra = s->lsr_extra;
	st->msr = s->msr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->thr_irq_pending = s->thr_irq_pending;
	st->irq_level = s->irq_level;
	st->rx_len = s->rx_len;
	for (size_t i = 0; i < s->rx_len; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_BUF];
	ratelimit_bucket_save(&s->out_limit, &st->out_limit);
	pthread_mutex_unlock(&s->lock);
}

void serial_restore(struct serial *s, const struct serial_state *st, bool out_limit)
{
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier & 0x0f;
	s->lcr = st->lcr;
	s->mcr = st->mcr & 0x1f;
	s->lsr_extra = st->lsr_extra;
	s->msr = st->msr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr & FCR_FIFO_ENABLE;
	s->thr_irq_pending = st->thr_irq_pending;
	s->rx_head = 0;
	s->rx_len = st->rx_len <= SERIAL_RX_BUF ? st->rx_len : SERIAL_RX_BUF;
	memcpy(s->rx, st->rx, s->rx_len);
	if (out_limit)
		ratelimit_bucket_restore(&s->out_limit, &st->out_limit, util_now_ns());
	s->irq_level = !(serial_iir(s) & IIR_NONE);
	bool level = s->irq_level;
	pthread_mutex_unlock(&s->lock);
	if (s->irq)
		s->irq(s->irq_opaque, level);
}
