/*
 * test_blocks.c — the rsync checksums: the weak rolling sum (csum1, with
 * its SSE2 path) against the byte-at-a-time definition, and XXH64 against
 * vectors from the reference library (libxxhash 0.8.1), whole and fed in
 * pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "rsync/extern.h"

/* rsync's definition: signed bytes, s1 the sum, s2 the sum of the s1s. */
static uint32_t
csum1_ref(const unsigned char *buf, size_t len)
{
	uint32_t s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		s1 += (uint32_t)(int32_t)(signed char)buf[i];
		s2 += s1;
	}
	return (s1 & 0xffff) + (s2 << 16);
}

static const struct {
	size_t len;
	uint64_t seed;
	uint64_t want;
} xxh_cases[] = {
	{ 0, 0, 0xef46db3751d8e999ULL },
	{ 1, 0, 0xa96c7f0ce858bbb7ULL },
	{ 3, 0, 0xbed43740ee6332bbULL },
	{ 4, 0, 0xfa212ae44b3bb23dULL },
	{ 7, 0, 0x2744460dd675d2c0ULL },
	{ 8, 0, 0x994b676b71ce94ddULL },
	{ 31, 0, 0x6711d55e306b5d8fULL },
	{ 32, 0, 0x07f7b8e3bc5d6e25ULL },
	{ 33, 0, 0x09f85eeb4e1cbe9fULL },
	{ 100, 0, 0x9ddada11d3dc2d8fULL },
	{ 1000, 0, 0x0bf0bdbcc82eb373ULL },
	{ 4096, 0, 0xcf05adf75aca30cfULL },
	{ 100, 0xffffffffdeadbeefULL, 0x0ae4d73e2798cd8cULL },
	{ 4096, 12345, 0xf56fb3d5be4df59aULL },
};

static uint64_t
xxh(const unsigned char *buf, size_t len, uint64_t seed, size_t piece)
{
	struct digest d;
	unsigned char out[SUM_LENGTH];
	uint64_t h = 0;
	size_t off, n;
	int i;

	memset(&d, 0, sizeof(d));
	if (digest_init(&d, CSUM_XXH64, seed) != 0)
		return 0;
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		digest_update(&d, buf + off, n);
	}
	digest_final(&d, out);
	digest_free(&d);
	for (i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

int
main(void)
{
	static const size_t lens[] = { 700, 4095, 4096, 32768, 32768 + 13,
	    131072 };
	static const size_t pieces[] = { 1, 5, 31, 32, 33, 4096 };
	unsigned char *buf;
	size_t i, k, len, off, bad;

	if ((buf = malloc(200000)) == NULL)
		return 1;

	/* XXH64: the reference library's byte i = i * 131 + 7. */
	for (i = 0; i < 4096; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (i = 0; i < sizeof(xxh_cases) / sizeof(xxh_cases[0]); i++) {
		for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
			if (pieces[k] != 4096 && xxh_cases[i].len < 64 &&
			    pieces[k] > 1)
				continue;
			CHECK_MSG(xxh(buf, xxh_cases[i].len, xxh_cases[i].seed,
			    pieces[k]) == xxh_cases[i].want,
			    "xxh64 of %zu bytes, seed %#llx, fed %zu at a time",
			    xxh_cases[i].len,
			    (unsigned long long)xxh_cases[i].seed, pieces[k]);
		}
	}

	/* csum1: every short length at every alignment, then blocks. */
	srand(1);
	for (i = 0; i < 200000; i++)
		buf[i] = (unsigned char)(rand() >> 7);
	bad = 0;
	for (len = 0; len <= 80; len++)
		for (off = 0; off < 16; off++)
			if (csum1(buf + off, len) != csum1_ref(buf + off, len))
				bad++;
	CHECK_MSG(bad == 0, "csum1: lengths 0-80 at 16 alignments (%zu wrong)",
	    bad);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		CHECK_MSG(csum1(buf + 3, lens[i]) == csum1_ref(buf + 3,
		    lens[i]), "csum1: %zu random bytes", lens[i]);
	/* The extremes of a signed byte, long enough to wrap s2. */
	memset(buf, 0x80, 131072);
	CHECK_MSG(csum1(buf, 131072) == csum1_ref(buf, 131072),
	    "csum1: 128 KiB of -128");
	memset(buf, 0x7f, 131072);
	CHECK_MSG(csum1(buf, 131072) == csum1_ref(buf, 131072),
	    "csum1: 128 KiB of 127");
	memset(buf, 0xff, 131072);
	CHECK_MSG(csum1(buf, 131071) == csum1_ref(buf, 131071),
	    "csum1: 128 KiB - 1 of -1");
	free(buf);
	return harness_done();
}
