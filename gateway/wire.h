/*
 * wire.h — bounded reading and writing of SSH-style wire data
 * (uint8, uint32, uint64 big-endian, length-prefixed strings), shared by
 * the protocol front ends, and SFTP file attributes encoded and decoded
 * in one place.
 *
 * Readers never read past the frame: every getter returns 0 or -1
 * (truncated/malformed) and chains with ||.  Writers grow up to a cap;
 * a write past the cap marks the buffer failed (checked once, at the end).
 */
#ifndef COFFER_WIRE_H
#define COFFER_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs.h"

struct rd {
	const uint8_t *p; /* next unread byte */
	size_t left;      /* bytes left in the frame */
};

int rd_u8(struct rd *r, uint8_t *v);
int rd_u32(struct rd *r, uint32_t *v);
int rd_u64(struct rd *r, uint64_t *v);
/* A string in place (not NUL-terminated): *s borrowed from the frame. */
int rd_str(struct rd *r, const uint8_t **s, size_t *len);
/*
 * A string copied into buf as a C string: refused (-1) when it holds a
 * NUL byte or does not fit in size - 1 bytes.
 */
int rd_cstr(struct rd *r, char *buf, size_t size);

struct wbuf {
	uint8_t *p;
	size_t len, cap, max; /* max: hard cap on cap */
	int failed;           /* a write did not fit or malloc failed */
};

int wb_init(struct wbuf *w, size_t initial, size_t max);
void wb_free(struct wbuf *w);
/* Makes room for n more bytes; returns a pointer to them, or NULL. */
uint8_t *wb_reserve(struct wbuf *w, size_t n);
void wb_u8(struct wbuf *w, uint8_t v);
void wb_u32(struct wbuf *w, uint32_t v);
void wb_u64(struct wbuf *w, uint64_t v);
void wb_str(struct wbuf *w, const void *s, size_t len);
void wb_cstr(struct wbuf *w, const char *s);
void wb_put_u32_at(struct wbuf *w, size_t off, uint32_t v);
/* Drops the first n bytes (sent). */
void wb_consume(struct wbuf *w, size_t n);

/* SFTP v3 attribute flags. */
#define SSH_FILEXFER_ATTR_SIZE 0x00000001
#define SSH_FILEXFER_ATTR_UIDGID 0x00000002
#define SSH_FILEXFER_ATTR_PERMISSIONS 0x00000004
#define SSH_FILEXFER_ATTR_ACMODTIME 0x00000008
#define SSH_FILEXFER_ATTR_EXTENDED 0x80000000

/* Decodes ATTRS into a (extended pairs are skipped, at most 64). */
int rd_attrs(struct rd *r, struct fs_attr *a);
/* Encodes a stat as ATTRS (size, uid/gid, permissions, times). */
void wb_attrs(struct wbuf *w, const struct stat *st);

#endif
