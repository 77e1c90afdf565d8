/*
 * ledger on the real file system, each case in a fresh directory under
 * /tmp: a new ledger is 0600 at the current schema; source keys resolve
 * exactly across chunk boundaries; the once rule refuses and supersedes;
 * abort, a dead exporter (before and after prepare) and a count mismatch
 * leave no entry and no package files; recovery spares a live exporter's
 * package; mail bookkeeping refuses a second start; a group-readable or
 * newer ledger is refused.  SQLite is used directly only to tamper.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kluis.h"
#include "fixtures.h"
#include "ledger.h"
#include "unit.h"

struct fx {
	char dir[64];
	char db[128];  /* the ledger */
	char out[128]; /* out_dir of the packages */
	struct ledger *l;
	mode_t old_umask;
};

static int fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/kluis-ledger-XXXXXX");
	f->old_umask = umask(022);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof f->db, "%s/%s", f->dir, LEDGER_FILE);
	snprintf(f->out, sizeof f->out, "%s/out", f->dir);
	return mkdir(f->out, 0700);
}

static void fx_done(struct fx *f)
{
	ledger_close(f->l);
	f->l = NULL;
	fixture_rm_tree(f->dir);
	umask(f->old_umask);
}

/* Each case runs its body in a fixture; the body may stop at a CHECK and
 * the fixture still goes. */
#define CASE(name)                                   \
	static void name##_body(struct fx *f);       \
	static void name(void)                       \
	{                                            \
		struct fx fx;                        \
		CHECK(fx_init(&fx) == 0);            \
		name##_body(&fx);                    \
		fx_done(&fx);                        \
	}                                            \
	static void name##_body(struct fx *f)

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void make_id(char id[LEDGER_ID_LEN + 1], unsigned n)
{
	snprintf(id, LEDGER_ID_LEN + 1, "%032x", n);
}

static void fill(struct ledger_package *p, unsigned n, const char *protocol,
		 const char *created_at, const char *out_dir)
{
	memset(p, 0, sizeof *p);
	make_id(p->id, n);
	snprintf(p->protocol_id, sizeof p->protocol_id, "%s", protocol);
	snprintf(p->protocol_version, sizeof p->protocol_version, "1.0");
	snprintf(p->protocol_digest, sizeof p->protocol_digest,
		 "sha256:%064d", 0);
	snprintf(p->created_at, sizeof p->created_at, "%s", created_at);
	snprintf(p->recipient, sizeof p->recipient, "age1qqqqexample");
	snprintf(p->discloser_key, sizeof p->discloser_key, "0123456789ABCDEF");
	snprintf(p->out_dir, sizeof p->out_dir, "%s", out_dir);
	snprintf(p->register_name, sizeof p->register_name, "register.csv");
	snprintf(p->register_digest, sizeof p->register_digest,
		 "blake2b:%064d", 1);
}

static void finish(struct ledger_package *p, uint64_t n)
{
	p->n_read = n + 3;
	p->n_selected = n;
	p->n_excluded = 2;
	p->n_rejected = 1;
	p->n_blanked = 7;
	snprintf(p->records_digest, sizeof p->records_digest, "blake2b:aa");
	snprintf(p->package_digest, sizeof p->package_digest, "blake2b:bb");
}

static int key_of(char *buf, size_t cap, uint64_t record)
{
	return snprintf(buf, cap, "D2019-%06" PRIu64, record);
}

/* begin, n keys, prepare, complete. */
static int export(struct ledger *l, struct ledger_package *p, uint64_t n,
		  bool once, const char *reason, struct ledger_package *prior,
		  struct kerr *e)
{
	char key[32];
	int rc;

	if ((rc = ledger_begin(l, p, once, reason, prior, e)))
		return rc;
	for (uint64_t i = 1; i <= n; i++) {
		int len = key_of(key, sizeof key, i);
		if ((rc = ledger_add_key(l, key, (size_t)len, e))) {
			ledger_abort(l);
			return rc;
		}
	}
	finish(p, n);
	if ((rc = ledger_prepare(l, p, e)) || (rc = ledger_complete(l, p->id, e)))
		ledger_abort(l);
	return rc;
}

