/*
 * csv — streaming reader.  Speed comes from five choices:
 *
 *  - Structure is found per 64-byte block: one pass marks every byte that
 *    can change the parser's state (delimiter, quote, LF, NUL) or the
 *    field's decoding (>= 0x80) in a bit mask, and the delimiters among
 *    them in a second one.  Plain ASCII field bytes are never looked at
 *    one by one.  CR is not an event: it matters only right before an
 *    LF, where it is looked up.
 *  - Most records take a fast path (fast_with) with little state: the
 *    delimiters before the next other event become fields straight from
 *    the masks, a run at a time, and quoted fields and UTF-8 sequences
 *    are stepped over where they are simple.  Anything else hands the
 *    record, mid-way or from its start, to the general parser
 *    (parse_with), which hops from event to event; both give the same
 *    records and errors (the tests and the fuzz target compare them).
 *  - Fields are pointers into the read buffer unless they must be rebuilt
 *    (escapes, NUL, text after a closing quote, Windows-1252).  Once a
 *    file is known to be UTF-8, each sequence is checked where the parser
 *    meets it, so valid UTF-8 fields stay in place too, and a record that
 *    needs nothing rebuilt skips the decoding step altogether.
 *  - A record is parsed only once it is whole in the buffer: running out of
 *    bytes mid-record abandons the attempt, moves the record to the front
 *    of the buffer, fills the rest and starts the record again.  Nothing
 *    is committed before a record is complete, so the attempt is
 *    side-effect free and this happens about once per buffer.
 *  - The parsers are compiled once per classifier (AVX2, SSE2, plain C)
 *    so that the classifier is inlined into their loops; one is picked at
 *    open.
 *
 * A reader may also start mid-file from a csv_pos (another reader's state
 * between records), or parse a caller's block in place (csv_open_block:
 * the buffer is borrowed, never written, grown or freed, and its end is
 * the end of input); the parallel export uses both.
 *
 * The buffer may grow to max_record + 64 bytes or more, so a record that
 * does not fit is over the limit.  Whether a record is too long, and
 * which error comes first, depends on the bytes alone, never on how the
 * source chunks its reads or how big the buffer is (the fuzz target
 * checks this).
 */
#include "csv.h"

#include <iconv.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CSV_PORTABLE (tests of the fallback) keeps to plain C. */
#if defined(__SSE2__) && !defined(CSV_PORTABLE)
#include <emmintrin.h>
#define CSV_SSE2 1
#if defined(__x86_64__) && defined(__GNUC__) && !defined(CSV_NO_AVX2)
#include <immintrin.h>
#define CSV_AVX2 1
#endif
#endif

#include "utf8.h"

#include "banned.h"

#define DEF_MAX_FIELD ((size_t)64 << 10)
#define DEF_MAX_FIELDS ((size_t)4096)
#define DEF_MAX_RECORD ((size_t)1 << 20)
#define DEF_BUFFER ((size_t)4 << 20)
/* Upper bounds on what a caller may ask for: beyond them a limit is no
 * longer a limit. */
#define CAP_MAX_RECORD ((size_t)1 << 30)
#define CAP_MAX_FIELDS ((size_t)1 << 20)
/* Slack after the buffer so 64-byte block loads never leave the
 * allocation; bytes past the data are masked off. */
#define PAD 64

#define MORE (-1) /* internal: the record is not whole in the buffer */

/*
 * Per-field parse flags.  They ride in the field's `quoted` byte until
 * decode() settles it to 0 or 1; decode() runs whenever a record has
 * F_COPY or F_HIGH, and F_QUOTED == 1 makes the byte a valid bool as it
 * stands otherwise.  Only set_flags/get_flags touch the byte as a byte.
 *
 * A plain field's byte is 0, and the parser stores no byte for it: every
 * slot's byte is kept 0 except in the first `dirty` slots (where a
 * record had flags), which are cleared before the next parse.
 */
#define F_QUOTED 1u /* the field began with a quote */
#define F_COPY 2u   /* the value must be rebuilt from the raw bytes */
#define F_HIGH 4u   /* the raw bytes include some >= 0x80 */

_Static_assert(sizeof(bool) == 1, "flags ride in a bool's byte");

/* How many fields per record parse() lists for decode() (see nwork). */
#define WORK_MAX 8

/*
 * What a classifier finds in the 64 bytes at p (bit i for p[i]): ev where
 * p[i] is the delimiter d, a quote, LF, NUL or a byte >= 0x80 (an event);
 * ot where it is an event other than d.  Only ev is cut to the data (ot
 * is read as ev & ot).
 * The best classifier for the CPU (AVX2, SSE2, plain C) is picked once at
 * csv_open.
 */
struct bits {
	uint64_t ev, ot;
};

/* What the classifiers look for, set with the delimiter (set_delim). */
struct classes {
	/* entry i (in both halves): the event byte other than d whose low
	 * nibble is i; where there is none, 0xFF, which no byte matches.
	 * NUL, LF and the quote have different low nibbles. */
	uint8_t nib[32];
	uint8_t d;
};

typedef struct bits (*block_fn)(const uint8_t *p, const struct classes *c);

struct csv_reader;
/* The record parser, compiled once per classifier (see parse_with). */
typedef int (*parse_fn)(struct csv_reader *r, struct csv_record *rec,
			struct kerr *e);

#define INLINE static inline __attribute__((always_inline))

const char csv_problem_quote[] = "quote inside an unquoted field";
const char csv_problem_trailing[] = "text after a closing quote";
const char csv_problem_nul[] = "NUL byte";

/* Where fast_with() stopped in a record it hands on to parse_with():
 * the fields so far, the start of the current (plain) one, the scanner
 * (the event it stopped at not yet taken), LFs in quoted fields so far,
 * the work list's length and the flags seen. */
struct hand {
	struct csv_field *fp;
	size_t fs, blk, lim;
	struct bits s;
	uint64_t lfs;
	size_t nwork;
	unsigned any;
};

struct csv_reader {
	struct ksrc *src;
	const char *name;
	size_t max_field, max_fields, max_record;
	enum csv_encoding declared;

	uint8_t *buf; /* bcap + PAD bytes */
	size_t cap;   /* the most bcap may grow to */
	size_t bcap, len, pos, hiwater;
	bool eof, started, was_full;
	bool borrowed; /* buf is the caller's block (csv_open_block) */
	uint64_t base; /* bytes dropped from the front of buf so far */
	uint64_t line; /* physical line at buf[pos] */
	uint64_t more_qline; /* quote open when the record ran out (0: none) */
	char delim;
	struct classes cls; /* for delim */

	/* Event scanner, kept across records: bits still to visit of the
	 * 64-byte block starting at blk.  Invalid after the buffer moves. */
	bool scan_ok;
	size_t blk, lim;
	struct bits s;

	struct csv_field *fields;
	size_t fcap;
	/* the fields of this record with F_COPY or F_HIGH (nwork of them;
	 * beyond WORK_MAX only counted, and decode() looks at all) */
	size_t work[WORK_MAX], nwork;
	uint8_t *scratch;
	size_t scap;

	enum csv_encoding enc;
	bool detected, bom;
	uint64_t enc_line;

	parse_fn parse;
	struct hand hand;
	size_t dirty; /* see F_QUOTED */

	int failed;
	struct kerr err;
};

/* ------------------------------------------------------ Windows-1252 */

/* For every byte: its UTF-8 length (0: undefined) and its UTF-8 bytes in
 * memory order, padded to 4 so a transcoder can always store a word. */
static uint8_t cp1252_len[256];
static uint32_t cp1252_utf8[256];
static bool cp1252_ok;
static pthread_once_t cp1252_once = PTHREAD_ONCE_INIT;

