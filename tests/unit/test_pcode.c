/*
 * pcode: the written form round-trips for random and edge values and
 * matches ^[0-9A-HJKMNP-TV-Z]{4}-…-.$; known answers pin the Luhn mod 32
 * check; parsing forgives case, hyphens and I/L/O; every single-symbol
 * substitution and every neighbour swap except 0<->Z is caught (both
 * exhaustively); wrong lengths and foreign characters are refused with
 * KERR_USAGE and a reason; pcode_random stays in 60 bits, each bit set in
 * roughly half the draws.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "kerr.h"
#include "krand.h"
#include "pcode.h"
#include "unit.h"

static const char ALPHA[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define NSYM 13 /* twelve value symbols and the check symbol */

/* A uniformly random value below 2^60 without relying on pcode_random. */
static uint64_t rnd60(void)
{
	uint64_t v;

	krand_buf(&v, sizeof v);
	return v & PCODE_MAX;
}

static unsigned rnd_below(unsigned n)
{
	uint32_t v;

	krand_buf(&v, sizeof v);
	return v % n;
}

/* Symbol string (13 symbols, no hyphens) of a formatted code. */
static void strip(const char code[PCODE_LEN + 1], char sym[NSYM + 1])
{
	size_t k = 0;

	for (const char *p = code; *p; p++)
		if (*p != '-')
			sym[k++] = *p;
	sym[k] = '\0';
}

/* Written form from 13 symbols. */
static void dress(const char sym[NSYM], char out[PCODE_LEN + 1])
{
	size_t o = 0;

	for (int i = 0; i < NSYM; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = sym[i];
	}
	out[o] = '\0';
}

/* Value from 12 symbol values (most significant first). */
static uint64_t value_of_syms(const unsigned s[12])
{
	uint64_t v = 0;

	for (int i = 0; i < 12; i++)
		v = v << 5 | s[i];
	return v;
}

static int parse_str(const char *s, uint64_t *v, struct kerr *e)
{
	kerr_clear(e);
	return pcode_parse(s, strlen(s), v, e);
}

static void t_known_answers(void)
{
	char c[PCODE_LEN + 1];

	pcode_format(0, c);
	CHECK_STR(c, "0000-0000-0000-0");
	/* the last value symbol is doubled: 1 -> 2, check 32 - 2 = 30 */
	pcode_format(1, c);
	CHECK_STR(c, "0000-0000-0001-Y");
	/* doubled Z: 62 -> 1 + 30 = 31; 12 * 31 = 372 = 20 mod 32 -> 12 */
	pcode_format(PCODE_MAX, c);
	CHECK_STR(c, "ZZZZ-ZZZZ-ZZZZ-C");
	/* the first value symbol is not doubled: 1 << 55 -> check 31 */
	pcode_format(UINT64_C(1) << 55, c);
	CHECK_STR(c, "1000-0000-0000-Z");
	/* symbol values 0..11: doubled 11,9,7,5,3,1 -> 22+18+14+10+6+2 = 72,
	 * plain 10+8+6+4+2+0 = 30; 102 mod 32 = 6 -> check 26 = 'T' */
	unsigned s[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	pcode_format(value_of_syms(s), c);
	CHECK_STR(c, "0123-4567-89AB-T");
	/* only the low 60 bits count */
	pcode_format(UINT64_MAX, c);
	CHECK_STR(c, "ZZZZ-ZZZZ-ZZZZ-C");
	pcode_format((UINT64_C(0xf) << 60) | 1, c);
	CHECK_STR(c, "0000-0000-0001-Y");
}

static void t_round_trip(void)
{
	static const char re_src[] =
		"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-"
		"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$";
	const uint64_t edge[] = {
		0, 1, 2, 31, 32, PCODE_MAX, PCODE_MAX - 1, PCODE_MAX >> 1,
		UINT64_C(1) << 59, (UINT64_C(1) << 59) - 1,
		UINT64_C(0x0123456789abcdef) & PCODE_MAX,
	};
	char c[PCODE_LEN + 1];
	struct kerr e;
	regex_t re;
	uint64_t v;

	CHECK(regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB) == 0);
	for (size_t i = 0; i < sizeof edge / sizeof *edge + 20000; i++) {
		uint64_t x = i < sizeof edge / sizeof *edge ? edge[i] : rnd60();
		memset(c, 0x55, sizeof c);
		pcode_format(x, c);
		if (strlen(c) != PCODE_LEN ||
		    regexec(&re, c, 0, NULL, 0) != 0) {
			regfree(&re);
			CHECK(!"written form matches the pattern");
		}
		v = ~x;
		if (parse_str(c, &v, &e) != 0 || v != x) {
			regfree(&re);
			CHECK(!"parse(format(x)) == x");
		}
	}
	/* the pattern itself refuses what it must (a check on the check) */
	int bad = regexec(&re, "K7Q2-9XHD-M3PA-U", 0, NULL, 0) != 0 &&
		  regexec(&re, "K7Q2-9XHD-M3PA-RR", 0, NULL, 0) != 0 &&
		  regexec(&re, "k7Q2-9XHD-M3PA-R", 0, NULL, 0) != 0;
	regfree(&re);
	CHECK(bad);
}

