/*
 * ledger.c — the shared byte ledger (see ledger.h for the contract).
 */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
#define LEDGER_VERSION 2
#define LEDGER_PROCS 16384
#define DRAIN_MAX_MS 60000 /* see drain() */
#define LOCK_SLICE_NS 50000000L /* 50 ms: see lock() */

struct ledger_row {
	char folder[FOLDER_MAX_LEN + 8]; /* normal form; "" when free */
	uint64_t used;  /* bytes under folder */
	uint64_t limit; /* 0 = none */
	uint32_t gen;   /* bumped whenever the slot is freed or reused */
	uint32_t in_use;
	int32_t frozen; /* pid counting it from disk or moving bytes out of
			 * it (see ledger_freeze), 0 if none */
	uint32_t pad;
};

/*
 * One process that mutates the tree.  Each is single-threaded, so it has
 * at most one mutation in flight: busy from ledger_begin to ledger_end.
 * busy and seq are written by their owner alone (busy without the lock).
 */
struct ledger_proc {
	int32_t pid;   /* 0: free; a dead pid's slot is taken over */
	uint32_t busy; /* a mutation is between ledger_begin and ledger_end */
	uint32_t seq;  /* bumped at every ledger_begin */
	uint32_t pad;
};

struct ledger_file {
	uint32_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t pad;
	pthread_mutex_t mu; /* process-shared, robust */
	uint32_t tgen;      /* bumped whenever a row is added or dropped */
	uint32_t mgen;      /* bumped by every move between folders */
	uint32_t epoch;     /* bumped whenever a row's used is set from disk */
	uint32_t filled;    /* 1 once every row was counted from disk */
	char pad2[112];
	struct ledger_row rows[LEDGER_SLOTS];
	struct ledger_proc procs[LEDGER_PROCS];
};

struct ledger {
	struct ledger_file *f;
	size_t len;
	pid_t pid; /* the process that owns pslot (a fork must not use it) */
	int pslot; /* this process's entry in procs[], -1 before the first */
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

/* ---- processes in flight and frozen folders -------------------------- */

/* 0 only if pid is known to be gone (a live pid of another user: alive). */
static int
alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

static void
nap(unsigned long ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* This process's entry in procs[], taken on first use.  Lock held. */
static int
proc_slot_locked(struct ledger *lg)
{
	struct ledger_proc *pr = lg->f->procs;
	pid_t me = log_pid();
	int i, k;

	if (lg->pslot >= 0 && lg->pid == me && pr[lg->pslot].pid == me)
		return lg->pslot;
	for (i = 0; i < LEDGER_PROCS && pr[i].pid != 0; i++)
		;
	if (i == LEDGER_PROCS) /* full: take over a dead process's entry */
		for (i = 0; i < LEDGER_PROCS && alive(pr[i].pid); i++)
			;
	if (i == LEDGER_PROCS)
		return -1;
	pr[i].pid = me;
	/* An entry left with this pid is a dead process's (its pid was
	 * reused): its busy flag must not hold up a count. */
	for (k = 0; k < LEDGER_PROCS; k++)
		if (k != i && pr[k].pid == me)
			pr[k].pid = 0;
	__atomic_store_n(&pr[i].busy, 0, __ATOMIC_RELEASE);
	lg->pid = me;
	lg->pslot = i;
	return i;
}

/* Thaws every row pid froze.  Lock held. */
static void
thaw_pid_locked(struct ledger_file *f, int32_t pid)
{
	int r;

	for (r = 0; r < LEDGER_SLOTS; r++)
		if (f->rows[r].frozen == pid)
			f->rows[r].frozen = 0;
}

/*
 * The pid, other than this process, that has frozen a row of a or b (0 if
 * none).  A freezer found dead has its rows thawed.  Lock held.
 */
static int32_t
frozen_by_other(struct ledger *lg, const struct ledger_set *a,
    const struct ledger_set *b, int check_alive)
{
	const struct ledger_set *sets[2] = { a, b };
	struct ledger_file *f = lg->f;
	pid_t me = log_pid();
	uint32_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; sets[k] != NULL && i < sets[k]->n; i++) {
			int32_t pid = f->rows[sets[k]->slot[i]].frozen;

			if (pid == 0 || pid == me)
				continue;
			if (!check_alive || alive(pid))
				return pid;
			thaw_pid_locked(f, pid);
			log_warn("ledger: thawed folders left frozen by dead "
			    "process %ld", (long)pid);
		}
	return 0;
}

/*
 * Entries busy at the moment of the call (other than this process's):
 * *snap (malloc'd) gets their slot and seq, two uint32_t each.  Lock held.
 */
static int
snapshot_locked(struct ledger *lg, uint32_t **snap, size_t *n)
{
	struct ledger_proc *pr = lg->f->procs;
	pid_t me = log_pid();
	size_t k = 0;
	uint32_t i, *s;

	if ((s = malloc(2 * LEDGER_PROCS * sizeof(*s))) == NULL)
		return COF_ENOMEM;
	for (i = 0; i < LEDGER_PROCS; i++)
		if (pr[i].pid != 0 && pr[i].pid != me &&
		    __atomic_load_n(&pr[i].busy, __ATOMIC_ACQUIRE)) {
			s[2 * k] = i;
			s[2 * k + 1] = pr[i].seq;
			k++;
		}
	*snap = s;
	*n = k;
	return 0;
}

/*
 * Waits until every mutation of the snapshot has ended (ledger_end, a new
 * ledger_begin, or its process gone).  A process that stays busy for
 * DRAIN_MAX_MS (a pid reused by a stranger, a hung disk) is logged and
 * passed over.
 */
static void
drain(struct ledger *lg, const uint32_t *snap, size_t n)
{
	struct ledger_proc *pr = lg->f->procs;
	unsigned long waited = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ledger_proc *p = &pr[snap[2 * i]];
		unsigned long k;

		for (k = 0; __atomic_load_n(&p->busy, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE) ==
			snap[2 * i + 1]; k++) {
			if (k % 100 == 0 && !alive(p->pid))
				break; /* gone: checked at once, then now and
					* then */
			if (waited >= DRAIN_MAX_MS) {
				log_warn("ledger: process %ld busy for %d s, "
				    "counting without waiting for it",
				    (long)p->pid, DRAIN_MAX_MS / 1000);
				break;
			}
			nap(1);
			waited++;
		}
	}
}