static void cp1252_build(void)
{
	iconv_t cd = iconv_open("UTF-8", "WINDOWS-1252");

	if (cd == (iconv_t)-1)
		return;
	for (unsigned b = 0; b < 0x80; b++) {
		uint8_t c = (uint8_t)b;

		cp1252_len[b] = 1;
		memcpy(&cp1252_utf8[b], &c, 1);
	}
	for (unsigned b = 0x80; b < 0x100; b++) {
		char in = (char)b, out[8];
		char *ip = &in, *op = out;
		size_t il = 1, ol = sizeof out, n;

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
			continue; /* undefined in glibc's table */
		n = (size_t)(op - out);
		/* A byte >= 0x80 can only become a 2- or 3-byte sequence;
		 * anything else would break the scratch-space bound. */
		if (n < 2 || n > 3)
			continue;
		cp1252_len[b] = (uint8_t)n;
		memcpy(&cp1252_utf8[b], out, n);
	}
	iconv_close(cd);
	cp1252_ok = true;
}

/* ------------------------------------------------------- byte scanning */

#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)
#define LOW7 UINT64_C(0x7f7f7f7f7f7f7f7f)

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w); /* byte i in bits 8i..8i+7, as on x86 */
#endif
	return w;
}

#ifdef CSV_AVX2
/* The events of 32 bytes other than d by one table lookup (classes.nib):
 * a byte below 0x80 is one exactly when it equals the entry for its low
 * nibble; vpshufb gives 0 for bytes >= 0x80, which count through their
 * top bit instead. */
__attribute__((target("avx2"))) INLINE void
half_avx2(const uint8_t *p, __m256i tab, __m256i vd, uint32_t *ot,
	  uint32_t *dl)
{
	__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i t = _mm256_cmpeq_epi8(x, _mm256_shuffle_epi8(tab, x));

	*ot = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(t, x));
	*dl = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vd));
}

__attribute__((target("avx2"))) INLINE struct bits
block_avx2(const uint8_t *p, const struct classes *c)
{
	const __m256i tab =
		_mm256_loadu_si256((const __m256i *)(const void *)c->nib);
	const __m256i vd = _mm256_set1_epi8((char)c->d);
	uint32_t e0, e1, d0, d1;
	struct bits b;

	half_avx2(p, tab, vd, &e0, &d0);
	half_avx2(p + 32, tab, vd, &e1, &d1);
	b.ot = (uint64_t)e1 << 32 | e0;
	b.ev = b.ot | (uint64_t)d1 << 32 | d0;
	return b;
}
#endif

#ifdef CSV_SSE2
INLINE struct bits block_sse2(const uint8_t *p, const struct classes *c)
{
	const __m128i vd = _mm_set1_epi8((char)c->d);
	const __m128i vq = _mm_set1_epi8('"'), vl = _mm_set1_epi8('\n');
	const __m128i vz = _mm_setzero_si128();
	struct bits b = { 0, 0 };

	for (int i = 0; i < 4; i++) {
		__m128i x = _mm_loadu_si128(
			(const __m128i *)(const void *)(p + 16 * i));
		__m128i t = _mm_or_si128(
			_mm_or_si128(x, _mm_cmpeq_epi8(x, vq)),
			_mm_or_si128(_mm_cmpeq_epi8(x, vl),
				     _mm_cmpeq_epi8(x, vz)));

		b.ot |= (uint64_t)(uint16_t)_mm_movemask_epi8(t) << (16 * i);
		b.ev |= (uint64_t)(uint16_t)_mm_movemask_epi8(
				_mm_or_si128(t, _mm_cmpeq_epi8(x, vd)))
			<< (16 * i);
	}
	return b;
}
#endif

/* High bit of each byte of y set exactly where that byte is zero (no
 * carries between bytes: the sum per byte is at most 0xfe). */
static inline uint64_t zero_bytes(uint64_t y)
{
	return ~(((y & LOW7) + LOW7) | y | LOW7);
}

/* The 8 high bits of z gathered into one byte (byte k -> bit k). */
static inline uint64_t gather_high(uint64_t z)
{
	return ((z & HIGH) >> 7) * UINT64_C(0x0102040810204080) >> 56;
}

INLINE struct bits block_swar(const uint8_t *p, const struct classes *c)
{
	const uint64_t vd = ONES * c->d;
	struct bits b = { 0, 0 };

	for (int i = 0; i < 8; i++) {
		uint64_t x = load64(p + 8 * i);
		uint64_t z = zero_bytes(x ^ (ONES * '"')) |
			     zero_bytes(x ^ (ONES * '\n')) | zero_bytes(x) |
			     (x & HIGH);

		b.ot |= gather_high(z) << (8 * i);
		b.ev |= gather_high(z | zero_bytes(x ^ vd)) << (8 * i);
	}
	return b;
}

/* Events of the block at blk, without those at or past end. */
INLINE struct bits block_at(const uint8_t *buf, size_t blk, size_t end,
			    block_fn bf, const struct classes *c)
{
	struct bits b = bf(buf + blk, c);

	if (end - blk < 64)
		b.ev &= (UINT64_C(1) << (end - blk)) - 1;
	return b;
}

/* block_at() for the block at bp, end at limp */
INLINE struct bits block_ptr(const uint8_t *bp, const uint8_t *limp,
			     block_fn bf, const struct classes *c)
{
	struct bits b = bf(bp, c);

	if (limp - bp < 64)
		b.ev &= (UINT64_C(1) << (limp - bp)) - 1;
	return b;
}

/* Position of the next event, or end when there is none (s: the
 * block's bits still to visit). */
INLINE size_t next_ev(const uint8_t *buf, size_t end, size_t *blk,
		      struct bits *s, block_fn bf, const struct classes *c)
{
	size_t k;

	while (s->ev == 0) {
		if (end - *blk <= 64)
			return end;
		*blk += 64;
		*s = block_at(buf, *blk, end, bf, c);
	}
	k = (size_t)__builtin_ctzll(s->ev);
	s->ev &= s->ev - 1;
	return *blk + k;
}

static inline void set_flags(struct csv_field *f, unsigned fl)
{
	uint8_t b = (uint8_t)fl;

	memcpy(&f->quoted, &b, 1);
}

/*
 * Plain fields from delimiter bits: for each bit i of dd, in order, a
 * field from *fsp up to the delimiter at bp + i, and *fsp moves past it.
 * The flag bytes are left alone (they are 0: see F_QUOTED).  Returns the
 * slot after the last field; room for them is the caller's.
 */
INLINE struct csv_field *emit_at(struct csv_field *fp, const uint8_t *bp,
				 const uint8_t **fsp, uint64_t dd)
{
	const uint8_t *st = *fsp;

	for (; dd; dd &= dd - 1) {
		const uint8_t *at = bp + __builtin_ctzll(dd);

		fp->p = (const char *)st;
		fp->len = (size_t)(at - st);
		fp++;
		st = at + 1;
	}
	*fsp = st;
	return fp;
}

/* emit_at() for positions as indices into buf (blk: the block's) */
INLINE struct csv_field *emit(struct csv_field *fp, const uint8_t *buf,
			      size_t blk, size_t *fs, uint64_t dd)
{
	const uint8_t *st = buf + *fs;

	fp = emit_at(fp, buf + blk, &st, dd);
	*fs = (size_t)(st - buf);
	return fp;
}

/*
 * Index of the first byte >= 0x80 in p[i..n), or n: a word at a time, the
 * tail as the last word of the value with the bytes before i masked off
 * (so nothing outside p[0..n) is read).
 */