static void t_forgiving(void)
{
	char c[PCODE_LEN + 1], s[64];
	struct kerr e;
	uint64_t v, x;

	/* lower case, no hyphens, spaces, other hyphen positions */
	for (int n = 0; n < 2000; n++) {
		x = rnd60();
		pcode_format(x, c);
		for (size_t i = 0; c[i]; i++)
			s[i] = (char)(c[i] >= 'A' && c[i] <= 'Z' ? c[i] + 32 : c[i]);
		s[PCODE_LEN] = '\0';
		CHECK(parse_str(s, &v, &e) == 0 && v == x);
		strip(c, s);
		CHECK(parse_str(s, &v, &e) == 0 && v == x);
		snprintf(s, sizeof s, "%.2s-%.5s %.3s--%.6s", c, c + 2, c + 7,
			 c + 10);
		CHECK(parse_str(s, &v, &e) == 0 && v == x);
	}
	/* I and L read as 1, O as 0, in either case */
	CHECK(parse_str("OOOO-OOOO-OOOI-Y", &v, &e) == 0 && v == 1);
	CHECK(parse_str("oooo-oooo-oool-y", &v, &e) == 0 && v == 1);
	CHECK(parse_str("0000-0000-000i-Y", &v, &e) == 0 && v == 1);
	CHECK(parse_str("0000-0000-000L-Y", &v, &e) == 0 && v == 1);
	CHECK(parse_str("I000-0000-0000-Z", &v, &e) == 0 &&
	      v == UINT64_C(1) << 55);
	CHECK(parse_str("ZZZZ-ZZZZ-ZZZZ-c", &v, &e) == 0 && v == PCODE_MAX);
	/* random codes with every 0 and 1 misread */
	for (int n = 0; n < 2000; n++) {
		x = rnd60();
		pcode_format(x, c);
		for (size_t i = 0; c[i]; i++) {
			if (c[i] == '0')
				c[i] = n % 2 ? 'O' : 'o';
			else if (c[i] == '1')
				c[i] = "ILil"[n % 4];
		}
		CHECK(parse_str(c, &v, &e) == 0 && v == x);
	}
}

/* Every code of `codes` with one symbol replaced by any other is refused
 * as a wrong check symbol. */
static int substitutions_caught(const uint64_t *codes, size_t n)
{
	char c[PCODE_LEN + 1], sym[NSYM + 1], w[PCODE_LEN + 1];
	struct kerr e;
	uint64_t v;

	for (size_t k = 0; k < n; k++) {
		pcode_format(codes[k], c);
		strip(c, sym);
		for (int i = 0; i < NSYM; i++) {
			char keep = sym[i];
			for (int a = 0; a < 32; a++) {
				if (ALPHA[a] == keep)
					continue;
				sym[i] = ALPHA[a];
				dress(sym, w);
				if (parse_str(w, &v, &e) != KERR_USAGE ||
				    !strstr(e.why, "check symbol"))
					return 0;
			}
			sym[i] = keep;
		}
	}
	return 1;
}

