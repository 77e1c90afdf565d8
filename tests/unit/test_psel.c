/*
 * psel: the selection rule.  The seed protocol's rule on the article 3
 * boundaries, every operator on values and on empty values, compile
 * errors with their exact JSON paths, and the limits against hostile
 * files.  Fields are built by hand so these tests do not depend on the
 * protocol loader.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

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

#define ROOT "$.selection.rule"

#define SEED_RULE                                                         \
	"{\"any\":["                                                      \
	"{\"year_between\":{\"field\":\"startdatum\",\"from\":2015,"      \
	"\"to\":2020}},"                                                  \
	"{\"year_between\":{\"field\":\"datum_stopzetting\",\"from\":2015," \
	"\"to\":2020}},"                                                  \
	"{\"is_empty\":{\"field\":\"datum_stopzetting\"}}]}"

/* Compile text (the JSON is freed before the result is used, so the
 * compiled rule must own what it needs).  NULL on failure; d keeps the
 * problems. */
static struct psel *compile_flags(const char *text, size_t flags,
				  struct pdiag *d, int *rc)
{
	json_error_t je;
	json_t *j = json_loads(text, flags, &je);
	struct psel *s = (struct psel *)1;

	if (!j) {
		printf("# bad test JSON: %s: %s\n", je.text, text);
		*rc = -2;
		return NULL;
	}
	*rc = psel_compile(j, fields, N_F, ROOT, &s, d);
	json_decref(j);
	return s;
}

static struct psel *compile(const char *text, struct pdiag *d)
{
	int rc;
	struct psel *s = compile_flags(text, JSON_REJECT_DUPLICATES, d, &rc);

	return rc == 0 ? s : NULL;
}

/* Compile a rule that must compile without any problem. */
static struct psel *ok_rule(const char *text)
{
	struct pdiag d;
	struct psel *s;

	pdiag_init(&d);
	s = compile(text, &d);
	if (s && (d.errors || d.warnings)) {
		psel_free(s);
		s = NULL;
	}
	for (size_t i = 0; i < d.n; i++)
		printf("# unexpected: %s: %s\n", d.items[i].path,
		       d.items[i].msg);
	pdiag_free(&d);
	return s;
}

/* Compile a rule that must fail: -1, *out NULL, at least one error. */
static bool fails(const char *text, struct pdiag *d)
{
	int rc;
	struct psel *s = compile_flags(text, JSON_REJECT_DUPLICATES, d, &rc);

	return rc == -1 && s == NULL && d->errors > 0;
}

/* Is there an error at exactly `path` whose message contains `frag`? */
static bool has(const struct pdiag *d, const char *path, const char *frag)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->items[i].warning &&
		    strcmp(d->items[i].path, path) == 0 &&
		    strstr(d->items[i].msg, frag))
			return true;
	for (size_t i = 0; i < d->n; i++)
		printf("# have: %s: %s\n", d->items[i].path, d->items[i].msg);
	printf("# wanted: %s: ...%s...\n", path, frag);
	return false;
}

/* Exactly one error, at path, containing frag. */
static bool only_error(const char *text, const char *path, const char *frag)
{
	struct pdiag d;
	bool ok;

	pdiag_init(&d);
	ok = fails(text, &d) && d.errors == 1 && d.warnings == 0 &&
	     has(&d, path, frag);
	if (!ok)
		printf("# rule: %s (%zu errors)\n", text, d.errors);
	pdiag_free(&d);
	return ok;
}

/* Records on which psel_eval_len (with each value's length) or the tree
 * walk psel_eval_tree said otherwise than psel_eval; checked by the last
 * test. */
static unsigned len_disagreements;

/* psel_eval of rec, checked against psel_eval_len and psel_eval_tree. */
static bool eval_both(const struct psel *s, const char *const *rec)
{
	size_t lens[N_F];
	bool r = psel_eval(s, rec);

	for (size_t i = 0; i < N_F; i++)
		lens[i] = rec[i] ? strlen(rec[i]) : 0;
	if (psel_eval_len(s, rec, lens) != r) {
		printf("# psel_eval_len disagrees\n");
		len_disagreements++;
	}
	if (psel_eval_tree(s, rec, lens) != r ||
	    psel_eval_tree(s, rec, NULL) != r) {
		printf("# psel_eval_tree disagrees\n");
		len_disagreements++;
	}
	return r;
}

/* A record with only field i set. */
static bool one(const struct psel *s, size_t i, const char *v)
{
	const char *rec[N_F] = { 0 };

	rec[i] = v;
	return eval_both(s, rec);
}

static bool dates(const struct psel *s, const char *start, const char *stop)
{
	const char *rec[N_F] = { 0 };

	rec[F_START] = start;
	rec[F_STOP] = stop;
	rec[F_CAP] = "12";
	rec[F_GEM] = "Gent";
	return eval_both(s, rec);
}

static void seed_rule_boundaries(void)
{
	struct psel *s = ok_rule(SEED_RULE);

	CHECK(s);
	/* Started and stopped just outside 2015..2020. */
	CHECK(!dates(s, "2014-12-31", "2021-01-01"));
	/* Started on the first day. */
	CHECK(dates(s, "2015-01-01", NULL));
	CHECK(dates(s, "2015-01-01", ""));
	CHECK(dates(s, "2015-01-01", "2022-05-01"));
	/* Stopped on the last day. */
	CHECK(dates(s, "2010-06-01", "2020-12-31"));
	/* Active: no stop date, whenever it started. */
	CHECK(dates(s, "2010-06-01", NULL));
	CHECK(dates(s, NULL, NULL));
	CHECK(dates(s, "2023-01-01", NULL));
	/* Started and stopped after the period. */
	CHECK(!dates(s, "2021-02-01", "2021-03-01"));
	CHECK(dates(s, "2020-12-31", "2021-01-10"));
	CHECK(!dates(s, "2000-01-01", "2014-12-31"));
	/* Stopped in the period, start unknown. */
	CHECK(dates(s, NULL, "2017-03-03"));
	CHECK(!dates(s, NULL, "2021-01-01"));
	psel_free(s);
}

