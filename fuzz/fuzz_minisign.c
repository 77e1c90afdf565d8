/*
 * fuzz_minisign — the minisign key and signature parsers and the kluis
 * public key file parser, on the same arbitrary text.
 *
 * Parse only: ms_seckey_open is never called here (an encrypted key runs
 * scrypt with limits taken from the input).  Properties checked:
 *   - a parsed signature has a NUL-terminated trusted comment without line
 *     breaks, and rebuilding the signature text from its fields parses to
 *     the same fields;
 *   - public keys and kluis public key files survive format -> parse;
 *   - a parsed secret key file's flags agree with its bytes, and its
 *     canonical text parses to the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "kbuf.h"
#include "kluis.h"
#include "minisign.h"
#include "pubfile.h"

#include "fuzz_util.h"

static bool contains(const char *text, size_t len, const char *s)
{
	return memmem(text, len, s, strlen(s)) != NULL;
}

static void fuzz_sig(const char *text, size_t len)
{
	struct ms_sig s, s2;
	struct kbuf re = KBUF_INIT(1u << 16);
	struct kerr e;
	uint8_t raw[74];
	char b64[128];
	const char *nul;
	int rc;

	kerr_clear(&e);
	rc = ms_sig_parse(text, len, &s, &e);
	check_err(rc, &e);
	if (rc != 0)
		return;
	nul = memchr(s.trusted, '\0', sizeof s.trusted);
	if (!nul)
		abort();
	if (strchr(s.trusted, '\n'))
		abort();
	/* The trusted comment is the third line's text, verbatim. */
	if (!memmem(text, len, s.trusted, strlen(s.trusted)))
		abort();

	/* Base64 is canonical: the input holds exactly the encodings of the
	 * parsed bytes. */
	raw[0] = 'E';
	raw[1] = s.prehashed ? 'D' : 'd';
	memcpy(raw + 2, s.keynum, sizeof s.keynum);
	memcpy(raw + 2 + sizeof s.keynum, s.sig, sizeof s.sig);
	b64_encode(raw, sizeof raw, true, b64, sizeof b64);
	if (!contains(text, len, b64))
		abort();
	if (kbuf_printf(&re, &e, "untrusted comment: x\n%s\ntrusted comment: %s\n",
			b64, s.trusted) != 0)
		abort();
	b64_encode(s.global, sizeof s.global, true, b64, sizeof b64);
	if (!contains(text, len, b64))
		abort();
	if (kbuf_printf(&re, &e, "%s\n", b64) != 0)
		abort();
	if (ms_sig_parse((const char *)re.p, re.len, &s2, &e) != 0)
		abort();
	if (s.prehashed != s2.prehashed ||
	    memcmp(s.keynum, s2.keynum, sizeof s.keynum) != 0 ||
	    memcmp(s.sig, s2.sig, sizeof s.sig) != 0 ||
	    strcmp(s.trusted, s2.trusted) != 0 ||
	    memcmp(s.global, s2.global, sizeof s.global) != 0)
		abort();
	kbuf_free(&re);
}

static void fuzz_pubkey(const char *text, size_t len)
{
	struct ms_pubkey pk, pk2;
	struct kbuf re = KBUF_INIT(1024);
	struct kerr e;
	char b64[57];
	int rc;

	kerr_clear(&e);
	rc = ms_pubkey_parse(text, len, &pk, &e);
	check_err(rc, &e);
	if (rc != 0)
		return;
	if (ms_pubkey_format(&pk, &re, &e) != 0 ||
	    ms_pubkey_parse((const char *)re.p, re.len, &pk2, &e) != 0)
		abort();
	if (memcmp(&pk, &pk2, sizeof pk) != 0)
		abort();
	ms_pubkey_encode(&pk, b64);
	if (!contains(text, len, b64))
		abort(); /* accepted base64 must be canonical */
	if (strlen(b64) != 56 || ms_pubkey_decode(b64, 56, &pk2, &e) != 0 ||
	    memcmp(&pk, &pk2, sizeof pk) != 0)
		abort();
	kbuf_free(&re);
}

static void fuzz_seckey(const char *text, size_t len)
{
	struct ms_seckey_file f, f2;
	struct kbuf re = KBUF_INIT(1024);
	struct kerr e;
	char b64[256];
	int rc;

	kerr_clear(&e);
	memset(&f, 0, sizeof f);
	rc = ms_seckey_parse(text, len, &f, &e);
	check_err(rc, &e);
	if (rc != 0)
		return;
	/* Parse only: never ms_seckey_open() on fuzz input. */
	if (memcmp(f.raw, "Ed", 2) != 0 || memcmp(f.raw + 4, "B2", 2) != 0)
		abort();
	if (f.encrypted != (memcmp(f.raw + 2, "Sc", 2) == 0))
		abort();
	if (!f.encrypted && (f.raw[2] != 0 || f.raw[3] != 0))
		abort();
	b64_encode(f.raw, sizeof f.raw, true, b64, sizeof b64);
	if (!contains(text, len, b64))
		abort(); /* accepted base64 must be canonical */
	if (kbuf_printf(&re, &e, "untrusted comment: x\n%s\n", b64) != 0)
		abort();
	memset(&f2, 0, sizeof f2);
	if (ms_seckey_parse((const char *)re.p, re.len, &f2, &e) != 0 ||
	    f2.encrypted != f.encrypted ||
	    memcmp(f.raw, f2.raw, sizeof f.raw) != 0)
		abort();
	kbuf_free(&re);
}

static void fuzz_pubfile(const char *text, size_t len)
{
	struct pubfile p, p2;
	struct kbuf re = KBUF_INIT(4096);
	char b64[57];
	struct kerr e;
	int rc;

	kerr_clear(&e);
	rc = pubfile_parse(text, len, &p, &e);
	check_err(rc, &e);
	if (rc != 0)
		return;
	if (!memchr(p.label, '\0', sizeof p.label) ||
	    !memchr(p.created, '\0', sizeof p.created))
		abort();
	for (const char *c = p.label; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort(); /* control characters must be refused */
	for (const char *c = p.created; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	ms_pubkey_encode(&p.ms, b64);
	if (!contains(text, len, b64))
		abort(); /* accepted base64 must be canonical */
	/* Whatever parses must format and parse back to the same keys. */
	if (pubfile_format(&p, &re, &e) != 0)
		abort();
	if (pubfile_parse((const char *)re.p, re.len, &p2, &e) != 0)
		abort();
	if (memcmp(p.age, p2.age, sizeof p.age) != 0 ||
	    memcmp(&p.ms, &p2.ms, sizeof p.ms) != 0 ||
	    strcmp(p.label, p2.label) != 0 ||
	    strcmp(p.created, p2.created) != 0)
		abort();
	kbuf_free(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly `size` bytes: the parsers take (text, len)
	 * and must not look past len; no NUL is appended on purpose. */
	char *text;

	init_once();
	if (size > MS_FILE_MAX)
		return 0;
	text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	fuzz_sig(text, size);
	fuzz_pubkey(text, size);
	fuzz_seckey(text, size);
	fuzz_pubfile(text, size);
	free(text);
	return 0;
}
