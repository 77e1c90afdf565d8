/*
 * mime — multipart/mixed writer.  Everything is validated up front, then
 * written through one fixed output buffer; attachments go through one
 * fixed input block, so a message of any size costs the same memory.
 */
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "banned.h"

#define LINE_BYTES 57                    /* 57 bytes → 76 base64 chars */
#define BLOCK_BYTES (LINE_BYTES * 1024)  /* one read of an attachment */
#define OUT_CAP (80 * 1024)              /* output buffer */
#define SUBJECT_MAX 900
#define FILENAME_MAX_LEN 200
#define CTYPE_MAX 200
#define MSGID_MAX 200
#define ADDR_MAX 254
#define LOCAL_MAX 64
#define HEADER_SOFT 78                   /* RFC 5322 2.1.1 SHOULD */
#define QP_LINE 76                       /* RFC 2045 6.7 (5) */
#define EW_PREFIX "=?UTF-8?B?"
#define EW_SUFFIX "?="

/* ---- buffered output -------------------------------------------------- */

struct out {
	struct ksink *sink;
	uint8_t *buf;
	size_t len;
};

static int out_flush(struct out *o, struct kerr *e)
{
	int rc = 0;

	if (o->len)
		rc = o->sink->write(o->sink, o->buf, o->len, e);
	/* The text part may hold personal data (names in an invitation). */
	sodium_memzero(o->buf, o->len);
	o->len = 0;
	return rc;
}

/* Make room for n bytes (n <= OUT_CAP). */
static int out_room(struct out *o, size_t n, struct kerr *e)
{
	if (OUT_CAP - o->len >= n)
		return 0;
	return out_flush(o, e);
}

