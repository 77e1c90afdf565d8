/*
 * pkg — writing the package plaintext.  Records are escaped into one large
 * buffer that goes to the sink (and the digest) in blocks, so the per-record
 * cost is the escaping alone.  Escaping copies a record's values with their
 * separators and checks the line once (no quote, CR or LF, no comma but the
 * separators); only a line that fails is escaped field by field.  Lines
 * escaped elsewhere arrive as whole buffers (pkg_write_kbuf) that the
 * helper takes without a copy.
 *
 * The blocks are digested and written by a helper thread while the caller
 * escapes the next block into the other of two buffers: the digest and the
 * sink behind it (encryption, the output file) then run beside the
 * caller's parsing and validation instead of after it.  Blocks wait for
 * the helper in a kring of PKG_QUEUE jobs, so that a caller that hands
 * over whole buffers runs on while the helper is held up (by the disk,
 * behind the sink) and the helper runs on while the caller is.  The
 * digest sees the blocks in the order they were handed over.  Only one
 * thread at a time touches the sink — the helper between begin and
 * finish, the caller before and after — so the sink needs no locking of
 * its own.  A write error stops the ring; it is reported by the next
 * hand-over or by pkg_writer_finish.  Without a thread (pthread_create
 * or the ring's locks failed) blocks are written inline, as before.
 */
#include "pkg.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbuf.h"
#include "kring.h"

/* PKG_PORTABLE (tests of the fallback) keeps to plain C. */
#if defined(__SSE2__) && !defined(PKG_PORTABLE)
#include <emmintrin.h>
#define PKG_SSE2 1
#define PLAIN_LINE(p, n, c) plain_line_sse2(p, n, c)
#else
#define PLAIN_LINE(p, n, c) plain_line_c(p, n, c)
#endif
/* On x86-64 the record is put by an AVX2 build of put_record_at when the
 * CPU has it: one shuffle finds all four special bytes, 32 at a time. */
#if defined(PKG_SSE2) && defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PKG_AVX2 1
#endif

#include "banned.h"

#define PKG_BLOCK (256u << 10)
#define PKG_QUEUE 8

/* A block handed to the helper: one of the writer's two buffers, or the
 * memory of a caller's kbuf (own), which goes to the spares when done. */
struct pkg_job {
	uint8_t *p;
	size_t n, cap;
	bool own;
};

#define NOINLINE __attribute__((noinline))

struct pkg_writer {
	struct ksink *out;
	crypto_generichash_state digest;
	uint8_t *bufs[2];        /* the caller fills one, the helper writes
				  * the other */
	uint8_t *buf;            /* bufs[cur] */
	int cur;
	size_t fill;
	size_t n_fields;
	uint64_t records;
	char id[PKG_ID_LEN + 1];
	/* The helper thread and its ring: job k in q[k % PKG_QUEUE];
	 * bufs[i] is free again once buf_job[i] jobs are released.  The
	 * caller moves the memory of kbufs written (jobs below reclaimed)
	 * to spare, to hand back to the next caller. */
	pthread_t thread;
	bool threaded;
	struct kring ring;
	struct pkg_job q[PKG_QUEUE];
	uint64_t buf_job[2], reclaimed, put;
	struct pkg_job spare[PKG_QUEUE];
	size_t n_spare;
};

void pkg_new_id(char id[PKG_ID_LEN + 1])
{
	uint8_t r[PKG_ID_LEN / 2];

	randombytes_buf(r, sizeof r);
	sodium_bin2hex(id, PKG_ID_LEN + 1, r, sizeof r);
}

/* One block through the digest into the sink. */
static int write_block(struct pkg_writer *w, const uint8_t *p, size_t n,
		       struct kerr *e)
{
	crypto_generichash_update(&w->digest, p, n);
	return w->out->write(w->out, p, n, e);
}

static void *helper(void *arg)
{
	struct pkg_writer *w = arg;
	unsigned i;
	struct kerr e;

	while (kring_take(&w->ring, &i) == KRING_OK) {
		/* After an error the rest is not written: the export has
		 * failed and says so at the next hand-over. */
		if (write_block(w, w->q[i].p, w->q[i].n, &e)) {
			kring_stop(&w->ring, &e);
			break;
		}
		kring_release(&w->ring);
	}
	return NULL;
}

