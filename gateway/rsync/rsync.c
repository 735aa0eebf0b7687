/* rsync front end — not implemented yet (placeholder). */
#include <string.h>

#include "exec.h"

int
rsync_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io)
{
	static const char msg[] = "cofferd: rsync is not supported yet\n";

	io->write_err(io->ctx, msg, strlen(msg));
	return 1;
}
