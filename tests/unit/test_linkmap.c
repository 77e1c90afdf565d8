/*
 * linkmap: one digest, one person and one code; distinct digests (also
 * those that share the bytes that place them in the table) are distinct
 * persons, numbered 0.. in first-seen order; add_alone is always new;
 * growing far past the expected count keeps every person findable with
 * its code; 10 000 000 codes drawn through one map are pairwise distinct
 * (1 000 000 under the sanitizers); codes do not follow the order persons
 * arrive in (Spearman's rho between arrival and code over 100 000 persons
 * is within 0.02 of 0, more than six standard deviations).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kerr.h"
#include "krand.h"
#include "linkmap.h"
#include "pcode.h"
#include "unit.h"

#if defined(KLUIS_SANITIZE) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static void rnd_key(uint8_t k[LINKMAP_KEY])
{
	krand_buf(k, LINKMAP_KEY);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void t_same_key(void)
{
	struct linkmap *m;
	uint8_t k[LINKMAP_KEY], k2[LINKMAP_KEY];
	uint32_t p, q;
	bool added;
	struct kerr e;

	kerr_clear(&e);
	CHECK(linkmap_new(&m, 10, &e) == 0);
	rnd_key(k);
	int ok = linkmap_get(m, k, &p, &added, &e) == 0 && added && p == 0;
	uint64_t code = linkmap_code(m, p);
	for (int i = 0; ok && i < 5; i++) {
		memcpy(k2, k, sizeof k); /* equal bytes, another buffer */
		ok = linkmap_get(m, k2, &q, &added, &e) == 0 && !added &&
		     q == p && linkmap_code(m, q) == code;
	}
	ok = ok && linkmap_persons(m) == 1 && code <= PCODE_MAX;
	linkmap_free(m);
	CHECK(ok);
}

static void t_distinct_and_ordered(void)
{
	enum { N = 3000 };
	static uint8_t keys[N][LINKMAP_KEY];
	static uint64_t codes[N];
	struct linkmap *m;
	uint32_t p;
	bool added;
	struct kerr e;
	int ok = 1;

	kerr_clear(&e);
	/* a third random, a third sharing the first 8 bytes (the table
	 * position) with key 0, a third differing from key 0 in one byte */
	rnd_key(keys[0]);
	for (int i = 1; i < N; i++) {
		memcpy(keys[i], keys[0], LINKMAP_KEY);
		if (i % 3 == 0)
			rnd_key(keys[i]);
		else if (i % 3 == 1)
			krand_buf(keys[i] + 8, 8);
		else
			keys[i][(i / 3) % LINKMAP_KEY] ^= (uint8_t)(1 + i / 48 % 255);
	}
	/* drop accidental duplicates among the one-byte variants */
	for (int i = 1; i < N; i++)
		for (int j = 0; j < i; j++)
			if (!memcmp(keys[i], keys[j], LINKMAP_KEY)) {
				rnd_key(keys[i]);
				j = -1;
			}
	CHECK(linkmap_new(&m, 16, &e) == 0);
	/* first pass: every key new, numbered in order; each earlier key
	 * asked again in between must not add anyone */
	for (int i = 0; ok && i < N; i++) {
		ok = linkmap_get(m, keys[i], &p, &added, &e) == 0 && added &&
		     p == (uint32_t)i;
		if (!ok)
			break;
		codes[i] = linkmap_code(m, p);
		int j = (int)(codes[i] % (uint64_t)(i + 1));
		ok = ok && linkmap_get(m, keys[j], &p, &added, &e) == 0 &&
		     !added && p == (uint32_t)j;
		ok = ok && linkmap_persons(m) == (size_t)i + 1;
	}
	/* second pass, backwards: same persons, same codes */
	for (int i = N - 1; ok && i >= 0; i--)
		ok = linkmap_get(m, keys[i], &p, &added, &e) == 0 && !added &&
		     p == (uint32_t)i && linkmap_code(m, p) == codes[i];
	ok = ok && linkmap_persons(m) == N;
	linkmap_free(m);
	CHECK(ok);
	qsort(codes, N, sizeof *codes, cmp_u64);
	for (int i = 1; i < N; i++)
		CHECK(codes[i] != codes[i - 1]);
	CHECK(codes[N - 1] <= PCODE_MAX);
}