static void year_digits(void)
{
	/* The year's four bytes are checked at once: a byte just outside
	 * '0'..'9' (':' is '9' + 1, '/' is '0' - 1) anywhere in the year
	 * makes the value no date, hence empty; years of the range spelt
	 * with every digit are in. */
	struct psel *s = ok_rule(SEED_RULE);
	static const char *const not_dates[] = {
		":015-06-01", "2:15-06-01", "20:5-06-01", "201:-06-01",
		"/015-06-01", "2/15-06-01", "20/5-06-01", "201/-06-01",
		"2\x7f" "15-06-01", "2O15-06-01", "\xb2" "015-06-01",
	};

	CHECK(s);
	for (size_t k = 0; k < sizeof not_dates / sizeof *not_dates; k++)
		CHECK(!dates(s, not_dates[k], "2021-01-01"));
	CHECK(dates(s, "2016-06-01", "2021-01-01"));
	CHECK(dates(s, "2019-06-01", "2021-01-01"));
	CHECK(!dates(s, "2009-06-01", "2021-01-01"));
	CHECK(!dates(s, "2025-06-01", "2021-01-01"));
	CHECK(!dates(s, "1015-06-01", "2021-01-01"));
	CHECK(!dates(s, "3015-06-01", "2021-01-01"));
	psel_free(s);
	/* The widest years the grammar takes. */
	s = ok_rule("{\"year_between\":{\"field\":\"startdatum\","
		    "\"from\":1800,\"to\":2200}}");
	CHECK(s);
	CHECK(one(s, F_START, "1800-01-01") && one(s, F_START, "2200-12-31"));
	CHECK(!one(s, F_START, "1799-12-31") && !one(s, F_START, "2201-01-01"));
	for (size_t k = 0; k < sizeof not_dates / sizeof *not_dates; k++)
		CHECK(!one(s, F_START, not_dates[k]));
	psel_free(s);
}

static void seed_rule_uses_fields(void)
{
	struct psel *s = ok_rule(SEED_RULE);

	CHECK(s);
	CHECK(psel_uses_field(s, F_START));
	CHECK(psel_uses_field(s, F_STOP));
	CHECK(!psel_uses_field(s, F_CAP));
	CHECK(!psel_uses_field(s, F_GEM));
	CHECK(!psel_uses_field(s, N_F));
	CHECK(!psel_uses_field(s, (size_t)-1));
	psel_free(s);

	s = ok_rule("{\"not\":{\"all\":[{\"in\":{\"field\":\"gemeente\","
		    "\"values\":[\"Gent\"]}},{\"any\":[{\"is_set\":"
		    "{\"field\":\"ikt\"}}]}]}}");
	CHECK(s);
	CHECK(psel_uses_field(s, F_GEM) && psel_uses_field(s, F_IKT));
	CHECK(!psel_uses_field(s, F_START) && !psel_uses_field(s, F_TYPE));
	psel_free(s);
}

/* Every comparison is false on an empty value, NULL or "". */
static void empty_values(void)
{
	static const char *const rules[] = {
		"{\"eq\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"ne\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"lt\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"le\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"gt\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"ge\":{\"field\":\"capaciteit\",\"value\":1}}",
		"{\"in\":{\"field\":\"capaciteit\",\"values\":[1,2]}}",
		"{\"ne\":{\"field\":\"gemeente\",\"value\":\"Gent\"}}",
		"{\"ne\":{\"field\":\"ikt\",\"value\":true}}",
		"{\"ne\":{\"field\":\"vergunningstype\","
		"\"value\":\"gezinsopvang\"}}",
		"{\"lt\":{\"field\":\"startdatum\",\"value\":\"2100-01-01\"}}",
		"{\"gt\":{\"field\":\"startdatum\",\"value\":\"1900-01-01\"}}",
		"{\"year_between\":{\"field\":\"startdatum\",\"from\":1800,"
		"\"to\":2200}}",
		"{\"date_between\":{\"field\":\"startdatum\","
		"\"from\":\"1800-01-01\",\"to\":\"2200-12-31\"}}",
		"{\"is_set\":{\"field\":\"gemeente\"}}",
	};
	static const size_t field_of[] = { F_CAP, F_CAP, F_CAP, F_CAP, F_CAP,
					   F_CAP, F_CAP, F_GEM, F_IKT, F_TYPE,
					   F_START, F_START, F_START, F_START,
					   F_GEM };

	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		struct psel *s = ok_rule(rules[i]);
		const char *none[N_F] = { 0 };

		CHECK(s);
		CHECK(!one(s, field_of[i], NULL));
		CHECK(!one(s, field_of[i], ""));
		CHECK(!psel_eval(s, none));
		psel_free(s);
	}
}

static void not_eq_and_is_empty_on_empty(void)
{
	struct psel *s = ok_rule(
		"{\"not\":{\"eq\":{\"field\":\"gemeente\",\"value\":\"Gent\"}}}");

	CHECK(s);
	CHECK(one(s, F_GEM, NULL));
	CHECK(one(s, F_GEM, ""));
	CHECK(one(s, F_GEM, "Brugge"));
	CHECK(!one(s, F_GEM, "Gent"));
	psel_free(s);

	s = ok_rule("{\"is_empty\":{\"field\":\"gemeente\"}}");
	CHECK(s);
	CHECK(one(s, F_GEM, NULL) && one(s, F_GEM, ""));
	CHECK(!one(s, F_GEM, "Gent") && !one(s, F_GEM, " "));
	psel_free(s);

	s = ok_rule("{\"is_set\":{\"field\":\"gemeente\"}}");
	CHECK(s);
	CHECK(!one(s, F_GEM, NULL) && !one(s, F_GEM, ""));
	CHECK(one(s, F_GEM, "Gent"));
	psel_free(s);
}

