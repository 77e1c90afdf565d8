/*
 * hkdf — HKDF-SHA-256 (RFC 5869) with a 32-byte output, built on
 * libsodium's HMAC-SHA-256.  libsodium only gained crypto_kdf_hkdf_sha256
 * in 1.0.19; Debian 12 ships 1.0.18.
 */
#ifndef KLUIS_HKDF_H
#define KLUIS_HKDF_H

#include <stddef.h>
#include <stdint.h>

void hkdf_sha256_32(uint8_t out[32], const uint8_t *ikm, size_t ikm_len,
		    const uint8_t *salt, size_t salt_len, const char *info);

#endif
