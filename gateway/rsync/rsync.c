/*
 * rsync.c — the rsync front end's entry point.
 *
 * rsync_main() serves one `rsync --server [--sender] ...` command line:
 * it splits the words (backslash escapes and quotes, as the remote shell
 * would), parses the options against one table — anything not in it is
 * refused with "rsync: option --xyz is not supported by this server" —,
 * reads the -s (protected) arguments, negotiates the protocol version,
 * the compatibility flags and the checksum, then hands over to the sender
 * (downloads, listings) or the receiver (uploads).  Errors are decided
 * where they happen (sess_fail); this file tells the client once and
 * returns rsync's exit status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "log.h"

const char *
rs_strerror(int err)
{
	switch (err) {
	case RS_OK:
		return "success";
	case RS_ENOMEM:
		return "out of memory";
	case RS_EPROTO:
		return "protocol error";
	case RS_EEOF:
		return "connection closed";
	case RS_EIO:
		return "connection failed";
	case RS_EFS:
		return "file system error";
	case RS_EABORT:
		return "aborted by the client";
	case RS_EUSAGE:
		return "unsupported options";
	case RS_EREFUSED:
		return "refused";
	}
	return "unknown error";
}

int
sess_fail(struct sess *s, int rc, int rerr, const char *fmt, ...)
{
	va_list ap;

	if (s->errmsg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
		va_end(ap);
		s->errcode = rerr;
	}
	return rc;
}

static void
tell(struct sess *s, int tag, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	io_msg(s, tag, buf, (size_t)n);
}

void
sess_xfer_error(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	s->xfer_errors++;
	va_start(ap, fmt);
	tell(s, MSG_ERROR_XFER, fmt, ap);
	va_end(ap);
}

void
sess_info(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tell(s, MSG_INFO, fmt, ap);
	va_end(ap);
}

void
sess_warn(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tell(s, MSG_WARNING, fmt, ap);
	va_end(ap);
}

int
path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n;

	if (*dir == '\0')
		n = snprintf(out, len, "%s", name);
	else if (strcmp(name, ".") == 0)
		n = snprintf(out, len, "%s", dir);
	else
		n = snprintf(out, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? RS_EPROTO : 0;
}

/*
 * An argument path ("~/x", "/x", "a//b/./c/") into its account form
 * ("x", "a/b/c"): no leading "/", no "." or empty components.  ".." is
 * refused: the account's folder is all there is.  A trailing "/" (or a
 * last "." component) is kept as a trailing "/" so the sender can tell
 * "dir/" from "dir".
 */
int
path_from_arg(struct sess *s, const char *arg, char *out, size_t len)
{
	const char *p = arg;
	size_t o = 0;
	int trail = 0;

	if (*p == '~') {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p - 1) : strlen(p + 1);

		if (n > 0 && (strlen(s->user) != n ||
		    strncmp(p + 1, s->user, n) != 0))
			return sess_fail(s, RS_EUSAGE, RERR_FILESELECT,
			    "~%.*s: only your own home (~) is served here",
			    (int)n, p + 1);
		p = e != NULL ? e : "/";
	}
	if (len < 2)
		return RS_EUSAGE;
	while (*p != '\0') {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			trail = 1;
			break;
		}
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return sess_fail(s, RS_EUSAGE, RERR_FILESELECT,
			    "\"%s\": \"..\" is not allowed: paths stay "
			    "within your folder", arg);
		if (n == 1 && p[0] == '.') {
			if (e == NULL)
				trail = 1;
		} else {
			if (o > 0)
				out[o++] = '/';
			if (o + n + 2 > len)
				return sess_fail(s, RS_EUSAGE, RERR_FILESELECT,
				    "path too long: %.100s", arg);
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (*arg == '\0' || o == 0)
		trail = 1;
	if (trail && o > 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/*
 * Splits a command line into words as a POSIX shell would for plain
 * words: blanks separate, backslash escapes, '...' and "..." quote.
 */
static int
split_words(const char *cmd, char ***out, int *nout)
{
	char **v = NULL, *w = NULL;
	size_t wl = 0, cl = strlen(cmd);
	int n = 0, inword = 0, rc = RS_ENOMEM;
	const char *p;

	if ((v = calloc(RS_ARGS_MAX + 1, sizeof(*v))) == NULL ||
	    (w = malloc(cl + 1)) == NULL)
		goto out;
	for (p = cmd;; p++) {
		char c = *p;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (inword) {
				if (n >= RS_ARGS_MAX) {
					rc = RS_EUSAGE;
					goto out;
				}
				w[wl] = '\0';
				if ((v[n++] = strdup(w)) == NULL)
					goto out;
				wl = 0;
				inword = 0;
			}
			if (c == '\0')
				break;
			continue;
		}
		inword = 1;
		if (c == '\\') {
			if (p[1] == '\0')
				break;
			if (p[1] != '\n')
				w[wl++] = p[1];
			p++;
		} else if (c == '\'') {
			for (p++; *p != '\0' && *p != '\''; p++)
				w[wl++] = *p;
			if (*p == '\0')
				p--;
		} else if (c == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0' &&
				    strchr("$`\"\\\n", p[1]) != NULL)
					p++;
				w[wl++] = *p;
			}
			if (*p == '\0')
				p--;
		} else
			w[wl++] = c;
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = 0;
out:
	if (v != NULL) {
		int i;

		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
	}
	free(w);
	return rc;
}

