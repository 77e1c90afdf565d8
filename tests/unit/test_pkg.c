/* pkg: the package plaintext — head and tail lines, CSV escaping, the
 * records digest over exactly the CSV section, the trusted comment. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"
#include "kluis.h"
#include "unit.h"

static const char *const names[] = { "naam", "gemeente", "capaciteit" };

static void head_init(struct pkg_head *h)
{
	fixture_pkg_head(h, names, 3);
}

/* Write records through a kbuf sink; returns the plaintext in out. */
static int write_pkg(const char *const (*recs)[3], size_t n,
		     struct kbuf *out, struct pkg_tail *t)
{
	struct pkg_head h;
	struct kbuf_sink s;
	struct pkg_writer *w;
	struct kerr e;

	head_init(&h);
	kbuf_sink_init(&s, out);
	if (pkg_writer_begin(&w, &h, &s.base, &e))
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t lens[3];
		for (int j = 0; j < 3; j++)
			lens[j] = strlen(recs[i][j]);
		if (pkg_write_record(w, recs[i], lens, &e))
			return -1;
	}
	if (pkg_writer_finish(w, t, &e))
		return -1;
	pkg_writer_free(w);
	return 0;
}

static void framing_and_escaping(void)
{
	static const char *const recs[][3] = {
		{ "Peeters", "Gent", "12" },
		{ "VZW \"De Boom\"", "Sint-Pieters, Leeuw", "" },
		{ "", "", "" },
		{ "=HYPERLINK(\"x\")", "Ééklo", "3" },
	};
	struct kbuf out = KBUF_INIT(1 << 20);
	struct pkg_tail t;
	const char *p, *csv, *tail;
	uint8_t d[32];
	char hex[65];

	CHECK(write_pkg(recs, 4, &out, &t) == 0);
	CHECK(t.records == 4);
	p = (const char *)out.p;
	CHECK(strncmp(p, "{\"kluis_package\":1,\"part\":\"head\",\"package_id\":"
			 "\"0123456789abcdef0123456789abcdef\"", 79) == 0);
	CHECK(strstr(p, "\"fields\":[\"naam\",\"gemeente\",\"capaciteit\"]"));
	csv = strchr(p, '\n') + 1;
	tail = strstr(csv, "\n{\"kluis_package\":1,\"part\":\"tail\"");
	CHECK(tail != NULL);
	tail++;
	CHECK_MEM(csv,
		  "naam,gemeente,capaciteit\n"
		  "Peeters,Gent,12\n"
		  "\"VZW \"\"De Boom\"\"\",\"Sint-Pieters, Leeuw\",\n"
		  ",,\n"
		  "\"=HYPERLINK(\"\"x\"\")\",Ééklo,3\n",
		  (size_t)(tail - csv));
	/* the digest covers exactly header + records */
	crypto_generichash(d, sizeof d, (const uint8_t *)csv,
			   (size_t)(tail - csv), NULL, 0);
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	CHECK(strncmp(t.records_digest, "blake2b-256:", 12) == 0);
	CHECK_STR(t.records_digest + 12, hex);
	CHECK(strstr(tail, hex) != NULL);
	CHECK(strstr(tail, "\"records\":4") != NULL);
	CHECK(out.p[out.len - 1] == '\n' &&
	      memchr(tail, '\n', out.len - (size_t)(tail - p)) ==
		      (const char *)out.p + out.len - 1);
	kbuf_free(&out);
}

static void no_record_line_starts_like_the_tail(void)
{
	/* A value that looks like the tail must come out quoted. */
	static const char *const recs[][3] = {
		{ "{\"kluis_package\":1}", "x", "1" },
	};
	struct kbuf out = KBUF_INIT(1 << 16);
	struct pkg_tail t;

	CHECK(write_pkg(recs, 1, &out, &t) == 0);
	CHECK(strstr((const char *)out.p,
		     "\n\"{\"\"kluis_package\"\":1}\",x,1\n") != NULL);
	kbuf_free(&out);
}

