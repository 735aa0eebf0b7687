/*
 * folder.c — account folders: normal form and confined opening.
 *
 * Every open below the root goes through openat2(2) with RESOLVE_BENEATH
 * and RESOLVE_NO_MAGICLINKS: the kernel refuses any resolution that would
 * leave the starting directory, be it by "..", by an absolute symlink or
 * by a relative one climbing out, and refuses /proc magic links.  A
 * relative symlink whose target stays inside the tree is followed.
 *
 * Creation makes one component at a time with mkdirat() in the directory
 * fd opened last, then opens that component again with openat2() beneath
 * that fd.  So a symlink planted between the two calls is resolved beneath
 * a directory already known to be inside the tree and cannot lead out.
 */
#include "folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* openat2 answers EAGAIN when a rename raced the lookup: try again. */
#define OPENAT2_TRIES 64

int
folder_normalize(const char *in, char **out)
{
	char *buf;
	const char *p, *comp;
	size_t len, clen, o = 0;
	int r = COF_EINVAL;

	if (in == NULL || *in == '\0')
		return COF_EINVAL;
	/* Long input may still shrink ("//a"), but not without bound. */
	if (strnlen(in, 4 * FOLDER_MAX_LEN + 1) > 4 * FOLDER_MAX_LEN)
		return COF_EINVAL;
	len = strlen(in);
	if ((buf = malloc(len + 2)) == NULL)
		return COF_ENOMEM;

	p = in;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		comp = p;
		while (*p != '/' && *p != '\0') {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				goto out;
			p++;
		}
		clen = (size_t)(p - comp);
		if (clen == 1 && comp[0] == '.')
			continue;
		if (clen == 2 && comp[0] == '.' && comp[1] == '.')
			goto out;
		buf[o++] = '/';
		memcpy(buf + o, comp, clen);
		o += clen;
	}
	if (o == 0)
		buf[o++] = '/';
	buf[o] = '\0';
	if (o > FOLDER_MAX_LEN)
		goto out;
	*out = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}

static int
openat2_dir(int dirfd, const char *path)
{
	struct open_how how;
	int fd, tries;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (tries = 0; tries < OPENAT2_TRIES; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			return fd;
	}
	return -1;
}

/* errno of a failed openat2/mkdirat to the contract's codes. */
static int
open_errno(int e)
{
	switch (e) {
	case ENOENT:
		return COF_ENOENT;
	case ENOTDIR:
		return COF_EINVAL;
	case EXDEV:
	case ELOOP:
		return COF_EPERM;
	case ENOMEM:
		return COF_ENOMEM;
	case ENOSYS:
		log_error("openat2: not supported by this kernel (Linux >= "
		    "5.6 needed)");
		return COF_EIO;
	default:
		return COF_EIO;
	}
}

int
folder_open(const char *root, const char *folder, int create, int *fd)
{
	char *norm = NULL, *slash;
	const char *rel;
	int rootfd = -1, cur = -1, next, r;

	if (root == NULL || *root == '\0' || fd == NULL)
		return COF_EINVAL;
	if ((r = folder_normalize(folder, &norm)) != 0)
		return r;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	if (rootfd < 0) {
		r = errno == ENOENT ? COF_ENOENT :
		    errno == ENOTDIR ? COF_EINVAL : COF_EIO;
		goto out;
	}
	if (strcmp(norm, "/") == 0) {
		*fd = rootfd;
		rootfd = -1;
		r = 0;
		goto out;
	}
	rel = norm + 1;

	/* The usual case: the whole folder exists. */
	if ((cur = openat2_dir(rootfd, rel)) >= 0)
		goto done;
	if (errno != ENOENT || !create) {
		r = open_errno(errno);
		goto out;
	}

	/*
	 * Walk from the root.  Each prefix is opened beneath the root, as
	 * the one-shot open above was (so in-tree symlinks behave the
	 * same); a missing component is made in the directory opened last
	 * and opened beneath that directory.
	 */
	if ((cur = dup(rootfd)) < 0) {
		r = COF_EIO;
		goto out;
	}
	slash = norm;
	while (slash != NULL) {
		const char *comp = slash + 1;

		slash = strchr(comp, '/');
		if (slash != NULL)
			*slash = '\0';
		next = openat2_dir(rootfd, rel);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				r = open_errno(errno);
				goto out;
			}
			next = openat2_dir(cur, comp);
		}
		if (slash != NULL)
			*slash = '/';
		if (next < 0) {
			r = open_errno(errno);
			goto out;
		}
		close(cur);
		cur = next;
	}
