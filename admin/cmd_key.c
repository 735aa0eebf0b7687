/*
 * cmd_key.c — `coffer key add|list|remove`: an account's SSH public keys.
 *
 * key add reads every key of the file first and refuses the whole file if
 * one line is malformed or already on the account, so a refused command
 * adds nothing.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "log.h"

static int
key_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct account *a = NULL;
	struct pubkey **keys = NULL;
	struct store_key *have = NULL;
	size_t nkeys = 0, nhave = 0, i, j, added = 0;
	int ch, rc, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":h", opts)) != -1) {
		if (ch == CLI_OPT_HELP)
			return cli_help(c);
		return CLI_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_err(c, "usage: key add NAME FILE|-");
	if (cli_open(c) != CLI_OK ||
	    cli_account(c, argv[optind], &a) != CLI_OK ||
	    cli_read_keys(c, argv[optind + 1], &keys, &nkeys) != CLI_OK)
		goto out;
	if ((rc = store_key_list(c->st, a->id, &have, &nhave)) != 0) {
		cli_err(c, "cannot read the keys of '%s': %s", a->name,
		    cli_strerror(rc));
		goto out;
	}
	for (i = 0; i < nkeys; i++)
		for (j = 0; j < nhave; j++)
			if (strcmp(keys[i]->fingerprint, have[j].fingerprint) ==
			    0) {
				cli_err(c,
				    "'%s' already has key %s; nothing "
				    "added",
				    a->name, keys[i]->fingerprint);
				goto out;
			}
	for (i = 0; i < nkeys; i++) {
		if ((rc = store_key_add(c->st, a->id, keys[i])) != 0) {
			cli_err(c,
			    "cannot add key %s to '%s': %s; nothing "
			    "added",
			    keys[i]->fingerprint, a->name, cli_strerror(rc));
			/* Take back the ones added before. */
			for (j = 0; j < added; j++)
				store_key_remove(
				    c->st, a->id, keys[j]->fingerprint);
			goto out;
		}
		added++;
	}
	for (i = 0; i < nkeys; i++)
		log_info("key %s %s added to '%s'", keys[i]->type,
		    keys[i]->fingerprint, a->name);
	for (i = 0; i < nkeys; i++)
		printf("added key %s %s%s%s to '%s'\n", keys[i]->type,
		    keys[i]->fingerprint, *keys[i]->comment ? " " : "",
		    keys[i]->comment, a->name);
	ret = CLI_OK;
out:
	store_key_list_free(have, nhave);
	cli_keys_free(keys, nkeys);
	account_free(a);
	return ret;
}

static int
key_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char t[40];
	struct account *a = NULL;
	struct store_key *keys = NULL;
	size_t n = 0, i;
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
	if (argc - optind != 1)
		return cli_usage_err(c, "usage: key list NAME [--json]");
	if (cli_open(c) != CLI_OK || cli_account(c, argv[optind], &a) != CLI_OK)
		goto out;
	if ((rc = store_key_list(c->st, a->id, &keys, &n)) != 0) {
		cli_err(c, "cannot read the keys of '%s': %s", a->name,
		    cli_strerror(rc));
		goto out;
	}
	if (json) {
		printf("[");
		for (i = 0; i < n; i++) {
			printf("%s\n  {\"index\": %zu, \"type\": ",
			    i == 0 ? "" : ",", i + 1);
			cli_json_str(stdout, keys[i].type);
			printf(", \"fingerprint\": ");
			cli_json_str(stdout, keys[i].fingerprint);
			printf(", \"comment\": ");
			cli_json_str(stdout,
			    keys[i].comment != NULL ? keys[i].comment : "");
			printf(", \"created\": %" PRId64 "}", keys[i].created);
		}
		printf("%s]\n", n > 0 ? "\n" : "");
	} else if (n == 0)
		printf("'%s' has no keys\n", a->name);
	else
		for (i = 0; i < n; i++)
			printf("%zu  %s  %s  %s  (added %s)\n", i + 1,
			    keys[i].type, keys[i].fingerprint,
			    keys[i].comment != NULL && *keys[i].comment
				? keys[i].comment
				: "-",
			    cli_time(keys[i].created, t, sizeof(t)));
	ret = CLI_OK;
out:
	store_key_list_free(keys, n);
	account_free(a);
	return ret;
}

static int
key_remove(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct account *a = NULL;
	struct store_key *keys = NULL;
	const char *which;
	size_t n = 0;
	int ch, rc, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":h", opts)) != -1) {
		if (ch == CLI_OPT_HELP)
			return cli_help(c);
		return CLI_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_err(
		    c, "usage: key remove NAME FINGERPRINT|INDEX");
	which = argv[optind + 1];
	if (cli_open(c) != CLI_OK || cli_account(c, argv[optind], &a) != CLI_OK)
		goto out;
	if ((rc = store_key_remove(c->st, a->id, which)) != 0) {
		if (rc == COF_ENOENT || rc == COF_EINVAL)
			cli_err(c,
			    "'%s' has no key '%s' (see 'coffer key list "
			    "%s')",
			    a->name, which, a->name);
		else
			cli_err(c, "cannot remove key '%s': %s", which,
			    cli_strerror(rc));
		goto out;
	}
	log_info("key %s removed from '%s'", which, a->name);
	printf("removed key %s from '%s'\n", which, a->name);
	if (a->password == NULL &&
	    store_key_list(c->st, a->id, &keys, &n) == 0 && n == 0)
		cli_err(c,
		    "note: '%s' has no password or key now and cannot "
		    "log in",
		    a->name);
	ret = CLI_OK;
out:
	store_key_list_free(keys, n);
	account_free(a);
	return ret;
}

int
cmd_key(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *label;
		int (*run)(struct cli *, int, char **);
	} acts[] = {
	    {"add", "key add", key_add},
	    {"list", "key list", key_list},
	    {"remove", "key remove", key_remove},
	};
	size_t i;

	if (argc < 2)
		return cli_usage_err(c, "add, list or remove?");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help(c);
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (strcmp(argv[1], acts[i].name) == 0) {
			c->label = acts[i].label;
			return acts[i].run(c, argc - 1, argv + 1);
		}
	return cli_usage_err(
	    c, "unknown action '%s' (add, list or remove)", argv[1]);
}
