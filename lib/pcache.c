/*
 * pcache — a table of pfield_normalise results per field, sized to what
 * the field repeats.
 *
 * The table is a set of buckets of PC_WAYS entries.  Each bucket has a
 * tag word: one byte per way, the top bit set when the way is in use and
 * seven bits of the cell's hash, so a lookup reads one dense word and
 * compares all the ways at once (a zero byte of tags ^ tag), and touches
 * an entry only where a tag matched.  An entry is one cache line: the raw
 * cell (at most PC_KEY_MAX bytes), the return code, the reason (an index
 * into the cache's reasons, which are static strings) and the value, NUL
 * terminated, when cell, value and NUL fit the entry together.  The raw
 * cell is compared in full, so a tag or bucket collision costs a miss,
 * never a wrong value.  Cells are short: the hash and the compare work on
 * the two 8-byte words that cover a cell of up to 16 bytes (see
 * pcache_key_words_), the compare also on the words between them for
 * longer cells, never on bytes outside the cell.  A new result takes a
 * free way of its bucket, or else the way a rotating counter names.
 *
 * Size: a table starts at PC_MIN_BITS buckets (8 KiB: most of a
 * register's columns hold a few dozen to a few hundred distinct cells)
 * and grows, up to PC_MAX_BITS, at the end of a window of lookups that
 * missed more than one in PC_GROW_DIV while the table was three quarters
 * full (fourfold: a column that repeats more cells than the table holds,
 * such as surnames), or that stored more than one in PC_EVICT_DIV into a
 * full bucket (twofold: a few dozen cells, which fit, but not in the
 * buckets they hash to, pushing each other out for good: a steady 1-3 %
 * of misses, each a normaliser's call).  The register's block, the
 * output and the other fields' tables share the cache with it, so a table
 * no larger than its field needs leaves them room.  A larger table starts
 * with the old one's entries, on the call after the window ends: the
 * value pcache_get handed out lives in the old one until then.  The
 * empty cell is kept apart (pcache.h) and is not counted as a lookup.
 *
 * Fields whose normaliser costs less than a lookup (dates, e-mail
 * addresses, phone numbers: the fast paths of norm.c) are not cached at
 * all ("direct"): no hashing, no table.  Their cells hardly repeat
 * anyway.
 *
 * Adaptivity: lookups are counted over windows of PC_WINDOW; a window
 * with fewer than one hit in PC_MIN_HIT_DIV, in a table that may not grow
 * any more, turns the cache off for the field for PC_BACKOFF calls
 * (hashing and storing unique values such as names is pure overhead),
 * after which it gets another window.  Results whose reason is about the
 * output buffer or memory ("too long", "out of memory") depend on more
 * than the bytes and are not stored.
 *
 * pcache_get hands out the value where it is (the entry, or the cache's
 * own buffer after a miss): a hit copies nothing.  Its hit path is inline
 * in the caller (pcache.h); everything else is out of line here.
 * pcache_normalise copies the value into the caller's buffer; its hit
 * path makes no call but tail calls.
 */
#include "pcache.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* The cold paths of the lookups, kept out of their bodies. */
#define NOINLINE __attribute__((noinline))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define PC_MIN_BITS 4u           /* buckets of a new table: 2^4 */
#define PC_MAX_BITS 10u          /* the largest table: 2^10 buckets */
#define PC_GROW_BITS 2u          /* growing multiplies the buckets by 4 */
#define PC_WAYS PCACHE_WAYS_
#define PC_KV PCACHE_KV_
#define PC_KEY_MAX (PC_KV - 1)   /* longest raw cell looked up */
#define PC_REASONS 32u           /* distinct reasons a cache remembers */
#define PC_WINDOW 4096u          /* lookups per window */
#define PC_MIN_HIT_DIV 2u        /* off below 1/2 hits in a window */
#define PC_GROW_DIV 16u          /* grow above 1/16 misses in a window */
#define PC_EVICT_DIV 256u        /* or above 1/256 lookups evicting */
#define PC_BACKOFF (64u * PC_WINDOW) /* calls without lookups when off */

#define HIGHS 0x8080808080808080u

_Static_assert(sizeof(struct pcache_entry_) == 64,
	       "an entry is one cache line");
_Static_assert(PC_KV <= NORM_SHORT_MAX, "values are copied short");
_Static_assert(PC_MAX_BITS + 8 <= 32, "tag bits apart from bucket bits");

