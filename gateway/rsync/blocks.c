/*
 * blocks.c — checksums and delta transfer.
 *
 * The weak sum is rsync's rolling checksum over signed bytes: s1 is the
 * sum of the bytes, s2 the sum of the running s1 values; the sum is
 * (s1 & 0xffff) | s2 << 16, and sliding the window by one byte costs two
 * additions.  The strong sum is MD5 through OpenSSL EVP, seeded with the
 * session's checksum seed (before the data when the client sent the 'C'
 * capability, after it otherwise); the whole-file checksum is unseeded.
 *
 * The generator (receiver side) cuts its basis file into blocks (about
 * the square root of its length, 700 bytes to 128 KiB) and sends each
 * block's weak sum and a prefix of its strong sum.  The sender slides a
 * window over its file, looks the weak sum up in a hash table, confirms
 * with the strong sum and sends tokens: literal data (at most CHUNK_SIZE
 * per token), -(k+1) for "block k", 0 to end, then the file checksum
 * (token.c encodes them, compressed with -z).
 *
 * With a client that negotiates checksums (rsync 3.2+), the strong and
 * whole-file sums are XXH64 (seeded with the checksum seed for blocks,
 * 0 for whole files), written little-endian: an order of magnitude
 * cheaper than MD5 per byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "extern.h"
#include "log.h"

#define READ_BUF (1024 * 1024)

/* -- XXH64 (the public xxHash specification) ----------------------------- */

#define P64_1 0x9E3779B185EBCA87ULL
#define P64_2 0xC2B2AE3D27D4EB4FULL
#define P64_3 0x165667B19E3779F9ULL
#define P64_4 0x85EBCA77C2B2AE63ULL
#define P64_5 0x27D4EB2F165667C5ULL

static uint64_t
rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* Little-endian loads, as one load where the machine is little-endian
 * (a loop over the bytes cost xxh64 four fifths of its speed). */
static uint64_t
le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static uint64_t
le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static uint64_t
xx_round(uint64_t acc, uint64_t lane)
{
	acc += lane * P64_2;
	acc = rotl64(acc, 31);
	return acc * P64_1;
}

static void
xx_init(struct xxh64 *x, uint64_t seed)
{
	x->seed = seed;
	x->v[0] = seed + P64_1 + P64_2;
	x->v[1] = seed + P64_2;
	x->v[2] = seed;
	x->v[3] = seed - P64_1;
	x->total = 0;
	x->n = 0;
}

static void
xx_stripes(struct xxh64 *x, const unsigned char *p, size_t n)
{
	uint64_t v0 = x->v[0], v1 = x->v[1], v2 = x->v[2], v3 = x->v[3];

	for (; n >= 32; p += 32, n -= 32) {
		v0 = xx_round(v0, le64(p));
		v1 = xx_round(v1, le64(p + 8));
		v2 = xx_round(v2, le64(p + 16));
		v3 = xx_round(v3, le64(p + 24));
	}
	x->v[0] = v0;
	x->v[1] = v1;
	x->v[2] = v2;
	x->v[3] = v3;
}

static void
xx_update(struct xxh64 *x, const unsigned char *p, size_t n)
{
	size_t k;

	x->total += n;
	if (x->n > 0) {
		k = 32 - x->n < n ? 32 - x->n : n;
		memcpy(x->buf + x->n, p, k);
		x->n += k;
		p += k;
		n -= k;
		if (x->n < 32)
			return;
		xx_stripes(x, x->buf, 32);
		x->n = 0;
	}
	k = n & ~(size_t)31;
	xx_stripes(x, p, k);
	memcpy(x->buf, p + k, n - k);
	x->n = n - k;
}

static uint64_t
xx_final(const struct xxh64 *x)
{
	const unsigned char *p = x->buf;
	size_t n = x->n;
	uint64_t h;
	int i;

	if (x->total >= 32) {
		h = rotl64(x->v[0], 1) + rotl64(x->v[1], 7) +
		    rotl64(x->v[2], 12) + rotl64(x->v[3], 18);
		for (i = 0; i < 4; i++) {
			h ^= xx_round(0, x->v[i]);
			h = h * P64_1 + P64_4;
		}
	} else
		h = x->seed + P64_5;
	h += x->total;
	for (; n >= 8; p += 8, n -= 8) {
		h ^= xx_round(0, le64(p));
		h = rotl64(h, 27) * P64_1 + P64_4;
	}
	if (n >= 4) {
		h ^= le32(p) * P64_1;
		h = rotl64(h, 23) * P64_2 + P64_3;
		p += 4;
		n -= 4;
	}
	for (; n > 0; p++, n--) {
		h ^= *p * P64_5;
		h = rotl64(h, 11) * P64_1;
	}
	h ^= h >> 33;
	h *= P64_2;
	h ^= h >> 29;
	h *= P64_3;
	h ^= h >> 32;
	return h;
}

