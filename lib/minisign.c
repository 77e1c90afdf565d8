/*
 * minisign — key and signature files.  Parsing is strict (exact lengths,
 * canonical base64, known algorithm ids); a secret key is unsealed only into
 * locked memory, and every temporary holding key bytes is wiped.
 */
#include "minisign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "kfile.h"
#include "banned.h"

#define UNTRUSTED "untrusted comment: "
#define TRUSTED "trusted comment: "
#define SK_LEN 158
#define SK_SEALED_OFF 54      /* keynum | sk | chk start here */
#define SK_SEALED_LEN 104
#define PK_LEN 42
#define SIG_LEN 74
#define OPS_MAX (1ull << 32)
#define MEM_MAX (4ull << 30)

void ms_keyid_hex(const uint8_t keynum[MS_KEYNUM], char out[17])
{
	uint64_t v = 0;

	/* As minisign prints it: the little-endian 64-bit number in
	 * uppercase hex, without leading zeros. */
	for (int i = MS_KEYNUM - 1; i >= 0; i--)
		v = (v << 8) | keynum[i];
	snprintf(out, 17, "%" PRIX64, v);
}

/* Split text into at most `max` lines (LF or CRLF), trimming nothing else.
 * Returns the number of lines; a final line without LF counts. */
struct line {
	const char *p;
	size_t len;
};

static size_t split_lines(const char *text, size_t len, struct line *lines,
			  size_t max, bool *too_many)
{
	size_t n = 0;
	const char *p = text, *end = text + len;

	*too_many = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);

		if (l && p[l - 1] == '\r')
			l--;
		if (n == max) {
			/* Only blank lines may follow. */
			for (const char *q = p; q < end; q++)
				if (*q != '\n' && *q != '\r' && *q != ' ' &&
				    *q != '\t') {
					*too_many = true;
					break;
				}
			return n;
		}
		lines[n].p = p;
		lines[n].len = l;
		n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

static bool has_prefix(const struct line *l, const char *prefix)
{
	size_t n = strlen(prefix);
	return l->len >= n && memcmp(l->p, prefix, n) == 0;
}

static int ffail(struct kerr *e, const char *what, const char *why,
		 size_t line)
{
	kerr_set(e, KERR_FORMAT, what, "%s", why);
	if (line)
		kerr_where(e, "line %zu", line);
	return KERR_FORMAT;
}

/* ------------------------------------------------------------------ */
/* public keys                                                         */

int ms_pubkey_decode(const char *b64, size_t len, struct ms_pubkey *pk,
		     struct kerr *e)
{
	uint8_t raw[PK_LEN];

	while (len && (b64[len - 1] == ' ' || b64[len - 1] == '\t'))
		len--;
	while (len && (*b64 == ' ' || *b64 == '\t')) {
		b64++;
		len--;
	}
	if (b64_decode_exact(b64, len, true, raw, PK_LEN) != 0)
		return kerr_set(e, KERR_KEY, "minisign public key",
				"not a base64-encoded minisign public key");
	if (raw[0] != 'E' || raw[1] != 'd')
		return kerr_set(e, KERR_KEY, "minisign public key",
				"unsupported signature algorithm");
	memcpy(pk->keynum, raw + 2, MS_KEYNUM);
	memcpy(pk->pk, raw + 2 + MS_KEYNUM, 32);
	return 0;
}

int ms_pubkey_parse(const char *text, size_t len, struct ms_pubkey *pk,
		    struct kerr *e)
{
	struct line lines[2];
	bool extra;
	size_t n = split_lines(text, len, lines, 2, &extra);

	if (extra)
		return kerr_set(e, KERR_KEY, "minisign public key",
				"unexpected lines after the key");
	if (n == 2 && has_prefix(&lines[0], UNTRUSTED))
		return ms_pubkey_decode(lines[1].p, lines[1].len, pk, e);
	if (n == 1 || (n == 2 && lines[1].len == 0))
		return ms_pubkey_decode(lines[0].p, lines[0].len, pk, e);
	return kerr_set(e, KERR_KEY, "minisign public key",
			"expected an 'untrusted comment:' line and a key line");
}

void ms_pubkey_encode(const struct ms_pubkey *pk, char out[57])
{
	uint8_t raw[PK_LEN];

	raw[0] = 'E';
	raw[1] = 'd';
	memcpy(raw + 2, pk->keynum, MS_KEYNUM);
	memcpy(raw + 2 + MS_KEYNUM, pk->pk, 32);
	b64_encode(raw, PK_LEN, true, out, 57);
}

