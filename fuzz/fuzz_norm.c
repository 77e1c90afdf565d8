/*
 * fuzz_norm — every value normaliser of norm.h, and pfield_normalise.
 *
 * Input: one option byte, then the cell.  The option byte picks max_chars
 * for text (bits 0-2), the int range (bits 3-5) and the phone region
 * (bits 6-7).  Properties, checked for each normaliser:
 *   - NORM_INVALID comes with a reason, a short static string that is not
 *     a pointer into the input; other results have none, and the output
 *     is empty unless NORM_OK;
 *   - every NORM_OK output has its documented shape (YYYY-MM-DD,
 *     ^\+[1-9][0-9]{6,14}$, one '@', trimmed NFC text without control
 *     characters or doubled spaces, a non-empty key) and is a fixed point:
 *     normalising it again gives it back unchanged;
 *   - white space around the cell changes nothing; a leading NBSP also
 *     forces the Unicode paths, so they must agree with the ASCII fast
 *     paths of every normaliser; for text an ideographic space around
 *     it forces utf8proc's NFC, which text below U+0300 skips;
 *   - an enum or bool field gives one of its canonical values, a date
 *     field what norm_date gives within its range, the other types what
 *     their normaliser gives.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "kbuf.h"
#include "norm.h"
#include "pfield.h"

#include "fuzz_util.h"

#define CAP (1u << 20)

static const size_t max_chars[8] = { 0, 1, 2, 5, 10, 50, 500, 10000 };

struct range {
	bool has_min, has_max;
	long long min, max;
};

static const struct range ranges[8] = {
	{ false, false, 0, 0 },
	{ true, true, 1, 500 },
	{ true, false, 0, 0 },
	{ false, true, 0, 0 },
	{ true, true, -5, 5 },
	{ true, true, LLONG_MIN, LLONG_MAX },
	{ true, true, 10, 1 }, /* empty range */
	{ true, true, 0, 0 },
};

static const char *const regions[4] = { NULL, "BE", "NL", "be" };

/* Reason present iff invalid, static, and not a piece of the input. */
static void check_why(int rc, const char *why, const uint8_t *in, size_t n)
{
	if (rc != NORM_OK && rc != NORM_EMPTY && rc != NORM_INVALID)
		abort();
	if (rc != NORM_INVALID) {
		if (why != NULL)
			abort();
		return;
	}
	if (why == NULL || why[0] == '\0' || strlen(why) > 100)
		abort();
	if ((const uint8_t *)why >= in && (const uint8_t *)why <= in + n)
		abort();
}

