/* pcache: the cache must give exactly what pfield_normalise gives (code,
 * reason pointer, value), whatever the order of cells, the output buffer
 * or the hit rate. */
#include <stdio.h>
#include <string.h>

#include "pcache.h"
#include "unit.h"

static void field_init(struct pfield *f, const char *name,
		       enum pfield_type type)
{
	memset(f, 0, sizeof *f);
	f->name = name;
	f->label = name;
	f->description = "";
	f->type = type;
	f->category = PF_ATTRIBUTE;
}

/* One cell through both; 1 if they agree in every respect. */
static int same(struct pcache *c, const struct pfield *f, const char *in,
		size_t len, size_t out_max)
{
	struct kbuf a = KBUF_INIT(out_max), b = KBUF_INIT(out_max);
	struct kerr e;
	const char *wa = "unset", *wb = "unset";
	int ra, rb, ok;

	/* Both start with an old value that must be replaced. */
	kbuf_puts(&a, "old", &e);
	kbuf_puts(&b, "old", &e);
	ra = pfield_normalise(f, in, len, &a, &wa);
	rb = pcache_normalise(c, in, len, &b, &wb);
	ok = ra == rb && wa == wb && a.len == b.len &&
	     (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
	if (!ok)
		printf("# %s: cell of %zu bytes: %d/%s vs %d/%s\n", f->name,
		       len, ra, wa ? wa : "-", rb, wb ? wb : "-");
	kbuf_free(&a);
	kbuf_free(&b);
	return ok;
}

static const char *const cells[] = {
	"", " ", "  Jan\t Smet ", "Ren\xc3\xa9", "Rene\xcc\x81", "a\x07",
	"\xff", "01/02/2015", "2015-02-01", "31/02/2015", "29/02/2016 00:00",
	"42", "-7", "+0", "-9223372036854775808", "9223372036854775808",
	"x@Example.BE", "<a@b.be>", "a@b.be;c@d.be", "0470 12 34 56",
	"+32 (0)9 123 45 67", "Sint-Agatha-Berchem",
	/* longer than a slot holds */
	"Een naam die langer is dan zesenvijftig bytes, met nog wat meer",
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz12",
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz123",
};

/* The types every cell goes through, and a field of each with limits
 * that some cells break. */
static const enum pfield_type types[] = { PF_TEXT, PF_EMAIL, PF_PHONE,
					  PF_DATE, PF_INT };

static void typed_field(struct pfield *f, enum pfield_type type)
{
	field_init(f, "f", type);
	f->max_length = 20;
	f->has_min = type == PF_INT;
	f->min = -10;
	memcpy(f->date_min, "2000-01-01", 11);
}

static void agrees_with_pfield(void)
{
	const size_t n = sizeof cells / sizeof *cells;

	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct pfield f;
		struct pcache *c;
		uint64_t lookups, hits;

		typed_field(&f, types[t]);
		c = pcache_new(&f);
		CHECK(c != NULL);
		/* Several rounds in a scrambled order: misses, then hits. */
		for (size_t round = 0; round < 6; round++)
			for (size_t k = 0; k < n; k++) {
				const char *in = cells[(k * 7 + round) % n];
				CHECK(same(c, &f, in, strlen(in), 1 << 16));
			}
		pcache_stats(c, &lookups, &hits);
		/* Dates, e-mail and phone numbers are never looked up. */
		if (types[t] == PF_TEXT || types[t] == PF_INT)
			CHECK(lookups > 0 && hits > lookups / 2);
		else
			CHECK(lookups == 0);
		pcache_free(c);
	}
}

static void small_output(void)
{
	/* A value that is cached but does not fit this output: the same
	 * "too long" as without the cache, and nothing cached from it. */
	struct pfield f;
	struct pcache *c;

	field_init(&f, "naam", PF_TEXT);
	c = pcache_new(&f);
	CHECK(c != NULL);
	CHECK(same(c, &f, "Vandenbroucke", 13, 1 << 16));
	CHECK(same(c, &f, "Vandenbroucke", 13, 4));
	CHECK(same(c, &f, "Vandenbroucke", 13, 1 << 16));
	CHECK(same(c, &f, "Vandenbroucke", 13, 4));
	pcache_free(c);
}

