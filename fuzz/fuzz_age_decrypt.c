/*
 * fuzz_age_decrypt — full age decryption (binary or armored) with a fixed
 * X25519 identity compiled in.  No passphrase is offered, so scrypt stanzas
 * are refused without running scrypt.
 *
 * The input size picks how the source hands out bytes and the size of each
 * age_dec_read, so chunk and armor boundaries fall everywhere.  Properties:
 *   - an error is always described (kerr code matches the return);
 *   - plaintext never exceeds the ciphertext (output is bounded);
 *   - a successful decryption is reproduced exactly by a second pass with
 *     age_dec_next over a plain memory source.
 *
 * Seeds are encrypted to FUZZ_RECIPIENT below (see fuzz/README.md).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "kio.h"
#include "kluis.h"

#include "fuzz_util.h"

/* Bytes 01 02 01 02 ...:
 *   AGE-SECRET-KEY-1QYPQZQSPQGQSYQGZQYPQZQSPQGQSYQGZQYPQZQSPQGQSYQGZQYPQ696K9E
 *   age13ppjsl6lgqezs762gwqj42s94jyqudqfaz8lf0ag3vle8z7s0yjsuep7er */
static const uint8_t fuzz_sk[32] = {
	1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2,
	1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2,
};

static const size_t steps[4] = { SIZE_MAX, 1, 61, 4099 };
static const size_t reads[8] = { 1, 15, 16, 17, 4096, 65535, 65536, 200000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct age_identities ids;
	struct kmem_src t;
	struct kmem_src m;
	struct age_dec *d = NULL;
	struct kerr e;
	crypto_generichash_state h1, h2;
	uint8_t d1[32], d2[32];
	uint8_t *buf;
	size_t rsz, total = 0, total2 = 0;
	int rc;

	init_once();
	memset(&ids, 0, sizeof ids);
	ids.x25519 = fuzz_sk;
	ids.n_x25519 = 1;

	kmem_src_init_step(&t, data, size, steps[size & 3]);
	rsz = reads[(size >> 2) & 7];

	kerr_clear(&e);
	rc = age_dec_begin(&d, &t.base, &ids, &e);
	check_err(rc, &e);
	if (rc != 0) {
		if (d)
			abort();
		return 0;
	}
	if (!age_dec_armored(d) &&
	    (size < 19 || memcmp(data, "age-encryption.org/", 19) != 0))
		abort();
	if (!age_dec_recipient_type(d) ||
	    strcmp(age_dec_recipient_type(d), "X25519") != 0)
		abort();

	buf = malloc(rsz);
	if (!buf)
		abort();
	crypto_generichash_init(&h1, NULL, 0, sizeof d1);
	for (;;) {
		size_t got = 0;

		rc = age_dec_read(d, buf, rsz, &got, &e);
		check_err(rc, &e);
		if (rc != 0)
			break;
		if (got > rsz)
			abort();
		total += got;
		if (total > size)
			abort(); /* more plaintext than ciphertext */
		crypto_generichash_update(&h1, buf, got);
		if (got == 0)
			break;
	}
	free(buf);
	age_dec_free(d);
	if (rc != 0)
		return 0;
	crypto_generichash_final(&h1, d1, sizeof d1);

	/* Authentic end: a second, zero-copy pass must agree exactly. */
	kmem_src_init(&m, data, size);
	if (age_dec_begin(&d, &m.base, &ids, &e) != 0)
		abort();
	crypto_generichash_init(&h2, NULL, 0, sizeof d2);
	for (;;) {
		const uint8_t *p;
		size_t n;

		if (age_dec_next(d, &p, &n, &e) != 0)
			abort();
		if (n == 0)
			break;
		total2 += n;
		if (total2 > size)
			abort();
		crypto_generichash_update(&h2, p, n);
	}
	crypto_generichash_final(&h2, d2, sizeof d2);
	age_dec_free(d);
	if (total != total2 || memcmp(d1, d2, sizeof d1) != 0)
		abort();
	return 0;
}
