/* pfield: each field type through pfield_normalise, fields built by hand
 * as protocol_load would build them. */
#include <stdio.h>
#include <string.h>

#include "pfield.h"
#include "unit.h"

#define KEY_CAP 64

/* Match keys as protocol_load precomputes them. */
struct keyset {
	char buf[8][KEY_CAP];
	char *ptr[8];
	size_t n;
};

static int add_key(struct keyset *k, const char *spelling)
{
	struct kbuf b = KBUF_INIT(KEY_CAP - 1);
	const char *why;
	int ok;

	if (k->n == 8)
		return 0;
	ok = norm_match_key(spelling, strlen(spelling), &b, &why) == NORM_OK;
	if (ok) {
		memcpy(k->buf[k->n], b.p, b.len + 1);
		k->ptr[k->n] = k->buf[k->n];
		k->n++;
	}
	kbuf_free(&b);
	return ok;
}

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

/* Run one cell; 1 if the outcome is rc with output want (OK) or empty
 * output and a reason iff invalid. */
static int run(const struct pfield *f, const char *in, int rc,
	       const char *want)
{
	struct kbuf out = KBUF_INIT(4096);
	struct kerr e;
	const char *why = "unset";
	int got, ok;

	kbuf_puts(&out, "previous value", &e);
	got = pfield_normalise(f, in, strlen(in), &out, &why);
	if (rc == NORM_OK)
		ok = got == NORM_OK && why == NULL && out.len == strlen(want) &&
		     memcmp(out.p, want, out.len) == 0;
	else
		ok = got == rc && out.len == 0 &&
		     (rc == NORM_INVALID ? why != NULL && !strstr(why, in) :
					   why == NULL);
	if (!ok)
		printf("# %s: \"%s\" gave %d%s%s\n", f->name, in, got,
		       why ? ", " : "", why ? why : "");
	kbuf_free(&out);
	return ok;
}

static void text_field(void)
{
	struct pfield f;

	field_init(&f, "naam", PF_TEXT);
	f.max_length = 5;
	CHECK(run(&f, "  Jan\t Smet ", NORM_INVALID, NULL)); /* 8 chars */
	CHECK(run(&f, " Ren\xc3\xa9 ", NORM_OK, "Ren\xc3\xa9"));
	CHECK(run(&f, "Rene\xcc\x81", NORM_OK, "Ren\xc3\xa9"));
	CHECK(run(&f, "Ren\xc3\xa9" "e", NORM_OK, "Ren\xc3\xa9" "e"));
	CHECK(run(&f, "Ren\xc3\xa9" "es", NORM_INVALID, NULL));
	CHECK(run(&f, "  ", NORM_EMPTY, NULL));
	CHECK(run(&f, "a\x07", NORM_INVALID, NULL));
	f.max_length = 0; /* no limit */
	CHECK(run(&f, "Jan   Smet", NORM_OK, "Jan Smet"));
}

static void email_field(void)
{
	struct pfield f;

	field_init(&f, "e_mailadres", PF_EMAIL);
	f.category = PF_IDENTIFYING;
	CHECK(run(&f, " <Info@Creche-Zon.BE> ", NORM_OK,
		  "Info@creche-zon.be"));
	CHECK(run(&f, "a@b.be;c@d.be", NORM_INVALID, NULL));
	CHECK(run(&f, "", NORM_EMPTY, NULL));
}

static void phone_field(void)
{
	struct pfield f;

	field_init(&f, "telefoonnummer", PF_PHONE);
	/* region NULL is Belgium */
	CHECK(run(&f, "09/123.45.67", NORM_OK, "+3291234567"));
	f.region = "BE";
	CHECK(run(&f, "+32 (0)470 12 34 56", NORM_OK, "+32470123456"));
	CHECK(run(&f, "0470 12 34 5", NORM_INVALID, NULL));
	CHECK(run(&f, "\xc2\xa0", NORM_EMPTY, NULL));
}

static void date_field(void)
{
	struct pfield f;

	field_init(&f, "startdatum", PF_DATE);
	CHECK(run(&f, "1/2/1850", NORM_OK, "1850-02-01"));   /* unbounded */
	memcpy(f.date_min, "2015-01-01", 11);
	memcpy(f.date_max, "2020-12-31", 11);
	CHECK(run(&f, "01/01/2015", NORM_OK, "2015-01-01"));
	CHECK(run(&f, "31.12.2020 00:00:00", NORM_OK, "2020-12-31"));
	CHECK(run(&f, "31/12/2014", NORM_INVALID, NULL));
	CHECK(run(&f, "2021-01-01", NORM_INVALID, NULL));
	CHECK(run(&f, "29/02/2019", NORM_INVALID, NULL));
	CHECK(run(&f, "", NORM_EMPTY, NULL));
}