static void int_comparisons_are_numeric(void)
{
	struct psel *s = ok_rule("{\"lt\":{\"field\":\"capaciteit\","
				 "\"value\":10}}");

	CHECK(s);
	CHECK(one(s, F_CAP, "9"));  /* lexically "9" > "10" */
	CHECK(!one(s, F_CAP, "10"));
	CHECK(!one(s, F_CAP, "100"));
	CHECK(one(s, F_CAP, "-5"));
	CHECK(one(s, F_CAP, "-9223372036854775808"));
	psel_free(s);

	s = ok_rule("{\"le\":{\"field\":\"capaciteit\",\"value\":10}}");
	CHECK(s);
	CHECK(one(s, F_CAP, "10") && one(s, F_CAP, "2") &&
	      !one(s, F_CAP, "11"));
	psel_free(s);
	s = ok_rule("{\"gt\":{\"field\":\"capaciteit\",\"value\":10}}");
	CHECK(s);
	CHECK(one(s, F_CAP, "11") && one(s, F_CAP, "100") &&
	      !one(s, F_CAP, "10") && !one(s, F_CAP, "9"));
	psel_free(s);
	s = ok_rule("{\"ge\":{\"field\":\"capaciteit\",\"value\":10}}");
	CHECK(s);
	CHECK(one(s, F_CAP, "10") && one(s, F_CAP, "9223372036854775807") &&
	      !one(s, F_CAP, "9"));
	psel_free(s);
	s = ok_rule("{\"eq\":{\"field\":\"capaciteit\",\"value\":42}}");
	CHECK(s);
	CHECK(one(s, F_CAP, "42") && !one(s, F_CAP, "43"));
	psel_free(s);
	s = ok_rule("{\"ne\":{\"field\":\"capaciteit\",\"value\":42}}");
	CHECK(s);
	CHECK(!one(s, F_CAP, "42") && one(s, F_CAP, "43"));
	psel_free(s);
}

/* A value of an int, date or bool field that is not in normalised form
 * reads as empty. */
static void unreadable_values_are_empty(void)
{
	static const char *const bad_ints[] = {
		"abc", "1.5", " 12", "12 ", "+12", "-", "1e3",
		"9223372036854775808", "-9223372036854775809",
		"99999999999999999999999",
	};
	struct psel *ne = ok_rule("{\"ne\":{\"field\":\"capaciteit\","
				  "\"value\":1}}");
	struct psel *empty = ok_rule("{\"is_empty\":{\"field\":"
				     "\"capaciteit\"}}");
	struct psel *dne = ok_rule("{\"ne\":{\"field\":\"startdatum\","
				   "\"value\":\"2020-01-01\"}}");
	struct psel *bne = ok_rule("{\"ne\":{\"field\":\"ikt\","
				   "\"value\":true}}");

	CHECK(ne && empty && dne && bne);
	for (size_t i = 0; i < sizeof bad_ints / sizeof *bad_ints; i++) {
		CHECK(!one(ne, F_CAP, bad_ints[i]));
		CHECK(one(empty, F_CAP, bad_ints[i]));
	}
	CHECK(!one(dne, F_START, "2020-02-30"));
	CHECK(!one(dne, F_START, "01/02/2020"));
	CHECK(!one(dne, F_START, "2020-1-1"));
	CHECK(one(dne, F_START, "2020-02-29"));
	CHECK(!one(dne, F_START, "2021-02-29"));
	CHECK(!one(bne, F_IKT, "Ja"));
	CHECK(!one(bne, F_IKT, "misschien"));
	CHECK(one(bne, F_IKT, "nee"));
	psel_free(ne);
	psel_free(empty);
	psel_free(dne);
	psel_free(bne);
}

static void date_operators(void)
{
	struct psel *s = ok_rule(
		"{\"date_between\":{\"field\":\"startdatum\","
		"\"from\":\"2016-02-29\",\"to\":\"2016-03-31\"}}");

	CHECK(s);
	CHECK(one(s, F_START, "2016-02-29")); /* both ends inclusive */
	CHECK(one(s, F_START, "2016-03-31"));
	CHECK(one(s, F_START, "2016-03-01"));
	CHECK(!one(s, F_START, "2016-02-28"));
	CHECK(!one(s, F_START, "2016-04-01"));
	psel_free(s);

	s = ok_rule("{\"date_between\":{\"field\":\"startdatum\","
		    "\"from\":\"2016-05-05\",\"to\":\"2016-05-05\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2016-05-05") && !one(s, F_START, "2016-05-06"));
	psel_free(s);

	s = ok_rule("{\"year_between\":{\"field\":\"startdatum\","
		    "\"from\":2018,\"to\":2018}}");
	CHECK(s);
	CHECK(one(s, F_START, "2018-01-01") && one(s, F_START, "2018-12-31"));
	CHECK(!one(s, F_START, "2017-12-31") && !one(s, F_START, "2019-01-01"));
	psel_free(s);

	s = ok_rule("{\"lt\":{\"field\":\"startdatum\",\"value\":"
		    "\"2015-01-01\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2014-12-31") && !one(s, F_START, "2015-01-01"));
	psel_free(s);
	s = ok_rule("{\"le\":{\"field\":\"startdatum\",\"value\":"
		    "\"2015-01-01\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2015-01-01") && !one(s, F_START, "2015-01-02"));
	psel_free(s);
	s = ok_rule("{\"gt\":{\"field\":\"startdatum\",\"value\":"
		    "\"2015-01-01\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2015-01-02") && !one(s, F_START, "2015-01-01"));
	psel_free(s);
	s = ok_rule("{\"ge\":{\"field\":\"startdatum\",\"value\":"
		    "\"2015-01-01\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2015-01-01") && !one(s, F_START, "2014-12-31"));
	psel_free(s);
	s = ok_rule("{\"eq\":{\"field\":\"startdatum\",\"value\":"
		    "\"2015-01-01\"}}");
	CHECK(s);
	CHECK(one(s, F_START, "2015-01-01") && !one(s, F_START, "2015-01-02"));
	psel_free(s);
	s = ok_rule("{\"in\":{\"field\":\"startdatum\","
		    "\"values\":[\"2015-01-01\",\"2016-02-29\"]}}");
	CHECK(s);
	CHECK(one(s, F_START, "2016-02-29") && one(s, F_START, "2015-01-01"));
	CHECK(!one(s, F_START, "2016-03-01"));
	psel_free(s);
}

