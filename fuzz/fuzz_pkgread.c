/*
 * fuzz_pkgread — the package plaintext reader on arbitrary bytes.
 *
 * Input: one option byte, then the package text.  Bits 0-1 pick how many
 * bytes the trickled source hands out per read (1, 2, 7, 61).
 * Properties:
 *   - read in one piece and trickled, the package gives the same columns,
 *     the same records and the same final outcome (code, where, why,
 *     count, digest);
 *   - an error is KERR_FORMAT or KERR_LIMIT on "package", located at
 *     "head", "header", "tail" or "record N" with N the record being read,
 *     with a printable reason; a failed reader stays failed, a finished
 *     one stays done;
 *   - every value is valid UTF-8 without NUL, every record has as many
 *     values as there are columns, and the columns are the head's fields;
 *   - done means the digest is "blake2b-256:" and 64 hex digits and the
 *     count is the number of records handed out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pkgread.h"

#include "fuzz_util.h"

static const size_t steps[4] = { 1, 2, 7, 61 };

static void printable(const char *s)
{
	if (!*s)
		abort();
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

static void check_error(int rc, const struct kerr *e, uint64_t records,
			bool opened)
{
	char rec[48];

	check_err(rc, e);
	if (rc != KERR_FORMAT && rc != KERR_LIMIT)
		abort();
	if (strcmp(e->what, "package") != 0)
		abort();
	printable(e->where);
	printable(e->why);
	snprintf(rec, sizeof rec, "record %llu",
		 (unsigned long long)records + 1);
	if (strcmp(e->where, "tail") == 0 || strcmp(e->where, rec) == 0) {
		if (!opened)
			abort();
	} else if (strcmp(e->where, "head") != 0 &&
		   strcmp(e->where, "header") != 0) {
		abort();
	} else if (opened) {
		abort();
	}
}

static void check_open(struct pkg_reader *r)
{
	const struct pkg_info *in = pkg_reader_info(r);
	const char *const *cols;
	size_t n;

	cols = pkg_reader_columns(r, &n);
	if (n == 0 || n > PKGR_MAX_FIELDS || n != in->n_fields ||
	    in->format != PKG_FORMAT || strlen(in->id) != PKG_ID_LEN ||
	    strlen(in->created_at) != PKG_TIME_LEN)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cols[i], in->fields[i]) != 0)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(cols[i], cols[j]) == 0)
				abort();
	}
	if (!in->protocol_id || !in->protocol_version ||
	    !in->protocol_digest || !in->discloser_name ||
	    !in->discloser_key_id || !in->recipient_name || !in->recipient)
		abort();
	if (pkg_reader_records(r) != 0 || pkg_reader_digest(r) != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmem_src ta, tb;
	struct pkg_reader *a = NULL, *b = NULL;
	struct kerr ea, eb;
	int rca, rcb;
	size_t n = 0;

	init_once();
	if (size < 1)
		return 0;
	kmem_src_init_step(&ta, data + 1, size - 1, 0);
	kmem_src_init_step(&tb, data + 1, size - 1, steps[data[0] & 3]);
	kerr_clear(&ea);
	kerr_clear(&eb);
	rca = pkg_reader_open(&a, &ta.base, &ea);
	rcb = pkg_reader_open(&b, &tb.base, &eb);
	if (rca != rcb)
		abort();
	if (rca) {
		check_error(rca, &ea, 0, false);
		if (a || b || strcmp(ea.where, eb.where) ||
		    strcmp(ea.why, eb.why))
			abort();
		return 0;
	}
	check_open(a);
	pkg_reader_columns(a, &n);
	for (;;) {
		const char *const *va, *const *vb;
		const size_t *la, *lb;
		bool da = false, db = false;
		uint64_t before = pkg_reader_records(a);

		kerr_clear(&ea);
		kerr_clear(&eb);
		rca = pkg_reader_next(a, &va, &la, &da, &ea);
		rcb = pkg_reader_next(b, &vb, &lb, &db, &eb);
		if (rca != rcb || da != db ||
		    pkg_reader_records(a) != pkg_reader_records(b))
			abort();
		if (rca) {
			check_error(rca, &ea, before, true);
			if (strcmp(ea.where, eb.where) ||
			    strcmp(ea.why, eb.why) || va || la ||
			    pkg_reader_records(a) != before)
				abort();
			/* failed for good */
			if (pkg_reader_next(a, &va, &la, &da, &eb) != rca ||
			    strcmp(ea.why, eb.why) || da)
				abort();
			break;
		}
		if (da) {
			const char *d = pkg_reader_digest(a);

			if (va || la || !d || pkg_reader_records(a) != before ||
			    strlen(d) != PKG_DIGEST_LEN ||
			    strncmp(d, "blake2b-256:", 12) != 0 ||
			    strspn(d + 12, "0123456789abcdef") != 64 ||
			    strcmp(d, pkg_reader_digest(b)) != 0)
				abort();
			/* done for good */
			if (pkg_reader_next(a, &va, &la, &da, &ea) != 0 || !da)
				abort();
			break;
		}
		if (pkg_reader_records(a) != before + 1)
			abort();
		for (size_t i = 0; i < n; i++) {
			check_utf8_value(va[i], la[i]);
			if (la[i] != lb[i] ||
			    (la[i] && memcmp(va[i], vb[i], la[i]) != 0))
				abort();
		}
	}
	pkg_reader_free(a);
	pkg_reader_free(b);
	return 0;
}
