/*
 * vault — sealing one identifying value of one person (layer 3, store).
 *
 * A value is sealed with XChaCha20-Poly1305 under the workspace's vault
 * key, with a random 24-byte nonce, and with the person's written code and
 * the field's name as associated data:
 *
 *   sealed = nonce (24) || ciphertext (n) || tag (16)
 *   AD     = "kluis vault v1" NUL code NUL field
 *
 * so a sealed value opens only as that field of that person: moving it to
 * another row or column of the vault makes it fail, not lie.  An empty
 * value is not sealed at all (the column stays NULL): that a person has no
 * phone number is not worth the bytes, and it is not an identity.
 */
#ifndef KLUIS_VAULT_H
#define KLUIS_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

#define VAULT_OVERHEAD 40 /* nonce + tag */

/* out has room for n + VAULT_OVERHEAD bytes. */
void vault_seal(const uint8_t key[32], uint64_t code, const char *field,
		const uint8_t *value, size_t n, uint8_t *out);
/* out has room for n - VAULT_OVERHEAD bytes; *out_len gets the length.
 * KERR_SIGNATURE if it does not open (wrong key, code, field or bytes). */
int vault_open(const uint8_t key[32], uint64_t code, const char *field,
	       const uint8_t *sealed, size_t n, uint8_t *out, size_t *out_len,
	       struct kerr *e);

#endif
