/*
 * hkdf — Extract then one block of Expand.  An empty salt is an empty HMAC
 * key, which HMAC pads to the same block as RFC 5869's HashLen zeros.
 */
#include "hkdf.h"

#include <sodium.h>
#include <string.h>

#include "banned.h"

void hkdf_sha256_32(uint8_t out[32], const uint8_t *ikm, size_t ikm_len,
		    const uint8_t *salt, size_t salt_len, const char *info)
{
	static const uint8_t zero_salt[32];
	crypto_auth_hmacsha256_state st;
	uint8_t prk[32];
	const uint8_t one = 1;

	/* RFC 5869: no salt means HashLen zeros (the same HMAC key as an
	 * empty one).  libsodium declares the key pointer nonnull. */
	if (!salt) {
		salt = zero_salt;
		salt_len = sizeof zero_salt;
	}
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);

	crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
	crypto_auth_hmacsha256_update(&st, &one, 1);
	crypto_auth_hmacsha256_final(&st, out);

	sodium_memzero(prk, sizeof prk);
	sodium_memzero(&st, sizeof st);
}
