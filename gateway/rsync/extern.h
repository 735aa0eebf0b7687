/*
 * extern.h — the rsync front end's one internal header.
 *
 * cofferd speaks the rsync wire protocol (versions 30 and 31) itself, as
 * the remote end of `rsync -e ssh`: the receiver (uploads) and the sender
 * (downloads and listings).  The code is split by role, as openrsync does:
 *
 *   rsync.c     entry point: command line, options, handshake, exit status
 *   io.c        the byte stream: buffering, multiplexed frames, integers
 *   flist.c     the file list: build (sender), encode, decode, sort
 *   filter.c    filter rules sent by the client, and their matcher
 *   blocks.c    rolling and strong checksums, block sums, delta matching
 *   token.c     the file-data token stream, plain or compressed (-z)
 *   sender.c    --sender: serves file data for the client's requests
 *   receiver.c  the generator and receiver in one loop, and --delete
 *
 * Everything a session needs is in one struct sess, passed explicitly.
 * Every function returns 0 or a negative RS_E* code; the text for the
 * client is composed once, where an error is decided (sess_fail), and sent
 * by rsync_main.  Nothing driven by the client calls exit() or abort().
 * Every size read from the wire is bounded by the RS_*_MAX limits below.
 * The disk is reached only through fs.h.
 */
#ifndef COFFER_RSYNC_EXTERN_H
#define COFFER_RSYNC_EXTERN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec.h"
#include "fs.h"

/* Protocol versions spoken (the client's is negotiated down to these). */
#define RS_PROTO_MIN 30
#define RS_PROTO_MAX 31

/* Bounds on everything the client controls. */
#define RS_PATH_MAX 4096             /* a path, with its NUL */
#define RS_NAME_MAX 255              /* one path component */
#define RS_ARGS_MAX 512              /* command-line words */
#define RS_ARGBYTES_MAX (64 * 1024)  /* protected (-s) arguments */
#define RS_FLIST_MAX 2000000         /* file list entries */
#define RS_POOL_MAX (256u << 20)     /* bytes of names and link targets */
#define RS_RULES_MAX 4096            /* filter rules */
#define RS_SUMS_MAX (4 << 20)        /* block sums of one file */
#define RS_MSG_MAX (32 * 1024)       /* an out-of-band message */
#define RS_INFLIGHT_MAX 4096         /* generator requests ahead */
#define RS_INFLIGHT_BYTES (1u << 20) /* request bytes ahead */

/* Error codes: 0 or one of these. */
enum rs_err {
	RS_OK = 0,
	RS_ENOMEM = -1,   /* out of memory */
	RS_EPROTO = -2,   /* the peer broke the protocol (or a bound) */
	RS_EEOF = -3,     /* the channel ended */
	RS_EIO = -4,      /* the channel failed */
	RS_EFS = -5,      /* a fatal file-system error (reported) */
	RS_EABORT = -6,   /* the client aborted the transfer */
	RS_EUSAGE = -7,   /* bad or unsupported options (reported) */
	RS_EREFUSED = -8, /* refused by the service (read-only...) */
};
const char *rs_strerror(int err);

/* rsync's exit codes, for the client. */
#define RERR_OK 0
#define RERR_SYNTAX 1
#define RERR_PROTOCOL 2
#define RERR_FILESELECT 3
#define RERR_UNSUPPORTED 4
#define RERR_FILEIO 11
#define RERR_STREAMIO 12
#define RERR_PARTIAL 23
#define RERR_VANISHED 24
#define RERR_DEL_LIMIT 25

/* Multiplexed frames: header = (MPLEX_BASE + tag) << 24 | length. */
#define MPLEX_BASE 7
enum rs_msg {
	MSG_DATA = 0,
	MSG_ERROR_XFER = 1,
	MSG_INFO = 2,
	MSG_ERROR = 3,
	MSG_WARNING = 4,
	MSG_ERROR_SOCKET = 5,
	MSG_LOG = 6,
	MSG_CLIENT = 7,
	MSG_ERROR_UTF8 = 8,
	MSG_REDO = 9,
	MSG_STATS = 10,
	MSG_IO_ERROR = 22,
	MSG_IO_TIMEOUT = 33,
	MSG_NOOP = 42,
	MSG_ERROR_EXIT = 86,
	MSG_SUCCESS = 100,
	MSG_DELETED = 101,
	MSG_NO_SEND = 102,
};

