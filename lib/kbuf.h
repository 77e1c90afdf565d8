/*
 * kbuf — a growable byte buffer with a hard cap.
 *
 * Every buffer that grows with input has a `max`: growth past it fails with
 * KERR_LIMIT instead of eating memory.  The buffer owns its bytes until
 * kbuf_take() hands them to the caller.  The contents are always followed
 * by a NUL byte (not counted in len) so text can be used as a C string.
 * A `secret` buffer lives in sodium_malloc'd memory (guarded, mlocked);
 * every buffer is wiped before its memory is released or moved.
 *
 * The calls made per cell of a register (reserve, append, reset) are
 * inline with their common case; growth and wiping stay out of line.
 */
#ifndef KLUIS_KBUF_H
#define KLUIS_KBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kerr.h"

struct kbuf {
	uint8_t *p;   /* NULL until the first append */
	size_t len;   /* bytes in use */
	size_t cap;   /* bytes allocated, excluding the NUL slot */
	size_t max;   /* hard cap on len */
	bool secret;  /* sodium_malloc'd and locked */
};

#define KBUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes), false }

void kbuf_init(struct kbuf *b, size_t max, bool secret);

/* Out of line: the growing part of kbuf_reserve, and the wipe of
 * kbuf_reset for a secret buffer.  Not for direct use. */
int kbuf_grow_(struct kbuf *b, size_t extra, struct kerr *e);
void kbuf_wipe_(struct kbuf *b);

/* Make room for `extra` more bytes; KERR_LIMIT past max, KERR_NOMEM.
 * cap never exceeds max, so fitting in cap means fitting in max. */
static inline int kbuf_reserve(struct kbuf *b, size_t extra, struct kerr *e)
{
	if (b->p && extra <= b->cap - b->len)
		return 0;
	return kbuf_grow_(b, extra, e);
}

static inline int kbuf_append(struct kbuf *b, const void *p, size_t n,
			      struct kerr *e)
{
	int rc = kbuf_reserve(b, n, e);

	if (rc)
		return rc;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int kbuf_putc(struct kbuf *b, uint8_t c, struct kerr *e);
int kbuf_puts(struct kbuf *b, const char *s, struct kerr *e);
int kbuf_printf(struct kbuf *b, struct kerr *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Shorten to len bytes, wiping what is cut. */
void kbuf_truncate(struct kbuf *b, size_t len);

/* Same length and bytes, compared in constant time. */
bool kbuf_equal(const struct kbuf *a, const struct kbuf *b);

/* Drop the contents, keep the allocation.  A secret buffer is wiped
 * now; any other keeps its old bytes until they are overwritten or the
 * buffer is freed, moved or taken (all of which wipe), since wiping a
 * buffer that is refilled for every cell was a visible share of an
 * export. */
static inline void kbuf_reset(struct kbuf *b)
{
	if (b->secret) {
		kbuf_wipe_(b);
		return;
	}
	if (b->p)
		b->p[0] = '\0';
	b->len = 0;
}

/* Hand the bytes to the caller, who frees them with kbuf_free_taken()
 * (same secret flag).  The buffer is left empty; bytes left past len by
 * kbuf_reset are wiped first, since kbuf_free_taken wipes only len + 1. */
uint8_t *kbuf_take(struct kbuf *b, size_t *len);
void kbuf_free_taken(void *p, size_t len, bool secret);

/* Wipe and release. */
void kbuf_free(struct kbuf *b);

#endif