/* -- options ---------------------------------------------------------- */

enum optid {
	O_NONE, O_SERVER, O_SENDER, O_VERBOSE, O_QUIET, O_DRY, O_RECURSE,
	O_NO_R, O_DIRS, O_LINKS, O_PERMS, O_EXEC, O_TIMES, O_OMIT_DIR,
	O_OMIT_LINK, O_OWNER, O_GROUP, O_DEVICES, O_SPECIALS, O_NO_SPECIALS,
	O_HARD, O_CHECKSUM, O_SIZE_ONLY, O_IGN_TIMES, O_IGN_EXISTING,
	O_EXISTING, O_UPDATE, O_WHOLE, O_NO_WHOLE, O_INPLACE, O_PARTIAL,
	O_NUMERIC, O_LIST_ONLY, O_PROTECT, O_DELETE, O_DEL_BEFORE,
	O_DEL_DURING, O_DEL_AFTER, O_DEL_DELAY, O_DEL_EXCLUDED, O_FORCE,
	O_MAX_DELETE, O_IGN_ERRORS, O_SAFE_LINKS, O_ONE_FS, O_MKPATH,
	O_FSYNC, O_LOG_FORMAT, O_IGNORED, O_COMPRESS, O_NEW_COMPRESS,
	O_OLD_COMPRESS, O_COMPRESS_CHOICE,
	O_COMPRESS_LEVEL, O_MIN_SIZE, O_MAX_SIZE, O_BLOCK_SIZE,
	O_MODIFY_WINDOW, O_SEED, O_CSUM_CHOICE, O_BWLIMIT, O_CLIENT_INFO,
	O_SPARSE,
};

/* has_arg: 0 none, 1 required */
struct optdef {
	const char *name; /* long name, without "--" */
	char letter;      /* short form, or 0 */
	int has_arg;
	enum optid id;    /* O_NONE: known but not supported here */
};