static int out_put(struct out *o, const void *p, size_t n, struct kerr *e)
{
	int rc;

	if (n > OUT_CAP) {
		if ((rc = out_flush(o, e)) != 0)
			return rc;
		return o->sink->write(o->sink, p, n, e);
	}
	if ((rc = out_room(o, n, e)) != 0)
		return rc;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static int out_str(struct out *o, const char *s, struct kerr *e)
{
	return out_put(o, s, strlen(s), e);
}

static int out_fmt(struct out *o, struct kerr *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int out_fmt(struct out *o, struct kerr *e, const char *fmt, ...)
{
	char line[1100]; /* every header line is below 998 by validation */
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return kerr_set(e, KERR_INTERNAL, "mail header",
				"header line too long");
	return out_put(o, line, (size_t)n, e);
}

/* ---- validation --------------------------------------------------------- */

/* RFC 5322 atext: the characters of a dot-atom besides '.'. */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

/* A dot-separated run of labels: no empty label, no leading/trailing dot. */
static bool dotted(const char *s, size_t n, bool (*ok)(unsigned char))
{
	bool prev_dot = true;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (ok(c)) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}

int mime_check_addr(const char *addr, const char *field, struct kerr *e)
{
	const char *at;
	size_t n;

	if (!addr || !*addr)
		return kerr_set(e, KERR_USAGE, "mail address",
				"%s: no address given", field);
	n = strlen(addr);
	/* Control characters first: a CR or LF here would start a new header
	 * or SMTP command, which is the attack to name plainly. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c < 0x20 || c == 0x7f)
			return kerr_set(e, KERR_USAGE, "mail address",
					"%s: address contains a control character (CR, LF or other)",
					field);
		if (c >= 0x80)
			return kerr_set(e, KERR_USAGE, "mail address",
					"%s: address is not ASCII", field);
	}
	if (n > ADDR_MAX)
		return kerr_set(e, KERR_USAGE, "mail address",
				"%s: address longer than %d bytes", field,
				ADDR_MAX);
	at = strchr(addr, '@');
	if (!at || strchr(at + 1, '@'))
		return kerr_set(e, KERR_USAGE, "mail address",
				"%s: address must contain exactly one '@'",
				field);
	if ((size_t)(at - addr) > LOCAL_MAX ||
	    !dotted(addr, (size_t)(at - addr), is_atext))
		return kerr_set(e, KERR_USAGE, "mail address",
				"%s: local part is not a plain dot-atom (no spaces, quotes, <> or brackets)",
				field);
	if (!dotted(at + 1, strlen(at + 1), is_domain_char))
		return kerr_set(e, KERR_USAGE, "mail address",
				"%s: domain is not a host name", field);
	return 0;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
 * Returns the length of the sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* The NUL terminator fails every continuation test, so utf8_seq never
 * reads past the end of a C string. */
static bool utf8_valid(const char *s, size_t *bad_at)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (p[i]) {
		size_t n = utf8_seq(p + i);
		if (!n) {
			*bad_at = i;
			return false;
		}
		i += n;
	}
	return true;
}

static int check_subject(const char *s, struct kerr *e)
{
	size_t n = strlen(s), bad;

	if (n > SUBJECT_MAX)
		return kerr_set(e, KERR_USAGE, "mail header",
				"Subject: longer than %d bytes", SUBJECT_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return kerr_set(e, KERR_USAGE, "mail header",
					"Subject: contains a control character (CR, LF or other) at byte %zu",
					i + 1);
	}
	if (!utf8_valid(s, &bad))
		return kerr_set(e, KERR_USAGE, "mail header",
				"Subject: not valid UTF-8 at byte %zu", bad + 1);
	return 0;
}

static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

static size_t token_len(const char *s)
{
	size_t n = 0;

	while (is_token_char((unsigned char)s[n]))
		n++;
	return n;
}

/* "type/subtype" followed by any number of "; attr=value", all tokens:
 * nothing that could end the header or unbalance our own parameters. */
static bool ctype_valid(const char *s)
{
	size_t n;

	if (strlen(s) > CTYPE_MAX)
		return false;
	if ((n = token_len(s)) == 0 || s[n] != '/')
		return false;
	s += n + 1;
	if ((n = token_len(s)) == 0)
		return false;
	s += n;
	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return true;
		if (*s++ != ';')
			return false;
		while (*s == ' ')
			s++;
		if ((n = token_len(s)) == 0 || s[n] != '=')
			return false;
		s += n + 1;
		if ((n = token_len(s)) == 0)
			return false;
		s += n;
	}
}

static int check_attachment(const struct mime_attachment *a, size_t i,
			    struct kerr *e)
{
	const char *f = a->filename;
	size_t n;

	if (!a->path || !*a->path)
		return kerr_set(e, KERR_USAGE, "mail attachment",
				"attachment %zu: no file given", i + 1);
	if (!f || !*f)
		return kerr_set(e, KERR_USAGE, "mail attachment",
				"attachment %zu: no file name given", i + 1);
	n = strlen(f);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)f[k];
		if (c < 0x20 || c == 0x7f)
			return kerr_set(e, KERR_USAGE, "mail attachment",
					"attachment %zu: file name contains a control character (CR, LF or other)",
					i + 1);
		if (c >= 0x80)
			return kerr_set(e, KERR_USAGE, "mail attachment",
					"attachment %zu: file name is not ASCII",
					i + 1);
		if (c == '"' || c == '\\' || c == '/')
			return kerr_set(e, KERR_USAGE, "mail attachment",
					"attachment %zu: file name contains '\"', '\\' or '/'",
					i + 1);
	}
	if (n > FILENAME_MAX_LEN || !strcmp(f, ".") || !strcmp(f, ".."))
		return kerr_set(e, KERR_USAGE, "mail attachment",
				"attachment %zu: file name is \".\", \"..\" or longer than %d characters",
				i + 1, FILENAME_MAX_LEN);
	if (!a->content_type || !ctype_valid(a->content_type))
		return kerr_set(e, KERR_USAGE, "mail attachment",
				"attachment %zu: content type must be type/subtype[; attr=value]... in MIME tokens",
				i + 1);
	return 0;
}

static int check_msgid(const char *id, struct kerr *e)
{
	const char *at = strchr(id, '@');
	size_t n = strlen(id);

	if (n > MSGID_MAX || !at || strchr(at + 1, '@') ||
	    !dotted(id, (size_t)(at - id), is_atext) ||
	    !dotted(at + 1, strlen(at + 1), is_atext))
		return kerr_set(e, KERR_USAGE, "mail header",
				"Message-ID: must be dot-atom@dot-atom without <>, at most %d characters",
				MSGID_MAX);
	return 0;
}

