/*
 * flist.c — the file list.
 *
 * The sender walks its arguments through fs (never following a symlink
 * out of the account, which fs guarantees), leaves out what the client's
 * filter rules exclude, sorts and sends the list; the receiver reads it,
 * checking every name (relative, no "..", no empty or "." components) and
 * every length against RS_* bounds, and sorts it the same way.  Both
 * sides then name files by their index in the sorted list.
 *
 * The order is rsync's (protocol 29+): component by component; at the
 * first difference a file sorts before a directory, otherwise the bytes
 * decide, a directory's name being followed by "/"; "." sorts first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "extern.h"
#include "log.h"

#define POOL_BLOCK (256 * 1024)

static char *
pool_dup(struct pool *p, const char *str, size_t len)
{
	char *r;

	if (len + 1 > RS_POOL_MAX - p->total)
		return NULL;
	if (p->blk == NULL || p->cap - p->used < len + 1) {
		size_t cap = len + 1 > POOL_BLOCK ? len + 1 : POOL_BLOCK;
		char **nb = realloc(p->blks, (p->nblks + 1) * sizeof(*nb));

		if (nb == NULL)
			return NULL;
		p->blks = nb;
		if ((p->blk = malloc(cap)) == NULL)
			return NULL;
		p->blks[p->nblks++] = p->blk;
		p->cap = cap;
		p->used = 0;
	}
	r = p->blk + p->used;
	memcpy(r, str, len);
	r[len] = '\0';
	p->used += len + 1;
	p->total += len + 1;
	return r;
}

void
flist_free(struct flist *fl)
{
	size_t i;

	for (i = 0; i < fl->pool.nblks; i++)
		free(fl->pool.blks[i]);
	free(fl->pool.blks);
	free(fl->e);
	memset(fl, 0, sizeof(*fl));
}

int
flist_add(struct sess *s, struct flist *fl, const char *name,
    const char *link, struct flent **out)
{
	struct flent *e;

	if (fl->n >= RS_FLIST_MAX)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "file list too long (the limit is %d entries)",
		    RS_FLIST_MAX);
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 1024;
		struct flent *ne;

		if (cap > RS_FLIST_MAX)
			cap = RS_FLIST_MAX;
		if ((ne = realloc(fl->e, cap * sizeof(*ne))) == NULL)
			return RS_ENOMEM;
		fl->e = ne;
		fl->cap = cap;
	}
	e = &fl->e[fl->n];
	memset(e, 0, sizeof(*e));
	if ((e->name = pool_dup(&fl->pool, name, strlen(name))) == NULL ||
	    (link != NULL && (e->link = pool_dup(&fl->pool, link,
	    strlen(link))) == NULL))
		return sess_fail(s, RS_ENOMEM, RERR_PROTOCOL,
		    "file list too large (names and links are limited to "
		    "%u MiB)", RS_POOL_MAX >> 20);
	e->rx = (int32_t)fl->n;
	e->hl_first = -1;
	fl->n++;
	*out = e;
	return 0;
}

/* Compares two names in rsync's order; a_dir/b_dir: the entry is a dir. */
static int
name_cmp(const char *a, int a_dir, const char *b, int b_dir)
{
	if (a[0] == '.' && a[1] == '\0')
		return b[0] == '.' && b[1] == '\0' ? 0 : -1;
	if (b[0] == '.' && b[1] == '\0')
		return 1;
	for (;;) {
		const char *ea = strchr(a, '/'), *eb = strchr(b, '/');
		size_t la = ea != NULL ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb != NULL ? (size_t)(eb - b) : strlen(b);
		int ta = ea != NULL || a_dir, tb = eb != NULL || b_dir;
		size_t i;

		if (ta != tb)
			return ta ? 1 : -1;
		for (i = 0;; i++) {
			int ca = i < la ? (unsigned char)a[i] : ta ? '/' : 0;
			int cb = i < lb ? (unsigned char)b[i] : tb ? '/' : 0;

			if (ca != cb)
				return ca - cb;
			if (i >= la)
				break;
		}
		if (ea == NULL && eb == NULL)
			return 0;
		if (ea == NULL)
			return -1;
		if (eb == NULL)
			return 1;
		a = ea + 1;
		b = eb + 1;
	}
}

