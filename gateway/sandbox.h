/*
 * sandbox.h — the second wall: before the key exchange a connection's
 * process drops to the service user; after login it restricts itself
 * with Landlock to its account's folder (read-only rights for read-only
 * accounts), no TCP, no signals to other processes.  The fs layer's
 * openat2 confinement is the first wall.
 */
#ifndef COFFER_SANDBOX_H
#define COFFER_SANDBOX_H

#include "gw.h"

/*
 * Drops privileges (if gw->drop): called in the connection's process
 * before the key exchange, once the store is open, so no byte from the
 * client is parsed as root.  Returns 0, or -1 when privileges could not
 * be dropped (the caller must end the connection).
 */
int sandbox_drop(const struct gw *gw);
/*
 * After login: enters Landlock beneath root_fd (read rights only when
 * read_only).  A kernel without Landlock is logged, not fatal.
 */
void sandbox_enter(int root_fd, int read_only);

#endif
