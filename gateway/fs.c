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
#include <sys/random.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "folder.h"
#include "ledger.h"
#include "log.h"

#define FS_PATH_MAX 4096
#define FS_TMP_RANDOM 10 /* random characters in a temporary name */

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
	uint32_t mgen;         /* the ledger's move generation set is of */
	uint64_t orphan;       /* bytes charged while it had no name */
	uint32_t oepoch;       /* the ledger's epoch those charges are of */
	char *target;          /* fs_replace_open: the file it replaces */
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
 * Size changes of one file are serialised across sessions: each takes
 * this lock (an open file description lock, whole file; a write lock on a
 * writable fd, a read lock to hold the size still) around "stat, charge,
 * change", so no two charge from the same stale size.
 */
static int
inode_lock(int fd, int on)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = on ? F_WRLCK : F_UNLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_OFD_SETLKW, &fl) != 0) {
		if (errno == EINTR)
			continue;
		if (on && errno == EBADF && fl.l_type == F_WRLCK) {
			fl.l_type = F_RDLCK; /* a read-only fd */
			continue;
		}
		return -errno;
	}
	return 0;
}

/*
 * Starts a size change of an open file: its lock, then ledger_begin.  If
 * a file or folder was moved between limits since f's set was made, the
 * set is made again from where the file is now.
 */
static int
file_begin(struct fs *fs, struct fs_file *f)
{
	uint32_t mgen;
	int rc, tries;

	if ((rc = inode_lock(f->fd, 1)) != 0)
		return rc;
	for (tries = 0;; tries++) {
		if (ledger_begin(fs->lg, &f->set, NULL, &mgen) != 0) {
			inode_lock(f->fd, 0);
			return -EIO;
		}
		if (mgen == f->mgen || tries == 4)
			return 0;
		ledger_end(fs->lg);
		f->mgen = mgen;
		if ((rc = lookup_set(fs, f->fd, NULL, &f->set)) != 0) {
			inode_lock(f->fd, 0);
			return rc;
		}
	}
}

static void
file_end(struct fs *fs, struct fs_file *f)
{
	ledger_end(fs->lg);
	inode_lock(f->fd, 0);
}

/*
 * Bytes charged or credited for a file with no name left (removed while
 * open): given back when it is closed, unless a count from disk (which
 * does not see it) set the figures since.
 */
