// SPDX-License-Identifier: Apache-2.0
/* The 8250 UART model, driven as Linux's driver drives it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "src/config.h"
#include "src/metrics.h"
#include "src/serial.h"

static int irqs;
static bool line;
/* The UART's line: counts rising edges, and every call must be a change. */
static void serial_line(void *o, bool level)
{
	(void)o;
	assert_true(level != line);
	line = level;
	if (level)
		irqs++;
}

static uint8_t rd(struct serial *s, unsigned reg)
{
	uint8_t v = 0;
	serial_pio(s, reg, &v, 1, false);
	return v;
}

static void wr(struct serial *s, unsigned reg, uint8_t v)
{
	serial_pio(s, reg, &v, 1, true);
}

/* A UART writing into a fresh pipe p, its line low and the edge count 0. */
static void serial_on_pipe(struct serial *s, int p[2])
{
	assert_int_equal(pipe(p), 0);
	irqs = 0;
	line = false;
	serial_init(s, p[1], serial_line, NULL);
}

static void test_serial_output_and_thre(void **state)
{
	(void)state;
	int p[2];
	struct serial s;
	serial_on_pipe(&s, p);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x01);   /* no interrupt pending */
	wr(&s, 1, 0x02);                            /* enable THRE */
	assert_int_equal(irqs, 1);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);   /* THRE pending ... */
	assert_int_equal(rd(&s, 2) & 0x0f, 0x01);   /* ... acknowledged by reading IIR */
	wr(&s, 0, 'h');                             /* THR empties at once: level rises */
	assert_int_equal(irqs, 2);
	wr(&s, 0, 'i');                             /* still high: no second edge */
	assert_int_equal(irqs, 2);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);   /* the handler acknowledges ... */
	assert_int_equal(irqs, 2);
	wr(&s, 0, '!');                             /* ... and the next byte is a new edge */
	assert_int_equal(irqs, 3);
	char buf[4] = { 0 };
	assert_int_equal(read(p[0], buf, 3), 3);
	assert_string_equal(buf, "hi!");
	assert_true(rd(&s, 5) & 0x60);              /* THRE | TEMT */
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

/* The INTR line is a level: input arriving while THRE is pending raises no
 * second edge; the handler's IIR loop sees both causes, in priority order,
 * and the line drops only when IIR says "none". */
static void test_serial_level_edges(void **state)
{
	(void)state;
	struct serial s;
	irqs = 0;
	line = false;
	serial_init(&s, -1, serial_line, NULL);
	wr(&s, 1, 0x03);                            /* RDA + THRE enabled */
	assert_int_equal(irqs, 1);
	assert_int_equal(serial_input(&s, (const uint8_t *)"x", 1), 1);
	assert_int_equal(irqs, 1);                  /* line already high */
	assert_int_equal(rd(&s, 2) & 0x0f, 0x04);   /* RDA first */
	assert_int_equal(rd(&s, 0), 'x');
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);   /* then THRE (acknowledged) */
	assert_int_equal(rd(&s, 2) & 0x0f, 0x01);   /* none: the line is low */
	assert_int_equal(serial_input(&s, (const uint8_t *)"y", 1), 1);
	assert_int_equal(irqs, 2);                  /* new input: a new edge */
	wr(&s, 1, 0x00);                            /* IER off: line low, no edge */
	wr(&s, 1, 0x01);                            /* RDA back on, data waiting: edge */
	assert_int_equal(irqs, 3);
	serial_destroy(&s);
}

static void test_serial_input(void **state)
{
	(void)state;
	struct serial s;
	irqs = 0;
	line = false;
	serial_init(&s, -1, serial_line, NULL);
	assert_int_equal(serial_input(&s, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irqs, 0);                  /* RDA not enabled yet */
	wr(&s, 1, 0x01);
	assert_int_equal(irqs, 1);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x04);
	assert_true(rd(&s, 5) & 0x01);
	assert_int_equal(rd(&s, 0), 'a');
	assert_int_equal(rd(&s, 0), 'b');
	assert_false(rd(&s, 5) & 0x01);
	assert_int_equal(rd(&s, 0), 0);             /* empty: reads 0, no crash */
	/* A full buffer takes no more. */
	uint8_t big[SERIAL_RX_BUF + 10];
	memset(big, 'x', sizeof(big));
	assert_int_equal(serial_input(&s, big, sizeof(big)), SERIAL_RX_BUF);
	assert_int_equal(serial_rx_space(&s), 0);
	wr(&s, 2, 0x03);                            /* FCR: clear the receive FIFO */
	assert_int_equal(serial_rx_space(&s), SERIAL_RX_BUF);
	serial_destroy(&s);
}

