/* pkgread: reading the package plaintext back — round trips through the
 * real writer, every refusal with its place and reason, reads cut into
 * single bytes, records at the size limit. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixtures.h"
#include "kluis.h"
#include "unit.h"

#define ID FIXTURE_PKG_ID


/* A package from the real writer: nf fields, nr records of nf values
 * each (row-major in vals).  0 on success. */
static int write_pkg(const char *const *names, size_t nf,
		     const char *const *vals, size_t nr, struct kbuf *out,
		     struct pkg_tail *t)
{
	struct pkg_head h;
	struct kbuf_sink s;
	struct pkg_writer *w;
	struct kerr e;
	size_t lens[8];

	fixture_pkg_head(&h, names, nf);
	kbuf_sink_init(&s, out);
	if (nf > 8 || pkg_writer_begin(&w, &h, &s.base, &e))
		return -1;
	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < nf; j++)
			lens[j] = strlen(vals[i * nf + j]);
		if (pkg_write_record(w, vals + i * nf, lens, &e))
			return -1;
	}
	if (pkg_writer_finish(w, t, &e))
		return -1;
	pkg_writer_free(w);
	return 0;
}

/* The outcome of reading a whole package. */
struct outcome {
	int rc;
	struct kerr e;
	uint64_t records;
	char digest[PKG_DIGEST_LEN + 1];
	struct kbuf values;   /* every value as "len:bytes;" */
};

static void outcome_free(struct outcome *o)
{
	kbuf_free(&o->values);
}

static void read_pkg(const void *p, size_t len, size_t step,
		     struct outcome *o)
{
	struct kmem_src t;
	struct pkg_reader *r;
	const char *const *vals;
	const size_t *lens;
	bool done = false;
	size_t n;

	kmem_src_init_step(&t, p, len, step);
	memset(o, 0, sizeof *o);
	kbuf_init(&o->values, 256u << 20, false);
	kerr_clear(&o->e);
	if ((o->rc = pkg_reader_open(&r, &t.base, &o->e)))
		return;
	pkg_reader_columns(r, &n);
	while (!(o->rc = pkg_reader_next(r, &vals, &lens, &done, &o->e)) &&
	       !done) {
		for (size_t i = 0; i < n; i++) {
			if (kbuf_printf(&o->values, &o->e, "%zu:", lens[i]) ||
			    kbuf_append(&o->values, vals[i], lens[i], &o->e) ||
			    kbuf_putc(&o->values, ';', &o->e))
				abort();
		}
		kbuf_putc(&o->values, '\n', &o->e);
	}
	o->records = pkg_reader_records(r);
	if (done)
		memcpy(o->digest, pkg_reader_digest(r), sizeof o->digest);
	pkg_reader_free(r);
}

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->rc == b->rc && a->e.code == b->e.code &&
	       strcmp(a->e.where, b->e.where) == 0 &&
	       strcmp(a->e.why, b->e.why) == 0 && a->records == b->records &&
	       strcmp(a->digest, b->digest) == 0 &&
	       kbuf_equal(&a->values, &b->values);
}

/* Read in one piece and byte by byte: the same outcome both ways. */
static bool read_both(const void *p, size_t len, struct outcome *o)
{
	struct outcome one;
	bool same;

	read_pkg(p, len, SIZE_MAX, o);
	read_pkg(p, len, 1, &one);
	same = same_outcome(o, &one);
	outcome_free(&one);
	return same;
}

/* ------------------------------------------------------------ crafting */

static const char *const three[] = { "naam", "gemeente", "capaciteit" };

/* The writer's head line for `three`, LF included. */
static void head_line(struct kbuf *out)
{
	struct kbuf pkg = KBUF_INIT(1 << 16);
	struct pkg_tail t;
	const char *lf;
	struct kerr e;

	if (write_pkg(three, 3, NULL, 0, &pkg, &t))
		abort();
	lf = strchr((const char *)pkg.p, '\n');
	if (kbuf_append(out, pkg.p, (size_t)(lf - (const char *)pkg.p) + 1,
			&e))
		abort();
	kbuf_free(&pkg);
}

/* head (NULL: the writer's for `three`) + csv + a tail with the right
 * digest and `count` records (or `tail` as given). */
