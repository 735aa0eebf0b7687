/*
 * password.c — scrypt password hashes in a self-describing string.
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<key>
 *
 * salt and key are standard base64 without '=' padding (as in the PHC
 * string format).  The cost is read back from the string, so hashes made
 * at an older cost keep verifying after the default is raised; but only
 * within bounds (PW_MAX_*): the string comes from the database, and a
 * damaged or hostile row must not make a login allocate gigabytes or spin
 * for minutes.
 */
#include "password.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"

#define PW_MAX_LEN 1024
#define PW_SALT_LEN 16
#define PW_KEY_LEN 32
#define PW_PREFIX "$scrypt$"

/* Bounds on a cost read from an encoded string (or set by the hook). */
#define PW_MAX_LN 20
#define PW_MAX_R 32
#define PW_MAX_P 16
#define PW_MAX_MEM ((uint64_t)128 << 20)  /* 4x the default's 32 MiB */
#define PW_MAX_WORK ((uint64_t)1 << 21)   /* N*r*p, 8x the default */
/* Lengths accepted when decoding (we write 16 and 32). */
#define PW_SALT_MIN 8
#define PW_SALT_MAX 64
#define PW_KEY_MIN 16
#define PW_KEY_MAX 64

struct cost {
	int ln; /* log2 N */
	int r;
	int p;
};

static struct cost cur_cost = { 15, 8, 1 };

/*
 * Memory scrypt needs at this cost, as OpenSSL counts it:
 * 128*r*(N+2) for V plus 128*r*p for B.  0 if the cost is out of bounds.
 */
static uint64_t
cost_mem(const struct cost *c)
{
	uint64_t n, mem;

	if (c->ln < 1 || c->ln > PW_MAX_LN || c->r < 1 || c->r > PW_MAX_R ||
	    c->p < 1 || c->p > PW_MAX_P)
		return 0;
	n = (uint64_t)1 << c->ln;
	if (n * (uint64_t)c->r * (uint64_t)c->p > PW_MAX_WORK)
		return 0;
	mem = 128 * (uint64_t)c->r * (n + 2) + 128 * (uint64_t)c->r *
	    (uint64_t)c->p;
	if (mem > PW_MAX_MEM)
		return 0;
	return mem;
}

static int
derive(const char *pw, size_t pwlen, const unsigned char *salt,
    size_t saltlen, const struct cost *c, unsigned char *key, size_t keylen)
{
	uint64_t mem;

	if ((mem = cost_mem(c)) == 0)
		return COF_EINVAL;
	if (EVP_PBE_scrypt(pw, pwlen, salt, saltlen, (uint64_t)1 << c->ln,
	    (uint64_t)c->r, (uint64_t)c->p, mem, key, keylen) != 1)
		return COF_ECRYPTO;
	return 0;
}

/* Standard base64 of len bytes into out, without padding. */
static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
	int n;

	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
}

static int
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Decodes unpadded base64 in[0..len) into out (max bytes).  Strict: only
 * the alphabet, a length that is not 1 mod 4.  Returns the byte count or
 * -1.
 */
static int
b64_decode(const char *in, size_t len, unsigned char *out, size_t max)
{
	char tmp[128];
	unsigned char dec[96];
	size_t i, pad, n;
	int got;

	if (len == 0 || len % 4 == 1 || len + 3 > sizeof(tmp))
		return -1;
	for (i = 0; i < len; i++)
		if (!b64_char(in[i]))
			return -1;
	memcpy(tmp, in, len);
	pad = (4 - len % 4) % 4;
	for (i = 0; i < pad; i++)
		tmp[len + i] = '=';
	got = EVP_DecodeBlock(dec, (unsigned char *)tmp, (int)(len + pad));
	if (got < 0 || (size_t)got < pad)
		return -1;
	n = (size_t)got - pad;
	if (n > max)
		return -1;
	memcpy(out, dec, n);
	OPENSSL_cleanse(dec, sizeof(dec));
	return (int)n;
}

/* Reads a small decimal number followed by term; advances *sp. */
static int
parse_num(const char **sp, const char *key, char term, int *v)
{
	const char *s = *sp;
	size_t klen = strlen(key);
	int n = 0, digits = 0;

	if (strncmp(s, key, klen) != 0)
		return -1;
	s += klen;
	while (*s >= '0' && *s <= '9') {
		if (++digits > 3)
			return -1;
		n = n * 10 + (*s - '0');
		s++;
	}
	if (digits == 0 || *s != term)
		return -1;
	*sp = s + 1;
	*v = n;
	return 0;
}