static const struct optdef optdefs[] = {
	{ "server", 0, 0, O_SERVER },
	{ "sender", 0, 0, O_SENDER },
	{ "verbose", 'v', 0, O_VERBOSE },
	{ "quiet", 'q', 0, O_QUIET },
	{ "dry-run", 'n', 0, O_DRY },
	{ "recursive", 'r', 0, O_RECURSE },
	{ "no-r", 0, 0, O_NO_R },
	{ "no-recursive", 0, 0, O_NO_R },
	{ "dirs", 'd', 0, O_DIRS },
	{ "links", 'l', 0, O_LINKS },
	{ "perms", 'p', 0, O_PERMS },
	{ "executability", 'E', 0, O_EXEC },
	{ "times", 't', 0, O_TIMES },
	{ "omit-dir-times", 'O', 0, O_OMIT_DIR },
	{ "omit-link-times", 'J', 0, O_OMIT_LINK },
	{ "owner", 'o', 0, O_OWNER },
	{ "group", 'g', 0, O_GROUP },
	{ "devices", 'D', 0, O_DEVICES },
	{ "specials", 0, 0, O_SPECIALS },
	{ "no-specials", 0, 0, O_NO_SPECIALS },
	{ "hard-links", 'H', 0, O_HARD },
	{ "checksum", 'c', 0, O_CHECKSUM },
	{ "size-only", 0, 0, O_SIZE_ONLY },
	{ "ignore-times", 'I', 0, O_IGN_TIMES },
	{ "ignore-existing", 0, 0, O_IGN_EXISTING },
	{ "existing", 0, 0, O_EXISTING },
	{ "ignore-non-existing", 0, 0, O_EXISTING },
	{ "update", 'u', 0, O_UPDATE },
	{ "whole-file", 'W', 0, O_WHOLE },
	{ "no-whole-file", 0, 0, O_NO_WHOLE },
	{ "no-W", 0, 0, O_NO_WHOLE },
	{ "inplace", 0, 0, O_INPLACE },
	{ "partial", 0, 0, O_PARTIAL },
	{ "numeric-ids", 0, 0, O_NUMERIC },
	{ "list-only", 0, 0, O_LIST_ONLY },
	{ "protect-args", 's', 0, O_PROTECT },
	{ "secluded-args", 0, 0, O_PROTECT },
	{ "delete", 0, 0, O_DELETE },
	{ "delete-before", 0, 0, O_DEL_BEFORE },
	{ "delete-during", 0, 0, O_DEL_DURING },
	{ "del", 0, 0, O_DEL_DURING },
	{ "delete-after", 0, 0, O_DEL_AFTER },
	{ "delete-delay", 0, 0, O_DEL_DELAY },
	{ "delete-excluded", 0, 0, O_DEL_EXCLUDED },
	{ "force", 0, 0, O_FORCE },
	{ "max-delete", 0, 1, O_MAX_DELETE },
	{ "ignore-errors", 0, 0, O_IGN_ERRORS },
	{ "safe-links", 0, 0, O_SAFE_LINKS },
	{ "one-file-system", 'x', 0, O_ONE_FS },
	{ "mkpath", 0, 0, O_MKPATH },
	{ "fsync", 0, 0, O_FSYNC },
	{ "log-format", 0, 1, O_LOG_FORMAT },
	{ "info", 0, 1, O_IGNORED },
	{ "debug", 0, 1, O_IGNORED },
	{ "msgs2stderr", 0, 0, O_IGNORED },
	{ "no-msgs2stderr", 0, 0, O_IGNORED },
	{ "stats", 0, 0, O_IGNORED },
	{ "timeout", 0, 1, O_IGNORED },
	{ "max-alloc", 0, 1, O_IGNORED },
	{ "use-qsort", 0, 0, O_IGNORED },
	{ "sparse", 'S', 0, O_SPARSE },
	{ "compress", 'z', 0, O_COMPRESS },
	{ "new-compress", 0, 0, O_NEW_COMPRESS },
	{ "compress-level", 0, 1, O_COMPRESS_LEVEL },
	{ "min-size", 0, 1, O_MIN_SIZE },
	{ "max-size", 0, 1, O_MAX_SIZE },
	{ "block-size", 'B', 1, O_BLOCK_SIZE },
	{ "modify-window", '@', 1, O_MODIFY_WINDOW },
	{ "checksum-seed", 0, 1, O_SEED },
	{ "checksum-choice", 0, 1, O_CSUM_CHOICE },
	{ "cc", 0, 1, O_CSUM_CHOICE },
	{ "bwlimit", 0, 1, O_BWLIMIT },
	{ "rsh", 'e', 1, O_CLIENT_INFO },
	/* Known to rsync, refused here (named in the message). */
	{ "acls", 'A', 0, O_NONE },
	{ "xattrs", 'X', 0, O_NONE },
	{ "atimes", 'U', 0, O_NONE },
	{ "crtimes", 'N', 0, O_NONE },
	{ "relative", 'R', 0, O_NONE },
	{ "backup", 'b', 0, O_NONE },
	{ "fuzzy", 'y', 0, O_NONE },
	{ "prune-empty-dirs", 'm', 0, O_NONE },
	{ "cvs-exclude", 'C', 0, O_NONE },
	{ "copy-links", 'L', 0, O_NONE },
	{ "copy-dirlinks", 'k', 0, O_NONE },
	{ "keep-dirlinks", 'K', 0, O_NONE },
	{ "old-compress", 0, 0, O_OLD_COMPRESS },
	{ "compress-choice", 0, 1, O_COMPRESS_CHOICE },
	{ "zc", 0, 1, O_NONE },
	{ "append", 0, 0, O_NONE },
	{ "partial-dir", 0, 1, O_NONE },
	{ "delay-updates", 0, 0, O_NONE },
	{ "temp-dir", 'T', 1, O_NONE },
	{ "files-from", 0, 1, O_NONE },
	{ "remove-source-files", 0, 0, O_NONE },
	{ "remove-sent-files", 0, 0, O_NONE },
	{ "iconv", 0, 1, O_NONE },
	{ "copy-unsafe-links", 0, 0, O_NONE },
	{ "backup-dir", 0, 1, O_NONE },
	{ "suffix", 0, 1, O_NONE },
	{ "link-dest", 0, 1, O_NONE },
	{ "copy-dest", 0, 1, O_NONE },
	{ "compare-dest", 0, 1, O_NONE },
	{ NULL, 0, 0, O_NONE },
};