static int check_message(const struct mime_message *m, struct tm *tm,
			 struct kerr *e)
{
	int rc;
	size_t bad;

	if ((rc = mime_check_addr(m->from, "From", e)) != 0 ||
	    (rc = mime_check_addr(m->to, "To", e)) != 0)
		return rc;
	if (m->subject && (rc = check_subject(m->subject, e)) != 0)
		return rc;
	if (m->body && !utf8_valid(m->body, &bad))
		return kerr_set(e, KERR_USAGE, "mail body",
				"not valid UTF-8 at byte %zu", bad + 1);
	if (m->message_id && (rc = check_msgid(m->message_id, e)) != 0)
		return rc;
	if (m->n_att > MIME_MAX_ATTACHMENTS || (m->n_att && !m->att))
		return kerr_set(e, KERR_USAGE, "mail attachment",
				"at most %d attachments", MIME_MAX_ATTACHMENTS);
	for (size_t i = 0; i < m->n_att; i++)
		if ((rc = check_attachment(&m->att[i], i, e)) != 0)
			return rc;
	/* RFC 5322 wants a four-digit year from 1900 on. */
	if (!gmtime_r(&m->date, tm) || tm->tm_year < 0 ||
	    tm->tm_year > 9999 - 1900)
		return kerr_set(e, KERR_USAGE, "mail header",
				"Date: out of range (years 1900..9999)");
	return 0;
}

/* ---- headers ------------------------------------------------------------ */

/* Plain ASCII is written as is when it can be folded at single spaces into
 * lines of at most 78; anything else (non-ASCII, "=?" that a reader would
 * take for an encoded-word, runs of spaces, a word too long to fold) goes
 * into RFC 2047 encoded-words. */
static bool subject_plain(const char *s)
{
	size_t n = strlen(s), word = 0;

	if (n && (s[0] == ' ' || s[n - 1] == ' '))
		return false;
	if (strstr(s, "=?") || strstr(s, "  "))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f)
			return false;
		word = c == ' ' ? 0 : word + 1;
		/* "Subject: " or the folding space comes first. */
		if (word > HEADER_SOFT - 9)
			return false;
	}
	return true;
}

static int subject_fold(struct out *o, const char *s, struct kerr *e)
{
	size_t col = strlen("Subject:");
	int rc;

	if ((rc = out_str(o, "Subject:", e)) != 0)
		return rc;
	while (*s) {
		size_t w = strcspn(s, " ");
		/* Each word goes after one space, folded when it overflows. */
		if (col + 1 + w > HEADER_SOFT) {
			if ((rc = out_str(o, "\r\n", e)) != 0)
				return rc;
			col = 0;
		}
		if ((rc = out_str(o, " ", e)) != 0 ||
		    (rc = out_put(o, s, w, e)) != 0)
			return rc;
		col += 1 + w;
		s += w;
		if (*s == ' ')
			s++;
	}
	return out_str(o, "\r\n", e);
}

/* RFC 2047 B encoding.  Each encoded-word holds whole UTF-8 characters
 * (2047 §5) and is at most 75 characters; the first shares its line with
 * "Subject: ", later ones each start a folded line with one space.  A
 * reader drops the folding whitespace between adjacent encoded-words. */
static int subject_encoded(struct out *o, const char *s, struct kerr *e)
{
	const size_t overhead = strlen(EW_PREFIX) + strlen(EW_SUFFIX);
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), pos = 0;
	bool first = true;
	int rc;

	if ((rc = out_str(o, "Subject:", e)) != 0)
		return rc;
	while (pos < n) {
		/* Room left for base64 on this line, in whole 4-char groups. */
		size_t line_room = HEADER_SOFT - (first ? 9 : 1) - overhead;
		size_t word_room = 75 - overhead;
		size_t room = (line_room < word_room ? line_room : word_room);
		size_t max_bytes = room / 4 * 3, take = 0;
		char b64[80];

		while (pos + take < n) {
			size_t c = utf8_seq(p + pos + take);
			if (take + c > max_bytes)
				break;
			take += c;
		}
		b64_encode(p + pos, take, true, b64, sizeof b64);
		if ((rc = out_str(o, first ? " " : "\r\n ", e)) != 0 ||
		    (rc = out_str(o, EW_PREFIX, e)) != 0 ||
		    (rc = out_str(o, b64, e)) != 0 ||
		    (rc = out_str(o, EW_SUFFIX, e)) != 0)
			return rc;
		pos += take;
		first = false;
	}
	return out_str(o, "\r\n", e);
}

