/*
 * ledger — the discloser's record of every package it exported (layer 3,
 * store).  A small SQLite database, mode 0600, next to the discloser's keys.
 *
 * Per package it keeps the facts a later question needs (protocol, digests,
 * recipient, counts, mail bookkeeping) and, per record number (1-based, in
 * package order), the source key of the register row it came from, so a
 * data-quality report that names only (package id, record number) can be
 * resolved by the discloser.  Source keys are stored in chunks (up to
 * LEDGER_CHUNK_KEYS keys or LEDGER_CHUNK_BYTES bytes per row), never one
 * SQL row per record: registers have millions of rows.
 *
 * Invariants:
 *  - An entry exists only whole.  ledger_begin opens a write transaction
 *    that stays open while keys are added; ledger_prepare commits the entry
 *    as 'pending'; the caller links the package files into out_dir and
 *    fsyncs that directory; ledger_complete marks it 'complete'.  A crash
 *    before prepare loses the transaction; a crash between prepare and
 *    complete leaves a 'pending' row, which the next ledger_open that has
 *    the ledger to itself rolls back: it unlinks OUTDIR/<id>.age,
 *    .age.minisig, .report.json and .eml, then deletes the row.  So after
 *    recovery there are no package files without a complete entry.
 *  - Every open handle holds a shared flock(2) on PATH-lock (a side file,
 *    so closing it never drops SQLite's own locks on PATH); recovery runs
 *    only under an exclusive one, so it never touches the pending package
 *    of a live process.  One export at a time: the export holds
 *    SQLite's write lock from begin to prepare; another writer waits 5 s,
 *    then fails with "ledger is busy".
 *  - A protocol with periodicity `once` gets one complete package per
 *    protocol id; another needs a supersede reason, which is recorded with
 *    the id of the package it supersedes.
 *  - The file is never group- or world-accessible: it maps records to
 *    dossier numbers.  Messages name ids, counts and paths, never keys.
 *
 * Errors: an unknown package id is KERR_USAGE ("no such package"), as is a
 * malformed id or a record number out of range: they come from the user.
 * KERR_EXISTS is the once rule and the mail double-start refusal.
 */
#ifndef KLUIS_LEDGER_H
#define KLUIS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

#define LEDGER_ID_LEN 32
#define LEDGER_SCHEMA_VERSION 1
#define LEDGER_CHUNK_KEYS 4096
#define LEDGER_CHUNK_BYTES (256u << 10)
#define LEDGER_KEY_MAX 1024 /* bytes of one source key */
#define LEDGER_FILE "kluis-ledger.db"

struct ledger;

struct ledger_package {
	char id[LEDGER_ID_LEN + 1];
	char protocol_id[128], protocol_version[32], protocol_digest[80];
	char created_at[32];          /* "2026-11-29T10:11:12Z" */
	char recipient[128], discloser_key[24];
	char out_dir[4096];           /* absolute */
	uint64_t n_read, n_selected, n_excluded, n_rejected, n_blanked;
	char records_digest[96], package_digest[160];
	char register_name[256], register_digest[96];
	char supersedes[LEDGER_ID_LEN + 1];   /* "" if none */
	char supersede_reason[512];           /* "" if none */
	char state[16];               /* "building", "pending", "complete" */
	char mail_to[320], mail_state[16], mail_started_at[32], mail_sent_at[32];
};

/* Open (or create, mode 0600) the ledger at path, bring its schema up to
 * date and roll back interrupted exports; *n_recovered (may be NULL) says
 * how many.  Refuses a file with any of the mode bits 077, a database that
 * is not a kluis ledger, and a schema newer than LEDGER_SCHEMA_VERSION. */
int ledger_open(const char *path, struct ledger **out, unsigned *n_recovered,
		struct kerr *e);
/* Aborts what ledger_abort aborts, then closes.  NULL is fine. */
void ledger_close(struct ledger *l);

