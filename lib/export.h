/*
 * export — the discloser's side of the protocol: register in, one signed,
 * encrypted, minimised package out (art. 1, 3, 5, 6).
 *
 * One streaming pass: read a record (csv.h) → normalise the fields the
 * selection rule reads → select → validate and normalise the rest →
 * write the protocol's fields, and only those, into the package (pkg.h)
 * inside the age encryption; the output file hashes itself for the
 * signature on its writer thread.  Memory does not depend on the size of
 * the register.
 *
 * Threads: with more than one CPU and a register of at least 8 MiB (a
 * regular file), the calling thread reads the register in blocks of up
 * to 4 MiB cut at record boundaries and up to 4 workers (one per CPU)
 * parse, select, validate and escape whole blocks; the calling thread
 * takes their results strictly in file order, so the package bytes, the
 * records digest, the counts, the issue list, the ledger keys, the
 * --max-rejects stop and every error message are those of the one
 * sequential pass, which is still what small registers get.  The
 * encoding is decided at the first byte >= 0x80 of the file by the
 * sequential reader, and any block whose reading fails is read again by
 * it, so an error is always the one the file would give read front to
 * back.  At most two blocks per worker are in flight.
 *
 * KLUIS_EXPORT_BLOCK (for tests only; not a user setting): "0" forces
 * the sequential pass, a number of bytes forces the parallel pass with
 * blocks that small (at least two workers), so that tests can compare
 * the two on small registers with records straddling many blocks.
 *
 * A record ends up in exactly one of three counts: excluded (outside the
 * selection rule), rejected (a value the protocol says to reject, a
 * missing required value, a malformed line) or selected (in the package).
 * A record whose selection fields cannot be read is rejected, not
 * excluded: nobody can tell whether it was in scope.  Fields that are only
 * read for selected records are never looked at for excluded ones.
 *
 * Nothing is half-made: outputs are unnamed files until the end; the
 * ledger entry is committed as 'pending', the files are linked, then the
 * entry is completed — a crash in between is rolled back by the next
 * ledger_open() (ledger.h).  Issues (line, field, reason) never carry a
 * value from the register.
 */
#ifndef KLUIS_EXPORT_H
#define KLUIS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"
#include "kerr.h"
#include "minisign.h"
#include "pkg.h"
#include "protocol.h"
#include "smtp.h"

#define EXPORT_FIRST_ISSUES 20

struct export_opts {
	const struct protocol *proto;
	const char *register_path;
	const char *key_column;          /* NULL: source line numbers */
	enum csv_encoding encoding;
	char delimiter;                  /* 0: detect */
	bool has_max_rejects;
	uint64_t max_rejects;
	bool dry_run;                    /* read and check only; write nothing */
	/* What the user says the parties' keys are; checked against the
	 * protocol.  Not needed for a dry run. */
	const uint8_t *recipient_pk;     /* 32 bytes */
	const struct ms_seckey *sign_key;
	const char *out_dir;
	const char *ledger_path;
	const char *supersede_reason;    /* NULL: none */
	const char *mail_to, *mail_from; /* both or neither: write the .eml */
	/* Called now and then during the pass (not at all if NULL). */
	void (*progress)(void *ctx, uint64_t rows, uint64_t bytes,
			 uint64_t total_bytes);
	void *progress_ctx;
};

struct export_result {
	char id[PKG_ID_LEN + 1];
	char created_at[PKG_TIME_LEN + 1];
	uint64_t n_read, n_selected, n_excluded, n_rejected, n_blanked;
	uint64_t n_issues;
	char records_digest[PKG_DIGEST_LEN + 1];
	uint64_t n_blank_rows;          /* rows of only delimiters, skipped */
	char package_digest[141];       /* "blake2b-512:" + BLAKE2b-512 of the .age */
	char encoding[16];              /* "utf-8" or "windows-1252" */
	bool encoding_detected;
	uint64_t encoding_line;
	char delimiter;
	size_t n_dropped;               /* columns left out of the package */
	size_t n_missing;               /* optional fields without a column */
	unsigned n_recovered;           /* half-made exports rolled back */
	char supersedes[PKG_ID_LEN + 1];
	/* Paths of what was written ("" for a dry run). */
	char age_path[4096], sig_path[4096], report_path[4096], eml_path[4096];
	/* The first issues as one-line texts, for the summary on screen. */
	char first_issues[EXPORT_FIRST_ISSUES][160];
	char prior_id[PKG_ID_LEN + 1];  /* on a `once` refusal */
	char prior_created[32];
	/* The report as JSON text (summary, columns, per-field counts; the
	 * issue list only in the file).  Owned; free with export_result_free. */
	char *summary_json;
};

int export_run(const struct export_opts *o, struct export_result *r,
	       struct kerr *e);

/*
 * Mail the package's .eml (written with mail_to) through SMTP.  The ledger
 * records "started" before the first byte goes out and "sent" after the
 * server accepted it; a package whose mail was started or sent is refused
 * (KERR_POLICY) unless `force`, so a crash never leads to a second mail
 * nobody asked for.  so->rcpt comes from the ledger; so->from, if NULL,
 * from the .eml.
 */
int export_send(const char *ledger_path, const char *id,
		const struct smtp_opts *so, bool force, struct kerr *e);
void export_result_free(struct export_result *r);

#endif