static int user_version(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
		    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int touch(const char *dir, const char *id, const char *suffix)
{
	char p[256];
	int fd;

	snprintf(p, sizeof p, "%s/%s%s", dir, id, suffix);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static bool exists(const char *dir, const char *id, const char *suffix)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s%s", dir, id, suffix);
	return kfile_exists(p);
}

static const char *const suffixes[] = {
	".age", ".age.minisig", ".report.json", ".eml",
};

struct listed {
	int n;
	char ids[8][LEDGER_ID_LEN + 1];
};

static int collect(void *ctx, const struct ledger_package *p)
{
	struct listed *c = ctx;
	if (c->n < 8)
		memcpy(c->ids[c->n], p->id, LEDGER_ID_LEN + 1);
	c->n++;
	return 0;
}

static int stop_at_first(void *ctx, const struct ledger_package *p)
{
	(void)p;
	(*(int *)ctx)++;
	return 42;
}

CASE(create_mode_schema)
{
	struct kerr e;
	unsigned rec = 99;
	char wal[160];

	CHECK(ledger_open(f->db, &f->l, &rec, &e) == 0);
	CHECK(rec == 0);
	CHECK(mode_of(f->db) == 0600);
	/* SQLite gives its WAL the database's mode. */
	snprintf(wal, sizeof wal, "%s-wal", f->db);
	CHECK(mode_of(wal) == 0600);
	snprintf(wal, sizeof wal, "%s-shm", f->db);
	CHECK(mode_of(wal) == 0600);
	CHECK(user_version(f->db) == LEDGER_SCHEMA_VERSION);
	ledger_close(f->l);
	f->l = NULL;
	/* Reopening an up-to-date ledger changes nothing. */
	CHECK(ledger_open(f->db, &f->l, &rec, &e) == 0);
	CHECK(rec == 0 && user_version(f->db) == LEDGER_SCHEMA_VERSION);
	CHECK(mode_of(f->db) == 0600);
}

CASE(other_files_refused)
{
	struct kerr e;
	char p[160];
	int fd;

	/* Another SQLite database is not a ledger, and stays untouched. */
	snprintf(p, sizeof p, "%s/other.db", f->dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(tamper(p, "CREATE TABLE t (x)") == SQLITE_OK);
	CHECK(ledger_open(p, &f->l, NULL, &e) == KERR_FORMAT);
	CHECK(strstr(e.why, "not a kluis ledger") != NULL);
	CHECK(user_version(p) == 0);
	/* Nor is a text file. */
	snprintf(p, sizeof p, "%s/text", f->dir);
	CHECK(kfile_write(p, "hello, this is not a database at all\n", 37, 0600,
			  0, &e) == 0);
	CHECK(ledger_open(p, &f->l, NULL, &e) == KERR_FORMAT);
	CHECK(f->l == NULL);
	/* Nor a symlink to a ledger. */
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	ledger_close(f->l);
	f->l = NULL;
	snprintf(p, sizeof p, "%s/link.db", f->dir);
	CHECK(symlink(f->db, p) == 0);
	CHECK(ledger_open(p, &f->l, NULL, &e) != 0);
}

CASE(keys_resolve_across_chunks)
{
	struct ledger_package p, q;
	struct kerr e;
	char key[64], want[LEDGER_ID_LEN + 1];
	static const uint64_t probes[] = { 1, 2, 4095, 4096, 4097, 8192, 8193,
					   9999, 10000 };

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 1, "proto-a", "2026-11-29T10:11:12Z", f->out);
	CHECK(export(f->l, &p, 10000, false, NULL, NULL, &e) == 0);
	for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
		key_of(want, sizeof want, probes[i]);
		CHECK(ledger_resolve(f->l, p.id, probes[i], key, sizeof key,
				     &e) == 0);
		CHECK_STR(key, want);
	}
	CHECK(ledger_resolve(f->l, p.id, 0, key, sizeof key, &e) == KERR_USAGE);
	CHECK(ledger_resolve(f->l, p.id, 10001, key, sizeof key, &e) ==
	      KERR_USAGE);
	CHECK(strstr(e.why, "out of range") != NULL);
	CHECK(ledger_resolve(f->l, p.id, UINT64_MAX, key, sizeof key, &e) ==
	      KERR_USAGE);
	/* "D2019-000001" needs 13 bytes with its NUL. */
	CHECK(ledger_resolve(f->l, p.id, 1, key, 12, &e) == KERR_LIMIT);
	CHECK(ledger_resolve(f->l, p.id, 1, key, 13, &e) == 0);
	/* Unknown and malformed ids. */
	make_id(want, 2);
	CHECK(ledger_resolve(f->l, want, 1, key, sizeof key, &e) == KERR_USAGE);
	CHECK(strstr(e.why, "no such package") != NULL);
	CHECK(ledger_resolve(f->l, "ABC", 1, key, sizeof key, &e) == KERR_USAGE);

	/* The entry as stored, after a reopen. */
	ledger_close(f->l);
	f->l = NULL;
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	CHECK(ledger_get(f->l, p.id, &q, &e) == 0);
	CHECK_STR(q.state, "complete");
	CHECK_STR(q.protocol_id, "proto-a");
	CHECK_STR(q.protocol_digest, p.protocol_digest);
	CHECK_STR(q.created_at, "2026-11-29T10:11:12Z");
	CHECK_STR(q.recipient, p.recipient);
	CHECK_STR(q.discloser_key, p.discloser_key);
	CHECK_STR(q.out_dir, f->out);
	CHECK(q.n_read == 10003 && q.n_selected == 10000 && q.n_excluded == 2 &&
	      q.n_rejected == 1 && q.n_blanked == 7);
	CHECK_STR(q.records_digest, "blake2b:aa");
	CHECK_STR(q.package_digest, "blake2b:bb");
	CHECK_STR(q.register_name, "register.csv");
	CHECK_STR(q.register_digest, p.register_digest);
	CHECK(q.supersedes[0] == '\0' && q.supersede_reason[0] == '\0');
	CHECK(q.mail_state[0] == '\0' && q.mail_to[0] == '\0');
	key_of(want, sizeof want, 4097);
	CHECK(ledger_resolve(f->l, p.id, 4097, key, sizeof key, &e) == 0);
	CHECK_STR(key, want);
}