int
flist_cmp(const struct flent *a, const struct flent *b)
{
	return name_cmp(a->name, S_ISDIR(a->mode), b->name,
	    S_ISDIR(b->mode));
}

static int
qcmp(const void *a, const void *b)
{
	int c = flist_cmp(a, b);

	if (c != 0)
		return c;
	/* Stable for duplicates: the first received stays first. */
	return ((const struct flent *)a)->rx < ((const struct flent *)b)->rx ?
	    -1 : 1;
}

ssize_t
flist_find(const struct flist *fl, const char *name, int dir)
{
	size_t lo = 0, hi = fl->n;

	if (dir < 0) {
		ssize_t i = flist_find(fl, name, 1);

		return i >= 0 ? i : flist_find(fl, name, 0);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(fl->e[mid].name, S_ISDIR(fl->e[mid].mode),
		    name, dir);

		if (c == 0) {
			while (mid > 0 && name_cmp(fl->e[mid - 1].name,
			    S_ISDIR(fl->e[mid - 1].mode), name, dir) == 0)
				mid--;
			return (ssize_t)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
flist_sort(struct flist *fl)
{
	int32_t *map = NULL;
	size_t i;

	if (fl->n > 1)
		qsort(fl->e, fl->n, sizeof(*fl->e), qcmp);
	/* Duplicate names: the first stays; a directory wins over a file
	 * of the same name. */
	for (i = 1; i < fl->n; i++)
		if (flist_cmp(&fl->e[i - 1], &fl->e[i]) == 0)
			fl->e[i].flags |= FL_INACTIVE;
	for (i = 0; i < fl->n; i++) {
		ssize_t j;

		if (!S_ISDIR(fl->e[i].mode) || (fl->e[i].flags & FL_INACTIVE))
			continue;
		if ((j = flist_find(fl, fl->e[i].name, 0)) >= 0 &&
		    (size_t)j != i && !S_ISDIR(fl->e[j].mode))
			fl->e[j].flags |= FL_INACTIVE;
	}
	/* Hard-link references named indexes in the order received. */
	if (fl->n == 0)
		return 0;
	if ((map = malloc(fl->n * sizeof(*map))) == NULL)
		return RS_ENOMEM;
	for (i = 0; i < fl->n; i++)
		map[fl->e[i].rx] = (int32_t)i;
	for (i = 0; i < fl->n; i++)
		if (fl->e[i].flags & FL_HLINKED)
			fl->e[i].hl_first = fl->e[i].hl_first >= 0 ?
			    map[fl->e[i].hl_first] : (int32_t)i;
	free(map);
	return 0;
}

int
name_is_safe(const char *name)
{
	const char *p = name;

	if (strcmp(name, ".") == 0)
		return 1;
	if (*p == '\0' || *p == '/' || strlen(name) >= RS_PATH_MAX)
		return 0;
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > RS_NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
		else
			break;
	}
	return name[strlen(name) - 1] != '/';
}

/* -- the sender builds the list ----------------------------------------- */

struct dent {
	char *name;
	struct stat st;
};

static int add_stat(struct sess *s, const char *root, const char *name,
    const struct stat *st, uint32_t flags, int *added);

static int
walk(struct sess *s, const char *root, const char *rel, dev_t dev,
    int depth)
{
	char *path, *full;
	struct fs_dir *d = NULL;
	struct dent *v = NULL;
	size_t n = 0, cap = 0, i;
	const char *nm;
	struct stat st;
	int rc, r, added;

	/* On the heap: the recursion is as deep as the tree. */
	if ((path = malloc(2 * RS_PATH_MAX)) == NULL)
		return RS_ENOMEM;
	full = path + RS_PATH_MAX;
	if (path_join(path, RS_PATH_MAX, root, rel) != 0) {
		free(path);
		return 0;
	}
	if ((rc = fs_opendir(s->fs, path, &d)) != 0) {
		sess_xfer_error(s, "rsync: opendir \"%s\" failed: %s (%d)",
		    rel, strerror(-rc), -rc);
		s->io_error |= IOERR_GENERAL;
		free(path);
		return 0;
	}
	while ((r = fs_readdir(s->fs, d, &nm, &st)) > 0) {
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (s->fl.n + n >= RS_FLIST_MAX) {
			rc = sess_fail(s, RS_EPROTO, RERR_FILESELECT,
			    "too many files (the limit is %d entries)",
			    RS_FLIST_MAX);
			goto out;
		}
		if (n == cap) {
			struct dent *nv;

			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*nv))) == NULL) {
				rc = RS_ENOMEM;
				goto out;
			}
			v = nv;
		}
		if ((v[n].name = strdup(nm)) == NULL) {
			rc = RS_ENOMEM;
			goto out;
		}
		v[n++].st = st;
	}
	if (r < 0) {
		sess_xfer_error(s, "rsync: readdir \"%s\" failed: %s (%d)",
		    rel, strerror(-r), -r);
		s->io_error |= IOERR_GENERAL;
	}
	fs_closedir(s->fs, d);
	d = NULL;
	for (i = 0; i < n; i++) {
		int is_dir = S_ISDIR(v[i].st.st_mode);

		if (path_join(full, RS_PATH_MAX, strcmp(rel, ".") == 0 ? "" :
		    rel, v[i].name) != 0) {
			sess_xfer_error(s, "rsync: name too long: %s/%s", rel,
			    v[i].name);
			continue;
		}
		if (rules_excluded(s, full, is_dir))
			continue;
		if ((rc = add_stat(s, root, full, &v[i].st,
		    s->o.recurse ? FL_CONTENT_DIR : 0, &added)) != 0)
			goto out;
		if (added && is_dir && s->o.recurse &&
		    depth < RS_PATH_MAX / 2 &&
		    (!s->o.one_fs || v[i].st.st_dev == dev) &&
		    (rc = walk(s, root, full, dev, depth + 1)) != 0)
			goto out;
	}
	rc = 0;
