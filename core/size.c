/*
 * size.c — byte sizes: parse what people write, print what people read.
 *
 * Parsing is in two passes: first the whole string is checked against
 * DIGITS [ "." DIGITS ] [ " " ] [ SUFFIX ], then the value is computed
 * with every multiplication and addition checked for overflow.  The
 * fraction is multiplied out exactly (digit by digit, from the right), so
 * "1.5T" is 1.5 * 2^40 to the byte and long fractions cannot lose a byte
 * to floating point.
 */
#include "size.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* Unit letters in order; the shift of letter i is 10 * (i + 1). */
static const char size_units[] = "KMGTPE";

/*
 * Suffix to a power-of-two shift: "" and "B" are 0; "K", "KB", "KiB"
 * (any case) are 10, and so on.  Returns 0 or COF_EINVAL.
 */
static int
suffix_shift(const char *s, unsigned *shift)
{
	const char *p;

	if (*s == '\0' || strcasecmp(s, "b") == 0) {
		*shift = 0;
		return 0;
	}
	p = strchr(size_units, s[0] >= 'a' && s[0] <= 'z' ? s[0] - 32 : s[0]);
	if (p == NULL || *p == '\0')
		return COF_EINVAL;
	if (s[1] != '\0' && strcasecmp(s + 1, "b") != 0 &&
	    strcasecmp(s + 1, "ib") != 0)
		return COF_EINVAL;
	*shift = 10 * (unsigned)(p - size_units + 1);
	return 0;
}

int
size_parse(const char *s, uint64_t *out)
{
	const char *ip, *ipend, *fp = NULL, *fpend = NULL, *p;
	uint64_t whole = 0, mult, frac, carry, v;
	unsigned shift;
	int r;

	if (s == NULL)
		return COF_EINVAL;

	/* Syntax first, so a long bad string is EINVAL, not ERANGE. */
	ip = p = s;
	while (*p >= '0' && *p <= '9')
		p++;
	ipend = p;
	if (ipend == ip)
		return COF_EINVAL;
	if (*p == '.') {
		fp = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		fpend = p;
		if (fpend == fp)
			return COF_EINVAL;
	}
	/* One space may separate number and unit, as size_format() prints. */
	if (*p == ' ' && p[1] != '\0')
		p++;
	if ((r = suffix_shift(p, &shift)) != 0)
		return r;

	for (p = ip; p < ipend; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return COF_ERANGE;
		whole = whole * 10 + d;
	}
	mult = (uint64_t)1 << shift;
	if (whole > UINT64_MAX >> shift)
		return COF_ERANGE;
	whole <<= shift;

	/*
	 * floor(0.d1d2...dk * mult): long multiplication of the digit
	 * string by mult, keeping only the carry out of the k fraction
	 * places.  carry stays below mult, so 9 * mult + carry < 2^64.
	 */
	frac = 0;
	if (fp != NULL && shift > 0) {
		carry = 0;
		for (p = fpend; p > fp; p--) {
			v = (uint64_t)(p[-1] - '0') * mult + carry;
			carry = v / 10;
		}
		frac = carry;
	}
	if (frac > UINT64_MAX - whole)
		return COF_ERANGE;
	*out = whole + frac;
	return 0;
}

char *
size_format(uint64_t n, char *buf)
{
	unsigned u = 0, shift;
	uint64_t whole, rem, tenth;

	while (u < sizeof(size_units) - 1 && (n >> (10 * (u + 1))) != 0)
		u++;
	if (u == 0) {
		snprintf(buf, SIZE_FMT_LEN, "%" PRIu64 " B", n);
		return buf;
	}
	shift = 10 * u;
	whole = n >> shift;
	rem = n & (((uint64_t)1 << shift) - 1);
	/* Rounded down: a size is never shown larger than it is. */
	tenth = (rem * 10) >> shift;
	/* whole < 1024 and tenth < 10 here. */
	snprintf(buf, SIZE_FMT_LEN, "%u.%u %ciB", (unsigned)whole,
	    (unsigned)tenth, size_units[u - 1]);
	return buf;
}
