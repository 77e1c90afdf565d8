/*
 * norm — value normalisers for register cells (text, date, phone, e-mail,
 * int, match keys).
 *
 * Invariants every function keeps:
 *   - only in[0..len) is read; the input need not be NUL-terminated;
 *   - input that is not valid UTF-8 is NORM_INVALID, whatever the kind;
 *   - the output is replaced: after NORM_EMPTY or NORM_INVALID it is
 *     empty ("" for the fixed arrays); an old value in a kbuf is
 *     overwritten or wiped, never left behind (norm_set, norm_clear);
 *   - a fast path for the common writings (ASCII, usual shapes) only
 *     accepts what the general path accepts the same way and leaves all
 *     else to it, so results and reasons are the general path's
 *     (tests/unit/test_norm_fast.c, fuzz/fuzz_norm.c compare them);
 *     on x86-64 with AVX2 the e-mail and phone fast paths read the cell
 *     as lane masks (NORM_PORTABLE builds without them), and they in turn
 *     accept only what the word-at-a-time paths accept;
 *   - *why is NULL unless the result is NORM_INVALID, and then a static
 *     string that never quotes the value (it ends up in logs);
 *   - every NORM_OK output is a fixed point: normalising it again gives
 *     it back unchanged (fuzz/fuzz_norm.c checks this);
 *   - temporary copies made by utf8proc (malloc'd) may hold personal
 *     values, so they are wiped before they are freed.
 * `why` may be NULL for callers that only want the result.
 */
#include "norm.h"

#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* NORM_PORTABLE (tests of the fallback) keeps to the word-at-a-time
 * paths; elsewhere on x86-64 the AVX2 paths are taken when the CPU has
 * it (norm_avx2). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(NORM_PORTABLE)
#include <immintrin.h>
#define NORM_AVX2 1
#endif

#include "banned.h"

/* Longest digit string norm_phone collects before giving up: more than any
 * E.164 number plus prefixes, so "too many digits" is reported as such. */
#define PHONE_DIGITS_MAX 24

/* Longest input norm_text and norm_match_key hand to utf8proc, far above
 * any cell (text fields hold at most 10000 code points), so its size
 * arithmetic stays far from overflow. */
#define NORM_IN_MAX ((size_t)1 << 24)

/* Text of code points below this is NFC: they all have NFC_Quick_Check
 * Yes and canonical combining class 0 (the combining diacritical marks
 * start at U+0300), so no decomposition, reordering or composition
 * changes such a text.  tests/unit/test_norm_fast.c checks it against
 * utf8proc. */
#define NFC_YES_BELOW 0x300

#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define EMAIL_LABEL_MAX 63

#define DATE_YEAR_MIN NORM_DATE_YEAR_MIN
#define DATE_YEAR_MAX NORM_DATE_YEAR_MAX

/* Match keys converge after one extra pass in practice (see match_key_map);
 * the bound only guards against a Unicode table that never settles. */
#define KEY_PASSES 4

/* For the general paths behind a fast path: kept out of line, so that the
 * fast path's function stays small (fewer registers to save, no stack
 * protector for the general path's locals) on every call. */
#define NOINLINE __attribute__((noinline))

static int invalid(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return NORM_INVALID;
}

static void no_reason(const char **why)
{
	if (why)
		*why = NULL;
}

/* One code point at p[0..n), n > 0; its length, or -1 if not UTF-8.
 * utf8proc_iterate rejects overlong forms, surrogates and > U+10FFFF. */
static int next_cp(const uint8_t *p, size_t n, int32_t *cp)
{
	utf8proc_ssize_t r;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (n > 4)
		n = 4;
	r = utf8proc_iterate(p, (utf8proc_ssize_t)n, cp);
	return r > 0 ? (int)r : -1;
}

#define HIGH_BITS 0x8080808080808080u

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* Cells are mostly ASCII: runs of it are skipped 8 bytes at a time, and
 * only the other bytes go through utf8proc_iterate. */
static bool valid_utf8(const uint8_t *p, size_t n)
{
	int32_t cp;

	for (size_t i = 0; i < n;) {
		int k;

		while (i + 8 <= n && !(load64(p + i) & HIGH_BITS))
			i += 8;
		if (i == n)
			break;
		k = next_cp(p + i, n - i, &cp);
		if (k < 0)
			return false;
		i += (size_t)k;
	}
	return true;
}

static bool is_ascii(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		if (load64(p + i) & HIGH_BITS)
			return false;
	for (; i < n; i++)
		if (p[i] >= 0x80)
			return false;
	return true;
}

/* Classes of ASCII bytes, for the loops that look at every byte of a cell;
 * bytes >= 0x80 are in none. */
enum {
	C_SPACE = 1,  /* white space: TAB..CR and ' ' */
	C_DIGIT = 2,
	C_ALPHA = 4,  /* A-Z a-z */
	C_ATEXT = 8,  /* RFC 5322 atext */
	C_LDH = 16,   /* letters, digits, hyphen: domain labels */
	C_PSEP = 32,  /* what separates digits in a phone number: " ./-" */
};

#define _ 0
#define W C_SPACE
#define V (C_SPACE | C_PSEP)
#define N (C_DIGIT | C_ATEXT | C_LDH)
#define L (C_ALPHA | C_ATEXT | C_LDH)
#define H (C_ATEXT | C_LDH | C_PSEP)
#define A C_ATEXT
#define P C_PSEP
#define Q (C_ATEXT | C_PSEP)
static const uint8_t cclass[256] = {
	_, _, _, _, _, _, _, _, _, W, W, W, W, W, _, _,  /* 0x00 */
	_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,  /* 0x10 */
	V, A, _, A, A, A, A, A, _, _, A, A, _, H, P, Q,  /* 0x20 */
	N, N, N, N, N, N, N, N, N, N, _, _, _, A, _, A,  /* 0x30 */
	_, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  /* 0x40 */
	L, L, L, L, L, L, L, L, L, L, L, _, _, _, A, A,  /* 0x50 */
	A, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,  /* 0x60 */
	L, L, L, L, L, L, L, L, L, L, L, A, A, A, A, _,  /* 0x70 */
};
#undef _
#undef W
#undef V
#undef N
#undef L
#undef H
#undef A
#undef P
#undef Q

static inline bool ascii_space(uint8_t c)
{
	return c <= ' ' && (cclass[c] & C_SPACE);
}

static inline uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* [*s, *e) narrowed by the ASCII white space at both ends. */
static inline void trim_ascii(const uint8_t *p, size_t *s, size_t *e)
{
	while (*s < *e && ascii_space(p[*s]))
		(*s)++;
	while (*e > *s && ascii_space(p[*e - 1]))
		(*e)--;
}

/* Unicode White_Space: the ASCII controls TAB..CR, NEL, and the space,
 * line and paragraph separator categories (NBSP, U+202F, U+3000 ...). */
static bool is_space(int32_t c)
{
	utf8proc_category_t cat;

	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85)
		return true;
	if (c < 0x80)
		return false;
	cat = utf8proc_category(c);
	return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
	       cat == UTF8PROC_CATEGORY_ZP;
}

static bool is_control(int32_t c)
{
	if (c < 0x80)
		return (c < 0x20 || c == 0x7f) && !is_space(c);
	return utf8proc_category(c) == UTF8PROC_CATEGORY_CC && !is_space(c);
}

static bool is_letter(int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return true;
	default:
		return false;
	}
}

static bool is_letter_or_digit(int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return is_letter(c);
	}
}

/*
 * Validate p[0..n) as UTF-8 and narrow [*s, *e) to it without leading and
 * trailing white space.  False if not UTF-8.
 */
static bool trim(const uint8_t *p, size_t n, size_t *s, size_t *e)
{
	size_t a = 0, b = n;
	int32_t cp;

	if (!valid_utf8(p, n))
		return false;
	while (a < b) {
		int k = next_cp(p + a, b - a, &cp);
		if (!is_space(cp))
			break;
		a += (size_t)k;
	}
	while (b > a) {
		/* Step back to the start of the last code point; the text
		 * is valid, so at most three continuation bytes. */
		size_t c = b - 1;
		while (c > a && (p[c] & 0xc0) == 0x80)
			c--;
		next_cp(p + c, b - c, &cp);
		if (!is_space(cp))
			break;
		b = c;
	}
	*s = a;
	*e = b;
	return true;
}

/* Every normaliser starts here: no reason yet, the value trimmed; invalid
 * UTF-8 and empty values end the call.  ASCII, nearly every cell, is valid
 * and has no other white space than its own. */