static int write_headers(struct out *o, const struct mime_message *m,
			 const struct tm *tm, const char *boundary,
			 struct kerr *e)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec" };
	const char *subject = m->subject ? m->subject : "";
	char idbuf[64];
	const char *id = m->message_id;
	int rc;

	if (!id) {
		uint8_t rnd[16];
		char hex[2 * sizeof rnd + 1];

		randombytes_buf(rnd, sizeof rnd);
		sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
		snprintf(idbuf, sizeof idbuf, "%s@kluis.invalid", hex);
		id = idbuf;
	}
	if ((rc = out_fmt(o, e, "From: %s\r\nTo: %s\r\n", m->from, m->to)))
		return rc;
	if (subject_plain(subject))
		rc = subject_fold(o, subject, e);
	else
		rc = subject_encoded(o, subject, e);
	if (rc)
		return rc;
	/* Day and month names by table: strftime would follow the locale. */
	return out_fmt(o, e,
		       "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n"
		       "Message-ID: <%s>\r\n"
		       "MIME-Version: 1.0\r\n"
		       "Content-Type: multipart/mixed;\r\n"
		       " boundary=\"%s\"\r\n"
		       "\r\n"
		       "This is a multi-part message in MIME format.\r\n",
		       days[tm->tm_wday], tm->tm_mday, months[tm->tm_mon],
		       tm->tm_year + 1900, tm->tm_hour, tm->tm_min, tm->tm_sec,
		       id, boundary);
}

/* ---- quoted-printable body ---------------------------------------------- */

static bool at_line_end(const unsigned char *p)
{
	return p[0] == '\0' || p[0] == '\n' || (p[0] == '\r' && p[1] == '\n');
}

/* One input byte as QP at output column col: literal or =XX.  Besides the
 * RFC 2045 rules ('=', non-printable, whitespace before a line end), a '.'
 * or "From " at the start of a line is encoded too, so no relay's dot
 * handling or mbox "From " quoting can change the text. */
static size_t qp_token(const unsigned char *p, size_t col, char tok[4])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c = *p;
	bool lit;

	if (c == ' ' || c == '\t')
		lit = !at_line_end(p + 1);
	else
		lit = c >= 33 && c <= 126 && c != '=';
	if (lit && col == 0 &&
	    (c == '.' || !strncmp((const char *)p, "From ", 5)))
		lit = false;
	if (lit) {
		tok[0] = (char)c;
		return 1;
	}
	tok[0] = '=';
	tok[1] = hex[c >> 4];
	tok[2] = hex[c & 15];
	return 3;
}

/* Text with LF or CRLF line ends becomes QP lines with CRLF hard breaks and
 * "=" CRLF soft breaks, each at most 76 characters.  No CRLF follows the
 * last line unless the text ends with a line break: the delimiter's CRLF
 * ends it. */
static int qp_body(struct out *o, const char *text, struct kerr *e)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;
	int rc;

	while (*p) {
		char tok[4];
		size_t tl;

		if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {
			if ((rc = out_put(o, "\r\n", 2, e)) != 0)
				return rc;
			p += *p == '\r' ? 2 : 1;
			col = 0;
			continue;
		}
		tl = qp_token(p, col, tok);
		/* A soft break costs the '=' column, unless this token is the
		 * last of its line and fits exactly. */
		if (col + tl > (at_line_end(p + 1) ? QP_LINE : QP_LINE - 1)) {
			if ((rc = out_put(o, "=\r\n", 3, e)) != 0)
				return rc;
			col = 0;
			tl = qp_token(p, col, tok);
		}
		if ((rc = out_put(o, tok, tl, e)) != 0)
			return rc;
		col += tl;
		p++;
	}
	return 0;
}

