// SPDX-License-Identifier: Apache-2.0
/* The i8042 model command by command, and driven through the sequences Linux's
 * i8042 and atkbd drivers use while probing: a controller with a keyboard and
 * no AUX port must say so at once, without leaving the guest to time out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "src/i8042.h"

#define ST_OBF     0x01
#define ST_IBF     0x02
#define ST_SYS     0x04
#define ST_CMD     0x08
#define ST_AUXDATA 0x20
#define CTR_KBDINT 0x01
#define CTR_SYS    0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20

static int irqs, resets;
static void count_irq(void *o) { (void)o; irqs++; }
static void count_reset(void *o) { (void)o; resets++; }

static uint8_t rd(struct i8042 *k, unsigned off)
{
	uint8_t v = 0;
	i8042_pio(k, off, &v, 1, false);
	return v;
}

static void wr(struct i8042 *k, unsigned off, uint8_t v)
{
	i8042_pio(k, off, &v, 1, true);
}

static void setup(struct i8042 *k)
{
	irqs = resets = 0;
	i8042_init(k, count_irq, count_reset, NULL);
}

/* Read the bytes waiting in the output buffer (at most n) into out; returns
 * how many there were. */
static int drain(struct i8042 *k, uint8_t *out, int n)
{
	int got = 0;
	while (rd(k, 4) & ST_OBF) {
		uint8_t b = rd(k, 0);
		if (got < n)
			out[got] = b;
		got++;
	}
	return got;
}

/* One keyboard byte in, the keyboard's whole answer out. */
static void kbd_expect(struct i8042 *k, uint8_t cmd, const uint8_t *want, int n)
{
	uint8_t got[8] = { 0 };
	wr(k, 0, cmd);
	assert_int_equal(drain(k, got, 8), n);
	assert_memory_equal(got, want, (size_t)n);
}

/* What __i8042_command() in Linux does: the command, its parameters on port
 * 0x60, then each reply as soon as OBF is set. Returns -ETIMEDOUT where the
 * driver would poll until its timeout (no byte ready), -EIO for an AUX
 * loopback answered by the keyboard side (AUXDATA clear), else 0. */
static int linux_command(struct i8042 *k, uint8_t cmd, uint8_t *param, int nparam, int nreply)
{
	assert_false(rd(k, 4) & ST_IBF);
	wr(k, 4, cmd);
	for (int i = 0; i < nparam; i++) {
		assert_false(rd(k, 4) & ST_IBF);
		wr(k, 0, param[i]);
	}
	for (int i = 0; i < nreply; i++) {
		uint8_t st = rd(k, 4);
		if (!(st & ST_OBF))
			return -ETIMEDOUT;
		if (cmd == 0xd3 && !(st & ST_AUXDATA))
			return -EIO;
		param[i] = rd(k, 0);
	}
	return 0;
}

static void test_power_on(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	uint8_t st = rd(&k, 4);
	assert_int_equal(st & (ST_OBF | ST_IBF | ST_AUXDATA), 0);
	assert_true(st & ST_SYS);
	assert_true(st & 0x10);                     /* not inhibited by the key lock */
	uint8_t ctr = 0;
	assert_int_equal(linux_command(&k, 0x20, &ctr, 0, 1), 0);
	assert_int_equal(ctr, CTR_KBDINT | CTR_SYS | CTR_AUXDIS);
	assert_false(rd(&k, 4) & ST_OBF);
	assert_int_equal(rd(&k, 0), 0);             /* empty buffer reads 0 */
	assert_int_equal(irqs, 1);                  /* the CTR reply raised IRQ 1 */
	i8042_destroy(&k);
}