static const struct optdef *
opt_long(const char *name, size_t n)
{
	const struct optdef *d;

	for (d = optdefs; d->name != NULL; d++)
		if (strlen(d->name) == n && strncmp(d->name, name, n) == 0)
			return d;
	return NULL;
}

static const struct optdef *
opt_short(char c)
{
	const struct optdef *d;

	for (d = optdefs; d->name != NULL; d++)
		if (d->letter == c)
			return d;
	return NULL;
}

static int
refuse(struct sess *s, const char *what)
{
	return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
	    "option %s is not supported by this server", what);
}

static int
num_arg(struct sess *s, const char *name, const char *v, int64_t lo,
    int64_t hi, int64_t *out)
{
	char *end;
	long long n;
	int64_t mult = 1;

	if (v == NULL)
		return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "option --%s needs a value", name);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end != v && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': mult = 1024; end++; break;
		case 'm': case 'M': mult = 1024 * 1024; end++; break;
		case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
		}
	}
	if (errno != 0 || end == v || *end != '\0' || n < lo / mult ||
	    n > hi / mult)
		return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "bad value for --%s: %s", name, v);
	*out = (int64_t)n * mult;
	return 0;
}

static int
apply_opt(struct sess *s, const struct optdef *d, const char *val,
    int *seen_server)
{
	struct opts *o = &s->o;
	int64_t n = 0;
	char what[64];
	int rc;

	if (d->has_arg && d->id != O_NONE && val == NULL)
		return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "option --%s needs a value", d->name);
	switch (d->id) {
	case O_NONE:
		if (d->letter != 0)
			snprintf(what, sizeof(what), "--%s (-%c)", d->name,
			    d->letter);
		else
			snprintf(what, sizeof(what), "--%s", d->name);
		return refuse(s, what);
	case O_SERVER: *seen_server = 1; break;
	case O_SENDER: o->sender = 1; break;
	case O_VERBOSE: o->verbose++; break;
	case O_QUIET: o->quiet = 1; break;
	case O_DRY: o->dry_run = 1; break;
	case O_RECURSE: o->recurse = 1; break;
	case O_NO_R: o->recurse = 0; break;
	case O_DIRS: o->xfer_dirs = 1; break;
	case O_LINKS: o->links = 1; break;
	case O_PERMS: o->perms = 1; break;
	case O_EXEC: o->executability = 1; break;
	case O_TIMES: o->times = 1; break;
	case O_OMIT_DIR: o->omit_dir_times = 1; break;
	case O_OMIT_LINK: o->omit_link_times = 1; break;
	case O_OWNER: o->owner = 1; break;
	case O_GROUP: o->group = 1; break;
	case O_DEVICES: o->devices = o->specials = 1; break;
	case O_SPECIALS: o->specials = 1; break;
	case O_NO_SPECIALS: o->specials = 0; break;
	case O_HARD: o->hard_links = 1; break;
	case O_CHECKSUM: o->checksum = 1; break;
	case O_SIZE_ONLY: o->size_only = 1; break;
	case O_IGN_TIMES: o->ignore_times = 1; break;
	case O_IGN_EXISTING: o->ignore_existing = 1; break;
	case O_EXISTING: o->existing = 1; break;
	case O_UPDATE: o->update = 1; break;
	case O_WHOLE: o->whole_file = 1; break;
	case O_NO_WHOLE: o->whole_file = 0; break;
	case O_INPLACE: o->inplace = 1; break;
	case O_PARTIAL: o->partial = 1; break;
	case O_NUMERIC: o->numeric_ids = 1; break;
	case O_LIST_ONLY: o->list_only = 1; break;
	case O_PROTECT: o->protect_args = 1; break;
	case O_DELETE:
		if (o->delete == DEL_NONE)
			o->delete = DEL_DURING;
		break;
	case O_DEL_BEFORE: o->delete = DEL_BEFORE; break;
	case O_DEL_DURING: o->delete = DEL_DURING; break;
	case O_DEL_AFTER:
	case O_DEL_DELAY: o->delete = DEL_AFTER; break;
	case O_DEL_EXCLUDED:
		o->delete_excluded = 1;
		if (o->delete == DEL_NONE)
			o->delete = DEL_DURING;
		break;
	case O_FORCE: o->force = 1; break;
	case O_MAX_DELETE:
		if ((rc = num_arg(s, d->name, val, -1, INT32_MAX, &n)) != 0)
			return rc;
		o->max_delete = (int)n;
		break;
	case O_IGN_ERRORS: o->ignore_errors = 1; break;
	case O_SAFE_LINKS: o->safe_links = 1; break;
	case O_ONE_FS: o->one_fs = 1; break;
	case O_MKPATH: o->mkpath = 1; break;
	case O_FSYNC: o->do_fsync = 1; break;
	case O_LOG_FORMAT:
		o->itemize = strstr(val, "%i") != NULL;
		break;
	case O_IGNORED:
	case O_SPARSE:
		break;
	case O_COMPRESS:
		/* Negotiated (zlibx) unless a choice follows. */
		if (o->compress == 0)
			o->compress = COMPRESS_NEGOTIATE;
		break;
	case O_NEW_COMPRESS:
		o->compress = COMPRESS_ZLIBX;
		break;
	case O_OLD_COMPRESS:
		o->compress = COMPRESS_ZLIB;
		break;
	case O_COMPRESS_CHOICE:
		if (strcmp(val, "zlibx") == 0)
			o->compress = COMPRESS_ZLIBX;
		else if (strcmp(val, "none") == 0)
			o->compress = COMPRESS_NONE;
		else if (strcmp(val, "zlib") == 0)
			o->compress = COMPRESS_ZLIB;
		else
			return sess_fail(s, RS_EUSAGE, RERR_UNSUPPORTED,
			    "compression \"%.32s\" is not supported by this "
			    "server (it speaks zlibx and zlib: use -z)", val);
		break;
	case O_COMPRESS_LEVEL:
		if ((rc = num_arg(s, d->name, val, -1, 22, &n)) != 0)
			return rc;
		o->compress_level = (int)n;
		break;
	case O_MIN_SIZE:
	case O_MAX_SIZE:
		if ((rc = num_arg(s, d->name, val, 0, INT64_MAX / 2, &n)) != 0)
			return rc;
		if (d->id == O_MIN_SIZE)
			o->min_size = n;
		else
			o->max_size = n;
		break;
	case O_BLOCK_SIZE:
		if ((rc = num_arg(s, d->name, val, 0, MAX_BLOCK_SIZE,
		    &n)) != 0)
			return rc;
		o->block_size = (int32_t)n;
		break;
	case O_MODIFY_WINDOW:
		if ((rc = num_arg(s, d->name, val, -1, 1 << 30, &n)) != 0)
			return rc;
		o->modify_window = (int)n;
		break;
	case O_SEED:
		if ((rc = num_arg(s, d->name, val, INT32_MIN, INT32_MAX,
		    &n)) != 0)
			return rc;
		o->seed = (int32_t)n;
		break;
	case O_CSUM_CHOICE: {
		char a[32], b[32];
		const char *comma = strchr(val, ',');

		snprintf(a, sizeof(a), "%.*s", comma != NULL ?
		    (int)(comma - val) : (int)strlen(val), val);
		snprintf(b, sizeof(b), "%s", comma != NULL ? comma + 1 : a);
		if (strcmp(a, b) != 0 || (strcmp(a, "md5") != 0 &&
		    strcmp(a, "xxh64") != 0 && strcmp(a, "xxhash") != 0))
			return refuse(s, "--checksum-choice (xxh64 or md5 "
			    "here)");
		o->csum_choice = strcmp(a, "md5") == 0 ? CSUM_MD5 :
		    CSUM_XXH64;
		break;
	}
	case O_BWLIMIT:
		if ((rc = num_arg(s, d->name, val, 0, INT32_MAX, &n)) != 0)
			return rc;
		o->bwlimit = (int)n;
		break;
	case O_CLIENT_INFO:
		snprintf(o->client_info, sizeof(o->client_info), "%s", val);
		break;
	}
	return 0;
}