/* Long keys fill chunks by bytes before count; empty keys are keys. */
CASE(long_and_empty_keys)
{
	enum { N = 700, LEN = LEDGER_KEY_MAX };
	struct ledger_package p;
	struct kerr e;
	static char key[LEN + 1], got[LEN + 1];

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 5, "proto-long", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	for (int i = 1; i <= N; i++) {
		size_t len = i % 7 == 0 ? 0 : (size_t)(LEN - i % 3);
		for (size_t j = 0; j < len; j++)
			key[j] = (char)('a' + (i * 31 + (int)j * 7) % 26);
		CHECK(ledger_add_key(f->l, key, len, &e) == 0);
	}
	CHECK(ledger_keys_added(f->l) == N);
	finish(&p, N);
	CHECK(ledger_prepare(f->l, &p, &e) == 0);
	CHECK(ledger_complete(f->l, p.id, &e) == 0);
	/* Completing again is harmless. */
	CHECK(ledger_complete(f->l, p.id, &e) == 0);
	for (int i = 1; i <= N; i++) {
		size_t len = i % 7 == 0 ? 0 : (size_t)(LEN - i % 3);
		for (size_t j = 0; j < len; j++)
			key[j] = (char)('a' + (i * 31 + (int)j * 7) % 26);
		key[len] = '\0';
		CHECK(ledger_resolve(f->l, p.id, (uint64_t)i, got, sizeof got,
				     &e) == 0);
		CHECK(strlen(got) == len && memcmp(got, key, len) == 0);
	}
}

