/*
 * test_ledger.c — the shared usage ledger against real files in a temp
 * dir: open and create, tracking accounts (ledger_sync), charges at the
 * boundaries, nested folders, moves between limits, the IBARD examples,
 * rescans against the disk, eight processes charging one limit at once,
 * and processes killed while they hold the lock.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ledger.h"
#include "store.h"
#include "../lib/harness.h"

#define NOTRACK UINT64_MAX /* used() of a folder that is not tracked */
#define NWORKERS 8
#define NLIVE 3 /* processes that go on while others are killed */

static char dir[64];
static char root[256];	/* the current store's tree */
static char lpath[256]; /* the current store's ledger file */

/* The accounts handed to ledger_sync. */
static struct account acc[32];
static struct account *accp[32];
static size_t nacc;

static void
acct_reset(void)
{
	memset(acc, 0, sizeof(acc));
	nacc = 0;
}

static struct account *
mkacct(const char *name, const char *folder, uint64_t quota, int is_main)
{
	struct account *a = &acc[nacc];

	a->name = (char *)name;
	a->folder = (char *)folder;
	a->quota = quota;
	a->is_main = is_main;
	accp[nacc++] = a;
	return a;
}

/* A fresh store: $dir/NAME/tree and $dir/NAME/ledger, ledger created. */
static struct ledger *
fresh(const char *name)
{
	struct ledger *lg = NULL;
	char d[128];

	snprintf(d, sizeof(d), "%s/%s", dir, name);
	mkdir(d, 0700);
	snprintf(root, sizeof(root), "%s/tree", d);
	mkdir(root, 0755);
	snprintf(lpath, sizeof(lpath), "%s/ledger", d);
	if (ledger_open(lpath, 1, &lg) != 0) {
		printf("# cannot create %s\n", lpath);
		exit(1);
	}
	acct_reset();
	return lg;
}

/* Makes root/rel (parents too) a file of size bytes (sparse). */
static void
mkfile(const char *rel, off_t size)
{
	char p[512], *s;
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, size) != 0)
		printf("# mkfile %s: %s\n", p, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
mkdirs(const char *rel)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s%s/", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
}

static uint64_t
used(struct ledger *lg, const char *folder)
{
	uint64_t u = 0;

	return ledger_folder(lg, folder, &u, NULL) == 0 ? u : NOTRACK;
}

static uint64_t
limit(struct ledger *lg, const char *folder)
{
	uint64_t l = 0;

	return ledger_folder(lg, folder, NULL, &l) == 0 ? l : NOTRACK;
}

static uint64_t
avail(struct ledger *lg, const char *path)
{
	struct ledger_set s;
	uint64_t a = 0;

	if (ledger_lookup(lg, path, &s) != 0 ||
	    ledger_available(lg, &s, &a) != 0)
		return 0xdead;
	return a;
}

/* Charges delta at path (a fresh look-up); the ledger's return code. */
static int
charge_at(struct ledger *lg, const char *path, int64_t delta)
{
	struct ledger_set s;
	int rc;

	if ((rc = ledger_lookup(lg, path, &s)) != 0)
		return rc;
	return ledger_charge(lg, &s, delta, NULL);
}

static int
sync_accts(struct ledger *lg, uint64_t store_size)
{
	return ledger_sync(lg, root, store_size, accp, nacc);
}

/* Sum of st_size of the regular files beneath root/rel (nftw). */
static uint64_t walk_sum;
static int
walk_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode))
		walk_sum += (uint64_t)st->st_size;
	return 0;
}

static uint64_t
disk(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", root, strcmp(rel, "/") ? rel : "");
	walk_sum = 0;
	nftw(p, walk_cb, 32, FTW_PHYS);
	return walk_sum;
}

/* ---- open and create --------------------------------------------- */

static void
test_open(void)
{
	struct ledger *a = NULL, *b = NULL, *c = NULL;
	struct stat st;
	char *p, bad[160];
	int fd;

	p = ledger_path_for("/x/coffer.db");
	CHECK_STR(p, "/x/coffer.db-ledger");
	free(p);

	snprintf(lpath, sizeof(lpath), "%s/open-ledger", dir);
	CHECK_INT(ledger_open(lpath, 0, &a), COF_ENOENT);
	CHECK(a == NULL);
	CHECK_INT(ledger_open(lpath, 1, &a), 0);
	CHECK(stat(lpath, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_MSG(used(a, "/") == 0 && limit(a, "/") == 0,
	    "a new ledger tracks only \"/\", empty and unlimited");
	CHECK_INT(ledger_folder(a, "/a", NULL, NULL), COF_ENOENT);
	/* A second mapping (create on an existing file) shares it. */
	CHECK_INT(ledger_open(lpath, 1, &b), 0);
	CHECK_INT(charge_at(a, "/f", 123), 0);
	CHECK_U64(used(b, "/"), 123);
	ledger_close(a);
	ledger_close(b);
	/* It persists across closes. */
	CHECK_INT(ledger_open(lpath, 0, &c), 0);
	CHECK_U64(used(c, "/"), 123);
	ledger_close(c);
	ledger_close(NULL);

	/* Files that are not a ledger are refused, not mapped. */
	snprintf(bad, sizeof(bad), "%s/short-ledger", dir);
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "CFLG", 4) == 4);
	close(fd);
	c = NULL;
	CHECK_INT(ledger_open(bad, 0, &c), COF_EINVAL);
	CHECK(c == NULL);
	snprintf(bad, sizeof(bad), "%s/zero-ledger", dir);
	CHECK(stat(lpath, &st) == 0);
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, st.st_size) == 0);
	close(fd);
	CHECK_INT(ledger_open(bad, 0, &c), COF_EINVAL);
	/* Asked to create, a damaged or older ledger is made anew (its
	 * figures are derived data) and is not yet filled from disk. */
	CHECK_INT(ledger_open(bad, 1, &c), 0);
	CHECK(c != NULL && !ledger_filled(c) && used(c, "/") == 0);
	CHECK_INT(ledger_rescan(c, dir, NULL), 0);
	CHECK(c != NULL && ledger_filled(c));
	ledger_close(c);
	c = NULL;
	snprintf(bad, sizeof(bad), "%s/link-ledger", dir);
	CHECK(symlink(lpath, bad) == 0);
	CHECK_MSG(ledger_open(bad, 1, &c) != 0 && c == NULL,
	    "a symlink is not followed to a ledger");
}