static void craft(struct kbuf *out, const char *head, const void *csv,
		  size_t csv_len, uint64_t count, const char *tail)
{
	uint8_t d[32];
	char hex[65];
	struct kerr e;

	kbuf_init(out, 8u << 20, false);
	if (head) {
		if (kbuf_puts(out, head, &e))
			abort();
	} else {
		head_line(out);
	}
	if (kbuf_append(out, csv, csv_len, &e))
		abort();
	if (tail) {
		if (kbuf_puts(out, tail, &e))
			abort();
		return;
	}
	crypto_generichash(d, sizeof d, csv, csv_len, NULL, 0);
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	if (kbuf_printf(out, &e,
			"{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":"
			"\"" ID "\",\"records\":%llu,\"records_digest\":"
			"\"blake2b-256:%s\"}\n",
			(unsigned long long)count, hex))
		abort();
}

#define HDR "naam,gemeente,capaciteit\n"

/* The package text, refused with code at `where` for a reason holding
 * `why`; the same one byte at a time; no message shows SECRET. */
static bool refused(const void *p, size_t len, int code, const char *where,
		    const char *why)
{
	struct outcome o;
	bool ok;

	ok = read_both(p, len, &o);
	if (!ok)
		printf("# one byte at a time differs\n");
	if (o.rc != code || (int)o.e.code != code ||
	    strcmp(o.e.what, "package") != 0 ||
	    strcmp(o.e.where, where) != 0 || !strstr(o.e.why, why) ||
	    strstr(o.e.why, "SECRET") || strstr(o.e.where, "SECRET")) {
		printf("# expected %d %s: …%s…\n#      got %d %s: %s\n", code,
		       where, why, o.rc, o.e.where, o.e.why);
		ok = false;
	}
	outcome_free(&o);
	return ok;
}

static bool refused_str(const char *s, int code, const char *where,
			const char *why)
{
	return refused(s, strlen(s), code, where, why);
}

/* Records crafted after the writer's head, with a correct tail. */
static bool refused_csv(const char *csv, size_t len, uint64_t count,
			int code, const char *where, const char *why)
{
	struct kbuf k;
	bool ok;

	craft(&k, NULL, csv, len, count, NULL);
	ok = refused(k.p, k.len, code, where, why);
	kbuf_free(&k);
	return ok;
}

#define REFUSED_CSV(lit, count, code, where, why) \
	refused_csv(lit, sizeof(lit) - 1, count, code, where, why)

/* Records crafted after the writer's head, and nothing after them. */
static bool refused_eof(const char *csv, size_t len, int code,
			const char *where, const char *why)
{
	struct kbuf k;
	bool ok;

	craft(&k, NULL, csv, len, 0, "");
	ok = refused(k.p, k.len, code, where, why);
	kbuf_free(&k);
	return ok;
}

#define REFUSED_EOF(lit, code, where, why) \
	refused_eof(lit, sizeof(lit) - 1, code, where, why)

/* Records and tail crafted after the writer's head. */
static bool refused_tail(const char *csv, const char *tail, int code,
			 const char *why)
{
	struct kbuf k;
	bool ok;

	craft(&k, NULL, csv, strlen(csv), 0, tail);
	ok = refused(k.p, k.len, code, "tail", why);
	kbuf_free(&k);
	return ok;
}

/* ------------------------------------------------------------ round trips */

