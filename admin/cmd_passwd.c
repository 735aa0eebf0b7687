/*
 * cmd_passwd.c — `coffer passwd NAME`: sets or deletes a password.
 *
 * On a terminal it prompts twice without echo; --stdin reads one line
 * (for scripts).  Only the scrypt hash reaches the database; the clear
 * text is wiped as soon as it is hashed (cli_password).
 */
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "password.h"

int
cmd_passwd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"stdin", no_argument, NULL, 's'},
	    {"delete", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct account *a = NULL;
	char *hash = NULL, *old = NULL;
	int ch, rc, from_stdin = 0, del = 0, ret = CLI_FAIL;

	while ((ch = cli_getopt(c, argc, argv, ":sdh", opts)) != -1) {
		switch (ch) {
		case 's':
			from_stdin = 1;
			break;
		case 'd':
			del = 1;
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
	if (from_stdin && del)
		return cli_usage_err(c,
		    "--stdin and --delete exclude each "
		    "other");
	if (!from_stdin && !del && !isatty(STDIN_FILENO))
		return cli_usage_err(c,
		    "stdin is not a terminal; use --stdin "
		    "to read the password from it");
	if (cli_open(c) != CLI_OK || cli_account(c, argv[optind], &a) != CLI_OK)
		goto out;
	if (del) {
		if (a->password == NULL) {
			printf("account '%s' has no password\n", a->name);
			ret = CLI_OK;
			goto out;
		}
	} else if (cli_password(c, !from_stdin, &hash) != CLI_OK)
		goto out;
	old = a->password;
	a->password = hash;
	rc = store_account_update(c->st, a);
	a->password = old;
	if (rc != 0) {
		cli_err(c, "cannot change the password of '%s': %s", a->name,
		    cli_strerror(rc));
		goto out;
	}
	log_info("password of '%s' %s", a->name, del ? "deleted" : "changed");
	if (del)
		printf("password of '%s' deleted\n", a->name);
	else
		printf("password of '%s' changed\n", a->name);
	if (del) {
		struct store_key *keys = NULL;
		size_t n = 0;

		if (store_key_list(c->st, a->id, &keys, &n) == 0 && n == 0)
			cli_err(c,
			    "note: '%s' has no key either and cannot "
			    "log in",
			    a->name);
		store_key_list_free(keys, n);
	}
	ret = CLI_OK;
out:
	secret_free(hash);
	account_free(a);
	return ret;
}
