/*
 * age: in-memory round trips (sizes around the 64 KiB chunk, X25519 and
 * scrypt, binary and armored), interoperability in both directions with a
 * small implementation of the spec written here on libsodium (so encoder
 * and decoder are not only checked against each other), a vector made by
 * the real age tool, unknown stanzas, STREAM rules, and the copying reader.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "kluis.h"
#include "unit.h"

#define MiB (1024u * 1024u)
#define CHUNK AGE_CHUNK_SIZE
#define ENC_CHUNK (CHUNK + 16)

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	uint8_t s[randombytes_SEEDBYTES] = { seed, 0x5a };
	randombytes_buf_deterministic(p, n, s);
}

struct keys {
	uint8_t sk[4][32];
	uint8_t pk[4][32];
};

static void keys_make(struct keys *k)
{
	for (int i = 0; i < 4; i++) {
		agekey_generate(k->sk[i]);
		agekey_public(k->sk[i], k->pk[i]);
	}
}

/* Seal on one thread (age_enc_alone) in encrypt(). */
static bool enc_alone;

static int encrypt(const struct age_recipients *r, bool armor,
		   const uint8_t *p, size_t n, struct kbuf *out)
{
	struct kbuf_sink sink;
	struct age_enc *enc;
	struct kerr e;
	int rc;

	kbuf_sink_init(&sink, out);
	rc = age_enc_begin(&enc, r, armor, &sink.base, &e);
	if (rc)
		return rc;
	if (enc_alone)
		age_enc_alone(enc);
	/* Write in uneven pieces to exercise the chunk buffering: small
	 * ones that gather, large ones behind a partial chunk, whole
	 * chunks, more than a batch. */
	static const size_t piece[] = { 100000, 1, 65536, 3 * 65536 + 7,
					5000, 2 * 1048576 + 3, 65535 };
	for (size_t i = 0; !rc && n > 0; i++) {
		size_t k = piece[i % (sizeof piece / sizeof *piece)];

		if (k > n)
			k = n;
		rc = age_enc_write(enc, p, k, &e);
		p += k;
		n -= k;
	}
	if (!rc)
		rc = age_enc_finish(enc, &e);
	age_enc_free(enc);
	return rc;
}

/* Decrypt through age_dec_read with a caller buffer of bufsz bytes. */
static int decrypt(const struct age_identities *ids, const void *c,
		   size_t clen, size_t bufsz, struct kbuf *out,
		   bool *armored, const char **rtype)
{
	struct kmem_src src;
	struct age_dec *d;
	struct kerr e;
	uint8_t *buf = malloc(bufsz);
	int rc;

	if (!buf)
		return KERR_NOMEM;
	kmem_src_init(&src, c, clen);
	rc = age_dec_begin(&d, &src.base, ids, &e);
	if (rc) {
		free(buf);
		return rc;
	}
	if (armored)
		*armored = age_dec_armored(d);
	if (rtype)
		*rtype = age_dec_recipient_type(d);
	for (;;) {
		size_t got = 0;
		rc = age_dec_read(d, buf, bufsz, &got, &e);
		if (rc || got == 0)
			break;
		rc = kbuf_append(out, buf, got, &e);
		if (rc)
			break;
	}
	age_dec_free(d);
	free(buf);
	return rc;
}

/* Size of a binary file for n plaintext bytes after a header of h bytes. */
static size_t expected_size(size_t h, size_t n)
{
	size_t chunks = n == 0 ? 1 : (n + CHUNK - 1) / CHUNK;
	return h + 16 + n + 16 * chunks;
}

/* Header length of a binary file: through the LF of the "--- " line. */
static size_t header_len(const uint8_t *c, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (c[i] == '\n' && memcmp(c + i + 1, "--- ", 4) == 0)
			return i + 1 + 48;
	return 0;
}

/* One round trip; returns 0 or the number of the failed step. */
static int round_trip(const struct age_recipients *r,
		      const struct age_identities *ids, const uint8_t *p,
		      size_t n, bool armor, const char *want_type)
{
	struct kbuf c = KBUF_INIT(64 * MiB), out = KBUF_INIT(64 * MiB);
	bool armored = !armor;
	const char *rtype = NULL;
	int step = 0;

	if (encrypt(r, armor, p, n, &c) != 0)
		step = 1;
	else if (armor && memcmp(c.p, "-----BEGIN AGE ENCRYPTED FILE-----\n",
				 35) != 0)
		step = 2;
	else if (!armor && c.len != expected_size(header_len(c.p, c.len), n))
		step = 3;
	else if (decrypt(ids, c.p, c.len, 65536, &out, &armored, &rtype) != 0)
		step = 4;
	else if (out.len != n || (n && memcmp(out.p, p, n) != 0))
		step = 5;
	else if (armored != armor || strcmp(rtype, want_type) != 0)
		step = 6;
	kbuf_free(&c);
	kbuf_free(&out);
	return step;
}

static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 65536,
				10 * MiB };