/* Start the entry for package p (id, protocol, created_at, recipient,
 * discloser key, out_dir, register; counts and digests may still be zero
 * or empty; p's supersede and state fields are ignored).  Commits the
 * entry as 'building' and holds a write transaction for its keys, which
 * are committed in batches (unsynced) until ledger_prepare; ledger_abort
 * deletes the entry and its keys, recovery does after a crash.
 *
 * Once rule: if `once` and a complete package of p->protocol_id exists,
 * supersede_reason NULL gives KERR_EXISTS with that package in *prior
 * (prior may be NULL).  A building or pending package of the protocol (an
 * export under way, or an interrupted one not yet recovered) gives
 * KERR_EXISTS whatever the reason, with its state in prior->state.  A non-NULL reason
 * records supersedes = the latest complete package of the protocol (once
 * or not); with no such package it is KERR_USAGE (nothing to supersede). */
int ledger_begin(struct ledger *l, const struct ledger_package *p, bool once,
		 const char *supersede_reason, struct ledger_package *prior,
		 struct kerr *e);
/* The source key of the next record (record numbers count from 1).  At
 * most LEDGER_KEY_MAX bytes, no NUL byte; may be empty.  After any error
 * the export is dead: only ledger_abort is accepted. */
int ledger_add_key(struct ledger *l, const char *key, size_t len,
		   struct kerr *e);
/* Keys added since ledger_begin. */
uint64_t ledger_keys_added(const struct ledger *l);
/* Store final's counts and digests (records_digest and package_digest must
 * be set; final->id must be the package begun), check n_selected == keys
 * added, mark the entry 'pending' and commit, synced.  Other fields of final are
 * not used.  On error the transaction stays open for ledger_abort. */
int ledger_prepare(struct ledger *l, const struct ledger_package *final,
		   struct kerr *e);
/* Mark a pending package complete; the caller has linked its files and
 * fsynced out_dir.  Completing a complete package again is a no-op. */
int ledger_complete(struct ledger *l, const char *id, struct kerr *e);
/* Safe at any time: rolls back the transaction of ledger_begin, and
 * discards a package this handle prepared but did not complete (unlinks
 * its files in out_dir, deletes its row; best effort: what fails is left
 * pending for recovery). */
void ledger_abort(struct ledger *l);
/* Discard a pending package: unlink its files, then delete its row.
 * Refuses a complete package. */
int ledger_discard(struct ledger *l, const char *id, struct kerr *e);

/* The entry of package id, whatever its state. */
int ledger_get(struct ledger *l, const char *id, struct ledger_package *p,
	       struct kerr *e);
/* Call each for every complete package, oldest (created_at) first.  A
 * nonzero return from each stops the walk and is returned as is, with e
 * untouched.  each may call other ledger functions except begin..prepare. */
int ledger_list(struct ledger *l,
		int (*each)(void *ctx, const struct ledger_package *p),
		void *ctx, struct kerr *e);
/* Source key of record n (1-based) of package id into out (NUL-terminated);
 * KERR_LIMIT if it does not fit in cap. */
int ledger_resolve(struct ledger *l, const char *id, uint64_t record,
		   char *out, size_t cap, struct kerr *e);

/* Mail bookkeeping, so a crash while mailing never mails twice: record the
 * start before sending, the end after.  Only complete packages are mailed.
 * mail_started refuses (KERR_EXISTS) if the mail was already started or
 * sent, unless force; it (re)sets mail_to and mail_started_at (now, UTC).
 * mail_sent needs a started mail; a second mail_sent is KERR_EXISTS. */
int ledger_mail_started(struct ledger *l, const char *id, const char *to,
			bool force, struct kerr *e);
int ledger_mail_sent(struct ledger *l, const char *id, struct kerr *e);

/* The directory of key_path + "/kluis-ledger.db" ("./…" if key_path has no
 * directory part). */
int ledger_default_path(const char *key_path, char *out, size_t cap,
			struct kerr *e);

#endif