/* kbuf memory of the jobs in [reclaimed, upto) goes to the spares; the
 * helper is done with those jobs. */
static void reclaim(struct pkg_writer *w, uint64_t upto)
{
	for (; w->reclaimed < upto; w->reclaimed++) {
		struct pkg_job *j = &w->q[w->reclaimed % PKG_QUEUE];

		if (!j->own)
			continue;
		if (w->n_spare < PKG_QUEUE)
			w->spare[w->n_spare++] = *j;
		else
			kbuf_free_taken(j->p, j->cap, false);
		j->own = false;
	}
}

/* The ring stopped: the helper's error, into e. */
static int helper_error(struct pkg_writer *w, struct kerr *e)
{
	int rc = kring_error(&w->ring, e);

	return rc ? rc : kerr_set(e, KERR_INTERNAL, "package", "stopped");
}

/* Queue a job once there is room; the helper's error, if any, into e. */
static int enqueue(struct pkg_writer *w, const struct pkg_job *j,
		   struct kerr *e)
{
	unsigned i;

	if (kring_reserve(&w->ring, &i) != KRING_OK)
		return helper_error(w, e);
	/* The job that had this slot is done: its memory first. */
	reclaim(w, kring_released(&w->ring));
	w->q[i] = *j;
	w->put = kring_put(&w->ring);
	return 0;
}

static int flush(struct pkg_writer *w, struct kerr *e)
{
	struct pkg_job j = { .p = w->buf, .n = w->fill };
	int rc;

	if (!w->fill)
		return 0;
	if (!w->threaded) {
		if (write_block(w, w->buf, w->fill, e))
			return e->code;
		w->fill = 0;
		return 0;
	}
	if ((rc = enqueue(w, &j, e)))
		return rc;
	w->buf_job[w->cur] = w->put;
	/* Go on in the other buffer once the helper is done with it. */
	w->cur ^= 1;
	w->buf = w->bufs[w->cur];
	w->fill = 0;
	if (kring_wait(&w->ring, w->buf_job[w->cur]) != KRING_OK)
		return helper_error(w, e);
	return 0;
}

/* Stop and join the helper; what is still queued is dropped. */
static void stop_helper(struct pkg_writer *w)
{
	if (!w->threaded)
		return;
	kring_stop(&w->ring, NULL);
	pthread_join(w->thread, NULL);
	w->threaded = false;
}

static int put_json_line(struct ksink *out, json_t *o, struct kerr *e)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (!s)
		return kerr_set(e, KERR_NOMEM, "package", "out of memory");
	rc = out->write(out, (const uint8_t *)s, strlen(s), e);
	if (!rc)
		rc = out->write(out, (const uint8_t *)"\n", 1, e);
	free(s);
	return rc;
}

static inline bool special(uint8_t c)
{
	return c == ',' || c == '"' || c == '\n' || c == '\r';
}

/* One escaped field at d (room for 2 * n + 2 bytes); returns its end.
 * The slow path, for a record that holds a special byte somewhere. */
static uint8_t *put_field_at(uint8_t *d, const char *v, size_t n)
{
	bool quote = false;

	for (size_t i = 0; i < n && !quote; i++)
		quote = special((uint8_t)v[i]);
	if (!quote) {
		memcpy(d, v, n);
		return d + n;
	}
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"')
			*d++ = '"';
		*d++ = (uint8_t)v[i];
	}
	*d++ = '"';
	return d;
}

/* Append one escaped field; the caller made room for 2 * n + 3 bytes. */
static void put_field(struct pkg_writer *w, const char *v, size_t n)
{
	w->fill = (size_t)(put_field_at(w->buf + w->fill, v, n) - w->buf);
}

/* Room one record may take escaped, with its separators and LF: the sum
 * of 2 * n + 3 over the values, plus 1, summed as the lengths and then
 * scaled (the same value, also modulo SIZE_MAX + 1). */
