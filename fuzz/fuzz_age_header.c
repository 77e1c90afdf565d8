/*
 * fuzz_age_header — age_header_parse on arbitrary bytes.
 *
 * The input is the start of an age file.  On success the parsed header must
 * satisfy the format's invariants, re-serialising it must reproduce the MAC
 * input byte for byte (the grammar admits one encoding per header), and
 * parsing again through a source that hands out a few bytes at a time must
 * give the same result.  Any violation aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "b64.h"
#include "kbuf.h"
#include "kio.h"
#include "kluis.h"

#include "fuzz_util.h"

/* Lines may be AGE_ENC_CHUNK_SIZE long, as with age_dec_begin's larger
 * reader; a smaller buffer keeps each run cheap. */
#define READER_CAP (AGE_ENC_CHUNK_SIZE + 1)
#define VERSION_LINE "age-encryption.org/v1\n"

static bool is_vchar(char c)
{
	return c >= 0x21 && c <= 0x7e;
}

static void check_header(const struct age_header *h, const uint8_t *data,
			 size_t size, uint64_t consumed)
{
	struct kbuf re = KBUF_INIT(AGE_HEADER_MAX * 2);
	struct kerr e;
	char line[80];

	if (h->n < 1 || !h->stanzas)
		abort();
	if (!h->mac_input || h->mac_input_len > size)
		abort();
	if (h->mac_input_len < strlen(VERSION_LINE "---"))
		abort();
	/* The MAC input is a prefix of the input ending in "---". */
	if (memcmp(h->mac_input, data, h->mac_input_len) != 0)
		abort();
	if (memcmp(h->mac_input + h->mac_input_len - 3, "---", 3) != 0)
		abort();
	/* The reader stopped right after " " + 43 base64 chars + LF. */
	if (consumed != h->mac_input_len + 1 + 43 + 1 || consumed > size)
		abort();
	if (data[h->mac_input_len] != ' ' || data[consumed - 1] != '\n')
		abort();
	/* ... and those 43 characters are the canonical encoding of the MAC. */
	if (b64_encode(h->mac, sizeof h->mac, false, line, sizeof line) != 43 ||
	    memcmp(line, data + h->mac_input_len + 1, 43) != 0)
		abort();

	if (kbuf_puts(&re, VERSION_LINE, &e) != 0)
		abort();
	for (size_t i = 0; i < h->n; i++) {
		const struct age_stanza *s = &h->stanzas[i];
		const uint8_t *b = s->body;
		size_t left = s->body_len;

		if (s->nargs < 1 || !s->args || s->args[s->nargs] != NULL)
			abort();
		if (s->body_len > size || (s->body_len > 0 && !s->body))
			abort();
		if (kbuf_puts(&re, "->", &e) != 0)
			abort();
		for (size_t j = 0; j < s->nargs; j++) {
			const char *a = s->args[j];
			if (!a || a[0] == '\0')
				abort();
			for (const char *c = a; *c; c++)
				if (!is_vchar(*c))
					abort();
			if (kbuf_putc(&re, ' ', &e) != 0 ||
			    kbuf_puts(&re, a, &e) != 0)
				abort();
		}
		if (kbuf_putc(&re, '\n', &e) != 0)
			abort();
		/* Body: 64-column lines, the last one always short. */
		for (;;) {
			size_t take = left > 48 ? 48 : left;
			size_t w = b64_encode(b, take, false, line, sizeof line);
			if (kbuf_append(&re, line, w, &e) != 0 ||
			    kbuf_putc(&re, '\n', &e) != 0)
				abort();
			b += take;
			left -= take;
			if (w < 64)
				break;
		}
	}
	if (kbuf_puts(&re, "---", &e) != 0)
		abort();
	if (re.len != h->mac_input_len ||
	    memcmp(re.p, h->mac_input, re.len) != 0)
		abort();
	kbuf_free(&re);
}

/* Parse through src; returns the parse result code, fills the header. */
static int parse(struct ksrc *src, struct age_header *h, uint64_t *consumed)
{
	struct kreader r;
	struct kerr e;
	int rc;

	kerr_clear(&e);
	if (kreader_init(&r, src, READER_CAP, &e) != 0)
		abort();
	rc = age_header_parse(&r, h, &e);
	*consumed = r.offset;
	if (rc != 0 && (e.code == KERR_OK || rc != (int)e.code))
		abort(); /* an error must be described */
	kreader_free(&r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmem_src m;
	struct kmem_src t;
	struct age_header h, h2;
	uint64_t consumed, consumed2;
	int rc, rc2;

	init_once();

	kmem_src_init(&m, data, size);
	rc = parse(&m.base, &h, &consumed);
	if (rc == 0)
		check_header(&h, data, size, consumed);
	else if (h.n != 0 || h.stanzas || h.mac_input)
		abort(); /* "on error *h is left empty" */

	/* The same bytes, delivered a few at a time, parse the same. */
	kmem_src_init_step(&t, data, size, 1 + size % 7);
	rc2 = parse(&t.base, &h2, &consumed2);
	if ((rc == 0) != (rc2 == 0))
		abort();
	if (rc == 0) {
		if (consumed != consumed2 || h.n != h2.n ||
		    h.mac_input_len != h2.mac_input_len ||
		    memcmp(h.mac, h2.mac, sizeof h.mac) != 0)
			abort();
		age_header_free(&h2);
	}
	age_header_free(&h);
	return 0;
}
