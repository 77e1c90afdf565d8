/*
 * kio — byte sources, byte sinks and a buffered reader.
 *
 * Formats read from a `struct ksrc` and write to a `struct ksink` so the same
 * code serves files, pipes, memory buffers and stacked encoders (armor,
 * hashing).  Implementations embed the struct as their first member.
 *
 * A source's read() returns at least one byte, or *got == 0 at end of input.
 * A sink's write() consumes all n bytes or fails.  Neither owns the buffers
 * it is handed.
 */
#ifndef KLUIS_KIO_H
#define KLUIS_KIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

struct ksrc {
	int (*read)(struct ksrc *s, uint8_t *buf, size_t cap, size_t *got,
		    struct kerr *e);
};

struct ksink {
	int (*write)(struct ksink *s, const uint8_t *p, size_t n,
		     struct kerr *e);
	/* Optional zero-copy path (NULL if not offered): reserve() lends
	 * space for n bytes inside the sink (*p = NULL if it cannot, e.g. n
	 * is too large); the producer fills it and calls commit(n).  Nothing
	 * else may be written in between. */
	int (*reserve)(struct ksink *s, size_t n, uint8_t **p, struct kerr *e);
	int (*commit)(struct ksink *s, size_t n, struct kerr *e);
};

/* A file descriptor as source or sink.  `name` (borrowed) labels errors. */
struct kfd_src {
	struct ksrc base;
	int fd;
	const char *name;
};
struct kfd_sink {
	struct ksink base;
	int fd;
	const char *name;
	uint64_t written;
};
void kfd_src_init(struct kfd_src *s, int fd, const char *name);
void kfd_sink_init(struct kfd_sink *s, int fd, const char *name);
/* The fd sink's write, for sinks that wrap it. */
int kfd_sink_write(struct ksink *s, const uint8_t *p, size_t n,
		   struct kerr *e);

/* A memory buffer as source (borrowed bytes). */
struct kmem_src {
	struct ksrc base;
	const uint8_t *p;
	size_t len, pos;
	size_t step;       /* at most this many bytes per read; 0: no limit */
};
void kmem_src_init(struct kmem_src *s, const void *p, size_t len);
/* The same, handing out at most `step` bytes per read: readers must give
 * the same result however their input trickles in (tests use this). */
void kmem_src_init_step(struct kmem_src *s, const void *p, size_t len,
			size_t step);

/* A sink appending to a kbuf (declared in kbuf.h), bounded by its max. */
struct kbuf;
struct kbuf_sink {
	struct ksink base;
	struct kbuf *buf;
};
void kbuf_sink_init(struct kbuf_sink *s, struct kbuf *b);

/* A sink that discards and counts. */
struct knull_sink {
	struct ksink base;
	uint64_t written;
};
void knull_sink_init(struct knull_sink *s);

/*
 * kreader — buffering over a ksrc, for parsers that need lines, peeks and
 * exact-length reads.  The buffer is allocated once (cap bytes) and never
 * grows: a line longer than the caller's limit is an error, not a resize.
 */
struct kreader {
	struct ksrc *src;
	uint8_t *buf;
	size_t cap, pos, len;  /* unread bytes are buf[pos .. len) */
	bool eof;              /* the source reported end of input */
	uint64_t offset;       /* bytes consumed so far */
	uint64_t line;         /* LF-terminated lines consumed so far */
};

int kreader_init(struct kreader *r, struct ksrc *src, size_t cap,
		 struct kerr *e);
void kreader_free(struct kreader *r);

/* Buffer at least `want` bytes (want <= cap) unless input ends first; the
 * number actually available is returned in *avail (may be NULL). */
int kreader_fill(struct kreader *r, size_t want, size_t *avail,
		 struct kerr *e);
static inline const uint8_t *kreader_peek(const struct kreader *r)
{
	return r->buf + r->pos;
}
static inline size_t kreader_avail(const struct kreader *r)
{
	return r->len - r->pos;
}
/* Drop n buffered bytes (n <= kreader_avail).  The _text variant also
 * counts the line feeds it drops, for line numbers in messages. */
void kreader_consume(struct kreader *r, size_t n);
void kreader_consume_text(struct kreader *r, size_t n);

/*
 * Read one line of at most `max` bytes (LF included; max < cap).  On return
 * *line points into the reader's buffer (valid until the next call), *len
 * counts bytes up to and including LF, and *has_lf tells whether the line
 * ended with LF (false only for a last line at end of input).  *len == 0
 * means end of input.  KERR_LIMIT if no LF within max bytes.
 */
int kreader_line(struct kreader *r, size_t max, const uint8_t **line,
		 size_t *len, bool *has_lf, struct kerr *e);

/* Copy exactly n bytes into dst, fewer only at end of input (*got). */
int kreader_read(struct kreader *r, uint8_t *dst, size_t n, size_t *got,
		 struct kerr *e);

/* As a ksrc itself, so readers can be stacked. */
struct kreader_src {
	struct ksrc base;
	struct kreader *r;
};
void kreader_src_init(struct kreader_src *s, struct kreader *r);

/* Read a whole source into a buffer bounded by b->max. */
int ksrc_slurp(struct ksrc *s, struct kbuf *b, struct kerr *e);

#endif
