/*
 * receiver.c — `rsync --server` without --sender: uploads.
 *
 * rsync runs the generator and the receiver as two processes; here they
 * are one loop.  The generator walks the sorted file list: it makes
 * directories and symlinks, skips what the quick check (size and mtime,
 * or -c checksum, or --size-only) finds up to date, deletes extraneous
 * files (--delete), and asks the client's sender for the rest, with the
 * block sums of the file it has (delta transfer).  It runs ahead of the
 * receiver by at most RS_INFLIGHT_MAX requests or RS_INFLIGHT_BYTES, so
 * neither side can block the other.  The receiver rebuilds each file
 * from literal data and basis blocks into a temporary ".NAME.XXXXXX" in
 * the same directory (fs_open O_EXCL, every write charged by fs_pwrite),
 * checks the whole-file checksum, sets the attributes and renames it over
 * the target; a file that fails verification is asked for again once
 * with full-length sums (the redo phase).  Nothing half-written ever
 * replaces a good file, except with --inplace or --partial, which ask for
 * exactly that.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "extern.h"
#include "log.h"

#define WBUF (256 * 1024)
#define TMP_TRIES 100

struct recv {
	char base[RS_PATH_MAX];  /* destination directory ("" = the root) */
	char solo[RS_PATH_MAX];  /* one file to this name, or "" */
	int dest_new;            /* we made the destination directory */
	int dest_missing;        /* dry run: it doesn't exist */
	int phase;               /* 0 transfers, 1 redo */
	int32_t *redo;           /* indexes to ask for again */
	size_t nredo;
	int del_warned;          /* "I/O error: no deletions" said */
	int del_skipped;         /* --max-delete stopped these */
	/* The file being received, for cleanup on abort. */
	struct fs_file *out;     /* temp file (or the target, --inplace) */
	char tmp[RS_PATH_MAX];   /* its name, "" with --inplace */
	char dst[RS_PATH_MAX];   /* the target */
	int got_data;            /* literal data was written (--partial) */
	unsigned char *wbuf;     /* write buffer */
	size_t wlen;
	uint64_t woff;           /* file offset of wbuf[0] */
	uint64_t rnd;            /* temporary names' generator (0: unseeded) */
	/* Basis data read ahead: wbuf[wlen, wlen + ra_have) is the basis
	 * from block ra_next on, the block after the last one received. */
	int32_t ra_next;
	size_t ra_have;
};

static int
entry_path(const struct recv *r, const struct flent *e, char *out,
    size_t len)
{
	if (r->solo[0] != '\0') {
		if (strlen(r->solo) >= len)
			return RS_EPROTO;
		strcpy(out, r->solo);
		return 0;
	}
	return path_join(out, len, r->base, e->name);
}

static const char *
base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b != NULL ? b + 1 : path;
}

/*
 * ".NAME.XXXXXX" next to path.  The letters need only differ from a
 * name already there (the file is made O_EXCL, retried on a clash), so
 * they come from a generator seeded once per session rather than from a
 * getrandom(2) per file.
 */
static void
tmp_name(struct recv *r, const char *path, char *out, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	const char *b = base_name(path);
	uint64_t z;
	char suf[7];
	size_t bl = strlen(b), i;

	if (r->rnd == 0 && getrandom(&r->rnd, sizeof(r->rnd), 0) !=
	    (ssize_t)sizeof(r->rnd))
		r->rnd = (uint64_t)time(NULL) << 20 ^ (uint64_t)random();
	/* splitmix64 */
	z = (r->rnd += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (i = 0; i < 6; i++, z >>= 8)
		suf[i] = abc[(z & 0xff) % (sizeof(abc) - 1)];
	suf[6] = '\0';
	if (bl > RS_NAME_MAX - 8)
		bl = RS_NAME_MAX - 8;
	snprintf(out, len, "%.*s.%.*s.%s", (int)(b - path), path, (int)bl, b,
	    suf);
}

/* -- requests in flight ------------------------------------------------ */

static int
q_push(struct sess *s, int32_t ndx, int transfer, size_t bytes)
{
	struct inflight *q;

	if (s->qlen >= RS_INFLIGHT_MAX)
		return RS_EPROTO;
	q = &s->q[(s->qhead + s->qlen) % RS_INFLIGHT_MAX];
	q->ndx = ndx;
	q->transfer = transfer;
	q->bytes = bytes;
	s->qlen++;
	s->qbytes += bytes;
	return 0;
}

static struct inflight *
q_front(struct sess *s)
{
	return s->qlen > 0 ? &s->q[s->qhead] : NULL;
}

static void
q_pop(struct sess *s)
{
	s->qbytes -= s->q[s->qhead].bytes;
	s->qhead = (s->qhead + 1) % RS_INFLIGHT_MAX;
	s->qlen--;
}

int
recv_no_send(struct sess *s, int32_t ndx)
{
	struct inflight *q = q_front(s);

	if (s->o.sender || q == NULL || q->ndx != ndx || !q->transfer)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "unexpected MSG_NO_SEND for index %d", (int)ndx);
	s->fl.e[ndx].flags |= FL_FAILED;
	q_pop(s);
	return 0;
}

/* -- attributes ---------------------------------------------------------- */

static int
same_time(const struct sess *s, const struct stat *st, const struct flent *e)
{
	int64_t d = (int64_t)st->st_mtim.tv_sec - e->mtime;

	/* As rsync: whole seconds by default, nanoseconds too with
	 * --modify-window=-1. */
	if (s->o.modify_window == 0)
		return d == 0;
	if (s->o.modify_window < 0)
		return d == 0 && (uint32_t)st->st_mtim.tv_nsec == e->nsec;
	return d >= -s->o.modify_window && d <= s->o.modify_window;
}

/* The permission bits a file should end with. */
static uint32_t
want_perms(const struct sess *s, const struct flent *e, const struct stat *st,
    int is_new)
{
	uint32_t m = e->mode & 0777;

	if (s->o.perms)
		return m;
	if (is_new)
		return m & ~(uint32_t)s->umask;
	m = (uint32_t)st->st_mode & 0777;
	if (s->o.executability && !S_ISDIR(e->mode)) {
		if ((e->mode & 0111) && !(m & 0111))
			m |= (m & 0444) >> 2;
		else if (!(e->mode & 0111) && (m & 0111))
			m &= ~0111u;
	}
	return m;
}

