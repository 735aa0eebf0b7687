/*
 * cmd_init.c — `coffer init`: creates the state folder, the database with
 * the store's settings and the main account, the tree root and the usage
 * ledger.  A failed init takes back what it made.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "password.h"
#include "size.h"

/*
 * mkdir -p with mode for the missing components; *made counts the
 * components created (always the deepest ones).  0 or COF_EIO (errno
 * kept); on error, what was made is removed again.
 */
static int
mkdir_p(const char *path, mode_t mode, size_t *made)
{
	char buf[PATH_MAX], *p;
	size_t len = strlen(path), n = 0;
	int rc = COF_EIO;

	*made = 0;
	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return COF_EIO;
	}
	memcpy(buf, path, len + 1);
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char save = *p;

			*p = '\0';
			if (mkdir(buf, mode) == 0)
				n++;
			else if (errno != EEXIST)
				goto out;
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	rc = 0;
out:
	if (rc != 0) {
		int e = errno;
		size_t k;

		/* The created ones are the deepest n before the failure. */
		for (k = 0; k < n; k++) {
			char *slash = strrchr(buf, '/');

			if (slash == NULL || slash == buf)
				break;
			*slash = '\0';
			rmdir(buf);
		}
		errno = e;
	} else
		*made = n;
	return rc;
}

/* Removes the deepest made components of path (empty ones only). */
static void
rmdir_made(const char *path, size_t made)
{
	char buf[PATH_MAX];
	char *slash;
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return;
	memcpy(buf, path, len + 1);
	while (made-- > 0) {
		if (rmdir(buf) == -1)
			return;
		if ((slash = strrchr(buf, '/')) == NULL || slash == buf)
			return;
		*slash = '\0';
	}
}

/*
 * The absolute form of path, resolving what exists (realpath) and
 * appending the rest as written.  malloc'd, or NULL.
 */
static char *
abs_path(const char *path)
{
	char *head = NULL, *base = NULL, *out = NULL, *slash;
	const char *leaf;
	size_t n;

	if ((out = realpath(path, NULL)) != NULL)
		return out;
	if ((leaf = strrchr(path, '/')) == NULL) {
		base = getcwd(NULL, 0);
		leaf = path;
	} else {
		n = leaf == path ? 1 : (size_t)(leaf - path);
		leaf++;
		if ((head = strndup(path, n)) != NULL)
			base = abs_path(head);
	}
	if (base == NULL)
		goto out;
	if (*leaf == '\0' || strcmp(leaf, ".") == 0)
		out = strdup(base);
	else if (strcmp(leaf, "..") == 0) {
		if ((slash = strrchr(base, '/')) != NULL)
			slash[slash == base ? 1 : 0] = '\0';
		out = strdup(base);
	} else {
		n = strlen(base) + strlen(leaf) + 2;
		if ((out = malloc(n)) != NULL)
			snprintf(out, n, "%s%s%s", base,
			    strcmp(base, "/") == 0 ? "" : "/", leaf);
	}
out:
	free(head);
	free(base);
	return out;
}

