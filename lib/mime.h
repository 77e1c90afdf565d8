/*
 * mime — an RFC 5322 / RFC 2045 multipart/mixed e-mail with file
 * attachments, written as a stream into a ksink.
 *
 * The message is a text/plain part (UTF-8, quoted-printable) followed by one
 * base64 part per attachment.  Invariants of what mime_write() produces:
 *  - 7-bit ASCII only, every line ends in CRLF, no bare CR or LF;
 *  - body lines (QP and base64) are at most 76 characters; header lines at
 *    most 78, except a From/To address or attachment name so long that it
 *    cannot fit (then at most 998, the RFC 5322 hard limit);
 *  - every value that reaches a header is checked before the first byte is
 *    written: a CR, LF or other control character (header injection), an
 *    address that is not a plain addr-spec, or a malformed content type is
 *    refused with KERR_USAGE and nothing is written;
 *  - the boundary is "=_kluis_" plus 128 random bits in hex.  "=_" cannot
 *    occur in base64 (where '=' is only trailing padding) nor in QP (where
 *    '=' is followed by two hex digits or a line end), so the boundary can
 *    never occur inside a part, whatever the content;
 *  - attachments are read in fixed blocks: memory does not grow with their
 *    size (they may be gigabytes);
 *  - error messages name the field, never its value: addresses, subjects
 *    and bodies are personal data.  Attachment paths are named.
 */
#ifndef KLUIS_MIME_H
#define KLUIS_MIME_H

#include <stddef.h>
#include <time.h>

#include "kerr.h"
#include "kio.h"

struct mime_attachment {
	const char *path;          /* file to attach (streamed, base64, 76-column lines) */
	const char *filename;      /* name shown to the receiver: printable ASCII,
				      no '"', '\\' or '/', at most 200 chars */
	const char *content_type;  /* "type/subtype" [; attr=value]..., tokens only,
				      e.g. "application/octet-stream" */
};

struct mime_message {
	const char *from, *to;     /* addr-spec only, e.g. "a@b.be" (dot-atom local
				      part, host name domain) */
	const char *subject;       /* UTF-8 (NULL = empty); RFC 2047 encoded-words
				      when not plain foldable ASCII; at most 900 bytes */
	const char *body;          /* UTF-8 text/plain; charset=utf-8, quoted-printable;
				      LF or CRLF line ends (NULL = empty) */
	const struct mime_attachment *att;
	size_t n_att;              /* at most MIME_MAX_ATTACHMENTS */
	time_t date;               /* Date: header in RFC 5322 form, UTC (+0000) */
	const char *message_id;    /* without <>, e.g. "pkgid@kluis.invalid";
				      NULL → random "<hex>@kluis.invalid" */
};

#define MIME_MAX_ATTACHMENTS 64

/* Write the whole message to out.  0, or KERR_USAGE for an unusable field
 * (nothing written), KERR_IO for an attachment that cannot be read (its
 * path in e->what), or the sink's error.  On error the sink holds a partial
 * message: write into a kfile_out and abort it. */
int mime_write(const struct mime_message *m, struct ksink *out, struct kerr *e);

/* Check that addr is a plain addr-spec (local@domain, dot-atom local part,
 * letters/digits/hyphens/dots domain, at most 254 bytes).  `field` names it
 * in the message ("From", "envelope sender"); the value itself is never
 * quoted.  0 or KERR_USAGE. */
int mime_check_addr(const char *addr, const char *field, struct kerr *e);

#endif