struct pcache {
	struct pcache_hot_ h;    /* what the inline hit path reads */
	uint32_t misses;         /* of this window */
	uint32_t evicted;        /* of this window: stores into full buckets */
	pfield_fn fn;            /* f's normaliser */
	const struct pfield *f;
	struct kbuf own;         /* pcache_get's value after a miss */
	uint64_t *tags;          /* the table (tags, then entries) */
	unsigned bits;           /* log2(buckets) */
	size_t used;             /* entries in use */
	unsigned clock;          /* the way the next full bucket gives up */
	bool no_table;           /* allocation failed: never try again */
	unsigned grow;           /* bits more on the next call (0: none) */
	/* Reasons are static strings; entries keep their index here.
	 * reasons[0] is NULL, the reason of valid and empty results. */
	const char *reasons[1 + PC_REASONS];
	unsigned n_reasons;
	uint32_t skip;           /* calls left without the cache */
	uint64_t lookups, hits;  /* of the windows before this one */
};

struct pcache *pcache_new(const struct pfield *f)
{
	struct pcache *c = calloc(1, sizeof *c);

	if (c) {
		c->f = f;
		c->fn = pfield_normaliser(f);
		c->h.direct = f->type == PF_DATE || f->type == PF_EMAIL ||
			    f->type == PF_PHONE;
		c->h.left = PC_WINDOW;
		/* Values are personal data: wiped when freed. */
		kbuf_init(&c->own, PCACHE_VALUE_MAX, false);
	}
	return c;
}

static size_t table_bytes(unsigned bits)
{
	return ((size_t)1 << bits) * (8 + PC_WAYS * sizeof(struct pcache_entry_));
}

static void table_free(struct pcache *c)
{
	if (c->tags) {
		sodium_memzero(c->tags, table_bytes(c->bits));
		free(c->tags);
	}
	c->tags = NULL;
	c->h.e = NULL;
	c->h.live = NULL;
	c->used = 0;
}

/* A table of 2^bits buckets in place of the old one (wiped), holding
 * the old one's entries (those that find a free way); on failure the old
 * one stays.  The tag words first, then the entries, each in a cache line
 * of its own. */
static bool table_new(struct pcache *c, unsigned bits)
{
	size_t n = table_bytes(bits), nb = (size_t)1 << bits, used = 0;
	uint64_t *t = aligned_alloc(sizeof(struct pcache_entry_), n);
	struct pcache_entry_ *e;

	if (!t)
		return false;
	memset(t, 0, n);
	e = (struct pcache_entry_ *)(void *)(t + nb);
	for (size_t k = 0; c->tags && k < ((size_t)PC_WAYS << c->bits); k++) {
		const struct pcache_entry_ *s = &c->h.e[k];
		uint64_t wa, wb, h, free_ways;
		size_t bkt, way;

		if (!s->klen)
			continue;
		pcache_key_words_(s->kv, s->klen, &wa, &wb);
		h = pcache_hash_(s->klen, wa, wb);
		bkt = (size_t)(h >> (64 - bits));
		free_ways = ~t[bkt] & HIGHS;
		if (!free_ways)
			continue;
		way = (size_t)__builtin_ctzll(free_ways) / 8;
		e[bkt * PC_WAYS + way] = *s;
		t[bkt] |= pcache_tag_(h) << (8 * way);
		used++;
	}
	table_free(c);
	c->tags = t;
	c->h.e = e;
	c->bits = bits;
	c->h.shift = 64 - bits;
	c->h.live = t;
	c->used = used;
	return true;
}

/* Whether a result is a function of the bytes alone (see the header). */
static bool storable(int rc, const char *why)
{
	if (rc != NORM_INVALID)
		return true;
	return why && strcmp(why, "too long") != 0 &&
	       strcmp(why, "out of memory") != 0;
}

/* The index of reason why in reasons (0 for NULL), added if new; -1 if
 * full. */
static int reason_index(struct pcache *c, const char *why)
{
	if (!why)
		return 0;
	for (unsigned i = 1; i <= c->n_reasons; i++)
		if (c->reasons[i] == why)
			return (int)i;
	if (c->n_reasons == PC_REASONS)
		return -1;
	c->reasons[++c->n_reasons] = why;
	return (int)c->n_reasons;
}

/* The result for the cell in[0..len) into its bucket, if it is
 * storable: a free way, or else the one the clock names (wiped first). */
static void store(struct pcache *c, const char *in, size_t len, int rc,
		  const struct kbuf *out, const char *why)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t vlen = rc == NORM_OK ? out->len : 0, bkt, way;
	uint64_t wa, wb, h, free_ways;
	struct pcache_entry_ *s;
	int wi;

	if (!c->h.live || len + vlen + 1 > PC_KV || !storable(rc, why) ||
	    (wi = reason_index(c, why)) < 0)
		return;
	pcache_key_words_(p, len, &wa, &wb);
	h = pcache_hash_(len, wa, wb);
	bkt = (size_t)(h >> c->h.shift);
	free_ways = ~c->tags[bkt] & HIGHS;
	if (free_ways) {
		way = (size_t)__builtin_ctzll(free_ways) / 8;
		c->used++;
	} else {
		way = c->clock++ % PC_WAYS;
		c->evicted++;
	}
	s = &c->h.e[bkt * PC_WAYS + way];
	if (s->klen)
		sodium_memzero(s->kv, (size_t)s->klen + s->vlen + 1);
	s->klen = (uint8_t)len;
	s->vlen = (uint8_t)vlen;
	s->why = (uint8_t)wi;
	memcpy(s->kv, in, len);
	if (vlen)
		memcpy(s->kv + len, out->p, vlen);
	s->kv[len + vlen] = '\0';
	s->state = (uint8_t)(rc + 1);
	c->tags[bkt] = (c->tags[bkt] & ~((uint64_t)0xff << (8 * way))) |
		       pcache_tag_(h) << (8 * way);
}

