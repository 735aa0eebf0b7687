/*
 * sftp.c — SFTP v3 engine: framing, the request table, handlers.
 * Contract in sftp.h; wire encoding in wire.c; disk access in fs.c.
 */
#include "sftp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"

#define SSH2_FXP_INIT 1
#define SSH2_FXP_VERSION 2
#define SSH2_FXP_OPEN 3
#define SSH2_FXP_CLOSE 4
#define SSH2_FXP_READ 5
#define SSH2_FXP_WRITE 6
#define SSH2_FXP_LSTAT 7
#define SSH2_FXP_FSTAT 8
#define SSH2_FXP_SETSTAT 9
#define SSH2_FXP_FSETSTAT 10
#define SSH2_FXP_OPENDIR 11
#define SSH2_FXP_READDIR 12
#define SSH2_FXP_REMOVE 13
#define SSH2_FXP_MKDIR 14
#define SSH2_FXP_RMDIR 15
#define SSH2_FXP_REALPATH 16
#define SSH2_FXP_STAT 17
#define SSH2_FXP_RENAME 18
#define SSH2_FXP_READLINK 19
#define SSH2_FXP_SYMLINK 20
#define SSH2_FXP_STATUS 101
#define SSH2_FXP_HANDLE 102
#define SSH2_FXP_DATA 103
#define SSH2_FXP_NAME 104
#define SSH2_FXP_ATTRS 105
#define SSH2_FXP_EXTENDED 200
#define SSH2_FXP_EXTENDED_REPLY 201

#define SSH2_FX_OK 0
#define SSH2_FX_EOF 1
#define SSH2_FX_NO_SUCH_FILE 2
#define SSH2_FX_PERMISSION_DENIED 3
#define SSH2_FX_FAILURE 4
#define SSH2_FX_BAD_MESSAGE 5
#define SSH2_FX_OP_UNSUPPORTED 8

#define SSH2_FXF_READ 0x01
#define SSH2_FXF_WRITE 0x02
#define SSH2_FXF_APPEND 0x04
#define SSH2_FXF_CREAT 0x08
#define SSH2_FXF_TRUNC 0x10
#define SSH2_FXF_EXCL 0x20

#define PATH_BUF (4096 + 1)
#define READDIR_MAX_NAMES 128
#define READDIR_MAX_BYTES (64 * 1024)

enum handle_kind { H_FREE = 0, H_FILE, H_DIR };

struct handle {
	enum handle_kind kind;
	uint32_t nonce;        /* makes a stale handle string invalid */
	struct fs_file *file;
	struct fs_dir *dir;
	char *path;            /* for logs and longnames */
};

struct sftp {
	struct fs *fs;
	char *user;
	int inited;
	struct handle *h;
	int nh;
	uint32_t next_nonce;
	struct wbuf out;
};

/* ---- replies ----------------------------------------------------- */

static size_t
begin(struct sftp *s, uint8_t type, uint32_t id)
{
	size_t at = s->out.len;

	wb_u32(&s->out, 0);
	wb_u8(&s->out, type);
	wb_u32(&s->out, id);
	return at;
}

static void
end(struct sftp *s, size_t at)
{
	wb_put_u32_at(&s->out, at, (uint32_t)(s->out.len - at - 4));
}

static void
send_status(struct sftp *s, uint32_t id, uint32_t code, const char *msg)
{
	static const char *text[] = { "Success", "End of file",
		"No such file", "Permission denied", "Failure",
		"Bad message", "No connection", "Connection lost",
		"Operation unsupported" };
	size_t at = begin(s, SSH2_FXP_STATUS, id);

	wb_u32(&s->out, code);
	wb_cstr(&s->out, msg != NULL ? msg : code < 9 ? text[code] :
	    "Unknown error");
	wb_cstr(&s->out, "");
	end(s, at);
}

