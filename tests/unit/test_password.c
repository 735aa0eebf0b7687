/*
 * test_password.c — scrypt hashing, verification, and the guards on what
 * an encoded string may ask for.  The cost is lowered for speed except in
 * the one test that checks the default cost is what new hashes get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "password.h"
#include "../lib/harness.h"

/* salt of 16 zero bytes and key of 32 zero bytes, unpadded base64 */
#define SALT0 "AAAAAAAAAAAAAAAAAAAAAA"
#define KEY0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

/* Encodings that must be refused with COF_EINVAL. */
static const char *const malformed[] = {
	"",
	"$",
	"scrypt",
	"$scrypt$",
	"$2b$10$abcdefghijklmnopqrstuv",
	"$argon2id$v=19$m=65536,t=3,p=4$" SALT0 "$" KEY0,
	"$scrypt$ln=10,r=8,p=1$" SALT0,			/* no key */
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$",		/* empty key */
	"$scrypt$ln=10,r=8,p=1$$" KEY0,			/* empty salt */
	"$scrypt$ln=10,r=8$" SALT0 "$" KEY0,		/* no p */
	"$scrypt$r=8,ln=10,p=1$" SALT0 "$" KEY0,	/* order */
	"$scrypt$ln=,r=8,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=-1,r=8,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=1x,r=8,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$" KEY0 "$",	/* extra field */
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$" KEY0 "=",	/* padding */
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$" KEY0 " ",
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$"
	    "AAAA*AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* bad char */
	"$scrypt$ln=10,r=8,p=1$" "AAAAA" "$" KEY0,	/* 1 mod 4 */
	"$scrypt$ln=10,r=8,p=1$" "AAAA" "$" KEY0,	/* salt too short */
	"$scrypt$ln=10,r=8,p=1$" SALT0 "$" "AAAAAAAA",	/* key too short */
	"$SCRYPT$ln=10,r=8,p=1$" SALT0 "$" KEY0,
	/* costs outside the bounds: memory, time, or nonsense */
	"$scrypt$ln=0,r=8,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=10,r=0,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=10,r=8,p=0$" SALT0 "$" KEY0,
	"$scrypt$ln=30,r=8,p=1$" SALT0 "$" KEY0,	/* 128 GiB */
	"$scrypt$ln=20,r=8,p=1$" SALT0 "$" KEY0,	/* 1 GiB */
	"$scrypt$ln=18,r=8,p=1$" SALT0 "$" KEY0,	/* 256 MiB */
	"$scrypt$ln=10,r=999,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=10,r=8,p=999$" SALT0 "$" KEY0,
	"$scrypt$ln=15,r=8,p=16$" SALT0 "$" KEY0,	/* 16x the work */
	"$scrypt$ln=9999,r=8,p=1$" SALT0 "$" KEY0,
	"$scrypt$ln=99999999999999999999,r=8,p=1$" SALT0 "$" KEY0,
};

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(void)
{
	char *h1 = NULL, *h2 = NULL, *h3 = NULL, *sp, *bad;
	char long_pw[1026];
	size_t i;
	int rc;

	/* The default cost is what the header promises. */
	CHECK_INT(password_hash("correct horse", &h3), 0);
	CHECK(h3 != NULL &&
	    strncmp(h3, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
	CHECK_INT(password_verify("correct horse", h3), 0);
	secret_free(h3);
	h3 = NULL;

	password_set_cost(4, 8, 1);

	/* round trip */
	CHECK_INT(password_hash("s3cret!", &h1), 0);
	CHECK(h1 != NULL && strncmp(h1, "$scrypt$ln=4,r=8,p=1$", 21) == 0);
	CHECK(h1 != NULL && strlen(h1) == strlen("$scrypt$ln=4,r=8,p=1$") +
	    22 + 1 + 43);
	CHECK_INT(password_verify("s3cret!", h1), 0);
	/* wrong passwords */
	CHECK_INT(password_verify("s3cret", h1), COF_EPERM);
	CHECK_INT(password_verify("s3cret!!", h1), COF_EPERM);
	CHECK_INT(password_verify("S3cret!", h1), COF_EPERM);
	CHECK_INT(password_verify("", h1), COF_EPERM);
	CHECK_INT(password_verify(NULL, h1), COF_EPERM);

	/* same password, different salt, different string; both verify */
	CHECK_INT(password_hash("s3cret!", &h2), 0);
	CHECK(h1 != NULL && h2 != NULL && strcmp(h1, h2) != 0);
	CHECK_INT(password_verify("s3cret!", h2), 0);

	/* a stored hash with the key changed no longer verifies */
	if ((bad = strdup(h1)) != NULL) {
		char *k = strrchr(bad, '$') + 1;

		*k = *k == 'A' ? 'B' : 'A';
		CHECK_INT(password_verify("s3cret!", bad), COF_EPERM);
		/* nor one with a changed salt */
		free(bad);
	}
	if ((bad = strdup(h1)) != NULL) {
		sp = strrchr(bad, '$');
		*sp = '\0';
		sp = strrchr(bad, '$') + 1;
		*sp = *sp == 'A' ? 'B' : 'A';
		*strchr(sp, '\0') = '$';
		CHECK_INT(password_verify("s3cret!", bad), COF_EPERM);
		free(bad);
	}
	/* a cost other than the current default still verifies */
	password_set_cost(5, 4, 2);
	CHECK_INT(password_verify("s3cret!", h1), 0);
	CHECK_INT(password_hash("other", &h3), 0);
	CHECK(h3 != NULL && strncmp(h3, "$scrypt$ln=5,r=4,p=2$", 21) == 0);
	CHECK_INT(password_verify("other", h3), 0);
	secret_free(h3);
	h3 = NULL;
	/* the hook ignores costs out of bounds */
	password_set_cost(40, 8, 1);
	CHECK_INT(password_hash("other", &h3), 0);
	CHECK(h3 != NULL && strncmp(h3, "$scrypt$ln=5,r=4,p=2$", 21) == 0);
	secret_free(h3);
	h3 = NULL;
	password_set_cost(4, 8, 1);

	/* password length bounds */
	CHECK_INT(password_hash("", &h3), COF_EINVAL);
	CHECK_INT(password_hash(NULL, &h3), COF_EINVAL);
	CHECK(h3 == NULL);
	memset(long_pw, 'p', 1024);
	long_pw[1024] = '\0';
	CHECK_INT(password_hash(long_pw, &h3), 0);
	CHECK_INT(password_verify(long_pw, h3), 0);
	long_pw[1023] = 'q';
	CHECK_INT(password_verify(long_pw, h3), COF_EPERM);
	long_pw[1023] = 'p';
	long_pw[1024] = 'p';
	long_pw[1025] = '\0';
	CHECK_INT(password_verify(long_pw, h3), COF_EPERM);
	CHECK_INT(password_hash(long_pw, &sp), COF_EINVAL);
	secret_free(h3);
	h3 = NULL;

	/* a hash of an empty password can never exist or match */
	CHECK_INT(password_verify("", "$scrypt$ln=4,r=8,p=1$" SALT0 "$" KEY0),
	    COF_EPERM);

	/* NULL encoded: an account without a password */
	CHECK_INT(password_verify("s3cret!", NULL), COF_EPERM);
	CHECK_INT(password_verify("", NULL), COF_EPERM);
	CHECK_INT(password_verify(NULL, NULL), COF_EPERM);

	/* malformed and out-of-bounds encodings */
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		double t0 = secs();

		rc = password_verify("s3cret!", malformed[i]);
		CHECK_MSG(rc == COF_EINVAL, "malformed[%zu] \"%s\" -> %d",
		    i, malformed[i], rc);
		/* refused by parsing, not by running the huge cost */
		CHECK_MSG(secs() - t0 < 0.5, "malformed[%zu] refused fast",
		    i);
	}

	/*
	 * NULL encoded spends about the time of a real verify at the same
	 * cost (checked at the default cost, loosely: within 4x).
	 */
	password_set_cost(15, 8, 1);
	CHECK_INT(password_hash("timing", &h3), 0);
	{
		double t0, real, dummy;

		t0 = secs();
		(void)password_verify("timing", h3);
		real = secs() - t0;
		t0 = secs();
		(void)password_verify("timing", NULL);
		dummy = secs() - t0;
		CHECK_MSG(dummy > real / 4 && dummy < real * 4,
		    "dummy verify %.3fs ~ real verify %.3fs", dummy, real);
	}
	secret_free(h3);

	secret_free(h1);
	secret_free(h2);
	secret_free(NULL);
	return harness_done();
}