static void many_records_cross_blocks(void)
{
	/* Enough to flush the 256 KiB block several times: the digest and
	 * count must not depend on where blocks end. */
	static const char *const rec[][3] = { { "Janssens-Van den Broeck",
						"Sint-Niklaas", "150" } };
	struct kbuf out = KBUF_INIT(64u << 20);
	struct kbuf_sink s;
	struct pkg_head h;
	struct pkg_writer *w;
	struct pkg_tail t;
	struct kerr e;
	size_t lens[3] = { 23, 12, 3 };
	const char *csv, *tail;
	uint8_t d[32];
	char hex[65];

	head_init(&h);
	kbuf_sink_init(&s, &out);
	CHECK(pkg_writer_begin(&w, &h, &s.base, &e) == 0);
	for (int i = 0; i < 50000; i++)
		CHECK(pkg_write_record(w, rec[0], lens, &e) == 0);
	CHECK(pkg_writer_finish(w, &t, &e) == 0);
	pkg_writer_free(w);
	CHECK(t.records == 50000);
	csv = strchr((const char *)out.p, '\n') + 1;
	tail = strstr(csv, "\n{\"kluis_package\"") + 1;
	CHECK((size_t)(tail - csv) == 25 + 50000 * 41);
	crypto_generichash(d, sizeof d, (const uint8_t *)csv,
			   (size_t)(tail - csv), NULL, 0);
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	CHECK_STR(t.records_digest + 12, hex);
	kbuf_free(&out);
}

/* The one-pass check of a record line, SIMD and plain C, against the
 * byte-by-byte definition, on lines of every length around the 16-byte
 * chunks and with the special bytes anywhere. */
static void plain_line_check_agrees(void)
{
	static const uint8_t alpha[] = "ab ,\"\n\r\xc3\xa9-=";
	uint8_t line[300];
	uint32_t seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % 97) + (round % 7 == 0 ? 150 : 0);
		size_t commas = 0;
		bool bad = false;
		int density;

		seed = seed * 1103515245u + 12345u;
		density = (int)(seed >> 16) % 40 + 1;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			line[i] = (seed >> 16) % (unsigned)density == 0
					  ? alpha[(seed >> 8) % (sizeof alpha - 1)]
					  : (uint8_t)('a' + (seed >> 20) % 26);
			commas += line[i] == ',';
			bad |= line[i] == '"' || line[i] == '\n' ||
			       line[i] == '\r';
		}
		/* As put_record_at asks: the line holds the separators, so
		 * never fewer commas than it asks for. */
		for (size_t want = commas ? commas - 1 : 0; want <= commas;
		     want++) {
			bool expect = !bad && want == commas;

			CHECK(pkg_plain_line_(line, n, want, true) == expect);
			CHECK(pkg_plain_line_(line, n, want, false) == expect);
		}
	}
}

/* Lines past 255 chunks of 32 bytes, where the AVX2 check counts the
 * specials a block at a time (one lane could otherwise count 256 and
 * wrap to 0): commas in one lane of every chunk, a quote at the end. */
static void plain_line_long(void)
{
	static uint8_t line[40000];

	for (size_t n = 255 * 32 - 33; n <= 255 * 32 + 70; n += 1) {
		size_t commas = 0;

		for (size_t i = 0; i < n; i++) {
			line[i] = i % 32 == 5 ? ',' : 'x';
			commas += line[i] == ',';
		}
		CHECK(pkg_plain_line_(line, n, commas, false));
		CHECK(!pkg_plain_line_(line, n, commas - 1, false));
		CHECK(!pkg_plain_line_(line, n, commas - 256, false));
		if (line[n - 1] == ',')
			commas--;
		line[n - 1] = '"';
		CHECK(!pkg_plain_line_(line, n, commas, false));
	}
	for (size_t n = 30000; n <= 40000; n += 999) {
		size_t commas = 0;

		for (size_t i = 0; i < n; i++) {
			line[i] = i % 32 == 7 ? ',' : 'y';
			commas += line[i] == ',';
		}
		CHECK(pkg_plain_line_(line, n, commas, false));
		CHECK(!pkg_plain_line_(line, n, commas - 1, false));
		CHECK(!pkg_plain_line_(line, n, commas - 256, false));
	}
}

/* Records escaped on the side (pkg_escape_record) and handed over as a
 * buffer (pkg_write_kbuf, large enough to be taken without a copy) give
 * the bytes pkg_write_record gives. */
