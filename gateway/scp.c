/*
 * scp.c — the legacy scp protocol (`scp -O`, and every scp before
 * OpenSSH 9.0) served natively over the fs layer: no shell, no
 * /usr/bin/scp, so confinement, read-only and quota hold as for SFTP.
 *
 * "scp [-v] [-r] [-p] [-d] -t [--] TARGET" makes us the sink (the client
 * uploads); "scp [-v] [-r] [-p] -f [--] SRC..." the source (the client
 * downloads).  Records, each answered by the other side with one byte —
 * 0 ok, 1 + "scp: message\n" a warning (the client prints it, goes on,
 * and exits non-zero), 2 + message fatal:
 *
 *   T<mtime> 0 <atime> 0\n    times for the next C or D (-p)
 *   C<mode> <size> <name>\n   a file: size bytes follow, then a 0 byte
 *                             (or a warning) from the sender, answered
 *   D<mode> 0 <name>\n        enter a directory (-r) ... E\n leave it
 *   1 or 2 + message\n        an error from the sender, not answered
 *
 * On top of the fs layer, the sink refuses a name that is not one plain
 * component ("", ".", "..", anything holding '/': the CVE-2019-6111
 * class), refuses a file whose announced size would not fit before
 * writing its first byte, and never leaves a file whose data did not all
 * land:
 *
 * - a new name is written in place and removed on any failure;
 * - over an existing regular file (also through a symbolic link) the
 *   data goes to a new file beside it, ".coffer-scp." and 10 random
 *   characters, made O_EXCL through the fs layer (fs_replace_open), and
 *   is renamed over it (fs_rename) only after the last byte landed and the
 *   client said 0.  Any failure — a refused or failed write, the client's
 *   error, input ending mid-file (a killed client, a dropped connection,
 *   the session ended by an account change) — removes the new file and
 *   leaves the old one as it was, byte for byte.  The new file gets the
 *   old one's mode, as OpenSSH's scp keeps it when it overwrites in place,
 *   or with -p the mode (and times) sent.  Unlike scp in place it is a
 *   new inode: other hard links keep the old content.
 *
 * Quota on an overwrite.  Usage is the sum of what is on disk, so while
 * the new copy is written both copies count, and the copy is charged as
 * any new file: replacing a file needs room for the new copy until the
 * rename (as with rsync's temporary files), so that no limit is passed,
 * even for a moment and whatever several sessions do at once.  The C
 * line's full size is checked before the first byte, and every write
 * is charged; the rename then gives the old file's bytes back.
 */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "fs.h"
#include "log.h"
#include "scp.h"

#define SCP_BUF (64 * 1024)  /* one read from the client, one data block */
#define SCP_LINE_MAX 2048    /* a control record, as OpenSSH's */
#define SCP_DEPTH_MAX 64     /* directories nested in one transfer */
#define SCP_PATHS_MAX 4096   /* source paths after expansion */
#define SCP_TMP_PREFIX ".coffer-scp." /* an overwrite's new copy */

/* Times from a T record, for the next C or D. */
struct times {
	int set;
	uint32_t mtime, atime;
};

/* A directory the sink is in (D ... E). */
struct frame {
	char *path;       /* the directory, as the client named it */
	struct times t;   /* set when leaving */
	int chmod;        /* set mode when leaving */
	uint32_t mode;
};

struct scp {
	struct fs *fs;
	struct chan_io *io;
	const char *user;     /* the account's name: names its root */
	int recursive;        /* -r */
	int preserve;         /* -p: times and modes */
	int want_dir;         /* -d: the target must be a directory */
	mode_t umask;         /* applied to modes without -p */
	int errs;             /* warnings sent or received: exit status 1 */
	struct {
		dev_t dev;
		ino_t ino;
	} up[SCP_DEPTH_MAX];  /* source: the directories being sent */
	size_t in_at, in_len; /* unread input in in[in_at..in_len) */
	unsigned char in[SCP_BUF];
	unsigned char blk[SCP_BUF];   /* source: one data block */
	char line[SCP_LINE_MAX + 64]; /* source: the record being sent */
};

/* ---- the byte stream ---------------------------------------------- */

