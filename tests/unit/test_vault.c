/*
 * vault: a sealed value opens to itself with the same key, code and field
 * (also an empty and a long value); another key, another code, another
 * field, any flipped byte, a truncated or extended blob all fail with
 * KERR_SIGNATURE and write nothing; two seals of one value differ (a
 * random nonce); the sealed bytes do not contain the value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kerr.h"
#include "krand.h"
#include "pcode.h"
#include "unit.h"
#include "vault.h"

static const char VALUE[] = "Janssens Marie-Louise, 85.07.30-033.61, "
			    "Kerkstraat 12 bus 3, 9000 Gent";
#define VLEN (sizeof VALUE - 1)

struct fix {
	uint8_t key[32];
	uint64_t code;
	uint8_t sealed[VLEN + VAULT_OVERHEAD];
};

static void fix_make(struct fix *f)
{
	krand_buf(f->key, sizeof f->key);
	f->code = pcode_random();
	vault_seal(f->key, f->code, "naam", (const uint8_t *)VALUE, VLEN,
		   f->sealed);
}

/* vault_open must refuse with KERR_SIGNATURE, name the field, and put no
 * plaintext in out (libsodium zeroes it; either untouched or zero). */
static int refuses(const uint8_t key[32], uint64_t code, const char *field,
		   const uint8_t *sealed, size_t n)
{
	uint8_t out[VLEN + 64];
	size_t len = 12345;
	struct kerr e;

	kerr_clear(&e);
	memset(out, 0xa5, sizeof out);
	int rc = vault_open(key, code, field, sealed, n, out, &len, &e);
	for (size_t i = 0; i < sizeof out; i++)
		if (out[i] != 0xa5 && out[i] != 0)
			return 0;
	return rc == KERR_SIGNATURE && e.code == KERR_SIGNATURE &&
	       len == 12345 && e.why[0] && strstr(e.why, field) != NULL;
}

static void t_round_trip(void)
{
	struct fix f;
	uint8_t out[VLEN];
	size_t len = 0;
	struct kerr e;

	fix_make(&f);
	kerr_clear(&e);
	CHECK(vault_open(f.key, f.code, "naam", f.sealed, sizeof f.sealed, out,
			 &len, &e) == 0);
	CHECK(len == VLEN);
	CHECK_MEM(out, VALUE, VLEN);

	/* edge codes, an empty value, a 1-byte value, a 64 KiB value */
	const uint64_t codes[] = { 0, PCODE_MAX };
	for (size_t i = 0; i < 2; i++) {
		uint8_t s[VAULT_OVERHEAD + 1], o[1];
		vault_seal(f.key, codes[i], "x", (const uint8_t *)"", 0, s);
		CHECK(vault_open(f.key, codes[i], "x", s, VAULT_OVERHEAD, o, &len,
				 &e) == 0 && len == 0);
		vault_seal(f.key, codes[i], "x", (const uint8_t *)"Q", 1, s);
		CHECK(vault_open(f.key, codes[i], "x", s, sizeof s, o, &len,
				 &e) == 0 && len == 1 && o[0] == 'Q');
	}
	size_t big = 64 << 10;
	uint8_t *v = malloc(big), *s = malloc(big + VAULT_OVERHEAD),
		*o = malloc(big);
	int ok = v && s && o;
	if (ok) {
		krand_buf(v, big);
		vault_seal(f.key, f.code, "adres", v, big, s);
		ok = vault_open(f.key, f.code, "adres", s, big + VAULT_OVERHEAD,
				o, &len, &e) == 0 && len == big &&
		     memcmp(o, v, big) == 0;
	}
	free(v);
	free(s);
	free(o);
	CHECK(ok);
}

static void t_wrong_key_code_field(void)
{
	struct fix f;
	uint8_t key2[32];

	fix_make(&f);
	memcpy(key2, f.key, 32);
	key2[31] ^= 1;
	CHECK(refuses(key2, f.code, "naam", f.sealed, sizeof f.sealed));
	krand_buf(key2, 32);
	CHECK(refuses(key2, f.code, "naam", f.sealed, sizeof f.sealed));
	/* another person: each of the 60 bits flipped, and a random code */
	for (int b = 0; b < PCODE_BITS; b++)
		CHECK(refuses(f.key, f.code ^ (UINT64_C(1) << b), "naam",
			      f.sealed, sizeof f.sealed));
	uint64_t other;
	do
		other = pcode_random();
	while (other == f.code);
	CHECK(refuses(f.key, other, "naam", f.sealed, sizeof f.sealed));
	/* another field, also one that is a prefix or an extension */
	static const char *const fields[] = { "voornaam", "nam", "naam2", "Naam",
					      "", "naam ", "adres" };
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		uint8_t out[VLEN];
		size_t len;
		struct kerr e;
		kerr_clear(&e);
		int rc = vault_open(f.key, f.code, fields[i], f.sealed,
				    sizeof f.sealed, out, &len, &e);
		CHECK(rc == KERR_SIGNATURE && e.code == KERR_SIGNATURE);
	}
}

