// SPDX-License-Identifier: Apache-2.0
/*
 * drain: wait until the console has transmitted everything written to it.
 * guest/init runs it before `reboot -f`: a reset throws away what is still
 * in the tty's transmit buffer, so the last lines of a test could be lost.
 */
#include <termios.h>
#include <unistd.h>

int main(void)
{
	return tcdrain(STDOUT_FILENO) == 0 ? 0 : 1;
}