static void test_serial_probe(void **state)
{
	(void)state;
	struct serial s;
	serial_init(&s, -1, NULL, NULL);
	/* Divisor latch: DLAB routes ports 0/1 to DLL/DLM. */
	wr(&s, 3, 0x80);
	wr(&s, 0, 0x01);
	wr(&s, 1, 0x00);
	assert_int_equal(rd(&s, 0), 0x01);
	wr(&s, 3, 0x03);
	/* Loopback as Linux's autoconfig checks it: MCR LOOP|OUT2|RTS -> MSR 0x90. */
	wr(&s, 4, 0x10 | 0x0a);
	assert_int_equal(rd(&s, 6) & 0xf0, 0x90);
	wr(&s, 0, 'z');                             /* loops back as input */
	assert_int_equal(rd(&s, 0), 'z');
	wr(&s, 4, 0x08);
	assert_int_equal(rd(&s, 6) & 0xb0, 0xb0);   /* DCD DSR CTS */
	wr(&s, 7, 0x5a);
	assert_int_equal(rd(&s, 7), 0x5a);          /* scratch */
	/* Wide and odd accesses never crash. */
	uint8_t w[8] = { 0 };
	serial_pio(&s, 0, w, 8, false);
	serial_pio(&s, 6, w, 4, true);
	serial_destroy(&s);
}

/* Writes the VMM queued (KVM's coalesced port I/O) and hands over later have
 * the full effect of a THR write in the state they meet: output in order with
 * one write(), the divisor while DLAB is set, loopback input, and the THRE
 * interrupt when it is enabled. */
static void test_serial_queued_writes(void **state)
{
	(void)state;
	int p[2];
	struct serial s;
	serial_on_pipe(&s, p);
	serial_write_thr(&s, (const uint8_t *)"queued", 6);
	assert_int_equal(irqs, 0);                  /* THRE interrupt off: no edge */
	wr(&s, 3, 0x83);                            /* DLAB on: port 0 is the divisor */
	serial_write_thr(&s, (const uint8_t *)"\x01", 1);
	assert_int_equal(rd(&s, 0), 0x01);
	wr(&s, 3, 0x03);
	wr(&s, 4, 0x1b);                            /* loopback: the byte comes back */
	serial_write_thr(&s, (const uint8_t *)"L", 1);
	assert_int_equal(rd(&s, 5) & 0x01, 0x01);   /* LSR: data ready */
	assert_int_equal(rd(&s, 0), 'L');
	wr(&s, 4, 0x0b);
	wr(&s, 1, 0x07);                            /* THRE on: an interrupt at once */
	assert_int_equal(irqs, 1);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);   /* IIR: THRE, which acknowledges it */
	assert_false(line);
	serial_write_thr(&s, (const uint8_t *)"!?", 2);
	assert_true(line);                          /* one edge for the batch */
	assert_int_equal(irqs, 2);
	char buf[16] = { 0 };
	assert_int_equal(read(p[0], buf, sizeof(buf)), 8);
	assert_string_equal(buf, "queued!?");
	assert_int_equal(s.tx_bytes, 8);
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

/* PUT /serial's rate_limiter: output beyond the bucket is dropped and
 * counted, in order (the bytes the bucket covers go out first), and the
 * guest sees the same THR as ever: nothing waits. */