/*
 * Parses option words; positional words go to pos (the "." placeholder
 * first, then paths).  *i advances past what was used.
 */
static int
parse_words(struct sess *s, char **w, int n, char **pos, int *npos,
    int *seen_server)
{
	const struct optdef *d;
	int i, rc, only_pos = 0;

	for (i = 0; i < n; i++) {
		const char *a = w[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (*npos >= RS_ARGS_MAX)
				return refuse(s, "(too many arguments)");
			pos[(*npos)++] = w[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t nl = eq != NULL ? (size_t)(eq - a - 2) :
			    strlen(a + 2);
			const char *val = eq != NULL ? eq + 1 : NULL;

			if ((d = opt_long(a + 2, nl)) == NULL) {
				char what[80];

				snprintf(what, sizeof(what), "--%.*s",
				    (int)(nl > 60 ? 60 : nl), a + 2);
				return refuse(s, what);
			}
			if (d->has_arg && val == NULL && d->id != O_NONE) {
				if (i + 1 >= n)
					return sess_fail(s, RS_EUSAGE,
					    RERR_SYNTAX, "option --%s needs "
					    "a value", d->name);
				val = w[++i];
			}
			if ((rc = apply_opt(s, d, val, seen_server)) != 0)
				return rc;
			continue;
		}
		/* A cluster of short options: -vlogDtpre.iLsfxCIvu */
		for (a++; *a != '\0'; a++) {
			char what[8];

			if ((d = opt_short(*a)) == NULL) {
				snprintf(what, sizeof(what), "-%c", *a);
				return refuse(s, what);
			}
			if (d->has_arg && d->id != O_NONE) {
				const char *val = a + 1;

				if (*val == '\0') {
					if (i + 1 >= n)
						return sess_fail(s, RS_EUSAGE,
						    RERR_SYNTAX, "option -%c "
						    "needs a value", *a);
					val = w[++i];
				}
				if ((rc = apply_opt(s, d, val,
				    seen_server)) != 0)
					return rc;
				break;
			}
			if ((rc = apply_opt(s, d, NULL, seen_server)) != 0)
				return rc;
		}
	}
	return 0;
}

/* -s: the remaining arguments arrive NUL-separated, an empty one ends. */
static int
read_protected(struct sess *s, char ***out, int *nout)
{
	char **v, *buf;
	size_t used = 0, start = 0;
	int n = 0, rc = RS_ENOMEM;

	if ((v = calloc(RS_ARGS_MAX + 1, sizeof(*v))) == NULL)
		return RS_ENOMEM;
	if ((buf = malloc(RS_ARGBYTES_MAX)) == NULL)
		goto out;
	for (;;) {
		if (used >= RS_ARGBYTES_MAX) {
			rc = refuse(s, "(protected arguments too long)");
			goto out;
		}
		if ((rc = io_read_raw(s, buf + used, 1)) != 0)
			goto out;
		if (buf[used++] != '\0')
			continue;
		if (used - 1 == start)
			break;
		if (n >= RS_ARGS_MAX) {
			rc = refuse(s, "(too many protected arguments)");
			goto out;
		}
		if ((v[n++] = strdup(buf + start)) == NULL) {
			rc = RS_ENOMEM;
			goto out;
		}
		start = used;
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = 0;
out:
	if (v != NULL) {
		while (n > 0)
			free(v[--n]);
		free(v);
	}
	free(buf);
	return rc;
}

/* -- the handshake ------------------------------------------------------ */

/* Chooses from the client's space-separated list the first we speak. */
static int
pick(const char *list, const char *const *ours)
{
	char buf[256], *tok, *save = NULL;
	int i;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		for (i = 0; ours[i] != NULL; i++)
			if (strcmp(tok, ours[i]) == 0)
				return i;
	return -1;
}

static int
handshake(struct sess *s)
{
	static const char *const csums[] = { "xxh64", "md5", NULL };
	static const int ids[] = { CSUM_XXH64, CSUM_MD5 };
	static const char *const zlibs[] = { "zlibx", "zlib", NULL };
	static const int zids[] = { COMPRESS_ZLIBX, COMPRESS_ZLIB };
	const char *ci = s->o.client_info;
	int32_t remote;
	char list[256];
	int rc, k, negotiate = 0, csum_neg, zneg;

	if ((rc = io_write_int(s, RS_PROTO_MAX)) != 0 ||
	    (rc = io_flush(s)) != 0 || (rc = io_read_int(s, &remote)) != 0)
		return rc;
	if (remote < RS_PROTO_MIN || remote > 40)
		return sess_fail(s, RS_EUSAGE, RERR_PROTOCOL,
		    "protocol version %d is not supported by this server "
		    "(it speaks %d and %d; rsync 3.0.0 or later)",
		    (int)remote, RS_PROTO_MIN, RS_PROTO_MAX);
	s->proto = remote < RS_PROTO_MAX ? remote : RS_PROTO_MAX;

	s->cflags = 0;
	if (strchr(ci, 'f') != NULL)
		s->cflags |= CF_SAFE_FLIST;
	if (strchr(ci, 'x') != NULL)
		s->cflags |= CF_AVOID_XATTR_OPTIM;
	if (strchr(ci, 'C') != NULL)
		s->cflags |= CF_CHKSUM_SEED_FIX;
	if (strchr(ci, 'v') != NULL) {
		s->cflags |= CF_VARINT_FLIST_FLAGS;
		negotiate = 1;
	}
	if ((rc = io_write_varint(s, (int32_t)s->cflags)) != 0)
		return rc;
	s->varint_flags = (s->cflags & CF_VARINT_FLIST_FLAGS) != 0;
	s->seed_fix = (s->cflags & CF_CHKSUM_SEED_FIX) != 0;
	s->safe_flist = (s->cflags & CF_SAFE_FLIST) || s->proto >= 31;

	/* Both lists go out before either is read; each choice is the
	 * first of the client's list that we speak (what the client
	 * computes too). */
	s->csum = CSUM_MD5;
	csum_neg = negotiate && s->o.csum_choice == 0;
	zneg = s->o.compress == COMPRESS_NEGOTIATE && negotiate;
	if (csum_neg && (rc = io_write_vstring(s, "xxh64 md5", 9)) != 0)
		return rc;
	if (zneg && (rc = io_write_vstring(s, "zlibx zlib", 10)) != 0)
		return rc;
	if ((csum_neg || zneg) && (rc = io_flush(s)) != 0)
		return rc;
	if (csum_neg) {
		if ((rc = io_read_vstring(s, list, sizeof(list), NULL)) != 0)
			return rc;
		if ((k = pick(list, csums)) < 0)
			return sess_fail(s, RS_EUSAGE, RERR_UNSUPPORTED,
			    "no common checksum (client offers \"%s\"; this "
			    "server speaks xxh64 and md5)", list);
		s->csum = ids[k];
	} else if (s->o.csum_choice != 0)
		s->csum = s->o.csum_choice;
	/* -z from a client that does not negotiate is "zlib". */
	s->compress = s->o.compress == COMPRESS_NEGOTIATE ? COMPRESS_ZLIB :
	    s->o.compress;
	if (zneg) {
		if ((rc = io_read_vstring(s, list, sizeof(list), NULL)) != 0)
			return rc;
		if ((k = pick(list, zlibs)) < 0)
			return sess_fail(s, RS_EUSAGE, RERR_UNSUPPORTED,
			    "no common compression (client offers \"%s\"; "
			    "this server speaks zlibx and zlib)", list);
		s->compress = zids[k];
	}
	s->csum_len = s->csum == CSUM_XXH64 ? 8 : 16;

	s->seed = s->o.seed;
	if (s->seed == 0 && getrandom(&s->seed, sizeof(s->seed), 0) !=
	    (ssize_t)sizeof(s->seed))
		s->seed = (int32_t)time(NULL) ^ (int32_t)(getpid() << 6);
	if ((rc = io_write_int(s, s->seed)) != 0 || (rc = io_flush(s)) != 0)
		return rc;
	s->io.mux_out = 1;
	s->io.mux_in = 1;
	return 0;
}

/* -- the session ---------------------------------------------------------- */

static int
parse_command(struct sess *s, const char *command)
{
	char **w = NULL, **pw = NULL, **pos = NULL;
	int nw = 0, npw = 0, npos = 0, seen_server = 0, rc, i;

	if ((rc = split_words(command, &w, &nw)) != 0) {
		if (rc == RS_EUSAGE)
			rc = refuse(s, "(too many arguments)");
		goto out;
	}
	if ((pos = calloc(2 * RS_ARGS_MAX + 1, sizeof(*pos))) == NULL) {
		rc = RS_ENOMEM;
		goto out;
	}
	/* w[0] is "rsync" (exec_is_rsync said so). */
	if ((rc = parse_words(s, w + 1, nw - 1, pos, &npos,
	    &seen_server)) != 0)
		goto out;
	if (!seen_server) {
		rc = sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "only \"rsync --server\" (rsync over ssh) is served here");
		goto out;
	}
	if (s->o.protect_args) {
		if ((rc = read_protected(s, &pw, &npw)) != 0)
			goto out;
		/* pw[0] is the client's arg0 ("rsync"). */
		if (npw > 0 && (rc = parse_words(s, pw + 1, npw - 1, pos,
		    &npos, &seen_server)) != 0)
			goto out;
	}
	if (npos == 0 || strcmp(pos[0], ".") != 0) {
		rc = sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "malformed rsync server command line");
		goto out;
	}
	if ((s->args = calloc((size_t)npos, sizeof(*s->args))) == NULL) {
		rc = RS_ENOMEM;
		goto out;
	}
	for (i = 1; i < npos; i++)
		if ((s->args[s->nargs++] = strdup(pos[i])) == NULL) {
			rc = RS_ENOMEM;
			goto out;
		}
	rc = 0;
out:
	for (i = 0; i < nw; i++)
		free(w[i]);
	free(w);
	for (i = 0; i < npw; i++)
		free(pw[i]);
	free(pw);
	free(pos);
	return rc;
}

