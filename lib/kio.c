/*
 * kio — sources, sinks, buffered reader.  fd I/O retries EINTR and short
 * writes; the reader compacts its buffer instead of growing it.
 */
#include "kio.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kbuf.h"
#include "banned.h"

static int fd_read(struct ksrc *s, uint8_t *buf, size_t cap, size_t *got,
		   struct kerr *e)
{
	struct kfd_src *f = (struct kfd_src *)s;
	ssize_t n;

	do {
		n = read(f->fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return kerr_errno(e, errno, f->name, "read");
	*got = (size_t)n;
	return 0;
}

void kfd_src_init(struct kfd_src *s, int fd, const char *name)
{
	s->base.read = fd_read;
	s->fd = fd;
	s->name = name;
}

int kfd_sink_write(struct ksink *s, const uint8_t *p, size_t n,
		   struct kerr *e)
{
	struct kfd_sink *f = (struct kfd_sink *)s;

	while (n > 0) {
		ssize_t w = write(f->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return kerr_errno(e, errno, f->name, "write");
		}
		p += w;
		n -= (size_t)w;
		f->written += (uint64_t)w;
	}
	return 0;
}

void kfd_sink_init(struct kfd_sink *s, int fd, const char *name)
{
	s->base.write = kfd_sink_write;
	s->base.reserve = NULL;
	s->base.commit = NULL;
	s->fd = fd;
	s->name = name;
	s->written = 0;
}

static int mem_read(struct ksrc *s, uint8_t *buf, size_t cap, size_t *got,
		    struct kerr *e)
{
	struct kmem_src *m = (struct kmem_src *)s;
	size_t n = m->len - m->pos;

	(void)e;
	if (n > cap)
		n = cap;
	if (m->step && n > m->step)
		n = m->step;
	if (n)
		memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return 0;
}

void kmem_src_init(struct kmem_src *s, const void *p, size_t len)
{
	kmem_src_init_step(s, p, len, 0);
}

void kmem_src_init_step(struct kmem_src *s, const void *p, size_t len,
			size_t step)
{
	s->base.read = mem_read;
	s->p = p;
	s->len = len;
	s->pos = 0;
	s->step = step;
}

static int kbuf_write(struct ksink *s, const uint8_t *p, size_t n,
		      struct kerr *e)
{
	return kbuf_append(((struct kbuf_sink *)s)->buf, p, n, e);
}

void kbuf_sink_init(struct kbuf_sink *s, struct kbuf *b)
{
	s->base.write = kbuf_write;
	s->base.reserve = NULL;
	s->base.commit = NULL;
	s->buf = b;
}

static int null_write(struct ksink *s, const uint8_t *p, size_t n,
		      struct kerr *e)
{
	(void)p;
	(void)e;
	((struct knull_sink *)s)->written += n;
	return 0;
}

void knull_sink_init(struct knull_sink *s)
{
	s->base.write = null_write;
	s->base.reserve = NULL;
	s->base.commit = NULL;
	s->written = 0;
}

int kreader_init(struct kreader *r, struct ksrc *src, size_t cap,
		 struct kerr *e)
{
	memset(r, 0, sizeof *r);
	r->src = src;
	r->buf = malloc(cap);
	if (!r->buf)
		return kerr_set(e, KERR_NOMEM, NULL, "cannot allocate %zu bytes",
				cap);
	r->cap = cap;
	return 0;
}

void kreader_free(struct kreader *r)
{
	if (r->buf) {
		/* The buffer may have held decrypted personal data. */
		sodium_memzero(r->buf, r->cap);
		free(r->buf);
	}
	r->buf = NULL;
}

int kreader_fill(struct kreader *r, size_t want, size_t *avail,
		 struct kerr *e)
{
	if (want > r->cap)
		want = r->cap;
	while (r->len - r->pos < want && !r->eof) {
		size_t got = 0;
		int rc;

		if (r->pos > 0 && (r->cap - r->len < want - (r->len - r->pos))) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->len -= r->pos;
			r->pos = 0;
		}
		rc = r->src->read(r->src, r->buf + r->len, r->cap - r->len,
				  &got, e);
		if (rc)
			return rc;
		if (got == 0)
			r->eof = true;
		r->len += got;
	}
	if (avail)
		*avail = r->len - r->pos;
	return 0;
}

void kreader_consume(struct kreader *r, size_t n)
{
	r->pos += n;
	r->offset += n;
}

void kreader_consume_text(struct kreader *r, size_t n)
{
	const uint8_t *p = r->buf + r->pos, *end = p + n;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		r->line++;
		p++;
	}
	kreader_consume(r, n);
}

