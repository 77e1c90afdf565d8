/*
 * pubfile: the kluis public key file round trip, its refusals, that it is
 * also an age recipients file, and pubfile_load_minisign on the three forms
 * users hold (kluis .pub, minisign .pub, bare base64).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kluis.h"
#include "unit.h"

static void make_pub(struct pubfile *p)
{
	struct ms_seckey *sk = ms_seckey_new();
	uint8_t age_sk[32];

	memset(p, 0, sizeof *p);
	snprintf(p->label, sizeof p->label, "Opgroeien regie");
	snprintf(p->created, sizeof p->created, "2026-11-28T21:00:00Z");
	agekey_generate(age_sk);
	agekey_public(age_sk, p->age);
	if (sk) {
		ms_keygen(sk);
		ms_seckey_public(sk, &p->ms);
		ms_seckey_free(sk);
	}
	sodium_memzero(age_sk, sizeof age_sk);
}

static void format_parse_round_trip(void)
{
	struct pubfile p, q;
	struct kbuf t = KBUF_INIT(4096);
	struct kerr e;
	char want[1024], ms[57], id[17], rc[AGE_RECIPIENT_LEN + 1];

	make_pub(&p);
	CHECK(pubfile_format(&p, &t, &e) == 0);
	ms_pubkey_encode(&p.ms, ms);
	ms_keyid_hex(p.ms.keynum, id);
	CHECK(agekey_recipient_encode(p.age, rc, sizeof rc) == 0);
	snprintf(want, sizeof want,
		 "# kluis public keys v1\n"
		 "# label: Opgroeien regie\n"
		 "# created: 2026-11-28T21:00:00Z\n"
		 "# minisign: %s\n"
		 "# minisign key id: %s\n"
		 "%s\n", ms, id, rc);
	CHECK_STR((const char *)t.p, want);
	memset(&q, 0x5a, sizeof q);
	CHECK(pubfile_parse((const char *)t.p, t.len, &q, &e) == 0);
	CHECK_STR(q.label, p.label);
	CHECK_STR(q.created, p.created);
	CHECK_MEM(q.age, p.age, 32);
	CHECK(memcmp(&q.ms, &p.ms, sizeof p.ms) == 0);
	kbuf_free(&t);
}

static void parse_variants(void)
{
	struct pubfile p, q;
	struct kbuf t = KBUF_INIT(4096), u = KBUF_INIT(4096);
	struct kerr e;

	make_pub(&p);
	CHECK(pubfile_format(&p, &t, &e) == 0);
	/* CRLF line endings. */
	for (size_t i = 0; i < t.len; i++) {
		if (t.p[i] == '\n')
			CHECK(kbuf_putc(&u, '\r', &e) == 0);
		CHECK(kbuf_putc(&u, t.p[i], &e) == 0);
	}
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == 0);
	CHECK_MEM(q.age, p.age, 32);
	CHECK(memcmp(&q.ms, &p.ms, sizeof p.ms) == 0);
	/* Unknown comments and blank lines are ignored; no final newline. */
	kbuf_reset(&u);
	CHECK(kbuf_append(&u, t.p, t.len - 1, &e) == 0);
	CHECK(kbuf_puts(&u, "\n\n# future: something\n\n", &e) == 0);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == 0);
	CHECK_MEM(q.age, p.age, 32);
	/* A label with a line break cannot be written. */
	snprintf(p.label, sizeof p.label, "two\nlines");
	kbuf_reset(&u);
	CHECK(pubfile_format(&p, &u, &e) == KERR_USAGE);
	kbuf_free(&t);
	kbuf_free(&u);
}

/* The text of a valid file with line `drop` (0-based) removed, or a line
 * `add` appended. */
static void variant(const struct kbuf *t, int drop, const char *add,
		    struct kbuf *out)
{
	const char *s = (const char *)t->p, *end = s + t->len;
	struct kerr e;
	int line = 0;

	kbuf_reset(out);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
		if (line++ != drop)
			kbuf_append(out, s, l, &e);
		s += l;
	}
	if (add)
		kbuf_puts(out, add, &e);
}