static inline size_t next_high(const uint8_t *p, size_t i, size_t n)
{
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		w = load64(p + i) & HIGH;
		if (w)
			return i + ((size_t)__builtin_ctzll(w) >> 3);
	}
	if (i < n && n >= 8) {
		w = load64(p + n - 8) & HIGH &
		    (~UINT64_C(0) << (8 * (8 - (n - i))));
		return w ? n - 8 + ((size_t)__builtin_ctzll(w) >> 3) : n;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

static size_t first_high(const uint8_t *p, size_t n)
{
	return next_high(p, 0, n);
}

static uint64_t count_lf(const uint8_t *p, size_t n)
{
	uint64_t c = 0;
	const uint8_t *q;

	while (n && (q = memchr(p, '\n', n)) != NULL) {
		c++;
		n -= (size_t)(q + 1 - p);
		p = q + 1;
	}
	return c;
}

/* ---------------------------------------------------------------- UTF-8 */

/* utf8_seq with the accented Latin letters (two bytes) first. */
static inline size_t utf8_len(const uint8_t *p, size_t n)
{
	if (p[0] >= 0xC2 && p[0] <= 0xDF && n >= 2 && (p[1] & 0xC0) == 0x80)
		return 2;
	return utf8_seq(p, n);
}

/* Index of the first byte at or after `from` that does not start a valid
 * sequence, or n if p[0..n) is valid UTF-8 from there on. */
static size_t utf8_bad(const uint8_t *p, size_t n, size_t from)
{
	size_t i = from, k;

	for (;;) {
		i = next_high(p, i, n);
		if (i == n)
			return n;
		k = utf8_len(p + i, n - i);
		if (!k)
			return i;
		i += k;
	}
}

/* --------------------------------------------------------------- errors */

static int fail_at(struct csv_reader *r, struct kerr *e, enum kerr_code code,
		   uint64_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* col is 1-based; 0 leaves the column out. */
static int fail_at(struct csv_reader *r, struct kerr *e, enum kerr_code code,
		   uint64_t line, size_t col, const char *fmt, ...)
{
	char why[sizeof e->why];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	kerr_set(e, code, r->name, "%s", why);
	if (col)
		return kerr_where(e, "line %llu, column %zu",
				  (unsigned long long)line, col);
	return kerr_where(e, "line %llu", (unsigned long long)line);
}

static int too_long(struct csv_reader *r, uint64_t qline, struct kerr *e)
{
	if (qline)
		return fail_at(r, e, KERR_LIMIT, r->line, 0,
			       "record is longer than %zu bytes (the quoted "
			       "field opened on line %llu may never be closed)",
			       r->max_record, (unsigned long long)qline);
	return fail_at(r, e, KERR_LIMIT, r->line, 0,
		       "record is longer than %zu bytes", r->max_record);
}

/* ------------------------------------------------------------ buffering */

/* A bigger buffer for the same bytes; the old one is wiped. */
static int grow_buffer(struct csv_reader *r, struct kerr *e)
{
	size_t n = r->bcap > r->cap / 2 ? r->cap : r->bcap * 2;
	uint8_t *p = calloc(1, n + PAD);

	if (!p)
		return kerr_set(e, KERR_NOMEM, r->name,
				"cannot allocate %zu bytes", n + PAD);
	memcpy(p, r->buf, r->len);
	sodium_memzero(r->buf, r->hiwater);
	free(r->buf);
	r->buf = p;
	r->bcap = n;
	r->hiwater = r->len;
	return 0;
}

/*
 * Move the unparsed bytes to the front and read until the buffer is full
 * or the input ends, so that record restarts stay rare.  The buffer
 * starts small, so small files cost little, and doubles up to cap while
 * the source keeps filling it, so large files are read in large blocks.
 * parse() decides that a record is too long by its bytes before the
 * buffer can fill up with it (cap > max_record + 2); the check here only
 * guarantees progress.
 */
static int refill(struct csv_reader *r, struct kerr *e)
{
	int rc;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	r->scan_ok = false;
	if (r->len == r->bcap || (r->was_full && r->bcap < r->cap)) {
		if (r->bcap == r->cap)
			return too_long(r, r->more_qline, e);
		rc = grow_buffer(r, e);
		if (rc)
			return rc;
	}
	while (r->len < r->bcap && !r->eof) {
		size_t got = 0;

		rc = r->src->read(r->src, r->buf + r->len, r->bcap - r->len,
				  &got, e);

		if (rc) {
			if (e->code != (enum kerr_code)rc)
				kerr_set(e, (enum kerr_code)rc, r->name,
					 "cannot read");
			return rc;
		}
		if (got > r->bcap - r->len)
			return kerr_set(e, KERR_INTERNAL, r->name,
					"source returned more than asked");
		if (got == 0)
			r->eof = true;
		r->len += got;
	}
	r->was_full = r->len == r->bcap;
	if (r->len > r->hiwater)
		r->hiwater = r->len;
	return 0;
}

static int grow_scratch(struct csv_reader *r, size_t need, struct kerr *e)
{
	size_t n = r->scap ? r->scap : 4096;
	uint8_t *p;

	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	p = malloc(n);
	if (!p)
		return kerr_set(e, KERR_NOMEM, r->name,
				"cannot allocate %zu bytes", n);
	if (r->scratch) {
		sodium_memzero(r->scratch, r->scap);
		free(r->scratch);
	}
	r->scratch = p;
	r->scap = n;
	return 0;
}

static int grow_fields(struct csv_reader *r, struct kerr *e)
{
	size_t n = r->fcap * 2;
	struct csv_field *f;

	if (r->fcap >= r->max_fields)
		return fail_at(r, e, KERR_LIMIT, r->line, 0,
			       "record has more than %zu fields",
			       r->max_fields);
	if (n > r->max_fields)
		n = r->max_fields;
	f = realloc(r->fields, n * sizeof *f);
	if (!f)
		return kerr_set(e, KERR_NOMEM, r->name, "cannot allocate");
	for (size_t i = r->fcap; i < n; i++)
		set_flags(&f[i], 0);
	r->fields = f;
	r->fcap = n;
	return 0;
}

/* ------------------------------------------------------------ structure */

/* d is ';', ',' or TAB. */
static void set_delim(struct csv_reader *r, char d)
{
	uint8_t *n = r->cls.nib;

	memset(n, 0xFF, sizeof r->cls.nib);
	for (int h = 0; h < 32; h += 16) {
		n[h + 0] = '\0';
		n[h + '\n'] = '\n';
		n[h + ('"' & 15)] = '"';
	}
	r->cls.d = (uint8_t)d;
	r->delim = d;
}

/*
 * Choose the delimiter from the first non-empty record: the most frequent
 * of ';' ',' TAB outside quotes (a quote opens a quoted field right after
 * any of them), ties to ';' then ','; none at all gives ','.  Looks at no
 * more than max_record + 2 bytes so the choice does not depend on the
 * buffer size.  Empty lines before the record are consumed.
 */
static int detect_delimiter(struct csv_reader *r)
{
	const uint8_t *b = r->buf;
	size_t end = r->len, lim, stop, i;
	size_t semi = 0, comma = 0, tab = 0;
	bool inq = false, fstart = true, cut;

	for (;;) {
		i = r->pos;
		if (i == end) {
			if (!r->eof)
				return MORE;
			break;
		}
		if (b[i] == '\n') {
			r->pos++;
			r->line++;
			continue;
		}
		if (b[i] == '\r') {
			if (i + 1 == end) {
				if (!r->eof)
					return MORE;
				r->pos++;
				continue;
			}
			if (b[i + 1] == '\n') {
				r->pos += 2;
				r->line++;
				continue;
			}
		}
		break;
	}
	lim = r->pos + r->max_record + 2;
	stop = end < lim ? end : lim;
	/* Running into `stop` is final only at the bound or end of input. */
	cut = stop == lim || r->eof;
	for (i = r->pos; i < stop; i++) {
		uint8_t c = b[i];

		if (inq) {
			if (c != '"')
				continue;
			if (i + 1 == stop && !cut)
				return MORE;
			if (i + 1 < stop && b[i + 1] == '"')
				i++;
			else
				inq = false;
			continue;
		}
		if (c == '\n')
			break;
		if (c == '"' && fstart) {
			inq = true;
			fstart = false;
			continue;
		}
		fstart = c == ';' || c == ',' || c == '\t';
		semi += c == ';';
		comma += c == ',';
		tab += c == '\t';
	}
	if (i == stop && !cut)
		return MORE;
	if (semi && semi >= comma && semi >= tab)
		set_delim(r, ';');
	else if (comma && comma >= tab)
		set_delim(r, ',');
	else if (tab)
		set_delim(r, '\t');
	else
		set_delim(r, ',');
	r->scan_ok = false;
	return 0;
}

static int decode(struct csv_reader *r, struct csv_record *rec, size_t rs,
		  size_t rlen, struct kerr *e);

static inline unsigned get_flags(const struct csv_field *f)
{
	uint8_t b;

	memcpy(&b, &f->quoted, 1);
	return b;
}

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Parse the record at r->pos.  0 with the record in *rec (n == 0 at end of
 * input), MORE if it is not whole in the buffer (nothing committed), or an
 * error.
 *
 * Events are only looked for before lim = min(record start + max_record,
 * end of data), so one test in the loop covers both the end of the data
 * and the record limit.  At lim a record may still end (LF or CRLF: the
 * line end does not count); anything else there makes it too long.  This
 * is decided by the bytes alone, never by how the input was chunked, so
 * the first error in byte order wins whatever the buffer held.
 *
 * In unquoted text, runs of delimiters are taken from the masks at once
 * as in fast_with(); other events one at a time.  With `hand`, the
 * record is taken over from fast_with() where it stopped (r->hand).
 */
INLINE int parse_with(struct csv_reader *r, struct csv_record *rec,
		     struct kerr *e, const block_fn bf, bool hand)
{
	const uint8_t *const buf = r->buf;
	const size_t end = r->len, maxrec = r->max_record;
	const bool eof = r->eof;
	const uint8_t d = (uint8_t)r->delim;
	const struct classes *const cls = &r->cls;
	struct csv_field *F = r->fields, *fp, *fend = F + r->fcap;
	size_t blk = r->blk, lim = r->lim, rs, nlim, fs, fe, ev, cq = 0, next;
	size_t pfield;
	struct bits s = r->s;
	uint64_t lfs, qline = 0;
	size_t nwork;
	const char *problem;
	unsigned fl, any;
	bool lf_end, fresh = !r->scan_ok;
	/* Once the file is known to be UTF-8, a valid sequence is checked
	 * here and its field stays zero-copy; anything else is left to
	 * decode() (F_HIGH), which also reports the error. */
	const bool utf8 = r->enc == CSV_ENC_UTF8 && r->enc_line != 0;
	size_t k;
	uint8_t c;
	int rc;

/* fields so far: fp - F; fp points at the next slot */
#define NF ((size_t)(fp - F))
#define PUSH(P, L)                                                        \
	do {                                                              \
		if (UNLIKELY(fp == fend)) {                               \
			size_t n_ = NF;                                   \
			rc = grow_fields(r, e);                           \
			if (rc)                                           \
				return rc;                                \
			F = r->fields;                                    \
			fend = F + r->fcap;                               \
			fp = F + n_;                                      \
		}                                                         \
		fp->p = (const char *)(P);                                \
		fp->len = (L);                                            \
		if (fl) {                                                 \
			set_flags(fp, fl);                                \
			if (NF + 1 > r->dirty)                            \
				r->dirty = NF + 1;                        \
		}                                                         \
		fp++;                                                     \
		any |= fl;                                                \
	} while (0)
/* Mark the current field for decode(), listing it the first time. */
#define FLAG(bit)                                                         \
	do {                                                              \
		if (!(fl & (F_COPY | F_HIGH))) {                          \
			if (nwork < WORK_MAX)                             \
				r->work[nwork] = NF;                      \
			nwork++;                                          \
		}                                                         \
		fl |= (bit);                                              \
	} while (0)

	if (hand) {
		const struct hand *h = &r->hand;

		rs = r->pos;
		blk = h->blk;
		s = h->s;
		lim = h->lim;
		fp = h->fp;
		fs = h->fs;
		lfs = h->lfs;
		nwork = h->nwork;
		any = h->any;
		problem = NULL;
		pfield = 0;
		fl = 0;
		goto unquoted;
	}
record:
	rs = r->pos;
	if (rs == end) {
		if (!eof)
			goto more;
		memset(rec, 0, sizeof *rec);
		rec->fields = F;
		rec->line = rec->end_line = r->line;
		return 0;
	}
	/* Events are scanned up to lim only; a block cut off at the last
	 * record's lim must be scanned again for this one. */
	nlim = end - rs > maxrec ? rs + maxrec : end;
	if (fresh || (nlim != lim && lim - blk < 64)) {
		blk = rs;
		s = block_at(buf, blk, nlim, bf, cls);
		fresh = false;
	}
	lim = nlim;
	lfs = 0;
	nwork = 0;
	fp = F;
	problem = NULL;
	pfield = 0;
	any = 0;
	fs = rs;
	fl = 0;

	/* Unquoted bytes: a plain field, or the text after a closing quote
	 * (then fs is still at the opening quote and fl has F_COPY). */
unquoted:
	for (;;) {
		/*
		 * The common case: plain fields, one after another.  Every
		 * delimiter before the next other event ends a field
		 * without flags, so they are all taken from the mask at
		 * once, a block at a time.  Anything else (another event,
		 * flags on the field, too few field slots) is left to the
		 * event loop below.
		 */
		while (fl == 0) {
			uint64_t o = s.ev & s.ot, dd = s.ev & (o - 1) & ~o;

			if (UNLIKELY(fend - fp < 64) &&
			    (size_t)__builtin_popcountll(dd) >
				    (size_t)(fend - fp))
				break;
			if (dd) {
				s.ev ^= dd;
				fp = emit(fp, buf, blk, &fs, dd);
			}
			if (s.ev || lim - blk <= 64)
				break;
			blk += 64;
			s = block_at(buf, blk, lim, bf, cls);
		}
		ev = next_ev(buf, lim, &blk, &s, bf, cls);
		if (UNLIKELY(ev == lim))
			goto at_limit;
		c = buf[ev];
		if (LIKELY(c == d)) {
			PUSH(buf + fs, ev - fs);
			fs = ev + 1;
			fl = 0;
			continue;
		}
		if (c == '\n') {
			fe = ev;
			if (fe > fs && buf[fe - 1] == '\r')
				fe--;
			next = ev + 1;
			lf_end = true;
			goto last_field;
		}
		if (c >= 0x80) {
			if (utf8 && (k = utf8_len(buf + ev, end - ev)) != 0) {
				/* its continuation bytes are events too */
				while (--k)
					(void)next_ev(buf, lim, &blk, &s, bf,
						      cls);
				continue;
			}
			FLAG(F_HIGH);
		} else if (c == '"') {
			if (ev == fs)
				goto quoted_field;
			if (!problem) {
				problem = csv_problem_quote;
				pfield = NF;
			}
		} else { /* NUL */
			if (!problem) {
				problem = csv_problem_nul;
				pfield = NF;
			}
			FLAG(F_COPY);
		}
	}

at_limit: /* no event left before lim */
	if (lim == end) {
		if (!eof)
			goto more;
		fe = end;
		/* a CR just before the end is a cut-off CRLF */
		if (fe > fs && buf[fe - 1] == '\r')
			fe--;
		if (fe - rs > maxrec)
			goto long_record;
		next = end;
		lf_end = false;
		goto last_field;
	}
	/* max_record bytes read: only the line end may come now */
	c = buf[lim];
	if (c == '\n') {
		fe = lim;
		if (fe > fs && buf[fe - 1] == '\r')
			fe--;
		next = lim + 1;
		lf_end = true;
		goto last_field;
	}
	if (c == '\r') {
		if (lim + 1 == end) {
			if (!eof)
				goto more;
			fe = lim;
			next = end;
			lf_end = false;
			goto last_field;
		}
		if (buf[lim + 1] == '\n') {
			fe = lim;
			next = lim + 2;
			lf_end = true;
			goto last_field;
		}
	}
	goto long_record;

quoted_field: /* the opening quote at fs is consumed */
	fl |= F_QUOTED;
	qline = r->line + lfs;
	for (;;) {
		ev = next_ev(buf, lim, &blk, &s, bf, cls);
		if (UNLIKELY(ev == lim)) {
			if (lim < end)
				goto long_record_q;
			if (!eof)
				goto more_quoted;
			if (end - rs > maxrec)
				goto long_record_q;
			return fail_at(r, e, KERR_FORMAT, qline, NF + 1,
				       "quoted field opened on line %llu is "
				       "never closed",
				       (unsigned long long)qline);
		}
		c = buf[ev];
		if (c == '"') {
			if (ev + 1 == end) {
				if (!eof)
					goto more_quoted;
				cq = ev;
				break;
			}
			if (buf[ev + 1] == '"') {
				FLAG(F_COPY);
				/* the second quote (unless past lim) */
				(void)next_ev(buf, lim, &blk, &s, bf, cls);
				continue;
			}
			cq = ev;
			break;
		}
		if (c == '\n') {
			lfs++;
		} else if (c >= 0x80) {
			if (utf8 && (k = utf8_len(buf + ev, end - ev)) != 0) {
				while (--k)
					(void)next_ev(buf, lim, &blk, &s, bf,
						      cls);
				continue;
			}
			FLAG(F_HIGH);
		} else if (c == '\0') {
			if (!problem) {
				problem = csv_problem_nul;
				pfield = NF;
			}
			FLAG(F_COPY);
		} /* else the delimiter, as data */
	}
	/* After the closing quote (before lim): delimiter, line end, or
	 * stray text.  A value without escapes is the bytes between the
	 * quotes.  The events consumed here are in the mask unless at or
	 * past lim, where next_ev consumes nothing. */
	next = cq + 1;
	if (next == end) {
		if (!eof)
			goto more;
		fe = end;
		lf_end = false;
		goto last_field;
	}
	c = buf[next];
	if (c == d) {
		if (next >= rs + maxrec)
			goto long_record;
		(void)next_ev(buf, lim, &blk, &s, bf, cls);
		if (fl & F_COPY)
			PUSH(buf + fs, next - fs);
		else
			PUSH(buf + fs + 1, cq - fs - 1);
		fs = next + 1;
		fl = 0;
		goto unquoted;
	}
	if (c == '\n' ||
	    (c == '\r' && next + 1 < end && buf[next + 1] == '\n')) {
		(void)next_ev(buf, lim, &blk, &s, bf, cls);
		fe = next;
		next += c == '\n' ? 1 : 2;
		lf_end = true;
		goto last_field;
	}
	if (c == '\r' && next + 1 == end) {
		if (!eof)
			goto more;
		fe = next;
		next = end;
		lf_end = false;
		goto last_field;
	}
	if (!problem) {
		problem = csv_problem_trailing;
		pfield = NF;
	}
	FLAG(F_COPY);
	goto unquoted;

last_field:
	/* A line end at or past lim was never an event to consume: the
	 * next record must be scanned afresh. */
	if (UNLIKELY(next > lim))
		fresh = true;
	if (fp == F && fe == fs && !fl) {
		/* An empty line: nothing, or only CR, before the LF. */
		r->pos = next;
		r->line += lf_end;
		goto record;
	}
	if ((fl & (F_QUOTED | F_COPY)) == F_QUOTED)
		PUSH(buf + fs + 1, cq - fs - 1);
	else
		PUSH(buf + fs, fe - fs);

	rec->fields = F;
	rec->n = NF;
#undef PUSH
#undef FLAG
#undef NF
	r->nwork = nwork;
	rec->line = r->line;
	rec->end_line = r->line + lfs;
	rec->problem = problem;
	rec->problem_field = pfield;
	r->line += lfs + lf_end;
	r->pos = next;
	r->blk = blk;
	r->s = s;
	r->lim = lim;
	r->scan_ok = !fresh;
	/* no field is longer than the record */
	if (LIKELY(!(any & (F_COPY | F_HIGH))) && fe - rs <= r->max_field)
		return 0;
	return decode(r, rec, rs, fe - rs, e);

more:
	r->more_qline = 0;
	return MORE;
more_quoted:
	r->more_qline = qline;
	return MORE;
long_record:
	return too_long(r, 0, e);
long_record_q:
	return too_long(r, qline, e);
}

/* fast_with() results besides 0 (done) and errors (> 0); MORE is -1 */
#define FAST_HAND (-2) /* carry on from r->hand in parse_with() */
#define FAST_NONE (-3) /* parse_with() takes the record from its start */

/*
 * The common record, parsed with as little state as possible: plain
 * fields, quoted fields (with "" escapes, line ends and delimiters
 * inside), and once the file is known to be UTF-8 valid sequences, up to
 * an LF before the record limit.  Returns 0 with the record in *rec (an
 * error only from decode(), as parse_with() would).  Anything else (a
 * stray quote, NUL, another byte >= 0x80, text after a closing quote, an
 * empty line, the end of the data or of the scanned blocks, too few
 * field slots, a sequence or quote pair across two blocks) commits
 * nothing and leaves the record to parse_with(): FAST_HAND in a plain
 * field, with the state in r->hand, so that the work so far is kept;
 * FAST_NONE (from the record's start) inside a quoted field or right
 * after one, or when the scanner is not set up for the record.
 */
INLINE int fast_with(struct csv_reader *r, struct csv_record *rec,
		     struct kerr *e, const block_fn bf)
{
	/* positions are pointers here: one register less per position
	 * in the loops than an index and the buffer */
	const uint8_t *const buf = r->buf, *const endp = buf + r->len;
	const size_t rs = r->pos;
	const uint8_t *const rsp = buf + rs;
	struct csv_field *const F = r->fields, *fp = F;
	struct csv_field *const fend = F + r->fcap;
	const bool utf8 = r->enc == CSV_ENC_UTF8 && r->enc_line != 0;
	/* a copy the field stores cannot alias, so it stays in registers */
	const struct classes cls = r->cls;
	const uint8_t *bp = buf + r->blk, *limp, *fsp = rsp, *ev, *fe, *next;
	size_t lim, nwork = 0, lfs = 0;
	struct bits s = r->s;
	uint64_t o, dd;
	unsigned k, n, fl, any = 0;
	uint8_t c;

	if (UNLIKELY(!r->scan_ok || rsp == endp))
		return FAST_NONE;
	lim = r->len - rs > r->max_record ? rs + r->max_record : r->len;
	/* a block cut off at the last record's lim: see parse_with */
	if (UNLIKELY(lim != r->lim && r->lim - r->blk < 64))
		return FAST_NONE;
	limp = buf + lim;
plain:
	for (;;) {
		o = s.ev & s.ot;
		dd = s.ev & (o - 1) & ~o;
		if (dd) {
			if (UNLIKELY(fend - fp < 64) &&
			    (size_t)__builtin_popcountll(dd) >
				    (size_t)(fend - fp))
				goto hand;
			s.ev ^= dd;
			fp = emit_at(fp, bp, &fsp, dd);
		}
		if (o) {
			k = (unsigned)__builtin_ctzll(o);
			ev = bp + k;
			c = *ev;
			if (LIKELY(c == '\n'))
				break;
			if (c == '"' && ev == fsp && fp != fend)
				goto quoted;
			/* a valid sequence within this block: its bytes
			 * are the next events */
			if (!utf8 || c < 0x80 ||
			    (n = (unsigned)utf8_len(ev, (size_t)(endp - ev))) ==
				    0 ||
			    k + n > 64)
				goto hand;
			s.ev &= ~(((UINT64_C(2) << (n - 1)) - 1) << k);
			continue;
		}
		if (limp - bp <= 64)
			goto hand;
		bp += 64;
		s = block_ptr(bp, limp, bf, &cls);
	}
	fe = ev;
	if (fe > fsp && fe[-1] == '\r')
		fe--;
	if (UNLIKELY(fp == fend || (fp == F && fe == fsp)))
		goto hand;
	fp->p = (const char *)fsp;
	fp->len = (size_t)(fe - fsp);
	fp++;
	s.ev &= s.ev - 1; /* the LF */
	next = ev + 1;

commit:
	rec->fields = F;
	rec->n = (size_t)(fp - F);
	rec->line = r->line;
	rec->end_line = r->line + lfs;
	rec->problem = NULL;
	rec->problem_field = 0;
	r->nwork = nwork;
	r->line += lfs + 1;
	r->pos = (size_t)(next - buf);
	r->blk = (size_t)(bp - buf);
	r->s = s;
	r->lim = lim;
	/* no field is longer than the record */
	if (LIKELY(!any) && (size_t)(fe - rsp) <= r->max_field)
		return 0;
	return decode(r, rec, rs, (size_t)(fe - rsp), e);

quoted: /* the opening quote is at ev == fsp, bit k */
	fl = F_QUOTED;
	s.ev &= s.ev - 1;
	for (;;) {
		while (s.ev == 0) {
			if (limp - bp <= 64)
				return FAST_NONE;
			bp += 64;
			s = block_ptr(bp, limp, bf, &cls);
		}
		k = (unsigned)__builtin_ctzll(s.ev);
		ev = bp + k;
		c = *ev;
		s.ev &= s.ev - 1;
		if (c == '"') {
			/* what follows, and a second quote's bit, must be
			 * in this block and before lim */
			if (ev + 1 >= limp || k == 63)
				return FAST_NONE;
			if (ev[1] == '"') {
				s.ev &= s.ev - 1;
				if (!(fl & F_COPY)) {
					if (nwork < WORK_MAX)
						r->work[nwork] = (size_t)(fp - F);
					nwork++;
				}
				fl |= F_COPY;
				continue;
			}
			break;
		}
		if (c == '\n') {
			lfs++;
		} else if (c >= 0x80) {
			if (!utf8 ||
			    (n = (unsigned)utf8_len(ev, (size_t)(endp - ev))) ==
				    0 ||
			    k + n > 64)
				return FAST_NONE;
			s.ev &= ~(((UINT64_C(2) << (n - 1)) - 1) << k);
		} else if (c != cls.d) {
			return FAST_NONE; /* NUL */
		}
	}
	/* The closing quote at ev (not the last bit of the block, nor at
	 * lim): then a delimiter or the line end, whose event is the next
	 * bit of this block. */
	next = ev + 1;
	c = *next;
	if (c == '\r' && next + 1 < limp && next + 1 - bp < 64 &&
	    next[1] == '\n')
		c = '\n';
	else if (c != cls.d && c != '\n')
		return FAST_NONE;
	fp->p = (const char *)fsp + (fl & F_COPY ? 0 : 1);
	fp->len = (size_t)(fl & F_COPY ? next - fsp : ev - fsp - 1);
	set_flags(fp, fl);
	fp++;
	r->dirty = (size_t)(fp - F); /* fp only grows here */
	any |= fl & F_COPY;
	s.ev &= s.ev - 1; /* the delimiter or LF */
	if (c == '\n') {
		fe = next;
		next += *next == '\r' ? 2 : 1;
		goto commit;
	}
	fsp = next + 1;
	goto plain;

hand:
	r->hand.fp = fp;
	r->hand.fs = (size_t)(fsp - buf);
	r->hand.blk = (size_t)(bp - buf);
	r->hand.lim = lim;
	r->hand.s = s;
	r->hand.lfs = lfs;
	r->hand.nwork = nwork;
	r->hand.any = any;
	return FAST_HAND;
}

static void clean_flags(struct csv_reader *r)
{
	for (size_t i = 0; i < r->dirty; i++)
		set_flags(&r->fields[i], 0);
	r->dirty = 0;
}

/*
 * The parsers, once per classifier: with bf a constant, the compiler
 * inlines the classifier into the loops, and the AVX2 copy is compiled
 * for AVX2 as a whole.  Chosen once per reader.  The general parser is
 * kept out of line so that the fast one stays small.
 */
#define PARSERS(name, bf, ...)                                             \
	__VA_ARGS__ __attribute__((noinline)) static int name##_slow(      \
		struct csv_reader *r, struct csv_record *rec,              \
		struct kerr *e, bool hand)                                 \
	{                                                                  \
		return parse_with(r, rec, e, bf, hand);                    \
	}                                                                  \
	__VA_ARGS__ static int name(struct csv_reader *r,                  \
				    struct csv_record *rec, struct kerr *e) \
	{                                                                  \
		int rc;                                                    \
                                                                           \
		if (UNLIKELY(r->dirty))                                    \
			clean_flags(r);                                    \
		rc = fast_with(r, rec, e, bf);                             \
		if (LIKELY(rc >= 0))                                       \
			return rc;                                         \
		/* starting over: slots it flagged are plain again */      \
		if (rc == FAST_NONE && r->dirty)                           \
			clean_flags(r);                                    \
		return name##_slow(r, rec, e, rc == FAST_HAND);            \
	}                                                                  \
	__VA_ARGS__ static int name##_general(struct csv_reader *r,        \
					      struct csv_record *rec,      \
					      struct kerr *e)              \
	{                                                                  \
		if (r->dirty)                                              \
			clean_flags(r);                                    \
		return name##_slow(r, rec, e, false);                      \
	}

