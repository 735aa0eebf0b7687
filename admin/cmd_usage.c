/*
 * cmd_usage.c — `coffer usage` (space used and available, from the
 * ledger) and `coffer rescan` (recompute usage from the disk).
 *
 * An account's available space is the smallest "limit - used" over its
 * own folder and every tracked folder containing it, "/" (the store size)
 * included — as the gateway will charge it.  When nothing limits it the
 * free space of the file system is shown.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "size.h"

struct urow {
	const struct account *a;
	struct cli_usage u;
};

static int
usage_of(struct cli *c, const char *folder, struct cli_usage *u)
{
	int rc;

	if ((rc = cli_folder_usage(c, folder, u)) != 0) {
		cli_err(c, "cannot read the usage of %s: %s", folder,
		    cli_strerror(rc));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static void
print_json(struct cli *c, const struct cli_usage *total, size_t naccts,
    const struct urow *rows, size_t n)
{
	size_t i;

	printf("{\"store\": {\"root\": ");
	cli_json_str(stdout, c->info.root);
	printf(", \"size\": %" PRIu64 ", \"used\": %" PRIu64
	       ", \"available\": %" PRIu64 ",\n"
	       "  \"sub_accounts\": %zu, \"max_accounts\": %" PRIu32 "},\n"
	       " \"accounts\": [",
	    c->info.size, total->used, total->available,
	    naccts > 0 ? naccts - 1 : 0, c->info.max_accounts);
	for (i = 0; i < n; i++) {
		printf("%s\n  {\"name\": ", i == 0 ? "" : ",");
		cli_json_str(stdout, rows[i].a->name);
		printf(", \"folder\": ");
		cli_json_str(stdout, rows[i].a->folder);
		printf(", \"quota\": %" PRIu64 ", \"limit\": %" PRIu64
		       ", \"used\": %" PRIu64 ", \"available\": %" PRIu64 "}",
		    rows[i].a->quota, rows[i].u.limit, rows[i].u.used,
		    rows[i].u.available);
	}
	printf("%s]}\n", n > 0 ? "\n " : "");
}

static void
print_human(struct cli *c, const struct cli_usage *total,
    const struct urow *rows, size_t n)
{
	char b1[SIZE_FMT_LEN], b2[SIZE_FMT_LEN], b3[SIZE_FMT_LEN];
	size_t i, wn = 4, wf = 6;

	printf("store %s: size %s, used %s, available %s\n", c->info.root,
	    c->info.size == 0 ? "unlimited" : size_format(c->info.size, b1),
	    size_format(total->used, b2), size_format(total->available, b3));
	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (strlen(rows[i].a->name) > wn)
			wn = strlen(rows[i].a->name);
		if (strlen(rows[i].a->folder) > wf)
			wf = strlen(rows[i].a->folder);
	}
	printf("\n%-*s  %-*s  %10s  %10s  %10s\n", (int)wn, "NAME", (int)wf,
	    "FOLDER", "USED", "QUOTA", "AVAILABLE");
	for (i = 0; i < n; i++)
		printf("%-*s  %-*s  %10s  %10s  %10s\n", (int)wn,
		    rows[i].a->name, (int)wf, rows[i].a->folder,
		    size_format(rows[i].u.used, b1),
		    rows[i].a->quota == 0 ? "-"
					  : size_format(rows[i].a->quota, b2),
		    size_format(rows[i].u.available, b3));
}

int
cmd_usage(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct account **list = NULL, *one = NULL;
	struct urow *rows = NULL;
	struct cli_usage total;
	size_t n = 0, nrows = 0, i;
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
	if (argc - optind > 1)
		return cli_usage_err(c, "one account name at most");
	if (cli_open(c) != CLI_OK)
		goto out;
	if (optind < argc && cli_account(c, argv[optind], &one) != CLI_OK)
		goto out;
	if ((rc = store_account_list(c->st, &list, &n)) != 0) {
		cli_err(c, "cannot read the accounts: %s", cli_strerror(rc));
		goto out;
	}
	if ((rows = calloc(n > 0 ? n : 1, sizeof(*rows))) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	if (usage_of(c, "/", &total) != CLI_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (one != NULL && list[i]->id != one->id)
			continue;
		rows[nrows].a = list[i];
		if (usage_of(c, list[i]->folder, &rows[nrows].u) != CLI_OK)
			goto out;
		nrows++;
	}
	if (json)
		print_json(c, &total, n, rows, nrows);
	else
		print_human(c, &total, rows, nrows);
	ret = CLI_OK;
out:
	free(rows);
	account_free(one);
	account_list_free(list, n);
	return ret;
}

/*
 * Rescans one folder (and the tracked folders inside it), then moves the
 * change onto the tracked folders containing it, whose totals include it.
 * Falls back to a full rescan when that change cannot be charged (the
 * new files pass a limit).
 */