static void test_controller_commands(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	uint8_t p[2] = { 0 };
	assert_int_equal(linux_command(&k, 0xaa, p, 0, 1), 0);   /* self test */
	assert_int_equal(p[0], 0x55);
	assert_int_equal(linux_command(&k, 0xab, p, 0, 1), 0);   /* keyboard interface test */
	assert_int_equal(p[0], 0x00);
	assert_int_equal(linux_command(&k, 0xa9, p, 0, 1), 0);   /* AUX interface test */
	assert_int_equal(p[0], 0x01);                            /* clock line stuck low */

	wr(&k, 4, 0x60);                                         /* write CTR */
	assert_true(rd(&k, 4) & ST_CMD);
	wr(&k, 0, 0x40);                                         /* no KBDINT, no SYS */
	assert_false(rd(&k, 4) & ST_CMD);
	assert_false(rd(&k, 4) & ST_SYS);                        /* follows CTR bit 2 */
	assert_false(rd(&k, 4) & ST_OBF);                        /* not sent to the keyboard */
	assert_int_equal(linux_command(&k, 0x20, p, 0, 1), 0);
	assert_int_equal(p[0], 0x40 | CTR_AUXDIS);               /* no AUX port to enable */
	p[0] = CTR_SYS;
	assert_int_equal(linux_command(&k, 0x60, p, 1, 0), 0);
	assert_true(rd(&k, 4) & ST_SYS);

	assert_int_equal(linux_command(&k, 0xad, p, 0, 0), 0);   /* disable keyboard */
	assert_int_equal(linux_command(&k, 0x20, p, 0, 1), 0);
	assert_true(p[0] & CTR_KBDDIS);
	assert_int_equal(linux_command(&k, 0xae, p, 0, 0), 0);   /* enable keyboard */
	assert_int_equal(linux_command(&k, 0x20, p, 0, 1), 0);
	assert_false(p[0] & CTR_KBDDIS);

	p[0] = 0xdf;                                             /* output port: A20 on */
	assert_int_equal(linux_command(&k, 0xd1, p, 1, 0), 0);
	assert_int_equal(linux_command(&k, 0xd0, p, 0, 1), 0);
	assert_int_equal(p[0], 0xdf);
	p[0] = 0x1c;                                             /* into the keyboard buffer */
	assert_int_equal(linux_command(&k, 0xd2, p, 1, 1), 0);
	assert_int_equal(p[0], 0x1c);

	assert_int_equal(linux_command(&k, 0x25, p, 0, 1), 0);   /* controller RAM reads 0 */
	assert_int_equal(p[0], 0);
	p[0] = 0xff;                                             /* RAM write: not a keyboard reset */
	assert_int_equal(linux_command(&k, 0x65, p, 1, 0), 0);
	assert_false(rd(&k, 4) & ST_OBF);
	assert_int_equal(linux_command(&k, 0x20, p, 0, 1), 0);
	assert_int_equal(p[0], CTR_SYS | CTR_AUXDIS);            /* and not the CTR */

	/* AUX enable/disable, the MUX prefix and the null command: no answer, no
	 * effect on the CTR, no reset. */
	static const uint8_t silent[] = { 0xa7, 0xa8, 0x90, 0x93, 0xff, 0xc0, 0xe0 };
	for (size_t i = 0; i < sizeof(silent); i++) {
		wr(&k, 4, silent[i]);
		assert_false(rd(&k, 4) & ST_OBF);
	}
	assert_int_equal(linux_command(&k, 0x20, p, 0, 1), 0);
	assert_int_equal(p[0], CTR_SYS | CTR_AUXDIS);
	assert_int_equal(resets, 0);
	i8042_destroy(&k);
}

/* A controller command's reply is what the guest reads next, whatever it left
 * unread before. */
static void test_reply_replaces_unread(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	wr(&k, 0, 0xf2);                                         /* FA AB 83 waiting */
	uint8_t p = 0;
	assert_int_equal(linux_command(&k, 0xaa, &p, 0, 1), 0);
	assert_int_equal(p, 0x55);
	assert_false(rd(&k, 4) & ST_OBF);
	i8042_destroy(&k);
}

/* Linux's i8042_check_aux(), as the driver runs it at boot: after the flush,
 * the AUX loopback (0xD3) must come back at once from the keyboard side, and
 * the AUX interface test must then fail, so that the driver gives up on the
 * AUX port there, with nothing left in the buffer; then the keyboard port is
 * set up. Before, the loopback byte was taken as the keyboard's, the AUX
 * test passed, the AUX disable bit never stuck (100 CTR reads, "Failed to
 * disable AUX port"), and the driver waited 250 ms for an AUX interrupt. */
