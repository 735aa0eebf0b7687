/*
 * test_sockbuf.c — the socket read-ahead under libssh: every byte in
 * order exactly once through small recv() calls, poll() reporting held
 * bytes, EOF and errors only after them, other descriptors untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/harness.h"
#include "sockbuf.h"

#define TOTAL (1024 * 1024 + 777)

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

/* The sender writes TOTAL pattern bytes, then closes. */
static void
feed(int fd)
{
	unsigned char buf[8192];
	size_t off = 0;

	while (off < TOTAL) {
		size_t n = TOTAL - off < sizeof(buf) ? TOTAL - off :
		    sizeof(buf), i;
		ssize_t w;

		for (i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		w = write(fd, buf, n);
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	close(fd);
	_exit(0);
}

int
main(void)
{
	int sv[2], other[2], bad = 0, polls_held = 0;
	unsigned char buf[4096];
	size_t got = 0;
	pid_t pid;
	ssize_t r;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, other) == 0);
	CHECK(sockbuf_attach(-1) == -1);
	CHECK(sockbuf_attach(sv[0]) == 0);
	CHECK_INT(sockbuf_held(), 0);

	/* Nothing to read yet: poll waits (timeout), as libc's. */
	{
		struct pollfd p = { sv[0], POLLIN, 0 };

		CHECK_INT(poll(&p, 1, 50), 0);
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		feed(sv[1]);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);

	/* libssh's way: poll, then one recv of 4 KiB (here 1000). */
	for (;;) {
		struct pollfd p[2] = { { other[0], POLLIN, 0 },
			{ sv[0], POLLIN, 0 } };
		size_t held = sockbuf_held();
		int pr = poll(p, 2, 5000), i;

		if (pr <= 0) {
			bad = 1;
			break;
		}
		if (held > 0) {
			polls_held++;
			if (!(p[1].revents & POLLIN))
				bad = 1;
		}
		if (p[0].revents != 0)
			bad = 1; /* the other socket has nothing */
		if (!(p[1].revents & (POLLIN | POLLHUP)))
			continue;
		r = recv(sv[0], buf, 1000, 0);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN)
				continue;
			bad = 1;
			break;
		}
		for (i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i))
				bad = 1;
		got += (size_t)r;
	}
	CHECK_MSG(!bad, "every byte in order, exactly once; poll agrees");
	CHECK_INT(got, TOTAL);
	CHECK_MSG(polls_held > 0, "poll answered from held bytes (%d times)",
	    polls_held);
	CHECK_INT(sockbuf_held(), 0);
	/* EOF stays EOF. */
	CHECK_INT(recv(sv[0], buf, sizeof(buf), 0), 0);

	/* Other descriptors and flags pass through. */
	CHECK_INT(write(other[1], "xyz", 3), 3);
	CHECK_INT(recv(other[0], buf, 1, MSG_PEEK), 1);
	CHECK_INT(recv(other[0], buf, sizeof(buf), 0), 3);
	CHECK(buf[0] == 'x' && buf[2] == 'z');
	CHECK_INT(sockbuf_held(), 0);

	/* After detach, plain libc. */
	sockbuf_detach();
	CHECK_INT(write(other[1], "ab", 2), 2);
	{
		struct pollfd p = { other[0], POLLIN, 0 };

		CHECK_INT(poll(&p, 1, 1000), 1);
	}
	CHECK_INT(recv(other[0], buf, 1, 0), 1);
	CHECK_INT(recv(other[0], buf, 1, 0), 1);
	close(sv[0]);
	close(other[0]);
	close(other[1]);
	return harness_done();
}