int ms_pubkey_format(const struct ms_pubkey *pk, struct kbuf *out,
		     struct kerr *e)
{
	char id[17], b64[57];

	ms_keyid_hex(pk->keynum, id);
	ms_pubkey_encode(pk, b64);
	return kbuf_printf(out, e, UNTRUSTED "minisign public key %s\n%s\n",
			   id, b64);
}

int ms_pubkey_load(const char *path, struct ms_pubkey *pk, struct kerr *e)
{
	struct kbuf b = KBUF_INIT(MS_FILE_MAX);
	int rc = kfile_read(path, &b, e);

	if (!rc) {
		rc = ms_pubkey_parse((const char *)b.p, b.len, pk, e);
		if (rc)
			snprintf(e->what, sizeof e->what, "%s", path);
	}
	kbuf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* secret keys                                                         */

struct ms_seckey *ms_seckey_new(void)
{
	return sodium_malloc(sizeof(struct ms_seckey));
}

void ms_seckey_free(struct ms_seckey *sk)
{
	if (sk)
		sodium_free(sk);
}

void ms_keygen(struct ms_seckey *sk)
{
	uint8_t pk[32];

	crypto_sign_keypair(pk, sk->sk);
	randombytes_buf(sk->keynum, MS_KEYNUM);
}

void ms_seckey_public(const struct ms_seckey *sk, struct ms_pubkey *pk)
{
	memcpy(pk->keynum, sk->keynum, MS_KEYNUM);
	crypto_sign_ed25519_sk_to_pk(pk->pk, sk->sk);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int ms_seckey_parse(const char *text, size_t len, struct ms_seckey_file *f,
		    struct kerr *e)
{
	const char *what = "minisign secret key";
	struct line lines[2];
	bool extra;
	size_t n = split_lines(text, len, lines, 2, &extra);

	if (extra || n != 2 || !has_prefix(&lines[0], UNTRUSTED))
		return kerr_set(e, KERR_KEY, what,
				"expected an 'untrusted comment:' line and a key line");
	if (b64_decode_exact(lines[1].p, lines[1].len, true, f->raw, SK_LEN))
		return kerr_set(e, KERR_KEY, what,
				"not a base64-encoded minisign secret key");
	if (memcmp(f->raw, "Ed", 2) != 0 || memcmp(f->raw + 4, "B2", 2) != 0)
		return kerr_set(e, KERR_KEY, what,
				"unsupported signature or checksum algorithm");
	if (memcmp(f->raw + 2, "Sc", 2) == 0)
		f->encrypted = true;
	else if (f->raw[2] == 0 && f->raw[3] == 0)
		f->encrypted = false;
	else
		return kerr_set(e, KERR_KEY, what,
				"unsupported key derivation algorithm");
	if (f->encrypted &&
	    (le64(f->raw + 38) > OPS_MAX || le64(f->raw + 46) > MEM_MAX))
		return kerr_set(e, KERR_KEY, what,
				"key derivation limits are unreasonably high");
	return 0;
}

int ms_seckey_file_load(const char *path, struct ms_seckey_file *f,
			struct kerr *e)
{
	struct kbuf b;
	int rc;

	kbuf_init(&b, MS_FILE_MAX, true);
	rc = kfile_read(path, &b, e);
	if (!rc) {
		rc = ms_seckey_parse((const char *)b.p, b.len, f, e);
		if (rc)
			snprintf(e->what, sizeof e->what, "%s", path);
	}
	kbuf_free(&b);
	return rc;
}

void ms_seckey_file_wipe(struct ms_seckey_file *f)
{
	sodium_memzero(f, sizeof *f);
}

static void seckey_checksum(const uint8_t keynum[8], const uint8_t sk[64],
			    uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"Ed", 2);
	crypto_generichash_update(&st, keynum, 8);
	crypto_generichash_update(&st, sk, 64);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof st);
}

static int xor_stream(uint8_t *region, const uint8_t salt[32],
		      uint64_t ops, uint64_t mem, const char *pass,
		      size_t pass_len, struct kerr *e)
{
	uint8_t *stream = sodium_malloc(SK_SEALED_LEN);
	int rc = 0;

	if (!stream)
		return kerr_set(e, KERR_NOMEM, "minisign secret key",
				"cannot allocate locked memory");
	if (crypto_pwhash_scryptsalsa208sha256(stream, SK_SEALED_LEN, pass,
					       pass_len, salt, ops,
					       (size_t)mem) != 0)
		rc = kerr_set(e, KERR_NOMEM, "minisign secret key",
			      "scrypt failed (not enough memory?)");
	else
		for (size_t i = 0; i < SK_SEALED_LEN; i++)
			region[i] ^= stream[i];
	sodium_free(stream);
	return rc;
}

