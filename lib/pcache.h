/*
 * pcache — remembered results of pfield_normalise for one field.
 *
 * A register repeats most cells of most columns (types, municipalities,
 * yes/no, capacities); normalising them again each time is most of the
 * work of an export.  pfield_normalise is a pure function of the field and
 * the raw bytes, so a result can be reused for the same bytes.  The cache
 * gives exactly what pfield_normalise gives (return code, value, reason):
 * it compares the whole raw cell, not a hash.
 *
 * Bounded: a fixed table per field (allocated on first use), short cells
 * only.  Dates, e-mail addresses and phone numbers are never cached: their
 * normalisers cost less than a lookup.  Adaptive: a field whose cells
 * rarely repeat (names) stops being looked up for a while and is tried
 * again later.  Results that depend on anything besides the bytes (a full
 * output buffer, memory) are never stored.  The table holds personal data:
 * it is wiped when freed.  One cache per field and per thread.
 */
#ifndef KLUIS_PCACHE_H
#define KLUIS_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kbuf.h"
#include "pfield.h"

struct pcache;

/* A cache for field f (borrowed: it must outlive the cache); NULL when
 * out of memory.  The table itself is allocated on the first store. */
struct pcache *pcache_new(const struct pfield *f);

/* Exactly pfield_normalise(f, in, len, out, why), faster on repeats. */
int pcache_normalise(struct pcache *c, const char *in, size_t len,
		     struct kbuf *out, const char **why);

/* Lookups and hits so far (for tests and tuning). */
void pcache_stats(const struct pcache *c, uint64_t *lookups, uint64_t *hits);

/* Wipe and free; NULL is fine. */
void pcache_free(struct pcache *c);

#endif