static void escaped_blocks_match_direct_writes(void)
{
	static const char *const pool[] = {
		"Peeters", "", "Sint-Pieters, Leeuw", "VZW \"De Boom\"",
		"a\nb", "c\rd", "Ééklo", "=1+2", "12",
		"Janssens-Van den Broeck, Maria-Louisa", ",", "\"",
	};
	const size_t np = sizeof pool / sizeof pool[0];
	struct kbuf direct = KBUF_INIT(64u << 20), side = KBUF_INIT(64u << 20);
	struct kbuf blk = KBUF_INIT(64u << 20);
	struct kbuf_sink s1, s2;
	struct pkg_head h;
	struct pkg_writer *w1, *w2;
	struct pkg_tail t1, t2;
	struct kerr e;
	uint64_t in_blk = 0;

	head_init(&h);
	kbuf_sink_init(&s1, &direct);
	kbuf_sink_init(&s2, &side);
	CHECK(pkg_writer_begin(&w1, &h, &s1.base, &e) == 0);
	CHECK(pkg_writer_begin(&w2, &h, &s2.base, &e) == 0);
	for (size_t r = 0; r < 60000; r++) {
		const char *v[3];
		size_t lens[3];

		for (int j = 0; j < 3; j++) {
			v[j] = pool[(r * (size_t)(j + 3) + r / 7) % np];
			lens[j] = strlen(v[j]);
		}
		CHECK(pkg_write_record(w1, v, lens, &e) == 0);
		if (r % 1000 == 999) {
			/* now and then a record straight to the writer */
			CHECK(pkg_write_kbuf(w2, &blk, in_blk, &e) == 0);
			CHECK(blk.len == 0);
			in_blk = 0;
			CHECK(pkg_write_record(w2, v, lens, &e) == 0);
			continue;
		}
		CHECK(pkg_escape_record(3, v, lens, &blk, &e) == 0);
		in_blk++;
		if (blk.len > (100u << 10)) {
			CHECK(pkg_write_kbuf(w2, &blk, in_blk, &e) == 0);
			CHECK(blk.len == 0);
			in_blk = 0;
		}
	}
	CHECK(pkg_write_kbuf(w2, &blk, in_blk, &e) == 0);
	CHECK(pkg_writer_finish(w1, &t1, &e) == 0);
	CHECK(pkg_writer_finish(w2, &t2, &e) == 0);
	pkg_writer_free(w1);
	pkg_writer_free(w2);
	CHECK(t1.records == 60000 && t2.records == 60000);
	CHECK_STR(t1.records_digest, t2.records_digest);
	CHECK(direct.len == side.len &&
	      memcmp(direct.p, side.p, direct.len) == 0);
	kbuf_free(&direct);
	kbuf_free(&side);
	kbuf_free(&blk);
}

/*
 * A sink for the queue tests: keeps what it is given, can be held shut
 * (a disk that does not take the data) and can fail from its n-th write.
 */
struct gate_sink {
	struct ksink base;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool shut;
	int writes, fail_at;        /* fail_at 0: never */
	struct kbuf got;
};

static int gate_write(struct ksink *s, const uint8_t *p, size_t n,
		      struct kerr *e)
{
	struct gate_sink *g = (struct gate_sink *)(void *)s;
	int w;

	pthread_mutex_lock(&g->mu);
	while (g->shut)
		pthread_cond_wait(&g->cv, &g->mu);
	w = ++g->writes;
	pthread_mutex_unlock(&g->mu);
	if (g->fail_at && w >= g->fail_at)
		return kerr_set(e, KERR_IO, "test sink", "refused");
	return kbuf_append(&g->got, p, n, e);
}

static void gate_init(struct gate_sink *g, int fail_at)
{
	memset(g, 0, sizeof *g);
	g->base.write = gate_write;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->fail_at = fail_at;
	kbuf_init(&g->got, 256u << 20, false);
}

