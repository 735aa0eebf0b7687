/*
 * fs.h — the one file-system layer every protocol goes through.
 *
 * An fs is one account's view of the store: its folder is "/".  Every path
 * a client names is resolved here, and only here, with openat2(2) and
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS from the folder's directory fd:
 * "..", absolute paths and symlinks (planted or made by a client) all land
 * inside the folder.  Mutations go through a parent directory resolved that
 * way plus one validated last component (mkdirat, unlinkat, renameat2,
 * linkat, symlinkat), never following a symlink in the last component.
 *
 * Read-only accounts: every mutating call returns -EROFS before touching
 * anything (the SFTP request table refuses earlier, with a message; this
 * is the guarantee for every front end).
 *
 * Quota: every call that can grow what is stored charges the ledger
 * before the bytes land and returns -EDQUOT, changing nothing, when a
 * limit would be passed; fs_quota_avail() then tells the space left.
 * Usage is the sum of st_size over paths, so only net growth counts: an
 * overwrite in place is free, a rename over a file is charged the
 * difference.  Hard links: a new link is charged in full where it
 * appears, and must be under the same limits as the file's other names
 * (-EXDEV otherwise; a rename taking one name of a linked file to other
 * limits too), so that a file with n names growing by d is charged n * d.
 * Every size change is made between ledger_begin and ledger_end (see
 * ledger.h: a count from disk waits for it, and it waits for a count),
 * and those of one file hold a lock on it (an open file description
 * lock), so two sessions can't charge from the same stale size.  An open
 * file learns of a move between limits at its next write; one removed
 * while open is charged for its growth and credited it back on close.
 *
 * Return convention (the fs boundary): 0 or a negative errno value.  The
 * front ends turn errno into their protocol's status in one function.
 */
#ifndef COFFER_FS_H
#define COFFER_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct ledger;
struct fs;
struct fs_file;
struct fs_dir;

/* Attributes to change (setstat); a flag says which fields are set. */
#define FS_ATTR_SIZE 0x1
#define FS_ATTR_UIDGID 0x2
#define FS_ATTR_PERM 0x4
#define FS_ATTR_TIMES 0x8
struct fs_attr {
	uint32_t flags;
	uint64_t size;
	uint32_t uid, gid;
	uint32_t perm;
	uint32_t atime, mtime;
	uint32_t atime_nsec, mtime_nsec; /* with FS_ATTR_TIMES; 0 if unknown */
};

struct fs_space {
	uint64_t total; /* the account's effective size in bytes */
	uint64_t used;
	uint64_t avail;
};

/*
 * Opens an account's view.  store_root: absolute real path of the store's
 * tree; folder: the account's folder in normal form; lg may be NULL (no
 * quota, e.g. the stand-alone engine).  COF_* error codes here (start-up).
 */
int fs_new(const char *store_root, const char *folder, int read_only,
    struct ledger *lg, struct fs **out);
void fs_free(struct fs *fs);
/* Switches read-only on or off (account changed by the admin). */
void fs_set_read_only(struct fs *fs, int read_only);
int fs_read_only(const struct fs *fs);
/* The directory fd of the account's folder (for Landlock), borrowed. */
int fs_root_fd(const struct fs *fs);
/* Space left after the last -EDQUOT, for the error message. */
uint64_t fs_quota_avail(const struct fs *fs);
/*
 * Whether bytes more would fit at path (an existing file, or a new name
 * in an existing directory): 0, or -EDQUOT with fs_quota_avail() set, or
 * another negative errno if path can't be resolved.  A check only:
 * nothing is charged, so a concurrent writer may still take the space
 * first (the writes themselves are charged by fs_pwrite).  Lets a front
 * end refuse an upload of known size before writing its first byte.
 */
int fs_quota_check(struct fs *fs, const char *path, uint64_t bytes);

/* flags: O_RDONLY/O_WRONLY/O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_APPEND */
int fs_open(struct fs *fs, const char *path, int flags, mode_t mode,
    struct fs_file **out);
/* Closes; nread and nwritten (may be NULL) get the totals for the log. */
int fs_close(struct fs *fs, struct fs_file *f, uint64_t *nread,
    uint64_t *nwritten);
/* Reads up to len at off; *got = 0 at end of file. */
int fs_pread(struct fs *fs, struct fs_file *f, void *buf, size_t len,
    uint64_t off, size_t *got);
/* Writes all of len at off (charging growth first). */
int fs_pwrite(struct fs *fs, struct fs_file *f, const void *buf, size_t len,
    uint64_t off);
int fs_fstat(struct fs *fs, struct fs_file *f, struct stat *st);
int fs_fsetstat(struct fs *fs, struct fs_file *f, const struct fs_attr *a);
int fs_fsync(struct fs *fs, struct fs_file *f);
/* The client's path the file was opened with, borrowed. */
const char *fs_file_path(const struct fs_file *f);

/*
 * Replacing a regular file so that a failure leaves it as it was, byte
 * for byte (never a partial file in its place).  fs_replace_open()
 * creates a new file beside the one path leads to (a symbolic link is
 * followed, and keeps leading to it), named prefix and 10 random
 * characters, O_EXCL, mode 0600, open for writing; fs_file_path() is its
 * path.  Its writes are charged as any: until the rename both copies are
 * on disk and both count, so replacing a file needs room for the new
 * copy (as rsync's temporary files do; no limit is ever passed, even for
 * a moment).  fs_replace_commit() renames it over the old file (as
 * fs_rename, which credits the replaced bytes); on any failure it
 * removes the new file.  fs_replace_abort() removes it, also on an
 * account that became read-only meanwhile (the old file was never
 * touched).  Both close f whatever they return, nwritten (may be NULL)
 * as for fs_close.
 */
int fs_replace_open(struct fs *fs, const char *path, const char *prefix,
    struct fs_file **out);
int fs_replace_commit(struct fs *fs, struct fs_file *f, uint64_t *nwritten);
int fs_replace_abort(struct fs *fs, struct fs_file *f, uint64_t *nwritten);

/* follow: 1 stat, 0 lstat. */
int fs_stat(struct fs *fs, const char *path, int follow, struct stat *st);
int fs_setstat(struct fs *fs, const char *path, int follow,
    const struct fs_attr *a);
int fs_mkdir(struct fs *fs, const char *path, mode_t mode);
int fs_rmdir(struct fs *fs, const char *path);
int fs_remove(struct fs *fs, const char *path);
/* overwrite: 0 fails with -EEXIST if newpath exists (SFTP v3 RENAME). */
int fs_rename(struct fs *fs, const char *oldpath, const char *newpath,
    int overwrite);
int fs_link(struct fs *fs, const char *oldpath, const char *newpath);
int fs_symlink(struct fs *fs, const char *target, const char *linkpath);
/* Target of a symlink into buf (NUL-terminated). */
int fs_readlink(struct fs *fs, const char *path, char *buf, size_t len);
/* Canonical absolute path within the account ("/a/b") into buf. */
int fs_realpath(struct fs *fs, const char *path, char *buf, size_t len);
int fs_statvfs(struct fs *fs, struct fs_space *sp);

int fs_opendir(struct fs *fs, const char *path, struct fs_dir **out);
/*
 * Next entry: *name borrowed until the next call; st is lstat of it.
 * Returns 1 with an entry, 0 at the end, or a negative errno.
 */
int fs_readdir(struct fs *fs, struct fs_dir *d, const char **name,
    struct stat *st);
void fs_closedir(struct fs *fs, struct fs_dir *d);

#endif
