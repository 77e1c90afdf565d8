/*
 * pcache — a two-way set-associative table of pfield_normalise results
 * per field.
 *
 * Each slot holds one raw cell (at most PC_KEY_MAX bytes) and what
 * pfield_normalise returned for it: the return code, the reason pointer
 * (a static string) and the value (only if key and value fit in the slot
 * together).  A lookup hashes the cell to a bucket of two slots, then
 * compares the stored bytes in full, so a hash collision costs a miss,
 * never a wrong value.  Cells are short: the hash and the compare work on
 * the two 8-byte words that cover a cell of up to 16 bytes (see
 * key_words), plus the words between them for longer cells, never on
 * bytes outside the cell.  A new result goes to the bucket's first slot
 * and the one there moves to the second, so two frequent cells that share
 * a bucket both stay.
 *
 * Fields whose normaliser costs less than a lookup (dates, e-mail
 * addresses, phone numbers: the fast paths of norm.c) are not cached at
 * all ("direct"): no hashing, no table.  Their cells hardly repeat
 * anyway.
 *
 * Adaptivity: hits are counted over windows of PC_WINDOW lookups; a
 * window with fewer than one hit in PC_MIN_HIT_DIV turns the cache off for
 * the field for PC_BACKOFF calls (hashing and storing unique values such
 * as names is pure overhead), after which it gets another window.
 * Results whose reason is about the output buffer or memory ("too long",
 * "out of memory") depend on more than the bytes and are not stored.
 *
 * The hit path, pcache_normalise itself, makes no call but tail calls
 * (no stack protector, few saved registers): everything else is in
 * out-of-line functions.
 */
#include "pcache.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* The cold paths of pcache_normalise, kept out of its body. */
#define NOINLINE __attribute__((noinline))

#define PC_WAYS 2u
#define PC_BUCKET_BITS 10u
#define PC_SLOTS (PC_WAYS << PC_BUCKET_BITS) /* per field */
#define PC_KV 60u                /* raw cell and value bytes per slot */
#define PC_KEY_MAX PC_KV         /* longest raw cell stored */
#define PC_REASONS 32u           /* distinct reasons a cache remembers */
#define PC_WINDOW 4096u          /* lookups per hit-rate window */
#define PC_MIN_HIT_DIV 2u        /* off below 1/2 hits in a window */
#define PC_BACKOFF (64u * PC_WINDOW) /* calls without lookups when off */

/* One cache line; a bucket is two, aligned (see table_new). */
struct slot {
	uint8_t klen, vlen;      /* klen 0: never stored (cells are >= 1) */
	uint8_t state;           /* the rc + 1 */
	uint8_t why;             /* 1 + index into reasons; 0: NULL */
	uint8_t kv[PC_KV];       /* the raw cell, then the value */
};

_Static_assert(sizeof(struct slot) == 64, "a slot is one cache line");
_Static_assert(PC_KV <= NORM_SHORT_MAX, "values are copied short");

struct pcache {
	const struct pfield *f;
	struct slot *t;          /* PC_SLOTS slots, NULL until first store */
	/* t while cells are looked up; NULL when direct, while off, or
	 * without a table: the one test of the hit path. */
	struct slot *live;
	pfield_fn direct;        /* never cached, called: see the top */
	bool no_table;           /* allocation failed: never try again */
	/* The empty cell, the most repeated of all, without the table. */
	bool empty_known;
	int empty_rc;
	const char *empty_why;
	/* Reasons are static strings; slots keep their index here.
	 * reasons[0] is NULL, the reason of valid and empty results. */
	const char *reasons[1 + PC_REASONS];
	unsigned n_reasons;
	/* This window's lookups (low 32 bits) and hits (high 32 bits):
	 * one add per lookup. */
	uint64_t window;
	uint32_t skip;           /* calls left without the cache */
	uint64_t lookups, hits;  /* of the windows before this one */
};

struct pcache *pcache_new(const struct pfield *f)
{
	struct pcache *c = calloc(1, sizeof *c);

	if (c) {
		c->f = f;
		if (f->type == PF_DATE || f->type == PF_EMAIL ||
		    f->type == PF_PHONE)
			c->direct = pfield_normaliser(f);
	}
	return c;
}

