/*
 * test_sandbox.c — the second wall on its own: a process that entered
 * sandbox_enter() beneath a folder can't reach outside it even with plain
 * syscalls (as if the fs layer were bypassed): no reading, listing or
 * renaming out, no TCP, no signals to other processes; a read-only one
 * can't create, remove or truncate inside either.  Each case runs in a
 * child (Landlock can't be left); its errno comes back through shared
 * memory.  On a kernel without Landlock the cases are skipped, said so.
 *
 *   base/inside/{file,file2}   the folder the child is held to
 *   base/outside/secret        what it must not reach
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "../lib/harness.h"

enum {
	C_READ_OUT, C_LIST_OUT, C_READ_IN, C_MAKE_IN, C_RENAME_OUT,
	C_LINK_OUT, C_TCP, C_SIGNAL, C_RO_READ, C_RO_MAKE, C_RO_REMOVE,
	C_RO_TRUNC, C_N
};

static char base[64], inside[128], outside[128];
static int *res; /* shared: 0 or the errno of each case */
static int abi;

static int
err_of(int r)
{
	return r < 0 ? errno : 0;
}

static int
p(char *buf, size_t n, const char *dir, const char *name)
{
	return snprintf(buf, n, "%s/%s", dir, name);
}

static void
run_rw(int port)
{
	char a[256], b[256];
	struct sockaddr_in sin;
	DIR *d;
	int fd, s;

	p(a, sizeof(a), outside, "secret");
	fd = open(a, O_RDONLY);
	res[C_READ_OUT] = err_of(fd);
	d = opendir(outside);
	res[C_LIST_OUT] = d == NULL ? errno : 0;
	p(a, sizeof(a), inside, "file");
	res[C_READ_IN] = err_of(fd = open(a, O_RDONLY));
	p(a, sizeof(a), inside, "new");
	res[C_MAKE_IN] = err_of(open(a, O_WRONLY | O_CREAT, 0644));
	p(a, sizeof(a), inside, "file2");
	p(b, sizeof(b), outside, "file2");
	res[C_RENAME_OUT] = err_of(rename(a, b));
	p(b, sizeof(b), outside, "link");
	res[C_LINK_OUT] = err_of(link(a, b));
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	res[C_TCP] = err_of(connect(s, (struct sockaddr *)&sin, sizeof(sin)));
	res[C_SIGNAL] = err_of(kill(getppid(), 0));
}

static void
run_ro(void)
{
	char a[256];
	int fd;

	p(a, sizeof(a), inside, "file");
	res[C_RO_READ] = err_of(fd = open(a, O_RDONLY));
	res[C_RO_TRUNC] = err_of(truncate(a, 0));
	res[C_RO_REMOVE] = err_of(unlink(a));
	p(a, sizeof(a), inside, "new2");
	res[C_RO_MAKE] = err_of(open(a, O_WRONLY | O_CREAT, 0644));
}

/* Runs fn in a child held beneath inside; 1 if it ran to the end. */
static int
in_child(int read_only, int port)
{
	pid_t c;
	int st, root;

	fflush(stdout);
	if ((c = fork()) == 0) {
		if ((root = open(inside, O_RDONLY | O_DIRECTORY)) < 0)
			_exit(2);
		sandbox_enter(root, read_only);
		if (read_only)
			run_ro();
		else
			run_rw(port);
		_exit(0);
	}
	return waitpid(c, &st, 0) == c && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

static void
put(const char *dir, const char *name)
{
	char a[256];
	int fd;

	p(a, sizeof(a), dir, name);
	if ((fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		(void)!write(fd, "data\n", 5);
		close(fd);
	}
}

int
main(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char cmd[128];
	int ls, port, i;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		printf("ok - # skip: no Landlock on this kernel (%s)\n",
		    strerror(errno));
		return 0;
	}
	snprintf(base, sizeof(base), "/tmp/coffer-test-sandbox.XXXXXX");
	if (mkdtemp(base) == NULL)
		return 1;
	snprintf(inside, sizeof(inside), "%s/inside", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(inside, 0755);
	mkdir(outside, 0755);
	put(inside, "file");
	put(inside, "file2");
	put(outside, "secret");
	res = mmap(NULL, C_N * sizeof(int), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 1;
	for (i = 0; i < C_N; i++)
		res[i] = -1;
	/* A listener the child must not reach. */
	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl) != 0)
		return 1;
	port = ntohs(sin.sin_port);

	printf("# Landlock ABI %d\n", abi);
	CHECK_MSG(in_child(0, port), "read-write child ran");
	CHECK_MSG(res[C_READ_OUT] == EACCES, "no reading outside (%s)",
	    strerror(res[C_READ_OUT]));
	CHECK_MSG(res[C_LIST_OUT] == EACCES, "no listing outside (%s)",
	    strerror(res[C_LIST_OUT]));
	CHECK_INT(res[C_READ_IN], 0);
	CHECK_INT(res[C_MAKE_IN], 0);
	CHECK_MSG(res[C_RENAME_OUT] == EXDEV || res[C_RENAME_OUT] == EACCES,
	    "no renaming out (%s)", strerror(res[C_RENAME_OUT]));
	CHECK_MSG(res[C_LINK_OUT] == EXDEV || res[C_LINK_OUT] == EACCES,
	    "no linking out (%s)", strerror(res[C_LINK_OUT]));
	if (abi >= 4)
		CHECK_MSG(res[C_TCP] == EACCES, "no TCP connect (%s)",
		    strerror(res[C_TCP]));
	else
		printf("ok - # skip: TCP rules need Landlock ABI 4\n");
	if (abi >= 6)
		CHECK_MSG(res[C_SIGNAL] == EPERM, "no signal to the parent "
		    "(%s)", strerror(res[C_SIGNAL]));
	else
		printf("ok - # skip: signal scoping needs Landlock ABI 6\n");

	CHECK_MSG(in_child(1, port), "read-only child ran");
	CHECK_INT(res[C_RO_READ], 0);
	CHECK_MSG(res[C_RO_MAKE] == EACCES, "read-only: no creating (%s)",
	    strerror(res[C_RO_MAKE]));
	CHECK_MSG(res[C_RO_REMOVE] == EACCES, "read-only: no removing (%s)",
	    strerror(res[C_RO_REMOVE]));
	if (abi >= 3)
		CHECK_MSG(res[C_RO_TRUNC] == EACCES, "read-only: no truncating "
		    "(%s)", strerror(res[C_RO_TRUNC]));
	{
		char a[256];
		struct stat st;

		p(a, sizeof(a), outside, "file2");
		CHECK_MSG(stat(a, &st) != 0, "nothing arrived outside");
		p(a, sizeof(a), inside, "file");
		CHECK_MSG(stat(a, &st) == 0 && st.st_size == 5,
		    "the read-only child changed nothing");
	}
	close(ls);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	(void)!system(cmd);
	return harness_done();
}
