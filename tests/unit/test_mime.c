/* mime (and the offline parts of smtp): header folding and RFC 2047
 * subjects, quoted-printable bodies, base64 attachments decoded back with
 * libsodium, boundaries, CRLF, header injection, credentials files. */
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kluis.h"
#include "mime.h"
#include "smtp.h"
#include "unit.h"
#include "banned.h"

#define MSG_MAX (8u << 20)

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static const char *tmp_path(const char *name, char *buf, size_t n)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/kluis-mime.XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

/* Remove the scratch directory once a case has removed its files. */
static void tmp_done(void)
{
	if (tmpdir[0] && rmdir(tmpdir) == 0)
		tmpdir[0] = '\0';
}

static bool write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok;

	if (fd < 0)
		return false;
	ok = fchmod(fd, mode) == 0 && write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok;
}

static void basic(struct mime_message *m)
{
	memset(m, 0, sizeof *m);
	m->from = "discloser@opgroeien.example";
	m->to = "research@serv.example";
	m->subject = "Pakket";
	m->body = "Hallo\n";
	m->date = 1767225600; /* 2026-01-01 00:00:00 UTC */
	m->message_id = "0f3c9a@kluis.invalid";
}

/* Render m into b (NUL-terminated by kbuf). */
static int render(const struct mime_message *m, struct kbuf *b,
		  struct kerr *e)
{
	struct kbuf_sink s;

	kbuf_init(b, MSG_MAX, false);
	kbuf_sink_init(&s, b);
	return mime_write(m, &s.base, e);
}

/* Every LF preceded by CR, every CR followed by LF, 7-bit only, and no
 * line longer than max (CRLF excluded). */
static bool lines_ok(const uint8_t *p, size_t n, size_t max)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x80 || p[i] == 0)
			return false;
		if (p[i] == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n')
				return false;
			continue;
		}
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				return false;
			col = 0;
			continue;
		}
		if (++col > max)
			return false;
	}
	return true;
}

/* The raw lines of header `name` (first line and continuations), from the
 * header block only; NULL if absent.  Returns a pointer into msg and the
 * length through *len. */
static const char *header_raw(const char *msg, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");
	const char *p = msg;

	while (p && p < end) {
		if (!strncmp(p, name, nl) && p[nl] == ':') {
			const char *q = p;
			do {
				q = strstr(q, "\r\n") + 2;
			} while (*q == ' ' || *q == '\t');
			*len = (size_t)(q - p);
			return p;
		}
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return NULL;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static bool get_boundary(const char *msg, char *out, size_t cap)
{
	const char *p = strstr(msg, "boundary=\""), *q;

	if (!p)
		return false;
	p += strlen("boundary=\"");
	q = strchr(p, '"');
	if (!q || (size_t)(q - p) + 1 > cap)
		return false;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return true;
}

/* Body of part k (0 = the text part): from after its blank line to the
 * CRLF before the next delimiter.  Returns a pointer into msg. */
static const char *part_body(const char *msg, size_t k, size_t *len)
{
	char b[80], delim[96];
	const char *p, *start, *end;

	if (!get_boundary(msg, b, sizeof b))
		return NULL;
	snprintf(delim, sizeof delim, "\r\n--%s", b);
	p = strstr(msg, delim);
	for (size_t i = 0; p && i < k; i++)
		p = strstr(p + 1, delim);
	if (!p)
		return NULL;
	start = strstr(p, "\r\n\r\n");
	if (!start)
		return NULL;
	start += 4;
	/* An empty body: the blank line's CRLF is followed directly by the
	 * delimiter's CRLF. */
	end = strstr(start - 2, delim);
	if (!end)
		return NULL;
	if (end < start) {
		*len = 0;
		return start;
	}
	*len = (size_t)(end - start);
	return start;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 2045 6.7 decoding, strict: uppercase hex only, soft breaks "=\r\n",
 * hard breaks become "\n". */
static bool qp_decode(const char *p, size_t n, struct kbuf *out)
{
	struct kerr e;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=') {
			if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
				i += 2;
				continue;
			}
			if (i + 2 >= n || hexval(p[i + 1]) < 0 ||
			    hexval(p[i + 2]) < 0)
				return false;
			if (kbuf_putc(out, (uint8_t)(hexval(p[i + 1]) * 16 +
						      hexval(p[i + 2])), &e))
				return false;
			i += 2;
		} else if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			if (kbuf_putc(out, '\n', &e))
				return false;
			i++;
		} else {
			if (kbuf_putc(out, (uint8_t)p[i], &e))
				return false;
		}
	}
	return true;
}