/* Compatibility flags (protocol 30+), sent by the server. */
#define CF_INC_RECURSE (1 << 0)
#define CF_SYMLINK_TIMES (1 << 1)
#define CF_SYMLINK_ICONV (1 << 2)
#define CF_SAFE_FLIST (1 << 3)
#define CF_AVOID_XATTR_OPTIM (1 << 4)
#define CF_CHKSUM_SEED_FIX (1 << 5)
#define CF_INPLACE_PARTIAL_DIR (1 << 6)
#define CF_VARINT_FLIST_FLAGS (1 << 7)
#define CF_ID0_NAMES (1 << 8)

/* File list entry flags on the wire. */
#define XMIT_TOP_DIR (1 << 0)
#define XMIT_SAME_MODE (1 << 1)
#define XMIT_EXTENDED_FLAGS (1 << 2)
#define XMIT_SAME_UID (1 << 3)
#define XMIT_SAME_GID (1 << 4)
#define XMIT_SAME_NAME (1 << 5)
#define XMIT_LONG_NAME (1 << 6)
#define XMIT_SAME_TIME (1 << 7)
#define XMIT_SAME_RDEV_MAJOR (1 << 8) /* devices */
#define XMIT_NO_CONTENT_DIR (1 << 8)  /* directories */
#define XMIT_HLINKED (1 << 9)
#define XMIT_USER_NAME_FOLLOWS (1 << 10)
#define XMIT_GROUP_NAME_FOLLOWS (1 << 11)
#define XMIT_HLINK_FIRST (1 << 12)
#define XMIT_IO_ERROR_ENDLIST (1 << 12)
#define XMIT_MOD_NSEC (1 << 13)
#define XMIT_SAME_ATIME (1 << 14)
#define XMIT_CRTIME_EQ_MTIME (1 << 17)

/* Item flags: what the generator asks for / reports, per file. */
#define ITEM_REPORT_ATIME (1 << 0)
#define ITEM_REPORT_CHANGE (1 << 1)
#define ITEM_REPORT_SIZE (1 << 2)
#define ITEM_REPORT_TIME (1 << 3)
#define ITEM_REPORT_PERMS (1 << 4)
#define ITEM_REPORT_OWNER (1 << 5)
#define ITEM_REPORT_GROUP (1 << 6)
#define ITEM_REPORT_ACL (1 << 7)
#define ITEM_REPORT_XATTR (1 << 8)
#define ITEM_BASIS_TYPE_FOLLOWS (1 << 11)
#define ITEM_XNAME_FOLLOWS (1 << 12)
#define ITEM_IS_NEW (1 << 13)
#define ITEM_LOCAL_CHANGE (1 << 14)
#define ITEM_TRANSFER (1 << 15)

/* File list indexes with a meaning of their own. */
#define NDX_DONE (-1)
#define NDX_FLIST_EOF (-2)
#define NDX_DEL_STATS (-3)

/* I/O error bits (flist end, MSG_IO_ERROR). */
#define IOERR_GENERAL (1 << 0)
#define IOERR_VANISHED (1 << 1)
#define IOERR_DEL_LIMIT (1 << 2)

#define CHUNK_SIZE (32 * 1024)   /* literal data per token */
#define BLOCK_SIZE 700           /* smallest block */
#define MAX_BLOCK_SIZE (1 << 17) /* largest block (protocol 30+) */
#define SUM_LENGTH 16            /* full strong sum */
#define SHORT_SUM_LENGTH 2       /* first-pass strong sum floor */
#define BLOCKSUM_BIAS 10

/* Checksum and compression algorithms (negotiated: xxh64, else md5). */
enum rs_csum { CSUM_MD5 = 1, CSUM_XXH64 = 2 };
enum rs_compress {
	COMPRESS_NONE = 0,
	COMPRESS_ZLIBX = 1,     /* zlib without matched data in the history */
	COMPRESS_NEGOTIATE = 2, /* opts only: -z, the algorithm to agree on */
	COMPRESS_ZLIB = 3,      /* zlib, matched data in the history too */
};

