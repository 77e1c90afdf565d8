/*
 * psel: the flat steps (psel_eval, psel_eval_len) against the tree walk
 * (psel_eval_tree), and both against expectations worked out here.
 *
 * The steps decide dates their own way (the year's four bytes first, then
 * the rest at once, the day against a table), so every date operator runs
 * over a grid of years, months and days around every edge, every byte
 * value at every position of a few dates, and lengths around ten; a date
 * is checked here by a third, plain implementation.  Then random rules of
 * every operator, nested, over random records of valid, unreadable and
 * empty values, must give one result all three ways.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "psel.h"
#include "unit.h"

/* The fields of the psel suites (fixtures.c), under short names. */
enum {
	F_START = FXP_START, F_STOP = FXP_STOP, F_CAP = FXP_CAP,
	F_TYPE = FXP_TYPE, F_IKT = FXP_IKT, F_GEM = FXP_GEM,
	F_MAIL = FXP_MAIL, N_F = FXP_N
};
static const struct pfield *const fields = fixture_psel_fields;

/* Deterministic, so that a failure can be replayed. */
static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32) % n;
}

static struct psel *compile(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	struct psel *s = NULL;
	struct pdiag d;

	if (!j) {
		printf("# bad test JSON: %s: %s\n", je.text, text);
		return NULL;
	}
	pdiag_init(&d);
	if (psel_compile(j, fields, N_F, "$", &s, &d) != 0 || d.errors) {
		for (size_t i = 0; i < d.n; i++)
			printf("# %s: %s\n", d.items[i].path, d.items[i].msg);
		printf("# rule: %s\n", text);
		psel_free(s);
		s = NULL;
	}
	pdiag_free(&d);
	json_decref(j);
	return s;
}

/* Evaluations on which the four ways did not agree. */
static unsigned disagreements;

/* The tree's result for rec; every other way must say the same. */
static bool agree(const struct psel *s, const char *const *rec)
{
	size_t lens[N_F];
	bool r;

	for (size_t i = 0; i < N_F; i++)
		lens[i] = rec[i] ? strlen(rec[i]) : 0;
	r = psel_eval_tree(s, rec, lens);
	if (psel_eval(s, rec) != r || psel_eval_len(s, rec, lens) != r ||
	    psel_eval_tree(s, rec, NULL) != r) {
		if (disagreements++ < 10) {
			printf("# disagree (tree: %d) on", r);
			for (size_t i = 0; i < N_F; i++)
				printf(" [%s]", rec[i] ? rec[i] : "NULL");
			printf("\n");
		}
	}
	return r;
}

/* ---- dates ---- */

/* Is s exactly YYYY-MM-DD of a real date (years 1..9999)?  Written apart
 * from psel's two. */
