/*
 * pkgread — the streaming reader of a package's plaintext.
 *
 * Bytes go through one buffer (256 KiB, grown only for a record longer
 * than what is left of it, up to PKGR_MAX_RECORD).  Invariants:
 *   - buf[pos .. len) is unread input; everything before pos is done with;
 *   - once the head line is consumed, every byte between hpos and pos is a
 *     consumed byte of the CSV section not yet hashed.  Bytes are hashed
 *     only when the buffer is compacted and at the tail, so the digest runs
 *     over spans of about the buffer's size, not per record;
 *   - a record is parsed only once its whole line is in the buffer (its
 *     end found by quote parity, the scan resumable across refills), so
 *     the outcome never depends on how the source cuts its reads;
 *   - values of a record without a quote point straight into the buffer;
 *     a record with quotes is unescaped into `scratch`.  Nothing is
 *     allocated per record.
 * A record is checked in this order: its structure (quotes, CR) in byte
 * order, then its number of fields, then its values column by column.
 */
#include "pkgread.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktime.h"
#include "utf8.h"

#include "banned.h"

#define BUF_START (256u << 10)
/* Room for a record one byte over the limit, so a too long record is seen
 * as such whatever the reads. */
#define BUF_MAX (PKGR_MAX_RECORD + 1)
/* Fields stored per record: one more than allowed, to count past it. */
#define STORE_N (PKGR_MAX_FIELDS + 1)

static const char records_type[] =
	"text/csv; charset=utf-8; header=present; delimiter=','; newline=LF";

enum phase { PH_HEAD, PH_HEADER, PH_RECORDS, PH_TAIL };

struct pkg_reader {
	struct ksrc *src;
	uint8_t *buf;
	size_t cap, pos, len;
	bool eof;
	bool hashing;
	size_t hpos;
	crypto_generichash_state hash;
	/* Record end search, resumable across refills (offset from pos). */
	size_t scan;
	bool in_quotes, quoted;
	uint8_t *scratch;        /* unescaped values of a quoted record */
	size_t scratch_cap;
	const char **vals;       /* STORE_N each */
	size_t *lens;
	size_t n_cols;
	uint64_t records;
	enum phase phase;
	struct pkg_info info;
	char digest[PKG_DIGEST_LEN + 1];
	bool done;
	int rc;                  /* sticky failure */
	struct kerr err;
};

/* ------------------------------------------------------------ errors */