/* The end of a window of lookups: a larger table if the field repeats
 * more than this one holds, off for a while if it hit too little.
 * Returns rc, for the tail call. */
static NOINLINE int window_end(struct pcache *c, int rc)
{
	uint32_t hits = PC_WINDOW - c->misses;
	size_t cap = PC_WAYS << c->bits;

	c->lookups += PC_WINDOW;
	c->hits += hits;
	if (c->misses > PC_WINDOW / PC_GROW_DIV && c->used * 4 >= cap * 3 &&
	    c->bits < PC_MAX_BITS) {
		/* Another window, with room, from the next call on: the
		 * value pcache_get just handed out is in this table. */
		c->grow = PC_GROW_BITS;
		c->h.live = NULL;
	} else if (c->evicted > PC_WINDOW / PC_EVICT_DIV &&
		   c->bits < PC_MAX_BITS) {
		/* Cells that keep pushing each other out of full buckets
		 * in a table with room elsewhere: twice the buckets. */
		c->grow = 1;
		c->h.live = NULL;
	} else if (hits < PC_WINDOW / PC_MIN_HIT_DIV) {
		c->skip = PC_BACKOFF;
		c->h.live = NULL;
	}
	c->h.left = PC_WINDOW;
	c->misses = 0;
	c->evicted = 0;
	return rc;
}

/* End of a lookup that missed: count it. */
static void tally_miss(struct pcache *c)
{
	c->misses++;
	if (--c->h.left == 0)
		window_end(c, 0);
}

/* The empty cell: remembered in c itself, and not counted as a lookup
 * (a column of mostly empty cells and unique values does not repeat). */
static int empty_cell(struct pcache *c, const char *in, struct kbuf *out,
		      const char **why)
{
	const char *w;
	int rc;

	if (c->h.empty_known) {
		norm_clear(out);
		if (why)
			*why = c->h.empty_why;
		return c->h.empty_rc;
	}
	rc = c->fn(c->f, in, 0, out, &w);
	/* Normalisers make nothing out of nothing; play safe anyway. */
	if (out->len == 0 && storable(rc, w)) {
		c->h.empty_known = true;
		c->h.empty_rc = rc;
		c->h.empty_why = w;
	}
	if (why)
		*why = w;
	return rc;
}

/* A cell not in the table (or not looked up there): the normaliser, and
 * the result stored if the table is live. */
static int miss(struct pcache *c, const char *in, size_t len,
		struct kbuf *out, const char **why)
{
	const char *w;
	int rc = c->fn(c->f, in, len, out, &w);

	if (c->h.live) {
		store(c, in, len, rc, out, w);
		tally_miss(c);
	}
	if (why)
		*why = w;
	return rc;
}

/* The cells that do not go through the table: direct fields, empty or
 * too long cells, while the cache is off, or when there is no table.
 * Allocates the table on first use. */
static int uncached(struct pcache *c, const char *in, size_t len,
		    struct kbuf *out, const char **why)
{
	if (c->h.direct)
		return c->fn(c->f, in, len, out, why);
	if (len == 0)
		return empty_cell(c, in, out, why);
	if (c->grow) {
		unsigned bits = c->bits + c->grow;

		c->grow = 0;
		if (!table_new(c, bits > PC_MAX_BITS ? PC_MAX_BITS : bits))
			c->h.live = c->tags; /* the old one, then */
	}
	if (c->skip) {
		if (--c->skip == 0)
			c->h.live = c->tags; /* another window */
		return c->fn(c->f, in, len, out, why);
	}
	if (!c->tags && !c->no_table && !table_new(c, PC_MIN_BITS))
		c->no_table = true;
	/* A new table holds nothing yet; a long cell is not stored. */
	return miss(c, in, len, out, why);
}

bool pcache_direct(struct pcache *c, pfield_fn *fn, const struct pfield **f,
		   struct kbuf **out)
{
	if (!c->h.direct)
		return false;
	*fn = c->fn;
	*f = c->f;
	*out = &c->own;
	return true;
}

