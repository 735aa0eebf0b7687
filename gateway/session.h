/*
 * session.h — one SSH connection, in its own process.
 *
 * Key exchange, authentication (bounded attempts, login grace time), then
 * session channels: subsystem "sftp" runs the SFTP engine over the fs
 * layer; exec is answered for scp/rsync by their front ends and refused
 * otherwise; shell, pty, x11, agent and forwarding are refused.
 */
#ifndef COFFER_SESSION_H
#define COFFER_SESSION_H

#include <libssh/libssh.h>

#include "gw.h"

/* Serves one accepted connection; returns the process exit status. */
int session_run(ssh_session s, const struct gw *gw, const char *addr);

#endif