static int fail(struct pkg_reader *r, struct kerr *e, enum kerr_code code,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Record the error with the place the reader is at, and make it stick. */
static int fail(struct pkg_reader *r, struct kerr *e, enum kerr_code code,
		const char *fmt, ...)
{
	char why[sizeof e->why];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	kerr_set(e, code, "package", "%s", why);
	switch (r->phase) {
	case PH_HEAD:
		kerr_where(e, "head");
		break;
	case PH_HEADER:
		kerr_where(e, "header");
		break;
	case PH_RECORDS:
		kerr_where(e, "record %llu",
			   (unsigned long long)r->records + 1);
		break;
	case PH_TAIL:
		kerr_where(e, "tail");
		break;
	}
	r->rc = code;
	r->err = *e;
	return code;
}

/* An error from the source (I/O, decryption) passes through as it is. */
static int fail_src(struct pkg_reader *r, int rc, struct kerr *e)
{
	r->rc = rc;
	r->err = *e;
	return rc;
}

/* ------------------------------------------------------------ buffer */

/* A new block of ncap bytes holding the first keep bytes of *p; the old
 * block is wiped before it goes. */
static bool wipe_grow(uint8_t **p, size_t *cap, size_t ncap, size_t keep)
{
	uint8_t *np = malloc(ncap);

	if (!np)
		return false;
	if (*p) {
		memcpy(np, *p, keep);
		sodium_memzero(*p, *cap);
		free(*p);
	}
	*p = np;
	*cap = ncap;
	return true;
}

/*
 * Read more input behind len.  Consumed bytes are hashed (when in the CSV
 * section) and dropped first, so pos becomes 0; offsets from pos stay
 * valid.  The buffer grows when full: callers refuse a record over the
 * limit before asking for more, so it never needs to pass BUF_MAX.
 */
static int refill(struct pkg_reader *r, struct kerr *e)
{
	size_t got = 0;
	int rc;

	if (r->eof)
		return 0;
	if (r->pos) {
		if (r->hashing && r->pos > r->hpos)
			crypto_generichash_update(&r->hash, r->buf + r->hpos,
						  r->pos - r->hpos);
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
		r->hpos = 0;
	}
	if (r->len == r->cap) {
		size_t ncap = r->cap * 2 < BUF_MAX ? r->cap * 2 : BUF_MAX;

		if (ncap <= r->cap)
			return fail(r, e, KERR_INTERNAL,
				    "reader buffer full below the limit");
		if (!wipe_grow(&r->buf, &r->cap, ncap, r->len))
			return fail(r, e, KERR_NOMEM, "out of memory");
	}
	rc = r->src->read(r->src, r->buf + r->len, r->cap - r->len, &got, e);
	if (rc)
		return fail_src(r, rc, e);
	if (got > r->cap - r->len)
		return fail(r, e, KERR_INTERNAL, "source read past its buffer");
	if (!got)
		r->eof = true;
	r->len += got;
	return 0;
}

/* At least `want` bytes at pos unless input ends first. */
static int want_bytes(struct pkg_reader *r, size_t want, struct kerr *e)
{
	while (r->len - r->pos < want && !r->eof)
		if (refill(r, e))
			return r->rc;
	return 0;
}

/*
 * The line at pos: *L = its length with the LF, or 0 if input ends without
 * one.  A line (LF included) over max bytes is KERR_LIMIT, `name` saying
 * which line.
 */
static int find_line(struct pkg_reader *r, size_t max, const char *name,
		     size_t *L, struct kerr *e)
{
	size_t off = 0;

	for (;;) {
		const uint8_t *p = r->buf + r->pos;
		size_t avail = r->len - r->pos;
		const uint8_t *lf = memchr(p + off, '\n', avail - off);

		if (lf) {
			*L = (size_t)(lf - p) + 1;
			if (*L > max)
				break;
			return 0;
		}
		off = avail;
		if (avail >= max)
			break;
		if (r->eof) {
			*L = 0;
			return 0;
		}
		if (refill(r, e))
			return r->rc;
	}
	return fail(r, e, KERR_LIMIT, "the %s line is longer than %zu KiB",
		    name, max >> 10);
}

/*
 * The end of the record at pos, found by quote parity: the first LF
 * outside quotes.  *L = the record's length with its LF, or 0 if input
 * ends first.  r->quoted tells whether the record holds a quote at all.
 */
static int find_record_end(struct pkg_reader *r, size_t *L, struct kerr *e)
{
	for (;;) {
		const uint8_t *p = r->buf + r->pos;
		size_t avail = r->len - r->pos, off = r->scan;
		bool inq = r->in_quotes;

		while (off < avail) {
			const uint8_t *q, *lf;
			size_t end;

			if (inq) {
				q = memchr(p + off, '"', avail - off);
				if (!q) {
					off = avail;
					break;
				}
				off = (size_t)(q - p) + 1;
				inq = false;
				continue;
			}
			lf = memchr(p + off, '\n', avail - off);
			end = lf ? (size_t)(lf - p) : avail;
			q = memchr(p + off, '"', end - off);
			if (q) {
				off = (size_t)(q - p) + 1;
				inq = true;
				r->quoted = true;
				continue;
			}
			if (lf) {
				r->scan = 0;
				r->in_quotes = false;
				*L = end + 1;
				if (*L > PKGR_MAX_RECORD)
					goto too_long;
				return 0;
			}
			off = avail;
		}
		r->scan = off;
		r->in_quotes = inq;
		if (avail > PKGR_MAX_RECORD)
			goto too_long;
		if (r->eof) {
			*L = 0;
			return 0;
		}
		if (refill(r, e))
			return r->rc;
	}
too_long:
	return fail(r, e, KERR_LIMIT, "a record is longer than %u MiB",
		    PKGR_MAX_RECORD >> 20);
}

/* ------------------------------------------------------------ values */

#define ONES 0x0101010101010101u
#define LOW7 0x7f7f7f7f7f7f7f7fu
#define HIGHS 0x8080808080808080u

/* Eight bytes, the first one in the lowest bits whatever the machine. */
static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The high bit of every byte of w that equals c; exact per byte (no
 * borrow between bytes), so the bits can be used as positions. */
static inline uint64_t bytes_eq(uint64_t w, uint8_t c)
{
	uint64_t x = w ^ (ONES * c);

	return ~(((x & LOW7) + LOW7) | x | LOW7);
}

/* Nonzero iff some byte of w is zero (presence only). */
static inline uint64_t has_zero(uint64_t w)
{
	return (w - ONES) & ~w & HIGHS;
}

enum { V_OK, V_NUL, V_UTF8 };

/* Whether p[0..n) is valid UTF-8 without NUL: ASCII eight bytes at a
 * time, the full check only from a high or zero byte on. */
static int check_value(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k;

		while (i + 8 <= n) {
			uint64_t w = load64(p + i);

			if ((w & HIGHS) | has_zero(w))
				break;
			i += 8;
		}
		if (i == n)
			break;
		if (p[i] == 0)
			return V_NUL;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (!(k = utf8_seq(p + i, n - i)))
			return V_UTF8;
		i += k;
	}
	return V_OK;
}

