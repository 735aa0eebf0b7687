/*
 * ledger.h — bytes used per tracked folder, shared by every process of a
 * store, exact under concurrency.
 *
 * The ledger is a small file next to the database ("<database>-ledger")
 * mapped MAP_SHARED by the gateway (before it forks, so every connection
 * shares it) and by the CLI.  It holds one row per tracked folder — "/"
 * and every account's folder — with the bytes used under it and its limit,
 * and one process-shared robust mutex.  A write is charged under that
 * mutex against every tracked folder that contains it before it lands:
 * no database transaction per write, and no two sessions can together
 * pass a limit by one byte.  A process killed while holding the mutex is
 * recovered (robust mutex); usage drift after a crash is repaired by
 * ledger_rescan(), which the gateway runs at start.
 *
 * Usage of a folder = the sum of st_size of the regular files beneath it
 * (every hard link counted where it appears).
 *
 * Limits: "/" has the store's size S (0 = none); an account folder has the
 * smallest non-zero quota among the accounts bound to it (0 = none).
 */
#ifndef COFFER_LEDGER_H
#define COFFER_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define LEDGER_SLOTS 4096
#define LEDGER_SET_MAX 16 /* nesting depth of tracked folders per path */
#define LEDGER_UNLIMITED UINT64_MAX

struct ledger;

/*
 * The tracked folders containing one path, resolved once (at open) and
 * reused for every charge.  The table's generation and the slots' detect
 * folders tracked, dropped or recycled meanwhile (then the set is looked
 * up again).
 */
struct ledger_set {
	char path[4096 + 1]; /* store-relative path it was made for */
	uint32_t tgen;       /* the table's generation at the look-up */
	uint32_t n;
	uint32_t slot[LEDGER_SET_MAX];
	uint32_t gen[LEDGER_SET_MAX];
};

/*
 * Maps the ledger file at path.  create != 0 creates it (mode 0600, with
 * only "/" tracked) when missing.
 */
int ledger_open(const char *path, int create, struct ledger **out);
void ledger_close(struct ledger *lg);
/* The file name for a database path ("<db>-ledger"), malloc'd. */
char *ledger_path_for(const char *database);

/*
 * Makes the tracked set match the accounts: "/" with limit store_size and
 * each distinct account folder with its limit.  A folder newly tracked is
 * scanned from disk (root: the store's tree).  Rows for folders no
 * account uses any more are dropped.
 */
int ledger_sync(struct ledger *lg, const char *root, uint64_t store_size,
    struct account *const *accts, size_t n);

/*
 * Recomputes used from disk for folder (normal form) and every tracked
 * folder inside it, or for all when folder is NULL.
 */
int ledger_rescan(struct ledger *lg, const char *root, const char *folder);

/* Fills set for a store-relative path ("/a/b/file"). */
int ledger_lookup(struct ledger *lg, const char *path, struct ledger_set *set);

/*
 * Charges delta bytes to every folder of set.  delta > 0 is refused with
 * COF_EQUOTA, changing nothing, when any folder would pass its limit;
 * delta < 0 is always applied (clamped at 0).  *avail (may be NULL) gets
 * the space left afterwards (LEDGER_UNLIMITED if no limit applies).
 */
int ledger_charge(struct ledger *lg, struct ledger_set *set, int64_t delta,
    uint64_t *avail);

/*
 * Moves bytes from one set to another in one step (rename, link): folders
 * in both are unchanged, folders only in to grow — refused with COF_EQUOTA
 * if one would pass its limit — folders only in from shrink.  from may be
 * NULL (pure charge of a new link).
 */
int ledger_move(struct ledger *lg, struct ledger_set *from,
    struct ledger_set *to, uint64_t bytes, uint64_t *avail);

/*
 * A rename over an existing file in one step: as ledger_move, and the
 * replaced bytes (the file overwritten at the destination) leave every
 * folder of to.  Only a folder that grows on balance is checked: the
 * destination's limits see the net growth.  undo != 0 applies the exact
 * reverse of the same call without checking (the rename itself failed).
 */
int ledger_replace(struct ledger *lg, struct ledger_set *from,
    struct ledger_set *to, uint64_t bytes, uint64_t replaced, int undo,
    uint64_t *avail);

/*
 * A charge of delta bytes (0: a check only) for a file that is to
 * replace allow bytes already counted in every folder of set (a new copy
 * written beside the old one, then renamed over it): each folder may pass
 * its limit by up to allow, so that only the net growth has to fit, as
 * for an overwrite in place, while used stays the sum of what is on
 * disk.  COF_EQUOTA, changing nothing, when used + delta > limit + allow
 * somewhere.  *avail (may be NULL) gets the space left, as for
 * ledger_charge (without the allowance).
 */
int ledger_charge_over(struct ledger *lg, struct ledger_set *set,
    uint64_t delta, uint64_t allow, uint64_t *avail);

/* Space left for set (min over its folders of limit - used). */
int ledger_available(struct ledger *lg, struct ledger_set *set,
    uint64_t *avail);

/*
 * 1 if a tracked folder lies at or beneath path (store-relative): such a
 * directory is another account's home and must not be renamed or removed.
 */
int ledger_tracked_within(struct ledger *lg, const char *path);

/* used and limit of one tracked folder.  COF_ENOENT if not tracked. */
int ledger_folder(struct ledger *lg, const char *folder, uint64_t *used,
    uint64_t *limit);

#endif