/* 1 if absolute path p is dir or beneath it. */
static int
beneath(const char *dir, const char *p)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(dir, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Removes a database file made by a failed init, with its companions. */
static void
unlink_db(const char *db)
{
	static const char *sfx[] = {"", "-wal", "-shm", "-journal", "-ledger"};
	char buf[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (snprintf(buf, sizeof(buf), "%s%s", db, sfx[i]) <
		    (int)sizeof(buf))
			unlink(buf);
}

/*
 * What is at db already: 0 nothing (or an empty Coffer database), 1 an
 * initialised store (*root: its tree, malloc'd), or the error that makes
 * the file unusable (not Coffer's, newer schema, not SQLite).
 */
static int
store_exists(const char *db, char **root)
{
	struct store *st = NULL;
	struct store_info info;
	struct stat sb;
	int rc;

	memset(&info, 0, sizeof(info));
	if (stat(db, &sb) == -1 && errno == ENOENT)
		return 0;
	if ((rc = store_open(db, 0, &st)) != 0)
		return rc;
	rc = store_info_get(st, &info);
	if (rc == 0) {
		*root = strdup(info.root != NULL ? info.root : "?");
		rc = 1;
	} else if (rc == COF_ESCHEMA)
		rc = 0; /* schema made, never initialised */
	store_info_clear(&info);
	store_close(st);
	return rc;
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"size", required_argument, NULL, 's'},
	    {"admin", required_argument, NULL, 'a'},
	    {"max-accounts", required_argument, NULL, 'm'},
	    {"password-stdin", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *root_arg = NULL, *size_arg = NULL, *admin = NULL;
	char *root = NULL, *state = NULL, *dbdir = NULL, *keydir = NULL;
	char *hash = NULL, *oldroot = NULL, *slash, *lpath = NULL;
	char sz[SIZE_FMT_LEN];
	struct account *a = NULL;
	struct account **list = NULL;
	size_t nlist = 0, root_made = 0, state_made = 0, dbdir_made = 0;
	uint64_t size = 0;
	uint32_t maxacc = 0;
	struct stat sb;
	uid_t uid;
	gid_t gid;
	int ch, rc, with_pw = 0, db_made = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":r:s:a:m:ph", opts)) != -1) {
		switch (ch) {
		case 'r':
			root_arg = optarg;
			break;
		case 's':
			size_arg = optarg;
			break;
		case 'a':
			admin = optarg;
			break;
		case 'm':
			if (cli_parse_u32(optarg, &maxacc) != 0)
				return cli_usage_err(c,
				    "--max-accounts '%s': "
				    "not a number from 0 to %" PRIu32,
				    optarg, UINT32_MAX);
			break;
		case 'p':
			with_pw = 1;
			break;
		case CLI_OPT_HELP:
			return cli_help(c);
		default:
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_err(
		    c, "unexpected argument '%s'", argv[optind]);
	if (root_arg == NULL || size_arg == NULL || admin == NULL)
		return cli_usage_err(c,
		    "--root, --size and --admin are "
		    "required");
	if ((rc = cli_parse_size(size_arg, &size)) != 0)
		return cli_usage_err(c, "--size '%s': %s", size_arg,
		    rc == COF_ERANGE
			? "too large"
			: "not a size (try 25G, 500M, 1.5T or bytes)");
	if ((rc = name_check(admin)) != 0) {
		if (rc == COF_EPERM)
			cli_err(c, "name '%s' is reserved", admin);
		else
			cli_err(c,
			    "bad name '%s': use 1-%d lower-case letters, "
			    "digits, '.', '_' or '-', starting with a letter "
			    "or digit",
			    admin, NAME_MAX_LEN);
		return CLI_FAIL;
	}
	if (cli_load_config(c) != CLI_OK)
		return CLI_FAIL;

	/* Paths, all checked before anything is made. */
	if ((root = abs_path(root_arg)) == NULL ||
	    (state = abs_path(c->cfg->state_dir)) == NULL ||
	    (dbdir = strdup(c->cfg->database)) == NULL ||
	    (keydir = abs_path(c->cfg->host_key_dir)) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	if ((slash = strrchr(dbdir, '/')) != NULL)
		*slash = '\0';
	else {
		free(dbdir);
		dbdir = strdup(".");
	}
	if (dbdir == NULL || *dbdir == '\0') {
		free(dbdir);
		dbdir = strdup("/");
	}
	if (dbdir == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	slash = abs_path(dbdir);
	free(dbdir);
	if ((dbdir = slash) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	if (strcmp(root, "/") == 0) {
		cli_err(c,
		    "--root /: the store's tree cannot be the whole "
		    "host");
		goto out;
	}
	if (beneath(root, state) || beneath(root, dbdir) ||
	    beneath(root, keydir)) {
		cli_err(c,
		    "--root %s holds the state folder (database, host "
		    "keys); choose a tree apart from %s",
		    root,
		    beneath(root, state)       ? state
			: beneath(root, dbdir) ? dbdir
					       : keydir);
		goto out;
	}
	if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		cli_err(c, "--root %s is not a folder", root);
		goto out;
	}
	if ((rc = store_exists(c->cfg->database, &oldroot)) == 1) {
		cli_err(c, "a store already exists at %s (root %s)",
		    c->cfg->database, oldroot != NULL ? oldroot : "?");
		goto out;
	} else if (rc != 0) {
		cli_err(c,
		    "%s exists and is not a database this coffer can "
		    "use: %s; nothing changed",
		    c->cfg->database, cli_strerror(rc));
		goto out;
	}
	if (with_pw && cli_password(c, 0, &hash) != CLI_OK)
		goto out;

	/* Make things, taking them back on failure. */
	if (mkdir_p(state, 0700, &state_made) != 0) {
		cli_err(c, "cannot create %s: %s", state, strerror(errno));
		goto out;
	}
	if (mkdir_p(dbdir, 0700, &dbdir_made) != 0) {
		cli_err(c, "cannot create %s: %s", dbdir, strerror(errno));
		goto out;
	}
	if (mkdir_p(root, 0755, &root_made) != 0) {
		cli_err(c, "cannot create %s: %s", root, strerror(errno));
		goto out;
	}
	/* A tree made by root belongs to the user the gateway runs as. */
	if (root_made > 0 && cli_service_owner(c, &uid, &gid) &&
	    lchown(root, uid, gid) == -1) {
		cli_err(c, "cannot give %s to user '%s': %s", root,
		    c->cfg->user, strerror(errno));
		goto out;
	}
	db_made = stat(c->cfg->database, &sb) == -1;
	if ((rc = store_open(c->cfg->database, 1, &c->st)) != 0) {
		cli_err(c, "%s: cannot create the database: %s",
		    c->cfg->database, cli_strerror(rc));
		goto out;
	}
	if ((rc = store_init(c->st, root, size, maxacc, admin)) != 0) {
		if (rc == COF_EEXIST)
			cli_err(c, "a store already exists at %s",
			    c->cfg->database);
		else
			cli_err(c, "cannot initialise the store: %s",
			    cli_strerror(rc));
		goto out;
	}
	if (hash != NULL) {
		if ((rc = store_account_get(c->st, admin, &a)) != 0) {
			cli_err(c, "cannot read account '%s': %s", admin,
			    cli_strerror(rc));
			goto out;
		}
		free(a->password);
		a->password = hash;
		hash = NULL;
		if ((rc = store_account_update(c->st, a)) != 0) {
			cli_err(
			    c, "cannot set the password: %s", cli_strerror(rc));
			goto out;
		}
	}
	if ((lpath = ledger_path_for(c->cfg->database)) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	/* A ledger left by an older store at this path is stale. */
	if (db_made)
		unlink(lpath);
	if ((rc = ledger_open(lpath, 1, &c->lg)) != 0 ||
	    (rc = store_account_list(c->st, &list, &nlist)) != 0 ||
	    (rc = ledger_sync(c->lg, root, size, list, nlist)) != 0 ||
	    (rc = ledger_rescan(c->lg, root, NULL)) != 0) {
		cli_err(c, "cannot create the usage ledger %s: %s", lpath,
		    cli_strerror(rc));
		goto out;
	}
	log_info("init: store %s, root %s, size %" PRIu64 ", max accounts "
		 "%" PRIu32 ", main account '%s'",
	    c->cfg->database, root, size, maxacc, admin);
	printf("store created\n");
	printf("  database:      %s\n", c->cfg->database);
	printf("  root:          %s\n", root);
	printf("  size:          %s\n",
	    size == 0 ? "unlimited (disk only)" : size_format(size, sz));
	if (maxacc == 0)
		printf("  sub-accounts:  unlimited\n");
	else
		printf("  sub-accounts:  at most %" PRIu32 "\n", maxacc);
	printf("  main account:  %s (folder /, read-write)\n", admin);
	if (!with_pw)
		cli_err(c,
		    "note: '%s' has no password or key yet; add one "
		    "with 'coffer passwd %s' or 'coffer key add %s "
		    "FILE'",
		    admin, admin, admin);
	ret = CLI_OK;
out:
	if (ret != CLI_OK) {
		if (c->lg != NULL)
			ledger_close(c->lg);
		c->lg = NULL;
		if (c->st != NULL)
			store_close(c->st);
		c->st = NULL;
		if (db_made)
			unlink_db(c->cfg->database);
		if (root != NULL)
			rmdir_made(root, root_made);
		if (dbdir != NULL)
			rmdir_made(dbdir, dbdir_made);
		if (state != NULL)
			rmdir_made(state, state_made);
	}
	account_list_free(list, nlist);
	account_free(a);
	secret_free(hash);
	free(oldroot);
	free(lpath);
	free(root);
	free(state);
	free(dbdir);
	free(keydir);
	return ret;
}