/* ---- subject ------------------------------------------------------------ */

static void subject_encoded_words(void)
{
	/* Two-, three- and four-byte characters, long enough for four
	 * encoded-words. */
	static const char subj[] =
		"Pakket voor SERV \xe2\x80\x94 \xc3\xa9\xc3\xa9n bestand, "
		"\xe2\x80\x99t is klaar; een onderwerp dat lang genoeg is om "
		"over meerdere regels te vouwen \xe2\x9c\x93 \xf0\x9d\x84\x9e "
		"\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e einde";
	struct mime_message m;
	struct kbuf b, dec = KBUF_INIT(4096);
	struct kerr e;
	const char *h, *p, *end;
	size_t len, words = 0;

	basic(&m);
	m.subject = subj;
	CHECK(render(&m, &b, &e) == 0);
	h = header_raw((const char *)b.p, "Subject", &len);
	CHECK(h != NULL);
	CHECK(lines_ok((const uint8_t *)h, len, 78));
	end = h + len;
	p = h + strlen("Subject:");
	while (p < end) {
		const char *w, *q;
		uint8_t bin[64];
		size_t n;

		/* Every word follows one space, first on the Subject line,
		 * then each on its own continuation line. */
		CHECK(*p == ' ');
		w = p + 1;
		CHECK(!strncmp(w, "=?UTF-8?B?", 10));
		q = strstr(w + 10, "?=");
		CHECK(q && q < end);
		CHECK((size_t)(q + 2 - w) <= 75);
		CHECK(sodium_base642bin(bin, sizeof bin, w + 10,
					(size_t)(q - w - 10), NULL, &n, NULL,
					sodium_base64_VARIANT_ORIGINAL) == 0);
		/* Whole characters per word (RFC 2047 section 5): each
		 * decoded piece is valid UTF-8 by itself. */
		CHECK(n > 0 && (bin[0] & 0xc0) != 0x80);
		CHECK(kbuf_append(&dec, bin, n, &e) == 0);
		words++;
		p = q + 2;
		if (!strncmp(p, "\r\n", 2))
			p += 2;
	}
	CHECK(words >= 4);
	CHECK(dec.len == strlen(subj) && !memcmp(dec.p, subj, dec.len));
	kbuf_free(&dec);
	kbuf_free(&b);
}

static void subject_ascii_folded(void)
{
	static const char lng[] =
		"Kennisgeving vooraf van verdere verstrekking aan een verwerker "
		"volgens artikel 4 van het protocol, met kenmerk 2026-17 en "
		"een tweede zin die ook nog past";
	struct mime_message m;
	struct kbuf b;
	struct kerr e;
	const char *h;
	char unfolded[512];
	size_t len, k = 0;

	basic(&m);
	m.subject = "Hello world";
	CHECK(render(&m, &b, &e) == 0);
	CHECK(strstr((const char *)b.p, "\r\nSubject: Hello world\r\n"));
	kbuf_free(&b);

	/* Long ASCII folds at spaces; unfolding (dropping CRLF) restores it. */
	m.subject = lng;
	CHECK(render(&m, &b, &e) == 0);
	h = header_raw((const char *)b.p, "Subject", &len);
	CHECK(h && lines_ok((const uint8_t *)h, len, 78));
	CHECK(count_str(h, "\r\n ") >= 1 && !strstr(h, "=?"));
	for (size_t i = strlen("Subject: "); i < len - 2; i++) {
		if (h[i] == '\r' && h[i + 1] == '\n') {
			i++;
			continue;
		}
		CHECK(k + 1 < sizeof unfolded);
		unfolded[k++] = h[i];
	}
	unfolded[k] = '\0';
	CHECK_STR(unfolded, lng);
	kbuf_free(&b);

	/* Text a reader could take for an encoded-word is encoded itself. */
	m.subject = "looks like =?UTF-8?B?eA==?= but is not";
	CHECK(render(&m, &b, &e) == 0);
	CHECK(strstr((const char *)b.p, "Subject: =?UTF-8?B?"));
	kbuf_free(&b);
}

/* ---- body --------------------------------------------------------------- */