static void date_range_reasons(void)
{
	struct kbuf out = KBUF_INIT(64);
	struct pfield f;
	const char *why;

	field_init(&f, "stopdatum", PF_DATE);
	memcpy(f.date_min, "2015-01-01", 11);
	CHECK(pfield_normalise(&f, "31/12/2014", 10, &out, &why) ==
	      NORM_INVALID);
	CHECK_STR(why, "before the earliest allowed date");
	f.date_min[0] = '\0';
	memcpy(f.date_max, "2020-12-31", 11);
	CHECK(pfield_normalise(&f, "1-1-2021", 8, &out, &why) ==
	      NORM_INVALID);
	CHECK_STR(why, "after the latest allowed date");
	CHECK(pfield_normalise(&f, "1-1-1900", 8, &out, &why) == NORM_OK);
	CHECK(pfield_normalise(&f, "1-1-1900", 8, &out, NULL) == NORM_OK);
	kbuf_free(&out);
}

/* The range check compares dates eight bytes at a time: the same order
 * as strcmp, also for limits shorter than a date. */
static void date_range_order(void)
{
	static const char *const dates[] = {
		"1800-01-01", "1999-12-31", "2000-01-01", "2000-01-09",
		"2000-01-10", "2000-02-01", "2000-10-01", "2019-12-31",
		"2020-01-01", "2020-01-02", "2200-12-31",
	};
	static const char *const limits[] = {
		"2000", "2000-", "2000-01-0", "2000-01-01", "2000-01-10",
		"2019-12-31", "2020-01-01", "1", "3", "2000-01-01",
		"2000-01-1", "2020-01-02", "9999-99-99", "0000-00-00",
	};
	struct kbuf out = KBUF_INIT(64);
	struct pfield f;
	const char *why;

	field_init(&f, "datum", PF_DATE);
	for (size_t l = 0; l < sizeof limits / sizeof *limits; l++)
		for (size_t d = 0; d < sizeof dates / sizeof *dates; d++) {
			int c = strcmp(dates[d], limits[l]);
			int rc;

			memset(f.date_min, 'x', sizeof f.date_min);
			memset(f.date_max, 'x', sizeof f.date_max);
			memcpy(f.date_min, limits[l], strlen(limits[l]) + 1);
			f.date_max[0] = '\0';
			rc = pfield_normalise(&f, dates[d], 10, &out, &why);
			CHECK(rc == (c < 0 ? NORM_INVALID : NORM_OK));
			memcpy(f.date_max, limits[l], strlen(limits[l]) + 1);
			f.date_min[0] = '\0';
			rc = pfield_normalise(&f, dates[d], 10, &out, &why);
			CHECK(rc == (c > 0 ? NORM_INVALID : NORM_OK));
		}
	kbuf_free(&out);
}

static void int_field(void)
{
	struct pfield f;

	field_init(&f, "capaciteit", PF_INT);
	CHECK(run(&f, " +0018 ", NORM_OK, "18"));
	CHECK(run(&f, "-0", NORM_OK, "0"));
	CHECK(run(&f, "-9223372036854775808", NORM_OK,
		  "-9223372036854775808"));
	f.has_min = true;
	f.min = 1;
	f.has_max = true;
	f.max = 500;
	CHECK(run(&f, "1", NORM_OK, "1"));
	CHECK(run(&f, "500", NORM_OK, "500"));
	CHECK(run(&f, "0", NORM_INVALID, NULL));
	CHECK(run(&f, "501", NORM_INVALID, NULL));
	CHECK(run(&f, "1.000", NORM_INVALID, NULL));
	CHECK(run(&f, "12,5", NORM_INVALID, NULL));
	CHECK(run(&f, " ", NORM_EMPTY, NULL));
}

