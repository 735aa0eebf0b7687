/*
 * scp_words.c — the scp command line as a POSIX shell would read it,
 * without a shell: words, quotes, "~", globs (contract in scp.h).
 */
#include "scp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

/* Characters with a meaning in glob form: escaped when quoted. */
#define GLOB_SPECIAL "*?[]\\"

/* Appends a quoted character to a glob-form word. */
static void
put_quoted(char *o, size_t *n, char c)
{
	if (strchr(GLOB_SPECIAL, c) != NULL && c != '\0')
		o[(*n)++] = '\\';
	o[(*n)++] = c;
}

/* 1 if p starts a parameter expansion or "$(...)" a shell would do. */
static int
expands(const char *p)
{
	unsigned char c = (unsigned char)p[1];

	return p[0] == '$' && c != '\0' &&
	    (isalnum(c) || strchr("_{(@*#?$!-", c) != NULL);
}

static int
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

/*
 * A leading "~" or "~NAME" (all unquoted, then '/' or the end of the
 * word): the home "/" when NAME is empty or the account's own name.
 * Returns the input position after what was consumed.
 */
static const char *
tilde(const char *p, const char *user, char *o, size_t *n)
{
	const char *q = p + 1;
	size_t len;

	while (name_char(*q))
		q++;
	if (*q != '/' && *q != '\0' && *q != ' ' && *q != '\t')
		return p; /* the prefix holds quoting: not expanded */
	len = (size_t)(q - p - 1);
	if (len > 0 && (strlen(user) != len || strncmp(p + 1, user, len)))
		return p; /* someone else's home: left as it is */
	o[(*n)++] = '/';
	if (*q == '/')
		q++;
	return q;
}

/*
 * One word starting at *pp (not a blank) into o, in glob form.  o has
 * room for twice the rest of the line.
 */
static int
one_word(const char **pp, const char *user, char *o, int *glob,
    const char **why)
{
	const char *p = *pp, *e;
	size_t n = 0;
	int g = 0;

	if (*p == '~')
		p = tilde(p, user, o, &n);
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		switch (*p) {
		case '\\':
			if (p[1] == '\n') {
				p += 2; /* line continuation */
			} else if (p[1] == '\0') {
				put_quoted(o, &n, '\\');
				p++;
			} else {
				put_quoted(o, &n, p[1]);
				p += 2;
			}
			continue;
		case '\'':
			if ((e = strchr(p + 1, '\'')) == NULL) {
				*why = "unterminated single quote";
				return COF_EINVAL;
			}
			for (p++; p < e; p++)
				put_quoted(o, &n, *p);
			p++;
			continue;
		case '"':
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					*why = "unterminated double quote";
					return COF_EINVAL;
				}
				if (*p == '\\' && p[1] != '\0' &&
				    strchr("$`\"\\\n", p[1]) != NULL) {
					if (p[1] != '\n')
						put_quoted(o, &n, p[1]);
					p++;
					continue;
				}
				if (*p == '`' || expands(p)) {
					*why = "shell expansions are not "
					    "supported";
					return COF_EINVAL;
				}
				put_quoted(o, &n, *p);
			}
			p++;
			continue;
		case ';':
		case '&':
		case '|':
		case '<':
		case '>':
		case '(':
		case ')':
		case '\n':
			*why = "shell operators are not supported";
			return COF_EINVAL;
		case '`':
			*why = "shell expansions are not supported";
			return COF_EINVAL;
		case '$':
			if (expands(p)) {
				*why = "shell expansions are not supported";
				return COF_EINVAL;
			}
			break;
		case '*':
		case '?':
		case '[':
			g = 1;
			break;
		}
		o[n++] = *p++;
	}
	o[n] = '\0';
	if (n > 2 * SCP_PATH_MAX) {
		*why = "word too long";
		return COF_ELIMIT;
	}
	*glob = g;
	*pp = p;
	return 0;
}

int
scp_words_split(const char *cmd, const char *user, struct scp_words *out,
    const char **why)
{
	struct scp_words ws = { NULL, 0 };
	size_t len = strlen(cmd);
	const char *p = cmd;
	char *buf = NULL;
	int rc, glob = 0;

	if (len > SCP_CMD_MAX) {
		*why = "command line too long";
		return COF_ELIMIT;
	}
	rc = COF_ENOMEM;
	if ((buf = malloc(2 * len + 2)) == NULL ||
	    (ws.w = calloc(SCP_WORDS_MAX, sizeof(*ws.w))) == NULL)
		goto out;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (ws.n == SCP_WORDS_MAX) {
			*why = "too many words";
			rc = COF_ELIMIT;
			goto out;
		}
		if ((rc = one_word(&p, user, buf, &glob, why)) != 0)
			goto out;
		rc = COF_ENOMEM;
		if ((ws.w[ws.n].text = strdup(buf)) == NULL)
			goto out;
		ws.w[ws.n++].glob = glob;
	}
	*out = ws;
	ws.w = NULL;
	ws.n = 0;
	rc = 0;
