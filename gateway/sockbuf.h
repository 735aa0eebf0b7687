/*
 * sockbuf.h — read-ahead on the connection's socket, under libssh.
 *
 * libssh 0.10 reads its socket 4 KiB per poll()+recv(); this module
 * interposes recv() and poll() (it defines them in the executable) so
 * that, on one attached descriptor, the kernel is asked for up to
 * 256 KiB at a time and the rest is served from memory.  Other
 * descriptors, and recv() with flags, pass straight through.  The
 * process is single-threaded; the state is per process (a forked child
 * attaches its own connection).
 */
#ifndef COFFER_SOCKBUF_H
#define COFFER_SOCKBUF_H

#include <stddef.h>

/* Reads fd ahead from now on (bytes already held are dropped: attach
 * before the first byte is read).  0, or -1 (then nothing changes). */
int sockbuf_attach(int fd);
/* Stops, frees the buffer.  Held bytes are dropped. */
void sockbuf_detach(void);
/* Bytes read from the kernel and not yet handed out (for tests). */
size_t sockbuf_held(void);

#endif