static void body_quoted_printable(void)
{
	char body[2048];
	struct mime_message m;
	struct kbuf b, dec = KBUF_INIT(4096);
	struct kerr e;
	const char *p;
	size_t len, n = 0;

	n += (size_t)snprintf(body + n, sizeof body - n,
			      "Beste,\n\n\xc3\xa9\xc3\xa9n bestand, "
			      "\xe2\x80\x99t is klaar.\n");
	for (int i = 0; i < 30; i++) /* a 300-character line */
		n += (size_t)snprintf(body + n, sizeof body - n, "woord%04d ",
				      i);
	n += (size_t)snprintf(body + n, sizeof body - n,
			      "\na=b, 1+1=2 ==\n"
			      "trailing spaces   \n"
			      "trailing tab\t\n"
			      ".dot at start\n"
			      "From the start\n"
			      "%s\n"
			      "CRLF line\r\n"
			      "lone\rCR\n"
			      "no newline at the end   ",
			      /* 75 x 'e' then an '=': the token must move to
			       * the next line, not pass column 76 */
			      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee=");
	basic(&m);
	m.body = body;
	CHECK(render(&m, &b, &e) == 0);
	CHECK(strstr((const char *)b.p,
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
	p = part_body((const char *)b.p, 0, &len);
	CHECK(p != NULL);
	CHECK(lines_ok((const uint8_t *)p, len, 76));
	/* No whitespace before a line end, no literal '=' except as an
	 * escape, nothing outside printable ASCII. */
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			CHECK(i == 0 || (p[i - 1] != ' ' && p[i - 1] != '\t'));
		if (p[i] == '=')
			CHECK((i + 2 < len && p[i + 1] == '\r') ||
			      (hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0));
	}
	CHECK(len >= 3 && p[len - 1] != ' ');
	CHECK(strstr(p, "=C3=A9=C3=A9n") && strstr(p, "=E2=80=99t"));
	CHECK(strstr(p, "\r\n=2Edot at start\r\n"));
	CHECK(strstr(p, "\r\n=46rom the start\r\n"));
	CHECK(strstr(p, "lone=0DCR"));
	CHECK(qp_decode(p, len, &dec));
	/* Decoded: the body with CRLF normalised to LF, lone CR kept. */
	{
		char want[2048];
		size_t k = 0;

		for (size_t i = 0; body[i]; i++) {
			if (body[i] == '\r' && body[i + 1] == '\n')
				continue;
			want[k++] = body[i];
		}
		CHECK(dec.len == k && !memcmp(dec.p, want, k));
	}
	kbuf_free(&dec);
	kbuf_free(&b);
}

/* ---- attachments -------------------------------------------------------- */

static void base64_roundtrip_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 57, 58, 57 * 1024,
					57 * 1024 + 1, 3 * 57 * 1024 + 100 };
	enum { N = sizeof sizes / sizeof *sizes };
	struct mime_attachment att[N];
	char paths[N][128], names[N][32];
	uint8_t *data[N], *bin;
	struct mime_message m;
	struct kbuf b;
	struct kerr e;

	for (size_t i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof name, "att%zu.bin", i);
		tmp_path(name, paths[i], sizeof paths[i]);
		data[i] = malloc(sizes[i] + 1);
		CHECK(data[i] != NULL);
		randombytes_buf(data[i], sizes[i]);
		CHECK(write_file(paths[i], data[i], sizes[i], 0600));
		snprintf(names[i], sizeof names[i], "size-%zu.age", sizes[i]);
		att[i].path = paths[i];
		att[i].filename = names[i];
		att[i].content_type = "application/octet-stream";
	}
	basic(&m);
	m.att = att;
	m.n_att = N;
	CHECK(render(&m, &b, &e) == 0);
	CHECK(lines_ok(b.p, b.len, 78));
	bin = malloc(4 * 57 * 1024);
	CHECK(bin != NULL);
	for (size_t i = 0; i < N; i++) {
		char hdr[160];
		const char *p;
		size_t len, got = 0, col = 0, lines = 0;

		snprintf(hdr, sizeof hdr,
			 "Content-Disposition: attachment;\r\n filename=\"%s\"\r\n"
			 "Content-Transfer-Encoding: base64\r\n",
			 names[i]);
		CHECK(strstr((const char *)b.p, hdr));
		p = part_body((const char *)b.p, i + 1, &len);
		CHECK(p != NULL);
		/* Lines of exactly 76 characters, the last one 1..76. */
		for (size_t k = 0; k < len; k++) {
			if (p[k] == '\r') {
				CHECK(col == 76);
				col = 0;
				k++;
				lines++;
			} else {
				col++;
			}
		}
		CHECK(col <= 76 && (sizes[i] == 0 ? len == 0 : col > 0));
		CHECK(lines + (col > 0) == (sizes[i] + 56) / 57);
		CHECK(sodium_base642bin(bin, 4 * 57 * 1024, p, len, "\r\n",
					&got, NULL,
					sodium_base64_VARIANT_ORIGINAL) == 0);
		CHECK(got == sizes[i]);
		CHECK(got == 0 || !memcmp(bin, data[i], got));
	}
	free(bin);
	for (size_t i = 0; i < N; i++) {
		free(data[i]);
		unlink(paths[i]);
	}
	kbuf_free(&b);
	tmp_done();
}

