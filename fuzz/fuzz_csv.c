/*
 * fuzz_csv — the CSV reader on arbitrary bytes.
 *
 * Input: one option byte, then the file.  Bits 0-1 pick the encoding
 * (auto, UTF-8, Windows-1252, auto), bits 2-3 the delimiter (detect, ';',
 * ',', tab), bits 4-5 the limits (defaults or three small sets), bits 6-7
 * how many bytes the trickled source hands out per read (1, 2, 7, 61).
 * Properties:
 *   - the file read in one piece with the default buffer and trickled
 *     through the smallest buffer allowed gives the same records, the same
 *     final error (code, where, why) and the same encoding facts; the
 *     trickled reader also uses another byte classifier and, for every
 *     other input length, no fast path (the input's length picks, so
 *     that the option byte keeps its meaning);
 *   - errors carry their code, a location "line N..." and a reason, all
 *     printable ASCII; a failed or finished reader stays so;
 *   - every field is valid UTF-8 without NUL bytes and within max_field,
 *     records within max_fields, line numbers increase, a problem is one
 *     of the three static reasons and names an existing column;
 *   - when detection settled on an encoding (no BOM) and the whole file
 *     was read, declaring that encoding gives the same records.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "csv.h"

#include "fuzz_util.h"

static const enum csv_encoding encodings[4] = {
	CSV_ENC_AUTO, CSV_ENC_UTF8, CSV_ENC_CP1252, CSV_ENC_AUTO
};
static const char delimiters[4] = { 0, ';', ',', '\t' };
static const size_t steps[4] = { 1, 2, 7, 61 };

static void set_limits(struct csv_opts *o, unsigned which)
{
	switch (which) {
	case 1:
		o->max_record = 64;
		o->max_field = 16;
		o->max_fields = 8;
		break;
	case 2:
		o->max_record = 300;
		o->max_fields = 3;
		break;
	case 3:
		o->max_field = 5;
		o->max_record = 1;
		break;
	default:
		break;
	}
}

static void printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

static void check_error(int rc, const struct kerr *e)
{
	check_err(rc, e);
	if (rc == 0)
		return;
	if (rc != KERR_FORMAT && rc != KERR_LIMIT)
		abort();
	if (strncmp(e->where, "line ", 5) != 0 || e->why[0] == '\0' ||
	    strcmp(e->what, "register") != 0)
		abort();
	printable(e->where);
	printable(e->why);
}

static void check_record(const struct csv_record *rec,
			 const struct csv_opts *o, uint64_t *last_line)
{
	size_t max_field = o->max_field ? o->max_field : 64 << 10;
	size_t max_fields = o->max_fields ? o->max_fields : 4096;

	if (rec->n > max_fields || rec->line < 1 || rec->end_line < rec->line)
		abort();
	if (rec->n == 0) { /* end of input: the line after the last one */
		if (rec->line < *last_line || rec->problem)
			abort();
		return;
	}
	if (rec->line <= *last_line)
		abort();
	*last_line = rec->end_line;
	if (rec->problem) {
		if (rec->problem != csv_problem_quote &&
		    rec->problem != csv_problem_trailing &&
		    rec->problem != csv_problem_nul)
			abort();
		if (rec->problem_field >= rec->n)
			abort();
	} else if (rec->problem_field != 0) {
		abort();
	}
	for (size_t i = 0; i < rec->n; i++) {
		const uint8_t *p = (const uint8_t *)rec->fields[i].p;
		size_t len = rec->fields[i].len;

		if (len > max_field)
			abort();
		check_utf8_value(p, len);
	}
}

static bool same_record(const struct csv_record *a,
			const struct csv_record *b)
{
	if (a->n != b->n || a->line != b->line || a->end_line != b->end_line ||
	    a->problem != b->problem || a->problem_field != b->problem_field)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->fields[i].len != b->fields[i].len ||
		    a->fields[i].quoted != b->fields[i].quoted)
			return false;
		if (a->fields[i].len &&
		    memcmp(a->fields[i].p, b->fields[i].p, a->fields[i].len))
			return false;
	}
	return true;
}

