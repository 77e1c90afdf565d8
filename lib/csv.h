/*
 * csv — a streaming RFC 4180 reader for register exports (spreadsheets).
 *
 * Records come one at a time from a ksrc through a read buffer of bounded
 * size, so memory depends on the limits, never on the file.  Every field
 * handed out is UTF-8: ASCII or valid UTF-8 fields point straight into
 * the read buffer; quoted fields with "" escapes, fields with NUL bytes or
 * text after a closing quote, and Windows-1252 text are rebuilt in a
 * per-record scratch buffer.  Either way a record is valid only until the
 * next csv_next().
 *
 * Two kinds of trouble.  A sloppy record that can still be read (a stray
 * quote, text after a closing quote, a NUL byte) comes back with
 * rec->problem set, for the caller to reject and go on.  Anything that
 * makes the rest of the file unreadable or unbounded (an unclosed quote, a
 * limit, bytes that do not decode, mixed encodings) is fatal: csv_next
 * returns KERR_FORMAT or KERR_LIMIT and keeps returning it.  Errors say
 * where ("line 12, column 3") and why, never what a cell contains; byte
 * values appear as hex.
 *
 * Records end at LF or CRLF (the CR is dropped); a CR right before the end
 * of input counts as a cut-off CRLF, any other CR is data.  Line numbers
 * are physical lines of the file (every LF counts, including those inside
 * quoted fields and on skipped empty lines), so a user can find the spot
 * in an editor.  Columns in messages are 1-based.
 *
 * Windows-1252 is decoded through a table that glibc's iconv fills once per
 * process, so iconv stays the authority on which bytes are defined.
 */
#ifndef KLUIS_CSV_H
#define KLUIS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "kio.h"

enum csv_encoding { CSV_ENC_AUTO, CSV_ENC_UTF8, CSV_ENC_CP1252 };

/* Which byte classifier the parser uses; all give the same results. */
enum csv_classifier {
	CSV_CLS_BEST, /* the fastest this build and CPU have */
	CSV_CLS_PLAIN, CSV_CLS_SSE2, CSV_CLS_AVX2
};

struct csv_opts {
	/* AUTO: ASCII until the first byte >= 0x80; a byte order mark or a
	 * valid UTF-8 sequence there means UTF-8, anything else
	 * Windows-1252.  A Windows-1252 guess is then held to: a later valid
	 * multi-byte UTF-8 sequence is a fatal "file mixes" error. */
	enum csv_encoding encoding;
	char delimiter;     /* 0 = detect from the first record; else ';',
			     * ',' or '\t' */
	size_t max_field;   /* bytes of one field after decoding; 0 = 64 KiB */
	size_t max_fields;  /* columns per record; 0 = 4096 */
	size_t max_record;  /* raw bytes of one record from its first byte to
			     * its line end, quoted newlines included;
			     * 0 = 1 MiB */
	const char *name;   /* `what` in errors; NULL = "register"; borrowed */
	size_t buffer_size; /* largest read buffer (it starts smaller and
			     * grows while the source keeps it full); 0 =
			     * 4 MiB; raised to max_record + 64 if smaller.
			     * Small values are for tests. */
	enum csv_classifier classifier; /* for tests: the best one up to
					 * this (BEST = 0: any) */
	bool no_fast_path; /* for tests: every record through the general
			    * parser */
};

struct csv_field {
	const char *p; /* UTF-8, not NUL-terminated */
	size_t len;
	bool quoted;   /* the field began with a quote */
};

struct csv_record {
	const struct csv_field *fields;
	size_t n;             /* 0 at end of input */
	uint64_t line;        /* physical line (1-based) of its first byte */
	uint64_t end_line;    /* physical line where it ends */
	const char *problem;  /* NULL, or a static value-free reason the record
			       * is malformed but readable (the first one) */
	size_t problem_field; /* 0-based column of the problem */
};

/* The problems a record may carry (compare by pointer or by text). */
extern const char csv_problem_quote[];    /* "quote inside an unquoted field" */
extern const char csv_problem_trailing[]; /* "text after a closing quote" */
extern const char csv_problem_nul[];      /* "NUL byte" (dropped from value) */

struct csv_reader;

/* Prepare to read src (borrowed; nothing is read yet).  KERR_USAGE for a
 * delimiter other than 0 ';' ',' '\t' or absurd limits, KERR_NOMEM,
 * KERR_INTERNAL if iconv cannot provide Windows-1252. */
int csv_open(struct csv_reader **out, struct ksrc *src,
	     const struct csv_opts *o, struct kerr *e);

/* Next record; *rec is valid until the next call.  Returns 0 with
 * rec->n == 0 at end of input (and again on every later call).  Empty
 * lines (nothing, or only CR, before the LF) are skipped. */
int csv_next(struct csv_reader *r, struct csv_record *rec, struct kerr *e);

/* Raw bytes consumed through the last record returned (BOM included). */
uint64_t csv_bytes_read(const struct csv_reader *r);
/* The delimiter in use: declared, or detected with the first record
 * (0 before that). */
char csv_delimiter(const struct csv_reader *r);
/* UTF8 or CP1252 once decided; AUTO until then (a file may stay ASCII). */
enum csv_encoding csv_encoding_used(const struct csv_reader *r);
/* The encoding was chosen by the reader (byte order mark or the first
 * non-ASCII bytes), not declared. */
bool csv_encoding_detected(const struct csv_reader *r);
/* Line of the first byte >= 0x80 (0: none yet), whatever the encoding. */
uint64_t csv_encoding_line(const struct csv_reader *r);
bool csv_had_bom(const struct csv_reader *r);

/*
 * Where a reader stands between two records, so that another reader can
 * carry on from there (a block of the file parsed on another thread, or
 * the sequential reader resumed at an offset).  A reader opened at a
 * position gives exactly the records, errors and messages the first one
 * would have given from there, provided the encoding state is the one in
 * force at that point.
 */
struct csv_pos {
	uint64_t offset;         /* raw bytes before the next record */
	uint64_t line;           /* physical line of that byte */
	char delimiter;          /* settled (not 0) */
	enum csv_encoding encoding; /* in use; AUTO while undecided */
	bool detected, bom;
	uint64_t enc_line;       /* 0: no byte >= 0x80 before offset */
};

/* The reader's position after the last record it returned. */
void csv_pos_get(const struct csv_reader *r, struct csv_pos *at);

/* Like csv_open, for a source whose first byte is the one at `at`
 * (no byte order mark is looked for; the delimiter is at->delimiter). */
int csv_open_at(struct csv_reader **out, struct ksrc *src,
		const struct csv_opts *o, const struct csv_pos *at,
		struct kerr *e);

/* A reader over the n bytes at p, taken as the rest of the input from
 * `at` (the end of the block is the end of input).  The bytes are parsed
 * in place, never written, and stay the caller's (who wipes them); 64
 * initialised bytes must follow p[n - 1].  Records point into p or into
 * the reader's scratch. */
int csv_open_block(struct csv_reader **out, uint8_t *p, size_t n,
		   const struct csv_opts *o, const struct csv_pos *at,
		   struct kerr *e);

/* Wipe the buffers (they held personal data) and free.  NULL is fine. */
void csv_free(struct csv_reader *r);

#endif
