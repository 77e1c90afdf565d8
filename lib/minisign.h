/*
 * minisign — keys and signatures in the formats of the minisign tool.
 *
 * Public key:  "untrusted comment: …" + base64("Ed" | key id[8] | pk[32])
 * Secret key:  base64 of 158 bytes: "Ed" | kdf "Sc" or 0,0 | "B2" |
 *              salt[32] | opslimit LE64 | memlimit LE64 |
 *              (key id[8] | sk[64] | checksum[32]) XOR scrypt stream
 *              checksum = BLAKE2b-256("Ed" | key id | sk)
 * Signature:   untrusted comment line, base64("ED" | key id | sig[64]),
 *              "trusted comment: …", base64(global sig[64]) where the
 *              global signature covers sig | trusted comment.
 *              "ED" signs BLAKE2b-512(file) (prehashed, the default);
 *              "Ed" signs the file itself (legacy).
 *
 * Secret keys live in sodium_malloc'd memory (ms_seckey_new/free).
 */
#ifndef KLUIS_MINISIGN_H
#define KLUIS_MINISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kbuf.h"
#include "kerr.h"
#include "kio.h"

#define MS_KEYNUM 8
#define MS_COMMENT_MAX 1024       /* longest comment line, as minisign */
#define MS_FILE_MAX (64u << 10)   /* longest key or signature file */
#define MS_LEGACY_MAX (1ull << 30) /* legacy signatures need the whole file */

struct ms_pubkey {
	uint8_t keynum[MS_KEYNUM];
	uint8_t pk[32];
};

struct ms_seckey {
	uint8_t keynum[MS_KEYNUM];
	uint8_t sk[64];   /* libsodium Ed25519 secret key (seed | pk) */
};

/* A parsed but still sealed secret key file. */
struct ms_seckey_file {
	uint8_t raw[158];
	bool encrypted;
};

struct ms_sig {
	bool prehashed;            /* "ED" */
	uint8_t keynum[MS_KEYNUM];
	uint8_t sig[64];
	char trusted[MS_COMMENT_MAX];
	uint8_t global[64];
};

/* Key id as minisign prints it: uppercase hex, no leading zeros. */
void ms_keyid_hex(const uint8_t keynum[MS_KEYNUM], char out[17]);

/* Public keys.  parse accepts a minisign public key file (comment line +
 * base64) or a bare base64 key. */
int ms_pubkey_parse(const char *text, size_t len, struct ms_pubkey *pk,
		    struct kerr *e);
int ms_pubkey_decode(const char *b64, size_t len, struct ms_pubkey *pk,
		     struct kerr *e);
/* base64 form (56 chars + NUL). */
void ms_pubkey_encode(const struct ms_pubkey *pk, char out[57]);
/* Whole public key file text. */
int ms_pubkey_format(const struct ms_pubkey *pk, struct kbuf *out,
		     struct kerr *e);
/* Load a public key file. */
int ms_pubkey_load(const char *path, struct ms_pubkey *pk, struct kerr *e);

/* Secret keys. */
struct ms_seckey *ms_seckey_new(void);
void ms_seckey_free(struct ms_seckey *sk);
void ms_keygen(struct ms_seckey *sk);
void ms_seckey_public(const struct ms_seckey *sk, struct ms_pubkey *pk);

int ms_seckey_parse(const char *text, size_t len, struct ms_seckey_file *f,
		    struct kerr *e);
int ms_seckey_file_load(const char *path, struct ms_seckey_file *f,
			struct kerr *e);
/* Wipe a parsed key file (an unencrypted one holds the secret key). */
void ms_seckey_file_wipe(struct ms_seckey_file *f);
/* Unseal; pass may be NULL for an unencrypted key.  KERR_PASSPHRASE if
 * the checksum does not match. */
int ms_seckey_open(const struct ms_seckey_file *f, const char *pass,
		   size_t pass_len, struct ms_seckey *sk, struct kerr *e);
/* Key file text into `out` (use a secret kbuf).  pass == NULL writes an
 * unencrypted key.  opslimit/memlimit 0 choose minisign's defaults. */
int ms_seckey_format(const struct ms_seckey *sk, const char *pass,
		     size_t pass_len, unsigned long long opslimit,
		     size_t memlimit, struct kbuf *out, struct kerr *e);

/* Signatures. */
int ms_sig_parse(const char *text, size_t len, struct ms_sig *s,
		 struct kerr *e);
int ms_sig_load(const char *path, struct ms_sig *s, struct kerr *e);

/* BLAKE2b-512 of a whole source. */
int ms_prehash(struct ksrc *src, uint8_t out[64], struct kerr *e);

/* Sign a message digest (prehashed) or the message (legacy); writes the
 * signature file text to `out`.  The trusted comment must be one line. */
int ms_sign(const struct ms_seckey *sk, bool prehashed, const uint8_t *msg,
	    size_t msg_len, const char *trusted, const char *untrusted,
	    struct kbuf *out, struct kerr *e);
/* Sign a file: prehashed streams it; legacy maps it whole. */
int ms_sign_file(const struct ms_seckey *sk, const char *path, bool legacy,
		 const char *trusted, const char *untrusted, struct kbuf *out,
		 struct kerr *e);

/* Check key id, file signature (msg is the digest when s->prehashed) and
 * the global signature over the trusted comment. */
int ms_verify(const struct ms_pubkey *pk, const struct ms_sig *s,
	      const uint8_t *msg, size_t msg_len, struct kerr *e);
int ms_verify_file(const struct ms_pubkey *pk, const struct ms_sig *s,
		   const char *path, struct kerr *e);

#endif