/* -- the rolling sum and the digests -------------------------------------- */

#ifdef __SSE2__
/*
 * The weak sum's s1 and s2 over the 16-byte pieces of buf (len rounded
 * down to 16), on top of *s1 and *s2; returns the bytes summed.  Over a
 * piece x[0..15] entered with s1 = S, s2 grows by 16 * S + the sum of
 * (16 - j) * x[j], and s1 by the sum of x[j]: pmaddwd makes both sums of
 * the bytes (sign-extended, as rsync sums them), and vprev keeps the
 * running S of every piece.  All of it modulo 2^32, as the plain loop.
 */
static size_t
csum1_sse2(const unsigned char *buf, size_t len, uint32_t *s1, uint32_t *s2)
{
	const __m128i one = _mm_set1_epi16(1);
	const __m128i wlo = _mm_setr_epi16(16, 15, 14, 13, 12, 11, 10, 9);
	const __m128i whi = _mm_setr_epi16(8, 7, 6, 5, 4, 3, 2, 1);
	__m128i vs1 = _mm_setzero_si128(), vprev = vs1, vw = vs1, t;
	uint32_t l1[4], lp[4], lw[4];
	size_t i, n = len & ~(size_t)15;

	for (i = 0; i < n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(buf + i));
		__m128i lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
		__m128i hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);

		vprev = _mm_add_epi32(vprev, vs1);
		t = _mm_add_epi32(_mm_madd_epi16(lo, one),
		    _mm_madd_epi16(hi, one));
		vs1 = _mm_add_epi32(vs1, t);
		t = _mm_add_epi32(_mm_madd_epi16(lo, wlo),
		    _mm_madd_epi16(hi, whi));
		vw = _mm_add_epi32(vw, t);
	}
	_mm_storeu_si128((__m128i *)l1, vs1);
	_mm_storeu_si128((__m128i *)lp, vprev);
	_mm_storeu_si128((__m128i *)lw, vw);
	*s2 += 16 * (*s1 * (uint32_t)(n / 16) + lp[0] + lp[1] + lp[2] +
	    lp[3]) + lw[0] + lw[1] + lw[2] + lw[3];
	*s1 += l1[0] + l1[1] + l1[2] + l1[3];
	return n;
}
#endif

uint32_t
csum1(const unsigned char *buf, size_t len)
{
	uint32_t s1 = 0, s2 = 0;
	size_t i = 0;

#ifdef __SSE2__
	i = csum1_sse2(buf, len, &s1, &s2);
#endif
	for (; i + 4 <= len; i += 4) {
		uint32_t a = (uint32_t)(int32_t)(signed char)buf[i];
		uint32_t b = (uint32_t)(int32_t)(signed char)buf[i + 1];
		uint32_t c = (uint32_t)(int32_t)(signed char)buf[i + 2];
		uint32_t d = (uint32_t)(int32_t)(signed char)buf[i + 3];

		s2 += 4 * (s1 + a) + 3 * b + 2 * c + d;
		s1 += a + b + c + d;
	}
	for (; i < len; i++) {
		s1 += (uint32_t)(int32_t)(signed char)buf[i];
		s2 += s1;
	}
	return (s1 & 0xffff) + (s2 << 16);
}

int
digest_init(struct digest *d, int type, uint64_t seed)
{
	EVP_MD_CTX *ctx;

	d->type = type;
	if (type == CSUM_XXH64) {
		xx_init(&d->x, seed);
		return 0;
	}
	if (d->ctx == NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL)
			return RS_ENOMEM;
		d->ctx = ctx;
	}
	if (EVP_DigestInit_ex(d->ctx, EVP_md5(), NULL) != 1)
		return RS_ENOMEM;
	return 0;
}

