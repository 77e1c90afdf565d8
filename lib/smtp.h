/*
 * smtp — send a finished .eml file with libcurl's SMTP client, and load the
 * SMTP login from a private file.
 *
 * Invariants:
 *  - the message leaves encrypted unless the caller says otherwise:
 *    smtps:// is TLS from the first byte; smtp:// must upgrade with
 *    STARTTLS or the send fails before MAIL FROM; only `insecure` allows a
 *    plain session (and with it, AUTH in clear), for a trusted local relay;
 *  - the server's certificate and host name are always verified
 *    (libcurl's defaults; TLS 1.2 at least);
 *  - the file is streamed from disk, never loaded whole;
 *  - every address is checked as a plain addr-spec before libcurl sees it,
 *    so no CR/LF can smuggle an SMTP command;
 *  - credentials never appear in the URL, in messages or in argv; the
 *    password lives in sodium_malloc'd memory, wiped when freed;
 *  - nothing is printed (no verbose output, no progress meter); failures
 *    come back as KERR_* with the reason, and the SMTP reply code where
 *    the server gave one.
 * libcurl must be initialised first: kluis_init() does it.
 */
#ifndef KLUIS_SMTP_H
#define KLUIS_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "kerr.h"

struct smtp_opts {
	const char *url;            /* smtp://host[:port] or smtps://host[:port] */
	bool insecure;              /* smtp:// without STARTTLS allowed (tests, local relays) */
	const char *user;           /* NULL: no AUTH */
	const char *password;       /* secret */
	const char *from;           /* envelope sender */
	const char *const *rcpt;    /* envelope recipients: all accepted, or no mail */
	size_t n_rcpt;
	long timeout_s;             /* connect, each server reply, and a stalled
				       upload; 0 → 60 */
	const char *ca_file;        /* NULL → system default */
};

/* Send eml_path (a complete RFC 5322 message with CRLF line ends) to every
 * recipient.  0 when the server accepted the message for all of them;
 * KERR_USAGE for unusable options (nothing sent), KERR_IO with the reason
 * otherwise (connection refused, STARTTLS not offered, authentication
 * failed, recipient refused (reply code), timeout, TLS failure). */
int smtp_send_file(const struct smtp_opts *o, const char *eml_path,
		   struct kerr *e);

/* The checks smtp_send_file makes before it connects (addresses, user and
 * password, URL), so a caller can refuse bad options before doing work or
 * recording that a mail is on its way.  KERR_USAGE. */
int smtp_check(const struct smtp_opts *o, struct kerr *e);

/* Read "user\npassword\n" or "user:password" (one trailing newline
 * optional) from path.  The file must be a regular file of the effective
 * user with no group or other permissions (chmod 600), at most 4 KiB.
 * *user is malloc'd, *password sodium_malloc'd; release both with
 * smtp_credentials_free.  On error both are NULL and the message never
 * quotes the file's contents. */
int smtp_credentials_load(const char *path, char **user, char **password,
			  struct kerr *e);
void smtp_credentials_free(char *user, char *password);

#endif
