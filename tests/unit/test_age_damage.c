/*
 * age under damage: flipped bits in each part of a file, truncation at each
 * boundary, appended data, oversized headers.  Every case asserts the
 * failure class the age spec (and its test kit) gives it, and that no
 * plaintext of a chunk that failed to authenticate is released.
 *
 * A binary file for one X25519 recipient is laid out as
 *   "age-encryption.org/v1\n"            22 bytes
 *   "-> X25519 " share(43) "\n"         54
 *   body(43) "\n"                        44
 *   "--- " mac(43) "\n"                  48     header: 168 bytes
 *   nonce                                16
 *   chunks of 65536+16 bytes, the last 17..65552 (16 if the file is empty)
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "kluis.h"
#include "unit.h"

#define MiB (1024u * 1024u)
#define CHUNK AGE_CHUNK_SIZE
#define ENC_CHUNK (CHUNK + 16)
#define B64_RAW sodium_base64_VARIANT_ORIGINAL_NO_PADDING

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_index(char c)
{
	const char *p = strchr(b64chars, c);
	return p && c ? (int)(p - b64chars) : -1;
}

struct fx {
	uint8_t sk[3][32], pk[3][32];
	uint8_t *p;     /* plaintext */
	size_t n;
	uint8_t *c;     /* ciphertext (owned copy) */
	size_t clen;
	size_t hdr;     /* header length, binary files */
};

static void fx_free(struct fx *f)
{
	free(f->p);
	free(f->c);
	memset(f, 0, sizeof *f);
}

/* Encrypt n bytes to the first nrcpt keys. */
static int fx_make(struct fx *f, size_t n, size_t nrcpt, bool armor)
{
	struct kbuf out = KBUF_INIT(64 * MiB);
	struct kbuf_sink sink;
	struct age_recipients r = { 0 };
	struct age_enc *enc;
	struct kerr e;
	uint8_t seed[randombytes_SEEDBYTES] = { 42 };
	int rc;

	memset(f, 0, sizeof *f);
	for (int i = 0; i < 3; i++) {
		agekey_generate(f->sk[i]);
		agekey_public(f->sk[i], f->pk[i]);
	}
	f->n = n;
	f->p = malloc(n + 1);
	if (!f->p)
		return KERR_NOMEM;
	randombytes_buf_deterministic(f->p, n, seed);
	r.x25519 = (const uint8_t(*)[32])f->pk;
	r.n_x25519 = nrcpt;
	kbuf_sink_init(&sink, &out);
	rc = age_enc_begin(&enc, &r, armor, &sink.base, &e);
	if (rc)
		return rc;
	rc = age_enc_write(enc, f->p, n, &e);
	if (!rc)
		rc = age_enc_finish(enc, &e);
	age_enc_free(enc);
	if (rc) {
		kbuf_free(&out);
		return rc;
	}
	f->c = kbuf_take(&out, &f->clen);
	if (!armor) {
		for (size_t i = 0; i + 5 < f->clen; i++)
			if (f->c[i] == '\n' && memcmp(f->c + i + 1, "--- ", 4) == 0) {
				f->hdr = i + 1 + 48;
				break;
			}
	}
	return 0;
}

/*
 * Decrypt buf[0..len) with identity `who` of f through age_dec_next,
 * appending what is released to rel (may be NULL).  Returns the code;
 * *ended tells whether authentic end of data was reported.
 */
static int try_dec(const struct fx *f, int who, const uint8_t *buf,
		   size_t len, size_t *released, bool *ended)
{
	struct age_identities ids = { 0 };
	struct kmem_src src;
	struct age_dec *d;
	struct kerr e;
	size_t total = 0;
	int rc;

	ids.x25519 = f->sk[who];
	ids.n_x25519 = 1;
	if (ended)
		*ended = false;
	kmem_src_init(&src, buf, len);
	rc = age_dec_begin(&d, &src.base, &ids, &e);
	if (rc) {
		if (released)
			*released = 0;
		return rc;
	}
	for (;;) {
		const uint8_t *p;
		size_t n;

		rc = age_dec_next(d, &p, &n, &e);
		if (rc)
			break;
		if (n == 0) {
			if (ended)
				*ended = true;
			break;
		}
		/* Whatever is released must be the plaintext, in order. */
		if (total + n > f->n || memcmp(p, f->p + total, n) != 0) {
			rc = -1;
			break;
		}
		total += n;
	}
	if (released)
		*released = total;
	age_dec_free(d);
	return rc;
}