static void
sess_free(struct sess *s)
{
	int i;

	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	rules_free(&s->rules);
	flist_free(&s->fl);
	free(s->q);
	tok_free(s);
	io_free(s);
	free(s);
}

int
rsync_main(struct fs *fs, const char *user, const char *command,
    struct chan_io *io)
{
	struct sess *s;
	mode_t um;
	int rc, status;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		io->write_err(io->ctx, "rsync: out of memory\n", 21);
		return RERR_STREAMIO;
	}
	s->fs = fs;
	s->user = user;
	s->o.max_delete = -1;
	s->o.min_size = -1;
	s->o.max_size = -1;
	s->o.compress_level = -1;
	um = umask(022);
	umask(um);
	s->umask = um;
	if ((rc = io_init(s, io)) != 0)
		goto done;
	if ((rc = parse_command(s, command)) != 0)
		goto done;
	if (!s->o.sender && fs_read_only(fs)) {
		rc = sess_fail(s, RS_EREFUSED, RERR_FILESELECT,
		    "this account is read-only: uploads, deletions and "
		    "changes are refused (downloads and listings work)");
		log_info("rsync: upload refused: read-only account");
		goto done;
	}
	if ((rc = handshake(s)) != 0)
		goto done;
	log_info("rsync %s: protocol %d, %s%s", s->o.sender ? "download" :
	    "upload", s->proto, s->o.dry_run ? "dry run" : "live",
	    s->compress == COMPRESS_ZLIBX ? ", zlibx" :
	    s->compress == COMPRESS_ZLIB ? ", zlib" : "");
	rc = s->o.sender ? rs_sender(s) : rs_receiver(s);
done:
	if (rc == 0) {
		if (s->xfer_errors > 0 ||
		    (s->o.sender && (s->io_error & IOERR_GENERAL)))
			status = RERR_PARTIAL;
		else if (s->o.sender && s->io_error)
			status = RERR_VANISHED;
		else if (s->del_limited)
			status = RERR_DEL_LIMIT;
		else
			status = RERR_OK;
		io_flush(s);
	} else {
		if (s->errmsg[0] == '\0')
			sess_fail(s, rc, RERR_STREAMIO, "%s", rs_strerror(rc));
		status = s->errcode != 0 ? s->errcode : RERR_STREAMIO;
		log_info("rsync: %s", s->errmsg);
		if (rc != RS_EEOF && rc != RS_EIO && rc != RS_EABORT) {
			char msg[600];
			int n = snprintf(msg, sizeof(msg), "rsync: %s\n",
			    s->errmsg);

			io_msg(s, MSG_ERROR, msg, (size_t)n < sizeof(msg) ?
			    (size_t)n : sizeof(msg) - 1);
			if (s->io.mux_out && s->proto >= 31)
				io_msg_int(s, MSG_ERROR_EXIT, status);
			io_flush(s);
		}
	}
	sess_free(s);
	return status;
}