/* ---- tracking accounts -------------------------------------------- */

static void
test_sync(void)
{
	struct ledger *lg = fresh("sync");
	struct ledger_set stale;

	mkfile("/a/f1", 50);
	mkfile("/a/b/f2", 20);
	mkfile("/c/f", 7);
	mkfile("/top", 3);
	mkacct("admin", "/", 5, 1); /* the main account's quota is ignored */
	mkacct("ann", "/a", 300, 0);
	mkacct("art", "/a", 200, 0); /* same folder: the smaller quota */
	mkacct("carl", "/c", 0, 0);
	mkacct("dora", "/a/b", 100, 0);
	mkacct("zed", "/missing", 9, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_U64(limit(lg, "/"), 1000);
	CHECK_U64(limit(lg, "/a"), 200);
	CHECK_U64(limit(lg, "/a/b"), 100);
	CHECK_U64(limit(lg, "/c"), 0);
	CHECK_U64(limit(lg, "/missing"), 9);
	CHECK_MSG(used(lg, "/a") == 70 && used(lg, "/a/b") == 20 &&
		used(lg, "/c") == 7 && used(lg, "/missing") == 0,
	    "newly tracked folders are scanned from disk");
	CHECK_U64(used(lg, "/"), 0); /* tracked since creation: not rescanned */
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_U64(used(lg, "/"), 80);

	/* A zero quota next to a non-zero one: the non-zero one. */
	acc[1].quota = 0;
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_U64(limit(lg, "/a"), 200);
	acc[2].quota = 0;
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_MSG(limit(lg, "/a") == 0 && limit(lg, "/") == 0,
	    "quota 0 and store size 0: no limit");

	/* Dropping an account drops its row; a set made before refreshes
	 * and no longer charges the old slot, even after it is reused. */
	CHECK_INT(ledger_lookup(lg, "/a/b/x", &stale), 0);
	CHECK_INT(stale.n, 3);
	acct_reset();
	mkacct("admin", "/", 0, 1);
	mkacct("ann", "/a", 200, 0);
	mkacct("carl", "/c", 0, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_INT(ledger_folder(lg, "/a/b", NULL, NULL), COF_ENOENT);
	CHECK_INT(ledger_folder(lg, "/missing", NULL, NULL), COF_ENOENT);
	mkfile("/y/f", 11);
	mkacct("yves", "/y", 50, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_U64(used(lg, "/y"), 11);
	CHECK_INT(ledger_charge(lg, &stale, 5, NULL), 0);
	CHECK_MSG(
	    used(lg, "/y") == 11 && used(lg, "/a") == 75 && used(lg, "/") == 85,
	    "a stale set charges only what contains it");
	CHECK_INT(stale.n, 2);

	/* A folder tracked after a set was made (an account added while a
	 * file beneath its folder is open) is charged from then on. */
	CHECK_INT(ledger_lookup(lg, "/a/new/f", &stale), 0);
	CHECK_INT(stale.n, 2);
	mkacct("nina", "/a/new", 10, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_INT(ledger_charge(lg, &stale, 11, NULL), COF_EQUOTA);
	CHECK_INT(ledger_charge(lg, &stale, 10, NULL), 0);
	CHECK_MSG(used(lg, "/a/new") == 10 && used(lg, "/a") == 85,
	    "a set made before the folder was tracked charges it");
	CHECK_INT(stale.n, 3);

	/* A sub-account bound to "/" with a quota limits "/" (and so every
	 * write), under the store's size or alone. */
	mkacct("rooted", "/", 120, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_U64(limit(lg, "/"), 120);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_U64(limit(lg, "/"), 120);
	CHECK_INT(sync_accts(lg, 100), 0);
	CHECK_U64(limit(lg, "/"), 100);
	ledger_close(lg);
}

/* ---- boundaries --------------------------------------------------- */

static void
test_bounds(void)
{
	struct ledger *lg = fresh("bounds");
	struct ledger_set s, f;
	const uint64_t L = 1000;
	uint64_t a = 0;

	mkacct("admin", "/", 0, 1);
	mkacct("q", "/q", L, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(ledger_lookup(lg, "/q/file", &s), 0);

	CHECK_INT(ledger_charge(lg, &s, (int64_t)L - 1, &a), 0);
	CHECK_U64(a, 1);
	CHECK_INT(ledger_charge(lg, &s, 2, &a), COF_EQUOTA);
	CHECK_MSG(used(lg, "/q") == L - 1 && used(lg, "/") == L - 1 && a == 1,
	    "limit+1 refused: nothing charged, 1 byte reported available");
	CHECK_INT(ledger_charge(lg, &s, 1, &a), 0);
	CHECK_MSG(used(lg, "/q") == L && a == 0, "exactly at the limit");
	CHECK_INT(ledger_charge(lg, &s, 1, &a), COF_EQUOTA);
	CHECK_INT(ledger_charge(lg, &s, 0, &a), 0);
	CHECK_U64(used(lg, "/q"), L);
	CHECK_INT(ledger_charge(lg, &s, -(int64_t)L, &a), 0);
	CHECK_MSG(used(lg, "/q") == 0 && a == L, "credit gives it all back");
	CHECK_INT(ledger_charge(lg, &s, (int64_t)L, NULL), 0);
	CHECK_INT(ledger_charge(lg, &s, -(int64_t)L, NULL), 0);
	CHECK_INT(ledger_charge(lg, &s, (int64_t)L + 1, &a), COF_EQUOTA);
	CHECK_U64(used(lg, "/q"), 0);
	CHECK_INT(ledger_charge(lg, &s, INT64_MAX, &a), COF_EQUOTA);
	CHECK_INT(ledger_move(lg, NULL, &s, UINT64_MAX, &a), COF_EQUOTA);
	CHECK_INT(
	    ledger_move(lg, NULL, &s, (uint64_t)INT64_MAX + 1, &a), COF_EQUOTA);
	CHECK_MSG(used(lg, "/q") == 0 && used(lg, "/") == 0 && a == L,
	    "huge charges refused, nothing changed");

	/* Credits clamp at 0, whatever their size. */
	CHECK_INT(ledger_charge(lg, &s, 10, NULL), 0);
	CHECK_INT(ledger_charge(lg, &s, -11, &a), 0);
	CHECK_MSG(used(lg, "/q") == 0 && used(lg, "/") == 0 && a == L,
	    "credit past 0 clamps at 0");
	CHECK_INT(ledger_charge(lg, &s, 10, NULL), 0);
	CHECK_INT(ledger_charge(lg, &s, INT64_MIN, &a), 0);
	CHECK_MSG(used(lg, "/q") == 0 && used(lg, "/") == 0,
	    "INT64_MIN credit clamps at 0");
	CHECK_INT(ledger_charge(lg, &s, -INT64_MAX, NULL), 0);
	CHECK_U64(used(lg, "/q"), 0);

	/* Unlimited: no refusal, and used never wraps around. */
	CHECK_INT(ledger_lookup(lg, "/free/x", &f), 0);
	CHECK_INT(ledger_charge(lg, &f, INT64_MAX, &a), 0);
	CHECK_U64(a, LEDGER_UNLIMITED);
	CHECK_U64(used(lg, "/"), INT64_MAX);
	CHECK_INT(ledger_charge(lg, &f, INT64_MAX, NULL), 0);
	CHECK_INT(ledger_charge(lg, &f, INT64_MAX, NULL), 0);
	CHECK_MSG(used(lg, "/") >= (uint64_t)INT64_MAX * 2,
	    "unlimited usage saturates instead of wrapping (%" PRIu64 ")",
	    used(lg, "/"));
	CHECK_INT(ledger_move(lg, NULL, &f, UINT64_MAX, NULL), 0);
	CHECK_U64(used(lg, "/"), UINT64_MAX);
	/* ... and a saturated "/" never lets a limited folder pass. */
	CHECK_INT(sync_accts(lg, 5000), 0);
	CHECK_INT(ledger_charge(lg, &s, 1, &a), COF_EQUOTA);
	CHECK_U64(a, 0);
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_U64(used(lg, "/"), 0);

	/* A store size at UINT64_MAX is a limit that can be reached. */
	CHECK_INT(sync_accts(lg, UINT64_MAX), 0);
	CHECK_INT(ledger_move(lg, NULL, &f, UINT64_MAX, &a), 0);
	CHECK_U64(a, 0);
	CHECK_INT(ledger_charge(lg, &f, 1, NULL), COF_EQUOTA);
	CHECK_U64(used(lg, "/"), UINT64_MAX);
	ledger_close(lg);
}

/* A refused charge, where only the innermost folder is full, changes no
 * folder at all (checked before anything is written). */
static void
test_refused_atomic(void)
{
	struct ledger *lg = fresh("atomic");
	struct ledger_set s;
	uint64_t a = 0;

	mkacct("admin", "/", 0, 1);
	mkacct("outer", "/o", 1000, 0);
	mkacct("inner", "/o/i", 100, 0);
	CHECK_INT(sync_accts(lg, 10000), 0);
	CHECK_INT(ledger_lookup(lg, "/o/i/deep/f", &s), 0);
	CHECK_INT(s.n, 3);
	CHECK_INT(ledger_charge(lg, &s, 90, NULL), 0);
	CHECK_INT(ledger_charge(lg, &s, 11, &a), COF_EQUOTA);
	CHECK_MSG(used(lg, "/") == 90 && used(lg, "/o") == 90 &&
		used(lg, "/o/i") == 90 && a == 10,
	    "refused by the innermost: no folder changed");
	ledger_close(lg);
}

/* ---- nested folders, the tightest limit wins ----------------------- */

static void
test_nested(void)
{
	struct ledger *lg = fresh("nested");

	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 300, 0);
	mkacct("ab", "/a/b", 100, 0);
	mkacct("free", "/free", 0, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);

	CHECK_INT(charge_at(lg, "/a/b/f", 60), 0);
	CHECK_MSG(used(lg, "/") == 60 && used(lg, "/a") == 60 &&
		used(lg, "/a/b") == 60,
	    "a write under /a/b counts for /, /a and /a/b");
	CHECK_U64(avail(lg, "/a/b/f"), 40);   /* /a/b is tightest */
	CHECK_U64(avail(lg, "/a/x"), 240);    /* /a's own margin */
	CHECK_U64(avail(lg, "/a/bb/x"), 240); /* "/a/bb" is not in /a/b */
	CHECK_INT(charge_at(lg, "/a/g", 200), 0);
	CHECK_U64(used(lg, "/a/b"), 60);
	CHECK_U64(avail(lg, "/a/b/f"), 40);
	CHECK_INT(charge_at(lg, "/a/g", 30), 0);
	CHECK_U64(avail(lg, "/a/b/f"), 10); /* now /a is tightest */
	CHECK_INT(charge_at(lg, "/a/b/f", 11), COF_EQUOTA);
	CHECK_INT(charge_at(lg, "/a/b/f", 10), 0);
	CHECK_MSG(used(lg, "/a") == 300 && used(lg, "/a/b") == 70,
	    "the outer limit stopped the inner folder");
	/* The store size is the pool: it limits "free" (no quota). */
	CHECK_U64(avail(lg, "/free/x"), 700);
	CHECK_INT(charge_at(lg, "/top", 650), 0);
	CHECK_U64(avail(lg, "/free/x"), 50);
	CHECK_INT(charge_at(lg, "/free/x", 51), COF_EQUOTA);
	CHECK_INT(charge_at(lg, "/free/x", 50), 0);
	CHECK_U64(avail(lg, "/"), 0);
	CHECK_INT(charge_at(lg, "/top", 1), COF_EQUOTA);
	CHECK_INT(charge_at(lg, "/a/b/f", 1), COF_EQUOTA);

	/* Nesting deeper than a set holds is refused, not overflowed. */
	{
		static char f[LEDGER_SET_MAX + 2][64];
		struct ledger_set s;
		size_t i;

		acct_reset();
		mkacct("admin", "/", 0, 1);
		for (i = 0; i < LEDGER_SET_MAX; i++) {
			snprintf(
			    f[i], sizeof(f[i]), "%s/n", i == 0 ? "" : f[i - 1]);
			mkacct("n", f[i], 0, 0);
		}
		CHECK_INT(sync_accts(lg, 0), 0);
		CHECK_INT(ledger_lookup(lg, f[LEDGER_SET_MAX - 2], &s), 0);
		CHECK_INT(s.n, LEDGER_SET_MAX);
		CHECK_INT(
		    ledger_lookup(lg, f[LEDGER_SET_MAX - 1], &s), COF_ELIMIT);
	}
	ledger_close(lg);
}

/* ---- the two IBARD examples (units of 1) ---------------------------- */

static void
test_ibard(void)
{
	struct ledger *lg = fresh("ibard");
	const char *subs[4] = {"/s1", "/s2", "/s3", "/s4"};
	char p[32];
	int i, order, bad = 0;

	/* 1: store 25, sub-account quota 25, the main account holds 11. */
	mkacct("admin", "/", 0, 1);
	mkacct("sub", "/sub", 25, 0);
	CHECK_INT(sync_accts(lg, 25), 0);
	CHECK_INT(charge_at(lg, "/admin-data", 11), 0);
	CHECK_U64(avail(lg, "/sub/f"), 14);
	CHECK_INT(charge_at(lg, "/sub/f", 15), COF_EQUOTA);
	CHECK_INT(charge_at(lg, "/admin-data", -5), 0);
	CHECK_U64(avail(lg, "/sub/f"), 19);
	CHECK_INT(charge_at(lg, "/sub/f", 20), COF_EQUOTA);
	CHECK_INT(charge_at(lg, "/sub/f", 19), 0);
	CHECK_MSG(used(lg, "/") == 25 && avail(lg, "/x") == 0,
	    "example 1: the sub-account filled the pool");
	ledger_close(lg);

	/* 2: store 25, four sub-accounts with quota 5, main holds 5: each
	 * can store exactly 5, in any order. */
	for (order = 0; order < 3; order++) {
		char name[32];

		snprintf(name, sizeof(name), "ibard2-%d", order);
		lg = fresh(name);
		mkacct("admin", "/", 0, 1);
		for (i = 0; i < 4; i++)
			mkacct("s", subs[i], 5, 0);
		CHECK_INT(sync_accts(lg, 25), 0);
		CHECK_INT(charge_at(lg, "/mine", 5), 0);
		for (i = 0; i < 4; i++) {
			int k = order == 1 ? 3 - i
			    : order == 2   ? (i * 3) % 4
					   : i;

			snprintf(p, sizeof(p), "%s/f", subs[k]);
			if (avail(lg, p) != 5 ||
			    charge_at(lg, p, 6) != COF_EQUOTA ||
			    charge_at(lg, p, 3) != 0 ||
			    charge_at(lg, p, 2) != 0 ||
			    charge_at(lg, p, 1) != COF_EQUOTA)
				bad++;
		}
		CHECK_MSG(bad == 0 && used(lg, "/") == 25,
		    "example 2 (order %d): each sub-account stored exactly 5",
		    order);
		ledger_close(lg);
	}
}

/* ---- moves between sets (rename, link) ----------------------------- */

static void
test_move(void)
{
	struct ledger *lg = fresh("move");
	struct ledger_set A, B, N, Y, top, none;
	uint64_t a = 0;

	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 100, 0);
	mkacct("b", "/b", 100, 0);
	mkacct("n", "/a/n", 50, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_INT(ledger_lookup(lg, "/a/x", &A), 0);
	CHECK_INT(ledger_lookup(lg, "/b/x", &B), 0);
	CHECK_INT(ledger_lookup(lg, "/a/n/x", &N), 0);
	CHECK_INT(ledger_lookup(lg, "/a/y", &Y), 0);
	CHECK_INT(ledger_lookup(lg, "/top", &top), 0);
	CHECK_INT(ledger_charge(lg, &A, 80, NULL), 0);
	CHECK_INT(ledger_charge(lg, &B, 60, NULL), 0);

	/* Into a fuller folder: the destination's limit decides. */
	CHECK_INT(ledger_move(lg, &A, &B, 41, &a), COF_EQUOTA);
	CHECK_MSG(used(lg, "/a") == 80 && used(lg, "/b") == 60 &&
		used(lg, "/") == 140 && a == 40,
	    "refused move: nothing changed, 40 reported available");
	CHECK_INT(ledger_move(lg, &A, &B, 40, &a), 0);
	CHECK_MSG(used(lg, "/a") == 40 && used(lg, "/b") == 100 &&
		used(lg, "/") == 140 && a == 0,
	    "a move at the limit: / unchanged, /a down, /b up");
	/* Within /a into the nested, tighter /a/n, and out again. */
	CHECK_INT(ledger_move(lg, &A, &N, 51, NULL), COF_EQUOTA);
	CHECK_INT(ledger_move(lg, &A, &N, 40, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 40 && used(lg, "/a/n") == 40 &&
		used(lg, "/") == 140,
	    "into /a/n: only /a/n grows");
	CHECK_INT(ledger_move(lg, &N, &Y, 40, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 40 && used(lg, "/a/n") == 0,
	    "out of /a/n: only /a/n shrinks");
	/* From the main account's own files into a full sub-folder. */
	CHECK_INT(ledger_charge(lg, &top, 500, NULL), 0);
	CHECK_INT(ledger_move(lg, &top, &B, 1, &a), COF_EQUOTA);
	CHECK_INT(ledger_move(lg, &top, &A, 60, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 100 && used(lg, "/") == 640,
	    "main account's file moved into /a: / unchanged");
	/* A full store doesn't stop a move between its folders; a move out
	 * of a full folder is always possible. */
	acct_reset();
	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 100, 0);
	mkacct("b", "/b", 100, 0);
	mkacct("n", "/a/n", 50, 0);
	CHECK_INT(sync_accts(lg, 200), 0); /* / holds 640 > 200 */
	CHECK_INT(ledger_charge(lg, &top, 1, NULL), COF_EQUOTA);
	CHECK_INT(ledger_move(lg, &B, &A, 1, NULL), COF_EQUOTA); /* /a full */
	CHECK_INT(ledger_move(lg, &B, &top, 100, NULL), 0);
	CHECK_INT(ledger_move(lg, &A, &B, 30, NULL), 0);
	CHECK_MSG(used(lg, "/") == 640 && used(lg, "/a") == 70 &&
		used(lg, "/b") == 30,
	    "moves under an over-full / still work");
	/* Zero bytes always move; from NULL is a plain charge (a link). */
	CHECK_INT(ledger_move(lg, &A, &B, 0, NULL), 0);
	CHECK_INT(ledger_move(lg, NULL, &B, 70, NULL), COF_EQUOTA);
	acct_reset();
	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 100, 0);
	mkacct("b", "/b", 100, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(ledger_move(lg, NULL, &B, 70, &a), 0);
	CHECK_MSG(used(lg, "/b") == 100 && used(lg, "/") == 710 && a == 0,
	    "a new link charges every folder of its set");
	/* To an empty set: a pure credit. */
	memset(&none, 0, sizeof(none));
	CHECK_INT(ledger_move(lg, &B, &none, 10, NULL), 0);
	CHECK_U64(used(lg, "/b"), 90);
	ledger_close(lg);
}

/* A rename over an existing file: the net growth decides; undo is exact
 * and never refused. */
static void
test_replace(void)
{
	struct ledger *lg = fresh("replace");
	struct ledger_set A, B, A2;
	uint64_t a = 0;

	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 100, 0);
	mkacct("b", "/b", 100, 0);
	CHECK_INT(sync_accts(lg, 1000), 0);
	CHECK_INT(ledger_lookup(lg, "/a/r", &A), 0);
	CHECK_INT(ledger_lookup(lg, "/a/s", &A2), 0);
	CHECK_INT(ledger_lookup(lg, "/b/g", &B), 0);
	CHECK_INT(ledger_charge(lg, &A, 80, NULL), 0);
	CHECK_INT(ledger_charge(lg, &B, 95, NULL), 0); /* g is 80 of it */
	/* 30 bytes replace 80 in a folder with 5 left: allowed. */
	CHECK_INT(ledger_move(lg, &A, &B, 30, &a), COF_EQUOTA);
	CHECK_INT(ledger_replace(lg, &A, &B, 30, 80, 0, &a), 0);
	CHECK_MSG(used(lg, "/a") == 50 && used(lg, "/b") == 45 &&
		used(lg, "/") == 95 && a == 55,
	    "replace: /a -30, /b +30-80, / -80 (%" PRIu64 " %" PRIu64
	    " %" PRIu64 ")",
	    used(lg, "/a"), used(lg, "/b"), used(lg, "/"));
	/* Net growth past the limit: refused, nothing changed. */
	CHECK_INT(ledger_replace(lg, &A, &B, 66, 10, 0, &a), COF_EQUOTA);
	CHECK_MSG(used(lg, "/a") == 50 && used(lg, "/b") == 45 &&
		used(lg, "/") == 95 && a == 55,
	    "refused replace changed nothing");
	CHECK_INT(ledger_replace(lg, &A, &B, 65, 10, 0, &a), 0);
	CHECK_MSG(used(lg, "/a") == 0 && used(lg, "/b") == 100 && a == 0,
	    "net growth exactly at the limit (/a clamps at 0)");
	/* Undo restores exactly, even past limits (the rename failed). */
	CHECK_INT(ledger_replace(lg, &A, &B, 20, 5, 0, NULL), COF_EQUOTA);
	CHECK_INT(ledger_charge(lg, &A, 50, NULL), 0);
	CHECK_INT(ledger_replace(lg, &A, &B, 30, 30, 0, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 20 && used(lg, "/b") == 100 &&
		used(lg, "/") == 105,
	    "same-size replace (%" PRIu64 " %" PRIu64 " %" PRIu64 ")",
	    used(lg, "/a"), used(lg, "/b"), used(lg, "/"));
	CHECK_INT(ledger_charge(lg, &A2, 80, NULL), 0); /* /a full again */
	CHECK_INT(ledger_replace(lg, &A, &B, 30, 30, 1, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 130 && used(lg, "/b") == 100 &&
		used(lg, "/") == 215,
	    "undo is exact and not refused (%" PRIu64 " %" PRIu64 " %" PRIu64
	    ")",
	    used(lg, "/a"), used(lg, "/b"), used(lg, "/"));
	/* Within one set only the replaced bytes go. */
	CHECK_INT(ledger_replace(lg, &A2, &A, 0, 30, 0, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 100 && used(lg, "/") == 185,
	    "replace within /a credits the replaced file");
	CHECK_INT(ledger_replace(lg, &A2, &A, 0, 30, 1, NULL), 0);
	CHECK_MSG(used(lg, "/a") == 130 && used(lg, "/") == 215,
	    "... and its undo charges it back, past the limit");
	ledger_close(lg);
}

/* ---- folders that are or hold an account's home -------------------- */

static void
test_tracked_within(void)
{
	struct ledger *lg = fresh("within");

	mkacct("admin", "/", 0, 1);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(ledger_tracked_within(lg, "/"), 0);
	mkacct("a", "/a", 0, 0);
	mkacct("n", "/a/n", 0, 0);
	mkacct("x", "/team/x", 0, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(ledger_tracked_within(lg, "/"), 1);
	CHECK_INT(ledger_tracked_within(lg, "/a"), 1);
	CHECK_INT(ledger_tracked_within(lg, "/a/n"), 1);
	CHECK_INT(ledger_tracked_within(lg, "/a/n/deep"), 0);
	CHECK_INT(ledger_tracked_within(lg, "/a/other"), 0);
	CHECK_INT(ledger_tracked_within(lg, "/team"), 1);
	CHECK_INT(ledger_tracked_within(lg, "/te"), 0);
	CHECK_INT(ledger_tracked_within(lg, "/a/nn"), 0);
	CHECK_INT(ledger_tracked_within(lg, "/b"), 0);
	ledger_close(lg);
}

/* ---- rescans match the disk ---------------------------------------- */

static void
test_rescan(void)
{
	struct ledger *lg = fresh("rescan");
	char a[512], b[512];

	mkfile("/a/one", 1000);
	mkfile("/a/deep/er/two", 2345);
	mkfile("/a/empty", 0);
	mkfile("/a/sparse", 10 << 20); /* logical size counts */
	mkfile("/b/three", 777);
	mkfile("/b/n/four", 4);
	mkfile("/loose", 99);
	mkdirs("/c/empty/dir");
	snprintf(a, sizeof(a), "%s/a/one", root);
	snprintf(b, sizeof(b), "%s/b/one-link", root);
	CHECK(link(a, b) == 0); /* a second link counts where it appears */
	snprintf(b, sizeof(b), "%s/b/sym", root);
	CHECK(symlink("../a/sparse", b) == 0); /* a symlink counts 0 */
	snprintf(b, sizeof(b), "%s/b/fifo", root);
	CHECK(mkfifo(b, 0600) == 0);
	mkacct("admin", "/", 0, 1);
	mkacct("a", "/a", 0, 0);
	mkacct("b", "/b", 0, 0);
	mkacct("n", "/b/n", 0, 0);
	mkacct("c", "/c", 0, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_U64(used(lg, "/a"), 1000 + 2345 + (10 << 20));
	CHECK_U64(used(lg, "/b"), 777 + 4 + 1000);
	CHECK_U64(used(lg, "/"), disk("/"));
	CHECK_MSG(used(lg, "/a") == disk("/a") &&
		used(lg, "/b") == disk("/b") &&
		used(lg, "/b/n") == disk("/b/n") && used(lg, "/c") == 0,
	    "every folder equals the sum of st_size on disk");

	/* Drift everywhere, then rescan one folder: it and what is inside
	 * it are fixed, nothing else. */
	CHECK_INT(charge_at(lg, "/b/n/x", 5000), 0);
	CHECK_INT(charge_at(lg, "/a/x", 3), 0);
	CHECK_INT(ledger_rescan(lg, root, "/b"), 0);
	CHECK_MSG(used(lg, "/b") == disk("/b") && used(lg, "/b/n") == 4,
	    "rescan of /b fixed /b and /b/n");
	CHECK_MSG(used(lg, "/a") == disk("/a") + 3 &&
		used(lg, "/") == disk("/") + 5003,
	    "... and only them");
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_MSG(used(lg, "/") == disk("/") && used(lg, "/a") == disk("/a"),
	    "a full rescan fixes the rest");
	/* A tracked folder missing on disk holds 0. */
	mkacct("m", "/gone", 0, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	CHECK_INT(charge_at(lg, "/gone/x", 9), 0);
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_U64(used(lg, "/gone"), 0);
	ledger_close(lg);
}

/* ---- eight processes against one limit ------------------------------ */

struct shared {
	int64_t net[NWORKERS]; /* bytes each worker has charged, net */
	uint64_t refused[NWORKERS];
	uint64_t over[NWORKERS]; /* times a worker saw used > limit */
	int err[NWORKERS];
};

static void
worker(struct ledger *lg, int inherit, int k, uint64_t L, struct shared *sh,
    int go)
{
	struct ledger *own = NULL;
	struct ledger_set s;
	unsigned seed = (unsigned)(k * 7919 + 1);
	char c;
	int i;

	if (!inherit) {
		/* Half the workers map the file themselves, as the CLI
		 * does; the others share the parent's mapping, as cofferd's
		 * connections do. */
		if (ledger_open(lpath, 0, &own) != 0)
			_exit(2);
		lg = own;
	}
	if (ledger_lookup(lg, "/c/file", &s) != 0)
		_exit(3);
	/* All start at once: wait for the parent to close the pipe. */
	if (read(go, &c, 1) != 0)
		_exit(4);
	for (i = 0; i < 50000; i++) {
		int64_t n = 1 + rand_r(&seed) % 4096;
		uint64_t u = 0;
		int rc;

		if (rand_r(&seed) % 3 == 0 && sh->net[k] > 0) {
			/* Give some back (a truncate or a remove). */
			n = 1 +
			    rand_r(&seed) %
				(sh->net[k] < 4096 ? sh->net[k] : 4096);
			if (ledger_charge(lg, &s, -n, NULL) != 0)
				sh->err[k]++;
			sh->net[k] -= n;
			continue;
		}
		rc = ledger_charge(lg, &s, n, NULL);
		if (rc == 0)
			sh->net[k] += n;
		else if (rc == COF_EQUOTA)
			sh->refused[k]++;
		else
			sh->err[k]++;
		if (i % 64 == 0 &&
		    (ledger_folder(lg, "/c", &u, NULL) != 0 || u > L))
			sh->over[k]++;
	}
	ledger_close(own);
	_exit(0);
}

static void
test_concurrent(void)
{
	struct ledger *lg = fresh("concurrent");
	struct ledger_set s;
	struct shared *sh;
	const uint64_t L = 1 << 20;
	pid_t pid[NWORKERS];
	int64_t sum = 0;
	uint64_t refused = 0, over = 0, fill = 0;
	int k, errs = 0, status, exits = 0, go[2];

	mkacct("admin", "/", 0, 1);
	mkacct("c", "/c", L, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	if (sh == MAP_FAILED)
		return;
	memset(sh, 0, sizeof(*sh));
	CHECK(pipe(go) == 0);
	fflush(stdout);
	for (k = 0; k < NWORKERS; k++)
		if ((pid[k] = fork()) == 0) {
			close(go[1]);
			worker(lg, k % 2, k, L, sh, go[0]);
		}
	close(go[0]);
	close(go[1]);
	for (k = 0; k < NWORKERS; k++)
		if (waitpid(pid[k], &status, 0) == pid[k] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			exits++;
	CHECK_INT(exits, NWORKERS);
	for (k = 0; k < NWORKERS; k++) {
		sum += sh->net[k];
		refused += sh->refused[k];
		over += sh->over[k];
		errs += sh->err[k];
	}
	CHECK_INT(errs, 0);
	CHECK_MSG(refused > 0,
	    "the workers hit the limit (%" PRIu64 " refusals)", refused);
	CHECK_U64(over, 0);
	CHECK_MSG(
	    used(lg, "/c") == (uint64_t)sum && used(lg, "/") == (uint64_t)sum,
	    "charged = the sum of successful charges (%" PRId64 ")", sum);
	CHECK(used(lg, "/c") <= L);
	/* The last bytes are all usable, one at a time. */
	CHECK_INT(ledger_lookup(lg, "/c/f", &s), 0);
	while (ledger_charge(lg, &s, 1, NULL) == 0)
		fill++;
	CHECK_MSG((uint64_t)sum + fill == L && used(lg, "/c") == L,
	    "filled to exactly the limit (%" PRId64 " + %" PRIu64 ")", sum,
	    fill);
	munmap(sh, sizeof(*sh));
	ledger_close(lg);
}

/* ---- counts beside writers, freezes, dead processes -------------------- */

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
ms_sleep(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Appends n bytes to root/rel. */
static void
grow_file(const char *rel, size_t n)
{
	char p[512], buf[4096];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	memset(buf, 'g', sizeof(buf));
	if ((fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		_exit(5);
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		if (write(fd, buf, k) != (ssize_t)k)
			_exit(6);
		n -= k;
	}
	close(fd);
}

/*
 * A child that begins a change beneath path (waiting while it is
 * frozen), notes the time it got through in *stamp, ends it and exits 0
 * (3 when the look-up or begin fails).
 */
static pid_t
begin_child(struct ledger *lg, const char *path, volatile double *stamp)
{
	struct ledger_set cs;
	pid_t c;

	fflush(stdout);
	if ((c = fork()) != 0)
		return c;
	if (ledger_lookup(lg, path, &cs) != 0 ||
	    ledger_begin(lg, &cs, NULL, NULL) != 0)
		_exit(3);
	*stamp = now_s();
	ledger_end(lg);
	_exit(0);
}

static void
test_begin_freeze(void)
{
	struct ledger *lg = fresh("freeze");
	struct ledger_set s, t;
	volatile double *stamp;
	double t0;
	uint32_t m0, m1;
	pid_t c;
	int status;

	mkfile("/w/old", 1000);
	mkacct("admin", "/", 0, 1);
	mkacct("w", "/w", 0, 0);
	mkacct("v", "/v", 0, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	stamp = mmap(NULL, sizeof(*stamp), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stamp == MAP_FAILED) {
		CHECK_MSG(0, "mmap");
		return;
	}

	/* A count waits for a mutation in flight: a child charges 5000,
	 * takes 300 ms to land them on disk, then ends; the rescan started
	 * meanwhile returns after that and counts them exactly once. */
	*stamp = 0;
	fflush(stdout);
	if ((c = fork()) == 0) {
		struct ledger_set cs;

		if (ledger_lookup(lg, "/w/new", &cs) != 0 ||
		    ledger_begin(lg, &cs, NULL, NULL) != 0 ||
		    ledger_charge(lg, &cs, 5000, NULL) != 0)
			_exit(3);
		ms_sleep(300);
		grow_file("/w/new", 5000);
		*stamp = now_s();
		ledger_end(lg);
		_exit(0);
	}
	ms_sleep(100);
	CHECK_INT(ledger_rescan(lg, root, "/w"), 0);
	t0 = now_s();
	waitpid(c, &status, 0);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    *stamp > 0 && t0 >= *stamp,
	    "a rescan waits for the write in flight to land");
	CHECK_U64(used(lg, "/w"), 6000);

	/* A write waits while its folder is frozen, not one elsewhere. */
	CHECK_INT(ledger_lookup(lg, "/w/x", &s), 0);
	CHECK_INT(ledger_lookup(lg, "/v/x", &t), 0);
	m0 = ledger_mgen(lg);
	CHECK_INT(ledger_freeze(lg, &s, NULL), 0);
	*stamp = 0;
	c = begin_child(lg, "/w/y", stamp);
	ms_sleep(300);
	t0 = now_s();
	ledger_thaw(lg, 1);
	waitpid(c, &status, 0);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    *stamp >= t0, "a write beneath a frozen folder waits for the thaw");
	m1 = ledger_mgen(lg);
	CHECK_MSG(m1 == m0 + 1, "a thaw after a move bumps the move "
	    "generation");
	/* A freeze holds only the folders it names: with v's row alone
	 * frozen (t without "/"), a write beneath /w goes on at once. */
	{
		struct ledger_set vonly = t;
		uint32_t i, k = 0;

		for (i = 1; i < t.n; i++) { /* slot 0 is "/" */
			vonly.slot[k] = t.slot[i];
			vonly.gen[k++] = t.gen[i];
		}
		vonly.n = k;
		CHECK_INT(vonly.n, 1);
		CHECK_INT(ledger_freeze(lg, &vonly, NULL), 0);
		*stamp = 0;
		t0 = now_s();
		c = begin_child(lg, "/w/y", stamp);
		ms_sleep(300);
		ledger_thaw(lg, 0); /* before waiting: a held child ends */
		waitpid(c, &status, 0);
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    *stamp > 0 && *stamp - t0 < 0.2,
		    "a write elsewhere does not wait for a frozen folder");
	}

	/* A freezer killed before it thaws: writers go on within seconds. */
	fflush(stdout);
	if ((c = fork()) == 0) {
		struct ledger_set cs;

		if (ledger_lookup(lg, "/w/z", &cs) != 0 ||
		    ledger_freeze(lg, &cs, NULL) != 0)
			_exit(3);
		_exit(0); /* no thaw */
	}
	waitpid(c, &status, 0);
	t0 = now_s();
	alarm(10);
	CHECK_INT(ledger_begin(lg, &s, NULL, NULL), 0);
	alarm(0);
	ledger_end(lg);
	CHECK_MSG(now_s() - t0 < 5, "a dead freezer's folders are thawed "
	    "(%.1f s)", now_s() - t0);

	/* A writer killed mid-write: a count does not wait for it long. */
	fflush(stdout);
	if ((c = fork()) == 0) {
		struct ledger_set cs;

		if (ledger_lookup(lg, "/w/k", &cs) != 0 ||
		    ledger_begin(lg, &cs, NULL, NULL) != 0)
			_exit(3);
		for (;;)
			pause();
	}
	ms_sleep(100);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	t0 = now_s();
	alarm(10);
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	alarm(0);
	CHECK_MSG(now_s() - t0 < 5, "a dead writer does not hold up a count "
	    "(%.1f s)", now_s() - t0);
	munmap((void *)stamp, sizeof(*stamp));
	ledger_close(lg);
}

/* ---- a process killed while it holds the lock ------------------------ */

static void
on_alarm(int sig)
{
	static const char m[] = "not ok - deadlock: the ledger lock was "
				"never given back\n";

	(void)sig;
	(void)!write(1, m, sizeof(m) - 1);
	_exit(1);
}

static void
spin(struct ledger *lg)
{
	struct ledger_set s;

	if (ledger_lookup(lg, "/k/f", &s) != 0)
		_exit(3);
	for (;;) {
		ledger_charge(lg, &s, 1, NULL);
		ledger_charge(lg, &s, -1, NULL);
	}
}

static void
test_robust(void)
{
	struct ledger *lg = fresh("robust");
	char logf[160], line[256];
	FILE *f;
	int saved, fd, i, okc = 0, recovered = 0, exits = 0, status;
	volatile int *stop;
	pid_t p[NLIVE];

	mkacct("admin", "/", 0, 1);
	mkacct("k", "/k", 1000, 0);
	CHECK_INT(sync_accts(lg, 0), 0);
	/* The ledger logs a recovery on stderr: count them. */
	snprintf(logf, sizeof(logf), "%s/robust.log", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	signal(SIGALRM, on_alarm);
	srand((unsigned)getpid());
	for (i = 0; i < 30; i++) {
		struct timespec ts = {0, 200000 + (rand() % 2000) * 1000};
		pid_t c;

		fflush(stdout);
		if ((c = fork()) == 0)
			spin(lg);
		nanosleep(&ts, NULL);
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		alarm(5);
		if (charge_at(lg, "/k/g", 1) == 0 &&
		    charge_at(lg, "/k/g", -1) == 0)
			okc++;
		alarm(0);
	}
	CHECK_INT(okc, 30);
	/*
	 * Live processes go on while others die around them, holding the
	 * lock or just woken to take it (a lost wake-up there once hung a
	 * survivor for good): each must keep getting the lock.
	 */
	stop = mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(stop != MAP_FAILED);
	if (stop == MAP_FAILED)
		return;
	*stop = 0;
	for (i = 0; i < NLIVE; i++)
		if ((p[i] = fork()) == 0) {
			struct ledger_set s;

			alarm(10);
			if (ledger_lookup(lg, "/k/h", &s) != 0)
				_exit(3);
			while (!*stop)
				if (ledger_charge(lg, &s, 1, NULL) != 0 ||
				    ledger_charge(lg, &s, -1, NULL) != 0)
					_exit(4);
			_exit(0);
		}
	for (i = 0; i < 200; i++) {
		struct timespec ts = {0, 50000 + (rand() % 200) * 1000};
		pid_t c[3];
		int j;

		for (j = 0; j < 3; j++)
			if ((c[j] = fork()) == 0)
				spin(lg);
		nanosleep(&ts, NULL);
		for (j = 0; j < 3; j++) {
			kill(c[j], SIGKILL);
			waitpid(c[j], NULL, 0);
		}
	}
	*stop = 1;
	for (i = 0; i < NLIVE; i++)
		if (waitpid(p[i], &status, 0) == p[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			exits++;
	munmap((void *)stop, sizeof(*stop));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK_INT(exits, NLIVE);
	if ((f = fopen(logf, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "recovered the lock") != NULL)
				recovered++;
		fclose(f);
	}
	CHECK_MSG(recovered > 0,
	    "%d kills hit a process holding the lock; "
	    "the lock was recovered each time",
	    recovered);
	/* A kill between two rows may leave drift: a rescan repairs it. */
	/* Each kill between a spinner's +1 and -1 leaves a byte charged,
	 * and one inside the update may have reached /k and not / (or the
	 * reverse): bounded drift, which a rescan repairs. */
	CHECK_MSG(used(lg, "/k") <= 630 && used(lg, "/") <= 630,
	    "before the rescan: /k %" PRIu64 ", / %" PRIu64 " (<= 630 kills)",
	    used(lg, "/k"), used(lg, "/"));
	CHECK_INT(ledger_rescan(lg, root, NULL), 0);
	CHECK_MSG(used(lg, "/k") == 0 && used(lg, "/") == 0,
	    "after a rescan usage is the disk's again");
	ledger_close(lg);
}

/* ---- cleanup ----------------------------------------------------------- */

static int
rm_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(p);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "/tmp/coffer-ledger.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open();
	test_sync();
	test_begin_freeze();
	test_bounds();
	test_refused_atomic();
	test_nested();
	test_ibard();
	test_move();
	test_replace();
	test_tracked_within();
	test_rescan();
	test_concurrent();
	test_robust();
	nftw(dir, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
	return harness_done();
}