static void round_trip(void)
{
	static const char *const recs[] = {
		"Peeters", "Gent", "12",
		"VZW \"De Boom\"", "Sint-Pieters, Leeuw", "",
		"", "", "",
		"multi\nline", "cr\rhere", "crlf\r\n",
		"\"", ",", "\"\"",
		"Ééklo", "日本", "😀",
		"{\"kluis_package\":1}", "{x", "{",
		"=HYPERLINK(\"x\")", " spaced ", "\t",
	};
	size_t nr = sizeof recs / sizeof *recs / 3;
	struct kbuf pkg = KBUF_INIT(1 << 20), expect = KBUF_INIT(1 << 20);
	struct pkg_tail t;
	struct outcome o;
	struct kmem_src m;
	struct pkg_reader *r;
	const struct pkg_info *in;
	const char *const *cols;
	struct kerr e;
	size_t n;

	CHECK(write_pkg(three, 3, recs, nr, &pkg, &t) == 0);
	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < 3; j++)
			kbuf_printf(&expect, &e, "%zu:%s;",
				    strlen(recs[i * 3 + j]), recs[i * 3 + j]);
		kbuf_putc(&expect, '\n', &e);
	}
	CHECK(read_both(pkg.p, pkg.len, &o));
	CHECK(o.rc == 0);
	CHECK(o.records == nr);
	CHECK_STR(o.digest, t.records_digest);
	CHECK(kbuf_equal(&o.values, &expect));
	outcome_free(&o);

	/* the head, as written */
	kmem_src_init(&m, pkg.p, pkg.len);
	CHECK(pkg_reader_open(&r, &m.base, &e) == 0);
	in = pkg_reader_info(r);
	CHECK(in->format == 1);
	CHECK_STR(in->id, ID);
	CHECK_STR(in->protocol_id, "p-1");
	CHECK_STR(in->protocol_version, "1.0");
	CHECK_STR(in->protocol_digest, "sha256:00");
	CHECK_STR(in->discloser_name, "Opgroeien");
	CHECK_STR(in->discloser_key_id, "ABCDEF");
	CHECK_STR(in->recipient_name, "SIA");
	CHECK_STR(in->recipient, "age1xyz");
	CHECK_STR(in->created_at, "2026-11-29T10:00:00Z");
	CHECK(in->n_fields == 3 && strcmp(in->fields[2], "capaciteit") == 0);
	cols = pkg_reader_columns(r, &n);
	CHECK(n == 3 && strcmp(cols[0], "naam") == 0);
	CHECK(pkg_reader_digest(r) == NULL);
	CHECK(pkg_reader_records(r) == 0);
	pkg_reader_free(r);
	kbuf_free(&pkg);
	kbuf_free(&expect);
}

static void one_field_and_zero_records(void)
{
	static const char *const one[] = { "naam" };
	static const char *const recs[] = { "", "x", "", "{", "{x", "a,b" };
	struct kbuf pkg = KBUF_INIT(1 << 16);
	struct pkg_tail t;
	struct outcome o;
	struct pkg_reader *r;
	struct kmem_src m;
	const char *const *vals;
	const size_t *lens;
	bool done;
	struct kerr e;

	/* a single empty value is written as an empty line */
	CHECK(write_pkg(one, 1, recs, 6, &pkg, &t) == 0);
	CHECK(strstr((const char *)pkg.p, "\nnaam\n\nx\n\n{\n{x\n\"a,b\"\n"));
	CHECK(read_both(pkg.p, pkg.len, &o));
	CHECK(o.rc == 0 && o.records == 6);
	CHECK_STR((const char *)o.values.p,
		  "0:;\n1:x;\n0:;\n1:{;\n2:{x;\n3:a,b;\n");
	CHECK_STR(o.digest, t.records_digest);
	outcome_free(&o);
	kbuf_free(&pkg);

	/* no records at all, one field and three */
	CHECK(write_pkg(one, 1, NULL, 0, &pkg, &t) == 0);
	CHECK(read_both(pkg.p, pkg.len, &o));
	CHECK(o.rc == 0 && o.records == 0 && o.values.len == 0);
	CHECK_STR(o.digest, t.records_digest);
	outcome_free(&o);
	kbuf_free(&pkg);
	CHECK(write_pkg(three, 3, NULL, 0, &pkg, &t) == 0);
	CHECK(read_both(pkg.p, pkg.len, &o));
	CHECK(o.rc == 0 && o.records == 0);
	outcome_free(&o);

	/* done stays done */
	kmem_src_init(&m, pkg.p, pkg.len);
	CHECK(pkg_reader_open(&r, &m.base, &e) == 0);
	CHECK(pkg_reader_next(r, &vals, &lens, &done, &e) == 0 && done);
	CHECK(pkg_reader_next(r, &vals, &lens, &done, &e) == 0 && done);
	CHECK(vals == NULL && lens == NULL);
	CHECK_STR(pkg_reader_digest(r), t.records_digest);
	pkg_reader_free(r);
	kbuf_free(&pkg);
}