static int trimmed(const uint8_t *p, size_t n, size_t *s, size_t *e,
		   const char **why)
{
	no_reason(why);
	if (is_ascii(p, n)) {
		*s = 0;
		*e = n;
		trim_ascii(p, s, e);
	} else if (!trim(p, n, s, e)) {
		return invalid(why, "not valid UTF-8");
	}
	return *s == *e ? NORM_EMPTY : NORM_OK;
}

/* Wipe a small local array before it goes out of scope: memset, then an
 * empty asm that the compiler must assume reads it, so the stores are not
 * dropped as dead.  What sodium_memzero does, without its calls, for the
 * few bytes a fast path leaves. */
static inline void wipe_local(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static void wipe_free(utf8proc_uint8_t *p, utf8proc_ssize_t n)
{
	if (!p)
		return;
	sodium_memzero(p, (size_t)n);
	free(p);
}

static bool ascii_ieq(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++) {
		uint8_t c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)lit[i])
			return false;
	}
	return true;
}

int norm_set_slow(struct kbuf *out, const void *p, size_t n)
{
	struct kerr e;

	kbuf_reset(out);
	return kbuf_append(out, p, n, &e);
}

#ifdef NORM_AVX2
static inline bool norm_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

/* q[0..n), 16 <= n <= 32, in the lanes 0..n-1 of a vector and zeros
 * above, reading only q[0..n): the first 16 bytes, and the last 16
 * moved down onto lanes 16..n-1 by a shuffle whose control starts
 * 32 - n bytes into "down". */
__attribute__((target("avx2"))) static inline __m256i
load_16_32(const uint8_t *q, size_t n)
{
	static const uint8_t down[32] = {
		0,    1,    2,    3,    4,    5,    6,    7,
		8,    9,    10,   11,   12,   13,   14,   15,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	};
	__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)q);
	__m128i hi = _mm_loadu_si128(
		(const __m128i *)(const void *)(q + n - 16));
	__m128i ctl = _mm_loadu_si128(
		(const __m128i *)(const void *)(down + 32 - n));

	return _mm256_inserti128_si256(_mm256_castsi128_si256(lo),
				       _mm_shuffle_epi8(hi, ctl), 1);
}

/* Constant vectors for the AVX2 paths, loaded from memory: gcc would
 * build each _mm256_set1_epi8 with three instructions on every call. */
#define X4(c) c, c, c, c
#define X32(c) X4(c), X4(c), X4(c), X4(c), X4(c), X4(c), X4(c), X4(c)
enum { K_20, K_A_LO, K_A_UP, K_0, K_25, K_9, K_DOT, K_AT, K_HYP, K_UND,
       K_IOTA, K_PSEP, K_OPEN, K_CLOSE, K_N };
static const uint8_t kvec[K_N][32] __attribute__((aligned(32))) = {
	[K_20] = { X32(0x20) },
	[K_A_LO] = { X32('a') },
	[K_A_UP] = { X32('A') },
	[K_0] = { X32('0') },
	[K_25] = { X32(25) },
	[K_9] = { X32(9) },
	[K_DOT] = { X32('.') },
	[K_AT] = { X32('@') },
	[K_HYP] = { X32('-') },
	[K_UND] = { X32('_') },
	[K_IOTA] = { 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
		     11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
		     22, 23, 24, 25, 26, 27, 28, 29, 30, 31 },
	/* ' ', '-', '.', '/' at their low nibbles (all different), 0xff
	 * elsewhere: a lane equals its shuffle through this iff it is one
	 * of them (0x00 finds ' ', bytes of 0x80 and above find 0) */
	[K_PSEP] = { ' ',  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0xff, 0xff, 0xff, 0xff, '-',  '.',  '/',
		     ' ',  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0xff, 0xff, 0xff, 0xff, '-',  '.',  '/' },
	[K_OPEN] = { X32('(') },
	[K_CLOSE] = { X32(')') },
};
#undef X4
#undef X32

#define KV(k) _mm256_load_si256((const __m256i *)(const void *)(kv + 32 * (k)))

/* kvec's address hidden from the compiler: it would see the constants
 * in it and build them again, which is what the table is to avoid. */
#define KV_BASE()                                \
	const uint8_t *kv = &kvec[0][0];         \
	__asm__("" : "+r"(kv))

/* 0xff in each lane of x that is in lo..lo+span (unsigned). */
#define LANES_IN(x, lo, span)                                      \
	__extension__({                                            \
		__m256i t_ = _mm256_sub_epi8((x), KV(lo));         \
		_mm256_cmpeq_epi8(_mm256_min_epu8(t_, KV(span)), t_); \
	})

#define LANE_BITS(v) ((uint64_t)(uint32_t)_mm256_movemask_epi8(v))
#endif

/* ------------------------------------------------------------------ text */

/*
 * Printable ASCII (U+0020..U+007E) that neither starts nor ends with a
 * space nor holds two in a row: norm_text's output for it is the input.
 */
static bool clean_ascii(const uint8_t *p, size_t n)
{
	bool space = true; /* as if a space came before: none may lead */

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c < 0x20 || c > 0x7e)
			return false;
		if (c == ' ') {
			if (space)
				return false;
			space = true;
		} else {
			space = false;
		}
	}
	return n > 0 && !space;
}

/* norm_text for what clean_ascii does not take. */
static NOINLINE int text_general(const uint8_t *p, size_t len,
				 size_t max_chars, struct kbuf *out,
				 const char **why)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t nlen;
	const uint8_t *q;
	size_t chars = 0, i, run = SIZE_MAX;
	bool any = false;
	struct kerr e;
	int32_t cp, top = 0;
	int rc = NORM_OK;

	norm_clear(out);
	if (len > NORM_IN_MAX)
		return invalid(why, "too long");
	/* Check before NFC: composition neither creates nor removes control
	 * characters or white space, and this avoids the copy for blanks. */
	for (i = 0; i < len;) {
		int k = next_cp(p + i, len - i, &cp);
		if (k < 0)
			return invalid(why, "not valid UTF-8");
		if (is_control(cp))
			return invalid(why, "contains a control character");
		if (!is_space(cp))
			any = true;
		if (cp > top)
			top = cp;
		i += (size_t)k;
	}
	if (!any)
		return NORM_EMPTY;

	if (top < NFC_YES_BELOW) {
		/* ASCII and Latin letters with their accents precomposed,
		 * as registers write names: already NFC. */
		q = p;
		nlen = (utf8proc_ssize_t)len;
	} else {
		nlen = utf8proc_map(p, (utf8proc_ssize_t)len, &nfc,
				    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (nlen < 0)
			return invalid(why, nlen == UTF8PROC_ERROR_NOMEM ?
						    "out of memory" :
						    "not valid UTF-8");
		q = nfc;
	}
	/*
	 * Collapse white space, appending each run of other characters at
	 * once.  Replacing a white space run by one U+0020 keeps the text
	 * NFC: both are starters that compose with nothing, so no new
	 * composition or reordering becomes possible.
	 */
	for (i = 0; i <= (size_t)nlen;) {
		int k = 1;

		cp = ' '; /* the end closes the last run */
		if (i < (size_t)nlen && (k = next_cp(q + i, (size_t)nlen - i,
						      &cp)) < 0) {
			rc = invalid(why, "not valid UTF-8");
			goto out;
		}
		if (!is_space(cp)) {
			if (run == SIZE_MAX) {
				run = i;
				chars += out->len > 0; /* the space before */
			}
			if (max_chars && ++chars > max_chars) {
				rc = invalid(why, "longer than allowed");
				goto out;
			}
		} else if (run != SIZE_MAX) {
			if ((out->len > 0 && kbuf_putc(out, ' ', &e) != 0) ||
			    kbuf_append(out, q + run, i - run, &e) != 0) {
				rc = invalid(why, e.code == KERR_LIMIT ?
							  "too long" :
							  "out of memory");
				goto out;
			}
			run = SIZE_MAX;
		}
		i += (size_t)k;
	}
out:
	wipe_free(nfc, nlen);
	if (rc != NORM_OK)
		kbuf_reset(out);
	return rc;
}

int norm_text(const char *in, size_t len, size_t max_chars, struct kbuf *out,
	      const char **why)
{
	const uint8_t *p = (const uint8_t *)in;

	no_reason(why);
	if ((!max_chars || len <= max_chars) && len <= out->max &&
	    len <= NORM_IN_MAX && clean_ascii(p, len)) {
		/* Already what text_general would make of it: ASCII is NFC,
		 * there is no white space to trim or collapse, and every
		 * byte is one code point.  (Too long a value takes the long
		 * way, which knows which limit it hits first.) */
		if (norm_set(out, p, len) != 0) {
			kbuf_reset(out);
			return invalid(why, "out of memory");
		}
		return NORM_OK;
	}
	return text_general(p, len, max_chars, out, why);
}