static void gate_set(struct gate_sink *g, bool shut)
{
	pthread_mutex_lock(&g->mu);
	g->shut = shut;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_free(struct gate_sink *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	kbuf_free(&g->got);
}

/* Block k of the queue tests: whole lines, 64 KiB or more, so that
 * pkg_write_kbuf takes it without a copy. */
static void fill_block(struct kbuf *b, unsigned k, struct kerr *e)
{
	size_t want = (64u << 10) + (k * 7919u) % (48u << 10);

	while (b->len < want) {
		char line[64];
		int n = snprintf(line, sizeof line, "r%u-%zu,x,%u\n", k,
				 b->len, k * 31u);
		if (kbuf_append(b, line, (size_t)n, e))
			return;
	}
}

struct feeder {
	struct pkg_writer *w;
	unsigned blocks;
	struct kerr e;
	int handed;                 /* blocks handed over, under mu */
	int rc;
	pthread_mutex_t mu;
	struct kbuf all;            /* what was handed over, in order */
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	struct kbuf b = KBUF_INIT(1u << 20);

	for (unsigned k = 0; k < f->blocks && !f->rc; k++) {
		fill_block(&b, k, &f->e);
		kbuf_append(&f->all, b.p, b.len, &f->e);
		f->rc = pkg_write_kbuf(f->w, &b, 1, &f->e);
		pthread_mutex_lock(&f->mu);
		f->handed++;
		pthread_mutex_unlock(&f->mu);
	}
	kbuf_free(&b);
	return NULL;
}

/* Until the feeder has handed over `want` blocks, or for at most 5 s.
 * Not a timing check: a queue too short holds the feeder for ever; this
 * only bounds the wait for it.  How many it handed over. */
static int wait_handed(struct feeder *f, int want)
{
	int handed = 0;

	for (int i = 0; i < 5000 && handed < want; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&f->mu);
		handed = f->handed;
		pthread_mutex_unlock(&f->mu);
	}
	return handed;
}

static void *open_later(void *arg)
{
	struct timespec ts = { 0, 20000000 };

	nanosleep(&ts, NULL);
	gate_set(arg, false);
	return NULL;
}

/* While the sink takes nothing, whole blocks still go into the queue:
 * the caller runs on (at least 4 blocks) instead of waiting for each.
 * Once the sink opens, everything comes out in order, digested. */
static void queued_blocks_while_the_sink_waits(void)
{
	struct gate_sink g;
	struct feeder f = { .blocks = 40 };
	struct pkg_head h;
	struct pkg_tail t;
	pthread_t th;
	int handed = 0;
	uint8_t d[32];
	char hex[65];
	const uint8_t *csv;

	gate_init(&g, 0);
	head_init(&h);
	pthread_mutex_init(&f.mu, NULL);
	kbuf_init(&f.all, 256u << 20, false);
	/* The head line goes to the sink before the helper starts. */
	CHECK(pkg_writer_begin(&f.w, &h, &g.base, &f.e) == 0);
	gate_set(&g, true);
	CHECK(pthread_create(&th, NULL, feed, &f) == 0);
	handed = wait_handed(&f, 4);
	gate_set(&g, false);
	pthread_join(th, NULL);
	/* Everything is finished and freed before the checks: a failed
	 * check must not leave the helper writing into this frame. */
	int fed = f.rc == 0 && f.handed == 40;
	int fin = fed && pkg_writer_finish(f.w, &t, &f.e) == 0;
	pkg_writer_free(f.w);
	/* head line, CSV header line, the blocks, the tail line */
	csv = memchr(g.got.p, '\n', g.got.len);
	int same = fin && csv && g.got.len > f.all.len + 26 &&
		   memcmp(csv + 1, "naam,gemeente,capaciteit\n", 25) == 0 &&
		   memcmp(csv + 26, f.all.p, f.all.len) == 0;
	if (same) {
		crypto_generichash_state st;

		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, csv + 1, 25 + f.all.len);
		crypto_generichash_final(&st, d, sizeof d);
		sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	}
	pthread_mutex_destroy(&f.mu);
	kbuf_free(&f.all);
	gate_free(&g);
	CHECK(handed >= 4);
	CHECK(fed && fin && same);
	CHECK(t.records == 40);
	CHECK_STR(t.records_digest + 12, hex);
}

/* A sink that fails: the error comes back at a later hand-over or at
 * finish, and the blocks still queued are freed with the writer (the
 * sanitizer build finds a leak). */