static void test_linux_probe_no_aux(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	uint8_t p[2] = { 0 }, ctr[2] = { 0 };
	/* i8042_controller_check: nothing to flush */
	assert_false(rd(&k, 4) & ST_OBF);
	/* i8042_controller_init: a stable CTR, then keyboard off */
	assert_int_equal(linux_command(&k, 0x20, &ctr[0], 0, 1), 0);
	assert_int_equal(linux_command(&k, 0x20, &ctr[1], 0, 1), 0);
	assert_int_equal(ctr[0], ctr[1]);
	assert_false(ctr[0] & 0x40);                             /* untranslated: set 2 direct */
	ctr[0] = (uint8_t)((ctr[0] | CTR_KBDDIS) & ~CTR_KBDINT);
	assert_int_equal(linux_command(&k, 0x60, ctr, 1, 0), 0);
	/* A20 through the output port, and the null command */
	p[0] = 0xdf;
	assert_int_equal(linux_command(&k, 0xd1, p, 1, 0), 0);
	assert_int_equal(linux_command(&k, 0xff, p, 0, 0), 0);
	irqs = 0;
	/* i8042_check_aux */
	assert_false(rd(&k, 4) & ST_OBF);
	p[0] = 0x5a;
	assert_int_equal(linux_command(&k, 0xd3, p, 1, 1), -EIO); /* no AUX loopback */
	int r = linux_command(&k, 0xa9, p, 0, 1);
	assert_int_equal(r, 0);
	assert_true(p[0] && p[0] != 0xfa && p[0] != 0xff);       /* "no AUX port": stop */
	assert_false(rd(&k, 4) & ST_OBF);                        /* nothing stale */
	/* With i8042.noloop the driver skips 0xD3: the AUX test alone decides. */
	assert_int_equal(linux_command(&k, 0xa9, p, 0, 1), 0);
	assert_int_equal(p[0], 0x01);
	/* i8042_enable_kbd_port */
	ctr[0] = (uint8_t)((ctr[0] & ~CTR_KBDDIS) | CTR_KBDINT);
	assert_int_equal(linux_command(&k, 0x60, ctr, 1, 0), 0);
	assert_int_equal(irqs, 0);                               /* nothing pending: no IRQ */
	/* the MUX check would only follow a working AUX port; if a guest tries
	 * it anyway the loopback answers are not an echo */
	p[0] = 0xf0;
	assert_int_equal(linux_command(&k, 0xd3, p, 1, 1), -EIO);
	assert_false(rd(&k, 0) == 0xf0);
	i8042_destroy(&k);
}