static void hit_wipes_old_tail(void)
{
	/* A hit with a shorter value than the one in a secret out buffer:
	 * the old value's bytes past the new one are zero, as kbuf_reset
	 * leaves a secret buffer.  (Other buffers are wiped when freed.) */
	struct pfield f;
	struct pcache *c;
	struct kbuf out;
	const char *why;

	kbuf_init(&out, 1 << 16, true);
	field_init(&f, "naam", PF_TEXT);
	c = pcache_new(&f);
	CHECK(c != NULL);
	for (int round = 0; round < 3; round++) {
		CHECK(pcache_normalise(c, "Vandenbroucke-Verstraeten", 25, &out,
				       &why) == NORM_OK);
		CHECK(out.len == 25);
		CHECK(pcache_normalise(c, "Jan", 3, &out, &why) == NORM_OK);
		CHECK(out.len == 3 && memcmp(out.p, "Jan", 4) == 0);
		for (size_t i = 4; i < 25; i++)
			CHECK(out.p[i] == 0);
		/* and an empty result leaves nothing */
		CHECK(pcache_normalise(c, "Vandenbroucke", 13, &out, &why) ==
		      NORM_OK);
		CHECK(pcache_normalise(c, "\x07", 1, &out, &why) ==
		      NORM_INVALID);
		CHECK(out.len == 0);
		for (size_t i = 0; i < 13; i++)
			CHECK(out.p[i] == 0);
	}
	kbuf_free(&out);
	pcache_free(c);
}

static void ints_by_hand(void)
{
	/* do_int formats without printf: the extremes. */
	struct kbuf out = KBUF_INIT(64);
	struct pfield f;
	const char *why;

	field_init(&f, "n", PF_INT);
	CHECK(pfield_normalise(&f, "-9223372036854775808", 20, &out, &why) ==
	      NORM_OK);
	CHECK_STR((const char *)out.p, "-9223372036854775808");
	CHECK(pfield_normalise(&f, " +0 ", 4, &out, &why) == NORM_OK);
	CHECK_STR((const char *)out.p, "0");
	CHECK(pfield_normalise(&f, "9223372036854775807", 19, &out, &why) ==
	      NORM_OK);
	CHECK_STR((const char *)out.p, "9223372036854775807");
	kbuf_free(&out);
}

static void unique_cells_turn_it_off(void)
{
	/* Columns whose cells never repeat (names, here): after a window
	 * the cache stops looking, and the results stay right. */
	struct pfield f;
	struct pcache *c;
	uint64_t lookups, hits;
	char cell[32];

	field_init(&f, "naam", PF_TEXT);
	c = pcache_new(&f);
	CHECK(c != NULL);
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(cell, sizeof cell, "Naam %d", i);
		CHECK(same(c, &f, cell, (size_t)n, 1 << 16));
	}
	pcache_stats(c, &lookups, &hits);
	CHECK(hits == 0);
	CHECK(lookups < 20000);
	pcache_free(c);
}

/* pfield_normalise's result (ra, wa, a) and the cache's (rb, v, vlen, wb)
 * are the same; says so when not. */
static int agree(const char *how, const struct pfield *f, size_t len,
		 const struct kbuf *a, int ra, const char *wa, int rb,
		 const char *v, size_t vlen, const char *wb)
{
	int ok = ra == rb &&
		 (ra == NORM_OK ? vlen == a->len && v[vlen] == '\0' &&
					  (vlen == 0 ||
					   memcmp(a->p, v, vlen) == 0)
				: wa == wb);

	if (!ok)
		printf("# %s %s: cell of %zu bytes: %d/%s vs %d/%s\n", how,
		       f->name, len, ra, wa ? wa : "-", rb, wb ? wb : "-");
	return ok;
}

