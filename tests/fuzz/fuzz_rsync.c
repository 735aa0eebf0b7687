/*
 * fuzz_rsync — the rsync front end fed an arbitrary client stream, as
 * receiver (upload) or sender (download) over a scratch folder.  The
 * first input byte picks the role; the rest is what the client "sends".
 * Replies are discarded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "exec.h"
#include "fs.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p;
	size_t left;
};

static ssize_t
feed_read(void *ctx, void *buf, size_t len)
{
	struct feed *f = ctx;

	if (f->left == 0)
		return 0;
	if (len > f->left)
		len = f->left;
	memcpy(buf, f->p, len);
	f->p += len;
	f->left -= len;
	return (ssize_t)len;
}

static int
sink(void *ctx, const void *buf, size_t len)
{
	return 0;
}

static char root[] = "/tmp/coffer-fuzz-rsync-XXXXXX";
static struct fs *fs;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f;
	struct chan_io io = { &f, feed_read, sink, sink };
	const char *cmd;

	if (fs == NULL) {
		char p[sizeof(root) + 16];
		FILE *fp;

		log_init("fuzz", 0, LOG_LVL_ERROR);
		if (mkdtemp(root) == NULL || fs_new(root, "/", 0, NULL, &fs))
			abort();
		snprintf(p, sizeof(p), "%s/a", root);
		if ((fp = fopen(p, "w")) != NULL) {
			fputs("some file content to send\n", fp);
			fclose(fp);
		}
	}
	if (size < 1)
		return 0;
	cmd = (data[0] & 1) ?
	    "rsync --server --sender -logDtpre.iLsfxCIvu . a" :
	    "rsync --server -vlogDtpre.iLsfxCIvu --delete . up/";
	f.p = data + 1;
	f.left = size - 1;
	(void)rsync_main(fs, "fuzz", cmd, &io);
	return 0;
}
