/*
 * pubkey.c — OpenSSH public-key lines and their wire blobs.
 *
 * A line is "TYPE BASE64 [COMMENT]".  The blob is the SSH wire encoding
 * (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4): uint32-length-prefixed
 * strings and mpints, read by the bounded getters below, each of which
 * returns 0 or -1 and never reads past the end.  Every key type's fields
 * are checked to their exact lengths, and the blob must end right after
 * them.
 */
#include "pubkey.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"

#define PUBKEY_LINE_MAX (16 * 1024)
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

/* A read cursor over a blob. */
struct rd {
	const unsigned char *p;
	size_t left;
};

static int
get_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

/* A string: *s points into the blob, *len bytes. */
static int
get_string(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (get_u32(r, &n) != 0 || n > r->left)
		return -1;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* A string that must equal want exactly. */
static int
get_cstring_eq(struct rd *r, const char *want)
{
	const unsigned char *s;
	size_t len;

	if (get_string(r, &s, &len) != 0 || len != strlen(want) ||
	    memcmp(s, want, len) != 0)
		return -1;
	return 0;
}

/*
 * A positive mpint in minimal form (RFC 4251 5): no needless leading
 * zero, no sign bit set.  *bits gets its bit length.
 */
static int
get_mpint_pos(struct rd *r, unsigned *bits)
{
	const unsigned char *s;
	size_t len;
	unsigned b;

	if (get_string(r, &s, &len) != 0 || len == 0)
		return -1;
	if (s[0] & 0x80)
		return -1; /* negative */
	if (s[0] == 0) {
		/* Only allowed to keep the next byte's top bit clear. */
		if (len == 1 || !(s[1] & 0x80))
			return -1;
		s++;
		len--;
	}
	if (len > RSA_MAX_BITS / 8 + 1)
		return -1;
	for (b = 8; b > 0 && !(s[0] & (1u << (b - 1))); b--)
		;
	*bits = (unsigned)(len - 1) * 8 + b;
	return 0;
}

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

struct keytype {
	const char *name;
	const char *curve; /* ecdsa: curve name in the blob */
	size_t point_len;  /* ecdsa: uncompressed point length */
	unsigned bits;
};

static const struct keytype keytypes[] = {
	{ "ssh-ed25519", NULL, 0, 256 },
	{ "ecdsa-sha2-nistp256", "nistp256", 65, 256 },
	{ "ecdsa-sha2-nistp384", "nistp384", 97, 384 },
	{ "ecdsa-sha2-nistp521", "nistp521", 133, 521 },
	{ "ssh-rsa", NULL, 0, 0 },
};

static const struct keytype *
keytype_find(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strlen(keytypes[i].name) == len &&
		    memcmp(keytypes[i].name, s, len) == 0)
			return &keytypes[i];
	return NULL;
}

/*
 * Checks the fields of blob for type kt.  Returns 0 and the key size in
 * *bits, or -1 with a reason in errbuf.
 */
static int
check_blob(const struct keytype *kt, const unsigned char *blob, size_t len,
    unsigned *bits, char *errbuf, size_t errlen)
{
	struct rd r = { blob, len };
	const unsigned char *s;
	size_t slen;
	unsigned ebits, nbits;

	if (get_cstring_eq(&r, kt->name) != 0) {
		seterr(errbuf, errlen, "key type does not match the key data");
		return -1;
	}
	if (strcmp(kt->name, "ssh-ed25519") == 0) {
		if (get_string(&r, &s, &slen) != 0 || slen != 32) {
			seterr(errbuf, errlen, "bad ed25519 key data");
			return -1;
		}
		*bits = kt->bits;
	} else if (kt->curve != NULL) {
		if (get_cstring_eq(&r, kt->curve) != 0) {
			seterr(errbuf, errlen, "ecdsa curve does not match "
			    "the key type");
			return -1;
		}
		if (get_string(&r, &s, &slen) != 0 ||
		    slen != kt->point_len || s[0] != 0x04) {
			seterr(errbuf, errlen, "bad ecdsa point");
			return -1;
		}
		*bits = kt->bits;
	} else {
		if (get_mpint_pos(&r, &ebits) != 0 || ebits < 2 ||
		    get_mpint_pos(&r, &nbits) != 0) {
			seterr(errbuf, errlen, "bad rsa key data");
			return -1;
		}
		if (nbits < RSA_MIN_BITS) {
			seterr(errbuf, errlen, "rsa key of %u bits is too "
			    "small (%u needed)", nbits, RSA_MIN_BITS);
			return -1;
		}
		if (nbits > RSA_MAX_BITS) {
			seterr(errbuf, errlen, "rsa key too large");
			return -1;
		}
		*bits = nbits;
	}
	if (r.left != 0) {
		seterr(errbuf, errlen, "trailing bytes after the key data");
		return -1;
	}
	return 0;
}