out:
	fs_closedir(s->fs, d);
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	free(path);
	return rc;
}

static int
add_stat(struct sess *s, const char *root, const char *name,
    const struct stat *st, uint32_t flags, int *added)
{
	char path[RS_PATH_MAX], target[RS_PATH_MAX];
	struct flent *e = NULL;
	const char *link = NULL;
	int rc;

	*added = 0;
	if (S_ISLNK(st->st_mode)) {
		if (!s->o.links) {
			if (s->o.verbose)
				sess_info(s, "skipping non-regular file \"%s\"",
				    name);
			return 0;
		}
		if (path_join(path, sizeof(path), root, name) != 0 ||
		    (rc = fs_readlink(s->fs, path, target,
		    sizeof(target))) != 0) {
			sess_xfer_error(s, "rsync: readlink \"%s\" failed",
			    name);
			s->io_error |= IOERR_GENERAL;
			return 0;
		}
		link = target;
	} else if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		if (s->o.verbose)
			sess_info(s, "skipping non-regular file \"%s\"", name);
		return 0;
	}
	if ((rc = flist_add(s, &s->fl, name, link, &e)) != 0)
		return rc;
	e->root = root;
	e->mode = (uint32_t)st->st_mode;
	e->size = S_ISLNK(st->st_mode) ? (int64_t)strlen(link) :
	    (int64_t)st->st_size;
	e->mtime = (int64_t)st->st_mtim.tv_sec;
	e->nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->uid = (uint32_t)st->st_uid;
	e->gid = (uint32_t)st->st_gid;
	e->flags = S_ISDIR(st->st_mode) ? flags : 0;
	if (s->o.hard_links && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		e->flags |= FL_HLINKED;
		e->dev = (uint64_t)st->st_dev;
		e->ino = (uint64_t)st->st_ino;
	}
	*added = 1;
	return 0;
}

/* rsync's reading of a source argument: "dir/" sends the contents of dir
 * (as "."), "dir" sends dir itself, "a/b" sends b from a. */
