/*
 * store.c — the account store on SQLite.
 *
 * One connection per struct store (never shared across fork()).  Every
 * change runs as one BEGIN IMMEDIATE transaction: the write lock is taken
 * first, then the checks (unique name, account count, quota) are made and
 * the rows written, so two writers in two processes cannot both pass a
 * check that only one of them should.  SQL text is constant; every value
 * goes through sqlite3_bind_*().
 *
 * Schema versions: PRAGMA user_version holds the version, migrations[i]
 * takes a database from version i to i + 1.  A new version is one more
 * entry at the end of that array and STORE_SCHEMA_VERSION + 1.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "err.h"
#include "folder.h"
#include "log.h"
#include "names.h"

#define STORE_BUSY_MS 5000
#define STORE_ROOT_MAX 4096
#define STORE_EMAIL_MAX 254
#define STORE_PASSWORD_MAX 512
#define STORE_BLOB_MAX (16 * 1024)
#define STORE_COMMENT_MAX 1024

struct store {
	sqlite3 *db; /* this process's connection */
};

static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE settings ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  root TEXT NOT NULL,"
	"  size INTEGER NOT NULL CHECK (size >= 0),"
	"  max_accounts INTEGER NOT NULL CHECK (max_accounts >= 0),"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  folder TEXT NOT NULL,"
	"  is_main INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0, 1)),"
	"  read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),"
	"  quota INTEGER NOT NULL DEFAULT 0 CHECK (quota >= 0),"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	"  expires INTEGER NOT NULL DEFAULT 0 CHECK (expires >= 0),"
	"  email TEXT NOT NULL DEFAULT '',"
	"  password TEXT,"
	"  created INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL,"
	"  generation INTEGER NOT NULL DEFAULT 1"
	");"
	"CREATE UNIQUE INDEX accounts_one_main ON accounts (is_main)"
	"  WHERE is_main = 1;"
	"CREATE INDEX accounts_folder ON accounts (folder);"
	"CREATE TABLE keys ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL"
	"    REFERENCES accounts (id) ON DELETE CASCADE,"
	"  type TEXT NOT NULL,"
	"  blob BLOB NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (account_id, fingerprint)"
	");",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");

#define ACCOUNT_COLS \
	"id, name, folder, is_main, read_only, quota, disabled, expires, " \
	"email, password, created, changed, generation"

static int64_t
now(void)
{
	return (int64_t)time(NULL);
}

/*
 * An SQLite result code to a COF_E* code.  Unexpected errors are logged
 * here with what was being done; expected ones (a unique constraint that
 * means "exists") are not.
 */
static int
db_fail(struct store *st, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return COF_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_error("store: %s: database busy for more than %d ms",
		    what, STORE_BUSY_MS);
		return COF_EBUSY;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return COF_EEXIST;
		break;
	}
	log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	return COF_EDB;
}

static int
prep(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return db_fail(st, rc, "prepare");
	}
	return 0;
}

/* Steps a statement that returns no row. */
static int
step_done(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	int rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		return 0;
	return db_fail(st, rc, what);
}

/*
 * Steps a statement expected to return at most one row: 0 and *row = 1
 * or 0, or an error.
 */
static int
step_row(struct store *st, sqlite3_stmt *stmt, const char *what, int *row)
{
	int rc;

	*row = 0;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*row = 1;
		return 0;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(st, rc, what);
}

static int
exec(struct store *st, const char *sql, const char *what)
{
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, what);
	return 0;
}

/* The write lock now, or COF_EBUSY after the busy timeout. */
static int
tx_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE", "begin");
}

/* A read transaction: one snapshot for several SELECTs. */
static int
tx_begin_read(struct store *st)
{
	return exec(st, "BEGIN", "begin");
}

