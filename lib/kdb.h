/*
 * kdb — what every kluis SQLite file shares (layer 3, store): turning
 * SQLite's errors into a struct kerr, preparing and running statements,
 * write-ahead logging, and versioned schemas.
 *
 * A kluis database carries PRAGMA application_id (what kind of file it is)
 * and PRAGMA user_version (its schema version).  kdb_migrate brings a file
 * from its version to the one the code knows, in one transaction, and
 * refuses a file of another kind or a newer version.  Values are always
 * bound, never spliced into SQL text; the few identifiers that come from
 * a protocol (column names) are quoted with kdb_quote_ident.
 */
#ifndef KLUIS_KDB_H
#define KLUIS_KDB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "kbuf.h"
#include "kerr.h"

/* The last SQLite error on db as a kerr about `what` during `op`.  A busy
 * database becomes KERR_IO "<op>: <busy_hint>: <sqlite's words>". */
int kdb_fail(sqlite3 *db, const char *what, const char *op,
	     const char *busy_hint, struct kerr *e);
int kdb_prep(sqlite3 *db, const char *what, const char *sql,
	     sqlite3_stmt **st, struct kerr *e);
/* Run fixed SQL (no values). */
int kdb_exec(sqlite3 *db, const char *what, const char *sql, const char *op,
	     struct kerr *e);
/* Roll back whatever transaction is open; quiet, for error paths. */
void kdb_rollback(sqlite3 *db);
/* The one integer a statement (a PRAGMA, a count) answers. */
int kdb_int(sqlite3 *db, const char *what, const char *sql, int64_t *v,
	    struct kerr *e);
/* journal_mode = WAL, and refuse a file system where SQLite cannot. */
int kdb_wal(sqlite3 *db, const char *what, struct kerr *e);

struct kdb_schema {
	uint32_t app_id;                 /* PRAGMA application_id */
	const char *kind;                /* "ledger", "workspace": messages */
	const char *const *migrations;   /* i takes version i to i + 1 */
	int version;                     /* = number of migrations */
};
/* Bring db to s->version (see above).  KERR_FORMAT for a file of another
 * kind or a newer schema. */
int kdb_migrate(sqlite3 *db, const char *what, const struct kdb_schema *s,
		struct kerr *e);
/* Append "name" (double quotes doubled) to b. */
int kdb_quote_ident(struct kbuf *b, const char *name, struct kerr *e);

#endif
