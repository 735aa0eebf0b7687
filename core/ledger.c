/*
 * ledger.c — the shared byte ledger (see ledger.h for the contract).
 */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "folder.h"
#include "log.h"

#define LEDGER_MAGIC 0x43464c47u /* "CFLG" */
#define LEDGER_VERSION 1
#define SCAN_MAX_DEPTH 512
#define LOCK_SLICE_NS 50000000L /* 50 ms: see lock() */

struct ledger_row {
	char folder[FOLDER_MAX_LEN + 8]; /* normal form; "" when free */
	uint64_t used;  /* bytes under folder */
	uint64_t limit; /* 0 = none */
	uint32_t gen;   /* bumped whenever the slot is freed or reused */
	uint32_t in_use;
};

struct ledger_file {
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t pad;
	pthread_mutex_t mu; /* process-shared, robust */
	uint32_t tgen;      /* bumped whenever a row is added or dropped */
	char pad2[124];
	struct ledger_row rows[LEDGER_SLOTS];
};

struct ledger {
	struct ledger_file *f;
	size_t len;
	/* This process's note of the rows in use: none at or above hi,
	 * true while the table's generation is still hi_tgen (every row
	 * added or dropped bumps it).  Spares a look-up the walk over all
	 * LEDGER_SLOTS rows, a megabyte of shared memory, on every open
	 * for writing and every rename. */
	uint32_t hi;
	uint32_t hi_tgen;
	int hi_valid;
};

char *
ledger_path_for(const char *database)
{
	size_t n = strlen(database) + sizeof("-ledger");
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s-ledger", database);
	return p;
}

static int
lock(struct ledger *lg)
{
	struct timespec t;
	int rc;

	/*
	 * Waits in slices, never for good: a robust mutex can still lose a
	 * wake-up when a process is killed just after being woken to take
	 * it while a third one takes it on the fast path (the kernel only
	 * passes the wake-up on when the lock is free at the death).  The
	 * sleeper then finds it on its next slice.
	 */
	do {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += LOCK_SLICE_NS;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		rc = pthread_mutex_clocklock(&lg->f->mu, CLOCK_MONOTONIC, &t);
	} while (rc == ETIMEDOUT);
	if (rc == EOWNERDEAD) {
		/* A process died holding the lock: its update was a few
		 * integer stores; keep going, a rescan repairs drift. */
		log_warn("ledger: recovered the lock from a dead process");
		pthread_mutex_consistent(&lg->f->mu);
		rc = 0;
	}
	return rc == 0 ? 0 : COF_EIO;
}

static void
unlock(struct ledger *lg)
{
	pthread_mutex_unlock(&lg->f->mu);
}

static int
create_file(const char *path)
{
	char tmp[4200];
	struct ledger_file *f;
	pthread_mutexattr_t ma;
	int fd, rc = COF_EIO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
		(long)getpid()) >= sizeof(tmp))
		return COF_EINVAL;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return COF_EIO;
	if (ftruncate(fd, sizeof(struct ledger_file)) != 0)
		goto out;
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		goto out;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&f->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	f->nslots = LEDGER_SLOTS;
	f->version = LEDGER_VERSION;
	strcpy(f->rows[0].folder, "/");
	f->rows[0].in_use = 1;
	f->magic = LEDGER_MAGIC;
	if (msync(f, sizeof(*f), MS_SYNC) != 0) {
		munmap(f, sizeof(*f));
		goto out;
	}
	munmap(f, sizeof(*f));
	/* link(2) fails if another process created it first: fine. */
	if (link(tmp, path) != 0 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	close(fd);
	unlink(tmp);
	return rc;
}

int
ledger_open(const char *path, int create, struct ledger **out)
{
	struct ledger *lg = NULL;
	struct stat st;
	void *p;
	int fd = -1, rc;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = create_file(path)) != 0)
			return rc;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return errno == ENOENT ? COF_ENOENT : COF_EIO;
	rc = COF_EINVAL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != sizeof(struct ledger_file))
		goto out;
	p = mmap(NULL, sizeof(struct ledger_file), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = COF_EIO;
		goto out;
	}
	if (((struct ledger_file *)p)->magic != LEDGER_MAGIC ||
	    ((struct ledger_file *)p)->version != LEDGER_VERSION ||
	    ((struct ledger_file *)p)->nslots != LEDGER_SLOTS) {
		munmap(p, sizeof(struct ledger_file));
		goto out;
	}
	rc = COF_ENOMEM;
	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		munmap(p, sizeof(struct ledger_file));
		goto out;
	}
	lg->f = p;
	lg->len = sizeof(struct ledger_file);
	*out = lg;
	rc = 0;
