/*
 * fs.c — confined, read-only aware, quota-charging file access
 * (contract in fs.h).
 */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "folder.h"
#include "ledger.h"
#include "log.h"

#define FS_PATH_MAX 4096

struct fs {
	int root_fd;          /* the account's folder, O_DIRECTORY */
	char *host_root;      /* its absolute host path, for /proc look-ups */
	size_t host_root_len;
	char *store_root;     /* the store's tree */
	size_t store_root_len;
	char *folder;         /* the account's folder, store-relative */
	int read_only;
	struct ledger *lg;    /* NULL: no quota */
	uint64_t last_avail;  /* space left at the last -EDQUOT */
};

struct fs_file {
	int fd;
	int append;
	char *path;           /* as the client named it, for logs */
	uint64_t nread, nwritten;
	struct ledger_set set; /* tracked folders containing the file */
	int have_set;
};

struct fs_dir {
	DIR *d;
	struct stat st;
};

/* 1 if path's ".." components climb above where it starts (a client
 * reaching out of its folder; openat2 keeps it inside). */
static int
climbs(const char *path)
{
	const char *p = path, *e;
	long depth = 0;

	if (strstr(path, "..") == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (!(e - p == 1 && p[0] == '.'))
			depth++;
		p = e;
	}
	return 0;
}

