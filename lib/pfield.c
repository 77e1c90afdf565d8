/*
 * pfield — one raw cell through the rules of its protocol field.
 *
 * The normalisers of norm.c do the parsing; this adds what the protocol
 * says about the field (length, ranges, region, allowed spellings).  The
 * output is replaced: the value if the result is NORM_OK, else empty;
 * NORM_EMPTY from a normaliser passes through unchanged (an empty enum
 * cell is empty, not invalid: only `required` forbids it).  Reasons are
 * static and never quote the value.
 */
#include "pfield.h"

#include <stdint.h>
#include <string.h>

#include "banned.h"

/* The typed helpers have locals that want a stack frame (and a stack
 * protector); kept out of line, pfield_normalise stays a jump table. */
#define NOINLINE __attribute__((noinline))

static int invalid(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return NORM_INVALID;
}

/* Set out to a normalised string; a full or failing buffer makes the
 * value unusable, which is all the caller can act on. */
static inline __attribute__((always_inline)) int
put(struct kbuf *out, const char *s, size_t n, const char **why)
{
	int code = norm_set(out, s, n);

	if (code != 0) {
		kbuf_reset(out);
		return invalid(why, code == KERR_LIMIT ? "too long" :
							"out of memory");
	}
	return NORM_OK;
}

/* A result other than NORM_OK: out cleared, as pfield_normalise says. */
static int cleared(struct kbuf *out, int rc)
{
	norm_clear(out);
	return rc;
}

static bool key_in(const struct kbuf *key, char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i] && strlen(keys[i]) == key->len &&
		    memcmp(keys[i], key->p, key->len) == 0)
			return true;
	return false;
}

/* The match key of the cell in a buffer of our own: out may be smaller
 * than the key, and the key is a transient copy of the value. */
static int cell_key(const char *in, size_t len, struct kbuf *key,
		    const char **why)
{
	/* The cap only bounds memory; keys of real cells are short. */
	kbuf_init(key, (size_t)1 << 24, false);
	return norm_match_key(in, len, key, why);
}

static NOINLINE int do_enum(const struct pfield *f, const char *in,
			    size_t len, struct kbuf *out, const char **why)
{
	struct kbuf key;
	int rc = cell_key(in, len, &key, why);

	if (rc == NORM_OK) {
		const struct penum_value *hit = NULL;

		for (size_t i = 0; i < f->n_values && !hit; i++)
			if (key_in(&key, f->values[i].keys,
				   f->values[i].n_keys))
				hit = &f->values[i];
		rc = hit ? put(out, hit->value, strlen(hit->value), why) :
			   invalid(why, "not one of the allowed values");
	}
	kbuf_free(&key);
	return rc == NORM_OK ? rc : cleared(out, rc);
}

static NOINLINE int do_bool(const struct pfield *f, const char *in,
			    size_t len, struct kbuf *out, const char **why)
{
	struct kbuf key;
	int rc = cell_key(in, len, &key, why);

	if (rc == NORM_OK) {
		const char *v = NULL;

		if (key_in(&key, f->true_keys, f->n_true))
			v = f->true_value;
		else if (key_in(&key, f->false_keys, f->n_false))
			v = f->false_value;
		rc = v ? put(out, v, strlen(v), why) :
			 invalid(why, "not one of the allowed yes/no values");
	}
	kbuf_free(&key);
	return rc == NORM_OK ? rc : cleared(out, rc);
}

/*
 * strcmp(d, lim) < 0, == 0 or > 0 alike, for a normalised date d (ten
 * bytes, none NUL, then a NUL) and a limit in a char[11] that holds a
 * NUL: the first difference is at or before the limit's NUL, so reading
 * all 11 bytes of both finds the one strcmp finds.  Eight bytes at once,
 * in big-endian order to compare as strcmp does.
 */
static int date_cmp(const char d[NORM_DATE_LEN + 1],
		    const char lim[NORM_DATE_LEN + 1])
{
	uint64_t a, b;

	memcpy(&a, d, 8);
	memcpy(&b, lim, 8);
	if (a != b) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		a = __builtin_bswap64(a);
		b = __builtin_bswap64(b);
#endif
		return a < b ? -1 : 1;
	}
	for (size_t i = 8; i <= NORM_DATE_LEN; i++)
		if (d[i] != lim[i])
			return (unsigned char)d[i] < (unsigned char)lim[i] ? -1
									   : 1;
	return 0;
}

/* The range check of a normalised date d; NORM_OK or the reason. */
static inline int date_in_range(const struct pfield *f, const char *d,
				const char **why)
{
	/* ISO dates of four-digit years order as strings. */
	if (f->date_min[0] && date_cmp(d, f->date_min) < 0)
		return invalid(why, "before the earliest allowed date");
	if (f->date_max[0] && date_cmp(d, f->date_max) > 0)
		return invalid(why, "after the latest allowed date");
	return NORM_OK;
}

/* do_date through a copy, for an out without room for a date yet. */
static NOINLINE int do_date_copy(const struct pfield *f, const char *in,
				 size_t len, struct kbuf *out,
				 const char **why)
{
	char d[NORM_DATE_LEN + 1];
	int rc = norm_date(in, len, d, why);

	if (rc == NORM_OK)
		rc = date_in_range(f, d, why);
	return rc == NORM_OK ? put(out, d, NORM_DATE_LEN, why) :
			       cleared(out, rc);
}

