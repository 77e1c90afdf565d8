/*
 * bech32 and agekey encodings: BIP 173 vectors (checksum, case, charset,
 * separator), the strict 5-to-8-bit padding rule, round trips, and the age
 * spec's X25519 example key.  Expected data bytes of the vectors were
 * computed with the BIP 173 reference implementation, not with kluis.
 */
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "bech32.h"
#include "kluis.h"
#include "unit.h"

static int dec(const char *s, char *hrp, size_t hrp_cap, uint8_t *data,
	       size_t cap, size_t *n)
{
	return bech32_decode(s, strlen(s), hrp, hrp_cap, data, cap, n);
}

static void bip173_valid(void)
{
	static const char *const ok[] = {
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
		/* Over BIP 173's 90 characters: age sets no length limit. */
		"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
	};
	char hrp[128];
	uint8_t data[128];
	size_t n;

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		n = 999;
		if (dec(ok[i], hrp, sizeof hrp, data, sizeof data, &n) != 0)
			printf("# rejected: %s\n", ok[i]);
		CHECK(dec(ok[i], hrp, sizeof hrp, data, sizeof data, &n) == 0);
		CHECK(n != 999);
	}
	CHECK(dec("A12UEL5L", hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "a"); /* returned lowercased */
	CHECK(n == 0);
	CHECK(dec("?1ezyfcl", hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "?");
	CHECK(n == 0);
	/* The separator is the last '1'. */
	CHECK(dec(ok[2], hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio");
	CHECK(n == 0);
}

static void bip173_data_bytes(void)
{
	char hrp[32];
	uint8_t data[64], want[64];
	size_t n, wn;

	CHECK(dec("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", hrp,
		  sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "abcdef");
	wn = unit_unhex("00443214c74254b635cf84653a56d7c675be77df", want,
			sizeof want);
	CHECK(n == wn && n == 20);
	CHECK_MEM(data, want, n);

	CHECK(dec("split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		  hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "split");
	wn = unit_unhex("c5f38b70305f519bf66d85fb6cf03058f3dde463ecd7918f2dc743918f2d",
			want, sizeof want);
	CHECK(n == wn && n == 30);
	CHECK_MEM(data, want, n);

	/* Two 5-bit groups: one byte and two zero padding bits. */
	CHECK(dec("a1ry7f5l2s", hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK(n == 1 && data[0] == 0x19);

	/* Data that does not fit the caller's buffer is refused. */
	CHECK(dec("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", hrp,
		  sizeof hrp, data, 19, &n) == -1);
	/* An HRP that does not fit is refused. */
	CHECK(dec("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", hrp, 6,
		  data, sizeof data, &n) == -1);
}

static void bip173_invalid(void)
{
	static const char *const bad[] = {
		"\x20" "1nwldj5",   /* HRP character out of range */
		"\x7f" "1axkwrx",   /* HRP character out of range */
		"\x80" "1eym55h",   /* HRP character out of range */
		"pzry9x0s0muk",     /* no separator */
		"1pzry9x0s0muk",    /* empty HRP */
		"x1b4n0q5v",        /* 'b' is outside the data charset */
		"li1dgmt3",         /* checksum too short */
		"de1lg7wt\xff",     /* invalid character in checksum */
		"A1G7SGD8",         /* checksum over the uppercase HRP */
		"10a06t8",          /* empty HRP */
		"1qzzfhee",         /* empty HRP */
		"A12uEL5L",         /* mixed case */
		"a12UEL5L",         /* mixed case */
		"a12uel5m",         /* bad checksum */
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx", /* bad checksum */
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxW", /* mixed case */
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqq xw", /* space */
		"a1q3g6mn3",        /* 5 leftover bits: more than 4 padding bits */
		"a1qpamnt9j",       /* non-zero padding bits */
		"",
		"a1",
	};
	char hrp[128];
	uint8_t data[128];
	size_t n;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (dec(bad[i], hrp, sizeof hrp, data, sizeof data, &n) != -1)
			printf("# accepted: case %zu\n", i);
		CHECK(dec(bad[i], hrp, sizeof hrp, data, sizeof data, &n) == -1);
	}
}

static void decode_respects_len(void)
{
	static const char s[] = "a12uel5lqqqq";
	char hrp[8];
	uint8_t data[8];
	size_t n;

	/* Only the first len characters count. */
	CHECK(bech32_decode(s, 8, hrp, sizeof hrp, data, sizeof data, &n) == 0);
	CHECK_STR(hrp, "a");
	CHECK(bech32_decode(s, 9, hrp, sizeof hrp, data, sizeof data, &n) == -1);
}

static void encode_known(void)
{
	uint8_t data[20];
	char out[128];

	CHECK(unit_unhex("00443214c74254b635cf84653a56d7c675be77df", data,
			 sizeof data) == 20);
	CHECK(bech32_encode("abcdef", data, 20, false, out, sizeof out) == 0);
	CHECK_STR(out, "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw");
	CHECK(bech32_encode("abcdef", data, 20, true, out, sizeof out) == 0);
	CHECK_STR(out, "ABCDEF1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LMQQQXW");
	/* Reference implementation: "hello" under HRP "age". */
	CHECK(bech32_encode("age", (const uint8_t *)"hello", 5, false, out,
			    sizeof out) == 0);
	CHECK_STR(out, "age1dpjkcmr0430q89");
	CHECK(bech32_encode("a", NULL, 0, false, out, sizeof out) == 0);
	CHECK_STR(out, "a12uel5l");
	/* Exact capacity: hrp + '1' + 32 data chars + 6 + NUL = 46. */
	CHECK(bech32_encode("abcdef", data, 20, false, out, 46) == 0);
	CHECK(bech32_encode("abcdef", data, 20, false, out, 45) == -1);
	/* The HRP must be given in lowercase and be non-empty. */
	CHECK(bech32_encode("ABC", data, 20, false, out, sizeof out) == -1);
	CHECK(bech32_encode("", data, 20, false, out, sizeof out) == -1);
}

static void round_trips(void)
{
	static const char *const hrps[] = { "age", "age-secret-key-", "x" };
	uint8_t data[200], back[200];
	char out[512], hrp[32];
	size_t n;

	for (size_t h = 0; h < 3; h++) {
		for (size_t len = 0; len <= 200; len += (len < 40 ? 1 : 23)) {
			for (int up = 0; up < 2; up++) {
				size_t want = strlen(hrps[h]) + 1 +
					      (len * 8 + 4) / 5 + 6;
				randombytes_buf(data, len);
				CHECK(bech32_encode(hrps[h], data, len, up,
						    out, sizeof out) == 0);
				CHECK(strlen(out) == want);
				for (size_t i = 0; i < want; i++) {
					if (up)
						CHECK(!(out[i] >= 'a' && out[i] <= 'z'));
					else
						CHECK(!(out[i] >= 'A' && out[i] <= 'Z'));
				}
				CHECK(dec(out, hrp, sizeof hrp, back,
					  sizeof back, &n) == 0);
				CHECK_STR(hrp, hrps[h]);
				CHECK(n == len);
				CHECK(len == 0 || memcmp(back, data, len) == 0);
				/* Any single-character substitution in
				 * the data part breaks the checksum. */
				if (len > 0) {
					size_t pos = strlen(hrps[h]) + 1 +
						     len % ((len * 8 + 4) / 5);
					out[pos] = out[pos] == (up ? 'Q' : 'q')
							   ? (up ? 'P' : 'p')
							   : (up ? 'Q' : 'q');
					CHECK(dec(out, hrp, sizeof hrp, back,
						  sizeof back, &n) == -1);
				}
			}
		}
	}
}

#define SPEC_IDENTITY \
	"AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
#define SPEC_RECIPIENT \
	"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"

static void age_spec_x25519_example(void)
{
	uint8_t sk[32], pk[32], pk2[32];
	char rcpt[AGE_RECIPIENT_LEN + 1], ident[AGE_IDENTITY_LEN + 1];
	struct kerr e;

	CHECK(strlen(SPEC_IDENTITY) == AGE_IDENTITY_LEN);
	CHECK(strlen(SPEC_RECIPIENT) == AGE_RECIPIENT_LEN);
	CHECK(agekey_identity_decode(SPEC_IDENTITY, strlen(SPEC_IDENTITY), sk,
				     &e) == 0);
	agekey_public(sk, pk);
	CHECK(agekey_recipient_encode(pk, rcpt, sizeof rcpt) == 0);
	CHECK_STR(rcpt, SPEC_RECIPIENT);
	CHECK(agekey_identity_encode(sk, ident, sizeof ident) == 0);
	CHECK_STR(ident, SPEC_IDENTITY);
	CHECK(agekey_recipient_decode(SPEC_RECIPIENT, strlen(SPEC_RECIPIENT),
				      pk2, &e) == 0);
	CHECK_MEM(pk, pk2, 32);
	/* Too small an output buffer. */
	CHECK(agekey_recipient_encode(pk, rcpt, AGE_RECIPIENT_LEN) != 0);
}

static void agekey_wrong_kinds(void)
{
	uint8_t k[32];
	struct kerr e;
	char s[] = SPEC_RECIPIENT;

	/* A recipient is not an identity and vice versa. */
	CHECK(agekey_identity_decode(SPEC_RECIPIENT, strlen(SPEC_RECIPIENT), k,
				     &e) == KERR_KEY);
	CHECK(agekey_recipient_decode(SPEC_IDENTITY, strlen(SPEC_IDENTITY), k,
				      &e) == KERR_KEY);
	/* A checksum error. */
	s[10] = s[10] == 'q' ? 'p' : 'q';
	CHECK(agekey_recipient_decode(s, strlen(s), k, &e) == KERR_KEY);
	/* Right HRP, wrong length: "age" + 20 bytes. */
	{
		uint8_t d[20] = { 0 };
		char b[128];
		CHECK(bech32_encode("age", d, sizeof d, false, b, sizeof b) == 0);
		CHECK(agekey_recipient_decode(b, strlen(b), k, &e) == KERR_KEY);
	}
}

static int write_file(const char *path, const char *text)
{
	struct kerr e;
	return kfile_write(path, text, strlen(text), 0600, 0, &e);
}

static void agekey_files(void)
{
	char dir[] = "/tmp/kluis-unit-agekey-XXXXXX", path[128], msg[512];
	char bad[] = SPEC_IDENTITY;
	struct agekey_ids ids;
	struct agekey_rcpts rc;
	struct kerr e;
	uint8_t sk[32], pk[32];
	int r1, r2, r3, r4, r5;
	size_t n_ids = 0, n_rc = 0;
	bool same_sk = false, same_pk = false;

	CHECK(agekey_identity_decode(SPEC_IDENTITY, strlen(SPEC_IDENTITY), sk,
				     &e) == 0);
	agekey_public(sk, pk);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/keys", dir);
	agekey_ids_init(&ids);
	agekey_rcpts_init(&rc);
	/* Comments, blank lines, surrounding blanks, CRLF. */
	write_file(path, "# created: now\r\n\r\n  " SPEC_IDENTITY " \r\n# end\n");
	r1 = agekey_ids_load(&ids, path, &e);
	n_ids = ids.n;
	same_sk = ids.n == 1 && memcmp(ids.sk, sk, 32) == 0;
	write_file(path, "# a recipients file\n" SPEC_RECIPIENT "\n\n"
			 SPEC_RECIPIENT "\n");
	r2 = agekey_rcpts_load(&rc, path, &e);
	n_rc = rc.n;
	same_pk = rc.n == 2 && memcmp(rc.pk[1], pk, 32) == 0;
	/* A damaged identity on line 3: the error names the file and the
	 * line, never the key. */
	bad[40] = bad[40] == 'Q' ? 'P' : 'Q';
	snprintf(msg, sizeof msg, "# x\n\n%s\n", bad);
	write_file(path, msg);
	r3 = agekey_ids_load(&ids, path, &e);
	kerr_str(&e, msg, sizeof msg);
	/* No keys at all; a recipient where an identity belongs. */
	write_file(path, "# nothing here\n\n");
	r4 = agekey_ids_load(&ids, path, &e);
	write_file(path, SPEC_RECIPIENT "\n");
	r5 = agekey_ids_load(&ids, path, &e);
	unlink(path);
	rmdir(dir);
	agekey_ids_free(&ids);
	agekey_rcpts_free(&rc);
	CHECK(r1 == 0 && n_ids == 1 && same_sk);
	CHECK(r2 == 0 && n_rc == 2 && same_pk);
	CHECK(r3 == KERR_KEY);
	CHECK(strstr(msg, path) && strstr(msg, "line 3"));
	CHECK(!strstr(msg, bad + 20) && !strstr(msg, "GFPYYSJZ"));
	CHECK(r4 == KERR_KEY);
	CHECK(r5 == KERR_KEY);
}

const struct unit_case suite_bech32[] = {
	{ "bech32: BIP 173 valid strings decode", bip173_valid },
	{ "bech32: decoded data bytes and padding", bip173_data_bytes },
	{ "bech32: BIP 173 invalid strings, mixed case, padding", bip173_invalid },
	{ "bech32: decode reads only len characters", decode_respects_len },
	{ "bech32: encoder output, uppercase, capacity", encode_known },
	{ "bech32: round trips, substitutions detected", round_trips },
	{ "agekey: age spec X25519 example identity -> recipient",
	  age_spec_x25519_example },
	{ "agekey: wrong HRP, checksum, length -> KERR_KEY", agekey_wrong_kinds },
	{ "agekey: identity and recipient files, errors never show keys",
	  agekey_files },
	{ NULL, NULL },
};