#ifdef CSV_AVX2
/* BMI and POPCNT too: every AVX2 CPU has them, and tzcnt/blsr make the
 * hop from one event to the next a few instructions shorter (checked at
 * pick). */
PARSERS(parse_avx2, block_avx2,
	__attribute__((target("avx2,bmi,bmi2,popcnt"))))
#endif
#ifdef CSV_SSE2
PARSERS(parse_sse2, block_sse2)
#endif
/* Built everywhere, so tests can hold the others to it. */
PARSERS(parse_swar, block_swar)

/* The best parser up to `most` (a csv_classifier; CSV_CLS_BEST: any);
 * `general`: without the fast path. */
static parse_fn pick_parse(enum csv_classifier most, bool general)
{
#ifdef CSV_AVX2
	if ((most == CSV_CLS_BEST || most >= CSV_CLS_AVX2) &&
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
	    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
		return general ? parse_avx2_general : parse_avx2;
#endif
#ifdef CSV_SSE2
	if (most == CSV_CLS_BEST || most >= CSV_CLS_SSE2)
		return general ? parse_sse2_general : parse_sse2;
#endif
	return general ? parse_swar_general : parse_swar;
}

/* ------------------------------------------------------------- decoding */

/* Index of the first quote or NUL in raw[i..n), or n: a word at a time
 * while whole words are left. */
static inline size_t next_quote_nul(const uint8_t *raw, size_t i, size_t n)
{
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(raw + i);
		uint64_t z = (zero_bytes(w) | zero_bytes(w ^ (ONES * '"'))) &
			     HIGH;

		if (z)
			return i + ((size_t)__builtin_ctzll(z) >> 3);
	}
	while (i < n && raw[i] != '"' && raw[i] != '\0')
		i++;
	return i;
}