/* Zeroed slots, each bucket in two cache lines of its own. */
static struct slot *table_new(void)
{
	struct slot *t = aligned_alloc(PC_WAYS * sizeof *t,
				       PC_SLOTS * sizeof *t);

	if (t)
		memset(t, 0, PC_SLOTS * sizeof *t);
	return t;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline uint64_t load32(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/*
 * Two words that together hold every byte of p[0..len), 1 <= len, when
 * len <= 16, read without going outside it: the first and the last 8
 * bytes (overlapping when len < 16), the first and last 4 when len < 8,
 * or the first, middle and last byte when len < 4.  Cells of one length
 * are equal iff their words are.  Longer cells also have the words at
 * 8, 16, ... below len - 8 (see same_key).
 */
static inline void key_words(const uint8_t *p, size_t len, uint64_t *a,
			     uint64_t *b)
{
	if (len >= 8) {
		*a = load64(p);
		*b = load64(p + len - 8);
	} else if (len >= 4) {
		*a = load32(p);
		*b = load32(p + len - 4);
	} else {
		*a = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
		     (uint64_t)p[len - 1] << 16;
		*b = 0;
	}
}

/* The bucket of a cell (its words a, b): multiply-xor; the top bits of
 * the last product depend on every bit that went in. */
static inline size_t bucket_of(const uint8_t *p, size_t len, uint64_t a,
			       uint64_t b)
{
	uint64_t h = (a ^ (uint64_t)len) * 0x9e3779b97f4a7c15u ^ b;

	for (size_t i = 8; i + 8 < len; i += 8)
		h = (h ^ load64(p + i)) * 0xff51afd7ed558ccdu;
	h *= 0xc4ceb9fe1a85ec53u;
	return (size_t)(h >> (64 - PC_BUCKET_BITS));
}

/* Whether slot s holds the cell p[0..len) with words a, b. */
static inline bool same_key(const struct slot *s, const uint8_t *p,
			    size_t len, uint64_t a, uint64_t b)
{
	uint64_t sa, sb;

	if (s->klen != len)
		return false;
	key_words(s->kv, len, &sa, &sb);
	if (sa != a || sb != b)
		return false;
	for (size_t i = 8; i + 8 < len; i += 8)
		if (load64(s->kv + i) != load64(p + i))
			return false;
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

/* The result into the first slot of bucket s, the one there moved to
 * the second (whose old bytes the move overwrites), if it is storable. */
static void store(struct pcache *c, struct slot *s, const char *in,
		  size_t len, int rc, const struct kbuf *out, const char *why)
{
	size_t vlen = rc == NORM_OK ? out->len : 0;
	int wi;

	if (len + vlen > PC_KV || !storable(rc, why) ||
	    (wi = reason_index(c, why)) < 0)
		return;
	if (s[0].klen) {
		s[1] = s[0];
		sodium_memzero(s[0].kv, (size_t)s[0].klen + s[0].vlen);
	}
	s->klen = (uint8_t)len;
	s->vlen = (uint8_t)vlen;
	s->why = (uint8_t)wi;
	memcpy(s->kv, in, len);
	if (vlen)
		memcpy(s->kv + len, out->p, vlen);
	s->state = (uint8_t)(rc + 1);
}

/* The end of a window of lookups: off for a while if it hit too little.
 * Returns rc, for the tail call. */
static NOINLINE int window_end(struct pcache *c, int rc)
{
	uint32_t hits = (uint32_t)(c->window >> 32);

	c->lookups += (uint32_t)c->window;
	c->hits += hits;
	if (hits < PC_WINDOW / PC_MIN_HIT_DIV) {
		c->skip = PC_BACKOFF;
		c->live = NULL;
	}
	c->window = 0;
	return rc;
}

/* End of a lookup: count it and decide about the next window. */
static void tally(struct pcache *c, bool hit)
{
	c->window += 1 + ((uint64_t)hit << 32);
	if ((uint32_t)c->window >= PC_WINDOW)
		window_end(c, 0);
}

/* The empty cell: remembered in c itself. */
static int empty_cell(struct pcache *c, const char *in, struct kbuf *out,
		      const char **why)
{
	const char *w;
	int rc;

	if (c->empty_known) {
		norm_clear(out);
		if (why)
			*why = c->empty_why;
		tally(c, true);
		return c->empty_rc;
	}
	rc = pfield_normalise(c->f, in, 0, out, &w);
	/* Normalisers make nothing out of nothing; play safe anyway. */
	if (out->len == 0 && storable(rc, w)) {
		c->empty_known = true;
		c->empty_rc = rc;
		c->empty_why = w;
	}
	tally(c, false);
	if (why)
		*why = w;
	return rc;
}

/* The cells that do not go through the table: empty, too long, while
 * the cache is off, or when there is no table.  Allocates
 * the table on first use, and then looks the cell up after all. */
static NOINLINE int uncached(struct pcache *c, const char *in, size_t len,
			     struct kbuf *out, const char **why)
{
	if (len == 0)
		return empty_cell(c, in, out, why);
	if (c->skip) {
		if (--c->skip == 0)
			c->live = c->t; /* another window */
		return pfield_normalise(c->f, in, len, out, why);
	}
	if (len <= PC_KEY_MAX && !c->no_table) {
		if (!c->t)
			c->live = c->t = table_new();
		if (c->t)
			return pcache_normalise(c, in, len, out, why);
		c->no_table = true;
	}
	tally(c, false);
	return pfield_normalise(c->f, in, len, out, why);
}

/* A cell not in its bucket s: pfield_normalise, and the result stored. */
static NOINLINE int miss(struct pcache *c, struct slot *s, const char *in,
			 size_t len, struct kbuf *out, const char **why)
{
	const char *w;
	int rc = pfield_normalise(c->f, in, len, out, &w);

	store(c, s, in, len, rc, out, w);
	tally(c, false);
	if (why)
		*why = w;
	return rc;
}

/* A hit in slot s that pcache_normalise does not finish inline: out not
 * allocated yet, too small, or with a long old value.  (Six arguments at
 * most, all in registers, so that the call is a jump.) */
static NOINLINE int hit_slow(struct pcache *c, struct slot *s,
			     const char *in, size_t len, struct kbuf *out,
			     const char **why)
{
	if (s->state != NORM_OK + 1)
		norm_clear(out);
	else if (norm_set(out, s->kv + len, s->vlen) != 0)
		/* A value that does not fit out is left to
		 * pfield_normalise, which says why; its bucket is the
		 * pair s is in. */
		return miss(c, &c->t[(size_t)(s - c->t) & ~(PC_WAYS - 1)], in,
			    len, out, why);
	if (why)
		*why = c->reasons[s->why];
	tally(c, true);
	return s->state - 1;
}

int pcache_normalise(struct pcache *c, const char *in, size_t len,
		     struct kbuf *out, const char **why)
{
	const uint8_t *p = (const uint8_t *)in;
	struct slot *t = c->live, *b, *s;
	uint8_t *d;
	uint64_t wa, wb;
	size_t n;
	int rc;

	if (!t || len - 1 >= PC_KEY_MAX) { /* len 0 too */
		if (c->direct)
			return c->direct(c->f, in, len, out, why);
		return uncached(c, in, len, out, why);
	}
	key_words(p, len, &wa, &wb);
	b = &t[PC_WAYS * bucket_of(p, len, wa, wb)];
	if (same_key(&b[0], p, len, wa, wb))
		s = &b[0];
	else if (same_key(&b[1], p, len, wa, wb))
		s = &b[1];
	else
		return miss(c, b, in, len, out, why);
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
	c->window += 1 + ((uint64_t)1 << 32);
	if ((uint32_t)c->window >= PC_WINDOW)
		return window_end(c, rc);
	return rc;
}

void pcache_stats(const struct pcache *c, uint64_t *lookups, uint64_t *hits)
{
	*lookups = c ? c->lookups + (uint32_t)c->window : 0;
	*hits = c ? c->hits + (uint32_t)(c->window >> 32) : 0;
}
void pcache_free(struct pcache *c)
{
	if (!c)
		return;
	if (c->t) {
		sodium_memzero(c->t, PC_SLOTS * sizeof *c->t);
		free(c->t);
	}
	sodium_memzero(c, sizeof *c);
	free(c);
}
