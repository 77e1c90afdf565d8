/*
 * ledger — the discloser's ledger on SQLite.  All of kluis's ledger SQL is
 * here; values are always bound, never spliced into SQL text.
 *
 * Source keys are front-coded within a chunk: each key is stored as
 * varint(bytes shared with the previous key) varint(suffix length) suffix,
 * and every chunk starts afresh (shared 0), so a chunk decodes on its own.
 * Register keys are mostly sorted or numbered ("D2019-000123"), so this
 * stores a few bytes per key instead of a dozen and keeps the export's
 * write volume small; resolving decodes at most one chunk.
 *
 * An export's keys are committed in batches of BATCH_CHUNKS chunks under
 * its 'building' row, without fsync (synchronous NORMAL), so SQLite
 * checkpoints them into the database file while the export runs; one
 * transaction for millions of keys left all of that (tens of MB copied
 * from the WAL, and synced) to the commit at the end.  Only the step to
 * 'pending' is synced (FULL), and it covers the batches before it.  A
 * 'building' row is as good as absent: the once rule treats it like a
 * pending one, listings skip it, and an export that fails deletes it;
 * one interrupted is rolled back by the next exclusive open, as a
 * pending one is.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kdb.h"
#include "ktime.h"

#include "banned.h"

/* PRAGMA application_id 'kldg': tells a ledger from other SQLite files
 * (a workspace, say) before anything is written to it. */
#define LEDGER_APP_ID 0x6b6c6467

/* Migration i takes the schema from version i to i + 1 and sets
 * user_version itself; all of them run in one transaction.  Append new
 * versions; never edit a released one. */
static const char *const migrations[] = {
	/* 1: packages and their chunked source keys. */
	"CREATE TABLE package ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE"
	"  CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),"
	" protocol_id TEXT NOT NULL,"
	" protocol_version TEXT NOT NULL,"
	" protocol_digest TEXT NOT NULL,"
	" created_at TEXT NOT NULL,"
	" recipient TEXT NOT NULL,"
	" discloser_key TEXT NOT NULL,"
	" out_dir TEXT NOT NULL,"
	" n_read INTEGER NOT NULL CHECK (n_read >= 0),"
	" n_selected INTEGER NOT NULL CHECK (n_selected >= 0),"
	" n_excluded INTEGER NOT NULL CHECK (n_excluded >= 0),"
	" n_rejected INTEGER NOT NULL CHECK (n_rejected >= 0),"
	" n_blanked INTEGER NOT NULL CHECK (n_blanked >= 0),"
	" records_digest TEXT NOT NULL,"
	" package_digest TEXT NOT NULL,"
	" register_name TEXT NOT NULL,"
	" register_digest TEXT NOT NULL,"
	" supersedes TEXT REFERENCES package(id),"
	" supersede_reason TEXT,"
	" state TEXT NOT NULL"
	"  CHECK (state IN ('building', 'pending', 'complete')),"
	" mail_to TEXT,"
	" mail_state TEXT CHECK (mail_state IN ('started', 'sent')),"
	" mail_started_at TEXT,"
	" mail_sent_at TEXT"
	");"
	"CREATE INDEX package_protocol ON package(protocol_id, state);"
	"CREATE TABLE record_keys ("
	" package_id TEXT NOT NULL REFERENCES package(id),"
	" first_record INTEGER NOT NULL CHECK (first_record >= 1),"
	" count INTEGER NOT NULL CHECK (count >= 1),"
	" keys BLOB NOT NULL,"
	" PRIMARY KEY (package_id, first_record)"
	");"
	"PRAGMA application_id = 1802265703;" /* LEDGER_APP_ID */
	"PRAGMA user_version = 1;",
};

_Static_assert(sizeof migrations / sizeof *migrations == LEDGER_SCHEMA_VERSION,
	       "one migration per schema version");

/* The files an export links into out_dir, removed when it is rolled back. */
static const char *const package_suffixes[] = {
	".age", ".age.minisig", ".report.json", ".eml",
};

#define MAIL_TO_CAP sizeof(((struct ledger_package *)NULL)->mail_to)
#define CHUNK_BUF (LEDGER_CHUNK_BYTES + LEDGER_KEY_MAX + 2 * 10)
#define LOCK_WAIT_MS 5000
#define BATCH_CHUNKS 32        /* chunks per key transaction: 128 k keys */

struct ledger {
	sqlite3 *db;
	int lockfd;        /* PATH-lock, for flock only */
	char what[64];     /* the path if it fits, for messages */
	/* the export of this handle */
	bool in_tx;        /* an export is under way (keys being added) */
	bool failed;       /* an error ended it: only abort is accepted */
	bool prepared;     /* committed 'pending' by us, not yet complete */
	char id[LEDGER_ID_LEN + 1];
	sqlite3_stmt *ins; /* INSERT of one chunk */
	uint8_t *chunk;    /* CHUNK_BUF bytes */
	size_t chunk_len;
	uint32_t chunk_n;
	uint64_t chunk_first;
	uint32_t batch;    /* chunks in the key transaction open now */
	uint64_t n_keys;
	uint8_t prev[LEDGER_KEY_MAX];
	size_t prev_len;
};

#define PKG_COLS                                                         \
	"id, protocol_id, protocol_version, protocol_digest, created_at, " \
	"recipient, discloser_key, out_dir, n_read, n_selected, "          \
	"n_excluded, n_rejected, n_blanked, records_digest, "             \
	"package_digest, register_name, register_digest, supersedes, "     \
	"supersede_reason, state, mail_to, mail_state, mail_started_at, "  \
	"mail_sent_at"

/* ---- helpers ------------------------------------------------------- */

static int db_fail(struct ledger *l, struct kerr *e, const char *op)
{
	return kdb_fail(l->db, l->what, op,
			"ledger is busy (another export running?)", e);
}

static int prep(struct ledger *l, const char *sql, sqlite3_stmt **st,
		struct kerr *e)
{
	return kdb_prep(l->db, l->what, sql, st, e);
}

/* Run fixed SQL (no values). */
static int exec(struct ledger *l, const char *sql, const char *op,
		struct kerr *e)
{
	return kdb_exec(l->db, l->what, sql, op, e);
}

