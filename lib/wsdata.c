/*
 * wsdata — package, research rows and vault (see wsdata.h).
 */
#include "wsdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdb.h"
#include "ws_int.h"

#include "banned.h"

struct ws_import {
	struct ws *w;
	sqlite3_stmt *rec, *person;
	size_t n_attr, n_ident;
	bool done;
};

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t n = s ? strlen(s) : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
}

int ws_package_get(struct ws *w, struct ws_package *p, bool *have,
		   struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	*have = false;
	memset(p, 0, sizeof *p);
	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT id, protocol_digest, discloser_key, created_at,"
			   " received_at, received_by, records, persons, rejected,"
			   " blanked, records_digest, package_digest, retention_end"
			   " FROM packages ORDER BY received_at LIMIT 1", &st, e)))
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*have = true;
		col_copy(st, 0, p->id, sizeof p->id);
		col_copy(st, 1, p->protocol_digest, sizeof p->protocol_digest);
		col_copy(st, 2, p->discloser_key, sizeof p->discloser_key);
		col_copy(st, 3, p->created_at, sizeof p->created_at);
		col_copy(st, 4, p->received_at, sizeof p->received_at);
		col_copy(st, 5, p->received_by, sizeof p->received_by);
		p->records = (uint64_t)sqlite3_column_int64(st, 6);
		p->persons = (uint64_t)sqlite3_column_int64(st, 7);
		p->rejected = (uint64_t)sqlite3_column_int64(st, 8);
		p->blanked = (uint64_t)sqlite3_column_int64(st, 9);
		col_copy(st, 10, p->records_digest, sizeof p->records_digest);
		col_copy(st, 11, p->package_digest, sizeof p->package_digest);
		col_copy(st, 12, p->retention_end, sizeof p->retention_end);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : kdb_fail(w->db, w->what, "read", NULL, e);
	}
	sqlite3_finalize(st);
	return rc;
}

/* "INSERT INTO table (fixed…, "f1", …) VALUES (?, …)" for one category. */
static int insert_sql(const struct protocol *p, const char *head,
		      size_t n_fixed, enum pfield_category cat, size_t *n,
		      struct kbuf *b, struct kerr *e)
{
	int rc = kbuf_puts(b, head, e);

	*n = 0;
	for (size_t i = 0; !rc && i < p->n_fields; i++) {
		if (p->fields[i].category != cat)
			continue;
		if (!(rc = kbuf_puts(b, ", ", e)))
			rc = kdb_quote_ident(b, p->fields[i].name, e);
		(*n)++;
	}
	if (!rc)
		rc = kbuf_puts(b, ") VALUES (?", e);
	for (size_t i = 1; !rc && i < n_fixed + *n; i++)
		rc = kbuf_puts(b, ", ?", e);
	if (!rc)
		rc = kbuf_append(b, ")", 2, e);
	return rc;
}

int ws_import_begin(struct ws *w, struct ws_import **out, struct kerr *e)
{
	struct kbuf b = KBUF_INIT(1 << 20);
	struct ws_import *im;
	struct ws_package p;
	bool have;
	int rc;

	*out = NULL;
	if (!(im = calloc(1, sizeof *im)))
		return kerr_set(e, KERR_NOMEM, w->what, "out of memory");
	im->w = w;
	if ((rc = kdb_exec(w->db, w->what, "BEGIN IMMEDIATE", "begin import", e)))
		goto fail;
	if ((rc = ws_package_get(w, &p, &have, e)))
		goto fail;
	if (have) {
		rc = kerr_set(e, KERR_POLICY, "package",
			      "package %s was already accepted on %s; the protocol "
			      "allows one transfer", p.id, p.received_at);
		goto fail;
	}
	if ((rc = insert_sql(w->p, "INSERT INTO research (record, code", 2,
			     PF_ATTRIBUTE, &im->n_attr, &b, e)) ||
	    (rc = kdb_prep(w->db, w->what, (const char *)b.p, &im->rec, e)))
		goto fail;
	kbuf_reset(&b);
	if ((rc = insert_sql(w->p,
			     "INSERT INTO vault (person, code, first_record", 3,
			     PF_IDENTIFYING, &im->n_ident, &b, e)) ||
	    (rc = kdb_prep(w->db, w->what, (const char *)b.p, &im->person, e)))
		goto fail;
	kbuf_free(&b);
	*out = im;
	return 0;
fail:
	kbuf_free(&b);
	ws_import_free(im);
	return rc;
}