/* ---- base64 attachments ------------------------------------------------- */

/* Fill buf up to cap bytes unless the file ends first: every block but the
 * last is whole, so every line but the last has exactly 76 characters. */
static int read_block(int fd, uint8_t *buf, size_t cap, size_t *got,
		      const char *path, struct kerr *e)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return kerr_errno(e, errno, path, "cannot read");
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

static int b64_attachment(struct out *o, const char *path, uint8_t *block,
			  struct kerr *e)
{
	bool first = true;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return kerr_errno(e, errno, path, "cannot open attachment");
	for (;;) {
		size_t got = 0;

		if ((rc = read_block(fd, block, BLOCK_BYTES, &got, path, e)))
			break;
		for (size_t off = 0; off < got; off += LINE_BYTES) {
			size_t n = got - off < LINE_BYTES ? got - off
							  : LINE_BYTES;
			/* CRLF + 76 characters + the NUL libsodium writes. */
			if ((rc = out_room(o, 2 + 76 + 1, e)) != 0)
				goto done;
			if (!first) {
				memcpy(o->buf + o->len, "\r\n", 2);
				o->len += 2;
			}
			/* An exact capacity: libsodium zero-fills all the
			 * room it is given, which would cost a memset of the
			 * whole buffer per line. */
			o->len += b64_encode(block + off, n, true,
					     (char *)o->buf + o->len, 76 + 1);
			first = false;
		}
		if (got < BLOCK_BYTES)
			break;
	}
done:
	close(fd);
	return rc;
}

/* ---- the message -------------------------------------------------------- */

static int write_message(struct out *o, const struct mime_message *m,
			 const struct tm *tm, uint8_t *block, struct kerr *e)
{
	uint8_t rnd[16];
	char hex[2 * sizeof rnd + 1], boundary[64];
	int rc;

	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(boundary, sizeof boundary, "=_kluis_%s", hex);

	if ((rc = write_headers(o, m, tm, boundary, e)) != 0)
		return rc;
	if ((rc = out_fmt(o, e,
			  "--%s\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n"
			  "\r\n",
			  boundary)) != 0)
		return rc;
	if (m->body && (rc = qp_body(o, m->body, e)) != 0)
		return rc;
	for (size_t i = 0; i < m->n_att; i++) {
		const struct mime_attachment *a = &m->att[i];

		/* Parameters on their own lines keep a long name within 78
		 * columns as far as possible. */
		if ((rc = out_fmt(o, e,
				  "\r\n--%s\r\n"
				  "Content-Type: %s;\r\n"
				  " name=\"%s\"\r\n"
				  "Content-Disposition: attachment;\r\n"
				  " filename=\"%s\"\r\n"
				  "Content-Transfer-Encoding: base64\r\n"
				  "\r\n",
				  boundary, a->content_type, a->filename,
				  a->filename)) != 0)
			return rc;
		if ((rc = b64_attachment(o, a->path, block, e)) != 0)
			return rc;
	}
	return out_fmt(o, e, "\r\n--%s--\r\n", boundary);
}

int mime_write(const struct mime_message *m, struct ksink *out, struct kerr *e)
{
	struct out o = { out, NULL, 0 };
	struct tm tm;
	uint8_t *block;
	int rc;

	if (!m || !out)
		return kerr_set(e, KERR_USAGE, "mail", "no message or output");
	if ((rc = check_message(m, &tm, e)) != 0)
		return rc;
	o.buf = malloc(OUT_CAP);
	block = malloc(BLOCK_BYTES);
	if (!o.buf || !block) {
		free(o.buf);
		free(block);
		return kerr_set(e, KERR_NOMEM, "mail", "out of memory");
	}
	rc = write_message(&o, m, &tm, block, e);
	if (rc == 0)
		rc = out_flush(&o, e);
	sodium_memzero(o.buf, OUT_CAP);
	free(o.buf);
	free(block);
	return rc;
}