/* ------------------------------------------------------------------ date */

/* The digits at p[*i..e) as *v; their count: 0 if none, 5 if more than 4
 * (no field of a date is longer, and *v cannot overflow). */
static size_t read_num(const uint8_t *p, size_t *i, size_t e, unsigned *v)
{
	size_t n = 0;

	*v = 0;
	while (*i < e && p[*i] >= '0' && p[*i] <= '9') {
		if (n == 4)
			return 5; /* too many: no field is longer than 4 */
		*v = *v * 10 + (unsigned)(p[*i] - '0');
		n++;
		(*i)++;
	}
	return n;
}

/* A time after the date: white space, then H:MM or H:MM:SS (H one or two
 * digits); only midnight is accepted, since a date field has no time. */
static int date_time(const uint8_t *p, size_t i, size_t e, const char **why)
{
	size_t n, start = i;
	unsigned v, sum = 0;
	int32_t cp;

	while (i < e) {
		int k = next_cp(p + i, e - i, &cp);
		if (!is_space(cp))
			break;
		i += (size_t)k;
	}
	if (i == start)
		return invalid(why, "not a date");
	n = read_num(p, &i, e, &v);
	if (n < 1 || n > 2)
		return invalid(why, "not a date");
	sum += v;
	for (int part = 0; part < 2; part++) {
		if (i == e && part == 1)
			break;
		if (i == e || p[i] != ':')
			return invalid(why, "not a date");
		i++;
		if (read_num(p, &i, e, &v) != 2)
			return invalid(why, "not a date");
		sum += v;
	}
	if (i != e)
		return invalid(why, "not a date");
	if (sum != 0)
		return invalid(why, "has a time of day other than midnight");
	return NORM_OK;
}

/* The digit at q[0], or >= 10 if it is none. */
static inline unsigned digit(uint8_t c)
{
	return (unsigned)c - '0';
}

/* D or DD at q[*i..n) as *v, *i moved past it: false if neither.  Some
 * byte must follow the first digit (a separator, or the second digit). */
static inline bool day_or_month(const uint8_t *q, size_t n, size_t *i,
				unsigned *v)
{
	unsigned a, b;

	if (*i + 1 >= n || (a = digit(q[*i])) > 9)
		return false;
	(*i)++;
	if ((b = digit(q[*i])) <= 9) {
		a = a * 10 + b;
		(*i)++;
	}
	*v = a;
	return true;
}

/* YYYY at q as *y: false if not four digits. */
static inline bool year4(const uint8_t *q, unsigned *y)
{
	unsigned a = digit(q[0]), b = digit(q[1]), c = digit(q[2]),
		 d = digit(q[3]);

	if (a > 9 || b > 9 || c > 9 || d > 9)
		return false;
	*y = ((a * 10 + b) * 10 + c) * 10 + d;
	return true;
}


/*
 * norm_date for the writings of nearly every cell: YYYY-MM-DD, and
 * D/M/YYYY with one or two digits of day and month and '/', '-' or '.',
 * between ASCII white space, with a midnight " 00:00" or " 00:00:00"
 * after it, and a valid date: NORM_OK, the result in out.  An empty or
 * ASCII-blank cell: NORM_EMPTY.  Anything else: -1, and norm_date's
 * general parse handles it (and explains when invalid); the ten-byte
 * writings are read by date10.  It only
 * accepts, and every input it accepts the general parse reads the same
 * way, so the two cannot disagree.
 */
static int date_fast(const uint8_t *p, size_t len, char out[NORM_DATE_LEN + 1])
{
	/* "00" to "31", for the day and month of the output */
	static const char pairs[] = "00010203040506070809"
				    "10111213141516171819"
				    "20212223242526272829"
				    "3031";
	size_t s = 0, e = len, n, i = 0;
	const uint8_t *q;
	unsigned y, m, d;
	uint8_t sep;

	trim_ascii(p, &s, &e);
	if (s == e) {
		/* empty, or ASCII white space only */
		out[0] = '\0';
		return NORM_EMPTY;
	}
	q = p + s;
	n = e - s;
	if (n >= 8 + 9 && memcmp(q + n - 9, " 00:00:00", 9) == 0)
		n -= 9;
	else if (n >= 8 + 6 && memcmp(q + n - 6, " 00:00", 6) == 0)
		n -= 6;
	if (n == NORM_DATE_LEN)
		return norm_date10(q, out);
	if (n < 8 || n > NORM_DATE_LEN)
		return -1;
	/* D/M/YYYY of 8 or 9 bytes; n >= 8 keeps each q[i] read here in
	 * q[0..n) */
	if (!day_or_month(q, n, &i, &d))
		return -1;
	sep = q[i++];
	if (sep != '/' && sep != '-' && sep != '.')
		return -1;
	if (!day_or_month(q, n, &i, &m) || q[i++] != sep || n - i != 4 ||
	    !year4(q + i, &y))
		return -1;
	if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX || m < 1 || m > 12 ||
	    d < 1 || d > norm_days_in(y, m))
		return -1;
	/* The year's four digits as written, day and month as two. */
	memcpy(out, q + i, 4);
	out[4] = '-';
	memcpy(out + 5, pairs + 2 * m, 2);
	out[7] = '-';
	memcpy(out + 8, pairs + 2 * d, 2);
	out[10] = '\0';
	return NORM_OK;
}

/* norm_date for what date_fast does not take. */
static NOINLINE int date_general(const uint8_t *p, size_t len,
				 char out[NORM_DATE_LEN + 1],
				 const char **why)
{
	size_t s, e, i, n1, n2, n3;
	unsigned a, b, c, y, m, d;
	uint8_t sep1, sep2;
	int rc;

	out[0] = '\0';
	if ((rc = trimmed(p, len, &s, &e, why)) != NORM_OK)
		return rc;
	i = s;
	n1 = read_num(p, &i, e, &a);
	if (i == e || n1 == 0)
		return invalid(why, "not a date");
	sep1 = p[i++];
	n2 = read_num(p, &i, e, &b);
	if (i == e || n2 == 0)
		return invalid(why, "not a date");
	sep2 = p[i++];
	n3 = read_num(p, &i, e, &c);
	if (n3 == 0 || sep1 != sep2)
		return invalid(why, "not a date");

	if (n1 == 4 && sep1 == '-' && n2 == 2 && n3 == 2) {
		y = a;
		m = b;
		d = c;
	} else if ((sep1 == '/' || sep1 == '-' || sep1 == '.') && n1 <= 2 &&
		   n2 <= 2 && (n3 == 4 || n3 == 2)) {
		if (n3 == 2)
			return invalid(why, "two-digit year is ambiguous");
		d = a;
		m = b;
		y = c;
	} else {
		return invalid(why, "not a date");
	}
	if (i < e && (rc = date_time(p, i, e, why)) != NORM_OK)
		return rc;
	if (y < DATE_YEAR_MIN || y > DATE_YEAR_MAX)
		return invalid(why, "year outside 1800..2200");
	if (m < 1 || m > 12 || d < 1 || d > norm_days_in(y, m))
		return invalid(why, "no such day");
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return NORM_OK;
}

/* norm_date for all but a bare ten-byte date: out of line, so that the
 * common call saves no registers for it. */
static NOINLINE int date_other(const uint8_t *p, size_t len,
			       char out[NORM_DATE_LEN + 1], const char **why)
{
	int rc = date_fast(p, len, out);

	if (rc < 0)
		return date_general(p, len, out, why);
	no_reason(why);
	return rc;
}

int norm_date(const char *in, size_t len, char out[NORM_DATE_LEN + 1],
	      const char **why)
{
	const uint8_t *p = (const uint8_t *)in;

	/* Most cells are the ten bytes of the date and nothing else. */
	if (len == NORM_DATE_LEN && norm_date10(p, out) == NORM_OK) {
		no_reason(why);
		return NORM_OK;
	}
	return date_other(p, len, out, why);
}

/* ----------------------------------------------------------------- phone */

/* A Belgian national significant number (after +32 or the trunk 0),
 * written to out as E.164 if valid. */
