/*
 * b64: RFC 4648 vectors in both forms, the strictness the formats rely on
 * (canonical trailing bits, '=' only where padding is due, nothing left
 * over, exact lengths) and the encoded-length arithmetic.
 */
#include <sodium.h>

#include "b64.h"
#include "kluis.h"
#include "unit.h"

static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba",
				     "foobar" };
static const char *const padded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
				      "Zm9vYmE=", "Zm9vYmFy" };
static const char *const raw[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
				   "Zm9vYmFy" };

static int dec(const char *s, bool pad, uint8_t *out, size_t cap, size_t *n)
{
	return b64_decode(s, strlen(s), pad, out, cap, n);
}

static void rfc4648_vectors(void)
{
	char out[32];
	uint8_t bin[32];
	size_t n;

	for (int i = 0; i < 7; i++) {
		size_t len = strlen(plain[i]);

		CHECK(b64_encode((const uint8_t *)plain[i], len, true, out,
				 sizeof out) == strlen(padded[i]));
		CHECK_STR(out, padded[i]);
		CHECK(b64_encode((const uint8_t *)plain[i], len, false, out,
				 sizeof out) == strlen(raw[i]));
		CHECK_STR(out, raw[i]);
		n = 99;
		CHECK(dec(padded[i], true, bin, sizeof bin, &n) == 0);
		CHECK(n == len && memcmp(bin, plain[i], len) == 0);
		n = 99;
		CHECK(dec(raw[i], false, bin, sizeof bin, &n) == 0);
		CHECK(n == len && memcmp(bin, plain[i], len) == 0);
	}
}

static void encoded_lengths(void)
{
	static const size_t pad[] = { 0, 4, 4, 4, 8, 8, 8, 12 };
	static const size_t unpad[] = { 0, 2, 3, 4, 6, 7, 8, 10 };

	for (size_t n = 0; n < 8; n++) {
		CHECK(b64_encoded_len(n, true) == pad[n]);
		CHECK(b64_encoded_len(n, false) == unpad[n]);
	}
	/* The sizes the formats use. */
	CHECK(b64_encoded_len(32, false) == 43);  /* age share, body, MAC */
	CHECK(b64_encoded_len(16, false) == 22);  /* scrypt salt */
	CHECK(b64_encoded_len(48, true) == 64);   /* a full armor line */
	CHECK(b64_encoded_len(42, true) == 56);   /* minisign public key */
	CHECK(b64_encoded_len(74, true) == 100);  /* minisign signature */
	CHECK(b64_encoded_len(158, true) == 212); /* minisign secret key */
}

static void noncanonical_trailing_bits(void)
{
	uint8_t bin[8];
	size_t n;

	/* 'h' and '9' leave non-zero bits below the last byte. */
	CHECK(dec("Zh==", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zh", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9=", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9", false, bin, sizeof bin, &n) == -1);
	/* ...whereas the canonical forms decode. */
	CHECK(dec("Zg==", true, bin, sizeof bin, &n) == 0 && n == 1);
	CHECK(dec("Zm8", false, bin, sizeof bin, &n) == 0 && n == 2);
}

static void padding_rules(void)
{
	uint8_t bin[8];
	size_t n;

	/* Unpadded: any '=' is stray. */
	CHECK(dec("Zg==", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm8=", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v=", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v====", false, bin, sizeof bin, &n) == -1);
	/* Padded: padding is required, and only as much as is due. */
	CHECK(dec("Zg", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm8", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zg=", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v=", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v====", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zg==Zg==", true, bin, sizeof bin, &n) == -1);
	/* One character can never be a whole encoding. */
	CHECK(dec("Z", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Z===", true, bin, sizeof bin, &n) == -1);
}

static void nothing_left_over(void)
{
	uint8_t bin[8];
	size_t n;

	CHECK(dec("Zm9v!", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm 9v", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v\n", false, bin, sizeof bin, &n) == -1);
	CHECK(dec(" Zm9v", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v\r\n", true, bin, sizeof bin, &n) == -1);
	/* Bytes >= 0x80 (libsodium 1.0.18 would read some as '/'). */
	CHECK(dec("Zm9\xaf", false, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm\xaf\xaf", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("\xef\xef\xef\xef", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("Zm9v\xc3\xa9", false, bin, sizeof bin, &n) == -1);
	/* URL-safe alphabet is not accepted. */
	CHECK(dec("-_-_", true, bin, sizeof bin, &n) == -1);
	CHECK(dec("+/+/", true, bin, sizeof bin, &n) == 0 && n == 3);
	/* Output capacity is respected. */
	CHECK(dec("Zm9vYmFy", false, bin, 5, &n) == -1);
	CHECK(dec("Zm9vYmFy", false, bin, 6, &n) == 0 && n == 6);
}

static void reads_only_len(void)
{
	static const char s[] = "Zm9vYmFy";
	uint8_t bin[8];
	size_t n;

	CHECK(b64_decode(s, 4, true, bin, sizeof bin, &n) == 0);
	CHECK(n == 3 && memcmp(bin, "foo", 3) == 0);
	CHECK(b64_decode(s, 0, false, bin, sizeof bin, &n) == 0 && n == 0);
}

static void decode_exact(void)
{
	uint8_t bin[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	CHECK(b64_decode_exact("Zm9v", 4, true, bin, 3) == 0);
	CHECK(memcmp(bin, "foo", 3) == 0 && bin[3] == 0xaa);
	CHECK(b64_decode_exact("Zm9v", 4, false, bin, 3) == 0);
	CHECK(b64_decode_exact("Zm9v", 4, true, bin, 2) == -1);
	CHECK(b64_decode_exact("Zm9v", 4, true, bin, 4) == -1);
	CHECK(b64_decode_exact("Zm8=", 4, true, bin, 3) == -1);
	CHECK(b64_decode_exact("Zm8", 3, false, bin, 2) == 0);
	/* A longer input is refused without writing past `want`. */
	memset(bin, 0xaa, sizeof bin);
	CHECK(b64_decode_exact("Zm9vYmFy", 8, true, bin, 3) == -1);
	CHECK(bin[3] == 0xaa);
}

static void random_round_trips(void)
{
	uint8_t in[100], out[100];
	char enc[200];
	size_t n;

	for (size_t len = 0; len <= sizeof in; len++) {
		for (int pad = 0; pad < 2; pad++) {
			size_t w;

			randombytes_buf(in, len);
			w = b64_encode(in, len, pad, enc, sizeof enc);
			CHECK(w == strlen(enc));
			CHECK(w == b64_encoded_len(len, pad));
			CHECK(b64_decode(enc, w, pad, out, sizeof out, &n) == 0);
			CHECK(n == len && memcmp(in, out, len) == 0);
			CHECK(b64_decode_exact(enc, w, pad, out, len) == 0);
		}
	}
}

const struct unit_case suite_b64[] = {
	{ "b64: RFC 4648 vectors, padded and unpadded", rfc4648_vectors },
	{ "b64: encoded lengths", encoded_lengths },
	{ "b64: non-zero trailing bits rejected", noncanonical_trailing_bits },
	{ "b64: stray or missing '=' rejected", padding_rules },
	{ "b64: whole input consumed, alphabet, capacity", nothing_left_over },
	{ "b64: decode reads only len characters", reads_only_len },
	{ "b64: exact-length decode", decode_exact },
	{ "b64: random round trips", random_round_trips },
	{ NULL, NULL },
};