/* Roll back whatever transaction is open; quiet, for error paths. */
static void rollback(struct ledger *l)
{
	kdb_rollback(l->db);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* "" binds as NULL: the optional columns. */
static int bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	return s && s[0] ? bind_text(st, i, s) : sqlite3_bind_null(st, i);
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool id_ok(const char *id)
{
	if (!id)
		return false;
	for (int i = 0; i < LEDGER_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[LEDGER_ID_LEN] == '\0';
}

static int check_id(struct ledger *l, const char *id, struct kerr *e)
{
	if (!id_ok(id))
		return kerr_set(e, KERR_USAGE, l->what,
				"not a package id: expected %d lowercase hex digits",
				LEDGER_ID_LEN);
	return 0;
}


/* Column i as text into dst; NULL reads as "".  A value that does not fit
 * was not written by this module: report it rather than cut an id. */
static bool col_str(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	if (!s)
		n = 0;
	if (n >= cap) {
		dst[0] = '\0';
		return false;
	}
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static int read_pkg(struct ledger *l, sqlite3_stmt *st,
		    struct ledger_package *p, struct kerr *e)
{
	bool ok = true;
	int c = 0;

	memset(p, 0, sizeof *p);
#define S(field) (ok &= col_str(st, c++, p->field, sizeof p->field))
#define N(field) (p->field = (uint64_t)sqlite3_column_int64(st, c++))
	S(id);
	S(protocol_id);
	S(protocol_version);
	S(protocol_digest);
	S(created_at);
	S(recipient);
	S(discloser_key);
	S(out_dir);
	N(n_read);
	N(n_selected);
	N(n_excluded);
	N(n_rejected);
	N(n_blanked);
	S(records_digest);
	S(package_digest);
	S(register_name);
	S(register_digest);
	S(supersedes);
	S(supersede_reason);
	S(state);
	S(mail_to);
	S(mail_state);
	S(mail_started_at);
	S(mail_sent_at);
#undef S
#undef N
	if (!ok)
		return kerr_set(e, KERR_FORMAT, l->what,
				"a ledger entry has a field longer than kluis writes");
	return 0;
}

/* Look up one package; KERR_USAGE if there is none. */
static int get_pkg(struct ledger *l, const char *id, struct ledger_package *p,
		   struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prep(l, "SELECT " PKG_COLS " FROM package WHERE id = ?1",
		       &st, e)))
		return rc;
	if (bind_text(st, 1, id) != SQLITE_OK) {
		rc = db_fail(l, e, "bind");
	} else {
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW)
			rc = read_pkg(l, st, p, e);
		else if (s == SQLITE_DONE)
			rc = kerr_set(e, KERR_USAGE, l->what,
				      "no such package: %s", id);
		else
			rc = db_fail(l, e, "read package");
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- opening: file, lock, schema, recovery -------------------------- */

/*
 * The flock lives on a side file, PATH-lock, never on the ledger itself:
 * closing any descriptor of a file drops all of the process's POSIX locks
 * on it, so a descriptor of ours on the database would, when closed, take
 * SQLite's locks away from another handle open in the same process.  For
 * the same reason the ledger is opened by us only to create it, when no
 * connection can have it open yet.
 */
static int open_lock(struct ledger *l, const char *path, struct kerr *e)
{
	char lp[4096];
	int n = snprintf(lp, sizeof lp, "%s-lock", path);

	if (n < 0 || (size_t)n >= sizeof lp)
		return kerr_set(e, KERR_LIMIT, l->what, "ledger path too long");
	l->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->lockfd < 0) {
		kerr_errno(e, errno, l->what, "open lock file");
		return kerr_where(e, "%s", lp);
	}
	return 0;
}

/* Create the ledger 0600 if it is new; refuse one others could read. */
static int check_file(struct ledger *l, const char *path, struct stat *st,
		      struct kerr *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);

	if (fd >= 0) {
		/* The umask may have taken more than 077; we need exactly
		 * 0600. */
		int rc = fchmod(fd, 0600) != 0 ? errno : 0;
		close(fd);
		if (rc)
			return kerr_errno(e, rc, l->what, "chmod");
	} else if (errno != EEXIST) {
		return kerr_errno(e, errno, l->what, "create");
	}
	if (lstat(path, st) != 0)
		return kerr_errno(e, errno, l->what, "stat");
	if (!S_ISREG(st->st_mode))
		return kerr_set(e, KERR_USAGE, l->what,
				"ledger is not a regular file");
	if (st->st_mode & 077)
		return kerr_set(e, KERR_USAGE, l->what,
				"ledger is accessible to group or others (mode %04o); "
				"it maps records to source keys: run chmod 600 on it",
				(unsigned)(st->st_mode & 07777));
	return 0;
}

/* Shared lock for the life of the handle; first try an exclusive one,
 * which tells that no other handle is open and recovery is safe. */
