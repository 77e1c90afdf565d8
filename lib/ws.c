/*
 * ws — workspace files, schema and pinned protocol (see ws.h).
 *
 * Creation happens in DIR.new-XXXXXX beside DIR: database, schema, keys,
 * first user and first audit entry are committed there, fsynced, and the
 * directory is renamed to DIR.  A crash before the rename leaves only the
 * .new-* directory, never a half workspace under the real name.
 */
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agekey.h"
#include "audit.h"
#include "kdb.h"
#include "ktime.h"
#include "pdiag.h"
#include "ws_int.h"
#include "wskey.h"

#include "banned.h"

/* PRAGMA application_id 'klws'. */
#define WS_APP_ID 0x6b6c7773

/* Migration i takes version i to i + 1.  The protocol's own tables
 * (research, vault) are made at creation from its field list: see
 * make_data_tables. */
static const char *const migrations[] = {
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE protocol ("
	" digest TEXT PRIMARY KEY, text BLOB NOT NULL,"
	" pinned_at TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE users ("
	" name TEXT PRIMARY KEY, roles TEXT NOT NULL,"
	" created_at TEXT NOT NULL, kdf TEXT NOT NULL,"
	" opslimit INTEGER NOT NULL, memlimit INTEGER NOT NULL,"
	" salt BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE user_keys ("
	" user TEXT NOT NULL REFERENCES users(name), key TEXT NOT NULL,"
	" nonce BLOB NOT NULL, sealed BLOB NOT NULL,"
	" PRIMARY KEY (user, key)) WITHOUT ROWID;"
	"CREATE TABLE packages ("
	" id TEXT PRIMARY KEY, protocol_digest TEXT NOT NULL,"
	" discloser_key TEXT NOT NULL, created_at TEXT NOT NULL,"
	" received_at TEXT NOT NULL, received_by TEXT NOT NULL,"
	" records INTEGER NOT NULL, persons INTEGER NOT NULL,"
	" rejected INTEGER NOT NULL, blanked INTEGER NOT NULL,"
	" records_digest TEXT NOT NULL, package_digest TEXT NOT NULL,"
	" retention_end TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL,"
	" role TEXT NOT NULL, command TEXT NOT NULL, purpose TEXT NOT NULL,"
	" object TEXT NOT NULL, outcome TEXT NOT NULL, counts TEXT NOT NULL,"
	" prev BLOB NOT NULL, hash BLOB NOT NULL);"
	"CREATE TABLE audit_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
	" hash BLOB NOT NULL, sig BLOB NOT NULL, signed_at TEXT NOT NULL,"
	" user TEXT NOT NULL);"
	"PRAGMA application_id = 1802270579;"
	"PRAGMA user_version = 1;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == WS_SCHEMA_VERSION,
	       "one migration per schema version");

static const struct kdb_schema schema = {
	.app_id = WS_APP_ID,
	.kind = "workspace",
	.migrations = migrations,
	.version = WS_SCHEMA_VERSION,
};

const char *ws_kdf_name(enum ws_kdf k)
{
	switch (k) {
	case WS_KDF_MODERATE:
		return "moderate";
	case WS_KDF_SENSITIVE:
		return "sensitive";
	case WS_KDF_INTERACTIVE:
	default:
		return "interactive";
	}
}

int ws_kdf_parse(const char *s, enum ws_kdf *k)
{
	for (int i = WS_KDF_INTERACTIVE; i <= WS_KDF_SENSITIVE; i++)
		if (strcmp(s, ws_kdf_name((enum ws_kdf)i)) == 0) {
			*k = (enum ws_kdf)i;
			return 0;
		}
	return -1;
}

int ws_meta_get(struct ws *w, const char *key, char *out, size_t cap,
		struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "SELECT value FROM meta WHERE key = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (!v || strlen(v) >= cap)
			rc = kerr_set(e, KERR_FORMAT, w->what,
				      "damaged: bad value for '%s'", key);
		else
			memcpy(out, v, strlen(v) + 1);
	} else {
		rc = kerr_set(e, KERR_FORMAT, w->what,
			      "damaged: no '%s' recorded", key);
	}
	sqlite3_finalize(st);
	return rc;
}

