/*
 * norm: the fast paths against the general paths.
 *
 * Every fast path of norm.c (ASCII trimming, date_fast, email_fast,
 * phone_fast, clean ASCII text), and those of pfield.c's date and phone
 * fields (norm_date10 inline, norm_phone_buf), takes only cells whose
 * first byte is ASCII.  A cell wrapped in NBSP ... ' ' therefore always takes the
 * general path, and trimming makes it the same cell: the two results
 * (code, value, reason pointer) must be the same.  The cells are the
 * tricky ones: every byte value at every position of typical writings,
 * boundary dates, lengths at and around each limit, white space and
 * midnight times around the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "norm.h"
#include "pfield.h"
#include "unit.h"

#define WRAP_MAX 512

/* NBSP, in[0..n), a space. */
static size_t wrap(const char *in, size_t n, char *buf)
{
	buf[0] = '\xc2';
	buf[1] = '\xa0';
	memcpy(buf + 2, in, n);
	buf[n + 2] = ' ';
	return n + 3;
}

static void say(const char *what, const char *in, size_t n)
{
	printf("# %s differs for \"", what);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		printf(c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	printf("\"\n");
}

static int same_buf(const struct kbuf *a, const struct kbuf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* The cell through a field of type t, as pfield_normalise's own fast
 * paths see it (its date field reads the ten bytes of a date inline,
 * its phone field has norm_phone_buf's), and wrapped, which only the
 * general paths take: the same code, reason and value.  Both outputs
 * hold an old value first, longer than any result, which must go. */
static int field_agrees(const struct pfield *f, const char *in, size_t n,
			const char *w, size_t wn)
{
	struct kbuf a = KBUF_INIT(4096), b = KBUF_INIT(4096);
	struct kerr e;
	const char *wa = "unset", *wb = "unset";
	int ra, rb, ok;

	kbuf_puts(&a, "an old value of 34 bytes, to wipe.", &e);
	kbuf_puts(&b, "an old value of 34 bytes, to wipe.", &e);
	ra = pfield_normalise(f, in, n, &a, &wa);
	rb = pfield_normalise(f, w, wn, &b, &wb);
	ok = ra == rb && wa == wb && same_buf(&a, &b) && a.p[a.len] == '\0';
	/* a new value leaves nothing of the old one after it (any other
	 * result only empties out: kbuf_reset keeps the bytes) */
	for (size_t i = a.len + 1; ok && ra == NORM_OK && i < 35; i++)
		ok = a.p[i] == '\0';
	kbuf_free(&a);
	kbuf_free(&b);
	return ok;
}

static int date_agrees(const char *in, size_t n)
{
	static const char *const lims[][2] = {
		{ "", "" }, { "1900-01-01", "" }, { "", "2100-12-31" },
		{ "2000-02-29", "2024-02-29" }, { "2200-12-31", "1800-01-01" },
	};
	char w[WRAP_MAX], a[NORM_DATE_LEN + 1], b[NORM_DATE_LEN + 1];
	const char *wa = "unset", *wb = "unset";
	size_t wn = wrap(in, n, w);
	int ra = norm_date(in, n, a, &wa);
	int rb = norm_date(w, wn, b, &wb);
	int ok = ra == rb && wa == wb && strcmp(a, b) == 0;
	struct pfield f;

	memset(&f, 0, sizeof f);
	f.name = "d";
	f.type = PF_DATE;
	for (size_t i = 0; ok && i < sizeof lims / sizeof *lims; i++) {
		memcpy(f.date_min, lims[i][0], strlen(lims[i][0]) + 1);
		memcpy(f.date_max, lims[i][1], strlen(lims[i][1]) + 1);
		ok = field_agrees(&f, in, n, w, wn);
	}
	if (!ok)
		say("date", in, n);
	return ok;
}

static int phone_agrees(const char *in, size_t n, const char *region)
{
	char w[WRAP_MAX], a[NORM_PHONE_MAX + 1], b[NORM_PHONE_MAX + 1];
	const char *wa = "unset", *wb = "unset";
	size_t wn = wrap(in, n, w);
	int ra = norm_phone(in, n, region, a, &wa);
	int rb = norm_phone(w, wn, region, b, &wb);
	int ok = ra == rb && wa == wb && strcmp(a, b) == 0;
	struct pfield f;

	/* norm_phone_buf, through the phone field, against the same */
	memset(&f, 0, sizeof f);
	f.name = "t";
	f.type = PF_PHONE;
	f.region = region;
	if (ok)
		ok = field_agrees(&f, in, n, w, wn);
	if (!ok)
		say("phone", in, n);
	return ok;
}

static int email_agrees(const char *in, size_t n, size_t out_max)
{
	char w[WRAP_MAX];
	struct kbuf a = KBUF_INIT(out_max), b = KBUF_INIT(out_max);
	struct kerr e;
	const char *wa = "unset", *wb = "unset";
	int ra, rb, ok;

	/* An old value in both, to be replaced. */
	kbuf_puts(&a, "old@example.be", &e);
	kbuf_puts(&b, "old@example.be", &e);
	ra = norm_email(in, n, &a, &wa);
	rb = norm_email(w, wrap(in, n, w), &b, &wb);
	ok = ra == rb && wa == wb && same_buf(&a, &b);
	if (!ok)
		say("e-mail", in, n);
	kbuf_free(&a);
	kbuf_free(&b);
	return ok;
}

static int text_agrees(const char *in, size_t n, size_t max_chars,
		       size_t out_max)
{
	char w[WRAP_MAX];
	struct kbuf a = KBUF_INIT(out_max), b = KBUF_INIT(out_max);
	struct kerr e;
	const char *wa = "unset", *wb = "unset";
	int ra, rb, ok;

	kbuf_puts(&a, "old", &e);
	kbuf_puts(&b, "old", &e);
	ra = norm_text(in, n, max_chars, &a, &wa);
	rb = norm_text(w, wrap(in, n, w), max_chars, &b, &wb);
	/* The wrapped cell is 3 bytes longer: a cell that only fits the
	 * byte count of max_chars or the output cap without them is a
	 * different question; only compare what both can answer. */
	ok = ra == rb && wa == wb && same_buf(&a, &b);
	if (!ok)
		say("text", in, n);
	kbuf_free(&a);
	kbuf_free(&b);
	return ok;
}

static int int_agrees(const char *in, size_t n)
{
	char w[WRAP_MAX];
	const char *wa = "unset", *wb = "unset";
	long long va, vb;
	int ra = norm_int(in, n, true, -1000, true, 100000, &va, &wa);
	int rb = norm_int(w, wrap(in, n, w), true, -1000, true, 100000, &vb,
			  &wb);

	if (ra == rb && wa == wb && va == vb)
		return 1;
	say("int", in, n);
	return 0;
}

/* ------------------------------------------------------------------ date */

/* D/M/Y in one of six writings (literal formats for -Wformat). */
static int dmy(char *cell, size_t cap, unsigned k, unsigned d, unsigned m,
	       unsigned y)
{
	switch (k) {
	case 0:
		return snprintf(cell, cap, "%02u/%02u/%04u", d, m, y);
	case 1:
		return snprintf(cell, cap, "%u/%u/%04u", d, m, y);
	case 2:
		return snprintf(cell, cap, "%u-%02u-%04u", d, m, y);
	case 3:
		return snprintf(cell, cap, "%02u.%u.%04u", d, m, y);
	case 4:
		return snprintf(cell, cap, "%02u-%02u-%04u", d, m, y);
	default:
		return snprintf(cell, cap, "%u.%u.%04u", d, m, y);
	}
}

static void dates_grid(void)
{
	static const unsigned years[] = { 0,    1799, 1800, 1900, 2000,
					  2023, 2024, 2100, 2200, 2201 };
	static const char *const times[] = {
		"", " 00:00", " 00:00:00", " 0:00", " 00:00:01", "  00:00",
		"\t00:00:00", " 00:00:00 ", " 12:00", " 00:0", " 00:00:0",
	};
	char cell[64];

	for (unsigned y = 0; y < sizeof years / sizeof *years; y++)
		for (unsigned m = 0; m <= 13; m++)
			for (unsigned d = 0; d <= 32; d++)
				for (size_t t = 0;
				     t < sizeof times / sizeof *times; t++) {
					int n = snprintf(cell, sizeof cell,
							 "%04u-%02u-%02u%s",
							 years[y], m, d,
							 times[t]);
					CHECK(date_agrees(cell, (size_t)n));
					n = dmy(cell, sizeof cell,
						(d + m + t) % 6, d, m,
						years[y]);
					n += snprintf(cell + n,
						      sizeof cell - (size_t)n,
						      "%s", times[t]);
					CHECK(date_agrees(cell, (size_t)n));
				}
}

static void dates_odd(void)
{
	static const char *const cells[] = {
		"29/02/2024", "29/02/2023", "29/02/2000", "29/02/1900",
		"29/02/2100", "28/02/2023", "31/04/2020", "30/04/2020",
		"31/12/2200", "01/01/1800", "31/12/1799", "01/01/2201",
		"2024-02-29", "2023-02-29", "2020-1-01", "2020-01-1",
		"01/02-2020", "01-02/2020", "1/2/20", "001/02/2020",
		"01//2020", "01/02/20201", "2020-01-011", "20200-01-01",
		"1/1/2020", "1/12/2020", "12/1/2020", "1-1-2020 00:00",
		"2020/01/02", "2020.01.02", "01 02 2020", "0x/02/2020",
		" 01/02/2020", "01/02/2020 ", "\t01/02/2020\r\n",
		"01/02/2020 00:00:00 00:00", "01/02/2020 00:00 00:00",
		"01/02/202000:00", "1/2/2020\v", "\f1/2/2020",
		"0/0/0000", "00/00/0000", "99/99/9999", "9/9/9999",
		"", " ", "1", "12/05", "12/05/", "-", "--/--/----",
		"2019-05-12 00:00:00", "2019-05-12 00:00",
	};
	static const char *const bases[] = {
		"12/05/2019 00:00:00", "2019-05-12", "1-5-2019 00:00",
	};
	char cell[64];

	for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
		CHECK(date_agrees(cells[i], strlen(cells[i])));
	/* A NUL inside, and only len bytes read. */
	CHECK(date_agrees("01/02/2020\0", 11));
	CHECK(date_agrees("01/02\0/2020", 11));
	CHECK(date_agrees("01/02/2020", 9));
	/* Every byte at every position. */
	for (size_t k = 0; k < sizeof bases / sizeof *bases; k++) {
		size_t n = strlen(bases[k]);

		for (size_t pos = 0; pos < n; pos++)
			for (unsigned c = 0; c < 256; c++) {
				memcpy(cell, bases[k], n);
				cell[pos] = (char)c;
				CHECK(date_agrees(cell, n));
			}
	}
}

/* ---------------------------------------------------------------- e-mail */

static void emails_bytes(void)
{
	static const char *const bases[] = {
		"Ab.c+d_e@Sub-x.Example.BE",
		"x@y.be",
		"jan.peeters@telenet.be",
		/* the AVX2 path's lengths (16..32): both ends and between */
		"a_b.C-@Xy-z.Be.c",
		"B_e-9.Ad@Sub-X.Example.a1b.BE.x",
		"a_b-c.D9@x-Y.Example-1.Be",
		"1234567890.abcdefgh@ij-kl.mn.opq",
		"1234567890.abcdefgh@ij-kl.mn.opqr",
		"a.b@c.d-e.fg-hi",
	};
	char cell[128];

	for (size_t k = 0; k < sizeof bases / sizeof *bases; k++) {
		size_t n = strlen(bases[k]);

		for (size_t pos = 0; pos <= n; pos++)
			for (unsigned c = 0; c < 256; c++) {
				/* the byte in place of bases[k][pos] */
				memcpy(cell, bases[k], n);
				if (pos < n) {
					cell[pos] = (char)c;
					CHECK(email_agrees(cell, n, 1024));
				}
				/* and inserted before it */
				memcpy(cell, bases[k], pos);
				cell[pos] = (char)c;
				memcpy(cell + pos + 1, bases[k] + pos, n - pos);
				CHECK(email_agrees(cell, n + 1, 1024));
			}
	}
}

static void emails_odd(void)
{
	static const char *const cells[] = {
		"", " ", "@", "@@", "a@", "@a.be", "a@b", "a@b.", "a@.b.be",
		"a@b..be", "a..b@c.be", ".a@b.be", "a.@b.be", "a@-b.be",
		"a@b-.be", "a@b.-be", "a@b.be-", "a@b.c1", "a@b.c", "a@b.cd",
		"a@1.23", "a@b.CD", "A@B.CD", "<a@b.be>", "<a@b.be",
		"mailto:a@b.be", "MailTo:a@b.be", "mailto:", "<>", "a@b.be,",
		"a@b.be;c@d.be", "a b@c.be", "a@b.be c@d.be", "\"a\"@b.be",
		"a@[1.2.3.4]", "a(at)b.be", " \t a@b.be \r\n", "a@b.be\x7f",
		"a@b_c.be", "a@b.be.", "a@xn--bcher-kva.de",
		"info@kinderopvang-123.vlaanderen",
	};
	char cell[300];

	for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
		CHECK(email_agrees(cells[i], strlen(cells[i]), 1024));
	/* Output caps around the length, where the AVX2 path stores a
	 * whole vector or not. */
	for (size_t max = 14; max <= 40; max++) {
		CHECK(email_agrees("Jan.Peeters@Telenet.BE", 22, max));
		CHECK(email_agrees("1234567890.abcdefgh@ij-kl.MN.opq", 32,
				   max));
	}
	/* Local part of 63..65, a label of 62..64, 252..256 in all. */
	for (size_t local = 62; local <= 66; local++) {
		memset(cell, 'a', local);
		memcpy(cell + local, "@x.be", 5);
		CHECK(email_agrees(cell, local + 5, 1024));
	}
	for (size_t label = 61; label <= 65; label++) {
		memcpy(cell, "a@", 2);
		memset(cell + 2, 'b', label);
		memcpy(cell + 2 + label, ".be", 3);
		CHECK(email_agrees(cell, label + 5, 1024));
		/* the label last: a top-level domain that long */
		memcpy(cell, "a@b.", 4);
		memset(cell + 4, 'c', label);
		CHECK(email_agrees(cell, label + 4, 1024));
	}
	for (size_t total = 250; total <= 258; total++) {
		/* 64 "@" 63 "." 63 "." rest ".be" */
		size_t used;

		memset(cell, 'a', 64);
		cell[64] = '@';
		memset(cell + 65, 'b', 63);
		cell[128] = '.';
		memset(cell + 129, 'c', 63);
		cell[192] = '.';
		used = 193;
		memset(cell + used, 'd', total - used - 3);
		memcpy(cell + total - 3, ".be", 3);
		CHECK(email_agrees(cell, total, 1024));
		/* an output cap just below and at the length */
		CHECK(email_agrees(cell, total, total - 1));
		CHECK(email_agrees(cell, total, total));
	}
}

/* ----------------------------------------------------------------- phone */

static void phones(void)
{
	static const char *const cells[] = {
		"0470 12 34 56", "470 12 34 56", "0470 12 34", "09 123 45 67",
		"9 123 45 67", "+32 470 12 34 56", "+32 (0)470 12 34 56",
		"+32 0470 12 34 56", "0032 470 12 34 56", "0032470123456",
		"0470/12.34.56", "0470/12 34 56", "0470.12.34.56",
		"0470-12-34-56", "0470123456", "+33 1 23 45 67 89",
		"0033123456789", "+1 234", "+0 123 456 789", "00", "0", "+",
		"++32 470", "32 470 12 34 56", "+32", "+32 0", "+32 00 470",
		"0800 12 345", "0900 12 345", "+32 44 12 34 56",
		"+32 45 12 34 56", "+32 4 12 34 56", "tel:0470123456",
		"TEL:+32470123456", "gsm 0470 12 34 56", "0470 12 34 56 ext 12",
		"0470 12 34 56 / 09 123 45 67", "0470123456789012345678901",
		"+123456789012345", "+1234567890123456", "12345",
		"(0470) 12 34 56", "0470 (12) 34 56", "+32 (0) 470",
		"\t0470 12 34 56\r\n", " +32 470 12 34 56 ", "0470\t12 34 56",
		"", " ", "-", "./-",
		/* the "(0)" the AVX2 path takes, and its near misses */
		"+32 (0)13 96 90 50", "+32(0)13969050", "+3 2(0)13 96 90 50",
		"+31 (0)20 123 4567", "+32 (0)0470 12 34 56", "+32 (0)(0)470",
		"+32 ((0))470 12", "+32 (0)470 12 34 56 78 90 12",
		"+32 (1)470 12 34 56", "+32 (00)470 123", "+320 (0)470 1234",
		"+32 ()470 12 34", "+32 470 (0)12 34 56", "32 (0)470 12 34 56",
		"0032 (0)470 12 34", "+32 (0)470 12 34 5)", "+32 (0 470 12 34",
		"+32 0)470 12 34 56", "+33 (0)1 23 45 67 89", "+(0)32 470 1234",
	};
	static const char *const bases[] = {
		"+32 (0)470 12.34/56", "0470 12 34 56", "0032 470-12-34-56",
		"+32(0)13-96-90-50", "+32 (0)13 969050",
	};
	static const char *const regions[] = { NULL, "BE", "NL", "be" };
	char cell[64];

	for (size_t r = 0; r < 4; r++)
		for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
			CHECK(phone_agrees(cells[i], strlen(cells[i]),
					   regions[r]));
	/* 20..27 digits: around the collector's limit of 24. */
	for (size_t nd = 20; nd <= 27; nd++) {
		memset(cell, '4', nd);
		cell[0] = '0';
		CHECK(phone_agrees(cell, nd, "BE"));
		cell[0] = '+';
		CHECK(phone_agrees(cell, nd, "BE"));
	}
	for (size_t k = 0; k < sizeof bases / sizeof *bases; k++) {
		size_t n = strlen(bases[k]);

		for (size_t pos = 0; pos < n; pos++)
			for (unsigned c = 0; c < 256; c++) {
				memcpy(cell, bases[k], n);
				cell[pos] = (char)c;
				CHECK(phone_agrees(cell, n, "BE"));
			}
	}
}

/* ------------------------------------------------------------ text, int */

static void texts(void)
{
	static const char *const bases[] = {
		"Jan Peeters", "Sint-Agatha-Berchem", "a",
	};
	static const size_t maxes[] = { 0, 1, 5, 11, 12, 13, 19, 20 };
	char cell[64];

	for (size_t k = 0; k < sizeof bases / sizeof *bases; k++) {
		size_t n = strlen(bases[k]);

		for (size_t pos = 0; pos < n; pos++)
			for (unsigned c = 0; c < 256; c++) {
				memcpy(cell, bases[k], n);
				cell[pos] = (char)c;
				for (size_t m = 0; m < 8; m++)
					CHECK(text_agrees(cell, n, maxes[m],
							  1024));
				/* an output cap at and below the length */
				CHECK(text_agrees(cell, n, 0, n));
				CHECK(text_agrees(cell, n, 0, n - 1));
			}
	}
	CHECK(text_agrees("Jan  Peeters", 12, 0, 1024));
	CHECK(text_agrees(" Jan Peeters", 12, 0, 1024));
	CHECK(text_agrees("Jan Peeters ", 12, 0, 1024));
	CHECK(text_agrees("Jan\tPeeters", 11, 0, 1024));
	CHECK(text_agrees("", 0, 0, 1024));
}

/* norm_text skips utf8proc for text of code points below U+0300: every
 * one of them, and every pair, must be NFC by utf8proc's own tables. */
static void below_0300_is_nfc(void)
{
	uint8_t buf[8];

	for (int32_t a = 1; a < 0x300; a++) {
		utf8proc_ssize_t na = utf8proc_encode_char(a, buf);

		for (int32_t b = 0; b < 0x300; b++) {
			utf8proc_ssize_t n = na;
			utf8proc_uint8_t *nfc;
			utf8proc_ssize_t r;
			int same;

			if (b)
				n += utf8proc_encode_char(b, buf + na);
			r = utf8proc_map(buf, n, &nfc,
					 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
			same = r == n && memcmp(nfc, buf, (size_t)n) == 0;
			free(nfc);
			if (!same)
				printf("# U+%04X U+%04X\n", (unsigned)a,
				       (unsigned)b);
			CHECK(same);
		}
	}
	/* such a name comes out as it went in */
	{
		static const char name[] = "Ren\xc3\xa9" "e Gys\xc3\xa8"
					   "ls-\xc3\x96" "zt\xc3\xbc" "rk";
		struct kbuf out = KBUF_INIT(1024);
		const char *why;
		int rc = norm_text(name, sizeof name - 1, 0, &out, &why);
		int ok = rc == NORM_OK && out.len == sizeof name - 1 &&
			 memcmp(out.p, name, out.len) == 0;

		kbuf_free(&out);
		CHECK(ok);
	}
}

static void ints(void)
{
	static const char *const bases[] = { " -123 ", "100000", "+7" };
	char cell[16];

	for (size_t k = 0; k < sizeof bases / sizeof *bases; k++) {
		size_t n = strlen(bases[k]);

		for (size_t pos = 0; pos < n; pos++)
			for (unsigned c = 0; c < 256; c++) {
				memcpy(cell, bases[k], n);
				cell[pos] = (char)c;
				CHECK(int_agrees(cell, n));
			}
	}
}

/* ------------------------------------------------------------- norm_set */

static void set_replaces(void)
{
	/* Every length to every length: the value, its NUL, and the old
	 * value's tail wiped. */
	uint8_t src[100];
	struct kbuf b = KBUF_INIT(1000);

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)('A' + i % 26);
	for (size_t from = 0; from < 90; from += 3)
		for (size_t to = 0; to < 90; to++) {
			CHECK(norm_set(&b, src + 5, from) == 0);
			CHECK(b.len == from);
			CHECK(norm_set(&b, src + 1, to) == 0);
			CHECK(b.len == to && b.p[to] == '\0');
			CHECK(to == 0 || memcmp(b.p, src + 1, to) == 0);
			for (size_t k = to + 1; k < from; k++)
				CHECK(b.p[k] == 0);
		}
	kbuf_free(&b);
	/* Past the cap: the kbuf error, and empty. */
	b = (struct kbuf)KBUF_INIT(8);
	CHECK(norm_set(&b, src, 8) == 0);
	CHECK(norm_set(&b, src, 9) == KERR_LIMIT);
	CHECK(b.len == 0);
	kbuf_free(&b);
}

/* Numbers in the writings of a register, generated: a prefix, 7 to 11
 * digits (too few, right and too many for each prefix), separators
 * between them at random, and the odd wrong byte. */
static void phones_generated(void)
{
	static const char *const prefixes[] = {
		"0", "+32 ", "+32", "0032 ", "0032", "+32 (0)", "+32(0)",
		"+32 0", "00 32 ", "(0", "+31 ", "0031 ", "+", "00", "",
		"+32 (0", "+32 (0)0", "0 ", "(",
	};
	static const char seps[] = " ./-";
	static const char *const regions[] = { NULL, "BE", "NL" };
	uint32_t r = 12345;
	char cell[64];

	for (unsigned iter = 0; iter < 200000; iter++) {
		const char *pre = prefixes[iter % (sizeof prefixes /
						   sizeof *prefixes)];
		size_t n = strlen(pre), nd;

		memcpy(cell, pre, n);
		r = r * 1103515245u + 12345u;
		nd = 7 + (r >> 16) % 5;
		for (size_t i = 0; i < nd && n < 40; i++) {
			r = r * 1103515245u + 12345u;
			/* 4 and 5..9 first often: mobile or not */
			cell[n++] = (char)('0' + (i == 0 ? 3 + (r >> 16) % 7 :
						      (r >> 16) % 10));
			if ((r >> 24) % 3 == 0 && i + 1 < nd)
				cell[n++] = seps[(r >> 20) % 4];
			if (i == 1 && pre[0] == '(' && n < 40)
				cell[n++] = ')';
		}
		r = r * 1103515245u + 12345u;
		if ((r >> 16) % 16 == 0) /* a wrong byte somewhere */
			cell[(r >> 8) % n] = (char)(r >> 24);
		if ((r >> 20) % 16 == 1) /* a space at an end */
			cell[n++] = ' ';
		CHECK(phone_agrees(cell, n, regions[(iter / 19) % 3]));
	}
}

const struct unit_case suite_norm_fast[] = {
	{ "norm fast: dates, grid", dates_grid },
	{ "norm fast: dates, odd writings and every byte", dates_odd },
	{ "norm fast: e-mail, every byte", emails_bytes },
	{ "norm fast: e-mail, odd writings and lengths", emails_odd },
	{ "norm fast: phone writings, regions, every byte", phones },
	{ "norm fast: phone numbers generated", phones_generated },
	{ "norm fast: text", texts },
	{ "norm fast: text below U+0300 is NFC", below_0300_is_nfc },
	{ "norm fast: int", ints },
	{ "norm fast: norm_set", set_replaces },
	{ NULL, NULL },
};