/* The value of a field that must be rebuilt: "" -> ", the quotes around
 * the quoted part dropped, text after it kept, NUL bytes dropped.  The
 * bytes between those are copied a span at a time. */
static size_t unescape(const uint8_t *raw, size_t n, bool quoted,
		       uint8_t *out)
{
	size_t i = quoted ? 1 : 0, o = 0, j;

	for (;;) {
		j = next_quote_nul(raw, i, n);
		memcpy(out + o, raw + i, j - i);
		o += j - i;
		if (j == n)
			return o;
		i = j + 1;
		if (raw[j] == '\0')
			continue; /* dropped */
		if (!quoted) {
			out[o++] = '"'; /* text after the quoted part */
			continue;
		}
		if (i < n && raw[i] == '"') {
			out[o++] = '"';
			i++;
			continue;
		}
		quoted = false; /* the closing quote */
	}
}

/* Where a byte of a field's value sits: LFs survive unescaping, so
 * counting them in the raw record before the field and in the value
 * before the byte gives its physical line. */
struct where {
	const struct csv_record *rec;
	const uint8_t *rb;  /* the record's raw bytes */
	const uint8_t *raw; /* the field's raw bytes */
	size_t col;         /* 1-based */
};

static uint64_t line_of(const struct where *w, const uint8_t *p, size_t k)
{
	return w->rec->line + count_lf(w->rb, (size_t)(w->raw - w->rb)) +
	       count_lf(p, k);
}