int ws_meta_set(struct ws *w, const char *key, const char *value,
		struct kerr *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
			   &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = kdb_fail(w->db, w->what, "write", NULL, e);
	sqlite3_finalize(st);
	return rc;
}

static int settings(struct ws *w, struct kerr *e)
{
	int rc;

	sqlite3_extended_result_codes(w->db, 1);
	sqlite3_busy_timeout(w->db, 5000);
	if ((rc = kdb_wal(w->db, w->what, e)))
		return rc;
	/* secure_delete: freed pages are overwritten (destruction, later, must
	 * leave nothing).  Temporary files (the sorts that build the indexes
	 * on codes) stay SQLite's default: they hold codes and row numbers,
	 * never an identity, and SQLite unlinks them as it opens them. */
	return kdb_exec(w->db, w->what,
			"PRAGMA synchronous = FULL;"
			"PRAGMA foreign_keys = ON;"
			"PRAGMA secure_delete = ON;"
			"PRAGMA cache_size = -8192;",
			"settings", e);
}

/* Create the database file 0600 before SQLite does (it would honour the
 * umask only). */
static int make_db_file(const char *path, struct kerr *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);

	if (fd < 0)
		return kerr_errno(e, errno, path, "create");
	int rc = fchmod(fd, 0600) != 0 ? errno : 0;
	close(fd);
	return rc ? kerr_errno(e, rc, path, "chmod") : 0;
}

static int db_path(const char *dir, char out[PATH_MAX], struct kerr *e)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, WS_DB_FILE);

	if (n < 0 || n >= PATH_MAX)
		return kerr_set(e, KERR_LIMIT, "workspace", "path too long");
	return 0;
}

static int open_db(struct ws *w, const char *path, struct kerr *e)
{
	if (sqlite3_open_v2(path, &w->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
				    SQLITE_OPEN_NOMUTEX, NULL)
	    != SQLITE_OK)
		return w->db ? kdb_fail(w->db, w->what, "open", NULL, e)
			     : kerr_set(e, KERR_NOMEM, w->what, "out of memory");
	return settings(w, e);
}

void ws_close(struct ws *w)
{
	if (!w)
		return;
	if (w->db) {
		kdb_rollback(w->db);
		sqlite3_close(w->db);
	}
	protocol_free(w->p);
	sodium_memzero(w, sizeof *w);
	free(w);
}

static struct ws *ws_new(const char *dir, struct kerr *e)
{
	struct ws *w = calloc(1, sizeof *w);

	if (!w) {
		kerr_set(e, KERR_NOMEM, "workspace", "out of memory");
		return NULL;
	}
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	snprintf(w->what, sizeof w->what, "workspace");
	return w;
}

/* ---- the protocol's tables ---------------------------------------- */

/*
 * research: one row per record, in package order, holding the person code
 * and the attribute fields; vault: one row per person, in the order persons
 * were first seen, holding the code and one sealed value per identifying
 * field.  Column names are the protocol's field names (quoted).  Their
 * indexes on code are built after the bulk import (wsdata).
 */
static int make_data_tables(struct ws *w, struct kerr *e)
{
	const struct protocol *p = w->p;
	struct kbuf r = KBUF_INIT(1 << 20), v = KBUF_INIT(1 << 20);
	int rc = kbuf_puts(&r, "CREATE TABLE research (record INTEGER PRIMARY KEY,"
			       " code INTEGER NOT NULL", e);

	if (!rc)
		rc = kbuf_puts(&v, "CREATE TABLE vault (person INTEGER PRIMARY KEY,"
				   " code INTEGER NOT NULL,"
				   " first_record INTEGER NOT NULL", e);
	for (size_t i = 0; !rc && i < p->n_fields; i++) {
		const struct pfield *f = &p->fields[i];
		struct kbuf *b = f->category == PF_IDENTIFYING ? &v : &r;
		const char *type = f->category == PF_IDENTIFYING ? "BLOB"
				   : f->type == PF_INT	       ? "INTEGER"
							       : "TEXT";
		if (!(rc = kbuf_puts(b, ", ", e)) &&
		    !(rc = kdb_quote_ident(b, f->name, e)))
			rc = kbuf_printf(b, e, " %s", type);
	}
	if (!rc)
		rc = kbuf_append(&r, ")", 2, e);
	if (!rc)
		rc = kbuf_append(&v, ")", 2, e);
	if (!rc)
		rc = kdb_exec(w->db, w->what, (const char *)r.p, "create tables", e);
	if (!rc)
		rc = kdb_exec(w->db, w->what, (const char *)v.p, "create tables", e);
	kbuf_free(&r);
	kbuf_free(&v);
	return rc;
}