static int
build_arg(struct sess *s, const char *arg)
{
	char clean[RS_PATH_MAX], path[RS_PATH_MAX], *root, *fn, *slash;
	struct stat st;
	size_t len;
	int dotdir, rc, added;

	if ((rc = path_from_arg(s, arg, clean, sizeof(clean))) != 0) {
		if (rc != RS_EUSAGE)
			return rc;
		/* Not fatal: say why and go on with the other arguments. */
		sess_xfer_error(s, "rsync: %s", s->errmsg);
		s->errmsg[0] = '\0';
		s->io_error |= IOERR_GENERAL;
		return 0;
	}
	len = strlen(clean);
	dotdir = len == 0 || clean[len - 1] == '/';
	if (dotdir && len > 0)
		clean[--len] = '\0';
	if (dotdir) {
		root = strdup(clean);
		fn = ".";
	} else if ((slash = strrchr(clean, '/')) != NULL) {
		*slash = '\0';
		root = strdup(clean);
		fn = slash + 1;
	} else {
		root = strdup("");
		fn = clean;
	}
	if (root == NULL)
		return RS_ENOMEM;
	/* The roots live as long as the list: kept in s->args' place. */
	{
		char **na = realloc(s->args, ((size_t)s->nargs + 1) *
		    sizeof(*na));

		if (na == NULL) {
			free(root);
			return RS_ENOMEM;
		}
		s->args = na;
		s->args[s->nargs++] = root;
	}
	if ((rc = path_join(path, sizeof(path), root, fn)) != 0)
		return 0;
	if ((rc = fs_stat(s->fs, path, dotdir, &st)) != 0) {
		sess_xfer_error(s, "rsync: link_stat \"%s\" failed: %s (%d)",
		    arg, strerror(-rc), -rc);
		if (rc != -ENOENT)
			s->io_error |= IOERR_GENERAL;
		return 0;
	}
	if (!dotdir && rules_excluded(s, fn, S_ISDIR(st.st_mode)))
		return 0;
	if (S_ISDIR(st.st_mode) && !s->o.recurse && !s->o.xfer_dirs) {
		sess_info(s, "skipping directory %s", fn);
		return 0;
	}
	if (s->o.recurse || (s->o.xfer_dirs && dotdir)) {
		if ((rc = add_stat(s, root, fn, &st, FL_TOP_DIR |
		    FL_CONTENT_DIR, &added)) != 0)
			return rc;
		if (added && S_ISDIR(st.st_mode))
			return walk(s, root, fn, st.st_dev, 0);
		return 0;
	}
	return add_stat(s, root, fn, &st, 0, &added);
}

struct idev {
	uint64_t dev, ino;
	int32_t ndx;
};

static int
idev_cmp(const void *a, const void *b)
{
	const struct idev *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->ndx < y->ndx ? -1 : x->ndx > y->ndx;
}

/* -H: the first of each (dev, ino) group, in list order, leads it. */
static int
group_hard_links(struct sess *s)
{
	struct flist *fl = &s->fl;
	struct idev *v;
	size_t n = 0, i, j;

	for (i = 0; i < fl->n; i++)
		if (fl->e[i].flags & FL_HLINKED)
			n++;
	if (n == 0)
		return 0;
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return RS_ENOMEM;
	for (i = 0, n = 0; i < fl->n; i++)
		if (fl->e[i].flags & FL_HLINKED) {
			v[n].dev = fl->e[i].dev;
			v[n].ino = fl->e[i].ino;
			v[n++].ndx = (int32_t)i;
		}
	qsort(v, n, sizeof(*v), idev_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && v[j].dev == v[i].dev &&
		    v[j].ino == v[i].ino; j++)
			fl->e[v[j].ndx].hl_first = v[i].ndx;
		fl->e[v[i].ndx].flags |= FL_HLINK_FIRST;
		fl->e[v[i].ndx].hl_first = v[i].ndx;
		if (j == i + 1)
			fl->e[v[i].ndx].flags &= ~(FL_HLINKED | FL_HLINK_FIRST);
	}
	free(v);
	return 0;
}