out:
	scp_words_free(&ws);
	free(buf);
	return rc;
}

void
scp_words_free(struct scp_words *ws)
{
	size_t i;

	if (ws == NULL || ws->w == NULL)
		return;
	for (i = 0; i < ws->n; i++)
		free(ws->w[i].text);
	free(ws->w);
	ws->w = NULL;
	ws->n = 0;
}

int
scp_unescape(const char *text, char *buf, size_t len)
{
	size_t n = 0;

	for (; *text != '\0'; text++) {
		if (*text == '\\' && text[1] != '\0')
			text++;
		if (n + 1 >= len)
			return COF_ELIMIT;
		buf[n++] = *text;
	}
	if (len == 0)
		return COF_ELIMIT;
	buf[n] = '\0';
	return 0;
}

/* ---- matching ------------------------------------------------------ */

/* 1 if c is in the class named by the len bytes at name, -1 if unknown. */
static int
in_class(const char *name, size_t len, unsigned char c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha },
		{ "blank", isblank }, { "cntrl", iscntrl },
		{ "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint },
		{ "punct", ispunct }, { "space", isspace },
		{ "upper", isupper }, { "xdigit", isxdigit },
	};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len &&
		    strncmp(classes[i].name, name, len) == 0)
			return classes[i].fn(c) != 0;
	return -1;
}

/*
 * The bracket expression at p ('[') against c: 1 match, 0 no match and
 * *end after its ']'; -1 if p does not start a bracket expression (then
 * '[' is an ordinary character).
 */