#define NSIZES (sizeof sizes / sizeof *sizes)

static uint8_t *big_plaintext(void)
{
	uint8_t *p = malloc(10 * MiB);
	if (p)
		fill(p, 10 * MiB, 1);
	return p;
}

static void round_trip_one_recipient(void)
{
	struct keys k;
	uint8_t *p = big_plaintext();
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	int bad = 0;

	CHECK(p);
	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	for (size_t i = 0; i < NSIZES && !bad; i++)
		for (int armor = 0; armor < 2 && !bad; armor++) {
			bad = round_trip(&r, &ids, p, sizes[i], armor, "X25519");
			if (bad)
				printf("# size %zu armor %d: step %d\n",
				       sizes[i], armor, bad);
		}
	free(p);
	CHECK(bad == 0);
}

static void round_trip_three_recipients(void)
{
	struct keys k;
	uint8_t *p = big_plaintext();
	struct age_recipients r = { 0 };
	int bad = 0;

	CHECK(p);
	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 3;
	for (size_t i = 0; i < NSIZES && !bad; i++)
		for (int armor = 0; armor < 2 && !bad; armor++)
			for (size_t who = 0; who < 3 && !bad; who++) {
				struct age_identities ids = { 0 };

				/* Every identity on small files; one each
				 * (in turn) on the large ones. */
				if (sizes[i] > 65537 && who != i % 3)
					continue;
				ids.x25519 = k.sk[who];
				ids.n_x25519 = 1;
				bad = round_trip(&r, &ids, p, sizes[i], armor,
						 "X25519");
				if (bad)
					printf("# size %zu armor %d id %zu: step %d\n",
					       sizes[i], armor, who, bad);
			}
	free(p);
	CHECK(bad == 0);
}

static void round_trip_passphrase(void)
{
	static const char pass[] = "correct horse battery staple";
	uint8_t *p = big_plaintext();
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	int bad = 0;

	CHECK(p);
	r.passphrase = pass;
	r.passphrase_len = strlen(pass);
	r.scrypt_log2n = 10;
	ids.passphrase = pass;
	ids.passphrase_len = strlen(pass);
	for (size_t i = 0; i < NSIZES && !bad; i++)
		for (int armor = 0; armor < 2 && !bad; armor++) {
			bad = round_trip(&r, &ids, p, sizes[i], armor, "scrypt");
			if (bad)
				printf("# size %zu armor %d: step %d\n",
				       sizes[i], armor, bad);
		}
	free(p);
	CHECK(bad == 0);
}

static void scrypt_stanza_shape(void)
{
	struct age_recipients r = { 0 };
	struct kbuf c = KBUF_INIT(MiB);
	struct kmem_src src;
	struct kreader rd;
	struct age_header h;
	struct kerr e;
	uint8_t salt[16];

	r.passphrase = "pw";
	r.passphrase_len = 2;
	r.scrypt_log2n = 10;
	CHECK(encrypt(&r, false, (const uint8_t *)"x", 1, &c) == 0);
	kmem_src_init(&src, c.p, c.len);
	CHECK(kreader_init(&rd, &src.base, 65536, &e) == 0);
	CHECK(age_header_parse(&rd, &h, &e) == 0);
	kreader_free(&rd);
	kbuf_free(&c);
	CHECK(h.n == 1);
	CHECK(h.stanzas[0].nargs == 3);
	CHECK_STR(h.stanzas[0].args[0], "scrypt");
	CHECK(sodium_base642bin(salt, sizeof salt, h.stanzas[0].args[1],
				strlen(h.stanzas[0].args[1]), NULL, NULL, NULL,
				sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0);
	CHECK(strlen(h.stanzas[0].args[1]) == 22);
	CHECK_STR(h.stanzas[0].args[2], "10");
	CHECK(h.stanzas[0].body_len == 32);
	age_header_free(&h);
}

static void scrypt_work_factor_limit(void)
{
	/* A work factor above the identity's limit is refused without
	 * running scrypt: a header failure (the test kit's
	 * scrypt_work_factor_23). */
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct kbuf c = KBUF_INIT(MiB), out = KBUF_INIT(MiB);

	r.passphrase = ids.passphrase = "pw";
	r.passphrase_len = ids.passphrase_len = 2;
	r.scrypt_log2n = 12;
	CHECK(encrypt(&r, false, (const uint8_t *)"abc", 3, &c) == 0);
	ids.scrypt_max_log2n = 11;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_HEADER);
	CHECK(out.len == 0);
	ids.scrypt_max_log2n = 12;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == 0);
	CHECK(out.len == 3 && memcmp(out.p, "abc", 3) == 0);
	kbuf_free(&c);
	kbuf_free(&out);
}

struct asker {
	int calls;
	const char *give;
	int fail;
};

static int ask(void *ctx, const char **pass, size_t *len, struct kerr *e)
{
	struct asker *a = ctx;

	a->calls++;
	if (a->fail)
		return kerr_set(e, KERR_USAGE, "passphrase", "no terminal");
	*pass = a->give;
	*len = strlen(a->give);
	return 0;
}