void
digest_update(struct digest *d, const void *buf, size_t len)
{
	if (d->type == CSUM_XXH64)
		xx_update(&d->x, buf, len);
	else if (len > 0)
		EVP_DigestUpdate(d->ctx, buf, len);
}

void
digest_final(struct digest *d, unsigned char *out)
{
	unsigned int n = 0;
	uint64_t h;
	int i;

	if (d->type == CSUM_XXH64) {
		h = xx_final(&d->x);
		for (i = 0; i < 8; i++)
			out[i] = (unsigned char)(h >> (8 * i));
		return;
	}
	EVP_DigestFinal_ex(d->ctx, out, &n);
}

void
digest_free(struct digest *d)
{
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}

int
csum2(const struct sess *s, struct digest *d, const unsigned char *buf,
    size_t len, unsigned char *out)
{
	unsigned char seed[4];
	int rc;

	memset(out, 0, SUM_LENGTH);
	if (s->csum == CSUM_XXH64) {
		/* The seed as rsync passes it: an int, sign-extended. */
		if ((rc = digest_init(d, s->csum,
		    (uint64_t)(int64_t)s->seed)) != 0)
			return rc;
		digest_update(d, buf, len);
		digest_final(d, out);
		return 0;
	}
	seed[0] = (unsigned char)s->seed;
	seed[1] = (unsigned char)(s->seed >> 8);
	seed[2] = (unsigned char)(s->seed >> 16);
	seed[3] = (unsigned char)(s->seed >> 24);
	if ((rc = digest_init(d, s->csum, 0)) != 0)
		return rc;
	if (s->seed != 0 && s->seed_fix)
		digest_update(d, seed, 4);
	digest_update(d, buf, len);
	if (s->seed != 0 && !s->seed_fix)
		digest_update(d, seed, 4);
	digest_final(d, out);
	return 0;
}

int
file_csum(struct sess *s, const char *path, unsigned char *out)
{
	struct fs_file *f = NULL;
	struct digest d;
	unsigned char *buf = NULL;
	uint64_t off = 0;
	size_t got;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = fs_open(s->fs, path, O_RDONLY, 0, &f)) != 0)
		return rc;
	if ((buf = malloc(READ_BUF)) == NULL ||
	    digest_init(&d, s->csum, 0) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		if ((rc = fs_pread(s->fs, f, buf, READ_BUF, off, &got)) != 0)
			goto out;
		if (got == 0)
			break;
		digest_update(&d, buf, got);
		off += got;
	}
	digest_final(&d, out);
	rc = 0;
out:
	digest_free(&d);
	free(buf);
	fs_close(s->fs, f, NULL, NULL);
	return rc;
}

void
sums_layout(const struct sess *s, int64_t len, int full, struct sums *sm)
{
	int64_t l, blen;
	int32_t c, b;

	memset(sm, 0, sizeof(*sm));
	if (len <= 0)
		return;
	if (s->o.block_size > 0)
		blen = s->o.block_size;
	else if (len <= (int64_t)BLOCK_SIZE * BLOCK_SIZE)
		blen = BLOCK_SIZE;
	else {
		for (c = 1, l = len; (l >>= 2) != 0; c <<= 1)
			;
		if (c >= MAX_BLOCK_SIZE)
			blen = MAX_BLOCK_SIZE;
		else {
			blen = 0;
			do {
				blen |= c;
				if (len < blen * blen)
					blen &= ~(int64_t)c;
				c >>= 1;
			} while (c >= 8);
			if (blen < BLOCK_SIZE)
				blen = BLOCK_SIZE;
		}
	}
	if (full)
		sm->s2length = SUM_LENGTH;
	else {
		b = BLOCKSUM_BIAS;
		for (l = len; (l >>= 1) != 0; b += 2)
			;
		for (c = (int32_t)blen; (c >>= 1) != 0 && b != 0; b--)
			;
		sm->s2length = (b + 1 - 32 + 7) / 8;
		if (sm->s2length < SHORT_SUM_LENGTH)
			sm->s2length = SHORT_SUM_LENGTH;
	}
	if (sm->s2length > s->csum_len)
		sm->s2length = s->csum_len;
	sm->blength = (int32_t)blen;
	sm->remainder = (int32_t)(len % blen);
	l = len / blen + (sm->remainder != 0);
	if (l > RS_SUMS_MAX) {
		/* Too many blocks: whole-file transfer instead. */
		memset(sm, 0, sizeof(*sm));
		return;
	}
	sm->count = (int32_t)l;
}