/* The date normalised in out's own memory when it has room, as it has
 * for every cell after a column's first: no copy, and no local array
 * (whose stack-protector check cost more than the rest). */
static NOINLINE int do_date_other(const struct pfield *f, const char *in,
				  size_t len, struct kbuf *out,
				  const char **why)
{
	char *d = (char *)out->p;
	int rc;

	if (!d || out->cap < NORM_DATE_LEN || out->max < NORM_DATE_LEN)
		return do_date_copy(f, in, len, out, why);
	/* norm_date writes d[0..NORM_DATE_LEN] on success, only the NUL at
	 * d[0] otherwise: either way the old value goes below. */
	rc = norm_date(in, len, d, why);
	if (rc == NORM_OK && (rc = date_in_range(f, d, why)) != NORM_OK)
		memset(d, 0, NORM_DATE_LEN); /* not left behind */
	if (rc != NORM_OK)
		return cleared(out, rc);
	if (out->len > NORM_DATE_LEN)
		norm_wipe_tail(out, NORM_DATE_LEN);
	out->len = NORM_DATE_LEN;
	return NORM_OK;
}

/* " 00:00:00" at p[0..9), the midnight spreadsheets write after a date. */
static inline bool midnight(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p + 1, 8);
	return p[0] == ' ' && memcmp(&w, "00:00:00", 8) == 0;
}

/*
 * The cells of nearly every row, the ten bytes of a date in range with
 * perhaps a midnight after them, go from the cell into out here, with
 * norm_date's own ten-byte reading (norm.h) and no call; an empty cell
 * is NORM_EMPTY at once.  Everything else, and a date out of range (for
 * its reason), is do_date_other's: norm_date reads these writings the
 * same way, so the two agree (tests/unit/test_pfield.c compares them).
 */
static NOINLINE int do_date(const struct pfield *f, const char *in,
			    size_t len, struct kbuf *out, const char **why)
{
	const uint8_t *q = (const uint8_t *)in;
	char *d = (char *)out->p;

	if ((len == NORM_DATE_LEN ||
	     (len == NORM_DATE_LEN + 9 && midnight(q + NORM_DATE_LEN))) &&
	    d && out->cap >= NORM_DATE_LEN && out->max >= NORM_DATE_LEN &&
	    norm_date10(q, d) == NORM_OK &&
	    (!f->date_min[0] || date_cmp(d, f->date_min) >= 0) &&
	    (!f->date_max[0] || date_cmp(d, f->date_max) <= 0)) {
		if (out->len > NORM_DATE_LEN)
			norm_wipe_tail(out, NORM_DATE_LEN);
		out->len = NORM_DATE_LEN;
		if (why)
			*why = NULL;
		return NORM_OK;
	}
	if (len == 0) {
		norm_clear(out);
		if (why)
			*why = NULL;
		return NORM_EMPTY;
	}
	return do_date_other(f, in, len, out, why);
}

static NOINLINE int do_int(const struct pfield *f, const char *in,
			   size_t len, struct kbuf *out, const char **why)
{
	long long v;
	unsigned long long m;
	char d[24];
	size_t n = sizeof d;
	int rc = norm_int(in, len, f->has_min, f->min, f->has_max, f->max, &v,
			  why);

	if (rc != NORM_OK)
		return cleared(out, rc);
	/* "%lld" by hand: printf was a visible part of the per-cell cost.
	 * The magnitude as unsigned, so that LLONG_MIN has one too. */
	m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do {
		d[--n] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		d[--n] = '-';
	return put(out, d + n, sizeof d - n, why);
}

/* norm_phone_buf sets out as pfield_normalise says; a NULL region is
 * Belgium for norm_phone too. */
static int do_phone(const struct pfield *f, const char *in, size_t len,
		    struct kbuf *out, const char **why)
{
	return norm_phone_buf(in, len, f->region, out, why);
}

static int do_text(const struct pfield *f, const char *in, size_t len,
		   struct kbuf *out, const char **why)
{
	return norm_text(in, len, f->max_length, out, why);
}

static int do_email(const struct pfield *f, const char *in, size_t len,
		    struct kbuf *out, const char **why)
{
	return norm_email(in, len, out, why);
}

static int do_unknown(const struct pfield *f, const char *in, size_t len,
		      struct kbuf *out, const char **why)
{
	return cleared(out, invalid(why, "unknown field type"));
}

/*
 * out still holds the previous value.  It is not wiped first: a NORM_OK
 * result overwrites it (put, norm_set: only a longer old tail is wiped),
 * and any other result clears it; norm_text and norm_email replace out's
 * contents themselves.  Every do_* sets *why (when why is not NULL) on
 * every path, through the normaliser it calls or invalid().
 */
pfield_fn pfield_normaliser(const struct pfield *f)
{
	switch (f->type) {
	case PF_TEXT:
		return do_text;
	case PF_EMAIL:
		return do_email;
	case PF_PHONE:
		return do_phone;
	case PF_DATE:
		return do_date;
	case PF_INT:
		return do_int;
	case PF_ENUM:
		return do_enum;
	case PF_BOOL:
		return do_bool;
	}
	return do_unknown;
}

int pfield_normalise(const struct pfield *f, const char *in, size_t len,
		     struct kbuf *out, const char **why)
{
	return pfield_normaliser(f)(f, in, len, out, why);
}
