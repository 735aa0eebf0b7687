/*
 * cli.c — helpers every `coffer` command shares: messages, option
 * parsing, opening the store, value parsers, passwords and keys from
 * stdin or files, account folders, usage figures and JSON strings.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "folder.h"
#include "log.h"
#include "password.h"
#include "size.h"

#define KEYS_MAX 256	       /* keys read from one file */
#define PASSWORD_LINE_MAX 4096 /* longer lines are refused unread */

static void vmsg(struct cli *c, const char *kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vmsg(struct cli *c, const char *kind, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "coffer: ");
	if (c != NULL && c->label != NULL)
		fprintf(stderr, "%s: ", c->label);
	if (kind != NULL)
		fprintf(stderr, "%s: ", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_err(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, NULL, fmt, ap);
	va_end(ap);
}

void
cli_warn(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "warning", fmt, ap);
	va_end(ap);
}

const char *
cli_strerror(int rc)
{
	if (rc == COF_EDB)
		return "database error (details in the system log)";
	return cof_strerror(rc);
}

int
cli_usage_err(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	const char *name = c->cmd != NULL ? c->cmd->name : NULL;

	fflush(stdout);
	fprintf(stderr, "coffer: ");
	if (c->label != NULL)
		fprintf(stderr, "%s: ", c->label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (name != NULL)
		fprintf(stderr, " (see 'coffer %s --help')", name);
	fputc('\n', stderr);
	return CLI_USAGE;
}

int
cli_help(struct cli *c)
{
	printf("usage: coffer [-c FILE] %s\n\n%s.\n\n%s", c->cmd->synopsis,
	    c->cmd->summary, c->cmd->help);
	printf("  -h, --help          this help\n");
	return CLI_OK;
}

/* getopt keeps its state in globals; restart it for each new argv. */
static char **getopt_argv;

int
cli_getopt(struct cli *c, int argc, char **argv, const char *optstring,
    const struct option *longopts)
{
	int ch;

	if (argv != getopt_argv) {
		getopt_argv = argv;
		optind = 0;
	}
	opterr = 0;
	ch = getopt_long(argc, argv, optstring, longopts, NULL);
	switch (ch) {
	case ':':
		cli_usage_err(c, "option '%s' needs a value", argv[optind - 1]);
		return CLI_OPT_ERR;
	case '?':
		if (optopt != 0 && optind > 0 &&
		    strncmp(argv[optind - 1], "--", 2) != 0)
			cli_usage_err(c, "unknown option '-%c'", optopt);
		else
			cli_usage_err(
			    c, "unknown option '%s'", argv[optind - 1]);
		return CLI_OPT_ERR;
	default:
		return ch;
	}
}

int
cli_load_config(struct cli *c)
{
	char errbuf[512];
	int rc;

	if (c->cfg != NULL)
		return CLI_OK;
	errbuf[0] = '\0';
	if ((rc = config_load(c->conf_path, &c->cfg, errbuf, sizeof(errbuf))) !=
	    0) {
		cli_err(c, "%s", errbuf[0] ? errbuf : cli_strerror(rc));
		return CLI_FAIL;
	}
	/*
	 * stderr carries the CLI's own one-line messages; the core's log
	 * lines (the details behind a database error) and the record of
	 * every change go to syslog.
	 */
	log_init("coffer", 1, (enum log_level)c->cfg->log_level);
	log_context("uid=%ld", (long)getuid());
	return CLI_OK;
}

static void
no_store(struct cli *c)
{
	cli_err(c, "no store at %s; run 'coffer init' first", c->cfg->database);
}

int
cli_open(struct cli *c)
{
	struct stat sb;
	char *lpath = NULL;
	int rc, existed, ret = CLI_FAIL;

	if (cli_load_config(c) != CLI_OK)
		return CLI_FAIL;
	if (stat(c->cfg->database, &sb) == -1) {
		if (errno == ENOENT)
			no_store(c);
		else
			cli_err(c, "%s: %s", c->cfg->database, strerror(errno));
		goto out;
	}
	if ((rc = store_open(c->cfg->database, 0, &c->st)) != 0) {
		if (rc == COF_ENOENT)
			no_store(c);
		else if (rc == COF_ESCHEMA)
			cli_err(c,
			    "%s: not a database this coffer can use "
			    "(made by a newer Coffer, or not Coffer's)",
			    c->cfg->database);
		else
			cli_err(c, "%s: cannot open the database: %s",
			    c->cfg->database, cli_strerror(rc));
		goto out;
	}
	if ((rc = store_info_get(c->st, &c->info)) != 0) {
		if (rc == COF_ESCHEMA)
			no_store(c);
		else
			cli_err(c, "cannot read the store settings: %s",
			    cli_strerror(rc));
		goto out;
	}
	if ((lpath = ledger_path_for(c->cfg->database)) == NULL) {
		cli_err(c, "%s", cli_strerror(COF_ENOMEM));
		goto out;
	}
	existed = stat(lpath, &sb) == 0;
	if ((rc = ledger_open(lpath, 1, &c->lg)) != 0) {
		cli_err(c, "%s: cannot open the usage ledger: %s", lpath,
		    cli_strerror(rc));
		goto out;
	}
	if (!existed || !ledger_filled(c->lg)) {
		/* A new ledger (or one made anew after an upgrade) knows
		 * nothing yet: fill it from disk. */
		if (cli_sync(c) != CLI_OK)
			goto out;
		if ((rc = ledger_rescan(c->lg, c->info.root, NULL)) != 0) {
			cli_err(c, "cannot scan %s: %s", c->info.root,
			    cli_strerror(rc));
			goto out;
		}
	}
	ret = CLI_OK;
out:
	free(lpath);
	return ret;
}

void
cli_close(struct cli *c)
{
	if (c->lg != NULL)
		ledger_close(c->lg);
	c->lg = NULL;
	store_info_clear(&c->info);
	memset(&c->info, 0, sizeof(c->info));
	if (c->st != NULL)
		store_close(c->st);
	c->st = NULL;
	config_free(c->cfg);
	c->cfg = NULL;
}

int
cli_account(struct cli *c, const char *name, struct account **out)
{
	int rc;

	if ((rc = store_account_get(c->st, name, out)) == 0)
		return CLI_OK;
	if (rc == COF_ENOENT)
		cli_err(c, "no account '%s'", name);
	else
		cli_err(
		    c, "cannot read account '%s': %s", name, cli_strerror(rc));
	return CLI_FAIL;
}

int
cli_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	int rc;

	if (strcmp(s, "none") == 0) {
		*out = 0;
		return 0;
	}
	if ((rc = size_parse(s, &v)) != 0)
		return rc;
	/* The database keeps sizes as signed 64-bit integers. */
	if (v > INT64_MAX)
		return COF_ERANGE;
	*out = v;
	return 0;
}