/*
 * A value with a byte >= 0x80: settle the encoding if still open (at the
 * first such byte of the file), then check the value as UTF-8 in place or
 * transcode it from Windows-1252 into scratch at *so.
 */
static int decode_text(struct csv_reader *r, const struct where *w,
		       const uint8_t **pp, size_t *lenp, size_t *so,
		       struct kerr *e)
{
	const uint8_t *p = *pp;
	size_t n = *lenp, j, k;
	uint8_t *o0, *o;

	if (UNLIKELY(r->enc_line == 0)) {
		k = first_high(p, n);
		if (k == n)
			return 0; /* cannot happen: F_HIGH was set */
		r->enc_line = line_of(w, p, k);
		if (r->enc == CSV_ENC_AUTO) {
			r->enc = utf8_seq(p + k, n - k) ? CSV_ENC_UTF8
							: CSV_ENC_CP1252;
			r->detected = true;
		}
	}
	if (r->enc == CSV_ENC_UTF8) {
		j = utf8_bad(p, n, 0);
		if (j == n)
			return 0;
		if (r->bom)
			return fail_at(r, e, KERR_FORMAT, line_of(w, p, j),
				       w->col,
				       "byte 0x%02X is not valid UTF-8 (the "
				       "file starts with a UTF-8 byte order "
				       "mark)",
				       p[j]);
		if (r->detected)
			return fail_at(r, e, KERR_FORMAT, line_of(w, p, j),
				       w->col,
				       "byte 0x%02X is not valid UTF-8 "
				       "(detected UTF-8 from line %llu); "
				       "declare --encoding cp1252 if the file "
				       "is Windows-1252",
				       p[j], (unsigned long long)r->enc_line);
		return fail_at(r, e, KERR_FORMAT, line_of(w, p, j), w->col,
			       "byte 0x%02X is not valid UTF-8", p[j]);
	}

