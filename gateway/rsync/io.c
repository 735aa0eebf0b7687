/*
 * io.c — the byte stream to the rsync client.
 *
 * Reads are buffered (IO_IBUF) and, once multiplexing is on, demultiplexed:
 * MSG_DATA frames form the data stream, other frames are handled here
 * (messages, I/O errors, MSG_NO_SEND) and bounded by RS_MSG_MAX.  Writes
 * are buffered and sent as MSG_DATA frames; io_msg() sends other frames
 * after the pending data.  Before any blocking read the output is flushed,
 * so the peer always has what it needs to answer.
 *
 * The integer encodings are rsync's: little-endian int32, varint (1-5
 * bytes, the first byte's high bits count the extra bytes), varlong with a
 * minimum length, and the delta-coded file index (read_ndx/write_ndx).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "log.h"

#define IO_IBUF (256 * 1024)
#define IO_OBUF (64 * 1024)

/* Extra bytes after the first, indexed by the first byte / 4. */
static const uint8_t extra_bytes[64] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00-0x3f */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40-0x7f */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80-0xbf */
	2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 6, /* 0xc0-0xff */
};

int
io_init(struct sess *s, struct chan_io *chan)
{
	struct io *io = &s->io;

	memset(io, 0, sizeof(*io));
	io->chan = chan;
	io->in_pos = -1;
	io->in_neg = 1;
	io->out_pos = -1;
	io->out_neg = 1;
	if ((io->ibuf = malloc(IO_IBUF)) == NULL ||
	    (io->obuf = malloc(IO_OBUF + 4)) == NULL) {
		io_free(s);
		return RS_ENOMEM;
	}
	return 0;
}

