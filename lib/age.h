/*
 * age — the age v1 file format (C2SP age spec): header with recipient
 * stanzas and MAC, STREAM payload in 64 KiB ChaCha20-Poly1305 chunks.
 *
 * Native recipient types: X25519 and scrypt (passphrase).  Stanzas of other
 * types are parsed and skipped.  Encryption and decryption stream with
 * constant memory; the ASCII armor is detected on input and optional on
 * output.  Decryption releases a chunk only after it authenticated, and
 * reports end of data only after the chunk flagged final authenticated and
 * the input ended right after it (no trailing data, armor trailer checked)
 * — so "end of data" from age_dec_read() means the whole file was authentic.
 * A consumer that must not act on partial data (a file written with -o)
 * keeps its output provisional until then.
 *
 * Errors come back as KERR_HEADER, KERR_NOMATCH, KERR_HMAC, KERR_PAYLOAD,
 * KERR_ARMOR (the age test-kit's failure classes), KERR_IO or KERR_NOMEM.
 */
#ifndef KLUIS_AGE_H
#define KLUIS_AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kerr.h"
#include "kio.h"

#define AGE_FILE_KEY_SIZE 16
#define AGE_CHUNK_SIZE 65536
#define AGE_TAG_SIZE 16
#define AGE_ENC_CHUNK_SIZE (AGE_CHUNK_SIZE + AGE_TAG_SIZE)
#define AGE_NONCE_SIZE 16
#define AGE_HEADER_MAX (1u << 20)      /* hard cap on the header text */
#define AGE_SCRYPT_DEFAULT_LOG2N 18    /* as the age tool */
#define AGE_SCRYPT_MAX_LOG2N 22        /* refuse more work than this */
#define AGE_BATCH 32                   /* chunks sealed/opened together */
#define AGE_BATCH_BYTES ((size_t)AGE_BATCH * AGE_CHUNK_SIZE)
#define AGE_PARALLEL_MIN 4             /* fewer chunks: one thread */

/* --- header (exposed for tests and fuzzing) --- */

struct age_stanza {
	char **args;      /* nargs NUL-terminated strings; args[0] is the type */
	size_t nargs;
	uint8_t *body;
	size_t body_len;
};

struct age_header {
	struct age_stanza *stanzas;
	size_t n;
	uint8_t mac[32];
	uint8_t *mac_input;    /* header text up to and including "---" */
	size_t mac_input_len;
};

/* Parse a v1 header from r, leaving r at the first payload byte.  On error
 * *h is left empty.  Free with age_header_free(). */
struct kreader;
int age_header_parse(struct kreader *r, struct age_header *h, struct kerr *e);
void age_header_free(struct age_header *h);

/* --- encryption --- */

struct age_recipients {
	const uint8_t (*x25519)[32]; /* public keys, n_x25519 of them */
	size_t n_x25519;
	const char *passphrase;      /* scrypt; exclusive with x25519 */
	size_t passphrase_len;
	unsigned scrypt_log2n;       /* 0: AGE_SCRYPT_DEFAULT_LOG2N */
};

struct age_enc;

/* Write the header and payload nonce to `out` (borrowed; with `armor`,
 * wrapped in the ASCII armor) and return an encryptor.  Its `sink` is where
 * plaintext goes; age_enc_finish() seals the final chunk. */
int age_enc_begin(struct age_enc **out_enc, const struct age_recipients *r,
		  bool armor, struct ksink *out, struct kerr *e);
struct ksink *age_enc_sink(struct age_enc *enc);
/* Seal on the calling thread only.  By default a batch is shared with a
 * helper thread, which helps when encrypting is all there is to do; a
 * caller whose other threads already keep the cores busy gains nothing
 * from it but the wait for the helper at the end of every batch. */
void age_enc_alone(struct age_enc *enc);
int age_enc_write(struct age_enc *enc, const void *p, size_t n,
		  struct kerr *e);
int age_enc_finish(struct age_enc *enc, struct kerr *e);
/* Wipes keys and buffers.  NULL is fine. */
void age_enc_free(struct age_enc *enc);

/* --- decryption --- */

struct age_identities {
	const uint8_t *x25519;       /* n_x25519 secret keys, 32 bytes each */
	size_t n_x25519;
	const char *passphrase;      /* NULL: none, or ask (below) */
	size_t passphrase_len;
	unsigned scrypt_max_log2n;   /* 0: AGE_SCRYPT_MAX_LOG2N */
	/* Called only when passphrase is NULL and the file turns out to be
	 * passphrase-encrypted; the passphrase it returns must stay valid
	 * until age_dec_begin() returns. */
	int (*ask_passphrase)(void *ctx, const char **pass, size_t *len,
			      struct kerr *e);
	void *ask_ctx;
};

struct age_dec;

/* Read and check the header from `in` (borrowed; binary or armored,
 * detected), unwrap the file key, verify the header MAC, read the nonce. */
int age_dec_begin(struct age_dec **out_dec, struct ksrc *in,
		  const struct age_identities *ids, struct kerr *e);

/* Next authenticated plaintext (one or more whole chunks), zero-copy: *p
 * stays valid until the next call.  *n == 0 means the file ended and was
 * authentic. */
int age_dec_next(struct age_dec *d, const uint8_t **p, size_t *n,
		 struct kerr *e);

/* Copying read with the same guarantees; *got == 0 at authentic end. */
int age_dec_read(struct age_dec *d, uint8_t *buf, size_t cap, size_t *got,
		 struct kerr *e);

/* The decryptor as a byte source (reads as age_dec_read). */
struct ksrc *age_dec_src(struct age_dec *d);

bool age_dec_armored(const struct age_dec *d);
/* What unwrapped the file key: "X25519" or "scrypt". */
const char *age_dec_recipient_type(const struct age_dec *d);
void age_dec_free(struct age_dec *d);

#endif
