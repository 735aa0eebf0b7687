/* test_size.c — size_parse and size_format. */
#include <stdint.h>

#include "err.h"
#include "../lib/harness.h"
#include "size.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)
#define PiB ((uint64_t)1 << 50)
#define EiB ((uint64_t)1 << 60)

static const struct {
	const char *in;
	int rc;
	uint64_t want;
} parse_cases[] = {
	{ "0", 0, 0 },
	{ "4096", 0, 4096 },
	{ "4096B", 0, 4096 },
	{ "4096b", 0, 4096 },
	{ "1K", 0, KiB },
	{ "1k", 0, KiB },
	{ "10KiB", 0, 10 * KiB },
	{ "10kib", 0, 10 * KiB },
	{ "10KB", 0, 10 * KiB },
	{ "500M", 0, 500 * MiB },
	{ "500MiB", 0, 500 * MiB },
	{ "25G", 0, 25 * GiB },
	{ "25GB", 0, 25 * GiB },
	{ "1.5T", 0, TiB + TiB / 2 },
	{ "2P", 0, 2 * PiB },
	{ "1E", 0, EiB },
	{ "15E", 0, 15 * EiB },
	{ "1.5", 0, 1 },		/* bytes: rounded down */
	{ "1.9999", 0, 1 },
	{ "0.5K", 0, 512 },
	{ "0.1K", 0, 102 },		/* 102.4 rounded down */
	{ "0.001K", 0, 1 },		/* 1.024 */
	{ "0.0009K", 0, 0 },		/* 0.9216 */
	/* long fractions are exact: 0.999... * 1024 stays below 1024 */
	{ "0.99999999999999999999999999K", 0, 1023 },
	{ "1.00000000000000000000000001K", 0, 1024 },
	{ "25 G", 0, 25 * GiB },	/* as size_format prints */
	{ "25.0 GiB", 0, 25 * GiB },
	{ "007", 0, 7 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551615B", 0, UINT64_MAX },
	{ "15.999999999999999999E", 0, UINT64_MAX - 1 },
	/* overflow */
	{ "18446744073709551616", COF_ERANGE, 0 },
	{ "99999999999999999999999", COF_ERANGE, 0 },
	{ "16E", COF_ERANGE, 0 },
	{ "16384P", COF_ERANGE, 0 },
	{ "16383P", 0, 16383 * PiB },
	{ "17179869184G", COF_ERANGE, 0 },
	{ "17179869183G", 0, 17179869183ULL * GiB },
	/* syntax */
	{ "", COF_EINVAL, 0 },
	{ "1.2.3", COF_EINVAL, 0 },
	{ "-1", COF_EINVAL, 0 },
	{ "+1", COF_EINVAL, 0 },
	{ "5X", COF_EINVAL, 0 },
	{ " 5G", COF_EINVAL, 0 },
	{ "5G ", COF_EINVAL, 0 },
	{ "5 ", COF_EINVAL, 0 },
	{ "5  G", COF_EINVAL, 0 },
	{ "G", COF_EINVAL, 0 },
	{ ".5G", COF_EINVAL, 0 },
	{ "5.G", COF_EINVAL, 0 },
	{ "5.", COF_EINVAL, 0 },
	{ "5Gi", COF_EINVAL, 0 },
	{ "5GiBB", COF_EINVAL, 0 },
	{ "5iB", COF_EINVAL, 0 },
	{ "5BB", COF_EINVAL, 0 },
	{ "1e3", COF_EINVAL, 0 },
	{ "0x10", COF_EINVAL, 0 },
	{ "5,5G", COF_EINVAL, 0 },
	{ "5\tG", COF_EINVAL, 0 },
	{ "5Z", COF_EINVAL, 0 },
	/* syntax is checked before range: a bad long string is EINVAL */
	{ "99999999999999999999999X", COF_EINVAL, 0 },
};

static const struct {
	uint64_t in;
	const char *want;
} fmt_cases[] = {
	{ 0, "0 B" },
	{ 1, "1 B" },
	{ 512, "512 B" },
	{ 1023, "1023 B" },
	{ 1024, "1.0 KiB" },
	{ 1536, "1.5 KiB" },
	{ 1024 * 1024 - 1, "1023.9 KiB" },	/* rounded down */
	{ 1024 * 1024, "1.0 MiB" },
	{ 25 * GiB, "25.0 GiB" },
	{ TiB + TiB / 2, "1.5 TiB" },
	{ PiB, "1.0 PiB" },
	{ EiB, "1.0 EiB" },
	{ UINT64_MAX, "15.9 EiB" },
};

int
main(void)
{
	char buf[SIZE_FMT_LEN];
	uint64_t v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		v = 0xdeadbeef;
		rc = size_parse(parse_cases[i].in, &v);
		CHECK_MSG(rc == parse_cases[i].rc, "size_parse(\"%s\") rc %d "
		    "want %d", parse_cases[i].in, rc, parse_cases[i].rc);
		if (parse_cases[i].rc == 0)
			CHECK_MSG(v == parse_cases[i].want, "size_parse(\"%s\")"
			    " = %" PRIu64 " want %" PRIu64, parse_cases[i].in,
			    v, parse_cases[i].want);
		else
			CHECK_MSG(v == 0xdeadbeef, "size_parse(\"%s\") leaves "
			    "*out alone on error", parse_cases[i].in);
	}
	CHECK_INT(size_parse(NULL, &v), COF_EINVAL);

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++)
		CHECK_STR(size_format(fmt_cases[i].in, buf), fmt_cases[i].want);

	/* format then parse never gives more than the original */
	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		size_format(fmt_cases[i].in, buf);
		rc = size_parse(buf, &v);
		CHECK_MSG(rc == 0 && v <= fmt_cases[i].in,
		    "size_parse(size_format(%" PRIu64 ")) <= original",
		    fmt_cases[i].in);
	}
	return harness_done();
}