static void passphrase_asked_only_when_needed(void)
{
	struct keys k;
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct asker a = { 0, "pw", 0 };
	struct kbuf x = KBUF_INIT(MiB), s = KBUF_INIT(MiB),
		    out = KBUF_INIT(MiB);

	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	CHECK(encrypt(&r, false, (const uint8_t *)"xx", 2, &x) == 0);
	memset(&r, 0, sizeof r);
	r.passphrase = "pw";
	r.passphrase_len = 2;
	r.scrypt_log2n = 10;
	CHECK(encrypt(&r, false, (const uint8_t *)"ss", 2, &s) == 0);
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	ids.ask_passphrase = ask;
	ids.ask_ctx = &a;
	/* An X25519 file: never asked. */
	CHECK(decrypt(&ids, x.p, x.len, 4096, &out, NULL, NULL) == 0);
	CHECK(a.calls == 0 && out.len == 2);
	/* A passphrase file: asked once. */
	kbuf_reset(&out);
	CHECK(decrypt(&ids, s.p, s.len, 4096, &out, NULL, NULL) == 0);
	CHECK(a.calls == 1 && out.len == 2 && memcmp(out.p, "ss", 2) == 0);
	/* A wrong answer, and a failing prompt (its code comes back). */
	a.give = "wrong";
	CHECK(decrypt(&ids, s.p, s.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);
	a.fail = 1;
	CHECK(decrypt(&ids, s.p, s.len, 4096, &out, NULL, NULL) == KERR_USAGE);
	CHECK(a.calls == 3);
	kbuf_free(&x);
	kbuf_free(&s);
	kbuf_free(&out);
}

static void second_identity_decrypts(void)
{
	struct keys k;
	uint8_t p[1000], ids2[64];
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct kbuf c = KBUF_INIT(MiB), out = KBUF_INIT(MiB);

	keys_make(&k);
	fill(p, sizeof p, 3);
	/* Encrypted to A and B; the identity list is (C, B). */
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 2;
	CHECK(encrypt(&r, false, p, sizeof p, &c) == 0);
	memcpy(ids2, k.sk[2], 32);
	memcpy(ids2 + 32, k.sk[1], 32);
	ids.x25519 = ids2;
	ids.n_x25519 = 2;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == 0);
	CHECK(out.len == sizeof p && memcmp(out.p, p, sizeof p) == 0);
	/* B alone opens the second stanza. */
	kbuf_reset(&out);
	ids.x25519 = k.sk[1];
	ids.n_x25519 = 1;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == 0);
	CHECK(out.len == sizeof p && memcmp(out.p, p, sizeof p) == 0);
	kbuf_free(&c);
	kbuf_free(&out);
}

static void wrong_identity_or_passphrase(void)
{
	struct keys k;
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct kbuf c = KBUF_INIT(MiB), out = KBUF_INIT(MiB);

	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 2;
	CHECK(encrypt(&r, false, (const uint8_t *)"secret", 6, &c) == 0);
	ids.x25519 = k.sk[2];
	ids.n_x25519 = 2; /* C and D: neither is a recipient */
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);
	CHECK(out.len == 0);
	/* A passphrase does not open an X25519 file. */
	ids.x25519 = NULL;
	ids.n_x25519 = 0;
	ids.passphrase = "pw";
	ids.passphrase_len = 2;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);

	kbuf_reset(&c);
	memset(&r, 0, sizeof r);
	r.passphrase = "right";
	r.passphrase_len = 5;
	r.scrypt_log2n = 10;
	CHECK(encrypt(&r, true, (const uint8_t *)"secret", 6, &c) == 0);
	ids.passphrase = "wrong";
	ids.passphrase_len = 5;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);
	/* Same letters, different length. */
	ids.passphrase = "rightt";
	ids.passphrase_len = 5;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == 0);
	CHECK(out.len == 6 && memcmp(out.p, "secret", 6) == 0);
	kbuf_reset(&out);
	ids.passphrase_len = 6;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);
	/* An X25519 identity does not open a passphrase file. */
	ids.passphrase = NULL;
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	CHECK(decrypt(&ids, c.p, c.len, 4096, &out, NULL, NULL) == KERR_NOMATCH);
	CHECK(out.len == 0);
	kbuf_free(&c);
	kbuf_free(&out);
}

static void encrypt_usage_errors(void)
{
	struct keys k;
	struct age_recipients r = { 0 };
	struct kbuf c = KBUF_INIT(MiB);
	struct kbuf_sink sink;
	struct age_enc *enc;
	struct kerr e;

	keys_make(&k);
	kbuf_sink_init(&sink, &c);
	/* Neither recipients nor passphrase; or both. */
	CHECK(age_enc_begin(&enc, &r, false, &sink.base, &e) == KERR_USAGE);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	r.passphrase = "pw";
	r.passphrase_len = 2;
	CHECK(age_enc_begin(&enc, &r, false, &sink.base, &e) == KERR_USAGE);
	CHECK(c.len == 0);
	/* A write after finish is refused. */
	r.passphrase = NULL;
	CHECK(age_enc_begin(&enc, &r, false, &sink.base, &e) == 0);
	CHECK(age_enc_finish(enc, &e) == 0);
	CHECK(age_enc_write(enc, "x", 1, &e) == KERR_USAGE);
	age_enc_free(enc);
	kbuf_free(&c);
}

