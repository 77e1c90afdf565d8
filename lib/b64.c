/*
 * b64 — strict base64 wrappers.  libsodium's decoder stops at the first
 * character outside the alphabet and reports where; anything left over is
 * an error here.
 */
#include "b64.h"

#include <sodium.h>

#include "banned.h"

static int variant(bool padded)
{
	return padded ? sodium_base64_VARIANT_ORIGINAL
		      : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

int b64_decode(const char *s, size_t len, bool padded, uint8_t *out,
	       size_t out_max, size_t *out_len)
{
	const char *end = NULL;
	size_t n = 0;
	unsigned high = 0;

	if (len == 0) {
		*out_len = 0;
		return 0;
	}
	/* libsodium 1.0.18 compares characters as (signed) char with macros
	 * made for 0..255, so every byte >= 0x80 decodes as '/': refuse them
	 * here (without branching on the data, which may be key material). */
	for (size_t i = 0; i < len; i++)
		high |= (unsigned char)s[i];
	if (high & 0x80)
		return -1;
	if (sodium_base642bin(out, out_max, s, len, NULL, &n, &end,
			      variant(padded)) != 0)
		return -1;
	if (end != s + len)
		return -1;
	*out_len = n;
	return 0;
}

int b64_decode_exact(const char *s, size_t len, bool padded, uint8_t *out,
		     size_t want)
{
	size_t n;

	/* Reject by length first so a long input cannot overrun `out`. */
	if (len != b64_encoded_len(want, padded))
		return -1;
	if (b64_decode(s, len, padded, out, want, &n) != 0 || n != want)
		return -1;
	return 0;
}

size_t b64_encoded_len(size_t n, bool padded)
{
	return padded ? (n + 2) / 3 * 4 : n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t b64_encode(const uint8_t *in, size_t n, bool padded, char *out,
		  size_t out_cap)
{
	sodium_bin2base64(out, out_cap, in, n, variant(padded));
	return b64_encoded_len(n, padded);
}