static void missing_attachment_names_path(void)
{
	struct mime_attachment a = { "/nonexistent/kluis/pkg.age", "pkg.age",
				     "application/octet-stream" };
	struct mime_message m;
	struct kbuf b;
	struct kerr e;

	basic(&m);
	m.att = &a;
	m.n_att = 1;
	CHECK(render(&m, &b, &e) == KERR_IO);
	CHECK(strstr(e.what, "/nonexistent/kluis/pkg.age"));
	kbuf_free(&b);
}

/* ---- structure ---------------------------------------------------------- */

static void boundary_never_in_content(void)
{
	/* Content that mimics a delimiter as well as it can. */
	static const char trap[] = "--=_kluis_00\r\n--=_kluis_\n=_=_--\n";
	struct mime_attachment a;
	struct mime_message m;
	struct kbuf b1, b2;
	struct kerr e;
	char bd1[80], bd2[80], path[128], delim[96];
	const char *msg;

	tmp_path("trap.txt", path, sizeof path);
	CHECK(write_file(path, trap, sizeof trap - 1, 0600));
	a.path = path;
	a.filename = "trap.txt";
	a.content_type = "text/plain; charset=utf-8";
	basic(&m);
	m.body = trap;
	m.subject = "--=_kluis_";
	m.att = &a;
	m.n_att = 1;
	CHECK(render(&m, &b1, &e) == 0);
	CHECK(render(&m, &b2, &e) == 0);
	msg = (const char *)b1.p;
	CHECK(get_boundary(msg, bd1, sizeof bd1));
	CHECK(get_boundary((const char *)b2.p, bd2, sizeof bd2));
	CHECK(strcmp(bd1, bd2) != 0);       /* random per message */
	CHECK(!strncmp(bd1, "=_kluis_", 8) && strlen(bd1) == 8 + 32);
	/* The boundary appears in the header, at two part delimiters and
	 * at the close delimiter: nowhere else. */
	CHECK(count_str(msg, bd1) == 4);
	snprintf(delim, sizeof delim, "\r\n--%s\r\n", bd1);
	CHECK(count_str(msg, delim) == 2);
	snprintf(delim, sizeof delim, "\r\n--%s--\r\n", bd1);
	CHECK(count_str(msg, delim) == 1);
	CHECK(b1.len >= strlen(delim) &&
	      !strcmp(msg + b1.len - strlen(delim), delim));
	/* Below the header block, "=_" occurs only in the delimiters:
	 * neither base64 nor QP output contains it. */
	CHECK(count_str(strstr(msg, "\r\n\r\n"), "=_") == 3);
	unlink(path);
	kbuf_free(&b1);
	kbuf_free(&b2);
	tmp_done();
}

static void crlf_everywhere_and_headers(void)
{
	struct mime_attachment a;
	struct mime_message m;
	struct kbuf b;
	struct kerr e;
	char path[128];
	const char *msg, *id;
	static const char text[] = "line one\nline two\n\nline four\n";

	tmp_path("crlf.txt", path, sizeof path);
	CHECK(write_file(path, text, sizeof text - 1, 0600));
	a.path = path;
	a.filename = "crlf.txt";
	a.content_type = "text/plain";
	basic(&m);
	m.body = text;
	m.att = &a;
	m.n_att = 1;
	m.date = 0;
	CHECK(render(&m, &b, &e) == 0);
	msg = (const char *)b.p;
	CHECK(lines_ok(b.p, b.len, 78));
	CHECK(!strncmp(msg, "From: discloser@opgroeien.example\r\n"
			    "To: research@serv.example\r\n"
			    "Subject: Pakket\r\n"
			    "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
			    "Message-ID: <0f3c9a@kluis.invalid>\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed;\r\n boundary=\"",
		       strlen("From: discloser@opgroeien.example\r\n"
			      "To: research@serv.example\r\n"
			      "Subject: Pakket\r\n"
			      "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
			      "Message-ID: <0f3c9a@kluis.invalid>\r\n"
			      "MIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed;\r\n boundary=\"")));
	kbuf_free(&b);

	/* Another date; a random Message-ID when none is given. */
	m.date = 1767225599; /* Wed 2025-12-31 23:59:59 UTC */
	m.message_id = NULL;
	CHECK(render(&m, &b, &e) == 0);
	msg = (const char *)b.p;
	CHECK(strstr(msg, "\r\nDate: Wed, 31 Dec 2025 23:59:59 +0000\r\n"));
	id = strstr(msg, "\r\nMessage-ID: <");
	CHECK(id != NULL);
	id += strlen("\r\nMessage-ID: <");
	for (int i = 0; i < 32; i++)
		CHECK(hexval((char)(id[i] >= 'a' ? id[i] - 'a' + 'A' : id[i])) >= 0);
	CHECK(!strncmp(id + 32, "@kluis.invalid>\r\n", 17));
	unlink(path);
	kbuf_free(&b);
	tmp_done();
}