/* Decrypt a modified copy: bytes [off..off+n) replaced by rep. */
static int try_patched(const struct fx *f, int who, size_t off,
		       const void *rep, size_t n, size_t *released)
{
	uint8_t *c = malloc(f->clen);
	int rc;

	if (!c)
		return KERR_NOMEM;
	memcpy(c, f->c, f->clen);
	memcpy(c + off, rep, n);
	rc = try_dec(f, who, c, f->clen, released, NULL);
	free(c);
	return rc;
}

/* Offset of the first occurrence of s in f's header. */
static size_t find(const struct fx *f, const char *s, size_t from)
{
	size_t n = strlen(s);

	for (size_t i = from; i + n <= f->hdr; i++)
		if (memcmp(f->c + i, s, n) == 0)
			return i;
	return (size_t)-1;
}

/* A different base64 character with the same low `keep` bits. */
static char other_b64(char c, int low_bits_zero)
{
	int v = b64_index(c), mask = (1 << low_bits_zero) - 1;

	for (int d = 1; d < 64; d++) {
		int w = (v + (d << low_bits_zero)) & 63;
		if ((w & mask) == (v & mask) && w != v)
			return b64chars[w];
	}
	return '?';
}

static void sanity(void)
{
	struct fx f;
	bool ended;
	size_t rel;

	CHECK(fx_make(&f, 1000, 1, false) == 0);
	CHECK(f.hdr == 168 && f.clen == 168 + 16 + 1000 + 16);
	CHECK(try_dec(&f, 0, f.c, f.clen, &rel, &ended) == 0);
	CHECK(ended && rel == 1000);
	CHECK(try_dec(&f, 1, f.c, f.clen, &rel, NULL) == KERR_NOMATCH);
	CHECK(rel == 0);
	fx_free(&f);
}

static void stanza_body_altered(void)
{
	struct fx f;
	size_t body, last;
	char c;

	CHECK(fx_make(&f, 1000, 1, false) == 0);
	body = find(&f, "\n", find(&f, "-> X25519 ", 0)) + 1;
	last = body + 42;
	CHECK(f.c[last + 1] == '\n');
	/* Another base64 character: still 32 canonical bytes, but the
	 * wrapped key no longer authenticates, so nothing matches. */
	c = other_b64((char)f.c[body], 0);
	CHECK(try_patched(&f, 0, body, &c, 1, NULL) == KERR_NOMATCH);
	c = other_b64((char)f.c[body + 20], 0);
	CHECK(try_patched(&f, 0, body + 20, &c, 1, NULL) == KERR_NOMATCH);
	/* The same with the last character's two spare bits kept zero. */
	c = other_b64((char)f.c[last], 2);
	CHECK(try_patched(&f, 0, last, &c, 1, NULL) == KERR_NOMATCH);
	/* A spare bit set: not canonical base64, a malformed header. */
	c = b64chars[b64_index((char)f.c[last]) ^ 1];
	CHECK(try_patched(&f, 0, last, &c, 1, NULL) == KERR_HEADER);
	/* A character outside base64. */
	c = (char)(f.c[body + 5] ^ 0x80);
	CHECK(try_patched(&f, 0, body + 5, &c, 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, body + 5, "=", 1, NULL) == KERR_HEADER);
	/* One character more: a 33-byte body is refused before decryption. */
	fx_free(&f);
}

