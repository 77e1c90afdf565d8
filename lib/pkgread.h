/*
 * pkgread — reading a kluis package's plaintext (docs/formats.md §8), the
 * recipient's side of pkg.h.
 *
 * The sender is not trusted: every byte is checked against what
 * pkg_writer_* writes, and anything else is refused with KERR_FORMAT, or
 * KERR_LIMIT where a hard cap is passed.  The reader streams: memory is
 * bounded by the largest record (PKGR_MAX_RECORD), never by the package.
 *
 *   pkg_reader_open      head line and CSV header, checked against each other
 *   pkg_reader_next      one record at a time; at the tail line, the count
 *                        and the records digest are checked and *done is set
 *
 * A package is only known to be intact once pkg_reader_next reported done:
 * until then the records handed out may be followed by a failing tail.  A
 * caller that acts on records must be able to undo that (write to a
 * temporary file, a transaction, …).
 *
 * Errors: `what` is "package", `where` is "head", "header", "record N"
 * (1-based, as numbered in the package) or "tail", `why` says what is wrong.
 * No message holds a value from the package, only positions, counts and
 * format numbers.  After an error the reader stays failed: every later
 * pkg_reader_next returns the same error.
 */
#ifndef KLUIS_PKGREAD_H
#define KLUIS_PKGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "kio.h"
#include "pkg.h"

#define PKGR_MAX_HEAD (64u << 10)     /* head or tail line, LF included */
#define PKGR_MAX_RECORD (1u << 20)    /* one record as in the package,
				       * quotes and LF included */
#define PKGR_MAX_FIELDS 1024          /* columns, and fields in a record */

/* What the head line says.  Every string is NUL-terminated UTF-8 without
 * NUL, owned by the reader and valid until pkg_reader_free. */
struct pkg_info {
	int format;                      /* "kluis_package": PKG_FORMAT */
	char id[PKG_ID_LEN + 1];         /* 32 lowercase hex digits */
	char *protocol_id, *protocol_version, *protocol_digest;
	char *discloser_name, *discloser_key_id;
	char *recipient_name, *recipient;
	char created_at[PKG_TIME_LEN + 1]; /* YYYY-MM-DDTHH:MM:SSZ */
	char **fields;                   /* the head's field list */
	size_t n_fields;                 /* 1 .. PKGR_MAX_FIELDS */
};

struct pkg_reader;

/*
 * Read and check the head line and the CSV header from src (borrowed; it
 * must outlive the reader).  The header must name exactly the head's
 * fields, in order, without duplicates.  On failure *out is NULL.
 */
int pkg_reader_open(struct pkg_reader **out, struct ksrc *src,
		    struct kerr *e);

/* The head line's contents. */
const struct pkg_info *pkg_reader_info(const struct pkg_reader *r);

/* The CSV header's column names (unescaped, NUL-terminated; equal to the
 * head's fields), *n of them. */
const char *const *pkg_reader_columns(const struct pkg_reader *r, size_t *n);

/*
 * The next record.  On success with *done false, (*vals)[i] and (*lens)[i]
 * for i < the number of columns are the record's values: unescaped, valid
 * UTF-8 without NUL, NOT NUL-terminated, pointing into the reader and
 * valid until the next call.  At the tail line the tail is checked (its
 * package id, its count and records digest against what was read, and
 * that nothing follows it); then *done is true, *vals and *lens are NULL,
 * and later calls say done again.
 */
int pkg_reader_next(struct pkg_reader *r, const char *const **vals,
		    const size_t **lens, bool *done, struct kerr *e);

/* Records read so far (all of them once done). */
uint64_t pkg_reader_records(const struct pkg_reader *r);

/* The records digest ("blake2b-256:" + 64 hex digits) once done and
 * verified; NULL before. */
const char *pkg_reader_digest(const struct pkg_reader *r);

/* Release the reader, wiping its buffers: they held personal data.  NULL
 * is fine.  The source is not closed. */
void pkg_reader_free(struct pkg_reader *r);

#endif