/* ---- refusals ----------------------------------------------------------- */

static bool refused(const struct mime_message *m)
{
	struct kbuf b;
	struct kerr e;
	int rc = render(m, &b, &e);
	bool ok = rc == KERR_USAGE && b.len == 0 && !strstr(e.why, "evil") &&
		  !strstr(e.what, "evil");

	kbuf_free(&b);
	return ok;
}

static void header_injection_refused(void)
{
	struct mime_attachment a = { "/dev/null", "pkg.age",
				     "application/octet-stream" };
	struct mime_message m;

	basic(&m);
	m.att = &a;
	m.n_att = 1;
	m.from = "a@b.be\r\nBcc: x@evil.example";
	CHECK(refused(&m));
	m.from = "a@b.be\nBcc: x@evil.example";
	CHECK(refused(&m));
	basic(&m);
	m.to = "a@b.be\rBcc: x@evil.example";
	CHECK(refused(&m));
	m.to = "Name <a@evil.example>";
	CHECK(refused(&m));
	basic(&m);
	m.subject = "Hi\r\nBcc: x@evil.example";
	CHECK(refused(&m));
	m.subject = "bad utf-8 \xc3\x28 evil";
	CHECK(refused(&m));
	basic(&m);
	m.att = &a;
	m.n_att = 1;
	a.filename = "pkg.age\"\r\nContent-Type: text/html; x=\"evil";
	CHECK(refused(&m));
	a.filename = "pkg\n.age";
	CHECK(refused(&m));
	a.filename = "../evil.age";
	CHECK(refused(&m));
	a.filename = "pkg.age";
	a.content_type = "application/octet-stream\r\nX-Evil: 1";
	CHECK(refused(&m));
	a.content_type = "application/octet-stream; name=\"evil\"";
	CHECK(refused(&m));
	a.content_type = "text/plain; charset=utf-8";
	basic(&m);
	m.message_id = "evil>\r\nBcc: <x@y";
	CHECK(refused(&m));
	basic(&m);
	m.body = "bad utf-8 \xff evil";
	CHECK(refused(&m));
}

static void address_rules(void)
{
	static const char *const good[] = {
		"a@b.be", "first.last+tag@sub-domain.example.org",
		"o'brien@x.ie", "x@localhost",
	};
	static const char *const bad[] = {
		"", "ab.be", "a@@b.be", "a@b@c.be", "<a@b.be>", "a b@c.be",
		".a@b.be", "a.@b.be", "a..b@c.be", "a@b.be.", "a@.b.be",
		"a@b..be", "a@", "@b.be", "\"q\"@b.be", "a@[127.0.0.1]",
		"\xc3\xa9@b.be", "a@b.be\t",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.be",
	};
	struct kerr e;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(mime_check_addr(good[i], "To", &e) == 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(mime_check_addr(bad[i], "To", &e) == KERR_USAGE);
		CHECK(!bad[i][0] || !strstr(e.why, bad[i]));
	}
	CHECK(mime_check_addr(NULL, "From", &e) == KERR_USAGE);
}

/* ---- smtp, offline ------------------------------------------------------ */

