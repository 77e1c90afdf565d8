/*
 * pkg — the plaintext inside a kluis package (docs/formats.md §8).
 *
 *   {"kluis_package":1,"part":"head",…}      one line: what is known up front
 *   naam,voornaam,…                          CSV header = protocol field names
 *   records                                  RFC 4180, ',' and LF, UTF-8
 *   {"kluis_package":1,"part":"tail",…}      one line: count and digest
 *
 * The head and the tail together are the manifest.  The count and the
 * records digest are only known once the last record streamed past, so
 * they trail the records instead of being buffered: memory never grows
 * with the register.  A tail line is unambiguous because a record line can
 * never start with `{"` — a field holding a quote is always quoted.  The
 * records digest is BLAKE2b-256 over the exact bytes from the first byte of
 * the CSV header up to (not including) the tail line.
 *
 * The writer only frames and escapes; what goes in (validated, normalised,
 * minimised values) is the export workflow's business.  Values are taken
 * as given and never re-interpreted.
 */
#ifndef KLUIS_PKG_H
#define KLUIS_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "kbuf.h"
#include "kio.h"
#include "ktime.h"

#define PKG_FORMAT 1
#define PKG_ID_LEN 32              /* random 128-bit id, lowercase hex */
#define PKG_DIGEST_LEN 76          /* "blake2b-256:" + 64 hex digits */
#define PKG_TIME_LEN KTIME_LEN     /* "2026-11-29T10:11:12Z" */

struct pkg_head {
	char id[PKG_ID_LEN + 1];
	const char *protocol_id, *protocol_version, *protocol_digest;
	const char *discloser_name;
	const char *discloser_key_id;   /* minisign key id, as minisign prints it */
	const char *recipient_name;
	const char *recipient;          /* age1… */
	char created_at[PKG_TIME_LEN + 1];
	const char *const *fields;      /* protocol field names, in order */
	size_t n_fields;
};

struct pkg_tail {
	uint64_t records;
	char records_digest[PKG_DIGEST_LEN + 1];
};

/* A fresh random package id. */
void pkg_new_id(char id[PKG_ID_LEN + 1]);

struct pkg_writer;

/* Write the head line and the CSV header to `out` (borrowed; typically an
 * age encryptor's sink). */
int pkg_writer_begin(struct pkg_writer **out_w, const struct pkg_head *h,
		     struct ksink *out, struct kerr *e);
/* One record: n_fields values (UTF-8, no NUL; len 0 = empty). */
int pkg_write_record(struct pkg_writer *w, const char *const *values,
		     const size_t *lens, struct kerr *e);
/*
 * The same bytes in two steps, for records escaped on other threads:
 * pkg_escape_record appends one record's line (as pkg_write_record would
 * write it, with the same limit) to `out`; pkg_write_escaped appends n
 * such bytes holding `records` records, in order.  The records digest is
 * over the bytes alone, so it does not tell the two ways apart.
 */
int pkg_escape_record(size_t n_fields, const char *const *values,
		      const size_t *lens, struct kbuf *out, struct kerr *e);
int pkg_write_escaped(struct pkg_writer *w, const uint8_t *p, size_t n,
		      uint64_t records, struct kerr *e);
/*
 * pkg_write_escaped for a whole buffer of such lines, without copying
 * them: the writer takes b's memory and gives b an empty buffer in
 * exchange (one it was done with, or none).  b must not be secret.  The
 * exchanged memory holds old package lines until it is freed, which
 * wipes it, like pkg_writer_free does with the writer's own.
 */
int pkg_write_kbuf(struct pkg_writer *w, struct kbuf *b, uint64_t records,
		   struct kerr *e);
/* Write the tail line; *t receives the count and digest. */
int pkg_writer_finish(struct pkg_writer *w, struct pkg_tail *t,
		      struct kerr *e);
/* Wipes the buffered records.  NULL is fine. */
void pkg_writer_free(struct pkg_writer *w);

/* Tests only: whether the n bytes at p hold no quote, CR or LF and
 * exactly `commas` commas, by the SIMD check (portable false, where the
 * build has one) or in plain C.  Both must agree on every input that
 * holds at least `commas` commas (as a record line holds its
 * separators): the AVX2 check counts all four special bytes at once. */
bool pkg_plain_line_(const uint8_t *p, size_t n, size_t commas,
		     bool portable);

/* The trusted comment of the package's minisign signature (one line). */
int pkg_trusted_comment(const struct pkg_head *h, const struct pkg_tail *t,
			char *out, size_t cap, struct kerr *e);

#endif