/* pcache_get of one cell against pfield_normalise; 1 if they agree (the
 * value for NORM_OK, the reason otherwise). */
static int same_get(struct pcache *c, const struct pfield *f, const char *in,
		    size_t len)
{
	struct kbuf a = KBUF_INIT(1 << 20);
	const char *wa = "unset", *wb = "unset", *v = NULL;
	size_t vlen = 0;
	int ra, rb, ok;

	ra = pfield_normalise(f, in, len, &a, &wa);
	rb = pcache_get(c, in, len, &v, &vlen, &wb);
	ok = agree("get", f, len, &a, ra, wa, rb, v, vlen, wb);
	kbuf_free(&a);
	return ok;
}

/* The same through pcache_hit, and pcache_get_rest when it does not hit;
 * *hits counts its hits. */
static int same_hit(struct pcache *c, const struct pfield *f, const char *in,
		    size_t len, uint64_t *hits)
{
	struct kbuf a = KBUF_INIT(1 << 20);
	const char *wa = "unset", *wb = "unset", *v = NULL;
	const struct pcache_entry_ *s = pcache_hit(c, in, len);
	size_t vlen = 0;
	int ra, rb, ok;

	ra = pfield_normalise(f, in, len, &a, &wa);
	if (s) {
		rb = NORM_OK;
		v = pcache_hit_value(s, len);
		vlen = pcache_hit_len(s);
		++*hits;
	} else {
		rb = pcache_get_rest(c, in, len, &v, &vlen, &wb);
	}
	ok = agree("hit", f, len, &a, ra, wa, rb, v, vlen, wb);
	kbuf_free(&a);
	return ok;
}

static void hit_agrees_with_pfield(void)
{
	/* Every kind of cell, every type: misses, hits, cached invalid
	 * results, cells too long to look up, the empty cell. */
	const size_t n = sizeof cells / sizeof *cells;

	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct pfield f;
		struct pcache *c;
		uint64_t hits = 0, lookups, counted;

		typed_field(&f, types[t]);
		c = pcache_new(&f);
		CHECK(c != NULL);
		for (size_t round = 0; round < 6; round++)
			for (size_t k = 0; k < n; k++) {
				const char *in = cells[(k * 7 + round) % n];
				CHECK(same_hit(c, &f, in, strlen(in), &hits));
			}
		/* a cached invalid result, then misses: each its own */
		for (int k = 0; k < 40; k++) {
			char cell[16];
			int m = snprintf(cell, sizeof cell, "%d", 1000 + k);

			CHECK(same_hit(c, &f, "\x07", 1, &hits));
			CHECK(same_hit(c, &f, cell, (size_t)m, &hits));
		}
		/* hits counted as pcache_get counts them */
		pcache_stats(c, &lookups, &counted);
		if (types[t] == PF_TEXT || types[t] == PF_INT)
			CHECK(hits > 0 && hits <= counted);
		else
			CHECK(hits == 0 && lookups == 0);
		pcache_free(c);
	}
}

static void get_agrees_with_pfield(void)
{
	const size_t n = sizeof cells / sizeof *cells;

	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct pfield f;
		struct pcache *c;

		typed_field(&f, types[t]);
		c = pcache_new(&f);
		CHECK(c != NULL);
		for (size_t round = 0; round < 6; round++)
			for (size_t k = 0; k < n; k++) {
				const char *in = cells[(k * 7 + round) % n];
				CHECK(same_get(c, &f, in, strlen(in)));
			}
		pcache_free(c);
	}
}

