/*
 * token.c — the file-data token stream, plain or compressed (-z).
 *
 * Plain (no -z): an int32 n > 0 followed by n literal bytes, -(k+1) for
 * "block k of the basis", 0 to end the file.
 *
 * Compressed ("zlibx", negotiated or --new-compress): one raw deflate
 * stream per file, cut into frames by a flag byte:
 *
 *   0x00                 end of file
 *   0x40 | hi, lo        DEFLATED_DATA: hi:lo (14 bits) compressed bytes
 *   0x80 | r             block last_end + r (r < 64)
 *   0xc0 | r, lo, hi     blocks last_end + r and the next lo:hi after it
 *   0x20, int32 k        block k
 *   0x21, int32 k, lo, hi  block k and the next lo:hi after it
 *
 * where last_end is the last block of the previous token (0 at the start
 * of a file).  Before any block token or the end, the sender makes a sync
 * flush and leaves out its last 4 bytes (00 00 ff ff, always the same);
 * the receiver puts them back into its inflater when it sees the token.
 * In "zlibx" matched blocks never enter the compressor's history.  In the
 * old "zlib" (-z from clients before 3.2, --old-compress) they do, on both
 * sides, right after their token, in pieces of at most 65535 bytes (and
 * before protocol 31 every piece starts at the block's start again, a bug
 * both sides keep): the sender adds them to its deflater's window with
 * deflateSetDictionary (raw deflate allows it at a block boundary, where
 * the sync flush leaves it; rsync's own zlib has Z_INSERT_ONLY for this),
 * the receiver inflates them as stored blocks it makes up and throws the
 * output away.
 *
 * Every size from the wire is bounded: a compressed frame is at most
 * ZT_MAX_DATA bytes (14 bits), inflated output goes through a fixed
 * ZT_DBUF buffer, block numbers stay within RS_SUMS_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "extern.h"

#define ZT_END 0x00
#define ZT_LONG 0x20      /* block number follows as int32 */
#define ZT_LONG_RUN 0x21  /* ... and a 16-bit run length */
#define ZT_DATA 0x40      /* compressed data, 14-bit length */
#define ZT_REL 0x80       /* relative block number in the low 6 bits */
#define ZT_REL_RUN 0xc0   /* ... and a 16-bit run length */
#define ZT_MAX_DATA 16383 /* largest compressed frame */
#define ZT_OBUF (2 * ZT_MAX_DATA + 8)
#define ZT_DBUF CHUNK_SIZE
#define ZT_MAX_RUN 65535
#define ZT_SEE_PIECE 0xffff /* matched data enters the history in these */

enum zt_rstate { ZR_IDLE = 0, ZR_INFLATING, ZR_INFLATED, ZR_RUN };

struct ztok {
	/* Sender. */
	z_stream tx;             /* the deflater */
	int tx_ready;            /* deflateInit2 done */
	unsigned char *obuf;     /* deflate output not yet framed */
	size_t olen;             /* bytes in obuf */
	int dirty;               /* data deflated since the last flush */
	int run;                 /* a run of blocks is pending */
	int32_t run_start;       /* its first block */
	int32_t last_tok;        /* its last block */
	int32_t last_end;        /* last block of the previous run sent */
	/* Receiver. */
	z_stream rx;             /* the inflater */
	int rx_ready;            /* inflateInit2 done */
	enum zt_rstate rstate;   /* where the stream is */
	int32_t rx_tok;          /* last block number received */
	int32_t rx_run;          /* blocks left in the current run */
	unsigned char *cbuf;     /* one compressed frame (ZT_MAX_DATA) */
	unsigned char *dbuf;     /* inflated data (ZT_DBUF) */
	size_t dpos, dlen;       /* unread inflated data is dbuf[dpos, dlen) */
};

static int
zt_get(struct sess *s, struct ztok **out)
{
	struct ztok *z = s->ztok;

	if (z == NULL) {
		if ((z = calloc(1, sizeof(*z))) == NULL)
			return RS_ENOMEM;
		s->ztok = z;
	}
	*out = z;
	return 0;
}

void
tok_free(struct sess *s)
{
	struct ztok *z = s->ztok;

	if (z == NULL)
		return;
	if (z->tx_ready)
		deflateEnd(&z->tx);
	if (z->rx_ready)
		inflateEnd(&z->rx);
	free(z->obuf);
	free(z->cbuf);
	free(z->dbuf);
	free(z);
	s->ztok = NULL;
}

/* -- sender ------------------------------------------------------------- */