static void many_records_any_reads(void)
{
	/* Several buffers' worth, quoted records mixed in, read in pieces
	 * of 1, 7 and 4093 bytes and in one. */
	static const char *const row[] = { "Janssens-Van den Broeck",
					   "Sint-Niklaas", "150" };
	static const char *const qrow[] = { "De \"Kleine\" Wereld",
					    "Heist, op den Berg", "é\n" };
	struct kbuf pkg = KBUF_INIT(16u << 20);
	struct kbuf_sink s;
	struct pkg_head h;
	struct pkg_writer *w;
	struct pkg_tail t;
	struct kerr e;
	struct outcome a, b;
	size_t lens[3] = { 23, 12, 3 }, qlens[3] = { 18, 18, 3 };
	static const size_t steps[] = { 1, 7, 4093 };

	fixture_pkg_head(&h, three, 3);
	kbuf_sink_init(&s, &pkg);
	CHECK(pkg_writer_begin(&w, &h, &s.base, &e) == 0);
	for (int i = 0; i < 30000; i++) {
		if (i % 97 == 3)
			CHECK(pkg_write_record(w, qrow, qlens, &e) == 0);
		else
			CHECK(pkg_write_record(w, row, lens, &e) == 0);
	}
	CHECK(pkg_writer_finish(w, &t, &e) == 0);
	pkg_writer_free(w);
	read_pkg(pkg.p, pkg.len, SIZE_MAX, &a);
	CHECK(a.rc == 0 && a.records == 30000);
	CHECK_STR(a.digest, t.records_digest);
	for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
		read_pkg(pkg.p, pkg.len, steps[i], &b);
		CHECK(same_outcome(&a, &b));
		outcome_free(&b);
	}
	outcome_free(&a);
	kbuf_free(&pkg);
}

static void large_records(void)
{
	/* The writer's largest record, and crafted ones at the reader's
	 * limit: the line with its LF may take PKGR_MAX_RECORD bytes. */
	static const char *const one[] = { "naam" };
	struct kbuf pkg = KBUF_INIT(4u << 20), csv = KBUF_INIT(4u << 20), k;
	char *big = malloc(PKGR_MAX_RECORD + 2);
	const char *vals[1];
	struct pkg_tail t;
	struct outcome o;
	struct kerr e;
	size_t n;

	CHECK(big);
	memset(big, 'x', PKGR_MAX_RECORD + 1);
	/* the writer's bound: 2 * n + 3 (all quoted and doubled) + LF */
	n = ((256u << 10) - 4) / 2;
	big[n] = '\0';
	vals[0] = big;
	CHECK(write_pkg(one, 1, vals, 1, &pkg, &t) == 0);
	CHECK(read_both(pkg.p, pkg.len, &o));
	CHECK(o.rc == 0 && o.records == 1);
	CHECK(o.values.len == 7 + n + 2 && o.values.p[7 + n] == ';');
	outcome_free(&o);
	kbuf_free(&pkg);
	big[n] = 'x';

	/* exactly at the limit: header line, then one record of MAX - 1
	 * bytes and its LF */
	kbuf_puts(&csv, "naam\n", &e);
	kbuf_append(&csv, big, PKGR_MAX_RECORD - 1, &e);
	kbuf_putc(&csv, '\n', &e);
	{
		struct kbuf head = KBUF_INIT(1 << 16);
		struct pkg_tail t0;
		const char *lf;

		CHECK(write_pkg(one, 1, NULL, 0, &head, &t0) == 0);
		lf = strchr((const char *)head.p, '\n');
		head.p[lf - (const char *)head.p + 1] = '\0';
		craft(&k, (const char *)head.p, csv.p, csv.len, 1, NULL);
		CHECK(read_both(k.p, k.len, &o));
		CHECK(o.rc == 0 && o.records == 1);
		outcome_free(&o);
		kbuf_free(&k);
		/* one byte more is over it */
		kbuf_truncate(&csv, csv.len - 1);
		kbuf_puts(&csv, "x\n", &e);
		craft(&k, (const char *)head.p, csv.p, csv.len, 1, NULL);
		CHECK(refused(k.p, k.len, KERR_LIMIT, "record 1",
			      "longer than 1 MiB"));
		kbuf_free(&k);
		/* a quoted record over it, never closed */
		kbuf_reset(&csv);
		kbuf_puts(&csv, "naam\n\"", &e);
		kbuf_append(&csv, big, PKGR_MAX_RECORD + 1, &e);
		craft(&k, (const char *)head.p, csv.p, csv.len, 1, NULL);
		CHECK(refused(k.p, k.len, KERR_LIMIT, "record 1",
			      "longer than 1 MiB"));
		kbuf_free(&k);
		kbuf_free(&head);
	}
	kbuf_free(&csv);
	free(big);
}