/* Delete timing. */
enum rs_del { DEL_NONE = 0, DEL_BEFORE, DEL_DURING, DEL_AFTER };

/* Options as the client sent them (the ones this server supports). */
struct opts {
	int sender;          /* --sender: we send (download, listing) */
	int verbose;         /* -v count */
	int quiet;           /* -q */
	int dry_run;         /* -n: change nothing */
	int recurse;         /* -r */
	int xfer_dirs;       /* -d: send directories without recursing */
	int links;           /* -l: symlinks as symlinks */
	int perms;           /* -p */
	int executability;   /* -E */
	int times;           /* -t */
	int omit_dir_times;  /* -O */
	int omit_link_times; /* -J */
	int owner, group;    /* -o -g: ids travel; not applied here */
	int devices;         /* -D (devices), --no-specials clears specials */
	int specials;
	int hard_links;      /* -H */
	int checksum;        /* -c: quick check by whole-file checksum */
	int size_only;       /* --size-only */
	int ignore_times;    /* -I */
	int ignore_existing; /* --ignore-existing */
	int existing;        /* --existing: don't create new files */
	int update;          /* -u: skip files newer here */
	int whole_file;      /* -W: no delta transfer */
	int inplace;         /* --inplace */
	int partial;         /* --partial: keep partial files on abort */
	int numeric_ids;     /* --numeric-ids: no id lists */
	int list_only;       /* --list-only */
	int protect_args;    /* -s: arguments travel in the protocol */
	enum rs_del delete;  /* --delete[-before|-during|-after|-delay] */
	int delete_excluded; /* --delete-excluded */
	int force;           /* --force: delete non-empty dirs in the way */
	int max_delete;      /* --max-delete (-1: unlimited) */
	int ignore_errors;   /* --ignore-errors: delete despite I/O errors */
	int safe_links;      /* --safe-links: ignore links leaving the tree */
	int one_fs;          /* -x */
	int mkpath;          /* --mkpath */
	int do_fsync;        /* --fsync */
	int itemize;         /* the client itemizes (--log-format has %i) */
	int compress;        /* COMPRESS_*: -z, --new-compress, choice */
	int compress_level;  /* --compress-level (-1: default) */
	int64_t min_size;    /* --min-size (-1: none) */
	int64_t max_size;    /* --max-size (-1: none) */
	int32_t block_size;  /* -B (0: automatic) */
	int modify_window;   /* --modify-window (seconds; -1 ignores nsec) */
	int32_t seed;        /* --checksum-seed (0: random) */
	int csum_choice;     /* --checksum-choice: 0 negotiate, CSUM_* */
	int bwlimit;         /* --bwlimit in KiB/s (0: none) */
	char client_info[64]; /* the letters after -e (capabilities) */
};

/* The byte stream to the client (io.c). */
struct io {
	struct chan_io *chan;    /* the channel, borrowed */
	unsigned char *ibuf;     /* raw input */
	size_t ipos, ilen;       /* unread input is ibuf[ipos, ilen) */
	int mux_in;              /* input is multiplexed */
	size_t frame_left;       /* data bytes left in the current frame */
	unsigned char *obuf;     /* output: 4 header bytes, then data */
	size_t olen;             /* data bytes in obuf */
	int mux_out;             /* output is multiplexed */
	int32_t in_pos, in_neg;  /* last index read (read_ndx state) */
	int32_t out_pos, out_neg; /* last index written */
	uint64_t nread, nwritten; /* raw bytes, for the stats */
	int64_t bw_start_us;     /* --bwlimit: start of the window */
	uint64_t bw_bytes;       /* bytes written in the window */
};

