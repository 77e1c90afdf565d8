/*
 * wsdata — the workspace's data: the accepted package, the research rows
 * and the vault of sealed identities (layer 3, store).
 *
 * An import is one SQLite write transaction from ws_import_begin to
 * ws_import_commit: research rows and vault rows go in as they come (in
 * rowid order, so every insert appends), the package row, the indexes on
 * code and the import's audit entry go in at the end, and then it commits.
 * A crash or an error anywhere before COMMIT leaves the workspace as it
 * was: SQLite's write-ahead log drops the uncommitted frames.
 *
 * One package per workspace (art. 5): ws_import_begin refuses when one is
 * already there, inside the write transaction, so two imports racing
 * cannot both pass.
 */
#ifndef KLUIS_WSDATA_H
#define KLUIS_WSDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "kbuf.h"
#include "kerr.h"
#include "ws.h"

struct ws_package {
	char id[33];
	char protocol_digest[80];
	char discloser_key[24];        /* minisign key id */
	char created_at[32];           /* by the discloser */
	char received_at[21];
	char received_by[WS_USER_MAX + 1];
	uint64_t records, persons, rejected, blanked;
	char records_digest[96];
	char package_digest[160];      /* "blake2b-512:" + hex of the .age */
	char retention_end[21];
};

/* The accepted package, if any (*have). */
int ws_package_get(struct ws *w, struct ws_package *p, bool *have,
		   struct kerr *e);

struct ws_import;

int ws_import_begin(struct ws *w, struct ws_import **out, struct kerr *e);
/* A research row: the protocol's attribute fields in protocol order
 * (len 0 = empty, stored as NULL). */
int ws_import_record(struct ws_import *im, uint64_t record, uint64_t code,
		     const char *const *vals, const size_t *lens,
		     struct kerr *e);
/* A vault row: the sealed identifying fields in protocol order (len 0 =
 * empty).  person counts from 1 in the order persons were first met. */
int ws_import_person(struct ws_import *im, uint64_t person, uint64_t code,
		     uint64_t first_record, const uint8_t *const *sealed,
		     const size_t *lens, struct kerr *e);
int ws_import_commit(struct ws_import *im, const struct ws_package *p,
		     const struct audit_entry *a, struct kerr *e);
/* Roll back (if not committed) and free.  NULL is fine. */
void ws_import_free(struct ws_import *im);

/* The sealed identifying values of the person with this code, one kbuf per
 * identifying field in protocol order (empty: no value).  *found false if
 * no person has the code. */
int ws_vault_get(struct ws *w, uint64_t code, struct kbuf *sealed,
		 size_t n, uint64_t *first_record, bool *found,
		 struct kerr *e);

/* The person code of a research record (by its number in the package);
 * KERR_USAGE if there is no such record. */
int ws_code_of_record(struct ws *w, uint64_t record, uint64_t *code,
		      struct kerr *e);

/* Counts for status: research rows and vault rows. */
int ws_data_counts(struct ws *w, uint64_t *records, uint64_t *persons,
		   struct kerr *e);

#endif
