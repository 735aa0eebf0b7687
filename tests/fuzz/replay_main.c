/*
 * Replays a fuzz corpus through a target's LLVMFuzzerTestOneInput, as a
 * plain program (no libFuzzer needed): `replay_X DIR`.  Prints one
 * "ok" line per input, so a crash shows which one.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (argc != 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: replay CORPUS-DIR\n");
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		FILE *f;
		uint8_t *buf;
		long len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		if (len < 0 || (buf = malloc((size_t)len + 1)) == NULL) {
			fclose(f);
			continue;
		}
		if (fread(buf, 1, (size_t)len, f) == (size_t)len) {
			LLVMFuzzerTestOneInput(buf, (size_t)len);
			n++;
		}
		free(buf);
		fclose(f);
	}
	closedir(d);
	printf("ok - replayed %d inputs from %s\n", n, argv[1]);
	return 0;
}