static void lenient_where_harmless(void)
{
	/* A record starting with `{` but not `{"` is a record; a quoted
	 * field that need not be is read as its value. */
	struct kbuf k;
	struct outcome o;
	static const char csv[] = HDR "{x,\"abc\",{\n";

	craft(&k, NULL, csv, sizeof csv - 1, 1, NULL);
	CHECK(read_both(k.p, k.len, &o));
	CHECK(o.rc == 0 && o.records == 1);
	CHECK_STR((const char *)o.values.p, "2:{x;3:abc;1:{;\n");
	outcome_free(&o);
	kbuf_free(&k);
}

/* ------------------------------------------------------------ refusals */

static void refuses_heads(void)
{
	char *big;

	CHECK(refused_str("", KERR_FORMAT, "head", "empty input"));
	CHECK(refused_str("naam,gemeente\n", KERR_FORMAT, "head",
			  "not a kluis package"));
	CHECK(refused_str("[1]\n", KERR_FORMAT, "head", "not a kluis package"));
	CHECK(refused_str("{\"part\":\"head\"}\n" HDR, KERR_FORMAT, "head",
			  "no \"kluis_package\" number"));
	CHECK(refused_str("{\"kluis_package\":\"1\",\"part\":\"head\"}\n",
			  KERR_FORMAT, "head", "no \"kluis_package\" number"));
	CHECK(refused_str("{\"kluis_package\":2,\"part\":\"head\"}\n" HDR,
			  KERR_FORMAT, "head",
			  "package format 2 is newer than this kluis knows"));
	CHECK(refused_str("{\"kluis_package\":0,\"part\":\"head\"}\n",
			  KERR_FORMAT, "head", "unknown package format 0"));
	CHECK(refused_str("{\"kluis_package\":1,\"part\":\"tail\"}\n",
			  KERR_FORMAT, "head", "\"part\" is not \"head\""));
	CHECK(refused_str("{\"kluis_package\":1,}\n", KERR_FORMAT, "head",
			  "not valid JSON"));
	CHECK(refused_str("{\"kluis_package\":1,\"part\":\"head\"}\r\n",
			  KERR_FORMAT, "head", "ending in LF"));
	CHECK(refused_str("{\"kluis_package\":1,\"part\":\"head\"}",
			  KERR_FORMAT, "head",
			  "truncated: the head line has no line end"));

	/* "{  …  }" and LF: 64 KiB + 1 bytes is over the limit */
	big = malloc((64u << 10) + 2);
	CHECK(big);
	memset(big, ' ', (64u << 10) + 1);
	big[0] = '{';
	big[(64u << 10) - 1] = '}';
	big[(64u << 10)] = '\n';
	big[(64u << 10) + 1] = '\0';
	CHECK(refused_str(big, KERR_LIMIT, "head", "longer than 64 KiB"));
	/* exactly 64 KiB with the LF: read, and refused for its contents */
	big[(64u << 10) - 2] = '}';
	big[(64u << 10) - 1] = '\n';
	big[(64u << 10)] = '\0';
	CHECK(refused_str(big, KERR_FORMAT, "head", "kluis_package"));
	free(big);
}

/* The writer's head line with one substitution. */
static bool refused_head_edit(const char *from, const char *to,
			      const char *why)
{
	struct kbuf h = KBUF_INIT(1 << 16), k;
	char *at, line[4096];
	bool ok;

	head_line(&h);
	at = strstr((char *)h.p, from);
	if (!at) {
		printf("# %s not in the head\n", from);
		kbuf_free(&h);
		return false;
	}
	snprintf(line, sizeof line, "%.*s%s%s", (int)(at - (char *)h.p),
		 (char *)h.p, to, at + strlen(from));
	craft(&k, line, HDR, sizeof HDR - 1, 0, NULL);
	ok = refused(k.p, k.len, KERR_FORMAT, "head", why);
	kbuf_free(&k);
	kbuf_free(&h);
	return ok;
}

