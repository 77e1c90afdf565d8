/*
 * pfield — validate and normalise one raw value for a protocol field.
 *
 * The per-type rules of docs/protocol-format.md on top of norm.h: text
 * length, int range, date range, phone region, enum and bool spellings
 * matched ignoring case and accents.  The result is the value packages
 * carry (ISO dates, E.164 phones, canonical enum values).
 */
#ifndef KLUIS_PFIELD_H
#define KLUIS_PFIELD_H

#include <stddef.h>

#include "kbuf.h"
#include "norm.h"
#include "protocol.h"

/*
 * Returns NORM_OK (normalised value in out, replacing its contents),
 * NORM_EMPTY (no value), or NORM_INVALID with *why a static, value-free
 * reason ("not a date", "below the allowed minimum", "not one of the
 * allowed values").  What an invalid or empty value means for the record
 * (reject, blank, required) is the caller's decision, from f.
 */
int pfield_normalise(const struct pfield *f, const char *in, size_t len,
		     struct kbuf *out, const char **why);

/*
 * The function that pfield_normalise hands f's cells to: called with the
 * same arguments it gives the same results, without the dispatch on the
 * type, for callers that normalise many cells of one field.
 */
typedef int (*pfield_fn)(const struct pfield *f, const char *in, size_t len,
			 struct kbuf *out, const char **why);
pfield_fn pfield_normaliser(const struct pfield *f);

#endif