CASE(bad_input_refused)
{
	struct ledger_package p, bad;
	struct kerr e;
	char key[LEDGER_KEY_MAX + 2];

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 6, "proto-bad", "2026-11-29T10:11:12Z", f->out);
	bad = p;
	snprintf(bad.id, sizeof bad.id, "%032d", 0);
	bad.id[3] = 'A';
	CHECK(ledger_begin(f->l, &bad, false, NULL, NULL, &e) == KERR_USAGE);
	bad = p;
	snprintf(bad.created_at, sizeof bad.created_at, "29/11/2026");
	CHECK(ledger_begin(f->l, &bad, false, NULL, NULL, &e) == KERR_USAGE);
	bad = p;
	snprintf(bad.out_dir, sizeof bad.out_dir, "relative/out");
	CHECK(ledger_begin(f->l, &bad, false, NULL, NULL, &e) == KERR_USAGE);
	CHECK(ledger_begin(f->l, &p, false, "", NULL, &e) == KERR_USAGE);
	/* Keys without an export, then with NUL, then too long. */
	CHECK(ledger_add_key(f->l, "x", 1, &e) == KERR_USAGE);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == KERR_USAGE);
	CHECK(ledger_add_key(f->l, "a\0b", 3, &e) == KERR_USAGE);
	CHECK(ledger_add_key(f->l, "fine", 4, &e) == KERR_USAGE); /* dead */
	ledger_abort(f->l);
	memset(key, 'k', sizeof key);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	CHECK(ledger_add_key(f->l, key, LEDGER_KEY_MAX, &e) == 0);
	CHECK(ledger_add_key(f->l, key, LEDGER_KEY_MAX + 1, &e) == KERR_LIMIT);
	ledger_abort(f->l);
	/* The same id twice. */
	CHECK(export(f->l, &p, 3, false, NULL, NULL, &e) == 0);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == KERR_EXISTS);
	CHECK(ledger_complete(f->l, "0123", &e) == KERR_USAGE);
	make_id(bad.id, 77);
	CHECK(ledger_complete(f->l, bad.id, &e) == KERR_USAGE);
	CHECK(ledger_get(f->l, bad.id, &bad, &e) == KERR_USAGE);
	CHECK(strstr(e.why, "no such package") != NULL);
}

CASE(list_oldest_first_many_allowed)
{
	struct ledger_package p1, p2, p3;
	struct listed c = { 0 };
	struct kerr e;
	int calls = 0;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	CHECK(ledger_list(f->l, collect, &c, &e) == 0 && c.n == 0);
	/* A protocol that is not `once` takes any number of packages. */
	fill(&p1, 11, "proto-monthly", "2026-12-01T00:00:00Z", f->out);
	fill(&p2, 12, "proto-monthly", "2026-10-01T00:00:00Z", f->out);
	fill(&p3, 13, "proto-other", "2026-11-01T00:00:00Z", f->out);
	CHECK(export(f->l, &p1, 5, false, NULL, NULL, &e) == 0);
	CHECK(export(f->l, &p2, 6, false, NULL, NULL, &e) == 0);
	CHECK(export(f->l, &p3, 7, false, NULL, NULL, &e) == 0);
	CHECK(ledger_list(f->l, collect, &c, &e) == 0);
	CHECK(c.n == 3);
	CHECK_STR(c.ids[0], p2.id);
	CHECK_STR(c.ids[1], p3.id);
	CHECK_STR(c.ids[2], p1.id);
	CHECK(ledger_list(f->l, stop_at_first, &calls, &e) == 42 && calls == 1);
}

CASE(once_refuses_then_supersedes)
{
	struct ledger_package p1, p2, p3, prior, q;
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p1, 21, "proto-once", "2026-11-29T10:11:12Z", f->out);
	/* Nothing to supersede yet. */
	CHECK(ledger_begin(f->l, &p1, true, "correction", NULL, &e) ==
	      KERR_USAGE);
	CHECK(export(f->l, &p1, 10, true, NULL, NULL, &e) == 0);

	fill(&p2, 22, "proto-once", "2026-11-30T08:00:00Z", f->out);
	snprintf(p2.protocol_version, sizeof p2.protocol_version, "2.0");
	memset(&prior, 0, sizeof prior);
	CHECK(export(f->l, &p2, 10, true, NULL, &prior, &e) == KERR_EXISTS);
	CHECK_STR(prior.id, p1.id);
	CHECK_STR(prior.created_at, "2026-11-29T10:11:12Z");
	CHECK(strstr(e.why, p1.id) != NULL);
	/* The refused attempt left nothing. */
	CHECK(ledger_get(f->l, p2.id, &q, &e) == KERR_USAGE);

	CHECK(export(f->l, &p2, 10, true, "register had wrong phone numbers",
		     &prior, &e) == 0);
	CHECK(ledger_get(f->l, p2.id, &q, &e) == 0);
	CHECK_STR(q.supersedes, p1.id);
	CHECK_STR(q.supersede_reason, "register had wrong phone numbers");
	CHECK_STR(q.protocol_version, "2.0");
	CHECK(ledger_get(f->l, p1.id, &q, &e) == 0);
	CHECK(q.supersedes[0] == '\0');

	/* A third names the latest. */
	fill(&p3, 23, "proto-once", "2026-12-01T08:00:00Z", f->out);
	CHECK(export(f->l, &p3, 1, true, NULL, &prior, &e) == KERR_EXISTS);
	CHECK_STR(prior.id, p2.id);
	CHECK(export(f->l, &p3, 1, true, "again", NULL, &e) == 0);
	CHECK(ledger_get(f->l, p3.id, &q, &e) == 0);
	CHECK_STR(q.supersedes, p2.id);
}

