/*
 * fuzz_armor — the streaming armor decoder and encoder.
 *
 * Input: one selector byte, then the armored text.  The selector picks the
 * decoder's read size (1 byte .. 64 KiB, so both the decoder's pending-group
 * path and its direct path run) and the encoder's write size.  Properties:
 *   - the read() contract holds (never more than asked; EOF is sticky);
 *   - the outcome does not depend on the read size (compared with a
 *     reference decode using one large read);
 *   - decoded data re-encoded with armor_enc decodes to the same bytes;
 *   - the decoder is strict: text that has no whitespace outside the block
 *     and LF line ends is accepted only in the encoder's exact form.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "kbuf.h"
#include "kio.h"
#include "kluis.h"

#include "fuzz_util.h"

#define OUT_MAX (1u << 22)

static const size_t sizes[16] = {
	1, 2, 3, 5, 16, 47, 48, 49, 63, 64, 95, 96, 97, 1000, 4096, 65536,
};

/* Decode everything, reading rsz bytes at a time; 0 and the bytes, or the
 * error code. */
static int decode(const uint8_t *p, size_t n, size_t rsz, size_t cap,
		  struct kbuf *out)
{
	struct kmem_src m;
	struct kreader r;
	struct armor_dec a;
	struct kerr e;
	uint8_t *buf = malloc(rsz);
	int rc = 0;

	if (!buf)
		abort();
	kerr_clear(&e);
	kmem_src_init(&m, p, n);
	if (kreader_init(&r, &m.base, cap, &e) != 0)
		abort();
	armor_dec_init(&a, &r);
	for (;;) {
		size_t got = 12345;

		rc = a.base.read(&a.base, buf, rsz, &got, &e);
		if (rc) {
			if (e.code == KERR_OK || rc != (int)e.code)
				abort();
			break;
		}
		if (got > rsz)
			abort();
		if (got == 0) {
			/* End of input must stay end of input. */
			got = 12345;
			if (a.base.read(&a.base, buf, rsz, &got, &e) != 0 ||
			    got != 0)
				abort();
			break;
		}
		if (kbuf_append(out, buf, got, &e) != 0)
			abort();
	}
	kreader_free(&r);
	free(buf);
	return rc;
}

static void encode(const uint8_t *p, size_t n, size_t wsz, struct kbuf *out)
{
	struct kbuf_sink s;
	struct armor_enc a;
	struct kerr e;

	kbuf_sink_init(&s, out);
	armor_enc_init(&a, &s.base);
	while (n > 0) {
		size_t take = n < wsz ? n : wsz;
		if (a.base.write(&a.base, p, take, &e) != 0)
			abort();
		p += take;
		n -= take;
	}
	if (armor_enc_finish(&a, &e) != 0)
		abort();
}

static bool same(const struct kbuf *a, const struct kbuf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbuf dec = KBUF_INIT(OUT_MAX), ref = KBUF_INIT(OUT_MAX),
		    enc = KBUF_INIT(OUT_MAX * 2), dec2 = KBUF_INIT(OUT_MAX);
	size_t rsz, wsz, cap;
	int rc, rc_ref;

	init_once();
	if (size < 1)
		return 0;
	rsz = sizes[data[0] & 15];
	wsz = sizes[(data[0] >> 4) & 15];
	/* A reader buffer just big enough for the longest line still works
	 * (lines are capped at 256 bytes either way). */
	cap = (data[0] & 0x80) ? 257 : 4096;
	data++;
	size--;

	rc = decode(data, size, rsz, cap, &dec);
	rc_ref = decode(data, size, 1 << 16, 1 << 16, &ref);
	if ((rc == 0) != (rc_ref == 0))
		abort();
	if (rc != 0)
		goto out;
	if (!same(&dec, &ref))
		abort();
	if (dec.len > size)
		abort();

	/* Round trip: encode and decode again. */
	encode(dec.p, dec.len, wsz, &enc);
	if (decode(enc.p, enc.len, rsz, cap, &dec2) != 0)
		abort();
	if (!same(&dec, &dec2))
		abort();

	/* Strictness: without whitespace outside the block and with LF line
	 * ends, there is exactly one accepted encoding. */
	if (size > 0 && data[0] == '-' && data[size - 1] == '\n' &&
	    !memchr(data, '\r', size) &&
	    !(size >= 2 && (data[size - 2] == '\n' || data[size - 2] == ' ' ||
			    data[size - 2] == '\t')))
		if (enc.len != size || memcmp(enc.p, data, size) != 0)
			abort();
out:
	kbuf_free(&dec);
	kbuf_free(&ref);
	kbuf_free(&enc);
	kbuf_free(&dec2);
	return 0;
}
