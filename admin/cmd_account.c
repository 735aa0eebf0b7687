/*
 * cmd_account.c — the account commands: add, set, show, list, remove.
 *
 * Each change validates everything first (name, values, folder, limits),
 * then makes the folder on disk if it is new, then writes the database in
 * one transaction; if that fails the new folder is taken back.  Afterwards
 * the usage ledger is brought in line with the accounts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "folder.h"
#include "names.h"
#include "password.h"
#include "size.h"

#define RM_MAX_DEPTH 512

static int
bad_size(struct cli *c, const char *opt, const char *arg, int rc)
{
	return cli_usage_err(c, "%s '%s': %s", opt, arg,
	    rc == COF_ERANGE
		? "too large"
		: "not a size (try 25G, 500M, 1.5T, bytes, or none)");
}

static int
bad_date(struct cli *c, const char *arg)
{
	return cli_usage_err(c,
	    "--expires '%s': not a date (YYYY-MM-DD, "
	    "from 1970) or 'never'",
	    arg);
}

static int
date_past(struct cli *c, const char *arg, int64_t expires)
{
	if (expires != 0 && expires <= (int64_t)time(NULL)) {
		cli_err(c,
		    "--expires %s: that day is over (use --disable to "
		    "stop logins now)",
		    arg);
		return 1;
	}
	return 0;
}

/* Prints why the store refused an account change. */
static void
store_refusal(struct cli *c, const struct account *a, int rc)
{
	char q[SIZE_FMT_LEN], s[SIZE_FMT_LEN];

	switch (rc) {
	case COF_EEXIST:
		cli_err(c,
		    "account '%s' already exists (names are "
		    "case-insensitive)",
		    a->name);
		break;
	case COF_ELIMIT:
		cli_err(c,
		    "the store allows at most %" PRIu32 " sub-accounts "
		    "(see 'coffer store --max-accounts')",
		    c->info.max_accounts);
		break;
	case COF_ERANGE:
		cli_err(c, "quota %s is above the store size %s",
		    size_format(a->quota, q), size_format(c->info.size, s));
		break;
	case COF_EPERM:
		cli_err(c,
		    "'%s' is the main account: its folder is / and it "
		    "is read-write",
		    a->name);
		break;
	case COF_EBUSY:
		cli_err(c, "the database is busy; try again");
		break;
	default:
		cli_err(c, "cannot write account '%s': %s", a->name,
		    cli_strerror(rc));
		break;
	}
}

static int
check_name(struct cli *c, const char *name)
{
	int rc = name_check(name);

	if (rc == COF_EPERM)
		cli_err(c, "name '%s' is reserved", name);
	else if (rc != 0)
		cli_err(c,
		    "bad name '%s': use 1-%d lower-case letters, "
		    "digits, '.', '_' or '-', starting with a letter "
		    "or digit",
		    name, NAME_MAX_LEN);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}

