/*
 * fuzz_util.h — what every fuzz target shares: one-time library set-up,
 * the error-record contract check, and the check of a value a reader hands
 * out.  Sources that return few bytes per read (so parsers are driven
 * across every buffer refill) are kio's kmem_src_init_step.
 */
#ifndef KLUIS_FUZZ_UTIL_H
#define KLUIS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

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

/* A value a reader handed out must be valid UTF-8 without NUL. */
static inline void check_utf8_value(const void *v, size_t len)
{
	const uint8_t *p = v;

	if (len && !p)
		abort();
	if (len && memchr(p, 0, len))
		abort();
	for (size_t k = 0; k < len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t r = utf8proc_iterate(
			p + k, (utf8proc_ssize_t)(len - k), &cp);

		if (r <= 0)
			abort();
		k += (size_t)r;
	}
}

#endif