/* ---- create -------------------------------------------------------- */

/* Remove a half-made workspace directory (flat: only our files). */
static void remove_tree(const char *dir)
{
	static const char *const files[] = {
		WS_DB_FILE, WS_DB_FILE "-wal", WS_DB_FILE "-shm",
		WS_DB_FILE "-journal",
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		int n = snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		if (n > 0 && (size_t)n < sizeof path)
			(void)unlink(path);
	}
	(void)rmdir(dir);
}

static int fsync_path(const char *path, int flags, struct kerr *e)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return kerr_errno(e, errno, path, "open");
	int rc = fsync(fd) != 0 ? errno : 0;
	close(fd);
	return rc ? kerr_errno(e, rc, path, "fsync") : 0;
}

/* The directory that holds `path` (for its fsync after the rename). */
static void parent_of(const char *path, char out[PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, PATH_MAX, ".");
	else if (slash == path)
		snprintf(out, PATH_MAX, "/");
	else
		snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
}

static int load_protocol(struct ws *w, const char *text, size_t len,
			 struct kerr *e)
{
	struct pdiag d;
	int rc;

	pdiag_init(&d);
	rc = protocol_parse(text, len, &w->p, &d, e);
	pdiag_free(&d);
	if (rc == KERR_FORMAT)
		return kerr_set(e, KERR_FORMAT, "protocol",
				"the protocol has errors: run kluis protocol check");
	return rc;
}

static int fill_meta(struct ws *w, const struct ws_create_opts *o,
		     struct kerr *e)
{
	char now[21], pk_hex[65];
	sqlite3_stmt *st;
	int rc;

