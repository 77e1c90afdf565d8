/*
 * age_header_parse on hand-written headers: what a valid header yields
 * (stanzas of any type kept with their arguments and decoded bodies, the
 * MAC, the MAC input, the reader left at the payload), and every syntax
 * rule of the spec's ABNF refused as KERR_HEADER with *h left empty.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "kluis.h"
#include "unit.h"

#define MAC43 "HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75s"
#define S43 "TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc"
#define A64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define V1 "age-encryption.org/v1\n"
#define X25519_STANZA "-> X25519 " S43 "\n" S43 "\n"

static int parse(const char *text, size_t len, size_t cap,
		 struct age_header *h, uint64_t *consumed)
{
	struct kmem_src src;
	struct kreader r;
	struct kerr e;
	int rc;

	kmem_src_init(&src, text, len);
	rc = kreader_init(&r, &src.base, cap, &e);
	if (rc)
		return rc;
	rc = age_header_parse(&r, h, &e);
	if (consumed)
		*consumed = r.offset;
	kreader_free(&r);
	return rc;
}

static void valid_header(void)
{
	static const char text[] =
		V1
		"-> X25519 " S43 "\n"
		S43 "\n"
		"-> unknown-type a b c\n"
		"\n"
		"-> long\n"
		A64 "\n"
		"AAAA\n"
		"--- " MAC43 "\n"
		"PAYLOAD";
	struct age_header h;
	uint64_t off;
	uint8_t mac[32], body[32];
	size_t hlen = strlen(text) - strlen("PAYLOAD");
	size_t mac_at = hlen - 48;

	CHECK(parse(text, strlen(text), 65536, &h, &off) == 0);
	CHECK(off == hlen);
	CHECK(h.n == 3);
	CHECK(h.stanzas[0].nargs == 2);
	CHECK_STR(h.stanzas[0].args[0], "X25519");
	CHECK_STR(h.stanzas[0].args[1], S43);
	CHECK(sodium_base642bin(body, 32, S43, 43, NULL, NULL, NULL,
				sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0);
	CHECK(h.stanzas[0].body_len == 32);
	CHECK_MEM(h.stanzas[0].body, body, 32);
	CHECK(h.stanzas[1].nargs == 4);
	CHECK_STR(h.stanzas[1].args[0], "unknown-type");
	CHECK_STR(h.stanzas[1].args[1], "a");
	CHECK_STR(h.stanzas[1].args[3], "c");
	CHECK(h.stanzas[1].body_len == 0);
	CHECK(h.stanzas[2].nargs == 1);
	CHECK_STR(h.stanzas[2].args[0], "long");
	CHECK(h.stanzas[2].body_len == 51);
	for (size_t i = 0; i < 51; i++)
		CHECK(h.stanzas[2].body[i] == 0);
	CHECK(sodium_base642bin(mac, 32, MAC43, 43, NULL, NULL, NULL,
				sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0);
	CHECK_MEM(h.mac, mac, 32);
	/* MAC input: everything up to and including "---". */
	CHECK(h.mac_input_len == mac_at + 3);
	CHECK_MEM(h.mac_input, text, mac_at + 3);
	CHECK(memcmp(h.mac_input + mac_at, "---", 3) == 0);
	age_header_free(&h);
	CHECK(h.n == 0 && h.stanzas == NULL);
}

static void all_vchars_in_arguments(void)
{
	static const char text[] =
		V1
		"-> !\"#$%&' ()*+,-./ 01234567 89:;<=>? @ABCDEFG HIJKLMNO\n"
		"\n"
		"-> PQRSTUVW XYZ[\\]^_ `abcdefg hijklmno pqrstuvw xyz{|}~\n"
		"\n"
		X25519_STANZA
		"--- " MAC43 "\n";
	struct age_header h;

	CHECK(parse(text, strlen(text), 65536, &h, NULL) == 0);
	CHECK(h.n == 3);
	CHECK(h.stanzas[0].nargs == 6 && h.stanzas[1].nargs == 6);
	CHECK_STR(h.stanzas[0].args[0], "!\"#$%&'");
	CHECK_STR(h.stanzas[1].args[5], "xyz{|}~");
	age_header_free(&h);
}