static void t_damaged(void)
{
	struct fix f;
	uint8_t b[VLEN + VAULT_OVERHEAD + 1];

	fix_make(&f);
	/* every byte (nonce, ciphertext, tag), every bit of a few */
	for (size_t i = 0; i < sizeof f.sealed; i++) {
		memcpy(b, f.sealed, sizeof f.sealed);
		b[i] ^= 0x80;
		CHECK(refuses(f.key, f.code, "naam", b, sizeof f.sealed));
		if (i == 0 || i == 24 || i == sizeof f.sealed - 1)
			for (int bit = 0; bit < 8; bit++) {
				memcpy(b, f.sealed, sizeof f.sealed);
				b[i] ^= (uint8_t)(1u << bit);
				CHECK(refuses(f.key, f.code, "naam", b,
					      sizeof f.sealed));
			}
	}
	/* truncated to every length, including below the overhead */
	for (size_t n = 0; n < sizeof f.sealed; n++)
		CHECK(refuses(f.key, f.code, "naam", f.sealed, n));
	/* a byte appended */
	memcpy(b, f.sealed, sizeof f.sealed);
	b[sizeof f.sealed] = 0;
	CHECK(refuses(f.key, f.code, "naam", b, sizeof b));
	/* two seals spliced: the nonce of one with the body of another */
	uint8_t other[sizeof f.sealed];
	vault_seal(f.key, f.code, "naam", (const uint8_t *)VALUE, VLEN, other);
	memcpy(b, other, 24);
	memcpy(b + 24, f.sealed + 24, sizeof f.sealed - 24);
	CHECK(refuses(f.key, f.code, "naam", b, sizeof f.sealed));
}

static void t_random_nonce(void)
{
	struct fix f;
	uint8_t again[sizeof f.sealed];
	uint8_t out[VLEN];
	size_t len;
	struct kerr e;

	fix_make(&f);
	kerr_clear(&e);
	for (int i = 0; i < 100; i++) {
		vault_seal(f.key, f.code, "naam", (const uint8_t *)VALUE, VLEN,
			   again);
		CHECK(memcmp(again, f.sealed, 24) != 0);        /* nonce */
		CHECK(memcmp(again + 24, f.sealed + 24, VLEN) != 0); /* body */
		CHECK(vault_open(f.key, f.code, "naam", again, sizeof again,
				 out, &len, &e) == 0 && len == VLEN &&
		      memcmp(out, VALUE, VLEN) == 0);
	}
}

static void t_no_plaintext(void)
{
	struct fix f;
	char code[PCODE_LEN + 1];

	fix_make(&f);
	/* not the value, nor any 6-byte piece of it, nor the code or field */
	CHECK(!memmem(f.sealed, sizeof f.sealed, VALUE, VLEN));
	for (size_t i = 0; i + 6 <= VLEN; i++)
		CHECK(!memmem(f.sealed, sizeof f.sealed, VALUE + i, 6));
	pcode_format(f.code, code);
	CHECK(!memmem(f.sealed, sizeof f.sealed, code, 6));
	CHECK(!memmem(f.sealed, sizeof f.sealed, "naam", 4));
	/* the ciphertext is the value XOR a key stream: sealing zeros
	 * shows no zeros */
	uint8_t z[64] = { 0 }, s[64 + VAULT_OVERHEAD];
	vault_seal(f.key, f.code, "naam", z, sizeof z, s);
	int zeros = 0;
	for (size_t i = 24; i < 24 + sizeof z; i++)
		zeros += s[i] == 0;
	CHECK(zeros < 16);
}

const struct unit_case suite_vault[] = {
	{ "vault: seal/open round trip", t_round_trip },
	{ "vault: another key, code or field does not open",
	  t_wrong_key_code_field },
	{ "vault: a flipped byte, truncation, extension do not open",
	  t_damaged },
	{ "vault: two seals of one value differ", t_random_nonce },
	{ "vault: the sealed bytes do not contain the value",
	  t_no_plaintext },
	{ NULL, NULL },
};