/*
 * Makes a fresh ledger file at path, tracking only "/".  replace != 0
 * puts it in place of whatever is there (a file of another version);
 * else a file another process created first is kept.
 */
static int
create_file(const char *path, int replace)
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
	if (replace ? rename(tmp, path) != 0 :
	    link(tmp, path) != 0 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	close(fd);
	unlink(tmp);
	return rc;
}

/* 1 if fd holds a ledger of this version; it is mapped into *out then. */
static int
map_file(int fd, struct ledger_file **out)
{
	struct ledger_file *p;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != sizeof(struct ledger_file))
		return 0;
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	if (p->magic != LEDGER_MAGIC || p->version != LEDGER_VERSION ||
	    p->nslots != LEDGER_SLOTS) {
		munmap(p, sizeof(*p));
		return 0;
	}
	*out = p;
	return 1;
}

int
ledger_open(const char *path, int create, struct ledger **out)
{
	struct ledger_file *p = NULL;
	struct ledger *lg;
	int fd, rc;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = create_file(path, 0)) != 0)
			return rc;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return errno == ENOENT ? COF_ENOENT : COF_EIO;
	if (!map_file(fd, &p) && create) {
		/* Another version's ledger (an upgrade) or a damaged one:
		 * its figures are derived data, made again from disk. */
		log_warn("ledger %s: not this version's, made anew", path);
		close(fd);
		if ((rc = create_file(path, 1)) != 0)
			return rc;
		if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
			return COF_EIO;
		map_file(fd, &p);
	}
	close(fd);
	if (p == NULL)
		return COF_EINVAL;
	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		munmap(p, sizeof(*p));
		return COF_ENOMEM;
	}
	lg->f = p;
	lg->len = sizeof(*p);
	lg->pslot = -1;
	*out = lg;
	return 0;
}

int
ledger_filled(struct ledger *lg)
{
	return lg->f->filled != 0;
}

