/*
 * sandbox.h — the second wall: after login a connection's process drops
 * to the service user and restricts itself with Landlock to its account's
 * folder (read-only rights for read-only accounts), no TCP, no signals to
 * other processes.  The fs layer's openat2 confinement is the first wall.
 */
#ifndef COFFER_SANDBOX_H
#define COFFER_SANDBOX_H

#include "gw.h"

/*
 * Drops privileges (if gw->drop) and enters Landlock beneath root_fd.
 * Returns 0, or -1 when privileges could not be dropped (the caller must
 * end the connection).  A kernel without Landlock is logged, not fatal.
 */
int sandbox_enter(const struct gw *gw, int root_fd, int read_only);

#endif