static void in_operator(void)
{
	struct psel *s = ok_rule(
		"{\"in\":{\"field\":\"vergunningstype\",\"values\":"
		"[\"gezinsopvang\",\"buitenschoolse opvang\"]}}");

	CHECK(s);
	CHECK(one(s, F_TYPE, "gezinsopvang"));
	CHECK(one(s, F_TYPE, "buitenschoolse opvang"));
	CHECK(!one(s, F_TYPE, "groepsopvang"));
	CHECK(!one(s, F_TYPE, "Gezinsopvang"));
	psel_free(s);

	s = ok_rule("{\"in\":{\"field\":\"capaciteit\",\"values\":[3,10,200]}}");
	CHECK(s);
	CHECK(one(s, F_CAP, "10") && one(s, F_CAP, "3") &&
	      !one(s, F_CAP, "4"));
	psel_free(s);

	s = ok_rule("{\"in\":{\"field\":\"gemeente\",\"values\":[\"Gent\"]}}");
	CHECK(s);
	CHECK(one(s, F_GEM, "Gent") && !one(s, F_GEM, "Gentbrugge"));
	psel_free(s);

	s = ok_rule("{\"in\":{\"field\":\"ikt\",\"values\":[false]}}");
	CHECK(s);
	CHECK(one(s, F_IKT, "nee") && !one(s, F_IKT, "ja"));
	psel_free(s);
}

static void bool_and_enum_and_text(void)
{
	struct psel *t = ok_rule("{\"eq\":{\"field\":\"ikt\",\"value\":true}}");
	struct psel *f = ok_rule("{\"eq\":{\"field\":\"ikt\",\"value\":false}}");
	struct psel *ne = ok_rule("{\"ne\":{\"field\":\"ikt\",\"value\":true}}");

	CHECK(t && f && ne);
	CHECK(one(t, F_IKT, "ja") && !one(t, F_IKT, "nee"));
	CHECK(one(f, F_IKT, "nee") && !one(f, F_IKT, "ja"));
	CHECK(one(ne, F_IKT, "nee") && !one(ne, F_IKT, "ja"));
	CHECK(!one(t, F_IKT, NULL) && !one(f, F_IKT, NULL));
	psel_free(t);
	psel_free(f);
	psel_free(ne);

	t = ok_rule("{\"eq\":{\"field\":\"vergunningstype\","
		    "\"value\":\"groepsopvang\"}}");
	CHECK(t);
	CHECK(one(t, F_TYPE, "groepsopvang") && !one(t, F_TYPE, "gezinsopvang"));
	psel_free(t);

	/* Text is compared exactly: records carry the normalised form. */
	t = ok_rule("{\"eq\":{\"field\":\"gemeente\","
		    "\"value\":\"Sint-Niklaas\"}}");
	CHECK(t);
	CHECK(one(t, F_GEM, "Sint-Niklaas"));
	CHECK(!one(t, F_GEM, "sint-niklaas") && !one(t, F_GEM, "Sint-Niklaa"));
	psel_free(t);
	t = ok_rule("{\"eq\":{\"field\":\"email\",\"value\":\"a@b.be\"}}");
	CHECK(t);
	CHECK(one(t, F_MAIL, "a@b.be") && !one(t, F_MAIL, "a@b.b"));
	psel_free(t);

	/* Rule values are normalised like record values. */
	t = ok_rule("{\"eq\":{\"field\":\"gemeente\","
		    "\"value\":\"  Sint-Niklaas \"}}");
	CHECK(t);
	CHECK(one(t, F_GEM, "Sint-Niklaas"));
	psel_free(t);
	t = ok_rule("{\"in\":{\"field\":\"email\","
		    "\"values\":[\"x@y.be\",\" Info@Kinderopvang.BE\"]}}");
	CHECK(t);
	CHECK(one(t, F_MAIL, "Info@kinderopvang.be"));
	psel_free(t);
	CHECK(only_error("{\"eq\":{\"field\":\"email\",\"value\":\"geen adres\"}}",
			 ROOT ".eq.value", "not a valid email value"));
}

static void all_any_not(void)
{
	struct psel *s = ok_rule(
		"{\"all\":[{\"ge\":{\"field\":\"capaciteit\",\"value\":10}},"
		"{\"not\":{\"eq\":{\"field\":\"gemeente\",\"value\":\"Gent\"}}},"
		"{\"any\":[{\"eq\":{\"field\":\"ikt\",\"value\":true}},"
		"{\"is_empty\":{\"field\":\"ikt\"}}]}]}");
	const char *rec[N_F] = { 0 };

	CHECK(s);
	rec[F_CAP] = "20";
	CHECK(psel_eval(s, rec));
	rec[F_IKT] = "ja";
	CHECK(psel_eval(s, rec));
	rec[F_IKT] = "nee";
	CHECK(!psel_eval(s, rec));
	rec[F_IKT] = NULL;
	rec[F_GEM] = "Gent";
	CHECK(!psel_eval(s, rec));
	rec[F_GEM] = "Aalst";
	CHECK(psel_eval(s, rec));
	rec[F_CAP] = "9";
	CHECK(!psel_eval(s, rec));
	rec[F_CAP] = NULL;
	CHECK(!psel_eval(s, rec));
	psel_free(s);

	s = ok_rule("{\"not\":{\"not\":{\"is_set\":{\"field\":\"ikt\"}}}}");
	CHECK(s);
	CHECK(one(s, F_IKT, "ja") && !one(s, F_IKT, NULL));
	psel_free(s);
}