CASE(abort_leaves_nothing)
{
	struct ledger_package p, q;
	struct listed c = { 0 };
	struct kerr e;
	char key[32];

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 31, "proto-once", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, true, NULL, NULL, &e) == 0);
	for (uint64_t i = 1; i <= 9000; i++) {
		int len = key_of(key, sizeof key, i);
		CHECK(ledger_add_key(f->l, key, (size_t)len, &e) == 0);
	}
	/* Visible inside the export's own transaction. */
	CHECK(ledger_resolve(f->l, p.id, 4097, key, sizeof key, &e) == 0);
	CHECK_STR(key, "D2019-004097");
	ledger_abort(f->l);
	ledger_abort(f->l); /* twice is fine */
	CHECK(ledger_list(f->l, collect, &c, &e) == 0 && c.n == 0);
	CHECK(ledger_resolve(f->l, p.id, 1, key, sizeof key, &e) == KERR_USAGE);
	CHECK(ledger_get(f->l, p.id, &q, &e) == KERR_USAGE);
	CHECK(ledger_prepare(f->l, &p, &e) == KERR_USAGE);
	/* The once rule does not count it, and the id is free again. */
	CHECK(export(f->l, &p, 4, true, NULL, NULL, &e) == 0);
}

CASE(prepare_refuses_count_mismatch)
{
	struct ledger_package p, q;
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 41, "proto-a", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	CHECK(ledger_add_key(f->l, "k1", 2, &e) == 0);
	CHECK(ledger_add_key(f->l, "k2", 2, &e) == 0);
	finish(&p, 3);
	CHECK(ledger_prepare(f->l, &p, &e) == KERR_USAGE);
	CHECK(strstr(e.why, "mismatch") != NULL);
	/* The export is dead until aborted. */
	CHECK(ledger_add_key(f->l, "k3", 2, &e) == KERR_USAGE);
	finish(&p, 2);
	CHECK(ledger_prepare(f->l, &p, &e) == KERR_USAGE);
	ledger_abort(f->l);
	CHECK(ledger_get(f->l, p.id, &q, &e) == KERR_USAGE);
	/* A prepare naming another package is refused too. */
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	q = p;
	make_id(q.id, 42);
	finish(&q, 0);
	CHECK(ledger_prepare(f->l, &q, &e) == KERR_USAGE);
	ledger_abort(f->l);
}

/* Run fn in a child that ends without closing; returns its wait status. */
static int in_child(int (*fn)(struct fx *), struct fx *f)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(f)); /* fn kills itself or exits here */
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static int child_building(struct fx *f)
{
	struct ledger *l;
	struct ledger_package p;
	struct kerr e;
	char key[32];

	if (ledger_open(f->db, &l, NULL, &e) != 0)
		return 10;
	fill(&p, 51, "proto-once", "2026-11-29T10:11:12Z", f->out);
	if (ledger_begin(l, &p, true, NULL, NULL, &e) != 0)
		return 11;
	for (uint64_t i = 1; i <= 5000; i++)
		if (ledger_add_key(l, key, (size_t)key_of(key, sizeof key, i),
				   &e) != 0)
			return 12;
	_exit(0); /* no prepare, no close */
}

CASE(dead_before_prepare_leaves_nothing)
{
	struct ledger_package q;
	struct listed c = { 0 };
	struct kerr e;
	char id[LEDGER_ID_LEN + 1];
	unsigned rec = 99;
	int st;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	ledger_close(f->l);
	f->l = NULL;
	st = in_child(child_building, f);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Its 'building' row and the keys committed so far are rolled
	 * back by the next exclusive open. */
	CHECK(ledger_open(f->db, &f->l, &rec, &e) == 0);
	CHECK(rec == 1);
	make_id(id, 51);
	CHECK(ledger_get(f->l, id, &q, &e) == KERR_USAGE);
	CHECK(ledger_list(f->l, collect, &c, &e) == 0 && c.n == 0);
}

