/*
 * bech32 — BIP 173 Bech32 as age uses it: no length limit on the data part,
 * all-lowercase or all-uppercase, checksum over the lowercase form.
 */
#ifndef KLUIS_BECH32_H
#define KLUIS_BECH32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BECH32_MAX 4096 /* longest string we accept or produce */

/* Encode 8-bit data under a lowercase hrp.  out must hold
 * strlen(hrp) + 1 + ceil(n*8/5) + 6 + 1 bytes; returns 0 or -1. */
int bech32_encode(const char *hrp, const uint8_t *data, size_t n, bool upper,
		  char *out, size_t out_cap);

/* Decode s[0..len): the hrp is returned lowercased in hrp (hrp_cap bytes
 * incl. NUL) and the 8-bit data in data (data_cap bytes, *n used).
 * Returns 0, or -1 for any malformation (mixed case, bad checksum, bad
 * padding, characters outside the charset). */
int bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap,
		  uint8_t *data, size_t data_cap, size_t *n);

#endif
