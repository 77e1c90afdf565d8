/*
 * pcache — a direct-mapped table of pfield_normalise results per field.
 *
 * Each slot holds one raw cell (at most PC_KEY_MAX bytes) and what
 * pfield_normalise returned for it: the return code, the reason pointer
 * (a static string) and the value (only if key and value fit in the slot
 * together).  A lookup hashes the cell, then compares the stored bytes in
 * full, so a hash collision costs a miss, never a wrong value.
 *
 * Adaptivity: hits are counted over windows of PC_WINDOW lookups; a
 * window with fewer than one hit in PC_MIN_HIT_DIV turns the cache off for
 * the field for PC_BACKOFF calls (hashing and storing unique values such
 * as e-mail addresses is pure overhead), after which it gets another
 * window.  Results whose reason is about the output buffer or memory
 * ("too long", "out of memory") depend on more than the bytes and are not
 * stored.
 */
#include "pcache.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define PC_SLOTS 2048u           /* per field; a power of two */
#define PC_KV 56u                /* raw cell and value bytes per slot */
#define PC_KEY_MAX PC_KV         /* longest raw cell stored */
#define PC_REASONS 32u           /* distinct reasons a cache remembers */
#define PC_WINDOW 4096u          /* lookups per hit-rate window */
#define PC_MIN_HIT_DIV 2u        /* off below 1/2 hits in a window */
#define PC_BACKOFF (64u * PC_WINDOW) /* calls without lookups when off */

/* One cache line: a lookup that misses touches nothing else. */
struct slot {
	uint32_t hash;           /* high half of the 64-bit hash */
	uint8_t klen, vlen;
	uint8_t state;           /* 0: never stored; else the rc + 1 */
	uint8_t why;             /* 1 + index into reasons; 0: NULL */
	uint8_t kv[PC_KV];       /* the raw cell, then the value */
};

_Static_assert(sizeof(struct slot) == 64, "a slot is one cache line");

struct pcache {
	const struct pfield *f;
	struct slot *t;          /* PC_SLOTS slots, NULL until first store */
	bool no_table;           /* allocation failed: never try again */
	/* The empty cell, the most repeated of all, without the table. */
	bool empty_known;
	int empty_rc;
	const char *empty_why;
	/* Reasons are static strings; slots keep their index here. */
	const char *reasons[PC_REASONS];
	unsigned n_reasons;
	/* pcache_prepare's work for the cell at hand. */
	const char *prep_in;
	size_t prep_len;
	uint64_t prep_hash;
	uint32_t window, window_hits;
	uint32_t skip;           /* calls left without the cache */
	uint64_t lookups, hits;
};

struct pcache *pcache_new(const struct pfield *f)
{
	struct pcache *c = calloc(1, sizeof *c);

	if (c)
		c->f = f;
	return c;
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

static inline uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdu;
	return h ^ (h >> 29);
}

/* 64-bit multiply-xorshift over 8-byte words; len <= PC_KEY_MAX.  The
 * last word overlaps the one before it instead of being assembled byte by
 * byte; with the length mixed in, equal hashes still need equal bytes
 * only with the usual small probability, and the slot compares in full
 * anyway. */
static uint64_t hash_cell(const uint8_t *p, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)len;
	size_t i = 0;

	if (len >= 8) {
		for (; i + 8 < len; i += 8)
			h = mix(h, load64(p + i));
		h = mix(h, load64(p + len - 8));
	} else if (len >= 4) {
		h = mix(h, load32(p) | load32(p + len - 4) << 32);
	} else if (len > 0) {
		h = mix(h, (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
				   (uint64_t)p[len - 1] << 16);
	}
	h *= 0xc4ceb9fe1a85ec53u;
	return h ^ (h >> 32);
}

/* Whether a result is a function of the bytes alone (see the header). */
static bool storable(int rc, const char *why)
{
	if (rc != NORM_INVALID)
		return true;
	return why && strcmp(why, "too long") != 0 &&
	       strcmp(why, "out of memory") != 0;
}

/* The index of reason why (0 for NULL), added if new; -1 if full. */
static int reason_index(struct pcache *c, const char *why)
{
	if (!why)
		return 0;
	for (unsigned i = 0; i < c->n_reasons; i++)
		if (c->reasons[i] == why)
			return (int)i + 1;
	if (c->n_reasons == PC_REASONS)
		return -1;
	c->reasons[c->n_reasons++] = why;
	return (int)c->n_reasons;
}