/* What differs between st and e, as ITEM_REPORT_* flags. */
static uint16_t
attr_diffs(const struct sess *s, const struct flent *e, const struct stat *st)
{
	uint16_t f = 0;

	if (S_ISREG(e->mode) && (int64_t)st->st_size != e->size)
		f |= ITEM_REPORT_SIZE;
	if (s->o.times && !(S_ISDIR(e->mode) && s->o.omit_dir_times) &&
	    !S_ISLNK(e->mode) && !same_time(s, st, e))
		f |= ITEM_REPORT_TIME;
	if (!S_ISLNK(e->mode) &&
	    ((uint32_t)st->st_mode & 0777) != want_perms(s, e, st, 0))
		f |= ITEM_REPORT_PERMS;
	return f;
}

/*
 * Sets perms/times on path (f: an open handle to it, or NULL).  st is
 * what the target was (for the permissions kept without -p); force: a
 * fresh copy, whose permissions and times are all still to be set.
 */
static int
set_attrs(struct sess *s, const char *path, struct fs_file *f,
    const struct flent *e, const struct stat *st, int is_new, int force)
{
	struct fs_attr a;
	uint32_t p = want_perms(s, e, st, is_new);
	int rc = 0;

	if (s->o.dry_run)
		return 0;
	memset(&a, 0, sizeof(a));
	if (is_new || force || ((uint32_t)st->st_mode & 0777) != p) {
		a.flags |= FS_ATTR_PERM;
		a.perm = p;
	}
	if (s->o.times && !(S_ISDIR(e->mode) &&
	    s->o.omit_dir_times) && (is_new || force || !same_time(s, st, e)) &&
	    e->mtime >= 0 && e->mtime <= UINT32_MAX) {
		a.flags |= FS_ATTR_TIMES;
		a.mtime = (uint32_t)e->mtime;
		a.mtime_nsec = e->nsec;
		a.atime = (uint32_t)time(NULL);
	}
	if (a.flags == 0)
		return 0;
	rc = f != NULL ? fs_fsetstat(s->fs, f, &a) :
	    fs_setstat(s->fs, path, 0, &a);
	if (rc != 0)
		sess_xfer_error(s, "rsync: failed to set attributes on "
		    "\"%s\": %s (%d)", e->name, strerror(-rc), -rc);
	return 0;
}

static int make_room(struct sess *s, struct recv *r, size_t bytes);

/* Tells the client's sender about a local change (it logs it). */
static int
itemize(struct sess *s, struct recv *r, int32_t ndx, uint16_t iflags)
{
	struct ndx_attrs na;
	int rc;

	if (!(iflags & ~(ITEM_BASIS_TYPE_FOLLOWS | ITEM_XNAME_FOLLOWS |
	    ITEM_LOCAL_CHANGE)))
		return 0;
	if ((rc = make_room(s, r, 3)) != 0)
		return rc;
	na.ndx = ndx;
	na.iflags = iflags;
	if ((rc = io_write_ndx_attrs(s, &na)) != 0)
		return rc;
	return q_push(s, ndx, 0, 3);
}

/* -- deletion ------------------------------------------------------------ */

static void
tell_deleted(struct sess *s, const char *rel, int is_dir, int is_link)
{
	if (s->o.verbose > 0 || s->o.itemize)
		sess_info(s, "%s%s%s", s->o.itemize ? "*deleting   " :
		    "deleting ", rel, is_dir ? "/" : "");
	if (is_dir)
		s->del_stats[1]++;
	else if (is_link)
		s->del_stats[2]++;
	else
		s->del_stats[0]++;
	s->deletions++;
}

/* Removes path (rel in the transfer) and what's under it; protected
 * (excluded) names stay, and so do their directories.  1 if all went. */
static int
remove_tree(struct sess *s, const char *path, const char *rel, int depth)
{
	char *cp, *cr;
	struct fs_dir *d;
	const char *nm;
	struct stat st;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int r, all = 1, rc;

	if (depth > RS_PATH_MAX / 2 || fs_opendir(s->fs, path, &d) != 0)
		return 0;
	/* On the heap: the recursion is as deep as the tree. */
	if ((cp = malloc(2 * RS_PATH_MAX)) == NULL) {
		fs_closedir(s->fs, d);
		return 0;
	}
	cr = cp + RS_PATH_MAX;
	while ((r = fs_readdir(s->fs, d, &nm, &st)) > 0) {
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 32;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(nm)) == NULL)
			break;
		n++;
	}
	fs_closedir(s->fs, d);
	if (r != 0)
		all = 0;
	for (i = 0; i < n; i++) {
		if (path_join(cp, RS_PATH_MAX, path, names[i]) != 0 ||
		    path_join(cr, RS_PATH_MAX, rel, names[i]) != 0 ||
		    fs_stat(s->fs, cp, 0, &st) != 0) {
			all = 0;
			continue;
		}
		if (rules_excluded(s, cr, S_ISDIR(st.st_mode))) {
			all = 0;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!remove_tree(s, cp, cr, depth + 1))
				all = 0;
			continue;
		}
		if (!s->o.dry_run && (rc = fs_remove(s->fs, cp)) != 0) {
			sess_xfer_error(s, "rsync: delete_file: unlink "
			    "\"%s\" failed: %s (%d)", cr, strerror(-rc), -rc);
			all = 0;
			continue;
		}
		log_info("rsync: removed \"%s\"", cp);
		tell_deleted(s, cr, 0, S_ISLNK(st.st_mode));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(cp);
	if (!all)
		return 0;
	if (!s->o.dry_run && (rc = fs_rmdir(s->fs, path)) != 0) {
		sess_xfer_error(s, "rsync: delete_file: rmdir \"%s\" failed: "
		    "%s (%d)", rel, strerror(-rc), -rc);
		return 0;
	}
	log_info("rsync: removed \"%s\"", path);
	tell_deleted(s, rel, 1, 0);
	return 1;
}