static int child_pending(struct fx *f)
{
	struct ledger *l;
	struct ledger_package p;
	struct kerr e;
	char key[32];

	if (ledger_open(f->db, &l, NULL, &e) != 0)
		return 10;
	fill(&p, 61, "proto-once", "2026-11-29T10:11:12Z", f->out);
	if (ledger_begin(l, &p, true, NULL, NULL, &e) != 0)
		return 11;
	for (uint64_t i = 1; i <= 5000; i++)
		if (ledger_add_key(l, key, (size_t)key_of(key, sizeof key, i),
				   &e) != 0)
			return 12;
	finish(&p, 5000);
	if (ledger_prepare(l, &p, &e) != 0)
		return 13;
	/* The files are linked into out_dir, then kill -9. */
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
		if (touch(f->out, p.id, suffixes[i]) != 0)
			return 14;
	raise(SIGKILL);
	return 15;
}

CASE(dead_after_prepare_is_recovered)
{
	struct ledger_package q, p;
	struct kerr e;
	char id[LEDGER_ID_LEN + 1], other[LEDGER_ID_LEN + 1];
	unsigned rec = 0;
	int st;

	make_id(id, 61);
	make_id(other, 62);
	/* A file of another package must survive. */
	CHECK(touch(f->out, other, ".age") == 0);
	st = in_child(child_pending, f);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
		CHECK(exists(f->out, id, suffixes[i]));
	CHECK(ledger_open(f->db, &f->l, &rec, &e) == 0);
	CHECK(rec == 1);
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
		CHECK(!exists(f->out, id, suffixes[i]));
	CHECK(exists(f->out, other, ".age"));
	CHECK(ledger_get(f->l, id, &q, &e) == KERR_USAGE);
	/* And the once rule is free for a new export. */
	fill(&p, 63, "proto-once", "2026-11-29T11:00:00Z", f->out);
	CHECK(export(f->l, &p, 2, true, NULL, NULL, &e) == 0);
	ledger_close(f->l);
	f->l = NULL;
	CHECK(ledger_open(f->db, &f->l, &rec, &e) == 0 && rec == 0);
}

/* A second handle must not roll back the first one's pending package. */
CASE(recovery_spares_live_exporter)
{
	struct ledger *b = NULL;
	struct ledger_package p, q, prior;
	struct kerr e;
	unsigned rec = 99;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 71, "proto-once", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, true, NULL, NULL, &e) == 0);
	CHECK(ledger_add_key(f->l, "k", 1, &e) == 0);
	finish(&p, 1);
	CHECK(ledger_prepare(f->l, &p, &e) == 0);
	CHECK(touch(f->out, p.id, ".age") == 0);

	CHECK(ledger_open(f->db, &b, &rec, &e) == 0);
	CHECK(rec == 0);
	CHECK(ledger_get(b, p.id, &q, &e) == 0);
	CHECK_STR(q.state, "pending");
	CHECK(exists(f->out, p.id, ".age"));
	/* While pending, a once protocol takes no other package, reason or
	 * not. */
	fill(&q, 72, "proto-once", "2026-11-29T10:12:00Z", f->out);
	CHECK(ledger_begin(b, &q, true, "why not", &prior, &e) == KERR_EXISTS);
	CHECK_STR(prior.id, p.id);
	CHECK_STR(prior.state, "pending");
	ledger_close(b);

	CHECK(ledger_complete(f->l, p.id, &e) == 0);
	CHECK(ledger_get(f->l, p.id, &q, &e) == 0);
	CHECK_STR(q.state, "complete");
}

/* A live export's keys are committed in batches under its 'building'
 * row: another handle sees the row but does not roll it back; abort
 * deletes the row and its keys, and the once rule is free again. */
