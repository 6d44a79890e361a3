// SPDX-License-Identifier: Apache-2.0
/*
 * console.c - the guest's serial console (see console.h): the UART's
 * interrupt line, KVM's coalesced port-I/O ring for its THR and the ring's
 * drain timer, stdout, stdin and the terminal's raw mode. Layer 3 (KVM
 * glue): KVM_IRQ_LINE, KVM_CHECK_EXTENSION and KVM_REGISTER_COALESCED_MMIO;
 * the UART itself is the layer-2 model serial.c.
 */
#include "src/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "src/layout.h"
#include "src/log.h"
#include "src/timeline.h"
#include "src/util.h"

/* The UART's INTR level drives ISA IRQ 4 directly (KVM_IRQ_LINE), from the
 * thread that changed it: a vCPU thread in its port I/O exit (the interrupt is
 * pending in KVM before that vCPU re-enters the guest, as with QEMU's 16550),
 * or the main thread for input. Not an irqfd: irqfd injection runs later on a
 * kernel worker and kicks the vCPU from another CPU, and under a console flood
 * on the emulated (nested SVM) test bed that path ended in guest triple faults
 * that QEMU, which also drives this line with KVM_IRQ_LINE, did not show. */
static void console_serial_irq(void *opaque, bool level)
{
	struct console *c = opaque;
	struct kvm_irq_level line = { .irq = LAYOUT_SERIAL_IRQ, .level = level ? 1 : 0 };
	if (ioctl(c->vm_fd, KVM_IRQ_LINE, &line) < 0)
		log_ratelimited(LOG_ERROR, "serial: KVM_IRQ_LINE %u level %u: %s",
				LAYOUT_SERIAL_IRQ, line.level, strerror(errno));
}

static void console_first_byte(void *opaque)
{
	(void)opaque;
	timeline_mark(TIMELINE_FIRST_SERIAL);
}

int console_setup(struct console *c, int vm_fd, struct evloop *loop, struct bus *pio,
		  const struct config_serial *out, char *err, size_t errlen)
{
	c->vm_fd = vm_fd;
	c->loop = loop;
	c->drain_timer = -1;
	c->out_fd = -1;
	c->stdout_flags = -1;
	if (out->out_path[0]) {
		/* The VM's own copy: the config keeps its fd (and may close it). It
		 * was opened non-blocking (config_serial_open). */
		c->out_fd = fcntl(out->out_fd, F_DUPFD_CLOEXEC, 3);
		if (c->out_fd < 0) {
			int e = errno;
			snprintf(err, errlen, "serial: serial_out_path %s: dup: %s", out->out_path,
				 strerror(e));
			return -e;
		}
	} else {
		/* A slow stdout never stalls a vCPU: the UART keeps what it does
		 * not take yet (serial.h). The flags are put back at the end:
		 * the open file is shared with whoever started ember. */
		c->stdout_flags = fcntl(STDOUT_FILENO, F_GETFL);
		if (c->stdout_flags >= 0)
			fcntl(STDOUT_FILENO, F_SETFL, c->stdout_flags | O_NONBLOCK);
	}
	pthread_mutex_init(&c->ring_lock, NULL);
	serial_init(&c->serial, c->out_fd >= 0 ? c->out_fd : STDOUT_FILENO, console_serial_irq, c);
	serial_set_out_limit(&c->serial, &out->rate_limiter);
	c->serial.on_first_byte = console_first_byte;
	c->set_up = true;
	if (bus_register(pio, LAYOUT_SERIAL_PORT, 8, serial_pio, &c->serial) < 0) {
		snprintf(err, errlen, "legacy devices: port ranges overlap");
		return -EEXIST;
	}
	return 0;
}

/*
 * Batched console output. Port 0x3f8 is a KVM coalesced port I/O zone for the
 * VM's whole life: KVM queues the guest's writes to it in a ring shared with
 * ember instead of exiting to ember for each byte, which halves the exits of
 * the guest's console (it still reads LSR before every byte). The ring is
 * drained, in order, at the start of every vCPU exit, so every queued write
 * is modelled before the access that exited, in the register state it was
 * made in (divisor latch, loopback, THRE interrupt: serial_write_thr); by the
 * main loop every CONSOLE_DRAIN_MS; and when the VM stops. The zone is never
 * switched off and on: each switch waits for an SRCU grace period in the host
 * kernel (milliseconds), and Linux's tty layer turns the THRE interrupt on
 * and off for every burst of output. Nothing the guest waits on gets lost by
 * the delay: a THRE interrupt raised at the drain comes when Linux's 8250
 * driver reads IIR again after filling the FIFO (an exit), as it always does.
 */
void console_drain(struct console *c)
{
	struct kvm_coalesced_mmio_ring *r = c->ring;
	if (!r || __atomic_load_n(&r->first, __ATOMIC_RELAXED) ==
			  __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&c->ring_lock);
	uint8_t buf[256];
	size_t n = 0;
	uint32_t first = r->first % c->ring_max;
	for (;;) {
		uint32_t last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE) % c->ring_max;
		if (first == last)
			break;
		const struct kvm_coalesced_mmio *e = &r->coalesced_mmio[first];
		if (e->pio && e->phys_addr == LAYOUT_SERIAL_PORT && e->len == 1)
			buf[n++] = e->data[0];
		first = (first + 1) % c->ring_max;
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE);
		if (n == sizeof(buf)) {
			serial_write_thr(&c->serial, buf, n);
			n = 0;
		}
	}
	if (n)
		serial_write_thr(&c->serial, buf, n);
	pthread_mutex_unlock(&c->ring_lock);
}