/* Commits if r == 0, else rolls back.  Returns the final code. */
static int
tx_end(struct store *st, int r)
{
	if (r == 0)
		r = exec(st, "COMMIT", "commit");
	if (r != 0 && !sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/*
 * Copies text column i.  nullable: SQL NULL gives *out = NULL; else it
 * gives "".
 */
static int
col_text(sqlite3_stmt *stmt, int i, int nullable, char **out)
{
	const unsigned char *t;

	if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
		*out = nullable ? NULL : strdup("");
		return nullable || *out != NULL ? 0 : COF_ENOMEM;
	}
	if ((t = sqlite3_column_text(stmt, i)) == NULL)
		return COF_ENOMEM;
	if ((*out = strdup((const char *)t)) == NULL)
		return COF_ENOMEM;
	return 0;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* ---- open, migrate, close ---------------------------------------- */

static int
user_version(struct store *st, int *v)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if ((r = prep(st, "PRAGMA user_version", &stmt)) != 0)
		return r;
	if ((r = step_row(st, stmt, "read schema version", &row)) == 0) {
		if (row)
			*v = sqlite3_column_int(stmt, 0);
		else
			r = db_fail(st, SQLITE_ERROR, "read schema version");
	}
	sqlite3_finalize(stmt);
	return r;
}

/* 1 in *empty if the database has no schema objects at all. */
static int
db_empty(struct store *st, int *empty)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if ((r = prep(st, "SELECT 1 FROM sqlite_master LIMIT 1", &stmt)) != 0)
		return r;
	if ((r = step_row(st, stmt, "read schema", &row)) == 0)
		*empty = !row;
	sqlite3_finalize(stmt);
	return r;
}

static int
migrate(struct store *st)
{
	char sql[64];
	int r, v, from = 0, empty;

	if ((r = user_version(st, &v)) != 0)
		return r;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (v < 0 || v > STORE_SCHEMA_VERSION) {
		log_error("store: schema version %d is not one this Coffer "
		    "knows (%d)", v, STORE_SCHEMA_VERSION);
		return COF_ESCHEMA;
	}

	if ((r = tx_begin(st)) != 0)
		return r;
	/* Another process may have migrated while we waited. */
	if ((r = user_version(st, &v)) != 0)
		goto out;
	if (v < 0 || v > STORE_SCHEMA_VERSION) {
		r = COF_ESCHEMA;
		goto out;
	}
	if (v == 0) {
		if ((r = db_empty(st, &empty)) != 0)
			goto out;
		if (!empty) {
			log_error("store: not a Coffer database (tables "
			    "without a schema version)");
			r = COF_ESCHEMA;
			goto out;
		}
	}
	from = v;
	for (; v < STORE_SCHEMA_VERSION; v++)
		if ((r = exec(st, migrations[v], "migrate")) != 0)
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	r = exec(st, sql, "set schema version");
out:
	r = tx_end(st, r);
	/* A new database is not news; an upgrade is. */
	if (r == 0 && from > 0)
		log_info("store: schema migrated from version %d to %d", from,
		    STORE_SCHEMA_VERSION);
	return r;
}

int
store_open(const char *path, int create, struct store **out)
{
	struct store *st = NULL;
	sqlite3_stmt *stmt = NULL;
	struct stat sb;
	const char *mode;
	int fd, rc, r;

	if (path == NULL || *path == '\0' || out == NULL)
		return COF_EINVAL;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return errno == EACCES ? COF_EPERM : COF_EIO;
		if (!create)
			return COF_ENOENT;
		/* Hashes live here: the file (and its -wal, -shm) is 0600. */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return errno == ENOENT ? COF_ENOENT : COF_EIO;
		if (fd >= 0)
			close(fd);
	} else if (!S_ISREG(sb.st_mode))
		return COF_EINVAL;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return COF_ENOMEM;
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		r = st->db == NULL ? COF_ENOMEM : db_fail(st, rc, "open");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if ((r = exec(st, "PRAGMA foreign_keys = ON", "foreign keys")) != 0)
		goto out;
	if ((r = prep(st, "PRAGMA journal_mode = WAL", &stmt)) != 0)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		r = db_fail(st, rc, "journal mode");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warn("store: %s: WAL journal unavailable (mode %s)",
		    path, mode ? mode : "?");
	sqlite3_finalize(stmt);
	stmt = NULL;
	if ((r = migrate(st)) != 0)
		goto out;
	*out = st;
	st = NULL;
out:
	sqlite3_finalize(stmt);
	store_close(st);
	return r;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st);
}

const char *
store_errmsg(struct store *st)
{
	if (st == NULL || st->db == NULL)
		return "no database";
	return sqlite3_errmsg(st->db);
}