static int
tx_ready(struct sess *s, struct ztok **out)
{
	struct ztok *z;
	int rc, level;

	if ((rc = zt_get(s, &z)) != 0)
		return rc;
	if (!z->tx_ready) {
		level = s->o.compress_level;
		if (level < 0)
			level = Z_DEFAULT_COMPRESSION;
		else if (level > 9)
			level = 9;
		if ((z->obuf = malloc(ZT_OBUF)) == NULL)
			return RS_ENOMEM;
		if (deflateInit2(&z->tx, level, Z_DEFLATED, -15, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return RS_ENOMEM;
		z->tx_ready = 1;
	}
	*out = z;
	return 0;
}

/* Sends obuf[0, n) as DEFLATED_DATA frames and drops it from obuf. */
static int
tx_frames(struct sess *s, struct ztok *z, size_t n)
{
	size_t done = 0, k;
	unsigned char hdr[2];
	int rc;

	while (done < n) {
		k = n - done > ZT_MAX_DATA ? ZT_MAX_DATA : n - done;
		hdr[0] = (unsigned char)(ZT_DATA | (k >> 8));
		hdr[1] = (unsigned char)(k & 0xff);
		if ((rc = io_write(s, hdr, 2)) != 0 ||
		    (rc = io_write(s, z->obuf + done, k)) != 0)
			return rc;
		done += k;
	}
	memmove(z->obuf, z->obuf + n, z->olen - n);
	z->olen -= n;
	return 0;
}

/* Runs deflate until the input is taken (and, flushing, all output is
 * out), sending full frames; 4 bytes always stay behind in obuf. */
static int
tx_deflate(struct sess *s, struct ztok *z, int flush)
{
	int r, rc;

	for (;;) {
		z->tx.next_out = z->obuf + z->olen;
		z->tx.avail_out = (uInt)(ZT_OBUF - z->olen);
		r = deflate(&z->tx, flush);
		z->olen = ZT_OBUF - z->tx.avail_out;
		if (r != Z_OK && r != Z_BUF_ERROR)
			return sess_fail(s, RS_EIO, RERR_STREAMIO,
			    "compression failed (deflate %d)", r);
		if (z->olen >= ZT_MAX_DATA + 4 &&
		    (rc = tx_frames(s, z, z->olen - 4)) != 0)
			return rc;
		if (z->tx.avail_in == 0 && z->tx.avail_out != 0)
			return 0;
	}
}

/* Sync flush of the data deflated since the last one; its 4-byte
 * trailer (00 00 ff ff) stays off the wire. */
static int
tx_flush(struct sess *s, struct ztok *z)
{
	static const unsigned char mark[4] = { 0, 0, 0xff, 0xff };
	int rc;

	if (!z->dirty)
		return 0;
	z->tx.next_in = NULL;
	z->tx.avail_in = 0;
	if ((rc = tx_deflate(s, z, Z_SYNC_FLUSH)) != 0)
		return rc;
	if (z->olen < 4 || memcmp(z->obuf + z->olen - 4, mark, 4) != 0)
		return sess_fail(s, RS_EIO, RERR_STREAMIO,
		    "compression failed (no sync marker)");
	z->olen -= 4;
	if ((rc = tx_frames(s, z, z->olen)) != 0)
		return rc;
	z->dirty = 0;
	return 0;
}

/* Sends the pending run of blocks, if any. */
static int
tx_run(struct sess *s, struct ztok *z)
{
	int32_t r = z->run_start - z->last_end;
	int32_t n = z->last_tok - z->run_start;
	int rc;

	if (!z->run)
		return 0;
	if (r >= 0 && r <= 63)
		rc = io_write_byte(s, (uint8_t)((n == 0 ? ZT_REL : ZT_REL_RUN) +
		    r));
	else if ((rc = io_write_byte(s, n == 0 ? ZT_LONG : ZT_LONG_RUN)) == 0)
		rc = io_write_int(s, z->run_start);
	if (rc == 0 && n != 0 &&
	    (rc = io_write_byte(s, (uint8_t)(n & 0xff))) == 0)
		rc = io_write_byte(s, (uint8_t)(n >> 8));
	if (rc != 0)
		return rc;
	z->last_end = z->last_tok;
	z->run = 0;
	return 0;
}

int
tok_send_literal(struct sess *s, const unsigned char *p, size_t n)
{
	struct ztok *z;
	size_t k;
	int rc;

	if (s->compress == COMPRESS_NONE) {
		while (n > 0) {
			k = n > CHUNK_SIZE ? CHUNK_SIZE : n;
			if ((rc = io_write_int(s, (int32_t)k)) != 0 ||
			    (rc = io_write(s, p, k)) != 0)
				return rc;
			p += k;
			n -= k;
		}
		return 0;
	}
	if (n == 0)
		return 0;
	if ((rc = tx_ready(s, &z)) != 0 || (rc = tx_run(s, z)) != 0)
		return rc;
	while (n > 0) {
		k = n > CHUNK_SIZE ? CHUNK_SIZE : n;
		z->tx.next_in = (Bytef *)(uintptr_t)p;
		z->tx.avail_in = (uInt)k;
		if ((rc = tx_deflate(s, z, Z_NO_FLUSH)) != 0)
			return rc;
		z->dirty = 1;
		p += k;
		n -= k;
	}
	return 0;
}

/* "zlib": a matched block's data into the deflater's window, in the
 * pieces the receiver will see.  Called at a block boundary (after the
 * sync flush, or with nothing deflated since the last one). */
static int
tx_insert(struct sess *s, struct ztok *z, const unsigned char *p, size_t n)
{
	const unsigned char *at = p;
	size_t k;

	while (n > 0) {
		k = n > ZT_SEE_PIECE ? ZT_SEE_PIECE : n;
		if (deflateSetDictionary(&z->tx, at, (uInt)k) != Z_OK)
			return sess_fail(s, RS_EIO, RERR_STREAMIO,
			    "compression failed (history)");
		if (s->proto >= 31)
			at += k;
		n -= k;
	}
	return 0;
}

int
tok_send_block(struct sess *s, int32_t k, const unsigned char *data,
    size_t len)
{
	struct ztok *z;
	int rc;

	if (s->compress == COMPRESS_NONE)
		return io_write_int(s, -(k + 1));
	if ((rc = tx_ready(s, &z)) != 0 || (rc = tx_flush(s, z)) != 0)
		return rc;
	if (z->run && k == z->last_tok + 1 &&
	    k - z->run_start < ZT_MAX_RUN) {
		z->last_tok = k;
	} else {
		if ((rc = tx_run(s, z)) != 0)
			return rc;
		z->run = 1;
		z->run_start = z->last_tok = k;
	}
	if (s->compress == COMPRESS_ZLIB)
		return tx_insert(s, z, data, len);
	return 0;
}

int
tok_send_end(struct sess *s)
{
	struct ztok *z;
	int rc;

	if (s->compress == COMPRESS_NONE)
		return io_write_int(s, 0);
	if ((rc = tx_ready(s, &z)) != 0 || (rc = tx_flush(s, z)) != 0 ||
	    (rc = tx_run(s, z)) != 0 || (rc = io_write_byte(s, ZT_END)) != 0)
		return rc;
	/* The next file starts a new stream. */
	if (deflateReset(&z->tx) != Z_OK)
		return sess_fail(s, RS_EIO, RERR_STREAMIO,
		    "compression failed (deflateReset)");
	z->olen = 0;
	z->dirty = 0;
	z->run = 0;
	z->last_end = 0;
	return 0;
}

/* -- receiver ----------------------------------------------------------- */

static int
rx_ready(struct sess *s, struct ztok **out)
{
	struct ztok *z;
	int rc;

	if ((rc = zt_get(s, &z)) != 0)
		return rc;
	if (!z->rx_ready) {
		if ((z->cbuf = malloc(ZT_MAX_DATA)) == NULL ||
		    (z->dbuf = malloc(ZT_DBUF)) == NULL)
			return RS_ENOMEM;
		if (inflateInit2(&z->rx, -15) != Z_OK)
			return RS_ENOMEM;
		z->rx_ready = 1;
	}
	*out = z;
	return 0;
}

static int
rx_bad(struct sess *s, const char *what)
{
	return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
	    "corrupt compressed data from the client (%s)", what);
}

/* Puts the sync marker the sender left out back into the inflater. */
static int
rx_resync(struct sess *s, struct ztok *z)
{
	static const unsigned char mark[4] = { 0, 0, 0xff, 0xff };
	int r;

	z->rx.next_in = (Bytef *)(uintptr_t)mark;
	z->rx.avail_in = 4;
	z->rx.next_out = z->dbuf;
	z->rx.avail_out = ZT_DBUF;
	r = inflate(&z->rx, Z_SYNC_FLUSH);
	if (r != Z_OK || z->rx.avail_in != 0 || z->rx.avail_out != ZT_DBUF)
		return rx_bad(s, "lost sync");
	return 0;
}

/* The next token: *t > 0 literal bytes ready for tok_read_literal, 0 the
 * end of the file, -(k+1) block k. */
int
tok_recv(struct sess *s, int32_t *t)
{
	struct ztok *z;
	uint8_t flag, b0, b1;
	size_t n;
	int r, rc, run;

	if (s->compress == COMPRESS_NONE)
		return io_read_int(s, t);
	if ((rc = rx_ready(s, &z)) != 0)
		return rc;
	for (;;) {
		switch (z->rstate) {
		case ZR_RUN:
			z->rx_tok++;
			if (--z->rx_run == 0)
				z->rstate = ZR_IDLE;
			*t = -(z->rx_tok + 1);
			return 0;
		case ZR_INFLATING:
			z->rx.next_out = z->dbuf;
			z->rx.avail_out = ZT_DBUF;
			r = inflate(&z->rx, Z_NO_FLUSH);
			n = ZT_DBUF - z->rx.avail_out;
			if (r != Z_OK && !(r == Z_BUF_ERROR && n == 0))
				return rx_bad(s, zError(r));
			if (z->rx.avail_in == 0 && z->rx.avail_out != 0)
				z->rstate = ZR_INFLATED;
			else if (n == 0)
				return rx_bad(s, "no progress");
			if (n > 0) {
				z->dpos = 0;
				z->dlen = n;
				*t = (int32_t)n;
				return 0;
			}
			break;
		case ZR_IDLE:
		case ZR_INFLATED:
			if ((rc = io_read_byte(s, &flag)) != 0)
				return rc;
			if ((flag & 0xc0) == ZT_DATA) {
				if ((rc = io_read_byte(s, &b0)) != 0)
					return rc;
				n = (size_t)(flag & 0x3f) << 8 | b0;
				if ((rc = io_read(s, z->cbuf, n)) != 0)
					return rc;
				z->rx.next_in = z->cbuf;
				z->rx.avail_in = (uInt)n;
				z->rstate = ZR_INFLATING;
				break;
			}
			if (z->rstate == ZR_INFLATED &&
			    (rc = rx_resync(s, z)) != 0)
				return rc;
			z->rstate = ZR_IDLE;
			if (flag == ZT_END) {
				if (inflateReset(&z->rx) != Z_OK)
					return rx_bad(s, "reset");
				z->rx_tok = 0;
				*t = 0;
				return 0;
			}
			if (flag & ZT_REL) {
				z->rx_tok += flag & 0x3f;
				run = (flag & 0x40) != 0;
			} else if (flag == ZT_LONG || flag == ZT_LONG_RUN) {
				if ((rc = io_read_int(s, &z->rx_tok)) != 0)
					return rc;
				run = flag & 1;
			} else
				return rx_bad(s, "unknown flag");
			if (run) {
				if ((rc = io_read_byte(s, &b0)) != 0 ||
				    (rc = io_read_byte(s, &b1)) != 0)
					return rc;
				z->rx_run = (int32_t)b0 | (int32_t)b1 << 8;
				if (z->rx_run > 0)
					z->rstate = ZR_RUN;
			}
			if (z->rx_tok < 0 || z->rx_tok > RS_SUMS_MAX ||
			    z->rx_run > RS_SUMS_MAX - z->rx_tok)
				return rx_bad(s, "block number");
			*t = -(z->rx_tok + 1);
			return 0;
		}
	}
}

/* "zlib": the data of the block just received, into the inflater's
 * window as made-up stored blocks, in the sender's pieces. */
int
tok_see_block(struct sess *s, const unsigned char *data, size_t len)
{
	struct ztok *z = s->ztok;
	const unsigned char *at = data;
	unsigned char hdr[5];
	size_t k;
	int r;

	if (s->compress != COMPRESS_ZLIB)
		return 0;
	if (z == NULL || !z->rx_ready)
		return RS_EPROTO;
	while (len > 0) {
		k = len > ZT_SEE_PIECE ? ZT_SEE_PIECE : len;
		hdr[0] = 0; /* not final, stored */
		hdr[1] = (unsigned char)(k & 0xff);
		hdr[2] = (unsigned char)(k >> 8);
		hdr[3] = (unsigned char)~hdr[1];
		hdr[4] = (unsigned char)~hdr[2];
		z->rx.next_in = hdr;
		z->rx.avail_in = sizeof(hdr);
		z->rx.next_out = z->dbuf;
		z->rx.avail_out = ZT_DBUF;
		r = inflate(&z->rx, Z_SYNC_FLUSH);
		if ((r != Z_OK && r != Z_BUF_ERROR) || z->rx.avail_in != 0)
			return rx_bad(s, "history");
		z->rx.next_in = (Bytef *)(uintptr_t)at;
		z->rx.avail_in = (uInt)k;
		while (z->rx.avail_in > 0) {
			z->rx.next_out = z->dbuf;
			z->rx.avail_out = ZT_DBUF;
			r = inflate(&z->rx, Z_SYNC_FLUSH);
			if ((r != Z_OK && r != Z_BUF_ERROR) ||
			    z->rx.avail_out == ZT_DBUF)
				return rx_bad(s, "history");
		}
		if (s->proto >= 31)
			at += k;
		len -= k;
	}
	z->dpos = z->dlen = 0;
	return 0;
}

int
tok_read_literal(struct sess *s, void *buf, size_t n)
{
	struct ztok *z = s->ztok;

	if (s->compress == COMPRESS_NONE)
		return io_read(s, buf, n);
	if (z == NULL || n > z->dlen - z->dpos)
		return RS_EPROTO;
	memcpy(buf, z->dbuf + z->dpos, n);
	z->dpos += n;
	return 0;
}