CASE(building_row_of_a_live_export)
{
	struct ledger *b = NULL;
	struct ledger_package p, q;
	struct kerr e;
	unsigned rec = 99;
	char key[32];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n_rows = -1;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 81, "proto-once", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, true, NULL, NULL, &e) == 0);
	/* More than a batch of chunks (32 × 4096 keys). */
	for (uint64_t i = 1; i <= 140000; i++)
		CHECK(ledger_add_key(f->l, key,
				     (size_t)key_of(key, sizeof key, i),
				     &e) == 0);
	CHECK(ledger_open(f->db, &b, &rec, &e) == 0);
	CHECK(rec == 0);
	CHECK(ledger_get(b, p.id, &q, &e) == 0);
	CHECK_STR(q.state, "building");
	ledger_close(b);
	/* A batch is committed: another connection counts its chunks. */
	CHECK(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL) ==
	      SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM record_keys", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n_rows = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	CHECK(n_rows >= 32);
	ledger_abort(f->l);
	n_rows = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM record_keys", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n_rows = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(n_rows == 0);
	CHECK(ledger_get(f->l, p.id, &q, &e) == KERR_USAGE);
	/* The once rule is free again. */
	fill(&q, 82, "proto-once", "2026-11-29T10:12:00Z", f->out);
	CHECK(export(f->l, &q, 2, true, NULL, NULL, &e) == 0);
}

/* Abort after prepare takes the package back, files included. */
CASE(abort_after_prepare_discards)
{
	struct ledger_package p, q;
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 81, "proto-a", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	finish(&p, 0);
	CHECK(ledger_prepare(f->l, &p, &e) == 0);
	CHECK(touch(f->out, p.id, ".age") == 0);
	CHECK(touch(f->out, p.id, ".age.minisig") == 0);
	ledger_abort(f->l);
	CHECK(!exists(f->out, p.id, ".age"));
	CHECK(!exists(f->out, p.id, ".age.minisig"));
	CHECK(ledger_get(f->l, p.id, &q, &e) == KERR_USAGE);

	/* ledger_discard: pending yes, complete no. */
	make_id(p.id, 82);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	CHECK(ledger_prepare(f->l, &p, &e) == 0);
	CHECK(touch(f->out, p.id, ".report.json") == 0);
	CHECK(ledger_discard(f->l, p.id, &e) == 0);
	CHECK(!exists(f->out, p.id, ".report.json"));
	CHECK(ledger_get(f->l, p.id, &q, &e) == KERR_USAGE);
	make_id(p.id, 83);
	CHECK(export(f->l, &p, 0, false, NULL, NULL, &e) == 0);
	CHECK(touch(f->out, p.id, ".age") == 0);
	CHECK(ledger_discard(f->l, p.id, &e) == KERR_USAGE);
	ledger_abort(f->l);
	CHECK(exists(f->out, p.id, ".age"));
	CHECK(ledger_get(f->l, p.id, &q, &e) == 0);
}

CASE(mail_transitions)
{
	struct ledger_package p, q;
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	fill(&p, 91, "proto-a", "2026-11-29T10:11:12Z", f->out);
	CHECK(ledger_begin(f->l, &p, false, NULL, NULL, &e) == 0);
	finish(&p, 0);
	CHECK(ledger_prepare(f->l, &p, &e) == 0);
	/* Not before the package is complete. */
	CHECK(ledger_mail_started(f->l, p.id, "dpo@example.org", false, &e) ==
	      KERR_USAGE);
	CHECK(ledger_complete(f->l, p.id, &e) == 0);
	CHECK(ledger_mail_sent(f->l, p.id, &e) == KERR_USAGE);
	CHECK(ledger_mail_started(f->l, p.id, "", false, &e) == KERR_USAGE);
	CHECK(ledger_mail_started(f->l, p.id, "dpo@example.org", false, &e) ==
	      0);
	CHECK(ledger_get(f->l, p.id, &q, &e) == 0);
	CHECK_STR(q.mail_state, "started");
	CHECK_STR(q.mail_to, "dpo@example.org");
	CHECK(strlen(q.mail_started_at) == 20 && q.mail_sent_at[0] == '\0');
	/* A crash after this point must not mail twice. */
	CHECK(ledger_mail_started(f->l, p.id, "dpo@example.org", false, &e) ==
	      KERR_EXISTS);
	CHECK(strstr(e.why, "started") != NULL);
	CHECK(ledger_mail_started(f->l, p.id, "other@example.org", true, &e) ==
	      0);
	CHECK(ledger_mail_sent(f->l, p.id, &e) == 0);
	CHECK(ledger_get(f->l, p.id, &q, &e) == 0);
	CHECK_STR(q.mail_state, "sent");
	CHECK_STR(q.mail_to, "other@example.org");
	CHECK(strlen(q.mail_sent_at) == 20);
	CHECK(ledger_mail_sent(f->l, p.id, &e) == KERR_EXISTS);
	CHECK(ledger_mail_started(f->l, p.id, "dpo@example.org", false, &e) ==
	      KERR_EXISTS);
	CHECK(strstr(e.why, "sent") != NULL);
	make_id(q.id, 92);
	CHECK(ledger_mail_started(f->l, q.id, "dpo@example.org", false, &e) ==
	      KERR_USAGE);
}

