/* systemd's notify protocol (sd_notify(3)) by hand: a datagram to
 * $NOTIFY_SOCKET, when it is set. */
#ifndef ACMED_NOTIFY_H
#define ACMED_NOTIFY_H

#include <stdint.h>

/* Sends "READY=1", "STATUS=...", "STOPPING=1" and the like; nothing when
 * not run by systemd. Returns 0, or -1 when the send failed. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether systemd watches this process (sd_watchdog_enabled(3)):
 * $WATCHDOG_USEC set and $WATCHDOG_PID unset or ours. Returns 1 with the
 * timeout in *usec ("WATCHDOG=1" is owed at least that often), 0 when
 * there is no watchdog for this process, -1 when a variable is malformed
 * (one warning logged; treat as no watchdog). *usec is set only on 1. */
int notify_watchdog_usec(uint64_t *usec);

#endif