static int64_t
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int
flist_build(struct sess *s)
{
	struct timespec t0;
	char **args = s->args, path[RS_PATH_MAX];
	int nargs = s->nargs, i, rc = 0;
	size_t k;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* build_arg appends the roots to s->args; walk the originals. */
	s->args = NULL;
	s->nargs = 0;
	if (nargs == 0 && (rc = build_arg(s, "")) != 0)
		goto out;
	for (i = 0; i < nargs; i++)
		if ((rc = build_arg(s, args[i])) != 0)
			goto out;
	for (k = 0; k < s->fl.n; k++)
		s->fl.e[k].rx = (int32_t)k;
	if ((rc = flist_sort(&s->fl)) != 0)
		goto out;
	for (k = 0; k < s->fl.n; k++)
		s->fl.e[k].rx = (int32_t)k;
	if (s->o.hard_links && (rc = group_hard_links(s)) != 0)
		goto out;
	if (s->o.checksum) {
		for (k = 0; k < s->fl.n; k++) {
			struct flent *e = &s->fl.e[k];

			if (!S_ISREG(e->mode))
				continue;
			if ((e->sum = (unsigned char *)pool_dup(&s->fl.pool,
			    "0123456789abcdef", SUM_LENGTH)) == NULL) {
				rc = RS_ENOMEM;
				goto out;
			}
			if (path_join(path, sizeof(path), e->root,
			    e->name) != 0 || file_csum(s, path, e->sum) != 0)
				memset(e->sum, 0, SUM_LENGTH);
		}
	}
	s->flist_build_ms = ms_since(&t0);
	if (s->flist_build_ms == 0)
		s->flist_build_ms = 1;
out:
	for (i = 0; i < nargs; i++)
		free(args[i]);
	free(args);
	return rc;
}

/* -- encoding ------------------------------------------------------------ */

static int
write_flags(struct sess *s, uint32_t xflags, int is_dir)
{
	if (s->varint_flags)
		return io_write_varint(s, xflags ? (int32_t)xflags :
		    XMIT_EXTENDED_FLAGS);
	if (xflags == 0 && !is_dir)
		xflags |= XMIT_TOP_DIR;
	if ((xflags & 0xff00) || xflags == 0) {
		xflags |= XMIT_EXTENDED_FLAGS;
		return io_write_short(s, (uint16_t)xflags);
	}
	return io_write_byte(s, (uint8_t)xflags);
}