/* One file list entry. */
#define FL_TOP_DIR (1 << 0)     /* a top directory of the transfer */
#define FL_CONTENT_DIR (1 << 1) /* its contents are in the list */
#define FL_HLINKED (1 << 2)     /* in a hard-link group */
#define FL_HLINK_FIRST (1 << 3) /* the group's first */
#define FL_INACTIVE (1 << 4)    /* a duplicate name, not handled */
#define FL_DONE (1 << 5)        /* receiver: up to date or received */
#define FL_FAILED (1 << 6)      /* receiver: could not be made */
#define FL_SENT_SUMS (1 << 7)   /* receiver: a basis was offered */
#define FL_REDO (1 << 8)        /* receiver: failed verification once */
#define FL_NEW (1 << 9)         /* receiver: did not exist before */
struct flent {
	char *name;         /* path in the transfer, "." for the top */
	const char *root;   /* sender: the folder name is relative to */
	char *link;         /* symlink target, or NULL */
	int64_t size;       /* bytes (regular files, symlink length) */
	int64_t mtime;      /* seconds */
	uint32_t nsec;      /* nanoseconds of mtime */
	uint32_t mode;      /* type and permission bits */
	uint32_t uid, gid;  /* owner (sent, not applied) */
	uint32_t flags;     /* FL_* */
	int32_t rx;         /* index in the order received or sent */
	int32_t hl_first;   /* sorted index of its hard-link group's first */
	uint64_t dev, ino;  /* sender: identity, for -H */
	unsigned char *sum; /* -c: whole-file checksum, or NULL */
};

/* A string pool: names and link targets, bounded (flist.c). */
struct pool {
	char *blk;     /* current block */
	size_t used;   /* bytes used in it */
	size_t cap;    /* its size */
	char **blks;   /* every block, to free */
	size_t nblks;
	size_t total;  /* bytes handed out */
};

struct flist {
	struct flent *e; /* entries, sorted once complete */
	size_t n, cap;
	struct pool pool;
};

/* A parsed filter rule (filter.c). */
#define RULE_INCLUDE (1 << 0)   /* "+" (else "-") */
#define RULE_SENDER (1 << 1)    /* "s": sender side only */
#define RULE_RECEIVER (1 << 2)  /* "r": receiver side only */
#define RULE_NEGATE (1 << 3)    /* "!": matches what the pattern doesn't */
#define RULE_ANCHORED (1 << 4)  /* leading "/" */
#define RULE_DIR_ONLY (1 << 5)  /* trailing "/" */
#define RULE_WILD (1 << 6)      /* has * ? [ */
#define RULE_WILD2 (1 << 7)     /* has ** */
#define RULE_WILD2_PRE (1 << 8) /* starts with ** */
#define RULE_WILD3_SUF (1 << 9) /* ends with / *** */
#define RULE_ABS (1 << 10)      /* "/" modifier: absolute path */
struct rule {
	char *pat;          /* pattern, trailing "/" removed */
	uint32_t flags;     /* RULE_* */
	int slashes;        /* '/' in the pattern, but a trailing one */
};

struct rules {
	struct rule *r;
	size_t n, cap;
};

/* Block sums of one file (blocks.c). */
struct sums {
	int32_t count;       /* blocks */
	int32_t blength;     /* block length */
	int32_t s2length;    /* strong sum bytes kept per block */
	int32_t remainder;   /* length of the last, short block (0: none) */
	uint32_t *sum1;      /* weak sums */
	unsigned char *sum2; /* strong sums, s2length each */
	int32_t *chain;      /* hash chains (sender) */
	int32_t *head;       /* hash heads (sender) */
	uint32_t hmask;
};

/* XXH64, streaming (blocks.c). */
struct xxh64 {
	uint64_t v[4];          /* the four lanes */
	uint64_t seed;
	uint64_t total;         /* bytes fed */
	unsigned char buf[32];  /* a partial stripe */
	size_t n;               /* bytes in buf */
};

/* Incremental whole-file / block digests (blocks.c). */
struct digest {
	void *ctx;        /* EVP_MD_CTX (md5), created on first use */
	struct xxh64 x;   /* xxh64 */
	int type;         /* CSUM_* */
};

/* A file index and its item flags, as exchanged per file. */
struct ndx_attrs {
	int32_t ndx;          /* file index, or NDX_DONE */
	uint16_t iflags;      /* ITEM_* */
	uint8_t ftype;        /* basis type, with ITEM_BASIS_TYPE_FOLLOWS */
	char xname[RS_PATH_MAX]; /* with ITEM_XNAME_FOLLOWS */
	size_t xlen;
};

