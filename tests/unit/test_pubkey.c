/*
 * test_pubkey.c — pubkey_parse and pubkey_fingerprint.
 *
 * Real keys come from ssh-keygen, run now into a temp dir, and their
 * fingerprints are checked against `ssh-keygen -lf`.  Hostile inputs are
 * built here byte by byte: each guard in the parser has a blob that only
 * that guard stops.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "pubkey.h"
#include "../lib/harness.h"

static char dir[64];

/* ---- helpers: ssh-keygen ------------------------------------------- */

static int
keygen(const char *type, int bits, const char *name, const char *comment)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t %s%s%.0d -N '' -C '%s' "
	    "-f '%s/%s' </dev/null >/dev/null 2>&1", type, bits ? " -b " : "",
	    bits, comment, dir, name);
	return system(cmd) == 0 ? 0 : -1;
}

/* The first line of dir/name.pub, malloc'd, newline kept. */
static char *
read_pub(const char *name)
{
	char path[256], line[20000];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return strdup(line);
}

/* The fingerprint `ssh-keygen -lf` prints for dir/name.pub. */
static int
keygen_fp(const char *name, char *fp, size_t len)
{
	char cmd[256], out[512], *sp, *end;
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -E sha256 -lf '%s/%s.pub'",
	    dir, name);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	ok = fgets(out, sizeof(out), p) != NULL;
	pclose(p);
	if (!ok || (sp = strchr(out, ' ')) == NULL)
		return -1;
	sp++;
	if ((end = strchr(sp, ' ')) == NULL)
		return -1;
	snprintf(fp, len, "%.*s", (int)(end - sp), sp);
	return 0;
}

/* ---- helpers: building blobs --------------------------------------- */

struct buf {
	unsigned char d[8192];
	size_t n;
};

static void
put_u32(struct buf *b, uint32_t v)
{
	b->d[b->n++] = (unsigned char)(v >> 24);
	b->d[b->n++] = (unsigned char)(v >> 16);
	b->d[b->n++] = (unsigned char)(v >> 8);
	b->d[b->n++] = (unsigned char)v;
}

static void
put_bytes(struct buf *b, const void *p, size_t len)
{
	put_u32(b, (uint32_t)len);
	memcpy(b->d + b->n, p, len);
	b->n += len;
}