/* An int field's value goes in as an integer, so sums and ranges work. */
static bool as_int(const char *v, size_t n, sqlite3_int64 *out)
{
	sqlite3_int64 x = 0;
	size_t i = 0;
	bool neg = false;

	if (n && v[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n || n - i > 18)
		return false;
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	*out = neg ? -x : x;
	return true;
}

int ws_import_record(struct ws_import *im, uint64_t record, uint64_t code,
		     const char *const *vals, const size_t *lens,
		     struct kerr *e)
{
	const struct protocol *p = im->w->p;
	sqlite3_stmt *st = im->rec;
	int col = 3;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)record);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)code);
	for (size_t i = 0, a = 0; i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];
		sqlite3_int64 x;
		if (f->category != PF_ATTRIBUTE)
			continue;
		if (!lens[a])
			sqlite3_bind_null(st, col);
		else if (f->type == PF_INT && as_int(vals[a], lens[a], &x))
			sqlite3_bind_int64(st, col, x);
		else
			sqlite3_bind_text(st, col, vals[a], (int)lens[a],
					  SQLITE_STATIC);
		col++;
		a++;
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return kdb_fail(im->w->db, im->w->what, "store record", NULL, e);
	return 0;
}

int ws_import_person(struct ws_import *im, uint64_t person, uint64_t code,
		     uint64_t first_record, const uint8_t *const *sealed,
		     const size_t *lens, struct kerr *e)
{
	sqlite3_stmt *st = im->person;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)person);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)code);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)first_record);
	for (size_t i = 0; i < im->n_ident; i++) {
		if (lens[i])
			sqlite3_bind_blob(st, 4 + (int)i, sealed[i], (int)lens[i],
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4 + (int)i);
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return kdb_fail(im->w->db, im->w->what, "store person", NULL, e);
	return 0;
}

static int insert_package(struct ws *w, const struct ws_package *p,
			  struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT INTO packages (id, protocol_digest,"
			   " discloser_key, created_at, received_at, received_by,"
			   " records, persons, rejected, blanked, records_digest,"
			   " package_digest, retention_end)"
			   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->protocol_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->discloser_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, p->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, p->received_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->received_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)p->records);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)p->persons);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)p->rejected);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)p->blanked);
	sqlite3_bind_text(st, 11, p->records_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, p->package_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, p->retention_end, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = kdb_fail(w->db, w->what, "store package", NULL, e);
	sqlite3_finalize(st);
	return rc;
}

int ws_import_commit(struct ws_import *im, const struct ws_package *p,
		     const struct audit_entry *a, struct kerr *e)
{
	struct ws *w = im->w;
	int rc;

	/* Built after the rows: one sort instead of a random insert per
	 * row; UNIQUE, a second guard on what linkmap already ensures.  The
	 * research rows get no index on code: nothing looks them up by
	 * person yet, and sorting millions of rows would be a fifth of the
	 * import. */
	if ((rc = insert_package(w, p, e)) ||
	    (rc = kdb_exec(w->db, w->what,
			   "CREATE UNIQUE INDEX vault_code ON vault (code);",
			   "index", e)) ||
	    (rc = audit_append(w, a, NULL, e)) ||
	    (rc = kdb_exec(w->db, w->what, "COMMIT", "commit import", e)))
		return rc;
	im->done = true;
	return 0;
}

void ws_import_free(struct ws_import *im)
{
	if (!im)
		return;
	sqlite3_finalize(im->rec);
	sqlite3_finalize(im->person);
	if (!im->done)
		kdb_rollback(im->w->db);
	free(im);
}

int ws_vault_get(struct ws *w, uint64_t code, struct kbuf *sealed,
		 size_t n, uint64_t *first_record, bool *found,
		 struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT * FROM vault WHERE code = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)code);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*found = true;
		*first_record = (uint64_t)sqlite3_column_int64(st, 2);
		if ((size_t)sqlite3_column_count(st) != 3 + n)
			rc = kerr_set(e, KERR_FORMAT, w->what,
				      "damaged: the vault has other columns than "
				      "the protocol's identifying fields");
		for (size_t i = 0; !rc && i < n; i++) {
			kbuf_reset(&sealed[i]);
			rc = kbuf_append(&sealed[i],
					 sqlite3_column_blob(st, 3 + (int)i),
					 (size_t)sqlite3_column_bytes(st, 3 + (int)i),
					 e);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int ws_code_of_record(struct ws *w, uint64_t record, uint64_t *code,
		      struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT code FROM research WHERE record = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)record);
	if (sqlite3_step(st) == SQLITE_ROW)
		*code = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = kerr_set(e, KERR_USAGE, "record",
			      "no research record %llu (rejected at receipt, or "
			      "beyond the package)", (unsigned long long)record);
	sqlite3_finalize(st);
	return rc;
}

int ws_data_counts(struct ws *w, uint64_t *records, uint64_t *persons,
		   struct kerr *e)
{
	int64_t r, p;
	int rc;

	if ((rc = kdb_int(w->db, w->what, "SELECT count(*) FROM research", &r,
			  e)) ||
	    (rc = kdb_int(w->db, w->what, "SELECT count(*) FROM vault", &p, e)))
		return rc;
	*records = (uint64_t)r;
	*persons = (uint64_t)p;
	return 0;
}