/* A generator request waiting for the sender's answer (receiver.c). */
struct inflight {
	int32_t ndx;
	int transfer; /* ITEM_TRANSFER was asked */
	size_t bytes; /* request size, for the look-ahead bound */
};

struct sess {
	struct fs *fs;            /* the account's view, borrowed */
	const char *user;         /* account name, for "~user" */
	struct io io;             /* the stream */
	struct opts o;            /* options */
	int proto;                /* negotiated protocol */
	uint32_t cflags;          /* compat flags sent */
	int varint_flags;         /* flist flags as varints */
	int seed_fix;             /* MD5 block sums: seed before data */
	int safe_flist;           /* flist end may carry an I/O error */
	int csum;                 /* CSUM_* for transfers and -c */
	int csum_len;             /* its digest length (16 md5, 8 xxh64) */
	int compress;             /* COMPRESS_* negotiated */
	struct ztok *ztok;        /* compressed token state (token.c) */
	int32_t seed;             /* checksum seed */
	mode_t umask;             /* for new files without -p */
	char **args;              /* positional arguments after "." */
	int nargs;
	struct rules rules;       /* filter rules from the client */
	struct flist fl;          /* the file list */
	int io_error;             /* IOERR_* seen or caused */
	int xfer_errors;          /* files that failed (exit 23) */
	int deletions;            /* items deleted (--max-delete) */
	int del_limited;          /* --max-delete stopped some (exit 25) */
	int del_stats[5];         /* deleted: files, dirs, links, devs, fifos */
	uint64_t total_size;      /* sum of sizes in the file list */
	int64_t flist_build_ms;   /* stats: building the list */
	int64_t flist_xfer_ms;    /* stats: sending it */
	struct inflight *q;       /* receiver: requests awaiting answers */
	size_t qhead, qlen;       /* ring of RS_INFLIGHT_MAX */
	size_t qbytes;            /* request bytes in the ring */
	char errmsg[512];         /* the text for the client, once decided */
	int errcode;              /* the rsync exit code that goes with it */
};