static int
bracket(const char *p, unsigned char c, const char **end)
{
	const char *q = p + 1, *e;
	int neg = 0, hit = 0, first = 1, r;

	if (*q == '!' || *q == '^') {
		neg = 1;
		q++;
	}
	for (;; first = 0) {
		unsigned char lo, hi;

		if (*q == '\0')
			return -1;
		if (*q == ']' && !first)
			break;
		if (q[0] == '[' && q[1] == ':' &&
		    (e = strstr(q + 2, ":]")) != NULL) {
			if ((r = in_class(q + 2, (size_t)(e - q - 2), c)) < 0)
				return -1;
			hit |= r;
			q = e + 2;
			continue;
		}
		if (*q == '\\' && q[1] != '\0')
			q++;
		lo = hi = (unsigned char)*q++;
		if (q[0] == '-' && q[1] != ']' && q[1] != '\0') {
			q++;
			if (*q == '\\' && q[1] != '\0')
				q++;
			hi = (unsigned char)*q++;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	*end = q + 1;
	return hit != neg;
}

/* One pattern element at *pp against c; on a match *pp moves past it. */
static int
match_one(const char **pp, unsigned char c)
{
	const char *p = *pp, *end;
	int r;

	switch (*p) {
	case '\0':
		return 0;
	case '?':
		*pp = p + 1;
		return 1;
	case '[':
		if ((r = bracket(p, c, &end)) >= 0) {
			if (r)
				*pp = end;
			return r;
		}
		break;
	case '\\':
		if (p[1] != '\0')
			p++;
		break;
	}
	if ((unsigned char)*p != c)
		return 0;
	*pp = p + 1;
	return 1;
}

/*
 * Iterative, with one back-tracking point (the last '*'): every other
 * element matches exactly one character, so this is exact and takes at
 * most len(pat) * len(name) steps.
 */
int
scp_match(const char *pat, const char *name)
{
	const char *p = pat, *n = name, *star_p = NULL, *star_n = NULL;

	while (*n != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (match_one(&p, (unsigned char)*n)) {
			n++;
			continue;
		}
		if (star_p == NULL)
			return 0;
		p = star_p;
		n = ++star_n;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* ---- expansion ----------------------------------------------------- */

struct glob {
	struct fs *fs;
	char **paths; /* n results, room for SCP_GLOB_MAX */
	size_t n;
	size_t dirs;  /* directories read so far */
	size_t seen;  /* entries looked at so far */
	char *path;   /* the path being built, SCP_PATH_MAX + 1 bytes */
};

static int
has_magic(const char *comp, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (comp[i] == '\\')
			i++;
		else if (comp[i] == '*' || comp[i] == '?' || comp[i] == '[')
			return 1;
	}
	return 0;
}

static int
add_path(struct glob *g)
{
	if (g->n == SCP_GLOB_MAX)
		return COF_ELIMIT;
	if ((g->paths[g->n] = strdup(g->path)) == NULL)
		return COF_ENOMEM;
	g->n++;
	return 0;
}

/* Appends "/" (unless at the start or after one) and len bytes. */
static int
append(struct glob *g, size_t at, const char *s, size_t len)
{
	if (at > SCP_PATH_MAX)
		return COF_ELIMIT;
	if (at > 0 && g->path[at - 1] != '/') {
		if (at == SCP_PATH_MAX)
			return COF_ELIMIT;
		g->path[at++] = '/';
	}
	if (len > SCP_PATH_MAX - at)
		return COF_ELIMIT;
	memcpy(g->path + at, s, len);
	g->path[at + len] = '\0';
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct glob *g, size_t at, const char *pat);

/* The names in the directory g->path[0..at) matching comp, sorted. */
static int
list_matches(struct glob *g, size_t at, const char *comp, char ***out,
    size_t *nout)
{
	struct fs_dir *d = NULL;
	struct stat st;
	const char *name;
	char **names = NULL;
	size_t n = 0;
	int rc, dot = comp[0] == '.' || (comp[0] == '\\' && comp[1] == '.');

	if (++g->dirs > SCP_GLOB_DIRS)
		return COF_ELIMIT;
	g->path[at] = '\0';
	if (fs_opendir(g->fs, at > 0 ? g->path : ".", &d) != 0) {
		*out = NULL;
		*nout = 0;
		return 0; /* not a readable directory: no match */
	}
	rc = COF_ENOMEM;
	if ((names = calloc(SCP_GLOB_MAX, sizeof(*names))) == NULL)
		goto out;
	/* A read error ends the listing, as for a shell. */
	while (fs_readdir(g->fs, d, &name, &st) == 1) {
		if (++g->seen > SCP_GLOB_SCAN) {
			rc = COF_ELIMIT;
			goto out;
		}
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    (name[0] == '.' && !dot) || !scp_match(comp, name))
			continue;
		if (n == SCP_GLOB_MAX) {
			rc = COF_ELIMIT;
			goto out;
		}
		if ((names[n] = strdup(name)) == NULL) {
			rc = COF_ENOMEM;
			goto out;
		}
		n++;
	}
	rc = 0;
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*nout = n;
	names = NULL;
	n = 0;
out:
	fs_closedir(g->fs, d);
	scp_paths_free(names, n);
	return rc;
}

/*
 * g->path[0..at) is a directory (or the start); pat the rest of the
 * pattern.  Depth is bounded by the components of a bounded path.
 */
static int
walk(struct glob *g, size_t at, const char *pat)
{
	struct stat st;
	char **names = NULL, *comp = NULL;
	const char *rest, *r;
	size_t clen, n = 0, i, len;
	int rc, last, dir_only;

	while (*pat == '/')
		pat++;
	g->path[at] = '\0';
	if (*pat == '\0')
		return 0;
	rest = strchr(pat, '/');
	clen = rest != NULL ? (size_t)(rest - pat) : strlen(pat);
	if (rest == NULL)
		rest = pat + clen;
	for (r = rest; *r == '/'; r++)
		;
	last = *r == '\0';
	dir_only = last && *rest == '/'; /* "pattern/": directories only */
	if ((comp = malloc(clen + 1)) == NULL)
		return COF_ENOMEM;
	memcpy(comp, pat, clen);
	comp[clen] = '\0';
	if (!has_magic(comp, clen)) {
		/* A literal component: taken as it is, then checked. */
		if ((rc = scp_unescape(comp, comp, clen + 1)) != 0 ||
		    (rc = append(g, at, comp, strlen(comp))) != 0)
			goto out;
		len = strlen(g->path);
		if (!last)
			rc = walk(g, len, rest);
		else if (fs_stat(g->fs, g->path, dir_only, &st) == 0 &&
		    (!dir_only || S_ISDIR(st.st_mode)))
			rc = add_path(g);
		else
			rc = 0;
		goto out;
	}
	if (clen > SCP_GLOB_COMP) {
		rc = COF_ELIMIT;
		goto out;
	}
	if ((rc = list_matches(g, at, comp, &names, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (append(g, at, names[i], strlen(names[i])) != 0)
			continue; /* too long to name: can't be used */
		len = strlen(g->path);
		/* More to match beneath, or "pattern/": directories only. */
		if ((!last || dir_only) &&
		    (fs_stat(g->fs, g->path, 1, &st) != 0 ||
			!S_ISDIR(st.st_mode)))
			continue;
		rc = last ? add_path(g) : walk(g, len, rest);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	g->path[at] = '\0';
	scp_paths_free(names, n);
	free(comp);
	return rc;
}

int
scp_glob(struct fs *fs, const char *pat, char ***paths, size_t *n)
{
	struct glob g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.fs = fs;
	rc = COF_ENOMEM;
	if ((g.paths = calloc(SCP_GLOB_MAX, sizeof(*g.paths))) == NULL ||
	    (g.path = malloc(SCP_PATH_MAX + 1)) == NULL)
		goto out;
	g.path[0] = '\0';
	if (*pat == '/') {
		g.path[0] = '/';
		g.path[1] = '\0';
	}
	if ((rc = walk(&g, *pat == '/' ? 1 : 0, pat)) != 0)
		goto out;
	qsort(g.paths, g.n, sizeof(*g.paths), cmp_str);
	*paths = g.paths;
	*n = g.n;
	g.paths = NULL;
	g.n = 0;
out:
	scp_paths_free(g.paths, g.n);
	free(g.path);
	return rc;
}

void
scp_paths_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
