/*
 * minisign: vectors made by the minisign 0.11 tool (public key, an
 * unencrypted secret key with the zero checksum 0.11 writes, a prehashed
 * and a legacy signature), keygen/sign/verify, the text forms, sealed
 * secret keys, and every way a signature must fail.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kluis.h"
#include "unit.h"

/* minisign -G -W; minisign -S [-l] -m msg -t ... */
#define TOOL_PUB_B64 "RWSzkUE1Ta6hTFxUTPMSjgaaZEMuYvPb/1mLv2skn9yrezd0YnLIYlK6"
#define TOOL_PUB \
	"untrusted comment: minisign public key 4CA1AE4D354191B3\n" \
	TOOL_PUB_B64 "\n"
#define TOOL_SEC                                                          \
	"untrusted comment: minisign encrypted secret key\n"               \
	"RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"     \
	"AAAAAAAAAAAAs5FBNU2uoUwFSog1ZLKBE2Un6p4Dxq9YerxujsN3qcF+wtbo"     \
	"OVMgw1xUTPMSjgaaZEMuYvPb/1mLv2skn9yrezd0YnLIYlK6AAAAAAAAAAAA"     \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
#define TOOL_MSG "kluis unit test message\n"
#define TOOL_SIG_PREHASHED                                                  \
	"untrusted comment: signature from minisign secret key\n"            \
	"RUSzkUE1Ta6hTJ23PR5Oko7XPiBqTG7fjgUoXKT70gKH5SGNZctVfYQgbyJylg/bghLr" \
	"jU33aEofdk39RQyHMmSI4VD0D9Q5twY=\n"                                 \
	"trusted comment: trusted vector comment\n"                          \
	"N/nLyoRLZhvXAPTVEH1Wr7MOtVbhIWNrbPs2B3RnTroS7tKSDQVBIlwaPHHkMICYFSvs" \
	"SEmdXB34r5/MpYWBCQ==\n"
#define TOOL_SIG_LEGACY                                                     \
	"untrusted comment: signature from minisign secret key\n"            \
	"RWSzkUE1Ta6hTDDxC74D49nI562Vd+VUukC4QtdVSc3+xKlC24lOawv34A7jjBFrNZN8" \
	"hzSxGaLSopk8extDgKkUn59hZT7JsQM=\n"                                 \
	"trusted comment: legacy vector\n"                                   \
	"jtpSy9dSl2vZ4q2Y5PuB+9gZmCVSXgaQvJXmnJtNnjAYOLeu7jmsoYuRrPDuppSlZUc/" \
	"T2cteDCPjDm3vazsDw==\n"

#define OPS 32768ull
#define MEM (16u << 20)

static void blake2b512(const void *m, size_t n, uint8_t out[64])
{
	crypto_generichash(out, 64, m, n, NULL, 0);
}

static int verify_text(const struct ms_pubkey *pk, const char *sigtext,
		       const void *msg, size_t n)
{
	struct ms_sig s;
	struct kerr e;
	uint8_t h[64];
	int rc = ms_sig_parse(sigtext, strlen(sigtext), &s, &e);

	if (rc)
		return rc;
	if (s.prehashed) {
		blake2b512(msg, n, h);
		return ms_verify(pk, &s, h, sizeof h, &e);
	}
	return ms_verify(pk, &s, msg, n, &e);
}

static void keyid_hex(void)
{
	static const uint8_t id[8] = { 0xc7, 0x26, 0x09, 0x7f,
				       0xc6, 0x40, 0x17, 0xda };
	char out[17];

	ms_keyid_hex(id, out);
	CHECK_STR(out, "DA1740C67F0926C7");
}

