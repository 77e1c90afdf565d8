/*
 * kfile and keygen on the real file system, in a fresh directory under
 * /tmp: an output appears only at commit, never half-written; abort leaves
 * nothing behind, not even a temporary; KFILE_NO_REPLACE never replaces;
 * keygen writes its four files with the right modes, all or none, and what
 * it writes loads back consistently.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "kluis.h"
#include "unit.h"

#define OPS 32768ull
#define MEM (16u << 20)

/* Entries of dir other than . and ..; the first name into first. */
static int entries(const char *dir, char *first, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	if (first && cap)
		first[0] = '\0';
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n++ == 0 && first && cap) {
			size_t l = strlen(de->d_name);
			if (l >= cap)
				l = cap - 1;
			memcpy(first, de->d_name, l);
			first[l] = '\0';
		}
	}
	closedir(d);
	return n;
}

static int read_all(const char *path, struct kbuf *b)
{
	struct kerr e;
	kbuf_reset(b);
	return kfile_read(path, b, &e);
}

static int mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

struct tmpdir {
	char path[64];
	mode_t old_umask;
};

static int tmpdir_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof t->path, "/tmp/kluis-unit-XXXXXX");
	t->old_umask = umask(022);
	return mkdtemp(t->path) ? 0 : -1;
}

static void tmpdir_done(struct tmpdir *t)
{
	fixture_rm_tree(t->path);
	umask(t->old_umask);
}

static void appears_only_at_commit(void)
{
	struct tmpdir t;
	struct kfile_out o;
	struct kbuf b = KBUF_INIT(1 << 20);
	struct kerr e;
	char path[128], name[64];
	int ok = 0, n_during = -1, n_after = -1, seen = -1, mode = -1;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(path, sizeof path, "%s/out.txt", t.path);
	if (kfile_out_open(&o, path, 0640, 0, &e) == 0) {
		ok = o.sink.base.write(&o.sink.base, (const uint8_t *)"hello\n",
				       6, &e) == 0;
		/* Nothing under the final name yet, and whatever temporary
		 * exists is hidden. */
		seen = access(path, F_OK);
		n_during = entries(t.path, name, sizeof name);
		if (n_during == 1 && name[0] != '.')
			ok = 0;
		ok = ok && kfile_out_commit(&o, &e) == 0;
		n_after = entries(t.path, name, sizeof name);
		mode = mode_of(path);
		ok = ok && read_all(path, &b) == 0 && b.len == 6 &&
		     memcmp(b.p, "hello\n", 6) == 0 && !strcmp(name, "out.txt");
	}
	tmpdir_done(&t);
	kbuf_free(&b);
	CHECK(seen == -1);
	CHECK(n_during == 0 || n_during == 1);
	CHECK(ok);
	CHECK(n_after == 1);
	CHECK(mode == 0640); /* 0640 & ~022 */
}

static void abort_leaves_nothing(void)
{
	struct tmpdir t;
	struct kfile_out o, z;
	struct kerr e;
	char path[128];
	int n = -1, opened = 0;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(path, sizeof path, "%s/out.bin", t.path);
	if (kfile_out_open(&o, path, 0600, 0, &e) == 0) {
		uint8_t buf[100000];
		memset(buf, 7, sizeof buf);
		opened = 1;
		o.sink.base.write(&o.sink.base, buf, sizeof buf, &e);
		kfile_out_abort(&o);
		n = entries(t.path, NULL, 0);
	}
	/* Abort is safe on a zeroed struct. */
	memset(&z, 0, sizeof z);
	z.fd = -1;
	kfile_out_abort(&z);
	tmpdir_done(&t);
	CHECK(opened);
	CHECK(n == 0);
}