static inline __attribute__((always_inline)) size_t
record_bound(size_t n_fields, const size_t *lens)
{
	size_t sum = 0, i = 0;

	/* four at a time: a record has a dozen fields or more */
	for (; i + 4 <= n_fields; i += 4)
		sum += (lens[i] + lens[i + 1]) + (lens[i + 2] + lens[i + 3]);
	for (; i < n_fields; i++)
		sum += lens[i];
	return 2 * sum + 3 * n_fields + 1;
}

/* Copy a value of n bytes: values are mostly short, and a call to memcpy
 * per value cost more than the copy.  Reads and writes stay within the
 * n bytes (the words overlap instead).  A switch on n, which the
 * compiler makes one indexed jump, instead of a chain of range tests. */
static inline __attribute__((always_inline)) void
copy_value(uint8_t *d, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t c, e;

	switch (n) {
	case 0:
		break;
	case 1 ... 3:
		/* the first, the middle and the last */
		d[0] = (uint8_t)s[0];
		d[n / 2] = (uint8_t)s[n / 2];
		d[n - 1] = (uint8_t)s[n - 1];
		break;
	case 4 ... 7:
		memcpy(&c, s, 4);
		memcpy(&e, s + n - 4, 4);
		memcpy(d, &c, 4);
		memcpy(d + n - 4, &e, 4);
		break;
	case 8 ... 16:
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
		break;
	case 17 ... 32: {
		uint8_t x[16], y[16];

		memcpy(x, s, 16);
		memcpy(y, s + n - 16, 16);
		memcpy(d, x, 16);
		memcpy(d + n - 16, y, 16);
		break;
	}
	default:
		memcpy(d, s, n);
	}
}

static bool plain_line_c(const uint8_t *p, size_t n, size_t commas)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\n' || p[i] == '\r')
			return false;
		c += p[i] == ',';
	}
	return c == commas;
}

#ifdef PKG_SSE2
/* 16 bytes at a time; the last, partial chunk is the line's last 16
 * bytes with the ones seen already masked off, so nothing outside the
 * line is read.  A comma is 0xff in its compare lane, so the sums of
 * absolute differences add up 255 per comma. */