static void store(struct pcache *c, struct slot *s, uint32_t h,
		  const char *in, size_t len, int rc, const struct kbuf *out,
		  const char *why)
{
	size_t vlen = rc == NORM_OK ? out->len : 0;
	int wi;

	if (len + vlen > PC_KV || !storable(rc, why) ||
	    (wi = reason_index(c, why)) < 0)
		return;
	if (s->state)
		sodium_memzero(s->kv, (size_t)s->klen + s->vlen);
	s->hash = h;
	s->klen = (uint8_t)len;
	s->vlen = (uint8_t)vlen;
	s->why = (uint8_t)wi;
	if (len)
		memcpy(s->kv, in, len);
	if (vlen)
		memcpy(s->kv + len, out->p, vlen);
	s->state = (uint8_t)(rc + 1);
}

/* End of a lookup: count it and decide about the next window. */
static void tally(struct pcache *c, bool hit)
{
	c->lookups++;
	c->hits += hit;
	c->window_hits += hit;
	if (++c->window < PC_WINDOW)
		return;
	if (c->window_hits < PC_WINDOW / PC_MIN_HIT_DIV)
		c->skip = PC_BACKOFF;
	c->window = c->window_hits = 0;
}

void pcache_prepare(struct pcache *c, const char *in, size_t len)
{
	if (c->skip || !c->t || len == 0 || len > PC_KEY_MAX)
		return;
	c->prep_in = in;
	c->prep_len = len;
	c->prep_hash = hash_cell((const uint8_t *)in, len);
	__builtin_prefetch(&c->t[c->prep_hash & (PC_SLOTS - 1)]);
}

/* The empty cell: remembered in c itself. */
static int empty_cell(struct pcache *c, const char *in, struct kbuf *out,
		      const char **why)
{
	int rc;

	if (c->empty_known) {
		kbuf_reset(out);
		*why = c->empty_why;
		tally(c, true);
		return c->empty_rc;
	}
	rc = pfield_normalise(c->f, in, 0, out, why);
	/* Normalisers make nothing out of nothing; play safe anyway. */
	if (out->len == 0 && storable(rc, *why)) {
		c->empty_known = true;
		c->empty_rc = rc;
		c->empty_why = *why;
	}
	tally(c, false);
	return rc;
}

int pcache_normalise(struct pcache *c, const char *in, size_t len,
		     struct kbuf *out, const char **why)
{
	const char *dummy;
	struct slot *s;
	uint64_t h64;
	uint32_t h;
	int rc;

	if (!why)
		why = &dummy;
	if (len == 0)
		return empty_cell(c, in, out, why);
	if (c->skip) {
		c->skip--;
		return pfield_normalise(c->f, in, len, out, why);
	}
	if (len > PC_KEY_MAX || c->no_table) {
		tally(c, false);
		return pfield_normalise(c->f, in, len, out, why);
	}
	if (in == c->prep_in && len == c->prep_len)
		h64 = c->prep_hash;
	else
		h64 = hash_cell((const uint8_t *)in, len);
	c->prep_in = NULL;
	h = (uint32_t)(h64 >> 32);
	if (!c->t && !(c->t = calloc(PC_SLOTS, sizeof *c->t))) {
		c->no_table = true;
		tally(c, false);
		return pfield_normalise(c->f, in, len, out, why);
	}
	s = &c->t[h64 & (PC_SLOTS - 1)];
	if (s->state && s->hash == h && s->klen == len &&
	    memcmp(s->kv, in, len) == 0) {
		struct kerr e;

		kbuf_reset(out);
		/* A value that does not fit out is left to pfield_normalise,
		 * which says why. */
		if (s->state != NORM_OK + 1 ||
		    kbuf_append(out, s->kv + len, s->vlen, &e) == 0) {
			*why = s->why ? c->reasons[s->why - 1] : NULL;
			tally(c, true);
			return s->state - 1;
		}
	}
	rc = pfield_normalise(c->f, in, len, out, why);
	store(c, s, h, in, len, rc, out, *why);
	tally(c, false);
	return rc;
}

void pcache_stats(const struct pcache *c, uint64_t *lookups, uint64_t *hits)
{
	*lookups = c ? c->lookups : 0;
	*hits = c ? c->hits : 0;
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