static void test_serial_rate_limit(void **state)
{
	(void)state;
	int p[2];
	struct serial s;
	serial_on_pipe(&s, p);
	/* 10 bytes, refilled over a day: no refill during the test. */
	struct ratelimit_bucket_config b = { true, 10, 0, 86400000 };
	serial_set_out_limit(&s, &b);
	uint64_t m0 = metrics.uart.rate_limiter_dropped_bytes;
	wr(&s, 1, 0x02);                            /* THRE interrupts on */
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);
	serial_write_thr(&s, (const uint8_t *)"0123456789abcdefghijklmno", 25);
	assert_true(line);                          /* the THRE interrupt still comes */
	wr(&s, 0, 'X');                             /* a port write: dropped too */
	assert_int_equal(s.tx_bytes, 26);
	assert_int_equal(s.tx_limited, 16);
	assert_int_equal(metrics.uart.rate_limiter_dropped_bytes - m0, 16);
	assert_int_equal(s.tx_dropped, 0);          /* not a full output */
	char buf[64] = { 0 };
	assert_int_equal(read(p[0], buf, sizeof(buf)), 10);
	assert_string_equal(buf, "0123456789");
	/* No limit again (size 0 disables a bucket): everything passes. */
	b.size = 0;
	serial_set_out_limit(&s, &b);
	serial_write_thr(&s, (const uint8_t *)"free", 4);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(p[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "free");
	assert_int_equal(s.tx_limited, 16);
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

/* A snapshot carries what is left of the output bucket: restored with
 * out_limit, the guest may write only that much more; without (a limiter
 * given anew for the load), the bucket is the new one, full. */
static void test_serial_snapshot_bucket(void **state)
{
	(void)state;
	int p[2], q[2];
	struct serial s, r;
	struct serial_state st;
	char buf[64] = { 0 };
	struct ratelimit_bucket_config b = { true, 10, 0, 86400000 };
	serial_on_pipe(&s, p);
	serial_set_out_limit(&s, &b);
	serial_write_thr(&s, (const uint8_t *)"0123456", 7);   /* 3 bytes left */
	serial_save(&s, &st);
	assert_true(st.out_limit.on);
	assert_int_equal(st.out_limit.budget, 3);

	/* The restored UART drives its line to the saved level (no change
	 * needed): no line callback here. */
	assert_int_equal(pipe(q), 0);
	serial_init(&r, q[1], NULL, NULL);
	serial_set_out_limit(&r, &b);
	serial_restore(&r, &st, true);
	serial_write_thr(&r, (const uint8_t *)"abcdef", 6);
	assert_int_equal(read(q[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(r.tx_limited, 3);
	/* Restored without the bucket: the limiter set for the load, full. */
	serial_set_out_limit(&r, &b);
	serial_restore(&r, &st, false);
	memset(buf, 0, sizeof(buf));
	serial_write_thr(&r, (const uint8_t *)"0123456789xy", 12);
	assert_int_equal(read(q[0], buf, sizeof(buf)), 10);
	assert_string_equal(buf, "0123456789");
	serial_destroy(&s);
	serial_destroy(&r);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* serial_out_path is a FIFO nobody reads: opening it does not wait for a
 * reader, and output never blocks: the pipe fills, then the UART's backlog,
 * then every further byte is dropped and counted (uart.missed_write_count).
 * A reader that comes later gets the output from the start, in order: what
 * the pipe held, then the backlog as serial_output_flush writes it. */
static void test_serial_fifo_without_reader(void **state)
{
	(void)state;
	char dir[] = "/tmp/ember-test-serial-XXXXXX", err[256];
	assert_non_null(mkdtemp(dir));
	struct config_serial sc = { .set = true, .out_fd = -1 };
	snprintf(sc.out_path, sizeof(sc.out_path), "%s/fifo", dir);
	assert_int_equal(mkfifo(sc.out_path, 0600), 0);
	alarm(30);                                  /* a blocking open or write fails the test */
	assert_int_equal(config_serial_open(&sc, err, sizeof(err)), 0);
	struct serial s;
	irqs = 0;
	line = false;
	serial_init(&s, sc.out_fd, serial_line, NULL);
	uint64_t m0 = metrics.uart.missed_write_count;
	uint8_t chunk[256];
	size_t total = 0;
	for (int i = 0; i < 2048; i++) {            /* 512 KiB: more than the pipe and backlog */
		memset(chunk, i % 251, sizeof(chunk));
		serial_write_thr(&s, chunk, sizeof(chunk));
		total += sizeof(chunk);
	}
	int cap = fcntl(sc.out_fd, F_GETPIPE_SZ);
	size_t kept = (size_t)cap + SERIAL_BACKLOG;
	assert_true(cap > 0 && cap % 256 == 0 && kept < total);
	assert_int_equal(s.tx_dropped, total - kept);
	assert_int_equal(metrics.uart.missed_write_count - m0, total - kept);
	assert_int_equal(serial_output_flush(&s), SERIAL_BACKLOG);  /* the pipe is still full */
	/* The reader: every kept byte, in order, the backlog's after the pipe's. */
	int rfd = open(sc.out_path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	size_t got = 0;
	for (int idle = 0; got < kept && idle < 3;) {
		ssize_t r = read(rfd, chunk, sizeof(chunk));
		if (r < 0) {
			assert_int_equal(errno, EAGAIN);
			serial_output_flush(&s);
			idle++;
			continue;
		}
		idle = 0;
		assert_int_equal(r, sizeof(chunk));         /* whole chunks: writes are 256-byte aligned */
		assert_int_equal(chunk[0], (got / 256) % 251);
		assert_int_equal(chunk[255], (got / 256) % 251);
		got += (size_t)r;
	}
	assert_int_equal(got, kept);
	assert_int_equal(serial_output_flush(&s), 0);
	alarm(0);
	serial_destroy(&s);
	close(rfd);
	close(sc.out_fd);
	unlink(sc.out_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_output_and_thre),
		cmocka_unit_test(test_serial_level_edges),
		cmocka_unit_test(test_serial_input),
		cmocka_unit_test(test_serial_probe),
		cmocka_unit_test(test_serial_queued_writes),
		cmocka_unit_test(test_serial_rate_limit),
		cmocka_unit_test(test_serial_snapshot_bucket),
		cmocka_unit_test(test_serial_fifo_without_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