/* What atkbd sends at probe, and the answers of an AT keyboard. */
static void test_keyboard_commands(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	static const uint8_t ack[] = { 0xfa }, nak[] = { 0xfe };
	kbd_expect(&k, 0xff, (const uint8_t[]){ 0xfa, 0xaa }, 2);         /* reset: BAT ok */
	kbd_expect(&k, 0xf2, (const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);   /* ID: MF2 */
	kbd_expect(&k, 0xf5, ack, 1);                                     /* disable */
	kbd_expect(&k, 0xf4, ack, 1);                                     /* enable */
	kbd_expect(&k, 0xf6, ack, 1);                                     /* defaults */
	kbd_expect(&k, 0xfa, ack, 1);                                     /* set all keys */
	kbd_expect(&k, 0xed, ack, 1);                                     /* LEDs ... */
	kbd_expect(&k, 0xff, ack, 1);                                     /* ... argument, not a reset */
	kbd_expect(&k, 0xf3, ack, 1);                                     /* typematic ... */
	kbd_expect(&k, 0x00, ack, 1);
	kbd_expect(&k, 0xf0, ack, 1);                                     /* scan set: which? */
	kbd_expect(&k, 0x00, (const uint8_t[]){ 0xfa, 0x02 }, 2);
	kbd_expect(&k, 0xf0, ack, 1);                                     /* set 3: refused */
	kbd_expect(&k, 0x03, nak, 1);
	kbd_expect(&k, 0xf0, ack, 1);                                     /* set 2: kept */
	kbd_expect(&k, 0x02, ack, 1);
	kbd_expect(&k, 0xee, (const uint8_t[]){ 0xee }, 1);               /* echo */
	kbd_expect(&k, 0xfe, (const uint8_t[]){ 0xee }, 1);               /* resend the last */
	kbd_expect(&k, 0xea, nak, 1);                                     /* atkbd extensions */
	kbd_expect(&k, 0xe8, nak, 1);
	kbd_expect(&k, 0xeb, nak, 1);
	kbd_expect(&k, 0x5a, nak, 1);                                     /* not a command */
	assert_int_equal(resets, 0);
	i8042_destroy(&k);
}

/* IRQ 1 is an edge each time a byte reaches the output buffer while the
 * keyboard interrupt is enabled (CTR bit 0). */
static void test_irq_edges(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	wr(&k, 0, 0xf4);                                        /* ACK: one edge */
	assert_int_equal(irqs, 1);
	wr(&k, 0, 0xf4);                                        /* buffer still full: none */
	assert_int_equal(irqs, 1);
	assert_int_equal(rd(&k, 0), 0xfa);                      /* next byte moves in: edge */
	assert_int_equal(irqs, 2);
	assert_int_equal(rd(&k, 0), 0xfa);                      /* empty now: none */
	assert_int_equal(irqs, 2);
	assert_int_equal(rd(&k, 0), 0);
	assert_int_equal(irqs, 2);

	uint8_t ctr = 0;
	assert_int_equal(linux_command(&k, 0x60, &ctr, 1, 0), 0); /* interrupt off */
	irqs = 0;
	wr(&k, 0, 0xf2);
	assert_int_equal(irqs, 0);
	assert_int_equal(rd(&k, 0), 0xfa);
	assert_int_equal(irqs, 0);
	ctr = CTR_KBDINT;                                       /* on, with bytes waiting: edge */
	assert_int_equal(linux_command(&k, 0x60, &ctr, 1, 0), 0);
	assert_int_equal(irqs, 1);
	assert_int_equal(rd(&k, 0), 0xab);
	assert_int_equal(irqs, 2);
	assert_int_equal(rd(&k, 0), 0x83);
	assert_int_equal(irqs, 2);
	i8042_destroy(&k);
}

static void test_ctrl_alt_del_and_reset(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	assert_int_equal(i8042_ctrl_alt_del(&k), 0);
	assert_int_equal(irqs, 1);
	assert_false(rd(&k, 4) & ST_AUXDATA);
	assert_int_equal(rd(&k, 0), 0x14);
	assert_int_equal(rd(&k, 0), 0x11);
	assert_int_equal(rd(&k, 0), 0xe0);
	assert_int_equal(rd(&k, 0), 0x71);
	assert_int_equal(irqs, 4);                              /* one per byte */
	for (int i = 0; i < 4; i++)
		assert_int_equal(i8042_ctrl_alt_del(&k), 0);
	assert_int_equal(i8042_ctrl_alt_del(&k), -ENOSPC);      /* guest not draining */
	assert_int_equal(resets, 0);
	wr(&k, 4, 0xfe);                                        /* pulse the reset line */
	assert_int_equal(resets, 1);
	i8042_destroy(&k);
}

/* Ports 0x61-0x63 and wide accesses never crash and read as nothing. */
static void test_odd_accesses(void **state)
{
	(void)state;
	struct i8042 k;
	setup(&k);
	assert_int_equal(rd(&k, 2), 0xff);
	wr(&k, 2, 0xfe);
	assert_int_equal(resets, 0);
	uint8_t w[4] = { 0 };
	i8042_pio(&k, 4, w, 4, false);
	assert_int_equal(w[3], 0xff);
	for (int i = 0; i < 64; i++)                            /* a full buffer stays full */
		wr(&k, 0, 0xee);
	uint8_t got[I8042_BUF];
	assert_int_equal(drain(&k, got, I8042_BUF), I8042_BUF);
	i8042_destroy(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_on),
		cmocka_unit_test(test_controller_commands),
		cmocka_unit_test(test_reply_replaces_unread),
		cmocka_unit_test(test_linux_probe_no_aux),
		cmocka_unit_test(test_keyboard_commands),
		cmocka_unit_test(test_irq_edges),
		cmocka_unit_test(test_ctrl_alt_del_and_reset),
		cmocka_unit_test(test_odd_accesses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
