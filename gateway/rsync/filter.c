/*
 * filter.c — the filter rules the client sends, and their matcher.
 *
 * The client sends its --exclude/--include/--filter rules in rsync's short
 * wire form: "+ pattern", "- pattern", with modifier letters between the
 * sign and the space ("-r " is a protect rule, "+s " a show rule...), or
 * "!" to clear the list.  Per-directory merge files (":") are not served.
 * The sender (downloads) leaves excluded names out of the file list; the
 * receiver (uploads with --delete) keeps excluded names from deletion.
 *
 * Matching follows rsync: a pattern without "/" or "**" matches the last
 * component only; a leading "/" anchors at the transfer root; an infix
 * "/" matches that many trailing components; "**" may cross "/"; a
 * trailing "/" matches directories only; "dir/" + "***" matches the
 * directory and everything in it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

enum { WM_NOMATCH = 0, WM_MATCH = 1, WM_ABORT_ALL = -1, WM_ABORT_STAR = -2 };

#define WM_DEPTH_MAX 256

/* One "[...]" class at p (after '['); *end gets the char after ']'. */
static int
match_class(const unsigned char *p, unsigned char t,
    const unsigned char **end)
{
	int negate = 0, matched = 0;
	unsigned char prev = 0;

	if (*p == '!' || *p == '^') {
		negate = 1;
		p++;
	}
	if (*p == ']') {
		matched = t == ']';
		prev = ']';
		p++;
	}
	for (; *p != ']'; p++) {
		if (*p == '\0')
			return -1;
		if (*p == '\\' && p[1] != '\0') {
			p++;
			matched |= *p == t;
			prev = *p;
		} else if (*p == '-' && prev != 0 && p[1] != ']' &&
		    p[1] != '\0') {
			unsigned char hi = p[1];

			if (hi == '\\' && p[2] != '\0')
				hi = *++p;
			p++;
			matched |= t >= prev && t <= hi;
			prev = 0;
		} else if (*p == '[' && p[1] == ':') {
			const unsigned char *q = p + 2;
			const char *cls;
			size_t n;

			while (*q != '\0' && !(*q == ':' && q[1] == ']'))
				q++;
			if (*q == '\0')
				return -1;
			cls = (const char *)p + 2;
			n = (size_t)(q - p - 2);
#define CLS(name, fn) \
	(n == sizeof(name) - 1 && strncmp(cls, name, n) == 0 && fn(t))
			matched |= CLS("alnum", isalnum) ||
			    CLS("alpha", isalpha) || CLS("blank", isblank) ||
			    CLS("cntrl", iscntrl) || CLS("digit", isdigit) ||
			    CLS("graph", isgraph) || CLS("lower", islower) ||
			    CLS("print", isprint) || CLS("punct", ispunct) ||
			    CLS("space", isspace) || CLS("upper", isupper) ||
			    CLS("xdigit", isxdigit);
#undef CLS
			p = q + 1;
			prev = 0;
		} else {
			matched |= *p == t;
			prev = *p;
		}
	}
	*end = p + 1;
	return matched != negate;
}

static int
dowild(const unsigned char *p, const unsigned char *t, int depth)
{
	if (depth > WM_DEPTH_MAX)
		return WM_ABORT_ALL;
	for (; *p != '\0'; p++, t++) {
		const unsigned char *next;
		int r, slash;

		if (*t == '\0' && *p != '*')
			return WM_ABORT_ALL;
		switch (*p) {
		case '\\':
			if (p[1] != '\0')
				p++;
			if (*t != *p)
				return WM_NOMATCH;
			break;
		case '?':
			if (*t == '/')
				return WM_NOMATCH;
			break;
		case '[':
			if (*t == '/')
				return WM_NOMATCH;
			r = match_class(p + 1, *t, &next);
			if (r < 0)
				return WM_ABORT_ALL;
			if (r == 0)
				return WM_NOMATCH;
			p = next - 1;
			break;
		case '*':
			slash = p[1] == '*';
			while (p[1] == '*')
				p++;
			p++;
			if (*p == '\0') {
				/* A trailing "*" stops at "/"; "**" doesn't. */
				if (!slash && strchr((const char *)t, '/'))
					return WM_ABORT_STAR;
				return WM_MATCH;
			}
			for (;; t++) {
				if (*t == '\0')
					return WM_ABORT_ALL;
				r = dowild(p, t, depth + 1);
				if (r != WM_NOMATCH) {
					if (!slash || r != WM_ABORT_STAR)
						return r;
				} else if (!slash && *t == '/')
					return WM_ABORT_STAR;
			}
		default:
			if (*t != *p)
				return WM_NOMATCH;
			break;
		}
	}
	return *t == '\0' ? WM_MATCH : WM_NOMATCH;
}

int
wildmatch(const char *pattern, const char *text)
{
	return dowild((const unsigned char *)pattern,
	    (const unsigned char *)text, 0) == WM_MATCH;
}

/* Matches against text, or its last `where` components, or (where < 0)
 * text and every suffix after a "/". */
static int
match_where(const char *pat, const char *text, int where)
{
	const char *p;

	if (where == 0)
		return wildmatch(pat, text);
	if (where > 0) {
		for (p = text + strlen(text); p > text; p--)
			if (p[-1] == '/' && --where == 0)
				return wildmatch(pat, p);
		return wildmatch(pat, text);
	}
	if (wildmatch(pat, text))
		return 1;
	for (p = text; (p = strchr(p, '/')) != NULL; p++)
		if (wildmatch(pat, p + 1))
			return 1;
	return 0;
}