void
io_free(struct sess *s)
{
	free(s->io.ibuf);
	free(s->io.obuf);
	s->io.ibuf = NULL;
	s->io.obuf = NULL;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --bwlimit: sleep so that the average stays under the limit. */
static void
pace(struct sess *s, size_t n)
{
	struct io *io = &s->io;
	int64_t want, elapsed;

	if (s->o.bwlimit <= 0)
		return;
	if (io->bw_start_us == 0)
		io->bw_start_us = now_us();
	io->bw_bytes += n;
	want = (int64_t)(io->bw_bytes * 1000000 /
	    ((uint64_t)s->o.bwlimit * 1024));
	elapsed = now_us() - io->bw_start_us;
	if (want > elapsed)
		usleep((useconds_t)(want - elapsed < 1000000 ?
		    want - elapsed : 1000000));
	if (elapsed > 10 * 1000000) {
		io->bw_start_us = now_us();
		io->bw_bytes = 0;
	}
}

static int
chan_write(struct sess *s, const void *buf, size_t len)
{
	if (s->io.chan->write(s->io.chan->ctx, buf, len) != 0)
		return RS_EIO;
	s->io.nwritten += len;
	pace(s, len);
	return 0;
}

int
io_flush(struct sess *s)
{
	struct io *io = &s->io;
	int rc;

	if (io->olen == 0)
		return 0;
	if (io->mux_out) {
		put32(io->obuf, (uint32_t)(MPLEX_BASE + MSG_DATA) << 24 |
		    (uint32_t)io->olen);
		rc = chan_write(s, io->obuf, io->olen + 4);
	} else
		rc = chan_write(s, io->obuf + 4, io->olen);
	io->olen = 0;
	return rc;
}

int
io_write(struct sess *s, const void *buf, size_t len)
{
	struct io *io = &s->io;
	const unsigned char *p = buf;
	int rc;

	while (len > 0) {
		size_t n = IO_OBUF - io->olen;

		if (n == 0) {
			if ((rc = io_flush(s)) != 0)
				return rc;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(io->obuf + 4 + io->olen, p, n);
		io->olen += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
io_msg(struct sess *s, int tag, const void *buf, size_t len)
{
	unsigned char hdr[4];
	int rc;

	if (len > RS_MSG_MAX)
		len = RS_MSG_MAX;
	if (!s->io.mux_out) {
		/* Before the protocol starts, text goes to stderr. */
		if (tag == MSG_DATA)
			return io_write(s, buf, len);
		return s->io.chan->write_err(s->io.chan->ctx, buf, len) == 0 ?
		    0 : RS_EIO;
	}
	if ((rc = io_flush(s)) != 0)
		return rc;
	put32(hdr, (uint32_t)(MPLEX_BASE + tag) << 24 | (uint32_t)len);
	if ((rc = chan_write(s, hdr, 4)) != 0)
		return rc;
	return len > 0 ? chan_write(s, buf, len) : 0;
}

int
io_msg_int(struct sess *s, int tag, int32_t v)
{
	unsigned char b[4];

	put32(b, (uint32_t)v);
	return io_msg(s, tag, b, 4);
}

/* More raw input; flushes our output first (the peer may be waiting). */
static int
fill(struct sess *s)
{
	struct io *io = &s->io;
	ssize_t n;
	int rc;

	if ((rc = io_flush(s)) != 0)
		return rc;
	if (io->ipos > 0) {
		memmove(io->ibuf, io->ibuf + io->ipos, io->ilen - io->ipos);
		io->ilen -= io->ipos;
		io->ipos = 0;
	}
	n = io->chan->read(io->chan->ctx, io->ibuf + io->ilen,
	    IO_IBUF - io->ilen);
	if (n == 0)
		return RS_EEOF;
	if (n < 0)
		return RS_EIO;
	io->ilen += (size_t)n;
	io->nread += (uint64_t)n;
	return 0;
}

int
io_read_raw(struct sess *s, void *buf, size_t len)
{
	struct io *io = &s->io;
	unsigned char *p = buf;
	int rc;

	while (len > 0) {
		size_t n = io->ilen - io->ipos;

		if (n == 0) {
			if ((rc = fill(s)) != 0)
				return rc;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(p, io->ibuf + io->ipos, n);
		io->ipos += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* An out-of-band frame from the client. */
static int
handle_msg(struct sess *s, int tag, const unsigned char *p, size_t len)
{
	int32_t v;

	switch (tag) {
	case MSG_NOOP:
		return 0;
	case MSG_IO_ERROR:
		if (len != 4)
			break;
		s->io_error |= (int)(get32(p) & 7);
		return 0;
	case MSG_NO_SEND:
		if (len != 4)
			break;
		return recv_no_send(s, (int32_t)get32(p));
	case MSG_ERROR_EXIT:
		if (len != 0 && len != 4)
			break;
		v = len == 4 ? (int32_t)get32(p) : 0;
		return sess_fail(s, RS_EABORT, RERR_OK,
		    "the client aborted (exit code %d)", (int)v);
	case MSG_INFO:
	case MSG_ERROR:
	case MSG_ERROR_XFER:
	case MSG_WARNING:
	case MSG_LOG:
	case MSG_CLIENT:
		log_info("rsync: client says: %.*s", (int)(len > 200 ? 200 :
		    (len > 0 && p[len - 1] == '\n' ? len - 1 : len)),
		    (const char *)p);
		return 0;
	default:
		break;
	}
	return sess_fail(s, RS_EPROTO, RERR_STREAMIO,
	    "unexpected message %d (%zu bytes) from the client", tag, len);
}

/* Reads frame headers until a data frame with bytes in it starts. */
static int
next_frame(struct sess *s)
{
	struct io *io = &s->io;
	unsigned char h[4], *msg;
	uint32_t hdr;
	size_t len;
	int tag, rc;

	while (io->frame_left == 0) {
		if ((rc = io_read_raw(s, h, 4)) != 0)
			return rc;
		hdr = get32(h);
		tag = (int)(hdr >> 24) - MPLEX_BASE;
		len = hdr & 0xffffff;
		if (tag == MSG_DATA) {
			io->frame_left = len;
			continue;
		}
		if (tag < 0 || len > RS_MSG_MAX)
			return sess_fail(s, RS_EPROTO, RERR_STREAMIO,
			    "bad frame from the client (tag %d, %zu bytes)",
			    tag, len);
		if ((msg = malloc(len + 1)) == NULL)
			return RS_ENOMEM;
		rc = io_read_raw(s, msg, len);
		if (rc == 0)
			rc = handle_msg(s, tag, msg, len);
		free(msg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
io_read(struct sess *s, void *buf, size_t len)
{
	struct io *io = &s->io;
	unsigned char *p = buf;
	int rc;

	if (!io->mux_in)
		return io_read_raw(s, buf, len);
	while (len > 0) {
		size_t n;

		if (io->frame_left == 0 && (rc = next_frame(s)) != 0)
			return rc;
		if (io->ipos == io->ilen && (rc = fill(s)) != 0)
			return rc;
		n = io->ilen - io->ipos;
		if (n > io->frame_left)
			n = io->frame_left;
		if (n > len)
			n = len;
		memcpy(p, io->ibuf + io->ipos, n);
		io->ipos += n;
		io->frame_left -= n;
		p += n;
		len -= n;
	}
	return 0;
}

int
io_read_byte(struct sess *s, uint8_t *v)
{
	return io_read(s, v, 1);
}

int
io_read_short(struct sess *s, uint16_t *v)
{
	unsigned char b[2];
	int rc;

	if ((rc = io_read(s, b, 2)) != 0)
		return rc;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return 0;
}

int
io_read_int(struct sess *s, int32_t *v)
{
	unsigned char b[4];
	int rc;

	if ((rc = io_read(s, b, 4)) != 0)
		return rc;
	*v = (int32_t)get32(b);
	return 0;
}

int
io_read_varint(struct sess *s, int32_t *v)
{
	unsigned char b[5] = { 0 }, ch;
	int extra, rc;

	if ((rc = io_read(s, &ch, 1)) != 0)
		return rc;
	extra = extra_bytes[ch / 4];
	if (extra > 4)
		return sess_fail(s, RS_EPROTO, RERR_STREAMIO,
		    "varint overflow from the client");
	if (extra > 0) {
		if ((rc = io_read(s, b, (size_t)extra)) != 0)
			return rc;
		b[extra] = ch & ((1u << (8 - extra)) - 1);
	} else
		b[0] = ch;
	*v = (int32_t)get32(b);
	return 0;
}

int
io_read_varint30(struct sess *s, int32_t *v)
{
	return s->proto < 30 ? io_read_int(s, v) : io_read_varint(s, v);
}

int
io_read_varlong(struct sess *s, int min, int64_t *v)
{
	unsigned char first[8], b[9] = { 0 };
	uint64_t x = 0;
	int extra, i, rc;

	if ((rc = io_read(s, first, (size_t)min)) != 0)
		return rc;
	memcpy(b, first + 1, (size_t)min - 1);
	extra = extra_bytes[first[0] / 4];
	if (min + extra > 9)
		return sess_fail(s, RS_EPROTO, RERR_STREAMIO,
		    "varlong overflow from the client");
	if (extra > 0) {
		if ((rc = io_read(s, b + min - 1, (size_t)extra)) != 0)
			return rc;
		b[min + extra - 1] = first[0] & ((1u << (8 - extra)) - 1);
	} else
		b[min - 1] = first[0];
	for (i = 7; i >= 0; i--)
		x = x << 8 | b[i];
	if (b[8] != 0)
		return sess_fail(s, RS_EPROTO, RERR_STREAMIO,
		    "varlong overflow from the client");
	*v = (int64_t)x;
	return 0;
}

static int
read_longint(struct sess *s, int64_t *v)
{
	unsigned char b[8];
	int32_t n;
	int rc;

	if ((rc = io_read_int(s, &n)) != 0)
		return rc;
	if (n != -1) {
		*v = n;
		return 0;
	}
	if ((rc = io_read(s, b, 8)) != 0)
		return rc;
	*v = (int64_t)((uint64_t)get32(b) | (uint64_t)get32(b + 4) << 32);
	return 0;
}

int
io_read_varlong30(struct sess *s, int min, int64_t *v)
{
	return s->proto < 30 ? read_longint(s, v) :
	    io_read_varlong(s, min, v);
}

int
io_read_ndx(struct sess *s, int32_t *v)
{
	struct io *io = &s->io;
	unsigned char b[4];
	int32_t *prev;
	int64_t num;
	int rc;

	if (s->proto < 30)
		return io_read_int(s, v);
	if ((rc = io_read(s, b, 1)) != 0)
		return rc;
	if (b[0] == 0) {
		*v = NDX_DONE;
		return 0;
	}
	if (b[0] == 0xff) {
		if ((rc = io_read(s, b, 1)) != 0)
			return rc;
		prev = &io->in_neg;
	} else
		prev = &io->in_pos;
	if (b[0] == 0xfe) {
		if ((rc = io_read(s, b, 2)) != 0)
			return rc;
		if (b[0] & 0x80) {
			unsigned char hi = b[0] & 0x7f;

			b[0] = b[1];
			if ((rc = io_read(s, b + 1, 2)) != 0)
				return rc;
			b[3] = hi;
			num = (int64_t)get32(b);
		} else
			num = (int64_t)((uint32_t)b[0] << 8 | b[1]) + *prev;
	} else
		num = (int64_t)b[0] + *prev;
	if (num < 0 || num > INT32_MAX)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "bad file index from the client");
	*prev = (int32_t)num;
	*v = prev == &io->in_neg ? -(int32_t)num : (int32_t)num;
	return 0;
}

int
io_read_vstring(struct sess *s, char *buf, size_t size, size_t *len)
{
	uint8_t a, b;
	size_t n;
	int rc;

	if ((rc = io_read_byte(s, &a)) != 0)
		return rc;
	n = a;
	if (a & 0x80) {
		if ((rc = io_read_byte(s, &b)) != 0)
			return rc;
		n = (size_t)(a & 0x7f) << 8 | b;
	}
	if (n >= size)
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "over-long string from the client (%zu bytes)", n);
	if (n > 0 && (rc = io_read(s, buf, n)) != 0)
		return rc;
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

int
io_write_byte(struct sess *s, uint8_t v)
{
	return io_write(s, &v, 1);
}

int
io_write_short(struct sess *s, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	return io_write(s, b, 2);
}

int
io_write_int(struct sess *s, int32_t v)
{
	unsigned char b[4];

	put32(b, (uint32_t)v);
	return io_write(s, b, 4);
}

int
io_write_varint(struct sess *s, int32_t v)
{
	unsigned char b[5];
	unsigned bit;
	int cnt;

	put32(b + 1, (uint32_t)v);
	for (cnt = 4; cnt > 1 && b[cnt] == 0; cnt--)
		;
	bit = 1u << (8 - cnt);
	if (b[cnt] >= bit) {
		cnt++;
		b[0] = (unsigned char)~(bit - 1);
	} else if (cnt > 1)
		b[0] = (unsigned char)(b[cnt] | ~(bit * 2 - 1));
	else
		b[0] = b[cnt];
	return io_write(s, b, (size_t)cnt);
}

int
io_write_varint30(struct sess *s, int32_t v)
{
	return s->proto < 30 ? io_write_int(s, v) : io_write_varint(s, v);
}

int
io_write_varlong(struct sess *s, int64_t v, int min)
{
	unsigned char b[9];
	unsigned bit;
	int cnt = 8;

	put32(b + 1, (uint32_t)v);
	put32(b + 5, (uint32_t)((uint64_t)v >> 32));
	while (cnt > min && b[cnt] == 0)
		cnt--;
	bit = 1u << (7 - cnt + min);
	if (b[cnt] >= bit) {
		cnt++;
		b[0] = (unsigned char)~(bit - 1);
	} else if (cnt > min)
		b[0] = (unsigned char)(b[cnt] | ~(bit * 2 - 1));
	else
		b[0] = b[cnt];
	return io_write(s, b, (size_t)cnt);
}

int
io_write_varlong30(struct sess *s, int64_t v, int min)
{
	unsigned char b[12];

	if (s->proto >= 30)
		return io_write_varlong(s, v, min);
	if (v >= 0 && v <= 0x7fffffff)
		return io_write_int(s, (int32_t)v);
	put32(b, 0xffffffffu);
	put32(b + 4, (uint32_t)v);
	put32(b + 8, (uint32_t)((uint64_t)v >> 32));
	return io_write(s, b, 12);
}

int
io_write_ndx(struct sess *s, int32_t ndx)
{
	struct io *io = &s->io;
	unsigned char b[6];
	int32_t diff;
	size_t n = 0;

	if (s->proto < 30)
		return io_write_int(s, ndx);
	if (ndx == NDX_DONE)
		return io_write_byte(s, 0);
	if (ndx >= 0) {
		diff = ndx - io->out_pos;
		io->out_pos = ndx;
	} else {
		b[n++] = 0xff;
		ndx = -ndx;
		diff = ndx - io->out_neg;
		io->out_neg = ndx;
	}
	if (diff > 0 && diff < 0xfe)
		b[n++] = (unsigned char)diff;
	else if (diff < 0 || diff > 0x7fff) {
		b[n++] = 0xfe;
		b[n++] = (unsigned char)((ndx >> 24) | 0x80);
		b[n++] = (unsigned char)ndx;
		b[n++] = (unsigned char)(ndx >> 8);
		b[n++] = (unsigned char)(ndx >> 16);
	} else {
		b[n++] = 0xfe;
		b[n++] = (unsigned char)(diff >> 8);
		b[n++] = (unsigned char)diff;
	}
	return io_write(s, b, n);
}

int
io_write_vstring(struct sess *s, const char *str, size_t len)
{
	int rc;

	if (len > 0x7fff)
		return RS_EPROTO;
	if (len > 0x7f)
		rc = io_write_byte(s, (uint8_t)(len >> 8 | 0x80)) ||
		    io_write_byte(s, (uint8_t)len) ? RS_EIO : 0;
	else
		rc = io_write_byte(s, (uint8_t)len);
	if (rc != 0)
		return rc;
	return io_write(s, str, len);
}

/*
 * A file index with its item flags (protocol 29+), as the generator sends
 * them.  NDX_DEL_STATS (deletion counts) is consumed here, and echoed
 * when we are the sender, as rsync's sender does.
 */
int
io_read_ndx_attrs(struct sess *s, struct ndx_attrs *na)
{
	int32_t v[5];
	int rc, i;

	memset(na, 0, sizeof(*na));
	for (;;) {
		if ((rc = io_read_ndx(s, &na->ndx)) != 0)
			return rc;
		if (na->ndx == NDX_DONE)
			return 0;
		if (na->ndx != NDX_DEL_STATS)
			break;
		for (i = 0; i < 5; i++)
			if ((rc = io_read_varint(s, &v[i])) != 0)
				return rc;
		if (s->o.sender) {
			if ((rc = io_write_ndx(s, NDX_DEL_STATS)) != 0)
				return rc;
			for (i = 0; i < 5; i++)
				if ((rc = io_write_varint(s, v[i])) != 0)
					return rc;
		}
	}
	if (na->ndx < 0 || (size_t)na->ndx >= s->fl.n ||
	    (!s->o.sender && (s->fl.e[na->ndx].flags & FL_INACTIVE)))
		return sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "invalid file index %d from the client (%zu files)",
		    (int)na->ndx, s->fl.n);
	if ((rc = io_read_short(s, &na->iflags)) != 0)
		return rc;
	if ((na->iflags & ITEM_BASIS_TYPE_FOLLOWS) &&
	    (rc = io_read_byte(s, &na->ftype)) != 0)
		return rc;
	if ((na->iflags & ITEM_XNAME_FOLLOWS) &&
	    (rc = io_read_vstring(s, na->xname, sizeof(na->xname),
	    &na->xlen)) != 0)
		return rc;
	return 0;
}

int
io_write_ndx_attrs(struct sess *s, const struct ndx_attrs *na)
{
	int rc;

	if ((rc = io_write_ndx(s, na->ndx)) != 0 ||
	    (rc = io_write_short(s, na->iflags)) != 0)
		return rc;
	if ((na->iflags & ITEM_BASIS_TYPE_FOLLOWS) &&
	    (rc = io_write_byte(s, na->ftype)) != 0)
		return rc;
	if (na->iflags & ITEM_XNAME_FOLLOWS)
		return io_write_vstring(s, na->xname, na->xlen);
	return 0;
}
