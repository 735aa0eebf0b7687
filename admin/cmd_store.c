/*
 * cmd_store.c — `coffer store`: shows or changes the store's settings
 * (total size S and the maximum number of sub-accounts).
 *
 * A new size below an account's quota, or a maximum below the number of
 * sub-accounts that exist, is refused; a size below what is already used
 * is allowed with a warning (writes are refused until usage drops).
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "size.h"

static int
show(struct cli *c, int json)
{
	char b1[SIZE_FMT_LEN], b2[SIZE_FMT_LEN], t[40];
	struct account **list = NULL;
	struct cli_usage u;
	size_t n = 0, subs;
	int rc;

	if ((rc = store_account_list(c->st, &list, &n)) != 0 ||
	    (rc = cli_folder_usage(c, "/", &u)) != 0) {
		cli_err(c, "cannot read the store: %s", cli_strerror(rc));
		account_list_free(list, n);
		return CLI_FAIL;
	}
	subs = n > 0 ? n - 1 : 0;
	if (json) {
		printf("{\"root\": ");
		cli_json_str(stdout, c->info.root);
		printf(", \"database\": ");
		cli_json_str(stdout, c->cfg->database);
		printf(",\n \"size\": %" PRIu64 ", \"used\": %" PRIu64
		       ", \"available\": %" PRIu64 ",\n \"sub_accounts\": %zu"
		       ", \"max_accounts\": %" PRIu32 ", \"created\": %" PRId64
		       "}\n",
		    c->info.size, u.used, u.available, subs,
		    c->info.max_accounts, c->info.created);
	} else {
		printf("root:          %s\n", c->info.root);
		printf("database:      %s\n", c->cfg->database);
		printf("size:          %s\n",
		    c->info.size == 0 ? "unlimited (disk only)"
				      : size_format(c->info.size, b1));
		printf("used:          %s\n", size_format(u.used, b1));
		printf("available:     %s\n", size_format(u.available, b2));
		if (c->info.max_accounts == 0)
			printf("sub-accounts:  %zu (no maximum)\n", subs);
		else
			printf("sub-accounts:  %zu of at most %" PRIu32 "\n",
			    subs, c->info.max_accounts);
		printf("created:       %s\n",
		    cli_time(c->info.created, t, sizeof(t)));
	}
	account_list_free(list, n);
	return CLI_OK;
}

int
cmd_store(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},
	    {"max-accounts", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char b1[SIZE_FMT_LEN], b2[SIZE_FMT_LEN];
	struct account **list = NULL;
	struct cli_usage u;
	size_t n = 0, i, subs;
	uint64_t size = 0;
	uint32_t maxacc = 0;
	int ch, rc, set_size = 0, set_max = 0, json = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":s:m:jh", opts)) != -1) {
		switch (ch) {
		case 's':
			if ((rc = cli_parse_size(optarg, &size)) != 0)
				return cli_usage_err(c, "--size '%s': %s",
				    optarg,
				    rc == COF_ERANGE
					? "too large"
					: "not a size (try 25G, 500M, 1.5T or "
					  "bytes)");
			set_size = 1;
			break;
		case 'm':
			if (cli_parse_u32(optarg, &maxacc) != 0)
				return cli_usage_err(c,
				    "--max-accounts '%s': "
				    "not a number from 0 to %" PRIu32,
				    optarg, UINT32_MAX);
			set_max = 1;
			break;
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
	if (json && (set_size || set_max))
		return cli_usage_err(c, "--json only shows the settings");
	if (cli_open(c) != CLI_OK)
		goto out;
	if (!set_size && !set_max) {
		ret = show(c, json);
		goto out;
	}
	if ((rc = store_account_list(c->st, &list, &n)) != 0) {
		cli_err(c, "cannot read the accounts: %s", cli_strerror(rc));
		goto out;
	}
	subs = n > 0 ? n - 1 : 0;
	if (set_size && size != 0)
		for (i = 0; i < n; i++)
			if (list[i]->quota > size) {
				cli_err(c,
				    "account '%s' has quota %s, above "
				    "the new size %s; lower it first",
				    list[i]->name,
				    size_format(list[i]->quota, b1),
				    size_format(size, b2));
				goto out;
			}
	if (set_max && maxacc != 0 && subs > maxacc) {
		cli_err(c,
		    "%zu sub-accounts exist, more than %" PRIu32
		    "; remove some first",
		    subs, maxacc);
		goto out;
	}
	if (set_size && (rc = store_set_size(c->st, size)) != 0) {
		cli_err(c, "cannot change the size: %s", cli_strerror(rc));
		goto out;
	}
	if (set_max && (rc = store_set_max_accounts(c->st, maxacc)) != 0) {
		cli_err(c, "cannot change the maximum: %s", cli_strerror(rc));
		goto out;
	}
	log_info("store settings: size %" PRIu64 ", max accounts %" PRIu32,
	    set_size ? size : c->info.size,
	    set_max ? maxacc : c->info.max_accounts);
	if (set_size) {
		c->info.size = size;
		printf("store size: %s\n",
		    size == 0 ? "unlimited (disk only)"
			      : size_format(size, b1));
	}
	if (set_max) {
		c->info.max_accounts = maxacc;
		if (maxacc == 0)
			printf("sub-accounts: no maximum\n");
		else
			printf("sub-accounts: at most %" PRIu32 "\n", maxacc);
	}
	if (cli_sync(c) != CLI_OK)
		goto out;
	if (set_size && size != 0 && cli_folder_usage(c, "/", &u) == 0 &&
	    u.used > size)
		cli_warn(c,
		    "the store uses %s, more than the new size %s; "
		    "writes will be refused until usage is below it",
		    size_format(u.used, b1), size_format(size, b2));
	ret = CLI_OK;
out:
	account_list_free(list, n);
	return ret;
}