static void tool_vectors_verify(void)
{
	struct ms_pubkey pk;
	struct kerr e;
	char id[17];

	CHECK(ms_pubkey_parse(TOOL_PUB, strlen(TOOL_PUB), &pk, &e) == 0);
	ms_keyid_hex(pk.keynum, id);
	CHECK_STR(id, "4CA1AE4D354191B3");
	CHECK(verify_text(&pk, TOOL_SIG_PREHASHED, TOOL_MSG,
			  strlen(TOOL_MSG)) == 0);
	CHECK(verify_text(&pk, TOOL_SIG_LEGACY, TOOL_MSG, strlen(TOOL_MSG)) == 0);
	/* The digest is over the whole message. */
	CHECK(verify_text(&pk, TOOL_SIG_PREHASHED, TOOL_MSG,
			  strlen(TOOL_MSG) - 1) == KERR_SIGNATURE);
	CHECK(verify_text(&pk, TOOL_SIG_LEGACY, "kluis", 5) == KERR_SIGNATURE);
}

static void tool_secret_key_signs_identically(void)
{
	/* minisign 0.11 wrote this unencrypted key with a zero checksum.
	 * Ed25519 is deterministic: kluis must produce the very same
	 * signature files as the tool did. */
	struct ms_seckey_file f;
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey pk, tool;
	struct kbuf out = KBUF_INIT(4096);
	struct kerr e;
	uint8_t h[64];

	CHECK(sk);
	CHECK(ms_seckey_parse(TOOL_SEC, strlen(TOOL_SEC), &f, &e) == 0);
	CHECK(!f.encrypted);
	CHECK(ms_seckey_open(&f, NULL, 0, sk, &e) == 0);
	ms_seckey_public(sk, &pk);
	CHECK(ms_pubkey_parse(TOOL_PUB, strlen(TOOL_PUB), &tool, &e) == 0);
	CHECK_MEM(pk.keynum, tool.keynum, 8);
	CHECK_MEM(pk.pk, tool.pk, 32);
	blake2b512(TOOL_MSG, strlen(TOOL_MSG), h);
	CHECK(ms_sign(sk, true, h, 64, "trusted vector comment",
		      "signature from minisign secret key", &out, &e) == 0);
	CHECK_STR((const char *)out.p, TOOL_SIG_PREHASHED);
	kbuf_reset(&out);
	CHECK(ms_sign(sk, false, (const uint8_t *)TOOL_MSG, strlen(TOOL_MSG),
		      "legacy vector", "signature from minisign secret key",
		      &out, &e) == 0);
	CHECK_STR((const char *)out.p, TOOL_SIG_LEGACY);
	kbuf_free(&out);
	ms_seckey_free(sk);
}