/* The one place errno becomes an SFTP status. */
static void
send_errno(struct sftp *s, uint32_t id, int err)
{
	char msg[128];

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		send_status(s, id, SSH2_FX_OK, NULL);
		return;
	case ENOENT:
	case ENOTDIR:
	case EBADF:
	case ELOOP:
		send_status(s, id, SSH2_FX_NO_SUCH_FILE, NULL);
		return;
	case EPERM:
	case EACCES:
	case EFAULT:
	case EXDEV:
		send_status(s, id, SSH2_FX_PERMISSION_DENIED, NULL);
		return;
	case EROFS:
		send_status(s, id, SSH2_FX_PERMISSION_DENIED,
		    "read-only account");
		return;
	case EDQUOT: {
		uint64_t a = fs_quota_avail(s->fs);

		snprintf(msg, sizeof(msg),
		    "quota exceeded: %" PRIu64 " bytes available",
		    a == UINT64_MAX ? 0 : a);
		send_status(s, id, SSH2_FX_FAILURE, msg);
		return;
	}
	case EINVAL:
	case ENAMETOOLONG:
		send_status(s, id, SSH2_FX_BAD_MESSAGE, NULL);
		return;
	case ENOSYS:
	case EOPNOTSUPP:
		send_status(s, id, SSH2_FX_OP_UNSUPPORTED, NULL);
		return;
	case EBUSY:
		send_status(s, id, SSH2_FX_FAILURE,
		    "in use: an account's folder can't be moved or removed");
		return;
	default:
		snprintf(msg, sizeof(msg), "%s", strerror(err));
		send_status(s, id, SSH2_FX_FAILURE, msg);
		return;
	}
}

/* ---- handles ----------------------------------------------------- */

static int
handle_new(struct sftp *s, enum handle_kind kind, const char *path)
{
	int i;

	for (i = 0; i < s->nh; i++) {
		if (s->h[i].kind != H_FREE)
			continue;
		if ((s->h[i].path = strdup(path)) == NULL)
			return -1;
		s->h[i].kind = kind;
		s->h[i].nonce = ++s->next_nonce;
		return i;
	}
	return -1;
}

static void
send_handle(struct sftp *s, uint32_t id, int i)
{
	size_t at = begin(s, SSH2_FXP_HANDLE, id);

	wb_u32(&s->out, 8);
	wb_u32(&s->out, (uint32_t)i);
	wb_u32(&s->out, s->h[i].nonce);
	end(s, at);
}

/*
 * Reads a handle string; NULL if unknown, stale or of another kind
 * (kind H_FREE accepts any open handle).
 */
static struct handle *
rd_handle(struct sftp *s, struct rd *r, enum handle_kind kind)
{
	const uint8_t *p;
	size_t n;
	struct rd hr;
	uint32_t i, nonce;

	if (rd_str(r, &p, &n) || n != 8)
		return NULL;
	hr.p = p;
	hr.left = n;
	if (rd_u32(&hr, &i) || rd_u32(&hr, &nonce) || i >= (uint32_t)s->nh)
		return NULL;
	if (s->h[i].kind == H_FREE || s->h[i].nonce != nonce ||
	    (kind != H_FREE && s->h[i].kind != kind))
		return NULL;
	return &s->h[i];
}

static void
handle_close(struct sftp *s, struct handle *h)
{
	uint64_t nr = 0, nw = 0;

	if (h->kind == H_FILE) {
		fs_close(s->fs, h->file, &nr, &nw);
		log_info("close \"%s\" read=%" PRIu64 " written=%" PRIu64,
		    h->path, nr, nw);
	} else if (h->kind == H_DIR) {
		fs_closedir(s->fs, h->dir);
	}
	free(h->path);
	memset(h, 0, sizeof(*h));
}

/* ---- handlers ---------------------------------------------------- */

typedef void (*handler_fn)(struct sftp *, uint32_t, struct rd *);

#define BAD(s, id) send_status(s, id, SSH2_FX_BAD_MESSAGE, NULL)