	ktime_now(now);
	sodium_bin2hex(pk_hex, sizeof pk_hex, w->sign_pk, 32);
	if ((rc = ws_meta_set(w, "workspace_id", w->id, e)) ||
	    (rc = ws_meta_set(w, "created_at", now, e)) ||
	    (rc = ws_meta_set(w, "protocol_digest", w->p->digest, e)) ||
	    (rc = ws_meta_set(w, "protocol_id", w->p->id, e)) ||
	    (rc = ws_meta_set(w, "protocol_version", w->p->version, e)) ||
	    (rc = ws_meta_set(w, "audit_sign_pk", pk_hex, e)))
		return rc;
	if ((rc = kdb_prep(w->db, w->what,
			   "INSERT INTO protocol (digest, text, pinned_at)"
			   " VALUES (?, ?, ?)", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, w->p->digest, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, o->protocol_text, (int)o->protocol_len,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = kdb_fail(w->db, w->what, "pin protocol", NULL, e);
	sqlite3_finalize(st);
	return rc;
}

static int build(struct ws *w, const struct ws_create_opts *o,
		 const uint8_t *identity, const char *tmp, struct kerr *e)
{
	char path[PATH_MAX], counts[160];
	struct ws_keys *k = NULL;
	int rc;

	if ((rc = db_path(tmp, path, e)) || (rc = make_db_file(path, e)) ||
	    (rc = open_db(w, path, e)) ||
	    (rc = kdb_migrate(w->db, w->what, &schema, e)))
		return rc;
	if ((rc = wskey_generate(&k, identity, e)))
		return rc;
	memcpy(w->sign_pk, k->sign + 32, 32);
	randombytes_buf(w->id_bin, sizeof w->id_bin);
	sodium_bin2hex(w->id, sizeof w->id, w->id_bin, sizeof w->id_bin);
	snprintf(counts, sizeof counts, "{\"users\":1,\"fields\":%zu}",
		 w->p->n_fields);
	const struct audit_entry a = {
		.user = o->user, .role = "admin+custodian", .command = "init",
		.purpose = "workspace", .object = w->p->id,
		.outcome = "created", .counts = counts,
	};
	if (!(rc = kdb_exec(w->db, w->what, "BEGIN IMMEDIATE", "begin", e)) &&
	    !(rc = fill_meta(w, o, e)) && !(rc = make_data_tables(w, e)) &&
	    !(rc = wskey_add_user(w, o->user,
				  1u << PROLE_ADMIN | 1u << PROLE_CUSTODIAN,
				  o->pass, o->pass_len, o->kdf, k, e)) &&
	    !(rc = audit_append(w, &a, NULL, e)) &&
	    !(rc = kdb_exec(w->db, w->what, "COMMIT", "commit", e)))
		rc = audit_sign(w, k->sign, o->user, e);
	wskey_free(k);
	if (!rc)
		rc = kdb_exec(w->db, w->what, "PRAGMA wal_checkpoint(TRUNCATE)",
			      "checkpoint", e);
	return rc;
}

int ws_create(const struct ws_create_opts *o, struct kerr *e)
{
	char tmp[PATH_MAX], parent[PATH_MAX];
	struct stat st;
	struct ws *w;
	int rc, n;

	kerr_clear(e);
	if (!o->dir || !o->dir[0] || !o->user || !o->user[0] ||
	    strlen(o->user) > WS_USER_MAX)
		return kerr_set(e, KERR_USAGE, "workspace",
				"a directory and a user name (at most %d bytes) "
				"are needed", WS_USER_MAX);
	if (lstat(o->dir, &st) == 0)
		return kerr_set(e, KERR_EXISTS, o->dir,
				"already exists: a workspace is made in a new "
				"directory");
	if (errno != ENOENT)
		return kerr_errno(e, errno, o->dir, "stat");
	if (!(w = ws_new(o->dir, e)))
		return KERR_NOMEM;
	if ((rc = load_protocol(w, o->protocol_text, o->protocol_len, e)))
		goto out;
	if (!protocol_keys_set(w->p)) {
		rc = kerr_set(e, KERR_POLICY, "protocol",
			      "the parties' public keys are not in the protocol "
			      "(kluis protocol set-keys)");
		goto out;
	}
	const uint8_t *identity = NULL;
	for (size_t i = 0; i < o->n_identities && !identity; i++) {
		uint8_t pk[32];
		agekey_public(o->identities + 32 * i, pk);
		if (sodium_memcmp(pk, w->p->recipient.age_pk, 32) == 0)
			identity = o->identities + 32 * i;
	}
	if (!identity) {
		rc = kerr_set(e, KERR_POLICY, "identity",
			      "not the recipient's key in protocol %s (%s)",
			      w->p->id, w->p->recipient.age_recipient);
		goto out;
	}
	n = snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", o->dir);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		rc = kerr_set(e, KERR_LIMIT, "workspace", "path too long");
		goto out;
	}
	if (!mkdtemp(tmp)) {
		rc = kerr_errno(e, errno, o->dir, "create directory");
		goto out;
	}
	if (chmod(tmp, 0700) != 0) {
		rc = kerr_errno(e, errno, o->dir, "chmod");
	} else if (!(rc = build(w, o, identity, tmp, e))) {
		sqlite3_close(w->db);
		w->db = NULL;
		parent_of(o->dir, parent);
		if ((rc = fsync_path(tmp, O_RDONLY | O_DIRECTORY, e)))
			;
		else if (rename(tmp, o->dir) != 0)
			rc = kerr_errno(e, errno, o->dir, "rename into place");
		else
			rc = fsync_path(parent, O_RDONLY | O_DIRECTORY, e);
	}
	if (rc) {
		if (w->db) {
			kdb_rollback(w->db);
			sqlite3_close(w->db);
			w->db = NULL;
		}
		remove_tree(tmp);
	}
out:
	ws_close(w);
	return rc;
}

/* ---- open ---------------------------------------------------------- */

static int check_private(const char *path, bool dir, struct kerr *e)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return kerr_set(e, KERR_USAGE, path,
					dir ? "no such workspace"
					    : "not a workspace (no " WS_DB_FILE ")");
		return kerr_errno(e, errno, path, "stat");
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return kerr_set(e, KERR_USAGE, path, dir ? "not a directory"
							 : "not a regular file");
	if (st.st_mode & 077)
		return kerr_set(e, KERR_USAGE, path,
				"accessible to group or others (mode %04o): a "
				"workspace must be private (chmod %s)",
				(unsigned)(st.st_mode & 07777), dir ? "700" : "600");
	return 0;
}

static int pinned_protocol(struct ws *w, struct kerr *e)
{
	char digest[PROTOCOL_DIGEST_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if ((rc = ws_meta_get(w, "protocol_digest", digest, sizeof digest, e)) ||
	    (rc = kdb_prep(w->db, w->what,
			   "SELECT text FROM protocol WHERE digest = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = kerr_set(e, KERR_FORMAT, w->what,
			      "damaged: the pinned protocol is missing");
	} else {
		rc = load_protocol(w, sqlite3_column_blob(st, 0),
				   (size_t)sqlite3_column_bytes(st, 0), e);
		if (!rc && strcmp(w->p->digest, digest) != 0)
			rc = kerr_set(e, KERR_FORMAT, w->what,
				      "the pinned protocol was changed (digest "
				      "%s, pinned %s)", w->p->digest, digest);
	}
	sqlite3_finalize(st);
	return rc;
}

int ws_open(const char *dir, struct ws **out, struct kerr *e)
{
	char path[PATH_MAX], hex[65];
	struct ws *w;
	int rc;

	kerr_clear(e);
	*out = NULL;
	if ((rc = check_private(dir, true, e)) || (rc = db_path(dir, path, e)) ||
	    (rc = check_private(path, false, e)))
		return rc;
	if (!(w = ws_new(dir, e)))
		return KERR_NOMEM;
	int64_t version = 0;
	if ((rc = open_db(w, path, e)) ||
	    (rc = kdb_int(w->db, w->what, "PRAGMA user_version", &version, e)))
		goto fail;
	if (version == 0) {
		/* Only ws_create makes a workspace; an empty or foreign file
		 * is not upgraded into one. */
		rc = kerr_set(e, KERR_FORMAT, path, "not a kluis workspace");
		goto fail;
	}
	if ((rc = kdb_migrate(w->db, w->what, &schema, e)) ||
	    (rc = ws_meta_get(w, "workspace_id", w->id, sizeof w->id, e)) ||
	    (rc = ws_meta_get(w, "audit_sign_pk", hex, sizeof hex, e)) ||
	    (rc = pinned_protocol(w, e)))
		goto fail;
	if (sodium_hex2bin(w->id_bin, sizeof w->id_bin, w->id, strlen(w->id),
			   NULL, NULL, NULL) != 0 ||
	    sodium_hex2bin(w->sign_pk, sizeof w->sign_pk, hex, strlen(hex), NULL,
			   NULL, NULL) != 0) {
		rc = kerr_set(e, KERR_FORMAT, w->what, "damaged: bad id or key");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	ws_close(w);
	return rc;
}

const struct protocol *ws_protocol(const struct ws *w)
{
	return w->p;
}

const char *ws_id(const struct ws *w)
{
	return w->id;
}

const char *ws_dir(const struct ws *w)
{
	return w->dir;
}

const uint8_t *ws_sign_pk(const struct ws *w)
{
	return w->sign_pk;
}

void ws_sign_pk_hex(const struct ws *w, char out[65])
{
	sodium_bin2hex(out, 65, w->sign_pk, 32);
}

int ws_check_sign_pk(const struct ws *w, const char *hex, struct kerr *e)
{
	uint8_t pk[32];
	size_t n;

	if (sodium_hex2bin(pk, sizeof pk, hex, strlen(hex), NULL, &n, NULL) != 0 ||
	    n != sizeof pk)
		return kerr_set(e, KERR_USAGE, "audit key",
				"not a key: 64 hexadecimal digits expected");
	if (sodium_memcmp(pk, w->sign_pk, sizeof pk) != 0)
		return kerr_set(e, KERR_SIGNATURE, "audit key",
				"the workspace's audit key is not the one given: "
				"the log may have been rewritten and re-signed");
	return 0;
}
