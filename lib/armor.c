/*
 * armor — strict streaming PEM for age.  The decoder's states: before the
 * BEGIN line, inside the body, done (END line and trailer checked).
 */
#include "armor.h"

#include <string.h>

#include "b64.h"
#include "banned.h"

enum { ST_BEGIN, ST_BODY, ST_DONE };

#define WHAT "armor"
#define MAX_LINE 256

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Strip LF or CRLF; a line without LF is only valid at end of input. */
static size_t strip_eol(const uint8_t *l, size_t len, bool has_lf)
{
	if (has_lf) {
		len--;
		if (len && l[len - 1] == '\r')
			len--;
	}
	return len;
}

static int fail(struct armor_dec *a, struct kerr *e, uint64_t line,
		const char *why)
{
	(void)a;
	kerr_set(e, KERR_ARMOR, WHAT, "%s", why);
	return kerr_where(e, "line %llu", (unsigned long long)line);
}

static int read_begin(struct armor_dec *a, struct kerr *e)
{
	const uint8_t *l;
	size_t len, n;
	bool lf;
	int rc;

	/* Skip whitespace before the block, byte by byte across lines. */
	for (;;) {
		size_t avail;
		rc = kreader_fill(a->raw, 1, &avail, e);
		if (rc)
			return rc;
		if (avail == 0)
			return fail(a, e, a->raw->line + 1,
				    "no '" ARMOR_BEGIN "' line: not an age file");
		if (!is_space(kreader_peek(a->raw)[0]))
			break;
		kreader_consume_text(a->raw, 1);
	}
	rc = kreader_line(a->raw, MAX_LINE, &l, &len, &lf, e);
	if (rc == KERR_LIMIT)
		return fail(a, e, a->raw->line + 1,
			    "no '" ARMOR_BEGIN "' line: not an age file");
	if (rc)
		return rc;
	n = strip_eol(l, len, lf);
	if (n != strlen(ARMOR_BEGIN) || memcmp(l, ARMOR_BEGIN, n) != 0)
		return fail(a, e, a->raw->line,
			    "expected '" ARMOR_BEGIN "': not an age file");
	if (!lf)
		return fail(a, e, a->raw->line + 1, "missing END line");
	a->state = ST_BODY;
	return 0;
}

static int read_trailer(struct armor_dec *a, struct kerr *e)
{
	for (;;) {
		size_t avail;
		const uint8_t *p;
		int rc = kreader_fill(a->raw, 1, &avail, e);

		if (rc)
			return rc;
		if (avail == 0)
			return 0;
		p = kreader_peek(a->raw);
		for (size_t i = 0; i < avail; i++)
			if (!is_space(p[i]))
				return fail(a, e, a->raw->line + 1,
					    "data after the END line");
		kreader_consume_text(a->raw, avail);
	}
}

/* Decode one body line into out (>= 48 bytes); *n = 0 and state DONE at
 * the END line. */
static int body_line(struct armor_dec *a, uint8_t *out, size_t *n,
		     struct kerr *e)
{
	const uint8_t *l;
	size_t len, w;
	bool lf, padded = false;
	int rc;

	*n = 0;
	rc = kreader_line(a->raw, MAX_LINE, &l, &len, &lf, e);
	if (rc == KERR_LIMIT)
		return fail(a, e, a->raw->line + 1,
			    "line longer than 64 columns");
	if (rc)
		return rc;
	if (len == 0)
		return fail(a, e, a->raw->line + 1, "missing END line");
	w = strip_eol(l, len, lf);
	if (w == strlen(ARMOR_END) && memcmp(l, ARMOR_END, w) == 0) {
		a->state = ST_DONE;
		return read_trailer(a, e);
	}
	if (a->final_seen)
		return fail(a, e, a->raw->line,
			    "a short or padded line must be the last before END");
	if (!lf)
		return fail(a, e, a->raw->line + 1, "missing END line");
	if (w == 0)
		return fail(a, e, a->raw->line, "empty line");
	if (w > ARMOR_COLUMNS)
		return fail(a, e, a->raw->line, "line longer than 64 columns");
	for (size_t i = 0; i < w; i++) {
		if (!is_b64(l[i]))
			return fail(a, e, a->raw->line,
				    "character outside base64");
		if (l[i] == '=')
			padded = true;
	}
	if (w < ARMOR_COLUMNS || padded)
		a->final_seen = true;
	if (w % 4 != 0)
		return fail(a, e, a->raw->line, "base64 is not padded");
	if (b64_decode((const char *)l, w, true, out, 48, n) != 0)
		return fail(a, e, a->raw->line, "base64 is not canonical");
	return 0;
}