static inline bool plain_line_sse2(const uint8_t *p, size_t n,
				   size_t commas)
{
	static const uint8_t tail[32] = {
		0,    0,    0,    0,    0,    0,    0,    0,
		0,    0,    0,    0,    0,    0,    0,    0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	const __m128i vc = _mm_set1_epi8(','), vq = _mm_set1_epi8('"');
	const __m128i vl = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
	const __m128i zero = _mm_setzero_si128();
	__m128i bad = zero, sum = zero, x, c, q;
	size_t i = 0;
	uint64_t total;

	if (n < 16)
		return plain_line_c(p, n, commas);
	for (; i + 16 <= n; i += 16) {
		x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		c = _mm_cmpeq_epi8(x, vc);
		q = _mm_or_si128(_mm_cmpeq_epi8(x, vq),
				 _mm_or_si128(_mm_cmpeq_epi8(x, vl),
					      _mm_cmpeq_epi8(x, vr)));
		sum = _mm_add_epi64(sum, _mm_sad_epu8(c, zero));
		bad = _mm_or_si128(bad, q);
	}
	if (i < n) {
		const __m128i m = _mm_loadu_si128(
			(const __m128i *)(const void *)(tail + (n - i)));

		x = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
		c = _mm_and_si128(_mm_cmpeq_epi8(x, vc), m);
		q = _mm_or_si128(_mm_cmpeq_epi8(x, vq),
				 _mm_or_si128(_mm_cmpeq_epi8(x, vl),
					      _mm_cmpeq_epi8(x, vr)));
		sum = _mm_add_epi64(sum, _mm_sad_epu8(c, zero));
		bad = _mm_or_si128(bad, _mm_and_si128(q, m));
	}
	if (_mm_movemask_epi8(bad))
		return false;
	total = (uint64_t)_mm_cvtsi128_si64(sum) +
		(uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
	return total == 255 * (uint64_t)commas;
}
#endif

#ifdef PKG_AVX2
static inline bool pkg_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

static const uint8_t special_lanes[32] __attribute__((aligned(32))) = {
	0xff, 0xff, '"',  0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, '\n', 0xff, ',',  '\r', 0xff, 0xff,
	0xff, 0xff, '"',  0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, '\n', 0xff, ',',  '\r', 0xff, 0xff,
};

/* plain_line_avx2 for a line of more than 255 chunks: the specials
 * counted a block of 255 chunks at a time (so that no lane of the count
 * overflows), the rest by plain_line_avx2. */
__attribute__((target("avx2"))) static NOINLINE bool
plain_line_long(const uint8_t *p, size_t n, size_t commas);

/*
 * plain_line for the AVX2 build: a byte is special ('"', '\n', '\r',
 * ',') when it equals the entry of special_lanes at its low nibble (their
 * low nibbles differ; the other entries, 0xff, match no byte the shuffle
 * does not zero, and it zeroes those of 0x80 and above).  Specials are
 * counted, 1 per lane; as the line holds its separators, it is plain
 * when the count is the separators and no more.
 * The last, partial chunk is the line's last 32 bytes with the ones seen
 * already masked off, so nothing outside the line is read.
 */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
bool plain_line_avx2(const uint8_t *p, size_t n, size_t commas)
{
	static const uint8_t tail[64] = {
		0,    0,    0,    0,    0,    0,    0,    0,
		0,    0,    0,    0,    0,    0,    0,    0,
		0,    0,    0,    0,    0,    0,    0,    0,
		0,    0,    0,    0,    0,    0,    0,    0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	const __m256i sp = _mm256_load_si256(
		(const __m256i *)(const void *)special_lanes);
	const __m256i zero = _mm256_setzero_si256();
	__m256i sum, cnt = zero, x;
	size_t i = 0;
	uint64_t total;

	if (n < 32)
		return PLAIN_LINE(p, n, commas);
	/* The count per lane stays below 256 for lines of up to 255 full
	 * chunks or 254 and a partial one; longer ones are counted a block
	 * of 255 chunks at a time first (out of the common path). */
	if (n > 255 * 32)
		return plain_line_long(p, n, commas);
	for (; i + 32 <= n; i += 32) {
		x = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		cnt = _mm256_sub_epi8(
			cnt, _mm256_cmpeq_epi8(_mm256_shuffle_epi8(sp, x), x));
	}
	if (i < n) {
		x = _mm256_loadu_si256(
			(const __m256i *)(const void *)(p + n - 32));
		cnt = _mm256_sub_epi8(
			cnt,
			_mm256_and_si256(
				_mm256_cmpeq_epi8(_mm256_shuffle_epi8(sp, x), x),
				_mm256_loadu_si256((const __m256i *)(const void *)(
					tail + (n - i)))));
	}
	sum = _mm256_sad_epu8(cnt, zero);
	{
		__m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sum),
					   _mm256_extracti128_si256(sum, 1));

		total = (uint64_t)_mm_cvtsi128_si64(s2) +
			(uint64_t)_mm_extract_epi64(s2, 1);
	}
	return total == commas;
}

/* plain_line_avx2 for the test hook, which has no AVX2 build. */
__attribute__((target("avx2"))) static NOINLINE bool
plain_line_avx2_call(const uint8_t *p, size_t n, size_t commas)
{
	return plain_line_avx2(p, n, commas);
}

__attribute__((target("avx2"))) static NOINLINE bool
plain_line_long(const uint8_t *p, size_t n, size_t commas)
{
	const __m256i sp = _mm256_load_si256(
		(const __m256i *)(const void *)special_lanes);
	const __m256i zero = _mm256_setzero_si256();
	__m256i sum = zero, cnt, x;
	size_t i = 0, seen;

	while (n - i > 255 * 32) {
		cnt = zero;
		for (size_t end = i + 255 * 32; i < end; i += 32) {
			x = _mm256_loadu_si256(
				(const __m256i *)(const void *)(p + i));
			cnt = _mm256_sub_epi8(
				cnt,
				_mm256_cmpeq_epi8(_mm256_shuffle_epi8(sp, x), x));
		}
		sum = _mm256_add_epi64(sum, _mm256_sad_epu8(cnt, zero));
	}
	{
		__m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sum),
					   _mm256_extracti128_si256(sum, 1));

		seen = (size_t)_mm_cvtsi128_si64(s2) +
		       (size_t)_mm_extract_epi64(s2, 1);
	}
	/* the specials seen count as commas asked for: none may be
	 * missing from the rest, and the rest may hold no more */
	if (seen > commas)
		return false;
	return plain_line_avx2(p + i, n - i, commas - seen);
}
#endif