static int
rule_match(const struct rule *r, const char *name, int is_dir)
{
	char text[RS_PATH_MAX + 4];
	const char *pat = r->pat, *b;
	size_t n = 0, l;
	int where, matched;

	if (!is_dir && (r->flags & RULE_DIR_ONLY))
		return (r->flags & RULE_NEGATE) != 0;
	if (r->slashes == 0 && !(r->flags & RULE_WILD2) &&
	    (b = strrchr(name, '/')) != NULL)
		name = b + 1;
	if ((r->flags & (RULE_WILD2_PRE | RULE_ABS)))
		text[n++] = '/';
	l = strlen(name);
	if (l + n + 2 > sizeof(text))
		return 0;
	memcpy(text + n, name, l);
	n += l;
	if (is_dir && (r->flags & RULE_WILD3_SUF))
		text[n++] = '/';
	text[n] = '\0';
	if (*pat == '/') {
		pat++;
		where = 0;
		if (r->flags & (RULE_WILD2_PRE | RULE_ABS))
			memmove(text, text + 1, n);
	} else if (r->slashes > 0 && !(r->flags & RULE_WILD2))
		where = r->slashes + 1;
	else if (!(r->flags & RULE_WILD2_PRE) && (r->flags & RULE_WILD2))
		where = -1;
	else
		where = 0;
	matched = match_where(pat, text, where);
	return (r->flags & RULE_NEGATE) ? !matched : matched;
}

int
rules_excluded(const struct sess *s, const char *name, int is_dir)
{
	size_t i;

	if (strcmp(name, ".") == 0)
		return 0;
	for (i = 0; i < s->rules.n; i++) {
		const struct rule *r = &s->rules.r[i];

		if ((r->flags & RULE_SENDER) && !s->o.sender)
			continue;
		if ((r->flags & RULE_RECEIVER) && s->o.sender)
			continue;
		if (rule_match(r, name, is_dir))
			return !(r->flags & RULE_INCLUDE);
	}
	return 0;
}

void
rules_free(struct rules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->r[i].pat);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* One rule in rsync's wire form. */
static int
rule_parse(struct sess *s, const char *line)
{
	struct rules *rs = &s->rules;
	struct rule r;
	const char *p = line, *pat;
	size_t len;

	memset(&r, 0, sizeof(r));
	if (strcmp(line, "!") == 0) {
		rules_free(rs);
		return 0;
	}
	if (*p == '+')
		r.flags |= RULE_INCLUDE;
	else if (*p != '-')
		return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
		    "filter rule \"%.100s\" is not supported by this server "
		    "(per-directory merge files are not served)", line);
	for (p++; *p != ' ' && *p != '_'; p++) {
		switch (*p) {
		case '/': r.flags |= RULE_ABS; break;
		case '!': r.flags |= RULE_NEGATE; break;
		case 's': r.flags |= RULE_SENDER; break;
		case 'r': r.flags |= RULE_RECEIVER; break;
		case 'x': return 0; /* xattr rules: no xattrs here */
		case 'p': case 'n': case 'w': case 'e': break;
		default:
			return sess_fail(s, RS_EUSAGE, RERR_SYNTAX,
			    "filter rule \"%.100s\" is not supported by this "
			    "server", line);
		}
	}
	pat = p + 1;
	len = strlen(pat);
	if (len == 0)
		return 0;
	if (rs->n >= RS_RULES_MAX)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "too many filter rules (the limit is %d)", RS_RULES_MAX);
	if (len > 1 && pat[len - 1] == '/') {
		r.flags |= RULE_DIR_ONLY;
		len--;
	}
	if ((r.pat = strndup(pat, len)) == NULL)
		return RS_ENOMEM;
	if (strpbrk(r.pat, "*?[") != NULL) {
		const char *ss;

		r.flags |= RULE_WILD;
		if ((ss = strstr(r.pat, "**")) != NULL) {
			r.flags |= RULE_WILD2;
			if (ss == r.pat)
				r.flags |= RULE_WILD2_PRE;
			if (len >= 3 && strcmp(r.pat + len - 3, "***") == 0)
				r.flags |= RULE_WILD3_SUF;
		}
	}
	for (p = r.pat; (p = strchr(p, '/')) != NULL; p++)
		r.slashes++;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct rule *nr = realloc(rs->r, cap * sizeof(*nr));

		if (nr == NULL) {
			free(r.pat);
			return RS_ENOMEM;
		}
		rs->r = nr;
		rs->cap = cap;
	}
	rs->r[rs->n++] = r;
	return 0;
}

int
rules_recv(struct sess *s)
{
	char *line;
	int32_t len;
	int rc;

	if ((line = malloc(RS_PATH_MAX + 64)) == NULL)
		return RS_ENOMEM;
	for (;;) {
		if ((rc = io_read_int(s, &len)) != 0)
			break;
		if (len == 0)
			break;
		if (len < 0 || len >= RS_PATH_MAX + 64) {
			rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "bad filter rule length %d", (int)len);
			break;
		}
		if ((rc = io_read(s, line, (size_t)len)) != 0)
			break;
		line[len] = '\0';
		if (memchr(line, '\0', (size_t)len) != NULL) {
			rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "bad filter rule");
			break;
		}
		if ((rc = rule_parse(s, line)) != 0)
			break;
	}
	free(line);
	return rc;
}