static int dec_read(struct ksrc *s, uint8_t *buf, size_t cap, size_t *got,
		    struct kerr *e)
{
	struct armor_dec *a = (struct armor_dec *)s;
	size_t done = 0;
	int rc;

	if (a->state == ST_BEGIN) {
		rc = read_begin(a, e);
		if (rc)
			return rc;
	}
	while (done < cap) {
		size_t n;

		if (a->pend_pos < a->pend_len) {
			n = a->pend_len - a->pend_pos;
			if (n > cap - done)
				n = cap - done;
			memcpy(buf + done, a->pend + a->pend_pos, n);
			a->pend_pos += n;
			done += n;
			continue;
		}
		if (a->state == ST_DONE)
			break;
		if (cap - done >= 48) {
			rc = body_line(a, buf + done, &n, e);
			if (rc)
				return rc;
			done += n;
		} else {
			rc = body_line(a, a->pend, &n, e);
			if (rc)
				return rc;
			a->pend_len = n;
			a->pend_pos = 0;
		}
	}
	*got = done;
	return 0;
}

void armor_dec_init(struct armor_dec *a, struct kreader *raw)
{
	memset(a, 0, sizeof *a);
	a->base.read = dec_read;
	a->raw = raw;
	a->state = ST_BEGIN;
}

static int enc_flush(struct armor_enc *a, struct kerr *e)
{
	int rc = 0;

	if (a->line_len)
		rc = a->out->write(a->out, (const uint8_t *)a->line,
				   a->line_len, e);
	a->line_len = 0;
	return rc;
}

static int enc_line(struct armor_enc *a, const uint8_t *p, size_t n,
		    struct kerr *e)
{
	if (sizeof a->line - a->line_len < ARMOR_COLUMNS + 2) {
		int rc = enc_flush(a, e);
		if (rc)
			return rc;
	}
	a->line_len += b64_encode(p, n, true, a->line + a->line_len,
				  sizeof a->line - a->line_len);
	a->line[a->line_len++] = '\n';
	return 0;
}

static int enc_start(struct armor_enc *a, struct kerr *e)
{
	if (a->started)
		return 0;
	a->started = true;
	memcpy(a->line, ARMOR_BEGIN "\n", sizeof ARMOR_BEGIN);
	a->line_len = sizeof ARMOR_BEGIN;
	(void)e;
	return 0;
}

static int enc_write(struct ksink *s, const uint8_t *p, size_t n,
		     struct kerr *e)
{
	struct armor_enc *a = (struct armor_enc *)s;
	int rc = enc_start(a, e);

	if (rc)
		return rc;
	while (n > 0) {
		/* Hold back a full group until more data arrives: the
		 * last line is emitted by finish(). */
		if (a->part_len == 48) {
			rc = enc_line(a, a->part, 48, e);
			if (rc)
				return rc;
			a->part_len = 0;
		}
		if (a->part_len == 0 && n > 48) {
			rc = enc_line(a, p, 48, e);
			if (rc)
				return rc;
			p += 48;
			n -= 48;
			continue;
		}
		size_t take = 48 - a->part_len;
		if (take > n)
			take = n;
		memcpy(a->part + a->part_len, p, take);
		a->part_len += take;
		p += take;
		n -= take;
	}
	return 0;
}

void armor_enc_init(struct armor_enc *a, struct ksink *out)
{
	memset(a, 0, sizeof *a);
	a->base.write = enc_write;
	a->out = out;
}

int armor_enc_finish(struct armor_enc *a, struct kerr *e)
{
	int rc = enc_start(a, e);

	if (!rc && a->part_len)
		rc = enc_line(a, a->part, a->part_len, e);
	a->part_len = 0;
	if (!rc && sizeof a->line - a->line_len < sizeof ARMOR_END + 1)
		rc = enc_flush(a, e);
	if (rc)
		return rc;
	memcpy(a->line + a->line_len, ARMOR_END "\n", sizeof ARMOR_END);
	a->line_len += sizeof ARMOR_END;
	return enc_flush(a, e);
}