int ms_seckey_open(const struct ms_seckey_file *f, const char *pass,
		   size_t pass_len, struct ms_seckey *sk, struct kerr *e)
{
	const char *what = "minisign secret key";
	uint8_t *region = sodium_malloc(SK_SEALED_LEN);
	uint8_t chk[32], seed_pk[32];
	uint8_t *tmp = NULL;
	int rc = 0;

	if (!region)
		return kerr_set(e, KERR_NOMEM, what, "cannot allocate locked memory");
	memcpy(region, f->raw + SK_SEALED_OFF, SK_SEALED_LEN);
	if (f->encrypted) {
		if (!pass) {
			rc = kerr_set(e, KERR_PASSPHRASE, what,
				      "key is encrypted and no passphrase was given");
			goto out;
		}
		rc = xor_stream(region, f->raw + 6, le64(f->raw + 38),
				le64(f->raw + 46), pass, pass_len, e);
		if (rc)
			goto out;
	}
	seckey_checksum(region, region + 8, chk);
	if (sodium_memcmp(chk, region + 72, 32) != 0) {
		/* minisign 0.11 leaves the checksum of an unencrypted key
		 * zero; anything else is damage or a wrong passphrase. */
		if (f->encrypted) {
			rc = kerr_set(e, KERR_PASSPHRASE, what,
				      "wrong passphrase");
			goto out;
		}
		if (!sodium_is_zero(region + 72, 32)) {
			rc = kerr_set(e, KERR_KEY, what,
				      "checksum mismatch (damaged key file)");
			goto out;
		}
	}
	/* The public half stored in the key must belong to its seed. */
	tmp = sodium_malloc(64);
	if (!tmp) {
		rc = kerr_set(e, KERR_NOMEM, what, "cannot allocate locked memory");
		goto out;
	}
	crypto_sign_seed_keypair(seed_pk, tmp, region + 8);
	if (sodium_memcmp(tmp, region + 8, 64) != 0) {
		rc = f->encrypted ? kerr_set(e, KERR_PASSPHRASE, what, "wrong passphrase")
				  : kerr_set(e, KERR_KEY, what,
					     "inconsistent key (damaged key file)");
		goto out;
	}
	memcpy(sk->keynum, region, MS_KEYNUM);
	memcpy(sk->sk, region + 8, 64);
out:
	if (tmp)
		sodium_free(tmp);
	sodium_free(region);
	sodium_memzero(chk, sizeof chk);
	return rc;
}

int ms_seckey_format(const struct ms_seckey *sk, const char *pass,
		     size_t pass_len, unsigned long long opslimit,
		     size_t memlimit, struct kbuf *out, struct kerr *e)
{
	uint8_t *raw = sodium_malloc(SK_LEN);
	char *b64 = sodium_malloc(b64_encoded_len(SK_LEN, true) + 1);
	int rc = 0;

	if (!raw || !b64) {
		rc = kerr_set(e, KERR_NOMEM, "minisign secret key",
			      "cannot allocate locked memory");
		goto out;
	}
	memset(raw, 0, SK_LEN);
	memcpy(raw, "Ed", 2);
	memcpy(raw + 4, "B2", 2);
	memcpy(raw + SK_SEALED_OFF, sk->keynum, MS_KEYNUM);
	memcpy(raw + SK_SEALED_OFF + 8, sk->sk, 64);
	seckey_checksum(sk->keynum, sk->sk, raw + SK_SEALED_OFF + 72);
	if (pass) {
		if (!opslimit)
			opslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;
		if (!memlimit)
			memlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;
		memcpy(raw + 2, "Sc", 2);
		randombytes_buf(raw + 6, 32);
		put_le64(raw + 38, opslimit);
		put_le64(raw + 46, memlimit);
		rc = xor_stream(raw + SK_SEALED_OFF, raw + 6, opslimit,
				memlimit, pass, pass_len, e);
		if (rc)
			goto out;
	}
	b64_encode(raw, SK_LEN, true, b64, b64_encoded_len(SK_LEN, true) + 1);
	rc = kbuf_printf(out, e, UNTRUSTED "minisign %ssecret key\n%s\n",
			 pass ? "encrypted " : "", b64);
out:
	if (raw)
		sodium_free(raw);
	if (b64)
		sodium_free(b64);
	return rc;
}

/* ------------------------------------------------------------------ */
/* signatures                                                          */

int ms_sig_parse(const char *text, size_t len, struct ms_sig *s,
		 struct kerr *e)
{
	const char *what = "minisign signature";
	struct line lines[4];
	uint8_t raw[SIG_LEN];
	bool extra;
	size_t n = split_lines(text, len, lines, 4, &extra), tl;

