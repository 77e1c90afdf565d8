/*
 * armor: the encoder's exact line structure (BEGIN, 64-column lines, a last
 * line of 1..64 columns, END) for sizes around the 48-byte line boundary and
 * for any split of the writes; round trips through the streaming decoder
 * with any read size; and the strict decoder's refusals, each KERR_ARMOR.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "kluis.h"
#include "unit.h"

#define BEGIN_L "-----BEGIN AGE ENCRYPTED FILE-----"
#define END_L "-----END AGE ENCRYPTED FILE-----"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	uint8_t s[randombytes_SEEDBYTES] = { seed };
	randombytes_buf_deterministic(p, n, s);
}

/* Encode n bytes written in pieces of `piece` bytes. */
static int encode(const uint8_t *p, size_t n, size_t piece, struct kbuf *out)
{
	struct kbuf_sink sink;
	struct armor_enc a;
	struct kerr e;

	kbuf_sink_init(&sink, out);
	armor_enc_init(&a, &sink.base);
	while (n > 0) {
		size_t k = n < piece ? n : piece;
		int rc = a.base.write(&a.base, p, k, &e);
		if (rc)
			return rc;
		p += k;
		n -= k;
	}
	return armor_enc_finish(&a, &e);
}

/* Decode text, reading `chunk` bytes at a time; the result into out. */
static int decode(const void *text, size_t len, size_t reader_cap,
		  size_t chunk, struct kbuf *out)
{
	struct kmem_src src;
	struct kreader r;
	struct armor_dec a;
	struct kerr e;
	uint8_t *buf = malloc(chunk);
	int rc;

	if (!buf)
		return KERR_NOMEM;
	kmem_src_init(&src, text, len);
	rc = kreader_init(&r, &src.base, reader_cap, &e);
	if (rc) {
		free(buf);
		return rc;
	}
	armor_dec_init(&a, &r);
	for (;;) {
		size_t got = 0;
		rc = a.base.read(&a.base, buf, chunk, &got, &e);
		if (rc || got == 0)
			break;
		rc = kbuf_append(out, buf, got, &e);
		if (rc)
			break;
	}
	kreader_free(&r);
	free(buf);
	return rc;
}

static int decode_str(const char *text)
{
	struct kbuf out = KBUF_INIT(1 << 20);
	int rc = decode(text, strlen(text), 4096, 4096, &out);
	kbuf_free(&out);
	return rc;
}

/* Check the encoder's text for n bytes of data independently of the
 * decoder: returns 0 or the number of the first failed rule. */
static int structure(const char *t, size_t len, const uint8_t *data,
		     size_t n)
{
	size_t lines = (n + 47) / 48, pos = 0;
	uint8_t dec[48];
	size_t dlen;

	if (len < sizeof BEGIN_L || memcmp(t, BEGIN_L "\n", sizeof BEGIN_L))
		return 1;
	pos = sizeof BEGIN_L;
	for (size_t i = 0; i < lines; i++) {
		const char *nl = memchr(t + pos, '\n', len - pos);
		size_t w, take = i + 1 < lines ? 48 : n - 48 * i;

		if (!nl)
			return 2;
		w = (size_t)(nl - (t + pos));
		if (i + 1 < lines ? w != 64 : (w < 1 || w > 64))
			return 3;
		if (w != (take + 2) / 3 * 4)
			return 4;
		if (sodium_base642bin(dec, sizeof dec, t + pos, w, NULL, &dlen,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    dlen != take || memcmp(dec, data + 48 * i, take) != 0)
			return 5;
		pos += w + 1;
	}
	if (len - pos != sizeof END_L || memcmp(t + pos, END_L "\n", sizeof END_L))
		return 6;
	return 0;
}

static void encoder_structure(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 47, 48, 49, 95, 96, 97,
					 1000, 3072, 3073, 100000 };
	static const size_t pieces[] = { 1, 7, 48, 49, 1 << 20 };
	uint8_t *data = malloc(100000);

	CHECK(data);
	fill(data, 100000, 1);
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		for (size_t j = 0; j < sizeof pieces / sizeof *pieces; j++) {
			struct kbuf out = KBUF_INIT(1 << 20);
			int rc = encode(data, sizes[i], pieces[j], &out), s;

			s = rc ? -1 : structure((const char *)out.p, out.len,
						data, sizes[i]);
			if (s)
				printf("# size %zu piece %zu: rule %d\n",
				       sizes[i], pieces[j], s);
			kbuf_free(&out);
			if (s) {
				free(data);
				CHECK(s == 0);
			}
		}
	}
	free(data);
}