/* 0, or -1 at the end of the input or on an error. */
static int
fill(struct scp *s)
{
	ssize_t n;

	if (s->in_at < s->in_len)
		return 0;
	n = s->io->read(s->io->ctx, s->in, sizeof(s->in));
	if (n <= 0)
		return -1;
	s->in_at = 0;
	s->in_len = (size_t)n;
	return 0;
}

static int
get_byte(struct scp *s, unsigned char *c)
{
	if (fill(s) != 0)
		return -1;
	*c = s->in[s->in_at++];
	return 0;
}

/*
 * A line without its '\n' into buf: 0, -1 at the end of the input, -2
 * if longer than len - 1 bytes or holding a NUL.
 */
static int
get_line(struct scp *s, char *buf, size_t len)
{
	size_t n = 0;
	unsigned char c;

	for (;;) {
		if (get_byte(s, &c) != 0)
			return -1;
		if (c == '\n')
			break;
		if (c == '\0' || n + 1 >= len)
			return -2;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

static int
put(struct scp *s, const void *buf, size_t len)
{
	return s->io->write(s->io->ctx, buf, len);
}

static int
ack(struct scp *s)
{
	return put(s, "", 1);
}

/*
 * A warning (level 1) or fatal error (2) for the client, logged: the
 * answer to a record, or (source) a record of its own.  0, or -2 if it
 * could not be sent (the transfer can't go on).
 */
static int __attribute__((format(printf, 3, 4)))
say(struct scp *s, int level, const char *fmt, ...)
{
	char msg[1024 + 8];
	va_list ap;
	size_t i, n;

	msg[0] = (char)level;
	memcpy(msg + 1, "scp: ", 5);
	va_start(ap, fmt);
	vsnprintf(msg + 6, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	n = strlen(msg + 6) + 6;
	for (i = 6; i < n; i++)
		if ((unsigned char)msg[i] < ' ')
			msg[i] = '?'; /* one line, whatever a name holds */
	log_info("scp %s: %s", level == 1 ? "error" : "fatal", msg + 6);
	msg[n++] = '\n';
	s->errs++;
	return put(s, msg, n) != 0 ? -2 : 0;
}

/*
 * The client's answer to a record: 0 ok, -1 a warning (the client has
 * printed it), -2 fatal or lost.
 */
static int
response(struct scp *s)
{
	char msg[SCP_LINE_MAX];
	unsigned char c;
	int rc;

	if (get_byte(s, &c) != 0)
		return -2;
	if (c == 0)
		return 0;
	rc = get_line(s, msg, sizeof(msg));
	s->errs++;
	if (c != 1 && c != 2) {
		log_info("scp: protocol error: answer 0x%02x", c);
		return -2;
	}
	if (rc == 0)
		log_info("scp: client reports: %s", msg);
	return c == 1 && rc == 0 ? -1 : -2;
}

/* ---- paths and errors ---------------------------------------------- */

/* The one place an fs error becomes text for the client. */
static const char *
errstr(struct scp *s, int rc, char *buf, size_t len)
{
	uint64_t avail;

	switch (-rc) {
	case EDQUOT:
		avail = fs_quota_avail(s->fs);
		snprintf(buf, len, "quota exceeded: %" PRIu64
		    " bytes available", avail == UINT64_MAX ? 0 : avail);
		return buf;
	case EROFS:
		return "read-only account";
	case EXDEV:
		return "outside the account's folder";
	default:
		return strerror(-rc);
	}
}

/* dir + "/" + name, malloc'd into *out: 0, -ENAMETOOLONG or -ENOMEM. */
static int
join(const char *dir, const char *name, char **out)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int slash = dl > 0 && dir[dl - 1] != '/';
	char *p;

	if (dl > SCP_PATH_MAX || nl > SCP_PATH_MAX - dl - (size_t)slash)
		return -ENAMETOOLONG;
	if ((p = malloc(dl + (size_t)slash + nl + 1)) == NULL)
		return -ENOMEM;
	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	*out = p;
	return 0;
}

/* A name the sink accepts: one plain component. */
static int
plain_name(const char *name)
{
	return *name != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* ---- sink: the client uploads --------------------------------------- */

/* Unsigned decimal at *pp up to max: 0, or -1. */
static int
parse_num(const char **pp, uint64_t max, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*out = v;
	return 0;
}

/* "T<mtime> <usec> <atime> <usec>" (after the T). */
static int
parse_times(const char *p, struct times *t)
{
	uint64_t mt, mu, at, au;

	if (parse_num(&p, UINT64_MAX, &mt) || *p++ != ' ' ||
	    parse_num(&p, 999999, &mu) || *p++ != ' ' ||
	    parse_num(&p, UINT64_MAX, &at) || *p++ != ' ' ||
	    parse_num(&p, 999999, &au) || *p != '\0')
		return -1;
	/* Times past what the fs layer stores are dropped, as OpenSSH
	 * drops those past its time_t. */
	t->set = mt <= UINT32_MAX && at <= UINT32_MAX;
	t->mtime = (uint32_t)mt;
	t->atime = (uint32_t)at;
	return 0;
}

/* "C0644 <size> <name>" / "D0755 0 <name>" (after the letter). */
static int
parse_entry(const char *p, uint32_t *mode, uint64_t *size,
    const char **name)
{
	uint32_t m = 0;
	int i;

	for (i = 0; i < 4; i++, p++) {
		if (*p < '0' || *p > '7')
			return -1;
		m = (m << 3) | (uint32_t)(*p - '0');
	}
	if (*p++ != ' ' || parse_num(&p, INT64_MAX, size) || *p++ != ' ')
		return -1;
	*mode = m & 0777;
	*name = p;
	return 0;
}

/*
 * A C record: check, open, take size bytes, answer.  0 to go on, -2 when
 * the transfer can't go on (input lost, or fatal from the client).
 *
 * Over an existing regular file the bytes go to a new hidden file beside
 * it (fs_replace_open), renamed over it only once they all landed; it
 * keeps the old file's mode unless -p.  A new file is written in place
 * and removed if its data did not all land.
 */
static int
recv_file(struct scp *s, const char *path, uint32_t mode, uint64_t size,
    const struct times *t)
{
	char eb[128];
	struct fs_file *f = NULL;
	struct fs_attr a;
	struct stat st;
	uint64_t off = 0, nw = 0;
	uint32_t perm = mode;
	int rc, werr = 0, r, link = 0, over = 0;

	if (fs_stat(s->fs, path, 1, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return say(s, 1, "%s: %s", path, strerror(EISDIR));
		if (S_ISREG(st.st_mode)) {
			over = 1; /* quota: the whole new copy, see above */
			if (!s->preserve)
				perm = st.st_mode & 0777;
		}
	} else
		link = fs_stat(s->fs, path, 0, &st) == 0 &&
		    S_ISLNK(st.st_mode);
	/* Before a byte is written: does it fit at all? */
	if ((rc = fs_quota_check(s->fs, path, size)) == 0)
		rc = over ? fs_replace_open(s->fs, path, SCP_TMP_PREFIX, &f) :
		    fs_open(s->fs, path, O_WRONLY | O_CREAT | O_TRUNC, mode,
			&f);
	if (rc != 0)
		return say(s, 1, "%s: %s", path,
		    errstr(s, rc, eb, sizeof(eb)));
	if (ack(s) != 0) {
		r = -2;
		goto fail;
	}
	/* Every byte is read, also after a failed write: the stream stays
	 * in step and the client gets its answer after the data.  Bytes
	 * are written as they arrive, straight from the input buffer. */
	while (off < size) {
		size_t n;

		if (fill(s) != 0) {
			log_info("scp: input ended inside \"%s\"", path);
			r = -2;
			goto fail;
		}
		n = s->in_len - s->in_at;
		if (n > size - off)
			n = (size_t)(size - off);
		if (werr == 0)
			werr = fs_pwrite(s->fs, f, s->in + s->in_at, n, off);
		s->in_at += n;
		off += n;
	}
	if ((r = response(s)) == -2)
		goto fail;
	if (werr != 0 || r == -1) { /* -1: the client could not read it all */
		r = 0;
		goto fail;
	}
	memset(&a, 0, sizeof(a));
	if (over || s->preserve) {
		a.flags = FS_ATTR_PERM;
		a.perm = perm;
	}
	if (s->preserve && t->set) {
		a.flags |= FS_ATTR_TIMES;
		a.mtime = t->mtime;
		a.atime = t->atime;
	}
	rc = a.flags != 0 ? fs_fsetstat(s->fs, f, &a) : 0;
	if (over) {
		/* The old file's mode is part of it: not set, not replaced. */
		if ((werr = rc) != 0 ||
		    (werr = fs_replace_commit(s->fs, f, &nw)) != 0) {
			f = NULL;
			goto kept;
		}
		rc = 0;
	} else
		fs_close(s->fs, f, NULL, &nw);
	log_info("close \"%s\" read=0 written=%" PRIu64 "%s", path, nw,
	    over ? " (replaced)" : "");
	if (rc != 0)
		return say(s, 1, "%s: set mode and times: %s", path,
		    errstr(s, rc, eb, sizeof(eb)));
	return ack(s) != 0 ? -2 : 0;
fail:
	if (over) {
		fs_replace_abort(s->fs, f, &nw);
		f = NULL;
		goto kept;
	}
	/*
	 * A file that did not fully land is not left behind (a symbolic
	 * link written through keeps its target, emptied).  The space it
	 * took comes back, so the message below says what fits now.
	 */
	if (link) {
		memset(&a, 0, sizeof(a));
		a.flags = FS_ATTR_SIZE;
		rc = fs_fsetstat(s->fs, f, &a);
	}
	fs_close(s->fs, f, NULL, &nw);
	if (!link)
		rc = fs_remove(s->fs, path);
	log_info("scp: removed partial \"%s\" (%" PRIu64 " of %" PRIu64
	    " bytes)%s", path, nw, size, rc != 0 ? ": failed" : "");
	goto answer;
kept:
	/* The new file is gone (fs_replace_*), the old one untouched. */
	log_info("scp: \"%s\" kept as it was, its replacement dropped (%"
	    PRIu64 " of %" PRIu64 " bytes)", path, nw, size);
answer:
	if (r == -2)
		return -2;
	if (werr != 0)
		return say(s, 1, "%s: %s", path,
		    errstr(s, werr, eb, sizeof(eb)));
	return ack(s) != 0 ? -2 : 0; /* the client said why already */
}

/*
 * A D record: make or reuse the directory and enter it (*depth + 1).
 * 0 to go on, -1 refused (the client skips the directory), -2 fatal.
 */
static int
recv_dir(struct scp *s, const char *path, uint32_t mode,
    const struct times *t, struct frame *fr, size_t *depth)
{
	char eb[128];
	struct stat st;
	struct frame *f = &fr[*depth];
	int rc;

	if (!s->recursive) {
		say(s, 2, "protocol error: received directory without -r");
		return -2;
	}
	if (*depth == SCP_DEPTH_MAX)
		return say(s, 1, "%s: directories nested too deeply", path) ?
		    -2 : -1;
	memset(f, 0, sizeof(*f));
	if ((rc = fs_stat(s->fs, path, 1, &st)) == 0) {
		if (!S_ISDIR(st.st_mode))
			return say(s, 1, "%s: %s", path, strerror(ENOTDIR)) ?
			    -2 : -1;
		f->chmod = s->preserve;
		f->mode = mode;
	} else if (rc == -ENOENT) {
		/* Writable for us until E, whatever the mode says. */
		if ((rc = fs_mkdir(s->fs, path, mode | 0700)) != 0)
			return say(s, 1, "%s: %s", path,
			    errstr(s, rc, eb, sizeof(eb))) ? -2 : -1;
		log_info("mkdir \"%s\"", path);
		f->mode = s->preserve ? mode : mode & ~s->umask;
		f->chmod = s->preserve || (mode & 0700) != 0700;
	} else {
		return say(s, 1, "%s: %s", path,
		    errstr(s, rc, eb, sizeof(eb))) ? -2 : -1;
	}
	if ((f->path = strdup(path)) == NULL)
		return say(s, 1, "%s: %s", path, strerror(ENOMEM)) ? -2 : -1;
	f->t = *t;
	(*depth)++;
	return ack(s) != 0 ? -2 : 0;
}

/* An E record: leave the directory, setting what -p asked for. */
static int
leave_dir(struct scp *s, struct frame *f)
{
	char eb[128];
	struct fs_attr a;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	if (f->chmod) {
		a.flags |= FS_ATTR_PERM;
		a.perm = f->mode;
	}
	if (f->t.set) {
		a.flags |= FS_ATTR_TIMES;
		a.mtime = f->t.mtime;
		a.atime = f->t.atime;
	}
	if (a.flags != 0)
		rc = fs_setstat(s->fs, f->path, 1, &a);
	if (rc != 0)
		rc = say(s, 1, "%s: set mode and times: %s", f->path,
		    errstr(s, rc, eb, sizeof(eb)));
	else
		rc = ack(s);
	free(f->path);
	f->path = NULL;
	return rc != 0 ? -2 : 0;
}

/* Receives into target until the client is done; the exit status. */
static int
sink(struct scp *s, const char *target)
{
	struct frame fr[SCP_DEPTH_MAX];
	struct times t = { 0, 0, 0 };
	char line[SCP_LINE_MAX], eb[128], *path = NULL;
	const char *name;
	struct stat st;
	unsigned char c;
	uint64_t size;
	uint32_t mode;
	size_t depth = 0;
	int rc, tdir, first = 1, fatal = 0;

	if (fs_read_only(s->fs)) {
		say(s, 2, "read-only account: uploads are refused");
		return 1;
	}
	rc = fs_stat(s->fs, target, 1, &st);
	tdir = rc == 0 && S_ISDIR(st.st_mode);
	if (s->want_dir && !tdir) {
		say(s, 2, "%s: %s", target, rc != 0 ?
		    errstr(s, rc, eb, sizeof(eb)) : strerror(ENOTDIR));
		return 1;
	}
	if (ack(s) != 0)
		return 1;
	for (;; first = 0) {
		if (get_byte(s, &c) != 0)
			break; /* the client is done */
		line[0] = (char)c;
		if (c == '\n' || get_line(s, line + 1, sizeof(line) - 1)) {
			say(s, 2, "protocol error: bad control record");
			fatal = 1;
			break;
		}
		if (c == 1 || c == 2) {
			/* The client's own error: printed there, counted. */
			log_info("scp: client reports: %s", line + 1);
			s->errs++;
			if (c == 2) {
				fatal = 1;
				break;
			}
			continue;
		}
		if (c == 'E' && line[1] == '\0') {
			if (depth == 0) {
				ack(s);
				break;
			}
			t.set = 0;
			if (leave_dir(s, &fr[--depth]) != 0) {
				fatal = 1;
				break;
			}
			continue;
		}
		if (c == 'T') {
			if (parse_times(line + 1, &t) != 0) {
				say(s, 2, "protocol error: bad T record");
				fatal = 1;
				break;
			}
			if (ack(s) != 0) {
				fatal = 1;
				break;
			}
			continue;
		}
		if (c != 'C' && c != 'D') {
			say(s, 2, "protocol error: %s", first ?
			    "expected control record" : "bad control record");
			fatal = 1;
			break;
		}
		if (parse_entry(line + 1, &mode, &size, &name) != 0) {
			say(s, 2, "protocol error: bad %c record", c);
			fatal = 1;
			break;
		}
		if (!plain_name(name)) {
			say(s, 2, "error: unexpected filename: %s", name);
			fatal = 1;
			break;
		}
		if (depth > 0)
			rc = join(fr[depth - 1].path, name, &path);
		else if (tdir)
			rc = join(target, name, &path);
		else
			rc = (path = strdup(target)) == NULL ? -ENOMEM : 0;
		if (rc != 0) {
			rc = say(s, 1, "%s: %s", name, strerror(-rc));
		} else if (c == 'C') {
			rc = recv_file(s, path, mode, size, &t);
		} else {
			rc = recv_dir(s, path, mode, &t, fr, &depth);
		}
		free(path);
		path = NULL;
		t.set = 0;
		if (rc == -2) {
			fatal = 1;
			break;
		}
	}
	while (depth > 0)
		free(fr[--depth].path);
	return fatal || s->errs > 0 ? 1 : 0;
}

/* ---- source: the client downloads ----------------------------------- */

static int send_tree(struct scp *s, const char *path, const char *name,
    const struct stat *st, size_t depth);

/* A T record if -p: 0, -1 refused, -2 fatal. */
static int
send_times(struct scp *s, const struct stat *st)
{
	if (!s->preserve)
		return 0;
	snprintf(s->line, sizeof(s->line), "T%lld 0 %lld 0\n",
	    (long long)st->st_mtime, (long long)st->st_atime);
	if (put(s, s->line, strlen(s->line)) != 0)
		return -2;
	return response(s);
}

/* One regular file: 0 to go on, -2 fatal. */
static int
send_file(struct scp *s, const char *path, const char *name)
{
	char eb[128];
	struct fs_file *f = NULL;
	struct stat st;
	uint64_t size, off = 0, nr = 0;
	int rc, r, rerr = 0;

	if ((rc = fs_open(s->fs, path, O_RDONLY, 0, &f)) != 0 ||
	    (rc = fs_fstat(s->fs, f, &st)) != 0) {
		r = say(s, 1, "%s: %s", path,
		    errstr(s, rc, eb, sizeof(eb)));
		goto out;
	}
	if ((r = send_times(s, &st)) != 0)
		goto out;
	size = (uint64_t)st.st_size;
	snprintf(s->line, sizeof(s->line), "C%04o %" PRIu64 " %s\n",
	    (unsigned)(st.st_mode & 0777), size, name);
	if (put(s, s->line, strlen(s->line)) != 0) {
		r = -2;
		goto out;
	}
	if ((r = response(s)) != 0)
		goto out;
	/* Exactly size bytes, whatever happens to the file meanwhile. */
	while (off < size) {
		size_t n = size - off > SCP_BUF ? SCP_BUF :
		    (size_t)(size - off), have = 0, got;

		while (rerr == 0 && have < n) {
			rerr = fs_pread(s->fs, f, s->blk + have, n - have,
			    off + have, &got);
			if (rerr == 0 && got == 0)
				rerr = -EIO; /* it shrank */
			have += rerr == 0 ? got : 0;
		}
		if (have < n)
			memset(s->blk + have, 0, n - have);
		if (put(s, s->blk, n) != 0) {
			r = -2;
			goto out;
		}
		off += n;
	}
	if (rerr == 0)
		r = ack(s) != 0 ? -2 : 0;
	else
		r = say(s, 1, "%s: %s", path,
		    errstr(s, rerr, eb, sizeof(eb)));
	if (r == 0)
		r = response(s);
out:
	if (f != NULL) {
		fs_close(s->fs, f, &nr, NULL);
		log_info("close \"%s\" read=%" PRIu64 " written=0", path, nr);
	}
	return r == -2 ? -2 : 0;
}

/* One entry of a directory being sent: 0 to go on, -2 fatal. */
static int
send_entry(struct scp *s, const char *dir, const char *name,
    const struct stat *lst, size_t depth)
{
	char eb[128], *path = NULL;
	struct stat st = *lst;
	int rc, r = 0;

	if (strchr(name, '\n') != NULL)
		return say(s, 1, "%s/%s: skipping, filename contains a "
		    "newline", dir, name);
	if ((rc = join(dir, name, &path)) != 0)
		return say(s, 1, "%s/%s: %s", dir, name, strerror(-rc));
	/* Symbolic links are followed, as scp does, and stay in the root. */
	if (S_ISLNK(st.st_mode) && (rc = fs_stat(s->fs, path, 1, &st)) != 0)
		r = say(s, 1, "%s: %s", path, errstr(s, rc, eb, sizeof(eb)));
	else if (S_ISREG(st.st_mode))
		r = send_file(s, path, name);
	else if (S_ISDIR(st.st_mode))
		r = send_tree(s, path, name, &st, depth + 1);
	else
		r = say(s, 1, "%s: not a regular file", path);
	free(path);
	return r != 0 ? -2 : 0;
}

/* A directory and all beneath it (-r): 0 to go on, -2 fatal. */
static int
send_tree(struct scp *s, const char *path, const char *name,
    const struct stat *st, size_t depth)
{
	char eb[128];
	struct fs_dir *d = NULL;
	struct stat est;
	const char *ename;
	size_t i;
	int rc, r;

	if (depth >= SCP_DEPTH_MAX)
		return say(s, 1, "%s: directories nested too deeply", path);
	for (i = 0; i < depth; i++)
		if (s->up[i].dev == st->st_dev && s->up[i].ino == st->st_ino)
			return say(s, 1, "%s: directory loop, skipped",
			    path);
	if ((rc = fs_opendir(s->fs, path, &d)) != 0)
		return say(s, 1, "%s: %s", path,
		    errstr(s, rc, eb, sizeof(eb)));
	s->up[depth].dev = st->st_dev;
	s->up[depth].ino = st->st_ino;
	if ((r = send_times(s, st)) != 0)
		goto out;
	snprintf(s->line, sizeof(s->line), "D%04o 0 %s\n",
	    (unsigned)(st->st_mode & 0777), name);
	if (put(s, s->line, strlen(s->line)) != 0) {
		r = -2;
		goto out;
	}
	if ((r = response(s)) != 0)
		goto out; /* refused: the client skips it */
	while ((rc = fs_readdir(s->fs, d, &ename, &est)) == 1) {
		if (strcmp(ename, ".") == 0 || strcmp(ename, "..") == 0)
			continue;
		if ((r = send_entry(s, path, ename, &est, depth)) != 0)
			goto out;
	}
	if (rc < 0 && say(s, 1, "%s: %s", path,
	    errstr(s, rc, eb, sizeof(eb))) != 0) {
		r = -2;
		goto out;
	}
	r = put(s, "E\n", 2) != 0 ? -2 : response(s);
out:
	fs_closedir(s->fs, d);
	return r == -2 ? -2 : 0;
}

/*
 * The name a source is sent under: its last component; for ".", ".."
 * and the like, that of its real path; the root goes by the account's
 * name.  Into buf (NAME_MAX + 1).
 */
static void
source_name(struct scp *s, const char *path, char *buf)
{
	char real[SCP_PATH_MAX + 1];
	const char *b = strrchr(path, '/');

	b = b != NULL ? b + 1 : path;
	if (plain_name(b)) {
		snprintf(buf, NAME_MAX + 1, "%s", b);
		return;
	}
	b = NULL;
	if (fs_realpath(s->fs, path, real, sizeof(real)) == 0 &&
	    (b = strrchr(real, '/')) != NULL)
		b++;
	snprintf(buf, NAME_MAX + 1, "%s", b != NULL && plain_name(b) ? b :
	    plain_name(s->user) ? s->user : "home");
}

/* One path from the command line: 0 to go on, -2 fatal. */
static int
send_path(struct scp *s, char *path)
{
	char eb[128], name[NAME_MAX + 1];
	struct stat st;
	size_t len = strlen(path);
	int rc, r;

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if (len == 0)
		r = say(s, 1, "%s: %s", path, strerror(ENOENT));
	else if (strchr(path, '\n') != NULL)
		r = say(s, 1, "%s: skipping, filename contains a newline",
		    path);
	else if ((rc = fs_stat(s->fs, path, 1, &st)) != 0)
		r = say(s, 1, "%s: %s", path, errstr(s, rc, eb, sizeof(eb)));
	else if (S_ISREG(st.st_mode)) {
		source_name(s, path, name);
		return send_file(s, path, name);
	} else if (S_ISDIR(st.st_mode) && s->recursive) {
		source_name(s, path, name);
		return send_tree(s, path, name, &st, 0);
	} else
		r = say(s, 1, "%s: not a regular file", path);
	return r != 0 ? -2 : 0;
}

/* Sends paths; the exit status. */
static int
source(struct scp *s, char **paths, size_t n)
{
	size_t i;

	/* The client speaks first: a 0 byte when it is ready. */
	if (response(s) != 0)
		return 1;
	for (i = 0; i < n; i++)
		if (send_path(s, paths[i]) != 0)
			return 1;
	return s->errs > 0 ? 1 : 0;
}

/* ---- the command line ------------------------------------------------ */

/*
 * Options (getopt style, "--" ends them): 't' or 'f' into *role, the
 * index of the first operand into *first.  -1 with a message sent.
 */
static int
parse_options(struct scp *s, const struct scp_words *ws, int *role,
    size_t *first)
{
	char opt[SCP_PATH_MAX + 1];
	const char *p;
	size_t i;

	*role = 0;
	if (ws->n == 0 || strcmp(ws->w[0].text, "scp") != 0) {
		say(s, 2, "not an scp command");
		return -1;
	}
	for (i = 1; i < ws->n; i++) {
		if (scp_unescape(ws->w[i].text, opt, sizeof(opt)) != 0 ||
		    opt[0] != '-' || opt[1] == '\0' || ws->w[i].glob)
			break;
		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		for (p = opt + 1; *p != '\0'; p++) {
			switch (*p) {
			case 'r':
				s->recursive = 1;
				break;
			case 'p':
				s->preserve = 1;
				break;
			case 'd':
				s->want_dir = 1;
				break;
			case 'v':
			case 'q':
				break;
			case 't':
			case 'f':
				if (*role != 0 && *role != *p) {
					say(s, 2, "-t and -f exclude each "
					    "other");
					return -1;
				}
				*role = *p;
				break;
			default:
				say(s, 2, "unknown option -%c; usage: scp "
				    "[-prdv] -t|-f [--] PATH...",
				    (unsigned char)*p >= ' ' ? *p : '?');
				return -1;
			}
		}
	}
	if (*role == 0) {
		say(s, 2, "usage: scp [-prdv] -t|-f [--] PATH...");
		return -1;
	}
	*first = i;
	return 0;
}

/*
 * The operands as paths: literal words as they are, patterns expanded
 * (or as they are when nothing matches, as a shell does).  -1 with a
 * message sent.
 */
static int
expand(struct scp *s, const struct scp_words *ws, size_t first,
    char ***out, size_t *nout)
{
	char **paths = NULL, **m = NULL, *lit = NULL;
	size_t n = 0, nm = 0, i, j;
	int rc = -1, r;

	if ((paths = calloc(SCP_PATHS_MAX, sizeof(*paths))) == NULL ||
	    (lit = malloc(SCP_PATH_MAX + 1)) == NULL) {
		say(s, 2, "%s", strerror(ENOMEM));
		goto out;
	}
	for (i = first; i < ws->n; i++) {
		if (scp_unescape(ws->w[i].text, lit, SCP_PATH_MAX + 1) != 0) {
			say(s, 2, "%.64s...: %s", ws->w[i].text,
			    strerror(ENAMETOOLONG));
			goto out;
		}
		m = NULL;
		nm = 0;
		if (ws->w[i].glob &&
		    (r = scp_glob(s->fs, ws->w[i].text, &m, &nm)) != 0) {
			say(s, 2, "%s: %s", lit, r == COF_ELIMIT ?
			    "pattern too costly (too many matches or "
			    "entries)" : cof_strerror(r));
			goto out;
		}
		if (n + (nm > 0 ? nm : 1) > SCP_PATHS_MAX) {
			say(s, 2, "too many paths");
			goto out;
		}
		for (j = 0; j < nm; j++) {
			paths[n++] = m[j];
			m[j] = NULL;
		}
		if (nm == 0 && (paths[n++] = strdup(lit)) == NULL) {
			say(s, 2, "%s", strerror(ENOMEM));
			goto out;
		}
		scp_paths_free(m, nm);
		m = NULL;
		nm = 0;
	}
	*out = paths;
	*nout = n;
	paths = NULL;
	n = 0;
	rc = 0;
out:
	scp_paths_free(m, nm);
	scp_paths_free(paths, n);
	free(lit);
	return rc;
}

int
scp_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io)
{
	struct scp_words ws = { NULL, 0 };
	struct scp *s;
	const char *why = "";
	char **paths = NULL;
	size_t npaths = 0, first = 0;
	int rc, role, status = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		io->write(io->ctx, "\2scp: out of memory\n", 20);
		return 1;
	}
	s->fs = fs;
	s->io = io;
	s->user = user;
	s->umask = umask(0);
	umask(s->umask);
	if ((rc = scp_words_split(command, user, &ws, &why)) != 0) {
		say(s, 2, "command line: %s", rc == COF_ENOMEM ?
		    cof_strerror(rc) : why);
		goto out;
	}
	if (parse_options(s, &ws, &role, &first) != 0 ||
	    expand(s, &ws, first, &paths, &npaths) != 0)
		goto out;
	log_debug("scp %s%s%s, %zu path(s)", role == 't' ? "sink" : "source",
	    s->recursive ? " -r" : "", s->preserve ? " -p" : "", npaths);
	if (role == 'f')
		status = source(s, paths, npaths);
	else if (npaths != 1)
		say(s, 2, npaths == 0 ? "no target" : "ambiguous target");
	else
		status = sink(s, paths[0]);
out:
	scp_paths_free(paths, npaths);
	scp_words_free(&ws);
	free(s);
	return status;
}
