/*
 * bech32 — encoder and strict decoder.  Padding bits left over from the
 * 5-to-8-bit conversion must be zero and fewer than five, as BIP 173's
 * convertbits(pad=False) demands.
 */
#include "bech32.h"

#include <string.h>

#include "banned.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t c)
{
	uint32_t b = c >> 25;

	c = (c & 0x1ffffff) << 5;
	if (b & 1) c ^= 0x3b6a57b2;
	if (b & 2) c ^= 0x26508e6d;
	if (b & 4) c ^= 0x1ea119fa;
	if (b & 8) c ^= 0x3d4233dd;
	if (b & 16) c ^= 0x2a1462b3;
	return c;
}

static uint32_t hrp_polymod(const char *hrp, size_t hlen)
{
	uint32_t c = 1;

	for (size_t i = 0; i < hlen; i++)
		c = polymod_step(c) ^ ((uint8_t)hrp[i] >> 5);
	c = polymod_step(c);
	for (size_t i = 0; i < hlen; i++)
		c = polymod_step(c) ^ ((uint8_t)hrp[i] & 31);
	return c;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int bech32_encode(const char *hrp, const uint8_t *data, size_t n, bool up,
		  char *out, size_t out_cap)
{
	size_t hlen = strlen(hrp), nd = (n * 8 + 4) / 5, pos = 0;
	uint32_t c, acc = 0;
	int bits = 0;

	if (hlen == 0 || hlen + 1 + nd + 6 + 1 > out_cap ||
	    hlen + 1 + nd + 6 > BECH32_MAX)
		return -1;
	for (size_t i = 0; i < hlen; i++) {
		if (hrp[i] < 33 || hrp[i] > 126 || (hrp[i] >= 'A' && hrp[i] <= 'Z'))
			return -1;
		out[pos++] = up ? upper(hrp[i]) : hrp[i];
	}
	out[pos++] = '1';
	c = hrp_polymod(hrp, hlen);
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			uint8_t v = (acc >> (bits - 5)) & 31;
			bits -= 5;
			c = polymod_step(c) ^ v;
			out[pos++] = charset[v];
		}
	}
	if (bits > 0) {
		uint8_t v = (acc << (5 - bits)) & 31;
		c = polymod_step(c) ^ v;
		out[pos++] = charset[v];
	}
	for (int i = 0; i < 6; i++)
		c = polymod_step(c);
	c ^= 1;
	for (int i = 0; i < 6; i++)
		out[pos++] = charset[(c >> (5 * (5 - i))) & 31];
	out[pos] = '\0';
	if (up)
		for (size_t i = 0; i < pos; i++)
			out[i] = upper(out[i]);
	return 0;
}

int bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap,
		  uint8_t *data, size_t data_cap, size_t *n)
{
	bool has_lower = false, has_upper = false;
	size_t sep = len, hlen, nout = 0;
	uint32_t c, acc = 0;
	int bits = 0;

	if (len > BECH32_MAX || len < 8)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 33 || ch > 126)
			return -1;
		if (ch >= 'a' && ch <= 'z')
			has_lower = true;
		if (ch >= 'A' && ch <= 'Z')
			has_upper = true;
		if (ch == '1')
			sep = i;
	}
	if (has_lower && has_upper)
		return -1;
	if (sep == len || sep == 0 || len - sep - 1 < 6)
		return -1;
	hlen = sep;
	if (hlen + 1 > hrp_cap)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		hrp[i] = lower(s[i]);
	hrp[hlen] = '\0';
	c = hrp_polymod(hrp, hlen);
	for (size_t i = sep + 1; i < len; i++) {
		const char *p = strchr(charset, lower(s[i]));
		uint8_t v;

		if (!p || !*p)
			return -1;
		v = (uint8_t)(p - charset);
		c = polymod_step(c) ^ v;
		if (i < len - 6) {
			acc = (acc << 5) | v;
			bits += 5;
			if (bits >= 8) {
				bits -= 8;
				if (nout >= data_cap)
					return -1;
				data[nout++] = (uint8_t)(acc >> bits);
			}
			acc &= (1u << bits) - 1;
		}
	}
	if (c != 1)
		return -1;
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	*n = nout;
	return 0;
}