static inline __attribute__((always_inline)) int
belgian(const char *nsn, size_t n, char out[NORM_PHONE_MAX + 1],
	const char **why)
{
	if (n == 0)
		return invalid(why, "too few digits");
	if (nsn[0] == '0')
		return invalid(why, "more than one trunk prefix 0");
	if (n < 8)
		return invalid(why, "too few digits for a Belgian number");
	if (n > 9)
		return invalid(why, "too many digits for a Belgian number");
	/* 45x..49x are the mobile ranges: 9 digits there, 8 elsewhere
	 * (zone 4 is also Liège's 8-digit landline zone, 40x..44x). */
	if (nsn[0] == '4' && nsn[1] >= '5') {
		if (n == 8)
			return invalid(why, "too few digits for a Belgian "
					    "mobile number");
	} else if (n == 9) {
		return invalid(why, "too many digits for a Belgian landline");
	}
	memcpy(out, "+32", 3);
	memcpy(out + 3, nsn, 8);
	if (n == 9)
		out[11] = nsn[8];
	out[3 + n] = '\0';
	return NORM_OK;
}

static bool region_be(const char *region)
{
	return !region || ((region[0] == 'B' || region[0] == 'b') &&
			   (region[1] == 'E' || region[1] == 'e') &&
			   region[2] == '\0');
}

/* The number that the nd > 0 digits d of a cell make (plus: written with
 * a '+'; dropped0: a "(0)" was dropped), in out as E.164 if valid. */
static inline __attribute__((always_inline)) int
phone_number(const char *d, size_t nd, bool plus, bool dropped0,
	     const char *region, char out[NORM_PHONE_MAX + 1],
	     const char **why)
{
	const char *num;
	size_t nnum;

	if (!plus && d[0] == '0' && (nd < 2 || d[1] != '0')) {
		/* National number: the trunk 0, then the NSN. */
		if (!region_be(region))
			return invalid(why, "national number in an unknown "
					    "region");
		return belgian(d + 1, nd - 1, out, why);
	}
	if (!plus && d[0] != '0')
		return invalid(why, "neither international (+, 00) nor "
				    "national (0)");
	/* International: "+" or "00", the country code, the number. */
	num = plus ? d : d + 2;
	nnum = plus ? nd : nd - 2;
	if (nnum == 0)
		return invalid(why, "no digits after the international prefix");
	if (num[0] == '0')
		return invalid(why, "country code starts with 0");
	/* E.164 country codes are prefix-free: "32..." is Belgium. */
	if (nnum >= 2 && num[0] == '3' && num[1] == '2') {
		num += 2;
		nnum -= 2;
		if (nnum > 0 && num[0] == '0' && !dropped0) {
			num++; /* "+32 0470 ...": the trunk 0 written anyway */
			nnum--;
		}
		return belgian(num, nnum, out, why);
	}
	if (nnum < 7)
		return invalid(why, "too few digits");
	if (nnum > 15)
		return invalid(why, "too many digits");
	out[0] = '+';
	memcpy(out + 1, num, nnum);
	out[1 + nnum] = '\0';
	return NORM_OK;
}

/* norm_phone with the digits collected in d[PHONE_DIGITS_MAX]. */
static NOINLINE int phone(const char *in, size_t len, const char *region,
			  char *d, char out[NORM_PHONE_MAX + 1],
			  const char **why)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t s, e, i, nd = 0, paren_at = 0;
	bool plus = false, in_paren = false, dropped0 = false;
	int32_t cp;
	int rc;

	out[0] = '\0';
	if ((rc = trimmed(p, len, &s, &e, why)) != NORM_OK)
		return rc;
	/* The tel: URI form (RFC 3966), as mail signatures link numbers;
	 * other labels ("Tel.", "gsm") are text and refused below. */
	if (ascii_ieq(p + s, e - s, "tel:"))
		s += 4;

	for (i = s; i < e;) {
		if (p[i] < 0x80) {
			cp = p[i++]; /* nearly always: no utf8proc call */
		} else {
			int k = next_cp(p + i, e - i, &cp);
			i += (size_t)k; /* k > 0: trimmed checked the UTF-8 */
		}
		if (cp >= '0' && cp <= '9') {
			if (nd == PHONE_DIGITS_MAX)
				return invalid(why, "too many digits");
			d[nd++] = (char)cp;
		} else if (cp == ' ' || cp == '.' || cp == '/' || cp == '-') {
			/* separator */
		} else if (cp == '+') {
			/* Only first, though "(+32)" is a common writing. */
			if (plus)
				return invalid(why, "more than one '+'");
			if (nd > 0)
				return invalid(why, "'+' inside the number");
			plus = true;
		} else if (cp == '(') {
			if (in_paren)
				return invalid(why, "nested parentheses");
			in_paren = true;
			paren_at = nd;
		} else if (cp == ')') {
			size_t cc, cc0;
			bool intl, cc_ok;

			if (!in_paren)
				return invalid(why, "unbalanced parentheses");
			in_paren = false;
			if (nd == paren_at)
				return invalid(why, "empty parentheses");
			/*
			 * "(0)" right after the country code marks the
			 * trunk prefix used nationally: drop it.  The
			 * country code is the 1..3 digits before it;
			 * Belgium's is known to be exactly "32".
			 */
			cc0 = plus ? 0 : 2;
			intl = plus || (paren_at >= 2 && d[0] == '0' &&
					d[1] == '0');
			cc = intl ? paren_at - cc0 : 0;
			if (cc >= 2 && d[cc0] == '3' && d[cc0 + 1] == '2')
				cc_ok = cc == 2;
			else
				cc_ok = cc >= 1 && cc <= 3;
			if (cc_ok && nd - paren_at == 1 && d[paren_at] == '0' &&
			    !dropped0) {
				nd--;
				dropped0 = true;
			}
		} else if (is_space(cp)) {
			/* separator */
		} else if (is_letter(cp)) {
			return invalid(why, "contains letters");
		} else {
			return invalid(why, "contains a character that is not "
					    "a digit or separator");
		}
	}
	if (in_paren)
		return invalid(why, "unbalanced parentheses");
	if (nd == 0)
		return invalid(why, "no digits");
	return phone_number(d, nd, plus, dropped0, region, out, why);
}

#ifdef NORM_AVX2
/* q[0..n), 8 <= n <= 16, in the lanes 0..n-1 of a vector and zeros
 * above, reading only q[0..n), as load_16_32 does for longer ones. */
__attribute__((target("avx2"))) static inline __m128i
load_8_16(const uint8_t *q, size_t n)
{
	static const uint8_t down[16] = {
		0,    1,    2,    3,    4,    5,    6,    7,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	};
	__m128i lo = _mm_loadl_epi64((const __m128i *)(const void *)q);
	__m128i hi = _mm_loadl_epi64(
		(const __m128i *)(const void *)(q + n - 8));
	__m128i ctl = _mm_loadl_epi64(
		(const __m128i *)(const void *)(down + 16 - n));

	return _mm_unpacklo_epi64(lo, _mm_shuffle_epi8(hi, ctl));
}

/*
 * The lanes of q[0..n), 8 <= n <= PHONE_DIGITS_MAX, for the AVX2 phone
 * paths: false unless every byte is a digit or one of " ./-" (phone()'s
 * separators), or one of the two parenthesis writings below.  *x holds
 * the bytes (zeros above n), *dig a bit for each lane (from the lowest)
 * of a digit that phone() collects.
 *
 * The parentheses, one '(' and one ')' after it:
 *   - after a '+' (plus), "(0)" after exactly the digits "32": the
 *     "+32 (0)..." of Belgian numbers written internationally.  phone()
 *     drops that 0 and says so (*dropped0); here its lane is taken out
 *     of the digits;
 *   - without a '+', a '(' before any digit, digits before the ')':
 *     the "(02) ..." of a national area code.  phone() drops nothing
 *     there (no country code before it), so they only separate.
 * Any other parenthesis is left to phone().
 */