static bool real_date(const char *s)
{
	static const int dim[13] = { 0, 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int y = 0, m, d, last;

	if (!s || strlen(s) != 10)
		return false;
	for (int i = 0; i < 10; i++) {
		bool dash = i == 4 || i == 7;
		if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	}
	for (int i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	last = dim[m];
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		last = 29;
	return d <= last;
}

/* A rule on startdatum and what it must say of a date. */
struct date_rule {
	const char *json;
	enum { E_EMPTY, E_SET, E_RANGE, E_NOT_RANGE } kind;
	const char *lo, *hi; /* E_RANGE, E_NOT_RANGE: inclusive ISO dates */
};

#define YB(a, b)                                                       \
	"{\"year_between\":{\"field\":\"startdatum\",\"from\":" #a        \
	",\"to\":" #b "}}"
#define DB(a, b)                                                       \
	"{\"date_between\":{\"field\":\"startdatum\",\"from\":\"" a      \
	"\",\"to\":\"" b "\"}}"

static const struct date_rule date_rules[] = {
	{ "{\"is_empty\":{\"field\":\"startdatum\"}}", E_EMPTY, 0, 0 },
	{ "{\"is_set\":{\"field\":\"startdatum\"}}", E_SET, 0, 0 },
	{ "{\"not\":{\"is_set\":{\"field\":\"startdatum\"}}}", E_EMPTY, 0,
	  0 },
	{ YB(2015, 2020), E_RANGE, "2015-01-01", "2020-12-31" },
	{ YB(1800, 2200), E_RANGE, "1800-01-01", "2200-12-31" },
	{ YB(2016, 2016), E_RANGE, "2016-01-01", "2016-12-31" },
	{ YB(1900, 2000), E_RANGE, "1900-01-01", "2000-12-31" },
	{ YB(1999, 2001), E_RANGE, "1999-01-01", "2001-12-31" },
	{ "{\"not\":" YB(2015, 2020) "}", E_NOT_RANGE, "2015-01-01",
	  "2020-12-31" },
	{ DB("2015-03-15", "2020-10-20"), E_RANGE, "2015-03-15",
	  "2020-10-20" },
	{ DB("2016-02-29", "2016-02-29"), E_RANGE, "2016-02-29",
	  "2016-02-29" },
	{ DB("2016-02-28", "2016-03-01"), E_RANGE, "2016-02-28",
	  "2016-03-01" },
	{ DB("0001-01-01", "9999-12-31"), E_RANGE, "0001-01-01",
	  "9999-12-31" },
	{ DB("2019-12-31", "2020-01-01"), E_RANGE, "2019-12-31",
	  "2020-01-01" },
	{ DB("2015-01-01", "2020-12-31"), E_RANGE, "2015-01-01",
	  "2020-12-31" },
	{ DB("2015-01-02", "2020-12-30"), E_RANGE, "2015-01-02",
	  "2020-12-30" },
	{ DB("2015-06-10", "2015-06-20"), E_RANGE, "2015-06-10",
	  "2015-06-20" },
	{ DB("1999-11-30", "2001-02-01"), E_RANGE, "1999-11-30",
	  "2001-02-01" },
	{ "{\"not\":" DB("2000-02-29", "2000-03-01") "}", E_NOT_RANGE,
	  "2000-02-29", "2000-03-01" },
};
#define N_DATE_RULES (sizeof date_rules / sizeof *date_rules)

/* Expectations the rules missed. */
static unsigned wrong;

static void check_date(struct psel *const *s, const char *v)
{
	const char *rec[N_F] = { 0 };
	bool real = real_date(v);

	rec[F_START] = v;
	for (size_t k = 0; k < N_DATE_RULES; k++) {
		const struct date_rule *r = &date_rules[k];
		bool in = real && r->lo && strcmp(v, r->lo) >= 0 &&
			  strcmp(v, r->hi) <= 0;
		bool want = r->kind == E_EMPTY ? !real
			    : r->kind == E_SET ? real
			    : r->kind == E_RANGE ? in
					       : !in;

		if (agree(s[k], rec) != want && wrong++ < 10)
			printf("# %s on [%s]: want %d\n", r->json,
			       v ? v : "NULL", want);
	}
}

static void dates_every_way(void)
{
	static const int years[] = { 0,    1,    4,    100,  400,  999,
				     1799, 1800, 1899, 1900, 1999, 2000,
				     2014, 2015, 2016, 2019, 2020, 2021,
				     2100, 2200, 2201, 2400, 9999 };
	static const char *const bases[] = { "2016-02-29", "2015-01-01",
					     "2020-12-31", "2017-06-15",
					     "2000-02-29" };
	struct psel *s[N_DATE_RULES];
	char v[48]; /* room for any int, so that gcc sees no truncation */
	size_t n_real = 0, n_grid = 0;

	disagreements = wrong = 0;
	for (size_t k = 0; k < N_DATE_RULES; k++) {
		s[k] = compile(date_rules[k].json);
		CHECK(s[k]);
	}
	/* Every year above, months 00..13, days 00..32. */
	for (size_t y = 0; y < sizeof years / sizeof *years; y++)
		for (int m = 0; m <= 13; m++)
			for (int d = 0; d <= 32; d++) {
				snprintf(v, sizeof v, "%04d-%02d-%02d",
					 years[y], m, d);
				n_real += real_date(v);
				n_grid++;
				check_date(s, v);
			}
	/* The grid must hold both kinds. */
	CHECK(n_real > 100 && n_real < n_grid);
	/* Every byte at every position, and the dashes' places. */
	for (size_t b = 0; b < sizeof bases / sizeof *bases; b++)
		for (int i = 0; i < 10; i++)
			for (int c = 1; c < 256; c++) {
				memcpy(v, bases[b], 11);
				v[i] = (char)c;
				check_date(s, v);
			}
	/* Lengths around ten, empty, NULL. */
	check_date(s, NULL);
	check_date(s, "");
	check_date(s, "2016-06-1");
	check_date(s, "2016-06-150");
	check_date(s, "2016-06-15 ");
	check_date(s, " 2016-06-15");
	check_date(s, "2016-6-15");
	check_date(s, "20160615");
	check_date(s, "2016/06/15");
	check_date(s, "15-06-2016");
	for (size_t k = 0; k < N_DATE_RULES; k++)
		psel_free(s[k]);
	CHECK(disagreements == 0);
	CHECK(wrong == 0);
}

/* Both dates of the seed rule's kind of record: the steps of one rule
 * read two fields and end early; every pair of a few dozen values. */
static void two_dates(void)
{
	static const char *const rules[] = {
		"{\"any\":[" YB(2015, 2020) ",{\"year_between\":{\"field\":"
		"\"datum_stopzetting\",\"from\":2015,\"to\":2020}},"
		"{\"is_empty\":{\"field\":\"datum_stopzetting\"}}]}",
		"{\"all\":[" YB(2015, 2020) ",{\"not\":{\"is_empty\":{"
		"\"field\":\"datum_stopzetting\"}}}]}",
		"{\"any\":[{\"all\":[" DB("2015-03-01", "2016-03-01") ","
		"{\"is_set\":{\"field\":\"datum_stopzetting\"}}]},"
		"{\"not\":{\"any\":[{\"is_empty\":{\"field\":\"startdatum\"}},"
		"{\"date_between\":{\"field\":\"datum_stopzetting\",\"from\":"
		"\"2016-02-29\",\"to\":\"2021-01-01\"}}]}}]}",
		"{\"not\":{\"all\":[{\"not\":{\"is_set\":{\"field\":"
		"\"startdatum\"}}},{\"lt\":{\"field\":\"datum_stopzetting\","
		"\"value\":\"2016-02-29\"}}]}}",
	};
	static const char *const vals[] = {
		NULL,         "",           "2014-12-31", "2015-01-01",
		"2015-03-01", "2016-02-29", "2016-03-01", "2017-06-15",
		"2020-12-31", "2021-01-01", "2021-01-02", "2015-02-29",
		"2015-13-01", "0000-01-01", "2015-06-1x", "20150601",
		"2O15-06-01", "2015-06-31", "1999-12-31",
	};
	size_t n = sizeof vals / sizeof *vals;
	unsigned yes = 0, all = 0;

	disagreements = 0;
	for (size_t k = 0; k < sizeof rules / sizeof *rules; k++) {
		struct psel *s = compile(rules[k]);

		CHECK(s);
		for (size_t a = 0; a < n; a++)
			for (size_t b = 0; b < n; b++) {
				const char *rec[N_F] = { 0 };

				rec[F_START] = vals[a];
				rec[F_STOP] = vals[b];
				rec[F_CAP] = "12";
				yes += agree(s, rec);
				all++;
			}
		psel_free(s);
	}
	CHECK(disagreements == 0);
	CHECK(yes > all / 10 && yes < all - all / 10);
}

/* ---- random rules ---- */

struct out {
	char buf[512 * 1024];
	size_t len;
	bool full;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n >= sizeof o->buf) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

static const char *pick(const char *const *from, size_t n)
{
	return from[rnd((uint32_t)n)];
}
#define PICK(a) pick((a), sizeof(a) / sizeof *(a))

static const char *const rule_dates[] = {
	"\"2014-12-31\"", "\"2015-01-01\"", "\"2016-02-29\"",
	"\"2017-06-15\"", "\"2020-12-31\"", "\"2021-01-01\"",
};
static const char *const rule_ints[] = { "-5", "0", "1", "12", "500",
					 "9223372036854775807" };
static const char *const rule_enums[] = { "\"gezinsopvang\"",
					  "\"groepsopvang\"",
					  "\"buitenschoolse opvang\"" };
static const char *const rule_bools[] = { "true", "false" };
static const char *const rule_texts[] = { "\"Gent\"", "\"Aalst\"",
					  "\" Gent \"" };
static const char *const rule_mails[] = { "\"a@b.be\"", "\"x@y.org\"" };

/* A value operand list for field f: one, or `in`'s array. */
static void put_values(struct out *o, int f, int count)
{
	const char *const *from;
	size_t n;

	switch (f) {
	case F_START:
	case F_STOP:
		from = rule_dates;
		n = sizeof rule_dates / sizeof *rule_dates;
		break;
	case F_CAP:
		from = rule_ints;
		n = sizeof rule_ints / sizeof *rule_ints;
		break;
	case F_TYPE:
		from = rule_enums;
		n = sizeof rule_enums / sizeof *rule_enums;
		break;
	case F_IKT:
		from = rule_bools;
		n = sizeof rule_bools / sizeof *rule_bools;
		break;
	case F_GEM:
		from = rule_texts;
		n = sizeof rule_texts / sizeof *rule_texts;
		break;
	default:
		from = rule_mails;
		n = sizeof rule_mails / sizeof *rule_mails;
		break;
	}
	for (int i = 0; i < count; i++) {
		if (i)
			put(o, ",");
		put(o, pick(from, n));
	}
}

static void put_leaf(struct out *o)
{
	static const char *const any_ops[] = { "is_empty", "is_set", "eq",
					       "ne", "in" };
	static const char *const order_ops[] = { "lt", "le", "gt", "ge" };
	int f = (int)rnd(N_F);
	bool dated = f == F_START || f == F_STOP;
	bool ordered = dated || f == F_CAP;
	uint32_t k = rnd(dated ? 9 : ordered ? 7 : 5);
	char buf[160];

	if (k < 5) {
		const char *op = any_ops[k];

		snprintf(buf, sizeof buf, "{\"%s\":{\"field\":\"%s\"", op,
			 fields[f].name);
		put(o, buf);
		if (k == 2 || k == 3) {
			put(o, ",\"value\":");
			put_values(o, f, 1);
		} else if (k == 4) {
			put(o, ",\"values\":[");
			put_values(o, f, 1 + (int)rnd(3));
			put(o, "]");
		}
		put(o, "}}");
	} else if (k < 7) {
		snprintf(buf, sizeof buf, "{\"%s\":{\"field\":\"%s\",\"value\":",
			 PICK(order_ops), fields[f].name);
		put(o, buf);
		put_values(o, f, 1);
		put(o, "}}");
	} else if (k == 7) {
		int from = 2012 + (int)rnd(10), to = from + (int)rnd(4);

		snprintf(buf, sizeof buf,
			 "{\"year_between\":{\"field\":\"%s\",\"from\":%d,"
			 "\"to\":%d}}",
			 fields[f].name, from, to);
		put(o, buf);
	} else {
		/* Two dates of the list, in order. */
		size_t n = sizeof rule_dates / sizeof *rule_dates;
		size_t a = rnd((uint32_t)n), b = rnd((uint32_t)n);

		snprintf(buf, sizeof buf,
			 "{\"date_between\":{\"field\":\"%s\",\"from\":%s,"
			 "\"to\":%s}}",
			 fields[f].name, rule_dates[a < b ? a : b],
			 rule_dates[a < b ? b : a]);
		put(o, buf);
	}
}

static void put_rule(struct out *o, int depth)
{
	uint32_t k = depth < 5 ? rnd(10) : 9;

	if (k < 2) {
		put(o, "{\"not\":");
		put_rule(o, depth + 1);
		put(o, "}");
	} else if (k < 6) {
		int n = 1 + (int)rnd(4);

		put(o, k < 4 ? "{\"all\":[" : "{\"any\":[");
		for (int i = 0; i < n; i++) {
			if (i)
				put(o, ",");
			put_rule(o, depth + 1);
		}
		put(o, "]}");
	} else {
		put_leaf(o);
	}
}

/* Record values: valid, unreadable (read as empty), empty. */
static const char *const rec_dates[] = {
	NULL,         "",           "2014-12-31", "2015-01-01", "2016-02-29",
	"2016-03-01", "2017-06-15", "2020-12-31", "2021-01-01", "2019-02-29",
	"2015-13-01", "0000-01-01", "2015-1-01",  "01/02/2020", "2015-06-1x",
	"2015-06-00", "1800-01-01", "9999-12-31",
};
static const char *const rec_ints[] = { NULL, "",    "12",  "-5", "0",
					"500", "abc", "1.5", "+7",
					"99999999999999999999" };
static const char *const rec_enums[] = { NULL, "", "gezinsopvang",
					 "groepsopvang", "Gezinsopvang",
					 "x" };
static const char *const rec_bools[] = { NULL, "", "ja", "nee", "Ja",
					 "maybe" };
static const char *const rec_texts[] = { NULL, "", "Gent", "gent",
					 "Aalst", " Gent" };
static const char *const rec_mails[] = { NULL, "", "a@b.be", "A@B.BE",
					 "x@y.org" };

static void random_record(const char **rec)
{
	rec[F_START] = PICK(rec_dates);
	rec[F_STOP] = PICK(rec_dates);
	rec[F_CAP] = PICK(rec_ints);
	rec[F_TYPE] = PICK(rec_enums);
	rec[F_IKT] = PICK(rec_bools);
	rec[F_GEM] = PICK(rec_texts);
	rec[F_MAIL] = PICK(rec_mails);
}

static void random_rules(void)
{
	static struct out o;
	unsigned yes = 0, all = 0, bad = 0;

	disagreements = 0;
	for (int r = 0; r < 3000; r++) {
		struct psel *s;

		o.len = 0;
		o.full = false;
		put_rule(&o, 0);
		CHECK(!o.full);
		s = compile(o.buf);
		if (!s) {
			bad++;
			continue;
		}
		for (int k = 0; k < 60; k++) {
			const char *rec[N_F];

			random_record(rec);
			yes += agree(s, rec);
			all++;
		}
		psel_free(s);
	}
	CHECK(bad == 0);
	CHECK(disagreements == 0);
	/* Rules that said the same of everything would prove little. */
	CHECK(yes > all / 10 && yes < all - all / 10);
}

/* Shapes at the limits: nesting as deep as allowed, a list as long. */
static void deep_and_wide(void)
{
	static struct out o;
	static const char *const leaf =
		"{\"year_between\":{\"field\":\"startdatum\",\"from\":2015,"
		"\"to\":2020}}";
	const char *rec[N_F] = { 0 };
	struct psel *s;

	disagreements = 0;
	/* 63 levels of not and one-element all/any around the range. */
	{
		o.len = 0;
		for (int i = 0; i < 63; i++)
			put(&o, i % 3 == 0   ? "{\"not\":"
				: i % 3 == 1 ? "{\"all\":["
					     : "{\"any\":[");
		put(&o, leaf);
		for (int i = 62; i >= 0; i--)
			put(&o, i % 3 == 0 ? "}" : "]}");
		s = compile(o.buf);
		CHECK(s);
		rec[F_START] = "2016-05-05";
		/* 21 nots: the range is inverted. */
		CHECK(!agree(s, rec));
		rec[F_START] = "2014-05-05";
		CHECK(agree(s, rec));
		psel_free(s);
	}
	/* any of 4000 steps, only the last true; all of them, one false. */
	for (int kind = 0; kind < 2; kind++) {
		o.len = 0;
		put(&o, kind ? "{\"all\":[" : "{\"any\":[");
		for (int i = 0; i < 4000; i++) {
			put(&o, i ? "," : "");
			put(&o, i == 3999 ? "{\"is_set\":{\"field\":\"ikt\"}}"
				: kind    ? "{\"is_empty\":{\"field\":"
					    "\"gemeente\"}}"
					  : leaf);
		}
		put(&o, "]}");
		CHECK(!o.full);
		s = compile(o.buf);
		CHECK(s);
		rec[F_START] = "2014-05-05";
		rec[F_GEM] = NULL;
		rec[F_IKT] = NULL;
		CHECK(!agree(s, rec));
		rec[F_IKT] = "ja";
		CHECK(agree(s, rec));
		rec[F_GEM] = "Gent";
		CHECK(agree(s, rec) == !kind);
		psel_free(s);
	}
	CHECK(disagreements == 0);
}

const struct unit_case suite_psel_flat[] = {
	{ "psel steps: every date operator on a grid of dates",
	  dates_every_way },
	{ "psel steps: two date fields, every pair", two_dates },
	{ "psel steps: random rules on random records", random_rules },
	{ "psel steps: deepest nesting, longest lists", deep_and_wide },
	{ NULL, NULL },
};