int
sums_write_head(struct sess *s, const struct sums *sm)
{
	int rc;

	if ((rc = io_write_int(s, sm->count)) != 0 ||
	    (rc = io_write_int(s, sm->blength)) != 0 ||
	    (rc = io_write_int(s, sm->s2length)) != 0)
		return rc;
	return io_write_int(s, sm->remainder);
}

int
sums_read_head(struct sess *s, struct sums *sm)
{
	int rc;

	memset(sm, 0, sizeof(*sm));
	if ((rc = io_read_int(s, &sm->count)) != 0 ||
	    (rc = io_read_int(s, &sm->blength)) != 0 ||
	    (rc = io_read_int(s, &sm->s2length)) != 0 ||
	    (rc = io_read_int(s, &sm->remainder)) != 0)
		return rc;
	if (sm->count < 0 || sm->blength < 0 ||
	    sm->blength > MAX_BLOCK_SIZE || (sm->count > 0 &&
	    sm->blength == 0) || sm->s2length < 0 ||
	    sm->s2length > SUM_LENGTH || sm->remainder < 0 ||
	    sm->remainder > sm->blength)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "bad block sum header (count %d, length %d, strong %d, "
		    "remainder %d)", (int)sm->count, (int)sm->blength,
		    (int)sm->s2length, (int)sm->remainder);
	return 0;
}

int
sums_send(struct sess *s, struct fs_file *f, int64_t len, int full,
    size_t *bytes)
{
	struct sums sm;
	struct digest d;
	unsigned char *buf = NULL, strong[SUM_LENGTH];
	uint64_t off = 0;
	int32_t i = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	sums_layout(s, len, full, &sm);
	if ((rc = sums_write_head(s, &sm)) != 0)
		return rc;
	if (bytes != NULL)
		*bytes = 16 + (size_t)sm.count * (4 + (size_t)sm.s2length);
	if (sm.count == 0)
		return 0;
	if ((buf = malloc(READ_BUF + MAX_BLOCK_SIZE)) == NULL) {
		rc = RS_ENOMEM;
		goto out;
	}
	while (i < sm.count) {
		size_t want = (READ_BUF / (size_t)sm.blength) *
		    (size_t)sm.blength, have = 0, got, p;

		if (want == 0)
			want = (size_t)sm.blength;
		while (have < want) {
			if (fs_pread(s->fs, f, buf + have, want - have,
			    off + have, &got) != 0 || got == 0)
				break;
			have += got;
		}
		if (have < want)
			memset(buf + have, 0, want - have);
		for (p = 0; p < want && i < sm.count; i++) {
			size_t bl = (i == sm.count - 1 && sm.remainder) ?
			    (size_t)sm.remainder : (size_t)sm.blength;

			if ((rc = csum2(s, &d, buf + p, bl, strong)) != 0 ||
			    (rc = io_write_int(s, (int32_t)csum1(buf + p,
			    bl))) != 0 || (rc = io_write(s, strong,
			    (size_t)sm.s2length)) != 0)
				goto out;
			p += bl;
		}
		off += want;
	}
	rc = 0;
out:
	digest_free(&d);
	free(buf);
	return rc;
}

void
sums_free(struct sums *sm)
{
	free(sm->sum1);
	free(sm->sum2);
	free(sm->chain);
	free(sm->head);
	memset(sm, 0, sizeof(*sm));
}

static uint32_t
hash_of(uint32_t sum, uint32_t mask)
{
	return (sum * 2654435761u) >> 7 & mask;
}