/* Store field f (counting past what is stored). */
static inline void store(struct pkg_reader *r, size_t f, const void *p,
			 size_t n)
{
	if (f < STORE_N) {
		r->vals[f] = p;
		r->lens[f] = n;
	}
}

/*
 * Split a record without quotes (p[0..n), its LF not included) at its
 * commas, eight bytes at a time.  *nf = the number of fields, *check =
 * whether a value may be invalid (a high or a zero byte somewhere).  CR
 * is refused here: outside quotes it can only be a CRLF line end.
 */
static int split_plain(struct pkg_reader *r, const uint8_t *p, size_t n,
		       size_t *nf, bool *check, struct kerr *e)
{
	uint64_t hi = 0, bad = 0;
	size_t f = 0, start = 0, i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(p + i);
		uint64_t c = bytes_eq(w, ',');

		hi |= w;
		bad |= has_zero(w) | bytes_eq(w, '\r');
		while (c) {
			size_t at = i + (size_t)(__builtin_ctzll(c) >> 3);

			store(r, f++, p + start, at - start);
			start = at + 1;
			c &= c - 1;
		}
	}
	for (; i < n; i++) {
		hi |= p[i];
		if (p[i] == 0 || p[i] == '\r')
			bad = 1;
		else if (p[i] == ',') {
			store(r, f++, p + start, i - start);
			start = i + 1;
		}
	}
	store(r, f++, p + start, n - start);
	if (bad) {
		size_t col = 1;

		for (i = 0; i < n; i++) {
			if (p[i] == ',')
				col++;
			else if (p[i] == '\r')
				return fail(r, e, KERR_FORMAT,
					    "CR outside quotes in column %zu "
					    "(lines must end in LF alone)",
					    col);
		}
	}
	*nf = f;
	*check = (hi & HIGHS) || bad;
	return 0;
}

enum { S_START, S_PLAIN, S_QUOTED, S_QUOTE };

/*
 * Parse a record with quotes (p[0..n), its LF not included) into
 * scratch.  With `partial`, the bytes are what is left at end of input
 * with no record end: the first structural error is reported, else that
 * the input is truncated.
 */