static int
resolve(struct fs *fs, const char *path, int flags, mode_t mode, int *out)
{
	struct open_how how;
	int fd, tries;

	if (*path == '\0')
		path = ".";
	if (climbs(path))
		log_info("refused outside root: \"%.200s\" climbs above the "
		    "account's folder (resolved inside it)", path);
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	for (tries = 0; tries < 64; tries++) {
		fd = (int)syscall(SYS_openat2, fs->root_fd, path, &how,
		    sizeof(how));
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

/*
 * Splits path into its parent (into parent, FS_PATH_MAX + 1 bytes) and
 * its last component, which is never ".", ".." or empty.  The root
 * itself has no parent: -EPERM.
 */
static int
split_path(const char *path, char *parent, char *name)
{
	size_t n = strlen(path);
	char *slash, *last;

	if (n > FS_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(parent, path, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	slash = strrchr(parent, '/');
	if (slash == NULL) {
		last = parent;
	} else {
		*slash = '\0';
		last = slash + 1;
	}
	if (*last == '\0')
		return -EPERM; /* "/" */
	if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return -EINVAL;
	if (strlen(last) > NAME_MAX)
		return -ENAMETOOLONG;
	memmove(name, last, strlen(last) + 1);
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		strcpy(parent, "/");
	return 0;
}

/*
 * Splits path into a resolved parent directory (O_PATH) and its last
 * component (see split_path).
 */
static int
split(struct fs *fs, const char *path, int *dirfd, char *name)
{
	char parent[FS_PATH_MAX + 1];
	int rc;

	if ((rc = split_path(path, parent, name)) != 0)
		return rc;
	return resolve(fs, parent, O_PATH | O_DIRECTORY, 0, dirfd);
}

/* Store-relative path of an open fd ("/demo/x"), for the ledger. */
static int
fd_store_path(struct fs *fs, int fd, const char *name, char *out, size_t len)
{
	char proc[64], host[FS_PATH_MAX + 1];
	ssize_t n;
	const char *rel;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, host, sizeof(host) - 1);
	if (n < 0)
		return -errno;
	host[n] = '\0';
	if (strncmp(host, fs->store_root, fs->store_root_len) != 0 ||
	    (host[fs->store_root_len] != '/' &&
		host[fs->store_root_len] != '\0'))
		return -EXDEV;
	rel = host + fs->store_root_len;
	if (*rel == '\0')
		rel = "/";
	if (name == NULL)
		n = snprintf(out, len, "%s", rel);
	else
		n = snprintf(out, len, "%s%s%s", rel,
		    strcmp(rel, "/") == 0 ? "" : "/", name);
	return (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int
lookup_set(struct fs *fs, int fd, const char *name, struct ledger_set *set)
{
	char p[FS_PATH_MAX + 1];
	int rc;

	if ((rc = fd_store_path(fs, fd, name, p, sizeof(p))) != 0)
		return rc;
	rc = ledger_lookup(fs->lg, p, set);
	return rc == 0 ? 0 : -EIO;
}

/* The set of name next to the file set was made for (same folder),
 * without asking the kernel for the folder's path again. */
static int
lookup_sibling(struct fs *fs, const struct ledger_set *set, const char *name,
    struct ledger_set *out)
{
	char p[FS_PATH_MAX + 1];
	const char *slash = strrchr(set->path, '/');
	size_t n;

	if (slash == NULL)
		return -EIO;
	n = (size_t)(slash - set->path) + 1;
	if (n + strlen(name) >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, set->path, n);
	strcpy(p + n, name);
	return ledger_lookup(fs->lg, p, out) == 0 ? 0 : -EIO;
}

/* Charges delta bytes to set: -EDQUOT when a limit would be passed. */
static int
charge(struct fs *fs, struct ledger_set *set, int64_t delta)
{
	int rc;

	if (fs->lg == NULL || delta == 0)
		return 0;
	rc = ledger_charge(fs->lg, set, delta, &fs->last_avail);
	if (rc == COF_EQUOTA) {
		log_info("quota exceeded: %" PRId64 " bytes refused at \"%s\", "
		    "%" PRIu64 " available", delta, set->path, fs->last_avail);
		return -EDQUOT;
	}
	return rc == 0 ? 0 : -EIO;
}

/*
 * What a size change of bytes counts for.  Usage is the sum over paths,
 * so a file with n names counts n times (fs_link and fs_rename keep all
 * names of a file under the same limits, so its set is theirs).  A file
 * no longer in the tree (removed while open) counts once when it grows,
 * as its bytes take space until it is closed, and gives nothing back when
 * it shrinks: its removal did.  Saturates at INT64_MAX.
 */
static int64_t
by_names(const struct stat *st, uint64_t bytes, int grow)
{
	uint64_t n = (uint64_t)st->st_nlink;

	if (n == 0)
		n = grow ? 1 : 0;
	if (n != 0 && bytes > (uint64_t)INT64_MAX / n)
		return INT64_MAX;
	return (int64_t)(bytes * n);
}

int
fs_new(const char *store_root, const char *folder, int read_only,
    struct ledger *lg, struct fs **out)
{
	struct fs *fs;
	char *real = NULL;
	int rc;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return COF_ENOMEM;
	fs->root_fd = -1;
	rc = COF_EIO;
	if ((real = realpath(store_root, NULL)) == NULL)
		goto out;
	fs->store_root = real;
	fs->store_root_len = strcmp(real, "/") == 0 ? 0 : strlen(real);
	if ((rc = folder_open(real, folder, 0, &fs->root_fd)) != 0)
		goto out;
	rc = COF_ENOMEM;
	if ((fs->folder = strdup(folder)) == NULL)
		goto out;
	if ((size_t)asprintf(&fs->host_root, "%s%s", real,
		strcmp(folder, "/") == 0 ? "" : folder) > FS_PATH_MAX) {
		rc = COF_EINVAL;
		goto out;
	}
	fs->host_root_len = strlen(fs->host_root);
	fs->read_only = read_only;
	fs->lg = lg;
	fs->last_avail = LEDGER_UNLIMITED;
	*out = fs;
	fs = NULL;
	rc = 0;
out:
	fs_free(fs);
	return rc;
}

void
fs_free(struct fs *fs)
{
	if (fs == NULL)
		return;
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	free(fs->host_root);
	free(fs->store_root);
	free(fs->folder);
	free(fs);
}

void
fs_set_read_only(struct fs *fs, int read_only)
{
	fs->read_only = read_only;
}

int
fs_read_only(const struct fs *fs)
{
	return fs->read_only;
}

int
fs_root_fd(const struct fs *fs)
{
	return fs->root_fd;
}

uint64_t
fs_quota_avail(const struct fs *fs)
{
	return fs->last_avail;
}

int
fs_quota_check(struct fs *fs, const char *path, uint64_t bytes)
{
	char name[NAME_MAX + 1];
	struct ledger_set set;
	uint64_t avail;
	int fd, rc;

	if (fs->lg == NULL || bytes == 0)
		return 0;
	/* An existing file counts where it really is (a symlink may lead
	 * elsewhere in the root); a new one where its parent is. */
	if (resolve(fs, path, O_PATH, 0, &fd) == 0) {
		rc = lookup_set(fs, fd, NULL, &set);
	} else {
		if ((rc = split(fs, path, &fd, name)) != 0)
			return rc;
		rc = lookup_set(fs, fd, name, &set);
	}
	close(fd);
	if (rc != 0)
		return rc;
	if (ledger_available(fs->lg, &set, &avail) != 0)
		return -EIO;
	if (bytes > avail) {
		fs->last_avail = avail;
		return -EDQUOT;
	}
	return 0;
}

const char *
fs_file_path(const struct fs_file *f)
{
	return f->path;
}

int
fs_open(struct fs *fs, const char *path, int flags, mode_t mode,
    struct fs_file **out)
{
	struct fs_file *f = NULL;
	struct stat st;
	int acc = flags & O_ACCMODE, fd = -1, rc;
	int writes = acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND));
	/* O_CREAT | O_EXCL makes a new, empty regular file or fails (even
	 * on a symlink): nothing to check or truncate after it. */
	int excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);

	if (writes && fs->read_only)
		return -EROFS;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->fd = -1;
	if ((f->path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* O_TRUNC is applied below, after the ledger knows the old size;
	 * O_NONBLOCK so a planted FIFO can't hang the session. */
	rc = resolve(fs, path, (flags & (O_ACCMODE | O_CREAT | O_EXCL |
	    O_APPEND)) | O_NOCTTY | (excl ? 0 : O_NONBLOCK), mode & 0777, &fd);
	if (rc != 0)
		goto out;
	if (excl)
		st.st_size = 0;
	else if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	} else if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EPERM;
		goto out;
	} else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		rc = -errno;
		goto out;
	}
	if (fs->lg != NULL && writes) {
		if ((rc = lookup_set(fs, fd, NULL, &f->set)) != 0)
			goto out;
		f->have_set = 1;
	}
	if ((flags & O_TRUNC) && st.st_size > 0) {
		if (ftruncate(fd, 0) != 0) {
			rc = -errno;
			goto out;
		}
		if (f->have_set)
			charge(fs, &f->set, -by_names(&st, st.st_size, 0));
	}
	f->fd = fd;
	f->append = (flags & O_APPEND) != 0;
	fd = -1;
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (f != NULL) {
		free(f->path);
		free(f);
	}
	return rc;
}

int
fs_close(struct fs *fs, struct fs_file *f, uint64_t *nread,
    uint64_t *nwritten)
{
	int rc = 0;

	if (f == NULL)
		return 0;
	if (nread != NULL)
		*nread = f->nread;
	if (nwritten != NULL)
		*nwritten = f->nwritten;
	if (close(f->fd) != 0)
		rc = -errno;
	free(f->path);
	free(f);
	return rc;
}

int
fs_pread(struct fs *fs, struct fs_file *f, void *buf, size_t len,
    uint64_t off, size_t *got)
{
	ssize_t n;

	if (off > INT64_MAX)
		return -EINVAL;
	do
		n = pread(f->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	f->nread += (uint64_t)n;
	*got = (size_t)n;
	return 0;
}

int
fs_pwrite(struct fs *fs, struct fs_file *f, const void *buf, size_t len,
    uint64_t off)
{
	struct stat st;
	uint64_t end, grow = 0;
	size_t done = 0;
	int64_t cost = 0;
	int rc = 0;

	if (fs->read_only)
		return -EROFS;
	if (len > INT64_MAX || off > (uint64_t)INT64_MAX - len)
		return -EFBIG;
	if (fstat(f->fd, &st) != 0)
		return -errno;
	end = f->append ? (uint64_t)st.st_size + len : off + len;
	if (end > (uint64_t)st.st_size)
		grow = end - (uint64_t)st.st_size;
	if (grow > 0)
		cost = by_names(&st, grow, 1);
	if (cost > 0 && f->have_set && (rc = charge(fs, &f->set, cost)) != 0)
		return rc;
	while (done < len) {
		ssize_t n = pwrite(f->fd, (const char *)buf + done, len - done,
		    (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	f->nwritten += done;
	if (rc != 0 && grow > 0 && f->have_set) {
		/* Give back what did not land. */
		struct stat now;
		uint64_t landed = 0;

		if (fstat(f->fd, &now) == 0 && now.st_size > st.st_size)
			landed = (uint64_t)(now.st_size - st.st_size);
		if (landed < grow)
			charge(fs, &f->set, -by_names(&st, grow - landed, 1));
	}
	return rc;
}

int
fs_fstat(struct fs *fs, struct fs_file *f, struct stat *st)
{
	return fstat(f->fd, st) == 0 ? 0 : -errno;
}

int
fs_fsync(struct fs *fs, struct fs_file *f)
{
	return fsync(f->fd) == 0 ? 0 : -errno;
}

/* Size change of an open regular file, charged or credited. */
static int
set_size(struct fs *fs, int fd, struct ledger_set *set, uint64_t size)
{
	struct stat st;
	int64_t delta;
	int rc;

	if (size > INT64_MAX)
		return -EFBIG;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	delta = (int64_t)size - (int64_t)st.st_size;
	delta = delta > 0 ? by_names(&st, (uint64_t)delta, 1)
			  : -by_names(&st, (uint64_t)-delta, 0);
	if (delta > 0 && set != NULL && (rc = charge(fs, set, delta)) != 0)
		return rc;
	if (ftruncate(fd, (off_t)size) != 0) {
		rc = -errno;
		if (delta > 0 && set != NULL)
			charge(fs, set, -delta);
		return rc;
	}
	if (delta < 0 && set != NULL)
		charge(fs, set, delta);
	return 0;
}

/*
 * perm/uid/gid/times on the file behind fd (an O_PATH or ordinary fd, in
 * the root).  The /proc/self/fd link names exactly that inode; an
 * ordinary fd (opath 0) is changed directly, sparing a path look-up.
 */
static int
set_meta(int fd, const struct fs_attr *a, int is_link, int opath)
{
	char proc[64];
	struct stat st;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (a->flags & FS_ATTR_UIDGID) {
		/* No giving files away: only a no-op change is accepted. */
		if (fstat(fd, &st) != 0)
			return -errno;
		if (a->uid != st.st_uid || a->gid != st.st_gid)
			return -EPERM;
	}
	if ((a->flags & FS_ATTR_PERM) && !is_link &&
	    (opath ? chmod(proc, a->perm & 0777) :
	    fchmod(fd, a->perm & 0777)) != 0)
		return -errno;
	if (a->flags & FS_ATTR_TIMES) {
		struct timespec ts[2];

		ts[0].tv_sec = a->atime;
		ts[0].tv_nsec = a->atime_nsec < 1000000000 ? a->atime_nsec : 0;
		ts[1].tv_sec = a->mtime;
		ts[1].tv_nsec = a->mtime_nsec < 1000000000 ? a->mtime_nsec : 0;
		if ((opath ? utimensat(AT_FDCWD, proc, ts, 0) :
		    futimens(fd, ts)) != 0)
			return -errno;
	}
	return 0;
}

int
fs_fsetstat(struct fs *fs, struct fs_file *f, const struct fs_attr *a)
{
	int rc;

	if (fs->read_only)
		return -EROFS;
	if ((a->flags & FS_ATTR_SIZE) &&
	    (rc = set_size(fs, f->fd, f->have_set ? &f->set : NULL,
		 a->size)) != 0)
		return rc;
	return set_meta(f->fd, a, 0, 0);
}

int
fs_setstat(struct fs *fs, const char *path, int follow,
    const struct fs_attr *a)
{
	struct stat st;
	int fd = -1, rc;

	if (fs->read_only)
		return -EROFS;
	rc = resolve(fs, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, &fd);
	if (rc != 0)
		return rc;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (a->flags & FS_ATTR_SIZE) {
		struct ledger_set set;
		int wfd;

		if (!S_ISREG(st.st_mode)) {
			rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
			goto out;
		}
		if ((rc = resolve(fs, path, O_WRONLY | O_NONBLOCK |
			 (follow ? 0 : O_NOFOLLOW), 0, &wfd)) != 0)
			goto out;
		rc = fs->lg != NULL ? lookup_set(fs, wfd, NULL, &set) : 0;
		if (rc == 0)
			rc = set_size(fs, wfd, fs->lg != NULL ? &set : NULL,
			    a->size);
		close(wfd);
		if (rc != 0)
			goto out;
	}
	rc = set_meta(fd, a, S_ISLNK(st.st_mode), 1);
out:
	close(fd);
	return rc;
}

int
fs_stat(struct fs *fs, const char *path, int follow, struct stat *st)
{
	int fd, rc;

	rc = resolve(fs, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, &fd);
	if (rc != 0)
		return rc;
	rc = fstat(fd, st) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/* A directory that is, or holds, an account's folder can't go away. */
static int
protected_dir(struct fs *fs, int dirfd, const char *name)
{
	char p[FS_PATH_MAX + 1];

	if (fs->lg == NULL)
		return 0;
	if (fd_store_path(fs, dirfd, name, p, sizeof(p)) != 0)
		return 1;
	return ledger_tracked_within(fs->lg, p);
}

int
fs_mkdir(struct fs *fs, const char *path, mode_t mode)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split(fs, path, &dfd, name)) != 0)
		return rc == -EPERM ? -EEXIST : rc;
	rc = mkdirat(dfd, name, mode & 0777) == 0 ? 0 : -errno;
	close(dfd);
	return rc;
}

int
fs_rmdir(struct fs *fs, const char *path)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split(fs, path, &dfd, name)) != 0)
		return rc == -EPERM ? -EBUSY : rc;
	if (protected_dir(fs, dfd, name))
		rc = -EBUSY;
	else
		rc = unlinkat(dfd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
	close(dfd);
	return rc;
}

int
fs_remove(struct fs *fs, const char *path)
{
	char name[NAME_MAX + 1];
	struct ledger_set set;
	struct stat st;
	int dfd, rc, have = 0;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split(fs, path, &dfd, name)) != 0)
		return rc == -EPERM ? -EISDIR : rc;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0 && fs->lg != NULL &&
	    lookup_set(fs, dfd, name, &set) == 0)
		have = 1;
	if (unlinkat(dfd, name, 0) != 0) {
		rc = -errno;
		goto out;
	}
	if (have)
		charge(fs, &set, -(int64_t)st.st_size);