static void
do_open(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	struct fs_attr a;
	struct fs_file *f;
	uint32_t pf;
	int flags, rc, i;
	mode_t mode;

	if (rd_cstr(r, path, sizeof(path)) || rd_u32(r, &pf) ||
	    rd_attrs(r, &a))
		return BAD(s, id);
	if ((pf & SSH2_FXF_READ) && (pf & SSH2_FXF_WRITE))
		flags = O_RDWR;
	else if (pf & SSH2_FXF_WRITE)
		flags = O_WRONLY;
	else
		flags = O_RDONLY;
	if (pf & SSH2_FXF_APPEND)
		flags |= O_APPEND;
	if (pf & SSH2_FXF_CREAT)
		flags |= O_CREAT;
	if (pf & SSH2_FXF_TRUNC)
		flags |= O_TRUNC;
	if (pf & SSH2_FXF_EXCL)
		flags |= O_EXCL;
	mode = (a.flags & FS_ATTR_PERM) ? (a.perm & 0777) : 0666;
	if ((i = handle_new(s, H_FILE, path)) < 0)
		return send_status(s, id, SSH2_FX_FAILURE,
		    "too many open handles");
	if ((rc = fs_open(s->fs, path, flags, mode, &f)) != 0) {
		free(s->h[i].path);
		memset(&s->h[i], 0, sizeof(s->h[i]));
		return send_errno(s, id, rc);
	}
	s->h[i].file = f;
	log_debug("open \"%s\" flags=0x%x", path, pf);
	send_handle(s, id, i);
}

