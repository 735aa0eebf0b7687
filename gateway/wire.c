#include "wire.h"

#include <stdlib.h>
#include <string.h>

int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return -1;
	*v = r->p[0];
	r->p++;
	r->left--;
	return 0;
}

int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

int
rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (r->left < 8 || rd_u32(r, &hi) || rd_u32(r, &lo))
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
rd_str(struct rd *r, const uint8_t **s, size_t *len)
{
	uint32_t n;
	struct rd save = *r;

	if (rd_u32(r, &n) || n > r->left) {
		*r = save;
		return -1;
	}
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

int
rd_cstr(struct rd *r, char *buf, size_t size)
{
	const uint8_t *s;
	size_t n;
	struct rd save = *r;

	if (rd_str(r, &s, &n))
		return -1;
	if (n >= size || memchr(s, '\0', n) != NULL) {
		*r = save;
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

int
wb_init(struct wbuf *w, size_t initial, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	if ((w->p = malloc(initial)) == NULL)
		return -1;
	w->cap = initial;
	return 0;
}

void
wb_free(struct wbuf *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}

uint8_t *
wb_reserve(struct wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->failed)
		return NULL;
	if (n > w->max - w->len) {
		w->failed = 1;
		return NULL;
	}
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 1024;

		while (n > cap - w->len)
			cap = cap > w->max / 2 ? w->max : cap * 2;
		if ((p = realloc(w->p, cap)) == NULL) {
			w->failed = 1;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

void
wb_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *p = wb_reserve(w, 1);

	if (p != NULL)
		p[0] = v;
}

void
wb_put_u32_at(struct wbuf *w, size_t off, uint32_t v)
{
	if (off + 4 > w->len)
		return;
	w->p[off] = (uint8_t)(v >> 24);
	w->p[off + 1] = (uint8_t)(v >> 16);
	w->p[off + 2] = (uint8_t)(v >> 8);
	w->p[off + 3] = (uint8_t)v;
}

void
wb_u32(struct wbuf *w, uint32_t v)
{
	if (wb_reserve(w, 4) != NULL)
		wb_put_u32_at(w, w->len - 4, v);
}

void
wb_u64(struct wbuf *w, uint64_t v)
{
	wb_u32(w, (uint32_t)(v >> 32));
	wb_u32(w, (uint32_t)v);
}

void
wb_str(struct wbuf *w, const void *s, size_t len)
{
	uint8_t *p;

	if (len > UINT32_MAX) {
		w->failed = 1;
		return;
	}
	wb_u32(w, (uint32_t)len);
	if (len > 0 && (p = wb_reserve(w, len)) != NULL)
		memcpy(p, s, len);
}

void
wb_cstr(struct wbuf *w, const char *s)
{
	wb_str(w, s, strlen(s));
}

void
wb_consume(struct wbuf *w, size_t n)
{
	if (n >= w->len) {
		w->len = 0;
		return;
	}
	memmove(w->p, w->p + n, w->len - n);
	w->len -= n;
}

int
rd_attrs(struct rd *r, struct fs_attr *a)
{
	uint32_t flags, n, i;

	memset(a, 0, sizeof(*a));
	if (rd_u32(r, &flags))
		return -1;
	if ((flags & SSH_FILEXFER_ATTR_SIZE) && rd_u64(r, &a->size))
		return -1;
	if ((flags & SSH_FILEXFER_ATTR_UIDGID) &&
	    (rd_u32(r, &a->uid) || rd_u32(r, &a->gid)))
		return -1;
	if ((flags & SSH_FILEXFER_ATTR_PERMISSIONS) && rd_u32(r, &a->perm))
		return -1;
	if ((flags & SSH_FILEXFER_ATTR_ACMODTIME) &&
	    (rd_u32(r, &a->atime) || rd_u32(r, &a->mtime)))
		return -1;
	if (flags & SSH_FILEXFER_ATTR_EXTENDED) {
		if (rd_u32(r, &n) || n > 64)
			return -1;
		for (i = 0; i < n; i++) {
			const uint8_t *s;
			size_t l;

			if (rd_str(r, &s, &l) || rd_str(r, &s, &l))
				return -1;
		}
	}
	a->flags = (flags & SSH_FILEXFER_ATTR_SIZE ? FS_ATTR_SIZE : 0) |
	    (flags & SSH_FILEXFER_ATTR_UIDGID ? FS_ATTR_UIDGID : 0) |
	    (flags & SSH_FILEXFER_ATTR_PERMISSIONS ? FS_ATTR_PERM : 0) |
	    (flags & SSH_FILEXFER_ATTR_ACMODTIME ? FS_ATTR_TIMES : 0);
	return 0;
}

void
wb_attrs(struct wbuf *w, const struct stat *st)
{
	wb_u32(w, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
	    SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
	wb_u64(w, (uint64_t)st->st_size);
	wb_u32(w, (uint32_t)st->st_uid);
	wb_u32(w, (uint32_t)st->st_gid);
	wb_u32(w, (uint32_t)st->st_mode);
	wb_u32(w, (uint32_t)st->st_atime);
	wb_u32(w, (uint32_t)st->st_mtime);
}
