/*
 * test_store.c — the SQLite account store against real database files in
 * a temp dir: schema and migration, settings, accounts and their checks,
 * keys, and two processes writing at once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "err.h"
#include "pubkey.h"
#include "store.h"
#include "../lib/harness.h"

#define GiB ((uint64_t)1 << 30)

static char dir[64];

static void
path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* An ed25519 public key whose 32 key bytes are all seed. */
static struct pubkey *
mkkey(unsigned char seed, const char *comment)
{
	unsigned char blob[51], b64[80];
	char line[256], err[128];
	struct pubkey *k = NULL;

	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	memset(blob + 19, seed, 32);
	EVP_EncodeBlock(b64, blob, sizeof(blob));
	snprintf(line, sizeof(line), "ssh-ed25519 %s %s", (char *)b64,
	    comment);
	if (pubkey_parse(line, &k, err, sizeof(err)) != 0)
		fprintf(stderr, "mkkey: %s\n", err);
	return k;
}

/* One integer from raw SQL on the database file, bypassing the store. */
static long long
raw_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* 1 if raw SQL on the database file gives the text want. */
static int
raw_is(const char *db, const char *sql, const char *want)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int ok = 0;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    (t = sqlite3_column_text(s, 0)) != NULL)
		ok = strcmp((const char *)t, want) == 0;
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ok;
}

static int
raw_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	int rc;

	rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
sub(struct account *a, const char *name, const char *folder, uint64_t quota)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)name;
	a->folder = (char *)folder;
	a->quota = quota;
}

/* ---- open, schema, migration --------------------------------------- */