/* rsync.c */
int sess_fail(struct sess *s, int rc, int rerr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A per-file problem: told to the client, counted (exit 23). */
void sess_xfer_error(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sess_info(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sess_warn(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Cleans a path from the command line into an account path. */
int path_from_arg(struct sess *s, const char *arg, char *out, size_t len);
/* Joins dir and name into out; 0 or RS_EPROTO when too long. */
int path_join(char *out, size_t len, const char *dir, const char *name);

/* io.c */
int io_init(struct sess *s, struct chan_io *chan);
void io_free(struct sess *s);
int io_read(struct sess *s, void *buf, size_t len);
int io_read_byte(struct sess *s, uint8_t *v);
int io_read_short(struct sess *s, uint16_t *v);
int io_read_int(struct sess *s, int32_t *v);
int io_read_varint(struct sess *s, int32_t *v);
int io_read_varint30(struct sess *s, int32_t *v);
int io_read_varlong(struct sess *s, int min, int64_t *v);
int io_read_varlong30(struct sess *s, int min, int64_t *v);
int io_read_ndx(struct sess *s, int32_t *v);
/* A vstring into buf (NUL-terminated); RS_EPROTO if len >= size. */
int io_read_vstring(struct sess *s, char *buf, size_t size, size_t *len);
int io_write(struct sess *s, const void *buf, size_t len);
int io_write_byte(struct sess *s, uint8_t v);
int io_write_short(struct sess *s, uint16_t v);
int io_write_int(struct sess *s, int32_t v);
int io_write_varint(struct sess *s, int32_t v);
int io_write_varint30(struct sess *s, int32_t v);
int io_write_varlong(struct sess *s, int64_t v, int min);
int io_write_varlong30(struct sess *s, int64_t v, int min);
int io_write_ndx(struct sess *s, int32_t v);
int io_write_vstring(struct sess *s, const char *str, size_t len);
int io_flush(struct sess *s);
/* An out-of-band message (multiplexed); stderr before multiplexing. */
int io_msg(struct sess *s, int tag, const void *buf, size_t len);
int io_msg_int(struct sess *s, int tag, int32_t v);
/* Per-file index and item flags; validates the index. */
int io_read_ndx_attrs(struct sess *s, struct ndx_attrs *na);
int io_write_ndx_attrs(struct sess *s, const struct ndx_attrs *na);
/* Raw reads before multiplexing (protected arguments). */
int io_read_raw(struct sess *s, void *buf, size_t len);

/* flist.c */
void flist_free(struct flist *fl);
/* Appends an entry; name and link are copied into the pool. */
int flist_add(struct sess *s, struct flist *fl, const char *name,
    const char *link, struct flent **out);
/* Sorts in rsync's order (protocol 29+); marks duplicates inactive. */
int flist_sort(struct flist *fl);
int flist_cmp(const struct flent *a, const struct flent *b);
/* Index of name (dir: 1 directory, 0 other, -1 either), or -1. */
ssize_t flist_find(const struct flist *fl, const char *name, int dir);
/* Sender: builds the list for the arguments (errors counted). */
int flist_build(struct sess *s);
/* Sender: sends the list, the id lists and the I/O error state. */
int flist_send(struct sess *s);
/* Receiver: reads the list, validating every name; sorts it. */
int flist_recv(struct sess *s);
/* 1 if name is acceptable from a client (relative, no "..", ...). */
int name_is_safe(const char *name);

/* filter.c */
/* Reads the client's filter list (int-length strings, 0 ends). */
int rules_recv(struct sess *s);
void rules_free(struct rules *rs);
/* 1 if name (relative to the transfer root) is excluded. */
int rules_excluded(const struct sess *s, const char *name, int is_dir);
/* rsync's wildcard match of pattern against text. */
int wildmatch(const char *pattern, const char *text);

/* blocks.c */
uint32_t csum1(const unsigned char *buf, size_t len);
/* seed: the xxh64 seed (ignored by md5). */
int digest_init(struct digest *d, int type, uint64_t seed);
void digest_update(struct digest *d, const void *buf, size_t len);
void digest_final(struct digest *d, unsigned char *out);
void digest_free(struct digest *d);
/* Strong block sum: seeded digest of buf (SUM_LENGTH bytes out, the
 * digest first, zeros after it). */
int csum2(const struct sess *s, struct digest *d, const unsigned char *buf,
    size_t len, unsigned char *out);
/* Whole-file checksum of path (for -c), csum_len bytes. */
int file_csum(struct sess *s, const char *path, unsigned char *out);
/* Block layout for a basis of len bytes (generator). */
void sums_layout(const struct sess *s, int64_t len, int full,
    struct sums *sm);
/* Generator: writes the sum head and the sums of f (len bytes). */
int sums_send(struct sess *s, struct fs_file *f, int64_t len, int full,
    size_t *bytes);
/* Sender: reads a sum head and the sums; count 0 when none. */
int sums_recv(struct sess *s, struct sums *sm, int *dropped);
void sums_free(struct sums *sm);
int sums_write_head(struct sess *s, const struct sums *sm);
int sums_read_head(struct sess *s, struct sums *sm);
/* Sender: the token stream for f against sm, then the file checksum. */
int delta_send(struct sess *s, struct fs_file *f, const struct sums *sm,
    const char *name);

/* token.c: the file-data tokens, compressed when s->compress says so */
int tok_send_literal(struct sess *s, const unsigned char *p, size_t n);
/* Block k, whose data (len bytes) enters the history with "zlib". */
int tok_send_block(struct sess *s, int32_t k, const unsigned char *data,
    size_t len);
int tok_send_end(struct sess *s);
/* Next token: *t > 0 literal bytes (read them with tok_read_literal,
 * all of them), 0 the end of the file, -(k+1) block k. */
int tok_recv(struct sess *s, int32_t *t);
int tok_read_literal(struct sess *s, void *buf, size_t n);
/* After a block token: its data, into the inflater's history ("zlib"). */
int tok_see_block(struct sess *s, const unsigned char *data, size_t len);
void tok_free(struct sess *s);

/* sender.c */
int rs_sender(struct sess *s);

/* receiver.c */
int rs_receiver(struct sess *s);
/* Called by io.c for MSG_NO_SEND from the client's sender. */
int recv_no_send(struct sess *s, int32_t ndx);

#endif