int
flist_send(struct sess *s)
{
	struct timespec t0;
	char last[RS_PATH_MAX] = "";
	uint32_t lmode = 0, luid = 0, lgid = 0;
	int64_t lmtime = 0;
	size_t i;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < s->fl.n; i++) {
		struct flent *e = &s->fl.e[i];
		uint32_t xf = 0;
		size_t l1, l2;

		if (S_ISDIR(e->mode)) {
			if (e->flags & FL_CONTENT_DIR)
				xf = e->flags & FL_TOP_DIR ? XMIT_TOP_DIR : 0;
			else
				xf = XMIT_NO_CONTENT_DIR;
		}
		if (e->mode == lmode)
			xf |= XMIT_SAME_MODE;
		lmode = e->mode;
		if (!s->o.owner || (e->uid == luid && *last != '\0'))
			xf |= XMIT_SAME_UID;
		else
			luid = e->uid;
		if (!s->o.group || (e->gid == lgid && *last != '\0'))
			xf |= XMIT_SAME_GID;
		else
			lgid = e->gid;
		if (e->mtime == lmtime)
			xf |= XMIT_SAME_TIME;
		lmtime = e->mtime;
		if (s->proto >= 31 && e->nsec != 0)
			xf |= XMIT_MOD_NSEC;
		if (e->flags & FL_HLINKED) {
			xf |= XMIT_HLINKED;
			if (e->flags & FL_HLINK_FIRST)
				xf |= XMIT_HLINK_FIRST;
		}
		for (l1 = 0; l1 < 255 && last[l1] != '\0' &&
		    last[l1] == e->name[l1]; l1++)
			;
		l2 = strlen(e->name + l1);
		if (l1 > 0)
			xf |= XMIT_SAME_NAME;
		if (l2 > 255)
			xf |= XMIT_LONG_NAME;
		if ((rc = write_flags(s, xf, S_ISDIR(e->mode))) != 0)
			return rc;
		if ((xf & XMIT_SAME_NAME) &&
		    (rc = io_write_byte(s, (uint8_t)l1)) != 0)
			return rc;
		if ((xf & XMIT_LONG_NAME) ?
		    (rc = io_write_varint30(s, (int32_t)l2)) != 0 :
		    (rc = io_write_byte(s, (uint8_t)l2)) != 0)
			return rc;
		if ((rc = io_write(s, e->name + l1, l2)) != 0)
			return rc;
		snprintf(last, sizeof(last), "%s", e->name);
		if ((e->flags & FL_HLINKED) && !(e->flags & FL_HLINK_FIRST)) {
			if ((rc = io_write_varint(s, e->hl_first)) != 0)
				return rc;
			if (S_ISREG(e->mode))
				s->total_size += (uint64_t)e->size;
			continue;
		}
		if ((rc = io_write_varlong30(s, e->size, 3)) != 0)
			return rc;
		if (!(xf & XMIT_SAME_TIME) && (rc = s->proto >= 30 ?
		    io_write_varlong(s, e->mtime, 4) :
		    io_write_int(s, (int32_t)e->mtime)) != 0)
			return rc;
		if ((xf & XMIT_MOD_NSEC) &&
		    (rc = io_write_varint(s, (int32_t)e->nsec)) != 0)
			return rc;
		if (!(xf & XMIT_SAME_MODE) &&
		    (rc = io_write_int(s, (int32_t)e->mode)) != 0)
			return rc;
		if (s->o.owner && !(xf & XMIT_SAME_UID) &&
		    (rc = io_write_varint30(s, (int32_t)e->uid)) != 0)
			return rc;
		if (s->o.group && !(xf & XMIT_SAME_GID) &&
		    (rc = io_write_varint30(s, (int32_t)e->gid)) != 0)
			return rc;
		if (s->o.links && S_ISLNK(e->mode)) {
			size_t ll = strlen(e->link);

			if ((rc = io_write_varint30(s, (int32_t)ll)) != 0 ||
			    (rc = io_write(s, e->link, ll)) != 0)
				return rc;
		}
		if (s->o.checksum && S_ISREG(e->mode) &&
		    (rc = io_write(s, e->sum, (size_t)s->csum_len)) != 0)
			return rc;
		if (S_ISREG(e->mode) || S_ISLNK(e->mode))
			s->total_size += (uint64_t)e->size;
	}
	/* The end, with the I/O error state where the client takes it. */
	if (s->varint_flags) {
		if ((rc = io_write_varint(s, 0)) != 0 ||
		    (rc = io_write_varint(s, s->safe_flist &&
		    !s->o.ignore_errors ? s->io_error : 0)) != 0)
			return rc;
	} else if (s->io_error && s->safe_flist && !s->o.ignore_errors) {
		if ((rc = io_write_short(s, XMIT_EXTENDED_FLAGS |
		    XMIT_IO_ERROR_ENDLIST)) != 0 ||
		    (rc = io_write_varint(s, s->io_error)) != 0)
			return rc;
	} else if ((rc = io_write_byte(s, 0)) != 0)
		return rc;
	/* Id lists: no names, the numbers stand. */
	if (!s->o.numeric_ids) {
		if (s->o.owner && (rc = io_write_varint30(s, 0)) != 0)
			return rc;
		if (s->o.group && (rc = io_write_varint30(s, 0)) != 0)
			return rc;
	}
	if (!s->safe_flist && s->io_error && !s->o.ignore_errors &&
	    (rc = io_msg_int(s, MSG_IO_ERROR, s->io_error)) != 0)
		return rc;
	if ((rc = io_flush(s)) != 0)
		return rc;
	s->flist_xfer_ms = ms_since(&t0);
	return 0;
}

/* -- decoding ------------------------------------------------------------ */

struct last {
	char name[RS_PATH_MAX];
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t nsec;
};

static int
bad(struct sess *s, const char *what, const char *name)
{
	return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
	    "ABORTING due to %s from the sender: \"%.200s\"", what, name);
}

static int
skip_name(struct sess *s)
{
	char buf[256];
	uint8_t len;
	int rc;

	if ((rc = io_read_byte(s, &len)) != 0)
		return rc;
	return len > 0 ? io_read(s, buf, len) : 0;
}