static void stanza_argument_altered(void)
{
	struct fx f;
	size_t share, last;
	char c;

	CHECK(fx_make(&f, 1000, 1, false) == 0);
	share = find(&f, "-> X25519 ", 0) + 10;
	last = share + 42;
	CHECK(f.c[last + 1] == '\n');
	/* A different (canonical) share: a different shared secret. */
	c = other_b64((char)f.c[share], 0);
	CHECK(try_patched(&f, 0, share, &c, 1, NULL) == KERR_NOMATCH);
	c = other_b64((char)f.c[share + 10], 0);
	CHECK(try_patched(&f, 0, share + 10, &c, 1, NULL) == KERR_NOMATCH);
	/* Not canonical: a header failure. */
	c = b64chars[b64_index((char)f.c[last]) ^ 2];
	CHECK(try_patched(&f, 0, last, &c, 1, NULL) == KERR_HEADER);
	/* The type: an X25519 stanza no longer, so it is skipped and no
	 * identity matches. */
	CHECK(try_patched(&f, 0, share - 7, "Y", 1, NULL) == KERR_NOMATCH);
	CHECK(try_patched(&f, 0, share - 7, "x", 1, NULL) == KERR_NOMATCH);
	/* The separator: an empty argument; a tab: not a VCHAR. */
	CHECK(try_patched(&f, 0, share, " ", 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, share - 1, "\t", 1, NULL) == KERR_HEADER);
	/* "->" broken: neither a stanza nor the MAC line. */
	CHECK(try_patched(&f, 0, share - 9, "<", 1, NULL) == KERR_HEADER);
	fx_free(&f);
}

static void other_recipients_stanza_altered(void)
{
	/* Two recipients; identity B (second stanza) unwraps the file key,
	 * so the change to A's stanza is caught by the header MAC. */
	struct fx f;
	size_t a_share, a_body, b_stanza;
	char c;

	CHECK(fx_make(&f, 1000, 2, false) == 0);
	a_share = find(&f, "-> X25519 ", 0) + 10;
	a_body = find(&f, "\n", a_share) + 1;
	b_stanza = find(&f, "-> X25519 ", a_share);
	CHECK(b_stanza != (size_t)-1 && b_stanza > a_body);
	CHECK(try_dec(&f, 1, f.c, f.clen, NULL, NULL) == 0);
	c = other_b64((char)f.c[a_body + 3], 0);
	CHECK(try_patched(&f, 1, a_body + 3, &c, 1, NULL) == KERR_HMAC);
	c = other_b64((char)f.c[a_share + 3], 0);
	CHECK(try_patched(&f, 1, a_share + 3, &c, 1, NULL) == KERR_HMAC);
	/* A's stanza turned into an unknown type: skipped, MAC fails. */
	CHECK(try_patched(&f, 1, a_share - 7, "Z", 1, NULL) == KERR_HMAC);
	/* ...and for A itself there is then no match. */
	CHECK(try_patched(&f, 0, a_share - 7, "Z", 1, NULL) == KERR_NOMATCH);
	/* A malformed X25519 stanza is a header failure for everyone. */
	c = b64chars[b64_index((char)f.c[a_share + 42]) ^ 1];
	CHECK(try_patched(&f, 1, a_share + 42, &c, 1, NULL) == KERR_HEADER);
	fx_free(&f);
}

static void version_line_altered(void)
{
	struct fx f;

	CHECK(fx_make(&f, 10, 1, false) == 0);
	CHECK(memcmp(f.c, "age-encryption.org/v1\n", 22) == 0);
	CHECK(try_patched(&f, 0, 20, "2", 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, 19, "V", 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, 21, " ", 1, NULL) == KERR_HEADER);
	fx_free(&f);
}

