/*
 * store.h — the account store: one SQLite database per store.
 *
 * The database holds the store's settings (root folder on disk, size,
 * maximum number of sub-accounts), the accounts and their SSH keys.  It is
 * opened in WAL mode with a busy timeout and foreign keys on; every change
 * is one transaction (BEGIN IMMEDIATE ... COMMIT), so a reader — the
 * gateway authenticating a login — never sees a half-made account and is
 * never blocked by a writer.  The schema carries a version (PRAGMA
 * user_version) and store_open() migrates older databases forward.
 *
 * Byte usage is not kept here: it lives in the ledger (ledger.h).
 */
#ifndef COFFER_STORE_H
#define COFFER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pubkey.h"

#define STORE_SCHEMA_VERSION 1

struct store;

struct store_info {
	char *root;            /* absolute path of the tree on disk */
	uint64_t size;         /* S: total bytes, 0 = only the disk limits */
	uint32_t max_accounts; /* sub-accounts allowed, 0 = unlimited */
	int64_t created;       /* unix time */
};

struct account {
	int64_t id;
	char *name;      /* lower case, see names.h */
	char *folder;    /* normal form (folder.h); "/" for the main account */
	int is_main;     /* the admin's account: folder "/", limit S */
	int read_only;   /* list and download only */
	uint64_t quota;  /* own limit in bytes, 0 = only the store's */
	int disabled;    /* 1 = logins refused */
	int64_t expires; /* unix time after which logins are refused; 0 never */
	char *email;     /* "" if none, never NULL */
	char *password;  /* encoded hash (password.h) or NULL: no password */
	int64_t created; /* unix time */
	int64_t changed; /* unix time of the last change (any field, keys) */
	uint64_t generation; /* bumped on every change; gateways compare it */
};

struct store_key {
	int64_t id;
	char *type;
	unsigned char *blob;
	size_t blob_len;
	char *fingerprint;
	char *comment;
	int64_t created;
};

/*
 * Opens (and migrates) the database at path.  create != 0 creates the file
 * and schema if missing; otherwise a missing database is COF_ENOENT.  A
 * schema newer than STORE_SCHEMA_VERSION is COF_ESCHEMA.
 */
int store_open(const char *path, int create, struct store **out);
void store_close(struct store *st);
/* Last SQLite message for logs/CLI, borrowed until the next call. */
const char *store_errmsg(struct store *st);

/*
 * Initialises an empty database: settings and the main account (folder
 * "/", is_main, quota 0).  COF_EEXIST if already initialised.
 */
int store_init(struct store *st, const char *root, uint64_t size,
    uint32_t max_accounts, const char *admin_name);
/* COF_ESCHEMA if the store was never initialised. */
int store_info_get(struct store *st, struct store_info *out);
void store_info_clear(struct store_info *info);
int store_set_size(struct store *st, uint64_t size);
int store_set_max_accounts(struct store *st, uint32_t max_accounts);

/*
 * Account look-up by name, case-insensitive.  *out is caller-owned (free
 * with account_free).  COF_ENOENT if there is none.
 */
int store_account_get(struct store *st, const char *name,
    struct account **out);
/* Every account, main first then by name.  Free with account_list_free. */
int store_account_list(struct store *st, struct account ***out, size_t *n);
/*
 * Adds a sub-account from a filled struct (id, created, changed,
 * generation ignored).  Checks in the same transaction: name unique in any
 * case (COF_EEXIST), sub-account count below max_accounts (COF_ELIMIT),
 * quota <= store size when the size is set (COF_ERANGE).  keys may be NULL.
 */
int store_account_add(struct store *st, const struct account *a,
    struct pubkey *const *keys, size_t nkeys);
/*
 * Writes back every field of a (looked up by a->id) in one transaction,
 * bumping changed and generation.  Same checks as add.  The main account
 * keeps folder "/" and read-write (COF_EPERM).
 */
int store_account_update(struct store *st, const struct account *a);
/* Removes a sub-account and its keys.  COF_EPERM for the main account. */
int store_account_remove(struct store *st, const char *name);
/* Number of accounts other than a->id whose folder equals folder. */
int store_folder_users(struct store *st, const char *folder,
    int64_t except_id, size_t *n);

void account_free(struct account *a);
void account_list_free(struct account **list, size_t n);

/* Keys.  add: COF_EEXIST if that account already has this key. */
int store_key_add(struct store *st, int64_t account_id,
    const struct pubkey *k);
int store_key_list(struct store *st, int64_t account_id,
    struct store_key **out, size_t *n);
void store_key_list_free(struct store_key *keys, size_t n);
/* Removes by fingerprint ("SHA256:...") or by 1-based list position. */
int store_key_remove(struct store *st, int64_t account_id,
    const char *fp_or_index);
/* 0 if blob is one of the account's keys, COF_ENOENT if not. */
int store_key_match(struct store *st, int64_t account_id,
    const unsigned char *blob, size_t len);

#endif