static int split_quoted(struct pkg_reader *r, const uint8_t *p, size_t n,
			bool partial, size_t *nf, struct kerr *e)
{
	uint8_t *d, *start;
	size_t f = 0, i = 0;
	int st = S_START;

	/* Unescaped values are never longer than the record. */
	if (r->scratch_cap < n + 1 &&
	    !wipe_grow(&r->scratch, &r->scratch_cap, n + 1, 0))
		return fail(r, e, KERR_NOMEM, "out of memory");
	d = start = r->scratch;
	while (i < n) {
		uint8_t c = p[i];

		switch (st) {
		case S_START:
			if (c == '"') {
				st = S_QUOTED;
				i++;
				break;
			}
			st = S_PLAIN;
			/* fall through */
		case S_PLAIN: {
			/* The run of ordinary bytes in one go. */
			size_t j = i;

			while (j < n && p[j] != ',' && p[j] != '"' &&
			       p[j] != '\r' && p[j] != '\n')
				j++;
			memcpy(d, p + i, j - i);
			d += j - i;
			i = j;
			if (i == n)
				break;
			c = p[i];
			if (c == ',') {
				store(r, f++, start, (size_t)(d - start));
				start = d;
				st = S_START;
			} else if (c == '"') {
				return fail(r, e, KERR_FORMAT,
					    "a quote inside an unquoted field "
					    "(column %zu)", f + 1);
			} else if (c == '\r') {
				return fail(r, e, KERR_FORMAT,
					    "CR outside quotes in column %zu "
					    "(lines must end in LF alone)",
					    f + 1);
			} else {
				/* LF outside quotes ends a record: only
				 * reachable after an error above. */
				return fail(r, e, KERR_INTERNAL,
					    "line end inside a record");
			}
			i++;
			break;
		}
		case S_QUOTED: {
			const uint8_t *q = memchr(p + i, '"', n - i);
			size_t k = q ? (size_t)(q - p) - i : n - i;

			memcpy(d, p + i, k);
			d += k;
			i += k;
			if (q) {
				st = S_QUOTE;
				i++;
			}
			break;
		}
		case S_QUOTE:
			if (c == '"') {
				*d++ = '"';
				st = S_QUOTED;
			} else if (c == ',') {
				store(r, f++, start, (size_t)(d - start));
				start = d;
				st = S_START;
			} else if (c == '\r') {
				return fail(r, e, KERR_FORMAT,
					    "CR after the closing quote of "
					    "column %zu (lines must end in LF "
					    "alone)", f + 1);
			} else {
				return fail(r, e, KERR_FORMAT,
					    "characters after the closing "
					    "quote of column %zu", f + 1);
			}
			i++;
			break;
		}
	}
	if (partial) {
		if (st == S_QUOTED)
			return fail(r, e, KERR_FORMAT,
				    "unterminated quote in column %zu at end "
				    "of input", f + 1);
		if (r->phase == PH_HEADER)
			return fail(r, e, KERR_FORMAT,
				    "truncated: the header has no line end");
		return fail(r, e, KERR_FORMAT,
			    "truncated: the record has no line end (no tail "
			    "line after record %llu)",
			    (unsigned long long)r->records);
	}
	store(r, f++, start, (size_t)(d - start));
	*nf = f;
	return 0;
}

/*
 * Read the record (or the header) at pos: find its end, split it, check
 * the number of fields (`want`, or 0 for any up to the limit) and the
 * values, and consume it.  r->vals / r->lens then hold its fields.
 */
static int read_record(struct pkg_reader *r, size_t want, size_t *nf,
		       struct kerr *e)
{
	const uint8_t *p;
	size_t L = 0, n;
	bool check = true;

	r->scan = 0;
	r->in_quotes = false;
	r->quoted = false;
	if (find_record_end(r, &L, e))
		return r->rc;
	p = r->buf + r->pos;
	if (!L)
		return split_quoted(r, p, r->len - r->pos, true, nf, e);
	n = L - 1;
	if (r->quoted ? split_quoted(r, p, n, false, nf, e)
		      : split_plain(r, p, n, nf, &check, e))
		return r->rc;
	if (*nf > PKGR_MAX_FIELDS)
		return fail(r, e, KERR_LIMIT, "more than %u fields",
			    PKGR_MAX_FIELDS);
	if (want && *nf != want) {
		if (n == 0)
			return fail(r, e, KERR_FORMAT,
				    "an empty line (a record has %zu fields)",
				    want);
		return fail(r, e, KERR_FORMAT,
			    "the record has %zu field%s, the header has %zu",
			    *nf, *nf == 1 ? "" : "s", want);
	}
	for (size_t i = 0; check && i < *nf; i++) {
		switch (check_value((const uint8_t *)r->vals[i], r->lens[i])) {
		case V_NUL:
			return fail(r, e, KERR_FORMAT,
				    "a NUL byte in column %zu", i + 1);
		case V_UTF8:
			return fail(r, e, KERR_FORMAT,
				    "column %zu is not valid UTF-8", i + 1);
		default:
			break;
		}
	}
	r->pos += L;
	return 0;
}