static int
recv_entry(struct sess *s, uint32_t xf, struct last *L)
{
	char name[RS_PATH_MAX], link[RS_PATH_MAX];
	unsigned char sum[SUM_LENGTH];
	struct flent *e = NULL, *first;
	uint8_t l1 = 0, b8;
	int32_t l2, v32;
	int64_t v64;
	int rc;

	if ((xf & XMIT_SAME_NAME) && (rc = io_read_byte(s, &l1)) != 0)
		return rc;
	if (xf & XMIT_LONG_NAME)
		rc = io_read_varint30(s, &l2);
	else {
		rc = io_read_byte(s, &b8);
		l2 = b8;
	}
	if (rc != 0)
		return rc;
	if ((size_t)l1 > strlen(L->name) || l2 < 0 ||
	    (size_t)l2 >= (size_t)RS_PATH_MAX - l1)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "bad name length in the file list (%d + %d)", l1, l2);
	memcpy(name, L->name, l1);
	if ((rc = io_read(s, name + l1, (size_t)l2)) != 0)
		return rc;
	name[l1 + l2] = '\0';
	if (memchr(name, '\0', (size_t)(l1 + l2)) != NULL ||
	    !name_is_safe(name))
		return bad(s, "an unsafe file name", name);
	snprintf(L->name, sizeof(L->name), "%s", name);

	if ((xf & XMIT_HLINKED) && !(xf & XMIT_HLINK_FIRST)) {
		if ((rc = io_read_varint(s, &v32)) != 0)
			return rc;
		if (v32 < 0 || (size_t)v32 >= s->fl.n ||
		    !(s->fl.e[v32].flags & FL_HLINK_FIRST))
			return bad(s, "a bad hard-link reference", name);
		if ((rc = flist_add(s, &s->fl, name, NULL, &e)) != 0)
			return rc;
		first = &s->fl.e[v32]; /* after: flist_add may move it */
		e->mode = first->mode;
		e->size = first->size;
		e->mtime = first->mtime;
		e->nsec = first->nsec;
		e->uid = first->uid;
		e->gid = first->gid;
		e->link = first->link;
		e->sum = first->sum;
		e->flags = FL_HLINKED;
		e->hl_first = v32;
		L->mode = e->mode;
		L->mtime = e->mtime;
		L->uid = e->uid;
		L->gid = e->gid;
		return 0;
	}

	if ((rc = io_read_varlong30(s, 3, &v64)) != 0)
		return rc;
	if (v64 < 0)
		return bad(s, "a negative file size", name);
	if (!(xf & XMIT_SAME_TIME)) {
		if (s->proto >= 30)
			rc = io_read_varlong(s, 4, &L->mtime);
		else if ((rc = io_read_int(s, &v32)) == 0)
			L->mtime = (uint32_t)v32;
		if (rc != 0)
			return rc;
	}
	L->nsec = 0;
	if (xf & XMIT_MOD_NSEC) {
		if ((rc = io_read_varint(s, &v32)) != 0)
			return rc;
		if (v32 < 0 || v32 > 999999999)
			return bad(s, "a bad time", name);
		L->nsec = (uint32_t)v32;
	}
	if (!(xf & XMIT_SAME_MODE)) {
		if ((rc = io_read_int(s, &v32)) != 0)
			return rc;
		L->mode = (uint32_t)v32;
	}
	switch (L->mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return bad(s, "a bad file mode", name);
	}
	if (strcmp(name, ".") == 0 && !S_ISDIR(L->mode))
		return bad(s, "a non-directory transfer root", name);
	if (s->o.owner && !(xf & XMIT_SAME_UID)) {
		if ((rc = io_read_varint30(s, &v32)) != 0)
			return rc;
		L->uid = (uint32_t)v32;
		if ((xf & XMIT_USER_NAME_FOLLOWS) && (rc = skip_name(s)) != 0)
			return rc;
	}
	if (s->o.group && !(xf & XMIT_SAME_GID)) {
		if ((rc = io_read_varint30(s, &v32)) != 0)
			return rc;
		L->gid = (uint32_t)v32;
		if ((xf & XMIT_GROUP_NAME_FOLLOWS) && (rc = skip_name(s)) != 0)
			return rc;
	}
	if ((s->o.devices && (S_ISCHR(L->mode) || S_ISBLK(L->mode))) ||
	    (s->o.specials && (S_ISFIFO(L->mode) || S_ISSOCK(L->mode)) &&
	    s->proto < 31)) {
		if (!(xf & XMIT_SAME_RDEV_MAJOR) &&
		    (rc = io_read_varint30(s, &v32)) != 0)
			return rc;
		if ((rc = io_read_varint(s, &v32)) != 0)
			return rc;
	}
	link[0] = '\0';
	if (s->o.links && S_ISLNK(L->mode)) {
		if ((rc = io_read_varint30(s, &v32)) != 0)
			return rc;
		if (v32 <= 0 || v32 >= RS_PATH_MAX)
			return bad(s, "a bad symlink length", name);
		if ((rc = io_read(s, link, (size_t)v32)) != 0)
			return rc;
		link[v32] = '\0';
		if (memchr(link, '\0', (size_t)v32) != NULL)
			return bad(s, "a bad symlink", name);
	}
	if (s->o.checksum && S_ISREG(L->mode) &&
	    (rc = io_read(s, sum, (size_t)s->csum_len)) != 0)
		return rc;
	if ((rc = flist_add(s, &s->fl, name, S_ISLNK(L->mode) && s->o.links ?
	    link : NULL, &e)) != 0)
		return rc;
	e->mode = L->mode;
	e->size = v64;
	e->mtime = L->mtime;
	e->nsec = L->nsec;
	e->uid = L->uid;
	e->gid = L->gid;
	if (S_ISDIR(e->mode)) {
		if (!(xf & XMIT_NO_CONTENT_DIR))
			e->flags |= FL_CONTENT_DIR |
			    (xf & XMIT_TOP_DIR ? FL_TOP_DIR : 0);
	}
	if (xf & XMIT_HLINKED)
		e->flags |= FL_HLINKED | FL_HLINK_FIRST;
	if (s->o.checksum && S_ISREG(e->mode)) {
		if ((e->sum = (unsigned char *)pool_dup(&s->fl.pool,
		    (const char *)sum, SUM_LENGTH)) == NULL)
			return RS_ENOMEM;
	}
	if (S_ISREG(e->mode) || S_ISLNK(e->mode))
		s->total_size += (uint64_t)e->size;
	return 0;
}