int
cli_parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return COF_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return COF_EINVAL;
	if (errno == ERANGE || v > UINT32_MAX)
		return COF_ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return COF_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
cli_parse_date(const char *s, int64_t *out)
{
	struct tm tm, back;
	int y, m, d;
	time_t t;

	if (strcmp(s, "never") == 0) {
		*out = 0;
		return 0;
	}
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) ||
	    digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
		return COF_EINVAL;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return COF_ERANGE;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	/* timegm() normalises 02-30 into March: refuse such dates. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != y - 1900 || back.tm_mon != m - 1 ||
	    back.tm_mday != d)
		return COF_ERANGE;
	/* Works through that day: expires at 00:00 UTC the day after. */
	*out = (int64_t)t + 86400;
	return 0;
}

int
cli_email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p;
	size_t len = strlen(s);

	if (len < 3 || len > 254 || at == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || (size_t)(at - s) > 64)
		return 0;
	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),:;<>[\\]", ch))
			return 0;
	}
	p = at + 1;
	if (*p == '.' || s[len - 1] == '.' || strchr(p, '.') == NULL ||
	    strstr(p, "..") != NULL)
		return 0;
	return 1;
}

/*
 * One line from fp into a malloc'd buffer, "\n" and "\r" stripped.
 * Returns 0, COF_ENOENT at end of input, COF_EINVAL for a NUL byte or a
 * line longer than max.  The buffer is wiped on every error.
 */
static int
read_secret_line(FILE *fp, size_t max, char **out)
{
	char *buf = NULL;
	size_t cap = 0, len;
	ssize_t n;
	int rc = COF_ENOENT;

	errno = 0;
	if ((n = getline(&buf, &cap, fp)) == -1) {
		if (errno == ENOMEM)
			rc = COF_ENOMEM;
		goto out;
	}
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	rc = COF_EINVAL;
	if (strlen(buf) != len || len > max)
		goto out;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	return rc;
}

/* The terminal state to restore if a signal arrives while echo is off. */
static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

