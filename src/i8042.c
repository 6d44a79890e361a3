// SPDX-License-Identifier: Apache-2.0
/*
 * A PS/2 controller with a keyboard and no AUX (mouse) port, following the
 * IBM PC/AT technical reference and the commands Linux's i8042 and atkbd
 * drivers send while probing.
 *
 * The controller has no AUX port and answers like one: the AUX commands
 * (0xA7, 0xA8, 0xD3, 0xD4, the multiplexer prefixes) are not its commands,
 * so a byte written after them goes to the keyboard, which rejects what it
 * does not know with 0xFE; the AUX interface test (0xA9) reports a dead clock
 * line; and the AUX disable bit of the command byte stays set. Linux then
 * decides on its first two questions that there is no AUX port, instead of
 * timing out on an AUX loopback interrupt that never comes.
 *
 * The reply to a controller command replaces bytes the guest left unread:
 * the guest reads the answer to the question it just asked, whatever its
 * earlier exchanges left behind.
 */
#include "src/i8042.h"

#include <errno.h>
#include <string.h>

#define ST_OBF      0x01  /* output buffer full */
#define ST_SYS      0x04  /* system flag (command byte bit 2) */
#define ST_CMD      0x08  /* last write was a command */
#define ST_UNLOCKED 0x10  /* keyboard not inhibited by the key lock */

#define CTR_KBD_INT 0x01
#define CTR_SYS     0x04
#define CTR_KBD_DIS 0x10
#define CTR_AUX_DIS 0x20  /* no AUX port: always set */

#define CMD_READ_CTR    0x20
#define CMD_READ_RAM_END 0x3f
#define CMD_WRITE_CTR   0x60
#define CMD_WRITE_RAM_END 0x7f
#define CMD_TEST_AUX    0xa9
#define CMD_SELF_TEST   0xaa
#define CMD_TEST_KBD    0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD  0xae
#define CMD_READ_OUTP   0xd0
#define CMD_WRITE_OUTP  0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_RESET_CPU   0xfe

#define SELF_TEST_OK    0x55
#define IFACE_TEST_OK   0x00
#define IFACE_CLOCK_LOW 0x01  /* interface test: clock line stuck low */

/* Keyboard commands (port 0x60) and replies. */
#define KBD_SET_LEDS    0xed
#define KBD_ECHO        0xee
#define KBD_SCAN_SET    0xf0
#define KBD_GET_ID      0xf2
#define KBD_SET_RATE    0xf3
#define KBD_ENABLE      0xf4  /* 0xf4..0xfa: enable, disable, defaults, */
#define KBD_SET_ALL_MBR 0xfa  /* and the "set all keys" commands */
#define KBD_RESEND      0xfe
#define KBD_RESET       0xff
#define KBD_ACK         0xfa
#define KBD_BAT_OK      0xaa
#define KBD_ID0         0xab
#define KBD_ID1         0x83
#define KBD_SET2        0x02  /* the only scan code set: Ctrl-Alt-Del is sent in it */

void i8042_init(struct i8042 *k, void (*irq)(void *), void (*reset)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->status = ST_SYS | ST_UNLOCKED;
	k->ctr = CTR_KBD_INT | CTR_SYS | CTR_AUX_DIS;
	k->outp = 0x03; /* reset line inactive, A20 on */
	k->irq = irq;
	k->reset = reset;
	k->opaque = opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

/* IRQ 1 follows "output buffer full with the keyboard interrupt enabled";
 * the caller raises an edge when this goes from false to true. */
static bool i8042_irq_level(const struct i8042 *k)
{
	return k->len && (k->ctr & CTR_KBD_INT);
}

static bool i8042_push(struct i8042 *k, uint8_t b)
{
	if (k->len == I8042_BUF)
		return false;
	k->buf[(k->head + k->len) % I8042_BUF] = b;
	k->len++;
	k->status |= ST_OBF;
	return true;
}

static uint8_t i8042_pop(struct i8042 *k)
{
	if (!k->len)
		return 0;
	uint8_t b = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF;
	if (--k->len == 0)
		k->status &= (uint8_t)~ST_OBF;
	return b;
}

/* A controller command's reply: it takes the place of unread bytes. */
static void i8042_reply(struct i8042 *k, uint8_t b)
{
	k->head = k->len = 0;
	i8042_push(k, b);
}

/* A byte from the keyboard; remembered for its resend command. */
static void i8042_kbd_send(struct i8042 *k, uint8_t b)
{
	k->kbd_last = b;
	i8042_push(k, b);
}

static void i8042_write_ctr(struct i8042 *k, uint8_t v)
{
	k->ctr = v | CTR_AUX_DIS;
	if (v & CTR_SYS)
		k->status |= ST_SYS;
	else
		k->status &= (uint8_t)~ST_SYS;
}

/* Returns true when the guest asked for a reset. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= ST_CMD;
	k->cmd = 0;
	if (cmd >= CMD_READ_CTR && cmd <= CMD_READ_RAM_END) {
		/* byte 0 of the controller's RAM is the command byte; the rest reads 0 */
		i8042_reply(k, cmd == CMD_READ_CTR ? k->ctr : 0);
		return false;
	}
	if (cmd >= CMD_WRITE_CTR && cmd <= CMD_WRITE_RAM_END) {
		k->cmd = cmd; /* the data byte follows on port 0x60 */
		return false;
	}
	switch (cmd) {
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OUT:
		k->cmd = cmd;
		break;
	case CMD_READ_OUTP:
		i8042_reply(k, k->outp);
		break;
	case CMD_SELF_TEST:
		i8042_reply(k, SELF_TEST_OK);
		break;
	case CMD_TEST_KBD:
		i8042_reply(k, IFACE_TEST_OK);
		break;
	case CMD_TEST_AUX:
		i8042_reply(k, IFACE_CLOCK_LOW);
		break;
	case CMD_DISABLE_KBD:
		k->ctr |= CTR_KBD_DIS;
		break;
	case CMD_ENABLE_KBD:
		k->ctr &= (uint8_t)~CTR_KBD_DIS;
		break;
	case CMD_RESET_CPU:
		return true;
	default:
		break; /* not a command of this controller: ignored */
	}
	return false;
}