static void t_substitution(void)
{
	uint64_t codes[300];

	codes[0] = 0;
	codes[1] = PCODE_MAX;
	codes[2] = 1;
	for (size_t i = 3; i < sizeof codes / sizeof *codes; i++)
		codes[i] = rnd60();
	CHECK(substitutions_caught(codes, sizeof codes / sizeof *codes));
	/* exhaustively: for each position and each original symbol value,
	 * a code with that symbol there (others random), all 31 others */
	for (int pos = 0; pos < 12; pos++) {
		for (unsigned a = 0; a < 32; a++) {
			unsigned s[12];
			for (int i = 0; i < 12; i++)
				s[i] = rnd_below(32);
			s[pos] = a;
			uint64_t x = value_of_syms(s);
			CHECK(substitutions_caught(&x, 1));
		}
	}
	/* and each check symbol value, substituted anywhere */
	for (unsigned want = 0; want < 32; want++) {
		int found = 0;
		for (int tries = 0; tries < 100000 && !found; tries++) {
			char c[PCODE_LEN + 1];
			uint64_t x = rnd60();
			pcode_format(x, c);
			if (c[PCODE_LEN - 1] == ALPHA[want]) {
				found = 1;
				CHECK(substitutions_caught(&x, 1));
			}
		}
		CHECK(found);
	}
}

/* Swap symbols i and i+1 (0..12, 12 = the check symbol) of code x; 1 if
 * the result is refused for its check symbol, 0 if it parses (to what). */
static int swap_caught(uint64_t x, int i, uint64_t *got, int *other_error)
{
	char c[PCODE_LEN + 1], sym[NSYM + 1], w[PCODE_LEN + 1];
	struct kerr e;

	pcode_format(x, c);
	strip(c, sym);
	char t = sym[i];
	sym[i] = sym[i + 1];
	sym[i + 1] = t;
	dress(sym, w);
	int rc = parse_str(w, got, &e);
	*other_error = rc && (rc != KERR_USAGE || !strstr(e.why, "check symbol"));
	return rc != 0;
}

static void t_adjacent_swaps(void)
{
	uint64_t got;
	int other;

	/* exhaustively: neighbours i, i+1 among the value symbols, every pair
	 * of distinct symbol values; the rest random */
	for (int i = 0; i + 1 < 12; i++) {
		for (unsigned a = 0; a < 32; a++) {
			for (unsigned b = 0; b < 32; b++) {
				if (a == b)
					continue;
				unsigned s[12];
				for (int k = 0; k < 12; k++)
					s[k] = rnd_below(32);
				s[i] = a;
				s[i + 1] = b;
				uint64_t x = value_of_syms(s);
				int caught = swap_caught(x, i, &got, &other);
				CHECK(!other);
				if ((a == 0 && b == 31) || (a == 31 && b == 0)) {
					/* Luhn's blind spot, as documented:
					 * the swapped code is another code */
					CHECK(!caught);
					s[i] = b;
					s[i + 1] = a;
					CHECK(got == value_of_syms(s));
				} else {
					CHECK(caught);
				}
			}
		}
	}
	/* the last value symbol and the check symbol: for each pair, find a
	 * code with those two by varying the first symbol (not doubled, so
	 * it moves the check through all 32 values) */
	for (unsigned a = 0; a < 32; a++) {
		for (unsigned b = 0; b < 32; b++) {
			if (a == b)
				continue;
			unsigned s[12];
			for (int k = 0; k < 12; k++)
				s[k] = rnd_below(32);
			s[11] = a;
			int found = 0;
			for (unsigned f = 0; f < 32 && !found; f++) {
				char c[PCODE_LEN + 1];
				s[0] = f;
				pcode_format(value_of_syms(s), c);
				found = c[PCODE_LEN - 1] == ALPHA[b];
			}
			CHECK(found);
			int caught = swap_caught(value_of_syms(s), 11, &got, &other);
			CHECK(!other);
			if ((a == 0 && b == 31) || (a == 31 && b == 0))
				CHECK(!caught);
			else
				CHECK(caught);
		}
	}
}

struct refusal {
	const char *s;
	size_t n;
	const char *why; /* part of the reason */
};