static void enum_field(void)
{
	struct keyset k[3];
	struct penum_value v[3];
	struct pfield f;

	memset(k, 0, sizeof k);
	/* value, label, aliases: as protocol_load fills keys[] */
	CHECK(add_key(&k[0], "cr\xc3\xa8" "che"));
	CHECK(add_key(&k[0], "Kinderdagverblijf"));
	CHECK(add_key(&k[1], "bko"));
	CHECK(add_key(&k[1], "Buitenschoolse opvang"));
	CHECK(add_key(&k[1], "IBO"));
	CHECK(add_key(&k[2], "gezinsopvang"));
	v[0] = (struct penum_value){ "cr\xc3\xa8" "che", "Crèche", k[0].ptr,
				     k[0].n };
	v[1] = (struct penum_value){ "bko", "Buitenschoolse opvang",
				     k[1].ptr, k[1].n };
	v[2] = (struct penum_value){ "gezinsopvang", "gezinsopvang", k[2].ptr,
				     k[2].n };
	field_init(&f, "vergunningstype", PF_ENUM);
	f.values = v;
	f.n_values = 3;

	CHECK(run(&f, "Buitenschoolse Opvang", NORM_OK, "bko"));
	CHECK(run(&f, "BUITENSCHOOLSE-OPVANG", NORM_OK, "bko"));
	CHECK(run(&f, " buitenschoolse  opvang ", NORM_OK, "bko"));
	CHECK(run(&f, "Bu\xc3\xaftenschoolse opvang", NORM_OK, "bko"));
	CHECK(run(&f, "BKO", NORM_OK, "bko"));
	CHECK(run(&f, "i.b.o.", NORM_OK, "bko"));
	/* accents and normal forms do not matter */
	CHECK(run(&f, "CRECHE", NORM_OK, "cr\xc3\xa8" "che"));
	CHECK(run(&f, "cre\xcc\x80" "che", NORM_OK, "cr\xc3\xa8" "che"));
	CHECK(run(&f, "CR\xc3\x88" "CHE", NORM_OK, "cr\xc3\xa8" "che"));
	CHECK(run(&f, "Cr\xc3\xa9" "che", NORM_OK, "cr\xc3\xa8" "che"));
	CHECK(run(&f, "kinderdag-verblijf", NORM_OK, "cr\xc3\xa8" "che"));
	CHECK(run(&f, "Gezinsopvang", NORM_OK, "gezinsopvang"));
	/* not a value, and no partial or prefix matches */
	CHECK(run(&f, "opvang", NORM_INVALID, NULL));
	CHECK(run(&f, "crèches", NORM_INVALID, NULL));
	CHECK(run(&f, "bk", NORM_INVALID, NULL));
	/* empty stays empty, also when only punctuation */
	CHECK(run(&f, "", NORM_EMPTY, NULL));
	CHECK(run(&f, " - ", NORM_EMPTY, NULL));
	CHECK(run(&f, "bko\xff", NORM_INVALID, NULL));
}

static void enum_reason(void)
{
	struct keyset k;
	struct penum_value v;
	struct pfield f;
	struct kbuf out = KBUF_INIT(64);
	const char *why;

	memset(&k, 0, sizeof k);
	CHECK(add_key(&k, "ja"));
	v = (struct penum_value){ "ja", "ja", k.ptr, k.n };
	field_init(&f, "x", PF_ENUM);
	f.values = &v;
	f.n_values = 1;
	CHECK(pfield_normalise(&f, "Peeters", 7, &out, &why) == NORM_INVALID);
	CHECK_STR(why, "not one of the allowed values");
	kbuf_free(&out);
}

static void bool_field(void)
{
	static const char *const yes[] = { "ja", "j", "yes", "y", "waar",
					   "true", "1", "x" };
	static const char *const no[] = { "nee", "n", "no", "onwaar",
					  "false", "0" };
	struct keyset t, n;
	struct pfield f;

	memset(&t, 0, sizeof t);
	memset(&n, 0, sizeof n);
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		CHECK(add_key(&t, yes[i]));
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		CHECK(add_key(&n, no[i]));
	field_init(&f, "ikt", PF_BOOL);
	f.true_keys = t.ptr;
	f.n_true = t.n;
	f.false_keys = n.ptr;
	f.n_false = n.n;
	f.true_value = "ja";
	f.false_value = "nee";

	CHECK(run(&f, "JA", NORM_OK, "ja"));
	CHECK(run(&f, " Yes ", NORM_OK, "ja"));
	CHECK(run(&f, "X", NORM_OK, "ja"));
	CHECK(run(&f, "1", NORM_OK, "ja"));
	CHECK(run(&f, "Nee", NORM_OK, "nee"));
	CHECK(run(&f, "N.", NORM_OK, "nee"));
	CHECK(run(&f, "ONWAAR", NORM_OK, "nee"));
	CHECK(run(&f, "0", NORM_OK, "nee"));
	CHECK(run(&f, "misschien", NORM_INVALID, NULL));
	CHECK(run(&f, "2", NORM_INVALID, NULL));
	CHECK(run(&f, "", NORM_EMPTY, NULL));
	CHECK(run(&f, "?", NORM_EMPTY, NULL));
}