void
ledger_close(struct ledger *lg)
{
	if (lg == NULL)
		return;
	if (lg->pslot >= 0 && lg->pid == log_pid() && lock(lg) == 0) {
		if (lg->f->procs[lg->pslot].pid == lg->pid)
			lg->f->procs[lg->pslot].pid = 0;
		unlock(lg);
	}
	munmap(lg->f, lg->len);
	free(lg);
}

static int
scan_folder(const char *root, const char *folder, uint64_t *used)
{
	uint64_t sum = 0;
	int fd, rc;

	if ((rc = folder_open(root, folder, 0, &fd)) != 0)
		return rc == COF_ENOENT ? (*used = 0, 0) : rc;
	rc = folder_tree_bytes(fd, &sum);
	close(fd);
	if (rc != 0)
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

	/* "/" has the store's size, and the quota of any sub-account bound
	 * to "/" too: the main account's limit is the pool. */
	if (strcmp(folder, "/") == 0)
		lim = store_size;
	for (i = 0; i < n; i++)
		if (!accts[i]->is_main && accts[i]->quota != 0 &&
		    strcmp(accts[i]->folder, folder) == 0 &&
		    (lim == 0 || accts[i]->quota < lim))
			lim = accts[i]->quota;
	return lim;
}

/* Thaws every row this process froze.  Lock held. */
static void
thaw_locked(struct ledger_file *f)
{
	thaw_pid_locked(f, log_pid());
}

/*
 * Counts row r from disk, exactly: the row (and "/" too when with_root,
 * for a row newly tracked, whose scan must not race a move between
 * folders) is frozen, mutations in flight are waited for, the tree is
 * walked, and the count replaces used.  Meanwhile writes beneath the row
 * wait in ledger_begin.
 */
static int
count_row(struct ledger *lg, const char *root, int r, int with_root)
{
	struct ledger_file *f = lg->f;
	char fo[sizeof(f->rows[0].folder)];
	struct ledger_set rows; /* only slot[] and n are used */
	unsigned long waited;
	uint32_t gen, *snap = NULL;
	uint64_t used = 0;
	size_t n = 0;
	int rc;

	rows.n = with_root && r != 0 ? 2 : 1;
	rows.slot[0] = (uint32_t)r;
	rows.slot[1] = 0;
	for (waited = 0;; waited++) {
		if ((rc = lock(lg)) != 0)
			return rc;
		if (!f->rows[r].in_use) {
			unlock(lg);
			return 0;
		}
		if (frozen_by_other(lg, &rows, NULL, waited % 200 == 199) == 0)
			break;
		unlock(lg);
		nap(waited < 20 ? 1 : 5);
	}
	f->rows[r].frozen = log_pid();
	if (with_root)
		f->rows[0].frozen = log_pid();
	memcpy(fo, f->rows[r].folder, sizeof(fo));
	gen = f->rows[r].gen;
	rc = snapshot_locked(lg, &snap, &n);
	if (rc != 0) {
		thaw_locked(f);
		unlock(lg);
		return rc;
	}
	unlock(lg);
	drain(lg, snap, n);
	free(snap);
	rc = scan_folder(root, fo, &used);
	if (lock(lg) != 0)
		return COF_EIO;
	if (rc == 0 && f->rows[r].in_use && f->rows[r].gen == gen) {
		f->rows[r].used = used;
		f->epoch++;
	}
	thaw_locked(f);
	unlock(lg);
	return rc;
}

int
ledger_sync(struct ledger *lg, const char *root, uint64_t store_size,
    struct account *const *accts, size_t n)
{
	struct ledger_file *f = lg->f;
	size_t i;
	int r, rc;

