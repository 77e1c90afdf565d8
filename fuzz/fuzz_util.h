/*
 * fuzz_util.h — what every fuzz target shares: one-time library set-up,
 * the error-record contract check, and a source that returns few bytes per
 * read (so parsers are driven across every buffer refill).
 */
#ifndef KLUIS_FUZZ_UTIL_H
#define KLUIS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kluis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void init_once(void)
{
	static bool done;
	struct kerr e;

	if (done)
		return;
	if (kluis_init(&e) != 0)
		abort();
	done = true;
}

/* A failure must come with its code recorded in the error record. */
static inline void check_err(int rc, const struct kerr *e)
{
	if (rc != 0 && (e->code == KERR_OK || rc != (int)e->code))
		abort();
}

/* A memory source that returns at most `step` bytes per read. */
struct trickle_src {
	struct ksrc base;
	const uint8_t *p;
	size_t len, pos, step;
};

static inline int trickle_read(struct ksrc *s, uint8_t *buf, size_t cap,
			       size_t *got, struct kerr *e)
{
	struct trickle_src *t = (struct trickle_src *)s;
	size_t n = t->len - t->pos;

	(void)e;
	if (n > cap)
		n = cap;
	if (n > t->step)
		n = t->step;
	if (n)
		memcpy(buf, t->p + t->pos, n);
	t->pos += n;
	*got = n;
	return 0;
}

#endif