static void bad_type(void)
{
	struct kbuf out = KBUF_INIT(64);
	struct pfield f;
	const char *why;

	field_init(&f, "x", PF_TEXT);
	f.type = (enum pfield_type)99;
	CHECK(pfield_normalise(&f, "a", 1, &out, &why) == NORM_INVALID);
	CHECK(why != NULL);
	kbuf_free(&out);
}

/* Bytes of out from `from` to 40 are all zero: nothing of an old value
 * left behind the current one. */
static int zero_from(const struct kbuf *out, size_t from)
{
	for (size_t i = from; i < 40; i++)
		if (out->p[i])
			return 0;
	return 1;
}

/* do_date and do_phone write into out's memory once it has room: a
 * longer old value is wiped past the new one, and a date refused after
 * normalising (by the range) leaves none of its bytes. */
static void set_in_place_wipes(void)
{
	struct kbuf out = KBUF_INIT(4096);
	struct pfield date, phone;
	struct kerr e;
	const char *why;

	field_init(&date, "d", PF_DATE);
	memcpy(date.date_max, "2020-12-31", 11);
	field_init(&phone, "t", PF_PHONE);
	kbuf_puts(&out, "an old value of forty bytes, 0123456789", &e);
	CHECK(out.len == 39);
	CHECK(pfield_normalise(&date, "21/04/2013", 10, &out, &why) ==
	      NORM_OK);
	CHECK(out.len == 10 && memcmp(out.p, "2013-04-21", 10) == 0);
	CHECK(zero_from(&out, 10));
	CHECK(pfield_normalise(&date, "21/04/2023", 10, &out, &why) ==
	      NORM_INVALID);
	CHECK(out.len == 0 && zero_from(&out, 0));
	CHECK(pfield_normalise(&phone, "+32 (0)13 96 90 50", 18, &out,
			       &why) == NORM_OK);
	CHECK(out.len == 11 && memcmp(out.p, "+3213969050", 11) == 0);
	CHECK(zero_from(&out, 11));
	CHECK(pfield_normalise(&date, "2013-04-21", 10, &out, &why) ==
	      NORM_OK);
	CHECK(out.len == 10 && zero_from(&out, 10));
	CHECK(pfield_normalise(&phone, "0470 12 34 56", 13, &out, &why) ==
	      NORM_OK);
	CHECK(out.len == 12 && memcmp(out.p, "+32470123456", 12) == 0);
	CHECK(zero_from(&out, 12));
	/* (a plain kbuf_reset only cuts the length, as before) */
	CHECK(pfield_normalise(&phone, "0470 12 34 5", 12, &out, &why) ==
	      NORM_INVALID);
	CHECK(out.len == 0 && out.p[0] == '\0');
	CHECK(pfield_normalise(&date, "", 0, &out, &why) == NORM_EMPTY);
	CHECK(out.len == 0 && out.p[0] == '\0');
	kbuf_free(&out);
}

/* A value longer than the caller's buffer is invalid, not truncated. */
static void small_output(void)
{
	struct kbuf out = KBUF_INIT(4);
	struct pfield f;
	const char *why;

	field_init(&f, "telefoon", PF_PHONE);
	CHECK(pfield_normalise(&f, "09 123 45 67", 12, &out, &why) ==
	      NORM_INVALID);
	CHECK(out.len == 0 && why != NULL);
	field_init(&f, "n", PF_INT);
	CHECK(pfield_normalise(&f, "12345", 5, &out, &why) == NORM_INVALID);
	CHECK(out.len == 0);
	CHECK(pfield_normalise(&f, "1234", 4, &out, &why) == NORM_OK);
	CHECK(out.len == 4);
	kbuf_free(&out);
}

const struct unit_case suite_pfield[] = {
	{ "pfield: text", text_field },
	{ "pfield: email", email_field },
	{ "pfield: phone", phone_field },
	{ "pfield: dates and numbers set in place wipe", set_in_place_wipes },
	{ "pfield: date", date_field },
	{ "pfield: date range reasons", date_range_reasons },
	{ "pfield: date range order", date_range_order },
	{ "pfield: int", int_field },
	{ "pfield: enum", enum_field },
	{ "pfield: enum reason", enum_reason },
	{ "pfield: bool", bool_field },
	{ "pfield: unknown type", bad_type },
	{ "pfield: output buffer too small", small_output },
	{ NULL, NULL },
};
