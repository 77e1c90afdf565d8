/*
 * hkdf: RFC 5869 test cases 1-3 (SHA-256), first 32 bytes of the OKM.
 * hkdf_sha256_32 takes info as a C string; the RFC's info bytes contain no
 * NUL, so they are passed as one.
 */
#include "hkdf.h"
#include "kluis.h"
#include "unit.h"

static void rfc5869_case1(void)
{
	uint8_t ikm[22], salt[13], okm[32], want[32];
	char info[11];

	memset(ikm, 0x0b, sizeof ikm);
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (char)(0xf0 + i);
	info[10] = '\0';
	CHECK(unit_unhex("3cb25f25faacd57a90434f64d0362f2a"
			 "2d2d0a90cf1a5a4c5db02d56ecc4c5bf", want, 32) == 32);
	hkdf_sha256_32(okm, ikm, sizeof ikm, salt, sizeof salt, info);
	CHECK_MEM(okm, want, 32);
}

static void rfc5869_case2(void)
{
	uint8_t ikm[80], salt[80], okm[32], want[32];
	char info[81];

	for (int i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (char)(0xb0 + i);
	}
	info[80] = '\0';
	CHECK(unit_unhex("b11e398dc80327a1c8e7f78c596a4934"
			 "4f012eda2d4efad8a050cc4c19afa97c", want, 32) == 32);
	hkdf_sha256_32(okm, ikm, sizeof ikm, salt, sizeof salt, info);
	CHECK_MEM(okm, want, 32);
}

static void rfc5869_case3_empty_salt(void)
{
	uint8_t ikm[22], okm[32], okm2[32], zeros[32] = { 0 }, want[32];

	memset(ikm, 0x0b, sizeof ikm);
	CHECK(unit_unhex("8da4e775a563c18f715f802a063c5a31"
			 "b8a11f5c5ee1879ec3454e5f3c738d2d", want, 32) == 32);
	hkdf_sha256_32(okm, ikm, sizeof ikm, NULL, 0, "");
	CHECK_MEM(okm, want, 32);
	/* RFC 5869: an absent salt is HashLen zero bytes. */
	hkdf_sha256_32(okm2, ikm, sizeof ikm, zeros, sizeof zeros, "");
	CHECK_MEM(okm2, want, 32);
}

static void info_and_salt_matter(void)
{
	uint8_t ikm[16] = { 1 }, a[32], b[32], c[32];

	hkdf_sha256_32(a, ikm, sizeof ikm, NULL, 0, "header");
	hkdf_sha256_32(b, ikm, sizeof ikm, NULL, 0, "payload");
	hkdf_sha256_32(c, ikm, sizeof ikm, (const uint8_t *)"x", 1, "header");
	CHECK(memcmp(a, b, 32) != 0);
	CHECK(memcmp(a, c, 32) != 0);
}

const struct unit_case suite_hkdf[] = {
	{ "hkdf: RFC 5869 test case 1", rfc5869_case1 },
	{ "hkdf: RFC 5869 test case 2 (long inputs)", rfc5869_case2 },
	{ "hkdf: RFC 5869 test case 3 (empty salt, empty info)",
	  rfc5869_case3_empty_salt },
	{ "hkdf: info and salt change the key", info_and_salt_matter },
	{ NULL, NULL },
};
