/*
 * scp.h — internals of the legacy scp front end (the entry point,
 * scp_main(), is in exec.h).
 *
 *   scp.c        the protocol: sink (we receive, "scp -t") and source
 *                (we send, "scp -f"), over the fs layer only
 *   scp_words.c  the command line: words, "~" and globs
 *
 * The client sends its command line as shell text.  No shell ever runs:
 * scp_words_split() does to it what a POSIX shell would do — split words,
 * remove quotes and backslashes, expand a leading "~" — and refuses what
 * only a shell could do (operators, "$" and "`" expansions).  Patterns
 * are expanded by scp_glob() through fs_opendir()/fs_readdir(), so they
 * can only ever see the account's root.
 *
 * Return convention: 0, or a negative COF_* code (err.h).
 */
#ifndef COFFER_SCP_H
#define COFFER_SCP_H

#include <stddef.h>

#include "fs.h"

#define SCP_CMD_MAX 16384  /* bytes of a command line */
#define SCP_WORDS_MAX 1024 /* words on a command line */
#define SCP_PATH_MAX 4096  /* bytes of one path */
#define SCP_GLOB_MAX 1024  /* paths one pattern may expand to */
#define SCP_GLOB_DIRS 256  /* directories one pattern may read */
#define SCP_GLOB_SCAN 200000 /* entries one pattern may look at */
#define SCP_GLOB_COMP 512  /* bytes of one pattern component */

/* One word of the command line, quotes removed. */
struct scp_word {
	char *text; /* glob form: quoted '*', '?', '[', ']', '\' escaped
	             * with a '\'; everything else as is */
	int glob;   /* 1 if it holds an unquoted '*', '?' or '[' */
};

struct scp_words {
	struct scp_word *w; /* n words, owned */
	size_t n;
};

/*
 * Splits cmd into words.  A word starting with an unquoted "~" or
 * "~USER" (USER being user, the account's own name) has it replaced by
 * the home, "/".  On COF_EINVAL (shell syntax we don't run) or
 * COF_ELIMIT (a bound passed), *why gets a static English reason.
 */
int scp_words_split(const char *cmd, const char *user,
    struct scp_words *out, const char **why);
void scp_words_free(struct scp_words *ws);

/* The literal form of a glob-form word (escapes removed), into buf. */
int scp_unescape(const char *text, char *buf, size_t len);

/*
 * 1 if name matches pat, one path component in glob form: '*', '?',
 * "[...]" with ranges, '!' or '^' negation and [:class:], '\' escapes.
 * No special case for a leading '.': the caller's business.
 */
int scp_match(const char *pat, const char *name);

/*
 * Expands a path pattern in glob form through fs, as a shell would:
 * every existing path it matches, sorted; "*", "?" and "[" never match a
 * leading '.', nor "." and "..".  *paths (malloc'd, free with
 * scp_paths_free) gets *n paths, none when nothing matched — the caller
 * then uses the word literally, as a shell does.  COF_ELIMIT past
 * SCP_GLOB_MAX paths, SCP_GLOB_DIRS directories, SCP_GLOB_SCAN entries
 * or a component longer than SCP_GLOB_COMP: the cost of one pattern is
 * bounded whatever the tree holds.
 */
int scp_glob(struct fs *fs, const char *pat, char ***paths, size_t *n);
void scp_paths_free(char **paths, size_t n);

#endif