static int
recv_id_list(struct sess *s)
{
	int32_t id;
	int rc;

	for (;;) {
		if ((rc = io_read_varint30(s, &id)) != 0)
			return rc;
		if (id == 0)
			return 0;
		if ((rc = skip_name(s)) != 0)
			return rc;
	}
}

int
flist_recv(struct sess *s)
{
	struct last *L;
	int32_t v;
	uint32_t xf;
	uint8_t b;
	int rc, err = 0;

	if ((L = calloc(1, sizeof(*L))) == NULL)
		return RS_ENOMEM;
	for (;;) {
		if (s->varint_flags) {
			if ((rc = io_read_varint(s, &v)) != 0)
				goto out;
			xf = (uint32_t)v;
			if (xf == 0) {
				if ((rc = io_read_varint(s, &v)) != 0)
					goto out;
				err = v;
				break;
			}
		} else {
			if ((rc = io_read_byte(s, &b)) != 0)
				goto out;
			if (b == 0)
				break;
			xf = b;
			if (xf & XMIT_EXTENDED_FLAGS) {
				if ((rc = io_read_byte(s, &b)) != 0)
					goto out;
				xf |= (uint32_t)b << 8;
			}
			if (xf == (XMIT_EXTENDED_FLAGS |
			    XMIT_IO_ERROR_ENDLIST)) {
				if (!s->safe_flist) {
					rc = sess_fail(s, RS_EPROTO,
					    RERR_PROTOCOL, "bad file list end");
					goto out;
				}
				if ((rc = io_read_varint(s, &v)) != 0)
					goto out;
				err = v;
				break;
			}
		}
		if ((rc = recv_entry(s, xf, L)) != 0)
			goto out;
	}
	if (!s->o.ignore_errors)
		s->io_error |= err & 7;
	if (!s->o.numeric_ids) {
		if (s->o.owner && (rc = recv_id_list(s)) != 0)
			goto out;
		if (s->o.group && (rc = recv_id_list(s)) != 0)
			goto out;
	}
	if (s->proto < 30) {
		if ((rc = io_read_int(s, &v)) != 0)
			goto out;
		if (!s->o.ignore_errors)
			s->io_error |= v & 7;
	}
	rc = flist_sort(&s->fl);
out:
	free(L);
	return rc;
}