/* x_ keys are extensions anywhere (docs: general rules). */
static void extension_keys_ignored(void)
{
	struct psel *s = ok_rule(
		"{\"x_note\":\"why\",\"eq\":{\"field\":\"gemeente\","
		"\"x_src\":1,\"value\":\"Gent\"}}");

	CHECK(s);
	CHECK(one(s, F_GEM, "Gent") && !one(s, F_GEM, "Aalst"));
	psel_free(s);
}

static void error_unknown_operator(void)
{
	CHECK(only_error("{\"between\":{\"field\":\"startdatum\"}}",
			 ROOT ".between", "unknown rule \"between\""));
	CHECK(only_error("{\"all\":[{\"is_set\":{\"field\":\"ikt\"}},"
			 "{\"or\":[]}]}",
			 ROOT ".all[1].or", "unknown rule \"or\""));
	CHECK(only_error("{}", ROOT, "empty rule"));
	CHECK(only_error("{\"x_only\":1}", ROOT, "empty rule"));
	CHECK(only_error("[]", ROOT, "must be an object"));
	CHECK(only_error("{\"any\":[{\"is_set\":{\"field\":\"ikt\"}},7]}",
			 ROOT ".any[1]", "must be an object"));
	CHECK(only_error("{\"not\":[{\"is_set\":{\"field\":\"ikt\"}}]}",
			 ROOT ".not", "must be an object"));
	/* A control character in a key is not echoed as such. */
	CHECK(only_error("{\"a\\nb\":1}", ROOT ".a?b", "unknown rule \"a?b\""));
}

static void error_two_keys(void)
{
	CHECK(only_error("{\"is_set\":{\"field\":\"ikt\"},"
			 "\"is_empty\":{\"field\":\"gemeente\"}}",
			 ROOT, "exactly one key; this one has 2 "
			       "(is_set, is_empty)"));
	CHECK(only_error("{\"any\":[{\"eq\":{\"field\":\"capaciteit\","
			 "\"value\":1},\"ne\":{\"field\":\"capaciteit\","
			 "\"value\":2}}]}",
			 ROOT ".any[0]", "exactly one key"));
}

static void error_unknown_field(void)
{
	CHECK(only_error("{\"any\":[{\"is_set\":{\"field\":\"gemeente\"}},"
			 "{\"year_between\":{\"field\":\"stopdatum\","
			 "\"from\":2015,\"to\":2020}}]}",
			 ROOT ".any[1].year_between.field",
			 "unknown field \"stopdatum\""));
	CHECK(only_error("{\"is_empty\":{\"field\":3}}",
			 ROOT ".is_empty.field", "must be a string"));
	CHECK(only_error("{\"eq\":{\"field\":\"Gemeente\",\"value\":\"x\"}}",
			 ROOT ".eq.field", "unknown field \"Gemeente\""));
}

static void error_nul_in_names(void)
{
	struct pdiag d;
	int rc;
	struct psel *s;

	pdiag_init(&d);
	s = compile_flags("{\"is_set\":{\"field\":\"gemeente\\u0000x\"}}",
			  JSON_ALLOW_NUL, &d, &rc);
	CHECK(rc == -1 && !s);
	CHECK(has(&d, ROOT ".is_set.field", "NUL"));
	s = compile_flags("{\"eq\":{\"field\":\"gemeente\","
			  "\"value\":\"Gent\\u0000x\"}}",
			  JSON_ALLOW_NUL, &d, &rc);
	CHECK(rc == -1 && !s);
	CHECK(has(&d, ROOT ".eq.value", "NUL"));
	CHECK(d.errors == 2);
	pdiag_free(&d);
}

static void error_field_type_for_operator(void)
{
	CHECK(only_error("{\"year_between\":{\"field\":\"capaciteit\","
			 "\"from\":2015,\"to\":2020}}",
			 ROOT ".year_between",
			 "year_between needs a date field; "
			 "\"capaciteit\" is int"));
	CHECK(only_error("{\"date_between\":{\"field\":\"gemeente\","
			 "\"from\":\"2015-01-01\",\"to\":\"2020-01-01\"}}",
			 ROOT ".date_between",
			 "date_between needs a date field; "
			 "\"gemeente\" is text"));
	CHECK(only_error("{\"all\":[{\"lt\":{\"field\":\"gemeente\","
			 "\"value\":\"x\"}}]}",
			 ROOT ".all[0].lt",
			 "lt needs an int or date field; \"gemeente\" is text"));
	CHECK(only_error("{\"ge\":{\"field\":\"ikt\",\"value\":true}}",
			 ROOT ".ge",
			 "ge needs an int or date field; \"ikt\" is bool"));
	CHECK(only_error("{\"le\":{\"field\":\"vergunningstype\","
			 "\"value\":\"gezinsopvang\"}}",
			 ROOT ".le", "\"vergunningstype\" is enum"));
	CHECK(only_error("{\"gt\":{\"field\":\"email\",\"value\":\"a@b.be\"}}",
			 ROOT ".gt", "\"email\" is email"));
}