struct decoded {
	struct cost cost;
	unsigned char salt[PW_SALT_MAX];
	size_t saltlen;
	unsigned char key[PW_KEY_MAX];
	size_t keylen;
};

static int
decode(const char *enc, struct decoded *d)
{
	const char *s = enc, *salt, *key;
	int n;

	if (strnlen(enc, 256) >= 256)
		return COF_EINVAL;
	if (strncmp(s, PW_PREFIX, strlen(PW_PREFIX)) != 0)
		return COF_EINVAL;
	s += strlen(PW_PREFIX);
	if (parse_num(&s, "ln=", ',', &d->cost.ln) != 0 ||
	    parse_num(&s, "r=", ',', &d->cost.r) != 0 ||
	    parse_num(&s, "p=", '$', &d->cost.p) != 0)
		return COF_EINVAL;
	if (cost_mem(&d->cost) == 0)
		return COF_EINVAL;
	salt = s;
	if ((key = strchr(salt, '$')) == NULL)
		return COF_EINVAL;
	n = b64_decode(salt, (size_t)(key - salt), d->salt, sizeof(d->salt));
	if (n < PW_SALT_MIN)
		return COF_EINVAL;
	d->saltlen = (size_t)n;
	key++;
	n = b64_decode(key, strlen(key), d->key, sizeof(d->key));
	if (n < PW_KEY_MIN)
		return COF_EINVAL;
	d->keylen = (size_t)n;
	return 0;
}

int
password_hash(const char *pw, char **out)
{
	unsigned char salt[PW_SALT_LEN], key[PW_KEY_LEN];
	char salt64[PW_SALT_LEN * 2], key64[PW_KEY_LEN * 2], buf[256];
	size_t len;
	int r;

	if (pw == NULL || out == NULL)
		return COF_EINVAL;
	len = strnlen(pw, PW_MAX_LEN + 1);
	if (len == 0 || len > PW_MAX_LEN)
		return COF_EINVAL;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return COF_ECRYPTO;
	if ((r = derive(pw, len, salt, sizeof(salt), &cur_cost, key,
	    sizeof(key))) != 0)
		goto out;
	b64_encode(salt, sizeof(salt), salt64);
	b64_encode(key, sizeof(key), key64);
	snprintf(buf, sizeof(buf), PW_PREFIX "ln=%d,r=%d,p=%d$%s$%s",
	    cur_cost.ln, cur_cost.r, cur_cost.p, salt64, key64);
	if ((*out = strdup(buf)) == NULL)
		r = COF_ENOMEM;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(key64, sizeof(key64));
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int
password_verify(const char *pw, const char *encoded)
{
	static const unsigned char dummy_salt[PW_SALT_LEN];
	struct decoded d;
	unsigned char key[PW_KEY_MAX];
	size_t len;
	int r;

	memset(&d, 0, sizeof(d));
	if (encoded == NULL) {
		/* No password: spend the same time, then refuse. */
		d.cost = cur_cost;
		memcpy(d.salt, dummy_salt, sizeof(dummy_salt));
		d.saltlen = sizeof(dummy_salt);
		d.keylen = PW_KEY_LEN;
		r = COF_EPERM;
	} else if ((r = decode(encoded, &d)) != 0)
		goto out;

	if (pw == NULL)
		pw = "";
	len = strnlen(pw, PW_MAX_LEN + 1);
	if (len > PW_MAX_LEN)
		len = PW_MAX_LEN + 1; /* cannot match; still hash, same time */
	if (derive(pw, len, d.salt, d.saltlen, &d.cost, key, d.keylen) != 0) {
		r = encoded == NULL ? COF_EPERM : COF_ECRYPTO;
		goto out;
	}
	if (encoded == NULL)
		goto out;
	if (len == 0 || len > PW_MAX_LEN)
		r = COF_EPERM;
	else
		r = CRYPTO_memcmp(key, d.key, d.keylen) == 0 ? 0 : COF_EPERM;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&d, sizeof(d));
	return r;
}

void
password_set_cost(int log2n, int r, int p)
{
	struct cost c = { log2n, r, p };

	/* Out-of-bounds costs are ignored: the old cost stays. */
	if (cost_mem(&c) != 0)
		cur_cost = c;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
