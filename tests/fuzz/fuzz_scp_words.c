/*
 * fuzz_scp_words — the scp command-line splitter and glob matcher fed
 * arbitrary client text.  The input is "COMMAND\0PATTERN\0NAME".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scp_words ws;
	const char *why = NULL, *pat, *name;
	char *buf, lit[SCP_PATH_MAX + 1];
	size_t i;

	if (size > SCP_CMD_MAX * 2)
		return 0;
	if ((buf = malloc(size + 3)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	memset(&ws, 0, sizeof(ws));
	if (scp_words_split(buf, "fuzz", &ws, &why) == 0) {
		for (i = 0; i < ws.n; i++)
			(void)scp_unescape(ws.w[i].text, lit, sizeof(lit));
		scp_words_free(&ws);
	}
	pat = buf + strlen(buf) + 1;
	if (pat <= buf + size) {
		name = pat + strlen(pat) + 1;
		if (name <= buf + size + 1)
			(void)scp_match(pat, name);
	}
	free(buf);
	return 0;
}