	/* Scratch has 3 bytes per input byte plus slack, so a word may be
	 * stored for every byte; a word of 8 ASCII bytes is copied whole. */
	o0 = o = r->scratch + *so;
	for (j = 0; j < n; j++) {
		uint8_t c;

		if ((j & 7) == 0 && j + 8 <= n && !(load64(p + j) & HIGH)) {
			memcpy(o, p + j, 8);
			o += 8;
			j += 7;
			continue;
		}
		c = p[j];
		if (c >= 0x80) {
			if (!cp1252_len[c]) {
				if (r->detected)
					return fail_at(
						r, e, KERR_FORMAT,
						line_of(w, p, j), w->col,
						"byte 0x%02X is not defined in "
						"Windows-1252 (guessed "
						"Windows-1252 from line %llu)",
						c, (unsigned long long)
							   r->enc_line);
				return fail_at(r, e, KERR_FORMAT,
					       line_of(w, p, j), w->col,
					       "byte 0x%02X is not defined in "
					       "Windows-1252",
					       c);
			}
			if (r->detected && c >= 0xC2 && c <= 0xF4 &&
			    utf8_seq(p + j, n - j))
				return fail_at(
					r, e, KERR_FORMAT, line_of(w, p, j),
					w->col,
					"file mixes UTF-8 and Windows-1252 "
					"(guessed Windows-1252 from line "
					"%llu); declare --encoding",
					(unsigned long long)r->enc_line);
		}
		memcpy(o, &cp1252_utf8[c], 4);
		o += cp1252_len[c];
	}
	*pp = o0;
	*lenp = (size_t)(o - o0);
	*so += *lenp;
	return 0;
}

static int field_too_long(struct csv_reader *r, const struct where *w,
			  struct kerr *e)
{
	return fail_at(r, e, KERR_LIMIT, line_of(w, w->raw, 0), w->col,
		       "field is longer than %zu bytes", r->max_field);
}

/* One field of decode(): rebuild, check or transcode, settle `quoted`. */
static int decode_field(struct csv_reader *r, struct where *w, size_t i,
			size_t *so, struct kerr *e)
{
	struct csv_field *f = &r->fields[i];
	unsigned fl = get_flags(f);
	const uint8_t *p = (const uint8_t *)f->p;
	size_t len = f->len;
	int rc;

	f->quoted = fl & F_QUOTED;
	w->raw = p;
	w->col = i + 1;
	if (fl & F_COPY) {
		len = unescape(p, len, fl & F_QUOTED, r->scratch + *so);
		p = r->scratch + *so;
		*so += len;
	}
	if (fl & F_HIGH) {
		rc = decode_text(r, w, &p, &len, so, e);
		if (rc)
			return rc;
	}
	if (len > r->max_field)
		return field_too_long(r, w, e);
	f->p = (const char *)p;
	f->len = len;
	return 0;
}

/*
 * Turn the raw fields of a record (rlen raw bytes at rs) into UTF-8
 * values: only those parse() listed (rebuild, bytes >= 0x80) are touched,
 * unless the list overflowed or the record is long enough for a field to
 * pass max_field.  Scratch is sized before the first byte is written (per
 * field at most its raw bytes unescaped plus three bytes per byte
 * transcoded), so pointers handed out for earlier fields stay valid.
 */
static int decode(struct csv_reader *r, struct csv_record *rec, size_t rs,
		  size_t rlen, struct kerr *e)
{
	struct where w = { rec, r->buf + rs, NULL, 0 };
	size_t so = 0, need;
	int rc = 0;

	if (rlen > (SIZE_MAX - 16) / 4)
		return kerr_set(e, KERR_NOMEM, r->name, "record too large");
	need = 4 * rlen + 16;
	if (need > r->scap) {
		rc = grow_scratch(r, need, e);
		if (rc)
			return rc;
	}
	if (r->nwork <= WORK_MAX && rlen <= r->max_field) {
		for (size_t k = 0; k < r->nwork && !rc; k++)
			rc = decode_field(r, &w, r->work[k], &so, e);
		return rc;
	}
	for (size_t i = 0; i < rec->n && !rc; i++)
		rc = decode_field(r, &w, i, &so, e);
	return rc;
}

/* ------------------------------------------------------------------ API */