out:
	close(fd);
	return rc;
}

void
ledger_close(struct ledger *lg)
{
	if (lg == NULL)
		return;
	munmap(lg->f, lg->len);
	free(lg);
}

/* Bytes of regular files beneath dirfd (consumed). */
static int
scan_dir(int fd, int depth, uint64_t *sum)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > SCAN_MAX_DEPTH) {
		close(fd);
		return COF_ELIMIT;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return COF_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* vanished meanwhile */
		if (S_ISREG(st.st_mode)) {
			*sum += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0 && (rc = scan_dir(sub, depth + 1, sum)))
				break;
		}
	}
	closedir(d);
	return rc;
}

static int
scan_folder(const char *root, const char *folder, uint64_t *used)
{
	uint64_t sum = 0;
	int fd, rc;

	if ((rc = folder_open(root, folder, 0, &fd)) != 0)
		return rc == COF_ENOENT ? (*used = 0, 0) : rc;
	if ((rc = scan_dir(fd, 0, &sum)) != 0)
		return rc;
	*used = sum;
	return 0;
}

static int
find_row(struct ledger_file *f, const char *folder)
{
	int i;

	for (i = 0; i < LEDGER_SLOTS; i++)
		if (f->rows[i].in_use && strcmp(f->rows[i].folder, folder) == 0)
			return i;
	return -1;
}

static uint64_t
limit_for(const char *folder, uint64_t store_size,
    struct account *const *accts, size_t n)
{
	uint64_t lim = 0;
	size_t i;

	if (strcmp(folder, "/") == 0)
		return store_size;
	for (i = 0; i < n; i++)
		if (!accts[i]->is_main && accts[i]->quota != 0 &&
		    strcmp(accts[i]->folder, folder) == 0 &&
		    (lim == 0 || accts[i]->quota < lim))
			lim = accts[i]->quota;
	return lim;
}

int
ledger_sync(struct ledger *lg, const char *root, uint64_t store_size,
    struct account *const *accts, size_t n)
{
	struct ledger_file *f = lg->f;
	size_t i;
	int r, rc;

	/* Scan folders not yet tracked outside the lock (can be slow). */
	for (i = 0; i < n; i++) {
		uint64_t used = 0;
		const char *fo = accts[i]->folder;

		if ((rc = lock(lg)) != 0)
			return rc;
		r = find_row(f, fo);
		unlock(lg);
		if (r >= 0)
			continue;
		if ((rc = scan_folder(root, fo, &used)) != 0)
			return rc;
		if ((rc = lock(lg)) != 0)
			return rc;
		if (find_row(f, fo) < 0) {
			for (r = 1; r < LEDGER_SLOTS && f->rows[r].in_use; r++)
				;
			if (r == LEDGER_SLOTS) {
				unlock(lg);
				return COF_ELIMIT;
			}
			snprintf(f->rows[r].folder, sizeof(f->rows[r].folder),
			    "%s", fo);
			f->rows[r].used = used;
			f->rows[r].gen++;
			f->rows[r].in_use = 1;
			f->tgen++;
		}
		unlock(lg);
	}
	if ((rc = lock(lg)) != 0)
		return rc;
	for (r = 0; r < LEDGER_SLOTS; r++) {
		struct ledger_row *row = &f->rows[r];
		int wanted = r == 0;

		if (!row->in_use)
			continue;
		for (i = 0; i < n && !wanted; i++)
			wanted = strcmp(accts[i]->folder, row->folder) == 0;
		if (!wanted) {
			row->in_use = 0;
			row->gen++;
			row->folder[0] = '\0';
			f->tgen++;
			continue;
		}
		row->limit = limit_for(row->folder, store_size, accts, n);
	}
	unlock(lg);
	return 0;
}