static void many_stanzas(void)
{
	/* A header of 1 MiB made of empty stanzas (about 175000): all kept,
	 * in order.  This also guards the growth of the stanza array: a
	 * constant step made this quadratic (minutes under ASan). */
	struct kbuf b = KBUF_INIT(AGE_HEADER_MAX);
	struct age_header h;
	struct kerr e;
	size_t n = 0;
	char last[24];

	CHECK(kbuf_puts(&b, V1, &e) == 0);
	while (b.len + 48 + 12 <= AGE_HEADER_MAX)
		CHECK(kbuf_printf(&b, &e, "-> %zx\n\n", n++) == 0);
	CHECK(kbuf_puts(&b, "--- " MAC43 "\n", &e) == 0);
	CHECK(b.len > AGE_HEADER_MAX - 20);
	CHECK(parse((const char *)b.p, b.len, 65536, &h, NULL) == 0);
	kbuf_free(&b);
	CHECK(n > 100000 && h.n == n);
	CHECK_STR(h.stanzas[0].args[0], "0");
	snprintf(last, sizeof last, "%zx", n - 1);
	CHECK_STR(h.stanzas[n - 1].args[0], last);
	for (size_t i = 0; i < n; i++)
		CHECK(h.stanzas[i].nargs == 1 && h.stanzas[i].body_len == 0);
	age_header_free(&h);
}

static void body_boundaries(void)
{
	struct age_header h;
	/* 48 bytes: one full line and the mandatory empty final line. */
	static const char full[] = V1 "-> a\n" A64 "\n\n--- " MAC43 "\n";
	/* 47 bytes: a 63-column line ends the body. */
	static const char short63[] = V1 "-> a\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		"--- " MAC43 "\n";
	/* 96 bytes. */
	static const char two[] = V1 "-> a\n" A64 "\n" A64 "\n\n--- " MAC43 "\n";

	CHECK(parse(full, strlen(full), 65536, &h, NULL) == 0);
	CHECK(h.n == 1 && h.stanzas[0].body_len == 48);
	age_header_free(&h);
	CHECK(parse(short63, strlen(short63), 65536, &h, NULL) == 0);
	CHECK(h.n == 1 && h.stanzas[0].body_len == 47);
	age_header_free(&h);
	CHECK(parse(two, strlen(two), 65536, &h, NULL) == 0);
	CHECK(h.n == 1 && h.stanzas[0].body_len == 96);
	age_header_free(&h);
}