static int open_common(struct csv_reader **out, struct ksrc *src,
		       uint8_t *block, size_t block_len,
		       const struct csv_opts *o, struct kerr *e)
{
	static const struct csv_opts defaults;
	const char *name;
	struct csv_reader *r;
	size_t cap;

	*out = NULL;
	if (!o)
		o = &defaults;
	name = o->name ? o->name : "register";
	if (!block && (!src || !src->read))
		return kerr_set(e, KERR_USAGE, name, "no source to read");
	if (o->delimiter != 0 && o->delimiter != ';' && o->delimiter != ',' &&
	    o->delimiter != '\t')
		return kerr_set(e, KERR_USAGE, name,
				"the delimiter must be ';', ',' or a tab");
	if (o->encoding != CSV_ENC_AUTO && o->encoding != CSV_ENC_UTF8 &&
	    o->encoding != CSV_ENC_CP1252)
		return kerr_set(e, KERR_USAGE, name, "unknown encoding");
	if (o->max_record > CAP_MAX_RECORD || o->max_fields > CAP_MAX_FIELDS)
		return kerr_set(e, KERR_USAGE, name,
				"limits past %zu bytes per record or %zu "
				"fields are not limits",
				CAP_MAX_RECORD, CAP_MAX_FIELDS);
	if (o->encoding != CSV_ENC_UTF8) {
		pthread_once(&cp1252_once, cp1252_build);
		if (!cp1252_ok)
			return kerr_set(e, KERR_INTERNAL, name,
					"iconv cannot decode Windows-1252");
	}

	r = calloc(1, sizeof *r);
	if (!r)
		return kerr_set(e, KERR_NOMEM, name, "cannot allocate");
	r->src = src;
	r->name = name;
	r->max_field = o->max_field ? o->max_field : DEF_MAX_FIELD;
	r->max_fields = o->max_fields ? o->max_fields : DEF_MAX_FIELDS;
	r->max_record = o->max_record ? o->max_record : DEF_MAX_RECORD;
	r->declared = o->encoding;
	r->enc = o->encoding;
	if (o->delimiter)
		set_delim(r, o->delimiter);
	r->line = 1;
	r->parse = pick_parse(o->classifier, o->no_fast_path);
	cap = o->buffer_size ? o->buffer_size : DEF_BUFFER;
	if (cap < r->max_record + 64)
		cap = r->max_record + 64;
	r->cap = cap;
	r->bcap = cap / 16 < 256 ? 256 : cap / 16 > 65536 ? 65536 : cap / 16;
	if (r->bcap > cap)
		r->bcap = cap;
	if (block) {
		/* All the input is there: refill() is never needed, since
		 * parse() only asks for more before the end of input. */
		r->buf = block;
		r->borrowed = true;
		r->len = r->bcap = r->cap = block_len;
		r->eof = true;
	} else {
		/* calloc: the block scanner may load (and mask off) bytes
		 * past the data, which should at least be initialised. */
		r->buf = calloc(1, r->bcap + PAD);
	}
	/* room for the fast path in parse() (see there) from the start */
	r->fcap = r->max_fields < 256 ? r->max_fields : 256;
	r->fields = calloc(r->fcap, sizeof *r->fields);
	if (!r->buf || !r->fields) {
		csv_free(r);
		return kerr_set(e, KERR_NOMEM, name, "cannot allocate");
	}
	*out = r;
	return 0;
}

int csv_open(struct csv_reader **out, struct ksrc *src,
	     const struct csv_opts *o, struct kerr *e)
{
	return open_common(out, src, NULL, 0, o, e);
}

/* Take over the state of a reader that stopped at `at`. */
static int resume(struct csv_reader *r, const struct csv_pos *at,
		  struct kerr *e)
{
	if (at->delimiter != ';' && at->delimiter != ',' &&
	    at->delimiter != '\t')
		return kerr_set(e, KERR_USAGE, r->name,
				"a reader resumes with a settled delimiter");
	r->started = true;
	r->base = at->offset;
	r->line = at->line;
	set_delim(r, at->delimiter);
	r->enc = at->encoding;
	r->detected = at->detected;
	r->bom = at->bom;
	r->enc_line = at->enc_line;
	return 0;
}

int csv_open_at(struct csv_reader **out, struct ksrc *src,
		const struct csv_opts *o, const struct csv_pos *at,
		struct kerr *e)
{
	int rc = open_common(out, src, NULL, 0, o, e);

	if (!rc && (rc = resume(*out, at, e)) != 0) {
		csv_free(*out);
		*out = NULL;
	}
	return rc;
}

int csv_open_block(struct csv_reader **out, uint8_t *p, size_t n,
		   const struct csv_opts *o, const struct csv_pos *at,
		   struct kerr *e)
{
	int rc;

	if (!p) {
		*out = NULL;
		return kerr_set(e, KERR_USAGE, "register", "no block");
	}
	rc = open_common(out, NULL, p, n, o, e);
	if (!rc && (rc = resume(*out, at, e)) != 0) {
		csv_free(*out);
		*out = NULL;
	}
	return rc;
}

void csv_pos_get(const struct csv_reader *r, struct csv_pos *at)
{
	at->offset = r->base + r->pos;
	at->line = r->line;
	at->delimiter = r->delim;
	at->encoding = r->enc;
	at->detected = r->detected;
	at->bom = r->bom;
	at->enc_line = r->enc_line;
}

/* First call: fill the buffer and deal with a byte order mark. */
static int start(struct csv_reader *r, struct kerr *e)
{
	int rc = refill(r, e);

	if (rc)
		return rc;
	r->started = true;
	if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
		if (r->declared == CSV_ENC_CP1252)
			return fail_at(r, e, KERR_FORMAT, 1, 0,
				       "UTF-8 byte order mark in a file "
				       "declared Windows-1252");
		r->pos = 3;
		r->bom = true;
		r->scan_ok = false;
		if (r->enc == CSV_ENC_AUTO) {
			r->enc = CSV_ENC_UTF8;
			r->detected = true;
		}
	}
	return 0;
}

static int fail(struct csv_reader *r, int rc, struct kerr *e)
{
	r->failed = rc;
	r->err = *e;
	return rc;
}

/* csv_next() past its common case; rc: what r->parse() just returned
 * (not 0), or 0 if it has not run. */
static __attribute__((noinline)) int next_slow(struct csv_reader *r,
					       struct csv_record *rec,
					       struct kerr *e, int rc)
{
	struct kerr local;

	if (!e)
		e = &local;
	if (rc)
		goto parsed;
	if (UNLIKELY(r->failed)) {
		memset(rec, 0, sizeof *rec);
		*e = r->err;
		return r->failed;
	}
	if (UNLIKELY(!r->started)) {
		rc = start(r, e);
		if (rc) {
			memset(rec, 0, sizeof *rec);
			return fail(r, rc, e);
		}
	}
	for (;;) {
		if (!r->delim) {
			rc = detect_delimiter(r);
			if (rc == 0)
				continue;
		} else {
			rc = r->parse(r, rec, e);
			if (rc == 0)
				return 0;
		}
parsed:
		if (rc == MORE) {
			rc = refill(r, e);
			if (rc == 0)
				continue;
		}
		memset(rec, 0, sizeof *rec);
		return fail(r, rc, e);
	}
}

int csv_next(struct csv_reader *r, struct csv_record *rec, struct kerr *e)
{
	int rc;

	if (LIKELY(e && !r->failed && r->started && r->delim)) {
		rc = r->parse(r, rec, e);
		if (LIKELY(rc == 0))
			return 0;
		return next_slow(r, rec, e, rc);
	}
	return next_slow(r, rec, e, 0);
}

uint64_t csv_bytes_read(const struct csv_reader *r)
{
	return r->base + r->pos;
}

char csv_delimiter(const struct csv_reader *r)
{
	return r->delim;
}

enum csv_encoding csv_encoding_used(const struct csv_reader *r)
{
	return r->enc;
}

bool csv_encoding_detected(const struct csv_reader *r)
{
	return r->detected;
}

uint64_t csv_encoding_line(const struct csv_reader *r)
{
	return r->enc_line;
}

bool csv_had_bom(const struct csv_reader *r)
{
	return r->bom;
}

void csv_free(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->buf && !r->borrowed) {
		sodium_memzero(r->buf, r->hiwater);
		free(r->buf);
	}
	if (r->scratch) {
		sodium_memzero(r->scratch, r->scap);
		free(r->scratch);
	}
	free(r->fields);
	sodium_memzero(r, sizeof *r);
	free(r);
}