static int
rescan_folder(struct cli *c, const char *folder)
{
	struct ledger_set *set = NULL;
	uint64_t before = 0, after = 0;
	char *parent = NULL;
	const char *slash;
	int64_t delta;
	int rc;

	if (strcmp(folder, "/") == 0)
		return ledger_rescan(c->lg, c->info.root, NULL);
	if ((rc = ledger_folder(c->lg, folder, &before, NULL)) != 0 ||
	    (rc = ledger_rescan(c->lg, c->info.root, folder)) != 0 ||
	    (rc = ledger_folder(c->lg, folder, &after, NULL)) != 0)
		goto out;
	if (after == before)
		goto out;
	slash = strrchr(folder, '/');
	parent = slash == folder ? strdup("/")
				 : strndup(folder, (size_t)(slash - folder));
	if (parent == NULL || (set = calloc(1, sizeof(*set))) == NULL) {
		rc = COF_ENOMEM;
		goto out;
	}
	if ((rc = ledger_lookup(c->lg, parent, set)) != 0)
		goto out;
	if (after > before) {
		delta = after - before > INT64_MAX ? INT64_MAX
						   : (int64_t)(after - before);
	} else {
		delta = before - after > INT64_MAX ? -INT64_MAX
						   : -(int64_t)(before - after);
	}
	rc = ledger_charge(c->lg, set, delta, NULL);
	if (rc == COF_EQUOTA)
		rc = ledger_rescan(c->lg, c->info.root, NULL);
out:
	free(set);
	free(parent);
	return rc;
}

int
cmd_rescan(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char b1[SIZE_FMT_LEN], b2[SIZE_FMT_LEN];
	struct account *a = NULL;
	struct cli_usage u, total;
	int ch, rc, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":h", opts)) != -1) {
		if (ch == CLI_OPT_HELP)
			return cli_help(c);
		return CLI_USAGE;
	}
	if (argc - optind > 1)
		return cli_usage_err(c, "one account name at most");
	if (cli_open(c) != CLI_OK)
		goto out;
	if (optind < argc && cli_account(c, argv[optind], &a) != CLI_OK)
		goto out;
	/* Make sure every account folder is tracked before scanning. */
	if (cli_sync(c) != CLI_OK)
		goto out;
	rc = a != NULL ? rescan_folder(c, a->folder)
		       : ledger_rescan(c->lg, c->info.root, NULL);
	if (rc != 0) {
		cli_err(c, "cannot scan %s%s: %s", c->info.root,
		    a != NULL && strcmp(a->folder, "/") != 0 ? a->folder : "",
		    cli_strerror(rc));
		goto out;
	}
	if (usage_of(c, "/", &total) != CLI_OK)
		goto out;
	if (a != NULL) {
		if (usage_of(c, a->folder, &u) != CLI_OK)
			goto out;
		printf("rescanned %s: '%s' uses %s; the store uses %s\n",
		    a->folder, a->name, size_format(u.used, b1),
		    size_format(total.used, b2));
	} else
		printf("rescanned %s: the store uses %s\n", c->info.root,
		    size_format(total.used, b1));
	ret = CLI_OK;
out:
	account_free(a);
	return ret;
}
