/* Legacy scp front end — not implemented yet (placeholder). */
#include <string.h>

#include "exec.h"

int
scp_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io)
{
	static const char msg[] = "cofferd: scp -O is not supported yet; "
	    "use scp without -O (SFTP)\n";

	io->write_err(io->ctx, msg, strlen(msg));
	return 1;
}
