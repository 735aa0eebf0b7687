/*
 * exec.h — the exec front ends (legacy scp, rsync) and the byte stream
 * they talk over.  Both go through the fs layer only.
 *
 * The session picks a front end from the command line the client sent:
 * "scp ..." -> scp_main, "rsync --server ..." -> rsync_main; anything
 * else is refused.  Tests drive the same functions over stdin/stdout
 * (tests/lib/exec_main.c).
 */
#ifndef COFFER_EXEC_H
#define COFFER_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "fs.h"

struct chan_io {
	void *ctx;
	/* Up to len bytes; >0 read, 0 at end of input, -1 on error. */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	/* All of len bytes to the client's stdout; 0 or -1. */
	int (*write)(void *ctx, const void *buf, size_t len);
	/* To the client's stderr (messages); 0 or -1. */
	int (*write_err)(void *ctx, const void *buf, size_t len);
};

/*
 * Serves one command line (raw, as the client sent it).  user: account
 * name (for "~user").  Returns the exit status for the client.
 */
int scp_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io);
int rsync_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io);

/* 1 if command is for scp_main / rsync_main. */
int exec_is_scp(const char *command);
int exec_is_rsync(const char *command);

#endif
