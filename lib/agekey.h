/*
 * agekey — age X25519 keys in their text forms, and the files that hold
 * them.
 *
 * Identity:  AGE-SECRET-KEY-1… (Bech32, HRP "age-secret-key-", uppercase)
 * Recipient: age1…            (Bech32, HRP "age")
 * Identity files and recipient files follow the age tool: one key per line,
 * blank lines and lines starting with '#' ignored.  Secret keys are held in
 * sodium_malloc'd (locked, guarded) memory owned by the list.
 */
#ifndef KLUIS_AGEKEY_H
#define KLUIS_AGEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "kerr.h"

#define AGE_IDENTITY_LEN 74   /* strlen of an encoded X25519 identity */
#define AGE_RECIPIENT_LEN 62  /* strlen of an encoded X25519 recipient */
#define AGEKEY_FILE_MAX (1u << 20)

/* Encode; out must hold LEN + 1 bytes. */
int agekey_identity_encode(const uint8_t sk[32], char *out, size_t cap);
int agekey_recipient_encode(const uint8_t pk[32], char *out, size_t cap);

/* Decode a single key string (no surrounding whitespace). */
int agekey_identity_decode(const char *s, size_t len, uint8_t sk[32],
			   struct kerr *e);
int agekey_recipient_decode(const char *s, size_t len, uint8_t pk[32],
			    struct kerr *e);

/* Public key of an identity. */
void agekey_public(const uint8_t sk[32], uint8_t pk[32]);

/* A fresh identity (CSPRNG). */
void agekey_generate(uint8_t sk[32]);

/* Secret identities, in locked memory. */
struct agekey_ids {
	uint8_t *sk;   /* n * 32 bytes */
	size_t n, cap;
};
void agekey_ids_init(struct agekey_ids *l);
int agekey_ids_add(struct agekey_ids *l, const uint8_t sk[32], struct kerr *e);
/* Load an identity file (or "-" for stdin); every non-comment line must be
 * an X25519 identity.  Errors name the file and line, never the key. */
int agekey_ids_load(struct agekey_ids *l, const char *path, struct kerr *e);
void agekey_ids_free(struct agekey_ids *l);

/* Public recipients. */
struct agekey_rcpts {
	uint8_t (*pk)[32];
	size_t n, cap;
};
void agekey_rcpts_init(struct agekey_rcpts *l);
int agekey_rcpts_add(struct agekey_rcpts *l, const uint8_t pk[32],
		     struct kerr *e);
int agekey_rcpts_add_string(struct agekey_rcpts *l, const char *s,
			    struct kerr *e);
/* Load a recipients file: age1… lines, '#' comments, blank lines. */
int agekey_rcpts_load(struct agekey_rcpts *l, const char *path,
		      struct kerr *e);
void agekey_rcpts_free(struct agekey_rcpts *l);

#endif