int
ledger_rescan(struct ledger *lg, const char *root, const char *folder)
{
	struct ledger_file *f = lg->f;
	int r, rc;

	for (r = 0; r < LEDGER_SLOTS; r++) {
		char fo[sizeof(f->rows[0].folder)];
		uint64_t used;
		uint32_t gen;

		if ((rc = lock(lg)) != 0)
			return rc;
		if (!f->rows[r].in_use ||
		    (folder != NULL && !folder_contains(folder,
			f->rows[r].folder))) {
			unlock(lg);
			continue;
		}
		memcpy(fo, f->rows[r].folder, sizeof(fo));
		gen = f->rows[r].gen;
		unlock(lg);
		if ((rc = scan_folder(root, fo, &used)) != 0)
			return rc;
		if ((rc = lock(lg)) != 0)
			return rc;
		if (f->rows[r].in_use && f->rows[r].gen == gen)
			f->rows[r].used = used;
		unlock(lg);
	}
	return 0;
}

/* One past the last row in use (lock held). */
static uint32_t
rows_end(struct ledger *lg)
{
	struct ledger_file *f = lg->f;
	uint32_t r;

	if (lg->hi_valid && lg->hi_tgen == f->tgen)
		return lg->hi;
	for (r = LEDGER_SLOTS; r > 0 && !f->rows[r - 1].in_use; r--)
		;
	lg->hi = r;
	lg->hi_tgen = f->tgen;
	lg->hi_valid = 1;
	return r;
}

/* Caller holds the lock. */
static int
lookup_locked(struct ledger *lg, const char *path, struct ledger_set *s)
{
	struct ledger_file *f = lg->f;
	uint32_t r, end = rows_end(lg);

	s->n = 0;
	s->tgen = f->tgen;
	for (r = 0; r < end; r++) {
		if (!f->rows[r].in_use ||
		    !folder_contains(f->rows[r].folder, path))
			continue;
		if (s->n == LEDGER_SET_MAX)
			return COF_ELIMIT;
		s->slot[s->n] = r;
		s->gen[s->n] = f->rows[r].gen;
		s->n++;
	}
	return 0;
}

int
ledger_lookup(struct ledger *lg, const char *path, struct ledger_set *set)
{
	int rc;

	if (strlen(path) >= sizeof(set->path))
		return COF_EINVAL;
	strcpy(set->path, path);
	if ((rc = lock(lg)) != 0)
		return rc;
	rc = lookup_locked(lg, path, set);
	unlock(lg);
	return rc;
}

/*
 * Re-resolves a set made before the tracked folders changed (a folder
 * added that contains it, or a slot dropped or recycled).  Lock held.
 */
static int
refresh_locked(struct ledger *lg, struct ledger_set *s)
{
	struct ledger_file *f = lg->f;
	uint32_t i;

	if (s->tgen != f->tgen)
		return lookup_locked(lg, s->path, s);
	for (i = 0; i < s->n; i++)
		if (!f->rows[s->slot[i]].in_use ||
		    f->rows[s->slot[i]].gen != s->gen[i])
			return lookup_locked(lg, s->path, s);
	return 0;
}

static int
in_set(const struct ledger_set *s, uint32_t slot)
{
	uint32_t i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (s->slot[i] == slot)
			return 1;
	return 0;
}

static uint64_t
avail_locked(struct ledger_file *f, const struct ledger_set *s)
{
	uint64_t a = LEDGER_UNLIMITED;
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		const struct ledger_row *row = &f->rows[s->slot[i]];
		uint64_t left;

		if (row->limit == 0)
			continue;
		left = row->used >= row->limit ? 0 : row->limit - row->used;
		if (left < a)
			a = left;
	}
	return a;
}

/* used + grow - shrink, saturating at UINT64_MAX and clamped at 0. */
static void
apply(struct ledger_row *row, uint64_t grow, uint64_t shrink)
{
	if (grow >= shrink) {
		grow -= shrink;
		/* Saturate: an unlimited folder must not wrap to a small
		 * number that would then let limited folders pass. */
		row->used = grow > UINT64_MAX - row->used ? UINT64_MAX
							   : row->used + grow;
	} else {
		shrink -= grow;
		row->used = row->used > shrink ? row->used - shrink : 0;
	}
}