/* ---- settings ------------------------------------------------------ */

/* size and max_accounts; COF_ESCHEMA if never initialised. */
static int
settings_get(struct store *st, uint64_t *size, uint32_t *max)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if ((r = prep(st, "SELECT size, max_accounts FROM settings "
	    "WHERE id = 1", &stmt)) != 0)
		return r;
	if ((r = step_row(st, stmt, "read settings", &row)) == 0) {
		if (!row)
			r = COF_ESCHEMA;
		else {
			*size = (uint64_t)sqlite3_column_int64(stmt, 0);
			*max = (uint32_t)sqlite3_column_int64(stmt, 1);
		}
	}
	sqlite3_finalize(stmt);
	return r;
}

/* One integer from a query with up to two int64 parameters. */
static int
count_query(struct store *st, const char *sql, int64_t p1, int64_t p2,
    int64_t *n)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if ((r = prep(st, sql, &stmt)) != 0)
		return r;
	if (sqlite3_bind_parameter_count(stmt) >= 1)
		sqlite3_bind_int64(stmt, 1, p1);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int64(stmt, 2, p2);
	if ((r = step_row(st, stmt, "count", &row)) == 0)
		*n = row ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return r;
}

int
store_init(struct store *st, const char *root, uint64_t size,
    uint32_t max_accounts, const char *admin_name)
{
	sqlite3_stmt *stmt = NULL;
	int64_t n, t = now();
	int r;

	if (st == NULL || root == NULL || root[0] != '/' ||
	    strnlen(root, STORE_ROOT_MAX + 1) > STORE_ROOT_MAX ||
	    has_control(root))
		return COF_EINVAL;
	if ((r = name_check(admin_name)) != 0)
		return r;
	if (size > INT64_MAX)
		return COF_ERANGE;

	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = count_query(st, "SELECT COUNT(*) FROM settings", 0, 0,
	    &n)) != 0)
		goto out;
	if (n != 0) {
		r = COF_EEXIST;
		goto out;
	}
	if ((r = prep(st, "INSERT INTO settings (id, root, size, "
	    "max_accounts, created) VALUES (1, ?1, ?2, ?3, ?4)", &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)size);
	sqlite3_bind_int64(stmt, 3, (int64_t)max_accounts);
	sqlite3_bind_int64(stmt, 4, t);
	if ((r = step_done(st, stmt, "init settings")) != 0)
		goto out;
	sqlite3_finalize(stmt);
	if ((r = prep(st, "INSERT INTO accounts (name, folder, is_main, "
	    "created, changed) VALUES (?1, '/', 1, ?2, ?2)", &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, admin_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, t);
	r = step_done(st, stmt, "init main account");
out:
	sqlite3_finalize(stmt);
	return tx_end(st, r);
}

int
store_info_get(struct store *st, struct store_info *out)
{
	sqlite3_stmt *stmt = NULL;
	struct store_info info;
	int r, row;

	memset(&info, 0, sizeof(info));
	if (st == NULL || out == NULL)
		return COF_EINVAL;
	if ((r = prep(st, "SELECT root, size, max_accounts, created "
	    "FROM settings WHERE id = 1", &stmt)) != 0)
		return r;
	if ((r = step_row(st, stmt, "read settings", &row)) != 0)
		goto out;
	if (!row) {
		r = COF_ESCHEMA;
		goto out;
	}
	if ((r = col_text(stmt, 0, 0, &info.root)) != 0)
		goto out;
	info.size = (uint64_t)sqlite3_column_int64(stmt, 1);
	info.max_accounts = (uint32_t)sqlite3_column_int64(stmt, 2);
	info.created = sqlite3_column_int64(stmt, 3);
	*out = info;
	info.root = NULL;
out:
	sqlite3_finalize(stmt);
	free(info.root);
	return r;
}

void
store_info_clear(struct store_info *info)
{
	if (info == NULL)
		return;
	free(info->root);
	memset(info, 0, sizeof(*info));
}

int
store_set_size(struct store *st, uint64_t size)
{
	sqlite3_stmt *stmt = NULL;
	uint64_t old;
	uint32_t max;
	int64_t n;
	int r;

	if (st == NULL)
		return COF_EINVAL;
	if (size > INT64_MAX)
		return COF_ERANGE;
	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = settings_get(st, &old, &max)) != 0)
		goto out;
	/* No sub-account may be left with a quota above the store. */
	if (size > 0) {
		if ((r = count_query(st, "SELECT COUNT(*) FROM accounts "
		    "WHERE quota > ?1", (int64_t)size, 0, &n)) != 0)
			goto out;
		if (n > 0) {
			r = COF_ERANGE;
			goto out;
		}
	}
	if ((r = prep(st, "UPDATE settings SET size = ?1 WHERE id = 1",
	    &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, (int64_t)size);
	if ((r = step_done(st, stmt, "set size")) != 0)
		goto out;
	sqlite3_finalize(stmt);
	/* The main account's limit is the size: gateways must see it. */
	if ((r = prep(st, "UPDATE accounts SET changed = ?1, "
	    "generation = generation + 1 WHERE is_main = 1", &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, now());
	r = step_done(st, stmt, "set size");
out:
	sqlite3_finalize(stmt);
	return tx_end(st, r);
}

int
store_set_max_accounts(struct store *st, uint32_t max_accounts)
{
	sqlite3_stmt *stmt = NULL;
	uint64_t size;
	uint32_t old;
	int64_t n;
	int r;

	if (st == NULL)
		return COF_EINVAL;
	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = settings_get(st, &size, &old)) != 0)
		goto out;
	if (max_accounts > 0) {
		if ((r = count_query(st, "SELECT COUNT(*) FROM accounts "
		    "WHERE is_main = 0", 0, 0, &n)) != 0)
			goto out;
		if (n > (int64_t)max_accounts) {
			r = COF_ELIMIT;
			goto out;
		}
	}
	if ((r = prep(st, "UPDATE settings SET max_accounts = ?1 "
	    "WHERE id = 1", &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, (int64_t)max_accounts);
	r = step_done(st, stmt, "set max_accounts");
out:
	sqlite3_finalize(stmt);
	return tx_end(st, r);
}

/* ---- accounts ------------------------------------------------------ */

void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->folder);
	free(a->email);
	if (a->password != NULL) {
		/* A hash, not a password; wiped all the same. */
		explicit_bzero(a->password, strlen(a->password));
		free(a->password);
	}
	free(a);
}

void
account_list_free(struct account **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		account_free(list[i]);
	free(list);
}

/* The current row (ACCOUNT_COLS) into a new struct account. */
static int
row_account(sqlite3_stmt *stmt, struct account **out)
{
	struct account *a;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return COF_ENOMEM;
	a->id = sqlite3_column_int64(stmt, 0);
	if ((r = col_text(stmt, 1, 0, &a->name)) != 0 ||
	    (r = col_text(stmt, 2, 0, &a->folder)) != 0 ||
	    (r = col_text(stmt, 8, 0, &a->email)) != 0 ||
	    (r = col_text(stmt, 9, 1, &a->password)) != 0) {
		account_free(a);
		return r;
	}
	a->is_main = sqlite3_column_int(stmt, 3) != 0;
	a->read_only = sqlite3_column_int(stmt, 4) != 0;
	a->quota = (uint64_t)sqlite3_column_int64(stmt, 5);
	a->disabled = sqlite3_column_int(stmt, 6) != 0;
	a->expires = sqlite3_column_int64(stmt, 7);
	a->created = sqlite3_column_int64(stmt, 10);
	a->changed = sqlite3_column_int64(stmt, 11);
	a->generation = (uint64_t)sqlite3_column_int64(stmt, 12);
	*out = a;
	return 0;
}

int
store_account_get(struct store *st, const char *name, struct account **out)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if (st == NULL || name == NULL || out == NULL)
		return COF_EINVAL;
	if ((r = prep(st, "SELECT " ACCOUNT_COLS " FROM accounts "
	    "WHERE name = ?1", &stmt)) != 0)
		return r;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if ((r = step_row(st, stmt, "read account", &row)) == 0)
		r = row ? row_account(stmt, out) : COF_ENOENT;
	sqlite3_finalize(stmt);
	return r;
}

int
store_account_list(struct store *st, struct account ***out, size_t *n)
{
	sqlite3_stmt *stmt = NULL;
	struct account **list = NULL, **nl, *a;
	size_t cnt = 0, cap = 0;
	int r, rc;

	if (st == NULL || out == NULL || n == NULL)
		return COF_EINVAL;
	if ((r = prep(st, "SELECT " ACCOUNT_COLS " FROM accounts "
	    "ORDER BY is_main DESC, name", &stmt)) != 0)
		return r;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cnt == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = COF_ENOMEM;
				goto out;
			}
			cap = cap ? cap * 2 : 16;
			if ((nl = realloc(list, cap * sizeof(*list))) == NULL) {
				r = COF_ENOMEM;
				goto out;
			}
			list = nl;
		}
		if ((r = row_account(stmt, &a)) != 0)
			goto out;
		list[cnt++] = a;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(st, rc, "list accounts");
		goto out;
	}
	*out = list;
	*n = cnt;
	list = NULL;
	cnt = 0;
	r = 0;