static void grows_to_what_repeats(void)
{
	/* A column of 1500 distinct cells, each repeated: more than a new
	 * table holds, so it grows, and then most lookups hit.  The values
	 * stay right throughout, the ones handed out by pcache_get too. */
	struct pfield f;
	struct pcache *c, *g;
	uint64_t lookups, hits, l0[2] = { 0, 0 }, h0[2] = { 0, 0 };
	char cell[32];

	field_init(&f, "gemeente", PF_TEXT);
	c = pcache_new(&f);
	g = pcache_new(&f);
	CHECK(c != NULL && g != NULL);
	for (int i = 0; i < 60000; i++) {
		int n = snprintf(cell, sizeof cell, "Gemeente %d",
				 (i * 7919) % 1500);

		if (i == 30000) {
			pcache_stats(c, &l0[0], &h0[0]);
			pcache_stats(g, &l0[1], &h0[1]);
		}
		if (i % 97 == 0 || i > 55000) {
			CHECK(same(c, &f, cell, (size_t)n, 1 << 16));
			CHECK(same_get(g, &f, cell, (size_t)n));
		} else {
			const char *v, *w;
			size_t vlen;
			struct kbuf out = KBUF_INIT(1 << 16);

			CHECK(pcache_normalise(c, cell, (size_t)n, &out, &w) ==
			      NORM_OK);
			CHECK(pcache_get(g, cell, (size_t)n, &v, &vlen, &w) ==
			      NORM_OK);
			CHECK(vlen == (size_t)n && memcmp(v, cell, vlen) == 0);
			kbuf_free(&out);
		}
	}
	/* (after the windows it took to grow) */
	pcache_stats(g, &lookups, &hits);
	CHECK(lookups - l0[1] == 30000 && hits - h0[1] > 30000 * 9 / 10);
	pcache_stats(c, &lookups, &hits);
	CHECK(lookups - l0[0] == 30000 && hits - h0[0] > 30000 * 9 / 10);
	pcache_free(c);
	pcache_free(g);
}

static void direct_and_empty(void)
{
	/* What a caller's loop takes from the cache to do the work itself:
	 * the normaliser of a direct field, and the empty cell's result,
	 * both exactly what pfield_normalise gives. */
	const size_t n = sizeof cells / sizeof *cells;

	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct pfield f;
		struct pcache *c;
		struct kbuf a = KBUF_INIT(1 << 20);
		const struct pfield *df;
		struct kbuf *out;
		pfield_fn fn;
		const char *wa, *wb;
		int ra, rb;
		bool direct;

		typed_field(&f, types[t]);
		c = pcache_new(&f);
		CHECK(c != NULL);
		direct = pcache_direct(c, &fn, &df, &out);
		CHECK(direct == (types[t] == PF_DATE || types[t] == PF_EMAIL ||
				 types[t] == PF_PHONE));
		/* the empty cell, before and after anything else */
		ra = pfield_normalise(&f, "", 0, &a, &wa);
		CHECK(pcache_empty(c, &rb, &wb));
		CHECK(ra == rb && wa == wb && a.len == 0);
		CHECK(same_get(c, &f, "", 0));
		for (size_t k = 0; direct && k < n; k++) {
			const char *in = cells[(k * 7) % n];

			ra = pfield_normalise(&f, in, strlen(in), &a, &wa);
			rb = fn(df, in, strlen(in), out, &wb);
			CHECK(ra == rb);
			if (ra == NORM_OK)
				CHECK(a.len == out->len &&
				      memcmp(a.p, out->p, a.len) == 0);
			else
				CHECK(wa == wb);
		}
		for (size_t k = 0; k < n; k++) {
			const char *in = cells[(k * 5) % n];

			CHECK(same_get(c, &f, in, strlen(in)));
		}
		ra = pfield_normalise(&f, "", 0, &a, &wa);
		CHECK(pcache_empty(c, &rb, &wb) && ra == rb && wa == wb);
		kbuf_free(&a);
		pcache_free(c);
	}
}