static void malformed_headers(void)
{
	static const char *const bad[] = {
		/* version */
		"age-encryption.org/v2\n" X25519_STANZA "--- " MAC43 "\n",
		"age-encryption.org/v1 \n" X25519_STANZA "--- " MAC43 "\n",
		"age-encryption.org/v1\r\n" X25519_STANZA "--- " MAC43 "\n",
		"age-encryption.org/\n" X25519_STANZA "--- " MAC43 "\n",
		"AGE-ENCRYPTION.ORG/v1\n" X25519_STANZA "--- " MAC43 "\n",
		"age-encryption.org/v1",
		"age-encryption.org/v1\n",
		"",
		"\n",
		/* no stanzas */
		V1 "--- " MAC43 "\n",
		/* stanza line syntax */
		V1 "->\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> \n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "->  a\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> a \n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> a  b\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> a\tb\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> a\x7f\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> \xc3\xa9\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-> a\r\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "-X a\n\n" X25519_STANZA "--- " MAC43 "\n",
		V1 "hello\n" X25519_STANZA "--- " MAC43 "\n",
		/* body: missing, no short final line, too long */
		V1 "-> a\n--- " MAC43 "\n",
		V1 "-> a\n" A64 "\n--- " MAC43 "\n",
		V1 "-> a\n" A64 "A\n\n--- " MAC43 "\n",
		/* 65 + 3 columns would be valid base64 if joined */
		V1 "-> a\n" A64 "A\nAAA\n--- " MAC43 "\n",
		V1 "-> a\n" A64 "\n" A64,
		/* body: padding, non-canonical, stray characters, CR */
		V1 "-> a\nAA==\n--- " MAC43 "\n",
		V1 "-> a\nAA=\n--- " MAC43 "\n",
		V1 "-> a\nAB\n--- " MAC43 "\n",
		V1 "-> a\nA\n--- " MAC43 "\n",
		V1 "-> a\nAAAA \n--- " MAC43 "\n",
		V1 "-> a\nAA-A\n--- " MAC43 "\n",
		V1 "-> a\nAAAA\r\n--- " MAC43 "\n",
		V1 "-> a\nAA\xaf" "A\n--- " MAC43 "\n",
		/* two short lines: the second is not a stanza or MAC line */
		V1 "-> a\nAAAA\nAAAA\n--- " MAC43 "\n",
		/* MAC line */
		V1 X25519_STANZA,
		V1 X25519_STANZA "--- " MAC43,
		V1 X25519_STANZA "---\n",
		V1 X25519_STANZA "--- \n",
		V1 X25519_STANZA "---" MAC43 "\n",
		V1 X25519_STANZA "---  " MAC43 "\n",
		V1 X25519_STANZA "--- " MAC43 " \n",
		V1 X25519_STANZA "--- " MAC43 "A\n",
		V1 X25519_STANZA "--- HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75\n",
		V1 X25519_STANZA "--- HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75t\n",
		V1 X25519_STANZA "--- HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75s=\n",
		V1 X25519_STANZA "--- " MAC43 "\r\n",
		V1 X25519_STANZA "-- " MAC43 "\n",
		V1 X25519_STANZA "--> " MAC43 "\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct age_header h;
		int rc;

		memset(&h, 0xa5, sizeof h);
		rc = parse(bad[i], strlen(bad[i]), 65536, &h, NULL);
		if (rc != KERR_HEADER)
			printf("# case %zu: rc %d\n", i, rc);
		CHECK(rc == KERR_HEADER);
		CHECK(h.n == 0 && h.stanzas == NULL && h.mac_input == NULL);
	}
}

static void line_longer_than_reader(void)
{
	/* An argument line longer than the reader's buffer is a header
	 * failure, not a resize and not a generic limit error. */
	struct kbuf b = KBUF_INIT(1 << 20);
	struct age_header h;
	struct kerr e;

	CHECK(kbuf_puts(&b, V1 "-> ", &e) == 0);
	for (int i = 0; i < 5000; i++)
		CHECK(kbuf_putc(&b, 'a', &e) == 0);
	CHECK(kbuf_puts(&b, "\n\n" X25519_STANZA "--- " MAC43 "\n", &e) == 0);
	CHECK(parse((const char *)b.p, b.len, 1024, &h, NULL) == KERR_HEADER);
	/* With a large enough reader the same header parses. */
	CHECK(parse((const char *)b.p, b.len, 65536, &h, NULL) == 0);
	CHECK(h.n == 2 && strlen(h.stanzas[0].args[0]) == 5000);
	age_header_free(&h);
	kbuf_free(&b);
}

const struct unit_case suite_age_header[] = {
	{ "age header: valid header, stanzas kept, MAC input, offset",
	  valid_header },
	{ "age header: every VCHAR allowed in arguments",
	  all_vchars_in_arguments },
	{ "age header: 1 MiB of stanzas kept in order, quickly", many_stanzas },
	{ "age header: 64-column body lines need a short final line",
	  body_boundaries },
	{ "age header: malformed headers -> KERR_HEADER, h left empty",
	  malformed_headers },
	{ "age header: line longer than the reader -> KERR_HEADER",
	  line_longer_than_reader },
	{ NULL, NULL },
};