/* Something of the wrong type in the way of e: away with it. */
static int
clear_way(struct sess *s, const char *path, const char *rel,
    const struct stat *st)
{
	int rc;

	if (s->o.dry_run)
		return 0;
	if (S_ISDIR(st->st_mode)) {
		if (s->o.delete != DEL_NONE || s->o.force)
			return remove_tree(s, path, rel, 0) ? 0 : -ENOTEMPTY;
		if ((rc = fs_rmdir(s->fs, path)) != 0)
			return rc;
		log_info("rsync: removed \"%s\"", path);
		return 0;
	}
	if ((rc = fs_remove(s->fs, path)) == 0)
		log_info("rsync: removed \"%s\"", path);
	return rc;
}

static int
io_error_blocks_delete(struct sess *s, struct recv *r)
{
	if (s->io_error == 0 || s->o.ignore_errors)
		return 0;
	if (!r->del_warned)
		sess_info(s, "IO error encountered -- skipping file deletion");
	r->del_warned = 1;
	return 1;
}

/* --delete in one directory of the list: what it has that the list
 * doesn't, unless protected by a filter rule. */
static int
delete_in_dir(struct sess *s, struct recv *r, const char *path,
    const char *rel)
{
	char cp[RS_PATH_MAX], cr[RS_PATH_MAX];
	struct fs_dir *d;
	const char *nm;
	struct stat st;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	ssize_t k;
	int rr, rc = 0;

	if (io_error_blocks_delete(s, r))
		return 0;
	if (r->dest_missing || fs_opendir(s->fs, path, &d) != 0)
		return 0;
	while ((rr = fs_readdir(s->fs, d, &nm, &st)) > 0) {
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 32;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL) {
				rc = RS_ENOMEM;
				break;
			}
			names = nn;
		}
		if ((names[n] = strdup(nm)) == NULL) {
			rc = RS_ENOMEM;
			break;
		}
		n++;
	}
	fs_closedir(s->fs, d);
	for (i = 0; i < n && rc == 0; i++) {
		if (path_join(cr, sizeof(cr), strcmp(rel, ".") == 0 ? "" : rel,
		    names[i]) != 0 || path_join(cp, sizeof(cp), path,
		    names[i]) != 0 || fs_stat(s->fs, cp, 0, &st) != 0)
			continue;
		if (((k = flist_find(&s->fl, cr, 1)) >= 0 &&
		    !(s->fl.e[k].flags & FL_INACTIVE)) ||
		    ((k = flist_find(&s->fl, cr, 0)) >= 0 &&
		    !(s->fl.e[k].flags & FL_INACTIVE)))
			continue;
		if (rules_excluded(s, cr, S_ISDIR(st.st_mode)))
			continue;
		if (s->o.max_delete >= 0 && s->deletions >= s->o.max_delete) {
			r->del_skipped++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			remove_tree(s, cp, cr, 0);
			continue;
		}
		if (!s->o.dry_run && (rr = fs_remove(s->fs, cp)) != 0) {
			sess_xfer_error(s, "rsync: delete_file: unlink \"%s\" "
			    "failed: %s (%d)", cr, strerror(-rr), -rr);
			continue;
		}
		log_info("rsync: removed \"%s\"", cp);
		tell_deleted(s, cr, 0, S_ISLNK(st.st_mode));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* --delete-before / --delete-after: every content directory. */
static int
delete_pass(struct sess *s, struct recv *r)
{
	char path[RS_PATH_MAX];
	size_t i;
	int rc;

	if (r->solo[0] != '\0')
		return 0;
	for (i = 0; i < s->fl.n; i++) {
		struct flent *e = &s->fl.e[i];

		if (!S_ISDIR(e->mode) || !(e->flags & FL_CONTENT_DIR) ||
		    (e->flags & (FL_INACTIVE | FL_FAILED)))
			continue;
		if (entry_path(r, e, path, sizeof(path)) != 0)
			continue;
		if ((rc = delete_in_dir(s, r, path, e->name)) != 0)
			return rc;
	}
	return 0;
}

/* -- the generator ----------------------------------------------------- */

static int
gen_dir(struct sess *s, struct recv *r, int32_t ndx)
{
	struct flent *e = &s->fl.e[ndx];
	char path[RS_PATH_MAX];
	struct stat st;
	uint16_t iflags = 0;
	int exists, rc;

	if (entry_path(r, e, path, sizeof(path)) != 0)
		return 0;
	exists = !r->dest_missing && fs_stat(s->fs, path,
	    strcmp(e->name, ".") == 0, &st) == 0;
	if (exists && !S_ISDIR(st.st_mode)) {
		if ((rc = clear_way(s, path, e->name, &st)) != 0) {
			sess_xfer_error(s, "rsync: could not replace \"%s\" "
			    "with a directory: %s (%d)", e->name,
			    strerror(-rc), -rc);
			e->flags |= FL_FAILED;
			return 0;
		}
		exists = 0;
	}
	if (strcmp(e->name, ".") == 0 && r->dest_new)
		exists = 0;
	else if (!exists) {
		if (!s->o.dry_run) {
			rc = fs_mkdir(s->fs, path, 0700 | (e->mode & 0777));
			if (rc != 0 && rc != -EEXIST) {
				sess_xfer_error(s, "rsync: recv_generator: "
				    "mkdir \"%s\" failed: %s (%d)", e->name,
				    strerror(-rc), -rc);
				e->flags |= FL_FAILED;
				return 0;
			}
			log_info("rsync: mkdir \"%s\"", path);
		}
	}
	if (!exists) {
		e->flags |= FL_NEW;
		iflags = ITEM_LOCAL_CHANGE | ITEM_IS_NEW;
	} else
		iflags = attr_diffs(s, e, &st);
	if ((rc = itemize(s, r, ndx, iflags)) != 0)
		return rc;
	if (s->o.delete == DEL_DURING && (e->flags & FL_CONTENT_DIR) && exists)
		return delete_in_dir(s, r, path, e->name);
	return 0;
}

/* --safe-links: a link that leaves the transfer is unsafe. */
static int
unsafe_link(const char *target, const char *name)
{
	const char *p;
	int depth = 0;

	if (*target == '/')
		return 1;
	for (p = name; (p = strchr(p, '/')) != NULL; p++)
		depth++;
	for (p = target; *p != '\0';) {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int
gen_link(struct sess *s, struct recv *r, int32_t ndx)
{
	struct flent *e = &s->fl.e[ndx];
	char path[RS_PATH_MAX], tmp[RS_PATH_MAX], cur[RS_PATH_MAX];
	struct stat st;
	int exists, rc, i;

	if (entry_path(r, e, path, sizeof(path)) != 0 || e->link == NULL)
		return 0;
	if (s->o.safe_links && unsafe_link(e->link, e->name)) {
		if (s->o.verbose)
			sess_info(s, "ignoring unsafe symlink \"%s\" -> \"%s\"",
			    e->name, e->link);
		return 0;
	}
	exists = !r->dest_missing && fs_stat(s->fs, path, 0, &st) == 0;
	if (exists && S_ISLNK(st.st_mode) &&
	    fs_readlink(s->fs, path, cur, sizeof(cur)) == 0 &&
	    strcmp(cur, e->link) == 0) {
		e->flags |= FL_DONE;
		return 0;
	}
	if (exists && S_ISDIR(st.st_mode) &&
	    (rc = clear_way(s, path, e->name, &st)) != 0) {
		sess_xfer_error(s, "rsync: could not replace \"%s\" with a "
		    "symlink: %s (%d)", e->name, strerror(-rc), -rc);
		e->flags |= FL_FAILED;
		return 0;
	}
	if (!s->o.dry_run) {
		rc = -EEXIST;
		for (i = 0; i < TMP_TRIES && rc == -EEXIST; i++) {
			tmp_name(r, path, tmp, sizeof(tmp));
			rc = fs_symlink(s->fs, e->link, tmp);
		}
		if (rc == 0 && (rc = fs_rename(s->fs, tmp, path, 1)) != 0)
			fs_remove(s->fs, tmp);
		if (rc != 0) {
			sess_xfer_error(s, "rsync: symlink \"%s\" -> \"%s\" "
			    "failed: %s (%d)", e->name, e->link, strerror(-rc),
			    -rc);
			e->flags |= FL_FAILED;
			return 0;
		}
		log_info("rsync: symlink \"%s\" -> \"%s\"", path, e->link);
	}
	e->flags |= FL_DONE;
	return itemize(s, r, ndx, ITEM_LOCAL_CHANGE | (exists ?
	    ITEM_REPORT_CHANGE : ITEM_IS_NEW));
}

static int recv_item(struct sess *s, struct recv *r, int *done);

/* Reads more answers until a request of `bytes` fits in the window. */
static int
make_room(struct sess *s, struct recv *r, size_t bytes)
{
	int done, rc;

	while (s->qlen > 0 && (s->qlen >= RS_INFLIGHT_MAX - 1 ||
	    s->qbytes + bytes > RS_INFLIGHT_BYTES)) {
		if ((rc = recv_item(s, r, &done)) != 0)
			return rc;
		if (done)
			return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "unexpected end of phase from the sender");
	}
	return 0;
}

static int
quick_check(struct sess *s, const char *path, const struct flent *e,
    const struct stat *st)
{
	unsigned char sum[SUM_LENGTH];

	if ((int64_t)st->st_size != e->size)
		return 0;
	if (s->o.checksum)
		return e->sum != NULL && file_csum(s, path, sum) == 0 &&
		    memcmp(sum, e->sum, (size_t)s->csum_len) == 0;
	if (s->o.size_only)
		return 1;
	if (s->o.ignore_times)
		return 0;
	return same_time(s, st, e);
}

static int
gen_file(struct sess *s, struct recv *r, int32_t ndx, int full)
{
	struct flent *e = &s->fl.e[ndx];
	char path[RS_PATH_MAX];
	struct ndx_attrs na;
	struct fs_file *f = NULL;
	struct sums sm;
	struct stat st;
	uint16_t iflags;
	size_t bytes;
	int exists, basis, rc;

	if (entry_path(r, e, path, sizeof(path)) != 0)
		return 0;
	if ((s->o.max_size >= 0 && e->size > s->o.max_size) ||
	    (s->o.min_size >= 0 && e->size < s->o.min_size))
		return 0;
	exists = !r->dest_missing && fs_stat(s->fs, path, 0, &st) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		if ((rc = clear_way(s, path, e->name, &st)) != 0) {
			sess_xfer_error(s, "rsync: cannot delete non-empty "
			    "directory: %s", e->name);
			e->flags |= FL_FAILED;
			return 0;
		}
		exists = 0;
	}
	if (exists && !S_ISREG(st.st_mode) && s->o.inplace && !s->o.dry_run &&
	    !(s->o.existing && !full)) {
		if ((rc = clear_way(s, path, e->name, &st)) != 0) {
			sess_xfer_error(s, "rsync: could not replace \"%s\": "
			    "%s (%d)", e->name, strerror(-rc), -rc);
			e->flags |= FL_FAILED;
			return 0;
		}
		exists = 0;
	}
	if (!full) {
		if (s->o.existing && !exists)
			return 0;
		if (s->o.ignore_existing && exists)
			return 0;
		if (s->o.update && exists && S_ISREG(st.st_mode) &&
		    (int64_t)st.st_mtim.tv_sec > e->mtime)
			return 0;
		if (exists && S_ISREG(st.st_mode) &&
		    quick_check(s, path, e, &st)) {
			e->flags |= FL_DONE;
			iflags = attr_diffs(s, e, &st) & (ITEM_REPORT_TIME |
			    ITEM_REPORT_PERMS);
			set_attrs(s, path, NULL, e, &st, 0, 0);
			return itemize(s, r, ndx, iflags);
		}
	}
	iflags = ITEM_TRANSFER;
	if (!exists || !S_ISREG(st.st_mode)) {
		iflags |= ITEM_IS_NEW;
		e->flags |= FL_NEW;
	} else {
		iflags |= attr_diffs(s, e, &st);
		if (s->o.checksum)
			iflags |= ITEM_REPORT_CHANGE;
	}
	basis = exists && S_ISREG(st.st_mode) && !s->o.whole_file &&
	    st.st_size > 0 && !s->o.dry_run;
	if (basis) {
		sums_layout(s, (int64_t)st.st_size, full, &sm);
		bytes = 16 + (size_t)sm.count * (4 + (size_t)sm.s2length);
		if (fs_open(s->fs, path, O_RDONLY, 0, &f) != 0)
			basis = 0;
	}
	if (!basis)
		bytes = s->o.dry_run ? 0 : 16;
	bytes += 8;
	if ((rc = make_room(s, r, bytes)) != 0)
		goto out;
	na.ndx = ndx;
	na.iflags = iflags;
	if ((rc = io_write_ndx_attrs(s, &na)) != 0)
		goto out;
	if (!s->o.dry_run) {
		if (basis) {
			rc = sums_send(s, f, (int64_t)st.st_size, full, NULL);
			e->flags |= FL_SENT_SUMS;
		} else {
			memset(&sm, 0, sizeof(sm));
			rc = sums_write_head(s, &sm);
		}
		if (rc != 0)
			goto out;
	}
	rc = q_push(s, ndx, 1, bytes);
out:
	if (f != NULL)
		fs_close(s->fs, f, NULL, NULL);
	return rc;
}

static int
gen_entry(struct sess *s, struct recv *r, int32_t ndx)
{
	struct flent *e = &s->fl.e[ndx];

	if (e->flags & FL_INACTIVE)
		return 0;
	if (S_ISDIR(e->mode))
		return gen_dir(s, r, ndx);
	if (S_ISREG(e->mode)) {
		if (s->o.hard_links && (e->flags & FL_HLINKED) &&
		    !(e->flags & FL_HLINK_FIRST))
			return 0; /* linked to its first at the end */
		return gen_file(s, r, ndx, 0);
	}
	if (S_ISLNK(e->mode))
		return s->o.links ? gen_link(s, r, ndx) : 0;
	sess_warn(s, "rsync: skipping \"%s\": devices and special files "
	    "are not stored by this server", e->name);
	return 0;
}

/* -- the receiver -------------------------------------------------------- */

static int
wflush(struct sess *s, struct recv *r)
{
	int rc;

	r->ra_have = 0;
	if (r->wlen == 0 || r->out == NULL) {
		r->woff += r->wlen;
		r->wlen = 0;
		return 0;
	}
	rc = fs_pwrite(s->fs, r->out, r->wbuf, r->wlen, r->woff);
	r->woff += r->wlen;
	r->wlen = 0;
	return rc;
}

static int
wput(struct sess *s, struct recv *r, const unsigned char *p, size_t n)
{
	int rc;

	while (n > 0) {
		size_t k = WBUF - r->wlen;

		if (k == 0) {
			if ((rc = wflush(s, r)) != 0)
				return rc;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(r->wbuf + r->wlen, p, k);
		r->wlen += k;
		r->ra_have = 0;
		p += k;
		n -= k;
	}
	return 0;
}

static void
write_failed(struct sess *s, const struct flent *e, int rc)
{
	if (rc == -EDQUOT) {
		sess_xfer_error(s, "rsync: write failed on \"%s\": quota "
		    "exceeded: %llu bytes available", e->name,
		    (unsigned long long)fs_quota_avail(s->fs));
		log_info("rsync: refused \"%s\": over quota", e->name);
	} else
		sess_xfer_error(s, "rsync: write failed on \"%s\": %s (%d)",
		    e->name, strerror(-rc), -rc);
}

/* Drops the file being received: the temp goes, unless --partial keeps
 * what arrived (an abort with data in it). */
static void
drop_file(struct sess *s, struct recv *r, int aborted)
{
	uint64_t nw = 0;

	if (r->out == NULL)
		return;
	if (aborted && s->o.partial && r->got_data && r->tmp[0] != '\0') {
		wflush(s, r);
		fs_close(s->fs, r->out, NULL, &nw);
		r->out = NULL;
		if (fs_rename(s->fs, r->tmp, r->dst, 1) == 0) {
			log_info("rsync: kept partial \"%s\" written=%llu",
			    r->dst, (unsigned long long)nw);
			return;
		}
	}
	if (r->out != NULL)
		fs_close(s->fs, r->out, NULL, &nw);
	r->out = NULL;
	if (r->tmp[0] != '\0') {
		fs_remove(s->fs, r->tmp);
		if (aborted)
			log_info("rsync: upload of \"%s\" interrupted after "
			    "%llu bytes; temporary file removed", r->dst,
			    (unsigned long long)nw);
	}
	r->tmp[0] = '\0';
}

/* Block data at off (bl bytes) from the basis into buf; what can't be
 * read is zeros (the file checksum then fails, and the file is redone). */
static void
read_block(struct sess *s, struct fs_file *basis, unsigned char *buf,
    uint64_t off, size_t bl)
{
	size_t have = 0, got;

	while (basis != NULL && have < bl && fs_pread(s->fs, basis,
	    buf + have, bl - have, off + have, &got) == 0 && got > 0)
		have += got;
	if (have < bl)
		memset(buf + have, 0, bl - have);
}

/*
 * Puts the basis data of block k (bl bytes at off) at wbuf + wlen, where
 * it is written from.  Along a run of blocks (k follows the last block)
 * what comes after it in the basis is read too, as far as the buffer
 * goes: the sender's next token is most often block k + 1, already in
 * place then.  One large read per run instead of one per block, and no
 * copy; a sender naming blocks out of order costs one block's read
 * each, as before.  0, or the error of flushing the buffer for room.
 */
static int
basis_block(struct sess *s, struct recv *r, struct fs_file *basis,
    int32_t k, uint64_t off, size_t bl)
{
	size_t room, have = 0, got;
	int rc;

	if (r->ra_have >= bl && r->ra_next == k)
		return 0;
	if (WBUF - r->wlen < bl && (rc = wflush(s, r)) != 0)
		return rc;
	room = r->ra_next == k ? WBUF - r->wlen : bl;
	while (basis != NULL && have < room && fs_pread(s->fs, basis,
	    r->wbuf + r->wlen + have, room - have, off + have, &got) == 0 &&
	    got > 0)
		have += got;
	if (have < bl) {
		memset(r->wbuf + r->wlen + have, 0, bl - have);
		have = bl;
	}
	r->ra_next = k;
	r->ra_have = have;
	return 0;
}

/* One file's data: tokens into the temp file, then the checksum. */
static int
recv_file(struct sess *s, struct recv *r, int32_t ndx)
{
	struct flent *e = &s->fl.e[ndx];
	struct fs_file *basis = NULL;
	struct digest d;
	struct sums sm;
	unsigned char sum[SUM_LENGTH], want[SUM_LENGTH], *blk = NULL, *p;
	struct stat old, st;
	uint64_t nw = 0;
	int32_t t;
	int rc, werr = 0, brc = 0, i, existed, own_basis = 1;

	memset(&d, 0, sizeof(d));
	r->got_data = 0;
	r->wlen = 0;
	r->woff = 0;
	r->ra_have = 0;
	r->ra_next = 0;
	r->tmp[0] = '\0';
	if ((rc = sums_read_head(s, &sm)) != 0)
		return rc;
	if (entry_path(r, e, r->dst, sizeof(r->dst)) != 0)
		return RS_EPROTO;
	/* A file the generator found missing has no basis to look at
	 * (rsync's receiver doesn't look either). */
	existed = !(e->flags & FL_NEW) && fs_stat(s->fs, r->dst, 0,
	    &old) == 0 && S_ISREG(old.st_mode);
	if ((rc = digest_init(&d, s->csum, 0)) != 0)
		goto out;
	if (sm.count > 0) {
		if ((blk = malloc((size_t)sm.blength)) == NULL) {
			rc = RS_ENOMEM;
			goto out;
		}
		if (!s->o.inplace)
			brc = fs_open(s->fs, r->dst, O_RDONLY, 0, &basis);
	}
	/* Where the data goes; without a basis, nowhere (redo). */
	if (brc == 0 && s->o.inplace) {
		werr = fs_open(s->fs, r->dst, O_RDWR | O_CREAT, 0600, &r->out);
		if (werr == 0 && sm.count > 0) {
			basis = r->out;
			own_basis = 0;
		}
	} else if (brc == 0) {
		werr = -EEXIST;
		for (i = 0; i < TMP_TRIES && werr == -EEXIST; i++) {
			tmp_name(r, r->dst, r->tmp, sizeof(r->tmp));
			werr = fs_open(s->fs, r->tmp, O_WRONLY | O_CREAT |
			    O_EXCL, 0600, &r->out);
		}
		if (werr != 0)
			r->tmp[0] = '\0';
	}
	if (werr != 0) {
		r->out = NULL;
		write_failed(s, e, werr);
	}
	for (;;) {
		if ((rc = tok_recv(s, &t)) != 0)
			goto out;
		if (t == 0)
			break;
		if (t > 0) {
			size_t left = (size_t)t;

			while (left > 0) {
				size_t k = WBUF - r->wlen;

				if (k == 0) {
					if (werr == 0 &&
					    (werr = wflush(s, r)) != 0)
						write_failed(s, e, werr);
					if (werr != 0)
						r->wlen = 0;
					continue;
				}
				if (k > left)
					k = left;
				rc = tok_read_literal(s, r->wbuf + r->wlen, k);
				if (rc != 0)
					goto out;
				digest_update(&d, r->wbuf + r->wlen, k);
				r->wlen += k;
				r->ra_have = 0;
				left -= k;
			}
			r->got_data = 1;
			continue;
		}
		if (t == INT32_MIN || -(t + 1) >= sm.count || blk == NULL) {
			rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "invalid block index %d (%d blocks) for \"%s\"",
			    t == INT32_MIN ? -1 : (int)-(t + 1),
			    (int)sm.count, e->name);
			goto out;
		}
		{
			int32_t k = -(t + 1);
			size_t bl = (k == sm.count - 1 && sm.remainder) ?
			    (size_t)sm.remainder : (size_t)sm.blength;
			uint64_t off = (uint64_t)k * (uint64_t)sm.blength;
			int in_place = s->o.inplace && off == r->woff + r->wlen;

			if (!s->o.inplace && werr == 0) {
				/* Into the write buffer, read ahead there. */
				if ((werr = basis_block(s, r, basis, k, off,
				    bl)) != 0)
					write_failed(s, e, werr);
				else {
					p = r->wbuf + r->wlen;
					digest_update(&d, p, bl);
					if ((rc = tok_see_block(s, p, bl)) != 0)
						goto out;
					r->wlen += bl;
					r->ra_have -= bl;
					r->ra_next = k + 1;
					continue;
				}
			}
			/* --inplace: a block already where it belongs. */
			if (in_place && werr == 0 && (werr = wflush(s, r)) != 0)
				write_failed(s, e, werr);
			read_block(s, basis, blk, off, bl);
			digest_update(&d, blk, bl);
			if ((rc = tok_see_block(s, blk, bl)) != 0)
				goto out;
			if (in_place && r->wlen == 0) {
				r->woff += bl;
				continue;
			}
			if (werr == 0 && (werr = wput(s, r, blk, bl)) != 0)
				write_failed(s, e, werr);
			else if (werr != 0)
				r->wlen = 0;
		}
	}
	if ((rc = io_read(s, want, (size_t)s->csum_len)) != 0)
		goto out;
	digest_final(&d, sum);
	if (werr == 0 && (werr = wflush(s, r)) != 0)
		write_failed(s, e, werr);
	rc = 0;
	if (brc == 0 && (werr != 0 || r->out == NULL)) {
		e->flags |= FL_FAILED;
		drop_file(s, r, 0);
		goto out;
	}
	if (brc != 0 || memcmp(sum, want, (size_t)s->csum_len) != 0) {
		drop_file(s, r, 0);
		if (r->phase == 0 && !(e->flags & FL_REDO)) {
			int32_t *nr = realloc(r->redo, (r->nredo + 1) *
			    sizeof(*nr));

			if (nr == NULL) {
				rc = RS_ENOMEM;
				goto out;
			}
			r->redo = nr;
			r->redo[r->nredo++] = ndx;
			e->flags |= FL_REDO;
		} else {
			sess_xfer_error(s, "rsync: ERROR: \"%s\" failed "
			    "verification -- update discarded.", e->name);
			e->flags |= FL_FAILED;
		}
		goto out;
	}
	if (s->o.inplace) {
		struct fs_attr a;

		memset(&a, 0, sizeof(a));
		a.flags = FS_ATTR_SIZE;
		a.size = r->woff;
		if ((werr = fs_fsetstat(s->fs, r->out, &a)) != 0)
			write_failed(s, e, werr);
	}
	/* A new file's attributes are all set from e: st is not used. */
	if (existed)
		st = old;
	else
		memset(&st, 0, sizeof(st));
	set_attrs(s, r->dst, r->out, e, &st, !existed, 1);
	if (s->o.do_fsync)
		fs_fsync(s->fs, r->out);
	fs_close(s->fs, r->out, NULL, &nw);
	r->out = NULL;
	if (r->tmp[0] != '\0') {
		if ((werr = fs_rename(s->fs, r->tmp, r->dst, 1)) != 0) {
			sess_xfer_error(s, "rsync: rename \"%s\" -> \"%s\" "
			    "failed: %s (%d)", r->tmp, e->name,
			    strerror(-werr), -werr);
			fs_remove(s->fs, r->tmp);
			r->tmp[0] = '\0';
			e->flags |= FL_FAILED;
			goto out;
		}
		r->tmp[0] = '\0';
	}
	e->flags |= FL_DONE;
	log_info("rsync: received \"%s\" written=%llu", r->dst,
	    (unsigned long long)nw);
out:
	if (basis != NULL && own_basis)
		fs_close(s->fs, basis, NULL, NULL);
	digest_free(&d);
	free(blk);
	return rc;
}

/* One answer from the client's sender: an echo, or a file. */
static int
recv_item(struct sess *s, struct recv *r, int *done)
{
	struct ndx_attrs na;
	struct inflight *q;
	int transfer, rc;

	*done = 0;
	if ((rc = io_read_ndx_attrs(s, &na)) != 0)
		return rc;
	if (na.ndx == NDX_DONE) {
		*done = 1;
		return 0;
	}
	q = q_front(s);
	if (q == NULL || q->ndx != na.ndx)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "unexpected file index %d from the sender", (int)na.ndx);
	transfer = q->transfer;
	q_pop(s);
	if (!(na.iflags & ITEM_TRANSFER)) {
		if (transfer)
			return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "the sender skipped a requested file (%d)",
			    (int)na.ndx);
		return 0;
	}
	if (!transfer || !S_ISREG(s->fl.e[na.ndx].mode))
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "unrequested data from the sender (%d)", (int)na.ndx);
	if (s->o.dry_run)
		return 0;
	return recv_file(s, r, na.ndx);
}

