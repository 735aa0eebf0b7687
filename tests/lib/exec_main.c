/*
 * exec-engine — the exec front ends (scp, rsync) on stdin/stdout, rooted
 * at a folder, for tests without sshd:
 *
 *   exec-engine [-r] [-u USER] DIR COMMAND [ARGS...]
 *
 * The words after DIR are joined with spaces into the command line, as
 * ssh does.  Use as `scp -S wrapper` / `rsync -e wrapper` where the
 * wrapper drops the ssh options and host and execs this.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "exec.h"
#include "fs.h"
#include "log.h"

static ssize_t
io_read(void *ctx, void *buf, size_t len)
{
	ssize_t n;

	for (;;) {
		n = read(0, buf, len);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { 0, POLLIN, 0 };

			(void)poll(&pfd, 1, 1000);
			continue;
		}
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

static int
write_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* rsync leaves the pipe non-blocking: wait for room. */
			struct pollfd pfd = { fd, POLLOUT, 0 };

			(void)poll(&pfd, 1, 1000);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
io_write(void *ctx, const void *buf, size_t len)
{
	return write_fd(1, buf, len);
}

static int
io_write_err(void *ctx, const void *buf, size_t len)
{
	return write_fd(2, buf, len);
}

int
main(int argc, char **argv)
{
	struct chan_io io = { NULL, io_read, io_write, io_write_err };
	struct fs *fs;
	const char *user = "test";
	char cmd[65536];
	size_t off = 0;
	int ro = 0, c, rc, i;

	while ((c = getopt(argc, argv, "+ru:")) != -1) {
		if (c == 'r')
			ro = 1;
		else if (c == 'u')
			user = optarg;
		else
			return 2;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: exec-engine [-r] [-u USER] DIR "
		    "COMMAND...\n");
		return 2;
	}
	for (i = optind + 1; i < argc; i++) {
		int n = snprintf(cmd + off, sizeof(cmd) - off, "%s%s",
		    i > optind + 1 ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(cmd) - off)
			return 2;
		off += (size_t)n;
	}
	log_init("exec-engine", 0, getenv("ENGINE_DEBUG") ? LOG_LVL_DEBUG :
	    LOG_LVL_WARN);
	umask(022);
	if ((rc = fs_new(argv[optind], "/", ro, NULL, &fs)) != 0)
		fatal("%s: %s", argv[optind], cof_strerror(rc));
	if (exec_is_scp(cmd))
		rc = scp_main(fs, user, cmd, &io);
	else if (exec_is_rsync(cmd))
		rc = rsync_main(fs, user, cmd, &io);
	else {
		fprintf(stderr, "exec-engine: not scp or rsync: %s\n", cmd);
		rc = 1;
	}
	fs_free(fs);
	return rc;
}