done:
	*fd = cur;
	cur = -1;
	r = 0;
out:
	if (cur >= 0)
		close(cur);
	if (rootfd >= 0)
		close(rootfd);
	free(norm);
	return r;
}

int
folder_contains(const char *a, const char *b)
{
	size_t la;

	if (a == NULL || b == NULL)
		return 0;
	if (strcmp(a, "/") == 0)
		return b[0] == '/';
	la = strlen(a);
	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/');
}

/*
 * One directory on the walk's stack: its identity (to check the climb
 * back through "..") and the names of its subdirectories not yet walked,
 * packed one after another, NUL-terminated.
 */
struct walk_level {
	dev_t dev;
	ino_t ino;
	char *names;  /* malloc'd */
	size_t len;   /* bytes used in names */
	size_t next;  /* offset of the next name to walk */
};

/*
 * Reads the directory fd (not consumed): adds its regular files' sizes to
 * *sum and fills lv with its identity and its subdirectories.
 */
static int
walk_read(int fd, struct walk_level *lv, uint64_t *sum)
{
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	DIR *d;
	int dfd, rc = 0;

	memset(lv, 0, sizeof(*lv));
	if (fstat(fd, &st) != 0)
		return COF_EIO;
	lv->dev = st.st_dev;
	lv->ino = st.st_ino;
	/* A descriptor of its own: readdir moves the offset. */
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return COF_EIO;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return COF_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* vanished meanwhile */
		if (S_ISREG(st.st_mode)) {
			*sum += (uint64_t)st.st_size;
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		n = strlen(de->d_name) + 1;
		if (lv->len + n > cap) {
			size_t ncap = cap == 0 ? 256 : cap * 2;
			char *p;

			while (ncap < lv->len + n)
				ncap *= 2;
			if ((p = realloc(lv->names, ncap)) == NULL) {
				rc = COF_ENOMEM;
				break;
			}
			lv->names = p;
			cap = ncap;
		}
		memcpy(lv->names + lv->len, de->d_name, n);
		lv->len += n;
	}
	closedir(d);
	if (rc != 0) {
		free(lv->names);
		lv->names = NULL;
	}
	return rc;
}

/* One walk; COF_EBUSY if a climb back did not land where it started. */
static int
walk_once(int top, uint64_t *out)
{
	struct walk_level *stack = NULL;
	size_t depth = 0, cap = 0;
	uint64_t sum = 0;
	int cur, rc;

	if ((cur = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return COF_EIO;
	for (;;) {
		struct walk_level *lv;

		if (depth == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			struct walk_level *p;

			if ((p = realloc(stack, ncap * sizeof(*p))) == NULL) {
				rc = COF_ENOMEM;
				goto out;
			}
			stack = p;
			cap = ncap;
		}
		if ((rc = walk_read(cur, &stack[depth], &sum)) != 0)
			goto out;
		depth++;
		/* Down into the next subdirectory left, climbing as needed. */
		for (;;) {
			struct stat st;
			int next;

			lv = &stack[depth - 1];
			if (lv->next < lv->len) {
				const char *name = lv->names + lv->next;

				lv->next += strlen(name) + 1;
				next = openat(cur, name, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (next < 0)
					continue; /* vanished or replaced */
				close(cur);
				cur = next;
				break;
			}
			free(lv->names);
			depth--;
			if (depth == 0) {
				*out = sum;
				rc = 0;
				goto out;
			}
			next = openat(cur, "..", O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
			if (next < 0) {
				rc = COF_EBUSY;
				goto out;
			}
			close(cur);
			cur = next;
			if (fstat(cur, &st) != 0 ||
			    st.st_dev != stack[depth - 1].dev ||
			    st.st_ino != stack[depth - 1].ino) {
				rc = COF_EBUSY; /* moved under the walk */
				goto out;
			}
		}
	}
out:
	while (depth > 0)
		free(stack[--depth].names);
	free(stack);
	close(cur);
	return rc;
}

int
folder_tree_bytes(int dirfd, uint64_t *sum)
{
	int tries, rc = COF_EBUSY;

	for (tries = 0; tries < 3 && rc == COF_EBUSY; tries++)
		rc = walk_once(dirfd, sum);
	return rc;
}