out:
	close(dfd);
	return rc;
}

/* Bytes of regular files beneath a directory (for moves across limits). */
static uint64_t
tree_bytes(int fd, int depth)
{
	DIR *d;
	struct dirent *de;
	uint64_t sum = 0;

	if (depth > 256 || (d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				sum += tree_bytes(sub, depth + 1);
		}
	}
	closedir(d);
	return sum;
}

static int
same_set(const struct ledger_set *a, const struct ledger_set *b)
{
	uint32_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->slot[i] != b->slot[i])
			return 0;
	return 1;
}

int
fs_rename(struct fs *fs, const char *oldpath, const char *newpath,
    int overwrite)
{
	char on[NAME_MAX + 1], nn[NAME_MAX + 1];
	char op[FS_PATH_MAX + 1], np[FS_PATH_MAX + 1];
	struct ledger_set from, to;
	struct stat st, dst;
	uint64_t bytes = 0, replaced = 0;
	int ofd = -1, nfd = -1, rc, moved = 0;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split_path(oldpath, op, on)) != 0 ||
	    (rc = resolve(fs, op, O_PATH | O_DIRECTORY, 0, &ofd)) != 0)
		return rc == -EPERM ? -EBUSY : rc;
	/* One folder (a temporary file renamed over its target): resolved
	 * once, which also makes both names surely the same folder's. */
	if ((rc = split_path(newpath, np, nn)) == 0) {
		if (strcmp(op, np) == 0)
			nfd = ofd;
		else
			rc = resolve(fs, np, O_PATH | O_DIRECTORY, 0, &nfd);
	}
	if (rc != 0) {
		rc = rc == -EPERM ? -EEXIST : rc;
		goto out;
	}
	if (fstatat(ofd, on, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode) && protected_dir(fs, ofd, on)) {
		rc = -EBUSY;
		goto out;
	}
	if (fstatat(nfd, nn, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!overwrite) {
			rc = -EEXIST;
			goto out;
		}
		if (S_ISDIR(dst.st_mode) && protected_dir(fs, nfd, nn)) {
			rc = -EBUSY;
			goto out;
		}
		if (dst.st_dev == st.st_dev && dst.st_ino == st.st_ino) {
			/* Two names of one file: rename(2) does nothing,
			 * and nothing may be credited. */
			rc = 0;
			goto out;
		}
		if (S_ISREG(dst.st_mode))
			replaced = (uint64_t)dst.st_size;
	}
	if (fs->lg != NULL) {
		if ((rc = lookup_set(fs, ofd, on, &from)) != 0 ||
		    (rc = nfd == ofd ? lookup_sibling(fs, &from, nn, &to) :
		    lookup_set(fs, nfd, nn, &to)) != 0)
			goto out;
		if (!same_set(&from, &to)) {
			if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
				/* Names of one file stay under the same
				 * limits (see by_names). */
				rc = -EXDEV;
				goto out;
			}
			if (S_ISREG(st.st_mode))
				bytes = (uint64_t)st.st_size;
			else if (S_ISDIR(st.st_mode)) {
				int dfd = openat(ofd, on, O_RDONLY |
				    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

				if (dfd >= 0)
					bytes = tree_bytes(dfd, 0);
			}
		}
		/* One step: the bytes move, the replaced file goes; only
		 * the net growth must fit the destination's limits. */
		if (bytes > 0 || replaced > 0) {
			rc = ledger_replace(fs->lg, &from, &to, bytes,
			    replaced, 0, &fs->last_avail);
			if (rc == COF_EQUOTA)
				log_info("quota exceeded: rename of %" PRIu64
				    " bytes over %" PRIu64 " to \"%s\" "
				    "refused, %" PRIu64 " available", bytes,
				    replaced, to.path, fs->last_avail);
			if (rc != 0) {
				rc = rc == COF_EQUOTA ? -EDQUOT : -EIO;
				goto out;
			}
			moved = 1;
		}
	}
	if (renameat2(ofd, on, nfd, nn, overwrite ? 0 : RENAME_NOREPLACE)) {
		rc = -errno;
		if (moved)
			ledger_replace(fs->lg, &from, &to, bytes, replaced, 1,
			    NULL);
		goto out;
	}
	rc = 0;
