/*
 * kdb — shared SQLite plumbing (see kdb.h).
 */
#include "kdb.h"

#include <string.h>

#include "banned.h"

int kdb_fail(sqlite3 *db, const char *what, const char *op,
	     const char *busy_hint, struct kerr *e)
{
	int rc = sqlite3_errcode(db) & 0xff;
	const char *msg = sqlite3_errmsg(db);

	switch (rc) {
	case SQLITE_NOMEM:
		return kerr_set(e, KERR_NOMEM, what, "%s: %s", op, msg);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return kerr_set(e, KERR_FORMAT, what,
				"%s: not a readable database: %s", op, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return kerr_set(e, KERR_IO, what, "%s: %s: %s", op,
				busy_hint ? busy_hint
					  : "busy (in use by another process)",
				msg);
	case SQLITE_FULL:
		return kerr_set(e, KERR_IO, what, "%s: disk full", op);
	default:
		return kerr_set(e, KERR_IO, what, "%s: %s", op, msg);
	}
}

int kdb_prep(sqlite3 *db, const char *what, const char *sql,
	     sqlite3_stmt **st, struct kerr *e)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return kdb_fail(db, what, "prepare", NULL, e);
	}
	return 0;
}

int kdb_exec(sqlite3 *db, const char *what, const char *sql, const char *op,
	     struct kerr *e)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return kdb_fail(db, what, op, NULL, e);
	return 0;
}

void kdb_rollback(sqlite3 *db)
{
	if (db && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int kdb_int(sqlite3 *db, const char *what, const char *sql, int64_t *v,
	    struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(db, what, sql, &st, e)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		rc = kdb_fail(db, what, "read", NULL, e);
	sqlite3_finalize(st);
	return rc;
}

int kdb_wal(sqlite3 *db, const char *what, struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	/* journal_mode answers with the mode it got: a file system without
	 * shared memory may refuse WAL, and then we want to know. */
	if ((rc = kdb_prep(db, what, "PRAGMA journal_mode = WAL", &st, e)))
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = kdb_fail(db, what, "set journal mode", NULL, e);
	else if (!sqlite3_column_text(st, 0) ||
		 strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = kerr_set(e, KERR_IO, what,
			      "cannot use write-ahead logging here");
	sqlite3_finalize(st);
	return rc;
}

static int not_ours(const char *what, const struct kdb_schema *s,
		    struct kerr *e)
{
	return kerr_set(e, KERR_FORMAT, what,
			"not a kluis %s (a database of something else)",
			s->kind);
}

int kdb_migrate(sqlite3 *db, const char *what, const struct kdb_schema *s,
		struct kerr *e)
{
	int64_t v = 0, app = 0, n_tables = 0;
	int rc;

	if ((rc = kdb_int(db, what, "PRAGMA user_version", &v, e)))
		return rc;
	if (v > s->version)
		return kerr_set(e, KERR_FORMAT, what,
				"%s schema version %lld is newer than this kluis "
				"knows (%d): use a newer kluis", s->kind,
				(long long)v, s->version);
	if (v == s->version) {
		if ((rc = kdb_int(db, what, "PRAGMA application_id", &app, e)))
			return rc;
		return (uint32_t)app == s->app_id ? 0 : not_ours(what, s, e);
	}
	if ((rc = kdb_exec(db, what, "BEGIN IMMEDIATE", "begin migration", e)))
		return rc;
	/* Again inside the transaction: another process may have migrated
	 * while we waited for the write lock. */
	if ((rc = kdb_int(db, what, "PRAGMA user_version", &v, e)) ||
	    (rc = kdb_int(db, what, "PRAGMA application_id", &app, e)) ||
	    (rc = kdb_int(db, what, "SELECT count(*) FROM sqlite_master",
			  &n_tables, e)))
		goto fail;
	if (v > s->version) {
		kdb_rollback(db);
		return kdb_migrate(db, what, s, e); /* reports the version */
	}
	if (v == 0 ? (n_tables != 0 || app != 0) : (uint32_t)app != s->app_id) {
		rc = not_ours(what, s, e);
		goto fail;
	}
	for (int64_t i = v; i < s->version; i++) {
		if ((rc = kdb_exec(db, what, s->migrations[i], "migrate", e))) {
			kerr_where(e, "schema version %lld", (long long)i + 1);
			goto fail;
		}
	}
	if ((rc = kdb_int(db, what, "PRAGMA user_version", &v, e)))
		goto fail;
	if (v != s->version) {
		rc = kerr_set(e, KERR_INTERNAL, what,
			      "migration left schema version %lld", (long long)v);
		goto fail;
	}
	return kdb_exec(db, what, "COMMIT", "commit migration", e);
fail:
	kdb_rollback(db);
	return rc;
}

int kdb_quote_ident(struct kbuf *b, const char *name, struct kerr *e)
{
	int rc = kbuf_putc(b, '"', e);

	for (const char *p = name; !rc && *p; p++)
		rc = *p == '"' ? kbuf_puts(b, "\"\"", e) : kbuf_putc(b, (uint8_t)*p, e);
	return rc ? rc : kbuf_putc(b, '"', e);
}