static int
check_quota(struct cli *c, uint64_t quota)
{
	char q[SIZE_FMT_LEN], s[SIZE_FMT_LEN];

	if (c->info.size != 0 && quota > c->info.size) {
		cli_err(c, "quota %s is above the store size %s",
		    size_format(quota, q), size_format(c->info.size, s));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static void
hint_no_login(struct cli *c, const char *name)
{
	cli_err(c,
	    "note: '%s' has no password or key yet and cannot log "
	    "in; add one with 'coffer passwd %s' or 'coffer key add %s "
	    "FILE'",
	    name, name, name);
}

int
cmd_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"folder", required_argument, NULL, 'f'},
	    {"quota", required_argument, NULL, 'q'},
	    {"read-only", no_argument, NULL, 'r'},
	    {"password-stdin", no_argument, NULL, 'p'},
	    {"key", required_argument, NULL, 'k'},
	    {"email", required_argument, NULL, 'e'},
	    {"expires", required_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name, *folder_arg = NULL, *key_path = NULL;
	const char *email = "", *expires_arg = NULL;
	char *folder_buf = NULL, *hash = NULL;
	char qs[SIZE_FMT_LEN];
	struct account a, *old = NULL, **list = NULL;
	struct pubkey **keys = NULL;
	struct cli_folder f;
	size_t nkeys = 0, n = 0, subs;
	uint64_t quota = 0;
	int64_t expires = 0;
	int ch, rc, ro = 0, with_pw = 0, ret = CLI_FAIL;

	memset(&f, 0, sizeof(f));
	memset(&a, 0, sizeof(a));
	while ((ch = cli_getopt(c, argc, argv, ":f:q:rpk:e:x:h", opts)) != -1) {
		switch (ch) {
		case 'f':
			folder_arg = optarg;
			break;
		case 'q':
			if ((rc = cli_parse_size(optarg, &quota)) != 0)
				return bad_size(c, "--quota", optarg, rc);
			break;
		case 'r':
			ro = 1;
			break;
		case 'p':
			with_pw = 1;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'x':
			if (cli_parse_date(optarg, &expires) != 0)
				return bad_date(c, optarg);
			expires_arg = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_help(c);
		default:
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_err(c,
		    argc - optind == 0 ? "an account name is required"
				       : "one account name only");
	name = argv[optind];
	if (*email != '\0' && !cli_email_ok(email))
		return cli_usage_err(
		    c, "--email '%s': not an e-mail address", email);
	if (with_pw && key_path != NULL && strcmp(key_path, "-") == 0)
		return cli_usage_err(c,
		    "--password-stdin and --key - cannot "
		    "both read stdin");
	if (expires_arg != NULL && date_past(c, expires_arg, expires))
		return CLI_FAIL;
	if (cli_open(c) != CLI_OK)
		goto out;

	/* Refusals, cheapest first; nothing is made until all pass. */
	if ((rc = store_account_get(c->st, name, &old)) == 0) {
		if (strcmp(old->name, name) == 0)
			cli_err(c, "account '%s' already exists", name);
		else
			cli_err(c,
			    "account '%s' already exists as '%s' (names "
			    "are case-insensitive)",
			    name, old->name);
		goto out;
	} else if (rc != COF_ENOENT) {
		cli_err(c, "cannot read the accounts: %s", cli_strerror(rc));
		goto out;
	}
	if (check_name(c, name) != CLI_OK || check_quota(c, quota) != CLI_OK)
		goto out;
	if ((rc = store_account_list(c->st, &list, &n)) != 0) {
		cli_err(c, "cannot read the accounts: %s", cli_strerror(rc));
		goto out;
	}
	subs = n > 0 ? n - 1 : 0;
	if (c->info.max_accounts != 0 && subs >= c->info.max_accounts) {
		cli_err(c,
		    "the store allows at most %" PRIu32 " sub-accounts "
		    "(see 'coffer store --max-accounts')",
		    c->info.max_accounts);
		goto out;
	}
	if (key_path != NULL &&
	    cli_read_keys(c, key_path, &keys, &nkeys) != CLI_OK)
		goto out;
	if (with_pw && cli_password(c, 0, &hash) != CLI_OK)
		goto out;
	if (folder_arg == NULL) {
		size_t len = strlen(name) + 2;

		if ((folder_buf = malloc(len)) == NULL) {
			cli_err(c, "%s", cli_strerror(COF_ENOMEM));
			goto out;
		}
		snprintf(folder_buf, len, "/%s", name);
		folder_arg = folder_buf;
	}
	if (cli_folder_prepare(c, folder_arg, &f) != CLI_OK)
		goto out;

	a.name = (char *)name;
	a.folder = f.path;
	a.read_only = ro;
	a.quota = quota;
	a.expires = expires;
	a.email = (char *)email;
	a.password = hash;
	if ((rc = store_account_add(c->st, &a, keys, nkeys)) != 0) {
		cli_folder_undo(c, &f);
		store_refusal(c, &a, rc);
		goto out;
	}
	log_info("added account '%s': folder %s, %s, quota %" PRIu64
		 ", %zu keys, password %s",
	    name, f.path, ro ? "read-only" : "read-write", quota, nkeys,
	    hash != NULL ? "set" : "none");
	printf("added account '%s': folder %s, %s, quota %s%s%s\n", name,
	    f.path, ro ? "read-only" : "read-write",
	    quota == 0 ? "none" : size_format(quota, qs),
	    f.created ? " (folder created)" : "",
	    nkeys > 1	     ? ", keys added"
		: nkeys == 1 ? ", key added"
			     : "");
	if (hash == NULL && nkeys == 0)
		hint_no_login(c, name);
	ret = cli_sync(c);
out:
	cli_folder_clear(&f);
	account_free(old);
	account_list_free(list, n);
	cli_keys_free(keys, nkeys);
	secret_free(hash);
	free(folder_buf);
	return ret;
}

int
cmd_set(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"quota", required_argument, NULL, 'q'},
	    {"read-only", no_argument, NULL, 'r'},
	    {"read-write", no_argument, NULL, 'w'},
	    {"folder", required_argument, NULL, 'f'},
	    {"disable", no_argument, NULL, 'd'},
	    {"enable", no_argument, NULL, 'E'},
	    {"expires", required_argument, NULL, 'x'},
	    {"email", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name, *folder_arg = NULL, *email = NULL;
	const char *expires_arg = NULL;
	char *old_folder = NULL, *old_email = NULL;
	char q1[SIZE_FMT_LEN], q2[SIZE_FMT_LEN];
	struct account *a = NULL;
	struct cli_folder f;
	struct cli_usage u;
	uint64_t quota = 0;
	int64_t expires = 0;
	int ch, rc, set_quota = 0, mode = -1, dis = -1, ret = CLI_FAIL;

	memset(&f, 0, sizeof(f));
	while ((ch = cli_getopt(c, argc, argv, ":q:rwf:dEx:e:h", opts)) != -1) {
		switch (ch) {
		case 'q':
			if ((rc = cli_parse_size(optarg, &quota)) != 0)
				return bad_size(c, "--quota", optarg, rc);
			set_quota = 1;
			break;
		case 'r':
		case 'w':
			if (mode != -1 && mode != (ch == 'r'))
				return cli_usage_err(c,
				    "--read-only and "
				    "--read-write exclude each other");
			mode = ch == 'r';
			break;
		case 'f':
			folder_arg = optarg;
			break;
		case 'd':
		case 'E':
			if (dis != -1 && dis != (ch == 'd'))
				return cli_usage_err(c,
				    "--disable and "
				    "--enable exclude each other");
			dis = ch == 'd';
			break;
		case 'x':
			if (cli_parse_date(optarg, &expires) != 0)
				return bad_date(c, optarg);
			expires_arg = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_help(c);
		default:
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_err(c,
		    argc - optind == 0 ? "an account name is required"
				       : "one account name only");
	name = argv[optind];
	if (!set_quota && mode == -1 && folder_arg == NULL && dis == -1 &&
	    expires_arg == NULL && email == NULL)
		return cli_usage_err(c, "nothing to change");
	if (email != NULL && *email != '\0' && !cli_email_ok(email))
		return cli_usage_err(
		    c, "--email '%s': not an e-mail address", email);
	if (expires_arg != NULL && date_past(c, expires_arg, expires))
		return CLI_FAIL;
	if (cli_open(c) != CLI_OK || cli_account(c, name, &a) != CLI_OK)
		goto out;
	if (a->is_main) {
		if (folder_arg != NULL || mode == 1) {
			cli_err(c,
			    "'%s' is the main account: its folder is / "
			    "and it is read-write",
			    a->name);
			goto out;
		}
		if (set_quota) {
			cli_err(c,
			    "'%s' is the main account: its limit is the "
			    "store size (see 'coffer store --size')",
			    a->name);
			goto out;
		}
	}
	if (set_quota && check_quota(c, quota) != CLI_OK)
		goto out;
	if (folder_arg != NULL &&
	    cli_folder_prepare(c, folder_arg, &f) != CLI_OK)
		goto out;

	if (set_quota)
		a->quota = quota;
	if (mode != -1)
		a->read_only = mode;
	if (dis != -1)
		a->disabled = dis;
	if (expires_arg != NULL)
		a->expires = expires;
	if (email != NULL) {
		old_email = a->email;
		a->email = (char *)email;
	}
	if (f.path != NULL) {
		old_folder = a->folder;
		a->folder = f.path;
	}
	if ((rc = store_account_update(c->st, a)) != 0) {
		cli_folder_undo(c, &f);
		store_refusal(c, a, rc);
		goto out;
	}
	log_info("changed account '%s': folder %s, %s, quota %" PRIu64
		 ", %s, expires %" PRId64,
	    a->name, a->folder, a->read_only ? "read-only" : "read-write",
	    a->quota, a->disabled ? "disabled" : "enabled", a->expires);
	printf("updated account '%s'\n", a->name);
	if ((ret = cli_sync(c)) != CLI_OK)
		goto out;
	if (set_quota && quota != 0 &&
	    cli_folder_usage(c, a->folder, &u) == 0 && u.used > quota)
		cli_warn(c,
		    "'%s' uses %s, more than the new quota %s; writes "
		    "will be refused until usage is below it",
		    a->name, size_format(u.used, q1), size_format(quota, q2));
out:
	if (a != NULL) {
		/* Give the account back its own strings before freeing. */
		if (old_email != NULL)
			a->email = old_email;
		if (old_folder != NULL)
			a->folder = old_folder;
	}
	account_free(a);
	cli_folder_clear(&f);
	return ret;
}

/* What show and list print per account. */
struct row {
	struct account *a;
	struct cli_usage u;
	int have_usage;
	size_t nkeys;
};

static int
fill_row(struct cli *c, struct account *a, struct row *r)
{
	struct store_key *keys = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	r->a = a;
	if ((rc = store_key_list(c->st, a->id, &keys, &r->nkeys)) != 0) {
		cli_err(c, "cannot read the keys of '%s': %s", a->name,
		    cli_strerror(rc));
		return CLI_FAIL;
	}
	store_key_list_free(keys, r->nkeys);
	if ((rc = cli_folder_usage(c, a->folder, &r->u)) != 0) {
		cli_err(c, "cannot read the usage of %s: %s", a->folder,
		    cli_strerror(rc));
		return CLI_FAIL;
	}
	r->have_usage = 1;
	return CLI_OK;
}

static void
json_row(const struct row *r, const char *indent)
{
	const struct account *a = r->a;

	printf("%s{\"name\": ", indent);
	cli_json_str(stdout, a->name);
	printf(", \"folder\": ");
	cli_json_str(stdout, a->folder);
	printf(", \"main\": %s, \"mode\": \"%s\", \"state\": \"%s\",\n",
	    a->is_main ? "true" : "false",
	    a->read_only ? "read-only" : "read-write", cli_state(a));
	printf("%s \"quota\": %" PRIu64 ", \"used\": %" PRIu64
	       ", \"available\": %" PRIu64 ",\n",
	    indent, a->quota, r->u.used, r->u.available);
	printf("%s \"expires\": %" PRId64 ", \"email\": ", indent, a->expires);
	cli_json_str(stdout, a->email != NULL ? a->email : "");
	printf(", \"password\": %s, \"keys\": %zu,\n",
	    a->password != NULL ? "true" : "false", r->nkeys);
	printf("%s \"created\": %" PRId64 ", \"changed\": %" PRId64 "}", indent,
	    a->created, a->changed);
}

int
cmd_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char b[SIZE_FMT_LEN], t[40];
	struct account *a = NULL;
	struct row r;
	int ch, json = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":jh", opts)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case CLI_OPT_HELP:
			return cli_help(c);
		default:
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_err(c,
		    argc - optind == 0 ? "an account name is required"
				       : "one account name only");
	if (cli_open(c) != CLI_OK ||
	    cli_account(c, argv[optind], &a) != CLI_OK ||
	    fill_row(c, a, &r) != CLI_OK)
		goto out;
	if (json) {
		json_row(&r, "");
		printf("\n");
		ret = CLI_OK;
		goto out;
	}
	printf(
	    "name:       %s%s\n", a->name, a->is_main ? " (main account)" : "");
	printf("folder:     %s\n", a->folder);
	printf("mode:       %s\n", a->read_only ? "read-only" : "read-write");
	printf("state:      %s\n", cli_state(a));
	if (a->is_main)
		printf("quota:      - (the store size)\n");
	else if (a->quota == 0)
		printf("quota:      none (only the store's)\n");
	else
		printf("quota:      %s\n", size_format(a->quota, b));
	printf("used:       %s\n", size_format(r.u.used, b));
	printf("available:  %s\n", size_format(r.u.available, b));
	if (a->expires == 0)
		printf("expires:    never\n");
	else
		printf("expires:    %s (logins refused from %s)\n",
		    cli_expiry(a->expires, b, sizeof(b)),
		    cli_time(a->expires, t, sizeof(t)));
	printf("email:      %s\n", *a->email != '\0' ? a->email : "-");
	printf("password:   %s\n", a->password != NULL ? "set" : "none");
	printf("keys:       %zu\n", r.nkeys);
	printf("created:    %s\n", cli_time(a->created, t, sizeof(t)));
	printf("changed:    %s\n", cli_time(a->changed, t, sizeof(t)));
	ret = CLI_OK;
out:
	account_free(a);
	return ret;
}

int
cmd_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char used[SIZE_FMT_LEN], quota[SIZE_FMT_LEN], avail[SIZE_FMT_LEN];
	struct account **list = NULL;
	struct row *rows = NULL;
	size_t n = 0, i, wn = 4, wf = 6;
	int ch, rc, json = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":jh", opts)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
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
	if (cli_open(c) != CLI_OK)
		goto out;
	if ((rc = store_account_list(c->st, &list, &n)) != 0) {
		cli_err(c, "cannot read the accounts: %s", cli_strerror(rc));
		goto out;
	}
	if ((rows = calloc(n > 0 ? n : 1, sizeof(*rows))) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (fill_row(c, list[i], &rows[i]) != CLI_OK)
			goto out;
		if (strlen(list[i]->name) > wn)
			wn = strlen(list[i]->name);
		if (strlen(list[i]->folder) > wf)
			wf = strlen(list[i]->folder);
	}
	if (json) {
		printf("[");
		for (i = 0; i < n; i++) {
			printf("%s\n", i == 0 ? "" : ",");
			json_row(&rows[i], "  ");
		}
		printf("\n]\n");
		ret = CLI_OK;
		goto out;
	}
	printf("%-*s  %-*s  %-10s  %-8s  %10s  %10s  %10s\n", (int)wn, "NAME",
	    (int)wf, "FOLDER", "MODE", "STATE", "USED", "QUOTA", "AVAILABLE");
	for (i = 0; i < n; i++) {
		struct account *a = list[i];

		printf("%-*s  %-*s  %-10s  %-8s  %10s  %10s  %10s\n", (int)wn,
		    a->name, (int)wf, a->folder,
		    a->read_only ? "read-only" : "read-write", cli_state(a),
		    size_format(rows[i].u.used, used),
		    a->quota == 0 ? "-" : size_format(a->quota, quota),
		    size_format(rows[i].u.available, avail));
	}
	ret = CLI_OK;
out:
	free(rows);
	account_list_free(list, n);
	return ret;
}

/*
 * Deletes name (beneath pfd) and everything under it without following
 * symlinks; adds the sizes of the regular files removed to *bytes.
 */
static int
rm_tree(int pfd, const char *name, int depth, uint64_t *bytes)
{
	struct dirent *de;
	struct stat sb;
	DIR *d = NULL;
	int fd, rc = COF_EIO, again;

	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : COF_EIO;
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(pfd, name, 0) == -1)
			return errno == ENOENT ? 0 : COF_EIO;
		if (S_ISREG(sb.st_mode))
			*bytes += (uint64_t)sb.st_size;
		return 0;
	}
	if (depth >= RM_MAX_DEPTH)
		return COF_ERANGE;
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		goto out;
	}
	do {
		again = 0;
		while ((errno = 0, de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if ((rc = rm_tree(
				 dirfd(d), de->d_name, depth + 1, bytes)) != 0)
				goto out;
			again = 1;
		}
		if (errno != 0) {
			rc = COF_EIO;
			goto out;
		}
		rewinddir(d);
	} while (again);
	rc = COF_EIO;
	if (unlinkat(pfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		goto out;
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

/* Deletes folder (normal form, not "/") and returns the bytes freed. */
static int
purge_folder(struct cli *c, const char *folder, uint64_t *bytes)
{
	char *parent = NULL;
	const char *slash = strrchr(folder, '/');
	int fd = -1, rc;

	*bytes = 0;
	if (slash == folder)
		parent = strdup("/");
	else
		parent = strndup(folder, (size_t)(slash - folder));
	if (parent == NULL)
		return COF_ENOMEM;
	if ((rc = folder_open(c->info.root, parent, 0, &fd)) == 0)
		rc = rm_tree(fd, slash + 1, 0, bytes);
	if (fd != -1)
		close(fd);
	free(parent);
	return rc;
}

static int
confirm(const char *question)
{
	char *line = NULL;
	size_t cap = 0;
	int yes = 0;

	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (getline(&line, &cap, stdin) != -1)
		yes = strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 ||
		    strcmp(line, "Y\n") == 0;
	free(line);
	return yes;
}

int
cmd_remove(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"purge", no_argument, NULL, 'p'},
	    {"yes", no_argument, NULL, 'y'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char q[512], b[SIZE_FMT_LEN];
	struct account *a = NULL, **list = NULL;
	struct ledger_set *set = NULL;
	size_t n = 0, i;
	uint64_t bytes = 0;
	int ch, rc, fd, purge = 0, yes = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":pyh", opts)) != -1) {
		switch (ch) {
		case 'p':
			purge = 1;
			break;
		case 'y':
			yes = 1;
			break;
		case CLI_OPT_HELP:
			return cli_help(c);
		default:
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_err(c,
		    argc - optind == 0 ? "an account name is required"
				       : "one account name only");
	if (purge && !yes && !isatty(STDIN_FILENO))
		return cli_usage_err(c,
		    "--purge deletes files: add --yes to "
		    "confirm");
	if (cli_open(c) != CLI_OK || cli_account(c, argv[optind], &a) != CLI_OK)
		goto out;
	if (a->is_main) {
		cli_err(c, "'%s' is the main account and cannot be removed",
		    a->name);
		goto out;
	}
	if (purge) {
		if (strcmp(a->folder, "/") == 0) {
			cli_err(c,
			    "will not purge the store root; nothing "
			    "removed");
			goto out;
		}
		if ((rc = store_account_list(c->st, &list, &n)) != 0) {
			cli_err(c, "cannot read the accounts: %s",
			    cli_strerror(rc));
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (list[i]->id == a->id ||
			    !folder_contains(a->folder, list[i]->folder))
				continue;
			cli_err(c,
			    "folder %s is used by account '%s'%s; "
			    "nothing removed (drop --purge to keep "
			    "the folder)",
			    a->folder, list[i]->name,
			    strcmp(a->folder, list[i]->folder) == 0
				? ""
				: " (inside it)");
			goto out;
		}
		/* The folder must be inside the tree (or already gone). */
		if ((rc = folder_open(c->info.root, a->folder, 0, &fd)) == 0)
			close(fd);
		else if (rc != COF_ENOENT) {
			cli_err(c, "will not purge %s: %s; nothing removed",
			    a->folder,
			    rc == COF_EPERM ? "it leads outside the store"
				: rc == COF_EINVAL ? "it is not a folder"
						   : cli_strerror(rc));
			goto out;
		}
		snprintf(q, sizeof(q),
		    "remove account '%s' and delete %s%s "
		    "with everything in it?",
		    a->name, c->info.root, a->folder);
		if (!yes && !confirm(q)) {
			cli_err(c, "nothing removed");
			goto out;
		}
	}
	if ((rc = store_account_remove(c->st, a->name)) != 0) {
		store_refusal(c, a, rc);
		goto out;
	}
	log_info("removed account '%s' (folder %s%s)", a->name, a->folder,
	    purge ? ", purged" : ", kept");
	printf("removed account '%s'\n", a->name);
	if (cli_sync(c) != CLI_OK)
		goto out;
	if (!purge) {
		printf("folder %s kept on disk\n", a->folder);
		ret = CLI_OK;
		goto out;
	}
	/* Asked again now the account is gone: an account added meanwhile
	 * (another admin, during the prompt) keeps the folder. */
	account_list_free(list, n);
	list = NULL;
	n = 0;
	if ((rc = store_account_list(c->st, &list, &n)) != 0) {
		cli_err(c, "account removed; folder %s kept: cannot read the "
		    "accounts: %s", a->folder, cli_strerror(rc));
		goto out;
	}
	for (i = 0; i < n; i++)
		if (folder_contains(a->folder, list[i]->folder)) {
			cli_err(c, "account removed; folder %s kept: account "
			    "'%s' now uses it", a->folder, list[i]->name);
			goto out;
		}
	rc = purge_folder(c, a->folder, &bytes);
	/* Whatever went, the ledger learns about it. */
	if (bytes > 0 && (set = calloc(1, sizeof(*set))) != NULL &&
	    ledger_lookup(c->lg, a->folder, set) == 0)
		ledger_charge(c->lg, set,
		    bytes > INT64_MAX ? -INT64_MAX : -(int64_t)bytes, NULL);
	if (rc != 0) {
		cli_err(c, "account removed, but deleting %s%s failed: %s",
		    c->info.root, a->folder, cli_strerror(rc));
		goto out;
	}
	printf("deleted folder %s (%s)\n", a->folder, size_format(bytes, b));
	ret = CLI_OK;
out:
	free(set);
	account_list_free(list, n);
	account_free(a);
	return ret;
}