static struct csv_reader *open_or_die(struct kmem_src *t,
				      const struct csv_opts *o)
{
	struct csv_reader *r;
	struct kerr e;

	if (csv_open(&r, &t->base, o, &e) != 0)
		abort();
	return r;
}

/* Read a and b side by side; abort on any difference (in the encoding
 * facts too, if `facts`).  Returns whether the whole input was read
 * without error. */
static bool lockstep(const uint8_t *data, size_t size,
		     const struct csv_opts *oa, size_t step_a,
		     const struct csv_opts *ob, size_t step_b, bool facts)
{
	struct kmem_src ta, tb;
	struct csv_reader *a, *b;
	struct csv_record ra, rb;
	struct kerr ea, eb;
	uint64_t last = 0;
	int rca, rcb;

	kmem_src_init_step(&ta, data, size, step_a);
	kmem_src_init_step(&tb, data, size, step_b);
	a = open_or_die(&ta, oa);
	b = open_or_die(&tb, ob);
	for (;;) {
		kerr_clear(&ea);
		kerr_clear(&eb);
		rca = csv_next(a, &ra, &ea);
		rcb = csv_next(b, &rb, &eb);
		check_error(rca, &ea);
		if (rca != rcb)
			abort();
		if (rca) {
			if (ea.code != eb.code || strcmp(ea.where, eb.where) ||
			    strcmp(ea.why, eb.why) || ra.n != 0 || rb.n != 0)
				abort();
			break;
		}
		check_record(&ra, oa, &last);
		if (!same_record(&ra, &rb))
			abort();
		if (csv_bytes_read(a) != csv_bytes_read(b) ||
		    csv_bytes_read(a) > size)
			abort();
		if (ra.n == 0)
			break;
	}
	if (csv_delimiter(a) != csv_delimiter(b) ||
	    csv_encoding_line(a) != csv_encoding_line(b))
		abort();
	if (facts && (csv_encoding_used(a) != csv_encoding_used(b) ||
	    csv_encoding_detected(a) != csv_encoding_detected(b) ||
	    csv_had_bom(a) != csv_had_bom(b)))
		abort();
	if (rca == 0 && csv_bytes_read(a) != size)
		abort();
	/* finished or failed for good */
	if (csv_next(a, &ra, &eb) != rca || ra.n != 0)
		abort();
	csv_free(a);
	csv_free(b);
	return rca == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_opts o, small;
	struct kmem_src t;
	struct csv_reader *r;
	struct csv_record rec;
	struct kerr e;
	enum csv_encoding enc = CSV_ENC_AUTO;
	bool bom = false, whole;
	uint8_t opt;

	init_once();
	if (size < 1)
		return 0;
	opt = data[0];
	data++;
	size--;

	memset(&o, 0, sizeof o);
	o.encoding = encodings[opt & 3];
	o.delimiter = delimiters[(opt >> 2) & 3];
	set_limits(&o, (opt >> 4) & 3);
	small = o;
	small.buffer_size = 1;
	small.classifier = (enum csv_classifier)(CSV_CLS_PLAIN + size % 3);
	small.no_fast_path = (size / 3) % 2;

	whole = lockstep(data, size, &o, SIZE_MAX, &small, steps[opt >> 6],
			 true);

	/* What detection chose, declared, reads the same. */
	if (!whole || o.encoding != CSV_ENC_AUTO)
		return 0;
	kmem_src_init_step(&t, data, size, 0);
	r = open_or_die(&t, &o);
	while (csv_next(r, &rec, &e) == 0 && rec.n)
		;
	enc = csv_encoding_used(r);
	bom = csv_had_bom(r);
	csv_free(r);
	if (enc == CSV_ENC_AUTO || bom)
		return 0;
	small = o;
	small.encoding = enc;
	if (!lockstep(data, size, &o, SIZE_MAX, &small, SIZE_MAX, false))
		abort();
	return 0;
}