static void no_replace_refuses_existing(void)
{
	struct tmpdir t;
	struct kfile_out o;
	struct kbuf b = KBUF_INIT(4096);
	struct kerr e;
	char path[128];
	int rc_open = -1, rc_commit = -1, rc_write = -1, n = -1, same = 0;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(path, sizeof path, "%s/key", t.path);
	if (kfile_write(path, "original", 8, 0600, 0, &e) == 0) {
		/* At open. */
		rc_open = kfile_out_open(&o, path, 0600, KFILE_NO_REPLACE, &e);
		if (rc_open == 0)
			kfile_out_abort(&o);
		/* kfile_write too. */
		rc_write = kfile_write(path, "new", 3, 0600, KFILE_NO_REPLACE, &e);
		same = read_all(path, &b) == 0 && b.len == 8 &&
		       memcmp(b.p, "original", 8) == 0;
	}
	/* Created by someone else between open and commit. */
	unlink(path);
	if (kfile_out_open(&o, path, 0600, KFILE_NO_REPLACE, &e) == 0) {
		o.sink.base.write(&o.sink.base, (const uint8_t *)"mine", 4, &e);
		kfile_write(path, "theirs", 6, 0644, 0, &e);
		rc_commit = kfile_out_commit(&o, &e);
		n = entries(t.path, NULL, 0);
		same = same && read_all(path, &b) == 0 && b.len == 6 &&
		       memcmp(b.p, "theirs", 6) == 0;
	}
	tmpdir_done(&t);
	kbuf_free(&b);
	CHECK(rc_open == KERR_EXISTS);
	CHECK(rc_write == KERR_EXISTS);
	CHECK(rc_commit == KERR_EXISTS);
	CHECK(same);
	CHECK(n == 1); /* no temporary left behind */
}

static void replace_is_atomic_swap(void)
{
	struct tmpdir t;
	struct kfile_out o;
	struct kbuf b = KBUF_INIT(4096);
	struct kerr e;
	char path[128];
	int old_during = 0, new_after = 0, n = -1;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(path, sizeof path, "%s/f", t.path);
	if (kfile_write(path, "old", 3, 0644, 0, &e) == 0 &&
	    kfile_out_open(&o, path, 0644, 0, &e) == 0) {
		o.sink.base.write(&o.sink.base, (const uint8_t *)"new!", 4, &e);
		old_during = read_all(path, &b) == 0 && b.len == 3 &&
			     memcmp(b.p, "old", 3) == 0;
		if (kfile_out_commit(&o, &e) == 0)
			new_after = read_all(path, &b) == 0 && b.len == 4 &&
				    memcmp(b.p, "new!", 4) == 0;
		n = entries(t.path, NULL, 0);
	}
	tmpdir_done(&t);
	kbuf_free(&b);
	CHECK(old_during);
	CHECK(new_after);
	CHECK(n == 1);
}

static void read_limits_and_exists(void)
{
	struct tmpdir t;
	struct kbuf small = KBUF_INIT(10), big = KBUF_INIT(100);
	struct kerr e;
	char path[128], link_path[128];
	int rc_small = -1, rc_big = -1, dangling = 0, missing = 1, rc_nodir = 0;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(path, sizeof path, "%s/eleven", t.path);
	snprintf(link_path, sizeof link_path, "%s/dangling", t.path);
	if (kfile_write(path, "0123456789A", 11, 0644, 0, &e) == 0) {
		rc_small = kfile_read(path, &small, &e);
		rc_big = kfile_read(path, &big, &e);
	}
	if (symlink("/nonexistent/kluis", link_path) == 0)
		dangling = kfile_exists(link_path);
	missing = kfile_exists("/nonexistent/kluis");
	/* A directory that does not exist: an I/O error, nothing created. */
	rc_nodir = kfile_write("/nonexistent/kluis/dir/f", "x", 1, 0600, 0, &e);
	tmpdir_done(&t);
	CHECK(rc_small == KERR_LIMIT);
	CHECK(rc_big == 0 && big.len == 11 && memcmp(big.p, "0123456789A", 11) == 0);
	CHECK(dangling);
	CHECK(!missing);
	CHECK(rc_nodir == KERR_IO);
	kbuf_free(&small);
	kbuf_free(&big);
}

/* ------------------------------------------------------------------ */

static void keygen_paths(void)
{
	char b[64];

	CHECK_STR(keygen_path("/x/alice", 0, b, sizeof b), "/x/alice.age.key");
	CHECK_STR(keygen_path("/x/alice", 1, b, sizeof b),
		  "/x/alice.minisign.key");
	CHECK_STR(keygen_path("/x/alice", 2, b, sizeof b),
		  "/x/alice.minisign.pub");
	CHECK_STR(keygen_path("/x/alice", 3, b, sizeof b), "/x/alice.pub");
}