static void
restore_tty(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Prompts on stderr and reads one line from the terminal without echo. */
static int
prompt_noecho(const char *prompt, char **out)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios tio;
	size_t i;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		return COF_EIO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)ECHO;
	tio.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	echo_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) == -1) {
		echo_off = 0;
		rc = COF_EIO;
	} else {
		rc = read_secret_line(stdin, PASSWORD_LINE_MAX, out);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		echo_off = 0;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	return rc;
}

int
cli_password(struct cli *c, int interactive, char **hash)
{
	char *pw = NULL, *again = NULL, *h = NULL;
	int rc, ret = CLI_FAIL;

	if (interactive) {
		rc = prompt_noecho("New password: ", &pw);
		if (rc == 0)
			rc = prompt_noecho("Retype new password: ", &again);
	} else
		rc = read_secret_line(stdin, PASSWORD_LINE_MAX, &pw);
	if (rc == COF_ENOENT) {
		cli_err(c, "no password given on %s",
		    interactive ? "the terminal" : "stdin");
		goto out;
	} else if (rc == COF_EINVAL) {
		cli_err(c,
		    "password refused: it holds a NUL byte or is "
		    "longer than 1024 bytes");
		goto out;
	} else if (rc != 0) {
		cli_err(c, "cannot read the password: %s", cli_strerror(rc));
		goto out;
	}
	if (again != NULL && strcmp(pw, again) != 0) {
		cli_err(c, "the passwords do not match; nothing changed");
		goto out;
	}
	if (*pw == '\0') {
		cli_err(c, "empty password refused");
		goto out;
	}
	if ((rc = password_hash(pw, &h)) != 0) {
		if (rc == COF_EINVAL)
			cli_err(c, "password refused: longer than 1024 bytes");
		else
			cli_err(c, "cannot hash the password: %s",
			    cli_strerror(rc));
		goto out;
	}
	*hash = h;
	h = NULL;
	ret = CLI_OK;
out:
	secret_free(pw);
	secret_free(again);
	secret_free(h);
	return ret;
}

void
cli_keys_free(struct pubkey **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		pubkey_free(keys[i]);
	free(keys);
}