out:
	sqlite3_finalize(stmt);
	account_list_free(list, cnt);
	return r;
}

/*
 * Checks the fields of a that do not need the database; *folder gets the
 * folder's normal form (malloc'd).
 */
static int
account_check(const struct account *a, char **folder)
{
	int r;

	if (a == NULL)
		return COF_EINVAL;
	if ((r = name_check(a->name)) != 0)
		return r;
	if (a->quota > INT64_MAX)
		return COF_ERANGE;
	if (a->expires < 0)
		return COF_EINVAL;
	if (a->email != NULL &&
	    (strnlen(a->email, STORE_EMAIL_MAX + 1) > STORE_EMAIL_MAX ||
	    has_control(a->email)))
		return COF_EINVAL;
	if (a->password != NULL &&
	    (a->password[0] == '\0' ||
	    strnlen(a->password, STORE_PASSWORD_MAX + 1) > STORE_PASSWORD_MAX ||
	    has_control(a->password)))
		return COF_EINVAL;
	return folder_normalize(a->folder, folder);
}

/* COF_EEXIST if an account other than except_id has name (any case). */
static int
name_free(struct store *st, const char *name, int64_t except_id)
{
	sqlite3_stmt *stmt = NULL;
	int r, row;

	if ((r = prep(st, "SELECT 1 FROM accounts WHERE name = ?1 "
	    "AND id <> ?2", &stmt)) != 0)
		return r;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, except_id);
	if ((r = step_row(st, stmt, "check name", &row)) == 0 && row)
		r = COF_EEXIST;
	sqlite3_finalize(stmt);
	return r;
}

