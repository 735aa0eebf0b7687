/* test_names.c — name_check: syntax, length bounds, reserved names. */
#include "err.h"
#include "../lib/harness.h"
#include "names.h"

static const struct {
	const char *name;
	int rc;
} cases[] = {
	/* valid */
	{ "alice", 0 },
	{ "a", 0 },
	{ "0", 0 },
	{ "bob-2", 0 },
	{ "bob_2", 0 },
	{ "bob.smith", 0 },
	{ "9lives", 0 },
	{ "a-", 0 },
	{ "a.", 0 },
	{ "rooty", 0 },		/* only the exact reserved names */
	{ "xroot", 0 },
	{ "admin", 0 },
	{ "ab345678901234567890123456789012", 0 },	/* 32 */
	/* malformed */
	{ "", COF_EINVAL },
	{ "ab3456789012345678901234567890123", COF_EINVAL },	/* 33 */
	{ "Alice", COF_EINVAL },
	{ "aliCe", COF_EINVAL },
	{ "ROOT", COF_EINVAL },	/* upper case is malformed before reserved */
	{ "-bob", COF_EINVAL },
	{ ".bob", COF_EINVAL },
	{ "_bob", COF_EINVAL },
	{ ".", COF_EINVAL },
	{ "..", COF_EINVAL },
	{ "a b", COF_EINVAL },
	{ "a/b", COF_EINVAL },
	{ "a@b", COF_EINVAL },
	{ "a:b", COF_EINVAL },
	{ "a\nb", COF_EINVAL },
	{ "a\tb", COF_EINVAL },
	{ "\xc3\xa9t\xc3\xa9", COF_EINVAL },
	{ "bob\x7f", COF_EINVAL },
	{ " bob", COF_EINVAL },
	{ "bob ", COF_EINVAL },
	/* reserved */
	{ "root", COF_EPERM },
	{ "daemon", COF_EPERM },
	{ "bin", COF_EPERM },
	{ "sys", COF_EPERM },
	{ "sync", COF_EPERM },
	{ "games", COF_EPERM },
	{ "man", COF_EPERM },
	{ "lp", COF_EPERM },
	{ "mail", COF_EPERM },
	{ "news", COF_EPERM },
	{ "uucp", COF_EPERM },
	{ "proxy", COF_EPERM },
	{ "www-data", COF_EPERM },
	{ "backup", COF_EPERM },
	{ "list", COF_EPERM },
	{ "irc", COF_EPERM },
	{ "nobody", COF_EPERM },
	{ "sshd", COF_EPERM },
	{ "coffer", COF_EPERM },
	{ "postmaster", COF_EPERM },
	{ "systemd-network", COF_EPERM },
	{ "systemd-anything", COF_EPERM },
};

/* The name with bytes outside printable ASCII as \xNN, for messages. */
static const char *
printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

int
main(void)
{
	char buf[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = name_check(cases[i].name);
		CHECK_MSG(rc == cases[i].rc, "name_check(\"%s\") = %d want %d",
		    printable(cases[i].name, buf, sizeof(buf)), rc,
		    cases[i].rc);
	}
	CHECK_INT(name_check(NULL), COF_EINVAL);
	return harness_done();
}