int
cli_read_keys(
    struct cli *c, const char *path, struct pubkey ***keys, size_t *nkeys)
{
	const char *src = strcmp(path, "-") == 0 ? "stdin" : path;
	struct pubkey **list = NULL, **grown, *k = NULL;
	FILE *fp = NULL;
	char *line = NULL, *p, errbuf[256];
	size_t cap = 0, n = 0, alloc = 0, lineno = 0, i;
	ssize_t len;
	int rc, ret = CLI_FAIL;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "re")) == NULL) {
		cli_err(c, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (strlen(line) != (size_t)len) {
			cli_err(
			    c, "%s:%zu: NUL byte in a key line", src, lineno);
			goto out;
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
			continue;
		if (strncmp(p, "-----BEGIN", 10) == 0) {
			cli_err(c,
			    "%s:%zu: this is a private key; give the "
			    "public one (.pub)",
			    src, lineno);
			goto out;
		}
		errbuf[0] = '\0';
		if ((rc = pubkey_parse(p, &k, errbuf, sizeof(errbuf))) != 0) {
			cli_err(c, "%s:%zu: malformed key: %s", src, lineno,
			    errbuf[0] ? errbuf : cli_strerror(rc));
			goto out;
		}
		for (i = 0; i < n; i++)
			if (strcmp(list[i]->fingerprint, k->fingerprint) == 0)
				break;
		if (i < n) {
			cli_err(c,
			    "%s:%zu: duplicate key %s (also on an "
			    "earlier line)",
			    src, lineno, k->fingerprint);
			goto out;
		}
		if (n == alloc) {
			if (alloc == KEYS_MAX) {
				cli_err(
				    c, "%s: more than %d keys", src, KEYS_MAX);
				goto out;
			}
			alloc = alloc == 0 ? 4 : alloc * 2;
			if (alloc > KEYS_MAX)
				alloc = KEYS_MAX;
			grown = reallocarray(list, alloc, sizeof(*list));
			if (grown == NULL) {
				cli_err(c, "%s", cli_strerror(COF_ENOMEM));
				goto out;
			}
			list = grown;
		}
		list[n++] = k;
		k = NULL;
	}
	if (ferror(fp)) {
		cli_err(c, "%s: read error", src);
		goto out;
	}
	if (n == 0) {
		cli_err(c, "%s: no public key found", src);
		goto out;
	}
	*keys = list;
	*nkeys = n;
	list = NULL;
	n = 0;
	ret = CLI_OK;
out:
	pubkey_free(k);
	cli_keys_free(list, n);
	free(line);
	if (fp != NULL && fp != stdin)
		fclose(fp);
	return ret;
}

/* Number of components of a normal-form folder ("/" has none). */
static size_t
components(const char *folder)
{
	size_t n = 0;

	if (strcmp(folder, "/") == 0)
		return 0;
	for (; *folder != '\0'; folder++)
		if (*folder == '/')
			n++;
	return n;
}

/* The first depth components of folder, as a malloc'd normal form. */
static char *
prefix(const char *folder, size_t depth)
{
	const char *p = folder;
	size_t i;

	if (depth == 0)
		return strdup("/");
	for (i = 0; i < depth && *p != '\0'; i++)
		for (p++; *p != '\0' && *p != '/'; p++)
			;
	return strndup(folder, (size_t)(p - folder));
}

static void
folder_error(struct cli *c, const char *folder, int rc)
{
	switch (rc) {
	case COF_EINVAL:
		cli_err(c, "folder '%s': a part of it is a file, not a folder",
		    folder);
		break;
	case COF_EPERM:
		cli_err(
		    c, "folder '%s' leads outside the store (symlink)", folder);
		break;
	case COF_ENOENT:
		cli_err(c, "store root %s is missing", c->info.root);
		break;
	default:
		cli_err(c, "folder '%s': %s", folder, cli_strerror(rc));
		break;
	}
}

/*
 * Calls fn(parent fd, name, arg) for each component prepare created,
 * deepest first; stops at the first non-zero return.
 */
static int
each_created(struct cli *c, const struct cli_folder *f,
    int (*fn)(int, const char *, void *), void *arg)
{
	char *self = NULL, *parent = NULL;
	size_t ncomp, i;
	int fd, rc = 0;

	if (f->path == NULL)
		return 0;
	ncomp = components(f->path);
	for (i = 0; i < f->created && i < ncomp && rc == 0; i++) {
		free(self);
		free(parent);
		self = prefix(f->path, ncomp - i);
		parent = prefix(f->path, ncomp - i - 1);
		if (self == NULL || parent == NULL) {
			rc = COF_ENOMEM;
			break;
		}
		if ((rc = folder_open(c->info.root, parent, 0, &fd)) != 0)
			break;
		rc = fn(fd, strrchr(self, '/') + 1, arg);
		close(fd);
	}
	free(self);
	free(parent);
	return rc;
}

static int
remove_empty(int pfd, const char *name, void *arg)
{
	/* Only an empty directory goes: never anything else. */
	if (unlinkat(pfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		return COF_EIO;
	return 0;
}

void
cli_folder_undo(struct cli *c, struct cli_folder *f)
{
	each_created(c, f, remove_empty, NULL);
	f->created = 0;
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int
give(int pfd, const char *name, void *arg)
{
	const struct owner *o = arg;

	if (fchownat(pfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) == -1)
		return COF_EIO;
	return 0;
}

int
cli_service_owner(struct cli *c, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (geteuid() != 0 || c->cfg == NULL || c->cfg->user == NULL ||
	    c->cfg->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(c->cfg->user)) == NULL) {
		cli_warn(c,
		    "service user '%s' (setting 'user') does not "
		    "exist; new folders stay owned by root",
		    c->cfg->user);
		return 0;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 1;
}

/* Folders made by root belong to the service user the gateway runs as. */
static int
chown_created(struct cli *c, struct cli_folder *f)
{
	struct owner o;
	int rc;

	if (!cli_service_owner(c, &o.uid, &o.gid))
		return 0;
	if ((rc = each_created(c, f, give, &o)) != 0)
		cli_err(c, "cannot give %s to user '%s': %s", f->path,
		    c->cfg->user, cli_strerror(rc));
	return rc;
}

int
cli_folder_prepare(struct cli *c, const char *in, struct cli_folder *f)
{
	char *norm = NULL, *pre = NULL;
	size_t depth, ncomp;
	int fd = -1, rc, ret = CLI_FAIL;

	memset(f, 0, sizeof(*f));
	if ((rc = folder_normalize(in, &norm)) != 0) {
		if (rc == COF_EINVAL)
			cli_err(c,
			    "bad folder '%s': use a path inside the "
			    "store, like /team/docs (no '..', at most "
			    "%d bytes)",
			    in, FOLDER_MAX_LEN);
		else
			cli_err(c, "folder '%s': %s", in, cli_strerror(rc));
		goto out;
	}
	/* Find the deepest existing component, checking each on the way. */
	ncomp = components(norm);
	for (depth = 0; depth <= ncomp; depth++) {
		free(pre);
		if ((pre = prefix(norm, depth)) == NULL) {
			cli_err(c, "%s", cli_strerror(COF_ENOMEM));
			goto out;
		}
		rc = folder_open(c->info.root, pre, 0, &fd);
		if (rc == COF_ENOENT && depth > 0)
			break;
		if (rc != 0) {
			folder_error(c, norm, rc);
			goto out;
		}
		close(fd);
		fd = -1;
	}
	if (depth <= ncomp) {
		if ((rc = folder_open(c->info.root, norm, 1, &fd)) != 0) {
			folder_error(c, norm, rc);
			/* Take back whatever was made before the failure. */
			f->path = norm;
			f->created = ncomp - depth + 1;
			norm = NULL;
			cli_folder_undo(c, f);
			cli_folder_clear(f);
			goto out;
		}
		close(fd);
		fd = -1;
		f->created = ncomp - depth + 1;
	}
	f->path = norm;
	norm = NULL;
	if (chown_created(c, f) != 0) {
		cli_folder_undo(c, f);
		cli_folder_clear(f);
		goto out;
	}
	ret = CLI_OK;
out:
	if (fd != -1)
		close(fd);
	free(pre);
	free(norm);
	return ret;
}

void
cli_folder_clear(struct cli_folder *f)
{
	free(f->path);
	f->path = NULL;
	f->created = 0;
}

int
cli_sync(struct cli *c)
{
	struct account **list = NULL;
	size_t n = 0;
	int rc;

	if ((rc = store_account_list(c->st, &list, &n)) == 0)
		rc = ledger_sync(c->lg, c->info.root, c->info.size, list, n);
	account_list_free(list, n);
	if (rc != 0) {
		cli_err(c,
		    "cannot update the usage ledger: %s (run 'coffer "
		    "rescan')",
		    cli_strerror(rc));
		return CLI_FAIL;
	}
	return CLI_OK;
}

int
cli_folder_usage(struct cli *c, const char *folder, struct cli_usage *u)
{
	struct ledger_set *set = NULL;
	struct account **list = NULL;
	struct statvfs vfs;
	size_t n = 0;
	uint64_t used, limit, avail;
	int rc;

	rc = ledger_folder(c->lg, folder, &used, &limit);
	if (rc == COF_ENOENT) {
		/* Not tracked yet (another program changed the accounts). */
		if ((rc = store_account_list(c->st, &list, &n)) != 0 ||
		    (rc = ledger_sync(
			 c->lg, c->info.root, c->info.size, list, n)) != 0)
			goto out;
		rc = ledger_folder(c->lg, folder, &used, &limit);
	}
	if (rc != 0)
		goto out;
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		rc = COF_ENOMEM;
		goto out;
	}
	if ((rc = ledger_lookup(c->lg, folder, set)) != 0 ||
	    (rc = ledger_available(c->lg, set, &avail)) != 0)
		goto out;
	if (avail == LEDGER_UNLIMITED) {
		/* Nothing of ours limits it: the disk does. */
		if (statvfs(c->info.root, &vfs) == -1) {
			rc = COF_EIO;
			goto out;
		}
		avail = (uint64_t)vfs.f_bavail;
		if (vfs.f_frsize != 0 && avail > UINT64_MAX / vfs.f_frsize)
			avail = UINT64_MAX;
		else
			avail *= vfs.f_frsize;
	}
	u->used = used;
	u->limit = limit;
	u->available = avail;
out:
	free(set);
	account_list_free(list, n);
	return rc;
}

const char *
cli_state(const struct account *a)
{
	if (a->disabled)
		return "disabled";
	if (a->expires != 0 && a->expires <= (int64_t)time(NULL))
		return "expired";
	return "active";
}

char *
cli_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

char *
cli_expiry(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)(t - 1);

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
cli_json_str(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', fp);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', fp);
			fputc(*p++, fp);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(fp, "\\u%04x", *p++);
		} else if ((n = utf8_len(p)) == 0) {
			fputs("\\ufffd", fp);
			p++;
		} else {
			fwrite(p, 1, n, fp);
			p += n;
		}
	}
	fputc('"', fp);
}