static void
put_str(struct buf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

/* len bytes of value fill, first byte first. */
static void
put_filled(struct buf *b, size_t len, unsigned char first,
    unsigned char fill)
{
	unsigned char tmp[4096];

	memset(tmp, fill, len);
	if (len > 0)
		tmp[0] = first;
	put_bytes(b, tmp, len);
}

/* "TYPE base64(blob) comment" into a static line. */
static const char *
line_for(const char *type, const struct buf *b, const char *comment)
{
	static char line[16384];
	unsigned char b64[12000];

	EVP_EncodeBlock(b64, b->d, (int)b->n);
	snprintf(line, sizeof(line), "%s %s%s%s", type, (char *)b64,
	    comment ? " " : "", comment ? comment : "");
	return line;
}

static int
parse(const char *line, struct pubkey **k, char *err, size_t errlen)
{
	*k = NULL;
	return pubkey_parse(line, k, err, errlen);
}

/* Parses and expects COF_EINVAL with no key and a reason. */
static void
refuse(const char *what, const char *line, const char *reason)
{
	struct pubkey *k = (struct pubkey *)&k;	/* must stay untouched */
	char err[128] = "";
	int rc;

	rc = pubkey_parse(line, &k, err, sizeof(err));
	CHECK_MSG(rc == COF_EINVAL && k == (struct pubkey *)&k && err[0],
	    "refuse %s: rc %d, \"%s\"", what, rc, err);
	if (reason != NULL)
		CHECK_MSG(strstr(err, reason) != NULL,
		    "refuse %s: reason \"%s\" has \"%s\"", what, err, reason);
	if (rc == 0 && k != (struct pubkey *)&k)
		pubkey_free(k);
}

/* ---- real keys ----------------------------------------------------- */

static const struct {
	const char *type;	/* ssh-keygen -t */
	int bits;		/* ssh-keygen -b, 0 default */
	const char *name;
	const char *wire;	/* expected type string */
	unsigned want_bits;
	int ok;
} real[] = {
	{ "ed25519", 0, "ed", "ssh-ed25519", 256, 1 },
	{ "ecdsa", 256, "ec256", "ecdsa-sha2-nistp256", 256, 1 },
	{ "ecdsa", 384, "ec384", "ecdsa-sha2-nistp384", 384, 1 },
	{ "ecdsa", 521, "ec521", "ecdsa-sha2-nistp521", 521, 1 },
	{ "rsa", 2048, "rsa2048", "ssh-rsa", 2048, 1 },
	{ "rsa", 2047, "rsa2047", "ssh-rsa", 2047, 0 },
	{ "rsa", 1024, "rsa1024", "ssh-rsa", 1024, 0 },
};

static void
test_real(void)
{
	struct pubkey *k;
	char err[128], fp[128], work[20000], *line, *p;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		if (keygen(real[i].type, real[i].bits, real[i].name,
		    "user@host") != 0 || (line = read_pub(real[i].name)) ==
		    NULL) {
			CHECK_MSG(0, "ssh-keygen %s %d", real[i].type,
			    real[i].bits);
			continue;
		}
		rc = parse(line, &k, err, sizeof(err));
		if (!real[i].ok) {
			CHECK_MSG(rc == COF_EINVAL && k == NULL &&
			    strstr(err, "too small") != NULL,
			    "%s refused: %d \"%s\"", real[i].name, rc, err);
			free(line);
			continue;
		}
		CHECK_MSG(rc == 0 && k != NULL, "%s parses: %d \"%s\"",
		    real[i].name, rc, err);
		if (k == NULL) {
			free(line);
			continue;
		}
		CHECK_STR(k->type, real[i].wire);
		CHECK_INT(k->bits, real[i].want_bits);
		CHECK_STR(k->comment, "user@host");
		CHECK(keygen_fp(real[i].name, fp, sizeof(fp)) == 0);
		CHECK_STR(k->fingerprint, fp);
		CHECK(strlen(k->fingerprint) == 50 &&
		    strchr(k->fingerprint, '=') == NULL);
		/* pubkey_fingerprint of the blob is the same */
		CHECK(pubkey_fingerprint(k->blob, k->blob_len, fp) == 0 &&
		    strcmp(fp, k->fingerprint) == 0);
		pubkey_free(k);

		/* without comment, without newline, CRLF, spaces, tabs */
		snprintf(work, sizeof(work), "%s", line);
		p = strrchr(work, ' ');
		*p = '\0';
		CHECK(parse(work, &k, err, sizeof(err)) == 0 && k != NULL &&
		    strcmp(k->comment, "") == 0);
		pubkey_free(k);
		strcat(work, "\r\n");
		CHECK(parse(work, &k, err, sizeof(err)) == 0 && k != NULL &&
		    strcmp(k->comment, "") == 0);
		pubkey_free(k);
		strcpy(p, "   two words\there  \n");
		CHECK(parse(work, &k, err, sizeof(err)) == 0 && k != NULL &&
		    strcmp(k->comment, "two words\there") == 0);
		pubkey_free(k);
		free(line);
	}
}