/* Load everything keygen wrote under prefix and check it against pub;
 * returns 0 or the number of the failed step. */
static int check_keyset(const char *prefix, const struct pubfile *pub,
			const char *pass)
{
	char p[KEYGEN_FILES][256], rc_line[80];
	struct agekey_ids ids;
	struct ms_seckey_file f;
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey mpk, spk;
	struct pubfile lp;
	struct kbuf txt = KBUF_INIT(4096);
	struct kerr e;
	uint8_t apk[32];
	char rcpt[AGE_RECIPIENT_LEN + 1];
	int step = 0;

	for (int i = 0; i < KEYGEN_FILES; i++)
		keygen_path(prefix, i, p[i], sizeof p[i]);
	agekey_ids_init(&ids);
	if (!sk)
		step = 1;
	else if (agekey_ids_load(&ids, p[0], &e) != 0 || ids.n != 1)
		step = 2;
	else if ((agekey_public(ids.sk, apk), memcmp(apk, pub->age, 32)) != 0)
		step = 3;
	else if (ms_seckey_file_load(p[1], &f, &e) != 0 ||
		 f.encrypted != (pass != NULL))
		step = 4;
	else if (ms_seckey_open(&f, pass, pass ? strlen(pass) : 0, sk, &e) != 0)
		step = 5;
	else if ((ms_seckey_public(sk, &spk),
		  memcmp(&spk, &pub->ms, sizeof spk)) != 0)
		step = 6;
	else if (ms_pubkey_load(p[2], &mpk, &e) != 0 ||
		 memcmp(&mpk, &pub->ms, sizeof mpk) != 0)
		step = 7;
	else if (pubfile_load(p[3], &lp, &e) != 0 ||
		 memcmp(lp.age, pub->age, 32) != 0 ||
		 memcmp(&lp.ms, &pub->ms, sizeof lp.ms) != 0 ||
		 strcmp(lp.label, pub->label) != 0 ||
		 strcmp(lp.created, pub->created) != 0)
		step = 8;
	else if (agekey_recipient_encode(pub->age, rcpt, sizeof rcpt) != 0 ||
		 kfile_read(p[0], &txt, &e) != 0 ||
		 (snprintf(rc_line, sizeof rc_line, "# public key: %s\n", rcpt),
		  !strstr((const char *)txt.p, rc_line)))
		step = 9;
	/* The two key pairs work together: sign with the secret key,
	 * verify with the public key file's key. */
	if (!step) {
		struct kbuf sig = KBUF_INIT(4096);
		struct ms_sig s;
		uint8_t h[64];
		crypto_generichash(h, 64, (const uint8_t *)"m", 1, NULL, 0);
		if (ms_sign(sk, true, h, 64, "t", "u", &sig, &e) != 0 ||
		    ms_sig_parse((const char *)sig.p, sig.len, &s, &e) != 0 ||
		    ms_verify(&lp.ms, &s, h, 64, &e) != 0)
			step = 10;
		kbuf_free(&sig);
	}
	sodium_memzero(&f, sizeof f);
	kbuf_free(&txt);
	agekey_ids_free(&ids);
	ms_seckey_free(sk);
	return step;
}

static void keygen_writes_four_files(void)
{
	struct tmpdir t;
	struct keygen_opts o = { 0 };
	struct pubfile pub;
	struct kerr e;
	char prefix[128], p[KEYGEN_FILES][256];
	int rc = -1, modes[KEYGEN_FILES] = { 0 }, step = -1, n = -1;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(prefix, sizeof prefix, "%s/alice", t.path);
	o.prefix = prefix;
	o.passphrase = "keygen pass";
	o.passphrase_len = strlen(o.passphrase);
	o.opslimit = OPS;
	o.memlimit = MEM;
	rc = keygen_write(&o, &pub, &e);
	for (int i = 0; i < KEYGEN_FILES; i++) {
		keygen_path(prefix, i, p[i], sizeof p[i]);
		modes[i] = mode_of(p[i]);
	}
	if (rc == 0)
		step = check_keyset(prefix, &pub, "keygen pass");
	n = entries(t.path, NULL, 0);
	tmpdir_done(&t);
	CHECK(rc == 0);
	CHECK(modes[0] == 0600 && modes[1] == 0600);
	CHECK(modes[2] == 0644 && modes[3] == 0644);
	if (step)
		printf("# key set check failed at step %d\n", step);
	CHECK(step == 0);
	CHECK(n == KEYGEN_FILES);
	CHECK_STR(pub.label, "alice"); /* the prefix's base name */
	CHECK(strlen(pub.created) == 20 && pub.created[19] == 'Z');
}