static int
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Decodes padded base64 s[0..len) into a malloc'd buffer.  The input
 * must be whole 4-character groups of the alphabet, '=' only as the last
 * one or two characters.  EVP_DecodeBlock counts padding as zero bytes;
 * they are taken off here.
 */
static int
b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t i, pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > PUBKEY_LINE_MAX)
		return COF_EINVAL;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!b64_char(s[i]))
			return COF_EINVAL;
	if ((buf = malloc(len / 4 * 3)) == NULL)
		return COF_ENOMEM;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return COF_EINVAL;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

int
pubkey_fingerprint(const unsigned char *blob, size_t len, char *fp)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char b64[64];
	unsigned int mdlen;
	int n;

	if (blob == NULL || fp == NULL)
		return COF_EINVAL;
	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return COF_ECRYPTO;
	n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	snprintf(fp, PUBKEY_FP_LEN, "SHA256:%.43s", b64);
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* 1 if a whitespace-separated token of s[0..len) is a key type name. */
static int
later_keytype(const char *s, size_t len)
{
	const char *end = s + len, *t;

	while (s < end) {
		while (s < end && is_space(*s))
			s++;
		t = s;
		while (s < end && !is_space(*s))
			s++;
		if (s > t && keytype_find(t, (size_t)(s - t)) != NULL)
			return 1;
	}
	return 0;
}

int
pubkey_parse(const char *line, struct pubkey **out, char *errbuf,
    size_t errlen)
{
	const struct keytype *kt;
	const char *p, *tok, *b64, *cmt;
	size_t len, toklen, b64len, cmtlen, i;
	struct pubkey *k = NULL;
	unsigned char *blob = NULL;
	size_t bloblen = 0;
	unsigned bits;
	int r = COF_EINVAL;

	seterr(errbuf, errlen, "invalid key");
	if (line == NULL || out == NULL)
		return COF_EINVAL;
	len = strnlen(line, PUBKEY_LINE_MAX + 1);
	if (len > PUBKEY_LINE_MAX) {
		seterr(errbuf, errlen, "line too long");
		return COF_EINVAL;
	}
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			seterr(errbuf, errlen, "control character in line");
			return COF_EINVAL;
		}
	}

	p = line;
	while (p < line + len && is_space(*p))
		p++;
	tok = p;
	while (p < line + len && !is_space(*p))
		p++;
	toklen = (size_t)(p - tok);
	if (toklen == 0) {
		seterr(errbuf, errlen, "empty line");
		return COF_EINVAL;
	}
	if ((kt = keytype_find(tok, toklen)) == NULL) {
		/* A known type later on means options came first. */
		if (later_keytype(p, (size_t)(line + len - p)))
			seterr(errbuf, errlen, "key options are not allowed");
		else
			seterr(errbuf, errlen, "unsupported key type \"%.*s\"",
			    (int)(toklen > 40 ? 40 : toklen), tok);
		return COF_EINVAL;
	}

	while (p < line + len && is_space(*p))
		p++;
	b64 = p;
	while (p < line + len && !is_space(*p))
		p++;
	b64len = (size_t)(p - b64);
	if (b64len == 0) {
		seterr(errbuf, errlen, "missing key data");
		return COF_EINVAL;
	}
	while (p < line + len && is_space(*p))
		p++;
	cmt = p;
	cmtlen = (size_t)(line + len - cmt);
	while (cmtlen > 0 && is_space(cmt[cmtlen - 1]))
		cmtlen--;

	if ((r = b64_decode(b64, b64len, &blob, &bloblen)) != 0) {
		seterr(errbuf, errlen, r == COF_ENOMEM ? "out of memory" :
		    "key data is not valid base64");
		goto out;
	}
	if (check_blob(kt, blob, bloblen, &bits, errbuf, errlen) != 0) {
		r = COF_EINVAL;
		goto out;
	}

	r = COF_ENOMEM;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->type = strdup(kt->name)) == NULL ||
	    (k->comment = strndup(cmt, cmtlen)) == NULL) {
		seterr(errbuf, errlen, "out of memory");
		goto out;
	}
	if ((r = pubkey_fingerprint(blob, bloblen, k->fingerprint)) != 0) {
		seterr(errbuf, errlen, "fingerprint failed");
		goto out;
	}
	k->blob = blob;
	k->blob_len = bloblen;
	k->bits = bits;
	blob = NULL;
	*out = k;
	k = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	r = 0;
out:
	pubkey_free(k);
	free(blob);
	return r;
}

void
pubkey_free(struct pubkey *k)
{
	if (k == NULL)
		return;
	free(k->type);
	free(k->blob);
	free(k->comment);
	free(k);
}