static void console_drain_tick(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	(void)events;
	uint64_t n;
	ssize_t r = read(c->drain_timer, &n, sizeof(n));
	(void)r;
	console_drain(c);
	serial_output_flush(&c->serial);
}

bool console_setup_ring(struct console *c, int kvm_fd, struct kvm_run *run, size_t run_size)
{
	long page = sysconf(_SC_PAGESIZE);
	int off = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0 || off <= 0 ||
	    page <= 0 || (size_t)(off + 1) * (size_t)page > run_size)
		return false;
	c->ring = (struct kvm_coalesced_mmio_ring *)((char *)run + (size_t)off * (size_t)page);
	c->ring_max = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
				 sizeof(struct kvm_coalesced_mmio));
	struct kvm_coalesced_mmio_zone z = { .addr = LAYOUT_SERIAL_PORT, .size = 1, .pio = 1 };
	if (ioctl(c->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0) {
		c->ring = NULL;
		return false;
	}
	return true;
}

/* ---- host input ---- */

static void console_stdin_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[256];
	size_t space = serial_rx_space(&c->serial);
	if (space == 0)
		return; /* level-triggered: retried on the next loop pass */
	if (space > sizeof(buf))
		space = sizeof(buf);
	ssize_t n = read(STDIN_FILENO, buf, space);
	if (n > 0) {
		serial_input(&c->serial, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF or error: stop watching stdin; the guest keeps running. */
	evloop_del(c->loop, STDIN_FILENO);
	c->stdin_watched = false;
}

/* The console TTY is put in raw mode while a VM runs, so every key (Ctrl-C
 * included) reaches the guest; it is restored by console_destroy and at
 * exit, whatever path ember leaves by. */
static struct termios console_saved_tio;
static bool console_tio_saved;

static void console_term_restore(void)
{
	if (console_tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &console_saved_tio);
		console_tio_saved = false;
	}
}

static void console_term_raw(void)
{
	static bool atexit_done;
	if (console_tio_saved || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &console_saved_tio) < 0)
		return;
	struct termios raw = console_saved_tio;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* our own log lines still start at column 0 */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
		console_tio_saved = true;
		if (!atexit_done)
			atexit_done = atexit(console_term_restore) == 0;
	}
}

static void console_watch_stdin(struct console *c)
{
	console_term_raw();
	int fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl < 0)
		return; /* no stdin: nothing to forward */
	fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
	if (evloop_add(c->loop, STDIN_FILENO, EPOLLIN, console_stdin_ready, c) == 0)
		c->stdin_watched = true;
	/* A regular file or /dev/null cannot be polled: the guest gets no input. */
}

void console_start(struct console *c)
{
	/* With serial_out_path the console has no input (Firecracker's rule):
	 * stdin may be anything, and the terminal is left as it is. */
	if (c->out_fd < 0)
		console_watch_stdin(c);
	if (c->drain_timer < 0) {
		/* The periodic drain of the ring and of the UART's backlog;
		 * without it the ring is still drained on every exit and the
		 * backlog by the next output, so a failure here only delays
		 * trailing bytes. */
		c->drain_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		struct itimerspec its = {
			.it_interval = { .tv_nsec = CONSOLE_DRAIN_MS * 1000000L },
			.it_value = { .tv_nsec = CONSOLE_DRAIN_MS * 1000000L },
		};
		if (c->drain_timer >= 0 &&
		    (timerfd_settime(c->drain_timer, 0, &its, NULL) < 0 ||
		     evloop_add(c->loop, c->drain_timer, EPOLLIN, console_drain_tick, c) < 0)) {
			close(c->drain_timer);
			c->drain_timer = -1;
		}
	}
}

/* The UART's backlog at the end: waits while the output takes it, at most
 * CONSOLE_FLUSH_MS in all and CONSOLE_STALL_MS without progress (a pipe
 * nobody reads costs that much and no more). */
static void console_flush_out(struct console *c)
{
	int fd = c->out_fd >= 0 ? c->out_fd : STDOUT_FILENO;
	uint64_t start = util_now_ns(), progress = start;
	size_t left = serial_output_flush(&c->serial);
	while (left) {
		uint64_t now = util_now_ns();
		if (now - start >= CONSOLE_FLUSH_MS * 1000000ull ||
		    now - progress >= CONSOLE_STALL_MS * 1000000ull)
			break;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		struct timespec ts = { .tv_nsec = 10 * 1000000L };
		ppoll(&p, 1, &ts, NULL);
		size_t now_left = serial_output_flush(&c->serial);
		if (now_left < left)
			progress = util_now_ns();
		left = now_left;
	}
	if (left)
		log_warn("serial: the output did not take the guest's last %zu bytes", left);
}

void console_destroy(struct console *c, bool restore_terminal)
{
	if (!c->set_up)
		return;
	/* The guest's last batched console bytes, before the ring goes away,
	 * then what a slow consumer has not taken yet. */
	console_drain(c);
	console_flush_out(c);
	if (c->drain_timer >= 0) {
		evloop_del(c->loop, c->drain_timer);
		close(c->drain_timer);
		c->drain_timer = -1;
	}
	if (c->stdin_watched)
		evloop_del(c->loop, STDIN_FILENO);
	c->stdin_watched = false;
	if (restore_terminal)
		console_term_restore();
	serial_destroy(&c->serial);
	pthread_mutex_destroy(&c->ring_lock);
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	if (c->stdout_flags >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, c->stdout_flags);
	c->stdout_flags = -1;
	c->ring = NULL;
	c->set_up = false;
}
