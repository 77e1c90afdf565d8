/*
 * vault — see vault.h.
 */
#include "vault.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "krand.h"
#include "pcode.h"

#include "banned.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

/* "kluis vault v1" NUL code NUL field, built with copies: a receive
 * seals millions of values and formatting was a visible part of it. */
static size_t vault_ad(uint64_t code, const char *field, uint8_t *ad,
		       size_t cap)
{
	static const char tag[] = "kluis vault v1"; /* with its NUL */
	char c[PCODE_LEN + 1];
	size_t fl = strlen(field), n = sizeof tag + PCODE_LEN + 1;

	if (fl > cap - n)
		fl = cap - n;
	pcode_format(code, c);
	memcpy(ad, tag, sizeof tag);
	memcpy(ad + sizeof tag, c, PCODE_LEN + 1);
	memcpy(ad + n, field, fl);
	return n + fl;
}

void vault_seal(const uint8_t key[32], uint64_t code, const char *field,
		const uint8_t *value, size_t n, uint8_t *out)
{
	uint8_t ad[160];
	size_t adlen = vault_ad(code, field, ad, sizeof ad);

	krand_buf(out, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, NULL, value, n,
						   ad, adlen, NULL, out, key);
}

int vault_open(const uint8_t key[32], uint64_t code, const char *field,
	       const uint8_t *sealed, size_t n, uint8_t *out, size_t *out_len,
	       struct kerr *e)
{
	uint8_t ad[160];
	size_t adlen = vault_ad(code, field, ad, sizeof ad);
	unsigned long long m;

	if (n < VAULT_OVERHEAD ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, &m, NULL, sealed + NONCE, n - NONCE, ad, adlen, sealed,
		    key) != 0)
		return kerr_set(e, KERR_SIGNATURE, "vault",
				"a sealed %s does not open: the vault was changed",
				field);
	*out_len = (size_t)m;
	return 0;
}