static void keygen_unencrypted_with_label(void)
{
	struct tmpdir t;
	struct keygen_opts o = { 0 };
	struct pubfile pub;
	struct kerr e;
	char prefix[128];
	int rc, step = -1;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(prefix, sizeof prefix, "%s/bob", t.path);
	o.prefix = prefix;
	o.label = "SERV – Stichting Innovatie & Arbeid";
	rc = keygen_write(&o, &pub, &e);
	if (rc == 0)
		step = check_keyset(prefix, &pub, NULL);
	tmpdir_done(&t);
	CHECK(rc == 0);
	CHECK(step == 0);
	CHECK_STR(pub.label, "SERV – Stichting Innovatie & Arbeid");
	/* A label with a line break is refused before anything is written. */
	CHECK(tmpdir_make(&t) == 0);
	snprintf(prefix, sizeof prefix, "%s/bob", t.path);
	o.label = "two\nlines";
	rc = keygen_write(&o, &pub, &e);
	step = entries(t.path, NULL, 0);
	tmpdir_done(&t);
	CHECK(rc == KERR_USAGE);
	CHECK(step == 0);
}

static void keygen_all_or_none(void)
{
	for (int which = 0; which < KEYGEN_FILES; which++) {
		struct tmpdir t;
		struct keygen_opts o = { 0 };
		struct pubfile pub;
		struct kbuf b = KBUF_INIT(4096);
		struct kerr e;
		char prefix[128], p[KEYGEN_FILES][256];
		int rc = -1, others = 0, kept = 0, n = -1;

		CHECK(tmpdir_make(&t) == 0);
		snprintf(prefix, sizeof prefix, "%s/carol", t.path);
		for (int i = 0; i < KEYGEN_FILES; i++)
			keygen_path(prefix, i, p[i], sizeof p[i]);
		if (kfile_write(p[which], "keep me", 7, 0600, 0, &e) == 0) {
			o.prefix = prefix;
			rc = keygen_write(&o, &pub, &e);
			for (int i = 0; i < KEYGEN_FILES; i++)
				if (i != which && kfile_exists(p[i]))
					others++;
			kept = read_all(p[which], &b) == 0 && b.len == 7 &&
			       memcmp(b.p, "keep me", 7) == 0;
			n = entries(t.path, NULL, 0);
		}
		tmpdir_done(&t);
		kbuf_free(&b);
		if (rc != KERR_EXISTS || others || !kept || n != 1)
			printf("# existing file %d: rc %d others %d kept %d n %d\n",
			       which, rc, others, kept, n);
		CHECK(rc == KERR_EXISTS);
		CHECK(others == 0);
		CHECK(kept);
		CHECK(n == 1);
	}
}

static void keygen_failure_midway_removes_written(void)
{
	/* A base name of 245 bytes: PREFIX.age.key (253) can be created,
	 * PREFIX.minisign.key (258) is longer than NAME_MAX, so writing
	 * fails after the first file; that file must be removed again. */
	struct tmpdir t;
	struct keygen_opts o = { 0 };
	struct pubfile pub;
	struct kerr e;
	char prefix[512];
	size_t l;
	int rc, n;

	CHECK(tmpdir_make(&t) == 0);
	l = (size_t)snprintf(prefix, sizeof prefix, "%s/", t.path);
	memset(prefix + l, 'k', 245);
	prefix[l + 245] = '\0';
	o.prefix = prefix;
	rc = keygen_write(&o, &pub, &e);
	n = entries(t.path, NULL, 0);
	tmpdir_done(&t);
	CHECK(rc != 0 && rc != KERR_EXISTS);
	CHECK(n == 0);
}