int
sums_recv(struct sess *s, struct sums *sm, int *dropped)
{
	unsigned char skip[SUM_LENGTH];
	uint32_t size;
	int32_t i, w;
	int rc;

	*dropped = 0;
	if ((rc = sums_read_head(s, sm)) != 0)
		return rc;
	if (sm->count == 0)
		return 0;
	if (sm->count > RS_SUMS_MAX) {
		/* Drain them and send the whole file instead. */
		*dropped = 1;
		for (i = 0; i < sm->count; i++)
			if ((rc = io_read_int(s, &w)) != 0 ||
			    (rc = io_read(s, skip, (size_t)sm->s2length)) != 0)
				return rc;
		return 0;
	}
	for (size = 1024; size < (uint32_t)sm->count; size <<= 1)
		;
	sm->hmask = size - 1;
	sm->sum1 = malloc((size_t)sm->count * sizeof(*sm->sum1));
	sm->sum2 = malloc((size_t)sm->count * (size_t)sm->s2length + 1);
	sm->chain = malloc((size_t)sm->count * sizeof(*sm->chain));
	sm->head = malloc((size_t)size * sizeof(*sm->head));
	if (sm->sum1 == NULL || sm->sum2 == NULL || sm->chain == NULL ||
	    sm->head == NULL) {
		sums_free(sm);
		return RS_ENOMEM;
	}
	for (i = 0; i < sm->count; i++) {
		if ((rc = io_read_int(s, &w)) != 0 ||
		    (rc = io_read(s, sm->sum2 + (size_t)i *
		    (size_t)sm->s2length, (size_t)sm->s2length)) != 0) {
			sums_free(sm);
			return rc;
		}
		sm->sum1[i] = (uint32_t)w;
	}
	memset(sm->head, 0xff, (size_t)size * sizeof(*sm->head));
	for (i = sm->count - 1; i >= 0; i--) {
		uint32_t h = hash_of(sm->sum1[i], sm->hmask);

		sm->chain[i] = sm->head[h];
		sm->head[h] = i;
	}
	return 0;
}

/* -- the sender's side of a delta ---------------------------------------- */

struct scan {
	struct sess *s;
	struct fs_file *f;
	unsigned char *buf;  /* file bytes [boff, boff + blen) */
	size_t cap, blen;
	uint64_t boff;
	int eof;
	struct digest whole; /* checksum of everything sent */
	struct digest blk;   /* strong sums of windows */
};

/* Literal data [from, to) from the buffer, in CHUNK_SIZE tokens. */
static int
send_literal(struct scan *sc, uint64_t from, uint64_t to)
{
	int rc;

	while (from < to) {
		size_t n = to - from > CHUNK_SIZE ? CHUNK_SIZE :
		    (size_t)(to - from);
		const unsigned char *p = sc->buf + (from - sc->boff);

		if ((rc = tok_send_literal(sc->s, p, n)) != 0)
			return rc;
		digest_update(&sc->whole, p, n);
		from += n;
	}
	return 0;
}

/* Keeps [keep, ...) and reads on until the buffer is full or at EOF. */
static int
refill(struct scan *sc, uint64_t keep)
{
	size_t k = (size_t)(sc->boff + sc->blen - keep), got;
	int rc;

	memmove(sc->buf, sc->buf + (keep - sc->boff), k);
	sc->boff = keep;
	sc->blen = k;
	while (!sc->eof && sc->blen < sc->cap) {
		rc = fs_pread(sc->s->fs, sc->f, sc->buf + sc->blen,
		    sc->cap - sc->blen, sc->boff + sc->blen, &got);
		if (rc != 0)
			return rc;
		if (got == 0)
			sc->eof = 1;
		sc->blen += got;
	}
	return 0;
}

/* The block matching the window at p (len bytes, weak sum), or -1. */
static int32_t
find_block(struct scan *sc, const struct sums *sm, uint32_t sum,
    const unsigned char *p, int32_t len, uint64_t pos, int32_t want,
    int inplace)
{
	unsigned char strong[SUM_LENGTH];
	int have_strong = 0;
	int32_t i, cand[2] = { want, -1 };
	int k;

	cand[1] = sm->head[hash_of(sum, sm->hmask)];
	for (k = 0; k < 2; k++) {
		for (i = cand[k]; i >= 0 && i < sm->count;
		    i = k == 0 ? -1 : sm->chain[i]) {
			int32_t bl = (i == sm->count - 1 && sm->remainder) ?
			    sm->remainder : sm->blength;

			if (sm->sum1[i] != sum || bl != len)
				continue;
			/* --inplace: a block before the write position is
			 * already overwritten on the receiver. */
			if (inplace && (uint64_t)i * (uint64_t)sm->blength <
			    pos && (uint64_t)i * (uint64_t)sm->blength != pos)
				continue;
			if (!have_strong) {
				if (csum2(sc->s, &sc->blk, p, (size_t)len,
				    strong) != 0)
					return -1;
				have_strong = 1;
			}
			/* A generator may send more strong-sum bytes than the
			 * digest has (xxh64 is 8): compare what is real. */
			if (memcmp(strong, sm->sum2 + (size_t)i *
			    (size_t)sm->s2length, (size_t)(sm->s2length <
			    sc->s->csum_len ? sm->s2length :
			    sc->s->csum_len)) == 0)
				return i;
		}
	}
	return -1;
}