__attribute__((target("avx2,bmi2,popcnt"))) static inline
__attribute__((always_inline)) bool
phone_lanes(const uint8_t *q, size_t n, bool plus, __m256i *xp, uint32_t *dp,
	    bool *dropped0)
{
	KV_BASE();
	__m256i x, dig, par;
	uint64_t all = ((uint64_t)1 << n) - 1, open, close, digs;

	if (n <= 16)
		x = _mm256_set_m128i(_mm_setzero_si128(), load_8_16(q, n));
	else
		x = load_16_32(q, n);
	dig = LANES_IN(x, K_0, K_9);
	par = _mm256_or_si256(_mm256_cmpeq_epi8(x, KV(K_OPEN)),
			      _mm256_cmpeq_epi8(x, KV(K_CLOSE)));
	if ((LANE_BITS(_mm256_or_si256(
		     _mm256_or_si256(dig, par),
		     _mm256_cmpeq_epi8(_mm256_shuffle_epi8(KV(K_PSEP), x),
				       x))) &
	     all) != all)
		return false;
	*dropped0 = false;
	if ((open = LANE_BITS(_mm256_cmpeq_epi8(x, KV(K_OPEN))))) {
		close = LANE_BITS(par) & ~open;
		digs = LANE_BITS(dig);
		/* one of each, the ')' after the '(' */
		if ((open & (open - 1)) || (close & (close - 1)) ||
		    close < open)
			return false;
		if (!plus) {
			/* "(0x)": no digit before, one or more inside */
			if ((digs & (open - 1)) || !(digs & (close - open)))
				return false;
		} else {
			/* "32(0)": the ')' two lanes on, a '0' between */
			if (close != open << 2 ||
			    q[__builtin_ctzll(open) + 1] != '0' ||
			    __builtin_popcountll(digs & (open - 1)) != 2 ||
			    q[__builtin_ctzll(digs)] != '3' ||
			    q[__builtin_ctzll(digs & (digs - 1))] != '2')
				return false;
			digs &= ~(open << 1);
			*dropped0 = true;
		}
	} else if (LANE_BITS(par)) {
		return false;
	} else {
		digs = LANE_BITS(dig);
	}
	*xp = x;
	*dp = (uint32_t)digs;
	return true;
}

/* The byte mask of the lanes b (8 bits): 0xff in each lane of a digit,
 * as PEXT wants it. */
__attribute__((target("bmi2"))) static inline
__attribute__((always_inline)) uint64_t
byte_mask(uint32_t b)
{
	return _pdep_u64(b & 0xff, 0x0101010101010101u) * 0xff;
}

/*
 * phone_fast's loop for q[0..n), 8 <= n <= PHONE_DIGITS_MAX, as lane
 * masks (phone_lanes, else -1, as the loop says), the digits gathered
 * into d by PEXT, eight bytes at a time: the same digits in the same
 * order, their count returned.  The stores of eight bytes stay in d
 * (n <= 24: the third word starts at most 16 digits in).
 */
__attribute__((target("avx2,bmi2,popcnt"))) static int
phone_digits_avx2(const uint8_t *q, size_t n, bool plus, char *d,
		  bool *dropped0)
{
	__m256i x;
	uint32_t dig;
	uint64_t w;
	size_t nd;

	if (!phone_lanes(q, n, plus, &x, &dig, dropped0))
		return -1;
	w = _pext_u64((uint64_t)_mm256_extract_epi64(x, 0), byte_mask(dig));
	memcpy(d, &w, 8);
	nd = (size_t)__builtin_popcount(dig & 0xff);
	w = _pext_u64((uint64_t)_mm256_extract_epi64(x, 1),
		      byte_mask(dig >> 8));
	memcpy(d + nd, &w, 8);
	nd += (size_t)__builtin_popcount(dig >> 8 & 0xff);
	if (n > 16) {
		w = _pext_u64((uint64_t)_mm256_extract_epi64(x, 2),
			      byte_mask(dig >> 16));
		memcpy(d + nd, &w, 8);
		nd += (size_t)__builtin_popcount(dig >> 16 & 0xff);
	}
	return (int)nd;
}

/*
 * norm_phone_buf's whole work for the cells of nearly every row: the
 * phone_lanes writings of a Belgian number, valid, at p[0..len) with
 * perhaps one '+' first, 8 to PHONE_DIGITS_MAX bytes after it, the first
 * eight digits in its first 16, a national number only in region_be.  The number, as phone_number makes it, and its
 * NUL go to o, which has room for 24 bytes (the stores of eight); its
 * length is returned.  -1 for everything else, left to phone_fast and
 * phone(): an invalid number (for its reason), another country's, white
 * space other than ' ' (trimmed: a leading or trailing ' ' is a
 * separator like any other, which changes no digit), "tel:".
 *
 * The first eight digits, one a byte from the lowest, decide as
 * phone_number does: "0" and not "00" is the trunk prefix of a national
 * number; "+" or "00" then "32" Belgium's code, maybe followed by a
 * trunk 0 (dropped unless a "(0)" was); the k digits before the
 * national significant number.  That is the rest: 8 digits, or 9 for
 * the 45x..49x mobiles, not starting with 0; its lanes are the digit
 * lanes less the k lowest (PDEP), gathered by PEXT behind "+32".
 */
__attribute__((target("avx2,bmi2,popcnt"))) static inline
__attribute__((always_inline)) int
phone_be_avx2(const uint8_t *p, size_t len, const char *region, uint8_t *o)
{
	const bool plus = p[0] == '+';
	const uint8_t *q = p + plus;
	const size_t n = len - plus;
	__m256i x;
	bool dropped0;
	uint32_t dig, lanes;
	uint64_t w0, w1, first, nsn2;
	unsigned c0, nd, k, nn, off;

	if (n < 8 || n > PHONE_DIGITS_MAX ||
	    !phone_lanes(q, n, plus, &x, &dig, &dropped0))
		return -1;
	nd = (unsigned)__builtin_popcount(dig);
	c0 = (unsigned)__builtin_popcount(dig & 0xff);
	if (nd < 9 || nd > 14 || __builtin_popcount(dig & 0xffff) < 8)
		return -1; /* no valid Belgian number, or an odd writing */
	w0 = (uint64_t)_mm256_extract_epi64(x, 0);
	w1 = (uint64_t)_mm256_extract_epi64(x, 1);
	/* c0 <= 8: two shifts of at most 32 move the second word's digits
	 * past the first's, or out */
	first = _pext_u64(w0, byte_mask(dig)) |
		_pext_u64(w1, byte_mask(dig >> 8)) << (4 * c0) << (4 * c0);
	if (!plus && (first & 0xff) == '0' && (first >> 8 & 0xff) != '0') {
		if (!region_be(region))
			return -1;
		k = 1; /* the trunk 0 */
	} else {
		if (!plus && (first & 0xffff) != ('0' | '0' << 8))
			return -1;
		k = plus ? 0 : 2; /* "+" or "00" */
		if ((first >> (8 * k) & 0xffff) != ('3' | '2' << 8))
			return -1; /* another country, or not a number */
		k += 2;
		if ((first >> (8 * k) & 0xff) == '0' && !dropped0)
			k++; /* "+32 0470 ...": the trunk 0 written anyway */
	}
	nn = nd - k;
	nsn2 = first >> (8 * k) & 0xffff;
	/* 8 digits, or 9 for a mobile number (45x..49x), not from 0 */
	if (nn - 8 > 1 || (nsn2 & 0xff) == '0' ||
	    ((nsn2 & 0xff) == '4' && (nsn2 >> 8) >= '5') != (nn == 9))
		return -1;
	lanes = (uint32_t)_pdep_u64(~0ull << k, dig);
	memcpy(o, "+32", 4);
	w0 = _pext_u64(w0, byte_mask(lanes));
	memcpy(o + 3, &w0, 8);
	off = 3 + (unsigned)__builtin_popcount(lanes & 0xff);
	w1 = _pext_u64(w1, byte_mask(lanes >> 8));
	memcpy(o + off, &w1, 8);
	if (lanes >> 16) {
		off += (unsigned)__builtin_popcount(lanes >> 8 & 0xff);
		w1 = _pext_u64((uint64_t)_mm256_extract_epi64(x, 2),
			       byte_mask(lanes >> 16));
		memcpy(o + off, &w1, 8);
	}
	o[3 + nn] = '\0';
	return (int)(3 + nn);
}

static inline bool norm_avx2_bmi2(void)
{
	return __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("bmi2");
}
#endif

/*
 * phone() for the writings of nearly every cell: ASCII digits and the
 * separators ' ', '.', '/', '-' between ASCII white space, perhaps after
 * one leading '+'.  For such a cell phone()'s loop collects the same
 * digits with the same flags (no parentheses, so nothing dropped), so
 * phone_number gives the same result, valid or not.  An empty or blank
 * cell is NORM_EMPTY, as trimmed() says.  -1 for any other cell, which
 * phone() then reads.  With AVX2 and BMI2, phone_digits_avx2 does the
 * loop's work (and takes "+32 (0)" too).
 */