/* ------------------------------------------------------------ JSON lines */

/* Whether every key of o is one of the NULL-terminated list. */
static bool only_keys(json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i = 0;

		while (keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (!keys[i])
			return false;
	}
	return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

/* Parse one JSON line (LF excluded) that must be an object; `name` for
 * messages.  Positions, never jansson's text: it quotes the input. */
static int parse_line(struct pkg_reader *r, const uint8_t *p, size_t n,
		      const char *name, json_t **out, struct kerr *e)
{
	json_error_t jerr;
	json_t *o;

	*out = NULL;
	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		return fail(r, e, KERR_FORMAT,
			    "the %s line is not one JSON object ending in LF",
			    name);
	o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return fail(r, e, KERR_FORMAT,
			    "the %s line is not valid JSON (at byte %d)", name,
			    jerr.position);
	if (!json_is_object(o)) {
		json_decref(o);
		return fail(r, e, KERR_FORMAT,
			    "the %s line is not one JSON object", name);
	}
	*out = o;
	return 0;
}

/* A string member of o, copied; why names it by `path` if it is missing,
 * not a string or empty. */
static int take_str(struct pkg_reader *r, json_t *o, const char *key,
		    const char *path, char **out, struct kerr *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return fail(r, e, KERR_FORMAT,
			    "\"%s\" is missing, not a string or empty", path);
	if (!(*out = strdup(json_string_value(v))))
		return fail(r, e, KERR_NOMEM, "out of memory");
	return 0;
}

/* An object member of o with exactly the keys given. */
static int get_obj(struct pkg_reader *r, json_t *o, const char *key,
		   const char *const *keys, json_t **out, struct kerr *e)
{
	*out = json_object_get(o, key);
	if (!json_is_object(*out))
		return fail(r, e, KERR_FORMAT,
			    "\"%s\" is missing or not an object", key);
	if (!only_keys(*out, keys))
		return fail(r, e, KERR_FORMAT, "an unknown key in \"%s\"",
			    key);
	return 0;
}

/* The format number, the same way in the head and the tail. */
static int check_format(struct pkg_reader *r, json_t *o, struct kerr *e)
{
	json_t *v = json_object_get(o, "kluis_package");
	json_int_t f;

	if (!json_is_integer(v))
		return fail(r, e, KERR_FORMAT,
			    "not a kluis package line (no \"kluis_package\" "
			    "number)");
	f = json_integer_value(v);
	if (f > PKG_FORMAT)
		return fail(r, e, KERR_FORMAT,
			    "package format %lld is newer than this kluis "
			    "knows", (long long)f);
	if (f != PKG_FORMAT)
		return fail(r, e, KERR_FORMAT, "unknown package format %lld",
			    (long long)f);
	return 0;
}

static int check_part(struct pkg_reader *r, json_t *o, const char *part,
		      struct kerr *e)
{
	json_t *v = json_object_get(o, "part");

	if (!json_is_string(v) || strcmp(json_string_value(v), part) != 0)
		return fail(r, e, KERR_FORMAT,
			    "\"part\" is not \"%s\"", part);
	return 0;
}

static int parse_head(struct pkg_reader *r, const uint8_t *p, size_t n,
		      struct kerr *e)
{
	static const char *const top[] = {
		"kluis_package", "part", "package_id", "protocol",
		"discloser", "recipient", "created_at", "fields", "records",
		NULL
	};
	static const char *const k_protocol[] = { "id", "version", "digest",
						  NULL };
	static const char *const k_discloser[] = { "name", "minisign_key_id",
						   NULL };
	static const char *const k_recipient[] = { "name", "age_recipient",
						   NULL };
	struct pkg_info *in = &r->info;
	json_t *o, *sub, *v;
	const char *s;
	size_t nf;
	int rc;

	if (parse_line(r, p, n, "head", &o, e))
		return r->rc;
	if ((rc = check_format(r, o, e)) || (rc = check_part(r, o, "head", e)))
		goto out;
	if (!only_keys(o, top)) {
		rc = fail(r, e, KERR_FORMAT, "an unknown key in the head");
		goto out;
	}
	in->format = PKG_FORMAT;
	v = json_object_get(o, "package_id");
	s = json_string_value(v);
	if (!s || !is_lower_hex(s, PKG_ID_LEN)) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"package_id\" is not %u lowercase hex digits",
			  PKG_ID_LEN);
		goto out;
	}
	memcpy(in->id, s, PKG_ID_LEN + 1);
	if ((rc = get_obj(r, o, "protocol", k_protocol, &sub, e)) ||
	    (rc = take_str(r, sub, "id", "protocol.id", &in->protocol_id, e)) ||
	    (rc = take_str(r, sub, "version", "protocol.version",
			   &in->protocol_version, e)) ||
	    (rc = take_str(r, sub, "digest", "protocol.digest",
			   &in->protocol_digest, e)) ||
	    (rc = get_obj(r, o, "discloser", k_discloser, &sub, e)) ||
	    (rc = take_str(r, sub, "name", "discloser.name",
			   &in->discloser_name, e)) ||
	    (rc = take_str(r, sub, "minisign_key_id",
			   "discloser.minisign_key_id", &in->discloser_key_id,
			   e)) ||
	    (rc = get_obj(r, o, "recipient", k_recipient, &sub, e)) ||
	    (rc = take_str(r, sub, "name", "recipient.name",
			   &in->recipient_name, e)) ||
	    (rc = take_str(r, sub, "age_recipient", "recipient.age_recipient",
			   &in->recipient, e)))
		goto out;
	s = json_string_value(json_object_get(o, "created_at"));
	if (!s || !ktime_valid(s)) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"created_at\" is not YYYY-MM-DDTHH:MM:SSZ");
		goto out;
	}
	memcpy(in->created_at, s, PKG_TIME_LEN + 1);
	s = json_string_value(json_object_get(o, "records"));
	if (!s || strcmp(s, records_type) != 0) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"records\" is not the CSV this kluis reads");
		goto out;
	}
	v = json_object_get(o, "fields");
	if (!json_is_array(v) || !(nf = json_array_size(v))) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"fields\" is missing, not an array or empty");
		goto out;
	}
	if (nf > PKGR_MAX_FIELDS) {
		rc = fail(r, e, KERR_LIMIT, "more than %u fields",
			  PKGR_MAX_FIELDS);
		goto out;
	}
	if (!(in->fields = calloc(nf, sizeof *in->fields))) {
		rc = fail(r, e, KERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		json_t *f = json_array_get(v, i);

		if (!json_is_string(f)) {
			rc = fail(r, e, KERR_FORMAT,
				  "field %zu in \"fields\" is not a string",
				  i + 1);
			goto out;
		}
		if (!(in->fields[i] = strdup(json_string_value(f)))) {
			rc = fail(r, e, KERR_NOMEM, "out of memory");
			goto out;
		}
		in->n_fields = i + 1;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* The tail line at pos (L bytes with its LF), against what was read. */
static int check_tail(struct pkg_reader *r, const uint8_t *p, size_t L,
		      struct kerr *e)
{
	static const char *const keys[] = { "kluis_package", "part",
					    "package_id", "records",
					    "records_digest", NULL };
	char mine[PKG_DIGEST_LEN + 1];
	uint8_t d[32];
	json_t *o, *v;
	const char *s;
	json_int_t n;
	int rc;

	if (parse_line(r, p, L - 1, "tail", &o, e))
		return r->rc;
	if ((rc = check_format(r, o, e)) || (rc = check_part(r, o, "tail", e)))
		goto out;
	if (!only_keys(o, keys)) {
		rc = fail(r, e, KERR_FORMAT, "an unknown key in the tail");
		goto out;
	}
	s = json_string_value(json_object_get(o, "package_id"));
	if (!s || strcmp(s, r->info.id) != 0) {
		rc = fail(r, e, KERR_FORMAT,
			  "the tail's package id is not the head's");
		goto out;
	}
	v = json_object_get(o, "records");
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"records\" is missing or not a count");
		goto out;
	}
	if ((uint64_t)n != r->records) {
		rc = fail(r, e, KERR_FORMAT,
			  "the tail says %lld records, the package holds %llu",
			  (long long)n, (unsigned long long)r->records);
		goto out;
	}
	s = json_string_value(json_object_get(o, "records_digest"));
	if (!s || strncmp(s, "blake2b-256:", 12) != 0 ||
	    !is_lower_hex(s + 12, PKG_DIGEST_LEN - 12)) {
		rc = fail(r, e, KERR_FORMAT,
			  "\"records_digest\" is not blake2b-256: and 64 "
			  "lowercase hex digits");
		goto out;
	}
	crypto_generichash_final(&r->hash, d, sizeof d);
	memcpy(mine, "blake2b-256:", 12);
	sodium_bin2hex(mine + 12, sizeof mine - 12, d, sizeof d);
	if (sodium_memcmp(mine, s, PKG_DIGEST_LEN) != 0) {
		rc = fail(r, e, KERR_FORMAT,
			  "records digest does not match: the records were "
			  "changed");
		goto out;
	}
	memcpy(r->digest, mine, sizeof r->digest);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* The tail: everything before pos is the CSV section. */
static int read_tail(struct pkg_reader *r, struct kerr *e)
{
	size_t L = 0;

	r->phase = PH_TAIL;
	if (find_line(r, PKGR_MAX_HEAD, "tail", &L, e))
		return r->rc;
	if (!L)
		return fail(r, e, KERR_FORMAT,
			    "truncated: the tail line has no line end");
	if (r->pos > r->hpos)
		crypto_generichash_update(&r->hash, r->buf + r->hpos,
					  r->pos - r->hpos);
	r->hashing = false;
	if (check_tail(r, r->buf + r->pos, L, e))
		return r->rc;
	r->pos += L;
	if (want_bytes(r, 1, e))
		return r->rc;
	if (r->len > r->pos)
		return fail(r, e, KERR_FORMAT, "data after the tail line");
	return 0;
}

/* ------------------------------------------------------------ interface */

static int read_header(struct pkg_reader *r, struct kerr *e)
{
	const struct pkg_info *in = &r->info;
	size_t nf;

	r->phase = PH_HEADER;
	if (want_bytes(r, 1, e))
		return r->rc;
	if (r->len == r->pos)
		return fail(r, e, KERR_FORMAT, "truncated: no CSV header");
	if (read_record(r, 0, &nf, e))
		return r->rc;
	if (nf != in->n_fields)
		return fail(r, e, KERR_FORMAT,
			    "the header has %zu column%s, the head lists %zu "
			    "field%s", nf, nf == 1 ? "" : "s", in->n_fields,
			    in->n_fields == 1 ? "" : "s");
	for (size_t i = 0; i < nf; i++) {
		if (r->lens[i] != strlen(in->fields[i]) ||
		    memcmp(r->vals[i], in->fields[i], r->lens[i]) != 0)
			return fail(r, e, KERR_FORMAT,
				    "column %zu of the header is not the "
				    "head's field %zu", i + 1, i + 1);
	}
	for (size_t i = 0; i < nf; i++)
		for (size_t j = i + 1; j < nf; j++)
			if (strcmp(in->fields[i], in->fields[j]) == 0)
				return fail(r, e, KERR_FORMAT,
					    "columns %zu and %zu have the "
					    "same name", i + 1, j + 1);
	r->n_cols = nf;
	r->phase = PH_RECORDS;
	return 0;
}

int pkg_reader_open(struct pkg_reader **out, struct ksrc *src,
		    struct kerr *e)
{
	struct pkg_reader *r;
	size_t L = 0;

	*out = NULL;
	r = calloc(1, sizeof *r);
	if (!r || !(r->buf = malloc(BUF_START)) ||
	    !(r->vals = calloc(STORE_N, sizeof *r->vals)) ||
	    !(r->lens = calloc(STORE_N, sizeof *r->lens))) {
		pkg_reader_free(r);
		return kerr_set(e, KERR_NOMEM, "package", "out of memory");
	}
	r->cap = BUF_START;
	r->src = src;
	r->phase = PH_HEAD;
	crypto_generichash_init(&r->hash, NULL, 0, 32);
	if (want_bytes(r, 1, e))
		goto fail;
	if (r->len == 0) {
		fail(r, e, KERR_FORMAT, "empty input: not a kluis package");
		goto fail;
	}
	if (r->buf[0] != '{') {
		fail(r, e, KERR_FORMAT,
		     "not a kluis package: the first line is not a JSON "
		     "object");
		goto fail;
	}
	if (find_line(r, PKGR_MAX_HEAD, "head", &L, e))
		goto fail;
	if (!L) {
		fail(r, e, KERR_FORMAT,
		     "truncated: the head line has no line end");
		goto fail;
	}
	if (parse_head(r, r->buf + r->pos, L - 1, e))
		goto fail;
	r->pos += L;
	r->hashing = true;
	r->hpos = r->pos;
	if (read_header(r, e))
		goto fail;
	*out = r;
	return 0;
fail:
	pkg_reader_free(r);
	return e->code;
}

const struct pkg_info *pkg_reader_info(const struct pkg_reader *r)
{
	return &r->info;
}

const char *const *pkg_reader_columns(const struct pkg_reader *r, size_t *n)
{
	*n = r->n_cols;
	return (const char *const *)r->info.fields;
}

int pkg_reader_next(struct pkg_reader *r, const char *const **vals,
		    const size_t **lens, bool *done, struct kerr *e)
{
	const uint8_t *p;
	size_t nf;

	*vals = NULL;
	*lens = NULL;
	*done = false;
	if (r->rc) {
		*e = r->err;
		return r->rc;
	}
	if (r->done) {
		*done = true;
		return 0;
	}
	/* Two bytes tell a record from the tail. */
	if (want_bytes(r, 2, e))
		return r->rc;
	p = r->buf + r->pos;
	if (r->len == r->pos) {
		r->phase = PH_TAIL;
		return fail(r, e, KERR_FORMAT,
			    "truncated: no tail line after record %llu",
			    (unsigned long long)r->records);
	}
	if (r->len - r->pos >= 2 && p[0] == '{' && p[1] == '"') {
		if (read_tail(r, e))
			return r->rc;
		r->done = true;
		*done = true;
		return 0;
	}
	if (read_record(r, r->n_cols, &nf, e))
		return r->rc;
	r->records++;
	*vals = (const char *const *)r->vals;
	*lens = r->lens;
	return 0;
}

uint64_t pkg_reader_records(const struct pkg_reader *r)
{
	return r->records;
}

const char *pkg_reader_digest(const struct pkg_reader *r)
{
	return r->done ? r->digest : NULL;
}

void pkg_reader_free(struct pkg_reader *r)
{
	struct pkg_info *in;

	if (!r)
		return;
	in = &r->info;
	if (r->buf) {
		sodium_memzero(r->buf, r->cap);
		free(r->buf);
	}
	if (r->scratch) {
		sodium_memzero(r->scratch, r->scratch_cap);
		free(r->scratch);
	}
	free(r->vals);
	free(r->lens);
	free(in->protocol_id);
	free(in->protocol_version);
	free(in->protocol_digest);
	free(in->discloser_name);
	free(in->discloser_key_id);
	free(in->recipient_name);
	free(in->recipient);
	for (size_t i = 0; i < in->n_fields; i++)
		free(in->fields[i]);
	free(in->fields);
	sodium_memzero(r, sizeof *r);
	free(r);
}