static void error_value_types(void)
{
	CHECK(only_error("{\"eq\":{\"field\":\"capaciteit\",\"value\":\"10\"}}",
			 ROOT ".eq.value", "expected a JSON integer"));
	CHECK(only_error("{\"eq\":{\"field\":\"capaciteit\",\"value\":1.5}}",
			 ROOT ".eq.value", "expected a JSON integer"));
	CHECK(only_error("{\"eq\":{\"field\":\"capaciteit\",\"value\":null}}",
			 ROOT ".eq.value", "expected a JSON integer"));
	CHECK(only_error("{\"eq\":{\"field\":\"ikt\",\"value\":\"ja\"}}",
			 ROOT ".eq.value", "expected true or false"));
	CHECK(only_error("{\"ne\":{\"field\":\"ikt\",\"value\":1}}",
			 ROOT ".ne.value", "expected true or false"));
	CHECK(only_error("{\"eq\":{\"field\":\"startdatum\",\"value\":2020}}",
			 ROOT ".eq.value", "expected a date string"));
	CHECK(only_error("{\"eq\":{\"field\":\"vergunningstype\",\"value\":3}}",
			 ROOT ".eq.value", "\"vergunningstype\" is enum; "
					   "expected a string"));
	CHECK(only_error("{\"eq\":{\"field\":\"gemeente\",\"value\":true}}",
			 ROOT ".eq.value", "expected a string"));
	CHECK(only_error("{\"eq\":{\"field\":\"gemeente\",\"value\":\"\"}}",
			 ROOT ".eq.value", "use is_empty"));
	CHECK(only_error("{\"in\":{\"field\":\"capaciteit\","
			 "\"values\":[1,\"2\",3]}}",
			 ROOT ".in.values[1]", "expected a JSON integer"));
	CHECK(only_error("{\"in\":{\"field\":\"capaciteit\",\"values\":[]}}",
			 ROOT ".in.values", "non-empty array"));
	CHECK(only_error("{\"in\":{\"field\":\"capaciteit\",\"values\":5}}",
			 ROOT ".in.values", "non-empty array"));
}

static void error_enum_value(void)
{
	CHECK(only_error("{\"eq\":{\"field\":\"vergunningstype\","
			 "\"value\":\"Gezinsopvang\"}}",
			 ROOT ".eq.value",
			 "\"Gezinsopvang\" is not a value of \"vergunningstype\" "
			 "(gezinsopvang, groepsopvang, buitenschoolse opvang)"));
	CHECK(only_error("{\"in\":{\"field\":\"vergunningstype\",\"values\":"
			 "[\"groepsopvang\",\"kinderdagverblijf\"]}}",
			 ROOT ".in.values[1]", "is not a value of"));
}

/* A long list of allowed values is cut in the message, not overflowed. */
static void error_enum_value_long_list(void)
{
	static char names[40][24];
	static struct penum_value many[40];
	struct pfield f = { .name = "soort", .type = PF_ENUM, .values = many,
			    .n_values = 40 };
	json_t *j = json_loads("{\"eq\":{\"field\":\"soort\","
			       "\"value\":\"nee\"}}", 0, NULL);
	struct pdiag d;
	struct psel *s;
	const char *m;

	CHECK(j);
	for (size_t i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "waarde-nummer-%02zu", i);
		many[i].value = names[i];
	}
	pdiag_init(&d);
	CHECK(psel_compile(j, &f, 1, ROOT, &s, &d) == -1 && !s);
	CHECK(d.n == 1);
	m = d.items[0].msg;
	CHECK(strstr(m, "(waarde-nummer-00, waarde-nummer-01, "));
	CHECK(strstr(m, ", \xe2\x80\xa6)"));
	CHECK(!strstr(m, "waarde-nummer-39"));
	pdiag_free(&d);
	json_decref(j);
}

static void error_dates(void)
{
	CHECK(only_error("{\"date_between\":{\"field\":\"startdatum\","
			 "\"from\":\"2020-02-30\",\"to\":\"2020-12-31\"}}",
			 ROOT ".date_between.from",
			 "\"2020-02-30\" is not a valid date"));
	CHECK(only_error("{\"date_between\":{\"field\":\"startdatum\","
			 "\"from\":\"2020-01-01\",\"to\":\"31/12/2020\"}}",
			 ROOT ".date_between.to", "not a valid date"));
	CHECK(only_error("{\"date_between\":{\"field\":\"startdatum\","
			 "\"from\":\"2020-01-01\",\"to\":20201231}}",
			 ROOT ".date_between.to", "expected a date string"));
	CHECK(only_error("{\"eq\":{\"field\":\"startdatum\","
			 "\"value\":\"2021-13-01\"}}",
			 ROOT ".eq.value", "not a valid date"));
	CHECK(only_error("{\"eq\":{\"field\":\"startdatum\","
			 "\"value\":\"2019-02-29\"}}",
			 ROOT ".eq.value", "not a valid date"));
	CHECK(only_error("{\"eq\":{\"field\":\"startdatum\","
			 "\"value\":\"2020-1-01\"}}",
			 ROOT ".eq.value", "not a valid date"));
	CHECK(only_error("{\"eq\":{\"field\":\"startdatum\","
			 "\"value\":\"2020-01-01 \"}}",
			 ROOT ".eq.value", "not a valid date"));
	CHECK(only_error("{\"date_between\":{\"field\":\"startdatum\","
			 "\"from\":\"2020-06-02\",\"to\":\"2020-06-01\"}}",
			 ROOT ".date_between",
			 "from (2020-06-02) is after to (2020-06-01)"));
}

static void error_years(void)
{
	CHECK(only_error("{\"year_between\":{\"field\":\"startdatum\","
			 "\"from\":2021,\"to\":2015}}",
			 ROOT ".year_between", "from (2021) is after to (2015)"));
	CHECK(only_error("{\"year_between\":{\"field\":\"startdatum\","
			 "\"from\":1799,\"to\":2015}}",
			 ROOT ".year_between.from", "outside 1800..2200"));
	CHECK(only_error("{\"year_between\":{\"field\":\"startdatum\","
			 "\"from\":2015,\"to\":2201}}",
			 ROOT ".year_between.to", "outside 1800..2200"));
	CHECK(only_error("{\"year_between\":{\"field\":\"startdatum\","
			 "\"from\":\"2015\",\"to\":2020}}",
			 ROOT ".year_between.from", "expected a year"));
	/* from/to are checked even when the field is wrong. */
	{
		struct pdiag d;

		pdiag_init(&d);
		CHECK(fails("{\"year_between\":{\"field\":\"nope\","
			    "\"from\":2015.5,\"to\":2020}}", &d));
		CHECK(d.errors == 2);
		CHECK(has(&d, ROOT ".year_between.field", "unknown field"));
		CHECK(has(&d, ROOT ".year_between.from", "expected a year"));
		pdiag_free(&d);
	}
}