static void encryptions_differ(void)
{
	struct keys k;
	struct age_recipients r = { 0 };
	struct kbuf a = KBUF_INIT(MiB), b = KBUF_INIT(MiB);
	uint8_t p[5000];
	size_t ha, hb;

	keys_make(&k);
	fill(p, sizeof p, 4);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	CHECK(encrypt(&r, false, p, sizeof p, &a) == 0);
	CHECK(encrypt(&r, false, p, sizeof p, &b) == 0);
	ha = header_len(a.p, a.len);
	hb = header_len(b.p, b.len);
	CHECK(ha > 0 && ha == hb && a.len == b.len);
	/* Fresh ephemeral share, wrapped key, MAC, nonce and payload. */
	CHECK(memcmp(a.p + 32, b.p + 32, 43) != 0);
	CHECK(memcmp(a.p, b.p, ha) != 0);
	CHECK(memcmp(a.p + ha, b.p + ha, 16) != 0);
	CHECK(memcmp(a.p + ha + 16, b.p + ha + 16, a.len - ha - 16) != 0);
	kbuf_free(&a);
	kbuf_free(&b);
}

static void reader_buffer_sizes(void)
{
	static const size_t bufs[] = { 1, 7, 65536, MiB };
	struct keys k;
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct kbuf c = KBUF_INIT(4 * MiB);
	size_t n = 3 * CHUNK + 12345;
	uint8_t *p = malloc(n);

	CHECK(p);
	fill(p, n, 5);
	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	for (int armor = 0; armor < 2; armor++) {
		kbuf_reset(&c);
		if (encrypt(&r, armor, p, n, &c) != 0)
			break;
		for (size_t i = 0; i < 4; i++) {
			struct kbuf out = KBUF_INIT(4 * MiB);
			int rc = decrypt(&ids, c.p, c.len, bufs[i], &out, NULL,
					 NULL);
			bool ok = rc == 0 && out.len == n &&
				  memcmp(out.p, p, n) == 0;

			if (!ok)
				printf("# armor %d buffer %zu: rc %d len %zu\n",
				       armor, bufs[i], rc, out.len);
			kbuf_free(&out);
			if (!ok) {
				free(p);
				kbuf_free(&c);
				CHECK(ok);
			}
		}
	}
	free(p);
	CHECK(c.len > n);
	kbuf_free(&c);
}

static void dec_src_reads_as_source(void)
{
	struct keys k;
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct kbuf c = KBUF_INIT(MiB), out = KBUF_INIT(MiB);
	struct kmem_src src;
	struct age_dec *d;
	struct kerr e;
	uint8_t p[70000];

	keys_make(&k);
	fill(p, sizeof p, 6);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 1;
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	CHECK(encrypt(&r, false, p, sizeof p, &c) == 0);
	kmem_src_init(&src, c.p, c.len);
	CHECK(age_dec_begin(&d, &src.base, &ids, &e) == 0);
	CHECK(ksrc_slurp(age_dec_src(d), &out, &e) == 0);
	age_dec_free(d);
	CHECK(out.len == sizeof p && memcmp(out.p, p, sizeof p) == 0);
	kbuf_free(&c);
	kbuf_free(&out);
}

/* ------------------------------------------------------------------ */
/* A small age implementation from the spec, on libsodium alone.       */

#define B64_RAW sodium_base64_VARIANT_ORIGINAL_NO_PADDING

static void spec_hkdf(uint8_t out[32], const uint8_t *ikm, size_t ikm_len,
		      const uint8_t *salt, size_t salt_len, const char *info)
{
	static const uint8_t zeros[32];
	crypto_auth_hmacsha256_state st;
	uint8_t prk[32], one = 1;

	if (salt_len == 0) {
		salt = zeros;
		salt_len = sizeof zeros;
	}
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	crypto_auth_hmacsha256_init(&st, prk, 32);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
	crypto_auth_hmacsha256_update(&st, &one, 1);
	crypto_auth_hmacsha256_final(&st, out);
}