static void t_refusals(void)
{
	static const struct refusal r[] = {
		{ "", 0, "too short" },
		{ "----", 4, "too short" },
		{ "K7Q2-9XHD-M3PA", 14, "too short" },
		{ "0000-0000-0000", 14, "too short" },
		{ "0000-0000-000-0", 15, "too short" },
		{ "0000-0000-0000-00", 17, "too long" },
		{ "0000-0000-0000-0-0000", 21, "too long" },
		{ "0000-0000-0000-U", 16, "not a code symbol" },
		{ "u000-0000-0000-0", 16, "not a code symbol" },
		{ "0000-0000-0000-*", 16, "not a code symbol" },
		{ "0000-0000-0000-~", 16, "not a code symbol" },
		{ "0000-0000-0000-$", 16, "not a code symbol" },
		{ "0000-0000-0000-=", 16, "not a code symbol" },
		{ "0000_0000-0000-0", 16, "not a code symbol" },
		{ "0000.0000.0000.0", 16, "not a code symbol" },
		{ "0000-0000-0000-0\n", 17, "not a code symbol" },
		{ "0000-0000-0000-\xc3\x98", 17, "not a code symbol" },
		{ "\xff" "000-0000-0000-0", 16, "not a code symbol" },
		{ "0000-0000-0000-0\0", 17, "not a code symbol" },
		{ "00\0" "0-0000-0000-0", 16, "not a code symbol" },
		{ "0000-0000-0000-1", 16, "check symbol" },
		{ "0000-0000-0001-Z", 16, "check symbol" },
	};
	struct kerr e;
	uint64_t v;

	for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
		kerr_clear(&e);
		v = 42;
		int rc = pcode_parse(r[i].s, r[i].n, &v, &e);
		if (rc != KERR_USAGE || e.code != KERR_USAGE ||
		    !strstr(e.why, r[i].why) || !e.what[0])
			printf("# refusal %zu: rc %d why '%s'\n", i, rc, e.why);
		CHECK(rc == KERR_USAGE);
		CHECK(e.code == KERR_USAGE);
		CHECK(strstr(e.why, r[i].why) != NULL);
		CHECK(e.what[0]);
	}
	/* the position named is the offending character's */
	CHECK(parse_str("0000-00U0-0000-0", &v, &e) == KERR_USAGE);
	CHECK(strstr(e.why, "character 8 ") != NULL);
	/* a NUL-terminated code read with a shorter n is too short */
	CHECK(pcode_parse("0000-0000-0001-Y", 15, &v, &e) == KERR_USAGE);
	CHECK(pcode_parse("0000-0000-0001-Y", 16, &v, &e) == 0 && v == 1);
}

static void t_random(void)
{
	enum { DRAWS = 100000 };
	static unsigned set[64];
	uint64_t prev = 0, same = 0;

	memset(set, 0, sizeof set);
	for (int n = 0; n < DRAWS; n++) {
		uint64_t x = pcode_random();
		CHECK(x <= PCODE_MAX);
		same += n && x == prev;
		prev = x;
		for (int b = 0; b < 64; b++)
			set[b] += (unsigned)(x >> b & 1);
	}
	CHECK(same == 0);
	for (int b = 0; b < PCODE_BITS; b++) {
		if (set[b] < DRAWS * 45 / 100 || set[b] > DRAWS * 55 / 100)
			printf("# bit %d set in %u of %d draws\n", b, set[b],
			       DRAWS);
		CHECK(set[b] >= DRAWS * 45 / 100);
		CHECK(set[b] <= DRAWS * 55 / 100);
	}
	for (int b = PCODE_BITS; b < 64; b++)
		CHECK(set[b] == 0);
}

const struct unit_case suite_pcode[] = {
	{ "pcode: known answers (format, check symbol, low 60 bits)",
	  t_known_answers },
	{ "pcode: format/parse round trip, written form pattern",
	  t_round_trip },
	{ "pcode: parse forgives case, hyphens, I/L/O", t_forgiving },
	{ "pcode: every single-symbol substitution is caught",
	  t_substitution },
	{ "pcode: every neighbour swap but 0<->Z is caught",
	  t_adjacent_swaps },
	{ "pcode: wrong lengths and foreign characters refused",
	  t_refusals },
	{ "pcode: random draws stay in 60 bits, bits balanced", t_random },
	{ NULL, NULL },
};
