// SPDX-License-Identifier: Apache-2.0
/*
 * PS/2 controller commands from the IBM PC/AT technical reference as Linux's
 * drivers/input/serio/i8042.c uses them.
 */
#include "i8042.h"

#include <errno.h>
#include <string.h>

#define ST_OBF      0x01  /* output buffer full */
#define ST_SYS      0x04  /* system flag: POST passed */
#define ST_CMD      0x08  /* last write was a command */
#define ST_UNLOCKED 0x10

#define CTR_KBD_INT 0x01
#define CTR_SYS     0x04

#define CMD_READ_CTR    0x20
#define CMD_WRITE_CTR   0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX  0xa8
#define CMD_TEST_AUX    0xa9
#define CMD_SELF_TEST   0xaa
#define CMD_TEST_KBD    0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD  0xae
#define CMD_READ_OUTP   0xd0
#define CMD_WRITE_OUTP  0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_RESET_CPU   0xfe

void i8042_init(struct i8042 *k, void (*irq)(void *), void (*reset)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->status = ST_SYS | ST_UNLOCKED;
	k->ctr = CTR_KBD_INT | CTR_SYS;
	k->irq = irq;
	k->reset = reset;
	k->opaque = opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
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

/* Returns true when the guest asked for a reset. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= ST_CMD;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OUT:
		k->cmd = cmd; /* the data byte follows on port 0x60 */
		break;
	case CMD_READ_OUTP:
		i8042_push(k, k->outp);
		break;
	case CMD_SELF_TEST:
		i8042_push(k, 0x55);
		break;
	case CMD_TEST_KBD:
	case CMD_TEST_AUX:
		i8042_push(k, 0x00);
		break;
	case CMD_RESET_CPU:
		return true;
	default:
		break; /* enable/disable ports and the rest: accepted, no effect */
	}
	return false;
}

static void i8042_data_write(struct i8042 *k, uint8_t v)
{
	k->status &= (uint8_t)~ST_CMD;
	switch (k->cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		break;
	case CMD_WRITE_KBD_OUT:
		i8042_push(k, v);
		break;
	default:
		/* A byte for the keyboard itself: answer ACK (0xFA); reset (0xFF)
		 * also reports BAT success (0xAA), as a real AT keyboard does. */
		i8042_push(k, 0xfa);
		if (v == 0xff)
			i8042_push(k, 0xaa);
		break;
	}
	k->cmd = 0;
}

void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false, irq = false;
	pthread_mutex_lock(&k->lock);
	if (offset == 0) {
		if (is_write)
			i8042_data_write(k, data[0]);
		else
			data[0] = i8042_pop(k);
		irq = k->len && (k->ctr & CTR_KBD_INT);
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
	for (size_t i = 0; i < sizeof(keys); i++)
		i8042_push(k, keys[i]);
	pthread_mutex_unlock(&k->lock);
	if (k->irq)
		k->irq(k->opaque);
	return 0;
}