static void
orphan_note(struct fs *fs, struct fs_file *f, int64_t delta)
{
	uint32_t e = ledger_epoch(fs->lg);

	if (e != f->oepoch) {
		f->orphan = 0;
		f->oepoch = e;
	}
	if (delta >= 0)
		f->orphan += (uint64_t)delta;
	else
		f->orphan -= (uint64_t)-delta > f->orphan ? f->orphan
							: (uint64_t)-delta;
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

/* O_TRUNC of a file just opened, credited. */
static int
truncate_open(struct fs *fs, struct fs_file *f)
{
	struct stat st;
	int rc;

	if (f->have_set && (rc = file_begin(fs, f)) != 0)
		return rc;
	if (fstat(f->fd, &st) != 0)
		rc = -errno;
	else if (st.st_size == 0)
		rc = 0;
	else if (ftruncate(f->fd, 0) != 0)
		rc = -errno;
	else {
		rc = 0;
		if (f->have_set)
			charge(fs, &f->set, -by_names(&st, st.st_size, 0));
	}
	if (f->have_set)
		file_end(fs, f);
	return rc;
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
	if (excl) {
		/* new and empty */
	} else if (fstat(fd, &st) != 0) {
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
		f->mgen = ledger_mgen(fs->lg);
		if ((rc = lookup_set(fs, fd, NULL, &f->set)) != 0)
			goto out;
		f->have_set = 1;
	}
	f->fd = fd;
	fd = -1;
	if ((flags & O_TRUNC) && !excl && (rc = truncate_open(fs, f)) != 0)
		goto out;
	f->append = (flags & O_APPEND) != 0;
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (f != NULL) {
		if (f->fd >= 0)
			close(f->fd);
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
	if (f->have_set && f->orphan > 0 &&
	    ledger_begin(fs->lg, &f->set, NULL, NULL) == 0) {
		struct stat st;

		/* Removed while open: its space comes back now. */
		if (fstat(f->fd, &st) == 0 && st.st_nlink == 0 &&
		    ledger_epoch(fs->lg) == f->oepoch)
			charge(fs, &f->set, -(int64_t)(f->orphan > INT64_MAX ?
			    INT64_MAX : f->orphan));
		ledger_end(fs->lg);
	}
	if (close(f->fd) != 0)
		rc = -errno;
	free(f->path);
	free(f->target);
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
	if (f->have_set && (rc = file_begin(fs, f)) != 0)
		return rc;
	if (fstat(f->fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	end = f->append ? (uint64_t)st.st_size + len : off + len;
	if (end > (uint64_t)st.st_size)
		grow = end - (uint64_t)st.st_size;
	if (grow > 0)
		cost = by_names(&st, grow, 1);
	if (cost > 0 && f->have_set && (rc = charge(fs, &f->set, cost)) != 0)
		goto out;
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
		int64_t back;

		if (fstat(f->fd, &now) == 0 && now.st_size > st.st_size)
			landed = (uint64_t)(now.st_size - st.st_size);
		if (landed < grow) {
			back = by_names(&st, grow - landed, 1);
			charge(fs, &f->set, -back);
			cost -= back;
		}
	}
	if (cost > 0 && f->have_set && st.st_nlink == 0)
		orphan_note(fs, f, cost);
out:
	if (f->have_set)
		file_end(fs, f);
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

/*
 * Size change of an open regular file, charged or credited.  The caller
 * holds the file's lock and is between ledger_begin and ledger_end.  of:
 * the open file fd belongs to (for a file removed while open), or NULL.
 */
static int
set_size(struct fs *fs, int fd, struct ledger_set *set, uint64_t size,
    struct fs_file *of)
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
	if (delta > 0) {
		delta = by_names(&st, (uint64_t)delta, 1);
	} else if (st.st_nlink == 0 && of != NULL) {
		/* No name: only what it grew by since can come back. */
		orphan_note(fs, of, 0);
		if ((uint64_t)-delta > of->orphan)
			delta = -(int64_t)of->orphan;
	} else
		delta = -by_names(&st, (uint64_t)-delta, 0);
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
	if (st.st_nlink == 0 && of != NULL && set != NULL)
		orphan_note(fs, of, delta);
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
	if (a->flags & FS_ATTR_SIZE) {
		if (f->have_set && (rc = file_begin(fs, f)) != 0)
			return rc;
		rc = set_size(fs, f->fd, f->have_set ? &f->set : NULL,
		    a->size, f);
		if (f->have_set)
			file_end(fs, f);
		if (rc != 0)
			return rc;
	}
	return set_meta(f->fd, a, 0, 0);
}

/* set_size on a file opened by path, as on an open file. */
static int
sized_by_path(struct fs *fs, int wfd, uint64_t size)
{
	struct fs_file t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.fd = wfd;
	t.have_set = 1;
	t.mgen = ledger_mgen(fs->lg);
	if ((rc = lookup_set(fs, wfd, NULL, &t.set)) != 0 ||
	    (rc = file_begin(fs, &t)) != 0)
		return rc;
	rc = set_size(fs, wfd, &t.set, size, NULL);
	file_end(fs, &t);
	return rc;
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
		int wfd;

		if (!S_ISREG(st.st_mode)) {
			rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
			goto out;
		}
		if ((rc = resolve(fs, path, O_WRONLY | O_NONBLOCK |
			 (follow ? 0 : O_NOFOLLOW), 0, &wfd)) != 0)
			goto out;
		rc = fs->lg != NULL ? sized_by_path(fs, wfd, a->size)
				    : set_size(fs, wfd, NULL, a->size, NULL);
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

/*
 * Holds the file dirfd/name still for a change charged by its size: a
 * regular file is opened (not following a symlink, never blocking) and
 * locked (inode_lock) and *st is its fstat under the lock; *fd gets the
 * fd, to give to let_go().  Anything else, or a file this process can't
 * open, gives *st its lstat and *fd = -1.
 */
static int
hold(int dirfd, const char *name, struct stat *st, int *fd)
{
	static const int modes[] = { O_RDONLY, O_WRONLY };
	struct stat now;
	int tries, m, h;

	*fd = -1;
	for (tries = 0; tries < 8; tries++) {
		if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
			return -errno;
		if (!S_ISREG(st->st_mode))
			return 0;
		for (m = 0, h = -1; m < 2 && h < 0; m++)
			h = openat(dirfd, name, modes[m] | O_NOFOLLOW |
			    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (h < 0)
			return 0;
		if (inode_lock(h, 1) == 0 && fstat(h, st) == 0 &&
		    fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_dev == st->st_dev && now.st_ino == st->st_ino) {
			*fd = h;
			return 0;
		}
		close(h); /* replaced meanwhile: again */
	}
	return -EBUSY;
}

static void
let_go(int fd)
{
	if (fd >= 0) {
		inode_lock(fd, 0);
		close(fd);
	}
}

/* 1 if dirfd/name is still the file st was taken of. */
static int
still(int dirfd, const char *name, const struct stat *st)
{
	struct stat now;

	return fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/*
 * Unlinks the non-directory path, crediting its bytes; with must, only
 * if path still names that file (-ESTALE otherwise).  No read-only check:
 * the callers' business.
 */
static int
remove_name(struct fs *fs, const char *path, const struct stat *must)
{
	char name[NAME_MAX + 1];
	struct ledger_set set;
	struct stat st;
	int dfd, hfd = -1, rc, tries, begun = 0;

	if ((rc = split(fs, path, &dfd, name)) != 0)
		return rc == -EPERM ? -EISDIR : rc;
	for (tries = 0;; tries++) {
		if (fs->lg == NULL) {
			rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ?
			    0 : -errno;
		} else
			rc = hold(dfd, name, &st, &hfd);
		if (rc != 0)
			goto out;
		if (S_ISDIR(st.st_mode)) {
			rc = -EISDIR;
			goto out;
		}
		if (must != NULL && (st.st_dev != must->st_dev ||
		    st.st_ino != must->st_ino)) {
			rc = -ESTALE;
			goto out;
		}
		if (fs->lg == NULL || !S_ISREG(st.st_mode))
			break;
		/* Charged where it is once nothing can move it. */
		if ((rc = lookup_set(fs, dfd, name, &set)) != 0)
			goto out;
		if (ledger_begin(fs->lg, &set, NULL, NULL) != 0) {
			rc = -EIO;
			goto out;
		}
		begun = 1;
		if (still(dfd, name, &st) || tries == 8)
			break;
		ledger_end(fs->lg);
		begun = 0;
		let_go(hfd);
		hfd = -1;
	}
	if (unlinkat(dfd, name, 0) != 0) {
		rc = -errno;
		goto out;
	}
	if (begun && st.st_size > 0)
		charge(fs, &set, -(int64_t)st.st_size);
out:
	if (begun)
		ledger_end(fs->lg);
	let_go(hfd);
	close(dfd);
	return rc;
}

int
fs_remove(struct fs *fs, const char *path)
{
	if (fs->read_only)
		return -EROFS;
	return remove_name(fs, path, NULL);
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

/*
 * A rename between folders under the same limits changes no figure but
 * the replaced file's (that file held still, within ledger_begin).  One
 * between different limits freezes both sides (ledger_freeze): nothing
 * beneath them changes size while the bytes are counted and moved, and
 * open files learn the move at their next write.
 */
int
fs_rename(struct fs *fs, const char *oldpath, const char *newpath,
    int overwrite)
{
	char on[NAME_MAX + 1], nn[NAME_MAX + 1];
	char op[FS_PATH_MAX + 1], np[FS_PATH_MAX + 1];
	struct ledger_set from, to;
	struct stat st, dst;
	uint64_t bytes = 0, replaced = 0;
	int ofd = -1, nfd = -1, hfd = -1, rc, moved = 0, cross = 0;
	int begun = 0, frozen = 0, renamed = 0;

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
	if (fs->lg != NULL) {
		if ((rc = lookup_set(fs, ofd, on, &from)) != 0 ||
		    (rc = nfd == ofd ? lookup_sibling(fs, &from, nn, &to) :
		    lookup_set(fs, nfd, nn, &to)) != 0)
			goto out;
		cross = !same_set(&from, &to);
		if (cross && S_ISREG(st.st_mode) && st.st_nlink > 1) {
			/* Names of one file stay under the same limits
			 * (see by_names). */
			rc = -EXDEV;
			goto out;
		}
		if (cross) {
			if (ledger_freeze(fs->lg, &from, &to) != 0) {
				rc = -EIO;
				goto out;
			}
			frozen = 1;
			/* Sizes hold still now: take them again. */
			if (fstatat(ofd, on, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				rc = -errno;
				goto out;
			}
		}
	}
	/* The file replaced, if any; held still unless frozen already. */
	if (fs->lg != NULL && !cross)
		rc = hold(nfd, nn, &dst, &hfd);
	else
		rc = fstatat(nfd, nn, &dst, AT_SYMLINK_NOFOLLOW) == 0 ? 0
								    : -errno;
	if (rc == 0) {
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
	} else if (rc != -ENOENT)
		goto out;
	if (fs->lg != NULL && !cross) {
		if (ledger_begin(fs->lg, &from, &to, NULL) != 0) {
			rc = -EIO;
			goto out;
		}
		begun = 1;
	}
	if (cross && S_ISREG(st.st_mode))
		bytes = (uint64_t)st.st_size;
	else if (cross && S_ISDIR(st.st_mode)) {
		int dfd = openat(ofd, on, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);

		/* Not counted, not moved: a tree that can't be walked
		 * stays where it is. */
		rc = dfd < 0 ? -errno :
		    folder_tree_bytes(dfd, &bytes) != 0 ? -EBUSY : 0;
		if (dfd >= 0)
			close(dfd);
		if (rc != 0)
			goto out;
	}
	/* One step: the bytes move, the replaced file goes; only the net
	 * growth must fit the destination's limits. */
	if (fs->lg != NULL && (bytes > 0 || replaced > 0)) {
		rc = ledger_replace(fs->lg, &from, &to, bytes, replaced, 0,
		    &fs->last_avail);
		if (rc == COF_EQUOTA)
			log_info("quota exceeded: rename of %" PRIu64 " bytes "
			    "over %" PRIu64 " to \"%s\" refused, %" PRIu64
			    " available", bytes, replaced, to.path,
			    fs->last_avail);
		if (rc != 0) {
			rc = rc == COF_EQUOTA ? -EDQUOT : -EIO;
			goto out;
		}
		moved = 1;
	}
	if (renameat2(ofd, on, nfd, nn, overwrite ? 0 : RENAME_NOREPLACE)) {
		rc = -errno;
		if (moved)
			ledger_replace(fs->lg, &from, &to, bytes, replaced, 1,
			    NULL);
		goto out;
	}
	renamed = 1;
	rc = 0;
out:
	if (begun)
		ledger_end(fs->lg);
	if (frozen)
		ledger_thaw(fs->lg, renamed);
	let_go(hfd);
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
	int ofd = -1, nfd = -1, hfd = -1, rc, charged = 0, begun = 0;

	if (fs->read_only)
		return -EROFS;
	if ((rc = split(fs, oldpath, &ofd, on)) != 0)
		return rc == -EPERM ? -EISDIR : rc;
	if ((rc = split(fs, newpath, &nfd, nn)) != 0) {
		rc = rc == -EPERM ? -EEXIST : rc;
		goto out;
	}
	/* The file's size holds still until the new name is charged. */
	if (fs->lg != NULL)
		rc = hold(ofd, on, &st, &hfd);
	else
		rc = fstatat(ofd, on, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0
								    : -errno;
	if (rc != 0)
		goto out;
	/*
	 * A second link is counted in full where it appears (usage is the
	 * sum over paths), so it can't be a way around a limit; and it must
	 * be under the same limits as the first, so that growing the file
	 * through one name can charge every name (see by_names).
	 */
	if (S_ISREG(st.st_mode) && fs->lg != NULL) {
		if ((rc = lookup_set(fs, ofd, on, &from)) != 0 ||
		    (rc = lookup_set(fs, nfd, nn, &to)) != 0)
			goto out;
		if (!same_set(&from, &to)) {
			rc = -EXDEV;
			goto out;
		}
		if (ledger_begin(fs->lg, &to, NULL, NULL) != 0) {
			rc = -EIO;
			goto out;
		}
		begun = 1;
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
	if (begun)
		ledger_end(fs->lg);
	let_go(hfd);
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
fs_replace_open(struct fs *fs, const char *path, const char *prefix,
    struct fs_file **out)
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char real[FS_PATH_MAX + 1], *tmp = NULL, *slash;
	unsigned char r[FS_TMP_RANDOM];
	struct fs_file *f = NULL;
	struct stat st;
	size_t dl, pl = strlen(prefix), i;
	int rc, tries;

	if (fs->read_only)
		return -EROFS;
	if ((rc = fs_stat(fs, path, 1, &st)) != 0)
		return rc;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EPERM;
	/* Beside the file itself: a symbolic link keeps leading to it. */
	if ((rc = fs_realpath(fs, path, real, sizeof(real))) != 0)
		return rc;
	if ((slash = strrchr(real, '/')) == NULL)
		return -EINVAL;
	dl = (size_t)(slash - real) + 1;
	if (pl + sizeof(r) > NAME_MAX || dl + pl + sizeof(r) > FS_PATH_MAX)
		return -ENAMETOOLONG;
	if ((tmp = malloc(dl + pl + sizeof(r) + 1)) == NULL)
		return -ENOMEM;
	memcpy(tmp, real, dl);
	memcpy(tmp + dl, prefix, pl);
	tmp[dl + pl + sizeof(r)] = '\0';
	rc = -EEXIST;
	for (tries = 0; tries < 16 && rc == -EEXIST; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			rc = -EIO;
			goto out;
		}
		for (i = 0; i < sizeof(r); i++)
			tmp[dl + pl + i] = az[r[i] % (sizeof(az) - 1)];
		rc = fs_open(fs, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600, &f);
	}
	if (rc != 0)
		goto out;
	if ((f->target = strdup(real)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*out = f;
	f = NULL;
out:
	if (f != NULL)
		fs_replace_abort(fs, f, NULL);
	free(tmp);
	return rc;
}

int
fs_replace_commit(struct fs *fs, struct fs_file *f, uint64_t *nwritten)
{
	int rc;

	if ((rc = fs_rename(fs, f->path, f->target, 1)) != 0) {
		fs_replace_abort(fs, f, nwritten);
		return rc;
	}
	return fs_close(fs, f, NULL, nwritten);
}

int
fs_replace_abort(struct fs *fs, struct fs_file *f, uint64_t *nwritten)
{
	struct stat st;
	int rc;

	/* Also when read-only meanwhile: this restores what was there. */
	if (fstat(f->fd, &st) != 0)
		rc = -errno;
	else
		rc = remove_name(fs, f->path, &st);
	if (rc != 0)
		log_warn("cannot remove temporary file \"%s\": %s", f->path,
		    strerror(-rc));
	fs_close(fs, f, NULL, nwritten);
	return rc;
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