static int phone_fast(const uint8_t *p, size_t len, const char *region,
		      char *d, char out[NORM_PHONE_MAX + 1], const char **why)
{
	size_t s = 0, e = len, nd = 0;
	bool plus = false;

	trim_ascii(p, &s, &e);
	if (s == e) {
		/* empty, or ASCII white space only */
		no_reason(why);
		out[0] = '\0';
		return NORM_EMPTY;
	}
	if (p[s] == '+') {
		plus = true;
		s++;
	}
	/* No more bytes than d holds digits: phone() says "too many". */
	if (e - s > PHONE_DIGITS_MAX)
		return -1;
#ifdef NORM_AVX2
	if (e - s >= 8 && norm_avx2_bmi2()) {
		bool dropped0;
		int k = phone_digits_avx2(p + s, e - s, plus, d, &dropped0);

		if (k <= 0)
			return -1;
		no_reason(why);
		out[0] = '\0';
		return phone_number(d, (size_t)k, plus, dropped0, region, out,
				    why);
	}
#endif
	for (size_t i = s; i < e; i++) {
		uint8_t c = p[i], k = cclass[c];

		if (k & C_DIGIT)
			d[nd++] = (char)c;
		else if (!(k & C_PSEP))
			return -1;
	}
	if (nd == 0)
		return -1;
	no_reason(why);
	out[0] = '\0';
	return phone_number(d, nd, plus, false, region, out, why);
}

/* norm_phone: the word-at-a-time and AVX2 fast paths, then phone(). */
static NOINLINE int phone_other(const char *in, size_t len,
				const char *region,
				char out[NORM_PHONE_MAX + 1], const char **why)
{
	char d[PHONE_DIGITS_MAX];
	int rc = phone_fast((const uint8_t *)in, len, region, d, out, why);

	if (rc < 0)
		rc = phone(in, len, region, d, out, why);
	wipe_local(d, sizeof d); /* digits of a personal number */
	return rc;
}

int norm_phone(const char *in, size_t len, const char *region,
	       char out[NORM_PHONE_MAX + 1], const char **why)
{
	return phone_other(in, len, region, out, why);
}

/* norm_phone_buf for what phone_be_avx2 does not take: through a copy,
 * wiped. */
static NOINLINE int phone_buf_other(const char *in, size_t len,
				    const char *region, struct kbuf *out,
				    const char **why)
{
	char ph[NORM_PHONE_MAX + 1];
	int rc = phone_other(in, len, region, ph, why), code;

	if (rc != NORM_OK) {
		norm_clear(out);
	} else if ((code = norm_set(out, ph, strlen(ph))) != 0) {
		kbuf_reset(out);
		rc = invalid(why, code == KERR_LIMIT ? "too long" :
						      "out of memory");
	}
	wipe_local(ph, sizeof ph);
	return rc;
}

#ifdef NORM_AVX2
/* norm_phone_buf with AVX2 and BMI2: the number straight into out's
 * memory, when it has room for the 24 bytes phone_be_avx2 may store (cap
 * excludes the NUL's byte), as it has after a column's first cell. */
__attribute__((target("avx2,bmi2,popcnt"))) static int
phone_buf_avx2(const char *in, size_t len, const char *region,
	       struct kbuf *out, const char **why)
{
	int n;

	if (len - 9 > PHONE_DIGITS_MAX + 1 - 9 || !out->p || out->cap < 24 ||
	    out->max < NORM_PHONE_MAX ||
	    (n = phone_be_avx2((const uint8_t *)in, len, region, out->p)) < 0)
		return phone_buf_other(in, len, region, out, why);
	if (out->len > (size_t)n)
		norm_wipe_tail(out, (size_t)n);
	out->len = (size_t)n;
	no_reason(why);
	return NORM_OK;
}
#endif

int norm_phone_buf(const char *in, size_t len, const char *region,
		   struct kbuf *out, const char **why)
{
#ifdef NORM_AVX2
	if (norm_avx2_bmi2())
		return phone_buf_avx2(in, len, region, out, why);
#endif
	return phone_buf_other(in, len, region, out, why);
}

/* ---------------------------------------------------------------- e-mail */

/* RFC 5322 atext. */
static bool is_atext(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

static bool is_ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int check_local(const uint8_t *p, size_t n, const char **why)
{
	if (n == 0)
		return invalid(why, "nothing before the '@'");
	if (n > EMAIL_LOCAL_MAX)
		return invalid(why, "more than 64 characters before the '@'");
	if (p[0] == '.' || p[n - 1] == '.')
		return invalid(why, "a dot at the start or end of the name");
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (p[i + 1] == '.')
				return invalid(why, "two dots in a row");
		} else if (!is_atext(p[i])) {
			return invalid(why, p[i] == '"' ?
						    "quoted names are not "
						    "accepted" :
						    "a character not allowed "
						    "in an address");
		}
	}
	return NORM_OK;
}

static int check_domain(const uint8_t *p, size_t n, const char **why)
{
	size_t labels = 0, start = 0;

	if (n == 0)
		return invalid(why, "nothing after the '@'");
	if (p[0] == '[')
		return invalid(why, "IP address domains are not accepted");
	for (size_t i = 0; i <= n; i++) {
		size_t l;

		if (i < n && p[i] != '.') {
			if (!is_ldh(p[i]))
				return invalid(why, "a character not allowed "
						    "in a domain");
			continue;
		}
		l = i - start;
		if (l == 0)
			return invalid(why, "an empty domain label");
		if (l > EMAIL_LABEL_MAX)
			return invalid(why, "a domain label longer than 63 "
					    "characters");
		if (p[start] == '-' || p[i - 1] == '-')
			return invalid(why, "a hyphen at the start or end of a "
					    "domain label");
		labels++;
		if (i == n) {
			/* The top-level domain: letters only, so neither
			 * "a@b" nor "a@1.2.3.4" passes. */
			if (l < 2)
				return invalid(why, "top-level domain too "
						    "short");
			for (size_t j = start; j < i; j++)
				if (!is_alpha(p[j]))
					return invalid(why, "top-level domain "
							    "not letters "
							    "only");
		}
		start = i + 1;
	}
	if (labels < 2)
		return invalid(why, "no top-level domain");
	return NORM_OK;
}

/*
 * The fast path of norm_email takes a valid address between ASCII white
 * space, without "<…>" or "mailto:", and sets out; it only accepts, and
 * what it accepts passes every general check with the same result, so
 * the two cannot disagree:
 *   - the local part is atext and single dots, neither first nor last,
 *     1..64 bytes, ended by the first byte that is neither, the '@';
 *   - the domain is LDH labels of 1..63 bytes joined by single dots, no
 *     hyphen at a label's ends, at least two labels, the last one two or
 *     more letters; any other byte (a second '@', white space, ',', ';',
 *     controls, non-ASCII) ends the attempt;
 *   - at most 254 bytes; '<' and ':' are not atext, so a "<…>" or
 *     "mailto:" form is never taken.
 * Anything else is left to email_general, which explains it.
 */

/* email_fast for a cell q[0..n) of fewer than 8 bytes: a byte at a time.
 * True if it set out. */
static bool email_short(const uint8_t *q, size_t n, struct kbuf *out)
{
	size_t i, at, start;
	bool dot = true; /* as if after a dot: none may lead */
	uint8_t all = C_ALPHA;

	for (i = 0; i < n; i++) {
		uint8_t c = q[i];

		if (cclass[c] & C_ATEXT)
			dot = false;
		else if (c == '.' && !dot)
			dot = true;
		else
			break;
	}
	if (i == n || q[i] != '@' || dot)
		return false;
	at = i;
	start = at + 1;
	for (i = start;; i++) {
		uint8_t c = i < n ? q[i] : '.';

		if (c != '.') {
			all &= cclass[c];
			if (!(cclass[c] & C_LDH))
				return false;
			continue;
		}
		/* the end of a label */
		if (i == start || q[start] == '-' || q[i - 1] == '-')
			return false;
		if (i == n)
			break;
		start = i + 1;
		all = C_ALPHA;
	}
	/* the last label: letters only, two or more, not the first one */
	if (!(all & C_ALPHA) || i - start < 2 || start == at + 1)
		return false;
	if (norm_set(out, q, n) != 0)
		return false;
	for (i = at + 1; i < n; i++)
		out->p[i] = ascii_lower(out->p[i]);
	return true;
}

#define ONES 0x0101010101010101u

/* Eight bytes with q[i] in bits 8i..8i+7, whatever the host's order, so
 * that a bit found by ctz names its byte. */