static bool same(const struct kbuf *a, const struct kbuf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------ text */

static void text_shape(const struct kbuf *o, size_t maxc)
{
	utf8proc_uint8_t *nfc;
	utf8proc_ssize_t r;
	size_t chars = 0;

	if (o->len == 0 || o->p[0] == ' ' || o->p[o->len - 1] == ' ')
		abort();
	for (size_t i = 0; i < o->len;) {
		utf8proc_int32_t cp;
		utf8proc_category_t cat;

		r = utf8proc_iterate(o->p + i, (utf8proc_ssize_t)(o->len - i),
				     &cp);
		if (r <= 0)
			abort();
		cat = utf8proc_category(cp);
		if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_ZL ||
		    cat == UTF8PROC_CATEGORY_ZP ||
		    (cat == UTF8PROC_CATEGORY_ZS && cp != ' '))
			abort();
		if (cp == ' ' && o->p[i + 1] == ' ')
			abort();
		chars++;
		i += (size_t)r;
	}
	if (maxc && chars > maxc)
		abort();
	/* NFC by utf8proc's own account. */
	r = utf8proc_map(o->p, (utf8proc_ssize_t)o->len, &nfc,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (r < 0 || (size_t)r != o->len || memcmp(nfc, o->p, o->len) != 0)
		abort();
	free(nfc);
}

static void fuzz_text(const uint8_t *p, size_t n, const uint8_t *wrapped,
		      size_t wn, size_t maxc)
{
	struct kbuf o = KBUF_INIT(CAP), o2 = KBUF_INIT(CAP);
	const char *why;
	int rc, rc2;

	rc = norm_text((const char *)p, n, maxc, &o, &why);
	check_why(rc, why, p, n);
	if (rc != NORM_OK && o.len != 0)
		abort();
	rc2 = norm_text((const char *)wrapped, wn, maxc, &o2, &why);
	if (rc2 != rc || !same(&o, &o2))
		abort();
	/* An ideographic space (U+3000) around it: a code point past
	 * U+0300, so the text also goes through utf8proc's NFC, which
	 * text below U+0300 skips. */
	{
		uint8_t *w3 = malloc(n + 6);

		if (!w3)
			abort();
		memcpy(w3, "\xe3\x80\x80", 3);
		if (n)
			memcpy(w3 + 3, p, n);
		memcpy(w3 + 3 + n, "\xe3\x80\x80", 3);
		rc2 = norm_text((const char *)w3, n + 6, maxc, &o2, &why);
		free(w3);
		if (rc2 != rc || !same(&o, &o2))
			abort();
	}
	if (rc == NORM_OK) {
		text_shape(&o, maxc);
		rc2 = norm_text((const char *)o.p, o.len, maxc, &o2, &why);
		if (rc2 != NORM_OK || !same(&o, &o2))
			abort();
	}
	kbuf_free(&o);
	kbuf_free(&o2);
}

/* ------------------------------------------------------------------ date */

static void fuzz_date(const uint8_t *p, size_t n, const uint8_t *wrapped,
		      size_t wn)
{
	char d[NORM_DATE_LEN + 1], d2[NORM_DATE_LEN + 1];
	const char *why;
	int rc, rc2;

	rc = norm_date((const char *)p, n, d, &why);
	check_why(rc, why, p, n);
	rc2 = norm_date((const char *)wrapped, wn, d2, &why);
	if (rc2 != rc || strcmp(d, d2) != 0)
		abort();
	if (rc != NORM_OK) {
		if (d[0] != '\0')
			abort();
		return;
	}
	if (strlen(d) != NORM_DATE_LEN || d[4] != '-' || d[7] != '-')
		abort();
	for (int i = 0; i < NORM_DATE_LEN; i++)
		if (i != 4 && i != 7 && !is_digit((uint8_t)d[i]))
			abort();
	if (strcmp(d, "1800-01-01") < 0 || strcmp(d, "2200-12-31") > 0)
		abort();
	rc2 = norm_date(d, NORM_DATE_LEN, d2, &why);
	if (rc2 != NORM_OK || strcmp(d, d2) != 0)
		abort();
}

/* ----------------------------------------------------------------- phone */

static void fuzz_phone(const uint8_t *p, size_t n, const uint8_t *wrapped,
		       size_t wn, const char *region)
{
	char o[NORM_PHONE_MAX + 1], o2[NORM_PHONE_MAX + 1];
	const char *why;
	size_t len;
	int rc, rc2;

	rc = norm_phone((const char *)p, n, region, o, &why);
	check_why(rc, why, p, n);
	rc2 = norm_phone((const char *)wrapped, wn, region, o2, &why);
	if (rc2 != rc || strcmp(o, o2) != 0)
		abort();
	if (rc != NORM_OK) {
		if (o[0] != '\0')
			abort();
		return;
	}
	len = strlen(o);
	if (len < 8 || len > 16 || o[0] != '+' || o[1] < '1' || o[1] > '9')
		abort();
	for (size_t i = 2; i < len; i++)
		if (!is_digit((uint8_t)o[i]))
			abort();
	/* Belgian: 8 digits, or 9 for the 45x..49x mobiles. */
	if (o[1] == '3' && o[2] == '2' &&
	    !(len == 11 || (len == 12 && o[3] == '4' && o[4] >= '5')))
		abort();
	/* The output reads back the same in every region. */
	for (size_t r = 0; r < 4; r++) {
		rc2 = norm_phone(o, len, regions[r], o2, &why);
		if (rc2 != NORM_OK || strcmp(o, o2) != 0)
			abort();
	}
}

/* ---------------------------------------------------------------- e-mail */

static void fuzz_email(const uint8_t *p, size_t n, const uint8_t *wrapped,
		       size_t wn)
{
	struct kbuf o = KBUF_INIT(CAP), o2 = KBUF_INIT(CAP);
	const char *why;
	size_t ats = 0;
	int rc, rc2;

	rc = norm_email((const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	if (rc != NORM_OK && o.len != 0)
		abort();
	rc2 = norm_email((const char *)wrapped, wn, &o2, &why);
	if (rc2 != rc || !same(&o, &o2))
		abort();
	if (rc == NORM_OK) {
		if (o.len < 6 || o.len > 254)
			abort();
		for (size_t i = 0; i < o.len; i++) {
			if (o.p[i] == '@')
				ats++;
			if (o.p[i] <= ' ' || o.p[i] >= 0x7f)
				abort();
			/* the domain is lower case */
			if (ats && o.p[i] >= 'A' && o.p[i] <= 'Z')
				abort();
		}
		if (ats != 1)
			abort();
		rc2 = norm_email((const char *)o.p, o.len, &o2, &why);
		if (rc2 != NORM_OK || !same(&o, &o2))
			abort();
	}
	kbuf_free(&o);
	kbuf_free(&o2);
}

/* ------------------------------------------------------------------- int */

static void fuzz_int(const uint8_t *p, size_t n, const uint8_t *wrapped,
		     size_t wn, const struct range *g)
{
	char dec[32];
	const char *why;
	long long v, v2;
	int rc, rc2, k;

	rc = norm_int((const char *)p, n, g->has_min, g->min, g->has_max,
		      g->max, &v, &why);
	check_why(rc, why, p, n);
	rc2 = norm_int((const char *)wrapped, wn, g->has_min, g->min,
		       g->has_max, g->max, &v2, &why);
	if (rc2 != rc || v2 != v)
		abort();
	if (rc != NORM_OK) {
		if (v != 0)
			abort();
		return;
	}
	if ((g->has_min && v < g->min) || (g->has_max && v > g->max))
		abort();
	k = snprintf(dec, sizeof dec, "%lld", v);
	rc2 = norm_int(dec, (size_t)k, g->has_min, g->min, g->has_max, g->max,
		       &v2, &why);
	if (rc2 != NORM_OK || v2 != v)
		abort();
}

/* ------------------------------------------------------------- match key */

static void fuzz_key(const uint8_t *p, size_t n, const uint8_t *wrapped,
		     size_t wn)
{
	struct kbuf o = KBUF_INIT(CAP), o2 = KBUF_INIT(CAP);
	const char *why;
	int rc, rc2;

	rc = norm_match_key((const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	if ((rc == NORM_OK) != (o.len > 0))
		abort();
	rc2 = norm_match_key((const char *)wrapped, wn, &o2, &why);
	if (rc2 != rc || !same(&o, &o2))
		abort();
	if (rc == NORM_OK) {
		for (size_t i = 0; i < o.len; i++)
			if (o.p[i] < 0x80 && !is_digit(o.p[i]) &&
			    !(o.p[i] >= 'a' && o.p[i] <= 'z'))
				abort();
		rc2 = norm_match_key((const char *)o.p, o.len, &o2, &why);
		if (rc2 != NORM_OK || !same(&o, &o2))
			abort();
	}
	kbuf_free(&o);
	kbuf_free(&o2);
}

/* ---------------------------------------------------------------- pfield */

static char *yes_keys[] = { "ja", "j", "yes", "1", "x" };
static char *no_keys[] = { "nee", "n", "no", "0" };
static char *creche_keys[] = { "creche", "kinderdagverblijf" };
static char *bko_keys[] = { "bko", "buitenschoolseopvang" };

static void same_as_phone(int rc, const struct kbuf *o, const uint8_t *p,
			  size_t n)
{
	char ph[NORM_PHONE_MAX + 1];
	const char *why;

	if (norm_phone((const char *)p, n, "BE", ph, &why) != rc ||
	    o->len != strlen(ph) || (o->len && memcmp(o->p, ph, o->len) != 0))
		abort();
}

static void same_as_int(int rc, const struct kbuf *o, const uint8_t *p,
			size_t n)
{
	char dec[32];
	const char *why;
	long long v;
	int k, rc2 = norm_int((const char *)p, n, true, 1, true, 500, &v, &why);

	if (rc2 != rc)
		abort();
	k = rc == NORM_OK ? snprintf(dec, sizeof dec, "%lld", v) : 0;
	if (o->len != (size_t)k || (k && memcmp(o->p, dec, (size_t)k) != 0))
		abort();
}

static void same_as_buf(int rc, const struct kbuf *o, const uint8_t *p,
			size_t n, enum pfield_type t)
{
	struct kbuf o2 = KBUF_INIT(CAP);
	const char *why;
	int rc2 = t == PF_TEXT ?
			  norm_text((const char *)p, n, 10, &o2, &why) :
			  norm_email((const char *)p, n, &o2, &why);

	if (rc2 != rc || !same(o, &o2))
		abort();
	kbuf_free(&o2);
}

static void fuzz_pfield(const uint8_t *p, size_t n)
{
	struct penum_value values[2] = {
		{ "cr\xc3\xa8" "che", "Cr\xc3\xa8" "che", creche_keys, 2 },
		{ "bko", "Buitenschoolse opvang", bko_keys, 2 },
	};
	struct pfield f;
	struct kbuf o = KBUF_INIT(CAP);
	const char *why;
	int rc;

	memset(&f, 0, sizeof f);
	f.name = "x";
	f.type = PF_ENUM;
	f.values = values;
	f.n_values = 2;
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	if (rc == NORM_OK && strcmp((const char *)o.p, "cr\xc3\xa8" "che") != 0 &&
	    strcmp((const char *)o.p, "bko") != 0)
		abort();
	if (rc != NORM_OK && o.len != 0)
		abort();

	f.type = PF_BOOL;
	f.true_keys = yes_keys;
	f.n_true = 5;
	f.false_keys = no_keys;
	f.n_false = 4;
	f.true_value = "ja";
	f.false_value = "nee";
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	if (rc == NORM_OK && strcmp((const char *)o.p, "ja") != 0 &&
	    strcmp((const char *)o.p, "nee") != 0)
		abort();

	/* The thin types give what their normaliser gives. */
	f.type = PF_PHONE;
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	same_as_phone(rc, &o, p, n);
	f.type = PF_INT;
	f.has_min = f.has_max = true;
	f.min = 1;
	f.max = 500;
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	same_as_int(rc, &o, p, n);
	f.type = PF_TEXT;
	f.max_length = 10;
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	same_as_buf(rc, &o, p, n, PF_TEXT);
	f.type = PF_EMAIL;
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	same_as_buf(rc, &o, p, n, PF_EMAIL);

	f.type = PF_DATE;
	memcpy(f.date_min, "2015-01-01", 11);
	memcpy(f.date_max, "2020-12-31", 11);
	rc = pfield_normalise(&f, (const char *)p, n, &o, &why);
	check_why(rc, why, p, n);
	if (rc == NORM_OK && (strcmp((const char *)o.p, "2015-01-01") < 0 ||
			      strcmp((const char *)o.p, "2020-12-31") > 0))
		abort();
	/* what norm_date gives, in the range (pfield reads the usual
	 * writings inline) */
	{
		char d[NORM_DATE_LEN + 1];
		int rd = norm_date((const char *)p, n, d, &why);

		if (rd == NORM_OK && (strcmp(d, "2015-01-01") < 0 ||
				      strcmp(d, "2020-12-31") > 0))
			rd = NORM_INVALID;
		if (rd != rc || (rc == NORM_OK && strcmp(d, (const char *)o.p)))
			abort();
	}
	kbuf_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *wrapped;
	size_t wn;
	uint8_t opt;

	init_once();
	if (size < 1)
		return 0;
	opt = data[0];
	data++;
	size--;

	/* NBSP, the cell, a space: trimmed away by every normaliser. */
	wn = size + 3;
	wrapped = malloc(wn);
	if (!wrapped)
		abort();
	wrapped[0] = 0xc2;
	wrapped[1] = 0xa0;
	if (size)
		memcpy(wrapped + 2, data, size);
	wrapped[wn - 1] = ' ';

	fuzz_text(data, size, wrapped, wn, max_chars[opt & 7]);
	fuzz_date(data, size, wrapped, wn);
	fuzz_phone(data, size, wrapped, wn, regions[opt >> 6]);
	fuzz_email(data, size, wrapped, wn);
	fuzz_int(data, size, wrapped, wn, &ranges[(opt >> 3) & 7]);
	fuzz_key(data, size, wrapped, wn);
	fuzz_pfield(data, size);
	free(wrapped);
	return 0;
}