/* Reads answers until the end of the phase (NDX_DONE). */
static int
drain(struct sess *s, struct recv *r)
{
	int done = 0, rc;

	while (!done)
		if ((rc = recv_item(s, r, &done)) != 0)
			return rc;
	if (s->qlen != 0)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "the sender ended a phase with %zu requests unanswered",
		    s->qlen);
	return 0;
}

/* -H: the rest of each group becomes a link to its first. */
static void
link_groups(struct sess *s, struct recv *r)
{
	char path[RS_PATH_MAX], first[RS_PATH_MAX], tmp[RS_PATH_MAX];
	struct stat a, b;
	size_t i;
	int rc, k;

	for (i = 0; i < s->fl.n; i++) {
		struct flent *e = &s->fl.e[i], *f;

		if (!(e->flags & FL_HLINKED) || (e->flags & FL_HLINK_FIRST) ||
		    (e->flags & FL_INACTIVE) || !S_ISREG(e->mode) ||
		    e->hl_first < 0)
			continue;
		f = &s->fl.e[e->hl_first];
		if (!(f->flags & FL_DONE) || entry_path(r, e, path,
		    sizeof(path)) != 0 || entry_path(r, f, first,
		    sizeof(first)) != 0) {
			if (!(f->flags & FL_DONE))
				sess_xfer_error(s, "rsync: \"%s\" not linked: "
				    "\"%s\" failed", e->name, f->name);
			continue;
		}
		if (s->o.dry_run)
			continue;
		if (fs_stat(s->fs, path, 0, &a) == 0 &&
		    fs_stat(s->fs, first, 0, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			continue;
		rc = -EEXIST;
		for (k = 0; k < TMP_TRIES && rc == -EEXIST; k++) {
			tmp_name(r, path, tmp, sizeof(tmp));
			rc = fs_link(s->fs, first, tmp);
		}
		if (rc == 0 && (rc = fs_rename(s->fs, tmp, path, 1)) != 0)
			fs_remove(s->fs, tmp);
		if (rc != 0)
			sess_xfer_error(s, "rsync: link \"%s\" => \"%s\" "
			    "failed: %s (%d)", e->name, f->name, strerror(-rc),
			    -rc);
		else
			log_info("rsync: link \"%s\" => \"%s\"", path, first);
	}
}

/* Directory times and permissions, once nothing more changes in them. */
static void
touch_up_dirs(struct sess *s, struct recv *r)
{
	char path[RS_PATH_MAX];
	struct stat st;
	size_t i;

	if (s->o.dry_run)
		return;
	for (i = 0; i < s->fl.n; i++) {
		struct flent *e = &s->fl.e[i];

		if (!S_ISDIR(e->mode) || (e->flags & (FL_INACTIVE |
		    FL_FAILED)) || entry_path(r, e, path, sizeof(path)) != 0 ||
		    fs_stat(s->fs, path, 1, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		set_attrs(s, path, NULL, e, &st, (e->flags & FL_NEW) != 0, 0);
	}
}

/* Where the files go: into a directory, or one file to a name. */
static int
dest_setup(struct sess *s, struct recv *r)
{
	char clean[RS_PATH_MAX];
	const char *arg = s->nargs > 0 ? s->args[0] : ".";
	struct stat st;
	size_t len;
	int trailing, rc, exists;

	if (s->nargs > 1)
		return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "only one destination may be given");
	if ((rc = path_from_arg(s, arg, clean, sizeof(clean))) != 0)
		return rc;
	len = strlen(clean);
	trailing = len > 0 && clean[len - 1] == '/';
	if (trailing)
		clean[--len] = '\0';
	if (len == 0) {
		r->base[0] = '\0';
		return 0;
	}
	rc = fs_stat(s->fs, clean, 1, &st);
	exists = rc == 0;
	if (rc != 0 && rc != -ENOENT)
		return sess_fail(s, RS_EFS, RERR_FILESELECT,
		    "ERROR: cannot stat destination \"%s\": %s (%d)", clean,
		    strerror(-rc), -rc);
	if (exists && S_ISDIR(st.st_mode)) {
		snprintf(r->base, sizeof(r->base), "%s", clean);
		return 0;
	}
	if (exists && s->fl.n > 1)
		return sess_fail(s, RS_EFS, RERR_FILESELECT, "ERROR: "
		    "destination must be a directory when copying more than "
		    "1 file");
	if (exists && s->fl.n == 1 && S_ISDIR(s->fl.e[0].mode))
		return sess_fail(s, RS_EFS, RERR_FILESELECT,
		    "ERROR: cannot overwrite non-directory with a directory");
	if (s->o.mkpath && !exists && !s->o.dry_run) {
		char *p;

		for (p = strchr(clean, '/'); p != NULL;
		    p = strchr(p + 1, '/')) {
			*p = '\0';
			rc = fs_mkdir(s->fs, clean, 0755);
			*p = '/';
			if (rc != 0 && rc != -EEXIST)
				return sess_fail(s, RS_EFS, RERR_FILEIO,
				    "mkdir \"%s\" failed: %s (%d)", clean,
				    strerror(-rc), -rc);
		}
	}
	if (s->fl.n > 1 || trailing) {
		if (exists)
			return sess_fail(s, RS_EFS, RERR_SYNTAX,
			    "ERROR: destination path is not a directory");
		if (s->o.dry_run)
			r->dest_missing = 1;
		else if ((rc = fs_mkdir(s->fs, clean, 0755)) != 0)
			return sess_fail(s, RS_EFS, RERR_FILEIO,
			    "mkdir \"%s\" failed: %s (%d)", clean,
			    strerror(-rc), -rc);
		else
			log_info("rsync: mkdir \"%s\"", clean);
		if (s->o.verbose)
			sess_info(s, "created directory %s", clean);
		r->dest_new = 1;
		snprintf(r->base, sizeof(r->base), "%s", clean);
		return 0;
	}
	snprintf(r->solo, sizeof(r->solo), "%s", clean);
	return 0;
}

static int
write_del_stats(struct sess *s)
{
	int rc, i;

	if ((rc = io_write_ndx(s, NDX_DEL_STATS)) != 0)
		return rc;
	for (i = 0; i < 5; i++)
		if ((rc = io_write_varint(s, s->del_stats[i])) != 0)
			return rc;
	return 0;
}

int
rs_receiver(struct sess *s)
{
	struct recv *r;
	size_t i;
	int rc, done;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->wbuf = malloc(WBUF)) == NULL ||
	    (s->q = calloc(RS_INFLIGHT_MAX, sizeof(*s->q))) == NULL) {
		rc = RS_ENOMEM;
		goto out;
	}
	if (s->o.delete != DEL_NONE && (rc = rules_recv(s)) != 0)
		goto out;
	if ((rc = flist_recv(s)) != 0)
		goto out;
	if ((rc = dest_setup(s, r)) != 0)
		goto out;
	log_info("rsync: receiving a list of %zu files into \"%s\"", s->fl.n,
	    r->solo[0] ? r->solo : r->base[0] ? r->base : "/");
	if (s->o.delete == DEL_BEFORE && (rc = delete_pass(s, r)) != 0)
		goto out;

	/* Phase 0: everything, as the generator finds it. */
	for (i = 0; i < s->fl.n; i++)
		if ((rc = gen_entry(s, r, (int32_t)i)) != 0)
			goto out;
	if ((rc = io_write_ndx(s, NDX_DONE)) != 0 || (rc = drain(s, r)) != 0)
		goto out;

	/* Phase 1: what failed verification, with full-length sums. */
	r->phase = 1;
	for (i = 0; i < r->nredo; i++)
		if ((rc = gen_file(s, r, r->redo[i], 1)) != 0)
			goto out;
	if ((rc = io_write_ndx(s, NDX_DONE)) != 0 ||
	    (rc = io_write_ndx(s, NDX_DONE)) != 0 ||
	    (rc = drain(s, r)) != 0)
		goto out;
	if ((rc = recv_item(s, r, &done)) != 0)
		goto out;
	if (!done) {
		rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "the sender sent data after the last phase");
		goto out;
	}

	if (s->o.hard_links)
		link_groups(s, r);
	if (s->o.delete == DEL_AFTER && (rc = delete_pass(s, r)) != 0)
		goto out;
	if (r->del_skipped > 0) {
		sess_warn(s, "Deletions stopped due to --max-delete limit "
		    "(%d skipped)", r->del_skipped);
		s->del_limited = 1;
	}
	if (s->proto >= 31) {
		if ((s->o.delete != DEL_NONE &&
		    (rc = write_del_stats(s)) != 0) ||
		    (rc = io_write_ndx(s, NDX_DONE)) != 0 ||
		    (rc = recv_item(s, r, &done)) != 0)
			goto out;
		if (!done) {
			rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "invalid packet at the end of the run");
			goto out;
		}
	}
	touch_up_dirs(s, r);
	/* The goodbye. */
	if ((rc = io_write_ndx(s, NDX_DONE)) != 0 || (rc = io_flush(s)) != 0)
		goto out;
	rc = 0;
out:
	if (r != NULL) {
		drop_file(s, r, rc != 0);
		free(r->redo);
		free(r->wbuf);
		free(r);
	}
	return rc;
}