static void spec_nonce(uint8_t n[12], uint64_t counter, bool last)
{
	memset(n, 0, 12);
	for (int i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(counter >> (8 * i));
	n[11] = last;
}

static const uint8_t zero12[12];

/* "-> X25519 share\nbody\n" wrapping fk for pk. */
static void spec_x25519_stanza(struct kbuf *h, const uint8_t fk[16],
			       const uint8_t pk[32])
{
	uint8_t eph[32], share[32], shared[32], salt[64], wrap[32], body[32];
	char sb[64], bb[64];
	struct kerr e;

	randombytes_buf(eph, 32);
	crypto_scalarmult_base(share, eph);
	if (crypto_scalarmult(shared, eph, pk) != 0)
		abort();
	memcpy(salt, share, 32);
	memcpy(salt + 32, pk, 32);
	spec_hkdf(wrap, shared, 32, salt, 64, "age-encryption.org/v1/X25519");
	crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, fk, 16, NULL, 0,
						  NULL, zero12, wrap);
	sodium_bin2base64(sb, sizeof sb, share, 32, B64_RAW);
	sodium_bin2base64(bb, sizeof bb, body, 32, B64_RAW);
	kbuf_printf(h, &e, "-> X25519 %s\n%s\n", sb, bb);
}

struct plan {
	size_t len;
	bool last;
};

/* A whole file: version line, the given stanzas, MAC, nonce, and the
 * payload cut into chunks as planned (sizes and final flags). */
static void spec_build(struct kbuf *out, const uint8_t fk[16],
		       const char *stanzas, const uint8_t *p,
		       const struct plan *plan, size_t nplan)
{
	uint8_t hk[32], mac[32], nonce[16], pk[32], n12[12];
	uint8_t *cbuf = malloc(ENC_CHUNK);
	char mb[64];
	struct kerr e;
	size_t start = out->len;

	if (!cbuf)
		abort();
	kbuf_puts(out, "age-encryption.org/v1\n", &e);
	kbuf_puts(out, stanzas, &e);
	kbuf_puts(out, "---", &e);
	spec_hkdf(hk, fk, 16, NULL, 0, "header");
	crypto_auth_hmacsha256(mac, out->p + start, out->len - start, hk);
	sodium_bin2base64(mb, sizeof mb, mac, 32, B64_RAW);
	kbuf_printf(out, &e, " %s\n", mb);
	randombytes_buf(nonce, 16);
	kbuf_append(out, nonce, 16, &e);
	spec_hkdf(pk, fk, 16, nonce, 16, "payload");
	for (size_t i = 0; i < nplan; i++) {
		spec_nonce(n12, i, plan[i].last);
		crypto_aead_chacha20poly1305_ietf_encrypt(cbuf, NULL, p,
							  plan[i].len, NULL, 0,
							  NULL, n12, pk);
		kbuf_append(out, cbuf, plan[i].len + 16, &e);
		p += plan[i].len;
	}
	free(cbuf);
}

/* Decrypt a binary file with one X25519 identity, following the spec
 * literally.  Returns 0, or the number of the rule that failed. */
static int spec_decrypt(const uint8_t *f, size_t len, const uint8_t sk[32],
			struct kbuf *out)
{
	const uint8_t *p = f, *end = f + len, *nl;
	uint8_t fk[16], pk[32], hk[32], mac[32], want[32], key[32], n12[12];
	uint8_t *pbuf;
	bool have_fk = false;
	struct kerr e;
	uint64_t counter = 0;

	crypto_scalarmult_base(pk, sk);
	if (len < 22 || memcmp(p, "age-encryption.org/v1\n", 22) != 0)
		return 1;
	p += 22;
	for (;;) {
		char line[1024], body[1024];
		size_t blen = 0, l;

		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			return 2;
		l = (size_t)(nl - p);
		if (l >= sizeof line)
			return 3;
		memcpy(line, p, l);
		line[l] = '\0';
		p = nl + 1;
		if (strncmp(line, "--- ", 4) == 0) {
			size_t ml;
			if (sodium_base642bin(mac, 32, line + 4, l - 4, NULL, &ml,
					      NULL, B64_RAW) != 0 || ml != 32)
				return 4;
			if (!have_fk)
				return 5;
			spec_hkdf(hk, fk, 16, NULL, 0, "header");
			crypto_auth_hmacsha256(want, f,
					       (size_t)(nl - f) - (l - 3), hk);
			if (sodium_memcmp(want, mac, 32) != 0)
				return 5;
			break;
		}
		if (strncmp(line, "-> ", 3) != 0)
			return 6;
		for (;;) { /* body lines up to the first short one */
			size_t bl;
			if (!(nl = memchr(p, '\n', (size_t)(end - p))))
				return 7;
			bl = (size_t)(nl - p);
			if (bl > 64 || blen + bl >= sizeof body)
				return 8;
			memcpy(body + blen, p, bl);
			blen += bl;
			p = nl + 1;
			if (bl < 64)
				break;
		}
		if (strncmp(line, "-> X25519 ", 10) == 0 && !have_fk) {
			uint8_t share[32], shared[32], salt[64], wrap[32],
				b[64];
			size_t sl, bn;
			if (sodium_base642bin(share, 32, line + 10, l - 10, NULL,
					      &sl, NULL, B64_RAW) != 0 ||
			    sl != 32 ||
			    sodium_base642bin(b, sizeof b, body, blen, NULL, &bn,
					      NULL, B64_RAW) != 0 || bn != 32)
				return 9;
			if (crypto_scalarmult(shared, sk, share) != 0)
				return 10;
			memcpy(salt, share, 32);
			memcpy(salt + 32, pk, 32);
			spec_hkdf(wrap, shared, 32, salt, 64,
				  "age-encryption.org/v1/X25519");
			if (crypto_aead_chacha20poly1305_ietf_decrypt(
				    fk, NULL, NULL, b, 32, NULL, 0, zero12,
				    wrap) == 0)
				have_fk = true;
		}
	}
	if (end - p < 16)
		return 11;
	spec_hkdf(key, fk, 16, p, 16, "payload");
	p += 16;
	if (p == end)
		return 12; /* no chunks at all */
	pbuf = malloc(CHUNK);
	if (!pbuf)
		return 13;
	while (p < end) {
		size_t cl = (size_t)(end - p) < ENC_CHUNK ? (size_t)(end - p)
							  : ENC_CHUNK;
		bool last = p + cl == end;
		unsigned long long pl;

		spec_nonce(n12, counter++, last);
		if (cl < 16 ||
		    crypto_aead_chacha20poly1305_ietf_decrypt(
			    pbuf, &pl, NULL, p, cl, NULL, 0, n12, key) != 0 ||
		    (last && pl == 0 && counter > 1)) {
			free(pbuf);
			return 14;
		}
		kbuf_append(out, pbuf, (size_t)pl, &e);
		p += cl;
	}
	free(pbuf);
	return 0;
}

