/* systemd's notify protocol (sd_notify(3)) by hand: a datagram to
 * $NOTIFY_SOCKET, when it is set. */
#ifndef ACMED_NOTIFY_H
#define ACMED_NOTIFY_H

/* Sends "READY=1", "STATUS=...", "STOPPING=1" and the like; nothing when
 * not run by systemd. Returns 0, or -1 when the send failed. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
