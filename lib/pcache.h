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
 * Bounded: a table per field (allocated on first use, grown while the
 * field repeats more than it holds or its cells crowd some buckets, up
 * to a limit), short cells only.
 * Dates, e-mail addresses and phone numbers are never cached: their
 * normalisers cost less than a lookup.  Adaptive: a field whose cells
 * rarely repeat (names) stops being looked up for a while and is tried
 * again later.  Results that depend on anything besides the bytes (a full
 * output buffer, memory) are never stored.  The table holds personal data:
 * it is wiped when freed.  One cache per field and per thread.
 *
 * A caller's loop may take the hit path in pieces (pcache_hit, then
 * pcache_get_rest), call a direct field's normaliser itself
 * (pcache_direct), and keep the empty cell's result (pcache_empty).
 */
#ifndef KLUIS_PCACHE_H
#define KLUIS_PCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kbuf.h"
#include "pfield.h"

struct pcache;

/* A cache for field f (borrowed: it must outlive the cache); NULL when
 * out of memory.  The table itself is allocated on the first store. */
struct pcache *pcache_new(const struct pfield *f);

/* Exactly pfield_normalise(f, in, len, out, why), faster on repeats. */
int pcache_normalise(struct pcache *c, const char *in, size_t len,
		     struct kbuf *out, const char **why);

/* The longest value pcache_get hands out: a longer one is "too long",
 * as pfield_normalise says of a value that does not fit its output. */
#define PCACHE_VALUE_MAX ((size_t)1 << 20)

/*
 * pfield_normalise(f, in, len, out, why) for an out of c's own (with max
 * PCACHE_VALUE_MAX), without copying the value: for NORM_OK, *v and *vlen
 * are the value, NUL-terminated, which stays valid and unchanged until the
 * next call on c (or pcache_free); for other results *why is the reason
 * (*v and *vlen are then undefined).  why must not be NULL.  Inline: the
 * hit path is below.
 */
static inline __attribute__((always_inline)) int
pcache_get(struct pcache *c, const char *in, size_t len,
			     const char **v, size_t *vlen, const char **why);

/* ---- pcache_get's hit path, inline in the caller's loop (a call per
 * cell, with its saved registers, was most of a hit's cost).  The rest
 * is pcache.c's business: not for direct use. ---- */

#define PCACHE_WAYS_ 8u          /* entries per bucket: bytes of a tag word */
#define PCACHE_KV_ 60u           /* raw cell, value and NUL bytes per entry */

/* A table entry: one cache line (see pcache.c). */
struct pcache_entry_ {
	uint8_t klen, vlen;      /* klen 0: free (cells are >= 1 byte) */
	uint8_t state;           /* the rc + 1 */
	uint8_t why;             /* 1 + index into the reasons; 0: NULL */
	uint8_t kv[PCACHE_KV_];  /* the raw cell, the value, a NUL */
};

/* The first member of struct pcache: what the hit path reads. */
struct pcache_hot_ {
	/* The tag words while cells are looked up; NULL when direct, while
	 * off, or without a table: the one test of the hit path. */
	const uint64_t *live;
	struct pcache_entry_ *e; /* the entries, bucket by bucket */
	unsigned shift;          /* 64 - log2(buckets) */
	uint32_t left;           /* lookups left in this window */
	bool direct;             /* never cached: see pcache.c */
	/* What pcache_hit found when it did not hit: an entry with another
	 * result, or NULL for a miss (for pcache_get_rest). */
	const struct pcache_entry_ *found;
	/* The empty cell's result, once known (not counted as a lookup). */
	bool empty_known;
	int empty_rc;
	const char *empty_why;
};

int pcache_get_slow_(struct pcache *c, const char *in, size_t len,
		     const char **v, size_t *vlen, const char **why);
int pcache_get_miss_(struct pcache *c, const char *in, size_t len,
		     const char **v, size_t *vlen, const char **why);
int pcache_get_other_(struct pcache *c, const struct pcache_entry_ *s,
		      const char **why);
void pcache_window_end_(struct pcache *c);