bool pkg_plain_line_(const uint8_t *p, size_t n, size_t commas,
		     bool portable)
{
#ifdef PKG_AVX2
	if (!portable && pkg_avx2())
		return plain_line_avx2_call(p, n, commas);
#endif
#ifdef PKG_SSE2
	if (!portable)
		return plain_line_sse2(p, n, commas);
#endif
	return plain_line_c(p, n, commas);
}

/* The record's values copied to d with their separators; the end. */
static inline __attribute__((always_inline)) uint8_t *
copy_record(uint8_t *d, size_t n_fields, const char *const *values,
	    const size_t *lens)
{
	uint8_t *q = d;

	if (!n_fields)
		return q;
	/* Each value with a comma after it; the last comma is taken back
	 * (the caller writes the LF there). */
	for (size_t i = 0; i < n_fields; i++) {
		size_t n = lens[i];

		copy_value(q, values[i], n);
		q[n] = ',';
		q += n + 1;
	}
	return q - 1;
}

/* The record at d again, field by field, for a line that failed the
 * check; the end. */
static NOINLINE uint8_t *escape_record(uint8_t *d, size_t n_fields,
				       const char *const *values,
				       const size_t *lens)
{
	uint8_t *q = d;

	for (size_t i = 0; i < n_fields; i++) {
		if (i)
			*q++ = ',';
		q = put_field_at(q, values[i], lens[i]);
	}
	return q;
}

/*
 * The record's escaped line at d (record_bound bytes of room).  Most
 * records need no quoting at all: the values are copied as they are with
 * their separators, and the line is checked once for a quote, CR or LF
 * and for commas beyond the separators.  Only a line that fails the check
 * is written again field by field.
 */
static uint8_t *put_record_at(uint8_t *d, size_t n_fields,
			      const char *const *values, const size_t *lens)
{
	uint8_t *q = copy_record(d, n_fields, values, lens);

	if (!PLAIN_LINE(d, (size_t)(q - d), n_fields - 1))
		q = escape_record(d, n_fields, values, lens);
	*q++ = '\n';
	return q;
}

#ifdef PKG_AVX2
/* put_record_at built for AVX2, with its check. */
__attribute__((target("avx2"))) static uint8_t *
put_record_avx2(uint8_t *d, size_t n_fields, const char *const *values,
		const size_t *lens)
{
	uint8_t *q = copy_record(d, n_fields, values, lens);

	if (!plain_line_avx2(d, (size_t)(q - d), n_fields - 1))
		q = escape_record(d, n_fields, values, lens);
	*q++ = '\n';
	return q;
}
#endif

static inline uint8_t *put_record(uint8_t *d, size_t n_fields,
				  const char *const *values,
				  const size_t *lens)
{
#ifdef PKG_AVX2
	if (pkg_avx2())
		return put_record_avx2(d, n_fields, values, lens);
#endif
	return put_record_at(d, n_fields, values, lens);
}

int pkg_writer_begin(struct pkg_writer **out_w, const struct pkg_head *h,
		     struct ksink *out, struct kerr *e)
{
	struct pkg_writer *w;
	json_t *o = NULL, *fields = NULL;
	int rc;

	*out_w = NULL;
	if (!h->n_fields)
		return kerr_set(e, KERR_USAGE, "package", "no fields");
	w = calloc(1, sizeof *w);
	if (!w || !(w->bufs[0] = malloc(PKG_BLOCK)) ||
	    !(w->bufs[1] = malloc(PKG_BLOCK))) {
		if (w)
			free(w->bufs[0]);
		free(w);
		return kerr_set(e, KERR_NOMEM, "package", "out of memory");
	}
	w->buf = w->bufs[0];
	w->out = out;
	w->n_fields = h->n_fields;
	memcpy(w->id, h->id, sizeof w->id);
	crypto_generichash_init(&w->digest, NULL, 0, 32);