static void refusals(void)
{
	struct pubfile p, q, p2;
	struct kbuf t = KBUF_INIT(4096), u = KBUF_INIT(4096);
	struct kerr e;
	char rc2[AGE_RECIPIENT_LEN + 2];

	make_pub(&p);
	make_pub(&p2);
	CHECK(pubfile_format(&p, &t, &e) == 0);
	/* Missing the magic first line. */
	variant(&t, 0, NULL, &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	/* The magic line not first. */
	variant(&t, 0, "# kluis public keys v1\n", &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	/* Missing the minisign line. */
	variant(&t, 3, NULL, &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	/* Missing the age line. */
	variant(&t, 5, NULL, &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	/* Two age lines, different or the same. */
	CHECK(agekey_recipient_encode(p2.age, rc2, sizeof rc2 - 1) == 0);
	rc2[AGE_RECIPIENT_LEN] = '\n';
	rc2[AGE_RECIPIENT_LEN + 1] = '\0';
	variant(&t, -1, rc2, &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	{
		const char *last = strrchr((const char *)t.p, '\n');
		const char *prev = last - AGE_RECIPIENT_LEN;
		char dup[AGE_RECIPIENT_LEN + 2];
		memcpy(dup, prev, AGE_RECIPIENT_LEN + 1);
		dup[AGE_RECIPIENT_LEN + 1] = '\0';
		variant(&t, -1, dup, &u);
		CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	}
	/* A malformed age line, or a malformed minisign key. */
	variant(&t, 5, "age1notakey\n", &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	variant(&t, 3, "# minisign: RWQnotakey\n", &u);
	CHECK(pubfile_parse((const char *)u.p, u.len, &q, &e) == KERR_KEY);
	/* Empty. */
	CHECK(pubfile_parse("", 0, &q, &e) == KERR_KEY);
	kbuf_free(&t);
	kbuf_free(&u);
}

static void is_an_age_recipients_file(void)
{
	char dir[] = "/tmp/kluis-unit-pub-XXXXXX", path[128];
	struct pubfile p;
	struct agekey_rcpts r;
	struct kbuf t = KBUF_INIT(4096);
	struct kerr e;
	int rc = -1;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/party.pub", dir);
	make_pub(&p);
	agekey_rcpts_init(&r);
	if (pubfile_format(&p, &t, &e) == 0 &&
	    kfile_write(path, t.p, t.len, 0644, 0, &e) == 0)
		rc = agekey_rcpts_load(&r, path, &e);
	unlink(path);
	rmdir(dir);
	kbuf_free(&t);
	CHECK(rc == 0);
	CHECK(r.n == 1 && memcmp(r.pk[0], p.age, 32) == 0);
	agekey_rcpts_free(&r);
}

static void load_minisign_three_forms(void)
{
	char dir[] = "/tmp/kluis-unit-pub-XXXXXX", path[3][128], bad[128];
	struct pubfile p;
	struct ms_pubkey got[3], x;
	struct kbuf t[3] = { KBUF_INIT(4096), KBUF_INIT(4096), KBUF_INIT(4096) };
	struct kerr e;
	char b64[57];
	int rc[3] = { -1, -1, -1 }, rcbad = -1;

	CHECK(mkdtemp(dir));
	make_pub(&p);
	ms_pubkey_encode(&p.ms, b64);
	pubfile_format(&p, &t[0], &e);
	ms_pubkey_format(&p.ms, &t[1], &e);
	kbuf_printf(&t[2], &e, "%s\n", b64);
	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof path[i], "%s/k%d", dir, i);
		memset(&got[i], 0, sizeof got[i]);
		if (kfile_write(path[i], t[i].p, t[i].len, 0644, 0, &e) == 0)
			rc[i] = pubfile_load_minisign(path[i], &got[i], &e);
		unlink(path[i]);
		kbuf_free(&t[i]);
	}
	/* Not a key at all. */
	snprintf(bad, sizeof bad, "%s/bad", dir);
	if (kfile_write(bad, "hello\n", 6, 0644, 0, &e) == 0)
		rcbad = pubfile_load_minisign(bad, &x, &e);
	unlink(bad);
	/* Missing file. */
	CHECK(pubfile_load_minisign(bad, &x, &e) == KERR_IO);
	rmdir(dir);
	for (int i = 0; i < 3; i++) {
		if (rc[i] != 0)
			printf("# form %d: rc %d\n", i, rc[i]);
		CHECK(rc[i] == 0);
		CHECK(memcmp(&got[i], &p.ms, sizeof p.ms) == 0);
	}
	CHECK(rcbad == KERR_KEY);
}

static void load_round_trip(void)
{
	char dir[] = "/tmp/kluis-unit-pub-XXXXXX", path[128];
	struct pubfile p, q;
	struct kbuf t = KBUF_INIT(4096);
	struct kerr e;
	int rc = -1;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/x.pub", dir);
	make_pub(&p);
	if (pubfile_format(&p, &t, &e) == 0 &&
	    kfile_write(path, t.p, t.len, 0644, 0, &e) == 0)
		rc = pubfile_load(path, &q, &e);
	unlink(path);
	rmdir(dir);
	kbuf_free(&t);
	CHECK(rc == 0);
	CHECK_STR(q.label, p.label);
	CHECK_MEM(q.age, p.age, 32);
	CHECK(memcmp(&q.ms, &p.ms, sizeof p.ms) == 0);
}

const struct unit_case suite_pubfile[] = {
	{ "pubfile: format text and parse round trip", format_parse_round_trip },
	{ "pubfile: CRLF, unknown comments, label rules", parse_variants },
	{ "pubfile: missing magic/minisign/age, two age lines -> KERR_KEY",
	  refusals },
	{ "pubfile: is a valid age recipients file", is_an_age_recipients_file },
	{ "pubfile: load_minisign on kluis .pub, minisign .pub, bare base64",
	  load_minisign_three_forms },
	{ "pubfile: load from a file", load_round_trip },
	{ NULL, NULL },
};