static void refuses_bad_head_keys(void)
{
	CHECK(refused_head_edit("\"version\":\"1.0\",", "",
				"\"protocol.version\" is missing"));
	CHECK(refused_head_edit("\"version\":\"1.0\"", "\"version\":1",
				"\"protocol.version\" is missing, not a string"));
	CHECK(refused_head_edit("\"name\":\"SIA\"", "\"name\":\"\"",
				"\"recipient.name\" is missing, not a string or empty"));
	CHECK(refused_head_edit("\"protocol\":{", "\"protocol\":[{",
				"not valid JSON"));
	CHECK(refused_head_edit("\"discloser\":{\"name\":\"Opgroeien\",",
				"\"discloser\":{\"name\":\"Opgroeien\",\"x\":1,",
				"an unknown key in \"discloser\""));
	CHECK(refused_head_edit("\"recipient\":{\"name\":\"SIA\",\"age_recipient\":\"age1xyz\"}",
				"\"recipient\":\"SIA\"",
				"\"recipient\" is missing or not an object"));
	CHECK(refused_head_edit("\"part\":\"head\",",
				"\"part\":\"head\",\"extra\":true,",
				"an unknown key in the head"));
	CHECK(refused_head_edit("\"package_id\":\"0123", "\"package_id\":\"X123",
				"\"package_id\" is not 32 lowercase hex"));
	CHECK(refused_head_edit("\"created_at\":\"2026-11-29T10:00:00Z\"",
				"\"created_at\":\"2026-11-29 10:00:00\"",
				"\"created_at\" is not YYYY-MM-DDTHH:MM:SSZ"));
	CHECK(refused_head_edit("newline=LF\"", "newline=CRLF\"",
				"\"records\" is not the CSV"));
	CHECK(refused_head_edit("\"fields\":[\"naam\",", "\"fields\":[1,",
				"field 1 in \"fields\" is not a string"));
	CHECK(refused_head_edit("\"fields\":[\"naam\",\"gemeente\",\"capaciteit\"]",
				"\"fields\":\"naam\"",
				"\"fields\" is missing, not an array or empty"));
	CHECK(refused_head_edit("\"fields\":[\"naam\",\"gemeente\",\"capaciteit\"]",
				"\"fields\":[]",
				"\"fields\" is missing, not an array or empty"));
	CHECK(refused_head_edit("\"kluis_package\":1,\"part\":\"head\",",
				"\"kluis_package\":1,\"part\":\"head\",\"part\":\"head\",",
				"not valid JSON"));
}

static void refuses_headers(void)
{
	static const char *const dup[] = { "a", "b", "a" };
	struct kbuf pkg = KBUF_INIT(1 << 16);
	struct pkg_tail t;

	CHECK(REFUSED_EOF("", KERR_FORMAT, "header",
			  "truncated: no CSV header"));
	CHECK(REFUSED_EOF("naam,gemeente", KERR_FORMAT, "header",
			  "truncated: the header has no line end"));
	CHECK(REFUSED_CSV("naam,gemeente\n", 0, KERR_FORMAT, "header",
			  "the header has 2 columns, the head lists 3 fields"));
	CHECK(REFUSED_CSV("naam,gemeente,capaciteit,x\n", 0, KERR_FORMAT,
			  "header", "the header has 4 columns"));
	CHECK(REFUSED_CSV("naam,Gemeente,capaciteit\n", 0, KERR_FORMAT,
			  "header", "column 2 of the header is not the head's"));
	CHECK(REFUSED_CSV("naam,gemeente,capaciteit\r\n", 0, KERR_FORMAT,
			  "header", "CR outside quotes in column 3"));
	/* a quoted header name is unescaped before it is compared */
	{
		struct kbuf k;
		struct outcome o;
		static const char csv[] = "\"naam\",gemeente,capaciteit\n";

		craft(&k, NULL, csv, sizeof csv - 1, 0, NULL);
		CHECK(read_both(k.p, k.len, &o));
		CHECK(o.rc == 0);
		outcome_free(&o);
		kbuf_free(&k);
	}
	CHECK(write_pkg(dup, 3, NULL, 0, &pkg, &t) == 0);
	CHECK(refused(pkg.p, pkg.len, KERR_FORMAT, "header",
		      "columns 1 and 3 have the same name"));
	kbuf_free(&pkg);
}