	fields = json_array();
	for (size_t i = 0; fields && i < h->n_fields; i++)
		if (json_array_append_new(fields, json_string(h->fields[i])))
			goto nomem;
	o = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s},"
		      " s:{s:s, s:s}, s:s, s:O, s:s}",
		      "kluis_package", PKG_FORMAT, "part", "head",
		      "package_id", h->id,
		      "protocol", "id", h->protocol_id, "version",
		      h->protocol_version, "digest", h->protocol_digest,
		      "discloser", "name", h->discloser_name,
		      "minisign_key_id", h->discloser_key_id,
		      "recipient", "name", h->recipient_name, "age_recipient",
		      h->recipient, "created_at", h->created_at, "fields",
		      fields, "records",
		      "text/csv; charset=utf-8; header=present; "
		      "delimiter=','; newline=LF");
	if (!o)
		goto nomem;
	rc = put_json_line(out, o, e);
	json_decref(o);
	json_decref(fields);
	if (rc) {
		pkg_writer_free(w);
		return rc;
	}
	/* The CSV header is part of the digested records section. */
	for (size_t i = 0; i < h->n_fields; i++) {
		size_t n = strlen(h->fields[i]);
		if (w->fill + 2 * n + 4 > PKG_BLOCK) {
			pkg_writer_free(w);
			return kerr_set(e, KERR_LIMIT, "package",
					"field names too long");
		}
		if (i)
			w->buf[w->fill++] = ',';
		put_field(w, h->fields[i], n);
	}
	w->buf[w->fill++] = '\n';
	/* From here the helper owns the sink until finish. */
	if (kring_init(&w->ring, PKG_QUEUE, NULL) == 0)
		w->threaded = pthread_create(&w->thread, NULL, helper, w) == 0;
	*out_w = w;
	return 0;
nomem:
	json_decref(o);
	json_decref(fields);
	pkg_writer_free(w);
	return kerr_set(e, KERR_NOMEM, "package", "out of memory");
}

int pkg_write_record(struct pkg_writer *w, const char *const *values,
		     const size_t *lens, struct kerr *e)
{
	size_t need = record_bound(w->n_fields, lens);

	if (need > PKG_BLOCK)
		return kerr_set(e, KERR_LIMIT, "package", "record too long");
	if (w->fill + need > PKG_BLOCK && flush(w, e))
		return e->code;
	w->fill = (size_t)(put_record(w->buf + w->fill, w->n_fields, values,
				      lens) -
			   w->buf);
	w->records++;
	return 0;
}

int pkg_escape_record(size_t n_fields, const char *const *values,
		      const size_t *lens, struct kbuf *out, struct kerr *e)
{
	size_t need = record_bound(n_fields, lens);
	int rc;

	/* The same limit as pkg_write_record, so both paths refuse the
	 * same records. */
	if (need > PKG_BLOCK)
		return kerr_set(e, KERR_LIMIT, "package", "record too long");
	if ((rc = kbuf_reserve(out, need, e)))
		return rc;
	out->len = (size_t)(put_record(out->p + out->len, n_fields, values,
				       lens) -
			    out->p);
	out->p[out->len] = '\0'; /* kbuf keeps its contents terminated */
	return 0;
}

