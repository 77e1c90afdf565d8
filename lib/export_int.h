/*
 * export_int — what lib/export.c (the pass, the outputs, the commits) and
 * lib/xpar.c (the parallel pass) share.  Internal to those two files: not
 * part of kluis.h.
 *
 * A record is judged (ex_classify → normalise → escape → key) by whichever
 * thread holds it, with that thread's struct judge; its fate is applied
 * (ex_tally: counts, issues, --max-rejects, ledger, package) only on the
 * merging thread, in file order.
 */
#ifndef KLUIS_EXPORT_INT_H
#define KLUIS_EXPORT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <sodium.h>

#include "age.h"
#include "csv.h"
#include "export.h"
#include "kfile.h"
#include "kio.h"
#include "ledger.h"
#include "pcache.h"
#include "pkg.h"

#define PROGRESS_EVERY 65536    /* records between progress calls */

enum outcome { SELECTED, EXCLUDED, REJECTED };

/* Room for a "line:N" source key (N up to 20 digits). */
#define EX_LINE_KEY 32

struct column {
	char *header;                /* as in the register, UTF-8 */
	const struct pfield *field;  /* NULL: dropped */
	bool is_key;
};

struct fstats {
	uint64_t empty, blanked, rejected, formula;
};

/* One problem found in the record at hand; written out once the record's
 * fate is known (dropped if it turns out to be out of scope). */
struct pending_issue {
	size_t field;                /* protocol field index, or SIZE_MAX */
	size_t column;               /* register column, or SIZE_MAX */
	const char *reason;
	bool blanked;
};

/* One field of the record as judge normalises it: where its cell is,
 * where its result goes, how it is normalised and what an empty cell
 * gives, resolved once (see make_plan). */
struct jfield {
	size_t cell;                 /* the cell: byte offset in the fields */
	const char **v;              /* &j->v[i], &j->lens[i] */
	size_t *len;
	struct pcache *cache;
	pfield_fn fn;                /* direct fields: called in the loop */
	const struct pfield *f;      /* fn's field */
	struct kbuf *out;            /* fn's output (the cache's own) */
	size_t i;                    /* protocol field index */
	size_t col;                  /* register column (if it has one) */
	const char *empty_why;       /* an empty cell's result, if known */
	int empty_rc;
	bool empty_known;
	bool empty_quiet;            /* known, and neither issue nor reject */
	bool text;                   /* counted when it looks like a formula */
};

/* What judging a record needs besides the shared, read-only setup: the
 * normalised values, the caches and the issues of the record at hand.
 * One per thread that judges records. */
struct judge {
	struct pcache **cache;       /* per field: results of repeated cells,
				      * and the values of the record */
	struct jfield *plan;         /* the fields in x->order, once the
				      * columns are known (plan_ready) */
	bool plan_ready;
	size_t plan_mid[2];          /* per part: where the fields without a
				      * column start */
	bool reject;                 /* of the part being normalised */
	/* Why the field at hand has no value, and its value when the cache
	 * did not hit (not locals: their address would cost the stack
	 * protector per record). */
	const char *why, *rest_v;
	size_t rest_n;
	const char **v;
	size_t *lens;
	struct pending_issue *pend;
	size_t n_pend;
	size_t *empty, n_empty;      /* fields of the record left empty */
	size_t *formula, n_formula;  /* text fields that look like formulas */
	struct fstats *stats;        /* where the per-field counts go */
	char key[EX_LINE_KEY];
};

struct xpar;

struct ex {
	const struct export_opts *o;
	const struct protocol *p;
	struct export_result *r;
	int fd;
	uint64_t total_bytes;
	struct csv_reader *csv;      /* the sequential reader, if any */
	struct kfd_src src;
	struct csv_opts co;
	/* Encoding and position state of the file as known on the thread
	 * that merges: from the sequential reader when it stops, then from
	 * each block merged. */
	struct csv_pos cst;
	struct xpar *par;             /* NULL: sequential only */
	size_t par_block;            /* bytes per block */
	size_t par_threads;
	uint64_t next_progress;
	struct column *cols;
	size_t n_cols;
	ssize_t *col_of;             /* field index → column or -1 */
	ssize_t key_col;
	bool *in_rule;               /* field read by the selection rule */
	size_t *order;               /* fields as normalised: the rule's
				      * (n_rule of them) first */
	size_t n_rule;
	struct judge seq;            /* the merging thread's own */
	struct fstats *stats;
	FILE *spool;                 /* issue lines (JSON, one per line) */
	uint64_t last_line;
	/* outputs */
	struct kfile_out age_out, sig_out, rep_out;
	bool age_open, sig_open, rep_open;
	crypto_generichash_state prehash;
	struct age_enc *enc;
	struct pkg_writer *pw;
	struct pkg_head head;
	struct pkg_tail tail;
	const char **field_names;
	char keyid[17];
	char recipient[128];
	struct ledger *ledger;
};

/* Judging one record (any thread, its own judge). */
int ex_judge_init(struct ex *x, struct judge *j, struct fstats *stats);
void ex_judge_free(struct ex *x, struct judge *j);
bool ex_blank_row_(const struct csv_record *rec);
/* Whether a record is a row of bare delimiters and blanks (inline: a
 * record's first byte mostly says it is not). */
static inline bool ex_blank_row(const struct csv_record *rec)
{
	const struct csv_field *f = rec->fields;

	if (rec->problem)
		return false;
	if (rec->n && f->len && f->p[0] != ' ' && f->p[0] != '\t')
		return false;
	return ex_blank_row_(rec);
}
enum outcome ex_classify(struct ex *x, struct judge *j,
			 const struct csv_record *rec);
void ex_count_fields_(struct judge *j, enum outcome out);
/* The per-field counts of a record's issues (inline: most have none). */
static inline void ex_count_fields(struct judge *j, enum outcome out)
{
	if (j->n_pend)
		ex_count_fields_(j, out);
}
void ex_field_stats(struct judge *j);
/* A record's source key: the key column's value (trimmed), or, when
 * there is none or it is empty or too long, "line:N" for its first line.
 * ex_column_key gives the first (false: use the line); ex_line_key
 * formats the second into buf and points *k at it. */
bool ex_column_key(struct ex *x, const struct csv_record *rec,
		   const char **k, size_t *klen);
size_t ex_line_key(char buf[EX_LINE_KEY], uint64_t line, const char **k);
void ex_record_key(struct ex *x, struct judge *j,
		   const struct csv_record *rec, const char **k, size_t *klen);

/* Applying a record's fate (the merging thread, in file order). */
int ex_tally(struct ex *x, enum outcome out, uint64_t line,
	     const struct pending_issue *pend, size_t n_pend, const char *k,
	     size_t klen, struct kerr *e);
void ex_progress(struct ex *x, uint64_t bytes);

/* The parallel pass (xpar.c).  xpar_plan decides, from the machine and
 * the register, whether blocks are used (x->par_threads, x->par_block);
 * xpar_run judges blocks from *at on until the end (*eof) or until the
 * sequential reader must take over, up to *until; xpar_free stops the
 * workers and wipes the blocks. */
void xpar_plan(struct ex *x, bool regular);
int xpar_run(struct ex *x, struct csv_pos *at, uint64_t *until, bool *eof,
	     struct kerr *e);
void xpar_free(struct ex *x);

#endif
