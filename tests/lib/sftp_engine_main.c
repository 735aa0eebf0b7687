/*
 * sftp-engine — the SFTP engine on stdin/stdout, rooted at a folder, for
 * tests with OpenSSH's `sftp -D PROGRAM` (no sshd, no keys, no network).
 *
 *   sftp-engine [-r] [-u USER] DIR
 *     -r  read-only account
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fs.h"
#include "log.h"
#include "sftp.h"

int
main(int argc, char **argv)
{
	struct fs *fs;
	struct sftp *s;
	const char *user = "test";
	size_t cap = 2 * 1024 * 1024, have = 0, used, olen;
	unsigned char *in;
	int ro = 0, c, rc;

	while ((c = getopt(argc, argv, "ru:")) != -1) {
		if (c == 'r')
			ro = 1;
		else if (c == 'u')
			user = optarg;
		else
			return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: sftp-engine [-r] [-u USER] DIR\n");
		return 2;
	}
	log_init("sftp-engine", 0, getenv("ENGINE_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_WARN);
	umask(022);
	if ((rc = fs_new(argv[optind], "/", ro, NULL, &fs)) != 0)
		fatal("%s: %s", argv[optind], cof_strerror(rc));
	if (sftp_new(fs, user, 64, &s) != 0 || (in = malloc(cap)) == NULL)
		fatal("out of memory");
	for (;;) {
		const unsigned char *out = sftp_output(s, &olen);
		ssize_t n;

		while (olen > 0) {
			n = write(1, out, olen);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto done;
			sftp_sent(s, (size_t)n);
			out = sftp_output(s, &olen);
		}
		n = read(0, in + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		do {
			if (sftp_input(s, in, have, &used) != 0)
				goto done;
			memmove(in, in + used, have - used);
			have -= used;
			out = sftp_output(s, &olen);
			while (olen > 0) {
				n = write(1, out, olen);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					goto done;
				sftp_sent(s, (size_t)n);
				out = sftp_output(s, &olen);
			}
		} while (used > 0 && have >= 4);
	}
done:
	sftp_free(s);
	fs_free(fs);
	free(in);
	return 0;
}