int kreader_line(struct kreader *r, size_t max, const uint8_t **line,
		 size_t *len, bool *has_lf, struct kerr *e)
{
	size_t scanned = 0;

	if (max >= r->cap)
		max = r->cap - 1;
	for (;;) {
		size_t avail = r->len - r->pos;
		const uint8_t *p = r->buf + r->pos;
		const uint8_t *nl = avail > scanned
			? memchr(p + scanned, '\n', avail - scanned) : NULL;
		int rc;

		if (nl) {
			size_t n = (size_t)(nl - p) + 1;
			if (n > max)
				break;
			*line = p;
			*len = n;
			*has_lf = true;
			r->pos += n;
			r->offset += n;
			r->line++;
			return 0;
		}
		if (avail > max)
			break;
		if (r->eof) {
			*line = p;
			*len = avail;
			*has_lf = false;
			r->pos += avail;
			r->offset += avail;
			return 0;
		}
		scanned = avail;
		rc = kreader_fill(r, avail + 1, NULL, e);
		if (rc)
			return rc;
	}
	return kerr_set(e, KERR_LIMIT, NULL, "line longer than %zu bytes", max);
}

int kreader_read(struct kreader *r, uint8_t *dst, size_t n, size_t *got,
		 struct kerr *e)
{
	size_t done = 0;

	while (done < n) {
		size_t avail = r->len - r->pos, take;
		if (avail == 0) {
			if (r->eof)
				break;
			/* Large reads bypass the buffer. */
			if (n - done >= r->cap) {
				size_t g = 0;
				int rc = r->src->read(r->src, dst + done,
						      n - done, &g, e);
				if (rc)
					return rc;
				if (g == 0)
					r->eof = true;
				done += g;
				r->offset += g;
				continue;
			}
			int rc = kreader_fill(r, 1, &avail, e);
			if (rc)
				return rc;
			continue;
		}
		take = avail < n - done ? avail : n - done;
		memcpy(dst + done, r->buf + r->pos, take);
		r->pos += take;
		r->offset += take;
		done += take;
	}
	*got = done;
	return 0;
}

static int reader_src_read(struct ksrc *s, uint8_t *buf, size_t cap,
			   size_t *got, struct kerr *e)
{
	struct kreader *r = ((struct kreader_src *)s)->r;
	size_t avail;
	int rc;

	if (r->len == r->pos && !r->eof && cap >= r->cap) {
		/* Bypass: nothing buffered and the caller's buffer is larger. */
		rc = r->src->read(r->src, buf, cap, got, e);
		if (rc)
			return rc;
		if (*got == 0)
			r->eof = true;
		r->offset += *got;
		return 0;
	}
	rc = kreader_fill(r, 1, &avail, e);
	if (rc)
		return rc;
	if (avail > cap)
		avail = cap;
	memcpy(buf, r->buf + r->pos, avail);
	r->pos += avail;
	r->offset += avail;
	*got = avail;
	return 0;
}

void kreader_src_init(struct kreader_src *s, struct kreader *r)
{
	s->base.read = reader_src_read;
	s->r = r;
}

int ksrc_slurp(struct ksrc *s, struct kbuf *b, struct kerr *e)
{
	for (;;) {
		size_t room = b->max - b->len, got = 0;
		int rc;

		if (room == 0) {
			/* At the cap: one more byte tells whether input ends. */
			uint8_t c;
			rc = s->read(s, &c, 1, &got, e);
			if (rc)
				return rc;
			return got ? kerr_set(e, KERR_LIMIT, NULL,
					      "more than %zu bytes", b->max)
				   : 0;
		}
		rc = kbuf_reserve(b, room < 65536 ? room : 65536, e);
		if (rc)
			return rc;
		room = b->cap - b->len;
		if (room > b->max - b->len)
			room = b->max - b->len;
		rc = s->read(s, b->p + b->len, room, &got, e);
		if (rc)
			return rc;
		if (got == 0)
			return 0;
		b->len += got;
		b->p[b->len] = '\0';
	}
}
