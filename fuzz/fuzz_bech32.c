/*
 * fuzz_bech32 — the Bech32 decoder and the age key string decoders.
 *
 * A string that decodes must re-encode (same hrp, same case) to exactly
 * the input: the decoder is strict, so there is one encoding per value.
 * Decoded age identities and recipients must also survive encode/decode.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agekey.h"
#include "bech32.h"
#include "kluis.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char hrp[BECH32_MAX + 1], out[BECH32_MAX + 2];
	static uint8_t bytes[BECH32_MAX];
	const char *s = (const char *)data;
	uint8_t key[32], key2[32];
	char enc[AGE_IDENTITY_LEN + 2];
	struct kerr e;
	size_t n = 0;
	bool upper = false;

	init_once();
	if (bech32_decode(s, size, hrp, sizeof hrp, bytes, sizeof bytes, &n) == 0) {
		if (size < 8 || size > BECH32_MAX || n > size)
			abort();
		if (!memchr(hrp, '\0', sizeof hrp) || strlen(hrp) == 0)
			abort();
		for (size_t i = 0; i < size; i++)
			if (data[i] >= 'A' && data[i] <= 'Z')
				upper = true;
		if (bech32_encode(hrp, bytes, n, upper, out, sizeof out) != 0)
			abort();
		if (strlen(out) != size || memcmp(out, data, size) != 0)
			abort();
	}

	kerr_clear(&e);
	if (agekey_identity_decode(s, size, key, &e) == 0) {
		if (agekey_identity_encode(key, enc, sizeof enc) != 0 ||
		    strlen(enc) != AGE_IDENTITY_LEN ||
		    agekey_identity_decode(enc, strlen(enc), key2, &e) != 0 ||
		    memcmp(key, key2, 32) != 0)
			abort();
	} else if (e.code != KERR_KEY) {
		abort();
	}
	kerr_clear(&e);
	if (agekey_recipient_decode(s, size, key, &e) == 0) {
		if (agekey_recipient_encode(key, enc, sizeof enc) != 0 ||
		    strlen(enc) != AGE_RECIPIENT_LEN ||
		    agekey_recipient_decode(enc, strlen(enc), key2, &e) != 0 ||
		    memcmp(key, key2, 32) != 0)
			abort();
		/* Recipients are lowercase; the input was this very string. */
		if (size != AGE_RECIPIENT_LEN)
			abort();
	} else if (e.code != KERR_KEY) {
		abort();
	}
	return 0;
}