static inline uint64_t load64_le(const uint8_t *q)
{
	uint64_t w = load64(q);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* 0x80 in each byte of w (all bytes < 0x80) in lo..hi, else 0: the sums
 * cannot carry from one byte into the next. */
static inline uint64_t swar_range(uint64_t w, uint8_t lo, uint8_t hi)
{
	return (w + ONES * (uint8_t)(0x80 - lo)) &
	       ~(w + ONES * (uint8_t)(0x7f - hi)) & HIGH_BITS;
}

/* 0x80 in each byte of w (all < 0x80) that is a letter or a digit:
 * OR 0x20 folds exactly the upper-case letters onto the lower-case. */
static inline uint64_t swar_alnum(uint64_t w)
{
	return swar_range(w | 0x2020202020202020u, 'a', 'z') |
	       swar_range(w, '0', '9');
}

/*
 * email_fast for q[0..n), 8 <= n <= EMAIL_MAX: eight bytes at a time.
 * Letters and digits are the bulk and need no look; the other bytes (the
 * '@', dots, the odd hyphen) are visited one by one, in order, and carry
 * the rules about where they may be.  True if it set out.
 */
static bool email_words(const uint8_t *q, size_t n, struct kbuf *out)
{
	size_t at = 0;    /* the '@', once seen (never at 0) */
	size_t label = 0; /* where the current part (between dots) starts */
	size_t i;

	for (size_t off = 0; off < n; off += 8) {
		/* the last word overlaps the one before: its bytes below
		 * off were seen */
		size_t base = off + 8 <= n ? off : n - 8;
		uint64_t w = load64_le(q + base), m;

		if (w & HIGH_BITS)
			return false;
		m = ~swar_alnum(w) & HIGH_BITS & (~0ull << 8 * (off - base));
		for (; m; m &= m - 1) {
			size_t k = base + ((size_t)__builtin_ctzll(m) >> 3);
			uint8_t c = q[k];

			if (c == '.' || c == '@') {
				/* the end of a part: not empty (no leading,
				 * trailing or double dot); in the domain no
				 * hyphen at its ends and at most 63 bytes */
				if (k == label)
					return false;
				if (at && (k - label > EMAIL_LABEL_MAX ||
					   q[label] == '-' || q[k - 1] == '-'))
					return false;
				if (c == '@') {
					if (at || k > EMAIL_LOCAL_MAX)
						return false;
					at = k;
				}
				label = k + 1;
			} else if (!(cclass[c] & C_ATEXT) ||
				   (at && c != '-')) {
				return false;
			}
		}
	}
	/* The top-level domain: after a dot in the domain, two to 63
	 * letters. */
	if (!at || label == at + 1 || n - label < 2 ||
	    n - label > EMAIL_LABEL_MAX)
		return false;
	for (i = label; i < n; i++)
		if (!(cclass[q[i]] & C_ALPHA))
			return false;
	if (norm_set(out, q, n) != 0)
		return false;
	/* The domain lower-cased: OR 0x20 into its upper-case letters,
	 * eight at a time where it is long enough. */
	i = at + 1;
	if (n - i >= 8) {
		for (size_t off = i; off < n; off += 8) {
			size_t base = off + 8 <= n ? off : n - 8;
			uint64_t w = load64(out->p + base);

			w |= swar_range(w, 'A', 'Z') >> 2;
			memcpy(out->p + base, &w, 8);
		}
	} else {
		for (; i < n; i++)
			out->p[i] = ascii_lower(out->p[i]);
	}
	return true;
}

#ifdef NORM_AVX2
/* email_avx2's output through norm_set, when out has no room for a
 * whole vector: out of line, its copy wiped. */
__attribute__((target("avx2"))) static NOINLINE bool
email_set_copy(struct kbuf *out, __m256i v, size_t n)
{
	uint8_t tmp[32];
	int rc;

	_mm256_storeu_si256((__m256i *)(void *)tmp, v);
	rc = norm_set(out, tmp, n);
	wipe_local(tmp, sizeof tmp);
	return rc == 0;
}

/*
 * email_fast for q[0..n), 16 <= n <= 32, the length of nearly every
 * address, with the bytes of the writings nearly every address has:
 * letters, digits, '.', '@', '-' and '_' (only before the '@').  Each
 * class is a bit mask over the positions, and email_words' rules are
 * checks on the masks; anything else (another atext byte, any doubt)
 * is left to email_words, so this accepts a subset of what it accepts
 * and sets out the same way.  True if it set out.
 */
__attribute__((target("avx2"))) static bool
email_avx2(const uint8_t *q, size_t n, struct kbuf *out)
{
	KV_BASE();
	const __m256i x = load_16_32(q, n);
	const __m256i let = LANES_IN(_mm256_or_si256(x, KV(K_20)), K_A_LO,
				     K_25);
	const __m256i dot = _mm256_cmpeq_epi8(x, KV(K_DOT));
	const __m256i atv = _mm256_cmpeq_epi8(x, KV(K_AT));
	const __m256i hyp = _mm256_cmpeq_epi8(x, KV(K_HYP));
	const __m256i und = _mm256_cmpeq_epi8(x, KV(K_UND));
	const __m256i ok = _mm256_or_si256(
		_mm256_or_si256(let, LANES_IN(x, K_0, K_9)),
		_mm256_or_si256(_mm256_or_si256(dot, atv),
				_mm256_or_si256(hyp, und)));
	/* positions: bit i for q[i]; lanes n..31 are zero, in no class */
	const uint64_t all = ((uint64_t)1 << n) - 1, top = all ^ (all >> 1);
	const uint64_t d = LANE_BITS(dot), a = LANE_BITS(atv);
	const uint64_t sep = d | a;
	uint64_t dom, hd, dd, tld;
	__m256i up, low;

	/* every byte in a class; one '@'; no part empty: neither '.' nor
	 * '@' first or last or next to another */
	if (LANE_BITS(ok) != all || !a || (a & (a - 1)) ||
	    (sep & (1 | top | (sep >> 1))))
		return false;
	dom = all & ~((a << 1) - 1);
	/* the domain: no '_', no hyphen after the '@' or a dot, before a
	 * dot or last; a dot, and after the last one two or more letters
	 * (labels of at most 63 and a local part of at most 64 bytes
	 * cannot be longer in 32 bytes) */
	hd = LANE_BITS(hyp) & dom;
	dd = d & dom;
	if ((LANE_BITS(und) & dom) || (hd & ((sep << 1) | (d >> 1) | top)) ||
	    !dd)
		return false;
	tld = all & ~((((uint64_t)2) << (63 - __builtin_clzll(dd))) - 1);
	if ((tld & ~LANE_BITS(let)) || !(tld & (tld - 1)))
		return false;
	/* The domain lower-cased: 0x20 into its upper-case letters. */
	up = _mm256_and_si256(
		LANES_IN(x, K_A_UP, K_25),
		_mm256_cmpgt_epi8(KV(K_IOTA),
				  _mm256_set1_epi8((char)__builtin_ctzll(a))));
	low = _mm256_or_si256(x, _mm256_and_si256(up, KV(K_20)));
	if (out->p && out->cap >= 31 && n <= out->max && out->len <= 32) {
		/* The value, its NUL and zeros to lane 31, which also wipe
		 * an old value of up to 32 bytes. */
		_mm256_storeu_si256((__m256i *)(void *)out->p, low);
		out->p[n] = '\0';
		out->len = n;
		return true;
	}
	return email_set_copy(out, low, n);
}
#endif

/* norm_email's fast path: NORM_OK with out set, NORM_EMPTY for an empty
 * or ASCII-blank cell, -1 for what email_general must look at. */
static int email_fast(const uint8_t *p, size_t len, struct kbuf *out)
{
	size_t s = 0, e = len;
	bool ok;

	trim_ascii(p, &s, &e);
	if (s == e) {
		norm_clear(out);
		return NORM_EMPTY;
	}
	if (e - s > EMAIL_MAX)
		return -1;
#ifdef NORM_AVX2
	if (e - s >= 16 && e - s <= 32 && norm_avx2() &&
	    email_avx2(p + s, e - s, out))
		return NORM_OK;
#endif
	ok = e - s < 8 ? email_short(p + s, e - s, out) :
			 email_words(p + s, e - s, out);
	return ok ? NORM_OK : -1;
}

/* norm_email for what email_fast does not take. */
static NOINLINE int email_general(const uint8_t *p, size_t len,
				  struct kbuf *out, const char **why)
{
	size_t s, e, at = 0, ats = 0;
	uint8_t high = 0;
	bool bad = false;
	struct kerr ke;
	int rc;

	norm_clear(out);
	if ((rc = trimmed(p, len, &s, &e, why)) != NORM_OK)
		return rc;
	if (e - s >= 2 && p[s] == '<' && p[e - 1] == '>') {
		s++;
		e--;
	}
	if (ascii_ieq(p + s, e - s, "mailto:"))
		s += 7;
	if (s == e)
		return invalid(why, "no address");
	/* One pass for what used to take three; the reasons keep their
	 * order of precedence below. */
	for (size_t i = s; i < e; i++) {
		uint8_t c = p[i];

		high |= c;
		if (c == '@') {
			at = i;
			ats++;
		} else if (c == ',' || c == ';' || c <= ' ' || c == 0x7f) {
			bad = true;
		}
	}
	if (high & 0x80)
		return invalid(why, "contains non-ASCII characters");
	if (e - s > EMAIL_MAX)
		return invalid(why, "longer than 254 characters");
	if (ats == 0)
		return invalid(why, "no '@'");
	if (ats > 1)
		return invalid(why, "more than one '@' (two addresses?)");
	if (bad)
		return invalid(why, "white space, control character, "
				    "',' or ';' in the address");
	rc = check_local(p + s, at - s, why);
	if (rc != NORM_OK)
		return rc;
	rc = check_domain(p + at + 1, e - at - 1, why);
	if (rc != NORM_OK)
		return rc;

	if (kbuf_append(out, p + s, e - s, &ke) != 0)
		return invalid(why, ke.code == KERR_LIMIT ? "too long" :
							    "out of memory");
	/* The domain lower-cased in place (one append, not one per byte). */
	for (size_t i = at + 1 - s; i < out->len; i++) {
		uint8_t c = out->p[i];
		if (c >= 'A' && c <= 'Z')
			out->p[i] = (uint8_t)(c - 'A' + 'a');
	}
	return NORM_OK;
}

/* norm_email for all but the cells email_avx2 takes as they are: out of
 * line, so that the common call saves no registers for it. */
static NOINLINE int email_other(const uint8_t *p, size_t len,
				struct kbuf *out, const char **why)
{
	int rc = email_fast(p, len, out);

	if (rc < 0)
		return email_general(p, len, out, why);
	no_reason(why);
	return rc;
}

int norm_email(const char *in, size_t len, struct kbuf *out, const char **why)
{
	const uint8_t *p = (const uint8_t *)in;

#ifdef NORM_AVX2
	/* Most cells are the address alone, 16 to 32 bytes: white space
	 * around it is in none of email_avx2's classes, so it needs no
	 * trimming first (a cell with some goes on to email_fast). */
	if (len - 16 <= 32 - 16 && norm_avx2() && email_avx2(p, len, out)) {
		no_reason(why);
		return NORM_OK;
	}
#endif
	return email_other(p, len, out, why);
}

/* ------------------------------------------------------------------- int */

int norm_int(const char *in, size_t len, bool has_min, long long min,
	     bool has_max, long long max, long long *value, const char **why)
{
	const uint8_t *p = (const uint8_t *)in;
	unsigned long long v = 0, limit;
	bool neg = false;
	size_t s, e, i;
	int rc;

	*value = 0;
	if ((rc = trimmed(p, len, &s, &e, why)) != NORM_OK)
		return rc;
	i = s;
	if (p[i] == '+' || p[i] == '-')
		neg = p[i++] == '-';
	if (i == e)
		return invalid(why, "not a whole number");
	limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < e; i++) {
		unsigned dig;

		if (p[i] < '0' || p[i] > '9')
			return invalid(why, "not a whole number");
		dig = (unsigned)(p[i] - '0');
		if (v > (limit - dig) / 10)
			return invalid(why, "number too large");
		v = v * 10 + dig;
	}
	/* v <= LLONG_MAX + 1 only when negative: -(v - 1) - 1 avoids the
	 * signed overflow of -(long long)v. */
	*value = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
	if (has_min && *value < min) {
		*value = 0;
		return invalid(why, "below the allowed minimum");
	}
	if (has_max && *value > max) {
		*value = 0;
		return invalid(why, "above the allowed maximum");
	}
	return NORM_OK;
}