static void mac_altered(void)
{
	struct fx f;
	uint8_t mac[32];
	char b64[64];
	size_t m, ml;

	CHECK(fx_make(&f, 1000, 1, false) == 0);
	m = find(&f, "--- ", 0) + 4;
	CHECK(m + 44 == f.hdr);
	CHECK(sodium_base642bin(mac, 32, (const char *)f.c + m, 43, NULL, &ml,
				NULL, B64_RAW) == 0 && ml == 32);
	/* Each flipped bit, re-encoded canonically: an HMAC failure. */
	for (int bit = 0; bit < 256; bit += 37) {
		mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		sodium_bin2base64(b64, sizeof b64, mac, 32, B64_RAW);
		CHECK(try_patched(&f, 0, m, b64, 43, NULL) == KERR_HMAC);
		mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Not canonical (a spare bit set) or not base64: header failure. */
	b64[0] = b64chars[b64_index((char)f.c[m + 42]) ^ 1];
	CHECK(try_patched(&f, 0, m + 42, b64, 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, m + 42, "=", 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, m + 10, "*", 1, NULL) == KERR_HEADER);
	/* "--- " broken. */
	CHECK(try_patched(&f, 0, m - 1, "-", 1, NULL) == KERR_HEADER);
	CHECK(try_patched(&f, 0, m - 2, "+", 1, NULL) == KERR_HEADER);
	fx_free(&f);
}

static void chunks_altered(void)
{
	struct fx f;
	size_t rel, pay, last;
	uint8_t b;

	CHECK(fx_make(&f, 3 * CHUNK + 100, 1, false) == 0);
	pay = f.hdr + 16;
	last = pay + 3 * ENC_CHUNK;
	CHECK(f.clen == last + 100 + 16);
	/* First chunk: nothing at all is released. */
	b = f.c[pay + 7] ^ 0x01;
	CHECK(try_patched(&f, 0, pay + 7, &b, 1, &rel) == KERR_PAYLOAD);
	CHECK(rel == 0);
	/* Its tag. */
	b = f.c[pay + ENC_CHUNK - 1] ^ 0x80;
	CHECK(try_patched(&f, 0, pay + ENC_CHUNK - 1, &b, 1, &rel) ==
	      KERR_PAYLOAD);
	CHECK(rel == 0);
	/* Second chunk: only the first is released. */
	b = f.c[pay + ENC_CHUNK + 100] ^ 0x10;
	CHECK(try_patched(&f, 0, pay + ENC_CHUNK + 100, &b, 1, &rel) ==
	      KERR_PAYLOAD);
	CHECK(rel == CHUNK);
	/* Last chunk: the full chunks, not a byte of the last one. */
	b = f.c[last + 50] ^ 0x04;
	CHECK(try_patched(&f, 0, last + 50, &b, 1, &rel) == KERR_PAYLOAD);
	CHECK(rel == 3 * CHUNK);
	b = f.c[f.clen - 1] ^ 0x01;
	CHECK(try_patched(&f, 0, f.clen - 1, &b, 1, &rel) == KERR_PAYLOAD);
	CHECK(rel == 3 * CHUNK);
	/* The payload nonce: every chunk's key changes. */
	b = f.c[f.hdr + 3] ^ 0x20;
	CHECK(try_patched(&f, 0, f.hdr + 3, &b, 1, &rel) == KERR_PAYLOAD);
	CHECK(rel == 0);
	/* Swapping two full chunks breaks the counter. */
	{
		uint8_t *c = malloc(f.clen);
		CHECK(c);
		memcpy(c, f.c, f.clen);
		memcpy(c + pay, f.c + pay + ENC_CHUNK, ENC_CHUNK);
		memcpy(c + pay + ENC_CHUNK, f.c + pay, ENC_CHUNK);
		CHECK(try_dec(&f, 0, c, f.clen, &rel, NULL) == KERR_PAYLOAD);
		free(c);
		CHECK(rel == 0);
	}
	fx_free(&f);
}

static void full_final_chunk_altered(void)
{
	struct fx f;
	size_t rel;
	uint8_t b;

	/* Exactly one chunk: full and final. */
	CHECK(fx_make(&f, CHUNK, 1, false) == 0);
	CHECK(f.clen == f.hdr + 16 + ENC_CHUNK);
	b = f.c[f.hdr + 16 + 1234] ^ 0x40;
	CHECK(try_patched(&f, 0, f.hdr + 16 + 1234, &b, 1, &rel) ==
	      KERR_PAYLOAD);
	CHECK(rel == 0);
	fx_free(&f);
	/* Empty plaintext: a lone, empty final chunk (the tag). */
	CHECK(fx_make(&f, 0, 1, false) == 0);
	CHECK(f.clen == f.hdr + 16 + 16);
	b = f.c[f.clen - 3] ^ 0x02;
	CHECK(try_patched(&f, 0, f.clen - 3, &b, 1, &rel) == KERR_PAYLOAD);
	fx_free(&f);
}

static int truncated(const struct fx *f, size_t len, size_t *rel,
		     bool *ended)
{
	return try_dec(f, 0, f->c, len, rel, ended);
}

static void truncations(void)
{
	static const size_t in_header[] = { 1, 10, 21, 22, 30, 75, 76, 100,
					    119, 120, 130, 160, 167 };
	struct fx f;
	size_t rel, pay;
	bool ended;

	CHECK(fx_make(&f, CHUNK + 1, 1, false) == 0);
	pay = f.hdr + 16;
	CHECK(f.clen == pay + ENC_CHUNK + 17);
	/* Empty. */
	CHECK(truncated(&f, 0, &rel, &ended) == KERR_HEADER);
	/* Inside the header, including right after a line feed. */
	for (size_t i = 0; i < sizeof in_header / sizeof *in_header; i++) {
		int rc = truncated(&f, in_header[i], &rel, &ended);
		if (rc != KERR_HEADER)
			printf("# cut at %zu: rc %d\n", in_header[i], rc);
		CHECK(rc == KERR_HEADER);
	}
	/* Right after the header, inside the nonce. */
	CHECK(truncated(&f, f.hdr, &rel, &ended) == KERR_HEADER);
	CHECK(truncated(&f, f.hdr + 1, &rel, &ended) == KERR_HEADER);
	CHECK(truncated(&f, f.hdr + 15, &rel, &ended) == KERR_HEADER);
	/* Right after the nonce: no chunk at all. */
	CHECK(truncated(&f, pay, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == 0 && !ended);
	/* Inside the first chunk, or its tag. */
	CHECK(truncated(&f, pay + 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(truncated(&f, pay + 1000, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == 0);
	CHECK(truncated(&f, pay + ENC_CHUNK - 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == 0);
	/* Exactly at the boundary after the full, non-final chunk. */
	CHECK(truncated(&f, pay + ENC_CHUNK, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == CHUNK && !ended);
	/* Inside the final chunk's tag. */
	CHECK(truncated(&f, pay + ENC_CHUNK + 5, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == CHUNK && !ended);
	CHECK(truncated(&f, f.clen - 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == CHUNK && !ended);
	/* Whole. */
	CHECK(truncated(&f, f.clen, &rel, &ended) == 0);
	CHECK(rel == CHUNK + 1 && ended);
	fx_free(&f);
}

static void truncation_at_each_full_chunk(void)
{
	struct fx f;
	size_t rel, pay;
	bool ended;

	/* Three full chunks, the third one final. */
	CHECK(fx_make(&f, 3 * CHUNK, 1, false) == 0);
	pay = f.hdr + 16;
	CHECK(f.clen == pay + 3 * ENC_CHUNK);
	for (size_t k = 1; k <= 2; k++) {
		CHECK(truncated(&f, pay + k * ENC_CHUNK, &rel, &ended) ==
		      KERR_PAYLOAD);
		CHECK(rel == k * CHUNK && !ended);
	}
	CHECK(truncated(&f, f.clen, &rel, &ended) == 0);
	CHECK(rel == 3 * CHUNK && ended);
	fx_free(&f);
}

static int with_suffix(const struct fx *f, const void *s, size_t n,
		       size_t *rel, bool *ended)
{
	uint8_t *c = malloc(f->clen + n);
	int rc;

	if (!c)
		return KERR_NOMEM;
	memcpy(c, f->c, f->clen);
	memcpy(c + f->clen, s, n);
	rc = try_dec(f, 0, c, f->clen + n, rel, ended);
	free(c);
	return rc;
}

static void appended_data(void)
{
	struct fx f;
	size_t rel;
	bool ended;
	uint8_t *junk = calloc(1, ENC_CHUNK + 1);

	CHECK(junk);
	/* After a short final chunk: the chunk no longer authenticates. */
	CHECK(fx_make(&f, 1000, 1, false) == 0);
	CHECK(with_suffix(&f, "x", 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == 0 && !ended);
	CHECK(with_suffix(&f, "\n", 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(with_suffix(&f, junk, ENC_CHUNK + 1, &rel, &ended) ==
	      KERR_PAYLOAD);
	CHECK(!ended);
	/* The last chunk repeated. */
	CHECK(with_suffix(&f, f.c + f.hdr + 16, 1016, &rel, &ended) ==
	      KERR_PAYLOAD);
	CHECK(!ended);
	fx_free(&f);
	/* After a full final chunk: the chunk is authentic, the end is not. */
	CHECK(fx_make(&f, CHUNK, 1, false) == 0);
	CHECK(with_suffix(&f, "x", 1, &rel, &ended) == KERR_PAYLOAD);
	CHECK(!ended && rel <= CHUNK);
	CHECK(with_suffix(&f, junk, 16, &rel, &ended) == KERR_PAYLOAD);
	CHECK(!ended);
	fx_free(&f);
	free(junk);
}

static void armored_damage(void)
{
	struct fx f;
	size_t rel, endl, lastl;
	bool ended;
	uint8_t *c;
	char ch;

	CHECK(fx_make(&f, 1000, 1, true) == 0);
	CHECK(try_dec(&f, 0, f.c, f.clen, &rel, &ended) == 0 && ended);
	/* Whitespace after END is fine; anything else is not. */
	CHECK(with_suffix(&f, "\n \t\r\n", 5, &rel, &ended) == 0 && ended);
	CHECK(with_suffix(&f, "x", 1, &rel, &ended) == KERR_ARMOR);
	CHECK(rel == 0 && !ended);
	/* CRLF line endings and whitespace before BEGIN. */
	c = malloc(2 * f.clen + 8);
	CHECK(c);
	{
		size_t m = 0;
		memcpy(c, " \r\n\t\n", 5);
		m = 5;
		for (size_t i = 0; i < f.clen; i++) {
			if (f.c[i] == '\n')
				c[m++] = '\r';
			c[m++] = f.c[i];
		}
		rel = 0;
		CHECK(try_dec(&f, 0, c, m, &rel, &ended) == 0 && ended);
		CHECK(rel == 1000);
	}
	free(c);
	/* Without its END line. */
	endl = f.clen - strlen("-----END AGE ENCRYPTED FILE-----\n");
	CHECK(memcmp(f.c + endl, "-----END", 8) == 0);
	CHECK(truncated(&f, endl, &rel, &ended) == KERR_ARMOR);
	CHECK(rel == 0);
	/* A changed base64 character in the payload part of the armor
	 * (canonical still): the final chunk does not authenticate. */
	lastl = endl - 2;
	while (f.c[lastl - 1] != '\n')
		lastl--;
	c = malloc(f.clen);
	CHECK(c);
	memcpy(c, f.c, f.clen);
	ch = other_b64((char)c[lastl + 4], 0);
	c[lastl + 4] = (uint8_t)ch;
	CHECK(try_dec(&f, 0, c, f.clen, &rel, &ended) == KERR_PAYLOAD);
	CHECK(rel == 0 && !ended);
	/* A space inside a line. */
	memcpy(c, f.c, f.clen);
	c[lastl + 4] = ' ';
	CHECK(try_dec(&f, 0, c, f.clen, &rel, &ended) == KERR_ARMOR);
	free(c);
	fx_free(&f);
}

/* A binary header of exactly `total` bytes: version line, one stanza with
 * a long zero body, MAC line (with a dummy MAC), then `tail` bytes. */
static uint8_t *sized_header(size_t total, size_t tail, size_t *len)
{
	size_t k = (total - 76) / 65 - 1, j = total - 75 - 65 * k, pos = 0;
	uint8_t *b = malloc(total + tail);

	if (!b)
		return NULL;
	memcpy(b, "age-encryption.org/v1\n-> ", 25);
	pos = 25;
	memset(b + pos, 'a', j);
	pos += j;
	b[pos++] = '\n';
	for (size_t i = 0; i < k; i++) {
		memset(b + pos, 'A', 64);
		pos += 64;
		b[pos++] = '\n';
	}
	b[pos++] = '\n';
	memcpy(b + pos, "--- ", 4);
	pos += 4;
	memset(b + pos, 'A', 43);
	pos += 43;
	b[pos++] = '\n';
	memset(b + pos, 0, tail);
	*len = pos + tail;
	return b;
}

static void header_size_cap(void)
{
	struct kmem_src src;
	struct kreader r;
	struct age_header h;
	struct kerr e;
	struct fx f;
	size_t len, rel;
	uint8_t *b;

	/* Exactly AGE_HEADER_MAX bytes parses... */
	b = sized_header(AGE_HEADER_MAX, 3, &len);
	CHECK(b && len == AGE_HEADER_MAX + 3);
	kmem_src_init(&src, b, len);
	CHECK(kreader_init(&r, &src.base, 4 * ENC_CHUNK, &e) == 0);
	CHECK(age_header_parse(&r, &h, &e) == 0);
	CHECK(r.offset == AGE_HEADER_MAX);
	CHECK(h.n == 1 && h.stanzas[0].body_len % 48 == 0 &&
	      h.stanzas[0].body_len > 700000);
	age_header_free(&h);
	kreader_free(&r);
	free(b);
	/* ...one byte more does not, through the parser or the decryptor. */
	b = sized_header(AGE_HEADER_MAX + 1, 100, &len);
	CHECK(b);
	kmem_src_init(&src, b, len);
	CHECK(kreader_init(&r, &src.base, 4 * ENC_CHUNK, &e) == 0);
	CHECK(age_header_parse(&r, &h, &e) == KERR_HEADER);
	CHECK(h.n == 0 && h.stanzas == NULL && h.mac_input == NULL);
	kreader_free(&r);
	CHECK(fx_make(&f, 1, 1, false) == 0);
	CHECK(try_dec(&f, 0, b, len, &rel, NULL) == KERR_HEADER);
	free(b);
	/* A header of 4 MiB never ends in memory. */
	b = sized_header(4 * MiB, 100, &len);
	CHECK(b);
	CHECK(try_dec(&f, 0, b, len, &rel, NULL) == KERR_HEADER);
	free(b);
	fx_free(&f);
}

static void not_age_at_all(void)
{
	struct fx f;

	CHECK(fx_make(&f, 1, 1, false) == 0);
	CHECK(try_dec(&f, 0, (const uint8_t *)"", 0, NULL, NULL) == KERR_HEADER);
	CHECK(try_dec(&f, 0, (const uint8_t *)"age", 3, NULL, NULL) == KERR_HEADER);
	CHECK(try_dec(&f, 0, (const uint8_t *)"age-encryption.org/", 19, NULL,
		      NULL) == KERR_HEADER);
	CHECK(try_dec(&f, 0, (const uint8_t *)"age-encryption.org/v1\n", 22,
		      NULL, NULL) == KERR_HEADER);
	fx_free(&f);
}

/* Decrypt buf and return the code and error; *released counts the bytes
 * handed out (checked against the plaintext), and a second call after the
 * failure must report the same failure. */
static int dec_err(const struct fx *f, const uint8_t *buf, size_t len,
		   size_t *released, struct kerr *e)
{
	struct age_identities ids = { 0 };
	struct kmem_src src;
	struct age_dec *d;
	struct kerr again;
	const uint8_t *p;
	size_t n, total = 0;
	int rc;

	ids.x25519 = f->sk[0];
	ids.n_x25519 = 1;
	kmem_src_init(&src, buf, len);
	rc = age_dec_begin(&d, &src.base, &ids, e);
	if (rc)
		return rc;
	while ((rc = age_dec_next(d, &p, &n, e)) == 0 && n > 0) {
		if (total + n > f->n || memcmp(p, f->p + total, n) != 0) {
			rc = -1;
			break;
		}
		total += n;
	}
	if (rc > 0 && (age_dec_next(d, &p, &n, &again) != rc ||
		       strcmp(again.why, e->why) != 0))
		rc = -2;
	*released = total;
	age_dec_free(d);
	return rc;
}

/* Chunks are opened AGE_BATCH at a time on two threads: damage deep in a
 * later batch still releases exactly the chunks before it, in order. */
static void damage_inside_a_batch(void)
{
	size_t nchunks = AGE_BATCH + 18, bad = AGE_BATCH + 4, rel;
	struct fx f;
	struct kerr e;
	uint8_t *c;

	CHECK(fx_make(&f, nchunks * CHUNK - 100, 1, false) == 0);
	c = malloc(f.clen);
	CHECK(c != NULL);
	memcpy(c, f.c, f.clen);
	c[f.hdr + 16 + bad * ENC_CHUNK + 1000] ^= 0x20;
	CHECK(dec_err(&f, c, f.clen, &rel, &e) == KERR_PAYLOAD);
	CHECK(rel == bad * CHUNK);
	{
		char want[32];
		snprintf(want, sizeof want, "chunk %zu", bad + 1);
		CHECK_STR(e.where, want);
	}
	/* Damage in the first chunk of the first batch: nothing released. */
	memcpy(c, f.c, f.clen);
	c[f.hdr + 16 + 5] ^= 1;
	CHECK(dec_err(&f, c, f.clen, &rel, &e) == KERR_PAYLOAD);
	CHECK(rel == 0 && strcmp(e.where, "chunk 1") == 0);
	free(c);
	fx_free(&f);
}

/* A full chunk flagged final in the middle of a batch, then more data:
 * the final chunk is authentic and released, the rest refused. */
static void final_chunk_inside_a_batch(void)
{
	size_t nchunks = 10, rel;
	struct fx f;
	struct kerr e;
	uint8_t *c;

	CHECK(fx_make(&f, nchunks * CHUNK, 1, false) == 0);
	CHECK(f.clen == f.hdr + 16 + nchunks * ENC_CHUNK);
	c = malloc(f.clen + 5 * ENC_CHUNK);
	CHECK(c != NULL);
	memcpy(c, f.c, f.clen);
	randombytes_buf(c + f.clen, 5 * ENC_CHUNK);
	CHECK(dec_err(&f, c, f.clen + 5 * ENC_CHUNK, &rel, &e) == KERR_PAYLOAD);
	CHECK(rel == nchunks * CHUNK);
	CHECK(strstr(e.why, "data after the final chunk") != NULL);
	free(c);
	fx_free(&f);
}

const struct unit_case suite_age_damage[] = {
	{ "age damage: inside a parallel batch -> exact prefix released",
	  damage_inside_a_batch },
	{ "age damage: full final chunk inside a batch, then data",
	  final_chunk_inside_a_batch },
	{ "age damage: intact file decrypts", sanity },
	{ "age damage: stanza body -> NOMATCH or HEADER", stanza_body_altered },
	{ "age damage: stanza arguments -> NOMATCH or HEADER",
	  stanza_argument_altered },
	{ "age damage: another recipient's stanza -> HMAC",
	  other_recipients_stanza_altered },
	{ "age damage: version line -> HEADER", version_line_altered },
	{ "age damage: MAC bits -> HMAC, MAC syntax -> HEADER", mac_altered },
	{ "age damage: first/middle/last chunk, nonce -> PAYLOAD, no release",
	  chunks_altered },
	{ "age damage: single full final chunk, empty payload -> PAYLOAD",
	  full_final_chunk_altered },
	{ "age damage: truncation in header, nonce, chunk, at boundary",
	  truncations },
	{ "age damage: truncation after each full chunk",
	  truncation_at_each_full_chunk },
	{ "age damage: appended data -> PAYLOAD", appended_data },
	{ "age damage: armored files", armored_damage },
	{ "age damage: header size cap (AGE_HEADER_MAX) -> HEADER",
	  header_size_cap },
	{ "age damage: empty and too-short files -> HEADER", not_age_at_all },
	{ NULL, NULL },
};