static void smtp_credentials_files(void)
{
	static const struct {
		const char *text, *user, *pass;
	} ok[] = {
		{ "mailer:s3cret", "mailer", "s3cret" },
		{ "mailer:s3:cr:et\n", "mailer", "s3:cr:et" },
		{ "mailer\ns3cret\n", "mailer", "s3cret" },
		{ "mail:er\npass word\r\n", "mail:er", "pass word" },
		{ "mailer\r\ns3cret", "mailer", "s3cret" },
	};
	static const char *const bad[] = {
		"", "\n", "nocolon", ":pw", "user:", "user\n\n",
		"user\npw\nthird\n", "us\x01er:pw", "user\npw\rx",
	};
	char path[128];
	char *u, *p;
	struct kerr e;

	tmp_path("cred", path, sizeof path);
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		CHECK(write_file(path, ok[i].text, strlen(ok[i].text), 0600));
		CHECK(smtp_credentials_load(path, &u, &p, &e) == 0);
		CHECK_STR(u, ok[i].user);
		CHECK_STR(p, ok[i].pass);
		smtp_credentials_free(u, p);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(write_file(path, bad[i], strlen(bad[i]), 0600));
		CHECK(smtp_credentials_load(path, &u, &p, &e) == KERR_FORMAT);
		CHECK(u == NULL && p == NULL);
	}
	/* Group or world access is refused whatever the contents. */
	CHECK(write_file(path, "mailer:s3cret", 13, 0644));
	CHECK(smtp_credentials_load(path, &u, &p, &e) == KERR_USAGE);
	CHECK(strstr(e.why, "0644") && !strstr(e.why, "s3cret"));
	CHECK(write_file(path, "mailer:s3cret", 13, 0620));
	CHECK(smtp_credentials_load(path, &u, &p, &e) == KERR_USAGE);
	CHECK(u == NULL && p == NULL);
	unlink(path);
	CHECK(smtp_credentials_load(path, &u, &p, &e) == KERR_IO);
	tmp_done();
}

static void smtp_refuses_bad_options(void)
{
	const char *rcpt[] = { "r@x.example" };
	const char *evil[] = { "r@x.example>\r\nRSET" };
	struct smtp_opts o;
	struct kerr e;
	char eml[128];

	/* A real message file: had an option slipped through, the send
	 * would go on to connect to port 1 and fail with KERR_IO instead. */
	tmp_path("m.eml", eml, sizeof eml);
	CHECK(write_file(eml, "Subject: x\r\n\r\nx\r\n", 17, 0600));
	memset(&o, 0, sizeof o);
	o.url = "smtp://127.0.0.1:1";
	o.from = "s@x.example";
	o.rcpt = rcpt;
	o.n_rcpt = 1;
	o.insecure = true;
	CHECK(smtp_send_file(&o, eml, &e) == KERR_IO);
	CHECK(strstr(e.why, "connection refused"));
	o.url = "http://127.0.0.1:1";
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	o.url = "smtp://user:pw@127.0.0.1:1";
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	CHECK(!strstr(e.why, "pw@"));
	o.url = "smtp://127.0.0.1:1";
	o.rcpt = evil;
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	o.rcpt = rcpt;
	o.n_rcpt = 0;
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	o.n_rcpt = 1;
	o.from = "s@x.example\r\nRSET";
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	o.from = "s@x.example";
	o.user = "u";
	o.password = "p\r\nQUIT";
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	CHECK(!strstr(e.why, "QUIT"));
	o.user = NULL;
	o.password = NULL;
	o.timeout_s = -1;
	CHECK(smtp_send_file(&o, eml, &e) == KERR_USAGE);
	o.timeout_s = 0;
	/* A directory is not a message. */
	CHECK(smtp_send_file(&o, "/", &e) == KERR_USAGE);
	unlink(eml);
	tmp_done();
}

const struct unit_case suite_mime[] = {
	{ "mime_subject: non-ASCII as folded RFC 2047 encoded-words", subject_encoded_words },
	{ "mime_subject: ASCII folded at spaces, \"=?\" encoded", subject_ascii_folded },
	{ "mime_body: quoted-printable (long lines, '=', trailing space, UTF-8)", body_quoted_printable },
	{ "mime_attachment: base64 76 columns, sizes 0..3*57K round trip", base64_roundtrip_sizes },
	{ "mime_attachment: unreadable file names the path", missing_attachment_names_path },
	{ "mime_boundary: random, never inside the content", boundary_never_in_content },
	{ "mime_headers: CRLF everywhere, Date, Message-ID", crlf_everywhere_and_headers },
	{ "mime_injection: CR/LF in from/to/subject/filename/type refused", header_injection_refused },
	{ "mime_addr: addr-spec rules", address_rules },
	{ "mime_smtp: credentials file forms, modes", smtp_credentials_files },
	{ "mime_smtp: bad options refused before connecting", smtp_refuses_bad_options },
	{ NULL, NULL },
};
