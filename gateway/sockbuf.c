/*
 * sockbuf.c — read-ahead on the connection's socket.  Contract in
 * sockbuf.h.
 *
 * libssh 0.10 reads its socket with one recv() of 4 KiB (MAX_BUF_SIZE)
 * per poll() wake-up: an upload costs 256 Ki recv + poll pairs per GiB,
 * measured as the largest share of cofferd's own CPU after the copies.
 * This module defines recv() and poll() in the executable, which
 * interposes them for libssh: on the one attached descriptor, recv()
 * reads up to SOCKBUF_CAP bytes from the kernel at once and hands them
 * out as asked, and poll() reports that descriptor readable while bytes
 * are held (asking the kernel about the other descriptors and events
 * only every SOCKBUF_ASK_EVERY-th time).
 * Every other descriptor and every other flag goes straight to libc.
 * Bytes are only ever delivered in order and exactly once; EOF and
 * errors are delivered once the held bytes are gone.
 */
#include "sockbuf.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SOCKBUF_CAP (256 * 1024)
#define SOCKBUF_ASK_EVERY 8

typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

static int rb_fd = -1;             /* the attached descriptor, or -1 */
static unsigned char *rb;          /* SOCKBUF_CAP bytes read ahead */
static size_t rb_at, rb_len;       /* unread bytes: rb[rb_at..rb_len) */
static recv_fn real_recv_p;        /* libc's recv */
static poll_fn real_poll_p;        /* libc's poll */
static unsigned skipped;           /* poll calls answered from memory */

static int
resolve(void)
{
	if (real_recv_p == NULL)
		real_recv_p = (recv_fn)dlsym(RTLD_NEXT, "recv");
	if (real_poll_p == NULL)
		real_poll_p = (poll_fn)dlsym(RTLD_NEXT, "poll");
	return real_recv_p != NULL && real_poll_p != NULL ? 0 : -1;
}

int
sockbuf_attach(int fd)
{
	if (fd < 0 || resolve() != 0)
		return -1;
	if (rb == NULL && (rb = malloc(SOCKBUF_CAP)) == NULL)
		return -1;
	rb_fd = fd;
	rb_at = rb_len = 0;
	return 0;
}

void
sockbuf_detach(void)
{
	rb_fd = -1;
	rb_at = rb_len = 0;
	free(rb);
	rb = NULL;
}

size_t
sockbuf_held(void)
{
	return rb_len - rb_at;
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t r;
	size_t n;

	if (resolve() != 0) {
		errno = ENOSYS;
		return -1;
	}
	if (fd != rb_fd || rb_fd < 0 || flags != 0)
		return real_recv_p(fd, buf, len, flags);
	if (rb_at == rb_len) {
		if (len >= SOCKBUF_CAP)
			return real_recv_p(fd, buf, len, 0);
		r = real_recv_p(fd, rb, SOCKBUF_CAP, 0);
		if (r <= 0)
			return r;
		rb_at = 0;
		rb_len = (size_t)r;
	}
	n = rb_len - rb_at < len ? rb_len - rb_at : len;
	memcpy(buf, rb + rb_at, n);
	rb_at += n;
	if (rb_at == rb_len)
		rb_at = rb_len = 0;
	return (ssize_t)n;
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	nfds_t i, mine = nfds;
	int r;

	if (resolve() != 0) {
		errno = ENOSYS;
		return -1;
	}
	if (rb_fd >= 0 && rb_at < rb_len)
		for (i = 0; i < nfds; i++)
			if (fds[i].fd == rb_fd && (fds[i].events & POLLIN)) {
				mine = i;
				break;
			}
	if (mine == nfds)
		return real_poll_p(fds, nfds, timeout);
	/* Held bytes: readable now.  The kernel is asked about the other
	 * descriptors and events (writability) without waiting, on every
	 * SOCKBUF_ASK_EVERY-th call only: held bytes last at most
	 * SOCKBUF_CAP / 4 KiB calls, so nothing waits long. */
	if (++skipped < SOCKBUF_ASK_EVERY) {
		for (i = 0; i < nfds; i++)
			fds[i].revents = 0;
		fds[mine].revents = POLLIN;
		return 1;
	}
	skipped = 0;
	r = real_poll_p(fds, nfds, 0);
	if (r < 0)
		return r;
	if (fds[mine].revents == 0)
		r++;
	fds[mine].revents |= POLLIN;
	return r;
}