static void queued_blocks_and_a_failing_sink(void)
{
	struct gate_sink g;
	struct pkg_head h;
	struct pkg_writer *w;
	struct pkg_tail t;
	struct kbuf b = KBUF_INIT(1u << 20);
	struct kerr e;
	int rc = 0;

	gate_init(&g, 3);
	head_init(&h);
	CHECK(pkg_writer_begin(&w, &h, &g.base, &e) == 0);
	for (unsigned k = 0; k < 40 && !rc; k++) {
		fill_block(&b, k, &e);
		rc = pkg_write_kbuf(w, &b, 1, &e);
	}
	if (!rc)
		rc = pkg_writer_finish(w, &t, &e);
	CHECK(rc == KERR_IO);
	CHECK_STR(e.why, "refused");
	pkg_writer_free(w);
	kbuf_free(&b);

	/* Freed while blocks wait behind a shut sink: the one being
	 * written completes once the sink opens (from another thread, as
	 * a disk would), the rest is dropped and freed. */
	gate_free(&g);
	gate_init(&g, 0);
	struct feeder f = { .blocks = 5 };
	pthread_t th, opener;
	int handed = 0;

	pthread_mutex_init(&f.mu, NULL);
	kbuf_init(&f.all, 256u << 20, false);
	CHECK(pkg_writer_begin(&f.w, &h, &g.base, &e) == 0);
	gate_set(&g, true);
	CHECK(pthread_create(&th, NULL, feed, &f) == 0);
	handed = wait_handed(&f, 5);
	if (handed < 5) /* a queue too short: let the feeder finish */
		gate_set(&g, false);
	pthread_join(th, NULL);
	CHECK(pthread_create(&opener, NULL, open_later, &g) == 0);
	pkg_writer_free(f.w);
	pthread_join(opener, NULL);
	pthread_mutex_destroy(&f.mu);
	kbuf_free(&f.all);
	gate_free(&g);
	CHECK(handed == 5);
}

static void trusted_comment(void)
{
	struct pkg_head h;
	struct pkg_tail t = { 7, "blake2b-256:ab" };
	char tc[MS_COMMENT_MAX];
	struct kerr e;

	head_init(&h);
	CHECK(pkg_trusted_comment(&h, &t, tc, sizeof tc, &e) == 0);
	CHECK_STR(tc, "kluis-package 0123456789abcdef0123456789abcdef "
		      "protocol=p-1 version=1.0 digest=sha256:00 records=7 "
		      "records_digest=blake2b-256:ab "
		      "created=2026-11-29T10:00:00Z");
	h.protocol_version = "1.0\n";
	CHECK(pkg_trusted_comment(&h, &t, tc, sizeof tc, &e) == KERR_FORMAT);
	CHECK(pkg_trusted_comment(&h, &t, tc, 20, &e) == KERR_LIMIT);
}

static void ids_are_random_hex(void)
{
	char a[PKG_ID_LEN + 1], b[PKG_ID_LEN + 1], now[PKG_TIME_LEN + 1];

	pkg_new_id(a);
	pkg_new_id(b);
	CHECK(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32);
	CHECK(strcmp(a, b) != 0);
	ktime_now(now);
	CHECK(strlen(now) == 20 && now[10] == 'T' && now[19] == 'Z');
}

const struct unit_case suite_pkg[] = {
	{ "pkg: head, CSV escaping, tail, digest", framing_and_escaping },
	{ "pkg: a value like the tail is quoted", no_record_line_starts_like_the_tail },
	{ "pkg: 50 000 records across blocks", many_records_cross_blocks },
	{ "pkg: one-pass line check, SIMD and plain C", plain_line_check_agrees },
	{ "pkg: the AVX2 line check on lines past 255 chunks", plain_line_long },
	{ "pkg: escaped blocks give the same bytes", escaped_blocks_match_direct_writes },
	{ "pkg: blocks queue while the sink waits; order and digest kept",
	  queued_blocks_while_the_sink_waits },
	{ "pkg: a failing sink behind the queue; queued blocks freed",
	  queued_blocks_and_a_failing_sink },
	{ "pkg: trusted comment", trusted_comment },
	{ "pkg: ids and times", ids_are_random_hex },
	{ NULL, NULL },
};
