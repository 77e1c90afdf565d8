/*
 * kerr — error records.  Formatting is bounded: an overlong reason is cut,
 * never overflowed.
 */
#include "kerr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

static void copy_str(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

void kerr_clear(struct kerr *e)
{
	if (!e)
		return;
	e->code = KERR_OK;
	e->what[0] = e->where[0] = e->why[0] = '\0';
}

int kerr_set(struct kerr *e, enum kerr_code code, const char *what,
	     const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	if (what)
		copy_str(e->what, sizeof e->what, what);
	e->where[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->why, sizeof e->why, fmt, ap);
	va_end(ap);
	return code;
}

int kerr_where(struct kerr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return KERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(e->where, sizeof e->where, fmt, ap);
	va_end(ap);
	return e->code;
}

int kerr_errno(struct kerr *e, int errnum, const char *what, const char *op)
{
	return kerr_set(e, errnum == ENOMEM ? KERR_NOMEM : KERR_IO,
			what, "%s: %s", op, strerror(errnum));
}

const char *kerr_str(const struct kerr *e, char *buf, size_t n)
{
	if (e->where[0])
		snprintf(buf, n, "%s%s%s: %s", e->what, e->what[0] ? ": " : "",
			 e->where, e->why);
	else
		snprintf(buf, n, "%s%s%s", e->what, e->what[0] ? ": " : "",
			 e->why);
	return buf;
}

const char *kerr_code_name(enum kerr_code code)
{
	switch (code) {
	case KERR_OK: return "ok";
	case KERR_USAGE: return "usage error";
	case KERR_IO: return "i/o error";
	case KERR_NOMEM: return "out of memory";
	case KERR_EXISTS: return "already exists";
	case KERR_KEY: return "bad key";
	case KERR_LIMIT: return "limit exceeded";
	case KERR_FORMAT: return "format error";
	case KERR_ARMOR: return "armor failure";
	case KERR_HEADER: return "header failure";
	case KERR_NOMATCH: return "no match";
	case KERR_HMAC: return "HMAC failure";
	case KERR_PAYLOAD: return "payload failure";
	case KERR_SIGNATURE: return "signature failure";
	case KERR_PASSPHRASE: return "wrong passphrase";
	case KERR_INTERNAL: return "internal error";
	case KERR_POLICY: return "refused by the protocol";
	}
	return "unknown error";
}