static void keygen_then_age_round_trip(void)
{
	/* The age identity written by keygen decrypts what is encrypted to
	 * the recipient in its .pub. */
	struct tmpdir t;
	struct keygen_opts o = { 0 };
	struct pubfile pub, lp;
	struct agekey_ids ids;
	struct kerr e;
	struct kbuf c = KBUF_INIT(1 << 20), out = KBUF_INIT(1 << 20);
	struct kbuf_sink sink;
	struct kmem_src src;
	struct age_recipients r = { 0 };
	struct age_identities id = { 0 };
	struct age_enc *enc;
	struct age_dec *d;
	char prefix[128], p0[256], p3[256];
	int ok = 0;

	CHECK(tmpdir_make(&t) == 0);
	snprintf(prefix, sizeof prefix, "%s/dave", t.path);
	o.prefix = prefix;
	agekey_ids_init(&ids);
	if (keygen_write(&o, &pub, &e) == 0 &&
	    pubfile_load(keygen_path(prefix, 3, p3, sizeof p3), &lp, &e) == 0 &&
	    agekey_ids_load(&ids, keygen_path(prefix, 0, p0, sizeof p0), &e) == 0) {
		kbuf_sink_init(&sink, &c);
		r.x25519 = (const uint8_t(*)[32])&lp.age;
		r.n_x25519 = 1;
		if (age_enc_begin(&enc, &r, false, &sink.base, &e) == 0) {
			ok = age_enc_write(enc, "to dave", 7, &e) == 0 &&
			     age_enc_finish(enc, &e) == 0;
			age_enc_free(enc);
		}
		id.x25519 = ids.sk;
		id.n_x25519 = ids.n;
		kmem_src_init(&src, c.p, c.len);
		if (ok && age_dec_begin(&d, &src.base, &id, &e) == 0) {
			ok = ksrc_slurp(age_dec_src(d), &out, &e) == 0 &&
			     out.len == 7 && memcmp(out.p, "to dave", 7) == 0;
			age_dec_free(d);
		} else {
			ok = 0;
		}
	}
	agekey_ids_free(&ids);
	tmpdir_done(&t);
	kbuf_free(&c);
	kbuf_free(&out);
	CHECK(ok);
}

/* Whether files in dir take O_DIRECT (ext4 does; tmpfs before Linux 6.6
 * does not). */
static bool dir_takes_direct(const char *dir)
{
	char p[128];
	int fd;

	snprintf(p, sizeof p, "%s/.probe", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_DIRECT, 0600);
	if (fd >= 0)
		close(fd);
	unlink(p);
	return fd >= 0;
}

/* Whether fd has O_DIRECT now, from /proc/self/fdinfo. */
static bool fd_is_direct(int fd)
{
	char p[64], line[128];
	unsigned long fl = 0;
	FILE *f;

	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(p, "r")))
		return false;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "flags: %lo", &fl) == 1)
			break;
	fclose(f);
	return (fl & O_DIRECT) != 0;
}

/*
 * A large output goes through the writer thread: writes of odd sizes and
 * reserve/commit mixed, so buffers end in the middle of a page and the
 * partial page is carried (O_DIRECT) or not (buffered).  The file and the
 * hash taken on the writer thread must be exactly the bytes written, and
 * with a filesystem that takes O_DIRECT the writer must be using it.
 */
