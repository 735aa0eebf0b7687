/*
 * test_folder.c — folder_normalize, folder_contains, folder_open.
 *
 * folder_open runs against a fresh temp tree:
 *
 *   base/root/          the store root
 *   base/outside/       a sibling nothing may reach
 *
 * Symlink policy (what these tests pin down): a relative symlink whose
 * target stays inside the root is followed; an absolute symlink is always
 * refused (even one naming a place inside the root), as is a relative one
 * that climbs out, as is a loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "folder.h"
#include "../lib/harness.h"

static const struct {
	const char *in;
	int rc;
	const char *want;
} norm_cases[] = {
	{ "/", 0, "/" },
	{ "//", 0, "/" },
	{ ".", 0, "/" },
	{ "/./.", 0, "/" },
	{ "a", 0, "/a" },
	{ "/a", 0, "/a" },
	{ "/a/", 0, "/a" },
	{ "a/b", 0, "/a/b" },
	{ "//a//b//", 0, "/a/b" },
	{ "/./a/./b/.", 0, "/a/b" },
	{ "/a b/c", 0, "/a b/c" },
	{ "/...", 0, "/..." },
	{ "/a..b", 0, "/a..b" },
	{ "/.hidden", 0, "/.hidden" },
	{ "/caf\xc3\xa9", 0, "/caf\xc3\xa9" },
	{ "", COF_EINVAL, NULL },
	{ "..", COF_EINVAL, NULL },
	{ "/..", COF_EINVAL, NULL },
	{ "/a/..", COF_EINVAL, NULL },
	{ "/a/../b", COF_EINVAL, NULL },
	{ "../a", COF_EINVAL, NULL },
	{ "/a\nb", COF_EINVAL, NULL },
	{ "/a\tb", COF_EINVAL, NULL },
	{ "/a\x7f", COF_EINVAL, NULL },
	{ "/a\x01", COF_EINVAL, NULL },
};

static const struct {
	const char *a, *b;
	int want;
} contains_cases[] = {
	{ "/", "/", 1 },
	{ "/", "/a", 1 },
	{ "/", "/a/b", 1 },
	{ "/a", "/a", 1 },
	{ "/a", "/a/b", 1 },
	{ "/a", "/a/b/c", 1 },
	{ "/a/b", "/a/b", 1 },
	{ "/a", "/ab", 0 },
	{ "/a", "/", 0 },
	{ "/a/b", "/a", 0 },
	{ "/a", "/b/a", 0 },
	{ "/ab", "/a", 0 },
	{ "/a/b", "/a/bc/d", 0 },
};

static char base[64], root[128], outside[128];

static int
run(const char *folder, int create, int *fd)
{
	return folder_open(root, folder, create, fd);
}

/* 1 if path names a directory (not following a final symlink). */
static int
is_dir(const char *dir, const char *rel)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
exists(const char *dir, const char *rel)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, &sb) == 0;
}

/* 1 if fd is the directory dir/rel (same inode). */
static int
same_dir(int fd, const char *dir, const char *rel)
{
	char p[512];
	struct stat a, b;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return fstat(fd, &a) == 0 && stat(p, &b) == 0 && S_ISDIR(a.st_mode) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void
mklink(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink(target, p) != 0)
		perror(p);
}

static void
test_normalize(void)
{
	char *out, big[FOLDER_MAX_LEN + 2], dup[4 * FOLDER_MAX_LEN + 2];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		out = NULL;
		rc = folder_normalize(norm_cases[i].in, &out);
		CHECK_MSG(rc == norm_cases[i].rc, "normalize case %zu rc %d "
		    "want %d", i, rc, norm_cases[i].rc);
		if (norm_cases[i].want != NULL)
			CHECK_STR(out, norm_cases[i].want);
		else
			CHECK_MSG(out == NULL, "normalize case %zu: no output "
			    "on error", i);
		free(out);
	}
	CHECK_INT(folder_normalize(NULL, &out), COF_EINVAL);

	/* length: exactly FOLDER_MAX_LEN is fine, one more is not */
	big[0] = '/';
	memset(big + 1, 'x', FOLDER_MAX_LEN - 1);
	big[FOLDER_MAX_LEN] = '\0';
	out = NULL;
	CHECK_INT(folder_normalize(big, &out), 0);
	CHECK(out != NULL && strlen(out) == FOLDER_MAX_LEN);
	free(out);
	big[FOLDER_MAX_LEN] = 'x';
	big[FOLDER_MAX_LEN + 1] = '\0';
	out = NULL;
	CHECK_INT(folder_normalize(big, &out), COF_EINVAL);
	CHECK(out == NULL);
	/* 2 * MAX input that shrinks to MAX is measured after shrinking */
	for (i = 0; i < FOLDER_MAX_LEN; i++) {
		dup[2 * i] = '/';
		dup[2 * i + 1] = (i % 2) ? '/' : 'y';
	}
	dup[2 * FOLDER_MAX_LEN] = '\0';
	out = NULL;
	CHECK_INT(folder_normalize(dup, &out), 0);
	CHECK(out != NULL && strlen(out) == FOLDER_MAX_LEN);
	free(out);
	/* hugely long input is refused outright */
	memset(dup, '/', sizeof(dup) - 1);
	dup[sizeof(dup) - 1] = '\0';
	CHECK_INT(folder_normalize(dup, &out), COF_EINVAL);
}

