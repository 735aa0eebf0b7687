/*
 * main.c — `coffer`, the admin CLI: global options and dispatch.
 *
 *   coffer [-c FILE] COMMAND [ARGS...]
 *
 * One row per command below; each handler lives in a cmd_*.c file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd commands[] = {
    {"init", cmd_init,
	"init --root DIR --size SIZE --admin NAME [--max-accounts N] "
	"[--password-stdin]",
	"create the store: database, main account, tree root",
	"  --root DIR          the storage tree (created if missing)\n"
	"  --size SIZE         total space, e.g. 25G, 1.5T; 0 = disk only\n"
	"  --admin NAME        name of the main account (sees the whole "
	"tree)\n"
	"  --max-accounts N    sub-accounts allowed; 0 = unlimited "
	"(default)\n"
	"  --password-stdin    read the main account's password from "
	"stdin\n"},
    {"add", cmd_add,
	"add NAME [--folder PATH] [--quota SIZE] [--read-only] "
	"[--password-stdin] [--key FILE|-] [--email ADDR] "
	"[--expires DATE]",
	"add a sub-account",
	"  --folder PATH       its folder in the tree (default /NAME); "
	"created if missing\n"
	"  --quota SIZE        most its folder may hold; 0 or none = only "
	"the store's\n"
	"  --read-only         list and download only\n"
	"  --password-stdin    read its password (one line) from stdin\n"
	"  --key FILE|-        public keys, one per line (- = stdin)\n"
	"  --email ADDR        contact address\n"
	"  --expires DATE      last day it may log in (YYYY-MM-DD, UTC), "
	"or never\n"},
    {"list", cmd_list, "list [--json]", "list every account with its usage",
	"  --json              machine-readable, exact byte counts\n"},
    {"show", cmd_show, "show NAME [--json]", "show one account",
	"  --json              machine-readable, exact byte counts\n"},
    {"set", cmd_set,
	"set NAME [--quota SIZE] [--read-only|--read-write] "
	"[--folder PATH] [--disable|--enable] [--expires DATE|never] "
	"[--email ADDR]",
	"change an account",
	"  --quota SIZE        new quota; 0 or none = only the store's\n"
	"  --read-only         list and download only\n"
	"  --read-write        full access to its folder\n"
	"  --folder PATH       bind it to another folder (created if "
	"missing;\n"
	"                      the old one is kept on disk)\n"
	"  --disable           refuse its logins\n"
	"  --enable            allow its logins again\n"
	"  --expires DATE      last day it may log in (YYYY-MM-DD, UTC), "
	"or never\n"
	"  --email ADDR        contact address; \"\" clears it\n"},
    {"passwd", cmd_passwd, "passwd NAME [--stdin | --delete]",
	"set or delete an account's password",
	"  (no option)         prompt twice on the terminal, without echo\n"
	"  --stdin             read the password (one line) from stdin\n"
	"  --delete            remove the password (keys only)\n"},
    {"key", cmd_key,
	"key add NAME FILE|- | key list NAME [--json] | "
	"key remove NAME FINGERPRINT|INDEX",
	"manage an account's SSH public keys",
	"  key add NAME FILE|-       add the keys in FILE (- = stdin), one "
	"per line\n"
	"  key list NAME [--json]    list keys with index and fingerprint\n"
	"  key remove NAME FP|INDEX  remove by SHA256:... fingerprint or "
	"index\n"},
    {"remove", cmd_remove, "remove NAME [--purge] [--yes]",
	"remove a sub-account",
	"  --purge             also delete its folder and everything in it,\n"
	"                      unless another account uses the folder or "
	"one inside it\n"
	"  --yes               do not ask before --purge (required when "
	"stdin\n"
	"                      is not a terminal)\n"},
    {"usage", cmd_usage, "usage [NAME] [--json]",
	"space used and available, for the store and each account",
	"  --json              machine-readable, exact byte counts\n"},
    {"rescan", cmd_rescan, "rescan [NAME]",
	"recompute usage from what is on disk",
	"  NAME                only that account's folder (default: all)\n"},
    {"store", cmd_store, "store [--size SIZE] [--max-accounts N] [--json]",
	"show or change the store's settings",
	"  --size SIZE         new total space; 0 = disk only\n"
	"  --max-accounts N    sub-accounts allowed; 0 = unlimited\n"
	"  --json              machine-readable (when showing)\n"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: coffer [-c FILE] COMMAND [ARGS...]\n"
	    "       coffer --help | --version | COMMAND --help\n\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(
		    fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp,
	    "\n"
	    "  -c FILE  configuration file (default: $COFFER_CONF, "
	    "else built-in defaults)\n\n"
	    "exit status: 0 ok, 1 failure, 2 usage error\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cli c;
	size_t i;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.label = NULL;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.conf_path = optarg;
			break;
		case 'h':
			usage_all(stdout);
			return CLI_OK;
		case 'V':
			printf("coffer %s\n", COFFER_VERSION);
			return CLI_OK;
		case ':':
			fprintf(stderr, "coffer: option '%s' needs a value\n",
			    argv[optind - 1]);
			return CLI_USAGE;
		default:
			fprintf(stderr,
			    "coffer: unknown option '%s' (see 'coffer "
			    "--help')\n",
			    argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
		    "coffer: no command given (see 'coffer "
		    "--help')\n");
		return CLI_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == NCOMMANDS) {
		fprintf(stderr,
		    "coffer: unknown command '%s' (see 'coffer --help')\n",
		    argv[optind]);
		return CLI_USAGE;
	}
	c.cmd = &commands[i];
	c.label = commands[i].name;
	rc = commands[i].run(&c, argc - optind, argv + optind);
	cli_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(
		    stderr, "coffer: %s: cannot write the output\n", c.label);
		if (rc == CLI_OK)
			rc = CLI_FAIL;
	}
	return rc;
}