out:
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0 && nfd != ofd)
		close(nfd);
	return rc;
}

int
fs_link(struct fs *fs, const char *oldpath, const char *newpath)
{
	char on[NAME_MAX + 1], nn[NAME_MAX + 1];
	struct ledger_set from, to;
	struct stat st;
	int ofd = -1, nfd = -1, rc, charged = 0;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split(fs, oldpath, &ofd, on)) != 0)
		return rc == -EPERM ? -EISDIR : rc;
	if ((rc = split(fs, newpath, &nfd, nn)) != 0) {
		rc = rc == -EPERM ? -EEXIST : rc;
		goto out;
	}
	if (fstatat(ofd, on, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto out;
	}
	/*
	 * A second link is counted in full where it appears (usage is the
	 * sum over paths), so it can't be a way around a limit; and it must
	 * be under the same limits as the first, so that growing the file
	 * through one name can charge every name (see by_names).
	 */
	if (S_ISREG(st.st_mode) && fs->lg != NULL) {
		if ((rc = lookup_set(fs, ofd, on, &from)) != 0 ||
		    (rc = nfd == ofd ? lookup_sibling(fs, &from, nn, &to) :
		    lookup_set(fs, nfd, nn, &to)) != 0)
			goto out;
		if (!same_set(&from, &to)) {
			rc = -EXDEV;
			goto out;
		}
		if (st.st_size > 0 &&
		    (rc = charge(fs, &to, st.st_size)) != 0)
			goto out;
		charged = st.st_size > 0;
	}
	if (linkat(ofd, on, nfd, nn, 0) != 0) {
		rc = -errno;
		if (charged)
			charge(fs, &to, -(int64_t)st.st_size);
	}
out:
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0)
		close(nfd);
	return rc;
}