	/*
	 * A folder not yet tracked gets a row, then is counted from disk
	 * (count_row: writes beneath it wait for the count, so none is
	 * lost or counted twice).
	 */
	for (i = 0; i < n; i++) {
		const char *fo = accts[i]->folder;

		if ((rc = lock(lg)) != 0)
			return rc;
		if (find_row(f, fo) >= 0) {
			unlock(lg);
			continue;
		}
		for (r = 1; r < LEDGER_SLOTS && f->rows[r].in_use; r++)
			;
		if (r == LEDGER_SLOTS) {
			unlock(lg);
			return COF_ELIMIT;
		}
		snprintf(f->rows[r].folder, sizeof(f->rows[r].folder), "%s",
		    fo);
		f->rows[r].used = 0;
		f->rows[r].limit = 0;
		f->rows[r].frozen = log_pid();
		f->rows[r].gen++;
		f->rows[r].in_use = 1;
		f->tgen++;
		unlock(lg);
		if ((rc = count_row(lg, root, r, 1)) != 0)
			return rc;
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
			row->frozen = 0;
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
	int r, rc, want;

	for (r = 0; r < LEDGER_SLOTS; r++) {
		if ((rc = lock(lg)) != 0)
			return rc;
		want = f->rows[r].in_use && (folder == NULL ||
		    folder_contains(folder, f->rows[r].folder));
		unlock(lg);
		if (want && (rc = count_row(lg, root, r, 0)) != 0)
			return rc;
	}
	if (folder == NULL && (rc = lock(lg)) == 0) {
		f->filled = 1;
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

/*
 * Waits until no row of a or b (either may be NULL; both refreshed) is
 * frozen by another process.  Returns with the lock held, or an error
 * without it.
 */
static int
wait_thawed_locked(struct ledger *lg, struct ledger_set *a,
    struct ledger_set *b)
{
	unsigned long waited;
	int rc;

	for (waited = 0;; waited++) {
		if ((rc = lock(lg)) != 0)
			return rc;
		if ((a != NULL && (rc = refresh_locked(lg, a)) != 0) ||
		    (b != NULL && (rc = refresh_locked(lg, b)) != 0)) {
			unlock(lg);
			return rc;
		}
		if (frozen_by_other(lg, a, b, waited % 200 == 199) == 0)
			return 0;
		unlock(lg);
		nap(waited < 20 ? 1 : 5);
	}
}

int
ledger_begin(struct ledger *lg, struct ledger_set *a, struct ledger_set *b,
    uint32_t *mgen)
{
	struct ledger_proc *p;
	int slot, rc;

	if ((rc = wait_thawed_locked(lg, a, b)) != 0)
		return rc;
	if ((slot = proc_slot_locked(lg)) < 0) {
		unlock(lg);
		log_error("ledger: more than %d processes writing at once",
		    LEDGER_PROCS);
		return COF_ELIMIT;
	}
	p = &lg->f->procs[slot];
	__atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&p->busy, 1, __ATOMIC_RELEASE);
	if (mgen != NULL)
		*mgen = lg->f->mgen;
	unlock(lg);
	return 0;
}

void
ledger_end(struct ledger *lg)
{
	if (lg != NULL && lg->pslot >= 0)
		__atomic_store_n(&lg->f->procs[lg->pslot].busy, 0,
		    __ATOMIC_RELEASE);
}

int
ledger_freeze(struct ledger *lg, struct ledger_set *a, struct ledger_set *b)
{
	const struct ledger_set *sets[2] = { a, b };
	uint32_t i, k, *snap = NULL;
	size_t n = 0;
	pid_t me = log_pid();
	int rc;

	if ((rc = wait_thawed_locked(lg, a, b)) != 0)
		return rc;
	for (k = 0; k < 2; k++)
		for (i = 0; sets[k] != NULL && i < sets[k]->n; i++)
			lg->f->rows[sets[k]->slot[i]].frozen = me;
	if ((rc = snapshot_locked(lg, &snap, &n)) != 0) {
		thaw_locked(lg->f);
		unlock(lg);
		return rc;
	}
	unlock(lg);
	drain(lg, snap, n);
	free(snap);
	return 0;
}

void
ledger_thaw(struct ledger *lg, int moved)
{
	if (lock(lg) != 0)
		return;
	thaw_locked(lg->f);
	if (moved)
		lg->f->mgen++;
	unlock(lg);
}

uint32_t
ledger_mgen(struct ledger *lg)
{
	return __atomic_load_n(&lg->f->mgen, __ATOMIC_ACQUIRE);
}

uint32_t
ledger_epoch(struct ledger *lg)
{
	return __atomic_load_n(&lg->f->epoch, __ATOMIC_ACQUIRE);
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