static void error_empty_lists(void)
{
	CHECK(only_error("{\"any\":[]}", ROOT ".any", "at least one rule"));
	CHECK(only_error("{\"all\":[]}", ROOT ".all", "at least one rule"));
	CHECK(only_error("{\"all\":{}}", ROOT ".all", "non-empty array"));
	CHECK(only_error("{\"not\":{\"any\":[]}}", ROOT ".not.any",
			 "at least one rule"));
}

static void error_keys_in_operator(void)
{
	CHECK(only_error("{\"is_empty\":{\"field\":\"gemeente\",\"value\":1}}",
			 ROOT ".is_empty.value",
			 "unknown key \"value\" (is_empty takes field)"));
	CHECK(only_error("{\"in\":{\"field\":\"capaciteit\",\"value\":1,"
			 "\"values\":[1]}}",
			 ROOT ".in.value", "unknown key \"value\""));
	CHECK(only_error("{\"eq\":{\"value\":1}}", ROOT ".eq",
			 "missing key \"field\""));
	CHECK(only_error("{\"eq\":{\"field\":\"capaciteit\"}}", ROOT ".eq",
			 "missing key \"value\""));
	CHECK(only_error("{\"year_between\":{\"field\":\"startdatum\","
			 "\"from\":2015}}",
			 ROOT ".year_between", "missing key \"to\""));
	CHECK(only_error("{\"is_set\":\"gemeente\"}", ROOT ".is_set",
			 "is_set needs an object with key field"));
	CHECK(only_error("{\"eq\":[]}", ROOT ".eq",
			 "needs an object with keys field, value"));
}

/* Build n nested "not"s around an is_set. */
static char *nested(size_t n)
{
	const char *inner = "{\"is_set\":{\"field\":\"ikt\"}}";
	size_t len = n * 8 + n + strlen(inner) + 1;
	char *p = malloc(len), *q = p;

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		memcpy(q, "{\"not\":", 7);
		q += 7;
	}
	memcpy(q, inner, strlen(inner));
	q += strlen(inner);
	memset(q, '}', n);
	q[n] = '\0';
	return p;
}

static void error_too_deep(void)
{
	char *ok = nested(63), *deep = nested(64), *deeper = nested(500);
	struct pdiag d;
	struct psel *s;

	CHECK(ok && deep && deeper);
	/* 63 nots and the is_set: 64 levels. */
	s = ok_rule(ok);
	CHECK(s);
	CHECK(!one(s, F_IKT, "ja") && one(s, F_IKT, NULL));
	psel_free(s);
	pdiag_init(&d);
	CHECK(fails(deep, &d));
	CHECK(d.errors == 1);
	CHECK(strstr(d.items[0].msg, "nested too deeply (more than 64"));
	CHECK(strncmp(d.items[0].path, ROOT ".not.not.not",
		      strlen(ROOT ".not.not.not")) == 0);
	pdiag_free(&d);
	pdiag_init(&d);
	CHECK(fails(deeper, &d));
	CHECK(d.errors == 1);
	pdiag_free(&d);
	free(ok);
	free(deep);
	free(deeper);
}

/* A list of n is_set rules; in values of n. */
static char *wide(size_t n, bool in)
{
	const char *item = in ? "1," : "{\"is_set\":{\"field\":\"ikt\"}},";
	size_t il = strlen(item), len = 64 + n * il;
	char *p = malloc(len), *q = p;

	if (!p)
		return NULL;
	q += snprintf(q, len, "%s", in ? "{\"in\":{\"field\":\"capaciteit\","
					 "\"values\":["
				       : "{\"any\":[");
	for (size_t i = 0; i < n; i++) {
		memcpy(q, item, il);
		q += il;
	}
	q[-1] = ']';
	snprintf(q, 4, "%s", in ? "}}" : "}");
	return p;
}

static void error_too_large(void)
{
	char *fits = wide(9999, false), *big = wide(10000, false),
	     *huge = wide(200000, false), *vals = wide(10000, true);
	struct psel *s;

	CHECK(fits && big && huge && vals);
	s = ok_rule(fits); /* the any and 9999 rules: 10000 nodes */
	CHECK(s);
	CHECK(one(s, F_IKT, "nee") && !one(s, F_IKT, NULL));
	psel_free(s);
	CHECK(only_error(big, ROOT ".any", "rule too large"));
	CHECK(only_error(huge, ROOT ".any", "rule too large"));
	CHECK(only_error(vals, ROOT ".in.values", "rule too large"));
	free(fits);
	free(big);
	free(huge);
	free(vals);
}

/* Every problem is reported, not just the first. */
static void all_errors_reported(void)
{
	struct pdiag d;

	pdiag_init(&d);
	CHECK(fails("{\"all\":["
		    "{\"year_between\":{\"field\":\"stopdatum\",\"from\":2015,"
		    "\"to\":2020}},"
		    "{\"lt\":{\"field\":\"gemeente\",\"value\":\"x\"}},"
		    "{\"eq\":{\"field\":\"ikt\",\"value\":\"ja\"}},"
		    "{\"any\":[]},"
		    "{\"not\":{\"frobnicate\":1}},"
		    "{\"in\":{\"field\":\"vergunningstype\",\"values\":"
		    "[\"x\",\"gezinsopvang\",\"y\"],\"extra\":0}},"
		    "{\"date_between\":{\"field\":\"startdatum\","
		    "\"from\":\"2020-02-30\",\"to\":\"2019-01-01\"}}]}",
		    &d));
	CHECK(has(&d, ROOT ".all[0].year_between.field", "unknown field"));
	CHECK(has(&d, ROOT ".all[1].lt", "needs an int or date field"));
	CHECK(has(&d, ROOT ".all[2].eq.value", "expected true or false"));
	CHECK(has(&d, ROOT ".all[3].any", "at least one rule"));
	CHECK(has(&d, ROOT ".all[4].not.frobnicate", "unknown rule"));
	CHECK(has(&d, ROOT ".all[5].in.extra", "unknown key"));
	CHECK(has(&d, ROOT ".all[5].in.values[0]", "not a value of"));
	CHECK(has(&d, ROOT ".all[5].in.values[2]", "not a value of"));
	CHECK(has(&d, ROOT ".all[6].date_between.from", "not a valid date"));
	CHECK(d.errors == 9);
	pdiag_free(&d);
}

