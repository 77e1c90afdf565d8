/*
 * norm — normalise one value of a given kind, as registers write them.
 *
 * Pure functions on a byte buffer (no protocol, no I/O): the protocol layer
 * (pfield.h) calls them per field type.  Each returns
 *   NORM_OK       the normalised value is in the output,
 *   NORM_EMPTY    the input is empty or only whitespace,
 *   NORM_INVALID  *why is set to a static, value-free reason,
 * and never reads past in[len-1].  Input need not be NUL-terminated.  Input
 * that is not valid UTF-8 is NORM_INVALID.  Reasons never quote the value:
 * they end up in logs about personal data.
 */
#ifndef KLUIS_NORM_H
#define KLUIS_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kbuf.h"

enum norm_result {
	NORM_OK = 0,
	NORM_EMPTY,
	NORM_INVALID,
};

#define NORM_DATE_LEN 10   /* YYYY-MM-DD */
#define NORM_PHONE_MAX 16  /* "+" and at most 15 digits (E.164) */

/*
 * Text: NFC, leading/trailing white space trimmed, inner runs of white
 * space (incl. tabs, newlines, NBSP) collapsed to one space; control
 * characters are invalid; at most max_chars code points (0: no limit).
 * The result replaces out's contents.
 */
int norm_text(const char *in, size_t len, size_t max_chars, struct kbuf *out,
	      const char **why);

/*
 * Date to YYYY-MM-DD.  Accepted: YYYY-MM-DD, DD/MM/YYYY, D/M/YYYY,
 * DD-MM-YYYY, D-M-YYYY, DD.MM.YYYY, D.M.YYYY (day first, as Belgian
 * registers write them), optionally followed by a midnight time
 * " 00:00" or " 00:00:00" that spreadsheets add.  Years 1800..2200.
 * Impossible dates (31/02, 29/02 of a common year, day or month 0) are
 * invalid.  out holds NORM_DATE_LEN + 1 bytes.
 */
int norm_date(const char *in, size_t len, char out[NORM_DATE_LEN + 1],
	      const char **why);

/*
 * Telephone number to E.164 ("+32470123456").  Separators (space, '.',
 * '/', '-', parentheses, NBSP) are ignored; "+" or "00" introduces an
 * international number; "(0)" after the country code is dropped; a
 * national number (leading 0) is read in `region` (only "BE" is known).
 * Belgian numbers: after +32, 8 digits (landlines, 0800/0900 numbers) or
 * 9 digits starting with 4 (mobiles, 45x–49x); other countries: 7..15
 * digits in all.  Letters, extensions, two numbers in one cell are invalid.
 * out holds NORM_PHONE_MAX + 1 bytes.
 */
int norm_phone(const char *in, size_t len, const char *region,
	       char out[NORM_PHONE_MAX + 1], const char **why);

/*
 * norm_phone with the result replacing out's contents, as norm_text's
 * does (a full or failing out: NORM_INVALID, "too long" or "out of
 * memory", out empty).  For pfield.c, which keeps values in kbufs: the
 * usual writings go from the cell into out's memory at once.
 */
int norm_phone_buf(const char *in, size_t len, const char *region,
		   struct kbuf *out, const char **why);

/*
 * E-mail address: trimmed, a surrounding "<…>" or leading "mailto:"
 * removed, the domain lower-cased, the local part kept as written.
 * Syntax: dot-atom local part (RFC 5322 atext, no leading, trailing or
 * double dots, at most 64 octets), "@", a domain of at least two labels
 * (letters, digits, hyphens, not at a label's ends, each at most 63
 * octets) whose last label is letters only; at most 254 octets in all;
 * ASCII only.  Two addresses in one cell are invalid.
 */
int norm_email(const char *in, size_t len, struct kbuf *out, const char **why);

/*
 * Whole number, optional sign, digits only after trimming (no thousands
 * separators, no decimals); checked against [min, max] when has_min /
 * has_max.
 */
int norm_int(const char *in, size_t len, bool has_min, long long min,
	     bool has_max, long long max, long long *value, const char **why);