/* ------------------------------------------------------------- match key */

static bool ascii_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Keep the letters and digits of p[0..n) (valid UTF-8) in place, wiping
 * the tail; the new length. */
static size_t keep_alnum(uint8_t *p, size_t n)
{
	size_t w = 0;
	int32_t cp;

	for (size_t i = 0; i < n;) {
		int k = next_cp(p + i, n - i, &cp);
		if (k < 0)
			break; /* cannot happen: utf8proc wrote it */
		if (is_letter_or_digit(cp)) {
			memmove(p + w, p + i, (size_t)k);
			w += (size_t)k;
		}
		i += (size_t)k;
	}
	sodium_memzero(p + w, n - w);
	return w;
}

/*
 * Copy p[0..n) (valid UTF-8) to w without ASCII punctuation, controls and
 * white space: the separators of most keys ("Buitenschoolse opvang").
 * None of them maps to a letter or digit, so dropping them before the
 * Unicode mapping instead of after changes nothing but the work.
 */
static size_t drop_separators(const uint8_t *p, size_t n, uint8_t *w)
{
	size_t o = 0;
	int32_t cp;

	for (size_t i = 0; i < n;) {
		int k = next_cp(p + i, n - i, &cp);
		if (k < 0)
			break; /* cannot happen: checked by the caller */
		if (cp < 0x80 ? ascii_alnum((uint8_t)cp) : !is_space(cp)) {
			memcpy(w + o, p + i, (size_t)k);
			o += (size_t)k;
		}
		i += (size_t)k;
	}
	return o;
}

/*
 * NFKC + case fold + marks stripped, then only letters and digits kept,
 * repeated while the filter drops something.  Dropping characters can
 * leave a string that is no longer normalised (a Hangul L and V jamo that
 * were apart become neighbours and compose on the next pass), and keys
 * must be fixed points so that the key of a key is the key.  *res is
 * malloc'd.
 */
static int match_key_map(const uint8_t *in, size_t len, uint8_t **res,
			 size_t *rlen, const char **why)
{
	const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPAT |
				      UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
				      UTF8PROC_STRIPMARK;
	uint8_t *cur, *m;
	size_t curlen, mlen, klen;
	utf8proc_ssize_t r;

	cur = malloc(len ? len : 1);
	if (!cur)
		return invalid(why, "out of memory");
	curlen = drop_separators(in, len, cur);
	for (int pass = 0; pass < KEY_PASSES; pass++) {
		r = utf8proc_map(cur, (utf8proc_ssize_t)curlen, &m, opt);
		if (r < 0) {
			wipe_free(cur, (utf8proc_ssize_t)curlen);
			return invalid(why, r == UTF8PROC_ERROR_NOMEM ?
						    "out of memory" :
						    "not valid UTF-8");
		}
		mlen = (size_t)r;
		klen = keep_alnum(m, mlen);
		wipe_free(cur, (utf8proc_ssize_t)curlen);
		cur = m;
		curlen = klen;
		if (klen == mlen) {
			*res = cur;
			*rlen = curlen;
			return NORM_OK;
		}
	}
	wipe_free(cur, (utf8proc_ssize_t)curlen);
	return invalid(why, "cannot be normalised");
}

int norm_match_key(const char *in, size_t len, struct kbuf *out,
		   const char **why)
{
	const uint8_t *p = (const uint8_t *)in;
	uint8_t *key = NULL, chunk[64];
	size_t klen = 0, c = 0;
	struct kerr e;
	int rc = NORM_OK;

	norm_clear(out);
	no_reason(why);
	if (len > NORM_IN_MAX)
		return invalid(why, "too long");
	if (!valid_utf8(p, len))
		return invalid(why, "not valid UTF-8");
	if (!is_ascii(p, len)) {
		rc = match_key_map(p, len, &key, &klen, why);
		if (rc != NORM_OK)
			return rc;
		if (klen == 0)
			rc = NORM_EMPTY;
		else if (kbuf_append(out, key, klen, &e) != 0)
			rc = invalid(why, e.code == KERR_LIMIT ?
						  "too long" :
						  "out of memory");
		wipe_free(key, (utf8proc_ssize_t)klen);
		return rc;
	}
	/* The common case, and exactly what the Unicode path gives for
	 * ASCII: letters lower-cased, digits, nothing else.  Appended a
	 * chunk at a time. */
	for (size_t i = 0; i <= len && rc == NORM_OK; i++) {
		if (i < len && ascii_alnum(p[i])) {
			uint8_t ch = p[i];
			chunk[c++] = ch >= 'A' && ch <= 'Z' ?
					     (uint8_t)(ch - 'A' + 'a') :
					     ch;
		}
		if ((c == sizeof chunk || i == len) && c > 0) {
			if (kbuf_append(out, chunk, c, &e) != 0)
				rc = invalid(why, e.code == KERR_LIMIT ?
							  "too long" :
							  "out of memory");
			c = 0;
		}
	}
	sodium_memzero(chunk, sizeof chunk);
	if (rc != NORM_OK)
		kbuf_reset(out);
	else if (out->len == 0)
		rc = NORM_EMPTY;
	return rc;
}
