/*
 * agecraft — write an age v1 file for one X25519 recipient with a chosen
 * sequence of payload chunks, well-formed or not.  Test-only: it lets the
 * shell tests build files that no correct encryptor produces (an empty
 * final chunk after a full one, a final chunk followed by more chunks, a
 * file without a final chunk ...).
 *
 *   agecraft RECIPIENT OUT SPEC [PLAIN]
 *
 * RECIPIENT  age1… X25519 recipient
 * OUT        the age file to write ("-" for standard output)
 * SPEC       comma-separated chunks, in order; each is
 *              full     65536 bytes of plaintext
 *              short    1000 bytes
 *              empty    0 bytes
 *              N        N bytes (0..65536)
 *            optionally followed by "-last" to set the STREAM last flag,
 *            e.g. "full,short-last" (well-formed) or "full,empty-last".
 * PLAIN      if given, the concatenated plaintext is written there.
 *
 * The header is built here from the age spec (c2sp.org/age), independently
 * of lib/age.c: X25519 stanza with an HKDF-SHA-256 wrap key, ChaCha20-
 * Poly1305 with a zero nonce, HMAC-SHA-256 header MAC under
 * HKDF(file key, "", "header"), payload key HKDF(file key, nonce,
 * "payload"), STREAM nonce = 11-byte big-endian counter | last flag.
 * Only key decoding (agekey.h), HKDF (hkdf.h) and base64 (b64.h) come from
 * libkluis.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agekey.h"
#include "b64.h"
#include "hkdf.h"

#define CHUNK 65536
#define TAG 16
#define MAX_CHUNKS 4096
#define SHORT_LEN 1000

struct chunk {
	size_t len;
	bool last;
};

static void die(const char *msg)
{
	fprintf(stderr, "agecraft: %s\n", msg);
	exit(2);
}

static void put(FILE *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f) != n)
		die("write failed");
}

static size_t parse_spec(const char *spec, struct chunk *out, size_t max)
{
	size_t n = 0;
	const char *p = spec;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char tok[64];
		char *dash;

		if (len == 0 || len >= sizeof tok)
			die("bad chunk in SPEC");
		if (n == max)
			die("too many chunks in SPEC");
		memcpy(tok, p, len);
		tok[len] = '\0';
		out[n].last = false;
		dash = strstr(tok, "-last");
		if (dash) {
			if (strcmp(dash, "-last") != 0)
				die("'-last' must end a chunk");
			*dash = '\0';
			out[n].last = true;
		}
		if (strcmp(tok, "full") == 0)
			out[n].len = CHUNK;
		else if (strcmp(tok, "short") == 0)
			out[n].len = SHORT_LEN;
		else if (strcmp(tok, "empty") == 0)
			out[n].len = 0;
		else {
			char *e;
			unsigned long v = strtoul(tok, &e, 10);
			if (!tok[0] || *e || v > CHUNK)
				die("chunk must be full, short, empty or 0..65536");
			out[n].len = (size_t)v;
		}
		n++;
		p = end ? end + 1 : p + len;
		if (end && !*p)
			die("SPEC ends with a comma");
	}
	if (n == 0)
		die("empty SPEC");
	return n;
}

/* One stanza body, wrapped at 64 columns, last line always short. */
static void put_b64_body(FILE *f, const uint8_t *p, size_t n)
{
	char line[65];

	for (;;) {
		size_t take = n > 48 ? 48 : n;
		size_t w = b64_encode(p, take, false, line, sizeof line);
		put(f, line, w);
		put(f, "\n", 1);
		p += take;
		n -= take;
		if (w < 64)
			break;
	}
}

