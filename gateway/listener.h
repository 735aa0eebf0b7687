/*
 * listener.h — binds, accepts, forks one process per connection.
 *
 * The listener never parses client data: the child does the key exchange.
 * Host keys (ed25519, rsa-3072) are made on first start in the host key
 * folder, mode 0600, and their fingerprints logged.
 */
#ifndef COFFER_LISTENER_H
#define COFFER_LISTENER_H

#include "gw.h"

/* Fills paths and loads the host keys; makes missing ones if create,
 * else only says they are missing.  Returns 0 or -1 (logged). */
int listener_host_keys(const char *dir, int create, char *ed25519, char *rsa,
    size_t len);
/* Serves forever (with gw->debug: one connection, no fork). */
int listener_run(const struct gw *gw, const char *ed25519, const char *rsa);

#endif