int
delta_send(struct sess *s, struct fs_file *f, const struct sums *sm,
    const char *name)
{
	struct scan sc;
	unsigned char fsum[SUM_LENGTH];
	uint64_t pos = 0, lit = 0;
	uint32_t s1 = 0, s2 = 0;
	int32_t L = 0, want = 0, k;
	int have = 0, rc;

	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	sc.f = f;
	sc.cap = READ_BUF + MAX_BLOCK_SIZE + CHUNK_SIZE;
	if ((sc.buf = malloc(sc.cap)) == NULL ||
	    digest_init(&sc.whole, s->csum, 0) != 0) {
		rc = RS_ENOMEM;
		goto out;
	}
	if (sm->count == 0) {
		/* No basis: the whole file as literal data. */
		for (;;) {
			if ((rc = refill(&sc, sc.boff + sc.blen)) != 0)
				goto fail;
			if (sc.blen == 0)
				break;
			if ((rc = send_literal(&sc, sc.boff, sc.boff +
			    sc.blen)) != 0)
				goto out;
			if (sc.eof)
				break;
		}
		goto end;
	}
	for (;;) {
		uint64_t end;

		if (!sc.eof && pos + (uint64_t)sm->blength + 1 >
		    sc.boff + sc.blen && (rc = refill(&sc, lit)) != 0)
			goto fail;
		end = sc.boff + sc.blen;
		if (pos >= end)
			break;
		if (!have) {
			L = end - pos < (uint64_t)sm->blength ?
			    (int32_t)(end - pos) : sm->blength;
			k = (int32_t)csum1(sc.buf + (pos - sc.boff),
			    (size_t)L);
			s1 = (uint32_t)k & 0xffff;
			s2 = (uint32_t)k >> 16;
			have = 1;
		}
		k = find_block(&sc, sm, (s1 & 0xffff) | s2 << 16,
		    sc.buf + (pos - sc.boff), L, pos, want, s->o.inplace);
		if (k >= 0) {
			if ((rc = send_literal(&sc, lit, pos)) != 0 ||
			    (rc = tok_send_block(s, k, sc.buf + (pos - sc.boff),
			    (size_t)L)) != 0)
				goto out;
			digest_update(&sc.whole, sc.buf + (pos - sc.boff),
			    (size_t)L);
			pos += (uint64_t)L;
			lit = pos;
			want = k + 1;
			have = 0;
			continue;
		}
		if (pos - lit >= CHUNK_SIZE) {
			rc = send_literal(&sc, lit, lit + CHUNK_SIZE);
			if (rc != 0)
				goto out;
			lit += CHUNK_SIZE;
		}
		{
			uint32_t out = (uint32_t)(int32_t)(signed char)
			    sc.buf[pos - sc.boff];

			s1 -= out;
			s2 -= (uint32_t)L * out;
			if (pos + (uint64_t)L < end) {
				s1 += (uint32_t)(int32_t)(signed char)
				    sc.buf[pos + (uint64_t)L - sc.boff];
				s2 += s1;
			} else
				L--;
		}
		pos++;
		if (L == 0)
			have = 0;
	}
	if ((rc = send_literal(&sc, lit, pos)) != 0)
		goto out;
end:
	digest_final(&sc.whole, fsum);
	if ((rc = tok_send_end(s)) != 0 ||
	    (rc = io_write(s, fsum, (size_t)s->csum_len)) != 0)
		goto out;
	rc = 0;
	goto out;
fail:
	/* A read error mid-file: the data sent so far can't be taken
	 * back; end the stream with a checksum that can't match, so the
	 * client discards the file. */
	sess_xfer_error(s, "read errors mapping \"%s\": %s", name,
	    strerror(rc < 0 ? -rc : EIO));
	s->io_error |= IOERR_GENERAL;
	memset(fsum, 0, sizeof(fsum));
	if ((rc = tok_send_end(s)) == 0)
		rc = io_write(s, fsum, (size_t)s->csum_len);
out:
	digest_free(&sc.whole);
	digest_free(&sc.blk);
	free(sc.buf);
	return rc;
}