CASE(group_readable_refused)
{
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	ledger_close(f->l);
	f->l = NULL;
	CHECK(chmod(f->db, 0640) == 0);
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == KERR_USAGE);
	CHECK(f->l == NULL);
	CHECK(strstr(e.why, "chmod 600") != NULL);
	CHECK(chmod(f->db, 0604) == 0);
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == KERR_USAGE);
	CHECK(chmod(f->db, 0600) == 0);
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
}

CASE(newer_schema_refused)
{
	struct kerr e;

	CHECK(ledger_open(f->db, &f->l, NULL, &e) == 0);
	ledger_close(f->l);
	f->l = NULL;
	CHECK(tamper(f->db, "PRAGMA user_version = 2") == SQLITE_OK);
	CHECK(ledger_open(f->db, &f->l, NULL, &e) == KERR_FORMAT);
	CHECK(strstr(e.why, "newer") != NULL);
	CHECK(f->l == NULL);
	CHECK(user_version(f->db) == 2);
}

static void default_path(void)
{
	struct kerr e;
	char out[64];

	CHECK(ledger_default_path("/home/d/keys/discloser.age.key", out,
				  sizeof out, &e) == 0);
	CHECK_STR(out, "/home/d/keys/kluis-ledger.db");
	CHECK(ledger_default_path("discloser.age.key", out, sizeof out, &e) == 0);
	CHECK_STR(out, "./kluis-ledger.db");
	CHECK(ledger_default_path("/k", out, sizeof out, &e) == 0);
	CHECK_STR(out, "/kluis-ledger.db");
	CHECK(ledger_default_path("keys/k", out, sizeof out, &e) == 0);
	CHECK_STR(out, "keys/kluis-ledger.db");
	CHECK(ledger_default_path("", out, sizeof out, &e) == KERR_USAGE);
	CHECK(ledger_default_path("keys/", out, sizeof out, &e) == KERR_USAGE);
	CHECK(ledger_default_path("/a/very/long/directory/name/that/does/not/fit/here/k",
				  out, sizeof out, &e) == KERR_LIMIT);
	CHECK(out[0] == '\0');
}

const struct unit_case suite_ledger[] = {
	{ "ledger_create: new file 0600, wal 0600, schema version", create_mode_schema },
	{ "ledger_create: other databases, text, symlinks refused", other_files_refused },
	{ "ledger_keys: 10 000 keys resolve across chunks", keys_resolve_across_chunks },
	{ "ledger_keys: long keys fill chunks by bytes, empty keys", long_and_empty_keys },
	{ "ledger_begin: bad ids, dates, keys, duplicates refused", bad_input_refused },
	{ "ledger_list: oldest first, non-once allows many", list_oldest_first_many_allowed },
	{ "ledger_once: refusal names prior, supersede recorded", once_refuses_then_supersedes },
	{ "ledger_abort: leaves nothing", abort_leaves_nothing },
	{ "ledger_prepare: count mismatch refused", prepare_refuses_count_mismatch },
	{ "ledger_crash: dead before prepare leaves nothing", dead_before_prepare_leaves_nothing },
	{ "ledger_crash: dead after prepare is rolled back", dead_after_prepare_is_recovered },
	{ "ledger_crash: recovery spares a live exporter", recovery_spares_live_exporter },
	{ "ledger_begin: a live export's building row, keys in batches",
	  building_row_of_a_live_export },
	{ "ledger_abort: after prepare discards files and row", abort_after_prepare_discards },
	{ "ledger_mail: transitions, double start refused", mail_transitions },
	{ "ledger_mode: group/other-accessible ledger refused", group_readable_refused },
	{ "ledger_schema: newer version refused", newer_schema_refused },
	{ "ledger_path: default next to the key", default_path },
	{ NULL, NULL },
};