static void
test_contains(void)
{
	size_t i;

	for (i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]);
	    i++)
		CHECK_MSG(folder_contains(contains_cases[i].a,
		    contains_cases[i].b) == contains_cases[i].want,
		    "folder_contains(\"%s\", \"%s\") == %d",
		    contains_cases[i].a, contains_cases[i].b,
		    contains_cases[i].want);
}

static void
test_open(void)
{
	char p[512];
	int fd, fd2, rc;

	/* the root itself */
	fd = -1;
	CHECK_INT(run("/", 0, &fd), 0);
	CHECK(same_dir(fd, root, "."));
	close(fd);

	/* missing, then made one component at a time */
	fd = 12345;
	CHECK_INT(run("/a/b/c", 0, &fd), COF_ENOENT);
	CHECK_INT(fd, 12345);
	CHECK(!exists(root, "a"));
	CHECK_INT(run("/a/b/c", 1, &fd), 0);
	CHECK(is_dir(root, "a/b/c"));
	CHECK(same_dir(fd, root, "a/b/c"));
	/* the fd is a real directory fd, usable for openat */
	fd2 = openat(fd, ".", O_RDONLY | O_DIRECTORY);
	CHECK(fd2 >= 0);
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	CHECK_INT(run("a/b/c/", 0, &fd), 0);
	close(fd);
	/* existing prefix, new tail */
	CHECK_INT(run("/a/b/d/e", 1, &fd), 0);
	CHECK(same_dir(fd, root, "a/b/d/e"));
	close(fd);
	/* create on an existing folder is fine */
	CHECK_INT(run("/a", 1, &fd), 0);
	close(fd);

	/* a component that is a file */
	snprintf(p, sizeof(p), "%s/a/file", root);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	close(fd);
	CHECK_INT(run("/a/file", 0, &fd), COF_EINVAL);
	CHECK_INT(run("/a/file", 1, &fd), COF_EINVAL);
	CHECK_INT(run("/a/file/x", 1, &fd), COF_EINVAL);
	CHECK_INT(run("/a/file/x", 0, &fd), COF_EINVAL);

	/* symlinks leading out: absolute and relative */
	mklink(outside, "abs");
	mklink("../outside", "rel");
	mklink("../../../outside", "a/b/deep");
	CHECK_INT(run("/abs", 0, &fd), COF_EPERM);
	CHECK_INT(run("/abs", 1, &fd), COF_EPERM);
	CHECK_INT(run("/abs/x/y", 1, &fd), COF_EPERM);
	CHECK_INT(run("/rel", 0, &fd), COF_EPERM);
	CHECK_INT(run("/rel/x", 1, &fd), COF_EPERM);
	CHECK_INT(run("/a/b/deep", 0, &fd), COF_EPERM);
	CHECK_INT(run("/a/b/deep/x", 1, &fd), COF_EPERM);
	CHECK(!exists(outside, "x"));

	/* an absolute symlink is refused even when it names the tree */
	snprintf(p, sizeof(p), "%s/a", root);
	mklink(p, "absin");
	CHECK_INT(run("/absin", 0, &fd), COF_EPERM);

	/* relative symlinks that stay inside are followed */
	mklink("a/b", "in");
	CHECK_INT(run("/in", 0, &fd), 0);
	CHECK(same_dir(fd, root, "a/b"));
	close(fd);
	CHECK_INT(run("/in/c", 0, &fd), 0);
	CHECK(same_dir(fd, root, "a/b/c"));
	close(fd);
	CHECK_INT(run("/in/new/deeper", 1, &fd), 0);
	CHECK(is_dir(root, "a/b/new/deeper"));
	close(fd);
	/* climbs, but not out of the root */
	mklink("../../b/c", "a/b/d/up");
	CHECK_INT(run("/a/b/d/up", 0, &fd), 0);
	CHECK(same_dir(fd, root, "a/b/c"));
	close(fd);

	/* a dangling in-tree symlink is not a folder to create */
	mklink("nothere", "dangling");
	rc = run("/dangling", 1, &fd);
	CHECK_MSG(rc == COF_ENOENT, "dangling symlink, create: %d", rc);
	CHECK(!exists(root, "nothere"));

	/* loops */
	mklink("loop2", "loop1");
	mklink("loop1", "loop2");
	CHECK_INT(run("/loop1", 0, &fd), COF_EPERM);
	CHECK_INT(run("/loop1/x", 1, &fd), COF_EPERM);

	/* bad arguments and bad roots */
	CHECK_INT(run("/../outside", 1, &fd), COF_EINVAL);
	CHECK_INT(run("", 1, &fd), COF_EINVAL);
	CHECK_INT(folder_open(NULL, "/", 0, &fd), COF_EINVAL);
	snprintf(p, sizeof(p), "%s/missing", base);
	CHECK_INT(folder_open(p, "/", 0, &fd), COF_ENOENT);
	snprintf(p, sizeof(p), "%s/a/file", root);
	CHECK_INT(folder_open(p, "/", 0, &fd), COF_EINVAL);

	/* nothing leaked into the sibling at any point */
	CHECK(!exists(outside, "y") && !exists(outside, "new"));
}

