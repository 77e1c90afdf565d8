/*
 * audit — the hash-chained, signed audit log (see audit.h).
 */
#include "audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "kdb.h"
#include "ktime.h"
#include "ws_int.h"

#include "banned.h"

#define HASH_LEN 32

static void put_be64(uint8_t p[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void absorb(crypto_generichash_state *st, const char *s)
{
	uint8_t len[4];
	size_t n = s ? strlen(s) : 0;

	len[0] = (uint8_t)(n >> 24);
	len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8);
	len[3] = (uint8_t)n;
	crypto_generichash_update(st, len, 4);
	if (n)
		crypto_generichash_update(st, (const uint8_t *)s, n);
}

static void genesis(const struct ws *w, uint8_t out[HASH_LEN])
{
	crypto_generichash_state st;
	static const char tag[] = "kluis audit genesis v1";

	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag);
	crypto_generichash_update(&st, w->id_bin, sizeof w->id_bin);
	crypto_generichash_final(&st, out, HASH_LEN);
}

/* The fields of one entry, as stored. */
struct row {
	uint64_t seq;
	const char *f[8]; /* at user role command purpose object outcome counts */
};

static void entry_hash(const uint8_t prev[HASH_LEN], const struct row *r,
		       uint8_t out[HASH_LEN])
{
	crypto_generichash_state st;
	static const char tag[] = "kluis audit v1";
	uint8_t seq[8];

	put_be64(seq, r->seq);
	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag);
	crypto_generichash_update(&st, prev, HASH_LEN);
	crypto_generichash_update(&st, seq, sizeof seq);
	for (int i = 0; i < 8; i++)
		absorb(&st, r->f[i]);
	crypto_generichash_final(&st, out, HASH_LEN);
}

/* What the head signature covers: tag, workspace id, seq, hash. */
static void head_sig_input(const struct ws *w, uint64_t seq,
			   const uint8_t hash[HASH_LEN], uint8_t msg[76])
{
	static const char tag[] = "kluis audit head v1"; /* 20 with NUL */

	memcpy(msg, tag, sizeof tag);
	memcpy(msg + 20, w->id_bin, 16);
	put_be64(msg + 36, seq);
	memcpy(msg + 44, hash, HASH_LEN);
}

/* Last entry's seq and hash (seq 0 and the genesis hash if none). */
static int last_entry(struct ws *w, uint64_t *seq, uint8_t hash[HASH_LEN],
		      struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
			   &st, e)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != HASH_LEN)
			rc = kerr_set(e, KERR_FORMAT, "audit log",
				      "damaged: entry %llu has no hash",
				      (unsigned long long)*seq);
		else
			memcpy(hash, sqlite3_column_blob(st, 1), HASH_LEN);
	} else {
		*seq = 0;
		genesis(w, hash);
	}
	sqlite3_finalize(st);
	return rc;
}

int audit_append(struct ws *w, const struct audit_entry *a, uint64_t *seq_out,
		 struct kerr *e)
{
	bool own = sqlite3_get_autocommit(w->db) != 0;
	uint8_t prev[HASH_LEN], hash[HASH_LEN];
	sqlite3_stmt *st = NULL;
	char at[21];
	struct row r;
	int rc;

