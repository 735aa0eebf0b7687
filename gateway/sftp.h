/*
 * sftp.h — the SFTP v3 engine (what OpenSSH speaks), independent of the
 * transport: the session feeds it channel bytes and sends what it
 * produces; tests run it on stdin/stdout under `sftp -D`.
 *
 * Requests are served in order, one frame at a time; every path goes to
 * the fs layer.  Frames over SFTP_MAX_FRAME bytes, or a malformed frame
 * header, are a protocol error: the caller closes the channel.
 */
#ifndef COFFER_SFTP_H
#define COFFER_SFTP_H

#include <stddef.h>
#include <stdint.h>

#include "fs.h"

#define SFTP_MAX_FRAME (256 * 1024)          /* limits@ max packet */
#define SFTP_MAX_IO (SFTP_MAX_FRAME - 1024)  /* max read/write length */
#define SFTP_OUT_HIGH (4 * 1024 * 1024)      /* flush output above this */

struct sftp;

/*
 * fs: borrowed, must outlive the engine.  user: the account name (for
 * listings and home-directory), copied.  max_handles: open files and
 * directories at once.
 */
int sftp_new(struct fs *fs, const char *user, int max_handles,
    struct sftp **out);
/* Closes every handle (logging each file's totals) and frees. */
void sftp_free(struct sftp *s);

/*
 * Serves the complete frames at the start of in[0..len).  *used gets the
 * bytes consumed (the caller keeps the rest for later).  Stops early when
 * the output holds more than SFTP_OUT_HIGH bytes: send it, then call
 * again.  Returns 0, or -1 on a protocol error (close the channel).
 */
int sftp_input(struct sftp *s, const uint8_t *in, size_t len, size_t *used);

/* Pending output; sftp_sent() drops what the transport wrote. */
const uint8_t *sftp_output(struct sftp *s, size_t *len);
void sftp_sent(struct sftp *s, size_t n);

#endif
