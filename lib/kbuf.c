/*
 * kbuf — bounded growable buffers.  Growth doubles; a secret buffer is
 * moved by allocate-copy-wipe-free because sodium_malloc has no realloc.
 * The common cases of reserve, append and reset are inline in kbuf.h.
 */
#include "kbuf.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

void kbuf_init(struct kbuf *b, size_t max, bool secret)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->secret = secret;
}

static void *raw_alloc(size_t n, bool secret)
{
	return secret ? sodium_malloc(n) : malloc(n);
}

static void raw_free(void *p, size_t n, bool secret)
{
	if (!p)
		return;
	if (secret) {
		sodium_free(p); /* wipes */
	} else {
		sodium_memzero(p, n);
		free(p);
	}
}

int kbuf_grow_(struct kbuf *b, size_t extra, struct kerr *e)
{
	size_t need, ncap;
	uint8_t *np;

	if (extra > b->max || b->len > b->max - extra)
		return kerr_set(e, KERR_LIMIT, NULL,
				"more than %zu bytes", b->max);
	need = b->len + extra;
	if (need <= b->cap && b->p)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	np = raw_alloc(ncap + 1, b->secret);
	if (!np)
		return kerr_set(e, KERR_NOMEM, NULL, "cannot allocate %zu bytes",
				ncap + 1);
	if (b->p) {
		memcpy(np, b->p, b->len);
		raw_free(b->p, b->cap + 1, b->secret);
	}
	np[b->len] = '\0';
	b->p = np;
	b->cap = ncap;
	return 0;
}

int kbuf_putc(struct kbuf *b, uint8_t c, struct kerr *e)
{
	return kbuf_append(b, &c, 1, e);
}

int kbuf_puts(struct kbuf *b, const char *s, struct kerr *e)
{
	return kbuf_append(b, s, strlen(s), e);
}

int kbuf_printf(struct kbuf *b, struct kerr *e, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kerr_set(e, KERR_INTERNAL, NULL, "bad format");
	rc = kbuf_reserve(b, (size_t)n, e);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void kbuf_truncate(struct kbuf *b, size_t len)
{
	if (!b->p || len >= b->len)
		return;
	sodium_memzero(b->p + len, b->len - len);
	b->len = len;
}

bool kbuf_equal(const struct kbuf *a, const struct kbuf *b)
{
	if (a->len != b->len)
		return false;
	if (a->len == 0)
		return true;
	return sodium_memcmp(a->p, b->p, a->len) == 0;
}

void kbuf_wipe_(struct kbuf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->len);
		b->p[0] = '\0';
	}
	b->len = 0;
}

uint8_t *kbuf_take(struct kbuf *b, size_t *len)
{
	uint8_t *p = b->p;

	if (p && !b->secret && b->cap > b->len)
		sodium_memzero(p + b->len + 1, b->cap - b->len);
	if (!p) {
		/* Always hand out a valid (empty) string. */
		p = raw_alloc(1, b->secret);
		if (p)
			p[0] = '\0';
	}
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void kbuf_free_taken(void *p, size_t len, bool secret)
{
	raw_free(p, len + 1, secret);
}

void kbuf_free(struct kbuf *b)
{
	raw_free(b->p, b->cap + 1, b->secret);
	b->p = NULL;
	b->len = b->cap = 0;
}