	if (own && (rc = kdb_exec(w->db, w->what, "BEGIN IMMEDIATE",
				  "begin audit", e)))
		return rc;
	if ((rc = last_entry(w, &r.seq, prev, e)))
		goto out;
	ktime_now(at);
	r.seq++;
	r.f[0] = at;
	r.f[1] = a->user ? a->user : "";
	r.f[2] = a->role ? a->role : "";
	r.f[3] = a->command ? a->command : "";
	r.f[4] = a->purpose ? a->purpose : "";
	r.f[5] = a->object ? a->object : "";
	r.f[6] = a->outcome ? a->outcome : "";
	r.f[7] = a->counts ? a->counts : "{}";
	entry_hash(prev, &r, hash);
	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT INTO audit (seq, at, user, role, command,"
			   " purpose, object, outcome, counts, prev, hash)"
			   " VALUES (?,?,?,?,?,?,?,?,?,?,?)", &st, e)))
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r.seq);
	for (int i = 0; i < 8; i++)
		sqlite3_bind_text(st, 2 + i, r.f[i], -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, prev, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, hash, HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = kdb_fail(w->db, w->what, "append to audit log", NULL, e);
	if (!rc && seq_out)
		*seq_out = r.seq;
out:
	sqlite3_finalize(st);
	if (own) {
		if (rc)
			kdb_rollback(w->db);
		else
			rc = kdb_exec(w->db, w->what, "COMMIT", "commit audit", e);
	}
	return rc;
}

int audit_sign(struct ws *w, const uint8_t sign_sk[64], const char *user,
	       struct kerr *e)
{
	uint8_t hash[HASH_LEN], msg[76], sig[crypto_sign_BYTES];
	sqlite3_stmt *st;
	uint64_t seq;
	char at[21];
	int rc;