/*
 * The one update: bytes leave the folders only in from and arrive in
 * those only in to; replaced bytes leave every folder of to.  Checked
 * first where a folder grows on balance; undo applies the exact reverse,
 * unchecked.
 */
static int
transfer(struct ledger *lg, struct ledger_set *from, struct ledger_set *to,
    uint64_t bytes, uint64_t replaced, int undo, uint64_t *avail)
{
	struct ledger_file *f = lg->f;
	uint32_t i;
	int rc;

	if ((rc = lock(lg)) != 0)
		return rc;
	if ((from != NULL && (rc = refresh_locked(lg, from)) != 0) ||
	    (rc = refresh_locked(lg, to)) != 0)
		goto out;
	for (i = 0; !undo && bytes > replaced && i < to->n; i++) {
		struct ledger_row *row = &f->rows[to->slot[i]];

		if (in_set(from, to->slot[i]) || row->limit == 0)
			continue;
		if (row->used > row->limit ||
		    bytes - replaced > row->limit - row->used) {
			rc = COF_EQUOTA;
			goto out;
		}
	}
	for (i = 0; i < to->n; i++) {
		uint64_t grow = in_set(from, to->slot[i]) ? 0 : bytes;

		if (undo)
			apply(&f->rows[to->slot[i]], replaced, grow);
		else
			apply(&f->rows[to->slot[i]], grow, replaced);
	}
	for (i = 0; from != NULL && i < from->n; i++) {
		if (in_set(to, from->slot[i]))
			continue;
		if (undo)
			apply(&f->rows[from->slot[i]], bytes, 0);
		else
			apply(&f->rows[from->slot[i]], 0, bytes);
	}
out:
	if (avail != NULL)
		*avail = avail_locked(f, to);
	unlock(lg);
	return rc;
}

int
ledger_move(struct ledger *lg, struct ledger_set *from, struct ledger_set *to,
    uint64_t bytes, uint64_t *avail)
{
	return transfer(lg, from, to, bytes, 0, 0, avail);
}

int
ledger_replace(struct ledger *lg, struct ledger_set *from,
    struct ledger_set *to, uint64_t bytes, uint64_t replaced, int undo,
    uint64_t *avail)
{
	return transfer(lg, from, to, bytes, replaced, undo, avail);
}

int
ledger_charge(struct ledger *lg, struct ledger_set *set, int64_t delta,
    uint64_t *avail)
{
	if (delta >= 0)
		return ledger_move(lg, NULL, set, (uint64_t)delta, avail);
	/* A pure credit: "from" is the set, "to" is empty. */
	{
		struct ledger_set none;
		int rc;

		none.n = 0;
		none.tgen = 0; /* a refresh finds nothing for "" either */
		none.path[0] = '\0';
		rc = ledger_move(lg, set, &none, delta == INT64_MIN ?
		    (uint64_t)INT64_MAX + 1 : (uint64_t)-delta, NULL);
		if (avail != NULL)
			ledger_available(lg, set, avail);
		return rc;
	}
}

int
ledger_available(struct ledger *lg, struct ledger_set *set, uint64_t *avail)
{
	int rc;

	if ((rc = lock(lg)) != 0)
		return rc;
	if ((rc = refresh_locked(lg, set)) == 0)
		*avail = avail_locked(lg->f, set);
	unlock(lg);
	return rc;
}

int
ledger_folder(struct ledger *lg, const char *folder, uint64_t *used,
    uint64_t *limit)
{
	int r, rc;

	if ((rc = lock(lg)) != 0)
		return rc;
	r = find_row(lg->f, folder);
	if (r >= 0) {
		if (used != NULL)
			*used = lg->f->rows[r].used;
		if (limit != NULL)
			*limit = lg->f->rows[r].limit;
	}
	unlock(lg);
	return r >= 0 ? 0 : COF_ENOENT;
}

int
ledger_tracked_within(struct ledger *lg, const char *path)
{
	int r, found = 0;

	if (lock(lg) != 0)
		return 1; /* fail safe: treat as protected */
	for (r = 1; r < LEDGER_SLOTS && !found; r++)
		found = lg->f->rows[r].in_use &&
		    folder_contains(path, lg->f->rows[r].folder);
	unlock(lg);
	return found;
}