static void
do_close(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;

	if ((h = rd_handle(s, r, H_FREE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	handle_close(s, h);
	send_status(s, id, SSH2_FX_OK, NULL);
}

static void
do_read(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;
	uint64_t off;
	uint32_t len;
	size_t at, got = 0;
	uint8_t *p;
	int rc;

	if ((h = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if (rd_u64(r, &off) || rd_u32(r, &len))
		return BAD(s, id);
	if (len > SFTP_MAX_IO)
		len = SFTP_MAX_IO;
	at = begin(s, SSH2_FXP_DATA, id);
	wb_u32(&s->out, 0);
	if ((p = wb_reserve(&s->out, len)) == NULL) {
		s->out.len = at;
		return send_status(s, id, SSH2_FX_FAILURE, "out of memory");
	}
	rc = fs_pread(s->fs, h->file, p, len, off, &got);
	if (rc != 0 || got == 0) {
		s->out.len = at;
		if (rc != 0)
			return send_errno(s, id, rc);
		return send_status(s, id, SSH2_FX_EOF, NULL);
	}
	s->out.len = at + 4 + 1 + 4 + 4 + got;
	wb_put_u32_at(&s->out, at + 9, (uint32_t)got);
	end(s, at);
}

static void
do_write(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;
	uint64_t off;
	const uint8_t *data;
	size_t len;

	if ((h = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if (rd_u64(r, &off) || rd_str(r, &data, &len))
		return BAD(s, id);
	send_errno(s, id, fs_pwrite(s->fs, h->file, data, len, off));
}

static void
send_attrs(struct sftp *s, uint32_t id, const struct stat *st)
{
	size_t at = begin(s, SSH2_FXP_ATTRS, id);

	wb_attrs(&s->out, st);
	end(s, at);
}

static void
do_stat_common(struct sftp *s, uint32_t id, struct rd *r, int follow)
{
	char path[PATH_BUF];
	struct stat st;
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((rc = fs_stat(s->fs, path, follow, &st)) != 0)
		return send_errno(s, id, rc);
	send_attrs(s, id, &st);
}

static void
do_lstat(struct sftp *s, uint32_t id, struct rd *r)
{
	do_stat_common(s, id, r, 0);
}

static void
do_stat(struct sftp *s, uint32_t id, struct rd *r)
{
	do_stat_common(s, id, r, 1);
}

static void
do_fstat(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;
	struct stat st;
	int rc;

	if ((h = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if ((rc = fs_fstat(s->fs, h->file, &st)) != 0)
		return send_errno(s, id, rc);
	send_attrs(s, id, &st);
}

static void
setstat_common(struct sftp *s, uint32_t id, struct rd *r, int follow)
{
	char path[PATH_BUF];
	struct fs_attr a;

	if (rd_cstr(r, path, sizeof(path)) || rd_attrs(r, &a))
		return BAD(s, id);
	send_errno(s, id, fs_setstat(s->fs, path, follow, &a));
}

static void
do_setstat(struct sftp *s, uint32_t id, struct rd *r)
{
	setstat_common(s, id, r, 1);
}

static void
do_fsetstat(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;
	struct fs_attr a;

	if ((h = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if (rd_attrs(r, &a))
		return BAD(s, id);
	send_errno(s, id, fs_fsetstat(s->fs, h->file, &a));
}

static void
do_opendir(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	struct fs_dir *d;
	int i, rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((i = handle_new(s, H_DIR, path)) < 0)
		return send_status(s, id, SSH2_FX_FAILURE,
		    "too many open handles");
	if ((rc = fs_opendir(s->fs, path, &d)) != 0) {
		free(s->h[i].path);
		memset(&s->h[i], 0, sizeof(s->h[i]));
		return send_errno(s, id, rc);
	}
	s->h[i].dir = d;
	send_handle(s, id, i);
}

/* "ls -l" style line, as OpenSSH's sftp shows for `ls -l`. */
static void
longname(struct sftp *s, const char *name, const struct stat *st, char *buf,
    size_t len)
{
	char mode[11] = "----------", date[32], owner[40], group[40];
	static const char *rwx = "rwxrwxrwx";
	struct tm tm;
	time_t now = time(NULL);
	int i;

	if (S_ISDIR(st->st_mode))
		mode[0] = 'd';
	else if (S_ISLNK(st->st_mode))
		mode[0] = 'l';
	else if (!S_ISREG(st->st_mode))
		mode[0] = '?';
	for (i = 0; i < 9; i++)
		if (st->st_mode & (0400 >> i))
			mode[i + 1] = rwx[i];
	localtime_r(&st->st_mtime, &tm);
	if (st->st_mtime > now - 182 * 86400 && st->st_mtime < now + 86400)
		strftime(date, sizeof(date), "%b %e %H:%M", &tm);
	else
		strftime(date, sizeof(date), "%b %e  %Y", &tm);
	if (st->st_uid == geteuid()) {
		snprintf(owner, sizeof(owner), "%s", s->user);
		snprintf(group, sizeof(group), "%s", s->user);
	} else {
		snprintf(owner, sizeof(owner), "%u", (unsigned)st->st_uid);
		snprintf(group, sizeof(group), "%u", (unsigned)st->st_gid);
	}
	snprintf(buf, len, "%s %3u %-8s %-8s %8llu %s %s", mode,
	    (unsigned)st->st_nlink, owner, group,
	    (unsigned long long)st->st_size, date, name);
}

static void
do_readdir(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;
	const char *name;
	struct stat st;
	char ln[NAME_MAX + 128];
	size_t at, count_at, start;
	uint32_t count = 0;
	int rc = 0;

	if ((h = rd_handle(s, r, H_DIR)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	at = begin(s, SSH2_FXP_NAME, id);
	count_at = s->out.len;
	wb_u32(&s->out, 0);
	start = s->out.len;
	while (count < READDIR_MAX_NAMES &&
	    s->out.len - start < READDIR_MAX_BYTES &&
	    (rc = fs_readdir(s->fs, h->dir, &name, &st)) == 1) {
		longname(s, name, &st, ln, sizeof(ln));
		wb_cstr(&s->out, name);
		wb_cstr(&s->out, ln);
		wb_attrs(&s->out, &st);
		count++;
	}
	if (count == 0) {
		s->out.len = at;
		if (rc < 0)
			return send_errno(s, id, rc);
		return send_status(s, id, SSH2_FX_EOF, NULL);
	}
	wb_put_u32_at(&s->out, count_at, count);
	end(s, at);
}

static void
do_remove(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	rc = fs_remove(s->fs, path);
	if (rc == 0)
		log_info("remove \"%s\"", path);
	send_errno(s, id, rc);
}

static void
do_mkdir(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	struct fs_attr a;
	int rc;

	if (rd_cstr(r, path, sizeof(path)) || rd_attrs(r, &a))
		return BAD(s, id);
	rc = fs_mkdir(s->fs, path, (a.flags & FS_ATTR_PERM) ?
	    (a.perm & 0777) : 0777);
	if (rc == 0)
		log_info("mkdir \"%s\"", path);
	send_errno(s, id, rc);
}

static void
do_rmdir(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	rc = fs_rmdir(s->fs, path);
	if (rc == 0)
		log_info("rmdir \"%s\"", path);
	send_errno(s, id, rc);
}

static void
send_name(struct sftp *s, uint32_t id, const char *name)
{
	size_t at = begin(s, SSH2_FXP_NAME, id);

	wb_u32(&s->out, 1);
	wb_cstr(&s->out, name);
	wb_cstr(&s->out, name);
	wb_u32(&s->out, 0); /* no attributes */
	end(s, at);
}

static void
do_realpath(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF], out[PATH_BUF];
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((rc = fs_realpath(s->fs, path, out, sizeof(out))) != 0)
		return send_errno(s, id, rc);
	send_name(s, id, out);
}

static void
rename_common(struct sftp *s, uint32_t id, struct rd *r, int overwrite)
{
	char from[PATH_BUF], to[PATH_BUF];
	int rc;

	if (rd_cstr(r, from, sizeof(from)) || rd_cstr(r, to, sizeof(to)))
		return BAD(s, id);
	rc = fs_rename(s->fs, from, to, overwrite);
	if (rc == 0)
		log_info("rename \"%s\" -> \"%s\"", from, to);
	send_errno(s, id, rc);
}

static void
do_rename(struct sftp *s, uint32_t id, struct rd *r)
{
	rename_common(s, id, r, 0);
}

static void
do_readlink(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF], target[PATH_BUF];
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((rc = fs_readlink(s->fs, path, target, sizeof(target))) != 0)
		return send_errno(s, id, rc);
	send_name(s, id, target);
}

static void
do_symlink(struct sftp *s, uint32_t id, struct rd *r)
{
	char target[PATH_BUF], link[PATH_BUF];
	int rc;

	/* OpenSSH sends (target, linkpath) — reversed from the draft —
	 * and every client in use follows it. */
	if (rd_cstr(r, target, sizeof(target)) ||
	    rd_cstr(r, link, sizeof(link)))
		return BAD(s, id);
	rc = fs_symlink(s->fs, target, link);
	if (rc == 0)
		log_info("symlink \"%s\" -> \"%s\"", link, target);
	send_errno(s, id, rc);
}

/* ---- extensions -------------------------------------------------- */

static void
x_posix_rename(struct sftp *s, uint32_t id, struct rd *r)
{
	rename_common(s, id, r, 1);
}

static void
send_statvfs(struct sftp *s, uint32_t id)
{
	struct fs_space sp;
	size_t at;
	int rc;

	if ((rc = fs_statvfs(s->fs, &sp)) != 0)
		return send_errno(s, id, rc);
	at = begin(s, SSH2_FXP_EXTENDED_REPLY, id);
	wb_u64(&s->out, 4096);     /* f_bsize: preferred I/O size */
	wb_u64(&s->out, 1);        /* f_frsize: counts are in bytes */
	wb_u64(&s->out, sp.total); /* f_blocks */
	wb_u64(&s->out, sp.avail); /* f_bfree */
	wb_u64(&s->out, sp.avail); /* f_bavail */
	wb_u64(&s->out, 0);        /* f_files */
	wb_u64(&s->out, 0);        /* f_ffree */
	wb_u64(&s->out, 0);        /* f_favail */
	wb_u64(&s->out, 0);        /* f_fsid */
	wb_u64(&s->out, (fs_read_only(s->fs) ? 1 : 0) | 2); /* RDONLY|NOSUID */
	wb_u64(&s->out, NAME_MAX);
	end(s, at);
}

static void
x_statvfs(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF];
	struct stat st;
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((rc = fs_stat(s->fs, path, 1, &st)) != 0)
		return send_errno(s, id, rc);
	send_statvfs(s, id);
}

static void
x_fstatvfs(struct sftp *s, uint32_t id, struct rd *r)
{
	if (rd_handle(s, r, H_FILE) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	send_statvfs(s, id);
}

static void
x_hardlink(struct sftp *s, uint32_t id, struct rd *r)
{
	char from[PATH_BUF], to[PATH_BUF];
	int rc;

	if (rd_cstr(r, from, sizeof(from)) || rd_cstr(r, to, sizeof(to)))
		return BAD(s, id);
	rc = fs_link(s->fs, from, to);
	if (rc == 0)
		log_info("link \"%s\" -> \"%s\"", to, from);
	send_errno(s, id, rc);
}

static void
x_fsync(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *h;

	if ((h = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	send_errno(s, id, fs_fsync(s->fs, h->file));
}

static void
x_lsetstat(struct sftp *s, uint32_t id, struct rd *r)
{
	setstat_common(s, id, r, 0);
}

static void
x_limits(struct sftp *s, uint32_t id, struct rd *r)
{
	size_t at = begin(s, SSH2_FXP_EXTENDED_REPLY, id);

	wb_u64(&s->out, SFTP_MAX_FRAME);
	wb_u64(&s->out, SFTP_MAX_IO);
	wb_u64(&s->out, SFTP_MAX_IO);
	wb_u64(&s->out, (uint64_t)s->nh);
	end(s, at);
}

/* "~", "~/x" and "~USER/x" for our own user: the home is "/". */
static int
expand_home(struct sftp *s, const char *in, char *out, size_t len)
{
	const char *rest;
	size_t ul;

	if (in[0] != '~') {
		snprintf(out, len, "%s", in);
		return 0;
	}
	rest = strchr(in, '/');
	ul = rest != NULL ? (size_t)(rest - in - 1) : strlen(in + 1);
	if (ul > 0 && (ul != strlen(s->user) ||
	    strncasecmp(in + 1, s->user, ul) != 0))
		return -ENOENT;
	snprintf(out, len, "/%s", rest != NULL ? rest + 1 : "");
	return 0;
}

static void
x_expand_path(struct sftp *s, uint32_t id, struct rd *r)
{
	char path[PATH_BUF], exp[PATH_BUF], out[PATH_BUF];
	int rc;

	if (rd_cstr(r, path, sizeof(path)))
		return BAD(s, id);
	if ((rc = expand_home(s, path, exp, sizeof(exp))) != 0 ||
	    (rc = fs_realpath(s->fs, exp, out, sizeof(out))) != 0)
		return send_errno(s, id, rc);
	send_name(s, id, out);
}

static void
x_home_directory(struct sftp *s, uint32_t id, struct rd *r)
{
	char user[256];

	if (rd_cstr(r, user, sizeof(user)))
		return BAD(s, id);
	if (user[0] != '\0' && strcasecmp(user, s->user) != 0)
		return send_status(s, id, SSH2_FX_NO_SUCH_FILE, NULL);
	send_name(s, id, "/");
}

static void
x_copy_data(struct sftp *s, uint32_t id, struct rd *r)
{
	struct handle *rh, *wh;
	uint64_t roff, rlen, woff, done = 0;
	static uint8_t buf[64 * 1024];
	int rc = 0;

	if ((rh = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if (rd_u64(r, &roff) || rd_u64(r, &rlen))
		return BAD(s, id);
	if ((wh = rd_handle(s, r, H_FILE)) == NULL)
		return send_status(s, id, SSH2_FX_FAILURE, "invalid handle");
	if (rd_u64(r, &woff))
		return BAD(s, id);
	if (roff > INT64_MAX || woff > INT64_MAX)
		return BAD(s, id);
	if (rlen == 0) {
		/* "To the end of file": fixed now, so a copy into the same
		 * file can't chase its own tail. */
		struct stat st;

		if ((rc = fs_fstat(s->fs, rh->file, &st)) != 0)
			return send_errno(s, id, rc);
		rlen = (uint64_t)st.st_size > roff ?
		    (uint64_t)st.st_size - roff : 0;
		if (rlen == 0)
			return send_status(s, id, SSH2_FX_OK, NULL);
	}
	if (rlen > (uint64_t)INT64_MAX - woff ||
	    rlen > (uint64_t)INT64_MAX - roff)
		return BAD(s, id);
	if (rh == wh && roff < woff + rlen && woff < roff + rlen)
		return send_status(s, id, SSH2_FX_FAILURE,
		    "overlapping copy-data ranges");
	while (done < rlen) {
		size_t want = sizeof(buf), got = 0;

		if (rlen - done < want)
			want = (size_t)(rlen - done);
		if ((rc = fs_pread(s->fs, rh->file, buf, want, roff + done,
			 &got)) != 0 || got == 0)
			break;
		if ((rc = fs_pwrite(s->fs, wh->file, buf, got,
			 woff + done)) != 0)
			break;
		done += got;
	}
	send_errno(s, id, rc);
}

/* ---- the request table ------------------------------------------- */

/* Does this OPEN write?  (peeks, does not consume) */
static int
open_writes(struct rd r)
{
	const uint8_t *p;
	size_t n;
	uint32_t pf;

	if (rd_str(&r, &p, &n) || rd_u32(&r, &pf))
		return 0; /* malformed: the handler answers BAD_MESSAGE */
	return (pf & (SSH2_FXF_WRITE | SSH2_FXF_APPEND | SSH2_FXF_CREAT |
	    SSH2_FXF_TRUNC)) != 0;
}

enum { W_NO = 0, W_YES, W_OPEN };

static const struct request {
	uint8_t type;
	const char *name;
	handler_fn fn;
	int does_write; /* refused for read-only accounts */
} requests[] = {
	{ SSH2_FXP_OPEN, "open", do_open, W_OPEN },
	{ SSH2_FXP_CLOSE, "close", do_close, W_NO },
	{ SSH2_FXP_READ, "read", do_read, W_NO },
	{ SSH2_FXP_WRITE, "write", do_write, W_YES },
	{ SSH2_FXP_LSTAT, "lstat", do_lstat, W_NO },
	{ SSH2_FXP_FSTAT, "fstat", do_fstat, W_NO },
	{ SSH2_FXP_SETSTAT, "setstat", do_setstat, W_YES },
	{ SSH2_FXP_FSETSTAT, "fsetstat", do_fsetstat, W_YES },
	{ SSH2_FXP_OPENDIR, "opendir", do_opendir, W_NO },
	{ SSH2_FXP_READDIR, "readdir", do_readdir, W_NO },
	{ SSH2_FXP_REMOVE, "remove", do_remove, W_YES },
	{ SSH2_FXP_MKDIR, "mkdir", do_mkdir, W_YES },
	{ SSH2_FXP_RMDIR, "rmdir", do_rmdir, W_YES },
	{ SSH2_FXP_REALPATH, "realpath", do_realpath, W_NO },
	{ SSH2_FXP_STAT, "stat", do_stat, W_NO },
	{ SSH2_FXP_RENAME, "rename", do_rename, W_YES },
	{ SSH2_FXP_READLINK, "readlink", do_readlink, W_NO },
	{ SSH2_FXP_SYMLINK, "symlink", do_symlink, W_YES },
};

static const struct extension {
	const char *name;
	const char *version; /* advertised in VERSION; NULL: not listed */
	handler_fn fn;
	int does_write;
} extensions[] = {
	{ "posix-rename@openssh.com", "1", x_posix_rename, W_YES },
	{ "statvfs@openssh.com", "2", x_statvfs, W_NO },
	{ "fstatvfs@openssh.com", "2", x_fstatvfs, W_NO },
	{ "hardlink@openssh.com", "1", x_hardlink, W_YES },
	{ "fsync@openssh.com", "1", x_fsync, W_NO },
	{ "lsetstat@openssh.com", "1", x_lsetstat, W_YES },
	{ "limits@openssh.com", "1", x_limits, W_NO },
	{ "expand-path@openssh.com", "1", x_expand_path, W_NO },
	{ "copy-data", "1", x_copy_data, W_YES },
	{ "home-directory", "1", x_home_directory, W_NO },
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
refuse_read_only(struct sftp *s, uint32_t id, const char *what)
{
	log_info("refused %s: read-only account", what);
	send_status(s, id, SSH2_FX_PERMISSION_DENIED, "read-only account");
}

static void
do_extended(struct sftp *s, uint32_t id, struct rd *r)
{
	char name[128];
	size_t i;

	if (rd_cstr(r, name, sizeof(name)))
		return BAD(s, id);
	for (i = 0; i < NITEMS(extensions); i++) {
		if (strcmp(name, extensions[i].name) != 0)
			continue;
		if (extensions[i].does_write && fs_read_only(s->fs))
			return refuse_read_only(s, id, name);
		return extensions[i].fn(s, id, r);
	}
	log_debug("unsupported extension \"%s\"", name);
	send_status(s, id, SSH2_FX_OP_UNSUPPORTED, NULL);
}

static void
send_version(struct sftp *s)
{
	size_t at = s->out.len, i;

	wb_u32(&s->out, 0);
	wb_u8(&s->out, SSH2_FXP_VERSION);
	wb_u32(&s->out, 3);
	for (i = 0; i < NITEMS(extensions); i++) {
		if (extensions[i].version == NULL)
			continue;
		wb_cstr(&s->out, extensions[i].name);
		wb_cstr(&s->out, extensions[i].version);
	}
	end(s, at);
}

/* One frame (without its length).  -1: protocol error. */
static int
dispatch(struct sftp *s, const uint8_t *p, size_t len)
{
	struct rd r = { p, len };
	uint8_t type;
	uint32_t id;
	size_t i;

	if (rd_u8(&r, &type))
		return -1;
	if (type == SSH2_FXP_INIT) {
		uint32_t version;

		if (s->inited || rd_u32(&r, &version))
			return -1;
		s->inited = 1;
		log_debug("sftp client version %u", version);
		send_version(s);
		return 0;
	}
	if (!s->inited || rd_u32(&r, &id))
		return -1;
	if (type == SSH2_FXP_EXTENDED) {
		do_extended(s, id, &r);
		return 0;
	}
	for (i = 0; i < NITEMS(requests); i++) {
		const struct request *q = &requests[i];

		if (q->type != type)
			continue;
		if (fs_read_only(s->fs) && (q->does_write == W_YES ||
		    (q->does_write == W_OPEN && open_writes(r))))
			refuse_read_only(s, id, q->name);
		else
			q->fn(s, id, &r);
		return 0;
	}
	log_debug("unsupported request type %u", type);
	send_status(s, id, SSH2_FX_OP_UNSUPPORTED, NULL);
	return 0;
}

/* ---- public ------------------------------------------------------ */

int
sftp_new(struct fs *fs, const char *user, int max_handles, struct sftp **out)
{
	struct sftp *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->fs = fs;
	s->nh = max_handles;
	if ((s->user = strdup(user)) == NULL ||
	    (s->h = calloc((size_t)max_handles, sizeof(*s->h))) == NULL ||
	    wb_init(&s->out, 64 * 1024, SFTP_OUT_HIGH + 2 * SFTP_MAX_FRAME)) {
		sftp_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
sftp_free(struct sftp *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; s->h != NULL && i < s->nh; i++)
		if (s->h[i].kind != H_FREE)
			handle_close(s, &s->h[i]);
	free(s->h);
	free(s->user);
	wb_free(&s->out);
	free(s);
}

int
sftp_input(struct sftp *s, const uint8_t *in, size_t len, size_t *used)
{
	size_t off = 0;

	while (len - off >= 4 && s->out.len < SFTP_OUT_HIGH) {
		uint32_t n = (uint32_t)in[off] << 24 |
		    (uint32_t)in[off + 1] << 16 | (uint32_t)in[off + 2] << 8 |
		    in[off + 3];

		if (n == 0 || n > SFTP_MAX_FRAME) {
			log_warn("sftp: bad frame length %u, closing", n);
			*used = off;
			return -1;
		}
		if (len - off - 4 < n)
			break;
		if (dispatch(s, in + off + 4, n) != 0) {
			log_warn("sftp: malformed frame, closing");
			*used = off;
			return -1;
		}
		if (s->out.failed) {
			log_error("sftp: output buffer failure, closing");
			*used = off;
			return -1;
		}
		off += 4 + n;
	}
	*used = off;
	return 0;
}

const uint8_t *
sftp_output(struct sftp *s, size_t *len)
{
	*len = s->out.len;
	return s->out.p;
}

void
sftp_sent(struct sftp *s, size_t n)
{
	wb_consume(&s->out, n);
}