int
fs_symlink(struct fs *fs, const char *target, const char *linkpath)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (fs->read_only)
		return -EROFS;
	if (strlen(target) > FS_PATH_MAX)
		return -ENAMETOOLONG;
	if ((rc = split(fs, linkpath, &dfd, name)) != 0)
		return rc == -EPERM ? -EEXIST : rc;
	rc = symlinkat(target, dfd, name) == 0 ? 0 : -errno;
	close(dfd);
	return rc;
}

int
fs_readlink(struct fs *fs, const char *path, char *buf, size_t len)
{
	char name[NAME_MAX + 1];
	ssize_t n;
	int dfd, rc;

	if (len == 0)
		return -EINVAL;
	if ((rc = split(fs, path, &dfd, name)) != 0)
		return rc == -EPERM ? -EINVAL : rc;
	n = readlinkat(dfd, name, buf, len - 1);
	rc = n < 0 ? -errno : 0;
	if (n >= 0)
		buf[n] = '\0';
	close(dfd);
	return rc;
}

/* Lexical normal form of path against "/" ("a/../b/." -> "/b"). */
static int
normalize(const char *path, char *out, size_t len)
{
	size_t o = 0;
	const char *p = path;

	if (len < 2)
		return -ENAMETOOLONG;
	out[o++] = '/';
	while (*p != '\0') {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o > 1)
				out[o++] = '/';
			if (o + n + 1 > len)
				return -ENAMETOOLONG;
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return 0;
}

