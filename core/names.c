/*
 * names.c — the account name rule and the reserved names.
 *
 * Reserved are the names of system accounts a Debian-like host creates
 * (so a Coffer login can never be mistaken for one in a log or by a
 * tool), Coffer's own service account, and the RFC 2142 role mailboxes.
 */
#include "names.h"

#include <string.h>

#include "err.h"

static const char *const reserved[] = {
	"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail",
	"news", "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats",
	"nobody", "nogroup", "sshd", "messagebus", "systemd-network",
	"systemd-resolve", "systemd-timesync", "polkitd", "syslog", "adm",
	"wheel", "staff", "operator", "halt", "shutdown", "ftp", "sftp",
	"coffer", "cofferd", "postmaster", "hostmaster", "webmaster", "abuse",
	"security", "noc", "localhost",
};

/* Names starting with one of these are reserved as a family. */
static const char *const reserved_prefix[] = {
	"systemd-",
};

static int
name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '_' || c == '-');
}

int
name_check(const char *name)
{
	size_t i, len;

	if (name == NULL)
		return COF_EINVAL;
	len = strnlen(name, NAME_MAX_LEN + 1);
	if (len == 0 || len > NAME_MAX_LEN)
		return COF_EINVAL;
	for (i = 0; i < len; i++)
		if (!name_char(name[i], i == 0))
			return COF_EINVAL;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0)
			return COF_EPERM;
	for (i = 0; i < sizeof(reserved_prefix) / sizeof(reserved_prefix[0]);
	    i++)
		if (strncmp(name, reserved_prefix[i],
		    strlen(reserved_prefix[i])) == 0)
			return COF_EPERM;
	return 0;
}