static void
test_open(void)
{
	char db[128], p[160];
	struct store *st = NULL;
	struct store_info info;
	struct stat sb;
	int fd;

	path_in(db, sizeof(db), "missing.db");
	CHECK_INT(store_open(db, 0, &st), COF_ENOENT);
	CHECK(st == NULL);
	CHECK(access(db, F_OK) != 0);

	path_in(db, sizeof(db), "new.db");
	CHECK_INT(store_open(db, 1, &st), 0);
	CHECK(st != NULL);
	CHECK(stat(db, &sb) == 0 && (sb.st_mode & 077) == 0);
	CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK_INT(store_info_get(st, &info), COF_ESCHEMA);
	store_close(st);
	/* opening again without create works, and migrates nothing */
	st = NULL;
	CHECK_INT(store_open(db, 0, &st), 0);
	CHECK(st != NULL && store_errmsg(st) != NULL);
	store_close(st);
	store_close(NULL);
	CHECK(raw_is(db, "PRAGMA journal_mode", "wal"));

	/* an empty v0 database is migrated forward */
	path_in(db, sizeof(db), "v0.db");
	fd = open(db, O_CREAT | O_WRONLY, 0600);
	close(fd);
	st = NULL;
	CHECK_INT(store_open(db, 0, &st), 0);
	CHECK_INT(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK_INT(raw_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('settings', 'accounts', 'keys')"), 3);
	CHECK_INT(store_info_get(st, &info), COF_ESCHEMA);
	CHECK_INT(store_init(st, "/srv/coffer", 0, 0, "boss"), 0);
	store_close(st);

	/* a v0 database that already has other tables is not ours */
	path_in(db, sizeof(db), "foreign.db");
	CHECK_INT(raw_exec(db, "CREATE TABLE accounts (x)"), 0);
	st = NULL;
	CHECK_INT(store_open(db, 1, &st), COF_ESCHEMA);
	CHECK(st == NULL);
	CHECK_INT(raw_int(db, "PRAGMA user_version"), 0);

	/* a newer schema is refused, and left alone */
	path_in(db, sizeof(db), "v99.db");
	CHECK_INT(raw_exec(db, "CREATE TABLE future (x); "
	    "PRAGMA user_version = 99"), 0);
	CHECK_INT(store_open(db, 0, &st), COF_ESCHEMA);
	CHECK_INT(store_open(db, 1, &st), COF_ESCHEMA);
	CHECK(st == NULL);
	CHECK_INT(raw_int(db, "PRAGMA user_version"), 99);

	/* not a database at all */
	path_in(db, sizeof(db), "junk.db");
	fd = open(db, O_CREAT | O_WRONLY, 0600);
	(void)!write(fd, "this is not an sqlite database, not at all, no..",
	    48);
	for (int i = 0; i < 100; i++)
		(void)!write(fd, "xxxxxxxxxxxxxxxx", 16);
	close(fd);
	CHECK_INT(store_open(db, 0, &st), COF_EDB);
	CHECK(st == NULL);

	/* a directory is not a database file */
	CHECK_INT(store_open(dir, 0, &st), COF_EINVAL);
	snprintf(p, sizeof(p), "%s/nodir/x.db", dir);
	CHECK(store_open(p, 1, &st) != 0 && st == NULL);
	CHECK_INT(store_open(NULL, 1, &st), COF_EINVAL);
}

/* ---- settings and accounts ----------------------------------------- */

static void
test_accounts(struct store *st, const char *db)
{
	struct store_info info;
	struct account a, *got = NULL, *main_acct = NULL, *none = NULL;
	struct account **list = NULL;
	struct pubkey *keys[3];
	size_t n = 0;
	uint64_t gen;
	int64_t alice_id;
	char sql[128];

	/* nothing works before init */
	sub(&a, "early", "/early", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_ESCHEMA);
	CHECK_INT(store_set_size(st, 1), COF_ESCHEMA);
	CHECK_INT(store_set_max_accounts(st, 1), COF_ESCHEMA);

	CHECK_INT(store_init(st, "relative/root", 0, 0, "admin"), COF_EINVAL);
	CHECK_INT(store_init(st, "/srv/coffer", 0, 0, "root"), COF_EPERM);
	CHECK_INT(store_init(st, "/srv/coffer", 0, 0, "Admin"), COF_EINVAL);
	CHECK_INT(store_init(st, "/srv/coffer", UINT64_MAX, 0, "admin"),
	    COF_ERANGE);
	CHECK_INT(store_info_get(st, &info), COF_ESCHEMA);
	CHECK_INT(store_init(st, "/srv/coffer", 10 * GiB, 3, "admin"), 0);
	CHECK_INT(store_init(st, "/srv/other", 1, 1, "other"), COF_EEXIST);

	memset(&info, 0, sizeof(info));
	CHECK_INT(store_info_get(st, &info), 0);
	CHECK_STR(info.root, "/srv/coffer");
	CHECK_U64(info.size, 10 * GiB);
	CHECK_INT(info.max_accounts, 3);
	CHECK(info.created > 1600000000);
	store_info_clear(&info);
	CHECK(info.root == NULL);

	/* the main account */
	CHECK_INT(store_account_get(st, "admin", &main_acct), 0);
	CHECK(main_acct != NULL && main_acct->is_main &&
	    strcmp(main_acct->folder, "/") == 0 && !main_acct->read_only &&
	    main_acct->quota == 0 && main_acct->password == NULL &&
	    strcmp(main_acct->email, "") == 0 && main_acct->generation == 1);
	CHECK_INT(store_account_get(st, "ADMIN", &got), 0);	/* any case */
	CHECK(got != NULL && got->id == main_acct->id);
	account_free(got);
	got = (struct account *)&got;
	CHECK_INT(store_account_get(st, "nobody", &got), COF_ENOENT);
	CHECK(got == (struct account *)&got);
	got = NULL;

	/* add, with keys, in one go */
	keys[0] = mkkey(1, "alice@laptop");
	keys[1] = mkkey(2, "alice@phone");
	sub(&a, "alice", "alice/", GiB);
	a.email = "alice@example.org";
	a.password = "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	    "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U";
	a.read_only = 1;
	a.expires = 2000000000;
	CHECK_INT(store_account_add(st, &a, keys, 2), 0);
	CHECK_INT(store_account_get(st, "alice", &got), 0);
	CHECK(got != NULL && !got->is_main && got->read_only &&
	    got->quota == GiB && got->expires == 2000000000 &&
	    got->generation == 1 && got->created > 0 &&
	    got->changed == got->created);
	CHECK_STR(got->folder, "/alice");	/* stored in normal form */
	CHECK_STR(got->email, "alice@example.org");
	CHECK_STR(got->password, a.password);
	alice_id = got->id;
	account_free(got);
	got = NULL;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM keys WHERE "
	    "account_id = %lld", (long long)alice_id);
	CHECK_INT(raw_int(db, sql), 2);

	/* names: taken in any case, malformed, reserved */
	sub(&a, "alice", "/x", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EEXIST);
	sub(&a, "Alice", "/x", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EINVAL);
	sub(&a, "admin", "/x", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EEXIST);
	sub(&a, "sshd", "/x", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EPERM);
	/* a row written in upper case (older tool, by hand) still clashes */
	CHECK_INT(raw_exec(db, "INSERT INTO accounts (name, folder, created, "
	    "changed) VALUES ('CAROL', '/carol', 1, 1)"), 0);
	sub(&a, "carol", "/carol2", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EEXIST);
	CHECK_INT(store_account_remove(st, "carol"), 0);

	/* other field checks */
	sub(&a, "bob", "/../etc", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EINVAL);
	sub(&a, "bob", "/bob", 0);
	a.email = "bob@x\n";
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EINVAL);
	sub(&a, "bob", "/bob", 0);
	a.is_main = 1;
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EINVAL);
	sub(&a, "bob", "/bob", 0);
	a.expires = -1;
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_EINVAL);

	/* quota against the store size: at the limit, one past */
	sub(&a, "bob", "/bob", 10 * GiB + 1);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_ERANGE);
	sub(&a, "bob", "/bob", 10 * GiB);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);

	/* keys added with an account are all or nothing */
	keys[2] = mkkey(3, "dup");
	{
		struct pubkey *dup[2] = { keys[2], keys[2] };

		sub(&a, "dora", "/dora", 0);
		CHECK_INT(store_account_add(st, &a, dup, 2), COF_EEXIST);
		CHECK_INT(store_account_get(st, "dora", &got), COF_ENOENT);
	}

	/* max_accounts counts sub-accounts only: 3 allowed, main aside */
	sub(&a, "carol", "/carol", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);
	sub(&a, "dave", "/dave", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_ELIMIT);
	CHECK_INT(store_set_max_accounts(st, 2), COF_ELIMIT);
	CHECK_INT(store_set_max_accounts(st, 4), 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);
	sub(&a, "erin", "/erin", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_ELIMIT);
	CHECK_INT(store_set_max_accounts(st, 0), 0);	/* unlimited */
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);

	/* list: main first, then by name */
	CHECK_INT(store_account_list(st, &list, &n), 0);
	CHECK_INT(n, 6);
	if (n == 6) {
		CHECK_STR(list[0]->name, "admin");
		CHECK_STR(list[1]->name, "alice");
		CHECK_STR(list[2]->name, "bob");
		CHECK_STR(list[3]->name, "carol");
		CHECK_STR(list[4]->name, "dave");
		CHECK_STR(list[5]->name, "erin");
	}
	account_list_free(list, n);

	/* update */
	CHECK_INT(store_account_get(st, "alice", &got), 0);
	gen = got->generation;
	got->read_only = 0;
	got->quota = 2 * GiB;
	free(got->email);
	got->email = strdup("x'); DROP TABLE accounts; --");
	free(got->password);
	got->password = NULL;
	CHECK_INT(store_account_update(st, got), 0);
	account_free(got);
	got = NULL;
	CHECK_INT(store_account_get(st, "alice", &got), 0);
	CHECK(got != NULL && !got->read_only && got->quota == 2 * GiB &&
	    got->password == NULL && got->generation == gen + 1);
	CHECK_STR(got->email, "x'); DROP TABLE accounts; --");
	/* same checks as add */
	got->quota = 10 * GiB + 1;
	CHECK_INT(store_account_update(st, got), COF_ERANGE);
	got->quota = 0;
	free(got->name);
	got->name = strdup("bob");
	CHECK_INT(store_account_update(st, got), COF_EEXIST);
	free(got->name);
	got->name = strdup("alice2");	/* rename */
	CHECK_INT(store_account_update(st, got), 0);
	CHECK_INT(store_account_get(st, "alice", &none), COF_ENOENT);
	CHECK(none == NULL);
	got->is_main = 1;		/* no promotion */
	CHECK_INT(store_account_update(st, got), COF_EPERM);
	got->is_main = 0;
	got->id = 999999;
	CHECK_INT(store_account_update(st, got), COF_ENOENT);
	account_free(got);
	got = NULL;

	/* the main account keeps "/" and read-write, and stays */
	CHECK_INT(store_account_get(st, "admin", &got), 0);
	free(got->folder);
	got->folder = strdup("/sub");
	CHECK_INT(store_account_update(st, got), COF_EPERM);
	free(got->folder);
	got->folder = strdup("/");
	got->read_only = 1;
	CHECK_INT(store_account_update(st, got), COF_EPERM);
	got->read_only = 0;
	got->is_main = 0;
	CHECK_INT(store_account_update(st, got), COF_EPERM);
	got->is_main = 1;
	free(got->email);
	got->email = strdup("admin@example.org");
	CHECK_INT(store_account_update(st, got), 0);
	account_free(got);
	got = NULL;
	CHECK_INT(store_account_remove(st, "admin"), COF_EPERM);
	CHECK_INT(store_account_remove(st, "ADMIN"), COF_EPERM);

	/* store size: not below a quota; bumps the main account */
	CHECK_INT(store_account_get(st, "admin", &got), 0);
	gen = got->generation;
	account_free(got);
	got = NULL;
	/* bob has 10 GiB */
	CHECK_INT(store_set_size(st, 10 * GiB - 1), COF_ERANGE);
	CHECK_INT(store_set_size(st, 10 * GiB), 0);
	CHECK_INT(store_set_size(st, UINT64_MAX), COF_ERANGE);
	CHECK_INT(store_set_size(st, 0), 0);
	CHECK_INT(store_account_get(st, "admin", &got), 0);
	CHECK(got != NULL && got->generation == gen + 2);
	account_free(got);
	got = NULL;
	/* size 0: any quota up to INT64_MAX */
	sub(&a, "frank", "/frank", (uint64_t)INT64_MAX);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);
	sub(&a, "gina", "/gina", (uint64_t)INT64_MAX + 1);
	CHECK_INT(store_account_add(st, &a, NULL, 0), COF_ERANGE);
	CHECK_INT(store_set_size(st, GiB), COF_ERANGE);		/* frank */
	CHECK_INT(store_account_remove(st, "frank"), 0);

	/* remove takes the keys along */
	CHECK_INT(store_account_remove(st, "alice2"), 0);
	CHECK_INT(raw_int(db, sql), 0);
	CHECK_INT(store_account_remove(st, "alice2"), COF_ENOENT);

	pubkey_free(keys[0]);
	pubkey_free(keys[1]);
	pubkey_free(keys[2]);
	account_free(main_acct);
}