/*
 * The key under which enum values, booleans and column headers are
 * matched: NFKC, case-folded, accents (combining marks) removed, and every
 * character that is not a letter or digit dropped.  "Buitenschoolse-Opvang",
 * "buitenschoolse opvang" and "BUITENSCHOOLSE_OPVANG" share one key
 * ("buitenschoolseopvang"); so do NFC and NFD spellings, and "Trap 2A" and
 * "trap2a".  A value with no letter or digit has an empty key (NORM_EMPTY).
 */
int norm_match_key(const char *in, size_t len, struct kbuf *out,
		   const char **why);

/*
 * Setting a normalised value, for norm.c, pfield.c and pcache.c, which set
 * one short value per cell: without the calls of kbuf_reset and
 * kbuf_append when the value fits the allocation, as it does for every
 * cell of a column after the first.
 */

#define NORM_SHORT_MAX 64

static inline void norm_copy8(uint8_t *d, const uint8_t *s)
{
	uint64_t x;
	memcpy(&x, s, 8);
	memcpy(d, &x, 8);
}

/* Copy n <= NORM_SHORT_MAX bytes from s to d (apart) inline, without a
 * memcpy call: overlapping 8- or 4-byte moves, touching only d[0..n)
 * and s[0..n). */
static inline __attribute__((always_inline)) void
norm_copy_short(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n >= 8) {
		/* The first and the last 8, 16 or 32 bytes, overlapping. */
		if (n > 16) {
			if (n > 32) {
				norm_copy8(d + 16, s + 16);
				norm_copy8(d + 24, s + 24);
				norm_copy8(d + n - 32, s + n - 32);
				norm_copy8(d + n - 24, s + n - 24);
			}
			norm_copy8(d + 8, s + 8);
			norm_copy8(d + n - 16, s + n - 16);
		}
		norm_copy8(d, s);
		norm_copy8(d + n - 8, s + n - 8);
	} else if (n >= 4) {
		uint32_t x, y;
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* Wipe out->p[n..len) (n < len) and make n the length, as kbuf_truncate
 * does.  A short tail by one 32-byte store, where the allocation has
 * room for it, instead of the call chain of sodium_memzero: the bytes
 * past the old value that it zeroes too are unused.  (The buffer stays
 * in use, so the store is not dropped as dead.) */
static inline void norm_wipe_tail(struct kbuf *out, size_t n)
{
	if (out->len - n <= 32 && n + 32 <= out->cap)
		memset(out->p + n, 0, 32);
	else
		kbuf_truncate(out, n);
	out->len = n;
}

/*
 * Replace out's contents by p[0..n) (p not inside out): what kbuf_reset
 * and kbuf_append do, but without their calls when the value fits the
 * allocation, as it does for every cell of a column after the first.  The
 * old value is overwritten and only the part of it beyond n wiped.  0, or
 * the kerr code of kbuf_append's failure (KERR_LIMIT, KERR_NOMEM), out
 * then being empty.  For the normalisers and the cache, which set one
 * short value per cell.
 */
int norm_set_slow(struct kbuf *out, const void *p, size_t n);

static inline int norm_set(struct kbuf *out, const void *p, size_t n)
{
	uint8_t *d = out->p;
	const uint8_t *s = (const uint8_t *)p;

	if (!d || n > out->cap || n > out->max)
		return norm_set_slow(out, p, n);
	if (out->len > n)
		norm_wipe_tail(out, n);
	if (n <= NORM_SHORT_MAX)
		norm_copy_short(d, s, n); /* values are short */
	else
		memcpy(d, s, n);
	d[n] = '\0';
	out->len = n;
	return 0;
}

/* kbuf_reset without the call when out is empty already (its NUL is in
 * place): most cells of a column leave it so. */
static inline void norm_clear(struct kbuf *out)
{
	if (out->len)
		kbuf_reset(out);
}

/*
 * The ten-byte writings of a date, for norm_date and for pfield.c, which
 * has it inline in its date field's normaliser (dates are most of the
 * cells a register's rows are judged by): not for other use.
 */

#define NORM_DATE_YEAR_MIN 1800
#define NORM_DATE_YEAR_MAX 2200

static inline unsigned norm_days_in(unsigned y, unsigned m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Eight bytes with p[i] in bits 8i..8i+7, whatever the host's order. */
static inline uint64_t norm_load64_le(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline void norm_store64_le(uint8_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	memcpy(p, &w, 8);
}

/*
 * DD/MM/YYYY (one of "/-." twice) or YYYY-MM-DD at q[0..10), a valid
 * date of years 1800..2200: NORM_OK with YYYY-MM-DD and a NUL in
 * out[0..10], as norm_date reads it.  Anything else: -1, out untouched,
 * and norm_date's other paths read it (which read these shapes alike,
 * so they refuse what this refuses).
 *
 * Two overlapping words, lo = q[0..8) and hi = q[2..10), a bit each per
 * byte.  The digits are checked together: a byte of t = w ^ '0'... is
 * q[i] - '0', a digit when it is below 10, that is, when neither it nor
 * it plus 6 has a bit in 0xf0.  The separators and the digits of the
 * other shape are off the mask; a byte that carries into its neighbour
 * is itself refused (or is a separator the shape check refuses), so the
 * check is never too lenient.  With the separators masked off, byte i
 * of 10 * t + (t >> 8) is the two-digit number at q[i] (at most 99: no
 * byte carries into the next).  The output is built in a word.
 */
#define NORM_PAIRS_(t) ((t) * 10 + ((t) >> 8))
static inline __attribute__((always_inline)) int
norm_date10(const uint8_t *q, char out[NORM_DATE_LEN + 1])
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t lo = norm_load64_le(q), hi = norm_load64_le(q + 2);
	const uint64_t tl = lo ^ ones * '0', th = hi ^ ones * '0';
	const uint64_t bl = (tl | (tl + ones * 6)) & ones * 0xf0;
	const uint64_t bh = (th | (th + ones * 6)) & ones * 0xf0;
	uint64_t pl, ph, w, w8;
	unsigned y, m, d;

	if ((lo & 0xff0000ff00000000u) == 0x2d00002d00000000u) {
		/* YYYY-MM-DD: digits at 0-3, 5, 6 of lo, 8, 9 (6, 7 of
		 * hi) */
		if ((bl & 0x00ffff00ffffffffu) || (bh & 0xffff000000000000u))
			return -1;
		pl = NORM_PAIRS_(tl & 0x00ffff00ffffffffu);
		ph = NORM_PAIRS_(th & 0xffff000000000000u);
		y = (unsigned)(pl & 0xff) * 100 + (unsigned)(pl >> 16 & 0xff);
		m = (unsigned)(pl >> 40 & 0xff);
		d = (unsigned)(ph >> 48 & 0xff);
		w = lo;
		w8 = hi >> 48;
	} else {
		/* DD/MM/YYYY: digits at 0, 1, 3, 4 of lo, 6-9 (4-7 of hi);
		 * the separators at 2 and 5 alike, one of "-./" */
		const unsigned sep = (unsigned)(lo >> 16 & 0xff);

		if (sep - '-' > 2 || (unsigned)(lo >> 40 & 0xff) != sep ||
		    (bl & 0x000000ffff00ffffu) || (bh & 0xffffffff00000000u))
			return -1;
		pl = NORM_PAIRS_(tl & 0x000000ffff00ffffu);
		ph = NORM_PAIRS_(th & 0xffffffff00000000u);
		d = (unsigned)(pl & 0xff);
		m = (unsigned)(pl >> 24 & 0xff);
		y = (unsigned)(ph >> 32 & 0xff) * 100 +
		    (unsigned)(ph >> 48 & 0xff);
		/* YYYY from hi's bytes 4-7, MM from its bytes 1-2, the
		 * dashes; DD from lo */
		w = (hi >> 32) | (hi & 0xffff00u) << 32 | 0x2d00002d00000000u;
		w8 = lo & 0xffff;
	}
	if (y - NORM_DATE_YEAR_MIN > NORM_DATE_YEAR_MAX - NORM_DATE_YEAR_MIN ||
	    m - 1 > 11 || d - 1 >= norm_days_in(y, m))
		return -1;
	norm_store64_le((uint8_t *)out, w);
	out[8] = (char)(w8 & 0xff);
	out[9] = (char)(w8 >> 8);
	out[10] = '\0';
	return NORM_OK;
}
#undef NORM_PAIRS_

#endif