static void keygen_sign_verify(void)
{
	static const char msg[] = "the message";
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey pk;
	struct ms_sig s;
	struct kbuf sig = KBUF_INIT(4096);
	struct kerr e;
	uint8_t h[64], raw[74];
	size_t rl;
	const char *l2, *l4;

	CHECK(sk);
	ms_keygen(sk);
	ms_seckey_public(sk, &pk);
	for (int pre = 0; pre < 2; pre++) {
		kbuf_reset(&sig);
		blake2b512(msg, strlen(msg), h);
		CHECK(ms_sign(sk, pre, pre ? h : (const uint8_t *)msg,
			      pre ? 64 : strlen(msg), "tc: x", "uc", &sig,
			      &e) == 0);
		CHECK(verify_text(&pk, (const char *)sig.p, msg, strlen(msg)) == 0);
		CHECK(ms_sig_parse((const char *)sig.p, sig.len, &s, &e) == 0);
		CHECK(s.prehashed == pre);
		CHECK_STR(s.trusted, "tc: x");
		CHECK_MEM(s.keynum, pk.keynum, 8);
		/* Independently of ms_verify: line 2 is "ED"/"Ed" | keynum |
		 * Ed25519 signature of the digest or message, and line 4
		 * signs signature | trusted comment. */
		l2 = strchr((const char *)sig.p, '\n') + 1;
		CHECK(sodium_base642bin(raw, sizeof raw, l2, 100, NULL, &rl,
					NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
		CHECK(rl == 74 && raw[0] == 'E' && raw[1] == (pre ? 'D' : 'd'));
		CHECK_MEM(raw + 2, pk.keynum, 8);
		CHECK(crypto_sign_verify_detached(
			      raw + 10, pre ? h : (const uint8_t *)msg,
			      pre ? 64 : strlen(msg), pk.pk) == 0);
		l4 = strstr((const char *)sig.p, "trusted comment: tc: x\n");
		CHECK(l4 && l4[-1] == '\n');
		{
			uint8_t gm[64 + 5];
			memcpy(gm, raw + 10, 64);
			memcpy(gm + 64, "tc: x", 5);
			CHECK(crypto_sign_verify_detached(s.global, gm, sizeof gm,
							  pk.pk) == 0);
		}
	}
	kbuf_free(&sig);
	ms_seckey_free(sk);
}

static void pubkey_text_forms(void)
{
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey pk, back;
	struct kbuf t = KBUF_INIT(4096);
	struct kerr e;
	char b64[57], id[17], want[128];

	CHECK(sk);
	ms_keygen(sk);
	ms_seckey_public(sk, &pk);
	CHECK(ms_pubkey_format(&pk, &t, &e) == 0);
	ms_pubkey_encode(&pk, b64);
	ms_keyid_hex(pk.keynum, id);
	snprintf(want, sizeof want,
		 "untrusted comment: minisign public key %s\n%s\n", id, b64);
	CHECK_STR((const char *)t.p, want);
	CHECK(strlen(b64) == 56 && memcmp(b64, "RW", 2) == 0);
	memset(&back, 0, sizeof back);
	CHECK(ms_pubkey_parse((const char *)t.p, t.len, &back, &e) == 0);
	CHECK(memcmp(&back, &pk, sizeof pk) == 0);
	/* Bare base64, with or without a newline, and with CRLF. */
	memset(&back, 0, sizeof back);
	CHECK(ms_pubkey_parse(b64, 56, &back, &e) == 0);
	CHECK(memcmp(&back, &pk, sizeof pk) == 0);
	snprintf(want, sizeof want, "%s\n", b64);
	CHECK(ms_pubkey_parse(want, strlen(want), &back, &e) == 0);
	snprintf(want, sizeof want, "untrusted comment: x\r\n%s\r\n", b64);
	CHECK(ms_pubkey_parse(want, strlen(want), &back, &e) == 0);
	CHECK(memcmp(&back, &pk, sizeof pk) == 0);
	CHECK(ms_pubkey_decode(b64, 56, &back, &e) == 0);
	CHECK(memcmp(&back, &pk, sizeof pk) == 0);
	/* Refusals: no comment prefix, extra lines, wrong length,
	 * another algorithm. */
	snprintf(want, sizeof want, "comment: x\n%s\n", b64);
	CHECK(ms_pubkey_parse(want, strlen(want), &back, &e) == KERR_KEY);
	snprintf(want, sizeof want, "untrusted comment: x\n%s\nmore\n", b64);
	CHECK(ms_pubkey_parse(want, strlen(want), &back, &e) == KERR_KEY);
	CHECK(ms_pubkey_decode(b64, 52, &back, &e) == KERR_KEY);
	b64[1] = 'X'; /* "RX..." decodes to 'E', 0x5x: not "Ed" */
	CHECK(ms_pubkey_decode(b64, 56, &back, &e) == KERR_KEY);
	kbuf_free(&t);
	ms_seckey_free(sk);
}

static void sig_text_round_trip(void)
{
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey pk;
	struct ms_sig s;
	struct kbuf t = KBUF_INIT(4096), crlf = KBUF_INIT(4096);
	struct kerr e;
	uint8_t h[64];
	char tc[1100];

	CHECK(sk);
	ms_keygen(sk);
	ms_seckey_public(sk, &pk);
	blake2b512("m", 1, h);
	CHECK(ms_sign(sk, true, h, 64, "timestamp:1 file:x.age", "u", &t,
		      &e) == 0);
	/* CRLF line endings and trailing blank lines parse the same. */
	for (size_t i = 0; i < t.len; i++) {
		if (t.p[i] == '\n')
			CHECK(kbuf_putc(&crlf, '\r', &e) == 0);
		CHECK(kbuf_putc(&crlf, t.p[i], &e) == 0);
	}
	CHECK(kbuf_puts(&crlf, "\r\n\n", &e) == 0);
	CHECK(ms_sig_parse((const char *)crlf.p, crlf.len, &s, &e) == 0);
	CHECK_STR(s.trusted, "timestamp:1 file:x.age");
	CHECK(ms_verify(&pk, &s, h, 64, &e) == 0);
	/* Comments: one line each, bounded. */
	kbuf_reset(&t);
	CHECK(ms_sign(sk, true, h, 64, "a\nb", "u", &t, &e) == KERR_USAGE);
	CHECK(ms_sign(sk, true, h, 64, "a", "u\rv", &t, &e) == KERR_USAGE);
	memset(tc, 'c', sizeof tc - 1);
	tc[sizeof tc - 1] = '\0';
	CHECK(ms_sign(sk, true, h, 64, tc, "u", &t, &e) == KERR_USAGE);
	tc[MS_COMMENT_MAX - 1] = '\0'; /* the longest allowed */
	CHECK(ms_sign(sk, true, h, 64, tc, "u", &t, &e) == 0);
	CHECK(ms_sig_parse((const char *)t.p, t.len, &s, &e) == 0);
	CHECK(strlen(s.trusted) == MS_COMMENT_MAX - 1);
	CHECK(ms_verify(&pk, &s, h, 64, &e) == 0);
	kbuf_free(&t);
	kbuf_free(&crlf);
	ms_seckey_free(sk);
}

static void seckey_encrypted_round_trip(void)
{
	static const char pass[] = "a passphrase";
	struct ms_seckey *sk = ms_seckey_new(), *back = ms_seckey_new();
	struct ms_seckey_file f;
	struct ms_pubkey pk;
	struct kbuf t, sig = KBUF_INIT(4096);
	struct kerr e;
	uint8_t h[64];

	CHECK(sk && back);
	kbuf_init(&t, 4096, true);
	ms_keygen(sk);
	ms_seckey_public(sk, &pk);
	CHECK(ms_seckey_format(sk, pass, strlen(pass), OPS, MEM, &t, &e) == 0);
	CHECK(memcmp(t.p, "untrusted comment: ", 19) == 0);
	CHECK(ms_seckey_parse((const char *)t.p, t.len, &f, &e) == 0);
	CHECK(f.encrypted);
	/* The sealed key bytes are not the plain ones. */
	CHECK(memcmp(f.raw + 54 + 8, sk->sk, 64) != 0);
	/* Right passphrase: the same key, signing for the same public key. */
	CHECK(ms_seckey_open(&f, pass, strlen(pass), back, &e) == 0);
	CHECK_MEM(back->keynum, sk->keynum, 8);
	CHECK_MEM(back->sk, sk->sk, 64);
	blake2b512("data", 4, h);
	CHECK(ms_sign(back, true, h, 64, "t", "u", &sig, &e) == 0);
	CHECK(verify_text(&pk, (const char *)sig.p, "data", 4) == 0);
	/* Wrong, truncated, or no passphrase. */
	CHECK(ms_seckey_open(&f, "a passphrasf", 12, back, &e) == KERR_PASSPHRASE);
	CHECK(ms_seckey_open(&f, pass, strlen(pass) - 1, back, &e) ==
	      KERR_PASSPHRASE);
	CHECK(ms_seckey_open(&f, NULL, 0, back, &e) == KERR_PASSPHRASE);
	/* The stored limits are the ones given (little-endian). */
	{
		uint64_t ops = 0, mem = 0;
		for (int i = 7; i >= 0; i--) {
			ops = (ops << 8) | f.raw[38 + i];
			mem = (mem << 8) | f.raw[46 + i];
		}
		CHECK(ops == OPS && mem == MEM);
		CHECK(memcmp(f.raw, "EdScB2", 6) == 0);
	}
	kbuf_free(&t);
	kbuf_free(&sig);
	ms_seckey_free(sk);
	ms_seckey_free(back);
}

/* Re-encode a parsed secret key file with raw[off] set to v. */
static void reencode(const struct ms_seckey_file *f, size_t off, int v,
		     struct kbuf *out)
{
	uint8_t raw[158];
	char b64[213];
	struct kerr e;

	memcpy(raw, f->raw, sizeof raw);
	if (v >= 0)
		raw[off] = (uint8_t)v;
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
			  sodium_base64_VARIANT_ORIGINAL);
	kbuf_reset(out);
	kbuf_printf(out, &e, "untrusted comment: x\n%s\n", b64);
	sodium_memzero(raw, sizeof raw);
}

static void seckey_unencrypted_and_checksum(void)
{
	struct ms_seckey *sk = ms_seckey_new(), *back = ms_seckey_new();
	struct ms_seckey_file f, g;
	struct kbuf t, t2;
	struct kerr e;

	CHECK(sk && back);
	kbuf_init(&t, 4096, true);
	kbuf_init(&t2, 4096, true);
	ms_keygen(sk);
	CHECK(ms_seckey_format(sk, NULL, 0, 0, 0, &t, &e) == 0);
	CHECK(ms_seckey_parse((const char *)t.p, t.len, &f, &e) == 0);
	CHECK(!f.encrypted);
	CHECK(memcmp(f.raw, "Ed\0\0B2", 6) == 0);
	CHECK(ms_seckey_open(&f, NULL, 0, back, &e) == 0);
	CHECK_MEM(back->keynum, sk->keynum, 8);
	CHECK_MEM(back->sk, sk->sk, 64);
	/* A passphrase given for an unencrypted key is not needed. */
	CHECK(ms_seckey_open(&f, "x", 1, back, &e) == 0);

	/* Checksum all zero (minisign 0.11): accepted. */
	memcpy(&g, &f, sizeof g);
	memset(g.raw + 54 + 72, 0, 32);
	reencode(&g, 0, -1, &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == 0);
	memset(back, 0, sizeof *back);
	CHECK(ms_seckey_open(&g, NULL, 0, back, &e) == 0);
	CHECK_MEM(back->sk, sk->sk, 64);
	/* A non-zero wrong checksum: a damaged key. */
	reencode(&f, 54 + 72 + 5, f.raw[54 + 72 + 5] ^ 1, &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == 0);
	CHECK(ms_seckey_open(&g, NULL, 0, back, &e) == KERR_KEY);
	/* Zero checksum but the key's public half altered: inconsistent. */
	memcpy(&g, &f, sizeof g);
	memset(g.raw + 54 + 72, 0, 32);
	g.raw[54 + 8 + 40] ^= 1;
	CHECK(ms_seckey_open(&g, NULL, 0, back, &e) == KERR_KEY);
	/* A damaged secret with the original checksum. */
	reencode(&f, 54 + 8 + 3, f.raw[54 + 8 + 3] ^ 0x10, &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == 0);
	CHECK(ms_seckey_open(&g, NULL, 0, back, &e) == KERR_KEY);

	/* Unknown algorithms and absurd limits are refused at parse. */
	reencode(&f, 1, 'X', &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == KERR_KEY);
	reencode(&f, 4, 'C', &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == KERR_KEY);
	reencode(&f, 2, 'X', &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == KERR_KEY);
	memcpy(&g, &f, sizeof g);
	memcpy(g.raw + 2, "Sc", 2);
	g.raw[38 + 7] = 0x80; /* opslimit 2^63 */
	reencode(&g, 0, -1, &t2);
	CHECK(ms_seckey_parse((const char *)t2.p, t2.len, &g, &e) == KERR_KEY);
	/* Text shape. */
	CHECK(ms_seckey_parse("untrusted comment: x\n", 21, &g, &e) == KERR_KEY);
	CHECK(ms_seckey_parse((const char *)t.p + 21, t.len - 21, &g, &e) ==
	      KERR_KEY);
	sodium_memzero(&f, sizeof f);
	sodium_memzero(&g, sizeof g);
	kbuf_free(&t);
	kbuf_free(&t2);
	ms_seckey_free(sk);
	ms_seckey_free(back);
}

static void verification_failures(void)
{
	static const char msg[] = "payload bytes";
	struct ms_seckey *sk = ms_seckey_new(), *other = ms_seckey_new();
	struct ms_pubkey pk, opk;
	struct ms_sig s, t;
	struct kbuf sig = KBUF_INIT(4096);
	struct kerr e;
	uint8_t h[64];

	CHECK(sk && other);
	ms_keygen(sk);
	ms_keygen(other);
	ms_seckey_public(sk, &pk);
	ms_seckey_public(other, &opk);
	blake2b512(msg, strlen(msg), h);
	CHECK(ms_sign(sk, true, h, 64, "trusted", "u", &sig, &e) == 0);
	CHECK(ms_sig_parse((const char *)sig.p, sig.len, &s, &e) == 0);
	CHECK(ms_verify(&pk, &s, h, 64, &e) == 0);
	/* Another key (its key id differs): reported as such, naming both. */
	CHECK(ms_verify(&opk, &s, h, 64, &e) == KERR_SIGNATURE);
	{
		char a[17], b[17];
		ms_keyid_hex(pk.keynum, a);
		ms_keyid_hex(opk.keynum, b);
		CHECK(strstr(e.why, a) && strstr(e.why, b));
	}
	/* Another key claiming the right key id. */
	memcpy(opk.keynum, pk.keynum, 8);
	CHECK(ms_verify(&opk, &s, h, 64, &e) == KERR_SIGNATURE);
	/* An altered message. */
	blake2b512("payload bytez", 13, h);
	CHECK(ms_verify(&pk, &s, h, 64, &e) == KERR_SIGNATURE);
	blake2b512(msg, strlen(msg), h);
	/* An altered trusted comment (a character, or a character more). */
	t = s;
	t.trusted[0] = 'T';
	CHECK(ms_verify(&pk, &t, h, 64, &e) == KERR_SIGNATURE);
	t = s;
	memcpy(t.trusted, "trusted ", 9);
	CHECK(ms_verify(&pk, &t, h, 64, &e) == KERR_SIGNATURE);
	/* An altered global signature, or file signature. */
	t = s;
	t.global[10] ^= 1;
	CHECK(ms_verify(&pk, &t, h, 64, &e) == KERR_SIGNATURE);
	t = s;
	t.sig[63] ^= 0x40;
	CHECK(ms_verify(&pk, &t, h, 64, &e) == KERR_SIGNATURE);
	/* The algorithm flag switched: the message itself was not signed. */
	t = s;
	t.prehashed = false;
	CHECK(ms_verify(&pk, &t, (const uint8_t *)msg, strlen(msg), &e) ==
	      KERR_SIGNATURE);
	/* Through the text: the trusted comment line edited. */
	{
		char *txt = strdup((const char *)sig.p), *p;
		CHECK(txt);
		p = strstr(txt, "trusted comment: trusted");
		if (p)
			p[17] = 'T';
		CHECK(p && verify_text(&pk, txt, msg, strlen(msg)) ==
			   KERR_SIGNATURE);
		free(txt);
	}
	kbuf_free(&sig);
	ms_seckey_free(sk);
	ms_seckey_free(other);
}

static void malformed_signature_files(void)
{
#define L1 "untrusted comment: u\n"
#define L2 "RUSzkUE1Ta6hTJ23PR5Oko7XPiBqTG7fjgUoXKT70gKH5SGNZctVfYQgbyJylg/bghLrjU33aEofdk39RQyHMmSI4VD0D9Q5twY=\n"
#define L3 "trusted comment: t\n"
#define L4 "N/nLyoRLZhvXAPTVEH1Wr7MOtVbhIWNrbPs2B3RnTroS7tKSDQVBIlwaPHHkMICYFSvsSEmdXB34r5/MpYWBCQ==\n"
	static const char *const bad[] = {
		L1 L2 L3,                    /* three lines */
		L1 L2,
		"",
		L2 L3 L4,
		L1 "RUSzkUE1Ta6hTJ23PR5Oko7XPiBqTG7fjgUoXKT70gKH5SGNZctVfYQgbyJylg/bghLrjU33aEofdk39RQyHMmSI4VD0D9Q5twY\n" L3 L4,  /* no padding */
		L1 "RUSzkUE1Ta6hTJ23PR5Oko7XPiBqTG7fjgUoXKT70gKH5SGNZctVfYQgbyJylg/bghLrjU33aEofdk39RQyHMmSI4VD0D9Q5t*Y=\n" L3 L4,  /* bad char */
		L1 "RUSzkUE1Ta6hTJ23PR5Oko7XPiBqTG7fjgUoXKT70gKH5SGNZctVfYQgbyJylg/bghLrjU33aEofdk39RQyHMmSI4VD0D9Q5twY=AAAA\n" L3 L4,  /* 77 bytes */
		L1 "RXgBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n" L3 L4, /* "Ex" */
		L1 L2 L3 L4 "garbage\n",     /* trailing garbage line */
		L1 L2 L3 L4 "\n\nx",
		"comment: u\n" L2 L3 L4,     /* no untrusted prefix */
		L1 L2 "comment: t\n" L4,     /* no trusted prefix */
		L1 L2 L3 "N/nLyoRLZhvXAPTVEH1Wr7MOtVbhIWNrbPs2B3RnTroS7tKSDQVBIlwaPHHkMICYFSvsSEmdXB34r5/MpYWBCQ=\n",
		L1 L2 L3 "N/nLyoRLZhvXAPTVEH1Wr7MOtVbhIWNrbPs2B3RnTroS7tKSDQVBIlwaPHHkMICYFSvsSEmdXB34r5/MpYWB\n",
		L1 L2 L3 "\n",
	};
	struct ms_sig s;
	struct kerr e;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = ms_sig_parse(bad[i], strlen(bad[i]), &s, &e);
		if (rc != KERR_FORMAT)
			printf("# case %zu: rc %d\n", i, rc);
		CHECK(rc == KERR_FORMAT);
	}
	/* The same four lines, well-formed, parse; trailing blanks too. */
	CHECK(ms_sig_parse(L1 L2 L3 L4, strlen(L1 L2 L3 L4), &s, &e) == 0);
	CHECK(ms_sig_parse(L1 L2 L3 L4 "\n \n", strlen(L1 L2 L3 L4 "\n \n"), &s,
			   &e) == 0);
	CHECK(ms_sig_parse(L1 L2 L3 "N/nLyoRLZhvXAPTVEH1Wr7MOtVbhIWNrbPs2B3RnTroS7tKSDQVBIlwaPHHkMICYFSvsSEmdXB34r5/MpYWBCQ==",
			   strlen(L1 L2 L3) + 88, &s, &e) == 0);
	/* A trusted comment too long for any signature kluis would make. */
	{
		struct kbuf b = KBUF_INIT(8192);
		CHECK(kbuf_puts(&b, L1 L2 "trusted comment: ", &e) == 0);
		for (int i = 0; i < MS_COMMENT_MAX; i++)
			CHECK(kbuf_putc(&b, 'x', &e) == 0);
		CHECK(kbuf_puts(&b, "\n" L4, &e) == 0);
		CHECK(ms_sig_parse((const char *)b.p, b.len, &s, &e) == KERR_FORMAT);
		kbuf_free(&b);
	}
#undef L1
#undef L2
#undef L3
#undef L4
}