static void refuses_records(void)
{
	struct kbuf csv = KBUF_INIT(1 << 20);
	struct kerr e;

	CHECK(REFUSED_CSV(HDR "SECRET,b\n", 1, KERR_FORMAT, "record 1",
			  "the record has 2 fields, the header has 3"));
	CHECK(REFUSED_CSV(HDR "a,b,c\nSECRET,b,c,d\n", 2, KERR_FORMAT,
			  "record 2", "the record has 4 fields, the header has 3"));
	CHECK(REFUSED_CSV(HDR "a,b,c\n\"SE,CRET\"\n", 2, KERR_FORMAT,
			  "record 2", "the record has 1 field, the header has 3"));
	CHECK(REFUSED_CSV(HDR "a,b,c\n\na,b,c\n", 2, KERR_FORMAT, "record 2",
			  "an empty line (a record has 3 fields)"));
	CHECK(REFUSED_CSV(HDR "SE\"CRET,b,c\n", 1, KERR_FORMAT, "record 1",
			  "a quote inside an unquoted field (column 1)"));
	CHECK(REFUSED_CSV(HDR "a,\"x\",SE\"CRET\"\n", 1, KERR_FORMAT,
			  "record 1",
			  "a quote inside an unquoted field (column 3)"));
	CHECK(REFUSED_CSV(HDR "a,b,SECRET\r\n", 1, KERR_FORMAT, "record 1",
			  "CR outside quotes in column 3"));
	CHECK(REFUSED_CSV(HDR "a,\"b\",\"SECRET\"\r\n", 1, KERR_FORMAT,
			  "record 1", "CR after the closing quote of column 3"));
	CHECK(REFUSED_CSV(HDR "\"SECRET\"x,b,c\n", 1, KERR_FORMAT,
			  "record 1",
			  "characters after the closing quote of column 1"));
	CHECK(REFUSED_EOF(HDR "a,b,c\na,\"SECRET", KERR_FORMAT,
			  "record 2", "unterminated quote in column 2"));
	CHECK(REFUSED_EOF(HDR "a,b,c\na,\"SE\"\"CRET\"", KERR_FORMAT,
			  "record 2", "truncated: the record has no line end"));
	CHECK(REFUSED_EOF(HDR "a,b,c\na,b,SECRET", KERR_FORMAT, "record 2",
			  "truncated: the record has no line end (no tail "
			  "line after record 1)"));
	CHECK(REFUSED_CSV(HDR "a,\xff,c\n", 1, KERR_FORMAT, "record 1",
			  "column 2 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "a,b,SECRET\xc0\xaf\n", 1, KERR_FORMAT,
			  "record 1", "column 3 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "\xed\xa0\x80,b,c\n", 1, KERR_FORMAT,
			  "record 1", "column 1 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "a,b,\xf4\x90\x80\x80\n", 1, KERR_FORMAT,
			  "record 1", "column 3 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "a,b,SECRET\xe2\x82\n", 1, KERR_FORMAT,
			  "record 1", "column 3 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "a,\"SE,CRET\xff\",c\n", 1, KERR_FORMAT,
			  "record 1", "column 2 is not valid UTF-8"));
	CHECK(REFUSED_CSV(HDR "a,SECRET\0x,c\n", 1, KERR_FORMAT, "record 1",
			  "a NUL byte in column 2"));
	CHECK(REFUSED_CSV(HDR "a,b,\"SE\nC\0RET\"\n", 1, KERR_FORMAT,
			  "record 1", "a NUL byte in column 3"));
	/* the tail missing entirely: the records end the input */
	{
		struct kbuf k;
		static const char csv2[] = HDR "a,b,c\nd,e,f\n";

		craft(&k, NULL, csv2, sizeof csv2 - 1, 2, NULL);
		k.len -= strlen(strrchr((char *)k.p, '{'));
		CHECK(refused(k.p, k.len, KERR_FORMAT, "tail",
			      "truncated: no tail line after record 2"));
		kbuf_free(&k);
	}
	/* more than 1024 fields */
	kbuf_puts(&csv, HDR, &e);
	for (int i = 0; i < 1100; i++)
		kbuf_putc(&csv, ',', &e);
	kbuf_putc(&csv, '\n', &e);
	CHECK(refused_csv((const char *)csv.p, csv.len, 1, KERR_LIMIT,
			  "record 1", "more than 1024 fields"));
	kbuf_free(&csv);
}