int pkg_write_escaped(struct pkg_writer *w, const uint8_t *p, size_t n,
		      uint64_t records, struct kerr *e)
{
	while (n) {
		size_t k = PKG_BLOCK - w->fill;

		if (!k) {
			if (flush(w, e))
				return e->code;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(w->buf + w->fill, p, k);
		w->fill += k;
		p += k;
		n -= k;
	}
	w->records += records;
	return 0;
}

int pkg_write_kbuf(struct pkg_writer *w, struct kbuf *b, uint64_t records,
		   struct kerr *e)
{
	struct pkg_job j = { .p = b->p, .n = b->len, .cap = b->cap,
			     .own = true };
	struct pkg_job back = { 0 };
	int rc;

	/* Small amounts, or no helper: the copy costs less than a wait. */
	if (!w->threaded || b->secret || b->len < PKG_BLOCK / 4) {
		rc = pkg_write_escaped(w, b->p, b->len, records, e);
		kbuf_reset(b);
		return rc;
	}
	/* What was written before goes first. */
	if (flush(w, e))
		return e->code;
	if ((rc = enqueue(w, &j, e))) {
		kbuf_reset(b);
		return rc;
	}
	reclaim(w, kring_released(&w->ring));
	if (w->n_spare)
		back = w->spare[--w->n_spare];
	/* b goes on in memory the helper is done with, or starts afresh
	 * (then the queue holds one more buffer than before). */
	if (back.cap > b->max) {
		/* b could not have grown this far: dropped (wiped). */
		kbuf_free_taken(back.p, back.cap, false);
		back.p = NULL;
		back.cap = 0;
	}
	b->p = back.p;
	b->cap = back.cap;
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
	w->records += records;
	return 0;
}

int pkg_writer_finish(struct pkg_writer *w, struct pkg_tail *t,
		      struct kerr *e)
{
	uint8_t d[32];
	json_t *o;
	int rc;

	if (flush(w, e))
		return e->code;
	if (w->threaded) {
		int rc_h = kring_wait(&w->ring, w->put) == KRING_OK ? 0 :
			   helper_error(w, e);

		stop_helper(w);
		if (rc_h)
			return rc_h;
	}
	crypto_generichash_final(&w->digest, d, sizeof d);
	memcpy(t->records_digest, "blake2b-256:", 12);
	sodium_bin2hex(t->records_digest + 12, sizeof t->records_digest - 12,
		       d, sizeof d);
	t->records = w->records;
	o = json_pack("{s:i, s:s, s:s, s:I, s:s}", "kluis_package", PKG_FORMAT,
		      "part", "tail", "package_id", w->id, "records",
		      (json_int_t)w->records, "records_digest",
		      t->records_digest);
	if (!o)
		return kerr_set(e, KERR_NOMEM, "package", "out of memory");
	rc = put_json_line(w->out, o, e);
	json_decref(o);
	return rc;
}

void pkg_writer_free(struct pkg_writer *w)
{
	if (!w)
		return;
	if (w->threaded) {
		/* Not finished (the export failed): blocks not yet taken
		 * are dropped, the one being written completes, and the
		 * helper goes.  The caller discards the sink after this. */
		stop_helper(w);
	}
	kring_destroy(&w->ring);
	/* Jobs not released are the caller's again once the helper went. */
	for (uint64_t k = w->reclaimed; k < w->put; k++)
		if (w->q[k % PKG_QUEUE].own)
			kbuf_free_taken(w->q[k % PKG_QUEUE].p,
					w->q[k % PKG_QUEUE].cap, false);
	for (size_t i = 0; i < w->n_spare; i++)
		kbuf_free_taken(w->spare[i].p, w->spare[i].cap, false);
	for (int i = 0; i < 2; i++) {
		if (w->bufs[i]) {
			sodium_memzero(w->bufs[i], PKG_BLOCK);
			free(w->bufs[i]);
		}
	}
	sodium_memzero(w, sizeof *w);
	free(w);
}

int pkg_trusted_comment(const struct pkg_head *h, const struct pkg_tail *t,
			char *out, size_t cap, struct kerr *e)
{
	int n = snprintf(out, cap,
			 "kluis-package %s protocol=%s version=%s digest=%s "
			 "records=%llu records_digest=%s created=%s",
			 h->id, h->protocol_id, h->protocol_version,
			 h->protocol_digest, (unsigned long long)t->records,
			 t->records_digest, h->created_at);

	if (n < 0 || (size_t)n >= cap)
		return kerr_set(e, KERR_LIMIT, "package",
				"trusted comment too long");
	for (int i = 0; i < n; i++)
		if (out[i] == '\n' || out[i] == '\r')
			return kerr_set(e, KERR_FORMAT, "package",
					"line break in the trusted comment");
	return 0;
}