	memset(s, 0, sizeof *s);
	if (extra)
		return ffail(e, what, "unexpected data after the signature", 5);
	if (n < 4)
		return ffail(e, what, "expected four lines", 0);
	for (size_t i = 0; i < 4; i++)
		if (lines[i].len >= MS_COMMENT_MAX + strlen(UNTRUSTED))
			return ffail(e, what, "line too long", i + 1);
	if (!has_prefix(&lines[0], UNTRUSTED))
		return ffail(e, what, "expected 'untrusted comment:'", 1);
	if (b64_decode_exact(lines[1].p, lines[1].len, true, raw, SIG_LEN))
		return ffail(e, what, "signature is not base64 of 74 bytes", 2);
	if (raw[0] == 'E' && raw[1] == 'D')
		s->prehashed = true;
	else if (raw[0] == 'E' && raw[1] == 'd')
		s->prehashed = false;
	else
		return ffail(e, what, "unsupported signature algorithm", 2);
	memcpy(s->keynum, raw + 2, MS_KEYNUM);
	memcpy(s->sig, raw + 2 + MS_KEYNUM, 64);
	if (!has_prefix(&lines[2], TRUSTED))
		return ffail(e, what, "expected 'trusted comment:'", 3);
	tl = lines[2].len - strlen(TRUSTED);
	if (tl >= sizeof s->trusted)
		return ffail(e, what, "trusted comment too long", 3);
	memcpy(s->trusted, lines[2].p + strlen(TRUSTED), tl);
	s->trusted[tl] = '\0';
	if (memchr(s->trusted, '\0', tl))
		return ffail(e, what, "NUL byte in trusted comment", 3);
	if (b64_decode_exact(lines[3].p, lines[3].len, true, s->global, 64))
		return ffail(e, what,
			     "comment signature is not base64 of 64 bytes", 4);
	return 0;
}

int ms_sig_load(const char *path, struct ms_sig *s, struct kerr *e)
{
	struct kbuf b = KBUF_INIT(MS_FILE_MAX);
	int rc = kfile_read(path, &b, e);

	if (!rc) {
		rc = ms_sig_parse((const char *)b.p, b.len, s, e);
		if (rc)
			snprintf(e->what, sizeof e->what, "%s", path);
	}
	kbuf_free(&b);
	return rc;
}

int ms_prehash(struct ksrc *src, uint8_t out[64], struct kerr *e)
{
	crypto_generichash_state st;
	static const size_t bufsz = 256 * 1024;
	uint8_t *buf = malloc(bufsz);
	int rc = 0;

	if (!buf)
		return kerr_set(e, KERR_NOMEM, "minisign", "out of memory");
	crypto_generichash_init(&st, NULL, 0, 64);
	for (;;) {
		size_t got = 0;
		rc = src->read(src, buf, bufsz, &got, e);
		if (rc || got == 0)
			break;
		crypto_generichash_update(&st, buf, got);
	}
	if (!rc)
		crypto_generichash_final(&st, out, 64);
	free(buf);
	return rc;
}

static bool one_line(const char *s)
{
	return !strchr(s, '\n') && !strchr(s, '\r');
}

int ms_sign(const struct ms_seckey *sk, bool prehashed, const uint8_t *msg,
	    size_t msg_len, const char *trusted, const char *untrusted,
	    struct kbuf *out, struct kerr *e)
{
	uint8_t raw[SIG_LEN], global[64];
	char b64sig[104], b64g[89];
	size_t tl = strlen(trusted);

	if (!one_line(trusted) || !one_line(untrusted))
		return kerr_set(e, KERR_USAGE, "minisign signature",
				"comments must be a single line");
	if (tl >= MS_COMMENT_MAX || strlen(untrusted) >= MS_COMMENT_MAX)
		return kerr_set(e, KERR_USAGE, "minisign signature",
				"comment longer than %d bytes", MS_COMMENT_MAX - 1);
	raw[0] = 'E';
	raw[1] = prehashed ? 'D' : 'd';
	memcpy(raw + 2, sk->keynum, MS_KEYNUM);
	crypto_sign_detached(raw + 2 + MS_KEYNUM, NULL, msg, msg_len, sk->sk);