/* Sealed on the calling thread alone: the same format, every size. */
static void round_trip_alone(void)
{
	enc_alone = true;
	round_trip_one_recipient();
	enc_alone = false;
}

static void kluis_output_meets_spec(void)
{
	static const size_t ns[] = { 0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1,
				     2 * CHUNK, 3 * CHUNK + 5 };
	struct keys k;
	struct age_recipients r = { 0 };
	uint8_t *p = malloc(3 * CHUNK + 5);

	CHECK(p);
	fill(p, 3 * CHUNK + 5, 7);
	keys_make(&k);
	r.x25519 = (const uint8_t(*)[32])k.pk;
	r.n_x25519 = 2;
	for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
		struct kbuf c = KBUF_INIT(MiB), out = KBUF_INIT(MiB);
		int rc = encrypt(&r, false, p, ns[i], &c), s = -1;
		bool ok;

		if (!rc)
			s = spec_decrypt(c.p, c.len, k.sk[1], &out);
		ok = s == 0 && out.len == ns[i] &&
		     (ns[i] == 0 || memcmp(out.p, p, ns[i]) == 0);
		if (!ok)
			printf("# size %zu: rc %d spec rule %d\n", ns[i], rc, s);
		kbuf_free(&c);
		kbuf_free(&out);
		if (!ok) {
			free(p);
			CHECK(ok);
		}
	}
	free(p);
}

static int spec_file_decrypts(const struct plan *plan, size_t nplan,
			      const char *extra_before, const char *extra_after)
{
	struct keys k;
	struct age_identities ids = { 0 };
	struct kbuf st = KBUF_INIT(MiB), c = KBUF_INIT(4 * MiB),
		    out = KBUF_INIT(4 * MiB);
	struct kerr e;
	uint8_t fk[16], *p;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < nplan; i++)
		n += plan[i].len;
	p = malloc(n + 1);
	if (!p)
		return -1;
	fill(p, n, 8);
	keys_make(&k);
	randombytes_buf(fk, sizeof fk);
	kbuf_puts(&st, extra_before, &e);
	spec_x25519_stanza(&st, fk, k.pk[0]);
	kbuf_puts(&st, extra_after, &e);
	spec_build(&c, fk, (const char *)st.p, p, plan, nplan);
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	rc = decrypt(&ids, c.p, c.len, 65536, &out, NULL, NULL);
	if (rc == 0 && (out.len != n || (n && memcmp(out.p, p, n) != 0)))
		rc = -2;
	free(p);
	kbuf_free(&st);
	kbuf_free(&c);
	kbuf_free(&out);
	return rc;
}

static void spec_files_decrypt(void)
{
	static const struct plan empty[] = { { 0, true } };
	static const struct plan one[] = { { 1000, true } };
	static const struct plan full[] = { { CHUNK, true } };
	static const struct plan three[] = { { CHUNK, false },
					     { CHUNK, false },
					     { 1, true } };
	static const struct plan two_full[] = { { CHUNK, false },
						{ CHUNK, true } };

	CHECK(spec_file_decrypts(empty, 1, "", "") == 0);
	CHECK(spec_file_decrypts(one, 1, "", "") == 0);
	CHECK(spec_file_decrypts(full, 1, "", "") == 0);
	CHECK(spec_file_decrypts(three, 3, "", "") == 0);
	CHECK(spec_file_decrypts(two_full, 2, "", "") == 0);
}

