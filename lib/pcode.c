/*
 * pcode — person codes (see pcode.h for the format and why).
 */
#include "pcode.h"

#include <string.h>

#include "krand.h"

#include "banned.h"

static const char alphabet[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define SYMBOLS (PCODE_BITS / 5)

uint64_t pcode_random(void)
{
	uint64_t v;

	krand_buf(&v, sizeof v);
	return v & PCODE_MAX;
}

/* Symbol value of c, or -1: Crockford's reading, case-insensitive. */
static int value_of(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	switch (c) {
	case 'O':
		return 0;
	case 'I':
	case 'L':
		return 1;
	default:
		break;
	}
	const char *p = c ? memchr(alphabet, c, 32) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Luhn mod 32 over the symbol values, the rightmost one doubled. */
static unsigned check_of(const unsigned sym[SYMBOLS])
{
	unsigned sum = 0;

	for (int i = SYMBOLS - 1, k = 0; i >= 0; i--, k++) {
		unsigned d = sym[i];
		if (k % 2 == 0) {
			d *= 2;
			d = d / 32 + d % 32;
		}
		sum += d;
	}
	return (32 - sum % 32) % 32;
}

void pcode_format(uint64_t v, char out[PCODE_LEN + 1])
{
	unsigned sym[SYMBOLS];
	size_t o = 0;

	for (int i = SYMBOLS - 1; i >= 0; i--) {
		sym[i] = (unsigned)(v & 31u);
		v >>= 5;
	}
	for (int i = 0; i < SYMBOLS; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = alphabet[sym[i]];
	}
	out[o++] = '-';
	out[o++] = alphabet[check_of(sym)];
	out[o] = '\0';
}

int pcode_parse(const char *s, size_t n, uint64_t *v, struct kerr *e)
{
	unsigned sym[SYMBOLS + 1];
	size_t k = 0;
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == ' ')
			continue;
		int d = value_of(s[i]);
		if (d < 0)
			return kerr_set(e, KERR_USAGE, "person code",
					"character %zu is not a code symbol",
					i + 1);
		if (k == SYMBOLS + 1)
			return kerr_set(e, KERR_USAGE, "person code",
					"too long: a code has %d symbols",
					SYMBOLS + 1);
		sym[k++] = (unsigned)d;
	}
	if (k != SYMBOLS + 1)
		return kerr_set(e, KERR_USAGE, "person code",
				"too short: a code has %d symbols, like "
				"K7Q2-9XHD-M3PA-H", SYMBOLS + 1);
	if (check_of(sym) != sym[SYMBOLS])
		return kerr_set(e, KERR_USAGE, "person code",
				"wrong check symbol (mistyped?)");
	for (int i = 0; i < SYMBOLS; i++)
		x = x << 5 | sym[i];
	*v = x;
	return 0;
}