	/* The global signature is Ed25519 over sig | trusted comment. */
	{
		uint8_t gm[64 + MS_COMMENT_MAX];
		memcpy(gm, raw + 2 + MS_KEYNUM, 64);
		memcpy(gm + 64, trusted, tl);
		crypto_sign_detached(global, NULL, gm, 64 + tl, sk->sk);
	}
	b64_encode(raw, SIG_LEN, true, b64sig, sizeof b64sig);
	b64_encode(global, 64, true, b64g, sizeof b64g);
	return kbuf_printf(out, e,
			   UNTRUSTED "%s\n%s\n" TRUSTED "%s\n%s\n", untrusted,
			   b64sig, trusted, b64g);
}

/* Map a whole file read-only (legacy signatures need it contiguous). */
static int map_file(const char *path, const uint8_t **p, size_t *len,
		    struct kerr *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return kerr_errno(e, errno, path, "cannot open");
	if (fstat(fd, &st) != 0) {
		close(fd);
		return kerr_errno(e, errno, path, "cannot stat");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return kerr_set(e, KERR_USAGE, path,
				"legacy signatures need a regular file");
	}
	if ((unsigned long long)st.st_size > MS_LEGACY_MAX) {
		close(fd);
		return kerr_set(e, KERR_LIMIT, path,
				"too large for a legacy signature");
	}
	*len = (size_t)st.st_size;
	*p = (const uint8_t *)"";
	if (*len) {
		void *m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			int err = errno;
			close(fd);
			return kerr_errno(e, err, path, "cannot map");
		}
		*p = m;
	}
	close(fd);
	return 0;
}

static void unmap_file(const uint8_t *p, size_t len)
{
	if (len)
		munmap((void *)(uintptr_t)p, len);
}

static int hash_path(const char *path, uint8_t out[64], struct kerr *e)
{
	struct kfd_src src;
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return kerr_errno(e, errno, path, "cannot open");
	kfd_src_init(&src, fd, path);
	rc = ms_prehash(&src.base, out, e);
	if (fd != 0)
		close(fd);
	return rc;
}

int ms_sign_file(const struct ms_seckey *sk, const char *path, bool legacy,
		 const char *trusted, const char *untrusted, struct kbuf *out,
		 struct kerr *e)
{
	const uint8_t *m;
	uint8_t h[64];
	size_t len;
	int rc;

	if (!legacy) {
		rc = hash_path(path, h, e);
		return rc ? rc
			  : ms_sign(sk, true, h, sizeof h, trusted, untrusted,
				    out, e);
	}
	rc = map_file(path, &m, &len, e);
	if (rc)
		return rc;
	rc = ms_sign(sk, false, m, len, trusted, untrusted, out, e);
	unmap_file(m, len);
	return rc;
}

int ms_verify(const struct ms_pubkey *pk, const struct ms_sig *s,
	      const uint8_t *msg, size_t msg_len, struct kerr *e)
{
	const char *what = "minisign signature";
	uint8_t gm[64 + MS_COMMENT_MAX];
	size_t tl = strlen(s->trusted);

	if (memcmp(pk->keynum, s->keynum, MS_KEYNUM) != 0) {
		char a[17], b[17];
		ms_keyid_hex(s->keynum, a);
		ms_keyid_hex(pk->keynum, b);
		return kerr_set(e, KERR_SIGNATURE, what,
				"signed by key %s, not by the given key %s", a,
				b);
	}
	if (crypto_sign_verify_detached(s->sig, msg, msg_len, pk->pk) != 0)
		return kerr_set(e, KERR_SIGNATURE, what,
				"signature does not verify (the file was altered)");
	memcpy(gm, s->sig, 64);
	memcpy(gm + 64, s->trusted, tl);
	if (crypto_sign_verify_detached(s->global, gm, 64 + tl, pk->pk) != 0)
		return kerr_set(e, KERR_SIGNATURE, what,
				"trusted comment signature does not verify "
				"(the comment was altered)");
	return 0;
}

int ms_verify_file(const struct ms_pubkey *pk, const struct ms_sig *s,
		   const char *path, struct kerr *e)
{
	const uint8_t *m;
	uint8_t h[64];
	size_t len;
	int rc;

	/* A key id mismatch needs no hashing; report it first. */
	if (memcmp(pk->keynum, s->keynum, MS_KEYNUM) != 0)
		return ms_verify(pk, s, NULL, 0, e);
	if (s->prehashed) {
		rc = hash_path(path, h, e);
		return rc ? rc : ms_verify(pk, s, h, sizeof h, e);
	}
	if (strcmp(path, "-") == 0)
		return kerr_set(e, KERR_USAGE, "minisign signature",
				"a legacy signature needs a file, not standard input");
	rc = map_file(path, &m, &len, e);
	if (rc)
		return rc;
	rc = ms_verify(pk, s, m, len, e);
	unmap_file(m, len);
	return rc;
}
