/*
 * kerr — the error record every library call fills.
 *
 * A library function returns 0 on success or a nonzero enum kerr_code, and
 * on failure leaves a description in the caller's struct kerr: what failed
 * (the object), where (line, byte offset, field) and why.  The library never
 * prints and never exits; the CLI turns the record into one line on stderr
 * and an exit code.  Messages never contain personal values or secrets.
 */
#ifndef KLUIS_KERR_H
#define KLUIS_KERR_H

#include <stddef.h>

enum kerr_code {
	KERR_OK = 0,
	KERR_USAGE,      /* a caller passed something unusable */
	KERR_IO,         /* the operating system refused a read/write/open */
	KERR_NOMEM,      /* allocation failed */
	KERR_EXISTS,     /* an output that must be new already exists */
	KERR_KEY,        /* a key or key file is malformed or of the wrong kind */
	KERR_LIMIT,      /* input exceeds a hard size cap */
	KERR_FORMAT,     /* input is malformed (generic) */
	KERR_ARMOR,      /* ASCII armor is malformed */
	KERR_HEADER,     /* age header is malformed */
	KERR_NOMATCH,    /* no identity unwraps the file key */
	KERR_HMAC,       /* age header MAC does not match */
	KERR_PAYLOAD,    /* age payload does not authenticate / is truncated */
	KERR_SIGNATURE,  /* a signature does not verify */
	KERR_PASSPHRASE, /* wrong passphrase for an encrypted key */
	KERR_INTERNAL,   /* a library call that cannot fail did */
	KERR_POLICY,     /* the protocol forbids it (wrong party key, second
			  * package under a one-time protocol, …) */
};

struct kerr {
	enum kerr_code code;
	char what[64];   /* object: "age header", "minisign signature", a path */
	char where[96];  /* location: "line 3", "chunk 17", "byte 1024"; may be empty */
	char why[256];   /* reason, lower case, no trailing period */
};

/* Reset to "no error". */
void kerr_clear(struct kerr *e);

/* Record an error and return its code, so callers can `return kerr_set(...)`.
 * `what` may be NULL to keep the current one.  Clears `where`. */
int kerr_set(struct kerr *e, enum kerr_code code, const char *what,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Set the location of the error already recorded; returns its code. */
int kerr_where(struct kerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record errno as a KERR_IO error on `what` (usually a path). */
int kerr_errno(struct kerr *e, int errnum, const char *what, const char *op);

/* "what: where: why" into buf (always NUL-terminated); returns buf. */
const char *kerr_str(const struct kerr *e, char *buf, size_t n);

/* Short stable name of a code ("header failure", "no match", ...). */
const char *kerr_code_name(enum kerr_code code);

#endif