static void large_output_exact(bool direct, unsigned depth)
{
	struct tmpdir t;
	struct kfile_out o;
	struct kbuf b = KBUF_INIT(64u << 20);
	struct kerr e;
	crypto_generichash_state st, ref;
	uint8_t h[64], hr[64], *src = malloc(24u << 20);
	size_t total = 0, size = (21u << 20) + 4093;
	uint32_t x = 12345;
	char path[128];
	int ok = 0, saw_direct = 0;
	bool fs_direct = false;

	if (!src || tmpdir_make(&t) != 0) {
		free(src);
		CHECK(!"a buffer and a directory");
	}
	if (!direct)
		setenv("KLUIS_NO_DIRECT_IO", "1", 1);
	randombytes_buf(src, size);
	fs_direct = dir_takes_direct(t.path);
	snprintf(path, sizeof path, "%s/big.bin", t.path);
	crypto_generichash_init(&st, NULL, 0, 64);
	crypto_generichash_init(&ref, NULL, 0, 64);
	if (kfile_out_open(&o, path, 0600, 0, &e) == 0) {
		kfile_out_hash(&o, &st);
		if (depth)
			kfile_out_depth(&o, depth);
		ok = 1;
		while (ok && total < size) {
			size_t n;
			uint8_t *d = NULL;

			x = x * 1103515245u + 12345u;
			n = (x >> 8) % (3u << 20) + 1;
			if (n > size - total)
				n = size - total;
			if (x & 1) {
				ok = o.sink.base.write(&o.sink.base, src + total,
						       n, &e) == 0;
			} else {
				ok = o.sink.base.reserve(&o.sink.base, n, &d,
							 &e) == 0;
				if (ok && d) {
					memcpy(d, src + total, n);
					ok = o.sink.base.commit(&o.sink.base,
								n, &e) == 0;
				} else if (ok) { /* too big to lend */
					ok = o.sink.base.write(&o.sink.base,
							       src + total, n,
							       &e) == 0;
				}
			}
			total += n;
			if (total > (8u << 20) && fd_is_direct(o.fd))
				saw_direct = 1;
		}
		ok = ok && kfile_out_flush(&o, &e) == 0 &&
		     kfile_out_commit(&o, &e) == 0;
	}
	crypto_generichash_final(&st, h, sizeof h);
	crypto_generichash_update(&ref, src, size);
	crypto_generichash_final(&ref, hr, sizeof hr);
	ok = ok && read_all(path, &b) == 0 && b.len == size &&
	     memcmp(b.p, src, size) == 0;
	unsetenv("KLUIS_NO_DIRECT_IO");
	tmpdir_done(&t);
	kbuf_free(&b);
	free(src);
	CHECK(ok);
	CHECK(memcmp(h, hr, sizeof h) == 0);
	if (direct && fs_direct)
		CHECK(saw_direct);
	if (!direct)
		CHECK(!saw_direct);
	if (direct && !fs_direct)
		printf("# the file system under /tmp refuses O_DIRECT: "
		       "buffered path only\n");
}

static void large_output_direct(void)
{
	large_output_exact(true, 0);
}

static void large_output_buffered(void)
{
	large_output_exact(false, 0);
}

/* The same through a ring of 3 and of 8 buffers. */
static void large_output_deep(void)
{
	large_output_exact(true, 3);
	large_output_exact(false, 8);
}

const struct unit_case suite_kfile[] = {
	{ "kfile: output appears only at commit, with its mode",
	  appears_only_at_commit },
	{ "kfile: abort leaves no file and no temporary", abort_leaves_nothing },
	{ "kfile: large output, odd writes and reserves, O_DIRECT: exact",
	  large_output_direct },
	{ "kfile: large output, odd writes and reserves, buffered: exact",
	  large_output_buffered },
	{ "kfile: large output through 3 and 8 buffers: exact",
	  large_output_deep },
	{ "kfile: KFILE_NO_REPLACE refuses existing path, untouched",
	  no_replace_refuses_existing },
	{ "kfile: replacing commit swaps the file whole", replace_is_atomic_swap },
	{ "kfile: read cap, exists on a dangling symlink",
	  read_limits_and_exists },
	{ NULL, NULL },
};

const struct unit_case suite_keygen[] = {
	{ "keygen: file names", keygen_paths },
	{ "keygen: four files, modes 0600/0600/0644/0644, consistent keys",
	  keygen_writes_four_files },
	{ "keygen: unencrypted minisign key, label rules",
	  keygen_unencrypted_with_label },
	{ "keygen: any existing file -> KERR_EXISTS, nothing written",
	  keygen_all_or_none },
	{ "keygen: a failure midway removes the files already written",
	  keygen_failure_midway_removes_written },
	{ "keygen: keys written decrypt what the .pub's recipient gets",
	  keygen_then_age_round_trip },
	{ NULL, NULL },
};