static void unknown_stanzas_skipped(void)
{
	static const struct plan one[] = { { 100, true } };
	/* A 48-byte body fills one line exactly and needs an empty final
	 * line; stanza names and arguments use the whole VCHAR range. */
	static const char before[] =
		"-> example.com/enigma arg1 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		"\n";
	static const char after[] =
		"-> grease-x\n"
		"\n"
		"-> X25519-not 0 1\n"
		"Zm9vYmFy\n";
	static const char x25519_lookalike[] =
		/* Not an X25519 stanza: the type is case-sensitive. */
		"-> x25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";

	CHECK(spec_file_decrypts(one, 1, before, "") == 0);
	CHECK(spec_file_decrypts(one, 1, "", after) == 0);
	CHECK(spec_file_decrypts(one, 1, before, after) == 0);
	CHECK(spec_file_decrypts(one, 1, x25519_lookalike, "") == 0);
}

static void spec_stream_violations(void)
{
	/* Each is a payload failure in the age test kit's terms. */
	static const struct plan empty_final[] = { { CHUNK, false },
						   { 0, true } };
	static const struct plan two_final[] = { { CHUNK, true },
						 { 10, true } };
	static const struct plan no_final_full[] = { { CHUNK, false } };
	static const struct plan no_final_short[] = { { 10, false } };
	static const struct plan no_final_two[] = { { CHUNK, false },
						    { 10, false } };
	static const struct plan empty_not_final[] = { { 0, false } };
	static const struct plan short_middle[] = { { 10, false },
						    { 10, true } };

	CHECK(spec_file_decrypts(empty_final, 2, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(two_final, 2, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(no_final_full, 1, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(no_final_short, 1, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(no_final_two, 2, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(empty_not_final, 1, "", "") == KERR_PAYLOAD);
	CHECK(spec_file_decrypts(short_middle, 2, "", "") == KERR_PAYLOAD);
	/* No chunk at all. */
	CHECK(spec_file_decrypts(NULL, 0, "", "") == KERR_PAYLOAD);
}

static void empty_final_releases_nothing_more(void)
{
	/* A full non-final chunk then an empty final one: the first chunk
	 * authenticated and may be released, the end is never reported. */
	static const struct plan plan[] = { { CHUNK, false }, { 0, true } };
	struct keys k;
	struct age_identities ids = { 0 };
	struct kbuf st = KBUF_INIT(MiB), c = KBUF_INIT(MiB);
	struct kmem_src src;
	struct age_dec *d;
	struct kerr e;
	const uint8_t *out;
	uint8_t fk[16], *p = malloc(CHUNK);
	size_t n;

	CHECK(p);
	fill(p, CHUNK, 9);
	keys_make(&k);
	randombytes_buf(fk, 16);
	spec_x25519_stanza(&st, fk, k.pk[0]);
	spec_build(&c, fk, (const char *)st.p, p, plan, 2);
	ids.x25519 = k.sk[0];
	ids.n_x25519 = 1;
	kmem_src_init(&src, c.p, c.len);
	CHECK(age_dec_begin(&d, &src.base, &ids, &e) == 0);
	CHECK(age_dec_next(d, &out, &n, &e) == 0);
	CHECK(n == CHUNK && memcmp(out, p, CHUNK) == 0);
	CHECK(age_dec_next(d, &out, &n, &e) == KERR_PAYLOAD);
	age_dec_free(d);
	free(p);
	kbuf_free(&st);
	kbuf_free(&c);
}

static void spec_stanza_violations(void)
{
	static const struct plan one[] = { { 100, true } };
	/* A valid 32-byte share and body, used in malformed stanzas. */
#define S32 "TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc"
	static const char *const bad[] = {
		/* X25519 with an extra argument */
		"-> X25519 " S32 " extra\n" S32 "\n",
		/* X25519 without its share */
		"-> X25519\n" S32 "\n",
		/* share of 31 bytes */
		"-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOA\n" S32 "\n",
		/* share of 33 bytes */
		"-> X25519 " S32 "A\n" S32 "\n",
		/* share not canonical (non-zero trailing bits) */
		"-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCd\n" S32 "\n",
		/* body of 33 bytes */
		"-> X25519 " S32 "\n" S32 "A\n",
		/* body of 16 bytes */
		"-> X25519 " S32 "\nAAAAAAAAAAAAAAAAAAAAAA\n",
		/* low-order share: the shared secret is all zeros */
		"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" S32 "\n",
		/* an scrypt stanza must be alone */
		"-> scrypt ajMFur+EJLGaohv/dLRGnw 10\n" S32 "\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = spec_file_decrypts(one, 1, bad[i], "");
		if (rc != KERR_HEADER)
			printf("# case %zu: rc %d\n", i, rc);
		CHECK(rc == KERR_HEADER);
	}
#undef S32
}

/* ------------------------------------------------------------------ */
/* Made by age 1.1.1 for the spec's example recipient                  */
/* (age -r age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj). */

#define SPEC_IDENTITY \
	"AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"

static const char age_tool_binary_hex[] =
	"6167652d656e6372797074696f6e2e6f72672f76310a2d3e2058323535313920"
	"52534679576a6a4951792f76502b7a4f466a4d31304d75527a5436364f59736c"
	"374e78752b66584d41446f0a55617a2b7863673262454f6c3233566c2b486671"
	"4c4f4d355a2b4e574e304c61794867694e45654f654a300a2d2d2d2032565775"
	"7468735334374c53666e67506c6f6f507143326a4d577633345632576755554a"
	"7335356e79776f0a0c73e10f4df6809c06e107c2d94daff057612a6f54ebb4ce"
	"c9584940827c7fb91b21da2b673df6c4ebe76d1e1b7a7141cb";

static const char age_tool_armored[] =
	"-----BEGIN AGE ENCRYPTED FILE-----\n"
	"YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBLWlVWS0xhSHlwZ2xLMm42\n"
	"QzAyVVRRMWNjYVdybVh2aVBJM0V4SXRudGd3Cm1CTzZTbHoyMjh1TnZWWXBETnRt\n"
	"ZFRzdGd1c050SUtleWt2OHRVeUpFdjQKLS0tIFVtVFVYMzdvbTlXcXk2TStpdnUw\n"
	"ZHBPL2NGNEE3MUVtTjhDaG1QTERGMDQKiOF8KaHTaeme35TqbycE9yLWkCfmLlgm\n"
	"4g4QkYEC2pXBOstrKdbrSRPaKuz30Y1LOQ==\n"
	"-----END AGE ENCRYPTED FILE-----\n";

static void age_tool_vectors(void)
{
	uint8_t file[217], sk[32];
	struct age_identities ids = { 0 };
	struct kbuf out = KBUF_INIT(4096);
	struct kerr e;
	bool armored = true;
	const char *rtype = NULL;

	CHECK(unit_unhex(age_tool_binary_hex, file, sizeof file) == 217);
	CHECK(agekey_identity_decode(SPEC_IDENTITY, strlen(SPEC_IDENTITY), sk,
				     &e) == 0);
	ids.x25519 = sk;
	ids.n_x25519 = 1;
	CHECK(decrypt(&ids, file, sizeof file, 4096, &out, &armored, &rtype) == 0);
	CHECK(!armored && strcmp(rtype, "X25519") == 0);
	CHECK(out.len == 17 && memcmp(out.p, "kluis age vector\n", 17) == 0);
	kbuf_reset(&out);
	CHECK(decrypt(&ids, age_tool_armored, strlen(age_tool_armored), 4096,
		      &out, &armored, NULL) == 0);
	CHECK(armored);
	CHECK(out.len == 17 && memcmp(out.p, "kluis age vector\n", 17) == 0);
	/* The spec implementation agrees on the binary vector. */
	kbuf_reset(&out);
	CHECK(spec_decrypt(file, sizeof file, sk, &out) == 0);
	CHECK(out.len == 17 && memcmp(out.p, "kluis age vector\n", 17) == 0);
	kbuf_free(&out);
}

const struct unit_case suite_age[] = {
	{ "age: round trips, one X25519 recipient, 0..10 MiB, binary+armored",
	  round_trip_one_recipient },
	{ "age: round trip sealed on one thread (age_enc_alone)",
	  round_trip_alone },
	{ "age: round trips, three X25519 recipients, each identity",
	  round_trip_three_recipients },
	{ "age: round trips, passphrase (scrypt 2^10)", round_trip_passphrase },
	{ "age: scrypt stanza shape", scrypt_stanza_shape },
	{ "age: scrypt work factor above the limit -> KERR_HEADER",
	  scrypt_work_factor_limit },
	{ "age: passphrase callback asked only for scrypt files",
	  passphrase_asked_only_when_needed },
	{ "age: second of two identities, second of two stanzas",
	  second_identity_decrypts },
	{ "age: wrong identity / passphrase / kind -> KERR_NOMATCH",
	  wrong_identity_or_passphrase },
	{ "age: encryptor usage errors", encrypt_usage_errors },
	{ "age: two encryptions of the same plaintext differ",
	  encryptions_differ },
	{ "age: age_dec_read with buffers of 1, 7, 64 KiB, 1 MiB",
	  reader_buffer_sizes },
	{ "age: age_dec_src as a byte source", dec_src_reads_as_source },
	{ "age: kluis output decrypts with a spec implementation",
	  kluis_output_meets_spec },
	{ "age: files built from the spec decrypt (chunk layouts)",
	  spec_files_decrypt },
	{ "age: unknown stanzas are skipped", unknown_stanzas_skipped },
	{ "age: STREAM violations -> KERR_PAYLOAD", spec_stream_violations },
	{ "age: empty final chunk after a full one: no end reported",
	  empty_final_releases_nothing_more },
	{ "age: malformed X25519/scrypt stanzas -> KERR_HEADER",
	  spec_stanza_violations },
	{ "age: vectors made by the age tool (binary, armored)",
	  age_tool_vectors },
	{ NULL, NULL },
};