static void build_header(const uint8_t pk[32], const uint8_t file_key[16],
			 char *hdr, size_t cap, size_t *hlen)
{
	uint8_t eph[32], share[32], shared[32], salt[64], wrap[32],
		body[16 + TAG];
	static const uint8_t zero_nonce[12];
	char share64[48];
	FILE *m;
	char *buf = NULL;
	size_t blen = 0;

	randombytes_buf(eph, sizeof eph);
	crypto_scalarmult_base(share, eph);
	if (crypto_scalarmult(shared, eph, pk) != 0)
		die("recipient is a low-order point");
	memcpy(salt, share, 32);
	memcpy(salt + 32, pk, 32);
	hkdf_sha256_32(wrap, shared, 32, salt, sizeof salt,
		       "age-encryption.org/v1/X25519");
	crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, file_key, 16,
						  NULL, 0, NULL, zero_nonce,
						  wrap);
	b64_encode(share, 32, false, share64, sizeof share64);

	m = open_memstream(&buf, &blen);
	if (!m)
		die("out of memory");
	fputs("age-encryption.org/v1\n", m);
	fprintf(m, "-> X25519 %s\n", share64);
	put_b64_body(m, body, sizeof body);
	fputs("---", m);
	if (fclose(m) != 0)
		die("out of memory");
	if (blen + 1 > cap)
		die("header too long");
	memcpy(hdr, buf, blen);
	*hlen = blen;
	free(buf);
	sodium_memzero(eph, sizeof eph);
	sodium_memzero(shared, sizeof shared);
	sodium_memzero(wrap, sizeof wrap);
}

int main(int argc, char **argv)
{
	static struct chunk chunks[MAX_CHUNKS];
	static uint8_t plain[CHUNK], sealed[CHUNK + TAG];
	uint8_t pk[32], file_key[16], mac_key[32], mac[32], nonce[16],
		payload_key[32];
	char hdr[4096], mac64[48];
	size_t hlen, n;
	struct kerr e;
	FILE *out, *pf = NULL;

	if (argc != 4 && argc != 5) {
		fputs("usage: agecraft RECIPIENT OUT SPEC [PLAIN]\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init failed");
	if (agekey_recipient_decode(argv[1], strlen(argv[1]), pk, &e) != 0) {
		fprintf(stderr, "agecraft: %s: %s\n", argv[1], e.why);
		return 2;
	}
	n = parse_spec(argv[3], chunks, MAX_CHUNKS);

	randombytes_buf(file_key, sizeof file_key);
	build_header(pk, file_key, hdr, sizeof hdr, &hlen);
	hkdf_sha256_32(mac_key, file_key, sizeof file_key, NULL, 0, "header");
	crypto_auth_hmacsha256(mac, (const uint8_t *)hdr, hlen, mac_key);
	b64_encode(mac, sizeof mac, false, mac64, sizeof mac64);
	randombytes_buf(nonce, sizeof nonce);
	hkdf_sha256_32(payload_key, file_key, sizeof file_key, nonce,
		       sizeof nonce, "payload");

	out = strcmp(argv[2], "-") == 0 ? stdout : fopen(argv[2], "wb");
	if (!out)
		die("cannot create OUT");
	if (argc == 5 && !(pf = fopen(argv[4], "wb")))
		die("cannot create PLAIN");
	put(out, hdr, hlen);
	put(out, " ", 1);
	put(out, mac64, strlen(mac64));
	put(out, "\n", 1);
	put(out, nonce, sizeof nonce);
	for (size_t i = 0; i < n; i++) {
		uint8_t sn[12] = { 0 };
		unsigned long long clen;

		for (int b = 0; b < 8; b++)
			sn[10 - b] = (uint8_t)((uint64_t)i >> (8 * b));
		sn[11] = chunks[i].last ? 1 : 0;
		randombytes_buf(plain, chunks[i].len);
		crypto_aead_chacha20poly1305_ietf_encrypt(
			sealed, &clen, plain, chunks[i].len, NULL, 0, NULL,
			sn, payload_key);
		put(out, sealed, (size_t)clen);
		if (pf)
			put(pf, plain, chunks[i].len);
	}
	if (out != stdout && fclose(out) != 0)
		die("cannot write OUT");
	if (out == stdout && fflush(stdout) != 0)
		die("cannot write standard output");
	if (pf && fclose(pf) != 0)
		die("cannot write PLAIN");
	sodium_memzero(file_key, sizeof file_key);
	sodium_memzero(payload_key, sizeof payload_key);
	sodium_memzero(mac_key, sizeof mac_key);
	return 0;
}