/* Marks an account changed; COF_ENOENT if there is no such account. */
static int
touch(struct store *st, int64_t account_id)
{
	sqlite3_stmt *stmt = NULL;
	int r;

	if ((r = prep(st, "UPDATE accounts SET changed = ?1, "
	    "generation = generation + 1 WHERE id = ?2", &stmt)) != 0)
		return r;
	sqlite3_bind_int64(stmt, 1, now());
	sqlite3_bind_int64(stmt, 2, account_id);
	if ((r = step_done(st, stmt, "touch account")) == 0 &&
	    sqlite3_changes(st->db) == 0)
		r = COF_ENOENT;
	sqlite3_finalize(stmt);
	return r;
}

/* Inserts one key (inside the caller's transaction). */
static int
key_insert(struct store *st, int64_t account_id, const struct pubkey *k)
{
	sqlite3_stmt *stmt = NULL;
	char fp[PUBKEY_FP_LEN];
	const char *comment;
	int r;

	if (k == NULL || k->type == NULL || k->blob == NULL ||
	    k->blob_len == 0 || k->blob_len > STORE_BLOB_MAX)
		return COF_EINVAL;
	comment = k->comment != NULL ? k->comment : "";
	if (strnlen(comment, STORE_COMMENT_MAX + 1) > STORE_COMMENT_MAX)
		return COF_EINVAL;
	/* The fingerprint is the blob's, whatever k->fingerprint says. */
	if ((r = pubkey_fingerprint(k->blob, k->blob_len, fp)) != 0)
		return r;
	if ((r = prep(st, "INSERT INTO keys (account_id, type, blob, "
	    "fingerprint, comment, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &stmt)) != 0)
		return r;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, k->type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, k->blob, (int)k->blob_len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, now());
	r = step_done(st, stmt, "add key");
	sqlite3_finalize(stmt);
	return r;
}

int
store_account_add(struct store *st, const struct account *a,
    struct pubkey *const *keys, size_t nkeys)
{
	sqlite3_stmt *stmt = NULL;
	char *folder = NULL;
	uint64_t size;
	uint32_t max;
	int64_t n, id, t = now();
	size_t i;
	int r;

	if (st == NULL || (nkeys > 0 && keys == NULL))
		return COF_EINVAL;
	if ((r = account_check(a, &folder)) != 0)
		return r;
	if (a->is_main) {
		free(folder);
		return COF_EINVAL;
	}
	if ((r = tx_begin(st)) != 0) {
		free(folder);
		return r;
	}
	if ((r = settings_get(st, &size, &max)) != 0 ||
	    (r = name_free(st, a->name, 0)) != 0)
		goto out;
	if (max > 0) {
		if ((r = count_query(st, "SELECT COUNT(*) FROM accounts "
		    "WHERE is_main = 0", 0, 0, &n)) != 0)
			goto out;
		if (n >= (int64_t)max) {
			r = COF_ELIMIT;
			goto out;
		}
	}
	if (size > 0 && a->quota > size) {
		r = COF_ERANGE;
		goto out;
	}
	if ((r = prep(st, "INSERT INTO accounts (name, folder, is_main, "
	    "read_only, quota, disabled, expires, email, password, created, "
	    "changed, generation) "
	    "VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1)",
	    &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, a->read_only != 0);
	sqlite3_bind_int64(stmt, 4, (int64_t)a->quota);
	sqlite3_bind_int(stmt, 5, a->disabled != 0);
	sqlite3_bind_int64(stmt, 6, a->expires);
	sqlite3_bind_text(stmt, 7, a->email ? a->email : "", -1,
	    SQLITE_STATIC);
	if (a->password != NULL)
		sqlite3_bind_text(stmt, 8, a->password, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 8);
	sqlite3_bind_int64(stmt, 9, t);
	if ((r = step_done(st, stmt, "add account")) != 0)
		goto out;
	id = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < nkeys; i++)
		if ((r = key_insert(st, id, keys[i])) != 0)
			goto out;
out:
	sqlite3_finalize(stmt);
	free(folder);
	return tx_end(st, r);
}

int
store_account_update(struct store *st, const struct account *a)
{
	sqlite3_stmt *stmt = NULL;
	char *folder = NULL;
	uint64_t size;
	uint32_t max;
	int r, row, is_main = 0;

	if (st == NULL)
		return COF_EINVAL;
	if ((r = account_check(a, &folder)) != 0)
		return r;
	if ((r = tx_begin(st)) != 0) {
		free(folder);
		return r;
	}
	if ((r = settings_get(st, &size, &max)) != 0)
		goto out;
	if ((r = prep(st, "SELECT is_main FROM accounts WHERE id = ?1",
	    &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, a->id);
	if ((r = step_row(st, stmt, "read account", &row)) != 0)
		goto out;
	if (!row) {
		r = COF_ENOENT;
		goto out;
	}
	is_main = sqlite3_column_int(stmt, 0) != 0;
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* Main stays main, on "/", read-write; no sub-account becomes it. */
	if ((a->is_main != 0) != is_main ||
	    (is_main && (strcmp(folder, "/") != 0 || a->read_only))) {
		r = COF_EPERM;
		goto out;
	}
	if ((r = name_free(st, a->name, a->id)) != 0)
		goto out;
	if (size > 0 && a->quota > size) {
		r = COF_ERANGE;
		goto out;
	}
	if ((r = prep(st, "UPDATE accounts SET name = ?1, folder = ?2, "
	    "read_only = ?3, quota = ?4, disabled = ?5, expires = ?6, "
	    "email = ?7, password = ?8, changed = ?9, "
	    "generation = generation + 1 WHERE id = ?10", &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, a->read_only != 0);
	sqlite3_bind_int64(stmt, 4, (int64_t)a->quota);
	sqlite3_bind_int(stmt, 5, a->disabled != 0);
	sqlite3_bind_int64(stmt, 6, a->expires);
	sqlite3_bind_text(stmt, 7, a->email ? a->email : "", -1,
	    SQLITE_STATIC);
	if (a->password != NULL)
		sqlite3_bind_text(stmt, 8, a->password, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 8);
	sqlite3_bind_int64(stmt, 9, now());
	sqlite3_bind_int64(stmt, 10, a->id);
	r = step_done(st, stmt, "update account");
out:
	sqlite3_finalize(stmt);
	free(folder);
	return tx_end(st, r);
}

int
store_account_remove(struct store *st, const char *name)
{
	sqlite3_stmt *stmt = NULL;
	int64_t id;
	int r, row;

	if (st == NULL || name == NULL)
		return COF_EINVAL;
	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = prep(st, "SELECT id, is_main FROM accounts WHERE name = ?1",
	    &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if ((r = step_row(st, stmt, "read account", &row)) != 0)
		goto out;
	if (!row) {
		r = COF_ENOENT;
		goto out;
	}
	if (sqlite3_column_int(stmt, 1) != 0) {
		r = COF_EPERM;
		goto out;
	}
	id = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* Keys go with it: ON DELETE CASCADE, foreign_keys is on. */
	if ((r = prep(st, "DELETE FROM accounts WHERE id = ?1", &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, id);
	r = step_done(st, stmt, "remove account");
out:
	sqlite3_finalize(stmt);
	return tx_end(st, r);
}

int
store_folder_users(struct store *st, const char *folder, int64_t except_id,
    size_t *n)
{
	sqlite3_stmt *stmt = NULL;
	char *norm = NULL;
	int r, row;

	if (st == NULL || n == NULL)
		return COF_EINVAL;
	if ((r = folder_normalize(folder, &norm)) != 0)
		return r;
	if ((r = prep(st, "SELECT COUNT(*) FROM accounts WHERE folder = ?1 "
	    "AND id <> ?2", &stmt)) != 0)
		goto out;
	sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, except_id);
	if ((r = step_row(st, stmt, "count folder users", &row)) == 0)
		*n = row ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
out:
	sqlite3_finalize(stmt);
	free(norm);
	return r;
}

/* ---- keys ---------------------------------------------------------- */

int
store_key_add(struct store *st, int64_t account_id, const struct pubkey *k)
{
	int r;

	if (st == NULL || k == NULL)
		return COF_EINVAL;
	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = touch(st, account_id)) == 0)
		r = key_insert(st, account_id, k);
	return tx_end(st, r);
}

void
store_key_list_free(struct store_key *keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(keys[i].type);
		free(keys[i].blob);
		free(keys[i].fingerprint);
		free(keys[i].comment);
	}
	free(keys);
}

static int
row_key(sqlite3_stmt *stmt, struct store_key *k)
{
	const void *b;
	int len, r;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(stmt, 0);
	if ((r = col_text(stmt, 1, 0, &k->type)) != 0 ||
	    (r = col_text(stmt, 3, 0, &k->fingerprint)) != 0 ||
	    (r = col_text(stmt, 4, 0, &k->comment)) != 0)
		return r;
	b = sqlite3_column_blob(stmt, 2);
	len = sqlite3_column_bytes(stmt, 2);
	if (len <= 0 || b == NULL)
		return COF_EDB;
	if ((k->blob = malloc((size_t)len)) == NULL)
		return COF_ENOMEM;
	memcpy(k->blob, b, (size_t)len);
	k->blob_len = (size_t)len;
	k->created = sqlite3_column_int64(stmt, 5);
	return 0;
}

int
store_key_list(struct store *st, int64_t account_id, struct store_key **out,
    size_t *n)
{
	sqlite3_stmt *stmt = NULL;
	struct store_key *list = NULL, *nl;
	size_t cnt = 0, cap = 0;
	int64_t exists;
	int r, rc;

	if (st == NULL || out == NULL || n == NULL)
		return COF_EINVAL;
	if ((r = tx_begin_read(st)) != 0)
		return r;
	if ((r = count_query(st, "SELECT COUNT(*) FROM accounts WHERE id = ?1",
	    account_id, 0, &exists)) != 0)
		goto out;
	if (exists == 0) {
		r = COF_ENOENT;
		goto out;
	}
	if ((r = prep(st, "SELECT id, type, blob, fingerprint, comment, "
	    "created FROM keys WHERE account_id = ?1 ORDER BY id",
	    &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, account_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cnt == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*list)) {
				r = COF_ENOMEM;
				goto out;
			}
			cap = cap ? cap * 2 : 8;
			if ((nl = realloc(list, cap * sizeof(*list))) == NULL) {
				r = COF_ENOMEM;
				goto out;
			}
			list = nl;
		}
		/* Counted before filling, so a half-filled entry is freed. */
		cnt++;
		if ((r = row_key(stmt, &list[cnt - 1])) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(st, rc, "list keys");
		goto out;
	}
	*out = list;
	*n = cnt;
	list = NULL;
	cnt = 0;
	r = 0;
out:
	sqlite3_finalize(stmt);
	store_key_list_free(list, cnt);
	return tx_end(st, r);
}

/* "1", "2", ... to a position; 0 if not a plain positive number. */
static int64_t
parse_index(const char *s)
{
	int64_t v = 0;

	if (*s == '\0' || *s == '0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT32_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int
store_key_remove(struct store *st, int64_t account_id,
    const char *fp_or_index)
{
	sqlite3_stmt *stmt = NULL;
	int64_t idx = 0, key_id;
	int r, row, by_fp;

	if (st == NULL || fp_or_index == NULL)
		return COF_EINVAL;
	by_fp = strncmp(fp_or_index, "SHA256:", 7) == 0;
	if (!by_fp && (idx = parse_index(fp_or_index)) == 0)
		return COF_EINVAL;
	if ((r = tx_begin(st)) != 0)
		return r;
	if ((r = touch(st, account_id)) != 0)
		goto out;
	if (by_fp) {
		r = prep(st, "SELECT id FROM keys WHERE account_id = ?1 "
		    "AND fingerprint = ?2", &stmt);
		if (r != 0)
			goto out;
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_text(stmt, 2, fp_or_index, -1, SQLITE_STATIC);
	} else {
		r = prep(st, "SELECT id FROM keys WHERE account_id = ?1 "
		    "ORDER BY id LIMIT 1 OFFSET ?2", &stmt);
		if (r != 0)
			goto out;
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_int64(stmt, 2, idx - 1);
	}
	if ((r = step_row(st, stmt, "find key", &row)) != 0)
		goto out;
	if (!row) {
		r = COF_ENOENT;
		goto out;
	}
	key_id = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if ((r = prep(st, "DELETE FROM keys WHERE id = ?1", &stmt)) != 0)
		goto out;
	sqlite3_bind_int64(stmt, 1, key_id);
	r = step_done(st, stmt, "remove key");
out:
	sqlite3_finalize(stmt);
	return tx_end(st, r);
}

int
store_key_match(struct store *st, int64_t account_id,
    const unsigned char *blob, size_t len)
{
	sqlite3_stmt *stmt = NULL;
	char fp[PUBKEY_FP_LEN];
	const void *b;
	int r, row;

	if (st == NULL || blob == NULL)
		return COF_EINVAL;
	if (len == 0 || len > STORE_BLOB_MAX)
		return COF_ENOENT;
	if ((r = pubkey_fingerprint(blob, len, fp)) != 0)
		return r;
	if ((r = prep(st, "SELECT blob FROM keys WHERE account_id = ?1 "
	    "AND fingerprint = ?2", &stmt)) != 0)
		return r;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, fp, -1, SQLITE_STATIC);
	if ((r = step_row(st, stmt, "match key", &row)) != 0)
		goto out;
	r = COF_ENOENT;
	if (row) {
		/* Same hash; the bytes must be the same too. */
		b = sqlite3_column_blob(stmt, 0);
		if (b != NULL && (size_t)sqlite3_column_bytes(stmt, 0) == len &&
		    memcmp(b, blob, len) == 0)
			r = 0;
	}
out:
	sqlite3_finalize(stmt);
	return r;
}