bool pcache_empty(struct pcache *c, int *rc, const char **why)
{
	const char *w;

	if (!c->h.empty_known)
		empty_cell(c, "", &c->own, &w);
	if (!c->h.empty_known)
		return false;
	*rc = c->h.empty_rc;
	*why = c->h.empty_why;
	return true;
}

/* The out-of-line parts of pcache_get (pcache.h). */
int pcache_get_slow_(struct pcache *c, const char *in, size_t len,
		     const char **v, size_t *vlen, const char **why)
{
	int rc = c->h.direct ? c->fn(c->f, in, len, &c->own, why)
			     : uncached(c, in, len, &c->own, why);

	*v = c->own.p ? (const char *)c->own.p : "";
	*vlen = c->own.len;
	return rc;
}

int pcache_get_rest(struct pcache *c, const char *in, size_t len,
		    const char **v, size_t *vlen, const char **why)
{
	/* What pcache_hit did not look up, pcache_get does as always. */
	if (!c->h.live || len == 0 || len >= PC_KV)
		return pcache_get(c, in, len, v, vlen, why);
	if (c->h.found)
		return pcache_get_other_(c, c->h.found, why);
	return pcache_get_miss_(c, in, len, v, vlen, why);
}

int pcache_get_miss_(struct pcache *c, const char *in, size_t len,
		     const char **v, size_t *vlen, const char **why)
{
	int rc = miss(c, in, len, &c->own, why);

	*v = c->own.p ? (const char *)c->own.p : "";
	*vlen = c->own.len;
	return rc;
}

int pcache_get_other_(struct pcache *c, const struct pcache_entry_ *s,
		      const char **why)
{
	int rc = s->state - 1;

	*why = c->reasons[s->why];
	if (--c->h.left == 0)
		return window_end(c, rc);
	return rc;
}

void pcache_window_end_(struct pcache *c)
{
	window_end(c, 0);
}

/* A hit in entry s that pcache_normalise does not finish inline: out not
 * allocated yet, too small, or with a long old value. */
static NOINLINE int hit_slow(struct pcache *c, const struct pcache_entry_ *s,
			     const char *in, size_t len, struct kbuf *out,
			     const char **why)
{
	if (s->state != NORM_OK + 1)
		norm_clear(out);
	else if (norm_set(out, s->kv + len, s->vlen) != 0)
		/* A value that does not fit out is left to the
		 * normaliser, which says why. */
		return miss(c, in, len, out, why);
	if (why)
		*why = c->reasons[s->why];
	if (--c->h.left == 0)
		return window_end(c, s->state - 1);
	return s->state - 1;
}

static NOINLINE int normalise_slow(struct pcache *c, const char *in,
				   size_t len, struct kbuf *out,
				   const char **why)
{
	return uncached(c, in, len, out, why);
}

static NOINLINE int normalise_miss(struct pcache *c, const char *in,
				   size_t len, struct kbuf *out,
				   const char **why)
{
	return miss(c, in, len, out, why);
}

int pcache_normalise(struct pcache *c, const char *in, size_t len,
		     struct kbuf *out, const char **why)
{
	const uint64_t *t = c->h.live;
	const struct pcache_entry_ *s;
	uint8_t *d;
	size_t n;
	int rc;

	if (!t || len - 1 >= PC_KEY_MAX) /* len 0 too */
		return normalise_slow(c, in, len, out, why);
	s = pcache_find_(&c->h, t, (const uint8_t *)in, len);
	if (!s)
		return normalise_miss(c, in, len, out, why);
	/*
	 * A hit: its value (none unless NORM_OK) replaces out's, as
	 * norm_set does but without a call.  The tail of a longer old value
	 * is wiped by one 32-byte store of zeroes after the new value, the
	 * same whether or not there is one (the bytes past the old value
	 * are unused).
	 */
	n = s->vlen;
	d = out->p;
	/* (kbuf: no allocation means cap 0, and cap <= max) */
	if (n + 32 > out->cap || out->len > n + 32)
		return hit_slow(c, s, in, len, out, why);
	memset(d + n, 0, 32);
	norm_copy_short(d, s->kv + len, n);
	d[n] = '\0';
	out->len = n;
	if (why)
		*why = c->reasons[s->why];
	rc = s->state - 1;
	if (--c->h.left == 0)
		return window_end(c, rc);
	return rc;
}

void pcache_stats(const struct pcache *c, uint64_t *lookups, uint64_t *hits)
{
	uint32_t n = c ? PC_WINDOW - c->h.left : 0;

	*lookups = c ? c->lookups + n : 0;
	*hits = c ? c->hits + n - c->misses : 0;
}

void pcache_free(struct pcache *c)
{
	if (!c)
		return;
	table_free(c);
	kbuf_free(&c->own);
	sodium_memzero(c, sizeof *c);
	free(c);
}