static void crowded_buckets_grow(void)
{
	/* 100 distinct cells: fewer than a new table's ways, but some of its
	 * buckets get more than they hold, so those cells would keep pushing
	 * each other out.  The table grows (keeping what it holds) until
	 * every cell stays: then nothing misses. */
	struct pfield f;
	struct pcache *c;
	uint64_t l0, h0, lookups, hits;
	char cell[32];

	field_init(&f, "type", PF_TEXT);
	c = pcache_new(&f);
	CHECK(c != NULL);
	for (int i = 0; i < 60000; i++) {
		int n = snprintf(cell, sizeof cell, "Type %d",
				 (i * 37) % 100);

		if (i == 40000)
			pcache_stats(c, &l0, &h0);
		CHECK(same_get(c, &f, cell, (size_t)n));
	}
	pcache_stats(c, &lookups, &hits);
	CHECK(lookups - l0 == 20000);
	CHECK(hits - h0 == 20000);
	/* A larger table starts with the cells the old one held (this
	 * sequence misses 1204 times; 1476 when growing starts empty). */
	CHECK(lookups - hits < 1300);
	pcache_free(c);
}

static void random_cells_agree(void)
{
	/* Cells drawn at random from a pool (short and long, valid and
	 * not, some sharing their first and last bytes), in an order that
	 * makes the tables grow, evict and carry their entries over: every
	 * result through pcache_hit/pcache_get_rest and pcache_get as
	 * pfield_normalise gives it. */
	static const char alphabet[] = "aZ09 -@.+/\t\x07\xc3\xa9\xff";
	static const char clean[] = "abcXYZ0189 -.@";
	enum { POOL = 700, DRAWS = 40000 };
	static char pool[POOL][72];
	static size_t plen[POOL];
	uint64_t rng = 0x2545f4914f6cdd1du, hits = 0;

	for (size_t k = 0; k < POOL; k++) {
		rng = rng * 6364136223846793005u + 1442695040888963407u;
		plen[k] = 1 + (rng >> 33) % (k % 5 == 0 ? 70 : 18);
		for (size_t i = 0; i < plen[k]; i++) {
			rng = rng * 6364136223846793005u + 1442695040888963407u;
			/* a third with any byte (mostly invalid), the rest
			 * valid text */
			pool[k][i] = k % 3 ? clean[(rng >> 33) %
						   (sizeof clean - 1)]
					   : alphabet[(rng >> 33) %
						      (sizeof alphabet - 1)];
		}
		/* shared ends, a different middle */
		if (k % 5 == 1 && plen[k - 1] > 17) {
			memcpy(pool[k], pool[k - 1], plen[k - 1]);
			plen[k] = plen[k - 1];
			pool[k][plen[k] / 2] ^= 1;
		}
	}
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct pfield f;
		struct pcache *c, *g;

		typed_field(&f, types[t]);
		f.max_length = 40;
		c = pcache_new(&f);
		g = pcache_new(&f);
		CHECK(c != NULL && g != NULL);
		for (size_t d = 0; d < DRAWS; d++) {
			size_t k;

			rng = rng * 6364136223846793005u + 1442695040888963407u;
			/* mostly a popular few, sometimes anything */
			k = (rng >> 33) % (d % 3 ? 60 : POOL);
			if (!same_hit(c, &f, pool[k], plen[k], &hits) ||
			    !same_get(g, &f, pool[k], plen[k])) {
				CHECK(!"agree");
				break;
			}
		}
		pcache_free(c);
		pcache_free(g);
	}
	CHECK(hits > 0);
}

const struct unit_case suite_pcache[] = {
	{ "pcache: pcache_get agrees with pfield_normalise",
	  get_agrees_with_pfield },
	{ "pcache: the table grows to what the field repeats",
	  grows_to_what_repeats },
	{ "pcache: agrees with pfield_normalise", agrees_with_pfield },
	{ "pcache: output buffer too small", small_output },
	{ "pcache: a hit wipes the old value's tail", hit_wipes_old_tail },
	{ "pcache: ints formatted by hand", ints_by_hand },
	{ "pcache: unique cells turn it off", unique_cells_turn_it_off },
	{ "pcache: direct fields and the empty cell", direct_and_empty },
	{ "pcache: pcache_hit and pcache_get_rest agree with pfield",
	  hit_agrees_with_pfield },
	{ "pcache: crowded buckets grow", crowded_buckets_grow },
	{ "pcache: random cells agree", random_cells_agree },
	{ NULL, NULL },
};