static void files_sign_and_verify(void)
{
	char dir[] = "/tmp/kluis-unit-ms-XXXXXX", path[256], spath[256],
	     ppath[256];
	struct ms_seckey *sk = ms_seckey_new();
	struct ms_pubkey pk, pk2;
	struct ms_sig s;
	struct kbuf sig = KBUF_INIT(4096), ptxt = KBUF_INIT(4096);
	struct kerr e;
	uint8_t *data = malloc(300000);
	int ok = 0;

	CHECK(sk && data);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/data", dir);
	snprintf(spath, sizeof spath, "%s/data.minisig", dir);
	snprintf(ppath, sizeof ppath, "%s/key.pub", dir);
	randombytes_buf(data, 300000);
	ms_keygen(sk);
	ms_seckey_public(sk, &pk);
	if (kfile_write(path, data, 300000, 0644, 0, &e) == 0 &&
	    ms_pubkey_format(&pk, &ptxt, &e) == 0 &&
	    kfile_write(ppath, ptxt.p, ptxt.len, 0644, 0, &e) == 0 &&
	    ms_pubkey_load(ppath, &pk2, &e) == 0 &&
	    memcmp(&pk, &pk2, sizeof pk) == 0)
		ok = 1;
	for (int legacy = 0; ok && legacy < 2; legacy++) {
		kbuf_reset(&sig);
		ok = ms_sign_file(sk, path, legacy, "t", "u", &sig, &e) == 0 &&
		     kfile_write(spath, sig.p, sig.len, 0644, 0, &e) == 0 &&
		     ms_sig_load(spath, &s, &e) == 0 && s.prehashed == !legacy &&
		     ms_verify_file(&pk2, &s, path, &e) == 0;
		/* The file changed after signing. */
		data[12345] ^= 1;
		ok = ok && kfile_write(path, data, 300000, 0644, 0, &e) == 0 &&
		     ms_verify_file(&pk2, &s, path, &e) == KERR_SIGNATURE;
		data[12345] ^= 1;
		ok = ok && kfile_write(path, data, 300000, 0644, 0, &e) == 0;
		unlink(spath);
	}
	/* ms_prehash agrees with BLAKE2b-512 over the bytes. */
	if (ok) {
		struct kmem_src src;
		uint8_t h1[64], h2[64];
		kmem_src_init(&src, data, 300000);
		blake2b512(data, 300000, h2);
		ok = ms_prehash(&src.base, h1, &e) == 0 &&
		     memcmp(h1, h2, 64) == 0;
	}
	unlink(path);
	unlink(ppath);
	rmdir(dir);
	free(data);
	kbuf_free(&sig);
	kbuf_free(&ptxt);
	ms_seckey_free(sk);
	CHECK(ok);
}

const struct unit_case suite_minisign[] = {
	{ "minisign: key id printed little-endian", keyid_hex },
	{ "minisign: minisign 0.11 signatures verify", tool_vectors_verify },
	{ "minisign: minisign 0.11 key (zero checksum) signs byte-identically",
	  tool_secret_key_signs_identically },
	{ "minisign: keygen, sign (prehashed, legacy), verify",
	  keygen_sign_verify },
	{ "minisign: public key text forms", pubkey_text_forms },
	{ "minisign: signature text round trip, comment rules",
	  sig_text_round_trip },
	{ "minisign: encrypted secret key, right/wrong passphrase",
	  seckey_encrypted_round_trip },
	{ "minisign: unencrypted secret key, checksum rules",
	  seckey_unencrypted_and_checksum },
	{ "minisign: verification failures -> KERR_SIGNATURE",
	  verification_failures },
	{ "minisign: malformed signature files -> KERR_FORMAT",
	  malformed_signature_files },
	{ "minisign: sign and verify files, prehash", files_sign_and_verify },
	{ NULL, NULL },
};