/* Line-level refusals, built on a real ed25519 line. */
static void
test_lines(void)
{
	struct pubkey *k;
	char *ed, *rsa, line[20000], err[128], *b64, *sp;
	size_t n;

	if ((ed = read_pub("ed")) == NULL || (rsa = read_pub("rsa2048")) ==
	    NULL) {
		CHECK_MSG(0, "keys from test_real");
		return;
	}
	ed[strcspn(ed, "\n")] = '\0';
	rsa[strcspn(rsa, "\n")] = '\0';
	b64 = strchr(ed, ' ') + 1;
	sp = strchr(b64, ' ');
	n = (size_t)(sp - b64);

	refuse("empty", "", "empty");
	refuse("blank", "   \n", "empty");
	refuse("garbage", "hello world", "unsupported");
	refuse("type only", "ssh-ed25519", "missing");
	refuse("type only + space", "ssh-ed25519 ", "missing");
	refuse("dsa", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unsupported");
	refuse("cert", "ssh-ed25519-cert-v01@openssh.com AAAA", "unsupported");

	snprintf(line, sizeof(line), "from=\"10.0.0.1\" %s", ed);
	refuse("options from=", line, "options");
	snprintf(line, sizeof(line), "no-pty %s", ed);
	refuse("options no-pty", line, "options");
	snprintf(line, sizeof(line), "command=\"echo hi there\",no-pty %s",
	    ed);
	refuse("options command=", line, "options");

	/* base64: cut, bad characters, misplaced padding */
	snprintf(line, sizeof(line), "ssh-ed25519 %.*s x", (int)n - 1, b64);
	refuse("base64 cut by 1", line, "base64");
	snprintf(line, sizeof(line), "ssh-ed25519 %.*s x", (int)n - 4, b64);
	refuse("base64 cut by 4", line, NULL);
	snprintf(line, sizeof(line), "ssh-ed25519 %.*s x", 20, b64);
	refuse("base64 cut to 20", line, NULL);
	snprintf(line, sizeof(line), "ssh-ed25519 %.*s!%s x", 10, b64,
	    b64 + 11);
	refuse("base64 bad char", line, "base64");
	refuse("base64 only padding", "ssh-ed25519 ====", "base64");
	refuse("base64 inner padding", "ssh-ed25519 AA==AAAA", "base64");
	refuse("base64 triple pad", "ssh-ed25519 A===", "base64");

	/* type on the line differs from the blob's */
	snprintf(line, sizeof(line), "ssh-rsa %s", b64);
	refuse("type mismatch", line, "does not match");
	snprintf(line, sizeof(line), "ecdsa-sha2-nistp256 %s", b64);
	refuse("type mismatch ecdsa", line, "does not match");
	snprintf(line, sizeof(line), "ssh-ed25519 %s", strchr(rsa, ' ') + 1);
	refuse("type mismatch rsa blob", line, "does not match");

	/* control characters and NUL-free tricks */
	snprintf(line, sizeof(line), "%s evil\033[2J", ed);
	refuse("escape in comment", line, "control");
	snprintf(line, sizeof(line), "%s a\rb", ed);
	refuse("CR in comment", line, "control");

	/* line length: 16 KiB with the newline is fine, one more is not */
	snprintf(line, sizeof(line), "%s ", ed);
	n = strlen(line);
	memset(line + n, 'c', 16384 - n - 1);
	line[16383] = '\n';
	line[16384] = '\0';
	k = NULL;
	CHECK_MSG(pubkey_parse(line, &k, err, sizeof(err)) == 0 && k != NULL,
	    "16384-byte line accepted");
	pubkey_free(k);
	line[16383] = 'c';
	line[16384] = '\n';
	line[16385] = '\0';
	refuse("16385-byte line", line, "too long");

	/* NULL arguments; a NULL errbuf is allowed */
	CHECK_INT(pubkey_parse(NULL, &k, err, sizeof(err)), COF_EINVAL);
	CHECK_INT(pubkey_parse("x", &k, NULL, 0), COF_EINVAL);
	k = NULL;
	CHECK(pubkey_parse(ed, &k, NULL, 0) == 0 && k != NULL);
	pubkey_free(k);
	pubkey_free(NULL);
	free(ed);
	free(rsa);
}

/* Hand-made blobs, one per guard. */
static void
test_blobs(void)
{
	static const unsigned char k32[32] = { 1, 2, 3 };
	struct pubkey *k;
	struct buf b;
	char err[128];

#define RESET() memset(&b, 0, sizeof(b))

	/* ed25519: exact, short, long, trailing byte, truncated length */
	RESET();
	put_str(&b, "ssh-ed25519");
	put_bytes(&b, k32, 32);
	CHECK(parse(line_for("ssh-ed25519", &b, NULL), &k, err,
	    sizeof(err)) == 0 && k != NULL && k->blob_len == b.n &&
	    memcmp(k->blob, b.d, b.n) == 0 && strcmp(k->comment, "") == 0);
	pubkey_free(k);
	b.d[b.n++] = 0;
	refuse("ed25519 trailing byte", line_for("ssh-ed25519", &b, NULL),
	    "trailing");
	RESET();
	put_str(&b, "ssh-ed25519");
	put_bytes(&b, k32, 31);
	refuse("ed25519 31 bytes", line_for("ssh-ed25519", &b, NULL),
	    "ed25519");
	RESET();
	put_str(&b, "ssh-ed25519");
	put_filled(&b, 33, 1, 1);
	refuse("ed25519 33 bytes", line_for("ssh-ed25519", &b, NULL),
	    "ed25519");
	RESET();
	put_str(&b, "ssh-ed25519");
	put_u32(&b, 32);	/* says 32, has 4 */
	put_u32(&b, 0);
	refuse("ed25519 length past end", line_for("ssh-ed25519", &b, NULL),
	    "ed25519");
	RESET();
	put_str(&b, "ssh-ed25519");
	put_u32(&b, 0xffffffffu);
	refuse("ed25519 huge length", line_for("ssh-ed25519", &b, NULL),
	    "ed25519");
	RESET();
	put_str(&b, "ssh-ed25519");
	refuse("ed25519 no key", line_for("ssh-ed25519", &b, NULL), NULL);
	RESET();
	put_u32(&b, 100);
	refuse("type string past end", line_for("ssh-ed25519", &b, NULL),
	    "does not match");
	RESET();
	put_str(&b, "ssh-ed25519x");
	put_bytes(&b, k32, 32);
	refuse("type string longer", line_for("ssh-ed25519", &b, NULL),
	    "does not match");

	/* ecdsa: curve, point length, point form */
	RESET();
	put_str(&b, "ecdsa-sha2-nistp256");
	put_str(&b, "nistp256");
	put_filled(&b, 65, 4, 7);
	CHECK(parse(line_for("ecdsa-sha2-nistp256", &b, "c"), &k, err,
	    sizeof(err)) == 0 && k != NULL && k->bits == 256);
	pubkey_free(k);
	RESET();
	put_str(&b, "ecdsa-sha2-nistp256");
	put_str(&b, "nistp384");
	put_filled(&b, 65, 4, 7);
	refuse("ecdsa curve mismatch", line_for("ecdsa-sha2-nistp256", &b,
	    NULL), "curve");
	RESET();
	put_str(&b, "ecdsa-sha2-nistp384");
	put_str(&b, "nistp384");
	put_filled(&b, 65, 4, 7);
	refuse("ecdsa 384 with 65-byte point",
	    line_for("ecdsa-sha2-nistp384", &b, NULL), "point");
	RESET();
	put_str(&b, "ecdsa-sha2-nistp521");
	put_str(&b, "nistp521");
	put_filled(&b, 133, 4, 7);
	CHECK(parse(line_for("ecdsa-sha2-nistp521", &b, NULL), &k, err,
	    sizeof(err)) == 0 && k != NULL && k->bits == 521);
	pubkey_free(k);
	RESET();
	put_str(&b, "ecdsa-sha2-nistp256");
	put_str(&b, "nistp256");
	put_filled(&b, 33, 2, 7);
	refuse("ecdsa compressed point", line_for("ecdsa-sha2-nistp256", &b,
	    NULL), "point");
	RESET();
	put_str(&b, "ecdsa-sha2-nistp256");
	put_str(&b, "nistp256");
	put_filled(&b, 65, 2, 7);
	refuse("ecdsa point not 0x04", line_for("ecdsa-sha2-nistp256", &b,
	    NULL), "point");
	RESET();
	put_str(&b, "ecdsa-sha2-nistp256");
	put_str(&b, "nistp256");
	put_filled(&b, 65, 4, 7);
	put_str(&b, "x");
	refuse("ecdsa trailing", line_for("ecdsa-sha2-nistp256", &b, NULL),
	    "trailing");

	/* rsa: e and n as minimal positive mpints, n >= 2048 bits */
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);		/* e = 65537 */
	put_filled(&b, 257, 0, 0xc5);		/* 00 c5 c5 ... */
	b.d[b.n - 256] = 0x80;			/* top byte 0x80: 2048 */
	CHECK(parse(line_for("ssh-rsa", &b, NULL), &k, err, sizeof(err)) ==
	    0 && k != NULL && k->bits == 2048);
	pubkey_free(k);
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 256, 0x7f, 0xc5);	/* 2047 bits */
	refuse("rsa 2047 bits", line_for("ssh-rsa", &b, NULL), "too small");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 256, 0xc5, 0xc5);	/* sign bit: negative */
	refuse("rsa negative n", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 258, 0, 0);		/* 00 00 ...: not minimal */
	b.d[b.n - 256] = 0x80;
	refuse("rsa n extra zero", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 257, 0, 0x45);		/* 00 45 ...: not minimal */
	refuse("rsa n needless zero", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 0x81, 1);		/* e negative */
	put_filled(&b, 257, 0, 0xc5);
	refuse("rsa negative e", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 0, 0, 0);		/* e empty (zero) */
	put_filled(&b, 257, 0, 0xc5);
	refuse("rsa zero e", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 257, 0, 0xc5);
	put_filled(&b, 1, 0, 0);
	refuse("rsa trailing", line_for("ssh-rsa", &b, NULL), "trailing");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	refuse("rsa no n", line_for("ssh-rsa", &b, NULL), "rsa");
	RESET();
	put_str(&b, "ssh-rsa");
	put_filled(&b, 3, 1, 1);
	put_filled(&b, 2050, 0x7f, 0xc5);	/* 16399 bits */
	refuse("rsa too large", line_for("ssh-rsa", &b, NULL), NULL);
#undef RESET
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/coffer-test-pubkey.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_real();
	test_lines();
	test_blobs();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	return harness_done();
}