/* Writes n bytes to a new file name in dirfd. */
static int
put(int dirfd, const char *name, size_t n)
{
	char buf[64];
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok;

	if (fd < 0)
		return -1;
	memset(buf, 'x', sizeof(buf));
	ok = n <= sizeof(buf) && write(fd, buf, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * folder_tree_bytes: a tree far deeper than any fd limit or PATH_MAX,
 * counted with the open files capped at 32; symlinks and FIFOs are not
 * counted.
 */
static void
test_tree_bytes(void)
{
	enum { DEPTH = 3000 };
	struct rlimit old, low;
	uint64_t want = 0, got = 0;
	int top, cur, next, i, ok = 1, rc;
	char p[256];

	snprintf(p, sizeof(p), "%s/deep", root);
	if (mkdir(p, 0755) != 0 || (top = open(p, O_RDONLY |
	    O_DIRECTORY)) < 0) {
		CHECK_MSG(0, "make %s", p);
		return;
	}
	snprintf(p, sizeof(p), "%s/big", outside);
	ok = put(AT_FDCWD, p, 50) == 0 && symlinkat(outside, top, "out") == 0 &&
	    mkfifoat(top, "fifo", 0644) == 0 && put(top, "empty", 0) == 0;
	cur = dup(top);
	for (i = 0; ok && i < DEPTH; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i % 3);
		ok = put(cur, name, (size_t)(i % 7) + 1) == 0 &&
		    mkdirat(cur, i % 2 ? "b" : "a", 0755) == 0;
		if (i % 100 == 0 && ok)
			ok = mkdirat(cur, "empty-dir", 0755) == 0;
		want += (uint64_t)(i % 7) + 1;
		next = openat(cur, i % 2 ? "b" : "a", O_RDONLY | O_DIRECTORY);
		close(cur);
		cur = next;
		ok = ok && cur >= 0;
	}
	if (cur >= 0)
		close(cur);
	CHECK_MSG(ok, "a tree %d folders deep made", DEPTH);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 32;
	setrlimit(RLIMIT_NOFILE, &low);
	rc = folder_tree_bytes(top, &got);
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK_INT(rc, 0);
	CHECK_U64(got, want);
	got = 7;
	snprintf(p, sizeof(p), "%s/deep/a/b/a", root);
	rc = open(p, O_RDONLY | O_DIRECTORY);
	CHECK(rc >= 0 && folder_tree_bytes(rc, &got) == 0 &&
	    got == want - 1 - 2 - 3);
	if (rc >= 0)
		close(rc);
	close(top);
}

int
main(void)
{
	char cmd[128];

	test_normalize();
	test_contains();

	snprintf(base, sizeof(base), "/tmp/coffer-test-folder.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(root, 0755) != 0 || mkdir(outside, 0755) != 0) {
		perror("mkdir");
		return 1;
	}
	test_open();
	test_tree_bytes();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", base);
	return harness_done();
}