/* Only this call's errors decide: earlier ones in d do not fail it. */
static void earlier_errors_do_not_count(void)
{
	struct pdiag d;
	struct psel *s;

	pdiag_init(&d);
	pdiag_error(&d, "$.fields[0]", "something else");
	pdiag_warning(&d, "$.signed.date", "empty");
	s = compile(SEED_RULE, &d);
	CHECK(s);
	CHECK(d.errors == 1 && d.warnings == 1);
	psel_free(s);
	CHECK(fails("{\"any\":[]}", &d));
	CHECK(d.errors == 2);
	pdiag_free(&d);
	psel_free(NULL);
}

/* The caller's path prefix is used as given. */
static void path_prefix(void)
{
	json_t *j = json_loads("{\"not\":{\"is_set\":{\"field\":\"x\"}}}", 0,
			       NULL);
	struct pdiag d;
	struct psel *s = (struct psel *)1;

	CHECK(j);
	pdiag_init(&d);
	CHECK(psel_compile(j, fields, N_F, "$.sel", &s, &d) == -1 && !s);
	CHECK(has(&d, "$.sel.not.is_set.field", "unknown field \"x\""));
	/* No fields at all: every name is unknown. */
	CHECK(psel_compile(j, NULL, 0, "$.r", &s, &d) == -1 && !s);
	CHECK(has(&d, "$.r.not.is_set.field", "unknown field"));
	pdiag_free(&d);
	json_decref(j);
}

/* No rule at all; names too long for a message are cut between UTF-8
 * characters; a path that fills its buffer stays bounded. */
static void odd_inputs(void)
{
	char key[128], want[128], text[192], prefix[300];
	json_t *j;
	struct pdiag d;
	struct psel *s = (struct psel *)1;
	size_t n = 0;

	pdiag_init(&d);
	CHECK(psel_compile(NULL, fields, N_F, ROOT, &s, &d) == -1 && !s);
	CHECK(d.errors == 1 && has(&d, ROOT, "missing rule"));
	pdiag_free(&d);

	/* "a" and 30 two-byte characters: byte 48 is inside the 24th. */
	key[n++] = 'a';
	for (int i = 0; i < 30; i++, n += 2)
		memcpy(key + n, "\xc3\xa9", 2);
	key[n] = '\0';
	memcpy(want, key, 47);
	memcpy(want + 47, "\xe2\x80\xa6", 3);
	want[50] = '\0';
	snprintf(text, sizeof text, "{\"%s\":1}", key);
	pdiag_init(&d);
	CHECK(fails(text, &d) && d.errors == 1);
	CHECK(strstr(d.items[0].msg, want));
	pdiag_free(&d);

	/* A 250-byte prefix leaves five bytes: ".a", then the cut falls
	 * inside the first "é". */
	prefix[0] = '$';
	memset(prefix + 1, 'x', 249);
	prefix[250] = '\0';
	j = json_loads(text, 0, NULL);
	CHECK(j);
	pdiag_init(&d);
	CHECK(psel_compile(j, fields, N_F, prefix, &s, &d) == -1 && !s);
	CHECK(d.errors == 1 && strncmp(d.items[0].path, "$xxx", 4) == 0);
	pdiag_free(&d);
	json_decref(j);
}

static void len_agrees(void)
{
	CHECK(len_disagreements == 0);
}

const struct unit_case suite_psel[] = {
	{ "psel seed rule on the article 3 boundaries", seed_rule_boundaries },
	{ "psel uses_field", seed_rule_uses_fields },
	{ "psel year digits checked as a word", year_digits },
	{ "psel comparisons are false on empty values", empty_values },
	{ "psel not(eq), is_empty, is_set on empty",
	  not_eq_and_is_empty_on_empty },
	{ "psel int comparisons are numeric", int_comparisons_are_numeric },
	{ "psel unreadable int/date/bool values read as empty",
	  unreadable_values_are_empty },
	{ "psel date operators, inclusive ends", date_operators },
	{ "psel in", in_operator },
	{ "psel bool, enum and text equality", bool_and_enum_and_text },
	{ "psel all, any, not", all_any_not },
	{ "psel x_ extension keys are ignored", extension_keys_ignored },
	{ "psel error: unknown operator, not an object", error_unknown_operator },
	{ "psel error: two operators in one rule", error_two_keys },
	{ "psel error: unknown field", error_unknown_field },
	{ "psel error: NUL in a name or value", error_nul_in_names },
	{ "psel error: operator needs another field type",
	  error_field_type_for_operator },
	{ "psel error: value of the wrong JSON type", error_value_types },
	{ "psel error: enum value not of the field", error_enum_value },
	{ "psel error: enum value list cut in the message",
	  error_enum_value_long_list },
	{ "psel error: invalid dates, from after to", error_dates },
	{ "psel error: years", error_years },
	{ "psel error: empty all/any", error_empty_lists },
	{ "psel error: extra and missing keys", error_keys_in_operator },
	{ "psel error: nested too deeply", error_too_deep },
	{ "psel error: too many rules or values", error_too_large },
	{ "psel reports every error", all_errors_reported },
	{ "psel earlier errors in the pdiag do not fail it",
	  earlier_errors_do_not_count },
	{ "psel path prefix", path_prefix },
	{ "psel no rule, long names, long paths", odd_inputs },
	{ "psel_eval_len and psel_eval_tree agreed with psel_eval on every "
	  "record above",
	  len_agrees },
	{ NULL, NULL },
};