	if ((rc = last_entry(w, &seq, hash, e)))
		return rc;
	if (seq == 0)
		return 0;
	head_sig_input(w, seq, hash, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof msg, sign_sk);
	ktime_now(at);
	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT OR REPLACE INTO audit_head"
			   " (id, seq, hash, sig, signed_at, user)"
			   " VALUES (1, ?, ?, ?, ?, ?)", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	sqlite3_bind_blob(st, 2, hash, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, sig, sizeof sig, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = kdb_fail(w->db, w->what, "sign audit head", NULL, e);
	sqlite3_finalize(st);
	return rc;
}

/* The signed head row: 0 and *have = false if there is none. */
static int head_row(struct ws *w, bool *have, uint64_t *seq,
		    uint8_t hash[HASH_LEN], uint8_t sig[64], char at[21],
		    struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	*have = false;
	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT seq, hash, sig, signed_at FROM audit_head"
			   " WHERE id = 1", &st, e)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 3);
		if (sqlite3_column_bytes(st, 1) != HASH_LEN ||
		    sqlite3_column_bytes(st, 2) != 64 || !t || strlen(t) > 20) {
			rc = kerr_set(e, KERR_FORMAT, "audit log",
				      "damaged: the signed head is malformed");
		} else {
			*have = true;
			*seq = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(hash, sqlite3_column_blob(st, 1), HASH_LEN);
			memcpy(sig, sqlite3_column_blob(st, 2), 64);
			memcpy(at, t, strlen(t) + 1);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int audit_state(struct ws *w, struct audit_state *s, struct kerr *e)
{
	uint8_t hash[HASH_LEN], hh[HASH_LEN], sig[64];
	int64_t n;
	bool have;
	int rc;

	memset(s, 0, sizeof *s);
	if ((rc = kdb_int(w->db, w->what, "SELECT count(*) FROM audit", &n, e)) ||
	    (rc = last_entry(w, &s->last_seq, hash, e)) ||
	    (rc = head_row(w, &have, &s->signed_seq, hh, sig, s->signed_at, e)))
		return rc;
	s->entries = (uint64_t)n;
	sodium_bin2hex(s->head_hash, sizeof s->head_hash, hash, HASH_LEN);
	s->unsigned_tail = s->last_seq > s->signed_seq
				   ? s->last_seq - s->signed_seq : 0;
	return 0;
}

int audit_verify(struct ws *w, struct audit_state *s, struct kerr *e)
{
	uint8_t prev[HASH_LEN], hash[HASH_LEN], hh[HASH_LEN], sig[64], msg[76];
	uint8_t signed_hash[HASH_LEN];
	uint64_t expect = 1, head_seq = 0;
	bool have, seen_head = false;
	sqlite3_stmt *st;
	struct row r;
	int rc;

	if ((rc = audit_state(w, s, e)) ||
	    (rc = head_row(w, &have, &head_seq, hh, sig, s->signed_at, e)))
		return rc;
	genesis(w, prev);
	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT seq, at, user, role, command, purpose, object,"
			   " outcome, counts, prev, hash FROM audit ORDER BY seq",
			   &st, e)))
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.seq = (uint64_t)sqlite3_column_int64(st, 0);
		for (int i = 0; i < 8; i++)
			r.f[i] = (const char *)sqlite3_column_text(st, 1 + i);
		if (r.seq != expect) {
			sqlite3_finalize(st);
			if (r.seq == expect + 1)
				kerr_set(e, KERR_FORMAT, "audit log",
					 "the entry is missing (removed from "
					 "the log)");
			else
				kerr_set(e, KERR_FORMAT, "audit log",
					 "entries %llu to %llu are missing",
					 (unsigned long long)expect,
					 (unsigned long long)r.seq - 1);
			return kerr_where(e, "entry %llu",
					  (unsigned long long)expect);
		}
		entry_hash(prev, &r, hash);
		if (sqlite3_column_bytes(st, 9) != HASH_LEN ||
		    sqlite3_column_bytes(st, 10) != HASH_LEN ||
		    sodium_memcmp(sqlite3_column_blob(st, 9), prev, HASH_LEN) ||
		    sodium_memcmp(sqlite3_column_blob(st, 10), hash, HASH_LEN)) {
			sqlite3_finalize(st);
			kerr_set(e, KERR_FORMAT, "audit log",
				 "the chain is broken: the entry was changed, or "
				 "one before it was removed or reordered");
			return kerr_where(e, "entry %llu",
					  (unsigned long long)r.seq);
		}
		if (have && r.seq == head_seq) {
			seen_head = true;
			memcpy(signed_hash, hash, HASH_LEN);
		}
		memcpy(prev, hash, HASH_LEN);
		expect++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return kdb_fail(w->db, w->what, "read audit log", NULL, e);
	if (expect == 1 && !have)
		return 0; /* empty log: nothing to sign yet */
	if (!have)
		return kerr_set(e, KERR_SIGNATURE, "audit log",
				"no signed head: the signature was removed");
	if (!seen_head) {
		kerr_set(e, KERR_FORMAT, "audit log",
			 "the log ends at entry %llu but the signed head is "
			 "entry %llu: entries were removed",
			 (unsigned long long)expect - 1,
			 (unsigned long long)head_seq);
		return kerr_where(e, "entry %llu", (unsigned long long)expect);
	}
	head_sig_input(w, head_seq, hh, msg);
	if (sodium_memcmp(hh, signed_hash, HASH_LEN) != 0 ||
	    crypto_sign_verify_detached(sig, msg, sizeof msg, w->sign_pk) != 0)
		return kerr_set(e, KERR_SIGNATURE, "audit log",
				"the signed head does not verify with the "
				"workspace key");
	return 0;
}

int audit_each(struct ws *w, int (*fn)(void *ctx, const struct audit_row *r),
	       void *ctx, struct kerr *e)
{
	sqlite3_stmt *st;
	struct audit_row r;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT seq, at, user, role, command, purpose, object,"
			   " outcome, counts, hash FROM audit ORDER BY seq",
			   &st, e)))
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char **f[] = { &r.at, &r.user, &r.role, &r.command,
				     &r.purpose, &r.object, &r.outcome, &r.counts };
		r.seq = (uint64_t)sqlite3_column_int64(st, 0);
		for (int i = 0; i < 8; i++) {
			*f[i] = (const char *)sqlite3_column_text(st, 1 + i);
			if (!*f[i])
				*f[i] = "";
		}
		r.hash[0] = '\0';
		if (sqlite3_column_bytes(st, 9) == HASH_LEN)
			sodium_bin2hex(r.hash, sizeof r.hash,
				       sqlite3_column_blob(st, 9), HASH_LEN);
		if ((rc = fn(ctx, &r))) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0
				 : kdb_fail(w->db, w->what, "read audit log", NULL, e);
}