/* A byte for the keyboard. It answers the way an AT keyboard does: 0xFA
 * (ACK) to what it knows, 0xFE (resend) to what it does not. */
static void i8042_kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t arg_of = k->kbd_arg_of;
	k->kbd_arg_of = 0;
	if (arg_of == KBD_SCAN_SET) {
		if (v == 0) {                   /* which set? */
			i8042_kbd_send(k, KBD_ACK);
			i8042_kbd_send(k, KBD_SET2);
		} else {
			i8042_kbd_send(k, v == KBD_SET2 ? KBD_ACK : KBD_RESEND);
		}
		return;
	}
	if (arg_of) {                           /* LED or typematic value */
		i8042_kbd_send(k, KBD_ACK);
		return;
	}
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_SCAN_SET:
	case KBD_SET_RATE:
		k->kbd_arg_of = v;
		i8042_kbd_send(k, KBD_ACK);
		break;
	case KBD_ECHO:
		i8042_kbd_send(k, KBD_ECHO);
		break;
	case KBD_GET_ID:
		i8042_kbd_send(k, KBD_ACK);
		i8042_kbd_send(k, KBD_ID0);
		i8042_kbd_send(k, KBD_ID1);
		break;
	case KBD_RESEND:
		i8042_push(k, k->kbd_last);
		break;
	case KBD_RESET:
		i8042_kbd_send(k, KBD_ACK);
		i8042_kbd_send(k, KBD_BAT_OK);
		break;
	default:
		i8042_kbd_send(k, v >= KBD_ENABLE && v <= KBD_SET_ALL_MBR ? KBD_ACK : KBD_RESEND);
		break;
	}
}

static void i8042_data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->cmd;
	k->status &= (uint8_t)~ST_CMD;
	k->cmd = 0;
	if (cmd == CMD_WRITE_CTR)
		i8042_write_ctr(k, v);
	else if (cmd == CMD_WRITE_OUTP)
		k->outp = v;
	else if (cmd == CMD_WRITE_KBD_OUT)
		i8042_kbd_send(k, v);
	else if (!cmd)
		i8042_kbd_write(k, v);
	/* else: a byte of the controller's RAM, not kept */
}

void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;
	pthread_mutex_lock(&k->lock);
	bool before = i8042_irq_level(k);
	if (offset == 0) {
		if (is_write) {
			i8042_data_write(k, data[0]);
		} else {
			data[0] = i8042_pop(k);
			before = false; /* reading moves the next byte in: a new edge */
		}
	} else if (offset == 4) {
		if (is_write)
			reset = i8042_command(k, data[0]);
		else
			data[0] = k->status;
	} else if (!is_write) {
		data[0] = 0xff;
	}
	for (uint32_t i = 1; !is_write && i < len; i++)
		data[i] = 0xff;
	bool irq = !before && i8042_irq_level(k);
	pthread_mutex_unlock(&k->lock);
	if (irq && k->irq)
		k->irq(k->opaque);
	if (reset && k->reset)
		k->reset(k->opaque);
}

int i8042_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t keys[] = { 0x14, 0x11, 0xe0, 0x71 }; /* set 2: Ctrl, Alt, Del */
	pthread_mutex_lock(&k->lock);
	if (I8042_BUF - k->len < sizeof(keys)) {
		pthread_mutex_unlock(&k->lock);
		return -ENOSPC;
	}
	bool before = i8042_irq_level(k);
	for (size_t i = 0; i < sizeof(keys); i++)
		i8042_push(k, keys[i]);
	bool irq = !before && i8042_irq_level(k);
	pthread_mutex_unlock(&k->lock);
	if (irq && k->irq)
		k->irq(k->opaque);
	return 0;
}

/* ---- snapshot ---- */

void i8042_save(struct i8042 *k, struct i8042_state *st)
{
	pthread_mutex_lock(&k->lock);
	memset(st, 0, sizeof(*st));
	st->status = k->status;
	st->ctr = k->ctr;
	st->outp = k->outp;
	st->cmd = k->cmd;
	st->kbd_arg_of = k->kbd_arg_of;
	st->kbd_last = k->kbd_last;
	st->len = k->len;
	for (unsigned i = 0; i < k->len; i++)
		st->buf[i] = k->buf[(k->head + i) % I8042_BUF];
	pthread_mutex_unlock(&k->lock);
}

void i8042_restore(struct i8042 *k, const struct i8042_state *st)
{
	pthread_mutex_lock(&k->lock);
	k->status = st->status;
	k->ctr = st->ctr | CTR_AUX_DIS;
	k->outp = st->outp;
	k->cmd = st->cmd;
	k->kbd_arg_of = st->kbd_arg_of;
	k->kbd_last = st->kbd_last;
	k->head = 0;
	k->len = st->len <= I8042_BUF ? st->len : I8042_BUF;
	memcpy(k->buf, st->buf, k->len);
	bool irq = i8042_irq_level(k);
	pthread_mutex_unlock(&k->lock);
	if (irq && k->irq)
		k->irq(k->opaque);
}