static void refuses_tails(void)
{
	char tail[512];
	uint8_t d[32];
	char hex[65];
	static const char recs[] = HDR "a,b,c\nd,e,f\n";

	crypto_generichash(d, sizeof d, (const uint8_t *)recs,
			   sizeof recs - 1, NULL, 0);
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":3,\"records_digest\":\"blake2b-256:%s\"}\n",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "the tail says 3 records, the package holds 2"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%064d\"}\n",
		 0);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "records digest does not match: the records were "
			   "changed"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%.63s\"}\n",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "\"records_digest\" is not blake2b-256:"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\""
		 "ffffffffffffffffffffffffffffffff\",\"records\":2,"
		 "\"records_digest\":\"blake2b-256:%s\"}\n", hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "the tail's package id is not the head's"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":\"2\",\"records_digest\":\"blake2b-256:%s\"}\n",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "\"records\" is missing or not a count"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%s\"}\r\n",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT, "ending in LF"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%s\"}",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "truncated: the tail line has no line end"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%s\"}\nx",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT, "data after the tail line"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%s\"}\n\n",
		 hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT, "data after the tail line"));
	snprintf(tail, sizeof tail,
		 "{\"kluis_package\":1,\"part\":\"tail\",\"package_id\":\"" ID
		 "\",\"records\":2,\"records_digest\":\"blake2b-256:%s\","
		 "\"more\":1}\n", hex);
	CHECK(refused_tail(recs, tail, KERR_FORMAT,
			   "an unknown key in the tail"));
	CHECK(refused_tail(recs, "{\"kluis_package\":1,\"part\":\"head\"}\n",
			   KERR_FORMAT, "\"part\" is not \"tail\""));
	CHECK(refused_tail(recs, "{\"kluis_package\":2,\"part\":\"tail\"}\n",
			   KERR_FORMAT, "package format 2 is newer"));
	CHECK(refused_tail(recs, "{\"x\n", KERR_FORMAT,
			   "the tail line is not one JSON object"));
	CHECK(refused_tail(recs, "{\"x\":}\n", KERR_FORMAT,
			   "the tail line is not valid JSON"));

	/* A changed record with the writer's tail: the digest catches it. */
	{
		static const char *const rows[] = { "a", "b", "c" };
		struct kbuf pkg = KBUF_INIT(1 << 16);
		struct pkg_tail t;
		char *at;

		CHECK(write_pkg(three, 3, rows, 1, &pkg, &t) == 0);
		at = strstr((char *)pkg.p, "\na,b,c\n");
		CHECK(at);
		at[1] = 'z';
		CHECK(refused(pkg.p, pkg.len, KERR_FORMAT, "tail",
			      "records digest does not match"));
		kbuf_free(&pkg);
	}
}

static void errors_stick(void)
{
	static const char csv[] = HDR "a,b\na,b,c\n";
	struct kbuf k;
	struct kmem_src m;
	struct pkg_reader *r;
	const char *const *vals;
	const size_t *lens;
	bool done;
	struct kerr e, e2;

	craft(&k, NULL, csv, sizeof csv - 1, 2, NULL);
	kmem_src_init(&m, k.p, k.len);
	CHECK(pkg_reader_open(&r, &m.base, &e) == 0);
	CHECK(pkg_reader_next(r, &vals, &lens, &done, &e) == KERR_FORMAT);
	CHECK(pkg_reader_next(r, &vals, &lens, &done, &e2) == KERR_FORMAT);
	CHECK(!done && vals == NULL);
	CHECK_STR(e.where, e2.where);
	CHECK_STR(e.why, e2.why);
	CHECK(pkg_reader_records(r) == 0);
	pkg_reader_free(r);
	kbuf_free(&k);
}

const struct unit_case suite_pkgread[] = {
	{ "pkgread: round trip through the writer", round_trip },
	{ "pkgread: one field, empty lines, no records",
	  one_field_and_zero_records },
	{ "pkgread: 30 000 records, reads of any size",
	  many_records_any_reads },
	{ "pkgread: records at the size limit", large_records },
	{ "pkgread: `{x` records, needless quotes", lenient_where_harmless },
	{ "pkgread: bad head lines", refuses_heads },
	{ "pkgread: bad head keys", refuses_bad_head_keys },
	{ "pkgread: bad CSV headers", refuses_headers },
	{ "pkgread: bad records", refuses_records },
	{ "pkgread: bad tails", refuses_tails },
	{ "pkgread: errors stick", errors_stick },
	{ NULL, NULL },
};