/* ---- folders and keys ---------------------------------------------- */

static void
test_keys(struct store *st)
{
	struct account a, *bob = NULL, *carol = NULL, *after = NULL;
	struct store_key *list = NULL;
	struct pubkey *k[4];
	size_t n = 0, i;

	/* folder users */
	sub(&a, "sh1", "/shared", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);
	sub(&a, "sh2", "//shared/", 0);
	CHECK_INT(store_account_add(st, &a, NULL, 0), 0);
	CHECK_INT(store_account_get(st, "sh1", &bob), 0);
	CHECK_INT(store_folder_users(st, "/shared", bob->id, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(store_folder_users(st, "/shared/", 0, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(store_folder_users(st, "/shared/sub", 0, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(store_folder_users(st, "/", 0, &n), 0);
	CHECK_INT(n, 1);	/* the main account */
	CHECK_INT(store_folder_users(st, "/a/../b", 0, &n), COF_EINVAL);
	account_free(bob);
	bob = NULL;

	for (i = 0; i < 4; i++)
		k[i] = mkkey((unsigned char)(0x10 + i), "k");
	CHECK_INT(store_account_get(st, "bob", &bob), 0);
	CHECK_INT(store_account_get(st, "carol", &carol), 0);

	CHECK_INT(store_key_add(st, bob->id, k[0]), 0);
	CHECK_INT(store_key_add(st, bob->id, k[0]), COF_EEXIST);
	CHECK_INT(store_key_add(st, bob->id, k[1]), 0);
	CHECK_INT(store_key_add(st, bob->id, k[2]), 0);
	CHECK_INT(store_key_add(st, carol->id, k[0]), 0); /* same key, other */
	CHECK_INT(store_key_add(st, 999999, k[3]), COF_ENOENT);
	CHECK_INT(store_account_get(st, "bob", &after), 0);
	CHECK(after != NULL && after->generation == bob->generation + 3);
	account_free(after);
	after = NULL;

	CHECK_INT(store_key_list(st, bob->id, &list, &n), 0);
	CHECK_INT(n, 3);
	for (i = 0; i < n && i < 3; i++) {
		CHECK_STR(list[i].fingerprint, k[i]->fingerprint);
		CHECK_STR(list[i].type, "ssh-ed25519");
		CHECK_STR(list[i].comment, "k");
		CHECK(list[i].blob_len == k[i]->blob_len &&
		    memcmp(list[i].blob, k[i]->blob, k[i]->blob_len) == 0);
	}
	store_key_list_free(list, n);
	list = NULL;

	/* match: exact blob of this account only */
	CHECK_INT(store_key_match(st, bob->id, k[1]->blob, k[1]->blob_len),
	    0);
	CHECK_INT(store_key_match(st, bob->id, k[3]->blob, k[3]->blob_len),
	    COF_ENOENT);
	CHECK_INT(store_key_match(st, carol->id, k[1]->blob, k[1]->blob_len),
	    COF_ENOENT);
	CHECK_INT(store_key_match(st, bob->id, k[1]->blob,
	    k[1]->blob_len - 1), COF_ENOENT);

	/* remove by position (1-based), then by fingerprint */
	CHECK_INT(store_key_remove(st, bob->id, "0"), COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, "-1"), COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, "abc"), COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, ""), COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, "1x"), COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, "99999999999999999999"),
	    COF_EINVAL);
	CHECK_INT(store_key_remove(st, bob->id, "4"), COF_ENOENT);
	CHECK_INT(store_key_remove(st, bob->id, "2"), 0);
	CHECK_INT(store_key_match(st, bob->id, k[1]->blob, k[1]->blob_len),
	    COF_ENOENT);
	CHECK_INT(store_key_list(st, bob->id, &list, &n), 0);
	CHECK(n == 2 && strcmp(list[0].fingerprint, k[0]->fingerprint) == 0 &&
	    strcmp(list[1].fingerprint, k[2]->fingerprint) == 0);
	store_key_list_free(list, n);
	list = NULL;
	CHECK_INT(store_key_remove(st, bob->id, k[0]->fingerprint), 0);
	CHECK_INT(store_key_remove(st, bob->id, k[0]->fingerprint),
	    COF_ENOENT);
	CHECK_INT(store_key_remove(st, 999999, "1"), COF_ENOENT);
	CHECK_INT(store_key_match(st, carol->id, k[0]->blob, k[0]->blob_len),
	    0);
	CHECK_INT(store_key_list(st, bob->id, &list, &n), 0);
	CHECK(n == 1 && strcmp(list[0].fingerprint, k[2]->fingerprint) == 0);
	store_key_list_free(list, n);
	list = NULL;
	CHECK_INT(store_key_remove(st, bob->id, "1"), 0);
	CHECK_INT(store_key_list(st, bob->id, &list, &n), 0);
	CHECK(n == 0 && list == NULL);
	CHECK_INT(store_key_list(st, 999999, &list, &n), COF_ENOENT);

	/* removing carol takes her key */
	CHECK_INT(store_account_remove(st, "carol"), 0);
	CHECK_INT(store_key_match(st, carol->id, k[0]->blob, k[0]->blob_len),
	    COF_ENOENT);

	for (i = 0; i < 4; i++)
		pubkey_free(k[i]);
	account_free(bob);
	account_free(carol);
}

/* ---- two writers ---------------------------------------------------- */

#define PER_WRITER 50

static int
writer(const char *db, int who, int go)
{
	struct store *st = NULL;
	struct account a;
	char name[32], folder[32], c;
	int i, fails = 0, rc;

	if ((rc = store_open(db, 0, &st)) != 0) {
		fprintf(stderr, "writer %d: open: %s\n", who,
		    cof_strerror(rc));
		return 100;
	}
	/* wait until the parent lets both go at once */
	(void)!read(go, &c, 1);
	for (i = 0; i < PER_WRITER; i++) {
		snprintf(name, sizeof(name), "w%d-%02d", who, i);
		snprintf(folder, sizeof(folder), "/w%d/%d", who, i);
		sub(&a, name, folder, 0);
		if ((rc = store_account_add(st, &a, NULL, 0)) != 0) {
			fprintf(stderr, "writer %d: %s: %s\n", who, name,
			    cof_strerror(rc));
			fails++;
		}
	}
	store_close(st);
	return fails;
}

static void
test_concurrent(const char *db)
{
	struct store *st = NULL;
	struct account **list = NULL;
	pid_t pid[2];
	size_t n = 0, w0 = 0, w1 = 0, i;
	int go[2], status, w;

	CHECK_INT(store_open(db, 0, &st), 0);
	CHECK_INT(store_set_max_accounts(st, 0), 0);
	CHECK_INT(store_account_list(st, &list, &n), 0);
	account_list_free(list, n);
	list = NULL;
	store_close(st);	/* no handle crosses fork() */
	st = NULL;

	if (pipe(go) != 0) {
		CHECK_MSG(0, "pipe");
		return;
	}
	fflush(stdout);
	for (w = 0; w < 2; w++) {
		if ((pid[w] = fork()) == 0) {
			close(go[1]);
			_exit(writer(db, w, go[0]));
		}
	}
	close(go[0]);
	close(go[1]);		/* EOF: both start */
	for (w = 0; w < 2; w++) {
		CHECK(pid[w] > 0 && waitpid(pid[w], &status, 0) == pid[w]);
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "writer %d: %d failures", w, WEXITSTATUS(status));
	}

	CHECK_INT(store_open(db, 0, &st), 0);
	CHECK_INT(store_account_list(st, &list, &i), 0);
	for (size_t j = 0; j < i; j++) {
		if (strncmp(list[j]->name, "w0-", 3) == 0)
			w0++;
		if (strncmp(list[j]->name, "w1-", 3) == 0)
			w1++;
	}
	CHECK_INT(w0, PER_WRITER);
	CHECK_INT(w1, PER_WRITER);
	CHECK_INT(i, n + 2 * PER_WRITER);
	account_list_free(list, i);
	store_close(st);
}

int
main(void)
{
	char db[128], cmd[128];
	struct store *st = NULL;

	snprintf(dir, sizeof(dir), "/tmp/coffer-test-store.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open();

	path_in(db, sizeof(db), "coffer.db");
	CHECK_INT(store_open(db, 1, &st), 0);
	if (st != NULL) {
		test_accounts(st, db);
		test_keys(st);
		store_close(st);
		test_concurrent(db);
	}

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	return harness_done();
}