static int take_lock(struct ledger *l, bool *exclusive, struct kerr *e)
{
	*exclusive = flock(l->lockfd, LOCK_EX | LOCK_NB) == 0;
	if (*exclusive)
		return 0;
	for (int ms = 0;; ms += 10) {
		if (flock(l->lockfd, LOCK_SH | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return kerr_errno(e, errno, l->what, "lock");
		if (ms >= LOCK_WAIT_MS)
			return kerr_set(e, KERR_IO, l->what,
					"ledger is locked by another process");
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static const struct kdb_schema schema = {
	.app_id = LEDGER_APP_ID,
	.kind = "ledger",
	.migrations = migrations,
	.version = LEDGER_SCHEMA_VERSION,
};

static int settings(struct ledger *l, struct kerr *e)
{
	int rc;

	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, 5000);
	if ((rc = kdb_wal(l->db, l->what, e)))
		return rc;
	/* secure_delete: rolled-back keys are overwritten, not just freed.
	 * The cache is kept small (4 MiB): export promises memory that does
	 * not grow with the register, and a big export's key pages simply
	 * spill to the WAL before commit. */
	return exec(l,
		    "PRAGMA synchronous = FULL;"
		    "PRAGMA foreign_keys = ON;"
		    "PRAGMA secure_delete = ON;"
		    "PRAGMA cache_size = -4096;",
		    "settings", e);
}

static int unlink_package_files(struct ledger *l, const char *out_dir,
				const char *id, struct kerr *e)
{
	char path[4096 + LEDGER_ID_LEN + 32];
	int dfd;

	for (size_t i = 0;
	     i < sizeof package_suffixes / sizeof *package_suffixes; i++) {
		int n = snprintf(path, sizeof path, "%s/%s%s", out_dir, id,
				 package_suffixes[i]);
		if (n < 0 || (size_t)n >= sizeof path)
			return kerr_set(e, KERR_LIMIT, l->what,
					"package directory path too long");
		if (unlink(path) != 0 && errno != ENOENT) {
			kerr_errno(e, errno, l->what, "remove package file");
			return kerr_where(e, "%s", path);
		}
	}
	dfd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0; /* gone or unreadable: nothing of ours to sync */
	if (fsync(dfd) != 0 && errno != EINVAL) {
		int err = errno;
		close(dfd);
		kerr_errno(e, err, l->what, "sync package directory");
		return kerr_where(e, "%s", out_dir);
	}
	close(dfd);
	return 0;
}

/* Delete the row of an incomplete package and its keys. */
static int delete_incomplete(struct ledger *l, const char *id, struct kerr *e)
{
	static const char *const sql[] = {
		"DELETE FROM record_keys WHERE package_id = ?1",
		"DELETE FROM package WHERE id = ?1 AND state <> 'complete'",
	};
	int rc;

	if ((rc = exec(l, "BEGIN IMMEDIATE", "begin", e)))
		return rc;
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st;
		if ((rc = prep(l, sql[i], &st, e)))
			goto fail;
		if (bind_text(st, 1, id) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(l, e, "delete incomplete package");
		sqlite3_finalize(st);
		if (rc)
			goto fail;
	}
	if ((rc = exec(l, "COMMIT", "commit", e)))
		goto fail;
	return 0;
fail:
	rollback(l);
	return rc;
}

static int discard_one(struct ledger *l, const char *id, const char *out_dir,
		       struct kerr *e)
{
	int rc = unlink_package_files(l, out_dir, id, e);
	return rc ? rc : delete_incomplete(l, id, e);
}

struct orphan {
	char id[LEDGER_ID_LEN + 1];
	char out_dir[4096];
};

/* Roll back every package that is not complete: with the exclusive lock
 * no live process owns one, so each was interrupted. */
static int recover(struct ledger *l, unsigned *n_recovered, struct kerr *e)
{
	struct orphan *o = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, s;

	if ((rc = prep(l, "SELECT id, out_dir FROM package "
			  "WHERE state <> 'complete' ORDER BY seq", &st, e)))
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct orphan *no = realloc(o, nc * sizeof *o);
			if (!no) {
				rc = kerr_set(e, KERR_NOMEM, l->what,
					      "out of memory");
				break;
			}
			o = no;
			cap = nc;
		}
		if (!col_str(st, 0, o[n].id, sizeof o[n].id) ||
		    !col_str(st, 1, o[n].out_dir, sizeof o[n].out_dir) ||
		    !id_ok(o[n].id)) {
			rc = kerr_set(e, KERR_FORMAT, l->what,
				      "an interrupted ledger entry is damaged");
			break;
		}
		n++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = db_fail(l, e, "find interrupted exports");
	sqlite3_finalize(st);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = discard_one(l, o[i].id, o[i].out_dir, e);
		if (rc)
			kerr_where(e, "rolling back package %s", o[i].id);
		else if (n_recovered)
			(*n_recovered)++;
	}
	free(o);
	/* Move the deleted keys' pages out of the WAL now rather than at
	 * some later checkpoint; best effort. */
	if (!rc && n)
		(void)sqlite3_exec(l->db, "PRAGMA wal_checkpoint(TRUNCATE)",
				   NULL, NULL, NULL);
	return rc;
}

int ledger_open(const char *path, struct ledger **out, unsigned *n_recovered,
		struct kerr *e)
{
	struct ledger *l;
	struct stat st, st2;
	bool exclusive;
	int rc;

	kerr_clear(e);
	*out = NULL;
	if (n_recovered)
		*n_recovered = 0;
	if (!path || !path[0])
		return kerr_set(e, KERR_USAGE, "ledger", "no ledger path");
	l = calloc(1, sizeof *l);
	if (!l)
		return kerr_set(e, KERR_NOMEM, "ledger", "out of memory");
	l->lockfd = -1;
	snprintf(l->what, sizeof l->what, "%s",
		 strlen(path) < sizeof l->what ? path : "ledger");

	/* Lock first, so a new ledger is created under it. */
	if ((rc = open_lock(l, path, e)) ||
	    (rc = take_lock(l, &exclusive, e)) ||
	    (rc = check_file(l, path, &st, e)))
		goto fail;
	if (sqlite3_open_v2(path, &l->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL)
	    != SQLITE_OK) {
		rc = l->db ? db_fail(l, e, "open")
			   : kerr_set(e, KERR_NOMEM, l->what, "out of memory");
		goto fail;
	}
	/* Our lock and checks must be on the file SQLite opened. */
	if (lstat(path, &st2) != 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		rc = kerr_set(e, KERR_IO, l->what,
			      "ledger was replaced while being opened");
		goto fail;
	}
	if ((rc = settings(l, e)) ||
	    (rc = kdb_migrate(l->db, l->what, &schema, e)))
		goto fail;
	if (exclusive) {
		if ((rc = recover(l, n_recovered, e)))
			goto fail;
		if (flock(l->lockfd, LOCK_SH) != 0) {
			rc = kerr_errno(e, errno, l->what, "lock");
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	ledger_close(l);
	return rc;
}

static void end_export(struct ledger *l)
{
	if (l->ins) {
		sqlite3_finalize(l->ins);
		l->ins = NULL;
	}
	if (l->chunk)
		sodium_memzero(l->chunk, CHUNK_BUF);
	sodium_memzero(l->prev, sizeof l->prev);
	l->chunk_len = l->prev_len = 0;
	l->chunk_n = 0;
	l->in_tx = l->failed = false;
}

void ledger_abort(struct ledger *l)
{
	struct kerr e;
	bool building;

	if (!l)
		return;
	building = l->in_tx;
	end_export(l);
	rollback(l);
	(void)sqlite3_exec(l->db, "PRAGMA synchronous = FULL", NULL, NULL,
			   NULL);
	/* Its 'building' row and the keys committed so far; what fails
	 * here is rolled back by the next exclusive open. */
	if (building)
		(void)delete_incomplete(l, l->id, &e);
	if (l->prepared) {
		struct ledger_package p;
		/* Left pending on failure: the next exclusive open retries. */
		if (get_pkg(l, l->id, &p, &e) == 0 &&
		    strcmp(p.state, "pending") == 0)
			(void)discard_one(l, p.id, p.out_dir, &e);
		l->prepared = false;
	}
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	ledger_abort(l);
	if (l->db)
		sqlite3_close(l->db);
	if (l->lockfd >= 0)
		close(l->lockfd);
	free(l->chunk);
	sodium_memzero(l, sizeof *l);
	free(l);
}

/* ---- the export ------------------------------------------------------ */

static int check_package(struct ledger *l, const struct ledger_package *p,
			 struct kerr *e)
{
#define T(field)                                                         \
	if (!terminated(p->field, sizeof p->field))                        \
		return kerr_set(e, KERR_USAGE, l->what,                    \
				"package field %s is not terminated", #field);
	T(id) T(protocol_id) T(protocol_version) T(protocol_digest)
	T(created_at) T(recipient) T(discloser_key) T(out_dir)
	T(records_digest) T(package_digest) T(register_name)
	T(register_digest)
#undef T
	if (!id_ok(p->id))
		return check_id(l, p->id, e);
	if (!p->protocol_id[0])
		return kerr_set(e, KERR_USAGE, l->what, "no protocol id");
	if (!ktime_valid(p->created_at))
		return kerr_set(e, KERR_USAGE, l->what,
				"created_at is not YYYY-MM-DDTHH:MM:SSZ");
	if (p->out_dir[0] != '/')
		return kerr_set(e, KERR_USAGE, l->what,
				"package directory is not an absolute path");
	if (p->n_read > INT64_MAX || p->n_selected > INT64_MAX ||
	    p->n_excluded > INT64_MAX || p->n_rejected > INT64_MAX ||
	    p->n_blanked > INT64_MAX)
		return kerr_set(e, KERR_LIMIT, l->what, "count out of range");
	return 0;
}

/* The newest package of the protocol in state (by creation, then entry). */
/* The latest package of a protocol in state `state`, or (NULL) in any
 * state but complete. */
static int latest(struct ledger *l, const char *protocol_id, const char *state,
		  struct ledger_package *p, bool *found, struct kerr *e)
{
	sqlite3_stmt *st;
	int rc, s;

	*found = false;
	if ((rc = prep(l, state ? "SELECT " PKG_COLS " FROM package"
				  " WHERE protocol_id = ?1 AND state = ?2"
				  " ORDER BY created_at DESC, seq DESC LIMIT 1"
				: "SELECT " PKG_COLS " FROM package"
				  " WHERE protocol_id = ?1 AND"
				  " state <> 'complete'"
				  " ORDER BY created_at DESC, seq DESC LIMIT 1",
		       &st, e)))
		return rc;
	if (bind_text(st, 1, protocol_id) != SQLITE_OK ||
	    (state && bind_text(st, 2, state) != SQLITE_OK))
		rc = db_fail(l, e, "bind");
	else if ((s = sqlite3_step(st)) == SQLITE_ROW) {
		*found = true;
		rc = read_pkg(l, st, p, e);
	} else if (s != SQLITE_DONE)
		rc = db_fail(l, e, "look up earlier packages");
	sqlite3_finalize(st);
	return rc;
}

/* The once rule and superseding; fills supersedes (or ""). */
static int check_once(struct ledger *l, const struct ledger_package *p,
		      bool once, const char *reason,
		      struct ledger_package *prior, char *supersedes,
		      struct kerr *e)
{
	struct ledger_package *q = malloc(sizeof *q);
	bool found;
	int rc;

	supersedes[0] = '\0';
	if (!q)
		return kerr_set(e, KERR_NOMEM, l->what, "out of memory");
	if (once) {
		if ((rc = latest(l, p->protocol_id, NULL, q, &found, e)))
			goto out;
		if (found) {
			if (prior)
				*prior = *q;
			rc = kerr_set(e, KERR_EXISTS, l->what,
				      "protocol %s allows one package and package %s "
				      "is %s (being written now, or interrupted "
				      "and rolled back at the next open)",
				      p->protocol_id, q->id, q->state);
			goto out;
		}
	}
	if ((rc = latest(l, p->protocol_id, "complete", q, &found, e)))
		goto out;
	if (reason) {
		if (!found) {
			rc = kerr_set(e, KERR_USAGE, l->what,
				      "nothing to supersede: no complete package "
				      "of protocol %s", p->protocol_id);
			goto out;
		}
		memcpy(supersedes, q->id, LEDGER_ID_LEN + 1);
	} else if (once && found) {
		if (prior)
			*prior = *q;
		rc = kerr_set(e, KERR_EXISTS, l->what,
			      "protocol %s allows one package and package %s was "
			      "exported at %s; give a reason to supersede it",
			      p->protocol_id, q->id, q->created_at);
	}
out:
	free(q);
	return rc;
}

int ledger_begin(struct ledger *l, const struct ledger_package *p, bool once,
		 const char *supersede_reason, struct ledger_package *prior,
		 struct kerr *e)
{
	char supersedes[LEDGER_ID_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	kerr_clear(e);
	if (l->in_tx || l->prepared)
		return kerr_set(e, KERR_USAGE, l->what,
				"package %s is still being exported on this handle",
				l->id);
	if ((rc = check_package(l, p, e)))
		return rc;
	if (supersede_reason &&
	    (!supersede_reason[0] ||
	     strlen(supersede_reason) >= sizeof p->supersede_reason))
		return kerr_set(e, KERR_USAGE, l->what,
				"a supersede reason must be 1 to %zu bytes",
				sizeof p->supersede_reason - 1);
	if (!l->chunk && !(l->chunk = malloc(CHUNK_BUF)))
		return kerr_set(e, KERR_NOMEM, l->what, "out of memory");

	if ((rc = exec(l, "BEGIN IMMEDIATE", "begin export", e)))
		return rc;
	if ((rc = check_once(l, p, once, supersede_reason, prior, supersedes,
			     e)))
		goto fail;
	if ((rc = prep(l,
		       "INSERT INTO package (id, protocol_id, protocol_version,"
		       " protocol_digest, created_at, recipient, discloser_key,"
		       " out_dir, n_read, n_selected, n_excluded, n_rejected,"
		       " n_blanked, records_digest, package_digest, register_name,"
		       " register_digest, supersedes, supersede_reason, mail_to,"
		       " state)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		       " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
		       " 'building')",
		       &st, e)))
		goto fail;
	if (bind_text(st, 1, p->id) || bind_text(st, 2, p->protocol_id) ||
	    bind_text(st, 3, p->protocol_version) ||
	    bind_text(st, 4, p->protocol_digest) ||
	    bind_text(st, 5, p->created_at) || bind_text(st, 6, p->recipient) ||
	    bind_text(st, 7, p->discloser_key) || bind_text(st, 8, p->out_dir) ||
	    bind_u64(st, 9, p->n_read) || bind_u64(st, 10, p->n_selected) ||
	    bind_u64(st, 11, p->n_excluded) || bind_u64(st, 12, p->n_rejected) ||
	    bind_u64(st, 13, p->n_blanked) ||
	    bind_text(st, 14, p->records_digest) ||
	    bind_text(st, 15, p->package_digest) ||
	    bind_text(st, 16, p->register_name) ||
	    bind_text(st, 17, p->register_digest) ||
	    bind_opt(st, 18, supersedes) ||
	    bind_opt(st, 19, supersede_reason ? supersede_reason : "") ||
	    bind_opt(st, 20, p->mail_to))
		rc = db_fail(l, e, "bind");
	else if (sqlite3_step(st) != SQLITE_DONE)
		rc = (sqlite3_extended_errcode(l->db) ==
		      SQLITE_CONSTRAINT_UNIQUE)
			     ? kerr_set(e, KERR_EXISTS, l->what,
					"package %s is already in the ledger",
					p->id)
			     : db_fail(l, e, "record package");
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	if ((rc = prep(l,
		       "INSERT INTO record_keys (package_id, first_record,"
		       " count, keys) VALUES (?1, ?2, ?3, ?4)",
		       &l->ins, e)))
		goto fail;
	memcpy(l->id, p->id, sizeof l->id);
	if (bind_text(l->ins, 1, l->id) != SQLITE_OK) {
		rc = db_fail(l, e, "bind");
		goto fail;
	}
	/* The row is committed now (the once rule sees it), the keys in
	 * batches from here on, unsynced. */
	if ((rc = exec(l, "COMMIT", "commit package entry", e)))
		goto fail;
	l->in_tx = true;
	l->failed = false;
	l->chunk_len = l->prev_len = 0;
	l->chunk_n = 0;
	l->batch = 0;
	l->chunk_first = 1;
	l->n_keys = 0;
	if ((rc = exec(l, "PRAGMA synchronous = NORMAL", "settings", e)) ||
	    (rc = exec(l, "BEGIN IMMEDIATE", "begin", e))) {
		ledger_abort(l);
		return rc;
	}
	return 0;
fail:
	end_export(l);
	rollback(l);
	return rc;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

static inline uint64_t word(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/* Keys are a dozen bytes and suffixes a few: copied by words that
 * overlap at the end rather than by memcpy (a call, or `rep movsq`
 * with its start-up cost) or a byte loop (which gcc turns back into a
 * memcpy call).  Nothing outside d[0..n) and s[0..n) is touched. */
static inline void copy_short(uint8_t *restrict d, const uint8_t *restrict s,
			      size_t n)
{
	if (n >= 8) {
		size_t i = 0;

		for (; i + 8 < n; i += 8)
			memcpy(d + i, s + i, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* Whether the n bytes at k hold a NUL: a word at a time (exact: a byte
 * is flagged only if it is zero). */
static inline bool has_nul(const uint8_t *k, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t high = UINT64_C(0x8080808080808080);
	size_t i = 0;

	if (n < 8) {
		for (; i < n; i++)
			if (!k[i])
				return true;
		return false;
	}
	for (; i + 8 < n; i += 8) {
		uint64_t w = word(k + i);

		if ((w - ones) & ~w & high)
			return true;
	}
	{
		uint64_t w = word(k + n - 8);

		return ((w - ones) & ~w & high) != 0;
	}
}

/* Bytes shared by a[0..max) and b[0..max): a word at a time. */
static inline size_t common_prefix(const uint8_t *a, const uint8_t *b,
				   size_t max)
{
	size_t i = 0;

	for (; i + 8 <= max; i += 8) {
		uint64_t x = word(a + i) ^ word(b + i);

		if (x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + ((size_t)__builtin_ctzll(x) >> 3);
#else
			break;
#endif
		}
	}
	while (i < max && a[i] == b[i])
		i++;
	return i;
}

static int flush_chunk(struct ledger *l, struct kerr *e)
{
	int rc = 0;

	if (l->chunk_n == 0)
		return 0;
	if (bind_u64(l->ins, 2, l->chunk_first) ||
	    sqlite3_bind_int(l->ins, 3, (int)l->chunk_n) ||
	    sqlite3_bind_blob(l->ins, 4, l->chunk, (int)l->chunk_len,
			      SQLITE_STATIC))
		rc = db_fail(l, e, "bind");
	else if (sqlite3_step(l->ins) != SQLITE_DONE)
		rc = db_fail(l, e, "record source keys");
	sqlite3_reset(l->ins);
	if (rc) {
		l->failed = true;
		return kerr_where(e, "records %" PRIu64 "..%" PRIu64,
				  l->chunk_first,
				  l->chunk_first + l->chunk_n - 1);
	}
	l->chunk_first += l->chunk_n;
	l->chunk_n = 0;
	l->chunk_len = 0;
	l->prev_len = 0;
	if (++l->batch == BATCH_CHUNKS) {
		l->batch = 0;
		if ((rc = exec(l, "COMMIT", "commit source keys", e)) ||
		    (rc = exec(l, "BEGIN IMMEDIATE", "begin", e))) {
			l->failed = true;
			return rc;
		}
	}
	return 0;
}

static int export_live(struct ledger *l, struct kerr *e)
{
	if (!l->in_tx)
		return kerr_set(e, KERR_USAGE, l->what, "no export in progress");
	if (l->failed)
		return kerr_set(e, KERR_USAGE, l->what,
				"the export of package %s failed; abort it", l->id);
	return 0;
}

int ledger_add_key(struct ledger *l, const char *key, size_t len,
		   struct kerr *e)
{
	const uint8_t *k = (const uint8_t *)key;
	size_t shared = 0, max;
	uint8_t *w;
	int rc;

	if ((rc = export_live(l, e)))
		return rc;
	if (len > LEDGER_KEY_MAX) {
		l->failed = true;
		return kerr_set(e, KERR_LIMIT, l->what,
				"source key of record %" PRIu64 " is longer than %d bytes",
				l->n_keys + 1, LEDGER_KEY_MAX);
	}
	if (has_nul(k, len)) {
		l->failed = true;
		return kerr_set(e, KERR_USAGE, l->what,
				"source key of record %" PRIu64 " holds a NUL byte",
				l->n_keys + 1);
	}
	max = len < l->prev_len ? len : l->prev_len;
	shared = common_prefix(k, l->prev, max);
	w = l->chunk + l->chunk_len;
	w += put_varint(w, shared);
	w += put_varint(w, len - shared);
	copy_short(w, k + shared, len - shared);
	w += len - shared;
	copy_short(l->prev + shared, k + shared, len - shared);
	l->prev_len = len;
	l->chunk_len = (size_t)(w - l->chunk);
	l->chunk_n++;
	l->n_keys++;
	if (l->chunk_n == LEDGER_CHUNK_KEYS || l->chunk_len >= LEDGER_CHUNK_BYTES)
		return flush_chunk(l, e);
	return 0;
}

uint64_t ledger_keys_added(const struct ledger *l)
{
	return l->in_tx ? l->n_keys : 0;
}

int ledger_prepare(struct ledger *l, const struct ledger_package *final,
		   struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	kerr_clear(e);
	if ((rc = export_live(l, e)))
		return rc;
	l->failed = true; /* until we get through */
	if (!terminated(final->id, sizeof final->id) ||
	    !terminated(final->records_digest, sizeof final->records_digest) ||
	    !terminated(final->package_digest, sizeof final->package_digest))
		return kerr_set(e, KERR_USAGE, l->what,
				"a package field is not terminated");
	if (final->n_read > INT64_MAX || final->n_selected > INT64_MAX ||
	    final->n_excluded > INT64_MAX || final->n_rejected > INT64_MAX ||
	    final->n_blanked > INT64_MAX)
		return kerr_set(e, KERR_LIMIT, l->what, "count out of range");
	if (strcmp(final->id, l->id) != 0)
		return kerr_set(e, KERR_USAGE, l->what,
				"prepare names package %s but %s is being exported",
				final->id, l->id);
	if (final->n_selected != l->n_keys)
		return kerr_set(e, KERR_USAGE, l->what,
				"record count mismatch: %" PRIu64 " selected but %"
				PRIu64 " source keys recorded",
				final->n_selected, l->n_keys);
	if (!final->records_digest[0] || !final->package_digest[0])
		return kerr_set(e, KERR_USAGE, l->what,
				"records or package digest missing");
	if ((rc = flush_chunk(l, e)))
		return rc;
	/* The keys' last batch as the others; then the step to 'pending'
	 * synced, and with it the batches before it. */
	if ((rc = exec(l, "COMMIT", "commit source keys", e)) ||
	    (rc = exec(l, "PRAGMA synchronous = FULL", "settings", e)) ||
	    (rc = exec(l, "BEGIN IMMEDIATE", "begin", e)))
		return rc;
	if ((rc = prep(l,
		       "UPDATE package SET n_read = ?2, n_selected = ?3,"
		       " n_excluded = ?4, n_rejected = ?5, n_blanked = ?6,"
		       " records_digest = ?7, package_digest = ?8,"
		       " state = 'pending' WHERE id = ?1 AND state = 'building'",
		       &st, e)))
		return rc;
	if (bind_text(st, 1, l->id) || bind_u64(st, 2, final->n_read) ||
	    bind_u64(st, 3, final->n_selected) ||
	    bind_u64(st, 4, final->n_excluded) ||
	    bind_u64(st, 5, final->n_rejected) ||
	    bind_u64(st, 6, final->n_blanked) ||
	    bind_text(st, 7, final->records_digest) ||
	    bind_text(st, 8, final->package_digest))
		rc = db_fail(l, e, "bind");
	else if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(l, e, "finish package entry");
	else if (sqlite3_changes(l->db) != 1)
		rc = kerr_set(e, KERR_INTERNAL, l->what,
			      "package %s vanished during its export", l->id);
	sqlite3_finalize(st);
	if (rc)
		return rc;
	sqlite3_finalize(l->ins);
	l->ins = NULL;
	if ((rc = exec(l, "COMMIT", "commit package entry", e)))
		return rc;
	end_export(l);
	l->prepared = true;
	return 0;
}

int ledger_complete(struct ledger *l, const char *id, struct kerr *e)
{
	struct ledger_package *p;
	sqlite3_stmt *st;
	int rc;

	kerr_clear(e);
	if ((rc = check_id(l, id, e)))
		return rc;
	if (l->in_tx)
		return kerr_set(e, KERR_USAGE, l->what,
				"package %s is not prepared yet", l->id);
	if ((rc = prep(l, "UPDATE package SET state = 'complete'"
			  " WHERE id = ?1 AND state = 'pending'", &st, e)))
		return rc;
	if (bind_text(st, 1, id) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(l, e, "complete package");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (sqlite3_changes(l->db) == 0) {
		/* Nothing pending by that id: complete already, or unknown. */
		if (!(p = malloc(sizeof *p)))
			return kerr_set(e, KERR_NOMEM, l->what, "out of memory");
		rc = get_pkg(l, id, p, e);
		if (!rc && strcmp(p->state, "complete") != 0)
			rc = kerr_set(e, KERR_USAGE, l->what,
				      "package %s is %s, not pending", id,
				      p->state);
		free(p);
		if (rc)
			return rc;
	}
	if (l->prepared && strcmp(id, l->id) == 0)
		l->prepared = false;
	return 0;
}

int ledger_discard(struct ledger *l, const char *id, struct kerr *e)
{
	struct ledger_package *p;
	int rc;

	kerr_clear(e);
	if ((rc = check_id(l, id, e)))
		return rc;
	if (l->in_tx && strcmp(id, l->id) == 0)
		return kerr_set(e, KERR_USAGE, l->what,
				"package %s is being exported: abort it", id);
	if (!(p = malloc(sizeof *p)))
		return kerr_set(e, KERR_NOMEM, l->what, "out of memory");
	rc = get_pkg(l, id, p, e);
	if (!rc && strcmp(p->state, "complete") == 0)
		rc = kerr_set(e, KERR_USAGE, l->what,
			      "package %s is complete and cannot be discarded", id);
	if (!rc)
		rc = discard_one(l, id, p->out_dir, e);
	if (!rc && l->prepared && strcmp(id, l->id) == 0)
		l->prepared = false;
	free(p);
	return rc;
}

/* ---- questions ------------------------------------------------------- */

int ledger_get(struct ledger *l, const char *id, struct ledger_package *p,
	       struct kerr *e)
{
	int rc;

	kerr_clear(e);
	if ((rc = check_id(l, id, e)))
		return rc;
	return get_pkg(l, id, p, e);
}

int ledger_list(struct ledger *l,
		int (*each)(void *ctx, const struct ledger_package *p),
		void *ctx, struct kerr *e)
{
	struct ledger_package *p;
	sqlite3_stmt *st;
	int rc, s;

	kerr_clear(e);
	if (!(p = malloc(sizeof *p)))
		return kerr_set(e, KERR_NOMEM, l->what, "out of memory");
	if ((rc = prep(l, "SELECT " PKG_COLS " FROM package"
			  " WHERE state = 'complete' ORDER BY created_at, seq",
		       &st, e))) {
		free(p);
		return rc;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = read_pkg(l, st, p, e)) || (rc = each(ctx, p)))
			break;
	}
	if (!rc && s != SQLITE_DONE)
		rc = db_fail(l, e, "list packages");
	sqlite3_finalize(st);
	free(p);
	return rc;
}

/* Key number idx (0-based) of a chunk into out. */
static int decode_key(struct ledger *l, const uint8_t *blob, size_t n,
		      uint64_t idx, char *out, size_t cap, struct kerr *e)
{
	const uint8_t *p = blob, *end = blob + n;
	uint8_t cur[LEDGER_KEY_MAX];
	size_t cur_len = 0;
	int rc = 0;

	for (uint64_t i = 0;; i++) {
		uint64_t shared, suffix;
		if (!get_varint(&p, end, &shared) ||
		    !get_varint(&p, end, &suffix) || shared > cur_len ||
		    suffix > LEDGER_KEY_MAX - shared ||
		    suffix > (uint64_t)(end - p)) {
			rc = kerr_set(e, KERR_FORMAT, l->what,
				      "a source key chunk is damaged");
			break;
		}
		memcpy(cur + shared, p, suffix);
		p += suffix;
		cur_len = shared + suffix;
		if (i == idx) {
			if (cur_len >= cap) {
				rc = kerr_set(e, KERR_LIMIT, l->what,
					      "source key is longer than the "
					      "buffer (%zu bytes)", cur_len);
				break;
			}
			memcpy(out, cur, cur_len);
			out[cur_len] = '\0';
			break;
		}
	}
	sodium_memzero(cur, sizeof cur);
	return rc;
}

int ledger_resolve(struct ledger *l, const char *id, uint64_t record,
		   char *out, size_t cap, struct kerr *e)
{
	struct ledger_package *p;
	sqlite3_stmt *st = NULL;
	uint64_t n_records;
	int rc, s;

	kerr_clear(e);
	if (cap)
		out[0] = '\0';
	if ((rc = check_id(l, id, e)))
		return rc;
	if (cap == 0)
		return kerr_set(e, KERR_USAGE, l->what, "no room for the key");
	if (!(p = malloc(sizeof *p)))
		return kerr_set(e, KERR_NOMEM, l->what, "out of memory");
	rc = get_pkg(l, id, p, e);
	/* A package still being built counts the keys added so far. */
	n_records = rc ? 0 : strcmp(p->state, "building") == 0 ? l->n_keys
							      : p->n_selected;
	free(p);
	if (rc)
		return rc;
	if (record == 0 || record > n_records)
		return kerr_set(e, KERR_USAGE, l->what,
				"record %" PRIu64 " is out of range: package %s has "
				"records 1..%" PRIu64, record, id, n_records);
	if ((rc = prep(l, "SELECT first_record, count, keys FROM record_keys"
			  " WHERE package_id = ?1 AND first_record <= ?2"
			  " ORDER BY first_record DESC LIMIT 1", &st, e)))
		return rc;
	if (bind_text(st, 1, id) || bind_u64(st, 2, record))
		rc = db_fail(l, e, "bind");
	else if ((s = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t count = (uint64_t)sqlite3_column_int64(st, 1);
		const void *blob = sqlite3_column_blob(st, 2);
		size_t n = (size_t)sqlite3_column_bytes(st, 2);

		if (record - first >= count || !blob)
			rc = kerr_set(e, KERR_FORMAT, l->what,
				      "no source key stored for record %" PRIu64,
				      record);
		else
			rc = decode_key(l, blob, n, record - first, out, cap, e);
	} else if (s == SQLITE_DONE)
		rc = kerr_set(e, KERR_FORMAT, l->what,
			      "no source key stored for record %" PRIu64, record);
	else
		rc = db_fail(l, e, "read source keys");
	sqlite3_finalize(st);
	return rc;
}

/* ---- mail bookkeeping ------------------------------------------------ */

/* In a write transaction: the package's state and mail columns. */
static int mail_row(struct ledger *l, const char *id, char state[16],
		    char mail_state[16], char at[32], struct kerr *e)
{
	sqlite3_stmt *st;
	int rc, s;

	if ((rc = prep(l, "SELECT state, mail_state,"
			  " coalesce(mail_sent_at, mail_started_at)"
			  " FROM package WHERE id = ?1", &st, e)))
		return rc;
	if (bind_text(st, 1, id) != SQLITE_OK)
		rc = db_fail(l, e, "bind");
	else if ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (!col_str(st, 0, state, 16) || !col_str(st, 1, mail_state, 16) ||
		    !col_str(st, 2, at, 32))
			rc = kerr_set(e, KERR_FORMAT, l->what,
				      "the mail columns of package %s are damaged",
				      id);
	} else if (s == SQLITE_DONE)
		rc = kerr_set(e, KERR_USAGE, l->what, "no such package: %s", id);
	else
		rc = db_fail(l, e, "read mail state");
	sqlite3_finalize(st);
	return rc;
}

int ledger_mail_started(struct ledger *l, const char *id, const char *to,
			bool force, struct kerr *e)
{
	char state[16], mail_state[16], at[32], now[32];
	sqlite3_stmt *st;
	int rc;

	kerr_clear(e);
	if ((rc = check_id(l, id, e)))
		return rc;
	if (!to || !to[0] || strlen(to) >= MAIL_TO_CAP)
		return kerr_set(e, KERR_USAGE, l->what,
				"mail address missing or too long");
	if (l->in_tx)
		return kerr_set(e, KERR_USAGE, l->what,
				"package %s is still being exported", l->id);
	if ((rc = exec(l, "BEGIN IMMEDIATE", "begin", e)))
		return rc;
	if ((rc = mail_row(l, id, state, mail_state, at, e)))
		goto fail;
	if (strcmp(state, "complete") != 0) {
		rc = kerr_set(e, KERR_USAGE, l->what,
			      "package %s is %s, not complete", id, state);
		goto fail;
	}
	if (mail_state[0] && !force) {
		rc = kerr_set(e, KERR_EXISTS, l->what,
			      "mail of package %s was already %s at %s%s", id,
			      mail_state, at,
			      strcmp(mail_state, "started") == 0
				      ? " and may have gone out; force to send again"
				      : "");
		goto fail;
	}
	ktime_now(now);
	if ((rc = prep(l, "UPDATE package SET mail_to = ?2,"
			  " mail_state = 'started', mail_started_at = ?3,"
			  " mail_sent_at = NULL WHERE id = ?1", &st, e)))
		goto fail;
	if (bind_text(st, 1, id) || bind_text(st, 2, to) ||
	    bind_text(st, 3, now) || sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(l, e, "record mail start");
	sqlite3_finalize(st);
	if (rc || (rc = exec(l, "COMMIT", "commit", e)))
		goto fail;
	return 0;
fail:
	rollback(l);
	return rc;
}

int ledger_mail_sent(struct ledger *l, const char *id, struct kerr *e)
{
	char state[16], mail_state[16], at[32], now[32];
	sqlite3_stmt *st;
	int rc;

	kerr_clear(e);
	if ((rc = check_id(l, id, e)))
		return rc;
	if (l->in_tx)
		return kerr_set(e, KERR_USAGE, l->what,
				"package %s is still being exported", l->id);
	if ((rc = exec(l, "BEGIN IMMEDIATE", "begin", e)))
		return rc;
	if ((rc = mail_row(l, id, state, mail_state, at, e)))
		goto fail;
	if (strcmp(mail_state, "sent") == 0) {
		rc = kerr_set(e, KERR_EXISTS, l->what,
			      "mail of package %s was already sent at %s", id, at);
		goto fail;
	}
	if (strcmp(mail_state, "started") != 0) {
		rc = kerr_set(e, KERR_USAGE, l->what,
			      "mail of package %s was not started", id);
		goto fail;
	}
	ktime_now(now);
	if ((rc = prep(l, "UPDATE package SET mail_state = 'sent',"
			  " mail_sent_at = ?2 WHERE id = ?1", &st, e)))
		goto fail;
	if (bind_text(st, 1, id) || bind_text(st, 2, now) ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(l, e, "record mail sent");
	sqlite3_finalize(st);
	if (rc || (rc = exec(l, "COMMIT", "commit", e)))
		goto fail;
	return 0;
fail:
	rollback(l);
	return rc;
}

/* ---- paths ----------------------------------------------------------- */

int ledger_default_path(const char *key_path, char *out, size_t cap,
			struct kerr *e)
{
	const char *slash;
	size_t dir_len;
	int n;

	kerr_clear(e);
	if (cap)
		out[0] = '\0';
	if (!key_path || !key_path[0] ||
	    key_path[strlen(key_path) - 1] == '/')
		return kerr_set(e, KERR_USAGE, "ledger",
				"key path does not name a file");
	slash = strrchr(key_path, '/');
	if (!slash)
		n = snprintf(out, cap, "./%s", LEDGER_FILE);
	else {
		dir_len = (size_t)(slash - key_path);
		if (dir_len > INT32_MAX)
			return kerr_set(e, KERR_LIMIT, "ledger", "path too long");
		/* "/key" lives in "/": no "//". */
		n = snprintf(out, cap, "%.*s/%s", (int)dir_len, key_path,
			     LEDGER_FILE);
	}
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return kerr_set(e, KERR_LIMIT, "ledger",
				"ledger path longer than %zu bytes", cap);
	}
	return 0;
}
