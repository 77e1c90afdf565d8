/*
 * b64 — strict base64 on top of libsodium.
 *
 * libsodium already rejects non-zero trailing bits; these wrappers add what
 * the formats need on top: the whole input must be consumed (no stray '=' or
 * other characters), and the decoded length must be what the caller expects.
 */
#ifndef KLUIS_B64_H
#define KLUIS_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode exactly len characters of canonical base64, unpadded (age
 * stanzas) or padded (armor, minisign).  Returns 0 and the byte count in
 * *out_len, or -1.  Never reads past s[len-1]. */
int b64_decode(const char *s, size_t len, bool padded, uint8_t *out,
	       size_t out_max, size_t *out_len);

/* Decode and require exactly `want` bytes. */
int b64_decode_exact(const char *s, size_t len, bool padded, uint8_t *out,
		     size_t want);

/* Encoded length (without NUL) of n bytes. */
size_t b64_encoded_len(size_t n, bool padded);

/* Encode into out (out_cap >= b64_encoded_len + 1); returns the length. */
size_t b64_encode(const uint8_t *in, size_t n, bool padded, char *out,
		  size_t out_cap);

#endif
