/*
 * fuzz_sftp — the SFTP engine fed arbitrary client bytes, over a
 * scratch folder.  libFuzzer target (`make fuzz`); the corpus is replayed
 * by replay_main.c in every `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "sftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/coffer-fuzz-XXXXXX";
static struct fs *fs;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp *s;
	size_t used = 0, off = 0, olen;

	if (fs == NULL) {
		log_init("fuzz", 0, LOG_LVL_ERROR);
		if (mkdtemp(root) == NULL || fs_new(root, "/", 0, NULL, &fs))
			abort();
	}
	if (sftp_new(fs, "fuzz", 8, &s) != 0)
		return 0;
	/* Frames as they come; output is drained and dropped. */
	while (off < size) {
		if (sftp_input(s, data + off, size - off, &used) != 0 ||
		    used == 0)
			break;
		off += used;
		(void)sftp_output(s, &olen);
		sftp_sent(s, olen);
	}
	sftp_free(s);
	return 0;
}