static void encoder_exact_small(void)
{
	struct kbuf out = KBUF_INIT(4096);
	uint8_t d[49];

	CHECK(encode(NULL, 0, 1, &out) == 0);
	CHECK_STR((const char *)out.p, BEGIN_L "\n" END_L "\n");
	kbuf_reset(&out);
	CHECK(encode((const uint8_t *)"f", 1, 1, &out) == 0);
	CHECK_STR((const char *)out.p, BEGIN_L "\nZg==\n" END_L "\n");
	kbuf_reset(&out);
	memset(d, 0, sizeof d);
	CHECK(encode(d, 48, 48, &out) == 0);
	CHECK_STR((const char *)out.p, BEGIN_L "\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	    END_L "\n");
	kbuf_reset(&out);
	CHECK(encode(d, 49, 49, &out) == 0);
	CHECK_STR((const char *)out.p, BEGIN_L "\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "AA==\n" END_L "\n");
	kbuf_free(&out);
}

static void round_trips(void)
{
	static const size_t sizes[] = { 1, 2, 3, 47, 48, 49, 1000, 100000 };
	static const size_t chunks[] = { 1, 7, 47, 48, 49, 4096, 1 << 17 };
	static const size_t caps[] = { 300, 65536 };
	uint8_t *data = malloc(100000);

	CHECK(data);
	fill(data, 100000, 2);
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		struct kbuf text = KBUF_INIT(1 << 20);

		if (encode(data, sizes[i], 1000, &text) != 0) {
			kbuf_free(&text);
			free(data);
			CHECK(0);
		}
		for (size_t j = 0; j < sizeof chunks / sizeof *chunks; j++) {
			for (size_t c = 0; c < 2; c++) {
				struct kbuf out = KBUF_INIT(1 << 20);
				int rc = decode(text.p, text.len, caps[c],
						chunks[j], &out);
				bool ok = rc == 0 && out.len == sizes[i] &&
					  memcmp(out.p, data, sizes[i]) == 0;

				if (!ok)
					printf("# size %zu chunk %zu cap %zu: rc %d len %zu\n",
					       sizes[i], chunks[j], caps[c], rc,
					       out.len);
				kbuf_free(&out);
				if (!ok) {
					kbuf_free(&text);
					free(data);
					CHECK(ok);
				}
			}
		}
		kbuf_free(&text);
	}
	free(data);
}

/* 100 bytes "abc...": lines of 64, 64 and 8 columns. */
#define L1 "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"
#define L2 "d3h5emFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6YWJjZGVmZ2hpamtsbW5vcHFy"
#define L3 "c3R1dg=="

static void known_text_decodes(void)
{
	struct kbuf out = KBUF_INIT(4096);
	char want[101];

	for (int i = 0; i < 100; i++)
		want[i] = (char)('a' + i % 26);
	want[100] = '\0';
	CHECK(decode(BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L "\n",
		     strlen(BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L "\n"),
		     4096, 4096, &out) == 0);
	CHECK(out.len == 100 && memcmp(out.p, want, 100) == 0);
	kbuf_free(&out);
}

static void accepted_variants(void)
{
	/* Whitespace before BEGIN and after END. */
	CHECK(decode_str("\n \t\r\n  " BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n"
			 END_L "\n") == 0);
	CHECK(decode_str(BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L
			 "\n\n \t \r\n\n") == 0);
	/* CRLF line endings. */
	CHECK(decode_str(BEGIN_L "\r\n" L1 "\r\n" L2 "\r\n" L3 "\r\n" END_L
			 "\r\n") == 0);
	/* No body at all (the age test kit's armor_empty is a header
	 * failure, not an armor failure). */
	CHECK(decode_str(BEGIN_L "\n" END_L "\n") == 0);
	/* No line ending after END. */
	CHECK(decode_str(BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L) == 0);
}

static void strict_refusals(void)
{
	static const char *const bad[] = {
		/* lowercase label */
		"-----BEGIN age encrypted file-----\n" L1 "\n" L3 "\n"
		"-----END age encrypted file-----\n",
		/* lowercase END label only */
		BEGIN_L "\n" L1 "\n" L3 "\n-----END age encrypted file-----\n",
		/* another label */
		"-----BEGIN PGP MESSAGE-----\n" L3 "\n-----END PGP MESSAGE-----\n",
		/* space inside a line (same length) */
		BEGIN_L "\n" "YWJjZGVmZ2hpamts bW5vcHFyc3R1dnd4eXphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"
		"\n" L2 "\n" L3 "\n" END_L "\n",
		/* trailing whitespace on a line */
		BEGIN_L "\n" L1 " \n" L2 "\n" L3 "\n" END_L "\n",
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\t\n" END_L "\n",
		/* leading whitespace on a line */
		BEGIN_L "\n" L1 "\n" L2 "\n " L3 "\n" END_L "\n",
		/* whitespace between BEGIN and the body */
		BEGIN_L "\n \n" L1 "\n" L2 "\n" L3 "\n" END_L "\n",
		/* trailing text on the BEGIN line */
		BEGIN_L "x\n" L1 "\n" L2 "\n" L3 "\n" END_L "\n",
		/* a 128-column line */
		BEGIN_L "\n" L1 L2 "\n" L3 "\n" END_L "\n",
		/* a 65-column line followed by a 63-column one */
		BEGIN_L "\n" L1 "d\n" "3h5emFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6YWJjZGVmZ2hpamtsbW5vcHFy"
		"\n" L3 "\n" END_L "\n",
		/* a 68-column line (valid base64 on its own) */
		BEGIN_L "\n" L1 "YWJj\n" L3 "\n" END_L "\n",
		/* a line far beyond any buffer */
		BEGIN_L "\n" L1 L1 L1 L1 L1 L1 L1 L1 "\n" L3 "\n" END_L "\n",
		/* an empty line in the body */
		BEGIN_L "\n" L1 "\n\n" L2 "\n" L3 "\n" END_L "\n",
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n\n" END_L "\n",
		BEGIN_L "\n\n" END_L "\n",
		/* a short line that is not the last */
		BEGIN_L "\n" L3 "\n" L1 "\n" END_L "\n",
		BEGIN_L "\n" "YWJj" "\n" "ZGVm" "\n" END_L "\n",
		/* missing END */
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n",
		BEGIN_L "\n" L1 "\n" L2 "\n" L3,
		BEGIN_L "\n",
		BEGIN_L,
		/* data after END */
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L "\nx",
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L "\n\n" BEGIN_L "\n"
		L3 "\n" END_L "\n",
		BEGIN_L "\n" L1 "\n" L2 "\n" L3 "\n" END_L "-\n",
		/* data before BEGIN */
		"x\n" BEGIN_L "\n" L3 "\n" END_L "\n",
		/* missing padding */
		BEGIN_L "\n" L1 "\n" L2 "\n" "c3R1dg" "\n" END_L "\n",
		/* too much padding */
		BEGIN_L "\n" L1 "\n" L2 "\n" "c3R1dg===" "\n" END_L "\n",
		/* non-canonical: non-zero bits after the last byte */
		BEGIN_L "\n" L1 "\n" L2 "\n" "c3R1dh==" "\n" END_L "\n",
		/* character outside base64 */
		BEGIN_L "\n" L1 "\n" L2 "\n" "c3R1d-==" "\n" END_L "\n",
		/* padding in the middle of a full line */
		BEGIN_L "\n" "YQ==ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"
		"\n" L3 "\n" END_L "\n",
		/* nothing at all, only whitespace */
		"",
		" \n\t\r\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = decode_str(bad[i]);
		if (rc != KERR_ARMOR)
			printf("# case %zu: rc %d\n", i, rc);
		CHECK(rc == KERR_ARMOR);
	}
}

static void crlf_and_lf_mixed_lines(void)
{
	/* LF or CRLF per line; a lone CR is not a line ending. */
	CHECK(decode_str(BEGIN_L "\r\n" L1 "\n" L2 "\r\n" L3 "\n" END_L
			 "\r\n") == 0);
	CHECK(decode_str(BEGIN_L "\r" L1 "\n" L2 "\n" L3 "\n" END_L "\n") ==
	      KERR_ARMOR);
}

const struct unit_case suite_armor[] = {
	{ "armor: encoder line structure, any write split", encoder_structure },
	{ "armor: encoder exact text for 0, 1, 48, 49 bytes",
	  encoder_exact_small },
	{ "armor: round trips, any read size", round_trips },
	{ "armor: known text decodes", known_text_decodes },
	{ "armor: whitespace around the block, CRLF accepted",
	  accepted_variants },
	{ "armor: strict decoder refusals are KERR_ARMOR", strict_refusals },
	{ "armor: mixed line endings", crlf_and_lf_mixed_lines },
	{ NULL, NULL },
};