static inline uint64_t pcache_load64_(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline uint64_t pcache_load32_(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/* A cell's length class: what its words are (pcache_key_words_). */
enum { PCACHE_SHORT_, PCACHE_MID_, PCACHE_LONG_ };

/*
 * Two words that together hold every byte of p[0..len), 1 <= len, when
 * len <= 16, read without going outside it: the first and the last 8
 * bytes (overlapping when len < 16), the first and last 4 when len < 8,
 * or the first, middle and last byte when len < 4.  Cells of one length
 * are equal iff their words are.  Longer cells also have the words at
 * 8, 16, ... below len - 8 (see pcache_same_).  cls is len's class, a
 * constant where the lookup is inlined: each class gets its own code,
 * with no test of the length left in it.
 */
static inline __attribute__((always_inline)) void
pcache_key_words_cls_(const uint8_t *p, size_t len, int cls, uint64_t *a,
		      uint64_t *b)
{
	if (cls == PCACHE_LONG_) {
		*a = pcache_load64_(p);
		*b = pcache_load64_(p + len - 8);
	} else if (cls == PCACHE_MID_) {
		*a = pcache_load32_(p);
		*b = pcache_load32_(p + len - 4);
	} else {
		*a = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
		     (uint64_t)p[len - 1] << 16;
		*b = 0;
	}
}

static inline int pcache_class_(size_t len)
{
	return len >= 8 ? PCACHE_LONG_ : len >= 4 ? PCACHE_MID_ : PCACHE_SHORT_;
}

static inline void pcache_key_words_(const uint8_t *p, size_t len,
				     uint64_t *a, uint64_t *b)
{
	pcache_key_words_cls_(p, len, pcache_class_(len), a, b);
}

/* The hash of a cell of len bytes with words a, b (the middle of a
 * longer cell does not go in: cells of one column that agree in length
 * and in their first and last eight bytes are rare, and cost a miss at
 * worst).  Multiply-xor; the top bits of the last product depend on
 * every bit that went in.  The bucket is the top bits, the tag bits
 * 32..38 (apart from them: tables have at most 2^24 buckets). */
static inline uint64_t pcache_hash_(size_t len, uint64_t a, uint64_t b)
{
	return ((a ^ (uint64_t)len) * 0x9e3779b97f4a7c15u ^ b) *
	       0xc4ceb9fe1a85ec53u;
}

/* A way's tag byte: the top bit marks it in use. */
static inline uint64_t pcache_tag_(uint64_t h)
{
	return (uint64_t)(((uint8_t)(h >> 32)) | 0x80u);
}

/* Whether entry s holds the cell p[0..len) of class cls with words a,
 * b. */
static inline __attribute__((always_inline)) bool
pcache_same_(const struct pcache_entry_ *s, const uint8_t *p, size_t len,
	     int cls, uint64_t a, uint64_t b)
{
	uint64_t sa, sb;

	if (s->klen != len)
		return false;
	pcache_key_words_cls_(s->kv, len, cls, &sa, &sb);
	if (sa != a || sb != b)
		return false;
	if (cls == PCACHE_LONG_ && len > 16)
		for (size_t i = 8; i + 8 < len; i += 8)
			if (pcache_load64_(s->kv + i) !=
			    pcache_load64_(p + i))
				return false;
	return true;
}

/* The entry that holds the cell p[0..len), 1 <= len < PCACHE_KV_, of
 * class cls, in the live table t; NULL if none does. */
static inline __attribute__((always_inline)) const struct pcache_entry_ *
pcache_find_cls_(const struct pcache_hot_ *h, const uint64_t *t,
		 const uint8_t *p, size_t len, int cls)
{
	const uint64_t ones = 0x0101010101010101u;
	uint64_t wa, wb, hash, x, m;
	const struct pcache_entry_ *b;
	size_t bkt;

	pcache_key_words_cls_(p, len, cls, &wa, &wb);
	hash = pcache_hash_(len, wa, wb);
	bkt = (size_t)(hash >> h->shift);
	/* A zero byte of x is a way whose tag matches; m marks it (and
	 * maybe bytes above one that does: pcache_same_ sorts them out). */
	x = t[bkt] ^ pcache_tag_(hash) * ones;
	m = (x - ones) & ~x & (ones << 7);
	b = &h->e[bkt * PCACHE_WAYS_];
	for (; m; m &= m - 1) {
		/* m's lowest bit is bit 8k + 7 for way k */
		const struct pcache_entry_ *s =
			(const struct pcache_entry_ *)(const void *)((
				const char *)b + (size_t)__builtin_ctzll(m) *
							 8 - 7 * 8);

		if (pcache_same_(s, p, len, cls, wa, wb))
			return s;
	}
	return NULL;
}

/* The same for a cell of any class (one copy of the lookup per class). */
static inline __attribute__((always_inline)) const struct pcache_entry_ *
pcache_find_(const struct pcache_hot_ *h, const uint64_t *t,
	     const uint8_t *p, size_t len)
{
	if (len >= 8)
		return pcache_find_cls_(h, t, p, len, PCACHE_LONG_);
	if (len >= 4)
		return pcache_find_cls_(h, t, p, len, PCACHE_MID_);
	return pcache_find_cls_(h, t, p, len, PCACHE_SHORT_);
}

static inline __attribute__((always_inline)) int
pcache_get(struct pcache *c, const char *in, size_t len,
			     const char **v, size_t *vlen, const char **why)
{
	struct pcache_hot_ *h = (struct pcache_hot_ *)(void *)c;
	const uint64_t *t = h->live;
	const struct pcache_entry_ *s;

	if (!t || len - 1 >= PCACHE_KV_ - 1) { /* len 0 too */
		if (len == 0 && h->empty_known) {
			/* the most repeated cell of all */
			*v = "";
			*vlen = 0;
			*why = h->empty_why;
			return h->empty_rc;
		}
		return pcache_get_slow_(c, in, len, v, vlen, why);
	}
	s = pcache_find_(h, t, (const uint8_t *)in, len);
	if (!s)
		return pcache_get_miss_(c, in, len, v, vlen, why);
	if (__builtin_expect(s->state != NORM_OK + 1, 0))
		return pcache_get_other_(c, s, why);
	*v = (const char *)s->kv + len;
	*vlen = s->vlen;
	if (--h->left == 0)
		pcache_window_end_(c);
	return NORM_OK;
}

static inline __attribute__((always_inline)) const struct pcache_entry_ *
pcache_hit(struct pcache *c, const char *in, size_t len)
{
	struct pcache_hot_ *h = (struct pcache_hot_ *)(void *)c;
	const uint64_t *t = h->live;
	const struct pcache_entry_ *s;

	/* (the loops that call it know that len is not 0) */
	if (!t || len == 0 || len >= PCACHE_KV_)
		return NULL;
	s = pcache_find_(h, t, (const uint8_t *)in, len);
	if (!s || __builtin_expect(s->state != NORM_OK + 1, 0)) {
		h->found = s;
		return NULL;
	}
	if (--h->left == 0)
		pcache_window_end_(c);
	return s;
}

static inline const char *pcache_hit_value(const struct pcache_entry_ *s,
					   size_t len)
{
	return (const char *)s->kv + len;
}

static inline size_t pcache_hit_len(const struct pcache_entry_ *s)
{
	return s->vlen;
}

/*
 * For a field the cache never caches (direct: see pcache.c): its
 * normaliser, field and output buffer, so that a caller's loop can call
 * the normaliser itself, as pcache_get would, without going through the
 * cache (*fn)(*f, in, len, *out, why) is then pcache_get's result, with
 * the value in (*out)->p ("" while that is NULL) and (*out)->len, valid
 * until the next call on c.  false (and nothing set) for a cached field.
 */
bool pcache_direct(struct pcache *c, pfield_fn *fn, const struct pfield **f,
		   struct kbuf **out);

/*
 * The result for the empty cell (rc, and *why), worked out once and
 * remembered: true when it is a function of the bytes alone, as it is
 * unless memory ran out, and the value is empty (false: ask pcache_get).
 * It is the same for every call on c, so a caller may keep it.
 */
bool pcache_empty(struct pcache *c, int *rc, const char **why);

/*
 * pcache_get in two parts, for a caller's loop that puts the value where
 * it wants it once the lookup is done (holding its pointers across the
 * lookup cost registers the lookup needs).  pcache_hit(c, in, len) is the
 * entry holding the cell's result when that is NORM_OK (counted as a
 * lookup): its value is pcache_hit_value(s, len), pcache_hit_len(s), with
 * pcache_get's lifetime.  NULL when it is anything else: then, right
 * after it (no other call on c between), pcache_get_rest(c, in, len, v,
 * vlen, why) with the same cell is pcache_get's result.  Inline: below.
 */
static inline __attribute__((always_inline)) const struct pcache_entry_ *
pcache_hit(struct pcache *c, const char *in, size_t len);
static inline const char *pcache_hit_value(const struct pcache_entry_ *s,
					   size_t len);
static inline size_t pcache_hit_len(const struct pcache_entry_ *s);
int pcache_get_rest(struct pcache *c, const char *in, size_t len,
		    const char **v, size_t *vlen, const char **why);

/* Lookups and hits so far (for tests and tuning). */
void pcache_stats(const struct pcache *c, uint64_t *lookups, uint64_t *hits);

/* Wipe and free; NULL is fine. */
void pcache_free(struct pcache *c);

#endif
