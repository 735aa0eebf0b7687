/*
 * sender.c — `rsync --server --sender`: downloads and listings.
 *
 * The client sends its filter rules; we build, sort and send the file
 * list; then the client's generator asks for files by index, with the
 * block sums of what it already has, and we answer each request with the
 * token stream of the file (blocks.c) and its checksum.  Requests without
 * ITEM_TRANSFER are echoed (the client logs them).  Three NDX_DONEs end
 * the phases (transfer, redo, wrap-up); then the statistics, and the
 * goodbye (one more NDX_DONE each way with protocol 31).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "extern.h"
#include "log.h"

/* One requested file: the sums, then the data. */
static int
send_one(struct sess *s, const struct ndx_attrs *na)
{
	struct flent *e = &s->fl.e[na->ndx];
	char path[RS_PATH_MAX];
	struct fs_file *f = NULL;
	struct sums sm;
	uint64_t nread = 0;
	int dropped, rc, frc;

	memset(&sm, 0, sizeof(sm));
	if ((rc = sums_recv(s, &sm, &dropped)) != 0)
		return rc;
	if (path_join(path, sizeof(path), e->root, e->name) != 0)
		frc = -ENAMETOOLONG;
	else
		frc = fs_open(s->fs, path, O_RDONLY, 0, &f);
	if (frc != 0) {
		if (frc == -ENOENT) {
			s->io_error |= IOERR_VANISHED;
			sess_warn(s, "file has vanished: \"%s\"", e->name);
		} else {
			s->io_error |= IOERR_GENERAL;
			sess_xfer_error(s, "rsync: send_files failed to open "
			    "\"%s\": %s (%d)", e->name, strerror(-frc), -frc);
		}
		sums_free(&sm);
		return io_msg_int(s, MSG_NO_SEND, na->ndx);
	}
	if (dropped) {
		/* Too many blocks to hold: answer with the whole file. */
		struct sums none;

		memset(&none, 0, sizeof(none));
		none.count = sm.count;
		none.blength = sm.blength;
		none.s2length = sm.s2length;
		none.remainder = sm.remainder;
		if ((rc = io_write_ndx_attrs(s, na)) == 0 &&
		    (rc = sums_write_head(s, &none)) == 0) {
			none.count = 0;
			rc = delta_send(s, f, &none, e->name);
		}
	} else if ((rc = io_write_ndx_attrs(s, na)) == 0 &&
	    (rc = sums_write_head(s, &sm)) == 0)
		rc = delta_send(s, f, &sm, e->name);
	fs_close(s->fs, f, &nread, NULL);
	sums_free(&sm);
	if (rc == 0)
		log_info("rsync: sent \"%s\" read=%llu", path,
		    (unsigned long long)nread);
	return rc;
}

static int
send_files(struct sess *s)
{
	struct ndx_attrs *na;
	int phase = 0, rc;

	if ((na = malloc(sizeof(*na))) == NULL)
		return RS_ENOMEM;
	for (;;) {
		if ((rc = io_read_ndx_attrs(s, na)) != 0)
			break;
		if (na->ndx == NDX_DONE) {
			if (++phase > 2)
				break;
			if ((rc = io_write_ndx(s, NDX_DONE)) != 0)
				break;
			continue;
		}
		if (!(na->iflags & ITEM_TRANSFER) || s->o.dry_run) {
			if ((na->iflags & ITEM_TRANSFER) &&
			    !S_ISREG(s->fl.e[na->ndx].mode)) {
				rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
				    "request to transfer a non-regular file");
				break;
			}
			if ((rc = io_write_ndx_attrs(s, na)) != 0)
				break;
			continue;
		}
		if (!S_ISREG(s->fl.e[na->ndx].mode) || phase == 2) {
			rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
			    "invalid transfer request for index %d",
			    (int)na->ndx);
			break;
		}
		if ((rc = send_one(s, na)) != 0)
			break;
	}
	free(na);
	if (rc != 0)
		return rc;
	return io_write_ndx(s, NDX_DONE);
}

/* The client's generator says goodbye; protocol 31 adds a round. */
static int
goodbye(struct sess *s)
{
	struct ndx_attrs *na;
	int rc;

	if ((na = malloc(sizeof(*na))) == NULL)
		return RS_ENOMEM;
	if ((rc = io_read_ndx_attrs(s, na)) == 0 && na->ndx == NDX_DONE &&
	    s->proto >= 31) {
		if ((rc = io_write_ndx(s, NDX_DONE)) == 0 &&
		    (rc = io_flush(s)) == 0)
			rc = io_read_ndx_attrs(s, na);
	}
	if (rc == 0 && na->ndx != NDX_DONE)
		rc = sess_fail(s, RS_EPROTO, RERR_PROTOCOL,
		    "invalid packet at the end of the run (%d)", (int)na->ndx);
	free(na);
	return rc;
}

int
rs_sender(struct sess *s)
{
	int rc;

	if ((rc = rules_recv(s)) != 0)
		return rc;
	if ((rc = flist_build(s)) != 0 || (rc = flist_send(s)) != 0)
		return rc;
	log_info("rsync: sending a list of %zu files", s->fl.n);
	if (s->fl.n == 0)
		return io_flush(s);
	if ((rc = send_files(s)) != 0)
		return rc;
	/* Statistics: what we read and wrote, the list's figures. */
	if ((rc = io_write_varlong30(s, (int64_t)s->io.nread, 3)) != 0 ||
	    (rc = io_write_varlong30(s, (int64_t)s->io.nwritten, 3)) != 0 ||
	    (rc = io_write_varlong30(s, (int64_t)s->total_size, 3)) != 0 ||
	    (rc = io_write_varlong30(s, s->flist_build_ms, 3)) != 0 ||
	    (rc = io_write_varlong30(s, s->flist_xfer_ms, 3)) != 0 ||
	    (rc = io_flush(s)) != 0)
		return rc;
	return goodbye(s);
}
