#include "exec.h"

#include <string.h>

static int
starts_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	while (*s == ' ' || *s == '\t')
		s++;
	return strncmp(s, w, n) == 0 && (s[n] == ' ' || s[n] == '\t');
}

int
exec_is_scp(const char *command)
{
	return starts_word(command, "scp");
}

int
exec_is_rsync(const char *command)
{
	return starts_word(command, "rsync");
}
