/*
 * cli.h — the admin CLI `coffer`: what every command file shares.
 *
 * main.c parses the global options, finds the command in its table and
 * calls its handler with the command's own argv (argv[0] is the command
 * name).  A handler parses its options with cli_getopt(), validates
 * everything it can before touching the store, then opens the store with
 * cli_open() and makes its change.
 *
 * Return conventions:
 *   - command handlers (cmd_*) return an exit status: CLI_OK, CLI_FAIL or
 *     CLI_USAGE; they print their one error line themselves;
 *   - helpers named cli_* return CLI_* as well when they print the error
 *     themselves (the caller just propagates the status), and say so;
 *   - other helpers return 0 or a negative COF_E* code and print nothing.
 *
 * Output: results on stdout, errors and warnings on stderr, one line each,
 * prefixed "coffer: CMD: ".  Nothing here ever prints a password or a hash.
 */
#ifndef COFFER_CLI_H
#define COFFER_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "ledger.h"
#include "pubkey.h"
#include "store.h"

#ifndef COFFER_VERSION
#define COFFER_VERSION "0.1.0"
#endif

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* cli_getopt() results besides option characters and -1. */
#define CLI_OPT_HELP 'h'
#define CLI_OPT_ERR '?'

struct cli_cmd;

/* One run of the program; passed explicitly, no globals. */
struct cli {
	const char *conf_path;	   /* -c FILE, or NULL ($COFFER_CONF) */
	const struct cli_cmd *cmd; /* the command being run */
	const char *label;	   /* its name in messages ("key add") */
	struct config *cfg;	   /* loaded by cli_open() */
	struct store *st;	   /* open database, or NULL */
	struct store_info info;	   /* store settings, valid after cli_open */
	struct ledger *lg;	   /* usage ledger, or NULL */
};

/* One row of the command table (main.c). */
struct cli_cmd {
	const char *name; /* "add" */
	int (*run)(struct cli *c, int argc, char **argv);
	const char *synopsis; /* one line, without "coffer " */
	const char *summary;  /* one line for `coffer --help` */
	const char *help;     /* the options, printed by CMD --help */
};

/* Messages: "coffer: LABEL: ..." on stderr, one line. */
void cli_err(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_warn(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cof_strerror(), pointing at syslog for the details of COF_EDB. */
const char *cli_strerror(int rc);
/* Prints the usage error line and returns CLI_USAGE. */
int cli_usage_err(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the current command's help on stdout; returns CLI_OK. */
int cli_help(struct cli *c);

/*
 * getopt_long() with our messages: returns an option character, -1 at
 * the end, CLI_OPT_HELP for -h/--help (handled by the caller), or
 * CLI_OPT_ERR after printing the usage error line.  optstring must start
 * with ':' and hold 'h'; longopts must hold {"help", no_argument, NULL,
 * 'h'} and end with a zero row.  getopt's state is reset whenever argv
 * differs from the previous call's (each command parses its own argv).
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *optstring,
    const struct option *longopts);

/*
 * Loads the configuration and opens the existing store (database, its
 * settings, the ledger — created and filled if missing).  Prints the
 * error and returns CLI_FAIL; CLI_OK when everything is open.
 */
int cli_open(struct cli *c);
/* Loads the configuration only (for init).  CLI_OK or CLI_FAIL. */
int cli_load_config(struct cli *c);
/* Closes whatever is open. */
void cli_close(struct cli *c);

/*
 * Looks up an account by name (any case).  Prints "no account 'x'" and
 * returns CLI_FAIL if it does not exist.
 */
int cli_account(struct cli *c, const char *name, struct account **out);

/* Parsers for option values: 0 or COF_EINVAL/COF_ERANGE; print nothing. */
int cli_parse_size(const char *s, uint64_t *out); /* also "none" = 0 */
int cli_parse_u32(const char *s, uint32_t *out);
/* "YYYY-MM-DD": the account works through that day (UTC); "never" = 0. */
int cli_parse_date(const char *s, int64_t *out);
int cli_email_ok(const char *s); /* 1 if plausible ("" is not) */

/*
 * Password from stdin: one line, "\n"/"\r\n" stripped.  interactive != 0
 * (stdin is a terminal) prompts twice without echo and requires both to
 * match.  Prints the error and returns CLI_FAIL; on CLI_OK *hash is the
 * encoded hash (caller frees).  The clear text is wiped before return.
 */
int cli_password(struct cli *c, int interactive, char **hash);

/*
 * Reads public keys, one per line, from path ("-" = stdin); blank lines
 * and "#" comments are skipped.  Each line must parse and no fingerprint
 * may appear twice.  Prints the error (with the line number) and returns
 * CLI_FAIL; CLI_OK with *keys (free with cli_keys_free) and *n >= 1.
 */
int cli_read_keys(
    struct cli *c, const char *path, struct pubkey ***keys, size_t *n);
void cli_keys_free(struct pubkey **keys, size_t n);

/*
 * An account folder about to be used: normalised, checked inside the
 * tree, created if missing.  cli_folder_prepare() prints the error and
 * returns CLI_FAIL (nothing created) or CLI_OK; cli_folder_undo() removes
 * the directories prepare created (if they are still empty).
 */
struct cli_folder {
	char *path;	/* normal form, malloc'd */
	size_t created; /* components made by prepare (from the deepest) */
};
int cli_folder_prepare(struct cli *c, const char *in, struct cli_folder *f);
void cli_folder_undo(struct cli *c, struct cli_folder *f);
void cli_folder_clear(struct cli_folder *f);
/*
 * 1 and the ids when folders the CLI makes must be given to the service
 * user (running as root with `user` set), else 0 (a missing user is
 * warned about).  Folders made by cli_folder_prepare are given already.
 */
int cli_service_owner(struct cli *c, uid_t *uid, gid_t *gid);

/*
 * Makes the ledger match the accounts in the database (ledger_sync).
 * Prints the error and returns CLI_FAIL, or CLI_OK.
 */
int cli_sync(struct cli *c);

/* Usage figures of one folder (normal form). */
struct cli_usage {
	uint64_t used;	    /* bytes under the folder */
	uint64_t limit;	    /* the folder's own tracked limit, 0 = none */
	uint64_t available; /* min(limit - used) over it and its parents,
			       or free disk space when nothing limits it */
};
int cli_folder_usage(struct cli *c, const char *folder, struct cli_usage *u);

/* Display helpers. */
const char *cli_state(const struct account *a); /* active/disabled/expired */
/* "2025-12-31 00:00:00 UTC" into buf (32 bytes); "never" for 0. */
char *cli_time(int64_t t, char *buf, size_t len);
/* Last day an expiry date allows, "YYYY-MM-DD", into buf. */
char *cli_expiry(int64_t t, char *buf, size_t len);
/* Writes s as a JSON string (with quotes) to fp. */
void cli_json_str(FILE *fp, const char *s);

/* The commands (cmd_*.c). */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_add(struct cli *c, int argc, char **argv);
int cmd_set(struct cli *c, int argc, char **argv);
int cmd_show(struct cli *c, int argc, char **argv);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_remove(struct cli *c, int argc, char **argv);
int cmd_passwd(struct cli *c, int argc, char **argv);
int cmd_key(struct cli *c, int argc, char **argv);
int cmd_usage(struct cli *c, int argc, char **argv);
int cmd_rescan(struct cli *c, int argc, char **argv);
int cmd_store(struct cli *c, int argc, char **argv);

#endif