static void t_alone(void)
{
	enum { N = 500 };
	static uint64_t codes[N];
	struct linkmap *m;
	uint8_t k[LINKMAP_KEY], zero[LINKMAP_KEY] = { 0 };
	uint32_t p, kp = 0;
	bool added;
	struct kerr e;
	int ok = 1;

	kerr_clear(&e);
	rnd_key(k);
	CHECK(linkmap_new(&m, 0, &e) == 0);
	for (int i = 0; ok && i < N; i++) {
		if (i == 100) {
			/* a digest in between takes the next number ... */
			ok = linkmap_get(m, k, &kp, &added, &e) == 0 && added &&
			     kp == 100;
			codes[i] = linkmap_code(m, kp);
			continue;
		}
		ok = linkmap_add_alone(m, &p, &e) == 0 && p == (uint32_t)i;
		codes[i] = linkmap_code(m, p);
	}
	/* ... stays findable, and an alone person is not found by the
	 * all-zero digest that marks them inside the map */
	ok = ok && linkmap_get(m, k, &p, &added, &e) == 0 && !added && p == kp;
	ok = ok && linkmap_persons(m) == N;
	ok = ok && linkmap_get(m, zero, &p, &added, &e) == 0 && added &&
	     p == N;
	linkmap_free(m);
	CHECK(ok);
	qsort(codes, N, sizeof *codes, cmp_u64);
	for (int i = 1; i < N; i++)
		CHECK(codes[i] != codes[i - 1]);
}

static void t_growth(void)
{
	enum { N = 200000 };
	uint8_t (*keys)[LINKMAP_KEY] = malloc((size_t)N * LINKMAP_KEY);
	uint64_t *codes = malloc((size_t)N * sizeof *codes);
	struct linkmap *m = NULL;
	uint32_t p;
	bool added;
	struct kerr e;
	int ok;

	kerr_clear(&e);
	ok = keys && codes && linkmap_new(&m, 100, &e) == 0;
	for (int i = 0; ok && i < N; i++) {
		if (i % 7 == 3) {
			ok = linkmap_add_alone(m, &p, &e) == 0 && p == (uint32_t)i;
		} else {
			rnd_key(keys[i]);
			ok = linkmap_get(m, keys[i], &p, &added, &e) == 0 &&
			     added && p == (uint32_t)i;
		}
		if (ok)
			codes[i] = linkmap_code(m, p);
	}
	ok = ok && linkmap_persons(m) == N;
	for (int i = 0; ok && i < N; i++) {
		ok = linkmap_code(m, (uint32_t)i) == codes[i];
		if (ok && i % 7 != 3)
			ok = linkmap_get(m, keys[i], &p, &added, &e) == 0 &&
			     !added && p == (uint32_t)i;
	}
	ok = ok && linkmap_persons(m) == N;
	linkmap_free(m);
	free(keys);
	if (ok) {
		qsort(codes, N, sizeof *codes, cmp_u64);
		for (int i = 1; ok && i < N; i++)
			ok = codes[i] != codes[i - 1];
	}
	free(codes);
	CHECK(ok);
}

/* LSD radix sort of n 64-bit values, 16 bits a pass (four passes, so the
 * result ends in a); tmp holds n values.  qsort took 5 s for 10 M. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
	static size_t count[1 << 16];
	uint64_t *from = a, *to = tmp;

	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++)
			count[from[i] >> shift & 0xffff]++;
		size_t sum = 0;
		for (size_t d = 0; d < (1 << 16); d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			to[count[from[i] >> shift & 0xffff]++] = from[i];
		uint64_t *t = from;
		from = to;
		to = t;
	}
}

/*
 * The acceptance point: ten million codes, pairwise distinct.  The map
 * holds 16 + 8 bytes per person and two tables of 4-byte slots (~370 MB
 * at 10 M); a full sorted copy (and a radix sort's buffer) would add
 * 160 MB, so the copy is made and sorted a quarter at a time (by the top
 * two bits of the code): codes in different quarters differ anyway.
 * Every code lands in exactly one quarter, and the quarters' sizes must
 * add up to the count.
 */