int
fs_realpath(struct fs *fs, const char *path, char *buf, size_t len)
{
	char proc[64], host[FS_PATH_MAX + 1];
	const char *rel;
	ssize_t n;
	int fd, rc;

	if ((rc = normalize(path, buf, len)) != 0)
		return rc;
	if (resolve(fs, buf, O_PATH, 0, &fd) != 0)
		return 0; /* does not exist (yet): the lexical form */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, host, sizeof(host) - 1);
	close(fd);
	if (n < 0)
		return 0;
	host[n] = '\0';
	if (strncmp(host, fs->host_root, fs->host_root_len) != 0 ||
	    (host[fs->host_root_len] != '/' &&
		host[fs->host_root_len] != '\0'))
		return 0;
	rel = host + fs->host_root_len;
	if (*rel == '\0')
		rel = "/";
	if (strlen(rel) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	return 0;
}

int
fs_statvfs(struct fs *fs, struct fs_space *sp)
{
	struct statvfs vfs;
	struct ledger_set set;
	uint64_t disk_avail, disk_total, used = 0, avail, quota_avail;

	if (fstatvfs(fs->root_fd, &vfs) != 0)
		return -errno;
	disk_avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	quota_avail = LEDGER_UNLIMITED;
	if (fs->lg != NULL) {
		if (lookup_set(fs, fs->root_fd, NULL, &set) == 0)
			ledger_available(fs->lg, &set, &quota_avail);
		ledger_folder(fs->lg, fs->folder, &used, NULL);
	}
	avail = quota_avail < disk_avail ? quota_avail : disk_avail;
	sp->used = used;
	sp->avail = avail;
	/* Effective size: what the account holds plus what it may still
	 * add; with no limit at all, the disk's size. */
	sp->total = used + avail;
	if (quota_avail == LEDGER_UNLIMITED && disk_total > sp->total)
		sp->total = disk_total;
	return 0;
}

int
fs_opendir(struct fs *fs, const char *path, struct fs_dir **out)
{
	struct fs_dir *d;
	int fd, rc;

	if ((rc = resolve(fs, path, O_RDONLY | O_DIRECTORY, 0, &fd)) != 0)
		return rc;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if ((d->d = fdopendir(fd)) == NULL) {
		rc = -errno;
		close(fd);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int
fs_readdir(struct fs *fs, struct fs_dir *d, const char **name,
    struct stat *st)
{
	struct dirent *de;

	for (;;) {
		errno = 0;
		if ((de = readdir(d->d)) == NULL)
			return errno != 0 ? -errno : 0;
		if (fstatat(dirfd(d->d), de->d_name, st,
			AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* vanished meanwhile */
		*name = de->d_name;
		return 1;
	}
}

void
fs_closedir(struct fs *fs, struct fs_dir *d)
{
	if (d == NULL)
		return;
	closedir(d->d);
	free(d);
}