static void t_ten_million_distinct(void)
{
	const size_t n = SANITIZED ? 1000000 : 10000000;
	const unsigned parts = 4, shift = PCODE_BITS - 2;
	struct linkmap *m;
	uint64_t *part = NULL, *tmp = NULL, seen = 0, dups = 0, over = 0;
	size_t cap = n / parts * 5 / 4;
	uint32_t p;
	struct kerr e;
	int ok = 1;

	kerr_clear(&e);
	CHECK(linkmap_new(&m, n, &e) == 0);
	for (size_t i = 0; ok && i < n; i++)
		ok = linkmap_add_alone(m, &p, &e) == 0 && p == (uint32_t)i;
	ok = ok && linkmap_persons(m) == n;
	ok = ok && (part = malloc(cap * sizeof *part)) != NULL &&
	     (tmp = malloc(cap * sizeof *tmp)) != NULL;
	for (unsigned q = 0; ok && q < parts; q++) {
		size_t k = 0;
		for (size_t i = 0; ok && i < n; i++) {
			uint64_t c = linkmap_code(m, (uint32_t)i);
			over += c > PCODE_MAX;
			if ((c >> shift & 3) != q)
				continue;
			if (k == cap) {
				ok = 0; /* a quarter 25 % over its share: not random */
				break;
			}
			part[k++] = c;
		}
		radix_sort(part, tmp, k);
		for (size_t i = 1; i < k; i++) {
			dups += part[i] == part[i - 1];
			ok = ok && part[i] >= part[i - 1]; /* the sort sorted */
		}
		seen += k;
	}
	if (dups || over || seen != n)
		printf("# %zu codes: %llu seen, %llu duplicates, %llu over 60 "
		       "bits, %llu redraws\n", n, (unsigned long long)seen,
		       (unsigned long long)dups, (unsigned long long)over,
		       (unsigned long long)linkmap_redraws(m));
	free(part);
	free(tmp);
	linkmap_free(m);
	CHECK(ok);
	CHECK(over == 0);
	CHECK(seen == n);
	CHECK(dups == 0);
}

struct ranked {
	uint64_t code;
	uint32_t order;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->code < y->code ? -1 : x->code > y->code;
}

static void t_not_in_order(void)
{
	enum { N = 100000 };
	struct ranked *r = malloc(N * sizeof *r);
	struct linkmap *m = NULL;
	uint8_t k[LINKMAP_KEY];
	uint32_t p;
	bool added;
	struct kerr e;
	int ok;

	kerr_clear(&e);
	CHECK(r);
	ok = linkmap_new(&m, N, &e) == 0;
	for (uint32_t i = 0; ok && i < N; i++) {
		rnd_key(k);
		ok = linkmap_get(m, k, &p, &added, &e) == 0 && added && p == i;
		r[i].code = ok ? linkmap_code(m, p) : 0;
		r[i].order = i;
	}
	linkmap_free(m);
	if (!ok)
		free(r);
	CHECK(ok);
	/* rank of each person's code; d = arrival - rank; ties impossible
	 * (codes are distinct, checked above) */
	qsort(r, N, sizeof *r, cmp_ranked);
	uint64_t s = 0;
	for (uint32_t rank = 0; rank < N; rank++) {
		int64_t d = (int64_t)r[rank].order - (int64_t)rank;
		s += (uint64_t)(d * d);
	}
	free(r);
	double nn = (double)N;
	double rho = 1.0 - 6.0 * (double)s / (nn * (nn * nn - 1.0));
	printf("# spearman rho (arrival, code) over %d persons: %+.5f\n", N,
	       rho);
	CHECK(rho < 0.02 && rho > -0.02);
}

const struct unit_case suite_linkmap[] = {
	{ "linkmap: one digest, one person, one code", t_same_key },
	{ "linkmap: distinct digests distinct persons, numbered in order",
	  t_distinct_and_ordered },
	{ "linkmap: add_alone is always a new person", t_alone },
	{ "linkmap: growth past the expected count keeps all findable",
	  t_growth },
	{ "linkmap: 10 000 000 codes are pairwise distinct",
	  t_ten_million_distinct },
	{ "linkmap: codes do not follow arrival (|Spearman rho| < 0.02)",
	  t_not_in_order },
	{ NULL, NULL },
};
